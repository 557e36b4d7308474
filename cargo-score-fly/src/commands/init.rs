//! `init`: creates `.score-fly/` (state, `.gitignore`, the builtin provisioners) and a Score
//! file: inside a cargo package, the package's own workload (or, with `--macro`, the same as
//! a `#[score_workload]` attribute to paste), with an app prefix proposed from its name;
//! elsewhere a sample.

use std::path::{Path, PathBuf};

use score_fly_core::fsutil;
use score_fly_core::ops;
use score_fly_core::outputs::{self, Output, Protected};
use score_fly_core::provision::definition;
use score_fly_core::state::{Project, State, shown_prefix};

use super::{Failure, Session, open_project_at};
use crate::cargo;
use crate::cli::InitArgs;

/// A workload to start from: a web service on port 8080 behind Fly's HTTPS.
pub const SAMPLE: &str = r#"# A Score workload (https://score.dev). Run `cargo score-fly generate` to turn it into fly.toml.
apiVersion: score.dev/v1b1
metadata:
  name: hello-world
  annotations:
    score-fly/service-web-handlers: "tls,http"
containers:
  main:
    image: nginx:stable
    variables:
      GREETING: "Hello from ${metadata.name}"
    resources:
      requests:
        cpu: "1"
        memory: 256Mi
service:
  ports:
    web:
      port: 443
      targetPort: 80
"#;

/// Checks an app prefix: lowercase letters, digits and `-` (Fly app names), at most 40.
pub fn check_app_prefix(prefix: &str) -> Result<(), Failure> {
    if prefix.len() > 40 || !prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(Failure::Invalid(format!(
            "app prefix `{prefix}` may only hold lowercase letters, digits and `-`, at most 40 characters (Fly app names)"
        )));
    }
    if prefix.starts_with('-') {
        return Err(Failure::Invalid(format!("app prefix `{prefix}` must not start with `-`")));
    }
    Ok(())
}

/// The builtin Fly provisioners as `init` registers them ([`ops::project::default_provisioners`]).
pub fn default_provisioners() -> String {
    ops::project::default_provisioners()
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

/// Fly app names are at most this long.
const MAX_APP_NAME: usize = 63;

/// The app prefix `init` proposes for a package: its name and a short random suffix
/// (`realworld-k3x9-`), Fly app names being global; the package part is cut so that the
/// prefix fits [`check_app_prefix`] and the app (`<prefix><workload>`) fits Fly's 63.
pub fn propose_prefix(package: &str) -> String {
    let suffix = random_suffix();
    let workload = workload_name(package);
    let room = MAX_APP_NAME.saturating_sub(workload.len() + suffix.len() + 2).min(MAX_PREFIX - suffix.len() - 2);
    let base: String = workload.chars().take(room).collect();
    let base = base.trim_end_matches('-');
    if base.is_empty() { format!("{suffix}-") } else { format!("{base}-{suffix}-") }
}

/// App prefixes are at most this long.
const MAX_PREFIX: usize = 40;

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
    format!(
        r#"# The Score workload (https://score.dev) of package `{package}`, read by `cargo score-fly`:
# `generate` turns it into fly_{name}.toml, `build` makes the image of the package's binary,
# `deploy` does both and deploys. `cargo score-fly init --macro` prints the same workload as a
# #[score_workload] attribute for the binary's main, if you prefer it there.
apiVersion: score.dev/v1b1
metadata:
  name: {name}
  annotations:
    score-fly/service-web-handlers: "tls,http"
containers:
  main:
    image: .
    variables:
      # The service listens on the port in $PORT (reading it, with 8080 when it is unset).
      PORT: "8080"
    resources:
      requests:
        cpu: "1"
        memory: 256Mi
service:
  ports:
    web:
      port: 443
      targetPort: 8080
# A resource the workload uses, e.g. a PostgreSQL database: uncomment it, and read its
# outputs with placeholders in `variables` above, e.g.
#       DATABASE_URL: "postgres://${{resources.db.username}}:${{resources.db.password}}@${{resources.db.host}}:${{resources.db.port}}/${{resources.db.database}}"
# resources:
#   db:
#     type: postgres
"#
    )
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

/// Runs `init`.
pub fn run(args: &InitArgs, session: &Session) -> Result<(), Failure> {
    let printer = &session.printer;
    if let Some(prefix) = &args.app_prefix {
        check_app_prefix(prefix)?;
    }
    let package = cargo::init_package(Path::new("."))?;
    if args.print_macro && package.is_none() {
        return Err(Failure::Invalid(
            "init --macro prints the workload of a cargo package as #[score_workload] for its binary's main: run it inside the package (outside one, init writes a Score file)"
                .to_owned(),
        ));
    }
    let setting = package.as_ref().and_then(|p| p.settings.app_prefix.clone());
    if let Some(prefix) = &setting {
        check_app_prefix(prefix).map_err(|e| match e {
            Failure::Invalid(m) => Failure::Invalid(format!("the app-prefix setting: {m}")),
            other => other,
        })?;
    }
    let asked = args.app_prefix.clone().or(setting);
    let root = package.as_ref().map(|p| p.root.clone()).unwrap_or_default();
    let project = open_project_at(&root, session)?;
    let shown_dir = crate::cargo::relative(&std::path::absolute(project.dir()).unwrap_or_else(|_| project.dir()));
    let mut proposed = None;
    if let Some(mut state) = project.load()? {
        project.ensure_dir()?;
        printer.status("Found", &format!("existing project state in {shown_dir}"));
        let defs = definition::load_all(&project.dir())?;
        // A package's project that never chose a prefix gets one proposed, while nothing
        // exists under the empty one.
        let wanted = asked.or_else(|| {
            let unchosen = package.is_some()
                && state.app_prefix.is_empty()
                && state.made_under_prefix(|e| ops::project::prefix_use(&defs, e)).is_empty();
            let prefix = package.as_ref().filter(|_| unchosen).map(|p| propose_prefix(&p.name));
            proposed.clone_from(&prefix);
            prefix
        });
        if let Some(prefix) = wanted.filter(|p| *p != state.app_prefix) {
            super::set_prefix(&mut state, &prefix, &defs, session)?;
            project.save(&state)?;
        }
    } else {
        let prefix = match (asked, &package) {
            (Some(prefix), _) => prefix,
            (None, Some(package)) => {
                let prefix = propose_prefix(&package.name);
                proposed = Some(prefix.clone());
                prefix
            }
            (None, None) => String::new(),
        };
        let state = State::new(prefix);
        project.save(&state)?;
        printer.status("Created", &format!("{shown_dir} (app prefix {})", shown_prefix(&state.app_prefix)));
        ops::project::register_defaults(&project, &session.reporter())?;
    }
    if let (Some(prefix), Some(package)) = (&proposed, &package) {
        printer.status(
            "Proposed",
            &format!(
                "app prefix `{prefix}`: the package name and a random suffix, since Fly app names are global (apps are `<prefix><workload>`). It is recorded in the project state, which git ignores: to use it in every checkout and in CI, add to {}:",
                crate::cargo::relative(&package.dir.join("Cargo.toml"))
            ),
        );
        printer.detail("[package.metadata.score-fly]");
        printer.detail(&format!("app-prefix = \"{prefix}\""));
    }
    match &package {
        Some(package) if args.print_macro => {
            printer.stdout(&package_attribute(&package.name));
            let main = crate::cargo::relative(&package.main_source);
            printer.status(
                "Printed",
                &format!(
                    "#[score_workload] for package `{}`: paste it above `fn main` in {main} (with score-fly-macros as a dependency; see the README's #[score_workload] section)",
                    package.name
                ),
            );
            if package.has_attribute {
                printer.warning(&format!("{main} already mentions score_workload: keep one declaration"), "");
            }
            Ok(())
        }
        _ if args.no_sample => Ok(()),
        Some(package) if package.has_attribute && args.file.is_none() => {
            printer.status(
                "Found",
                &format!(
                    "#[score_workload] in {}: the package declares its workload there, no Score file written",
                    crate::cargo::relative(&package.main_source)
                ),
            );
            Ok(())
        }
        Some(package) => {
            let name = workload_name(&package.name);
            if score_fly_core::spec::load_str("score.yaml", &package_score_file(&package.name)).is_err() {
                return Err(Failure::Invalid(format!(
                    "package name `{}` does not make a Score workload name (`{name}`: 2 to 63 lowercase letters, digits and `-`): write the Score file yourself, or run init --no-sample",
                    package.name
                )));
            }
            let file = args.file.clone().unwrap_or_else(|| PathBuf::from(crate::cargo::relative(&package.score_file)));
            write_score_file(
                &project,
                &file,
                &package_score_file(&package.name),
                &format!("Score file {} for package `{}`", file.display(), package.name),
                printer,
            )
        }
        None => {
            let file = args.file.clone().unwrap_or_else(|| PathBuf::from(super::generate::DEFAULT_SCORE_FILE));
            write_score_file(&project, &file, SAMPLE, &format!("sample Score file {}", file.display()), printer)
        }
    }
}

/// Writes a Score file unless something is there; never over the project's own files.
fn write_score_file(
    project: &Project,
    file: &Path,
    text: &str,
    what: &str,
    printer: &crate::printer::Printer,
) -> Result<(), Failure> {
    let project_folder = Protected::folder(project.dir(), "the project folder");
    outputs::check(&[project_folder], &[Output::named(file, "--file", "choose another --file")])
        .map_err(|e| Failure::Invalid(e.to_string()))?;
    if std::fs::symlink_metadata(file).is_ok() {
        printer.verbose(&format!("{} exists, not writing a Score file", file.display()));
    } else {
        fsutil::write_atomic(file, text.as_bytes(), None).map_err(|e| Failure::Error(e.to_string()))?;
        printer.status("Created", what);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_provisioners_parse_and_name_every_builtin() {
        let defs = score_fly_core::provision::definition::parse_file(
            std::path::Path::new("default.provisioners.yaml"),
            &super::default_provisioners(),
        )
        .unwrap();
        let names: Vec<&str> = defs.iter().filter_map(|d| d.builtin.as_deref()).collect();
        assert_eq!(names, score_fly_core::builtin::NAMES);
    }

    #[test]
    fn the_sample_is_a_valid_workload() {
        let loaded = score_fly_core::spec::load_str("score.yaml", super::SAMPLE).unwrap();
        assert_eq!(loaded.workload.name(), "hello-world");
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn the_package_score_file_and_the_attribute_declare_the_same_workload() {
        for package in ["realworld", "realworld_axum", "Api-Server2"] {
            let text = super::package_score_file(package);
            let from_file =
                score_fly_core::spec::load_str("score.yaml", &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
            assert!(from_file.warnings.is_empty(), "{:?}", from_file.warnings);
            let name = super::workload_name(package);
            assert_eq!(from_file.workload.name(), name);
            let main = from_file.workload.containers.get("main").expect("a main container");
            assert_eq!(main.image, ".", "built from the package");
            assert_eq!(main.variables.get("PORT").map(String::as_str), Some("8080"));
            assert_eq!(from_file.workload.service.as_ref().expect("a service").ports["web"].target_port, Some(8080));
            // The resource example is there, commented out.
            assert!(text.contains("#   db:\n#     type: postgres\n"), "{text}");

            // The attribute, pasted on main, is read by the macro's own parser.
            let source = format!("{}#[tokio::main]\nasync fn main() {{}}\n", super::package_attribute(package));
            let found =
                score_fly_core::attr::read_source("src/main.rs", &source).unwrap_or_else(|e| panic!("{e:?}\n{source}"));
            let score_fly_core::attr::FromSource::Inline(from_attribute) = found else {
                panic!("not an inline workload: {source}")
            };
            assert_eq!(from_attribute.workload, from_file.workload, "{source}");
        }
    }

    #[test]
    fn the_proposed_prefix_is_the_package_name_and_a_suffix_that_fits_fly() {
        let a = super::propose_prefix("realworld_axum");
        let (base, suffix) = a.trim_end_matches('-').rsplit_once('-').expect("name-suffix-");
        assert_eq!(base, "realworld-axum");
        assert!(suffix.len() == 4 && suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{a}");
        let others: std::collections::BTreeSet<String> =
            (0..8).map(|_| super::propose_prefix("realworld_axum")).collect();
        assert!(others.len() > 1, "random suffixes: {others:?}");
        for package in ["a", "x".repeat(40).as_str(), "Web_API", "__"] {
            let prefix = super::propose_prefix(package);
            assert!(super::check_app_prefix(&prefix).is_ok(), "{prefix}");
            let app = score_fly_core::fly::app_name(&prefix, &super::workload_name(package));
            if !super::workload_name(package).is_empty() {
                assert!(score_fly_core::fly::check_app_name(&app).is_ok(), "{app}");
            }
        }
    }
}
