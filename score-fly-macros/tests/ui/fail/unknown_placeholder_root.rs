use score_fly_macros::score_workload;

#[score_workload(name = "web", variables(HOME = "${env.HOME}"))]
fn main() {}
