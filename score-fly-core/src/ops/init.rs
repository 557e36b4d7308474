//! `init`: create a project (`.score-fly/` with its state, its app prefix, the builtin
//! provisioners) and a workload to start from: a cargo package's own Score file (or the same
//! workload as a `#[score_workload]` attribute), elsewhere a sample.
//!
//! The front end finds the package (cargo discovery) and renders the [`InitReport`]; the
//! texts, the prefix rules and the order of the steps live here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::Error;
pub use super::error::{InitError, PrefixError};
pub use super::event::InitEvent;
use super::event::{Event, Reporter};
use crate::fsutil;
use crate::outputs::{self, Output, Protected};
use crate::provision::definition;
use crate::state::State;
use crate::target::{MAX_APP_NAME, MAX_PREFIX};

/// The cargo package `init` runs in, as the front end found it.
#[derive(Debug, Clone)]
pub struct InitPackage {
    /// The package name.
    pub name: String,
    /// Where its Score file goes unless `--file` says otherwise.
    pub score_file: PathBuf,
    /// Its shipping binary already declares its workload with `#[score_workload]`.
    pub has_attribute: bool,
}

/// What `init` is asked to do.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The project folder (a package's workspace root; empty: the current folder).
    pub root: PathBuf,
    /// How long to wait for another run's lock.
    pub lock_timeout: Duration,
    /// The cargo package, when `init` runs in one.
    pub package: Option<InitPackage>,
    /// `--app-prefix`.
    pub app_prefix: Option<String>,
    /// The package's `app-prefix` setting.
    pub prefix_setting: Option<String>,
    /// `--file`: where the Score file goes.
    pub file: Option<PathBuf>,
    /// `--macro`: return the workload as an attribute instead of writing a Score file.
    pub print_macro: bool,
    /// `--no-sample`: no Score file.
    pub no_sample: bool,
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// The project's `.score-fly` folder.
    pub dir: PathBuf,
    /// The project's app prefix.
    pub app_prefix: String,
    /// The prefix `init` proposed (the package name and a random suffix), now the project's.
    pub proposed: Option<String>,
    /// What became of the workload.
    pub workload: WorkloadOutcome,
}

/// What `init` did about the workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadOutcome {
    /// Nothing (`--no-sample`).
    Skipped,
    /// The package's workload as a `#[score_workload]` attribute to paste (`--macro`).
    Attribute(String),
    /// The package declares its workload with `#[score_workload]`: no Score file written.
    DeclaredByAttribute,
    /// A Score file was written: the package's, or the sample (no package).
    Written {
        /// The file.
        path: PathBuf,
        /// It is the [`sample`].
        sample: bool,
    },
    /// Something is at the Score file's path: nothing written.
    Exists(PathBuf),
}

/// Runs `init`: checks the prefixes, locks the project, creates or updates its state, then
/// writes (or returns) the workload.
pub fn init(options: &InitOptions, reporter: &dyn Reporter) -> Result<InitReport, Error> {
    if let Some(prefix) = &options.app_prefix {
        check_app_prefix(prefix).map_err(InitError::Prefix)?;
    }
    if options.print_macro && options.package.is_none() {
        return Err(InitError::MacroOutsidePackage.into());
    }
    if let Some(prefix) = &options.prefix_setting {
        check_app_prefix(prefix).map_err(InitError::PrefixSetting)?;
    }
    let package = options.package.as_ref();
    let asked = options.app_prefix.clone().or_else(|| options.prefix_setting.clone());
    let project = super::project::lock(&options.root, options.lock_timeout, reporter)?;
    let dir = project.dir();
    let mut proposed = None;
    let app_prefix = if let Some(mut state) = project.load()? {
        project.ensure_dir()?;
        reporter.event(Event::Init(InitEvent::Found { dir: &dir }));
        let defs = definition::load_all(&dir)?;
        // A package's project that never chose a prefix gets one proposed, while nothing
        // exists under the empty one.
        let wanted = asked.or_else(|| {
            let unchosen = package.is_some()
                && state.app_prefix.is_empty()
                && state.made_under_prefix(|e| super::project::prefix_use(&defs, e)).is_empty();
            proposed = package.filter(|_| unchosen).map(|p| propose_prefix(&p.name));
            proposed.clone()
        });
        if let Some(prefix) = wanted.filter(|p| *p != state.app_prefix) {
            super::project::set_prefix(&mut state, &prefix, &defs, reporter)?;
            project.save(&state)?;
        }
        state.app_prefix
    } else {
        let prefix = match (asked, package) {
            (Some(prefix), _) => prefix,
            (None, Some(package)) => proposed.insert(propose_prefix(&package.name)).clone(),
            (None, None) => String::new(),
        };
        let state = State::new(prefix);
        project.save(&state)?;
        reporter.event(Event::Init(InitEvent::Created { dir: &dir, prefix: &state.app_prefix }));
        super::project::register_defaults(&project, reporter)?;
        state.app_prefix
    };
    let workload = match package {
        Some(package) if options.print_macro => WorkloadOutcome::Attribute(package_attribute(&package.name)),
        _ if options.no_sample => WorkloadOutcome::Skipped,
        Some(package) if package.has_attribute && options.file.is_none() => WorkloadOutcome::DeclaredByAttribute,
        Some(package) => {
            let text = package_score_file(&package.name);
            if crate::spec::load_str("score.yaml", &text).is_err() {
                let name = workload_name(&package.name);
                return Err(InitError::WorkloadName { package: package.name.clone(), name }.into());
            }
            let file = options.file.clone().unwrap_or_else(|| package.score_file.clone());
            write_score_file(&dir, file, &text, false)?
        }
        None => {
            let file = options.file.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_SCORE_FILE));
            write_score_file(&dir, file, &sample(), true)?
        }
    };
    Ok(InitReport { dir, app_prefix, proposed, workload })
}

/// Writes a Score file unless something is there; never over the project's own files
/// (`project_dir`).
fn write_score_file(project_dir: &Path, path: PathBuf, text: &str, sample: bool) -> Result<WorkloadOutcome, Error> {
    let project_folder = Protected::folder(project_dir, "the project folder");
    outputs::check(&[project_folder], &[Output::named(&path, "--file", "choose another --file")])?;
    if std::fs::symlink_metadata(&path).is_ok() {
        return Ok(WorkloadOutcome::Exists(path));
    }
    fsutil::write_atomic(&path, text.as_bytes(), None)?;
    Ok(WorkloadOutcome::Written { path, sample })
}

/// The Score file `init` writes outside a cargo package (and `generate` reads by default).
pub const DEFAULT_SCORE_FILE: &str = "score.yaml";

/// A workload to start from: a web service on port 80 behind Fly's HTTPS.
pub fn sample() -> String {
    web_workload(
        "# A Score workload (https://score.dev). Run `cargo score-fly generate` to turn it into fly.toml.\n",
        "hello-world",
        "nginx:stable",
        "      GREETING: \"Hello from ${metadata.name}\"\n",
        80,
    )
}

/// A Score file of one web service behind Fly's HTTPS (443 to `target_port`): `header`
/// comment lines, then the workload `name` running `image` with `variables` (YAML lines).
fn web_workload(header: &str, name: &str, image: &str, variables: &str, target_port: u16) -> String {
    format!(
        r#"{header}apiVersion: score.dev/v1b1
metadata:
  name: {name}
  annotations:
    score-fly/service-web-handlers: "tls,http"
containers:
  main:
    image: {image}
    variables:
{variables}    resources:
      requests:
        cpu: "1"
        memory: 256Mi
service:
  ports:
    web:
      port: 443
      targetPort: {target_port}
"#
    )
}

/// Checks an app prefix: lowercase letters, digits and `-` (Fly app names), at most
/// [`MAX_PREFIX`], not starting with `-`.
pub fn check_app_prefix(prefix: &str) -> Result<(), PrefixError> {
    if prefix.len() > MAX_PREFIX || !prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(PrefixError::Characters(prefix.to_owned()));
    }
    if prefix.starts_with('-') {
        return Err(PrefixError::LeadingDash(prefix.to_owned()));
    }
    Ok(())
}

/// A package name as a workload name (Score's RFC 1123 label): lowercase, `_` and other
/// characters as `-`, at most 63 characters, no `-` at either end.
pub fn workload_name(package: &str) -> String {
    let name: String = package
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .take(MAX_APP_NAME)
        .collect();
    name.trim_matches('-').to_owned()
}

/// The app prefix `init` proposes for a package: its name and a short random suffix
/// (`realworld-k3x9-`), Fly app names being global; the package part is cut so that the
/// prefix fits [`check_app_prefix`] and the app (`<prefix><workload>`) fits Fly's 63.
pub fn propose_prefix(package: &str) -> String {
    prefix_with_suffix(package, &random_suffix())
}

/// [`propose_prefix`] with a given suffix.
fn prefix_with_suffix(package: &str, suffix: &str) -> String {
    let workload = workload_name(package);
    let room = MAX_APP_NAME.saturating_sub(workload.len() + suffix.len() + 2).min(MAX_PREFIX - suffix.len() - 2);
    let base: String = workload.chars().take(room).collect();
    let base = base.trim_end_matches('-');
    if base.is_empty() { format!("{suffix}-") } else { format!("{base}-{suffix}-") }
}

/// Four random lowercase letters and digits.
fn random_suffix() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    // `RandomState` is seeded from the system's randomness; the time and pid only add to it.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    hasher.write_u32(std::process::id());
    let mut n = hasher.finish();
    let mut suffix = String::with_capacity(4);
    for _ in 0..4 {
        let digit = usize::try_from(n % 36).unwrap_or_default();
        suffix.push(char::from(ALPHABET[digit]));
        n /= 36;
    }
    suffix
}

/// The Score file `init` writes for a cargo package: its workload named after it, built from
/// the package (image `.`), listening on `$PORT` (8080), with a resource example in comments.
pub fn package_score_file(package: &str) -> String {
    let name = workload_name(package);
    let header = format!(
        "# The Score workload (https://score.dev) of package `{package}`, read by `cargo score-fly`:
# `generate` turns it into fly_{name}.toml, `build` makes the image of the package's binary,
# `deploy` does both and deploys. `cargo score-fly init --macro` prints the same workload as a
# #[score_workload] attribute for the binary's main, if you prefer it there.
"
    );
    let variables = "      # The service listens on the port in $PORT (reading it, with 8080 when it is unset).
      PORT: \"8080\"
";
    let workload = web_workload(&header, &name, ".", variables, 8080);
    workload
        + r#"# A resource the workload uses, e.g. a PostgreSQL database: uncomment it, and read its
# outputs with placeholders in `variables` above, e.g.
#       DATABASE_URL: "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.database}"
# resources:
#   db:
#     type: postgres
"#
}

/// [`package_score_file`] as a `#[score_workload(...)]` attribute to paste on the binary's
/// `main` (the same workload: the tests read both).
pub fn package_attribute(package: &str) -> String {
    let name = workload_name(package);
    format!(
        r#"use score_fly_macros::score_workload;

#[score_workload(
    name = "{name}",
    annotations("score-fly/service-web-handlers" = "tls,http"),
    // The service listens on the port in $PORT (reading it, with 8080 when it is unset).
    variables(PORT = "8080"),
    requests(cpu = "1", memory = "256Mi"),
    port(web, port = 443, target_port = 8080),
    // A resource the workload uses, e.g. a PostgreSQL database: uncomment it, and read its
    // outputs with placeholders in `variables`, e.g.
    //   DATABASE_URL = "postgres://${{resources.db.username}}:${{resources.db.password}}@${{resources.db.host}}:${{resources.db.port}}/${{resources.db.database}}",
    // resource(db, type = "postgres"),
)]
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_provisioners_parse_and_name_every_builtin() {
        let text = super::super::project::default_provisioners();
        let defs = definition::parse_file(Path::new("default.provisioners.yaml"), &text).unwrap();
        let names: Vec<&str> = defs.iter().filter_map(|d| d.builtin.as_deref()).collect();
        assert_eq!(names, crate::builtin::NAMES);
    }

    #[test]
    fn the_sample_is_a_valid_workload() {
        let loaded = crate::spec::load_str("score.yaml", &sample()).unwrap();
        assert_eq!(loaded.workload.name(), "hello-world");
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn the_package_score_file_declares_the_package_workload() {
        for package in ["realworld", "realworld_axum", "Api-Server2"] {
            let text = package_score_file(package);
            let from_file = crate::spec::load_str("score.yaml", &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
            assert!(from_file.warnings.is_empty(), "{:?}", from_file.warnings);
            assert_eq!(from_file.workload.name(), workload_name(package));
            let main = from_file.workload.containers.get("main").expect("a main container");
            assert_eq!(main.image, ".", "built from the package");
            assert_eq!(main.variables.get("PORT").map(String::as_str), Some("8080"));
            assert_eq!(from_file.workload.service.as_ref().expect("a service").ports["web"].target_port, Some(8080));
            // The resource example is there, commented out.
            assert!(text.contains("#   db:\n#     type: postgres\n"), "{text}");
        }
    }

    #[cfg(feature = "syn")]
    #[test]
    fn the_attribute_declares_the_same_workload_as_the_package_score_file() {
        for package in ["realworld", "realworld_axum", "Api-Server2"] {
            let from_file = crate::spec::load_str("score.yaml", &package_score_file(package)).unwrap();
            // The attribute, pasted on main, is read by the macro's own parser.
            let source = format!("{}#[tokio::main]\nasync fn main() {{}}\n", package_attribute(package));
            let found = crate::attr::read_source("src/main.rs", &source).unwrap_or_else(|e| panic!("{e:?}\n{source}"));
            let crate::attr::FromSource::Inline(from_attribute) = found else {
                panic!("not an inline workload: {source}")
            };
            assert_eq!(from_attribute.workload, from_file.workload, "{source}");
        }
    }

    #[test]
    fn workload_names_are_rfc_1123_labels_of_the_package_name() {
        assert_eq!(workload_name("realworld_axum"), "realworld-axum");
        assert_eq!(workload_name("Api-Server2"), "api-server2");
        assert_eq!(workload_name("_x_"), "x");
        assert_eq!(workload_name("__"), "");
        assert_eq!(workload_name(&"a".repeat(70)).len(), 63);
    }

    #[test]
    fn app_prefixes_are_checked_against_fly_app_names() {
        assert_eq!(check_app_prefix(""), Ok(()));
        assert_eq!(check_app_prefix("acme-"), Ok(()));
        assert_eq!(check_app_prefix(&"a".repeat(MAX_PREFIX)), Ok(()));
        assert_eq!(
            check_app_prefix(&"a".repeat(MAX_PREFIX + 1)),
            Err(PrefixError::Characters("a".repeat(MAX_PREFIX + 1)))
        );
        assert_eq!(check_app_prefix("Acme-"), Err(PrefixError::Characters("Acme-".to_owned())));
        assert_eq!(check_app_prefix("acme_"), Err(PrefixError::Characters("acme_".to_owned())));
        assert_eq!(check_app_prefix("-acme"), Err(PrefixError::LeadingDash("-acme".to_owned())));
        assert_eq!(PrefixError::LeadingDash("-a".to_owned()).to_string(), "app prefix `-a` must not start with `-`");
        let setting = Error::from(InitError::PrefixSetting(PrefixError::Characters("A".to_owned())));
        assert_eq!(
            setting.to_string(),
            "the app-prefix setting: app prefix `A` may only hold lowercase letters, digits and `-`, at most 40 characters (Fly app names)"
        );
        assert_eq!(setting.kind(), crate::ops::kind::ErrorKind::Invalid);
    }

    #[test]
    fn the_proposed_prefix_is_the_package_name_and_a_suffix_that_fits_fly() {
        assert_eq!(prefix_with_suffix("realworld_axum", "k3x9"), "realworld-axum-k3x9-");
        assert_eq!(prefix_with_suffix("__", "k3x9"), "k3x9-");
        // Cut so that the app (`<prefix><workload>`) fits Fly's 63, without a `-` before
        // the suffix's.
        let cut = prefix_with_suffix(&"a-".repeat(22), "k3x9");
        assert_eq!(cut, "a-a-a-a-a-a-a-k3x9-");
        assert!(cut.len() + workload_name(&"a-".repeat(22)).len() <= MAX_APP_NAME);
        assert_eq!(prefix_with_suffix(&"x".repeat(50), "k3x9"), "xxxxxxx-k3x9-");
        assert_eq!(prefix_with_suffix(&"x".repeat(60), "k3x9"), "k3x9-");

        let a = propose_prefix("realworld_axum");
        let (base, suffix) = a.trim_end_matches('-').rsplit_once('-').expect("name-suffix-");
        assert_eq!(base, "realworld-axum");
        assert!(suffix.len() == 4 && suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{a}");
        let others: std::collections::BTreeSet<String> = (0..8).map(|_| propose_prefix("realworld_axum")).collect();
        assert!(others.len() > 1, "random suffixes: {others:?}");
        for package in ["a", "x".repeat(40).as_str(), "Web_API", "__"] {
            let prefix = propose_prefix(package);
            assert_eq!(check_app_prefix(&prefix), Ok(()), "{prefix}");
            let workload = workload_name(package);
            if !workload.is_empty() {
                let app = crate::fly::app_name(&prefix, &workload);
                assert!(crate::fly::check_app_name(&app).is_ok(), "{app}");
            }
        }
    }
}
