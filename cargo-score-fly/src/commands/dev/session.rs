//! The supervision of a dev session: one cycle (workloads found again, provisioned,
//! resolved, built) → the children started; then wait for a child's exit, SIGINT/SIGTERM
//! (forwarded to the children's process groups, then the session ends), or with `--watch` a
//! change (debounced) that starts a new cycle, whose failure keeps the running children.

use std::sync::Arc;
use std::time::Duration;

use score_fly_core::local::LocalEnv;
use score_fly_core::ops::build::BuildOptions;
use score_fly_core::ops::dev::{self, DevOptions, DevProject, Launch, LineSink, Running, Watcher, WorkloadPorts};

use super::{Failure, Session};
use crate::cargo::Workspace;
use crate::cli::DevArgs;

/// How often the supervisor looks at its children, signals and changes.
const TICK: Duration = Duration::from_millis(25);

/// A dev session.
pub(super) struct Supervisor<'a> {
    args: &'a DevArgs,
    session: &'a Session,
    dev: &'a mut DevProject,
    local: &'a mut LocalEnv,
    ports: WorkloadPorts,
    build: BuildOptions,
}

impl<'a> Supervisor<'a> {
    pub(super) fn new(
        args: &'a DevArgs,
        session: &'a Session,
        dev: &'a mut DevProject,
        local: &'a mut LocalEnv,
        build: BuildOptions,
    ) -> Self {
        Supervisor { args, session, dev, local, ports: WorkloadPorts::new(), build }
    }

    /// Runs the session; the error is the first service's exit code when it stopped.
    pub(super) fn run(mut self, workspace: &Workspace) -> Result<(), Failure> {
        let signal = crate::signals::interrupt_flag()?;
        let dirs: Vec<_> = workspace.services.iter().map(|s| s.dir.clone()).collect();
        let mut watcher =
            if self.args.watch { Some(Watcher::new(&dirs, &workspace.root, &workspace.target_dir)?) } else { None };
        // cargo updates Cargo.lock when a manifest changed: not a change of the user's.
        let own = [workspace.root.join("Cargo.lock")];
        let first = self.cycle()?;
        if let Some(w) = watcher.as_mut() {
            w.written_by_cycle(&own);
        }
        let mut running = self.start(&first)?;
        loop {
            if let Some(forwarded) = crate::signals::received(&signal) {
                self.session.printer.status("Stopping", "the service(s) (signal received)");
                let statuses: Vec<_> = running.into_iter().map(|r| r.stop(forwarded)).collect();
                return exited_with(dev::first_exit_code(&statuses));
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
                for r in running {
                    r.stop(rustix::process::Signal::TERM);
                }
                return exited_with(dev::exit_code(*status));
            }
            if let Some(w) = watcher.as_mut()
                && w.settled()
            {
                self.session.printer.status("Changed", "rebuilding");
                let cycle = self.cycle();
                w.written_by_cycle(&own);
                match cycle {
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
    fn cycle(&mut self) -> Result<Vec<Launch>, Failure> {
        let found = crate::sources::find(&super::workload_args(self.args), None, &self.session.printer)?;
        let services = found.workspace.as_ref().map(|w| w.services.clone()).unwrap_or_default();
        let specs: Vec<_> = found.sources.inputs.iter().map(|i| &i.loaded.workload).collect();
        self.ports = dev::local_ports(&specs, &self.ports)?;
        // The local provisioners see this cycle's workloads: ports or outputs a changed
        // score.yaml added are known to `service-port`, `route`, `dns` and `environment`.
        self.local.set_workloads(&dev::workload_entries(&found.sources.inputs), &self.ports);
        let options = DevOptions { jobs: self.args.jobs, reprovision: self.args.reprovision };
        let reporter = self.session.reporter();
        let prepared = self.dev.prepare(
            &found.sources.inputs,
            &self.ports,
            self.args.allow_outside_source,
            self.local,
            options,
            &reporter,
        )?;
        crate::report::dev::prepared(&self.session.printer, &prepared);
        crate::report::dev::servers(&self.session.printer, &self.local.servers());
        let mut ready = Vec::new();
        for w in prepared.workloads {
            let Some(service) = services.iter().find(|s| s.loaded.workload.name() == w.name) else { continue };
            let bin = service.bin.as_deref().unwrap_or_default();
            // The package's build-env setting, as `build` uses it.
            let env = crate::commands::build::package(service, bin, &found.settings, &[])?.build_env;
            let binary = score_fly_core::ops::build::compile(&service.package, bin, &self.build, &env)?;
            ready.push(Launch { ready: w, binary, dir: service.dir.clone() });
        }
        Ok(ready)
    }

    /// Starts every workload (output prefixed when there are several).
    fn start(&self, launches: &[Launch]) -> Result<Vec<Running>, Failure> {
        let printer = self.session.printer.clone();
        let sink: Option<LineSink> = (launches.len() > 1)
            .then(|| Arc::new(move |w: &str, l: &str, e: bool| printer.service_line(w, l, e)) as LineSink);
        Ok(dev::start_all(launches, &self.args.args, sink.as_ref(), &self.session.reporter())?)
    }
}

/// The session's end: a service's exit code, 0 a success.
fn exited_with(code: u8) -> Result<(), Failure> {
    if code == 0 { Ok(()) } else { Err(Failure::Exited(code)) }
}
