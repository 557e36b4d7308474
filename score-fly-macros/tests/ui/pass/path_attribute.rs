// The attribute written by path, with no `use`.
include!("../support/agree.rs");

#[score_fly_macros::score_workload(name = "by-path", image = "nginx")]
fn main() {
    let w = check_agreement(file!());
    assert_eq!(w["metadata"]["name"], "by-path");
    assert_eq!(w["containers"]["main"]["image"], "nginx");
}
