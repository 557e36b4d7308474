//! Local `postgres` / `postgres-instance`: Postgres servers under `.score-fly/dev/pg/`.
//!
//! - A cluster folder `pg/<cluster>/` (`shared` for every `postgres` resource of the
//!   project; `<id>_<hash>` for each `postgres-instance`) holds `data/` (made once by
//!   `initdb`: `scram-sha-256` on TCP, `trust` only on the socket), `run/` (the private
//!   socket folder, mode 0700) and `postgres.log`. `data/score-fly.conf`, included from
//!   `postgresql.conf`, sets the port, `listen_addresses = '127.0.0.1'` and the socket
//!   folder on each start.
//! - `pg_ctl start -w` starts it on a free loopback port (the last run's when free; another
//!   one when the chosen port is taken by the time the server binds it). `pg_ctl` puts the
//!   server in a session of its own, away from the terminal's Ctrl-C.
//! - A `postmaster.pid` of a server still running (a `dev` that was killed) is stopped with
//!   `pg_ctl stop -m fast` first; one whose process is gone (or is not `postgres`) is
//!   removed, and the server replays its log on start.
//! - Per resource: a role and a database named `<id>_<hash>` (made unless they exist), and
//!   the role's password set (as a SCRAM verifier computed here, through psql's stdin: the
//!   password is on no command line) to the one the provisioner state holds, else a new
//!   random one.
//! - As root: `initdb`, `pg_ctl` and the server run as the `postgres` user (`runuser`), the
//!   cluster folder is given to it, and every folder above it must let it through.
//! - Binaries: [`LocalOptions::pg_bin`](super::LocalOptions::pg_bin), else
//!   `SCORE_FLY_PG_BIN`, else `PATH` (`pg_ctl`), else the newest
//!   `/usr/lib/postgresql/<version>/bin` (Debian, Ubuntu).

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::process::{self, User};
use super::{LocalEnv, LocalError, Running, ServerInfo};
use crate::builtin::Call;
use crate::provision::protocol::Response;

/// The variable naming the folder of the Postgres server binaries.
pub const BIN_VAR: &str = "SCORE_FLY_PG_BIN";
/// The superuser `initdb` makes (trusted over the private socket only).
pub const SUPERUSER: &str = "postgres";
/// The user the server runs as when score-fly runs as root.
pub const SERVER_USER: &str = "postgres";
/// The cluster folder of the `postgres` resources.
pub const SHARED: &str = "shared";
/// Where Debian and Ubuntu install the server binaries, one folder per major version.
const DEBIAN_DIR: &str = "/usr/lib/postgresql";
/// Longest Unix socket path (`sun_path` holds 108 bytes with the final NUL).
const MAX_SOCKET_PATH: usize = 107;
const INSTALL: &str = "`apt-get install postgresql` on Debian/Ubuntu, `brew install postgresql@16` on macOS";

/// A server this env started.
pub(super) struct Started {
    pub(super) data: PathBuf,
    pub(super) port: u16,
    pub(super) socket_dir: PathBuf,
    bin: PathBuf,
    user: Option<User>,
    pid: Option<u32>,
}

impl Started {
    /// `pg_ctl stop -m fast`: clients are disconnected, the data is written out.
    pub(super) fn stop(self) -> Result<(), LocalError> {
        let output = pg_ctl(&self.bin, self.user.as_ref(), &self.data)
            .args(["-m", "fast", "-w", "-t"])
            .arg(process::STOP_TIMEOUT.as_secs().to_string())
            .arg("stop")
            .output()
            .map_err(|source| LocalError::Spawn { program: "pg_ctl".into(), source })?;
        let gone =
            self.pid.is_none_or(|pid| process::wait_until(process::STOP_TIMEOUT, || !process::runs(pid, "postgres")));
        if output.status.success() && gone {
            return Ok(());
        }
        Err(LocalError::Stop {
            server: "postgres",
            pid: self.pid.unwrap_or(0),
            data: self.data,
            problem: format!("pg_ctl stop {}: {}", output.status, process::output_tail(&output).join(" / ")),
        })
    }
}

/// `postgres` (`shared`) / `postgres-instance` provision.
pub(super) fn provision(env: &LocalEnv, call: &Call<'_>, shared: bool) -> Result<Response, LocalError> {
    let uid = call.request.resource_uid.clone();
    let cluster = if shared { SHARED.to_owned() } else { super::resource_folder(call.request) };
    let preferred =
        call.request.state.get("port").and_then(serde_json::Value::as_u64).and_then(|p| u16::try_from(p).ok());
    let (port, socket_dir, bin) = {
        let _one_at_a_time = env.pg.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        ensure_server(env, call, &cluster, preferred)?
    };
    let name = crate::builtin::pg_name(call.request, 63);
    let password = match call.state_str("password") {
        Some(password) => password,
        None => crate::builtin::random_password()?,
    };
    call.cx.redactor.add([password.as_str()]);
    let salt = crate::builtin::random_bytes(16)?;
    let verifier = crate::builtin::postgres::scram_verifier(&password, &salt);
    let sql = format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN CREATE ROLE \"{name}\" LOGIN; END IF; END $$;\n\
         ALTER ROLE \"{name}\" WITH LOGIN PASSWORD '{verifier}';\n\
         SELECT 'CREATE DATABASE \"{name}\" OWNER \"{name}\"' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{name}')\\gexec\n"
    );
    psql(&bin, &socket_dir, port, &uid, &sql)?;
    call.say(&format!("database {name} and role {name} ready on 127.0.0.1:{port}"));
    let secret = crate::encoding::percent_encode(&password, b"-._~");
    let uri = format!("postgresql://{name}:{secret}@127.0.0.1:{port}/{name}");
    call.cx.redactor.add([uri.as_str()]);
    let values =
        serde_json::json!({ "host": "127.0.0.1", "port": port, "name": name, "database": name, "username": name });
    let secrets = serde_json::json!({ "password": password, "uri": uri, "direct_uri": uri });
    let state = serde_json::json!({ "local": true, "cluster": cluster, "port": port, "database": name, "username": name, "password": password });
    Ok(Response {
        state: state.as_object().cloned(),
        values: values.as_object().cloned().unwrap_or_default(),
        secrets: secrets.as_object().cloned().unwrap_or_default(),
        shared: None,
    })
}

/// The running server of `cluster` (this env's, else started now): port, socket folder and
/// binaries folder.
fn ensure_server(
    env: &LocalEnv,
    call: &Call<'_>,
    cluster: &str,
    preferred: Option<u16>,
) -> Result<(u16, PathBuf, PathBuf), LocalError> {
    let uid = call.request.resource_uid.clone();
    let bin = find_bin(env, &uid)?;
    let user = server_user(env, &uid)?;
    let dir = env.folder(&["pg", cluster])?;
    let data = dir.join("data");
    if let Some((port, socket_dir)) = env.postgres_running(&data, &uid) {
        return Ok((port, socket_dir, bin));
    }
    set_private(&dir)?;
    if let Some(user) = &user {
        user.own(&dir)?;
    }
    if !data.join("PG_VERSION").is_file() {
        initdb(call, &bin, user.as_ref(), &dir, &data)?;
    }
    stop_stale(call, &bin, user.as_ref(), &data)?;
    let socket_dir = socket_folder(&dir, &data)?;
    if let Some(user) = &user {
        user.own(&socket_dir)?;
    }
    let log = dir.join("postgres.log");
    let mut tried = Vec::new();
    for attempt in 0..process::PORT_ATTEMPTS {
        let port = process::free_port(&uid, preferred.filter(|_| attempt == 0), &data.to_string_lossy(), &tried)?;
        tried.push(port);
        let conf = format!(
            "# written by score-fly dev on each start\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nunix_socket_permissions = 0700\n",
            socket_dir.to_string_lossy().replace('\'', "''")
        );
        crate::fsutil::write_atomic(&data.join("score-fly.conf"), conf.as_bytes(), Some(0o644))?;
        let logged = std::fs::metadata(&log).map_or(0, |m| m.len());
        let output = pg_ctl(&bin, user.as_ref(), &data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t"])
            .arg(process::START_TIMEOUT.as_secs().to_string())
            .arg("start")
            .output()
            .map_err(|source| LocalError::Spawn { program: "pg_ctl".into(), source })?;
        if output.status.success() {
            let pid = process::read_pid(&data.join("postmaster.pid"));
            call.say(&format!("PostgreSQL started on 127.0.0.1:{port} (data {})", shown(env, &dir)));
            let info = ServerInfo {
                uid: uid.clone(),
                serves: vec![uid.clone()],
                kind: "postgres",
                address: format!("127.0.0.1:{port}"),
                data: dir.clone(),
                pid,
            };
            let started =
                Started { data: data.clone(), port, socket_dir: socket_dir.clone(), bin: bin.clone(), user, pid };
            env.add(info, Running::Postgres(started));
            return Ok((port, socket_dir, bin));
        }
        let new_log = log_since(&log, logged);
        if new_log.contains("Address already in use") || new_log.contains("could not create lock file") {
            call.say(&format!("port {port} was taken; trying another"));
            continue;
        }
        let mut tail = process::output_tail(&output);
        tail.extend(process::log_tail(&log));
        return Err(LocalError::Command { uid, what: "pg_ctl start".into(), how: output.status.to_string(), tail });
    }
    Err(LocalError::NoPort { uid, first: process::PORTS.start, last: process::PORTS.end })
}

/// The binaries folder (holding `initdb`, `pg_ctl`, `postgres`, `psql`).
fn find_bin(env: &LocalEnv, uid: &str) -> Result<PathBuf, LocalError> {
    let has_all = |dir: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|p| process::is_executable(&dir.join(p)));
    let missing = |looked: String| LocalError::MissingBinary {
        uid: uid.to_owned(),
        program: "the PostgreSQL server (initdb, pg_ctl, postgres)",
        looked,
        install: INSTALL,
        setting: BIN_VAR,
        what: "the folder holding them",
    };
    if let Some(dir) = &env.options.pg_bin {
        return if has_all(dir) { Ok(dir.clone()) } else { Err(missing(format!("{} (given)", dir.display()))) };
    }
    if let Some(dir) = env.options.var(BIN_VAR).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return if has_all(&dir) { Ok(dir) } else { Err(missing(format!("{} ({BIN_VAR})", dir.display()))) };
    }
    if let Some(dir) = process::on_path("pg_ctl").and_then(|p| p.parent().map(Path::to_path_buf))
        && has_all(&dir)
    {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .filter(|(_, dir)| has_all(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).ok_or_else(|| missing(format!("PATH (pg_ctl), {DEBIAN_DIR}/<version>/bin")))
}

/// The user the server runs as: none unless we are root, then [`SERVER_USER`], which must
/// exist.
fn server_user(env: &LocalEnv, uid: &str) -> Result<Option<User>, LocalError> {
    if !process::is_root() {
        return Ok(None);
    }
    let Some(user) = User::lookup(SERVER_USER) else {
        return Err(LocalError::Root {
            uid: uid.to_owned(),
            server: "PostgreSQL",
            problem: format!(
                "PostgreSQL refuses to run as root and there is no `{SERVER_USER}` user to run it as; create one (`useradd --system {SERVER_USER}`; the Debian package makes it) or run score-fly as a normal user"
            ),
        });
    };
    let dev = env.dev_dir();
    if let Some(blocked) = user.blocked_at(&dev) {
        return Err(LocalError::Root {
            uid: uid.to_owned(),
            server: "PostgreSQL",
            problem: format!(
                "the server runs as the `{SERVER_USER}` user, which cannot enter {} (on the way to {}); let it through (`chmod o+x {}`) or run score-fly as a normal user",
                blocked.display(),
                dev.display(),
                blocked.display()
            ),
        });
    }
    Ok(Some(user))
}

fn set_private(dir: &Path) -> Result<(), LocalError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| LocalError::io("set the mode of", dir, e))
}

/// `initdb` into `data` (a half-made folder from an interrupted run is made again).
fn initdb(call: &Call<'_>, bin: &Path, user: Option<&User>, dir: &Path, data: &Path) -> Result<(), LocalError> {
    if data.exists() {
        std::fs::remove_dir_all(data).map_err(|e| LocalError::io("remove the unfinished cluster", data, e))?;
    }
    call.say(&format!("creating a PostgreSQL cluster (initdb) in {}", data.display()));
    let output = server_command(bin, user, "initdb", dir)
        .arg(format!("--username={SUPERUSER}"))
        .args(["--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions"])
        .arg("--pgdata")
        .arg(data)
        .output()
        .map_err(|source| LocalError::Spawn { program: "initdb".into(), source })?;
    if !output.status.success() {
        return Err(LocalError::Command {
            uid: call.request.resource_uid.clone(),
            what: "initdb".into(),
            how: output.status.to_string(),
            tail: process::output_tail(&output),
        });
    }
    let conf = data.join("postgresql.conf");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&conf)
        .and_then(|mut f| {
            f.write_all(b"\n# score-fly dev: port, address and socket folder\ninclude_if_exists = 'score-fly.conf'\n")
        })
        .map_err(|e| LocalError::io("append to", &conf, e))
}

/// A `postmaster.pid` left behind: its server still running (a `dev` that was killed) is
/// stopped; one naming a process that is gone or is not Postgres is removed.
fn stop_stale(call: &Call<'_>, bin: &Path, user: Option<&User>, data: &Path) -> Result<(), LocalError> {
    let pid_file = data.join("postmaster.pid");
    let Some(pid) = process::read_pid(&pid_file) else { return Ok(()) };
    if !process::runs(pid, "postgres") {
        call.say(&format!("removing the pid file of a PostgreSQL that no longer runs (pid {pid})"));
        return std::fs::remove_file(&pid_file).map_err(|e| LocalError::io("remove", &pid_file, e));
    }
    call.say(&format!("stopping the PostgreSQL a previous dev session left running (pid {pid})"));
    let output = pg_ctl(bin, user, data)
        .args(["-m", "fast", "-w", "-t"])
        .arg(process::STOP_TIMEOUT.as_secs().to_string())
        .arg("stop")
        .output()
        .map_err(|source| LocalError::Spawn { program: "pg_ctl".into(), source })?;
    if output.status.success() || process::wait_until(process::STOP_TIMEOUT, || !process::runs(pid, "postgres")) {
        return Ok(());
    }
    Err(LocalError::Stop {
        server: "postgres",
        pid,
        data: data.to_path_buf(),
        problem: format!("pg_ctl stop {}: {}", output.status, process::output_tail(&output).join(" / ")),
    })
}

/// The private socket folder: `run/` in the cluster folder, or, when that path is too long
/// for a socket, a folder of the system's temporary folder named after the cluster.
fn socket_folder(dir: &Path, data: &Path) -> Result<PathBuf, LocalError> {
    use std::os::unix::fs::DirBuilderExt as _;
    let local = dir.join("run");
    let longest = local.join(".s.PGSQL.65535.lock");
    let folder = if longest.as_os_str().len() <= MAX_SOCKET_PATH {
        local
    } else {
        std::env::temp_dir().join(format!("score-fly-pg-{}", crate::builtin::short_hash(&data.to_string_lossy())))
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&folder) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let meta = std::fs::symlink_metadata(&folder).map_err(|e| LocalError::io("inspect", &folder, e))?;
            if !meta.is_dir() {
                return Err(LocalError::Link { path: folder });
            }
            set_private(&folder)?;
        }
        Err(e) => return Err(LocalError::io("create", &folder, e)),
    }
    Ok(folder)
}

/// `pg_ctl -D data`.
fn pg_ctl(bin: &Path, user: Option<&User>, data: &Path) -> Command {
    let dir = data.parent().unwrap_or(data);
    let mut command = server_command(bin, user, "pg_ctl", dir);
    command.arg("-D").arg(data);
    command
}

/// A server binary, run as `user` when given, in `dir` (the user may not be able to enter
/// the current folder), in a process group of its own (a Ctrl-C to the terminal does not
/// stop `pg_ctl` half-way), with no `PG*` variable of the environment.
fn server_command(bin: &Path, user: Option<&User>, program: &str, dir: &Path) -> Command {
    let program = bin.join(program);
    let mut command = match user {
        Some(user) => user.command(&program),
        None => Command::new(program),
    };
    without_pg_vars(&mut command);
    command.current_dir(dir).stdin(Stdio::null()).process_group(0);
    command
}

fn without_pg_vars(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PG") {
            command.env_remove(name);
        }
    }
}

/// Runs `sql` (on psql's stdin) as the superuser over the socket.
fn psql(bin: &Path, socket_dir: &Path, port: u16, uid: &str, sql: &str) -> Result<(), LocalError> {
    let local = bin.join("psql");
    let program = if process::is_executable(&local) { local } else { PathBuf::from("psql") };
    let mut command = Command::new(&program);
    without_pg_vars(&mut command);
    let mut child = command
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", SUPERUSER, "-d", "postgres", "-p"])
        .arg(port.to_string())
        .arg("-h")
        .arg(socket_dir)
        .env("PSQLRC", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| LocalError::Spawn { program: program.display().to_string(), source })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A failure to write shows in psql's status.
        let _ = stdin.write_all(sql.as_bytes());
    }
    let output = child.wait_with_output().map_err(|source| LocalError::Spawn { program: "psql".into(), source })?;
    if output.status.success() {
        return Ok(());
    }
    Err(LocalError::Command {
        uid: uid.to_owned(),
        what: "creating the database and role (psql)".into(),
        how: output.status.to_string(),
        tail: process::output_tail(&output),
    })
}

fn log_since(log: &Path, offset: u64) -> String {
    let bytes = std::fs::read(log).unwrap_or_default();
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

fn shown(env: &LocalEnv, path: &Path) -> String {
    crate::fsutil::relative_path(&env.root, path)
}
