//! The init events: the project state found or created.

use score_fly_core::ops::init::InitEvent;
use score_fly_core::state::shown_prefix;

use crate::cargo::relative;
use crate::printer::Printer;

/// Prints one init event.
pub(super) fn render(p: &Printer, event: &InitEvent<'_>) {
    let shown = |dir: &std::path::Path| relative(&std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()));
    match event {
        InitEvent::Found { dir } => p.status("Found", &format!("existing project state in {}", shown(dir))),
        InitEvent::Created { dir, prefix } => {
            p.status("Created", &format!("{} (app prefix {})", shown(dir), shown_prefix(prefix)));
        }
        _ => {}
    }
}
