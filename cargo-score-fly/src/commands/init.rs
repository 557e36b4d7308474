//! `init`: creates `.score-fly/` (state, `.gitignore`) and a sample Score file.

use std::fmt::Write as _;

use score_fly_core::fsutil;
use score_fly_core::outputs::{self, Output, Protected};
use score_fly_core::provision::definition;
use score_fly_core::state::{Project, State};

use super::{Failure, Session, open_project};
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

/// The builtin Fly provisioners as `init` registers them (last in matching order: any
/// other provisioner file, and `provisioners add`, come first).
pub fn default_provisioners() -> String {
    let mut text = String::from(
        "# The builtin Fly provisioners, registered by `cargo score-fly init`. They match last: a\n\
         # provisioner added with `cargo score-fly provisioners add` or written in another\n\
         # *.provisioners.yaml file wins. Delete an entry to stop using that builtin.\n",
    );
    for name in score_fly_core::builtin::NAMES {
        let _ = write!(text, "- id: builtin-{name}\n  type: {name}\n  builtin: {name}\n");
    }
    text
}

/// Writes `default.provisioners.yaml` unless it exists (a user may have edited it).
pub fn register_defaults(project: &Project, session: &Session) -> Result<(), Failure> {
    let path = project.dir().join(definition::DEFAULT_FILE);
    if std::fs::symlink_metadata(&path).is_ok() {
        return Ok(());
    }
    project
        .write(definition::DEFAULT_FILE, default_provisioners().as_bytes(), None)
        .map_err(|e| Failure::Error(e.to_string()))?;
    session.printer.status("Registered", &format!("the builtin Fly provisioners in {}", crate::cargo::relative(&path)));
    Ok(())
}

/// Runs `init`.
pub fn run(args: &InitArgs, session: &Session) -> Result<(), Failure> {
    let printer = &session.printer;
    if let Some(prefix) = &args.app_prefix {
        check_app_prefix(prefix)?;
    }
    let project = open_project(session)?;
    if let Some(state) = project.load()? {
        if let Some(prefix) = &args.app_prefix
            && *prefix != state.app_prefix
        {
            return Err(Failure::Invalid(format!(
                "the project's app prefix is `{}` and cannot change (its apps exist under those names); keep it or start a new project",
                state.app_prefix
            )));
        }
        project.ensure_dir()?;
        printer.status("Found", &format!("existing project state in {}", project.dir().display()));
    } else {
        let state = State::new(args.app_prefix.clone().unwrap_or_default());
        project.save(&state)?;
        printer.status("Created", &format!("{} (app prefix `{}`)", project.dir().display(), state.app_prefix));
        register_defaults(&project, session)?;
    }
    if !args.no_sample {
        // The sample is never written over the project's own files.
        let project_folder = Protected::folder(project.dir(), "the project folder");
        outputs::check(&[project_folder], &[Output::named(&args.file, "--file", "choose another --file")])
            .map_err(|e| Failure::Invalid(e.to_string()))?;
        if std::fs::symlink_metadata(&args.file).is_ok() {
            printer.verbose(&format!("{} exists, not writing a sample", args.file.display()));
        } else {
            fsutil::write_atomic(&args.file, SAMPLE.as_bytes(), None).map_err(|e| Failure::Error(e.to_string()))?;
            printer.status("Created", &format!("sample Score file {}", args.file.display()));
        }
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
}
