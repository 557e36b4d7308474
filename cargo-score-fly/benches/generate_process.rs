//! Wall time of a whole `cargo-score-fly generate` process for one workload (issue target:
//! ≤ 10 ms), on `examples/hello`.
//!
//! Run with `cargo bench -p cargo-score-fly --bench generate_process` (the bench profile
//! builds the binary optimised).

use std::path::PathBuf;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let binary = env!("CARGO_BIN_EXE_cargo-score-fly");
    let score = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/hello/score.yaml");
    let out = tempfile::tempdir().expect("temp dir");
    let output = out.path().join("fly_hello.toml");
    let run = || {
        let status = Command::new(binary)
            // The project (`.score-fly/`) is the current folder: keep it out of the repository.
            .current_dir(out.path())
            .arg("generate")
            .arg(&score)
            .args(["--image", "registry.fly.io/hello:bench", "-q", "-o"])
            .arg(&output)
            .status()
            .expect("run cargo-score-fly");
        assert!(status.success());
    };
    run();
    c.bench_function("generate-process/hello", |b| b.iter(run));
}

criterion_group!(benches, bench);
criterion_main!(benches);
