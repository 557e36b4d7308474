use score_fly_macros::score_workload;

#[score_workload(image = "nginx")]
fn main() {}
