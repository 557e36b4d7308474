//! Runs the todo binary against a real Postgres (a throwaway cluster made with `initdb`) and
//! drives its HTTP API over plain `TcpStream`s.
//!
//! The Postgres server binaries are looked up in `/usr/lib/postgresql/<version>/bin` (Debian's
//! `postgresql` package; `scripts/test.sh` installs it), or in `$PG_BIN`. `initdb` and
//! `postgres` refuse to run as root, so as root they run as the `postgres` user via `runuser`.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_todo");

/// Where the test's database lives, as the service sees it.
const DB_USER: &str = "todo";
const DB_PASSWORD: &str = "todo-secret";
const DB_NAME: &str = "todos_db";

// ---------------------------------------------------------------------------------------
// The tests.

#[test]
fn serves_todos_from_postgres_and_reports_its_health() {
    let pg = Postgres::start();
    let mut service = Service::start(&pg.url());

    // Health: both probes pass while the database answers.
    assert_eq!(get(&service, "/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(get(&service, "/livez"), (200, "ok\n".to_owned()));

    // The table was created at startup: empty list.
    assert_eq!(json_of(&service.request("GET", "/todos", None), 200), json!([]));

    // Create two.
    let milk = service.request("POST", "/todos", Some(r#"{"title": "buy milk"}"#));
    assert_eq!(milk.status, 201, "{milk:?}");
    let milk_json = json_of(&milk, 201);
    let milk_id = milk_json["id"].as_i64().expect("id is an integer");
    assert_eq!(milk_json, json!({"id": milk_id, "title": "buy milk", "done": false}));
    assert_eq!(milk.header("location").as_deref(), Some(format!("/todos/{milk_id}").as_str()));
    let bread = json_of(&service.request("POST", "/todos", Some(r#"{"title": "  bake bread "}"#)), 201);
    let bread_id = bread["id"].as_i64().expect("id is an integer");
    assert!(bread_id > milk_id, "ids grow: {milk_id} then {bread_id}");
    assert_eq!(bread, json!({"id": bread_id, "title": "bake bread", "done": false}), "the title is trimmed");

    // Bad items are refused and not stored.
    let empty = service.request("POST", "/todos", Some(r#"{"title": "   "}"#));
    assert_eq!(json_of(&empty, 422), json!({"error": "title must not be empty"}));
    assert_eq!(service.request("POST", "/todos", Some(r#"{"titel": "typo"}"#)).status, 422);
    assert_eq!(service.request("POST", "/todos", Some(r#"{"title": "#)).status, 400);

    // List: both, in creation order.
    assert_eq!(
        json_of(&service.request("GET", "/todos", None), 200),
        json!([
            {"id": milk_id, "title": "buy milk", "done": false},
            {"id": bread_id, "title": "bake bread", "done": false},
        ])
    );

    // PATCH: `{}` toggles, `done` sets, `title` renames; unknown ids are 404.
    let path = format!("/todos/{milk_id}");
    let toggled = json_of(&service.request("PATCH", &path, Some("{}")), 200);
    assert_eq!(toggled, json!({"id": milk_id, "title": "buy milk", "done": true}));
    let toggled_back = json_of(&service.request("PATCH", &path, Some("{}")), 200);
    assert_eq!(toggled_back["done"], json!(false));
    let set = json_of(&service.request("PATCH", &path, Some(r#"{"done": true}"#)), 200);
    assert_eq!(set["done"], json!(true));
    let set_again = json_of(&service.request("PATCH", &path, Some(r#"{"done": true}"#)), 200);
    assert_eq!(set_again["done"], json!(true), "setting is not toggling");
    let renamed = json_of(&service.request("PATCH", &path, Some(r#"{"title": "buy oat milk"}"#)), 200);
    assert_eq!(renamed, json!({"id": milk_id, "title": "buy oat milk", "done": true}));
    assert_eq!(json_of(&service.request("PATCH", "/todos/999999", Some("{}")), 404), json!({"error": "no such todo"}));
    assert_eq!(service.request("PATCH", "/todos/not-a-number", Some("{}")).status, 400);

    // Delete one; a second delete is 404.
    let bread_path = format!("/todos/{bread_id}");
    let deleted = service.request("DELETE", &bread_path, None);
    assert_eq!((deleted.status, deleted.body.as_str()), (204, ""));
    assert_eq!(service.request("DELETE", &bread_path, None).status, 404);
    assert_eq!(service.request("GET", &bread_path, None).status, 404);

    // List again: what is left, as changed.
    let expected = json!([{"id": milk_id, "title": "buy oat milk", "done": true}]);
    assert_eq!(json_of(&service.request("GET", "/todos", None), 200), expected);
    assert_eq!(json_of(&service.request("GET", &path, None), 200), expected[0]);

    // The database goes away: not ready (503), still alive, and requests fail with 503.
    pg.stop();
    let (status, body) = get(&service, "/healthz");
    assert_eq!((status, body.as_str()), (503, "database unavailable\n"));
    assert_eq!(get(&service, "/livez"), (200, "ok\n".to_owned()));
    assert_eq!(json_of(&service.request("GET", "/todos", None), 503), json!({"error": "database unavailable"}));

    // It comes back: the service reconnects on its own and the data is still there.
    pg.start_server();
    assert_eq!(get(&service, "/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(json_of(&service.request("GET", "/todos", None), 200), expected);

    // SIGINT (Fly's default kill signal) stops it cleanly.
    let status = service.stop("INT");
    assert!(status.success(), "exit status after SIGINT: {status}\n{}", service.log());
    let log = service.log();
    assert!(log.contains("SIGINT received"), "log:\n{log}");
    assert!(!log.contains(DB_PASSWORD), "the log shows the password:\n{log}");

    // And SIGTERM too.
    let mut second = Service::start(&pg.url());
    let status = second.stop("TERM");
    assert!(status.success(), "exit status after SIGTERM: {status}\n{}", second.log());
    assert!(second.log().contains("SIGTERM received"), "log:\n{}", second.log());
}

#[test]
fn refuses_to_start_without_database_url() {
    for value in [None, Some("  ")] {
        let mut command = Command::new(BIN);
        command.env_remove("DATABASE_URL").env("PORT", free_port().to_string());
        if let Some(value) = value {
            command.env("DATABASE_URL", value);
        }
        let output = run_with_timeout(command);
        assert!(!output.status.success(), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("DATABASE_URL is not set: set it to postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
            "stderr: {stderr}"
        );
    }
}

#[test]
fn refuses_bad_settings_without_quoting_the_password() {
    // An invalid URL: the message does not echo it (it holds the password).
    let mut command = Command::new(BIN);
    command.env("DATABASE_URL", "postgres://todo:hunter2@localhost:notaport/todo");
    let output = run_with_timeout(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(stderr.contains("DATABASE_URL is not a valid PostgreSQL connection URL"), "stderr: {stderr}");
    assert!(!stderr.contains("hunter2"), "stderr: {stderr}");

    // A bad PORT.
    let mut command = Command::new(BIN);
    command.env("DATABASE_URL", "postgres://todo:hunter2@127.0.0.1:1/todo").env("PORT", "eighty");
    let output = run_with_timeout(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(stderr.contains(r#"PORT must be a port number (0-65535), not "eighty""#), "stderr: {stderr}");

    // Nothing listens there: a clear error at startup naming where it tried, no password.
    let port = free_port();
    let mut command = Command::new(BIN);
    command.env("DATABASE_URL", format!("postgres://todo:hunter2@127.0.0.1:{port}/todo")).env("PORT", "0");
    let output = run_with_timeout(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(
        stderr.contains(&format!(
            "cannot connect to PostgreSQL at todo@127.0.0.1:{port}/todo and create the todos table: error connecting to server"
        )),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("hunter2"), "stderr: {stderr}");
}

#[test]
fn binary_carries_its_inline_workload() {
    let binary = std::fs::read(BIN).expect("read the todo binary");
    let json = score_fly_core::attr::find_embedded(&binary).expect("the binary embeds its workload");
    let workload: Value = serde_json::from_str(json).expect("the embedded workload is JSON");
    assert_eq!(workload["metadata"]["name"], "todo");
    assert_eq!(workload["metadata"]["annotations"]["score-fly/service-web-handlers"], "tls,http");
    assert_eq!(workload["resources"]["db"], json!({"type": "postgres"}));
    assert_eq!(workload["service"]["ports"]["web"], json!({"port": 443, "targetPort": 8080}));
    let main = &workload["containers"]["main"];
    assert_eq!(main["image"], ".");
    assert_eq!(
        main["variables"],
        json!({
            "DATABASE_URL": "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.database}",
            "PORT": "8080",
            "RUST_LOG": "info",
        })
    );
    assert_eq!(main["readinessProbe"], json!({"httpGet": {"path": "/healthz", "port": 8080}}));
    assert_eq!(main["livenessProbe"], json!({"httpGet": {"path": "/livez", "port": 8080}}));
    assert_eq!(main["resources"], json!({"requests": {"cpu": "1", "memory": "256Mi"}}));
}

// ---------------------------------------------------------------------------------------
// A throwaway Postgres cluster.

/// A Postgres cluster in a temporary folder, stopped (and deleted) on drop.
struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Whether its commands run as the `postgres` user (we are root).
    switch_user: bool,
}

impl Postgres {
    /// Creates the cluster, starts it, and creates the service's user and database.
    fn start() -> Postgres {
        let bin = postgres_bin();
        let dir = tempfile::Builder::new().prefix("todo-pg-").tempdir().expect("create a temporary folder");
        let switch_user = std::fs::metadata("/proc/self").expect("read /proc/self").uid() == 0;
        if switch_user {
            run(Command::new("chown").arg("postgres:").arg(dir.path()), "give the cluster folder to the postgres user");
        }
        let pg = Postgres { bin, dir, port: free_port(), switch_user };
        run(
            pg.command("initdb")
                .args(["--username=postgres", "--auth-local=trust", "--auth-host=scram-sha-256"])
                .args(["--encoding=UTF8", "--locale=C", "--no-sync", "--pgdata"])
                .arg(pg.data()),
            "create a PostgreSQL cluster (initdb)",
        );
        pg.start_server();
        pg.psql(&format!("CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASSWORD}'"));
        pg.psql(&format!("CREATE DATABASE {DB_NAME} OWNER {DB_USER}"));
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The URL the service connects with: TCP and a password, as on Fly.
    fn url(&self) -> String {
        format!("postgres://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{}/{DB_NAME}", self.port)
    }

    /// A server binary, run as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.switch_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        // The postgres user may not be able to enter the test's working folder.
        command.current_dir(self.dir.path()).stdin(Stdio::null());
        command
    }

    /// Starts the server on 127.0.0.1 (socket in the cluster folder) and waits until it accepts connections.
    fn start_server(&self) {
        let options =
            format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.path().display());
        let started = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log_file())
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .expect("run pg_ctl start");
        assert!(
            started.status.success(),
            "pg_ctl start failed: {}{}\n--- postgres log ---\n{}",
            String::from_utf8_lossy(&started.stdout),
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(self.log_file()).unwrap_or_default()
        );
    }

    /// Stops the server at once (`-m immediate`: connections are cut, as in a crash).
    fn stop(&self) {
        run(
            self.command("pg_ctl").arg("-D").arg(self.data()).args(["-m", "immediate", "-w", "stop"]),
            "stop PostgreSQL",
        );
    }

    /// Runs SQL as the superuser over the Unix socket.
    fn psql(&self, sql: &str) {
        run(
            Command::new(self.bin.join("psql"))
                .arg("--no-psqlrc")
                .args(["-h", &self.dir.path().display().to_string(), "-p", &self.port.to_string()])
                .args(["-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql])
                .stdin(Stdio::null()),
            &format!("run `{sql}` with psql"),
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- postgres log ---\n{}", std::fs::read_to_string(self.log_file()).unwrap_or_default());
        }
        if self.data().join("postmaster.pid").exists() {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The folder holding `initdb`, `pg_ctl` and `postgres`: `$PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin`. Fails the test when there is none.
fn postgres_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(dir.join("initdb").is_file(), "PG_BIN={} holds no initdb", dir.display());
        return dir;
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    let Some((_, bin)) = found.pop() else {
        panic!(
            "PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin/initdb. These tests run a real \
             PostgreSQL server: install it with `apt-get install postgresql` (scripts/test.sh does), or point \
             PG_BIN at a folder holding initdb, pg_ctl and postgres"
        );
    };
    assert!(
        Path::new("/usr/bin/psql").is_file() || bin.join("psql").is_file(),
        "psql is missing: install postgresql-client"
    );
    bin
}

// ---------------------------------------------------------------------------------------
// The service under test.

/// The todo binary, running; killed on drop (its log is printed if the test failed).
struct Service {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl Service {
    /// Starts it and waits until it answers.
    fn start(database_url: &str) -> Service {
        let log = tempfile::NamedTempFile::new().expect("create the service log");
        let port = free_port();
        let child = Command::new(BIN)
            .env("DATABASE_URL", database_url)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(log.reopen().expect("open the service log"))
            .stderr(log.reopen().expect("open the service log"))
            .spawn()
            .expect("start the todo binary");
        let mut service = Service { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = service.child.try_wait().expect("poll the todo service") {
                panic!("the todo service exited at startup ({status}):\n{}", service.log());
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return service;
            }
            assert!(Instant::now() < deadline, "the todo service does not listen after 30 s:\n{}", service.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Sends a signal (`INT`, `TERM`) and waits for the exit.
    fn stop(&mut self, signal: &str) -> ExitStatus {
        run(Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()), "signal the todo service");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the todo service") {
                return status;
            }
            assert!(Instant::now() < deadline, "the todo service still runs 10 s after SIG{signal}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One HTTP/1.1 request on a fresh connection.
    fn request(&self, method: &str, path: &str, json_body: Option<&str>) -> Reply {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the todo service");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("set a read timeout");
        let mut request = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\nconnection: close\r\n", self.port);
        let body = json_body.unwrap_or("");
        if json_body.is_some() {
            request.push_str("content-type: application/json\r\n");
        }
        write!(request, "content-length: {}\r\n\r\n{body}", body.len()).expect("format the request");
        stream.write_all(request.as_bytes()).expect("send the request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read the reply");
        Reply::parse(&raw)
            .unwrap_or_else(|| panic!("malformed reply to {method} {path}: {:?}", String::from_utf8_lossy(&raw)))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- todo service log ---\n{}", self.log());
        }
    }
}

/// An HTTP reply.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn parse(raw: &[u8]) -> Option<Reply> {
        let text = std::str::from_utf8(raw).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n");
        let status = lines.next()?.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .map(|line| line.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())))
            .collect::<Option<_>>()?;
        let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        let body = if chunked { dechunk(body)? } else { body.to_owned() };
        if let Some((_, length)) = headers.iter().find(|(k, _)| k == "content-length")
            && length.parse::<usize>().ok()? != body.len()
        {
            return None;
        }
        Some(Reply { status, headers, body })
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

/// Decodes a `transfer-encoding: chunked` body.
fn dechunk(mut rest: &str) -> Option<String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.push_str(after.get(..size)?);
        rest = after.get(size..)?.strip_prefix("\r\n")?;
    }
}

/// Status and body of a `GET`.
fn get(service: &Service, path: &str) -> (u16, String) {
    let reply = service.request("GET", path, None);
    (reply.status, reply.body)
}

/// The JSON body of a reply that must have this status and be `application/json`.
fn json_of(reply: &Reply, status: u16) -> Value {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.header("content-type").as_deref(), Some("application/json"), "{reply:?}");
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("not JSON ({e}): {reply:?}"))
}

// ---------------------------------------------------------------------------------------
// Processes and ports.

/// A TCP port nothing listens on (at the moment).
fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("find a free port").port()
}

/// Runs a command that must succeed.
fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("cannot {what}: {e}"));
    assert!(
        output.status.success(),
        "cannot {what} ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the todo binary, which must exit by itself within 30 s.
fn run_with_timeout(mut command: Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the todo binary");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("poll the todo binary").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the todo binary still runs after 30 s: {:?}", child.wait_with_output());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("read the todo binary's output")
}
