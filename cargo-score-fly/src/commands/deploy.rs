//! `deploy`: from a Rust package (or Score files) to running Fly apps, as a plan
//! ([`ops::deploy::plan`]) then its application ([`ops::deploy::apply`]). `--dry-run` prints
//! the plan (`--format json`: the plan document, `docs/schema/deploy-v1.json`) and stops
//! with the real run's exit code when something would block it.

use score_fly_core::ops;
use score_fly_core::ops::deploy::{Builder as OpsBuilder, DeployOptions, DeployPlan, ToBuild};

use super::{Failure, Session};
use crate::cargo::Service;
use crate::cli::{BuildArgs, Builder, DeployArgs, Format, GenerateArgs};
use crate::sources;

/// Runs `deploy`.
pub fn run(args: &DeployArgs, session: &Session) -> Result<(), Failure> {
    let w = &args.workloads;
    let found = sources::find(w, args.image.base_image.as_ref(), &session.printer)?;
    let reporter = session.reporter();
    let mut opened = ops::project::open(found.sources, session.lock_timeout, &reporter)?;
    let services: Vec<Service> = found.workspace.as_ref().map(|w| w.services.clone()).unwrap_or_default();
    // What gets built: this run's packages whose image is `.`, unless --image names one.
    let mut builds = Vec::new();
    for workload in opened.this_run().iter().filter(|_| w.image.is_none()) {
        if !workload.entry.spec.containers.values().any(|c| c.image == ".") {
            continue;
        }
        if let Some(service) = services.iter().find(|s| s.loaded.workload.name() == workload.name) {
            if service.bin.is_none() {
                return Err(Failure::Invalid(format!(
                    "package `{}` has several binaries and none declares the workload: choose the one that ships with --bin",
                    service.package
                )));
            }
            let bin = service.bin.as_deref().unwrap_or_default();
            let package = super::build::package(service, bin, &found.settings, &args.image.build_env)?;
            builds.push(ToBuild { workload: workload.name.clone(), package });
        }
    }
    if !builds.is_empty()
        && args.image.builder == Builder::Native
        && !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64"))
    {
        return Err(Failure::Invalid(format!(
            "this host ({}/{}) cannot build the Linux x86-64 binaries Fly runs: deploy with --builder dockerfile (Fly's remote builder compiles them) or with --image REF",
            std::env::consts::OS,
            std::env::consts::ARCH
        )));
    }
    let options = DeployOptions {
        jobs: w.jobs,
        reprovision: w.reprovision,
        image: w.image.clone(),
        builds,
        builder: if args.image.builder == Builder::Native { OpsBuilder::Native } else { OpsBuilder::Dockerfile },
        build: found
            .workspace
            .as_ref()
            .map(|ws| super::build::options(&build_args(args), &ws.root, &ws.target_dir, &session.printer)),
        ha: if args.no_ha { Some(false) } else { args.ha.then_some(true) },
        strategy: args.strategy.clone(),
        deploy_args: args.deploy_args.clone(),
    };
    let plan = ops::deploy::plan(&mut opened, &options, &reporter)?;
    let json = args.format == Some(Format::Json);
    if args.dry_run {
        return dry_run(&plan, json, session);
    }
    apply(&mut opened, plan, &options, json, session)
}

/// `generate --deploy`: `deploy` of the workloads `generate` was given (nothing is built).
pub fn from_generate(args: &GenerateArgs, session: &Session) -> Result<(), Failure> {
    let w = &args.workloads;
    let found = sources::find(w, None, &session.printer)?;
    let reporter = session.reporter();
    let mut opened = ops::project::open(found.sources, session.lock_timeout, &reporter)?;
    let options = DeployOptions {
        jobs: w.jobs,
        reprovision: w.reprovision,
        image: w.image.clone(),
        builds: Vec::new(),
        builder: OpsBuilder::Native,
        build: None,
        ha: None,
        strategy: None,
        deploy_args: args.deploy_args.clone(),
    };
    let plan = ops::deploy::plan(&mut opened, &options, &reporter)?;
    apply(&mut opened, plan, &options, args.format == Some(Format::Json), session)
}

fn apply(
    opened: &mut ops::project::Opened,
    plan: DeployPlan,
    options: &DeployOptions,
    json: bool,
    session: &Session,
) -> Result<(), Failure> {
    let report = ops::deploy::apply(opened, plan, options, &session.reporter())?;
    if json {
        session.printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&report).expect("reports serialise")));
    }
    Ok(())
}

/// Prints the plan; exits as the real run would when something blocks it.
fn dry_run(plan: &DeployPlan, json: bool, session: &Session) -> Result<(), Failure> {
    crate::render::plan(&session.printer, plan);
    if json {
        session.printer.stdout(&format!("{}\n", serde_json::to_string_pretty(plan).expect("plans serialise")));
    }
    if plan.blockers.is_empty() {
        return Ok(());
    }
    let n = plan.blockers.len();
    session.printer.status("Blocked", &format!("the deploy would stop on {n} problem(s) before changing anything"));
    Err(Failure::Unavailable(plan.blockers.join("\n")))
}

fn build_args(args: &DeployArgs) -> BuildArgs {
    BuildArgs {
        packages: args.workloads.packages.clone(),
        compile: args.compile.clone(),
        push: true,
        tag: None,
        image: args.image.clone(),
        output_oci: None,
        app_prefix: None,
        format: None,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Builder, Cli, Command};

    /// The image flags `deploy` shares with `build` reach the build it runs.
    #[test]
    fn the_image_flags_reach_the_build() {
        let cli = Cli::try_parse_from([
            "cargo-score-fly",
            "deploy",
            "--pull",
            "--build-env",
            "SQLX_OFFLINE=true",
            "--base-image",
            "oci:base",
            "--builder",
            "dockerfile",
        ])
        .expect("parses");
        let Command::Deploy(args) = cli.command else { panic!("deploy") };
        let build = super::build_args(&args);
        assert!(build.push, "deploy pushes what it builds");
        assert!(build.image.pull);
        assert_eq!(build.image.build_env, ["SQLX_OFFLINE=true"]);
        assert_eq!(build.image.base_image.as_deref(), Some("oci:base"));
        assert_eq!(build.image.builder, Builder::Dockerfile);
    }
}
