// `requests` and `limits` with CPU and memory quantities in several spellings.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(name = "quantities", requests(cpu = "250m", memory = "256Mi"), limits(cpu = "1.5", memory = "1G"))]
fn main() {
    let w = check_agreement(file!());
    let r = &w["containers"]["main"]["resources"];
    assert_eq!(r["requests"]["cpu"], "250m");
    assert_eq!(r["requests"]["memory"], "256Mi");
    assert_eq!(r["limits"]["cpu"], "1.5");
    assert_eq!(r["limits"]["memory"], "1G");
}
