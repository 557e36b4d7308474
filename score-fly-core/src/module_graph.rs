//! The crate's module graph, read from its sources: no top-level module imports a module
//! that imports it back (directly or through others), and a few edges that would undo the
//! layering never appear. Run with `cargo test -p score-fly-core --lib module_graph`.
//!
//! An edge `a → b` is any `crate::b` path written in code of module `a` (its file or
//! folder), `use` lines and inline paths alike, tests included; comments are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// Edges that must never exist, with the reason (the layering ARCHITECTURE.md describes).
const NEVER: &[(&str, &str, &str)] = &[
    ("provision", "builtin", "the engine calls builtins through `provision::Builtins`; `builtin` registers itself"),
    ("fly", "flyio", "the conversion is pure; the Fly clients live in `flyio`"),
    ("fly", "provision", "the conversion knows nothing of provisioning"),
    ("secret", "state", "secrets sit below everything that stores them"),
    ("flyio", "provision", "the Fly clients are used by the engine, never the reverse"),
    ("builtin", "ops", "the operations are the top layer: nothing below calls them"),
    ("provision", "ops", "the operations are the top layer: nothing below calls them"),
    ("image", "ops", "the operations are the top layer: nothing below calls them"),
    ("state", "ops", "the operations are the top layer: nothing below calls them"),
    ("fly", "ops", "the operations are the top layer: nothing below calls them"),
    ("local", "ops", "the operations are the top layer: nothing below calls them"),
    ("provision", "local", "the engine calls the local provisioners through `provision::Builtins`"),
    ("builtin", "local", "`local` sits beside `builtin` and reuses it, never the reverse"),
    ("state", "local", "the local provisioners sit above the state"),
    ("fly", "local", "the conversion knows nothing of provisioning"),
    ("flyio", "local", "the Fly clients know nothing of local servers"),
];

/// `a → b` with the places (`file:line`) that make it.
type Edges = BTreeMap<(String, String), Vec<String>>;

/// Removes comments from one line (`//` outside string literals; block comments are not
/// used in this crate's code).
fn code_of(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

/// The top-level modules a line of code names through `crate::`, including each first
/// segment of a `crate::{a, b::c}` group.
fn named_modules(code: &str) -> Vec<String> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = &rest[..at];
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if before.ends_with('$') || before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        start = false;
                        let name = ident(&group[i..]);
                        if !name.is_empty() {
                            out.push(name);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(after);
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).expect("source folder").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every edge between top-level modules of the crate whose sources are in `src`.
fn edges(src: &Path) -> Edges {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges = Edges::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("below src");
        let first = rel.components().next().expect("a path").as_os_str().to_string_lossy().into_owned();
        let module = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
        if module == "lib" || module == "module_graph" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            for target in named_modules(code_of(line)) {
                if target != module {
                    edges.entry((module.clone(), target)).or_default().push(format!(
                        "{}:{}: {}",
                        rel.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    edges
}

/// The strongly connected components of more than one module (Tarjan), each sorted.
fn cycles(edges: &Edges) -> Vec<Vec<String>> {
    struct Walk<'e> {
        next: BTreeMap<&'e str, Vec<&'e str>>,
        index: BTreeMap<&'e str, usize>,
        low: BTreeMap<&'e str, usize>,
        stack: Vec<&'e str>,
        on_stack: BTreeSet<&'e str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'e>(w: &mut Walk<'e>, v: &'e str) {
        let i = w.index.len();
        w.index.insert(v, i);
        w.low.insert(v, i);
        w.stack.push(v);
        w.on_stack.insert(v);
        for u in w.next.get(v).cloned().unwrap_or_default() {
            if !w.index.contains_key(u) {
                visit(w, u);
                let low = w.low[v].min(w.low[u]);
                w.low.insert(v, low);
            } else if w.on_stack.contains(u) {
                let low = w.low[v].min(w.index[u]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(u) = w.stack.pop() {
                w.on_stack.remove(u);
                component.push(u.to_owned());
                if u == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                w.found.push(component);
            }
        }
    }
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        next.entry(a).or_default().push(b);
        next.entry(b).or_default();
    }
    let nodes: Vec<&str> = next.keys().copied().collect();
    let mut walk = Walk {
        next,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in nodes {
        if !walk.index.contains_key(v) {
            visit(&mut walk, v);
        }
    }
    walk.found.sort();
    walk.found
}

/// A readable account of the cycles: each one's modules and the lines that tie them.
fn describe(edges: &Edges, found: &[Vec<String>]) -> String {
    let mut text = String::new();
    for component in found {
        let _ = writeln!(text, "cycle: {}", component.join(" ⇄ "));
        for ((a, b), places) in edges {
            if component.contains(a) && component.contains(b) {
                let _ = writeln!(text, "  {a} → {b} ({} places), e.g. {}", places.len(), places[0]);
            }
        }
    }
    text
}

#[test]
fn top_level_modules_import_no_module_that_imports_them_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges(&src);
    assert!(edges.len() > 10, "the graph was read: {edges:?}");
    let found = cycles(&edges);
    assert!(found.is_empty(), "import cycles between top-level modules:\n{}", describe(&edges, &found));
}

/// The first segments of the paths a line names after `prefix` (`prefix{a, b::c}` gives
/// `a` and `b`), skipping `super`, `self` and globs.
fn named_after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = &code[..at];
        if before.ends_with("super::") || before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        // The `crate::` reader, on the text after the prefix up to the next path.
        let after = &code[at + prefix.len()..];
        let end = after.find(|c: char| c.is_whitespace() || c == ';' || c == '(' || c == ',').unwrap_or(after.len());
        let names = if after.starts_with('{') {
            named_modules(&format!("crate::{after}"))
        } else {
            named_modules(&format!("crate::{}", &after[..end])).into_iter().take(1).collect()
        };
        out.extend(names.into_iter().filter(|n| n != "super" && n != "self"));
    }
    out
}

/// Every edge between the files of the folder module `folder` (`ops`): `a → b` when code of
/// `a` names sibling `b` (`super::b`, `crate::ops::b`, `super::super::b` from a module one
/// level down, test modules included); a name that is no sibling module is an item of
/// `mod.rs`, so the edge is `a → mod`. `mod.rs` has an edge to each module its `use` lines
/// name (its `mod` declarations are no edge).
fn folder_edges(src: &Path, folder: &str) -> Edges {
    let dir = src.join(folder);
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let node = |rel: &Path| {
        let first = rel.components().next().expect("a path").as_os_str().to_string_lossy().into_owned();
        first.strip_suffix(".rs").unwrap_or(&first).to_owned()
    };
    let siblings: BTreeSet<String> = files.iter().map(|f| node(f.strip_prefix(&dir).expect("below"))).collect();
    let mut edges = Edges::new();
    for file in &files {
        let rel = file.strip_prefix(&dir).expect("below the folder");
        let from = node(rel);
        let mut depth = rel.components().count() - 1;
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            if code.trim_start().starts_with("mod tests") {
                depth += 1;
            }
            let mut names = named_after(code, &format!("crate::{folder}::"));
            names.extend(named_after(code, &"super::".repeat(depth + 1)));
            let statement = code.trim_start().trim_start_matches("pub ");
            if let Some(path) = statement.strip_prefix("use ").filter(|_| from == "mod") {
                names.extend(named_modules(&format!("crate::{path}")));
            }
            for name in names {
                let to = if siblings.contains(&name) { name } else { "mod".to_owned() };
                if to != from {
                    let place = format!("{folder}/{}:{}: {}", rel.display(), n + 1, line.trim());
                    edges.entry((from.clone(), to)).or_default().push(place);
                }
            }
        }
    }
    edges
}

#[test]
fn the_folder_reader_resolves_super_and_groups() {
    assert_eq!(named_after("use super::{build, project::X};", "super::"), ["build", "project"]);
    assert_eq!(named_after("use super::super::kind::ErrorKind;", "super::"), Vec::<String>::new());
    assert_eq!(named_after("f(&crate::ops::event::Silent)", "crate::ops::"), ["event"]);
    assert_eq!(named_after("use super::super::kind::ErrorKind;", "super::super::"), ["kind"]);
}

#[test]
fn the_operations_import_no_file_of_ops_that_imports_them_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = folder_edges(&src, "ops");
    for (a, b) in [("deploy", "build"), ("deploy", "error"), ("deploy", "event"), ("mod", "error"), ("error", "kind")] {
        assert!(edges.contains_key(&(a.to_owned(), b.to_owned())), "the reader sees {a} → {b}: {edges:#?}");
    }
    let found = cycles(&edges);
    assert!(found.is_empty(), "import cycles between the files of ops:\n{}", describe(&edges, &found));
    // The shared pieces sit below every operation: they name none of them.
    for shared in ["error", "event", "kind", "mod"] {
        let up: Vec<_> = edges
            .iter()
            .filter(|((a, b), _)| a == shared && !["error", "event", "kind", "build"].contains(&b.as_str()))
            .map(|((_, b), places)| format!("{shared} → {b}: {}", places[0]))
            .collect();
        assert!(up.is_empty() || shared == "mod", "{}", up.join("\n"));
    }
    let into_mod: Vec<_> =
        edges.iter().filter(|((_, b), _)| b == "mod").map(|((a, _), places)| format!("{a}: {}", places[0])).collect();
    assert!(
        into_mod.is_empty(),
        "an operation imports ops/mod.rs (name error::/event::/kind:: instead):\n{}",
        into_mod.join("\n")
    );
}

#[test]
fn no_edge_undoes_the_layering() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = edges(&src);
    let broken: Vec<String> = NEVER
        .iter()
        .filter_map(|(a, b, why)| {
            let places = edges.get(&((*a).to_owned(), (*b).to_owned()))?;
            Some(format!("{a} → {b} ({why}):\n    {}", places.join("\n    ")))
        })
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_reader_finds_what_code_names_and_skips_comments() {
    assert_eq!(named_modules("use crate::fly::api::{A, B};"), ["fly"]);
    assert_eq!(named_modules("use crate::{secret::Secret, state::{State, X}, limits};"), ["secret", "state", "limits"]);
    assert_eq!(named_modules("let x = crate::spec::f(crate::limits::MAX);"), ["spec", "limits"]);
    assert!(named_modules("$crate::x; score_fly_core::y; mycrate::z").is_empty());
    assert_eq!(named_modules(code_of("a(); // see crate::builtin")), Vec::<String>::new());
    assert_eq!(named_modules(code_of("f(\"//\", crate::state::X) // crate::builtin")), ["state"]);
    let mut edges = Edges::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"), ("e", "d")] {
        edges.insert((a.to_owned(), b.to_owned()), vec![format!("{a}.rs:1")]);
    }
    assert_eq!(cycles(&edges), [vec!["a", "b", "c"], vec!["d", "e"]]);
    edges.remove(&("e".to_owned(), "d".to_owned()));
    edges.remove(&("c".to_owned(), "a".to_owned()));
    assert!(cycles(&edges).is_empty());
}
