use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT_FAMILY, ensure_font, save_rgb_png};
use crate::error::{Error, Result};

/// One picture of an [`image_grid`], with the lines of text drawn above it.
pub struct GridCell {
    /// RGB pixels, row-major, `width × height × 3`.
    pub rgb: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Caption lines (label; or prediction / actual / loss / probability).
    pub caption: Vec<String>,
}

/// Draws pictures in a grid of `cols` columns, each scaled (nearest neighbour, so small images
/// stay crisp) into a `side`-pixel square under its caption: fastai's `show_batch` and
/// `plot_top_losses`.
pub fn image_grid(path: &Path, title: &str, cells: &[GridCell], cols: usize, side: u32) -> Result<()> {
    ensure_font();
    if cells.is_empty() {
        return Err(Error::Data(format!("{}: no images to draw", path.display())));
    }
    let cols = cols.clamp(1, cells.len());
    let rows = cells.len().div_ceil(cols);
    let lines = cells.iter().map(|c| c.caption.len()).max().unwrap_or(0) as u32;
    let (caption_h, pad, top) = (lines * 16 + 4, 10u32, 40u32);
    let (cw, ch) = (side + pad, side + caption_h + pad);
    let (w, h) = (cols as u32 * cw + pad, top + rows as u32 * ch + pad);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    for (k, cell) in cells.iter().enumerate() {
        if cell.rgb.len() != (cell.width * cell.height * 3) as usize || cell.width == 0 || cell.height == 0 {
            return Err(Error::Data(format!("{}: picture {k} has {} bytes for {}×{} pixels", path.display(), cell.rgb.len(), cell.width, cell.height)));
        }
        let (ox, oy) = (pad + (k % cols) as u32 * cw, top + (k / cols) as u32 * ch + caption_h);
        let scale = side as f64 / cell.width.max(cell.height) as f64;
        let (dw, dh) = ((cell.width as f64 * scale) as u32, (cell.height as f64 * scale) as u32);
        for y in 0..dh {
            let sy = ((y as f64 / scale) as u32).min(cell.height - 1);
            for x in 0..dw {
                let sx = ((x as f64 / scale) as u32).min(cell.width - 1);
                let s = ((sy * cell.width + sx) * 3) as usize;
                let d = (((oy + y) * w + ox + x) * 3) as usize;
                buf[d..d + 3].copy_from_slice(&cell.rgb[s..s + 3]);
            }
        }
    }
    {
        let draw = |e: &dyn std::fmt::Display| Error::Data(format!("{}: drawing failed: {e}", path.display()));
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let style = TextStyle::from((FONT_FAMILY, 20).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(title.to_string(), ((w / 2) as i32, 8), style)).map_err(|e| draw(&e))?;
        for (k, cell) in cells.iter().enumerate() {
            let (ox, oy) = (pad + (k % cols) as u32 * cw, top + (k / cols) as u32 * ch);
            for (l, line) in cell.caption.iter().enumerate() {
                let style = TextStyle::from((FONT_FAMILY, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
                root.draw(&Text::new(line.clone(), ((ox + side / 2) as i32, (oy + l as u32 * 16) as i32), style)).map_err(|e| draw(&e))?;
            }
        }
        root.present().map_err(|e| draw(&e))?;
    }
    save_rgb_png(path, &buf, w, h)
}
