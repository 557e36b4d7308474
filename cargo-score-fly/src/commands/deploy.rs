//! `deploy`: from a Rust package (or Score files) to running Fly apps, as a plan
//! ([`ops::deploy::plan`]) then its application ([`ops::deploy::apply`]). `--dry-run` prints
//! the plan (`--format json`: the plan document, `docs/schema/deploy-v1.json`) and stops
//! with the real run's exit code when something would block it.

use score_fly_core::ops::deploy::{Builder as OpsBuilder, DeployOptions, DeployPlan, ImageBuilder, ToBuild};
use score_fly_core::ops::{self, Error, Reporter};
use score_fly_core::state::ImageEntry;
use score_fly_core::target::FlyTarget;

use super::{Failure, Session};
use crate::cargo::Service;
use crate::cli::{BuildArgs, Builder, DeployArgs, Format, GenerateArgs};
use crate::settings::Settings;
use crate::sources;

/// Runs `deploy`.
pub fn run(args: &DeployArgs, session: &Session) -> Result<(), Failure> {
    let w = &args.workloads;
    let found = sources::find(w, args.base_image.as_ref(), &session.printer)?;
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
            builds.push(ToBuild { workload: workload.name.clone(), package: service.package.clone() });
        }
    }
    if !builds.is_empty()
        && args.builder == Builder::Native
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
        builder: if args.builder == Builder::Native { OpsBuilder::Native } else { OpsBuilder::Dockerfile },
        ha: if args.no_ha { Some(false) } else { args.ha.then_some(true) },
        strategy: args.strategy.clone(),
        deploy_args: args.deploy_args.clone(),
    };
    let plan = ops::deploy::plan(&mut opened, &options, &reporter)?;
    let json = args.format == Some(Format::Json);
    if args.dry_run {
        return dry_run(&plan, json, session);
    }
    let Some(workspace) = found.workspace else {
        return apply(&mut opened, plan, &options, &mut NoBuilds, json, session);
    };
    let mut builder = Cargo { args: build_args(args), settings: found.settings, services, workspace, session };
    apply(&mut opened, plan, &options, &mut builder, json, session)
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
        ha: None,
        strategy: None,
        deploy_args: args.deploy_args.clone(),
    };
    let plan = ops::deploy::plan(&mut opened, &options, &reporter)?;
    apply(&mut opened, plan, &options, &mut NoBuilds, args.format == Some(Format::Json), session)
}

fn apply(
    opened: &mut ops::project::Opened,
    plan: DeployPlan,
    options: &DeployOptions,
    builder: &mut dyn ImageBuilder,
    json: bool,
    session: &Session,
) -> Result<(), Failure> {
    let report = ops::deploy::apply(opened, plan, options, builder, &session.reporter())?;
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

/// Builds images of cargo packages with [`super::build`].
struct Cargo<'s> {
    args: BuildArgs,
    settings: Settings,
    services: Vec<Service>,
    workspace: crate::cargo::Workspace,
    session: &'s Session,
}

impl ImageBuilder for Cargo<'_> {
    fn build(
        &mut self,
        workload: &str,
        app: &str,
        target: &FlyTarget,
        _reporter: &dyn Reporter,
    ) -> Result<(Option<ImageEntry>, serde_json::Value), Error> {
        let service =
            self.services.iter().find(|s| s.loaded.workload.name() == workload).expect("planned from services");
        let bin = service.bin.clone().unwrap_or_default();
        self.settings.target = target.clone();
        let mut records = Vec::new();
        let built = match self.args.builder {
            Builder::Native => super::build::native(
                &self.args,
                &self.settings,
                service,
                &bin,
                app,
                &self.workspace,
                self.session,
                &mut records,
            ),
            Builder::Dockerfile => super::build::dockerfile(service, &bin, &self.workspace.root, self.session),
        };
        let entry = built.map_err(|f| match f {
            Failure::Invalid(m) => Error::Invalid(m),
            Failure::Unavailable(m) => Error::Unavailable(vec![m]),
            Failure::Error(m) => Error::Failed(m),
            other => Error::Failed(format!("{other:?}")),
        })?;
        Ok((entry, records.pop().unwrap_or_default()))
    }
}

/// A deploy that builds nothing (Score files, `--image`, `generate --deploy`).
struct NoBuilds;

impl ImageBuilder for NoBuilds {
    fn build(
        &mut self,
        workload: &str,
        _: &str,
        _: &FlyTarget,
        _: &dyn Reporter,
    ) -> Result<(Option<ImageEntry>, serde_json::Value), Error> {
        Err(Error::Invalid(format!("workload `{workload}` has no package to build its image from")))
    }
}

fn build_args(args: &DeployArgs) -> BuildArgs {
    BuildArgs {
        packages: args.workloads.packages.clone(),
        compile: args.compile.clone(),
        push: true,
        tag: None,
        base_image: args.base_image.clone(),
        output_oci: None,
        builder: args.builder,
        pull: false,
        build_env: Vec::new(),
        app_prefix: None,
        format: None,
    }
}
