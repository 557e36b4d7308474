//! Durations and numbers validated where they enter, and text that fly.toml cannot carry
//! (issue 10, class 2). `--timeout 99999999999999999999s` was accepted and later panicked a
//! worker at `Duration::from_secs_f64`, or hung for ever holding the project lock; duration
//! annotations reached fly.toml past what flyctl parses; header values with CR/LF and
//! commands with NUL were written as given.

use score_fly_core::limits;

use crate::fixtures::{INVALID, STATE};
use crate::support::{Project, WEB};

/// Exit code of a command line clap refuses (`src/exit.rs`).
const USAGE: i32 = 2;

/// A workload `web` with one `postgres` resource.
const WEB_DB: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx
resources:
  db:
    type: postgres
";

#[test]
fn an_absurd_timeout_is_refused_on_the_command_line() {
    let project = Project::new();
    let before = project.snapshot();
    for (timeout, why) in [
        ("99999999999999999999s", "--timeout `99999999999999999999s` is too long to be a duration"),
        ("25h", "--timeout `25h` (25h) must be longer than 0s"),
        ("0s", "--timeout `0s` (0s) must be longer than 0s and at most 24h"),
        ("-5s", "--timeout `-5s` is not a duration: it must not have a sign"),
        ("NaNs", "--timeout `NaNs` is not a duration"),
    ] {
        let probe = project
            .probe(&[
                "provisioners",
                "add",
                "pg",
                "postgres",
                "--cmd-binary",
                "./p.sh",
                &format!("--timeout={timeout}"),
            ])
            .run();
        probe.assert_code(INVALID).assert_stderr_has(&format!("error: {why}"));
        probe.assert_stderr_has("at most 24h (limits::MAX_TIMEOUT)");
    }
    assert_eq!(project.snapshot(), before, "nothing written");
    // The longest accepted is accepted.
    project
        .probe(&["provisioners", "add", "pg", "postgres", "--cmd-binary", "./p.sh", "--timeout", "24h"])
        .run()
        .assert_code(0);
}

#[test]
fn an_absurd_lock_timeout_is_refused() {
    let project = Project::with_score(WEB);
    let before = project.snapshot();
    for value in ["99999999999999999999", "86401", "-1", "1.5"] {
        let probe = project.probe(&["generate", "--app-prefix", "demo-", &format!("--lock-timeout={value}")]).run();
        probe.assert_code(USAGE).assert_stderr_has(&format!(
            "invalid value '{value}' for '--lock-timeout <SECONDS>': must be whole seconds from 0 to 86400 (24h, limits::MAX_TIMEOUT)"
        ));
    }
    assert_eq!(project.snapshot(), before, "nothing written");
    project.probe(&["generate", "--app-prefix", "demo-", "--lock-timeout", "86400"]).run().assert_code(0);
}

#[test]
fn absurd_timeouts_and_retries_in_provisioner_files_are_refused_when_read() {
    let project = Project::with_score(WEB_DB);
    project.script("prov.sh", "cat > /dev/null\necho '{}'\n");
    for (kind, field, why) in [
        (
            "cmd: {binary: ./prov.sh, timeout: 99999999999999999999s}",
            "`cmd.timeout`",
            "`99999999999999999999s` is too long to be a duration",
        ),
        (
            "cmd: {binary: ./prov.sh, timeout: 100000h}",
            "`cmd.timeout`",
            "`100000h` (100000h) must be longer than 0s and at most 24h",
        ),
        ("http: {url: 'http://127.0.0.1:9', timeout: 0s}", "`http.timeout`", "`0s` (0s) must be longer than 0s"),
        (
            "http: {url: 'http://127.0.0.1:9', connect_timeout: 2562048h}",
            "`http.connect_timeout`",
            "`2562048h` is too long to be a duration",
        ),
    ] {
        project.provisioners_file("local.provisioners.yaml", &format!("- id: pg\n  type: postgres\n  {kind}\n"));
        let before = project.snapshot();
        let probe = project.probe(&["generate", "--app-prefix", "demo-"]).run();
        probe.assert_code(INVALID).assert_stderr_has(&format!(
            "error: invalid provisioner file .score-fly/local.provisioners.yaml: item 1: provisioner `pg`: {field} {why}"
        ));
        probe.assert_stderr_has("(limits::MAX_TIMEOUT)");
        assert_eq!(project.snapshot(), before, "nothing written");
    }
    project.provisioners_file(
        "local.provisioners.yaml",
        "- {id: pg, type: postgres, http: {url: 'http://127.0.0.1:9', retries: 4294967295}}\n",
    );
    project.probe(&["generate", "--app-prefix", "demo-"]).run().assert_code(INVALID).assert_stderr_has(&format!(
        "provisioner `pg`: `http.retries` 4294967295 must be from 0 to {} (limits::MAX_RETRIES)",
        limits::MAX_RETRIES
    ));
    project.provisioners_file(
        "local.provisioners.yaml",
        "- {id: pg, type: postgres, http: {url: 'http://127.0.0.1:9', retries: 99999999999999999999}}\n",
    );
    project
        .probe(&["generate", "--app-prefix", "demo-"])
        .run()
        .assert_code(INVALID)
        .assert_stderr_has("local.provisioners.yaml: .[0].http.retries: a whole number does not fit in 64 bits");
    assert!(!project.exists(STATE));
}

/// A workload with one annotation, and an HTTP port `web` with a liveness probe.
fn annotated(key: &str, value: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  annotations:\n    score-fly/{key}: '{value}'\ncontainers:\n  main:\n    image: nginx\n    livenessProbe:\n      httpGet: {{path: /health, port: 8080}}\nservice:\n  ports:\n    web: {{port: 80, targetPort: 8080}}\n"
    )
}

#[test]
fn duration_and_number_annotations_past_what_flyctl_parses_are_refused() {
    for (key, value, message) in [
        ("check-interval", "99999999999h", "check interval `99999999999h` is too long to be a duration"),
        ("check-interval", "25h", "check interval `25h` (25h) must be at least 2s and at most 24h"),
        ("check-interval", "1999ms", "check interval `1999ms` (1999ms) must be at least 2s and at most 24h"),
        ("check-grace-period", "2562048h", "check grace period `2562048h` is too long to be a duration"),
        ("check-timeout", "60001ms", "check timeout `60001ms` (60001ms) must be longer than 0s and at most 1m"),
        (
            "release-command-timeout",
            "99999999999999999999s",
            "release command timeout `99999999999999999999s` is too long",
        ),
        (
            "release-command-timeout",
            "1000h",
            "release command timeout `1000h` (1000h) must be longer than 0s and at most 24h",
        ),
        (
            "kill-timeout",
            "99999999999999999999",
            "kill timeout `99999999999999999999` must be whole seconds or a duration",
        ),
        ("kill-timeout", "301s", "at most 300 seconds (Fly's maximum)"),
        ("swap-size-mb", "99999999999", "swap size `99999999999` must be a whole number from 0 to 4294967295"),
        ("restart-retries", "-1", "restart retries `-1` must be a whole number from 0 to 4294967295"),
        (
            "service-web-min-running",
            "4294967296",
            "min-running `4294967296` must be a whole number from 0 to 4294967295",
        ),
        (
            "service-web-concurrency",
            r#"{"hard_limit": 1e99}"#,
            "concurrency: `hard_limit` must be a whole number from 0 to 4294967295",
        ),
    ] {
        let project = Project::with_score(&annotated(key, value));
        let before = project.snapshot();
        let probe = project.probe(&["generate", "--app-prefix", "demo-"]).run();
        probe.assert_code(INVALID).assert_stderr_has(&format!("error: metadata.annotations[\"score-fly/{key}\"]: "));
        probe.assert_stderr_has(message);
        assert_eq!(project.snapshot(), before, "{key}: nothing written");
    }
    // The bounds themselves are accepted, and flyctl's parser (the fake's) reads them.
    let project = Project::with_score(
        &annotated("check-interval", "24h")
            .replace("annotations:\n", "annotations:\n    score-fly/check-timeout: 1m\n    score-fly/check-grace-period: 24h\n    score-fly/release-command-timeout: 24h\n    score-fly/release-command: migrate\n    score-fly/kill-timeout: '300'\n"),
    );
    project.probe(&["generate", "--app-prefix", "demo-"]).run().assert_code(0);
    project.check_every_fly_toml();
}

#[test]
fn header_values_with_line_breaks_and_commands_with_nul_are_refused_where_they_are() {
    let probe_with = |value: &str| {
        format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    readinessProbe:\n      httpGet:\n        path: /health\n        port: 8080\n        httpHeaders:\n          - name: X-Probe\n            value: \"{value}\"\n"
        )
    };
    let project = Project::with_score(&probe_with("ok\\r\\nSet-Cookie: session=stolen"));
    let before = project.snapshot();
    let probe = project.probe(&["generate", "--app-prefix", "demo-"]).run();
    probe.assert_code(INVALID).assert_error_at(
        "containers.main.readinessProbe.httpGet.httpHeaders[0].value: the value of header `X-Probe` holds a carriage return (CR), which would end the header; remove it",
        "score.yaml:13:20",
        "            value: \"ok\\r\\nSet-Cookie: session=stolen\"",
    );
    assert!(
        !probe.stderr.contains("stolen\n") || probe.stderr.matches("stolen").count() == 1,
        "the value is only in the snippet"
    );
    assert_eq!(project.snapshot(), before);

    let project = Project::with_score(&probe_with("a\\nb"));
    project
        .probe(&["generate", "--app-prefix", "demo-"])
        .run()
        .assert_code(INVALID)
        .assert_stderr_has("holds a line feed (LF)");

    // http-options response headers (an annotation).
    let project = Project::with_score(&annotated(
        "service-web-http-options",
        r#"{"response": {"headers": {"X-Frame-Options": "DENY\r\nX-Evil: 1"}}}"#,
    ));
    project.probe(&["generate", "--app-prefix", "demo-"]).run().assert_code(INVALID).assert_stderr_has(
        "http options.response.headers: the value of header `X-Frame-Options` holds a carriage return (CR)",
    );
    let project = Project::with_score(&annotated(
        "service-web-http-options",
        r#"{"response": {"headers": {"X-A: b\r\nX-C": "1"}}}"#,
    ));
    project
        .probe(&["generate", "--app-prefix", "demo-"])
        .run()
        .assert_code(INVALID)
        .assert_stderr_has("header name `X-A: b\\r\\nX-C` must be letters, digits or one of");

    // NUL in a command, an argument, a variable, the release command.
    let command = format!(
        "{WEB}    command: [\"/bin/app\", \"--name=a\\0b\"]\n    args: [\"\\0\"]\n    variables:\n      TOKEN: \"x\\0y\"\n"
    );
    let project = Project::with_score(&command);
    let probe = project.probe(&["generate", "--app-prefix", "demo-"]).run();
    probe.assert_code(INVALID);
    probe.assert_stderr_has(
        "containers.main.command[1]: command[1] holds a NUL character, which no program argument can carry",
    );
    probe.assert_stderr_has("containers.main.args[0]: args[0] holds a NUL character");
    probe.assert_stderr_has("containers.main.variables.TOKEN: the value of `TOKEN` holds a NUL character, which no environment variable can carry");
    assert!(!project.exists("fly_web.toml"));
    let project = Project::with_score(
        &annotated("release-command", "migrate\\0--all").replace("'migrate\\0--all'", "\"migrate\\0--all\""),
    );
    project
        .probe(&["generate", "--app-prefix", "demo-"])
        .run()
        .assert_code(INVALID)
        .assert_stderr_has("the release command holds a NUL character");
}
