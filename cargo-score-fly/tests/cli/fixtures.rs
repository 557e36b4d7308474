//! Helpers for the tests with provisioners: real provisioner scripts (POSIX `sh`), provisioner
//! files, the project state, call logs, file modes and background runs of the binary.

use std::io::Read;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use score_fly_core::state::State;

use crate::support::{Project, Run};

/// Exit code for invalid input (`src/exit.rs`).
pub(crate) const INVALID: i32 = 3;
/// Exit code for a failure that is not the input's fault.
pub(crate) const FAILURE: i32 = 1;

/// The state file, relative to the project.
pub(crate) const STATE: &str = ".score-fly/state.json";
/// The file `provisioners add/remove` manage, relative to the project.
pub(crate) const CLI_FILE: &str = ".score-fly/cli.provisioners.yaml";
/// Where [`PROVISIONER`] logs its calls, relative to the project.
pub(crate) const CALLS: &str = "calls.log";

/// A cmd provisioner: appends `<mode> <uid>` to [`CALLS`] (one line per call), and answers
/// a provision with outputs derived from the resource id: values `host` = `<id>.internal`
/// and `port` = 5432, secret `password` = `pw-<id>`.
pub(crate) const PROVISIONER: &str = r#"req=$(cat)
uid=$(printf '%s' "$req" | sed -n 's/.*"resource_uid":"\([^"]*\)".*/\1/p')
id=$(printf '%s' "$req" | sed -n 's/.*"resource_id":"\([^"]*\)".*/\1/p')
echo "$SCORE_PROVISIONER_MODE $uid" >> calls.log
if [ "$SCORE_PROVISIONER_MODE" = deprovision ]; then exit 0; fi
printf '{"values":{"host":"%s.internal","port":5432},"secrets":{"password":"pw-%s"},"state":{"created":true}}\n' "$id" "$id"
"#;

/// A workload `api` with a `postgres` resource `db` and a `dns` resource `dns`, reading both
/// outputs in variables (`DB_PASSWORD` reads a secret output).
pub(crate) const API: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: nginx
    variables:
      DB_HOST: ${resources.db.host}
      DB_PORT: ${resources.db.port}
      DB_PASSWORD: ${resources.db.password}
      DNS_HOST: ${resources.dns.host}
resources:
  db:
    type: postgres
  dns:
    type: dns
";

/// A workload `name` with one `postgres` resource `db` whose host is in `DB_HOST`.
pub(crate) fn with_db(name: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx\n    variables:\n      DB_HOST: ${{resources.db.host}}\nresources:\n  db:\n    type: postgres\n"
    )
}

/// The uid of resource `name` of type `kind` declared by `workload` (default class, no id).
pub(crate) fn uid(kind: &str, workload: &str, name: &str) -> String {
    format!("{kind}.default#{workload}.{name}")
}

impl Project {
    /// Writes an executable `#!/bin/sh` script with `body`; returns its absolute path.
    pub(crate) fn script(&self, relative: &str, body: &str) -> PathBuf {
        let path = self.write(relative, format!("#!/bin/sh\n{body}"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod 755");
        path
    }

    /// Writes `.score-fly/<name>` (a provisioner file).
    pub(crate) fn provisioners_file(&self, name: &str, yaml: &str) -> PathBuf {
        self.write(&format!(".score-fly/{name}"), yaml)
    }

    /// A project with [`PROVISIONER`] as `./prov.sh`, registered for `postgres` (id `pg`) in
    /// `.score-fly/local.provisioners.yaml`, and a static `dns` provisioner (id `dns`).
    pub(crate) fn with_provisioners() -> Project {
        let project = Project::new();
        project.script("prov.sh", PROVISIONER);
        project.provisioners_file(
            "local.provisioners.yaml",
            "- id: pg\n  type: postgres\n  cmd:\n    binary: ./prov.sh\n    args: [\"$SCORE_PROVISIONER_MODE\"]\n- id: dns\n  type: dns\n  static:\n    values: {host: dns.example.com}\n",
        );
        project
    }

    /// The project state, parsed with the product's own reader (complete, known version).
    pub(crate) fn state(&self) -> State {
        let path = self.path().join(STATE);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        State::parse(Path::new(STATE), &text).unwrap_or_else(|e| panic!("{e}\n--- state.json ---\n{text}"))
    }

    /// The state file as JSON.
    pub(crate) fn state_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.read(STATE)).expect("state.json is JSON")
    }

    /// The lines of a file of the project (none if it does not exist).
    pub(crate) fn lines(&self, relative: &str) -> Vec<String> {
        std::fs::read_to_string(self.path().join(relative))
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The Unix permission bits of a file of the project.
    pub(crate) fn mode(&self, relative: &str) -> u32 {
        let path = self.path().join(relative);
        std::fs::metadata(&path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display())).permissions().mode() & 0o777
    }

    /// Whether a file or folder exists in the project.
    pub(crate) fn exists(&self, relative: &str) -> bool {
        self.path().join(relative).exists()
    }

    /// Starts the binary in the background with stdout and stderr captured.
    pub(crate) fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cargo-score-fly")
    }
}

/// Waits for a background run (at most `limit`, so a hang fails the test) and collects it.
pub(crate) fn finish(mut child: Child, limit: Duration) -> Run {
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("read a pipe of the child");
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cargo-score-fly did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run::from(Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    })
}

/// Polls `condition` every 5 ms until it holds; panics after `limit`.
pub(crate) fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
