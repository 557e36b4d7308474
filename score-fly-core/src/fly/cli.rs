//! flyctl as a subprocess.
//!
//! The program is `FLY_BIN` when set, else `fly` or `flyctl` on `PATH` (the names flyctl
//! installs). Secrets go to flyctl on **stdin** only (`fly secrets import`), never in
//! arguments. Every line flyctl prints is handed to a callback (after redaction) so callers
//! can show progress; a failure names the command and quotes the end of its output.
//!
//! Redaction: the caller's [`Redactor`] (the secrets it knows), and always the Fly token
//! flyctl is given (`FLY_ACCESS_TOKEN`/`FLY_API_TOKEN` from the environment or set with
//! [`Invocation::env`]), since flyctl may quote it when it is refused.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use crate::secret::Redactor;

/// How many output lines an error quotes.
const TAIL_LINES: usize = 15;

/// flyctl could not be run, or failed.
#[derive(Debug, thiserror::Error)]
pub enum FlyctlError {
    /// No flyctl was found.
    #[error(
        "flyctl was not found: install it (https://fly.io/docs/flyctl/install/) so `fly` is on PATH, or set FLY_BIN to its path"
    )]
    NotFound,
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
}

fn quote(tail: &[String]) -> String {
    if tail.is_empty() { " (it printed nothing)".to_owned() } else { format!(":\n    {}", tail.join("\n    ")) }
}

/// What a successful command printed.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A flyctl executable.
#[derive(Debug, Clone)]
pub struct Flyctl {
    program: PathBuf,
    /// The name shown in messages (`fly`).
    shown: String,
}

impl Flyctl {
    /// `FLY_BIN`, else `fly`/`flyctl` on `PATH`.
    pub fn locate() -> Result<Flyctl, FlyctlError> {
        if let Some(bin) = std::env::var_os("FLY_BIN").filter(|b| !b.is_empty()) {
            return Ok(Flyctl { program: PathBuf::from(bin), shown: "fly".to_owned() });
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
}

impl<'a> Invocation<'a> {
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
        if TOKEN_VARS.contains(&name) {
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
        let mut stdin = child.stdin.take().expect("piped");
        let input = self.stdin.take().unwrap_or_default();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
            // Dropping stdin closes it: flyctl sees the end of its input.
        });
        let (tx, rx) = mpsc::channel::<(bool, String)>();
        let readers = [
            spawn_reader(child.stdout.take().expect("piped"), true, tx.clone()),
            spawn_reader(child.stderr.take().expect("piped"), false, tx),
        ];
        let mut output = Output::default();
        let mut tail: VecDeque<String> = VecDeque::new();
        for (is_stdout, line) in rx {
            let target = if is_stdout { &mut output.stdout } else { &mut output.stderr };
            target.push_str(&line);
            target.push('\n');
            let shown_line = self.redacted(&line);
            on_line(&shown_line);
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(shown_line);
        }
        for reader in readers {
            let _ = reader.join();
        }
        let _ = writer.join();
        let status = child.wait().map_err(|source| FlyctlError::Spawn { command: shown.clone(), source })?;
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
    tx: mpsc::Sender<(bool, String)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']);
                    if tx.send((is_stdout, line.to_owned())).is_err() {
                        break;
                    }
                }
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

/// The variables flyctl reads its token from, in its order.
const TOKEN_VARS: [&str; 2] = ["FLY_ACCESS_TOKEN", "FLY_API_TOKEN"];

/// A redactor for every Fly token set in the environment.
fn tokens_from_env() -> Redactor {
    let tokens = Redactor::default();
    for var in TOKEN_VARS {
        if let Ok(token) = std::env::var(var) {
            tokens.add_token(&token);
        }
    }
    tokens
}

/// The Fly API token: `FLY_ACCESS_TOKEN`, then `FLY_API_TOKEN` (flyctl's order).
pub fn token_from_env() -> Option<crate::secret::Secret> {
    TOKEN_VARS
        .iter()
        .find_map(|v| std::env::var(v).ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()))
        .map(crate::secret::Secret::new)
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
    fn a_missing_program_is_not_found() {
        let err = Flyctl::at("/nonexistent/fly").command(&["version"]).run(&mut |_| {}).unwrap_err();
        assert!(matches!(err, FlyctlError::NotFound));
    }
}
