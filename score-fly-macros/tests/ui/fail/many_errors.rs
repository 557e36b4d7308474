use score_fly_macros::score_workload;

#[score_workload(
    name = "Bad_Name",
    nmae = "x",
    image = "nginx",
    image = "again",
    requests(cpu = "lots"),
    variables(A = "${resources.nope.host}"),
    port(web, port = 0),
    resource(db),
)]
fn main() {}
