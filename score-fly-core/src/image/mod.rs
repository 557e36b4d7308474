//! Daemonless container images: the cargo-built binary as one layer on a base image.
//!
//! - [`BaseRef`]: where the base image comes from: a registry ([`pull_base`]: manifest,
//!   config and layers downloaded once into a content-addressed cache under the target
//!   folder, [`BlobCache`]; a tag is pinned to the digest it had when first pulled,
//!   `refresh` pulls again), or an OCI layout or archive on disk ([`local`]).
//! - [`check_binary`]: refuse a binary that needs a newer glibc than the base image has
//!   ([`glibc`]), or a shared library (or loader) the base lacks ([`libs`]).
//! - [`assemble`]: base layers + one reproducible layer with the binary ([`layer`]), config
//!   with the entrypoint, environment and exposed ports; same inputs, same digests.
//! - [`write_layout`]: an OCI image layout folder (added to an existing layout, its other
//!   references kept, blobs no reference uses removed); [`push`]: the OCI distribution API
//!   ([`registry`]), skipping blobs the registry has and mounting those it has elsewhere.
//! - [`dockerfile`]: the fallback for hosts that cannot build Linux x86-64 binaries.

pub mod build_env;
pub mod compression;
pub mod dockerfile;
pub mod glibc;
pub mod layer;
pub mod libs;
pub mod local;
pub mod oci;
pub mod reference;
pub mod registry;
pub mod sbom;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use local::LocalBase;
pub use reference::Reference;
pub use registry::{Credentials, Registry, RegistryError};

use crate::fsutil::{self, FsError};
use oci::{Descriptor, ImageConfig, Manifest};

/// The default base image: glibc, CA certificates, nothing else ([`crate::target::DEFAULT_BASE_IMAGE`]).
pub const DEFAULT_BASE: &str = crate::target::DEFAULT_BASE_IMAGE;

/// Where the binary goes in the image.
pub const APP_DIR: &str = "/app";

/// Image problems.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A registry problem.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A cache or output file problem.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// The binary needs a newer glibc than the base image has.
    #[error(
        "{binary} needs glibc {required}, but the base image {base} has glibc {provided}: use a base image with glibc {required} or newer (`--base-image` or `base-image` in [package.metadata.score-fly]), build on a system with an older glibc, or link statically (target x86_64-unknown-linux-musl)"
    )]
    Glibc {
        /// The binary.
        binary: String,
        /// What it needs.
        required: glibc::Version,
        /// What the base has.
        provided: glibc::Version,
        /// The base image.
        base: String,
    },
    /// The base image has no glibc but the binary needs one.
    #[error(
        "{binary} needs glibc {required}, but the base image {base} has no libc.so.6: use a glibc base image such as {DEFAULT_BASE}, or link statically"
    )]
    NoGlibc {
        /// The binary.
        binary: String,
        /// What it needs.
        required: glibc::Version,
        /// The base image.
        base: String,
    },
    /// The binary needs shared libraries (or a loader) the base image lacks.
    #[error("{}", missing_libraries(.binary, .base, .report))]
    MissingLibraries {
        /// The binary.
        binary: String,
        /// The base image.
        base: String,
        /// What is missing and where the loader would look.
        report: libs::Report,
    },
    /// A base image on disk (`oci:`/`oci-archive:`) that cannot be used.
    #[error(transparent)]
    Local(#[from] local::LocalError),
    /// `--output-oci` names a folder that is not an OCI image layout.
    #[error(
        "--output-oci {dir}: {why}; choose a new or empty folder, or an OCI image layout (a folder with `oci-layout` and `index.json`) to add the image to"
    )]
    NotALayout {
        /// The folder.
        dir: String,
        /// What is wrong with it.
        why: NotALayoutWhy,
    },
    /// The binary is not an x86-64 ELF file score-fly can read.
    #[error("{binary}: {source}")]
    Binary {
        /// The binary, as named in messages.
        binary: String,
        /// What is wrong with it.
        source: glibc::ElfError,
    },
    /// A layer of the base image cannot be read.
    #[error("{base}: {source}")]
    BaseLayer {
        /// The base image.
        base: String,
        /// Which layer, and why.
        source: libs::LayerError,
    },
    /// The base image's `libc.so.6` defines no `GLIBC_` versions.
    #[error("the libc.so.6 of {base} defines no versions")]
    NoGlibcVersions {
        /// The base image.
        base: String,
    },
    /// A document of a registry's base image that is not what its media type says.
    #[error("the {document} of {reference} is not valid: {source}")]
    BadDocument {
        /// `image index`, `manifest` or `config`.
        document: &'static str,
        /// The base image.
        reference: String,
        /// The JSON parser's error.
        source: serde_json::Error,
    },
    /// A registry's image index without a linux/amd64 image.
    #[error("{reference} has no linux/amd64 image")]
    NoAmd64 {
        /// The base image.
        reference: String,
    },
    /// A base image whose config names another architecture.
    #[error("{reference} is not an amd64 image")]
    NotAmd64 {
        /// The base image.
        reference: String,
        /// The architecture its config names.
        architecture: String,
    },
    /// The base image's blobs, just pulled, cannot be read back from the cache.
    #[error("the blobs of {reference} vanished from the cache")]
    Vanished {
        /// The base image.
        reference: String,
    },
    /// A base layer is not in the cache.
    #[error("layer {digest} is not cached")]
    LayerNotCached {
        /// The layer's digest.
        digest: String,
    },
    /// A blob of the image is neither built nor cached.
    #[error("blob {digest} is missing")]
    MissingBlob {
        /// The blob's digest.
        digest: String,
    },
    /// A digest that is not `sha256:` and 64 lowercase hex digits.
    #[error("`{digest}` is not a sha256 digest")]
    NotADigest {
        /// The digest.
        digest: String,
    },
    /// The layer with the binary cannot be built.
    #[error("cannot build the app layer: {0}")]
    AppLayer(#[source] std::io::Error),
    /// No thread to push a blob (a process or memory limit).
    #[error("cannot start a thread to push blob {digest}: {source}")]
    PushThread {
        /// The blob's digest.
        digest: String,
        /// What spawning answered.
        source: std::io::Error,
    },
    /// A blob push panicked.
    #[error("a blob push stopped unexpectedly (a bug in score-fly)")]
    PushPanicked,
}

/// Why `--output-oci` names a folder that cannot take an image.
#[derive(Debug, thiserror::Error)]
pub enum NotALayoutWhy {
    /// Its metadata cannot be read.
    #[error("cannot read it ({0})")]
    Unreadable(#[source] std::io::Error),
    /// A file, not a folder.
    #[error("it is not a folder")]
    NotAFolder,
    /// It cannot be listed.
    #[error("cannot list it ({0})")]
    Unlistable(#[source] std::io::Error),
    /// `oci-layout` or `index.json` cannot be read (a link, too large...).
    #[error(transparent)]
    Read(#[from] FsError),
    /// Files, but no `oci-layout`.
    #[error("it is not empty and holds no `oci-layout` file, so it is not an OCI image layout")]
    NoLayoutFile,
    /// A layout version other than 1.x (`None`: no `imageLayoutVersion` string).
    #[error("its `oci-layout` names layout version {version:?}; score-fly writes 1.0.0")]
    Version {
        /// `imageLayoutVersion`.
        version: Option<String>,
    },
    /// `oci-layout` but no `index.json`.
    #[error("it has an `oci-layout` file but no `index.json`")]
    NoIndex,
    /// `index.json` is not JSON.
    #[error("its `index.json` is not JSON ({0})")]
    IndexNotJson(#[source] serde_json::Error),
    /// `index.json` without a `manifests` list.
    #[error("its `index.json` lists no `manifests`")]
    NoManifests,
}

/// Known libraries: the base images that have them, and how to stop needing them. The
/// distroless contents are those of GoogleContainerTools/distroless (`base/config.bzl`,
/// `cc/config.bzl`): debian12's base adds `libssl3` to glibc, cc adds `libgcc-s1`,
/// `libstdc++6`, `libgomp1`; debian13's base and cc also hold `zlib1g` and `libzstd1`.
const LIBRARY_HINTS: &[(&[&str], &str, &str)] = &[
    (
        &["libssl.so.3", "libcrypto.so.3"],
        "gcr.io/distroless/cc-debian12 (OpenSSL 3: libssl.so.3, libcrypto.so.3)",
        "use rustls instead of native-tls/OpenSSL (e.g. reqwest's `rustls-tls` feature, sqlx's `tls-rustls`/`runtime-tokio-rustls`)",
    ),
    (
        &["libstdc++.so.6", "libgcc_s.so.1", "libgomp.so.1"],
        "gcr.io/distroless/cc-debian12 (libstdc++, libgcc_s, libgomp)",
        "",
    ),
    (
        &["libz.so.1"],
        "gcr.io/distroless/cc-debian13 (zlib1g)",
        "build zlib in (libz-sys's `static` feature) or use flate2's default pure-Rust backend",
    ),
    (&["libzstd.so.1"], "gcr.io/distroless/cc-debian13 (libzstd1)", "build zstd in (zstd-sys's default static build)"),
    (
        &["libpq.so.5"],
        "an image of your own: debian:bookworm-slim with `apt-get install libpq5`",
        "use a pure-Rust PostgreSQL client (tokio-postgres, sqlx) instead of libpq (diesel's pq-sys)",
    ),
];

fn missing_libraries(binary: &str, base: &str, report: &libs::Report) -> String {
    let mut what = Vec::new();
    if let Some(loader) = &report.missing_loader {
        what.push(format!("the loader {loader}"));
    }
    for m in &report.missing {
        what.push(match &m.needed_by {
            None => m.name.clone(),
            Some(by) => format!("{} (needed by the base's {by})", m.name),
        });
    }
    let mut bases = Vec::new();
    let mut alternatives = Vec::new();
    for m in &report.missing {
        if let Some((_, base, alternative)) = LIBRARY_HINTS.iter().find(|(names, ..)| names.contains(&m.name.as_str()))
        {
            let base = format!("for {}: {base}", m.name);
            if !bases.iter().any(|b: &String| b.ends_with(&base[base.find(':').unwrap_or(0)..])) {
                bases.push(base);
            }
            if !alternative.is_empty() && !alternatives.contains(alternative) {
                alternatives.push(*alternative);
            }
        }
    }
    let mut text = format!(
        "{binary} needs shared libraries the base image {base} lacks: {} (searched {}); the container would stop at start with \"error while loading shared libraries\". Use a base image that has them (`--base-image` or `base-image` in [package.metadata.score-fly])",
        what.join(", "),
        report.searched.join(", ")
    );
    if bases.is_empty() {
        text.push_str(", e.g. one whose packages ship them");
    } else {
        text.push_str(": ");
        text.push_str(&bases.join("; "));
    }
    for alternative in alternatives {
        text.push_str("; or ");
        text.push_str(alternative);
    }
    text.push_str("; or link statically (target x86_64-unknown-linux-musl)");
    text
}

/// Content-addressed blobs (`<dir>/blobs/sha256/<hex>`) and pinned references (`<dir>/refs`).
#[derive(Debug, Clone)]
pub struct BlobCache {
    dir: PathBuf,
}

impl BlobCache {
    /// A cache in `dir` (e.g. `target/score-fly/oci`).
    pub fn new(dir: impl Into<PathBuf>) -> BlobCache {
        BlobCache { dir: dir.into() }
    }

    /// A blob's file; `None` unless `digest` is `sha256:` and 64 lowercase hex digits (a
    /// digest read from a registry's manifest must not name a path such as `../../x`).
    fn path(&self, digest: &str) -> Option<PathBuf> {
        let hex = blob_hex(digest)?;
        Some(self.dir.join("blobs").join("sha256").join(hex))
    }

    /// A blob, if cached and intact.
    pub fn get(&self, digest: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path(digest)?).ok()?;
        (oci::digest(&bytes) == digest).then_some(bytes)
    }

    /// Stores a blob.
    pub fn put(&self, digest: &str, bytes: &[u8]) -> Result<(), FsError> {
        let path = self.path(digest).ok_or_else(|| {
            FsError::new("cache blob", &self.dir, std::io::Error::other(format!("`{digest}` is not a sha256 digest")))
        })?;
        fsutil::write_atomic(&path, bytes, None)
    }

    /// What an earlier build found in a base image's filesystem (by manifest digest);
    /// finding it means decompressing every base layer.
    fn index_of(&self, manifest_digest: &str) -> Option<libs::BaseIndex> {
        let bytes = std::fs::read(self.index_path(manifest_digest)?).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn set_index_of(&self, manifest_digest: &str, index: &libs::BaseIndex) {
        if let Some(path) = self.index_path(manifest_digest) {
            // Only a cache: a failure to write it costs time on the next build, nothing else.
            let _ = fsutil::write_atomic(&path, &serde_json::to_vec(index).expect("index serialises"), None);
        }
    }

    fn index_path(&self, manifest_digest: &str) -> Option<PathBuf> {
        Some(self.dir.join("libs-v1").join(format!("{}.json", blob_hex(manifest_digest)?)))
    }

    fn ref_path(&self, reference: &Reference) -> PathBuf {
        let name: String = reference
            .to_string()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
            .collect();
        self.dir.join("refs").join(name)
    }
}

/// Why a text is not a base image score-fly can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseRefError {
    /// A bad `oci:` or `oci-archive:` name.
    #[error(transparent)]
    Local(#[from] local::LocalBaseError),
    /// A skopeo transport score-fly does not read.
    #[error(
        "`{text}` is a `{transport}:` image, which score-fly cannot read: use a registry reference, `oci:PATH[:TAG]` or `oci-archive:PATH[:TAG]` (e.g. `skopeo copy {transport}:... oci:base-oci:latest`)"
    )]
    Transport {
        /// The text.
        text: String,
        /// The transport (`docker-archive`, `dir`...).
        transport: String,
    },
    /// A bad registry reference.
    #[error(transparent)]
    Reference(#[from] reference::ReferenceError),
}

/// Where a base image comes from: a registry (`[docker://]host/repo[:tag][@digest]`), or
/// an OCI image layout or archive on disk (skopeo's `oci:PATH[:TAG]`, `oci-archive:PATH[:TAG]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseRef {
    /// A registry image.
    Registry(Reference),
    /// An image on disk.
    Local(LocalBase),
}

impl BaseRef {
    /// Parses a base image reference; errors say what is wrong and what is accepted.
    pub fn parse(text: &str) -> Result<BaseRef, BaseRefError> {
        if let Some(local) = local::LocalBase::parse(text) {
            return Ok(local.map(BaseRef::Local)?);
        }
        if let Some((transport, _)) = text.split_once(':')
            && ["docker-archive", "docker-daemon", "containers-storage", "dir", "ostree", "sif"].contains(&transport)
        {
            return Err(BaseRefError::Transport { text: text.to_owned(), transport: transport.to_owned() });
        }
        Ok(Reference::parse(text.strip_prefix("docker://").unwrap_or(text)).map(BaseRef::Registry)?)
    }
}

impl std::fmt::Display for BaseRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BaseRef::Registry(r) => r.fmt(f),
            BaseRef::Local(l) => l.fmt(f),
        }
    }
}

/// A tag pin reused instead of asking the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// The digest the tag was pinned to.
    pub digest: String,
    /// How long ago it was pinned (`None` if the pin's time cannot be read).
    pub age: Option<Duration>,
}

/// A pulled base image.
#[derive(Debug, Clone)]
pub struct BaseImage {
    /// As asked for (for messages).
    pub name: String,
    /// Set when a tag's cached pin was used without asking the registry.
    pub pinned: Option<Pinned>,
    /// The digest of its (platform) manifest.
    pub manifest_digest: String,
    /// Its config.
    pub config: ImageConfig,
    /// Its layers (media types normalised to OCI; bytes in the cache).
    pub layers: Vec<Descriptor>,
}

/// Pulls the linux/amd64 image of `reference` into `cache` (or finds it there).
pub fn pull_base(
    reference: &Reference,
    cache: &BlobCache,
    registry: &Registry,
    refresh: bool,
) -> Result<BaseImage, ImageError> {
    let pin_path = cache.ref_path(reference);
    let pinned = std::fs::read_to_string(&pin_path).ok().map(|s| s.trim().to_owned());
    if let (Some(digest), false) = (reference.digest.as_deref().or(pinned.as_deref()), refresh)
        && let Some(mut base) = from_cache(&reference.to_string(), digest, cache)?
    {
        if reference.digest.is_none() {
            let age = std::fs::metadata(&pin_path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
            base.pinned = Some(Pinned { digest: digest.to_owned(), age });
        }
        return Ok(base);
    }
    let (media_type, mut bytes) = registry.get_manifest(&reference.repository, reference.target())?;
    if media_type == oci::INDEX || media_type == oci::DOCKER_LIST {
        let index: oci::Index = serde_json::from_slice(&bytes).map_err(|source| ImageError::BadDocument {
            document: "image index",
            reference: reference.to_string(),
            source,
        })?;
        let chosen = index
            .manifests
            .iter()
            .find(|m| m.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == "amd64"))
            .ok_or_else(|| ImageError::NoAmd64 { reference: reference.to_string() })?;
        bytes = registry.get_manifest(&reference.repository, &chosen.digest)?.1;
    }
    let manifest_digest = oci::digest(&bytes);
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|source| ImageError::BadDocument {
        document: "manifest",
        reference: reference.to_string(),
        source,
    })?;
    cache.put(&manifest_digest, &bytes)?;
    for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
        if cache.get(&blob.digest).is_none() {
            let data = registry.get_blob(&reference.repository, &blob.digest)?;
            cache.put(&blob.digest, &data)?;
        }
    }
    if reference.digest.is_none() {
        fsutil::write_atomic(&pin_path, manifest_digest.as_bytes(), None)?;
    }
    from_cache(&reference.to_string(), &manifest_digest, cache)?
        .ok_or_else(|| ImageError::Vanished { reference: reference.to_string() })
}

fn from_cache(reference: &str, digest: &str, cache: &BlobCache) -> Result<Option<BaseImage>, ImageError> {
    let Some(bytes) = cache.get(digest) else { return Ok(None) };
    let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else { return Ok(None) };
    if manifest
        .layers
        .iter()
        .chain(std::iter::once(&manifest.config))
        .any(|d| !cache.path(&d.digest).is_some_and(|p| p.is_file()))
    {
        return Ok(None);
    }
    let Some(config_bytes) = cache.get(&manifest.config.digest) else { return Ok(None) };
    let config: ImageConfig = serde_json::from_slice(&config_bytes).map_err(|source| ImageError::BadDocument {
        document: "config",
        reference: reference.to_owned(),
        source,
    })?;
    if let Some(architecture) = config.get("architecture").and_then(|a| a.as_str()).filter(|a| *a != "amd64") {
        return Err(ImageError::NotAmd64 { reference: reference.to_owned(), architecture: architecture.to_owned() });
    }
    let layers = manifest
        .layers
        .into_iter()
        .map(|mut d| {
            if d.media_type == oci::DOCKER_LAYER_GZIP {
                oci::LAYER_GZIP.clone_into(&mut d.media_type);
            }
            d
        })
        .collect();
    Ok(Some(BaseImage { name: reference.to_owned(), pinned: None, manifest_digest: digest.to_owned(), config, layers }))
}

/// What the loader would find in a base image's filesystem, read once per base (by
/// manifest digest) and cached.
pub fn base_index(base: &BaseImage, cache: &BlobCache) -> Result<libs::BaseIndex, ImageError> {
    if let Some(index) = cache.index_of(&base.manifest_digest) {
        return Ok(index);
    }
    let layers: Vec<Vec<u8>> = base
        .layers
        .iter()
        .map(|d| cache.get(&d.digest).ok_or_else(|| ImageError::LayerNotCached { digest: d.digest.clone() }))
        .collect::<Result<_, _>>()?;
    let index = libs::BaseIndex::from_layers(layers.iter().map(Vec::as_slice))
        .map_err(|source| ImageError::BaseLayer { base: base.name.clone(), source })?;
    cache.set_index_of(&base.manifest_digest, &index);
    Ok(index)
}

/// Fails if the binary needs a newer glibc than the base image has.
pub fn check_glibc(binary: &[u8], binary_name: &str, base: &BaseImage, cache: &BlobCache) -> Result<(), ImageError> {
    glibc_against(binary, binary_name, base, &base_index(base, cache)?)
}

fn glibc_against(
    binary: &[u8],
    binary_name: &str,
    base: &BaseImage,
    index: &libs::BaseIndex,
) -> Result<(), ImageError> {
    let Some(required) =
        glibc::required(binary).map_err(|source| ImageError::Binary { binary: binary_name.to_owned(), source })?
    else {
        return Ok(());
    };
    let base_name = base.name.clone();
    let Some(provided) = index.glibc() else {
        return Err(ImageError::NoGlibc { binary: binary_name.to_owned(), required, base: base_name });
    };
    let provided = provided.ok_or_else(|| ImageError::NoGlibcVersions { base: base_name.clone() })?;
    if required > provided {
        return Err(ImageError::Glibc { binary: binary_name.to_owned(), required, provided, base: base_name });
    }
    Ok(())
}

/// Fails unless the base image has everything the binary (installed as
/// `/app/<binary_name>`) loads: a new enough glibc, its loader, every `DT_NEEDED` library
/// and theirs, found as the loader finds them ([`libs`]). `shown` names the binary in
/// messages.
pub fn check_binary(
    binary: &[u8],
    binary_name: &str,
    shown: &str,
    base: &BaseImage,
    cache: &BlobCache,
) -> Result<(), ImageError> {
    let index = base_index(base, cache)?;
    glibc_against(binary, shown, base, &index)?;
    let info = libs::elf_info(binary).map_err(|source| ImageError::Binary { binary: shown.to_owned(), source })?;
    let env: Vec<String> = base
        .config
        .get("config")
        .and_then(|c| c.get("Env"))
        .and_then(|e| e.as_array())
        .map(|vars| vars.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let report = libs::check(&info, &format!("{APP_DIR}/{binary_name}"), &index, &env);
    if report.is_ok() {
        return Ok(());
    }
    Err(ImageError::MissingLibraries { binary: shown.to_owned(), base: base.name.clone(), report })
}

/// What goes into the image besides the base.
#[derive(Debug, Clone)]
pub struct ImageSpec<'a> {
    /// The binary's bytes.
    pub binary: &'a [u8],
    /// Its name (it becomes `/app/<name>` and the entrypoint).
    pub binary_name: &'a str,
    /// Container ports to expose (`8080/tcp`).
    pub exposed_ports: Vec<String>,
    /// Layer mtime and `created` (seconds since the epoch).
    pub mtime: u64,
    /// The manifest's annotations (`org.opencontainers.image.*`), also the config's labels.
    pub annotations: BTreeMap<String, String>,
}

/// An assembled image.
#[derive(Debug, Clone)]
pub struct Image {
    /// The manifest bytes.
    pub manifest: Vec<u8>,
    /// Their digest.
    pub digest: String,
    /// The config bytes.
    pub config: Vec<u8>,
    /// The new layer's bytes (the others are in the cache).
    pub app_layer: layer::Layer,
    /// Every layer, base first.
    pub layers: Vec<Descriptor>,
}

impl Image {
    /// A blob of this image: the config, the app layer, or a cached base layer.
    pub fn blob(&self, digest: &str, cache: &BlobCache) -> Option<Vec<u8>> {
        if digest == oci::digest(&self.config) {
            Some(self.config.clone())
        } else if digest == self.app_layer.digest {
            Some(self.app_layer.compressed.clone())
        } else {
            cache.get(digest)
        }
    }

    /// The config descriptor and every layer descriptor.
    pub fn blobs(&self) -> Vec<Descriptor> {
        let config = Descriptor {
            media_type: oci::CONFIG.to_owned(),
            digest: oci::digest(&self.config),
            size: self.config.len() as u64,
            platform: None,
            annotations: None,
            artifact_type: None,
        };
        self.layers.iter().cloned().chain(std::iter::once(config)).collect()
    }
}

/// Base image + binary layer → image.
pub fn assemble(spec: &ImageSpec<'_>, base: &BaseImage) -> Result<Image, ImageError> {
    let path = format!("{APP_DIR}/{}", spec.binary_name);
    let app_layer =
        layer::build(&[layer::Entry { path: path.clone(), mode: 0o755, bytes: spec.binary.to_vec() }], spec.mtime)
            .map_err(ImageError::AppLayer)?;
    let mut config = base.config.clone();
    let created = rfc3339(spec.mtime);
    config.insert("created".to_owned(), created.clone().into());
    config.insert("architecture".to_owned(), "amd64".into());
    config.insert("os".to_owned(), "linux".into());
    let runtime = config.entry("config").or_insert_with(|| serde_json::json!({}));
    if let Some(runtime) = runtime.as_object_mut() {
        runtime.insert("Entrypoint".to_owned(), serde_json::json!([path]));
        runtime.remove("Cmd");
        runtime.insert("WorkingDir".to_owned(), APP_DIR.into());
        let ports: BTreeMap<String, serde_json::Value> =
            spec.exposed_ports.iter().map(|p| (p.clone(), serde_json::json!({}))).collect();
        if ports.is_empty() {
            runtime.remove("ExposedPorts");
        } else {
            runtime.insert("ExposedPorts".to_owned(), serde_json::to_value(ports).expect("ports"));
        }
        if !spec.annotations.is_empty() {
            let labels = runtime.entry("Labels").or_insert_with(|| serde_json::json!({}));
            if !labels.is_object() {
                *labels = serde_json::json!({});
            }
            if let Some(labels) = labels.as_object_mut() {
                for (key, value) in &spec.annotations {
                    labels.insert(key.clone(), value.clone().into());
                }
            }
        }
    }
    let rootfs = config.entry("rootfs").or_insert_with(|| serde_json::json!({"type": "layers", "diff_ids": []}));
    if let Some(ids) = rootfs.get_mut("diff_ids").and_then(|d| d.as_array_mut()) {
        ids.push(app_layer.diff_id.clone().into());
    }
    let history = config.entry("history").or_insert_with(|| serde_json::json!([]));
    if let Some(h) = history.as_array_mut() {
        h.push(serde_json::json!({"created": created, "created_by": format!("score-fly build: {path}")}));
    }
    let config_bytes = serde_json::to_vec(&config).expect("config serialises");
    let mut layers = base.layers.clone();
    layers.push(Descriptor {
        media_type: oci::LAYER_GZIP.to_owned(),
        digest: app_layer.digest.clone(),
        size: app_layer.compressed.len() as u64,
        platform: None,
        annotations: None,
        artifact_type: None,
    });
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(oci::MANIFEST.to_owned()),
        config: Descriptor {
            media_type: oci::CONFIG.to_owned(),
            digest: oci::digest(&config_bytes),
            size: config_bytes.len() as u64,
            platform: None,
            annotations: None,
            artifact_type: None,
        },
        layers: layers.clone(),
        artifact_type: None,
        subject: None,
        annotations: (!spec.annotations.is_empty()).then(|| spec.annotations.clone()),
    };
    let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serialises");
    Ok(Image {
        digest: oci::digest(&manifest_bytes),
        manifest: manifest_bytes,
        config: config_bytes,
        app_layer,
        layers,
    })
}

/// The hex part of a well-formed `sha256:` digest.
pub(crate) fn blob_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

/// What [`write_layout`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayoutReport {
    /// The other references of the layout, kept.
    pub kept: Vec<String>,
    /// Whether an image of the same tag was replaced.
    pub replaced: bool,
    /// Blobs no reference uses any more, removed.
    pub removed: usize,
}

/// Checks, before anything is built, that `dir` can take an image: it does not exist, is an
/// empty folder, or is an OCI image layout (`oci-layout` and `index.json`).
pub fn check_layout_dir(dir: &Path) -> Result<(), ImageError> {
    let not = |why: NotALayoutWhy| ImageError::NotALayout { dir: dir.display().to_string(), why };
    // The folder itself is used as given (a link to a folder is followed, as for every
    // output the user names); nothing inside it is.
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(not(NotALayoutWhy::Unreadable(e))),
    };
    if !meta.is_dir() {
        return Err(not(NotALayoutWhy::NotAFolder));
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| not(NotALayoutWhy::Unlistable(e)))?.peekable();
    if entries.peek().is_none() {
        return Ok(());
    }
    read_index(dir).map(|_| ())
}

/// The existing layout's `index.json` (as JSON, unknown fields kept), `None` if `dir` holds
/// no layout yet (missing or empty). A folder with other files is an error.
fn read_index(dir: &Path) -> Result<Option<serde_json::Value>, ImageError> {
    let not = |why: NotALayoutWhy| ImageError::NotALayout { dir: dir.display().to_string(), why };
    let Ok(mut entries) = std::fs::read_dir(dir) else { return Ok(None) };
    if entries.next().is_none() {
        return Ok(None);
    }
    let read = |name: &str| {
        fsutil::read_inside(dir, Path::new(name), crate::limits::MAX_DOCUMENT_BYTES)
            .map_err(|e| not(NotALayoutWhy::Read(e)))
    };
    let Some(layout) = read("oci-layout")? else {
        return Err(not(NotALayoutWhy::NoLayoutFile));
    };
    let version = serde_json::from_slice::<serde_json::Value>(&layout)
        .ok()
        .and_then(|v| v.get("imageLayoutVersion")?.as_str().map(str::to_owned));
    if !version.as_deref().is_some_and(|v| v.starts_with("1.")) {
        return Err(not(NotALayoutWhy::Version { version }));
    }
    let Some(index) = read("index.json")? else {
        return Err(not(NotALayoutWhy::NoIndex));
    };
    let index: serde_json::Value = serde_json::from_slice(&index).map_err(|e| not(NotALayoutWhy::IndexNotJson(e)))?;
    if !index.get("manifests").is_some_and(serde_json::Value::is_array) {
        return Err(not(NotALayoutWhy::NoManifests));
    }
    Ok(Some(index))
}

/// Writes the image into the OCI image layout `dir` (`oci-layout`, `index.json`, `blobs/`)
/// as `tag`: a new or empty folder becomes a layout; an existing layout keeps its other
/// references (an image of the same tag is replaced); a folder that is neither is refused.
/// The blobs and then `index.json` are written atomically (a failure leaves the layout as
/// it was, at most with extra blobs); then the blobs no reference reaches any more are
/// removed. `dir` is used as given; nothing inside it is followed (a link planted in the
/// layout is an error).
///
/// `sbom`, when given, goes in as a referrer of the image: its manifest listed in
/// `index.json` with its `artifactType` (no `ref.name`: tools find it by its `subject`).
/// SBOM referrers of images the layout no longer holds are dropped from the index.
pub fn write_layout(
    image: &Image,
    cache: &BlobCache,
    dir: &Path,
    tag: &str,
    sbom: Option<&sbom::Artifact>,
) -> Result<LayoutReport, ImageError> {
    let existing = read_index(dir)?;
    let mut report = LayoutReport::default();
    let entry = serde_json::json!({
        "mediaType": oci::MANIFEST,
        "digest": image.digest,
        "size": image.manifest.len(),
        "annotations": {local::REF_NAME: tag},
    });
    let mut index = existing.unwrap_or_else(|| serde_json::json!({"schemaVersion": 2, "mediaType": oci::INDEX}));
    let mut manifests = Vec::new();
    if let Some(old) = index.get("manifests").and_then(|m| m.as_array()) {
        for m in old {
            // SBOM referrers follow their subjects (below), named by nobody.
            if sbom::is_referrer_entry(m) {
                manifests.push(m.clone());
                continue;
            }
            match m.get("annotations").and_then(|a| a.get(local::REF_NAME)).and_then(|n| n.as_str()) {
                Some(name) if name == tag => report.replaced = true,
                name => {
                    report.kept.push(name.map_or_else(|| format!("(untagged {})", m["digest"]), str::to_owned));
                    manifests.push(m.clone());
                }
            }
        }
    }
    manifests.push(entry);
    if let Some(artifact) = sbom {
        manifests.push(serde_json::to_value(artifact.descriptor()).expect("descriptor"));
    }
    // A referrer stays while its subject does (its manifest read back from the layout).
    let subjects: std::collections::BTreeSet<String> = manifests
        .iter()
        .filter(|m| !sbom::is_referrer_entry(m))
        .filter_map(|m| m.get("digest").and_then(|d| d.as_str()).map(str::to_owned))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    manifests.retain(|m| {
        if !sbom::is_referrer_entry(m) {
            return true;
        }
        let digest = m.get("digest").and_then(|d| d.as_str()).unwrap_or_default().to_owned();
        if !seen.insert(digest.clone()) {
            return false;
        }
        let subject = if sbom.is_some_and(|a| a.digest == digest) {
            Some(image.digest.clone())
        } else {
            blob_hex(&digest)
                .and_then(|hex| {
                    let path = Path::new("blobs").join("sha256").join(hex);
                    fsutil::read_inside(dir, &path, crate::limits::MAX_DOCUMENT_BYTES).ok().flatten()
                })
                .and_then(|bytes| sbom::subject_of(&bytes))
        };
        subject.is_some_and(|s| subjects.contains(&s))
    });
    index["manifests"] = serde_json::Value::Array(manifests);

    let mut writes = Vec::new();
    if fsutil::read_inside(dir, Path::new("oci-layout"), crate::limits::MAX_DOCUMENT_BYTES).ok().flatten().is_none() {
        writes.push(fsutil::PendingWrite::inside(dir, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
    }
    let blob_path = |digest: &str| {
        blob_hex(digest)
            .map(|hex| Path::new("blobs").join("sha256").join(hex))
            .ok_or_else(|| ImageError::NotADigest { digest: digest.to_owned() })
    };
    // A blob already in the layout with the right content is not written again.
    let present = |digest: &str| -> Result<bool, ImageError> {
        Ok(fsutil::open_inside(dir, &blob_path(digest)?)?.is_some_and(|file| {
            let mut hasher = sha2::Sha256::default();
            std::io::copy(&mut std::io::BufReader::new(file), &mut hasher).is_ok()
                && oci::hex_digest(&sha2::Digest::finalize(hasher)) == digest
        }))
    };
    let mut written = std::collections::BTreeSet::new();
    for d in image.blobs() {
        // Images may list one blob twice (identical empty layers): one file.
        if !written.insert(d.digest.clone()) || present(&d.digest)? {
            continue;
        }
        let bytes = image.blob(&d.digest, cache).ok_or_else(|| ImageError::MissingBlob { digest: d.digest.clone() })?;
        writes.push(fsutil::PendingWrite::inside(dir, blob_path(&d.digest)?, bytes));
    }
    if written.insert(image.digest.clone()) && !present(&image.digest)? {
        writes.push(fsutil::PendingWrite::inside(dir, blob_path(&image.digest)?, image.manifest.clone()));
    }
    if let Some(artifact) = sbom {
        let manifest = (artifact.digest.clone(), artifact.manifest.as_slice());
        for (digest, bytes) in artifact.blobs().into_iter().chain(std::iter::once(manifest)) {
            if written.insert(digest.clone()) && !present(&digest)? {
                writes.push(fsutil::PendingWrite::inside(dir, blob_path(&digest)?, bytes.to_vec()));
            }
        }
    }
    // index.json last: it is renamed into place only once every blob is.
    writes.push(fsutil::PendingWrite::inside(dir, "index.json", serde_json::to_vec(&index).expect("index")));
    fsutil::write_all_atomic(&writes)?;
    report.removed = collect_garbage(dir, &index);
    Ok(report)
}

/// Removes the `blobs/sha256/*` files no manifest of `index` reaches; returns how many.
/// Removes nothing when a reachable manifest or index cannot be read (its blobs are unknown).
fn collect_garbage(dir: &Path, index: &serde_json::Value) -> usize {
    let mut pending: Vec<String> = local::children(&serde_json::to_vec(index).expect("index"));
    let mut reachable = std::collections::BTreeSet::new();
    while let Some(digest) = pending.pop() {
        let Some(hex) = blob_hex(&digest) else { return 0 };
        if !reachable.insert(hex.to_owned()) {
            continue;
        }
        let path = Path::new("blobs").join("sha256").join(hex);
        let Ok(Some(file)) = fsutil::open_inside(dir, &path) else { return 0 };
        // Manifests and indexes are small JSON; a layer's first bytes are not `{`.
        let mut head = Vec::new();
        let limit = crate::limits::MAX_DOCUMENT_BYTES as u64 + 1;
        if std::io::Read::read_to_end(&mut std::io::Read::take(file, limit), &mut head).is_err() {
            return 0;
        }
        if head.first() == Some(&b'{') && head.len() <= crate::limits::MAX_DOCUMENT_BYTES {
            pending.extend(local::children(&head));
        }
    }
    let Ok(entries) = std::fs::read_dir(dir.join("blobs").join("sha256")) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_blob = blob_hex(&format!("sha256:{name}")).is_some();
        if is_blob
            && !reachable.contains(&name)
            && fsutil::remove_inside(dir, &Path::new("blobs").join("sha256").join(&name)).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// What happened to each blob during a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// The registry had it.
    Skipped {
        /// Digest.
        digest: String,
        /// Size.
        size: u64,
    },
    /// Linked from another repository of the registry.
    Mounted {
        /// Digest.
        digest: String,
    },
    /// Upload starts.
    Uploading {
        /// Digest.
        digest: String,
        /// Size.
        size: u64,
    },
    /// Bytes sent so far.
    Progress {
        /// Digest.
        digest: String,
        /// Sent.
        sent: u64,
    },
    /// Upload done.
    Uploaded {
        /// Digest.
        digest: String,
    },
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Blobs uploaded.
    pub uploaded: Vec<String>,
    /// Bytes uploaded.
    pub bytes: u64,
    /// Blobs the registry already had (or mounted).
    pub reused: usize,
}

/// Pushes an image to `target` (its tag names the image). `mount_from` names a repository of
/// the same registry whose blobs can be linked instead of uploaded (e.g. the base image's).
pub fn push(
    image: &Image,
    cache: &BlobCache,
    registry: &Registry,
    target: &Reference,
    mount_from: Option<&str>,
    events: &mut dyn FnMut(PushEvent),
) -> Result<PushReport, ImageError> {
    let repository = &target.repository;
    let config_digest = oci::digest(&image.config);
    // Blobs go up concurrently (each: exists? → mount (base layers) → upload); the manifest
    // goes last, once every blob is there.
    let (tx, rx) = std::sync::mpsc::channel::<PushEvent>();
    let outcomes: Vec<Result<Option<(String, u64)>, ImageError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = image
            .blobs()
            .into_iter()
            .map(|d| {
                let tx = tx.clone();
                let base_blob = d.digest != image.app_layer.digest && d.digest != config_digest;
                let digest = d.digest.clone();
                let push = move || -> Result<Option<(String, u64)>, ImageError> {
                    let send = |event: PushEvent| {
                        let _ = tx.send(event);
                    };
                    if registry.blob_exists(repository, &d.digest)? {
                        send(PushEvent::Skipped { digest: d.digest.clone(), size: d.size });
                        return Ok(None);
                    }
                    let mut session = None;
                    if base_blob && let Some(from) = mount_from.filter(|f| *f != repository) {
                        match registry.mount_blob(repository, &d.digest, from)? {
                            registry::Mount::Mounted => {
                                send(PushEvent::Mounted { digest: d.digest.clone() });
                                return Ok(None);
                            }
                            registry::Mount::Refused(location) => session = location,
                        }
                    }
                    let bytes = image
                        .blob(&d.digest, cache)
                        .ok_or_else(|| ImageError::MissingBlob { digest: d.digest.clone() })?;
                    send(PushEvent::Uploading { digest: d.digest.clone(), size: d.size });
                    registry.push_blob(repository, &d.digest, &bytes, session, &mut |sent| {
                        send(PushEvent::Progress { digest: d.digest.clone(), sent });
                    })?;
                    send(PushEvent::Uploaded { digest: d.digest.clone() });
                    Ok(Some((d.digest.clone(), d.size)))
                };
                // A thread that cannot start (a process or memory limit) fails this blob's
                // push with a message, never the whole process with a panic.
                std::thread::Builder::new()
                    .spawn_scoped(scope, push)
                    .map_err(|source| ImageError::PushThread { digest, source })
            })
            .collect();
        drop(tx);
        for event in rx {
            events(event);
        }
        workers.into_iter().map(|w| w.and_then(|w| w.join().unwrap_or(Err(ImageError::PushPanicked)))).collect()
    });
    let mut report = PushReport::default();
    for outcome in outcomes {
        match outcome? {
            Some((digest, size)) => {
                report.uploaded.push(digest);
                report.bytes += size;
            }
            None => report.reused += 1,
        }
    }
    let tag = target.tag.as_deref().unwrap_or("latest");
    registry.put_manifest(repository, tag, oci::MANIFEST, &image.manifest)?;
    Ok(report)
}

/// `1970-01-01T00:00:00Z` for seconds since the epoch.
pub fn rfc3339(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX);
    let rem = seconds % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {

    proptest::proptest! {
        /// Whatever `--base-image` is given, parsing answers (never panics), and what it
        /// accepts reads back as itself from its display.
        #[test]
        fn base_references_parse_without_panic_and_read_back(
            text in "(oci:|oci-archive:|docker://|dir:)?[a-zA-Z0-9./:@_-]{0,40}"
        ) {
            if let Ok(parsed) = BaseRef::parse(&text) {
                proptest::prop_assert_eq!(BaseRef::parse(&parsed.to_string()), Ok(parsed));
            }
        }
    }
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn base_reference_errors_keep_the_typed_cause() {
        let e = BaseRef::parse("docker-daemon:debian:12").unwrap_err();
        assert_eq!(
            e,
            BaseRefError::Transport {
                text: "docker-daemon:debian:12".to_owned(),
                transport: "docker-daemon".to_owned()
            }
        );
        assert_eq!(
            e.to_string(),
            "`docker-daemon:debian:12` is a `docker-daemon:` image, which score-fly cannot read: use a registry reference, `oci:PATH[:TAG]` or `oci-archive:PATH[:TAG]` (e.g. `skopeo copy docker-daemon:... oci:base-oci:latest`)"
        );
        let e = BaseRef::parse("oci:").unwrap_err();
        assert!(matches!(e, BaseRefError::Local(local::LocalBaseError::NoPath { transport: "oci", .. })), "{e:?}");
        assert_eq!(e.to_string(), "`oci:` names no path: write `oci:PATH[:TAG]`");
        let e = BaseRef::parse("docker://Debian").unwrap_err();
        assert!(
            matches!(&e, BaseRefError::Reference(r) if r.text == "Debian" && r.problem == reference::ReferenceProblem::Repository),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "`Debian` is not an image reference: repository names hold lowercase letters, digits and `._-` between `/`"
        );
    }

    #[test]
    fn output_folder_errors_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let e = check_layout_dir(&file).unwrap_err();
        assert!(matches!(&e, ImageError::NotALayout { why: NotALayoutWhy::NotAFolder, .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "--output-oci {}: it is not a folder; choose a new or empty folder, or an OCI image layout (a folder with `oci-layout` and `index.json`) to add the image to",
                file.display()
            )
        );
        let full = dir.path().join("full");
        std::fs::create_dir(&full).unwrap();
        std::fs::write(full.join("notes.txt"), b"x").unwrap();
        let e = check_layout_dir(&full).unwrap_err();
        assert!(
            matches!(&e, ImageError::NotALayout { why: NotALayoutWhy::NoLayoutFile, dir } if *dir == full.display().to_string()),
            "{e:?}"
        );
        std::fs::write(full.join("oci-layout"), br#"{"imageLayoutVersion": "2.0"}"#).unwrap();
        let e = check_layout_dir(&full).unwrap_err();
        assert!(
            matches!(&e, ImageError::NotALayout { why: NotALayoutWhy::Version { version: Some(v) }, .. } if v == "2.0"),
            "{e:?}"
        );
        let cases: &[(NotALayoutWhy, &str)] = &[
            (
                NotALayoutWhy::NoLayoutFile,
                "it is not empty and holds no `oci-layout` file, so it is not an OCI image layout",
            ),
            (
                NotALayoutWhy::Version { version: Some("2.0".into()) },
                "its `oci-layout` names layout version Some(\"2.0\"); score-fly writes 1.0.0",
            ),
            (NotALayoutWhy::NoIndex, "it has an `oci-layout` file but no `index.json`"),
            (NotALayoutWhy::NoManifests, "its `index.json` lists no `manifests`"),
            (NotALayoutWhy::Unlistable(std::io::Error::other("denied")), "cannot list it (denied)"),
            (NotALayoutWhy::Unreadable(std::io::Error::other("denied")), "cannot read it (denied)"),
        ];
        for (why, text) in cases {
            assert_eq!(why.to_string(), *text, "{why:?}");
        }
    }

    #[test]
    fn image_errors_read_as_before() {
        let json = || serde_json::from_slice::<Manifest>(b"[").unwrap_err();
        let shown = json().to_string();
        let cases: Vec<(ImageError, String)> = vec![
            (
                ImageError::BadDocument { document: "image index", reference: "r/x:1".into(), source: json() },
                format!("the image index of r/x:1 is not valid: {shown}"),
            ),
            (ImageError::NoAmd64 { reference: "r/x:1".into() }, "r/x:1 has no linux/amd64 image".into()),
            (ImageError::Vanished { reference: "r/x:1".into() }, "the blobs of r/x:1 vanished from the cache".into()),
            (ImageError::LayerNotCached { digest: "sha256:ab".into() }, "layer sha256:ab is not cached".into()),
            (ImageError::MissingBlob { digest: "sha256:ab".into() }, "blob sha256:ab is missing".into()),
            (ImageError::NotADigest { digest: "md5:x".into() }, "`md5:x` is not a sha256 digest".into()),
            (ImageError::NoGlibcVersions { base: "b".into() }, "the libc.so.6 of b defines no versions".into()),
            (
                ImageError::Binary { binary: "target/app".into(), source: glibc::ElfError::NotX86_64 { machine: 183 } },
                "target/app: it is not an x86-64 binary".into(),
            ),
            (ImageError::AppLayer(std::io::Error::other("disk full")), "cannot build the app layer: disk full".into()),
            (
                ImageError::PushThread { digest: "sha256:ab".into(), source: std::io::Error::other("no threads") },
                "cannot start a thread to push blob sha256:ab: no threads".into(),
            ),
            (ImageError::PushPanicked, "a blob push stopped unexpectedly (a bug in score-fly)".into()),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text, "{e:?}");
        }
    }

    #[test]
    fn a_base_of_another_architecture_is_named_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlobCache::new(dir.path());
        let config = br#"{"architecture": "arm64", "os": "linux"}"#;
        cache.put(&oci::digest(config), config).unwrap();
        let manifest = serde_json::json!({"schemaVersion": 2, "config": {
            "mediaType": oci::CONFIG, "digest": oci::digest(config), "size": config.len()
        }, "layers": []});
        let bytes = serde_json::to_vec(&manifest).unwrap();
        cache.put(&oci::digest(&bytes), &bytes).unwrap();
        let e = from_cache("r/x:1", &oci::digest(&bytes), &cache).unwrap_err();
        assert!(
            matches!(&e, ImageError::NotAmd64 { reference, architecture } if reference == "r/x:1" && architecture == "arm64"),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "r/x:1 is not an amd64 image");
    }
}
