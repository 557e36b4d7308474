//! `status`: per workload of the project, what runs on Fly and how it compares with the
//! project.
//!
//! - From Fly: `fly status -a APP --json` (fly-2026.md §5.1: `PascalCase` keys, `Version`,
//!   `Hostname`/`AppURL`, `Machines` as the Machines API list of §5.6 with `image_ref`,
//!   `region`, `state`, `checks`). JSON only, never flyctl's tables. An app Fly does not know
//!   is reported as not deployed; any other failure is that workload's `error`, and the
//!   other workloads are still shown.
//! - From the state: each resource the workload declares, its provisioner and a health hint
//!   (provisioned; not provisioned; missing outputs the workload reads). Nothing is probed
//!   over the network.
//! - Drift: the fly.toml on disk against the last release's `config_sha256`, the Score file
//!   against its `score_sha256` ([`super::releases`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::error::Error;
pub use super::error::StatusError;
use super::releases::{score_sha256, sha256};
use crate::flyio::cli::{Flyctl, FlyctlError};
use crate::limits;
use crate::secret::Redactor;
use crate::state::{Release, State};
use crate::target::FlyTarget;

/// The version of the `status --format json` document.
pub const SCHEMA_VERSION: u32 = 1;

/// The `status` document.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"status"`.
    pub kind: &'static str,
    /// One per workload.
    pub workloads: Vec<WorkloadStatus>,
}

/// One workload.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadStatus {
    /// The workload.
    pub workload: String,
    /// Its Fly app.
    pub app: String,
    /// Its URL (Fly's `AppURL`, else `https://<Hostname>`, else `https://<app>.fly.dev`).
    pub url: String,
    /// Whether Fly has a release of it (`Deployed`).
    pub deployed: bool,
    /// Fly's status of the app (`deployed`, `pending`, `suspended`...).
    pub fly_status: Option<String>,
    /// Fly's current release version.
    pub version: Option<u64>,
    /// The image the machines run (`registry/repository:tag`), else the last recorded one.
    pub image: Option<String>,
    /// Its manifest digest, as Fly reports it.
    pub digest: Option<String>,
    /// The git commit the running image was built from (`org.opencontainers.image.revision`),
    /// when it is the image score-fly last built for the workload (same digest).
    pub revision: Option<String>,
    /// That build had uncommitted changes to tracked files (`dev.score-fly.dirty`).
    pub dirty: bool,
    /// The machines.
    pub machines: Vec<MachineStatus>,
    /// The last release this project recorded.
    pub release: Option<Release>,
    /// The workload's resources.
    pub resources: Vec<ResourceStatus>,
    /// What changed since the last release.
    pub drift: Drift,
    /// Why Fly could not be asked (the rest is still reported).
    pub error: Option<String>,
}

/// A machine, from `fly status --json` (fly-2026.md §5.6 fields).
#[derive(Debug, Clone, Serialize)]
pub struct MachineStatus {
    /// Its id.
    pub id: String,
    /// Its region.
    pub region: String,
    /// `started`, `stopped`...
    pub state: String,
    /// Its process group.
    pub process_group: Option<String>,
    /// The release it runs (`config.metadata.fly_release_version`).
    pub release: Option<String>,
    /// Its health checks.
    pub checks: Vec<Check>,
}

/// A health check of a machine.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Its name.
    pub name: String,
    /// `passing`, `warning`, `critical`.
    pub status: String,
}

/// A resource's health, from the state only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Provisioned, with every output the workload reads.
    Provisioned,
    /// Declared, but not in the state: never provisioned, or its provisioning failed.
    NotProvisioned,
    /// Provisioned, but outputs the workload reads are missing.
    MissingOutputs,
}

/// One resource of a workload.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceStatus {
    /// Its name in the workload.
    pub name: String,
    /// Its uid.
    pub uid: String,
    /// The provisioner that provisioned it.
    pub provisioner: Option<String>,
    /// The hint.
    pub health: Health,
    /// The outputs the workload reads that it lacks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_outputs: Vec<String>,
}

/// A file against what the last release recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileDrift {
    /// Same digest.
    Unchanged,
    /// Another digest: the file changed since the last release.
    Changed,
    /// The file is gone.
    Missing,
    /// Nothing recorded to compare with (no release yet).
    Unknown,
}

/// What changed since the last release.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    /// The fly.toml on disk against the one deployed.
    pub fly_toml: FileDrift,
    /// The Score file against the one deployed.
    pub score_file: FileDrift,
    /// Either changed or is missing.
    pub drifted: bool,
}

/// The status of the project's workloads (or of `workload`).
pub fn status(root: &Path, state: &State, target: &FlyTarget, workload: Option<&str>) -> Result<StatusReport, Error> {
    let names: Vec<&String> = match workload {
        Some(w) => {
            vec![state.workloads.get_key_value(w).map(|(k, _)| k).ok_or_else(|| StatusError::UnknownWorkload {
                workload: w.to_owned(),
                known: state.workloads.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
            })?]
        }
        None => state.workloads.keys().collect(),
    };
    let flyctl = Flyctl::for_target(target).map_err(StatusError::Flyctl)?;
    let redactor = Redactor::for_state(state);
    let referenced = crate::builtin::FlyEnv::for_workloads(&state.app_prefix, root, &state.workloads).referenced;
    let mut workloads = Vec::new();
    for name in names {
        let entry = &state.workloads[name];
        let app = crate::target::app_name(&state.app_prefix, name);
        let release = entry.releases.last().cloned();
        let mut report = WorkloadStatus {
            workload: name.clone(),
            app: app.clone(),
            url: format!("https://{app}.fly.dev"),
            deployed: false,
            fly_status: None,
            version: None,
            image: release.as_ref().and_then(|r| r.image.clone()),
            digest: release.as_ref().and_then(|r| r.digest.clone()),
            revision: None,
            dirty: false,
            machines: Vec::new(),
            release: release.clone(),
            resources: resources(state, name, &referenced),
            drift: drift(root, entry, release.as_ref()),
            error: None,
        };
        match fly_status(&flyctl, &app, &redactor) {
            Ok(Some(value)) => read_fly_status(&value, &mut report),
            Ok(None) => report.error = Some(format!("Fly has no app `{app}`: deploy it with `cargo score-fly deploy`")),
            Err(e) => report.error = Some(e),
        }
        // The revision of the image this project built, if that is what runs.
        if let Some(crate::state::ImageEntry::Pushed { digest, revision, dirty, .. }) = state.images.get(name)
            && report.digest.as_deref() == Some(digest.as_str())
        {
            report.revision.clone_from(revision);
            report.dirty = *dirty;
        }
        workloads.push(report);
    }
    Ok(StatusReport { schema_version: SCHEMA_VERSION, kind: "status", workloads })
}

/// `fly status -a APP --json`; `None` when Fly has no such app (fly-2026.md §5.1: "Could
/// not find App", matched case-insensitively).
fn fly_status(flyctl: &Flyctl, app: &str, redactor: &Redactor) -> Result<Option<Value>, String> {
    match flyctl.command(&["status", "-a", app, "--json"]).redact(redactor).run(&mut |_| {}) {
        Ok(out) => serde_json::from_str(&out.stdout)
            .map(Some)
            .map_err(|e| format!("`fly status -a {app} --json` did not print JSON: {e}")),
        Err(FlyctlError::Failed { tail, .. })
            if tail.iter().any(|l| l.to_ascii_lowercase().contains("could not find app")) =>
        {
            Ok(None)
        }
        Err(e) => Err(e.to_string()),
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Fills `report` from `fly status --json` (§5.1; machines as §5.6).
fn read_fly_status(value: &Value, report: &mut WorkloadStatus) {
    report.deployed = value.get("Deployed").and_then(Value::as_bool).unwrap_or(false);
    report.fly_status = text(value, "Status");
    report.version = value.get("Version").and_then(Value::as_u64).filter(|v| *v > 0);
    if let Some(url) = text(value, "AppURL") {
        report.url = url;
    } else if let Some(host) = text(value, "Hostname") {
        report.url = format!("https://{host}");
    }
    let machines = value.get("Machines").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for m in machines {
        let image_ref = &m["image_ref"];
        if report.machines.is_empty()
            && let Some(repository) = text(image_ref, "repository")
        {
            let registry = text(image_ref, "registry").map(|r| format!("{r}/")).unwrap_or_default();
            let tag = text(image_ref, "tag").map(|t| format!(":{t}")).unwrap_or_default();
            report.image = Some(format!("{registry}{repository}{tag}"));
            report.digest = text(image_ref, "digest");
        }
        let metadata = &m["config"]["metadata"];
        report.machines.push(MachineStatus {
            id: text(m, "id").unwrap_or_default(),
            region: text(m, "region").unwrap_or_default(),
            state: text(m, "state").unwrap_or_default(),
            process_group: text(metadata, "fly_process_group"),
            release: text(metadata, "fly_release_version"),
            checks: m
                .get("checks")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|c| Check {
                    name: text(c, "name").unwrap_or_default(),
                    status: text(c, "status").unwrap_or_default(),
                })
                .collect(),
        });
    }
}

fn resources(
    state: &State,
    workload: &str,
    referenced: &BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Vec<ResourceStatus> {
    let entry = &state.workloads[workload];
    entry
        .spec
        .resources
        .iter()
        .map(|(name, resource)| {
            let uid = resource.uid(workload, name);
            let Some(stored) = state.resources.get(&uid) else {
                return ResourceStatus {
                    name: name.clone(),
                    uid,
                    provisioner: None,
                    health: Health::NotProvisioned,
                    missing_outputs: Vec::new(),
                };
            };
            let missing: Vec<String> = referenced
                .get(&uid)
                .into_iter()
                .flatten()
                .filter(|k| !stored.values.contains_key(*k) && !stored.secrets.contains_key(*k))
                .cloned()
                .collect();
            ResourceStatus {
                name: name.clone(),
                uid,
                provisioner: Some(stored.provisioner.clone()),
                health: if missing.is_empty() { Health::Provisioned } else { Health::MissingOutputs },
                missing_outputs: missing,
            }
        })
        .collect()
}

fn drift(root: &Path, entry: &crate::state::WorkloadEntry, release: Option<&Release>) -> Drift {
    let compare = |now: Option<String>, recorded: Option<&String>| match (now, recorded) {
        (_, None) => FileDrift::Unknown,
        (None, Some(_)) => FileDrift::Missing,
        (Some(now), Some(recorded)) if &now == recorded => FileDrift::Unchanged,
        (Some(_), Some(_)) => FileDrift::Changed,
    };
    let fly_toml = crate::fsutil::PendingWrite::new(root.join(&entry.output), Vec::new())
        .current(limits::MAX_GENERATED_BYTES)
        .map(|bytes| sha256(&bytes));
    let fly_toml = compare(fly_toml, release.map(|r| &r.config_sha256));
    let score_file = compare(score_sha256(root, entry), release.and_then(|r| r.score_sha256.as_ref()));
    let drifted = [fly_toml, score_file].iter().any(|d| matches!(d, FileDrift::Changed | FileDrift::Missing));
    Drift { fly_toml, score_file, drifted }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> WorkloadStatus {
        WorkloadStatus {
            workload: "api".to_owned(),
            app: "demo-api".to_owned(),
            url: "https://demo-api.fly.dev".to_owned(),
            deployed: false,
            fly_status: None,
            version: None,
            image: None,
            digest: None,
            revision: None,
            dirty: false,
            machines: Vec::new(),
            release: None,
            resources: Vec::new(),
            drift: Drift { fly_toml: FileDrift::Unknown, score_file: FileDrift::Unknown, drifted: false },
            error: None,
        }
    }

    #[test]
    fn fly_status_json_is_read_as_the_reference_shows_it() {
        // fly-2026.md §5.1 with one machine of §5.6.
        let value = serde_json::json!({
            "AppURL": "", "Deployed": true, "Hostname": "demo-api.fly.dev", "ID": "demo-api",
            "Machines": [{
                "id": "e784", "state": "started", "region": "ams",
                "image_ref": {"registry": "registry.fly.io", "repository": "demo-api", "tag": "v1", "digest": "sha256:ab"},
                "config": {"metadata": {"fly_process_group": "app", "fly_release_version": "7"}},
                "checks": [{"name": "servicecheck-00-http-8080", "status": "passing", "output": "OK"}]
            }],
            "Name": "demo-api", "Status": "deployed", "Version": 7
        });
        let mut r = report();
        read_fly_status(&value, &mut r);
        assert!(r.deployed);
        assert_eq!(r.url, "https://demo-api.fly.dev");
        assert_eq!(r.version, Some(7));
        assert_eq!(r.image.as_deref(), Some("registry.fly.io/demo-api:v1"));
        assert_eq!(r.digest.as_deref(), Some("sha256:ab"));
        assert_eq!(r.machines[0].checks[0].status, "passing");
        assert_eq!(r.machines[0].release.as_deref(), Some("7"));
    }
}
