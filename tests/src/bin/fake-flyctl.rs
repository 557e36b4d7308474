//! The fake `flyctl` binary: see [`score_fly_tests::fake_flyctl`].

fn main() {
    std::process::exit(score_fly_tests::fake_flyctl::main());
}
