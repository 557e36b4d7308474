use score_fly_macros::score_workload;

#[score_workload(name = "web", port(web, port = "443"))]
fn main() {}
