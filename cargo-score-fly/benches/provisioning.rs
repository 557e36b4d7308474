//! Provisioning benchmarks (issue targets, whole `cargo-score-fly generate` processes):
//!
//! - 100 workloads × 5 static resources in one `generate`: ≤ 200 ms (first run, fresh
//!   project; and the rerun where every resource is reused).
//! - 20 independent cmd provisioners that each take 0.5 s: ≤ 1.5 s with the default
//!   concurrency.
//!
//! Run with `cargo bench -p cargo-score-fly --bench provisioning`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const TYPES: [&str; 5] = ["postgres", "redis", "s3", "dns", "amqp"];

fn workload(i: usize) -> String {
    let mut text = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: svc-{i:03}\ncontainers:\n  main:\n    image: registry.fly.io/svc-{i:03}:v1\n    variables:\n"
    );
    for ty in TYPES {
        let _ = writeln!(text, "      {}_HOST: ${{resources.{ty}-res.host}}", ty.to_uppercase());
    }
    text.push_str("      DB_PASSWORD: ${resources.postgres-res.password}\nresources:\n");
    for ty in TYPES {
        let _ = write!(text, "  {ty}-res:\n    type: {ty}\n");
    }
    text
}

fn static_provisioners() -> String {
    let mut text = String::new();
    for ty in TYPES {
        let _ = write!(
            text,
            "- id: static-{ty}\n  type: {ty}\n  static:\n    values: {{host: {ty}.internal, port: 1234}}\n    secrets: {{password: bench-secret}}\n"
        );
    }
    text
}

fn generate(dir: &Path, files: &[String]) {
    let status = Command::new(env!("CARGO_BIN_EXE_cargo-score-fly"))
        .current_dir(dir)
        .arg("generate")
        .args(files)
        .args(["-q", "-o", "out/"])
        .status()
        .expect("run cargo-score-fly");
    assert!(status.success());
}

fn bench(c: &mut Criterion) {
    // 100 × 5 static resources.
    let project = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(project.path().join(".score-fly")).unwrap();
    std::fs::write(project.path().join(".score-fly/bench.provisioners.yaml"), static_provisioners()).unwrap();
    let files: Vec<String> = (0..100)
        .map(|i| {
            let name = format!("svc-{i:03}.yaml");
            std::fs::write(project.path().join(&name), workload(i)).unwrap();
            name
        })
        .collect();
    let state = project.path().join(".score-fly/state.json");
    let mut group = c.benchmark_group("generate-100-workloads-500-static-resources");
    group.sample_size(20);
    group.bench_function("fresh project", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_file(&state);
            },
            |()| generate(project.path(), &files),
            BatchSize::PerIteration,
        );
    });
    generate(project.path(), &files);
    group.bench_function("rerun, all reused", |b| b.iter(|| generate(project.path(), &files)));
    group.finish();

    // 20 cmd provisioners of 0.5 s each.
    let project = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(project.path().join(".score-fly")).unwrap();
    let script = project.path().join("slow.sh");
    std::fs::write(&script, "#!/bin/sh\ncat > /dev/null\nsleep 0.5\necho '{\"values\": {\"host\": \"h\"}}'\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(
        project.path().join(".score-fly/slow.provisioners.yaml"),
        "- id: slow\n  type: slow\n  cmd:\n    binary: ./slow.sh\n",
    )
    .unwrap();
    let mut text =
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: slow\ncontainers:\n  main:\n    image: nginx\nresources:\n"
            .to_owned();
    for i in 0..20 {
        let _ = write!(text, "  r{i:02}:\n    type: slow\n");
    }
    std::fs::write(project.path().join("score.yaml"), text).unwrap();
    let state = project.path().join(".score-fly/state.json");
    let mut group = c.benchmark_group("generate-20-cmd-provisioners-of-0.5s");
    group.sample_size(10).measurement_time(Duration::from_secs(15));
    group.bench_function("default concurrency", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_file(&state);
            },
            |()| generate(project.path(), &["score.yaml".to_owned()]),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
