//! The deploy events: apps, secrets (names only), flyctl's output, `fly deploy`.

use score_fly_core::ops::deploy::DeployEvent;

use crate::cargo::relative;
use crate::printer::Printer;

/// Prints one deploy event.
pub(super) fn render(p: &Printer, event: &DeployEvent<'_>) {
    match event {
        DeployEvent::AppExists { app } => p.verbose(&format!("app {app} exists")),
        DeployEvent::AppUnknown { app, error } => {
            p.warning(&format!("cannot tell whether app {app} exists: {error}"), "");
        }
        DeployEvent::ImageDigestUnknown { app, image, error } => p.warning(
            &format!("cannot look up the digest of {image} for app {app} ({error}); it is deployed by its tag, and no digest is recorded"),
            "",
        ),
        DeployEvent::CreatingApp { app, org } => p.status("Creating", &format!("app {app} (org {org})")),
        DeployEvent::Flyctl { line, deploy: true } => p.detail(line),
        DeployEvent::Flyctl { line, deploy: false } => p.verbose(line),
        DeployEvent::Generated { path, app } => p.status("Generated", &format!("{} (app {app})", relative(path))),
        DeployEvent::ImportingSecrets { app, names } => {
            p.status("Importing", &format!("{} secret(s) into {app} ({})", names.len(), names.join(", ")));
        }
        DeployEvent::SecretsUnchanged { app } => p.verbose(&format!("secrets of {app} are unchanged")),
        DeployEvent::UnsettingSecrets { app, names } => {
            p.status("Unsetting", &format!("secret(s) {} of {app} (no longer used)", names.join(", ")));
        }
        DeployEvent::Deploying { app, image } => {
            let image = image.map(|i| format!(" (image {i})")).unwrap_or_default();
            p.status("Deploying", &format!("{app}{image}"));
        }
        DeployEvent::Deployed { app, url } => p.status("Deployed", &format!("{app} to {url}")),
        _ => {}
    }
}
