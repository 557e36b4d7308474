//! The `machine_config` of a multi-container Fly Machine: the fields of fly-go's
//! `ContainerConfig` score-fly writes (fly-2026.md §2.3), serialised as the inline JSON of
//! fly.toml's top-level `machine_config`.

use std::collections::BTreeMap;

use serde::Serialize;

/// The Machines API `MachineConfig` fragment: its `containers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MachineConfig {
    /// One entry per Score container, in the workload's (sorted) order.
    pub containers: Vec<ContainerConfig>,
}

impl MachineConfig {
    /// The compact JSON text (its first character is `{`, as flyctl requires).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a machine config always serialises")
    }
}

/// `containers[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContainerConfig {
    /// Unique within the machine.
    pub name: String,
    /// The image; left out for the container that receives the deployed image (flyctl
    /// sets it, fly-2026.md §2.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Replaces the image's ENTRYPOINT (Score `command`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's CMD (Score `args`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Plain variables (secret ones are app secrets, which every container gets).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Files written into the container.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ContainerFile>,
    /// Containers that must reach a state before this one starts (Score `before`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependsOn>,
    /// Score probes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub healthchecks: Vec<Healthcheck>,
    /// Set for a one-shot container another waits on to complete (`on-failure`: an exit
    /// 0 is final).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<ContainerRestart>,
}

/// `restart` of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerRestart {
    /// `no`, `always` or `on-failure`.
    pub policy: String,
}

/// `files[]` of a container: `raw_value` is **base64** here, unlike fly.toml's `[[files]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContainerFile {
    /// Absolute path in the container.
    pub guest_path: String,
    /// Standard base64 of the content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_value: Option<String>,
    /// An app secret holding base64 content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// chmod bits as an integer (`420` = 0644).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

/// `depends_on[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependsOn {
    /// The other container.
    pub name: String,
    /// `started`, `healthy` or `exited_successfully`.
    pub condition: String,
}

/// `healthchecks[]` (`ContainerHealthcheck`): timings are integer **seconds**.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// `liveness` or `readiness` (also its kind).
    pub name: String,
    /// `liveness` or `readiness`.
    pub kind: String,
    /// Seconds between checks.
    pub interval: u64,
    /// Seconds before a check fails.
    pub timeout: u64,
    /// Seconds after start before failures count.
    pub grace_period: u64,
    /// An HTTP GET check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpHealthcheck>,
    /// A command check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecHealthcheck>,
}

/// `healthchecks[].http`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpHealthcheck {
    /// Port on the machine.
    pub port: u16,
    /// `GET`.
    pub method: String,
    /// Request path.
    pub path: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Request headers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HttpHeader>,
    /// Skip certificate checks (HTTPS probes, as the fly.toml checks do).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_skip_verify: Option<bool>,
    /// TLS server name (a probe's `host`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
}

/// A header of an HTTP healthcheck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpHeader {
    /// Header name.
    pub name: String,
    /// Its values.
    pub values: Vec<String>,
}

/// `healthchecks[].exec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecHealthcheck {
    /// Command and arguments.
    pub command: Vec<String>,
}
