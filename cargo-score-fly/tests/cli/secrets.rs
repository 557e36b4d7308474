//! Secrets: `--secrets-file` (read back with the fake flyctl's parser of flyctl's format), and a scan
//! proving secret outputs appear nowhere else: not in files written outside `.score-fly/`,
//! not in anything printed, not in provisioner output passed through, not in errors.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// `fly secrets import`'s parser: the fake flyctl's (its one transcription of flyctl's
// `internal/command/secrets/parser.go`, stricter where flyctl would silently drop a value),
// so what these tests read back is what the fake's `secrets import` reads.
use score_fly_tests::fake_flyctl::parse_secrets as flyctl_parse;

use crate::fixtures::{FAILURE, INVALID, uid};
use crate::support::{Project, Run};

/// Standard base64 (RFC 4648, padded), to recognise file contents carried as base64.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_parser_transcription_reads_flyctl_examples() {
    let parsed =
        flyctl_parse("# comment\n\nA=1\n B = x y\nC=\"quoted\"\nD=  lead\nE=\"\"\"one\ntwo\nthree\"\"\"\r\nF=a=b\n")
            .expect("parses");
    let expected: BTreeMap<String, String> =
        [("A", "1"), ("B", "x y"), ("C", "quoted"), ("D", "lead"), ("E", "one\ntwo\nthree"), ("F", "a=b")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    assert_eq!(parsed, expected);
    assert!(flyctl_parse("no equals sign\n").is_err());
    assert_eq!(base64(b"pw=S3CRET"), "cHc9UzNDUkVU");
    assert_eq!(base64(b"ab"), "YWI=");
}

/// Secret values a provisioner may hand out, each in a form flyctl's parser can carry.
const TRICKY: &[(&str, &str)] = &[
    ("plain", "S3CRET-plain"),
    ("spaces", "  two leading spaces and trailing  "),
    ("quoted", "\"in quotes\""),
    ("equals", "a=b==c"),
    ("hash", "# not a comment"),
    ("pem", "-----BEGIN KEY-----\nMIIBOgIBAAJBAK\n\nxyz==\n-----END KEY-----\n"),
    ("unicode", "pässwörd ✓"),
];

/// A project whose `certs` provisioner returns [`TRICKY`] as secret outputs, and a workload
/// `api` reading each in a variable, mixing one into a URL, and writing one into a file.
fn tricky_project() -> Project {
    let project = Project::new();
    let secrets: serde_json::Map<String, serde_json::Value> =
        TRICKY.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v))).collect();
    let response = serde_json::json!({"values": {"host": "db.internal"}, "secrets": secrets});
    project.write("response.json", response.to_string());
    project.script("certs.sh", "cat > /dev/null\ncat response.json\n");
    project.provisioners_file("local.provisioners.yaml", "- {id: certs, type: vault, cmd: {binary: ./certs.sh}}\n");
    let mut variables = String::new();
    for (name, _) in TRICKY {
        let _ = writeln!(variables, "      S_{}: ${{resources.vault.{name}}}", name.to_uppercase());
    }
    project.write(
        "score.yaml",
        format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n    variables:\n      HOST: ${{resources.vault.host}}\n      URL: https://u:${{resources.vault.plain}}@${{resources.vault.host}}/\n{variables}    files:\n      /etc/app/key.pem:\n        content: \"key: ${{resources.vault.pem}}\"\nresources:\n  vault:\n    type: vault\n"
        ),
    );
    project
}

/// What the app `api` of [`tricky_project`] must receive.
fn tricky_expected() -> BTreeMap<String, String> {
    let pem = TRICKY.iter().find(|(k, _)| *k == "pem").expect("pem").1;
    let mut expected: BTreeMap<String, String> =
        TRICKY.iter().map(|(k, v)| (format!("S_{}", k.to_uppercase()), (*v).to_owned())).collect();
    expected.insert("URL".to_owned(), "https://u:S3CRET-plain@db.internal/".to_owned());
    expected.insert("SCORE_FILE_ETC_APP_KEY_PEM".to_owned(), base64(format!("key: {pem}").as_bytes()));
    expected
}

#[test]
fn secrets_file_round_trips_through_flyctls_parser() {
    let project = tricky_project();
    let run = project.generate_ok(&["generate", "--secrets-file", "api.secrets"]);
    assert!(!run.stderr.contains("needs"), "no warning once the secrets are written\n{}", run.stderr);
    assert_eq!(project.mode("api.secrets"), 0o600);
    let text = String::from_utf8(project.read("api.secrets")).expect("UTF-8");
    assert_eq!(flyctl_parse(&text).expect("flyctl reads it"), tricky_expected(), "\n{text}");

    let toml = project.fly_toml("fly_api.toml");
    assert!(toml.contains("HOST = \"db.internal\"\n"), "{toml}");
    assert!(
        toml.contains("guest_path = \"/etc/app/key.pem\"\nsecret_name = \"SCORE_FILE_ETC_APP_KEY_PEM\"\n"),
        "{toml}"
    );
    for name in tricky_expected().keys() {
        assert!(!toml.contains(&format!("{name} =")), "{name} is a secret, not in [env]\n{toml}");
    }

    // An existing file gets mode 0600 too.
    project.write("again.secrets", "old");
    std::fs::set_permissions(project.path().join("again.secrets"), std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod");
    project.generate_ok(&["generate", "--secrets-file", "again.secrets"]);
    assert_eq!(project.mode("again.secrets"), 0o600);
    assert_eq!(project.read("again.secrets"), text.as_bytes());

    // `-`: the same text on stdout, nothing else there.
    let run = project.generate_ok(&["generate", "--secrets-file", "-"]);
    assert_eq!(run.stdout, text);
}

#[test]
fn secrets_folder_one_file_per_app_and_a_single_file_for_two_apps_is_refused() {
    let project = Project::new();
    project.script("prov.sh", crate::fixtures::PROVISIONER);
    project.provisioners_file("local.provisioners.yaml", "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n");
    for name in ["alpha", "beta"] {
        project.write(
            &format!("{name}.yaml"),
            format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx\n    variables:\n      PW: ${{resources.db.password}}\nresources:\n  db:\n    type: postgres\n"),
        );
    }
    project.run(&["init", "--app-prefix", "acme-", "--no-sample"]).assert_code(0);
    project.generate_ok(&["generate", "alpha.yaml", "beta.yaml", "--secrets-file", "secrets/"]);
    for name in ["alpha", "beta"] {
        let file = format!("secrets/acme-{name}.secrets");
        assert_eq!(project.mode(&file), 0o600);
        let parsed = flyctl_parse(&String::from_utf8(project.read(&file)).expect("UTF-8")).expect("parses");
        assert_eq!(parsed, BTreeMap::from([("PW".to_owned(), format!("pw-{name}.db"))]));
    }

    let run = project.fails(&["generate", "alpha.yaml", "--secrets-file", "all.secrets"], INVALID);
    run.assert_stderr_has("2 apps have secrets (acme-alpha, acme-beta): pass a folder to --secrets-file");
    let run = project.fails(&["generate", "alpha.yaml", "--secrets-file", "-"], INVALID);
    assert_eq!(run.stdout, "", "no secret printed when the run fails");
}

// ---------------------------------------------------------------------------------------
// The scan

/// A provisioner answering with a secret made from `$SEED` (so no file of the project holds
/// it), printing the previously stored secret on stderr whenever it has been called before
/// (its state says so), and on deprovision.
const CHATTY: &str = r#"req=$(cat)
echo "pg: $SCORE_PROVISIONER_MODE" >&2
case "$req" in
  *'"created":true'*) echo "pg: the stored password is S3CRET-$SEED-pg, keep it safe" >&2 ;;
esac
if [ "$SCORE_PROVISIONER_MODE" = deprovision ]; then exit 0; fi
printf '{"values":{"host":"pg.internal"},"secrets":{"password":"S3CRET-%s-pg","url":"postgres://app:S3CRET-%s-pg@pg.internal/app"},"state":{"created":true}}\n' "$SEED" "$SEED"
"#;

/// Every file under `root` except those under `exclude`, as (path, bytes).
fn files_under(root: &Path, exclude: &[PathBuf]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("list folder") {
            let path = entry.expect("entry").path();
            if exclude.iter().any(|e| path.starts_with(e)) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).expect("read")));
            }
        }
    }
    out
}

/// A value distinct for each test run.
fn seed() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").subsec_nanos();
    format!("{:08x}{:05x}", nanos, std::process::id())
}

#[test]
fn secret_outputs_appear_nowhere_but_the_state() {
    let seed = seed();
    let pg_secret = format!("S3CRET-{seed}-pg");
    let static_secret = format!("S3CRET-{seed}-static");
    let file_content = format!("password: {pg_secret}\n");
    let forbidden =
        [pg_secret.clone(), static_secret.clone(), base64(file_content.as_bytes()), base64(pg_secret.as_bytes())];

    let project = Project::new();
    let env = [("SEED", seed.as_str())];
    let mut runs: Vec<(String, Run)> = Vec::new();
    let mut run = |args: &[&str], code: i32| {
        let run = project.run_env(args, &env);
        run.assert_code(code);
        runs.push((args.join(" "), run));
    };

    run(&["init", "--app-prefix", "demo-", "--no-sample"], 0);
    project.script("pg.sh", CHATTY);
    project.provisioners_file(
        "team.provisioners.yaml",
        &format!("- id: mail\n  type: smtp\n  static:\n    values: {{host: smtp.example.com}}\n    secrets: {{api_key: {static_secret}}}\n"),
    );
    project.write("templates/app.conf", "password: ${resources.db.password}\n");
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: nginx
    variables:
      DB_HOST: ${resources.db.host}
      DATABASE_URL: ${resources.db.url}
      SMTP: smtp://key:${resources.mail.api_key}@${resources.mail.host}
    files:
      /etc/app.conf:
        source: templates/app.conf
      /etc/inline.conf:
        content: \"${resources.db.password}\"
resources:
  db:
    type: postgres
  mail:
    type: smtp
",
    );
    run(
        &["provisioners", "add", "pg", "postgres", "--cmd-binary", "./pg.sh", "--cmd-args", "$SCORE_PROVISIONER_MODE"],
        0,
    );
    run(&["generate", "-v"], 0);
    run(&["generate", "-vv"], 0);
    run(&["generate", "-v", "--reprovision"], 0);
    for format in ["table", "json"] {
        run(&["resources", "list", "--format", format], 0);
        run(&["provisioners", "list", "--format", format], 0);
        for resource in [uid("postgres", "api", "db"), uid("smtp", "api", "mail")] {
            run(&["resources", "get-outputs", &resource, "--format", format], 0);
        }
    }
    run(&["resources", "deprovision", &uid("postgres", "api", "db"), "-v"], 0);
    run(&["generate", "-v"], 0);
    project.check_every_fly_toml();

    // The provisioner really printed the stored secret, and it was redacted on the way.
    let reprovision = &runs.iter().find(|(a, _)| a == "generate -v --reprovision").expect("ran").1;
    reprovision.assert_stderr_has("[postgres.default#api.db] pg: the stored password is ********, keep it safe");
    let deprovision = &runs.iter().find(|(a, _)| a.starts_with("resources deprovision")).expect("ran").1;
    deprovision.assert_stderr_has("pg: the stored password is ********");
    // And the state does hold the secrets (the scan would prove nothing otherwise).
    let state = String::from_utf8(project.read(".score-fly/state.json")).expect("UTF-8");
    assert!(state.contains(&pg_secret) && state.contains(&static_secret));

    for (args, run) in &runs {
        for secret in &forbidden {
            assert!(!run.stdout.contains(secret.as_str()), "`{args}` printed a secret on stdout:\n{}", run.stdout);
            assert!(!run.stderr.contains(secret.as_str()), "`{args}` printed a secret on stderr:\n{}", run.stderr);
        }
    }
    let files = files_under(project.path(), &[project.path().join(".score-fly")]);
    assert!(files.iter().any(|(p, _)| p.ends_with("fly_api.toml")), "the scan covers fly.toml");
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        for secret in &forbidden {
            assert!(!text.contains(secret.as_str()), "{} holds a secret:\n{text}", path.display());
        }
    }
}

#[test]
fn a_malformed_response_does_not_quote_its_secrets_in_the_error() {
    let project = Project::with_score(&crate::fixtures::with_db("api"));
    project.script(
        "pg.sh",
        "cat > /dev/null\necho '{\"values\":{\"host\":\"h\"},\"secrets\":\"S3CRET-in-a-malformed-response\"}'\n",
    );
    project.provisioners_file("local.provisioners.yaml", "- {id: pg, type: postgres, cmd: {binary: ./pg.sh}}\n");
    let run = project.run(&["generate"]);
    run.assert_code(FAILURE);
    run.assert_stderr_has("the output of `./pg.sh` is not a provisioner response");
    assert!(!run.stderr.contains("S3CRET-in-a-malformed-response"), "the error quotes the response:\n{}", run.stderr);
}

/// `vault` hands out a secret; `app-user` gets it through its params and echoes its request
/// on stderr (as a provisioner logging what it received would).
fn dependent_project() -> Project {
    let project = Project::new();
    project.script(
        "vault.sh",
        "cat > /dev/null\necho '{\"values\":{\"host\":\"h\"},\"secrets\":{\"password\":\"S3CRET-from-the-vault\"}}'\n",
    );
    project.script("user.sh", "req=$(cat)\necho \"request: $req\" >&2\necho '{\"values\":{\"user\":\"app\"}}'\n");
    project.provisioners_file(
        "local.provisioners.yaml",
        "- {id: vault, type: vault, cmd: {binary: ./vault.sh}}\n- {id: users, type: app-user, cmd: {binary: ./user.sh}}\n",
    );
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\nresources:\n  vault:\n    type: vault\n  user:\n    type: app-user\n    params:\n      admin_password: ${resources.vault.password}\n",
    );
    project
}

#[test]
fn a_stored_secret_passed_to_a_dependent_provisioner_is_redacted_on_the_next_run() {
    let project = dependent_project();
    project.generate_ok(&["generate"]);
    let run = project.generate_ok(&["generate", "--reprovision"]);
    run.assert_stderr_has(r#"[app-user.default#api.user] request: {"resource_uid":"app-user.default#api.user""#);
    run.assert_stderr_has(r#""resource_params":{"admin_password":"********"}"#);
    assert!(!run.stderr.contains("S3CRET-from-the-vault"), "{}", run.stderr);
}

#[test]
fn a_secret_from_earlier_in_the_same_run_is_redacted_too() {
    let project = dependent_project();
    let run = project.generate_ok(&["generate"]);
    run.assert_stderr_has(r#"[app-user.default#api.user] request: {"resource_uid":"app-user.default#api.user""#);
    run.assert_stderr_has(r#""resource_params":{"admin_password":"********"}"#);
    assert!(!run.stderr.contains("S3CRET-from-the-vault"), "{}", run.stderr);
}

#[test]
fn a_secret_flyctl_cannot_carry_is_an_error_naming_it_without_its_value() {
    let project = Project::new();
    project.script(
        "prov.sh",
        r#"cat > /dev/null
printf '%s\n' '{"secrets":{"password":"S3CRET-with\r\ncarriage-return"}}'
"#,
    );
    project.provisioners_file("local.provisioners.yaml", "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n");
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n    variables:\n      DB_PASSWORD: ${resources.db.password}\nresources:\n  db:\n    type: postgres\n",
    );
    project.generate_ok(&["generate"]);
    let run = project.fails(&["generate", "--secrets-file", "api.secrets"], INVALID);
    run.assert_line("error: secret `DB_PASSWORD` cannot be imported with `fly secrets import`: it contains a carriage return, which flyctl's line reader drops");
    assert!(!run.stderr.contains("S3CRET"), "{}", run.stderr);
}

#[test]
fn environment_values_read_in_source_files_become_secrets() {
    let project = Project::new();
    project.run(&["init", "--no-sample"]).assert_code(0);
    project.write("conf/app.conf", "key=${resources.env.SF_CONF_KEY}\nliteral=$${resources.env.NOT_READ}\n");
    project.write("conf/raw.conf", "key=${resources.env.SF_RAW_KEY}\n");
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n    variables:\n      TOKEN: ${resources.env.SF_API_TOKEN}\n    files:\n      /etc/app/app.conf:\n        source: conf/app.conf\n      /etc/app/raw.conf:\n        source: conf/raw.conf\n        noExpand: true\nresources:\n  env:\n    type: environment\n",
    );
    let env = [("SF_API_TOKEN", "S3CRET-token"), ("SF_CONF_KEY", "S3CRET-conf")];
    let run = project.generate_ok_env(&["generate", "--secrets-file", "api.secrets"], &env);
    // Read only what the workload expands: not a `$${...}` literal, not a noExpand file.
    run.assert_stderr_has("read SF_API_TOKEN, SF_CONF_KEY from the environment");
    let text = String::from_utf8(project.read("api.secrets")).expect("UTF-8");
    let secrets = flyctl_parse(&text).expect("flyctl reads it");
    assert_eq!(secrets["TOKEN"], "S3CRET-token");
    assert_eq!(secrets["SCORE_FILE_ETC_APP_APP_CONF"], base64(b"key=S3CRET-conf\nliteral=${resources.env.NOT_READ}\n"));
    let toml = project.fly_toml("fly_api.toml");
    assert!(toml.contains("guest_path = \"/etc/app/raw.conf\"\nlocal_path = \"conf/raw.conf\"\n"), "{toml}");
    assert!(!toml.contains("S3CRET") && !run.stderr.contains("S3CRET"), "{toml}\n{}", run.stderr);

    // A variable the source file reads that is not set: an error naming it.
    let run = project.run_env(&["generate"], &[("SF_API_TOKEN", "S3CRET-token")]);
    run.assert_code(FAILURE);
    run.assert_stderr_has("`SF_CONF_KEY` is not set");
}
