use score_fly_macros::score_workload;

#[score_workload(name = "web", port(web, port = 80, targetPort = 8080))]
fn main() {}
