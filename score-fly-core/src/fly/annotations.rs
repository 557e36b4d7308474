//! Workload annotations for the Fly settings Score cannot express.
//!
//! The prefix is `score-fly/`; score-flyio's `score-flyio.astromechza.github.com/` is accepted
//! as an alias. Any other key under either prefix is an error, so a typo never goes unseen.
//! Per-port keys are `service-<port>-<option>`; port names may contain `-` because the port
//! part is matched against the declared ports, not split on dashes.

use std::collections::BTreeMap;

use super::Problem;
use super::config::{Concurrency, HttpOptions, HttpResponseOptions, TlsOptions};
use super::regions::{self, Replaced, UnknownRegion};
use super::vm::CpuKind;
use crate::limits;
use crate::spec::node::FieldPath;

/// Fly's shortest check interval.
const CHECK_INTERVAL_MIN: std::time::Duration = std::time::Duration::from_secs(2);
/// Fly's longest check timeout.
const CHECK_TIMEOUT_MAX: std::time::Duration = std::time::Duration::from_mins(1);
/// Fly's longest kill timeout.
const KILL_TIMEOUT_MAX: std::time::Duration = std::time::Duration::from_mins(5);

/// Our annotation prefix.
pub const PREFIX: &str = "score-fly/";
/// score-flyio's prefix, accepted as an alias.
pub const LEGACY_PREFIX: &str = "score-flyio.astromechza.github.com/";

/// Workload-level settings, by key (after the prefix).
pub const WORKLOAD_KEYS: &[&str] = &[
    "primary-region",
    "kill-signal",
    "kill-timeout",
    "swap-size-mb",
    "deploy-strategy",
    "release-command",
    "release-command-timeout",
    "cpu-kind",
    "restart-policy",
    "restart-retries",
    "http-service",
    "check-interval",
    "check-timeout",
    "check-grace-period",
    "image-container",
];

/// Per-port options (`service-<port>-<option>`).
pub const PORT_OPTIONS: &[&str] = &[
    "handlers",
    "http-options",
    "tls-options",
    "force-https",
    "auto-stop",
    "auto-start",
    "min-running",
    "concurrency",
];

/// Which port becomes `[http_service]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HttpServiceChoice {
    /// The one group of plain HTTP(S) ports, if exactly one exists.
    #[default]
    Auto,
    /// Never: every port is a `[[services]]` entry.
    Off,
    /// This port (and the ports sharing its target port).
    Port(String),
}

/// Options for one service port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortOptions {
    /// Proxy handlers.
    pub handlers: Option<Vec<String>>,
    /// HTTP options.
    pub http_options: Option<HttpOptions>,
    /// TLS options.
    pub tls_options: Option<TlsOptions>,
    /// Redirect HTTP to HTTPS.
    pub force_https: Option<bool>,
    /// `off`, `stop`, `suspend`.
    pub auto_stop: Option<String>,
    /// Start machines on demand.
    pub auto_start: Option<bool>,
    /// Machines kept running.
    pub min_running: Option<u32>,
    /// Concurrency limits.
    pub concurrency: Option<Concurrency>,
}

/// Everything the annotations say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlyAnnotations {
    /// `primary-region` (a deprecated code replaced by its successor).
    pub primary_region: Option<String>,
    /// The deprecated `primary-region` code replaced, for the conversion's warning.
    pub primary_region_replaced: Option<Replaced>,
    /// `kill-signal`.
    pub kill_signal: Option<String>,
    /// `kill-timeout`, as written (seconds or duration).
    pub kill_timeout: Option<super::config::DurationValue>,
    /// `swap-size-mb`.
    pub swap_size_mb: Option<u32>,
    /// `deploy-strategy`.
    pub deploy_strategy: Option<String>,
    /// `release-command`.
    pub release_command: Option<String>,
    /// `release-command-timeout`.
    pub release_command_timeout: Option<String>,
    /// `cpu-kind`.
    pub cpu_kind: Option<CpuKind>,
    /// `restart-policy`.
    pub restart_policy: Option<String>,
    /// `restart-retries`.
    pub restart_retries: Option<u32>,
    /// `http-service`.
    pub http_service: HttpServiceChoice,
    /// `check-interval`.
    pub check_interval: Option<String>,
    /// `check-timeout`.
    pub check_timeout: Option<String>,
    /// `check-grace-period`.
    pub check_grace_period: Option<String>,
    /// `image-container`: the container of a multi-container workload that receives the
    /// built or `--image` image (checked against the containers by the conversion).
    pub image_container: Option<String>,
    /// Per-port options, by port name.
    pub ports: BTreeMap<String, PortOptions>,
    /// The full key as written (either prefix), by key after the prefix.
    pub written: BTreeMap<String, String>,
}

impl FlyAnnotations {
    /// The path of an annotation as the user wrote it (`score-fly/` when it is not set).
    pub fn path(&self, short: &str) -> FieldPath {
        let full = self.written.get(short).cloned().unwrap_or_else(|| format!("{PREFIX}{short}"));
        annotation_path(&full)
    }
}

fn annotation_path(key: &str) -> FieldPath {
    FieldPath::root().key("metadata").key("annotations").key(key)
}

/// Signals Fly can send to stop a machine.
const KILL_SIGNALS: &[&str] = &["SIGINT", "SIGTERM", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGKILL", "SIGHUP"];
/// Fly's deploy strategies.
const DEPLOY_STRATEGIES: &[&str] = &["rolling", "immediate", "canary", "bluegreen"];
/// Fly's proxy handlers.
const HANDLERS: &[&str] = &["http", "tls", "pg_tls", "proxy_proto"];

/// Why an annotation's value is not a Fly setting score-fly accepts. Each message names
/// the value (or the JSON key) and what is accepted.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    /// The same key is written under both prefixes.
    #[error("`{key}` is set twice (also as `{previous}`); keep one")]
    SetTwice {
        /// The key after the prefix.
        key: String,
        /// The full key written first.
        previous: String,
    },
    /// `service-<port>-<option>` names a port the workload does not declare.
    #[error("`service-{rest}` names port `{port}`, which is not declared in service.ports (declared: {})", list_or(.declared, "none"))]
    UndeclaredPort {
        /// The key after `service-`.
        rest: String,
        /// The port it names.
        port: String,
        /// The declared ports.
        declared: Vec<String>,
    },
    /// `service-...` with no known per-port option.
    #[error("`service-{rest}` has an unknown option; per-port options are {}", PORT_OPTIONS.join(", "))]
    UnknownPortOption {
        /// The key after `service-`.
        rest: String,
    },
    /// A key under our prefixes that score-fly does not know.
    #[error("unknown score-fly annotation `{key}`; known keys are {} and service-<port>-<option> with option one of {}", WORKLOAD_KEYS.join(", "), PORT_OPTIONS.join(", "))]
    UnknownKey {
        /// The key after the prefix.
        key: String,
    },
    /// `primary-region` is not a current or deprecated Fly region code.
    #[error("primary region {0}")]
    PrimaryRegion(#[from] UnknownRegion),
    /// `kill-signal` is not a signal Fly sends.
    #[error("kill signal `{value}` is not one of {}", KILL_SIGNALS.join(", "))]
    KillSignal {
        /// The value.
        value: String,
    },
    /// `kill-timeout` is not seconds or a duration, or is above Fly's maximum.
    #[error("kill timeout `{}` must be whole seconds or a duration like `30s`, at most {} seconds (Fly's maximum)", .value.escape_debug(), KILL_TIMEOUT_MAX.as_secs())]
    KillTimeout {
        /// The value.
        value: String,
    },
    /// `deploy-strategy` is not one of Fly's.
    #[error("deploy strategy `{value}` is not one of {}", DEPLOY_STRATEGIES.join(", "))]
    DeployStrategy {
        /// The value.
        value: String,
    },
    /// `release-command` is blank.
    #[error("the release command must not be empty")]
    EmptyReleaseCommand,
    /// `release-command` holds a NUL character.
    #[error("the release command holds a NUL character, which no program argument can carry; remove it")]
    NulInReleaseCommand,
    /// `release-command` does not split into words.
    #[error("release command `{value}` has an unclosed quote or a trailing `\\`; flyctl splits it like a shell would")]
    UnbalancedReleaseCommand {
        /// The value.
        value: String,
    },
    /// A duration annotation that is not a duration in its range.
    #[error(transparent)]
    Duration(#[from] DurationInError),
    /// `cpu-kind` is not `shared` or `performance`.
    #[error("cpu kind `{value}` must be `shared` or `performance`")]
    CpuKind {
        /// The value.
        value: String,
    },
    /// `restart-policy` is not one of Fly's.
    #[error("restart policy `{value}` must be `always`, `never` or `on-failure`")]
    RestartPolicy {
        /// The value.
        value: String,
    },
    /// `http-service` names no declared port.
    #[error("http-service `{value}` must be `auto`, `off` or a declared port name ({})", list_or(.declared, "none declared"))]
    HttpService {
        /// The value.
        value: String,
        /// The declared ports.
        declared: Vec<String>,
    },
    /// A whole number annotation that is not a `u32`.
    #[error("{what} `{}` must be a whole number from 0 to {}", .value.escape_debug(), u32::MAX)]
    NotANumber {
        /// What the annotation sets.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// A yes/no annotation that is not `true` or `false`.
    #[error("{what} `{value}` must be `true` or `false`")]
    NotABool {
        /// What the annotation sets.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// A handler Fly does not know.
    #[error("handler `{handler}` is not one of {}", HANDLERS.join(", "))]
    Handler {
        /// The handler.
        handler: String,
    },
    /// A handler listed twice.
    #[error("handlers `{value}` list a handler twice")]
    DuplicateHandler {
        /// The value.
        value: String,
    },
    /// `auto-stop` is not one of Fly's.
    #[error("auto-stop `{value}` must be `stop`, `suspend` or `off`")]
    AutoStop {
        /// The value.
        value: String,
    },
    /// A JSON annotation that is not JSON.
    #[error("{what} are not valid JSON: {source}")]
    NotJson {
        /// What the annotation sets.
        what: &'static str,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A JSON annotation that is not an object.
    #[error("{what} must be a JSON object, e.g. {{\"key\": ...}}")]
    NotAnObject {
        /// What the annotation sets.
        what: &'static str,
    },
    /// A JSON key that is not one of the object's.
    #[error("{what}: unknown key `{key}`, expected one of {}", .allowed.join(", "))]
    UnknownJsonKey {
        /// The object.
        what: &'static str,
        /// The key.
        key: String,
        /// The keys it may hold.
        allowed: &'static [&'static str],
    },
    /// A JSON key whose value is not `true` or `false`.
    #[error("{what}: `{key}` must be true or false")]
    JsonNotABool {
        /// The object.
        what: &'static str,
        /// The key.
        key: &'static str,
    },
    /// A JSON key whose value is not a `u32`.
    #[error("{what}: `{key}` must be a whole number from 0 to {}", u32::MAX)]
    JsonNotANumber {
        /// The object.
        what: &'static str,
        /// The key.
        key: &'static str,
    },
    /// A JSON key whose value is not a list of strings.
    #[error("{what}: `{key}` must be a list of strings")]
    JsonNotStrings {
        /// The object.
        what: &'static str,
        /// The key.
        key: &'static str,
    },
    /// `http options.response` is not an object.
    #[error("http options: `response` must be an object")]
    ResponseNotAnObject,
    /// `http options.response.headers` is not an object.
    #[error("http options.response.headers must be an object")]
    HeadersNotAnObject,
    /// A response header whose value is not a string.
    #[error("http options.response.headers: `{}` must be a string", .name.escape_debug())]
    HeaderNotAString {
        /// The header name.
        name: String,
    },
    /// A response header Fly could not send.
    #[error("http options.response.headers: {0}")]
    Header(#[source] HeaderError),
    /// An HTTP timeout of 0 seconds.
    #[error("http options: `{key}` is in seconds and must be at least 1")]
    ZeroTimeout {
        /// The key.
        key: &'static str,
    },
    /// A TLS version Fly does not offer.
    #[error("tls options: version `{version}` must be `TLSv1.2` or `TLSv1.3`")]
    TlsVersion {
        /// The version.
        version: String,
    },
    /// An empty ALPN protocol.
    #[error("tls options: `alpn` entries must not be empty")]
    EmptyAlpn,
    /// A concurrency type Fly does not know.
    #[error("concurrency: `type` must be `connections` or `requests`")]
    ConcurrencyType,
    /// A concurrency limit of 0.
    #[error("concurrency: limits must be greater than 0")]
    ZeroLimit,
    /// The soft limit above the hard one.
    #[error("concurrency: soft_limit {soft} is above hard_limit {hard}")]
    SoftAboveHard {
        /// `soft_limit`.
        soft: u32,
        /// `hard_limit`.
        hard: u32,
    },
}

/// Why an HTTP header cannot be sent. Messages never quote the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The name is not an HTTP token (RFC 9110).
    #[error("header name `{}` must be letters, digits or one of {HEADER_TOKEN_PUNCTUATION} (no spaces, colons or line breaks)", .name.escape_debug())]
    Name {
        /// The name.
        name: String,
    },
    /// The value holds CR, LF or NUL, which would end the header.
    #[error("the value of header `{name}` holds {}, which would end the header; remove it", line_break(*.character))]
    LineBreak {
        /// The name.
        name: String,
        /// The character: `\r`, `\n` or `\0`.
        character: char,
    },
    /// The value holds another control character.
    #[error("the value of header `{name}` holds a control character; remove it")]
    Control {
        /// The name.
        name: String,
    },
}

/// Characters an HTTP header name (a token) may hold besides letters and digits.
const HEADER_TOKEN_PUNCTUATION: &str = "!#$%&'*+-.^_`|~";

fn line_break(c: char) -> &'static str {
    match c {
        '\r' => "a carriage return (CR)",
        '\n' => "a line feed (LF)",
        _ => "a NUL character",
    }
}

fn list_or(names: &[String], none: &str) -> String {
    if names.is_empty() { none.to_owned() } else { names.join(", ") }
}

/// Reads the Fly annotations of a workload. Unknown keys under our prefixes are problems.
pub fn parse(
    annotations: &BTreeMap<String, String>,
    port_names: &[&str],
    problems: &mut Vec<Problem>,
) -> FlyAnnotations {
    let mut out = FlyAnnotations::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in annotations {
        let Some(short) = key.strip_prefix(PREFIX).or_else(|| key.strip_prefix(LEGACY_PREFIX)) else { continue };
        let path = annotation_path(key);
        let mut problem =
            |error: AnnotationError| problems.push(Problem { path: path.clone(), message: error.to_string() });
        out.written.entry(short.to_owned()).or_insert_with(|| key.clone());
        if let Some(previous) = seen.insert(short.to_owned(), key.clone()) {
            problem(AnnotationError::SetTwice { key: short.to_owned(), previous });
            continue;
        }
        if let Some(rest) = short.strip_prefix("service-") {
            match split_port_key(rest, port_names) {
                Some((port, option)) => {
                    let options = out.ports.entry(port.to_owned()).or_default();
                    if let Err(error) = port_option(options, option, value) {
                        problem(error);
                    }
                }
                None => problem(unknown_port_key(rest, port_names)),
            }
            continue;
        }
        if let Err(error) = workload_option(&mut out, short, value, port_names) {
            problem(error);
        }
    }
    out
}

fn split_port_key<'k>(rest: &'k str, port_names: &[&str]) -> Option<(&'k str, &'k str)> {
    PORT_OPTIONS.iter().find_map(|option| {
        let port = rest.strip_suffix(option)?.strip_suffix('-')?;
        port_names.contains(&port).then_some((port, *option))
    })
}

fn unknown_port_key(rest: &str, port_names: &[&str]) -> AnnotationError {
    if let Some(option) = PORT_OPTIONS.iter().find(|o| rest.ends_with(&format!("-{o}"))) {
        let port = &rest[..rest.len() - option.len() - 1];
        AnnotationError::UndeclaredPort {
            rest: rest.to_owned(),
            port: port.to_owned(),
            declared: port_names.iter().map(|&p| p.to_owned()).collect(),
        }
    } else {
        AnnotationError::UnknownPortOption { rest: rest.to_owned() }
    }
}

fn workload_option(
    out: &mut FlyAnnotations,
    key: &str,
    value: &str,
    port_names: &[&str],
) -> Result<(), AnnotationError> {
    let value_owned = || value.to_owned();
    match key {
        "primary-region" => {
            let checked = regions::check(value)?;
            out.primary_region = Some(checked.code().to_owned());
            out.primary_region_replaced = checked.warning();
        }
        "kill-signal" => {
            if !KILL_SIGNALS.contains(&value) {
                return Err(AnnotationError::KillSignal { value: value_owned() });
            }
            out.kill_signal = Some(value.to_owned());
        }
        "kill-timeout" => {
            // Fly's maximum is 300 s; a bare integer is seconds, written as a duration string like
            // every duration score-fly writes (fly-2026.md §3.3: elsewhere an integer is
            // nanoseconds, so one rule for all keeps a copied value meaning what it says).
            let timeout = match value.parse::<u64>() {
                Ok(seconds) => (seconds <= KILL_TIMEOUT_MAX.as_secs())
                    .then(|| super::config::DurationValue::Text(format!("{seconds}s"))),
                Err(_) => parse_duration(value)
                    .ok()
                    .filter(|d| *d <= KILL_TIMEOUT_MAX)
                    .map(|_| super::config::DurationValue::Text(value.to_owned())),
            };
            out.kill_timeout = Some(timeout.ok_or_else(|| AnnotationError::KillTimeout { value: value_owned() })?);
        }
        "swap-size-mb" => out.swap_size_mb = Some(parse_u32(value, "swap size")?),
        "deploy-strategy" => {
            if !DEPLOY_STRATEGIES.contains(&value) {
                return Err(AnnotationError::DeployStrategy { value: value_owned() });
            }
            out.deploy_strategy = Some(value.to_owned());
        }
        "release-command" => {
            if value.trim().is_empty() {
                return Err(AnnotationError::EmptyReleaseCommand);
            }
            if value.contains('\0') {
                return Err(AnnotationError::NulInReleaseCommand);
            }
            if !shell_words_balanced(value) {
                return Err(AnnotationError::UnbalancedReleaseCommand { value: value_owned() });
            }
            out.release_command = Some(value.to_owned());
        }
        "release-command-timeout" => {
            parse_duration_in(value, "release command timeout", DurationRange::positive(limits::MAX_TIMEOUT))?;
            out.release_command_timeout = Some(value.to_owned());
        }
        "cpu-kind" => {
            out.cpu_kind = Some(match value {
                "shared" => CpuKind::Shared,
                "performance" => CpuKind::Performance,
                _ => return Err(AnnotationError::CpuKind { value: value_owned() }),
            });
        }
        "restart-policy" => {
            if !["always", "never", "on-failure"].contains(&value) {
                return Err(AnnotationError::RestartPolicy { value: value_owned() });
            }
            out.restart_policy = Some(value.to_owned());
        }
        "restart-retries" => out.restart_retries = Some(parse_u32(value, "restart retries")?),
        "image-container" => out.image_container = Some(value.to_owned()),
        "http-service" => {
            out.http_service = match value {
                "auto" => HttpServiceChoice::Auto,
                "off" => HttpServiceChoice::Off,
                port if port_names.contains(&port) => HttpServiceChoice::Port(port.to_owned()),
                other => {
                    return Err(AnnotationError::HttpService {
                        value: other.to_owned(),
                        declared: port_names.iter().map(|&p| p.to_owned()).collect(),
                    });
                }
            };
        }
        "check-interval" => {
            parse_duration_in(
                value,
                "check interval",
                DurationRange::between(CHECK_INTERVAL_MIN, limits::MAX_TIMEOUT),
            )?;
            out.check_interval = Some(value.to_owned());
        }
        "check-timeout" => {
            parse_duration_in(value, "check timeout", DurationRange::positive(CHECK_TIMEOUT_MAX))?;
            out.check_timeout = Some(value.to_owned());
        }
        "check-grace-period" => {
            parse_duration_in(
                value,
                "check grace period",
                DurationRange::between(std::time::Duration::ZERO, limits::MAX_TIMEOUT),
            )?;
            out.check_grace_period = Some(value.to_owned());
        }
        other => return Err(AnnotationError::UnknownKey { key: other.to_owned() }),
    }
    Ok(())
}

fn port_option(options: &mut PortOptions, option: &str, value: &str) -> Result<(), AnnotationError> {
    match option {
        "handlers" => {
            let handlers: Vec<String> =
                value.split(',').map(str::trim).filter(|h| !h.is_empty()).map(str::to_owned).collect();
            for h in &handlers {
                if !HANDLERS.contains(&h.as_str()) {
                    return Err(AnnotationError::Handler { handler: h.clone() });
                }
            }
            let mut unique = handlers.clone();
            unique.sort();
            unique.dedup();
            if unique.len() != handlers.len() {
                return Err(AnnotationError::DuplicateHandler { value: value.to_owned() });
            }
            options.handlers = Some(handlers);
        }
        "http-options" => options.http_options = Some(http_options(&json_object(value, "http options")?)?),
        "tls-options" => options.tls_options = Some(tls_options(&json_object(value, "tls options")?)?),
        "force-https" => options.force_https = Some(parse_bool(value, "force-https")?),
        "auto-stop" => {
            options.auto_stop = Some(
                match value {
                    "stop" | "true" => "stop",
                    "suspend" => "suspend",
                    "off" | "false" => "off",
                    _ => return Err(AnnotationError::AutoStop { value: value.to_owned() }),
                }
                .to_owned(),
            );
        }
        "auto-start" => options.auto_start = Some(parse_bool(value, "auto-start")?),
        "min-running" => options.min_running = Some(parse_u32(value, "min-running")?),
        "concurrency" => options.concurrency = Some(concurrency(&json_object(value, "concurrency")?)?),
        _ => unreachable!("option names come from PORT_OPTIONS"),
    }
    Ok(())
}

fn parse_u32(value: &str, what: &'static str) -> Result<u32, AnnotationError> {
    value.parse().map_err(|_| AnnotationError::NotANumber { what, value: value.to_owned() })
}

fn parse_bool(value: &str, what: &'static str) -> Result<bool, AnnotationError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AnnotationError::NotABool { what, value: value.to_owned() }),
    }
}

/// Whether a command line splits into words like a POSIX shell would (quotes closed, no
/// dangling backslash), which is what flyctl does with `release_command`.
pub(crate) fn shell_words_balanced(command: &str) -> bool {
    shell_words(command).is_some()
}

/// A command line split into words as a POSIX shell splits it (no expansion): blanks
/// separate words, `'...'` is literal, `"..."` keeps blanks and lets `\` escape, a `\`
/// outside quotes escapes the next character. `None` when a quote is left open or a `\`
/// ends the line. flyctl splits `release_command` this way (with `shlex`).
pub fn shell_words(command: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None | Some('"'), '\\') => word.get_or_insert_with(String::new).push(chars.next()?),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (_, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    if quote.is_some() {
        return None;
    }
    words.extend(word);
    Some(words)
}

#[cfg(test)]
mod shell_word_tests {
    use super::shell_words;

    #[test]
    fn command_lines_split_as_a_shell_splits_them() {
        let split = |s: &str| shell_words(s).map(|w| w.join("|"));
        assert_eq!(split("migrate"), Some("migrate".to_owned()));
        assert_eq!(split("  bin/migrate --yes  "), Some("bin/migrate|--yes".to_owned()));
        assert_eq!(split(r#"sh -c 'echo "a b"' "x y" z\ w ''"#), Some(r#"sh|-c|echo "a b"|x y|z w|"#.to_owned()));
        assert_eq!(split(r#""a\"b""#), Some(r#"a"b"#.to_owned()));
        assert_eq!(split("'open"), None);
        assert_eq!(split("dangling\\"), None);
        assert_eq!(split(""), Some(String::new()));
    }
}

type JsonMap = serde_json::Map<String, serde_json::Value>;

fn json_object(value: &str, what: &'static str) -> Result<JsonMap, AnnotationError> {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(AnnotationError::NotAnObject { what }),
        Err(source) => Err(AnnotationError::NotJson { what, source }),
    }
}

fn known_keys(map: &JsonMap, allowed: &'static [&'static str], what: &'static str) -> Result<(), AnnotationError> {
    match map.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(AnnotationError::UnknownJsonKey { what, key: key.clone(), allowed }),
        None => Ok(()),
    }
}

fn get_bool(map: &JsonMap, key: &'static str, what: &'static str) -> Result<Option<bool>, AnnotationError> {
    map.get(key).map(|v| v.as_bool().ok_or(AnnotationError::JsonNotABool { what, key })).transpose()
}

fn get_u32(map: &JsonMap, key: &'static str, what: &'static str) -> Result<Option<u32>, AnnotationError> {
    map.get(key)
        .map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or(AnnotationError::JsonNotANumber { what, key }))
        .transpose()
}

fn get_strings(map: &JsonMap, key: &'static str, what: &'static str) -> Result<Option<Vec<String>>, AnnotationError> {
    map.get(key)
        .map(|v| {
            v.as_array()
                .and_then(|items| items.iter().map(|i| i.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
                .ok_or(AnnotationError::JsonNotStrings { what, key })
        })
        .transpose()
}

/// Checks an HTTP header Fly will send: the name must be an HTTP token (RFC 9110), the value
/// must not hold a line break or NUL (which would end the header, or inject another one).
/// Messages never quote the value.
pub(crate) fn check_header(name: &str, value: &str) -> Result<(), HeaderError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || HEADER_TOKEN_PUNCTUATION.contains(c)) {
        return Err(HeaderError::Name { name: name.to_owned() });
    }
    if let Some(character) = value.chars().find(|c| matches!(c, '\r' | '\n' | '\0')) {
        return Err(HeaderError::LineBreak { name: name.to_owned(), character });
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(HeaderError::Control { name: name.to_owned() });
    }
    Ok(())
}

fn http_options(map: &JsonMap) -> Result<HttpOptions, AnnotationError> {
    const WHAT: &str = "http options";
    known_keys(map, &["compress", "h2_backend", "idle_timeout", "headers_read_timeout", "response"], WHAT)?;
    let response = match map.get("response") {
        None => None,
        Some(serde_json::Value::Object(r)) => {
            known_keys(r, &["headers", "pristine"], "http options.response")?;
            let headers = match r.get("headers") {
                None => None,
                Some(serde_json::Value::Object(h)) => Some(
                    h.iter()
                        .map(|(k, v)| {
                            let s = v.as_str().ok_or_else(|| AnnotationError::HeaderNotAString { name: k.clone() })?;
                            check_header(k, s).map_err(AnnotationError::Header)?;
                            Ok::<_, AnnotationError>((k.clone(), s.to_owned()))
                        })
                        .collect::<Result<BTreeMap<_, _>, _>>()?,
                ),
                Some(_) => return Err(AnnotationError::HeadersNotAnObject),
            };
            Some(HttpResponseOptions { headers, pristine: get_bool(r, "pristine", "http options.response")? })
        }
        Some(_) => return Err(AnnotationError::ResponseNotAnObject),
    };
    let idle_timeout = get_u32(map, "idle_timeout", WHAT)?;
    let headers_read_timeout = get_u32(map, "headers_read_timeout", WHAT)?;
    for (key, value) in [("idle_timeout", idle_timeout), ("headers_read_timeout", headers_read_timeout)] {
        if value == Some(0) {
            return Err(AnnotationError::ZeroTimeout { key });
        }
    }
    Ok(HttpOptions {
        compress: get_bool(map, "compress", WHAT)?,
        h2_backend: get_bool(map, "h2_backend", WHAT)?,
        idle_timeout,
        headers_read_timeout,
        response,
    })
}

fn tls_options(map: &JsonMap) -> Result<TlsOptions, AnnotationError> {
    const WHAT: &str = "tls options";
    known_keys(map, &["alpn", "versions", "default_self_signed"], WHAT)?;
    let versions = get_strings(map, "versions", WHAT)?;
    if let Some(bad) = versions.iter().flatten().find(|v| !["TLSv1.2", "TLSv1.3"].contains(&v.as_str())) {
        return Err(AnnotationError::TlsVersion { version: bad.clone() });
    }
    let alpn = get_strings(map, "alpn", WHAT)?;
    if alpn.iter().flatten().any(String::is_empty) {
        return Err(AnnotationError::EmptyAlpn);
    }
    Ok(TlsOptions { alpn, versions, default_self_signed: get_bool(map, "default_self_signed", WHAT)? })
}

fn concurrency(map: &JsonMap) -> Result<Concurrency, AnnotationError> {
    const WHAT: &str = "concurrency";
    known_keys(map, &["type", "hard_limit", "soft_limit"], WHAT)?;
    let kind = match map.get("type") {
        None => None,
        Some(serde_json::Value::String(t)) if t == "connections" || t == "requests" => Some(t.clone()),
        Some(_) => return Err(AnnotationError::ConcurrencyType),
    };
    let hard_limit = get_u32(map, "hard_limit", WHAT)?;
    let soft_limit = get_u32(map, "soft_limit", WHAT)?;
    if hard_limit == Some(0) || soft_limit == Some(0) {
        return Err(AnnotationError::ZeroLimit);
    }
    if let (Some(hard), Some(soft)) = (hard_limit, soft_limit)
        && soft > hard
    {
        return Err(AnnotationError::SoftAboveHard { soft, hard });
    }
    Ok(Concurrency { kind, hard_limit, soft_limit })
}

/// Why a text is not a duration score-fly accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not Go's duration syntax (or a sign: score-fly takes no negative durations).
    #[error("`{text}` is not a duration: {why} (write it like `30s`, `1m30s` or `500ms`)")]
    Syntax {
        /// The text (control characters escaped).
        text: String,
        /// What is wrong.
        why: &'static str,
    },
    /// Longer than Go's `time.ParseDuration` (which flyctl uses) can hold: 2562047h47m16.854775807s.
    #[error("`{text}` is too long to be a duration (Go's and flyctl's longest is about 2562047h)")]
    Overflow {
        /// The text (control characters escaped).
        text: String,
    },
}

/// The longest duration Go's `time.ParseDuration` reads: `i64::MAX` nanoseconds.
const GO_MAX_NANOS: u128 = i64::MAX as u128;
/// Fraction digits taken into account (Go ignores digits past its precision too).
const FRACTION_DIGITS: usize = 24;

/// Parses a Go duration (`300ms`, `1.5h`, `2h45m`, `0`) exactly, as flyctl's
/// `time.ParseDuration` reads it: units `ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`; a unit on
/// every number; no sign (a negative duration is never meaningful here). Durations past Go's
/// range (about 2562047 hours) are an error, never a panic or a wrap-around. Go computes
/// fractions in floating point, so its result can differ from this exact one by a nanosecond.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, DurationError> {
    let syntax = |why: &'static str| DurationError::Syntax { text: text.escape_debug().to_string(), why };
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    if text.is_empty() {
        return Err(syntax("it is empty"));
    }
    if text.starts_with(['-', '+']) {
        return Err(syntax("it must not have a sign"));
    }
    let overflow = || DurationError::Overflow { text: text.escape_debug().to_string() };
    let mut rest = text;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let whole_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (whole, after) = rest.split_at(whole_len);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => after.split_at(after.bytes().take_while(u8::is_ascii_digit).count()),
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(syntax("a number is missing"));
        }
        let unit_len = after.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(syntax("a unit (`ns`, `us`, `ms`, `s`, `m` or `h`) is missing")),
            _ => return Err(syntax("its unit is not one of `ns`, `us`, `ms`, `s`, `m` or `h`")),
        };
        let mut value: u128 = 0;
        for digit in whole.bytes() {
            value = value * 10 + u128::from(digit - b'0');
            if value * scale > GO_MAX_NANOS {
                return Err(overflow());
            }
        }
        value *= scale;
        let (mut numerator, mut denominator) = (0u128, 1u128);
        for digit in fraction.bytes().take(FRACTION_DIGITS) {
            numerator = numerator * 10 + u128::from(digit - b'0');
            denominator *= 10;
        }
        value += numerator * scale / denominator;
        total += value;
        if total > GO_MAX_NANOS {
            return Err(overflow());
        }
        rest = after;
    }
    let nanos = u64::try_from(total).map_err(|_| overflow())?;
    Ok(std::time::Duration::from_nanos(nanos))
}

/// The range a duration must be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    /// The shortest duration accepted.
    pub min: std::time::Duration,
    /// Whether `min` itself is accepted (`false`: the duration must be longer).
    pub min_inclusive: bool,
    /// The longest duration accepted.
    pub max: std::time::Duration,
}

impl DurationRange {
    /// Longer than zero, at most `max`.
    pub const fn positive(max: std::time::Duration) -> Self {
        DurationRange { min: std::time::Duration::ZERO, min_inclusive: false, max }
    }

    /// From `min` to `max`, both included.
    pub const fn between(min: std::time::Duration, max: std::time::Duration) -> Self {
        DurationRange { min, min_inclusive: true, max }
    }

    /// Whether `d` is in the range.
    pub fn contains(&self, d: std::time::Duration) -> bool {
        d <= self.max && (d > self.min || (self.min_inclusive && d == self.min))
    }
}

impl std::fmt::Display for DurationRange {
    /// `longer than 0s and at most 24h`, `at least 2s and at most 24h`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.min_inclusive {
            write!(f, "at least {} and at most {}", format_duration(self.min), format_duration(self.max))
        } else {
            write!(f, "longer than {} and at most {}", format_duration(self.min), format_duration(self.max))
        }
    }
}

/// Why a field's text is not a duration in its range ([`parse_duration_in`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationInError {
    /// A duration, outside the range.
    #[error("{what} `{}` ({}) must be {range}", .text.escape_debug(), format_duration(*.duration))]
    OutOfRange {
        /// The field or annotation.
        what: String,
        /// The text as written.
        text: String,
        /// The duration it reads as.
        duration: std::time::Duration,
        /// The range it must be in.
        range: DurationRange,
    },
    /// Not a duration.
    #[error("{what} {source}; it must be {range}")]
    Invalid {
        /// The field or annotation.
        what: String,
        /// Why it is not a duration.
        source: DurationError,
        /// The range it must be in.
        range: DurationRange,
    },
}

/// Parses a duration (see [`parse_duration`]) and checks it is in `range`; the error names
/// `what` (a field or annotation) and the range.
pub fn parse_duration_in(text: &str, what: &str, range: DurationRange) -> Result<std::time::Duration, DurationInError> {
    match parse_duration(text) {
        Ok(d) if range.contains(d) => Ok(d),
        Ok(duration) => {
            Err(DurationInError::OutOfRange { what: what.to_owned(), text: text.to_owned(), duration, range })
        }
        Err(source) => Err(DurationInError::Invalid { what: what.to_owned(), source, range }),
    }
}

/// A duration as Go writes one, shortest unit that is exact: `24h`, `90s`, `1500ms`, `7ns`.
pub fn format_duration(d: std::time::Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    for (unit, size) in
        [("h", 3_600_000_000_000u128), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)]
    {
        if nanos.is_multiple_of(size) {
            return format!("{}{unit}", nanos / size);
        }
    }
    format!("{nanos}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(key: &str, value: &str, ports: &[&str]) -> (FlyAnnotations, Vec<Problem>) {
        let mut problems = Vec::new();
        let annotations = BTreeMap::from([(key.to_owned(), value.to_owned())]);
        (parse(&annotations, ports, &mut problems), problems)
    }

    #[test]
    fn port_names_with_dashes() {
        let (a, p) = parse_one("score-fly/service-my-web-port-auto-stop", "suspend", &["my-web-port"]);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(a.ports["my-web-port"].auto_stop.as_deref(), Some("suspend"));
        let (a, p) = parse_one("score-fly/service-web-http-options", r#"{"compress": true}"#, &["web", "web-http"]);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(a.ports["web"].http_options.as_ref().unwrap().compress, Some(true));
    }

    #[test]
    fn legacy_prefix_is_an_alias() {
        let (a, p) = parse_one("score-flyio.astromechza.github.com/service-web-handlers", "tls,http", &["web"]);
        assert!(p.is_empty());
        assert_eq!(a.ports["web"].handlers, Some(vec!["tls".to_owned(), "http".to_owned()]));
    }

    #[test]
    fn unknown_keys_are_errors_under_both_prefixes() {
        for key in ["score-fly/nope", "score-flyio.astromechza.github.com/nope", "score-fly/service-web-nope"] {
            let (_, p) = parse_one(key, "x", &["web"]);
            assert_eq!(p.len(), 1, "{key}");
            assert!(p[0].path.to_string().contains(key), "{p:?}");
        }
        let (_, p) = parse_one("score-fly/service-api-handlers", "http", &["web"]);
        assert!(p[0].message.contains("port `api`, which is not declared"), "{p:?}");
        // Other prefixes are left alone.
        let (_, p) = parse_one("example.com/whatever", "x", &["web"]);
        assert!(p.is_empty());
    }

    #[test]
    fn same_key_under_both_prefixes_is_an_error() {
        let mut problems = Vec::new();
        let annotations = BTreeMap::from([
            ("score-fly/kill-signal".to_owned(), "SIGTERM".to_owned()),
            ("score-flyio.astromechza.github.com/kill-signal".to_owned(), "SIGINT".to_owned()),
        ]);
        parse(&annotations, &[], &mut problems);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("set twice"));
    }

    #[test]
    fn values_are_validated() {
        for (key, value, fragment) in [
            ("score-fly/kill-signal", "SIGFOO", "not one of"),
            ("score-fly/kill-timeout", "301", "at most 300 seconds"),
            ("score-fly/kill-timeout", "6m", "at most 300 seconds"),
            ("score-fly/kill-timeout", "99999999999999999999", "at most 300 seconds"),
            ("score-fly/kill-timeout", "99999999999999999999s", "at most 300 seconds"),
            ("score-fly/primary-region", "Amsterdam", "not a Fly region code; nearest: ams (Amsterdam, NL)"),
            ("score-fly/deploy-strategy", "yolo", "not one of"),
            ("score-fly/cpu-kind", "fast", "shared"),
            ("score-fly/service-web-handlers", "http,gzip", "handler `gzip`"),
            ("score-fly/service-web-handlers", "http,http", "twice"),
            ("score-fly/service-web-concurrency", r#"{"type":"connections","soft_limit":30,"hard_limit":20}"#, "above"),
            ("score-fly/service-web-concurrency", "not json", "not valid JSON"),
            ("score-fly/service-web-http-options", r#"{"gzip": true}"#, "unknown key `gzip`"),
            ("score-fly/service-web-min-running", "-1", "whole number"),
            ("score-fly/service-web-auto-stop", "sometimes", "must be"),
            ("score-fly/check-interval", "1s", "check interval `1s` (1s) must be at least 2s and at most 24h"),
            ("score-fly/check-interval", "1999999999ns", "must be at least 2s and at most 24h"),
            ("score-fly/check-interval", "25h", "must be at least 2s and at most 24h"),
            ("score-fly/check-interval", "9999999999999h", "too long to be a duration"),
            ("score-fly/check-timeout", "2m", "must be longer than 0s and at most 1m"),
            ("score-fly/check-timeout", "60.000000001s", "at most 1m"),
            ("score-fly/check-grace-period", "2562048h", "too long to be a duration"),
            ("score-fly/check-grace-period", "-1s", "must not have a sign"),
            ("score-fly/check-grace-period", "48h", "at least 0s and at most 24h"),
            ("score-fly/release-command-timeout", "99999999999999999999s", "too long to be a duration"),
            ("score-fly/release-command-timeout", "25h", "at most 24h"),
            ("score-fly/release-command", "migrate\0--all", "NUL"),
            ("score-fly/swap-size-mb", "4294967296", "from 0 to 4294967295"),
            ("score-fly/restart-retries", "99999999999999999999", "from 0 to 4294967295"),
            ("score-fly/service-web-min-running", "4294967296", "from 0 to 4294967295"),
            ("score-fly/service-web-concurrency", r#"{"hard_limit": 4294967296}"#, "from 0 to 4294967295"),
            ("score-fly/service-web-http-options", r#"{"idle_timeout": 1e300}"#, "from 0 to 4294967295"),
            (
                "score-fly/service-web-http-options",
                r#"{"response": {"headers": {"X-A": "1\r\nSet-Cookie: a=b"}}}"#,
                "carriage return",
            ),
            ("score-fly/service-web-http-options", r#"{"response": {"headers": {"X-A": "1\nX-B: 2"}}}"#, "line feed"),
            ("score-fly/service-web-http-options", r#"{"response": {"headers": {"X-A\r\nX-B": "1"}}}"#, "header name"),
            ("score-fly/service-web-http-options", r#"{"response": {"headers": {"X A": "1"}}}"#, "header name"),
            ("score-fly/service-web-http-options", r#"{"response": {"headers": {"X-A": "a\u0000b"}}}"#, "NUL"),
            ("score-fly/http-service", "api", "declared port"),
            ("score-fly/release-command", "bin/migrate \"--name=a b", "unclosed quote"),
            ("score-fly/release-command-timeout", "0s", "must be longer than 0s"),
            ("score-fly/check-timeout", "0s", "must be longer than 0s"),
            ("score-fly/service-web-http-options", r#"{"idle_timeout": 0}"#, "at least 1"),
            ("score-fly/service-web-tls-options", r#"{"alpn": [""]}"#, "must not be empty"),
        ] {
            let (_, p) = parse_one(key, value, &["web"]);
            assert_eq!(p.len(), 1, "{key}={value}");
            assert!(p[0].message.contains(fragment), "{key}={value}: {}", p[0].message);
        }
    }

    #[test]
    fn shell_words() {
        assert!(shell_words_balanced("bin/migrate --name 'a b' \"c d\" e\\ f"));
        assert!(!shell_words_balanced("bin/migrate \"a"));
        assert!(!shell_words_balanced("bin/migrate 'a"));
        assert!(!shell_words_balanced("bin/migrate a\\"));
    }

    #[test]
    fn go_durations() {
        let d = |text: &str| parse_duration(text).map(|d| d.as_nanos());
        assert_eq!(d("10s"), Ok(10_000_000_000));
        assert_eq!(d("1m30s"), Ok(90_000_000_000));
        assert_eq!(d("500ms"), Ok(500_000_000));
        assert_eq!(d("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(d(".5s"), Ok(500_000_000));
        assert_eq!(d("5.s"), Ok(5_000_000_000));
        assert_eq!(d("1us"), Ok(1_000));
        assert_eq!(d("1\u{b5}s2\u{3bc}s"), Ok(3_000));
        assert_eq!(d("0"), Ok(0));
        assert_eq!(d("0.1234567890123456789012345678901234567890s"), Ok(123_456_789));
        // Go's limit exactly, and one nanosecond past it.
        assert_eq!(d("2562047h47m16.854775807s"), Ok(u128::from(i64::MAX.unsigned_abs())));
        assert!(matches!(parse_duration("2562047h47m16.854775808s"), Err(DurationError::Overflow { .. })));
        for huge in ["99999999999999999999s", "9223372036854775808ns", &format!("{}h", "9".repeat(400))] {
            assert!(matches!(parse_duration(huge), Err(DurationError::Overflow { .. })), "{huge}");
        }
        for bad in ["", "10", "s", "10x", "1m30", ".", ".s", "-1s", "+1s", "1 s", "1s ", "1e3s", "NaNs", "infh"] {
            assert!(matches!(parse_duration(bad), Err(DurationError::Syntax { .. })), "{bad:?}");
        }
    }

    #[test]
    fn duration_ranges_name_the_field_and_the_range() {
        let range = DurationRange::positive(limits::MAX_TIMEOUT);
        assert_eq!(parse_duration_in("5m", "cmd.timeout", range), Ok(std::time::Duration::from_mins(5)));
        assert_eq!(parse_duration_in("24h", "cmd.timeout", range), Ok(limits::MAX_TIMEOUT));
        assert_eq!(
            parse_duration_in("24h0m0.000000001s", "cmd.timeout", range).unwrap_err().to_string(),
            "cmd.timeout `24h0m0.000000001s` (86400000000001ns) must be longer than 0s and at most 24h"
        );
        assert_eq!(
            parse_duration_in("0s", "cmd.timeout", range).unwrap_err().to_string(),
            "cmd.timeout `0s` (0s) must be longer than 0s and at most 24h"
        );
        let e = parse_duration_in("99999999999999999999s", "cmd.timeout", range).unwrap_err().to_string();
        assert!(e.starts_with("cmd.timeout `99999999999999999999s` is too long to be a duration"), "{e}");
        assert!(e.ends_with("it must be longer than 0s and at most 24h"), "{e}");
        assert_eq!(format_duration(std::time::Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(std::time::Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(std::time::Duration::from_mins(2)), "2m");
    }

    /// Runs `error` on each `<key> <value>` line of `cases` and compares its message with the
    /// same line of `expected`.
    fn assert_messages(cases: &str, expected: &str, error: impl Fn(&str, &str) -> AnnotationError) {
        assert_eq!(cases.lines().count(), expected.lines().count());
        for (case, message) in cases.lines().zip(expected.lines()) {
            let (key, value) = case.split_once(' ').expect("`<key> <value>`");
            assert_eq!(error(key, value).to_string(), message, "{case}");
        }
    }

    #[test]
    fn annotation_errors_carry_the_value_and_keep_their_messages() {
        let ports = ["web", "admin"];
        let error = |key: &str, value: &str| {
            let mut out = FlyAnnotations::default();
            workload_option(&mut out, key, value, &ports).unwrap_err()
        };
        let e = error("primary-region", "AMS1");
        assert!(matches!(&e, AnnotationError::PrimaryRegion(UnknownRegion { value, .. }) if value == "AMS1"), "{e:?}");
        let e = error("restart-retries", "many");
        assert!(matches!(&e, AnnotationError::NotANumber { what: "restart retries", value } if value == "many"));
        let e = error("http-service", "api");
        assert!(
            matches!(&e, AnnotationError::HttpService { value, declared } if value == "api" && declared == &["web", "admin"])
        );
        let e = error("check-timeout", "2m");
        assert!(
            matches!(&e, AnnotationError::Duration(DurationInError::OutOfRange { what, .. }) if what == "check timeout")
        );
        let cases = "primary-region AMS1
kill-signal SIGSTOP
kill-timeout 301
release-command echo 'hi
deploy-strategy yolo
cpu-kind gpu
restart-policy sometimes
http-service api
check-timeout 2m";
        let expected = r"primary region `AMS1` is not a Fly region code; nearest: ams (Amsterdam, NL) (`fly platform regions` lists them all)
kill signal `SIGSTOP` is not one of SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGKILL, SIGHUP
kill timeout `301` must be whole seconds or a duration like `30s`, at most 300 seconds (Fly's maximum)
release command `echo 'hi` has an unclosed quote or a trailing `\`; flyctl splits it like a shell would
deploy strategy `yolo` is not one of rolling, immediate, canary, bluegreen
cpu kind `gpu` must be `shared` or `performance`
restart policy `sometimes` must be `always`, `never` or `on-failure`
http-service `api` must be `auto`, `off` or a declared port name (web, admin)
check timeout `2m` (2m) must be longer than 0s and at most 1m";
        assert_messages(cases, expected, error);
        // Values a line cannot hold.
        let special = [("swap-size-mb", "-1\n"), ("release-command", " "), ("release-command", "a\0b")];
        let messages: Vec<String> = special.iter().map(|(key, value)| error(key, value).to_string()).collect();
        assert_eq!(
            messages.join("\n"),
            r"swap size `-1\n` must be a whole number from 0 to 4294967295
the release command must not be empty
the release command holds a NUL character, which no program argument can carry; remove it"
        );
        let mut out = FlyAnnotations::default();
        assert_eq!(
            workload_option(&mut out, "http-service", "api", &[]).unwrap_err().to_string(),
            "http-service `api` must be `auto`, `off` or a declared port name (none declared)"
        );
        assert_eq!(
            error("colour", "blue").to_string(),
            format!(
                "unknown score-fly annotation `colour`; known keys are {} and service-<port>-<option> with option one of {}",
                WORKLOAD_KEYS.join(", "),
                PORT_OPTIONS.join(", ")
            )
        );
        let undeclared = [unknown_port_key("api-handlers", &ports), unknown_port_key("api-handlers", &[])];
        assert_eq!(
            undeclared.map(|e| e.to_string()).join("\n"),
            "`service-api-handlers` names port `api`, which is not declared in service.ports (declared: web, admin)
`service-api-handlers` names port `api`, which is not declared in service.ports (declared: none)"
        );
        assert_eq!(
            unknown_port_key("web-colour", &ports).to_string(),
            format!("`service-web-colour` has an unknown option; per-port options are {}", PORT_OPTIONS.join(", "))
        );
        let (_, problems) = parse_one_twice();
        assert_eq!(problems, ["`check-timeout` is set twice (also as `score-fly/check-timeout`); keep one"]);
    }

    fn parse_one_twice() -> (FlyAnnotations, Vec<String>) {
        let annotations = BTreeMap::from([
            ("score-fly/check-timeout".to_owned(), "5s".to_owned()),
            (format!("{LEGACY_PREFIX}check-timeout"), "5s".to_owned()),
        ]);
        let mut problems = Vec::new();
        let out = parse(&annotations, &[], &mut problems);
        (out, problems.into_iter().map(|p| p.message).collect())
    }

    #[test]
    fn port_option_errors_name_the_json_key_and_keep_their_messages() {
        let error = |option: &str, value: &str| port_option(&mut PortOptions::default(), option, value).unwrap_err();
        let e = error("http-options", "{");
        assert!(matches!(e, AnnotationError::NotJson { what: "http options", .. }), "{e:?}");
        assert!(e.to_string().starts_with("http options are not valid JSON: EOF while parsing"), "{e}");
        let e = error("concurrency", r#"{"kind": 1}"#);
        assert!(matches!(&e, AnnotationError::UnknownJsonKey { what: "concurrency", key, .. } if key == "kind"));
        let e = error("http-options", r#"{"response": {"headers": {"x-a": "1\r\nx-b: 2"}}}"#);
        assert!(
            matches!(&e, AnnotationError::Header(HeaderError::LineBreak { name, character: '\r' }) if name == "x-a"),
            "{e:?}"
        );
        let e = error("concurrency", r#"{"hard_limit": 5, "soft_limit": 9}"#);
        assert!(matches!(e, AnnotationError::SoftAboveHard { soft: 9, hard: 5 }), "{e:?}");
        let cases = r#"handlers http,ftp
handlers http,http
force-https yes
auto-stop never
min-running x
tls-options []
concurrency {"kind": 1}
http-options {"compress": 1}
http-options {"idle_timeout": -1}
http-options {"idle_timeout": 0}
http-options {"response": 1}
http-options {"response": {"headers": []}}
http-options {"response": {"headers": {"x\ty": 1}}}
http-options {"response": {"headers": {"x-a": "1\r\nx-b: 2"}}}
tls-options {"versions": "TLSv1.3"}
tls-options {"versions": ["TLSv1.1"]}
tls-options {"alpn": [""]}
concurrency {"type": "bytes"}
concurrency {"hard_limit": 0}
concurrency {"hard_limit": 5, "soft_limit": 9}"#;
        let expected = r#"handler `ftp` is not one of http, tls, pg_tls, proxy_proto
handlers `http,http` list a handler twice
force-https `yes` must be `true` or `false`
auto-stop `never` must be `stop`, `suspend` or `off`
min-running `x` must be a whole number from 0 to 4294967295
tls options must be a JSON object, e.g. {"key": ...}
concurrency: unknown key `kind`, expected one of type, hard_limit, soft_limit
http options: `compress` must be true or false
http options: `idle_timeout` must be a whole number from 0 to 4294967295
http options: `idle_timeout` is in seconds and must be at least 1
http options: `response` must be an object
http options.response.headers must be an object
http options.response.headers: `x\ty` must be a string
http options.response.headers: the value of header `x-a` holds a carriage return (CR), which would end the header; remove it
tls options: `versions` must be a list of strings
tls options: version `TLSv1.1` must be `TLSv1.2` or `TLSv1.3`
tls options: `alpn` entries must not be empty
concurrency: `type` must be `connections` or `requests`
concurrency: limits must be greater than 0
concurrency: soft_limit 9 is above hard_limit 5"#;
        assert_messages(cases, expected, error);
    }

    #[test]
    fn header_errors_never_quote_the_value() {
        let e = check_header("x y", "secret").unwrap_err();
        assert_eq!(e, HeaderError::Name { name: "x y".to_owned() });
        assert_eq!(
            e.to_string(),
            "header name `x y` must be letters, digits or one of !#$%&'*+-.^_`|~ (no spaces, colons or line breaks)"
        );
        assert_eq!(
            check_header("x-a", "sec\nret").unwrap_err().to_string(),
            "the value of header `x-a` holds a line feed (LF), which would end the header; remove it"
        );
        assert_eq!(
            check_header("x-a", "sec\0ret").unwrap_err().to_string(),
            "the value of header `x-a` holds a NUL character, which would end the header; remove it"
        );
        let e = check_header("x-a", "sec\u{7}ret").unwrap_err();
        assert_eq!(e, HeaderError::Control { name: "x-a".to_owned() });
        assert_eq!(e.to_string(), "the value of header `x-a` holds a control character; remove it");
        assert!(!e.to_string().contains("sec"));
    }

    #[test]
    fn duration_in_errors_carry_the_field_text_and_range() {
        let range = DurationRange::between(CHECK_INTERVAL_MIN, limits::MAX_TIMEOUT);
        let e = parse_duration_in("1s", "check interval", range).unwrap_err();
        assert_eq!(
            e,
            DurationInError::OutOfRange {
                what: "check interval".to_owned(),
                text: "1s".to_owned(),
                duration: std::time::Duration::from_secs(1),
                range,
            }
        );
        assert_eq!(e.to_string(), "check interval `1s` (1s) must be at least 2s and at most 24h");
        let e = parse_duration_in("1x\n", "`cmd.timeout`", range).unwrap_err();
        assert!(
            matches!(&e, DurationInError::Invalid { what, source: DurationError::Syntax { .. }, .. } if what == "`cmd.timeout`"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "`cmd.timeout` `1x\\n` is not a duration: its unit is not one of `ns`, `us`, `ms`, `s`, `m` or `h` (write it like `30s`, `1m30s` or `500ms`); it must be at least 2s and at most 24h"
        );
    }
}
