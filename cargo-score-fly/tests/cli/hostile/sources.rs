//! `source` files (`containers.*.files.*.source`): regular files only, of bounded size,
//! inside the project folder unless `--allow-outside-source`, and never from `/proc`
//! (classes 1 and 4 of issue 10). Each test starts from the input that broke score-fly: a
//! FIFO (a hang, even with `--check`), `/dev/zero` (the OOM killer), an oversized file, a file
//! outside the project, `/proc/self/environ` (which put `FLY_API_TOKEN` into fly.toml).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::fixtures::INVALID;
use crate::support::{Project, WEB};

/// WEB with one file whose content is read from `source`.
fn with_source(source: &str) -> String {
    format!("{WEB}    files:\n      /etc/app.conf:\n        source: \"{source}\"\n")
}

/// A project whose Score file reads `source`.
fn reading(source: &str) -> Project {
    Project::with_score(&with_source(source))
}

/// What is in the project: regular files with their bytes, symlinks with their targets,
/// other files by kind. Never opens anything but regular files ([`Project::snapshot`] reads
/// through symlinks, and would read `/dev/zero` for ever).
fn contents(project: &Project) -> BTreeSet<(PathBuf, Vec<u8>)> {
    let mut out = BTreeSet::new();
    let mut pending = vec![project.path().to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("list folder") {
            let path = entry.expect("folder entry").path();
            let relative = path.strip_prefix(project.path()).expect("inside the project").to_path_buf();
            let kind = std::fs::symlink_metadata(&path).expect("stat").file_type();
            let what = if kind.is_dir() {
                pending.push(path);
                b"folder".to_vec()
            } else if kind.is_symlink() {
                format!("-> {}", std::fs::read_link(&path).expect("read link").display()).into_bytes()
            } else if kind.is_file() {
                std::fs::read(&path).expect("read file")
            } else {
                b"special".to_vec()
            };
            out.insert((relative, what));
        }
    }
    out
}

/// `args` fail with an error at the `source` field holding `reason`, writing nothing.
#[track_caller]
fn refused(project: &Project, args: &[&str], reason: &str) -> super::Probe {
    let before = contents(project);
    let probe = project.probe(args).timeout(Duration::from_secs(20)).run();
    probe.assert_code(INVALID);
    probe.assert_stderr_has(r#"error: containers.main.files["/etc/app.conf"].source: cannot read source file "#);
    probe.assert_stderr_has(reason);
    assert_eq!(contents(project), before, "a refused source writes nothing\n{}", probe.stderr);
    probe
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let project = reading("app.fifo");
    mkfifo(&project.path().join("app.fifo"));
    for args in [&["generate", "--app-prefix", "demo-"][..], &["generate", "--check"]] {
        refused(&project, args, "app.fifo for `/etc/app.conf`: it is a named pipe (FIFO), not a regular file");
    }
    // A folder is no file either.
    let project = reading("conf.d");
    std::fs::create_dir(project.path().join("conf.d")).unwrap();
    refused(&project, &["generate"], "it is a folder, not a regular file");
}

#[test]
fn devices_are_refused_even_when_outside_files_are_allowed() {
    // /dev/zero, named or through a symlink in the project: outside the project first of all.
    let named = reading("/dev/zero");
    refused(&named, &["generate"], "it is outside the project folder");
    let linked = reading("zero");
    std::os::unix::fs::symlink("/dev/zero", linked.path().join("zero")).unwrap();
    refused(&linked, &["generate"], "(it resolves to /dev/zero)");
    // Allowed outside, still no device: never read (it reached the OOM killer before).
    for project in [&named, &linked] {
        refused(project, &["generate", "--allow-outside-source"], "it is a character device, not a regular file");
    }
}

#[test]
fn oversized_files_are_refused() {
    let project = reading("big.conf");
    project.write("big.conf", vec![b'x'; 2 << 20]);
    refused(&project, &["generate"], "it is larger than 1 MiB (limits::MAX_SOURCE_FILE_BYTES)");
    // Exactly the limit is fine.
    project.write("big.conf", vec![b'x'; 1 << 20]);
    project.probe(&["generate", "--app-prefix", "demo-"]).run().assert_code(0);
    assert!(project.fly_toml("fly_web.toml").contains("local_path = \"big.conf\""));
}

#[test]
fn files_outside_the_project_need_the_flag() {
    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("outside.conf");
    std::fs::write(&file, "name=${metadata.name}\n").unwrap();
    let absolute = std::fs::canonicalize(&file).unwrap();
    let absolute = absolute.to_str().unwrap();

    // Named directly, or through a symlink inside the project: refused, naming the flag.
    let named = reading(absolute);
    let probe = refused(&named, &["generate"], "it is outside the project folder");
    probe.assert_stderr_has("pass --allow-outside-source to read it anyway");
    let linked = reading("linked.conf");
    std::os::unix::fs::symlink(absolute, linked.path().join("linked.conf")).unwrap();
    refused(&linked, &["generate"], &format!("(it resolves to {absolute})"));

    // Allowed with the flag (generate and deploy share it): read and expanded.
    for project in [&named, &linked] {
        let probe = project.probe(&["generate", "--app-prefix", "demo-", "--allow-outside-source"]).run();
        probe.assert_code(0);
        assert!(project.fly_toml("fly_web.toml").contains("raw_value = \"\"\"\nname=web\n\"\"\""));
    }
}

#[test]
fn proc_is_never_read_and_the_token_never_shows() {
    const TOKEN: &str = "FlyV1 fm2_probe-token-7f3a9c";
    let through_link = reading("env");
    std::os::unix::fs::symlink("/proc/self/environ", through_link.path().join("env")).unwrap();
    for project in [reading("/proc/self/environ"), through_link] {
        for args in [&["generate", "--app-prefix", "demo-"][..], &["generate", "--allow-outside-source"]] {
            let before = contents(&project);
            // A `${...}` in the environment made the expanded text differ from the file, so it
            // went into fly.toml as raw_value, FLY_API_TOKEN and all.
            let probe = project
                .probe(args)
                .env("FLY_API_TOKEN", TOKEN)
                .env("PLACEHOLDER", "${metadata.name}")
                .timeout(Duration::from_secs(20))
                .run();
            probe.assert_code(INVALID);
            probe.assert_stderr_has("it is on /proc, which holds the environment and memory of processes");
            assert!(!probe.stderr.contains("fm2_probe-token") && !probe.stdout.contains("fm2_probe-token"));
            let after = contents(&project);
            assert_eq!(after, before, "nothing written\n{}", probe.stderr);
            for (path, bytes) in after {
                let leaked = String::from_utf8_lossy(&bytes).contains("fm2_probe-token");
                assert!(!leaked, "the token is in {}", path.display());
            }
        }
    }
}
