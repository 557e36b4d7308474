// `liveness_probe` / `readiness_probe` with `http_get` and every one of its fields.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(
    name = "http-probes",
    liveness_probe(http_get(
        path = "/livez",
        port = 8443,
        scheme = "HTTPS",
        host = "127.0.0.1",
        http_headers(X_Probe = "fly", "X-Request-Source" = "liveness"),
    )),
    readiness_probe(http_get(path = "/healthz", port = 8080, scheme = "HTTP")),
)]
fn main() {
    let w = check_agreement(file!());
    let live = &w["containers"]["main"]["livenessProbe"]["httpGet"];
    assert_eq!(live["scheme"], "HTTPS");
    assert_eq!(live["host"], "127.0.0.1");
    assert_eq!(
        live["httpHeaders"],
        serde_json::json!([{"name": "X_Probe", "value": "fly"}, {"name": "X-Request-Source", "value": "liveness"}])
    );
    assert_eq!(w["containers"]["main"]["readinessProbe"]["httpGet"]["port"], 8080);
}
