//! Progress of every operation: the one [`Reporter`] a front end implements, the [`Event`]
//! it receives, and each operation's own events. They sit below the operations (which
//! report through them) and name nothing of theirs, so no operation is imported back.

use std::path::Path;
use std::time::Duration;

use crate::fly;
use crate::flyio::api::ApiError;
use crate::image::{self, LayoutReport, PushEvent};
use crate::provision::Events;
use crate::spec::Loaded;

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
    /// Opening, provisioning, converting and writing a project (`ops::project`).
    Project(ProjectEvent<'a>),
    /// Building an image (`ops::build`).
    Build(BuildEvent<'a>),
    /// Creating apps, importing secrets, running `fly deploy` (`ops::deploy`).
    Deploy(DeployEvent<'a>),
    /// Creating or finding a project (`ops::init`).
    Init(InitEvent<'a>),
    /// Destroying apps and forgetting workloads (`ops::destroy`).
    Destroy(DestroyEvent<'a>),
    /// Running workloads locally (`ops::dev`).
    Dev(DevEvent<'a>),
    /// Recording releases, rolling back (`ops::releases`).
    Releases(ReleasesEvent<'a>),
}

/// One step of a project run.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProjectEvent<'a> {
    /// Waiting for the project lock held by `holder`.
    Blocking {
        /// Who holds it.
        holder: &'a str,
    },
    /// The app prefix changed (nothing existed on Fly under the old one).
    PrefixChanged {
        /// The old prefix.
        old: &'a str,
        /// The new one.
        new: &'a str,
    },
    /// A resource held names made from the old prefix: it is provisioned again.
    PrefixForgotten {
        /// The resource.
        uid: &'a str,
    },
    /// A workload added from one file is now declared by another.
    Replaced {
        /// The workload.
        workload: &'a str,
        /// Where it came from.
        previous: &'a Path,
        /// Where it comes from now.
        file: &'a Path,
    },
    /// The builtin Fly provisioners were written to `default.provisioners.yaml`.
    Registered {
        /// The file.
        path: &'a Path,
    },
    /// A conversion warning, located in the workload's file when it was loaded this run.
    Warning {
        /// The workload.
        workload: &'a str,
        /// The warning (field path and message).
        warning: &'a fly::Problem,
        /// The loaded file, to point into.
        loaded: Option<&'a Loaded>,
    },
    /// A file was written.
    Wrote {
        /// The file.
        path: &'a Path,
    },
}

/// One step of a build.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildEvent<'a> {
    /// The base image was found (pulled, cached or read from disk).
    Base {
        /// As written.
        base: &'a str,
        /// Its manifest digest.
        digest: &'a str,
        /// How long finding it took.
        elapsed: Duration,
    },
    /// A tag's cached pin was used without asking the registry.
    BasePinned {
        /// As written.
        base: &'a str,
        /// The pinned digest.
        digest: &'a str,
        /// How long ago it was pinned, if known.
        age: Option<Duration>,
    },
    /// The build-time environment's names (never values), when there are any.
    BuildEnv {
        /// Variable names.
        names: Vec<&'a str>,
    },
    /// The image was written into an OCI image layout.
    WroteLayout {
        /// The layout folder.
        dir: &'a Path,
        /// The tag.
        tag: &'a str,
        /// The image digest.
        digest: &'a str,
        /// What happened to the layout's other content.
        report: &'a LayoutReport,
    },
    /// A blob of a push.
    Push(&'a PushEvent),
    /// The push is done.
    Pushed {
        /// `<registry>/<app>:<tag>`.
        reference: &'a str,
        /// The image digest.
        digest: &'a str,
        /// Blobs uploaded.
        uploaded: usize,
        /// Blobs in all.
        blobs: usize,
        /// Bytes uploaded.
        bytes: u64,
    },
    /// The SBOM was attached to the pushed image.
    SbomAttached {
        /// `<registry>/<app>:<tag>` of the image.
        reference: &'a str,
        /// The SBOM artifact's manifest digest.
        digest: &'a str,
        /// How: the referrers API or the `sha256-<hex>` tag.
        how: image::sbom::Attached,
        /// Crates listed.
        crates: usize,
    },
    /// The image was built, neither pushed nor written anywhere.
    BuiltNotPushed {
        /// The package.
        package: &'a str,
        /// The image digest.
        digest: &'a str,
    },
    /// A Dockerfile for Fly's remote builder was written.
    WroteDockerfile {
        /// Its path.
        path: &'a Path,
    },
}

/// One step of a deploy.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeployEvent<'a> {
    /// The app exists.
    AppExists {
        /// The app.
        app: &'a str,
    },
    /// Whether the app exists cannot be told (the plan treats it as unknown).
    AppUnknown {
        /// The app.
        app: &'a str,
        /// Why.
        error: &'a ApiError,
    },
    /// The app is being created.
    CreatingApp {
        /// The app.
        app: &'a str,
        /// In this organisation.
        org: &'a str,
    },
    /// A line flyctl printed (secrets redacted); `deploy`: from `fly deploy` itself.
    Flyctl {
        /// The line.
        line: &'a str,
        /// From `fly deploy` (shown in full), not a setup command (verbose only).
        deploy: bool,
    },
    /// A fly.toml was written.
    Generated {
        /// The file.
        path: &'a Path,
        /// Its app.
        app: &'a str,
    },
    /// Secrets are imported (names only).
    ImportingSecrets {
        /// The app.
        app: &'a str,
        /// The names.
        names: &'a [String],
    },
    /// The app's secrets are unchanged since the last deploy.
    SecretsUnchanged {
        /// The app.
        app: &'a str,
    },
    /// Secrets no longer used are unset.
    UnsettingSecrets {
        /// The app.
        app: &'a str,
        /// The names.
        names: &'a [String],
    },
    /// The digest of an image given by tag cannot be had from its registry: the deploy goes
    /// on with the tag, and the state records no digest for it.
    ImageDigestUnknown {
        /// The app.
        app: &'a str,
        /// The image, as given.
        image: &'a str,
        /// Why.
        error: &'a (dyn std::error::Error + 'static),
    },
    /// `fly deploy` runs.
    Deploying {
        /// The app.
        app: &'a str,
        /// The image, when one is given.
        image: Option<&'a str>,
    },
    /// The app is deployed.
    Deployed {
        /// The app.
        app: &'a str,
        /// Its URL.
        url: &'a str,
    },
}

/// One step of `init`.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitEvent<'a> {
    /// The project already has a state (in `dir`): it is kept.
    Found {
        /// The project's `.score-fly` folder.
        dir: &'a Path,
    },
    /// A new project state was written (in `dir`) with this app prefix.
    Created {
        /// The project's `.score-fly` folder.
        dir: &'a Path,
        /// Its app prefix (may be empty).
        prefix: &'a str,
    },
}

/// Progress of a destroy.
#[derive(Debug)]
#[non_exhaustive]
pub enum DestroyEvent<'a> {
    /// An app is being destroyed.
    DestroyingApp {
        /// The app.
        app: &'a str,
    },
    /// An app was already gone.
    AppGone {
        /// The app.
        app: &'a str,
    },
    /// An app name belongs to another organisation: not ours to destroy.
    AppElsewhere {
        /// The app.
        app: &'a str,
    },
    /// A line flyctl printed (secrets redacted).
    Flyctl {
        /// The line.
        line: &'a str,
    },
    /// A workload was removed from the project state.
    Forgotten {
        /// The workload.
        workload: &'a str,
    },
}

/// One step of a dev run.
#[derive(Debug)]
#[non_exhaustive]
pub enum DevEvent<'a> {
    /// The files of a workload were written (once per run; the warning about paths).
    Files {
        /// The workload.
        workload: &'a str,
        /// The folder.
        dir: &'a Path,
        /// The container paths.
        targets: Vec<&'a str>,
    },
    /// A service port is served on another local port (the container port was taken).
    PortMoved {
        /// The workload.
        workload: &'a str,
        /// The port's name.
        port: &'a str,
        /// The container port.
        wanted: u16,
        /// The local port.
        local: u16,
    },
    /// The workload's release command (`score-fly/release-command`, the macro's
    /// `release_command`) runs before the service starts, as Fly runs it before a deploy.
    Release {
        /// The workload.
        workload: &'a str,
        /// The command line.
        command: &'a str,
    },
    /// A service started ([`start_all`]).
    Started {
        /// The workload.
        workload: &'a str,
        /// Its service ports: name → local port.
        ports: &'a std::collections::BTreeMap<String, u16>,
        /// Its pid (also its process group).
        pid: u32,
    },
}

/// One step of recording a release or rolling back.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReleasesEvent<'a> {
    /// A release was recorded.
    Recorded {
        /// The workload.
        workload: &'a str,
        /// Fly's version.
        version: u64,
    },
    /// `fly deploy` succeeded but its release could not be recorded (the deploy stands).
    NotRecorded {
        /// The workload.
        workload: &'a str,
        /// Why.
        error: &'a (dyn std::error::Error + 'static),
    },
    /// `fly deploy` of an earlier release runs.
    RollingBack {
        /// The app.
        app: &'a str,
        /// The current version.
        from: u64,
        /// The version deployed again.
        to: u64,
        /// Its image.
        image: &'a str,
    },
    /// A line flyctl printed (secrets redacted).
    Flyctl {
        /// The line.
        line: &'a str,
    },
}
