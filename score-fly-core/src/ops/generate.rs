//! `generate`: provision the project's resources and write one `fly.toml` per workload (and
//! the secrets files asked for); or, as a check, find out what is out of date without
//! provisioning or writing anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::Error;
use super::event::Reporter;
use super::project::{Converted, Opened, Writes};
use crate::fsutil::{PendingWrite, shown};
use crate::outputs::Output;
use crate::provision::ProvisionOptions;
use crate::secret::Secret;

/// Where the apps' secrets go, as `fly secrets import` reads them (mode 0600).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsOutput {
    /// One file (one app at most has secrets).
    File(PathBuf),
    /// One `<app>.secrets` file per app in this folder.
    Folder(PathBuf),
    /// Standard output: returned in [`GenerateReport::secrets_text`].
    Stdout,
}

impl SecretsOutput {
    /// `--secrets-file` as given: `-`, a folder (existing, or ending in `/`), or a file.
    pub fn from_arg(path: &Path) -> SecretsOutput {
        if path.as_os_str() == "-" {
            SecretsOutput::Stdout
        } else if path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') {
            SecretsOutput::Folder(path.to_path_buf())
        } else {
            SecretsOutput::File(path.to_path_buf())
        }
    }

    /// The output to check before provisioning: the file, or for a folder a stand-in for
    /// the `<app>.secrets` files it will hold (apps are named later).
    pub fn stand_in(&self) -> Option<Output> {
        let path = match self {
            SecretsOutput::Stdout => return None,
            SecretsOutput::Folder(dir) => dir.join("<app>.secrets"),
            SecretsOutput::File(file) => file.clone(),
        };
        Some(Output::named(path, "--secrets-file", "choose another --secrets-file"))
    }
}

/// What `generate` does besides what the project says.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Provisioner calls at once.
    pub jobs: usize,
    /// Provision every resource again.
    pub reprovision: bool,
    /// Only check: provision nothing, write nothing, report what is out of date.
    pub check: bool,
    /// Where the secrets go, if anywhere.
    pub secrets: Option<SecretsOutput>,
}

/// What `generate` did (or, as a check, found). Serialised as `generate --format json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GenerateReport {
    /// Every workload of the project.
    pub workloads: Vec<GeneratedWorkload>,
    /// A check: whether everything is up to date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub up_to_date: Option<bool>,
    /// A check: what is out of date, one line each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_date: Option<Vec<String>>,
    /// The secrets text for standard output ([`SecretsOutput::Stdout`]).
    #[serde(skip)]
    pub secrets_text: Option<String>,
}

/// One workload of the project after `generate`.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedWorkload {
    /// The workload.
    pub name: String,
    /// Its app.
    pub app: String,
    /// Where it was declared.
    pub source: PathBuf,
    /// Its fly.toml (project-relative).
    pub output: PathBuf,
    /// The names of the secrets its app needs (never in fly.toml).
    pub secrets: Vec<String>,
    /// The conversion's warnings.
    pub warnings: Vec<String>,
}

/// Runs `generate` on an opened project.
pub fn generate(
    opened: &mut Opened,
    options: &GenerateOptions,
    reporter: &dyn Reporter,
) -> Result<GenerateReport, Error> {
    let none = BTreeSet::new();
    let plan = opened.preflight(&none)?;
    let fly_env = opened.fly_env();
    // A check reads `environment` resources as a run does (they create nothing).
    let provision = ProvisionOptions {
        jobs: options.jobs,
        reprovision: options.reprovision,
        dry_run: options.check,
        read_in_dry_run: true,
    };
    let provisioned = opened.provision(&plan, provision, &fly_env, reporter)?;
    let pending = provisioned.pending();
    if !pending.is_empty() {
        let stale =
            pending.iter().map(|uid| format!("resource `{uid}` is not provisioned with its current inputs")).collect();
        return Ok(GenerateReport { up_to_date: Some(false), out_of_date: Some(stale), ..GenerateReport::default() });
    }
    let converted = opened.convert(&none, reporter)?;
    let mut writes = opened.writes(&converted);
    let mut report = GenerateReport { workloads: converted.iter().map(summary).collect(), ..GenerateReport::default() };
    if options.check {
        let stale: Vec<String> = writes
            .files
            .iter()
            .filter(|w| w.current(crate::limits::MAX_GENERATED_BYTES).as_deref() != Some(&w.bytes[..]))
            .map(|w| {
                let shown = shown(&w.path);
                let shown = shown.display();
                if w.path.exists() { format!("{shown} is out of date") } else { format!("{shown} is missing") }
            })
            .collect();
        report.up_to_date = Some(stale.is_empty());
        report.out_of_date = Some(stale);
        return Ok(report);
    }
    if let Some(output) = &options.secrets {
        report.secrets_text = secrets_output(output, &converted, &mut writes)?;
    }
    opened.commit(&writes, reporter)?;
    opened.record()?;
    Ok(report)
}

fn summary(c: &Converted) -> GeneratedWorkload {
    GeneratedWorkload {
        name: c.name.clone(),
        app: c.conversion.config.app.clone(),
        source: c.source.clone(),
        output: c.output.clone(),
        secrets: c.conversion.secrets.keys().cloned().collect(),
        warnings: c.conversion.warnings.iter().map(ToString::to_string).collect(),
    }
}

/// Adds the secrets files to `writes`, or returns the text for stdout.
fn secrets_output(
    output: &SecretsOutput,
    converted: &[Converted],
    writes: &mut Writes,
) -> Result<Option<String>, Error> {
    let with_secrets: Vec<(&str, &BTreeMap<String, Secret>)> = converted
        .iter()
        .filter(|c| !c.conversion.secrets.is_empty())
        .map(|c| (c.conversion.config.app.as_str(), &c.conversion.secrets))
        .collect();
    let text_of = |secrets| crate::fly::secrets::import_text(secrets).map_err(|e| Error::Invalid(e.to_string()));
    let file = match output {
        SecretsOutput::Folder(dir) => {
            for (app, secrets) in &with_secrets {
                let path = dir.join(format!("{app}.secrets"));
                let write = PendingWrite::new(path.clone(), text_of(secrets)?.into_bytes()).with_mode(0o600);
                writes.push(write, Output::named(path, "--secrets-file", "choose another --secrets-file"));
            }
            return Ok(None);
        }
        SecretsOutput::File(file) => Some(file),
        SecretsOutput::Stdout => None,
    };
    if with_secrets.len() > 1 {
        let apps: Vec<&str> = with_secrets.iter().map(|(a, _)| *a).collect();
        return Err(Error::Invalid(format!(
            "{} apps have secrets ({}): pass a folder to --secrets-file (ending in `/`) to get one file per app",
            apps.len(),
            apps.join(", ")
        )));
    }
    let text = match with_secrets.first() {
        Some((_, secrets)) => text_of(secrets)?,
        None => String::new(),
    };
    let Some(file) = file else { return Ok(Some(text)) };
    let write = PendingWrite::new(file.clone(), text.into_bytes()).with_mode(0o600);
    writes.push(write, Output::named(file, "--secrets-file", "choose another --secrets-file"));
    Ok(None)
}
