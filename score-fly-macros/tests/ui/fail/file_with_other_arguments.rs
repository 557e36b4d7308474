use score_fly_macros::score_workload;

#[score_workload(file = "tests/ui/fixtures/web.yaml", name = "web", port(web, port = 80))]
fn main() {}
