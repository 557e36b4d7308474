// `#[score_workload]` alone reads `score.yaml` beside Cargo.toml (tests/ui/fixtures/score.yaml,
// staged into trybuild's package by tests/macros/ui.rs).
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload]
fn main() {
    let w = check_agreement(file!());
    assert_eq!(w["metadata"]["name"], "bare-form");
    assert_eq!(w["service"]["ports"]["web"]["targetPort"], 8080);
}
