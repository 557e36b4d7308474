use score_fly_macros::score_workload;

// Nested past limits::MAX_DEPTH (64 levels): refused before it is parsed.
#[score_workload(
    name = "web",
    resource(db, type = "postgres", params(
        a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(a(x = 1))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))
    )),
)]
fn main() {}
