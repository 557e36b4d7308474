//! The children of a dev session: each service's release command, then the service in a
//! process group of its own ([`Running`]); the shell-style exit code of the first to stop;
//! and [`Watcher`], the `--watch` rule of what a change is.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
#[cfg(feature = "local")]
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{DevEvent, Ready, STOP_GRACE};
use crate::fly;
use crate::ops::error::Error;
use crate::ops::event::{Event, Reporter};
#[cfg(feature = "local")]
use crate::state::STATE_DIR;

/// A workload ready to start: its environment, the binary cargo built, the folder it runs in
/// (its package's).
#[derive(Debug)]
pub struct Launch {
    /// Its environment, ports and release command.
    pub ready: Ready,
    /// The binary.
    pub binary: PathBuf,
    /// Where it runs.
    pub dir: PathBuf,
}

/// Starts every workload of `launches` in order: its release command ([`release`]) first,
/// then the service with `args` ([`Running::start`]). When one fails, those already started
/// are stopped and the error is returned, so a session never runs half of its services.
pub fn start_all(
    launches: &[Launch],
    args: &[String],
    sink: Option<&LineSink>,
    reporter: &dyn Reporter,
) -> Result<Vec<Running>, Error> {
    let mut running: Vec<Running> = Vec::new();
    for launch in launches {
        let started = release(&launch.ready, &launch.binary, &launch.dir, reporter)
            .and_then(|()| Running::start(&launch.ready, &launch.binary, &launch.dir, args, sink.cloned()));
        match started {
            Ok(child) => {
                let (workload, ports) = (&launch.ready.name, &launch.ready.ports);
                reporter.event(Event::Dev(DevEvent::Started { workload, ports, pid: child.id() }));
                running.push(child);
            }
            Err(e) => {
                for r in running {
                    r.stop(rustix::process::Signal::TERM);
                }
                return Err(e);
            }
        }
    }
    Ok(running)
}

/// The exit code of the first of `statuses` that is known (0 when none is). A slice, not an
/// iterator: every service is stopped before the code is chosen.
pub fn first_exit_code(statuses: &[Option<ExitStatus>]) -> u8 {
    statuses.iter().flatten().next().copied().map_or(0, exit_code)
}

/// `--watch`: file-system changes below some folders, outside cargo's target folder and
/// `.score-fly/` (what a dev run writes itself), reading of files aside, and files a cycle
/// writes itself ([`Watcher::written_by_cycle`]: cargo's `Cargo.lock`) whose content is what
/// the cycle left.
#[cfg(feature = "local")]
#[derive(Debug)]
pub struct Watcher {
    /// Kept for its events: dropping it stops the watch.
    _inotify: notify::RecommendedWatcher,
    changes: mpsc::Receiver<Vec<PathBuf>>,
    /// When the last change of a burst came, until the burst is over.
    pending: Option<Instant>,
    /// The paths the burst changed.
    changed: std::collections::BTreeSet<PathBuf>,
    /// Files the last cycle wrote itself, with a hash of the content it left (`None`: none).
    own: std::collections::BTreeMap<PathBuf, Option<u64>>,
}

/// Changes closer together than this are one change (an editor's save, `cargo fmt`).
#[cfg(feature = "local")]
pub const DEBOUNCE: Duration = Duration::from_millis(200);

#[cfg(feature = "local")]
impl Watcher {
    /// Watches `dirs` (recursively) below the workspace at `root` whose cargo target folder is
    /// `target_dir`.
    pub fn new(dirs: &[PathBuf], root: &Path, target_dir: &Path) -> Result<Watcher, Error> {
        use notify::Watcher as _;
        let (tx, changes) = mpsc::channel::<Vec<PathBuf>>();
        let (root, target) = (root.to_path_buf(), target_dir.to_path_buf());
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            let paths: Vec<PathBuf> = event.paths.into_iter().filter(|p| !ignored(p, &root, &target)).collect();
            if !paths.is_empty() {
                let _ = tx.send(paths);
            }
        })
        .map_err(|e| Error::Failed(format!("cannot watch for changes: {e}")))?;
        for dir in dirs {
            watcher
                .watch(dir, notify::RecursiveMode::Recursive)
                .map_err(|e| Error::Failed(format!("cannot watch {}: {e}", dir.display())))?;
        }
        Ok(Watcher {
            _inotify: watcher,
            changes,
            pending: None,
            changed: std::collections::BTreeSet::new(),
            own: std::collections::BTreeMap::new(),
        })
    }

    /// Whether a burst of changes is over: something changed, then nothing for [`DEBOUNCE`].
    /// True once per burst; called in a loop. A burst that only touched files a cycle wrote
    /// itself, left as that cycle left them, is no change.
    pub fn settled(&mut self) -> bool {
        while let Ok(paths) = self.changes.try_recv() {
            self.pending = Some(Instant::now());
            self.changed.extend(paths);
        }
        if self.pending.is_some_and(|at| at.elapsed() >= DEBOUNCE) {
            self.pending = None;
            let changed = std::mem::take(&mut self.changed);
            return changed.iter().any(|path| self.own.get(path).is_none_or(|left| *left != content_hash(path)));
        }
        false
    }

    /// Notes `paths`, files the cycle just ended wrote itself (cargo updates `Cargo.lock` when
    /// a manifest changed), as they are now: their own change events are then no change,
    /// while an edit of them by someone else (`cargo update`) still is.
    pub fn written_by_cycle(&mut self, paths: &[PathBuf]) {
        self.own = paths.iter().map(|p| (p.clone(), content_hash(p))).collect();
    }
}

/// A hash of the content of the file at `path` (`None`: unreadable or missing).
#[cfg(feature = "local")]
fn content_hash(path: &Path) -> Option<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let bytes = std::fs::read(path).ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    Some(hasher.finish())
}

/// A path `--watch` ignores: below cargo's target folder, or with a `target` or `.score-fly`
/// component below the workspace.
#[cfg(feature = "local")]
fn ignored(path: &Path, root: &Path, target_dir: &Path) -> bool {
    path.starts_with(target_dir)
        || path.strip_prefix(root).unwrap_or(path).components().any(|c| {
            let c = c.as_os_str();
            c == "target" || c == STATE_DIR
        })
}

/// Where a child's output lines go (`None`: straight to ours).
pub type LineSink = Arc<dyn Fn(&str, &str, bool) + Send + Sync>;

/// A service running as a child process in its own process group.
#[derive(Debug)]
pub struct Running {
    /// The workload.
    pub workload: String,
    child: Child,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Runs `ready`'s release command with `binary` (its words are the binary's arguments: in
/// the image, the binary is the entrypoint and the release command its `cmd`) in `cwd`, with
/// the service's environment, before the service starts; its output goes to ours. A command
/// that does not exit 0 stops the run, as a failed release command stops a Fly deploy.
pub fn release(ready: &Ready, binary: &Path, cwd: &Path, reporter: &dyn Reporter) -> Result<(), Error> {
    let Some(command) = &ready.release_command else { return Ok(()) };
    let words = fly::annotations::shell_words(command).ok_or_else(|| {
        Error::Invalid(format!(
            "workload `{}`: the release command `{command}` does not split into words (a quote is left open)",
            ready.name
        ))
    })?;
    reporter.event(Event::Dev(DevEvent::Release { workload: &ready.name, command }));
    let mut child = Command::new(binary);
    child.args(&words).current_dir(cwd).stdin(Stdio::null());
    for (name, value) in &ready.env {
        child.env(name, value.expose());
    }
    let status = child.status().map_err(|e| Error::Failed(format!("cannot run {}: {e}", binary.display())))?;
    if status.success() {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "the release command `{command}` of workload `{}` failed ({status}); the service was not started: fix it and run dev again",
        ready.name
    )))
}

impl Running {
    /// Starts `binary` with `args` in `cwd` with `ready`'s environment over ours, in a process
    /// group of its own. With `sink`, each output line goes to it (workload, line, stderr).
    pub fn start(
        ready: &Ready,
        binary: &Path,
        cwd: &Path,
        args: &[String],
        sink: Option<LineSink>,
    ) -> Result<Running, Error> {
        use std::os::unix::process::CommandExt as _;
        let mut command = Command::new(binary);
        command.args(args).current_dir(cwd).process_group(0).stdin(Stdio::null());
        for (name, value) in &ready.env {
            command.env(name, value.expose());
        }
        if sink.is_some() {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let mut child =
            command.spawn().map_err(|e| Error::Failed(format!("cannot start {}: {e}", binary.display())))?;
        let mut readers = Vec::new();
        if let Some(sink) = sink {
            let out = child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
            let err = child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>);
            for (stream, is_err) in [(out, false), (err, true)] {
                let Some(stream) = stream else { continue };
                let sink = Arc::clone(&sink);
                let workload = ready.name.clone();
                let handle = std::thread::Builder::new()
                    .name("dev-output".into())
                    .spawn(move || {
                        for line in BufReader::new(stream).lines() {
                            let Ok(line) = line else { break };
                            sink(&workload, &line, is_err);
                        }
                    })
                    .map_err(|e| Error::Failed(format!("cannot start a thread for the service's output: {e}")))?;
                readers.push(handle);
            }
        }
        Ok(Running { workload: ready.name.clone(), child, readers })
    }

    /// The child's pid (also its process group).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status if it exited (its group is then killed: nothing stays behind).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        let status = self.child.try_wait().ok().flatten()?;
        self.kill_group();
        Some(status)
    }

    /// Sends `signal` (`SIGINT`, `SIGTERM`) to its group, waits up to [`STOP_GRACE`], then
    /// kills the group; returns its exit status.
    pub fn stop(mut self, signal: rustix::process::Signal) -> Option<ExitStatus> {
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, signal);
        let deadline = Instant::now() + STOP_GRACE;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                    break self.child.wait().ok();
                }
            }
        };
        self.kill_group();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status
    }

    /// Kills whatever is left in its process group.
    fn kill_group(&self) {
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

/// The shell-style exit code of a child's status: its code, or 128 + the signal.
pub fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + (signal & 0x7f)).unwrap_or(1),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "local")]
    #[test]
    fn watch_ignores_what_cargo_and_score_fly_write() {
        let (root, target) = (Path::new("/w"), Path::new("/w/custom-target"));
        assert!(ignored(Path::new("/w/custom-target/debug/app"), root, target));
        assert!(ignored(Path::new("/w/api/target/debug/app"), root, target));
        assert!(ignored(Path::new("/w/.score-fly/dev/state.json"), root, target));
        assert!(!ignored(Path::new("/w/api/src/main.rs"), root, target));
        assert!(!ignored(Path::new("/w/api/score.yaml"), root, target));
    }

    /// Polls [`Watcher::settled`] for `wait`; whether it said a change.
    #[cfg(feature = "local")]
    fn settles_within(watcher: &mut Watcher, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if watcher.settled() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[cfg(feature = "local")]
    #[test]
    fn a_file_a_cycle_wrote_itself_is_a_change_only_when_someone_else_changes_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical");
        let lock = root.join("Cargo.lock");
        std::fs::write(&lock, "version = 4\n").expect("write");
        let mut watcher = Watcher::new(std::slice::from_ref(&root), &root, &root.join("target")).expect("watch");
        // The cycle's cargo rewrites Cargo.lock; the cycle notes what it left.
        std::fs::write(&lock, "version = 4\n# the cycle's\n").expect("write");
        watcher.written_by_cycle(std::slice::from_ref(&lock));
        assert!(!settles_within(&mut watcher, Duration::from_secs(1)), "its own write is no change");
        // `cargo update` by the user: a change.
        std::fs::write(&lock, "version = 4\n# updated\n").expect("write");
        assert!(settles_within(&mut watcher, Duration::from_secs(10)), "another content is a change");
        // Any other file: a change, as before.
        std::fs::write(root.join("main.rs"), "fn main() {}\n").expect("write");
        assert!(settles_within(&mut watcher, Duration::from_secs(10)));
    }

    #[test]
    fn the_first_known_status_is_the_exit_code() {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(first_exit_code(&[None, Some(ExitStatus::from_raw(3 << 8)), Some(ExitStatus::from_raw(0))]), 3);
        assert_eq!(first_exit_code(&[Some(ExitStatus::from_raw(15))]), 128 + 15, "killed by SIGTERM");
        assert_eq!(first_exit_code(&[None]), 0);
    }

    #[test]
    fn a_failed_start_stops_the_services_already_started() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ready = |name: &str| Ready {
            name: name.to_owned(),
            env: std::collections::BTreeMap::new(),
            ports: std::collections::BTreeMap::new(),
            files_dir: None,
            release_command: None,
        };
        let pid_file = dir.path().join("pid");
        let script = dir.path().join("serve.sh");
        std::fs::write(&script, format!("#!/bin/sh\necho $$ > {}\nexec sleep 30\n", pid_file.display())).unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let launches = [
            Launch { ready: ready("a"), binary: script.clone(), dir: dir.path().to_path_buf() },
            Launch { ready: ready("b"), binary: dir.path().join("missing"), dir: dir.path().to_path_buf() },
        ];
        let e = start_all(&launches, &[], None, &crate::ops::event::Silent).expect_err("b cannot start");
        assert!(e.to_string().contains("cannot start"), "{e}");
        // Left running, `a` would have written its pid by now and still be there.
        std::thread::sleep(Duration::from_millis(300));
        if let Some(pid) = std::fs::read_to_string(&pid_file).ok().and_then(|t| t.trim().parse::<i32>().ok()) {
            assert!(!Path::new(&format!("/proc/{pid}")).exists(), "a was stopped when b failed");
        }
    }
}
