use score_fly_macros::score_workload;

#[score_workload(name = "web", volume("/data", source = "${resources.data}", readonly = true), resource(data, type = "volume"))]
fn main() {}
