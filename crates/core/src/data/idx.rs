//! The idx format of MNIST and Fashion-MNIST (`*-idx3-ubyte`, `*-idx1-ubyte`, optionally
//! gzipped): a magic number naming the element type and rank, the dimensions, then the values.
//!
//! Nothing in a header is trusted: the dimensions' product is computed with checked arithmetic
//! and must equal the number of values the file holds, so a header declaring huge dimensions
//! is an error naming the file, never an overflow or a giant allocation (a gzipped file is
//! decompressed only as far as its header says, plus one byte to detect extra data).

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// An idx array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first (`[n, 28, 28]` for images, `[n]` for labels).
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// The largest header an idx file can have: the magic number and 255 dimensions.
const MAX_HEADER: usize = 4 + 4 * 255;

/// The dimensions of an idx header, the header's length and the number of values it
/// declares; `Ok(None)` when `bytes` is shorter than the header it starts.
fn parse_header(bytes: &[u8]) -> std::result::Result<Option<(Vec<usize>, usize, usize)>, String> {
    if bytes.len() < 4 {
        return if bytes.len() < 2 || bytes[..2] == [0, 0] { Ok(None) } else { Err("not an idx file (bad magic number)".into()) };
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err("not an idx file (bad magic number)".into());
    }
    if bytes[2] != 0x08 {
        return Err(format!("idx element type 0x{:02x} is not unsigned bytes (0x08)", bytes[2]));
    }
    let rank = bytes[3] as usize;
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Ok(None);
    }
    let dims: Vec<usize> = (0..rank)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize)
        .collect();
    let n = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("idx header declares dimensions {dims:?}, more values than this machine can address"))?;
    Ok(Some((dims, header, n)))
}

impl IdxArray {
    /// Reads an idx file of unsigned bytes, gunzipping it if its name ends in `.gz`.
    pub fn read(path: &Path) -> Result<Self> {
        if !path.extension().is_some_and(|e| e == "gz") {
            let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            return Self::parse(&raw).map_err(|r| Error::bad_file(path, r));
        }
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let gz_err = |e: std::io::Error| Error::bad_file(path, format!("not a valid gzip file: {e}"));
        let mut gz = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
        // The header first (at most MAX_HEADER bytes), then exactly the values it declares.
        let mut head = Vec::with_capacity(MAX_HEADER);
        let (dims, _, n) = loop {
            match parse_header(&head).map_err(|r| Error::bad_file(path, r))? {
                Some(h) => break h,
                None => {
                    let want = if head.len() < 4 { 4 } else { 4 + 4 * head[3] as usize };
                    let mut chunk = vec![0u8; want - head.len()];
                    let got = gz.read(&mut chunk).map_err(gz_err)?;
                    if got == 0 {
                        return Err(Error::bad_file(path, if head.len() < 4 { "not an idx file (bad magic number)" } else { "truncated idx header" }));
                    }
                    head.extend_from_slice(&chunk[..got]);
                }
            }
        };
        let mut data = Vec::new();
        (&mut gz).take((n as u64).saturating_add(1)).read_to_end(&mut data).map_err(gz_err)?;
        if data.len() != n {
            let held = if data.len() > n { "more".to_string() } else { data.len().to_string() };
            return Err(Error::bad_file(path, format!("idx header says {n} values ({dims:?}), the file holds {held}")));
        }
        Ok(Self { dims, data })
    }

    /// Parses idx bytes.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Self, String> {
        let (dims, header, n) = match parse_header(bytes)? {
            Some(h) => h,
            None if bytes.len() < 4 => return Err("not an idx file (bad magic number)".into()),
            None => return Err("truncated idx header".into()),
        };
        let data = &bytes[header..];
        if data.len() != n {
            return Err(format!("idx header says {n} values ({dims:?}), the file holds {}", data.len()));
        }
        Ok(Self { dims, data: data.to_vec() })
    }
}

/// Images and labels of an idx pair, checked to have the same number of items.
#[derive(Clone, Debug)]
pub struct IdxImages {
    /// `[n, rows, cols]` pixel bytes.
    pub images: IdxArray,
    /// `n` labels.
    pub labels: Vec<u8>,
}

impl IdxImages {
    /// Reads an images file and a labels file. The images must have 3 dimensions `(n, rows,
    /// cols)` with at least one row and one column; an error names the file at fault.
    pub fn read(images: &Path, labels: &Path) -> Result<Self> {
        let img = IdxArray::read(images)?;
        if img.dims.len() != 3 {
            return Err(Error::bad_file(images, format!("expected 3 dimensions (n, rows, cols), found {:?}", img.dims)));
        }
        if img.dims[1] == 0 || img.dims[2] == 0 {
            return Err(Error::bad_file(images, format!("images of {}×{} pixels (dimensions {:?}): an image needs at least one row and one column", img.dims[1], img.dims[2], img.dims)));
        }
        let lab = IdxArray::read(labels)?;
        if lab.dims.len() != 1 || lab.dims[0] != img.dims[0] {
            return Err(Error::bad_file(labels, format!("{:?} labels for {} images in {}", lab.dims, img.dims[0], images.display())));
        }
        Ok(Self { images: img, labels: lab.data })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.images.dims[1] * self.images.dims[2]
    }

    /// The pixel bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let p = self.pixels();
        &self.images.data[i * p..(i + 1) * p]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let mut ok = vec![0, 0, 8, 1, 0, 0, 0, 3];
        ok.extend([7, 3, 7]);
        assert_eq!(IdxArray::parse(&ok).unwrap(), IdxArray { dims: vec![3], data: vec![7, 3, 7] });
        assert!(IdxArray::parse(&ok[..10]).unwrap_err().contains("3 values"));
        assert!(IdxArray::parse(&[1, 2, 3, 4]).unwrap_err().contains("magic"));
        assert!(IdxArray::parse(&[0, 0, 0x0d, 1, 0, 0, 0, 0]).unwrap_err().contains("element type"));
        assert!(IdxArray::parse(&[0, 0, 8, 2, 0, 0, 0]).unwrap_err().contains("truncated idx header"));
    }

    /// Dimensions whose product overflows `usize` (2^32-1 four times) are an error, not an
    /// overflow (a panic in debug builds, a wrong size in release builds).
    #[test]
    fn huge_dimensions_are_an_error_not_an_overflow() {
        let mut huge = vec![0, 0, 8, 4];
        for _ in 0..4 {
            huge.extend([0xff, 0xff, 0xff, 0xff]);
        }
        huge.extend([1, 2, 3]);
        let err = IdxArray::parse(&huge).unwrap_err();
        assert!(err.contains("more values than"), "{err}");
    }

    fn write_gz(path: &Path, bytes: &[u8]) {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap();
    }

    #[test]
    fn gzipped_files_are_read_as_far_as_their_header_says_and_checked() {
        let dir = std::env::temp_dir().join(format!("kindling-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ok = dir.join("ok-idx1-ubyte.gz");
        write_gz(&ok, &[0, 0, 8, 1, 0, 0, 0, 3, 7, 3, 7]);
        assert_eq!(IdxArray::read(&ok).unwrap(), IdxArray { dims: vec![3], data: vec![7, 3, 7] });
        // More values than the header declares, fewer, a cut header, huge dimensions.
        for (name, bytes, want) in [
            ("long", vec![0, 0, 8, 1, 0, 0, 0, 2, 7, 3, 7], "the file holds more"),
            ("short", vec![0, 0, 8, 1, 0, 0, 0, 4, 7, 3, 7], "the file holds 3"),
            ("cut", vec![0, 0, 8, 3, 0, 0], "truncated idx header"),
            ("huge", vec![0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1], "the file holds 1"),
            ("overflow", vec![0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1], "more values than"),
        ] {
            let p = dir.join(format!("{name}-idx3-ubyte.gz"));
            write_gz(&p, &bytes);
            let err = IdxArray::read(&p).unwrap_err().to_string();
            assert!(err.contains(want) && err.contains(&format!("{name}-idx3-ubyte.gz")), "{name}: {err}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn images_with_no_rows_or_columns_are_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("kindling-idx0-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (img, lab) = (dir.join("images-idx3-ubyte"), dir.join("labels-idx1-ubyte"));
        std::fs::write(&img, [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 28]).unwrap();
        std::fs::write(&lab, [0, 0, 8, 1, 0, 0, 0, 2, 3, 7]).unwrap();
        let err = IdxImages::read(&img, &lab).unwrap_err().to_string();
        assert!(err.contains("images-idx3-ubyte") && err.contains("0×28"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
