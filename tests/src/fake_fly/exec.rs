//! `exec` on a Postgres machine: runs `psql`, `sh -c` or `bash -c` for real on this host
//! against the Postgres of [`PostgresTarget`], and answers what it printed.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::PostgresTarget;
use super::http::Response;

/// The timeout when the request gives none (seconds).
const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// Splits a command line into words like a POSIX shell does (quotes and backslashes; no
/// expansions). `None` when a quote is not closed.
pub(crate) fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => word.push(other),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            escaped @ ('"' | '\\' | '$' | '`') => word.push(escaped),
                            '\n' => {}
                            other => {
                                word.push('\\');
                                word.push(other);
                            }
                        },
                        other => word.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(other) => word.push(other),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Runs the command of an exec request and answers `{"stdout","stderr","exit_code"}`.
pub(super) fn exec(target: Option<&PostgresTarget>, body: &Value) -> Response {
    let argv: Vec<String> = if let Some(command) = body.get("command") {
        let Some(items) = command.as_array() else {
            return Response::error(400, "command must be an array of strings");
        };
        let argv: Option<Vec<String>> = items.iter().map(|v| v.as_str().map(str::to_owned)).collect();
        let Some(argv) = argv else { return Response::error(400, "command must be an array of strings") };
        argv
    } else if let Some(cmd) = body.get("cmd").and_then(Value::as_str) {
        let Some(argv) = shell_words(cmd) else { return Response::error(400, "cmd has an unclosed quote") };
        argv
    } else {
        return Response::error(400, "command (an array of strings) or cmd (a string) is required");
    };
    let timeout = match body.get("timeout") {
        None | Some(Value::Null) => DEFAULT_TIMEOUT_SECS,
        Some(value) => match value.as_u64() {
            Some(0) => DEFAULT_TIMEOUT_SECS,
            Some(secs) => secs,
            None => return Response::error(400, "timeout must be a whole number of seconds"),
        },
    };
    let Some(target) = target else {
        return Response::error(
            503,
            "fake fly: no PostgreSQL to run exec against (set FakeFlyOptions::postgres, e.g. from PgServer::target)",
        );
    };
    let Some(first) = argv.first() else { return Response::error(400, "command is empty") };
    let program = first.rsplit('/').next().unwrap_or(first);
    let mut command = match program {
        "psql" => {
            let psql = target.bin_dir.as_ref().map(|d| d.join("psql")).filter(|p| p.is_file());
            let mut command = Command::new(psql.map_or_else(|| "psql".into(), std::path::PathBuf::into_os_string));
            command.args(&argv[1..]);
            command
        }
        "sh" | "bash" if argv.get(1).map(String::as_str) == Some("-c") && argv.len() >= 3 => {
            let mut command = Command::new(program);
            command.args(&argv[1..]);
            command
        }
        _ => {
            return Response::error(
                400,
                &format!("fake fly: exec runs `psql ...`, `sh -c SCRIPT` or `bash -c SCRIPT`, not {argv:?}"),
            );
        }
    };
    let mut path = String::new();
    if let Some(bin) = &target.bin_dir {
        path.push_str(&bin.display().to_string());
        path.push(':');
    }
    path.push_str("/usr/local/bin:/usr/bin:/bin");
    command
        .env_clear()
        .env("PATH", path)
        .env("HOME", &target.socket_dir)
        .env("PGHOST", &target.socket_dir)
        .env("PGPORT", target.port.to_string())
        .env("PGUSER", &target.superuser)
        .env("PSQLRC", "/dev/null")
        .env("PSQL_HISTORY", "/dev/null")
        .current_dir(&target.socket_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return Response::error(500, &format!("fake fly: cannot start {program}: {error}")),
    };
    let mut stdout_pipe = child.stdout.take().expect("piped stdout");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stdout_reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut out);
        out
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut out);
        out
    });
    let Some(deadline) = Instant::now().checked_add(Duration::from_secs(timeout)) else {
        let _ = child.kill();
        let _ = child.wait();
        return Response::error(400, "timeout is too long");
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Response::error(408, &format!("deadline_exceeded: the command ran longer than {timeout}s"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(error) => return Response::error(500, &format!("fake fly: cannot wait for {program}: {error}")),
        }
    };
    let stdout = String::from_utf8_lossy(&stdout_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&stderr_reader.join().unwrap_or_default()).into_owned();
    let mut answer = json!({ "stdout": stdout, "stderr": stderr, "exit_code": status.code().unwrap_or(-1) });
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        answer["exit_signal"] = json!(signal);
    }
    Response::json(200, &answer)
}

#[cfg(test)]
mod tests {
    use super::shell_words;

    #[test]
    fn words_split_like_sh() {
        assert_eq!(
            shell_words(r#"psql -c "select 'a b'" x\ y 'it''s'"#).unwrap(),
            vec!["psql", "-c", "select 'a b'", "x y", "its"]
        );
        assert_eq!(shell_words(r#"echo "a\"b" ''"#).unwrap(), vec!["echo", "a\"b", ""]);
        assert!(shell_words("echo 'open").is_none());
    }
}
