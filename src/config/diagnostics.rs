//! Config errors an admin can act on: every error found in one pass, each with the key path, the
//! line and column in the file, and a hint.
//!
//! serde stops at the first error, so [`parse_raw`] re-parses with each offending entry blanked out
//! (replaced by spaces, so byte offsets and therefore line numbers stay true) until the file
//! deserialises. Validation errors carry a key path, resolved to a position by [`SourceMap`].

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use super::raw::RawConfig;

/// One problem in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Dotted key path, arrays 1-based as an admin counts them: `partner[2].monthly_quota`.
    pub path: String,
    /// 1-based line in the file; 0 when the problem has no place (a key that is missing entirely
    /// from a file without that table).
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}:{}: ", self.line, self.column)?;
        }
        write!(f, "{}", self.message)?;
        if !self.path.is_empty() {
            write!(f, " (at `{}`)", self.path)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

/// All the problems of one config file, in file order.
#[derive(Debug, Clone)]
pub struct ConfigErrors {
    pub file: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        writeln!(
            f,
            "{}: {n} error{} in the config",
            self.file,
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.diagnostics {
            writeln!(f, "  {}: {d}", self.file)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Byte offset → (line, column), both 1-based; columns count characters, as editors do.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Where each key of the file stands, by key path.
#[derive(Debug, Default)]
pub struct SourceMap {
    positions: HashMap<String, (usize, usize)>,
}

impl SourceMap {
    pub fn new(text: &str) -> Self {
        let mut map = SourceMap::default();
        if let Ok(doc) = toml_edit::ImDocument::parse(text) {
            map.walk_table(text, "", doc.as_table());
        }
        map
    }

    /// The position of `path`, or of its nearest ancestor that is in the file.
    pub fn locate(&self, path: &str) -> (usize, usize) {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return (0, 0),
            }
        }
    }

    fn record(&mut self, text: &str, path: String, span: Option<Range<usize>>) {
        if let Some(span) = span {
            self.positions
                .entry(path)
                .or_insert_with(|| line_col(text, span.start));
        }
    }

    fn walk_table(&mut self, text: &str, prefix: &str, table: &toml_edit::Table) {
        for (key, item) in table.iter() {
            let path = join(prefix, key);
            let key_span = table.key(key).and_then(|k| k.span());
            self.record(text, path.clone(), key_span.or_else(|| item.span()));
            self.walk_item(text, &path, item);
        }
    }

    fn walk_item(&mut self, text: &str, path: &str, item: &toml_edit::Item) {
        match item {
            toml_edit::Item::Table(t) => {
                self.record(text, path.to_string(), t.span());
                self.walk_table(text, path, t);
            }
            toml_edit::Item::ArrayOfTables(array) => {
                for (i, t) in array.iter().enumerate() {
                    let p = format!("{path}[{}]", i + 1);
                    self.record(text, p.clone(), t.span());
                    self.walk_table(text, &p, t);
                }
            }
            toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => {
                for (key, value) in t.iter() {
                    let p = join(path, key);
                    self.record(text, p, value.span());
                }
            }
            toml_edit::Item::Value(toml_edit::Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    let p = format!("{path}[{}]", i + 1);
                    self.record(text, p.clone(), v.span());
                    if let toml_edit::Value::InlineTable(t) = v {
                        for (key, value) in t.iter() {
                            self.record(text, join(&p, key), value.span());
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Deserialise the file, collecting every serde error instead of stopping at the first.
///
/// Returns `None` for the config when the file is not even valid TOML (then the one syntax error
/// is all there is to say).
pub fn parse_raw(text: &str) -> (Option<RawConfig>, Vec<Diagnostic>) {
    let mut work = text.to_string();
    let mut diagnostics = Vec::new();
    // Each round blanks at least one entry, so the loop ends; the bound is a guard against a bug.
    for _ in 0..200 {
        let error = match toml::from_str::<RawConfig>(&work) {
            Ok(raw) => return (Some(raw), diagnostics),
            Err(e) => e,
        };
        let span = error.span();
        let message = error.message().trim().to_string();
        let offset = span.as_ref().map_or(0, |s| s.start);
        let (line, column) = if span.is_some() {
            line_col(text, offset)
        } else {
            (0, 0)
        };
        let Ok(doc) = toml_edit::ImDocument::parse(work.as_str()) else {
            diagnostics.push(Diagnostic {
                path: String::new(),
                line,
                column,
                message: format!("not valid TOML: {message}"),
                hint: Some("check quotes, brackets and `=` on this line".into()),
            });
            return (None, diagnostics);
        };
        let entry = span.and_then(|s| find_entry(&work, doc.as_table(), "", s.start));
        let (path, blank) = match entry {
            Some((path, range)) => (path, range),
            None => {
                diagnostics.push(Diagnostic {
                    path: String::new(),
                    line,
                    column,
                    message,
                    hint: None,
                });
                return (None, diagnostics);
            }
        };
        diagnostics.push(describe(&message, path, line, column));
        blank_out(&mut work, blank);
    }
    (None, diagnostics)
}

/// Turn a serde message into an admin's sentence with a hint.
fn describe(message: &str, path: String, line: usize, column: usize) -> Diagnostic {
    let table = path
        .rsplit_once('.')
        .map(|(t, _)| strip_index(t))
        .unwrap_or_default();
    let where_ = if table.is_empty() {
        "at the top level".to_string()
    } else if path.contains('[') {
        format!("in [[{table}]]")
    } else {
        format!("in [{table}]")
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates = backticked(expected);
        let hint = did_you_mean(key, &candidates)
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| {
                (!candidates.is_empty()).then(|| format!("known keys: {}", candidates.join(", ")))
            });
        return Diagnostic {
            path,
            line,
            column,
            message: format!("unknown key `{key}` {where_}"),
            hint,
        };
    }
    Diagnostic {
        path,
        line,
        column,
        message: plain_words(message),
        hint: Some("see config/doorstroom.example.toml for the expected form".into()),
    }
}

/// serde's message in an admin's words: no Rust type names (`expected u32` → `expected a whole
/// number (0 or more)`, `struct RawPartner` → `a table`).
pub fn plain_words(message: &str) -> String {
    use std::sync::OnceLock;
    static RULES: OnceLock<Vec<(regex::Regex, &'static str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            (r"\bu(8|16|32|64|128|size)\b", "a whole number (0 or more)"),
            (r"\bi(8|16|32|64|128|size)\b", "a whole number"),
            (r"\bf(32|64)\b", "a number"),
            (r"\ba sequence\b", "a list [...]"),
            (r"\b(struct|enum) Raw\w*|\ba map\b", "a table"),
            (r"\binvalid type: ", "wrong type: "),
            (r"\binvalid value: ", "wrong value: "),
            (r"\bstring (\x22)", "text $1"),
        ]
        .into_iter()
        .map(|(re, with)| (regex::Regex::new(re).expect("a valid pattern"), with))
        .collect()
    });
    rules.iter().fold(message.to_string(), |text, (re, with)| {
        re.replace_all(&text, *with).into_owned()
    })
}

fn strip_index(table: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in table.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The known key closest to a typo, also matching one word of a compound key
/// (`quotum` → `monthly_quota`).
pub fn did_you_mean(typo: &str, candidates: &[String]) -> Option<String> {
    let typo = typo.to_lowercase();
    candidates
        .iter()
        .filter_map(|c| {
            let whole = strsim::levenshtein(&typo, c);
            let part = c
                .split('_')
                .map(|w| strsim::levenshtein(&typo, w))
                .min()
                .unwrap_or(usize::MAX);
            let best = whole.min(part);
            let limit = (typo.chars().count() / 3).max(2);
            (best <= limit).then_some((best, c))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

/// The innermost key/value entry whose text contains `offset`: its path and the byte range to
/// blank so that the file parses without it.
fn find_entry(
    text: &str,
    table: &toml_edit::Table,
    prefix: &str,
    offset: usize,
) -> Option<(String, Range<usize>)> {
    for (key, item) in table.iter() {
        let path = join(prefix, key);
        let key_span = table.key(key).and_then(|k| k.span());
        match item {
            toml_edit::Item::Table(t) if !t.is_implicit() || t.span().is_some() => {
                if let Some(found) = find_entry(text, t, &path, offset) {
                    return Some(found);
                }
                if let Some(header) = t.span() {
                    let end = section_end(text, header.end);
                    if (header.start..end).contains(&offset) {
                        return Some((path, header.start..end));
                    }
                }
            }
            toml_edit::Item::ArrayOfTables(array) => {
                for (i, t) in array.iter().enumerate() {
                    let p = format!("{path}[{}]", i + 1);
                    if let Some(found) = find_entry(text, t, &p, offset) {
                        return Some(found);
                    }
                    if let Some(header) = t.span() {
                        let end = section_end(text, header.end);
                        if (header.start..end).contains(&offset) {
                            return Some((p, header.start..end));
                        }
                    }
                }
            }
            _ => {
                let start = key_span.as_ref().map(|s| s.start);
                let end = item.span().map(|s| s.end);
                if let (Some(start), Some(end)) = (start, end) {
                    if (start..end.max(start + 1)).contains(&offset) {
                        return Some((path, start..end));
                    }
                }
            }
        }
    }
    None
}

/// End of a `[table]` section: the start of the next line that opens a table, or the end.
fn section_end(text: &str, from: usize) -> usize {
    let mut pos = from;
    for line in text[from..].split_inclusive('\n') {
        if pos > from && line.trim_start().starts_with('[') {
            return pos;
        }
        pos += line.len();
    }
    text.len()
}

fn blank_out(text: &mut String, range: Range<usize>) {
    let blanked: String = text[range.clone()]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    // Same byte length is needed for offsets to stay true: pad multi-byte characters.
    let pad = range.len() - blanked.len();
    text.replace_range(range, &(blanked + &" ".repeat(pad)));
}

#[cfg(test)]
mod tests {

    #[test]
    fn serde_messages_name_no_rust_types() {
        for (serde, plain) in [
            (
                "invalid type: string \"two\", expected u32",
                "wrong type: text \"two\", expected a whole number (0 or more)",
            ),
            (
                "invalid value: integer `-3`, expected usize",
                "wrong value: integer `-3`, expected a whole number (0 or more)",
            ),
            (
                "invalid type: integer `3`, expected a sequence",
                "wrong type: integer `3`, expected a list [...]",
            ),
            (
                "invalid type: string \"x\", expected struct RawPartner",
                "wrong type: text \"x\", expected a table",
            ),
            ("expected a boolean", "expected a boolean"),
        ] {
            assert_eq!(plain_words(serde), plain, "{serde}");
        }
    }

    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 12), (2, 6));
    }

    #[test]
    fn typo_in_one_word_of_a_compound_key_is_suggested() {
        let known = vec!["name".to_string(), "monthly_quota".to_string()];
        assert_eq!(
            did_you_mean("quotum", &known).as_deref(),
            Some("monthly_quota")
        );
        assert_eq!(did_you_mean("naem", &known).as_deref(), Some("name"));
        assert_eq!(did_you_mean("zzzzzzzz", &known), None);
    }
}
