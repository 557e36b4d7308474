use score_fly_macros::score_workload;

#[score_workload(
    name = 5,
    command = "/app/run",
    variables = "A=1",
    file(content = "no target"),
    metadata(name = "twice"),
    port(web, port = 80, protocol),
)]
fn main() {}
