//! `score-fly-demo [DIR]`: the whole `cargo score-fly deploy` of `examples/todo`, on this
//! machine, with a local stand-in for Fly.io (which these machines cannot reach).
//!
//! It starts the same servers the end-to-end tests use: the fake Fly (Machines API on
//! loopback, strict like Fly) with the fake `flyctl`, a real `PostgreSQL` its `exec` runs
//! `psql` against, and a real `docker-registry` standing for `registry.fly.io` holding a base
//! image made from this machine's glibc. Then it runs the product on a copy of the example
//! in `DIR/todo` (default `<target>/score-fly-demo/todo`, replaced if it exists): it compiles todo, builds and
//! pushes its image, creates the app, provisions the database, writes `fly.toml`, imports
//! the secret through stdin and deploys. Last, with nothing of the product, it pulls the
//! deployed image, unpacks it and runs it against the provisioned database, and talks to it.
//!
//! Run with `./scripts/demo.sh` (installs the servers, builds the binaries beside this one).
//! The servers stop when it ends; the project folder stays for a look.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use score_fly_tests::fake_fly::{AppKind, FakeFly, FakeFlyOptions};
use score_fly_tests::free_port;
use score_fly_tests::postgres::{PgServer, reach_locally};
use score_fly_tests::registry::{Base, Registry, http_get, http_request, pull_and_unpack, push_base, rootfs_command};

const PREFIX: &str = "demo-";

fn main() -> ExitCode {
    // `--write-todo DIR`: only the standalone copy of examples/todo (for scripts/bench-dev.sh).
    if std::env::args().nth(1).as_deref() == Some("--write-todo") {
        let Some(dir) = std::env::args_os().nth(2) else {
            eprintln!("error: --write-todo needs the folder to write the copy into");
            return ExitCode::FAILURE;
        };
        score_fly_tests::todo::write_buildable(&PathBuf::from(dir));
        return ExitCode::SUCCESS;
    }
    let exe = std::env::current_exe().expect("locate this program");
    let bin_dir = exe.parent().expect("a folder").to_path_buf();
    let target = bin_dir.parent().expect("<target>/<profile>").to_path_buf();
    let (product, flyctl) = (bin_dir.join("score-fly-e2e"), bin_dir.join("fake-flyctl"));
    for bin in [&product, &flyctl] {
        if !bin.is_file() {
            eprintln!(
                "error: {} is missing: build it first (`cargo build -p score-fly-tests --bins`, or run ./scripts/demo.sh)",
                bin.display()
            );
            return ExitCode::FAILURE;
        }
    }
    let dir = std::env::args_os().nth(1).map_or_else(|| target.join("score-fly-demo"), PathBuf::from);
    let project = dir.join("todo");
    if project.exists() {
        std::fs::remove_dir_all(&project).unwrap_or_else(|e| panic!("empty {}: {e}", project.display()));
    }
    score_fly_tests::todo::write_buildable(&project);

    say("score-fly demo: `cargo score-fly deploy` of examples/todo, on this machine");
    say("Fly.io cannot be reached from here; these stand in for it:");
    let pg = PgServer::start();
    let fake = FakeFly::start(FakeFlyOptions {
        token: score_fly_tests::fake_fly::MACAROON_TOKEN.to_owned(),
        postgres: Some(pg.target()),
        ..FakeFlyOptions::default()
    });
    let registry = Registry::start_quiet();
    let scratch = tempfile::Builder::new().prefix("score-fly-demo-").tempdir().expect("a scratch folder");
    let base = push_base(Base::Glibc, &registry, scratch.path(), "base", None);
    say(&format!("  Fly:      fake Machines API at {} and a fake flyctl (reject what Fly rejects)", fake.url()));
    say(&format!(
        "  Postgres: a real PostgreSQL on port {} (Managed Postgres' databases and users are real there)",
        pg.port()
    ));
    say(&format!("  registry.fly.io: a real docker-registry at {}", registry.host()));
    say(&format!("  base image: {base} (this machine's glibc; the default is distroless cc-debian12)"));
    say(&format!("  project: {} (a copy of examples/todo)", project.display()));

    let build_dir = target.join("tests").join("score-fly-build");
    let args = score_fly_tests::todo::build_and_deploy_args(PREFIX, &base, &build_dir);
    say(&format!("\n$ cargo score-fly {}", args.join(" ")));
    let mut command = Command::new(&product);
    command.arg("score-fly").args(args).current_dir(&project);
    for (key, _) in std::env::vars() {
        if key.starts_with("FLY_") || key.starts_with("SCORE_FLY") {
            command.env_remove(key);
        }
    }
    let started = Instant::now();
    let status = command
        .envs(fake.env())
        .env("FLY_BIN", &flyctl)
        .env("FLY_REGISTRY_HOST", registry.host())
        .stdout(Stdio::null())
        .status()
        .expect("run cargo score-fly");
    if !status.success() {
        eprintln!("error: the deploy failed ({status})");
        return ExitCode::FAILURE;
    }
    say(&format!("(deploy took {:.1} s)", started.elapsed().as_secs_f64()));

    say("\nWhat the fake Fly now holds:");
    for app in fake.apps().into_iter().filter(|a| a.kind == AppKind::App) {
        let secrets: Vec<&String> = app.secrets.keys().collect();
        let release = app.current_release().map_or_else(
            || "not deployed".to_owned(),
            |r| format!("release v{} of {} in {}", r.version, r.image, r.primary_region),
        );
        say(&format!("  app {} (org {}): {release}; secrets {secrets:?}", app.name, app.org));
    }
    let databases = pg.psql(
        "SELECT string_agg(datname, ', ') FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')",
    );
    for cluster in fake.mpg_clusters() {
        say(&format!(
            "  Managed Postgres cluster {} ({}, plan {}), databases (on the real PostgreSQL): {}",
            cluster.name,
            cluster.region,
            cluster.plan,
            databases.trim()
        ));
    }
    let fly_toml = std::fs::read_to_string(project.join("fly_todo.toml")).expect("fly_todo.toml");
    say(&format!("\n{}:\n{}", project.join("fly_todo.toml").display(), indent(&fly_toml)));

    let Some(app) = fake.app(&format!("{PREFIX}todo")) else {
        eprintln!("error: the app was not created");
        return ExitCode::FAILURE;
    };
    let Some(release) = app.current_release() else {
        eprintln!("error: the app was not deployed");
        return ExitCode::FAILURE;
    };
    say("The deployed image, pulled back (skopeo), unpacked (umoci) and run with the secret the app");
    say("received (its Fly host `pgbouncer.<id>.flympg.net` swapped for the local server's address):");
    let url = fake.secret_value(&app.name, "DATABASE_URL").expect("DATABASE_URL deployed");
    let local = reach_locally(&url, pg.port());
    if local == url {
        eprintln!("error: DATABASE_URL names no Fly Postgres host (`*.flycast`, `*.flympg.net`) of the fake");
        return ExitCode::FAILURE;
    }
    let rootfs = pull_and_unpack(&release.image, scratch.path(), None);
    match talk_to_todo(&rootfs, &local) {
        Ok(lines) => {
            for line in lines {
                say(&format!("  {line}"));
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    say(&format!(
        "\nDone: built, pushed, provisioned, deployed and served. The project stays in {} (fly_todo.toml, .score-fly/); the stand-ins stop now.",
        project.display()
    ));
    ExitCode::SUCCESS
}

/// Starts the unpacked todo, creates and lists a todo; the exchange as lines.
fn talk_to_todo(rootfs: &Path, database_url: &str) -> Result<Vec<String>, String> {
    let port = free_port();
    let mut todo = rootfs_command(rootfs, "app/todo")
        .env("PORT", port.to_string())
        .env("DATABASE_URL", database_url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start todo: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lines = Vec::new();
    let mut ready = None;
    while ready.is_none() && Instant::now() < deadline && todo.try_wait().ok().flatten().is_none() {
        match http_get(port, "/healthz") {
            Ok(answer) => ready = Some(answer),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let exchange = ready.map(|health| {
        lines.push(format!("GET /healthz -> {} {}", health.0, health.1.trim()));
        let body = br#"{"title": "shipped by score-fly"}"#;
        let created = http_request(port, "POST", "/todos", Some(("application/json", body)));
        let listed = http_get(port, "/todos");
        (created, listed)
    });
    let _ = todo.kill();
    let output = todo.wait_with_output().map_err(|e| format!("wait for todo: {e}"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    let Some((created, listed)) = exchange else {
        return Err(format!("todo did not answer on port {port}\n--- its stderr ---\n{log}"));
    };
    let (created, listed) = (created.map_err(|e| e.to_string())?, listed.map_err(|e| e.to_string())?);
    lines.push(format!("POST /todos {{\"title\": \"shipped by score-fly\"}} -> {} {}", created.0, created.1.trim()));
    lines.push(format!("GET /todos -> {} {}", listed.0, listed.1.trim()));
    if created.0 != 201 || listed.0 != 200 || !listed.1.contains("shipped by score-fly") {
        return Err(format!("todo answered unexpectedly:\n{}\n--- its stderr ---\n{log}", lines.join("\n")));
    }
    Ok(lines)
}

fn say(line: &str) {
    println!("{line}");
}

fn indent(text: &str) -> String {
    text.lines().fold(String::new(), |mut out, line| {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
        out
    })
}
