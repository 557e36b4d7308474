//! The destroy events: apps destroyed or found gone, flyctl's lines, workloads forgotten.

use score_fly_core::ops::destroy::DestroyEvent;

use crate::printer::Printer;

/// Prints one destroy event.
pub(super) fn render(p: &Printer, event: &DestroyEvent<'_>) {
    match event {
        DestroyEvent::DestroyingApp { app } => p.status("Destroying", &format!("app {app}")),
        DestroyEvent::AppGone { app } => p.verbose(&format!("app {app} is already gone")),
        DestroyEvent::AppElsewhere { app } => {
            p.warning(&format!("app {app} belongs to another organisation: left alone"), "");
        }
        DestroyEvent::Flyctl { line } => p.detail(line),
        DestroyEvent::Forgotten { workload } => p.status("Forgot", &format!("workload {workload}")),
        _ => {}
    }
}
