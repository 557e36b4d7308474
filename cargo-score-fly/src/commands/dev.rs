//! `dev`: the package's binary built with cargo and run here, its resources provisioned by
//! local provisioners into `.score-fly/dev/` ([`ops::dev`]), its variables and files resolved
//! as on Fly. `--watch` rebuilds and restarts on change; `--workspace` runs every service.
//!
//! Arguments → workloads ([`sources::find`], as `generate` finds them) → the local state
//! locked for the session → per cycle: ports, provisioning, resolution, `cargo build` →
//! children ([`ops::dev::start_all`]) supervised by [`session`] until they exit, a signal
//! comes, or (with `--watch`, [`ops::dev::Watcher`]) a change asks for a new cycle. The local
//! servers ([`LocalEnv`]) are stopped when the session ends.

mod session;

use std::path::Path;

use score_fly_core::local::{LocalEnv, LocalOptions};
use score_fly_core::ops::{self, build::BuildOptions, build::CompileOptions};

use super::{Failure, Session};
use crate::cli::{DevArgs, WorkloadArgs};
use crate::sources;

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
    // Each cycle gives the local provisioners its workloads and ports (`set_workloads`).
    let mut local = LocalEnv::new(&root, LocalOptions::default());
    let build = build_options(args, &workspace.root, &workspace.target_dir, &session.printer);
    let result = session::Supervisor::new(args, session, &mut dev, &mut local, build).run(&workspace);
    for error in local.stop_all() {
        session.printer.warning(&error.to_string(), "");
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
