//! The class names of a segmentation set (fastai's `codes`): `codes.txt`, one name a line in
//! id order, and the optional `void` class that the loss and the metrics ignore.

use std::path::Path;

use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Class names in id order, and which one (if any) is void.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Codes {
    /// Names; id `i` is `names[i]`.
    pub names: Vec<String>,
    /// The id the loss and metrics ignore (CamVid's `Void`).
    pub void: Option<usize>,
}

impl Codes {
    /// Codes from names (at least two, none empty or repeated, at most 256: ids are 8-bit).
    ///
    /// ```
    /// use kindling_segmentation::data::Codes;
    /// let c = Codes::new(vec!["sky".into(), "road".into(), "Void".into()]).unwrap().with_void(Some("Void")).unwrap();
    /// assert_eq!(c.void, Some(2));
    /// assert!(Codes::new(vec!["only".into()]).is_err());
    /// ```
    pub fn new(names: Vec<String>) -> Result<Self> {
        if names.len() < 2 {
            return Err(Error::invalid("codes", format!("{} class name(s): segmentation needs at least two (background and one more)", names.len())));
        }
        if names.len() > 256 {
            return Err(Error::invalid("codes", format!("{} class names: mask ids are 8-bit, so at most 256", names.len())));
        }
        if let Some(i) = names.iter().position(|n| n.trim().is_empty()) {
            return Err(Error::invalid("codes", format!("the name of class {i} is empty")));
        }
        for (i, n) in names.iter().enumerate() {
            if let Some(j) = names[..i].iter().position(|m| m == n) {
                return Err(Error::invalid("codes", format!("'{n}' names both class {j} and class {i}")));
            }
        }
        Ok(Self { names, void: None })
    }

    /// Reads `codes.txt`: one name a line (fastai reads it with `np.loadtxt(..., dtype=str)`:
    /// every whitespace-separated word is a name), blank lines skipped.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let names: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        Self::new(names).map_err(|e| Error::bad_file(path, e.to_string()))
    }

    /// Names `0`, `1`, … `n - 1` (masks without a codes file).
    pub fn numbered(n: usize) -> Result<Self> {
        Self::new((0..n).map(|i| i.to_string()).collect())
    }

    /// The same codes with `void` (a class name, or its id as a number) as the void class.
    pub fn with_void(mut self, void: Option<&str>) -> Result<Self> {
        self.void = match void {
            None => None,
            Some(v) => Some(
                self.names
                    .iter()
                    .position(|n| n == v)
                    .or_else(|| v.parse::<usize>().ok().filter(|&i| i < self.names.len()))
                    .ok_or_else(|| Error::invalid("--void", format!("'{v}' is not one of the codes: {}", self.names.join(", "))))?,
            ),
        };
        Ok(self)
    }

    /// Number of classes (the model's outputs).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false: there are at least two classes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The class fastai's `foreground_acc` leaves out: the void class when there is one (as
    /// fastbook's `acc_camvid`), else class 0 (background).
    pub fn background(&self) -> usize {
        self.void.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_txt_and_refuses_bad_ones() {
        let dir = std::env::temp_dir().join(format!("kindling-seg-codes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("codes.txt"), "Animal\nArchway\n\nVoid\n").unwrap();
        let c = Codes::read(&dir.join("codes.txt")).unwrap();
        assert_eq!(c.names, vec!["Animal", "Archway", "Void"]);
        assert_eq!(c.clone().with_void(Some("Void")).unwrap().background(), 2);
        assert_eq!(c.clone().with_void(Some("1")).unwrap().void, Some(1));
        assert_eq!(c.background(), 0);
        let err = c.with_void(Some("Sky")).unwrap_err().to_string();
        assert!(err.contains("--void") && err.contains("Archway"), "{err}");
        std::fs::write(dir.join("dup.txt"), "a\nb\na\n").unwrap();
        let err = Codes::read(&dir.join("dup.txt")).unwrap_err().to_string();
        assert!(err.contains("dup.txt") && err.contains("class 0 and class 2"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
