//! Ratings from any table: user, item and rating columns chosen by name, ids as text (numbers
//! or titles), ratings on any scale. Duplicate (user, item) pairs keep the last rating.

use std::collections::HashMap;
use std::path::Path;

use kindling_core::{Error, Result};
use kindling_tabular::read::{ReadOptions, read_table};
use kindling_tabular::table::Column;

use crate::source::shown_separator;
use crate::suggest::{Lookup, lookup, quoted_list};

/// Which columns hold what (default: the first three columns).
#[derive(Clone, Debug, Default)]
pub struct RatingColumns {
    /// User column.
    pub user: Option<String>,
    /// Item column.
    pub item: Option<String>,
    /// Rating column.
    pub rating: Option<String>,
}

/// (user, item, rating) triples in file order, duplicates resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Ratings {
    /// User id of each rating.
    pub users: Vec<String>,
    /// Item id of each rating.
    pub items: Vec<String>,
    /// The ratings.
    pub ratings: Vec<f32>,
    /// The column names used: (user, item, rating).
    pub columns: (String, String, String),
    /// How many duplicate (user, item) ratings were dropped (the last one is kept).
    pub duplicates_dropped: usize,
    /// Rows (1-based) skipped because their user or item id was missing.
    pub skipped_rows: Vec<usize>,
}

impl Ratings {
    /// Reads the ratings of `path` (CSV/TSV or Parquet).
    pub fn read(path: &Path, read: &ReadOptions, cols: &RatingColumns) -> Result<Self> {
        let all = read_table(path, read, None)?;
        if all.names.len() < 3
            && let Some(hint) = one_column_hint(&all.names, read.separator)
        {
            return Err(Error::bad_file(path, hint));
        }
        let pick = |given: &Option<String>, k: usize, what: &str| -> Result<String> {
            match given {
                Some(c) => column_named(&all.names, c, what).map_err(|e| Error::bad_file(path, e)),
                None => all.names.get(k).cloned().ok_or_else(|| {
                    Error::bad_file(path, format!("no {what} column: the table has {} column{} ({})", all.names.len(), if all.names.len() == 1 { "" } else { "s" }, all.names.join(", ")))
                }),
            }
        };
        let (u, i, r) = (pick(&cols.user, 0, "user")?, pick(&cols.item, 1, "item")?, pick(&cols.rating, 2, "rating")?);
        let n = all.n_rows();
        if n == 0 {
            return Err(Error::bad_file(path, "no ratings"));
        }
        let column = |name: &str| all.require(name).map_err(|e| Error::bad_file(path, e.to_string()));
        let (ucol, icol) = (column(&u)?, column(&i)?);
        let bad = |k: usize, what: String| Error::bad_file(path, format!("row {}: rating '{r}' {what}", k + 1));
        let finite = |k: usize, v: Option<f64>| match v {
            Some(x) if x.is_finite() => Ok(x as f32),
            _ => Err(bad(k, "is missing or not finite".into())),
        };
        let ratings: Vec<f32> = match column(&r)? {
            Column::Numeric { values, .. } => values.iter().enumerate().map(|(k, v)| finite(k, *v)).collect::<Result<_>>()?,
            // A column the reader kept as text: every value must still be a number.
            Column::Text(t) => t
                .iter()
                .enumerate()
                .map(|(k, v)| match v.as_deref().map(|s| s.trim().parse::<f64>()) {
                    Some(Err(_)) => Err(bad(k, format!("is {:?}, not a number", v.as_deref().unwrap_or("")))),
                    Some(Ok(x)) => finite(k, Some(x)),
                    None => finite(k, None),
                })
                .collect::<Result<_>>()?,
        };
        // A rating without a user or an item cannot be learned from: skip it, and say so.
        let (mut users, mut items, mut kept) = (Vec::new(), Vec::new(), Vec::new());
        let mut skipped = Vec::new();
        for k in 0..n {
            match (ucol.category(k), icol.category(k)) {
                (Some(uid), Some(iid)) => {
                    users.push(uid);
                    items.push(iid);
                    kept.push(ratings[k]);
                }
                _ => skipped.push(k + 1),
            }
        }
        if users.is_empty() {
            return Err(Error::bad_file(path, format!("no rating has both a '{u}' and an '{i}'")));
        }
        let mut out = Self::dedup(users, items, kept, (u, i, r));
        out.skipped_rows = skipped;
        Ok(out)
    }

    /// Builds ratings from triples, keeping the last rating of a repeated (user, item) pair.
    pub fn dedup(users: Vec<String>, items: Vec<String>, ratings: Vec<f32>, columns: (String, String, String)) -> Self {
        let mut last: HashMap<(&str, &str), usize> = HashMap::new();
        for k in 0..users.len() {
            last.insert((users[k].as_str(), items[k].as_str()), k);
        }
        let keep: Vec<usize> = (0..users.len()).filter(|&k| last[&(users[k].as_str(), items[k].as_str())] == k).collect();
        let duplicates_dropped = users.len() - keep.len();
        Self {
            users: keep.iter().map(|&k| users[k].clone()).collect(),
            items: keep.iter().map(|&k| items[k].clone()).collect(),
            ratings: keep.iter().map(|&k| ratings[k]).collect(),
            columns,
            duplicates_dropped,
            skipped_rows: Vec::new(),
        }
    }

    /// Number of ratings.
    pub fn len(&self) -> usize {
        self.ratings.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ratings.is_empty()
    }

    /// Lowest and highest rating.
    pub fn range(&self) -> (f32, f32) {
        self.ratings.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)))
    }
}

/// The column `given` names for the `what` (user, item, rating): exactly, or the one column
/// named like it ignoring case and punctuation; otherwise an error suggesting the closest.
fn column_named(names: &[String], given: &str, what: &str) -> std::result::Result<String, String> {
    let cands: Vec<(usize, &str)> = names.iter().enumerate().map(|(k, n)| (k, n.as_str())).collect();
    let all = names.join(", ");
    match lookup(given, &cands) {
        Lookup::Found(k) => Ok(names[k].clone()),
        Lookup::Ambiguous(ks) => Err(format!("{what} column '{given}' could be {}; the columns are: {all}", quoted_list(&ks.iter().map(|&k| &names[k]).collect::<Vec<_>>()))),
        Lookup::Missing(ks) if ks.is_empty() => Err(format!("no {what} column '{given}'; the columns are: {all}")),
        Lookup::Missing(ks) => Err(format!("no {what} column '{given}'; did you mean {}? The columns are: {all}", quoted_list(&ks.iter().map(|&k| &names[k]).collect::<Vec<_>>()))),
    }
}

/// When a table read as one or two columns has a header that another separator would split into
/// more, the advice to use it (a tab-separated file read with `,`, say).
fn one_column_hint(names: &[String], used: u8) -> Option<String> {
    let header = names.join(&(used as char).to_string());
    let (sep, n) = [b'\t', b',', b';', b'|']
        .into_iter()
        .filter(|&s| s != used)
        .map(|s| (s, header.split(s as char).count()))
        .max_by_key(|&(_, n)| n)?;
    (n > names.len()).then(|| {
        format!(
            "reads as {} column{} with the separator '{}', but its header line splits into {n} with '{}': pass --sep '{}'",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            shown_separator(used),
            shown_separator(sep),
            shown_separator(sep)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_matched_loosely_and_a_wrong_separator_is_named() {
        let names: Vec<String> = ["user_id:token", "item_id:token", "rating:float"].map(String::from).to_vec();
        let err = column_named(&names, "user_id", "user").unwrap_err();
        assert!(err.contains("did you mean 'user_id:token'?"), "{err}");
        let plain: Vec<String> = ["userId", "movieId", "rating"].map(String::from).to_vec();
        assert_eq!(column_named(&plain, "USERID", "user").unwrap(), "userId");
        let hint = one_column_hint(&["user_id:token\titem_id:token\trating:float".to_string()], b',').unwrap();
        assert!(hint.contains("pass --sep '\\t'") && hint.contains("splits into 3"), "{hint}");
        assert_eq!(one_column_hint(&plain, b','), None);
    }

    #[test]
    fn keeps_the_last_rating_of_a_duplicate_pair() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let r = Ratings::dedup(s(&["u1", "u2", "u1"]), s(&["i1", "i1", "i1"]), vec![1.0, 2.0, 5.0], Default::default());
        assert_eq!(r.duplicates_dropped, 1);
        assert_eq!((r.users, r.ratings), (s(&["u2", "u1"]), vec![2.0, 5.0]));
    }
}
