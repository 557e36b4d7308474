//! Issue 11's "done when": a newcomer's first hour on a service shaped like the one they
//! tried (an axum + Postgres API), walked through in one run, in the order they would take.
//!
//! The service is a copy of `examples/hello` linked against OpenSSL (as native-tls links
//! it: `libssl.so.3`, which needs `libcrypto.so.3`), with a Postgres database and a signing
//! key read from the environment. The steps, and the points of the issue they cover:
//!
//! 1. `init` in the package proposes a prefix; the user picks their own while nothing
//!    exists (point 2);
//! 2. the database of their local setup as a static provisioner, the password on stdin,
//!    never in `fly.toml` (point 5);
//! 3. a bad base reference fails before cargo builds (point 8);
//! 4. the default base lacks `libssl.so.3`: refused before anything is pushed (point 4);
//! 5. a base with OpenSSL, on disk (`oci:`) and in their registry: the image is written into
//!    an existing layout without dropping its tags (point 7), pushed, and the reused pin
//!    announced (point 8);
//! 6. `generate`, then `generate --check` (the CI gate) passes with the `environment`
//!    resource and fails when the Score file changes (point 1);
//! 7. the prefix is now kept: something exists under it (point 2).
//!
//! Each step failed on the main of before issue 11 (exit codes, refusals or files).

use std::path::Path;

use score_fly_tests::registry::{Base, Registry, make_base, push_layout, unique};

use crate::newcomer_image::{fly_env, openssl_base, openssl_variant, refs, refused, tags};

/// The service's workload: a database, a key from the environment, a plain log level.
const SCORE: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: hello
  annotations:
    score-fly/service-web-handlers: \"tls,http\"
containers:
  main:
    image: .
    variables:
      PORT: \"8080\"
      GREETING: \"Hello from ${metadata.name}!\"
      RUST_LOG: info
      DATABASE_URL: \"postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.database}\"
      JWT_SECRET: ${resources.env.JWT_SECRET}
resources:
  db:
    type: postgres
  env:
    type: environment
service:
  ports:
    web:
      port: 443
      targetPort: 8080
";

const DB_PASSWORD: &str = "walkthrough-db-pw-4f1c";
const JWT: &str = "walkthrough-jwt-9a7e";

#[test]
fn a_newcomer_takes_a_native_tls_postgres_service_from_init_to_a_pushed_image_and_a_checked_fly_toml() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let service = openssl_variant("0.1.0-walkthrough");
    let project = &service.project;
    project.write("score.yaml", SCORE);
    let fly = fly_env(&registry);
    let fly = refs(&fly);
    let env: Vec<(&str, &str)> = fly.iter().copied().chain([("JWT_SECRET", JWT)]).collect();
    let leaks = |run: &crate::support::Run, step: &str| {
        for secret in [DB_PASSWORD, JWT] {
            assert!(!run.stderr.contains(secret) && !run.stdout.contains(secret), "{step} shows no secret");
        }
    };

    // 1. init proposes `hello-<suffix>-` (never an empty prefix, never two backticks); the
    //    score.yaml they wrote is kept.
    let init = project.run(&["init"]);
    init.assert_code(0).assert_stderr_has("Proposed app prefix `hello-");
    assert!(!init.stderr.contains("``"), "{}", init.stderr);
    assert_eq!(project.read("score.yaml"), SCORE.as_bytes(), "their Score file is kept");
    assert!(service.state()["app_prefix"].as_str().is_some_and(|p| p.starts_with("hello-")), "{}", service.state());

    // 2. Their database, as a static provisioner: plain outputs on the command line, the
    //    password on stdin.
    let add = project.run_stdin(
        &[
            "provisioners",
            "add",
            "local-db",
            "postgres",
            "--static-json",
            r#"{"host":"db.internal","port":5432,"username":"app","database":"realworld"}"#,
            "--static-secrets-file",
            "-",
        ],
        &[],
        format!(r#"{{"password":"{DB_PASSWORD}"}}"#).as_bytes(),
    );
    add.assert_code(0);
    leaks(&add, "provisioners add");

    // 3. A typo in the base reference fails before cargo compiles anything.
    let typo = service.build(&["--base-image", &format!("oci:{}:base", work.path().join("nope").display())], &fly);
    refused(&typo);
    assert!(!typo.stderr.contains("Compiling"), "refused before cargo runs: {}", typo.stderr);

    // 4. The default kind of test base (glibc only) lacks libssl.so.3: refused before any push,
    //    naming the library and the fixes.
    let glibc_only = make_base(Base::Glibc, &work.path().join("glibc"));
    let before = registry.requests().len();
    let errors =
        refused(&service.build(&["--push", "--base-image", &format!("oci:{}:base", glibc_only.display())], &fly));
    for part in ["lacks: libssl.so.3", "gcr.io/distroless/cc-debian12", "rustls instead of native-tls"] {
        assert!(errors.contains(part), "names {part:?}: {errors}");
    }
    assert!(registry.requests()[before..].iter().all(|r| !r.writes()), "nothing pushed");
    assert!(service.state()["images"]["hello"].is_null(), "nothing recorded");

    // The user picks their own prefix: nothing exists yet, so it changes.
    let chosen = project.run(&["init", "--app-prefix", "acme-"]);
    chosen.assert_code(0).assert_stderr_has("Changed the app prefix from `hello-");
    assert_eq!(service.state()["app_prefix"], "acme-");

    // 5. A base with OpenSSL. On disk, into the layout it came from: its `base` tag stays.
    let ssl = openssl_base(&work.path().join("ssl"), true);
    let ssl_ref = format!("oci:{}:base", ssl.display());
    service
        .build(&["--base-image", &ssl_ref, "--output-oci", &ssl.display().to_string(), "--tag", "v1"], &fly)
        .assert_code(0);
    let names: Vec<String> = tags(&ssl).into_iter().map(|(t, _)| t).collect();
    assert_eq!(names, ["base", "v1"], "the layout keeps its other tags");
    // A folder of notes is not a layout: refused, untouched.
    project.write("notes/todo.md", "deploy on friday\n");
    let before_notes = project.snapshot();
    let notes = service.build(&["--base-image", &ssl_ref, "--output-oci", "notes"], &fly);
    notes.assert_code(3);
    assert_eq!(project.snapshot(), before_notes, "nothing written");
    // Their registry's copy of that base: pushed, then the pin is announced on the next build.
    let base_ref = format!("{}/bases/cc-ssl:{}", registry.host(), unique("t"));
    push_layout(&ssl, &base_ref, None, false);
    service.build(&["--push", "--base-image", &base_ref, "--tag", "v1"], &fly).assert_code(0);
    let again = service.build(&["--push", "--base-image", &base_ref, "--tag", "v2"], &fly);
    again.assert_code(0).assert_stderr_has(&format!("Using base image {base_ref} as pinned "));
    again.assert_stderr_has("--pull");
    assert_eq!(
        service.state()["images"]["hello"]["reference"].as_str().map(|r| r.ends_with("acme-hello:v2")),
        Some(true),
        "{}",
        service.state()
    );

    // 6. generate: the password and the key are secrets, never in fly.toml; then the CI gate.
    let generate = project.run_env(&["generate", "--secrets-file", "hello.secrets"], &env);
    generate.assert_code(0);
    leaks(&generate, "generate");
    let fly_toml = String::from_utf8(project.read("fly_hello.toml")).expect("UTF-8");
    assert!(fly_toml.contains("app = \"acme-hello\""), "{fly_toml}");
    assert!(!fly_toml.contains(DB_PASSWORD) && !fly_toml.contains(JWT), "{fly_toml}");
    let secrets = String::from_utf8(project.read("hello.secrets")).expect("UTF-8");
    assert!(secrets.contains(&format!("DATABASE_URL=postgres://app:{DB_PASSWORD}@db.internal:5432/realworld")));
    assert!(secrets.contains(&format!("JWT_SECRET={JWT}")), "{secrets}");
    let state = project.read(".score-fly/state.json");
    let check = project.run_env(&["generate", "--check"], &env);
    check.assert_code(0).assert_stderr_has("up to date");
    leaks(&check, "generate --check");
    project.write("score.yaml", SCORE.replace("RUST_LOG: info", "RUST_LOG: debug"));
    let stale = project.run_env(&["generate", "--check"], &env);
    stale.assert_code(1).assert_stderr_has("fly_hello.toml is out of date");
    project.write("score.yaml", SCORE);
    assert_eq!(project.read(".score-fly/state.json"), state, "--check saves nothing");

    // 7. Images exist under `acme-`: the prefix no longer changes, and the error says why.
    let kept = project.fails(&["generate", "--app-prefix", "other-"], 3);
    kept.assert_stderr_has("cannot change to `other-`");
    kept.assert_stderr_has("acme-hello");
    assert!(Path::new(&project.path().join("fly_hello.toml")).exists());
}
