//! Shared helpers: a temporary project folder, running the binary in it, and assertions on
//! what a run printed and wrote.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_cargo-score-fly");

/// Variables that decide coloring; removed from every run so the host terminal settings
/// cannot leak into a test (a test sets the ones it is about).
const COLOR_VARS: &[&str] = &["NO_COLOR", "CARGO_TERM_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TERM"];

/// The smallest workload Fly can run: `web`, one nginx container.
pub(crate) const WEB: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx
";

/// A minimal workload with another name.
pub(crate) fn workload(name: &str) -> String {
    WEB.replace("name: web", &format!("name: {name}"))
}

/// A temporary folder the binary runs in.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// An empty project folder.
    pub(crate) fn new() -> Self {
        Project { dir: tempfile::tempdir().expect("create a temporary folder") }
    }

    /// A project holding `score.yaml` with `text`.
    pub(crate) fn with_score(text: &str) -> Self {
        let project = Project::new();
        project.write("score.yaml", text);
        project
    }

    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating its folders) and returns its absolute path.
    pub(crate) fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folders");
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Reads a file of the project as bytes.
    pub(crate) fn read(&self, relative: impl AsRef<Path>) -> Vec<u8> {
        let path = self.path().join(relative);
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Reads a `fly.toml` the binary wrote and checks it with the independent checker.
    pub(crate) fn fly_toml(&self, relative: impl AsRef<Path>) -> String {
        let bytes = self.read(relative);
        let text = String::from_utf8(bytes).expect("fly.toml is UTF-8");
        score_fly_tests::flytoml::assert_valid(&text);
        text
    }

    /// The binary, ready to run in this folder with a clean color environment.
    pub(crate) fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(BIN);
        command.args(args).current_dir(self.path());
        for var in COLOR_VARS {
            command.env_remove(var);
        }
        command
    }

    /// Runs the binary with `args`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs the binary with `args` and extra environment variables.
    pub(crate) fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        Run::from(command.output().expect("run cargo-score-fly"))
    }

    /// Runs the binary with `args`, extra environment variables and `stdin` fed to it.
    pub(crate) fn run_stdin(&self, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
        use std::io::Write as _;
        let mut child = self
            .command(args)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run cargo-score-fly");
        child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
        Run::from(child.wait_with_output().expect("wait for cargo-score-fly"))
    }

    /// Runs the binary, expects success, and checks every `.toml` file now in the project
    /// (the inputs are all `.yaml`, so each one is a `fly.toml` the run produced).
    pub(crate) fn generate_ok(&self, args: &[&str]) -> Run {
        self.generate_ok_env(args, &[])
    }

    /// [`Project::generate_ok`] with extra environment variables.
    pub(crate) fn generate_ok_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let run = self.run_env(args, env);
        run.assert_code(0);
        self.check_every_fly_toml();
        run
    }

    /// Runs the binary, expects exit `code`, and expects the folder to be exactly as before
    /// (no file or folder created, none changed).
    pub(crate) fn fails(&self, args: &[&str], code: i32) -> Run {
        let before = self.snapshot();
        let run = self.run(args);
        run.assert_code(code);
        let after = self.snapshot();
        assert_eq!(after, before, "a failing run must not write anything\n--- stderr ---\n{}", run.stderr);
        run
    }

    /// Every `.toml` file in the project, checked.
    pub(crate) fn check_every_fly_toml(&self) {
        for (path, _) in self.snapshot() {
            if path.extension() == Some(OsStr::new("toml")) {
                self.fly_toml(&path);
            }
        }
    }

    /// Every entry under the project (relative path → file bytes, `None` for a folder; a link
    /// or a special file is recorded as what it is, never read through).
    pub(crate) fn snapshot(&self) -> BTreeSet<(PathBuf, Option<Vec<u8>>)> {
        let mut out = BTreeSet::new();
        let mut pending = vec![self.path().to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("list folder") {
                let path = entry.expect("folder entry").path();
                let relative = path.strip_prefix(self.path()).expect("inside the project").to_path_buf();
                // Never through a link, and never from a FIFO or a device: a hostile test
                // plants those (a link to /dev/zero read here once filled the machine's memory).
                let kind = std::fs::symlink_metadata(&path).expect("stat a folder entry").file_type();
                if kind.is_dir() {
                    out.insert((relative, None));
                    pending.push(path);
                } else if kind.is_symlink() {
                    let target = std::fs::read_link(&path).expect("read a link");
                    out.insert((relative, Some(format!("link to {}", target.display()).into_bytes())));
                } else if kind.is_file() {
                    out.insert((relative, std::fs::read(&path).ok()));
                } else {
                    out.insert((relative, Some(format!("{kind:?}").into_bytes())));
                }
            }
        }
        out
    }

    /// The relative paths of every file and folder under the project.
    pub(crate) fn entries(&self) -> Vec<PathBuf> {
        self.snapshot().into_iter().map(|(path, _)| path).collect()
    }

    /// Runs the binary with `args` in the folder `dir` of the project (`""`: the project).
    pub(crate) fn run_in(&self, dir: &str, args: &[&str]) -> Run {
        let mut command = self.command(args);
        command.current_dir(self.path().join(dir));
        Run::from(command.output().expect("run cargo-score-fly"))
    }

    /// [`Project::fails`] with the binary run in the folder `dir` of the project.
    pub(crate) fn fails_in(&self, dir: &str, args: &[&str], code: i32) -> Run {
        let before = self.snapshot();
        let run = self.run_in(dir, args);
        run.assert_code(code);
        let after = self.snapshot();
        assert_eq!(after, before, "a failing run must not write anything\n--- stderr ---\n{}", run.stderr);
        run
    }
}

/// What a run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    /// Exit code.
    pub(crate) code: i32,
    /// Standard output.
    pub(crate) stdout: String,
    /// Standard error.
    pub(crate) stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().expect("exited normally, not by a signal"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl Run {
    /// Panics (showing both streams) unless the exit code is `code`.
    pub(crate) fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Panics unless stderr has a line equal to `line`.
    pub(crate) fn assert_line(&self, line: &str) -> &Self {
        assert!(self.stderr.lines().any(|l| l == line), "stderr has no line {line:?}\n--- stderr ---\n{}", self.stderr);
        self
    }

    /// Panics unless stderr contains `text`.
    pub(crate) fn assert_stderr_has(&self, text: &str) -> &Self {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}\n--- stderr ---\n{}", self.stderr);
        self
    }

    /// The `error: ...` lines of stderr.
    pub(crate) fn errors(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("error: ")).collect()
    }

    /// The number of source locations (`  --> file:line:col`) on stderr.
    pub(crate) fn locations(&self) -> usize {
        self.stderr.lines().filter(|l| l.starts_with("  --> ")).count()
    }

    /// Asserts a rustc-style diagnostic on stderr and returns its first line:
    ///
    /// ```text
    /// error: containers.main.image: must not be empty      ← starts with `error: {head}`
    ///   --> score.yaml:6:12                                ← `location`
    ///    |
    ///  6 |     image: ""                                   ← `source`, the whole line
    ///    |            ^                                    ← caret under column 12
    /// ```
    pub(crate) fn assert_diagnostic(&self, severity: &str, head: &str, location: &str, source: &str) -> &str {
        let (line, column) = line_column(location);
        let number = line.to_string();
        let pad = " ".repeat(number.len());
        let expected = [
            format!("  --> {location}"),
            format!(" {pad} |"),
            format!(" {number} | {source}"),
            format!(" {pad} | {}^", " ".repeat(column - 1)),
        ];
        let lines: Vec<&str> = self.stderr.lines().collect();
        let prefix = format!("{severity}: {head}");
        let found = lines.iter().enumerate().find(|(i, l)| {
            l.starts_with(&prefix)
                && expected.iter().enumerate().all(|(k, e)| lines.get(i + 1 + k).is_some_and(|x| x == e))
        });
        match found {
            Some((_, l)) => l,
            None => panic!(
                "stderr has no diagnostic starting with {prefix:?} followed by\n{}\n--- stderr ---\n{}",
                expected.join("\n"),
                self.stderr
            ),
        }
    }

    /// [`Run::assert_diagnostic`] for an error.
    pub(crate) fn assert_error_at(&self, head: &str, location: &str, source: &str) -> &str {
        self.assert_diagnostic("error", head, location, source)
    }
}

/// `file:12:5` → (12, 5).
fn line_column(location: &str) -> (usize, usize) {
    let mut parts = location.rsplitn(3, ':');
    let column = parts.next().and_then(|c| c.parse().ok()).expect("location ends with :column");
    let line = parts.next().and_then(|l| l.parse().ok()).expect("location has :line:");
    (line, column)
}

/// Whether `text` holds an ANSI escape sequence.
pub(crate) fn has_ansi(text: &str) -> bool {
    text.contains('\u{1b}')
}
