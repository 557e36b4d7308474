//! The typed `score.dev/v1b1` workload model.
//!
//! Values of these types only come out of [`load`](super::load) after validation, so they
//! always satisfy the official schema. Maps are ordered by key so every derived output is
//! deterministic. Serialising a [`Workload`] gives the canonical (map-form) Score JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The only Score API version this implementation reads.
pub const API_VERSION: &str = "score.dev/v1b1";

/// A Score workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workload {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Name, annotations and any other metadata.
    pub metadata: WorkloadMetadata,
    /// The ports the workload serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// The containers, by name (at least one).
    pub containers: BTreeMap<String, Container>,
    /// The resources the workload depends on, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Resource>,
}

impl Workload {
    /// The workload name (`metadata.name`).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The workload's metadata as JSON, the context of `${metadata...}` placeholders.
    pub fn metadata_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.metadata).unwrap_or(serde_json::Value::Null)
    }
}

/// `metadata`: an open object with a required `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadMetadata {
    /// RFC 1123 label, 2..63 characters.
    pub name: String,
    /// String annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Any other metadata keys (reachable as `${metadata.<key>}`).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// `service`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Named ports.
    #[serde(default)]
    pub ports: BTreeMap<String, ServicePort>,
}

/// `service.ports.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePort {
    /// The public port.
    pub port: u16,
    /// The container port (defaults to `port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u16>,
    /// TCP (default) or UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

impl ServicePort {
    /// `targetPort`, or `port` when absent.
    pub fn target(&self) -> u16 {
        self.target_port.unwrap_or(self.port)
    }

    /// The protocol, TCP when absent.
    pub fn protocol(&self) -> Protocol {
        self.protocol.unwrap_or(Protocol::Tcp)
    }
}

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// TCP.
    #[serde(rename = "TCP")]
    Tcp,
    /// UDP.
    #[serde(rename = "UDP")]
    Udp,
}

/// `containers.<name>`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Container {
    /// Image reference; `.` means "built from this project".
    pub image: String,
    /// Entrypoint override (never expanded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Arguments override (never expanded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Environment variables (values expanded).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    /// Files by target path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, File>,
    /// Volumes by target path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    /// CPU and memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ContainerResources>,
    /// Liveness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
    /// Readiness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    /// Containers that must reach a state before this one starts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub before: BTreeMap<String, Before>,
}

/// `files.<target>`: exactly one of `content`, `binaryContent`, `source`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct File {
    /// Octal mode, e.g. `0644`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Path of a local file, relative to the Score file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Inline UTF-8 content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Inline standard base64 content (never expanded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_content: Option<String>,
    /// Skip placeholder expansion of the content (see [`crate::spec::sites`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_expand: Option<bool>,
}

/// Where a [`File`]'s bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileContent<'a> {
    /// `content`.
    Inline(&'a str),
    /// `binaryContent` (base64).
    Binary(&'a str),
    /// `source` (a path).
    Source(&'a str),
}

impl File {
    /// The content source (validation guarantees exactly one is set).
    pub fn content(&self) -> FileContent<'_> {
        match (&self.content, &self.binary_content, &self.source) {
            (Some(c), _, _) => FileContent::Inline(c),
            (None, Some(b), _) => FileContent::Binary(b),
            (None, None, Some(s)) => FileContent::Source(s),
            (None, None, None) => FileContent::Inline(""),
        }
    }
}

/// `volumes.<target>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    /// The volume reference (expanded; usually `${resources.<name>}`).
    pub source: String,
    /// A sub path inside the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// `resources` of a container.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerResources {
    /// Maximums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceQuantities>,
    /// Minimums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceQuantities>,
}

/// CPU and memory quantities (`250m`, `1.5`; `128M`, `1Gi`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceQuantities {
    /// CPU quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Memory quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// A liveness or readiness probe (at least one of `httpGet`, `exec`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probe {
    /// HTTP GET probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpProbe>,
    /// Command probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecProbe>,
}

/// `httpGet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpProbe {
    /// Host header / host to connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// HTTP (default) or HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// Request path.
    pub path: String,
    /// Container port.
    pub port: u16,
    /// Extra headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_headers: Vec<HttpHeader>,
}

/// An HTTP header of a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// Probe scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scheme {
    /// Plain HTTP.
    #[serde(rename = "HTTP")]
    Http,
    /// HTTPS.
    #[serde(rename = "HTTPS")]
    Https,
}

/// `exec` probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecProbe {
    /// Command and arguments.
    pub command: Vec<String>,
}

/// `before.<container>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Before {
    /// The state the other container must reach.
    pub ready: Readiness,
}

/// A container state for `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    /// Started.
    Started,
    /// Healthy (probes pass).
    Healthy,
    /// Ran to completion.
    Complete,
}

/// `resources.<name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Resource type (`postgres`, `redis`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Optional specialisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Shared identity across workloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Open metadata (with `annotations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Provisioning parameters (strings expanded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Resource {
    /// The class, `default` when absent.
    pub fn class(&self) -> &str {
        self.class.as_deref().unwrap_or("default")
    }

    /// The resource uid `type.class#id`; the id defaults to `<workload>.<resource name>`
    /// ([`Resource::private_id`]).
    pub fn uid(&self, workload: &str, name: &str) -> String {
        format!("{}.{}#{}", self.kind, self.class(), self.id_in(workload, name))
    }

    /// The id: the explicit `id`, else the private id `<workload>.<resource name>`.
    pub fn id_in(&self, workload: &str, name: &str) -> String {
        self.id.clone().unwrap_or_else(|| Self::private_id(workload, name))
    }

    /// The id of a resource declared without `id`: `<workload>.<resource name>`. Workload and
    /// resource names are dot-free labels, so private ids never meet each other; an explicit
    /// `id` of two labels can take this form, which provisioning planning refuses when it
    /// meets a private resource (see `provision::plan`).
    pub fn private_id(workload: &str, name: &str) -> String {
        format!("{workload}.{name}")
    }
}
