//! Class 4 of issue 10: secrets are never echoed and never laundered.
//!
//! Every probe starts from the input that leaked: a multi-line secret holding quotes and a
//! backslash ([`SECRET`]), shown line by line or JSON-escaped by a provisioner or flyctl;
//! credentials in an http provisioner's URL; a provisioner handing another resource's secret
//! back as a plain output. [`assert_never_shown`] is the sweep: it looks for every form the
//! secret can take ([`forms`]) in everything a run printed and in every file of the project
//! except the secret outputs (the state and the secrets file).
//!
//! No file of a project holds [`SECRET`] as input: provisioners read their answers from the
//! environment, so a hit in any file is something score-fly wrote.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use score_fly_tests::fake_fly::{FakeFly, FakeFlyOptions};

use super::Probe;
use crate::fixtures::{FAILURE, uid};
use crate::support::Project;

/// The secret of the probes: several lines, double and single quotes, a backslash, unicode,
/// leading spaces. Every line is long enough to be worth hiding on its own.
const SECRET: &str = "S3CRET-\"quoted\" back\\slash one\n  second line: pässwörd ✓ 'single'\n-----END PROBE KEY-----";

/// The Fly token of the flyctl probes (a macaroon-style token, as `fly tokens create` gives).
const FLY_TOKEN: &str = "fm2_S3CRETflytokenAbCdEf0123456789";

/// Every form `secret` can take in text: raw; each line (trimmed) of at least 4 bytes, as a
/// multi-line secret shown line by line appears; JSON-escaped (serde's escapes, also with
/// `\/` and non-ASCII as `\uXXXX`); JSON-escaped twice (a JSON document quoted in a JSON
/// string); TOML basic string (how fly.toml would quote it); Rust's `{:?}` (Go's `%q` for
/// this text); each line with its quotes escaped but not its backslashes.
pub(crate) fn forms(secret: &str) -> Vec<String> {
    let json = |s: &str| {
        let quoted = serde_json::to_string(s).expect("json");
        quoted[1..quoted.len() - 1].to_owned()
    };
    let ascii = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
        out
    };
    let toml = {
        let mut out = String::new();
        for c in secret.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{:04X}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        out
    };
    let debug = format!("{secret:?}");
    let mut forms = vec![
        secret.to_owned(),
        json(secret),
        json(secret).replace('/', "\\/"),
        ascii(&json(secret)),
        json(&json(secret)),
        toml,
        debug[1..debug.len() - 1].to_owned(),
    ];
    for line in secret.lines().map(str::trim).filter(|l| l.len() >= 4) {
        forms.push(line.to_owned());
        // As a shell's `echo` leaves a JSON-escaped line: `\"` kept, `\\` turned into `\`.
        forms.push(line.replace('"', "\\\""));
    }
    forms.sort();
    forms.dedup();
    forms
}

/// One probe and what it was.
pub(crate) type Shown<'a> = (&'a str, &'a Probe);

/// The sweep: no form of `secret` ([`forms`]) in the stdout or stderr of any of `runs`, nor
/// in any file of `project` except the state (`.score-fly/state.json`) and `holders` (the
/// secrets file a run wrote, or an input the test itself put the secret in).
#[track_caller]
pub(crate) fn assert_never_shown(project: &Project, runs: &[Shown<'_>], secret: &str, holders: &[&str]) {
    let forms = forms(secret);
    for (what, probe) in runs {
        for form in &forms {
            assert!(!probe.stdout.contains(form.as_str()), "`{what}` printed {form:?} on stdout:\n{}", probe.stdout);
            assert!(!probe.stderr.contains(form.as_str()), "`{what}` printed {form:?} on stderr:\n{}", probe.stderr);
        }
    }
    let mut allowed: Vec<std::path::PathBuf> = vec![project.path().join(".score-fly/state.json")];
    allowed.extend(holders.iter().map(|h| project.path().join(h)));
    let mut pending = vec![project.path().to_path_buf()];
    let mut scanned = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("list folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if allowed.contains(&path) {
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
            scanned += 1;
            for form in &forms {
                assert!(!text.contains(form.as_str()), "{} holds {form:?}:\n{text}", path.display());
            }
        }
    }
    assert!(scanned > 0, "the sweep scanned no file");
}

/// A response of a cmd provisioner, as JSON text.
fn response(values: &serde_json::Value, secrets: &serde_json::Value) -> String {
    serde_json::json!({"values": values, "secrets": secrets}).to_string()
}

/// `vault.sh` answers `$SF_VAULT` (the secret comes from the environment, not a file); asked
/// to deprovision, it fails quoting `$SF_SECRET`.
const VAULT: &str = "cat > /dev/null\nif [ \"$SCORE_PROVISIONER_MODE\" = deprovision ]; then\n  printf 'cannot delete %s\\n' \"$SF_SECRET\" >&2\n  exit 1\nfi\nprintf '%s\\n' \"$SF_VAULT\"\n";

/// A project whose `vault` resource (cmd provisioner `vault`) has [`SECRET`] as its secret
/// output `password`, and whose `user` resource (type `app-user`) gets it in its params;
/// `provisioners` registers `app-user` (the rest of a provisioner file).
fn vault_project(app_user: &str) -> Project {
    let project = Project::new();
    project.script("vault.sh", VAULT);
    project.provisioners_file(
        "local.provisioners.yaml",
        &format!("- {{id: vault, type: vault, cmd: {{binary: ./vault.sh}}}}\n{app_user}"),
    );
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n    variables:\n      PASSWORD: ${resources.vault.password}\nresources:\n  vault:\n    type: vault\n  user:\n    type: app-user\n    params:\n      admin_password: ${resources.vault.password}\n",
    );
    project
}

fn vault_answer() -> String {
    response(&serde_json::json!({"host": "vault.internal"}), &serde_json::json!({"password": SECRET}))
}

// ---------------------------------------------------------------------------------------
// Redaction

/// `echo.sh` prints what a careless provisioner prints when it fails: its request (the
/// secret JSON-escaped inside) as is, then as `echo` mangles it (dash's `echo` turns `\\`
/// into `\` and `\n` into a line break, and keeps `\"`), the secret itself line by line,
/// then an error.
const ECHO_AND_FAIL: &str = "req=$(cat)\nprintf 'received: %s\\n' \"$req\" >&2\necho \"echoed: $req\" >&2\nprintf '%s\\n' \"$SF_SECRET\" >&2\necho 'error: cannot create the user' >&2\nexit 1\n";

#[test]
fn a_multi_line_secret_printed_by_a_failing_cmd_provisioner_is_redacted_in_every_form() {
    let project = vault_project("- {id: users, type: app-user, cmd: {binary: ./echo.sh}}\n");
    project.script("echo.sh", ECHO_AND_FAIL);
    let probe = project.probe(&["generate", "-v"]).env("SF_VAULT", &vault_answer()).env("SF_SECRET", SECRET).run();
    probe.assert_code(FAILURE);
    // It really printed it, and the failure quotes the end of what it printed.
    probe.assert_stderr_has("[app-user.default#api.user] received: {");
    probe.assert_stderr_has("\"admin_password\":\"********\"},");
    probe.assert_stderr_has("[app-user.default#api.user] echoed: {");
    probe.assert_stderr_has("`./echo.sh` exited with status 1; the end of its stderr:");
    probe.assert_stderr_has("error: cannot create the user");
    assert_never_shown(&project, &[("generate -v", &probe)], SECRET, &[]);
}

/// Reads one HTTP/1.1 request (headers and a `Content-Length` body); returns the body.
fn read_request(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().expect("Content-Length");
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("read the body");
    String::from_utf8(body).expect("UTF-8 body")
}

/// An HTTP server on 127.0.0.1 (a thread per connection, for the rest of the test process)
/// answering each request with `answer(body)`: a status and a body, or `None` to hold the
/// connection without answering. Returns its port.
fn serve(answer: impl Fn(&str) -> Option<(u16, String)> + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let answer = std::sync::Arc::clone(&answer);
            std::thread::spawn(move || {
                let body = read_request(&mut stream);
                match answer(&body) {
                    Some((status, text)) => {
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {status} Whatever\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                            text.len()
                        );
                    }
                    None => std::thread::sleep(Duration::from_secs(20)),
                }
            });
        }
    });
    port
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

#[test]
fn an_http_provisioner_echoing_the_request_in_a_4xx_body_has_it_redacted() {
    // The body quotes the request (the secret JSON-escaped), the request as a JSON string
    // (escaped twice), and the secret as it was read.
    let port = serve(|request| {
        let quoted = serde_json::to_string(request).expect("json");
        Some((
            422,
            format!("{{\"error\":\"invalid params\",\"request\":{request},\"echo\":{quoted}}}\nvalue was:\n{SECRET}"),
        ))
    });
    let project = vault_project(&format!(
        "- {{id: users, type: app-user, http: {{url: \"http://127.0.0.1:{port}/users\", retries: 0}}}}\n"
    ));
    let probe = project.probe(&["generate"]).env("SF_VAULT", &vault_answer()).run();
    probe.assert_code(FAILURE);
    probe
        .assert_stderr_has(&format!("POST http://127.0.0.1:{port}/users answered 422: {{\"error\":\"invalid params\""));
    assert_never_shown(&project, &[("generate", &probe)], SECRET, &[]);
}

// ---------------------------------------------------------------------------------------
// URL credentials

/// Password and query values of the probe URLs.
const URL_PASSWORD: &str = "S3CRET-url-password";
const URL_TOKEN: &str = "S3CRET-url-token";

/// An http provisioner file for `app-user` with credentials in its URL (user info and
/// query), at `port`.
fn url_provisioner(port: u16, extra: &str) -> String {
    format!(
        "- id: users\n  type: app-user\n  http:\n    url: \"http://admin:{URL_PASSWORD}@127.0.0.1:{port}/users?token={URL_TOKEN}&region=ams\"\n    retries: 0\n{extra}"
    )
}

/// How the URL of [`url_provisioner`] is shown: the password and every query value masked.
fn masked_url(port: u16) -> String {
    format!("http://admin:********@127.0.0.1:{port}/users?token=********&region=********")
}

#[test]
fn url_credentials_are_masked_in_provisioners_list_and_in_every_http_error() {
    let refused = closed_port();
    let failing = serve(|_| Some((500, format!("internal error for token {URL_TOKEN}"))));
    let denied = serve(|_| Some((401, format!("bad password {URL_PASSWORD}"))));
    let silent = serve(|_| None);
    let cases: [(&str, u16, &str, String); 4] = [
        ("connection refused", refused, "", masked_url(refused)),
        ("5xx", failing, "", format!("POST {} answered 500: internal error for token ********", masked_url(failing))),
        ("4xx", denied, "", format!("POST {} answered 401: bad password ********", masked_url(denied))),
        ("timeout", silent, "    timeout: 1s\n", format!("{} did not answer in time", masked_url(silent))),
    ];
    for (what, port, extra, expected) in cases {
        let project = vault_project("");
        let file = ".score-fly/remote.provisioners.yaml";
        project.write(file, url_provisioner(port, extra));
        let mut runs = Vec::new();
        for format in ["table", "json"] {
            let probe = project.probe(&["provisioners", "list", "--format", format]).run();
            probe.assert_code(0);
            assert!(
                probe.stdout.contains(&masked_url(port)),
                "{what}: `provisioners list --format {format}`:\n{}",
                probe.stdout
            );
            runs.push((format!("provisioners list --format {format}"), probe));
        }
        let probe = project.probe(&["generate", "-v"]).env("SF_VAULT", &vault_answer()).run();
        probe.assert_code(FAILURE);
        probe.assert_stderr_has(&expected);
        runs.push(("generate -v".to_owned(), probe));
        let shown: Vec<Shown<'_>> = runs.iter().map(|(what, probe)| (what.as_str(), probe)).collect();
        for credential in [URL_PASSWORD, URL_TOKEN] {
            assert_never_shown(&project, &shown, credential, &[file]);
        }
        assert_never_shown(&project, &shown, SECRET, &[]);
    }
}

#[test]
fn an_invalid_url_is_refused_without_showing_its_credentials() {
    let project = vault_project("");
    let file = ".score-fly/remote.provisioners.yaml";
    project.write(
        file,
        format!(
            "- id: users\n  type: app-user\n  http:\n    url: \"ftp://admin:{URL_PASSWORD}@host/x?token={URL_TOKEN}\"\n"
        ),
    );
    let probe = project.probe(&["provisioners", "list"]).run();
    probe.assert_code(crate::fixtures::INVALID);
    probe.assert_stderr_has(
        "`http.url` `ftp://admin:********@host/x?token=********` must start with http:// or https://",
    );
    for credential in [URL_PASSWORD, URL_TOKEN] {
        assert_never_shown(&project, &[("provisioners list", &probe)], credential, &[file]);
    }
}

// ---------------------------------------------------------------------------------------
// flyctl

/// A flyctl that fails the way flyctl does when its input or token is refused: `apps create`
/// (when `$SF_REFUSE_TOKEN` is set) quotes the token, raw and in a JSON error body;
/// `secrets import` (unless `$SF_ACCEPT` is set) quotes what it read, line by line, and the
/// API's JSON answer quoting `$SF_SECRET_JSON`. `apps create` and `deploy` succeed
/// otherwise; anything else is refused.
const FLYCTL: &str = r#"case "$1 $2" in
  "deploy "*) echo "Visit your newly deployed app at https://demo-api.fly.dev/" ;;
  "apps create")
    if [ -n "$SF_REFUSE_TOKEN" ]; then
      echo "Error: the access token $FLY_API_TOKEN was refused" >&2
      printf 'Error: {"errors":[{"message":"invalid token \\"FlyV1 %s\\""}]}\n' "$FLY_API_TOKEN" >&2
      exit 1
    fi
    echo "New app created: $3" ;;
  "secrets import")
    input=$(cat)
    if [ -n "$SF_ACCEPT" ]; then
      echo "Secrets have been staged, but not set on VMs."
      exit 0
    fi
    echo "Error: Failed to parse secrets from stdin:" >&2
    printf '%s\n' "$input" >&2
    printf 'Error: {"errors":[{"message":"invalid value","value":"%s"}]}\n' "$SF_SECRET_JSON" >&2
    exit 1 ;;
  *) echo "Error: unexpected command: $*" >&2; exit 1 ;;
esac
"#;

#[test]
fn flyctl_echoing_the_token_or_a_secret_in_its_errors_has_them_redacted() {
    let fake = FakeFly::start(FakeFlyOptions { token: FLY_TOKEN.to_owned(), ..FakeFlyOptions::default() });
    let project = vault_project("- {id: users, type: app-user, static: {values: {user: app}}}\n");
    let fly = project.script("fly.sh", FLYCTL);
    let json = serde_json::to_string(SECRET).expect("json");
    let deploy = |refuse: bool, accept: bool, summary: bool| {
        let mut args = vec!["deploy", "--app-prefix", "demo-", "--region", "ams", "-vv"];
        if summary {
            args.extend(["--format", "json"]);
        }
        let mut probe = project
            .probe(&args)
            .env("FLY_BIN", &fly.display().to_string())
            .env("SF_VAULT", &vault_answer())
            .env("SF_SECRET_JSON", &json[1..json.len() - 1]);
        for (key, value) in fake.env() {
            probe = probe.env(&key, &value);
        }
        if refuse {
            probe = probe.env("SF_REFUSE_TOKEN", "1");
        }
        if accept {
            probe = probe.env("SF_ACCEPT", "1");
        }
        probe.run()
    };
    let refused = deploy(true, false, false);
    refused.assert_code(FAILURE);
    refused
        .assert_stderr_has("creating the app failed: `fly apps create demo-api --org personal` exited with status 1:");
    refused.assert_stderr_has("Error: the access token ******** was refused");
    let failed = deploy(false, false, false);
    failed.assert_code(FAILURE);
    failed
        .assert_stderr_has("importing secrets failed: `fly secrets import --stage -a demo-api` exited with status 1:");
    failed.assert_stderr_has("PASSWORD=\"\"\"********");
    // Then it works: the JSON summary names the secret, and nothing else shows it.
    let deployed = deploy(false, true, true);
    deployed.assert_code(0);
    assert!(deployed.stdout.contains("\"PASSWORD\""), "{}", deployed.stdout);
    let runs = [
        ("deploy (token refused)", &refused),
        ("deploy (secrets refused)", &failed),
        ("deploy --format json", &deployed),
    ];
    assert_never_shown(&project, &runs, FLY_TOKEN, &[]);
    assert_never_shown(&project, &runs, SECRET, &[]);
}

// ---------------------------------------------------------------------------------------
// Laundering

/// A project where `copy` (cmd provisioner `launder`, type `copy`) hands back the vault's
/// secret as plain outputs: `LAUNDERED` equal to it, `DSN` containing it; `plain` is a real
/// plain output. Workload `api` reads all three.
fn laundering_project() -> Project {
    let project = Project::new();
    project.script("vault.sh", VAULT);
    project.script("launder.sh", "cat > /dev/null\nprintf '%s\\n' \"$SF_LAUNDER\"\n");
    project.provisioners_file(
        "local.provisioners.yaml",
        "- {id: vault, type: vault, cmd: {binary: ./vault.sh}}\n- {id: launder, type: copy, cmd: {binary: ./launder.sh}}\n",
    );
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n    variables:\n      X: ${resources.copy.LAUNDERED}\n      DSN: ${resources.copy.DSN}\n      PLAIN: ${resources.copy.plain}\n      TOKEN: ${resources.copy.token}\nresources:\n  vault:\n    type: vault\n  copy:\n    type: copy\n",
    );
    project
}

fn launder_answer() -> String {
    response(
        &serde_json::json!({
            "LAUNDERED": SECRET,
            "DSN": format!("postgres://app:{SECRET}@db.internal/app"),
            "plain": "just-a-value",
            "token": FLY_TOKEN,
        }),
        &serde_json::json!({}),
    )
}

#[test]
fn a_secret_handed_back_as_a_plain_output_is_treated_as_secret_with_a_warning() {
    let project = laundering_project();
    let env = [
        ("SF_VAULT", vault_answer()),
        ("SF_LAUNDER", launder_answer()),
        ("FLY_API_TOKEN", FLY_TOKEN.to_owned()),
        ("SF_SECRET", SECRET.to_owned()),
    ];
    let generate = |args: &[&str]| {
        let mut probe = project.probe(args);
        for (key, value) in &env {
            probe = probe.env(key, value);
        }
        probe.run()
    };
    let first = generate(&["generate", "--secrets-file", "api.secrets"]);
    first.assert_code(0);
    let copy = uid("copy", "api", "copy");
    for key in ["DSN", "LAUNDERED", "token"] {
        first.assert_line(&format!(
            "warning: provisioner `launder` returned `{key}` of resource `{copy}` as a plain output, but it holds a secret: it is used as a secret output (a Fly secret, never a fly.toml value); have the provisioner return it under `secrets`"
        ));
    }
    assert!(!first.stderr.contains("`plain`"), "a plain value is left alone:\n{}", first.stderr);
    let toml = project.fly_toml("fly_api.toml");
    assert!(toml.contains("PLAIN = \"just-a-value\""), "{toml}");
    for name in ["X", "DSN", "TOKEN"] {
        assert!(!toml.contains(&format!("{name} =")), "{name} reached [env]:\n{toml}");
    }
    let secrets = String::from_utf8(project.read("api.secrets")).expect("UTF-8");
    for name in ["X=", "DSN=", "TOKEN="] {
        assert!(secrets.contains(name), "{name} is not in the secrets file:\n{secrets}");
    }
    // The state keeps them as secret outputs: reused runs and other commands see them so.
    let state = project.state_json();
    let entry = &state["resources"][&copy];
    assert_eq!(entry["values"], serde_json::json!({"plain": "just-a-value"}), "{entry:#}");
    assert_eq!(entry["secrets"]["LAUNDERED"], SECRET);

    // The sweep: every command that shows outputs or summaries, on the same project.
    let mut runs = vec![("generate --secrets-file api.secrets".to_owned(), first)];
    for args in [
        vec!["generate", "--secrets-file", "api.secrets", "--format", "json"],
        vec!["generate", "--check"],
        vec!["generate", "--check", "--format", "json"],
        vec!["generate", "-vv", "--reprovision", "--secrets-file", "api.secrets"],
        vec!["resources", "list"],
        vec!["resources", "list", "--format", "json"],
        vec!["resources", "get-outputs", &copy],
        vec!["resources", "get-outputs", &copy, "--format", "json"],
        vec!["provisioners", "list", "--format", "json"],
    ] {
        let probe = generate(&args);
        probe.assert_code(0);
        runs.push((args.join(" "), probe));
    }
    // A provisioner failing to deprovision, quoting the secret.
    let vault = uid("vault", "api", "vault");
    let failed = generate(&["resources", "deprovision", &vault]);
    failed.assert_code(FAILURE);
    failed.assert_stderr_has(&format!("failed to deprovision `{vault}`: `./vault.sh` exited with status 1"));
    failed.assert_stderr_has("cannot delete ********");
    runs.push(("resources deprovision".to_owned(), failed));
    let shown: Vec<Shown<'_>> = runs.iter().map(|(what, probe)| (what.as_str(), probe)).collect();
    assert_never_shown(&project, &shown, SECRET, &["api.secrets"]);
    assert_never_shown(&project, &shown, FLY_TOKEN, &["api.secrets"]);
}

#[test]
fn a_plain_output_stored_before_its_value_became_a_known_secret_is_moved_on_the_next_run() {
    // First run: nobody knows the value is a secret; the second run adds the vault.
    let project = laundering_project();
    let score = String::from_utf8(project.read("score.yaml")).expect("UTF-8");
    project.write("score.yaml", score.replace("  vault:\n    type: vault\n", ""));
    let run = |probe: super::ProbeCommand<'_>| {
        probe.env("SF_VAULT", &vault_answer()).env("SF_LAUNDER", &launder_answer()).run()
    };
    run(project.probe(&["generate"])).assert_code(0);
    assert!(project.fly_toml("fly_api.toml").contains("X = "), "not known as a secret yet");
    project.write("score.yaml", score);
    let second = run(project.probe(&["generate", "--secrets-file", "api.secrets"]));
    second.assert_code(0);
    second.assert_stderr_has("warning: provisioner `launder` returned `LAUNDERED` of resource `copy.default#api.copy`");
    let toml = project.fly_toml("fly_api.toml");
    assert!(!toml.contains("X = "), "{toml}");
    assert_never_shown(&project, &[("generate", &second)], SECRET, &["api.secrets"]);
}

/// The sweep needs to see a leak when there is one (a secret written into a plain file).
#[test]
#[should_panic(expected = "holds")]
fn the_sweep_finds_a_secret_in_a_file() {
    let project = Project::new();
    project.write("notes.txt", format!("copied: {}", SECRET.lines().nth(1).expect("line")));
    let probe = project.probe(&["--version"]).run();
    assert_never_shown(&project, &[("--version", &probe)], SECRET, &[]);
}

#[test]
fn the_forms_cover_json_toml_and_lines() {
    let forms = forms("a\"b\\c\nline two é");
    for expected in [
        "a\"b\\c\nline two é",
        "a\\\"b\\\\c\\nline two é",
        "a\\\\\\\"b\\\\\\\\c\\\\nline two é",
        "line two é",
        "a\\\"b\\\\c\\nline two \\u00e9",
    ] {
        assert!(forms.iter().any(|f| f == expected), "{expected:?} not in {forms:#?}");
    }
}
