// The messages name the Score file as the attribute wrote it, with the line and column of
// each problem in it.
use score_fly_macros::score_workload;

#[score_workload(file = "tests/ui/fixtures/invalid.yaml")]
fn main() {}
