//! "Did you mean": finding what a person typed among known names (titles, ids, column names),
//! forgiving case, punctuation, a trailing year and a moved article, and, when nothing
//! matches, the closest names to suggest in the error: [`lookup`] for values (collab's users,
//! items and titles), [`closest`] and [`did_you_mean`] for column names (every task's flags).

/// What a [`lookup`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// One value: named exactly, or the only one named loosely (see [`key`]).
    Found(usize),
    /// Several values named loosely alike, none exactly: the caller must ask for one of them.
    Ambiguous(Vec<usize>),
    /// Nothing matched; the closest values, best first (possibly none).
    Missing(Vec<usize>),
}

/// How many suggestions a [`Lookup::Missing`] carries at most.
pub const MAX_SUGGESTIONS: usize = 5;

/// Characters of a query compared for suggestions.
const MAX_QUERY: usize = 200;

/// The lowest [`similarity`] worth suggesting.
const SUGGEST_ABOVE: f64 = 0.5;

/// A suggestion's [`similarity`] must be at least this share of the best one's.
const NEAR_THE_BEST: f64 = 0.7;

/// A trailing year in parentheses, as MovieLens titles end (`Toy Story (1995)`), removed.
///
/// ```
/// use kindling_core::suggest::strip_year;
/// assert_eq!(strip_year("Toy Story (1995) "), "Toy Story");
/// assert_eq!(strip_year("1984"), "1984");
/// assert_eq!(strip_year("Heat (director's cut)"), "Heat (director's cut)");
/// ```
pub fn strip_year(s: &str) -> &str {
    let t = s.trim_end();
    if let Some(inner) = t.strip_suffix(')')
        && let Some(k) = inner.rfind('(')
    {
        let (before, year) = (inner[..k].trim_end(), &inner[k + 1..]);
        if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) && !before.is_empty() {
            return before;
        }
    }
    t
}

/// The loose form two names are compared in: lower case, a trailing year dropped, a trailing
/// article moved to the front (`Matrix, The` is `the matrix`), every run of punctuation and
/// space one space.
///
/// ```
/// use kindling_core::suggest::key;
/// assert_eq!(key("Toy Story (1995)"), key("toy story"));
/// assert_eq!(key("Matrix, The"), "the matrix");
/// assert_eq!(key("user_id:token"), "user id token");
/// ```
pub fn key(s: &str) -> String {
    let base = strip_year(s);
    let mut words: Vec<String> = base
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    // "Philadelphia Story, The": MovieLens moves the article to the end.
    if let Some((_, tail)) = base.rsplit_once(',')
        && words.len() > 1
        && matches!(tail.trim().to_lowercase().as_str(), "the" | "a" | "an")
    {
        let article = words.pop().expect("more than one word");
        words.insert(0, article);
    }
    words.join(" ")
}

/// Optimal string alignment distance (Levenshtein with adjacent transpositions) in characters.
///
/// ```
/// use kindling_core::suggest::edit_distance;
/// assert_eq!(edit_distance("story", "stroy"), 1);
/// assert_eq!(edit_distance("kitten", "sitting"), 3);
/// ```
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=m {
        d[0][j] = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// Typos a word of `len` characters may carry and still count as the same word.
fn tolerance(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// How alike two [`key`]s are, from 0 to 1: the best of their edit similarity, their word
/// overlap (words equal up to a typo or two), and how much of the candidate the query is when
/// it is part of it (`toy story` in `toy story 2`).
pub fn similarity<'a>(query: &'a str, candidate: &'a str) -> f64 {
    if query == candidate {
        return 1.0;
    }
    let (lq, lc) = (query.chars().count(), candidate.chars().count());
    if lq == 0 || lc == 0 {
        return 0.0;
    }
    let edit = 1.0 - edit_distance(query, candidate) as f64 / lq.max(lc) as f64;
    // Articles carry no meaning ("matrix" is "the matrix"), unless a name is nothing else.
    let words = |s: &'a str| -> Vec<&'a str> {
        let all: Vec<&str> = s.split(' ').collect();
        let content: Vec<&str> = all.iter().copied().filter(|w| !matches!(*w, "the" | "a" | "an")).collect();
        if content.is_empty() { all } else { content }
    };
    let (qw, cw) = (words(query), words(candidate));
    let matched = qw.iter().filter(|q| cw.iter().any(|c| edit_distance(q, c) <= tolerance(q.chars().count().min(c.chars().count())))).count();
    let words = matched as f64 / (qw.len() + cw.len() - matched) as f64;
    let part = if lq >= 3 && candidate.contains(query) { 0.5 + 0.5 * lq as f64 / lc as f64 } else { 0.0 };
    edit.max(words).max(part)
}

/// Finds `query` among `candidates` (value, name) pairs — a value may have several names, an id
/// and a title, say. An exact name wins; then names equal to the query in [`key`] form (one value
/// is found, several are ambiguous); otherwise the values of the most [`similar`](similarity)
/// names, best first, at most [`MAX_SUGGESTIONS`].
///
/// ```
/// use kindling_core::suggest::{Lookup, lookup};
/// let titles = [(1, "Toy Story (1995)"), (2, "Toy Story 2 (1999)"), (3, "Heat (1995)")];
/// assert_eq!(lookup("toy story", &titles), Lookup::Found(1));
/// assert_eq!(lookup("Toy Stroy", &titles), Lookup::Missing(vec![1, 2]));
/// ```
pub fn lookup(query: &str, candidates: &[(usize, &str)]) -> Lookup {
    if let Some(&(v, _)) = candidates.iter().find(|(_, name)| *name == query) {
        return Lookup::Found(v);
    }
    let q = key(query);
    let mut loose: Vec<usize> = candidates.iter().filter(|(_, name)| key(name) == q).map(|&(v, _)| v).collect();
    loose.sort_unstable();
    loose.dedup();
    match loose.len() {
        1 => return Lookup::Found(loose[0]),
        n if n > 1 => return Lookup::Ambiguous(loose),
        _ => {}
    }
    // Beyond this a query is no name anyone typed; comparing it would only take time.
    let q: String = q.chars().take(MAX_QUERY).collect();
    let mut scored: Vec<(f64, usize, &str)> =
        candidates.iter().map(|&(v, name)| (similarity(&q, &key(name)), v, name)).filter(|(s, _, _)| *s > SUGGEST_ABOVE).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(b.2)));
    // Names far behind the best one are noise beside it.
    let floor = scored.first().map_or(0.0, |s| s.0 * NEAR_THE_BEST);
    let mut best = Vec::new();
    for (_, v, _) in scored.into_iter().take_while(|s| s.0 >= floor) {
        if !best.contains(&v) {
            best.push(v);
        }
        if best.len() == MAX_SUGGESTIONS {
            break;
        }
    }
    Lookup::Missing(best)
}

/// `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`.
///
/// ```
/// use kindling_core::suggest::quoted_list;
/// assert_eq!(quoted_list(&["x", "y", "z"]), "'x', 'y' or 'z'");
/// ```
pub fn quoted_list<S: AsRef<str>>(names: &[S]) -> String {
    or_list(&names.iter().map(|s| format!("'{}'", s.as_ref())).collect::<Vec<_>>())
}

/// `a`, `a or b`, `a, b or c`.
///
/// ```
/// assert_eq!(kindling_core::suggest::or_list(&["x", "y"]), "x or y");
/// ```
pub fn or_list<S: AsRef<str>>(names: &[S]) -> String {
    let q: Vec<&str> = names.iter().map(|s| s.as_ref()).collect();
    match q.len() {
        0 => String::new(),
        1 => q[0].to_string(),
        n => format!("{} or {}", q[..n - 1].join(", "), q[n - 1]),
    }
}

/// Thousands separated by commas: `4,295`.
///
/// ```
/// assert_eq!(kindling_core::suggest::thousands(1234567), "1,234,567");
/// ```
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (k, c) in s.chars().enumerate() {
        if k > 0 && (s.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The candidates closest to `name`, best first, at most three:
///
/// 1. those equal to it ignoring case (and, failing that, ignoring case, `-`, `_`, `.` and
///    spaces) — when there are any, only those;
/// 2. otherwise those within a small edit distance (ignoring case: one edit for names of up
///    to four characters, two up to eight, three beyond), nearest first, then those that
///    contain `name` or are contained in it (at least three characters), in their order.
///
/// ```
/// use kindling_core::suggest::closest;
/// let cols = ["age", "workclass", "education", "education-num", "Salary"].map(String::from);
/// assert_eq!(closest("AGE", &cols), vec!["age"]);
/// assert_eq!(closest("salry", &cols), vec!["Salary"]);
/// assert_eq!(closest("educaton", &cols), vec!["education"]);
/// assert_eq!(closest("educ", &cols), vec!["education", "education-num"]);
/// assert_eq!(closest("education_num", &cols), vec!["education-num"]);
/// assert!(closest("colour", &cols).is_empty());
/// ```
pub fn closest<'a>(name: &str, candidates: &'a [String]) -> Vec<&'a str> {
    let lower = name.to_lowercase();
    let same_case: Vec<&str> = candidates.iter().filter(|c| c.to_lowercase() == lower).map(String::as_str).collect();
    if !same_case.is_empty() {
        return same_case;
    }
    let squash = |s: &str| s.to_lowercase().chars().filter(|c| !matches!(c, '-' | '_' | '.' | ' ')).collect::<String>();
    let squashed = squash(name);
    let same_letters: Vec<&str> = candidates.iter().filter(|c| squash(c) == squashed).map(String::as_str).collect();
    if !same_letters.is_empty() {
        return same_letters;
    }
    let n = lower.chars().count();
    let limit = match n {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let mut near: Vec<(usize, usize, &str)> = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let d = edit_distance(&lower, &c.to_lowercase());
            (d <= limit).then_some((d, i, c.as_str()))
        })
        .collect();
    near.sort();
    let mut out: Vec<&str> = near.into_iter().map(|(_, _, c)| c).collect();
    if n >= 3 {
        for c in candidates {
            let cl = c.to_lowercase();
            if (cl.contains(&lower) || (cl.chars().count() >= 3 && lower.contains(&cl))) && !out.contains(&c.as_str()) {
                out.push(c);
            }
        }
    }
    out.truncate(3);
    out
}

/// `did you mean 'a'?` (or `'a' or 'b'`, `'a', 'b' or 'c'`) for [`closest`]'s answer; `None`
/// when nothing is close.
///
/// ```
/// use kindling_core::suggest::did_you_mean;
/// let cols = ["age", "workclass"].map(String::from);
/// assert_eq!(did_you_mean("Age", &cols).as_deref(), Some("did you mean 'age'?"));
/// assert_eq!(did_you_mean("height", &cols), None);
/// ```
pub fn did_you_mean(name: &str, candidates: &[String]) -> Option<String> {
    let found = closest(name, candidates);
    let quoted: Vec<String> = found.iter().map(|c| format!("'{c}'")).collect();
    match quoted.as_slice() {
        [] => None,
        [one] => Some(format!("did you mean {one}?")),
        [init @ .., last] => Some(format!("did you mean {} or {last}?", init.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_loose_then_suggestions() {
        let names = ["Toy Story", "Toy Story 2", "Toy Story 3", "Philadelphia Story, The", "Hamlet (1990)", "Hamlet (1996)", "Heat"];
        let c: Vec<(usize, &str)> = names.iter().enumerate().map(|(k, n)| (k, *n)).collect();
        assert_eq!(lookup("Toy Story", &c), Lookup::Found(0));
        assert_eq!(lookup("toy story", &c), Lookup::Found(0));
        assert_eq!(lookup("TOY  STORY (1995)", &c), Lookup::Found(0));
        assert_eq!(lookup("the philadelphia story", &c), Lookup::Found(3));
        assert_eq!(lookup("hamlet", &c), Lookup::Ambiguous(vec![4, 5]));
        match lookup("Toy Stroy", &c) {
            Lookup::Missing(s) => assert_eq!(s[..3], [0, 1, 2]),
            other => panic!("{other:?}"),
        }
        assert_eq!(lookup("zzzzzzzz", &c), Lookup::Missing(vec![]));
        assert_eq!(lookup("philadelfia story", &c), Lookup::Missing(vec![3]), "articles do not count against a name");
    }

    #[test]
    fn a_year_needs_four_digits_and_a_title_before_it() {
        assert_eq!(strip_year("(1995)"), "(1995)");
        assert_eq!(strip_year("Se7en (19955)"), "Se7en (19955)");
        assert_eq!(key("Singin' in the Rain"), "singin in the rain");
    }

    #[test]
    fn a_case_insensitive_match_wins_over_near_ones() {
        let cols = ["Age", "age2", "page"].map(String::from);
        assert_eq!(closest("age", &cols), vec!["Age"]);
        assert_eq!(did_you_mean("ag", &cols).as_deref(), Some("did you mean 'Age'?"));
        let many = ["workclass", "workclas1", "workclas2", "workclas3"].map(String::from);
        assert_eq!(closest("workclas", &many).len(), 3, "at most three suggestions");
        assert_eq!(did_you_mean("workclas", &many).as_deref(), Some("did you mean 'workclass', 'workclas1' or 'workclas2'?"));
    }
}
