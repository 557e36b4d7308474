//! `deploy`: from a Rust package (or Score files) to running Fly apps.
//!
//! Order, each step a status line:
//! 1. load and validate the workloads, lock the project, check every workload converts and
//!    every resource has a provisioner (nothing is created on bad input);
//! 2. `--dry-run` stops here and prints the plan;
//! 3. create the apps that do not exist (`fly apps create`; an image can only be pushed to
//!    an existing app);
//! 4. build and push the images of packages whose image is `.` (unless `--image`);
//! 5. provision resources (builtin Fly provisioners or the project's own), write fly.toml;
//! 6. import each app's secrets through stdin (`fly secrets import --stage`) when they
//!    changed since the last deploy, unset the ones that went away;
//! 7. `fly deploy --config ... [--image ...]`.
//!
//! A failing step names the flyctl command and quotes its output; the state keeps what was
//! done, so running deploy again continues.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use score_fly_core::flyio::api::{ApiError, AppLookup, MachinesApi};
use score_fly_core::flyio::cli::Flyctl;
use score_fly_core::provision::definition::Kind;
use score_fly_core::provision::{Outcome, ProvisionOptions, Redactor};
use score_fly_core::secret::Secret;
use score_fly_core::state::ImageEntry;
use score_fly_core::target::FlyTarget;
use sha2::{Digest as _, Sha256};

use super::generate::{self, Converted, Opened};
use super::{Failure, Session};
use crate::cli::{BuildArgs, Builder, DeployArgs, Format, GenerateArgs};

/// One app to deploy.
#[derive(Debug, Clone)]
pub struct AppDeploy {
    /// The workload.
    pub workload: String,
    /// The Fly app.
    pub app: String,
    /// Its fly.toml (absolute).
    pub config: PathBuf,
    /// The image to pass to `fly deploy --image` (none: Fly builds the Dockerfile).
    pub image: Option<String>,
    /// Its secrets.
    pub secrets: BTreeMap<String, Secret>,
}

impl AppDeploy {
    /// The deployment of a converted workload.
    pub(crate) fn of(root: &Path, converted: &Converted, image: Option<String>) -> AppDeploy {
        let config = &converted.conversion.config;
        let built = config.build.as_ref().and_then(|b| b.image.clone());
        AppDeploy {
            workload: converted.name.clone(),
            app: config.app.clone(),
            config: std::path::absolute(root.join(&converted.output)).unwrap_or_else(|_| root.join(&converted.output)),
            image: built.or(image),
            secrets: converted.conversion.secrets.clone(),
        }
    }
}

/// How apps are deployed.
#[derive(Debug, Clone, Default)]
pub struct DeploySettings {
    /// Organisation for new apps.
    pub org: String,
    /// `--ha=false` when `Some(false)`.
    pub ha: Option<bool>,
    /// `--strategy`.
    pub strategy: Option<String>,
    /// Extra `fly deploy` arguments.
    pub deploy_args: Vec<String>,
}

impl DeploySettings {
    /// The settings of `generate --deploy`.
    pub(crate) fn from_generate(args: &GenerateArgs, org: String) -> DeploySettings {
        DeploySettings { org, ha: None, strategy: None, deploy_args: args.deploy_args.clone() }
    }
}

/// The app of a workload of the project ([`FlyTarget::app`]).
fn fly_app(opened: &Opened, workload: &str) -> String {
    opened.target().app(workload)
}

/// Runs `deploy`.
pub fn run(args: &DeployArgs, session: &Session) -> Result<(), Failure> {
    let printer = &session.printer;
    let w = &args.workloads;
    let sources = generate::sources(w, args.base_image.as_ref(), session)?;
    let workspace = sources.workspace.as_ref().map(|w| (w.root.clone(), w.target_dir.clone()));
    let services: Vec<crate::cargo::Service> =
        sources.workspace.as_ref().map(|w| w.services.clone()).unwrap_or_default();
    let mut opened = generate::open(sources, session)?;
    // Apps are created under the prefix: a package's project must have chosen one (a dry
    // run shows the same refusal).
    if opened.prefix_unchosen {
        return Err(Failure::Invalid(format!(
            "deploy creates Fly apps and this project has no app prefix: {}",
            opened.unchosen_prefix_advice()
        )));
    }
    // Reach Fly before changing anything.
    let fly = if args.dry_run { None } else { Some(reach_fly(opened.target())?) };
    // A project deployed without `init` gets the builtin provisioners too (see
    // `generate::open`): written once something exists on Fly (never by a dry run).
    // What gets built: this run's packages whose image is `.`, unless --image names one.
    let mut to_build: Vec<&crate::cargo::Service> = Vec::new();
    if args.workloads.image.is_none() {
        for target in opened.this_run() {
            if !target.entry.spec.containers.values().any(|c| c.image == ".") {
                continue;
            }
            if let Some(service) = services.iter().find(|s| s.loaded.workload.name() == target.name) {
                if service.bin.is_none() {
                    return Err(Failure::Invalid(format!(
                        "package `{}` has several binaries and none declares the workload: choose the one that ships with --bin",
                        service.package
                    )));
                }
                to_build.push(service);
            }
        }
    }
    if !to_build.is_empty()
        && args.builder == Builder::Native
        && !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64"))
    {
        return Err(Failure::Invalid(format!(
            "this host ({}/{}) cannot build the Linux x86-64 binaries Fly runs: deploy with --builder dockerfile (Fly's remote builder compiles them) or with --image REF",
            std::env::consts::OS,
            std::env::consts::ARCH
        )));
    }
    let built_names: BTreeSet<String> = to_build.iter().map(|s| s.loaded.workload.name().to_owned()).collect();
    let plan = opened.preflight(&built_names)?;
    let apps: Vec<(String, String)> =
        opened.this_run().iter().map(|t| (t.name.clone(), fly_app(&opened, &t.name))).collect();
    for (_, app) in &apps {
        score_fly_core::fly::check_app_name(app).map_err(Failure::Invalid)?;
    }
    let settings = DeploySettings {
        org: opened.target().org.clone(),
        ha: if args.no_ha {
            Some(false)
        } else if args.ha {
            Some(true)
        } else {
            None
        },
        strategy: args.strategy.clone(),
        deploy_args: args.deploy_args.clone(),
    };
    let fly_env = opened.fly_env();

    let Some((flyctl, api)) = fly else {
        return dry_run(&mut opened, &plan, &apps, &to_build, args, &settings, &fly_env, session);
    };
    let mut created = BTreeSet::new();
    for (_, app) in &apps {
        if ensure_app(&api, &flyctl, app, &settings.org, session)? {
            created.insert(app.clone());
        }
        // The project now has something on Fly: its state (and app prefix) is kept from here.
        opened.state.deployments.entry(app.clone()).or_default();
        opened.project.save(&opened.state)?;
    }
    opened.write_defaults(session)?;

    // Images.
    let mut images = Vec::new();
    if let Some((root, target_dir)) = &workspace {
        let build_options = super::build::options(&build_args(args), root, target_dir, printer);
        let reporter = crate::report::CliReporter::new(printer);
        for service in &to_build {
            let bin = service.bin.clone().unwrap_or_default();
            let app = fly_app(&opened, service.loaded.workload.name());
            let package = super::build::package(service, &bin, &opened.settings, &[])?;
            let entry = match args.builder {
                Builder::Native => {
                    let target = &opened.settings.target;
                    let image = score_fly_core::ops::build::native(&package, &build_options, target, &app, &reporter)?;
                    let entry = image.entry();
                    images.push(image);
                    entry
                }
                Builder::Dockerfile => Some(score_fly_core::ops::build::dockerfile(&package, root, &reporter)?),
            };
            if let Some(entry) = entry {
                opened.state.images.insert(service.loaded.workload.name().to_owned(), entry);
                opened.project.save(&opened.state)?;
            }
        }
    }

    // Resources and fly.toml.
    let options = ProvisionOptions {
        jobs: args.workloads.jobs,
        reprovision: args.workloads.reprovision,
        dry_run: false,
        read_in_dry_run: false,
    };
    let provisioned = opened.provision(&plan, options, &fly_env, session)?;
    let converted = opened.convert(session)?;
    opened.commit(&opened.writes(&converted))?;
    opened.record()?;
    for c in &converted {
        printer.verbose(&format!("wrote {}", crate::cargo::relative(&opened.root.join(&c.output))));
    }
    let deploys: Vec<AppDeploy> = converted
        .iter()
        .filter(|c| apps.iter().any(|(w, _)| *w == c.name))
        .map(|c| AppDeploy::of(&opened.root, c, args.workloads.image.clone()))
        .collect();
    for d in &deploys {
        printer.status("Generated", &format!("{} (app {})", crate::cargo::relative(&d.config), d.app));
    }
    let deployed = deploy_apps(&mut opened, &deploys, &settings, &mut created, session)?;
    if args.format == Some(Format::Json) {
        let resources: Vec<serde_json::Value> = plan
            .resources
            .iter()
            .map(|r| {
                let outcome = match provisioned.outcomes.get(&r.uid) {
                    Some(Outcome::Reused) => "reused",
                    _ => "provisioned",
                };
                serde_json::json!({
                    "uid": r.uid,
                    "provisioner": opened.defs[r.provisioner].def.id,
                    "outcome": outcome,
                })
            })
            .collect();
        let doc = serde_json::json!({ "apps": deployed, "images": images, "resources": resources });
        printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&doc).expect("json")));
    }
    Ok(())
}

fn build_args(args: &DeployArgs) -> BuildArgs {
    BuildArgs {
        packages: args.workloads.packages.clone(),
        compile: args.compile.clone(),
        push: true,
        tag: None,
        base_image: args.base_image.clone(),
        output_oci: None,
        builder: Builder::Native,
        pull: false,
        build_env: Vec::new(),
        app_prefix: None,
        format: None,
    }
}

/// The target's flyctl and Machines API, or what is missing: flyctl not found (or `FLY_BIN`
/// not an executable), no token. Both are checked, so one run names every missing piece.
fn fly_tools(target: &FlyTarget) -> (Option<Flyctl>, Option<MachinesApi>, Vec<String>) {
    let mut missing = Vec::new();
    let flyctl = Flyctl::for_target(target).map_err(|e| missing.push(e.to_string())).ok();
    let api = MachinesApi::for_target(target).map_err(|e| missing.push(e.to_string())).ok();
    (flyctl, api, missing)
}

/// flyctl and the Machines API, or [`Failure::Unavailable`] naming what is missing.
fn reach_fly(target: &FlyTarget) -> Result<(Flyctl, MachinesApi), Failure> {
    match fly_tools(target) {
        (Some(flyctl), Some(api), _) => Ok((flyctl, api)),
        (_, _, missing) => Err(Failure::Unavailable(missing.join("\n"))),
    }
}

/// A failed Machines API call: a refused token is a missing credential
/// ([`Failure::Unavailable`]), anything else a failure.
fn api_failure(e: &ApiError) -> Failure {
    match e {
        ApiError::NoToken | ApiError::Unauthorized { .. } => Failure::Unavailable(e.to_string()),
        ApiError::Failed { .. } => Failure::Error(e.to_string()),
    }
}

/// Creates the app unless it exists; `true` when it was created.
fn ensure_app(api: &MachinesApi, flyctl: &Flyctl, app: &str, org: &str, session: &Session) -> Result<bool, Failure> {
    match api.app(app).map_err(|e| api_failure(&e))? {
        AppLookup::Exists { .. } => {
            session.printer.verbose(&format!("app {app} exists"));
            Ok(false)
        }
        AppLookup::TakenElsewhere => Err(Failure::Invalid(format!(
            "the Fly app name `{app}` belongs to another organisation (app names are global); choose another app prefix"
        ))),
        AppLookup::Missing => {
            session.printer.status("Creating", &format!("app {app} (org {org})"));
            flyctl
                .command(&["apps", "create", app, "--org", org])
                .run(&mut |line| session.printer.verbose(line))
                .map_err(|e| step_failure("creating the app", &e))?;
            Ok(true)
        }
    }
}

fn step_failure(step: &str, error: &dyn std::fmt::Display) -> Failure {
    Failure::Error(format!(
        "{step} failed: {error}\nwhat was done is kept in the project state; fix the problem and run deploy again"
    ))
}

/// The SHA-256 of what `fly secrets import` receives.
fn secrets_digest(app: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(app.as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    score_fly_core::encoding::hex(&hasher.finalize())
}

/// For each app: create it if missing (adding it to `created`), import its secrets when they
/// changed, `fly deploy`. Returns a summary record per app (secret names, never values).
pub(crate) fn deploy_apps(
    opened: &mut Opened,
    deploys: &[AppDeploy],
    settings: &DeploySettings,
    created: &mut BTreeSet<String>,
    session: &Session,
) -> Result<Vec<serde_json::Value>, Failure> {
    let printer = &session.printer;
    let (flyctl, api) = reach_fly(opened.target())?;
    let redactor = Redactor::for_state(&opened.state);
    for d in deploys {
        redactor.add(d.secrets.values().map(Secret::expose));
    }
    let mut records = Vec::new();
    for d in deploys {
        if ensure_app(&api, &flyctl, &d.app, &settings.org, session)? {
            created.insert(d.app.clone());
        }
        let previous = opened.state.deployments.get(&d.app).cloned().unwrap_or_default();

        // Secrets, through stdin, only when they changed.
        let text =
            score_fly_core::fly::secrets::import_text(&d.secrets).map_err(|e| Failure::Invalid(e.to_string()))?;
        let digest = secrets_digest(&d.app, &text);
        let names: Vec<String> = d.secrets.keys().cloned().collect();
        let import = !d.secrets.is_empty() && previous.secrets_digest.as_deref() != Some(digest.as_str());
        if import {
            printer.status("Importing", &format!("{} secret(s) into {} ({})", names.len(), d.app, names.join(", ")));
            flyctl
                .command(&["secrets", "import", "--stage", "-a", &d.app])
                .stdin(text.into_bytes())
                .redact(&redactor)
                .run(&mut |line| printer.verbose(line))
                .map_err(|e| step_failure("importing secrets", &e))?;
        } else if !d.secrets.is_empty() {
            printer.verbose(&format!("secrets of {} are unchanged", d.app));
        }
        let gone: Vec<&str> =
            previous.secret_names.iter().filter(|n| !d.secrets.contains_key(*n)).map(String::as_str).collect();
        if !gone.is_empty() {
            printer.status("Unsetting", &format!("secret(s) {} of {} (no longer used)", gone.join(", "), d.app));
            let mut unset = vec!["secrets", "unset", "--stage", "-a", &d.app];
            unset.extend(gone.iter().copied());
            flyctl
                .command(&unset)
                .redact(&redactor)
                .run(&mut |line| printer.verbose(line))
                .map_err(|e| step_failure("unsetting secrets", &e))?;
        }
        let entry = opened.state.deployments.entry(d.app.clone()).or_default();
        entry.secrets_digest = (!d.secrets.is_empty()).then_some(digest);
        entry.secret_names.clone_from(&names);
        entry.deployed = false;
        opened.project.save(&opened.state)?;

        // fly deploy.
        let args = deploy_command(d, settings);
        let shown_image = d.image.as_deref().map(|i| format!(" (image {i})")).unwrap_or_default();
        printer.status("Deploying", &format!("{}{shown_image}", d.app));
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let dir = d.config.parent().unwrap_or(Path::new("."));
        flyctl
            .command(&arg_refs)
            .current_dir(dir)
            .redact(&redactor)
            .run(&mut |line| printer.detail(line))
            .map_err(|e| step_failure("deploying", &e))?;
        let entry = opened.state.deployments.entry(d.app.clone()).or_default();
        entry.image.clone_from(&d.image);
        entry.deployed = true;
        opened.project.save(&opened.state)?;
        printer.status("Deployed", &format!("{} to https://{}.fly.dev/", d.app, d.app));
        records.push(serde_json::json!({
            "workload": d.workload,
            "app": d.app,
            "url": format!("https://{}.fly.dev/", d.app),
            "config": crate::cargo::relative(&d.config),
            "image": d.image,
            "created": created.contains(&d.app),
            "secrets": names,
            "secrets_imported": import,
            "secrets_unset": gone,
        }));
    }
    Ok(records)
}

/// `fly deploy` arguments for one app.
fn deploy_command(d: &AppDeploy, settings: &DeploySettings) -> Vec<String> {
    let file = d.config.file_name().map_or_else(|| "fly.toml".to_owned(), |f| f.to_string_lossy().into_owned());
    let mut args = vec!["deploy".to_owned(), "--config".to_owned(), file, "--app".to_owned(), d.app.clone()];
    if let Some(image) = &d.image {
        args.push("--image".to_owned());
        args.push(image.clone());
    }
    if settings.ha == Some(false) {
        args.push("--ha=false".to_owned());
    }
    if let Some(strategy) = &settings.strategy {
        args.push("--strategy".to_owned());
        args.push(strategy.clone());
    }
    args.extend(settings.deploy_args.iter().cloned());
    args
}

/// `--dry-run`: what would happen, changing nothing (with `--format json`, also as JSON on
/// stdout).
#[allow(clippy::too_many_arguments)]
fn dry_run(
    opened: &mut Opened,
    plan: &score_fly_core::provision::Plan,
    apps: &[(String, String)],
    to_build: &[&crate::cargo::Service],
    args: &DeployArgs,
    settings: &DeploySettings,
    fly_env: &score_fly_core::builtin::FlyEnv,
    session: &Session,
) -> Result<(), Failure> {
    let printer = &session.printer;
    // What would stop the real run before it changes anything: reported with the plan, and
    // the dry run fails as the real run would (exit code 4).
    let (_, api, mut blockers) = fly_tools(opened.target());
    let mut refused = false;
    printer.status("Plan", "(dry run: nothing is built, created, provisioned, written or set)");
    let mut builds = Vec::new();
    for service in to_build {
        let app = fly_app(opened, service.loaded.workload.name());
        match args.builder {
            Builder::Native => printer.status(
                "Would build",
                &format!(
                    "package `{}` and push its image to {}",
                    service.package,
                    opened.target().image_repository(&app)
                ),
            ),
            Builder::Dockerfile => printer.status(
                "Would write",
                &format!("a Dockerfile for package `{}`, built by Fly's remote builder", service.package),
            ),
        }
        let builder = if args.builder == Builder::Native { "native" } else { "dockerfile" };
        builds.push(serde_json::json!({ "package": service.package, "app": app, "builder": builder }));
    }
    // Per app: whether it exists (`None`: cannot tell).
    let mut exists: BTreeMap<&str, Option<bool>> = BTreeMap::new();
    for (_, app) in apps {
        let known = api.as_ref().map(|a| a.app(app));
        let state = match known {
            Some(Ok(AppLookup::Exists { .. })) => {
                printer.verbose(&format!("app {app} exists"));
                Some(true)
            }
            Some(Ok(AppLookup::TakenElsewhere)) => {
                return Err(Failure::Invalid(format!(
                    "the Fly app name `{app}` belongs to another organisation (app names are global); choose another app prefix"
                )));
            }
            Some(Ok(AppLookup::Missing)) => {
                printer.status("Would create", &format!("app {app} (org {})", settings.org));
                Some(false)
            }
            Some(Err(e @ ApiError::Unauthorized { .. })) => {
                // One token for every app: one blocker, from the first app looked up.
                if !refused {
                    refused = true;
                    blockers.push(e.to_string());
                }
                None
            }
            Some(Err(e)) => {
                printer.warning(&format!("cannot tell whether app {app} exists: {e}"), "");
                None
            }
            None => {
                printer.status(
                    "Would create",
                    &format!("app {app} if it does not exist (org {}; no FLY_API_TOKEN to check)", settings.org),
                );
                None
            }
        };
        exists.insert(app, state);
    }
    let options = ProvisionOptions {
        jobs: args.workloads.jobs,
        reprovision: args.workloads.reprovision,
        dry_run: true,
        read_in_dry_run: false,
    };
    let report = opened.provision(plan, options, fly_env, session)?;
    let mut pending = Vec::new();
    let mut resources = Vec::new();
    for resource in &plan.resources {
        let provisioner = &opened.defs[resource.provisioner].def.id;
        let reused = matches!(report.outcomes.get(&resource.uid), Some(Outcome::Reused));
        if reused {
            printer.verbose(&format!("{} is up to date", resource.uid));
        } else {
            printer.status("Would provision", &format!("{} with {provisioner}", resource.uid));
            pending.push(resource.uid.clone());
        }
        let mut record = serde_json::json!({
            "uid": resource.uid,
            "provisioner": provisioner,
            "action": if reused { "reuse" } else { "provision" },
        });
        if opened.defs[resource.provisioner].def.kind() == Kind::Builtin("environment".to_owned()) {
            // Reading the environment changes nothing: say now what the real run will miss.
            let keys = fly_env.referenced.get(&resource.uid).cloned().unwrap_or_default();
            let missing: Vec<&str> = keys.iter().filter(|k| fly_env.var(k).is_none()).map(String::as_str).collect();
            if !missing.is_empty() {
                printer.warning(
                    &format!(
                        "`{}` reads {} from the environment, not set here: the deploy would fail (set {} where score-fly runs, e.g. as CI secrets)",
                        resource.uid,
                        missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
                        if missing.len() == 1 { "it" } else { "them" }
                    ),
                    "",
                );
            } else if !keys.is_empty() {
                printer.verbose(&format!(
                    "{} would read {} from the environment (all set)",
                    resource.uid,
                    keys.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
                ));
            }
            record["missing_variables"] = serde_json::json!(missing);
        }
        resources.push(record);
    }
    for (workload, app) in apps {
        let target = &opened.targets[workload];
        let output = crate::cargo::relative(&opened.root.join(&target.entry.output));
        printer.status("Would write", &format!("{output} (app {app})"));
    }
    // Secret names per app, and whether they would be imported; unknown (absent) while
    // some resource is still to be provisioned.
    let mut secrets: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
    // Per app, resources whose secret outputs cannot be known before they are provisioned
    // (a cmd or http provisioner never run).
    let mut secrets_unknown: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if pending.is_empty() {
        // Every output is known: the secrets are exact (the images to be built stand in).
        let built: BTreeSet<String> = to_build.iter().map(|s| s.loaded.workload.name().to_owned()).collect();
        let converted = opened.convert_pretending(session, &built)?;
        for c in converted.iter().filter(|c| apps.iter().any(|(w, _)| *w == c.name)) {
            let d = AppDeploy::of(&opened.root, c, args.workloads.image.clone());
            let names: Vec<String> = d.secrets.keys().cloned().collect();
            if d.secrets.is_empty() {
                secrets.insert(d.app, (names, false));
                continue;
            }
            let text =
                score_fly_core::fly::secrets::import_text(&d.secrets).map_err(|e| Failure::Invalid(e.to_string()))?;
            let unchanged = opened.state.deployments.get(&d.app).and_then(|p| p.secrets_digest.as_deref())
                == Some(secrets_digest(&d.app, &text).as_str());
            if unchanged {
                printer.verbose(&format!("secrets of {} are unchanged ({})", d.app, names.join(", ")));
            } else {
                printer.status("Would import", &format!("secret(s) {} into {} (stdin)", names.join(", "), d.app));
            }
            secrets.insert(d.app, (names, !unchanged));
        }
    } else {
        // Secret names from what the provisioners will answer (static definitions, the
        // builtins' output keys, earlier outputs of the resource); values are never needed.
        for (workload, app) in apps {
            let building = to_build.iter().any(|s| s.loaded.workload.name() == workload);
            let (names, unknown) = predicted_secrets(opened, plan, &report, workload, building, fly_env)?;
            let from = unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ");
            let what = match (names.is_empty(), unknown.is_empty()) {
                (true, true) => None,
                (false, true) => Some(format!("secret(s) {}", names.join(", "))),
                (true, false) => Some(format!("any secret read from {from} (names known once provisioned)")),
                (false, false) => Some(format!(
                    "secret(s) {}, and any read from {from} (names known once provisioned)",
                    names.join(", ")
                )),
            };
            if let Some(what) = what {
                printer.status("Would import", &format!("{what} into {app} (stdin)"));
            }
            let import = !names.is_empty();
            secrets.insert(app.clone(), (names, import));
            if !unknown.is_empty() {
                secrets_unknown.insert(app.clone(), unknown);
            }
        }
    }
    let mut app_records = Vec::new();
    for (workload, app) in apps {
        let target = &opened.targets[workload];
        let config = opened.root.join(&target.entry.output);
        let building = to_build.iter().any(|s| s.loaded.workload.name() == workload);
        let image = match (&args.workloads.image, building, args.builder, opened.state.images.get(workload)) {
            (Some(i), ..) => Some(i.clone()),
            (None, true, Builder::Native, _) => Some(opened.target().image_ref(app, "<built>")),
            (None, false, _, Some(ImageEntry::Pushed { reference, .. })) => Some(reference.clone()),
            _ => None,
        };
        let d = AppDeploy { workload: workload.clone(), app: app.clone(), config, image, secrets: BTreeMap::new() };
        let command = deploy_command(&d, settings);
        printer.status("Would run", &format!("fly {}", command.join(" ")));
        let mut record = serde_json::json!({
            "workload": workload,
            "app": app,
            "exists": exists.get(app.as_str()).copied().flatten(),
            "config": crate::cargo::relative(&d.config),
            "image": d.image,
            "command": std::iter::once("fly".to_owned()).chain(command).collect::<Vec<_>>(),
        });
        if let Some((names, import)) = secrets.get(app) {
            record["secrets"] = serde_json::json!(names);
            record["secrets_imported"] = serde_json::json!(import);
        }
        if let Some(unknown) = secrets_unknown.get(app) {
            record["secrets_unknown_from"] = serde_json::json!(unknown);
        }
        app_records.push(record);
    }
    if args.format == Some(Format::Json) {
        let doc = serde_json::json!({
            "dry_run": true,
            "blockers": blockers,
            "apps": app_records,
            "builds": builds,
            "resources": resources,
        });
        printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&doc).expect("json")));
    }
    if blockers.is_empty() {
        Ok(())
    } else {
        printer.status(
            "Blocked",
            &format!("the deploy would stop on {} problem(s) before changing anything", blockers.len()),
        );
        Err(Failure::Unavailable(blockers.join("\n")))
    }
}

/// The secret names of `workload`'s app before every resource is provisioned: the workload
/// converted with the outputs each provisioner will answer with — stored outputs (reused,
/// or provisioned by an earlier run), a static definition's, a builtin's output keys, every
/// key read from `environment` (all secret) — with stand-in values. Returns the names and
/// the resources whose outputs cannot be known yet (cmd/http never run).
fn predicted_secrets(
    opened: &Opened,
    plan: &score_fly_core::provision::Plan,
    report: &score_fly_core::provision::Report,
    workload: &str,
    building: bool,
    fly_env: &score_fly_core::builtin::FlyEnv,
) -> Result<(Vec<String>, Vec<String>), Failure> {
    use score_fly_core::placeholder::ResourceOutputs;
    let target = &opened.targets[workload];
    let mut options = opened.convert_options(target, true, building)?;
    let stand_in = |keys: &mut dyn Iterator<Item = &str>| -> serde_json::Map<String, serde_json::Value> {
        keys.map(|k| (k.to_owned(), serde_json::Value::String("stand-in".to_owned()))).collect()
    };
    let mut unknown = Vec::new();
    for (name, resource) in &target.entry.spec.resources {
        let uid = resource.uid(workload, name);
        let stored = opened.state.resources.get(&uid);
        let reused = matches!(report.outcomes.get(&uid), Some(Outcome::Reused));
        let kind = plan.resources.iter().find(|r| r.uid == uid).map(|r| opened.defs[r.provisioner].def.kind());
        let builtin = match &kind {
            Some(Kind::Builtin(b)) => Some(b.as_str()),
            _ => None,
        };
        let (values, secrets) = if let (Some(entry), true) = (stored, reused) {
            (entry.values.clone(), entry.secrets.clone())
        } else if let Some(Kind::Static(s)) = kind {
            (s.values, s.secrets)
        } else if builtin == Some("environment") {
            let keys = fly_env.referenced.get(&uid).cloned().unwrap_or_default();
            (serde_json::Map::new(), stand_in(&mut keys.iter().map(String::as_str)))
        } else if let Some((plain, secret)) = builtin.and_then(score_fly_core::builtin::output_keys) {
            (stand_in(&mut plain.iter().copied()), stand_in(&mut secret.iter().copied()))
        } else if let Some(entry) = stored {
            (entry.values.clone(), entry.secrets.clone())
        } else {
            unknown.push(uid);
            continue;
        };
        options.resources.insert(name.clone(), ResourceOutputs { uid, values, secrets });
    }
    match score_fly_core::fly::convert(&target.entry.spec, &options, &score_fly_core::fly::LocalFiles) {
        Ok(c) => Ok((c.secrets.keys().cloned().collect(), unknown)),
        // A stand-in value the workload cannot use (the real run will say): names unknown.
        Err(_) => Ok((Vec::new(), target.entry.spec.resources.iter().map(|(n, r)| r.uid(workload, n)).collect())),
    }
}
