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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::fake_fly::http;

/// The version the fake reports.
const VERSION: &str = "v0.3.214";
/// flyctl's scanner reads at most this many bytes per line.
const MAX_SECRET_LINE: usize = 64 * 1024 - 1;
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

/// flyctl's `secrets import` parser (`internal/command/secrets/parser.go`), with the fake's
/// extra strictness: `NAME=VALUE` lines split on `\n` (a `\r` before it dropped); lines
/// starting with `#` and blank lines skipped; the name trimmed; the value left-trimmed of
/// spaces; one pair of surrounding `"` removed; a value starting with `"""` runs to the
/// first line ending with `"""` (every line but the last keeps its `\n`).
pub fn parse_secrets(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut secrets = BTreeMap::new();
    let mut multiline: Option<(String, String)> = None;
    // Go's scanner yields no empty token after a final newline.
    let body = text.strip_suffix('\n').unwrap_or(text);
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() > MAX_SECRET_LINE {
            return Err(
                "a line is longer than 64 KiB: real flyctl would silently stop reading there (fake flyctl refuses)"
                    .to_owned(),
            );
        }
        if let Some((key, mut value)) = multiline.take() {
            if let Some(last) = line.strip_suffix("\"\"\"") {
                value.push_str(last);
                secrets.insert(key, value);
            } else {
                value.push_str(line);
                value.push('\n');
                multiline = Some((key, value));
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("Secrets must be provided as NAME=VALUE pairs ({line} is invalid)"));
        };
        let key = key.trim().to_owned();
        let value = value.trim_start_matches(' ');
        if let Some(first) = value.strip_prefix("\"\"\"") {
            multiline = Some((key, format!("{first}\n")));
        } else if value == "\"" {
            return Err(format!(
                "the value of {key} is a lone `\"`: real flyctl panics on it (slice bounds out of range [1:0])"
            ));
        } else if value.starts_with('"') && value.ends_with('"') {
            secrets.insert(key, value[1..value.len() - 1].to_owned());
        } else {
            secrets.insert(key, value.to_owned());
        }
    }
    if let Some((key, _)) = multiline {
        return Err(format!(
            "the multi-line value of {key} is never closed with `\"\"\"`: real flyctl would silently drop it (fake flyctl refuses)"
        ));
    }
    Ok(secrets)
}

// ----- flags ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Str,
    Int,
    /// A repeatable string (`StringArray`).
    List,
    /// A repeatable, comma-separated string (`StringSlice`).
    Slice,
}

#[derive(Debug, Clone, Copy)]
struct Flag {
    long: &'static str,
    short: Option<char>,
    kind: Kind,
}

const fn flag(long: &'static str, short: Option<char>, kind: Kind) -> Flag {
    Flag { long, short, kind }
}

const GLOBAL: &[Flag] = &[
    flag("access-token", Some('t'), Kind::Str),
    flag("verbose", None, Kind::Bool),
    flag("debug", None, Kind::Bool),
    flag("help", Some('h'), Kind::Bool),
];
const APP: Flag = flag("app", Some('a'), Kind::Str);
const CONFIG: Flag = flag("config", Some('c'), Kind::Str);
const ORG: Flag = flag("org", Some('o'), Kind::Str);
const REGION: Flag = flag("region", Some('r'), Kind::Str);
const YES: Flag = flag("yes", Some('y'), Kind::Bool);
const JSON: Flag = flag("json", Some('j'), Kind::Bool);
const DETACH: Flag = flag("detach", None, Kind::Bool);
const STAGE: Flag = flag("stage", None, Kind::Bool);
const DNS_CHECKS: Flag = flag("dns-checks", None, Kind::Bool);

/// How many positional arguments a command takes (cobra's validators).
#[derive(Debug, Clone, Copy)]
enum Args {
    None,
    Exact(usize),
    Range(usize, usize),
    Min(usize),
}

type Runner = fn(&mut Ctx<'_>) -> Result<(), String>;

struct Spec {
    path: &'static str,
    flags: &'static [Flag],
    args: Args,
    run: Runner,
}

const SPECS: &[Spec] = &[
    Spec { path: "version", flags: &[JSON], args: Args::None, run: cmd_version },
    Spec {
        path: "apps create",
        flags: &[
            flag("name", None, Kind::Str),
            ORG,
            flag("network", None, Kind::Str),
            YES,
            JSON,
            flag("generate-name", None, Kind::Bool),
        ],
        args: Args::Range(0, 1),
        run: cmd_apps_create,
    },
    Spec { path: "apps destroy", flags: &[YES], args: Args::Min(1), run: cmd_apps_destroy },
    Spec { path: "apps list", flags: &[ORG, JSON], args: Args::None, run: cmd_apps_list },
    Spec {
        path: "status",
        flags: &[APP, CONFIG, JSON, flag("all", None, Kind::Bool)],
        args: Args::None,
        run: cmd_status,
    },
    Spec {
        path: "secrets import",
        flags: &[APP, CONFIG, DETACH, STAGE, DNS_CHECKS],
        args: Args::None,
        run: cmd_secrets_import,
    },
    Spec {
        path: "secrets set",
        flags: &[APP, CONFIG, DETACH, STAGE, DNS_CHECKS],
        args: Args::Min(1),
        run: cmd_secrets_set,
    },
    Spec {
        path: "secrets unset",
        flags: &[APP, CONFIG, DETACH, STAGE, DNS_CHECKS],
        args: Args::Min(1),
        run: cmd_secrets_unset,
    },
    Spec { path: "secrets list", flags: &[APP, CONFIG, JSON], args: Args::None, run: cmd_secrets_list },
    Spec {
        path: "secrets deploy",
        flags: &[APP, CONFIG, DETACH, DNS_CHECKS],
        args: Args::None,
        run: cmd_secrets_deploy,
    },
    Spec {
        path: "deploy",
        flags: &[
            APP,
            CONFIG,
            YES,
            DETACH,
            flag("image", Some('i'), Kind::Str),
            flag("dockerfile", None, Kind::Str),
            flag("ha", None, Kind::Bool),
            flag("strategy", None, Kind::Str),
            flag("primary-region", None, Kind::Str),
            flag("remote-only", None, Kind::Bool),
            flag("local-only", None, Kind::Bool),
            flag("wait-timeout", None, Kind::Str),
            flag("build-arg", None, Kind::List),
            flag("env", Some('e'), Kind::List),
            flag("no-cache", None, Kind::Bool),
            flag("build-target", None, Kind::Str),
        ],
        args: Args::Range(0, 1),
        run: cmd_deploy,
    },
    Spec {
        path: "postgres create",
        flags: &[
            flag("name", Some('n'), Kind::Str),
            ORG,
            REGION,
            flag("password", Some('p'), Kind::Str),
            flag("vm-size", None, Kind::Str),
            flag("volume-size", None, Kind::Int),
            flag("initial-cluster-size", None, Kind::Int),
            flag("image-ref", None, Kind::Str),
            flag("autostart", None, Kind::Bool),
            flag("flex", None, Kind::Bool),
            flag("snapshot-id", None, Kind::Str),
            flag("fork-from", None, Kind::Str),
            DETACH,
        ],
        args: Args::None,
        run: cmd_postgres_create,
    },
    Spec { path: "postgres list", flags: &[JSON], args: Args::None, run: cmd_postgres_list },
    Spec {
        path: "redis create",
        flags: &[
            flag("name", Some('n'), Kind::Str),
            ORG,
            REGION,
            flag("replica-regions", None, Kind::Slice),
            flag("no-replicas", None, Kind::Bool),
            flag("enable-eviction", None, Kind::Bool),
            flag("disable-eviction", None, Kind::Bool),
            flag("plan", None, Kind::Str),
        ],
        args: Args::None,
        run: cmd_redis_create,
    },
    Spec { path: "redis status", flags: &[], args: Args::Exact(1), run: cmd_redis_status },
    Spec { path: "redis destroy", flags: &[YES], args: Args::Exact(1), run: cmd_redis_destroy },
    Spec { path: "redis list", flags: &[JSON], args: Args::None, run: cmd_redis_list },
    Spec {
        path: "storage create",
        flags: &[flag("name", Some('n'), Kind::Str), ORG, APP, CONFIG, YES, flag("public", None, Kind::Bool)],
        args: Args::None,
        run: cmd_storage_create,
    },
    Spec { path: "storage list", flags: &[JSON], args: Args::None, run: cmd_storage_list },
    Spec { path: "storage destroy", flags: &[YES], args: Args::Exact(1), run: cmd_storage_destroy },
    Spec {
        path: "volumes create",
        flags: &[
            APP,
            CONFIG,
            REGION,
            flag("size", Some('s'), Kind::Int),
            YES,
            flag("count", None, Kind::Int),
            JSON,
            flag("snapshot-retention", None, Kind::Int),
            flag("require-unique-zone", None, Kind::Bool),
        ],
        args: Args::Exact(1),
        run: cmd_volumes_create,
    },
    Spec {
        path: "volumes list",
        flags: &[APP, CONFIG, JSON, flag("all", None, Kind::Bool)],
        args: Args::None,
        run: cmd_volumes_list,
    },
    Spec { path: "volumes destroy", flags: &[APP, CONFIG, YES], args: Args::Exact(1), run: cmd_volumes_destroy },
    Spec {
        path: "ips allocate-v4",
        flags: &[APP, CONFIG, YES, flag("shared", None, Kind::Bool), REGION],
        args: Args::None,
        run: cmd_ips_v4,
    },
    Spec {
        path: "ips allocate-v6",
        flags: &[APP, CONFIG, flag("private", None, Kind::Bool), ORG, REGION, flag("network", None, Kind::Str)],
        args: Args::None,
        run: cmd_ips_v6,
    },
    Spec { path: "ips list", flags: &[APP, CONFIG, JSON], args: Args::None, run: cmd_ips_list },
];

/// Group and subcommand aliases (flyctl's, for the commands the fake knows).
fn canonical(word: &str) -> &str {
    match word {
        "app" => "apps",
        "pg" => "postgres",
        "volume" | "vol" => "volumes",
        "ls" => "list",
        "delete" | "rm" => "destroy",
        other => other,
    }
}

/// Parsed flags and positional arguments.
#[derive(Debug, Default)]
struct Parsed {
    values: BTreeMap<&'static str, Vec<String>>,
    args: Vec<String>,
}

impl Parsed {
    fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn bool(&self, name: &str) -> bool {
        self.get(name) == Some("true")
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.parse().ok())
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn set_flag(parsed: &mut Parsed, flag: &Flag, value: &str, shown: &str) -> Result<(), String> {
    let stored = match flag.kind {
        Kind::Bool => match parse_go_bool(value) {
            Some(b) => b.to_string(),
            None => {
                return Err(format!(
                    "invalid argument {value:?} for {shown:?} flag: strconv.ParseBool: parsing {value:?}: invalid syntax"
                ));
            }
        },
        Kind::Int => match value.parse::<i64>() {
            Ok(n) => n.to_string(),
            Err(_) => {
                return Err(format!(
                    "invalid argument {value:?} for {shown:?} flag: strconv.ParseInt: parsing {value:?}: invalid syntax"
                ));
            }
        },
        Kind::Str | Kind::List => value.to_owned(),
        Kind::Slice => {
            let entry = parsed.values.entry(flag.long).or_default();
            entry.extend(value.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
            return Ok(());
        }
    };
    parsed.values.entry(flag.long).or_default().push(stored);
    Ok(())
}

/// pflag's parser, with cobra's interspersed positional arguments.
fn parse_flags(tokens: &[String], flags: &[&Flag]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        i += 1;
        if token == "--" {
            parsed.args.extend(tokens[i..].iter().cloned());
            break;
        }
        if let Some(body) = token.strip_prefix("--") {
            let (name, value) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            let Some(flag) = flags.iter().find(|f| f.long == name) else {
                return Err(format!("unknown flag: --{name}"));
            };
            let shown = format!("--{name}");
            match (value, flag.kind) {
                (Some(value), _) => set_flag(&mut parsed, flag, value, &shown)?,
                (None, Kind::Bool) => set_flag(&mut parsed, flag, "true", &shown)?,
                (None, _) => {
                    let Some(value) = tokens.get(i) else { return Err(format!("flag needs an argument: {shown}")) };
                    i += 1;
                    set_flag(&mut parsed, flag, value, &shown)?;
                }
            }
            continue;
        }
        if token.len() > 1 && token.starts_with('-') {
            let shorts: Vec<char> = token[1..].chars().collect();
            let mut j = 0;
            while j < shorts.len() {
                let c = shorts[j];
                let Some(flag) = flags.iter().find(|f| f.short == Some(c)) else {
                    return Err(format!("unknown shorthand flag: '{c}' in {token}"));
                };
                let shown = format!("-{c}");
                let rest: String = shorts[j + 1..].iter().collect();
                if let Some(value) = rest.strip_prefix('=') {
                    set_flag(&mut parsed, flag, value, &shown)?;
                    break;
                }
                if flag.kind == Kind::Bool {
                    set_flag(&mut parsed, flag, "true", &shown)?;
                    j += 1;
                    continue;
                }
                if !rest.is_empty() {
                    set_flag(&mut parsed, flag, &rest, &shown)?;
                } else if let Some(value) = tokens.get(i) {
                    i += 1;
                    set_flag(&mut parsed, flag, value, &shown)?;
                } else {
                    return Err(format!("flag needs an argument: '{c}' in {token}"));
                }
                break;
            }
            continue;
        }
        parsed.args.push(token.clone());
    }
    Ok(parsed)
}

/// Cobra's positional argument validators.
fn check_args(args: Args, given: &[String], path: &str) -> Result<(), String> {
    let n = given.len();
    match args {
        Args::None if n > 0 => Err(format!("unknown command {:?} for \"flyctl {path}\"", given[0])),
        Args::Exact(k) if n != k => Err(format!("accepts {k} arg(s), received {n}")),
        Args::Range(lo, hi) if n < lo || n > hi => Err(format!("accepts between {lo} and {hi} arg(s), received {n}")),
        Args::Min(k) if n < k => Err(format!("requires at least {k} arg(s), only received {n}")),
        _ => Ok(()),
    }
}

/// Finds the command: the leading words (global flags may come before them).
fn resolve(args: &[String]) -> Result<(&'static Spec, Vec<String>), (String, i32)> {
    let mut rest: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    let groups: Vec<&str> = SPECS.iter().filter_map(|s| s.path.split_once(' ').map(|(g, _)| g)).collect();
    while i < args.len() {
        let token = &args[i];
        i += 1;
        let complete = match words.as_slice() {
            [] => false,
            [first] => !groups.contains(&first.as_str()),
            _ => true,
        };
        if complete || token == "--" {
            rest.push(token.clone());
            rest.extend(args[i..].iter().cloned());
            break;
        }
        if token.starts_with('-') && token.len() > 1 {
            rest.push(token.clone());
            // A global flag's value (`-t TOKEN`) is not a command word.
            if matches!(token.as_str(), "-t" | "--access-token")
                && let Some(value) = args.get(i)
            {
                rest.push(value.clone());
                i += 1;
            }
            continue;
        }
        words.push(canonical(token).to_owned());
    }
    let help = |title: &str, mut names: Vec<&str>| {
        names.dedup();
        let mut text = format!("Usage:\n  flyctl {title}[command]\n\nAvailable Commands:\n");
        for name in names {
            let _ = writeln!(text, "  {name}");
        }
        text
    };
    match words.as_slice() {
        [] => Err((help("", SPECS.iter().map(|s| s.path.split(' ').next().unwrap_or("")).collect()), 0)),
        [first, ..] if !groups.contains(&first.as_str()) => match SPECS.iter().find(|s| s.path == first) {
            Some(spec) => Ok((spec, rest)),
            None => {
                Err((format!("Error: unknown command {first:?} for \"flyctl\"\nRun 'flyctl --help' for usage.\n"), 1))
            }
        },
        [group] => {
            let names = SPECS.iter().filter_map(|s| s.path.strip_prefix(&format!("{group} "))).collect();
            Err((help(&format!("{group} "), names), 0))
        }
        [group, sub, ..] => {
            let path = format!("{group} {sub}");
            match SPECS.iter().find(|s| s.path == path) {
                Some(spec) => Ok((spec, rest)),
                None => Err((
                    format!(
                        "Error: unknown command {sub:?} for \"flyctl {group}\"\nRun 'flyctl {group} --help' for usage.\n"
                    ),
                    1,
                )),
            }
        }
    }
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

// ----- commands --------------------------------------------------------------------------

#[expect(clippy::unnecessary_wraps, reason = "every command has the same signature")]
fn cmd_version(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let name = Path::new(&ctx.invocation.program).file_name().and_then(|n| n.to_str()).unwrap_or("flyctl");
    let name = if name == "fly" { "fly" } else { "flyctl" };
    if ctx.parsed.bool("json") {
        ctx.json(&json!({ "Name": name, "Version": VERSION.trim_start_matches('v'), "Commit": "fake", "BuildDate": "2025-06-01T00:00:00Z", "OS": "linux", "Architecture": "amd64" }));
    } else {
        ctx.say(format!("{name} {VERSION} linux/amd64 Commit: fake BuildDate: 2025-06-01T00:00:00Z"));
    }
    Ok(())
}

fn cmd_apps_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let name = match (ctx.parsed.args.first(), ctx.parsed.get("name")) {
        (Some(arg), Some(flag)) if arg != flag => {
            return Err(format!("two app names specified {arg} and {flag}. Select and specify only one"));
        }
        (Some(arg), _) => arg.clone(),
        (None, Some(flag)) => flag.to_owned(),
        (None, None) => return Err(format!("name argument or flag must be specified {NON_INTERACTIVE}")),
    };
    ctx.session()?;
    let org = ctx.org()?;
    let app = ctx.call("apps create", &json!({ "name": name, "org": org, "network": ctx.parsed.get("network") }))?;
    if ctx.parsed.bool("json") {
        ctx.json(&app);
    } else {
        ctx.say(format!("New app created: {name}"));
    }
    Ok(())
}

fn cmd_apps_destroy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    ctx.require_yes()?;
    for name in ctx.parsed.args.clone() {
        ctx.call("apps destroy", &json!({ "name": name }))?;
        ctx.say(format!("Destroyed app {name}"));
    }
    Ok(())
}

fn cmd_apps_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let org = ctx.parsed.get("org").map(str::to_owned);
    let list = ctx.call("apps list", &json!({ "org": org }))?;
    let apps = list["apps"].as_array().cloned().unwrap_or_default();
    if ctx.parsed.bool("json") {
        let rendered: Vec<Value> = apps
            .iter()
            .map(|a| {
                json!({
                    "ID": a["name"], "Name": a["name"], "Status": a["status"], "Deployed": a["deployed"],
                    "Hostname": a["hostname"], "Organization": { "Slug": a["organization"]["slug"] },
                    "PlatformVersion": "machines",
                })
            })
            .collect();
        ctx.json(&Value::Array(rendered));
    } else {
        let rows: Vec<Vec<String>> = apps
            .iter()
            .map(|a| vec![s(a, "name"), s(&a["organization"], "slug"), s(a, "status"), String::new()])
            .collect();
        ctx.out.push_str(&table(&["NAME", "OWNER", "STATUS", "LATEST DEPLOY"], &rows));
    }
    Ok(())
}

fn cmd_status(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let status = ctx.call("status", &json!({ "app": app }))?;
    if ctx.parsed.bool("json") {
        ctx.json(&status);
        return Ok(());
    }
    ctx.say("App");
    ctx.say(format!("  Name     = {}", s(&status, "name")));
    ctx.say(format!("  Owner    = {}", s(&status["organization"], "slug")));
    ctx.say(format!("  Hostname = {}", s(&status, "hostname")));
    ctx.say(format!("  Image    = {}", s(&status, "image")));
    ctx.say("  Platform = machines");
    ctx.say("");
    let machines = status["machines"].as_array().cloned().unwrap_or_default();
    if machines.is_empty() {
        ctx.say("No machines are available on this app APP".replace("APP", &app));
    } else {
        let rows: Vec<Vec<String>> = machines
            .iter()
            .map(|m| {
                vec![
                    s(&m["config"]["metadata"], "fly_process_group"),
                    s(m, "id"),
                    s(&status, "version"),
                    s(m, "region"),
                    s(m, "state"),
                ]
            })
            .collect();
        ctx.say("Machines");
        ctx.out.push_str(&table(&["PROCESS", "ID", "VERSION", "REGION", "STATE"], &rows));
    }
    Ok(())
}

fn cmd_secrets_import(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let text = ctx.read_stdin()?;
    let values = parse_secrets(&text).map_err(|e| format!("Failed to parse secrets from stdin: {e}"))?;
    if values.is_empty() {
        return Err("requires at least one SECRET=VALUE pair".to_owned());
    }
    let answer =
        ctx.call("secrets import", &json!({ "app": app, "values": values, "stage": ctx.parsed.bool("stage") }))?;
    ctx.say(s(&answer, "message"));
    Ok(())
}

fn cmd_secrets_set(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let mut values = BTreeMap::new();
    for pair in &ctx.parsed.args {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!("Secrets must be provided as NAME=VALUE pairs ({pair} is invalid)"));
        };
        values.insert(name.to_owned(), value.to_owned());
    }
    let answer =
        ctx.call("secrets set", &json!({ "app": app, "values": values, "stage": ctx.parsed.bool("stage") }))?;
    ctx.say(s(&answer, "message"));
    Ok(())
}

fn cmd_secrets_unset(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let names = ctx.parsed.args.clone();
    let answer =
        ctx.call("secrets unset", &json!({ "app": app, "names": names, "stage": ctx.parsed.bool("stage") }))?;
    ctx.say(s(&answer, "message"));
    Ok(())
}

fn cmd_secrets_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let list = ctx.call("secrets list", &json!({ "app": app }))?;
    if ctx.parsed.bool("json") {
        ctx.json(&list);
    } else {
        let rows: Vec<Vec<String>> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|secret| vec![s(secret, "name"), s(secret, "digest"), s(secret, "status")])
            .collect();
        ctx.out.push_str(&table(&["NAME", "DIGEST", "STATUS"], &rows));
    }
    Ok(())
}

fn cmd_secrets_deploy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let answer = ctx.call("secrets deploy", &json!({ "app": app }))?;
    ctx.say(s(&answer, "message"));
    Ok(())
}

/// Whether `text` is a Go duration (`300ms`, `5m`, `1h30m`, `1.5s`).
fn is_go_duration(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    if body == "0" {
        return true;
    }
    let mut rest = body;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return false;
        }
        rest = &rest[number_len..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"].iter().find(|u| rest.starts_with(*u));
        let Some(unit) = unit else { return false };
        rest = &rest[unit.len()..];
    }
    true
}

fn cmd_deploy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let p = &ctx.parsed;
    if p.bool("local-only") && p.bool("remote-only") {
        return Err(
            "if any flags in the group [local-only remote-only] are set none of the others can be; [local-only remote-only] were all set"
                .to_owned(),
        );
    }
    let strategy = p.get("strategy").map(str::to_owned);
    if let Some(strategy) = &strategy
        && !["canary", "rolling", "immediate", "bluegreen"].contains(&strategy.as_str())
    {
        return Err(format!("unsupported deployment strategy '{strategy}'"));
    }
    let wait_timeout = p.get("wait-timeout").map(str::to_owned);
    if let Some(timeout) = &wait_timeout
        && !is_go_duration(timeout)
    {
        return Err(format!(
            "invalid argument {timeout:?} for \"--wait-timeout\" flag: time: invalid duration {timeout:?}"
        ));
    }
    for (name, values) in [("build-arg", p.list("build-arg")), ("env", p.list("env"))] {
        if let Some(bad) = values.iter().find(|v| v.split_once('=').is_none_or(|(k, _)| k.is_empty())) {
            return Err(format!("invalid {name} '{bad}': must be in the format NAME=VALUE"));
        }
    }
    let workdir = match p.args.first() {
        Some(dir) => {
            let dir = ctx.resolve_path(dir);
            if !dir.is_dir() {
                return Err(format!("failed to change working directory to {}: no such directory", dir.display()));
            }
            dir
        }
        None => ctx.invocation.cwd.clone(),
    };
    let config_path = p.get("config").map_or_else(|| workdir.join("fly.toml"), |c| ctx.resolve_path(c));
    let original = std::fs::read_to_string(&config_path).map_err(|_| {
        format!(
            "failed loading app config from {}: open {}: no such file or directory",
            config_path.display(),
            config_path.display()
        )
    })?;
    ctx.say("==> Verifying app config");
    ctx.say(format!("Validating {}", config_path.display()));
    // The flags that rewrite the config are applied before validation, as flyctl does.
    let primary_region = ctx.parsed.get("primary-region").map(str::to_owned);
    let config = if strategy.is_some() || primary_region.is_some() {
        match original.parse::<toml::Table>() {
            Ok(mut table) => {
                if let Some(strategy) = &strategy {
                    let deploy = table.entry("deploy").or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    if let Some(deploy) = deploy.as_table_mut() {
                        deploy.insert("strategy".to_owned(), toml::Value::String(strategy.clone()));
                    }
                }
                if let Some(region) = &primary_region {
                    table.insert("primary_region".to_owned(), toml::Value::String(region.clone()));
                }
                toml::to_string(&table).unwrap_or(original)
            }
            Err(_) => original,
        }
    } else {
        original
    };
    if let Err(problems) = crate::flytoml::check(&config) {
        for problem in problems {
            let _ = writeln!(ctx.err, "✘ {problem}");
        }
        return Err("App configuration is not valid".to_owned());
    }
    ctx.say("✓ Configuration is valid");
    ctx.say("--> Verified app config");
    let root: toml::Table = config.parse().map_err(|e| format!("invalid TOML: {e}"))?;

    let app = match ctx.parsed.get("app").filter(|a| !a.is_empty()).or_else(|| ctx.env("FLY_APP")) {
        Some(app) => app.to_owned(),
        None => root.get("app").and_then(toml::Value::as_str).map(str::to_owned).ok_or(
            "the config for your app is missing an app name, add an app field to the fly.toml file or specify with the -a flag",
        )?,
    };

    ctx.check_app(&app)?;

    // The image: --image, [build] image, else a Dockerfile to build.
    let build_section = root.get("build").and_then(toml::Value::as_table);
    let config_image = build_section.and_then(|b| b.get("image")).and_then(toml::Value::as_str);
    let image = ctx.parsed.get("image").map(str::to_owned).or_else(|| config_image.map(str::to_owned));
    let (build, dockerfile) = if image.is_some() {
        ("image", None)
    } else {
        let config_dir = config_path.parent().map_or_else(|| workdir.clone(), Path::to_path_buf);
        let dockerfile = match (
            ctx.parsed.get("dockerfile"),
            build_section.and_then(|b| b.get("dockerfile")).and_then(toml::Value::as_str),
        ) {
            (Some(flag), _) => ctx.resolve_path(flag),
            (None, Some(configured)) => config_dir.join(configured),
            (None, None) => workdir.join("Dockerfile"),
        };
        if !dockerfile.is_file() {
            return Err(
                if ctx.parsed.has("dockerfile") || build_section.is_some_and(|b| b.contains_key("dockerfile")) {
                    format!("dockerfile '{}' not found", dockerfile.display())
                } else {
                    "app does not have a Dockerfile or buildpacks configured. See https://fly.io/docs/reference/configuration/#the-build-section".to_owned()
                },
            );
        }
        (if ctx.parsed.bool("local-only") { "local" } else { "remote" }, Some(dockerfile.display().to_string()))
    };

    // [[files]] local_path: read from the working directory.
    let mut local_files = serde_json::Map::new();
    let files = match root.get("files") {
        Some(toml::Value::Array(items)) => items.iter().filter_map(toml::Value::as_table).cloned().collect(),
        _ => Vec::new(),
    };
    for file in files {
        if let (Some(guest), Some(local)) =
            (file.get("guest_path").and_then(toml::Value::as_str), file.get("local_path").and_then(toml::Value::as_str))
        {
            let path = ctx.resolve_path(local);
            let content = std::fs::read(&path).map_err(|e| {
                format!("failed to read local file {local} for [[files]] {guest}: open {}: {e}", path.display())
            })?;
            local_files.insert(guest.to_owned(), json!(base64::engine::general_purpose::STANDARD.encode(content)));
        }
    }

    if let Some(dockerfile) = &dockerfile {
        ctx.say(format!(
            "==> Building image with {} builder",
            if build == "local" { "a local Docker" } else { "Fly's remote" }
        ));
        ctx.say(format!("Building from {dockerfile}"));
    } else if let Some(image) = &image {
        ctx.say(format!("Searching for image '{image}' remotely..."));
    }
    let ha = ctx.parsed.get("ha").is_none_or(|v| v == "true");
    let body = json!({
        "app": app,
        "config": config,
        "image": image,
        "build": build,
        "dockerfile": dockerfile,
        "ha": ha,
        "strategy": strategy,
        "primary_region": primary_region,
        "detach": ctx.parsed.bool("detach"),
        "wait_timeout": wait_timeout,
        "build_args": ctx.parsed.list("build-arg"),
        "env": ctx.parsed.list("env"),
        "local_files": local_files,
    });
    let release = ctx.call("deploy", &body)?;
    if build == "image" {
        ctx.say(format!("image found: {}", s(&release, "image")));
    } else {
        ctx.say("--> Building image done");
        ctx.say(format!("image: {}", s(&release, "image")));
    }
    ctx.say("");
    ctx.say(format!("Watch your deployment at https://fly.io/apps/{app}/monitoring"));
    ctx.say("");
    ctx.say("-------");
    ctx.say(format!("Updating existing machines in '{app}' with {} strategy", s(&release, "strategy")));
    for machine in release["machines"].as_array().cloned().unwrap_or_default() {
        ctx.say(format!(
            " ✔ Machine {} [{}] update finished: success",
            s(&machine, "id"),
            s(&machine, "process_group")
        ));
    }
    ctx.say("-------");
    ctx.say("");
    ctx.say(format!("Visit your newly deployed app at https://{app}.fly.dev/"));
    Ok(())
}

fn cmd_postgres_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let name = ctx.required("name")?;
    let org = ctx.org()?;
    let region = ctx.region()?;
    let vm_size = ctx.required("vm-size")?;
    let volume_size = ctx.required("volume-size")?;
    let cluster_size = ctx.required("initial-cluster-size")?;
    let (Ok(volume_size), Ok(cluster_size)) = (volume_size.parse::<u64>(), cluster_size.parse::<u64>()) else {
        return Err("--volume-size and --initial-cluster-size must be positive numbers".to_owned());
    };
    ctx.say(format!("Creating postgres cluster {name} in organization {org}"));
    let cluster = ctx.call(
        "postgres create",
        &json!({
            "name": name, "org": org, "region": region, "vm_size": vm_size, "volume_size": volume_size,
            "initial_cluster_size": cluster_size, "password": ctx.parsed.get("password"),
            "autostart": ctx.parsed.bool("autostart"), "image_ref": ctx.parsed.get("image-ref"),
        }),
    )?;
    let machines = cluster["machines"].as_array().cloned().unwrap_or_default();
    ctx.say("Creating app...");
    ctx.say(format!("Setting secrets on app {name}..."));
    for (index, machine) in machines.iter().enumerate() {
        ctx.say(format!(
            "Provisioning {} of {} machines with image flyio/postgres-flex:15.8",
            index + 1,
            machines.len()
        ));
        ctx.say(format!(
            "Waiting for machine to start...\nMachine {} is started",
            machine.as_str().unwrap_or_default()
        ));
    }
    if !ctx.parsed.bool("detach") {
        ctx.say("==> Monitoring health checks");
        for machine in &machines {
            ctx.say(format!("  Waiting for {} to become healthy (started, 3/3)", machine.as_str().unwrap_or_default()));
        }
        ctx.say("");
    }
    let password = s(&cluster, "password");
    ctx.say(format!("Postgres cluster {name} created"));
    ctx.say("  Username:    postgres");
    ctx.say(format!("  Password:    {password}"));
    ctx.say(format!("  Hostname:    {name}.internal"));
    ctx.say(format!("  Flycast:     {}", s(&cluster, "flycast")));
    ctx.say("  Proxy port:  5432");
    ctx.say("  Postgres port:  5433");
    ctx.say(format!("  Connection string: postgres://postgres:{password}@{name}.flycast:5432\n"));
    ctx.say("Save your credentials in a secure place -- you won't be able to see them again!");
    ctx.say("");
    ctx.say("Connect to postgres");
    ctx.say(format!(
        "Any app within the {org} organization can connect to this Postgres using the above connection string"
    ));
    Ok(())
}

fn cmd_postgres_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let list = ctx.call("postgres list", &json!({}))?;
    if ctx.parsed.bool("json") {
        ctx.json(&list);
    } else {
        let rows: Vec<Vec<String>> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| vec![s(c, "name"), s(&c["organization"], "slug"), s(c, "status")])
            .collect();
        ctx.out.push_str(&table(&["NAME", "OWNER", "STATUS"], &rows));
    }
    Ok(())
}

fn cmd_redis_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let name = ctx.required("name")?;
    let org = ctx.org()?;
    let region = ctx.region()?;
    let replicas = ctx.parsed.list("replica-regions");
    if ctx.parsed.bool("no-replicas") && !replicas.is_empty() {
        return Err("if any flags in the group [no-replicas replica-regions] are set none of the others can be; [no-replicas replica-regions] were all set".to_owned());
    }
    if !ctx.parsed.bool("no-replicas") && replicas.is_empty() {
        return Err(format!("--no-replicas or --replica-regions flag required {NON_INTERACTIVE}"));
    }
    let eviction = match (ctx.parsed.bool("enable-eviction"), ctx.parsed.bool("disable-eviction")) {
        (true, true) => return Err("if any flags in the group [enable-eviction disable-eviction] are set none of the others can be; [enable-eviction disable-eviction] were all set".to_owned()),
        (true, false) => true,
        (false, true) => false,
        (false, false) => return Err(format!("--enable-eviction or --disable-eviction flag required {NON_INTERACTIVE}")),
    };
    let db = ctx.call(
        "redis create",
        &json!({ "name": name, "org": org, "region": region, "replica_regions": replicas, "eviction": eviction, "plan": ctx.parsed.get("plan") }),
    )?;
    ctx.say("");
    ctx.say(format!(
        "Your Upstash Redis database {name} is ready. Check the pricing details at https://upstash.com/pricing."
    ));
    ctx.say(format!("Apps in the {org} org can connect to Redis at {}", s(&db, "private_url")));
    ctx.say("If you have redis-cli installed, use fly redis connect to get a Redis console.");
    Ok(())
}

fn cmd_redis_status(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let name = ctx.parsed.args[0].clone();
    let db = ctx.call("redis status", &json!({ "name": name }))?;
    let read = db["read_regions"]
        .as_array()
        .filter(|r| !r.is_empty())
        .map_or_else(|| "None".to_owned(), |r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","));
    ctx.say("Redis");
    ctx.say(format!("  ID             = {}", s(&db, "id")));
    ctx.say(format!("  Name           = {}", s(&db, "name")));
    ctx.say(format!("  Plan           = {}", s(&db, "plan")));
    ctx.say(format!("  Primary Region = {}", s(&db, "primary_region")));
    ctx.say(format!("  Read Regions   = {read}"));
    ctx.say(format!("  Eviction       = {}", s(&db, "eviction")));
    ctx.say(format!("  Private URL    = {}", s(&db, "private_url")));
    Ok(())
}

fn cmd_redis_destroy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    ctx.require_yes()?;
    let name = ctx.parsed.args[0].clone();
    ctx.call("redis destroy", &json!({ "name": name }))?;
    ctx.say(format!("Your Redis database {name} was destroyed"));
    Ok(())
}

fn cmd_redis_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let list = ctx.call("redis list", &json!({}))?;
    if ctx.parsed.bool("json") {
        ctx.json(&list);
    } else {
        let rows: Vec<Vec<String>> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|d| {
                vec![
                    s(d, "name"),
                    s(&d["organization"], "slug"),
                    s(d, "plan"),
                    s(d, "eviction"),
                    s(d, "primary_region"),
                ]
            })
            .collect();
        ctx.out.push_str(&table(&["NAME", "ORG", "PLAN", "EVICTION", "PRIMARY REGION"], &rows));
    }
    Ok(())
}

fn cmd_storage_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let name = ctx.required("name")?;
    let app = ctx.app_name_if_present()?;
    let org = ctx.parsed.get("org").filter(|o| !o.is_empty()).or_else(|| ctx.env("FLY_ORG")).map(str::to_owned);
    if app.is_none() && org.is_none() {
        return Err(format!("org slug must be specified {NON_INTERACTIVE}"));
    }
    let answer = ctx.call(
        "storage create",
        &json!({ "name": name, "org": org, "app": app, "public": ctx.parsed.bool("public") }),
    )?;
    ctx.say(format!(
        "Your Tigris Object Storage bucket ({name}) is ready. See details and next steps with: https://fly.io/docs/tigris/"
    ));
    ctx.say("");
    let secrets = answer["secrets"].as_object().cloned().unwrap_or_default();
    if let Some(app) = app {
        ctx.say(format!("Setting the following secrets on {app}:"));
        for key in secrets.keys() {
            ctx.say(key);
        }
        ctx.say("");
        ctx.say(s(&answer, "message"));
    } else {
        ctx.say("Set one or more of the following secrets on your target app.");
        for (key, value) in &secrets {
            ctx.say(format!("{key}: {}", value.as_str().unwrap_or_default()));
        }
    }
    Ok(())
}

fn cmd_storage_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let list = ctx.call("storage list", &json!({}))?;
    if ctx.parsed.bool("json") {
        ctx.json(&list);
    } else {
        let rows: Vec<Vec<String>> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|b| vec![s(b, "name"), s(&b["organization"], "slug"), s(b, "public")])
            .collect();
        ctx.out.push_str(&table(&["NAME", "ORG", "PUBLIC"], &rows));
    }
    Ok(())
}

fn cmd_storage_destroy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    ctx.require_yes()?;
    let name = ctx.parsed.args[0].clone();
    ctx.call("storage destroy", &json!({ "name": name }))?;
    ctx.say(format!("Your Tigris Object Storage bucket {name} was destroyed"));
    Ok(())
}

fn volume_block(volume: &Value, app: &str) -> String {
    let rows = [
        ("ID", s(volume, "id")),
        ("Name", s(volume, "name")),
        ("App", app.to_owned()),
        ("Region", s(volume, "region")),
        ("Zone", s(volume, "zone")),
        ("Size GB", s(volume, "size_gb")),
        ("Encrypted", s(volume, "encrypted")),
        ("Created at", s(volume, "created_at")),
        ("Snapshot retention", s(volume, "snapshot_retention")),
        ("Scheduled snapshots", s(volume, "auto_backup_enabled")),
    ];
    let mut text = String::new();
    for (label, value) in rows {
        let _ = writeln!(text, "{label:>20}: {value}");
    }
    text
}

fn cmd_volumes_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let name = ctx.parsed.args[0].clone();
    let region = ctx.region()?;
    let size = ctx.parsed.int("size").unwrap_or(1);
    let count = ctx.parsed.int("count").unwrap_or(1);
    if size < 1 || count < 1 {
        return Err("--size and --count must be at least 1".to_owned());
    }
    let created = ctx.call(
        "volumes create",
        &json!({ "app": app, "name": name, "region": region, "size_gb": size, "count": count, "yes": ctx.parsed.bool("yes") }),
    )?;
    if ctx.parsed.bool("json") {
        ctx.json(&created);
        return Ok(());
    }
    let blocks: Vec<String> =
        created.as_array().cloned().unwrap_or_default().iter().map(|v| volume_block(v, &app)).collect();
    ctx.out.push_str(&blocks.join("\n"));
    Ok(())
}

fn cmd_volumes_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let list = ctx.call("volumes list", &json!({ "app": app }))?;
    if ctx.parsed.bool("json") {
        ctx.json(&list);
    } else {
        let rows: Vec<Vec<String>> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| {
                vec![
                    s(v, "id"),
                    s(v, "state"),
                    s(v, "name"),
                    format!("{}GB", s(v, "size_gb")),
                    s(v, "region"),
                    s(v, "zone"),
                    s(v, "encrypted"),
                    s(v, "attached_machine_id"),
                    s(v, "created_at"),
                ]
            })
            .collect();
        ctx.out.push_str(&table(
            &["ID", "STATE", "NAME", "SIZE", "REGION", "ZONE", "ENCRYPTED", "ATTACHED VM", "CREATED AT"],
            &rows,
        ));
    }
    Ok(())
}

fn cmd_volumes_destroy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    ctx.require_yes()?;
    let id = ctx.parsed.args[0].clone();
    let app = ctx.app_name_if_present()?;
    let answer = ctx.call("volumes destroy", &json!({ "id": id, "app": app }))?;
    ctx.say(format!("Destroyed volume {id} from {}", s(&answer, "app")));
    Ok(())
}

fn ip_table(ip: &Value) -> String {
    let kind = match s(ip, "type").as_str() {
        "shared_v4" => "public (shared)",
        "private_v6" => "private",
        _ => "public (dedicated)",
    };
    let version = if s(ip, "type").ends_with("v4") { "v4" } else { "v6" };
    table(
        &["VERSION", "IP", "TYPE", "REGION"],
        &[vec![version.to_owned(), s(ip, "ip"), kind.to_owned(), s(ip, "region")]],
    )
}

fn cmd_ips_v4(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let shared = ctx.parsed.bool("shared");
    if !shared && !ctx.parsed.bool("yes") {
        return Err(format!("yes flag required {NON_INTERACTIVE} (dedicated IPv4 addresses cost money)"));
    }
    let ip = ctx.call("ips allocate-v4", &json!({ "app": app, "shared": shared }))?;
    ctx.out.push_str(&ip_table(&ip));
    Ok(())
}

fn cmd_ips_v6(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let ip = ctx.call("ips allocate-v6", &json!({ "app": app, "private": ctx.parsed.bool("private") }))?;
    ctx.out.push_str(&ip_table(&ip));
    Ok(())
}

fn cmd_ips_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let list = ctx.call("ips list", &json!({ "app": app }))?;
    if ctx.parsed.bool("json") {
        ctx.json(&list);
    } else {
        for ip in list.as_array().cloned().unwrap_or_default() {
            ctx.out.push_str(&ip_table(&ip));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> Vec<&'static Flag> {
        SPECS.iter().find(|s| s.path == "deploy").unwrap().flags.iter().chain(GLOBAL.iter()).collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_parse_like_pflag() {
        let parsed = parse_flags(
            &strings(&[
                "-a",
                "x",
                "--image=i",
                "--ha=false",
                "-yc",
                "f.toml",
                "dir",
                "--build-arg",
                "A=1",
                "--build-arg=B=2",
            ]),
            &flags(),
        )
        .unwrap();
        assert_eq!(parsed.get("app"), Some("x"));
        assert_eq!(parsed.get("image"), Some("i"));
        assert_eq!(parsed.get("ha"), Some("false"));
        assert!(parsed.bool("yes"));
        assert_eq!(parsed.get("config"), Some("f.toml"));
        assert_eq!(parsed.list("build-arg"), ["A=1", "B=2"]);
        assert_eq!(parsed.args, ["dir"]);
        // A boolean does not take the next word.
        let parsed = parse_flags(&strings(&["--ha", "false"]), &flags()).unwrap();
        assert_eq!((parsed.get("ha"), parsed.args.as_slice()), (Some("true"), &["false".to_owned()][..]));
        assert_eq!(parse_flags(&strings(&["--x"]), &flags()).unwrap_err(), "unknown flag: --x");
        assert_eq!(parse_flags(&strings(&["-q"]), &flags()).unwrap_err(), "unknown shorthand flag: 'q' in -q");
        assert_eq!(parse_flags(&strings(&["--image"]), &flags()).unwrap_err(), "flag needs an argument: --image");
        assert_eq!(parse_flags(&strings(&["-a"]), &flags()).unwrap_err(), "flag needs an argument: 'a' in -a");
        assert!(parse_flags(&strings(&["--ha=maybe"]), &flags()).unwrap_err().contains("strconv.ParseBool"));
    }

    #[test]
    fn secrets_parse_like_flyctl() {
        let text =
            "# comment\n\nA=plain\nB=  \"quoted\"  x\nC=\"quoted\"\r\nD=\"\"\"line1\nline2\n\"\"\"\nE = a=b\nF=\n";
        let parsed = parse_secrets(text).unwrap();
        assert_eq!(parsed["A"], "plain");
        assert_eq!(parsed["B"], "\"quoted\"  x");
        assert_eq!(parsed["C"], "quoted");
        assert_eq!(parsed["D"], "line1\nline2\n");
        assert_eq!(parsed["E"], "a=b");
        assert_eq!(parsed["F"], "");
        assert!(parse_secrets("NOPE\n").unwrap_err().contains("NAME=VALUE"));
        assert!(parse_secrets("A=\"\"\"open\n").unwrap_err().contains("never closed"));
        assert!(parse_secrets("A=\"\n").unwrap_err().contains("lone"));
        assert!(parse_secrets(&format!("A={}\n", "x".repeat(70_000))).unwrap_err().contains("64 KiB"));
    }

    #[test]
    fn go_durations() {
        for ok in ["5m", "300s", "1h30m", "1.5s", "250ms", "0"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["5", "", "m", "5 m", "five"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
