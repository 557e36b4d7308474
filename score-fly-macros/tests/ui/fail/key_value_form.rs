use score_fly_macros::score_workload;

#[score_workload = "score.yaml"]
fn main() {}
