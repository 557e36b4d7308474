//! Hostile input (issue 10): one module per class of defect, each starting from the shape
//! of input that once broke score-fly, each run as a **probe**: the real binary under a
//! memory limit (`RLIMIT_AS`, set by util-linux's `prlimit`) and a timeout, so a
//! regression fails the test (killed, aborted, out of memory, too slow) instead of hanging
//! CI or exhausting the machine.
//!
//! - [`bounds`]: documents (alias bombs, deep trees, huge key counts, sizes), overrides,
//!   `#[score_workload]` arguments, placeholder expansion;
//! - [`sources`]: `source` files (FIFOs, devices, sizes, outside the project, `/proc`);
//! - [`bounds_io`]: provisioner output (stdout, stderr, responses nested deep) and the
//!   state round trip (whatever is written can be read back);
//! - [`numbers`]: durations and numbers validated where they enter, header and command
//!   text that fly.toml cannot carry;
//! - [`paths`]: outputs that name inputs or project files, planted symlinks, temp files;
//! - [`secrets`]: redaction in every encoding, URL credentials, `source` files outside the
//!   project, laundered secrets;
//! - [`identity`]: explicit ids against private uids, hostile names in generated comments;
//! - [`fuzz_regressions`]: every crash the fuzzers (`scripts/fuzz.sh`) found.

mod bounds;
mod bounds_io;
mod fuzz_regressions;
mod identity;
mod numbers;
mod paths;
mod secrets;
mod sources;

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{BIN, Project, Run};

/// The address space a probe may use (`RLIMIT_AS`): issue 10's bound of "about 1 GiB".
pub(crate) const PROBE_MEMORY_BYTES: u64 = 1 << 30;

/// How long a probe may run before it counts as a hang.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes of each output stream a probe keeps (the rest is counted, not stored).
const KEEP_BYTES: usize = 4 * 1024 * 1024;

/// What a probe did: the run (its output cut at [`KEEP_BYTES`]) and the real output sizes.
#[derive(Debug)]
pub(crate) struct Probe {
    /// Exit code and (kept) output.
    pub(crate) run: Run,
    /// Bytes written on stdout.
    pub(crate) stdout_bytes: usize,
    /// Bytes written on stderr.
    pub(crate) stderr_bytes: usize,
}

impl std::ops::Deref for Probe {
    type Target = Run;
    fn deref(&self) -> &Run {
        &self.run
    }
}

/// A probe to run in `project`: arguments, environment, stdin.
pub(crate) struct ProbeCommand<'p> {
    project: &'p Project,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    dir: Option<std::path::PathBuf>,
    timeout: Duration,
    tolerated_abort: Option<&'static str>,
}

impl Project {
    /// A probe of the binary with `args`, run in this project (see [`ProbeCommand::run`]).
    pub(crate) fn probe(&self, args: &[&str]) -> ProbeCommand<'_> {
        ProbeCommand {
            project: self,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: Vec::new(),
            stdin: None,
            dir: None,
            timeout: PROBE_TIMEOUT,
            tolerated_abort: None,
        }
    }
}

impl ProbeCommand<'_> {
    /// Sets an environment variable.
    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Feeds `bytes` on stdin.
    pub(crate) fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs in the folder `dir` of the project.
    pub(crate) fn in_dir(mut self, dir: &str) -> Self {
        self.dir = Some(self.project.path().join(dir));
        self
    }

    /// A shorter (or longer) deadline than [`PROBE_TIMEOUT`].
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Accepts one abort: the process killed by `SIGABRT` after printing `message` counts as
    /// a finished run (exit code `-1`). For the one abort score-fly cannot prevent: Rust's
    /// runtime aborts when it cannot map a new thread's signal stack (an exhausted address
    /// space), before any code of ours runs on that thread.
    pub(crate) fn tolerate_abort(mut self, message: &'static str) -> Self {
        self.tolerated_abort = Some(message);
        self
    }

    /// Runs the probe. Panics — failing the test — if the binary was killed or aborted (a
    /// stack overflow, an allocation refused by the memory limit, a panic that aborts), or
    /// did not finish within the timeout (then it is killed first).
    pub(crate) fn run(self) -> Probe {
        let mut command = Command::new("prlimit");
        command.arg(format!("--as={PROBE_MEMORY_BYTES}")).arg("--").arg(BIN);
        // glibc reserves 64 MiB of address space per malloc arena (up to 8 per core), which
        // counts against RLIMIT_AS without being used: with 16 provisioner threads that alone
        // reached the limit. Two arenas keep the limit about memory really touched.
        command.env("MALLOC_ARENA_MAX", "2");
        let inner = self.project.command(&self.args);
        // Take the project's clean environment and folder, but run through prlimit.
        for (key, value) in inner.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command.args(inner.get_args());
        command.current_dir(self.dir.as_deref().unwrap_or(self.project.path()));
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("run prlimit (util-linux) with cargo-score-fly");
        if let Some(bytes) = self.stdin {
            let mut stdin = child.stdin.take().expect("piped");
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        let keep = |mut stream: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let mut total = 0usize;
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    total += n;
                    let room = KEEP_BYTES.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                (kept, total)
            })
        };
        let stdout = keep(Box::new(child.stdout.take().expect("piped")));
        let stderr = keep(Box::new(child.stderr.take().expect("piped")));
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the probe") {
                break status;
            }
            if started.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                let (err, _) = stderr.join().expect("stderr reader");
                panic!(
                    "probe `{}` hung: still running after {:?} (killed)\n--- stderr (start) ---\n{}",
                    self.args.join(" "),
                    self.timeout,
                    String::from_utf8_lossy(&err[..err.len().min(4096)])
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let (out, stdout_bytes) = stdout.join().expect("stdout reader");
        let (err, stderr_bytes) = stderr.join().expect("stderr reader");
        let stderr_text = String::from_utf8_lossy(&err).into_owned();
        let tolerated = self.tolerated_abort.is_some_and(|m| stderr_text.contains(m));
        let code = match status.code() {
            None if tolerated && std::os::unix::process::ExitStatusExt::signal(&status) == Some(6) => Some(-1),
            code => code,
        };
        let Some(code) = code else {
            panic!(
                "probe `{}` was killed by a signal ({status}): a stack overflow, an abort, or memory beyond {} MiB\n--- stderr (end) ---\n{}",
                self.args.join(" "),
                PROBE_MEMORY_BYTES >> 20,
                tail(&stderr_text)
            );
        };
        assert!(
            tolerated || (!stderr_text.contains("panicked at") && !stderr_text.contains("memory allocation of")),
            "probe `{}` panicked or ran out of memory (exit {code})\n--- stderr (end) ---\n{}",
            self.args.join(" "),
            tail(&stderr_text)
        );
        Probe {
            run: Run { code, stdout: String::from_utf8_lossy(&out).into_owned(), stderr: stderr_text },
            stdout_bytes,
            stderr_bytes,
        }
    }
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(4096);
    let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
    &text[start..]
}

#[test]
fn a_probe_runs_the_binary_under_the_limits() {
    let project = Project::with_score(crate::support::WEB);
    let probe = project
        .probe(&["generate", "--app-prefix", "demo-"])
        .env("FLY_REGION", "ams")
        .stdin("")
        .in_dir("")
        .timeout(PROBE_TIMEOUT)
        .run();
    probe.assert_code(0);
    assert!(project.path().join("fly_web.toml").exists());
    assert_eq!((probe.stdout_bytes, probe.stderr_bytes), (probe.stdout.len(), probe.stderr.len()));
    // The limit is really applied: a binary that needs more than it fails.
    let out =
        Command::new("prlimit").arg("--as=16777216").arg("--").arg(BIN).arg("--version").output().expect("run prlimit");
    assert!(!out.status.success(), "a 16 MiB address space is too small to start the binary at all");
}
