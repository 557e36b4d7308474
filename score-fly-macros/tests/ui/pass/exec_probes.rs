// Probes with `exec(command = [...])`, alone and together with `http_get`.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(
    name = "exec-probes",
    liveness_probe(exec(command = ["/bin/sh", "-c", "test -f /tmp/alive"])),
    readiness_probe(http_get(path = "/ready", port = 3000), exec(command = ["/app/ready-check"])),
)]
fn main() {
    let w = check_agreement(file!());
    let c = &w["containers"]["main"];
    assert_eq!(c["livenessProbe"]["exec"]["command"], serde_json::json!(["/bin/sh", "-c", "test -f /tmp/alive"]));
    assert_eq!(c["readinessProbe"]["exec"]["command"], serde_json::json!(["/app/ready-check"]));
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
}
