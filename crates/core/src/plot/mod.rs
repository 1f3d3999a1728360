//! PNG plots where people would rather look than read: loss curves, the lr_find curve, and
//! the building blocks task crates use for their own charts. Text uses DejaVu Sans, embedded in
//! the binary, so plots look the same on every machine.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

mod confusion;
mod grid;
mod scatter;

pub use confusion::confusion_matrix;
pub use grid::{GridCell, image_grid};
pub use scatter::{MAX_LABEL, labeled_scatter, place_label, tick_label};

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// The font family name to use in plotters text styles.
pub const FONT_FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters (once per process).
pub fn ensure_font() {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT);
    });
}

/// One named line of a [`line_chart`].
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
    /// Marks every point with a dot as well (a few points, such as one per epoch).
    pub dots: bool,
}

/// A marked point of a [`line_chart`] (an lr_find suggestion, say).
pub struct Marker<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Where it is.
    pub at: (f64, f64),
}

/// How a [`line_chart`] is drawn.
pub struct ChartSpec<'a> {
    /// Title on top.
    pub title: &'a str,
    /// X axis label.
    pub x_label: &'a str,
    /// Y axis label.
    pub y_label: &'a str,
    /// Log-scale x axis (learning rates).
    pub log_x: bool,
}

/// Draws `series` (and `markers`) as an 800×500 PNG at `path`, written atomically.
pub fn line_chart(path: &Path, spec: &ChartSpec<'_>, series: &[Series<'_>], markers: &[Marker<'_>]) -> Result<()> {
    ensure_font();
    let pts = || series.iter().flat_map(|s| s.points.iter()).chain(markers.iter().map(|m| &m.at)).filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Err(Error::Data(format!("{}: nothing to plot", path.display())));
    }
    if x0 == x1 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let legend = emptiest_corner(pts(), (x0, x1), (y0, y1), spec.log_x);
    let (w, h) = (800u32, 500u32);
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let draw = |e: &dyn std::fmt::Display| Error::Data(format!("{}: drawing failed: {e}", path.display()));
        root.fill(&WHITE).map_err(|e| draw(&e))?;
        let font = (FONT_FAMILY, 16).into_font();
        if spec.log_x {
            let mut chart = chart_builder(&root, spec.title).build_cartesian_2d((x0..x1).log_scale(), y0..y1).map_err(|e| draw(&e))?;
            chart
                .configure_mesh()
                .x_desc(spec.x_label)
                .y_desc(spec.y_label)
                .label_style(font.clone())
                .x_label_formatter(&|v| format!("{v:.0e}"))
                .draw()
                .map_err(|e| draw(&e))?;
            draw_series(&mut chart, series, markers, font, legend.clone()).map_err(|e| draw(&e))?;
        } else {
            // Counts (batches, epochs) get integer ticks: `200`, not `200.0`.
            let integral = series.iter().flat_map(|s| s.points.iter()).all(|(x, _)| x.fract() == 0.0);
            let int_label = |v: &f64| if v.fract() == 0.0 { format!("{v:.0}") } else { String::new() };
            let mut chart = chart_builder(&root, spec.title).build_cartesian_2d(x0..x1, y0..y1).map_err(|e| draw(&e))?;
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(spec.x_label).y_desc(spec.y_label).label_style(font.clone());
            if integral {
                mesh.x_label_formatter(&int_label);
            }
            mesh.draw().map_err(|e| draw(&e))?;
            draw_series(&mut chart, series, markers, font, legend.clone()).map_err(|e| draw(&e))?;
        }
        root.present().map_err(|e| draw(&e))?;
    }
    save_rgb_png(path, &buf, w, h)
}

/// The corner of the plot the legend covers the fewest points in (of the quarter-width,
/// third-height box at each corner; ties in the order upper right, upper left, lower left,
/// lower right), so that the legend never hides the curve's ends or a marker where it can help
/// it: an lr_find curve rises at its right end, where plotters' default corner is.
fn emptiest_corner<'p>(points: impl Iterator<Item = &'p (f64, f64)>, (x0, x1): (f64, f64), (y0, y1): (f64, f64), log_x: bool) -> SeriesLabelPosition {
    let fx = |x: f64| if log_x { x.max(f64::MIN_POSITIVE).ln() } else { x };
    let (lx0, lx1) = (fx(x0), fx(x1));
    let mut counts = [0usize; 4];
    for &(x, y) in points {
        let u = (fx(x) - lx0) / (lx1 - lx0).max(1e-12);
        let v = (y - y0) / (y1 - y0).max(1e-12);
        let (left, right, low, high) = (u < 0.3, u > 0.7, v < 0.4, v > 0.6);
        for (i, hit) in [right && high, left && high, left && low, right && low].into_iter().enumerate() {
            counts[i] += usize::from(hit);
        }
    }
    let best = (0..4).min_by_key(|&i| (counts[i], i)).unwrap_or(0);
    [SeriesLabelPosition::UpperRight, SeriesLabelPosition::UpperLeft, SeriesLabelPosition::LowerLeft, SeriesLabelPosition::LowerRight][best].clone()
}

/// A chart with kindling's caption, margins and label areas.
fn chart_builder<'a, 'b>(root: &'a DrawingArea<BitMapBackend<'b>, Shift>, title: &str) -> ChartBuilder<'a, 'b, BitMapBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, (FONT_FAMILY, 22)).margin(15).x_label_area_size(45).y_label_area_size(65);
    b
}

/// Draws the lines, the markers and the legend (at `legend`) on a chart whose x axis is linear
/// or logarithmic.
fn draw_series<'a, X>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    series: &[Series<'_>],
    markers: &[Marker<'_>],
    font: FontDesc<'_>,
    legend: SeriesLabelPosition,
) -> std::result::Result<(), String>
where
    X: Ranged<ValueType = f64>,
{
    let colors = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    for (i, s) in series.iter().enumerate() {
        let c = colors[i % colors.len()];
        chart
            .draw_series(LineSeries::new(s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()), c.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(s.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        if s.dots {
            chart
                .draw_series(s.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()).map(|&p| Circle::new(p, 4, c.filled())))
                .map_err(|e| e.to_string())?;
        }
    }
    for (i, m) in markers.iter().enumerate() {
        let c = colors[(i + series.len()) % colors.len()];
        chart
            .draw_series(std::iter::once(Circle::new(m.at, 6, c.filled())))
            .map_err(|e| e.to_string())?
            .label(m.label)
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
    }
    chart.configure_series_labels().position(legend).label_font(font).background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| e.to_string())
}

/// Encodes an RGB buffer as PNG and writes it atomically.
pub fn save_rgb_png(path: &Path, rgb: &[u8], w: u32, h: u32) -> Result<()> {
    let mut png = Vec::new();
    let img = image::RgbImage::from_raw(w, h, rgb.to_vec()).ok_or_else(|| Error::Data("image buffer has the wrong size".into()))?;
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::Data(format!("{}: PNG encoding failed: {e}", path.display())))?;
    crate::io::write_atomic(path, &png)
}


#[cfg(test)]
mod legend_tests {
    use super::*;

    #[test]
    fn the_legend_goes_where_the_curve_is_not() {
        // An lr_find curve: high on the left, a dip, then a sharp rise on the right.
        let pts: Vec<(f64, f64)> = (0..100).map(|i| {
            let lr = 1e-7 * 10f64.powf(i as f64 * 8.0 / 99.0);
            (lr, if i < 80 { 2.3 - i as f64 * 0.01 } else { 1.5 + (i - 80) as f64 * 0.3 })
        }).collect();
        let pos = emptiest_corner(pts.iter(), (1e-7, 10.0), (1.4, 7.5), true);
        assert!(matches!(pos, SeriesLabelPosition::LowerLeft | SeriesLabelPosition::LowerRight | SeriesLabelPosition::UpperLeft), "not over the rise");
        assert!(!matches!(pos, SeriesLabelPosition::UpperRight));
    }
}
