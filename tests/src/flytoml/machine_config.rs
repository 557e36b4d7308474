//! The strict checks of a `machine_config` (fly-2026.md §2): written from the reference's
//! description of fly-go's `ContainerConfig` and flyctl's `containerconfig` rules, never
//! from score-fly's code. Stricter than flyctl where flyctl would pass something on that
//! the Machines API or the machine would then trip over.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde_json::{Map, Value};

const TOP_KEYS: &[&str] = &["containers", "volumes"];
const CONTAINER_KEYS: &[&str] = &[
    "name",
    "image",
    "cmd",
    "entrypoint",
    "exec",
    "user",
    "env",
    "env_from",
    "secrets",
    "files",
    "depends_on",
    "healthchecks",
    "restart",
    "stop",
    "mounts",
];
const FILE_KEYS: &[&str] = &["guest_path", "raw_value", "secret_name", "image_config", "local_path", "mode"];
const FILE_SOURCES: &[&str] = &["raw_value", "secret_name", "image_config", "local_path"];
const CONDITIONS: &[&str] = &["started", "healthy", "exited_successfully"];
const CHECK_KEYS: &[&str] = &[
    "name",
    "interval",
    "timeout",
    "grace_period",
    "success_threshold",
    "failure_threshold",
    "kind",
    "unhealthy",
    "http",
    "tcp",
    "exec",
];
const HTTP_KEYS: &[&str] = &["port", "method", "path", "scheme", "headers", "tls_skip_verify", "tls_server_name"];
const RESTART_POLICIES: &[&str] = &["no", "always", "on-failure"];

/// The problems of a `machine_config` value (path relative to `base`, message), given the
/// top-level `container` key. A `.json` path cannot be read from the text alone: only its
/// form is checked.
pub(super) fn check(base: &str, value: &str, container: Option<&str>) -> Vec<(String, String)> {
    let mut c = Check { problems: Vec::new() };
    // flyctl compares the suffix exactly (fly-2026.md §2.1).
    #[expect(clippy::case_sensitive_file_extension_comparisons)]
    let file = value.ends_with(".json");
    if file && !value.starts_with('{') {
        return c.problems;
    }
    if !value.starts_with('{') {
        c.push(base, format!("invalid machine config source: {value:?} (inline JSON must start with `{{`, a file must end in `.json`)"));
        return c.problems;
    }
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(root)) => c.root(base, &root, container),
        Ok(_) => c.push(base, "must be a JSON object"),
        Err(e) => c.push(base, format!("invalid machine config: {e}")),
    }
    c.problems
}

struct Check {
    problems: Vec<(String, String)>,
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Check {
    fn push(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push((path.to_owned(), message.into()));
    }

    fn known(&mut self, object: &Map<String, Value>, path: &str, allowed: &[&str]) {
        for key in object.keys().filter(|k| !allowed.contains(&k.as_str())) {
            self.push(&format!("{path}.{key}"), format!("unknown key (allowed here: {})", allowed.join(", ")));
        }
    }

    fn string<'v>(&mut self, object: &'v Map<String, Value>, path: &str, key: &str) -> Option<&'v str> {
        match object.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.push(&format!("{path}.{key}"), format!("must be a string, found {}", kind(other)));
                None
            }
        }
    }

    fn uint(&mut self, object: &Map<String, Value>, path: &str, key: &str, max: u64) -> Option<u64> {
        let value = object.get(key)?;
        match value.as_u64() {
            Some(n) if n <= max => Some(n),
            _ => {
                self.push(&format!("{path}.{key}"), format!("must be a whole number from 0 to {max}, found {value}"));
                None
            }
        }
    }

    fn objects<'v>(&mut self, object: &'v Map<String, Value>, path: &str, key: &str) -> Vec<&'v Map<String, Value>> {
        match object.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let found = item.as_object();
                    if found.is_none() {
                        self.push(&format!("{path}.{key}[{i}]"), format!("must be an object, found {}", kind(item)));
                    }
                    found
                })
                .collect(),
            Some(other) => {
                self.push(&format!("{path}.{key}"), format!("must be an array, found {}", kind(other)));
                Vec::new()
            }
        }
    }

    fn argv(&mut self, object: &Map<String, Value>, path: &str, key: &str) {
        match object.get(key) {
            None => {}
            Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {}
            Some(other) => {
                self.push(&format!("{path}.{key}"), format!("must be a non-empty array of strings, found {other}"));
            }
        }
    }

    fn root(&mut self, base: &str, root: &Map<String, Value>, selected: Option<&str>) {
        self.known(root, base, TOP_KEYS);
        let volumes: BTreeSet<&str> = self
            .objects(root, base, "volumes")
            .into_iter()
            .filter_map(|v| v.get("name").and_then(Value::as_str))
            .collect();
        let containers = self.objects(root, base, "containers");
        if containers.is_empty() {
            self.push(&format!("{base}.containers"), "must list at least one container");
            return;
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, container) in containers.iter().enumerate() {
            let path = format!("{base}.containers[{i}]");
            match self.string(container, &path, "name") {
                Some("") => self.push(&format!("{path}.name"), "must not be empty"),
                Some(name) if names.contains(&name) => {
                    self.push(&format!("{path}.name"), format!("container {name:?} is listed twice"));
                }
                Some(name) => names.push(name),
                None => self.push(&format!("{path}.name"), "is required"),
            }
        }
        // fly-2026.md §2.2: `container`, else `app`, else the first.
        let image_container = match selected {
            Some(name) if names.contains(&name) => name,
            Some(name) => {
                self.push(
                    "container",
                    format!("container {name:?} not found (machine_config has {})", names.join(", ")),
                );
                return;
            }
            None if names.contains(&"app") => "app",
            None => names.first().copied().unwrap_or_default(),
        };
        let checked: BTreeSet<&str> = containers
            .iter()
            .filter(|c| c.get("healthchecks").and_then(Value::as_array).is_some_and(|a| !a.is_empty()))
            .filter_map(|c| c.get("name").and_then(Value::as_str))
            .collect();
        let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (i, container) in containers.iter().enumerate() {
            let path = format!("{base}.containers[{i}]");
            let name = container.get("name").and_then(Value::as_str).unwrap_or_default();
            self.known(container, &path, CONTAINER_KEYS);
            match self.string(container, &path, "image") {
                Some(image) if image.trim().is_empty() && name != image_container => {
                    self.push(&format!("{path}.image"), format!("container {name:?} must have an image specified"));
                }
                None if name != image_container => {
                    self.push(&format!("{path}.image"), format!("container {name:?} must have an image specified"));
                }
                _ => {}
            }
            for key in ["cmd", "entrypoint", "exec"] {
                self.argv(container, &path, key);
            }
            if let Some(env) = container.get("env") {
                match env.as_object() {
                    Some(env) => {
                        for (key, value) in env {
                            if !value.is_string() || key.is_empty() || key.contains('=') {
                                self.push(&format!("{path}.env.{key}"), "must be a string under a name without `=`");
                            }
                        }
                    }
                    None => self.push(&format!("{path}.env"), format!("must be an object, found {}", kind(env))),
                }
            }
            self.files(container, &path);
            for (j, dep) in self.objects(container, &path, "depends_on").into_iter().enumerate() {
                let at = format!("{path}.depends_on[{j}]");
                self.known(dep, &at, &["name", "condition"]);
                let condition = self.string(dep, &at, "condition");
                if !condition.is_some_and(|c| CONDITIONS.contains(&c)) {
                    self.push(&format!("{at}.condition"), format!("must be one of {}", CONDITIONS.join(", ")));
                }
                match self.string(dep, &at, "name") {
                    Some(other) if other == name => {
                        self.push(&format!("{at}.name"), "a container cannot depend on itself");
                    }
                    Some(other) if !names.contains(&other) => {
                        self.push(
                            &format!("{at}.name"),
                            format!("names {other:?}, which is not a container of this machine"),
                        );
                    }
                    Some(other) => {
                        if condition == Some("healthy") && !checked.contains(other) {
                            self.push(
                                &format!("{at}.condition"),
                                format!("`healthy` needs container {other:?} to define a healthcheck"),
                            );
                        }
                        edges.entry(name).or_default().push(other);
                    }
                    None => self.push(&format!("{at}.name"), "is required"),
                }
            }
            self.healthchecks(container, &path);
            if let Some(restart) = container.get("restart") {
                match restart.as_object() {
                    Some(restart) => {
                        let at = format!("{path}.restart");
                        self.known(restart, &at, &["policy", "max_retries"]);
                        if !self.string(restart, &at, "policy").is_some_and(|p| RESTART_POLICIES.contains(&p)) {
                            self.push(
                                &format!("{at}.policy"),
                                format!("must be one of {}", RESTART_POLICIES.join(", ")),
                            );
                        }
                        self.uint(restart, &at, "max_retries", u64::from(u32::MAX));
                    }
                    None => self.push(&format!("{path}.restart"), "must be an object"),
                }
            }
            for (j, mount) in self.objects(container, &path, "mounts").into_iter().enumerate() {
                let at = format!("{path}.mounts[{j}]");
                self.known(mount, &at, &["name", "path"]);
                if !self.string(mount, &at, "name").is_some_and(|n| volumes.contains(n)) {
                    self.push(&format!("{at}.name"), "must name an entry of the machine's `volumes`");
                }
                if !self.string(mount, &at, "path").is_some_and(|p| p.starts_with('/')) {
                    self.push(&format!("{at}.path"), "must be an absolute path");
                }
            }
        }
        if let Some(cycle) = find_cycle(&edges) {
            self.push(&format!("{base}.containers"), format!("depends_on forms a cycle: {}", cycle.join(" → ")));
        }
    }

    fn files(&mut self, container: &Map<String, Value>, path: &str) {
        for (j, file) in self.objects(container, path, "files").into_iter().enumerate() {
            let at = format!("{path}.files[{j}]");
            self.known(file, &at, FILE_KEYS);
            if !self.string(file, &at, "guest_path").is_some_and(|p| p.starts_with('/')) {
                self.push(&format!("{at}.guest_path"), "is required and must be an absolute path");
            }
            let sources: Vec<&str> = FILE_SOURCES.iter().copied().filter(|k| file.contains_key(*k)).collect();
            if sources.len() != 1 {
                self.push(
                    &at,
                    format!("must have exactly one of {}, found {}", FILE_SOURCES.join(", "), sources.len()),
                );
            }
            if let Some(raw) = self.string(file, &at, "raw_value")
                && let Err(e) = base64::engine::general_purpose::STANDARD.decode(raw)
            {
                self.push(&format!("{at}.raw_value"), format!("must be standard base64 in machine_config: {e}"));
            }
            self.uint(file, &at, "mode", 0o7777);
        }
    }

    fn healthchecks(&mut self, container: &Map<String, Value>, path: &str) {
        for (j, check) in self.objects(container, path, "healthchecks").into_iter().enumerate() {
            let at = format!("{path}.healthchecks[{j}]");
            self.known(check, &at, CHECK_KEYS);
            // Integer seconds (fly-2026.md §2.3), unlike fly.toml's durations.
            for key in ["interval", "timeout", "grace_period", "success_threshold", "failure_threshold"] {
                self.uint(check, &at, key, 86_400);
            }
            if check.get("kind").is_some()
                && !self.string(check, &at, "kind").is_some_and(|k| ["readiness", "liveness"].contains(&k))
            {
                self.push(&format!("{at}.kind"), "must be readiness or liveness");
            }
            if check.get("unhealthy").is_some() && self.string(check, &at, "unhealthy") != Some("stop") {
                self.push(&format!("{at}.unhealthy"), "must be stop");
            }
            let kinds: Vec<&str> = ["http", "tcp", "exec"].into_iter().filter(|k| check.contains_key(*k)).collect();
            if kinds.len() != 1 {
                self.push(&at, format!("must have exactly one of http, tcp, exec, found {}", kinds.len()));
            }
            if let Some(http) = check.get("http").and_then(Value::as_object) {
                let h = format!("{at}.http");
                self.known(http, &h, HTTP_KEYS);
                if self.uint(http, &h, "port", 65_535).is_none_or(|p| p == 0) {
                    self.push(&format!("{h}.port"), "is required, from 1 to 65535");
                }
                if http.contains_key("path") && !self.string(http, &h, "path").is_some_and(|p| p.starts_with('/')) {
                    self.push(&format!("{h}.path"), "must start with `/`");
                }
                if http.contains_key("scheme")
                    && !self.string(http, &h, "scheme").is_some_and(|s| ["http", "https"].contains(&s))
                {
                    self.push(&format!("{h}.scheme"), "must be http or https");
                }
                for (k, header) in self.objects(http, &h, "headers").into_iter().enumerate() {
                    let hp = format!("{h}.headers[{k}]");
                    self.known(header, &hp, &["name", "values"]);
                    self.string(header, &hp, "name");
                    self.argv(header, &hp, "values");
                }
            }
            if let Some(tcp) = check.get("tcp").and_then(Value::as_object) {
                let t = format!("{at}.tcp");
                self.known(tcp, &t, &["port"]);
                if self.uint(tcp, &t, "port", 65_535).is_none_or(|p| p == 0) {
                    self.push(&format!("{t}.port"), "is required, from 1 to 65535");
                }
            }
            if let Some(exec) = check.get("exec").and_then(Value::as_object) {
                let e = format!("{at}.exec");
                self.known(exec, &e, &["command"]);
                if exec.get("command").is_none() {
                    self.push(&format!("{e}.command"), "is required");
                }
                self.argv(exec, &e, "command");
            }
        }
    }
}

/// A cycle of `depends_on`, as the names along it (first repeated at the end).
fn find_cycle<'n>(edges: &BTreeMap<&'n str, Vec<&'n str>>) -> Option<Vec<&'n str>> {
    fn visit<'n>(
        node: &'n str,
        edges: &BTreeMap<&'n str, Vec<&'n str>>,
        stack: &mut Vec<&'n str>,
        done: &mut BTreeSet<&'n str>,
    ) -> Option<Vec<&'n str>> {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node);
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[cfg(test)]
mod tests {
    use super::super::check;

    /// A fly.toml with `container` and this `machine_config` JSON.
    fn toml(container: &str, json: &str) -> String {
        format!("app = \"demo\"\ncontainer = \"{container}\"\nmachine_config = '{json}'\n")
    }

    fn rejects(text: &str, path: &str, fragment: &str) {
        let problems = check(text).expect_err(text);
        assert!(
            problems.iter().any(|p| p.path == path && p.message.contains(fragment)),
            "expected {path}: …{fragment}…, got {problems:#?}"
        );
    }

    const GOOD: &str = r#"{"containers":[{"name":"web","healthchecks":[{"name":"up","kind":"readiness","interval":5,"timeout":2,"http":{"port":8080,"method":"GET","path":"/","scheme":"http"}}]},{"name":"init","image":"busybox","restart":{"policy":"on-failure"}},{"name":"proxy","image":"nginx:1.27","depends_on":[{"name":"web","condition":"healthy"},{"name":"init","condition":"exited_successfully"}],"files":[{"guest_path":"/etc/x.conf","raw_value":"aGk=","mode":420}]}]}"#;

    #[test]
    fn a_valid_machine_config_passes() {
        assert_eq!(check(&toml("web", GOOD)), Ok(()));
    }

    #[test]
    fn every_rule_rejects_its_mistake() {
        rejects(&toml("nope", GOOD), "container", "container \"nope\" not found");
        rejects(
            &toml("web", &GOOD.replace("\"image\":\"busybox\",", "")),
            "machine_config.containers[1].image",
            "must have an image specified",
        );
        rejects(
            &toml("web", &GOOD.replace("aGk=", "hi!")),
            "machine_config.containers[2].files[0].raw_value",
            "base64",
        );
        rejects(
            &toml("web", &GOOD.replace("\"restart\"", "\"restarts\"")),
            "machine_config.containers[1].restarts",
            "unknown key",
        );
        rejects(
            &toml("web", &GOOD.replace(r#"{"name":"init","condition""#, r#"{"name":"db","condition""#)),
            "machine_config.containers[2].depends_on[1].name",
            "not a container",
        );
        rejects(
            &toml("web", &GOOD.replace("exited_successfully", "complete")),
            "machine_config.containers[2].depends_on[1].condition",
            "must be one of",
        );
        let cycle = GOOD.replace(
            r#""restart":{"policy":"on-failure"}"#,
            r#""depends_on":[{"name":"proxy","condition":"started"}]"#,
        );
        rejects(&toml("web", &cycle), "machine_config.containers", "cycle: init → proxy → init");
        rejects(
            &toml("web", &GOOD.replace("\"interval\":5", "\"interval\":\"5s\"")),
            "machine_config.containers[0].healthchecks[0].interval",
            "whole number",
        );
        rejects(&toml("web", &GOOD.replace(r#""name":"up","kind":"readiness","interval":5,"timeout":2,"http":{"port":8080,"method":"GET","path":"/","scheme":"http"}"#, r#""name":"up""#)), "machine_config.containers[0].healthchecks[0]", "exactly one of http, tcp, exec");
        rejects(
            "app = \"demo\"\nmachine_config = ' {\"containers\":[]}'\n",
            "machine_config",
            "invalid machine config source",
        );
        rejects("app = \"demo\"\ncontainer = \"web\"\n", "container", "no machine_config");
        // Under [experimental], `container` is ignored by flyctl: reported as an unknown key.
        rejects(
            &format!("app = \"demo\"\n[experimental]\ncontainer = \"web\"\nmachine_config = '{GOOD}'\n"),
            "experimental.container",
            "unknown key",
        );
    }
}
