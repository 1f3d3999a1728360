//! Labels of texts, as fastai's blocks make them: `CategoryBlock` (one class per text),
//! `MultiCategoryBlock` with `label_delim` (any number of labels in one cell), and
//! `RegressionBlock` (a number).
//!
//! What a column holds is the caller's choice ([`LabelKind`]), never guessed: a numeric column
//! is a set of classes unless regression is asked for (unlike the tabular crate, which infers
//! regression for a numeric target with more than two values, a label column of review
//! scores `1`–`5` is as often classes as a number; [`Labels::note`] says which was chosen and the
//! flag that changes it).

use kindling_core::{Error, Result};

use super::batch::TextTarget;

/// How to read a label column.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LabelKind {
    /// One class per text (fastai's `CategoryBlock`).
    #[default]
    Single,
    /// Any number of labels per text, in one cell separated by `delim` (fastai's
    /// `MultiCategoryBlock` with `label_delim`). An empty cell is a text with no label.
    Multi {
        /// The separator, `;` by default ([`LabelKind::multi`]).
        delim: String,
    },
    /// A number per text (fastai's `RegressionBlock`); NaN and infinity are refused.
    Regression,
}

impl LabelKind {
    /// Multi-label with `delim` between labels.
    pub fn multi(delim: &str) -> Self {
        LabelKind::Multi { delim: delim.to_string() }
    }

    /// Multi-label with the default `;` between labels.
    pub fn multi_default() -> Self {
        Self::multi(";")
    }
}

/// The labels of every text.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    /// One class per text.
    Single {
        /// Class index per text.
        ids: Vec<usize>,
        /// Class names, sorted as fastai sorts them (numerically when every name is a
        /// number, else by code point, as Python sorts strings).
        classes: Vec<String>,
    },
    /// Any number of labels per text.
    Multi {
        /// Label indices per text, ascending, no repeats (maybe none).
        sets: Vec<Vec<usize>>,
        /// Every label that occurs, sorted by code point.
        classes: Vec<String>,
    },
    /// A number per text.
    Values(Vec<f32>),
}

impl Labels {
    /// The labels in `cells` (one per text, `None` where missing) read as `kind`. `classes`,
    /// when given, is the vocabulary to use (a trained model's): a label outside it is an
    /// error. `at(i)` names text `i` in messages (`file.csv: row 12`, a file's path), and
    /// `source` the column or folder the labels come from.
    pub fn build(cells: &[Option<String>], kind: &LabelKind, classes: Option<&[String]>, source: &str, at: impl Fn(usize) -> String) -> Result<Self> {
        match kind {
            LabelKind::Single => {
                let mut names = Vec::with_capacity(cells.len());
                for (i, c) in cells.iter().enumerate() {
                    match c.as_deref().map(str::trim) {
                        Some(v) if !v.is_empty() => names.push(v),
                        _ => return Err(Error::Data(format!("{}: the label ({source}) is missing", at(i)))),
                    }
                }
                let classes = match classes {
                    Some(given) => given.to_vec(),
                    None => {
                        let vocab = sorted_vocab(names.iter().copied(), true);
                        if vocab.len() < 2 {
                            let only = vocab.first().map_or(String::new(), |c| format!(" ('{c}')"));
                            return Err(Error::Data(format!("{source} has only one class{only}: a classifier needs at least two")));
                        }
                        vocab
                    }
                };
                let ids = names.iter().enumerate().map(|(i, n)| index_of(&classes, n).ok_or_else(|| unknown(&at(i), n, &classes))).collect::<Result<_>>()?;
                Ok(Labels::Single { ids, classes })
            }
            LabelKind::Multi { delim } => {
                if delim.is_empty() {
                    return Err(Error::invalid("label delimiter", "must not be empty"));
                }
                let split: Vec<Vec<&str>> = cells
                    .iter()
                    .map(|c| c.as_deref().map_or(Vec::new(), |v| v.split(delim.as_str()).map(str::trim).filter(|s| !s.is_empty()).collect()))
                    .collect();
                let classes = match classes {
                    Some(given) => given.to_vec(),
                    None => {
                        let vocab = sorted_vocab(split.iter().flatten().copied(), false);
                        if vocab.is_empty() {
                            return Err(Error::Data(format!("{source} holds no labels at all (separated by '{delim}')")));
                        }
                        vocab
                    }
                };
                let sets = split
                    .iter()
                    .enumerate()
                    .map(|(i, names)| {
                        let mut set = names.iter().map(|n| index_of(&classes, n).ok_or_else(|| unknown(&at(i), n, &classes))).collect::<Result<Vec<_>>>()?;
                        set.sort_unstable();
                        set.dedup();
                        Ok(set)
                    })
                    .collect::<Result<_>>()?;
                Ok(Labels::Multi { sets, classes })
            }
            LabelKind::Regression => cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let v = c.as_deref().map(str::trim).filter(|v| !v.is_empty()).ok_or_else(|| Error::Data(format!("{}: the value ({source}) is missing", at(i))))?;
                    let x: f64 = v.parse().map_err(|_| Error::Data(format!("{}: '{v}' ({source}) is not a number", at(i))))?;
                    if !x.is_finite() || !(x as f32).is_finite() {
                        return Err(Error::Data(format!("{}: '{v}' ({source}) is not a finite number", at(i))));
                    }
                    Ok(x as f32)
                })
                .collect::<Result<_>>()
                .map(Labels::Values),
        }
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        match self {
            Labels::Single { ids, .. } => ids.len(),
            Labels::Multi { sets, .. } => sets.len(),
            Labels::Values(v) => v.len(),
        }
    }

    /// Whether there are no texts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Class (label) names in output order; empty for regression.
    pub fn classes(&self) -> &[String] {
        match self {
            Labels::Single { classes, .. } | Labels::Multi { classes, .. } => classes,
            Labels::Values(_) => &[],
        }
    }

    /// The model's outputs: one per class or label, 1 for regression.
    pub fn n_out(&self) -> usize {
        match self {
            Labels::Values(_) => 1,
            _ => self.classes().len(),
        }
    }

    /// The target of text `i`: its class index, its labels multi-hot, or its value.
    pub fn target(&self, i: usize) -> TextTarget {
        match self {
            Labels::Single { ids, .. } => TextTarget::Class(ids[i]),
            Labels::Multi { sets, classes } => {
                let mut hot = vec![0.0; classes.len()];
                for &c in &sets[i] {
                    hot[c] = 1.0;
                }
                TextTarget::Values(hot)
            }
            Labels::Values(v) => TextTarget::Values(vec![v[i]]),
        }
    }

    /// The label of text `i` in words: its class, its labels joined by `;`, or its value.
    pub fn describe(&self, i: usize) -> String {
        match self {
            Labels::Single { ids, classes } => classes[ids[i]].clone(),
            Labels::Multi { sets, classes } => sets[i].iter().map(|&c| classes[c].as_str()).collect::<Vec<_>>().join(";"),
            Labels::Values(v) => v[i].to_string(),
        }
    }

    /// A line for the user when single-label classes are all numbers (scores, ratings): they
    /// are trained as classes, and `--regression` predicts a number instead.
    pub fn note(&self, source: &str) -> Option<String> {
        match self {
            Labels::Single { classes, .. } if classes.iter().all(|c| c.parse::<f64>().is_ok()) => Some(format!(
                "{source}: numeric labels, trained as {} classes ({}); pass --regression to predict a number",
                classes.len(),
                classes.join(", ")
            )),
            _ => None,
        }
    }
}

/// The distinct names, sorted: numerically when `numeric` and every name is a finite
/// number (pandas reads such a column as numbers, and fastai sorts them so), else by code point.
fn sorted_vocab<'a>(names: impl Iterator<Item = &'a str>, numeric: bool) -> Vec<String> {
    let mut v: Vec<String> = names.map(str::to_string).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let nums: Option<Vec<f64>> = v.iter().map(|s| s.parse::<f64>().ok().filter(|x| x.is_finite())).collect();
    if let (true, Some(_)) = (numeric, nums) {
        v.sort_by(|a, b| a.parse::<f64>().unwrap_or(0.0).total_cmp(&b.parse::<f64>().unwrap_or(0.0)).then(a.cmp(b)));
    }
    v
}

fn index_of(classes: &[String], name: &str) -> Option<usize> {
    classes.iter().position(|c| c == name)
}

fn unknown(at: &str, name: &str, classes: &[String]) -> Error {
    Error::Data(format!("{at}: label '{name}' is not one of the model's classes ({})", classes.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(v: &[&str]) -> Vec<Option<String>> {
        v.iter().map(|s| (!s.is_empty()).then(|| s.to_string())).collect()
    }

    fn at(i: usize) -> String {
        format!("f.csv: row {}", i + 1)
    }

    #[test]
    fn single_labels_are_sorted_as_fastai_sorts_them() {
        let l = Labels::build(&cells(&["other", "great", " great "]), &LabelKind::Single, None, "column 'score'", at).unwrap();
        assert_eq!(l, Labels::Single { ids: vec![1, 0, 0], classes: vec!["great".into(), "other".into()] });
        assert_eq!(l.target(1), TextTarget::Class(0));
        assert_eq!(l.note("score"), None);
        // Numbers sort as numbers, not as text ("10" after "9").
        let l = Labels::build(&cells(&["10", "9", "1", "9"]), &LabelKind::Single, None, "column 'stars'", at).unwrap();
        assert_eq!(l.classes(), ["1", "9", "10"]);
        assert!(l.note("column 'stars'").unwrap().contains("--regression"));
        // Text sorts by code point, as Python's sorted: upper case first.
        let l = Labels::build(&cells(&["b", "B", "a"]), &LabelKind::Single, None, "c", at).unwrap();
        assert_eq!(l.classes(), ["B", "a", "b"]);
    }

    #[test]
    fn single_label_errors_name_the_row_or_class() {
        let err = Labels::build(&cells(&["a", "", "b"]), &LabelKind::Single, None, "column 'score'", at).unwrap_err().to_string();
        assert!(err.contains("f.csv: row 2") && err.contains("column 'score'") && err.contains("missing"), "{err}");
        let err = Labels::build(&cells(&["great", "great"]), &LabelKind::Single, None, "column 'score'", at).unwrap_err().to_string();
        assert!(err.contains("only one class ('great')") && err.contains("column 'score'"), "{err}");
        let given = vec!["great".to_string(), "other".to_string()];
        let err = Labels::build(&cells(&["great", "meh"]), &LabelKind::Single, Some(&given), "c", at).unwrap_err().to_string();
        assert!(err.contains("row 2") && err.contains("'meh'"), "{err}");
        // A fixed vocabulary keeps its order and allows a single class in the data.
        let l = Labels::build(&cells(&["other"]), &LabelKind::Single, Some(&given), "c", at).unwrap();
        assert_eq!(l, Labels::Single { ids: vec![1], classes: given });
    }

    #[test]
    fn multi_labels_split_on_the_delimiter() {
        let l = Labels::build(&cells(&["sci;news", "", "news ; news;art", "art"]), &LabelKind::multi_default(), None, "c", at).unwrap();
        assert_eq!(l, Labels::Multi { sets: vec![vec![1, 2], vec![], vec![0, 1], vec![0]], classes: vec!["art".into(), "news".into(), "sci".into()] });
        assert_eq!(l.target(0), TextTarget::Values(vec![0.0, 1.0, 1.0]));
        assert_eq!(l.describe(2), "art;news");
        let l = Labels::build(&cells(&["a|b"]), &LabelKind::multi("|"), None, "c", at).unwrap();
        assert_eq!(l.classes(), ["a", "b"]);
        assert!(Labels::build(&cells(&["", ""]), &LabelKind::multi_default(), None, "column 'tags'", at).unwrap_err().to_string().contains("column 'tags' holds no labels"));
    }

    #[test]
    fn regression_refuses_missing_text_and_non_finite_values() {
        let l = Labels::build(&cells(&["1.5", " -2 ", "3e2"]), &LabelKind::Regression, None, "c", at).unwrap();
        assert_eq!(l, Labels::Values(vec![1.5, -2.0, 300.0]));
        assert_eq!((l.n_out(), l.target(0)), (1, TextTarget::Values(vec![1.5])));
        for (bad, what) in [("NaN", "not a finite"), ("inf", "not a finite"), ("-Infinity", "not a finite"), ("1e300", "not a finite"), ("good", "not a number"), ("", "missing")] {
            let err = Labels::build(&cells(&["1", bad]), &LabelKind::Regression, None, "column 'y'", at).unwrap_err().to_string();
            assert!(err.contains("f.csv: row 2") && err.contains(what) && err.contains("column 'y'"), "{bad}: {err}");
        }
    }
}
