use score_fly_macros::score_workload;

#[score_workload(name = "web", resource(db, class = "large"))]
fn main() {}
