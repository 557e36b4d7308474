//! The release events: recorded, not recorded, a rollback's `fly deploy`.

use score_fly_core::ops::releases::ReleasesEvent;

use crate::printer::Printer;

/// Prints one release event.
pub(super) fn render(p: &Printer, event: &ReleasesEvent<'_>) {
    match event {
        ReleasesEvent::Recorded { workload, version } => p.status("Recorded", &format!("release {version} of {workload}")),
        ReleasesEvent::NotRecorded { workload, error } => p.warning(
            &format!("the deploy of {workload} succeeded but its release was not recorded ({error}); `rollback` cannot return to it"),
            "",
        ),
        ReleasesEvent::RollingBack { app, from, to, image } => {
            p.status("Deploying", &format!("{app} release {to} again (image {image}; current release {from})"));
        }
        ReleasesEvent::Flyctl { line } => p.detail(line),
        _ => {}
    }
}
