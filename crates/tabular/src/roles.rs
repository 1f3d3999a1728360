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

/// The roles for `table`: the target (default: the last column), categorical and continuous
/// columns as given (the ones not given are inferred from the remaining columns), and the task
/// kind (default: regression for a numeric target, classification otherwise, as fastai).
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
    let target_col = table.require(&target)?;
    for c in cat.iter().flatten().chain(cont.iter().flatten()) {
        table.require(c)?;
        if *c == target {
            return Err(Error::invalid("columns", format!("'{c}' is the target and cannot also be an input")));
        }
    }
    let given: Vec<String> = cat.iter().flatten().chain(cont.iter().flatten()).cloned().chain([target.clone()]).collect();
    let (cat, cont) = match (cat, cont) {
        (Some(cat), Some(cont)) => (cat, cont),
        (cat, cont) => {
            let given: Vec<&str> = given.iter().map(String::as_str).collect();
            let (icont, icat) = cont_cat_split(table, &given, 20);
            (cat.unwrap_or(icat), cont.unwrap_or(icont))
        }
    };
    if let Some(dup) = cat.iter().find(|c| cont.contains(c)) {
        return Err(Error::invalid("columns", format!("'{dup}' is given as both categorical and continuous")));
    }
    if let Some(c) = cont.iter().find(|c| matches!(table.get(c), Some(Column::Text(_)))) {
        return Err(Error::invalid("--cont", format!("column '{c}' holds text, not numbers; make it categorical")));
    }
    let kind = kind.unwrap_or(match target_col {
        Column::Numeric { .. } => TaskKind::Regression,
        Column::Text(_) => TaskKind::Classification,
    });
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
    }

    #[test]
    fn clear_errors() {
        let err = resolve(&table(), Some("salary"), None, None, None).unwrap_err().to_string();
        assert!(err.contains("'salary'") && err.contains("age, grade"), "{err}");
        let err = resolve(&table(), None, None, Some(vec!["city".into()]), None).unwrap_err().to_string();
        assert!(err.contains("holds text"), "{err}");
        assert!(resolve(&table(), Some("y"), Some(vec!["y".into()]), None, None).is_err());
    }
}
