//! Why a build failed, and how a front end treats each reason.

use std::path::PathBuf;

use crate::image::{self, ImageError, RegistryError};
use crate::ops::kind::ErrorKind;

/// Why a build failed. Each message is a whole sentence a front end shows after `error: `:
/// it names the package, binary, file or registry and says what to do; none carries a
/// secret (the Fly token is never part of one).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// This host cannot build Linux x86-64 binaries.
    #[error(
        "this host ({os}/{arch}) cannot build Linux x86-64 binaries for Fly; run `cargo score-fly build --builder dockerfile` to build on Fly's remote builder instead"
    )]
    HostCannotBuild {
        /// `std::env::consts::OS`.
        os: &'static str,
        /// `std::env::consts::ARCH`.
        arch: &'static str,
    },
    /// `SOURCE_DATE_EPOCH` is not a time.
    #[error(transparent)]
    SourceDateEpoch(#[from] image::layer::SourceDateEpochError),
    /// A `build-env` entry cannot be used.
    #[error("failed to {0}")]
    BuildEnv(#[source] image::build_env::BuildEnvError),
    /// The base image reference cannot be read.
    #[error("base image: {0}")]
    BadBase(#[source] image::BaseRefError),
    /// Pulling the base, checking the binary, assembling, writing or pushing the image.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// cargo could not be started.
    #[error("cannot run cargo: {0}")]
    CargoStart(#[source] std::io::Error),
    /// cargo could not be waited for.
    #[error("cannot wait for cargo: {0}")]
    CargoWait(#[source] std::io::Error),
    /// cargo failed (its diagnostics went to stderr).
    #[error("cargo build of `{package}` (binary `{binary}`) failed; see cargo's output above")]
    CargoFailed {
        /// The package.
        package: String,
        /// The binary.
        binary: String,
    },
    /// cargo succeeded but reported no executable for the binary.
    #[error("cargo built `{package}` but reported no `{binary}` executable")]
    NoExecutable {
        /// The package.
        package: String,
        /// The binary.
        binary: String,
    },
    /// The built binary cannot be read.
    #[error("cannot read the binary {}: {source}", .path.display())]
    ReadBinary {
        /// Its path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The source declares `#[score_workload]` but the binary carries none.
    #[error(
        "{} carries no #[score_workload] although its source declares one; was it built from other sources?",
        .path.display()
    )]
    EmbeddedMissing {
        /// The binary.
        path: PathBuf,
    },
    /// The embedded workload is not JSON.
    #[error("the workload embedded in {} is not valid JSON: {source}", .path.display())]
    EmbeddedInvalid {
        /// The binary.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The binary carries another workload than the source declares.
    #[error(
        "{} carries a different workload than its source declares (built with other features or sources?); rebuild, or check #[score_workload] and the Score file",
        .path.display()
    )]
    EmbeddedMismatch {
        /// The binary.
        path: PathBuf,
    },
    /// `--push` without a Fly token.
    #[error(
        "pushing to {registry} needs a Fly token: set FLY_API_TOKEN (e.g. from `fly tokens create deploy -a {app}`)"
    )]
    NoToken {
        /// The registry host.
        registry: String,
        /// The app the image is for.
        app: String,
    },
    /// The app's image name is not a valid reference.
    #[error("image name for app `{app}`: {why}")]
    ImageName {
        /// The app.
        app: String,
        /// What is wrong.
        #[source]
        why: image::reference::ReferenceError,
    },
    /// `--output-oci` with several packages.
    #[error(
        "--output-oci {} holds one image, but {} packages are chosen ({}): choose one with -p",
        .dir.display(), .packages.len(), .packages.join(", ")
    )]
    OutputOciSeveral {
        /// The folder.
        dir: PathBuf,
        /// The chosen packages.
        packages: Vec<String>,
    },
    /// `--output-oci` names a protected path.
    #[error(transparent)]
    OutputRefused(Box<crate::outputs::OutputError>),
    /// A name cannot be written into a Dockerfile.
    #[error("failed to {0}")]
    Dockerfile(#[source] image::dockerfile::DockerfileError),
    /// An existing Dockerfile was not written by score-fly.
    #[error(
        "{} exists and score-fly did not write it (it lacks the line `{} ...`); move it away to let `--builder dockerfile` write one, or build natively",
        .path.display(), super::DOCKERFILE_MARK
    )]
    NotOurDockerfile {
        /// The Dockerfile, as messages show it.
        path: PathBuf,
    },
    /// The crates of the binary cannot be listed for its SBOM.
    #[error("cannot list the crates of `{package}` for its SBOM: {why}")]
    Sbom {
        /// The package.
        package: String,
        /// Why.
        #[source]
        why: super::crates::CratesError,
    },
    /// The Dockerfile could not be written.
    #[error(transparent)]
    Write(#[from] crate::fsutil::FsError),
}

impl BuildError {
    /// How a front end should treat it: the input's fault ([`ErrorKind::Invalid`]: flags,
    /// settings, a base image or binary that cannot work, refused credentials) or not
    /// ([`ErrorKind::Failed`]: cargo, I/O, the network).
    pub fn kind(&self) -> ErrorKind {
        match self {
            BuildError::HostCannotBuild { .. }
            | BuildError::SourceDateEpoch(_)
            | BuildError::BuildEnv(_)
            | BuildError::BadBase(_)
            | BuildError::EmbeddedMismatch { .. }
            | BuildError::NoToken { .. }
            | BuildError::ImageName { .. }
            | BuildError::OutputOciSeveral { .. }
            | BuildError::OutputRefused(_)
            | BuildError::Dockerfile(_)
            | BuildError::NotOurDockerfile { .. } => ErrorKind::Invalid,
            BuildError::Image(e) => image_kind(e),
            BuildError::CargoStart(_)
            | BuildError::CargoWait(_)
            | BuildError::CargoFailed { .. }
            | BuildError::NoExecutable { .. }
            | BuildError::ReadBinary { .. }
            | BuildError::Sbom { .. }
            | BuildError::EmbeddedMissing { .. }
            | BuildError::EmbeddedInvalid { .. }
            | BuildError::Write(_) => ErrorKind::Failed,
        }
    }
}

/// An image error is the input's fault when the base or binary cannot work together, the
/// base on disk or the `--output-oci` folder is unusable, or the registry refuses the
/// credentials; a network or cache problem is not.
fn image_kind(e: &ImageError) -> ErrorKind {
    match e {
        ImageError::Glibc { .. }
        | ImageError::NoGlibc { .. }
        | ImageError::MissingLibraries { .. }
        | ImageError::NotALayout { .. }
        | ImageError::Local(_)
        | ImageError::Registry(RegistryError::Unauthorized { .. }) => ErrorKind::Invalid,
        _ => ErrorKind::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_whose_fault_it_is() {
        let invalid = [
            BuildError::HostCannotBuild { os: "macos", arch: "aarch64" },
            BuildError::BadBase(image::BaseRef::parse("oci:").expect_err("no path")),
            BuildError::NoToken { registry: "registry.fly.io".into(), app: "a".into() },
            BuildError::EmbeddedMismatch { path: "b".into() },
            BuildError::Image(ImageError::Local(image::local::LocalError {
                base: "oci:x".into(),
                problem: image::local::LocalProblem::NoAmd64,
            })),
            BuildError::Image(ImageError::NotALayout { dir: "d".into(), why: image::NotALayoutWhy::NotAFolder }),
        ];
        for e in invalid {
            assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
        }
        let failed = [
            BuildError::CargoFailed { package: "p".into(), binary: "b".into() },
            BuildError::NoExecutable { package: "p".into(), binary: "b".into() },
            BuildError::EmbeddedMissing { path: "b".into() },
            BuildError::Image(ImageError::LayerNotCached { digest: "sha256:0".into() }),
        ];
        for e in failed {
            assert_eq!(e.kind(), ErrorKind::Failed, "{e}");
        }
    }

    #[test]
    fn messages_name_what_and_what_to_do() {
        let e = BuildError::OutputOciSeveral { dir: "oci".into(), packages: vec!["a".into(), "b".into()] };
        assert_eq!(
            e.to_string(),
            "--output-oci oci holds one image, but 2 packages are chosen (a, b): choose one with -p"
        );
        let e = BuildError::NoToken { registry: "registry.fly.io".into(), app: "acme-web".into() };
        assert!(e.to_string().contains("fly tokens create deploy -a acme-web"), "{e}");
    }
}
