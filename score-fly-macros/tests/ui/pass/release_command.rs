// `release_command = "..."` becomes the `score-fly/release-command` annotation, beside the
// other annotations; the CLI reads the same workload from this source.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(
    name = "with-release-command",
    annotations("example.com/owner" = "storage"),
    release_command = "/app/todo migrate",
)]
fn main() {
    let w = check_agreement(file!());
    assert_eq!(w["metadata"]["annotations"]["score-fly/release-command"], "/app/todo migrate");
    assert_eq!(w["metadata"]["annotations"]["example.com/owner"], "storage");
}
