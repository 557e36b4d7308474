// `name`, `annotations` (string and identifier keys) and other `metadata` keys, nested too,
// referenced from a variable with `${metadata...}`.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(
    name = "with-metadata",
    annotations("score-fly/service-web-handlers" = "tls,http", "example.com/owner" = "storage", tier = "gold"),
    metadata(team = "storage", owner(email = "ops@example.com", oncall = true), replicas = 3),
    variables(TEAM = "${metadata.team}", CONTACT = "${metadata.owner.email}", WEB = "${metadata.annotations.score-fly/service-web-handlers}"),
)]
fn main() {
    let w = check_agreement(file!());
    assert_eq!(w["metadata"]["annotations"]["score-fly/service-web-handlers"], "tls,http");
    assert_eq!(w["metadata"]["annotations"]["tier"], "gold");
    assert_eq!(w["metadata"]["team"], "storage");
    assert_eq!(w["metadata"]["owner"]["oncall"], true);
    assert_eq!(w["metadata"]["replicas"], 3);
    assert_eq!(w["containers"]["main"]["variables"]["TEAM"], "${metadata.team}");
}
