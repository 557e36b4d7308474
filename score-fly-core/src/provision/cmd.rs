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

use super::definition::CmdDef;
use super::protocol::{Mode, Request, Response, parse_response};
use super::{CallContext, Redactor};

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
    let writer = std::thread::spawn(move || {
        // A provisioner may exit without reading its input; that is not our error.
        let _ = stdin.write_all(&body);
    });
    let mut stdout = child.stdout.take().expect("piped");
    let (out_tx, out_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let result = stdout.read_to_end(&mut buf).map(|_| buf);
        let _ = out_tx.send(result);
    });
    let stderr = child.stderr.take().expect("piped");
    let (err_tx, err_rx) = mpsc::channel::<VecDeque<String>>();
    let uid = cx.uid.to_owned();
    let events = cx.events;
    let redactor: &Redactor = cx.redactor;
    let tail = std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut tail = VecDeque::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let line = redactor.redact(&line);
                events.output(&uid, &line);
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
            let _ = err_tx.send(tail);
        });

        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if started.elapsed() >= timeout => {
                    kill_group(&mut child);
                    break Err(format!("timed out after {} (set `cmd.timeout` to allow longer)", human(timeout)));
                }
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(e) => break Err(format!("cannot wait for `{}`: {e}", def.binary)),
            }
        };
        // Output pipes may be held open by something the program left behind: wait a
        // little, then stop it too.
        let output = if let Ok(result) = out_rx.recv_timeout(Duration::from_secs(5)) {
            result.map_err(|e| format!("cannot read the output of `{}`: {e}", def.binary))
        } else {
            kill_group(&mut child);
            out_rx
                .recv_timeout(Duration::from_secs(5))
                .map_err(|_| "its output never ended".to_owned())
                .and_then(|r| r.map_err(|e| e.to_string()))
        };
        let tail = err_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
        (status, output, tail)
    });
    let _ = writer.join();
    let (status, output, tail) = tail;
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
