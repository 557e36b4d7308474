use score_fly_macros::score_workload;

#[score_workload(name = "web", image = "nginx", name = "again")]
fn main() {}
