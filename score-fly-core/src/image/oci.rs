//! OCI image types (just what score-fly reads and writes) and digests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// OCI image manifest.
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI gzip layer.
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Docker v2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker gzip layer.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// The empty descriptor's media type (an artifact's config, OCI image spec 1.1).
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The empty descriptor's content: `{}`.
pub const EMPTY_CONTENT: &[u8] = b"{}";
/// A `CycloneDX` JSON document (an SBOM's `artifactType` and layer media type).
pub const CYCLONEDX: &str = "application/vnd.cyclonedx+json";
/// `org.opencontainers.image.created`.
pub const CREATED: &str = "org.opencontainers.image.created";
/// `org.opencontainers.image.source`.
pub const SOURCE: &str = "org.opencontainers.image.source";
/// `org.opencontainers.image.revision`.
pub const REVISION: &str = "org.opencontainers.image.revision";
/// `org.opencontainers.image.version`.
pub const VERSION: &str = "org.opencontainers.image.version";
/// `org.opencontainers.image.title`.
pub const TITLE: &str = "org.opencontainers.image.title";
/// score-fly's mark of an image built from a git tree with uncommitted changes.
pub const DIRTY: &str = "dev.score-fly.dirty";

/// `sha256:<hex>` of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    hex_digest(&Sha256::digest(bytes))
}

/// `sha256:<hex>` of a finished hash.
pub fn hex_digest(hash: &[u8]) -> String {
    format!("sha256:{}", crate::encoding::hex(hash))
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type.
    pub media_type: String,
    /// `sha256:...`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Platform (in indexes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The artifact type of the manifest it describes (in a referrers index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

/// A platform in an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// e.g. `amd64`.
    pub architecture: String,
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `v8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest (OCI or Docker v2 — same shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's own media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, base first.
    pub layers: Vec<Descriptor>,
    /// An artifact's type (OCI image spec 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifest this one refers to (an artifact's subject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image index / manifest list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// Media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// One manifest per platform (or, for a referrers index, per referrer).
    pub manifests: Vec<Descriptor>,
}

/// The image config: kept as JSON so fields we do not model survive untouched.
pub type ImageConfig = serde_json::Map<String, serde_json::Value>;
