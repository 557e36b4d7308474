//! One module per command, each with one entry function `run`.

pub mod build;
pub mod builtin;
pub mod completions;
pub mod deploy;
pub mod generate;
pub mod init;
pub mod provisioners;
pub mod resources;

use std::path::Path;
use std::time::Duration;

use score_fly_core::builtin::PrefixUse;
use score_fly_core::provision::definition;
use score_fly_core::provision::definition::Kind;
use score_fly_core::state::{LockWait, Project, ResourceEntry, State, shown_prefix};

pub use crate::failure::Failure;
use crate::printer::Printer;

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
    let printer = &session.printer;
    let project = Project::open(root, LockWait { timeout: session.lock_timeout }, &mut |holder| {
        printer.status("Blocking", &format!("waiting for the project lock held by {holder}"));
    })?;
    Ok(project)
}

/// The project's state, or an error telling how to create it.
pub fn require_state(project: &Project) -> Result<State, Failure> {
    project.load()?.ok_or_else(|| {
        Failure::Invalid(format!(
            "no project state in {}: run `cargo score-fly init` or `cargo score-fly generate` first",
            project.dir().display()
        ))
    })
}

/// How the provisioner that provisioned `entry` uses the app prefix, by the project's
/// provisioner definitions `defs`: a builtin by its name (also run score-flyio style, as
/// `cargo-score-fly builtin-provisioners NAME ...`); one no longer defined by its id when that
/// names a builtin (`builtin-postgres`); any other provisioner is not given the prefix.
pub fn prefix_use(defs: &[definition::Located], entry: &ResourceEntry) -> PrefixUse {
    let builtin_use = |name: &str| {
        if score_fly_core::builtin::NAMES.contains(&name) {
            score_fly_core::builtin::prefix_use(name)
        } else {
            PrefixUse::Unrelated
        }
    };
    match defs.iter().find(|d| d.def.id == entry.provisioner).map(|d| d.def.kind()) {
        Some(Kind::Builtin(name)) => score_fly_core::builtin::prefix_use(&name),
        Some(Kind::Cmd(cmd)) => cmd
            .args
            .iter()
            .position(|a| a == "builtin-provisioners")
            .and_then(|i| cmd.args.get(i + 1))
            .map_or(PrefixUse::Unrelated, |name| builtin_use(name)),
        Some(_) => PrefixUse::Unrelated,
        None => entry.provisioner.strip_prefix("builtin-").map_or(PrefixUse::Unrelated, builtin_use),
    }
}

/// The app prefix a run asks for: the flag, else the one prefix the chosen packages' settings
/// agree on (one project has one prefix), else none.
pub fn asked_prefix<'s>(
    flag: Option<&String>,
    settings: impl IntoIterator<Item = &'s crate::cargo::Settings>,
) -> Result<Option<String>, Failure> {
    if let Some(flag) = flag {
        return Ok(Some(flag.clone()));
    }
    let prefixes: std::collections::BTreeSet<&String> =
        settings.into_iter().filter_map(|s| s.app_prefix.as_ref()).collect();
    match prefixes.len() {
        0 | 1 => Ok(prefixes.into_iter().next().cloned()),
        _ => Err(Failure::Invalid(format!(
            "the chosen packages set different app prefixes ({}); one project has one prefix: set it in [workspace.metadata.score-fly]",
            prefixes.into_iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Sets the project's app prefix to `asked` (a flag or setting): allowed while nothing exists
/// on Fly under the current one, otherwise an error naming what exists and how to migrate
/// ([`State::change_prefix`]).
pub fn set_prefix(
    state: &mut State,
    asked: &str,
    defs: &[definition::Located],
    printer: &Printer,
) -> Result<(), Failure> {
    let old = state.app_prefix.clone();
    if old == asked {
        return Ok(());
    }
    let forgotten =
        state.change_prefix(asked, |entry| prefix_use(defs, entry)).map_err(|e| Failure::Invalid(e.to_string()))?;
    printer.status(
        "Changed",
        &format!(
            "the app prefix from {} to {} (nothing exists on Fly under the old one)",
            shown_prefix(&old),
            shown_prefix(asked)
        ),
    );
    for uid in forgotten {
        printer.verbose(&format!("{uid} holds names made from the old prefix: it is provisioned again"));
    }
    Ok(())
}

/// Progress of provisioning (and of the operations), printed cargo-style: the command line's
/// reporter, under the name the commands use for provisioning.
pub type CliEvents<'p> = crate::report::CliReporter<'p>;
