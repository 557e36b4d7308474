//! Every rule of the official Score schema (`score-v1b1.json`), checked on a located tree.
//!
//! The rules mirror the schema one for one (required fields, unknown fields, name patterns
//! and lengths, ranges, enums, exactly-one-of file content, at-least-one-of probes, quantity
//! patterns) and every problem is collected, so the user sees them all at once. Patterns
//! are matched by hand with ECMA-262 semantics (`\d` is ASCII), lengths count characters.

use super::Diagnostic;
use super::node::{FieldPath, Key, Location, Node, Value};
use crate::quantity;

/// Checks a (pre-upgraded) Score document; returns every schema violation.
pub fn validate(root: &Node) -> Vec<Diagnostic> {
    let mut checker = Checker { diagnostics: Vec::new() };
    checker.root(root);
    checker.diagnostics
}

struct Checker {
    diagnostics: Vec<Diagnostic>,
}

const ROOT_FIELDS: &[&str] = &["apiVersion", "metadata", "service", "containers", "resources"];
const CONTAINER_FIELDS: &[&str] = &[
    "image",
    "command",
    "args",
    "variables",
    "files",
    "volumes",
    "before",
    "resources",
    "livenessProbe",
    "readinessProbe",
];
const FILE_FIELDS: &[&str] = &["target", "mode", "source", "content", "binaryContent", "noExpand"];
const VOLUME_FIELDS: &[&str] = &["source", "path", "target", "readOnly"];
const RESOURCE_FIELDS: &[&str] = &["type", "class", "id", "metadata", "params"];

impl Checker {
    fn error(&mut self, path: &FieldPath, location: Option<Location>, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic { path: path.to_string(), location, message: message.into() });
    }

    /// The map entries, or a type error.
    fn map<'n>(&mut self, node: &'n Node, path: &FieldPath, what: &str) -> Option<&'n [(Key, Node)]> {
        if let Some(entries) = node.as_map() {
            Some(entries)
        } else {
            self.error(path, node.location, format!("{what} must be a map, found {}", node.value.type_name()));
            None
        }
    }

    fn unknown_fields(&mut self, entries: &[(Key, Node)], allowed: &[&str], path: &FieldPath) {
        for (key, _) in entries {
            if !allowed.contains(&key.name.as_str()) {
                self.error(
                    &path.key(&key.name),
                    key.location,
                    format!("unknown field `{}`, expected one of {}", key.name, quote_list(allowed)),
                );
            }
        }
    }

    fn required(&mut self, node: &Node, fields: &[&str], path: &FieldPath) {
        for field in fields {
            if node.get(field).is_none() {
                self.error(&path.key(field), node.location, format!("missing required field `{field}`"));
            }
        }
    }

    fn string<'n>(&mut self, node: &'n Node, path: &FieldPath) -> Option<&'n str> {
        if let Some(s) = node.as_str() {
            Some(s)
        } else {
            self.error(path, node.location, format!("must be a string, found {}", node.value.type_name()));
            None
        }
    }

    fn non_empty_string(&mut self, node: &Node, path: &FieldPath) {
        if let Some(s) = self.string(node, path)
            && s.is_empty()
        {
            self.error(path, node.location, "must not be empty");
        }
    }

    fn boolean(&mut self, node: &Node, path: &FieldPath) {
        if !matches!(node.value, Value::Bool(_)) {
            self.error(path, node.location, format!("must be true or false, found {}", node.value.type_name()));
        }
    }

    fn port(&mut self, node: &Node, path: &FieldPath) {
        match node.as_integer() {
            Some(p) if (1..=65535).contains(&p) => {}
            Some(p) => self.error(path, node.location, format!("port {p} is out of range 1..65535")),
            None => self.error(
                path,
                node.location,
                format!("must be an integer port number, found {}", node.value.type_name()),
            ),
        }
    }

    fn string_array(&mut self, node: &Node, path: &FieldPath) {
        match &node.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.string(item, &path.index(i));
                }
            }
            other => self.error(path, node.location, format!("must be a list of strings, found {}", other.type_name())),
        }
    }

    fn enumeration(&mut self, node: &Node, path: &FieldPath, allowed: &[&str]) {
        if let Some(s) = self.string(node, path)
            && !allowed.contains(&s)
        {
            self.error(path, node.location, format!("`{s}` is not one of {}", quote_list(allowed)));
        }
    }

    fn label_key(&mut self, key: &Key, path: &FieldPath, what: &str) {
        if let Err(why) = check_label(&key.name) {
            self.error(&path.key(&key.name), key.location, format!("{what} `{}` is not a valid name: {why}", key.name));
        }
    }

    fn annotations(&mut self, node: &Node, path: &FieldPath) {
        let Some(entries) = self.map(node, path, "annotations") else { return };
        for (key, value) in entries {
            let key_path = path.key(&key.name);
            if let Err(why) = check_annotation_key(&key.name) {
                self.error(&key_path, key.location, format!("annotation key `{}` is invalid: {why}", key.name));
            }
            if value.as_str().is_none() {
                self.error(
                    &key_path,
                    value.location,
                    format!("annotation values must be strings, found {} (quote it)", value.value.type_name()),
                );
            }
        }
    }

    fn root(&mut self, root: &Node) {
        let path = FieldPath::root();
        let Some(entries) = root.as_map() else {
            self.error(
                &path,
                root.location,
                format!(
                    "a Score file must be a map with apiVersion, metadata and containers, found {}",
                    match root.value {
                        Value::Null => "an empty document",
                        ref v => v.type_name(),
                    }
                ),
            );
            return;
        };
        self.unknown_fields(entries, ROOT_FIELDS, &path);
        self.required(root, &["apiVersion", "metadata", "containers"], &path);
        if let Some(node) = root.get("apiVersion") {
            let p = path.key("apiVersion");
            if let Some(v) = self.string(node, &p)
                && v != super::API_VERSION
            {
                self.error(
                    &p,
                    node.location,
                    format!("unsupported apiVersion `{v}`, expected `{}`", super::API_VERSION),
                );
            }
        }
        if let Some(node) = root.get("metadata") {
            self.metadata(node, &path.key("metadata"));
        }
        if let Some(node) = root.get("service") {
            self.service(node, &path.key("service"));
        }
        if let Some(node) = root.get("containers") {
            self.containers(node, &path.key("containers"));
        }
        if let Some(node) = root.get("resources") {
            self.resources(node, &path.key("resources"));
        }
    }

    fn metadata(&mut self, node: &Node, path: &FieldPath) {
        if self.map(node, path, "metadata").is_none() {
            return;
        }
        self.required(node, &["name"], path);
        if let Some(name) = node.get("name") {
            let p = path.key("name");
            if let Some(s) = self.string(name, &p)
                && let Err(why) = check_label(s)
            {
                self.error(&p, name.location, format!("workload name `{s}` is not valid: {why}"));
            }
        }
        if let Some(annotations) = node.get("annotations") {
            self.annotations(annotations, &path.key("annotations"));
        }
    }

    fn service(&mut self, node: &Node, path: &FieldPath) {
        let Some(entries) = self.map(node, path, "service") else { return };
        self.unknown_fields(entries, &["ports"], path);
        let Some(ports) = node.get("ports") else { return };
        let ports_path = path.key("ports");
        let Some(entries) = self.map(ports, &ports_path, "service.ports") else { return };
        for (key, port) in entries {
            self.label_key(key, &ports_path, "port name");
            let p = ports_path.key(&key.name);
            let Some(fields) = self.map(port, &p, "a service port") else { continue };
            self.unknown_fields(fields, &["port", "protocol", "targetPort"], &p);
            self.required(port, &["port"], &p);
            if let Some(n) = port.get("port") {
                self.port(n, &p.key("port"));
            }
            if let Some(n) = port.get("targetPort") {
                self.port(n, &p.key("targetPort"));
            }
            if let Some(n) = port.get("protocol") {
                self.enumeration(n, &p.key("protocol"), &["TCP", "UDP"]);
            }
        }
    }

    fn containers(&mut self, node: &Node, path: &FieldPath) {
        let Some(entries) = self.map(node, path, "containers") else { return };
        if entries.is_empty() {
            self.error(path, node.location, "at least one container is required");
        }
        for (key, container) in entries {
            self.label_key(key, path, "container name");
            self.container(container, &path.key(&key.name));
        }
    }

    fn container(&mut self, node: &Node, path: &FieldPath) {
        let Some(entries) = self.map(node, path, "a container") else { return };
        self.unknown_fields(entries, CONTAINER_FIELDS, path);
        self.required(node, &["image"], path);
        if let Some(n) = node.get("image") {
            self.non_empty_string(n, &path.key("image"));
        }
        for field in ["command", "args"] {
            if let Some(n) = node.get(field) {
                self.string_array(n, &path.key(field));
            }
        }
        if let Some(n) = node.get("variables") {
            self.variables(n, &path.key("variables"));
        }
        if let Some(n) = node.get("files") {
            self.files(n, &path.key("files"));
        }
        if let Some(n) = node.get("volumes") {
            self.volumes(n, &path.key("volumes"));
        }
        if let Some(n) = node.get("before") {
            self.before(n, &path.key("before"));
        }
        if let Some(n) = node.get("resources") {
            self.container_resources(n, &path.key("resources"));
        }
        for field in ["livenessProbe", "readinessProbe"] {
            if let Some(n) = node.get(field) {
                self.probe(n, &path.key(field));
            }
        }
    }

    fn variables(&mut self, node: &Node, path: &FieldPath) {
        let Some(entries) = self.map(node, path, "variables") else { return };
        for (key, value) in entries {
            let p = path.key(&key.name);
            if key.name.is_empty() {
                self.error(&p, key.location, "variable names must not be empty");
            } else if key.name.contains('=') {
                self.error(&p, key.location, format!("variable name `{}` must not contain `=`", key.name));
            }
            if value.as_str().is_none() {
                self.error(
                    &p,
                    value.location,
                    format!("variable values must be strings, found {} (quote it)", value.value.type_name()),
                );
            }
        }
    }

    fn files(&mut self, node: &Node, path: &FieldPath) {
        match &node.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.file(item, &path.index(i), true);
                }
            }
            Value::Map(entries) => {
                for (key, file) in entries {
                    self.file(file, &path.key(&key.name), false);
                }
            }
            other => self.error(
                path,
                node.location,
                format!("files must be a map of target path to file, found {}", other.type_name()),
            ),
        }
    }

    fn file(&mut self, node: &Node, path: &FieldPath, in_array: bool) {
        let Some(entries) = self.map(node, path, "a file") else { return };
        self.unknown_fields(entries, FILE_FIELDS, path);
        if !in_array && let Some((key, _)) = entries.iter().find(|(k, _)| k.name == "target") {
            self.error(
                &path.key("target"),
                key.location,
                "`target` is only used in the deprecated list form; in the map form the key is the target",
            );
        }
        let sources: Vec<&str> =
            ["content", "binaryContent", "source"].into_iter().filter(|f| node.get(f).is_some()).collect();
        match sources.len() {
            1 => {}
            0 => self.error(path, node.location, "a file needs one of `content`, `binaryContent` or `source`"),
            _ => self.error(
                path,
                node.location,
                format!(
                    "a file takes exactly one of `content`, `binaryContent` or `source`, found {}",
                    quote_list(&sources)
                ),
            ),
        }
        if let Some(n) = node.get("target") {
            self.non_empty_string(n, &path.key("target"));
        }
        if let Some(n) = node.get("mode") {
            let p = path.key("mode");
            if let Some(mode) = self.string(n, &p)
                && !is_mode(mode)
            {
                self.error(
                    &p,
                    n.location,
                    format!("file mode `{mode}` must be 3 octal digits, optionally after a 0 (e.g. \"0644\")"),
                );
            }
        }
        if let Some(n) = node.get("source") {
            self.non_empty_string(n, &path.key("source"));
        }
        for field in ["content", "binaryContent"] {
            if let Some(n) = node.get(field) {
                self.string(n, &path.key(field));
            }
        }
        if let Some(n) = node.get("noExpand") {
            self.boolean(n, &path.key("noExpand"));
        }
    }

    fn volumes(&mut self, node: &Node, path: &FieldPath) {
        match &node.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.volume(item, &path.index(i), true);
                }
            }
            Value::Map(entries) => {
                for (key, volume) in entries {
                    self.volume(volume, &path.key(&key.name), false);
                }
            }
            other => self.error(
                path,
                node.location,
                format!("volumes must be a map of target path to volume, found {}", other.type_name()),
            ),
        }
    }

    fn volume(&mut self, node: &Node, path: &FieldPath, in_array: bool) {
        let Some(entries) = self.map(node, path, "a volume") else { return };
        self.unknown_fields(entries, VOLUME_FIELDS, path);
        if !in_array && let Some((key, _)) = entries.iter().find(|(k, _)| k.name == "target") {
            self.error(
                &path.key("target"),
                key.location,
                "`target` is only used in the deprecated list form; in the map form the key is the target",
            );
        }
        self.required(node, &["source"], path);
        for field in ["source", "path", "target"] {
            if let Some(n) = node.get(field) {
                self.string(n, &path.key(field));
            }
        }
        if let Some(n) = node.get("readOnly") {
            self.boolean(n, &path.key("readOnly"));
        }
    }

    fn before(&mut self, node: &Node, path: &FieldPath) {
        let Some(entries) = self.map(node, path, "before") else { return };
        for (key, value) in entries {
            self.label_key(key, path, "container name");
            let p = path.key(&key.name);
            let Some(fields) = self.map(value, &p, "a `before` entry") else { continue };
            self.unknown_fields(fields, &["ready"], &p);
            self.required(value, &["ready"], &p);
            if let Some(n) = value.get("ready") {
                self.enumeration(n, &p.key("ready"), &["started", "healthy", "complete"]);
            }
        }
    }

    fn container_resources(&mut self, node: &Node, path: &FieldPath) {
        let Some(entries) = self.map(node, path, "resources") else { return };
        self.unknown_fields(entries, &["limits", "requests"], path);
        for field in ["limits", "requests"] {
            let Some(n) = node.get(field) else { continue };
            let p = path.key(field);
            let Some(fields) = self.map(n, &p, field) else { continue };
            self.unknown_fields(fields, &["memory", "cpu"], &p);
            if let Some(cpu) = n.get("cpu") {
                let cp = p.key("cpu");
                if let Some(s) = self.string(cpu, &cp)
                    && !quantity::is_cpu(s)
                {
                    self.error(
                        &cp,
                        cpu.location,
                        format!("cpu `{s}` is not a CPU quantity (e.g. \"1\", \"0.5\", \"250m\")"),
                    );
                }
            }
            if let Some(memory) = n.get("memory") {
                let mp = p.key("memory");
                if let Some(s) = self.string(memory, &mp)
                    && !quantity::is_memory(s)
                {
                    self.error(
                        &mp,
                        memory.location,
                        format!("memory `{s}` is not a memory quantity (e.g. \"128M\", \"1Gi\", \"0.5Gi\")"),
                    );
                }
            }
        }
    }

    fn probe(&mut self, node: &Node, path: &FieldPath) {
        let Some(entries) = self.map(node, path, "a probe") else { return };
        self.unknown_fields(entries, &["httpGet", "exec"], path);
        if node.get("httpGet").is_none() && node.get("exec").is_none() {
            self.error(path, node.location, "a probe needs `httpGet` or `exec`");
        }
        if let Some(http) = node.get("httpGet") {
            let p = path.key("httpGet");
            if let Some(fields) = self.map(http, &p, "httpGet") {
                self.unknown_fields(fields, &["host", "scheme", "path", "port", "httpHeaders"], &p);
                self.required(http, &["port", "path"], &p);
                if let Some(n) = http.get("host") {
                    self.non_empty_string(n, &p.key("host"));
                }
                if let Some(n) = http.get("scheme") {
                    self.enumeration(n, &p.key("scheme"), &["HTTP", "HTTPS"]);
                }
                if let Some(n) = http.get("path") {
                    self.string(n, &p.key("path"));
                }
                if let Some(n) = http.get("port") {
                    self.port(n, &p.key("port"));
                }
                if let Some(n) = http.get("httpHeaders") {
                    self.http_headers(n, &p.key("httpHeaders"));
                }
            }
        }
        if let Some(exec) = node.get("exec") {
            let p = path.key("exec");
            if let Some(fields) = self.map(exec, &p, "exec") {
                self.unknown_fields(fields, &["command"], &p);
                self.required(exec, &["command"], &p);
                if let Some(n) = exec.get("command") {
                    self.string_array(n, &p.key("command"));
                }
            }
        }
    }

    fn http_headers(&mut self, node: &Node, path: &FieldPath) {
        let Value::Seq(items) = &node.value else {
            self.error(path, node.location, format!("httpHeaders must be a list, found {}", node.value.type_name()));
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let p = path.index(i);
            let Some(fields) = self.map(item, &p, "a header") else { continue };
            self.unknown_fields(fields, &["name", "value"], &p);
            self.required(item, &["name", "value"], &p);
            if let Some(n) = item.get("name") {
                let np = p.key("name");
                if let Some(name) = self.string(n, &np)
                    && (name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
                {
                    self.error(
                        &np,
                        n.location,
                        format!("header name `{name}` may only hold letters, digits, `_` and `-`"),
                    );
                }
            }
            if let Some(n) = item.get("value") {
                self.non_empty_string(n, &p.key("value"));
            }
        }
    }

    fn resources(&mut self, node: &Node, path: &FieldPath) {
        let Some(entries) = self.map(node, path, "resources") else { return };
        for (key, resource) in entries {
            self.label_key(key, path, "resource name");
            self.resource(resource, &path.key(&key.name));
        }
    }

    fn resource(&mut self, node: &Node, path: &FieldPath) {
        let Some(entries) = self.map(node, path, "a resource") else { return };
        self.unknown_fields(entries, RESOURCE_FIELDS, path);
        self.required(node, &["type"], path);
        for field in ["type", "class"] {
            if let Some(n) = node.get(field) {
                let p = path.key(field);
                if let Some(s) = self.string(n, &p)
                    && let Err(why) = check_type_name(s)
                {
                    self.error(&p, n.location, format!("resource {field} `{s}` is not valid: {why}"));
                }
            }
        }
        if let Some(n) = node.get("id") {
            let p = path.key("id");
            if let Some(s) = self.string(n, &p)
                && let Err(why) = check_resource_id(s)
            {
                self.error(&p, n.location, format!("resource id `{s}` is not valid: {why}"));
            }
        }
        if let Some(n) = node.get("metadata") {
            let p = path.key("metadata");
            if self.map(n, &p, "resource metadata").is_some()
                && let Some(a) = n.get("annotations")
            {
                self.annotations(a, &p.key("annotations"));
            }
        }
        if let Some(n) = node.get("params") {
            self.map(n, &path.key("params"), "params");
        }
    }
}

fn quote_list(items: &[&str]) -> String {
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

/// RFC 1123 label as Score uses it: `^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$` (2..63 characters).
pub fn check_label(name: &str) -> Result<(), &'static str> {
    let n = name.chars().count();
    if n < 2 {
        return Err("it must be at least 2 characters long");
    }
    if n > 63 {
        return Err("it must be at most 63 characters long");
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err("only lowercase letters, digits and `-` are allowed");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must start and end with a letter or digit");
    }
    Ok(())
}

/// Resource type/class: `^[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9]$`.
pub fn check_type_name(name: &str) -> Result<(), &'static str> {
    let n = name.chars().count();
    if !(2..=63).contains(&n) {
        return Err("it must be 2 to 63 characters long");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("only letters, digits and `-` are allowed");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must start and end with a letter or digit");
    }
    Ok(())
}

/// Resource id: dot-separated lowercase labels (`-` inside only), 2..63 characters.
pub fn check_resource_id(id: &str) -> Result<(), &'static str> {
    let n = id.chars().count();
    if !(2..=63).contains(&n) {
        return Err("it must be 2 to 63 characters long");
    }
    for label in id.split('.') {
        if label.is_empty() {
            return Err("labels between dots must not be empty");
        }
        if !label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err("only lowercase letters, digits, `-` and `.` are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("each dot-separated part must start and end with a letter or digit");
        }
    }
    Ok(())
}

/// Annotation key: optional DNS-subdomain prefix and `/`, then a 2..63 character name.
pub fn check_annotation_key(key: &str) -> Result<(), &'static str> {
    let n = key.chars().count();
    if !(2..=316).contains(&n) {
        return Err("it must be 2 to 316 characters long");
    }
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        for label in prefix.split('.') {
            if check_label(label).is_err() {
                return Err("the prefix before `/` must be dot-separated lowercase DNS labels of 2+ characters");
            }
        }
    }
    let m = name.chars().count();
    if !(2..=63).contains(&m) {
        return Err("the name part must be 2 to 63 characters long");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err("the name part may only hold letters, digits, `.`, `_` and `-`");
    }
    let first = name.chars().next().unwrap_or('-');
    let last = name.chars().last().unwrap_or('-');
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err("the name part must start and end with a letter or digit");
    }
    Ok(())
}

/// `^0?[0-7]{3}$`
fn is_mode(mode: &str) -> bool {
    let digits = if mode.len() == 4 { mode.strip_prefix('0') } else { Some(mode) };
    digits.is_some_and(|d| d.len() == 3 && d.bytes().all(|b| (b'0'..=b'7').contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(check_label("ab").is_ok());
        assert!(check_label("a").is_err());
        assert!(check_label(&"a".repeat(63)).is_ok());
        assert!(check_label(&"a".repeat(64)).is_err());
        assert!(check_label("a-b").is_ok());
        assert!(check_label("-ab").is_err());
        assert!(check_label("ab-").is_err());
        assert!(check_label("Ab").is_err());
        assert!(check_label("a_b").is_err());
    }

    #[test]
    fn ids() {
        assert!(check_resource_id("shared-thing").is_ok());
        assert!(check_resource_id("a.b-c.d").is_ok());
        assert!(check_resource_id("a--b").is_ok());
        assert!(check_resource_id("a..b").is_err());
        assert!(check_resource_id("-a").is_err());
        assert!(check_resource_id("a-").is_err());
        assert!(check_resource_id("Up").is_err());
        assert!(check_resource_id("a").is_err());
        assert!(check_resource_id("a.b").is_ok());
    }

    #[test]
    fn annotation_keys() {
        assert!(check_annotation_key("ab").is_ok());
        assert!(check_annotation_key("prefix.com/Another-Key_Annotation.2").is_ok());
        assert!(check_annotation_key("score-fly/service-web-handlers").is_ok());
        assert!(check_annotation_key("Prefix.com/key").is_err());
        assert!(check_annotation_key("a.b/key").is_err(), "prefix labels need 2 characters");
        assert!(check_annotation_key("key.").is_err());
        assert!(check_annotation_key("a/b/c").is_err());
        assert!(check_annotation_key("x").is_err());
    }

    #[test]
    fn modes() {
        for ok in ["0644", "644", "0777", "000"] {
            assert!(is_mode(ok), "{ok}");
        }
        for bad in ["0999", "10644", "644x", "64", "0o644", "08644"] {
            assert!(!is_mode(bad), "{bad}");
        }
    }
}
