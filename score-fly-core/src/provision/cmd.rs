//! `cmd` provisioners: a program with the request on stdin and the response on stdout.
//!
//! The program runs in the project folder, in its own process group (so a timeout kills it
//! and everything it started), with `SCORE_PROVISIONER_MODE` in its environment and
//! `$SCORE_PROVISIONER_MODE` replaced in its arguments. Its stderr is passed through line by
//! line (secrets redacted, each line cut to [`limits::MAX_LINE_BYTES`]); a non-zero exit
//! quotes the last [`limits::MAX_TAIL_LINES`] lines. Its stdout (the response) is read up to
//! [`limits::MAX_RESPONSE_BYTES`]: one byte more stops the program. Threads that cannot start
//! (the system is short of threads or memory) fail the call; they never panic.

use std::collections::VecDeque;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::CallContext;
use super::definition::CmdDef;
use super::protocol::{Mode, ProtocolError, Request, Response, parse_response};
use crate::fly::annotations::format_duration;
use crate::flyio::cli::{Line, LineReader, PENDING_LINES, spawn_helper};
use crate::limits;

/// A request this small is written at once: a fresh pipe holds at least this much (Linux's
/// `PIPE_BUF`, one page), so the write cannot block.
const INLINE_REQUEST_BYTES: usize = 4096;

/// Why a `cmd` provisioner call failed. Quoted stderr lines were redacted as they were read.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// The request could not be encoded.
    #[error("cannot encode the request: {0}")]
    Encode(#[source] serde_json::Error),
    /// The program could not be started.
    #[error("cannot run `{binary}`: {source} (check `cmd.binary`)")]
    Spawn {
        /// `cmd.binary`.
        binary: String,
        /// Why.
        source: std::io::Error,
    },
    /// A thread to write its input or read its output could not be started.
    #[error(
        "cannot start a thread to talk to `{binary}`: {source} (the system is short of threads or memory; try fewer jobs with -j)"
    )]
    Threads {
        /// `cmd.binary`.
        binary: String,
        /// Why.
        source: std::io::Error,
    },
    /// It printed more than a response may be, and was stopped.
    #[error(
        "`{binary}` (provisioner `{provisioner}`) printed more than {limit} bytes on stdout (limits::MAX_RESPONSE_BYTES), so it was stopped; a response must be smaller: keep large data out of it"
    )]
    TooBig {
        /// `cmd.binary`.
        binary: String,
        /// The provisioner's id.
        provisioner: String,
        /// [`limits::MAX_RESPONSE_BYTES`].
        limit: usize,
    },
    /// It ran longer than its timeout, and was stopped.
    #[error(
        "timed out after {} (set `cmd.timeout` to allow longer, at most {})",
        format_duration(*.timeout),
        format_duration(limits::MAX_TIMEOUT)
    )]
    TimedOut {
        /// The timeout.
        timeout: Duration,
    },
    /// Waiting for it failed.
    #[error("cannot wait for `{binary}`: {source}")]
    Wait {
        /// `cmd.binary`.
        binary: String,
        /// Why.
        source: std::io::Error,
    },
    /// Its output could not be read.
    #[error("cannot read the output of `{binary}`: {source}")]
    ReadOutput {
        /// `cmd.binary`.
        binary: String,
        /// Why.
        source: std::io::Error,
    },
    /// Its output stayed open after it exited.
    #[error("the output of `{binary}` never ended (a process it started kept it open)")]
    OutputNeverEnded {
        /// `cmd.binary`.
        binary: String,
    },
    /// It exited unsuccessfully.
    #[error("`{binary}` {how}{}", quote_tail(.tail))]
    Exited {
        /// `cmd.binary`.
        binary: String,
        /// How it ended.
        how: Exit,
        /// The last lines of its stderr (redacted).
        tail: Vec<String>,
    },
    /// A provision that printed nothing on stdout.
    #[error("`{binary}` printed no response on stdout{}", quote_tail(.tail))]
    NoResponse {
        /// `cmd.binary`.
        binary: String,
        /// The last lines of its stderr (redacted).
        tail: Vec<String>,
    },
    /// What it printed is not a response.
    #[error("the output of `{binary}` is not a provisioner response: {source}")]
    BadResponse {
        /// `cmd.binary`.
        binary: String,
        /// What is wrong with it.
        source: ProtocolError,
    },
}

/// How a program that failed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// With this status.
    Status(i32),
    /// Killed by a signal.
    Signal,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Status(code) => write!(f, "exited with status {code}"),
            Exit::Signal => f.write_str("was killed by a signal"),
        }
    }
}

/// The end of a program's stderr, as a message quotes it.
fn quote_tail(tail: &[String]) -> String {
    if tail.is_empty() {
        String::from(" (it wrote nothing on stderr)")
    } else {
        format!("; the end of its stderr:\n    {}", tail.join("\n    "))
    }
}

/// What the stdout reader got.
enum Stdout {
    /// The whole output (at most [`limits::MAX_RESPONSE_BYTES`]).
    Done(Vec<u8>),
    /// More than [`limits::MAX_RESPONSE_BYTES`]: reading stopped there.
    TooBig,
    /// Reading failed.
    Failed(std::io::Error),
}

/// Runs a cmd provisioner (`provisioner` is its id, for messages) once.
pub(super) fn call(
    def: &CmdDef,
    provisioner: &str,
    mode: Mode,
    request: &Request,
    timeout: Duration,
    cx: &CallContext<'_>,
) -> Result<Option<Response>, CmdError> {
    let binary = resolve_binary(&def.binary, cx.project_root);
    let args: Vec<String> = def
        .args
        .iter()
        .map(|a| {
            a.replace("${SCORE_PROVISIONER_MODE}", mode.as_str()).replace("$SCORE_PROVISIONER_MODE", mode.as_str())
        })
        .collect();
    let body = serde_json::to_vec(request).map_err(CmdError::Encode)?;
    let mut command = Command::new(&binary);
    command
        .args(&args)
        .current_dir(if cx.project_root.as_os_str().is_empty() { Path::new(".") } else { cx.project_root })
        .env("SCORE_PROVISIONER_MODE", mode.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(|source| CmdError::Spawn { binary: def.binary.clone(), source })?;
    // The helpers are detached: a process the provisioner leaves behind may hold the pipes
    // open for ever, and must not hold this call with them.
    let (out_rx, err_rx) = match start_helpers(&mut child, body) {
        Ok(channels) => channels,
        Err(source) => {
            kill_group(&mut child);
            return Err(CmdError::Threads { binary: def.binary.clone(), source });
        }
    };

    let mut tail: VecDeque<String> = VecDeque::new();
    let mut forward = |line: &Line| {
        let shown = line.shown(|text| cx.redactor.redact(text));
        cx.events.output(cx.uid, &shown);
        if tail.len() == limits::MAX_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(shown);
    };
    let too_big = || CmdError::TooBig {
        binary: def.binary.clone(),
        provisioner: provisioner.to_owned(),
        limit: limits::MAX_RESPONSE_BYTES,
    };
    let mut output = None;
    let started = Instant::now();
    let status = loop {
        if output.is_none()
            && let Ok(result) = out_rx.try_recv()
        {
            output = Some(result);
        }
        if matches!(output, Some(Stdout::TooBig)) {
            kill_group(&mut child);
            return Err(too_big());
        }
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() >= timeout => {
                kill_group(&mut child);
                break Err(CmdError::TimedOut { timeout });
            }
            Ok(None) => {
                // Waiting on stderr doubles as the pause between checks.
                if let Ok(line) = err_rx.recv_timeout(Duration::from_millis(10)) {
                    forward(&line);
                }
            }
            Err(source) => {
                kill_group(&mut child);
                break Err(CmdError::Wait { binary: def.binary.clone(), source });
            }
        }
    };
    // The program is gone; its output ends when every process holding the pipes is gone.
    // Give what it left behind a moment, then stop its process group too.
    let mut stderr_open = true;
    let mut killed = false;
    let mut deadline = Instant::now() + Duration::from_secs(5);
    while output.is_none() || stderr_open {
        if output.is_none()
            && let Ok(result) = out_rx.try_recv()
        {
            output = Some(result);
        }
        match err_rx.recv_timeout(Duration::from_millis(10)) {
            Ok(line) => forward(&line),
            Err(mpsc::RecvTimeoutError::Disconnected) => stderr_open = false,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() >= deadline {
            if killed {
                break; // Held by something outside its process group: give up on the rest.
            }
            kill_group(&mut child);
            killed = true;
            deadline = Instant::now() + Duration::from_secs(2);
        }
    }
    if matches!(output, Some(Stdout::TooBig)) {
        // Whatever the exit status says: the program was stopped for this.
        return Err(too_big());
    }
    let output = match output {
        Some(Stdout::Done(bytes)) => Ok(bytes),
        Some(Stdout::TooBig) => Err(too_big()),
        Some(Stdout::Failed(source)) => Err(CmdError::ReadOutput { binary: def.binary.clone(), source }),
        None => Err(CmdError::OutputNeverEnded { binary: def.binary.clone() }),
    };
    let status = status?;
    if !status.success() {
        let how = status.code().map_or(Exit::Signal, Exit::Status);
        return Err(CmdError::Exited { binary: def.binary.clone(), how, tail: tail.into() });
    }
    let output = output?;
    match (mode, parse_response(&output)) {
        (Mode::Provision, Ok(None)) => Err(CmdError::NoResponse { binary: def.binary.clone(), tail: tail.into() }),
        (_, Ok(response)) => Ok(response),
        (_, Err(source)) => Err(CmdError::BadResponse { binary: def.binary.clone(), source }),
    }
}

/// Starts the threads that write the request and read stdout (at most
/// [`limits::MAX_RESPONSE_BYTES`] + 1 bytes) and stderr (line by line, each line bounded).
fn start_helpers(child: &mut Child, body: Vec<u8>) -> std::io::Result<(mpsc::Receiver<Stdout>, mpsc::Receiver<Line>)> {
    let not_piped = || std::io::Error::other("a pipe of the child is missing");
    let mut stdin = child.stdin.take().ok_or_else(not_piped)?;
    let mut stdout = child.stdout.take().ok_or_else(not_piped)?;
    let stderr = child.stderr.take().ok_or_else(not_piped)?;
    if body.len() <= INLINE_REQUEST_BYTES {
        // Fits in the empty pipe: the write cannot block, and needs no thread. A provisioner
        // may exit without reading its input; that is not our error.
        let _ = stdin.write_all(&body);
        drop(stdin);
    } else {
        spawn_helper("provisioner-stdin", move || {
            let _ = stdin.write_all(&body);
        })?;
    }
    let (out_tx, out_rx) = mpsc::channel();
    spawn_helper("provisioner-stdout", move || {
        let mut buf = Vec::new();
        let limit = u64::try_from(limits::MAX_RESPONSE_BYTES).unwrap_or(u64::MAX).saturating_add(1);
        let result = match (&mut stdout).take(limit).read_to_end(&mut buf) {
            Ok(_) if buf.len() > limits::MAX_RESPONSE_BYTES => Stdout::TooBig,
            Ok(_) => Stdout::Done(buf),
            Err(e) => Stdout::Failed(e),
        };
        // Told first, so the caller stops the program for this reason; then the pipe is
        // closed: a write past the limit fails instead of blocking.
        let _ = out_tx.send(result);
        drop(stdout);
    })?;
    let (err_tx, err_rx) = mpsc::sync_channel::<Line>(PENDING_LINES);
    spawn_helper("provisioner-stderr", move || {
        // Twice the shown length: redaction sees a secret that spans the cut whole.
        let mut lines = LineReader::new(stderr, 2 * limits::MAX_LINE_BYTES);
        while let Ok(Some(line)) = lines.next_line() {
            if err_tx.send(line).is_err() {
                break;
            }
        }
    })?;
    Ok((out_rx, err_rx))
}

/// `./x` and `dir/x` are relative to the project folder; bare names are looked up on PATH.
fn resolve_binary(binary: &str, root: &Path) -> std::path::PathBuf {
    let path = Path::new(binary);
    if path.is_relative() && binary.contains('/') { root.join(path) } else { path.to_path_buf() }
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let pid = rustix::process::Pid::from_child(child);
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::{NoEvents, Redactor};

    /// Calls `./prov.sh` (with `body`) in a temporary folder with a request whose params hold
    /// `padding` bytes.
    fn call_script(body: &str, padding: usize) -> Result<Option<Response>, CmdError> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("prov.sh");
        std::fs::write(&script, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let request = Request {
            resource_uid: "t.default#w.r".into(),
            resource_type: "t".into(),
            resource_class: "default".into(),
            resource_id: "w.r".into(),
            state: serde_json::Map::new(),
            shared: serde_json::json!({}),
            resource_params: [("pad".to_owned(), serde_json::Value::from("p".repeat(padding)))].into_iter().collect(),
            resource_metadata: serde_json::Map::new(),
        };
        let def = CmdDef { binary: "./prov.sh".into(), args: Vec::new(), timeout: None };
        let redactor = Redactor::default();
        let cx = CallContext {
            uid: "t.default#w.r",
            project_root: dir.path(),
            redactor: &redactor,
            events: &NoEvents,
            builtins: &crate::provision::NoBuiltins,
            declared_by: &[],
        };
        call(&def, "p", Mode::Provision, &request, Duration::from_secs(20), &cx)
    }

    #[test]
    fn small_and_large_requests_arrive_whole() {
        let echo_size = "n=$(wc -c)\necho \"{\\\"values\\\": {\\\"n\\\": $n}}\"\n";
        for padding in [0, INLINE_REQUEST_BYTES, 1 << 20] {
            let response = call_script(echo_size, padding).unwrap().unwrap();
            let n = response.values["n"].as_u64().unwrap();
            assert!(
                n >= u64::try_from(padding).unwrap() && n < u64::try_from(padding).unwrap() + 400,
                "{padding}: {n}"
            );
        }
        // A provisioner that reads nothing and exits: not an error of ours, whatever the size.
        for padding in [0, 1 << 20] {
            let response = call_script("echo '{\"values\": {}}'\n", padding).unwrap();
            assert!(response.is_some());
        }
    }

    #[test]
    fn stdout_past_the_limit_stops_the_provisioner() {
        let e = call_script("cat > /dev/null\nexec cat /dev/zero\n", 0).unwrap_err();
        assert!(
            matches!(&e, CmdError::TooBig { provisioner, limit, .. } if provisioner == "p" && *limit == limits::MAX_RESPONSE_BYTES)
        );
        let e = e.to_string();
        assert!(e.starts_with("`./prov.sh` (provisioner `p`) printed more than 8388608 bytes on stdout"), "{e}");
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    fn io() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::NotFound)
    }

    #[test]
    fn messages_name_the_program_and_quote_its_stderr() {
        let binary = || "./p.sh".to_owned();
        let errors = [
            CmdError::Spawn { binary: binary(), source: io() },
            CmdError::Threads { binary: binary(), source: io() },
            CmdError::TooBig { binary: binary(), provisioner: "pg".into(), limit: 8 },
            CmdError::TimedOut { timeout: Duration::from_secs(90) },
            CmdError::Wait { binary: binary(), source: io() },
            CmdError::ReadOutput { binary: binary(), source: io() },
            CmdError::OutputNeverEnded { binary: binary() },
            CmdError::Exited { binary: binary(), how: Exit::Status(3), tail: vec!["a".into(), "b".into()] },
            CmdError::Exited { binary: binary(), how: Exit::Signal, tail: Vec::new() },
            CmdError::NoResponse { binary: binary(), tail: Vec::new() },
            CmdError::BadResponse { binary: binary(), source: ProtocolError::ResponseNotObject { found: "an array" } },
        ];
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let not_found = io().to_string();
        assert_eq!(
            messages.join("\n"),
            format!(
                "cannot run `./p.sh`: {not_found} (check `cmd.binary`)
cannot start a thread to talk to `./p.sh`: {not_found} (the system is short of threads or memory; try fewer jobs with -j)
`./p.sh` (provisioner `pg`) printed more than 8 bytes on stdout (limits::MAX_RESPONSE_BYTES), so it was stopped; a response must be smaller: keep large data out of it
timed out after 90s (set `cmd.timeout` to allow longer, at most 24h)
cannot wait for `./p.sh`: {not_found}
cannot read the output of `./p.sh`: {not_found}
the output of `./p.sh` never ended (a process it started kept it open)
`./p.sh` exited with status 3; the end of its stderr:
    a
    b
`./p.sh` was killed by a signal (it wrote nothing on stderr)
`./p.sh` printed no response on stdout (it wrote nothing on stderr)
the output of `./p.sh` is not a provisioner response: it must be a JSON object {{state, values, secrets, shared}}, found an array"
            )
        );
    }

    #[test]
    fn a_failing_program_is_a_typed_error_with_its_stderr() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("prov.sh");
        std::fs::write(&script, "#!/bin/sh\necho 'Error: token hunter22' >&2\nexit 4\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let request: Request = serde_json::from_value(serde_json::json!({
            "resource_uid": "t.default#w.r", "resource_type": "t", "resource_class": "default", "resource_id": "w.r"
        }))
        .unwrap();
        let redactor = crate::provision::Redactor::default();
        redactor.add(["hunter22"]);
        let cx = CallContext {
            uid: "t.default#w.r",
            project_root: dir.path(),
            redactor: &redactor,
            events: &crate::provision::NoEvents,
            builtins: &crate::provision::NoBuiltins,
            declared_by: &[],
        };
        let def = CmdDef { binary: "./prov.sh".into(), args: Vec::new(), timeout: None };
        let e = call(&def, "p", Mode::Provision, &request, Duration::from_secs(20), &cx).unwrap_err();
        let CmdError::Exited { binary, how, tail } = &e else { panic!("{e}") };
        assert_eq!(
            (binary.as_str(), *how, tail.as_slice()),
            ("./prov.sh", Exit::Status(4), &["Error: token ********".to_owned()][..])
        );
    }
}
