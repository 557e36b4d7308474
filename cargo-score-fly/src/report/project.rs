//! The project events: the lock, the app prefix, conversion warnings, files written.

use score_fly_core::ops::project::ProjectEvent;
use score_fly_core::state::shown_prefix;

use crate::cargo::relative;
use crate::printer::Printer;
use crate::render;

/// Prints one project event.
pub(super) fn render(p: &Printer, event: &ProjectEvent<'_>) {
    match event {
        ProjectEvent::Blocking { holder } => {
            p.status("Blocking", &format!("waiting for the project lock held by {holder}"));
        }
        ProjectEvent::PrefixChanged { old, new } => p.status(
            "Changed",
            &format!(
                "the app prefix from {} to {} (nothing exists on Fly under the old one)",
                shown_prefix(old),
                shown_prefix(new)
            ),
        ),
        ProjectEvent::PrefixForgotten { uid } => {
            p.verbose(&format!("{uid} holds names made from the old prefix: it is provisioned again"));
        }
        ProjectEvent::Replaced { workload, previous, file } => p.verbose(&format!(
            "workload `{workload}` was added from {}; {} replaces it",
            previous.display(),
            file.display()
        )),
        ProjectEvent::Registered { path } => {
            p.status("Registered", &format!("the builtin Fly provisioners in {}", relative(path)));
        }
        ProjectEvent::Warning { workload, warning, loaded } => match loaded {
            Some(l) => {
                p.warning(&warning.to_string(), &render::snippet(&l.sources, l.locate(&warning.path), p.styled()));
            }
            None => p.warning(&format!("{warning} (workload `{workload}`)"), ""),
        },
        ProjectEvent::Wrote { path } => p.verbose(&format!("wrote {}", path.display())),
        _ => {}
    }
}
