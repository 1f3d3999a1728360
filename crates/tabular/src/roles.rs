//! Which column is the target, which are categorical and which continuous: given, or inferred
//! as fastai's `cont_cat_split` does.

use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::table::{Column, Table};

/// What the model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// A class (cross-entropy loss, accuracy).
    Classification,
    /// A number (MSE loss, RMSE).
    Regression,
}

/// The role of every column used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    /// The target column.
    pub target: String,
    /// Categorical columns.
    pub cat: Vec<String>,
    /// Continuous columns.
    pub cont: Vec<String>,
    /// Classification or regression.
    pub kind: TaskKind,
}

impl Roles {
    /// The columns of `table` these roles leave out (neither target nor input).
    pub fn unused(&self, table: &Table) -> Vec<String> {
        table.names.iter().filter(|n| **n != self.target && !self.cat.contains(n) && !self.cont.contains(n)).cloned().collect()
    }
}

/// fastai's `cont_cat_split`: a numeric column is continuous unless it is whole numbers with no
/// gaps and at most `max_card` distinct values; a text column is categorical.
pub fn cont_cat_split(table: &Table, exclude: &[&str], max_card: usize) -> (Vec<String>, Vec<String>) {
    let (mut cont, mut cat) = (Vec::new(), Vec::new());
    let all: Vec<usize> = (0..table.n_rows()).collect();
    for (name, col) in table.names.iter().zip(&table.columns) {
        if exclude.contains(&name.as_str()) {
            continue;
        }
        match col {
            Column::Numeric { integral, .. } if *integral && col.n_missing() == 0 && col.distinct(&all).len() <= max_card => cat.push(name.clone()),
            Column::Numeric { .. } => cont.push(name.clone()),
            Column::Text(_) => cat.push(name.clone()),
        }
    }
    (cont, cat)
}

/// The task a target column implies when none is asked for: classification for text, and for
/// numbers with exactly two distinct values (a 0/1 label such as Titanic's `survived`, which
/// fastai would train as a regression); regression for other numbers.
pub fn infer_kind(target: &Column) -> TaskKind {
    match target {
        Column::Numeric { .. } if binary_values(target).is_some() => TaskKind::Classification,
        Column::Numeric { .. } => TaskKind::Regression,
        Column::Text(_) => TaskKind::Classification,
    }
}

/// The two distinct values of a column that has exactly two.
fn binary_values(col: &Column) -> Option<(String, String)> {
    let all: Vec<usize> = (0..col.len()).collect();
    match col.distinct(&all).as_slice() {
        [a, b] => Some((a.clone(), b.clone())),
        _ => None,
    }
}

/// Why the task is what it is, for the line that prints the roles: `asked` is the kind a flag
/// asked for, if any; an inferred kind names the flag that overrides it.
///
/// ```
/// use kindling_tabular::roles::{TaskKind, kind_note};
/// use kindling_tabular::table::Column;
/// let survived = Column::numeric(vec![Some(0.0), Some(1.0), Some(1.0)]);
/// let note = kind_note(&survived, TaskKind::Classification, None);
/// assert!(note.contains("two values, 0 and 1") && note.contains("--regression"), "{note}");
/// ```
pub fn kind_note(target: &Column, kind: TaskKind, asked: Option<TaskKind>) -> String {
    let name = match kind {
        TaskKind::Classification => "classification",
        TaskKind::Regression => "regression",
    };
    match (asked, target, binary_values(target)) {
        (Some(_), _, _) => format!("{name}, as asked"),
        (None, Column::Numeric { .. }, Some((a, b))) => {
            format!("{name}: a numeric target with exactly two values, {a} and {b}; pass --regression to predict it as a number")
        }
        (None, Column::Numeric { .. }, None) => format!("{name}: a numeric target; pass --classification to treat its values as classes"),
        (None, Column::Text(_), _) => format!("{name}: a text target"),
    }
}

/// The roles for `table`: the target (default: the last column), categorical and continuous
/// columns (when only one of the two lists is given, the other is inferred from the remaining
/// columns; when both are given, only those columns are used — see [`Roles::unused`]), and
/// the task kind (default: [`infer_kind`]).
pub fn resolve(
    table: &Table,
    target: Option<&str>,
    cat: Option<Vec<String>>,
    cont: Option<Vec<String>>,
    kind: Option<TaskKind>,
) -> Result<Roles> {
    let target = match target {
        Some(t) => t.to_string(),
        None => table.names.last().cloned().ok_or_else(|| Error::Data("the table has no columns".into()))?,
    };
    let target_col = table.get(&target).ok_or_else(|| Error::Data(table.missing(&format!("--target column '{target}'"), &target)))?;
    let flagged = cat.iter().flatten().map(|c| ("--cat", c)).chain(cont.iter().flatten().map(|c| ("--cont", c)));
    for (flag, c) in flagged {
        if table.get(c).is_none() {
            return Err(Error::Data(table.missing(&format!("{flag} column '{c}'"), c)));
        }
        if *c == target {
            return Err(Error::invalid("columns", format!("'{c}' is the target and cannot also be an input")));
        }
    }
    let given: Vec<String> = cat.iter().flatten().chain(cont.iter().flatten()).cloned().chain([target.clone()]).collect();
    let (cat, cont) = match (cat, cont) {
        (Some(cat), Some(cont)) => (cat, cont),
        (cat, cont) => {
            // The columns in neither list are inferred and join the list of their kind.
            let given: Vec<&str> = given.iter().map(String::as_str).collect();
            let (icont, icat) = cont_cat_split(table, &given, 20);
            (cat.unwrap_or_default().into_iter().chain(icat).collect(), cont.unwrap_or_default().into_iter().chain(icont).collect())
        }
    };
    if let Some(dup) = cat.iter().find(|c| cont.contains(c)) {
        return Err(Error::invalid("columns", format!("'{dup}' is given as both categorical and continuous")));
    }
    if let Some(c) = cont.iter().find(|c| matches!(table.get(c), Some(Column::Text(_)))) {
        return Err(Error::invalid("--cont", format!("column '{c}' holds text, not numbers; make it categorical")));
    }
    let kind = kind.unwrap_or_else(|| infer_kind(target_col));
    if kind == TaskKind::Regression && matches!(target_col, Column::Text(_)) {
        return Err(Error::invalid("target", format!("'{target}' holds text and cannot be a regression target")));
    }
    if cat.is_empty() && cont.is_empty() {
        return Err(Error::Data(format!("no input columns besides the target '{target}'")));
    }
    Ok(Roles { target, cat, cont, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            names: vec!["age".into(), "grade".into(), "city".into(), "income".into(), "y".into()],
            columns: vec![
                Column::numeric((0..30).map(|i| Some(20.0 + i as f64)).collect()),
                Column::numeric((0..30).map(|i| Some((i % 5) as f64)).collect()),
                Column::Text((0..30).map(|i| Some(format!("c{}", i % 3))).collect()),
                Column::numeric((0..30).map(|i| Some(i as f64 * 1.5)).collect()),
                Column::Text((0..30).map(|i| Some(if i % 2 == 0 { "a" } else { "b" }.to_string())).collect()),
            ],
        }
    }

    #[test]
    fn infers_like_cont_cat_split() {
        let r = resolve(&table(), None, None, None, None).unwrap();
        assert_eq!(r.target, "y");
        assert_eq!(r.cat, vec!["grade", "city"]);
        assert_eq!(r.cont, vec!["age", "income"]);
        assert_eq!(r.kind, TaskKind::Classification);
        let r = resolve(&table(), Some("income"), None, None, None).unwrap();
        assert_eq!(r.kind, TaskKind::Regression);
        assert!(r.unused(&table()).is_empty(), "inferred roles use every column");
    }

    #[test]
    fn a_numeric_target_with_two_values_is_a_classification_unless_asked() {
        let mut t = table();
        t.names.push("survived".into());
        t.columns.push(Column::numeric((0..30).map(|i| Some((i % 3 == 0) as u8 as f64)).collect()));
        let r = resolve(&t, Some("survived"), None, None, None).unwrap();
        assert_eq!(r.kind, TaskKind::Classification);
        let r = resolve(&t, Some("survived"), None, None, Some(TaskKind::Regression)).unwrap();
        assert_eq!(r.kind, TaskKind::Regression);
        // Three or more values stay a regression, as in fastai.
        assert_eq!(resolve(&t, Some("grade"), None, None, None).unwrap().kind, TaskKind::Regression);
    }

    #[test]
    fn both_lists_given_leave_the_other_columns_out_and_say_which() {
        let r = resolve(&table(), Some("y"), Some(vec!["city".into()]), Some(vec!["age".into()]), None).unwrap();
        assert_eq!(r.unused(&table()), vec!["grade", "income"]);
        // With one list given, the other columns are inferred and join their kind's list.
        let r = resolve(&table(), Some("y"), Some(vec!["age".into()]), None, None).unwrap();
        assert_eq!((r.cat.clone(), r.cont.clone()), (vec!["age".to_string(), "grade".into(), "city".into()], vec!["income".to_string()]));
        assert!(r.unused(&table()).is_empty());
        let r = resolve(&table(), Some("y"), None, Some(vec!["grade".into()]), None).unwrap();
        assert_eq!((r.cat.clone(), r.cont.clone()), (vec!["city".to_string()], vec!["grade".to_string(), "age".into(), "income".into()]));
    }

    #[test]
    fn clear_errors() {
        let err = resolve(&table(), Some("salary"), None, None, None).unwrap_err().to_string();
        assert!(err.contains("--target column 'salary'") && err.contains("age, grade"), "{err}");
        let err = resolve(&table(), Some("Y"), None, None, None).unwrap_err().to_string();
        assert!(err.contains("did you mean 'y'?"), "{err}");
        let err = resolve(&table(), Some("y"), Some(vec!["cty".into()]), None, None).unwrap_err().to_string();
        assert!(err.starts_with("--cat column 'cty' does not exist (did you mean 'city'?)"), "{err}");
        let err = resolve(&table(), Some("y"), None, Some(vec!["Income".into()]), None).unwrap_err().to_string();
        assert!(err.starts_with("--cont column 'Income' does not exist (did you mean 'income'?)"), "{err}");
        let err = resolve(&table(), None, None, Some(vec!["city".into()]), None).unwrap_err().to_string();
        assert!(err.contains("holds text"), "{err}");
        assert!(resolve(&table(), Some("y"), Some(vec!["y".into()]), None, None).is_err());
    }
}
