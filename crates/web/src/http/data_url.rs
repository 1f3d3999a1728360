//! Images in a JSON answer: 8-bit RGB pixels encoded as a PNG and written as a
//! `data:image/png;base64,...` URL, which a page can put straight into an `<img src>`.

use std::io::Cursor;

/// The standard base64 alphabet (RFC 4648, with padding).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` in standard base64 with `=` padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `rgb` (`width × height × 3` bytes, row-major) as a PNG data URL, or why it cannot be one.
pub fn png_data_url(rgb: &[u8], width: usize, height: usize) -> Result<String, String> {
    let (w, h) = (u32::try_from(width).map_err(|_| format!("width {width} is too large"))?, u32::try_from(height).map_err(|_| format!("height {height} is too large"))?);
    let img = image::RgbImage::from_raw(w, h, rgb.to_vec()).ok_or_else(|| format!("{} bytes are not a {width}×{height} RGB image", rgb.len()))?;
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).map_err(|e| format!("PNG encoding failed: {e}"))?;
    Ok(format!("data:image/png;base64,{}", base64(&png)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        for (plain, coded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn a_data_url_holds_a_png_of_the_pixels() {
        let url = png_data_url(&[255, 0, 0, 0, 255, 0], 2, 1).unwrap();
        assert!(url.starts_with("data:image/png;base64,iVBORw0KGgo"), "{url}");
        assert!(png_data_url(&[0; 5], 2, 1).unwrap_err().contains("not a 2×1"));
    }
}
