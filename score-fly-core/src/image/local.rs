//! Base images on disk, named as skopeo names them: `oci:PATH[:TAG]` (an OCI image layout
//! folder) and `oci-archive:PATH[:TAG]` (the same as a tar file). As in skopeo, the path
//! ends at the first `:`; without a tag the layout must hold exactly one image. An image
//! index is followed to its linux/amd64 image; every blob is checked against its digest and
//! copied into the build's blob cache, so the rest of the build treats it like a pulled base.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::{BaseImage, BlobCache, ImageError, blob_hex, from_cache, oci};
use crate::fsutil::FsError;
use crate::limits::MAX_DOCUMENT_BYTES;

/// The annotation naming an image of a layout (its "tag").
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Folder or tar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    /// `oci:`: an OCI image layout folder.
    Layout,
    /// `oci-archive:`: an OCI image layout in a tar file.
    Archive,
}

/// A base image on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalBase {
    /// Folder or archive.
    pub kind: LocalKind,
    /// Its path (relative to the current folder, as skopeo reads it).
    pub path: PathBuf,
    /// The image's `org.opencontainers.image.ref.name`; `None`: the only image.
    pub tag: Option<String>,
}

/// Why an `oci:`/`oci-archive:` name cannot be read; each variant carries the text, and
/// the transport and path as parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalBaseError {
    /// Nothing after the transport.
    #[error("`{text}` names no path: write `{transport}:PATH[:TAG]`")]
    NoPath {
        /// The text.
        text: String,
        /// `oci` or `oci-archive`.
        transport: &'static str,
    },
    /// skopeo's `:@N` (an image by index), which score-fly does not read.
    #[error(
        "`{text}`: choosing an image by index (`:@N`) is not supported; name it by its tag (`{transport}:{path}:TAG`)"
    )]
    ByIndex {
        /// The text.
        text: String,
        /// `oci` or `oci-archive`.
        transport: &'static str,
        /// The path.
        path: String,
    },
    /// An empty tag, or one holding `:`.
    #[error(
        "`{text}`: the tag after `{transport}:{path}:` must be non-empty and hold no `:` (the path ends at the first `:`, as in skopeo)"
    )]
    Tag {
        /// The text.
        text: String,
        /// `oci` or `oci-archive`.
        transport: &'static str,
        /// The path.
        path: String,
    },
}

/// Why a layout's `oci-layout` file is not one score-fly reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// Not JSON.
    #[error("its oci-layout file is not JSON ({detail})")]
    NotJson {
        /// The JSON parser's message.
        detail: String,
    },
    /// A version other than 1.x (`None`: no `imageLayoutVersion` string).
    #[error("its oci-layout file names layout version {version:?}; score-fly reads 1.x")]
    Version {
        /// `imageLayoutVersion`.
        version: Option<String>,
    },
}

/// Why a base image on disk cannot be used: the base as named, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("base image {base}: {problem}")]
pub struct LocalError {
    /// The base as named (`oci:PATH[:TAG]`, `oci-archive:PATH[:TAG]`).
    pub base: String,
    /// What is wrong with it.
    pub problem: LocalProblem,
}

/// What is wrong with a base image on disk.
#[derive(Debug, thiserror::Error)]
pub enum LocalProblem {
    /// An `oci:` path that is not a folder.
    #[error("{} is not a folder (an OCI image layout: `oci-layout`, `index.json`, `blobs/`)", .dir.display())]
    NotAFolder {
        /// The path.
        dir: PathBuf,
    },
    /// A file that cannot be opened or read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `index.json` or `oci-layout` of a folder over the bound.
    #[error("{} is larger than {MAX_DOCUMENT_BYTES} bytes (limits::MAX_DOCUMENT_BYTES)", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// `index.json` or `oci-layout` of an archive over the bound.
    #[error("its {name} is larger than {MAX_DOCUMENT_BYTES} bytes (limits::MAX_DOCUMENT_BYTES)")]
    EntryTooLarge {
        /// `index.json` or `oci-layout`.
        name: &'static str,
    },
    /// A bad `oci-layout` file.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A digest the index reaches that is not `sha256:` and 64 lowercase hex digits.
    #[error("`{digest}` is not a sha256 digest")]
    NotADigest {
        /// The digest.
        digest: String,
    },
    /// A blob file of a folder whose content does not match its name.
    #[error("{} does not match its digest", .path.display())]
    BlobMismatch {
        /// The blob's file.
        path: PathBuf,
    },
    /// A blob of an archive whose content does not match its name.
    #[error("{entry} in {} does not match its digest", .archive.display())]
    ArchiveBlobMismatch {
        /// The blob's entry (`blobs/sha256/...`).
        entry: String,
        /// The archive.
        archive: PathBuf,
    },
    /// A blob could not be copied into the build's cache.
    #[error(transparent)]
    Cache(#[from] FsError),
    /// An archive that is not a tar file.
    #[error("{} is not a tar archive of an OCI image layout ({source})", .archive.display())]
    NotAnArchive {
        /// The archive.
        archive: PathBuf,
        /// What reading it answered.
        source: std::io::Error,
    },
    /// An archive without an `oci-layout` file.
    #[error("{} holds no oci-layout file", .archive.display())]
    NoLayoutFile {
        /// The archive.
        archive: PathBuf,
    },
    /// An archive without an `index.json`.
    #[error("{} holds no index.json", .archive.display())]
    NoIndex {
        /// The archive.
        archive: PathBuf,
    },
    /// `index.json` is not an image index.
    #[error("its index.json is not an OCI image index ({source})")]
    BadIndex {
        /// The JSON parser's error.
        source: serde_json::Error,
    },
    /// No image has the tag asked for.
    #[error("it has no image tagged `{tag}` (it has: {})", list(.tags))]
    NoSuchTag {
        /// The tag asked for.
        tag: String,
        /// The tags it has.
        tags: Vec<String>,
    },
    /// No tag given, and more than one image.
    #[error("it holds {count} images, so name one: `{transport}:{}:TAG` (tags: {})", .path.display(), list(.tags))]
    WhichImage {
        /// How many images.
        count: usize,
        /// `oci` or `oci-archive`.
        transport: &'static str,
        /// The path.
        path: PathBuf,
        /// The tags it has.
        tags: Vec<String>,
    },
    /// A blob the image needs is not there.
    #[error("blob {digest} is missing")]
    MissingBlob {
        /// Its digest.
        digest: String,
    },
    /// The chosen image index is not valid.
    #[error("its image index {digest} is not valid ({source})")]
    BadImageIndex {
        /// The index's digest.
        digest: String,
        /// The JSON parser's error.
        source: serde_json::Error,
    },
    /// The image index has no linux/amd64 image.
    #[error("it has no linux/amd64 image")]
    NoAmd64,
    /// The chosen manifest is not valid.
    #[error("its manifest {digest} is not valid ({source})")]
    BadManifest {
        /// The manifest's digest.
        digest: String,
        /// The JSON parser's error.
        source: serde_json::Error,
    },
    /// The blobs, copied into the cache, cannot be read back.
    #[error("its blobs could not be read back from the cache")]
    NotReadBack,
}

impl LocalBase {
    /// `Some` when `text` names the `oci:` or `oci-archive:` transport.
    pub fn parse(text: &str) -> Option<Result<LocalBase, LocalBaseError>> {
        let (kind, rest) = if let Some(rest) = text.strip_prefix("oci:") {
            (LocalKind::Layout, rest)
        } else if let Some(rest) = text.strip_prefix("oci-archive:") {
            (LocalKind::Archive, rest)
        } else {
            return None;
        };
        let (path, tag) = match rest.split_once(':') {
            Some((path, tag)) => (path, Some(tag)),
            None => (rest, None),
        };
        let transport = if kind == LocalKind::Layout { "oci" } else { "oci-archive" };
        if path.is_empty() {
            return Some(Err(LocalBaseError::NoPath { text: text.to_owned(), transport }));
        }
        if let Some(tag) = tag {
            if tag.starts_with('@') {
                return Some(Err(LocalBaseError::ByIndex { text: text.to_owned(), transport, path: path.to_owned() }));
            }
            if tag.is_empty() || tag.contains(':') {
                return Some(Err(LocalBaseError::Tag { text: text.to_owned(), transport, path: path.to_owned() }));
            }
        }
        Some(Ok(LocalBase { kind, path: PathBuf::from(path), tag: tag.map(str::to_owned) }))
    }

    fn transport(&self) -> &'static str {
        match self.kind {
            LocalKind::Layout => "oci",
            LocalKind::Archive => "oci-archive",
        }
    }
}

impl fmt::Display for LocalBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport(), self.path.display())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        Ok(())
    }
}

/// Reads the base image from disk into `cache`.
pub fn load(base: &LocalBase, cache: &BlobCache) -> Result<BaseImage, ImageError> {
    let name = base.to_string();
    let fail = |problem: LocalProblem| ImageError::Local(LocalError { base: name.clone(), problem });
    let index_bytes = match base.kind {
        LocalKind::Layout => read_layout(&base.path, cache).map_err(fail)?,
        LocalKind::Archive => read_archive(&base.path, cache).map_err(fail)?,
    };
    let index: oci::Index =
        serde_json::from_slice(&index_bytes).map_err(|source| fail(LocalProblem::BadIndex { source }))?;
    let tags: Vec<String> =
        index.manifests.iter().filter_map(|m| m.annotations.as_ref().and_then(|a| a.get(REF_NAME)).cloned()).collect();
    let chosen = match &base.tag {
        Some(tag) => index
            .manifests
            .iter()
            .find(|m| m.annotations.as_ref().and_then(|a| a.get(REF_NAME)) == Some(tag))
            .ok_or_else(|| fail(LocalProblem::NoSuchTag { tag: tag.clone(), tags: tags.clone() }))?,
        None if index.manifests.len() == 1 => &index.manifests[0],
        None => {
            return Err(fail(LocalProblem::WhichImage {
                count: index.manifests.len(),
                transport: base.transport(),
                path: base.path.clone(),
                tags,
            }));
        }
    };
    let blob =
        |digest: &str| cache.get(digest).ok_or_else(|| fail(LocalProblem::MissingBlob { digest: digest.to_owned() }));
    let mut digest = chosen.digest.clone();
    let mut bytes = blob(&digest)?;
    if chosen.media_type == oci::INDEX || chosen.media_type == oci::DOCKER_LIST {
        let inner: oci::Index = serde_json::from_slice(&bytes)
            .map_err(|source| fail(LocalProblem::BadImageIndex { digest: digest.clone(), source }))?;
        let amd64 = inner
            .manifests
            .iter()
            .find(|m| m.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == "amd64"))
            .ok_or_else(|| fail(LocalProblem::NoAmd64))?;
        digest.clone_from(&amd64.digest);
        bytes = blob(&digest)?;
    }
    let manifest: oci::Manifest = serde_json::from_slice(&bytes)
        .map_err(|source| fail(LocalProblem::BadManifest { digest: digest.clone(), source }))?;
    for d in std::iter::once(&manifest.config).chain(&manifest.layers) {
        blob(&d.digest)?;
    }
    from_cache(&name, &digest, cache)?.ok_or_else(|| fail(LocalProblem::NotReadBack))
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// Reads a layout folder's `index.json` and copies the blobs it may need into the cache
/// (every `blobs/sha256/*` whose content matches its name; the cache skips those it has).
fn read_layout(dir: &Path, cache: &BlobCache) -> Result<Vec<u8>, LocalProblem> {
    if !dir.is_dir() {
        return Err(LocalProblem::NotAFolder { dir: dir.to_owned() });
    }
    let index = read_bounded(&dir.join("index.json"))?;
    let layout = read_bounded(&dir.join("oci-layout"))?;
    check_layout_file(&layout)?;
    // Only the blobs the index reaches, read on demand.
    let mut pending: Vec<String> = serde_json::from_slice::<oci::Index>(&index)
        .map(|i| i.manifests.into_iter().map(|m| m.digest).collect())
        .unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(digest) = pending.pop() {
        if !seen.insert(digest.clone()) {
            continue;
        }
        let bytes = if let Some(bytes) = cache.get(&digest) {
            bytes
        } else {
            let hex = blob_hex(&digest).ok_or_else(|| LocalProblem::NotADigest { digest: digest.clone() })?;
            let path = dir.join("blobs").join("sha256").join(hex);
            let bytes = std::fs::read(&path).map_err(|source| LocalProblem::Read { path: path.clone(), source })?;
            if oci::digest(&bytes) != digest {
                return Err(LocalProblem::BlobMismatch { path });
            }
            cache.put(&digest, &bytes)?;
            bytes
        };
        pending.extend(children(&bytes));
    }
    Ok(index)
}

/// The digests a manifest or index refers to (nothing for other blobs).
pub(super) fn children(bytes: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else { return Vec::new() };
    let Some(map) = value.as_object() else { return Vec::new() };
    let mut out = Vec::new();
    for key in ["manifests", "layers", "blobs"] {
        if let Some(items) = map.get(key).and_then(|v| v.as_array()) {
            out.extend(items.iter().filter_map(|d| d.get("digest")?.as_str().map(str::to_owned)));
        }
    }
    for key in ["config", "subject"] {
        if let Some(d) = map.get(key).and_then(|d| d.get("digest")).and_then(|d| d.as_str()) {
            out.push(d.to_owned());
        }
    }
    out
}

fn check_layout_file(bytes: &[u8]) -> Result<(), LayoutError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| LayoutError::NotJson { detail: e.to_string() })?;
    match value.get("imageLayoutVersion").and_then(|v| v.as_str()) {
        Some(v) if v.starts_with("1.") => Ok(()),
        other => Err(LayoutError::Version { version: other.map(str::to_owned) }),
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, LocalProblem> {
    let read = |source: std::io::Error| LocalProblem::Read { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(read)?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(read)?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(LocalProblem::TooLarge { path: path.to_owned() });
    }
    Ok(bytes)
}

/// Reads an OCI archive in one pass: its `index.json` and `oci-layout`, and every blob
/// (hashed as it is read; one whose content does not match its name is an error) into the
/// cache.
fn read_archive(path: &Path, cache: &BlobCache) -> Result<Vec<u8>, LocalProblem> {
    let file = std::fs::File::open(path).map_err(|source| LocalProblem::Read { path: path.to_owned(), source })?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let broken = |source: std::io::Error| LocalProblem::NotAnArchive { archive: path.to_owned(), source };
    let mut files: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for entry in archive.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = entry.path().map_err(broken)?.to_string_lossy().trim_start_matches("./").to_owned();
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            let digest = format!("sha256:{hex}");
            if blob_hex(&digest).is_none() {
                continue;
            }
            if cache.get(&digest).is_some() {
                continue;
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(broken)?;
            if oci::hex_digest(&Sha256::digest(&bytes)) != digest {
                return Err(LocalProblem::ArchiveBlobMismatch { entry: name, archive: path.to_owned() });
            }
            cache.put(&digest, &bytes)?;
        } else if let Some(key) = ["index.json", "oci-layout"].into_iter().find(|k| *k == name) {
            let mut bytes = Vec::new();
            entry.take(MAX_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(broken)?;
            if bytes.len() > MAX_DOCUMENT_BYTES {
                return Err(LocalProblem::EntryTooLarge { name: key });
            }
            files.insert(key, bytes);
        }
    }
    let layout = files.remove("oci-layout").ok_or_else(|| LocalProblem::NoLayoutFile { archive: path.to_owned() })?;
    check_layout_file(&layout)?;
    files.remove("index.json").ok_or_else(|| LocalProblem::NoIndex { archive: path.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_skopeo() {
        let l = LocalBase::parse("oci:base-oci:v1").unwrap().unwrap();
        assert_eq!(
            (l.kind, l.path.as_path(), l.tag.as_deref()),
            (LocalKind::Layout, Path::new("base-oci"), Some("v1"))
        );
        let l = LocalBase::parse("oci-archive:/tmp/b.tar").unwrap().unwrap();
        assert_eq!((l.kind, l.tag.as_deref()), (LocalKind::Archive, None));
        assert_eq!(l.to_string(), "oci-archive:/tmp/b.tar");
        assert!(LocalBase::parse("registry.fly.io/x:1").is_none());
        assert!(LocalBase::parse("oci:").unwrap().is_err());
        assert!(LocalBase::parse("oci:x:@0").unwrap().is_err());
        assert!(LocalBase::parse("oci:x:").unwrap().is_err());
    }

    #[test]
    fn errors_carry_the_transport_and_path() {
        let e = LocalBase::parse("oci-archive:").unwrap().unwrap_err();
        assert_eq!(e, LocalBaseError::NoPath { text: "oci-archive:".to_owned(), transport: "oci-archive" });
        assert_eq!(e.to_string(), "`oci-archive:` names no path: write `oci-archive:PATH[:TAG]`");
        let e = LocalBase::parse("oci:base:@0").unwrap().unwrap_err();
        assert_eq!(
            e,
            LocalBaseError::ByIndex { text: "oci:base:@0".to_owned(), transport: "oci", path: "base".to_owned() }
        );
        assert_eq!(
            e.to_string(),
            "`oci:base:@0`: choosing an image by index (`:@N`) is not supported; name it by its tag (`oci:base:TAG`)"
        );
        let e = LocalBase::parse("oci:base:v1:x").unwrap().unwrap_err();
        assert!(matches!(&e, LocalBaseError::Tag { path, .. } if path == "base"), "{e:?}");
        assert_eq!(
            e.to_string(),
            "`oci:base:v1:x`: the tag after `oci:base:` must be non-empty and hold no `:` (the path ends at the first `:`, as in skopeo)"
        );
    }

    #[test]
    fn layout_file_errors_name_the_version() {
        assert_eq!(check_layout_file(br#"{"imageLayoutVersion": "1.0.0"}"#), Ok(()));
        let e = check_layout_file(br#"{"imageLayoutVersion": "2.0"}"#).unwrap_err();
        assert_eq!(e, LayoutError::Version { version: Some("2.0".to_owned()) });
        assert_eq!(e.to_string(), "its oci-layout file names layout version Some(\"2.0\"); score-fly reads 1.x");
        assert_eq!(
            check_layout_file(b"{}").unwrap_err().to_string(),
            "its oci-layout file names layout version None; score-fly reads 1.x"
        );
        let e = check_layout_file(b"{").unwrap_err();
        assert!(matches!(&e, LayoutError::NotJson { detail } if detail.starts_with("EOF")), "{e:?}");
        assert!(e.to_string().starts_with("its oci-layout file is not JSON (EOF while parsing"), "{e}");
    }

    fn base(text: &str) -> LocalBase {
        LocalBase::parse(text).unwrap().unwrap()
    }

    fn problem(e: ImageError) -> LocalError {
        match e {
            ImageError::Local(e) => e,
            other => panic!("not a LocalError: {other:?}"),
        }
    }

    #[test]
    fn load_errors_name_the_base_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlobCache::new(dir.path().join("cache"));
        let missing = dir.path().join("missing");
        let e = problem(load(&base(&format!("oci:{}", missing.display())), &cache).unwrap_err());
        assert_eq!(e.base, format!("oci:{}", missing.display()));
        assert!(matches!(&e.problem, LocalProblem::NotAFolder { dir } if *dir == missing), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "base image oci:{0}: {0} is not a folder (an OCI image layout: `oci-layout`, `index.json`, `blobs/`)",
                missing.display()
            )
        );

        // A tar archive with nothing in it (two zero blocks).
        let empty = dir.path().join("empty.tar");
        std::fs::write(&empty, [0u8; 1024]).unwrap();
        let e = problem(load(&base(&format!("oci-archive:{}:v1", empty.display())), &cache).unwrap_err());
        assert!(matches!(&e.problem, LocalProblem::NoLayoutFile { archive } if *archive == empty), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("base image oci-archive:{0}:v1: {0} holds no oci-layout file", empty.display())
        );

        // A layout with two untagged images and one tagged `v1`.
        let layout = dir.path().join("layout");
        std::fs::create_dir(&layout).unwrap();
        std::fs::write(layout.join("oci-layout"), br#"{"imageLayoutVersion": "1.0.0"}"#).unwrap();
        let d = |n: u8| format!("sha256:{}", format!("{n:x}").repeat(64));
        let index = serde_json::json!({"schemaVersion": 2, "manifests": [
            {"mediaType": oci::MANIFEST, "digest": d(1), "size": 1, "annotations": {REF_NAME: "v1"}},
            {"mediaType": oci::MANIFEST, "digest": d(2), "size": 1},
        ]});
        std::fs::write(layout.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        let e = problem(load(&base(&format!("oci:{}:v2", layout.display())), &cache).unwrap_err());
        assert!(
            matches!(&e.problem, LocalProblem::Read { path, source } if path.ends_with(format!("blobs/sha256/{}", "2".repeat(64))) && source.kind() == std::io::ErrorKind::NotFound),
            "{e:?}"
        );
        std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
        std::fs::write(layout.join("blobs/sha256").join("2".repeat(64)), b"{}").unwrap();
        let e = problem(load(&base(&format!("oci:{}:v2", layout.display())), &cache).unwrap_err());
        assert!(matches!(&e.problem, LocalProblem::BlobMismatch { path } if path.ends_with("2".repeat(64))), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "base image oci:{0}:v2: {0}/blobs/sha256/{1} does not match its digest",
                layout.display(),
                "2".repeat(64)
            )
        );
    }

    #[test]
    fn problems_read_as_before() {
        let cases: &[(LocalProblem, &str)] = &[
            (
                LocalProblem::NoSuchTag { tag: "v2".into(), tags: vec!["v1".into(), "latest".into()] },
                "it has no image tagged `v2` (it has: v1, latest)",
            ),
            (LocalProblem::NoSuchTag { tag: "v2".into(), tags: vec![] }, "it has no image tagged `v2` (it has: none)"),
            (
                LocalProblem::WhichImage {
                    count: 2,
                    transport: "oci-archive",
                    path: "b.tar".into(),
                    tags: vec!["v1".into()],
                },
                "it holds 2 images, so name one: `oci-archive:b.tar:TAG` (tags: v1)",
            ),
            (
                LocalProblem::EntryTooLarge { name: "index.json" },
                "its index.json is larger than 1048576 bytes (limits::MAX_DOCUMENT_BYTES)",
            ),
            (
                LocalProblem::TooLarge { path: "l/oci-layout".into() },
                "l/oci-layout is larger than 1048576 bytes (limits::MAX_DOCUMENT_BYTES)",
            ),
            (LocalProblem::NotADigest { digest: "md5:x".into() }, "`md5:x` is not a sha256 digest"),
            (LocalProblem::MissingBlob { digest: "sha256:ab".into() }, "blob sha256:ab is missing"),
            (LocalProblem::NoIndex { archive: "b.tar".into() }, "b.tar holds no index.json"),
            (
                LocalProblem::ArchiveBlobMismatch { entry: "blobs/sha256/ab".into(), archive: "b.tar".into() },
                "blobs/sha256/ab in b.tar does not match its digest",
            ),
            (LocalProblem::NoAmd64, "it has no linux/amd64 image"),
            (LocalProblem::NotReadBack, "its blobs could not be read back from the cache"),
            (
                LocalProblem::Layout(LayoutError::Version { version: None }),
                "its oci-layout file names layout version None; score-fly reads 1.x",
            ),
        ];
        for (problem, text) in cases {
            assert_eq!(problem.to_string(), *text, "{problem:?}");
        }
        let json = serde_json::from_slice::<oci::Index>(b"[").unwrap_err();
        let shown = json.to_string();
        let e = LocalError {
            base: "oci:l".into(),
            problem: LocalProblem::BadManifest { digest: "sha256:ab".into(), source: json },
        };
        assert_eq!(e.to_string(), format!("base image oci:l: its manifest sha256:ab is not valid ({shown})"));
    }
}
