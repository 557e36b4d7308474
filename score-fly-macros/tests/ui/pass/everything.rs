// Every argument in one attribute (keywords and string literals as keys, trailing commas),
// with other attributes and doc comments around `main`.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

/// The service.
#[score_workload(
    name = "todo",
    annotations("score-fly/service-web-handlers" = "tls,http"),
    metadata(team = "storage"),
    container = "app",
    image = ".",
    command = ["/app/todo"],
    args = ["--port", "8080"],
    variables(RUST_LOG = "info", DATABASE_URL = "postgres://${resources.db.host}:${resources.db.port}/${resources.db.database}"),
    file("/etc/todo.toml", content = "port = 8080", mode = "0644", no_expand = false),
    volume("/data", source = "${resources.data}", path = "todo", read_only = false),
    requests(cpu = "1", memory = "256Mi"),
    limits(cpu = "2", memory = "512Mi"),
    liveness_probe(http_get(path = "/livez", port = 8080)),
    readiness_probe(http_get(path = "/healthz", port = 8080, http_headers(X_Probe = "fly"))),
    port(web, port = 443, target_port = 8080, protocol = "TCP"),
    resource(db, type = "postgres", class = "default", id = "shared-db",
             params(size = 1, extensions = ["pgcrypto"]),
             metadata(annotations("example.com/owner" = "storage"))),
    resource(data, type = "volume"),
)]
#[allow(clippy::needless_return)]
#[inline(never)]
fn main() {
    let w = check_agreement(file!());
    assert_eq!(w["apiVersion"], "score.dev/v1b1");
    assert_eq!(w["containers"]["app"]["volumes"]["/data"]["path"], "todo");
    assert_eq!(w["resources"]["db"]["id"], "shared-db");
    return;
}
