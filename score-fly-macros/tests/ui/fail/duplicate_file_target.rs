use score_fly_macros::score_workload;

#[score_workload(name = "web", file("/etc/app.conf", content = "a"), file("/etc/app.conf", content = "b"))]
fn main() {}
