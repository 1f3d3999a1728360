//! Progress: a bar per pass while it runs, with the smoothed training loss, and fastai's table,
//! one per fit, one line per epoch (`epoch  train_loss  valid_loss  accuracy  time`).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::Result;

use super::callback::{Callback, Ctx, Event};
use super::recorder::EpochRecord;

/// Prints the epoch table to standard output and draws progress bars on standard error (only
/// when it is a terminal, so logs stay clean).
pub struct Progress {
    bar: Option<ProgressBar>,
    header_printed: bool,
    show_bars: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Bars when standard error is a terminal.
    pub fn new() -> Self {
        use std::io::IsTerminal;
        Self { bar: None, header_printed: false, show_bars: std::io::stderr().is_terminal() }
    }

    fn start_bar(&mut self, len: usize, what: &str) {
        if !self.show_bars {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{prefix:>6} [{bar:40}] {pos}/{len} batches, {elapsed} < {eta} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(what.to_string());
        self.bar = Some(bar);
    }
}

/// The header line of fastai's table for these metric names.
pub fn table_header(metric_names: &[String]) -> String {
    let mut cols = vec!["epoch".to_string(), "train_loss".into(), "valid_loss".into()];
    cols.extend(metric_names.iter().cloned());
    cols.push("time".into());
    cols.iter().map(|c| cell(c)).collect::<String>().trim_end().to_string()
}

/// A table cell: at least 12 wide, and always followed by two spaces.
fn cell(c: &str) -> String {
    format!("{c:<w$}", w = (c.len() + 2).max(12))
}

/// One line of fastai's table.
pub fn table_row(r: &EpochRecord) -> String {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.6}"));
    let secs = r.seconds.round() as u64;
    let mut cols = vec![r.epoch.to_string(), f(r.train_loss), f(r.valid_loss)];
    cols.extend(r.metrics.iter().map(|(_, v)| f(*v)));
    cols.push(format!("{:02}:{:02}", secs / 60, secs % 60));
    // Align under the header: a column is as wide as its name's cell.
    let widths: Vec<usize> = ["epoch", "train_loss", "valid_loss"].iter().map(|s| s.len()).chain(r.metrics.iter().map(|(n, _)| n.len())).chain([4]).map(|l| (l + 2).max(12)).collect();
    cols.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect::<String>().trim_end().to_string()
}

impl<M> Callback<M> for Progress {
    fn name(&self) -> &str {
        "ProgressCallback"
    }
    fn order(&self) -> i32 {
        70
    }
    fn on(&mut self, event: Event, ctx: &mut Ctx<'_, M>) -> Result<()> {
        match event {
            // A table per fit, as fastai prints one for each `fit` call (fine_tune's frozen
            // and unfrozen fits are two tables).
            Event::BeforeFit => self.header_printed = false,
            Event::BeforeTrain => self.start_bar(ctx.state.n_train_batches, "train"),
            Event::AfterBatch => {
                if let Some(b) = &self.bar {
                    b.inc(1);
                    if let Some(l) = ctx.state.smooth_loss.value() {
                        b.set_message(format!("loss {l:.4}"));
                    }
                }
            }
            Event::AfterTrain | Event::AfterValidate | Event::AfterFit => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
            }
            Event::AfterEpoch => {
                if let Some(r) = ctx.recorder.last() {
                    if !self.header_printed {
                        let names: Vec<String> = r.metrics.iter().map(|(n, _)| n.clone()).collect();
                        println!("{}", table_header(&names));
                        self.header_printed = true;
                    }
                    println!("{}", table_row(r));
                }
            }
            _ => {}
        }
        Ok(())
    }
}
