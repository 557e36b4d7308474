// `file = "..."` reads that Score file, relative to Cargo.toml.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(file = "tests/ui/fixtures/web.yaml")]
fn main() {
    let w = check_agreement(file!());
    assert_eq!(w["metadata"]["name"], "file-form");
    assert_eq!(w["containers"]["web"]["image"], "nginx:1.27");
    assert_eq!(w["resources"]["db"]["params"]["size"], 2);
}
