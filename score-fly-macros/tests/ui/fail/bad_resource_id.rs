use score_fly_macros::score_workload;

#[score_workload(name = "web", resource(db, type = "postgres", id = "Shared_DB"))]
fn main() {}
