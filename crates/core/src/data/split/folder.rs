use std::path::Path;

use super::{Splits, Splitter};
use crate::error::{Error, Result};

/// Splits files by the name of their grandparent folder, as fastai's `GrandparentSplitter`:
/// `data/train/cat/1.jpg` trains, `data/valid/cat/2.jpg` validates, and (when named)
/// `data/test/cat/3.jpg` is held out. A file under none of these is an error that names it.
///
/// ```
/// use kindling_core::data::split::{GrandparentSplitter, Splitter};
/// let files = ["d/train/a/1.png", "d/valid/a/2.png", "d/train/b/3.png"];
/// let s = GrandparentSplitter::default().split(&files[..]).unwrap();
/// assert_eq!((s.train.clone(), s.valid.clone()), (vec![0, 2], vec![1]));
/// ```
#[derive(Clone, Debug)]
pub struct GrandparentSplitter {
    train_name: String,
    valid_name: String,
    test_name: Option<String>,
}

impl Default for GrandparentSplitter {
    fn default() -> Self {
        Self { train_name: "train".into(), valid_name: "valid".into(), test_name: None }
    }
}

impl GrandparentSplitter {
    /// Folders named `train_name` and `valid_name`.
    pub fn new(train_name: impl Into<String>, valid_name: impl Into<String>) -> Self {
        Self { train_name: train_name.into(), valid_name: valid_name.into(), test_name: None }
    }

    /// Files under a grandparent folder named `test_name` are held out as the test set.
    pub fn with_test(mut self, test_name: impl Into<String>) -> Self {
        self.test_name = Some(test_name.into());
        self
    }
}

impl<P: AsRef<Path>> Splitter<[P]> for GrandparentSplitter {
    fn split(&self, files: &[P]) -> Result<Splits> {
        let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
        for (i, f) in files.iter().enumerate() {
            let path = f.as_ref();
            let gp = path.parent().and_then(Path::parent).and_then(Path::file_name).and_then(|n| n.to_str());
            match gp {
                Some(n) if n == self.train_name => train.push(i),
                Some(n) if n == self.valid_name => valid.push(i),
                Some(n) if self.test_name.as_deref() == Some(n) => test.push(i),
                _ => {
                    return Err(Error::Data(format!(
                        "{}: its grandparent folder is not '{}' or '{}'{}",
                        path.display(),
                        self.train_name,
                        self.valid_name,
                        self.test_name.as_ref().map(|t| format!(" or '{t}'")).unwrap_or_default()
                    )));
                }
            }
        }
        Splits::new(files.len(), train, valid, test, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_folder_and_stray_files() {
        let files = ["x/train/a/1", "x/valid/a/2", "x/test/a/3"];
        let s = GrandparentSplitter::default().with_test("test").split(&files[..]).unwrap();
        assert_eq!(s.held_out_test(), &[2]);
        let err = GrandparentSplitter::default().split(&files[..]).unwrap_err().to_string();
        assert!(err.contains("x/test/a/3"), "{err}");
    }
}
