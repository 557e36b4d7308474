//! `fly deploy`'s release command, as fly-2026.md §3.1 describes it: once per deploy, before
//! any app machine changes, the command (`[deploy] release_command`, split shell-style with
//! no shell) runs alone in a temporary machine of the deployed image: no sidecars, no volumes,
//! the image's entrypoint (or `[experimental] entrypoint`) with the split command as its
//! arguments, the app's `[env]`, all its secrets, `RELEASE_COMMAND=1`,
//! `FLY_PROCESS_GROUP=fly_app_release_command` and `PRIMARY_REGION`. A non-zero exit fails the
//! deploy with flyctl's text and nothing is released.
//!
//! The "machine" is a process on this host: the fake server answers its id and environment
//! (route `release_command`, which maps `<cluster>.flycast` hosts to the real test Postgres),
//! the image is pulled with skopeo and unpacked with umoci ([`crate::registry::pull`]), and its
//! entrypoint runs with the image's own loader and libraries ([`crate::registry::rootfs_command`]).
//! The fake reaches no registry but one on loopback: an image it cannot pull (such as
//! `registry.fly.io/...`, which the fake otherwise "finds", or an image Fly's builder would
//! build) is an error naming `--skip-release-command`, never a command pretended to have run.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Ctx;

/// Default `--release-command-timeout` (fly-2026.md §3.1).
const DEFAULT_TIMEOUT: Duration = Duration::from_mins(5);
/// Log lines flyctl prints after a failure.
const LOG_LINES: usize = 100;

/// Runs the release command of `config` (the validated fly.toml text) for `app` in `image`
/// (`None`: an image Fly's builder would build), unless there is none or
/// `--skip-release-command` was given.
pub(super) fn run(ctx: &mut Ctx<'_>, app: &str, config: &str, image: Option<&str>) -> Result<(), String> {
    let root: toml::Table = config.parse().map_err(|e| format!("invalid TOML: {e}"))?;
    let deploy = root.get("deploy").and_then(toml::Value::as_table);
    let Some(command) = deploy.and_then(|d| d.get("release_command")).and_then(toml::Value::as_str) else {
        return Ok(());
    };
    if ctx.parsed.bool("skip-release-command") {
        return Ok(());
    }
    let words =
        crate::flytoml::shell_split(command).map_err(|_| format!("Can't shell split release command: '{command}'"))?;
    let timeout = timeout(ctx.parsed.get("release-command-timeout"), deploy)?;
    let _ = writeln!(ctx.err, "Running {app} release_command: {command}");
    let image = image.filter(|r| on_loopback(r)).ok_or_else(|| {
        let what = image.map_or_else(|| "the image Fly's builder would build".to_owned(), |r| format!("image '{r}'"));
        format!(
            "the fake flyctl cannot run release_command in {what}: it pulls images only from a registry on loopback \
             (127.0.0.1, localhost), and Fly runs the release command in the deployed image (fly-2026.md §3.1); \
             deploy an image pushed to a loopback registry, or pass --skip-release-command"
        )
    })?;
    let machine = ctx.call(
        "release_command",
        &json!({
            "app": app, "config": config, "image": image, "env": ctx.parsed.list("env"),
            "primary_region": ctx.parsed.get("primary-region"),
        }),
    )?;
    let id = machine["machine"].as_str().unwrap_or_default().to_owned();
    let folder = tempfile::Builder::new().prefix("fake-fly-release-").tempdir().map_err(|e| e.to_string())?;
    let pulled = crate::registry::pull(image, folder.path(), None)
        .map_err(|e| format!("failed to pull image '{image}' for the release_command machine: {e}"))?;
    let _ = writeln!(ctx.err, "Starting machine");
    let (code, log) = execute(&pulled, &root, &words, &machine["env"], &folder.path().join("log"), timeout)
        .map_err(|e| match e {
            Failure::Start(e) => format!("failed to start the release_command machine {id}: {e}"),
            Failure::Timeout => format!(
                "error waiting for release_command machine {id} to finish running: timeout reached waiting for machine's state to change\n\
                 You can increase the timeout with the --release-command-timeout flag"
            ),
        })?;
    if code == 0 {
        return Ok(());
    }
    let _ = writeln!(ctx.err, "Error release_command failed running on machine {id} with exit code {code}.");
    let _ = writeln!(ctx.err, "Checking logs: fetching the last {LOG_LINES} lines below:");
    let lines: Vec<&str> = log.lines().collect();
    for line in &lines[lines.len().saturating_sub(LOG_LINES)..] {
        let _ = writeln!(ctx.err, "  {line}");
    }
    Err(format!("machine {id} exited with non-zero status of {code}"))
}

/// `--release-command-timeout` (a Go duration, a bare integer of seconds, or `none`), else
/// `[deploy] release_command_timeout`, else 5 minutes; `None` is no limit.
fn timeout(flag: Option<&str>, deploy: Option<&toml::Table>) -> Result<Option<Duration>, String> {
    let nanos = |text: &str| {
        crate::flytoml::parse_go_duration(text)
            .map(|n| Duration::from_nanos(u64::try_from(n.max(0)).unwrap_or(u64::MAX)))
    };
    match flag {
        Some("none") => Ok(None),
        Some(text) => match text.parse::<u64>() {
            Ok(seconds) => Ok(Some(Duration::from_secs(seconds))),
            Err(_) => nanos(text).map(Some).map_err(|_| {
                format!(
                    "invalid argument {text:?} for \"--release-command-timeout\" flag: time: invalid duration {text:?}"
                )
            }),
        },
        None => match deploy.and_then(|d| d.get("release_command_timeout")).and_then(toml::Value::as_str) {
            Some(text) => nanos(text).map(Some),
            None => Ok(Some(DEFAULT_TIMEOUT)),
        },
    }
}

/// Whether the registry host of `reference` is on loopback.
pub(super) fn on_loopback(reference: &str) -> bool {
    let host = reference.split('/').next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(name, port)| if port.contains(']') { host } else { name });
    reference.contains('/') && ["127.0.0.1", "localhost", "[::1]"].contains(&host)
}

enum Failure {
    Start(String),
    Timeout,
}

/// Runs the entrypoint (`[experimental] entrypoint`, else the image's) with `words` as its
/// arguments in the unpacked image, the image's `Env` and then `env`; returns the exit code
/// and what it printed (stdout and stderr, interleaved as a machine's log is).
fn execute(
    pulled: &crate::registry::Pulled,
    root: &toml::Table,
    words: &[String],
    env: &Value,
    log: &Path,
    timeout: Option<Duration>,
) -> Result<(i32, String), Failure> {
    let strings = |value: Option<&Value>| -> Vec<String> {
        value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
    };
    let entrypoint = match root.get("experimental").and_then(|e| e.get("entrypoint")) {
        Some(toml::Value::String(text)) => {
            crate::flytoml::shell_split(text).map_err(|e| Failure::Start(e.to_owned()))?
        }
        Some(toml::Value::Array(items)) => items.iter().filter_map(toml::Value::as_str).map(str::to_owned).collect(),
        _ => strings(pulled.config.get("Entrypoint")),
    };
    let mut argv = entrypoint.into_iter().chain(words.iter().cloned());
    let program =
        argv.next().ok_or_else(|| Failure::Start("the image has no entrypoint and the command is empty".to_owned()))?;
    let image_env: Vec<(String, String)> = strings(pulled.config.get("Env"))
        .iter()
        .filter_map(|pair| pair.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    // A program without a slash is looked up in the image's PATH, inside the image.
    let binary = if program.contains('/') {
        program.trim_start_matches('/').to_owned()
    } else {
        let path = image_env.iter().find(|(k, _)| k == "PATH").map_or("/usr/local/bin:/usr/bin:/bin", |(_, v)| v);
        path.split(':')
            .map(|dir| format!("{}/{program}", dir.trim_matches('/')))
            .find(|candidate| pulled.rootfs.join(candidate).is_file())
            .ok_or_else(|| Failure::Start(format!("exec: {program:?}: executable file not found in $PATH")))?
    };
    if !pulled.rootfs.join(&binary).is_file() {
        return Err(Failure::Start(format!("exec: /{binary}: no such file in the image")));
    }
    let workdir = pulled.config.get("WorkingDir").and_then(Value::as_str).unwrap_or("/");
    let cwd = Some(pulled.rootfs.join(workdir.trim_start_matches('/'))).filter(|d| d.is_dir());
    let file = std::fs::File::create(log).map_err(|e| Failure::Start(e.to_string()))?;
    let mut command = crate::registry::rootfs_command(&pulled.rootfs, &binary);
    command
        .args(argv)
        .envs(image_env)
        .envs(env.as_object().into_iter().flatten().filter_map(|(k, v)| Some((k, v.as_str()?))))
        .current_dir(cwd.as_deref().unwrap_or(&pulled.rootfs))
        .stdout(file.try_clone().map_err(|e| Failure::Start(e.to_string()))?)
        .stderr(Stdio::from(file));
    let mut child = command.spawn().map_err(|e| Failure::Start(e.to_string()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| Failure::Start(e.to_string()))? {
            break status;
        }
        if timeout.is_some_and(|limit| started.elapsed() > limit) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure::Timeout);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut text = Vec::new();
    let _ = std::fs::File::open(log).and_then(|mut f| f.read_to_end(&mut text));
    let code = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt as _;
        128 + status.signal().unwrap_or(0)
    });
    Ok((code, String::from_utf8_lossy(&text).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::{on_loopback, timeout};
    use std::time::Duration;

    #[test]
    fn release_commands_split_as_flyctl_splits_them() {
        let split = |text: &str| crate::flytoml::shell_split(text);
        assert_eq!(split("migrate"), Ok(vec!["migrate".to_owned()]));
        assert_eq!(split("-c 'echo a; exit 3'"), Ok(vec!["-c".to_owned(), "echo a; exit 3".to_owned()]));
        assert_eq!(split(r#"a "b c" d\ e"#), Ok(vec!["a".to_owned(), "b c".to_owned(), "d e".to_owned()]));
        assert_eq!(split(r#"'' "x\"y""#), Ok(vec![String::new(), "x\"y".to_owned()]));
        assert_eq!(split("  \t"), Ok(vec![]));
        assert_eq!(split("up # the comment\n--all"), Ok(vec!["up".to_owned(), "--all".to_owned()]));
        assert!(split("migrate 'unfinished").is_err());
        assert!(split("migrate \\").is_err());
    }

    #[test]
    fn only_loopback_registries_are_pulled() {
        for yes in ["127.0.0.1:5000/demo-todo:sf-1", "localhost:41234/a/b@sha256:00", "[::1]:5000/x:y"] {
            assert!(on_loopback(yes), "{yes}");
        }
        for no in ["registry.fly.io/demo-todo:v1", "nginx:stable", "127.0.0.1.example.com/x:y", "localhost"] {
            assert!(!on_loopback(no), "{no}");
        }
    }

    #[test]
    fn the_timeout_flag_beats_the_config_which_beats_five_minutes() {
        let config: toml::Table = "release_command_timeout = \"10m\"".parse().unwrap();
        assert_eq!(timeout(None, None), Ok(Some(Duration::from_mins(5))));
        assert_eq!(timeout(None, Some(&config)), Ok(Some(Duration::from_mins(10))));
        assert_eq!(timeout(Some("90"), Some(&config)), Ok(Some(Duration::from_secs(90))));
        assert_eq!(timeout(Some("1m30s"), None), Ok(Some(Duration::from_secs(90))));
        assert_eq!(timeout(Some("none"), Some(&config)), Ok(None));
        assert!(timeout(Some("soon"), None).is_err());
    }
}
