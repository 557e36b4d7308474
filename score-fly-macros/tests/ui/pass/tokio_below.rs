// `#[tokio::main]` below the attribute: `#[score_workload]` sees the `async fn main` and
// must leave it for tokio, unchanged.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(name = "tokio-below", readiness_probe(http_get(path = "/healthz", port = 8080)))]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let w = check_agreement(file!());
    assert_eq!(w["metadata"]["name"], "tokio-below");
    assert_eq!(async { 40 + 2 }.await, 42);
    Ok(())
}
