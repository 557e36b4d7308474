//! Where `${...}` placeholders can appear in a workload: the one list of field rules
//! ([`RULES`]), walked over the located tree ([`visit`] on a [`Node`], for the semantic check,
//! which runs before typing and on documents that are partly invalid) and over the typed
//! workload ([`placeholder_sites`], for the conversion, the engine and the `environment`
//! builtin). Both walks are the same code over the [`Tree`] trait, so they cannot disagree.
//!
//! As Score defines it: container `variables` values; file `content` and the content of a
//! `source` file, unless the file sets `noExpand: true`; volume `source`; every string of a
//! resource's `params`, at any depth. Never `command`, `args`, `binaryContent`, probes,
//! annotations or resource `metadata`.
//!
//! ```
//! use score_fly_core::spec::sites::{placeholder_sites, SiteKind};
//! let w = score_fly_core::spec::load_str(
//!     "score.yaml",
//!     "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  main:\n    image: nginx\n    variables: {A: x}\n",
//! )
//! .unwrap()
//! .workload;
//! let sites = placeholder_sites(&w);
//! assert_eq!(sites[0].path.to_string(), "containers.main.variables.A");
//! assert_eq!((sites[0].kind, sites[0].text.as_str()), (SiteKind::Variable, "x"));
//! ```

use super::Workload;
use super::node::{FieldPath, Node, Segment, Value};

/// What a placeholder site is, so callers can treat each as they must.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SiteKind {
    /// `containers.<c>.variables.<name>`.
    Variable,
    /// `containers.<c>.files.<target>.content` (not `noExpand`).
    FileContent,
    /// `containers.<c>.files.<target>.source` (not `noExpand`): the text is the path of a
    /// file relative to the Score file's folder; the placeholders are in **that file's**
    /// content, which the caller reads ([`crate::fly::read_source`]).
    FileSource,
    /// `containers.<c>.volumes.<target>.source`.
    VolumeSource,
    /// Any string below `resources.<name>.params`.
    ResourceParam,
}

/// One step of a rule's field pattern.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// This field of a map.
    Field(&'static str),
    /// Every entry of a map.
    Each,
    /// Every entry of a map keyed by target path, or every item of its deprecated list form
    /// (the semantic check may see a list the schema errors kept from being upgraded).
    EachTarget,
    /// Skip this value when its field of this name is `true` (`noExpand`).
    Unless(&'static str),
    /// Every string below, at any depth (map values and list items; never keys).
    Strings,
}

/// A field pattern where placeholders are expanded (its steps, written in parts so rules can
/// share a prefix), and the kind of site it gives.
struct Rule {
    steps: &'static [&'static [Step]],
    kind: SiteKind,
}

/// `containers.<c>`.
const CONTAINER: &[Step] = &[Step::Field("containers"), Step::Each];
/// `containers.<c>.files.<target>`, unless the file sets `noExpand: true`.
const EXPANDED_FILE: &[Step] = &[Step::Field("files"), Step::EachTarget, Step::Unless("noExpand")];

/// Every place placeholders can appear, in the order sites are reported.
const RULES: &[Rule] = &[
    Rule { steps: &[CONTAINER, &[Step::Field("variables"), Step::Each]], kind: SiteKind::Variable },
    Rule { steps: &[CONTAINER, EXPANDED_FILE, &[Step::Field("content")]], kind: SiteKind::FileContent },
    Rule { steps: &[CONTAINER, EXPANDED_FILE, &[Step::Field("source")]], kind: SiteKind::FileSource },
    Rule {
        steps: &[CONTAINER, &[Step::Field("volumes"), Step::EachTarget, Step::Field("source")]],
        kind: SiteKind::VolumeSource,
    },
    Rule {
        steps: &[&[Step::Field("resources"), Step::Each, Step::Field("params"), Step::Strings]],
        kind: SiteKind::ResourceParam,
    },
];

/// A document tree the rules can walk: the located [`Node`] tree, or JSON.
pub trait Tree {
    /// The string, if this value is one.
    fn text(&self) -> Option<&str>;
    /// A field of a map.
    fn field(&self, key: &str) -> Option<&Self>;
    /// Whether this value is the boolean `true`.
    fn is_true(&self) -> bool;
    /// Calls `f` on every entry of a map (nothing for other values).
    fn each_entry<'t>(&'t self, f: &mut dyn FnMut(&'t str, &'t Self));
    /// Calls `f` on every item of a list (nothing for other values).
    fn each_item<'t>(&'t self, f: &mut dyn FnMut(&'t Self));
}

impl Tree for Node {
    fn text(&self) -> Option<&str> {
        self.as_str()
    }
    fn field(&self, key: &str) -> Option<&Self> {
        self.get(key)
    }
    fn is_true(&self) -> bool {
        matches!(self.value, Value::Bool(true))
    }
    fn each_entry<'t>(&'t self, f: &mut dyn FnMut(&'t str, &'t Self)) {
        for (key, node) in self.as_map().unwrap_or_default() {
            f(&key.name, node);
        }
    }
    fn each_item<'t>(&'t self, f: &mut dyn FnMut(&'t Self)) {
        if let Value::Seq(items) = &self.value {
            items.iter().for_each(f);
        }
    }
}

impl Tree for serde_json::Value {
    fn text(&self) -> Option<&str> {
        self.as_str()
    }
    fn field(&self, key: &str) -> Option<&Self> {
        self.get(key)
    }
    fn is_true(&self) -> bool {
        self == &serde_json::Value::Bool(true)
    }
    fn each_entry<'t>(&'t self, f: &mut dyn FnMut(&'t str, &'t Self)) {
        if let serde_json::Value::Object(map) = self {
            for (key, value) in map {
                f(key, value);
            }
        }
    }
    fn each_item<'t>(&'t self, f: &mut dyn FnMut(&'t Self)) {
        if let serde_json::Value::Array(items) = self {
            items.iter().for_each(f);
        }
    }
}

/// A site found by [`visit`]: its kind, its field path, the value and its text.
#[derive(Debug)]
pub struct SiteIn<'p, 't, T: ?Sized> {
    /// What kind of site.
    pub kind: SiteKind,
    /// Where it is (valid during the call only: the walk extends and shortens one path).
    pub path: &'p FieldPath,
    /// The value (for its location, in a [`Node`] tree).
    pub node: &'t T,
    /// The string written there.
    pub text: &'t str,
}

/// Calls `f` on every placeholder site of a document tree, rule by rule in [`RULES`] order,
/// fields in document order. Values of the wrong shape are passed over (the validator
/// reports them). Recursive as deep as the tree below `params`, which the loader bounds to
/// [`crate::limits::MAX_DEPTH`].
pub fn visit<'t, T: Tree + ?Sized>(root: &'t T, f: &mut dyn FnMut(SiteIn<'_, 't, T>)) {
    let mut path = FieldPath::root();
    for rule in RULES {
        walk(root, &rule.steps.concat(), rule.kind, &mut path, f);
    }
}

fn walk<'t, T: Tree + ?Sized>(
    node: &'t T,
    steps: &[Step],
    kind: SiteKind,
    path: &mut FieldPath,
    f: &mut dyn FnMut(SiteIn<'_, 't, T>),
) {
    let Some((step, rest)) = steps.split_first() else {
        if let Some(text) = node.text() {
            f(SiteIn { kind, path, node, text });
        }
        return;
    };
    match *step {
        Step::Field(key) => {
            if let Some(child) = node.field(key) {
                path.push(Segment::Key(key.to_owned()));
                walk(child, rest, kind, path, f);
                path.pop();
            }
        }
        Step::Each | Step::EachTarget => {
            node.each_entry(&mut |key, child| {
                path.push(Segment::Key(key.to_owned()));
                walk(child, rest, kind, path, f);
                path.pop();
            });
            if matches!(step, Step::EachTarget) {
                let mut i = 0;
                node.each_item(&mut |child| {
                    path.push(Segment::Index(i));
                    walk(child, rest, kind, path, f);
                    path.pop();
                    i += 1;
                });
            }
        }
        Step::Unless(flag) => {
            if !node.field(flag).is_some_and(Tree::is_true) {
                walk(node, rest, kind, path, f);
            }
        }
        Step::Strings => strings(node, kind, path, f),
    }
}

fn strings<'t, T: Tree + ?Sized>(
    node: &'t T,
    kind: SiteKind,
    path: &mut FieldPath,
    f: &mut dyn FnMut(SiteIn<'_, 't, T>),
) {
    if let Some(text) = node.text() {
        f(SiteIn { kind, path, node, text });
        return;
    }
    node.each_entry(&mut |key, child| {
        path.push(Segment::Key(key.to_owned()));
        strings(child, kind, path, f);
        path.pop();
    });
    let mut i = 0;
    node.each_item(&mut |child| {
        path.push(Segment::Index(i));
        strings(child, kind, path, f);
        path.pop();
        i += 1;
    });
}

/// A placeholder site of a typed workload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Site {
    /// Where it is, e.g. `containers.main.variables.DB`.
    pub path: FieldPath,
    /// What kind of site.
    pub kind: SiteKind,
    /// The string written there (for [`SiteKind::FileSource`], the path of the file whose
    /// content holds the placeholders).
    pub text: String,
}

impl Site {
    /// The resource whose `params` hold this site (`resources.<name>.params...`).
    pub fn resource(&self) -> Option<&str> {
        match (self.kind, self.path.segments()) {
            (SiteKind::ResourceParam, [_, Segment::Key(name), ..]) => Some(name),
            _ => None,
        }
    }
}

/// Every place of `workload` where placeholders can appear, with its path and text: the
/// same walk as [`visit`] on the located tree, over the workload's JSON form (the shape it
/// was read from).
pub fn placeholder_sites(workload: &Workload) -> Vec<Site> {
    let json = serde_json::to_value(workload).unwrap_or(serde_json::Value::Null);
    let mut sites = Vec::new();
    visit(&json, &mut |s| sites.push(Site { path: s.path.clone(), kind: s.kind, text: s.text.to_owned() }));
    sites
}

/// [`visit`] over a located tree, collected as [`Site`]s (for comparing the two walks).
pub fn node_sites(root: &Node) -> Vec<Site> {
    let mut sites = Vec::new();
    visit(root, &mut |s| sites.push(Site { path: s.path.clone(), kind: s.kind, text: s.text.to_owned() }));
    sites
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document with every site, and every field that is **not** one, each holding a
    /// placeholder.
    pub(crate) const EVERY_SITE: &str = r#"apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations: {example.com/key: "${resources.db.no_annotation}"}
  extra: "${resources.db.no_metadata}"
service:
  ports:
    http: {port: 80}
containers:
  main:
    image: "nginx${resources.db.no_image}"
    command: ["${resources.db.no_command}"]
    args: ["${resources.db.no_args}"]
    variables:
      A: "${resources.db.host}"
      B: "plain"
    files:
      /etc/content: {content: "${resources.db.in_content}"}
      /etc/kept: {content: "${resources.db.no_expand}", noExpand: true}
      /etc/source: {source: conf/a.conf}
      /etc/source-kept: {source: conf/b.conf, noExpand: true}
      /etc/binary: {binaryContent: "JHtyZXNvdXJjZXMuZGIuaG9zdH0="}
    volumes:
      /data: {source: "${resources.vol}"}
    livenessProbe:
      httpGet: {port: 80, path: "/${resources.db.no_probe}", host: "${resources.db.no_host}"}
resources:
  db:
    type: postgres
    metadata: {annotations: {example.com/key: "${resources.vol.no_resource_metadata}"}}
    params:
      plain: "${resources.vol.source}"
      nested: {list: [1, "${metadata.name}", {deep: "x"}], flag: true}
  vol:
    type: volume
"#;

    fn shown(sites: &[Site]) -> Vec<String> {
        sites.iter().map(|s| format!("{:?} {} = {}", s.kind, s.path, s.text)).collect()
    }

    #[test]
    fn every_site_and_nothing_else() {
        let loaded = crate::spec::load_str("score.yaml", EVERY_SITE).unwrap();
        let typed = placeholder_sites(&loaded.workload);
        assert_eq!(
            shown(&typed),
            [
                "Variable containers.main.variables.A = ${resources.db.host}",
                "Variable containers.main.variables.B = plain",
                r#"FileContent containers.main.files["/etc/content"].content = ${resources.db.in_content}"#,
                r#"FileSource containers.main.files["/etc/source"].source = conf/a.conf"#,
                r#"VolumeSource containers.main.volumes["/data"].source = ${resources.vol}"#,
                "ResourceParam resources.db.params.nested.list[1] = ${metadata.name}",
                "ResourceParam resources.db.params.nested.list[2].deep = x",
                "ResourceParam resources.db.params.plain = ${resources.vol.source}",
            ]
        );
        assert_eq!(typed.iter().filter_map(Site::resource).collect::<Vec<_>>(), ["db", "db", "db"]);
        // The located tree has the document's order; the typed workload's maps are sorted.
        let mut located = node_sites(&loaded.root);
        located.sort();
        let mut sorted = typed.clone();
        sorted.sort();
        assert_eq!(located, sorted);
    }

    #[test]
    fn list_forms_are_walked_on_the_located_tree() {
        let root = crate::spec::yaml::parse(
            "containers:\n  main:\n    files:\n      - {target: /a, content: x}\n      - {target: /b, content: y, noExpand: true}\n    volumes:\n      - {target: /d, source: v}\n",
            0,
        )
        .unwrap();
        assert_eq!(
            shown(&node_sites(&root)),
            ["FileContent containers.main.files[0].content = x", "VolumeSource containers.main.volumes[0].source = v"]
        );
    }
}
