use score_fly_macros::score_workload;

#[score_workload(name = "web", annotations("-bad key" = "x"))]
fn main() {}
