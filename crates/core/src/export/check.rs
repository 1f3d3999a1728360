//! Checking a model file's header against its tensors before anything is built from it.
//!
//! The checksum catches a damaged file; these checks catch a header that is well-formed but
//! wrong (hand-edited, or written by a buggy tool): every length a task's predict code indexes
//! with (vocabularies, class lists, per-row tables) must agree with the architecture, and the
//! architecture with the tensors' shapes, so that no size read from a file is trusted.

use std::collections::BTreeMap;
use std::fmt;

/// One field of a header that disagrees with the rest of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The field, as a JSON path in the header (`preprocessing.seen`, `arch.n_out` …).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Fault {
    /// A fault in `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }

    /// `Ok` when `actual == expected`, else a fault in `field` saying both lengths.
    ///
    /// ```
    /// use kindling_core::export::Fault;
    /// assert!(Fault::len("classes", 2, 2, "the model's outputs").is_ok());
    /// let f = Fault::len("classes", 3, 2, "the model's outputs").unwrap_err();
    /// assert_eq!(f.to_string(), "header field `classes`: has 3 entries, but the model's outputs are 2");
    /// ```
    pub fn len(field: &str, actual: usize, expected: usize, what: &str) -> Result<(), Fault> {
        if actual == expected {
            Ok(())
        } else {
            Err(Fault::new(field, format!("has {actual} entries, but {what} are {expected}")))
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "header field `{}`: {}", self.field, self.reason)
    }
}

/// The names and shapes of the tensors stored in a model file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TensorShapes(pub BTreeMap<String, Vec<usize>>);

impl TensorShapes {
    /// The shape of tensor `name`, or a fault naming it when the file has no such tensor.
    pub fn dims(&self, name: &str) -> Result<&[usize], Fault> {
        self.0.get(name).map(Vec::as_slice).ok_or_else(|| Fault::new(name, "the file has no such tensor"))
    }

    /// `Ok` when tensor `name` has shape `expected`; otherwise a fault in `field` (the header
    /// field the expected shape was computed from) that names the tensor and both shapes.
    ///
    /// ```
    /// use kindling_core::export::TensorShapes;
    /// let shapes = TensorShapes([("emb.weight".to_string(), vec![10, 4])].into());
    /// assert!(shapes.expect("emb.weight", &[10, 4], "arch.n_users").is_ok());
    /// let f = shapes.expect("emb.weight", &[11, 4], "arch.n_users").unwrap_err();
    /// assert!(f.to_string().contains("arch.n_users") && f.to_string().contains("[10, 4]"));
    /// ```
    pub fn expect(&self, name: &str, expected: &[usize], field: &str) -> Result<(), Fault> {
        let actual = self.dims(name)?;
        if actual == expected {
            Ok(())
        } else {
            Err(Fault::new(field, format!("says tensor `{name}` is {expected:?}, but the file holds {actual:?}")))
        }
    }

    /// The tensors whose names start with `prefix`, in name order.
    pub fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a [usize])> + 'a {
        self.0.range(prefix.to_string()..).take_while(move |(k, _)| k.starts_with(prefix)).map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// A task's typed header (its preprocessing, checked with the architecture and the class
/// list) proving itself consistent with the file's tensors. [`open`](super::open) calls it
/// before the model is built, so an edited size can neither index out of bounds nor allocate
/// a model of the wrong shape.
pub trait HeaderCheck<A> {
    /// `Ok` when `self`, `arch` and `classes` agree with each other and with `tensors`.
    fn check(&self, arch: &A, classes: &[String], tensors: &TensorShapes) -> Result<(), Fault>;
}

/// Headers with nothing to check (tests and tools with an empty preprocessing).
impl<A> HeaderCheck<A> for serde_json::Value {
    fn check(&self, _: &A, _: &[String], _: &TensorShapes) -> Result<(), Fault> {
        Ok(())
    }
}
