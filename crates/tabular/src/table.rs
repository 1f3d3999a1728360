//! A table as kindling-tabular works on it: named columns of numbers or text, each value
//! possibly missing. Reading turns CSV and Parquet into this; the procs consume it.

use std::collections::BTreeSet;

/// One column's values.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Numbers (`None` where missing). `integral` is true when every present value is a whole
    /// number (how fastai's `cont_cat_split` tells integer columns from float ones).
    Numeric {
        /// The values.
        values: Vec<Option<f64>>,
        /// Every present value is whole.
        integral: bool,
    },
    /// Text (`None` where missing).
    Text(Vec<Option<String>>),
}

impl Column {
    /// Numbers, working out whether they are all whole.
    pub fn numeric(values: Vec<Option<f64>>) -> Self {
        let integral = values.iter().flatten().all(|v| v.fract() == 0.0 && v.is_finite());
        Column::Numeric { values, integral }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::Numeric { values, .. } => values.len(),
            Column::Text(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of missing values.
    pub fn n_missing(&self) -> usize {
        match self {
            Column::Numeric { values, .. } => values.iter().filter(|v| v.is_none_or(|x| !x.is_finite())).count(),
            Column::Text(v) => v.iter().filter(|v| v.is_none()).count(),
        }
    }

    /// Value `i` as the text a category is named by, borrowed when the column holds text.
    pub fn category_ref(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Column::Numeric { values, .. } => values[i].filter(|v| v.is_finite()).map(|v| std::borrow::Cow::Owned(format_number(v))),
            Column::Text(v) => v[i].as_deref().map(std::borrow::Cow::Borrowed),
        }
    }

    /// Value `i` as the text a category is named by (`None` if missing).
    pub fn category(&self, i: usize) -> Option<String> {
        match self {
            Column::Numeric { values, .. } => values[i].filter(|v| v.is_finite()).map(format_number),
            Column::Text(v) => v[i].clone(),
        }
    }

    /// Whether every present value among `rows` is the same (and at least one is present).
    pub fn is_constant(&self, rows: &[usize]) -> bool {
        match self {
            Column::Numeric { values, .. } => {
                let mut it = rows.iter().filter_map(|&i| values[i]);
                it.next().is_some_and(|first| it.all(|v| v == first))
            }
            Column::Text(t) => {
                let mut it = rows.iter().filter_map(|&i| t[i].as_deref());
                it.next().is_some_and(|first| it.all(|v| v == first))
            }
        }
    }

    /// Distinct present values among `rows`, as category names, sorted as fastai sorts them
    /// (numerically for numbers, lexically for text).
    pub fn distinct(&self, rows: &[usize]) -> Vec<String> {
        match self {
            Column::Numeric { values, .. } => {
                let mut v: Vec<f64> = rows.iter().filter_map(|&i| values[i]).filter(|x| x.is_finite()).collect();
                v.sort_by(f64::total_cmp);
                v.dedup();
                v.into_iter().map(format_number).collect()
            }
            Column::Text(t) => rows.iter().filter_map(|&i| t[i].as_deref()).collect::<BTreeSet<&str>>().into_iter().map(str::to_string).collect(),
        }
    }
}

/// A number as a category name: `13`, not `13.0`; `0.5` stays `0.5`.
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

/// Named columns of equal length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column names, in file order.
    pub names: Vec<String>,
    /// The columns, in the same order.
    pub columns: Vec<Column>,
}

impl Table {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// The column `name`.
    pub fn get(&self, name: &str) -> Option<&Column> {
        self.names.iter().position(|n| n == name).map(|i| &self.columns[i])
    }

    /// Takes the column `name` out of the table, if it is there.
    pub fn remove(&mut self, name: &str) -> Option<Column> {
        let i = self.names.iter().position(|n| n == name)?;
        self.names.remove(i);
        Some(self.columns.remove(i))
    }

    /// The column `name`, or an error naming the closest columns ("did you mean …?") and
    /// listing the columns there are.
    pub fn require(&self, name: &str) -> kindling_core::Result<&Column> {
        self.get(name).ok_or_else(|| kindling_core::Error::Data(self.missing(&format!("column '{name}'"), name)))
    }

    /// `WHAT does not exist` for a column `name` that is not in the table, with the closest
    /// columns and the list of all of them: `what` names it as the user gave it (`--cat
    /// column 'colour'`).
    pub fn missing(&self, what: &str, name: &str) -> String {
        let hint = crate::suggest::did_you_mean(name, &self.names).map(|h| format!(" ({h})")).unwrap_or_default();
        format!("{what} does not exist{hint}; the columns are: {}", self.names.join(", "))
    }
}

impl kindling_core::data::split::BoolColumns for Table {
    fn column_names(&self) -> Vec<String> {
        self.names.clone()
    }
    fn bool_column(&self, name: &str) -> Option<kindling_core::Result<Vec<bool>>> {
        let col = self.get(name)?;
        Some((0..col.len()).map(|i| match col.category(i).as_deref() {
            Some("1" | "true" | "True" | "TRUE") => Ok(true),
            Some("0" | "false" | "False" | "FALSE") => Ok(false),
            other => Err(kindling_core::Error::Data(format!("column '{name}', row {}: {other:?} is not a boolean", i + 1))),
        }).collect())
    }
}
