//! The `#[score_workload(...)]` attribute: its arguments → a Score workload.
//!
//! Shared by the proc-macro (errors become `compile_error!`s on the offending tokens) and the
//! CLI (which reads the attribute from source with `syn`, no build needed), so the two can
//! never disagree.
//!
//! # Syntax
//!
//! Every Score field is written with its `snake_case` name. Maps keyed by a name or a path
//! (ports, resources, files, volumes) become repeated entries whose first item is the key.
//! The workload has one container (named `main` unless `container = "..."`); its fields sit
//! at the top level.
//!
//! ```text
//! #[score_workload(
//!     name = "todo",                                   // metadata.name (required)
//!     annotations("score-fly/service-web-handlers" = "tls,http"),
//!     release_command = "migrate",                   // the score-fly/release-command annotation
//!     metadata(team = "storage"),                      // other metadata keys
//!     image = ".",                                     // default: built from this package
//!     command = ["/app/todo"], args = ["--port", "8080"],
//!     variables(RUST_LOG = "info", DATABASE_URL = "postgres://${resources.db.host}/..."),
//!     file("/etc/todo.toml", content = "port = 8080", mode = "0644", no_expand = false),
//!     volume("/data", source = "${resources.data}", read_only = false),
//!     requests(cpu = "1", memory = "256Mi"),
//!     limits(cpu = "2", memory = "512Mi"),
//!     liveness_probe(http_get(path = "/livez", port = 8080)),
//!     readiness_probe(http_get(path = "/healthz", port = 8080, http_headers(X_Probe = "fly"))),
//!     port(web, port = 443, target_port = 8080, protocol = "TCP"),
//!     resource(db, type = "postgres", class = "default", id = "shared-db",
//!              params(size = 1, extensions = ["pgcrypto"]),
//!              metadata(annotations("example.com/owner" = "storage"))),
//! )]
//! ```
//!
//! `#[score_workload]` alone reads `score.yaml` beside `Cargo.toml`;
//! `#[score_workload(file = "path")]` reads another Score file (relative to `Cargo.toml`).
//!
//! Values are string, integer, float and boolean literals, `[...]` lists, and `key(...)`
//! objects (in `params` and `metadata`). Keys are identifiers (keywords such as `type` too) or
//! string literals. The tree built here is validated by [`crate::spec::load_tree`], the very
//! code that validates Score files.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Token, bracketed, parenthesized};

use crate::limits::MAX_DEPTH;
use crate::spec::node::{Key, Location, Node, Value};
use crate::spec::{self, Loaded, SourceMap};

/// What an attribute declares.
#[derive(Debug)]
pub enum Declared {
    /// `#[score_workload]` or `#[score_workload(file = "...")]`: a Score file, relative to the
    /// package's `Cargo.toml`.
    File {
        /// The path.
        path: String,
        /// Where it was written (the whole attribute for the bare form).
        span: Span,
    },
    /// The whole workload in the attribute.
    Inline(Inline),
}

/// An inline workload: the located tree and the spans its locations point at.
#[derive(Debug)]
pub struct Inline {
    /// The Score document. A node's `Location::line` is an index into `spans` (plus one).
    pub root: Node,
    /// Token spans.
    pub spans: Vec<Span>,
    /// Problems found while reading the arguments (unknown or repeated keys, wrong shapes);
    /// reported together with the validator's.
    pub errors: Vec<syn::Error>,
}

/// The default Score file of the bare attribute.
pub const DEFAULT_FILE: &str = "score.yaml";

/// The embedded-workload format, which needs no `syn`: it lives in [`crate::spec::embedded`]
/// (the build checks it without this feature) and is re-exported here for the macro.
pub use crate::spec::embedded::{EMBED_END, EMBED_START, embedded, find_embedded};

// ---------------------------------------------------------------------------------------
// Generic grammar: entries of `key`, `key = value`, `key(entries)`.

#[derive(Debug, Clone)]
enum RawKey {
    Ident(String),
    Str(String),
}

impl RawKey {
    fn text(&self) -> &str {
        match self {
            RawKey::Ident(s) | RawKey::Str(s) => s,
        }
    }
}

#[derive(Debug, Clone)]
enum RawValue {
    Str(String, Span),
    Int(i64, Span),
    Float(f64, Span),
    Bool(bool, Span),
    List(Vec<RawValue>, Span),
}

impl RawValue {
    fn span(&self) -> Span {
        match self {
            RawValue::Str(_, s)
            | RawValue::Int(_, s)
            | RawValue::Float(_, s)
            | RawValue::Bool(_, s)
            | RawValue::List(_, s) => *s,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            RawValue::Str(..) => "a string",
            RawValue::Int(..) => "an integer",
            RawValue::Float(..) => "a number",
            RawValue::Bool(..) => "a boolean",
            RawValue::List(..) => "a list",
        }
    }
}

#[derive(Debug, Clone)]
enum RawBody {
    /// `key` alone.
    Flag,
    /// `key = value`.
    Value(RawValue),
    /// `key(...)`.
    Group(Vec<RawEntry>, Span),
}

#[derive(Debug, Clone)]
struct RawEntry {
    key: RawKey,
    span: Span,
    body: RawBody,
}

impl Parse for RawValue {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(syn::token::Bracket) {
            let content;
            let bracket = bracketed!(content in input);
            let items: Punctuated<RawValue, Token![,]> = Punctuated::parse_terminated(&content)?;
            return Ok(RawValue::List(items.into_iter().collect(), bracket.span.join()));
        }
        let negative = input.peek(Token![-]);
        if negative {
            input.parse::<Token![-]>()?;
        }
        let lit: syn::Lit = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected a value: a string, number, boolean or [list]"))?;
        let sign = if negative { -1 } else { 1 };
        Ok(match lit {
            syn::Lit::Str(s) if !negative => RawValue::Str(s.value(), s.span()),
            syn::Lit::Int(i) => RawValue::Int(sign * i.base10_parse::<i64>()?, i.span()),
            syn::Lit::Float(f) => {
                let value = if negative { -1.0 } else { 1.0 } * f.base10_parse::<f64>()?;
                if !value.is_finite() {
                    // JSON, which every later stage reads, has no infinity.
                    return Err(syn::Error::new(f.span(), "this number is too large to be carried in JSON"));
                }
                RawValue::Float(value, f.span())
            }
            syn::Lit::Bool(b) if !negative => RawValue::Bool(b.value, b.span),
            other => return Err(syn::Error::new(other.span(), "expected a string, number, boolean or [list]")),
        })
    }
}

impl Parse for RawEntry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let (key, span) = if input.peek(syn::LitStr) {
            let s: syn::LitStr = input.parse()?;
            (RawKey::Str(s.value()), s.span())
        } else {
            let ident = input
                .call(syn::Ident::parse_any)
                .map_err(|e| syn::Error::new(e.span(), "expected a key (a name or a \"string\")"))?;
            (RawKey::Ident(ident.to_string()), ident.span())
        };
        let body = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            RawBody::Value(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let items: Punctuated<RawEntry, Token![,]> = Punctuated::parse_terminated(&content)?;
            RawBody::Group(items.into_iter().collect(), paren.span.join())
        } else {
            RawBody::Flag
        };
        Ok(RawEntry { key, span, body })
    }
}

/// The opening delimiter of the first group nested deeper than `max` levels in `tokens`
/// (a group directly in `tokens` is level 1), found without recursion.
pub fn nested_deeper_than(tokens: &TokenStream, max: usize) -> Option<Span> {
    let mut open = vec![tokens.clone().into_iter()];
    while let Some(top) = open.last_mut() {
        match top.next() {
            None => {
                open.pop();
            }
            Some(TokenTree::Group(group)) => {
                if open.len() > max {
                    return Some(group.span_open());
                }
                open.push(group.stream().into_iter());
            }
            Some(_) => {}
        }
    }
    None
}

fn parse_entries(tokens: proc_macro2::TokenStream) -> syn::Result<Vec<RawEntry>> {
    let parser = Punctuated::<RawEntry, Token![,]>::parse_terminated;
    Ok(parser.parse2(tokens)?.into_iter().collect())
}

// ---------------------------------------------------------------------------------------
// Interpretation: entries → Score document tree.

struct Builder {
    spans: Vec<Span>,
    errors: Vec<syn::Error>,
}

impl Builder {
    fn location(&mut self, span: Span) -> Location {
        self.spans.push(span);
        Location { source: 0, line: self.spans.len(), column: 1 }
    }

    fn node(&mut self, value: Value, span: Span) -> Node {
        Node { value, location: Some(self.location(span)) }
    }

    fn key(&mut self, name: &str, span: Span) -> Key {
        Key { name: name.to_owned(), location: Some(self.location(span)) }
    }

    fn error(&mut self, span: Span, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    fn value(&mut self, value: &RawValue) -> Node {
        match value {
            RawValue::Str(s, span) => self.node(Value::Str(s.clone()), *span),
            RawValue::Int(i, span) => self.node(Value::Int(*i), *span),
            RawValue::Float(f, span) => self.node(Value::Float(*f), *span),
            RawValue::Bool(b, span) => self.node(Value::Bool(*b), *span),
            RawValue::List(items, span) => {
                let items = items.iter().map(|i| self.value(i)).collect();
                self.node(Value::Seq(items), *span)
            }
        }
    }

    /// `key(...)` entries as an open object: `k = value` or nested `k(...)`.
    fn object(&mut self, entries: &[RawEntry], span: Span) -> Node {
        let mut map: Vec<(Key, Node)> = Vec::new();
        for e in entries {
            let node = match &e.body {
                RawBody::Value(v) => self.value(v),
                RawBody::Group(inner, s) => self.object(inner, *s),
                RawBody::Flag => {
                    self.error(
                        e.span,
                        format!(
                            "`{}` needs a value: `{} = ...` or `{}(...)`",
                            e.key.text(),
                            e.key.text(),
                            e.key.text()
                        ),
                    );
                    continue;
                }
            };
            self.insert(&mut map, e.key.text(), e.span, node);
        }
        self.node(Value::Map(map), span)
    }

    /// Inserts a keyed entry (port, resource, file, volume), naming its kind in a duplicate.
    fn insert_named(&mut self, map: &mut Vec<(Key, Node)>, kind: &str, name: &str, span: Span, node: Node) {
        if map.iter().any(|(k, _)| k.name == name) {
            self.error(span, format!("{kind} `{name}` is declared more than once"));
            return;
        }
        let key = self.key(name, span);
        map.push((key, node));
    }

    /// Inserts, reporting a duplicate at the second occurrence.
    fn insert(&mut self, map: &mut Vec<(Key, Node)>, name: &str, span: Span, node: Node) {
        if map.iter().any(|(k, _)| k.name == name) {
            self.error(span, format!("`{name}` is specified more than once"));
            return;
        }
        let key = self.key(name, span);
        map.push((key, node));
    }

    fn string(&mut self, entry: &RawEntry) -> Option<Node> {
        match &entry.body {
            RawBody::Value(v @ RawValue::Str(..)) => Some(self.value(v)),
            RawBody::Value(v) => {
                self.error(v.span(), format!("`{}` takes a string, found {}", entry.key.text(), v.describe()));
                None
            }
            _ => {
                self.error(entry.span, format!("write `{} = \"...\"`", entry.key.text()));
                None
            }
        }
    }

    /// A value of any literal type (the Score validator checks the type).
    fn scalar(&mut self, entry: &RawEntry) -> Option<Node> {
        if let RawBody::Value(v) = &entry.body {
            Some(self.value(v))
        } else {
            self.error(entry.span, format!("write `{} = ...`", entry.key.text()));
            None
        }
    }

    fn string_list(&mut self, entry: &RawEntry) -> Option<Node> {
        if let RawBody::Value(v @ RawValue::List(..)) = &entry.body {
            Some(self.value(v))
        } else {
            self.error(entry.span, format!("write `{} = [\"...\", ...]`", entry.key.text()));
            None
        }
    }

    /// `key(k = "v", ...)`: a map of string values.
    fn string_map(&mut self, entry: &RawEntry) -> Option<Node> {
        let RawBody::Group(entries, span) = &entry.body else {
            self.error(entry.span, format!("write `{}(KEY = \"value\", ...)`", entry.key.text()));
            return None;
        };
        let mut map = Vec::new();
        for e in entries {
            if let Some(node) = self.scalar(e) {
                self.insert(&mut map, e.key.text(), e.span, node);
            }
        }
        Some(self.node(Value::Map(map), *span))
    }

    fn group<'e>(&mut self, entry: &'e RawEntry, how: &str) -> Option<(&'e [RawEntry], Span)> {
        if let RawBody::Group(entries, span) = &entry.body {
            Some((entries, *span))
        } else {
            self.error(entry.span, format!("write `{}({how})`", entry.key.text()));
            None
        }
    }

    /// `key(NAME, field = ..., ...)`: the name and the other entries.
    fn keyed<'e>(&mut self, entry: &'e RawEntry, how: &str) -> Option<(String, Span, &'e [RawEntry])> {
        let (entries, _) = self.group(entry, how)?;
        if let Some(RawEntry { key, span, body: RawBody::Flag }) = entries.first() {
            Some((key.text().to_owned(), *span, &entries[1..]))
        } else {
            self.error(
                entry.span,
                format!("`{}` starts with its name: `{}({how})`", entry.key.text(), entry.key.text()),
            );
            None
        }
    }

    /// Fields of a keyed entry, each through `field`, which returns the Score key and node.
    fn fields(
        &mut self,
        entries: &[RawEntry],
        allowed: &[&str],
        what: &str,
        mut field: impl FnMut(&mut Self, &str, &RawEntry) -> Option<(&'static str, Node)>,
    ) -> Vec<(Key, Node)> {
        let mut map = Vec::new();
        for e in entries {
            let name = e.key.text();
            if !allowed.contains(&name) {
                self.error(e.span, format!("unknown {what} field `{name}`; expected one of {}", allowed.join(", ")));
                continue;
            }
            if let Some((score_key, node)) = field(self, name, e) {
                self.insert(&mut map, score_key, e.span, node);
            }
        }
        map
    }
}

const TOP_KEYS: &[&str] = &[
    "file",
    "name",
    "annotations",
    "release_command",
    "metadata",
    "container",
    "image",
    "command",
    "args",
    "variables",
    "volume",
    "requests",
    "limits",
    "liveness_probe",
    "readiness_probe",
    "port",
    "resource",
];

/// Parses the attribute's arguments (the tokens inside `#[score_workload(...)]`; empty for
/// the bare form). `attr_span` is the attribute's own span, for whole-attribute errors.
pub fn parse(tokens: proc_macro2::TokenStream, attr_span: Span) -> Result<Declared, syn::Error> {
    if tokens.is_empty() {
        return Ok(Declared::File { path: DEFAULT_FILE.to_owned(), span: attr_span });
    }
    // The grammar below is parsed recursively: refuse deep nesting before parsing it.
    if let Some(span) = nested_deeper_than(&tokens, MAX_DEPTH) {
        return Err(syn::Error::new(
            span,
            format!(
                "nesting deeper than {MAX_DEPTH} levels (limits::MAX_DEPTH); a Score workload is never that deep: flatten it"
            ),
        ));
    }
    let entries = parse_entries(tokens)?;
    let mut b = Builder { spans: Vec::new(), errors: Vec::new() };

    // `file = "..."` stands alone.
    if let Some(file) = entries.iter().find(|e| e.key.text() == "file" && matches!(e.body, RawBody::Value(_))) {
        for e in entries.iter().filter(|e| !std::ptr::eq(*e, file)) {
            if e.key.text() != "file" || matches!(e.body, RawBody::Value(_)) {
                b.error(e.span, "`file = \"...\"` reads the whole workload from a Score file: put this there instead");
            }
        }
        let (path, span) = if let RawBody::Value(RawValue::Str(s, span)) = &file.body {
            (s.clone(), *span)
        } else {
            b.error(file.span, "write `file = \"path/to/score.yaml\"`");
            (String::new(), file.span)
        };
        return finish(b, Declared::File { path, span });
    }

    let mut metadata: Vec<(Key, Node)> = Vec::new();
    let mut container: Vec<(Key, Node)> = Vec::new();
    let mut container_name: Option<(String, Span)> = None;
    let mut files: Vec<(Key, Node)> = Vec::new();
    let mut volumes: Vec<(Key, Node)> = Vec::new();
    let mut ports: Vec<(Key, Node)> = Vec::new();
    let mut resources: Vec<(Key, Node)> = Vec::new();
    let mut container_resources: Vec<(Key, Node)> = Vec::new();
    let mut release_command: Option<(Node, Span)> = None;
    let mut seen: Vec<&str> = Vec::new();

    for e in &entries {
        let key = e.key.text();
        if !TOP_KEYS.contains(&key) {
            b.error(e.span, format!("unknown argument `{key}`; expected one of {}", TOP_KEYS.join(", ")));
            continue;
        }
        let repeatable = matches!(key, "file" | "volume" | "port" | "resource");
        if !repeatable {
            if seen.contains(&key) {
                b.error(e.span, format!("`{key}` is specified more than once"));
                continue;
            }
            seen.push(key);
        }
        match key {
            "name" => {
                if let Some(n) = b.string(e) {
                    b.insert(&mut metadata, "name", e.span, n);
                }
            }
            "annotations" => {
                if let Some(n) = b.string_map(e) {
                    b.insert(&mut metadata, "annotations", e.span, n);
                }
            }
            "release_command" => {
                if let Some(n) = b.string(e) {
                    if matches!(&n.value, Value::Str(s) if s.trim().is_empty()) {
                        b.error(
                            e.span,
                            "`release_command` must not be empty: write the command Fly runs before each deploy",
                        );
                    } else {
                        release_command = Some((n, e.span));
                    }
                }
            }
            "metadata" => {
                if let Some((inner, _)) = b.group(e, "key = \"value\", ...") {
                    for m in inner {
                        if matches!(m.key.text(), "name" | "annotations") {
                            b.error(
                                m.span,
                                format!(
                                    "`{}` has its own argument: write `{} = ...` at the top",
                                    m.key.text(),
                                    m.key.text()
                                ),
                            );
                            continue;
                        }
                        let node = match &m.body {
                            RawBody::Value(v) => b.value(v),
                            RawBody::Group(g, s) => b.object(g, *s),
                            RawBody::Flag => {
                                b.error(m.span, format!("`{}` needs a value", m.key.text()));
                                continue;
                            }
                        };
                        b.insert(&mut metadata, m.key.text(), m.span, node);
                    }
                }
            }
            "container" => {
                if let Some(Node { value: Value::Str(s), .. }) = b.string(e) {
                    container_name = Some((s, e.span));
                }
            }
            "image" => {
                if let Some(n) = b.string(e) {
                    b.insert(&mut container, "image", e.span, n);
                }
            }
            "command" | "args" => {
                if let Some(n) = b.string_list(e) {
                    b.insert(&mut container, key, e.span, n);
                }
            }
            "variables" => {
                if let Some(n) = b.string_map(e) {
                    b.insert(&mut container, "variables", e.span, n);
                }
            }
            "file" => {
                let Some((target, span, rest)) = b.keyed(e, "\"/path\", content = \"...\"") else { continue };
                let fields = b.fields(
                    rest,
                    &["content", "source", "binary_content", "mode", "no_expand"],
                    "file",
                    |b, name, f| {
                        let score = match name {
                            "content" => "content",
                            "source" => "source",
                            "binary_content" => "binaryContent",
                            "mode" => "mode",
                            _ => "noExpand",
                        };
                        b.scalar(f).map(|n| (score, n))
                    },
                );
                let node = b.node(Value::Map(fields), span);
                b.insert_named(&mut files, "file", &target, span, node);
            }
            "volume" => {
                let Some((target, span, rest)) = b.keyed(e, "\"/path\", source = \"...\"") else { continue };
                let fields = b.fields(rest, &["source", "path", "read_only"], "volume", |b, name, f| {
                    let score = match name {
                        "source" => "source",
                        "path" => "path",
                        _ => "readOnly",
                    };
                    b.scalar(f).map(|n| (score, n))
                });
                let node = b.node(Value::Map(fields), span);
                b.insert_named(&mut volumes, "volume", &target, span, node);
            }
            "requests" | "limits" => {
                let Some((inner, span)) = b.group(e, "cpu = \"1\", memory = \"256Mi\"") else { continue };
                let fields = b.fields(inner, &["cpu", "memory"], key, |b, name, f| {
                    b.scalar(f).map(|n| (if name == "cpu" { "cpu" } else { "memory" }, n))
                });
                let node = b.node(Value::Map(fields), span);
                b.insert(&mut container_resources, key, e.span, node);
            }
            "liveness_probe" | "readiness_probe" => {
                let Some((inner, span)) = b.group(e, "http_get(path = \"/\", port = 8080)") else { continue };
                let fields = b.fields(inner, &["http_get", "exec"], "probe", |b, name, f| {
                    if name == "exec" {
                        let (inner, span) = b.group(f, "command = [\"...\"]")?;
                        let fields = b.fields(inner, &["command"], "exec probe", |b, _, c| {
                            b.string_list(c).map(|n| ("command", n))
                        });
                        return Some(("exec", b.node(Value::Map(fields), span)));
                    }
                    let (inner, span) = b.group(f, "path = \"/\", port = 8080")?;
                    let fields = b.fields(
                        inner,
                        &["path", "port", "scheme", "host", "http_headers"],
                        "http_get",
                        |b, name, h| {
                            Some(match name {
                                "path" => ("path", b.scalar(h)?),
                                "port" => ("port", b.scalar(h)?),
                                "scheme" => ("scheme", b.scalar(h)?),
                                "host" => ("host", b.scalar(h)?),
                                _ => {
                                    // http_headers(Name = "value", ...) → [{name, value}, ...]
                                    let (inner, span) = b.group(h, "Name = \"value\", ...")?;
                                    let mut items = Vec::new();
                                    for header in inner {
                                        let Some(value) = b.scalar(header) else { continue };
                                        let name_node = b.node(Value::Str(header.key.text().to_owned()), header.span);
                                        let name_key = b.key("name", header.span);
                                        let value_key = b.key("value", header.span);
                                        items.push(b.node(
                                            Value::Map(vec![(name_key, name_node), (value_key, value)]),
                                            header.span,
                                        ));
                                    }
                                    ("httpHeaders", b.node(Value::Seq(items), span))
                                }
                            })
                        },
                    );
                    Some(("httpGet", b.node(Value::Map(fields), span)))
                });
                let score = if key == "liveness_probe" { "livenessProbe" } else { "readinessProbe" };
                let node = b.node(Value::Map(fields), span);
                b.insert(&mut container, score, e.span, node);
            }
            "port" => {
                let Some((name, span, rest)) = b.keyed(e, "web, port = 443, target_port = 8080") else { continue };
                let fields = b.fields(rest, &["port", "target_port", "protocol"], "port", |b, name, f| {
                    let score = match name {
                        "port" => "port",
                        "target_port" => "targetPort",
                        _ => "protocol",
                    };
                    b.scalar(f).map(|n| (score, n))
                });
                let node = b.node(Value::Map(fields), span);
                b.insert_named(&mut ports, "port", &name, span, node);
            }
            "resource" => {
                let Some((name, span, rest)) = b.keyed(e, "db, type = \"postgres\"") else { continue };
                let fields = b.fields(
                    rest,
                    &["type", "class", "id", "params", "metadata"],
                    "resource",
                    |b, name, f| match name {
                        "type" => b.scalar(f).map(|n| ("type", n)),
                        "class" => b.scalar(f).map(|n| ("class", n)),
                        "id" => b.scalar(f).map(|n| ("id", n)),
                        "params" => {
                            let (inner, span) = b.group(f, "key = value, ...")?;
                            Some(("params", b.object(inner, span)))
                        }
                        _ => {
                            let (inner, span) = b.group(f, "annotations(...), key = value, ...")?;
                            Some(("metadata", b.object(inner, span)))
                        }
                    },
                );
                let node = b.node(Value::Map(fields), span);
                b.insert_named(&mut resources, "resource", &name, span, node);
            }
            _ => unreachable!("every TOP_KEYS entry is handled"),
        }
    }

    // Assemble the Score document.
    let call = attr_span;
    if let Some((node, span)) = release_command {
        add_release_command(&mut b, &mut metadata, node, span);
    }
    if !container.iter().any(|(k, _)| k.name == "image") {
        let k = b.key("image", call);
        let v = b.node(Value::Str(".".to_owned()), call);
        container.push((k, v));
    }
    let add = |b: &mut Builder, map: &mut Vec<(Key, Node)>, name: &str, entries: Vec<(Key, Node)>| {
        if !entries.is_empty() {
            let k = b.key(name, call);
            let v = b.node(Value::Map(entries), call);
            map.push((k, v));
        }
    };
    add(&mut b, &mut container, "files", files);
    add(&mut b, &mut container, "volumes", volumes);
    add(&mut b, &mut container, "resources", container_resources);
    let mut root: Vec<(Key, Node)> = Vec::new();
    let k = b.key("apiVersion", call);
    let v = b.node(Value::Str(spec::API_VERSION.to_owned()), call);
    root.push((k, v));
    let k = b.key("metadata", call);
    let v = b.node(Value::Map(metadata), call);
    root.push((k, v));
    let (cname, cspan) = container_name.unwrap_or_else(|| ("main".to_owned(), call));
    let ck = b.key(&cname, cspan);
    let cv = b.node(Value::Map(container), cspan);
    let k = b.key("containers", call);
    let v = b.node(Value::Map(vec![(ck, cv)]), call);
    root.push((k, v));
    if !ports.is_empty() {
        let pk = b.key("ports", call);
        let pv = b.node(Value::Map(ports), call);
        let k = b.key("service", call);
        let v = b.node(Value::Map(vec![(pk, pv)]), call);
        root.push((k, v));
    }
    add(&mut b, &mut root, "resources", resources);
    let root = Node { value: Value::Map(root), location: Some(b.location(call)) };
    Ok(Declared::Inline(Inline { root, spans: b.spans, errors: b.errors }))
}

/// The annotation `release_command = "..."` stands for.
pub const RELEASE_COMMAND_ANNOTATION: &str = "score-fly/release-command";

/// Puts `release_command = "..."` into `metadata.annotations` as
/// [`RELEASE_COMMAND_ANNOTATION`], refusing it when `annotations(...)` sets that key too.
fn add_release_command(b: &mut Builder, metadata: &mut Vec<(Key, Node)>, node: Node, span: Span) {
    let key = b.key(RELEASE_COMMAND_ANNOTATION, span);
    if let Some((_, annotations)) = metadata.iter_mut().find(|(k, _)| k.name == "annotations") {
        if let Value::Map(entries) = &mut annotations.value {
            if entries.iter().any(|(k, _)| k.name == RELEASE_COMMAND_ANNOTATION) {
                b.error(
                    span,
                    format!(
                        "`release_command` and the `{RELEASE_COMMAND_ANNOTATION}` annotation say the same thing: keep one"
                    ),
                );
                return;
            }
            entries.push((key, node));
        }
        return;
    }
    let annotations = b.node(Value::Map(vec![(key, node)]), span);
    let k = b.key("annotations", span);
    metadata.push((k, annotations));
}

fn finish(b: Builder, declared: Declared) -> Result<Declared, syn::Error> {
    let mut errors = b.errors.into_iter();
    match errors.next() {
        None => Ok(declared),
        Some(mut first) => {
            errors.for_each(|e| first.combine(e));
            Err(first)
        }
    }
}

/// Score's spellings → the attribute's (`livenessProbe` → `liveness_probe`...).
const SPELLINGS: &[(&str, &str)] = &[
    ("livenessProbe", "liveness_probe"),
    ("readinessProbe", "readiness_probe"),
    ("httpGet", "http_get"),
    ("httpHeaders", "http_headers"),
    ("targetPort", "target_port"),
    ("binaryContent", "binary_content"),
    ("noExpand", "no_expand"),
    ("readOnly", "read_only"),
];

/// A validator message in the attribute's terms: field paths without the
/// `containers.<name>.` prefix (the container's fields are top-level arguments), `snake_case`
/// names instead of Score's camelCase.
fn in_attribute_terms(d: &spec::Diagnostic) -> String {
    let mut path = d.path.clone();
    if let Some((_, fields)) = path.strip_prefix("containers.").and_then(|rest| rest.split_once('.')) {
        path = fields.to_owned();
    }
    let mut text = if path.is_empty() { d.message.clone() } else { format!("{path}: {}", d.message) };
    for (score, attribute) in SPELLINGS {
        text = text.replace(score, attribute);
    }
    text
}

/// Validates an inline workload with the Score validator; problems come back as errors on
/// the offending tokens (all of them combined).
pub fn load_inline(inline: Inline) -> Result<Loaded, syn::Error> {
    let Inline { root, spans, mut errors } = inline;
    let mut sources = SourceMap::default();
    sources.add("#[score_workload]", "");
    let loaded = spec::load_tree(root, sources, &spec::Overrides::default());
    if let Err(e) = &loaded {
        errors.extend(e.diagnostics.iter().map(|d| {
            let span = span_of(&spans, d.location).unwrap_or_else(Span::call_site);
            syn::Error::new(span, in_attribute_terms(d))
        }));
    }
    if errors.len() > crate::limits::MAX_DIAGNOSTICS {
        let more = errors.len() - crate::limits::MAX_DIAGNOSTICS;
        errors.truncate(crate::limits::MAX_DIAGNOSTICS);
        errors.push(syn::Error::new(
            Span::call_site(),
            format!(
                "{more} more problems not listed: only the first {} are (limits::MAX_DIAGNOSTICS); fix these and build again",
                crate::limits::MAX_DIAGNOSTICS
            ),
        ));
    }
    let mut errors = errors.into_iter();
    match (loaded, errors.next()) {
        (Ok(loaded), None) => Ok(loaded),
        (_, Some(mut first)) => {
            errors.for_each(|e| first.combine(e));
            Err(first)
        }
        (Err(_), None) => unreachable!("a load error has diagnostics"),
    }
}

/// The spans of an inline workload's tree, to map its locations back after it is consumed.
pub fn span_of(spans: &[Span], location: Option<Location>) -> Option<Span> {
    location.and_then(|l| spans.get(l.line.wrapping_sub(1))).copied()
}

/// What a binary's source declares.
#[derive(Debug)]
pub enum FromSource {
    /// No `#[score_workload]` on `fn main`.
    Nothing,
    /// A Score file (relative to the package's `Cargo.toml`), declared at `location`.
    File {
        /// The path.
        path: String,
        /// Where the attribute is.
        location: Location,
    },
    /// The workload itself, validated, with locations in the source file.
    Inline(Box<Loaded>),
}

/// A problem reading the attribute from source, located in the file.
#[derive(Debug, Clone)]
pub struct SourceError {
    /// Every problem, located (source 0 of `sources` is the file).
    pub diagnostics: Vec<spec::Diagnostic>,
    /// The file, for snippets.
    pub sources: SourceMap,
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match d.location {
                Some(l) => write!(f, "{}: {d}", self.sources.describe(l))?,
                None => write!(f, "{d}")?,
            }
        }
        Ok(())
    }
}

fn location_of(span: Span) -> Location {
    let start = span.start();
    Location { source: 0, line: start.line, column: start.column + 1 }
}

fn remap(node: &mut Node, spans: &[Span]) {
    node.location = span_of(spans, node.location).map(location_of);
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| remap(n, spans)),
        Value::Map(entries) => {
            for (k, v) in entries {
                k.location = span_of(spans, k.location).map(location_of);
                remap(v, spans);
            }
        }
        _ => {}
    }
}

/// Stack of the thread [`read_source`] parses in: `syn` parses Rust recursively, and a
/// debug build needs tens of KiB per level of nesting.
const PARSE_STACK_BYTES: usize = 64 * 1024 * 1024;

/// How much nesting (see [`recursion_estimate`]) a file may have for `syn` to check its
/// syntax within [`PARSE_STACK_BYTES`]: measured, a debug build handles well over 1,024
/// levels of each kind of nesting (brackets, generics, references, `fn() ->` types, unary
/// operators, `return`) in that stack. Files beyond it are not checked (cargo will be);
/// the attribute is still read.
const SYNTAX_CHECK_BUDGET: usize = 1024;

/// Reads `#[score_workload]` from a binary's source text (the way the macro sees it), without
/// building anything. Problems are located in the file.
///
/// Nothing here recurses with the input: the text is lexed by `proc-macro2` (iteratively),
/// `fn main` and its attributes are found by walking the top-level tokens, the attribute's
/// arguments are bounded by [`MAX_DEPTH`] before they are parsed, and `syn` checks the whole
/// file's syntax only when its nesting fits the stack of the thread it runs on (a file nested
/// deeper is not checked here; cargo reports its errors).
pub fn read_source(file_name: &str, text: &str) -> Result<FromSource, SourceError> {
    let (name, owned) = (file_name.to_owned(), text.to_owned());
    // Spans are only meaningful on the thread that lexed: the whole reading happens there.
    let worker = std::thread::Builder::new()
        .name("read_source".to_owned())
        .stack_size(PARSE_STACK_BYTES)
        .spawn(move || read_source_here(&name, &owned, true));
    match worker {
        Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        // No thread to be had: read the attribute here, without the syntax check.
        Err(_) => read_source_here(file_name, text, false),
    }
}

fn read_source_here(file_name: &str, text: &str, check_syntax: bool) -> Result<FromSource, SourceError> {
    let mut sources = SourceMap::default();
    sources.add(file_name, text);
    let fail = |errors: Vec<syn::Error>, sources: SourceMap| {
        let diagnostics = errors
            .into_iter()
            .flat_map(IntoIterator::into_iter)
            .map(|e| spec::Diagnostic {
                path: String::new(),
                location: Some(location_of(e.span())),
                message: e.to_string(),
            })
            .collect();
        SourceError { diagnostics, sources }
    };
    let tokens: TokenStream = rust_text(text).parse().map_err(|e| fail(vec![syn::Error::from(e)], sources.clone()))?;
    if check_syntax && recursion_estimate(&tokens) <= SYNTAX_CHECK_BUDGET {
        syn::parse2::<syn::File>(tokens.clone()).map_err(|e| fail(vec![e], sources.clone()))?;
    }
    let Some((path, rest)) =
        main_attributes(&tokens).into_iter().find(|(path, _)| path.last().is_some_and(|s| s == "score_workload"))
    else {
        return Ok(FromSource::Nothing);
    };
    let span = path.last().map_or_else(Span::call_site, proc_macro2::Ident::span);
    let tokens = match rest.as_slice() {
        [] => TokenStream::new(),
        [TokenTree::Group(list)] if list.delimiter() != Delimiter::None => list.stream(),
        _ => {
            return Err(fail(
                vec![syn::Error::new(path[0].span(), "write #[score_workload(...)] or #[score_workload]")],
                sources,
            ));
        }
    };
    match parse(tokens, span).map_err(|e| fail(vec![e], sources.clone()))? {
        Declared::File { path, span } => Ok(FromSource::File { path, location: location_of(span) }),
        Declared::Inline(Inline { mut root, spans, errors }) => {
            remap(&mut root, &spans);
            let loaded = spec::load_tree(root, sources.clone(), &spec::Overrides::default());
            let mut failed = fail(errors, sources.clone());
            match loaded {
                Ok(loaded) if failed.diagnostics.is_empty() => Ok(FromSource::Inline(Box::new(loaded))),
                Ok(_) => Err(failed),
                Err(e) => {
                    failed.diagnostics.extend(e.diagnostics);
                    failed.diagnostics.sort_by_key(|d| d.location.map(|l| (l.line, l.column)));
                    spec::cap_diagnostics(&mut failed.diagnostics, "problems");
                    Err(failed)
                }
            }
        }
    }
}

/// The text as `syn::parse_file` reads it: without a byte order mark, and with a shebang
/// line blanked (its line break kept, so lines keep their numbers).
fn rust_text(text: &str) -> &str {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(rest) = text.strip_prefix("#!")
        && !rest.trim_start().starts_with('[')
    {
        return text.find('\n').map_or("", |end| &text[end..]);
    }
    text
}

/// How deeply `syn` may recurse on these tokens, over-estimated: for every token, the
/// nesting depth plus, at each enclosing level, the tokens since the last `;`, `,` or `{...}`
/// (which end statements and items). Counted without recursion.
fn recursion_estimate(tokens: &TokenStream) -> usize {
    struct Level {
        tokens: proc_macro2::token_stream::IntoIter,
        run: usize,
        /// The group being walked below this level is a `{...}`: it ends this level's run.
        ends_run: bool,
    }
    let mut levels = vec![Level { tokens: tokens.clone().into_iter(), run: 0, ends_run: false }];
    let mut runs = 0usize;
    let mut worst = 0usize;
    while !levels.is_empty() {
        let depth = levels.len();
        let level = &mut levels[depth - 1];
        let Some(token) = level.tokens.next() else {
            runs -= level.run;
            levels.pop();
            if let Some(parent) = levels.last_mut()
                && std::mem::take(&mut parent.ends_run)
            {
                runs -= parent.run;
                parent.run = 0;
            }
            continue;
        };
        level.run += 1;
        runs += 1;
        worst = worst.max(runs + depth);
        match token {
            TokenTree::Punct(p) if matches!(p.as_char(), ';' | ',') => {
                runs -= level.run;
                level.run = 0;
            }
            TokenTree::Group(group) => {
                level.ends_run = group.delimiter() == Delimiter::Brace;
                levels.push(Level { tokens: group.stream().into_iter(), run: 0, ends_run: false });
            }
            _ => {}
        }
    }
    worst
}

/// The outer attributes of the first top-level `fn main`, each as its path and the tokens
/// after it, found by walking the top-level tokens (no parsing, no recursion).
fn main_attributes(tokens: &TokenStream) -> Vec<(Vec<proc_macro2::Ident>, Vec<TokenTree>)> {
    let top: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let is_ident = |t: &TokenTree, name: &str| matches!(t, TokenTree::Ident(i) if i == name);
    let Some(fn_at) = top.windows(2).position(|w| is_ident(&w[0], "fn") && is_ident(&w[1], "main")) else {
        return Vec::new();
    };
    // Back over the qualifiers: `pub`, `pub(crate)`, `const`, `async`, `unsafe`, `safe`,
    // `extern "C"`.
    let mut at = fn_at;
    while at > 0 {
        match &top[at - 1] {
            TokenTree::Ident(i)
                if ["pub", "const", "async", "unsafe", "safe", "extern", "default"].iter().any(|q| i == q) => {}
            TokenTree::Literal(_) => {}
            TokenTree::Group(g)
                if g.delimiter() == Delimiter::Parenthesis && at >= 2 && is_ident(&top[at - 2], "pub") => {}
            _ => break,
        }
        at -= 1;
    }
    // Back over the attributes: `#` `[...]` pairs (not `#!`, an inner attribute).
    let mut attributes = Vec::new();
    while at >= 2
        && let (TokenTree::Punct(hash), TokenTree::Group(group)) = (&top[at - 2], &top[at - 1])
        && hash.as_char() == '#'
        && group.delimiter() == Delimiter::Bracket
    {
        attributes.push(group.stream());
        at -= 2;
    }
    attributes.reverse();
    attributes
        .into_iter()
        .map(|stream| {
            // The path: `a`, `a::b`, `::a::b`.
            let mut inner = stream.into_iter().peekable();
            let mut path = Vec::new();
            let mut colons = 2;
            loop {
                match inner.peek() {
                    Some(TokenTree::Ident(ident)) if colons == 2 => {
                        path.push(ident.clone());
                        colons = 0;
                    }
                    // `::` between segments (or leading: `colons` is 2 until the first ident).
                    Some(TokenTree::Punct(p)) if p.as_char() == ':' && (colons < 2 || path.is_empty()) => {
                        colons = if path.is_empty() { 2 } else { colons + 1 };
                    }
                    _ => break,
                }
                inner.next();
            }
            (path, inner.collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn all(e: syn::Error) -> String {
        e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join(" | ")
    }

    fn load(tokens: proc_macro2::TokenStream) -> Result<spec::Workload, String> {
        match parse(tokens, Span::call_site()).map_err(all)? {
            Declared::Inline(inline) => load_inline(inline).map(|l| l.workload).map_err(all),
            Declared::File { path, .. } => Err(format!("file {path}")),
        }
    }

    #[test]
    fn a_full_workload() {
        let w = load(quote! {
            name = "todo",
            annotations("score-fly/service-web-handlers" = "tls,http"),
            metadata(team = "storage"),
            variables(RUST_LOG = "info", DATABASE_URL = "postgres://${resources.db.host}"),
            file("/etc/todo.toml", content = "port = 8080", mode = "0644"),
            volume("/data", source = "${resources.data}"),
            requests(cpu = "1", memory = "256Mi"),
            limits(cpu = "2", memory = "512Mi"),
            liveness_probe(http_get(path = "/livez", port = 8080)),
            readiness_probe(http_get(path = "/healthz", port = 8080, http_headers(X_Probe = "fly"))),
            port(web, port = 443, target_port = 8080),
            resource(db, type = "postgres", params(size = 1, tags = ["a"], nested(x = true))),
            resource(data, type = "volume"),
        })
        .unwrap();
        assert_eq!(w.name(), "todo");
        let c = &w.containers["main"];
        assert_eq!(c.image, ".");
        assert_eq!(c.variables["RUST_LOG"], "info");
        assert_eq!(c.files["/etc/todo.toml"].content.as_deref(), Some("port = 8080"));
        assert_eq!(c.resources.as_ref().unwrap().limits.as_ref().unwrap().memory.as_deref(), Some("512Mi"));
        assert_eq!(c.readiness_probe.as_ref().unwrap().http_get.as_ref().unwrap().http_headers[0].name, "X_Probe");
        assert_eq!(w.service.as_ref().unwrap().ports["web"].target_port, Some(8080));
        assert_eq!(w.resources["db"].params.as_ref().unwrap()["nested"]["x"], true);
        assert_eq!(w.metadata.extra["team"], "storage");
    }

    #[test]
    fn release_command_becomes_the_annotation() {
        let w = load(quote! { name = "todo", release_command = "/app/todo migrate" }).unwrap();
        assert_eq!(w.metadata.annotations[RELEASE_COMMAND_ANNOTATION], "/app/todo migrate");
        let w = load(quote! {
            name = "todo",
            annotations("example.com/owner" = "storage"),
            release_command = "/app/todo migrate",
        })
        .unwrap();
        assert_eq!(w.metadata.annotations[RELEASE_COMMAND_ANNOTATION], "/app/todo migrate");
        assert_eq!(w.metadata.annotations["example.com/owner"], "storage");
        for (tokens, fragment) in [
            (
                quote! { name = "a", release_command = "x", annotations("score-fly/release-command" = "y") },
                "say the same thing",
            ),
            (quote! { name = "a", release_command = " " }, "`release_command` must not be empty"),
            (quote! { name = "a", release_command = ["x"] }, "`release_command` takes a string, found a list"),
            (quote! { name = "a", release_command = "x", release_command = "y" }, "specified more than once"),
        ] {
            let e = load(tokens).unwrap_err();
            assert!(e.contains(fragment), "missing {fragment:?} in {e}");
        }
    }

    #[test]
    fn bare_and_file_forms() {
        assert!(
            matches!(parse(quote! {}, Span::call_site()).unwrap(), Declared::File { path, .. } if path == "score.yaml")
        );
        assert!(
            matches!(parse(quote! { file = "deploy/score.yaml" }, Span::call_site()).unwrap(), Declared::File { path, .. } if path == "deploy/score.yaml")
        );
        let e = parse(quote! { file = "x.yaml", name = "a" }, Span::call_site()).unwrap_err().to_string();
        assert!(e.contains("reads the whole workload"), "{e}");
    }

    #[test]
    fn every_problem_is_reported() {
        let e = load(quote! {
            name = "Bad_Name",
            nmae = "x",
            image = "nginx",
            image = "again",
            requests(cpu = "1.5m"),
            variables(A = "${resources.nope.host}"),
            port(web, port = 0),
            resource(db),
        })
        .unwrap_err();
        for fragment in [
            "unknown argument `nmae`",
            "`image` is specified more than once",
            "workload name `Bad_Name` is not valid",
            "cpu `1.5m` is not a CPU quantity",
            "no resource named `nope`",
            "port 0 is out of range",
            "missing required field `type`",
        ] {
            assert!(e.contains(fragment), "missing {fragment:?} in {e}");
        }
    }

    #[test]
    fn source_files_are_read_with_locations() {
        let text = "use x::score_workload;\n\n#[score_workload(\n    name = \"web\",\n    requests(cpu = \"lots\"),\n)]\nfn main() {}\n";
        let e = read_source("src/main.rs", text).unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!(e.sources.describe(d.location.unwrap()), "src/main.rs:5:20");
        assert!(d.message.contains("cpu `lots`"), "{e}");
        let ok = "#[tokio::main]\n#[score_fly_macros::score_workload(name = \"web\")]\nasync fn main() {}\n";
        let FromSource::Inline(loaded) = read_source("main.rs", ok).unwrap() else { panic!() };
        assert_eq!(loaded.workload.containers["main"].image, ".");
        assert!(
            matches!(read_source("main.rs", "#[score_workload]\nfn main() {}").unwrap(), FromSource::File { path, .. } if path == "score.yaml")
        );
        assert!(matches!(read_source("main.rs", "fn main() {}").unwrap(), FromSource::Nothing));
    }

    #[test]
    fn numbers_json_cannot_carry_are_refused() {
        let e = load(quote! { name = "web", metadata(x = 1e400) }).unwrap_err();
        assert!(e.contains("too large to be carried in JSON"), "{e}");
        assert!(load(quote! { name = "web", metadata(x = -1.5e300) }).is_ok());
    }

    /// `resource(db, ..., params(a(a(...(x = 1)...))))` with `groups` groups in all.
    fn deep_params(groups: usize) -> String {
        format!(
            "name = \"web\", resource(db, type = \"postgres\", params({}x = 1{}))",
            "a(".repeat(groups - 2),
            ")".repeat(groups - 2)
        )
    }

    #[test]
    fn argument_nesting_is_bounded_before_parsing() {
        let tokens: proc_macro2::TokenStream = deep_params(MAX_DEPTH + 1).parse().unwrap();
        let e = parse(tokens, Span::call_site()).unwrap_err().to_string();
        assert!(e.contains("nesting deeper than 64 levels (limits::MAX_DEPTH)"), "{e}");
        // Far deeper: refused before any recursion (this runs on a 2 MiB test thread).
        let tokens: proc_macro2::TokenStream = deep_params(100_000).parse().unwrap();
        assert!(parse(tokens, Span::call_site()).is_err());
        // Within the token bound but deeper than a Score tree may be (root, resources, db,
        // params, 62 levels of `a`, then `x`): the validator's check.
        let e = load(deep_params(MAX_DEPTH).parse().unwrap()).unwrap_err();
        assert!(e.contains("limits::MAX_DEPTH"), "{e}");
        assert!(load(deep_params(MAX_DEPTH - 3).parse().unwrap()).is_ok());
    }

    #[test]
    fn source_files_nested_deeply_are_read_without_overflow() {
        let text = format!("#[score_workload({})]\nfn main() {{}}\n", deep_params(100_000));
        let e = read_source("src/main.rs", &text).unwrap_err();
        let d = &e.diagnostics[0];
        assert!(d.message.contains("limits::MAX_DEPTH"), "{e}");
        // At the 65th group: `score_workload(` is not counted, `resource(` and `params(` are,
        // then 63 `a(`.
        let column = "#[score_workload(name = \"web\", resource(db, type = \"postgres\", params(".len() + 2 * 62 + 2;
        assert_eq!(e.sources.describe(d.location.unwrap()), format!("src/main.rs:1:{column}"));

        // Deep code elsewhere: the attribute is still read (the syntax is not checked).
        let attribute = "#[score_workload(name = \"web\", image = \"nginx\")]\n";
        for body in [
            format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000)),
            format!("let x = {}1;", "- ".repeat(100_000)),
            format!("let x: {}u8 = 0;", "fn() -> ".repeat(50_000)),
            format!("let x: {}u8{} = 0;", "Option<".repeat(50_000), ">".repeat(50_000)),
        ] {
            let text = format!("{attribute}fn main() {{ {body} }}\n");
            let FromSource::Inline(loaded) = read_source("main.rs", &text).unwrap() else { panic!("no workload") };
            assert_eq!(loaded.workload.containers["main"].image, "nginx");
        }
        // Deep code in the attribute's other forms.
        let text = format!("#[score_workload = {}1]\nfn main() {{}}\n", "- ".repeat(100_000));
        let e = read_source("main.rs", &text).unwrap_err().to_string();
        assert!(e.contains("write #[score_workload(...)]"), "{e}");
    }

    #[test]
    fn the_attribute_is_found_as_syn_finds_it() {
        let cases = [
            ("#[score_workload(name = \"web\")]\nfn main() {}\n", true),
            (
                "#![allow(unused)]\n/// Doc.\n#[tokio::main]\n#[score_fly_macros::score_workload(name = \"web\")]\npub async fn main() {}\n",
                true,
            ),
            (
                "#[::score_fly_macros::score_workload(name = \"web\")]\npub(crate) unsafe extern \"C\" fn main() {}\n",
                true,
            ),
            ("#!/usr/bin/env run-cargo-script\n#[score_workload(name = \"web\")]\nfn main() {}\n", true),
            ("\u{feff}#[score_workload(name = \"web\")]\nfn main() {}\n", true),
            ("mod inner {\n    #[score_workload(name = \"web\")]\n    fn main() {}\n}\nfn main() {}\n", false),
            ("#[score_workload(name = \"web\")]\nfn other() {}\nfn main() {}\n", false),
            ("// #[score_workload(name = \"web\")]\nfn main() {}\n", false),
        ];
        for (text, found) in cases {
            match read_source("main.rs", text) {
                Ok(FromSource::Inline(loaded)) => {
                    assert!(found, "found in {text:?}");
                    assert_eq!(loaded.workload.name(), "web");
                }
                Ok(FromSource::Nothing) => assert!(!found, "not found in {text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        // Lines keep their numbers after a shebang.
        let e = read_source("main.rs", "#!/usr/bin/env x\n\n#[score_workload(name = \"Web\")]\nfn main() {}\n")
            .unwrap_err();
        assert_eq!(e.sources.describe(e.diagnostics[0].location.unwrap()), "main.rs:3:25", "{e}");
        // Syntax errors anywhere are still reported, located.
        let e = read_source("main.rs", "#[score_workload(name = \"web\")]\nfn main() { let }\n").unwrap_err();
        assert_eq!(e.sources.describe(e.diagnostics[0].location.unwrap()), "main.rs:2:17", "{e}");
        let e = read_source("main.rs", "fn main() { \"unterminated }\n").unwrap_err();
        assert!(e.diagnostics[0].location.is_some(), "{e}");
    }
}
