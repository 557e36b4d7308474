//! `builtin-provisioners <type> provision|deprovision`: a builtin Fly provisioner as a
//! score-flyio style `cmd` provisioner (request JSON on stdin, response JSON on stdout,
//! progress on stderr).
//!
//! score-fly itself runs builtins in-process (`builtin:` entries); this entry point keeps
//! provisioner files written for score-flyio working
//! (`cmd: {binary: cargo-score-fly, args: [builtin-provisioners, postgres, $SCORE_PROVISIONER_MODE]}`).

use std::io::Read as _;
use std::path::Path;

use score_fly_core::builtin::{self, FlyEnv};
use score_fly_core::limits;
use score_fly_core::provision::protocol::{self, Mode};
use score_fly_core::provision::{CallContext, Events, Redactor};
use score_fly_core::state::State;

use super::{Failure, Session};
use crate::cli::BuiltinArgs;
use crate::settings::{Flags, Settings};

/// Progress lines on stderr.
struct Stderr<'p>(&'p crate::printer::Printer);

impl Events for Stderr<'_> {
    fn output(&self, uid: &str, line: &str) {
        self.0.detail(&format!("[{uid}] {line}"));
    }
}

/// Runs `builtin-provisioners`.
pub fn run(args: &BuiltinArgs, session: &Session) -> Result<(), Failure> {
    if !builtin::NAMES.contains(&args.name.as_str()) {
        return Err(Failure::Invalid(format!(
            "there is no builtin provisioner `{}` (builtins: {})",
            args.name,
            builtin::NAMES.join(", ")
        )));
    }
    let mode = if args.mode == "provision" { Mode::Provision } else { Mode::Deprovision };
    // One byte past the bound is enough to know the request is too large.
    let mut input = Vec::new();
    let limit = u64::try_from(limits::MAX_RESPONSE_BYTES).unwrap_or(u64::MAX).saturating_add(1);
    std::io::stdin()
        .take(limit)
        .read_to_end(&mut input)
        .map_err(|e| Failure::Error(format!("cannot read the request from stdin: {e}")))?;
    let request = protocol::parse_request(&input)
        .map_err(|e| Failure::Invalid(format!("the request on stdin is not a provisioner request: {e}")))?;
    // The prefix: the flag, else score-flyio's variable, else the project's state here.
    let flags = Flags {
        app_prefix: args.app_prefix.clone().or_else(|| std::env::var("SCORE_FLY_APP_PREFIX").ok()),
        org: args.org.clone(),
        region: args.region.clone(),
        base_image: None,
    };
    let mut settings = Settings::from_flags(flags)?;
    let app_prefix = settings.asked_prefix.clone().or_else(|| project_prefix(Path::new("."))).unwrap_or_default();
    settings.with_project_prefix(&app_prefix);
    let target = &settings.target;
    let env = FlyEnv {
        app_prefix: target.app_prefix.clone(),
        org: Some(target.org.clone()),
        region: target.region.clone(),
        ..FlyEnv::default()
    };
    let redactor = Redactor::default();
    let events = Stderr(&session.printer);
    let declared_by = Vec::new();
    let cx = CallContext {
        uid: &request.resource_uid,
        project_root: Path::new("."),
        redactor: &redactor,
        events: &events,
        builtins: &env,
        declared_by: &declared_by,
    };
    let response = builtin::call(&args.name, mode, &request, &env, &cx).map_err(|e| {
        Failure::Error(format!("{} {} of `{}` failed: {e}", args.name, args.mode, request.resource_uid))
    })?;
    if let Some(response) = response {
        session.printer.stdout(&format!("{}\n", serde_json::to_string(&response).expect("responses serialise")));
    }
    Ok(())
}

/// The app prefix of the project in `dir`, read without taking the lock (the score-fly
/// process that runs this provisioner holds it).
fn project_prefix(dir: &Path) -> Option<String> {
    let relative = Path::new(score_fly_core::state::STATE_DIR).join(score_fly_core::state::STATE_FILE);
    // Never through a link, never a FIFO (see `fsutil::open_inside`).
    let bytes = score_fly_core::fsutil::read_inside(dir, &relative, limits::MAX_STATE_BYTES).ok()??;
    let text = String::from_utf8(bytes).ok()?;
    State::parse(&dir.join(&relative), &text).ok().map(|s| s.app_prefix)
}
