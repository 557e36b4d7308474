//! Patches: TOML files deep-merged into a generated `fly.toml`, for what Score cannot say
//! (`[[statics]]`, `[[metrics]]`, `swap_size_mb`, process groups...).
//!
//! Merge rules ([`merge`]): tables merge key by key; any other value (a string, a number, an
//! array, an array of tables) replaces the generated one; a key set to an empty table
//! (`http_service = {}`) removes the key. Patches apply in order, each to the result of the
//! ones before.
//!
//! A patch may not touch what score-fly owns ([`refusals`]): `app` (the app the state and the
//! deploy name), `[build] image` (the image score-fly built or was given), and an `[env]` key
//! that is one of the app's secret names (it would shadow or leak the secret). The merged
//! result is then checked (`check`) for what a patch can break: unknown top-level keys,
//! durations written as integers (flyctl reads them as nanoseconds, fly-2026.md §3.3), a
//! negative `swap_size_mb` (§3.7), `[[statics]]` without `guest_path`/`url_prefix` (§3.5), a
//! `release_command` that does not split (§3.1). Everything here is pure: the caller reads the
//! files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

/// The patch file read beside a Score file (or beside a package's `Cargo.toml`).
pub const FILE_NAME: &str = "fly.patch.toml";

/// Top-level keys of fly.toml (fly-2026.md §2–§3, fly.md "fly.toml"), sorted: first those
/// the conversion writes ([`super::config::FlyConfig`]), then those only a patch adds.
const TOP_KEYS: &[&str] = &[
    "app",
    "build",
    "checks",
    "deploy",
    "env",
    "experimental",
    "files",
    "http_service",
    "kill_signal",
    "kill_timeout",
    "mounts",
    "primary_region",
    "restart",
    "services",
    "swap_size_mb",
    "vm",
    // Only from a patch.
    "console_command",
    "container",
    "host_dedication_id",
    "machine_config",
    "metrics",
    "processes",
    "statics",
];

/// `[deploy]` keys read as durations: an integer there is nanoseconds (fly-2026.md §3.3).
const DEPLOY_DURATIONS: &[&str] = &["wait_timeout", "release_command_timeout"];

/// A parsed patch file.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// The file, as messages show it.
    pub file: PathBuf,
    /// Its table.
    pub table: Table,
}

/// Why a patch cannot be applied. Each names the patch file and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The file is not TOML.
    #[error("read patch file {}: it is not TOML: {message}", .file.display())]
    NotToml {
        /// The file.
        file: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The patch touches what score-fly owns.
    #[error("apply patch file {}: it sets `{key}`, {reason}", .file.display())]
    Refused {
        /// The file.
        file: PathBuf,
        /// The key (dotted path).
        key: String,
        /// Why it is refused and what to do.
        reason: String,
    },
    /// The patched fly.toml is not valid.
    #[error("apply patch file {}: the patched fly.toml's `{key}` {problem}", .file.display())]
    Invalid {
        /// The last patch applied (the one that made it invalid).
        file: PathBuf,
        /// The key (dotted path).
        key: String,
        /// What is wrong and what to do.
        problem: String,
    },
}

/// Parses patch `text` read from `file`.
pub fn parse(file: &Path, text: &str) -> Result<Patch, PatchError> {
    let table = text
        .parse::<Table>()
        .map_err(|e| PatchError::NotToml { file: file.to_path_buf(), message: e.message().to_owned() })?;
    Ok(Patch { file: file.to_path_buf(), table })
}

/// Deep-merges `patch` into `base`: tables merge, an empty table removes the key, anything
/// else (arrays of tables included) replaces.
pub fn merge(base: &mut Table, patch: &Table) {
    for (key, value) in patch {
        match value {
            Value::Table(t) if t.is_empty() => {
                base.remove(key);
            }
            Value::Table(t) => {
                if let Some(Value::Table(inner)) = base.get_mut(key) {
                    merge(inner, t);
                } else {
                    let mut fresh = Table::new();
                    merge(&mut fresh, t);
                    base.insert(key.clone(), Value::Table(fresh));
                }
            }
            other => {
                base.insert(key.clone(), other.clone());
            }
        }
    }
}

/// What in `patch` touches what score-fly owns: `app`, `[build] image` (removing `[build]`
/// too, when the generated file has an image), `[env]` keys named like one of `secrets`.
pub fn refusals(patch: &Patch, base: &Table, secrets: &BTreeSet<String>) -> Result<(), PatchError> {
    let refuse = |key: &str, reason: &str| {
        Err(PatchError::Refused { file: patch.file.clone(), key: key.to_owned(), reason: reason.to_owned() })
    };
    if patch.table.contains_key("app") {
        return refuse(
            "app",
            "which score-fly names from the app prefix and the workload: change the workload's name or the prefix instead",
        );
    }
    let has_image = base.get("build").and_then(Value::as_table).is_some_and(|b| b.contains_key("image"));
    match patch.table.get("build") {
        Some(Value::Table(build)) if build.contains_key("image") => {
            return refuse(
                "build.image",
                "the image score-fly builds or was given: set the container's `image` in the Score file, or pass --image",
            );
        }
        Some(Value::Table(build)) if !build.is_empty() || !has_image => {}
        Some(_) if has_image => {
            return refuse("build", "which would drop `[build] image`, the image score-fly builds or was given");
        }
        _ => {}
    }
    if let Some(Value::Table(env)) = patch.table.get("env")
        && let Some(name) = env.keys().find(|k| secrets.contains(*k))
    {
        return refuse(
            &format!("env.{name}"),
            "which is one of the app's secret names (its value comes from a secret output, never from fly.toml): rename the variable or drop it from the patch",
        );
    }
    Ok(())
}

/// Applies `patches` in order to the generated fly.toml `base` of an app whose secret names are
/// `secrets`, checking the result after each (`check`).
pub fn apply(base: &Table, patches: &[Patch], secrets: &BTreeSet<String>) -> Result<Table, PatchError> {
    let mut result = base.clone();
    for patch in patches {
        refusals(patch, &result, secrets)?;
        merge(&mut result, &patch.table);
        check(&result, base).map_err(|Broken { key, problem }| PatchError::Invalid {
            file: patch.file.clone(),
            key,
            problem,
        })?;
    }
    Ok(result)
}

/// A key of a patched fly.toml that a patch broke, and what is wrong with it.
#[derive(Debug)]
struct Broken {
    /// The key (dotted path).
    key: String,
    /// What is wrong and what to do.
    problem: String,
}

/// What a patch can break in a fly.toml: `app` changed, unknown top-level keys, `[deploy]`
/// durations not strings, `swap_size_mb`, `[[statics]]`, `release_command`.
fn check(result: &Table, base: &Table) -> Result<(), Broken> {
    let fail = |key: &str, problem: &str| Err(Broken { key: key.to_owned(), problem: problem.to_owned() });
    if result.get("app") != base.get("app") {
        return fail("app", "must stay the generated app name");
    }
    if let Some(key) = result.keys().find(|k| !TOP_KEYS.contains(&k.as_str())) {
        return fail(key, &format!("is not a fly.toml key; expected one of {}", TOP_KEYS.join(", ")));
    }
    match result.get("swap_size_mb") {
        None | Some(Value::Integer(0..)) => {}
        Some(_) => return fail("swap_size_mb", "must be a whole number of megabytes, 0 or more"),
    }
    match result.get("deploy") {
        None => {}
        Some(Value::Table(deploy)) => {
            for key in DEPLOY_DURATIONS {
                match deploy.get(*key) {
                    None => {}
                    Some(Value::String(text)) if super::annotations::parse_duration(text).is_ok() => {}
                    Some(Value::Integer(_)) => {
                        return fail(
                            &format!("deploy.{key}"),
                            "must be a duration string such as \"10m\": flyctl reads an integer here as nanoseconds",
                        );
                    }
                    Some(_) => return fail(&format!("deploy.{key}"), "must be a duration string such as \"10m\""),
                }
            }
            match deploy.get("release_command") {
                None => {}
                Some(Value::String(c)) if !c.trim().is_empty() && super::annotations::shell_words_balanced(c) => {}
                Some(_) => {
                    return fail(
                        "deploy.release_command",
                        "must be a command line that splits into words (flyctl splits it like a shell, with no shell)",
                    );
                }
            }
        }
        Some(_) => return fail("deploy", "must be a table"),
    }
    match result.get("statics") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let Some(entry) = item.as_table() else { return fail(&format!("statics[{i}]"), "must be a table") };
                for key in ["guest_path", "url_prefix"] {
                    if !entry.get(key).is_some_and(Value::is_str) {
                        return fail(&format!("statics[{i}].{key}"), "is required (a string)");
                    }
                }
            }
        }
        Some(_) => return fail("statics", "must be an array of tables: write [[statics]]"),
    }
    for key in ["env", "build", "experimental", "http_service", "checks", "processes"] {
        if result.get(key).is_some_and(|v| !v.is_table()) {
            return fail(key, "must be a table");
        }
    }
    if let Some(Value::Table(env)) = result.get("env")
        && let Some((name, _)) = env.iter().find(|(_, v)| !v.is_str())
    {
        return fail(&format!("env.{name}"), "must be a string (fly.toml's [env] holds text only)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse().unwrap()
    }

    fn patch(text: &str) -> Patch {
        parse(Path::new("fly.patch.toml"), text).unwrap()
    }

    const BASE: &str = r#"
app = "demo-web"
primary_region = "ams"

[build]
image = "registry.fly.io/demo-web:abc"

[env]
PORT = "8080"

[http_service]
internal_port = 8080
force_https = true

[[vm]]
size = "shared-cpu-1x"
memory = "256mb"
"#;

    fn secrets() -> BTreeSet<String> {
        BTreeSet::from(["DATABASE_URL".to_owned()])
    }

    #[test]
    fn tables_merge_arrays_replace_empty_tables_remove() {
        let out = apply(
            &table(BASE),
            &[patch(
                r#"
swap_size_mb = 512
http_service = {}
[env]
RUST_LOG = "debug"
[[statics]]
guest_path = "/app/public"
url_prefix = "/static"
[[vm]]
size = "performance-1x"
"#,
            )],
            &secrets(),
        )
        .unwrap();
        assert_eq!(out["swap_size_mb"].as_integer(), Some(512));
        assert!(!out.contains_key("http_service"), "an empty table removes");
        assert_eq!(out["env"]["PORT"].as_str(), Some("8080"), "tables merge");
        assert_eq!(out["env"]["RUST_LOG"].as_str(), Some("debug"));
        assert_eq!(out["statics"][0]["url_prefix"].as_str(), Some("/static"));
        let vm = out["vm"].as_array().unwrap();
        assert_eq!(vm.len(), 1);
        assert!(vm[0].get("memory").is_none(), "arrays of tables replace, never merge: {vm:?}");
        assert_eq!(out["build"]["image"].as_str(), Some("registry.fly.io/demo-web:abc"));
    }

    #[test]
    fn patches_apply_in_order() {
        let out = apply(
            &table(BASE),
            &[patch("swap_size_mb = 512\n[env]\nA = \"1\"\n"), patch("swap_size_mb = 1024\n[env]\nA = {}\n")],
            &secrets(),
        )
        .unwrap();
        assert_eq!(out["swap_size_mb"].as_integer(), Some(1024));
        assert!(out["env"].get("A").is_none());
    }

    #[test]
    fn what_score_fly_owns_is_refused_naming_file_and_key() {
        for (text, key) in [
            ("app = \"other\"\n", "app"),
            ("[build]\nimage = \"nginx\"\n", "build.image"),
            ("build = {}\n", "build"),
            ("build = \"x\"\n", "build"),
            ("[env]\nDATABASE_URL = \"postgres://leak\"\n", "env.DATABASE_URL"),
        ] {
            let e = apply(&table(BASE), &[patch(text)], &secrets()).unwrap_err();
            assert!(matches!(&e, PatchError::Refused { key: k, .. } if k == key), "{text:?}: {e:?}");
            let shown = e.to_string();
            assert!(shown.contains("fly.patch.toml") && shown.contains(&format!("`{key}`")), "{shown}");
            assert!(!shown.contains("leak"), "never quotes a value: {shown}");
        }
        // `[build]` other keys are the user's; an empty `[build]` is fine when there is no image.
        apply(&table(BASE), &[patch("[build]\ndockerfile = \"Dockerfile\"\n")], &secrets()).unwrap();
        apply(&table("app = \"a\"\n"), &[patch("build = {}\n")], &secrets()).unwrap();
    }

    #[test]
    fn the_result_is_checked() {
        // One case a line: the patch (`|` for a line break), the key, what the problem says.
        let cases = r#"[deploy]|release_command_timeout = 600 ~ deploy.release_command_timeout ~ nanoseconds
[deploy]|wait_timeout = "soon" ~ deploy.wait_timeout ~ duration string
[deploy]|release_command = "sh -c 'x" ~ deploy.release_command ~ splits into words
swap_size_mb = -1 ~ swap_size_mb ~ 0 or more
[[statics]]|guest_path = "/app/public" ~ statics[0].url_prefix ~ is required
statics = { guest_path = "/a" } ~ statics ~ array of tables
swapsize = 1 ~ swapsize ~ not a fly.toml key
[env]|N = 1 ~ env.N ~ must be a string
env = "x" ~ env ~ must be a table"#;
        for line in cases.lines() {
            let [text, key, fragment] = line.splitn(3, " ~ ").collect::<Vec<_>>()[..] else { panic!("{line}") };
            let text = text.replace('|', "\n");
            match apply(&table(BASE), &[patch(&text)], &secrets()).unwrap_err() {
                PatchError::Invalid { key: k, problem, .. } => {
                    assert_eq!(k, key, "{text:?}");
                    assert!(problem.contains(fragment), "{text:?}: {problem}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        apply(&table(BASE), &[patch("[deploy]\nrelease_command_timeout = \"10m\"\n")], &secrets()).unwrap();
    }

    #[test]
    fn a_file_that_is_not_toml_is_named() {
        let e = parse(Path::new("deploy/fly.patch.toml"), "[env\n").unwrap_err();
        assert!(e.to_string().starts_with("read patch file deploy/fly.patch.toml: it is not TOML"), "{e}");
    }
}
