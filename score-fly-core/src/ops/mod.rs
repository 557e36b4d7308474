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
mod event;
pub mod generate;
pub mod init;
mod kind;
pub mod logs;
pub mod project;
pub mod provisioners;
pub mod releases;
pub mod resources;
pub mod status;

pub use error::{Error, ErrorKind};
pub use event::{Event, Reporter, Silent};
