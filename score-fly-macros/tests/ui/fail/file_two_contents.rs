use score_fly_macros::score_workload;

#[score_workload(name = "web", file("/etc/app.conf", content = "inline", source = "app.conf"))]
fn main() {}
