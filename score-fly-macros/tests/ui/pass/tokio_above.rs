// `#[tokio::main]` above the attribute: tokio rewrites the async `main` first, then
// `#[score_workload]` sees the sync `fn main` it produced.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[tokio::main(flavor = "current_thread")]
#[score_workload(name = "tokio-above", port(web, port = 80, target_port = 8080))]
async fn main() {
    let w = check_agreement(file!());
    assert_eq!(w["metadata"]["name"], "tokio-above");
    assert_eq!(async { 40 + 2 }.await, 42);
}
