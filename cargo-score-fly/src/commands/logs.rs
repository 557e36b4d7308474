//! `logs`: arguments → [`ops::logs::plan`] (under the project lock, released at once) →
//! [`ops::logs::run`] with a sink that prints each line, until the logs end or a signal
//! comes ([`crate::signals`]) → a note for apps that said nothing.

use score_fly_core::ops::{self, logs::LogLine, logs::LogsOptions};

use super::{Failure, Session, open_project};
use crate::cli::{Format, LogsArgs};
use crate::settings::{Flags, Settings};

/// Runs `logs`.
pub fn run(args: &LogsArgs, session: &Session) -> Result<(), Failure> {
    let printer = &session.printer;
    // The lock is held only to read the state: a tail runs for hours.
    let plan = ops::logs::plan(&open_project(session)?, &args.workloads)?;
    if plan.apps.is_empty() {
        printer.status("Note", "the project has no workloads yet: deploy one first");
        return Ok(());
    }
    let settings = Settings::from_flags(Flags::default())?;
    let options = LogsOptions {
        workloads: args.workloads.clone(),
        since: args.since,
        no_tail: args.no_tail,
        no_tail_wait: ops::logs::NO_TAIL_WAIT,
    };
    let width = plan.apps.iter().map(|(w, _)| w.len()).max().unwrap_or(0);
    let several = plan.apps.len() > 1;
    let json = args.format == Format::Json;
    let sink = |line: &LogLine| {
        if json {
            printer.stdout(&format!("{}\n", serde_json::to_string(line).expect("log lines serialise")));
            return;
        }
        let prefix = if several { format!("{:>width$} | ", line.workload) } else { String::new() };
        printer.stdout(&format!(
            "{prefix}{} {} {} [{}] {}\n",
            line.timestamp, line.instance, line.region, line.level, line.message
        ));
    };
    // Ctrl-C stops every `fly logs` this run started, then ends it with 128 + the signal.
    let interrupted = crate::signals::interrupt_flag()?;
    let report = ops::logs::run(&plan, &options, &settings.target, &sink, &interrupted)?;
    if let Some(signal) = crate::signals::received(&interrupted) {
        return Err(crate::signals::stopped_by(signal));
    }
    for app in &report.quiet {
        printer.status("Note", &format!("app {app} has no log lines buffered"));
    }
    Ok(())
}
