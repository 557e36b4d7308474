//! The application layer: what `cargo score-fly`'s commands do, without a command line.
//!
//! Each operation takes typed settings (a [`crate::target::FlyTarget`] and plain values,
//! never clap arguments), reports progress through one [`Reporter`], and returns a typed
//! report (serde-serialisable where a command prints it as JSON) or an [`Error`]:
//!
//! | operation | module | report |
//! |---|---|---|
//! | open and lock a project, join this run's workloads, preflight, provision, convert, write, record | [`project`] | [`project::Opened`], [`project::Converted`] |
//! | build a package's image (cargo, assemble, write a layout, push), or write a Dockerfile | [`build`] | [`build::BuiltImage`] |
//! | plan a deploy, then apply the plan | [`deploy`] | [`deploy::DeployPlan`] → [`deploy::DeployReport`] |
//! | create a project and a workload to start from | [`init`] | [`init::InitReport`] |
//! | run workloads locally: local state, provision, resolve, write files, run the binary | [`dev`] | [`dev::Prepared`], [`dev::Running`] |
//! | add, list and remove provisioner definitions | [`provisioners`] | [`provisioners::Added`], [`provisioners::Listed`] |
//! | destroy workloads' apps and the resources only they use, then forget them | [`destroy`] | [`destroy::DestroyPlan`] → [`destroy::DestroyReport`] |
//! | read the apps' logs (streamed, or what is buffered, sorted) | [`logs`] | [`logs::LogLine`]s to a sink, [`logs::LogsReport`] |
//! | list resources, show their outputs, deprovision one | [`resources`] | [`resources::ListedResource`], [`resources::ResourceOutputs`], [`resources::Deprovisioned`] |
//! | record releases, list them, roll back to one | [`releases`] | [`releases::ReleaseList`], [`releases::RollbackPlan`] → [`releases::RollbackReport`] |
//! | what runs on Fly, resource health hints, drift | [`status`] | [`status::StatusReport`] |
//!
//! The command line (`cargo-score-fly`) keeps clap, cargo package discovery, the printer
//! and the exit codes: a command maps its arguments to settings, calls one operation here,
//! and renders what comes back.

pub mod build;
pub mod deploy;
pub mod destroy;
pub mod dev;
mod error;
pub mod generate;
pub mod init;
pub mod logs;
pub mod project;
pub mod provisioners;
pub mod releases;
pub mod resources;
pub mod status;

pub use error::{Error, ErrorKind};

use crate::provision::Events;

/// Where an operation's progress goes: provisioning events ([`Events`], shared with the
/// engine) and the operations' own ([`Event`]). The command line prints them; a test or
/// another front end may collect them. Never carries a secret value.
pub trait Reporter: Events {
    /// Something happened.
    fn event(&self, event: Event<'_>);
}

/// A reporter that drops every event (for tests and library callers that only want the
/// report).
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Events for Silent {}

impl Reporter for Silent {
    fn event(&self, _event: Event<'_>) {}
}

/// One step of an operation, for people (the report is the machine-readable outcome).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Opening, provisioning, converting and writing a project ([`project`]).
    Project(project::ProjectEvent<'a>),
    /// Building an image ([`build`]).
    Build(build::BuildEvent<'a>),
    /// Creating apps, importing secrets, running `fly deploy` ([`deploy`]).
    Deploy(deploy::DeployEvent<'a>),
    /// Creating or finding a project ([`init`]).
    Init(init::InitEvent<'a>),
    /// Destroying apps and forgetting workloads ([`destroy`]).
    Destroy(destroy::DestroyEvent<'a>),
    /// Running workloads locally ([`dev`]).
    Dev(dev::DevEvent<'a>),
    /// Recording releases, rolling back ([`releases`]).
    Releases(releases::ReleasesEvent<'a>),
}
