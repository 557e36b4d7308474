//! `destroy`: arguments → [`ops::destroy::plan`] → the plan shown → confirmation (a terminal
//! question, or `--yes`) → [`ops::destroy::apply`] → the report.

use score_fly_core::ops::{self, destroy::DestroyOptions, destroy::DestroyPlan, destroy::DestroyReport};

use super::{Failure, Session, open_project};
use crate::cli::{DestroyArgs, Format};
use crate::printer::Printer;
use crate::settings::{Flags, Settings};

/// Runs `destroy`.
pub fn run(args: &DestroyArgs, session: &Session) -> Result<(), Failure> {
    let printer = &session.printer;
    let project = open_project(session)?;
    let settings = Settings::from_flags(Flags::default())?;
    let options = DestroyOptions { workloads: args.workloads.clone(), keep_resources: args.keep_resources };
    let plan = ops::destroy::plan(&project, &options, &settings.target)?;
    let json = args.format == Format::Json;
    if args.dry_run {
        if json {
            printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&plan).expect("plans serialise")));
        } else {
            show_plan(printer, &plan, true);
        }
        return Ok(());
    }
    if !json {
        show_plan(printer, &plan, false);
    }
    let destructive = plan.apps.iter().any(|a| matches!(a.status, "exists" | "unknown")) || !plan.resources.is_empty();
    if destructive && !args.yes {
        match printer.confirm("Destroy these apps and resources? Their data cannot be recovered.") {
            Some(true) => {}
            Some(false) => {
                printer.status("Cancelled", "nothing was destroyed");
                return Ok(());
            }
            None => {
                return Err(Failure::Usage(
                    "destroy deletes apps and data, and there is no terminal to ask on: pass --yes to confirm (see the list above, or run with --dry-run first)"
                        .to_owned(),
                ));
            }
        }
    }
    let report = ops::destroy::apply(&project, &plan, settings.target, &session.reporter())?;
    if json {
        printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&report).expect("reports serialise")));
    } else {
        show_report(printer, &report);
    }
    Ok(())
}

fn show_plan(printer: &Printer, plan: &DestroyPlan, dry_run: bool) {
    let verb = if dry_run { "Would destroy" } else { "Destroying" };
    for app in &plan.apps {
        match app.status {
            "gone" => {
                printer.status("Gone", &format!("app {} (workload {}) does not exist on Fly", app.app, app.workload));
            }
            "elsewhere" => printer.warning(
                &format!("app {} belongs to another organisation: it is not destroyed", app.app),
                "the workload is still removed from the project",
            ),
            _ => printer.status(verb, &format!("app {} (workload {})", app.app, app.workload)),
        }
    }
    let verb = if dry_run { "Would drop" } else { "Dropping" };
    for resource in &plan.resources {
        printer.status(verb, &format!("{} (provisioner {})", resource.uid, resource.provisioner));
    }
    for kept in &plan.kept {
        printer.status("Keeping", &format!("{} ({})", kept.uid, kept.reason));
    }
    if plan.apps.is_empty() {
        printer.status("Note", "the project has no workloads: nothing to destroy");
    }
}

fn show_report(printer: &Printer, report: &DestroyReport) {
    let summary = format!(
        "{} app(s) destroyed, {} resource(s) dropped, {} kept; {} workload(s) removed from the project",
        report.destroyed_apps.len(),
        report.deprovisioned.len(),
        report.kept.len(),
        report.forgotten.len()
    );
    printer.status("Destroyed", &summary);
}
