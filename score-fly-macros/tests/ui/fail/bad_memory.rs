use score_fly_macros::score_workload;

#[score_workload(name = "web", limits(memory = "512MB"))]
fn main() {}
