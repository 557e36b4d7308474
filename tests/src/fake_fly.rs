//! A fake Fly.io backend: the Machines API and the services flyctl talks to, in memory,
//! served over loopback HTTP for the fake `flyctl` (`src/bin/fake-flyctl.rs`) and for
//! score-fly's own HTTP calls.
//!
//! [`FakeFly::start`] binds `127.0.0.1:<random port>` and serves every connection on its own
//! thread; all state (apps, machines, secrets, releases, Postgres clusters, Redis databases,
//! buckets, volumes, IP addresses, a log of every request) sits behind one mutex. The
//! server stops when the [`FakeFly`] is dropped.
//!
//! # Surfaces
//!
//! - **Machines API** under `/v1` (shapes of `../shared/fly/machines-api-openapi.json` and
//!   `../shared/reference/fly.md`): set `FLY_FLAPS_BASE_URL` to [`FakeFly::url`] and call
//!   `{url}/v1/apps/{app}`. Every request needs `Authorization: Bearer <token>` or
//!   `FlyV1 <token>` with the configured token, else `401 {"error":"unauthorized"}`. Errors
//!   are `{"error": "..."}` with a status above 299. Only the routes score-fly calls
//!   (`score_fly_core::flyio::api`) exist; any other is `404` (apps are created, secrets set,
//!   volumes and IPs made through the fake flyctl, as score-fly does). Routes:
//!   - `GET /v1/apps/{app}` → `{"id","name","organization":{"name","slug"},"status"}`
//!     (`status` is `pending` until the first deploy, then `deployed`); `404 {"error":"app not
//!     found"}` for a free name; `403` for a name taken by another organisation.
//!   - `DELETE /v1/apps/{app}` → `202`, empty body (its volumes, and its Postgres cluster
//!     record if it is one, go with it).
//!   - `GET /v1/apps/{app}/machines` → `[{"id","name","state":"started","region","config",
//!     "private_ip","instance_id","image_ref","created_at","updated_at"}]`.
//!   - `POST /v1/apps/{app}/machines/{id}/exec` `{"command":[...]}` or `{"cmd":"..."}`, with
//!     `"timeout"` (seconds, default 30) → `{"stdout","stderr","exit_code"}` (plus
//!     `"exit_signal"` when killed by one). Only machines of a Postgres cluster app run
//!     anything: the command runs **for real on this host** against the Postgres given in
//!     [`FakeFlyOptions::postgres`], with `PGHOST`/`PGPORT`/`PGUSER` set (see
//!     [`PostgresTarget`]). `argv[0]` must be `psql` (any path ending in `/psql`), or the
//!     command must be `sh -c SCRIPT` / `bash -c SCRIPT`; anything else, or a machine of an
//!     ordinary app, is `400`. A command outliving its timeout is killed: `408`.
//!   - `GET /v1/apps/{app}/volumes` → the app's volumes (Machines API volume JSON).
//! - **flyctl RPC** under `/fake/<command words joined by />` (e.g. `POST /fake/apps/create`):
//!   the fake flyctl sends each command's parsed arguments as JSON, the server owns every
//!   state-dependent rule (names taken, apps missing, secrets referenced by `[[files]]`,
//!   volumes referenced by `[[mounts]]`) and answers JSON or `{"error": "..."}`, which
//!   flyctl prints as `Error: ...`.
//!
//! # Fault injection
//!
//! [`FakeFly::fail_next`] makes the next matching request fail once with a given status
//! and message. The key is a flyctl command (`"deploy"`, `"apps create"`, `"secrets
//! import"`, `"postgres create"`...), an API route with its method (`"GET /v1/apps/demo"`), or
//! a path alone (`"/v1/apps/demo"`, any method).
//!
//! # Example
//!
//! ```no_run
//! use score_fly_tests::fake_fly::{FakeFly, FakeFlyOptions};
//!
//! let fake = FakeFly::start(FakeFlyOptions { orgs: vec!["personal".into(), "acme".into()], ..Default::default() });
//! // Run the product (or `fake-flyctl`) with these variables, then inspect:
//! let _env = fake.env();
//! assert!(fake.app("demo").is_none());
//! ```

mod exec;
pub mod http;
mod mpg;
mod routes;
mod state;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use serde_json::Value;

pub use self::mpg::{MPG_REGIONS, MpgCluster, MpgUser};
use self::state::State;

/// The token [`FakeFlyOptions::default`] requires.
pub const DEFAULT_TOKEN: &str = "fo1_fake-fly-token-5f3a9c";
/// A macaroon token (`fm2_`): what `fly mpg` requires (fly-2026.md §1.2); a world that
/// provisions Managed Postgres sets it as [`FakeFlyOptions::token`].
pub const MACAROON_TOKEN: &str = "fm2_fake-fly-macaroon-8d1e4b";

/// How to start a [`FakeFly`].
#[derive(Debug, Clone)]
pub struct FakeFlyOptions {
    /// The API token every request must carry (`Bearer <token>` or `FlyV1 <token>`).
    pub token: String,
    /// The organisation slugs that exist (the token can use all of them).
    pub orgs: Vec<String>,
    /// App names that belong to another organisation: `GET /v1/apps/{name}` is `403`,
    /// creating them fails with "Name has already been taken".
    pub taken_names: Vec<String>,
    /// The real Postgres that machines of Postgres clusters run `exec` commands against.
    pub postgres: Option<PostgresTarget>,
}

impl Default for FakeFlyOptions {
    fn default() -> Self {
        Self {
            token: DEFAULT_TOKEN.to_owned(),
            orgs: vec!["personal".to_owned()],
            taken_names: Vec::new(),
            postgres: None,
        }
    }
}

/// Where `exec` on a Postgres machine runs its commands: a real Postgres server on this
/// host (see [`crate::postgres::PgServer::target`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresTarget {
    /// The folder holding the server's Unix socket (`PGHOST`).
    pub socket_dir: PathBuf,
    /// The server's port (`PGPORT`).
    pub port: u16,
    /// The superuser the commands connect as (`PGUSER`), over the socket without a password.
    pub superuser: String,
    /// A folder put first on `PATH` (the server's `bin`, so `psql` is the matching version).
    pub bin_dir: Option<PathBuf>,
}

/// What kind of app an [`App`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    /// An ordinary app (`apps create`, `POST /v1/apps`).
    App,
    /// The app of a Postgres cluster (`postgres create`).
    Postgres,
}

/// An app and everything it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// The app id (random).
    pub id: String,
    /// The app name.
    pub name: String,
    /// The organisation slug.
    pub org: String,
    /// `pending` until the first deploy, then `deployed`.
    pub status: String,
    /// The network given at creation, if any.
    pub network: Option<String>,
    /// Ordinary app or Postgres cluster.
    pub kind: AppKind,
    /// Its machines.
    pub machines: Vec<Machine>,
    /// Its secrets by name.
    pub secrets: BTreeMap<String, Secret>,
    /// Its releases, oldest first (version 1 first).
    pub releases: Vec<Release>,
    /// Its IP addresses.
    pub ips: Vec<IpAddress>,
    /// Its log buffer: flyctl's `LogEntry` JSON objects (fly-2026.md §5.2), oldest first.
    pub logs: Vec<Value>,
}

impl App {
    /// Whether some secret was set or changed since the last deploy.
    pub fn has_staged_secrets(&self) -> bool {
        self.secrets.values().any(|secret| !secret.deployed)
    }

    /// The latest release.
    pub fn current_release(&self) -> Option<&Release> {
        self.releases.last()
    }
}

/// A secret of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The value exactly as received.
    pub value: String,
    /// The digest flyctl shows: the first 16 hex digits of the value's SHA-256.
    pub digest: String,
    /// False while staged (set but not deployed yet).
    pub deployed: bool,
    /// When it was set (RFC 3339).
    pub created_at: String,
}

/// How the image of a release was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// An existing image (`--image` or `[build] image`).
    Image,
    /// Built by Fly's remote builder from a Dockerfile.
    Remote,
    /// Built locally (`--local-only`) from a Dockerfile.
    Local,
}

/// One `fly deploy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// 1, 2, ...
    pub version: u32,
    /// The fly.toml text deployed (after `--strategy`/`--primary-region` were applied).
    pub config: String,
    /// The image reference deployed.
    pub image: String,
    /// Its manifest digest: the registry's for an image on a loopback registry (the fake
    /// flyctl looks it up), else a stand-in (`sha256:` and the SHA-256 of the reference).
    pub digest: String,
    /// Fly's release id (26 random characters).
    pub id: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// How the image was obtained.
    pub build: Build,
    /// The Dockerfile built (remote or local builds).
    pub dockerfile: Option<String>,
    /// `--ha` (default true).
    pub ha: bool,
    /// The strategy used (`--strategy`, else `[deploy] strategy`), if any.
    pub strategy: Option<String>,
    /// The primary region used.
    pub primary_region: String,
    /// `--detach`.
    pub detach: bool,
    /// `--wait-timeout`.
    pub wait_timeout: Option<String>,
    /// `--build-arg K=V` values.
    pub build_args: Vec<String>,
    /// `--env K=V` values.
    pub env: Vec<String>,
}

/// A machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// 14 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `started`.
    pub state: String,
    /// Its region.
    pub region: String,
    /// Its process group (`app` by default).
    pub process_group: String,
    /// Its private IPv6 address.
    pub private_ip: String,
    /// Its configuration (Machines API `fly.MachineConfig` shape: `image`, `env`,
    /// `metadata`, `guest`, `services`, `mounts`, `files`).
    pub config: Value,
}

/// A Postgres cluster made by `fly postgres create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresCluster {
    /// Its app name.
    pub name: String,
    /// The organisation slug.
    pub org: String,
    /// Its region.
    pub region: String,
    /// The `postgres` user's password (`--password`, else generated).
    pub password: String,
    /// `--vm-size`.
    pub vm_size: String,
    /// `--volume-size` (GB).
    pub volume_size_gb: u32,
    /// `--initial-cluster-size`.
    pub initial_cluster_size: u32,
    /// `--autostart`.
    pub autostart: bool,
    /// Its Flycast address.
    pub flycast_ip: String,
}

/// An Upstash Redis database made by `fly redis create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisDb {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The organisation slug.
    pub org: String,
    /// Its primary region.
    pub region: String,
    /// Its replica regions.
    pub replica_regions: Vec<String>,
    /// Its plan (`--plan`, else `Free`).
    pub plan: String,
    /// Whether eviction is enabled.
    pub eviction: bool,
    /// The `default` user's password.
    pub password: String,
}

impl RedisDb {
    /// `redis://default:<password>@fly-<name>.upstash.io:6379`.
    pub fn url(&self) -> String {
        format!("redis://default:{}@fly-{}.upstash.io:6379", self.password, self.name)
    }
}

/// A Tigris bucket made by `fly storage create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// The bucket name.
    pub name: String,
    /// The organisation slug.
    pub org: String,
    /// `--public`.
    pub public: bool,
    /// `AWS_ACCESS_KEY_ID` (`tid_...`).
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY` (`tsec_...`).
    pub secret_access_key: String,
    /// The app whose secrets received the credentials (`-a`), if any.
    pub app: Option<String>,
}

/// A volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// `vol_` and 16 characters.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The app it belongs to.
    pub app: String,
    /// Its region.
    pub region: String,
    /// Its zone (4 hex digits).
    pub zone: String,
    /// Its size in GB.
    pub size_gb: u32,
    /// The machine it is attached to, if any.
    pub attached_machine_id: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// An IP address of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAddress {
    /// The address.
    pub address: String,
    /// `v4`, `shared_v4`, `v6` or `private_v6`.
    pub kind: String,
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    /// The method.
    pub method: String,
    /// The path (without the query string).
    pub path: String,
    /// The query string (without `?`).
    pub query: String,
    /// Whether it carried the right token.
    pub authorized: bool,
    /// The `Authorization` scheme used (`Bearer`, `FlyV1`), if any; never the token.
    pub auth_scheme: Option<String>,
    /// The flyctl command, for `/fake/...` requests (`"apps create"`).
    pub command: Option<String>,
    /// The JSON body, if any (`Value::Null` when absent; a string when not JSON).
    pub body: Value,
    /// The status answered.
    pub status: u16,
    /// The body answered.
    pub response: String,
}

/// A failure to inject once (see [`FakeFly::fail_next`]).
#[derive(Debug, Clone)]
struct Fault {
    key: String,
    status: u16,
    message: String,
}

/// What the connection threads share.
struct Shared {
    state: Mutex<State>,
    options: FakeFlyOptions,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running fake Fly backend; stops when dropped.
pub struct FakeFly {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    log_dir: tempfile::TempDir,
}

impl FakeFly {
    /// Starts a server on `127.0.0.1:<random port>`.
    pub fn start(options: FakeFlyOptions) -> FakeFly {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind the fake Fly server to 127.0.0.1");
        let addr = listener.local_addr().expect("read the fake Fly server's address");
        let log_dir = tempfile::Builder::new().prefix("fake-fly-").tempdir().expect("create the fake Fly log folder");
        let shared = Arc::new(Shared { state: Mutex::new(State::new(&options, addr.port())), options });
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("fake-fly-{}", addr.port()))
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let Ok(stream) = stream else { continue };
                        let shared = Arc::clone(&shared);
                        let _ = std::thread::Builder::new().name("fake-fly-conn".to_owned()).spawn(move || {
                            http::serve_connection(stream, &|request| routes::handle(&shared, request));
                        });
                    }
                })
                .expect("start the fake Fly server thread")
        };
        FakeFly { addr, shared, stop, accept: Some(accept), log_dir }
    }

    /// `http://127.0.0.1:<port>`: the value of `FLY_FLAPS_BASE_URL` (the Machines API is at
    /// `<url>/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The token requests must carry.
    pub fn token(&self) -> &str {
        &self.shared.options.token
    }

    /// The file the fake flyctl appends its invocations to (`FAKE_FLY_LOG`), in a temporary
    /// folder owned by this server.
    pub fn flyctl_log_path(&self) -> PathBuf {
        self.log_dir.path().join("flyctl.jsonl")
    }

    /// The environment the product (or the fake flyctl) needs: `FLY_FLAPS_BASE_URL`,
    /// `FLY_API_TOKEN` and `FAKE_FLY_LOG`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("FLY_FLAPS_BASE_URL".to_owned(), self.url()),
            ("FLY_API_TOKEN".to_owned(), self.token().to_owned()),
            ("FAKE_FLY_LOG".to_owned(), self.flyctl_log_path().display().to_string()),
        ]
    }

    /// Every fake flyctl invocation logged so far, one JSON object each (see
    /// [`crate::fake_flyctl`] for the fields).
    pub fn invocations(&self) -> Vec<Value> {
        crate::fake_flyctl::read_log(&self.flyctl_log_path())
    }

    /// All apps, sorted by name (Postgres cluster apps included).
    pub fn apps(&self) -> Vec<App> {
        self.shared.lock().apps.values().cloned().collect()
    }

    /// One app.
    pub fn app(&self, name: &str) -> Option<App> {
        self.shared.lock().apps.get(name).cloned()
    }

    /// The value of an app's secret (for asserting it arrived byte-exact).
    pub fn secret_value(&self, app: &str, name: &str) -> Option<String> {
        self.shared.lock().apps.get(app)?.secrets.get(name).map(|secret| secret.value.clone())
    }

    /// All Postgres clusters, sorted by name.
    pub fn postgres_clusters(&self) -> Vec<PostgresCluster> {
        self.shared.lock().postgres.values().cloned().collect()
    }

    /// The Managed Postgres clusters (`fly mpg create`), by id.
    pub fn mpg_clusters(&self) -> Vec<MpgCluster> {
        self.shared.lock().mpg.values().cloned().collect()
    }

    /// All Redis databases, sorted by name.
    pub fn redis(&self) -> Vec<RedisDb> {
        self.shared.lock().redis.values().cloned().collect()
    }

    /// All buckets, sorted by name.
    pub fn buckets(&self) -> Vec<Bucket> {
        self.shared.lock().buckets.values().cloned().collect()
    }

    /// All volumes, in creation order.
    pub fn volumes(&self) -> Vec<Volume> {
        self.shared.lock().volumes.clone()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.clone()
    }

    /// The flyctl commands received so far (`"apps create"`, `"deploy"`...), in order.
    pub fn commands(&self) -> Vec<String> {
        self.shared.lock().requests.iter().filter_map(|r| r.command.clone()).collect()
    }

    /// Makes the next request matching `key` fail once with `status` and `{"error": message}`.
    ///
    /// `key` is a flyctl command (`"deploy"`, `"apps create"`, `"secrets import"`), a method
    /// and path (`"GET /v1/apps/demo"`) or a path alone (any method). Faults queue: two
    /// calls with the same key fail the next two matching requests.
    pub fn fail_next(&self, key: &str, status: u16, message: &str) {
        assert!(status > 299, "fail_next needs an error status, not {status}");
        self.shared.lock().faults.push(Fault { key: key.to_owned(), status, message: message.to_owned() });
    }

    /// Managed Postgres clusters created from now on stay `initializing` for `after` (`fly mpg
    /// create` waits that long, as it polls until `ready`, fly-2026.md §1.3).
    pub fn set_mpg_ready_after(&self, after: std::time::Duration) {
        self.shared.lock().mpg_ready_after = Some(after);
    }

    /// Appends a line to an app's log buffer, as its machine `instance` in `region` would
    /// print it at `timestamp` (RFC 3339), in flyctl's `LogEntry` shape (fly-2026.md §5.2).
    pub fn add_log(&self, app: &str, timestamp: &str, region: &str, instance: &str, message: &str) {
        let entry = serde_json::json!({
            "level": "info", "instance": instance, "message": message, "region": region, "timestamp": timestamp,
            "meta": { "Instance": instance, "Region": region, "Event": { "Provider": "app" },
                "HTTP": { "Request": { "ID": "", "Method": "", "Version": "" }, "Response": { "status_code": 0 } },
                "Error": { "Code": 0, "Message": "" }, "URL": { "Full": "" } },
        });
        let mut state = self.shared.lock();
        let found = state.apps.get_mut(app).unwrap_or_else(|| panic!("no app {app} to log for"));
        found.logs.push(entry);
    }

    /// Creates an app directly (no request logged), as if made earlier.
    pub fn create_app(&self, name: &str, org: &str) {
        self.shared
            .lock()
            .create_app(name, org, None, AppKind::App)
            .unwrap_or_else(|e| panic!("cannot create app {name}: {}", e.message));
    }

    /// Sets secrets on an app directly (no request logged), deployed unless `staged`.
    pub fn set_secrets(&self, app: &str, secrets: &[(&str, &str)], staged: bool) {
        let values: BTreeMap<String, String> =
            secrets.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let mut state = self.shared.lock();
        state.set_secrets(app, &values, !staged).unwrap_or_else(|e| panic!("cannot set secrets: {}", e.message));
    }
}

impl Drop for FakeFly {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Where the `fake-flyctl` binary is: `$FAKE_FLYCTL_BIN`, else beside the running test
/// executable's `deps/` folder (`target/<profile>/fake-flyctl`). In this crate's tests,
/// prefer `env!("CARGO_BIN_EXE_fake-flyctl")`.
pub fn fake_flyctl_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("FAKE_FLYCTL_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("locate the running executable");
    let mut dir = exe.parent().expect("the executable has a folder").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("fake-flyctl");
    assert!(
        bin.is_file(),
        "{} does not exist: build it first (`cargo build -p score-fly-tests --bin fake-flyctl`) or set FAKE_FLYCTL_BIN",
        bin.display()
    );
    bin
}

/// Makes `dir/flyctl` and `dir/fly` symbolic links to the fake flyctl binary `bin`, so a
/// product that runs `flyctl` or `fly` from `PATH` finds it when `dir` is put first on `PATH`.
pub fn install_flyctl(bin: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    for name in ["flyctl", "fly"] {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(bin, &link)
            .unwrap_or_else(|e| panic!("cannot link {} to {}: {e}", link.display(), bin.display()));
    }
}
