use score_fly_macros::score_workload;

#[score_workload(name = "web", port(zero, port = 0), port(big, port = 70000), port(target, port = 80, target_port = 0))]
fn main() {}
