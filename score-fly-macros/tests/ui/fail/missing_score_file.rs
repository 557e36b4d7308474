// An absolute path, so the message names no machine-specific directory.
use score_fly_macros::score_workload;

#[score_workload(file = "/nonexistent/score-fly-ui-test/score.yaml")]
fn main() {}
