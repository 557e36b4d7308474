//! Why an operation failed: the [`Error`] every operation returns, and each operation's own
//! errors it carries. They sit below the operations and name nothing of theirs.

use std::path::PathBuf;

use crate::fly::ConvertError;
use crate::flyio::cli::FlyctlError;
use crate::fsutil::FsError;
use crate::limits;
use crate::provision::{self, DeprovisionError, definition};
use crate::spec::{LoadError, Loaded};
use crate::target::MAX_PREFIX;

pub use super::kind::ErrorKind;

/// Why an operation failed. Messages are lowercase fragments that name the file, field or
/// resource and say what to do; none carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid Score files: every problem of every file.
    #[error("{} invalid Score file(s)", .0.len())]
    InvalidScore(Vec<LoadError>),
    /// Workloads Fly cannot run as written, with the loaded files to point into.
    #[error("{} workload(s) cannot be converted", .0.len())]
    Unconvertible(Vec<(ConvertError, Option<Loaded>)>),
    /// What a check found out of date (one line each).
    #[error("{}", .0.join("\n"))]
    OutOfDate(Vec<String>),
    /// Other invalid input (one message per line).
    #[error("{0}")]
    Invalid(String),
    /// Something failed that is not the input's fault (one message per line).
    #[error("{0}")]
    Failed(String),
    /// A tool or credential is missing or refused: one line each.
    #[error("{}", .0.join("\n"))]
    Unavailable(Vec<String>),
    /// The project state cannot be read or saved.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// A provisioner file is invalid or unreadable.
    #[error(transparent)]
    Definition(#[from] crate::provision::definition::DefinitionError),
    /// The app prefix cannot change: something exists under the old one.
    #[error(transparent)]
    PrefixInUse(#[from] crate::state::PrefixInUse),
    /// An output would replace an input or a project file.
    #[error(transparent)]
    Output(Box<crate::outputs::OutputError>),
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] crate::fsutil::FsError),
    /// Building an image failed.
    #[error(transparent)]
    Build(#[from] super::build::BuildError),
    /// The project has no state yet (its `.score-fly` folder named).
    #[error("no project state in {}: run `cargo score-fly init` or `cargo score-fly generate` first", .0.display())]
    NoState(std::path::PathBuf),
    /// `init` was asked for something it cannot do.
    #[error(transparent)]
    Init(#[from] InitError),
    /// A provisioner cannot be added or removed.
    #[error(transparent)]
    Provisioners(#[from] ProvisionersError),
    /// A resource cannot be shown or deprovisioned.
    #[error(transparent)]
    Resources(#[from] ResourcesError),
    /// A destroy cannot be planned or failed midway.
    #[error(transparent)]
    Destroy(#[from] DestroyError),
    /// Logs cannot be read.
    #[error(transparent)]
    Logs(#[from] LogsError),
    /// Releases cannot be listed, or a rollback cannot be done.
    #[error(transparent)]
    Releases(#[from] ReleasesError),
    /// The status cannot be read.
    #[error(transparent)]
    Status(#[from] StatusError),
    /// A fly.toml patch is refused or breaks the file.
    #[error(transparent)]
    Patch(#[from] crate::fly::patch::PatchError),
}

impl Error {
    /// How a front end should treat it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidScore(_)
            | Error::Unconvertible(_)
            | Error::Invalid(_)
            | Error::PrefixInUse(_)
            | Error::Output(_)
            | Error::NoState(_)
            | Error::Patch(_)
            | Error::Init(_) => ErrorKind::Invalid,
            Error::OutOfDate(_) => ErrorKind::OutOfDate,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Failed(_) | Error::Write(_) => ErrorKind::Failed,
            Error::State(e) => match e {
                crate::state::StateError::Corrupt { .. } | crate::state::StateError::UnknownVersion { .. } => {
                    ErrorKind::Invalid
                }
                _ => ErrorKind::Failed,
            },
            Error::Definition(e) => match e {
                crate::provision::definition::DefinitionError::Fs(_) => ErrorKind::Failed,
                _ => ErrorKind::Invalid,
            },
            Error::Build(e) => e.kind(),
            Error::Provisioners(e) => e.kind(),
            Error::Resources(e) => e.kind(),
            Error::Destroy(e) => e.kind(),
            Error::Logs(e) => e.kind(),
            Error::Releases(e) => e.kind(),
            Error::Status(e) => e.kind(),
        }
    }
}

impl From<crate::outputs::OutputError> for Error {
    fn from(e: crate::outputs::OutputError) -> Self {
        Error::Output(Box::new(e))
    }
}

/// Why an app prefix cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// A character Fly app names cannot hold, or too long.
    #[error(
        "app prefix `{0}` may only hold lowercase letters, digits and `-`, at most {MAX_PREFIX} characters (Fly app names)"
    )]
    Characters(String),
    /// It starts with `-`.
    #[error("app prefix `{0}` must not start with `-`")]
    LeadingDash(String),
}

/// Why `init` failed (besides the state and file errors every operation shares).
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The `--app-prefix` flag.
    #[error(transparent)]
    Prefix(PrefixError),
    /// The package's `app-prefix` setting.
    #[error("the app-prefix setting: {0}")]
    PrefixSetting(PrefixError),
    /// `--macro` outside a cargo package.
    #[error(
        "init --macro prints the workload of a cargo package as #[score_workload] for its binary's main: run it inside the package (outside one, init writes a Score file)"
    )]
    MacroOutsidePackage,
    /// The package name does not make a workload name.
    #[error(
        "package name `{package}` does not make a Score workload name (`{name}`: 2 to 63 lowercase letters, digits and `-`): write the Score file yourself, or run init --no-sample"
    )]
    WorkloadName {
        /// The package.
        package: String,
        /// The workload name it makes.
        name: String,
    },
}

/// Why a provisioner cannot be added or removed. Messages never quote a static output's
/// text (it may be secret).
#[derive(Debug, thiserror::Error)]
pub enum ProvisionersError {
    /// `--timeout` is not a duration in range.
    #[error("{0} (limits::MAX_TIMEOUT)")]
    Timeout(crate::fly::annotations::DurationInError),
    /// `--builtin` names no builtin.
    #[error("{0}")]
    UnknownBuiltin(crate::provision::NoBuiltin),
    /// The definition is incomplete or contradicts itself.
    #[error("{0}")]
    Definition(definition::CheckError),
    /// `--static-json` or `--static-secrets-file` (`what`) is larger than a provisioner file may be.
    #[error(
        "{what} is {len} bytes, more than {max} (limits::MAX_DOCUMENT_BYTES); put large outputs in a *.provisioners.yaml file, or make them smaller",
        max = limits::MAX_DOCUMENT_BYTES
    )]
    TooLarge {
        /// The option.
        what: &'static str,
        /// Its size.
        len: usize,
    },
    /// It is nested too deep or holds too many values.
    #[error("{what}: {exceeded}")]
    Exceeded {
        /// The option.
        what: &'static str,
        /// The limit it went past.
        exceeded: crate::provision::protocol::Exceeded,
    },
    /// It is not JSON (`serde_json`'s message gives the position, never the text).
    #[error("{what} is not valid JSON: {error}")]
    NotJson {
        /// The option.
        what: &'static str,
        /// Where it is not JSON.
        error: serde_json::Error,
    },
    /// It is JSON, but not an object.
    #[error("{what} must be a JSON object of outputs")]
    NotObject {
        /// The option.
        what: &'static str,
    },
    /// An output is both plain and secret.
    #[error(
        "output `{0}` is in both --static-json and --static-secrets-file; keep it in one (a secret belongs in --static-secrets-file)"
    )]
    PlainAndSecret(String),
    /// The secrets file cannot be read.
    #[error("--static-secrets-file: {0}")]
    SecretsFile(#[source] crate::input::ReadError),
    /// Standard input cannot be read.
    #[error("cannot read --static-secrets-file from stdin: {0}")]
    Stdin(#[source] std::io::Error),
    /// Standard input is not text.
    #[error("--static-secrets-file (stdin) is not UTF-8 text")]
    StdinNotText,
    /// The id is taken by a file `add` does not manage.
    #[error("provisioner `{id}` is defined in {}; edit that file, or choose another id", .file.display())]
    TakenElsewhere {
        /// The id.
        id: String,
        /// The file defining it.
        file: PathBuf,
    },
    /// No provisioner has the id.
    #[error("no provisioner `{id}` (defined: {})", if .defined.is_empty() { "none".to_owned() } else { .defined.join(", ") })]
    Unknown {
        /// The id.
        id: String,
        /// The ids there are.
        defined: Vec<String>,
    },
    /// The provisioner is in a file of the user's own.
    #[error("provisioner `{id}` is defined in your file {}; edit that file to remove it", .file.display())]
    UsersFile {
        /// The id.
        id: String,
        /// The file defining it.
        file: PathBuf,
    },
}

impl ProvisionersError {
    /// How a front end should treat it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProvisionersError::Stdin(_) => ErrorKind::Failed,
            _ => ErrorKind::Invalid,
        }
    }
}

/// Why a resource cannot be shown or deprovisioned.
#[derive(Debug, thiserror::Error)]
pub enum ResourcesError {
    /// The state has no resource `uid`.
    #[error("no resource `{uid}` in the project (known: {})", if .known.is_empty() { "none".to_owned() } else { .known.join(", ") })]
    Unknown {
        /// The uid asked for.
        uid: String,
        /// The uids there are.
        known: Vec<String>,
    },
    /// Deprovisioning failed or could not start.
    #[error(transparent)]
    Deprovision(#[from] DeprovisionError),
}

impl ResourcesError {
    /// How a front end should treat it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ResourcesError::Deprovision(DeprovisionError::Failed { .. }) => ErrorKind::Failed,
            _ => ErrorKind::Invalid,
        }
    }
}

/// Why a destroy cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum DestroyError {
    /// A named workload is not in the project.
    #[error("no workload `{name}` in the project (its workloads: {})", if .known.is_empty() { "none".to_owned() } else { .known.join(", ") })]
    UnknownWorkload {
        /// The name given.
        name: String,
        /// The project's workloads.
        known: Vec<String>,
    },
    /// Destroying an app failed.
    #[error(
        "destroying app {app} failed: {source}\nwhat was done is kept in the project state; fix the problem and run destroy again"
    )]
    App {
        /// The app.
        app: String,
        /// flyctl's error.
        source: crate::flyio::cli::FlyctlError,
    },
    /// Deprovisioning a resource failed.
    #[error("{source}\nthe apps and resources destroyed so far are recorded; fix the problem and run destroy again")]
    Deprovision {
        /// The engine's error.
        source: provision::DeprovisionError,
    },
}

impl DestroyError {
    /// How a front end should treat it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DestroyError::UnknownWorkload { .. } => ErrorKind::Invalid,
            DestroyError::App { .. } | DestroyError::Deprovision { .. } => ErrorKind::Failed,
        }
    }
}

/// Why logs cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// A named workload is not in the project.
    #[error("no workload `{name}` in the project (its workloads: {})", if .known.is_empty() { "none".to_owned() } else { .known.join(", ") })]
    UnknownWorkload {
        /// The name given.
        name: String,
        /// The project's workloads.
        known: Vec<String>,
    },
    /// `fly logs` failed.
    #[error("reading the logs of app {app} failed: {source}")]
    Flyctl {
        /// The app.
        app: String,
        /// flyctl's error.
        source: FlyctlError,
    },
}

impl LogsError {
    /// How a front end should treat it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LogsError::UnknownWorkload { .. } => ErrorKind::Invalid,
            LogsError::Flyctl { source: FlyctlError::NotFound | FlyctlError::NotExecutable { .. }, .. } => {
                ErrorKind::Unavailable
            }
            LogsError::Flyctl { .. } => ErrorKind::Failed,
        }
    }
}

/// Why releases cannot be listed or a rollback cannot be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleasesError {
    /// The project has no workload of that name.
    #[error("the project has no workload `{workload}`; its workloads: {known}")]
    UnknownWorkload {
        /// The name given.
        workload: String,
        /// The project's workloads.
        known: String,
    },
    /// Several workloads and none named.
    #[error(
        "the project has several workloads ({known}): name the one to roll back, e.g. `cargo score-fly rollback {first}`"
    )]
    WhichWorkload {
        /// The project's workloads.
        known: String,
        /// The first of them.
        first: String,
    },
    /// No workload at all.
    #[error("the project has no workloads yet: run `cargo score-fly deploy` first")]
    NoWorkloads,
    /// Fewer than two releases and no `--to`.
    #[error(
        "workload `{workload}` has {count} recorded release(s): there is no earlier release to roll back to (releases are recorded by `cargo score-fly deploy`)"
    )]
    NothingEarlier {
        /// The workload.
        workload: String,
        /// How many releases it has.
        count: usize,
    },
    /// `--to` names no recorded release.
    #[error(
        "workload `{workload}` has no recorded release {version}; its releases: {known} (`cargo score-fly releases {workload}`)"
    )]
    UnknownVersion {
        /// The workload.
        workload: String,
        /// The version asked for.
        version: u64,
        /// The recorded versions.
        known: String,
    },
    /// `--to` names the current release.
    #[error(
        "release {version} is the current release of workload `{workload}`: nothing to roll back; choose an earlier one with --to (`cargo score-fly releases {workload}`)"
    )]
    AlreadyCurrent {
        /// The workload.
        workload: String,
        /// The version.
        version: u64,
    },
    /// The release has no image reference to deploy again.
    #[error(
        "release {version} of workload `{workload}` was built by Fly's builder from a Dockerfile: score-fly has no image reference to deploy again; choose a release deployed with an image (`cargo score-fly releases {workload}`)"
    )]
    NoImage {
        /// The workload.
        workload: String,
        /// The version.
        version: u64,
    },
    /// The kept fly.toml of the release is missing or was changed.
    #[error(
        "the fly.toml of release {version} of workload `{workload}` ({}) {problem}: it cannot be deployed as it was; choose another release (`cargo score-fly releases {workload}`)",
        path.display()
    )]
    ConfigCopy {
        /// The workload.
        workload: String,
        /// The version.
        version: u64,
        /// The copy.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The release's image is gone from the registry.
    #[error(
        "the image of release {version} of workload `{workload}`, {image}, is no longer in the registry (flyctl: could not find image; Fly prunes images not deployed for a while): nothing was deployed or recorded; roll back to another release (`cargo score-fly releases {workload}`), or push that image again and rerun"
    )]
    ImageGone {
        /// The workload.
        workload: String,
        /// The version.
        version: u64,
        /// The image reference.
        image: String,
    },
    /// flyctl failed.
    #[error("{what} failed: {source}")]
    Flyctl {
        /// What was being done.
        what: String,
        /// Why.
        source: FlyctlError,
    },
    /// flyctl printed something else than the JSON the reference describes.
    #[error("cannot read `fly releases -a {app} --json`: {reason}")]
    Unreadable {
        /// The app.
        app: String,
        /// What is wrong.
        reason: String,
    },
    /// Random bytes for the release key could not be read.
    #[error("cannot read random bytes from /dev/urandom for the release key: {0}")]
    Random(std::io::Error),
    /// A file could not be read or written.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// The state could not be saved.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

impl ReleasesError {
    /// How a front end should treat it.
    pub fn kind(&self) -> ErrorKind {
        use ErrorKind;
        match self {
            ReleasesError::Flyctl { source: FlyctlError::NotFound | FlyctlError::NotExecutable { .. }, .. } => {
                ErrorKind::Unavailable
            }
            ReleasesError::ImageGone { .. }
            | ReleasesError::Flyctl { .. }
            | ReleasesError::Unreadable { .. }
            | ReleasesError::Random(_)
            | ReleasesError::Fs(_)
            | ReleasesError::State(_) => ErrorKind::Failed,
            _ => ErrorKind::Invalid,
        }
    }
}

/// Why the status cannot be read at all (a workload's own failure is in its report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// The project has no workload of that name.
    #[error("the project has no workload `{workload}`; its workloads: {known}")]
    UnknownWorkload {
        /// The name given.
        workload: String,
        /// The project's workloads.
        known: String,
    },
    /// flyctl cannot be run.
    #[error(transparent)]
    Flyctl(FlyctlError),
}

impl StatusError {
    /// How a front end should treat it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StatusError::UnknownWorkload { .. } => ErrorKind::Invalid,
            StatusError::Flyctl(_) => ErrorKind::Unavailable,
        }
    }
}
