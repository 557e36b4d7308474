//! Cargo integration: which packages are services, where each one's workload comes from, and
//! the settings in `[package.metadata.score-fly]` / `[workspace.metadata.score-fly]`.
//!
//! A package is a service when it has a Score file beside its `Cargo.toml` (`score.yaml`, or
//! the `score-file` setting) or a binary whose `main` carries `#[score_workload]`. Packages
//! are chosen like cargo chooses them: `-p`, `--workspace`, the package of the current
//! folder, or the only service of the workspace; an ambiguous choice lists the candidates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use score_fly_core::attr::{self, FromSource};
use score_fly_core::input;
use score_fly_core::limits::MAX_RUST_SOURCE_BYTES;
use score_fly_core::spec::{self, Loaded};

use crate::cli::PackageArgs;
use crate::failure::Failure;

/// Settings read from cargo metadata (flags override them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `app-prefix`.
    pub app_prefix: Option<String>,
    /// `org`: the Fly organisation apps are created in.
    pub org: Option<String>,
    /// `region`: the primary region when the workload does not set one.
    pub region: Option<String>,
    /// `base-image`: the image the binary is layered on.
    pub base_image: Option<String>,
    /// `score-file`: the Score file, relative to `Cargo.toml` (default `score.yaml`).
    pub score_file: Option<String>,
    /// `build-env`: the build-time environment (a table of strings), checked by `build`.
    pub build_env: BTreeMap<String, String>,
}

/// The keys of `[package.metadata.score-fly]` and `[workspace.metadata.score-fly]`.
pub const SETTING_KEYS: &[&str] = &["app-prefix", "org", "region", "base-image", "score-file", "build-env"];

impl Settings {
    /// Reads `[<table>.score-fly]`; `owner` names the package in messages.
    fn from_metadata(value: &serde_json::Value, table: &str, owner: &str) -> Result<Settings, Failure> {
        let Some(section) = value.get("score-fly") else { return Ok(Settings::default()) };
        let Some(map) = section.as_object() else {
            return Err(Failure::Invalid(format!("[{table}.score-fly]{owner} must be a table")));
        };
        let mut settings = Settings::default();
        for (key, value) in map {
            if key == "build-env" {
                let entries = value.as_object().ok_or_else(|| {
                    Failure::Invalid(format!("[{table}.score-fly]{owner} `build-env` must be a table of strings"))
                })?;
                for (name, value) in entries {
                    let value = value.as_str().ok_or_else(|| {
                        Failure::Invalid(format!(
                            "[{table}.score-fly]{owner} `build-env.{name}` must be a string (quote numbers and booleans)"
                        ))
                    })?;
                    settings.build_env.insert(name.clone(), value.to_owned());
                }
                continue;
            }
            let text = value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| Failure::Invalid(format!("[{table}.score-fly] `{key}` must be a string")))?;
            match key.as_str() {
                "app-prefix" => settings.app_prefix = Some(text),
                "org" => settings.org = Some(text),
                "region" => settings.region = Some(text),
                "base-image" => settings.base_image = Some(text),
                "score-file" => settings.score_file = Some(text),
                other => {
                    return Err(Failure::Invalid(format!(
                        "[{table}.score-fly]{owner} has an unknown key `{other}`; known keys: {}",
                        SETTING_KEYS.join(", ")
                    )));
                }
            }
        }
        Ok(settings)
    }

    /// `self` with unset values taken from `fallback`.
    #[must_use]
    pub fn or(self, fallback: &Settings) -> Settings {
        Settings {
            app_prefix: self.app_prefix.or_else(|| fallback.app_prefix.clone()),
            org: self.org.or_else(|| fallback.org.clone()),
            region: self.region.or_else(|| fallback.region.clone()),
            base_image: self.base_image.or_else(|| fallback.base_image.clone()),
            score_file: self.score_file.or_else(|| fallback.score_file.clone()),
            build_env: fallback.build_env.iter().map(|(k, v)| (k.clone(), v.clone())).chain(self.build_env).collect(),
        }
    }
}

/// Where a service's workload comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A Score file.
    ScoreFile(PathBuf),
    /// `#[score_workload]` on a binary's `main` (inline or pointing at a Score file).
    Attribute {
        /// The binary's source file.
        source: PathBuf,
        /// The Score file the attribute reads, if it reads one.
        file: Option<PathBuf>,
    },
}

/// A package that is a service.
#[derive(Debug, Clone)]
pub struct Service {
    /// The package name.
    pub package: String,
    /// The folder of its `Cargo.toml`.
    pub dir: PathBuf,
    /// The binary that ships, when known (needed to build).
    pub bin: Option<String>,
    /// Where the workload comes from.
    pub origin: Origin,
    /// The workload.
    pub loaded: Loaded,
    /// Package settings over workspace settings.
    pub settings: Settings,
    /// The package's own settings (`[package.metadata.score-fly]` alone), for
    /// [`crate::settings::Settings::resolve`].
    pub package_settings: Settings,
}

/// A cargo workspace and its services.
#[derive(Debug)]
pub struct Workspace {
    /// Its root folder (the project: `.score-fly/` lives there).
    pub root: PathBuf,
    /// Cargo's target folder.
    pub target_dir: PathBuf,
    /// The chosen services.
    pub services: Vec<Service>,
    /// `[workspace.metadata.score-fly]` alone.
    pub settings: Settings,
}

/// The `Cargo.toml` of the current folder or an ancestor, if any.
pub fn find_manifest(start: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(start).ok()?;
    start.ancestors().map(|d| d.join("Cargo.toml")).find(|p| p.is_file())
}

/// `cargo metadata --no-deps` of the workspace of `manifest` or `cwd`.
fn metadata(manifest: Option<&Path>, cwd: &Path) -> Result<cargo_metadata::Metadata, Failure> {
    let mut command = cargo_metadata::MetadataCommand::new();
    command.no_deps();
    if let Some(path) = manifest {
        command.manifest_path(path);
    }
    command.current_dir(cwd);
    command.exec().map_err(|e| match e {
        cargo_metadata::Error::CargoMetadata { stderr } => {
            // Cargo's own snippet lines follow, indented so they print as detail.
            let mut lines = stderr.trim().lines();
            let first = lines.next().unwrap_or_default().trim_start_matches("error: ").to_owned();
            let rest: Vec<String> = lines.map(|l| format!("  {l}")).collect();
            Failure::Invalid(if rest.is_empty() {
                format!("cargo metadata failed: {first}")
            } else {
                format!("cargo metadata failed: {first}\n{}", rest.join("\n"))
            })
        }
        other => Failure::Error(format!("cannot run cargo metadata: {other}")),
    })
}

/// The package `init` writes a workload for.
#[derive(Debug, Clone)]
pub struct InitPackage {
    /// The package name.
    pub name: String,
    /// The folder of its `Cargo.toml`.
    pub dir: PathBuf,
    /// The workspace root (the project: `.score-fly/` lives there).
    pub root: PathBuf,
    /// Package settings over workspace settings.
    pub settings: Settings,
    /// Its Score file (`score.yaml` beside `Cargo.toml`, or the `score-file` setting).
    pub score_file: PathBuf,
    /// The source file of the binary that ships (where `#[score_workload]` goes).
    pub main_source: PathBuf,
    /// Whether that binary already declares its workload with `#[score_workload]`.
    pub has_attribute: bool,
}

/// The package of the current folder (or the workspace's only package with a binary), for
/// `init`; `None` outside a cargo package or workspace.
pub fn init_package(cwd: &Path) -> Result<Option<InitPackage>, Failure> {
    if find_manifest(cwd).is_none() {
        return Ok(None);
    }
    let metadata = metadata(None, cwd)?;
    let root = PathBuf::from(metadata.workspace_root.as_std_path());
    let workspace_settings = Settings::from_metadata(&metadata.workspace_metadata, "workspace.metadata", "")?;
    let mut candidates: BTreeMap<String, Candidate<'_>> = BTreeMap::new();
    for package in metadata.workspace_packages() {
        let own =
            Settings::from_metadata(&package.metadata, "package.metadata", &format!(" of package `{}`", package.name))?;
        let settings = own.clone().or(&workspace_settings);
        candidates.insert(package.name.to_string(), Candidate { package, settings, own });
    }
    let with_bins: Vec<&Candidate<'_>> = candidates.values().filter(|c| !c.bins().is_empty()).collect();
    let candidate = if let Some(c) = package_of(&candidates, None, cwd) {
        c
    } else if let [one] = with_bins[..] {
        one
    } else {
        return Err(Failure::Invalid(format!(
            "the workspace at {} has {} packages with a binary ({}): run `cargo score-fly init` in the folder of the one to deploy",
            root.display(),
            with_bins.len(),
            list(with_bins.iter().map(|c| c.package.name.as_str()))
        )));
    };
    let name = candidate.package.name.to_string();
    let bins = candidate.bins();
    let shipping = candidate
        .package
        .default_run
        .as_deref()
        .and_then(|d| bins.iter().find(|t| t.name == d))
        .or_else(|| bins.iter().find(|t| t.name == name))
        .or_else(|| if bins.len() == 1 { bins.first() } else { None });
    let Some(shipping) = shipping else {
        return Err(Failure::Invalid(if bins.is_empty() {
            format!(
                "package `{name}` has no binary to deploy: add src/main.rs (or a [[bin]]), or run init in the package that ships"
            )
        } else {
            format!(
                "package `{name}` has several binaries ({}) and none is named after it: set `default-run` in its Cargo.toml to the one that ships",
                list(bins.iter().map(|t| t.name.as_str()))
            )
        }));
    };
    let main_source = PathBuf::from(shipping.src_path.as_std_path());
    let has_attribute = read_rust_source(&main_source).is_ok_and(|text| text.contains("score_workload"));
    Ok(Some(InitPackage {
        name,
        dir: candidate.dir(),
        root,
        settings: candidate.settings.clone(),
        score_file: candidate.score_file(),
        main_source,
        has_attribute,
    }))
}

/// Reads the workspace with `cargo metadata` and chooses the services.
pub fn discover(args: &PackageArgs, cwd: &Path) -> Result<Workspace, Failure> {
    let metadata = metadata(args.manifest_path.as_deref(), cwd)?;
    let root = PathBuf::from(metadata.workspace_root.as_std_path());
    let workspace_settings = Settings::from_metadata(&metadata.workspace_metadata, "workspace.metadata", "")?;
    let members: Vec<&cargo_metadata::Package> = metadata.workspace_packages();

    // Every member that declares a workload, with its settings.
    let mut candidates: BTreeMap<String, Candidate<'_>> = BTreeMap::new();
    for package in &members {
        let own =
            Settings::from_metadata(&package.metadata, "package.metadata", &format!(" of package `{}`", package.name))?;
        let settings = own.clone().or(&workspace_settings);
        candidates.insert(package.name.to_string(), Candidate { package, settings, own });
    }

    let chosen: Vec<&Candidate<'_>> = if !args.package.is_empty() {
        args.package
            .iter()
            .map(|name| {
                candidates.get(name).ok_or_else(|| {
                    Failure::Invalid(format!(
                        "package `{name}` is not a member of the workspace at {} (members: {})",
                        root.display(),
                        candidates.keys().cloned().collect::<Vec<_>>().join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    } else if args.workspace {
        candidates.values().filter(|c| c.declares_workload(args.bin.as_deref())).collect()
    } else if let Some(c) = package_of(&candidates, args.manifest_path.as_deref(), cwd) {
        vec![c]
    } else {
        let services: Vec<&Candidate<'_>> =
            candidates.values().filter(|c| c.declares_workload(args.bin.as_deref())).collect();
        match services.len() {
            1 => services,
            0 => {
                return Err(Failure::Invalid(format!(
                    "no package of the workspace at {} declares a workload: add score.yaml beside a package's Cargo.toml, or #[score_workload] on a binary's main",
                    root.display()
                )));
            }
            _ => {
                return Err(Failure::Invalid(format!(
                    "several packages declare a workload ({}); choose with -p NAME (repeatable) or take them all with --workspace",
                    services.iter().map(|c| c.package.name.to_string()).collect::<Vec<_>>().join(", ")
                )));
            }
        }
    };

    let mut services = Vec::new();
    for candidate in chosen {
        services.push(candidate.service(args.bin.as_deref())?);
    }
    Ok(Workspace {
        root,
        target_dir: PathBuf::from(metadata.target_directory.as_std_path()),
        services,
        settings: workspace_settings,
    })
}

struct Candidate<'m> {
    package: &'m cargo_metadata::Package,
    settings: Settings,
    own: Settings,
}

/// The package whose folder holds the given manifest or the current folder (the deepest).
fn package_of<'c>(
    candidates: &'c BTreeMap<String, Candidate<'_>>,
    manifest: Option<&Path>,
    cwd: &Path,
) -> Option<&'c Candidate<'c>> {
    let here = match manifest {
        Some(m) => std::path::absolute(m).ok()?.parent()?.to_path_buf(),
        None => std::path::absolute(cwd).ok()?,
    };
    candidates
        .values()
        .filter(|c| c.package.manifest_path.parent().is_some_and(|d| here.starts_with(d.as_std_path())))
        .max_by_key(|c| c.package.manifest_path.as_str().len())
}

impl Candidate<'_> {
    fn dir(&self) -> PathBuf {
        self.package.manifest_path.parent().map_or_else(|| ".".into(), |d| d.as_std_path().to_path_buf())
    }

    fn score_file(&self) -> PathBuf {
        self.dir().join(self.settings.score_file.as_deref().unwrap_or(attr::DEFAULT_FILE))
    }

    fn bins(&self) -> Vec<&cargo_metadata::Target> {
        self.package.targets.iter().filter(|t| t.kind.contains(&cargo_metadata::TargetKind::Bin)).collect()
    }

    /// Whether it declares a workload (cheap check: a Score file, or the attribute's name in
    /// a binary's source).
    fn declares_workload(&self, bin: Option<&str>) -> bool {
        self.score_file().is_file()
            || self
                .bins()
                .iter()
                .filter(|t| bin.is_none_or(|b| t.name == b))
                .any(|t| read_rust_source(t.src_path.as_std_path()).is_ok_and(|text| text.contains("score_workload")))
    }

    fn service(&self, bin: Option<&str>) -> Result<Service, Failure> {
        let name = self.package.name.to_string();
        let bins = self.bins();
        if let Some(b) = bin
            && !bins.iter().any(|t| t.name == b)
        {
            return Err(Failure::Invalid(format!(
                "package `{name}` has no binary `{b}` (binaries: {})",
                list(bins.iter().map(|t| t.name.as_str()))
            )));
        }
        // Binaries whose main carries the attribute.
        let mut declared = Vec::new();
        for target in bins.iter().filter(|t| bin.is_none_or(|b| t.name == b)) {
            let path = PathBuf::from(target.src_path.as_std_path());
            let text = read_rust_source(&path).map_err(|e| match e {
                input::ReadError::Io { .. } => Failure::Error(e.to_string()),
                _ => Failure::Invalid(e.to_string()),
            })?;
            if !text.contains("score_workload") {
                continue;
            }
            let shown = relative(&path);
            match attr::read_source(&shown, &text) {
                Ok(FromSource::Nothing) => {}
                Ok(found) => declared.push((target.name.clone(), path, found)),
                Err(e) => return Err(Failure::InvalidSource(e)),
            }
        }
        if declared.len() > 1 {
            return Err(Failure::Invalid(format!(
                "package `{name}` has several binaries with #[score_workload] ({}); choose one with --bin",
                list(declared.iter().map(|(n, _, _)| n.as_str()))
            )));
        }
        let score_file = self.score_file();
        let from_file = |path: &Path| -> Result<Loaded, Failure> {
            let text = score_fly_core::input::read_document(path).map_err(|e| {
                Failure::Invalid(match e {
                    score_fly_core::input::ReadError::Io { source, .. } => {
                        format!("cannot read the Score file {}: {source}", relative(path))
                    }
                    // Too large (naming the file and the limit), not text.
                    other => format!("cannot read the Score file: {other}"),
                })
            })?;
            spec::load(&relative(path), &text, &spec::Overrides::default()).map_err(|e| Failure::InvalidScore(vec![e]))
        };
        let shipping_bin = |declared_bin: Option<String>| -> Option<String> {
            declared_bin
                .or_else(|| bin.map(str::to_owned))
                .or_else(|| self.package.default_run.clone())
                .or_else(|| (bins.len() == 1).then(|| bins[0].name.clone()))
        };
        let Some((bin_name, source, found)) = declared.pop() else {
            if !score_file.is_file() {
                return Err(Failure::Invalid(format!(
                    "package `{name}` declares no workload: add {} beside its Cargo.toml, or #[score_workload] on its main",
                    self.settings.score_file.as_deref().unwrap_or(attr::DEFAULT_FILE)
                )));
            }
            return Ok(Service {
                package: name,
                dir: self.dir(),
                bin: shipping_bin(None),
                loaded: from_file(&score_file)?,
                origin: Origin::ScoreFile(score_file),
                settings: self.settings.clone(),
                package_settings: self.own.clone(),
            });
        };
        let (loaded, file) = match found {
            FromSource::Inline(loaded) => (*loaded, None),
            FromSource::File { path, .. } => {
                let file = self.dir().join(path);
                (from_file(&file)?, Some(file))
            }
            FromSource::Nothing => unreachable!("filtered above"),
        };
        // A Score file beside Cargo.toml that the attribute does not read must agree with it.
        if score_file.is_file() && file.as_deref() != Some(score_file.as_path()) {
            let other = from_file(&score_file)?;
            if other.workload != loaded.workload {
                return Err(Failure::Invalid(format!(
                    "package `{name}` declares its workload twice and they differ: #[score_workload] on {} and {}. The attribute is what the binary carries, so it wins: delete {}, or make the attribute read it with #[score_workload(file = \"{}\")]",
                    relative(&source),
                    relative(&score_file),
                    relative(&score_file),
                    self.settings.score_file.as_deref().unwrap_or(attr::DEFAULT_FILE)
                )));
            }
        }
        Ok(Service {
            package: name,
            dir: self.dir(),
            bin: shipping_bin(Some(bin_name)),
            loaded,
            origin: Origin::Attribute { source, file },
            settings: self.settings.clone(),
            package_settings: self.own.clone(),
        })
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    if items.is_empty() { "none".to_owned() } else { items.join(", ") }
}

/// `path` relative to the current folder when it is below it (for messages).
pub fn relative(path: &Path) -> String {
    score_fly_core::fsutil::shown(path).display().to_string()
}

/// A binary's root source file, as text: a regular file (a FIFO or device there is refused
/// without blocking on it) of at most [`MAX_RUST_SOURCE_BYTES`].
fn read_rust_source(path: &Path) -> Result<String, input::ReadError> {
    let real =
        std::fs::canonicalize(path).map_err(|source| input::ReadError::Io { path: path.to_path_buf(), source })?;
    let limit = ("MAX_RUST_SOURCE_BYTES", MAX_RUST_SOURCE_BYTES, "move generated code into modules of their own");
    let bytes = input::read_regular(&real, limit)?;
    String::from_utf8(bytes).map_err(|_| input::ReadError::NotText { path: path.to_path_buf() })
}
