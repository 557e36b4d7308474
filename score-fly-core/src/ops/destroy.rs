//! `destroy`: tear down a project's workloads on Fly (their apps) and the resources only
//! they use, then forget them. Plan, then apply:
//!
//! - [`plan`] reads the state and asks the Machines API which apps exist. It lists the apps
//!   of the chosen workloads (all, when none is named) and the resources to deprovision: those
//!   no remaining workload declares, in reverse dependency order (a resource whose params
//!   read another's outputs goes first). A shared resource that a remaining workload still
//!   declares is kept, and so is everything with `--keep-resources`.
//! - [`apply`] destroys the apps (`fly apps destroy APP --yes`, fly-2026.md §5.5; an app
//!   that is already gone is skipped, since flyctl fails on it), then deprovisions the
//!   resources through the same provisioners that made them, then removes the workloads
//!   from the state. The state is saved after every step, so a run that fails midway leaves
//!   a state that a rerun finishes from: nothing is done twice, nothing is forgotten early.
//!
//! Written files (`fly.toml`s, Score files) are the user's and stay; the copies of the
//! fly.toml each release kept (`.score-fly/releases/<workload>/`) go with the workload.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use super::error::DestroyError;
use super::error::Error;
pub use super::event::DestroyEvent;
use super::event::{Event, Reporter};
use crate::builtin::FlyEnv;
use crate::flyio::api::{AppLookup, MachinesApi};
use crate::flyio::cli::Flyctl;
use crate::provision::{self, definition};
use crate::state::{Project, State};
use crate::target::FlyTarget;

/// The version of the JSON documents [`DestroyPlan`] and [`DestroyReport`].
pub const SCHEMA_VERSION: u32 = 1;

/// What to destroy.
#[derive(Debug, Clone, Default)]
pub struct DestroyOptions {
    /// The workloads (all of the project's when empty).
    pub workloads: Vec<String>,
    /// Keep every resource (destroy the apps only).
    pub keep_resources: bool,
}

/// What [`apply`] will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestroyPlan {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"destroy-plan"`.
    pub kind: &'static str,
    /// The apps of the chosen workloads.
    pub apps: Vec<AppToDestroy>,
    /// The resources to deprovision, in the order they go.
    pub resources: Vec<ResourceToDrop>,
    /// The resources that stay, and why.
    pub kept: Vec<KeptResource>,
    /// The workloads that remain in the project.
    pub remaining: Vec<String>,
}

/// One app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppToDestroy {
    /// The workload.
    pub workload: String,
    /// Its app.
    pub app: String,
    /// `exists`, `gone` (nothing to destroy), `unknown` (the API could not tell; destroy is
    /// tried), `elsewhere` (the name belongs to another organisation: left alone).
    pub status: &'static str,
}

/// One resource to deprovision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceToDrop {
    /// Its uid.
    pub uid: String,
    /// The provisioner that made it.
    pub provisioner: String,
    /// The workloads' declarations of it (`workload.resource`).
    pub declared_by: Vec<String>,
}

/// One resource that stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptResource {
    /// Its uid.
    pub uid: String,
    /// `--keep-resources`, or the remaining workloads that still declare it.
    pub reason: String,
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestroyReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"destroy-report"`.
    pub kind: &'static str,
    /// The apps destroyed.
    pub destroyed_apps: Vec<String>,
    /// The apps that were already gone.
    pub already_gone: Vec<String>,
    /// The resources deprovisioned.
    pub deprovisioned: Vec<String>,
    /// The resources kept.
    pub kept: Vec<KeptResource>,
    /// The workloads removed from the project state.
    pub forgotten: Vec<String>,
}

/// Plans the destroy of `options.workloads` (all when empty).
pub fn plan(project: &Project, options: &DestroyOptions, target: &FlyTarget) -> Result<DestroyPlan, Error> {
    let state = super::resources::require_state(project)?;
    let chosen = chosen(&state, &options.workloads)?;
    let remaining: Vec<String> = state.workloads.keys().filter(|w| !chosen.contains(*w)).cloned().collect();
    let api = MachinesApi::for_target(target).ok();
    let apps = chosen
        .iter()
        .map(|workload| {
            let app = crate::target::app_name(&state.app_prefix, workload);
            let status = match api.as_ref().map(|api| api.app(&app)) {
                Some(Ok(AppLookup::Exists { .. })) => "exists",
                Some(Ok(AppLookup::Missing)) => "gone",
                Some(Ok(AppLookup::TakenElsewhere)) => "elsewhere",
                Some(Err(_)) | None => "unknown",
            };
            AppToDestroy { workload: workload.clone(), app, status }
        })
        .collect();
    let mut resources = Vec::new();
    let mut kept = Vec::new();
    for uid in reverse_dependency_order(&state) {
        let entry = &state.resources[&uid];
        let workload_of = |d: &String| d.split_once('.').map_or(d.clone(), |(w, _)| w.to_owned());
        let declaring: BTreeSet<String> = entry.declared_by.iter().map(workload_of).collect();
        let users: Vec<String> = declaring.iter().filter(|w| remaining.contains(w)).cloned().collect();
        // A resource no workload declares any more (left by an earlier run) goes with a
        // destroy of the whole project only.
        let ours = declaring.iter().any(|w| chosen.contains(w)) || (declaring.is_empty() && remaining.is_empty());
        if !ours {
            continue;
        }
        if options.keep_resources {
            kept.push(KeptResource { uid, reason: "--keep-resources".to_owned() });
        } else if !users.is_empty() {
            kept.push(KeptResource { uid, reason: format!("still declared by {}", users.join(", ")) });
        } else {
            resources.push(ResourceToDrop {
                uid,
                provisioner: entry.provisioner.clone(),
                declared_by: entry.declared_by.clone(),
            });
        }
    }
    Ok(DestroyPlan { schema_version: SCHEMA_VERSION, kind: "destroy-plan", apps, resources, kept, remaining })
}

/// Carries out `plan`: apps, then resources, then the state entries; the state is saved
/// after every step.
pub fn apply(
    project: &Project,
    plan: &DestroyPlan,
    mut target: FlyTarget,
    reporter: &dyn Reporter,
) -> Result<DestroyReport, Error> {
    let mut state = super::resources::require_state(project)?;
    state.app_prefix.clone_into(&mut target.app_prefix);
    let mut report = DestroyReport {
        schema_version: SCHEMA_VERSION,
        kind: "destroy-report",
        destroyed_apps: Vec::new(),
        already_gone: Vec::new(),
        deprovisioned: Vec::new(),
        kept: plan.kept.clone(),
        forgotten: Vec::new(),
    };
    let event = |e: DestroyEvent<'_>| reporter.event(Event::Destroy(e));
    if plan.apps.iter().any(|a| matches!(a.status, "exists" | "unknown")) {
        let flyctl = Flyctl::for_target(&target).map_err(|e| Error::Unavailable(vec![e.to_string()]))?;
        let api = MachinesApi::for_target(&target).ok();
        for app in &plan.apps {
            // Asked again: the plan may be old, and a rerun meets apps an earlier run destroyed.
            let now = api.as_ref().and_then(|api| api.app(&app.app).ok());
            match (app.status, now) {
                (_, Some(AppLookup::Missing)) | ("gone", None) => {
                    event(DestroyEvent::AppGone { app: &app.app });
                    report.already_gone.push(app.app.clone());
                }
                (_, Some(AppLookup::TakenElsewhere)) | ("elsewhere", None) => {
                    event(DestroyEvent::AppElsewhere { app: &app.app });
                }
                _ => {
                    event(DestroyEvent::DestroyingApp { app: &app.app });
                    flyctl
                        .command(&["apps", "destroy", &app.app, "--yes"])
                        .run(&mut |line| event(DestroyEvent::Flyctl { line }))
                        .map_err(|source| DestroyError::App { app: app.app.clone(), source })?;
                    report.destroyed_apps.push(app.app.clone());
                }
            }
        }
    } else {
        for app in plan.apps.iter().filter(|a| a.status == "gone") {
            event(DestroyEvent::AppGone { app: &app.app });
            report.already_gone.push(app.app.clone());
        }
    }
    if !plan.resources.is_empty() {
        let defs = definition::load_all(&project.dir())?;
        for resource in &plan.resources {
            if !state.resources.contains_key(&resource.uid) {
                continue;
            }
            let fly = FlyEnv::for_target(&target, project.root(), &state.workloads, false);
            provision::deprovision(&resource.uid, &mut state, &defs, project.root(), &fly, reporter)
                .map_err(|source| DestroyError::Deprovision { source })?;
            project.save(&state)?;
            report.deprovisioned.push(resource.uid.clone());
        }
    }
    for app in &plan.apps {
        let workload = &app.workload;
        if let Some(entry) = state.workloads.remove(workload) {
            // The fly.toml copies its releases kept (`ops::releases`) go with it.
            for release in &entry.releases {
                crate::fsutil::remove_inside(project.root(), &super::releases::config_copy(workload, release.version))?;
            }
            for entry in state.resources.values_mut() {
                entry.declared_by.retain(|d| d.split_once('.').map_or(d.as_str(), |(w, _)| w) != workload);
            }
            event(DestroyEvent::Forgotten { workload });
            report.forgotten.push(workload.clone());
        }
    }
    project.save(&state)?;
    Ok(report)
}

/// The workloads asked for (all when none is named), each checked.
fn chosen(state: &State, names: &[String]) -> Result<BTreeSet<String>, Error> {
    if names.is_empty() {
        return Ok(state.workloads.keys().cloned().collect());
    }
    let mut chosen = BTreeSet::new();
    for name in names {
        if !state.workloads.contains_key(name) {
            let known = state.workloads.keys().cloned().collect();
            return Err(DestroyError::UnknownWorkload { name: name.clone(), known }.into());
        }
        chosen.insert(name.clone());
    }
    Ok(chosen)
}

/// The state's resources, each after every resource whose outputs its params read: the
/// reverse of the order they were provisioned in. Dependencies are read from the recorded
/// workloads' Score params (`${resources.<name>.<key>}`); a resource none of them declares
/// goes last.
fn reverse_dependency_order(state: &State) -> Vec<String> {
    // uid → the uids its params read.
    let mut reads: BTreeMap<String, BTreeSet<String>> =
        state.resources.keys().map(|uid| (uid.clone(), BTreeSet::new())).collect();
    for (name, entry) in &state.workloads {
        let uids: BTreeMap<&str, String> =
            entry.spec.resources.iter().map(|(r, res)| (r.as_str(), res.uid(name, r))).collect();
        for (resource, declared) in &entry.spec.resources {
            let uid = &uids[resource.as_str()];
            let params = serde_json::to_string(&declared.params).unwrap_or_default();
            for (other, other_uid) in &uids {
                if other_uid != uid
                    && params.contains(&format!("${{resources.{other}."))
                    && let Some(set) = reads.get_mut(uid)
                {
                    set.insert(other_uid.clone());
                }
            }
        }
    }
    // Provisioning order (Kahn, ties by uid), then reversed.
    let mut order = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    while order.len() < reads.len() {
        let ready: Vec<String> = reads
            .iter()
            .filter(|(uid, deps)| {
                !done.contains(*uid) && deps.iter().all(|d| done.contains(d) || !reads.contains_key(d))
            })
            .map(|(uid, _)| uid.clone())
            .collect();
        // A cycle cannot be provisioned, so it cannot be in the state; were it there, the
        // rest goes in uid order rather than never.
        let next =
            if ready.is_empty() { reads.keys().filter(|u| !done.contains(*u)).cloned().collect() } else { ready };
        for uid in next {
            done.insert(uid.clone());
            order.push(uid);
        }
    }
    order.reverse();
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(doc: &str) -> State {
        let mut state = State::new("demo-");
        for (name, text) in doc.split("---\n").enumerate() {
            let workload = crate::spec::load_str("score.yaml", text).expect("valid Score").workload;
            for (r, res) in &workload.resources {
                let uid = res.uid(workload.name(), r);
                let entry = state.resources.entry(uid).or_insert_with(|| {
                    serde_json::from_value(serde_json::json!({
                        "type": res.kind, "class": "default", "id": r, "declared_by": [], "provisioner": "p",
                        "params": {}, "metadata": {}, "fingerprint": "", "state": {}, "values": {}, "secrets": {},
                    }))
                    .unwrap()
                });
                entry.declared_by.push(format!("{}.{r}", workload.name()));
            }
            let entry =
                crate::state::WorkloadEntry::new(format!("{name}.yaml"), format!("fly_{name}.toml"), workload.clone());
            state.workloads.insert(workload.name().to_owned(), entry);
        }
        state
    }

    #[test]
    fn a_resource_goes_before_the_resources_its_params_read() {
        let state = state(
            "apiVersion: score.dev/v1b1\nmetadata: {name: api}\ncontainers: {main: {image: x}}\nresources:\n  user:\n    type: postgres-user\n    params: {host: '${resources.db.host}'}\n  db: {type: postgres}\n  cache: {type: redis}\n  route:\n    type: route\n    params: {x: '${resources.user.name}'}\n",
        );
        let order = reverse_dependency_order(&state);
        let pos = |needle: &str| order.iter().position(|u| u.contains(needle)).unwrap();
        assert!(pos("route") < pos("user"), "{order:?}");
        assert!(pos("user") < pos("db"), "{order:?}");
        assert_eq!(order.len(), 4);
    }
}
