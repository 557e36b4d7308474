//! `build`'s events as status lines, and the push's upload progress (a bar per blob on a
//! terminal, a line per blob otherwise).

use std::collections::BTreeMap;

use score_fly_core::image::PushEvent;
use score_fly_core::ops::build::BuildEvent;

use crate::cargo;
use crate::printer::Printer;

/// Prints one build event.
pub(super) fn render(printer: &Printer, push: &mut Progress, event: &BuildEvent<'_>) {
    match event {
        BuildEvent::Base { base, digest, elapsed } => {
            printer.verbose(&format!("base image {base} is {digest} ({elapsed:?})"));
        }
        BuildEvent::BasePinned { base, digest, age } => printer.status(
            "Using",
            &format!(
                "base image {base} as pinned {}: {digest} (cached; --pull asks the registry for the tag's current image)",
                age.map_or_else(|| "earlier".to_owned(), |age| format!("{} ago", human_age(age))),
            ),
        ),
        // Names only: values may be long, and are the user's business.
        BuildEvent::BuildEnv { names } => printer.verbose(&format!("build-env: {}", names.join(", "))),
        BuildEvent::WroteLayout { dir, tag, digest, report } => {
            let mut notes = Vec::new();
            if report.replaced {
                notes.push(format!("replaced the earlier {tag}"));
            }
            if !report.kept.is_empty() {
                notes.push(format!("kept {}", report.kept.join(", ")));
            }
            if report.removed > 0 {
                notes.push(format!("removed {} blobs no tag uses", report.removed));
            }
            let note = if notes.is_empty() { String::new() } else { format!("; {}", notes.join("; ")) };
            printer.status("Wrote", &format!("OCI image layout {} ({tag}, {digest}{note})", cargo::relative(dir)));
        }
        BuildEvent::Push(event) => push.event(printer, event),
        BuildEvent::Pushed { reference, digest, uploaded, blobs, bytes } => {
            push.finish();
            printer.status(
                "Pushed",
                &format!("{reference} ({digest}; {uploaded} of {blobs} blobs uploaded, {})", human_bytes(*bytes)),
            );
        }
        BuildEvent::SbomAttached { reference, digest, how, crates } => printer.status(
            "Attached",
            &format!(
                "SBOM ({crates} crates, CycloneDX) to {reference} as {digest} ({})",
                match how {
                    score_fly_core::image::sbom::Attached::ReferrersApi => "referrers API",
                    score_fly_core::image::sbom::Attached::TagSchema => "tag sha256-<digest>: the registry has no referrers API",
                }
            ),
        ),
        BuildEvent::BuiltNotPushed { package, digest } => printer.status(
            "Built",
            &format!("image {digest} for {package} (not pushed: add --push, or --output-oci DIR)"),
        ),
        BuildEvent::WroteDockerfile { path } => printer.status(
            "Wrote",
            &format!(
                "{} for Fly's remote builder (context: the workspace root); `generate` points fly.toml at it",
                cargo::relative(path)
            ),
        ),
        _ => {}
    }
}

/// Upload progress. Blobs go up concurrently, so bars are keyed by digest.
#[derive(Default)]
pub(super) struct Progress {
    bars: indicatif::MultiProgress,
    active: BTreeMap<String, indicatif::ProgressBar>,
}

impl Progress {
    fn event(&mut self, printer: &Printer, event: &PushEvent) {
        match event {
            PushEvent::Skipped { digest, size } => {
                printer.verbose(&format!("{} already in the registry ({})", short(digest), human_bytes(*size)));
            }
            PushEvent::Mounted { digest } => printer.verbose(&format!("{} mounted from the base image", short(digest))),
            PushEvent::Uploading { digest, size } => {
                if printer.is_terminal() && !printer.is_quiet() {
                    let bar = self.bars.add(indicatif::ProgressBar::new(*size));
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "   Uploading {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.set_message(short(digest));
                    self.active.insert(digest.clone(), bar);
                } else {
                    printer.status("Uploading", &format!("{} ({})", short(digest), human_bytes(*size)));
                }
            }
            PushEvent::Progress { digest, sent } => {
                if let Some(bar) = self.active.get(digest) {
                    bar.set_position(*sent);
                }
            }
            PushEvent::Uploaded { digest } => {
                if let Some(bar) = self.active.remove(digest) {
                    bar.finish_and_clear();
                }
            }
        }
    }

    /// Clears what is left of the bars (the push is done).
    fn finish(&mut self) {
        for (_, bar) in std::mem::take(&mut self.active) {
            bar.finish_and_clear();
        }
    }
}

fn short(digest: &str) -> String {
    digest.trim_start_matches("sha256:").chars().take(12).collect()
}

/// `40 s`, `12 min`, `5 h`, `3 days`.
fn human_age(age: std::time::Duration) -> String {
    let s = age.as_secs();
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

fn human_bytes(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_sizes_read_at_a_glance() {
        let secs = std::time::Duration::from_secs;
        assert_eq!(human_age(secs(40)), "40 s");
        assert_eq!(human_age(secs(720)), "12 min");
        assert_eq!(human_age(secs(5 * 3600)), "5 h");
        assert_eq!(human_age(secs(3 * 86_400)), "3 days");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(short("sha256:0123456789abcdef"), "0123456789ab");
    }
}
