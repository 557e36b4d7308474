//! `releases [WORKLOAD]`: the releases `deploy` and `rollback` recorded in the project state
//! ([`ops::releases::list`]), newest first, the current one marked; reads nothing from Fly.

use score_fly_core::ops;

use super::{Failure, Session, project_state};
use crate::cli::{Format, ReleasesArgs};
use crate::table;

/// Runs `releases`.
pub fn run(args: &ReleasesArgs, session: &Session) -> Result<(), Failure> {
    let (_project, state, _target) = project_state(session)?;
    let list = ops::releases::list(&state, args.workload.as_deref())?;
    let printer = &session.printer;
    if args.format == Format::Json {
        printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&list).expect("lists serialise")));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .workloads
        .iter()
        .flat_map(|w| {
            w.releases.iter().map(move |r| {
                let release = &r.release;
                let mut note = release.rollback_of.map(|v| format!("rollback to v{v}")).unwrap_or_default();
                if release.secrets_digest.is_some() {
                    let short = release.secrets_digest.as_deref().map_or("", |d| &d[..d.len().min(12)]);
                    note = [note, format!("secrets {short}")]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ");
                }
                vec![
                    w.workload.clone(),
                    format!("{}v{}", if r.current { "*" } else { " " }, release.version),
                    release.image.clone().unwrap_or_else(|| "(built by Fly)".to_owned()),
                    release.config_sha256[..12.min(release.config_sha256.len())].to_owned(),
                    release.created_at.clone(),
                    note,
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        printer.status("Note", "no releases recorded yet: `cargo score-fly deploy` records one per deploy");
        return Ok(());
    }
    printer.stdout(&table::render(&["WORKLOAD", "VERSION", "IMAGE", "FLY.TOML", "DEPLOYED", "NOTE"], &rows));
    Ok(())
}
