//! Local `redis`: a `redis-server` per resource under `.score-fly/dev/redis/<id>_<hash>/`.
//!
//! - Its config file `redis.conf` (mode 0600, written on each start) holds the port, `bind
//!   127.0.0.1`, `requirepass` (the password is never on a command line), the folder and
//!   persistence (`appendonly yes`, and an RDB snapshot saved on shutdown); the data stays
//!   in that folder between runs.
//! - The password is the provisioner state's, else a new random one. User `default`.
//! - The server runs in a process group of its own (away from the terminal's Ctrl-C); its
//!   pid goes to `redis.pid`, so a server a killed `dev` left running is stopped (SIGTERM:
//!   it saves) before the folder is used again. Stopping sends SIGTERM and waits.
//! - Binary: [`LocalOptions::redis_bin`](super::LocalOptions::redis_bin), else
//!   `SCORE_FLY_REDIS_BIN`, else `redis-server` on `PATH`.

use std::io::{Read as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::process;
use super::{LocalEnv, LocalError, Running, ServerInfo};
use crate::builtin::Call;
use crate::provision::protocol::Response;

/// The variable naming the `redis-server` binary.
pub const BIN_VAR: &str = "SCORE_FLY_REDIS_BIN";
/// The pid file in a server's folder.
pub const PID_FILE: &str = "redis.pid";
/// The user clients log in as.
pub const USER: &str = "default";
const INSTALL: &str = "`apt-get install redis-server` on Debian/Ubuntu, `brew install redis` on macOS";

/// A server this env started.
pub(super) struct Started {
    child: Child,
    dir: PathBuf,
}

impl Started {
    /// SIGTERM (Redis saves its data and exits), then waits; killed after
    /// [`process::STOP_TIMEOUT`].
    pub(super) fn stop(mut self) -> Result<(), LocalError> {
        let pid = self.child.id();
        process::signal(pid, rustix::process::Signal::TERM);
        let exited = process::wait_until(process::STOP_TIMEOUT, || matches!(self.child.try_wait(), Ok(Some(_))));
        let _ = std::fs::remove_file(self.dir.join(PID_FILE));
        if exited {
            return Ok(());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(LocalError::Stop {
            server: "redis-server",
            pid,
            data: self.dir,
            problem: format!("it did not exit within {} s of SIGTERM and was killed", process::STOP_TIMEOUT.as_secs()),
        })
    }
}

/// `redis` provision.
pub(super) fn provision(env: &LocalEnv, call: &Call<'_>) -> Result<Response, LocalError> {
    let uid = call.request.resource_uid.clone();
    let bin = find_bin(env, &uid)?;
    let dir = env.folder(&["redis", &super::resource_folder(call.request)])?;
    let password = match call.state_str("password") {
        Some(password) => password,
        None => crate::builtin::random_password()?,
    };
    call.cx.redactor.add([password.as_str()]);
    stop_stale(call, &dir);
    let preferred =
        call.request.state.get("port").and_then(serde_json::Value::as_u64).and_then(|p| u16::try_from(p).ok());
    let log = dir.join("redis.log");
    let mut tried = Vec::new();
    let mut started = None;
    for attempt in 0..process::PORT_ATTEMPTS {
        let port = process::free_port(&uid, preferred.filter(|_| attempt == 0), &dir.to_string_lossy(), &tried)?;
        tried.push(port);
        crate::fsutil::write_atomic(&dir.join("redis.conf"), config(&dir, port, &password).as_bytes(), Some(0o600))?;
        let logged = std::fs::metadata(&log).map_or(0, |m| m.len());
        let mut child = Command::new(&bin)
            .arg(dir.join("redis.conf"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|source| LocalError::Spawn { program: bin.display().to_string(), source })?;
        crate::fsutil::write_atomic(&dir.join(PID_FILE), format!("{}\n", child.id()).as_bytes(), None)?;
        let ready = process::wait_until(process::START_TIMEOUT, || {
            ping(port, &password) || matches!(child.try_wait(), Ok(Some(_)))
        });
        if ready && matches!(child.try_wait(), Ok(None)) {
            started = Some((port, child));
            break;
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_file(dir.join(PID_FILE));
        let bytes = std::fs::read(&log).unwrap_or_default();
        let new_log =
            String::from_utf8_lossy(&bytes[usize::try_from(logged).unwrap_or(0).min(bytes.len())..]).into_owned();
        if new_log.contains("Address already in use") {
            call.say(&format!("port {port} was taken; trying another"));
            continue;
        }
        return Err(LocalError::NotReady {
            uid,
            server: "redis-server",
            port,
            seconds: process::START_TIMEOUT.as_secs(),
            tail: process::log_tail(&log),
        });
    }
    let Some((port, child)) = started else {
        return Err(LocalError::NoPort { uid, first: process::PORTS.start, last: process::PORTS.end });
    };
    call.say(&format!(
        "redis-server started on 127.0.0.1:{port} (data {})",
        crate::fsutil::relative_path(&env.root, &dir)
    ));
    let info = ServerInfo {
        uid: uid.clone(),
        serves: vec![uid],
        kind: "redis",
        address: format!("127.0.0.1:{port}"),
        data: dir.clone(),
        pid: Some(child.id()),
    };
    env.add(info, Running::Redis(Started { child, dir }));
    let url = format!("redis://{USER}:{}@127.0.0.1:{port}", crate::encoding::percent_encode(&password, b"-._~"));
    call.cx.redactor.add([url.as_str()]);
    let values = serde_json::json!({ "host": "127.0.0.1", "port": port, "username": USER });
    let secrets = serde_json::json!({ "password": password, "url": url });
    let state = serde_json::json!({ "local": true, "port": port, "password": password });
    Ok(Response {
        state: state.as_object().cloned(),
        values: values.as_object().cloned().unwrap_or_default(),
        secrets: secrets.as_object().cloned().unwrap_or_default(),
        shared: None,
    })
}

/// The server's config file.
fn config(dir: &Path, port: u16, password: &str) -> String {
    let quoted = |path: &Path| format!("\"{}\"", path.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\""));
    format!(
        "# written by score-fly dev on each start (holds the password: mode 0600)\n\
         bind 127.0.0.1\nport {port}\nprotected-mode yes\ndaemonize no\n\
         dir {}\nlogfile {}\n\
         requirepass {password}\n\
         appendonly yes\nsave 60 1\n",
        quoted(dir),
        quoted(&dir.join("redis.log"))
    )
}

/// Whether a Redis on `port` answers `AUTH` + `PING`.
fn ping(port: u16, password: &str) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let command = format!("AUTH {password}\r\nPING\r\n");
    if stream.write_all(command.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let mut buffer = [0; 64];
    while !answer.windows(7).any(|w| w == b"+PONG\r\n") && answer.len() < 256 {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return false,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    answer.starts_with(b"+OK\r\n+PONG\r\n")
}

/// A `redis-server` a killed `dev` left running in this folder: stopped (SIGTERM, it saves).
fn stop_stale(call: &Call<'_>, dir: &Path) {
    let pid_file = dir.join(PID_FILE);
    let Some(pid) = process::read_pid(&pid_file) else { return };
    if process::runs(pid, "redis-server") {
        call.say(&format!("stopping the redis-server a previous dev session left running (pid {pid})"));
        process::signal(pid, rustix::process::Signal::TERM);
        if !process::wait_until(process::STOP_TIMEOUT, || !process::runs(pid, "redis-server")) {
            process::signal(pid, rustix::process::Signal::KILL);
        }
    }
    let _ = std::fs::remove_file(pid_file);
}

fn find_bin(env: &LocalEnv, uid: &str) -> Result<PathBuf, LocalError> {
    let missing = |looked: String| LocalError::MissingBinary {
        uid: uid.to_owned(),
        program: "redis-server",
        looked,
        install: INSTALL,
        setting: BIN_VAR,
        what: "the redis-server binary",
    };
    if let Some(bin) = &env.options.redis_bin {
        return if process::is_executable(bin) {
            Ok(bin.clone())
        } else {
            Err(missing(format!("{} (given)", bin.display())))
        };
    }
    if let Some(bin) = env.options.var(BIN_VAR).filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        return if process::is_executable(&bin) {
            Ok(bin)
        } else {
            Err(missing(format!("{} ({BIN_VAR})", bin.display())))
        };
    }
    process::on_path("redis-server").ok_or_else(|| missing("PATH".to_owned()))
}
