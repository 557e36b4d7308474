//! Daemonless container images: the cargo-built binary as one layer on a base image.
//!
//! - [`pull_base`]: the base image's manifest, config and layers, downloaded once into a
//!   content-addressed cache under the target folder ([`BlobCache`]); a tag is pinned to the
//!   digest it had when first pulled (`refresh` pulls again).
//! - [`glibc`]: refuse a binary that needs a newer glibc than the base image has.
//! - [`assemble`]: base layers + one reproducible layer with the binary ([`layer`]), config
//!   with the entrypoint, environment and exposed ports; same inputs, same digests.
//! - [`write_layout`]: an OCI image layout folder; [`push`]: the OCI distribution API
//!   ([`registry`]), skipping blobs the registry has and mounting those it has elsewhere.
//! - [`dockerfile`]: the fallback for hosts that cannot build Linux x86-64 binaries.

pub mod dockerfile;
pub mod glibc;
pub mod layer;
pub mod oci;
pub mod reference;
pub mod registry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use reference::Reference;
pub use registry::{Credentials, Registry, RegistryError};

use crate::fsutil::{self, FsError};
use oci::{Descriptor, ImageConfig, Manifest};

/// The default base image: glibc, CA certificates, nothing else.
pub const DEFAULT_BASE: &str = "gcr.io/distroless/cc-debian12";

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
    /// Anything else.
    #[error("{0}")]
    Invalid(String),
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

    /// What an earlier build found about a base image's libc (by manifest digest); finding
    /// it means decompressing every base layer.
    fn glibc_of(&self, manifest_digest: &str) -> Option<BaseLibc> {
        let text = std::fs::read_to_string(self.glibc_path(manifest_digest)).ok()?;
        let text = text.trim();
        if text == "none" {
            return Some(BaseLibc(None));
        }
        let parts: Option<Vec<u32>> = text.split('.').map(|p| p.parse().ok()).collect();
        parts.filter(|p| !p.is_empty()).map(|p| BaseLibc(Some(glibc::Version(p))))
    }

    fn set_glibc_of(&self, manifest_digest: &str, version: Option<&glibc::Version>) {
        let text = version.map_or_else(|| "none".to_owned(), ToString::to_string);
        // Only a cache: a failure to write it costs time on the next build, nothing else.
        let _ = fsutil::write_atomic(&self.glibc_path(manifest_digest), text.as_bytes(), None);
    }

    fn glibc_path(&self, manifest_digest: &str) -> PathBuf {
        self.dir.join("glibc").join(manifest_digest.trim_start_matches("sha256:"))
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

/// The glibc of a base image (`None`: it has no libc).
struct BaseLibc(Option<glibc::Version>);

/// A pulled base image.
#[derive(Debug, Clone)]
pub struct BaseImage {
    /// As asked for.
    pub reference: Reference,
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
    let pinned = std::fs::read_to_string(cache.ref_path(reference)).ok().map(|s| s.trim().to_owned());
    if let (Some(digest), false) = (pinned.as_deref().or(reference.digest.as_deref()), refresh)
        && let Some(base) = from_cache(reference, digest, cache)?
    {
        return Ok(base);
    }
    let (media_type, mut bytes) = registry.get_manifest(&reference.repository, reference.target())?;
    if media_type == oci::INDEX || media_type == oci::DOCKER_LIST {
        let index: oci::Index = serde_json::from_slice(&bytes)
            .map_err(|e| ImageError::Invalid(format!("the image index of {reference} is not valid: {e}")))?;
        let chosen = index
            .manifests
            .iter()
            .find(|m| m.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == "amd64"))
            .ok_or_else(|| ImageError::Invalid(format!("{reference} has no linux/amd64 image")))?;
        bytes = registry.get_manifest(&reference.repository, &chosen.digest)?.1;
    }
    let manifest_digest = oci::digest(&bytes);
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| ImageError::Invalid(format!("the manifest of {reference} is not valid: {e}")))?;
    cache.put(&manifest_digest, &bytes)?;
    for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
        if cache.get(&blob.digest).is_none() {
            let data = registry.get_blob(&reference.repository, &blob.digest)?;
            cache.put(&blob.digest, &data)?;
        }
    }
    fsutil::write_atomic(&cache.ref_path(reference), manifest_digest.as_bytes(), None)?;
    from_cache(reference, &manifest_digest, cache)?
        .ok_or_else(|| ImageError::Invalid(format!("the blobs of {reference} vanished from the cache")))
}

fn from_cache(reference: &Reference, digest: &str, cache: &BlobCache) -> Result<Option<BaseImage>, ImageError> {
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
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| ImageError::Invalid(format!("the config of {reference} is not valid: {e}")))?;
    if config.get("architecture").and_then(|a| a.as_str()).is_some_and(|a| a != "amd64") {
        return Err(ImageError::Invalid(format!("{reference} is not an amd64 image")));
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
    Ok(Some(BaseImage { reference: reference.clone(), manifest_digest: digest.to_owned(), config, layers }))
}

/// Fails if the binary needs a newer glibc than the base image has.
pub fn check_glibc(binary: &[u8], binary_name: &str, base: &BaseImage, cache: &BlobCache) -> Result<(), ImageError> {
    let Some(required) = glibc::required(binary).map_err(|e| ImageError::Invalid(format!("{binary_name}: {e}")))?
    else {
        return Ok(());
    };
    let base_name = base.reference.to_string();
    let provided = if let Some(BaseLibc(known)) = cache.glibc_of(&base.manifest_digest) {
        known
    } else {
        let layers: Vec<Vec<u8>> = base
            .layers
            .iter()
            .map(|d| {
                cache.get(&d.digest).ok_or_else(|| ImageError::Invalid(format!("layer {} is not cached", d.digest)))
            })
            .collect::<Result<_, _>>()?;
        let provided = match glibc::find_libc(&layers).map_err(ImageError::Invalid)? {
            None => None,
            Some(libc) => Some(
                glibc::provided(&libc)
                    .map_err(|e| ImageError::Invalid(format!("the libc.so.6 of {base_name}: {e}")))?
                    .ok_or_else(|| ImageError::Invalid(format!("the libc.so.6 of {base_name} defines no versions")))?,
            ),
        };
        cache.set_glibc_of(&base.manifest_digest, provided.as_ref());
        provided
    };
    let Some(provided) = provided else {
        return Err(ImageError::NoGlibc { binary: binary_name.to_owned(), required, base: base_name });
    };
    if required > provided {
        return Err(ImageError::Glibc { binary: binary_name.to_owned(), required, provided, base: base_name });
    }
    Ok(())
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
        };
        self.layers.iter().cloned().chain(std::iter::once(config)).collect()
    }
}

/// Base image + binary layer → image.
pub fn assemble(spec: &ImageSpec<'_>, base: &BaseImage) -> Result<Image, ImageError> {
    let path = format!("{APP_DIR}/{}", spec.binary_name);
    let app_layer =
        layer::build(&[layer::Entry { path: path.clone(), mode: 0o755, bytes: spec.binary.to_vec() }], spec.mtime)
            .map_err(|e| ImageError::Invalid(format!("cannot build the app layer: {e}")))?;
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
        },
        layers: layers.clone(),
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
fn blob_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

/// Writes an OCI image layout (`oci-layout`, `index.json`, `blobs/`) tagged `tag`. `dir` is
/// used as given; nothing inside it is followed (a link planted in the layout is an error).
pub fn write_layout(image: &Image, cache: &BlobCache, dir: &Path, tag: &str) -> Result<(), ImageError> {
    let mut writes =
        vec![fsutil::PendingWrite::inside(dir, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec())];
    let blob_path = |digest: &str| {
        blob_hex(digest)
            .map(|hex| Path::new("blobs").join("sha256").join(hex))
            .ok_or_else(|| ImageError::Invalid(format!("`{digest}` is not a sha256 digest")))
    };
    let mut written = std::collections::BTreeSet::new();
    for d in image.blobs() {
        // Images may list one blob twice (identical empty layers): one file.
        if !written.insert(d.digest.clone()) {
            continue;
        }
        let bytes =
            image.blob(&d.digest, cache).ok_or_else(|| ImageError::Invalid(format!("blob {} is missing", d.digest)))?;
        writes.push(fsutil::PendingWrite::inside(dir, blob_path(&d.digest)?, bytes));
    }
    if written.insert(image.digest.clone()) {
        writes.push(fsutil::PendingWrite::inside(dir, blob_path(&image.digest)?, image.manifest.clone()));
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::INDEX,
        "manifests": [{
            "mediaType": oci::MANIFEST,
            "digest": image.digest,
            "size": image.manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    writes.push(fsutil::PendingWrite::inside(dir, "index.json", serde_json::to_vec(&index).expect("index")));
    fsutil::write_all_atomic(&writes)?;
    Ok(())
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
                        .ok_or_else(|| ImageError::Invalid(format!("blob {} is missing", d.digest)))?;
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
                    .map_err(|e| ImageError::Invalid(format!("cannot start a thread to push blob {digest}: {e}")))
            })
            .collect();
        drop(tx);
        for event in rx {
            events(event);
        }
        workers
            .into_iter()
            .map(|w| {
                w.and_then(|w| {
                    w.join().unwrap_or_else(|_| {
                        Err(ImageError::Invalid("a blob push stopped unexpectedly (a bug in score-fly)".to_owned()))
                    })
                })
            })
            .collect()
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
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
