//! `volume`: a Fly volume of the declaring workload's app, for `volumes: {/data: {source:
//! ${resources.data}}}` (the conversion turns it into `[[mounts]] source`).
//!
//! - Name: `<id>_<hash>` ([`pg_name`]): letters, digits and `_`, at most 30
//!   characters, as Fly volume names must be. A volume belongs to one app, so a volume
//!   declared by two workloads is an error.
//! - The app (`<prefix><workload>`) is created first when it does not exist yet (`fly apps
//!   create`), since volumes are made before the first deploy.
//! - Adoption: a volume of that name in the app (Machines API, destroyed ones ignored) is
//!   used as it is; otherwise `fly volumes create NAME -r REGION -s SIZE -a APP -y` makes one.
//! - Params: `size` in GB (`10`, `"10"`, `"10GB"`, `"10Gi"`; default 1, at most 500),
//!   `region`.
//! - Outputs: values `source` (the volume name) and `type` (`volume`).
//! - Deprovision: destroys every volume of that name in the app (`fly volumes destroy ID -y
//!   -a APP`); a volume still attached to a machine cannot go until the machine does.

use super::{BuiltinError, Call, SizeError, pg_name};
use crate::flyio::api::AppLookup;
use crate::provision::protocol::Request;
use crate::provision::protocol::Response;

/// Longest Fly volume name.
const MAX_NAME: usize = 30;
/// Largest Fly volume, in GB.
pub const MAX_SIZE_GB: u64 = 500;

/// The name this builtin derives for a resource's volume (see [`super::derived_name`]).
pub(super) fn derived_name(request: &Request) -> String {
    pg_name(request, MAX_NAME)
}

/// `volume` provision.
pub(super) fn provision(call: &Call<'_>) -> Result<Response, BuiltinError> {
    let workload = call.workload()?;
    let app = call.state_str("app").unwrap_or_else(|| call.env.app(&workload));
    let name = call.state_str("name").unwrap_or_else(|| derived_name(call.request));
    let size = match call.param("size") {
        Some(text) => parse_size(&text)
            .map_err(|source| BuiltinError::VolumeSize { uid: call.request.resource_uid.clone(), source })?,
        None => 1,
    };
    let api = call.api()?;
    call.ensure_app(&api, &app)?;
    let existing: Vec<_> = api.volumes(&app)?.into_iter().filter(|v| v.name == name && !is_gone(&v.state)).collect();
    if let Some(first) = existing.first() {
        call.say(&format!(
            "using the existing volume {name} of {app} ({})",
            existing
                .iter()
                .map(|v| format!("{} {} GB in {}", v.id, v.size_gb, v.region))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if first.size_gb != 0 && first.size_gb < size {
            call.say(&format!(
                "volume {} is {} GB, the `size` param asks {size} GB: extend it with `fly volumes extend {} -s {size} -a {app}`",
                first.id, first.size_gb, first.id
            ));
        }
    } else {
        let region = call.region()?;
        call.say(&format!("creating volume {name} ({size} GB) of {app} in {region}"));
        call.fly(&["volumes", "create", &name, "-r", &region, "-s", &size.to_string(), "-a", &app, "-y"])?;
    }
    let values = serde_json::json!({ "source": name, "type": "volume" });
    Ok(Response {
        state: serde_json::json!({ "app": app, "name": name }).as_object().cloned(),
        values: values.as_object().cloned().unwrap_or_default(),
        secrets: serde_json::Map::new(),
        shared: None,
    })
}

/// `volume` deprovision.
pub(super) fn deprovision(call: &Call<'_>) -> Result<Option<Response>, BuiltinError> {
    let app = match call.state_str("app") {
        Some(app) => app,
        None => call.env.app(&call.workload()?),
    };
    let name = call.state_str("name").unwrap_or_else(|| derived_name(call.request));
    let api = call.api()?;
    if !matches!(api.app(&app)?, AppLookup::Exists { .. }) {
        call.say(&format!("app {app} does not exist; no volume {name} to destroy"));
        return Ok(None);
    }
    let volumes: Vec<_> = api.volumes(&app)?.into_iter().filter(|v| v.name == name && !is_gone(&v.state)).collect();
    if volumes.is_empty() {
        call.say(&format!("{app} has no volume {name}; nothing to destroy"));
    }
    for volume in volumes {
        call.fly(&["volumes", "destroy", &volume.id, "-y", "-a", &app])
            .map_err(|source| BuiltinError::VolumeDestroy { source })?;
        call.say(&format!("destroyed volume {} ({name}) of {app}", volume.id));
    }
    Ok(None)
}

/// Whether a volume state means it is (being) destroyed.
fn is_gone(state: &str) -> bool {
    matches!(state, "destroyed" | "destroying" | "pending_destroy")
}

/// A volume size in GB: `10`, `10GB`, `10G`, `10Gi`, `10GiB` (any case); 1 to 500.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let trimmed = text.trim();
    let digits = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let unit = unit.trim();
    let known = ["", "g", "gb", "gi", "gib"].contains(&unit.to_ascii_lowercase().as_str());
    let size: u64 = match number.parse() {
        Ok(n) if known => n,
        _ => return Err(SizeError::NotASize { text: text.to_owned() }),
    };
    if (1..=MAX_SIZE_GB).contains(&size) { Ok(size) } else { Err(SizeError::OutOfRange { size, max: MAX_SIZE_GB }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_gigabytes() {
        for (text, gb) in [("1", 1), ("10", 10), ("10GB", 10), ("10gb", 10), ("10G", 10), ("10Gi", 10), (" 3 GiB", 3)] {
            assert_eq!(parse_size(text), Ok(gb), "{text}");
        }
        for bad in ["", "GB", "1.5", "10MB", "10Ti", "-1", "ten"] {
            assert_eq!(parse_size(bad), Err(SizeError::NotASize { text: bad.to_owned() }), "{bad}");
        }
        assert_eq!(
            parse_size("10MB").unwrap_err().to_string(),
            "`10MB` is not a size in GB (e.g. 10, \"10GB\" or \"10Gi\")"
        );
        assert_eq!(parse_size("0"), Err(SizeError::OutOfRange { size: 0, max: 500 }));
        assert_eq!(parse_size("501").unwrap_err().to_string(), "501 GB is not a Fly volume size (1 to 500 GB)");
    }

    #[test]
    fn destroyed_volumes_are_ignored() {
        assert!(is_gone("destroyed") && is_gone("pending_destroy"));
        assert!(!is_gone("created") && !is_gone("hydrating"));
    }
}
