//! Why a local provisioner (or `dev --reset`) failed.

use std::path::PathBuf;

/// A local provisioner's failure. Messages name the resource, the server and the file, and
/// say what to do; they never hold a password.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A server binary was found nowhere.
    #[error("find {program} for `{uid}`: looked in {looked}; install it ({install}) or point {setting} at {what}")]
    MissingBinary {
        /// The resource.
        uid: String,
        /// `initdb`, `pg_ctl`, `redis-server`...
        program: &'static str,
        /// Where it was looked for.
        looked: String,
        /// The install commands.
        install: &'static str,
        /// The setting (`SCORE_FLY_PG_BIN`...).
        setting: &'static str,
        /// What the setting names (a folder, a file).
        what: &'static str,
    },
    /// A file or folder operation failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done (`create`, `read`...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a file inside the project failed.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    /// A program could not be started.
    #[error("run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A server command failed.
    #[error("{what} for `{uid}` failed ({how}){}", tail_text(.tail))]
    Command {
        /// The resource.
        uid: String,
        /// What was done (`initdb`, `pg_ctl start`...).
        what: String,
        /// Exit status.
        how: String,
        /// The last lines it (or the server's log) printed.
        tail: Vec<String>,
    },
    /// Running as root, the server must run as an unprivileged user that does not exist or
    /// cannot reach the data folder.
    #[error("run {server} for `{uid}` as root: {problem}")]
    Root {
        /// The resource.
        uid: String,
        /// `Postgres`.
        server: &'static str,
        /// What is wrong and what to do.
        problem: String,
    },
    /// No loopback port was free.
    #[error("find a free loopback port for `{uid}` in {first}..{last}")]
    NoPort {
        /// The resource.
        uid: String,
        /// The first port tried.
        first: u16,
        /// One past the last.
        last: u16,
    },
    /// A server did not become ready in time.
    #[error("{server} for `{uid}` did not answer on 127.0.0.1:{port} within {seconds} s{}", tail_text(.tail))]
    NotReady {
        /// The resource.
        uid: String,
        /// `redis-server`...
        server: &'static str,
        /// Its port.
        port: u16,
        /// How long was waited.
        seconds: u64,
        /// The last lines of its log.
        tail: Vec<String>,
    },
    /// A server did not stop.
    #[error("stop {server} (pid {pid}, data {}): {problem}", .data.display())]
    Stop {
        /// `postgres`, `redis-server`, `s3`.
        server: &'static str,
        /// Its process (this process for the embedded S3 server).
        pid: u32,
        /// Its data folder.
        data: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// `dns`/`route`/`service-port` asked for a port `dev` did not give.
    #[error("{problem} (`{uid}`); local ports known: {}", known_ports(.known))]
    Port {
        /// The resource.
        uid: String,
        /// What is missing.
        problem: String,
        /// workload → port name → local port.
        known: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u16>>,
    },
    /// A resource declared by no workload or by several where one is needed.
    #[error("find the workload of `{uid}`: {problem}")]
    Workload {
        /// The resource.
        uid: String,
        /// What is wrong.
        problem: String,
    },
    /// `dev --reset` while a server of the project runs.
    #[error(
        "reset the local data of {}: {} still running ({}); stop the `dev` session (or the processes) first",
        .root.display(), if .running.len() == 1 { "a server is" } else { "servers are" }, .running.join(", ")
    )]
    Running {
        /// The project.
        root: PathBuf,
        /// `postgres (pid N, .score-fly/dev/pg/shared)`...
        running: Vec<String>,
    },
    /// A link where `.score-fly/dev` or a folder below it should be.
    #[error("{} is a symbolic link; score-fly follows no link in .score-fly (remove it)", .path.display())]
    Link {
        /// The link.
        path: PathBuf,
    },
    /// The S3 server failed.
    #[error("the local S3 server for `{uid}`: {problem}")]
    S3 {
        /// The resource.
        uid: String,
        /// What failed.
        problem: String,
    },
    /// A builtin shared with the Fly provisioners (`environment`) failed.
    #[error(transparent)]
    Builtin(Box<crate::builtin::BuiltinError>),
    /// A builtin name this set does not have.
    #[error(transparent)]
    NoBuiltin(#[from] crate::provision::NoBuiltin),
}

impl From<crate::builtin::BuiltinError> for LocalError {
    fn from(e: crate::builtin::BuiltinError) -> Self {
        LocalError::Builtin(Box::new(e))
    }
}

impl LocalError {
    /// An [`LocalError::Io`].
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> LocalError {
        LocalError::Io { action, path: path.into(), source }
    }
}

fn tail_text(tail: &[String]) -> String {
    if tail.is_empty() { String::new() } else { format!(":\n  {}", tail.join("\n  ")) }
}

fn known_ports(known: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, u16>>) -> String {
    let all: Vec<String> = known
        .iter()
        .flat_map(|(w, ports)| ports.iter().map(move |(name, port)| format!("{w}.{name} = {port}")))
        .collect();
    if all.is_empty() { "none".to_owned() } else { all.join(", ") }
}
