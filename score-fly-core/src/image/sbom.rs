//! The image's SBOM: the crates of its binary as a `CycloneDX` 1.5 JSON document, and the OCI
//! artifact that carries it (a manifest whose `subject` is the image manifest).
//!
//! - [`cyclonedx`]: the document, deterministic (components and dependencies sorted, no
//!   serial number, the timestamp given by the caller from `SOURCE_DATE_EPOCH` or the
//!   commit time, nothing machine-specific such as absolute paths), so a rebuild of the same
//!   sources gives the same bytes and the same digests.
//! - [`Artifact::new`]: the referrer manifest (`artifactType` `application/vnd.cyclonedx+json`,
//!   the empty config, one layer: the document).
//! - [`push`]: the blobs and the manifest (by digest), then, unless the registry answers the
//!   referrers API (`GET /v2/<name>/referrers/<digest>` → 200), the tag-schema fallback of
//!   the OCI distribution spec 1.1: the index tagged `sha256-<hex of the subject>` gets the
//!   referrer added (its other entries kept).
//! - [`layout_entries`]: the referrer in an OCI layout's `index.json`.

use std::collections::BTreeMap;

use super::oci::{self, Descriptor, Index, Manifest};
use super::registry::Registry;
use super::{BlobCache, Image, ImageError};

/// Where a crate comes from (Cargo.lock's `source`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A registry: its `source` text (`registry+https://github.com/rust-lang/crates.io-index`,
    /// `sparse+https://...`).
    Registry(String),
    /// A git repository: `git+<url>?<query>#<commit>` as Cargo.lock writes it.
    Git(String),
    /// A path dependency (no `source` in Cargo.lock): relative to the workspace root when
    /// inside it, else `None` (an absolute path would make the SBOM machine-specific).
    Path(Option<String>),
}

/// One crate of the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    /// `name@version` (with the source kind added when two crates share both): the
    /// `CycloneDX` `bom-ref`.
    pub id: String,
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Where it comes from.
    pub source: Source,
    /// Cargo.lock's SHA-256 of the `.crate` file (registry crates only).
    pub checksum: Option<String>,
    /// Its `license` field.
    pub license: Option<String>,
    /// A procedural macro (run by the compiler, not linked).
    pub proc_macro: bool,
    /// The `id`s of its normal dependencies in the binary's graph.
    pub depends_on: Vec<String>,
}

/// What the SBOM describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bom {
    /// The package whose binary ships.
    pub root: Crate,
    /// Every other crate of the binary's graph.
    pub crates: Vec<Crate>,
    /// `metadata.timestamp`, seconds since the epoch (`None`: omitted).
    pub timestamp: Option<u64>,
}

const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";
const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

fn purl(c: &Crate) -> Option<String> {
    let encode = |text: &str| crate::encoding::percent_encode(text, b"-._~");
    let base = format!("pkg:cargo/{}@{}", encode(&c.name), encode(&c.version));
    match &c.source {
        Source::Registry(s) if s == CRATES_IO || s == CRATES_IO_SPARSE => Some(base),
        Source::Registry(s) => {
            let url = s.split_once('+').map_or(s.as_str(), |(_, url)| url);
            Some(format!("{base}?repository_url={}", encode(url)))
        }
        Source::Git(s) => {
            let url = s.strip_prefix("git+").unwrap_or(s);
            let (url, commit) = url.split_once('#').unwrap_or((url, ""));
            let url = url.split_once('?').map_or(url, |(u, _)| u);
            Some(format!("{base}?vcs_url={}", encode(&format!("git+{url}@{commit}"))))
        }
        Source::Path(_) => None,
    }
}

fn component(c: &Crate, kind: &str) -> serde_json::Value {
    let mut value = serde_json::json!({
        "type": kind,
        "bom-ref": c.id,
        "name": c.name,
        "version": c.version,
    });
    let object = value.as_object_mut().expect("an object");
    if let Some(purl) = purl(c) {
        object.insert("purl".to_owned(), purl.into());
    }
    if let Some(checksum) = &c.checksum {
        object.insert("hashes".to_owned(), serde_json::json!([{"alg": "SHA-256", "content": checksum}]));
    }
    if let Some(license) = &c.license {
        // Old manifests write `MIT/Apache-2.0`; SPDX says `MIT OR Apache-2.0`.
        let expression = license.split('/').map(str::trim).collect::<Vec<_>>().join(" OR ");
        object.insert("licenses".to_owned(), serde_json::json!([{"expression": expression}]));
    }
    if let Source::Git(s) = &c.source {
        let url = s.strip_prefix("git+").unwrap_or(s);
        let url = url.split(['?', '#']).next().unwrap_or(url);
        object.insert("externalReferences".to_owned(), serde_json::json!([{"type": "vcs", "url": url}]));
    }
    let source = match &c.source {
        Source::Registry(s) | Source::Git(s) => s.clone(),
        Source::Path(Some(p)) => format!("path+{p}"),
        Source::Path(None) => "path".to_owned(),
    };
    let mut properties = vec![serde_json::json!({"name": "score-fly:cargo:source", "value": source})];
    if c.proc_macro {
        properties.push(serde_json::json!({"name": "score-fly:cargo:proc-macro", "value": "true"}));
    }
    object.insert("properties".to_owned(), properties.into());
    value
}

/// The `CycloneDX` 1.5 JSON document of `bom` (pretty-printed, sorted, deterministic).
pub fn cyclonedx(bom: &Bom) -> Vec<u8> {
    let mut crates: Vec<&Crate> = bom.crates.iter().collect();
    crates.sort_by(|a, b| (&a.name, &a.version, &a.id).cmp(&(&b.name, &b.version, &b.id)));
    let mut metadata = serde_json::json!({
        "tools": {"components": [{
            "type": "application",
            "name": "score-fly",
            "version": env!("CARGO_PKG_VERSION"),
        }]},
        "component": component(&bom.root, "application"),
    });
    if let Some(seconds) = bom.timestamp {
        metadata["timestamp"] = super::rfc3339(seconds).into();
    }
    let mut dependencies: Vec<serde_json::Value> = std::iter::once(&bom.root)
        .chain(crates.iter().copied())
        .map(|c| {
            let mut on = c.depends_on.clone();
            on.sort();
            on.dedup();
            serde_json::json!({"ref": c.id, "dependsOn": on})
        })
        .collect();
    dependencies.sort_by(|a, b| a["ref"].as_str().cmp(&b["ref"].as_str()));
    let document = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": metadata,
        "components": crates.iter().map(|c| component(c, "library")).collect::<Vec<_>>(),
        "dependencies": dependencies,
    });
    let mut bytes = serde_json::to_vec_pretty(&document).expect("the SBOM serialises");
    bytes.push(b'\n');
    bytes
}

/// The file name the SBOM layer carries (`org.opencontainers.image.title`).
pub const FILE_NAME: &str = "sbom.cdx.json";

/// The referrer manifest that attaches an SBOM to an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The manifest bytes.
    pub manifest: Vec<u8>,
    /// Their digest.
    pub digest: String,
    /// The SBOM document.
    pub document: Vec<u8>,
    /// Its digest.
    pub document_digest: String,
}

impl Artifact {
    /// The artifact of `document` about `image`; `created` (RFC 3339) becomes its
    /// `org.opencontainers.image.created` annotation.
    pub fn new(image: &Image, document: Vec<u8>, created: Option<&str>) -> Artifact {
        let document_digest = oci::digest(&document);
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(oci::MANIFEST.to_owned()),
            artifact_type: Some(oci::CYCLONEDX.to_owned()),
            config: descriptor(oci::EMPTY, oci::EMPTY_CONTENT),
            layers: vec![Descriptor {
                annotations: Some(BTreeMap::from([(oci::TITLE.to_owned(), FILE_NAME.to_owned())])),
                ..descriptor(oci::CYCLONEDX, &document)
            }],
            subject: Some(descriptor(oci::MANIFEST, &image.manifest)),
            annotations: created.map(|c| BTreeMap::from([(oci::CREATED.to_owned(), c.to_owned())])),
        };
        let manifest = serde_json::to_vec(&manifest).expect("the artifact manifest serialises");
        Artifact { digest: oci::digest(&manifest), manifest, document, document_digest }
    }

    /// Its blobs: the empty config and the document.
    pub fn blobs(&self) -> [(String, &[u8]); 2] {
        [(oci::digest(oci::EMPTY_CONTENT), oci::EMPTY_CONTENT), (self.document_digest.clone(), &self.document)]
    }

    /// Its descriptor in an index (referrers index, OCI layout).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor { artifact_type: Some(oci::CYCLONEDX.to_owned()), ..descriptor(oci::MANIFEST, &self.manifest) }
    }
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: oci::digest(bytes),
        size: bytes.len() as u64,
        platform: None,
        annotations: None,
        artifact_type: None,
    }
}

/// How the SBOM was attached in a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// The registry answers the referrers API: the manifest's `subject` is enough.
    ReferrersApi,
    /// The tag-schema fallback: the index tagged `sha256-<hex>` lists it.
    TagSchema,
}

/// The fallback tag of an image digest: `sha256-<hex>`.
pub fn fallback_tag(subject: &str) -> String {
    subject.replacen(':', "-", 1)
}

/// Pushes the SBOM artifact about `subject` (an image manifest digest) to `repository`.
pub fn push(artifact: &Artifact, registry: &Registry, repository: &str, subject: &str) -> Result<Attached, ImageError> {
    for (digest, bytes) in artifact.blobs() {
        if !registry.blob_exists(repository, &digest)? {
            registry.push_blob(repository, &digest, bytes, None, &mut |_| {})?;
        }
    }
    registry.put_manifest(repository, &artifact.digest, oci::MANIFEST, &artifact.manifest)?;
    if registry.referrers(repository, subject)?.is_some() {
        return Ok(Attached::ReferrersApi);
    }
    let tag = fallback_tag(subject);
    let mut index = match registry.find_manifest(repository, &tag)? {
        Some((_, bytes)) => serde_json::from_slice::<Index>(&bytes).map_err(|source| ImageError::BadDocument {
            document: "referrers index",
            reference: format!("{repository}:{tag}"),
            source,
        })?,
        None => Index { schema_version: 2, media_type: Some(oci::INDEX.to_owned()), manifests: Vec::new() },
    };
    if !index.manifests.iter().any(|m| m.digest == artifact.digest) {
        index.manifests.push(artifact.descriptor());
        let bytes = serde_json::to_vec(&index).expect("the referrers index serialises");
        registry.put_manifest(repository, &tag, oci::INDEX, &bytes)?;
    }
    Ok(Attached::TagSchema)
}

/// Whether a layout's `index.json` entry is an SBOM referrer score-fly wrote.
pub fn is_referrer_entry(entry: &serde_json::Value) -> bool {
    entry.get("artifactType").and_then(|t| t.as_str()) == Some(oci::CYCLONEDX)
}

/// The subject digest of a referrer manifest's bytes.
pub fn subject_of(manifest: &[u8]) -> Option<String> {
    serde_json::from_slice::<Manifest>(manifest).ok()?.subject.map(|s| s.digest)
}

/// Stores the artifact's blobs in the cache (so an OCI layout can be written from it).
pub fn cache(artifact: &Artifact, cache: &BlobCache) -> Result<(), ImageError> {
    for (digest, bytes) in artifact.blobs() {
        cache.put(&digest, bytes)?;
    }
    Ok(cache.put(&artifact.digest, &artifact.manifest)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(name: &str, version: &str, source: Source, on: &[&str]) -> Crate {
        Crate {
            id: format!("{name}@{version}"),
            name: name.into(),
            version: version.into(),
            checksum: matches!(source, Source::Registry(_)).then(|| "ab".repeat(32)),
            source,
            license: Some("MIT/Apache-2.0".into()),
            proc_macro: false,
            depends_on: on.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn bom(order: bool) -> Bom {
        let mut crates = vec![
            krate("serde", "1.0.0", Source::Registry(CRATES_IO.into()), &[]),
            krate("axum", "0.8.0", Source::Registry(CRATES_IO.into()), &["serde@1.0.0"]),
            krate("lib", "0.1.0+local", Source::Git("git+https://example.com/lib?branch=x#0123abc".into()), &[]),
            krate("macros", "0.1.0", Source::Path(Some("macros".into())), &[]),
        ];
        if order {
            crates.reverse();
        }
        Bom {
            root: krate("web", "0.1.0", Source::Path(Some(String::new())), &["serde@1.0.0", "axum@0.8.0"]),
            crates,
            timestamp: Some(1_700_000_000),
        }
    }

    #[test]
    fn the_document_is_sorted_and_the_same_whatever_the_input_order() {
        let bytes = cyclonedx(&bom(false));
        assert_eq!(bytes, cyclonedx(&bom(true)));
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!((&doc["bomFormat"], &doc["specVersion"]), (&"CycloneDX".into(), &"1.5".into()));
        assert_eq!(doc["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(doc["metadata"]["component"]["name"], "web");
        let names: Vec<&str> =
            doc["components"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["axum", "lib", "macros", "serde"]);
        let serde = &doc["components"][3];
        assert_eq!(serde["purl"], "pkg:cargo/serde@1.0.0");
        assert_eq!(serde["hashes"], serde_json::json!([{"alg": "SHA-256", "content": "ab".repeat(32)}]));
        assert_eq!(serde["licenses"][0]["expression"], "MIT OR Apache-2.0");
        let git = &doc["components"][1];
        assert_eq!(git["purl"], "pkg:cargo/lib@0.1.0%2Blocal?vcs_url=git%2Bhttps%3A%2F%2Fexample.com%2Flib%400123abc");
        assert_eq!(git["externalReferences"][0]["url"], "https://example.com/lib");
        assert!(git.get("hashes").is_none(), "git crates have no checksum");
        let path = &doc["components"][2];
        assert!(path.get("purl").is_none());
        assert_eq!(
            path["properties"][0],
            serde_json::json!({"name": "score-fly:cargo:source", "value": "path+macros"})
        );
        assert_eq!(
            doc["dependencies"][4],
            serde_json::json!({"ref": "web@0.1.0", "dependsOn": ["axum@0.8.0", "serde@1.0.0"]})
        );
        let mut untimed = bom(false);
        untimed.timestamp = None;
        let doc: serde_json::Value = serde_json::from_slice(&cyclonedx(&untimed)).unwrap();
        assert!(doc["metadata"].get("timestamp").is_none());
    }

    /// A registry on loopback that answers from a table of `(method, path prefix)` →
    /// status and body, stores `PUT` manifests (served back by `GET`), and records every
    /// request line.
    struct FakeRegistry {
        host: String,
        log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl FakeRegistry {
        fn start(referrers_api: bool) -> FakeRegistry {
            use std::io::{BufRead as _, Read as _, Write as _};
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let host = listener.local_addr().unwrap().to_string();
            let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (log2, stop2) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut manifests: BTreeMap<String, Vec<u8>> = BTreeMap::new();
                while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok((stream, _)) = listener.accept() else {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        continue;
                    };
                    stream.set_nonblocking(false).unwrap();
                    let mut reader = std::io::BufReader::new(stream);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            break;
                        }
                        let mut length = 0;
                        loop {
                            let mut header = String::new();
                            reader.read_line(&mut header).unwrap();
                            if header.trim().is_empty() {
                                break;
                            }
                            if let Some((k, v)) = header.split_once(':')
                                && k.eq_ignore_ascii_case("content-length")
                            {
                                length = v.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).unwrap();
                        let mut words = line.split_whitespace();
                        let (method, path) = (words.next().unwrap().to_owned(), words.next().unwrap().to_owned());
                        log2.lock().unwrap().push(format!("{method} {path}"));
                        let (status, answer): (u16, Vec<u8>) = if method == "HEAD" && path.contains("/blobs/") {
                            (200, Vec::new())
                        } else if method == "PUT" && path.contains("/manifests/") {
                            manifests.insert(path.clone(), body);
                            (201, Vec::new())
                        } else if method == "GET" && path.contains("/referrers/") {
                            if referrers_api {
                                (200, br#"{"schemaVersion":2,"manifests":[]}"#.to_vec())
                            } else {
                                (404, Vec::new())
                            }
                        } else if method == "GET" && manifests.contains_key(&path) {
                            (200, manifests[&path].clone())
                        } else {
                            (404, Vec::new())
                        };
                        let stream = reader.get_mut();
                        let head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: {}\r\n\r\n",
                            answer.len(),
                            oci::INDEX
                        );
                        stream.write_all(head.as_bytes()).unwrap();
                        if method != "HEAD" {
                            stream.write_all(&answer).unwrap();
                        }
                    }
                }
            });
            FakeRegistry { host, log, stop }
        }

        fn requests(&self) -> Vec<String> {
            self.log.lock().unwrap().clone()
        }
    }

    impl Drop for FakeRegistry {
        fn drop(&mut self) {
            self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn image(text: &str) -> Image {
        Image {
            manifest: text.as_bytes().to_vec(),
            digest: oci::digest(text.as_bytes()),
            config: Vec::new(),
            app_layer: crate::image::layer::build(&[], 0).unwrap(),
            layers: Vec::new(),
        }
    }

    fn registry(fake: &FakeRegistry) -> Registry {
        let reference = crate::image::Reference::parse(&format!("{}/acme-web:v1", fake.host)).unwrap();
        Registry::new(&reference, None).with_attempts(1)
    }

    #[test]
    fn a_registry_with_the_referrers_api_needs_no_fallback_tag() {
        let fake = FakeRegistry::start(true);
        let subject = image("{\"schemaVersion\":2}");
        let artifact = Artifact::new(&subject, b"{}\n".to_vec(), None);
        let how = push(&artifact, &registry(&fake), "acme-web", &subject.digest).unwrap();
        assert_eq!(how, Attached::ReferrersApi);
        let requests = fake.requests();
        assert!(requests.contains(&format!("PUT /v2/acme-web/manifests/{}", artifact.digest)), "{requests:?}");
        assert!(requests.contains(&format!("GET /v2/acme-web/referrers/{}", subject.digest)), "{requests:?}");
        assert!(!requests.iter().any(|r| r.contains("sha256-")), "no fallback tag: {requests:?}");
    }

    #[test]
    fn without_the_referrers_api_the_fallback_index_gathers_every_referrer() {
        let fake = FakeRegistry::start(false);
        let registry = registry(&fake);
        let subject = image("{\"schemaVersion\":2}");
        let first = Artifact::new(&subject, b"{\"a\":1}\n".to_vec(), None);
        assert_eq!(push(&first, &registry, "acme-web", &subject.digest).unwrap(), Attached::TagSchema);
        let second = Artifact::new(&subject, b"{\"a\":2}\n".to_vec(), None);
        assert_eq!(push(&second, &registry, "acme-web", &subject.digest).unwrap(), Attached::TagSchema);
        // Pushed again: listed once.
        push(&second, &registry, "acme-web", &subject.digest).unwrap();
        let tag = fallback_tag(&subject.digest);
        let (media_type, bytes) = registry.get_manifest("acme-web", &tag).unwrap();
        assert_eq!(media_type, oci::INDEX);
        let index: Index = serde_json::from_slice(&bytes).unwrap();
        let digests: Vec<&str> = index.manifests.iter().map(|m| m.digest.as_str()).collect();
        assert_eq!(digests, [first.digest.as_str(), second.digest.as_str()]);
        assert!(index.manifests.iter().all(|m| m.artifact_type.as_deref() == Some(oci::CYCLONEDX)));
        let puts =
            fake.requests().iter().filter(|r| r.starts_with(&format!("PUT /v2/acme-web/manifests/{tag}"))).count();
        assert_eq!(puts, 2, "the index is written only when it changes");
    }

    #[test]
    fn the_artifact_refers_to_the_image() {
        let image = Image {
            manifest: b"{\"schemaVersion\":2}".to_vec(),
            digest: oci::digest(b"{\"schemaVersion\":2}"),
            config: Vec::new(),
            app_layer: crate::image::layer::build(&[], 0).unwrap(),
            layers: Vec::new(),
        };
        let artifact = Artifact::new(&image, b"{}\n".to_vec(), Some("2023-11-14T22:13:20Z"));
        let m: serde_json::Value = serde_json::from_slice(&artifact.manifest).unwrap();
        assert_eq!(m["artifactType"], oci::CYCLONEDX);
        assert_eq!(m["config"]["mediaType"], oci::EMPTY);
        assert_eq!(m["config"]["digest"], "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        assert_eq!(m["subject"]["digest"], image.digest);
        assert_eq!(m["subject"]["size"], image.manifest.len());
        assert_eq!(m["layers"][0]["annotations"][oci::TITLE], FILE_NAME);
        assert_eq!(m["annotations"][oci::CREATED], "2023-11-14T22:13:20Z");
        assert_eq!(subject_of(&artifact.manifest), Some(image.digest.clone()));
        assert_eq!(artifact.descriptor().artifact_type.as_deref(), Some(oci::CYCLONEDX));
        assert_eq!(fallback_tag("sha256:ab"), "sha256-ab");
    }
}
