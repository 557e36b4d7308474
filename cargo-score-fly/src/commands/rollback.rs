//! `rollback [WORKLOAD] [--to VERSION] [--yes]`: [`ops::releases::plan_rollback`], what it
//! cannot roll back shown, a confirmation on a terminal (`--yes` skips it; without a
//! terminal `--yes` is required), then [`ops::releases::rollback`].

use score_fly_core::ops;
use score_fly_core::ops::releases::RollbackOptions;

use super::{Failure, Session, project_state};
use crate::cli::{Format, RollbackArgs};

/// Runs `rollback`.
pub fn run(args: &RollbackArgs, session: &Session) -> Result<(), Failure> {
    let (project, mut state, target) = project_state(session)?;
    let options =
        RollbackOptions { workload: args.workload.clone(), to: args.to, deploy_args: args.deploy_args.clone() };
    let plan = ops::releases::plan_rollback(project.root(), &state, &options)?;
    let printer = &session.printer;
    printer.status(
        "Rollback",
        &format!(
            "{} (app {}) from release {} to release {}: image {}",
            plan.workload, plan.app, plan.from, plan.to, plan.image
        ),
    );
    for line in &plan.not_rolled_back {
        printer.warning(line, "");
    }
    if !args.yes {
        match printer.confirm(&format!("Roll back {} to release {}?", plan.app, plan.to)) {
            Some(true) => {}
            Some(false) => {
                printer.status("Cancelled", "nothing was deployed");
                return Ok(());
            }
            None => {
                return Err(Failure::Usage(format!(
                    "rollback deploys release {} of `{}` again and asks first, but there is no terminal to ask on: pass --yes to roll back without asking",
                    plan.to, plan.workload
                )));
            }
        }
    }
    let report = ops::releases::rollback(&project, &mut state, &target, plan, &session.reporter())?;
    printer.status(
        "Rolled back",
        &format!("{} to release {} as release {}", report.plan.app, report.plan.to, report.version),
    );
    if args.format == Some(Format::Json) {
        printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&report).expect("reports serialise")));
    }
    Ok(())
}
