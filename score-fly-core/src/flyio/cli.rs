//! flyctl as a subprocess.
//!
//! The program is `FLY_BIN` when set, else `fly` or `flyctl` on `PATH` (the names flyctl
//! installs). Secrets go to flyctl on **stdin** only (`fly secrets import`), never in
//! arguments. Every line flyctl prints is handed to a callback (after redaction, cut to
//! [`limits::MAX_LINE_BYTES`]) so callers can show progress; a failure names the command and
//! quotes the last [`limits::MAX_TAIL_LINES`] lines. What is kept for the caller is bounded too
//! (see [`Output`]).
//!
//! Redaction: the caller's [`Redactor`] (the secrets it knows), and always the Fly token
//! flyctl is given (`FLY_ACCESS_TOKEN`/`FLY_API_TOKEN` from the environment or set with
//! [`Invocation::env`]), since flyctl may quote it when it is refused.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::limits;
use crate::secret::Redactor;
use crate::target::FlyTarget;

/// Stack size of the helper threads that feed and drain a child's pipes: they only copy
/// bytes, and a smaller stack leaves address space for many concurrent provisioners.
pub(crate) const HELPER_STACK_BYTES: usize = 256 * 1024;

/// Lines read but not handled yet; a program that writes faster waits (its pipe fills).
pub(crate) const PENDING_LINES: usize = 256;

/// Starts a helper thread; a failure (too many threads, no memory) is an error, not a panic.
pub(crate) fn spawn_helper<F>(name: &str, f: F) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new().name(name.to_owned()).stack_size(HELPER_STACK_BYTES).spawn(f)
}

/// One line of a program's output: at most the first `keep` bytes of it (see
/// [`LineReader`]), and how long it really was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// The first bytes of the line, without its `\n`.
    pub(crate) kept: Vec<u8>,
    /// Its length in bytes, without its `\n`.
    pub(crate) len: usize,
}

impl Line {
    /// Whether bytes of the line were dropped.
    pub(crate) fn is_cut(&self) -> bool {
        self.len > self.kept.len()
    }

    /// The kept text (lossy UTF-8, a trailing `\r` removed).
    pub(crate) fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.kept);
        if self.is_cut() { text.into_owned() } else { text.strip_suffix('\r').unwrap_or(&text).to_owned() }
    }

    /// The line as shown: `hide` (redaction) applied to everything kept, then cut to
    /// [`limits::MAX_LINE_BYTES`] with a note of the real length. Redacting before cutting
    /// means a secret that spans the cut is still found whole.
    pub(crate) fn shown(&self, hide: impl Fn(&str) -> String) -> String {
        let mut shown = hide(&self.text());
        if shown.len() > limits::MAX_LINE_BYTES || self.is_cut() {
            let mut end = limits::MAX_LINE_BYTES.min(shown.len());
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown.truncate(end);
            let _ = write!(
                shown,
                " [... a line of {} bytes, cut to {} (limits::MAX_LINE_BYTES)]",
                self.len,
                limits::MAX_LINE_BYTES
            );
        }
        shown
    }
}

/// Reads `\n`-terminated lines keeping at most `keep` bytes of each, so a line of 200 MB
/// costs `keep` bytes of memory (`BufRead::lines` would hold all of it).
pub(crate) struct LineReader<R> {
    reader: BufReader<R>,
    keep: usize,
}

impl<R: Read> LineReader<R> {
    /// Lines of `stream`, keeping `keep` bytes of each.
    pub(crate) fn new(stream: R, keep: usize) -> Self {
        LineReader { reader: BufReader::with_capacity(64 * 1024, stream), keep }
    }

    /// The next line; `None` at the end (a last line without `\n` is still a line).
    pub(crate) fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut line = Line { kept: Vec::new(), len: 0 };
        let mut started = false;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(started.then_some(line));
            }
            started = true;
            let newline = buf.iter().position(|&b| b == b'\n');
            let chunk = &buf[..newline.unwrap_or(buf.len())];
            let room = self.keep.saturating_sub(line.kept.len());
            line.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            line.len = line.len.saturating_add(chunk.len());
            let consumed = newline.map_or(buf.len(), |i| i + 1);
            self.reader.consume(consumed);
            if newline.is_some() {
                return Ok(Some(line));
            }
        }
    }
}

/// flyctl could not be run, or failed.
#[derive(Debug, thiserror::Error)]
pub enum FlyctlError {
    /// No flyctl was found.
    #[error(
        "flyctl was not found: install it (https://fly.io/docs/flyctl/install/) so `fly` is on PATH, or set FLY_BIN to its path"
    )]
    NotFound,
    /// `FLY_BIN` names something that is not an executable file.
    #[error(
        "FLY_BIN is {}, which is not an executable file: point it at flyctl (https://fly.io/docs/flyctl/install/), or unset it to use `fly` on PATH",
        path.display()
    )]
    NotExecutable {
        /// What `FLY_BIN` says.
        path: PathBuf,
    },
    /// It could not be started.
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        /// The command line (program name and arguments).
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// It exited unsuccessfully.
    #[error("`{command}` {how}{}", quote(.tail))]
    Failed {
        /// The command line.
        command: String,
        /// `exited with status 1`, `was killed by a signal`.
        how: String,
        /// The last lines it printed (redacted).
        tail: Vec<String>,
    },
    /// It ran past its deadline ([`Invocation::deadline`]) and was stopped.
    #[error("`{command}` did not finish within {}, so it was stopped{}", minutes_or_seconds(*.after), quote(.tail))]
    TimedOut {
        /// The command line.
        command: String,
        /// The deadline it was given.
        after: std::time::Duration,
        /// The last lines it printed (redacted).
        tail: Vec<String>,
    },
    /// The caller asked it to stop ([`Invocation::cancel_on`]: a signal reached score-fly),
    /// and it was stopped.
    #[error("`{command}` was stopped: score-fly was interrupted")]
    Cancelled {
        /// The command line.
        command: String,
    },
}

/// How often a command run with [`Invocation::cancel_on`] looks at its flag.
const CANCEL_TICK: std::time::Duration = std::time::Duration::from_millis(50);

/// `20m`, `90s`, `1.5s`: how long a deadline was.
fn minutes_or_seconds(d: std::time::Duration) -> String {
    match (d.as_secs(), d.subsec_millis()) {
        (secs, 0) if secs >= 60 && secs % 60 == 0 => format!("{}m", secs / 60),
        (secs, 0) => format!("{secs}s"),
        _ => format!("{:.1}s", d.as_secs_f64()),
    }
}

fn quote(tail: &[String]) -> String {
    if tail.is_empty() { " (it printed nothing)".to_owned() } else { format!(":\n    {}", tail.join("\n    ")) }
}

/// What a successful command printed: at most [`limits::MAX_RESPONSE_BYTES`] of each
/// stream, each line cut to [`limits::MAX_LINE_BYTES`].
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Whether a line was cut or a stream was longer than what was kept.
    pub truncated: bool,
}

/// A flyctl executable.
#[derive(Debug, Clone)]
pub struct Flyctl {
    program: PathBuf,
    /// The name shown in messages (`fly`).
    shown: String,
}

impl Flyctl {
    /// `FLY_BIN` (a path must be an executable file), else `fly`/`flyctl` on `PATH`, as the
    /// process environment says ([`FlyTarget::from_env`]).
    pub fn locate() -> Result<Flyctl, FlyctlError> {
        Flyctl::for_target(&FlyTarget::from_env())
    }

    /// The target's flyctl ([`FlyTarget::flyctl`]: a path must be an executable file), else
    /// `fly`/`flyctl` on `PATH`.
    pub fn for_target(target: &FlyTarget) -> Result<Flyctl, FlyctlError> {
        if let Some(program) = &target.flyctl {
            // A bare name is looked up on PATH when it runs; a path must be there now.
            if program.components().count() > 1 && !is_executable(program) {
                return Err(FlyctlError::NotExecutable { path: program.clone() });
            }
            return Ok(Flyctl { program: program.clone(), shown: "fly".to_owned() });
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        for dir in std::env::split_paths(&path) {
            for name in ["fly", "flyctl"] {
                let candidate = dir.join(name);
                if is_executable(&candidate) {
                    return Ok(Flyctl { program: candidate, shown: "fly".to_owned() });
                }
            }
        }
        Err(FlyctlError::NotFound)
    }

    /// A specific executable.
    pub fn at(program: impl Into<PathBuf>) -> Flyctl {
        Flyctl { program: program.into(), shown: "fly".to_owned() }
    }

    /// The executable.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Starts building a command.
    pub fn command<'a>(&'a self, args: &[&str]) -> Invocation<'a> {
        Invocation {
            flyctl: self,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            stdin: None,
            cwd: None,
            redactor: None,
            tokens: tokens_from_env(),
            mask: false,
            env_remove: Vec::new(),
            env_set: Vec::new(),
            deadline: None,
            cancel: None,
        }
    }
}

/// One flyctl command to run.
pub struct Invocation<'a> {
    flyctl: &'a Flyctl,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    cwd: Option<PathBuf>,
    redactor: Option<&'a Redactor>,
    /// The Fly token(s) flyctl gets, always hidden.
    tokens: Redactor,
    mask: bool,
    env_remove: Vec<String>,
    env_set: Vec<(String, String)>,
    deadline: Option<std::time::Duration>,
    cancel: Option<&'a AtomicUsize>,
}

impl<'a> Invocation<'a> {
    /// Stops the command (kills it) once `flag` is not 0 (a signal handler sets it): the run
    /// then fails with [`FlyctlError::Cancelled`], whatever the command did meanwhile. For
    /// commands that run until interrupted (`fly logs`).
    #[must_use]
    pub fn cancel_on(mut self, flag: &'a AtomicUsize) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Stops the command (kills it) when it has not finished after this long: the run then
    /// fails with [`FlyctlError::TimedOut`]. For commands that wait without a limit of their
    /// own (`fly mpg create` polls until its cluster is ready, fly-2026.md §1.3).
    #[must_use]
    pub fn deadline(mut self, after: std::time::Duration) -> Self {
        self.deadline = Some(after);
        self
    }

    /// Sends these bytes on stdin (otherwise stdin is empty).
    #[must_use]
    pub fn stdin(mut self, bytes: Vec<u8>) -> Self {
        self.stdin = Some(bytes);
        self
    }

    /// Runs in this folder.
    #[must_use]
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    /// Runs without this environment variable (e.g. `FLY_APP`, which would make some
    /// commands act on an app).
    #[must_use]
    pub fn env_remove(mut self, name: &str) -> Self {
        self.env_remove.push(name.to_owned());
        self
    }

    /// Sets an environment variable for the command (how a token reaches flyctl: never as
    /// an argument). [`Invocation::env_remove`] wins over it.
    #[must_use]
    pub fn env(mut self, name: &str, value: &str) -> Self {
        if crate::target::TOKEN_VARS.contains(&name) {
            self.tokens.add_token(value);
        }
        self.env_set.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Hides these secrets in everything shown or quoted.
    #[must_use]
    pub fn redact(mut self, redactor: &'a Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Also masks credentials flyctl prints about what it created (`Password: x`,
    /// `postgres://user:x@host`, `AWS_SECRET_ACCESS_KEY: x`) in everything shown or quoted.
    /// The captured [`Output`] keeps them: the caller reads them from there.
    #[must_use]
    pub fn mask_credentials(mut self) -> Self {
        self.mask = true;
        self
    }

    /// The command line as shown in messages (`fly apps create x -o y`).
    pub fn shown(&self) -> String {
        let mut shown = self.flyctl.shown.clone();
        for arg in &self.args {
            shown.push(' ');
            if arg.is_empty() || arg.contains([' ', '"', '\'']) {
                let _ = write!(shown, "{arg:?}");
            } else {
                shown.push_str(arg);
            }
        }
        self.redacted(&shown)
    }

    fn redacted(&self, text: &str) -> String {
        let text = match self.redactor {
            Some(r) => r.redact(text),
            None => text.to_owned(),
        };
        let text = self.tokens.redact(&text);
        if self.mask { mask_credentials(&text) } else { text }
    }

    /// Runs it; every output line (redacted) goes to `on_line` as it arrives.
    pub fn run(mut self, on_line: &mut dyn FnMut(&str)) -> Result<Output, FlyctlError> {
        let shown = self.shown();
        let mut command = Command::new(&self.flyctl.program);
        command.args(&self.args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command.env("FLY_NO_UPDATE_CHECK", "1");
        for (name, value) in &self.env_set {
            command.env(name, value);
        }
        for name in &self.env_remove {
            command.env_remove(name);
        }
        let mut child = command.spawn().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                FlyctlError::NotFound
            } else {
                FlyctlError::Spawn { command: shown.clone(), source }
            }
        })?;
        let stdin = child.stdin.take();
        let input = self.stdin.take().unwrap_or_default();
        let (tx, rx) = mpsc::sync_channel::<(bool, Line)>(PENDING_LINES);
        let started = (|| -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
            let mut stdin = stdin.ok_or_else(|| std::io::Error::other("stdin is not piped"))?;
            let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("stdout is not piped"))?;
            let stderr = child.stderr.take().ok_or_else(|| std::io::Error::other("stderr is not piped"))?;
            Ok(vec![
                spawn_helper("flyctl-stdin", move || {
                    let _ = stdin.write_all(&input);
                    // Dropping stdin closes it: flyctl sees the end of its input.
                })?,
                spawn_reader(stdout, true, tx.clone())?,
                spawn_reader(stderr, false, tx)?,
            ])
        })();
        let helpers = match started {
            Ok(helpers) => helpers,
            Err(source) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(FlyctlError::Spawn { command: shown, source });
            }
        };
        let mut output = Output::default();
        let mut tail: VecDeque<String> = VecDeque::new();
        let deadline = self.deadline.map(|after| (after, std::time::Instant::now() + after));
        let cancelled = || self.cancel.is_some_and(|flag| flag.load(Ordering::SeqCst) != 0);
        loop {
            let left = deadline.map(|(_, at)| at.saturating_duration_since(std::time::Instant::now()));
            let wait = match (left, self.cancel) {
                (left, Some(_)) => Some(left.map_or(CANCEL_TICK, |left| left.min(CANCEL_TICK))),
                (left, None) => left,
            };
            let received = match wait {
                None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                Some(wait) => rx.recv_timeout(wait),
            };
            if cancelled() {
                let _ = child.kill();
                let _ = child.wait();
                drop(helpers);
                return Err(FlyctlError::Cancelled { command: shown });
            }
            let (is_stdout, line) = match received {
                Ok(received) => received,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                // A tick to look at the flag, not the deadline.
                Err(mpsc::RecvTimeoutError::Timeout)
                    if self.cancel.is_some() && left.is_none_or(|l| l > CANCEL_TICK) =>
                {
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // The readers end when the pipes close; one a leftover grandchild holds
                    // open is not waited for.
                    drop(helpers);
                    let after = deadline.map(|(after, _)| after).unwrap_or_default();
                    return Err(FlyctlError::TimedOut { command: shown, after, tail: tail.into_iter().collect() });
                }
            };
            let target = if is_stdout { &mut output.stdout } else { &mut output.stderr };
            // Kept for the caller to read: lines of at most MAX_LINE_BYTES, at most
            // MAX_RESPONSE_BYTES in all; what does not fit is dropped and said so.
            let kept = line.kept.len().min(limits::MAX_LINE_BYTES);
            let fits = target.len() + kept < limits::MAX_RESPONSE_BYTES;
            if line.len > kept || !fits {
                output.truncated = true;
            }
            if fits {
                let cut = Line { kept: line.kept[..kept].to_vec(), len: line.len.min(kept) };
                target.push_str(&cut.text());
                target.push('\n');
            }
            let shown_line = line.shown(|text| self.redacted(text));
            on_line(&shown_line);
            if tail.len() == limits::MAX_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(shown_line);
        }
        for helper in helpers {
            let _ = helper.join();
        }
        let status = child.wait().map_err(|source| FlyctlError::Spawn { command: shown.clone(), source })?;
        if cancelled() {
            return Err(FlyctlError::Cancelled { command: shown });
        }
        if status.success() {
            Ok(output)
        } else {
            let how = status
                .code()
                .map_or_else(|| "was killed by a signal".to_owned(), |c| format!("exited with status {c}"));
            Err(FlyctlError::Failed { command: shown, how, tail: tail.into_iter().collect() })
        }
    }
}

/// Masks credentials in one line of output: URL credentials ([`crate::secret::mask_urls`]:
/// the password of `scheme://user:password@`, query values), and the value after
/// `password`, `secret` or `token` labels (`Password: x`, `SECRET=x`).
pub fn mask_credentials(line: &str) -> String {
    let out = crate::secret::mask_urls(line);
    // `label: value` and `label=value` where the label names a credential.
    let lower = out.to_ascii_lowercase();
    for word in ["password", "secret", "token"] {
        if let Some(pos) = lower.find(word) {
            let after = &out[pos..];
            if let Some(sep) = after.find([':', '=']) {
                let label = &after[..sep];
                if !label.trim_end().contains(char::is_whitespace) {
                    let value_start = pos + sep + 1;
                    let value = out[value_start..].trim_start();
                    if !value.is_empty() && !value.starts_with("********") {
                        let lead = out.len() - value_start - value.len();
                        return format!("{}********", &out[..value_start + lead]);
                    }
                }
            }
        }
    }
    out
}

fn spawn_reader(
    stream: impl Read + Send + 'static,
    is_stdout: bool,
    tx: mpsc::SyncSender<(bool, Line)>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    spawn_helper(if is_stdout { "flyctl-stdout" } else { "flyctl-stderr" }, move || {
        // Twice the shown length: redaction sees a secret that spans the cut whole.
        let mut reader = LineReader::new(stream, 2 * limits::MAX_LINE_BYTES);
        while let Ok(Some(line)) = reader.next_line() {
            if tx.send((is_stdout, line)).is_err() {
                break;
            }
        }
    })
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// A redactor for every Fly token set in the environment.
fn tokens_from_env() -> Redactor {
    let tokens = Redactor::default();
    for var in crate::target::TOKEN_VARS {
        if let Ok(token) = std::env::var(var) {
            tokens.add_token(&token);
        }
    }
    tokens
}

/// The Fly API token: `FLY_ACCESS_TOKEN`, then `FLY_API_TOKEN` (flyctl's order), as
/// [`FlyTarget::from_env`] reads it.
pub fn token_from_env() -> Option<crate::secret::Secret> {
    FlyTarget::from_env().token
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, body: &str) -> Flyctl {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join("fly");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Flyctl::at(path)
    }

    #[test]
    fn stdin_reaches_flyctl_and_lines_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let fly = script(dir.path(), "cat; echo done >&2");
        let mut lines = Vec::new();
        let out = fly
            .command(&["secrets", "import"])
            .stdin(b"A=1\nB=2\n".to_vec())
            .run(&mut |l| lines.push(l.to_owned()))
            .unwrap();
        assert_eq!(out.stdout, "A=1\nB=2\n");
        assert_eq!(out.stderr, "done\n");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn a_command_past_its_deadline_is_stopped_and_named_even_when_a_grandchild_holds_its_output() {
        let dir = tempfile::tempdir().unwrap();
        // `sleep` (not exec'd) is a grandchild holding stdout open after the shell is killed.
        let fly = script(dir.path(), "echo 'Waiting for cluster x (abc) to be ready...'; sleep 30; echo never");
        let started = std::time::Instant::now();
        let err = fly
            .command(&["mpg", "create"])
            .deadline(std::time::Duration::from_millis(300))
            .run(&mut |_| {})
            .unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the run returned without waiting for sleep");
        assert!(matches!(err, FlyctlError::TimedOut { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "`fly mpg create` did not finish within 0.3s, so it was stopped:\n    Waiting for cluster x (abc) to be ready..."
        );
        let other = tempfile::tempdir().unwrap();
        let quick = script(other.path(), "echo v0.4.87");
        let done = quick.command(&["version"]).deadline(std::time::Duration::from_mins(1)).run(&mut |_| {});
        assert!(done.is_ok(), "a command that ends in time is unaffected: {done:?}");
        assert_eq!(minutes_or_seconds(std::time::Duration::from_mins(20)), "20m");
        assert_eq!(minutes_or_seconds(std::time::Duration::from_secs(90)), "90s");
    }

    #[test]
    fn a_command_run_until_cancelled_stops_when_its_flag_is_set_deadline_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let fly = script(dir.path(), "echo first; sleep 30; echo never");
        for deadline in [None, Some(std::time::Duration::from_mins(1))] {
            let flag = AtomicUsize::new(0);
            let started = std::time::Instant::now();
            let mut lines = Vec::new();
            let err = std::thread::scope(|scope| {
                scope.spawn(|| {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    flag.store(2, Ordering::SeqCst);
                });
                let mut command = fly.command(&["logs", "-a", "x"]).cancel_on(&flag);
                if let Some(after) = deadline {
                    command = command.deadline(after);
                }
                command.run(&mut |l| lines.push(l.to_owned())).unwrap_err()
            });
            assert!(matches!(err, FlyctlError::Cancelled { .. }), "{err:?}");
            assert_eq!(err.to_string(), "`fly logs -a x` was stopped: score-fly was interrupted");
            assert_eq!(lines, ["first"], "what came before the flag was passed on");
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "stopped at once, not after sleep");
        }
        // A flag never set changes nothing, and a short deadline still wins over the ticks.
        let flag = AtomicUsize::new(0);
        let quick = script(dir.path(), "echo v0.4.87");
        assert!(quick.command(&["version"]).cancel_on(&flag).run(&mut |_| {}).is_ok());
        let slow = script(dir.path(), "sleep 30");
        let err = slow
            .command(&["mpg", "create"])
            .cancel_on(&flag)
            .deadline(std::time::Duration::from_millis(120))
            .run(&mut |_| {})
            .unwrap_err();
        assert!(matches!(err, FlyctlError::TimedOut { .. }), "{err:?}");
    }

    #[test]
    fn failure_names_the_command_and_quotes_redacted_output() {
        let dir = tempfile::tempdir().unwrap();
        let fly = script(dir.path(), "echo 'Error: password hunter22 rejected' >&2; exit 3");
        let redactor = Redactor::new(["hunter22"]);
        let err = fly.command(&["postgres", "create", "--name", "x y"]).redact(&redactor).run(&mut |_| {}).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("`fly postgres create --name \"x y\"` exited with status 3:"), "{text}");
        assert!(text.contains("Error: password ******** rejected"), "{text}");
        assert!(!text.contains("hunter22"));
    }

    #[test]
    fn the_token_and_secrets_flyctl_echoes_are_hidden_in_every_form() {
        let dir = tempfile::tempdir().unwrap();
        // As flyctl does when it refuses a token or a value: raw, JSON-escaped, line by line.
        let fly = script(
            dir.path(),
            r#"echo "Error: token $FLY_API_TOKEN refused"
printf 'Error: {"value":"%s"}\n' "$SF_JSON" >&2
cat >&2
exit 1"#,
        );
        let secret = "first \"line\"\n  second line\nok";
        let json = serde_json::to_string(secret).unwrap();
        let redactor = Redactor::new([secret]);
        let mut lines = Vec::new();
        let err = fly
            .command(&["secrets", "import"])
            .env("FLY_API_TOKEN", "FlyV1 fm2_cli-test-token,fm2_second")
            .env("SF_JSON", &json[1..json.len() - 1])
            .stdin(format!("A=\"\"\"{secret}\"\"\"\n").into_bytes())
            .redact(&redactor)
            .run(&mut |l| lines.push(l.to_owned()))
            .unwrap_err();
        let text = format!("{err}\n{}", lines.join("\n"));
        for leaked in ["fm2_cli-test-token", "fm2_second", "first \\\"line", "first \"line", "second line"] {
            assert!(!text.contains(leaked), "{leaked:?} in {text}");
        }
        assert!(text.contains("Error: token ******** refused"), "{text}");
        assert!(text.contains("Error: {\"value\":\"********\"}"), "{text}");
        assert!(text.contains("A=\"\"\"********"), "{text}");
        assert!(text.contains("\n    ok\"\"\""), "a line too short to hide is kept: {text}");
    }

    #[test]
    fn credentials_flyctl_prints_are_masked() {
        assert_eq!(mask_credentials("  Password:    s3cr3t"), "  Password:    ********");
        assert_eq!(
            mask_credentials("  Connection string: postgres://postgres:s3cr3t@demo-pg.flycast:5432"),
            "  Connection string: postgres://postgres:********@demo-pg.flycast:5432"
        );
        assert_eq!(mask_credentials("AWS_SECRET_ACCESS_KEY: tsec_abc"), "AWS_SECRET_ACCESS_KEY: ********");
        assert_eq!(mask_credentials("SECRET=abc"), "SECRET=********");
        assert_eq!(
            mask_credentials("Secrets have been staged, but not set on VMs. Deploy: now"),
            "Secrets have been staged, but not set on VMs. Deploy: now"
        );
        assert_eq!(mask_credentials("see https://fly.io/docs: ok"), "see https://fly.io/docs: ok");
        assert_eq!(
            mask_credentials("Private URL = redis://default:pw@fly-x.upstash.io:6379?token=t"),
            "Private URL = redis://default:********@fly-x.upstash.io:6379?token=********"
        );
    }

    #[test]
    fn variables_reach_flyctl_and_removal_wins() {
        let dir = tempfile::tempdir().unwrap();
        let fly = script(dir.path(), "echo \"x=$SF_TEST_X app=${FLY_APP:-none}\"");
        let out = fly
            .command(&["status"])
            .env("SF_TEST_X", "1")
            .env("FLY_APP", "demo")
            .env_remove("FLY_APP")
            .run(&mut |_| {})
            .unwrap();
        assert_eq!(out.stdout, "x=1 app=none\n");
    }

    #[test]
    fn lines_keep_a_bounded_prefix_and_their_real_length() {
        let text = format!("short\r\n{}\n\nlast", "x".repeat(100_000));
        let mut lines = LineReader::new(text.as_bytes(), 10);
        let short = lines.next_line().unwrap().unwrap();
        assert_eq!((short.text(), short.len, short.is_cut()), ("short".to_owned(), 6, false));
        let long = lines.next_line().unwrap().unwrap();
        assert_eq!((long.kept.len(), long.len, long.is_cut()), (10, 100_000, true));
        assert_eq!(lines.next_line().unwrap().unwrap().len, 0);
        assert_eq!(lines.next_line().unwrap().unwrap().text(), "last");
        assert!(lines.next_line().unwrap().is_none());
    }

    #[test]
    fn shown_lines_are_redacted_whole_then_cut() {
        let secret = "hunter2-hunter2";
        // The secret spans the cut at MAX_LINE_BYTES: redaction still finds it.
        let raw = format!("{}{secret}{}", "a".repeat(limits::MAX_LINE_BYTES - 5), "b".repeat(50_000));
        let mut lines = LineReader::new(raw.as_bytes(), 2 * limits::MAX_LINE_BYTES);
        let line = lines.next_line().unwrap().unwrap();
        let redactor = Redactor::new([secret]);
        let shown = line.shown(|t| redactor.redact(t));
        assert!(!shown.contains("hunter"), "no part of the secret is shown");
        assert!(shown.ends_with(&format!(
            "[... a line of {} bytes, cut to {} (limits::MAX_LINE_BYTES)]",
            raw.len(),
            limits::MAX_LINE_BYTES
        )));
        assert!(shown.len() < limits::MAX_LINE_BYTES + 100);
    }

    #[test]
    fn flyctl_output_is_bounded_in_what_is_kept_shown_and_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let fly = script(
            dir.path(),
            "head -c 3000000 /dev/zero | tr '\\0' x; echo; i=0; while [ $i -lt 40 ]; do echo \"line $i\" >&2; i=$((i+1)); done; exit 2",
        );
        let mut shown = Vec::new();
        let err = fly.command(&["deploy"]).run(&mut |l| shown.push(l.to_owned())).unwrap_err();
        let long: Vec<&String> = shown.iter().filter(|l| l.starts_with("xxxx")).collect();
        assert_eq!(long.len(), 1);
        assert!(long[0].ends_with("[... a line of 3000000 bytes, cut to 4096 (limits::MAX_LINE_BYTES)]"));
        let FlyctlError::Failed { tail, .. } = err else { panic!("{err}") };
        assert_eq!(tail.len(), limits::MAX_TAIL_LINES);
        // (stdout and stderr are read by two threads: their lines may interleave either way.)
        assert!(tail.iter().any(|l| l == "line 39"), "{tail:?}");
        assert!(tail.iter().all(|l| l.len() < limits::MAX_LINE_BYTES + 100));
        let fly = script(dir.path(), "head -c 3000000 /dev/zero | tr '\\0' y; echo; echo done");
        let out = fly.command(&["status"]).run(&mut |_| {}).unwrap();
        assert!(out.truncated);
        assert_eq!(out.stdout, format!("{}\ndone\n", "y".repeat(limits::MAX_LINE_BYTES)));
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let err = Flyctl::at("/nonexistent/fly").command(&["version"]).run(&mut |_| {}).unwrap_err();
        assert!(matches!(err, FlyctlError::NotFound));
    }
}
