//! Progress of the application layer (`score_fly_core::ops`), printed: [`CliReporter`] is the
//! command line's [`Reporter`], one sub-module renders each operation's events in cargo's
//! style (one line at a time across threads).

mod build;
mod deploy;
mod destroy;
pub mod dev;
mod init;
mod project;
mod releases;

use std::sync::Mutex;

use score_fly_core::ops::{Event, Reporter};
use score_fly_core::provision::protocol::Mode;
use score_fly_core::provision::{Events, Outcome};

use crate::printer::Printer;

/// Prints what an operation reports through a [`Printer`].
pub struct CliReporter<'p> {
    printer: &'p Printer,
    /// Held while a line is printed (provisioning reports from several threads).
    lock: Mutex<()>,
    /// The upload progress of the push under way.
    push: Mutex<build::Progress>,
}

impl<'p> CliReporter<'p> {
    /// Events printed through `printer`.
    pub fn new(printer: &'p Printer) -> Self {
        CliReporter { printer, lock: Mutex::new(()), push: Mutex::new(build::Progress::default()) }
    }
}

impl Reporter for CliReporter<'_> {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Build(event) => {
                let mut push = self.push.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                build::render(self.printer, &mut push, &event);
            }
            Event::Project(event) => {
                let _guard = self.lock.lock();
                project::render(self.printer, &event);
            }
            Event::Deploy(event) => {
                let _guard = self.lock.lock();
                deploy::render(self.printer, &event);
            }
            Event::Init(event) => {
                let _guard = self.lock.lock();
                init::render(self.printer, &event);
            }
            Event::Destroy(event) => {
                let _guard = self.lock.lock();
                destroy::render(self.printer, &event);
            }
            Event::Dev(event) => {
                let _guard = self.lock.lock();
                dev::render(self.printer, &event);
            }
            Event::Releases(event) => {
                let _guard = self.lock.lock();
                releases::render(self.printer, &event);
            }
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
