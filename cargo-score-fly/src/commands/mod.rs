//! One module per command, each with one entry function `run`.

pub mod build;
pub mod builtin;
pub mod completions;
pub mod deploy;
pub mod destroy;
pub mod dev;
pub mod generate;
pub mod init;
pub mod logs;
pub mod provisioners;
pub mod resources;

use std::path::Path;
use std::time::Duration;

use score_fly_core::ops;
use score_fly_core::provision::definition;
use score_fly_core::state::{Project, State};

pub use crate::failure::Failure;
use crate::printer::Printer;
use crate::report::CliReporter;

/// What every command gets besides its own arguments.
#[derive(Debug)]
pub struct Session {
    /// Where output goes.
    pub printer: Printer,
    /// How long to wait for the project lock.
    pub lock_timeout: Duration,
}

/// Opens (and locks) the project in the current folder.
pub fn open_project(session: &Session) -> Result<Project, Failure> {
    open_project_at(Path::new(""), session)
}

/// Opens (and locks) the project rooted at `root`.
pub fn open_project_at(root: &Path, session: &Session) -> Result<Project, Failure> {
    Ok(ops::project::lock(root, session.lock_timeout, &session.reporter())?)
}

/// Sets the project's app prefix to `asked` ([`ops::project::set_prefix`]).
pub fn set_prefix(
    state: &mut State,
    asked: &str,
    defs: &[definition::Located],
    session: &Session,
) -> Result<(), Failure> {
    Ok(ops::project::set_prefix(state, asked, defs, &session.reporter())?)
}

impl Session {
    /// The reporter printing through this session's printer.
    pub fn reporter(&self) -> CliReporter<'_> {
        CliReporter::new(&self.printer)
    }
}
