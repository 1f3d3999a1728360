use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT_FAMILY, ensure_font, save_rgb_png};
use crate::error::{Error, Result};

/// Draws a confusion matrix `m[actual][predicted]` as a PNG: a blue heat map with the count in
/// every cell, actual classes down the left and predicted classes along the bottom, as fastai's
/// `plot_confusion_matrix`.
pub fn confusion_matrix(path: &Path, classes: &[String], m: &[Vec<usize>]) -> Result<()> {
    ensure_font();
    let c = classes.len();
    if c == 0 || m.len() != c || m.iter().any(|r| r.len() != c) {
        return Err(Error::Data(format!("{}: the confusion matrix is not {c}×{c}", path.display())));
    }
    let cell = (560 / c as u32).clamp(24, 80);
    let label_px = 14u32.min(cell / 2 + 4);
    let longest = classes.iter().map(|s| s.chars().count()).max().unwrap_or(1) as u32;
    let margin = (longest * label_px * 6 / 10).clamp(40, 220) + 30;
    let (w, h) = (margin + cell * c as u32 + 20, 50 + cell * c as u32 + margin);
    let max = m.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let draw = |e: &dyn std::fmt::Display| Error::Data(format!("{}: drawing failed: {e}", path.display()));
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw(&e))?;
        let title = TextStyle::from((FONT_FAMILY, 20).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new("Confusion matrix", ((margin + cell * c as u32 / 2) as i32, 12), title)).map_err(|e| draw(&e))?;
        let (x0, y0) = (margin as i32, 50i32);
        let cs = cell as i32;
        for (a, row) in m.iter().enumerate() {
            for (p, &n) in row.iter().enumerate() {
                let t = n as f64 / max;
                // matplotlib's Blues, from white to dark blue.
                let lerp = |lo: f64, hi: f64| (lo + (hi - lo) * t).round() as u8;
                let fill = RGBColor(lerp(247.0, 8.0), lerp(251.0, 48.0), lerp(255.0, 107.0));
                let (x, y) = (x0 + p as i32 * cs, y0 + a as i32 * cs);
                root.draw(&Rectangle::new([(x, y), (x + cs, y + cs)], fill.filled())).map_err(|e| draw(&e))?;
                let ink = if t > 0.5 { WHITE } else { BLACK };
                let style = TextStyle::from((FONT_FAMILY, label_px as f64).into_font()).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                root.draw(&Text::new(n.to_string(), (x + cs / 2, y + cs / 2), style)).map_err(|e| draw(&e))?;
            }
        }
        let grid = y0 + c as i32 * cs;
        for (k, name) in classes.iter().enumerate() {
            let left = TextStyle::from((FONT_FAMILY, label_px as f64).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(name.clone(), (x0 - 6, y0 + k as i32 * cs + cs / 2), left)).map_err(|e| draw(&e))?;
            let bottom = TextStyle::from((FONT_FAMILY, label_px as f64).into_font().transform(FontTransform::Rotate270)).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(name.clone(), (x0 + k as i32 * cs + cs / 2, grid + 6), bottom)).map_err(|e| draw(&e))?;
        }
        let axis = TextStyle::from((FONT_FAMILY, 16).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        root.draw(&Text::new("Predicted", (x0 + cs * c as i32 / 2, h as i32 - 6), axis)).map_err(|e| draw(&e))?;
        let axis = TextStyle::from((FONT_FAMILY, 16).into_font().transform(FontTransform::Rotate270)).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new("Actual", (6, y0 + cs * c as i32 / 2), axis)).map_err(|e| draw(&e))?;
        root.present().map_err(|e| draw(&e))?;
    }
    save_rgb_png(path, &buf, w, h)
}
