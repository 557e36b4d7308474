//! Score workload → `fly.toml`: every mapping rule of the conversion, every Score sample.
//!
//! Each test loads a Score document with `score_fly_core::spec::load_str`, converts it with
//! `score_fly_core::fly::convert` and checks the result three ways: a snapshot of the
//! `fly.toml` text (with the warnings, the secret *names* and the generated files listed in a
//! `#` header), targeted assertions on the typed model, and the independent strict checker
//! `score_fly_tests::flytoml::assert_valid` — every `fly.toml` produced here must pass it.
//! Failures are checked by the problem's Score field path and a message fragment, and the
//! whole error text is snapshotted.
//!
//! The Score samples and examples are read at runtime from the shared reference folder
//! (`score_fly_tests::shared_or_skip`); they are never copied into the project. One test
//! goes over every sample found there ([`SAMPLES`] says what each needs and checks, its
//! snapshot is `sample_<name>`). When the folder is absent it says so on stderr and checks
//! nothing on a developer's machine, and fails when `CI` is set.
//!
//! Secret values used here are fakes; they are asserted on in code but never appear in a
//! snapshot (the header lists secret names only).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use score_fly_core::fly::{self, Conversion, ConvertError, ConvertOptions, FileAccess, LocalFiles, NoFiles};
use score_fly_core::placeholder::ResourceOutputs;
use score_fly_core::spec;
use score_fly_tests::flytoml;
use serde_json::json;

// ----- helpers -------------------------------------------------------------------------

/// The app prefix every test uses.
const PREFIX: &str = "demo-";
/// A fake project folder: never on disk, so nothing is read from it by accident.
const PROJECT: &str = "/score-fly-test/project";

/// Fake secret outputs (asserted in code, never snapshotted).
const PG_PASSWORD: &str = "pg-s3cret-Zq81xv";
const MYSQL_PASSWORD: &str = "mysql-s3cret-Hk27pd";
const REDIS_PASSWORD: &str = "redis-s3cret-Wm44tn";
const AMQP_PASSWORD: &str = "amqp-s3cret-Lr90cs";

/// Options with the test prefix, the fake project folder for `score_dir` and `out_dir`, and
/// no resources.
fn options() -> ConvertOptions {
    ConvertOptions {
        app_prefix: PREFIX.to_owned(),
        score_dir: PathBuf::from(PROJECT),
        out_dir: PathBuf::from(PROJECT),
        resources: BTreeMap::new(),
        preflight: false,
        primary_region: None,
        built: None,
        sources: fly::SourcePolicy::default(),
    }
}

/// [`options`] with these resource outputs.
fn options_with(resources: impl IntoIterator<Item = (&'static str, ResourceOutputs)>) -> ConvertOptions {
    ConvertOptions {
        resources: resources.into_iter().map(|(name, outputs)| (name.to_owned(), outputs)).collect(),
        ..options()
    }
}

fn json_map(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("expected a JSON object, found {other}"),
    }
}

fn outputs(uid: &str, values: serde_json::Value, secrets: serde_json::Value) -> ResourceOutputs {
    ResourceOutputs { uid: uid.to_owned(), values: json_map(values), secrets: json_map(secrets) }
}

/// What a postgres provisioner gives (score-compose's output keys), password secret.
fn postgres_outputs(uid: &str) -> ResourceOutputs {
    outputs(
        uid,
        json!({
            "host": "demo-pg.flycast",
            "port": 5432,
            "name": "app_db",
            "database": "app_db",
            "username": "app_user",
        }),
        json!({ "password": PG_PASSWORD }),
    )
}

/// A volume resource: its `source` output is the Fly volume name.
fn volume_outputs(uid: &str) -> ResourceOutputs {
    outputs(uid, json!({ "source": "data_vol", "type": "volume" }), json!({}))
}

/// In-memory files, for `source` files and Dockerfiles without touching the disk.
#[derive(Default)]
struct MemFiles(BTreeMap<PathBuf, Vec<u8>>);

impl MemFiles {
    fn with(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.0.insert(PathBuf::from(path), bytes.into());
        self
    }
}

impl FileAccess for MemFiles {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.0.get(path).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} does not exist", path.display()))
        })
    }

    fn exists(&self, path: &Path) -> bool {
        self.0.contains_key(path)
    }
}

/// Removes the common indentation of a raw string literal (and its first newline), so the
/// YAML documents can be indented with the code.
fn doc(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: String =
        text.lines().map(|line| line.get(indent..).unwrap_or("").trim_end()).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}

#[track_caller]
fn load(yaml: &str) -> spec::Loaded {
    spec::load_str("score.yaml", yaml).unwrap_or_else(|e| panic!("the test document must load:\n{e}\n---\n{yaml}"))
}

#[track_caller]
fn try_convert(yaml: &str, options: &ConvertOptions, files: &dyn FileAccess) -> Result<Conversion, ConvertError> {
    fly::convert(&load(yaml).workload, options, files)
}

/// Converts through `files`, asserts the `fly.toml` is valid and holds no secret value.
#[track_caller]
fn convert_ok_with(yaml: &str, options: &ConvertOptions, files: &dyn FileAccess) -> Conversion {
    let conversion =
        try_convert(yaml, options, files).unwrap_or_else(|e| panic!("the conversion must succeed:\n{e}\n---\n{yaml}"));
    let toml = conversion.to_toml();
    flytoml::assert_valid(&toml);
    for (name, secret) in &conversion.secrets {
        assert!(
            secret.expose().is_empty() || !toml.contains(secret.expose()),
            "the value of secret `{name}` is in fly.toml:\n{toml}"
        );
    }
    conversion
}

/// Loads, converts (reading the local disk), asserts the `fly.toml` is valid, returns it.
#[track_caller]
fn convert_ok(yaml: &str, options: &ConvertOptions) -> Conversion {
    convert_ok_with(yaml, options, &LocalFiles)
}

/// Loads and converts through `files`; the conversion must fail.
#[track_caller]
fn convert_err_with(yaml: &str, options: &ConvertOptions, files: &dyn FileAccess) -> ConvertError {
    match try_convert(yaml, options, files) {
        Ok(conversion) => panic!("the conversion must fail, it gave:\n{}", conversion.to_toml()),
        Err(e) => e,
    }
}

/// Loads and converts (reading the local disk); the conversion must fail.
#[track_caller]
fn convert_err(yaml: &str, options: &ConvertOptions) -> ConvertError {
    convert_err_with(yaml, options, &LocalFiles)
}

/// [`doc`], with every line indented by `prefix` (to nest a block in a YAML document).
fn indented(text: &str, prefix: &str) -> String {
    let mut out = String::new();
    for line in doc(text).lines() {
        writeln!(out, "{prefix}{line}").unwrap();
    }
    out
}

/// The error has a problem at `path` whose message contains `fragment`.
#[track_caller]
fn assert_problem(error: &ConvertError, path: &str, fragment: &str) {
    assert!(
        error.problems.iter().any(|p| p.path.to_string() == path && p.message.contains(fragment)),
        "expected a problem at `{path}` containing {fragment:?}, got:\n{error}"
    );
}

/// The error has exactly one problem, at `path`, containing `fragment`.
#[track_caller]
fn assert_only_problem(error: &ConvertError, path: &str, fragment: &str) {
    assert_eq!(error.problems.len(), 1, "expected exactly one problem, got:\n{error}");
    assert_problem(error, path, fragment);
}

/// The warnings of a conversion, as `path: message` lines.
fn warning_lines(conversion: &Conversion) -> Vec<String> {
    conversion.warnings.iter().map(ToString::to_string).collect()
}

/// The snapshot text: a `#` header (warnings, secret names, generated files), then fly.toml.
fn render(conversion: &Conversion) -> String {
    render_with(&[], conversion)
}

/// [`render`] with the loader's warnings too.
fn render_with(load_warnings: &[String], conversion: &Conversion) -> String {
    let mut out = String::new();
    if !load_warnings.is_empty() {
        out.push_str("# load warnings:\n");
        for w in load_warnings {
            writeln!(out, "#   {w}").unwrap();
        }
    }
    let warnings = warning_lines(conversion);
    if warnings.is_empty() {
        out.push_str("# warnings: none\n");
    } else {
        out.push_str("# warnings:\n");
        for w in &warnings {
            writeln!(out, "#   {w}").unwrap();
        }
    }
    if !conversion.secrets.is_empty() {
        let names: Vec<&str> = conversion.secrets.keys().map(String::as_str).collect();
        writeln!(out, "# secrets (names only): {}", names.join(", ")).unwrap();
    }
    if !conversion.generated_files.is_empty() {
        out.push_str("# generated files:\n");
        for f in &conversion.generated_files {
            writeln!(out, "#   {} ({} bytes)", f.path.display(), f.bytes.len()).unwrap();
        }
    }
    out.push_str("# ---\n");
    out.push_str(&conversion.to_toml());
    out
}

/// The snapshot text of a failed conversion.
fn render_error(load_warnings: &[String], error: &ConvertError) -> String {
    let mut out = String::new();
    if !load_warnings.is_empty() {
        out.push_str("# load warnings:\n");
        for w in load_warnings {
            writeln!(out, "#   {w}").unwrap();
        }
        out.push_str("# ---\n");
    }
    out.push_str(&error.to_string());
    out.push('\n');
    out
}

/// The `[env]` of a conversion.
fn env(conversion: &Conversion) -> &BTreeMap<String, String> {
    &conversion.config.env
}

fn base64_decode(text: &str) -> Vec<u8> {
    // A tiny standard-alphabet decoder, so the tests do not depend on the product's base64.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for b in text.bytes().filter(|b| *b != b'=') {
        let value = ALPHABET.iter().position(|a| *a == b).unwrap_or_else(|| panic!("not base64: {text}"));
        bits = (bits << 6) | u32::try_from(value).unwrap();
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xff).unwrap());
        }
    }
    out
}

// ----- the official Score samples ---------------------------------------------------------

/// What an official Score sample needs to convert, and what its conversion must show besides
/// its snapshot (`sample_<name>`, see [`snapshot_name`]).
struct Sample {
    /// Path under the shared `score/` folder.
    path: &'static str,
    /// The options it converts with, given the folder it sits in.
    options: fn(&Path) -> ConvertOptions,
    /// Whether `source` files are read (from the sample's folder) or refused.
    local_files: bool,
    /// The checks on its result.
    expect: Expect,
}

/// A sample's expected outcome, with checks on the typed result.
enum Expect {
    /// It converts; the checks take the conversion and the snapshot text.
    Converts(fn(&Conversion, &str)),
    /// Fly cannot run it; the checks take the error and the load warnings.
    Fails(fn(&ConvertError, &[String])),
}

/// Every official sample, with what it needs. The test reads the shared folder and fails on a
/// sample missing here (or listed here and gone), so a new sample cannot go unchecked.
const SAMPLES: &[Sample] = &[
    Sample {
        path: "examples/resources/amqp/score.yaml",
        options: |_| {
            options_with([(
                "my-amqp",
                outputs(
                    "amqp.default#my-workload.my-amqp",
                    json!({"host": "demo-amqp.flycast", "port": 5672, "vhost": "/", "username": "app"}),
                    json!({"password": AMQP_PASSWORD}),
                ),
            )])
        },
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            check_secret_password(conversion, "AMQP_PASSWORD", AMQP_PASSWORD);
            assert_eq!(env(conversion)["AMQP_VHOST"], "/");
        }),
    },
    Sample {
        path: "examples/resources/dns/score.yaml",
        options: |_| {
            options_with([
                ("dns", outputs("dns.default#my-workload.dns", json!({"host": "my-workload.fly.dev"}), json!({}))),
                ("route", outputs("route.default#my-workload.route", json!({}), json!({}))),
            ])
        },
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            assert!(conversion.secrets.is_empty());
            assert_eq!(conversion.config.services.len(), 1);
            assert_eq!(conversion.config.services[0].internal_port, 8080);
        }),
    },
    Sample {
        path: "examples/resources/mysql/score.yaml",
        options: |_| {
            options_with([(
                "my-mysql",
                outputs(
                    "mysql.default#my-workload.my-mysql",
                    json!({"host": "demo-mysql.flycast", "port": 3306, "name": "app", "database": "app", "username": "app"}),
                    json!({"password": MYSQL_PASSWORD}),
                ),
            )])
        },
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            check_secret_password(conversion, "MYSQL_PASSWORD", MYSQL_PASSWORD);
            assert_eq!(env(conversion)["MYSQL_PORT"], "3306");
        }),
    },
    Sample {
        path: "examples/resources/postgres/score.yaml",
        options: |_| options_with([("my-postgres", postgres_outputs("postgres.default#my-workload.my-postgres"))]),
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            check_secret_password(conversion, "POSTGRES_PASSWORD", PG_PASSWORD);
            assert_eq!(env(conversion)["POSTGRES_HOST"], "demo-pg.flycast");
            assert_eq!(env(conversion)["POSTGRES_PORT"], "5432");
            assert_eq!(env(conversion)["POSTGRES_DATABASE"], "app_db");
            assert_eq!(env(conversion)["POSTGRES_USERNAME"], "app_user");
        }),
    },
    Sample {
        path: "examples/resources/redis/score.yaml",
        options: |_| {
            options_with([(
                "my-redis",
                outputs(
                    "redis.default#my-workload.my-redis",
                    json!({"host": "demo-redis.flycast", "port": 6379, "username": "default"}),
                    json!({"password": REDIS_PASSWORD}),
                ),
            )])
        },
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            check_secret_password(conversion, "REDIS_PASSWORD", REDIS_PASSWORD);
            assert_eq!(env(conversion)["REDIS_HOST"], "demo-redis.flycast");
        }),
    },
    Sample {
        path: "examples/specification/annotations/score.yaml",
        options: |_| options(),
        local_files: true,
        expect: Expect::Converts(|conversion, snapshot| {
            assert_eq!(conversion.config.app, "demo-my-workload");
            // Annotations under other prefixes are left alone.
            assert!(!snapshot.contains("podscoreannotation"));
        }),
    },
    Sample {
        path: "examples/specification/command/score.yaml",
        options: |_| options(),
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            let experimental = conversion.config.experimental.as_ref().expect("[experimental]");
            assert_eq!(experimental.entrypoint.as_deref(), Some(&["/bin/sh".to_owned()][..]));
            assert_eq!(experimental.cmd.as_ref().map(Vec::len), Some(2));
        }),
    },
    Sample {
        path: "examples/specification/files/score.yaml",
        // fly.toml beside the Score file: local paths are relative to the same folder.
        options: |folder| ConvertOptions { score_dir: folder.to_owned(), out_dir: folder.to_owned(), ..options() },
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            let files: BTreeMap<&str, &fly::config::FileEntry> =
                conversion.config.files.iter().map(|f| (f.guest_path.as_str(), f)).collect();
            assert_eq!(files["/fileA.txt"].local_path.as_deref(), Some("fileA.txt"));
            assert_eq!(files["/fileB.txt"].raw_value.as_deref(), Some("I am fileB!\n"));
            let generated = &conversion.generated_files;
            assert_eq!(generated.len(), 1);
            assert_eq!(generated[0].bytes, b"hello world");
            assert_eq!(files["/fileC.bin"].local_path.as_deref(), Some(generated[0].path.to_str().unwrap()));
        }),
    },
    Sample {
        path: "examples/specification/limits-and-requests/score.yaml",
        options: |_| options(),
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            // limits 250m / 256Mi are the largest: one shared CPU (rounded up, with a warning), 256 MB.
            assert_eq!(conversion.config.vm[0].size, "shared-cpu-1x");
            assert_eq!(conversion.config.vm[0].memory, "256mb");
            assert_eq!(conversion.warnings.len(), 1, "{:?}", warning_lines(conversion));
            assert!(
                conversion.warnings[0].message.contains("cpu 250m rounded up to 1"),
                "{:?}",
                warning_lines(conversion)
            );
        }),
    },
    Sample {
        path: "examples/specification/probes/score.yaml",
        options: |_| options(),
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            // No service: both probes are machine checks.
            let checks = &conversion.config.checks;
            assert_eq!(checks.keys().collect::<Vec<_>>(), ["liveness_probe", "readiness_probe"]);
            assert_eq!(checks["liveness_probe"].request.path, "/alive");
            assert_eq!(checks["readiness_probe"].request.path, "/ready");
        }),
    },
    Sample {
        path: "examples/specification/service/score.yaml",
        options: |_| options(),
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            let services = &conversion.config.services;
            assert!(conversion.config.http_service.is_none());
            assert_eq!(services.len(), 2);
            let www = services.iter().find(|s| s.protocol == "tcp").expect("tcp service");
            assert_eq!((www.internal_port, www.ports[0].port), (3001, 8080));
            let stream = services.iter().find(|s| s.protocol == "udp").expect("udp service");
            assert_eq!((stream.internal_port, stream.ports[0].port), (19245, 19245));
        }),
    },
    Sample {
        path: "examples/specification/variables/score.yaml",
        options: |_| options(),
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            assert_eq!(env(conversion).get("TEST").map(String::as_str), Some("hello-world"));
        }),
    },
    Sample {
        path: "examples/specification/volumes/score.yaml",
        options: |_| options_with([("data", volume_outputs("volume.default#my-workload.data"))]),
        local_files: true,
        expect: Expect::Converts(|conversion, _| {
            let mounts = &conversion.config.mounts;
            assert_eq!(mounts.len(), 1);
            assert_eq!((mounts[0].source.as_str(), mounts[0].destination.as_str()), ("data_vol", "/data"));
        }),
    },
    Sample {
        path: "samples/score-deprecated-files-and-volumes.yaml",
        options: |_| options(),
        local_files: false,
        expect: Expect::Fails(|error, warnings| {
            assert!(warnings.iter().any(|w| w.contains("containers.main.files")), "{warnings:?}");
            // The file converts fine; only the volume name is a problem.
            assert_only_problem(
                error,
                r#"containers.main.volumes["/mnt/vol"].source"#,
                "`some-volume` is not a valid Fly volume name",
            );
            assert!(error.problems[0].message.contains("some_volume"), "the message suggests a valid name: {error}");
        }),
    },
    Sample {
        path: "samples/score-full.yaml",
        options: |folder| {
            let empty = |uid: &str| outputs(uid, json!({}), json!({}));
            ConvertOptions {
                score_dir: folder.to_owned(),
                out_dir: folder.to_owned(),
                resources: BTreeMap::from([
                    ("resource-one1".to_owned(), empty("Resource-One.default#example-workload-name123.resource-one1")),
                    ("resource-two2".to_owned(), empty("Resource-Two.default#example-workload-name123.resource-two2")),
                    ("resource-three".to_owned(), empty("Type-Three.default#shared-type-three")),
                ]),
                ..options()
            }
        },
        local_files: true,
        expect: Expect::Fails(|error, _| {
            // Two containers: one machine; container-two2 (image `.`) receives the built image.
            assert_problem(error, "containers.container-two2.image", "built from this project");
            assert_problem(error, r#"containers.container-one1.files["/my/file"].source"#, "file.txt");
            // Volumes of the other container are explained, not dropped.
            assert_problem(error, r#"containers.container-one1.volumes["/mnt/something"]"#, "`volume-name`");
            assert_problem(error, r#"containers.container-one1.volumes["/mnt/something-else"]"#, "`volume-two`");
        }),
    },
];

/// The Score documents of the shared `score/` folder, as paths under it:
/// `examples/{resources,specification}/*/score.yaml` and `samples/*.yaml`.
fn shared_samples(score: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for group in ["examples/resources", "examples/specification"] {
        let folder = score.join(group);
        for entry in std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display())) {
            let path = entry.unwrap().path();
            if path.join("score.yaml").is_file() {
                found.push(format!("{group}/{}/score.yaml", path.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    let samples = score.join("samples");
    for entry in std::fs::read_dir(&samples).unwrap_or_else(|e| panic!("cannot list {}: {e}", samples.display())) {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let extension = Path::new(&name).extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if matches!(extension.as_deref(), Some("yaml" | "yml")) {
            found.push(format!("samples/{name}"));
        }
    }
    found.sort();
    found
}

/// The variable `password_var` read the secret `password` output: it must be an app secret
/// holding the password, never in `[env]` nor anywhere in `fly.toml`.
fn check_secret_password(conversion: &Conversion, password_var: &str, password: &str) {
    let toml = conversion.to_toml();
    assert!(!toml.contains(password), "the password is in fly.toml:\n{toml}");
    assert!(!env(conversion).contains_key(password_var), "{password_var} must not be in [env]");
    assert_eq!(conversion.secrets.get(password_var).map(score_fly_core::secret::Secret::expose), Some(password));
    assert_eq!(conversion.secrets.len(), 1, "only the password is secret: {:?}", conversion.secrets.keys());
}

/// A sample's snapshot name: `examples/specification/probes/score.yaml` → `sample_probes`,
/// `examples/resources/dns/score.yaml` → `sample_resources_dns`, `samples/score-full.yaml` →
/// `sample_full`.
fn snapshot_name(path: &str) -> String {
    let stem = if let Some(rest) = path.strip_prefix("examples/specification/") {
        rest.trim_end_matches("/score.yaml").to_owned()
    } else if let Some(rest) = path.strip_prefix("examples/resources/") {
        format!("resources_{}", rest.trim_end_matches("/score.yaml"))
    } else {
        let name = path.strip_prefix("samples/").expect("a sample path");
        let name = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
        name.strip_prefix("score-").unwrap_or(name).to_owned()
    };
    format!("sample_{}", stem.replace('-', "_"))
}

#[test]
fn snapshot_names_follow_the_sample_paths() {
    assert_eq!(snapshot_name("examples/specification/limits-and-requests/score.yaml"), "sample_limits_and_requests");
    assert_eq!(snapshot_name("examples/resources/postgres/score.yaml"), "sample_resources_postgres");
    assert_eq!(snapshot_name("samples/score-deprecated-files-and-volumes.yaml"), "sample_deprecated_files_and_volumes");
}

/// Loads, converts and checks one sample; returns its snapshot text (the shared folder's
/// location, machine-dependent, named `<score>`).
fn check_sample(score: &Path, sample: &Sample) -> String {
    let path = score.join(sample.path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let folder = path.parent().expect("a sample is in a folder");
    let loaded =
        spec::load_str(sample.path, &text).unwrap_or_else(|e| panic!("sample {} must load:\n{e}", sample.path));
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    let options = (sample.options)(folder);
    let files: &dyn FileAccess = if sample.local_files { &LocalFiles } else { &NoFiles };
    let result = fly::convert(&loaded.workload, &options, files);
    let snapshot = match (&sample.expect, result) {
        (Expect::Converts(check), Ok(conversion)) => {
            flytoml::assert_valid(&conversion.to_toml());
            let snapshot = render_with(&warnings, &conversion);
            check(&conversion, &snapshot);
            snapshot
        }
        (Expect::Fails(check), Err(error)) => {
            check(&error, &warnings);
            render_error(&warnings, &error)
        }
        (Expect::Converts(_), Err(error)) => panic!("sample {} must convert:\n{error}", sample.path),
        (Expect::Fails(_), Ok(conversion)) => {
            panic!("sample {} must not convert, but gave:\n{}", sample.path, conversion.to_toml())
        }
    };
    snapshot.replace(&score.display().to_string(), "<score>")
}

/// Every official Score sample of the shared folder converts (or fails) as its snapshot
/// says, with the checks [`SAMPLES`] lists for it. Every sample is checked before the test
/// fails, and the failure names each failing sample.
#[test]
fn every_official_sample_converts_as_its_snapshot_says() {
    let Some(shared) = score_fly_tests::shared_or_skip("the conversion of the official Score samples") else {
        return;
    };
    let score = shared.join("score");
    let found = shared_samples(&score);
    let listed: Vec<&str> = SAMPLES.iter().map(|s| s.path).collect();
    assert_eq!(found, listed, "a Score sample was added or removed: list it in SAMPLES (sorted)");
    let mut failed = Vec::new();
    for sample in SAMPLES {
        let outcome = std::panic::catch_unwind(|| {
            let snapshot = check_sample(&score, sample);
            insta::assert_snapshot!(snapshot_name(sample.path), snapshot);
        });
        if outcome.is_err() {
            failed.push(sample.path);
        }
    }
    assert!(failed.is_empty(), "samples that fail (see each panic above): {failed:?}");
}

// ----- app name and image ----------------------------------------------------------------

const MINIMAL: &str =
    "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx:1.27\n";

#[test]
fn app_is_prefix_plus_name_and_image_is_prebuilt() {
    let conversion = convert_ok(MINIMAL, &options());
    assert_eq!(conversion.config.app, "demo-web");
    let build = conversion.config.build.as_ref().expect("[build]");
    assert_eq!(build.image.as_deref(), Some("nginx:1.27"));
    assert_eq!((build.dockerfile.as_deref(), build.ignorefile.as_deref()), (None, None));
    assert!(conversion.warnings.is_empty() && conversion.secrets.is_empty() && conversion.generated_files.is_empty());
    insta::assert_snapshot!("minimal", render(&conversion));

    let no_prefix = convert_ok(MINIMAL, &ConvertOptions { app_prefix: String::new(), ..options() });
    assert_eq!(no_prefix.config.app, "web");
}

#[test]
fn app_name_must_be_a_valid_fly_app_name() {
    let error = convert_err(MINIMAL, &ConvertOptions { app_prefix: "Demo_".to_owned(), ..options() });
    assert_only_problem(&error, "metadata.name", "may only hold lowercase letters, digits and `-`");
    assert!(error.problems[0].message.contains("app prefix `Demo_`"), "{error}");

    let long = "x".repeat(60);
    let error = convert_err(MINIMAL, &ConvertOptions { app_prefix: format!("{long}-"), ..options() });
    assert_only_problem(&error, "metadata.name", "1 to 63 characters");
    insta::assert_snapshot!("app_name_too_long", error.to_string());
}

#[test]
fn image_dot_uses_the_dockerfile_beside_the_score_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join(".dockerignore"), "target/\n").unwrap();
    let yaml = MINIMAL.replace("nginx:1.27", ".");
    let beside = ConvertOptions { score_dir: dir.path().to_owned(), out_dir: dir.path().to_owned(), ..options() };
    let conversion = convert_ok(&yaml, &beside);
    let build = conversion.config.build.as_ref().expect("[build]");
    assert_eq!(build.image, None);
    assert_eq!(build.dockerfile.as_deref(), Some("Dockerfile"));
    assert_eq!(build.ignorefile.as_deref(), Some(".dockerignore"));
    insta::assert_snapshot!("image_dot_with_dockerfile", render(&conversion));

    // fly.toml written elsewhere: the paths are relative to its folder.
    let elsewhere =
        ConvertOptions { score_dir: dir.path().to_owned(), out_dir: dir.path().join("deploy"), ..options() };
    let build = convert_ok(&yaml, &elsewhere).config.build.unwrap();
    assert_eq!(build.dockerfile.as_deref(), Some("../Dockerfile"));
    assert_eq!(build.ignorefile.as_deref(), Some("../.dockerignore"));

    // No .dockerignore: no ignorefile.
    std::fs::remove_file(dir.path().join(".dockerignore")).unwrap();
    let build = convert_ok(&yaml, &beside).config.build.unwrap();
    assert_eq!((build.dockerfile.as_deref(), build.ignorefile), (Some("Dockerfile"), None));
}

#[test]
fn image_dot_without_a_dockerfile_asks_for_an_image() {
    let yaml = MINIMAL.replace("nginx:1.27", ".");
    let error = convert_err_with(&yaml, &ConvertOptions { score_dir: PathBuf::new(), ..options() }, &NoFiles);
    assert_only_problem(&error, "containers.main.image", "--image");
    assert!(error.problems[0].message.contains("Dockerfile"), "{error}");
    insta::assert_snapshot!("image_dot_without_dockerfile", error.to_string());
}

#[test]
fn image_with_whitespace_is_rejected() {
    // The Score schema only asks for a non-empty string; Fly cannot pull such a reference.
    let yaml = MINIMAL.replace("nginx:1.27", "\"nginx latest\"");
    match try_convert(&yaml, &options(), &NoFiles) {
        Ok(conversion) => flytoml::assert_valid(&conversion.to_toml()),
        Err(error) => assert_problem(&error, "containers.main.image", "nginx latest"),
    }
}

// ----- command, args and variables --------------------------------------------------------

#[test]
fn command_and_args_override_entrypoint_and_cmd_unexpanded() {
    let yaml = doc(r#"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: busybox
            command: ["/bin/sh", "-c"]
            args: ["echo ${metadata.name} $HOME"]
    "#);
    let conversion = convert_ok(&yaml, &options());
    let experimental = conversion.config.experimental.as_ref().expect("[experimental]");
    assert_eq!(experimental.entrypoint, Some(vec!["/bin/sh".to_owned(), "-c".to_owned()]));
    // command and args are never expanded.
    assert_eq!(experimental.cmd, Some(vec!["echo ${metadata.name} $HOME".to_owned()]));
    insta::assert_snapshot!("command_and_args", render(&conversion));

    let args_only = yaml.replace("    command: [\"/bin/sh\", \"-c\"]\n", "");
    let experimental = convert_ok(&args_only, &options()).config.experimental.unwrap();
    assert_eq!(experimental.entrypoint, None);
    assert!(experimental.cmd.is_some());

    let neither = convert_ok(MINIMAL, &options());
    assert!(neither.config.experimental.is_none());
}

#[test]
fn variables_are_expanded_into_env() {
    let yaml = doc(r#"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
          team: payments
          replicas: 3
          annotations:
            example.com/owner: alice
        containers:
          main:
            image: nginx
            variables:
              APP_NAME: ${metadata.name}
              TEAM: ${metadata.team}
              REPLICAS: ${metadata.replicas}
              OWNER: ${metadata.annotations.example\.com/owner}
              PRICE: "costs $$5, see $${metadata.name}"
              SHELL_STYLE: $HOME/bin
              DB_HOST: ${resources.db.host}:${resources.db.port}
              EMPTY: ""
        resources:
          db:
            type: postgres
    "#);
    let options = options_with([("db", postgres_outputs("postgres.default#web.db"))]);
    let conversion = convert_ok(&yaml, &options);
    let env = env(&conversion);
    assert_eq!(env["APP_NAME"], "web");
    assert_eq!(env["TEAM"], "payments");
    assert_eq!(env["REPLICAS"], "3");
    assert_eq!(env["OWNER"], "alice");
    assert_eq!(env["PRICE"], "costs $5, see ${metadata.name}");
    assert_eq!(env["SHELL_STYLE"], "$HOME/bin");
    assert_eq!(env["DB_HOST"], "demo-pg.flycast:5432");
    assert_eq!(env["EMPTY"], "");
    assert!(conversion.secrets.is_empty());
    insta::assert_snapshot!("variables", render(&conversion));
}

#[test]
fn variables_reading_a_secret_output_become_secrets_only() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            variables:
              DB_HOST: ${resources.db.host}
              DB_PASSWORD: ${resources.db.password}
              DATABASE_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.database}
        resources:
          db:
            type: postgres
    ");
    let options = options_with([("db", postgres_outputs("postgres.default#web.db"))]);
    let conversion = convert_ok(&yaml, &options);
    let toml = conversion.to_toml();
    assert!(!toml.contains(PG_PASSWORD), "{toml}");
    assert!(!toml.contains("DATABASE_URL") && !toml.contains("DB_PASSWORD"), "{toml}");
    assert_eq!(env(&conversion).keys().collect::<Vec<_>>(), ["DB_HOST"]);
    assert_eq!(conversion.secrets.keys().collect::<Vec<_>>(), ["DATABASE_URL", "DB_PASSWORD"]);
    assert_eq!(conversion.secrets["DB_PASSWORD"].expose(), PG_PASSWORD);
    assert_eq!(
        conversion.secrets["DATABASE_URL"].expose(),
        format!("postgres://app_user:{PG_PASSWORD}@demo-pg.flycast:5432/app_db")
    );
    // Secrets never print their value.
    assert!(!format!("{:?}", conversion.secrets).contains(PG_PASSWORD));
    insta::assert_snapshot!("variables_with_secrets", render(&conversion));
}

#[test]
fn fly_reserved_variable_names_are_rejected() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            variables:
              FLY_REGION: ams
              FLYER: ok
    ");
    let error = convert_err(&yaml, &options());
    assert_only_problem(
        &error,
        "containers.main.variables.FLY_REGION",
        "Fly reserves variable names starting with FLY_",
    );
    insta::assert_snapshot!("variable_fly_prefix", error.to_string());
}

// ----- files -------------------------------------------------------------------------------

#[test]
fn inline_content_is_plain_raw_value() {
    let yaml = doc(r#"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            files:
              /etc/app/config.yaml:
                content: |
                  name: ${metadata.name}
                  price: $$5
              /etc/app/template.txt:
                noExpand: true
                content: "hello ${metadata.name}"
              /etc/app/default-mode:
                mode: "0644"
                content: a
              /etc/app/short-mode:
                mode: "644"
                content: b
    "#);
    let conversion = convert_ok(&yaml, &options());
    let toml = conversion.to_toml();
    let files: BTreeMap<&str, &fly::config::FileEntry> =
        conversion.config.files.iter().map(|f| (f.guest_path.as_str(), f)).collect();
    // Plain text, not base64: flyctl encodes raw_value itself.
    assert_eq!(files["/etc/app/config.yaml"].raw_value.as_deref(), Some("name: web\nprice: $5\n"));
    assert!(toml.contains("name: web"), "{toml}");
    assert_eq!(files["/etc/app/template.txt"].raw_value.as_deref(), Some("hello ${metadata.name}"));
    assert_eq!(files["/etc/app/default-mode"].raw_value.as_deref(), Some("a"));
    assert_eq!(files["/etc/app/short-mode"].raw_value.as_deref(), Some("b"));
    assert!(conversion.generated_files.is_empty());
    insta::assert_snapshot!("files_inline", render(&conversion));
}

#[test]
fn empty_content_becomes_a_generated_empty_file() {
    let yaml = doc(r#"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            files:
              /etc/app/empty:
                content: ""
    "#);
    let conversion = convert_ok(&yaml, &options());
    let file = &conversion.config.files[0];
    assert_eq!(file.raw_value, None, "flyctl drops an empty raw_value");
    assert_eq!(file.local_path.as_deref(), Some(".score-fly/files/demo-web/%2Fetc%2Fapp%2Fempty"));
    assert_eq!(conversion.generated_files.len(), 1);
    assert_eq!(conversion.generated_files[0].path, Path::new(".score-fly/files/demo-web/%2Fetc%2Fapp%2Fempty"));
    assert!(conversion.generated_files[0].bytes.is_empty());
    insta::assert_snapshot!("files_empty_content", render(&conversion));
}

#[test]
fn binary_content_becomes_a_byte_exact_generated_file() {
    // 0x00 0x9f 0x92 0x96 0xff 0x0a: not UTF-8.
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            files:
              /etc/logo.png:
                binaryContent: AJ+Slv8K
    ");
    let conversion = convert_ok(&yaml, &options());
    let generated = &conversion.generated_files;
    assert_eq!(generated.len(), 1);
    assert_eq!(generated[0].path, Path::new(".score-fly/files/demo-web/%2Fetc%2Flogo.png"));
    assert_eq!(generated[0].bytes, [0x00, 0x9f, 0x92, 0x96, 0xff, 0x0a]);
    assert_eq!(generated[0].bytes, base64_decode("AJ+Slv8K"));
    let file = &conversion.config.files[0];
    assert_eq!(file.guest_path, "/etc/logo.png");
    assert_eq!(file.local_path.as_deref(), Some(".score-fly/files/demo-web/%2Fetc%2Flogo.png"));
    insta::assert_snapshot!("files_binary_content", render(&conversion));
}

#[test]
fn invalid_binary_content_is_rejected() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            files:
              /opt/blob:
                binaryContent: not base64!
    ");
    match spec::load_str("score.yaml", &yaml) {
        // Whichever stage rejects it must name the field.
        Err(e) => assert!(e.to_string().contains("containers.main.files[\"/opt/blob\"].binaryContent"), "{e}"),
        Ok(loaded) => {
            let error = fly::convert(&loaded.workload, &options(), &NoFiles).expect_err("invalid base64");
            assert_only_problem(
                &error,
                r#"containers.main.files["/opt/blob"].binaryContent"#,
                "not valid standard base64",
            );
        }
    }
}

#[test]
fn source_files_are_read_relative_to_the_score_file() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            files:
              /etc/app/templated.conf:
                source: config/templated.conf
              /etc/app/plain.conf:
                source: config/plain.conf
              /etc/app/blob.bin:
                source: assets/blob.bin
              /etc/app/verbatim.tmpl:
                source: config/templated.conf
                noExpand: true
    ");
    let files = MemFiles::default()
        .with("/score-fly-test/project/config/templated.conf", "app=${metadata.name}\ncost=$$3\n")
        .with("/score-fly-test/project/config/plain.conf", "listen 8080;\n")
        .with("/score-fly-test/project/assets/blob.bin", vec![0xff, 0xfe, 0x00, b'$', b'{', 0x80]);
    // fly.toml goes to <project>/deploy: local paths climb one folder.
    let options = ConvertOptions { out_dir: PathBuf::from(PROJECT).join("deploy"), ..options() };
    let conversion = convert_ok_with(&yaml, &options, &files);
    let entries: BTreeMap<&str, &fly::config::FileEntry> =
        conversion.config.files.iter().map(|f| (f.guest_path.as_str(), f)).collect();
    // Text with placeholders: expanded into raw_value.
    assert_eq!(entries["/etc/app/templated.conf"].raw_value.as_deref(), Some("app=web\ncost=$3\n"));
    // Unchanged by expansion: flyctl reads the file itself.
    assert_eq!(entries["/etc/app/plain.conf"].local_path.as_deref(), Some("../config/plain.conf"));
    // Not UTF-8: byte-exact through local_path, never decoded.
    assert_eq!(entries["/etc/app/blob.bin"].local_path.as_deref(), Some("../assets/blob.bin"));
    // noExpand: the file as is.
    assert_eq!(entries["/etc/app/verbatim.tmpl"].local_path.as_deref(), Some("../config/templated.conf"));
    assert!(conversion.generated_files.is_empty());
    insta::assert_snapshot!("files_source", render(&conversion));
}

#[test]
fn missing_source_file_is_an_error() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            files:
              /etc/app.conf:
                source: app.conf
    ");
    let error = convert_err_with(&yaml, &options(), &MemFiles::default());
    assert_only_problem(&error, r#"containers.main.files["/etc/app.conf"].source"#, "cannot read source file");
    assert!(error.problems[0].message.contains("/score-fly-test/project/app.conf"), "{error}");
}

#[test]
fn file_content_reading_a_secret_becomes_a_base64_secret() {
    let yaml = doc(r#"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            files:
              /etc/app/db.env:
                content: "DB_PASSWORD=${resources.db.password}\n"
              /etc/app/from-source.conf:
                source: secret.conf
        resources:
          db:
            type: postgres
    "#);
    let files = MemFiles::default().with("/score-fly-test/project/secret.conf", "pw: ${resources.db.password}");
    let options = options_with([("db", postgres_outputs("postgres.default#web.db"))]);
    let conversion = convert_ok_with(&yaml, &options, &files);
    let toml = conversion.to_toml();
    assert!(!toml.contains(PG_PASSWORD), "{toml}");
    let entries: BTreeMap<&str, &fly::config::FileEntry> =
        conversion.config.files.iter().map(|f| (f.guest_path.as_str(), f)).collect();
    let db_env = entries["/etc/app/db.env"];
    assert_eq!(db_env.secret_name.as_deref(), Some("SCORE_FILE_ETC_APP_DB_ENV"));
    assert_eq!((db_env.raw_value.as_deref(), db_env.local_path.as_deref()), (None, None));
    let secret = conversion.secrets["SCORE_FILE_ETC_APP_DB_ENV"].expose();
    // Fly decodes file secrets from base64.
    assert_eq!(base64_decode(secret), format!("DB_PASSWORD={PG_PASSWORD}\n").into_bytes());
    let from_source = entries["/etc/app/from-source.conf"];
    assert_eq!(from_source.secret_name.as_deref(), Some("SCORE_FILE_ETC_APP_FROM_SOURCE_CONF"));
    let secret = conversion.secrets["SCORE_FILE_ETC_APP_FROM_SOURCE_CONF"].expose();
    assert_eq!(base64_decode(secret), format!("pw: {PG_PASSWORD}").into_bytes());
    insta::assert_snapshot!("files_secret", render(&conversion));
}

#[test]
fn file_secret_name_clashing_with_a_variable_is_an_error() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            variables:
              SCORE_FILE_ETC_PW: x
            files:
              /etc/pw:
                content: ${resources.db.password}
        resources:
          db:
            type: postgres
    ");
    let options = options_with([("db", postgres_outputs("postgres.default#web.db"))]);
    let error = convert_err(&yaml, &options);
    assert_only_problem(&error, r#"containers.main.files["/etc/pw"]"#, "`SCORE_FILE_ETC_PW`");
    assert!(!error.to_string().contains(PG_PASSWORD));
}

#[test]
fn file_secret_names_clashing_with_each_other_name_the_other_file() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            files:
              /etc/a-b:
                content: ${resources.db.password}
              /etc/a.b:
                content: ${resources.db.password}
        resources:
          db:
            type: postgres
    ");
    let options = options_with([("db", postgres_outputs("postgres.default#web.db"))]);
    let error = convert_err(&yaml, &options);
    // Both map to SCORE_FILE_ETC_A_B: the message must point at the other file, not a variable.
    assert_eq!(error.problems.len(), 1, "{error}");
    let message = &error.problems[0].message;
    assert!(message.contains("SCORE_FILE_ETC_A_B"), "{error}");
    assert!(message.contains("/etc/a-b") || message.contains("/etc/a.b"), "{error}");
    assert!(!message.contains("variable"), "no variable is involved: {error}");
}

#[test]
fn file_modes_fly_cannot_set_are_rejected() {
    let yaml = doc(r#"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            files:
              /etc/app/key.pem:
                mode: "0600"
                content: secret-ish
              /etc/app/ok:
                mode: "0644"
                content: fine
    "#);
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, r#"containers.main.files["/etc/app/key.pem"].mode"#, "/etc/app/key.pem");
    assert!(error.problems[0].message.contains("0600"), "{error}");
    insta::assert_snapshot!("files_mode_0600", error.to_string());
}

#[test]
fn relative_file_targets_are_rejected() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            files:
              etc/app.conf:
                content: x
    ");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, r#"containers.main.files["etc/app.conf"]"#, "must be an absolute path");
}

// ----- volumes -----------------------------------------------------------------------------

fn volume_doc(volumes: &str) -> String {
    let mut yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        resources:
          data:
            type: volume
          other:
            type: volume
        containers:
          main:
            image: postgres:17
            volumes:
    ");
    yaml.push_str(&indented(volumes, "      "));
    yaml
}

fn volume_options() -> ConvertOptions {
    options_with([
        ("data", volume_outputs("volume.default#web.data")),
        ("other", outputs("volume.default#web.other", json!({"source": "other_vol"}), json!({}))),
    ])
}

#[test]
fn a_volume_resource_becomes_a_mount() {
    let yaml = volume_doc(
        r"
        /var/lib/postgresql/data:
          source: ${resources.data}
          path: /
          readOnly: false
    ",
    );
    let conversion = convert_ok(&yaml, &volume_options());
    let mounts = &conversion.config.mounts;
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts[0].source, "data_vol", "the `source` output of the volume resource");
    assert_eq!(mounts[0].destination, "/var/lib/postgresql/data");
    insta::assert_snapshot!("volume_mount", render(&conversion));

    // An explicit output reference and a literal valid name work too.
    let yaml = volume_doc("/data:\n  source: ${resources.other.source}\n");
    assert_eq!(convert_ok(&yaml, &volume_options()).config.mounts[0].source, "other_vol");
    let yaml = volume_doc("/data:\n  source: my_volume\n");
    assert_eq!(convert_ok(&yaml, &volume_options()).config.mounts[0].source, "my_volume");
}

#[test]
fn volume_sub_paths_are_rejected() {
    let yaml = volume_doc("/data:\n  source: ${resources.data}\n  path: /sub/dir\n");
    let error = convert_err(&yaml, &volume_options());
    assert_only_problem(&error, r#"containers.main.volumes["/data"].path"#, "cannot mount a sub path");
}

#[test]
fn read_only_volumes_are_rejected() {
    let yaml = volume_doc("/data:\n  source: ${resources.data}\n  readOnly: true\n");
    let error = convert_err(&yaml, &volume_options());
    assert_only_problem(&error, r#"containers.main.volumes["/data"].readOnly"#, "read-only");
}

#[test]
fn more_than_one_volume_is_rejected() {
    let yaml = volume_doc("/data:\n  source: ${resources.data}\n/other:\n  source: ${resources.other}\n");
    let error = convert_err(&yaml, &volume_options());
    assert_only_problem(&error, "containers.main.volumes", "at most one volume");
    insta::assert_snapshot!("volumes_two", error.to_string());
}

#[test]
fn invalid_volume_names_are_rejected() {
    let yaml = volume_doc("/data:\n  source: my-data\n");
    let error = convert_err(&yaml, &volume_options());
    assert_only_problem(&error, r#"containers.main.volumes["/data"].source"#, "not a valid Fly volume name");
    assert!(error.problems[0].message.contains("my_data"), "suggests a valid name: {error}");

    let no_source = options_with([
        ("data", outputs("volume.default#web.data", json!({"size": 10}), json!({}))),
        ("other", volume_outputs("volume.default#web.other")),
    ]);
    let yaml = volume_doc("/data:\n  source: ${resources.data}\n");
    let error = convert_err(&yaml, &no_source);
    assert_only_problem(&error, r#"containers.main.volumes["/data"].source"#, "gives no `source` output");

    let secret_source = options_with([
        ("data", outputs("volume.default#web.data", json!({}), json!({"source": "hidden_vol"}))),
        ("other", volume_outputs("volume.default#web.other")),
    ]);
    let yaml = volume_doc("/data:\n  source: ${resources.data.source}\n");
    let error = convert_err(&yaml, &secret_source);
    assert_only_problem(&error, r#"containers.main.volumes["/data"].source"#, "must not come from a secret output");
    assert!(!error.to_string().contains("hidden_vol"), "{error}");

    let yaml = volume_doc("/:\n  source: ${resources.data}\n");
    let error = convert_err(&yaml, &volume_options());
    assert_only_problem(&error, r#"containers.main.volumes["/"]"#, "other than `/`");
}

// ----- service ports -------------------------------------------------------------------

#[test]
fn service_ports_become_services() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
        service:
          ports:
            api:
              port: 8080
              targetPort: 3000
            metrics:
              port: 9091
            dns:
              port: 53
              targetPort: 5353
              protocol: UDP
    ");
    let conversion = convert_ok(&yaml, &options());
    assert!(conversion.config.http_service.is_none());
    let services: Vec<(&str, u16, Vec<u16>, u32)> = conversion
        .config
        .services
        .iter()
        .map(|s| {
            (s.protocol.as_str(), s.internal_port, s.ports.iter().map(|p| p.port).collect(), s.min_machines_running)
        })
        .collect();
    assert_eq!(services, [("tcp", 3000, vec![8080], 0), ("udp", 5353, vec![53], 0), ("tcp", 9091, vec![9091], 0)]);
    assert!(conversion.config.services.iter().all(|s| s.ports.iter().all(|p| p.handlers.is_empty())));
    insta::assert_snapshot!("services", render(&conversion));
}

#[test]
fn ports_sharing_a_target_port_become_one_service() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
        service:
          ports:
            alt:
              port: 9000
              targetPort: 7000
            main:
              port: 8000
              targetPort: 7000
            voice:
              port: 7000
              protocol: UDP
    ");
    let conversion = convert_ok(&yaml, &options());
    let services = &conversion.config.services;
    assert_eq!(services.len(), 2, "one TCP service for both ports, one UDP service");
    let tcp = services.iter().find(|s| s.protocol == "tcp").unwrap();
    assert_eq!(tcp.internal_port, 7000);
    assert_eq!(tcp.ports.iter().map(|p| p.port).collect::<Vec<_>>(), [8000, 9000], "sorted by port");
    let udp = services.iter().find(|s| s.protocol == "udp").unwrap();
    assert_eq!((udp.internal_port, udp.ports[0].port), (7000, 7000));
    insta::assert_snapshot!("services_shared_target", render(&conversion));
}

#[test]
fn two_ports_publishing_the_same_port_are_rejected() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
        service:
          ports:
            aa:
              port: 8080
              targetPort: 3000
            bb:
              port: 8080
              targetPort: 4000
    ");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, "service.ports.bb.port", "both publish port 8080");
}

// ----- annotations: http_service and per-port options ------------------------------------

fn web_service(annotations: &str, ports: &str) -> String {
    let mut yaml = String::from("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n");
    if !annotations.trim().is_empty() {
        yaml.push_str("  annotations:\n");
        yaml.push_str(&indented(annotations, "    "));
    }
    yaml.push_str("containers:\n  main:\n    image: nginx\nservice:\n  ports:\n");
    yaml.push_str(&indented(ports, "    "));
    yaml
}

#[test]
fn https_port_with_tls_http_handlers_becomes_http_service() {
    let yaml = web_service("score-fly/service-https-handlers: tls,http\n", "https:\n  port: 443\n  targetPort: 8080\n");
    let conversion = convert_ok(&yaml, &options());
    assert!(conversion.config.services.is_empty());
    let http = conversion.config.http_service.as_ref().expect("[http_service]");
    assert_eq!(http.internal_port, 8080);
    assert!(http.force_https, "no port 80 declared: redirect to HTTPS");
    assert_eq!(http.min_machines_running, 0);
    insta::assert_snapshot!("http_service_443", render(&conversion));
}

#[test]
fn http_and_https_ports_on_one_target_become_one_http_service() {
    let yaml = web_service(
        "
        score-fly/service-http-handlers: http
        score-fly/service-https-handlers: http,tls
        ",
        "
        http:
          port: 80
          targetPort: 8080
        https:
          port: 443
          targetPort: 8080
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    assert!(conversion.config.services.is_empty());
    let http = conversion.config.http_service.as_ref().expect("[http_service]");
    assert_eq!(http.internal_port, 8080);
    assert!(!http.force_https, "port 80 is declared: plain HTTP stays");
    insta::assert_snapshot!("http_service_80_443", render(&conversion));
}

#[test]
fn http_service_off_keeps_services() {
    let yaml = web_service(
        "
        score-fly/http-service: \"off\"
        score-fly/service-https-handlers: tls,http
        ",
        "https:\n  port: 443\n  targetPort: 8080\n",
    );
    let conversion = convert_ok(&yaml, &options());
    assert!(conversion.config.http_service.is_none());
    let services = &conversion.config.services;
    assert_eq!(services.len(), 1);
    assert_eq!(services[0].ports[0].handlers, ["tls", "http"]);
    insta::assert_snapshot!("http_service_off", render(&conversion));
}

#[test]
fn http_service_annotation_forces_a_port() {
    let yaml = web_service(
        "score-fly/http-service: app\n",
        "
        app:
          port: 8080
          targetPort: 3000
        admin:
          port: 9000
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    let http = conversion.config.http_service.as_ref().expect("[http_service]");
    assert_eq!(http.internal_port, 3000);
    assert!(!http.force_https);
    assert_eq!(conversion.config.services.len(), 1);
    assert_eq!(conversion.config.services[0].internal_port, 9000);
    assert_eq!(conversion.warnings.len(), 1, "{:?}", warning_lines(&conversion));
    assert_eq!(conversion.warnings[0].path.to_string(), "service.ports.app");
    assert!(conversion.warnings[0].message.contains("port 8080 is served by [http_service] on ports 80 and 443"));
    insta::assert_snapshot!("http_service_forced", render(&conversion));
}

#[test]
fn several_plain_http_groups_stay_services_with_a_warning() {
    let yaml = web_service(
        "
        score-fly/service-aa-handlers: tls,http
        score-fly/service-bb-handlers: http
        ",
        "
        aa:
          port: 443
          targetPort: 8080
        bb:
          port: 80
          targetPort: 9090
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    assert!(conversion.config.http_service.is_none());
    assert_eq!(conversion.config.services.len(), 2);
    assert!(
        warning_lines(&conversion).iter().any(|w| w.starts_with("service.ports: several ports look like plain HTTP"))
    );
}

#[test]
fn http_service_options_from_annotations() {
    let yaml = web_service(
        r#"
        score-fly/service-https-handlers: tls,http
        score-fly/service-https-http-options: '{"compress": true, "h2_backend": true, "idle_timeout": 600, "response": {"headers": {"X-Frame-Options": "DENY"}, "pristine": false}}'
        score-fly/service-https-tls-options: '{"alpn": ["h2", "http/1.1"], "versions": ["TLSv1.2", "TLSv1.3"], "default_self_signed": false}'
        score-fly/service-https-concurrency: '{"type": "requests", "soft_limit": 20, "hard_limit": 25}'
        score-fly/service-https-auto-stop: suspend
        score-fly/service-https-min-running: "1"
        score-fly/service-https-force-https: "false"
        "#,
        "https:\n  port: 443\n  targetPort: 8080\n",
    );
    let conversion = convert_ok(&yaml, &options());
    let http = conversion.config.http_service.as_ref().expect("[http_service]");
    assert!(!http.force_https, "the annotation wins over the default");
    assert_eq!(http.auto_stop_machines.as_deref(), Some("suspend"));
    assert_eq!(http.auto_start_machines, Some(true), "auto-stop turns auto start on");
    assert_eq!(http.min_machines_running, 1);
    let concurrency = http.concurrency.as_ref().expect("concurrency");
    assert_eq!(
        (concurrency.kind.as_deref(), concurrency.soft_limit, concurrency.hard_limit),
        (Some("requests"), Some(20), Some(25))
    );
    let tls = http.tls_options.as_ref().expect("tls_options");
    assert_eq!(tls.alpn, Some(vec!["h2".to_owned(), "http/1.1".to_owned()]));
    let options = http.http_options.as_ref().expect("http_options");
    assert_eq!((options.compress, options.h2_backend, options.idle_timeout), (Some(true), Some(true), Some(600)));
    insta::assert_snapshot!("http_service_options", render(&conversion));
}

#[test]
fn service_options_from_annotations_with_dashed_port_names() {
    let yaml = web_service(
        r#"
        score-fly/http-service: "off"
        score-fly/service-pg-port-handlers: pg_tls
        score-fly/service-pg-port-auto-stop: stop
        score-fly/service-pg-port-min-running: "2"
        score-fly/service-pg-port-concurrency: '{"type": "connections", "hard_limit": 100}'
        score-fly/service-web-ui-handlers: http
        score-fly/service-web-ui-force-https: "true"
        score-fly/service-web-ui-auto-stop: "off"
        score-fly/service-web-ui-auto-start: "false"
        score-fly/service-web-ui-http-options: '{"response": {"pristine": true}}'
        score-fly/service-web-ui-tls-options: '{"default_self_signed": true}'
        "#,
        "
        pg-port:
          port: 5432
        web-ui:
          port: 80
          targetPort: 8080
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    let services = &conversion.config.services;
    assert_eq!(services.len(), 2);
    let pg = services.iter().find(|s| s.internal_port == 5432).unwrap();
    assert_eq!(pg.ports[0].handlers, ["pg_tls"]);
    assert_eq!(pg.auto_stop_machines.as_deref(), Some("stop"));
    assert_eq!(pg.auto_start_machines, Some(true));
    assert_eq!(pg.min_machines_running, 2);
    assert_eq!(pg.concurrency.as_ref().and_then(|c| c.hard_limit), Some(100));
    let ui = services.iter().find(|s| s.internal_port == 8080).unwrap();
    assert_eq!(ui.ports[0].handlers, ["http"]);
    assert_eq!(ui.ports[0].force_https, Some(true));
    assert_eq!(ui.auto_stop_machines.as_deref(), Some("off"));
    assert_eq!(ui.auto_start_machines, Some(false), "an explicit auto-start wins");
    assert!(ui.ports[0].http_options.is_some() && ui.ports[0].tls_options.is_some());
    insta::assert_snapshot!("services_options", render(&conversion));
}

#[test]
fn score_flyio_prefix_is_an_alias() {
    let yaml = web_service(
        "
        score-flyio.astromechza.github.com/service-web-handlers: tls,http
        score-flyio.astromechza.github.com/service-web-auto-stop: stop
        score-flyio.astromechza.github.com/primary-region: ams
        ",
        "web:\n  port: 443\n  targetPort: 8080\n",
    );
    let conversion = convert_ok(&yaml, &options());
    let http = conversion.config.http_service.as_ref().expect("[http_service]");
    assert_eq!((http.internal_port, http.auto_stop_machines.as_deref()), (8080, Some("stop")));
    assert_eq!(conversion.config.primary_region.as_deref(), Some("ams"));
    insta::assert_snapshot!("legacy_prefix", render(&conversion));
}

#[test]
fn other_annotation_prefixes_are_ignored() {
    let yaml = web_service(
        "
        example.com/nope: x
        score-fly.example.com/nope: y
        ",
        "web:\n  port: 8080\n",
    );
    convert_ok(&yaml, &options());
}

#[test]
fn unknown_annotation_keys_are_rejected_under_both_prefixes() {
    for prefix in ["score-fly/", "score-flyio.astromechza.github.com/"] {
        let yaml = web_service(&format!("{prefix}primary-regoin: ams\n"), "web:\n  port: 8080\n");
        let error = convert_err(&yaml, &options());
        let path = format!(r#"metadata.annotations["{prefix}primary-regoin"]"#);
        assert_only_problem(&error, &path, "unknown score-fly annotation `primary-regoin`");
        assert!(error.problems[0].message.contains("primary-region"), "lists the known keys: {error}");

        let yaml = web_service(&format!("{prefix}service-web-gzip: \"true\"\n"), "web:\n  port: 8080\n");
        let error = convert_err(&yaml, &options());
        let path = format!(r#"metadata.annotations["{prefix}service-web-gzip"]"#);
        assert_only_problem(&error, &path, "unknown option");
    }
}

#[test]
fn annotations_for_undeclared_ports_are_rejected() {
    let yaml = web_service("score-fly/service-api-handlers: http\n", "web:\n  port: 8080\n");
    let error = convert_err(&yaml, &options());
    assert_only_problem(
        &error,
        r#"metadata.annotations["score-fly/service-api-handlers"]"#,
        "names port `api`, which is not declared in service.ports (declared: web)",
    );
    insta::assert_snapshot!("annotation_undeclared_port", error.to_string());
}

#[test]
fn conflicting_options_on_ports_sharing_a_service_are_rejected() {
    let yaml = web_service(
        "
        score-fly/service-aa-auto-stop: stop
        score-fly/service-bb-auto-stop: suspend
        ",
        "
        aa:
          port: 8000
          targetPort: 8080
        bb:
          port: 9000
          targetPort: 8080
        ",
    );
    let error = convert_err(&yaml, &options());
    assert_only_problem(
        &error,
        r#"metadata.annotations["score-fly/service-bb-auto-stop"]"#,
        "ports `aa` and `bb` share target port 8080 (one Fly service) but set different `auto-stop`",
    );
}

#[test]
fn problems_about_legacy_annotations_name_the_key_as_written() {
    let legacy = "score-flyio.astromechza.github.com/";
    let yaml = web_service(
        &format!("{legacy}service-aa-auto-stop: stop\n{legacy}service-bb-auto-stop: suspend\n"),
        "aa:\n  port: 8000\n  targetPort: 8080\nbb:\n  port: 9000\n  targetPort: 8080\n",
    );
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, &format!(r#"metadata.annotations["{legacy}service-bb-auto-stop"]"#), "auto-stop");

    let yaml = web_service(&format!("{legacy}restart-retries: \"3\"\n"), "web:\n  port: 8080\n");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, &format!(r#"metadata.annotations["{legacy}restart-retries"]"#), "restart-policy");
}

#[test]
fn invalid_port_options_are_rejected() {
    // force-https without the http handler.
    let yaml = web_service(
        "
        score-fly/service-web-handlers: tls
        score-fly/service-web-force-https: \"true\"
        ",
        "web:\n  port: 8443\n",
    );
    let error = convert_err(&yaml, &options());
    assert_only_problem(
        &error,
        r#"metadata.annotations["score-fly/service-web-force-https"]"#,
        "needs the `http` handler",
    );

    // Handlers on a UDP port.
    let yaml = web_service("score-fly/service-dns-handlers: proxy_proto\n", "dns:\n  port: 53\n  protocol: UDP\n");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, "service.ports.dns", "is UDP");

    // A value the annotation parser rejects.
    let yaml = web_service("score-fly/service-web-handlers: http,gzip\n", "web:\n  port: 8080\n");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, r#"metadata.annotations["score-fly/service-web-handlers"]"#, "handler `gzip`");

    // [http_service] cannot carry other handlers.
    let yaml = web_service(
        "
        score-fly/http-service: web
        score-fly/service-web-handlers: pg_tls
        ",
        "web:\n  port: 5432\n",
    );
    let error = convert_err(&yaml, &options());
    assert_only_problem(
        &error,
        r#"metadata.annotations["score-fly/service-web-handlers"]"#,
        "only uses the `tls` and `http` handlers",
    );

    // [http_service] is TCP.
    let yaml = web_service("score-fly/http-service: dns\n", "dns:\n  port: 53\n  protocol: UDP\n");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, r#"metadata.annotations["score-fly/http-service"]"#, "UDP");
}

#[test]
fn http_service_does_not_clash_with_services_on_80_or_443() {
    let yaml = web_service(
        "
        score-fly/service-web-handlers: tls,http
        ",
        "
        web:
          port: 443
          targetPort: 8080
        legacy:
          port: 80
          targetPort: 9000
        ",
    );
    match try_convert(&yaml, &options(), &NoFiles) {
        Ok(conversion) => flytoml::assert_valid(&conversion.to_toml()),
        Err(error) => assert_problem(&error, "service.ports.legacy.port", "80"),
    }

    let yaml = web_service(
        "score-fly/http-service: app\n",
        "
        app:
          port: 8080
          targetPort: 3000
        tls:
          port: 443
          targetPort: 4000
        ",
    );
    match try_convert(&yaml, &options(), &NoFiles) {
        Ok(conversion) => flytoml::assert_valid(&conversion.to_toml()),
        Err(error) => assert_problem(&error, "service.ports.tls.port", "443"),
    }
}

#[test]
fn annotation_json_options_fly_rejects_are_errors() {
    let mut accepted = Vec::new();
    for (key, value) in [
        ("service-web-http-options", r#"'{"idle_timeout": 0}'"#),
        ("service-web-http-options", r#"'{"headers_read_timeout": 0}'"#),
        ("service-web-tls-options", r#"'{"alpn": [""]}'"#),
    ] {
        let yaml = web_service(
            &format!(
                "score-fly/http-service: \"off\"\nscore-fly/service-web-handlers: tls,http\nscore-fly/{key}: {value}\n"
            ),
            "web:\n  port: 443\n  targetPort: 8080\n",
        );
        match try_convert(&yaml, &options(), &NoFiles) {
            Ok(conversion) => {
                if let Err(problems) = flytoml::check(&conversion.to_toml()) {
                    accepted.push(format!("{key}={value}: {}", problems[0]));
                }
            }
            Err(error) => assert_problem(&error, &format!(r#"metadata.annotations["score-fly/{key}"]"#), ""),
        }
    }
    assert!(accepted.is_empty(), "accepted, but Fly rejects the fly.toml:\n{}", accepted.join("\n"));
}

// ----- probes ------------------------------------------------------------------------------

fn probe_doc(service: &str, annotations: &str, probes: &str) -> String {
    let mut yaml = String::from("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n");
    if !annotations.trim().is_empty() {
        yaml.push_str("  annotations:\n");
        yaml.push_str(&indented(annotations, "    "));
    }
    yaml.push_str("containers:\n  main:\n    image: nginx\n");
    yaml.push_str(&indented(probes, "    "));
    if !service.trim().is_empty() {
        yaml.push_str("service:\n  ports:\n");
        yaml.push_str(&indented(service, "    "));
    }
    yaml
}

#[test]
fn liveness_probe_becomes_a_machine_check() {
    let yaml = probe_doc(
        "web:\n  port: 80\n  targetPort: 8080\n",
        "",
        "
        livenessProbe:
          httpGet:
            path: /healthz
            port: 8080
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    let check = &conversion.config.checks["liveness_probe"];
    assert_eq!((check.kind.as_str(), check.port, check.request.path.as_str()), ("http", 8080, "/healthz"));
    assert_eq!((check.request.method.as_str(), check.request.protocol.as_str()), ("get", "http"));
    assert_eq!(conversion.config.checks.len(), 1);
    assert!(conversion.config.services.iter().all(|s| s.http_checks.is_empty()));
    insta::assert_snapshot!("probe_liveness", render(&conversion));
}

#[test]
fn readiness_probe_on_a_service_port_becomes_a_service_check() {
    let yaml = probe_doc(
        "api:\n  port: 8080\n  targetPort: 3000\n",
        "",
        "
        readinessProbe:
          httpGet:
            path: /ready
            port: 3000
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    assert!(conversion.config.checks.is_empty());
    let checks = &conversion.config.services[0].http_checks;
    assert_eq!(checks.len(), 1);
    assert_eq!((checks[0].request.path.as_str(), checks[0].request.method.as_str()), ("/ready", "get"));
    insta::assert_snapshot!("probe_readiness_service", render(&conversion));
}

#[test]
fn readiness_probe_on_the_http_service_port_becomes_an_http_service_check() {
    let yaml = probe_doc(
        "https:\n  port: 443\n  targetPort: 8080\n",
        "score-fly/service-https-handlers: tls,http\n",
        "
        readinessProbe:
          httpGet:
            path: /ready
            port: 8080
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    assert!(conversion.config.checks.is_empty());
    let http = conversion.config.http_service.as_ref().expect("[http_service]");
    assert_eq!(http.checks.len(), 1);
    assert_eq!(http.checks[0].request.path, "/ready");
    insta::assert_snapshot!("probe_readiness_http_service", render(&conversion));
}

#[test]
fn readiness_probe_on_another_port_becomes_a_machine_check() {
    let yaml = probe_doc(
        "web:\n  port: 8080\n",
        "",
        "
        readinessProbe:
          httpGet:
            path: /ready
            port: 9090
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    assert!(conversion.config.services[0].http_checks.is_empty());
    let check = &conversion.config.checks["readiness_probe"];
    assert_eq!((check.port, check.request.path.as_str()), (9090, "/ready"));
    insta::assert_snapshot!("probe_readiness_machine", render(&conversion));
}

#[test]
fn https_probes_skip_verification_and_send_the_host() {
    let yaml = probe_doc(
        "web:\n  port: 8443\n",
        "",
        "
        livenessProbe:
          httpGet:
            scheme: HTTPS
            host: app.example.com
            path: /live
            port: 8443
            httpHeaders:
              - name: X-Probe
                value: liveness
        readinessProbe:
          httpGet:
            scheme: HTTPS
            host: app.example.com
            path: /ready?full=1
            port: 8443
            httpHeaders:
              - name: Host
                value: explicit.example.com
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    let live = &conversion.config.checks["liveness_probe"];
    assert_eq!(live.request.protocol, "https");
    assert_eq!(live.request.tls_skip_verify, Some(true));
    assert_eq!(live.request.tls_server_name.as_deref(), Some("app.example.com"));
    assert_eq!(live.request.headers.get("Host").map(String::as_str), Some("app.example.com"));
    assert_eq!(live.request.headers.get("X-Probe").map(String::as_str), Some("liveness"));
    let ready = &conversion.config.services[0].http_checks[0];
    assert_eq!((ready.request.protocol.as_str(), ready.request.tls_skip_verify), ("https", Some(true)));
    assert_eq!(ready.request.path, "/ready?full=1");
    assert_eq!(
        ready.request.headers.get("Host").map(String::as_str),
        Some("explicit.example.com"),
        "an explicit header wins"
    );
    insta::assert_snapshot!("probe_https", render(&conversion));

    // Plain HTTP with a host: the Host header only.
    let yaml = probe_doc(
        "",
        "",
        "
        livenessProbe:
          httpGet:
            scheme: HTTP
            host: internal.example.com
            path: /live
            port: 8080
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    let live = &conversion.config.checks["liveness_probe"];
    assert_eq!(
        (live.request.protocol.as_str(), live.request.tls_skip_verify, live.request.tls_server_name.as_deref()),
        ("http", None, None)
    );
    assert_eq!(live.request.headers.get("Host").map(String::as_str), Some("internal.example.com"));
}

#[test]
fn exec_probes_are_skipped_with_a_warning() {
    let yaml = probe_doc(
        "",
        "",
        "
        livenessProbe:
          exec:
            command: [/bin/check]
        readinessProbe:
          exec:
            command: [/bin/ready]
          httpGet:
            path: /ready
            port: 8080
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    assert_eq!(conversion.config.checks.keys().collect::<Vec<_>>(), ["readiness_probe"], "no check for exec alone");
    let warnings = warning_lines(&conversion);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("containers.main.livenessProbe.exec: Fly checks cannot run commands"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with("containers.main.readinessProbe.exec:")
            && warnings[1].contains("httpGet probe is used")
    );
    insta::assert_snapshot!("probe_exec", render(&conversion));
}

#[test]
fn probe_problems_are_rejected() {
    let yaml = probe_doc(
        "",
        "",
        "
        livenessProbe:
          httpGet:
            path: healthz
            port: 8080
        ",
    );
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, "containers.main.livenessProbe.httpGet.path", "must start with `/`");

    let yaml = probe_doc(
        "",
        "",
        "
        readinessProbe:
          httpGet:
            path: /ready
            port: 8080
            httpHeaders:
              - {name: X-A, value: one}
              - {name: X-A, value: two}
        ",
    );
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, "containers.main.readinessProbe.httpGet.httpHeaders[1]", "given twice");
}

#[test]
fn check_timing_annotations_apply_to_every_check() {
    let yaml = probe_doc(
        "web:\n  port: 8080\n",
        "
        score-fly/check-interval: 30s
        score-fly/check-timeout: 5s
        score-fly/check-grace-period: 1m
        ",
        "
        livenessProbe:
          httpGet: {path: /live, port: 8080}
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
        ",
    );
    let conversion = convert_ok(&yaml, &options());
    let live = &conversion.config.checks["liveness_probe"].timing;
    let ready = &conversion.config.services[0].http_checks[0].timing;
    for timing in [live, ready] {
        assert_eq!(
            (timing.interval.as_str(), timing.timeout.as_str(), timing.grace_period.as_str()),
            ("30s", "5s", "1m")
        );
    }
    insta::assert_snapshot!("probe_timing", render(&conversion));

    let yaml = probe_doc("", "score-fly/check-interval: 1s\n", "livenessProbe:\n  httpGet: {path: /, port: 80}\n");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, r#"metadata.annotations["score-fly/check-interval"]"#, "at least 2s");
}

#[test]
fn zero_check_timeout_is_rejected() {
    let yaml = probe_doc("", "score-fly/check-timeout: 0s\n", "livenessProbe:\n  httpGet: {path: /, port: 80}\n");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, r#"metadata.annotations["score-fly/check-timeout"]"#, "");
}

// ----- machine size ------------------------------------------------------------------------

fn sized(resources: &str, annotations: &str) -> String {
    let mut yaml = String::from("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n");
    if !annotations.trim().is_empty() {
        yaml.push_str("  annotations:\n");
        yaml.push_str(&indented(annotations, "    "));
    }
    yaml.push_str("containers:\n  main:\n    image: nginx\n");
    if !resources.trim().is_empty() {
        yaml.push_str("    resources:\n");
        yaml.push_str(&indented(resources, "      "));
    }
    yaml
}

fn vm_of(conversion: &Conversion) -> (String, String) {
    assert_eq!(conversion.config.vm.len(), 1, "one [[vm]]");
    (conversion.config.vm[0].size.clone(), conversion.config.vm[0].memory.clone())
}

#[test]
fn blog_example_rounds_memory_up_to_256mb() {
    let yaml = sized("limits:\n  cpu: \"1\"\n  memory: 128M\n", "");
    let conversion = convert_ok(&yaml, &options());
    assert_eq!(vm_of(&conversion), ("shared-cpu-1x".to_owned(), "256mb".to_owned()));
    let warnings = warning_lines(&conversion);
    assert_eq!(
        warnings,
        [
            "containers.main.resources: memory 123 MB rounded up to 256 MB (256 MB steps); the machine is shared-cpu-1x with 256 MB"
        ]
    );
    insta::assert_snapshot!("vm_blog_example", render(&conversion));
}

#[test]
fn score_flyio_example_is_two_cpus_768mb() {
    let yaml = sized(
        "
        requests:
          cpu: \"1\"
          memory: 256M
        limits:
          cpu: 1500m
          memory: 600M
        ",
        "",
    );
    let conversion = convert_ok(&yaml, &options());
    assert_eq!(vm_of(&conversion), ("shared-cpu-2x".to_owned(), "768mb".to_owned()));
    insta::assert_snapshot!("vm_score_flyio_example", render(&conversion));
}

#[test]
fn memory_can_need_more_cpus() {
    let yaml = sized("requests:\n  cpu: \"1\"\n  memory: 4Gi\n", "");
    let conversion = convert_ok(&yaml, &options());
    assert_eq!(vm_of(&conversion), ("shared-cpu-2x".to_owned(), "4096mb".to_owned()));
    let warnings = warning_lines(&conversion);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("CPUs raised from 1 to 2"), "{warnings:?}");
    insta::assert_snapshot!("vm_memory_raises_cpus", render(&conversion));
}

#[test]
fn cpu_kind_performance() {
    let yaml = sized("limits:\n  cpu: \"2\"\n  memory: 4Gi\n", "score-fly/cpu-kind: performance\n");
    let conversion = convert_ok(&yaml, &options());
    assert_eq!(vm_of(&conversion), ("performance-2x".to_owned(), "4096mb".to_owned()));
    assert!(conversion.warnings.is_empty(), "{:?}", warning_lines(&conversion));
    insta::assert_snapshot!("vm_performance", render(&conversion));

    // The annotation alone: the smallest performance machine.
    let conversion = convert_ok(&sized("", "score-fly/cpu-kind: performance\n"), &options());
    assert_eq!(vm_of(&conversion), ("performance-1x".to_owned(), "2048mb".to_owned()));

    // No resources and no annotation: no [[vm]] at all.
    assert!(convert_ok(MINIMAL, &options()).config.vm.is_empty());
}

#[test]
fn impossible_machine_sizes_are_rejected() {
    let error = convert_err(&sized("requests:\n  cpu: \"9\"\n", ""), &options());
    assert_only_problem(&error, "containers.main.resources", "9 CPUs exceed the largest shared machine (8 CPUs)");
    assert!(error.problems[0].message.contains("score-fly/cpu-kind: performance"), "{error}");
    insta::assert_snapshot!("vm_impossible", error.to_string());

    let error = convert_err(&sized("limits:\n  memory: 20Gi\n", ""), &options());
    assert_only_problem(&error, "containers.main.resources", "exceed the largest shared machine (16384 MB)");

    let error = convert_err(&sized("limits:\n  cpu: \"17\"\n", "score-fly/cpu-kind: performance\n"), &options());
    assert_only_problem(&error, "containers.main.resources", "17 CPUs exceed the largest performance machine");
}

// ----- workload annotations ----------------------------------------------------------------

#[test]
fn workload_annotations_set_top_level_settings() {
    let yaml = probe_doc(
        "",
        r#"
        score-fly/primary-region: ams
        score-fly/kill-signal: SIGTERM
        score-fly/kill-timeout: "30"
        score-fly/swap-size-mb: "512"
        score-fly/deploy-strategy: bluegreen
        score-fly/release-command: bin/migrate --yes
        score-fly/release-command-timeout: 5m
        score-fly/restart-policy: on-failure
        score-fly/restart-retries: "3"
        "#,
        "livenessProbe:\n  httpGet: {path: /live, port: 8080}\n",
    );
    let conversion = convert_ok(&yaml, &options());
    let config = &conversion.config;
    assert_eq!(config.primary_region.as_deref(), Some("ams"));
    assert_eq!(config.kill_signal.as_deref(), Some("SIGTERM"));
    assert_eq!(config.kill_timeout, Some(fly::config::DurationValue::Text("30s".to_owned())));
    assert_eq!(config.swap_size_mb, Some(512));
    let deploy = config.deploy.as_ref().expect("[deploy]");
    assert_eq!(deploy.strategy.as_deref(), Some("bluegreen"));
    assert_eq!(deploy.release_command.as_deref(), Some("bin/migrate --yes"));
    assert_eq!(deploy.release_command_timeout.as_deref(), Some("5m"));
    assert_eq!(config.restart.len(), 1);
    assert_eq!((config.restart[0].policy.as_str(), config.restart[0].retries), ("on-failure", Some(3)));
    let toml = conversion.to_toml();
    assert!(toml.contains("kill_timeout = \"30s\"\n"), "seconds, written as a duration string: {toml}");
    insta::assert_snapshot!("workload_annotations", render(&conversion));
}

#[test]
fn kill_timeout_as_a_duration() {
    let conversion = convert_ok(&sized("", "score-fly/kill-timeout: 1m30s\n"), &options());
    assert_eq!(conversion.config.kill_timeout, Some(fly::config::DurationValue::Text("1m30s".to_owned())));
    assert!(conversion.to_toml().contains("kill_timeout = \"1m30s\"\n"));

    let error = convert_err(&sized("", "score-fly/kill-timeout: 6m\n"), &options());
    assert_only_problem(&error, r#"metadata.annotations["score-fly/kill-timeout"]"#, "at most 300 seconds");
}

#[test]
fn deploy_strategies_fly_refuses_are_rejected() {
    let volume = "
        apiVersion: score.dev/v1b1
        metadata:
          name: web
          annotations:
            score-fly/deploy-strategy: STRATEGY
        containers:
          main:
            image: nginx
            volumes:
              /data:
                source: ${resources.data}
            livenessProbe:
              httpGet: {path: /live, port: 8080}
        resources:
          data:
            type: volume
    ";
    let with_volume = options_with([("data", volume_outputs("volume.default#web.data"))]);
    let error = convert_err(&doc(&volume.replace("STRATEGY", "canary")), &with_volume);
    assert_only_problem(&error, r#"metadata.annotations["score-fly/deploy-strategy"]"#, "canary");
    assert!(error.problems[0].message.contains("volume"), "{error}");
    insta::assert_snapshot!("deploy_canary_with_volume", error.to_string());

    let error = convert_err(&doc(&volume.replace("STRATEGY", "bluegreen")), &with_volume);
    assert_only_problem(&error, r#"metadata.annotations["score-fly/deploy-strategy"]"#, "bluegreen");

    // rolling and immediate are fine with a volume.
    for strategy in ["rolling", "immediate"] {
        let conversion = convert_ok(&doc(&volume.replace("STRATEGY", strategy)), &with_volume);
        assert_eq!(conversion.config.deploy.unwrap().strategy.as_deref(), Some(strategy));
    }

    let error = convert_err(&sized("", "score-fly/deploy-strategy: bluegreen\n"), &options());
    assert_only_problem(&error, r#"metadata.annotations["score-fly/deploy-strategy"]"#, "need a health check");
    insta::assert_snapshot!("deploy_bluegreen_without_checks", error.to_string());
}

#[test]
fn restart_retries_need_on_failure() {
    let error = convert_err(&sized("", "score-fly/restart-retries: \"3\"\n"), &options());
    assert_only_problem(
        &error,
        r#"metadata.annotations["score-fly/restart-retries"]"#,
        "needs restart-policy `on-failure`",
    );

    let error =
        convert_err(&sized("", "score-fly/restart-policy: always\nscore-fly/restart-retries: \"3\"\n"), &options());
    assert_only_problem(
        &error,
        r#"metadata.annotations["score-fly/restart-retries"]"#,
        "only applies with restart-policy `on-failure`",
    );

    let conversion = convert_ok(&sized("", "score-fly/restart-policy: never\n"), &options());
    assert_eq!(conversion.config.restart[0].policy, "never");
    assert_eq!(conversion.config.restart[0].retries, None);
}

#[test]
fn release_commands_flyctl_cannot_split_are_rejected() {
    let yaml = sized("", "score-fly/release-command: 'bin/migrate \"--name=a b'\n");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, r#"metadata.annotations["score-fly/release-command"]"#, "quote");
}

#[test]
fn zero_release_command_timeout_is_rejected() {
    let yaml = sized("", "score-fly/release-command: bin/migrate\nscore-fly/release-command-timeout: 0s\n");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, r#"metadata.annotations["score-fly/release-command-timeout"]"#, "");
}

// ----- whole-workload rules -------------------------------------------------------------------

#[test]
fn multiple_containers_without_an_image_container_ask_for_the_annotation() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          app:
            image: nginx
          sidecar:
            image: busybox
    ");
    let error = convert_err(&yaml, &options());
    assert_only_problem(&error, "containers", "this workload has 2 containers (app, sidecar) and none has image `.`");
    insta::assert_snapshot!("multiple_containers", error.to_string());
}

#[test]
fn resources_without_outputs_are_rejected() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
        resources:
          db:
            type: postgres
          cache:
            type: redis
            class: large
            id: shared-cache
    ");
    let error = convert_err(&yaml, &options());
    assert_eq!(error.problems.len(), 2, "{error}");
    assert_problem(&error, "resources.db", "no provisioner for resource `postgres.default#web.db`");
    assert_problem(&error, "resources.cache", "no provisioner for resource `redis.large#shared-cache`");
    insta::assert_snapshot!("resources_not_provisioned", error.to_string());

    // Provisioning one is not enough.
    let options = options_with([("db", postgres_outputs("postgres.default#web.db"))]);
    let error = convert_err(&yaml, &options);
    assert_only_problem(&error, "resources.cache", "redis.large#shared-cache");
}

#[test]
fn placeholders_reading_an_unprovisioned_resource_do_not_claim_it_is_undeclared() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            variables:
              DB_HOST: ${resources.db.host}
        resources:
          db:
            type: postgres
    ");
    let error = convert_err(&yaml, &options());
    assert_problem(&error, "resources.db", "no provisioner for resource `postgres.default#web.db`");
    for problem in &error.problems {
        assert!(!problem.message.contains("is declared in this workload"), "`db` is declared: {error}");
    }
}

#[test]
fn unknown_output_keys_are_rejected_without_leaking_secrets() {
    let yaml = doc(r"
        apiVersion: score.dev/v1b1
        metadata:
          name: web
        containers:
          main:
            image: nginx
            variables:
              DB_USER: ${resources.db.user}
        resources:
          db:
            type: postgres
    ");
    let options = options_with([("db", postgres_outputs("postgres.default#web.db"))]);
    let error = convert_err(&yaml, &options);
    assert_only_problem(&error, "containers.main.variables.DB_USER", "key `user` not found");
    assert!(error.problems[0].message.contains("username"), "lists the outputs: {error}");
    assert!(!error.to_string().contains(PG_PASSWORD), "{error}");
}

// ----- determinism -----------------------------------------------------------------------------

const RICH: &str = r#"
apiVersion: score.dev/v1b1
metadata:
  name: shop
  annotations:
    score-fly/primary-region: fra
    score-fly/service-https-handlers: tls,http
    score-fly/service-http-handlers: http
    score-fly/service-grpc-handlers: tls
    score-fly/service-grpc-concurrency: '{"type": "connections", "hard_limit": 50, "soft_limit": 40}'
    score-fly/kill-signal: SIGINT
service:
  ports:
    https: {port: 443, targetPort: 8080}
    http: {port: 80, targetPort: 8080}
    grpc: {port: 9443, targetPort: 9000}
    metrics: {port: 9091}
    stats: {port: 8125, protocol: UDP}
containers:
  main:
    image: registry.example.com/shop:1.2.3
    command: ["/app/shop"]
    args: ["serve", "--port=8080"]
    variables:
      ZETA: last
      ALPHA: first
      DB_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/${resources.db.database}
      MIDDLE: ${metadata.name}
    files:
      /etc/shop/z.conf:
        content: "z=${metadata.name}"
      /etc/shop/a.conf:
        content: "a=1"
      /etc/shop/b.bin:
        binaryContent: AAECAw==
      /etc/shop/empty:
        content: ""
    volumes:
      /data:
        source: ${resources.data}
    resources:
      limits: {cpu: 1500m, memory: 1Gi}
    livenessProbe:
      httpGet: {path: /live, port: 8080}
    readinessProbe:
      httpGet: {path: /ready, port: 9000}
resources:
  db:
    type: postgres
  data:
    type: volume
"#;

/// [`RICH`] with every map written in another order (same content).
const RICH_REORDERED: &str = r#"
resources:
  data:
    type: volume
  db:
    type: postgres
containers:
  main:
    readinessProbe:
      httpGet: {port: 9000, path: /ready}
    livenessProbe:
      httpGet: {port: 8080, path: /live}
    resources:
      limits: {memory: 1Gi, cpu: 1500m}
    volumes:
      /data:
        source: ${resources.data}
    files:
      /etc/shop/empty:
        content: ""
      /etc/shop/b.bin:
        binaryContent: AAECAw==
      /etc/shop/a.conf:
        content: "a=1"
      /etc/shop/z.conf:
        content: "z=${metadata.name}"
    variables:
      MIDDLE: ${metadata.name}
      DB_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/${resources.db.database}
      ALPHA: first
      ZETA: last
    args: ["serve", "--port=8080"]
    command: ["/app/shop"]
    image: registry.example.com/shop:1.2.3
service:
  ports:
    stats: {protocol: UDP, port: 8125}
    metrics: {port: 9091}
    grpc: {targetPort: 9000, port: 9443}
    http: {targetPort: 8080, port: 80}
    https: {targetPort: 8080, port: 443}
metadata:
  annotations:
    score-fly/kill-signal: SIGINT
    score-fly/service-grpc-concurrency: '{"soft_limit": 40, "hard_limit": 50, "type": "connections"}'
    score-fly/service-grpc-handlers: tls
    score-fly/service-http-handlers: http
    score-fly/service-https-handlers: tls,http
    score-fly/primary-region: fra
  name: shop
apiVersion: score.dev/v1b1
"#;

fn rich_options() -> ConvertOptions {
    options_with([
        ("db", postgres_outputs("postgres.default#shop.db")),
        ("data", volume_outputs("volume.default#shop.data")),
    ])
}

/// Everything a conversion produces, with secret values, for byte comparisons.
fn everything(conversion: &Conversion) -> String {
    let mut out = render(conversion);
    for (name, secret) in &conversion.secrets {
        writeln!(out, "secret {name}={}", secret.expose()).unwrap();
    }
    for file in &conversion.generated_files {
        writeln!(out, "file {}={:?}", file.path.display(), file.bytes).unwrap();
    }
    out
}

#[test]
fn conversion_is_deterministic() {
    let first = convert_ok(RICH, &rich_options());
    let second = convert_ok(RICH, &rich_options());
    assert_eq!(first.to_toml(), second.to_toml());
    assert_eq!(everything(&first), everything(&second));

    let reordered = convert_ok(RICH_REORDERED, &rich_options());
    assert_eq!(first.to_toml(), reordered.to_toml(), "the key order of the Score file must not matter");
    assert_eq!(everything(&first), everything(&reordered));

    // The pieces land where the other tests say they do.
    let config = &first.config;
    assert_eq!(config.http_service.as_ref().map(|h| h.internal_port), Some(8080));
    // Services follow the port names: grpc, metrics, stats.
    assert_eq!(config.services.iter().map(|s| s.internal_port).collect::<Vec<_>>(), [9000, 9091, 8125]);
    assert_eq!(config.services[0].http_checks.len(), 1, "readiness on 9000 is the grpc service's check");
    assert_eq!(first.secrets.keys().collect::<Vec<_>>(), ["DB_URL"]);
    insta::assert_snapshot!("rich_workload", render(&first));
}
