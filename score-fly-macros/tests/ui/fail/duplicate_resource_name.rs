use score_fly_macros::score_workload;

#[score_workload(name = "web", resource(db, type = "postgres"), resource(db, type = "mysql"))]
fn main() {}
