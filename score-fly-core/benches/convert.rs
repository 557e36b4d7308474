//! Parse + validate + convert benchmarks (issue targets: ≤ 1 ms per typical workload).
//!
//! Run with `cargo bench -p score-fly-core --bench convert`. `score-full.yaml` is read from
//! `../shared/score/samples/` (or `$SCORE_FLY_SHARED_DIR/score/samples/`); it declares two
//! containers and resources, which Fly cannot run as is, so the convert benchmark first
//! removes the second container, the resources, the volumes and the file whose `source`
//! does not exist, through `--override-property` overrides (which are part of what is timed).

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use score_fly_core::fly::{self, ConvertOptions, NoFiles};
use score_fly_core::spec::{self, Overrides};

fn shared_samples() -> Option<PathBuf> {
    let base = std::env::var_os("SCORE_FLY_SHARED_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"), PathBuf::from);
    let dir = base.join("score/samples");
    dir.is_dir().then_some(dir)
}

/// A typical service workload: ports, variables, probes, resources, a file, annotations.
fn typical_workload(i: usize) -> String {
    format!(
        r#"apiVersion: score.dev/v1b1
metadata:
  name: service-{i:03}
  team: payments
  annotations:
    score-fly/service-web-handlers: "tls,http"
    score-fly/service-web-auto-stop: "stop"
    score-fly/primary-region: "ams"
containers:
  main:
    image: registry.fly.io/service-{i:03}:v{i}
    command: ["/app/server"]
    args: ["--port", "8080"]
    variables:
      PORT: "8080"
      SERVICE_NAME: "${{metadata.name}}"
      TEAM: "${{metadata.team}}"
      RUST_LOG: info
      PRICE: "$$5"
    files:
      /etc/app/config.toml:
        content: |
          name = "${{metadata.name}}"
          workers = 4
    resources:
      requests:
        cpu: 500m
        memory: 256Mi
      limits:
        cpu: "1"
        memory: 512Mi
    livenessProbe:
      httpGet:
        path: /livez
        port: 8080
    readinessProbe:
      httpGet:
        path: /readyz
        port: 8080
        httpHeaders:
          - name: X-Probe
            value: fly
service:
  ports:
    web:
      port: 443
      targetPort: 8080
    metrics:
      port: 9091
      targetPort: 9091
"#
    )
}

fn bench(c: &mut Criterion) {
    let options = ConvertOptions::new("bench-");
    let mut group = c.benchmark_group("workload");

    let typical = typical_workload(1);
    group.bench_function("typical/parse+validate", |b| {
        b.iter(|| spec::load_str("score.yaml", black_box(&typical)).unwrap());
    });
    group.bench_function("typical/parse+validate+convert+toml", |b| {
        b.iter(|| {
            let loaded = spec::load_str("score.yaml", black_box(&typical)).unwrap();
            fly::convert(&loaded.workload, &options, &NoFiles).unwrap().to_toml()
        });
    });

    if let Some(dir) = shared_samples() {
        let full = std::fs::read_to_string(dir.join("score-full.yaml")).expect("score-full.yaml");
        group.bench_function("score-full/parse+validate", |b| {
            b.iter(|| spec::load_str("score-full.yaml", black_box(&full)).unwrap());
        });
        let overrides = Overrides {
            properties: vec![
                "containers.container-two2=".to_owned(),
                "resources=".to_owned(),
                "containers.container-one1.volumes=".to_owned(),
                "containers.container-one1.files./my/file=".to_owned(),
            ],
            ..Overrides::default()
        };
        group.bench_function("score-full/parse+overrides+validate+convert+toml", |b| {
            b.iter(|| {
                let loaded = spec::load("score-full.yaml", black_box(&full), &overrides).unwrap();
                fly::convert(&loaded.workload, &options, &NoFiles).unwrap().to_toml()
            });
        });
    } else {
        eprintln!("../shared/score/samples not found: the score-full.yaml benchmarks are skipped");
    }
    group.finish();

    let project: Vec<String> = (0..100).map(typical_workload).collect();
    let mut group = c.benchmark_group("project");
    group.throughput(Throughput::Elements(100));
    group.bench_function("100-workloads/parse+validate+convert+toml", |b| {
        b.iter(|| {
            project
                .iter()
                .map(|text| {
                    let loaded = spec::load_str("score.yaml", black_box(text)).unwrap();
                    fly::convert(&loaded.workload, &options, &NoFiles).unwrap().to_toml().len()
                })
                .sum::<usize>()
        });
    });
    group.finish();
}

/// The smallest workload, to grow at the limits.
const SMALL: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n";

/// Documents at the bounds of `score_fly_core::limits`: what used to be quadratic (80,000 keys
/// took 8.8 s) must stay linear, and what is refused must be refused at once.
fn limits(c: &mut Criterion) {
    let options = ConvertOptions::new("bench-");
    let mut group = c.benchmark_group("limits");
    group.sample_size(10);
    // 49,000 variables: 98,000 values with their keys, just within MAX_NODES.
    let keys: Vec<String> = (0..49_000).map(|i| format!("K{i}: v")).collect();
    let many_keys = format!("{SMALL}    variables: {{{}}}\n", keys.join(", "));
    group.bench_function("49k-variables/parse+validate+convert+toml", |b| {
        b.iter(|| {
            let loaded = spec::load_str("score.yaml", black_box(&many_keys)).unwrap();
            fly::convert(&loaded.workload, &options, &NoFiles).unwrap().to_toml().len()
        });
    });
    // A list of 99,900 values in the metadata.
    let values = vec!["1"; 99_900].join(",");
    let many_values = SMALL.replace("  name: web\n", &format!("  name: web\n  x: [{values}]\n"));
    group.bench_function("99.9k-values/parse+validate+convert+toml", |b| {
        b.iter(|| {
            let loaded = spec::load_str("score.yaml", black_box(&many_values)).unwrap();
            fly::convert(&loaded.workload, &options, &NoFiles).unwrap().to_toml().len()
        });
    });
    // Refused: 80,000 keys (MAX_NODES), the billion laughs (MAX_NODES, at the alias).
    let keys: Vec<String> = (0..80_000).map(|i| format!("K{i}: v")).collect();
    let too_many = format!("{SMALL}    variables: {{{}}}\n", keys.join(", "));
    group.bench_function("80k-variables/refused", |b| {
        b.iter(|| spec::load_str("score.yaml", black_box(&too_many)).is_err());
    });
    let mut laughs = String::from("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  a: &a [x,x,x,x,x,x,x,x,x]\n");
    for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let _ = writeln!(laughs, "  {name}: &{name} [{}]", vec![format!("*{prev}"); 9].join(","));
    }
    group.bench_function("billion-laughs/refused", |b| {
        b.iter(|| spec::load_str("score.yaml", black_box(&laughs)).is_err());
    });
    group.finish();
}

criterion_group!(benches, bench, limits);
criterion_main!(benches);
