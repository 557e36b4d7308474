use score_fly_macros::score_workload;

#[score_workload(
    name = "web",
    liveness_probe(tcp_socket(port = 8080)),
    readiness_probe(http_get(path = "/healthz", port = 8080, headers(X = "y"))),
)]
fn main() {}
