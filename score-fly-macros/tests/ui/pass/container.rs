// `container`, `image`, `command`, `args`, `variables` (identifier and string keys, `$$`
// escapes) on a `fn main() -> Result<...>`.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(
    name = "api",
    container = "server",
    image = "ghcr.io/example/api:1.2.3",
    command = ["/usr/local/bin/api"],
    args = ["--port", "8080", "--verbose"],
    variables(RUST_LOG = "info,api=debug", "HTTP.TIMEOUT" = "30s", LITERAL = "$${not.a.placeholder}", EMPTY = ""),
)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let w = check_agreement(file!());
    let c = &w["containers"]["server"];
    assert_eq!(c["image"], "ghcr.io/example/api:1.2.3");
    assert_eq!(c["command"], serde_json::json!(["/usr/local/bin/api"]));
    assert_eq!(c["args"], serde_json::json!(["--port", "8080", "--verbose"]));
    assert_eq!(c["variables"]["HTTP.TIMEOUT"], "30s");
    assert!(w["containers"].get("main").is_none());
    Ok(())
}
