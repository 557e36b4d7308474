use score_fly_macros::score_workload;

#[score_workload(name = "web", resource(db, type = "postgres", parms(size = 1)))]
fn main() {}
