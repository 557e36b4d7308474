//! The supervision of a dev session: one cycle (workloads found again, provisioned,
//! resolved, built) → the children started; then wait for a child's exit, SIGINT/SIGTERM
//! (forwarded to the children's process groups, then the session ends), or with `--watch` a
//! change (debounced) that starts a new cycle, whose failure keeps the running children.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use score_fly_core::ops::build::BuildOptions;
use score_fly_core::ops::dev::{self, DevOptions, DevProject, LineSink, Ready, Running, WorkloadPorts};

use super::{Failure, LocalBuiltins, Session};
use crate::cargo::Workspace;
use crate::cli::DevArgs;

/// Changes closer together than this are one change.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// How often the supervisor looks at its children, signals and changes.
const TICK: Duration = Duration::from_millis(25);

/// A dev session.
pub(super) struct Supervisor<'a> {
    args: &'a DevArgs,
    session: &'a Session,
    dev: &'a mut DevProject,
    local: &'a LocalBuiltins,
    ports: WorkloadPorts,
    build: BuildOptions,
}

/// A workload ready to start: its environment, binary and folder.
struct Ready1 {
    ready: Ready,
    binary: PathBuf,
    dir: PathBuf,
}

impl<'a> Supervisor<'a> {
    pub(super) fn new(
        args: &'a DevArgs,
        session: &'a Session,
        dev: &'a mut DevProject,
        local: &'a LocalBuiltins,
        ports: WorkloadPorts,
        build: BuildOptions,
    ) -> Self {
        Supervisor { args, session, dev, local, ports, build }
    }

    /// Runs the session; the error is the first service's exit code when it stopped.
    pub(super) fn run(mut self, workspace: &Workspace) -> Result<(), Failure> {
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let id = usize::try_from(sig).unwrap_or_default();
            signal_hook::flag::register_usize(sig, Arc::clone(&signal), id)
                .map_err(|e| Failure::Error(format!("cannot catch signal {sig}: {e}")))?;
        }
        let (tx, changes) = mpsc::channel::<()>();
        let _watcher = if self.args.watch { Some(watch(workspace, tx)?) } else { None };
        let first = self.cycle()?;
        let mut running = self.start(&first)?;
        let mut pending: Option<Instant> = None;
        loop {
            let sig = signal.swap(0, Ordering::SeqCst);
            if sig != 0 {
                let forwarded = i32::try_from(sig).ok().and_then(rustix::process::Signal::from_named_raw);
                let forwarded = forwarded.unwrap_or(rustix::process::Signal::TERM);
                self.session.printer.status("Stopping", "the service(s) (signal received)");
                return finish(running.into_iter().map(|r| r.stop(forwarded)).collect());
            }
            let mut exited = Vec::new();
            running.retain_mut(|r| match r.try_wait() {
                Some(status) => {
                    exited.push((r.workload.clone(), status));
                    false
                }
                None => true,
            });
            for (workload, status) in &exited {
                self.session.printer.status("Exited", &format!("`{workload}`: {status}"));
            }
            if let Some((_, status)) = exited.first().filter(|_| !self.args.watch) {
                let code = dev::exit_code(*status);
                let rest: Vec<_> = running.into_iter().map(|r| r.stop(rustix::process::Signal::TERM)).collect();
                drop(rest);
                return if code == 0 { Ok(()) } else { Err(Failure::Exited(code)) };
            }
            while changes.try_recv().is_ok() {
                pending = Some(Instant::now());
            }
            if pending.is_some_and(|at| at.elapsed() >= DEBOUNCE) {
                pending = None;
                self.session.printer.status("Changed", "rebuilding");
                match self.cycle() {
                    Ok(next) => {
                        for r in running.drain(..) {
                            r.stop(rustix::process::Signal::TERM);
                        }
                        running = self.start(&next)?;
                    }
                    Err(failure) => {
                        crate::render::failure(&self.session.printer, &failure);
                        self.session
                            .printer
                            .warning("the build or its resources failed: the last good service keeps running", "");
                    }
                }
            }
            std::thread::sleep(TICK);
        }
    }

    /// One cycle: the workloads provisioned and resolved, each binary built.
    fn cycle(&mut self) -> Result<Vec<Ready1>, Failure> {
        let found = crate::sources::find(&super::workload_args(self.args), None, &self.session.printer)?;
        let services = found.workspace.as_ref().map(|w| w.services.clone()).unwrap_or_default();
        let specs: Vec<_> = found.sources.inputs.iter().map(|i| &i.loaded.workload).collect();
        self.ports = dev::local_ports(&specs, &self.ports)?;
        let options = DevOptions { jobs: self.args.jobs, reprovision: self.args.reprovision };
        let reporter = self.session.reporter();
        let prepared = self.dev.prepare(
            &found.sources.inputs,
            &self.ports,
            self.args.allow_outside_source,
            self.local.builtins(),
            options,
            &reporter,
        )?;
        crate::report::dev::prepared(&self.session.printer, &prepared);
        for line in self.local.servers() {
            self.session.printer.status("Server", &line);
        }
        let mut ready = Vec::new();
        for w in prepared.workloads {
            let Some(service) = services.iter().find(|s| s.loaded.workload.name() == w.name) else { continue };
            let bin = service.bin.as_deref().unwrap_or_default();
            // The package's build-env setting, as `build` uses it.
            let env = crate::commands::build::package(service, bin, &found.settings, &[])?.build_env;
            let binary = score_fly_core::ops::build::compile(&service.package, bin, &self.build, &env)?;
            ready.push(Ready1 { ready: w, binary, dir: service.dir.clone() });
        }
        Ok(ready)
    }

    /// Starts every workload (output prefixed when there are several).
    fn start(&self, ready: &[Ready1]) -> Result<Vec<Running>, Failure> {
        let printer = self.session.printer.clone();
        let sink: Option<LineSink> = (ready.len() > 1)
            .then(|| Arc::new(move |w: &str, l: &str, e: bool| printer.service_line(w, l, e)) as LineSink);
        let mut running = Vec::new();
        for r in ready {
            let child = dev::release(&r.ready, &r.binary, &r.dir, &self.session.reporter())
                .and_then(|()| Running::start(&r.ready, &r.binary, &r.dir, &self.args.args, sink.clone()));
            match child {
                Ok(child) => {
                    crate::report::dev::listening(&self.session.printer, &r.ready, child.id());
                    running.push(child);
                }
                Err(e) => {
                    for r in running {
                        r.stop(rustix::process::Signal::TERM);
                    }
                    return Err(e.into());
                }
            }
        }
        Ok(running)
    }
}

/// The exit code of the first stopped service.
fn finish(statuses: Vec<Option<std::process::ExitStatus>>) -> Result<(), Failure> {
    match statuses.into_iter().flatten().next().map(dev::exit_code) {
        None | Some(0) => Ok(()),
        Some(code) => Err(Failure::Exited(code)),
    }
}

/// A watcher sending `()` on every change below the package folders but outside cargo's
/// target folder and `.score-fly/`.
fn watch(workspace: &Workspace, tx: mpsc::Sender<()>) -> Result<notify::RecommendedWatcher, Failure> {
    use notify::Watcher as _;
    let root = workspace.root.clone();
    let target = workspace.target_dir.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        if event.paths.iter().any(|p| !super::ignored(p, &root, &target)) {
            let _ = tx.send(());
        }
    })
    .map_err(|e| Failure::Error(format!("cannot watch for changes: {e}")))?;
    for dir in super::watched(workspace) {
        watcher
            .watch(&dir, notify::RecursiveMode::Recursive)
            .map_err(|e| Failure::Error(format!("cannot watch {}: {e}", dir.display())))?;
    }
    Ok(watcher)
}
