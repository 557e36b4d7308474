//! The crates linked into a binary, for its SBOM: `cargo metadata` (every package, the
//! resolved graph for `x86_64-unknown-linux-gnu`) walked from the package along its normal
//! dependencies with the features the build enables, and `Cargo.lock`'s checksums.
//!
//! `cargo metadata` resolves the whole workspace at once (features unified across members,
//! dev-dependencies included), so its graph is a superset of one binary's. The walk redoes
//! cargo's feature resolution (resolver 2) for the one package: a dependency counts when it
//! is non-optional or a feature enabled from the root turns it on (`dep:x`, `x/f`, an
//! implicit feature named after it; `x?/f` only adds features to an `x` that is on),
//! build-dependencies and dev-dependencies never, and procedural macros (and what they
//! depend on) have features of their own, as cargo builds them for the host. The result is
//! what `cargo tree -e normal --target x86_64-unknown-linux-gnu` lists for the package.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::CompileOptions;
use crate::image::sbom::{Crate, Source};
use crate::limits::MAX_CARGO_METADATA_BYTES;

/// The platform the image runs on.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Why the crates of a binary cannot be listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CratesError {
    /// cargo could not be run.
    #[error("cannot run `cargo metadata`: {0}")]
    Start(#[source] std::io::Error),
    /// cargo metadata failed.
    #[error("`cargo metadata` failed ({status}): {stderr}")]
    Failed {
        /// Its exit status.
        status: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// Its answer is not what cargo writes.
    #[error("`cargo metadata` answered something that is not its JSON format: {0}")]
    NotMetadata(String),
    /// rustc could not be run (to read the target's `cfg` values).
    #[error("cannot run `rustc --print cfg`: {0}")]
    Rustc(#[source] std::io::Error),
    /// rustc does not know the target.
    #[error(
        "`rustc --print cfg --target {TARGET}` failed: {stderr}; install the target with `rustup target add {TARGET}`"
    )]
    RustcFailed {
        /// What rustc said.
        stderr: String,
    },
    /// Its answer is larger than the limit.
    #[error(
        "`cargo metadata` answered more than {} (limits::MAX_CARGO_METADATA_BYTES)",
        crate::limits::human_bytes(MAX_CARGO_METADATA_BYTES)
    )]
    TooLarge,
    /// The package is not a member of the workspace.
    #[error("`cargo metadata` lists no workspace member `{0}`")]
    NoPackage(String),
    /// `Cargo.lock` cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Lock {
        /// Its path.
        path: PathBuf,
        /// Why.
        source: crate::input::ReadError,
    },
    /// `Cargo.lock` is not TOML.
    #[error("{} is not a Cargo.lock: {detail}; run `cargo generate-lockfile`", .path.display())]
    LockNotToml {
        /// Its path.
        path: PathBuf,
        /// The parser's message.
        detail: String,
    },
}

/// The crates of `package`'s build with `compile`'s features: the package itself, then every
/// other crate. cargo runs in `workspace_root` with `env` added.
pub fn crates(
    package: &str,
    workspace_root: &Path,
    compile: &CompileOptions,
    env: &BTreeMap<String, String>,
) -> Result<(Crate, Vec<Crate>), CratesError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .envs(env)
        .current_dir(workspace_root)
        .args(["metadata", "--format-version", "1", "--all-features", "--filter-platform", TARGET])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().map_err(CratesError::Start)?;
    let output = read_bounded(child)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(crate::limits::MAX_TAIL_LINES).collect();
        return Err(CratesError::Failed {
            status: output.status.to_string(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).map_err(|e| CratesError::NotMetadata(e.to_string()))?;
    let root_dir = metadata["workspace_root"].as_str().map_or_else(|| workspace_root.to_path_buf(), PathBuf::from);
    let lock_path = root_dir.join("Cargo.lock");
    let lock = crate::input::read_regular(
        &lock_path,
        ("MAX_CARGO_METADATA_BYTES", MAX_CARGO_METADATA_BYTES, "a Cargo.lock this large is not read for the SBOM"),
    )
    .map_err(|source| CratesError::Lock { path: lock_path.clone(), source })?;
    let lock = checksums(&String::from_utf8_lossy(&lock))
        .map_err(|e| CratesError::LockNotToml { path: lock_path.clone(), detail: e.message().to_owned() })?;
    let platform = Platform::of(TARGET, env)?;
    resolve(&metadata, &platform, package, compile, &lock, &root_dir)
}

/// A compilation target's `cfg` values (`rustc --print cfg --target ...`, as cargo reads
/// them), to tell which `[target.'cfg(...)'.dependencies]` apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    triple: String,
    cfgs: BTreeSet<(String, Option<String>)>,
}

impl Platform {
    /// Asks rustc (`$RUSTC`, else `rustc`).
    fn of(triple: &str, env: &BTreeMap<String, String>) -> Result<Platform, CratesError> {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let output = Command::new(rustc)
            .envs(env)
            .args(["--print", "cfg", "--target", triple])
            .stdin(Stdio::null())
            .output()
            .map_err(CratesError::Rustc)?;
        if !output.status.success() {
            return Err(CratesError::RustcFailed { stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned() });
        }
        Ok(Platform::parse(triple, &String::from_utf8_lossy(&output.stdout)))
    }

    /// From `rustc --print cfg`'s lines (`unix`, `target_os="linux"`).
    pub fn parse(triple: &str, text: &str) -> Platform {
        let cfgs = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| match l.split_once('=') {
                Some((name, value)) => (name.trim().to_owned(), Some(value.trim().trim_matches('"').to_owned())),
                None => (l.to_owned(), None),
            })
            .collect();
        Platform { triple: triple.to_owned(), cfgs }
    }

    /// Whether a dependency's `target` (a triple or `cfg(...)`) is this platform.
    pub fn matches(&self, target: &str) -> bool {
        match target.strip_prefix("cfg(").and_then(|t| t.strip_suffix(')')) {
            Some(expression) => {
                let tokens = tokens(expression);
                let mut at = 0;
                let value = self.eval(&tokens, &mut at, 0);
                value == Some(true) && at == tokens.len()
            }
            None => target == self.triple,
        }
    }

    /// One cfg predicate from `tokens[*at..]`; `None` when it is not well formed.
    fn eval(&self, tokens: &[Token], at: &mut usize, depth: usize) -> Option<bool> {
        if depth > crate::limits::MAX_DEPTH {
            return None;
        }
        let Token::Ident(name) = tokens.get(*at)? else { return None };
        *at += 1;
        match tokens.get(*at) {
            Some(Token::Open) if matches!(name.as_str(), "all" | "any" | "not") => {
                *at += 1;
                let mut values = Vec::new();
                while tokens.get(*at) != Some(&Token::Close) {
                    values.push(self.eval(tokens, at, depth + 1)?);
                    match tokens.get(*at) {
                        Some(Token::Comma) => *at += 1,
                        Some(Token::Close) => {}
                        _ => return None,
                    }
                }
                *at += 1;
                match name.as_str() {
                    "all" => Some(values.iter().all(|v| *v)),
                    "any" => Some(values.iter().any(|v| *v)),
                    _ => (values.len() == 1).then(|| !values[0]),
                }
            }
            Some(Token::Equals) => {
                *at += 1;
                let Token::Text(value) = tokens.get(*at)? else { return None };
                *at += 1;
                Some(self.cfgs.contains(&(name.clone(), Some(value.clone()))))
            }
            _ => Some(self.cfgs.contains(&(name.clone(), None))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Text(String),
    Open,
    Close,
    Comma,
    Equals,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            ',' => out.push(Token::Comma),
            '=' => out.push(Token::Equals),
            '"' => {
                let mut value = String::new();
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    value.push(c);
                }
                out.push(Token::Text(value));
            }
            c if c.is_whitespace() => {}
            c => {
                let mut name = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_alphanumeric() || next == '_' || next == '-' {
                        name.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Ident(name));
            }
        }
    }
    out
}

/// Reads cargo's output up to the limit (the rest is not kept: the run is an error).
fn read_bounded(mut child: std::process::Child) -> Result<std::process::Output, CratesError> {
    use std::io::Read as _;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let out = child.stdout.take();
    let err = child.stderr.take();
    let errors = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut buffer = Vec::new();
            if let Some(err) = err {
                let _ = err.take(MAX_CARGO_METADATA_BYTES as u64).read_to_end(&mut buffer);
            }
            buffer
        });
        if let Some(out) = out {
            let _ = out.take(MAX_CARGO_METADATA_BYTES as u64 + 1).read_to_end(&mut stdout);
        }
        reader.join().unwrap_or_default()
    });
    stderr.extend(errors);
    if stdout.len() > MAX_CARGO_METADATA_BYTES {
        let _ = child.kill();
        let _ = child.wait();
        return Err(CratesError::TooLarge);
    }
    let status = child.wait().map_err(CratesError::Start)?;
    Ok(std::process::Output { status, stdout, stderr })
}

/// `(name, version, source)` → checksum, from `Cargo.lock`'s `[[package]]` entries.
fn checksums(text: &str) -> Result<BTreeMap<(String, String, String), String>, toml::de::Error> {
    let table: toml::Table = text.parse()?;
    let mut out = BTreeMap::new();
    for entry in table.get("package").and_then(toml::Value::as_array).into_iter().flatten() {
        let field = |key: &str| entry.get(key).and_then(toml::Value::as_str).unwrap_or_default().to_owned();
        if let Some(sum) = entry.get("checksum").and_then(toml::Value::as_str) {
            out.insert((field("name"), field("version"), field("source")), sum.to_owned());
        }
    }
    Ok(out)
}

/// One step of the feature resolution. `bool`: built for the host (a procedural macro or
/// below one).
enum Work<'a> {
    Package(&'a str, bool),
    Feature(&'a str, bool, String),
    Dep(&'a str, bool, String),
}

/// A dependency as the package declares it, paired with the package it resolved to.
struct Declared<'a> {
    /// The name the package's features use (`rename`, else the package name).
    name: String,
    target: &'a str,
    optional: bool,
    default_features: bool,
    features: Vec<String>,
}

struct Graph<'a> {
    packages: BTreeMap<&'a str, &'a Value>,
    deps: BTreeMap<&'a str, Vec<Declared<'a>>>,
}

impl<'a> Graph<'a> {
    fn new(metadata: &'a Value, platform: &Platform) -> Graph<'a> {
        let packages: BTreeMap<&str, &Value> = metadata["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p["id"].as_str()?, p)))
            .collect();
        let mut deps = BTreeMap::new();
        for node in metadata["resolve"]["nodes"].as_array().into_iter().flatten() {
            let Some(id) = node["id"].as_str() else { continue };
            let Some(package) = packages.get(id) else { continue };
            let mut declared = Vec::new();
            for resolved in node["deps"].as_array().into_iter().flatten() {
                // Normal dependencies for this platform only (--filter-platform dropped the
                // rest): the platforms (`target`: a cfg, or null for all) they are declared for.
                // `--filter-platform` keeps a dependency when one of its declarations is for
                // the platform, but lists them all: each is checked here.
                let platforms: Vec<&Value> = resolved["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|k| k["kind"].is_null())
                    .map(|k| &k["target"])
                    .filter(|t| t.as_str().is_none_or(|t| platform.matches(t)))
                    .collect();
                let Some(target) = resolved["pkg"].as_str() else { continue };
                let Some(target_package) = packages.get(target) else { continue };
                let crate_name = resolved["name"].as_str().unwrap_or_default();
                for d in package["dependencies"].as_array().into_iter().flatten() {
                    let same_package = d["name"] == target_package["name"];
                    let rename = d["rename"].as_str();
                    let same_name = rename.is_none_or(|r| r.replace('-', "_") == crate_name);
                    let this_platform = platforms.contains(&&d["target"]);
                    if !(d["kind"].is_null() && same_package && same_name && this_platform) {
                        continue;
                    }
                    declared.push(Declared {
                        name: rename.or_else(|| d["name"].as_str()).unwrap_or_default().to_owned(),
                        target,
                        optional: d["optional"].as_bool().unwrap_or(false),
                        default_features: d["uses_default_features"].as_bool().unwrap_or(true),
                        features: d["features"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|f| f.as_str().map(str::to_owned))
                            .collect(),
                    });
                }
            }
            deps.insert(id, declared);
        }
        Graph { packages, deps }
    }

    fn declared(&self, id: &str) -> &[Declared<'a>] {
        self.deps.get(id).map_or(&[], Vec::as_slice)
    }

    fn is_proc_macro(&self, id: &str) -> bool {
        self.packages.get(id).is_some_and(|p| {
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["kind"].as_array().into_iter().flatten().any(|k| k == "proc-macro"))
        })
    }

    fn feature_items(&self, id: &str, feature: &str) -> Option<Vec<String>> {
        let items = self.packages.get(id)?["features"].get(feature)?.as_array()?;
        Some(items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect())
    }
}

/// The feature resolution and walk over `metadata` from workspace member `package`.
fn resolve(
    metadata: &Value,
    platform: &Platform,
    package: &str,
    compile: &CompileOptions,
    lock: &BTreeMap<(String, String, String), String>,
    root_dir: &Path,
) -> Result<(Crate, Vec<Crate>), CratesError> {
    let graph = Graph::new(metadata, platform);
    let members: BTreeSet<&str> =
        metadata["workspace_members"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let root = graph
        .packages
        .iter()
        .find(|(id, p)| members.contains(*id) && p["name"] == package)
        .map(|(id, _)| *id)
        .ok_or_else(|| CratesError::NoPackage(package.to_owned()))?;

    let mut work = vec![Work::Package(root, false)];
    if compile.all_features {
        let mut all: Vec<String> =
            graph.packages[root]["features"].as_object().map(|f| f.keys().cloned().collect()).unwrap_or_default();
        all.extend(graph.declared(root).iter().filter(|d| d.optional).map(|d| d.name.clone()));
        work.extend(all.into_iter().map(|f| Work::Feature(root, false, f)));
    } else {
        if !compile.no_default_features {
            work.push(Work::Feature(root, false, "default".to_owned()));
        }
        for f in compile.features.iter().flat_map(|f| f.split([',', ' '])).filter(|f| !f.is_empty()) {
            work.push(Work::Feature(root, false, f.to_owned()));
        }
    }

    let mut features: BTreeMap<(&str, bool), BTreeSet<String>> = BTreeMap::new();
    let mut on: BTreeSet<(&str, bool, String)> = BTreeSet::new();
    // `x?/f` (and `x/f` before `x` is on): features to add once dependency `x` is on.
    let mut waiting: BTreeMap<(&str, bool, String), Vec<String>> = BTreeMap::new();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    while let Some(step) = work.pop() {
        match step {
            Work::Package(id, host) => {
                if features.contains_key(&(id, host)) {
                    continue;
                }
                features.insert((id, host), BTreeSet::new());
                for d in graph.declared(id).iter().filter(|d| !d.optional) {
                    work.push(Work::Dep(id, host, d.name.clone()));
                }
            }
            Work::Feature(id, host, feature) => {
                if !features.contains_key(&(id, host)) {
                    work.push(Work::Feature(id, host, feature));
                    work.push(Work::Package(id, host));
                    continue;
                }
                let items = if feature.contains('/') || feature.starts_with("dep:") {
                    vec![feature]
                } else {
                    if !features.get_mut(&(id, host)).is_some_and(|set| set.insert(feature.clone())) {
                        continue;
                    }
                    match graph.feature_items(id, &feature) {
                        Some(items) => items,
                        // An optional dependency's implicit feature.
                        None if graph.declared(id).iter().any(|d| d.optional && d.name == feature) => {
                            vec![format!("dep:{feature}")]
                        }
                        None => Vec::new(),
                    }
                };
                for item in items {
                    if let Some(dep) = item.strip_prefix("dep:") {
                        work.push(Work::Dep(id, host, dep.to_owned()));
                    } else if let Some((dep, dep_feature)) = item.split_once('/') {
                        let (dep, weak) = dep.strip_suffix('?').map_or((dep, false), |d| (d, true));
                        let is_dep = graph.declared(id).iter().any(|d| d.name == dep);
                        if !is_dep {
                            continue;
                        }
                        if !weak {
                            work.push(Work::Dep(id, host, dep.to_owned()));
                            // `x/f` also turns on the feature `x` when the package has one.
                            if graph.feature_items(id, dep).is_some() {
                                work.push(Work::Feature(id, host, dep.to_owned()));
                            }
                        }
                        if on.contains(&(id, host, dep.to_owned())) {
                            for d in graph.declared(id).iter().filter(|d| d.name == dep) {
                                let target_host = host || graph.is_proc_macro(d.target);
                                work.push(Work::Feature(d.target, target_host, dep_feature.to_owned()));
                            }
                        } else {
                            waiting.entry((id, host, dep.to_owned())).or_default().push(dep_feature.to_owned());
                        }
                    } else {
                        work.push(Work::Feature(id, host, item));
                    }
                }
            }
            Work::Dep(id, host, name) => {
                if !on.insert((id, host, name.clone())) {
                    continue;
                }
                let pending = waiting.remove(&(id, host, name.clone())).unwrap_or_default();
                for d in graph.declared(id).iter().filter(|d| d.name == name) {
                    let target_host = host || graph.is_proc_macro(d.target);
                    edges.entry(id).or_default().insert(d.target);
                    work.push(Work::Package(d.target, target_host));
                    if d.default_features {
                        work.push(Work::Feature(d.target, target_host, "default".to_owned()));
                    }
                    for f in d.features.iter().chain(&pending) {
                        work.push(Work::Feature(d.target, target_host, f.clone()));
                    }
                }
            }
        }
    }

    let ids: BTreeSet<&str> = features.keys().map(|(id, _)| *id).collect();
    let mut described: BTreeMap<&str, Crate> =
        ids.iter().map(|id| (*id, describe(&graph, id, lock, root_dir))).collect();
    // `name@version` is the bom-ref; two crates sharing both get their source kind added.
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for c in described.values() {
        *count.entry(c.id.clone()).or_default() += 1;
    }
    for c in described.values_mut() {
        if count[&c.id] > 1 {
            let kind = match &c.source {
                Source::Registry(s) | Source::Git(s) => s.split('+').next().unwrap_or("registry").to_owned(),
                Source::Path(p) => format!("path:{}", p.as_deref().unwrap_or("")),
            };
            c.id = format!("{}+{kind}", c.id);
        }
    }
    let refs: BTreeMap<&str, String> = described.iter().map(|(id, c)| (*id, c.id.clone())).collect();
    for (id, c) in &mut described {
        c.depends_on = edges.get(id).into_iter().flatten().map(|t| refs[t].clone()).collect();
    }
    let root_crate = described.remove(root).expect("the root is described");
    Ok((root_crate, described.into_values().collect()))
}

fn describe(graph: &Graph<'_>, id: &str, lock: &BTreeMap<(String, String, String), String>, root_dir: &Path) -> Crate {
    let p = graph.packages[id];
    let text = |key: &str| p[key].as_str().unwrap_or_default().to_owned();
    let (name, version) = (text("name"), text("version"));
    let source = match p["source"].as_str() {
        Some(s) if s.starts_with("git+") => Source::Git(s.to_owned()),
        Some(s) => Source::Registry(s.to_owned()),
        None => Source::Path(p["manifest_path"].as_str().and_then(|m| {
            let dir = Path::new(m).parent()?;
            let relative = dir.strip_prefix(root_dir).ok()?;
            Some(relative.to_string_lossy().into_owned())
        })),
    };
    let checksum = match &source {
        Source::Registry(s) => lock.get(&(name.clone(), version.clone(), s.clone())).cloned(),
        _ => None,
    };
    Crate {
        id: format!("{name}@{version}"),
        license: p["license"].as_str().map(str::to_owned),
        proc_macro: graph.is_proc_macro(id),
        name,
        version,
        source,
        checksum,
        depends_on: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

    fn linux() -> Platform {
        Platform::parse(
            TARGET,
            "panic=\"unwind\"\ntarget_arch=\"x86_64\"\ntarget_os=\"linux\"\ntarget_pointer_width=\"64\"\nunix\n",
        )
    }

    #[test]
    fn cfg_expressions_are_evaluated_for_the_target() {
        let p = linux();
        assert!(p.matches("cfg(unix)"));
        assert!(p.matches(TARGET));
        assert!(!p.matches("aarch64-apple-darwin"));
        assert!(!p.matches("cfg(windows)"));
        assert!(p.matches(
            "cfg(all(target_os = \"linux\", not(miri), any(target_arch = \"x86\", target_arch = \"x86_64\")))"
        ));
        assert!(!p.matches("cfg(all(not(windows), any(rustix_use_libc, miri, not(all(target_os = \"linux\", target_arch = \"x86_64\")))))"));
        assert!(!p.matches("cfg(not(unix, windows))"), "not takes one predicate");
        assert!(!p.matches("cfg(all(unix"), "unclosed");
        assert!(!p.matches(&format!("cfg({}unix{})", "all(".repeat(200), ")".repeat(200))), "too deep: not a match");
    }

    /// A declared dependency: (name, optional, default features, features, kind).
    type Dep<'a> = (&'a str, bool, bool, &'a [&'a str], Option<&'a str>);

    /// A package of cargo metadata's shape.
    #[allow(clippy::needless_pass_by_value)]
    fn package(name: &str, features: Value, deps: &[Dep<'_>], proc_macro: bool) -> Value {
        serde_json::json!({
            "id": format!("{name} 1.0.0"),
            "name": name,
            "version": "1.0.0",
            "source": if name == "app" { Value::Null } else { IO.into() },
            "manifest_path": format!("/ws/{name}/Cargo.toml"),
            "license": "MIT",
            "features": features,
            "targets": [{"kind": [if proc_macro { "proc-macro" } else { "lib" }]}],
            "dependencies": deps.iter().map(|(n, optional, default, features, kind)| serde_json::json!({
                "name": n, "rename": null, "optional": optional, "uses_default_features": default,
                "features": features, "kind": kind,
            })).collect::<Vec<_>>(),
        })
    }

    #[allow(clippy::needless_pass_by_value)]
    fn metadata(packages: Vec<Value>) -> Value {
        // The workspace-wide graph: every declared dependency resolved (a superset).
        let nodes: Vec<Value> = packages
            .iter()
            .map(|p| {
                let deps: Vec<Value> = p["dependencies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "name": d["name"], "pkg": format!("{} 1.0.0", d["name"].as_str().unwrap()),
                            "dep_kinds": [{"kind": d["kind"], "target": null}],
                        })
                    })
                    .collect();
                serde_json::json!({"id": p["id"], "deps": deps})
            })
            .collect();
        serde_json::json!({"packages": packages, "workspace_members": ["app 1.0.0"], "resolve": {"nodes": nodes}, "workspace_root": "/ws"})
    }

    fn names(compile: &CompileOptions, metadata: &Value) -> Vec<String> {
        let lock = BTreeMap::from([(("tokio".into(), "1.0.0".into(), IO.into()), "ab".repeat(32))]);
        let (root, crates) = resolve(metadata, &linux(), "app", compile, &lock, Path::new("/ws")).unwrap();
        assert_eq!(root.source, Source::Path(Some("app".into())));
        crates.into_iter().map(|c| c.name).collect()
    }

    fn world() -> Value {
        metadata(vec![
            package(
                "app",
                serde_json::json!({"default": ["fast"], "fast": ["tokio/rt"], "tls": ["dep:rustls"], "log": ["tokio?/tracing"]}),
                &[
                    ("tokio", false, false, &[], None),
                    ("rustls", true, true, &[], None),
                    ("serde_derive", false, true, &[], None),
                    ("tempfile", false, true, &[], Some("dev")),
                    ("cc", false, true, &[], Some("build")),
                ],
                false,
            ),
            package(
                "tokio",
                serde_json::json!({"default": [], "rt": ["dep:mio"], "tracing": ["dep:tracing"], "full": ["rt", "dep:parking_lot"]}),
                &[
                    ("mio", true, true, &[], None),
                    ("tracing", true, true, &[], None),
                    ("parking_lot", true, true, &[], None),
                    ("pin", false, true, &[], None),
                ],
                false,
            ),
            package("serde_derive", serde_json::json!({}), &[("syn", false, true, &[], None)], true),
            package("syn", serde_json::json!({"default": ["full"], "full": []}), &[], false),
            package("mio", serde_json::json!({}), &[], false),
            package("tracing", serde_json::json!({}), &[], false),
            package("parking_lot", serde_json::json!({}), &[], false),
            package("pin", serde_json::json!({}), &[], false),
            package("rustls", serde_json::json!({}), &[], false),
            package("tempfile", serde_json::json!({}), &[], false),
            package("cc", serde_json::json!({}), &[], false),
        ])
    }

    #[test]
    fn normal_dependencies_with_the_features_the_build_enables() {
        let all = world();
        // default → fast → tokio/rt → mio; no dev/build deps; tokio's `full` (parking_lot)
        // is resolved workspace-wide but not enabled here.
        assert_eq!(names(&CompileOptions::default(), &all), ["mio", "pin", "serde_derive", "syn", "tokio"]);
        let none = CompileOptions { no_default_features: true, ..CompileOptions::default() };
        assert_eq!(names(&none, &all), ["pin", "serde_derive", "syn", "tokio"]);
        let tls = CompileOptions { features: vec!["tls,log".into()], no_default_features: true, ..Default::default() };
        // `tokio?/tracing` adds tracing to tokio, which is on.
        assert_eq!(names(&tls, &all), ["pin", "rustls", "serde_derive", "syn", "tokio", "tracing"]);
        let every = CompileOptions { all_features: true, ..CompileOptions::default() };
        assert_eq!(names(&every, &all), ["mio", "pin", "rustls", "serde_derive", "syn", "tokio", "tracing"]);
        let direct =
            CompileOptions { features: vec!["tokio/full".into()], no_default_features: true, ..Default::default() };
        assert_eq!(names(&direct, &all), ["mio", "parking_lot", "pin", "serde_derive", "syn", "tokio"]);
    }

    #[test]
    fn crates_carry_their_source_checksum_and_edges() {
        let lock = BTreeMap::from([(("tokio".into(), "1.0.0".into(), IO.into()), "ab".repeat(32))]);
        let (root, crates) =
            resolve(&world(), &linux(), "app", &CompileOptions::default(), &lock, Path::new("/ws")).unwrap();
        assert_eq!(root.depends_on, ["serde_derive@1.0.0", "tokio@1.0.0"]);
        let tokio = crates.iter().find(|c| c.name == "tokio").unwrap();
        assert_eq!(tokio.checksum.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(tokio.source, Source::Registry(IO.into()));
        assert!(crates.iter().find(|c| c.name == "serde_derive").unwrap().proc_macro);
        let e = resolve(&world(), &linux(), "nope", &CompileOptions::default(), &lock, Path::new("/ws")).unwrap_err();
        assert_eq!(e.to_string(), "`cargo metadata` lists no workspace member `nope`");
    }

    /// What `cargo tree -e normal --target x86_64-unknown-linux-gnu` lists for `package` of
    /// this workspace, as `name@version`.
    fn cargo_tree(root: &Path, package: &str, features: &[&str]) -> BTreeSet<String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(root)
            .args(["tree", "-p", package, "-e", "normal", "--target", TARGET, "--prefix", "none", "--offline"])
            .args(features)
            .output()
            .expect("cargo tree runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                Some(format!("{}@{}", words.next()?, words.next()?.strip_prefix('v')?))
            })
            .collect()
    }

    /// The walk over this workspace's real metadata (features unified across its members)
    /// lists exactly what cargo tree lists for one member, with every registry crate's
    /// checksum from Cargo.lock.
    #[test]
    fn the_workspace_members_crates_are_cargo_trees() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
        let cases: &[(&str, &[&str], CompileOptions)] = &[
            ("todo", &[], CompileOptions::default()),
            ("hello", &[], CompileOptions::default()),
            ("cargo-score-fly", &[], CompileOptions::default()),
            (
                "score-fly-core",
                &["--no-default-features", "--features", "syn"],
                CompileOptions { no_default_features: true, features: vec!["syn".into()], ..CompileOptions::default() },
            ),
        ];
        for (package, flags, compile) in cases {
            let (me, crates) = crates(package, root, compile, &BTreeMap::new()).expect("crates");
            let ours: BTreeSet<String> = std::iter::once(&me).chain(&crates).map(|c| c.id.clone()).collect();
            assert_eq!(ours, cargo_tree(root, package, flags), "{package} {flags:?}");
            for c in &crates {
                if let Source::Registry(_) = c.source {
                    assert!(c.checksum.as_ref().is_some_and(|s| s.len() == 64), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn lockfile_checksums_are_read_by_name_version_and_source() {
        let lock = format!(
            "version = 4\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"{IO}\"\nchecksum = \"{}\"\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n",
            "cd".repeat(32)
        );
        let sums = checksums(&lock).unwrap();
        assert_eq!(sums.len(), 1);
        assert_eq!(sums[&("a".to_owned(), "1.0.0".to_owned(), IO.to_owned())], "cd".repeat(32));
        assert!(checksums("[[package]\n").is_err());
    }
}
