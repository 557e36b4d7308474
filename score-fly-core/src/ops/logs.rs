//! `logs`: the log lines of one workload's app, or of several interleaved, from `fly logs -a
//! APP --json` (fly-2026.md §5.2). The JSON form is read, never the text form: each entry is
//! a pretty-printed object (not NDJSON), decoded as its closing brace arrives.
//!
//! - Streaming (the default): one `fly logs` per app, each line handed to the sink as it
//!   arrives, until the commands end (the user's Ctrl-C reaches them too).
//! - `--no-tail`: each `fly logs --no-tail` returns after its first non-empty batch, and with an
//!   empty buffer it would poll for ever, so each runs under a deadline; an app that printed
//!   nothing by then simply has no lines. The lines of every app are then sorted by time.
//! - `--since`: flyctl has no such flag; entries older than that are dropped here (their
//!   RFC 3339 `timestamp`).
//!
//! [`plan`] reads the project state (under the project lock); [`run`] needs no project, so a
//! long-running tail never holds the lock a deploy waits for. The project's known secrets
//! (resource outputs) are hidden in every line, should an app print one.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::error::Error;
pub use super::error::LogsError;
use crate::flyio::cli::{Flyctl, FlyctlError};
use crate::state::Project;
use crate::target::FlyTarget;

/// How long `--no-tail` waits for an app's buffer before deciding it has no lines.
pub const NO_TAIL_WAIT: Duration = Duration::from_secs(20);

/// Which apps, and how.
#[derive(Debug, Clone)]
pub struct LogsOptions {
    /// The workloads (all of the project's when empty).
    pub workloads: Vec<String>,
    /// Drop entries older than this.
    pub since: Option<Duration>,
    /// Print what is buffered, then stop.
    pub no_tail: bool,
    /// How long `no_tail` waits for an app's buffer ([`NO_TAIL_WAIT`]).
    pub no_tail_wait: Duration,
}

/// The apps whose logs are read.
#[derive(Debug, Default)]
pub struct LogsPlan {
    /// (workload, app), in workload order.
    pub apps: Vec<(String, String)>,
    /// The project's known secrets (resource outputs): hidden in every line shown, should an
    /// app print one.
    pub redactor: crate::secret::Redactor,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// The workload.
    pub workload: String,
    /// Its app.
    pub app: String,
    /// RFC 3339, as Fly gives it.
    pub timestamp: String,
    /// The machine's region.
    pub region: String,
    /// The machine id.
    pub instance: String,
    /// `info`, `error`...
    pub level: String,
    /// The line itself.
    pub message: String,
}

/// What a run saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogsReport {
    /// Lines handed to the sink, per app.
    pub lines: Vec<(String, usize)>,
    /// Apps that printed nothing within [`LogsOptions::no_tail_wait`] (`--no-tail`).
    pub quiet: Vec<String>,
}

/// The apps of `workloads` (all the project's when empty).
pub fn plan(project: &Project, workloads: &[String]) -> Result<LogsPlan, Error> {
    let state = super::resources::require_state(project)?;
    let mut names: Vec<String> = workloads.to_vec();
    if names.is_empty() {
        names = state.workloads.keys().cloned().collect();
    }
    let mut apps = Vec::new();
    for name in names {
        if !state.workloads.contains_key(&name) {
            let known = state.workloads.keys().cloned().collect();
            return Err(LogsError::UnknownWorkload { name, known }.into());
        }
        let app = crate::target::app_name(&state.app_prefix, &name);
        apps.push((name, app));
    }
    Ok(LogsPlan { apps, redactor: crate::secret::Redactor::for_state(&state) })
}

/// Reads the logs of `plan`'s apps into `sink` until they end (`--no-tail`) or `stop` is
/// not 0 (a signal handler sets it): then every `fly logs` is stopped, and what was read is
/// the report. A tail is a session's flyctl children, never left running on their own.
pub fn run(
    plan: &LogsPlan,
    options: &LogsOptions,
    target: &FlyTarget,
    sink: &(dyn Fn(&LogLine) + Sync),
    stop: &std::sync::atomic::AtomicUsize,
) -> Result<LogsReport, Error> {
    let flyctl = Flyctl::for_target(target).map_err(|e| Error::Unavailable(vec![e.to_string()]))?;
    let cutoff = options
        .since
        .map(|since| unix_nanos(SystemTime::now()) - i128::try_from(since.as_nanos()).unwrap_or(i128::MAX));
    let keep = |line: &LogLine| cutoff.is_none_or(|cutoff| parse_rfc3339(&line.timestamp).is_none_or(|t| t >= cutoff));
    let collected = std::sync::Mutex::new(Vec::new());
    let results: Vec<Result<(String, usize, bool), LogsError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .apps
            .iter()
            .map(|(workload, app)| {
                let (flyctl, collected, keep) = (&flyctl, &collected, &keep);
                scope.spawn(move || {
                    let mut decoder = Decoder::default();
                    let mut count = 0usize;
                    let mut on_line = |text: &str| {
                        if let Some(entry) = decoder.push(text) {
                            let line = log_line(workload, app, &entry);
                            if keep(&line) {
                                count += 1;
                                if options.no_tail {
                                    collected.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line);
                                } else {
                                    sink(&line);
                                }
                            }
                        }
                    };
                    let mut args = vec!["logs", "-a", app.as_str(), "--json"];
                    if options.no_tail {
                        args.push("--no-tail");
                    }
                    let mut command =
                        flyctl.command(&args).env_remove("FLY_APP").redact(&plan.redactor).cancel_on(stop);
                    if options.no_tail {
                        command = command.deadline(options.no_tail_wait);
                    }
                    match command.run(&mut on_line) {
                        Ok(_) => Ok((app.clone(), count, false)),
                        // Interrupted: the end of a tail, whatever flyctl said as it went.
                        _ if stop.load(std::sync::atomic::Ordering::SeqCst) != 0 => Ok((app.clone(), count, false)),
                        // An empty buffer: `--no-tail` polls for ever (§5.2).
                        Err(FlyctlError::TimedOut { .. }) if options.no_tail => Ok((app.clone(), count, count == 0)),
                        Err(source) => Err(LogsError::Flyctl { app: app.clone(), source }),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let mut report = LogsReport::default();
    for result in results {
        let (app, count, quiet) = result?;
        if quiet {
            report.quiet.push(app.clone());
        }
        report.lines.push((app, count));
    }
    let mut lines = collected.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    lines.sort_by_key(|l| (parse_rfc3339(&l.timestamp).unwrap_or(i128::MIN), l.workload.clone()));
    for line in &lines {
        sink(line);
    }
    Ok(report)
}

fn log_line(workload: &str, app: &str, entry: &serde_json::Value) -> LogLine {
    let text = |key: &str| entry[key].as_str().unwrap_or_default().to_owned();
    LogLine {
        workload: workload.to_owned(),
        app: app.to_owned(),
        timestamp: text("timestamp"),
        region: text("region"),
        instance: text("instance"),
        level: text("level"),
        message: text("message"),
    }
}

/// Collects the lines of flyctl's pretty-printed JSON objects and yields each object once
/// its last line (a `}` at the start of a line) has arrived. A line that is not part of an
/// object (a warning flyctl prints) is skipped.
#[derive(Debug, Default)]
struct Decoder {
    text: String,
}

impl Decoder {
    fn push(&mut self, line: &str) -> Option<serde_json::Value> {
        if self.text.is_empty() && !line.starts_with('{') {
            return None;
        }
        self.text.push_str(line);
        self.text.push('\n');
        if !line.starts_with('}') {
            // Bounded: an object that never closes is dropped rather than kept growing.
            if self.text.len() > crate::limits::MAX_LINE_BYTES * 4 {
                self.text.clear();
            }
            return None;
        }
        let parsed = serde_json::from_str(&self.text).ok();
        if parsed.is_some() || !line.trim_end().eq("}") {
            self.text.clear();
        }
        parsed
    }
}

fn unix_nanos(time: SystemTime) -> i128 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

/// Nanoseconds since the Unix epoch of an RFC 3339 time (`2026-08-01T12:00:00.123456789Z`,
/// `…+02:00`); `None` when it is not one.
fn parse_rfc3339(text: &str) -> Option<i128> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos: i128 = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = i128::from(number(20..20 + digits)?) * 10i128.pow(u32::try_from(9 - digits).ok()?);
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') && rest.as_bytes()[3] == b':' => {
            let hours: i64 = rest[1..3].parse().ok()?;
            let minutes: i64 = rest[4..6].parse().ok()?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_are_read_to_the_nanosecond() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-08-01T12:00:00.123456789Z"), Some(1_785_585_600_123_456_789));
        assert_eq!(parse_rfc3339("2026-08-01T14:00:00.5+02:00"), Some(1_785_585_600_500_000_000));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400_000_000_000));
        for bad in [
            "",
            "2026-08-01",
            "2026-13-01T00:00:00Z",
            "2026-08-01T12:00:00",
            "2026-08-01T12:00:00.Z",
            "x026-08-01T12:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn pretty_printed_objects_are_decoded_as_their_last_line_arrives() {
        let mut decoder = Decoder::default();
        let mut seen = Vec::new();
        for line in "Warn: something\n{\n    \"message\": \"a\",\n    \"meta\": {\n        \"Region\": \"ams\"\n    }\n}\n{\n    \"message\": \"b }\"\n}\n".lines() {
            if let Some(value) = decoder.push(line) {
                seen.push(value["message"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(seen, ["a", "b }"]);
    }

    #[test]
    fn a_no_tail_read_of_an_empty_buffer_ends_at_its_deadline_with_no_lines() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let fly = dir.path().join("fly");
        // An app with lines, and one whose buffer stays empty (flyctl polls for ever).
        std::fs::write(
            &fly,
            "#!/bin/sh\ncase \"$3\" in\n  demo-api) printf '{\\n    \"message\": \"up\",\\n    \"timestamp\": \"2026-08-01T12:00:00Z\"\\n}\\n' ;;\n  *) exec sleep 30 ;;\nesac\n",
        )
        .unwrap();
        std::fs::set_permissions(&fly, std::fs::Permissions::from_mode(0o755)).unwrap();
        let target = FlyTarget { flyctl: Some(fly), ..FlyTarget::default() };
        let plan = LogsPlan {
            apps: vec![("api".into(), "demo-api".into()), ("worker".into(), "demo-worker".into())],
            ..LogsPlan::default()
        };
        let options =
            LogsOptions { workloads: Vec::new(), since: None, no_tail: true, no_tail_wait: Duration::from_millis(300) };
        let seen = std::sync::Mutex::new(Vec::new());
        let never = std::sync::atomic::AtomicUsize::new(0);
        let report = run(&plan, &options, &target, &|l| seen.lock().unwrap().push(l.message.clone()), &never).unwrap();
        assert_eq!(*seen.lock().unwrap(), ["up"]);
        assert_eq!(report.quiet, ["demo-worker"]);
        assert_eq!(report.lines, [("demo-api".to_owned(), 1), ("demo-worker".to_owned(), 0)]);
    }
}
