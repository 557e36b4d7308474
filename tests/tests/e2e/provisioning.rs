//! The provisioning engine against real provisioners: no mocks of score-fly code.
//!
//! - `cmd` provisioners are POSIX `sh` scripts each test writes into its own temporary
//!   project folder (see [`PROV_SH`]: it logs every request to `calls.log`, then answers as
//!   files in the folder tell it to, or echoes the request back as its outputs).
//! - `http` provisioners are minimal HTTP/1.1 servers on loopback ([`Server`]), one per test,
//!   each on its own port.
//! - Workloads are loaded with `spec::load_str`, provisioner definitions parsed from YAML
//!   text with `definition::parse_file`, and everything runs through `plan`, `execute` and
//!   `deprovision` exactly as the CLI calls them.
//!
//! Nothing here asserts on wall-clock durations. Concurrency is proven with a barrier (every
//! provisioner waits until all of them have started) and its absence with a lock directory
//! (a second provisioner running at the same time fails). Deadlines only bound waits so a
//! broken feature fails instead of hanging; where a timeout is the point it is one second.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use score_fly_core::builtin::FlyEnv;
use score_fly_core::provision::definition::{self, Located};
use score_fly_core::provision::protocol::Mode;
use score_fly_core::provision::{
    DeprovisionError, Events, Outcome, ProvisionOptions, Provisioning, Report, deprovision, execute, outputs_for, plan,
};
use score_fly_core::spec::{self, Workload};
use score_fly_core::state::{LockWait, Project, STATE_VERSION, State, StateError};
use serde_json::{Value, json};

// ----- helpers: projects, scripts, workloads ---------------------------------------------

/// The general-purpose cmd provisioner. It identifies the resource by the `resource_id` of
/// the request and, in order:
/// 1. appends `<$SCORE_PROVISIONER_MODE> TAB <its arguments> TAB <resource_id> TAB <request
///    JSON>` to `calls.log` (one line per call);
/// 2. copies the file `stderr-<id>` (if any) to stderr;
/// 3. exits 1 if the file `fail-<id>` exists;
/// 4. prints `answer-<id>.<mode>.json` if it exists; otherwise, when provisioning, echoes
///    its arguments, its `SCORE_PROVISIONER_MODE` and the whole request back as values (so
///    tests can see exactly what it received); when deprovisioning it prints nothing.
const PROV_SH: &str = r#"set -eu
req=$(cat)
id=$(printf '%s' "$req" | sed -n 's/.*"resource_id":"\([^"]*\)".*/\1/p')
printf '%s\t%s\t%s\t%s\n' "$SCORE_PROVISIONER_MODE" "$*" "$id" "$req" >> calls.log
if [ -e "stderr-$id" ]; then cat "stderr-$id" >&2; fi
if [ -e "fail-$id" ]; then echo "$id: told to fail" >&2; exit 1; fi
if [ -e "answer-$id.$SCORE_PROVISIONER_MODE.json" ]; then
  cat "answer-$id.$SCORE_PROVISIONER_MODE.json"
elif [ "$SCORE_PROVISIONER_MODE" = provision ]; then
  printf '{"values": {"args": "%s", "env": "%s", "request": %s}}\n' "$*" "$SCORE_PROVISIONER_MODE" "$req"
fi
"#;

/// Fake secret values (asserted on, never real).
const DB_PASSWORD: &str = "pw-Zq81xv-db";
const API_TOKEN: &str = "tok-Hk27pd-api";

/// A temporary project folder holding `prov.sh`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    write_script(dir.path(), "prov.sh", PROV_SH);
    dir
}

/// Writes an executable `#!/bin/sh` script.
///
/// The file is written by a child process (`sh -c 'cat > file'`), not by this process: a test
/// thread that holds a file open for writing while another thread forks leaks that descriptor
/// into the fork, and executing the file then fails with ETXTBSY ("Text file busy"). A
/// descriptor that only ever exists in another process cannot leak into our forks.
fn write_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let mut child = Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(&path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh runs");
    child.stdin.take().expect("piped").write_all(format!("#!/bin/sh\n{body}").as_bytes()).expect("script written");
    assert!(child.wait().expect("sh ends").success(), "writing {} failed", path.display());
    path
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("file written");
}

/// Provisioner definitions from YAML text, as if read from `test.provisioners.yaml`.
fn defs(dir: &Path, yaml: &str) -> Vec<Located> {
    let file = dir.join("test.provisioners.yaml");
    definition::parse_file(&file, yaml)
        .expect("valid provisioner file")
        .into_iter()
        .map(|def| Located { def, file: file.clone() })
        .collect()
}

/// A Score document for workload `name` with this `resources:` block (unindented).
fn doc(name: &str, resources: &str) -> String {
    let resources: String = resources.lines().flat_map(|l| ["  ", l, "\n"]).collect();
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx\n\
         resources:\n{resources}"
    )
}

fn workloads(docs: &[&str]) -> BTreeMap<String, Workload> {
    docs.iter()
        .map(|d| {
            let w = spec::load_str("score.yaml", d).expect("valid Score file").workload;
            (w.name().to_owned(), w)
        })
        .collect()
}

/// One line of `calls.log`.
#[derive(Debug, Clone)]
struct Call {
    /// `SCORE_PROVISIONER_MODE` in its environment.
    mode: String,
    /// Its arguments, space-separated.
    args: String,
    id: String,
    request: Value,
}

fn calls(dir: &Path) -> Vec<Call> {
    let Ok(text) = std::fs::read_to_string(dir.join("calls.log")) else { return Vec::new() };
    text.lines()
        .map(|line| {
            let [mode, args, id, request] = line.splitn(4, '\t').collect::<Vec<_>>()[..] else {
                panic!("calls.log line {line:?}")
            };
            Call {
                mode: mode.to_owned(),
                args: args.to_owned(),
                id: id.to_owned(),
                request: serde_json::from_str(request).unwrap_or_else(|e| panic!("request JSON {request}: {e}")),
            }
        })
        .collect()
}

fn called_ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = calls(dir).into_iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

/// Events recorded for assertions.
#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<(String, String)>>,
    started: Mutex<Vec<(String, String, Mode)>>,
    finished: Mutex<Vec<(String, Outcome)>>,
}

impl Events for Recorder {
    fn started(&self, uid: &str, provisioner: &str, mode: Mode) {
        self.started.lock().unwrap().push((uid.to_owned(), provisioner.to_owned(), mode));
    }
    fn output(&self, uid: &str, line: &str) {
        self.lines.lock().unwrap().push((uid.to_owned(), line.to_owned()));
    }
    fn finished(&self, uid: &str, outcome: &Outcome) {
        self.finished.lock().unwrap().push((uid.to_owned(), outcome.clone()));
    }
}

impl Recorder {
    fn lines_of(&self, uid: &str) -> Vec<String> {
        self.lines.lock().unwrap().iter().filter(|(u, _)| u == uid).map(|(_, l)| l.clone()).collect()
    }
    fn all_lines(&self) -> Vec<(String, String)> {
        self.lines.lock().unwrap().clone()
    }
}

/// Plans and executes; returns the report and every state `persist` was given.
fn provision(
    dir: &Path,
    defs: &[Located],
    workloads: &BTreeMap<String, Workload>,
    state: &mut State,
    options: ProvisionOptions,
    events: &Recorder,
) -> (Report, Vec<State>) {
    let plan = plan(workloads, defs, &FlyEnv::default()).unwrap_or_else(|e| panic!("plan failed: {e}"));
    let mut persisted = Vec::new();
    let run = Provisioning { defs, workloads, options, project_root: dir, events, builtins: &FlyEnv::default() };
    let report = execute(&plan, run, state, &mut |s| {
        persisted.push(s.clone());
        Ok(())
    })
    .expect("persist never fails here");
    (report, persisted)
}

/// [`provision`] with default options and a throwaway recorder.
fn provision_default(
    dir: &Path,
    defs: &[Located],
    workloads: &BTreeMap<String, Workload>,
    state: &mut State,
) -> Report {
    provision(dir, defs, workloads, state, ProvisionOptions::default(), &Recorder::default()).0
}

/// The failure message of `uid` (panics with the report otherwise).
fn failure<'r>(report: &'r Report, uid: &str) -> &'r str {
    match report.outcomes.get(uid) {
        Some(Outcome::Failed(message)) => message,
        other => panic!("expected `{uid}` to fail, got {other:?} in {report:#?}"),
    }
}

fn assert_all_provisioned(report: &Report) {
    assert!(report.failures().is_empty(), "{:#?}", report.failures());
    assert!(report.outcomes.values().all(|o| *o == Outcome::Provisioned), "{report:#?}");
}

/// Whether a process exists and is not a zombie (a killed orphan may stay a zombie when
/// the container's init does not reap it: it is dead all the same).
fn alive(pid: u32) -> bool {
    if Path::new("/proc/self/stat").exists() {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
        !matches!(state, Some('Z' | 'X'))
    } else {
        Command::new("kill").args(["-0", &pid.to_string()]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    }
}

/// Waits (bounded) until `pid` is gone.
fn gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn read_pid(dir: &Path, name: &str) -> u32 {
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.trim().parse().unwrap_or_else(|e| panic!("{name} {text:?}: {e}"))
}

// ----- helpers: a minimal HTTP/1.1 server ------------------------------------------------

/// A request the server received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body {:?}: {e}", String::from_utf8_lossy(&self.body)))
    }
}

/// How the server answers a request.
enum Reply {
    /// Status and body (with `Content-Length` and `Connection: close`).
    Send(u16, &'static str),
    /// Read the request, never answer; hold the connection until the client closes it.
    Hang,
}

/// A loopback HTTP server answering with `reply(index of the request, request)`.
struct Server {
    addr: SocketAddr,
    thread: JoinHandle<Vec<Received>>,
}

/// The request line a test sends to stop its server.
const STOP: &[u8] = b"STOP / HTTP/1.1\r\n\r\n";

impl Server {
    fn start(reply: impl Fn(usize, &Received) -> Reply + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        let thread = std::thread::spawn(move || {
            let mut received = Vec::new();
            let mut holders = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                // Bounds: a client that stops talking cannot hang the test.
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let Some(request) = read_request(&mut stream) else { continue };
                if request.method == "STOP" {
                    break;
                }
                let answer = reply(received.len(), &request);
                received.push(request);
                match answer {
                    Reply::Send(status, body) => {
                        let reason = match status {
                            200 => "OK",
                            404 => "Not Found",
                            500 => "Internal Server Error",
                            _ => "Whatever",
                        };
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.flush();
                    }
                    Reply::Hang => holders.push(std::thread::spawn(move || {
                        let mut sink = [0u8; 1024];
                        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
                    })),
                }
            }
            for h in holders {
                let _ = h.join();
            }
            received
        });
        Server { addr, thread }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the server and returns every request it received. Connections still waiting
    /// to be accepted come before the stop request, so none is missed.
    fn stop(self) -> Vec<Received> {
        let mut s = TcpStream::connect(self.addr).expect("connect to stop");
        s.write_all(STOP).expect("stop sent");
        self.thread.join().expect("server thread")
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads request line, headers and a `Content-Length` (or chunked) body.
fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = find(&buf, b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    let mut request = Received { method, path, headers, body: buf[head_end + 4..].to_vec() };
    if request.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        while find(&request.body, b"0\r\n\r\n").is_none() {
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            request.body.extend_from_slice(&chunk[..n]);
        }
        request.body = dechunk(&request.body)?;
    } else {
        let length: usize = request.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        while request.body.len() < length {
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            request.body.extend_from_slice(&chunk[..n]);
        }
        request.body.truncate(length);
    }
    Some(request)
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).ok()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("address").port()
}

// ----- cmd provisioners --------------------------------------------------------------------

#[test]
fn cmd_request_has_the_wire_shape_and_the_mode_is_in_args_and_env() {
    let dir = project();
    let defs = defs(
        dir.path(),
        "- id: local-pg\n  type: postgres\n  cmd:\n    binary: ./prov.sh\n\
         \x20   args: [\"$SCORE_PROVISIONER_MODE\", \"--mode=${SCORE_PROVISIONER_MODE}\", plain]\n",
    );
    let w = workloads(&[&doc(
        "web",
        "db:\n\
         \x20 type: postgres\n\
         \x20 class: large\n\
         \x20 metadata: {annotations: {team: core}}\n\
         \x20 params: {size: 3, nested: {list: [1, x], flag: true}}\n",
    )]);
    let mut state = State::new("demo-");
    state.shared = json!({"cluster": {"name": "pg-1"}});
    let report = provision_default(dir.path(), &defs, &w, &mut state);
    assert_all_provisioned(&report);

    let uid = "postgres.large#web.db";
    let calls = calls(dir.path());
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].mode, "provision");
    let request = &calls[0].request;
    let mut keys: Vec<&str> = request.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "resource_class",
            "resource_id",
            "resource_metadata",
            "resource_params",
            "resource_type",
            "resource_uid",
            "shared",
            "state"
        ]
    );
    assert_eq!(
        *request,
        json!({
            "resource_uid": uid,
            "resource_type": "postgres",
            "resource_class": "large",
            "resource_id": "web.db",
            "state": {},
            "shared": {"cluster": {"name": "pg-1"}},
            "resource_params": {"size": 3, "nested": {"list": [1, "x"], "flag": true}},
            "resource_metadata": {"annotations": {"team": "core"}},
        })
    );

    // What the script saw: the mode replaced in both argument spellings and set in its env.
    let entry = &state.resources[uid];
    assert_eq!(entry.values["args"], "provision --mode=provision plain");
    assert_eq!(entry.values["env"], "provision");
    assert_eq!(entry.provisioner, "local-pg");
    assert_eq!(entry.declared_by, ["web.db"]);
    // The outputs are what the workload's placeholders see.
    let outputs = outputs_for("web", &w["web"], &state);
    assert_eq!(outputs["db"].uid, uid);
    assert_eq!(outputs["db"].values["request"]["resource_id"], "web.db");
}

#[test]
fn cmd_failure_quotes_the_tail_of_stderr() {
    let dir = project();
    write_script(
        dir.path(),
        "fail.sh",
        "cat > /dev/null\ni=1\nwhile [ $i -le 100 ]; do echo \"err line $i\" >&2; i=$((i+1)); done\nexit 3\n",
    );
    let defs = defs(dir.path(), "- {id: failing, type: postgres, cmd: {binary: ./fail.sh}}\n");
    let w = workloads(&[&doc("web", "db:\n  type: postgres\n")]);
    let events = Recorder::default();
    let mut state = State::new("");
    let (report, _) = provision(dir.path(), &defs, &w, &mut state, ProvisionOptions::default(), &events);

    let uid = "postgres.default#web.db";
    let message = failure(&report, uid);
    assert!(message.contains("`./fail.sh` exited with status 3"), "{message}");
    let quoted: Vec<&str> = message.lines().skip(1).map(str::trim).collect();
    assert_eq!(quoted.last(), Some(&"err line 100"), "the error ends with the last line: {message}");
    assert!(quoted.contains(&"err line 81"), "{message}");
    assert!(!quoted.contains(&"err line 80") && !quoted.contains(&"err line 1"), "only the tail: {message}");
    // Every line went to the events, in order, under the resource's uid.
    let lines = events.lines_of(uid);
    let expected: Vec<String> = (1..=100).map(|i| format!("err line {i}")).collect();
    assert_eq!(lines, expected);
    assert!(!state.resources.contains_key(uid), "a failure records nothing");
    assert!(
        events.finished.lock().unwrap().iter().any(|(u, o)| u == uid && matches!(o, Outcome::Failed(_))),
        "the failure is reported as finished"
    );
}

#[test]
fn cmd_timeout_kills_the_provisioner_and_everything_it_started() {
    let dir = project();
    write_script(
        dir.path(),
        "hang.sh",
        "cat > /dev/null\n\
         echo $$ > self.pid\n\
         sleep 600 &\n\
         echo $! > background.pid\n\
         sleep 600 &\n\
         echo $! > foreground.pid\n\
         wait\n",
    );
    let defs = defs(dir.path(), "- {id: slow, type: postgres, cmd: {binary: ./hang.sh, timeout: 1s}}\n");
    let w = workloads(&[&doc("web", "db:\n  type: postgres\n")]);
    let report = provision_default(dir.path(), &defs, &w, &mut State::new(""));

    let message = failure(&report, "postgres.default#web.db");
    assert!(message.contains("timed out after 1s") && message.contains("cmd.timeout"), "{message}");
    for name in ["self.pid", "background.pid", "foreground.pid"] {
        let pid = read_pid(dir.path(), name);
        assert!(gone(pid), "{name}: process {pid} is still running after the timeout");
    }
}

#[test]
fn cmd_output_that_is_not_json_is_rejected_without_quoting_it() {
    let dir = project();
    write(dir.path(), "answer-web.db.provision.json", &format!("password={DB_PASSWORD} oops\n"));
    let defs = defs(dir.path(), "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n");
    let w = workloads(&[&doc("web", "db:\n  type: postgres\n")]);
    let report = provision_default(dir.path(), &defs, &w, &mut State::new(""));
    let message = failure(&report, "postgres.default#web.db");
    assert!(message.contains("`./prov.sh` is not a provisioner response") && message.contains("not valid JSON"));
    assert!(!message.contains(DB_PASSWORD), "output may hold secrets and is never quoted: {message}");
}

#[test]
fn cmd_response_with_unknown_keys_is_rejected_naming_the_key() {
    let dir = project();
    write(dir.path(), "answer-web.db.provision.json", r#"{"values": {"host": "h"}, "outputs": {}}"#);
    let defs = defs(dir.path(), "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n");
    let w = workloads(&[&doc("web", "db:\n  type: postgres\n")]);
    let mut state = State::new("");
    let report = provision_default(dir.path(), &defs, &w, &mut state);
    let message = failure(&report, "postgres.default#web.db");
    assert!(message.contains("unknown field `outputs`"), "{message}");
    assert!(state.resources.is_empty());
}

#[test]
fn cmd_empty_answer_fails_a_provision_but_is_a_successful_deprovision() {
    let dir = project();
    // No answer file: prov.sh echoes when provisioning; an empty file makes it print nothing.
    write(dir.path(), "answer-web.db.provision.json", "");
    let defs = defs(dir.path(), "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n");
    let w = workloads(&[&doc("web", "db:\n  type: postgres\n")]);
    let uid = "postgres.default#web.db";
    let mut state = State::new("");
    let report = provision_default(dir.path(), &defs, &w, &mut state);
    let message = failure(&report, uid);
    assert!(message.contains("`./prov.sh` printed no response on stdout (it wrote nothing on stderr)"), "{message}");

    std::fs::remove_file(dir.path().join("answer-web.db.provision.json")).unwrap();
    assert_all_provisioned(&provision_default(dir.path(), &defs, &w, &mut state));
    // Deprovisioning prints nothing (see PROV_SH): success, and the entry is gone.
    deprovision(uid, &mut state, &defs, dir.path(), &FlyEnv::default(), &Recorder::default())
        .expect("empty deprovision answer is fine");
    assert!(state.resources.is_empty());
    let modes: Vec<String> = calls(dir.path()).into_iter().map(|c| c.mode).collect();
    assert_eq!(modes, ["provision", "provision", "deprovision"]);
}

/// A provisioner that answers and exits but leaves a process behind holding its stderr
/// (a daemon, a port-forward...). The call must end (cmd.rs: "wait a little, then stop it
/// too") rather than wait for that process. Bounded: the call runs on a thread and the test
/// fails if it has not ended after 30 s.
#[test]
fn cmd_leftover_process_holding_stderr_does_not_block_the_call() {
    let dir = project();
    write_script(
        dir.path(),
        "daemon.sh",
        "cat > /dev/null\n\
         sleep 120 > /dev/null &\n\
         echo $! > leftover.pid\n\
         echo '{\"values\": {\"ok\": true}}'\n",
    );
    let defs = defs(dir.path(), "- {id: d, type: thing, cmd: {binary: ./daemon.sh, timeout: 1s}}\n");
    let w = workloads(&[&doc("web", "daemon:\n  type: thing\n")]);
    let root = dir.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(provision_default(&root, &defs, &w, &mut State::new("")));
    });
    let result = rx.recv_timeout(Duration::from_secs(30));
    let leftover = read_pid(dir.path(), "leftover.pid");
    // The call returns once the leftover has closed its pipes, which a SIGKILL does a moment
    // before the process is gone: allow that moment (generously, for a loaded machine).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while alive(leftover) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let still_running = alive(leftover);
    if still_running {
        let _ = Command::new("kill").arg(leftover.to_string()).status();
    }
    let report = result.expect("the call ended although a leftover process holds its stderr");
    assert_all_provisioned(&report);
    assert!(!still_running, "the leftover process {leftover} was stopped");
}

#[test]
fn cmd_binary_that_does_not_exist_is_named_in_the_error() {
    let dir = project();
    let defs = defs(
        dir.path(),
        "- {id: rel, type: postgres, cmd: {binary: ./no-such-provisioner.sh}}\n\
         - {id: onpath, type: redis, cmd: {binary: score-fly-no-such-provisioner}}\n",
    );
    let w = workloads(&[&doc("web", "db:\n  type: postgres\ncache:\n  type: redis\n")]);
    let report = provision_default(dir.path(), &defs, &w, &mut State::new(""));
    let message = failure(&report, "postgres.default#web.db");
    assert!(message.contains("cannot run `./no-such-provisioner.sh`") && message.contains("cmd.binary"), "{message}");
    let message = failure(&report, "redis.default#web.cache");
    assert!(message.contains("cannot run `score-fly-no-such-provisioner`"), "{message}");
}

#[test]
fn cmd_stderr_reaches_the_events_under_the_uid_with_known_secrets_redacted() {
    let dir = project();
    let defs = defs(
        dir.path(),
        &format!(
            "- {{id: pg, type: postgres, \
             static: {{values: {{host: db.internal}}, secrets: {{password: {DB_PASSWORD}}}}}}}\n\
             - {{id: app, type: app, cmd: {{binary: ./prov.sh}}}}\n"
        ),
    );
    let mut state = State::new("");
    // First run: the database exists (its secret is now known).
    let first = workloads(&[&doc("web", "db:\n  type: postgres\n")]);
    assert_all_provisioned(&provision_default(dir.path(), &defs, &first, &mut state));

    // Second run: a new resource whose provisioner prints that secret on stderr.
    write(dir.path(), "stderr-web.app", &format!("connecting with {DB_PASSWORD}\nplain progress line\n"));
    let second = workloads(&[&doc("web", "db:\n  type: postgres\napp:\n  type: app\n")]);
    let events = Recorder::default();
    let (report, _) = provision(dir.path(), &defs, &second, &mut state, ProvisionOptions::default(), &events);
    assert_eq!(report.outcomes["postgres.default#web.db"], Outcome::Reused);
    assert_eq!(report.outcomes["app.default#web.app"], Outcome::Provisioned);
    assert_eq!(events.lines_of("app.default#web.app"), ["connecting with ********", "plain progress line"]);
    assert!(events.all_lines().iter().all(|(_, l)| !l.contains(DB_PASSWORD)));

    // The tail quoted by a failure is redacted as well.
    write(dir.path(), "fail-web.app", "");
    let report = provision(
        dir.path(),
        &defs,
        &second,
        &mut state,
        ProvisionOptions { reprovision: true, ..ProvisionOptions::default() },
        &Recorder::default(),
    )
    .0;
    let message = failure(&report, "app.default#web.app");
    assert!(message.contains("connecting with ********") && !message.contains(DB_PASSWORD), "{message}");
}

#[test]
fn cmd_stderr_redacts_secrets_returned_earlier_in_the_same_run() {
    let dir = project();
    let defs = defs(
        dir.path(),
        &format!(
            "- {{id: pg, type: postgres, \
             static: {{values: {{host: db.internal}}, secrets: {{password: {DB_PASSWORD}}}}}}}\n\
             - {{id: app, type: app, cmd: {{binary: ./prov.sh}}}}\n"
        ),
    );
    // `app` depends on `db`, so `db` (and its secret) exist before `app` runs.
    write(dir.path(), "stderr-web.app", &format!("connecting with {DB_PASSWORD}\n"));
    let w = workloads(&[&doc(
        "web",
        "db:\n  type: postgres\napp:\n  type: app\n  params:\n    host: ${resources.db.host}\n",
    )]);
    let events = Recorder::default();
    let (report, _) = provision(dir.path(), &defs, &w, &mut State::new(""), ProvisionOptions::default(), &events);
    assert_all_provisioned(&report);
    assert_eq!(events.lines_of("app.default#web.app"), ["connecting with ********"]);
}

// ----- http provisioners -------------------------------------------------------------------

#[test]
fn http_5xx_is_retried_until_it_succeeds() {
    let server =
        Server::start(
            |n, _| if n < 2 { Reply::Send(500, "busy") } else { Reply::Send(200, r#"{"values": {"host": "h1"}}"#) },
        );
    let dir = project();
    let defs =
        defs(dir.path(), &format!("- {{id: remote, type: redis, http: {{url: \"{}\"}}}}\n", server.url("/redis")));
    let w = workloads(&[&doc("web", "cache:\n  type: redis\n")]);
    let events = Recorder::default();
    let mut state = State::new("");
    let (report, _) = provision(dir.path(), &defs, &w, &mut state, ProvisionOptions::default(), &events);
    let received = server.stop();

    assert_all_provisioned(&report);
    assert_eq!(state.resources["redis.default#web.cache"].values["host"], "h1");
    assert_eq!(received.len(), 3, "two 500s then a 200: {received:#?}");
    assert!(received.iter().all(|r| r.method == "POST" && r.path == "/redis" && r.body == received[0].body));
    let notices = events.lines_of("redis.default#web.cache");
    assert_eq!(notices.len(), 2, "one notice per retry: {notices:?}");
    assert!(notices.iter().all(|n| n.contains("answered 500: busy") && n.contains("retrying")), "{notices:?}");
}

/// A request that times out is not retried: the provisioner may still be working on it, and
/// sending it again could create a second resource.
#[test]
fn http_timeout_fails_without_retry() {
    let server = Server::start(|_, _| Reply::Hang);
    let dir = project();
    let defs = defs(
        dir.path(),
        &format!("- {{id: remote, type: redis, http: {{url: \"{}\", timeout: 1s, retries: 3}}}}\n", server.url("/")),
    );
    let w = workloads(&[&doc("web", "cache:\n  type: redis\n")]);
    let report = provision_default(dir.path(), &defs, &w, &mut State::new(""));
    let received = server.stop();

    let message = failure(&report, "redis.default#web.cache");
    assert!(message.contains("did not answer in time") && message.contains("http.timeout"), "{message}");
    assert_eq!(received.len(), 1, "not retried: {received:#?}");
}

#[test]
fn http_4xx_fails_at_once_quoting_the_body() {
    let server = Server::start(|_, _| Reply::Send(404, "no such plan: tiny"));
    let dir = project();
    let url = server.url("/plans/tiny");
    let defs = defs(dir.path(), &format!("- {{id: remote, type: redis, http: {{url: \"{url}\", retries: 3}}}}\n"));
    let w = workloads(&[&doc("web", "cache:\n  type: redis\n")]);
    let events = Recorder::default();
    let (report, _) = provision(dir.path(), &defs, &w, &mut State::new(""), ProvisionOptions::default(), &events);
    let received = server.stop();

    let message = failure(&report, "redis.default#web.cache");
    assert!(message.contains(&format!("POST {url} answered 404: no such plan: tiny")), "{message}");
    assert_eq!(received.len(), 1, "a 4xx is not retried: {received:#?}");
    assert!(events.all_lines().is_empty(), "no retry notices: {:?}", events.all_lines());
}

#[test]
fn http_connection_refused_is_retried_then_reported() {
    let url = format!("http://127.0.0.1:{}/redis", closed_port());
    let dir = project();
    let defs = defs(
        dir.path(),
        &format!("- {{id: remote, type: redis, http: {{url: \"{url}\", retries: 2, connect_timeout: 1s}}}}\n"),
    );
    let w = workloads(&[&doc("web", "cache:\n  type: redis\n")]);
    let events = Recorder::default();
    let (report, _) = provision(dir.path(), &defs, &w, &mut State::new(""), ProvisionOptions::default(), &events);

    let message = failure(&report, "redis.default#web.cache");
    assert!(message.contains(&url) && message.contains("(after 3 attempts)"), "{message}");
    let notices = events.lines_of("redis.default#web.cache");
    assert_eq!(notices.len(), 2, "`retries: 2` retries twice: {notices:?}");
}

#[test]
fn http_request_shape_and_delete_with_body_on_deprovision() {
    let server = Server::start(|_, r| match r.method.as_str() {
        "POST" => Reply::Send(200, r#"{"values": {"host": "cache.internal"}, "state": {"token": "t-1"}}"#),
        _ => Reply::Send(200, ""),
    });
    let dir = project();
    let defs = defs(dir.path(), &format!("- {{id: remote, type: redis, http: {{url: \"{}\"}}}}\n", server.url("/r")));
    let w = workloads(&[&doc("web", "cache:\n  type: redis\n  params: {size: small}\n")]);
    let uid = "redis.default#web.cache";
    let mut state = State::new("");
    state.shared = json!({"k": "v"});
    assert_all_provisioned(&provision_default(dir.path(), &defs, &w, &mut state));
    assert_eq!(state.resources[uid].state, *json!({"token": "t-1"}).as_object().unwrap());
    let events = Recorder::default();
    deprovision(uid, &mut state, &defs, dir.path(), &FlyEnv::default(), &events)
        .expect("an empty 200 to DELETE is success");
    assert!(!state.resources.contains_key(uid));
    let received = server.stop();

    assert_eq!(received.len(), 2, "{received:#?}");
    let (post, delete) = (&received[0], &received[1]);
    assert_eq!((post.method.as_str(), post.path.as_str()), ("POST", "/r"));
    assert!(post.header("content-type").is_some_and(|v| v.starts_with("application/json")), "{post:#?}");
    assert_eq!(
        post.json(),
        json!({
            "resource_uid": uid,
            "resource_type": "redis",
            "resource_class": "default",
            "resource_id": "web.cache",
            "state": {},
            "shared": {"k": "v"},
            "resource_params": {"size": "small"},
            "resource_metadata": {},
        })
    );
    assert_eq!((delete.method.as_str(), delete.path.as_str()), ("DELETE", "/r"));
    assert!(delete.header("content-type").is_some_and(|v| v.starts_with("application/json")), "{delete:#?}");
    assert_eq!(
        delete.json(),
        json!({
            "resource_uid": uid,
            "resource_type": "redis",
            "resource_class": "default",
            "resource_id": "web.cache",
            "state": {"token": "t-1"},
            "shared": {"k": "v"},
            "resource_params": {"size": "small"},
            "resource_metadata": {},
        }),
        "the DELETE carries the stored state and params"
    );
    assert_eq!(*events.started.lock().unwrap(), [(uid.to_owned(), "remote".to_owned(), Mode::Deprovision)]);
}

#[test]
fn http_empty_or_invalid_answer_to_a_provision_fails() {
    let server = Server::start(|n, _| if n == 0 { Reply::Send(200, "") } else { Reply::Send(200, "<html>hi</html>") });
    let dir = project();
    let url = server.url("/p");
    let defs = defs(dir.path(), &format!("- {{id: remote, type: redis, http: {{url: \"{url}\"}}}}\n"));
    let w = workloads(&[&doc("web", "cache:\n  type: redis\n")]);
    let uid = "redis.default#web.cache";
    let report = provision_default(dir.path(), &defs, &w, &mut State::new(""));
    assert!(failure(&report, uid).contains(&format!("POST {url} answered 200 with an empty body")), "{report:?}");
    let report = provision_default(dir.path(), &defs, &w, &mut State::new(""));
    let message = failure(&report, uid);
    assert!(message.contains("not a provisioner response") && message.contains("not valid JSON"), "{message}");
    assert_eq!(server.stop().len(), 2, "2xx answers are never retried");
}

// ----- static provisioners -----------------------------------------------------------------

#[test]
fn static_provisioner_outputs_values_and_secrets_and_deprovision_is_a_no_op() {
    let dir = project();
    let defs = defs(
        dir.path(),
        &format!(
            "- {{id: dns, type: dns, \
             static: {{values: {{host: example.com, port: 53}}, secrets: {{token: {API_TOKEN}}}}}}}\n"
        ),
    );
    let w = workloads(&[&doc("web", "dns:\n  type: dns\n")]);
    let uid = "dns.default#web.dns";
    let mut state = State::new("");
    assert_all_provisioned(&provision_default(dir.path(), &defs, &w, &mut state));
    let outputs = outputs_for("web", &w["web"], &state);
    assert_eq!(serde_json::Value::Object(outputs["dns"].values.clone()), json!({"host": "example.com", "port": 53}));
    assert_eq!(outputs["dns"].secrets["token"], API_TOKEN);

    deprovision(uid, &mut state, &defs, dir.path(), &FlyEnv::default(), &Recorder::default())
        .expect("static deprovision succeeds");
    assert!(state.resources.is_empty());
    assert!(calls(dir.path()).is_empty());
}

// ----- the engine ----------------------------------------------------------------------------

#[test]
fn the_first_matching_provisioner_wins_by_type_class_and_resource_id() {
    let dir = project();
    let specific_first = "- {id: by-id, type: postgres, resource_id: main-db, static: {values: {by: by-id}}}\n\
                          - {id: by-class, type: postgres, class: large, static: {values: {by: by-class}}}\n\
                          - {id: any-postgres, type: postgres, static: {values: {by: any-postgres}}}\n\
                          - {id: any-redis, type: redis, static: {values: {by: any-redis}}}\n";
    let w = workloads(&[&doc(
        "web",
        "main: {type: postgres, class: large, id: main-db}\n\
         big: {type: postgres, class: large}\n\
         small: {type: postgres}\n\
         cache: {type: redis, class: large}\n",
    )]);
    let chosen = |defs: &[Located]| -> BTreeMap<String, String> {
        let plan = plan(&w, defs, &FlyEnv::default()).expect("plan");
        plan.resources.iter().map(|r| (r.uid.clone(), defs[r.provisioner].def.id.clone())).collect()
    };
    let defs1 = defs(dir.path(), specific_first);
    assert_eq!(
        chosen(&defs1),
        BTreeMap::from([
            ("postgres.large#main-db".to_owned(), "by-id".to_owned()),
            ("postgres.large#web.big".to_owned(), "by-class".to_owned()),
            ("postgres.default#web.small".to_owned(), "any-postgres".to_owned()),
            ("redis.large#web.cache".to_owned(), "any-redis".to_owned()),
        ])
    );
    let mut state = State::new("");
    assert_all_provisioned(&provision_default(dir.path(), &defs1, &w, &mut state));
    assert_eq!(state.resources["postgres.large#main-db"].values["by"], "by-id");
    assert_eq!(state.resources["postgres.large#main-db"].provisioner, "by-id");
    assert_eq!(state.resources["postgres.large#web.big"].values["by"], "by-class");

    // Order decides, not specificity: a catch-all first serves every postgres.
    let generic_first = defs(
        dir.path(),
        "- {id: any-postgres, type: postgres, static: {}}\n\
         - {id: by-id, type: postgres, resource_id: main-db, static: {}}\n\
         - {id: any-redis, type: redis, static: {}}\n",
    );
    let chosen = chosen(&generic_first);
    assert!(
        chosen.iter().filter(|(uid, _)| uid.starts_with("postgres.")).all(|(_, p)| p == "any-postgres"),
        "{chosen:?}"
    );
}

#[test]
fn a_shared_resource_is_provisioned_once_for_every_workload() {
    let dir = project();
    let defs = defs(dir.path(), "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n");
    let w = workloads(&[
        &doc("aa", "db:\n  type: postgres\n  id: common\n"),
        &doc("bb", "database:\n  type: postgres\n  id: common\nown:\n  type: postgres\n"),
    ]);
    let mut state = State::new("");
    assert_all_provisioned(&provision_default(dir.path(), &defs, &w, &mut state));
    assert_eq!(called_ids(dir.path()), ["bb.own", "common"], "one call for the shared resource");
    let entry = &state.resources["postgres.default#common"];
    assert_eq!(entry.declared_by, ["aa.db", "bb.database"]);
    let a = outputs_for("aa", &w["aa"], &state);
    let b = outputs_for("bb", &w["bb"], &state);
    assert_eq!(a["db"], b["database"], "both workloads see the same outputs");
}

#[test]
fn params_are_expanded_from_other_outputs_in_dependency_order() {
    let dir = project();
    write(
        dir.path(),
        "answer-web.db.provision.json",
        &format!(
            r#"{{"values": {{"host": "db.internal", "port": 5432}}, "secrets": {{"password": "{DB_PASSWORD}"}}}}"#
        ),
    );
    let defs = defs(
        dir.path(),
        "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n- {id: ep, type: endpoint, cmd: {binary: ./prov.sh}}\n",
    );
    // gateway → api → db: declared in the opposite order of their dependencies.
    let w = workloads(&[&doc(
        "web",
        "gateway: {type: endpoint, params: {upstream: \"via ${resources.api.request.resource_params.url}\"}}\n\
         api:\n\
         \x20 type: endpoint\n\
         \x20 params:\n\
         \x20   url: \"postgres://app:${resources.db.password}@${resources.db.host}:${resources.db.port}/app\"\n\
         \x20   list: [\"${resources.db.host}\", 7]\n\
         \x20   uid: \"${resources.db}\"\n\
         db: {type: postgres}\n",
    )]);
    let mut state = State::new("");
    assert_all_provisioned(&provision_default(dir.path(), &defs, &w, &mut state));

    let order: Vec<String> = calls(dir.path()).into_iter().map(|c| c.id).collect();
    assert_eq!(order, ["web.db", "web.api", "web.gateway"], "dependencies first");
    let url = format!("postgres://app:{DB_PASSWORD}@db.internal:5432/app");
    let api = &state.resources["endpoint.default#web.api"];
    // The provisioner echoes its request as an output: it holds the password, so it is kept
    // as a secret output (a laundered secret), not a plain one.
    assert!(!api.values.contains_key("request"), "{:?}", api.values.keys());
    assert_eq!(
        api.secrets["request"]["resource_params"],
        json!({"url": url, "list": ["db.internal", 7], "uid": "postgres.default#web.db"}),
        "what the provisioner received"
    );
    assert_eq!(api.params["url"], url.as_str(), "and what the state records");
    assert_eq!(state.resources["endpoint.default#web.gateway"].params["upstream"], format!("via {url}"));
}

#[test]
fn a_dependency_cycle_is_an_error_naming_the_resources() {
    let dir = project();
    let defs = defs(dir.path(), "- {id: pg, type: postgres, static: {values: {host: h}}}\n");
    let w = workloads(&[&doc(
        "web",
        "one: {type: postgres, params: {x: \"${resources.two.host}\"}}\n\
         two: {type: postgres, params: {x: \"${resources.three.host}\"}}\n\
         three: {type: postgres, params: {x: \"${resources.one.host}\"}}\n\
         free: {type: postgres}\n",
    )]);
    let e = plan(&w, &defs, &FlyEnv::default()).unwrap_err();
    let message = e.to_string();
    assert!(message.contains("cycle"), "{message}");
    for uid in ["postgres.default#web.one", "postgres.default#web.two", "postgres.default#web.three"] {
        assert!(message.contains(uid), "{uid} in {message}");
    }
    assert!(!message.contains("web.free"), "{message}");
    assert_eq!(e.problems.len(), 1);
    assert_eq!(e.problems[0].workload, "web");
}

#[test]
fn a_resource_without_provisioner_is_an_error_naming_it() {
    let dir = project();
    let defs = defs(dir.path(), "- {id: pg, type: postgres, class: large, static: {}}\n");
    let w = workloads(&[&doc("web", "db:\n  type: postgres\nbig:\n  type: postgres\n  class: large\n")]);
    let e = plan(&w, &defs, &FlyEnv::default()).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!((e.problems[0].workload.as_str(), e.problems[0].resource.as_str()), ("web", "db"));
    assert!(
        e.to_string().contains("no provisioner for resource `postgres.default#web.db` (declared by web.db)"),
        "{e}"
    );
}

/// Four provisioners that each wait until all four have started: this only succeeds if they
/// run at the same time (with the default `jobs`). The first to wait 30 s gives up and makes
/// the others give up too, so a regression fails in 30 s instead of hanging.
#[test]
fn independent_resources_are_provisioned_concurrently() {
    let dir = project();
    write_script(
        dir.path(),
        "barrier.sh",
        r#"set -eu
cat > /dev/null
mkdir -p markers
: > "markers/$$"
i=0
while [ "$(ls markers | wc -l)" -lt 4 ]; do
  i=$((i + 1))
  if [ -e giveup ]; then echo "another provisioner gave up" >&2; exit 1; fi
  if [ "$i" -gt 300 ]; then : > giveup; echo "only $(ls markers | wc -l) of 4 provisioners ran at once" >&2; exit 1; fi
  sleep 0.1
done
echo '{"values": {"ok": true}}'
"#,
    );
    let defs = defs(dir.path(), "- {id: barrier, type: queue, cmd: {binary: ./barrier.sh}}\n");
    let w =
        workloads(&[&doc("web", "q1:\n  type: queue\nq2:\n  type: queue\nq3:\n  type: queue\nq4:\n  type: queue\n")]);
    let report = provision_default(dir.path(), &defs, &w, &mut State::new(""));
    assert_eq!(report.outcomes.len(), 4);
    assert_all_provisioned(&report);
}

/// With `jobs: 1` a provisioner that finds another one running fails, and the log shows
/// strictly alternating start/end lines of the same process.
#[test]
fn jobs_1_runs_one_provisioner_at_a_time() {
    let dir = project();
    write_script(
        dir.path(),
        "exclusive.sh",
        r#"set -eu
cat > /dev/null
echo "start $$" >> order.log
if ! mkdir running 2>/dev/null; then echo "another provisioner is running" >&2; exit 1; fi
sleep 0.1
rmdir running
echo "end $$" >> order.log
echo '{}'
"#,
    );
    let defs = defs(dir.path(), "- {id: one, type: queue, cmd: {binary: ./exclusive.sh}}\n");
    let w = workloads(&[&doc("web", "q1:\n  type: queue\nq2:\n  type: queue\nq3:\n  type: queue\n")]);
    let options = ProvisionOptions { jobs: 1, ..ProvisionOptions::default() };
    let (report, _) = provision(dir.path(), &defs, &w, &mut State::new(""), options, &Recorder::default());
    assert_all_provisioned(&report);
    let log = std::fs::read_to_string(dir.path().join("order.log")).unwrap();
    let lines: Vec<(&str, &str)> = log.lines().map(|l| l.split_once(' ').expect("`start|end pid`")).collect();
    assert_eq!(lines.len(), 6, "{log}");
    for pair in lines.chunks(2) {
        assert!(pair[0].0 == "start" && pair[1].0 == "end" && pair[0].1 == pair[1].1, "interleaved: {log}");
    }
}

#[test]
fn shared_state_patches_are_merged_in_order_and_sent_to_later_provisioners() {
    let dir = project();
    write(
        dir.path(),
        "answer-web.first.provision.json",
        r#"{"values": {"v": "1"}, "shared": {"a": {"b": 1}, "keep": "x"}}"#,
    );
    write(dir.path(), "answer-web.second.provision.json", r#"{"shared": {"a": null, "added": [1, 2]}}"#);
    let defs = defs(dir.path(), "- {id: p, type: thing, cmd: {binary: ./prov.sh}}\n");
    let w = workloads(&[&doc(
        "web",
        "first:\n  type: thing\nsecond:\n  type: thing\n  params: {after: \"${resources.first.v}\"}\n",
    )]);
    let mut state = State::new("");
    state.shared = json!({"pre": true});
    assert_all_provisioned(&provision_default(dir.path(), &defs, &w, &mut state));

    let calls = calls(dir.path());
    assert_eq!(calls[0].request["shared"], json!({"pre": true}));
    assert_eq!(calls[1].request["shared"], json!({"pre": true, "a": {"b": 1}, "keep": "x"}));
    assert_eq!(state.shared, json!({"pre": true, "keep": "x", "added": [1, 2]}), "RFC 7386: null deletes");
}

#[test]
fn the_provisioner_state_is_sent_back_on_the_next_call() {
    let dir = project();
    write(dir.path(), "answer-web.db.provision.json", r#"{"state": {"generation": 1}, "values": {"host": "h"}}"#);
    let defs = defs(dir.path(), "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n");
    let w = workloads(&[&doc("web", "db:\n  type: postgres\n")]);
    let uid = "postgres.default#web.db";
    let again = ProvisionOptions { reprovision: true, ..ProvisionOptions::default() };
    let mut state = State::new("");
    assert_all_provisioned(&provision_default(dir.path(), &defs, &w, &mut state));
    assert_eq!(state.resources[uid].state["generation"], 1);

    // An answer without `state` keeps the stored one.
    write(dir.path(), "answer-web.db.provision.json", r#"{"values": {"host": "h2"}}"#);
    assert_all_provisioned(&provision(dir.path(), &defs, &w, &mut state, again, &Recorder::default()).0);
    assert_eq!(state.resources[uid].state["generation"], 1);
    assert_eq!(state.resources[uid].values["host"], "h2");
    assert_all_provisioned(&provision(dir.path(), &defs, &w, &mut state, again, &Recorder::default()).0);

    let sent: Vec<Value> = calls(dir.path()).into_iter().map(|c| c.request["state"].clone()).collect();
    assert_eq!(sent, [json!({}), json!({"generation": 1}), json!({"generation": 1})]);
}

#[test]
fn a_failure_part_way_keeps_what_succeeded_and_a_rerun_continues_from_there() {
    let dir = project();
    let root = dir.path();
    let defs = defs(root, "- {id: p, type: thing, cmd: {binary: ./prov.sh}}\n");
    // aa ← dd (dd reads aa's outputs); bb ← cc.
    let w = workloads(&[&doc(
        "web",
        "aa: {type: thing}\n\
         bb: {type: thing}\n\
         cc: {type: thing, params: {x: \"${resources.bb.env}\"}}\n\
         dd: {type: thing, params: {x: \"${resources.aa.env}\"}}\n",
    )]);
    let uid = |name: &str| format!("thing.default#web.{name}");
    write(root, "fail-web.bb", "");
    let project = Project::open(root, LockWait { timeout: Duration::from_secs(10) }, &mut |_| {}).unwrap();
    let mut state = State::new("");
    let plan1 = plan(&w, &defs, &FlyEnv::default()).unwrap();
    let mut persisted: Vec<State> = Vec::new();
    let run = Provisioning {
        defs: &defs,
        workloads: &w,
        options: ProvisionOptions::default(),
        project_root: root,
        events: &Recorder::default(),
        builtins: &FlyEnv::default(),
    };
    let report = execute(&plan1, run, &mut state, &mut |s| {
        persisted.push(s.clone());
        project.save(s)
    })
    .unwrap();

    assert_eq!(report.outcomes[&uid("aa")], Outcome::Provisioned);
    assert_eq!(report.outcomes[&uid("dd")], Outcome::Provisioned);
    assert!(failure(&report, &uid("bb")).contains("web.bb: told to fail"), "{report:#?}");
    match &report.outcomes[&uid("cc")] {
        Outcome::Skipped(why) => assert!(why.contains(&format!("`{}`", uid("bb"))), "{why}"),
        other => panic!("cc should be skipped: {other:?}"),
    }
    assert_eq!(called_ids(root), ["web.aa", "web.bb", "web.dd"], "a skipped resource is never called");
    // Saved after each success, so a crash keeps what exists.
    assert!(persisted.len() >= 3, "{} saves", persisted.len());
    assert!(persisted.iter().any(|s| s.resources.contains_key(&uid("aa")) && !s.resources.contains_key(&uid("dd"))));
    let saved = project.load().unwrap().expect("saved state");
    let kept: Vec<&String> = saved.resources.keys().collect();
    assert_eq!(kept, [&uid("aa"), &uid("dd")]);

    // Rerun (from the saved state) with the cause fixed: only bb and cc are called.
    std::fs::remove_file(root.join("fail-web.bb")).unwrap();
    std::fs::remove_file(root.join("calls.log")).unwrap();
    let mut state = saved;
    let report = provision_default(root, &defs, &w, &mut state);
    assert_eq!(report.outcomes[&uid("aa")], Outcome::Reused);
    assert_eq!(report.outcomes[&uid("dd")], Outcome::Reused);
    assert_eq!(report.outcomes[&uid("bb")], Outcome::Provisioned);
    assert_eq!(report.outcomes[&uid("cc")], Outcome::Provisioned);
    assert_eq!(report.provisioned(), 2);
    assert_eq!(called_ids(root), ["web.bb", "web.cc"]);

    // Nothing changed: no call at all.
    std::fs::remove_file(root.join("calls.log")).unwrap();
    let report = provision_default(root, &defs, &w, &mut state);
    assert!(report.outcomes.values().all(|o| *o == Outcome::Reused), "{report:#?}");
    assert!(calls(root).is_empty());

    // `reprovision` calls every provisioner again.
    let again = ProvisionOptions { reprovision: true, ..ProvisionOptions::default() };
    let (report, _) = provision(root, &defs, &w, &mut state, again, &Recorder::default());
    assert_all_provisioned(&report);
    assert_eq!(called_ids(root), ["web.aa", "web.bb", "web.cc", "web.dd"]);
}

// ----- deprovision ---------------------------------------------------------------------------

#[test]
fn deprovision_sends_the_stored_state_and_params_applies_the_shared_patch_and_forgets_the_resource() {
    let dir = project();
    let root = dir.path();
    write(
        root,
        "answer-web.db.provision.json",
        &json!({
            "state": {"instance": "x-1"},
            "values": {"host": "h"},
            "secrets": {"password": DB_PASSWORD},
            "shared": {"clusters": {"web.db": "c-1"}, "other": 1},
        })
        .to_string(),
    );
    write(root, "answer-web.db.deprovision.json", r#"{"shared": {"clusters": {"web.db": null}}}"#);
    write(root, "stderr-web.db", &format!("dropping user with password {DB_PASSWORD}\n"));
    let defs =
        defs(root, "- {id: pg, type: postgres, cmd: {binary: ./prov.sh, args: [\"$SCORE_PROVISIONER_MODE\"]}}\n");
    let w = workloads(&[&doc(
        "web",
        "db: {type: postgres, metadata: {owner: team-a}, params: {size: \"${metadata.name}-small\"}}\n\
         keep: {type: postgres}\n",
    )]);
    let uid = "postgres.default#web.db";
    let mut state = State::new("");
    assert_all_provisioned(&provision_default(root, &defs, &w, &mut state));
    assert_eq!(state.shared, json!({"clusters": {"web.db": "c-1"}, "other": 1}));

    let events = Recorder::default();
    deprovision(uid, &mut state, &defs, root, &FlyEnv::default(), &events).expect("deprovision");
    let call = calls(root).pop().expect("a call");
    assert_eq!((call.mode.as_str(), call.args.as_str()), ("deprovision", "deprovision"), "env and args");
    assert_eq!(call.id, "web.db");
    assert_eq!(
        call.request,
        json!({
            "resource_uid": uid,
            "resource_type": "postgres",
            "resource_class": "default",
            "resource_id": "web.db",
            "state": {"instance": "x-1"},
            "shared": {"clusters": {"web.db": "c-1"}, "other": 1},
            "resource_params": {"size": "web-small"},
            "resource_metadata": {"owner": "team-a"},
        })
    );
    assert_eq!(state.shared, json!({"clusters": {}, "other": 1}), "the patch is applied");
    assert!(!state.resources.contains_key(uid) && state.resources.contains_key("postgres.default#web.keep"));
    assert_eq!(events.lines_of(uid), ["dropping user with password ********"], "its own secret is redacted");
    assert_eq!(*events.started.lock().unwrap(), [(uid.to_owned(), "pg".to_owned(), Mode::Deprovision)]);
}

#[test]
fn deprovision_errors_are_clear_and_keep_the_resource() {
    let dir = project();
    let root = dir.path();
    let defs = defs(root, "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n");
    let w = workloads(&[&doc("web", "db:\n  type: postgres\n")]);
    let uid = "postgres.default#web.db";
    let mut state = State::new("");
    assert_all_provisioned(&provision_default(root, &defs, &w, &mut state));
    let events = Recorder::default();

    let e = deprovision("postgres.default#web.nope", &mut state, &defs, root, &FlyEnv::default(), &events).unwrap_err();
    assert!(matches!(e, DeprovisionError::Unknown(_)), "{e:?}");
    assert!(e.to_string().contains("no resource `postgres.default#web.nope`"), "{e}");

    let e = deprovision(uid, &mut state, &[], root, &FlyEnv::default(), &events).unwrap_err();
    assert!(matches!(&e, DeprovisionError::MissingProvisioner { provisioner, .. } if provisioner == "pg"), "{e:?}");
    assert!(e.to_string().contains(&format!("resource `{uid}` was provisioned by `pg`, which is no longer defined")));

    write(root, "fail-web.db", "");
    let e = deprovision(uid, &mut state, &defs, root, &FlyEnv::default(), &events).unwrap_err();
    let message = e.to_string();
    assert!(message.contains(&format!("failed to deprovision `{uid}`")) && message.contains("told to fail"), "{e}");
    assert!(state.resources.contains_key(uid), "a failed deprovision keeps the resource");
}

// ----- the state file ------------------------------------------------------------------------

fn open(root: &Path) -> Project {
    Project::open(root, LockWait { timeout: Duration::from_secs(10) }, &mut |_| {}).expect("project opens")
}

#[test]
fn state_round_trips_through_the_file_with_mode_0600() {
    let dir = project();
    let root = dir.path();
    write(
        root,
        "answer-web.db.provision.json",
        &json!({
            "state": {"n": 1},
            "values": {"host": "h", "port": 5432},
            "secrets": {"password": DB_PASSWORD},
            "shared": {"s": [1]},
        })
        .to_string(),
    );
    let defs = defs(root, "- {id: pg, type: postgres, cmd: {binary: ./prov.sh}}\n");
    let w = workloads(&[&doc("web", "db:\n  type: postgres\n  params: {size: 1}\n")]);
    let mut state = State::new("demo-");
    assert_all_provisioned(&provision_default(root, &defs, &w, &mut state));

    let project = open(root);
    assert_eq!(project.load().unwrap(), None, "no state yet");
    project.save(&state).unwrap();
    project.save(&state).unwrap(); // overwriting works too
    assert_eq!(project.load().unwrap().as_ref(), Some(&state));
    assert_eq!(project.load().unwrap().unwrap().resources["postgres.default#web.db"].secrets["password"], DB_PASSWORD);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(project.state_path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the state holds secrets");
    }
    let leftovers: Vec<PathBuf> = std::fs::read_dir(project.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("tmp")))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(project);
    // A new process (here: a new open) sees the same state.
    assert_eq!(open(root).load().unwrap(), Some(state));
}

#[test]
fn a_corrupt_or_unknown_version_state_file_is_an_error_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let project = open(root);
    project.save(&State::new("demo-")).unwrap();
    let path = project.state_path();
    let newer = format!("{{\"version\": {}, \"app_prefix\": \"demo-\", \"future\": true}}\n", STATE_VERSION + 1);
    for (text, expected) in [
        ("{ \"version\": 1, \"app_prefix\": ", "is corrupt"),
        ("[]", "is corrupt"),
        ("{\"version\": 1, \"app_prefix\": \"\", \"surprise\": 1}", "unknown field `surprise`"),
        (newer.as_str(), "has version 2, but this score-fly reads version 1"),
    ] {
        std::fs::write(&path, text).unwrap();
        let e = project.load().unwrap_err();
        let message = e.to_string();
        assert!(message.contains(&path.display().to_string()) && message.contains(expected), "{text}: {message}");
        assert!(matches!(e, StateError::Corrupt { .. } | StateError::UnknownVersion { .. }), "{e:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "never reset");
    }
    // Reopening the project (which tidies the folder) does not touch it either.
    drop(project);
    let again = open(root);
    assert!(again.load().is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), newer);
}

#[test]
fn a_second_open_waits_for_the_lock_holder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let first = open(&root);
    first.save(&State::new("demo-")).unwrap();
    let (told_tx, told_rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        Project::open(&root, LockWait { timeout: Duration::from_secs(30) }, &mut |holder| {
            let _ = told_tx.send(holder.to_owned());
        })
        .map(|p| p.load().map(|s| s.map(|s| s.app_prefix)))
    });
    let holder = told_rx.recv_timeout(Duration::from_secs(30)).expect("the waiter is told who holds the lock");
    assert_eq!(holder, format!("pid {}", std::process::id()));
    drop(first);
    let loaded = waiter.join().unwrap().expect("opens once released").expect("loads");
    assert_eq!(loaded.as_deref(), Some("demo-"));
}
