//! Issue 11, a newcomer's first hour on a real service: the macro dependency (point 3) and
//! static secrets (point 5). Point 9 (`deploy --dry-run` blockers) is tested against the fake
//! flyctl and Machines API in `tests/tests/e2e/dry_run.rs`.

use std::path::Path;
use std::process::Command;

use crate::support::Project;

/// The repository root.
fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cargo-score-fly is in the repository")
}

/// The service of the issue, reduced: its database password comes from a static provisioner.
const API: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: nginx
    variables:
      DATABASE_HOST: ${resources.db.host}
      DATABASE_PASSWORD: ${resources.db.password}
resources:
  db:
    type: postgres
";

const PASSWORD: &str = "hunter2-static-pw";

/// `provisioners add --static-json` with a `password` key, then `generate`: the password
/// reaches `[env]` in plain text (Fly cannot know otherwise), and both commands say so,
/// naming the output, the resource and the variable, never the value.
#[test]
fn a_static_password_in_plain_text_is_warned_about_by_name_never_by_value() {
    let project = Project::with_score(API);
    let json = format!(r#"{{"host":"db.internal","password":"{PASSWORD}"}}"#);
    let add = project.run(&["provisioners", "add", "db", "postgres", "--static-json", &json]);
    add.assert_code(0);
    add.assert_stderr_has(
        "warning: output `password` of provisioner `db` looks secret, but --static-json makes it a plain output",
    );
    add.assert_stderr_has("give it in --static-secrets-file instead");

    let run = project.generate_ok(&["generate", "--app-prefix", "demo-"]);
    run.assert_stderr_has(
        "warning: containers.main.variables.DATABASE_PASSWORD: `DATABASE_PASSWORD` is written to [env] of fly.toml in plain text, and it reads `password` of resource `db` (`postgres.default#api.db`), a plain output whose name looks secret",
    );
    run.assert_stderr_has("--> score.yaml:9:26");
    assert!(!run.stderr.contains("DATABASE_HOST"), "`host` does not look secret:\n{}", run.stderr);
    assert!(!run.stderr.contains(PASSWORD) && !add.stderr.contains(PASSWORD), "never the value");
    // What the warning is about: the value is in fly.toml (the user chose a plain output).
    assert!(project.fly_toml("fly_api.toml").contains(PASSWORD));
}

/// The way out the warning names: `--static-secrets-file` (a file, or `-` for stdin; never a
/// command-line value) makes the outputs secret, so the variable becomes an app secret and
/// fly.toml holds no password.
#[test]
fn static_secrets_from_a_file_or_stdin_become_app_secrets_not_fly_toml_values() {
    for from_stdin in [false, true] {
        let project = Project::with_score(API);
        let secrets = format!(r#"{{"password": "{PASSWORD}"}}"#);
        let args = ["provisioners", "add", "db", "postgres", "--static-json", r#"{"host":"db.internal"}"#];
        let add = if from_stdin {
            project.run_stdin(&[&args[..], &["--static-secrets-file", "-"]].concat(), &[], secrets.as_bytes())
        } else {
            project.write("db-secrets.json", &secrets);
            project.run(&[&args[..], &["--static-secrets-file", "db-secrets.json"]].concat())
        };
        add.assert_code(0);
        add.assert_stderr_has(
            "cli.provisioners.yaml now holds secret outputs (mode 0600), so .score-fly/.gitignore now keeps it out of git",
        );
        let gitignore = String::from_utf8(project.read(".score-fly/.gitignore")).expect("UTF-8");
        assert!(gitignore.lines().any(|l| l == "cli.provisioners.yaml"), "{gitignore}");
        assert!(!add.stderr.contains("looks secret"), "nothing plain looks secret:\n{}", add.stderr);

        let list = project.run(&["provisioners", "list"]);
        list.assert_code(0);
        assert!(list.stdout.contains("outputs: host, password (secret)"), "{}", list.stdout);
        assert!(!list.stdout.contains(PASSWORD));

        let run = project.generate_ok(&["generate", "--app-prefix", "demo-", "--secrets-file", "api.secrets"]);
        assert!(!run.stderr.contains("looks secret"), "{}", run.stderr);
        assert!(!run.stderr.contains(PASSWORD));
        let fly_toml = project.fly_toml("fly_api.toml");
        assert!(fly_toml.contains("DATABASE_HOST = \"db.internal\""), "{fly_toml}");
        assert!(!fly_toml.contains(PASSWORD) && !fly_toml.contains("DATABASE_PASSWORD"), "{fly_toml}");
        let imported = String::from_utf8(project.read("api.secrets")).expect("text");
        assert_eq!(imported, format!("DATABASE_PASSWORD={PASSWORD}\n"));
    }
}

/// Mistakes with the secrets file: clear errors, nothing written, the text never quoted.
#[test]
fn a_bad_static_secrets_file_is_refused_without_quoting_it() {
    let project = Project::with_score(API);
    project.write("both.json", format!(r#"{{"password": "{PASSWORD}"}}"#));
    project.write("broken.json", format!(r#"{{"password": "{PASSWORD}""#));
    project.write("list.json", format!(r#"["{PASSWORD}"]"#));
    fn add<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [&["provisioners", "add", "db", "postgres"][..], extra].concat()
    }
    for (args, message) in [
        (
            add(&["--static-json", r#"{"password":"x"}"#, "--static-secrets-file", "both.json"]),
            "output `password` is in both --static-json and --static-secrets-file; keep it in one",
        ),
        (add(&["--static-secrets-file", "broken.json"]), "--static-secrets-file is not valid JSON: EOF while parsing"),
        (add(&["--static-secrets-file", "list.json"]), "--static-secrets-file must be a JSON object of outputs"),
        (add(&["--static-secrets-file", "missing.json"]), "--static-secrets-file: "),
    ] {
        let run = project.fails(&args, 3);
        run.assert_stderr_has(message);
        assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
    }
    // A secret never goes on the command line: there is no flag taking its value.
    let run = project.fails(&add(&["--static-secrets-json", "{}"]), 2);
    run.assert_stderr_has("unexpected argument '--static-secrets-json'");
}

/// The `[dependencies]` line the README gives for `score-fly-macros` today, as written.
fn readme_dependency_line() -> String {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README");
    let section = readme.split("\n## `#[score_workload]`").nth(1).expect("the #[score_workload] section");
    let block = section.split("```toml\n").nth(1).expect("a toml block").split("```").next().expect("block end");
    block
        .lines()
        .find(|l| l.starts_with("score-fly-macros = "))
        .unwrap_or_else(|| panic!("no score-fly-macros line in:\n{block}"))
        .to_owned()
}

/// The issue: `score-fly-macros = "0.1"` from the README did not resolve (it is not on
/// crates.io). The line the README gives first must resolve for a service laid out as it
/// says (a checkout of score-fly beside the service), and build the attribute.
#[test]
fn the_readme_macro_dependency_line_resolves_and_builds() {
    let line = readme_dependency_line();
    assert!(line.contains("path = \"../score-fly/score-fly-macros\""), "a path dependency: {line}");
    let dir = tempfile::tempdir().expect("temp dir");
    // The checkout, where the README says: beside the service.
    std::os::unix::fs::symlink(repository(), dir.path().join("score-fly")).expect("link the checkout");
    let service = dir.path().join("my-service");
    std::fs::create_dir_all(service.join("src")).expect("mkdir");
    std::fs::write(
        service.join("Cargo.toml"),
        format!("[package]\nname = \"my-service\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n\n[dependencies]\n{line}\n"),
    )
    .expect("write Cargo.toml");
    std::fs::write(
        service.join("src/main.rs"),
        "use score_fly_macros::score_workload;\n\n#[score_workload(name = \"my-service\", port(web, port = 443, target_port = 8080))]\nfn main() {}\n",
    )
    .expect("write main.rs");
    std::fs::copy(repository().join("Cargo.lock"), service.join("Cargo.lock")).expect("copy Cargo.lock");
    // Shared with the other tests that compile a service (see image/harness.rs).
    let target = repository().join("target/tests/score-fly-build");
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["check", "--offline", "--quiet", "--target-dir"])
        .arg(&target)
        .current_dir(&service)
        .output()
        .expect("run cargo");
    assert!(output.status.success(), "`{line}` does not build:\n{}", String::from_utf8_lossy(&output.stderr));
}

/// What the macro adds to a service's build: only the Score model, its YAML parser and
/// validation, and the attribute parser — not the Fly conversion (toml, base64), not the
/// engine (sha2, ureq, flate2...), and the same `syn` serde and thiserror use, so a service
/// compiles one `syn`, not two. (`scripts/macro-cost.sh` measures crates and build time.)
#[test]
fn the_macro_pulls_only_what_it_uses() {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["tree", "--offline", "-p", "score-fly-macros", "-e", "normal,build", "--prefix", "none"])
        .current_dir(repository())
        .output()
        .expect("run cargo tree");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tree = String::from_utf8(output.stdout).expect("text");
    let mut crates: Vec<&str> = tree.lines().map(|l| l.trim_end_matches(" (*)")).collect();
    crates.sort_unstable();
    crates.dedup();
    let names: Vec<&str> = crates.iter().filter_map(|c| c.split(' ').next()).collect();
    for unwanted in ["toml", "base64", "sha2", "digest", "ureq", "flate2", "tar", "object", "rustix", "serde_yaml_ng"] {
        assert!(!names.contains(&unwanted), "the macro pulls `{unwanted}`:\n{}", crates.join("\n"));
    }
    let syns: Vec<&&str> = crates.iter().filter(|c| c.starts_with("syn ")).collect();
    assert_eq!(syns.len(), 1, "one syn for the macro and serde_derive/thiserror-impl: {syns:?}");
    assert!(crates.len() <= 20, "{} crates:\n{}", crates.len(), crates.join("\n"));
}
