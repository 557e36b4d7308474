//! The typed `fly.toml` model (the subset score-fly writes), serialised with the `toml` crate.
//!
//! Field order here is the order in the file; maps are sorted; empty sections are left out.
//! The same value always serialises to the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

/// `text` made safe to write inside a one-line comment of a generated file (`fly.toml`,
/// a Dockerfile, a YAML file): whatever it holds, the comment stays one comment.
///
/// Backslashes are doubled; `\n`, `\r` and `\t` are written as those escapes; every other
/// control character (C0, DEL, C1 — `U+0085` ends a line in YAML 1.1), the line and
/// paragraph separators (`U+2028`, `U+2029`), the byte-order mark and the zero-width and
/// bidirectional formatting characters (which can make a comment show other text than it
/// holds) as `\u{…}`. TOML, Dockerfiles and YAML end a comment only at a line break, so
/// nothing else can end it; TOML also refuses control characters inside one.
pub fn comment_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_comment_text(&mut out, text);
    out
}

/// Bytes that may not be UTF-8 (a file name on Unix), escaped as [`comment_text`] does; a
/// byte that is not part of valid UTF-8 is written `\xNN`.
pub fn comment_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        push_comment_text(&mut out, chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// A path escaped for a comment (see [`comment_bytes`]); its bytes on Unix, so a name that
/// is not UTF-8 is shown exactly, not with replacement characters.
pub fn comment_path(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        comment_bytes(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        comment_text(&path.to_string_lossy())
    }
}

fn push_comment_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// Characters a comment must not hold as they are.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{feff}' // byte-order mark
            | '\u{200b}'..='\u{200f}' // zero-width characters, LRM, RLM
            | '\u{061c}' // Arabic letter mark
            | '\u{202a}'..='\u{202e}' // bidirectional embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidirectional isolates
        )
}

/// A whole `fly.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FlyConfig {
    /// App name.
    pub app: String,
    /// `primary_region`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    /// `kill_signal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kill_signal: Option<String>,
    /// `kill_timeout` (seconds or a duration string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kill_timeout: Option<DurationValue>,
    /// `swap_size_mb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap_size_mb: Option<u32>,
    /// `[experimental]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Experimental>,
    /// `[build]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// `[deploy]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
    /// `[env]`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// `[[mounts]]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    /// `[http_service]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_service: Option<HttpService>,
    /// `[[services]]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// `[checks.<name>]`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, MachineCheck>,
    /// `[[files]]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileEntry>,
    /// `[[vm]]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vm: Vec<Vm>,
    /// `[[restart]]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restart: Vec<Restart>,
}

/// A duration that fly.toml accepts as an integer (seconds for `kill_timeout`) or a Go
/// duration string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DurationValue {
    /// An integer.
    Integer(u64),
    /// A Go duration string such as `"30s"`.
    Text(String),
}

/// `[experimental]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Experimental {
    /// Overrides the image entrypoint (Score `command`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Overrides the image cmd (Score `args`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
}

/// `[build]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Build {
    /// A pre-built image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A Dockerfile for Fly's builder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Its ignore file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignorefile: Option<String>,
}

/// `[deploy]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Deploy {
    /// `strategy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// `release_command`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_command: Option<String>,
    /// `release_command_timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_command_timeout: Option<String>,
}

/// `[[mounts]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// Volume name.
    pub source: String,
    /// Mount point.
    pub destination: String,
}

/// Options shared by `[http_service]` and `[[services]]` for machine auto start/stop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Concurrency {
    /// `connections` or `requests`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Hard limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard_limit: Option<u32>,
    /// Soft limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soft_limit: Option<u32>,
}

/// `tls_options`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TlsOptions {
    /// ALPN protocols.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<Vec<String>>,
    /// TLS versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<String>>,
    /// Serve a self-signed certificate by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_self_signed: Option<bool>,
}

/// `http_options`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HttpOptions {
    /// Compress responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compress: Option<bool>,
    /// Speak HTTP/2 to the app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h2_backend: Option<bool>,
    /// Idle timeout in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<u32>,
    /// Header read timeout in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers_read_timeout: Option<u32>,
    /// Response options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<HttpResponseOptions>,
}

/// `http_options.response`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HttpResponseOptions {
    /// Headers added to responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Leave responses untouched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pristine: Option<bool>,
}

/// `[http_service]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HttpService {
    /// The container port.
    pub internal_port: u16,
    /// Redirect HTTP to HTTPS.
    pub force_https: bool,
    /// `off`, `stop` or `suspend`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_stop_machines: Option<String>,
    /// Start machines on demand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_start_machines: Option<bool>,
    /// Machines kept running.
    pub min_machines_running: u32,
    /// `[http_service.concurrency]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    /// `[http_service.tls_options]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_options: Option<TlsOptions>,
    /// `[http_service.http_options]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_options: Option<HttpOptions>,
    /// `[[http_service.checks]]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<ServiceHttpCheck>,
}

/// `[[services]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Service {
    /// `tcp` or `udp`.
    pub protocol: String,
    /// The container port.
    pub internal_port: u16,
    /// `off`, `stop` or `suspend`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_stop_machines: Option<String>,
    /// Start machines on demand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_start_machines: Option<bool>,
    /// Machines kept running.
    pub min_machines_running: u32,
    /// `[services.concurrency]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    /// `[[services.ports]]`.
    pub ports: Vec<ServicePortEntry>,
    /// `[[services.http_checks]]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http_checks: Vec<ServiceHttpCheck>,
}

/// `[[services.ports]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServicePortEntry {
    /// Public port.
    pub port: u16,
    /// Proxy handlers (`tls`, `http`, `pg_tls`, `proxy_proto`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub handlers: Vec<String>,
    /// Redirect to HTTPS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_https: Option<bool>,
    /// TLS options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_options: Option<TlsOptions>,
    /// HTTP options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_options: Option<HttpOptions>,
}

/// Timing of a health check (Go duration strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckTiming {
    /// Time between checks.
    pub interval: String,
    /// Time allowed per check.
    pub timeout: String,
    /// Time after start before checks count.
    pub grace_period: String,
}

/// The HTTP request of a health check (shared by service and machine checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpCheckRequest {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// `http` or `https`.
    pub protocol: String,
    /// Skip TLS verification (HTTPS probes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_skip_verify: Option<bool>,
    /// TLS server name (HTTPS probes with a host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    /// Request headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// `[[services.http_checks]]` / `[[http_service.checks]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceHttpCheck {
    /// Timing.
    #[serde(flatten)]
    pub timing: CheckTiming,
    /// The request.
    #[serde(flatten)]
    pub request: HttpCheckRequest,
}

/// `[checks.<name>]` (machine-level check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineCheck {
    /// `http`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Container port.
    pub port: u16,
    /// Timing.
    #[serde(flatten)]
    pub timing: CheckTiming,
    /// The request.
    #[serde(flatten)]
    pub request: HttpCheckRequest,
}

/// `[[files]]`: exactly one of `local_path`, `raw_value`, `secret_name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// Path in the machine.
    pub guest_path: String,
    /// A local file flyctl reads (relative to the folder flyctl runs in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_path: Option<String>,
    /// Plain text content (flyctl base64-encodes it itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_value: Option<String>,
    /// A Fly secret holding the base64 content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

/// `[[vm]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vm {
    /// Preset, e.g. `shared-cpu-2x`.
    pub size: String,
    /// Memory, e.g. `"768mb"`.
    pub memory: String,
}

/// `[[restart]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restart {
    /// `always`, `never` or `on-failure`.
    pub policy: String,
    /// Retries for `on-failure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}

impl FlyConfig {
    /// Serialises to TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the fly.toml model always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reverses [`comment_bytes`]: the escaping is unambiguous.
    fn unescape(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            match chars.next().expect("an escape after `\\`") {
                '\\' => out.push(b'\\'),
                'n' => out.push(b'\n'),
                'r' => out.push(b'\r'),
                't' => out.push(b'\t'),
                'x' => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(u8::from_str_radix(&hex, 16).expect("two hex digits"));
                }
                'u' => {
                    assert_eq!(chars.next(), Some('{'));
                    let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    let c = char::from_u32(u32::from_str_radix(&hex, 16).expect("hex")).expect("a char");
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                other => panic!("unknown escape `\\{other}`"),
            }
        }
        out
    }

    /// The fly.toml header as `generate` writes it, parsed: only `app` is a key.
    fn header_keys(name: &str) -> Vec<String> {
        let text =
            format!("# Generated by score-fly from {name}. Edit the Score file, not this file.\n\napp = \"web\"\n");
        let table: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        table.keys().cloned().collect()
    }

    #[test]
    fn a_name_cannot_end_the_comment() {
        let hostile = "score\nprimary_region = \"evil\"\n#.yaml";
        let escaped = comment_text(hostile);
        assert_eq!(escaped, "score\\nprimary_region = \"evil\"\\n#.yaml");
        assert_eq!(header_keys(&escaped), ["app"]);
        for c in ['\r', '\u{0}', '\u{7f}', '\u{85}', '\u{2028}', '\u{2029}', '\u{202e}', '\u{feff}', '\u{1b}'] {
            let escaped = comment_text(&format!("a{c}b"));
            assert!(!escaped.contains(c), "{c:?} → {escaped}");
            assert_eq!(header_keys(&escaped), ["app"]);
        }
        assert_eq!(comment_text("caf\u{e9} \\ ok"), "caf\u{e9} \\\\ ok");
        assert_eq!(comment_bytes(b"bad\xff\xfe.yaml"), "bad\\xff\\xfe.yaml");
        assert_eq!(comment_path(Path::new("dir/with\ttab.yaml")), "dir/with\\ttab.yaml");
    }

    proptest! {
        #[test]
        fn any_name_stays_one_comment_and_reads_back(bytes in proptest::collection::vec(any::<u8>(), 0..64), text in prop_oneof!["(?s).{0,32}", "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{2028}\\u{2029}a =\"#\\\\]{0,32}"]) {
            for escaped in [comment_bytes(&bytes), comment_text(&text)] {
                prop_assert!(!escaped.chars().any(needs_escape), "{escaped:?}");
                prop_assert_eq!(header_keys(&escaped), ["app"]);
            }
            prop_assert_eq!(unescape(&comment_bytes(&bytes)), bytes);
            prop_assert_eq!(unescape(&comment_text(&text)), text.into_bytes());
        }
    }
}
