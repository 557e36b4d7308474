//! The fake `flyctl`: flyctl's command line (with its argument strictness) in front of a
//! [`FakeFly`](crate::fake_fly::FakeFly) server. The `fake-flyctl` binary is a thin wrapper
//! around [`main`]; link it as `flyctl`/`fly` with [`crate::fake_fly::install_flyctl`].
//!
//! # Environment
//!
//! - `FAKE_FLY_LOG` (mandatory): every invocation appends one JSON line there (see
//!   [Invocation log](#invocation-log)); without it the fake refuses to run (exit 1).
//! - `FLY_FLAPS_BASE_URL`: the server (`http://127.0.0.1:PORT`), as real flyctl honours it.
//! - Token: `FLY_ACCESS_TOKEN`, then `FLY_API_TOKEN`, then `-t/--access-token`; none →
//!   `Error: no access token available. Please login with 'flyctl auth login'` (exit 1).
//!   Sent as `FlyV1 <token>` for `fm1r_`/`fm1a_`/`fm2_` tokens, `Bearer <token>` otherwise,
//!   as given when it already starts with `FlyV1 `/`Bearer `.
//! - App: `-a/--app`, then `FLY_APP`, then `app` in the config (`-c/--config`, else
//!   `./fly.toml`). Org: `-o/--org`, then `FLY_ORG`. Region: `-r/--region`, then `FLY_REGION`.
//!
//! # Argument strictness (pflag/cobra)
//!
//! `--flag=value`, `--flag value`, `-f value`, `-fvalue`, `-f=value` and grouped boolean
//! shorthands (`-yj`); booleans take a value only as `--flag=false`. Errors (stderr, exit 1):
//! `Error: unknown flag: --x`, `Error: unknown shorthand flag: 'x' in -x`, `Error: flag
//! needs an argument: --x`, `Error: invalid argument "v" for "--x" flag: ...`, `Error:
//! unknown command "x" for "flyctl"` (or `"flyctl apps"`), cobra's argument-count messages
//! (`accepts 1 arg(s), received 0`...). Anything flyctl would prompt for is an error, since
//! prompts fail when not running interactively: `Error: <flag> flag required when not
//! running interactively` (`--yes` for destroys and first volumes; `--vm-size`,
//! `--volume-size`, `--initial-cluster-size`, `--name`, `--region`...), and `Error: org slug
//! must be specified when not running interactively`. Every error line starts with
//! `Error: `; state errors come from the server (`Error: Name has already been taken`,
//! `Error: Could not find App "x"`).
//!
//! # Commands and outputs (stdout)
//!
//! - `version` → `flyctl v0.3.214 linux/amd64 Commit: fake BuildDate: 2025-06-01T00:00:00Z`
//!   (the first word is the name it was invoked as: `fly` or `flyctl`).
//! - `apps create [NAME] [--name N] [-o ORG] [--network N] [-y] [-j]` → `New app created: NAME`.
//! - `apps destroy NAME... -y` → `Destroyed app NAME`. `apps list [-o ORG] [-j]` → JSON
//!   `[{"ID","Name","Status","Deployed","Hostname","Organization":{"Slug"},"PlatformVersion"}]`.
//! - `status [-a APP] [-j]` → `App` / `  Name     = APP` / `  Owner    = ORG` / `  Hostname =
//!   APP.fly.dev` / `  Image    = IMAGE` ...; JSON: the app with `machines`, `version`, `image`.
//! - `secrets import [--stage] [-a APP]` reads stdin with flyctl's parser ([`parse_secrets`])
//!   and prints `Secrets have been staged, but not set on VMs. Deploy or update machines in
//!   this app for the secrets to take effect.` with `--stage`; without it, `Secrets are
//!   staged for the first deployment` when the app was never deployed, else `Secrets are
//!   deployed`. `secrets set NAME=VALUE...` and `secrets unset NAME...` (same messages;
//!   unsetting a secret the app does not have is an error), `secrets deploy`,
//!   `secrets list [-j]` → JSON `[{"name","digest","created_at","updated_at","status"}]`
//!   (`status` is `Staged` or `Deployed`; never values).
//! - `deploy [WORKDIR] [-c PATH] [-a APP] [-i|--image REF] [--dockerfile F] [--ha=BOOL]
//!   [--strategy S] [--primary-region R] [--remote-only|--local-only] [--detach]
//!   [--wait-timeout D] [-e K=V]... [--build-arg K=V]... [-y]`: the config is `-c` (relative
//!   to the working directory) or `WORKDIR/fly.toml`; it must pass
//!   [`crate::flytoml::check`] (with `--strategy`/`--primary-region` applied), else each
//!   problem is printed to stderr as `✘ PATH: MESSAGE`, then `Error: App configuration is not
//!   valid`. The image is `--image`, else `[build] image`, else a Dockerfile is built
//!   (`--dockerfile`, `[build] dockerfile`, or `WORKDIR/Dockerfile`; remote, or local with
//!   `--local-only`). `[[files]] local_path` is read relative to the working directory.
//!   The server checks the app exists, `[[files]] secret_name` secrets exist (and hold
//!   base64), and `[[mounts]]` volumes exist. Last line: `Visit your newly deployed app at
//!   https://APP.fly.dev/`.
//!   Before the release is made, `[deploy] release_command` runs as Fly runs it (see
//!   `release`: the deployed image pulled from a loopback registry, alone, with `[env]`, the
//!   app's secrets, `RELEASE_COMMAND=1`...; `--skip-release-command`,
//!   `--release-command-timeout D`): stderr `Running APP release_command: CMD`, `Starting
//!   machine`; a non-zero exit prints `Error release_command failed running on machine ID
//!   with exit code N.`, `Checking logs: fetching the last 100 lines below:` and its output,
//!   then fails with `Error: machine ID exited with non-zero status of N` and nothing deployed.
//! - `postgres create --name N --org O --region R --vm-size S --volume-size G
//!   --initial-cluster-size K [--password P] [--autostart] [--image-ref I] [--detach]` →
//!   `Creating postgres cluster N in organization O`, ..., then `Postgres cluster N created`,
//!   `  Username:    postgres`, `  Password:    PW`, `  Hostname:    N.internal`,
//!   `  Flycast:     IP`, `  Proxy port:  5432`, `  Postgres port:  5433`,
//!   `  Connection string: postgres://postgres:PW@N.flycast:5432`. `postgres list [-j]`.
//! - `redis create -n N -o ORG -r R (--no-replicas | --replica-regions X,Y)
//!   (--enable-eviction | --disable-eviction) [--plan P]` → `Your Upstash Redis database N is
//!   ready. Check the pricing details at https://upstash.com/pricing.` / `Apps in the ORG org
//!   can connect to Redis at redis://default:PW@fly-N.upstash.io:6379` / ...;
//!   `redis status N` → a block with `  Private URL    = redis://default:PW@fly-N.upstash.io:6379`;
//!   `redis destroy N -y` → `Your Redis database N was destroyed`; `redis list [-j]`.
//! - `storage create -n BUCKET [-o ORG] [-a APP] [-y] [--public]` → `Your Tigris Object
//!   Storage bucket (BUCKET) is ready. ...`, a blank line, then without an app (as flyctl,
//!   the app also comes from `FLY_APP` or `./fly.toml`): `Set one or more of the following
//!   secrets on your target app.` and one `NAME: value` line each for `AWS_ACCESS_KEY_ID`
//!   (`tid_...`), `AWS_ENDPOINT_URL_S3` (`https://fly.storage.tigris.dev`), `AWS_REGION`
//!   (`auto`), `AWS_SECRET_ACCESS_KEY` (`tsec_...`) and `BUCKET_NAME`, in that (sorted)
//!   order; with an app, the values go straight into the app's secrets (staged) and it
//!   prints `Setting the following secrets on APP:`, the names, a blank line and the
//!   secrets message. `storage list [-j]`, `storage destroy NAME -y`.
//! - `volumes create NAME -r REGION [-s GB] [-a APP] [-y] [--count N] [-j]` → per volume a
//!   block of right-aligned `Label: value` lines, the first `                  ID: vol_...`
//!   (`--yes` is needed unless the app already has a volume of that name);
//!   `volumes list [-a APP] [-j]` (Machines API volume JSON), `volumes destroy ID -y` →
//!   `Destroyed volume ID from APP`.
//! - `ips allocate-v4 [--shared] [-y] [-a APP]`, `ips allocate-v6 [--private] [-a APP]`,
//!   `ips list [-j]`.
//!
//! # Invocation log
//!
//! One JSON object per line in `FAKE_FLY_LOG`: `{"program", "argv" (arguments after the
//! program), "cwd", "stdin" (the text read, or null when the command does not read stdin),
//! "env": {"FLY_ACCESS_TOKEN": bool, "FLY_API_TOKEN": bool, "FLY_FLAPS_BASE_URL",
//! "FLY_APP", "FLY_ORG", "FLY_REGION" (string or null)}, "exit_code", "stdout", "stderr"}`.
//! Token values are never logged.
//!
//! # Deliberate strictness beyond flyctl
//!
//! Where real flyctl silently drops input, the fake fails: a `"""` value never closed, a
//! line longer than 64 KiB (Go's scanner stops there), a lone `"` value (flyctl panics).
//!
//! # Modules
//!
//! - `flags`: pflag/cobra parsing, the command table (`SPECS`: each command's path, flags,
//!   argument count and runner) and the resolution of a command line to a command;
//! - `secrets`: flyctl's `secrets import` parser ([`parse_secrets`]);
//! - `release`: `fly deploy`'s release command, run for real in the pulled image;
//! - `commands`: one runner per command, against the fake server.

mod commands;
mod flags;
mod logs;
mod machine_config;
mod mpg;
mod release;
mod secrets;

pub use secrets::parse_secrets;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::fake_fly::http;

use flags::{Flag, GLOBAL, Parsed, check_args, parse_flags, resolve};

/// The version the fake reports.
const VERSION: &str = "v0.3.214";
/// The message of any prompt flyctl would show.
const NON_INTERACTIVE: &str = "when not running interactively";

/// What one run printed and its exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exit code.
    pub code: i32,
    /// The text read from stdin, when the command reads it.
    pub stdin: Option<String>,
}

/// One invocation: what a process receives.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `argv[0]`.
    pub program: String,
    /// The arguments after it.
    pub args: Vec<String>,
    /// The environment.
    pub env: BTreeMap<String, String>,
    /// The working directory.
    pub cwd: PathBuf,
}

/// Runs the fake flyctl as a process: reads the real arguments, environment, working
/// directory and stdin, prints, logs the invocation, and returns the exit code.
pub fn main() -> i32 {
    let mut argv = std::env::args();
    let program = argv.next().unwrap_or_else(|| "flyctl".to_owned());
    let invocation = Invocation {
        program,
        args: argv.collect(),
        env: std::env::vars().collect(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let Some(log) = invocation.env.get("FAKE_FLY_LOG").filter(|v| !v.is_empty()).cloned() else {
        eprintln!("Error: FAKE_FLY_LOG is not set: the fake flyctl logs every invocation there");
        return 1;
    };
    let outcome = run(&invocation, &mut std::io::stdin());
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    let _ = std::io::stdout().flush();
    if let Err(error) = append_log(Path::new(&log), &log_entry(&invocation, &outcome)) {
        eprintln!("Error: cannot append to FAKE_FLY_LOG {log}: {error}");
        return 1;
    }
    outcome.code
}

/// The log line of an invocation.
pub fn log_entry(invocation: &Invocation, outcome: &Outcome) -> Value {
    let var = |name: &str| invocation.env.get(name).cloned();
    let present = |name: &str| invocation.env.get(name).is_some_and(|v| !v.is_empty());
    json!({
        "program": invocation.program,
        "argv": invocation.args,
        "cwd": invocation.cwd.display().to_string(),
        "stdin": outcome.stdin,
        "env": {
            "FLY_ACCESS_TOKEN": present("FLY_ACCESS_TOKEN"),
            "FLY_API_TOKEN": present("FLY_API_TOKEN"),
            "FLY_FLAPS_BASE_URL": var("FLY_FLAPS_BASE_URL"),
            "FLY_APP": var("FLY_APP"),
            "FLY_ORG": var("FLY_ORG"),
            "FLY_REGION": var("FLY_REGION"),
        },
        "exit_code": outcome.code,
        "stdout": outcome.stdout,
        "stderr": outcome.stderr,
    })
}

/// Appends one JSON line (a single write, so concurrent invocations do not interleave).
fn append_log(path: &Path, entry: &Value) -> std::io::Result<()> {
    let mut line = entry.to_string();
    line.push('\n');
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(line.as_bytes())
}

/// Reads an invocation log (missing file: no invocations).
pub fn read_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line in {}: {e}: {l}", path.display())))
        .collect()
}

/// Runs one invocation in process (stdin is read only by commands that use it).
pub fn run(invocation: &Invocation, stdin: &mut dyn Read) -> Outcome {
    let mut outcome = Outcome::default();
    let (spec, tokens) = match resolve(&invocation.args) {
        Ok(found) => found,
        Err((text, code)) => {
            if code == 0 {
                outcome.stdout = text;
            } else {
                outcome.stderr = text;
            }
            outcome.code = code;
            return outcome;
        }
    };
    let flags: Vec<&Flag> = spec.flags.iter().chain(GLOBAL.iter()).collect();
    let parsed = match parse_flags(&tokens, &flags).and_then(|parsed| {
        if parsed.bool("help") {
            return Ok(parsed);
        }
        check_args(spec.args, &parsed.args, spec.path).map(|()| parsed)
    }) {
        Ok(parsed) => parsed,
        Err(message) => {
            outcome.stderr = format!("Error: {message}\n");
            outcome.code = 1;
            return outcome;
        }
    };
    if parsed.bool("help") {
        let mut text = format!("Usage:\n  flyctl {} [flags]\n\nFlags:\n", spec.path);
        for flag in &flags {
            let short = flag.short.map_or_else(|| "    ".to_owned(), |c| format!("-{c}, "));
            let _ = writeln!(text, "  {short}--{}", flag.long);
        }
        outcome.stdout = text;
        return outcome;
    }
    let mut ctx = Ctx { invocation, parsed, stdin, stdin_text: None, out: String::new(), err: String::new() };
    let result = (spec.run)(&mut ctx);
    outcome.stdout = std::mem::take(&mut ctx.out);
    outcome.stderr = std::mem::take(&mut ctx.err);
    outcome.stdin = ctx.stdin_text.take();
    if let Err(message) = result {
        let _ = writeln!(outcome.stderr, "Error: {message}");
        outcome.code = 1;
    }
    outcome
}

/// JSON as flyctl's `render.JSON` writes it: Go's `MarshalIndent` with four spaces, and
/// `<`, `>`, `&` escaped as Go's encoder does.
fn go_json(ctx: &mut Ctx<'_>, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    // serde_json indents by two spaces; a JSON string never holds a raw newline.
    let text: Vec<String> = text
        .lines()
        .map(|line| {
            let body = line.trim_start_matches(' ');
            format!("{}{body}", " ".repeat(2 * (line.len() - body.len())))
        })
        .collect();
    ctx.say(text.join("\n").replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026"));
}

// ----- command context -----------------------------------------------------------------

struct Ctx<'a> {
    invocation: &'a Invocation,
    parsed: Parsed,
    stdin: &'a mut dyn Read,
    stdin_text: Option<String>,
    out: String,
    err: String,
}

impl Ctx<'_> {
    fn env(&self, name: &str) -> Option<&str> {
        self.invocation.env.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn say(&mut self, line: impl AsRef<str>) {
        self.out.push_str(line.as_ref());
        self.out.push('\n');
    }

    /// Writes what was said so far to the real stdout now (a command that then waits, as
    /// `mpg create` does, has printed its first lines, as flyctl has).
    fn flush(&mut self) {
        use std::io::Write as _;
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(self.out.as_bytes());
        let _ = stdout.flush();
        self.out.clear();
    }

    fn resolve_path(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() { path.to_path_buf() } else { self.invocation.cwd.join(path) }
    }

    /// `Authorization` value and server URL; the token check happens here, as flyctl's
    /// `RequireSession` does before any work.
    fn session(&self) -> Result<(String, String), String> {
        let token = self
            .env("FLY_ACCESS_TOKEN")
            .or_else(|| self.env("FLY_API_TOKEN"))
            .or_else(|| self.parsed.get("access-token").filter(|t| !t.is_empty()))
            .ok_or("no access token available. Please login with 'flyctl auth login'")?;
        let authorization = if token.starts_with("FlyV1 ") || token.starts_with("Bearer ") {
            token.to_owned()
        } else if ["fm1r_", "fm1a_", "fm2_"].iter().any(|p| token.starts_with(p)) {
            format!("FlyV1 {token}")
        } else {
            format!("Bearer {token}")
        };
        let base = self.env("FLY_FLAPS_BASE_URL").ok_or(
            "FLY_FLAPS_BASE_URL is not set: the fake flyctl only talks to a FakeFly server (score_fly_tests::fake_fly)",
        )?;
        Ok((base.to_owned(), authorization))
    }

    /// One flyctl RPC call to the fake server.
    fn call(&self, command: &str, body: &Value) -> Result<Value, String> {
        let (base, authorization) = self.session()?;
        let path = format!("/fake/{}", command.split(' ').map(http::encode).collect::<Vec<_>>().join("/"));
        let response = http::send_json(&base, "POST", &path, Some(&authorization), Some(body))
            .map_err(|e| format!("cannot reach the Fly API at {base}: {e}"))?;
        if response.status == 401 {
            return Err("You must be authenticated to view this.".to_owned());
        }
        let value = response.json_body();
        if response.status > 299 {
            return Err(value
                .get("error")
                .and_then(Value::as_str)
                .map_or_else(|| format!("HTTP {}: {}", response.status, response.body), str::to_owned));
        }
        Ok(value)
    }

    /// `GET /v1/apps/{app}` on the Machines API, as flyctl checks an app before working on it.
    fn check_app(&self, app: &str) -> Result<(), String> {
        let (base, authorization) = self.session()?;
        let response =
            http::send_json(&base, "GET", &format!("/v1/apps/{}", http::encode(app)), Some(&authorization), None)
                .map_err(|e| format!("cannot reach the Fly API at {base}: {e}"))?;
        match response.status {
            200..=299 => Ok(()),
            401 => Err("You must be authenticated to view this.".to_owned()),
            403 | 404 => Err(format!("Could not find App {app:?}")),
            status => Err(response
                .json_body()
                .get("error")
                .and_then(Value::as_str)
                .map_or_else(|| format!("HTTP {status}: {}", response.body), |e| format!("failed to get app: {e}"))),
        }
    }

    /// The config file flyctl would read: `-c`, else `./fly.toml`.
    fn config_path(&self) -> PathBuf {
        self.parsed.get("config").map_or_else(|| self.invocation.cwd.join("fly.toml"), |c| self.resolve_path(c))
    }

    /// The app: `-a`, `FLY_APP`, then the config's `app`.
    fn app_name(&self) -> Result<String, String> {
        self.app_name_if_present()?.ok_or_else(|| {
            "We couldn't find a fly.toml nor an app specified by the -a flag. If you want to launch a new app, use 'fly launch'"
                .to_owned()
        })
    }

    fn app_name_if_present(&self) -> Result<Option<String>, String> {
        if let Some(app) = self.parsed.get("app").filter(|a| !a.is_empty()) {
            return Ok(Some(app.to_owned()));
        }
        if let Some(app) = self.env("FLY_APP") {
            return Ok(Some(app.to_owned()));
        }
        let path = self.config_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let table: toml::Table =
                    text.parse().map_err(|e| format!("failed loading app config from {}: {e}", path.display()))?;
                Ok(table.get("app").and_then(toml::Value::as_str).map(str::to_owned))
            }
            Err(_) if self.parsed.has("config") => Err(format!(
                "failed loading app config from {}: open {}: no such file or directory",
                path.display(),
                path.display()
            )),
            Err(_) => Ok(None),
        }
    }

    fn org(&self) -> Result<String, String> {
        self.parsed
            .get("org")
            .filter(|o| !o.is_empty())
            .or_else(|| self.env("FLY_ORG"))
            .map(str::to_owned)
            .ok_or_else(|| format!("org slug must be specified {NON_INTERACTIVE}"))
    }

    fn region(&self) -> Result<String, String> {
        self.parsed
            .get("region")
            .filter(|r| !r.is_empty())
            .or_else(|| self.env("FLY_REGION"))
            .map(str::to_owned)
            .ok_or_else(|| format!("region flag required {NON_INTERACTIVE}"))
    }

    fn required(&self, name: &str) -> Result<String, String> {
        self.parsed
            .get(name)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("{name} flag required {NON_INTERACTIVE}"))
    }

    fn require_yes(&self) -> Result<(), String> {
        if self.parsed.bool("yes") { Ok(()) } else { Err(format!("yes flag required {NON_INTERACTIVE}")) }
    }

    fn json(&mut self, value: &Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        self.say(text);
    }

    /// A `list` command: the server's answer to `command` as JSON with `--json`, else a
    /// table with `headers` and one `row` per item.
    fn list(&mut self, command: &str, headers: &[&str], row: impl Fn(&Value) -> Vec<String>) -> Result<(), String> {
        let list = self.call(command, &json!({}))?;
        if self.parsed.bool("json") {
            self.json(&list);
        } else {
            let rows: Vec<Vec<String>> = list.as_array().into_iter().flatten().map(row).collect();
            self.out.push_str(&table(headers, &rows));
        }
        Ok(())
    }

    fn read_stdin(&mut self) -> Result<String, String> {
        let mut bytes = Vec::new();
        self.stdin.read_to_end(&mut bytes).map_err(|e| format!("cannot read stdin: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|_| "stdin is not UTF-8".to_owned())?;
        self.stdin_text = Some(text.clone());
        Ok(text)
    }
}

/// Left-aligned columns separated by tabs' worth of spaces, as flyctl's tables.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect();
        format!("{}\n", padded.join("\t").trim_end())
    };
    let mut text = line(headers.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        text.push_str(&line(row.clone()));
    }
    text
}

fn s(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}
