use score_fly_macros::score_workload;

#[score_workload(name = "web", variables(DB_HOST = "${resources.db.host}"))]
fn main() {}
