//! Decoding image files (JPEG, PNG, WebP, BMP, TIFF) into float pixels, with a guard against
//! decompression bombs, and grey, RGBA and 16-bit images converted to what the model expects.

use std::path::Path;

use image::{DynamicImage, ImageReader, Limits};
use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

pub use kindling_core::data::Image;

/// `img` as `channels` channels of floats in `[0, 1]`: 16-bit grey keeps its precision and
/// colour becomes luminance for 1; for 3, alpha is dropped and grey repeated.
fn from_dynamic(img: DynamicImage, channels: usize) -> Image {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut data = vec![0f32; channels * h * w];
    if channels == 1 {
        // 16-bit grey keeps its precision; colour becomes luminance.
        let g = img.into_luma16();
        for (i, p) in g.pixels().enumerate() {
            data[i] = p.0[0] as f32 / 65535.0;
        }
    } else {
        // Alpha is dropped (PIL's convert('RGB')); grey is repeated into three channels.
        let rgb = img.into_rgb32f();
        for (i, p) in rgb.pixels().enumerate() {
            for c in 0..3 {
                data[c * h * w + i] = p.0[c].clamp(0.0, 1.0);
            }
        }
    }
    Image { channels, height: h, width: w, data }
}

/// How to decode.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecodeOptions {
    /// 1 for grey, 3 for RGB.
    pub channels: usize,
    /// Largest image accepted, in pixels (a guard against decompression bombs).
    pub max_pixels: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self { channels: 3, max_pixels: 100_000_000 }
    }
}

/// Reads and decodes `path`; a missing, empty, truncated, non-image, empty (0 pixels wide or
/// high) or oversized file is an error that names it. As PIL (and so fastai) does, the format
/// is read from the bytes, not the extension: a JPEG named `.png` decodes as the JPEG it is.
pub fn decode(path: &Path, opts: DecodeOptions) -> Result<Image> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_bytes(&bytes, opts).map_err(|r| Error::bad_file(path, r))
}

/// Decodes image bytes.
pub fn decode_bytes(bytes: &[u8], opts: DecodeOptions) -> std::result::Result<Image, String> {
    if bytes.is_empty() {
        return Err("empty file (0 bytes)".into());
    }
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    match reader.format() {
        None => return Err("not an image this build reads (JPEG, PNG, WebP, BMP, TIFF)".into()),
        // The JPEG decoder fills a cut-off file with grey rather than failing: a whole JPEG ends
        // with its end-of-image marker (allowing a little trailing padding).
        Some(image::ImageFormat::Jpeg) if !bytes[bytes.len().saturating_sub(64)..].windows(2).any(|w| w == [0xFF, 0xD9]) => {
            return Err("truncated JPEG (no end-of-image marker)".into());
        }
        _ => {}
    }
    let (w, h) = reader.into_dimensions().map_err(|e| format!("unreadable image header: {e}"))?;
    if w == 0 || h == 0 {
        return Err(format!("{w}×{h} pixels: an image needs at least one row and one column"));
    }
    if w as u64 * h as u64 > opts.max_pixels {
        return Err(format!("{w}×{h} pixels is more than the {} allowed", opts.max_pixels));
    }
    reader = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(opts.max_pixels.saturating_mul(16));
    reader.limits(limits);
    let img = reader.decode().map_err(|e| format!("corrupt or truncated image: {e}"))?;
    if opts.channels != 1 && opts.channels != 3 {
        return Err(format!("{} channels: only 1 (grey) or 3 (RGB) are supported", opts.channels));
    }
    Ok(from_dynamic(img, opts.channels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(img: DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn converts_grey_rgba_and_16_bit() {
        let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(2, 1, image::Rgba([255, 0, 0, 10])));
        let img = decode_bytes(&png(rgba), DecodeOptions::default()).unwrap();
        assert_eq!((img.channels, img.height, img.width), (3, 1, 2));
        assert_eq!(img.data, vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0], "alpha dropped, channel-major");
        let grey16 = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(1, 1, image::Luma([65535u16])));
        let img = decode_bytes(&png(grey16.clone()), DecodeOptions { channels: 1, ..Default::default() }).unwrap();
        assert_eq!(img.data, vec![1.0]);
        let img = decode_bytes(&png(grey16), DecodeOptions::default()).unwrap();
        assert_eq!(img.data, vec![1.0, 1.0, 1.0], "grey repeated into RGB");
    }

    #[test]
    fn refuses_empty_truncated_non_images_and_bombs() {
        let good = png(DynamicImage::ImageRgb8(image::RgbImage::new(64, 64)));
        assert!(decode_bytes(&[], DecodeOptions::default()).unwrap_err().contains("empty"));
        assert!(decode_bytes(b"hello, world", DecodeOptions::default()).unwrap_err().contains("not an image"));
        assert!(decode_bytes(&good[..good.len() / 2], DecodeOptions::default()).is_err());
        let err = decode_bytes(&good, DecodeOptions { max_pixels: 100, ..Default::default() }).unwrap_err();
        assert!(err.contains("64×64"), "{err}");
    }

    /// A 100000×100000 PNG header (a decompression bomb) is refused before anything is allocated.
    #[test]
    fn a_huge_declared_size_is_refused_from_the_header() {
        let mut bytes = png(DynamicImage::ImageLuma8(image::GrayImage::new(1, 1)));
        // IHDR's width and height follow the 8-byte signature, the chunk length and its name.
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        // The chunk's CRC-32 (over its name and data) made right again, so only the size is wrong.
        let crc = bytes[12..29].iter().fold(!0u32, |mut c, &b| {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            }
            c
        });
        bytes[29..33].copy_from_slice(&(!crc).to_be_bytes());
        let err = decode_bytes(&bytes, DecodeOptions::default()).unwrap_err();
        assert!(err.contains("100000×100000 pixels is more than"), "{err}");
    }

    /// The format comes from the bytes, as PIL reads it: a JPEG saved as `.png` loads.
    #[test]
    fn a_jpeg_named_png_loads_by_its_content() {
        let dir = std::env::temp_dir().join(format!("kindling-jpeg-as-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("photo.png");
        let rgb = image::RgbImage::from_pixel(8, 6, image::Rgb([200, 30, 30]));
        DynamicImage::ImageRgb8(rgb).save_with_format(&path, image::ImageFormat::Jpeg).unwrap();
        let img = decode(&path, DecodeOptions::default()).unwrap();
        assert_eq!((img.channels, img.height, img.width), (3, 6, 8));
        assert!((img.data[0] - 200.0 / 255.0).abs() < 0.05, "{}", img.data[0]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
