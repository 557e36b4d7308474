use score_fly_macros::score_workload;

#[score_workload(name = "web", file("/etc/app.conf", content = "x", mode = "0999"))]
fn main() {}
