use score_fly_macros::score_workload;

#[score_workload(name = "a")]
fn main() {}
