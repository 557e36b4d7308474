//! The examples of the repository (`examples/hello`, `examples/todo`) through `generate` in
//! cargo mode, their fly.toml snapshot-tested (`snapshots/`, reviewed with `cargo insta`).
//!
//! The project root of a package is its workspace root, so generating in place would write
//! `.score-fly/` into the repository. Each example is copied into a temporary folder as a
//! standalone package instead: `Cargo.toml` with the values it inherits from the repository's
//! `[workspace.package]` written out, and without dependencies or lints (nothing is compiled;
//! only `cargo metadata --no-deps` runs).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::cargo_fixtures::{generated, no_prefix_warning};
use crate::support::Project;

/// The repository root.
fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cargo-score-fly is in the repository")
}

/// `key = value` lines of `[section]` of a TOML text (single-line values only).
fn section_values(text: &str, section: &str) -> BTreeMap<String, String> {
    let header = format!("[{section}]");
    let mut inside = false;
    let mut values = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == header;
        } else if inside && let Some((key, value)) = line.split_once('=') {
            values.insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    values
}

/// The manifest of a workspace member as a standalone package: `KEY.workspace = true` in
/// `[package]` replaced by the workspace's value, dependency sections and `[lints]` dropped.
fn standalone_manifest(member: &str, workspace: &str) -> String {
    let inherited = section_values(workspace, "workspace.package");
    let mut out = String::new();
    let mut section = String::new();
    for line in member.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            trimmed.trim_matches(['[', ']']).clone_into(&mut section);
        }
        let dropped = section.contains("dependencies") || section == "lints" || section.starts_with("lints.");
        if dropped {
            continue;
        }
        if section == "package"
            && let Some(key) = trimmed.strip_suffix(".workspace = true")
        {
            let value = inherited.get(key).unwrap_or_else(|| panic!("[workspace.package] has no `{key}`"));
            writeln!(out, "{key} = {value}").expect("write to a String");
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(!out.contains(".workspace"), "every inherited value is written out\n{out}");
    out
}

/// A project holding a standalone copy of `examples/<name>`: its manifest (see
/// [`standalone_manifest`]), `score.yaml` if it has one, and `src/`.
fn example(name: &str) -> Project {
    let source = repository().join("examples").join(name);
    let project = Project::new();
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let workspace = read(&repository().join("Cargo.toml"));
    project.write("Cargo.toml", standalone_manifest(&read(&source.join("Cargo.toml")), &workspace));
    if source.join("score.yaml").is_file() {
        project.write("score.yaml", read(&source.join("score.yaml")));
    }
    let mut pending = vec![source.join("src")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display())) {
            let path = entry.expect("folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(&source).expect("below the example").to_string_lossy().into_owned();
                project.write(&relative, std::fs::read(&path).expect("read a source file"));
            }
        }
    }
    project
}

#[test]
fn standalone_manifests_inherit_nothing() {
    let workspace = "[workspace]\nmembers = [\"x\"]\n\n[workspace.package]\nedition = \"2024\"\nlicense = \"MIT\"\n";
    let member = "[package]\nname = \"x\"\nedition.workspace = true\nlicense.workspace = true\n\n[dependencies]\na.workspace = true\nb = \"1\"\n\n[dependencies.c]\nversion = \"1\"\n\n[lints]\nworkspace = true\n\n[package.metadata.score-fly]\nregion = \"ams\"\n";
    assert_eq!(
        standalone_manifest(member, workspace),
        "[package]\nname = \"x\"\nedition = \"2024\"\nlicense = \"MIT\"\n\n[package.metadata.score-fly]\nregion = \"ams\"\n"
    );
}

#[test]
fn hello_example() {
    let project = example("hello");
    let run = project.generate_in("", &["generate", "--image", "registry.fly.io/hello:test"]);
    assert_eq!(run.stderr, format!("{}\n{}\n", no_prefix_warning("`hello`"), generated("fly_hello.toml", "hello")));
    assert_eq!(run.stdout, "");
    assert_eq!(project.fly_files(), [Path::new("fly_hello.toml")]);
    insta::assert_snapshot!("hello_fly_toml", project.fly_toml("fly_hello.toml"));
    // The attribute reads score.yaml: that is the source.
    assert_eq!(project.state().workloads["hello"].file, Path::new("score.yaml"));
    project.fails_in("", &["generate", "--check", "--image", "registry.fly.io/hello:test"], 0);
}

/// A static provisioner for the todo example's database, as its documentation suggests.
const TODO_DB: &str = "\
- id: todo-db
  type: postgres
  static:
    values: {host: todo-db.flycast, port: 5432, name: todo, database: todo, username: todo}
    secrets: {password: s3cret-pw}
";

#[test]
fn todo_example() {
    if !repository().join("examples/todo").is_dir() {
        eprintln!("SKIPPED: examples/todo does not exist (yet)");
        return;
    }
    let project = example("todo");
    project.provisioners_file("dev.provisioners.yaml", TODO_DB);
    let run = project.generate_in(
        "",
        &["generate", "-p", "todo", "--image", "registry.fly.io/todo:test", "--secrets-file", "todo.secrets"],
    );
    run.assert_line(&generated("fly_todo.toml", "todo"));
    assert_eq!(run.errors(), Vec::<&str>::new());
    assert_eq!(run.stdout, "");
    assert_eq!(project.fly_files(), [Path::new("fly_todo.toml")]);
    let toml = project.fly_toml("fly_todo.toml");
    assert!(!toml.contains("s3cret-pw") && !toml.contains("DATABASE_URL"), "the secret stays out of fly.toml\n{toml}");
    insta::assert_snapshot!("todo_fly_toml", toml);
    let secrets = String::from_utf8(project.read("todo.secrets")).expect("UTF-8");
    assert_eq!(
        secrets.lines().find(|l| l.starts_with("DATABASE_URL=")),
        Some("DATABASE_URL=postgres://todo:s3cret-pw@todo-db.flycast:5432/todo"),
        "{secrets}"
    );
    assert_eq!(project.state().workloads["todo"].file, Path::new("src/main.rs"));
}
