//! Reading CSV and Parquet with polars' lazy scanner: only the columns that are used are read,
//! values are trimmed (as pandas' `skipinitialspace`), NA markers become missing values, and a
//! column whose every present value parses as a number becomes numeric.

use std::path::Path;

use kindling_core::{Error, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::table::{Column, Table};

/// How to read a file. The defaults read an ordinary CSV with a header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadOptions {
    /// The first line names the columns.
    pub has_header: bool,
    /// Column names to use (required without a header; renames with one).
    pub names: Option<Vec<String>>,
    /// Field separator.
    pub separator: u8,
    /// Values that mean "missing" (after trimming), besides an empty field.
    pub na_values: Vec<String>,
    /// Lines to skip at the top (before the header).
    pub skip_rows: usize,
    /// Trim spaces around values.
    pub trim: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { has_header: true, names: None, separator: b',', na_values: vec!["NA".into(), "?".into()], skip_rows: 0, trim: true }
    }
}

/// Reads `columns` (all when `None`) of a CSV or Parquet file (by its extension) into a [`Table`].
pub fn read_table(path: &Path, opts: &ReadOptions, columns: Option<&[String]>) -> Result<Table> {
    if !path.exists() {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")));
    }
    let is_parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"));
    let pl = |e: PolarsError| polars_error(path, opts, e);
    let path_str = path.to_string_lossy().to_string();
    let mut lf = if is_parquet {
        LazyFrame::scan_parquet(PlRefPath::new(path_str.as_str()), ScanArgsParquet::default()).map_err(pl)?
    } else {
        LazyCsvReader::new(PlRefPath::new(path_str.as_str()))
            .with_has_header(opts.has_header)
            .with_separator(opts.separator)
            .with_skip_rows(opts.skip_rows)
            .with_infer_schema_length(Some(0)) // every column as text; typed after trimming
            .with_truncate_ragged_lines(false)
            .with_raise_if_empty(true)
            .finish()
            .map_err(pl)?
    };
    let schema = lf.collect_schema().map_err(pl)?;
    let file_names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    if file_names.len() == 1
        && !is_parquet
        && let Some(e) = wrong_separator(path, opts)
    {
        return Err(e);
    }
    let names: Vec<String> = match &opts.names {
        Some(given) => {
            if given.len() != file_names.len() {
                return Err(Error::bad_file(path, format!("{} names were given for {} columns", given.len(), file_names.len())));
            }
            given.clone()
        }
        None if opts.trim => file_names.iter().map(|n| n.trim().to_string()).collect(),
        None => file_names.clone(),
    };
    let wanted: Vec<usize> = match columns {
        None => (0..names.len()).collect(),
        Some(cols) => cols
            .iter()
            .map(|c| {
                names.iter().position(|n| n == c).ok_or_else(|| {
                    let hint = crate::suggest::did_you_mean(c, &names).map(|h| format!(" ({h})")).unwrap_or_default();
                    Error::bad_file(path, format!("column '{c}' does not exist{hint}; the columns are: {}", names.join(", ")))
                })
            })
            .collect::<Result<_>>()?,
    };
    lf = lf.select(wanted.iter().map(|&i| col(file_names[i].as_str())).collect::<Vec<_>>());
    let df = lf.collect().map_err(pl)?;
    let mut table = Table::default();
    for (k, &i) in wanted.iter().enumerate() {
        let column = df.columns().get(k).ok_or_else(|| Error::bad_file(path, "a column went missing while reading"))?;
        table.names.push(names[i].clone());
        table.columns.push(convert(column, opts).map_err(pl)?);
    }
    Ok(drop_blank_rows(table))
}

/// Removes rows in which every field is missing: blank lines (pandas skips them too; the UCI
/// files end with one).
fn drop_blank_rows(mut table: Table) -> Table {
    let n = table.n_rows();
    let blank: Vec<bool> = (0..n).map(|r| table.columns.iter().all(|c| c.category(r).is_none())).collect();
    if !blank.iter().any(|b| *b) || table.columns.is_empty() {
        return table;
    }
    for col in &mut table.columns {
        *col = match std::mem::replace(col, Column::Text(Vec::new())) {
            Column::Numeric { values, .. } => Column::numeric(values.into_iter().zip(&blank).filter(|(_, b)| !**b).map(|(v, _)| v).collect()),
            Column::Text(t) => Column::Text(t.into_iter().zip(&blank).filter(|(_, b)| !**b).map(|(v, _)| v).collect()),
        };
    }
    table
}

/// A polars column as a [`Column`].
fn convert(column: &polars::prelude::Column, opts: &ReadOptions) -> PolarsResult<Column> {
    match column.dtype() {
        DataType::String => {
            let texts: Vec<Option<String>> = column
                .str()?
                .iter()
                .map(|v| {
                    let v = v?;
                    let v = if opts.trim { v.trim() } else { v };
                    (!v.is_empty() && !opts.na_values.iter().any(|na| na == v)).then(|| v.to_string())
                })
                .collect();
            let parsed: Option<Vec<Option<f64>>> =
                texts.iter().map(|t| t.as_ref().map_or(Some(None), |s| s.parse::<f64>().ok().map(Some))).collect();
            Ok(match parsed {
                Some(values) if texts.iter().any(Option::is_some) => Column::numeric(values),
                _ => Column::Text(texts),
            })
        }
        DataType::Boolean => Ok(Column::Text(column.bool()?.iter().map(|v| v.map(|b| b.to_string())).collect())),
        dt if dt.is_primitive_numeric() => {
            let c = column.cast(&DataType::Float64)?;
            Ok(Column::numeric(c.f64()?.iter().collect()))
        }
        _ => {
            let c = column.cast(&DataType::String)?;
            convert(&c, opts)
        }
    }
}

/// A polars error as kindling's, naming the file, and for a CSV row with the wrong number of
/// fields, the line.
fn polars_error(path: &Path, opts: &ReadOptions, e: PolarsError) -> Error {
    if let Some(line) = find_non_utf8_line(path) {
        return Error::bad_file(path, format!("line {line} is not UTF-8 text: save the file as UTF-8"));
    }
    if let Some(e) = wrong_separator(path, opts) {
        return e;
    }
    if let Some((line, found, expected)) = find_ragged_line(path, opts) {
        return Error::bad_file(path, format!("line {line} has {found} fields where the first row has {expected}"));
    }
    let msg = e.to_string();
    if msg.to_lowercase().contains("empty") {
        return Error::bad_file(path, "the file is empty");
    }
    Error::bad_file(path, msg)
}

/// The first line (1-based) of a text file that is not valid UTF-8; `None` when every line is
/// (or the file is unreadable, or a Parquet file).
pub fn find_non_utf8_line(path: &Path) -> Option<usize> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq")) {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    bytes.split(|&b| b == b'\n').position(|line| std::str::from_utf8(line).is_err()).map(|i| i + 1)
}

/// The first line (1-based) whose number of fields differs from the first row's, with the
/// two counts. Quotes are honoured. `None` when every line agrees (or the file is unreadable).
pub fn find_ragged_line(path: &Path, opts: &ReadOptions) -> Option<(usize, usize, usize)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut expected = None;
    for (i, line) in text.lines().enumerate().skip(opts.skip_rows) {
        if line.trim().is_empty() {
            continue;
        }
        let n = count_fields(line, opts.separator);
        match expected {
            None => expected = Some(n),
            Some(e) if e != n => return Some((i + 1, n, e)),
            _ => {}
        }
    }
    None
}

/// The separators a table is likely to use.
const LIKELY_SEPARATORS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// A separator as the user would type it after `--sep`: `','`, `'\t'`.
fn sep_name(sep: u8) -> String {
    match sep {
        b'\t' => "'\\t'".into(),
        s => format!("'{}'", s as char),
    }
}

/// The error for a CSV whose first line is one field with `opts.separator` but two or more
/// with another likely one ([`separator_hint`]), naming that one; `None` otherwise.
fn wrong_separator(path: &Path, opts: &ReadOptions) -> Option<Error> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq")) {
        return None;
    }
    let (sep, n) = separator_hint(path, opts)?;
    Some(Error::bad_file(
        path,
        format!(
            "read with --sep {} the file has a single column, but its first line has {n} fields separated by {}: pass --sep {}",
            sep_name(opts.separator),
            sep_name(sep),
            sep_name(sep)
        ),
    ))
}

/// For a file whose first line (after `skip_rows`) is a single field with `opts.separator`:
/// another likely separator (`,` `;` tab `|`) that splits that line into two or more fields,
/// and the next line, when there is one, into as many; the one giving the most fields, with
/// their count. `None` when no separator fits (a file that really has one column).
///
/// ```
/// use kindling_tabular::read::{ReadOptions, separator_hint};
/// let p = std::env::temp_dir().join(format!("kindling-sep-hint-{}.csv", std::process::id()));
/// std::fs::write(&p, "a;b;c\n1;2;3\n").unwrap();
/// assert_eq!(separator_hint(&p, &ReadOptions::default()), Some((b';', 3)));
/// std::fs::write(&p, "only\n1\n").unwrap();
/// assert_eq!(separator_hint(&p, &ReadOptions::default()), None);
/// std::fs::remove_file(p).unwrap();
/// ```
pub fn separator_hint(path: &Path, opts: &ReadOptions) -> Option<(u8, usize)> {
    use std::io::BufRead as _;
    let file = std::fs::File::open(path).ok()?;
    let mut lines = std::io::BufReader::new(file).lines().skip(opts.skip_rows).map_while(|l| l.ok()).filter(|l| !l.trim().is_empty());
    let first = lines.next()?;
    if count_fields(&first, opts.separator) != 1 {
        return None;
    }
    let second = lines.next();
    // Reversed so that, of separators giving as many fields, the likelier (earlier) one wins.
    LIKELY_SEPARATORS
        .into_iter()
        .rev()
        .filter(|&sep| sep != opts.separator)
        .map(|sep| (sep, count_fields(&first, sep)))
        .filter(|&(sep, n)| n >= 2 && second.as_ref().is_none_or(|l| count_fields(l, sep) == n))
        .max_by_key(|&(_, n)| n)
}

fn count_fields(line: &str, sep: u8) -> usize {
    let (mut n, mut quoted) = (1, false);
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == sep && !quoted {
            n += 1;
        }
    }
    n
}
