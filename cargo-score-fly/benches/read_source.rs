//! Reading a service's workload from source, no build (issue target: ≤ 20 ms for
//! `examples/todo`).
//!
//! - `parse`: `score_fly_core::attr::read_source` on `examples/todo/src/main.rs` (syn parse of
//!   the file, the attribute, and Score validation) — what the CLI does per binary.
//! - `discover`: `cargo_score_fly::cargo::discover` for `-p todo`, which adds the
//!   `cargo metadata --no-deps` process cargo integration needs.
//!
//! Run with `cargo bench -p cargo-score-fly --bench read_source`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use cargo_score_fly::cli::PackageArgs;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let main_rs = repo.join("examples/todo/src/main.rs");
    let Ok(text) = std::fs::read_to_string(&main_rs) else {
        eprintln!("{} not found: benchmark skipped", main_rs.display());
        return;
    };
    c.bench_function("read-source/todo/parse", |b| {
        b.iter(|| score_fly_core::attr::read_source("src/main.rs", black_box(&text)).expect("valid"));
    });
    let args = PackageArgs {
        manifest_path: Some(repo.join("Cargo.toml")),
        package: vec!["todo".to_owned()],
        ..PackageArgs::default()
    };
    c.bench_function("read-source/todo/discover (cargo metadata + parse)", |b| {
        b.iter(|| cargo_score_fly::cargo::discover(black_box(&args), Path::new(".")).expect("todo is a service"));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
