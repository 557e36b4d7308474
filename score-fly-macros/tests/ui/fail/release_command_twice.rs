use score_fly_macros::score_workload;

#[score_workload(
    name = "web",
    annotations("score-fly/release-command" = "/app/web migrate"),
    release_command = "/app/web migrate",
)]
fn main() {}
