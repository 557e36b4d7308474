use score_fly_macros::score_workload;

#[score_workload(name = "web", file("/etc/app.conf", content = "x", permissions = "0644"))]
fn main() {}
