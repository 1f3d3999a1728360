//! Output a person and a script can both read: one [`Table`] of typed cells, printed as an
//! aligned table with headers (long text cut with `…`), as CSV (RFC 4180 quoting, nothing cut)
//! or as JSON (an array of objects, numbers as numbers), to stdout or to a file written
//! atomically that never replaces an existing one unless asked.
//! Used by every command that lists results (`recommend`, `similar`, `analyze`, `interpret`,
//! vision's `predict`), so that `--format table|csv|json` and `--out FILE` act alike everywhere.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use crate::{Error, Result};
use serde_json::Value;

/// How a table is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns under a header line; text longer than its column is cut with `…`.
    #[default]
    Table,
    /// Comma separated, a header line first, nothing cut.
    Csv,
    /// An array of objects keyed by the column names, nothing cut.
    Json,
}

/// One value of a [`Table`].
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text (left-aligned).
    Text(String),
    /// A file path (left-aligned); in a table a long one is cut at its start, so that the file
    /// name stays visible (`…/photos/coffee.png`).
    Path(String),
    /// A whole number (right-aligned).
    Int(i64),
    /// A number shown with this many decimals (right-aligned); JSON keeps it as a number.
    Num(f64, usize),
    /// Nothing (empty in a table and CSV, `null` in JSON).
    Empty,
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }

    /// A path cell, shown as [`Path::display`] does.
    pub fn path(p: &Path) -> Self {
        Cell::Path(p.display().to_string())
    }

    fn shown(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Path(s) => s.clone(),
            Cell::Int(v) => v.to_string(),
            Cell::Num(v, d) => format!("{v:.d$}"),
            Cell::Empty => String::new(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(s) | Cell::Path(s) => Value::String(s.clone()),
            Cell::Int(v) => Value::from(*v),
            Cell::Num(v, d) => {
                // The decimals shown, as a number (4.1234, not 4.123400192260742).
                let scale = 10f64.powi((*d).min(12) as i32);
                serde_json::Number::from_f64((v * scale).round() / scale).map_or(Value::Null, Value::Number)
            }
            Cell::Empty => Value::Null,
        }
    }

    fn right_aligned(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Num(..))
    }
}

/// Widest a text column is printed in [`Format::Table`], in characters; longer text is cut
/// to this with a trailing `…`.
pub const MAX_TEXT_WIDTH: usize = 48;

/// Rows under named columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column names (also the CSV header and the JSON keys).
    pub headers: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// `s` cut to `width` characters, the last one `…`, when longer.
///
/// ```
/// use kindling_core::output::truncate;
/// assert_eq!(truncate("Dragon Ball Z", 8), "Dragon …");
/// assert_eq!(truncate("Heat", 8), "Heat");
/// ```
pub fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `s` cut to `width` characters from its start, the first one `…`, when longer: for paths,
/// whose end names the file.
///
/// ```
/// use kindling_core::output::truncate_start;
/// assert_eq!(truncate_start("/data/photos/coffee.png", 12), "…/coffee.png");
/// assert_eq!(truncate_start("coffee.png", 12), "coffee.png");
/// ```
pub fn truncate_start(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let keep = width.saturating_sub(1);
    std::iter::once('…').chain(s.chars().skip(n - keep)).collect()
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

impl Table {
    /// A table with these column names and no rows.
    pub fn new(headers: &[&str]) -> Self {
        Self { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    /// Adds a row (one cell per column).
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.headers.len());
        self.rows.push(row);
    }

    /// The table in `format`, ending with a line break.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.aligned(),
            Format::Csv => self.csv(),
            Format::Json => self.json(),
        }
    }

    fn aligned(&self) -> String {
        let cut = |c: &Cell| match c {
            Cell::Path(p) => truncate_start(p, MAX_TEXT_WIDTH),
            c => truncate(&c.shown(), MAX_TEXT_WIDTH),
        };
        let shown: Vec<Vec<String>> = self.rows.iter().map(|r| r.iter().map(cut).collect()).collect();
        let width: Vec<usize> =
            (0..self.headers.len()).map(|k| shown.iter().map(|r| r[k].chars().count()).chain([self.headers[k].chars().count()]).max().unwrap_or(0)).collect();
        // A column is right-aligned (numbers) when every non-empty cell is a number.
        let right: Vec<bool> = (0..self.headers.len())
            .map(|k| {
                let mut cells = self.rows.iter().map(|r| &r[k]).filter(|c| **c != Cell::Empty).peekable();
                cells.peek().is_some() && cells.all(Cell::right_aligned)
            })
            .collect();
        let mut out = String::new();
        let line = |out: &mut String, cells: &[String]| {
            let mut l = String::new();
            for (k, c) in cells.iter().enumerate() {
                if k > 0 {
                    l.push_str("  ");
                }
                let pad = width[k] - c.chars().count();
                if right[k] {
                    l.push_str(&" ".repeat(pad));
                    l.push_str(c);
                } else {
                    l.push_str(c);
                    l.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(&mut out, &self.headers);
        for r in &shown {
            line(&mut out, r);
        }
        out
    }

    fn csv(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.headers.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(","));
        for r in &self.rows {
            let _ = writeln!(out, "{}", r.iter().map(|c| csv_field(&c.shown())).collect::<Vec<_>>().join(","));
        }
        out
    }

    /// The rows as JSON objects whose keys are the column names in column order (written by
    /// hand: serde_json's map would sort them).
    fn json(&self) -> String {
        let text = |v: &Value| serde_json::to_string(v).unwrap_or_else(|_| "null".into());
        let objects: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                let fields: Vec<String> = self.headers.iter().zip(r).map(|(h, c)| format!("    {}: {}", text(&Value::String(h.clone())), text(&c.json()))).collect();
                format!("  {{\n{}\n  }}", fields.join(",\n"))
            })
            .collect();
        if objects.is_empty() { "[]\n".into() } else { format!("[\n{}\n]\n", objects.join(",\n")) }
    }
}

/// `--format`, `--out` and `--overwrite`: where a command's table goes, and how.
#[derive(Args, Clone, Debug)]
pub struct OutputArgs {
    /// How to print the results: table (aligned, long text cut with …), csv or json (nothing
    /// cut, for scripts).
    #[arg(long, value_enum, default_value_t = Format::Table, hide_possible_values = true)]
    pub format: Format,
    /// Write the results to this file (default: print them; written whole or not at all; an
    /// existing file is kept unless --overwrite).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Let --out replace an existing file.
    #[arg(long, requires = "out")]
    pub overwrite: bool,
}

impl OutputArgs {
    /// Prints `table` in the chosen format, or writes it to `--out` and says where.
    pub fn emit(&self, table: &Table) -> Result<()> {
        let text = table.render(self.format);
        match &self.out {
            None => print!("{text}"),
            Some(path) => {
                write_new(path, text.as_bytes(), self.overwrite, "--out")?;
                println!("{} row{} written to {}", table.rows.len(), if table.rows.len() == 1 { "" } else { "s" }, path.display());
            }
        }
        Ok(())
    }

    /// Prints a note for a person: on stdout beside a table, on stderr when stdout is CSV or
    /// JSON (so that a script reading it gets only the data).
    pub fn note(&self, text: &str) {
        note(self.format, text);
    }
}

/// Prints `text` on stdout for [`Format::Table`], on stderr otherwise.
pub fn note(format: Format, text: &str) {
    match format {
        Format::Table => println!("{text}"),
        _ => eprintln!("{text}"),
    }
}

/// Writes `bytes` to `path` atomically ([`kindling_core::io::write_atomic`]), refusing to replace
/// an existing file unless `overwrite`; `flag` names the setting in the error.
pub fn write_new(path: &Path, bytes: &[u8], overwrite: bool, flag: &str) -> Result<()> {
    if path.is_dir() {
        return Err(Error::invalid(flag, format!("{} is a folder: name a file", path.display())));
    }
    if path.exists() && !overwrite {
        return Err(Error::invalid(flag, format!("{} already exists: pass --overwrite to replace it, or choose another file", path.display())));
    }
    crate::io::write_atomic(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&["rank", "item", "score"]);
        t.push(vec![Cell::Int(1), Cell::text("Dragon Ball Z: Bardock - The Father of Goku (Doragon bôru Z: Tatta hitori no saishuu kessen)"), Cell::Num(4.25, 3)]);
        t.push(vec![Cell::Int(10), Cell::text("Heat, \"the\" film"), Cell::Num(3.5, 3)]);
        t
    }

    #[test]
    fn a_table_is_aligned_and_cuts_long_text() {
        let s = sample().render(Format::Table);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], format!("rank  {:<w$}  score", "item", w = MAX_TEXT_WIDTH));
        assert!(lines[1].starts_with("   1  Dragon Ball Z") && lines[1].contains("…  4.250"), "{s}");
        assert!(lines[2].starts_with("  10  Heat"), "{s}");
        // Every score ends in the same column.
        assert_eq!(lines[1].chars().count(), lines[2].chars().count());
    }

    #[test]
    fn a_long_path_keeps_its_file_name() {
        let long = format!("/check/{}/photos/coffee.png", "work/main/../shared/data".repeat(3));
        let mut t = Table::new(&["image", "class"]);
        t.push(vec![Cell::path(Path::new(&long)), Cell::text("espresso")]);
        let s = t.render(Format::Table);
        let row = s.lines().nth(1).unwrap();
        assert!(row.starts_with('…') && row.contains("/photos/coffee.png  espresso"), "{s}");
        // CSV and JSON keep the whole path.
        assert!(t.render(Format::Csv).contains(&long));
        assert!(t.render(Format::Json).contains(&long));
    }

    #[test]
    fn csv_quotes_and_json_types() {
        let t = sample();
        let csv = t.render(Format::Csv);
        assert!(csv.starts_with("rank,item,score\n1,Dragon Ball Z: Bardock") && csv.contains("10,\"Heat, \"\"the\"\" film\",3.500\n"), "{csv}");
        let json = t.render(Format::Json);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert!(json.find("\"rank\"").unwrap() < json.find("\"item\"").unwrap(), "keys in column order: {json}");
        assert_eq!(Table::new(&["a"]).render(Format::Json), "[]\n");
        assert_eq!(v[1]["rank"], 10);
        assert_eq!(v[1]["score"], 3.5);
        assert!(v[0]["item"].as_str().unwrap().ends_with("kessen)"), "JSON is never cut");
    }
}
