//! The command line's [`Reporter`]: the operations' progress as cargo-style status lines,
//! warnings pointing into the files, and verbose notes (one line at a time across threads).

use std::sync::Mutex;

use score_fly_core::ops::deploy::DeployEvent;
use score_fly_core::ops::project::ProjectEvent;
use score_fly_core::ops::{Event, Reporter};
use score_fly_core::provision::protocol::Mode;
use score_fly_core::provision::{Events, Outcome};
use score_fly_core::state::shown_prefix;

use crate::cargo::relative;
use crate::printer::Printer;
use crate::render;

/// Progress printed through a [`Printer`].
pub struct CliReporter<'p> {
    printer: &'p Printer,
    lock: Mutex<()>,
}

impl<'p> CliReporter<'p> {
    /// Events printed through `printer`.
    pub fn new(printer: &'p Printer) -> Self {
        CliReporter { printer, lock: Mutex::new(()) }
    }

    fn project(&self, event: &ProjectEvent<'_>) {
        let p = self.printer;
        match event {
            ProjectEvent::Blocking { holder } => {
                p.status("Blocking", &format!("waiting for the project lock held by {holder}"));
            }
            ProjectEvent::PrefixChanged { old, new } => p.status(
                "Changed",
                &format!(
                    "the app prefix from {} to {} (nothing exists on Fly under the old one)",
                    shown_prefix(old),
                    shown_prefix(new)
                ),
            ),
            ProjectEvent::PrefixForgotten { uid } => {
                p.verbose(&format!("{uid} holds names made from the old prefix: it is provisioned again"));
            }
            ProjectEvent::Replaced { workload, previous, file } => p.verbose(&format!(
                "workload `{workload}` was added from {}; {} replaces it",
                previous.display(),
                file.display()
            )),
            ProjectEvent::Registered { path } => {
                p.status("Registered", &format!("the builtin Fly provisioners in {}", relative(path)));
            }
            ProjectEvent::Warning { workload, warning, loaded } => match loaded {
                Some(l) => {
                    p.warning(&warning.to_string(), &render::snippet(&l.sources, l.locate(&warning.path), p.styled()));
                }
                None => p.warning(&format!("{warning} (workload `{workload}`)"), ""),
            },
            ProjectEvent::Wrote { path } => p.verbose(&format!("wrote {}", path.display())),
            _ => {}
        }
    }

    fn deploy(&self, event: &DeployEvent<'_>) {
        let p = self.printer;
        match event {
            DeployEvent::AppExists { app } => p.verbose(&format!("app {app} exists")),
            DeployEvent::AppUnknown { app, error } => {
                p.warning(&format!("cannot tell whether app {app} exists: {error}"), "");
            }
            DeployEvent::CreatingApp { app, org } => p.status("Creating", &format!("app {app} (org {org})")),
            DeployEvent::Flyctl { line, deploy: true } => p.detail(line),
            DeployEvent::Flyctl { line, deploy: false } => p.verbose(line),
            DeployEvent::Generated { path, app } => p.status("Generated", &format!("{} (app {app})", relative(path))),
            DeployEvent::ImportingSecrets { app, names } => {
                p.status("Importing", &format!("{} secret(s) into {app} ({})", names.len(), names.join(", ")));
            }
            DeployEvent::SecretsUnchanged { app } => p.verbose(&format!("secrets of {app} are unchanged")),
            DeployEvent::UnsettingSecrets { app, names } => {
                p.status("Unsetting", &format!("secret(s) {} of {app} (no longer used)", names.join(", ")));
            }
            DeployEvent::Deploying { app, image } => {
                let image = image.map(|i| format!(" (image {i})")).unwrap_or_default();
                p.status("Deploying", &format!("{app}{image}"));
            }
            DeployEvent::Deployed { app, url } => p.status("Deployed", &format!("{app} to {url}")),
            _ => {}
        }
    }
}

impl Reporter for CliReporter<'_> {
    fn event(&self, event: Event<'_>) {
        let _guard = self.lock.lock();
        match &event {
            Event::Project(e) => self.project(e),
            Event::Deploy(e) => self.deploy(e),
            _ => {}
        }
    }
}

impl Events for CliReporter<'_> {
    fn started(&self, uid: &str, provisioner: &str, mode: Mode) {
        let _guard = self.lock.lock();
        let verb = match mode {
            Mode::Provision => "Provisioning",
            Mode::Deprovision => "Deprovisioning",
        };
        self.printer.status(verb, &format!("{uid} with {provisioner}"));
    }

    fn output(&self, uid: &str, line: &str) {
        let _guard = self.lock.lock();
        self.printer.detail(&format!("[{uid}] {line}"));
    }

    fn finished(&self, uid: &str, outcome: &Outcome) {
        let _guard = self.lock.lock();
        match outcome {
            Outcome::Provisioned => self.printer.status("Provisioned", uid),
            Outcome::Reused => self.printer.verbose(&format!("{uid} is up to date (outputs reused)")),
            Outcome::Failed(_) | Outcome::Skipped(_) | Outcome::Pending => {}
        }
    }

    fn laundered(&self, uid: &str, provisioner: &str, key: &str) {
        let _guard = self.lock.lock();
        self.printer.warning(
            &format!(
                "provisioner `{provisioner}` returned `{key}` of resource `{uid}` as a plain output, but it holds a secret: it is used as a secret output (a Fly secret, never a fly.toml value); have the provisioner return it under `secrets`"
            ),
            "",
        );
    }
}
