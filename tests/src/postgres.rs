//! A real, throwaway Postgres server for a test: [`PgServer::start`] runs `initdb` into a
//! temporary folder and starts `postgres` on `127.0.0.1:<free port>` (Unix socket in the
//! same folder); dropping it stops the server (`pg_ctl -m immediate stop`) and deletes the
//! folder.
//!
//! The server binaries come from `$PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin`
//! (Debian's `postgresql` package; `scripts/test.sh` installs it). `initdb` and `postgres`
//! refuse to run as root, so as root they run as the `postgres` user through `runuser`.
//! Local (socket) connections are trusted; TCP connections need a password
//! (`scram-sha-256`), as on Fly.
//!
//! ```no_run
//! use score_fly_tests::postgres::PgServer;
//!
//! let pg = PgServer::start();
//! pg.psql("CREATE ROLE app LOGIN PASSWORD 'pw'");
//! assert!(pg.connect_check("app", "pw", "postgres"));
//! ```

use crate::free_port;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::fake_fly::PostgresTarget;

/// The superuser `initdb` creates.
const SUPERUSER: &str = "postgres";

/// A running Postgres server in a temporary folder; stopped and deleted on drop.
pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Whether server commands run as the `postgres` user (we are root).
    switch_user: bool,
}

impl PgServer {
    /// Creates a cluster, starts it and waits until it accepts connections. Panics (failing
    /// the test) with a clear message when Postgres is not installed or does not start.
    pub fn start() -> PgServer {
        let bin = postgres_bin();
        let dir = tempfile::Builder::new().prefix("score-fly-pg-").tempdir().expect("create a temporary folder");
        let switch_user = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        if switch_user {
            run(Command::new("chown").arg("postgres:").arg(dir.path()), "give the cluster folder to the postgres user");
        }
        let mut pg = PgServer { bin, dir, port: free_port(), switch_user };
        run(
            pg.server_command("initdb")
                .args([&format!("--username={SUPERUSER}"), "--auth-local=trust", "--auth-host=scram-sha-256"])
                .args(["--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions", "--pgdata"])
                .arg(pg.data()),
            "create a PostgreSQL cluster (initdb)",
        );
        // Another process can bind the chosen port before the server does: choose again.
        for _ in 0..4 {
            match pg.try_start_server() {
                Ok(()) => return pg,
                Err(failure) if failure.contains("Address already in use") => pg.port = free_port(),
                Err(failure) => panic!("{failure}"),
            }
        }
        pg.start_server();
        pg
    }

    /// The folder holding the Unix socket (`PGHOST`).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The TCP port, on 127.0.0.1 (`PGPORT`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's name (`postgres`), trusted over the socket.
    pub fn superuser(&self) -> &str {
        SUPERUSER
    }

    /// The folder of the server binaries (`initdb`, `pg_ctl`, `psql`).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// What a [`FakeFly`](crate::fake_fly::FakeFly) needs to run `exec` commands against this server.
    pub fn target(&self) -> PostgresTarget {
        PostgresTarget {
            socket_dir: self.socket_dir().to_path_buf(),
            port: self.port,
            superuser: SUPERUSER.to_owned(),
            bin_dir: Some(self.bin.clone()),
        }
    }

    /// `postgres://USER:PASSWORD@127.0.0.1:PORT/DATABASE` (no escaping: keep test names plain).
    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs SQL as the superuser over the socket (database `postgres`, `ON_ERROR_STOP`,
    /// unaligned tuples only: `-XAt`) and returns its stdout. Panics when psql fails.
    pub fn psql(&self, sql: &str) -> String {
        self.try_psql(sql).unwrap_or_else(|error| panic!("psql failed on `{sql}`:\n{error}"))
    }

    /// Like [`psql`](Self::psql), but returns psql's stderr as the error.
    pub fn try_psql(&self, sql: &str) -> Result<String, String> {
        self.try_psql_in("postgres", sql)
    }

    /// [`psql`](Self::psql) in another database.
    pub fn psql_in(&self, database: &str, sql: &str) -> String {
        self.try_psql_in(database, sql).unwrap_or_else(|error| panic!("psql failed on `{sql}` in {database}:\n{error}"))
    }

    fn try_psql_in(&self, database: &str, sql: &str) -> Result<String, String> {
        let output = self
            .client("psql")
            .env("PGHOST", self.socket_dir())
            .env("PGUSER", SUPERUSER)
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql])
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
        }
    }

    /// Whether `user` can log in to `database` over TCP with `password` (and run `select 1`).
    /// The password goes through `PGPASSWORD`, never the command line.
    pub fn connect_check(&self, user: &str, password: &str, database: &str) -> bool {
        self.client("psql")
            .env("PGHOST", "127.0.0.1")
            .env("PGUSER", user)
            .env("PGDATABASE", database)
            .env("PGPASSWORD", password)
            .env("PGSSLMODE", "disable")
            .env("PGCONNECT_TIMEOUT", "10")
            .args(["-X", "-A", "-t", "-w", "-c", "select 1"])
            .output()
            .is_ok_and(|output| output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "1")
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_server(&self) {
        if let Err(failure) = self.try_start_server() {
            panic!("{failure}");
        }
    }

    fn try_start_server(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.socket_dir().display()
        );
        let started = self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log_file())
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .expect("run pg_ctl start");
        if started.status.success() {
            return Ok(());
        }
        Err(format!(
            "pg_ctl start failed: {}{}\n--- postgres log ---\n{}",
            String::from_utf8_lossy(&started.stdout),
            String::from_utf8_lossy(&started.stderr),
            self.log()
        ))
    }

    /// Stops the server at once (`-m immediate`: connections are cut, as in a crash).
    pub fn stop(&self) {
        run(
            self.server_command("pg_ctl").arg("-D").arg(self.data()).args(["-m", "immediate", "-w", "stop"]),
            "stop PostgreSQL",
        );
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// A server binary, run as `postgres` when we are root.
    fn server_command(&self, program: &str) -> Command {
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

    /// A client binary (`psql`) with no PG* variables inherited from the environment.
    fn client(&self, program: &str) -> Command {
        let local = self.bin.join(program);
        let mut command = Command::new(if local.is_file() { local } else { PathBuf::from(program) });
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PG") {
                command.env_remove(name);
            }
        }
        command
            .env("PGPORT", self.port.to_string())
            .env("PSQLRC", "/dev/null")
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        command
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- postgres log ---\n{}", self.log());
        }
        if self.data().join("postmaster.pid").exists() {
            let _ = self
                .server_command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `value` with every Fly Postgres host in a URL — `@<cluster>.flycast:5432/` (unmanaged
/// clusters) and `@pgbouncer.<id>.flympg.net[:5432]/` / `@direct.<id>.flympg.net[:5432]/`
/// (Managed Postgres, fly-2026.md §1.9): the hosts in the `uri`/`DATABASE_URL` the builtins
/// provision — replaced by `@127.0.0.1:<port>/`, the real server the fake clusters stand for,
/// which a process on this host can reach. The one place that mapping is made (the fake's
/// release machines, the demo, the e2e tests).
pub fn reach_locally(value: &str, port: u16) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let end = rest.find('/').unwrap_or(rest.len());
        let host = rest[..end].split(':').next().unwrap_or_default();
        if host.ends_with(".flycast") || host.ends_with(".flympg.net") {
            out.push_str("127.0.0.1:");
            out.push_str(&port.to_string());
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// The folder holding `initdb`, `pg_ctl` and `postgres`: `$PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin`. Panics when there is none.
pub fn postgres_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(dir.join("initdb").is_file(), "PG_BIN={} holds no initdb", dir.display());
        return dir;
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
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
    bin
}

/// Runs a command that must succeed.
fn run(command: &mut Command, what: &str) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("cannot {what}: {e}"));
    assert!(
        output.status.success(),
        "cannot {what} ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[cfg(test)]
mod reach_tests {
    #[test]
    fn every_fly_postgres_host_is_pointed_at_the_local_server() {
        let local = |v: &str| super::reach_locally(v, 5433);
        assert_eq!(local("postgres://u:p@demo-pg.flycast:5432/db"), "postgres://u:p@127.0.0.1:5433/db");
        assert_eq!(local("postgresql://u:p@pgbouncer.abc.flympg.net/db"), "postgresql://u:p@127.0.0.1:5433/db");
        assert_eq!(local("postgresql://u:p@direct.abc.flympg.net:5432/db"), "postgresql://u:p@127.0.0.1:5433/db");
        assert_eq!(local("smtp://u:p@mail.example.com/x and a@b"), "smtp://u:p@mail.example.com/x and a@b");
    }
}
