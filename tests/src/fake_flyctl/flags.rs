//! flyctl's command line as pflag/cobra parse it: flags (`--flag=value`, `-f value`,
//! grouped shorthands, booleans), the command table and cobra's errors.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Ctx, commands};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Bool,
    Str,
    Int,
    /// A repeatable string (`StringArray`).
    List,
    /// A repeatable, comma-separated string (`StringSlice`).
    Slice,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Flag {
    pub(super) long: &'static str,
    pub(super) short: Option<char>,
    pub(super) kind: Kind,
}

pub(super) const fn flag(long: &'static str, short: Option<char>, kind: Kind) -> Flag {
    Flag { long, short, kind }
}

pub(super) const GLOBAL: &[Flag] = &[
    flag("access-token", Some('t'), Kind::Str),
    flag("verbose", None, Kind::Bool),
    flag("debug", None, Kind::Bool),
    flag("help", Some('h'), Kind::Bool),
];
pub(super) const APP: Flag = flag("app", Some('a'), Kind::Str);
pub(super) const CONFIG: Flag = flag("config", Some('c'), Kind::Str);
pub(super) const ORG: Flag = flag("org", Some('o'), Kind::Str);
pub(super) const REGION: Flag = flag("region", Some('r'), Kind::Str);
pub(super) const YES: Flag = flag("yes", Some('y'), Kind::Bool);
pub(super) const JSON: Flag = flag("json", Some('j'), Kind::Bool);
pub(super) const DETACH: Flag = flag("detach", None, Kind::Bool);
pub(super) const STAGE: Flag = flag("stage", None, Kind::Bool);
pub(super) const DNS_CHECKS: Flag = flag("dns-checks", None, Kind::Bool);

/// How many positional arguments a command takes (cobra's validators).
#[derive(Debug, Clone, Copy)]
pub(super) enum Args {
    None,
    Exact(usize),
    Range(usize, usize),
    Min(usize),
}

pub(super) type Runner = fn(&mut Ctx<'_>) -> Result<(), String>;

pub(super) struct Spec {
    pub(super) path: &'static str,
    pub(super) flags: &'static [Flag],
    pub(super) args: Args,
    pub(super) run: Runner,
}

pub(super) const SPECS: &[Spec] = &[
    Spec { path: "version", flags: &[JSON], args: Args::None, run: commands::cmd_version },
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
        run: commands::cmd_apps_create,
    },
    Spec { path: "apps destroy", flags: &[YES], args: Args::Min(1), run: commands::cmd_apps_destroy },
    Spec { path: "apps list", flags: &[ORG, JSON], args: Args::None, run: commands::cmd_apps_list },
    Spec {
        path: "status",
        // fly-2026.md §5.1 (flyctl internal/command/status/status.go).
        flags: &[
            APP,
            CONFIG,
            JSON,
            flag("all", None, Kind::Bool),
            flag("deployment", None, Kind::Bool),
            flag("watch", None, Kind::Bool),
            flag("rate", None, Kind::Int),
        ],
        args: Args::None,
        run: commands::cmd_status,
    },
    // fly-2026.md §5.3 (flyctl internal/command/apps/releases.go): `--image` changes only the table.
    Spec {
        path: "releases",
        flags: &[APP, CONFIG, JSON, flag("image", None, Kind::Bool)],
        args: Args::None,
        run: commands::cmd_releases,
    },
    Spec {
        path: "secrets import",
        flags: &[APP, CONFIG, DETACH, STAGE, DNS_CHECKS],
        args: Args::None,
        run: commands::cmd_secrets_import,
    },
    Spec {
        path: "secrets set",
        flags: &[APP, CONFIG, DETACH, STAGE, DNS_CHECKS],
        args: Args::Min(1),
        run: commands::cmd_secrets_set,
    },
    Spec {
        path: "secrets unset",
        flags: &[APP, CONFIG, DETACH, STAGE, DNS_CHECKS],
        args: Args::Min(1),
        run: commands::cmd_secrets_unset,
    },
    Spec { path: "secrets list", flags: &[APP, CONFIG, JSON], args: Args::None, run: commands::cmd_secrets_list },
    Spec {
        path: "secrets deploy",
        flags: &[APP, CONFIG, DETACH, DNS_CHECKS],
        args: Args::None,
        run: commands::cmd_secrets_deploy,
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
            flag("skip-release-command", None, Kind::Bool),
            flag("release-command-timeout", None, Kind::Str),
        ],
        args: Args::Range(0, 1),
        run: commands::cmd_deploy,
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
        run: commands::cmd_postgres_create,
    },
    Spec { path: "postgres list", flags: &[JSON], args: Args::None, run: commands::cmd_postgres_list },
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
        run: commands::cmd_redis_create,
    },
    Spec { path: "redis status", flags: &[], args: Args::Exact(1), run: commands::cmd_redis_status },
    Spec { path: "redis destroy", flags: &[YES], args: Args::Exact(1), run: commands::cmd_redis_destroy },
    Spec { path: "redis list", flags: &[JSON], args: Args::None, run: commands::cmd_redis_list },
    Spec {
        path: "storage create",
        flags: &[flag("name", Some('n'), Kind::Str), ORG, APP, CONFIG, YES, flag("public", None, Kind::Bool)],
        args: Args::None,
        run: commands::cmd_storage_create,
    },
    Spec { path: "storage list", flags: &[JSON], args: Args::None, run: commands::cmd_storage_list },
    Spec { path: "storage destroy", flags: &[YES], args: Args::Exact(1), run: commands::cmd_storage_destroy },
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
        run: commands::cmd_volumes_create,
    },
    Spec {
        path: "volumes list",
        flags: &[APP, CONFIG, JSON, flag("all", None, Kind::Bool)],
        args: Args::None,
        run: commands::cmd_volumes_list,
    },
    Spec {
        path: "volumes destroy",
        flags: &[APP, CONFIG, YES],
        args: Args::Exact(1),
        run: commands::cmd_volumes_destroy,
    },
    Spec {
        path: "ips allocate-v4",
        flags: &[APP, CONFIG, YES, flag("shared", None, Kind::Bool), REGION],
        args: Args::None,
        run: commands::cmd_ips_v4,
    },
    Spec {
        path: "ips allocate-v6",
        flags: &[APP, CONFIG, flag("private", None, Kind::Bool), ORG, REGION, flag("network", None, Kind::Str)],
        args: Args::None,
        run: commands::cmd_ips_v6,
    },
    Spec { path: "ips list", flags: &[APP, CONFIG, JSON], args: Args::None, run: commands::cmd_ips_list },
];

/// Group and subcommand aliases (flyctl's, for the commands the fake knows).
pub(super) fn canonical(word: &str) -> &str {
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
pub(super) struct Parsed {
    pub(super) values: BTreeMap<&'static str, Vec<String>>,
    pub(super) args: Vec<String>,
}

impl Parsed {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub(super) fn bool(&self, name: &str) -> bool {
        self.get(name) == Some("true")
    }

    pub(super) fn list(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    pub(super) fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.parse().ok())
    }
}

/// Go's `strconv.ParseBool`.
pub(super) fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

pub(super) fn set_flag(parsed: &mut Parsed, flag: &Flag, value: &str, shown: &str) -> Result<(), String> {
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
pub(super) fn parse_flags(tokens: &[String], flags: &[&Flag]) -> Result<Parsed, String> {
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
pub(super) fn check_args(args: Args, given: &[String], path: &str) -> Result<(), String> {
    let n = given.len();
    match args {
        Args::None if n > 0 => Err(format!("unknown command {:?} for \"flyctl {path}\"", given[0])),
        Args::Exact(k) if n != k => Err(format!("accepts {k} arg(s), received {n}")),
        Args::Range(lo, hi) if n < lo || n > hi => Err(format!("accepts between {lo} and {hi} arg(s), received {n}")),
        Args::Min(k) if n < k => Err(format!("requires at least {k} arg(s), only received {n}")),
        _ => Ok(()),
    }
}

/// Every command: [`SPECS`], the `mpg` ones ([`super::mpg::SPECS`]) and `logs`.
pub(super) fn all_specs() -> impl Iterator<Item = &'static Spec> {
    SPECS.iter().chain(super::mpg::SPECS.iter()).chain(super::logs::SPECS.iter())
}

/// Finds the command: the leading words (global flags may come before them). A command's
/// path has one to three words (`mpg users create`).
pub(super) fn resolve(args: &[String]) -> Result<(&'static Spec, Vec<String>), (String, i32)> {
    let mut rest: Vec<String> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    // Whether some command's path continues after these words.
    let is_group = |words: &[String]| {
        let prefix = format!("{} ", words.join(" "));
        all_specs().any(|s| s.path.starts_with(&prefix))
    };
    while i < args.len() {
        let token = &args[i];
        i += 1;
        if (!words.is_empty() && !is_group(&words)) || token == "--" {
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
        let word = match words.first().map(String::as_str) {
            Some("mpg") => super::mpg::canonical(&words, token),
            _ => canonical(token),
        };
        words.push(word.to_owned());
    }
    let help = |title: &str, mut names: Vec<&str>| {
        names.dedup();
        let mut text = format!("Usage:\n  flyctl {title}[command]\n\nAvailable Commands:\n");
        for name in names {
            let _ = writeln!(text, "  {name}");
        }
        text
    };
    if words.is_empty() {
        return Err((help("", all_specs().map(|s| s.path.split(' ').next().unwrap_or("")).collect()), 0));
    }
    let path = words.join(" ");
    if let Some(spec) = all_specs().find(|s| s.path == path) {
        return Ok((spec, rest));
    }
    if is_group(&words) {
        let prefix = format!("{path} ");
        let names = all_specs().filter_map(|s| s.path.strip_prefix(&prefix)?.split(' ').next()).collect();
        return Err((help(&prefix, names), 0));
    }
    let (parent, last) = words.split_at(words.len() - 1);
    let parent = if parent.is_empty() { "flyctl".to_owned() } else { format!("flyctl {}", parent.join(" ")) };
    Err((format!("Error: unknown command {:?} for \"{parent}\"\nRun '{parent} --help' for usage.\n", last[0]), 1))
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
}
