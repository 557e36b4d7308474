//! The dev events and what a dev run prints before the service starts: where it listens,
//! its environment (secret values masked) and each resource's outputs (secret ones masked).

use std::sync::atomic::{AtomicBool, Ordering};

use score_fly_core::local::ServerInfo;
use score_fly_core::ops::dev::{DevEvent, EnvValue, Prepared, Ready};
use score_fly_core::secret::MASK;

use crate::printer::Printer;

/// The files warning is given once per process (a `--watch` session prepares again on change).
static FILES_WARNED: AtomicBool = AtomicBool::new(false);

/// Prints one dev event.
pub(super) fn render(p: &Printer, event: &DevEvent<'_>) {
    match event {
        DevEvent::Files { workload, dir, targets } => {
            let dir = crate::cargo::relative(dir);
            p.status("Wrote", &format!("{} file(s) of workload `{workload}` under {dir}", targets.len()));
            if !FILES_WARNED.swap(true, Ordering::Relaxed) {
                p.warning(
                    &format!(
                        "files are not written at their container paths ({}) on this machine but under {dir}; read them through $SCORE_FLY_FILES_DIR (`$SCORE_FLY_FILES_DIR{}`)",
                        targets.join(", "),
                        targets.first().copied().unwrap_or("/...")
                    ),
                    "",
                );
            }
        }
        DevEvent::Release { workload, command } => {
            p.status("Releasing", &format!("{workload}: running its release command `{command}` before it starts"));
        }
        DevEvent::PortMoved { workload, port, wanted, local } => p.warning(
            &format!("port `{port}` of workload `{workload}` ({wanted}) is taken on this machine: it is served on {local} ($PORT / ${})", score_fly_core::ops::dev::port_variable(port)),
            "",
        ),
        DevEvent::Started { workload, ports, pid } => listening(p, workload, ports, *pid),
        _ => {}
    }
}

/// The resources' outputs and each workload's environment and ports.
pub fn prepared(p: &Printer, prepared: &Prepared) {
    for r in &prepared.resources {
        let mut outputs: Vec<String> = r.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        outputs.extend(r.secrets.iter().map(|k| format!("{k}={MASK}")));
        p.status("Resource", &format!("{} {}", r.uid, outputs.join(" ")));
    }
    for w in &prepared.workloads {
        environment(p, w);
    }
}

fn environment(p: &Printer, w: &Ready) {
    let shown: Vec<String> = w
        .env
        .iter()
        .map(|(k, v)| match v {
            EnvValue::Plain(v) => format!("{k}={v}"),
            EnvValue::Secret(_) => format!("{k}={MASK}"),
        })
        .collect();
    if !shown.is_empty() {
        p.verbose(&format!("environment of `{}`: {}", w.name, shown.join(" ")));
        let names: Vec<&str> = w.env.keys().map(String::as_str).collect();
        p.status("Environment", &format!("`{}`: {}", w.name, names.join(", ")));
    }
}

/// Where each local server listens and keeps its data (never a password).
pub fn servers(p: &Printer, servers: &[ServerInfo]) {
    for s in servers {
        let data = crate::cargo::relative(&s.data);
        p.status("Server", &format!("{} for {} on {}, data in {data}", s.kind, s.serves.join(", "), s.address));
    }
}

/// Where each service listens, once it started.
fn listening(p: &Printer, workload: &str, ports: &std::collections::BTreeMap<String, u16>, pid: u32) {
    let ports: Vec<String> = ports.iter().map(|(name, port)| format!("{name} http://localhost:{port}")).collect();
    let at = if ports.is_empty() { String::from("(no service ports)") } else { ports.join(", ") };
    p.status("Running", &format!("`{workload}` (pid {pid}): {at}"));
}
