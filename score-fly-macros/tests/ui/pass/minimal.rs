// The smallest inline workload: `name` only; one container `main` built from this package.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(name = "minimal")]
fn main() {
    let w = check_agreement(file!());
    assert_eq!(w["metadata"]["name"], "minimal");
    assert_eq!(w["containers"]["main"]["image"], ".");
}
