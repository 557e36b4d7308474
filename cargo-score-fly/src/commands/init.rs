//! `init`: creates `.score-fly/` (state, `.gitignore`, the builtin provisioners) and a Score
//! file: inside a cargo package, the package's own workload (or, with `--macro`, the same as
//! a `#[score_workload]` attribute to paste), with an app prefix proposed from its name;
//! elsewhere a sample.
//!
//! Arguments → the cargo package (discovery stays here) → [`ops::init`] → the report
//! rendered.

use std::path::{Path, PathBuf};

use score_fly_core::ops::{self, init::InitOptions, init::InitReport, init::WorkloadOutcome};

use super::{Failure, Session};
use crate::cargo::{self, InitPackage};
use crate::cli::InitArgs;
use crate::printer::Printer;

/// Runs `init`.
pub fn run(args: &InitArgs, session: &Session) -> Result<(), Failure> {
    if let Some(prefix) = &args.app_prefix {
        // Before cargo is asked anything: a bad flag is the first thing to hear about.
        ops::init::check_app_prefix(prefix).map_err(|e| Failure::Invalid(e.to_string()))?;
    }
    let package = cargo::init_package(Path::new("."))?;
    let options = InitOptions {
        root: package.as_ref().map(|p| p.root.clone()).unwrap_or_default(),
        lock_timeout: session.lock_timeout,
        package: package.as_ref().map(|p| ops::init::InitPackage {
            name: p.name.clone(),
            score_file: PathBuf::from(cargo::relative(&p.score_file)),
            has_attribute: p.has_attribute,
        }),
        app_prefix: args.app_prefix.clone(),
        prefix_setting: package.as_ref().and_then(|p| p.settings.app_prefix.clone()),
        file: args.file.clone(),
        print_macro: args.print_macro,
        no_sample: args.no_sample,
    };
    let report = ops::init::init(&options, &session.reporter())?;
    render(&session.printer, &report, package.as_ref());
    Ok(())
}

/// Prints what `init` did after the project was set up: the proposed prefix, then the workload.
fn render(printer: &Printer, report: &InitReport, package: Option<&InitPackage>) {
    if let (Some(prefix), Some(package)) = (&report.proposed, package) {
        printer.status(
            "Proposed",
            &format!(
                "app prefix `{prefix}`: the package name and a random suffix, since Fly app names are global (apps are `<prefix><workload>`). It is recorded in the project state, which git ignores: to use it in every checkout and in CI, add to {}:",
                cargo::relative(&package.dir.join("Cargo.toml"))
            ),
        );
        printer.detail("[package.metadata.score-fly]");
        printer.detail(&format!("app-prefix = \"{prefix}\""));
    }
    let main = package.map(|p| cargo::relative(&p.main_source)).unwrap_or_default();
    let name = package.map(|p| p.name.as_str()).unwrap_or_default();
    match &report.workload {
        WorkloadOutcome::Attribute(text) => {
            printer.stdout(text);
            printer.status(
                "Printed",
                &format!(
                    "#[score_workload] for package `{name}`: paste it above `fn main` in {main} (with score-fly-macros as a dependency; see the README's #[score_workload] section)"
                ),
            );
            if package.is_some_and(|p| p.has_attribute) {
                printer.warning(&format!("{main} already mentions score_workload: keep one declaration"), "");
            }
        }
        WorkloadOutcome::DeclaredByAttribute => printer.status(
            "Found",
            &format!("#[score_workload] in {main}: the package declares its workload there, no Score file written"),
        ),
        WorkloadOutcome::Written { path, sample: true } => {
            printer.status("Created", &format!("sample Score file {}", path.display()));
        }
        WorkloadOutcome::Written { path, sample: false } => {
            printer.status("Created", &format!("Score file {} for package `{name}`", path.display()));
        }
        WorkloadOutcome::Exists(path) => {
            printer.verbose(&format!("{} exists, not writing a Score file", path.display()));
        }
        WorkloadOutcome::Skipped => {}
    }
}
