//! The idx format of MNIST and Fashion-MNIST (`*-idx3-ubyte`, `*-idx1-ubyte`, optionally
//! gzipped): a magic number naming the element type and rank, the dimensions, then the values.

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

impl IdxArray {
    /// Reads an idx file of unsigned bytes, gunzipping it if its name ends in `.gz`.
    pub fn read(path: &Path) -> Result<Self> {
        let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bytes = if path.extension().is_some_and(|e| e == "gz") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(|e| Error::bad_file(path, format!("not a valid gzip file: {e}")))?;
            out
        } else {
            raw
        };
        Self::parse(&bytes).map_err(|r| Error::bad_file(path, r))
    }

    /// Parses idx bytes.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Self, String> {
        if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
            return Err("not an idx file (bad magic number)".into());
        }
        if bytes[2] != 0x08 {
            return Err(format!("idx element type 0x{:02x} is not unsigned bytes (0x08)", bytes[2]));
        }
        let rank = bytes[3] as usize;
        let header = 4 + 4 * rank;
        if bytes.len() < header {
            return Err("truncated idx header".into());
        }
        let dims: Vec<usize> = (0..rank)
            .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize)
            .collect();
        let n: usize = dims.iter().product();
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
    /// Reads an images file and a labels file.
    pub fn read(images: &Path, labels: &Path) -> Result<Self> {
        let img = IdxArray::read(images)?;
        let lab = IdxArray::read(labels)?;
        if img.dims.len() != 3 {
            return Err(Error::bad_file(images, format!("expected 3 dimensions (n, rows, cols), found {:?}", img.dims)));
        }
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
    }
}
