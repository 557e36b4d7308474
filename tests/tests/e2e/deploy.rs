//! `cargo score-fly deploy` end to end: the product's binary (`score-fly-e2e`) against the
//! fake flyctl and fake Machines API, with a real `PostgreSQL` behind the Machines API `exec`
//! endpoint, so the databases and roles the builtin `postgres` provisioner creates really
//! exist and the tests connect with the outputs it provisioned.
//!
//! The project is a copy of `examples/todo` as a standalone package (nothing is compiled:
//! `--image` names the image, and the workload is read from `#[score_workload]` in its
//! source). The image build itself is covered by the `build` tests, except in
//! [`first_deploy_builds_pushes_and_runs_todo`]: there the copy really compiles, its image is
//! built and pushed to a real registry (`docker-registry`), and the binary pulled back from
//! it runs against the database the deploy provisioned.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use score_fly_tests::fake_fly::{FakeFly, FakeFlyOptions, MACAROON_TOKEN};
use score_fly_tests::free_port;
use score_fly_tests::postgres::PgServer;
use serde_json::{Value, json};

const IMAGE: &str = "registry.fly.io/demo-todo:v1";
pub(crate) const PREFIX: &str = "demo-";
/// flyctl's flag to deploy without running `[deploy] release_command`, through the product.
const SKIP_RELEASE: &str = "--deploy-args=--skip-release-command";

mod destroy;
mod logs;

/// A fake Fly with a real `PostgreSQL` behind it, and a project folder.
pub(crate) struct World {
    pub(crate) pg: PgServer,
    pub(crate) fake: FakeFly,
    pub(crate) dir: tempfile::TempDir,
}

/// What one run printed.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(output: &Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub(crate) fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

impl World {
    pub(crate) fn new() -> World {
        World::with(|_| {})
    }

    /// A world whose fake Fly is started with adjusted options.
    fn with(adjust: impl FnOnce(&mut FakeFlyOptions)) -> World {
        let pg = PgServer::start();
        // A macaroon token: `fly mpg` refuses older-style tokens (fly-2026.md §1.2).
        let mut options = FakeFlyOptions {
            token: MACAROON_TOKEN.to_owned(),
            postgres: Some(pg.target()),
            ..FakeFlyOptions::default()
        };
        adjust(&mut options);
        let fake = FakeFly::start(options);
        let dir = tempfile::tempdir().expect("temp dir");
        let world = World { pg, fake, dir };
        world.copy_todo();
        world
    }

    /// The project folder (the todo package, its own workspace root).
    fn root(&self) -> PathBuf {
        self.dir.path().join("todo")
    }

    fn copy_todo(&self) {
        let repo = score_fly_tests::workspace_root();
        let root = self.root();
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        let member = std::fs::read_to_string(repo.join("examples/todo/Cargo.toml")).expect("todo manifest");
        let workspace = std::fs::read_to_string(repo.join("Cargo.toml")).expect("workspace manifest");
        std::fs::write(root.join("Cargo.toml"), standalone_manifest(&member, &workspace)).expect("write manifest");
        std::fs::copy(repo.join("examples/todo/src/main.rs"), root.join("src/main.rs")).expect("copy main.rs");
    }

    /// Runs the product in the project folder.
    fn run(&self, args: &[&str]) -> Run {
        self.run_in(&self.root(), args)
    }

    pub(crate) fn run_in(&self, dir: &Path, args: &[&str]) -> Run {
        self.run_in_env(dir, args, &[])
    }

    /// [`World::run_in`] with more environment variables.
    pub(crate) fn run_in_env(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_score-fly-e2e"));
        command.arg("score-fly").args(args).current_dir(dir);
        for (key, _) in std::env::vars() {
            if key.starts_with("FLY_") || key.starts_with("SCORE_FLY") {
                command.env_remove(key);
            }
        }
        // Registries off loopback (such as registry.fly.io of [`IMAGE`], whose digest a deploy
        // by tag looks up) are reached only through a proxy on a closed loopback port: the
        // look-up fails at once, and nothing leaves this machine.
        command
            .envs(self.fake.env())
            .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", free_port()))
            .env("NO_PROXY", "127.0.0.1,localhost,[::1]")
            .env("FLY_BIN", env!("CARGO_BIN_EXE_fake-flyctl"))
            .env("NO_COLOR", "1")
            .env("CARGO_TERM_COLOR", "never")
            .envs(env.iter().copied());
        Run::from(&command.output().expect("run score-fly"))
    }

    /// `deploy` of todo with [`IMAGE`], an image in no registry: the fake cannot run todo's
    /// release command in it (fly-2026.md §3.1 runs it in the deployed image), so a real run
    /// skips it with flyctl's `--skip-release-command`, as a deploy that must not migrate
    /// would (a dry run runs no `fly deploy`, and shows the command line users would see).
    /// The release command itself runs in [`first_deploy_builds_pushes_and_runs_todo`].
    fn deploy(&self, extra: &[&str]) -> Run {
        let mut args = vec!["deploy", "--app-prefix", PREFIX, "--region", "ams", "--image", IMAGE];
        if !extra.contains(&"--dry-run") {
            args.push(SKIP_RELEASE);
        }
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// The flyctl invocations logged so far.
    pub(crate) fn invocations(&self) -> Vec<Value> {
        self.fake.invocations()
    }

    /// The flyctl commands (first two words of argv) run so far.
    pub(crate) fn commands(&self) -> Vec<String> {
        self.invocations()
            .iter()
            .map(|i| {
                let argv: Vec<&str> = i["argv"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                let groups = ["apps", "secrets", "postgres", "redis", "storage", "volumes", "ips", "mpg"];
                match argv.as_slice() {
                    ["mpg", sub @ ("databases" | "users"), action, ..] => format!("mpg {sub} {action}"),
                    [group, sub, ..] if groups.contains(group) => format!("{group} {sub}"),
                    [first, ..] => (*first).to_owned(),
                    [] => String::new(),
                }
            })
            .collect()
    }

    /// The app's `DATABASE_URL` secret, split into (user, password, host, database).
    fn database_url(&self, app: &str) -> (String, String, String, String) {
        let url = self.fake.secret_value(app, "DATABASE_URL").expect("DATABASE_URL imported");
        parse_url(&url)
    }

    /// Databases in the real `PostgreSQL` made by score-fly: every one but the server's own
    /// (the fake's Managed Postgres databases are real there, by their own names).
    fn score_fly_databases(&self) -> Vec<String> {
        let out = self.pg.psql(
            "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1') ORDER BY 1",
        );
        out.lines().map(str::to_owned).filter(|l| !l.is_empty()).collect()
    }

    /// The one Managed Postgres cluster: (name, id).
    fn mpg_cluster(&self) -> (String, String) {
        let clusters = self.fake.mpg_clusters();
        assert_eq!(clusters.len(), 1, "one Managed Postgres cluster: {clusters:?}");
        (clusters[0].name.clone(), clusters[0].id.clone())
    }

    /// A URL's host swapped for the test `PostgreSQL` (MPG hosts resolve only on Fly's network).
    fn local_url(&self, url: &str) -> String {
        score_fly_tests::postgres::reach_locally(url, self.pg.port())
    }

    /// Every file under the project folder that contains `needle`.
    fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![self.root()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if std::fs::read(&path).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle)) {
                    found.push(path);
                }
            }
        }
        found
    }
}

/// Whether psql connects with connection URI `url` and runs `sql`.
fn uri_logs_in(world: &World, url: &str, sql: &str) -> bool {
    Command::new(world.pg.bin_dir().join("psql"))
        .args(["-X", "-A", "-t", "-w", "-d", url, "-c", sql])
        .env("PGSSLMODE", "disable")
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `postgres://user:password@host:port/database`.
fn parse_url(url: &str) -> (String, String, String, String) {
    let rest = url.strip_prefix("postgres://").expect("postgres:// URL");
    let (auth, rest) = rest.split_once('@').expect("credentials in the URL");
    let (user, password) = auth.split_once(':').expect("user:password");
    let (host, database) = rest.split_once('/').expect("database in the URL");
    (user.to_owned(), password.to_owned(), host.to_owned(), database.to_owned())
}

/// `member` as a standalone package: values inherited from `[workspace.package]` written
/// out; dependencies and lints dropped (nothing is compiled).
fn standalone_manifest(member: &str, workspace: &str) -> String {
    let mut inherited = std::collections::BTreeMap::new();
    let mut in_package = false;
    for line in workspace.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package && let Some((k, v)) = line.split_once('=') {
            inherited.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    let mut out = String::new();
    let mut section = String::new();
    for line in member.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            trimmed.trim_matches(['[', ']']).clone_into(&mut section);
        }
        if section.contains("dependencies") || section.starts_with("lints") {
            continue;
        }
        if section == "package"
            && let Some(key) = trimmed.strip_suffix(".workspace = true")
        {
            let _ = writeln!(out, "{key} = {}", inherited[key]);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("\n[workspace]\n");
    out
}

/// The flyctl commands of a first deploy of todo: the app, the Managed Postgres cluster, its
/// database and user, the user's password read through `mpg attach` (whose secret is unset
/// again), the secrets, the deploy, and the release version read back (fly-2026.md §5.3) to
/// record the release.
const MPG_FIRST_DEPLOY: [&str; 14] = [
    "apps create",
    "mpg list",
    "mpg create",
    "mpg databases list",
    "mpg databases create",
    "mpg users list",
    "mpg users create",
    "secrets list",
    "mpg attach",
    "secrets unset",
    "mpg detach",
    "secrets import",
    "deploy",
    "releases",
];

/// Asserts no flyctl argument, environment or output line holds `secret`.
fn assert_not_in_invocations(world: &World, secret: &str) {
    for invocation in world.invocations() {
        let argv = invocation["argv"].to_string();
        assert!(!argv.contains(secret), "a secret is on a flyctl command line: {argv}");
        assert!(!invocation["env"].to_string().contains(secret), "a secret is in flyctl's environment");
    }
}

#[test]
fn first_deploy_of_todo_provisions_a_real_database_and_deploys() {
    let world = World::new();
    let run = world.deploy(&[]).ok();

    // Status lines, one per step.
    for line in [
        "Creating app demo-todo",
        "Provisioning postgres.default#todo.db",
        "Importing 1 secret(s) into demo-todo",
        "Deploying demo-todo",
        "Deployed demo-todo",
    ] {
        assert!(run.stderr.contains(line), "no `{line}` in:\n{}", run.stderr);
    }

    // The app, its cluster, its release.
    let app = world.fake.app("demo-todo").expect("app created");
    assert_eq!(app.org, "personal");
    let release = app.current_release().expect("deployed");
    assert_eq!(release.image, IMAGE);
    assert!(!app.has_staged_secrets(), "secrets deployed with the release");
    let clusters = world.fake.mpg_clusters();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].name, "demo-pg");
    assert_eq!((clusters[0].region.as_str(), clusters[0].plan.as_str(), clusters[0].disk), ("ams", "basic", 10));
    assert!(world.fake.postgres_clusters().is_empty(), "no unmanaged cluster");

    // The provisioned database really exists, and its outputs log in.
    let (user, password, host, database) = world.database_url("demo-todo");
    assert_eq!(host, format!("pgbouncer.{}.flympg.net:5432", clusters[0].id));
    assert_eq!(world.score_fly_databases(), vec![database.clone()]);
    assert!(world.pg.connect_check(&user, &password, &database), "the provisioned user cannot log in");
    assert!(!world.pg.connect_check(&user, "wrong-password", &database));

    // The flyctl calls, in order; secrets only on stdin.
    let commands = world.commands();
    assert_eq!(commands, MPG_FIRST_DEPLOY, "{commands:?}");
    let import = world.invocations().into_iter().find(|i| i["argv"][1] == "import").expect("import logged");
    assert_eq!(import["argv"], serde_json::json!(["secrets", "import", "--stage", "-a", "demo-todo"]));
    assert!(import["stdin"].as_str().unwrap().contains(&password), "the secret arrives on stdin");
    assert_not_in_invocations(&world, &password);
    let deploy = world.invocations().into_iter().find(|i| i["argv"][0] == "deploy").expect("deploy logged");
    assert_eq!(
        deploy["argv"],
        serde_json::json!([
            "deploy",
            "--config",
            "fly_todo.toml",
            "--app",
            "demo-todo",
            "--image",
            IMAGE,
            "--skip-release-command"
        ])
    );
    assert_eq!(
        Path::new(deploy["cwd"].as_str().unwrap()).canonicalize().unwrap(),
        world.root().canonicalize().unwrap()
    );

    // The password is in no file but the 0600 state, and not in the output.
    let holders = world.files_containing(&password);
    let state = world.root().join(".score-fly/state.json");
    assert_eq!(holders, vec![state.clone()], "files holding the password");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!run.stderr.contains(&password) && !run.stdout.contains(&password), "the password was printed");
    let toml = std::fs::read_to_string(world.root().join("fly_todo.toml")).unwrap();
    assert!(!toml.contains("DATABASE_URL"), "the secret variable is not in fly.toml");
}

#[test]
fn redeploy_without_changes_creates_nothing_and_imports_no_secret() {
    let world = World::new();
    let first = world.deploy(&["--format", "json"]).ok();
    let summary: Value = serde_json::from_str(&first.stdout).expect("a JSON summary on stdout");
    let app = &summary["apps"][0];
    assert_eq!(summary["apps"].as_array().unwrap().len(), 1, "{summary:#}");
    assert_eq!(app["app"], "demo-todo");
    assert_eq!(app["url"], "https://demo-todo.fly.dev/");
    assert_eq!(app["image"], IMAGE);
    assert_eq!(app["created"], true);
    assert_eq!(app["secrets"], serde_json::json!(["DATABASE_URL"]));
    assert_eq!(app["secrets_imported"], true);
    assert_eq!(
        summary["resources"],
        serde_json::json!([{"uid": "postgres.default#todo.db", "provisioner": "builtin-postgres", "outcome": "provisioned"}])
    );
    assert_eq!(summary["images"], serde_json::json!([]), "--image: nothing built");
    // The tag's registry cannot be reached: a warning, the deploy by tag goes on, no digest.
    assert!(
        first.stderr.contains("warning: cannot look up the digest of registry.fly.io/demo-todo:v1 for app demo-todo (")
            && first.stderr.contains("it is deployed by its tag, and no digest is recorded"),
        "{}",
        first.stderr
    );
    assert!(app.get("image_digest").is_none(), "{app}");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(world.root().join(".score-fly/state.json")).unwrap()).unwrap();
    assert_eq!(state["deployments"]["demo-todo"]["image"], IMAGE);
    assert!(state["deployments"]["demo-todo"].get("image_digest").is_none(), "{state:#}");
    let (_, password, _, _) = world.database_url("demo-todo");
    assert!(!first.stdout.contains(&password), "the summary holds secret names, never values");

    let before = world.invocations().len();
    let requests_before = world.fake.requests().len();
    let run = world.deploy(&["--format", "json"]).ok();
    let summary: Value = serde_json::from_str(&run.stdout).expect("a JSON summary on stdout");
    assert_eq!(summary["apps"][0]["created"], false);
    assert_eq!(summary["apps"][0]["secrets_imported"], false);
    assert_eq!(summary["resources"][0]["outcome"], "reused");
    let commands: Vec<String> = world.commands().split_off(before);
    assert_eq!(
        commands,
        ["deploy", "releases"],
        "only `fly deploy` runs again (and its release is read back): {commands:?}\n{}",
        run.stderr
    );
    // No Machines API call made anything either (no exec, no POST).
    let later: Vec<String> = world.fake.requests()[requests_before..]
        .iter()
        .filter(|r| r.method != "GET" && r.command.is_none())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(later.iter().all(|r| !r.contains("/exec") && !r.starts_with("POST /v1/apps ")), "{later:?}");
    assert_eq!(world.fake.app("demo-todo").unwrap().releases.len(), 2);
}

#[test]
fn losing_the_state_folder_duplicates_nothing_and_keeps_the_password() {
    let world = World::new();
    world.deploy(&[]).ok();
    let (user, old_password, _, database) = world.database_url("demo-todo");
    std::fs::remove_dir_all(world.root().join(".score-fly")).unwrap();

    let run = world.deploy(&[]).ok();
    world.mpg_cluster();
    assert_eq!(world.score_fly_databases(), vec![database.clone()], "no second database");
    let users = &world.fake.mpg_clusters()[0].users;
    assert_eq!(
        users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["fly-user", user.as_str()],
        "no second user"
    );
    let apps: BTreeSet<String> = world.fake.apps().into_iter().map(|a| a.name).collect();
    assert_eq!(apps, BTreeSet::from(["demo-todo".to_owned()]));
    let creates = world.commands().iter().filter(|c| c.ends_with("create")).count();
    assert_eq!(creates, 4, "the second deploy created nothing: {:?}\n{}", world.commands(), run.stderr);

    // Managed Postgres gives the user's password back (through `mpg attach`): nothing rotates.
    let (user2, new_password, _, database2) = world.database_url("demo-todo");
    assert_eq!((user2.as_str(), database2.as_str()), (user.as_str(), database.as_str()));
    assert_eq!(new_password, old_password);
    assert!(world.pg.connect_check(&user, &new_password, &database));
    assert!(!world.fake.app("demo-todo").unwrap().has_staged_secrets());
}

#[test]
fn two_workloads_sharing_a_resource_id_share_one_database() {
    let world = World::new();
    let dir = world.dir.path().join("files");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["api", "worker"] {
        std::fs::write(
            dir.join(format!("{name}.score.yaml")),
            format!(
                "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx:stable\n    variables:\n      DB_HOST: ${{resources.db.host}}\n      DB_USER: ${{resources.db.username}}\n      DB_PASSWORD: ${{resources.db.password}}\nresources:\n  db:\n    type: postgres\n    id: shared-db\n"
            ),
        )
        .unwrap();
    }
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    world.run_in(&dir, &["deploy", "api.score.yaml", "worker.score.yaml", "--region", "ams"]).ok();
    assert_eq!(world.score_fly_databases().len(), 1, "one database for both workloads");
    let api = world.fake.secret_value("demo-api", "DB_PASSWORD").expect("api secret");
    let worker = world.fake.secret_value("demo-worker", "DB_PASSWORD").expect("worker secret");
    assert_eq!(api, worker);
    for app in ["demo-api", "demo-worker"] {
        let release = world.fake.app(app).and_then(|a| a.current_release().cloned()).expect("deployed");
        assert_eq!(release.image, "nginx:stable");
        let host = format!("DB_HOST = \"pgbouncer.{}.flympg.net\"", world.mpg_cluster().1);
        assert!(release.config.contains(&host), "{}", release.config);
    }
}

#[test]
fn a_failing_flyctl_step_is_named_keeps_the_state_and_a_rerun_finishes() {
    for (key, command) in [
        ("apps create", "fly apps create demo-todo"),
        ("mpg create", "fly mpg create --name demo-pg"),
        ("mpg attach", "fly mpg attach"),
        ("secrets import", "fly secrets import --stage -a demo-todo"),
        ("deploy", "fly deploy --config fly_todo.toml --app demo-todo"),
    ] {
        let world = World::new();
        world.fake.fail_next(key, 500, "injected failure: the platform is having a bad day");
        let run = world.deploy(&[]);
        assert_ne!(run.code, 0, "{key}: deploy should fail");
        assert!(run.stderr.contains(&format!("`{command}")), "{key}: the command is named:\n{}", run.stderr);
        assert!(run.stderr.contains("injected failure"), "{key}: flyctl's error is quoted:\n{}", run.stderr);
        if key != "apps create" {
            assert!(world.root().join(".score-fly/state.json").is_file(), "{key}: state kept");
        }
        world.deploy(&[]).ok();
        assert_eq!(world.fake.mpg_clusters().len(), 1, "{key}: one cluster after the rerun");
        assert_eq!(world.score_fly_databases().len(), 1, "{key}: one database after the rerun");
        let (user, password, _, database) = world.database_url("demo-todo");
        assert!(world.pg.connect_check(&user, &password, &database), "{key}: the deployed secret logs in");
        assert!(world.fake.app("demo-todo").unwrap().current_release().is_some(), "{key}: deployed");
    }
}

#[test]
fn dry_run_changes_nothing() {
    let world = World::new();
    let run = world.deploy(&["--dry-run", "--format", "json"]).ok();
    let plan: Value = serde_json::from_str(&run.stdout).expect("the plan as JSON on stdout");
    assert_eq!((&plan["kind"], &plan["schema_version"]), (&json!("plan"), &json!(1)), "{plan:#}");
    let app = &plan["apps"][0];
    assert_eq!(app["app"], "demo-todo");
    assert_eq!(app["status"], "create", "the fake API says the app is missing");
    assert_eq!(
        app["command"],
        serde_json::json!(["fly", "deploy", "--config", "fly_todo.toml", "--app", "demo-todo", "--image", IMAGE])
    );
    // Known before the database exists: the builtin's `password` output is secret (issue 11).
    assert_eq!(app["secrets"]["imported"], serde_json::json!(["DATABASE_URL"]), "{app:#}");
    assert_eq!(
        plan["resources"],
        serde_json::json!([{"uid": "postgres.default#todo.db", "provisioner": "builtin-postgres", "action": "provision"}])
    );
    for line in [
        "Would create app demo-todo",
        "Would provision postgres.default#todo.db with builtin-postgres",
        "Would run fly deploy --config fly_todo.toml --app demo-todo --image registry.fly.io/demo-todo:v1",
    ] {
        assert!(run.stderr.contains(line), "no `{line}` in:\n{}", run.stderr);
    }
    assert!(world.invocations().is_empty(), "flyctl was not run");
    assert!(world.fake.apps().is_empty());
    assert!(!world.root().join("fly_todo.toml").exists());
    assert!(!world.root().join(".score-fly/state.json").exists());
}

#[test]
fn environment_values_are_checked_by_the_dry_run_and_become_secrets() {
    let world = World::new();
    let dir = world.dir.path().join("env");
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::write(dir.join("conf/app.conf"), "key=${resources.env.SF_E2E_CONF_KEY}\n").unwrap();
    std::fs::write(
        dir.join("score.yaml"),
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx:stable\n    variables:\n      TOKEN: ${resources.env.SF_E2E_TOKEN}\n    files:\n      /etc/app.conf: {source: conf/app.conf}\nresources:\n  env:\n    type: environment\n",
    )
    .unwrap();
    let args = ["deploy", "--app-prefix", PREFIX, "--region", "ams"];

    // The dry run reads the environment (that changes nothing) and says what is missing.
    let dry = world.run_in_env(&dir, &[&args[..], &["--dry-run"]].concat(), &[("SF_E2E_TOKEN", "S3CRET-token")]).ok();
    assert!(
        dry.stderr.contains(
            "warning: `environment.default#api.env` reads `SF_E2E_CONF_KEY` from the environment, not set here"
        ),
        "{}",
        dry.stderr
    );
    assert!(world.invocations().is_empty() && world.fake.apps().is_empty(), "the dry run changed nothing");
    let plan = world
        .run_in_env(
            &dir,
            &[&args[..], &["--dry-run", "--format", "json"]].concat(),
            &[("SF_E2E_TOKEN", "S3CRET-token")],
        )
        .ok();
    let plan: Value = serde_json::from_str(&plan.stdout).expect("the plan as JSON");
    assert_eq!(plan["resources"][0]["missing_variables"], serde_json::json!(["SF_E2E_CONF_KEY"]), "{plan:#}");

    // Missing for real: an error naming the variable, nothing deployed.
    let run = world.run_in_env(&dir, &args, &[("SF_E2E_TOKEN", "S3CRET-token")]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("`SF_E2E_CONF_KEY` is not set"), "{}", run.stderr);
    // (The app is created first: volumes live in it.)
    let app = world.fake.app("demo-api").unwrap();
    assert!(app.releases.is_empty() && app.secrets.is_empty(), "nothing imported or deployed");

    let env = [("SF_E2E_TOKEN", "S3CRET-token"), ("SF_E2E_CONF_KEY", "S3CRET-conf")];
    let run = world.run_in_env(&dir, &args, &env).ok();
    let app = world.fake.app("demo-api").unwrap();
    assert_eq!(app.secrets["TOKEN"].value, "S3CRET-token");
    assert_eq!(app.secrets["SCORE_FILE_ETC_APP_CONF"].value, "a2V5PVMzQ1JFVC1jb25mCg==", "base64 of the expanded file");
    assert!(app.current_release().is_some() && !app.has_staged_secrets());
    for secret in ["S3CRET-token", "S3CRET-conf"] {
        assert_not_in_invocations(&world, secret);
        assert!(!run.stderr.contains(secret) && !run.stdout.contains(secret));
        assert!(!std::fs::read_to_string(dir.join("fly_api.toml")).unwrap().contains(secret));
    }
}

/// Writes a Score file `<name>.score.yaml` in `dir` with these variables and a `db`
/// postgres resource.
fn score_file(dir: &Path, name: &str, variables: &[(&str, &str)]) {
    let mut text = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx:stable\n    variables:\n"
    );
    for (k, v) in variables {
        let _ = writeln!(text, "      {k}: \"{v}\"");
    }
    text.push_str("resources:\n  db:\n    type: postgres\n");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{name}.score.yaml")), text).unwrap();
}

#[test]
fn changed_secrets_are_imported_and_removed_ones_unset() {
    let world = World::new();
    let dir = world.dir.path().join("files");
    score_file(&dir, "api", &[("DB_PASSWORD", "${resources.db.password}"), ("DB_HOST", "${resources.db.host}")]);
    let deploy =
        |world: &World| world.run_in(&dir, &["deploy", "api.score.yaml", "--app-prefix", PREFIX, "--region", "ams"]);
    deploy(&world).ok();
    let imports = |world: &World| world.commands().iter().filter(|c| *c == "secrets import").count();
    assert_eq!(imports(&world), 1);

    // Same secrets: nothing imported.
    deploy(&world).ok();
    assert_eq!(imports(&world), 1);

    // A new secret variable: imported again (the whole set, through stdin).
    score_file(
        &dir,
        "api",
        &[("DB_PASSWORD", "${resources.db.password}"), ("DB_URL_PASSWORD", "x-${resources.db.password}")],
    );
    let run = deploy(&world).ok();
    assert_eq!(imports(&world), 2, "{}", run.stderr);
    let app = world.fake.app("demo-api").unwrap();
    assert!(app.secrets.contains_key("DB_URL_PASSWORD"));

    // A secret variable removed: unset by name.
    score_file(&dir, "api", &[("DB_URL_PASSWORD", "x-${resources.db.password}")]);
    let run = deploy(&world).ok();
    assert!(run.stderr.contains("Unsetting secret(s) DB_PASSWORD of demo-api"), "{}", run.stderr);
    // (The last unset: earlier ones are the builtin's, of the secret `mpg attach` set.)
    let unset = world.invocations().into_iter().rev().find(|i| i["argv"][1] == "unset").expect("unset logged");
    assert_eq!(unset["argv"], serde_json::json!(["secrets", "unset", "--stage", "-a", "demo-api", "DB_PASSWORD"]));
    let app = world.fake.app("demo-api").unwrap();
    assert!(!app.secrets.contains_key("DB_PASSWORD"));
    assert!(!app.has_staged_secrets(), "the next fly deploy deployed the staged change");
}

#[test]
fn deploy_options_reach_fly_deploy() {
    let world = World::with(|o| o.orgs.push("acme".to_owned()));
    world.deploy(&["--no-ha", "--strategy", "immediate", "--deploy-args=--wait-timeout=10m", "--org", "acme"]).ok();
    let app = world.fake.app("demo-todo").unwrap();
    let release = app.current_release().unwrap();
    assert!(!release.ha);
    assert_eq!(release.strategy.as_deref(), Some("immediate"));
    assert_eq!(release.wait_timeout.as_deref(), Some("10m"));
    assert_eq!(app.org, "acme", "--org picks the organisation");
    assert_eq!(world.fake.mpg_clusters()[0].org, "acme", "resources go to the same organisation");
}

#[test]
fn a_name_taken_by_another_organisation_is_a_clear_error_before_anything_is_made() {
    let world = World::with(|o| o.taken_names.push("demo-todo".to_owned()));
    let run = world.deploy(&[]);
    assert_eq!(run.code, 3, "invalid input: {}", run.stderr);
    assert!(run.stderr.contains("`demo-todo` belongs to another organisation"), "{}", run.stderr);
    assert!(run.stderr.contains("choose another app prefix"), "{}", run.stderr);
    assert!(world.fake.postgres_clusters().is_empty(), "nothing was provisioned");
    assert!(!world.root().join(".score-fly").exists(), "nothing was written");
}

#[test]
fn without_a_token_deploy_says_how_to_get_one() {
    let world = World::new();
    let mut command = Command::new(env!("CARGO_BIN_EXE_score-fly-e2e"));
    command
        .args(["score-fly", "deploy", "--app-prefix", PREFIX, "--image", IMAGE, "--region", "ams"])
        .current_dir(world.root());
    for (key, _) in std::env::vars() {
        if key.starts_with("FLY_") {
            command.env_remove(key);
        }
    }
    command.env("FLY_BIN", env!("CARGO_BIN_EXE_fake-flyctl")).env("FLY_FLAPS_BASE_URL", world.fake.url());
    let run = Run::from(&command.output().unwrap());
    assert_eq!(run.code, 4, "a missing credential (issue 11: not \"invalid input\"): {}", run.stderr);
    assert!(!world.root().join(".score-fly").exists(), "nothing was written");
    assert!(run.stderr.contains("set FLY_API_TOKEN"), "{}", run.stderr);
    assert!(world.invocations().is_empty());
}

#[test]
fn generate_deploy_does_what_score_flyio_did() {
    let world = World::new();
    let dir = world.dir.path().join("files");
    score_file(&dir, "api", &[("DB_PASSWORD", "${resources.db.password}")]);
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    let run = world
        .run_in(&dir, &["generate", "api.score.yaml", "--region", "ams", "--deploy", "--deploy-args", "--detach"])
        .ok();
    assert!(run.stderr.contains("Deployed demo-api"), "{}", run.stderr);
    let release = world.fake.app("demo-api").and_then(|a| a.current_release().cloned()).expect("deployed");
    assert!(release.detach, "--deploy-args reach fly deploy");
    // The same operation as `deploy` (issue 12): the app first (volumes live in it), then
    // the resources.
    assert_eq!(world.commands(), MPG_FIRST_DEPLOY);
}

#[test]
fn a_fresh_ci_runner_with_the_committed_project_files_duplicates_nothing() {
    let world = World::new();
    world.deploy(&[]).ok();
    // What a repository holds: .score-fly/ minus what its .gitignore excludes.
    let state_dir = world.root().join(".score-fly");
    let ignored: Vec<String> = std::fs::read_to_string(state_dir.join(".gitignore"))
        .expect("init-style .gitignore")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    assert!(ignored.contains(&"state.json".to_owned()), "the state is never committed: {ignored:?}");
    let committed: Vec<String> = std::fs::read_dir(&state_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            !ignored
                .iter()
                .any(|pattern| pattern == name || (pattern.starts_with(".*") && name.ends_with(&pattern[2..])))
        })
        .collect();
    assert!(committed.contains(&"default.provisioners.yaml".to_owned()), "{committed:?}");
    for entry in std::fs::read_dir(&state_dir).unwrap().flatten() {
        if !committed.contains(&entry.file_name().to_string_lossy().into_owned()) {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    world.deploy(&[]).ok();
    world.mpg_cluster();
    assert_eq!(world.score_fly_databases().len(), 1);
    assert_eq!(world.fake.mpg_clusters()[0].users.len(), 2, "fly-user and todo's");
    assert_eq!(world.fake.apps().len(), 1);
}

#[test]
fn deprovisioning_drops_databases_and_the_last_one_takes_the_cluster() {
    let world = World::new();
    let dir = world.dir.path().join("files");
    score_file(&dir, "api", &[("DB_PASSWORD", "${resources.db.password}")]);
    score_file(&dir, "worker", &[("DB_PASSWORD", "${resources.db.password}")]);
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    world.run_in(&dir, &["deploy", "api.score.yaml", "worker.score.yaml", "--region", "ams"]).ok();
    let databases = world.score_fly_databases();
    assert_eq!(databases.len(), 2, "one database per resource: {databases:?}");
    let api_db = databases.iter().find(|d| d.starts_with("api_db_")).expect("api's database").clone();
    let roles =
        |world: &World| world.pg.psql("SELECT rolname FROM pg_roles WHERE rolname LIKE '%\\_db\\_%' ORDER BY 1");

    assert!(roles(&world).contains(&api_db));
    let run = world.run_in(&dir, &["resources", "deprovision", "postgres.default#api.db"]).ok();
    assert!(!roles(&world).contains(&api_db), "api's user (role) is dropped");
    let users: Vec<String> = world.fake.mpg_clusters()[0].users.iter().map(|u| u.name.clone()).collect();
    assert!(!users.contains(&api_db) && users.len() == 2, "{users:?}");
    // flyctl has no command that drops an MPG database (fly-2026.md §1.1): it stays, and says so.
    assert_eq!(world.score_fly_databases().len(), 2);
    assert!(run.stderr.contains(&format!("database {api_db} stays on demo-pg")), "{}", run.stderr);
    world.mpg_cluster();

    world.run_in(&dir, &["resources", "deprovision", "postgres.default#worker.db"]).ok();
    assert!(world.fake.mpg_clusters().is_empty(), "the last user took the cluster with it");
    assert!(world.score_fly_databases().is_empty(), "and its databases");
    assert!(!roles(&world).contains("worker_db_"));
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".score-fly/state.json")).unwrap()).unwrap();
    assert!(state["shared"].get("score-fly-mpg").is_none(), "shared state cleaned: {}", state["shared"]);
}

#[test]
fn postgres_instance_gets_its_own_cluster_and_an_owner_role() {
    let world = World::new();
    let dir = world.dir.path().join("files");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("api.score.yaml"),
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx:stable\n    variables:\n      DB_USER: ${resources.pg.username}\n      DB_PASSWORD: ${resources.pg.password}\n      DB_NAME: ${resources.pg.database}\nresources:\n  pg:\n    type: postgres-instance\n",
    )
    .unwrap();
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    world.run_in(&dir, &["deploy", "api.score.yaml", "--region", "ams"]).ok();
    let (cluster, _) = world.mpg_cluster();
    assert!(cluster.starts_with("demo-pg-api-pg-"), "{cluster}");
    let user = world.fake.secret_value("demo-api", "DB_USER");
    assert!(user.is_none(), "the username is not a secret: it is in fly.toml");
    let release = world.fake.app("demo-api").unwrap().current_release().cloned().unwrap();
    let field = |key: &str| {
        release
            .config
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = \"")).map(|v| v.trim_end_matches('"').to_owned()))
            .unwrap_or_else(|| panic!("{key} in {}", release.config))
    };
    let (user, database) = (field("DB_USER"), field("DB_NAME"));
    let password = world.fake.secret_value("demo-api", "DB_PASSWORD").expect("password secret");
    assert!(world.pg.connect_check(&user, &password, &database));
    let attributes = world.pg.psql(&format!("SELECT rolsuper FROM pg_roles WHERE rolname = '{user}'"));
    assert_eq!(attributes.trim(), "f", "not superuser");
    let role = world.fake.mpg_clusters()[0].users.iter().find(|u| u.name == user).map(|u| u.role.clone());
    assert_eq!(role.as_deref(), Some("schema_admin"), "MPG's closest role to an owner");

    world.run_in(&dir, &["resources", "deprovision", "postgres-instance.default#api.pg"]).ok();
    assert!(world.fake.mpg_clusters().is_empty(), "its cluster is destroyed");
    assert!(world.score_fly_databases().is_empty(), "with its database");
}

#[test]
fn the_score_flyio_entry_point_answers_json_on_stdout() {
    use std::io::Write as _;
    let world = World::new();
    let request = serde_json::json!({
        "resource_uid": "postgres.default#api.db",
        "resource_type": "postgres",
        "resource_class": "default",
        "resource_id": "api.db",
        "state": null,
        "shared": {},
        "resource_params": {"region": "ams"},
        "resource_metadata": null,
    });
    let mut command = Command::new(env!("CARGO_BIN_EXE_score-fly-e2e"));
    command
        .args(["builtin-provisioners", "postgres", "provision", "--app-prefix", PREFIX])
        .current_dir(world.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("FLY_") {
            command.env_remove(key);
        }
    }
    command.envs(world.fake.env()).env("FLY_BIN", env!("CARGO_BIN_EXE_fake-flyctl"));
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
    let run = Run::from(&child.wait_with_output().unwrap()).ok();
    let response: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON response on stdout");
    let (_, id) = world.mpg_cluster();
    assert_eq!(response["values"]["host"], format!("pgbouncer.{id}.flympg.net"));
    // Exactly the keys the dry run names from `builtin::output_keys` before provisioning.
    let (plain, secret) = score_fly_core::builtin::output_keys("postgres").expect("postgres is listed");
    let keys = |v: &Value| v.as_object().expect("an object").keys().cloned().collect::<BTreeSet<String>>();
    assert_eq!(keys(&response["values"]), plain.iter().map(|k| (*k).to_owned()).collect());
    assert_eq!(keys(&response["secrets"]), secret.iter().map(|k| (*k).to_owned()).collect());
    let password = response["secrets"]["password"].as_str().expect("secret password");
    let (user, database) =
        (response["values"]["username"].as_str().unwrap(), response["values"]["database"].as_str().unwrap());
    assert!(world.pg.connect_check(user, password, database));
    assert!(!run.stderr.contains(password), "progress on stderr never shows the password");
    assert_eq!(response["shared"]["score-fly-mpg"]["cluster"], "demo-pg");
    // Both URIs log in: the pooled one (`uri`) and the direct one for migrations.
    let uri = response["secrets"]["uri"].as_str().expect("uri");
    let direct = response["secrets"]["direct_uri"].as_str().expect("direct_uri");
    assert!(uri.starts_with(&format!("postgresql://{user}:")) && uri.contains(&format!("@pgbouncer.{id}.flympg.net/")));
    assert!(direct.contains(&format!("@direct.{id}.flympg.net/{database}")), "the direct host (fly-2026.md §1.9)");
    for url in [uri, direct] {
        let local = world.local_url(url);
        assert_ne!(local, url, "the host was swapped");
        assert!(
            uri_logs_in(&world, &local, "select current_user"),
            "{user} logs in through {}",
            url.replace(password, "***")
        );
        assert!(!uri_logs_in(&world, &local.replace(password, "wrong"), "select 1"));
    }
}

#[test]
fn builder_dockerfile_leaves_the_build_to_flys_remote_builder() {
    let world = World::new();
    // The image exists only in Fly's builder: the fake cannot run the release command in it.
    let args = ["deploy", "--app-prefix", PREFIX, "--region", "ams", "--builder", "dockerfile", "--build-env"];
    let run = world.run(&[&args[..], &["SQLX_OFFLINE=true", SKIP_RELEASE]].concat()).ok();
    let dockerfile =
        std::fs::read_to_string(world.root().join("Dockerfile")).expect("a Dockerfile at the workspace root");
    // deploy's --build-env reaches the build as build's does: an ARG default of the Dockerfile.
    assert!(dockerfile.contains("ARG SQLX_OFFLINE=\"true\""), "{dockerfile}");
    let release = world.fake.app("demo-todo").and_then(|a| a.current_release().cloned()).expect("deployed");
    assert_eq!(release.build, score_fly_tests::fake_fly::Build::Remote, "{}", run.stderr);
    let deploy = world.invocations().into_iter().find(|i| i["argv"][0] == "deploy").expect("deploy logged");
    assert!(!deploy["argv"].to_string().contains("--image"), "no image: Fly builds the Dockerfile");
    let toml = std::fs::read_to_string(world.root().join("fly_todo.toml")).unwrap();
    assert!(toml.contains("dockerfile = \"Dockerfile\""), "{toml}");
}

/// The whole way without `--image`: the copy of todo compiles (the root `Cargo.lock`, its
/// dependencies in the target folder the tests that build share), its image is layered on a
/// base in a real registry and pushed there (`FLY_REGISTRY_HOST` standing for
/// registry.fly.io), and the fake Fly deploys it. Then, with nothing of the product: skopeo
/// reads the pushed image, umoci unpacks it, and its binary, run with the image's own loader
/// and the `DATABASE_URL` the app received (only its Fly host swapped for the real server's
/// address), serves todos from the database and role the deploy provisioned.
#[test]
fn first_deploy_builds_pushes_and_runs_todo() {
    use score_fly_tests::fake_fly::Build;
    use score_fly_tests::registry::{
        Base, Registry, http_get, http_request, inspect, pull_and_unpack, push_base, rootfs_command,
    };
    use std::time::{Duration, Instant};

    let started = Instant::now();
    let world = World::new();
    score_fly_tests::todo::write_buildable(&world.root());

    let registry = Registry::start();
    let host = registry.host();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let mut args = score_fly_tests::todo::build_and_deploy_args(PREFIX, &base, &score_fly_tests::shared_target_dir());
    args.extend(["--format".to_owned(), "json".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // What cargo says the binary links (this also settles the copy's Cargo.lock), and a git
    // repository with a known commit and a remote whose URL holds credentials.
    let linked = cargo_tree(&world.root());
    let commit = git_commit(&world.root(), "https://ci:s3cr3t-t0ken@git.example.com/acme/todo.git");
    let deploying = Instant::now();
    let run = {
        let _build = score_fly_tests::build_lock();
        world.run_in_env(
            &world.root(),
            &args,
            &[("FLY_REGISTRY_HOST", &host), ("CARGO_NET_OFFLINE", "true"), ("SOURCE_DATE_EPOCH", "1700000000")],
        )
    }
    .ok();
    let deploy_time = deploying.elapsed();

    // What was pushed is recorded, and is what Fly deployed.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(world.root().join(".score-fly/state.json")).expect("state"))
            .expect("the state is JSON");
    let image = &state["images"]["todo"];
    assert_eq!(image["kind"], "pushed", "{image}");
    let (reference, digest) = (image["reference"].as_str().expect("a reference"), image["digest"].as_str().unwrap());
    let tag = reference.strip_prefix(&format!("{host}/demo-todo:sf-")).unwrap_or_else(|| {
        panic!("pushed to the app's repository on FLY_REGISTRY_HOST with a digest tag: {reference}")
    });
    assert!(digest.strip_prefix("sha256:").is_some_and(|hex| hex.starts_with(tag)), "{reference} {digest}");
    assert_eq!(image["revision"], commit.as_str(), "the commit is recorded beside the digest: {image}");
    assert!(image.get("dirty").is_none(), "a clean tree: {image}");
    for line in [format!("Pushed {reference}"), "Deployed demo-todo".to_owned()] {
        assert!(run.stderr.contains(&line), "no `{line}` in:\n{}", run.stderr);
    }
    // Deployed by digest: fly.toml, `fly deploy --image`, the release and the summary name
    // `<registry>/<app>@sha256:...`, so a tag pushed again cannot change it.
    let pinned = format!("{host}/demo-todo@{digest}");
    let summary: Value = serde_json::from_str(&run.stdout).expect("a JSON summary on stdout");
    assert_eq!(summary["apps"][0]["image"], pinned.as_str(), "{summary:#}");
    assert_eq!(summary["apps"][0]["image_digest"], digest, "{summary:#}");
    assert_eq!(summary["images"][0]["reference"], reference, "{summary:#}");
    assert_eq!(summary["images"][0]["revision"], commit.as_str(), "{summary:#}");
    assert_valid(&deploy_schema(), &summary);
    let release = world.fake.app("demo-todo").and_then(|a| a.current_release().cloned()).expect("deployed");
    assert_eq!(release.image, pinned);
    assert_eq!(release.build, Build::Image, "an existing image, nothing built by Fly");
    // `status` says which commit runs (issue 15 point 5): the digest Fly runs is the one built.
    let status: Value = serde_json::from_str(&world.run(&["status", "--format", "json"]).ok().stdout).expect("status");
    assert_eq!(status["workloads"][0]["digest"], digest, "{status:#}");
    assert_eq!(status["workloads"][0]["revision"], commit.as_str(), "{status:#}");
    assert_eq!(status["workloads"][0]["dirty"], false, "{status:#}");
    let fly_toml = std::fs::read_to_string(world.root().join("fly_todo.toml")).expect("fly_todo.toml");
    score_fly_tests::flytoml::assert_valid(&fly_toml);
    let table: toml::Table = fly_toml.parse().expect("TOML");
    assert_eq!(table["build"]["image"].as_str(), Some(pinned.as_str()), "{fly_toml}");
    let argv =
        world.invocations().into_iter().find(|i| i["argv"][0] == "deploy").expect("deploy logged")["argv"].clone();
    let at = argv.as_array().unwrap().iter().position(|a| a == "--image").expect("--image");
    assert_eq!(argv[at + 1], pinned.as_str(), "{argv}");
    assert_eq!(state["deployments"]["demo-todo"]["image_digest"], digest);

    // The annotations are on the pushed manifest (and the config's labels).
    let manifest = inspect(reference, Some("--raw"), None);
    let annotations = &manifest["annotations"];
    assert_eq!(annotations["org.opencontainers.image.revision"], commit.as_str(), "{manifest:#}");
    assert_eq!(
        annotations["org.opencontainers.image.source"], "https://git.example.com/acme/todo.git",
        "no credentials"
    );
    assert_eq!(annotations["org.opencontainers.image.created"], "2023-11-14T22:13:20Z", "from SOURCE_DATE_EPOCH");
    assert_eq!(annotations["org.opencontainers.image.version"], "0.1.0");
    assert!(annotations.get("dev.score-fly.dirty").is_none(), "{manifest:#}");
    assert!(!manifest.to_string().contains("s3cr3t"), "{manifest:#}");
    let labels = &inspect(reference, Some("--config"), None)["config"]["Labels"];
    assert_eq!(labels["org.opencontainers.image.revision"], commit.as_str(), "{labels}");

    // The SBOM: registry 2.8 has no referrers API, so the tag `sha256-<hex>` lists it; its
    // manifest refers to the image; its document lists exactly what cargo tree lists, with
    // Cargo.lock's checksums.
    let referrers = inspect(&format!("{host}/demo-todo:{}", digest.replacen(':', "-", 1)), Some("--raw"), None);
    assert_eq!(referrers["mediaType"], "application/vnd.oci.image.index.v1+json", "{referrers:#}");
    let entry = &referrers["manifests"][0];
    assert_eq!(entry["artifactType"], "application/vnd.cyclonedx+json", "{referrers:#}");
    assert_eq!(entry["digest"], summary["images"][0]["sbom"], "{referrers:#}");
    let artifact = inspect(&format!("{host}/demo-todo@{}", entry["digest"].as_str().unwrap()), Some("--raw"), None);
    assert_eq!(artifact["subject"]["digest"], digest, "{artifact:#}");
    assert_eq!(artifact["layers"][0]["mediaType"], "application/vnd.cyclonedx+json", "{artifact:#}");
    let blob = format!("/v2/demo-todo/blobs/{}", artifact["layers"][0]["digest"].as_str().unwrap());
    let (status, document) = http_get(registry.port(), &blob).expect("the SBOM blob");
    assert_eq!(status, 200, "{document}");
    let sbom: Value = serde_json::from_str(&document).expect("the SBOM is JSON");
    assert_eq!((&sbom["bomFormat"], &sbom["specVersion"]), (&json!("CycloneDX"), &json!("1.5")), "{sbom:#}");
    assert_eq!(sbom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    let component = |c: &Value| format!("{}@{}", c["name"].as_str().unwrap(), c["version"].as_str().unwrap());
    let listed: BTreeSet<String> = std::iter::once(component(&sbom["metadata"]["component"]))
        .chain(sbom["components"].as_array().expect("components").iter().map(component))
        .collect();
    assert_eq!(listed, linked, "the SBOM lists what cargo tree -e normal lists");
    let lock: toml::Table = std::fs::read_to_string(world.root().join("Cargo.lock")).unwrap().parse().unwrap();
    let mut checked = 0;
    for c in sbom["components"].as_array().unwrap() {
        let locked = lock["package"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str() == c["name"].as_str() && p["version"].as_str() == c["version"].as_str())
            .unwrap_or_else(|| panic!("{} is in Cargo.lock", component(c)));
        match locked.get("checksum").and_then(toml::Value::as_str) {
            Some(sum) => {
                assert_eq!(c["hashes"][0], json!({"alg": "SHA-256", "content": sum}), "{c}");
                checked += 1;
            }
            None => assert!(c.get("hashes").is_none(), "a path crate has no checksum: {c}"),
        }
    }
    assert!(checked > 20, "todo's registry crates carry their checksums ({checked})");

    // The registry holds it, as recorded.
    assert_eq!(inspect(reference, None, None)["Digest"], digest);
    let config = inspect(reference, Some("--config"), None);
    assert_eq!(config["config"]["Entrypoint"], serde_json::json!(["/app/todo"]), "{config}");

    // The migration ran as the release command (`todo migrate`, fly-2026.md §3.1) before any
    // machine was updated: the table exists, owned by the app's role, before the service ever
    // ran (the service would also create it when it connects).
    let url = world.fake.secret_value("demo-todo", "DATABASE_URL").expect("DATABASE_URL deployed");
    let (user, _, fly_host, database) = parse_url(&url);
    assert_eq!(fly_host, format!("pgbouncer.{}.flympg.net:5432", world.mpg_cluster().1));
    let owner = world.pg.psql_in(&database, "SELECT tableowner FROM pg_tables WHERE tablename = 'todos'");
    assert_eq!(owner.trim(), user, "the release command made the table as the app's role");
    let deploy = world.invocations().into_iter().find(|i| i["argv"][0] == "deploy").expect("deploy logged");
    let flyctl_err = deploy["stderr"].as_str().unwrap_or_default();
    for line in ["Running demo-todo release_command: migrate\n", "Starting machine\n"] {
        assert!(flyctl_err.contains(line), "no `{line}` in fly deploy's stderr:\n{flyctl_err}");
    }
    assert!(!deploy["argv"].to_string().contains("skip-release-command"), "{}", deploy["argv"]);

    // The pushed binary runs against the provisioned database with the deployed secret.
    let url = world.local_url(&url);
    let rootfs = pull_and_unpack(reference, work.path(), None);
    let port = free_port();
    let mut todo = rootfs_command(&rootfs, "app/todo")
        .env("PORT", port.to_string())
        .env("DATABASE_URL", &url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the pushed todo");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut answers = Vec::new();
    let mut sessions = String::new();
    while answers.is_empty() && Instant::now() < deadline && todo.try_wait().ok().flatten().is_none() {
        match http_get(port, "/healthz") {
            Ok(answer) => answers.push(answer),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    if !answers.is_empty() {
        let json = "application/json";
        let title = br#"{"title": "shipped by score-fly"}"#;
        answers.extend(http_request(port, "POST", "/todos", Some((json, title))));
        answers.extend(http_get(port, "/todos"));
        sessions = world.pg.psql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = '{user}' AND datname = '{database}'"
        ));
    }
    let _ = todo.kill();
    let output = todo.wait_with_output().expect("wait for todo");
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        answers.len(),
        3,
        "todo stopped answering on port {port} ({})\n--- its stderr ---\n{log}",
        output.status
    );
    assert_eq!(answers[0], (200, "ok\n".to_owned()), "healthy: the database answers\n{log}");
    assert_eq!(answers[1].0, 201, "created: {:?}\n{log}", answers[1]);
    let created: Value = serde_json::from_str(&answers[1].1).expect("the created todo as JSON");
    let id = created["id"].as_i64().expect("an id");
    assert_eq!(created, serde_json::json!({"id": id, "title": "shipped by score-fly", "done": false}));
    assert_eq!(answers[2].0, 200, "{:?}\n{log}", answers[2]);
    let listed: Value = serde_json::from_str(&answers[2].1).expect("the list as JSON");
    assert_eq!(listed, serde_json::json!([created]), "listed back");
    assert_ne!(sessions.trim(), "0", "todo is connected as the provisioned role to the provisioned database");
    assert!(log.contains(&format!("connected to PostgreSQL at {user}@127.0.0.1:")), "{log}");

    // An `--image` given by tag is deployed by its tag, and the digest the registry answers
    // is recorded (the base image stands in: no release command can run in it).
    let run = world.run_in_env(
        &world.root(),
        &["deploy", "--app-prefix", PREFIX, "--region", "ams", "--image", &base, SKIP_RELEASE, "--format", "json"],
        &[("FLY_REGISTRY_HOST", &host)],
    );
    let run = run.ok();
    let summary: Value = serde_json::from_str(&run.stdout).expect("a JSON summary on stdout");
    let base_digest = inspect(&base, None, None)["Digest"].clone();
    assert_eq!(summary["apps"][0]["image"], base.as_str(), "{summary:#}");
    assert_eq!(summary["apps"][0]["image_digest"], base_digest, "{summary:#}");
    assert_valid(&deploy_schema(), &summary);
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(world.root().join(".score-fly/state.json")).unwrap()).unwrap();
    assert_eq!(state["deployments"]["demo-todo"]["image_digest"], base_digest, "{state:#}");
    assert_eq!(world.fake.app("demo-todo").and_then(|a| a.current_release().cloned()).unwrap().image, base);

    eprintln!(
        "first_deploy_builds_pushes_and_runs_todo: deploy (cargo build, image, push, fly deploy) {:.1}s, whole test {:.1}s",
        deploy_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// `name@version` of every crate `cargo tree -e normal --target x86_64-unknown-linux-gnu`
/// lists for the package in `dir` (offline: the shared cache has them).
fn cargo_tree(dir: &Path) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .current_dir(dir)
        .args(["tree", "-e", "normal", "--target", "x86_64-unknown-linux-gnu", "--prefix", "none", "--offline"])
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let linked: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some(format!("{}@{}", words.next()?, words.next()?.strip_prefix('v')?))
        })
        .collect();
    assert!(linked.len() > 20, "{linked:?}");
    linked
}

/// Makes `dir` a git repository with everything committed at a fixed time and `remote` as
/// `origin`; returns the commit.
fn git_commit(dir: &Path, remote: &str) -> String {
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .current_dir(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_AUTHOR_DATE", "@1600000000 +0000")
            .env("GIT_COMMITTER_DATE", "@1600000000 +0000")
            .output()
            .expect("git runs");
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "todo"]);
    git(&["remote", "add", "origin", remote]);
    git(&["rev-parse", "HEAD"])
}

/// An image the fake cannot pull (every `--image` off loopback, like [`IMAGE`]) with a release
/// command: the fake does not pretend the command ran. The deploy fails naming
/// `--skip-release-command`, and nothing is released; with the flag it deploys.
#[test]
fn a_release_command_in_an_image_the_fake_cannot_pull_is_never_pretended() {
    let world = World::new();
    let run = world.run(&["deploy", "--app-prefix", PREFIX, "--region", "ams", "--image", IMAGE]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    let deploy = world.invocations().into_iter().find(|i| i["argv"][0] == "deploy").expect("deploy logged");
    let flyctl_err = deploy["stderr"].as_str().unwrap_or_default();
    for line in [
        "Running demo-todo release_command: migrate\n",
        "Error: the fake flyctl cannot run release_command in image 'registry.fly.io/demo-todo:v1'",
        "or pass --skip-release-command\n",
    ] {
        assert!(flyctl_err.contains(line), "no `{line}` in fly deploy's stderr:\n{flyctl_err}");
    }
    assert!(world.fake.app("demo-todo").expect("created").releases.is_empty(), "nothing released");
    world.deploy(&[]).ok();
    assert_eq!(world.fake.app("demo-todo").unwrap().releases.len(), 1, "deployed with --skip-release-command");
}

/// A release command that exits non-zero fails the deploy as flyctl does (fly-2026.md §3.1):
/// it ran alone in the deployed image (pulled from a real registry) with the app's `[env]`,
/// its secrets (the database URL pointed at the real `PostgreSQL`) and Fly's variables; flyctl
/// printed its log and `Error: machine <id> exited with non-zero status of 3`; nothing was
/// released, no machine exists, and the project state says the deploy did not finish.
#[test]
fn a_failing_release_command_fails_the_deploy_and_releases_nothing() {
    use score_fly_tests::registry::{Base, Registry, make_base_with, push_layout, run_tool, unique};

    let world = World::new();
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    // An image whose entrypoint is a shell: this machine's /bin/sh on the image's own glibc.
    let layout = make_base_with(Base::Glibc, work.path(), &|rootfs| {
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        std::fs::copy("/bin/sh", rootfs.join("bin/sh")).unwrap();
    });
    run_tool(
        Command::new("umoci")
            .args(["config", "--image"])
            .arg(format!("{}:base", layout.display()))
            .args(["--config.entrypoint", "/bin/sh"]),
    );
    let image = format!("{}/demo-api:{}", registry.host(), unique("t"));
    push_layout(&layout, &image, None, false);

    let dir = world.dir.path().join("files");
    score_file(
        &dir,
        "api",
        &[
            ("GREETING", "hello"),
            (
                "DATABASE_URL",
                "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.database}",
            ),
        ],
    );
    let score = dir.join("api.score.yaml");
    let text = std::fs::read_to_string(&score).unwrap().replace("nginx:stable", &image).replace(
        "metadata:\n  name: api\n",
        "metadata:\n  name: api\n  annotations:\n    score-fly/release-command: \"-c 'echo release=$RELEASE_COMMAND group=$FLY_PROCESS_GROUP region=$PRIMARY_REGION greeting=$GREETING db=${DATABASE_URL#*@}; exit 3'\"\n",
    );
    std::fs::write(&score, text).unwrap();
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    let run = world.run_in(&dir, &["deploy", "api.score.yaml", "--region", "ams"]);
    assert_ne!(run.code, 0, "the deploy must fail\n{}", run.stderr);

    let deploy = world.invocations().into_iter().find(|i| i["argv"][0] == "deploy").expect("deploy logged");
    assert_eq!(deploy["exit_code"], 1);
    let flyctl_err = deploy["stderr"].as_str().unwrap_or_default();
    let id = flyctl_err
        .split("Error release_command failed running on machine ")
        .nth(1)
        .and_then(|rest| rest.split_once(" with exit code 3.\n"))
        .map_or_else(|| panic!("no failure line in fly deploy's stderr:\n{flyctl_err}"), |(id, _)| id.to_owned());
    let (_, _, _, database) = world.database_url("demo-api");
    for line in [
        "Running demo-api release_command: -c 'echo release=$RELEASE_COMMAND".to_owned(),
        "Checking logs: fetching the last 100 lines below:\n".to_owned(),
        format!(
            "release=1 group=fly_app_release_command region=ams greeting=hello db=127.0.0.1:{}/{database}\n",
            world.pg.port()
        ),
        format!("Error: machine {id} exited with non-zero status of 3\n"),
    ] {
        assert!(flyctl_err.contains(&line), "no `{line}` in fly deploy's stderr:\n{flyctl_err}");
    }
    assert!(run.stderr.contains(&format!("machine {id} exited with non-zero status of 3")), "{}", run.stderr);

    let app = world.fake.app("demo-api").expect("the app was created");
    assert!(app.releases.is_empty() && app.machines.is_empty(), "nothing released: {app:?}");
    assert!(!world.fake.commands().contains(&"deploy".to_owned()), "the release was never requested");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".score-fly/state.json")).expect("state")).unwrap();
    let deployed = state["deployments"]["demo-api"]["deployed"].clone();
    assert_eq!(deployed, json!(false), "the state says the deploy did not finish: {state:#}");
}

/// The published schema of the deploy documents (`docs/schema/deploy-v1.json`).
fn deploy_schema() -> jsonschema::Validator {
    let path = score_fly_tests::workspace_root().join("docs/schema/deploy-v1.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema")).expect("JSON");
    jsonschema::draft202012::new(&schema).expect("a valid JSON Schema")
}

fn assert_valid(validator: &jsonschema::Validator, document: &Value) {
    let errors: Vec<String> =
        validator.iter_errors(document).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{document:#}");
}

/// Issue 12, "done when": after a deploy of examples/todo, a change to its workload shows in
/// the dry run as a readable plan with a unified diff of its fly.toml; the plan and the
/// report validate against the published schema, and a document that breaks it does not.
#[test]
fn the_plan_shows_a_fly_toml_diff_and_both_documents_follow_the_published_schema() {
    let world = World::new();
    let schema = deploy_schema();
    let first = world.deploy(&["--format", "json"]).ok();
    let report: Value = serde_json::from_str(&first.stdout).expect("the report as JSON");
    assert_eq!(report["kind"], "report");
    assert_valid(&schema, &report);

    // Unchanged: the plan says so (and reuses the database, imports no secret).
    let same = world.deploy(&["--dry-run", "--format", "json"]).ok();
    let plan: Value = serde_json::from_str(&same.stdout).expect("the plan as JSON");
    assert_valid(&schema, &plan);
    assert_eq!(plan["files"][0]["status"], "unchanged", "{plan:#}");
    assert_eq!(plan["resources"][0]["action"], "reuse", "{plan:#}");
    assert_eq!(plan["apps"][0]["status"], "exists");
    assert_eq!(plan["apps"][0]["secrets"]["unchanged"], json!(["DATABASE_URL"]), "{plan:#}");

    // The workload changes (its #[score_workload] attribute): the plan shows the diff.
    let main = world.root().join("src/main.rs");
    let source = std::fs::read_to_string(&main).expect("main.rs");
    assert!(source.contains("RUST_LOG = \"info\""), "the example sets RUST_LOG");
    std::fs::write(&main, source.replace("RUST_LOG = \"info\"", "RUST_LOG = \"debug\"")).expect("edit main.rs");
    let before = std::fs::read_to_string(world.root().join("fly_todo.toml")).expect("fly.toml");
    let changed = world.deploy(&["--dry-run"]).ok();
    for line in ["Would change fly_todo.toml (app demo-todo):", "-RUST_LOG = \"info\"", "+RUST_LOG = \"debug\"", "@@ "]
    {
        assert!(changed.stderr.contains(line), "no `{line}` in:\n{}", changed.stderr);
    }
    // The README shows this very output.
    let readme = std::fs::read_to_string(score_fly_tests::workspace_root().join("README.md")).expect("README");
    let shown = readme
        .split_once("$ cargo score-fly deploy --dry-run --image registry.fly.io/demo-todo:v1\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("the README's plan example");
    assert_eq!(shown, changed.stderr, "README's plan example is not what deploy --dry-run prints");
    let plan: Value =
        serde_json::from_str(&world.deploy(&["--dry-run", "--format", "json"]).ok().stdout).expect("the plan");
    assert_valid(&schema, &plan);
    let file = &plan["files"][0];
    assert_eq!((&file["status"], &file["approximate"]), (&json!("changed"), &json!(false)), "{plan:#}");
    let diff = file["diff"].as_str().expect("a diff");
    assert!(diff.starts_with("--- a/fly_todo.toml\n+++ b/fly_todo.toml\n"), "{diff}");
    assert_eq!(std::fs::read_to_string(world.root().join("fly_todo.toml")).unwrap(), before, "a plan writes nothing");

    // The schema is a judge, not a rubber stamp.
    let mut broken = plan.clone();
    broken["apps"][0]["status"] = json!("maybe");
    assert!(!schema.is_valid(&broken));
    let mut broken = plan;
    broken["apps"][0]["secrets"]["values"] = json!({"DATABASE_URL": "x"});
    assert!(!schema.is_valid(&broken));
}

/// Issue 13's done-when: a `fly.patch.toml` beside the package's `Cargo.toml` adding
/// `[[statics]]` and `swap_size_mb` is in the plan's diff, in the written fly.toml and in the
/// config the fake `fly deploy` received (which checks it strictly).
#[test]
fn a_fly_patch_toml_lands_in_the_deployed_config() {
    let world = World::new();
    let patch = "swap_size_mb = 512\n\n[[statics]]\nguest_path = \"/app/public\"\nurl_prefix = \"/static\"\n";
    std::fs::write(world.root().join("fly.patch.toml"), patch).unwrap();
    let plan = world.deploy(&["--dry-run", "-v"]).ok();
    assert!(
        plan.stdout.contains("+swap_size_mb = 512") || plan.stderr.contains("+swap_size_mb = 512"),
        "{}",
        plan.stderr
    );
    world.deploy(&[]).ok();
    let written = std::fs::read_to_string(world.root().join("fly_todo.toml")).unwrap();
    score_fly_tests::flytoml::assert_valid(&written);
    assert!(written.contains("# Patched with fly.patch.toml."), "{written}");
    let release = world.fake.app("demo-todo").and_then(|a| a.current_release().cloned()).expect("deployed");
    let config: toml::Table = release.config.parse().expect("the deployed config is TOML");
    assert_eq!(config["swap_size_mb"].as_integer(), Some(512), "{}", release.config);
    assert_eq!(config["statics"][0]["url_prefix"].as_str(), Some("/static"), "{}", release.config);
    assert_eq!(config["app"].as_str(), Some("demo-todo"));
}

/// Issue 13: a three-container workload (web, a sidecar, a one-shot init that web waits on)
/// deploys as one Fly Machine: the fly.toml holds a top-level `container` and an inline
/// `machine_config` that the strict checker and the fake `fly deploy` accept.
#[test]
fn a_three_container_workload_deploys_as_one_machine() {
    let world = World::new();
    let dir = world.dir.path().join("shop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("score.yaml"),
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\n  annotations:\n    score-fly/release-command: /app/migrate\nservice:\n  ports:\n    www: {port: 8080}\ncontainers:\n  web:\n    image: .\n    variables: {MODE: prod}\n    readinessProbe: {httpGet: {port: 8080, path: /health}}\n    before:\n      init: {ready: complete}\n      sidecar: {ready: started}\n  sidecar:\n    image: nginx:1.27\n    files:\n      /etc/nginx/conf.d/x.conf: {content: \"listen 8081;\"}\n  init:\n    image: busybox:1.36\n    command: [sh, -c]\n    args: [\"echo ready\"]\n",
    )
    .unwrap();
    // The image is not in a registry the fake can pull: its release command is skipped as
    // flyctl's flag says (the release command itself is tested with a real image).
    let args = ["deploy", "--app-prefix", PREFIX, "--region", "ams", "--image", IMAGE];
    let run = world.run_in(&dir, &[&args[..], &["--deploy-args=--skip-release-command"]].concat()).ok();
    let app = world.fake.app("demo-shop").expect("the app exists");
    let release = app.current_release().expect("the fake fly deploy accepted it");
    assert_eq!(release.image, IMAGE, "{}", run.stderr);
    score_fly_tests::flytoml::assert_valid(&release.config);
    let table: toml::Table = release.config.parse().unwrap();
    assert_eq!(table["container"].as_str(), Some("web"));
    let machine: Value = serde_json::from_str(table["machine_config"].as_str().unwrap()).unwrap();
    let names: Vec<&str> =
        machine["containers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["init", "sidecar", "web"]);
    let web = &machine["containers"][2];
    assert_eq!(
        web["depends_on"],
        serde_json::json!([{"name": "init", "condition": "exited_successfully"}, {"name": "sidecar", "condition": "started"}])
    );
    assert_eq!(machine["containers"][1]["files"][0]["raw_value"], "bGlzdGVuIDgwODE7", "base64 in machine_config");
    assert_eq!(table["deploy"]["release_command"].as_str(), Some("/app/migrate"));
}

/// Unmanaged Fly Postgres (`fly postgres create`) only by explicit choice: the resource
/// class `legacy`, with a warning; its database is real and its outputs log in; deprovision
/// takes the cluster with the last database.
#[test]
fn the_unmanaged_postgres_path_is_taken_only_with_class_legacy_and_warns() {
    let world = World::new();
    let dir = world.dir.path().join("files");
    score_file(&dir, "api", &[("DB_HOST", "${resources.db.host}"), ("DB_PASSWORD", "${resources.db.password}")]);
    let path = dir.join("api.score.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("    type: postgres\n", "    type: postgres\n    class: legacy\n");
    std::fs::write(&path, text).unwrap();
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    let run = world.run_in(&dir, &["deploy", "api.score.yaml", "--region", "ams"]).ok();
    assert!(
        run.stderr.contains(
            "warning: `postgres.legacy#api.db` uses unmanaged Fly Postgres (`fly postgres create`, class `legacy`)"
        ),
        "{}",
        run.stderr
    );
    assert!(world.fake.mpg_clusters().is_empty(), "no Managed Postgres");
    assert!(!world.commands().iter().any(|c| c.starts_with("mpg ")), "{:?}", world.commands());
    let clusters = world.fake.postgres_clusters();
    assert_eq!(clusters.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["demo-pg"]);
    let release = world.fake.app("demo-api").and_then(|a| a.current_release().cloned()).expect("deployed");
    assert!(release.config.contains("DB_HOST = \"demo-pg.flycast\""), "{}", release.config);
    let password = world.fake.secret_value("demo-api", "DB_PASSWORD").expect("password secret");
    let database = world.score_fly_databases().pop().expect("a real database");
    assert!(world.pg.connect_check(&database, &password, &database), "the legacy outputs log in");

    world.run_in(&dir, &["resources", "deprovision", "postgres.legacy#api.db"]).ok();
    assert!(world.fake.postgres_clusters().is_empty(), "the last database took the cluster");
    assert!(world.score_fly_databases().is_empty());
}

/// `fly mpg create` waits for its cluster with no timeout (fly-2026.md §1.3): score-fly stops
/// it after the resource's `create_timeout`, finds the cluster by name, and says to run again;
/// the next run adopts the cluster (never makes a second), waits until it is `ready`, and
/// the attachment record `fly mpg attach` leaves is removed (`fly mpg detach`).
#[test]
fn a_slow_mpg_cluster_is_waited_for_within_create_timeout_then_adopted_not_made_twice() {
    let world = World::new();
    world.fake.set_mpg_ready_after(std::time::Duration::from_secs(3));
    let dir = world.dir.path().join("files");
    score_file(&dir, "api", &[("DB_PASSWORD", "${resources.db.password}")]);
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    let path = dir.join("api.score.yaml");
    let plain = std::fs::read_to_string(&path).unwrap();
    let short = plain.replace("    type: postgres\n", "    type: postgres\n    params:\n      create_timeout: 1s\n");
    std::fs::write(&path, &short).unwrap();
    let run = world.run_in(&dir, &["deploy", "api.score.yaml", "--region", "ams"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    let (name, id) = world.mpg_cluster();
    assert!(
        run.stderr.contains(&format!(
            "the Managed Postgres cluster {name} ({id}) is still `initializing` after 1s; it keeps being made in the background: run again later"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`fly mpg create --name demo-pg"), "flyctl was stopped: {}", run.stderr);
    assert!(world.fake.app("demo-api").and_then(|a| a.current_release().cloned()).is_none(), "nothing deployed");

    std::fs::write(&path, &plain).unwrap();
    let run = world.run_in(&dir, &["deploy", "api.score.yaml", "--region", "ams"]).ok();
    assert_eq!(world.mpg_cluster(), (name.clone(), id.clone()), "adopted, not made twice");
    // The server's record: the killed flyctl never wrote its invocation log.
    let created = world.fake.commands().iter().filter(|c| *c == "mpg create").count();
    assert_eq!(created, 1, "{:?}", world.fake.commands());
    assert!(
        run.stderr.contains(&format!("using the existing Managed Postgres cluster {name} ({id})")),
        "{}",
        run.stderr
    );
    let cluster = world.fake.mpg_clusters().pop().unwrap();
    assert_eq!(cluster.current_status(), "ready");
    assert!(cluster.attached_apps.is_empty(), "attach's record was detached: {:?}", cluster.attached_apps);
    assert!(world.commands().iter().any(|c| c == "mpg detach"), "{:?}", world.commands());
    let password = world.fake.secret_value("demo-api", "DB_PASSWORD").expect("the password secret");
    let database = world.score_fly_databases().pop().expect("a real database");
    assert!(world.pg.connect_check(&database, &password, &database), "the outputs log in");
}

/// A region Managed Postgres does not serve, or a plan flyctl would quietly downgrade, is
/// refused before anything is created, naming what to use instead.
#[test]
fn mpg_params_are_checked_before_a_cluster_is_created() {
    let world = World::new();
    let dir = world.dir.path().join("files");
    score_file(&dir, "api", &[("DB_PASSWORD", "${resources.db.password}")]);
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    let run = world.run_in(&dir, &["deploy", "api.score.yaml", "--region", "cdg"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains(
            "`postgres.default#api.db`: Managed Postgres does not run in cdg; nearest regions where it does: ams (Amsterdam, NL)"
        ),
        "{}",
        run.stderr
    );
    let path = dir.join("api.score.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("    type: postgres\n", "    type: postgres\n    params:\n      plan: performance\n"),
    )
    .unwrap();
    let run = world.run_in(&dir, &["deploy", "api.score.yaml", "--region", "ams"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("param `plan`: `performance` is not a Managed Postgres plan"), "{}", run.stderr);
    assert!(world.fake.mpg_clusters().is_empty(), "nothing was created");
    assert!(!world.commands().iter().any(|c| c == "mpg create"), "{:?}", world.commands());
}
