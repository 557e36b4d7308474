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
pub mod releases;
pub mod resources;
pub mod rollback;
pub mod status;

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

/// The project's state and its Fly target (the environment's, with the project's app
/// prefix): what `status`, `releases` and `rollback` work from. No state is an error naming
/// the folder.
pub fn project_state(
    session: &Session,
) -> Result<(score_fly_core::state::Project, State, score_fly_core::target::FlyTarget), Failure> {
    let project = open_project(session)?;
    let Some(state) = project.load()? else {
        return Err(ops::Error::NoState(project.dir()).into());
    };
    let mut settings = crate::settings::Settings::from_flags(crate::settings::Flags::default())?;
    settings.with_project_prefix(&state.app_prefix);
    Ok((project, state, settings.target))
}

impl Session {
    /// The reporter printing through this session's printer.
    pub fn reporter(&self) -> CliReporter<'_> {
        CliReporter::new(&self.printer)
    }
}
