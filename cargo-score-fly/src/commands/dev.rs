//! `dev`: the package's binary built with cargo and run here, its resources provisioned by
//! local provisioners into `.score-fly/dev/` ([`ops::dev`]), its variables and files resolved
//! as on Fly. `--watch` rebuilds and restarts on change; `--workspace` runs every service.
//!
//! Arguments → workloads ([`sources::find`], as `generate` finds them) → the local state
//! locked for the session → per cycle: ports, provisioning, resolution, `cargo build` →
//! children ([`ops::dev::Running`]) supervised by [`session`] until they exit, a signal
//! comes, or (with `--watch`) a change asks for a new cycle.

mod session;

use std::path::{Path, PathBuf};

use score_fly_core::local::{LocalEnv, LocalOptions};
use score_fly_core::ops::{self, build::BuildOptions, build::CompileOptions, dev::WorkloadPorts};
use score_fly_core::provision;

use super::{Failure, Session};
use crate::cli::{DevArgs, WorkloadArgs};
use crate::sources;

/// The local builtin provisioners of a session, and what they started.
///
/// THE one place they are made: `builtin:` entries of a dev run call `builtins`. In this
/// version there are none ([`provision::NoBuiltins`]: a `builtin:` entry fails with "no such
/// builtin"); the local servers (`score_fly_core::local::LocalEnv`, given `ports` as its
/// `workload_ports`) plug in here, with `servers` and `stop` reporting and stopping them.
pub struct LocalBuiltins {
    env: LocalEnv,
}

impl LocalBuiltins {
    /// The local builtins ([`LocalEnv`]) for the project at `root` running `inputs`, each
    /// workload's service ports at `ports`.
    pub fn new(root: &Path, inputs: &[ops::project::Input], ports: &WorkloadPorts) -> LocalBuiltins {
        let mut options = LocalOptions::for_workloads(root, &ops::dev::workload_entries(inputs));
        options.workload_ports.clone_from(ports);
        LocalBuiltins { env: LocalEnv::new(root, options) }
    }

    /// What the engine calls.
    pub fn builtins(&self) -> &dyn provision::Builtins {
        &self.env
    }

    /// Lines saying where each server it started listens (no secrets).
    pub fn servers(&self) -> Vec<String> {
        self.env
            .servers()
            .iter()
            .map(|s| {
                format!(
                    "{} for {} on {}, data in {}",
                    s.kind,
                    s.serves.join(", "),
                    s.address,
                    crate::cargo::relative(&s.data)
                )
            })
            .collect()
    }

    /// Stops what it started for this session (after the services); errors as lines.
    pub fn stop(self) -> Vec<String> {
        self.env.stop_all().iter().map(ToString::to_string).collect()
    }
}

/// Runs `dev`.
pub fn run(args: &DevArgs, session: &Session) -> Result<(), Failure> {
    let reporter = session.reporter();
    let found = sources::find(&workload_args(args), None, &session.printer)?;
    let Some(workspace) = found.workspace else {
        return Err(Failure::Invalid(
            "`dev` runs a cargo package's binary: run it inside a package (or pass -p/--manifest-path)".to_owned(),
        ));
    };
    let root = found.sources.root.clone();
    let mut dev = ops::dev::open(&root, session.lock_timeout, &reporter)?;
    if args.reset {
        // The servers' data first: `local::reset` refuses while one of them runs.
        let data = score_fly_core::local::reset(&root).map_err(|e| Failure::Invalid(e.to_string()))?;
        for path in data.removed.iter().chain(&dev.reset()?) {
            session.printer.status("Removed", &crate::cargo::relative(path));
        }
        session.printer.status("Reset", "the local state of `cargo score-fly dev`");
        return Ok(());
    }
    for service in &workspace.services {
        if service.bin.is_none() {
            return Err(Failure::Invalid(format!(
                "package `{}` has several binaries and none declares the workload: choose the one to run with --bin",
                service.package
            )));
        }
    }
    let specs: Vec<_> = found.sources.inputs.iter().map(|i| &i.loaded.workload).collect();
    let ports = ops::dev::local_ports(&specs, &WorkloadPorts::new())?;
    let local = LocalBuiltins::new(&root, &found.sources.inputs, &ports);
    let build = build_options(args, &workspace.root, &workspace.target_dir, &session.printer);
    let result = session::Supervisor::new(args, session, &mut dev, &local, ports, build).run(&workspace);
    for line in local.stop() {
        session.printer.warning(&line, "");
    }
    result
}

/// The workloads of `dev`: the chosen cargo packages, never Score files.
fn workload_args(args: &DevArgs) -> WorkloadArgs {
    WorkloadArgs {
        files: Vec::new(),
        packages: args.packages.clone(),
        output: None,
        app_prefix: None,
        overrides_file: Vec::new(),
        override_property: Vec::new(),
        patch: Vec::new(),
        image: None,
        region: None,
        org: None,
        jobs: args.jobs,
        reprovision: args.reprovision,
        allow_outside_source: args.allow_outside_source,
    }
}

/// cargo's options for `dev`: the dev profile unless `--release` or `--profile`.
fn build_options(args: &DevArgs, root: &Path, target_dir: &Path, printer: &crate::printer::Printer) -> BuildOptions {
    let c = &args.compile;
    let profile = c.profile.clone().unwrap_or_else(|| if c.release { "release" } else { "dev" }.to_owned());
    BuildOptions {
        workspace_root: root.to_path_buf(),
        target_dir: c.target_dir.clone().unwrap_or_else(|| target_dir.to_path_buf()),
        compile: CompileOptions {
            profile: Some(profile),
            features: c.features.clone(),
            all_features: c.all_features,
            no_default_features: c.no_default_features,
            target_dir: c.target_dir.clone(),
        },
        push: false,
        tag: None,
        output_oci: None,
        pull: false,
        quiet: printer.is_quiet(),
        color: printer.styled(),
    }
}

/// A path below the workspace that `--watch` ignores: cargo's target folder, `.score-fly/`.
fn ignored(path: &Path, root: &Path, target_dir: &Path) -> bool {
    path.starts_with(target_dir)
        || path.strip_prefix(root).unwrap_or(path).components().any(|c| {
            let c = c.as_os_str();
            c == "target" || c == score_fly_core::state::STATE_DIR
        })
}

/// The folders `--watch` watches: each service's package folder.
fn watched(workspace: &crate::cargo::Workspace) -> Vec<PathBuf> {
    workspace.services.iter().map(|s| s.dir.clone()).collect()
}
