//! Local `s3`: an S3-compatible server embedded in this process (the `s3s` crate's
//! protocol layer with `SigV4` authentication, and `s3s-fs`, which keeps buckets as folders
//! and objects as files), on a loopback port, one per resource, with one bucket.
//!
//! - Folder: `.score-fly/dev/s3/<id>_<hash>/`; the objects are in `data/<bucket>/`.
//! - Bucket: `<id>-<hash>` (lowercase letters, digits, `-`), made when missing.
//! - Credentials: an access key id and a secret key kept in the provisioner state (new ones
//!   when it has none); only requests signed with them (`SigV4`) are served.
//! - Endpoint `http://127.0.0.1:<port>`, path-style requests (`/<bucket>/<key>`; set your
//!   client's "force path style"), region `us-east-1`.
//! - The server runs on a thread of its own (a single-threaded tokio runtime); stopping it
//!   stops accepting, lets open requests finish (at most [`process::STOP_TIMEOUT`]) and
//!   joins the thread. `server.pid` (this process's pid) tells `dev --reset` it runs.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::process;
use super::{LocalEnv, LocalError, Running, ServerInfo};
use crate::builtin::Call;
use crate::provision::protocol::Response;

/// The pid file in a server's folder.
pub const PID_FILE: &str = "server.pid";
/// The region the outputs name (the server accepts any in a signature).
pub const REGION: &str = "us-east-1";

/// A server this env started.
pub(super) struct Started {
    port: u16,
    dir: PathBuf,
    stopping: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Result<(), ServeError>>,
}

impl Started {
    /// Stops accepting (a connection wakes the accept loop), waits for open requests, joins.
    pub(super) fn stop(self) -> Result<(), LocalError> {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        let _ = std::fs::remove_file(self.dir.join(PID_FILE));
        let problem = match self.thread.join() {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(problem)) => problem.to_string(),
            Err(_) => "its thread panicked".to_owned(),
        };
        Err(LocalError::Stop { server: "s3", pid: std::process::id(), data: self.dir, problem })
    }
}

/// `s3` provision.
pub(super) fn provision(env: &LocalEnv, call: &Call<'_>) -> Result<Response, LocalError> {
    let uid = call.request.resource_uid.clone();
    let s3_error = |problem: String| LocalError::S3 { uid: uid.clone(), problem };
    let dir = env.folder(&["s3", &super::resource_folder(call.request)])?;
    let data = env.folder(&["s3", &super::resource_folder(call.request), "data"])?;
    let bucket = call
        .state_str("bucket")
        .unwrap_or_else(|| crate::builtin::fly_name("", "s3", call.request, 63).trim_start_matches("s3-").to_owned());
    super::make_dir(&data.join(&bucket))?;
    let access_key = match call.state_str("access_key_id") {
        Some(key) => key,
        None => format!("SF{}", crate::builtin::random_password()?.to_ascii_uppercase().get(..18).unwrap_or_default()),
    };
    let secret_key = match call.state_str("secret_key") {
        Some(key) => key,
        None => crate::builtin::random_password()?,
    };
    call.cx.redactor.add([secret_key.as_str()]);
    let preferred =
        call.request.state.get("port").and_then(serde_json::Value::as_u64).and_then(|p| u16::try_from(p).ok());
    let mut tried = Vec::new();
    let listener = loop {
        let port = process::free_port(&uid, preferred.filter(|_| tried.is_empty()), &dir.to_string_lossy(), &tried)?;
        tried.push(port);
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => break listener,
            Err(_) if tried.len() < process::PORT_ATTEMPTS => {
                call.say(&format!("port {port} was taken; trying another"));
            }
            Err(e) => return Err(LocalError::io("listen on a loopback port in", &dir, e)),
        }
    };
    let port = listener.local_addr().map_err(|e| LocalError::io("listen in", &dir, e))?.port();
    listener.set_nonblocking(true).map_err(|e| LocalError::io("listen in", &dir, e))?;
    let filesystem = s3s_fs::FileSystem::new(&data).map_err(|e| s3_error(format!("open {}: {e:?}", data.display())))?;
    let mut builder = s3s::service::S3ServiceBuilder::new(filesystem);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(access_key.clone(), secret_key.clone()));
    let service = builder.build();
    let stopping = Arc::new(AtomicBool::new(false));
    let thread = {
        let stopping = Arc::clone(&stopping);
        std::thread::Builder::new()
            .name(format!("s3 {port}"))
            .spawn(move || serve(listener, service, &stopping))
            .map_err(|e| s3_error(format!("start its thread: {e}")))?
    };
    crate::fsutil::write_atomic(&dir.join(PID_FILE), format!("{}\n", std::process::id()).as_bytes(), None)?;
    call.say(&format!(
        "S3 server started on 127.0.0.1:{port}, bucket {bucket} (data {})",
        crate::fsutil::relative_path(&env.root, &dir)
    ));
    let info = ServerInfo {
        uid: uid.clone(),
        serves: vec![uid.clone()],
        kind: "s3",
        address: format!("127.0.0.1:{port}"),
        data: dir.clone(),
        pid: None,
    };
    env.add(info, Running::S3(Started { port, dir, stopping, thread }));
    let endpoint = format!("http://127.0.0.1:{port}");
    let values = serde_json::json!({ "bucket": bucket, "endpoint": endpoint, "region": REGION });
    let secrets = serde_json::json!({
        "access_key_id": access_key, "secret_key": secret_key,
        "aws_access_key_id": access_key, "aws_secret_key": secret_key,
    });
    let state = serde_json::json!({
        "local": true, "port": port, "bucket": bucket, "access_key_id": access_key, "secret_key": secret_key,
    });
    Ok(Response {
        state: state.as_object().cloned(),
        values: values.as_object().cloned().unwrap_or_default(),
        secrets: secrets.as_object().cloned().unwrap_or_default(),
        shared: None,
    })
}

/// Why the server's thread ended in error.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    /// Its tokio runtime could not be made.
    #[error("start its runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The listener could not be handed to tokio.
    #[error("listen: {0}")]
    Listen(#[source] std::io::Error),
    /// Requests outlived the stop timeout.
    #[error("requests were still open after {} s", process::STOP_TIMEOUT.as_secs())]
    StillOpen,
}

/// The server's thread: accepts until `stopping`, then lets open connections finish.
fn serve(listener: TcpListener, service: s3s::service::S3Service, stopping: &AtomicBool) -> Result<(), ServeError> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(ServeError::Listen)?;
        let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        loop {
            let accepted = listener.accept().await;
            if stopping.load(Ordering::SeqCst) {
                break;
            }
            let Ok((socket, _)) = accepted else { continue };
            let connection = http.serve_connection(TokioIo::new(socket), service.clone());
            let connection = graceful.watch(connection.into_owned());
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
        drop(listener);
        match tokio::time::timeout(process::STOP_TIMEOUT, graceful.shutdown()).await {
            Ok(()) => Ok(()),
            Err(_) => Err(ServeError::StillOpen),
        }
    })
}
