//! Score workload → `fly.toml` (see the mapping table in the README).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;

use super::annotations::{self, FlyAnnotations, HttpServiceChoice, PortOptions};
use super::config::{
    Build, CheckTiming, Deploy, Experimental, FileEntry, FlyConfig, HttpCheckRequest, HttpService, MachineCheck, Mount,
    Restart, Service, ServiceHttpCheck, ServicePortEntry, Vm,
};
use super::vm::{self, CpuKind};
use super::{Conversion, ConvertError, ConvertOptions, FileAccess, GeneratedFile, Problem};
use crate::fsutil::relative_path;
use crate::limits::{MAX_DIAGNOSTICS, MAX_EXPANDED_BYTES, MAX_GENERATED_BYTES};
use crate::placeholder::{self, Budget, Context, Expanded};
use crate::quantity;
use crate::secret::Secret;
use crate::spec::node::FieldPath;
use crate::spec::sites::placeholder_sites;
use crate::spec::{Container, FileContent, HttpProbe, Probe, Protocol, Scheme, ServicePort, Workload};

/// Default check timing (Fly's own defaults are not documented as stable; be explicit).
const DEFAULT_INTERVAL: &str = "15s";
const DEFAULT_TIMEOUT: &str = "10s";
const DEFAULT_GRACE: &str = "10s";

mod containers;

struct Converter<'a> {
    workload: &'a Workload,
    options: &'a ConvertOptions,
    files: &'a dyn FileAccess,
    metadata: serde_json::Value,
    /// Where placeholders are expanded ([`crate::spec::sites`]).
    sites: std::collections::BTreeSet<FieldPath>,
    annotations: FlyAnnotations,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    secrets: BTreeMap<String, Secret>,
    /// Secret name → the file target it carries.
    file_secrets: BTreeMap<String, String>,
    /// Secret name → the container whose variable set it first.
    variable_secrets: BTreeMap<String, String>,
    /// Some container of a multi-container machine has a healthcheck.
    container_checks: bool,
    generated: Vec<GeneratedFile>,
    /// Bytes of text and files this conversion produced so far (expanded values, inline and
    /// binary contents): bounded by [`MAX_GENERATED_BYTES`].
    produced: usize,
    /// [`MAX_GENERATED_BYTES`] was reached (and reported once): nothing more is expanded.
    spent: bool,
}

/// Converts a validated workload into a `fly.toml` model, secrets and generated files.
///
/// Every problem is collected; the conversion fails if there is any.
pub fn convert(
    workload: &Workload,
    options: &ConvertOptions,
    files: &dyn FileAccess,
) -> Result<Conversion, ConvertError> {
    let port_names: Vec<&str> =
        workload.service.as_ref().map(|s| s.ports.keys().map(String::as_str).collect()).unwrap_or_default();
    let mut problems = Vec::new();
    let annotations = annotations::parse(&workload.metadata.annotations, &port_names, &mut problems);
    let mut c = Converter::new(workload, options, files, annotations, problems);
    let config = c.run();
    if c.problems.is_empty() {
        // The budget counted what expansion and contents produced; this is the real size.
        let total = config.to_toml().len() + c.generated.iter().map(|f| f.bytes.len()).sum::<usize>();
        if total > MAX_GENERATED_BYTES {
            c.problem(
                &FieldPath::root(),
                format!(
                    "the generated fly.toml and files would be {total} bytes, more than {} (limits::MAX_GENERATED_BYTES); keep large content in `source` files with `noExpand: true`",
                    crate::limits::human_bytes(MAX_GENERATED_BYTES)
                ),
            );
        }
    }
    cap_problems(&mut c.warnings, "warnings");
    if c.problems.is_empty() {
        Ok(Conversion { config, secrets: c.secrets, generated_files: c.generated, warnings: c.warnings })
    } else {
        cap_problems(&mut c.problems, "problems");
        Err(ConvertError { workload: workload.name().to_owned(), problems: c.problems })
    }
}

/// A file's content once resolved ([`Converter::file_content`]).
enum Content {
    /// Text expanded (inline `content`, or a `source` file whose placeholders changed it).
    Text {
        /// The result.
        expanded: Expanded,
        /// The text as written (for the plain-secret warning).
        written: String,
        /// Whether placeholders were expanded in it.
        site: bool,
    },
    /// `binaryContent`, decoded.
    Bytes(Vec<u8>),
    /// A `source` file used byte-exact (not expanded, unchanged by expansion, or not text).
    Source {
        /// Where it is.
        path: std::path::PathBuf,
        /// Its bytes.
        bytes: Vec<u8>,
    },
}

/// A container's variables and files with every placeholder resolved, exactly as the
/// conversion resolves them ([`resolve_container`]): for running the workload elsewhere
/// than on Fly (`cargo score-fly dev`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Each variable and its value (`secret`: it read a secret output: never show it).
    pub variables: BTreeMap<String, Expanded>,
    /// Each file, by its absolute target path in the container.
    pub files: BTreeMap<String, ResolvedFile>,
}

/// One file of [`Resolved`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFile {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Whether its content read a secret output.
    pub secret: bool,
    /// Its mode as written (`"0600"`), if any.
    pub mode: Option<String>,
}

/// Resolves the variables and files of container `container` of `workload` with
/// `options.resources` (the same expansion, budgets, `noExpand` rule and `source` policy as
/// [`convert`]); every problem is collected, as the conversion does.
pub fn resolve_container(
    workload: &Workload,
    container: &str,
    options: &ConvertOptions,
    files: &dyn FileAccess,
) -> Result<Resolved, ConvertError> {
    let mut c = Converter::new(workload, options, files, FlyAnnotations::default(), Vec::new());
    let mut resolved = Resolved { variables: BTreeMap::new(), files: BTreeMap::new() };
    let Some((name, spec)) = workload.containers.get_key_value(container) else {
        c.problem(&FieldPath::root().key("containers"), format!("there is no container `{container}`"));
        return Err(ConvertError { workload: workload.name().to_owned(), problems: c.problems });
    };
    let base = path_of(&["containers", name]);
    for name in workload.resources.keys() {
        if !options.resources.contains_key(name) {
            let uid = workload.resources[name].uid(workload.name(), name);
            c.problem(
                &path_of(&["resources", name]),
                format!("no provisioner for resource `{uid}`: it has no outputs for the workload to use"),
            );
        }
    }
    for (name, value) in &spec.variables {
        if let Some(expanded) = c.variable(name, value, &base.key("variables").key(name)) {
            resolved.variables.insert(name.clone(), expanded);
        }
    }
    for (target, file) in &spec.files {
        let path = base.key("files").key(target);
        if !c.file_target(target, &path) {
            continue;
        }
        let (bytes, secret) = match c.file_content(target, file, &path) {
            None => continue,
            Some(Content::Text { expanded, .. }) => (expanded.value.into_bytes(), expanded.secret),
            Some(Content::Bytes(bytes) | Content::Source { bytes, .. }) => (bytes, false),
        };
        resolved.files.insert(target.clone(), ResolvedFile { bytes, secret, mode: file.mode.clone() });
    }
    cap_problems(&mut c.problems, "problems");
    if c.problems.is_empty() {
        Ok(resolved)
    } else {
        Err(ConvertError { workload: workload.name().to_owned(), problems: c.problems })
    }
}

/// Keeps the first [`MAX_DIAGNOSTICS`] and says how many more `what` there were.
fn cap_problems(list: &mut Vec<Problem>, what: &str) {
    if list.len() > MAX_DIAGNOSTICS {
        let more = list.len() - MAX_DIAGNOSTICS;
        list.truncate(MAX_DIAGNOSTICS);
        list.push(Problem {
            path: FieldPath::root(),
            message: format!(
                "{more} more {what} not listed: only the first {MAX_DIAGNOSTICS} are (limits::MAX_DIAGNOSTICS); fix these and run again"
            ),
        });
    }
}

fn path_of(parts: &[&str]) -> FieldPath {
    parts.iter().fold(FieldPath::root(), |p, k| p.key(k))
}

impl<'a> Converter<'a> {
    /// A converter of `workload` with nothing produced yet.
    fn new(
        workload: &'a Workload,
        options: &'a ConvertOptions,
        files: &'a dyn FileAccess,
        annotations: FlyAnnotations,
        problems: Vec<Problem>,
    ) -> Converter<'a> {
        Converter {
            workload,
            options,
            files,
            metadata: workload.metadata_json(),
            sites: placeholder_sites(workload).into_iter().map(|s| s.path).collect(),
            annotations,
            problems,
            warnings: Vec::new(),
            secrets: BTreeMap::new(),
            file_secrets: BTreeMap::new(),
            variable_secrets: BTreeMap::new(),
            container_checks: false,
            generated: Vec::new(),
            produced: 0,
            spent: false,
        }
    }
}

impl Converter<'_> {
    fn problem(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.problems.push(Problem { path: path.clone(), message: message.into() });
    }

    fn warn(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.warnings.push(Problem { path: path.clone(), message: message.into() });
    }

    /// Counts `bytes` more of output; past [`MAX_GENERATED_BYTES`] that is a problem at
    /// `path` (reported once) and `false`.
    fn spend(&mut self, bytes: usize, path: &FieldPath) -> bool {
        if self.spent {
            return false;
        }
        self.produced += bytes;
        if self.produced > MAX_GENERATED_BYTES {
            self.spent = true;
            let e = placeholder::PlaceholderError::TooLarge {
                limit: "MAX_GENERATED_BYTES",
                limit_bytes: MAX_GENERATED_BYTES,
            };
            self.problem(path, e.to_string());
            return false;
        }
        true
    }

    /// Expands placeholders, within [`MAX_EXPANDED_BYTES`] for this text and what is left of
    /// [`MAX_GENERATED_BYTES`] for the workload: expansion stops where either is reached.
    fn expand(&mut self, text: &str, path: &FieldPath) -> Option<Expanded> {
        if self.spent {
            return None;
        }
        let left = MAX_GENERATED_BYTES.saturating_sub(self.produced);
        let budget = if left < MAX_EXPANDED_BYTES {
            Budget { bytes: left, limit: "MAX_GENERATED_BYTES", limit_bytes: MAX_GENERATED_BYTES }
        } else {
            Budget::EXPANDED
        };
        let context = Context { metadata: &self.metadata, resources: &self.options.resources };
        match placeholder::expand_within(text, &context, budget) {
            Ok(e) => {
                self.produced += e.value.len();
                Some(e)
            }
            Err(e @ placeholder::PlaceholderError::TooLarge { limit: "MAX_GENERATED_BYTES", .. }) => {
                self.spent = true;
                self.problem(path, e.to_string());
                None
            }
            // Declared but not provisioned: already reported once at `resources.<name>`.
            Err(placeholder::PlaceholderError::UnknownResource { name, .. })
                if self.workload.resources.contains_key(&name) =>
            {
                None
            }
            Err(e) => {
                self.problem(path, e.to_string());
                None
            }
        }
    }

    /// `text` at `path` as it lands in the output: expanded where placeholders can appear
    /// ([`crate::spec::sites`]), else as written; counted against the workload's budget
    /// either way.
    fn resolve(&mut self, text: &str, path: &FieldPath) -> Option<Expanded> {
        if self.sites.contains(path) {
            self.expand(text, path)
        } else if self.spend(text.len(), path) {
            Some(Expanded { value: text.to_owned(), secret: false })
        } else {
            None
        }
    }

    fn run(&mut self) -> FlyConfig {
        let workload = self.workload;
        let app = super::app_name(&self.options.app_prefix, workload.name());
        if let Err(error) = super::check_app_name(&app) {
            self.problem(
                &path_of(&["metadata", "name"]),
                format!("{error} (app prefix `{}`)", self.options.app_prefix),
            );
        }
        for name in workload.resources.keys() {
            if !self.options.preflight && !self.options.resources.contains_key(name) {
                let uid = workload.resources[name].uid(workload.name(), name);
                self.problem(
                    &path_of(&["resources", name]),
                    format!("no provisioner for resource `{uid}`: it has no outputs for the workload to use"),
                );
            }
        }
        let mut config = FlyConfig { app, ..FlyConfig::default() };
        // When no container can be chosen (a problem already), the first stands in so that
        // every other problem is still reported.
        let Some(primary) = self.image_container().or_else(|| workload.containers.keys().next().cloned()) else {
            return config;
        };
        let Some((container_name, container)) = workload.containers.get_key_value(&primary) else { return config };
        let base = path_of(&["containers", container_name]);

        config.build = self.build(container, &base);
        let multi = workload.containers.len() > 1;
        if multi {
            self.machine(container_name, &mut config);
        } else {
            if container.command.is_some() || container.args.is_some() {
                self.check_arguments(container, &base);
                config.experimental =
                    Some(Experimental { entrypoint: container.command.clone(), cmd: container.args.clone() });
            }
            config.env = self.variables(container_name, container, &base, "[env] of fly.toml");
            config.files = self.files(container, &base, &config.app);
        }
        config.mounts = self.volumes(container, &base);
        let (http_service, services) = self.services();
        config.http_service = http_service;
        config.services = services;
        if !multi {
            // Several containers: every probe is a healthcheck of its container instead.
            self.probes(container, &base, &mut config);
        }
        let all: Vec<&Container> = workload.containers.values().collect();
        let resources = if multi { FieldPath::root().key("containers") } else { base.key("resources") };
        config.vm = self.vm(&all, &resources);

        let a = self.annotations.clone();
        if let Some(replaced) = &a.primary_region_replaced {
            self.warn(&self.annotations.path("primary-region"), replaced.to_string());
        }
        config.primary_region = a.primary_region.or_else(|| self.options.primary_region.clone());
        config.kill_signal = a.kill_signal;
        config.kill_timeout = a.kill_timeout;
        config.swap_size_mb = a.swap_size_mb;
        self.deploy(
            a.deploy_strategy.as_ref(),
            a.release_command.as_ref(),
            a.release_command_timeout.as_ref(),
            &mut config,
        );
        match (a.restart_policy, a.restart_retries) {
            (Some(policy), retries) => {
                if retries.is_some() && policy != "on-failure" {
                    self.problem(
                        &self.annotations.path("restart-retries"),
                        "restart-retries only applies with restart-policy `on-failure`",
                    );
                }
                config.restart = vec![Restart { policy, retries }];
            }
            (None, Some(_)) => {
                self.problem(
                    &self.annotations.path("restart-retries"),
                    "restart-retries needs restart-policy `on-failure`",
                );
            }
            (None, None) => {}
        }
        config
    }

    fn build(&mut self, container: &Container, base: &FieldPath) -> Option<Build> {
        if container.image != "." {
            if container.image.chars().any(|c| c.is_whitespace() || c.is_control()) {
                self.problem(
                    &base.key("image"),
                    format!(
                        "image `{}` is not an image reference (it contains whitespace)",
                        container.image.escape_debug()
                    ),
                );
                return None;
            }
            return Some(Build { image: Some(container.image.clone()), ..Build::default() });
        }
        match &self.options.built {
            Some(super::Built::Image(reference)) => {
                return Some(Build { image: Some(reference.clone()), ..Build::default() });
            }
            Some(super::Built::Dockerfile(dockerfile, ignore)) => {
                return Some(Build {
                    image: None,
                    dockerfile: Some(relative_path(&self.options.out_dir, dockerfile)),
                    ignorefile: Some(relative_path(&self.options.out_dir, ignore)),
                });
            }
            None => {}
        }
        let dockerfile = self.options.score_dir.join("Dockerfile");
        if self.files.exists(&dockerfile) {
            let ignore = self.options.score_dir.join(".dockerignore");
            return Some(Build {
                image: None,
                dockerfile: Some(relative_path(&self.options.out_dir, &dockerfile)),
                ignorefile: self.files.exists(&ignore).then(|| relative_path(&self.options.out_dir, &ignore)),
            });
        }
        self.problem(
            &base.key("image"),
            format!(
                "image `.` means \"built from this project\": run `cargo score-fly build --push` first, pass --image <reference>, or add a Dockerfile in {}",
                display_dir(&self.options.score_dir)
            ),
        );
        None
    }

    /// `command` and `args` become a program's arguments, which cannot hold NUL.
    fn check_arguments(&mut self, container: &Container, base: &FieldPath) {
        for (field, list) in [("command", &container.command), ("args", &container.args)] {
            for (i, arg) in list.iter().flatten().enumerate() {
                if arg.contains('\0') {
                    self.problem(
                        &base.key(field).index(i),
                        format!("{field}[{i}] holds a NUL character, which no program argument can carry; remove it"),
                    );
                }
            }
        }
    }

    /// Variable `name` = `value` (at `path`) expanded, or `None` after a problem: a NUL in
    /// the name or in the expanded value. The one resolution of a variable, for Fly
    /// ([`Converter::variables`]) and for a local run ([`resolve_container`]).
    fn variable(&mut self, name: &str, value: &str, path: &FieldPath) -> Option<Expanded> {
        if name.contains('\0') {
            self.problem(
                path,
                format!(
                    "variable name `{}` holds a NUL character, which no environment variable can carry; remove it",
                    name.escape_debug()
                ),
            );
            return None;
        }
        let expanded = self.resolve(value, path)?;
        if expanded.value.contains('\0') {
            // Never quoted: the value may come from a secret output.
            self.problem(
                path,
                format!(
                    "the value of `{name}` holds a NUL character{}, which no environment variable can carry; remove it",
                    if expanded.value == value { "" } else { " once its placeholders are expanded" }
                ),
            );
            return None;
        }
        Some(expanded)
    }

    /// The plain variables of `container` (landing in `place`); those that read a secret
    /// output become app secrets, which are per app: two containers that would need
    /// different values under one name are warned about, and the first one's value is kept.
    fn variables(
        &mut self,
        container_name: &str,
        container: &Container,
        base: &FieldPath,
        place: &str,
    ) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for (name, value) in &container.variables {
            let path = base.key("variables").key(name);
            if name.starts_with("FLY_") {
                self.problem(&path, format!("`{name}`: Fly reserves variable names starting with FLY_; rename it"));
                continue;
            }
            let Some(expanded) = self.variable(name, value, &path) else { continue };
            if expanded.secret {
                match self.variable_secrets.get(name) {
                    Some(owner) if self.secrets.get(name).is_some_and(|s| s.expose() != expanded.value) => {
                        let owner = owner.clone();
                        self.warn(
                            &path,
                            format!(
                                "containers `{owner}` and `{container_name}` both set `{name}` from a secret output, with different values; app secrets are per app, so both get the value of `{owner}`: rename the variable in one of them"
                            ),
                        );
                    }
                    Some(_) => {}
                    None => {
                        self.variable_secrets.insert(name.clone(), container_name.to_owned());
                        self.secrets.insert(name.clone(), Secret::new(expanded.value));
                    }
                }
            } else {
                if self.sites.contains(&path) {
                    self.warn_plain_secrets(value, &path, &format!("`{name}` is written to {place}"));
                }
                env.insert(name.clone(), expanded.value);
            }
        }
        env
    }

    /// Warns, once per output, when `text` (expanded into plain text: `what`) reads a
    /// **plain** output whose name looks secret ([`crate::secret::looks_secret`]): a password
    /// given as a value would sit in `fly.toml` for anyone who reads it. Names the resource,
    /// the output and where it goes, never the value.
    fn warn_plain_secrets(&mut self, text: &str, path: &FieldPath, what: &str) {
        let mut seen = std::collections::BTreeSet::new();
        for reference in placeholder::resource_references(text) {
            let [name, key, rest @ ..] = reference.as_slice() else { continue };
            let Some(outputs) = self.options.resources.get(name) else { continue };
            // Secret outputs are looked up first: such a read made the value a secret.
            if outputs.secrets.contains_key(key) || !outputs.values.contains_key(key) {
                continue;
            }
            if !std::iter::once(key).chain(rest).any(|s| crate::secret::looks_secret(s)) {
                continue;
            }
            let output = std::iter::once(key).chain(rest).map(String::as_str).collect::<Vec<_>>().join(".");
            if seen.insert(output.clone()) {
                self.warn(
                    path,
                    format!(
                        "{what} in plain text, and it reads `{output}` of resource `{name}` (`{}`), a plain output whose name looks secret; if it is a secret, have the provisioner return it as a secret output (a static provisioner: `provisioners add --static-secrets-file`) and it becomes an app secret instead",
                        outputs.uid
                    ),
                );
            }
        }
    }

    /// Adds the secret of a file; its name must not be taken by a variable or another file.
    fn add_file_secret(&mut self, name: String, value: String, target: &str, path: &FieldPath) {
        if self.workload.containers.values().any(|c| c.variables.contains_key(&name)) {
            self.problem(
                path,
                format!(
                    "the secret `{name}` that carries file `{target}` has the name of a variable; rename the variable"
                ),
            );
        } else if let Some(other) = self.file_secrets.insert(name.clone(), target.to_owned()) {
            self.problem(
                path,
                format!(
                    "files `{other}` and `{target}` would both be carried by the secret `{name}`; rename one of them"
                ),
            );
        }
        self.secrets.insert(name, Secret::new(value));
    }

    /// Whether file target `target` (at `path`) can be written: an absolute path without NUL.
    fn file_target(&mut self, target: &str, path: &FieldPath) -> bool {
        if !target.starts_with('/') {
            self.problem(path, format!("file target `{target}` must be an absolute path in the machine"));
            return false;
        }
        if target.contains('\0') {
            self.problem(
                path,
                format!("file target `{}` holds a NUL character, which no path can carry", target.escape_debug()),
            );
            return false;
        }
        true
    }

    /// The content of file `target` (at `path`), resolved: inline `content` and `source` files
    /// expanded where placeholders can appear ([`crate::spec::sites`]; not with `noExpand`),
    /// `binaryContent` decoded, a `source` file that is not expanded (or not text) as its
    /// bytes. `None` after a problem. The one resolution of a file, for Fly
    /// ([`Converter::files`]) and for a local run ([`resolve_container`]).
    fn file_content(&mut self, target: &str, file: &crate::spec::File, path: &FieldPath) -> Option<Content> {
        match file.content() {
            FileContent::Inline(text) => {
                let content = path.key("content");
                let expanded = self.resolve(text, &content)?;
                Some(Content::Text { expanded, written: text.to_owned(), site: self.sites.contains(&content) })
            }
            FileContent::Binary(encoded) => match base64::engine::general_purpose::STANDARD.decode(encoded) {
                Ok(bytes) => self.spend(bytes.len(), &path.key("binaryContent")).then_some(Content::Bytes(bytes)),
                Err(e) => {
                    self.problem(
                        &path.key("binaryContent"),
                        format!("binaryContent of `{target}` is not valid standard base64: {e}"),
                    );
                    None
                }
            },
            FileContent::Source(source) => {
                let source_path = self.options.score_dir.join(source);
                let bytes = match super::read_source(self.files, &self.options.sources, &self.options.score_dir, source)
                {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        self.problem(
                            &path.key("source"),
                            format!("cannot read source file {} for `{target}`: {}", e.path.display(), e.reason),
                        );
                        return None;
                    }
                };
                match (self.sites.contains(&path.key("source")), String::from_utf8(bytes)) {
                    (true, Ok(text)) => {
                        let expanded = self.expand(&text, &path.key("source"))?;
                        if expanded.secret || expanded.value != text {
                            Some(Content::Text { expanded, written: text, site: true })
                        } else {
                            Some(Content::Source { path: source_path, bytes: text.into_bytes() })
                        }
                    }
                    // Not expanded, or not text: byte-exact.
                    (_, Ok(text)) => Some(Content::Source { path: source_path, bytes: text.into_bytes() }),
                    (_, Err(e)) => Some(Content::Source { path: source_path, bytes: e.into_bytes() }),
                }
            }
        }
    }

    fn files(&mut self, container: &Container, base: &FieldPath, app: &str) -> Vec<FileEntry> {
        let mut entries = Vec::new();
        for (target, file) in &container.files {
            let path = base.key("files").key(target);
            if !self.file_target(target, &path) {
                continue;
            }
            match file.mode.as_deref() {
                None | Some("0644" | "644") => {}
                Some(mode) => {
                    self.problem(
                        &path.key("mode"),
                        format!(
                            "file `{target}` asks for mode {mode}, but fly.toml [[files]] cannot set a mode (files arrive as 0644); remove `mode` or set it to \"0644\""
                        ),
                    );
                }
            }
            let entry = |local_path: Option<String>, raw_value: Option<String>, secret_name: Option<String>| {
                FileEntry { guest_path: target.clone(), local_path, raw_value, secret_name }
            };
            match self.file_content(target, file, &path) {
                None => {}
                Some(Content::Text { expanded, written, site }) => {
                    if site && !expanded.secret {
                        let what = format!("file `{target}` is written to [[files]] of fly.toml");
                        let key = if matches!(file.content(), FileContent::Source(_)) { "source" } else { "content" };
                        self.warn_plain_secrets(&written, &path.key(key), &what);
                    }
                    entries.push(self.text_file(target, expanded, &path, app, &entry));
                }
                Some(Content::Bytes(bytes)) => {
                    let local = self.generate(app, target, bytes);
                    entries.push(entry(Some(local), None, None));
                }
                // Not expanded, or not text: flyctl reads the file itself, byte-exact.
                Some(Content::Source { path: source_path, .. }) => {
                    entries.push(entry(Some(relative_path(&self.options.out_dir, &source_path)), None, None));
                }
            }
        }
        entries
    }

    /// A text file: plain → `raw_value`; read a secret → `secret_name` with base64 content.
    fn text_file(
        &mut self,
        target: &str,
        expanded: Expanded,
        path: &FieldPath,
        app: &str,
        entry: &dyn Fn(Option<String>, Option<String>, Option<String>) -> FileEntry,
    ) -> FileEntry {
        if expanded.secret {
            let name = file_secret_name(target);
            let encoded = base64::engine::general_purpose::STANDARD.encode(expanded.value.as_bytes());
            self.add_file_secret(name.clone(), encoded, target, path);
            entry(None, None, Some(name))
        } else if expanded.value.is_empty() {
            // flyctl drops an empty raw_value and the file would arrive without content.
            let local = self.generate(app, target, Vec::new());
            entry(Some(local), None, None)
        } else {
            entry(None, Some(expanded.value), None)
        }
    }

    fn generate(&mut self, app: &str, target: &str, bytes: Vec<u8>) -> String {
        let path = Path::new(".score-fly").join("files").join(app).join(escape_file_name(target));
        let local = path.to_string_lossy().into_owned();
        self.generated.push(GeneratedFile { path, bytes });
        local
    }

    fn volumes(&mut self, container: &Container, base: &FieldPath) -> Vec<Mount> {
        if container.volumes.len() > 1 {
            self.problem(
                &base.key("volumes"),
                format!(
                    "Fly mounts at most one volume per machine, this container mounts {}; keep one volume",
                    container.volumes.len()
                ),
            );
        }
        let mut mounts = Vec::new();
        for (target, volume) in &container.volumes {
            let path = base.key("volumes").key(target);
            if target == "/" || !target.starts_with('/') {
                self.problem(&path, format!("volume target `{target}` must be an absolute path other than `/`"));
            }
            if volume.path.as_deref().is_some_and(|p| p != "/" && !p.is_empty()) {
                self.problem(
                    &path.key("path"),
                    format!(
                        "Fly cannot mount a sub path of a volume (`{}`); remove `path` to mount the whole volume",
                        volume.path.as_deref().unwrap_or_default()
                    ),
                );
            }
            if volume.read_only == Some(true) {
                self.problem(&path.key("readOnly"), "Fly volumes cannot be mounted read-only; remove `readOnly: true`");
            }
            let Some(source) = self.volume_source(&volume.source, &path.key("source")) else { continue };
            if source.is_empty() || !source.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                self.problem(
                    &path.key("source"),
                    format!(
                        "`{source}` is not a valid Fly volume name: use letters, digits and underscores (e.g. `{}`)",
                        source.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                    ),
                );
                continue;
            }
            mounts.push(Mount { source, destination: target.clone() });
        }
        mounts
    }

    /// `${resources.<name>}` alone means "that volume resource": use its `source` output.
    fn volume_source(&mut self, source: &str, path: &FieldPath) -> Option<String> {
        if let Ok((pieces, _)) = placeholder::parse(source)
            && let [placeholder::Piece::Reference { segments, .. }] = pieces.as_slice()
            && let [root, name] = segments.as_slice()
            && root == "resources"
        {
            let outputs = self.options.resources.get(name)?;
            return if let Some(s) = outputs.values.get("source").and_then(|v| v.as_str()) {
                Some(s.to_owned())
            } else {
                self.problem(
                    path,
                    format!("resource `{name}` ({}) gives no `source` output to mount as a volume", outputs.uid),
                );
                None
            };
        }
        let expanded = self.resolve(source, path)?;
        if expanded.secret {
            self.problem(path, "a volume source must not come from a secret output");
            return None;
        }
        Some(expanded.value)
    }

    fn services(&mut self) -> (Option<HttpService>, Vec<Service>) {
        let Some(service) = &self.workload.service else { return (None, Vec::new()) };
        // Group ports by (protocol, target port): one Fly service each.
        let mut groups: Vec<Group> = Vec::new();
        for (name, port) in &service.ports {
            let options = self.annotations.ports.get(name).cloned().unwrap_or_default();
            let key = (port.protocol(), port.target());
            match groups.iter_mut().find(|g| g.key == key) {
                Some(g) => g.ports.push((name.clone(), *port, options)),
                None => groups.push(Group { key, ports: vec![(name.clone(), *port, options)] }),
            }
        }
        self.check_public_ports(service.ports.iter());

        let http_index = match self.annotations.http_service.clone() {
            HttpServiceChoice::Off => None,
            HttpServiceChoice::Port(name) => {
                let index = groups.iter().position(|g| g.ports.iter().any(|(n, _, _)| *n == name));
                if let Some(i) = index {
                    if groups[i].key.0 == Protocol::Udp {
                        self.problem(
                            &self.annotations.path("http-service"),
                            format!("port `{name}` is UDP; [http_service] serves HTTP over TCP"),
                        );
                        return (None, Vec::new());
                    }
                    for (n, p, _) in &groups[i].ports {
                        if p.port != 80 && p.port != 443 {
                            self.warn(
                                &path_of(&["service", "ports", n]),
                                format!("port {} is served by [http_service] on ports 80 and 443 instead", p.port),
                            );
                        }
                    }
                }
                index
            }
            HttpServiceChoice::Auto => {
                let candidates: Vec<usize> = (0..groups.len()).filter(|&i| groups[i].is_plain_http()).collect();
                if candidates.len() > 1 {
                    self.warn(
                        &path_of(&["service", "ports"]),
                        "several ports look like plain HTTP(S); all stay [[services]] (set the annotation `score-fly/http-service` to a port name to choose one for [http_service])",
                    );
                }
                // [http_service] takes public ports 80 and 443: only when no other service uses them.
                candidates
                    .first()
                    .copied()
                    .filter(|&i| candidates.len() == 1 && web_ports_used_elsewhere(&groups, i).is_none())
            }
        };
        if let (Some(i), HttpServiceChoice::Port(_)) = (http_index, &self.annotations.http_service)
            && let Some((name, port)) = web_ports_used_elsewhere(&groups, i)
        {
            self.problem(
                    &path_of(&["service", "ports", &name, "port"]),
                    format!(
                        "[http_service] serves public ports 80 and 443, but port `{name}` also publishes {port}; choose another public port or set `score-fly/http-service: off`"
                    ),
                );
        }

        let mut http_service = None;
        let mut services = Vec::new();
        for (i, group) in groups.iter().enumerate() {
            let shared = self.shared_options(group);
            if Some(i) == http_index {
                for (name, _, options) in &group.ports {
                    if let Some(handlers) = &options.handlers
                        && handlers.iter().any(|h| h != "http" && h != "tls")
                    {
                        self.problem(
                            &self.annotations.path(&format!("service-{name}-handlers")),
                            "[http_service] only uses the `tls` and `http` handlers",
                        );
                    }
                }
                let force_https = self.agreed(group, "force-https", |o| o.force_https).unwrap_or_else(|| {
                    !group.ports.iter().any(|(_, p, _)| p.port == 80)
                        && group.ports.iter().any(|(_, p, _)| p.port == 443)
                });
                http_service = Some(HttpService {
                    internal_port: group.key.1,
                    force_https,
                    auto_stop_machines: shared.auto_stop.clone(),
                    auto_start_machines: shared.auto_start,
                    min_machines_running: shared.min_running.unwrap_or(0),
                    concurrency: shared.concurrency.clone(),
                    tls_options: self.agreed(group, "tls-options", |o| o.tls_options.clone()),
                    http_options: self.agreed(group, "http-options", |o| o.http_options.clone()),
                    checks: Vec::new(),
                });
                continue;
            }
            let udp = group.key.0 == Protocol::Udp;
            let mut ports = Vec::new();
            for (name, port, options) in &group.ports {
                let handlers = options.handlers.clone().unwrap_or_default();
                if udp
                    && (!handlers.is_empty()
                        || options.force_https.is_some()
                        || options.http_options.is_some()
                        || options.tls_options.is_some())
                {
                    self.problem(
                        &path_of(&["service", "ports", name]),
                        format!("port `{name}` is UDP: Fly's proxy handlers, force-https, http-options and tls-options only apply to TCP"),
                    );
                }
                if options.force_https == Some(true) && !handlers.iter().any(|h| h == "http") {
                    self.problem(
                        &self.annotations.path(&format!("service-{name}-force-https")),
                        format!("force-https needs the `http` handler on port `{name}` (set service-{name}-handlers)"),
                    );
                }
                ports.push(ServicePortEntry {
                    port: port.port,
                    handlers,
                    force_https: options.force_https,
                    tls_options: options.tls_options.clone(),
                    http_options: options.http_options.clone(),
                });
            }
            ports.sort_by_key(|p| p.port);
            services.push(Service {
                protocol: if udp { "udp" } else { "tcp" }.to_owned(),
                internal_port: group.key.1,
                auto_stop_machines: shared.auto_stop.clone(),
                auto_start_machines: shared.auto_start,
                min_machines_running: shared.min_running.unwrap_or(0),
                concurrency: shared.concurrency.clone(),
                ports,
                http_checks: Vec::new(),
            });
        }
        (http_service, services)
    }

    /// Two ports of the same protocol cannot share a public port number.
    fn check_public_ports<'p>(&mut self, ports: impl Iterator<Item = (&'p String, &'p ServicePort)>) {
        let mut seen: BTreeMap<(Protocol, u16), &str> = BTreeMap::new();
        for (name, port) in ports {
            if let Some(other) = seen.insert((port.protocol(), port.port), name) {
                self.problem(
                    &path_of(&["service", "ports", name, "port"]),
                    format!(
                        "ports `{other}` and `{name}` both publish port {}; Fly needs distinct public ports",
                        port.port
                    ),
                );
            }
        }
    }

    /// A value set on several ports of one Fly service must agree.
    fn agreed<T: Clone + PartialEq>(
        &mut self,
        group: &Group,
        option: &str,
        get: impl Fn(&PortOptions) -> Option<T>,
    ) -> Option<T> {
        let mut value: Option<(String, T)> = None;
        for (name, _, options) in &group.ports {
            let Some(v) = get(options) else { continue };
            match &value {
                Some((first, existing)) if *existing != v => {
                    self.problem(
                        &self.annotations.path(&format!("service-{name}-{option}")),
                        format!(
                            "ports `{first}` and `{name}` share target port {} (one Fly service) but set different `{option}`",
                            group.key.1
                        ),
                    );
                }
                Some(_) => {}
                None => value = Some((name.clone(), v)),
            }
        }
        value.map(|(_, v)| v)
    }

    fn shared_options(&mut self, group: &Group) -> PortOptions {
        let auto_stop = self.agreed(group, "auto-stop", |o| o.auto_stop.clone());
        let auto_start = self.agreed(group, "auto-start", |o| o.auto_start);
        PortOptions {
            // score-flyio turns auto start on whenever auto stop is set.
            auto_start: auto_start.or(auto_stop.as_ref().map(|_| true)),
            auto_stop,
            min_running: self.agreed(group, "min-running", |o| o.min_running),
            concurrency: self.agreed(group, "concurrency", |o| o.concurrency.clone()),
            ..PortOptions::default()
        }
    }

    fn timing(&self) -> CheckTiming {
        CheckTiming {
            interval: self.annotations.check_interval.clone().unwrap_or_else(|| DEFAULT_INTERVAL.to_owned()),
            timeout: self.annotations.check_timeout.clone().unwrap_or_else(|| DEFAULT_TIMEOUT.to_owned()),
            grace_period: self.annotations.check_grace_period.clone().unwrap_or_else(|| DEFAULT_GRACE.to_owned()),
        }
    }

    /// The request of an HTTP probe, as service and machine checks send it.
    fn http_probe(&mut self, probe: &HttpProbe, path: &FieldPath) -> Option<HttpCheckRequest> {
        if !probe.path.starts_with('/') {
            self.problem(&path.key("path"), format!("probe path `{}` must start with `/`", probe.path));
            return None;
        }
        if let Some(c) = probe.path.chars().find(|c| c.is_control() || c.is_whitespace()) {
            self.problem(
                &path.key("path"),
                format!(
                    "probe path `{}` holds {}, which an HTTP request line cannot carry; percent-encode it (e.g. %20 for a space)",
                    probe.path.escape_debug(),
                    if c.is_whitespace() && !c.is_control() { "a space" } else { "a control character (CR, LF, NUL...)" }
                ),
            );
            return None;
        }
        if let Some(host) = &probe.host
            && host.chars().any(|c| c.is_control() || c.is_whitespace() || c == '/')
        {
            self.problem(
                &path.key("host"),
                format!(
                    "probe host `{}` must be a host name, without spaces, slashes or control characters",
                    host.escape_debug()
                ),
            );
            return None;
        }
        let mut headers = BTreeMap::new();
        let mut valid = true;
        for (i, header) in probe.http_headers.iter().enumerate() {
            if let Err(error) = super::annotations::check_header(&header.name, &header.value) {
                let field =
                    if matches!(error, super::annotations::HeaderError::Name { .. }) { "name" } else { "value" };
                self.problem(&path.key("httpHeaders").index(i).key(field), error.to_string());
                valid = false;
                continue;
            }
            if let Some(previous) = headers.insert(header.name.clone(), header.value.clone())
                && previous != header.value
            {
                self.problem(
                    &path.key("httpHeaders").index(i),
                    format!("header `{}` is given twice with different values", header.name),
                );
            }
        }
        if !valid {
            return None;
        }
        if let Some(host) = &probe.host {
            headers.entry("Host".to_owned()).or_insert_with(|| host.clone());
        }
        let https = probe.scheme == Some(Scheme::Https);
        Some(HttpCheckRequest {
            method: "get".to_owned(),
            path: probe.path.clone(),
            protocol: if https { "https" } else { "http" }.to_owned(),
            tls_skip_verify: https.then_some(true),
            tls_server_name: if https { probe.host.clone() } else { None },
            headers,
        })
    }

    fn probes(&mut self, container: &Container, base: &FieldPath, config: &mut FlyConfig) {
        let probes: [(&str, &Option<Probe>); 2] =
            [("livenessProbe", &container.liveness_probe), ("readinessProbe", &container.readiness_probe)];
        for (field, probe) in probes {
            let Some(probe) = probe else { continue };
            let path = base.key(field);
            if probe.exec.is_some() {
                self.warn(
                    &path.key("exec"),
                    if probe.http_get.is_some() {
                        "Fly checks cannot run commands; the exec probe is skipped and the httpGet probe is used"
                    } else {
                        "Fly checks cannot run commands; this exec probe is skipped (add an httpGet probe to get a Fly check)"
                    },
                );
            }
            let Some(http) = &probe.http_get else { continue };
            let Some(request) = self.http_probe(http, &path.key("httpGet")) else { continue };
            let timing = self.timing();
            if field == "readinessProbe" {
                let check = ServiceHttpCheck { timing: timing.clone(), request: request.clone() };
                if let Some(h) = config.http_service.as_mut().filter(|h| h.internal_port == http.port) {
                    h.checks.push(check);
                    continue;
                }
                if let Some(s) =
                    config.services.iter_mut().find(|s| s.protocol == "tcp" && s.internal_port == http.port)
                {
                    s.http_checks.push(check);
                    continue;
                }
            }
            let name = if field == "readinessProbe" { "readiness_probe" } else { "liveness_probe" };
            config
                .checks
                .insert(name.to_owned(), MachineCheck { kind: "http".to_owned(), port: http.port, timing, request });
        }
    }

    /// The one `[[vm]]` of the machine: each container's larger of requests and limits,
    /// summed over the containers (they share the machine).
    fn vm(&mut self, containers: &[&Container], path: &FieldPath) -> Vec<Vm> {
        let mut cpu: Option<u64> = None;
        let mut memory: Option<u128> = None;
        for container in containers {
            let resources = container.resources.as_ref();
            let quantities = resources.into_iter().flat_map(|r| [r.requests.as_ref(), r.limits.as_ref()]).flatten();
            let mut own_cpu: Option<u64> = None;
            let mut own_memory: Option<u128> = None;
            for q in quantities {
                if let Some(c) = q.cpu.as_deref().and_then(quantity::parse_cpu_millis) {
                    own_cpu = Some(own_cpu.map_or(c, |x| x.max(c)));
                }
                if let Some(m) = q.memory.as_deref().and_then(quantity::parse_memory_bytes) {
                    own_memory = Some(own_memory.map_or(m, |x| x.max(m)));
                }
            }
            if let Some(c) = own_cpu {
                cpu = Some(cpu.map_or(c, |x| x.saturating_add(c)));
            }
            if let Some(m) = own_memory {
                memory = Some(memory.map_or(m, |x| x.saturating_add(m)));
            }
        }
        let kind = self.annotations.cpu_kind;
        if cpu.is_none() && memory.is_none() && kind.is_none() {
            return Vec::new();
        }
        match vm::fit(cpu, memory, kind.unwrap_or(CpuKind::Shared)) {
            Ok(sizing) => {
                for adjustment in &sizing.adjustments {
                    self.warn(path, format!("{adjustment}; the machine is {}", sizing.size));
                }
                vec![Vm { size: sizing.size.preset(), memory: format!("{}mb", sizing.size.memory_mb) }]
            }
            Err(e) => {
                self.problem(path, format!("no Fly machine fits: {e}"));
                Vec::new()
            }
        }
    }

    fn deploy(
        &mut self,
        strategy: Option<&String>,
        release_command: Option<&String>,
        release_command_timeout: Option<&String>,
        config: &mut FlyConfig,
    ) {
        if let Some(strategy) = strategy {
            let has_checks = self.container_checks
                || !config.checks.is_empty()
                || config.http_service.as_ref().is_some_and(|h| !h.checks.is_empty())
                || config.services.iter().any(|s| !s.http_checks.is_empty());
            let path = self.annotations.path("deploy-strategy");
            match strategy.as_str() {
                "canary" if !config.mounts.is_empty() => {
                    self.problem(&path, "Fly cannot deploy with the canary strategy when the app mounts a volume");
                }
                "bluegreen" if !config.mounts.is_empty() => {
                    self.problem(&path, "Fly cannot deploy bluegreen when the app mounts a volume");
                }
                "bluegreen" if !has_checks => {
                    self.problem(
                        &path,
                        "bluegreen deploys need a health check: add an httpGet readinessProbe or livenessProbe",
                    );
                }
                _ => {}
            }
        }
        if strategy.is_some() || release_command.is_some() || release_command_timeout.is_some() {
            config.deploy = Some(Deploy {
                strategy: strategy.cloned(),
                release_command: release_command.cloned(),
                release_command_timeout: release_command_timeout.cloned(),
            });
        }
    }
}

struct Group {
    key: (Protocol, u16),
    ports: Vec<(String, ServicePort, PortOptions)>,
}

impl Group {
    /// TCP ports that are exactly Fly's HTTP shape: 80 with `http`, 443 with `tls,http`.
    fn is_plain_http(&self) -> bool {
        self.key.0 == Protocol::Tcp
            && self.ports.iter().all(|(_, port, options)| {
                let mut handlers = options.handlers.clone().unwrap_or_default();
                handlers.sort();
                match port.port {
                    80 => handlers == ["http"],
                    443 => handlers == ["http", "tls"],
                    _ => false,
                }
            })
    }
}

/// A TCP port outside group `i` that publishes 80 or 443 (which `[http_service]` takes).
fn web_ports_used_elsewhere(groups: &[Group], i: usize) -> Option<(String, u16)> {
    groups.iter().enumerate().filter(|(j, g)| *j != i && g.key.0 == Protocol::Tcp).find_map(|(_, g)| {
        g.ports.iter().find(|(_, p, _)| p.port == 80 || p.port == 443).map(|(n, p, _)| (n.clone(), p.port))
    })
}

fn display_dir(dir: &Path) -> String {
    if dir.as_os_str().is_empty() { ".".to_owned() } else { dir.display().to_string() }
}

/// `SCORE_FILE_` + the target path in upper case with every other character as `_`.
fn file_secret_name(target: &str) -> String {
    let tail: String = target
        .trim_start_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect();
    format!("SCORE_FILE_{tail}")
}

/// A file name for a target path: keeps `[A-Za-z0-9._-]`, escapes the rest as `%XX`.
fn escape_file_name(target: &str) -> String {
    crate::encoding::percent_encode(target, b"._-")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems of converting `doc` (path: message), none when it converts.
    fn problems(doc: &str) -> Vec<String> {
        let workload = crate::spec::load_str("score.yaml", doc).expect("a valid Score file").workload;
        match convert(&workload, &ConvertOptions::new("demo-"), &super::super::NoFiles) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
        }
    }

    /// Files of a test: `source` files read from memory.
    struct MemFiles(BTreeMap<std::path::PathBuf, Vec<u8>>);

    impl FileAccess for MemFiles {
        fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
            self.0.get(path).cloned().ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
        fn exists(&self, path: &Path) -> bool {
            self.0.contains_key(path)
        }
    }

    /// A container resolved for a local run gets what the conversion gives Fly: the same
    /// expansion, secrets marked, `noExpand` sources byte-exact, binary content decoded.
    #[test]
    fn a_container_resolves_as_the_conversion_resolves_it() {
        let doc = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: .\n    variables:\n      URL: http://${resources.db.host}:${resources.db.port}\n      PASS: ${resources.db.password}\n      NAME: ${metadata.name}\n    files:\n      /etc/a.conf: {content: \"host=${resources.db.host}\", mode: \"0600\"}\n      /etc/b.bin: {binaryContent: \"AAEC\"}\n      /etc/c.txt: {source: c.txt}\n      /etc/d.txt: {source: c.txt, noExpand: true}\n      /etc/e.txt: {content: \"pw=${resources.db.password}\"}\nresources:\n  db:\n    type: postgres\n";
        let workload = crate::spec::load_str("score.yaml", doc).expect("valid").workload;
        let mut options = ConvertOptions::new("demo-");
        options.score_dir = std::path::PathBuf::from("/p");
        options.sources.root = Some(std::path::PathBuf::from("/p"));
        let files = MemFiles([(std::path::PathBuf::from("/p/c.txt"), b"db ${resources.db.host}\n".to_vec())].into());
        let e = resolve_container(&workload, "main", &options, &files).unwrap_err();
        assert!(e.problems.iter().any(|p| p.message.contains("no provisioner for resource `postgres.default#web.db`")));
        options.resources.insert(
            "db".into(),
            crate::placeholder::ResourceOutputs {
                uid: "postgres.default#web.db".into(),
                values: serde_json::json!({"host": "localhost", "port": 5433}).as_object().cloned().unwrap(),
                secrets: serde_json::json!({"password": "s3cret"}).as_object().cloned().unwrap(),
            },
        );
        let r = resolve_container(&workload, "main", &options, &files).expect("resolves");
        let var = |n: &str| (r.variables[n].value.as_str(), r.variables[n].secret);
        assert_eq!(var("URL"), ("http://localhost:5433", false));
        assert_eq!(var("PASS"), ("s3cret", true));
        assert_eq!(var("NAME"), ("web", false));
        assert_eq!(
            r.files["/etc/a.conf"],
            ResolvedFile { bytes: b"host=localhost".to_vec(), secret: false, mode: Some("0600".into()) }
        );
        assert_eq!(r.files["/etc/b.bin"].bytes, [0, 1, 2]);
        assert_eq!(r.files["/etc/c.txt"].bytes, b"db localhost\n");
        assert_eq!(r.files["/etc/d.txt"].bytes, b"db ${resources.db.host}\n", "noExpand: as written");
        assert!(r.files["/etc/e.txt"].secret);
        // The conversion agrees on the same workload (its variables land in [env] and secrets).
        let fly = doc.replace(", mode: \"0600\"", "").replace("image: .", "image: nginx");
        let fly = crate::spec::load_str("score.yaml", &fly).expect("valid").workload;
        let c = convert(&fly, &options, &files).expect("converts");
        assert_eq!(c.config.env["URL"], "http://localhost:5433");
        assert_eq!(c.secrets["PASS"].expose(), "s3cret");
    }

    #[test]
    fn plain_outputs_that_look_secret_are_warned_about_where_they_land_in_plain_text() {
        let doc = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    variables:\n      DB_PASS: ${resources.db.password}\n      DB_URL: postgres://${resources.db.user}:${resources.db.password}@${resources.db.host}/${resources.db.keyspace}\n      API: ${resources.db.creds.apiKey}\n      SAFE: ${resources.db.token}\n    files:\n      /etc/app.conf: {content: \"pw=${resources.db.password}\"}\nresources:\n  db:\n    type: postgres\n";
        let workload = crate::spec::load_str("score.yaml", doc).expect("valid").workload;
        let mut options = ConvertOptions::new("demo-");
        let values = serde_json::json!({
            "user": "u", "host": "h", "keyspace": "k", "password": "hunter2-plain", "creds": {"apiKey": "k-123"}
        });
        options.resources.insert(
            "db".into(),
            crate::placeholder::ResourceOutputs {
                uid: "postgres.default#web.db".into(),
                values: values.as_object().cloned().unwrap(),
                secrets: serde_json::json!({"token": "t0k3n-secret"}).as_object().cloned().unwrap(),
            },
        );
        let c = convert(&workload, &options, &super::super::NoFiles).expect("converts");
        let warnings: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
        let expected = [
            "containers.main.variables.API: `API` is written to [env] of fly.toml in plain text, and it reads `creds.apiKey` of resource `db`",
            "containers.main.variables.DB_PASS: `DB_PASS` is written to [env] of fly.toml in plain text, and it reads `password` of resource `db` (`postgres.default#web.db`)",
            "containers.main.variables.DB_URL: `DB_URL` is written to [env] of fly.toml in plain text, and it reads `password` of resource `db`",
            "containers.main.files[\"/etc/app.conf\"].content: file `/etc/app.conf` is written to [[files]] of fly.toml in plain text, and it reads `password` of resource `db` (`postgres.default#web.db`), a plain output whose name looks secret",
        ];
        assert_eq!(warnings.len(), expected.len(), "{warnings:#?}");
        for (w, e) in warnings.iter().zip(expected) {
            assert!(w.starts_with(e), "{w}\nexpected: {e}");
            assert!(!w.contains("hunter2") && !w.contains("k-123"), "never the value: {w}");
        }
        // `SAFE` read a secret output: an app secret, no warning; `keyspace` is not a key.
        assert!(c.secrets.contains_key("SAFE"));
        assert_eq!(c.config.env["DB_PASS"], "hunter2-plain");
    }

    fn with_container(extra: &str) -> String {
        format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n{extra}")
    }

    #[test]
    fn probe_headers_that_would_inject_a_header_are_refused_where_they_are() {
        // (Header names are checked by the Score schema already: letters, digits, `_`, `-`.)
        let probe = |headers: &str| {
            with_container(&format!(
                "    livenessProbe:\n      httpGet:\n        path: /health\n        port: 8080\n        httpHeaders:\n{headers}"
            ))
        };
        assert!(problems(&probe("          - {name: X-Token, value: \"a b\\tc\"}\n")).is_empty());
        for (headers, expected) in [
            (
                "          - {name: X-A, value: \"1\\r\\nSet-Cookie: evil=1\"}\n",
                "containers.main.livenessProbe.httpGet.httpHeaders[0].value: the value of header `X-A` holds a carriage return (CR), which would end the header; remove it",
            ),
            (
                "          - {name: X-A, value: ok}\n          - {name: X-B, value: \"1\\nX-C: 2\"}\n",
                "containers.main.livenessProbe.httpGet.httpHeaders[1].value: the value of header `X-B` holds a line feed (LF)",
            ),
            (
                "          - {name: X-A, value: \"a\\0b\"}\n",
                "containers.main.livenessProbe.httpGet.httpHeaders[0].value: the value of header `X-A` holds a NUL character",
            ),
        ] {
            let found = problems(&probe(headers));
            assert!(found.len() == 1 && found[0].starts_with(expected), "{headers}: {found:?}");
            assert!(!found[0].contains("evil"), "values are never quoted: {found:?}");
        }
        let found = problems(&with_container(
            "    readinessProbe:\n      httpGet:\n        path: \"/x\\r\\nHost: evil\"\n        port: 8080\n",
        ));
        assert!(found[0].starts_with("containers.main.readinessProbe.httpGet.path: probe path"), "{found:?}");
        let found = problems(&with_container(
            "    readinessProbe:\n      httpGet:\n        host: \"a\\r\\nX: y\"\n        path: /x\n        port: 8080\n",
        ));
        assert!(found[0].starts_with("containers.main.readinessProbe.httpGet.host: probe host"), "{found:?}");
    }

    #[test]
    fn nul_in_commands_arguments_and_variables_is_refused_where_it_is() {
        let found = problems(&with_container("    command: [/bin/app, \"--a\\0b\"]\n    args: [x, y, \"\\0\"]\n"));
        assert_eq!(
            found,
            [
                "containers.main.command[1]: command[1] holds a NUL character, which no program argument can carry; remove it",
                "containers.main.args[2]: args[2] holds a NUL character, which no program argument can carry; remove it",
            ]
        );
        let found = problems(&with_container("    variables:\n      GOOD: fine\n      BAD: \"s3cr\\0t\"\n"));
        assert_eq!(
            found,
            [
                "containers.main.variables.BAD: the value of `BAD` holds a NUL character, which no environment variable can carry; remove it"
            ]
        );
        let found = problems(&with_container("    variables:\n      \"B\\0D\": x\n"));
        assert!(found[0].contains("variable name `B\\0D` holds a NUL character"), "{found:?}");
        let found = problems(&with_container("    files:\n      \"/etc/a\\0b\": {content: x}\n"));
        assert!(found[0].contains("holds a NUL character, which no path can carry"), "{found:?}");
    }

    #[test]
    fn names() {
        assert_eq!(file_secret_name("/etc/app/config.json"), "SCORE_FILE_ETC_APP_CONFIG_JSON");
        assert_eq!(escape_file_name("/etc/logo.png"), "%2Fetc%2Flogo.png");
    }
}
