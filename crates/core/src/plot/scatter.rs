//! A map of labelled points (chapter 8's PCA of item factors) whose labels stay inside the
//! frame — a label that would cross an edge is drawn on the point's other side — and whose
//! tick labels never read `-0.0`.

use std::ops::Range;
use std::path::Path;

use super::{ChartSpec, FONT_FAMILY, ensure_font, save_rgb_png};
use crate::{Error, Result};
use plotters::prelude::*;

use crate::output::truncate;

/// Longest label drawn, in characters (longer ones are cut with `…`).
pub const MAX_LABEL: usize = 32;

/// Gap between a point and its label, in pixels.
const GAP: i32 = 5;

/// Where to draw a `size` label (top-left corner) for the point at pixel `p`, inside the frame
/// `area` (x and y pixel ranges): to the upper right of the point, or to its left when that
/// would cross the right edge, or below it when that would cross the top; always clamped into
/// the frame.
///
/// ```
/// use kindling_core::plot::place_label;
/// let area = (0..100, 0..100);
/// assert_eq!(place_label((10, 50), (30, 10), &area), (15, 35));
/// // At the right edge the label goes to the left; at the top, below.
/// assert_eq!(place_label((95, 5), (30, 10), &area), (60, 10));
/// ```
pub fn place_label(p: (i32, i32), size: (u32, u32), area: &(Range<i32>, Range<i32>)) -> (i32, i32) {
    let (w, h) = (size.0 as i32, size.1 as i32);
    let (xs, ys) = area;
    let mut x = p.0 + GAP;
    if x + w > xs.end {
        x = p.0 - GAP - w;
    }
    let mut y = p.1 - GAP - h;
    if y < ys.start {
        y = p.1 + GAP;
    }
    (x.min(xs.end - w).max(xs.start), y.min(ys.end - h).max(ys.start))
}

/// Decimals that show ticks spaced for an axis spanning `span`: one more than the step's first
/// significant digit needs, none for steps of 1 or more.
fn tick_decimals(span: f64) -> usize {
    if !(span.is_finite() && span > 0.0) {
        return 2;
    }
    (-(span / 10.0).log10().floor()).clamp(0.0, 8.0) as usize
}

/// A tick label with `decimals` decimals, never a negative zero (`-0.0` is `0.0`).
///
/// ```
/// use kindling_core::plot::tick_label;
/// assert_eq!(tick_label(-1e-17, 1), "0.0");
/// assert_eq!(tick_label(-0.04, 1), "0.0");
/// assert_eq!(tick_label(-0.5, 1), "-0.5");
/// ```
pub fn tick_label(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// Draws `points` (x, y, label) as a 900×800 PNG at `path`, written atomically, labels inside
/// the frame (cut to [`MAX_LABEL`] characters).
pub fn labeled_scatter(path: &Path, spec: &ChartSpec<'_>, points: &[(f64, f64, String)]) -> Result<()> {
    ensure_font();
    let finite: Vec<&(f64, f64, String)> = points.iter().filter(|(x, y, _)| x.is_finite() && y.is_finite()).collect();
    if finite.is_empty() {
        return Err(Error::Data(format!("{}: nothing to plot", path.display())));
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y, _) in &finite {
        (x0, x1, y0, y1) = (x0.min(*x), x1.max(*x), y0.min(*y), y1.max(*y));
    }
    let (px, py) = (((x1 - x0) * 0.05).max(1e-6), ((y1 - y0) * 0.05).max(1e-6));
    let (xr, yr) = ((x0 - px)..(x1 + px), (y0 - py)..(y1 + py));
    let (dx, dy) = (tick_decimals(xr.end - xr.start), tick_decimals(yr.end - yr.start));
    let (w, h) = (900u32, 800u32);
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let draw = |e: &dyn std::fmt::Display| Error::Data(format!("{}: drawing failed: {e}", path.display()));
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(spec.title, (FONT_FAMILY, 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(xr, yr)
            .map_err(|e| draw(&e))?;
        chart
            .configure_mesh()
            .x_desc(spec.x_label)
            .y_desc(spec.y_label)
            .label_style((FONT_FAMILY, 14))
            .x_label_formatter(&|v| tick_label(*v, dx))
            .y_label_formatter(&|v| tick_label(*v, dy))
            .draw()
            .map_err(|e| draw(&e))?;
        chart.draw_series(finite.iter().map(|(x, y, _)| Circle::new((*x, *y), 3, BLUE.filled()))).map_err(|e| draw(&e))?;
        let area = chart.plotting_area().get_pixel_range();
        let font: TextStyle = (FONT_FAMILY, 12).into_font().color(&BLACK);
        for (x, y, label) in &finite {
            let label = truncate(label, MAX_LABEL);
            let size = root.estimate_text_size(&label, &font).map_err(|e| draw(&e))?;
            let at = place_label(chart.backend_coord(&(*x, *y)), size, &area);
            root.draw(&Text::new(label, at, font.clone())).map_err(|e| draw(&e))?;
        }
        root.present().map_err(|e| draw(&e))?;
    }
    save_rgb_png(path, &buf, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_stays_inside_the_frame() {
        let area = (80..880, 40..740);
        for p in [(80, 40), (880, 40), (80, 740), (880, 740), (480, 390), (870, 45)] {
            for size in [(10, 12), (200, 14), (900, 14)] {
                let (x, y) = place_label(p, size, &area);
                assert!(x >= area.0.start && y >= area.1.start && y + size.1 as i32 <= area.1.end, "{p:?} {size:?}: {x},{y}");
                if size.0 < 800 {
                    assert!(x + size.0 as i32 <= area.0.end, "{p:?} {size:?}: {x}");
                }
            }
        }
    }

    #[test]
    fn ticks_have_the_decimals_their_spacing_needs() {
        assert_eq!(tick_decimals(2.4), 1);
        assert_eq!(tick_decimals(24.0), 0);
        assert_eq!(tick_decimals(0.3), 2);
        assert_eq!(tick_label(0.2 - 0.1 - 0.1, 1), "0.0");
    }
}
