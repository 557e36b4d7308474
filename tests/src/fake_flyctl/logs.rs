//! `fly logs -a APP [--no-tail|-n] [--json|-j] [-r REGION] [-m MACHINE]` (fly-2026.md §5.2;
//! flyctl `internal/command/logs/logs.go`): entries of the app's log buffer in the fake
//! server, each printed as flyctl's `render.JSON` prints a `LogEntry` (a pretty-printed
//! object, one after another: not NDJSON).
//!
//! `--no-tail` polls and returns after the first non-empty batch; with an empty buffer it
//! keeps polling and never returns (§5.2, derived from `logs.Poll`), as flyctl does. Without
//! it the command streams: what is there, then every new entry, until it is killed. `-m`
//! drops the region filter. Only the `--json` form is modelled (score-fly reads nothing else):
//! the text form is refused with a note saying so, never invented.

use serde_json::json;

use super::flags::{APP, Args, CONFIG, JSON, Kind, REGION, Spec, flag};
use super::{Ctx, go_json};

/// The command.
pub(super) const SPECS: &[Spec] = &[Spec {
    path: "logs",
    flags: &[
        APP,
        CONFIG,
        REGION,
        JSON,
        flag("machine", Some('m'), Kind::Str),
        flag("select", Some('s'), Kind::Bool),
        flag("no-tail", Some('n'), Kind::Bool),
    ],
    args: Args::None,
    run: logs,
}];

fn logs(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    if ctx.parsed.bool("select") {
        return Err("fake flyctl: `fly logs --select` prompts for a machine, which is not modelled".to_owned());
    }
    if !ctx.parsed.bool("json") {
        return Err("fake flyctl: only `fly logs --json` is modelled (the text form's layout is not in the reference)"
            .to_owned());
    }
    let machine = ctx.parsed.get("machine").filter(|m| !m.is_empty()).map(str::to_owned);
    let region =
        if machine.is_some() { None } else { ctx.parsed.get("region").filter(|r| !r.is_empty()).map(str::to_owned) };
    let no_tail = ctx.parsed.bool("no-tail");
    let mut after = 0u64;
    loop {
        let batch = ctx.call("logs", &json!({ "app": app, "after": after, "instance": machine, "region": region }))?;
        let entries = batch["entries"].as_array().cloned().unwrap_or_default();
        for entry in &entries {
            go_json(ctx, entry);
        }
        ctx.flush();
        after = batch["next"].as_u64().unwrap_or(after);
        if no_tail && !entries.is_empty() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
