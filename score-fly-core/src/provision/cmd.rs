//! `cmd` provisioners: a program with the request on stdin and the response on stdout.
//!
//! The program runs in the project folder, in its own process group (so a timeout kills it
//! and everything it started), with `SCORE_PROVISIONER_MODE` in its environment and
//! `$SCORE_PROVISIONER_MODE` replaced in its arguments. Its stderr is passed through line by
//! line (secrets redacted); a non-zero exit quotes the tail of it.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::CallContext;
use super::definition::CmdDef;
use super::protocol::{Mode, Request, Response, parse_response};

/// How many stderr lines an error quotes.
const TAIL_LINES: usize = 20;

/// Runs a cmd provisioner once.
pub(super) fn call(
    def: &CmdDef,
    mode: Mode,
    request: &Request,
    timeout: Duration,
    cx: &CallContext<'_>,
) -> Result<Option<Response>, String> {
    let binary = resolve_binary(&def.binary, cx.project_root);
    let args: Vec<String> = def
        .args
        .iter()
        .map(|a| {
            a.replace("${SCORE_PROVISIONER_MODE}", mode.as_str()).replace("$SCORE_PROVISIONER_MODE", mode.as_str())
        })
        .collect();
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
    let mut child = command.spawn().map_err(|e| format!("cannot run `{}`: {e} (check `cmd.binary`)", def.binary))?;

    let body = serde_json::to_vec(request).expect("requests serialise");
    let mut stdin = child.stdin.take().expect("piped");
    std::thread::spawn(move || {
        // A provisioner may exit without reading its input; that is not our error.
        let _ = stdin.write_all(&body);
    });
    // The readers are detached: a process the provisioner leaves behind may hold the pipes
    // open for ever, and must not hold this call with them.
    let mut stdout = child.stdout.take().expect("piped");
    let (out_tx, out_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let result = stdout.read_to_end(&mut buf).map(|_| buf);
        let _ = out_tx.send(result);
    });
    let stderr = child.stderr.take().expect("piped");
    let (err_tx, err_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if err_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut tail: VecDeque<String> = VecDeque::new();
    let mut forward = |line: String| {
        let line = cx.redactor.redact(&line);
        cx.events.output(cx.uid, &line);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() >= timeout => {
                kill_group(&mut child);
                break Err(format!("timed out after {} (set `cmd.timeout` to allow longer)", human(timeout)));
            }
            Ok(None) => {
                // Waiting on stderr doubles as the pause between checks.
                if let Ok(line) = err_rx.recv_timeout(Duration::from_millis(10)) {
                    forward(line);
                }
            }
            Err(e) => break Err(format!("cannot wait for `{}`: {e}", def.binary)),
        }
    };
    // The program is gone; its output ends when every process holding the pipes is gone.
    // Give what it left behind a moment, then stop its process group too.
    let mut output = None;
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
            Ok(line) => forward(line),
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
    let output = match output {
        Some(result) => result.map_err(|e| format!("cannot read the output of `{}`: {e}", def.binary)),
        None => Err(format!("the output of `{}` never ended (a process it started kept it open)", def.binary)),
    };
    let status = status?;
    let quoted = || {
        if tail.is_empty() {
            String::from(" (it wrote nothing on stderr)")
        } else {
            format!("; the end of its stderr:\n    {}", tail.iter().cloned().collect::<Vec<_>>().join("\n    "))
        }
    };
    if !status.success() {
        let how =
            status.code().map_or_else(|| "was killed by a signal".to_owned(), |c| format!("exited with status {c}"));
        return Err(format!("`{}` {how}{}", def.binary, quoted()));
    }
    let output = output?;
    match (mode, parse_response(&output)) {
        (Mode::Provision, Ok(None)) => Err(format!("`{}` printed no response on stdout{}", def.binary, quoted())),
        (_, Ok(response)) => Ok(response),
        (_, Err(e)) => Err(format!("the output of `{}` is not a provisioner response: {e}", def.binary)),
    }
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

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 && s % 60.0 == 0.0 { format!("{}m", s / 60.0) } else { format!("{s}s") }
}
