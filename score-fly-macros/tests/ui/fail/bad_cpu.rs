use score_fly_macros::score_workload;

#[score_workload(name = "web", requests(cpu = "1.5m"))]
fn main() {}
