//! Class 3, "never overwrite or follow what is not ours": outputs that name an input or a
//! project file, two outputs that are one file, links planted at temporary names, links
//! planted inside `.score-fly/`, and the generated files' folder in `.gitignore`.
//!
//! Each test starts from the input that once broke score-fly (see issue 10) and runs it as a
//! probe ([`super`]); a planted link points at a victim outside the project, which must be
//! untouched.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::Probe;
use crate::fixtures::{FAILURE, INVALID};
use crate::support::{Project, WEB};

/// A folder outside the project holding one file, `victim`, that no run may touch.
struct Outside {
    dir: tempfile::TempDir,
}

const PRECIOUS: &str = "precious: not score-fly's\n";

impl Outside {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::write(dir.path().join("victim"), PRECIOUS).expect("write the victim");
        Outside { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn victim(&self) -> PathBuf {
        self.dir.path().join("victim")
    }

    /// The victim is unchanged and nothing was added beside it.
    fn assert_untouched(&self) {
        assert_eq!(std::fs::read_to_string(self.victim()).expect("the victim is still there"), PRECIOUS);
        let names: Vec<_> =
            std::fs::read_dir(self.path()).expect("list").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, ["victim"], "nothing written outside the project");
    }
}

/// Runs a probe that must fail with `code` and leave the project exactly as it was.
fn refused(project: &Project, args: &[&str], code: i32) -> Probe {
    let before = project.snapshot();
    let probe = project.probe(args).run();
    probe.assert_code(code);
    assert_eq!(project.snapshot(), before, "a refused run writes nothing\n--- stderr ---\n{}", probe.stderr);
    probe
}

/// A workload `web` whose app needs a secret (`PW`, from a cmd provisioner's secret output).
fn project_with_a_secret() -> Project {
    let project = Project::with_provisioners();
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    variables:\n      PW: ${resources.db.password}\nresources:\n  db:\n    type: postgres\n",
    );
    project
}

/// A workload `web` that gets a generated file (`.score-fly/files/web/%2Fetc%2Fempty`: an
/// empty file cannot be a `raw_value`).
const WITH_GENERATED_FILE: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx
    files:
      /etc/empty:
        content: \"\"
";

// ---------------------------------------------------------------------------------------
// Outputs that name an input or a project file

/// The defect: `--secrets-file score.yaml` replaced the Score file with secrets. However it
/// is spelled — as is, through `..`, through a link, through a hard link — it is refused.
#[test]
fn the_secrets_file_is_never_the_score_file() {
    let project = Project::with_score(WEB);
    std::fs::create_dir(project.path().join("x")).expect("mkdir");
    symlink("score.yaml", project.path().join("link.yaml")).expect("symlink");
    std::fs::hard_link(project.path().join("score.yaml"), project.path().join("hard.yaml")).expect("hard link");
    for spelling in ["score.yaml", "./x/../score.yaml", "link.yaml", "hard.yaml"] {
        let probe = refused(&project, &["generate", "--secrets-file", spelling], INVALID);
        probe.assert_line(&format!(
            "error: --secrets-file {spelling} would overwrite the Score file of workload `web` score.yaml; choose another --secrets-file"
        ));
    }
    assert_eq!(project.read("score.yaml"), WEB.as_bytes());
}

/// The defect: `--secrets-file fly_<name>.toml` left the secrets in that fly.toml (both
/// writes shared one temporary file). Refused before anything is provisioned.
#[test]
fn the_secrets_file_is_never_a_fly_toml_of_the_same_run() {
    let project = project_with_a_secret();
    let probe = refused(&project, &["generate", "--secrets-file", "fly_web.toml"], INVALID);
    probe.assert_line(
        "error: the fly.toml of workload `web` fly_web.toml and --secrets-file fly_web.toml are the same file: the second would replace the first; choose another --secrets-file",
    );
    assert!(!project.path().join("calls.log").exists(), "refused before provisioning");

    // After a first run too (the fly.toml exists, so is the same file however it is named).
    project.generate_ok(&["generate", "--secrets-file", "web.secrets"]);
    symlink("fly_web.toml", project.path().join("alias.toml")).expect("symlink");
    for spelling in ["fly_web.toml", "alias.toml"] {
        let probe = refused(&project, &["generate", "--secrets-file", spelling], INVALID);
        probe.assert_stderr_has(&format!("and --secrets-file {spelling} are the same file"));
    }
    let toml = project.fly_toml("fly_web.toml");
    assert!(!toml.contains("pw-db"), "no secret in fly.toml\n{toml}");
}

/// The defect: `--secrets-file .score-fly/state.json` and `-o .score-fly/state.json|lock`
/// silently clobbered the project state. Nothing the user names goes in `.score-fly/`.
#[test]
fn no_output_goes_in_the_project_folder() {
    let project = project_with_a_secret();
    project.generate_ok(&["generate", "--secrets-file", "web.secrets"]);
    let state = project.read(".score-fly/state.json");
    for (flag, path) in [
        ("--secrets-file", ".score-fly/state.json"),
        ("--secrets-file", ".score-fly/"),
        ("--secrets-file", ".score-fly/.gitignore"),
        ("-o", ".score-fly/state.json"),
        ("-o", ".score-fly/lock"),
        ("-o", ".score-fly/local.provisioners.yaml"),
        ("-o", ".score-fly/"),
        ("-o", "x/../.score-fly/new.toml"),
    ] {
        let probe = refused(&project, &["generate", flag, path], INVALID);
        let errors = probe.errors();
        assert_eq!(errors.len(), 1, "{}", probe.stderr);
        assert!(
            errors[0].contains(" is inside ")
                && errors[0].contains(".score-fly, score-fly's project folder (state, lock, provisioners)")
                && errors[0].ends_with(&format!("; choose another {flag}")),
            "{flag} {path}: {}",
            probe.stderr
        );
    }
    assert_eq!(project.read(".score-fly/state.json"), state);
}

/// Overrides files and `source` files are inputs too.
#[test]
fn no_output_is_an_overrides_or_a_source_file() {
    let project = Project::with_score(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    files:\n      /etc/app.conf:\n        source: conf/app.conf\n",
    );
    project.write("conf/app.conf", "level = 1\n");
    project.write("over.yaml", "containers:\n  main:\n    variables:\n      LEVEL: \"2\"\n");
    let probe = refused(&project, &["generate", "--secrets-file", "conf/./app.conf"], INVALID);
    probe.assert_line(
        "error: --secrets-file conf/./app.conf would overwrite the source file of `/etc/app.conf` in workload `web` conf/app.conf; choose another --secrets-file",
    );
    let probe =
        refused(&project, &["generate", "--overrides-file", "over.yaml", "--secrets-file", "over.yaml"], INVALID);
    probe.assert_line(
        "error: --secrets-file over.yaml would overwrite the overrides file over.yaml; choose another --secrets-file",
    );
    let probe = refused(&project, &["generate", "--overrides-file", "over.yaml", "-o", "over.yaml"], INVALID);
    probe.assert_line(
        "error: the fly.toml of workload `web` over.yaml would overwrite the overrides file over.yaml; choose another -o",
    );
}

/// Two workloads written to one `-o` file across runs: the second run would have written
/// both fly.toml files to it (the last one silently winning).
#[test]
fn two_workloads_never_share_an_output() {
    let project = Project::new();
    project.write("alpha.yaml", crate::support::workload("alpha"));
    project.write("beta.yaml", crate::support::workload("beta"));
    project.generate_ok(&["generate", "alpha.yaml", "-o", "out.toml"]);
    let first = project.read("out.toml");
    let probe = refused(&project, &["generate", "beta.yaml", "-o", "out.toml"], INVALID);
    probe.assert_line(
        "error: the fly.toml of workload `alpha` out.toml and the fly.toml of workload `beta` out.toml are the same file: the second would replace the first; write it elsewhere with -o",
    );
    assert_eq!(project.read("out.toml"), first);
}

/// `deploy` shares the rule (it is checked before anything is built or provisioned, even
/// before flyctl is looked for).
#[test]
fn deploy_refuses_the_same_outputs() {
    let project = Project::with_score(WEB);
    let probe = refused(&project, &["deploy", "-o", ".score-fly/state.json"], INVALID);
    probe.assert_stderr_has(".score-fly/state.json is inside .score-fly, score-fly's project folder");
    let probe = refused(&project, &["deploy", "-o", "./score.yaml"], INVALID);
    probe.assert_stderr_has("./score.yaml would overwrite the Score file of workload `web` score.yaml");
}

/// In a cargo package, its manifest and its existing sources are inputs; `--output-oci`
/// never fills the project or a package with an image layout.
#[test]
fn packages_keep_their_manifest_sources_and_folder() {
    let project = Project::new();
    project.package("", "svc", "", &crate::cargo_fixtures::attributed_main("name = \"svc\""));
    for (output, victim) in
        [("Cargo.toml", "the manifest of package `svc`"), ("src/main.rs", "the sources of package `svc`")]
    {
        let probe = refused(&project, &["generate", "--image", "nginx", "-o", output], INVALID);
        probe.assert_stderr_has(&format!("would overwrite {victim}"));
    }
    for folder in [".", "src", ".score-fly/oci"] {
        let probe = refused(&project, &["build", "--output-oci", folder], INVALID);
        let error = &probe.errors()[0];
        assert!(error.starts_with(&format!("error: --output-oci {folder} ")), "{}", probe.stderr);
        assert!(
            error.contains("the folder is for the output alone") || error.contains("score-fly's project folder"),
            "{}",
            probe.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------
// Temporary files

/// The defect: temporary files were `.<name>.<pid>.tmp`, opened with `O_TRUNC`, following
/// links. A link planted at that name for every possible pid (or, when pids go very high,
/// for the next few thousand) pointing at a victim outside: the victim stays intact.
#[test]
fn links_planted_at_predictable_temporary_names_are_never_followed() {
    let project = Project::with_score(WEB);
    let outside = Outside::new();
    let pid_max: u32 =
        std::fs::read_to_string("/proc/sys/kernel/pid_max").ok().and_then(|t| t.trim().parse().ok()).unwrap_or(32_768);
    let pids: Vec<u32> = if pid_max <= 65_536 {
        (1..=pid_max).collect()
    } else {
        let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(1);
        (last..last + 5_000).collect()
    };
    for pid in &pids {
        for name in ["fly_web.toml", "web.secrets"] {
            symlink(outside.victim(), project.path().join(format!(".{name}.{pid}.tmp"))).expect("plant a link");
        }
    }
    let probe = project.probe(&["generate", "--secrets-file", "web.secrets"]).run();
    probe.assert_code(0);
    outside.assert_untouched();
    for name in ["fly_web.toml", "web.secrets"] {
        let meta = std::fs::symlink_metadata(project.path().join(name)).expect("written");
        assert!(meta.is_file(), "{name} is a file of its own, not one of the planted links");
    }
    assert!(project.fly_toml("fly_web.toml").contains("app = \"web\""));
}

// ---------------------------------------------------------------------------------------
// Links inside `.score-fly/`

/// The defect: `.score-fly/files/<workload>` symlinked out of the project was followed, and
/// generated files were written outside.
#[test]
fn a_linked_generated_files_folder_is_refused() {
    let project = Project::with_score(WITH_GENERATED_FILE);
    project.generate_ok(&["generate"]);
    assert!(project.path().join(".score-fly/files/web/%2Fetc%2Fempty").is_file(), "the generated file's place");
    let outside = Outside::new();
    std::fs::remove_dir_all(project.path().join(".score-fly/files/web")).expect("rm");
    symlink(outside.path(), project.path().join(".score-fly/files/web")).expect("symlink");
    let probe = refused(&project, &["generate"], FAILURE);
    probe.assert_line(
        "error: failed to use .score-fly: .score-fly/files/web is a symbolic link, and score-fly never follows links inside .score-fly/; replace it with a real file or folder, or remove it",
    );
    outside.assert_untouched();

    // The generated files beside a fly.toml written elsewhere (`-o sub/...`) live in that
    // folder's own `.score-fly/files/`: the write itself refuses the link there.
    std::fs::remove_file(project.path().join(".score-fly/files/web")).expect("rm link");
    std::fs::create_dir_all(project.path().join("sub/.score-fly/files")).expect("mkdir");
    symlink(outside.path(), project.path().join("sub/.score-fly/files/web")).expect("symlink");
    let probe = refused(&project, &["generate", "-o", "sub/fly_web.toml"], FAILURE);
    probe.assert_stderr_has("sub/.score-fly/files/web is a symbolic link, and score-fly never follows links inside ");
    probe.assert_stderr_has("sub/.score-fly/; replace it with a real file or folder, or remove it");
    outside.assert_untouched();
}

/// The pid file `.score-fly/lock` was written with `std::fs::write` (which follows links);
/// `state.json`, `.gitignore` and provisioner files were read through links. Each planted
/// link is refused when the project is opened, naming it; the victim is untouched.
#[test]
fn links_in_the_project_folder_are_refused_by_every_command() {
    for name in ["lock", "state.json", ".gitignore", "cli.provisioners.yaml", "default.provisioners.yaml", "files"] {
        let project = Project::with_score(WEB);
        std::fs::create_dir(project.path().join(".score-fly")).expect("mkdir");
        let outside = Outside::new();
        symlink(outside.victim(), project.path().join(".score-fly").join(name)).expect("plant");
        let line = format!(
            "error: failed to use .score-fly: .score-fly/{name} is a symbolic link, and score-fly never follows links inside .score-fly/; replace it with a real file or folder, or remove it"
        );
        for args in [
            &["generate"][..],
            &["init", "--no-sample"],
            &["provisioners", "add", "pg", "postgres", "--static-json", "{}"],
            &["resources", "list"],
        ] {
            let probe = refused(&project, args, FAILURE);
            probe.assert_line(&line);
        }
        outside.assert_untouched();
    }
}

/// `.score-fly` itself a link out of the project: everything would have been written there.
#[test]
fn a_linked_project_folder_is_refused() {
    let project = Project::with_score(WEB);
    let outside = Outside::new();
    symlink(outside.path(), project.path().join(".score-fly")).expect("plant");
    for args in [&["generate"][..], &["init"], &["provisioners", "list"]] {
        let probe = refused(&project, args, FAILURE);
        probe.assert_line("error: failed to use .score-fly: .score-fly is a symbolic link, and score-fly never follows links inside .score-fly/; replace it with a real file or folder, or remove it");
    }
    outside.assert_untouched();
}

// ---------------------------------------------------------------------------------------
// `.gitignore`

/// The generated files' folder is ignored by git, in new projects and in older ones
/// (added to their `.gitignore`, every other line kept).
#[test]
fn the_generated_files_folder_is_ignored_by_git() {
    let project = Project::with_score(WITH_GENERATED_FILE);
    project.generate_ok(&["generate"]);
    let lines = project.lines(".score-fly/.gitignore");
    assert!(lines.iter().any(|l| l == "files/"), "{lines:?}");
    let git = |args: &[&str]| {
        std::process::Command::new("git").args(args).current_dir(project.path()).output().expect("run git")
    };
    assert!(git(&["init", "-q"]).status.success());
    let ignored = git(&["check-ignore", ".score-fly/files/web/%2Fetc%2Fempty", ".score-fly/state.json"]);
    assert_eq!(
        String::from_utf8_lossy(&ignored.stdout),
        ".score-fly/files/web/%2Fetc%2Fempty\n.score-fly/state.json\n",
        "git ignores both"
    );

    // An older project's file, edited by its user.
    project.write(".score-fly/.gitignore", "# mine\nstate.json\nlock\n*.bak");
    project.generate_ok(&["generate"]);
    assert_eq!(project.lines(".score-fly/.gitignore"), ["# mine", "state.json", "lock", "*.bak", "files/"]);
    project.generate_ok(&["generate"]);
    assert_eq!(project.lines(".score-fly/.gitignore").len(), 5, "added once");
}

/// `build --builder dockerfile` replaced whatever `Dockerfile` the workspace had: a user's
/// own one is refused (so is a link there); the one it wrote itself is rewritten.
#[test]
fn a_dockerfile_score_fly_did_not_write_is_never_replaced() {
    let project = Project::new();
    project.package("", "svc", "", &crate::cargo_fixtures::attributed_main("name = \"svc\""));
    project.write("Dockerfile", "FROM scratch\n");
    let probe = refused(&project, &["build", "--builder", "dockerfile"], INVALID);
    probe.assert_line("error: Dockerfile exists and score-fly did not write it (it lacks the line `# Written by `cargo score-fly build --builder dockerfile` ...`); move it away to let `--builder dockerfile` write one, or build natively");
    let outside = Outside::new();
    std::fs::remove_file(project.path().join("Dockerfile")).expect("rm");
    symlink(outside.victim(), project.path().join("Dockerfile")).expect("plant");
    refused(&project, &["build", "--builder", "dockerfile"], INVALID);
    outside.assert_untouched();

    std::fs::remove_file(project.path().join("Dockerfile")).expect("rm");
    project.probe(&["build", "--builder", "dockerfile"]).run().assert_code(0);
    let first = project.read("Dockerfile");
    project.probe(&["build", "--builder", "dockerfile"]).run().assert_code(0);
    assert_eq!(project.read("Dockerfile"), first, "its own Dockerfile is rewritten");
}

/// `generate --check` read every output to compare it: a FIFO planted at an output (or at
/// a generated file) hung it forever. It is never opened; it is simply out of date.
#[test]
fn check_never_opens_a_fifo_at_an_output() {
    let project = Project::with_score(WITH_GENERATED_FILE);
    project.generate_ok(&["generate"]);
    for output in ["fly_web.toml", ".score-fly/files/web/%2Fetc%2Fempty"] {
        let path = project.path().join(output);
        let saved = std::fs::read(&path).expect("read");
        std::fs::remove_file(&path).expect("rm");
        let made = std::process::Command::new("mkfifo").arg(&path).status().expect("run mkfifo");
        assert!(made.success());
        let probe = project.probe(&["generate", "--check"]).timeout(std::time::Duration::from_secs(10)).run();
        probe.assert_code(FAILURE);
        probe.assert_stderr_has(&format!("{output} is out of date"));
        std::fs::remove_file(&path).expect("rm");
        std::fs::write(&path, saved).expect("restore");
    }
    project.probe(&["generate", "--check"]).run().assert_code(0);
}
