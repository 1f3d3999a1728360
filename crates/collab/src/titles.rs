//! Titles for item ids (MovieLens' `u.item` or `movies.csv`): a table whose first column is
//! the item id and whose second is its title, to show and to look items up by.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kindling_core::{Error, Result};
use kindling_tabular::read::{ReadOptions, read_table};

use crate::source::separator;
use crate::vocab::IdVocab;

/// The title of each item row of a model, where the table has one.
#[derive(Clone, Debug)]
pub struct Titles {
    /// The table read.
    pub path: PathBuf,
    by_row: Vec<Option<String>>,
}

impl Titles {
    /// Reads `path` (separator `sep`; by default `,` for a `.csv` file, tab otherwise) and
    /// matches its ids with `items`. A table none of whose ids is an item is an error that says
    /// so, with an example of each.
    pub fn read(path: &Path, sep: Option<&str>, items: &IdVocab) -> Result<Self> {
        let sep = match sep {
            Some(s) => separator(s).map_err(|_| Error::invalid("--titles-sep", format!("'{s}' is not a single character")))?,
            None if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) => b',',
            None => b'\t',
        };
        let t = read_table(path, &ReadOptions { separator: sep, ..ReadOptions::default() }, None)?;
        if t.columns.len() < 2 {
            return Err(Error::bad_file(
                path,
                format!("needs an item id column and a title column, but reads as {} column with separator '{}' (set --titles-sep)", t.columns.len(), crate::source::shown_separator(sep)),
            ));
        }
        let map: HashMap<String, String> = (0..t.n_rows()).filter_map(|k| Some((t.columns[0].category(k)?, t.columns[1].category(k)?))).collect();
        let by_row: Vec<Option<String>> = items.ids.iter().enumerate().map(|(r, id)| if r == 0 { None } else { map.get(id).cloned() }).collect();
        if items.len() > 1 && by_row.iter().all(Option::is_none) {
            let example = map.keys().min().cloned().unwrap_or_default();
            return Err(Error::bad_file(
                path,
                format!(
                    "none of its {} ids (first column '{}', e.g. '{example}') is an item of the model (e.g. '{}'): the first column must hold the item ids the model was trained on",
                    map.len(),
                    t.names[0],
                    items.ids[1]
                ),
            ));
        }
        Ok(Self { path: path.to_path_buf(), by_row })
    }

    /// The title of item row `row`, if the table has one.
    pub fn get(&self, row: usize) -> Option<&str> {
        self.by_row.get(row).and_then(|t| t.as_deref())
    }
}
