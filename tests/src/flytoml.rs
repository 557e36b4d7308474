//! Independent, strict `fly.toml` checker: rejects everything Fly.io would reject.
//!
//! Written from Fly.io's documented behaviour (`../shared/reference/fly.md`) and the rules
//! flyctl's `internal/appconfig` applies, never from score-fly's product code. It is
//! deliberately stricter than flyctl wherever flyctl would silently ignore, rewrite or drop
//! something (an unknown key, a service check interval it raises, an empty `raw_value`),
//! because a generator producing such a file has a bug even if the deploy goes through.
//!
//! The file is parsed into a [`toml::Table`] and walked one section at a time; every problem
//! is collected with the key path it concerns (`services[0].ports[1].handlers[0]`), then the
//! rules that span sections (process groups, duplicate services and ports, one mount per
//! group, deploy strategy constraints) run on facts gathered during the walk.
//!
//! ```
//! use score_fly_tests::flytoml;
//!
//! assert!(flytoml::check("app = \"demo\"\n").is_ok());
//! let problems = flytoml::check("[http_service]\nforce_https = true\n").unwrap_err();
//! assert_eq!(problems[0].to_string(), "http_service.internal_port: is required");
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;

use toml::{Table, Value};

mod machine_config;

/// A problem found in a fly.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path concerned, such as `services[0].ports[1].handlers[0]` (`<toml>` when the
    /// text is not TOML at all).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Checks a fly.toml text; Ok(()) when Fly would accept it, else every problem found (not just the first).
pub fn check(text: &str) -> Result<(), Vec<Problem>> {
    let root = match text.parse::<Table>() {
        Ok(root) => root,
        Err(error) => {
            return Err(vec![Problem {
                path: PARSE_PATH.to_owned(),
                message: format!("invalid TOML: {}", error.to_string().trim_end()),
            }]);
        }
    };
    let mut checker = Checker::new(&root);
    checker.run(&root);
    if checker.problems.is_empty() { Ok(()) } else { Err(checker.problems) }
}

/// Panics with all problems listed (and the text) if `text` is not a valid fly.toml. For tests.
pub fn assert_valid(text: &str) {
    if let Err(problems) = check(text) {
        let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
        panic!("fly.toml is not valid ({} problem(s)):\n{}\n--- fly.toml ---\n{text}", problems.len(), list.join("\n"));
    }
}

/// The path reported for a text that is not TOML.
const PARSE_PATH: &str = "<toml>";

const TOP_KEYS: &[&str] = &[
    "app",
    "primary_region",
    "kill_signal",
    "kill_timeout",
    "swap_size_mb",
    "console_command",
    "experimental",
    "build",
    "deploy",
    "env",
    "processes",
    "mounts",
    "http_service",
    "services",
    "checks",
    "files",
    "vm",
    "statics",
    "metrics",
    "restart",
    "machine_config",
    "container",
    "host_dedication_id",
];
const BUILD_KEYS: &[&str] = &[
    "image",
    "dockerfile",
    "ignorefile",
    "build-target",
    "args",
    "builder",
    "buildpacks",
    "compression",
    "compression_level",
];
/// flyctl's `appconfig.Deploy` (fly-2026.md §3.1–§3.2: `release_command_vm` sizes the
/// release machine with `[[vm]]`'s keys; `seed_command` runs only in `fly launch`).
const DEPLOY_KEYS: &[&str] = &[
    "strategy",
    "max_unavailable",
    "wait_timeout",
    "release_command",
    "release_command_timeout",
    "release_command_vm",
    "seed_command",
];
const EXPERIMENTAL_KEYS: &[&str] = &[
    "cmd",
    "entrypoint",
    "exec",
    "auto_rollback",
    "enable_consul",
    "enable_etcd",
    "lazy_load_images",
    "machine_config",
    "use_zstd",
];
const EXPERIMENTAL_FLAGS: &[&str] = &["auto_rollback", "enable_consul", "enable_etcd", "lazy_load_images", "use_zstd"];
const HTTP_SERVICE_KEYS: &[&str] = &[
    "internal_port",
    "force_https",
    "auto_stop_machines",
    "auto_start_machines",
    "min_machines_running",
    "processes",
    "concurrency",
    "tls_options",
    "http_options",
    "checks",
];
const SERVICE_KEYS: &[&str] = &[
    "protocol",
    "internal_port",
    "auto_stop_machines",
    "auto_start_machines",
    "min_machines_running",
    "processes",
    "concurrency",
    "ports",
    "tcp_checks",
    "http_checks",
];
const PORT_KEYS: &[&str] = &[
    "port",
    "start_port",
    "end_port",
    "handlers",
    "force_https",
    "tls_options",
    "http_options",
    "proxy_proto_options",
];
const CONCURRENCY_KEYS: &[&str] = &["type", "hard_limit", "soft_limit"];
const TLS_OPTIONS_KEYS: &[&str] = &["alpn", "versions", "default_self_signed"];
const HTTP_OPTIONS_KEYS: &[&str] =
    &["compress", "response", "h2_backend", "idle_timeout", "headers_read_timeout", "replay_cache"];
const RESPONSE_KEYS: &[&str] = &["headers", "pristine"];
const REPLAY_CACHE_KEYS: &[&str] = &["path_prefix", "ttl_seconds", "type", "name", "allow_bypass"];
const PROXY_PROTO_KEYS: &[&str] = &["version"];
const TCP_CHECK_KEYS: &[&str] = &["interval", "timeout", "grace_period"];
const HTTP_CHECK_KEYS: &[&str] = &[
    "interval",
    "timeout",
    "grace_period",
    "method",
    "path",
    "protocol",
    "tls_skip_verify",
    "tls_server_name",
    "headers",
];
/// Keys that only make sense on an http check.
const HTTP_ONLY_CHECK_KEYS: &[&str] = &["method", "path", "protocol", "tls_skip_verify", "tls_server_name", "headers"];
const MACHINE_CHECK_KEYS: &[&str] = &[
    "type",
    "port",
    "processes",
    "interval",
    "timeout",
    "grace_period",
    "method",
    "path",
    "protocol",
    "tls_skip_verify",
    "tls_server_name",
    "headers",
];
const VM_KEYS: &[&str] =
    &["size", "memory", "memory_mb", "cpus", "cpu_kind", "processes", "kernel_args", "host_dedication_id"];
const MOUNT_KEYS: &[&str] = &[
    "source",
    "destination",
    "initial_size",
    "snapshot_retention",
    "auto_extend_size_threshold",
    "auto_extend_size_increment",
    "auto_extend_size_limit",
    "processes",
];
const AUTO_EXTEND_KEYS: [&str; 3] =
    ["auto_extend_size_threshold", "auto_extend_size_increment", "auto_extend_size_limit"];
const FILE_KEYS: &[&str] = &["guest_path", "local_path", "raw_value", "secret_name", "processes"];
const FILE_SOURCES: [&str; 3] = ["local_path", "raw_value", "secret_name"];
const RESTART_KEYS: &[&str] = &["policy", "retries", "processes"];
const STATIC_KEYS: &[&str] = &["guest_path", "url_prefix", "tigris_bucket", "index_document"];
const METRICS_KEYS: &[&str] = &["port", "path", "https", "processes"];

/// Common misspellings (or legacy spellings flyctl still rewrites) and what to write instead.
const KEY_HINTS: &[(&str, &str)] = &[
    ("build_target", "build-target"),
    ("mount", "mounts"),
    ("service", "services"),
    ("http_services", "http_service"),
    ("compute", "vm"),
    ("computes", "vm"),
    ("vms", "vm"),
    ("metric", "metrics"),
    ("static", "statics"),
    ("file", "files"),
    ("check", "checks"),
    ("restarts", "restart"),
    ("process", "processes"),
    ("handler", "handlers"),
    ("internalport", "internal_port"),
];

const SIGNALS: &[&str] = &["SIGINT", "SIGTERM", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGKILL", "SIGHUP"];
const STRATEGIES: &[&str] = &["canary", "rolling", "immediate", "bluegreen"];
const HANDLERS: &[&str] = &["http", "tls", "pg_tls", "proxy_proto"];
const HTTP_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const TLS_VERSIONS: &[&str] = &["TLSv1.2", "TLSv1.3"];
const AUTO_STOP_VALUES: &[&str] = &["off", "stop", "suspend"];
/// Longest app name that still works as a DNS label.
const MAX_APP_NAME: usize = 63;
/// Longest volume name Fly accepts.
const MAX_VOLUME_NAME: usize = 30;
/// Largest `kill_timeout`, in seconds.
const MAX_KILL_TIMEOUT_SECS: i64 = 300;

const NANOS_PER_MILLI: i128 = 1_000_000;
const NANOS_PER_SEC: i128 = 1_000_000_000;

/// The process groups of the app, as flyctl computes them.
struct Groups {
    /// The keys of `[processes]`, sorted; empty when the section is absent or empty.
    defined: Vec<String>,
    /// The group that items without `processes` belong to: `app` when it exists (or when no
    /// group is defined), else the first defined group in lexicographic order.
    default: String,
}

impl Groups {
    fn from_root(root: &Table) -> Self {
        let mut defined: Vec<String> = match root.get("processes") {
            Some(Value::Table(table)) => table.keys().cloned().collect(),
            _ => Vec::new(),
        };
        defined.sort();
        let default = if defined.is_empty() || defined.iter().any(|name| name == "app") {
            "app".to_owned()
        } else {
            defined[0].clone()
        };
        Self { defined, default }
    }

    fn is_valid(&self, name: &str) -> bool {
        if self.defined.is_empty() { name == "app" } else { self.defined.iter().any(|defined| defined == name) }
    }

    /// The groups an item applies to: its own `processes`, or the default group.
    fn effective(&self, processes: &[String]) -> BTreeSet<String> {
        if processes.is_empty() { BTreeSet::from([self.default.clone()]) } else { processes.iter().cloned().collect() }
    }
}

/// Something placed in some process groups (a mount, a file, a check).
struct Placed {
    path: String,
    groups: BTreeSet<String>,
}

/// A public port or port range a service listens on.
struct PublicPorts {
    path: String,
    start: i64,
    end: i64,
}

/// What the cross-section rules need to know about one service.
struct ServiceFacts {
    path: String,
    protocol: Option<String>,
    internal_port: Option<i64>,
    explicit_processes: bool,
    groups: BTreeSet<String>,
    ports: Vec<PublicPorts>,
}

/// A `[[vm]]` entry and the `processes` it names.
struct VmFacts {
    path: String,
    processes: Vec<String>,
}

/// Facts gathered while walking the sections.
#[derive(Default)]
struct Facts {
    services: Vec<ServiceFacts>,
    http_service_groups: Option<BTreeSet<String>>,
    mounts: Vec<Placed>,
    files: Vec<(Placed, String)>,
    vms: Vec<VmFacts>,
    portless_checks: Vec<Placed>,
    has_health_checks: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CpuKind {
    Shared,
    Performance,
}

impl CpuKind {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "shared" => Some(Self::Shared),
            "performance" => Some(Self::Performance),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Performance => "performance",
        }
    }

    fn cpu_counts(self) -> &'static [i64] {
        match self {
            Self::Shared => &[1, 2, 4, 6, 8],
            Self::Performance => &[1, 2, 4, 6, 8, 10, 12, 14, 16],
        }
    }

    /// Minimum, maximum and step of the memory (MB) a machine of this kind may have.
    fn memory_bounds(self, cpus: i64) -> (i64, i64, i64) {
        match self {
            Self::Shared => (256 * cpus, 2048 * cpus, 256),
            Self::Performance => (2048 * cpus, 8192 * cpus, 1024),
        }
    }

    fn preset_name(self, cpus: i64) -> String {
        match self {
            Self::Shared => format!("shared-cpu-{cpus}x"),
            Self::Performance => format!("performance-{cpus}x"),
        }
    }
}

/// A machine size preset such as `shared-cpu-2x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Preset {
    kind: CpuKind,
    cpus: i64,
}

impl Preset {
    /// What flyctl uses when `size` is not set.
    const DEFAULT: Self = Self { kind: CpuKind::Shared, cpus: 1 };

    fn parse(size: &str) -> Option<Self> {
        let (kind, rest) = if let Some(rest) = size.strip_prefix("shared-cpu-") {
            (CpuKind::Shared, rest)
        } else if let Some(rest) = size.strip_prefix("performance-") {
            (CpuKind::Performance, rest)
        } else {
            return None;
        };
        let digits = rest.strip_suffix('x')?;
        if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let cpus: i64 = digits.parse().ok()?;
        kind.cpu_counts().contains(&cpus).then_some(Self { kind, cpus })
    }

    fn default_memory(self) -> i64 {
        self.kind.memory_bounds(self.cpus).0
    }
}

/// Walks one parsed fly.toml and collects problems.
struct Checker {
    problems: Vec<Problem>,
    groups: Groups,
    facts: Facts,
}

impl Checker {
    fn new(root: &Table) -> Self {
        Self { problems: Vec::new(), groups: Groups::from_root(root), facts: Facts::default() }
    }

    fn run(&mut self, root: &Table) {
        self.top_level(root);
        self.env(root);
        self.processes_section(root);
        self.build(root);
        self.experimental(root);
        self.http_service(root);
        self.services(root);
        self.machine_checks(root);
        self.vms(root);
        self.mounts(root);
        self.files(root);
        self.restarts(root);
        self.statics(root);
        self.metrics(root);
        // Last: its rules depend on the mounts and checks gathered above.
        self.deploy(root);
        self.cross_checks();
    }

    // ----- reporting and typed access -------------------------------------------------

    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem { path: path.into(), message: message.into() });
    }

    fn wrong_type(&mut self, path: &str, key: &str, expected: &str, found: &Value) {
        self.push(key_path(path, key), format!("must be {expected}, found {}", kind(found)));
    }

    fn known_keys(&mut self, table: &Table, path: &str, allowed: &[&str]) {
        for key in table.keys() {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let message = match KEY_HINTS.iter().find(|(wrong, _)| wrong == key) {
                Some((_, right)) => format!("unknown key; did you mean `{right}`?"),
                None => format!("unknown key (allowed here: {})", allowed.join(", ")),
            };
            self.push(key_path(path, key), message);
        }
    }

    /// Reports a missing key; true when it is present.
    fn require(&mut self, table: &Table, path: &str, key: &str) -> bool {
        let present = table.contains_key(key);
        if !present {
            self.push(key_path(path, key), "is required");
        }
        present
    }

    fn string<'t>(&mut self, table: &'t Table, path: &str, key: &str) -> Option<&'t str> {
        match table.get(key)? {
            Value::String(text) => Some(text),
            other => {
                self.wrong_type(path, key, "a string", other);
                None
            }
        }
    }

    /// A string that must not be empty.
    fn text<'t>(&mut self, table: &'t Table, path: &str, key: &str) -> Option<&'t str> {
        let text = self.string(table, path, key)?;
        if text.trim().is_empty() {
            self.push(key_path(path, key), "must not be empty");
            return None;
        }
        Some(text)
    }

    fn boolean(&mut self, table: &Table, path: &str, key: &str) -> Option<bool> {
        match table.get(key)? {
            Value::Boolean(flag) => Some(*flag),
            other => {
                self.wrong_type(path, key, "a boolean", other);
                None
            }
        }
    }

    fn integer(&mut self, table: &Table, path: &str, key: &str) -> Option<i64> {
        match table.get(key)? {
            Value::Integer(number) => Some(*number),
            other => {
                self.wrong_type(path, key, "an integer", other);
                None
            }
        }
    }

    fn int_in(&mut self, table: &Table, path: &str, key: &str, range: RangeInclusive<i64>) -> Option<i64> {
        let number = self.integer(table, path, key)?;
        if range.contains(&number) {
            Some(number)
        } else {
            self.push(
                key_path(path, key),
                format!("must be between {} and {}, found {number}", range.start(), range.end()),
            );
            None
        }
    }

    fn int_at_least(&mut self, table: &Table, path: &str, key: &str, min: i64) -> Option<i64> {
        let number = self.integer(table, path, key)?;
        if number >= min {
            Some(number)
        } else {
            self.push(key_path(path, key), format!("must be at least {min}, found {number}"));
            None
        }
    }

    fn one_of<'t>(&mut self, table: &'t Table, path: &str, key: &str, allowed: &[&str]) -> Option<&'t str> {
        let text = self.string(table, path, key)?;
        if allowed.contains(&text) {
            Some(text)
        } else {
            self.push(key_path(path, key), format!("must be one of {}, found {text:?}", allowed.join(", ")));
            None
        }
    }

    fn table<'t>(&mut self, table: &'t Table, path: &str, key: &str) -> Option<&'t Table> {
        match table.get(key)? {
            Value::Table(inner) => Some(inner),
            other => {
                self.wrong_type(path, key, "a table", other);
                None
            }
        }
    }

    /// An array of strings; None (after reporting) when any item is not a string.
    fn strings<'t>(&mut self, table: &'t Table, path: &str, key: &str) -> Option<Vec<&'t str>> {
        let items = match table.get(key)? {
            Value::Array(items) => items,
            other => {
                self.wrong_type(path, key, "an array of strings", other);
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        let mut all_strings = true;
        for (index, item) in items.iter().enumerate() {
            if let Value::String(text) = item {
                out.push(text.as_str());
            } else {
                all_strings = false;
                self.push(
                    format!("{}[{index}]", key_path(path, key)),
                    format!("must be a string, found {}", kind(item)),
                );
            }
        }
        all_strings.then_some(out)
    }

    /// A table whose values must all be strings.
    fn string_map(&mut self, table: &Table, path: &str, key: &str) {
        let Some(map) = self.table(table, path, key) else {
            return;
        };
        let map_path = key_path(path, key);
        for (name, value) in map {
            if !value.is_str() {
                self.push(key_path(&map_path, name), format!("must be a string, found {}", kind(value)));
            }
        }
    }

    /// The tables of an array-of-tables section, with their paths. `single_ok`: flyctl also
    /// accepts one plain table there (`[mounts]` for `[[mounts]]`).
    fn tables<'t>(&mut self, table: &'t Table, path: &str, key: &str, single_ok: bool) -> Vec<(String, &'t Table)> {
        let base = key_path(path, key);
        let items = match table.get(key) {
            None => return Vec::new(),
            Some(Value::Table(single)) if single_ok => return vec![(base, single)],
            Some(Value::Array(items)) => items,
            Some(other) => {
                let expected = if single_ok {
                    format!("a table or an array of tables ([[{base}]])")
                } else {
                    format!("an array of tables ([[{base}]])")
                };
                self.wrong_type(path, key, &expected, other);
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{base}[{index}]");
            if let Value::Table(inner) = item {
                out.push((item_path, inner));
            } else {
                self.push(item_path, format!("must be a table, found {}", kind(item)));
            }
        }
        out
    }

    /// The `processes` list of an item; each name must be a process group of the app.
    fn processes(&mut self, table: &Table, path: &str) -> Vec<String> {
        let Some(names) = self.strings(table, path, "processes") else {
            return Vec::new();
        };
        let list_path = key_path(path, "processes");
        for (index, name) in names.iter().enumerate() {
            if self.groups.is_valid(name) {
                continue;
            }
            let message = if self.groups.defined.is_empty() {
                format!("process group {name:?} does not exist: without [processes] the only group is \"app\"")
            } else {
                format!(
                    "process group {name:?} is not defined in [processes] (defined: {})",
                    self.groups.defined.join(", ")
                )
            };
            self.push(format!("{list_path}[{index}]"), message);
        }
        names.into_iter().map(str::to_owned).collect()
    }

    fn shell_words(&mut self, path: &str, command: &str) {
        if let Some(why) = shell_split_error(command) {
            self.push(path, format!("cannot be split into words the way flyctl does: {why}"));
        }
    }

    /// A path value that must be absolute.
    fn absolute_path<'t>(&mut self, table: &'t Table, path: &str, key: &str) -> Option<&'t str> {
        let value = self.string(table, path, key)?;
        if value.starts_with('/') {
            Some(value)
        } else {
            self.push(key_path(path, key), format!("must be an absolute path, found {value:?}"));
            None
        }
    }

    /// A URL path value that must start with `/`.
    fn url_path(&mut self, table: &Table, path: &str, key: &str) {
        if let Some(value) = self.string(table, path, key)
            && !value.starts_with('/')
        {
            self.push(key_path(path, key), format!("must start with '/', found {value:?}"));
        }
    }

    // ----- top level ------------------------------------------------------------------

    fn top_level(&mut self, root: &Table) {
        self.known_keys(root, "", TOP_KEYS);
        if let Some(app) = self.string(root, "", "app")
            && let Some(why) = app_name_problem(app)
        {
            self.push("app", why);
        }
        if let Some(region) = self.string(root, "", "primary_region")
            && !(region.len() == 3 && region.bytes().all(|b| b.is_ascii_lowercase()))
        {
            self.push(
                "primary_region",
                format!("must be a three-letter lowercase region code such as \"fra\", found {region:?}"),
            );
        }
        self.one_of(root, "", "kill_signal", SIGNALS);
        self.kill_timeout(root);
        self.int_at_least(root, "", "swap_size_mb", 0);
        if let Some(command) = self.text(root, "", "console_command") {
            self.shell_words("console_command", command);
        }
        for key in ["machine_config", "container", "host_dedication_id"] {
            self.text(root, "", key);
        }
        self.machine_config(root);
    }

    /// `machine_config` (top level, or `[experimental]`, which wins: fly-2026.md §2.1) and
    /// the top-level `container` it is read with.
    fn machine_config(&mut self, root: &Table) {
        let experimental = root.get("experimental").and_then(Value::as_table).and_then(|e| e.get("machine_config"));
        let (path, value) = match (experimental, root.get("machine_config")) {
            (Some(Value::String(v)), _) => ("experimental.machine_config", v),
            (None, Some(Value::String(v))) => ("machine_config", v),
            _ => {
                if root.contains_key("container") {
                    self.push("container", "names a container, but there is no machine_config to choose it from");
                }
                return;
            }
        };
        let container = root.get("container").and_then(Value::as_str);
        for (at, message) in machine_config::check(path, value, container) {
            self.push(at, message);
        }
    }

    fn kill_timeout(&mut self, root: &Table) {
        let max_nanos = i128::from(MAX_KILL_TIMEOUT_SECS) * NANOS_PER_SEC;
        match root.get("kill_timeout") {
            Some(Value::Integer(secs)) if !(0..=MAX_KILL_TIMEOUT_SECS).contains(secs) => {
                self.push("kill_timeout", format!("must be between 0 and 300 seconds, found {secs}"));
            }
            None | Some(Value::Integer(_)) => {}
            Some(Value::String(text)) => match parse_go_duration(text) {
                Ok(nanos) if nanos < 0 => self.push("kill_timeout", "must not be negative"),
                Ok(nanos) if nanos > max_nanos => {
                    self.push("kill_timeout", format!("must be at most 300s, found {text:?}"));
                }
                Ok(_) => {}
                Err(why) => self.push("kill_timeout", why),
            },
            Some(other) => {
                self.wrong_type("", "kill_timeout", "an integer (seconds) or a duration string such as \"30s\"", other);
            }
        }
    }

    fn env(&mut self, root: &Table) {
        let Some(env) = self.table(root, "", "env") else {
            return;
        };
        for (name, value) in env {
            let path = key_path("env", name);
            if name.is_empty() {
                self.push(&path, "environment variable name must not be empty");
            } else if name.contains('=') {
                self.push(&path, "environment variable name must not contain '='");
            } else if name.starts_with("FLY_") {
                self.push(&path, "names starting with FLY_ are reserved by Fly.io");
            }
            if !value.is_str() {
                self.push(&path, format!("must be a string, found {}", kind(value)));
            }
        }
    }

    fn processes_section(&mut self, root: &Table) {
        let Some(processes) = self.table(root, "", "processes") else {
            return;
        };
        for (name, command) in processes {
            let path = key_path("processes", name);
            if name.is_empty() || name.chars().any(char::is_whitespace) {
                self.push(&path, "process group name must be non-empty and contain no whitespace");
            }
            match command {
                Value::String(command) => self.shell_words(&path, command),
                other => self.push(&path, format!("must be a string, found {}", kind(other))),
            }
        }
    }

    fn build(&mut self, root: &Table) {
        let Some(build) = self.table(root, "", "build") else {
            return;
        };
        let path = "build";
        self.known_keys(build, path, BUILD_KEYS);
        let image = self.text(build, path, "image");
        if let Some(image) = image
            && image.chars().any(char::is_whitespace)
        {
            self.push("build.image", format!("must be an image reference without whitespace, found {image:?}"));
        }
        let dockerfile = self.text(build, path, "dockerfile");
        self.text(build, path, "ignorefile");
        let target = self.text(build, path, "build-target");
        let builder = self.text(build, path, "builder");
        self.string_map(build, path, "args");
        let buildpacks = self.strings(build, path, "buildpacks");
        self.one_of(build, path, "compression", &["gzip", "zstd"]);
        self.int_in(build, path, "compression_level", 0..=9);

        let mut sources = Vec::new();
        if image.is_some() {
            sources.push("`image`");
        }
        if dockerfile.is_some() || target.is_some() {
            sources.push("`dockerfile`/`build-target`");
        }
        if builder.is_some() || buildpacks.is_some_and(|packs| !packs.is_empty()) {
            sources.push("`builder`/`buildpacks`");
        }
        if sources.len() > 1 {
            self.push(
                path,
                format!(
                    "ambiguous build: {} are all set, and flyctl silently picks one (an image wins); set only one",
                    sources.join(" and ")
                ),
            );
        }
    }

    fn experimental(&mut self, root: &Table) {
        let Some(experimental) = self.table(root, "", "experimental") else {
            return;
        };
        let path = "experimental";
        self.known_keys(experimental, path, EXPERIMENTAL_KEYS);
        for key in ["cmd", "entrypoint", "exec"] {
            self.argv(experimental, path, key);
        }
        for key in EXPERIMENTAL_FLAGS {
            self.boolean(experimental, path, key);
        }
        self.text(experimental, path, "machine_config");
    }

    /// An argument vector: an array of strings, or one string that flyctl turns into a
    /// one-element vector (so it must not hold several words).
    fn argv(&mut self, table: &Table, path: &str, key: &str) {
        match table.get(key) {
            Some(Value::String(word)) if word.chars().any(char::is_whitespace) => {
                self.push(
                    key_path(path, key),
                    format!(
                        "a single string is ONE argument (flyctl does not split it), so {word:?} would run a program named that; use an array of strings"
                    ),
                );
            }
            None | Some(Value::String(_)) => {}
            Some(Value::Array(_)) => {
                self.strings(table, path, key);
            }
            Some(other) => self.wrong_type(path, key, "an array of strings", other),
        }
    }

    fn deploy(&mut self, root: &Table) {
        let Some(deploy) = self.table(root, "", "deploy") else {
            return;
        };
        let path = "deploy";
        self.known_keys(deploy, path, DEPLOY_KEYS);
        let strategy = self.one_of(deploy, path, "strategy", STRATEGIES);
        match deploy.get("max_unavailable") {
            None => {}
            Some(Value::Integer(count)) if *count > 0 => {}
            Some(Value::Float(fraction)) if fraction.is_finite() && *fraction > 0.0 => {}
            Some(Value::Integer(_) | Value::Float(_)) => self.push(
                "deploy.max_unavailable",
                "must be greater than 0 (a fraction such as 0.33, or a number of machines)",
            ),
            Some(other) => self.wrong_type(path, "max_unavailable", "a number", other),
        }
        for key in ["wait_timeout", "release_command_timeout"] {
            self.duration_string(deploy, path, key);
        }
        for key in ["release_command", "seed_command"] {
            if let Some(command) = self.text(deploy, path, key) {
                self.shell_words(&format!("deploy.{key}"), command);
            }
        }
        if let Some(vm) = self.table(deploy, path, "release_command_vm") {
            self.vm(vm, "deploy.release_command_vm", false);
        }

        let has_mounts = !self.facts.mounts.is_empty();
        match strategy {
            Some("canary") if has_mounts => {
                self.push("deploy.strategy", "the canary strategy is not supported with [[mounts]] (volumes)");
            }
            Some("bluegreen") => {
                if has_mounts {
                    self.push("deploy.strategy", "the bluegreen strategy is not supported with [[mounts]] (volumes)");
                }
                if !self.facts.has_health_checks {
                    self.push(
                        "deploy.strategy",
                        "the bluegreen strategy needs at least one health check ([checks], services' tcp_checks/http_checks or http_service.checks)",
                    );
                }
            }
            _ => {}
        }
    }

    /// A positive Go duration string. flyctl reads a bare integer here as nanoseconds,
    /// which is never what was meant, so integers are refused.
    fn duration_string(&mut self, table: &Table, path: &str, key: &str) {
        match table.get(key) {
            None => {}
            Some(Value::String(text)) => match parse_go_duration(text) {
                Ok(nanos) if nanos <= 0 => self.push(key_path(path, key), "must be positive"),
                Ok(_) => {}
                Err(why) => self.push(key_path(path, key), why),
            },
            Some(Value::Integer(_)) => self.push(
                key_path(path, key),
                "must be a duration string such as \"5m\": flyctl reads a bare integer here as nanoseconds",
            ),
            Some(other) => self.wrong_type(path, key, "a duration string such as \"5m\"", other),
        }
    }

    // ----- services -------------------------------------------------------------------

    fn http_service(&mut self, root: &Table) {
        let Some(service) = self.table(root, "", "http_service") else {
            return;
        };
        let path = "http_service";
        self.known_keys(service, path, HTTP_SERVICE_KEYS);
        let internal_port = if self.require(service, path, "internal_port") {
            self.int_in(service, path, "internal_port", 1..=65535)
        } else {
            None
        };
        self.boolean(service, path, "force_https");
        self.scaling(service, path);
        let processes = self.processes(service, path);
        self.concurrency(service, path);
        self.tls_options(service, path);
        self.http_options(service, path);
        for (check_path, check) in self.tables(service, path, "checks", false) {
            self.service_check(check, &check_path, true);
        }

        let groups = self.groups.effective(&processes);
        self.facts.http_service_groups = Some(groups.clone());
        self.facts.services.push(ServiceFacts {
            path: path.to_owned(),
            protocol: Some("tcp".to_owned()),
            internal_port,
            explicit_processes: !processes.is_empty(),
            groups,
            // flyctl expands [http_service] into ports 80 (http) and 443 (http + tls).
            ports: [80, 443]
                .into_iter()
                .map(|port| PublicPorts { path: path.to_owned(), start: port, end: port })
                .collect(),
        });
    }

    fn services(&mut self, root: &Table) {
        for (path, service) in self.tables(root, "", "services", true) {
            self.service(service, &path);
        }
    }

    fn service(&mut self, service: &Table, path: &str) {
        self.known_keys(service, path, SERVICE_KEYS);
        let protocol = if self.require(service, path, "protocol") {
            self.one_of(service, path, "protocol", &["tcp", "udp"])
        } else {
            None
        };
        let internal_port = if self.require(service, path, "internal_port") {
            self.int_in(service, path, "internal_port", 1..=65535)
        } else {
            None
        };
        self.scaling(service, path);
        let processes = self.processes(service, path);
        self.concurrency(service, path);

        match service.get("ports") {
            None => self.push(
                key_path(path, "ports"),
                "is required: a service must expose at least one port ([[services.ports]])",
            ),
            Some(Value::Array(items)) if items.is_empty() => {
                self.push(key_path(path, "ports"), "must not be empty: a service must expose at least one port");
            }
            Some(_) => {}
        }
        let mut ports = Vec::new();
        for (port_path, port) in self.tables(service, path, "ports", true) {
            if let Some((start, end)) = self.port(port, &port_path, protocol) {
                ports.push(PublicPorts { path: port_path, start, end });
            }
        }
        for (check_path, check) in self.tables(service, path, "tcp_checks", true) {
            self.service_check(check, &check_path, false);
        }
        for (check_path, check) in self.tables(service, path, "http_checks", true) {
            self.service_check(check, &check_path, true);
        }

        self.facts.services.push(ServiceFacts {
            path: path.to_owned(),
            protocol: protocol.map(str::to_owned),
            internal_port,
            explicit_processes: !processes.is_empty(),
            groups: self.groups.effective(&processes),
            ports,
        });
    }

    /// `auto_stop_machines`, `auto_start_machines` and `min_machines_running`.
    fn scaling(&mut self, table: &Table, path: &str) {
        match table.get("auto_stop_machines") {
            None | Some(Value::Boolean(_)) => {}
            Some(Value::String(mode)) => {
                if !AUTO_STOP_VALUES.contains(&mode.as_str()) {
                    self.push(
                        key_path(path, "auto_stop_machines"),
                        format!("must be \"off\", \"stop\", \"suspend\" or a boolean, found {mode:?}"),
                    );
                }
            }
            Some(other) => {
                self.wrong_type(path, "auto_stop_machines", "\"off\", \"stop\", \"suspend\" or a boolean", other);
            }
        }
        self.boolean(table, path, "auto_start_machines");
        self.int_at_least(table, path, "min_machines_running", 0);
    }

    fn concurrency(&mut self, table: &Table, path: &str) {
        let Some(concurrency) = self.table(table, path, "concurrency") else {
            return;
        };
        let path = key_path(path, "concurrency");
        self.known_keys(concurrency, &path, CONCURRENCY_KEYS);
        self.one_of(concurrency, &path, "type", &["connections", "requests"]);
        let hard = self.int_at_least(concurrency, &path, "hard_limit", 1);
        let soft = self.int_at_least(concurrency, &path, "soft_limit", 1);
        if let (Some(hard), Some(soft)) = (hard, soft)
            && soft > hard
        {
            self.push(key_path(&path, "soft_limit"), format!("must not exceed hard_limit ({hard}), found {soft}"));
        }
    }

    /// One `[[services.ports]]` entry; returns its public port range when valid.
    fn port(&mut self, port: &Table, path: &str, protocol: Option<&str>) -> Option<(i64, i64)> {
        self.known_keys(port, path, PORT_KEYS);
        let range = self.port_range(port, path);

        let handlers_path = key_path(path, "handlers");
        let handlers = self.strings(port, path, "handlers").unwrap_or_default();
        let mut seen = BTreeSet::new();
        for (index, handler) in handlers.iter().enumerate() {
            let handler_path = format!("{handlers_path}[{index}]");
            if !HANDLERS.contains(handler) {
                self.push(handler_path, format!("unknown handler {handler:?} (allowed: {})", HANDLERS.join(", ")));
            } else if !seen.insert(*handler) {
                self.push(handler_path, format!("duplicate handler {handler:?}"));
            }
        }
        if protocol == Some("udp") && !handlers.is_empty() {
            self.push(handlers_path, "UDP services take no handlers");
        }
        if self.boolean(port, path, "force_https") == Some(true) && !handlers.contains(&"http") {
            self.push(key_path(path, "force_https"), "needs the \"http\" handler on this port");
        }
        self.tls_options(port, path);
        self.http_options(port, path);
        self.proxy_proto_options(port, path);
        range
    }

    /// `port`, or `start_port` and `end_port`.
    fn port_range(&mut self, port: &Table, path: &str) -> Option<(i64, i64)> {
        let single = self.int_in(port, path, "port", 1..=65535);
        let start = self.int_in(port, path, "start_port", 1..=65535);
        let end = self.int_in(port, path, "end_port", 1..=65535);
        let has_single = port.contains_key("port");
        let has_start = port.contains_key("start_port");
        let has_end = port.contains_key("end_port");
        if has_single {
            if has_start || has_end {
                self.push(path, "set either `port` or `start_port`/`end_port`, not both");
                return None;
            }
            return single.map(|number| (number, number));
        }
        match (has_start, has_end) {
            (false, false) => {
                self.push(key_path(path, "port"), "is required (or `start_port` and `end_port`)");
                None
            }
            (true, false) => {
                self.push(key_path(path, "end_port"), "is required with `start_port`");
                None
            }
            (false, true) => {
                self.push(key_path(path, "start_port"), "is required with `end_port`");
                None
            }
            (true, true) => {
                let (start, end) = (start?, end?);
                if start > end {
                    self.push(
                        key_path(path, "end_port"),
                        format!("must not be below start_port ({start}), found {end}"),
                    );
                    return None;
                }
                Some((start, end))
            }
        }
    }

    fn tls_options(&mut self, table: &Table, path: &str) {
        let Some(options) = self.table(table, path, "tls_options") else {
            return;
        };
        let path = key_path(path, "tls_options");
        self.known_keys(options, &path, TLS_OPTIONS_KEYS);
        if let Some(protocols) = self.strings(options, &path, "alpn") {
            for (index, protocol) in protocols.iter().enumerate() {
                if protocol.is_empty() {
                    self.push(format!("{path}.alpn[{index}]"), "must not be empty");
                }
            }
        }
        if let Some(versions) = self.strings(options, &path, "versions") {
            for (index, version) in versions.iter().enumerate() {
                if !TLS_VERSIONS.contains(version) {
                    self.push(
                        format!("{path}.versions[{index}]"),
                        format!("must be \"TLSv1.2\" or \"TLSv1.3\", found {version:?}"),
                    );
                }
            }
        }
        self.boolean(options, &path, "default_self_signed");
    }

    fn http_options(&mut self, table: &Table, path: &str) {
        let Some(options) = self.table(table, path, "http_options") else {
            return;
        };
        let path = key_path(path, "http_options");
        self.known_keys(options, &path, HTTP_OPTIONS_KEYS);
        self.boolean(options, &path, "compress");
        self.boolean(options, &path, "h2_backend");
        self.int_at_least(options, &path, "idle_timeout", 1);
        self.int_at_least(options, &path, "headers_read_timeout", 1);
        if let Some(response) = self.table(options, &path, "response") {
            let response_path = key_path(&path, "response");
            self.known_keys(response, &response_path, RESPONSE_KEYS);
            self.boolean(response, &response_path, "pristine");
            self.response_headers(response, &response_path);
        }
        for (cache_path, cache) in self.tables(options, &path, "replay_cache", false) {
            self.known_keys(cache, &cache_path, REPLAY_CACHE_KEYS);
            for key in ["path_prefix", "ttl_seconds", "type", "name"] {
                self.require(cache, &cache_path, key);
            }
            self.url_path(cache, &cache_path, "path_prefix");
            self.int_at_least(cache, &cache_path, "ttl_seconds", 1);
            self.one_of(cache, &cache_path, "type", &["cookie", "header"]);
            self.text(cache, &cache_path, "name");
            self.boolean(cache, &cache_path, "allow_bypass");
        }
    }

    /// `http_options.response.headers`: a string, `false`/`true`, or several strings each.
    fn response_headers(&mut self, response: &Table, path: &str) {
        let Some(headers) = self.table(response, path, "headers") else {
            return;
        };
        let headers_path = key_path(path, "headers");
        for (name, value) in headers {
            let fine = match value {
                Value::String(_) | Value::Boolean(_) => true,
                Value::Array(items) => items.iter().all(Value::is_str),
                _ => false,
            };
            if !fine {
                self.push(
                    key_path(&headers_path, name),
                    format!(
                        "must be a string, a boolean (false removes the header) or an array of strings, found {}",
                        kind(value)
                    ),
                );
            }
        }
    }

    fn proxy_proto_options(&mut self, table: &Table, path: &str) {
        let Some(options) = self.table(table, path, "proxy_proto_options") else {
            return;
        };
        let path = key_path(path, "proxy_proto_options");
        self.known_keys(options, &path, PROXY_PROTO_KEYS);
        self.one_of(options, &path, "version", &["v1", "v2"]);
    }

    // ----- checks ---------------------------------------------------------------------

    /// A `tcp_checks`/`http_checks` entry of a service, or an `http_service.checks` entry.
    fn service_check(&mut self, check: &Table, path: &str, http: bool) {
        let allowed = if http { HTTP_CHECK_KEYS } else { TCP_CHECK_KEYS };
        self.known_keys(check, path, allowed);
        self.check_timing(check, path);
        if http {
            self.http_check_fields(check, path);
        }
        self.facts.has_health_checks = true;
    }

    fn machine_checks(&mut self, root: &Table) {
        let Some(checks) = self.table(root, "", "checks") else {
            return;
        };
        for (name, value) in checks {
            let path = key_path("checks", name);
            if let Value::Table(check) = value {
                self.machine_check(check, &path);
            } else {
                self.push(&path, format!("must be a table ([checks.{name}]), found {}", kind(value)));
            }
        }
    }

    /// A `[checks.<name>]` entry.
    fn machine_check(&mut self, check: &Table, path: &str) {
        self.known_keys(check, path, MACHINE_CHECK_KEYS);
        let check_type =
            if self.require(check, path, "type") { self.one_of(check, path, "type", &["http", "tcp"]) } else { None };
        self.int_in(check, path, "port", 1..=65535);
        self.check_timing(check, path);
        let processes = self.processes(check, path);
        if check_type == Some("tcp") {
            for key in HTTP_ONLY_CHECK_KEYS {
                if check.contains_key(*key) {
                    self.push(key_path(path, key), "only applies to http checks (this check's type is \"tcp\")");
                }
            }
        } else {
            if check_type == Some("http") {
                self.require(check, path, "path");
            }
            self.http_check_fields(check, path);
        }
        if !check.contains_key("port") {
            self.facts
                .portless_checks
                .push(Placed { path: key_path(path, "port"), groups: self.groups.effective(&processes) });
        }
        self.facts.has_health_checks = true;
    }

    /// `interval` (at least 2s), `timeout` (at most 60s) and `grace_period` (not negative).
    /// Integers are milliseconds, strings Go durations.
    fn check_timing(&mut self, check: &Table, path: &str) {
        if let Some(interval) = self.check_duration(check, path, "interval")
            && interval < 2 * NANOS_PER_SEC
        {
            self.push(key_path(path, "interval"), format!("must be at least 2s, found {}", human_duration(interval)));
        }
        if let Some(timeout) = self.check_duration(check, path, "timeout") {
            if timeout <= 0 {
                self.push(key_path(path, "timeout"), "must be positive");
            } else if timeout > 60 * NANOS_PER_SEC {
                self.push(key_path(path, "timeout"), format!("must be at most 60s, found {}", human_duration(timeout)));
            }
        }
        if let Some(grace) = self.check_duration(check, path, "grace_period")
            && grace < 0
        {
            self.push(key_path(path, "grace_period"), "must not be negative");
        }
    }

    /// A check duration in nanoseconds: an integer means milliseconds, a string is a Go
    /// duration.
    fn check_duration(&mut self, check: &Table, path: &str, key: &str) -> Option<i128> {
        match check.get(key)? {
            Value::Integer(millis) => Some(i128::from(*millis) * NANOS_PER_MILLI),
            Value::String(text) => match parse_go_duration(text) {
                Ok(nanos) => Some(nanos),
                Err(why) => {
                    self.push(key_path(path, key), why);
                    None
                }
            },
            other => {
                self.wrong_type(path, key, "an integer (milliseconds) or a duration string such as \"10s\"", other);
                None
            }
        }
    }

    fn http_check_fields(&mut self, check: &Table, path: &str) {
        if let Some(method) = self.string(check, path, "method")
            && !HTTP_METHODS.iter().any(|known| known.eq_ignore_ascii_case(method))
        {
            self.push(
                key_path(path, "method"),
                format!("must be an HTTP method ({}), found {method:?}", HTTP_METHODS.join(", ")),
            );
        }
        self.url_path(check, path, "path");
        self.one_of(check, path, "protocol", &["http", "https"]);
        self.boolean(check, path, "tls_skip_verify");
        self.text(check, path, "tls_server_name");
        self.string_map(check, path, "headers");
    }

    // ----- machines -------------------------------------------------------------------

    fn vms(&mut self, root: &Table) {
        for (path, vm) in self.tables(root, "", "vm", true) {
            self.vm(vm, &path, true);
        }
    }

    /// A `[[vm]]` entry (`group`: it counts towards one size per process group) or the
    /// release machine's `[deploy.release_command_vm]`.
    fn vm(&mut self, vm: &Table, path: &str, group: bool) {
        self.known_keys(vm, path, VM_KEYS);
        // `None` once something is invalid: the combination is then not worth judging.
        let preset = match vm.get("size") {
            None => Some(Preset::DEFAULT),
            Some(_) => self.vm_size(vm, path),
        };
        let mut judge = preset.is_some();
        let kind = if vm.contains_key("cpu_kind") {
            let kind = self.one_of(vm, path, "cpu_kind", &["shared", "performance"]).and_then(CpuKind::parse);
            judge &= kind.is_some();
            kind
        } else {
            None
        };
        let cpus = if vm.contains_key("cpus") {
            let cpus = self.int_at_least(vm, path, "cpus", 1);
            judge &= cpus.is_some();
            cpus
        } else {
            None
        };
        let memory = self.vm_memory(vm, path, &mut judge);
        let processes = self.processes(vm, path);
        self.strings(vm, path, "kernel_args");
        self.text(vm, path, "host_dedication_id");
        if group {
            self.facts.vms.push(VmFacts { path: path.to_owned(), processes });
        }
        if let Some(preset) = preset
            && judge
        {
            self.vm_combination(path, preset, kind, cpus, memory);
        }
    }

    fn vm_size(&mut self, vm: &Table, path: &str) -> Option<Preset> {
        let size = self.string(vm, path, "size")?;
        let preset = Preset::parse(size);
        if preset.is_none() {
            self.push(
                key_path(path, "size"),
                format!(
                    "unknown machine size {size:?}: use shared-cpu-{{1,2,4,6,8}}x or performance-{{1,2,4,6,8,10,12,14,16}}x"
                ),
            );
        }
        preset
    }

    /// The explicit memory (path of the key, MB), from `memory` or `memory_mb`.
    fn vm_memory(&mut self, vm: &Table, path: &str, judge: &mut bool) -> Option<(String, i64)> {
        let memory_path = key_path(path, "memory");
        let memory = match vm.get("memory") {
            None => None,
            Some(Value::Integer(mb)) if *mb > 0 => Some((memory_path, *mb)),
            Some(Value::Integer(mb)) => {
                self.push(memory_path, format!("must be positive, found {mb}"));
                *judge = false;
                None
            }
            Some(Value::String(text)) => match parse_memory_mb(text) {
                Ok(mb) if mb > 0 => Some((memory_path, mb)),
                Ok(_) => {
                    self.push(memory_path, format!("must be positive, found {text:?}"));
                    *judge = false;
                    None
                }
                Err(why) => {
                    self.push(memory_path, why);
                    *judge = false;
                    None
                }
            },
            Some(other) => {
                self.wrong_type(path, "memory", "an integer (MB) or a size string such as \"512mb\" or \"1gb\"", other);
                *judge = false;
                None
            }
        };
        let memory_mb = if vm.contains_key("memory_mb") {
            let mb = self.int_at_least(vm, path, "memory_mb", 1);
            *judge &= mb.is_some();
            mb.map(|mb| (key_path(path, "memory_mb"), mb))
        } else {
            None
        };
        if vm.contains_key("memory") && vm.contains_key("memory_mb") {
            self.push(key_path(path, "memory_mb"), "set either `memory` or `memory_mb`, not both");
            *judge = false;
            return None;
        }
        memory.or(memory_mb)
    }

    /// The machine size table: the CPU count must exist for the kind, and the memory must
    /// fit the kind's per-CPU range and step.
    fn vm_combination(
        &mut self,
        path: &str,
        preset: Preset,
        kind: Option<CpuKind>,
        cpus: Option<i64>,
        memory: Option<(String, i64)>,
    ) {
        let effective_kind = kind.unwrap_or(preset.kind);
        let effective_cpus = cpus.unwrap_or(preset.cpus);
        if !effective_kind.cpu_counts().contains(&effective_cpus) {
            let at = if cpus.is_some() { "cpus" } else { "cpu_kind" };
            let counts: Vec<String> = effective_kind.cpu_counts().iter().map(i64::to_string).collect();
            self.push(
                key_path(path, at),
                format!("{} machines have {} CPUs, not {effective_cpus}", effective_kind.name(), counts.join(", ")),
            );
            return;
        }
        let explicit = memory.is_some();
        let (memory_path, mb) = memory.unwrap_or_else(|| (path.to_owned(), preset.default_memory()));
        let (min, max, step) = effective_kind.memory_bounds(effective_cpus);
        if mb < min || mb > max || mb % step != 0 {
            let origin = if explicit { "" } else { " (the memory of the `size` preset, as no memory is set)" };
            self.push(
                memory_path,
                format!(
                    "{} ({} CPUs) takes {min} to {max} MB of memory in steps of {step} MB; {mb} MB{origin} is not a valid size",
                    effective_kind.preset_name(effective_cpus),
                    effective_kind.name()
                ),
            );
        }
    }

    // ----- volumes, files and the rest ------------------------------------------------

    fn mounts(&mut self, root: &Table) {
        for (path, mount) in self.tables(root, "", "mounts", true) {
            self.mount(mount, &path);
        }
    }

    fn mount(&mut self, mount: &Table, path: &str) {
        self.known_keys(mount, path, MOUNT_KEYS);
        if self.require(mount, path, "source")
            && let Some(source) = self.string(mount, path, "source")
            && let Some(why) = volume_name_problem(source)
        {
            self.push(key_path(path, "source"), why);
        }
        if self.require(mount, path, "destination")
            && let Some(destination) = self.absolute_path(mount, path, "destination")
            && destination.trim_end_matches('/').is_empty()
        {
            self.push(key_path(path, "destination"), "must not be \"/\" (a volume cannot replace the root filesystem)");
        }
        self.initial_size(mount, path);
        self.int_in(mount, path, "snapshot_retention", 1..=60);
        self.auto_extend(mount, path);
        let processes = self.processes(mount, path);
        self.facts.mounts.push(Placed { path: path.to_owned(), groups: self.groups.effective(&processes) });
    }

    fn initial_size(&mut self, mount: &Table, path: &str) {
        let size_path = key_path(path, "initial_size");
        match mount.get("initial_size") {
            Some(Value::Integer(gb)) if *gb < 1 => {
                self.push(size_path, format!("must be at least 1 (GB), found {gb}"));
            }
            None | Some(Value::Integer(_)) => {}
            Some(Value::String(text)) => match parse_size_gb(text) {
                Ok(gb) if gb >= 1 => {}
                Ok(_) => self.push(size_path, format!("{text:?} is smaller than 1GB")),
                Err(why) => self.push(size_path, why),
            },
            Some(other) => {
                self.wrong_type(path, "initial_size", "an integer (GB) or a size string such as \"10gb\"", other);
            }
        }
    }

    /// The auto-extend trio: all three or none, each within its range.
    fn auto_extend(&mut self, mount: &Table, path: &str) {
        let present = AUTO_EXTEND_KEYS.iter().filter(|key| mount.contains_key(**key)).count();
        if present > 0 && present < AUTO_EXTEND_KEYS.len() {
            for key in AUTO_EXTEND_KEYS {
                if !mount.contains_key(key) {
                    self.push(
                        key_path(path, key),
                        "is required: set all of auto_extend_size_threshold, auto_extend_size_increment and auto_extend_size_limit, or none",
                    );
                }
            }
        }
        self.int_in(mount, path, "auto_extend_size_threshold", 50..=99);
        self.gb_string(mount, path, "auto_extend_size_increment", 1..=100);
        self.gb_string(mount, path, "auto_extend_size_limit", 1..=500);
    }

    /// A size string in GB within `range` (flyctl reads these keys as text only).
    fn gb_string(&mut self, table: &Table, path: &str, key: &str, range: RangeInclusive<i64>) {
        let value_path = key_path(path, key);
        match table.get(key) {
            None => {}
            Some(Value::String(text)) => match parse_size_gb(text) {
                Ok(gb) if range.contains(&gb) => {}
                Ok(gb) => self.push(
                    value_path,
                    format!("must be between {}GB and {}GB, found {text:?} ({gb}GB)", range.start(), range.end()),
                ),
                Err(why) => self.push(value_path, why),
            },
            Some(Value::Integer(number)) => self.push(
                value_path,
                format!("must be a size string such as \"{number}gb\": flyctl does not accept a bare integer here"),
            ),
            Some(other) => self.wrong_type(path, key, "a size string such as \"10gb\"", other),
        }
    }

    fn files(&mut self, root: &Table) {
        for (path, file) in self.tables(root, "", "files", false) {
            self.file(file, &path);
        }
    }

    fn file(&mut self, file: &Table, path: &str) {
        self.known_keys(file, path, FILE_KEYS);
        let guest_path =
            if self.require(file, path, "guest_path") { self.absolute_path(file, path, "guest_path") } else { None };
        let sources: Vec<&str> = FILE_SOURCES.into_iter().filter(|key| file.contains_key(*key)).collect();
        match sources.len() {
            1 => {}
            0 => self.push(path, "needs exactly one of local_path, raw_value or secret_name; none is set"),
            _ => self.push(
                path,
                format!("needs exactly one of local_path, raw_value or secret_name; found {}", sources.join(", ")),
            ),
        }
        self.text(file, path, "local_path");
        if let Some(raw) = self.string(file, path, "raw_value")
            && raw.is_empty()
        {
            self.push(
                key_path(path, "raw_value"),
                "is empty: flyctl silently drops an empty raw_value, so the file would arrive without content",
            );
        }
        if let Some(secret) = self.string(file, path, "secret_name")
            && !is_secret_name(secret)
        {
            self.push(
                key_path(path, "secret_name"),
                format!("must be a secret name ([A-Za-z_][A-Za-z0-9_]*), found {secret:?}"),
            );
        }
        let processes = self.processes(file, path);
        if let Some(guest_path) = guest_path {
            let placed = Placed { path: key_path(path, "guest_path"), groups: self.groups.effective(&processes) };
            self.facts.files.push((placed, guest_path.to_owned()));
        }
    }

    fn restarts(&mut self, root: &Table) {
        for (path, restart) in self.tables(root, "", "restart", false) {
            self.known_keys(restart, &path, RESTART_KEYS);
            if self.require(restart, &path, "policy") {
                self.one_of(restart, &path, "policy", &["always", "never", "on-failure"]);
            }
            self.int_at_least(restart, &path, "retries", 0);
            self.processes(restart, &path);
        }
    }

    fn statics(&mut self, root: &Table) {
        for (path, statics) in self.tables(root, "", "statics", false) {
            self.known_keys(statics, &path, STATIC_KEYS);
            if self.require(statics, &path, "guest_path") {
                self.absolute_path(statics, &path, "guest_path");
            }
            if self.require(statics, &path, "url_prefix") {
                self.url_path(statics, &path, "url_prefix");
            }
            self.text(statics, &path, "tigris_bucket");
            self.text(statics, &path, "index_document");
        }
    }

    fn metrics(&mut self, root: &Table) {
        for (path, metrics) in self.tables(root, "", "metrics", true) {
            self.known_keys(metrics, &path, METRICS_KEYS);
            if self.require(metrics, &path, "port") {
                self.int_in(metrics, &path, "port", 1..=65535);
            }
            if self.require(metrics, &path, "path") {
                self.url_path(metrics, &path, "path");
            }
            self.boolean(metrics, &path, "https");
            self.processes(metrics, &path);
        }
    }

    // ----- rules spanning sections ----------------------------------------------------

    fn cross_checks(&mut self) {
        let facts = std::mem::take(&mut self.facts);
        self.services_name_processes(&facts.services);
        self.duplicate_services(&facts.services);
        self.public_port_clashes(&facts.services);
        self.one_mount_per_group(&facts.mounts);
        self.one_vm_per_group(&facts.vms);
        self.duplicate_files(&facts.files);
        self.portless_checks(&facts.portless_checks, facts.http_service_groups.as_ref());
        self.facts = facts;
    }

    /// flyctl: "Service has no processes set but app has N processes defined".
    fn services_name_processes(&mut self, services: &[ServiceFacts]) {
        if self.groups.defined.is_empty() {
            return;
        }
        let count = self.groups.defined.len();
        for service in services.iter().filter(|s| !s.explicit_processes) {
            self.push(
                key_path(&service.path, "processes"),
                format!(
                    "is required: [processes] defines {count} process group(s), and flyctl refuses a service that names none"
                ),
            );
        }
    }

    fn duplicate_services(&mut self, services: &[ServiceFacts]) {
        for (index, service) in services.iter().enumerate() {
            let (Some(protocol), Some(port)) = (&service.protocol, service.internal_port) else {
                continue;
            };
            for earlier in &services[..index] {
                if earlier.protocol.as_ref() != Some(protocol) || earlier.internal_port != Some(port) {
                    continue;
                }
                if let Some(group) = service.groups.intersection(&earlier.groups).next() {
                    self.push(
                        service.path.clone(),
                        format!(
                            "duplicate service: {} already serves {protocol} on internal_port {port} for process group {group:?}",
                            earlier.path
                        ),
                    );
                    break;
                }
            }
        }
    }

    fn public_port_clashes(&mut self, services: &[ServiceFacts]) {
        let ports: Vec<(&str, &PublicPorts)> = services
            .iter()
            .filter_map(|service| service.protocol.as_deref().map(|p| (p, service)))
            .flat_map(|(protocol, service)| service.ports.iter().map(move |port| (protocol, port)))
            .collect();
        for (index, (protocol, port)) in ports.iter().enumerate() {
            let clash = ports[..index].iter().find(|(other_protocol, other)| {
                other_protocol == protocol && other.start <= port.end && port.start <= other.end
            });
            if let Some((_, other)) = clash {
                let low = port.start.max(other.start);
                let high = port.end.min(other.end);
                let shared =
                    if low == high { format!("public port {low}") } else { format!("public ports {low}-{high}") };
                self.push(port.path.clone(), format!("{shared} ({protocol}) is already used by {}", other.path));
            }
        }
    }

    fn one_mount_per_group(&mut self, mounts: &[Placed]) {
        for (index, mount) in mounts.iter().enumerate() {
            let earlier = mounts[..index]
                .iter()
                .find_map(|other| mount.groups.intersection(&other.groups).next().map(|group| (group, &other.path)));
            if let Some((group, other_path)) = earlier {
                self.push(
                    mount.path.clone(),
                    format!(
                        "process group {group:?} already has a mount ({other_path}); Fly allows at most one mount per process group"
                    ),
                );
            }
        }
    }

    /// At most one `[[vm]]` without `processes`, and at most one naming each group.
    fn one_vm_per_group(&mut self, vms: &[VmFacts]) {
        let mut global: Option<&str> = None;
        for (index, vm) in vms.iter().enumerate() {
            if vm.processes.is_empty() {
                if let Some(first) = global {
                    self.push(
                        vm.path.clone(),
                        format!(
                            "more than one [[vm]] without `processes` (the first is {first}); flyctl would use only one"
                        ),
                    );
                } else {
                    global = Some(&vm.path);
                }
                continue;
            }
            let clash = vms[..index].iter().find_map(|other| {
                vm.processes.iter().find(|group| other.processes.contains(group)).map(|group| (group, &other.path))
            });
            if let Some((group, other_path)) = clash {
                self.push(
                    key_path(&vm.path, "processes"),
                    format!("process group {group:?} already has a [[vm]] ({other_path}); flyctl would use only one"),
                );
            }
        }
    }

    fn duplicate_files(&mut self, files: &[(Placed, String)]) {
        for (index, (file, guest_path)) in files.iter().enumerate() {
            let clash = files[..index].iter().find(|(other, other_guest_path)| {
                other_guest_path == guest_path && !file.groups.is_disjoint(&other.groups)
            });
            if let Some((other, _)) = clash {
                self.push(
                    file.path.clone(),
                    format!("duplicate guest_path {guest_path:?}: {} already writes this file", other.path),
                );
            }
        }
    }

    /// flyctl: "Check has no port set and the group has no `http_service`".
    fn portless_checks(&mut self, checks: &[Placed], http_service: Option<&BTreeSet<String>>) {
        for check in checks {
            let covered = http_service.is_some_and(|groups| check.groups.is_subset(groups));
            if !covered {
                self.push(
                    check.path.clone(),
                    "is required: the check's process group has no [http_service] to take the port from",
                );
            }
        }
    }
}

// ----- free helpers -------------------------------------------------------------------

/// `parent.key`, quoting the key when it is not a bare TOML key.
fn key_path(parent: &str, key: &str) -> String {
    let bare = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key = if bare { key.to_owned() } else { format!("{key:?}") };
    if parent.is_empty() { key } else { format!("{parent}.{key}") }
}

/// "a string", "an integer"... for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn app_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("must not be empty".to_owned())
    } else if name.len() > MAX_APP_NAME {
        Some(format!("must be at most {MAX_APP_NAME} characters (longer names break DNS), found {}", name.len()))
    } else if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        Some(format!("may only contain lowercase letters, digits and '-', found {name:?}"))
    } else if name.starts_with('-') || name.ends_with('-') {
        Some(format!("must not start or end with '-', found {name:?}"))
    } else {
        None
    }
}

fn volume_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("must not be empty".to_owned())
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Some(format!("a volume name may only contain letters, digits and underscores, found {name:?}"))
    } else if name.len() > MAX_VOLUME_NAME {
        Some(format!("a volume name must be at most {MAX_VOLUME_NAME} characters, found {}", name.len()))
    } else {
        None
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn is_secret_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Why `command` cannot be split into words (as `google/shlex`, which flyctl uses, would).
fn shell_split_error(command: &str) -> Option<&'static str> {
    shell_split(command).err()
}

/// `command` split into words as `google/shlex`, which flyctl uses for `release_command`
/// (fly-2026.md §3.1), does: blanks separate words, `'...'` is literal, `"..."` and plain text
/// take a backslash as escaping the next character, `#` at the start of a word comments out
/// the rest of the line; no shell, no variables. An error says why it cannot be split.
pub(crate) fn shell_split(command: &str) -> Result<Vec<String>, &'static str> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Between,
        Plain,
        Single,
        Double,
        Comment,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Between;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        state = match (state, c) {
            (State::Comment, '\n') | (State::Between, ' ' | '\t' | '\r' | '\n') => State::Between,
            (State::Comment, _) | (State::Between, '#') => State::Comment,
            (State::Plain, ' ' | '\t' | '\r' | '\n') => {
                words.push(std::mem::take(&mut word));
                State::Between
            }
            (State::Between | State::Plain | State::Double, '\\') => {
                word.push(chars.next().ok_or("it ends with an escape character")?);
                if state == State::Double { State::Double } else { State::Plain }
            }
            (State::Between | State::Plain, '\'') => State::Single,
            (State::Between | State::Plain, '"') => State::Double,
            (State::Single, '\'') | (State::Double, '"') => State::Plain,
            (State::Between, c) => {
                word.push(c);
                State::Plain
            }
            (state, c) => {
                word.push(c);
                state
            }
        };
    }
    match state {
        State::Single => Err("a single quote is never closed"),
        State::Double => Err("a double quote is never closed"),
        State::Plain => {
            words.push(word);
            Ok(words)
        }
        State::Between | State::Comment => Ok(words),
    }
}

/// Parses a Go duration (`"10s"`, `"1m30s"`, `"500ms"`, `"1.5h"`, `"0"`) into nanoseconds.
pub(crate) fn parse_go_duration(text: &str) -> Result<i128, String> {
    let invalid =
        |why: &str| format!("invalid duration {text:?}: {why} (use Go syntax such as \"10s\", \"1m30s\" or \"500ms\")");
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid("it is empty"));
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let whole_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (whole, after) = rest.split_at(whole_len);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => after.split_at(after.bytes().take_while(u8::is_ascii_digit).count()),
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid("expected a number"));
        }
        if whole.len() > 20 || fraction.len() > 20 {
            return Err(invalid("the number is too long"));
        }
        let unit_len = after.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => NANOS_PER_MILLI,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3_600 * NANOS_PER_SEC,
            "" => return Err(invalid("a unit is missing")),
            other => return Err(invalid(&format!("unknown unit {other:?}"))),
        };
        let whole: i128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| invalid("bad number"))? };
        let mut value = whole * scale;
        if !fraction.is_empty() {
            let digits: i128 = fraction.parse().map_err(|_| invalid("bad number"))?;
            let denominator = fraction.bytes().fold(1_i128, |acc, _| acc * 10);
            value += digits * scale / denominator;
        }
        total += value;
        if total > i128::from(i64::MAX) {
            return Err(invalid("it is too long"));
        }
        rest = after;
    }
    Ok(if negative { -total } else { total })
}

/// "90s", "1500ms"...
fn human_duration(nanos: i128) -> String {
    if nanos % NANOS_PER_SEC == 0 {
        format!("{}s", nanos / NANOS_PER_SEC)
    } else if nanos % NANOS_PER_MILLI == 0 {
        format!("{}ms", nanos / NANOS_PER_MILLI)
    } else {
        format!("{nanos}ns")
    }
}

/// A size as written: a bare number (in whatever unit the key implies) or a byte count.
#[derive(Debug, PartialEq, Eq)]
enum Size {
    Bare(u64),
    Bytes(u128),
}

/// Parses `"512"`, `"512mb"`, `"1.5GB"`, `"1 gib"`... with `base` 1024 (memory) or 1000
/// (volumes), the way flyctl's `docker/go-units` parsers do.
fn parse_size(text: &str, base: u128) -> Result<Size, String> {
    let invalid = || format!("invalid size {text:?}: use a number with an optional unit such as \"512mb\" or \"10gb\"");
    let whole_len = text.bytes().take_while(u8::is_ascii_digit).count();
    if whole_len == 0 || whole_len > 15 {
        return Err(invalid());
    }
    let (whole, rest) = text.split_at(whole_len);
    let (fraction, rest) = match rest.strip_prefix('.') {
        Some(after) => {
            let len = after.bytes().take_while(u8::is_ascii_digit).count();
            if len == 0 || len > 9 {
                return Err(invalid());
            }
            after.split_at(len)
        }
        None => ("", rest),
    };
    let whole: u128 = whole.parse().map_err(|_| invalid())?;
    if rest.is_empty() {
        return if fraction.is_empty() {
            u64::try_from(whole).map(Size::Bare).map_err(|_| invalid())
        } else {
            Err(invalid())
        };
    }
    let unit = rest.strip_prefix(' ').unwrap_or(rest).to_ascii_lowercase();
    let mut chars = unit.chars();
    let power = match chars.next() {
        Some('b') => 0,
        Some('k') => 1,
        Some('m') => 2,
        Some('g') => 3,
        Some('t') => 4,
        Some('p') => 5,
        _ => return Err(invalid()),
    };
    let valid_tail =
        if power == 0 { chars.as_str().is_empty() } else { matches!(chars.as_str(), "" | "b" | "i" | "ib") };
    if !valid_tail {
        return Err(invalid());
    }
    let multiplier = base.pow(power);
    let mut bytes = whole * multiplier;
    if !fraction.is_empty() {
        let digits: u128 = fraction.parse().map_err(|_| invalid())?;
        let denominator = fraction.bytes().fold(1_u128, |acc, _| acc * 10);
        bytes += digits * multiplier / denominator;
    }
    Ok(Size::Bytes(bytes))
}

/// Machine memory in MB: a bare number is MB, units are binary (`"1gb"` = 1024 MB).
fn parse_memory_mb(text: &str) -> Result<i64, String> {
    const MIB: u128 = 1 << 20;
    let too_large = || format!("memory {text:?} is too large");
    match parse_size(text, 1024)? {
        Size::Bare(mb) => i64::try_from(mb).map_err(|_| too_large()),
        Size::Bytes(bytes) if bytes % MIB == 0 => i64::try_from(bytes / MIB).map_err(|_| too_large()),
        Size::Bytes(_) => Err(format!("memory {text:?} is not a whole number of megabytes")),
    }
}

/// Volume size in GB: a bare number is GB, units are decimal and the result is rounded down,
/// as flyctl does (`"500mb"` is 0 GB).
fn parse_size_gb(text: &str) -> Result<i64, String> {
    let too_large = || format!("size {text:?} is too large");
    match parse_size(text, 1000)? {
        Size::Bare(gb) => i64::try_from(gb).map_err(|_| too_large()),
        Size::Bytes(bytes) => i64::try_from(bytes / 1_000_000_000).map_err(|_| too_large()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every problem of a text that must be rejected.
    fn problems(text: &str) -> Vec<Problem> {
        match check(text) {
            Ok(()) => panic!("expected problems, but this fly.toml was accepted:\n{text}"),
            Err(problems) => problems,
        }
    }

    /// Asserts that `text` is rejected with a problem at `path` whose message contains
    /// `fragment`.
    fn rejects(text: &str, path: &str, fragment: &str) {
        let problems = problems(text);
        assert!(
            problems.iter().any(|p| p.path == path && p.message.contains(fragment)),
            "expected a problem at {path:?} mentioning {fragment:?}, got:\n{problems:#?}\nfor:\n{text}"
        );
    }

    const FULL: &str = r#"
app = "score-demo-1"
primary_region = "fra"
kill_signal = "SIGTERM"
kill_timeout = "30s"
swap_size_mb = 512
console_command = "/bin/sh -c 'echo ready'"

[experimental]
  cmd = ["bin/server", "--port", "8080"]
  auto_rollback = true

[build]
  image = "registry.fly.io/score-demo-1:v1"

[deploy]
  strategy = "rolling"
  max_unavailable = 0.33
  wait_timeout = "5m"
  release_command = "bin/migrate --yes"
  release_command_timeout = "10m"
  seed_command = "bin/seed"
  release_command_vm = { size = "performance-2x", memory = "8gb" }

[env]
  PORT = "8080"
  LOG_LEVEL = "info"

[processes]
  web = "bin/server --port 8080"
  worker = "bin/worker"

[http_service]
  internal_port = 8080
  force_https = true
  auto_stop_machines = "stop"
  auto_start_machines = true
  min_machines_running = 1
  processes = ["web"]

  [http_service.concurrency]
    type = "requests"
    hard_limit = 250
    soft_limit = 200

  [[http_service.checks]]
    interval = "15s"
    timeout = "5s"
    grace_period = "10s"
    method = "GET"
    path = "/healthz"

[[services]]
  protocol = "udp"
  internal_port = 5353
  processes = ["worker"]

  [[services.ports]]
    port = 5353

[checks.alive]
  type = "http"
  port = 8080
  path = "/livez"
  interval = "10s"
  timeout = "2s"
  processes = ["web"]

[[vm]]
  size = "shared-cpu-1x"
  memory = "512mb"
  processes = ["web"]

[[vm]]
  size = "performance-2x"
  processes = ["worker"]

[[mounts]]
  source = "worker_data"
  destination = "/data"
  initial_size = "10gb"
  snapshot_retention = 7
  auto_extend_size_threshold = 80
  auto_extend_size_increment = "1gb"
  auto_extend_size_limit = "50gb"
  processes = ["worker"]

[[files]]
  guest_path = "/etc/app/config.yaml"
  raw_value = "listen: 8080\n"

[[files]]
  guest_path = "/etc/app/cert.pem"
  secret_name = "TLS_CERT_B64"

[[files]]
  guest_path = "/etc/app/extra.txt"
  local_path = "extra.txt"

[[restart]]
  policy = "on-failure"
  retries = 3
  processes = ["worker"]

[[statics]]
  guest_path = "/app/public"
  url_prefix = "/static"

[[metrics]]
  port = 9091
  path = "/metrics"
  processes = ["web"]
"#;

    #[test]
    fn a_realistic_full_file_is_valid() {
        assert_valid(FULL);
    }

    #[test]
    fn a_minimal_file_is_valid() {
        assert_valid("app = \"demo\"\n");
        assert_valid("");
    }

    #[test]
    fn an_http_service_with_options_is_valid() {
        assert_valid(
            r#"
app = "web"
[http_service]
  internal_port = 3000
  force_https = true
  auto_stop_machines = "suspend"
  auto_start_machines = true
  min_machines_running = 0
  [http_service.tls_options]
    alpn = ["h2", "http/1.1"]
    versions = ["TLSv1.2", "TLSv1.3"]
  [http_service.http_options]
    compress = true
    idle_timeout = 600
    [http_service.http_options.response]
      pristine = false
      [http_service.http_options.response.headers]
        x-powered-by = false
        cache-control = "no-store"
        vary = ["accept", "origin"]
"#,
        );
    }

    #[test]
    fn a_service_with_tls_and_http_on_443_is_valid() {
        assert_valid(
            r#"
app = "api"
[[services]]
  protocol = "tcp"
  internal_port = 8080
  auto_stop_machines = true
  [services.concurrency]
    type = "connections"
    hard_limit = 25
    soft_limit = 20
  [[services.ports]]
    port = 80
    handlers = ["http"]
    force_https = true
  [[services.ports]]
    port = 443
    handlers = ["tls", "http"]
  [[services.tcp_checks]]
    interval = "15s"
    timeout = "2s"
    grace_period = "1s"
  [[services.http_checks]]
    interval = 10000
    timeout = 2000
    method = "get"
    path = "/health"
    protocol = "http"
    [services.http_checks.headers]
      X-Check = "yes"
"#,
        );
    }

    #[test]
    fn udp_services_and_port_ranges_are_valid() {
        assert_valid(
            r#"
[[services]]
  protocol = "udp"
  internal_port = 5000
  [[services.ports]]
    start_port = 5000
    end_port = 5010
[[services]]
  protocol = "tcp"
  internal_port = 5000
  [[services.ports]]
    port = 5000
    handlers = ["proxy_proto"]
    proxy_proto_options = { version = "v2" }
"#,
        );
    }

    #[test]
    fn machine_checks_accept_integer_milliseconds_and_duration_strings() {
        assert_valid(
            r#"
[http_service]
  internal_port = 8080
[checks.by_number]
  type = "http"
  path = "/"
  interval = 2000
  timeout = 60000
  grace_period = 0
[checks.by_string]
  type = "tcp"
  port = 8080
  interval = "1m30s"
  timeout = "1m"
  grace_period = "500ms"
"#,
        );
    }

    #[test]
    fn vm_presets_at_their_bounds_are_valid() {
        let cases = [
            "size = \"shared-cpu-1x\"",
            "size = \"shared-cpu-1x\"\nmemory = 2048",
            "size = \"shared-cpu-2x\"\nmemory = \"512mb\"",
            "size = \"shared-cpu-8x\"\nmemory = \"16gb\"",
            "size = \"shared-cpu-4x\"\nmemory_mb = 1280",
            "size = \"performance-1x\"\nmemory = \"8GB\"",
            "size = \"performance-16x\"",
            "size = \"performance-16x\"\nmemory = \"128gb\"",
            "cpu_kind = \"performance\"\ncpus = 2\nmemory = 4096",
            "cpus = 2\nmemory = \"1024\"",
            "memory = \"1g\"",
        ];
        for case in cases {
            assert_valid(&format!("[[vm]]\n{case}\n"));
        }
    }

    #[test]
    fn bluegreen_with_a_health_check_and_no_mounts_is_valid() {
        assert_valid(
            r#"
[deploy]
  strategy = "bluegreen"
[http_service]
  internal_port = 8080
  [[http_service.checks]]
    path = "/"
"#,
        );
    }

    #[test]
    fn a_check_without_port_is_fine_when_the_group_has_an_http_service() {
        assert_valid(
            r#"
[http_service]
  internal_port = 8080
[checks.alive]
  type = "tcp"
"#,
        );
    }

    #[test]
    fn parse_errors_are_reported() {
        rejects("app = \n", PARSE_PATH, "invalid TOML");
    }

    #[test]
    fn unknown_keys_are_rejected_everywhere() {
        rejects("apps = \"x\"\n", "apps", "unknown key");
        rejects("[build]\nbuild_target = \"x\"\n", "build.build_target", "`build-target`");
        rejects(
            "[[services]]\nprotocol = \"tcp\"\ninternal_port = 80\n[[services.ports]]\nport = 80\nhandler = [\"http\"]\n",
            "services[0].ports[0].handler",
            "did you mean `handlers`",
        );
        rejects(
            "[http_service]\ninternal_port = 80\n[http_service.http_options]\ngzip = true\n",
            "http_service.http_options.gzip",
            "unknown key",
        );
        rejects("[[mounts]]\nsource = \"d\"\ndestination = \"/d\"\nsize = 3\n", "mounts[0].size", "unknown key");
        rejects("[deploy]\nstrategy = \"rolling\"\nrelease_vm = {}\n", "deploy.release_vm", "unknown key");
        rejects(
            "[deploy]\nrelease_command = \"migrate\"\n[deploy.release_command_vm]\nsize = \"huge\"\n",
            "deploy.release_command_vm.size",
            "",
        );
        rejects(
            "[deploy]\nrelease_command = \"migrate\"\n[deploy.release_command_vm]\nmemroy = \"1gb\"\n",
            "deploy.release_command_vm.memroy",
            "unknown key",
        );
    }

    #[test]
    fn app_names_must_be_dns_safe() {
        rejects("app = \"My_App\"\n", "app", "lowercase letters");
        rejects(&format!("app = \"{}\"\n", "a".repeat(64)), "app", "at most 63");
        rejects("app = \"-demo\"\n", "app", "start or end");
        rejects("app = 3\n", "app", "must be a string");
    }

    #[test]
    fn primary_region_must_be_a_region_code() {
        rejects("primary_region = \"frankfurt\"\n", "primary_region", "three-letter");
    }

    #[test]
    fn kill_signal_must_be_a_known_signal() {
        rejects("kill_signal = \"SIGSTOP\"\n", "kill_signal", "must be one of");
    }

    #[test]
    fn kill_timeout_is_at_most_five_minutes() {
        rejects("kill_timeout = 301\n", "kill_timeout", "between 0 and 300");
        rejects("kill_timeout = \"6m\"\n", "kill_timeout", "at most 300s");
        rejects("kill_timeout = \"soon\"\n", "kill_timeout", "invalid duration");
        assert_valid("kill_timeout = 300\n");
        assert_valid("kill_timeout = \"5m\"\n");
    }

    #[test]
    fn swap_size_must_not_be_negative() {
        rejects("swap_size_mb = -1\n", "swap_size_mb", "at least 0");
    }

    #[test]
    fn env_values_must_be_strings_with_allowed_names() {
        rejects("[env]\nPORT = 8080\n", "env.PORT", "must be a string");
        rejects("[env]\nFLY_REGION = \"x\"\n", "env.FLY_REGION", "reserved");
        rejects("[env]\n\"A=B\" = \"x\"\n", "env.\"A=B\"", "'='");
        rejects("[env]\n\"\" = \"x\"\n", "env.\"\"", "must not be empty");
    }

    #[test]
    fn build_settings_are_checked() {
        rejects("[build]\nimage = \"nginx\"\ndockerfile = \"Dockerfile\"\n", "build", "ambiguous build");
        rejects("[build]\ncompression = \"lz4\"\n", "build.compression", "gzip, zstd");
        rejects("[build]\ncompression_level = 10\n", "build.compression_level", "between 0 and 9");
        rejects("[build.args]\nVERSION = 2\n", "build.args.VERSION", "must be a string");
        rejects("[build]\nbuildpacks = \"x\"\n", "build.buildpacks", "array of strings");
    }

    #[test]
    fn deploy_strategy_must_be_known() {
        rejects("[deploy]\nstrategy = \"rolling-eyes\"\n", "deploy.strategy", "must be one of");
    }

    #[test]
    fn canary_is_refused_with_mounts() {
        rejects(
            "[deploy]\nstrategy = \"canary\"\n[[mounts]]\nsource = \"data\"\ndestination = \"/data\"\n",
            "deploy.strategy",
            "canary strategy is not supported",
        );
    }

    #[test]
    fn bluegreen_needs_a_health_check_and_no_mounts() {
        rejects(
            "[deploy]\nstrategy = \"bluegreen\"\n[http_service]\ninternal_port = 80\n",
            "deploy.strategy",
            "needs at least one health check",
        );
        rejects(
            "[deploy]\nstrategy = \"bluegreen\"\n[[mounts]]\nsource = \"data\"\ndestination = \"/data\"\n[http_service]\ninternal_port = 80\n[[http_service.checks]]\npath = \"/\"\n",
            "deploy.strategy",
            "bluegreen strategy is not supported",
        );
    }

    #[test]
    fn deploy_numbers_and_durations_are_checked() {
        rejects("[deploy]\nmax_unavailable = 0\n", "deploy.max_unavailable", "greater than 0");
        rejects("[deploy]\nwait_timeout = 300\n", "deploy.wait_timeout", "nanoseconds");
        // fly-2026.md §3.3: `release_command_timeout = 600` is 600 ns, never what was meant.
        rejects("[deploy]\nrelease_command_timeout = 600\n", "deploy.release_command_timeout", "nanoseconds");
        rejects(
            "[deploy]\nrelease_command_timeout = \"ten minutes\"\n",
            "deploy.release_command_timeout",
            "invalid duration",
        );
        rejects("[deploy]\nrelease_command = \"migrate 'unfinished\"\n", "deploy.release_command", "never closed");
    }

    #[test]
    fn experimental_commands_are_argument_vectors() {
        rejects("[experimental]\ncmd = \"npm start\"\n", "experimental.cmd", "ONE argument");
        rejects("[experimental]\nentrypoint = [\"sh\", 1]\n", "experimental.entrypoint[1]", "must be a string");
        rejects("[experimental]\nauto_rollback = \"yes\"\n", "experimental.auto_rollback", "a boolean");
        assert_valid("[experimental]\ncmd = \"serve\"\nentrypoint = [\"/bin/sh\", \"-c\"]\n");
    }

    #[test]
    fn http_service_needs_a_valid_internal_port() {
        rejects("[http_service]\nforce_https = true\n", "http_service.internal_port", "is required");
        rejects("[http_service]\ninternal_port = 70000\n", "http_service.internal_port", "between 1 and 65535");
        rejects("[http_service]\ninternal_port = \"8080\"\n", "http_service.internal_port", "an integer");
    }

    #[test]
    fn autoscaling_settings_are_checked() {
        rejects(
            "[http_service]\ninternal_port = 80\nauto_stop_machines = \"sleep\"\n",
            "http_service.auto_stop_machines",
            "\"suspend\"",
        );
        rejects(
            "[http_service]\ninternal_port = 80\nmin_machines_running = -1\n",
            "http_service.min_machines_running",
            "at least 0",
        );
        rejects(
            "[http_service]\ninternal_port = 80\nauto_start_machines = \"yes\"\n",
            "http_service.auto_start_machines",
            "a boolean",
        );
    }

    #[test]
    fn concurrency_limits_are_checked() {
        rejects(
            "[http_service]\ninternal_port = 80\n[http_service.concurrency]\ntype = \"requests\"\nhard_limit = 10\nsoft_limit = 20\n",
            "http_service.concurrency.soft_limit",
            "must not exceed hard_limit",
        );
        rejects(
            "[http_service]\ninternal_port = 80\n[http_service.concurrency]\ntype = \"bytes\"\n",
            "http_service.concurrency.type",
            "connections, requests",
        );
        rejects(
            "[http_service]\ninternal_port = 80\n[http_service.concurrency]\nhard_limit = 0\n",
            "http_service.concurrency.hard_limit",
            "at least 1",
        );
    }

    #[test]
    fn services_need_protocol_and_internal_port() {
        rejects(
            "[[services]]\ninternal_port = 80\n[[services.ports]]\nport = 80\n",
            "services[0].protocol",
            "is required",
        );
        rejects(
            "[[services]]\nprotocol = \"http\"\ninternal_port = 80\n[[services.ports]]\nport = 80\n",
            "services[0].protocol",
            "tcp, udp",
        );
        rejects(
            "[[services]]\nprotocol = \"tcp\"\n[[services.ports]]\nport = 80\n",
            "services[0].internal_port",
            "is required",
        );
        rejects("[[services]]\nprotocol = \"tcp\"\ninternal_port = 80\n", "services[0].ports", "at least one port");
    }

    #[test]
    fn handlers_must_be_known_and_unique() {
        let text = r#"
[[services]]
  protocol = "tcp"
  internal_port = 8080
  [[services.ports]]
    port = 80
    handlers = ["http"]
  [[services.ports]]
    port = 443
    handlers = ["tls", "https", "tls"]
"#;
        rejects(text, "services[0].ports[1].handlers[1]", "unknown handler \"https\"");
        rejects(text, "services[0].ports[1].handlers[2]", "duplicate handler");
    }

    #[test]
    fn udp_ports_take_no_handlers() {
        rejects(
            "[[services]]\nprotocol = \"udp\"\ninternal_port = 53\n[[services.ports]]\nport = 53\nhandlers = [\"tls\"]\n",
            "services[0].ports[0].handlers",
            "UDP services take no handlers",
        );
    }

    #[test]
    fn force_https_needs_the_http_handler() {
        rejects(
            "[[services]]\nprotocol = \"tcp\"\ninternal_port = 80\n[[services.ports]]\nport = 443\nhandlers = [\"tls\"]\nforce_https = true\n",
            "services[0].ports[0].force_https",
            "\"http\" handler",
        );
    }

    #[test]
    fn port_numbers_and_ranges_are_checked() {
        let service = "[[services]]\nprotocol = \"tcp\"\ninternal_port = 80\n[[services.ports]]\n";
        rejects(&format!("{service}port = 0\n"), "services[0].ports[0].port", "between 1 and 65535");
        rejects(&format!("{service}port = 80\nstart_port = 80\nend_port = 81\n"), "services[0].ports[0]", "not both");
        rejects(
            &format!("{service}start_port = 90\nend_port = 80\n"),
            "services[0].ports[0].end_port",
            "below start_port",
        );
        rejects(&format!("{service}start_port = 90\n"), "services[0].ports[0].end_port", "is required");
        rejects(&format!("{service}handlers = [\"tls\"]\n"), "services[0].ports[0].port", "is required");
    }

    #[test]
    fn port_options_are_checked() {
        let service = "[[services]]\nprotocol = \"tcp\"\ninternal_port = 80\n[[services.ports]]\nport = 443\nhandlers = [\"tls\"]\n";
        rejects(
            &format!("{service}proxy_proto_options = {{ version = \"v3\" }}\n"),
            "services[0].ports[0].proxy_proto_options.version",
            "v1, v2",
        );
        rejects(
            &format!("{service}tls_options = {{ versions = [\"TLSv1.1\"] }}\n"),
            "services[0].ports[0].tls_options.versions[0]",
            "TLSv1.2",
        );
        rejects(
            &format!(
                "{service}http_options = {{ replay_cache = [{{ path_prefix = \"/\", ttl_seconds = 10, type = \"query\", name = \"x\" }}] }}\n"
            ),
            "services[0].ports[0].http_options.replay_cache[0].type",
            "cookie, header",
        );
    }

    #[test]
    fn duplicate_services_are_rejected() {
        let one = "[[services]]\nprotocol = \"tcp\"\ninternal_port = 1738\n[[services.ports]]\nport = 80\nhandlers = [\"http\"]\n";
        let other = "[[services]]\nprotocol = \"tcp\"\ninternal_port = 1738\n[[services.ports]]\nport = 8080\nhandlers = [\"http\"]\n";
        rejects(&format!("{one}{other}"), "services[1]", "duplicate service");
        // Same internal port in different process groups is fine.
        assert_valid(
            "[processes]\na = \"run a\"\nb = \"run b\"\n[[services]]\nprotocol = \"tcp\"\ninternal_port = 1738\nprocesses = [\"a\"]\n[[services.ports]]\nport = 80\n[[services]]\nprotocol = \"tcp\"\ninternal_port = 1738\nprocesses = [\"b\"]\n[[services.ports]]\nport = 81\n",
        );
    }

    #[test]
    fn a_public_port_cannot_be_used_twice() {
        rejects(
            "[[services]]\nprotocol = \"tcp\"\ninternal_port = 80\n[[services.ports]]\nport = 5000\n[[services]]\nprotocol = \"tcp\"\ninternal_port = 81\n[[services.ports]]\nstart_port = 4990\nend_port = 5010\n",
            "services[1].ports[0]",
            "public port 5000 (tcp) is already used by services[0].ports[0]",
        );
        rejects(
            "[http_service]\ninternal_port = 8080\n[[services]]\nprotocol = \"tcp\"\ninternal_port = 9000\n[[services.ports]]\nport = 443\nhandlers = [\"tls\"]\n",
            "services[0].ports[0]",
            "already used by http_service",
        );
        // The same number over UDP is another port.
        assert_valid(
            "[[services]]\nprotocol = \"tcp\"\ninternal_port = 80\n[[services.ports]]\nport = 53\n[[services]]\nprotocol = \"udp\"\ninternal_port = 81\n[[services.ports]]\nport = 53\n",
        );
    }

    #[test]
    fn service_check_durations_are_bounded() {
        let service = "[[services]]\nprotocol = \"tcp\"\ninternal_port = 80\n[[services.ports]]\nport = 80\n";
        rejects(
            &format!("{service}[[services.tcp_checks]]\ninterval = 1000\n"),
            "services[0].tcp_checks[0].interval",
            "at least 2s, found 1s",
        );
        rejects(
            &format!("{service}[[services.tcp_checks]]\ninterval = \"1500ms\"\n"),
            "services[0].tcp_checks[0].interval",
            "at least 2s",
        );
        rejects(
            &format!("{service}[[services.http_checks]]\ntimeout = 90000\n"),
            "services[0].http_checks[0].timeout",
            "at most 60s, found 90s",
        );
        rejects(
            &format!("{service}[[services.http_checks]]\ngrace_period = \"-1s\"\n"),
            "services[0].http_checks[0].grace_period",
            "must not be negative",
        );
        rejects(
            &format!("{service}[[services.tcp_checks]]\ninterval = \"10\"\n"),
            "services[0].tcp_checks[0].interval",
            "a unit is missing",
        );
        rejects(
            &format!("{service}[[services.tcp_checks]]\nrestart_limit = 3\n"),
            "services[0].tcp_checks[0].restart_limit",
            "unknown key",
        );
    }

    #[test]
    fn http_check_fields_are_checked() {
        let service = "[[services]]\nprotocol = \"tcp\"\ninternal_port = 80\n[[services.ports]]\nport = 80\n[[services.http_checks]]\n";
        rejects(&format!("{service}path = \"health\"\n"), "services[0].http_checks[0].path", "start with '/'");
        rejects(&format!("{service}method = \"FETCH\"\n"), "services[0].http_checks[0].method", "HTTP method");
        rejects(&format!("{service}protocol = \"ftp\"\n"), "services[0].http_checks[0].protocol", "http, https");
        rejects(
            &format!("{service}headers = {{ X-Count = 1 }}\n"),
            "services[0].http_checks[0].headers.X-Count",
            "must be a string",
        );
    }

    #[test]
    fn machine_checks_need_a_type() {
        rejects("[checks.a]\nport = 80\n", "checks.a.type", "is required");
        rejects("[checks.a]\ntype = \"grpc\"\nport = 80\n", "checks.a.type", "http, tcp");
        rejects("[checks]\na = 3\n", "checks.a", "must be a table");
    }

    #[test]
    fn machine_checks_need_a_port_without_http_service() {
        rejects("[checks.a]\ntype = \"tcp\"\n", "checks.a.port", "no [http_service]");
        rejects(
            "[processes]\nweb = \"w\"\njob = \"j\"\n[http_service]\ninternal_port = 80\nprocesses = [\"web\"]\n[checks.a]\ntype = \"tcp\"\nprocesses = [\"job\"]\n",
            "checks.a.port",
            "no [http_service]",
        );
    }

    #[test]
    fn machine_check_fields_follow_their_type() {
        rejects("[checks.a]\ntype = \"http\"\nport = 80\n", "checks.a.path", "is required");
        rejects(
            "[checks.a]\ntype = \"tcp\"\nport = 80\npath = \"/\"\n",
            "checks.a.path",
            "only applies to http checks",
        );
        rejects(
            "[checks.a]\ntype = \"tcp\"\nport = 80\ninterval = \"1s\"\ntimeout = \"2m\"\n",
            "checks.a.timeout",
            "at most 60s",
        );
        rejects(
            "[checks.a]\ntype = \"tcp\"\nport = 80\ninterval = \"10 seconds\"\n",
            "checks.a.interval",
            "invalid duration",
        );
    }

    #[test]
    fn vm_size_must_be_a_known_preset() {
        rejects("[[vm]]\nsize = \"a100-40gb\"\n", "vm[0].size", "unknown machine size");
        rejects("[[vm]]\nsize = \"shared-cpu-3x\"\n", "vm[0].size", "unknown machine size");
        rejects("[[vm]]\ncpu_kind = \"gpu\"\n", "vm[0].cpu_kind", "shared, performance");
        rejects("[[vm]]\ngpu_kind = \"a100-pcie-40gb\"\n", "vm[0].gpu_kind", "unknown key");
    }

    #[test]
    fn vm_memory_must_fit_the_size_table() {
        rejects(
            "[[vm]]\nsize = \"shared-cpu-1x\"\nmemory = \"4gb\"\n",
            "vm[0].memory",
            "shared-cpu-1x (shared CPUs) takes 256 to 2048 MB",
        );
        rejects("[[vm]]\nsize = \"shared-cpu-1x\"\nmemory = 300\n", "vm[0].memory", "steps of 256 MB");
        rejects("[[vm]]\nsize = \"performance-2x\"\nmemory_mb = 2048\n", "vm[0].memory_mb", "4096 to 16384 MB");
        rejects("[[vm]]\nsize = \"performance-1x\"\nmemory = 2560\n", "vm[0].memory", "steps of 1024 MB");
        // Two shared CPUs with the default preset's 256 MB is below the 512 MB minimum.
        rejects("[[vm]]\ncpus = 2\n", "vm[0]", "the memory of the `size` preset");
        rejects("[[vm]]\nmemory = \"lots\"\n", "vm[0].memory", "invalid size");
        rejects("[[vm]]\nmemory = \"1.3mb\"\n", "vm[0].memory", "whole number of megabytes");
    }

    #[test]
    fn vm_cpus_must_exist_for_the_kind() {
        rejects("[[vm]]\ncpus = 3\nmemory = 1024\n", "vm[0].cpus", "not 3");
        rejects(
            "[[vm]]\nsize = \"performance-16x\"\ncpu_kind = \"shared\"\n",
            "vm[0].cpu_kind",
            "shared machines have 1, 2, 4, 6, 8 CPUs, not 16",
        );
    }

    #[test]
    fn vm_memory_and_memory_mb_are_exclusive() {
        rejects("[[vm]]\nmemory = 512\nmemory_mb = 512\n", "vm[0].memory_mb", "not both");
    }

    #[test]
    fn at_most_one_vm_per_process_group() {
        rejects(
            "[[vm]]\nsize = \"shared-cpu-1x\"\n[[vm]]\nsize = \"shared-cpu-2x\"\n",
            "vm[1]",
            "more than one [[vm]] without `processes`",
        );
        rejects(
            "[processes]\nweb = \"w\"\n[[vm]]\nprocesses = [\"web\"]\n[[vm]]\nsize = \"shared-cpu-2x\"\nprocesses = [\"web\"]\n",
            "vm[1].processes",
            "already has a [[vm]]",
        );
    }

    #[test]
    fn mounts_need_a_valid_source_and_destination() {
        rejects("[[mounts]]\ndestination = \"/data\"\n", "mounts[0].source", "is required");
        rejects(
            "[[mounts]]\nsource = \"my-data\"\ndestination = \"/data\"\n",
            "mounts[0].source",
            "letters, digits and underscores",
        );
        rejects("[[mounts]]\nsource = \"data\"\ndestination = \"/\"\n", "mounts[0].destination", "must not be \"/\"");
        rejects("[[mounts]]\nsource = \"data\"\ndestination = \"data\"\n", "mounts[0].destination", "absolute path");
        rejects("[[mounts]]\nsource = \"data\"\n", "mounts[0].destination", "is required");
        // A single [mounts] table is accepted too, as flyctl does.
        rejects("[mounts]\nsource = \"data\"\n", "mounts.destination", "is required");
    }

    #[test]
    fn mount_sizes_and_retention_are_checked() {
        let mount = "[[mounts]]\nsource = \"data\"\ndestination = \"/data\"\n";
        rejects(&format!("{mount}initial_size = \"500mb\"\n"), "mounts[0].initial_size", "smaller than 1GB");
        rejects(&format!("{mount}initial_size = 0\n"), "mounts[0].initial_size", "at least 1");
        rejects(&format!("{mount}snapshot_retention = 61\n"), "mounts[0].snapshot_retention", "between 1 and 60");
        assert_valid(&format!("{mount}initial_size = 10\n"));
    }

    #[test]
    fn mount_auto_extend_is_all_or_nothing() {
        let mount = "[[mounts]]\nsource = \"data\"\ndestination = \"/data\"\n";
        rejects(&format!("{mount}auto_extend_size_threshold = 80\n"), "mounts[0].auto_extend_size_limit", "all of");
        let trio = |threshold: &str, increment: &str, limit: &str| {
            format!(
                "{mount}auto_extend_size_threshold = {threshold}\nauto_extend_size_increment = {increment}\nauto_extend_size_limit = {limit}\n"
            )
        };
        rejects(&trio("40", "\"1gb\"", "\"10gb\""), "mounts[0].auto_extend_size_threshold", "between 50 and 99");
        rejects(&trio("80", "\"200gb\"", "\"300gb\""), "mounts[0].auto_extend_size_increment", "between 1GB and 100GB");
        rejects(&trio("80", "\"1gb\"", "\"600gb\""), "mounts[0].auto_extend_size_limit", "between 1GB and 500GB");
        rejects(&trio("80", "1", "\"10gb\""), "mounts[0].auto_extend_size_increment", "bare integer");
    }

    #[test]
    fn at_most_one_mount_per_process_group() {
        rejects(
            "[[mounts]]\nsource = \"a\"\ndestination = \"/a\"\n[[mounts]]\nsource = \"b\"\ndestination = \"/b\"\n",
            "mounts[1]",
            "at most one mount per process group",
        );
        assert_valid(
            "[processes]\na = \"x\"\nb = \"y\"\n[[mounts]]\nsource = \"a\"\ndestination = \"/a\"\nprocesses = [\"a\"]\n[[mounts]]\nsource = \"b\"\ndestination = \"/b\"\nprocesses = [\"b\"]\n",
        );
    }

    #[test]
    fn files_need_exactly_one_source() {
        rejects("[[files]]\nguest_path = \"/a\"\n", "files[0]", "none is set");
        rejects(
            "[[files]]\nguest_path = \"/a\"\nraw_value = \"x\"\nsecret_name = \"A\"\n",
            "files[0]",
            "found raw_value, secret_name",
        );
        rejects("[[files]]\nraw_value = \"x\"\n", "files[0].guest_path", "is required");
        rejects("[[files]]\nguest_path = \"a.txt\"\nraw_value = \"x\"\n", "files[0].guest_path", "absolute path");
        rejects("[files]\nguest_path = \"/a\"\nraw_value = \"x\"\n", "files", "array of tables");
    }

    #[test]
    fn an_empty_raw_value_is_rejected() {
        rejects("[[files]]\nguest_path = \"/a\"\nraw_value = \"\"\n", "files[0].raw_value", "silently drops");
    }

    #[test]
    fn secret_names_must_be_valid() {
        rejects("[[files]]\nguest_path = \"/a\"\nsecret_name = \"1-BAD\"\n", "files[0].secret_name", "secret name");
    }

    #[test]
    fn duplicate_guest_paths_are_rejected() {
        rejects(
            "[[files]]\nguest_path = \"/a\"\nraw_value = \"x\"\n[[files]]\nguest_path = \"/a\"\nraw_value = \"y\"\n",
            "files[1].guest_path",
            "duplicate guest_path",
        );
    }

    #[test]
    fn restart_policies_are_checked() {
        rejects("[[restart]]\npolicy = \"sometimes\"\n", "restart[0].policy", "always, never, on-failure");
        rejects("[[restart]]\npolicy = \"always\"\nretries = -1\n", "restart[0].retries", "at least 0");
        rejects("[[restart]]\nretries = 1\n", "restart[0].policy", "is required");
    }

    #[test]
    fn statics_and_metrics_need_their_paths() {
        rejects("[[statics]]\nguest_path = \"/app/public\"\n", "statics[0].url_prefix", "is required");
        rejects("[[metrics]]\nport = 9091\n", "metrics[0].path", "is required");
        rejects("[[metrics]]\nport = 9091\npath = \"metrics\"\n", "metrics[0].path", "start with '/'");
    }

    #[test]
    fn process_references_must_name_defined_groups() {
        rejects(
            "[processes]\nweb = \"w\"\n[http_service]\ninternal_port = 80\nprocesses = [\"api\"]\n",
            "http_service.processes[0]",
            "not defined in [processes]",
        );
        rejects(
            "[[restart]]\npolicy = \"always\"\nprocesses = [\"worker\"]\n",
            "restart[0].processes[0]",
            "the only group is \"app\"",
        );
    }

    #[test]
    fn services_must_name_processes_when_groups_are_defined() {
        rejects(
            "[processes]\nweb = \"w\"\n[http_service]\ninternal_port = 80\n",
            "http_service.processes",
            "names none",
        );
    }

    #[test]
    fn process_commands_must_split_into_words() {
        rejects("[processes]\nweb = \"run \\\"oops\"\n", "processes.web", "never closed");
        rejects("[processes]\nweb = 3\n", "processes.web", "must be a string");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = problems("app = \"Bad\"\nkill_signal = \"NOPE\"\n[env]\nX = 1\n[[vm]]\nsize = \"huge\"\n");
        let paths: BTreeSet<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, BTreeSet::from(["app", "kill_signal", "env.X", "vm[0].size"]), "{problems:#?}");
    }

    #[test]
    fn problems_display_as_path_then_message() {
        let problem =
            Problem { path: "services[0].ports[1].handlers[0]".to_owned(), message: "unknown handler".to_owned() };
        assert_eq!(problem.to_string(), "services[0].ports[1].handlers[0]: unknown handler");
    }

    #[test]
    #[should_panic(expected = "http_service.internal_port: is required")]
    fn assert_valid_lists_the_problems() {
        assert_valid("[http_service]\nforce_https = true\n");
    }

    #[test]
    fn go_durations_parse_like_go() {
        assert_eq!(parse_go_duration("1m30s"), Ok(90 * NANOS_PER_SEC));
        assert_eq!(parse_go_duration("500ms"), Ok(500 * NANOS_PER_MILLI));
        assert_eq!(parse_go_duration("1.5s"), Ok(1_500 * NANOS_PER_MILLI));
        assert_eq!(parse_go_duration(".5h"), Ok(1_800 * NANOS_PER_SEC));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("-2s"), Ok(-2 * NANOS_PER_SEC));
        for bad in ["", "10", "s", "1x", "1.s.", "ten seconds", "1 s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn sizes_parse_like_flyctl() {
        assert_eq!(parse_memory_mb("1gb"), Ok(1024));
        assert_eq!(parse_memory_mb("2GB"), Ok(2048));
        assert_eq!(parse_memory_mb("1024"), Ok(1024));
        assert_eq!(parse_memory_mb("512MiB"), Ok(512));
        assert_eq!(parse_memory_mb("1.5g"), Ok(1536));
        assert!(parse_memory_mb("512 ").is_err());
        assert!(parse_memory_mb("12q").is_err());
        assert_eq!(parse_size_gb("10gb"), Ok(10));
        assert_eq!(parse_size_gb("10"), Ok(10));
        assert_eq!(parse_size_gb("500mb"), Ok(0));
        assert_eq!(parse_size_gb("1tb"), Ok(1000));
    }

    #[test]
    fn key_paths_quote_unusual_keys() {
        assert_eq!(key_path("", "app"), "app");
        assert_eq!(key_path("checks", "my check"), "checks.\"my check\"");
        assert_eq!(key_path("services[0]", "ports"), "services[0].ports");
    }
}
