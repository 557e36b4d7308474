//! What the local servers share: loopback ports, processes (alive? which program?), the
//! unprivileged user servers run as when score-fly runs as root, binaries on `PATH`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::LocalError;

/// The ports local servers listen on: below Linux's ephemeral range (32768–60999), so the
/// kernel never hands one to an outgoing connection between the moment a port is chosen and
/// the moment the server binds it, and above the ports services usually take (3000, 8080).
pub const PORTS: std::ops::Range<u16> = 20_000..32_000;
/// How many times a server is started again on another port when its port was taken
/// between the choice and the bind.
pub const PORT_ATTEMPTS: usize = 4;
/// How long a server may take to accept connections (Postgres replaying its log after a
/// crash included).
pub const START_TIMEOUT: Duration = Duration::from_mins(1);
/// How long a server may take to stop before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of a server's log quoted in an error.
pub const LOG_TAIL_LINES: usize = 15;

/// A loopback port nothing listens on now: `preferred` (the one the resource had last time,
/// so its URLs stay the same) when free, else one of [`PORTS`] from a place drawn from
/// `seed`, skipping `avoid`.
pub(crate) fn free_port(uid: &str, preferred: Option<u16>, seed: &str, avoid: &[u16]) -> Result<u16, LocalError> {
    if let Some(port) = preferred.filter(|p| PORTS.contains(p) && !avoid.contains(p))
        && is_free(port)
    {
        return Ok(port);
    }
    let span = u32::from(PORTS.end - PORTS.start);
    let hash = crate::builtin::short_hash(&format!("{seed}:{}", std::process::id()));
    let start = u32::from_str_radix(&hash, 16).unwrap_or(0) % span;
    for i in 0..span {
        let port = PORTS.start + u16::try_from((start + i) % span).unwrap_or(0);
        if !avoid.contains(&port) && is_free(port) {
            return Ok(port);
        }
    }
    Err(LocalError::NoPort { uid: uid.to_owned(), first: PORTS.start, last: PORTS.end })
}

fn is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Whether process `pid` exists (a zombie counts: it is not reaped yet).
pub(crate) fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// Whether process `pid` runs and is `program` (its `/proc/<pid>/comm`), not a process
/// that took a dead server's pid. Zombies do not count.
pub(crate) fn runs(pid: u32, program: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    alive(pid) && !zombie && comm.trim() == program
}

/// Sends `signal` to `pid` (an error when it is gone is ignored).
pub(crate) fn signal(pid: u32, signal: rustix::process::Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Waits until `done` or `timeout`; whether it became true.
pub(crate) fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        if done() {
            return true;
        }
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// The first line of a pid file (`postmaster.pid`, `redis.pid`) as a pid.
pub(crate) fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.lines().next()?.trim().parse().ok()
}

/// The last [`LOG_TAIL_LINES`] non-empty lines of a log file.
pub(crate) fn log_tail(path: &Path) -> Vec<String> {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].to_vec()
}

/// The last lines of a command's output.
pub(crate) fn output_tail(output: &std::process::Output) -> Vec<String> {
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let lines: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].to_vec()
}

/// `program` on `PATH`.
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| is_executable(p))
}

/// Whether `path` is an executable file.
pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether this process runs as root.
pub(crate) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// An unprivileged user a server runs as when score-fly runs as root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl User {
    /// User `name` from `/etc/passwd`.
    pub(crate) fn lookup(name: &str) -> Option<User> {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                [user, _, uid, gid, ..] if *user == name => {
                    Some(User { name: name.to_owned(), uid: uid.parse().ok()?, gid: gid.parse().ok()? })
                }
                _ => None,
            }
        })
    }

    /// Gives `path` to this user.
    pub(crate) fn own(&self, path: &Path) -> Result<(), LocalError> {
        rustix::fs::chown(path, Some(rustix::fs::Uid::from_raw(self.uid)), Some(rustix::fs::Gid::from_raw(self.gid)))
            .map_err(|e| LocalError::io("give to the server's user", path, e.into()))
    }

    /// The first folder from the root down to `path` this user cannot enter (others' or its
    /// group's `x` bit missing, and not its own), if any.
    pub(crate) fn blocked_at(&self, path: &Path) -> Option<PathBuf> {
        use std::os::unix::fs::MetadataExt as _;
        let mut at = PathBuf::new();
        for part in path.components() {
            at.push(part);
            let Ok(meta) = std::fs::metadata(&at) else { return None };
            if !meta.is_dir() {
                return None;
            }
            let mode = meta.mode();
            let enters = (meta.uid() == self.uid && mode & 0o100 != 0)
                || (meta.gid() == self.gid && mode & 0o010 != 0)
                || mode & 0o001 != 0;
            if !enters {
                return Some(at);
            }
        }
        None
    }

    /// `program` run as this user (`runuser -u USER --`).
    pub(crate) fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("runuser");
        command.args(["-u", &self.name, "--"]).arg(program);
        command
    }
}
