//! Dependencies point one way: every `crate::…`, `super::…` and `self::…` path in `src/**/*.rs`
//! is checked against the "may use" column of the `# Layout` table in `src/lib.rs` (read from
//! there, so the map and the check cannot drift apart), and the modules (one per file) must not
//! import each other in a circle.
//!
//! What counts as an edge: a path in a `use` declaration or in code, resolved to the deepest
//! module (file) it names. Not counted: comments and string literals; `#[cfg(test)]` items (a
//! unit test may reach for whatever helps it); a module naming its own submodules (it declares
//! them and re-exports from them). A re-export is an edge like any other: a higher module may
//! re-export from a lower one, never the other way round. The crate roots (`lib.rs`, `main.rs`)
//! only declare the modules and are not checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One reference from a module to another: where it is written and what it says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: String,
    to: String,
    file: String,
    line: usize,
    path: String,
}

/// The "may use" column: top-level module → the top-level modules it may name.
type Table = BTreeMap<String, BTreeSet<String>>;

/// Read the `# Layout` table of `lib.rs`: the first column names the module(s) of a row, the
/// column headed "may use" what they may use (`nothing` for none).
fn parse_table(lib_rs: &str) -> Result<Table, String> {
    let doc: Vec<&str> = lib_rs
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    let start = doc
        .iter()
        .position(|l| *l == "# Layout")
        .ok_or("src/lib.rs has no `# Layout` section")?;
    let rows: Vec<Vec<String>> = doc[start..]
        .iter()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| cells(l))
        .collect();
    let header = rows.first().ok_or("the `# Layout` section has no table")?;
    let may_use = header
        .iter()
        .position(|c| c.eq_ignore_ascii_case("may use"))
        .ok_or("the `# Layout` table has no \"may use\" column")?;
    let mut table = Table::new();
    for row in rows.iter().skip(2) {
        let allowed: BTreeSet<String> = match row.get(may_use).map(String::as_str) {
            None => return Err(format!("a `# Layout` row has no \"may use\" cell: {row:?}")),
            Some("nothing") => BTreeSet::new(),
            Some(cell) => names(cell).into_iter().collect(),
        };
        let modules = names(&row[0]);
        if modules.is_empty() {
            return Err(format!("a `# Layout` row names no module: {row:?}"));
        }
        for module in modules {
            if table.insert(module.clone(), allowed.clone()).is_some() {
                return Err(format!("`{module}` has two rows in the `# Layout` table"));
            }
        }
    }
    Ok(table)
}

/// The cells of one markdown table row (`\|` is a pipe inside a cell).
fn cells(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                out.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
    }
    if out.last().is_some_and(|c| c.trim().is_empty()) {
        out.pop();
    }
    out.into_iter().map(|c| c.trim().to_string()).collect()
}

/// The module names written as code (`` `store` `` or [`` `store` ``]) in a cell.
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(str::to_string)
        .collect()
}

/// The module path of a source file relative to `src/` (`case/apply.rs` → `case::apply`,
/// `case/mod.rs` → `case`, `lib.rs` → the root, `""`).
fn module_of(relative: &str) -> String {
    let stem = relative.trim_end_matches(".rs");
    let mut parts: Vec<&str> = stem.split('/').collect();
    if parts.last() == Some(&"mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        return String::new();
    }
    parts.join("::")
}

/// The source with comments, string and char literals blanked out and every `#[cfg(test)]` item
/// removed; line breaks are kept, so that offsets still give line numbers.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |e| i + e);
            blank(&mut out, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A raw string r"…", r#"…"#: ends at the quote followed by as many hashes.
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            let open = i + 1 + hashes;
            if b.get(open) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let end = b[open + 1..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |e| open + 1 + e + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{1F600}', 'é'); a lifetime ('a) is left alone.
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map(|e| i + 2 + e + 1)
            } else {
                let len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 2 + len)
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end);
                    i = end;
                }
                None => i += 1,
            }
        } else {
            i += src[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    let mut code = String::from_utf8(out).expect("blanking keeps UTF-8");
    // Drop each `#[cfg(test)]` item: up to its `;` or through its braces.
    while let Some(at) = code.find("#[cfg(test)]") {
        let rest = &code.as_bytes()[at..];
        let semi = rest.iter().position(|&c| c == b';');
        let brace = rest.iter().position(|&c| c == b'{');
        let end = match (brace, semi) {
            (Some(open), semi) if semi.is_none_or(|s| open < s) => {
                let mut depth = 0;
                let mut end = rest.len();
                for (k, &c) in rest.iter().enumerate().skip(open) {
                    depth += i32::from(c == b'{') - i32::from(c == b'}');
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                at + end
            }
            (_, Some(s)) => at + s + 1,
            _ => code.len(),
        };
        let blanked: String = code[at..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        code.replace_range(at..end, &blanked);
    }
    code
}

/// `use` trees flattened: `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn flatten_use(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        // `a::b as c` names `a::b`.
        let leaf = tree.split(" as ").next().unwrap_or(tree);
        return vec![leaf.chars().filter(|c| !c.is_whitespace()).collect()];
    };
    let prefix: String = tree[..open]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut last) = (0, 0);
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[last..k]);
                last = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[last..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(flatten_use)
        .map(|p| match p.as_str() {
            "self" => prefix.trim_end_matches("::").to_string(),
            _ => format!("{prefix}{p}"),
        })
        .collect()
}

/// The paths a file names, each with its byte offset: `use` trees (flattened) and
/// `crate::`/`super::`/`self::` paths in code.
fn paths(code: &str) -> Vec<(usize, String)> {
    let b = code.as_bytes();
    let word_start = |k: usize| {
        k == 0 || !(b[k - 1].is_ascii_alphanumeric() || b[k - 1] == b'_' || b[k - 1] == b'$')
    };
    let mut found = Vec::new();
    let mut uses = Vec::new();
    let mut k = 0;
    while let Some(at) = code[k..].find("use ").map(|a| a + k) {
        k = at + 4;
        if !word_start(at) {
            continue;
        }
        let Some(end) = code[at..].find(';').map(|e| at + e) else {
            break;
        };
        for p in flatten_use(&code[at + 4..end]) {
            found.push((at, p));
        }
        uses.push(at..end);
        k = end;
    }
    for start in ["crate::", "super::", "self::"] {
        let mut k = 0;
        while let Some(at) = code[k..].find(start).map(|a| a + k) {
            k = at + start.len();
            if !word_start(at) || uses.iter().any(|u| u.contains(&at)) {
                continue;
            }
            let len = code[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(code.len() - at);
            found.push((at, code[at..at + len].trim_end_matches(':').to_string()));
        }
    }
    found
}

/// Resolve a path written in module `from` to the deepest known module it names, or `None` for
/// a path outside the crate (`std::…`, `chrono::…`).
fn resolve(
    from: &str,
    path: &str,
    modules: &BTreeSet<String>,
    macros: &BTreeMap<String, String>,
) -> Option<String> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<&str> = if from.is_empty() {
        Vec::new()
    } else {
        from.split("::").collect()
    };
    match segments.first().copied() {
        Some("crate") => {
            base.clear();
            segments.remove(0);
        }
        Some("self") => {
            segments.remove(0);
        }
        Some("super") => {
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
        }
        // 2018 paths: `use apply::Input` in `case` names its submodule `case::apply`.
        Some(first) if modules.contains(&join(&base, &[first])) => {}
        _ => return None,
    }
    let mut deepest = join(&base, &[]);
    for n in 1..=segments.len() {
        let candidate = join(&base, &segments[..n]);
        if modules.contains(&candidate) {
            deepest = candidate;
        }
    }
    // `crate::outln!`: a `#[macro_export]` macro, named at the root, lives in its file.
    if deepest.is_empty() {
        if let Some(home) = segments.first().and_then(|m| macros.get(*m)) {
            return Some(home.clone());
        }
    }
    Some(deepest)
}

fn join(base: &[&str], more: &[&str]) -> String {
    base.iter()
        .chain(more)
        .copied()
        .collect::<Vec<_>>()
        .join("::")
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// Every edge between two modules in the given sources (`path relative to src/` → text).
fn edges(sources: &BTreeMap<String, String>) -> Vec<Edge> {
    let modules: BTreeSet<String> = sources.keys().map(|f| module_of(f)).collect();
    let mut macros = BTreeMap::new();
    for (file, text) in sources {
        for (k, _) in text.match_indices("#[macro_export]") {
            if let Some(name) = text[k..].split("macro_rules!").nth(1).and_then(|r| {
                r.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .find(|s| !s.is_empty())
            }) {
                macros.insert(name.to_string(), module_of(file));
            }
        }
    }
    let mut out = BTreeSet::new();
    for (file, text) in sources {
        let from = module_of(file);
        let code = code_only(text);
        for (at, path) in paths(&code) {
            let Some(to) = resolve(&from, &path, &modules, &macros) else {
                continue;
            };
            let own_submodule = from.is_empty() || to.starts_with(&format!("{from}::"));
            if to == from || own_submodule {
                continue;
            }
            out.insert(Edge {
                from: from.clone(),
                to,
                file: format!("src/{file}"),
                line: code[..at].matches('\n').count() + 1,
                path,
            });
        }
    }
    out.into_iter().collect()
}

/// Every edge between top-level modules that its row in the table does not allow, and every
/// top-level module the table leaves out.
fn layer_violations(
    table: &Table,
    edges: &[Edge],
    sources: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let tops: BTreeSet<String> = sources
        .keys()
        .map(|f| module_of(f))
        .filter(|m| !m.is_empty())
        .map(|m| top(&m).to_string())
        .collect();
    for module in &tops {
        if !table.contains_key(module) {
            problems.push(format!(
                "src/lib.rs: module `{module}` has no row in the `# Layout` table (add it with what it may use)"
            ));
        }
    }
    for (module, allowed) in table {
        for name in allowed {
            if !tops.contains(name) {
                problems.push(format!(
                    "src/lib.rs: the `# Layout` row of `{module}` may use `{name}`, which is no module"
                ));
            }
        }
    }
    for e in edges {
        let (from, to) = (top(&e.from), top(&e.to));
        if from == to {
            continue;
        }
        let allowed = table.get(from);
        if to.is_empty() || allowed.is_some_and(|a| !a.contains(to)) {
            let may = allowed
                .map(|a| a.iter().cloned().collect::<Vec<_>>().join(", "))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "nothing".into());
            let target = if to.is_empty() {
                "the crate root".to_string()
            } else {
                format!("`{to}`")
            };
            problems.push(format!(
                "{}:{}: `{}` uses {target} (`{}`), an edge that points up or sideways: src/lib.rs's `# Layout` table says `{from}` may use {may}",
                e.file, e.line, e.from, e.path
            ));
        }
    }
    problems
}

/// Strongly connected components of more than one node (Tarjan), smallest node first.
fn cycles(nodes: &BTreeSet<String>, next: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        next: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        found: Vec<Vec<String>>,
    }
    fn visit(s: &mut State<'_>, v: &str) {
        let i = s.index.len();
        s.index.insert(v.to_string(), i);
        s.low.insert(v.to_string(), i);
        s.stack.push(v.to_string());
        s.on_stack.insert(v.to_string());
        for w in s.next.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = w == v;
                component.push(w);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        next,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found.sort();
    s.found
}

/// Every import cycle between modules (files), each with the references that close it.
fn cycle_violations(edges: &[Edge]) -> Vec<String> {
    let mut next: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut nodes = BTreeSet::new();
    for e in edges {
        next.entry(e.from.clone()).or_default().insert(e.to.clone());
        nodes.insert(e.from.clone());
        nodes.insert(e.to.clone());
    }
    cycles(&nodes, &next)
        .into_iter()
        .map(|component| {
            let members: BTreeSet<&String> = component.iter().collect();
            let lines: Vec<String> = edges
                .iter()
                .filter(|e| members.contains(&e.from) && members.contains(&e.to))
                .map(|e| format!("  {}:{}: `{}` -> `{}` (`{}`)", e.file, e.line, e.from, e.to, e.path))
                .collect();
            format!(
                "import cycle between {}; move what they share down into one of them or below both:\n{}",
                component.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                lines.join("\n")
            )
        })
        .collect()
}

/// The may-use relation itself must not allow a cycle between top-level modules.
fn table_cycles(table: &Table) -> Vec<String> {
    let nodes: BTreeSet<String> = table.keys().cloned().collect();
    cycles(&nodes, table)
        .into_iter()
        .map(|c| {
            format!(
                "src/lib.rs: the `# Layout` table lets {} use each other in a circle",
                c.join(", ")
            )
        })
        .collect()
}

/// Everything wrong with these sources against this `lib.rs`.
fn check(lib_rs: &str, sources: &BTreeMap<String, String>) -> Vec<String> {
    let table = match parse_table(lib_rs) {
        Ok(t) => t,
        Err(e) => return vec![format!("src/lib.rs: {e}")],
    };
    let edges = edges(sources);
    let mut problems = table_cycles(&table);
    problems.extend(layer_violations(&table, &edges, sources));
    problems.extend(cycle_violations(&edges));
    problems
}

fn read_sources(dir: &Path, src: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            read_sources(&path, src, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(
                relative,
                std::fs::read_to_string(&path).expect("read source"),
            );
        }
    }
}

fn crate_sources() -> (String, BTreeMap<String, String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    read_sources(&src, &src, &mut sources);
    let lib = sources.get("lib.rs").cloned().expect("src/lib.rs");
    (lib, sources)
}

#[test]
fn every_import_points_down_the_layout_table_and_no_modules_import_each_other_in_a_circle() {
    let (lib, sources) = crate_sources();
    assert!(sources.len() > 50, "read the sources: {}", sources.len());
    let problems = check(&lib, &sources);
    assert!(
        problems.is_empty(),
        "{} dependency problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_layout_table_has_a_may_use_row_for_config_and_the_commands() {
    let (lib, _) = crate_sources();
    let table = parse_table(&lib).unwrap();
    assert_eq!(table["config"], BTreeSet::new());
    assert!(table["commands"].contains("store"));
    assert!(!table["commands"].contains("daemon"));
    assert!(table["cli"].contains("daemon"));
}

#[test]
fn an_upward_import_is_reported_with_its_file_line_and_edge() {
    let (lib, mut sources) = crate_sources();
    let config = sources.get_mut("config/mod.rs").unwrap();
    *config = format!("use crate::store::Store;\n{config}");
    let problems = check(&lib, &sources);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with(
            "src/config/mod.rs:1: `config` uses `store` (`crate::store::Store`), an edge that points up"
        ) && problems[0].ends_with("`config` may use nothing"),
        "{}",
        problems[0]
    );
    // config → store closes a circle with everything that uses config below store.
    assert!(
        problems[1].starts_with("import cycle between "),
        "{}",
        problems[1]
    );
    assert!(
        problems[1].contains("src/config/mod.rs:1: `config` -> `store`"),
        "{}",
        problems[1]
    );
}

#[test]
fn an_inline_path_into_a_sibling_that_imports_back_is_a_cycle() {
    let (lib, mut sources) = crate_sources();
    let plan = sources.get_mut("case/plan.rs").unwrap();
    plan.push_str("\nfn sneaky() { let _ = super::apply::today; }\n");
    let line = plan.lines().count();
    let problems = check(&lib, &sources);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("import cycle between `case::apply`, `case::plan`"),
        "{}",
        problems[0]
    );
    assert!(
        problems[0].contains(&format!(
            "src/case/plan.rs:{line}: `case::plan` -> `case::apply` (`super::apply::today`)"
        )),
        "{}",
        problems[0]
    );
}

#[test]
fn comments_strings_and_unit_tests_are_not_imports() {
    let text = r##"
//! see [`crate::daemon`]
use std::fmt; // crate::cli
const A: &str = "crate::jobs::x";
const B: &str = r#"crate::jobs::y"#;
fn f<'a>(c: char) -> bool { c == '"' || c == '\'' }
#[cfg(test)]
mod tests {
    use crate::daemon::run;
}
fn g() { crate::calendar::dutch_date(); }
"##;
    let sources = BTreeMap::from([
        ("understand/x.rs".to_string(), text.to_string()),
        ("calendar/mod.rs".to_string(), String::new()),
        ("daemon.rs".to_string(), String::new()),
        ("jobs/mod.rs".to_string(), String::new()),
        ("cli.rs".to_string(), String::new()),
    ]);
    let found: Vec<(String, usize)> = edges(&sources)
        .into_iter()
        .map(|e| (e.to, e.line))
        .collect();
    assert_eq!(found, vec![("calendar".to_string(), 11)]);
}

#[test]
fn use_trees_are_flattened_and_relative_paths_resolved() {
    assert_eq!(
        flatten_use("crate::case::{model::{Case, Status}, self, Role}"),
        vec![
            "crate::case::model::Case",
            "crate::case::model::Status",
            "crate::case",
            "crate::case::Role"
        ]
    );
    let modules: BTreeSet<String> = ["case", "case::apply", "case::model", "config"]
        .map(String::from)
        .into();
    let none = BTreeMap::new();
    let r = |from: &str, path: &str| resolve(from, path, &modules, &none);
    assert_eq!(
        r("case::apply", "super::model::Case").as_deref(),
        Some("case::model")
    );
    assert_eq!(r("case", "apply::Input").as_deref(), Some("case::apply"));
    assert_eq!(
        r("case::apply", "crate::config::Role").as_deref(),
        Some("config")
    );
    assert_eq!(r("case::apply", "chrono::Utc"), None);
}
