//! `status [WORKLOAD] [--format json]`: [`ops::status::status`] (Fly's JSON, the state, the
//! files on disk) rendered per workload, or its typed document (`kind: "status"`,
//! `docs/schema/status-v1.json`).

use std::fmt::Write as _;

use score_fly_core::ops;
use score_fly_core::ops::status::{FileDrift, Health, WorkloadStatus};

use super::{Failure, Session, project_state};
use crate::cli::{Format, StatusArgs};
use crate::printer::Printer;
use crate::table;

/// Runs `status`.
pub fn run(args: &StatusArgs, session: &Session) -> Result<(), Failure> {
    let (project, state, target) = project_state(session)?;
    let report = ops::status::status(project.root(), &state, &target, args.workload.as_deref())?;
    drop(project);
    let printer = &session.printer;
    if args.format == Format::Json {
        printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&report).expect("reports serialise")));
        return Ok(());
    }
    if report.workloads.is_empty() {
        printer.status("Note", "the project has no workloads yet");
    }
    for w in &report.workloads {
        render(printer, w);
    }
    Ok(())
}

fn render(printer: &Printer, w: &WorkloadStatus) {
    let mut out = String::new();
    let _ = writeln!(out, "{} (app {})", w.workload, w.app);
    let version = w.version.map_or_else(|| "-".to_owned(), |v| format!("v{v}"));
    let image = match (&w.image, &w.digest) {
        (Some(image), Some(digest)) if !digest.is_empty() && !image.contains('@') => format!("{image}@{digest}"),
        (Some(image), _) => image.clone(),
        (None, _) => "-".to_owned(),
    };
    let _ = writeln!(
        out,
        "  URL:      {}\n  Release:  {version} ({})\n  Image:    {image}",
        w.url,
        w.fly_status.as_deref().unwrap_or("unknown")
    );
    if let Some(revision) = &w.revision {
        let dirty = if w.dirty { " (with uncommitted changes)" } else { "" };
        let _ = writeln!(out, "  Revision: {revision}{dirty}");
    }
    if let Some(error) = &w.error {
        let _ = writeln!(out, "  Fly:      {error}");
    }
    let drift = |d: FileDrift| match d {
        FileDrift::Unchanged => "unchanged",
        FileDrift::Changed => "CHANGED since the last release",
        FileDrift::Missing => "MISSING",
        FileDrift::Unknown => "no release recorded",
    };
    let _ = writeln!(out, "  fly.toml: {}\n  Score:    {}", drift(w.drift.fly_toml), drift(w.drift.score_file));
    if !w.machines.is_empty() {
        let rows: Vec<Vec<String>> = w
            .machines
            .iter()
            .map(|m| {
                let checks =
                    m.checks.iter().map(|c| format!("{}: {}", c.name, c.status)).collect::<Vec<_>>().join(", ");
                vec![
                    m.id.clone(),
                    m.process_group.clone().unwrap_or_default(),
                    m.region.clone(),
                    m.state.clone(),
                    checks,
                ]
            })
            .collect();
        for line in table::render(&["MACHINE", "PROCESS", "REGION", "STATE", "CHECKS"], &rows).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !w.resources.is_empty() {
        let rows: Vec<Vec<String>> = w
            .resources
            .iter()
            .map(|r| {
                let health = match r.health {
                    Health::Provisioned => "provisioned".to_owned(),
                    Health::NotProvisioned => "not provisioned (run deploy)".to_owned(),
                    Health::MissingOutputs => format!("missing outputs: {}", r.missing_outputs.join(", ")),
                };
                vec![r.uid.clone(), r.provisioner.clone().unwrap_or_else(|| "-".to_owned()), health]
            })
            .collect();
        for line in table::render(&["RESOURCE", "PROVISIONER", "HEALTH"], &rows).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    printer.stdout(&out);
}
