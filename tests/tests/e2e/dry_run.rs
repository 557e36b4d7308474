//! Issue 11, point 9: `deploy --dry-run` blind spots. The product (`score-fly-e2e`) against
//! the strict fake flyctl and the fake Machines API, as `deploy.rs` runs it, on a Score file
//! (nothing is compiled: the image is `nginx:stable`).
//!
//! - What stops the real run before it changes anything — flyctl missing, no token, a token
//!   the Fly API refuses — is a **blocker** of the dry run: listed, and the dry run exits
//!   with the real run's code, 4 (missing tools and credentials), not 0.
//! - The plan names the secrets it would import (never their values) before anything is
//!   provisioned, and they are the ones the real run imports.

use std::path::Path;
use std::process::Command;

use score_fly_tests::fake_fly::{FakeFly, FakeFlyOptions};
use score_fly_tests::postgres::PgServer;
use serde_json::Value;

const SCORE: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: nginx:stable
    variables:
      DATABASE_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/${resources.db.database}
      DB_HOST: ${resources.db.host}
      SMTP_HOST: ${resources.mail.host}
      SMTP_PASSWORD: ${resources.mail.password}
resources:
  db:
    type: postgres
  mail:
    type: smtp
";

/// A static provisioner whose password is a secret output.
const MAIL_PROVISIONER: &str = "- id: mail\n  type: smtp\n  static:\n    values: {host: smtp.example.com}\n    secrets: {password: S3CRET-smtp-pw}\n";

const EXIT_UNAVAILABLE: i32 = 4;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A project folder with [`SCORE`] and the mail provisioner.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("score.yaml"), SCORE).expect("write score.yaml");
    std::fs::create_dir(dir.path().join(".score-fly")).expect("mkdir");
    std::fs::write(dir.path().join(".score-fly/mail.provisioners.yaml"), MAIL_PROVISIONER).expect("write provisioner");
    dir
}

/// Runs `deploy` in `dir` with the fake's environment, then `env` (`None` removes a variable).
fn deploy(dir: &Path, fake: &FakeFly, extra: &[&str], env: &[(&str, Option<&str>)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_score-fly-e2e"));
    command.args(["score-fly", "deploy", "--app-prefix", "demo-", "--region", "ams"]).args(extra).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("FLY_") || key.starts_with("SCORE_FLY") {
            command.env_remove(key);
        }
    }
    command
        .envs(fake.env())
        .env("FLY_BIN", env!("CARGO_BIN_EXE_fake-flyctl"))
        .env("NO_COLOR", "1")
        .env("CARGO_TERM_COLOR", "never");
    for (key, value) in env {
        match value {
            Some(v) => command.env(key, v),
            None => command.env_remove(key),
        };
    }
    let output = command.output().expect("run score-fly");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A fake Fly whose Managed Postgres clusters are databases of a real server (kept running while
/// the first value lives), accepting a macaroon token: `fly mpg` refuses older-style tokens
/// (fly-2026.md §1.2).
fn fly_with_postgres() -> (PgServer, FakeFly) {
    let pg = PgServer::start();
    let fake = FakeFly::start(FakeFlyOptions {
        token: score_fly_tests::fake_fly::MACAROON_TOKEN.to_owned(),
        postgres: Some(pg.target()),
        ..FakeFlyOptions::default()
    });
    (pg, fake)
}

/// The dry run and the real run both stop with exit 4 and `messages`, and nothing was
/// created, run or written.
fn both_blocked(env: &[(&str, Option<&str>)], messages: &[&str]) {
    both_blocked_with(score_fly_tests::fake_fly::MACAROON_TOKEN, env, messages);
}

/// [`both_blocked`] with a fake Fly that accepts `token`.
fn both_blocked_with(token: &str, env: &[(&str, Option<&str>)], messages: &[&str]) {
    let fake = FakeFly::start(FakeFlyOptions { token: token.to_owned(), ..FakeFlyOptions::default() });
    let dir = project();
    let dry = deploy(dir.path(), &fake, &["--dry-run", "--format", "json"], env);
    assert_eq!(dry.code, EXIT_UNAVAILABLE, "the dry run is blocked like the real run\n{}", dry.stderr);
    let plan: Value = serde_json::from_str(&dry.stdout).expect("the plan is still printed as JSON");
    let blockers: Vec<&str> = plan["blockers"].as_array().expect("blockers").iter().filter_map(Value::as_str).collect();
    assert_eq!(blockers.len(), messages.len(), "{blockers:#?}");
    for (blocker, message) in blockers.iter().zip(messages) {
        assert!(blocker.contains(message), "{blocker}\nexpected: {message}");
        assert!(dry.stderr.contains(&format!("error: {blocker}")), "{}", dry.stderr);
    }
    assert!(dry.stderr.contains("Blocked the deploy would stop on"), "{}", dry.stderr);
    assert_eq!(plan["apps"][0]["app"], "demo-api", "the rest of the plan is there: {plan:#}");

    let real = deploy(dir.path(), &fake, &[], env);
    assert_eq!(real.code, EXIT_UNAVAILABLE, "{}", real.stderr);
    for message in messages {
        assert!(real.stderr.contains(message), "{}", real.stderr);
    }
    assert!(fake.invocations().is_empty(), "flyctl was not run");
    assert!(fake.apps().is_empty(), "nothing created");
    assert!(!dir.path().join("fly_api.toml").exists() && !dir.path().join(".score-fly/state.json").exists());
    for text in [&dry.stdout, &dry.stderr, &real.stderr] {
        assert!(!text.contains("S3CRET") && !text.contains("wrong-token-value"), "{text}");
    }
}

#[test]
fn without_flyctl_the_dry_run_is_blocked_as_the_real_run() {
    let empty = tempfile::tempdir().expect("temp dir");
    let path = empty.path().display().to_string();
    both_blocked(&[("FLY_BIN", None), ("PATH", Some(&path))], &["flyctl was not found"]);
    let missing = empty.path().join("fly");
    let missing = missing.display().to_string();
    both_blocked(&[("FLY_BIN", Some(&missing))], &["which is not an executable file"]);
}

#[test]
fn without_a_token_the_dry_run_is_blocked_as_the_real_run() {
    both_blocked(&[("FLY_API_TOKEN", None)], &["the Fly Machines API needs a token: set FLY_API_TOKEN"]);
    // Both missing: one run names both.
    let empty = tempfile::tempdir().expect("temp dir");
    let path = empty.path().display().to_string();
    both_blocked(
        &[("FLY_API_TOKEN", None), ("FLY_BIN", None), ("PATH", Some(&path))],
        &["flyctl was not found", "needs a token"],
    );
}

#[test]
fn a_refused_token_blocks_the_dry_run_as_the_real_run() {
    both_blocked(&[("FLY_API_TOKEN", Some("wrong-token-value"))], &["the Fly API refused the token (401"]);
}

#[test]
fn the_dry_run_names_the_secrets_it_would_import_before_anything_exists() {
    let (_pg, fake) = fly_with_postgres();
    let dir = project();
    let dry = deploy(dir.path(), &fake, &["--dry-run", "--format", "json"], &[]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let plan: Value = serde_json::from_str(&dry.stdout).expect("the plan as JSON");
    assert_eq!(plan["blockers"], serde_json::json!([]));
    let app = &plan["apps"][0];
    assert_eq!(app["secrets"]["imported"], serde_json::json!(["DATABASE_URL", "SMTP_PASSWORD"]), "{plan:#}");
    assert!(
        dry.stderr.contains("Would import secret(s) DATABASE_URL, SMTP_PASSWORD into demo-api (stdin)"),
        "{}",
        dry.stderr
    );
    assert!(!dry.stdout.contains("S3CRET") && !dry.stderr.contains("S3CRET"), "names, never values");
    assert!(fake.invocations().is_empty() && fake.apps().is_empty(), "the dry run changed nothing");

    // The real run imports exactly those.
    let real = deploy(dir.path(), &fake, &["--format", "json"], &[]);
    assert_eq!(real.code, 0, "{}", real.stderr);
    let imported: Vec<String> = fake.app("demo-api").expect("app").secrets.keys().cloned().collect();
    assert_eq!(imported, ["DATABASE_URL", "SMTP_PASSWORD"]);
    assert_eq!(fake.secret_value("demo-api", "SMTP_PASSWORD").as_deref(), Some("S3CRET-smtp-pw"));
}

/// A `cmd` provisioner that never ran: its outputs (secret or not) are unknown, and the plan
/// says so instead of leaving its secrets out silently. It is not run by the dry run.
#[test]
fn secrets_of_a_cmd_provisioner_never_run_are_named_as_unknown() {
    let fake = FakeFly::start(FakeFlyOptions {
        token: score_fly_tests::fake_fly::MACAROON_TOKEN.to_owned(),
        ..FakeFlyOptions::default()
    });
    let dir = project();
    let score = SCORE
        .replace("resources:\n", "resources:\n  queue:\n    type: amqp\n")
        .replace("      SMTP_PASSWORD:", "      QUEUE_URL: ${resources.queue.url}\n      SMTP_PASSWORD:");
    std::fs::write(dir.path().join("score.yaml"), score).expect("write score.yaml");
    std::fs::write(dir.path().join("ran"), "").expect("marker");
    std::fs::write(
        dir.path().join(".score-fly/queue.provisioners.yaml"),
        "- id: queue\n  type: amqp\n  cmd: {binary: rm, args: [ran]}\n",
    )
    .expect("write provisioner");
    let dry = deploy(dir.path(), &fake, &["--dry-run", "--format", "json"], &[]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let plan: Value = serde_json::from_str(&dry.stdout).expect("the plan as JSON");
    let app = &plan["apps"][0];
    assert_eq!(app["secrets"]["imported"], serde_json::json!(["DATABASE_URL", "SMTP_PASSWORD"]), "{plan:#}");
    assert_eq!(app["secrets"]["unknown_from"], serde_json::json!(["amqp.default#api.queue"]), "{plan:#}");
    assert!(
        dry.stderr.contains("Would import secret(s) DATABASE_URL, SMTP_PASSWORD, and any read from `amqp.default#api.queue` (names known once provisioned) into demo-api"),
        "{}",
        dry.stderr
    );
    assert!(dir.path().join("ran").exists(), "the dry run did not run the provisioner");
}

/// A new fly.toml is one status line; with `-v` the plan shows its text, outputs of resources
/// not yet provisioned standing in as `<uid.key>` (never a secret: those are app secrets).
#[test]
fn a_new_fly_toml_is_shown_whole_with_verbose() {
    let fake = FakeFly::start(FakeFlyOptions {
        token: score_fly_tests::fake_fly::MACAROON_TOKEN.to_owned(),
        ..FakeFlyOptions::default()
    });
    let dir = project();
    let quiet = deploy(dir.path(), &fake, &["--dry-run"], &[]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(quiet.stderr.contains("Would write fly_api.toml (app demo-api), a new file; values of resources not yet provisioned stand in as <uid.key>"), "{}", quiet.stderr);
    assert!(!quiet.stderr.contains("+++ b/fly_api.toml"), "{}", quiet.stderr);
    let verbose = deploy(dir.path(), &fake, &["--dry-run", "-v"], &[]);
    for line in [
        "+++ b/fly_api.toml",
        "+app = \"demo-api\"",
        "+DB_HOST = \"<postgres.default#api.db.host>\"",
        "+SMTP_HOST = \"smtp.example.com\"",
    ] {
        assert!(verbose.stderr.contains(line), "no `{line}` in:\n{}", verbose.stderr);
    }
    assert!(!verbose.stderr.contains("DATABASE_URL =") && !verbose.stderr.contains("S3CRET"), "{}", verbose.stderr);
    assert!(!dir.path().join("fly_api.toml").exists());
}

/// `fly mpg` refuses an older-style token (fly-2026.md §1.2): with a Managed Postgres resource
/// to make, the dry run says so as a blocker and the real run stops before creating anything
/// (exit 4), instead of failing in the middle of provisioning.
#[test]
fn an_older_style_token_blocks_a_deploy_that_makes_managed_postgres() {
    both_blocked_with(
        score_fly_tests::fake_fly::DEFAULT_TOKEN,
        &[],
        &["`postgres.default#api.db` is made with Managed Postgres (`fly mpg`), which needs a macaroon token"],
    );
}

/// Issue 12's done-when on a Score file: after a deploy, a change to `score.yaml` is planned
/// as a unified diff of the fly.toml on disk (the changed variable, nothing else), with the
/// file left as it is, and the JSON plan carries the same diff.
#[test]
fn a_change_to_score_yaml_is_planned_as_a_diff_of_the_fly_toml_on_disk() {
    let (_pg, fake) = fly_with_postgres();
    let dir = project();
    let first = deploy(dir.path(), &fake, &[], &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let same = deploy(dir.path(), &fake, &["--dry-run"], &[]);
    assert!(!same.stderr.contains("Would change"), "nothing changed yet:\n{}", same.stderr);

    let written = std::fs::read_to_string(dir.path().join("fly_api.toml")).expect("fly_api.toml");
    std::fs::write(
        dir.path().join("score.yaml"),
        SCORE.replace("    variables:\n", "    variables:\n      LOG_LEVEL: debug\n"),
    )
    .expect("edit score.yaml");
    let changed = deploy(dir.path(), &fake, &["--dry-run"], &[]);
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    for line in [
        "Would change fly_api.toml (app demo-api):",
        "--- a/fly_api.toml",
        "+++ b/fly_api.toml",
        "@@ ",
        "+LOG_LEVEL = \"debug\"",
    ] {
        assert!(changed.stderr.contains(line), "no `{line}` in:\n{}", changed.stderr);
    }
    let removed = changed.stderr.lines().filter(|l| l.starts_with('-') && !l.starts_with("---")).count();
    assert_eq!(removed, 0, "only a line is added:\n{}", changed.stderr);
    assert!(!changed.stderr.contains("S3CRET"), "{}", changed.stderr);

    let json = deploy(dir.path(), &fake, &["--dry-run", "--format", "json"], &[]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("the plan as JSON");
    assert_eq!(plan["files"][0]["status"], "changed", "{plan:#}");
    assert!(plan["files"][0]["diff"].as_str().is_some_and(|d| d.contains("+LOG_LEVEL = \"debug\"")), "{plan:#}");
    let deploys = fake.invocations().iter().filter(|i| i["argv"][0] == "deploy").count();
    assert_eq!(deploys, 1, "the dry runs deployed nothing");
    assert_eq!(std::fs::read_to_string(dir.path().join("fly_api.toml")).unwrap(), written, "a plan writes nothing");
}
