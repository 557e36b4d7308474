//! Deploying: a [`DeployPlan`] computed first, changing nothing, then applied.
//!
//! [`plan`] finds out everything a deploy would do without doing any of it: which apps exist
//! (the Machines API, read only), which images are built or given, which resources are
//! provisioned, reused or provisioned again (the engine's dry run), each `fly.toml` against
//! the file on disk (with a unified diff), each app's secret **names** (imported, unchanged,
//! unset), the exact `fly deploy` argv, and what would stop the run before it changes
//! anything (its blockers: flyctl missing, no token, a refused token). `deploy --dry-run`
//! renders it; `--format json` prints it (schema: `docs/schema/deploy-v1.json`).
//!
//! [`apply`] consumes the plan, in this order: create the apps that do not exist (an image
//! can only be pushed to an existing app), build and push images, provision, write the
//! `fly.toml` files, then per app import the secrets through stdin when they changed
//! (`fly secrets import --stage`), unset the ones that went away, and `fly deploy`. The
//! state is saved after each step ([`Opened::save`]), so a failed run continues where it
//! stopped. It returns a [`DeployReport`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::build::{BuildOptions, BuiltImage, Package};
use super::error::Error;
pub use super::event::DeployEvent;
use super::event::{Event, Reporter, Silent};
use super::project::{Converted, Opened, ProjectWorkload};
use crate::builtin::FlyEnv;
use crate::flyio::api::{ApiError, AppLookup, MachinesApi};
use crate::flyio::cli::Flyctl;
use crate::fsutil::shown;
use crate::placeholder::ResourceOutputs;
use crate::provision::definition::Kind;
use crate::provision::{self, Outcome, ProvisionOptions, Redactor};
use crate::secret::Secret;
use crate::state::ImageEntry;
use crate::target::FlyTarget;

/// The version of the JSON documents [`DeployPlan`] and [`DeployReport`] print; it changes
/// when a field changes meaning or goes away (new fields may appear within a version).
pub const SCHEMA_VERSION: u32 = 1;

/// How an image is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// On this host, without Docker ([`super::build`]).
    Native,
    /// A Dockerfile, built by Fly's remote builder.
    Dockerfile,
}

/// A package whose image this deploy builds.
#[derive(Debug, Clone)]
pub struct ToBuild {
    /// The workload it declares.
    pub workload: String,
    /// The package, as the build operation needs it.
    pub package: Package,
}

/// What a deploy does besides what the project says.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Provisioner calls at once.
    pub jobs: usize,
    /// Provision every resource again.
    pub reprovision: bool,
    /// `--image`: the image every deployed workload runs (nothing is built).
    pub image: Option<String>,
    /// The packages whose image is built, and how.
    pub builds: Vec<ToBuild>,
    /// How images are built.
    pub builder: Builder,
    /// How native builds run (cargo's flags, the target folder); needed when `builds` is not
    /// empty and `builder` is [`Builder::Native`].
    pub build: Option<BuildOptions>,
    /// `--ha=false` when `Some(false)`.
    pub ha: Option<bool>,
    /// `--strategy`.
    pub strategy: Option<String>,
    /// Extra `fly deploy` arguments.
    pub deploy_args: Vec<String>,
}

/// Everything a deploy would do. Serialised as the `--dry-run --format json` document.
#[derive(Debug, Clone, Serialize)]
pub struct DeployPlan {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"plan"`.
    pub kind: &'static str,
    /// What would stop the deploy before it changes anything (one message each).
    pub blockers: Vec<String>,
    /// This run's apps.
    pub apps: Vec<AppPlan>,
    /// This run's images.
    pub images: Vec<ImagePlan>,
    /// Every resource of the project, dependencies first.
    pub resources: Vec<ResourcePlan>,
    /// Every fly.toml of the project.
    pub files: Vec<FilePlan>,
    /// The engine's plan (not serialised): the apply step provisions it.
    #[serde(skip)]
    provision: provision::Plan,
}

/// Whether an app exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppStatus {
    /// It exists in the organisation.
    Exists,
    /// It does not: the deploy creates it.
    Create,
    /// Cannot tell (no token, or the API failed): the deploy creates it if missing.
    Unknown,
}

/// One app of the deploy.
#[derive(Debug, Clone, Serialize)]
pub struct AppPlan {
    /// The workload.
    pub workload: String,
    /// The Fly app.
    pub app: String,
    /// Its organisation (where a new app is created).
    pub org: String,
    /// Whether it exists.
    pub status: AppStatus,
    /// Its fly.toml, as shown (relative to the current folder when below it).
    pub config: PathBuf,
    /// The image `fly deploy --image` gets (none: Fly builds the Dockerfile, or the config
    /// names it).
    pub image: Option<String>,
    /// Its secrets, by name.
    pub secrets: SecretsPlan,
    /// The exact `fly deploy` command line (run in the folder of its fly.toml).
    pub command: Vec<String>,
}

/// An app's secret names (never values).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SecretsPlan {
    /// Imported: new, or their values changed since the last deploy.
    pub imported: Vec<String>,
    /// Unchanged since the last deploy: not imported again.
    pub unchanged: Vec<String>,
    /// Set by the last deploy and no longer used: unset.
    pub unset: Vec<String>,
    /// Resources whose outputs are only known once provisioned (a cmd or http provisioner
    /// never run): any secret read from them is imported too.
    pub unknown_from: Vec<String>,
}

/// Where a workload's image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageSource {
    /// Built by this deploy from its package.
    Build,
    /// Given with `--image`.
    Given,
    /// Pushed by an earlier `build`, recorded in the project.
    Recorded,
    /// Named by the workload itself (its container's `image`).
    Workload,
}

/// One image of the deploy.
#[derive(Debug, Clone, Serialize)]
pub struct ImagePlan {
    /// The workload.
    pub workload: String,
    /// Its app.
    pub app: String,
    /// Where it comes from.
    pub source: ImageSource,
    /// For a build: the package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// For a build: how.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builder: Option<Builder>,
    /// The reference (`<built>` stands for the tag a build gives; none for a Dockerfile).
    /// A recorded build is deployed by digest (`<registry>/<app>@sha256:...`).
    pub reference: Option<String>,
    /// The image's manifest digest, when known before the deploy (a recorded build).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// What happens to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceAction {
    /// Provisioned for the first time.
    Provision,
    /// Its inputs are unchanged: the recorded outputs are used.
    Reuse,
    /// Provisioned again (its inputs changed, or `--reprovision`).
    Reprovision,
}

/// One resource of the deploy.
#[derive(Debug, Clone, Serialize)]
pub struct ResourcePlan {
    /// The resource.
    pub uid: String,
    /// The provisioner's id.
    pub provisioner: String,
    /// What happens.
    pub action: ResourceAction,
    /// For an `environment` resource: the variables it reads that are not set here (the
    /// deploy would fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_variables: Option<Vec<String>>,
}

/// A fly.toml against the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// No file yet.
    New,
    /// Same text.
    Unchanged,
    /// Different text (see the diff).
    Changed,
    /// Cannot be told before the workload's resources are provisioned.
    Unknown,
}

/// One fly.toml of the deploy.
#[derive(Debug, Clone, Serialize)]
pub struct FilePlan {
    /// The workload.
    pub workload: String,
    /// The file, as shown.
    pub path: PathBuf,
    /// Against the file on disk.
    pub status: FileStatus,
    /// Outputs of resources not yet provisioned stand in for their values (shown as
    /// `<uid.key>`): the file will differ where they are used.
    pub approximate: bool,
    /// A unified diff from the file on disk (`new` and `changed`).
    pub diff: Option<String>,
}

/// What a deploy did. Serialised as the `deploy --format json` document.
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"report"`.
    pub kind: &'static str,
    /// The deployed apps.
    pub apps: Vec<DeployedApp>,
    /// The images built natively.
    pub images: Vec<BuiltImage>,
    /// Every resource of the project.
    pub resources: Vec<ResourceReport>,
}

/// One deployed app.
#[derive(Debug, Clone, Serialize)]
pub struct DeployedApp {
    /// The workload.
    pub workload: String,
    /// The app.
    pub app: String,
    /// Its URL.
    pub url: String,
    /// Its fly.toml, as shown.
    pub config: PathBuf,
    /// The image deployed.
    pub image: Option<String>,
    /// Its manifest digest: from a reference by digest, or the registry's answer for a tag
    /// given with `--image` (absent when the registry could not be asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// Whether this run created it.
    pub created: bool,
    /// Its secrets' names.
    pub secrets: Vec<String>,
    /// Whether they were imported (they changed).
    pub secrets_imported: bool,
    /// Names unset (no longer used).
    pub secrets_unset: Vec<String>,
}

/// One resource after a deploy.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceReport {
    /// The resource.
    pub uid: String,
    /// The provisioner's id.
    pub provisioner: String,
    /// `provisioned` or `reused`.
    pub outcome: &'static str,
}

/// The plan of a deploy of this run's workloads; changes nothing (the Machines API is only
/// read, provisioners that create things are not called).
pub fn plan(opened: &mut Opened, options: &DeployOptions, reporter: &dyn Reporter) -> Result<DeployPlan, Error> {
    if opened.prefix_unchosen {
        return Err(Error::Invalid(format!(
            "deploy creates Fly apps and this project has no app prefix: {}",
            opened.unchosen_prefix_advice()
        )));
    }
    let to_be_built: BTreeSet<String> = options.builds.iter().map(|b| b.workload.clone()).collect();
    let engine_plan = opened.preflight(&to_be_built)?;
    let this_run: Vec<(String, String)> =
        opened.this_run().iter().map(|w| (w.name.clone(), opened.target.app(&w.name))).collect();
    for (_, app) in &this_run {
        crate::fly::check_app_name(app).map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let (_, api, mut blockers) = fly_tools(&opened.target);
    let before = blockers.len();
    let apps_status = app_statuses(api.as_ref(), &this_run, &mut blockers, reporter)?;
    let refused = blockers.len() > before;
    // `fly mpg` refuses an older-style token (fly-2026.md §1.2): say so before anything is
    // created, as a blocker of its own, when a Managed Postgres resource is to be made (not
    // when the API refused the token already: that is the blocker to fix first).
    let mpg: Vec<&str> = engine_plan
        .resources
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "postgres" | "postgres-instance"))
        .filter(|r| r.class != crate::builtin::postgres::LEGACY_CLASS)
        .filter(|r| opened.defs[r.provisioner].def.kind() == Kind::Builtin(r.kind.clone()))
        .filter(|r| !opened.state.resources.contains_key(&r.uid))
        .map(|r| r.uid.as_str())
        .collect();
    if let (Some(first), Some(_), false) = (mpg.first(), &opened.target.token, refused)
        && !opened.target.has_macaroon()
    {
        blockers.push(format!(
            "`{first}` is made with Managed Postgres (`fly mpg`), which needs a macaroon token, and the Fly token is an older-style one (`fo1_...`): create one with `fly tokens create org` (or run `fly auth login` again), or choose unmanaged Postgres with `class: legacy`"
        ));
    }

    // Resources: the engine's dry run says which are reused.
    let fly_env = opened.fly_env();
    let dry = ProvisionOptions {
        jobs: options.jobs,
        reprovision: options.reprovision,
        dry_run: true,
        read_in_dry_run: false,
    };
    let report = opened.provision(&engine_plan, dry, &fly_env, &Silent)?;
    let resources = resource_plans(opened, &engine_plan, &report, &fly_env);

    // Every workload converted with the outputs the provisioners will answer with.
    let mut files = Vec::new();
    let mut predicted: BTreeMap<String, Predicted> = BTreeMap::new();
    for w in opened.workloads.values() {
        let p = predict(opened, w, &engine_plan, &report, &to_be_built, &fly_env, reporter)?;
        files.push(file_plan(opened, w, &p));
        predicted.insert(w.name.clone(), p);
    }

    let mut apps = Vec::new();
    let mut images = Vec::new();
    for ((workload, app), status) in this_run.iter().zip(apps_status) {
        let w = &opened.workloads[workload];
        let p = &predicted[workload];
        let build = options.builds.iter().find(|b| &b.workload == workload);
        let (source, reference) = match (build, &options.image, opened.state.images.get(workload)) {
            (Some(_), ..) if options.builder == Builder::Dockerfile => (ImageSource::Build, None),
            (Some(_), ..) => (ImageSource::Build, Some(opened.target.image_ref(app, "<built>"))),
            (None, Some(given), _) => (ImageSource::Given, Some(given.clone())),
            (None, None, Some(entry @ ImageEntry::Pushed { .. })) => (ImageSource::Recorded, entry.pinned()),
            _ => (ImageSource::Workload, p.image.clone()),
        };
        images.push(ImagePlan {
            workload: workload.clone(),
            app: app.clone(),
            source,
            package: build.map(|b| b.package.name.clone()),
            builder: build.map(|_| options.builder),
            reference: reference.clone(),
            digest: match (source, opened.state.images.get(workload)) {
                (ImageSource::Recorded, Some(ImageEntry::Pushed { digest, .. })) => Some(digest.clone()),
                _ => None,
            },
        });
        let deploy_image = match source {
            ImageSource::Workload => None,
            _ => reference,
        };
        let config = opened.root.join(&w.entry.output);
        let command = std::iter::once("fly".to_owned())
            .chain(deploy_command(&config, app, deploy_image.as_deref().or(p.image.as_deref()), options))
            .collect();
        apps.push(AppPlan {
            workload: workload.clone(),
            app: app.clone(),
            org: opened.target.org.clone(),
            status,
            config: shown(&config),
            image: deploy_image.or_else(|| p.image.clone()),
            secrets: secrets_plan(opened, app, p),
            command,
        });
    }
    Ok(DeployPlan {
        schema_version: SCHEMA_VERSION,
        kind: "plan",
        blockers,
        apps,
        images,
        resources,
        files,
        provision: engine_plan,
    })
}

/// Applies a plan: creates apps, builds images, provisions, writes, imports secrets and
/// deploys. A plan with blockers is refused before anything changes.
pub fn apply(
    opened: &mut Opened,
    plan: DeployPlan,
    options: &DeployOptions,
    reporter: &dyn Reporter,
) -> Result<DeployReport, Error> {
    if !plan.blockers.is_empty() {
        return Err(Error::Unavailable(plan.blockers));
    }
    let (flyctl, api) = reach_fly(&opened.target)?;
    let mut created = BTreeSet::new();
    for app in &plan.apps {
        let made = match app.status {
            AppStatus::Exists => false,
            AppStatus::Create => {
                create_app(&flyctl, &app.app, &app.org, reporter)?;
                true
            }
            AppStatus::Unknown => ensure_app(&api, &flyctl, &app.app, &app.org, reporter)?,
        };
        if made {
            created.insert(app.app.clone());
        }
        // The project now has something on Fly: its state (and app prefix) is kept from here.
        opened.state.deployments.entry(app.app.clone()).or_default();
        opened.save()?;
    }
    opened.write_defaults(reporter)?;

    let mut images = Vec::new();
    for image in plan.images.iter().filter(|i| i.source == ImageSource::Build) {
        let Some(build) = options.builds.iter().find(|b| b.workload == image.workload) else { continue };
        let entry = match (options.builder, &options.build) {
            (Builder::Dockerfile, _) => Some(super::build::dockerfile(&build.package, &opened.root, reporter)?),
            (Builder::Native, Some(how)) => {
                let built = super::build::native(&build.package, how, &opened.target, &image.app, reporter)?;
                let entry = built.entry();
                images.push(built);
                entry
            }
            (Builder::Native, None) => {
                return Err(Error::Invalid(format!("no build options to build package `{}`", build.package.name)));
            }
        };
        if let Some(entry) = entry {
            opened.state.images.insert(image.workload.clone(), entry);
            opened.save()?;
        }
    }

    let run = ProvisionOptions {
        jobs: options.jobs,
        reprovision: options.reprovision,
        dry_run: false,
        read_in_dry_run: false,
    };
    let fly_env = opened.fly_env();
    let provisioned = opened.provision(&plan.provision, run, &fly_env, reporter)?;
    let converted = opened.convert(&BTreeSet::new(), reporter)?;
    opened.commit(&opened.writes(&converted), reporter)?;
    opened.record()?;

    let mut apps = Vec::new();
    for app in &plan.apps {
        let Some(c) = converted.iter().find(|c| c.name == app.workload) else { continue };
        let config = opened.root.join(&c.output);
        let config = std::path::absolute(&config).unwrap_or(config);
        reporter.event(Event::Deploy(DeployEvent::Generated { path: &config, app: &app.app }));
        let image = c.conversion.config.build.as_ref().and_then(|b| b.image.clone()).or_else(|| options.image.clone());
        let deploy = AppDeploy {
            workload: c.name.clone(),
            app: app.app.clone(),
            config,
            image,
            secrets: c.conversion.secrets.clone(),
            fly_toml: c.fly_toml(),
        };
        apps.push(deploy_app(opened, &flyctl, &deploy, options, created.contains(&app.app), reporter)?);
    }
    let resources = plan
        .provision
        .resources
        .iter()
        .map(|r| ResourceReport {
            uid: r.uid.clone(),
            provisioner: opened.defs[r.provisioner].def.id.clone(),
            outcome: match provisioned.outcomes.get(&r.uid) {
                Some(Outcome::Reused) => "reused",
                _ => "provisioned",
            },
        })
        .collect();
    Ok(DeployReport { schema_version: SCHEMA_VERSION, kind: "report", apps, images, resources })
}

/// One app to deploy.
struct AppDeploy {
    workload: String,
    app: String,
    /// Its fly.toml (absolute or project-relative).
    config: PathBuf,
    image: Option<String>,
    secrets: BTreeMap<String, Secret>,
    /// The fly.toml text written (what `fly deploy` reads).
    fly_toml: String,
}

/// The target's flyctl and Machines API, or what is missing: flyctl not found (or `FLY_BIN`
/// not an executable), no token. Both are checked, so one run names every missing piece.
fn fly_tools(target: &FlyTarget) -> (Option<Flyctl>, Option<MachinesApi>, Vec<String>) {
    let mut missing = Vec::new();
    let flyctl = Flyctl::for_target(target).map_err(|e| missing.push(e.to_string())).ok();
    let api = MachinesApi::for_target(target).map_err(|e| missing.push(e.to_string())).ok();
    (flyctl, api, missing)
}

/// flyctl and the Machines API, or [`Error::Unavailable`] naming what is missing.
fn reach_fly(target: &FlyTarget) -> Result<(Flyctl, MachinesApi), Error> {
    match fly_tools(target) {
        (Some(flyctl), Some(api), _) => Ok((flyctl, api)),
        (_, _, missing) => Err(Error::Unavailable(missing)),
    }
}

/// A failed Machines API call: a refused token is a missing credential, anything else a
/// failure.
fn api_error(e: &ApiError) -> Error {
    match e {
        ApiError::NoToken | ApiError::Unauthorized { .. } => Error::Unavailable(vec![e.to_string()]),
        ApiError::Failed { .. } => Error::Failed(e.to_string()),
    }
}

fn taken(app: &str) -> Error {
    Error::Invalid(format!(
        "the Fly app name `{app}` belongs to another organisation (app names are global); choose another app prefix"
    ))
}

/// Whether each app exists, read from the Machines API (`None`: no token). A refused token
/// is one blocker; an app of another organisation is an error.
fn app_statuses(
    api: Option<&MachinesApi>,
    apps: &[(String, String)],
    blockers: &mut Vec<String>,
    reporter: &dyn Reporter,
) -> Result<Vec<AppStatus>, Error> {
    let mut refused = false;
    let mut statuses = Vec::new();
    for (_, app) in apps {
        let status = match api.map(|a| a.app(app)) {
            Some(Ok(AppLookup::Exists { .. })) => AppStatus::Exists,
            Some(Ok(AppLookup::TakenElsewhere)) => return Err(taken(app)),
            Some(Ok(AppLookup::Missing)) => AppStatus::Create,
            Some(Err(e @ ApiError::Unauthorized { .. })) => {
                // One token for every app: one blocker, from the first app looked up.
                if !refused {
                    refused = true;
                    blockers.push(e.to_string());
                }
                AppStatus::Unknown
            }
            Some(Err(e)) => {
                reporter.event(Event::Deploy(DeployEvent::AppUnknown { app, error: &e }));
                AppStatus::Unknown
            }
            None => AppStatus::Unknown,
        };
        statuses.push(status);
    }
    Ok(statuses)
}

fn resource_plans(
    opened: &Opened,
    plan: &provision::Plan,
    report: &provision::Report,
    fly_env: &FlyEnv,
) -> Vec<ResourcePlan> {
    plan.resources
        .iter()
        .map(|resource| {
            let def = &opened.defs[resource.provisioner].def;
            let action = match report.outcomes.get(&resource.uid) {
                Some(Outcome::Reused) => ResourceAction::Reuse,
                _ if opened.state.resources.contains_key(&resource.uid) => ResourceAction::Reprovision,
                _ => ResourceAction::Provision,
            };
            let missing_variables = (def.kind() == Kind::Builtin("environment".to_owned())).then(|| {
                // Reading the environment changes nothing: say now what the real run will miss.
                let keys = fly_env.referenced.get(&resource.uid).cloned().unwrap_or_default();
                keys.into_iter().filter(|k| fly_env.var(k).is_none()).collect()
            });
            ResourcePlan { uid: resource.uid.clone(), provisioner: def.id.clone(), action, missing_variables }
        })
        .collect()
}

/// A workload converted before its resources are provisioned.
struct Predicted {
    /// The conversion (`None`: a stand-in value the workload cannot use; the real run will
    /// say why).
    converted: Option<Converted>,
    /// Outputs of resources to be provisioned stood in for their values.
    approximate: bool,
    /// Resources whose outputs cannot be known yet (cmd/http never run).
    unknown: Vec<String>,
    /// The image the fly.toml names.
    image: Option<String>,
}

/// Converts `w` with the outputs each provisioner will answer with: recorded outputs
/// (reused, or provisioned by an earlier run), a static definition's, a builtin's output
/// keys and every key read from `environment` (all secret), the last two with stand-in
/// values. Conversion warnings are reported once, here.
fn predict(
    opened: &Opened,
    w: &ProjectWorkload,
    plan: &provision::Plan,
    report: &provision::Report,
    to_be_built: &BTreeSet<String>,
    fly_env: &FlyEnv,
    reporter: &dyn Reporter,
) -> Result<Predicted, Error> {
    let mut options = opened.convert_options(w, true, to_be_built)?;
    let mut unknown = Vec::new();
    let mut approximate = false;
    for (name, resource) in &w.entry.spec.resources {
        let uid = resource.uid(&w.name, name);
        let stand_in = |keys: &mut dyn Iterator<Item = &str>| -> serde_json::Map<String, serde_json::Value> {
            keys.map(|k| (k.to_owned(), serde_json::Value::String(format!("<{uid}.{k}>")))).collect()
        };
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
        } else if let Some((plain, secret)) = builtin.and_then(crate::builtin::output_keys) {
            approximate = true;
            (stand_in(&mut plain.iter().copied()), stand_in(&mut secret.iter().copied()))
        } else if let Some(entry) = stored {
            approximate = true;
            (entry.values.clone(), entry.secrets.clone())
        } else {
            approximate = true;
            unknown.push(uid);
            continue;
        };
        options.resources.insert(name.clone(), ResourceOutputs { uid, values, secrets });
    }
    // Every output is known: convert as the real run does (unknown ones stay preflight).
    options.preflight = !unknown.is_empty();
    // A stand-in value the workload cannot use: the real run will say why.
    let mut converted = super::project::convert_one(w, options, reporter).ok();
    if let Some(c) = &mut converted {
        opened.patch(w, c)?;
    }
    let image = converted.as_ref().and_then(|c| c.conversion.config.build.as_ref()).and_then(|b| b.image.clone());
    Ok(Predicted { converted, approximate, unknown, image })
}

/// The fly.toml of `w` against the file on disk.
fn file_plan(opened: &Opened, w: &ProjectWorkload, p: &Predicted) -> FilePlan {
    let path = opened.root.join(&w.entry.output);
    let shown_path = shown(&path);
    let Some(c) = p.converted.as_ref().filter(|_| p.unknown.is_empty()) else {
        return FilePlan {
            workload: w.name.clone(),
            path: shown_path,
            status: FileStatus::Unknown,
            approximate: true,
            diff: None,
        };
    };
    let new = c.fly_toml();
    let old = crate::fsutil::PendingWrite::new(path.clone(), Vec::new())
        .current(crate::limits::MAX_GENERATED_BYTES)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    let (status, diff) = match old {
        None => (FileStatus::New, Some(unified_diff("", &new, &shown_path))),
        Some(old) if old == new => (FileStatus::Unchanged, None),
        Some(old) => (FileStatus::Changed, Some(unified_diff(&old, &new, &shown_path))),
    };
    FilePlan { workload: w.name.clone(), path: shown_path, status, approximate: p.approximate, diff }
}

/// A unified diff (3 lines of context) from `old` to `new`, both named `path`.
pub fn unified_diff(old: &str, new: &str, path: &Path) -> String {
    let shown = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string()
}

/// An app's secret names: imported when their text's digest differs from the last deploy's.
fn secrets_plan(opened: &Opened, app: &str, p: &Predicted) -> SecretsPlan {
    let secrets = p.converted.as_ref().map(|c| &c.conversion.secrets);
    let names: Vec<String> = secrets.map(|s| s.keys().cloned().collect()).unwrap_or_default();
    let previous = opened.state.deployments.get(app);
    let unchanged = !p.approximate
        && secrets.is_some_and(|s| {
            let text = crate::fly::secrets::import_text(s).unwrap_or_default();
            previous.and_then(|d| d.secrets_digest.as_deref()) == Some(secrets_digest(app, &text).as_str())
        });
    let unset = if p.unknown.is_empty() && p.converted.is_some() {
        previous.map(|d| d.secret_names.iter().filter(|n| !names.contains(n)).cloned().collect()).unwrap_or_default()
    } else {
        Vec::new()
    };
    let unknown_from = if p.converted.is_some() {
        p.unknown.clone()
    } else {
        let w = &opened.workloads.values().find(|w| opened.target.app(&w.name) == app);
        w.map(|w| w.entry.spec.resources.iter().map(|(n, r)| r.uid(&w.name, n)).collect()).unwrap_or_default()
    };
    if unchanged {
        SecretsPlan { imported: Vec::new(), unchanged: names, unset, unknown_from }
    } else {
        SecretsPlan { imported: names, unchanged: Vec::new(), unset, unknown_from }
    }
}

/// The SHA-256 of what `fly secrets import` receives.
fn secrets_digest(app: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(app.as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    crate::encoding::hex(&hasher.finalize())
}

/// `fly deploy` arguments for one app (run in the folder of `config`).
fn deploy_command(config: &Path, app: &str, image: Option<&str>, options: &DeployOptions) -> Vec<String> {
    let file = config.file_name().map_or_else(|| "fly.toml".to_owned(), |f| f.to_string_lossy().into_owned());
    let mut args = vec!["deploy".to_owned(), "--config".to_owned(), file, "--app".to_owned(), app.to_owned()];
    if let Some(image) = image {
        args.push("--image".to_owned());
        args.push(image.to_owned());
    }
    if options.ha == Some(false) {
        args.push("--ha=false".to_owned());
    }
    if let Some(strategy) = &options.strategy {
        args.push("--strategy".to_owned());
        args.push(strategy.clone());
    }
    args.extend(options.deploy_args.iter().cloned());
    args
}

fn step_failure(step: &str, error: &dyn std::fmt::Display) -> Error {
    Error::Failed(format!(
        "{step} failed: {error}\nwhat was done is kept in the project state; fix the problem and run deploy again"
    ))
}

fn create_app(flyctl: &Flyctl, app: &str, org: &str, reporter: &dyn Reporter) -> Result<(), Error> {
    reporter.event(Event::Deploy(DeployEvent::CreatingApp { app, org }));
    flyctl
        .command(&["apps", "create", app, "--org", org])
        .run(&mut |line| reporter.event(Event::Deploy(DeployEvent::Flyctl { line, deploy: false })))
        .map_err(|e| step_failure("creating the app", &e))?;
    Ok(())
}

/// Creates the app unless it exists; `true` when it was created.
fn ensure_app(
    api: &MachinesApi,
    flyctl: &Flyctl,
    app: &str,
    org: &str,
    reporter: &dyn Reporter,
) -> Result<bool, Error> {
    match api.app(app).map_err(|e| api_error(&e))? {
        AppLookup::Exists { .. } => {
            reporter.event(Event::Deploy(DeployEvent::AppExists { app }));
            Ok(false)
        }
        AppLookup::TakenElsewhere => Err(taken(app)),
        AppLookup::Missing => {
            create_app(flyctl, app, org, reporter)?;
            Ok(true)
        }
    }
}

/// Imports an app's secrets when they changed, unsets the ones that went away, runs
/// `fly deploy`; the state records each step.
fn deploy_app(
    opened: &mut Opened,
    flyctl: &Flyctl,
    d: &AppDeploy,
    options: &DeployOptions,
    created: bool,
    reporter: &dyn Reporter,
) -> Result<DeployedApp, Error> {
    let redactor = Redactor::for_state(&opened.state);
    redactor.add(d.secrets.values().map(Secret::expose));
    let flyctl_line = |line: &str| reporter.event(Event::Deploy(DeployEvent::Flyctl { line, deploy: false }));
    let previous = opened.state.deployments.get(&d.app).cloned().unwrap_or_default();

    // Secrets, through stdin, only when they changed.
    let text = crate::fly::secrets::import_text(&d.secrets).map_err(|e| Error::Invalid(e.to_string()))?;
    let digest = secrets_digest(&d.app, &text);
    let names: Vec<String> = d.secrets.keys().cloned().collect();
    let import = !d.secrets.is_empty() && previous.secrets_digest.as_deref() != Some(digest.as_str());
    if import {
        reporter.event(Event::Deploy(DeployEvent::ImportingSecrets { app: &d.app, names: &names }));
        flyctl
            .command(&["secrets", "import", "--stage", "-a", &d.app])
            .stdin(text.clone().into_bytes())
            .redact(&redactor)
            .run(&mut |line| flyctl_line(line))
            .map_err(|e| step_failure("importing secrets", &e))?;
    } else if !d.secrets.is_empty() {
        reporter.event(Event::Deploy(DeployEvent::SecretsUnchanged { app: &d.app }));
    }
    let gone: Vec<String> = previous.secret_names.iter().filter(|n| !d.secrets.contains_key(*n)).cloned().collect();
    if !gone.is_empty() {
        reporter.event(Event::Deploy(DeployEvent::UnsettingSecrets { app: &d.app, names: &gone }));
        let mut unset = vec!["secrets", "unset", "--stage", "-a", &d.app];
        unset.extend(gone.iter().map(String::as_str));
        flyctl
            .command(&unset)
            .redact(&redactor)
            .run(&mut |line| flyctl_line(line))
            .map_err(|e| step_failure("unsetting secrets", &e))?;
    }
    let entry = opened.state.deployments.entry(d.app.clone()).or_default();
    entry.secrets_digest = (!d.secrets.is_empty()).then_some(digest);
    entry.secret_names.clone_from(&names);
    entry.deployed = false;
    opened.save()?;

    // The image's digest: in a reference by digest, else asked of the registry for an
    // `--image` given by tag (deployed as given all the same).
    let image_digest = match d.image.as_deref() {
        Some(image) if image.contains("@sha256:") => image.split_once('@').map(|(_, digest)| digest.to_owned()),
        Some(image) if options.image.as_deref() == Some(image) => match tag_digest(&opened.target, image) {
            Ok(digest) => Some(digest),
            Err(error) => {
                reporter.event(Event::Deploy(DeployEvent::ImageDigestUnknown { app: &d.app, image, error: &error }));
                None
            }
        },
        _ => None,
    };

    // fly deploy.
    let args = deploy_command(&d.config, &d.app, d.image.as_deref(), options);
    reporter.event(Event::Deploy(DeployEvent::Deploying { app: &d.app, image: d.image.as_deref() }));
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let dir = d.config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    flyctl
        .command(&arg_refs)
        .current_dir(dir)
        .redact(&redactor)
        .run(&mut |line| reporter.event(Event::Deploy(DeployEvent::Flyctl { line, deploy: true })))
        .map_err(|e| step_failure("deploying", &e))?;
    let entry = opened.state.deployments.entry(d.app.clone()).or_default();
    entry.image.clone_from(&d.image);
    entry.image_digest.clone_from(&image_digest);
    entry.deployed = true;
    opened.save()?;
    record_release(opened, flyctl, d, image_digest.as_deref(), &text, &redactor, reporter);
    let url = format!("https://{}.fly.dev/", d.app);
    reporter.event(Event::Deploy(DeployEvent::Deployed { app: &d.app, url: &url }));
    Ok(DeployedApp {
        workload: d.workload.clone(),
        app: d.app.clone(),
        url,
        config: shown(&d.config),
        image: d.image.clone(),
        image_digest,
        created,
        secrets: names,
        secrets_imported: import,
        secrets_unset: gone,
    })
}

/// Records the release `fly deploy` just made ([`super::releases::record`]). The deploy
/// stands whatever happens here: a failure is reported, not returned.
fn record_release(
    opened: &mut Opened,
    flyctl: &Flyctl,
    d: &AppDeploy,
    image_digest: Option<&str>,
    secrets_text: &str,
    redactor: &Redactor,
    reporter: &dyn Reporter,
) {
    use super::releases::{Deployed, ReleasesEvent};
    let score_sha256 =
        opened.workloads.get(&d.workload).and_then(|w| super::releases::score_sha256(&opened.root, &w.entry));
    let deployed = Deployed {
        workload: &d.workload,
        app: &d.app,
        image: d.image.as_deref(),
        image_digest,
        fly_toml: &d.fly_toml,
        secrets_text: (!d.secrets.is_empty()).then_some(secrets_text),
        secrets_digest: None,
        score_sha256,
        rollback_of: None,
    };
    match super::releases::record(&opened.project, &mut opened.state, flyctl, &deployed, redactor) {
        Ok(version) => {
            // The state's workload entries are rewritten from these ones by `Opened::record`.
            if let (Some(w), Some(stored)) =
                (opened.workloads.get_mut(&d.workload), opened.state.workloads.get(&d.workload))
            {
                w.entry.releases.clone_from(&stored.releases);
            }
            reporter.event(Event::Releases(ReleasesEvent::Recorded { workload: &d.workload, version }));
        }
        Err(error) => {
            reporter.event(Event::Releases(ReleasesEvent::NotRecorded { workload: &d.workload, error: &error }));
        }
    }
}

/// The manifest digest a registry answers for `image` (one attempt: the answer is optional),
/// with the Fly token for Fly's registry (`FLY_REGISTRY_HOST`), anonymously elsewhere.
fn tag_digest(target: &crate::target::FlyTarget, image: &str) -> Result<String, TagDigestError> {
    let reference = crate::image::Reference::parse(image)?;
    let credentials = (reference.host == target.registry_host).then(|| super::build::fly_credentials(target)).flatten();
    Ok(crate::image::Registry::new(&reference, credentials)
        .with_attempts(1)
        .manifest_digest(&reference.repository, reference.target())?)
}

/// Why [`tag_digest`] has no answer (a warning, never a failure).
#[derive(Debug, thiserror::Error)]
enum TagDigestError {
    /// The image is no reference a registry serves.
    #[error(transparent)]
    Reference(#[from] crate::image::reference::ReferenceError),
    /// The registry did not answer with a digest.
    #[error(transparent)]
    Registry(#[from] crate::image::RegistryError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> DeployOptions {
        DeployOptions {
            jobs: 1,
            reprovision: false,
            image: None,
            builds: Vec::new(),
            builder: Builder::Native,
            build: None,
            ha: None,
            strategy: None,
            deploy_args: Vec::new(),
        }
    }

    #[test]
    fn the_deploy_command_names_the_config_by_file_name_and_adds_every_option_in_order() {
        let config = Path::new("/work/api/fly_api.toml");
        assert_eq!(
            deploy_command(config, "demo-api", None, &options()),
            ["deploy", "--config", "fly_api.toml", "--app", "demo-api"]
        );
        let all = DeployOptions {
            ha: Some(false),
            strategy: Some("bluegreen".to_owned()),
            deploy_args: vec!["--detach".to_owned()],
            ..options()
        };
        assert_eq!(
            deploy_command(config, "demo-api", Some("registry.fly.io/demo-api:v1"), &all),
            [
                "deploy",
                "--config",
                "fly_api.toml",
                "--app",
                "demo-api",
                "--image",
                "registry.fly.io/demo-api:v1",
                "--ha=false",
                "--strategy",
                "bluegreen",
                "--detach"
            ]
        );
        // `--ha` (Some(true)) is Fly's default: nothing to pass.
        assert_eq!(deploy_command(config, "a", None, &DeployOptions { ha: Some(true), ..options() }).len(), 5);
    }

    #[test]
    fn a_unified_diff_has_headers_hunks_and_context() {
        let old = "app = \"a\"\n\n[env]\nPORT = \"8080\"\nRUST_LOG = \"info\"\n";
        let new = "app = \"a\"\n\n[env]\nPORT = \"8080\"\nRUST_LOG = \"debug\"\n";
        let diff = unified_diff(old, new, Path::new("fly_a.toml"));
        assert_eq!(
            diff,
            "--- a/fly_a.toml\n+++ b/fly_a.toml\n@@ -2,4 +2,4 @@\n \n [env]\n PORT = \"8080\"\n-RUST_LOG = \"info\"\n+RUST_LOG = \"debug\"\n"
        );
        let created = unified_diff("", "app = \"a\"\n", Path::new("fly_a.toml"));
        assert!(created.ends_with("@@ -0,0 +1 @@\n+app = \"a\"\n"), "{created}");
        assert_eq!(unified_diff(old, old, Path::new("x")), "", "no change, no hunk");
    }

    #[test]
    fn the_secrets_digest_depends_on_the_app_and_the_text() {
        let a = secrets_digest("demo-a", "K=v\n");
        assert_eq!(a.len(), 64);
        assert_ne!(a, secrets_digest("demo-b", "K=v\n"));
        assert_ne!(a, secrets_digest("demo-a", "K=w\n"));
        assert_eq!(a, secrets_digest("demo-a", "K=v\n"));
    }

    #[test]
    fn plans_serialise_in_the_documented_vocabulary() {
        let text = |v: &dyn erased::Ser| v.json();
        assert_eq!(text(&AppStatus::Create), "\"create\"");
        assert_eq!(text(&ResourceAction::Reprovision), "\"reprovision\"");
        assert_eq!(text(&FileStatus::Unchanged), "\"unchanged\"");
        assert_eq!(text(&ImageSource::Recorded), "\"recorded\"");
        assert_eq!(text(&Builder::Dockerfile), "\"dockerfile\"");
        let file = FilePlan {
            workload: "api".to_owned(),
            path: PathBuf::from("fly_api.toml"),
            status: FileStatus::New,
            approximate: true,
            diff: None,
        };
        assert_eq!(
            serde_json::to_value(&file).unwrap(),
            serde_json::json!({"workload": "api", "path": "fly_api.toml", "status": "new", "approximate": true, "diff": null})
        );
    }

    /// `serde_json::to_string` over values of different types.
    mod erased {
        pub(super) trait Ser {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Ser for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }
}
