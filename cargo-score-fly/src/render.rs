//! Rendering of Score diagnostics with the offending source line, rustc-style:
//!
//! ```text
//! error: containers.main.image: must not be empty
//!   --> score.yaml:6:12
//!    |
//!  6 |     image: ""
//!    |            ^
//! ```

use std::fmt::Write as _;

use score_fly_core::spec::{Diagnostic, Location, SourceMap};

use crate::failure::Failure;
use crate::printer::{NOTE, Printer};

/// The `--> file:line:col` block with the source line and a caret.
pub fn snippet(sources: &SourceMap, location: Option<Location>, styled: bool) -> String {
    let Some(location) = location else { return String::new() };
    let (gutter, reset) = if styled {
        (NOTE.render().to_string(), NOTE.render_reset().to_string())
    } else {
        (String::new(), String::new())
    };
    let mut out = format!("\n  {gutter}-->{reset} {}", sources.describe(location));
    if let Some(line) = sources.line_text(location) {
        let number = location.line.to_string();
        let pad = " ".repeat(number.len());
        let (line, column) = around(line, location.column.saturating_sub(1));
        let caret_pad: String = line.chars().take(column).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        let _ = write!(
            out,
            "\n {pad} {gutter}|{reset}\n {gutter}{number} |{reset} {line}\n {pad} {gutter}|{reset} {caret_pad}{gutter}^{reset}"
        );
    }
    out
}

/// Characters of a source line shown on each side of the caret: a line of a document can be
/// a megabyte long, and every problem on it would print it whole.
const SNIPPET_CONTEXT: usize = 80;

/// The part of `line` around the character at `column` (0-based), and the caret's column in
/// it: the whole line when short, else [`SNIPPET_CONTEXT`] characters each side, cut ends
/// marked with `…`.
fn around(line: &str, column: usize) -> (std::borrow::Cow<'_, str>, usize) {
    if line.len() <= 2 * SNIPPET_CONTEXT {
        return (line.into(), column);
    }
    let start = column.saturating_sub(SNIPPET_CONTEXT);
    let mut chars = line.chars().skip(start);
    let mut shown: String = if start > 0 { "…".to_owned() } else { String::new() };
    shown.extend(chars.by_ref().take(column - start + SNIPPET_CONTEXT));
    if chars.next().is_some() {
        shown.push('…');
    }
    (shown.into(), column - start + usize::from(start > 0))
}

/// Prints one diagnostic as a warning or an error.
pub fn diagnostic(printer: &Printer, sources: &SourceMap, d: &Diagnostic, is_error: bool) {
    let detail = snippet(sources, d.location, printer.styled());
    if is_error {
        printer.error(&d.to_string(), &detail);
    } else {
        printer.warning(&d.to_string(), &detail);
    }
}

/// Prints a command failure.
pub fn failure(printer: &Printer, failure: &Failure) {
    match failure {
        Failure::InvalidScore(errors) => {
            for e in errors {
                for d in &e.diagnostics {
                    diagnostic(printer, &e.sources, d, true);
                }
                let n = e.diagnostics.len();
                printer.error(
                    &format!(
                        "{} is not a valid Score file ({n} problem{})",
                        e.file_name(),
                        if n == 1 { "" } else { "s" }
                    ),
                    "",
                );
            }
        }
        Failure::Unconvertible(errors) => {
            for (e, loaded) in errors {
                let mut located: Vec<_> =
                    e.problems.iter().map(|p| (loaded.as_ref().and_then(|l| l.locate(&p.path)), p)).collect();
                located.sort_by_key(|(location, _)| location.map(|l| (l.source, l.line, l.column)));
                for (location, p) in located {
                    let detail =
                        loaded.as_ref().map(|l| snippet(&l.sources, location, printer.styled())).unwrap_or_default();
                    printer.error(&p.to_string(), &detail);
                }
                let n = e.problems.len();
                printer.error(
                    &format!(
                        "workload `{}` cannot run on Fly as written ({n} problem{})",
                        e.workload,
                        if n == 1 { "" } else { "s" }
                    ),
                    "",
                );
            }
        }
        Failure::InvalidSource(e) => {
            for d in &e.diagnostics {
                diagnostic(printer, &e.sources, d, true);
            }
        }
        Failure::OutOfDate(lines) => {
            for line in lines {
                printer.error(line, "");
            }
            printer.error("generated files are out of date: run `cargo score-fly generate`", "");
        }
        Failure::Invalid(message)
        | Failure::Error(message)
        | Failure::Unavailable(message)
        | Failure::Usage(message) => {
            // Each unindented line is an error; indented lines are its detail.
            let mut current: Option<(String, String)> = None;
            for line in message.lines() {
                if line.starts_with("  ")
                    && let Some((_, detail)) = &mut current
                {
                    detail.push('\n');
                    detail.push_str(line);
                    continue;
                }
                if let Some((head, detail)) = current.take() {
                    printer.error(&head, &detail);
                }
                current = Some((line.to_owned(), String::new()));
            }
            if let Some((head, detail)) = current {
                printer.error(&head, &detail);
            }
        }
    }
}

/// A deploy plan for people: one status line per thing that would happen (what stays as it
/// is only with `-v`), each changed `fly.toml` as a unified diff (a new one with `-v`).
pub fn plan(printer: &Printer, plan: &score_fly_core::ops::deploy::DeployPlan) {
    use score_fly_core::ops::deploy::{AppStatus, Builder, FileStatus, ImageSource, ResourceAction};
    printer.status("Plan", "(dry run: nothing is built, created, provisioned, written or set)");
    for image in plan.images.iter().filter(|i| i.source == ImageSource::Build) {
        let package = image.package.as_deref().unwrap_or(&image.workload);
        match image.builder {
            Some(Builder::Dockerfile) => printer
                .status("Would write", &format!("a Dockerfile for package `{package}`, built by Fly's remote builder")),
            _ => printer.status(
                "Would build",
                &format!(
                    "package `{package}` and push its image to {}",
                    image.reference.as_deref().and_then(|r| r.rsplit_once(':')).map_or("", |(repo, _)| repo)
                ),
            ),
        }
    }
    for app in &plan.apps {
        match app.status {
            AppStatus::Exists => printer.verbose(&format!("app {} exists", app.app)),
            AppStatus::Create => printer.status("Would create", &format!("app {} (org {})", app.app, app.org)),
            AppStatus::Unknown => printer.status(
                "Would create",
                &format!(
                    "app {} if it does not exist (org {}; cannot check without a working FLY_API_TOKEN)",
                    app.app, app.org
                ),
            ),
        }
    }
    for r in &plan.resources {
        match r.action {
            ResourceAction::Reuse => printer.verbose(&format!("{} is up to date", r.uid)),
            ResourceAction::Provision => {
                printer.status("Would provision", &format!("{} with {}", r.uid, r.provisioner));
            }
            ResourceAction::Reprovision => {
                printer.status("Would reprovision", &format!("{} with {} (its inputs changed)", r.uid, r.provisioner));
            }
        }
        match r.missing_variables.as_deref() {
            Some(missing) if !missing.is_empty() => printer.warning(
                &format!(
                    "`{}` reads {} from the environment, not set here: the deploy would fail (set {} where score-fly runs, e.g. as CI secrets)",
                    r.uid,
                    missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
                    if missing.len() == 1 { "it" } else { "them" }
                ),
                "",
            ),
            _ => {}
        }
    }
    for file in &plan.files {
        let app = plan.apps.iter().find(|a| a.workload == file.workload).map(|a| format!(" (app {})", a.app));
        let what = format!("{}{}", file.path.display(), app.unwrap_or_default());
        let approximate =
            if file.approximate { "; values of resources not yet provisioned stand in as <uid.key>" } else { "" };
        match file.status {
            FileStatus::Unchanged => printer.verbose(&format!("{what} is unchanged")),
            FileStatus::New => printer.status("Would write", &format!("{what}, a new file{approximate}")),
            FileStatus::Changed => printer.status("Would change", &format!("{what}{approximate}:")),
            FileStatus::Unknown => {
                printer.status(
                    "Would write",
                    &format!("{what} (its content is known once its resources are provisioned)"),
                );
            }
        }
        // A changed file's diff always; a new file's whole text with `-v`.
        let shown = file.status == FileStatus::Changed || (file.status == FileStatus::New && printer.is_verbose());
        if let (true, Some(diff)) = (shown, &file.diff) {
            for line in diff.lines() {
                printer.diff_line(line);
            }
        }
    }
    for app in &plan.apps {
        let s = &app.secrets;
        let from = s.unknown_from.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ");
        let what = match (s.imported.is_empty(), s.unknown_from.is_empty()) {
            (true, true) => None,
            (false, true) => Some(format!("secret(s) {}", s.imported.join(", "))),
            (true, false) => Some(format!("any secret read from {from} (names known once provisioned)")),
            (false, false) => Some(format!(
                "secret(s) {}, and any read from {from} (names known once provisioned)",
                s.imported.join(", ")
            )),
        };
        if let Some(what) = what {
            printer.status("Would import", &format!("{what} into {} (stdin)", app.app));
        }
        if !s.unchanged.is_empty() {
            printer.verbose(&format!("secrets of {} are unchanged ({})", app.app, s.unchanged.join(", ")));
        }
        if !s.unset.is_empty() {
            printer.status("Would unset", &format!("secret(s) {} of {} (no longer used)", s.unset.join(", "), app.app));
        }
        printer.status("Would run", &app.command.join(" "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_shown_around_the_caret() {
        assert_eq!(around("short: line", 7), ("short: line".into(), 7));
        let line = format!("{}^{}", "a".repeat(10_000), "b".repeat(10_000));
        let (shown, column) = around(&line, 10_000);
        assert_eq!(shown, format!("…{}^{}…", "a".repeat(SNIPPET_CONTEXT), "b".repeat(SNIPPET_CONTEXT - 1)));
        assert_eq!(shown.chars().nth(column), Some('^'));
        let (shown, column) = around(&line, 3);
        assert!(shown.starts_with("aaaa") && shown.ends_with('…'), "{shown}");
        assert_eq!(column, 3);
        let (shown, column) = around(&line, 20_000);
        assert!(shown.starts_with('…') && shown.ends_with('b'), "{shown}");
        assert_eq!(shown.chars().nth(column), Some('b'));
    }
}
