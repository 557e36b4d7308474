//! The Score `score.dev/v1b1` model, loading and validation.
//!
//! Loading runs, in order: YAML → located tree ([`node`]) → overrides ([`Overrides`]) →
//! upgrade of deprecated spellings → every schema rule ([`validate`]) → upgrade of the
//! deprecated list forms → semantic checks (placeholders, `before`) → typed [`Workload`].
//! Every problem of every stage is collected with its field path and `line:column`.
//!
//! ```
//! let loaded = score_fly_core::spec::load_str(
//!     "score.yaml",
//!     "apiVersion: score.dev/v1b1\nmetadata:\n  name: hello\ncontainers:\n  main:\n    image: nginx\n",
//! )
//! .unwrap();
//! assert_eq!(loaded.workload.name(), "hello");
//! ```

pub mod embedded;
mod model;
pub mod node;
mod overrides;
mod semantic;
pub mod sites;
mod upgrade;
pub mod validate;
pub mod yaml;

use std::fmt;

use crate::limits::{MAX_DEPTH, MAX_DIAGNOSTICS, MAX_DOCUMENT_BYTES, MAX_NODES};

pub use model::*;
pub use node::{Location, Source, SourceMap};
pub use overrides::Overrides;

/// One problem (or warning) about a Score document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Field path, e.g. `containers.main.files["/etc/x"].mode` (empty for the whole document).
    pub path: String,
    /// Where in which source (see [`SourceMap`]).
    pub location: Option<Location>,
    /// What is wrong and, where useful, what to do.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

/// A Score document that loaded: the workload, warnings, and the sources for messages.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated workload.
    pub workload: Workload,
    /// Deprecations and other non-fatal findings.
    pub warnings: Vec<Diagnostic>,
    /// The Score file (source 0) and override sources.
    pub sources: SourceMap,
    /// The validated document with locations (map form), to point at fields later.
    pub root: node::Node,
}

impl Loaded {
    /// Where a field was written, if it (or its nearest parent) is in the document.
    pub fn locate(&self, path: &node::FieldPath) -> Option<Location> {
        let mut node = &self.root;
        let mut location = node.location;
        for segment in path.segments() {
            let next = match (segment, &node.value) {
                (node::Segment::Key(k), node::Value::Map(entries)) => {
                    entries.iter().find(|(key, _)| &key.name == k).map(|(key, value)| (key.location, value))
                }
                (node::Segment::Index(i), node::Value::Seq(items)) => items.get(*i).map(|n| (n.location, n)),
                _ => None,
            };
            let Some((key_location, child)) = next else { break };
            location = child.location.or(key_location);
            node = child;
        }
        location
    }
}

/// A Score document that did not load: every problem found.
#[derive(Debug, Clone, thiserror::Error)]
pub struct LoadError {
    /// The problems, in document order per stage.
    pub diagnostics: Vec<Diagnostic>,
    /// The Score file (source 0) and override sources.
    pub sources: SourceMap,
}

impl LoadError {
    /// The name of the Score file.
    pub fn file_name(&self) -> &str {
        self.sources.get(0).map_or("<score file>", |s| s.name.as_str())
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        write!(f, "{} is not a valid Score file ({n} problem{})", self.file_name(), if n == 1 { "" } else { "s" })?;
        for d in &self.diagnostics {
            match d.location {
                Some(location) => write!(f, "\n  {}: {d}", self.sources.describe(location))?,
                None => write!(f, "\n  {d}")?,
            }
        }
        Ok(())
    }
}

/// Loads a Score document without overrides.
pub fn load_str(name: &str, text: &str) -> Result<Loaded, LoadError> {
    load(name, text, &Overrides::default())
}

/// Loads a Score document, applying overrides before validation.
pub fn load(name: &str, text: &str, overrides: &Overrides) -> Result<Loaded, LoadError> {
    let mut sources = SourceMap::default();
    if text.len() > MAX_DOCUMENT_BYTES {
        // Kept out of the source map: a snippet of it would be as large.
        sources.add(name, "");
        let diagnostics =
            vec![Diagnostic { path: String::new(), location: None, message: yaml::too_large(text.len()) }];
        return Err(LoadError { diagnostics, sources });
    }
    let source = sources.add(name, text);
    let root = match yaml::parse(text, source) {
        Ok(root) => root,
        Err(e) => {
            let diagnostics = vec![Diagnostic { path: String::new(), location: Some(e.location), message: e.message }];
            return Err(LoadError { diagnostics, sources });
        }
    };
    load_tree(root, sources, overrides)
}

/// Validates a document that is already a located tree (from YAML, or from the
/// `#[score_workload]` attribute) and turns it into a [`Workload`].
pub fn load_tree(mut root: node::Node, mut sources: SourceMap, overrides: &Overrides) -> Result<Loaded, LoadError> {
    let fail = |diagnostics: Vec<Diagnostic>, sources: SourceMap| Err(LoadError { diagnostics, sources });
    // Every later stage walks the tree recursively: it must be within the limits (the YAML
    // loader keeps to them; a tree from elsewhere, or grown by overrides, is checked here).
    if let Err(e) = check_tree(&root) {
        return fail(vec![e], sources);
    }
    let mut warnings = Vec::new();
    let errors = overrides::apply(&mut root, overrides, &mut sources, &mut warnings);
    if !errors.is_empty() {
        return fail(errors, sources);
    }
    if !overrides.is_empty()
        && let Err(e) = check_tree(&root)
    {
        return fail(vec![e], sources);
    }
    upgrade::legacy_spellings(&mut root, &mut warnings);
    let mut errors = validate::validate(&root);
    if errors.is_empty() {
        errors.extend(upgrade::list_forms(&mut root, &mut warnings));
    }
    // The semantic checks only read well-shaped parts, so they run even after schema
    // errors: the user sees every problem at once.
    let mut semantic_warnings = Vec::new();
    errors.extend(semantic::check(&root, &mut semantic_warnings));
    warnings.extend(semantic_warnings);
    cap_diagnostics(&mut warnings, "warnings");
    if !errors.is_empty() {
        errors.sort_by_key(|d| d.location.map(|l| (l.source, l.line, l.column)));
        cap_diagnostics(&mut errors, "problems");
        return fail(errors, sources);
    }
    match serde_json::from_value::<Workload>(root.to_json()) {
        Ok(workload) => Ok(Loaded { workload, warnings, sources, root }),
        Err(e) => fail(
            vec![Diagnostic {
                path: String::new(),
                location: None,
                message: format!("internal error: a validated document did not convert ({e}); please report this"),
            }],
            sources,
        ),
    }
}

/// Keeps the first [`MAX_DIAGNOSTICS`] of `list`, and a last one saying how many more
/// `what` (`problems`, `warnings`) there were: each is shown with its source line.
pub fn cap_diagnostics(list: &mut Vec<Diagnostic>, what: &str) {
    if list.len() > MAX_DIAGNOSTICS {
        let more = list.len() - MAX_DIAGNOSTICS;
        list.truncate(MAX_DIAGNOSTICS);
        list.push(Diagnostic {
            path: String::new(),
            location: None,
            message: format!(
                "{more} more {what} not listed: only the first {MAX_DIAGNOSTICS} are (limits::MAX_DIAGNOSTICS); fix these and run again"
            ),
        });
    }
}

/// Checks, without recursion, that a tree is at most [`MAX_DEPTH`] levels deep (the root
/// is level 1) and holds at most [`MAX_NODES`] values (keys included): what every recursive
/// walk of a tree relies on.
pub fn check_tree(root: &node::Node) -> Result<(), Diagnostic> {
    enum Children<'n> {
        Seq(std::iter::Enumerate<std::slice::Iter<'n, node::Node>>),
        Map(std::slice::Iter<'n, (node::Key, node::Node)>),
    }
    fn children(node: &node::Node) -> Option<Children<'_>> {
        match &node.value {
            node::Value::Seq(items) => Some(Children::Seq(items.iter().enumerate())),
            node::Value::Map(entries) => Some(Children::Map(entries.iter())),
            _ => None,
        }
    }
    let fail = |path: &node::FieldPath, node: &node::Node, message: String| {
        Err(Diagnostic { path: path.to_string(), location: node.location, message })
    };
    let mut path = node::FieldPath::root();
    let mut open: Vec<Children<'_>> = children(root).into_iter().collect();
    let mut count = 1usize;
    while let Some(top) = open.last_mut() {
        let child = match top {
            Children::Seq(items) => items.next().map(|(i, n)| (node::Segment::Index(i), n, 1)),
            Children::Map(entries) => entries.next().map(|(k, n)| (node::Segment::Key(k.name.clone()), n, 2)),
        };
        let Some((segment, child, values)) = child else {
            open.pop();
            path.pop();
            continue;
        };
        path.push(segment);
        count += values;
        if open.len() + 1 > MAX_DEPTH {
            return fail(
                &path,
                child,
                format!("nesting deeper than {MAX_DEPTH} levels (limits::MAX_DEPTH); flatten the document"),
            );
        }
        if count > MAX_NODES {
            return fail(
                &path,
                child,
                format!("the document holds more than {MAX_NODES} values (limits::MAX_NODES); split the workload"),
            );
        }
        match children(child) {
            Some(c) => open.push(c),
            None => {
                path.pop();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n";

    fn errors(text: &str) -> Vec<Diagnostic> {
        load_str("score.yaml", text).unwrap_err().diagnostics
    }

    #[test]
    fn loads_the_minimal_workload() {
        let loaded = load_str("score.yaml", MINIMAL).unwrap();
        assert_eq!(loaded.workload.name(), "web");
        assert_eq!(loaded.workload.containers["main"].image, "nginx");
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn reports_every_problem_with_path_and_position() {
        let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: Web\ncontainers:\n  main:\n    image: \"\"\n    imag: x\n    resources:\n      limits:\n        memory: 1MB\n";
        let e = errors(text);
        let got: Vec<(String, usize, usize)> =
            e.iter().map(|d| (d.path.clone(), d.location.unwrap().line, d.location.unwrap().column)).collect();
        assert!(got.contains(&("metadata.name".into(), 3, 9)), "{got:?}");
        assert!(got.contains(&("containers.main.image".into(), 6, 12)), "{got:?}");
        assert!(got.contains(&("containers.main.imag".into(), 7, 5)), "{got:?}");
        assert!(got.contains(&("containers.main.resources.limits.memory".into(), 10, 17)), "{got:?}");
        assert_eq!(e.len(), 4, "{e:?}");
    }

    #[test]
    fn display_lists_locations() {
        let err = load_str("dir/score.yaml", "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers: {}\n")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("dir/score.yaml is not a valid Score file (1 problem)"), "{text}");
        assert!(text.contains("dir/score.yaml:3:13: containers: at least one container is required"), "{text}");
    }

    #[test]
    fn deprecated_forms_are_upgraded_with_warnings() {
        let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    files:\n      - target: /etc/a\n        content: [\"line 1\", \"line 2\"]\n        mode: \"0644\"\n    volumes:\n      - target: /data\n        source: vol\n        read_only: true\n";
        let loaded = load_str("score.yaml", text).unwrap();
        let c = &loaded.workload.containers["main"];
        assert_eq!(c.files["/etc/a"].content.as_deref(), Some("line 1\nline 2"));
        assert_eq!(c.volumes["/data"].read_only, Some(true));
        let paths: Vec<&str> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
        assert!(paths.contains(&"containers.main.files[0].content"), "{paths:?}");
        assert!(paths.contains(&"containers.main.volumes[0].read_only"), "{paths:?}");
        assert!(paths.contains(&"containers.main.files"), "{paths:?}");
    }

    #[test]
    fn list_forms_need_unique_targets() {
        let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    files:\n      - content: a\n      - {target: /x, content: b}\n      - {target: /x, content: c}\n";
        let paths: Vec<String> = errors(text).into_iter().map(|d| d.path).collect();
        assert_eq!(paths, vec!["containers.main.files[0].target", "containers.main.files[2].target"]);
    }

    #[test]
    fn semantic_checks() {
        let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  aa:\n    image: nginx\n    variables:\n      A: ${resources.nope.host}\n      B: ${env.HOME}\n    before:\n      bb: {ready: started}\n      zz: {ready: started}\n  bb:\n    image: nginx\n    before:\n      aa: {ready: healthy}\nresources:\n  db:\n    type: postgres\n    params:\n      x: ${resources.db2.host}\n";
        let e = errors(text);
        let msgs: Vec<String> = e.iter().map(ToString::to_string).collect();
        assert!(
            msgs.iter().any(|m| m.starts_with("containers.aa.variables.A: ") && m.contains("no resource named `nope`")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("containers.aa.variables.B: ") && m.contains("unknown reference root `env`")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("`zz`, which is not a container")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("cycle: aa → bb → aa")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.starts_with("resources.db.params.x: ")), "{msgs:?}");
    }

    #[test]
    fn placeholders_in_list_form_files_and_volumes_are_checked_beside_schema_errors() {
        // A schema error elsewhere keeps the list forms from being upgraded to maps; the
        // placeholders in them are still checked, so one run reports every problem.
        let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    unknown: 1\n    files:\n      - target: /etc/a\n        content: ${resources.nope.host}\n      - target: /etc/b\n        content: ${resources.nope.host}\n        noExpand: true\n    volumes:\n      - target: /data\n        source: ${resources.gone}\n";
        let msgs: Vec<String> = errors(text).iter().map(ToString::to_string).collect();
        assert!(msgs.iter().any(|m| m.starts_with("containers.main.unknown: ")), "{msgs:?}");
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("containers.main.files[0].content: ") && m.contains("no resource named `nope`")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.starts_with("containers.main.volumes[0].source: ") && m.contains("no resource named `gone`")),
            "{msgs:?}"
        );
        assert!(!msgs.iter().any(|m| m.starts_with("containers.main.files[1]")), "noExpand is honoured: {msgs:?}");
        assert_eq!(msgs.len(), 3, "{msgs:?}");
    }

    #[test]
    fn overrides_apply_before_validation() {
        let o = Overrides { properties: vec!["containers.main.image=".into()], ..Overrides::default() };
        let e = load("score.yaml", MINIMAL, &o).unwrap_err();
        assert_eq!(e.diagnostics[0].path, "containers.main.image");
        let o = Overrides { properties: vec!["metadata.name=other".into()], ..Overrides::default() };
        assert_eq!(load("score.yaml", MINIMAL, &o).unwrap().workload.name(), "other");
    }

    #[test]
    fn problems_are_listed_up_to_the_limit() {
        // 5,000 variables that are not strings: 5,000 problems, 100 listed.
        let variables: Vec<String> = (0..5000).map(|i| format!("V{i}: {i}")).collect();
        let text = format!("{MINIMAL}    variables: {{{}}}\n", variables.join(", "));
        let e = errors(&text);
        assert_eq!(e.len(), MAX_DIAGNOSTICS + 1);
        assert!(e[0].message.contains("variable values must be strings"), "{}", e[0]);
        let last = &e[MAX_DIAGNOSTICS].message;
        assert!(
            last.starts_with("4900 more problems not listed") && last.contains("limits::MAX_DIAGNOSTICS"),
            "{last}"
        );
    }

    #[test]
    fn override_errors_point_at_the_override() {
        let o = Overrides { properties: vec!["containers.main.variables.PORT=8080".into()], ..Overrides::default() };
        let e = load("score.yaml", MINIMAL, &o).unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!(d.path, "containers.main.variables.PORT");
        assert_eq!(e.sources.describe(d.location.unwrap()), "--override-property containers.main.variables.PORT=8080");
    }
}
