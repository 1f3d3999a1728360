//! Masks: one 8-bit class id per pixel. PNG masks are read as stored — a palette PNG gives its
//! palette indices (not the colours the palette maps them to), a grey PNG its grey levels —
//! and other formats are read when they are single-channel.

use std::path::Path;

use image::{DynamicImage, ImageReader};
use kindling_core::{Error, Result};

pub use kindling_core::data::Mask;

/// The largest mask accepted, in pixels (a guard against decompression bombs, as for images).
pub const MAX_MASK_PIXELS: u64 = 100_000_000;

/// Reads the mask at `path`. A missing, unreadable, colour (RGB) or 16-bit mask with ids above
/// 255 is an error that names the file.
pub fn read_mask(path: &Path) -> Result<Mask> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_mask(&bytes).map_err(|r| Error::bad_file(path, r))
}

/// Decodes mask bytes (PNG by its signature, any other format through the `image` crate).
pub fn decode_mask(bytes: &[u8]) -> std::result::Result<Mask, String> {
    if bytes.is_empty() {
        return Err("empty file (0 bytes)".into());
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") { decode_png(bytes) } else { decode_other(bytes) }
}

/// A PNG read as stored: palette indices, grey levels (1 to 16 bits); no colour conversion.
fn decode_png(bytes: &[u8]) -> std::result::Result<Mask, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // Keep palette indices and low bit depths as they are; only 16-bit samples are kept too.
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut limits = png::Limits::default();
    limits.bytes = (MAX_MASK_PIXELS * 2) as usize;
    decoder.set_limits(limits);
    let mut reader = decoder.read_info().map_err(|e| format!("unreadable PNG: {e}"))?;
    let info = reader.info();
    let (w, h) = (info.width as usize, info.height as usize);
    if w == 0 || h == 0 {
        return Err(format!("{w}×{h} pixels: a mask needs at least one row and one column"));
    }
    if w as u64 * h as u64 > MAX_MASK_PIXELS {
        return Err(format!("{w}×{h} pixels is more than the {MAX_MASK_PIXELS} allowed"));
    }
    let (color, depth) = (info.color_type, info.bit_depth);
    let samples = match color {
        png::ColorType::Grayscale | png::ColorType::Indexed => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb | png::ColorType::Rgba => {
            return Err(format!(
                "a colour ({color:?}) mask: masks must hold one class id per pixel (a grey or palette PNG); \
                 convert colour-coded masks to ids first"
            ));
        }
    };
    let size = reader.output_buffer_size().ok_or("the PNG is too large")?;
    let mut buf = vec![0u8; size];
    let frame = reader.next_frame(&mut buf).map_err(|e| format!("corrupt or truncated PNG: {e}"))?;
    let line = frame.line_size;
    let bits = depth as usize;
    let mut data = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = &buf[y * line..(y + 1) * line];
        for x in 0..w {
            let v: u32 = match bits {
                16 => u16::from_be_bytes([row[x * samples * 2], row[x * samples * 2 + 1]]) as u32,
                8 => row[x * samples] as u32,
                // 1, 2 and 4 bits: packed, most significant first (grey or palette only).
                b => {
                    let per_byte = 8 / b;
                    let byte = row[x / per_byte];
                    let shift = 8 - b * (x % per_byte + 1);
                    ((byte >> shift) & ((1u8 << b) - 1)) as u32
                }
            };
            if v > 255 {
                return Err(format!("pixel ({x}, {y}) holds {v}: class ids must be 0 to 255"));
            }
            data.push(v as u8);
        }
    }
    Ok(Mask { height: h, width: w, data })
}

/// Other formats: single-channel images only (8 or 16 bits).
fn decode_other(bytes: &[u8]) -> std::result::Result<Mask, String> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    match reader.format() {
        None => return Err("not an image this build reads (PNG, BMP, TIFF, WebP)".into()),
        Some(image::ImageFormat::Jpeg) => return Err("a JPEG mask: lossy compression changes class ids at edges; save masks as PNG".into()),
        _ => {}
    }
    let (w, h) = reader.into_dimensions().map_err(|e| format!("unreadable image header: {e}"))?;
    if w == 0 || h == 0 || w as u64 * h as u64 > MAX_MASK_PIXELS {
        return Err(format!("{w}×{h} pixels: not a usable mask size"));
    }
    let img = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| format!("corrupt or truncated image: {e}"))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let data = match img {
        DynamicImage::ImageLuma8(g) => g.into_raw(),
        DynamicImage::ImageLuma16(g) => {
            let raw = g.into_raw();
            if let Some((i, v)) = raw.iter().enumerate().find(|(_, v)| **v > 255) {
                return Err(format!("pixel ({}, {}) holds {v}: class ids must be 0 to 255", i % w, i / w));
            }
            raw.into_iter().map(|v| v as u8).collect()
        }
        other => return Err(format!("a {:?} mask: masks must hold one class id per pixel (single channel)", other.color())),
    };
    Ok(Mask { height: h, width: w, data })
}

/// Writes `mask` as an 8-bit grey PNG of class ids.
pub fn write_mask(path: &Path, mask: &Mask) -> Result<()> {
    let img = image::GrayImage::from_raw(mask.width as u32, mask.height as u32, mask.data.clone())
        .ok_or_else(|| Error::Data(format!("{}: mask data of the wrong length", path.display())))?;
    let mut bytes = Vec::new();
    DynamicImage::ImageLuma8(img)
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| Error::bad_file(path, e.to_string()))?;
    kindling_core::io::write_atomic(path, &bytes)
}

/// Writes `mask` as a palette PNG: the pixels are the class ids, shown in `palette`'s colours
/// (one RGB triple per id; ids beyond it are shown black). Read back, it gives the ids.
pub fn write_palette_mask(path: &Path, mask: &Mask, palette: &[[u8; 3]]) -> Result<()> {
    let n = (mask.max_id() as usize + 1).max(palette.len()).min(256);
    let colours: Vec<u8> = (0..n).flat_map(|i| palette.get(i).copied().unwrap_or([0, 0, 0])).collect();
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, mask.width as u32, mask.height as u32);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(colours);
        let mut w = enc.write_header().map_err(|e| Error::bad_file(path, e.to_string()))?;
        w.write_image_data(&mask.data).map_err(|e| Error::bad_file(path, e.to_string()))?;
    }
    kindling_core::io::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(color: png::ColorType, depth: png::BitDepth, w: u32, h: u32, data: &[u8], palette: Option<Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(color);
            enc.set_depth(depth);
            if let Some(p) = palette {
                enc.set_palette(p);
            }
            let mut wr = enc.write_header().unwrap();
            wr.write_image_data(data).unwrap();
        }
        out
    }

    #[test]
    fn a_palette_png_gives_its_indices_not_colours() {
        // Two palette entries, red and green; pixels 0, 1, 1, 0.
        let palette = vec![255, 0, 0, 0, 255, 0];
        let bytes = png_bytes(png::ColorType::Indexed, png::BitDepth::Eight, 2, 2, &[0, 1, 1, 0], Some(palette.clone()));
        assert_eq!(decode_mask(&bytes).unwrap(), Mask { height: 2, width: 2, data: vec![0, 1, 1, 0] });
        // Packed 2-bit palette: ids 3, 2, 1, 0 in one byte (0b11_10_01_00).
        let palette4 = [palette.clone(), vec![0, 0, 255, 9, 9, 9]].concat();
        let bytes = png_bytes(png::ColorType::Indexed, png::BitDepth::Two, 4, 1, &[0b1110_0100], Some(palette4));
        assert_eq!(decode_mask(&bytes).unwrap().data, vec![3, 2, 1, 0]);
    }

    #[test]
    fn grey_masks_of_8_and_16_bits_and_colour_refused() {
        let bytes = png_bytes(png::ColorType::Grayscale, png::BitDepth::Eight, 3, 1, &[0, 7, 255], None);
        assert_eq!(decode_mask(&bytes).unwrap().data, vec![0, 7, 255]);
        let bytes = png_bytes(png::ColorType::Grayscale, png::BitDepth::Sixteen, 2, 1, &[0, 5, 1, 0], None);
        let err = decode_mask(&bytes).unwrap_err();
        assert!(err.contains("256") && err.contains("0 to 255"), "{err}");
        let bytes = png_bytes(png::ColorType::Rgb, png::BitDepth::Eight, 1, 1, &[1, 2, 3], None);
        assert!(decode_mask(&bytes).unwrap_err().contains("colour"));
        assert!(decode_mask(&[]).unwrap_err().contains("empty"));
        assert!(decode_mask(b"not a mask").unwrap_err().contains("not an image"));
    }

    #[test]
    fn written_masks_read_back() {
        let dir = std::env::temp_dir().join(format!("kindling-seg-mask-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = Mask { height: 2, width: 3, data: vec![0, 1, 2, 3, 4, 10] };
        write_mask(&dir.join("m.png"), &m).unwrap();
        assert_eq!(read_mask(&dir.join("m.png")).unwrap(), m);
        write_palette_mask(&dir.join("p.png"), &m, &[[0, 0, 0], [255, 0, 0]]).unwrap();
        assert_eq!(read_mask(&dir.join("p.png")).unwrap(), m);
        assert_eq!(m.clone().binarized().data, vec![0, 1, 1, 1, 1, 1]);
        let err = read_mask(&dir.join("missing.png")).unwrap_err().to_string();
        assert!(err.contains("missing.png"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
