// `port(...)` with `port`, `target_port` and both `protocol`s; several ports.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(
    name = "ports",
    port(web, port = 443, target_port = 8080, protocol = "TCP"),
    port(dns, port = 53, protocol = "UDP"),
    port(admin, port = 9000),
    port("metrics-http", port = 65535, target_port = 1)
)]
fn main() {
    let w = check_agreement(file!());
    let ports = &w["service"]["ports"];
    assert_eq!(ports["web"]["port"], 443);
    assert_eq!(ports["web"]["targetPort"], 8080);
    assert_eq!(ports["dns"]["protocol"], "UDP");
    assert_eq!(ports["admin"]["port"], 9000);
    assert_eq!(ports["metrics-http"]["targetPort"], 1);
}
