//! `cargo build` of one binary as a child process: the command line made from the compile
//! options, and the executable picked from cargo's JSON messages.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{BuildError, BuildOptions};

/// cargo's arguments for building binary `binary` of `package` (release unless a profile is
/// given; cargo's diagnostics rendered on stderr, its messages as JSON on stdout).
pub(super) fn args(package: &str, binary: &str, options: &BuildOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> =
        ["build", "--message-format=json-render-diagnostics", "-p", package, "--bin", binary].map(Into::into).into();
    let c = &options.compile;
    match &c.profile {
        Some(profile) => args.extend(["--profile".into(), profile.into()]),
        None => args.push("--release".into()),
    }
    if !c.features.is_empty() {
        args.extend(["--features".into(), c.features.join(",").into()]);
    }
    if c.all_features {
        args.push("--all-features".into());
    }
    if c.no_default_features {
        args.push("--no-default-features".into());
    }
    if let Some(dir) = &c.target_dir {
        args.extend(["--target-dir".into(), dir.into()]);
    }
    if options.quiet {
        args.push("--quiet".into());
    }
    if options.color {
        args.extend(["--color".into(), "always".into()]);
    }
    args
}

/// The executable of binary `binary` if `line` is cargo's `compiler-artifact` message for it.
pub(super) fn executable(line: &str, binary: &str) -> Option<PathBuf> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    let is_it = message["reason"] == "compiler-artifact"
        && message["target"]["name"] == binary
        && message["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin"));
    if !is_it {
        return None;
    }
    message["executable"].as_str().map(PathBuf::from)
}

/// Runs cargo (`$CARGO`, else `cargo`) in the workspace root with `env` added; returns the
/// binary's path. cargo's stderr goes to ours.
pub(super) fn build(
    package: &str,
    binary: &str,
    options: &BuildOptions,
    env: &BTreeMap<String, String>,
) -> Result<PathBuf, BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.envs(env).current_dir(&options.workspace_root).args(args(package, binary, options));
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = command.spawn().map_err(BuildError::CargoStart)?;
    let mut found = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(path) = executable(&line, binary) {
                found = Some(path);
            }
        }
    }
    let status = child.wait().map_err(BuildError::CargoWait)?;
    if !status.success() {
        return Err(BuildError::CargoFailed { package: package.to_owned(), binary: binary.to_owned() });
    }
    found.ok_or_else(|| BuildError::NoExecutable { package: package.to_owned(), binary: binary.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::super::CompileOptions;
    use super::*;

    fn options(compile: CompileOptions) -> BuildOptions {
        BuildOptions {
            workspace_root: PathBuf::from("/ws"),
            target_dir: PathBuf::from("/ws/target"),
            compile,
            push: false,
            tag: None,
            output_oci: None,
            pull: false,
            quiet: false,
            color: false,
        }
    }

    fn strings(args: &[OsString]) -> Vec<String> {
        args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn release_by_default_with_rendered_diagnostics() {
        let args = strings(&args("web", "server", &options(CompileOptions::default())));
        assert_eq!(
            args,
            ["build", "--message-format=json-render-diagnostics", "-p", "web", "--bin", "server", "--release"]
        );
    }

    #[test]
    fn compile_flags_are_passed_on() {
        let compile = CompileOptions {
            profile: Some("dist".into()),
            features: vec!["a".into(), "b".into()],
            all_features: true,
            no_default_features: true,
            target_dir: Some(PathBuf::from("/tmp/t")),
        };
        let mut o = options(compile);
        o.quiet = true;
        o.color = true;
        let args = strings(&args("web", "web", &o));
        assert_eq!(
            args[6..],
            [
                "--profile",
                "dist",
                "--features",
                "a,b",
                "--all-features",
                "--no-default-features",
                "--target-dir",
                "/tmp/t",
                "--quiet",
                "--color",
                "always"
            ]
        );
        assert!(!args.contains(&"--release".to_owned()), "a profile replaces --release");
    }

    #[test]
    fn the_executable_is_the_binary_artifacts() {
        let artifact = |name: &str, kind: &str, exe: &str| {
            serde_json::json!({"reason": "compiler-artifact", "target": {"name": name, "kind": [kind]}, "executable": exe})
                .to_string()
        };
        assert_eq!(executable(&artifact("web", "bin", "/t/release/web"), "web"), Some(PathBuf::from("/t/release/web")));
        assert_eq!(executable(&artifact("web", "lib", "/t/release/libweb"), "web"), None, "a library of the same name");
        assert_eq!(executable(&artifact("other", "bin", "/t/release/other"), "web"), None, "another binary");
        let build_script =
            serde_json::json!({"reason": "build-script-executed", "target": {"name": "web", "kind": ["bin"]}});
        assert_eq!(executable(&build_script.to_string(), "web"), None, "not an artifact");
        let fresh_without_exe = serde_json::json!({"reason": "compiler-artifact", "target": {"name": "web", "kind": ["bin"]}, "executable": null});
        assert_eq!(executable(&fresh_without_exe.to_string(), "web"), None);
        assert_eq!(executable("Compiling web v0.1.0", "web"), None, "not JSON");
    }
}
