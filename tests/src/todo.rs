//! `examples/todo` as a standalone project that builds: what the deploy test that compiles
//! it and the `score-fly-demo` walkthrough deploy.

use std::path::Path;

/// Writes a standalone copy of `examples/todo` into `dir` (created if missing): its source,
/// a [`buildable_manifest`] and the workspace's `Cargo.lock` (the same dependency versions,
/// so a shared target folder already holds them compiled).
pub fn write_buildable(dir: &Path) {
    let repo = crate::workspace_root();
    let read = |file: &str| std::fs::read_to_string(repo.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"));
    std::fs::create_dir_all(dir.join("src")).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    let manifest = buildable_manifest(&read("examples/todo/Cargo.toml"), &read("Cargo.toml"), &repo);
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write the manifest");
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy Cargo.lock");
    std::fs::copy(repo.join("examples/todo/src/main.rs"), dir.join("src/main.rs")).expect("copy main.rs");
}

/// The `deploy` arguments that build the copy for real: apps `<prefix>todo` in `ams`, the
/// image layered on `base`, compiled with the dev profile (see [`buildable_manifest`]) in
/// `target_dir`.
pub fn build_and_deploy_args(prefix: &str, base: &str, target_dir: &Path) -> Vec<String> {
    let target_dir = target_dir.to_str().expect("a UTF-8 target folder");
    ["deploy", "--app-prefix", prefix, "--region", "ams", "--base-image", base, "--profile", "dev"]
        .into_iter()
        .chain(["--target-dir", target_dir])
        .map(str::to_owned)
        .collect()
}

/// `examples/todo`'s manifest as a standalone package that compiles: `[workspace.package]`
/// values and `workspace = true` dependencies resolved from the root manifest (a path made
/// absolute, the member's features added to the workspace's); dev-dependencies and lints
/// dropped.
pub fn buildable_manifest(member: &str, workspace: &str, repo: &Path) -> String {
    let member: toml::Table = member.parse().expect("todo's manifest is TOML");
    let workspace: toml::Table = workspace.parse().expect("the root manifest is TOML");
    let section = |table: &toml::Table, path: &[&str]| -> toml::Table {
        let mut value = &table[path[0]];
        for key in &path[1..] {
            value = &value[*key];
        }
        value.as_table().unwrap_or_else(|| panic!("[{}] is a table", path.join("."))).clone()
    };
    let inherited = section(&workspace, &["workspace", "package"]);
    let shared = section(&workspace, &["workspace", "dependencies"]);
    let from_workspace = |v: &toml::Value| v.get("workspace").and_then(toml::Value::as_bool) == Some(true);

    let mut package = section(&member, &["package"]);
    for (key, value) in &mut package {
        if from_workspace(value) {
            value.clone_from(inherited.get(key).unwrap_or_else(|| panic!("[workspace.package] sets {key}")));
        }
    }
    let mut dependencies = toml::Table::new();
    for (name, spec) in section(&member, &["dependencies"]) {
        let spec = if from_workspace(&spec) {
            let mut resolved = match shared.get(&name) {
                Some(toml::Value::String(version)) => {
                    toml::Table::from_iter([("version".to_owned(), toml::Value::String(version.clone()))])
                }
                Some(toml::Value::Table(table)) => table.clone(),
                other => panic!("[workspace.dependencies] {name} is {other:?}"),
            };
            if let Some(path) = resolved.get("path").and_then(toml::Value::as_str) {
                let absolute = repo.join(path).display().to_string();
                resolved.insert("path".to_owned(), toml::Value::String(absolute));
            }
            for (key, value) in spec.as_table().expect("a `workspace = true` table") {
                match (key.as_str(), resolved.get_mut(key)) {
                    ("workspace", _) => {}
                    ("features", Some(toml::Value::Array(features))) => {
                        features.extend(value.as_array().expect("features are a list").iter().cloned());
                    }
                    _ => {
                        resolved.insert(key.clone(), value.clone());
                    }
                }
            }
            toml::Value::Table(resolved)
        } else {
            spec
        };
        dependencies.insert(name, spec);
    }
    let manifest = toml::Table::from_iter([
        ("package".to_owned(), toml::Value::Table(package)),
        ("dependencies".to_owned(), toml::Value::Table(dependencies)),
        ("workspace".to_owned(), toml::Value::Table(toml::Table::new())),
        // No debug info: a 39 MB debug binary would make the image (and the test) several
        // times slower to assemble, push and unpack; what is tested does not need it.
        (
            "profile".to_owned(),
            toml::Value::Table(toml::Table::from_iter([(
                "dev".to_owned(),
                toml::Value::Table(toml::Table::from_iter([("debug".to_owned(), toml::Value::Boolean(false))])),
            )])),
        ),
    ]);
    toml::to_string(&manifest).expect("a manifest as TOML")
}
