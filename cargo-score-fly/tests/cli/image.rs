//! `build`: `examples/hello`'s image built for real (cargo, a base image pulled from a
//! registry, assembly, push) against `docker-registry` on loopback, read back with `skopeo`,
//! unpacked with `umoci`, and its binary run from the unpacked root filesystem.
//!
//! Every test starts its own registries (a config of its own, a free loopback port, a data
//! folder of its own) and pushes its own base images, built from this machine's glibc (or a
//! stub libc) with umoci. hello is built in one cargo target folder shared by the whole group
//! ([`harness::shared_target_dir`]), so its dependencies compile once; builds never overlap.
//! The registries, base images and image readers are `score_fly_tests::registry`'s, shared
//! with the `deploy` end-to-end tests; what is hello's is in [`harness`].
//!
//! The registry tools (`docker-registry`, `skopeo`, `umoci`, `htpasswd`) are required:
//! without them these tests fail, saying what to install (`scripts/test.sh` installs them).

pub(crate) mod harness;

use std::time::{Duration, Instant};

use harness::{
    GREETING, Hello, Layout, between_builds, glibc_needed, run_hello, shared_target_dir, strings, tar_gz_entries,
};
use score_fly_tests::free_port;
use score_fly_tests::registry::{
    Base, Registry, Request, http_put, inspect, make_base, manifest_descriptor, pull_and_unpack, push_base,
    push_layout, unique, unpack,
};

/// The Fly token the tests' registries accept.
const TOKEN: &str = "fo1_right-token-7c1e9b2a5d";
/// A token they reject.
const WRONG: &str = "fo1_wrong-token-3f8d5e6041";

/// The arguments of a push of hello on `base` as `demo-hello`, with its JSON summary.
fn push_args(base: &str) -> Vec<&str> {
    vec!["--push", "--base-image", base, "--app-prefix", "demo-", "--format", "json"]
}

/// `FLY_REGISTRY_HOST` (the registry) and `FLY_API_TOKEN`.
fn fly_env(host: &str, token: &str) -> Vec<(&'static str, String)> {
    vec![("FLY_REGISTRY_HOST", host.to_owned()), ("FLY_API_TOKEN", token.to_owned())]
}

fn env_refs<'e>(env: &'e [(&'static str, String)]) -> Vec<(&'static str, &'e str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn str_of<'v>(value: &'v serde_json::Value, key: &str) -> &'v str {
    value[key].as_str().unwrap_or_else(|| panic!("`{key}` is a string in {value}"))
}

/// `[layer digests..., config digest]` of a manifest, and their sizes.
fn blobs(manifest: &serde_json::Value) -> Vec<(String, u64)> {
    manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .chain(std::iter::once(&manifest["config"]))
        .map(|d| (str_of(d, "digest").to_owned(), d["size"].as_u64().expect("a size")))
        .collect()
}

/// Base64 of `x:<token>`: what a Basic Authorization header carries.
fn basic(token: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("x:{token}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Fails if a secret appears in what a run printed or in any file of the project.
fn assert_no_leak(run: &crate::support::Run, hello: &Hello, secrets: &[&str]) {
    for secret in secrets {
        assert!(!run.stdout.contains(secret), "stdout leaks {secret:?}\n{}", run.stdout);
        assert!(!run.stderr.contains(secret), "stderr leaks {secret:?}\n{}", run.stderr);
        for (path, bytes) in hello.project.snapshot() {
            if let Some(bytes) = bytes {
                assert!(!String::from_utf8_lossy(&bytes).contains(secret), "{} leaks {secret:?}", path.display());
            }
        }
    }
}

/// The image recorded in the project state for hello (`null` if none).
fn recorded_image(hello: &Hello) -> serde_json::Value {
    hello.state()["images"]["hello"].clone()
}

#[test]
fn pushed_image_runs_from_its_unpacked_root_filesystem_and_generate_uses_it() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let hello = Hello::new();
    let env = fly_env(&registry.host(), TOKEN);
    let run = hello.build(&push_args(&base), &env_refs(&env));
    let summary = Hello::summary(&run);
    let (reference, digest) = (str_of(&summary, "reference"), str_of(&summary, "digest"));
    assert_eq!(reference, format!("{}/demo-hello:sf-{}", registry.host(), &digest[7..19]), "{summary}");
    run.assert_stderr_has(&format!("Pushed {reference} ({digest}; 2 of 3 blobs uploaded"));

    // What the registry holds, read by skopeo.
    assert_eq!(inspect(reference, None, None)["Digest"], digest);
    let manifest = inspect(reference, Some("--raw"), None);
    let base_manifest = inspect(&base, Some("--raw"), None);
    assert_eq!(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 2, "the base layer and the binary's: {manifest}");
    assert_eq!(layers[0]["digest"], base_manifest["layers"][0]["digest"], "the base layer as it was");
    let config = inspect(reference, Some("--config"), None);
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["config"]["Entrypoint"], serde_json::json!(["/app/hello"]));
    assert_eq!(config["config"]["WorkingDir"], "/app");
    assert_eq!(config["config"]["ExposedPorts"], serde_json::json!({"8080/tcp": {}}));
    assert_eq!(config["rootfs"]["diff_ids"].as_array().map(Vec::len), Some(2));
    let base_config = inspect(&base, Some("--config"), None);
    assert_eq!(base_config["config"]["Cmd"], serde_json::json!(["/bin/sh"]), "the base sets a command");
    assert_eq!(config["config"]["Env"], base_config["config"]["Env"], "the base's environment is kept");
    assert_eq!(config["config"]["User"], "65532", "the base's user is kept");
    assert!(config["config"]["Cmd"].is_null(), "no command of the base is passed to the binary: {config}");

    // Only the binary's layer and the config were uploaded; the base layer was mounted.
    let mut new = vec![str_of(&layers[1], "digest").to_owned(), str_of(&manifest["config"], "digest").to_owned()];
    new.sort();
    assert_eq!(strings(&summary["uploaded"]), new);
    let requests = registry.requests();
    let base_layer = str_of(&layers[0], "digest");
    assert!(
        requests.iter().any(|r| r.method == "POST"
            && r.status == 201
            && r.uri.starts_with(&format!("/v2/demo-hello/blobs/uploads/?mount={base_layer}&from=base"))),
        "the base layer is mounted from the base repository: {requests:#?}"
    );
    // And the SBOM artifact's two blobs: the empty config and the document.
    let artifact =
        inspect(&format!("{}/demo-hello@{}", registry.host(), str_of(&summary, "sbom")), Some("--raw"), None);
    assert_eq!(artifact["subject"]["digest"], digest, "{artifact}");
    new.extend([str_of(&artifact["config"], "digest").to_owned(), str_of(&artifact["layers"][0], "digest").to_owned()]);
    new.sort();
    let mut uploads: Vec<String> =
        requests.iter().filter(|r| r.uri.starts_with("/v2/demo-hello/")).filter_map(Request::uploaded_digest).collect();
    uploads.sort();
    assert_eq!(uploads, new, "the registry saw these uploads: {requests:#?}");

    // Pulled back, unpacked, run with the image's own loader and libraries.
    let rootfs = pull_and_unpack(reference, work.path(), None);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(rootfs.join("app/hello")).expect("/app/hello exists").permissions(),
    );
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(run_hello(&rootfs, &["/", "/healthz"]), [(200, format!("{GREETING}\n")), (200, "ok\n".to_owned())]);

    // Recorded, and `generate` deploys it by digest.
    assert_eq!(recorded_image(&hello), serde_json::json!({"kind": "pushed", "reference": reference, "digest": digest}));
    hello.cli(&["generate"]).assert_code(0);
    let fly_toml = hello.project.fly_toml("fly_hello.toml");
    let pinned = format!("{}/demo-hello@{digest}", registry.host());
    assert!(fly_toml.contains(&format!("\n[build]\nimage = \"{pinned}\"\n")), "{fly_toml}");
    assert!(fly_toml.contains("app = \"demo-hello\""), "{fly_toml}");
}

#[test]
fn second_push_uploads_nothing_and_a_one_line_change_uploads_only_the_binary_layer() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let hello = Hello::new();
    let env = fly_env(&registry.host(), TOKEN);
    let first = Hello::summary(&hello.build(&push_args(&base), &env_refs(&env)));
    let first_manifest = inspect(str_of(&first, "reference"), Some("--raw"), None);

    // The same image again: every blob is there, only the manifest is written.
    let before = registry.requests().len();
    let run = hello.build(&push_args(&base), &env_refs(&env));
    let second = Hello::summary(&run);
    assert_eq!(second["digest"], first["digest"]);
    assert_eq!(second["uploaded"], serde_json::json!([]));
    assert_eq!(second["uploaded_bytes"], 0);
    run.assert_stderr_has("0 of 3 blobs uploaded");
    let requests = registry.requests();
    let writes: Vec<&Request> = requests[before..].iter().filter(|r| r.writes()).collect();
    assert_eq!(writes.len(), 2, "only the manifests are written (the image's, its SBOM's): {writes:#?}");
    assert!(writes.iter().all(|w| w.method == "PUT" && w.uri.starts_with("/v2/demo-hello/manifests/")), "{writes:#?}");
    let pulls: Vec<&Request> = requests[before..].iter().filter(|r| r.uri.starts_with("/v2/base/")).collect();
    assert!(pulls.is_empty(), "the base image is cached, not pulled again: {pulls:#?}");

    // One line of the service changes: a new binary layer and config, nothing else.
    hello.change_greeting("Hello again from score-fly!");
    let before = registry.requests().len();
    let third = Hello::summary(&hello.build(&push_args(&base), &env_refs(&env)));
    assert_ne!(third["digest"], first["digest"]);
    let manifest = inspect(str_of(&third, "reference"), Some("--raw"), None);
    let (old, new) = (blobs(&first_manifest), blobs(&manifest));
    assert_eq!(new[0], old[0], "the base layer is unchanged");
    assert_ne!(new[1], old[1], "the binary layer changed");
    let mut expected = vec![new[1].0.clone(), new[2].0.clone()];
    expected.sort();
    assert_eq!(strings(&third["uploaded"]), expected);
    assert_eq!(third["uploaded_bytes"], new[1].1 + new[2].1);
    // The SBOM names the package's version, which this change raised: its document is new.
    let artifact = inspect(&format!("{}/demo-hello@{}", registry.host(), str_of(&third, "sbom")), Some("--raw"), None);
    expected.push(str_of(&artifact["layers"][0], "digest").to_owned());
    expected.sort();
    let requests = registry.requests();
    let mut uploads: Vec<String> = requests[before..].iter().filter_map(Request::uploaded_digest).collect();
    uploads.sort();
    assert_eq!(uploads, expected, "the registry saw these uploads: {:#?}", &requests[before..]);

    let rootfs = pull_and_unpack(str_of(&third, "reference"), work.path(), None);
    assert_eq!(run_hello(&rootfs, &["/"]), [(200, "Hello again from score-fly!\n".to_owned())]);
}

/// The default base is a multi-platform index of Docker-style images, like most public
/// bases: the linux/amd64 image is chosen, a Docker v2 manifest is read, and a merged-/usr
/// libc is found.
#[test]
fn base_behind_a_multi_platform_index_with_docker_v2_manifests_and_merged_usr() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let amd64 = format!("{}/debian-like:amd64", registry.host());
    let other = format!("{}/debian-like:arm64", registry.host());
    push_layout(&make_base(Base::MergedUsr, &work.path().join("amd64")), &amd64, None, true);
    // The entry for another platform: an image without libc, so choosing it would fail.
    push_layout(&make_base(Base::NoLibc, &work.path().join("arm64")), &other, None, true);
    let entry = |reference: &str, architecture: &str| {
        let (digest, size, media_type) = manifest_descriptor(reference);
        assert_eq!(media_type, "application/vnd.docker.distribution.manifest.v2+json");
        serde_json::json!({"mediaType": media_type, "digest": digest, "size": size,
            "platform": {"architecture": architecture, "os": "linux"}})
    };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry(&other, "arm64"), entry(&amd64, "amd64")],
    });
    let tag = unique("multi-");
    let put = http_put(
        registry.port(),
        &format!("/v2/debian-like/manifests/{tag}"),
        "application/vnd.oci.image.index.v1+json",
        &serde_json::to_vec(&index).expect("index JSON"),
    )
    .expect("PUT the index");
    assert_eq!(put.0, 201, "the registry stores the index: {}", put.1);

    let hello = Hello::new();
    let env = fly_env(&registry.host(), TOKEN);
    let base = format!("{}/debian-like:{tag}", registry.host());
    let summary = Hello::summary(&hello.build(&push_args(&base), &env_refs(&env)));
    let reference = str_of(&summary, "reference");
    let manifest = inspect(reference, Some("--raw"), None);
    assert_eq!(manifest["layers"][0]["digest"], inspect(&amd64, Some("--raw"), None)["layers"][0]["digest"]);
    let rootfs = pull_and_unpack(reference, work.path(), None);
    assert!(rootfs.join("lib").is_symlink(), "the base's layout is kept");
    assert_eq!(run_hello(&rootfs, &["/"]), [(200, format!("{GREETING}\n"))]);
}

/// Every upload session the push opens carries a blob: the binary's layer and the config
/// (which cannot be in the base repository) are not offered for a mount whose `202` answer,
/// an upload session, is then abandoned on the registry.
#[test]
fn push_opens_one_upload_session_per_uploaded_blob() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let hello = Hello::new();
    let before = registry.requests().len();
    let env = fly_env(&registry.host(), TOKEN);
    let summary = Hello::summary(&hello.build(&push_args(&base), &env_refs(&env)));
    let requests = registry.requests();
    let sessions: Vec<&Request> = requests[before..]
        .iter()
        .filter(|r| r.method == "POST" && r.uri.starts_with("/v2/demo-hello/blobs/uploads/") && r.status == 202)
        .collect();
    assert_eq!(
        sessions.len(),
        strings(&summary["uploaded"]).len() + 2,
        "one upload session per uploaded blob (the image's, and the SBOM's config and document): {sessions:#?}"
    );
}

/// A layer bigger than one upload chunk (8 MiB) goes up in several `PATCH`es.
#[test]
fn large_binary_layer_is_uploaded_in_chunks() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let hello = Hello::new();
    hello.add_payload(9 * 1024 * 1024 + 12_345);
    let before = registry.requests().len();
    let env = fly_env(&registry.host(), TOKEN);
    let summary = Hello::summary(&hello.build(&push_args(&base), &env_refs(&env)));
    let reference = str_of(&summary, "reference");
    let manifest = inspect(reference, Some("--raw"), None);
    let layer = &manifest["layers"][1];
    assert!(layer["size"].as_u64().expect("a size") > 9 * 1024 * 1024, "incompressible: {layer}");
    assert!(strings(&summary["uploaded"]).iter().any(|d| d == str_of(layer, "digest")));
    let requests = &registry.requests()[before..];
    let session =
        |uri: &str| uri.split('?').next().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned();
    let finish = requests
        .iter()
        .find(|r| r.uploaded_digest().as_deref() == layer["digest"].as_str())
        .unwrap_or_else(|| panic!("the layer's upload finished: {requests:#?}"));
    let chunks = requests.iter().filter(|r| r.method == "PATCH" && session(&r.uri) == session(&finish.uri)).count();
    assert!(chunks >= 2, "9 MiB in chunks (of 8 MiB): {requests:#?}");
    let rootfs = pull_and_unpack(reference, work.path(), None);
    assert_eq!(run_hello(&rootfs, &["/"]), [(200, format!("{GREETING}\n"))]);
}

#[test]
fn builds_are_reproducible_and_layer_times_follow_source_date_epoch() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let hello = Hello::new();
    let dir = hello.project.path();
    let build = |out: &str, env: &[(&str, &str)]| {
        let run = hello.build(&["--base-image", &base, "--output-oci", out, "--format", "json"], env);
        (Hello::summary(&run), run)
    };
    let (a, _) = build("oci-a", &[]);
    hello.touch();
    let (b, run) = build("oci-b", &[]);
    run.assert_stderr_has("Compiling hello");
    assert_eq!(a["digest"], b["digest"], "a recompiled binary gives the same image");
    assert_eq!(Layout::new(dir.join("oci-a")).files(), Layout::new(dir.join("oci-b")).files(), "same bytes");

    let epoch = [("SOURCE_DATE_EPOCH", "1700000000")];
    let (c, _) = build("oci-c", &epoch);
    hello.touch();
    let (d, run) = build("oci-d", &epoch);
    run.assert_stderr_has("Compiling hello");
    assert_eq!(c["digest"], d["digest"], "reproducible with SOURCE_DATE_EPOCH too");
    assert_ne!(c["digest"], a["digest"], "the time is part of the image");

    for (layout, mtime, created) in
        [("oci-a", 0, "1970-01-01T00:00:00Z"), ("oci-c", 1_700_000_000, "2023-11-14T22:13:20Z")]
    {
        let layout = Layout::new(dir.join(layout));
        let entries = tar_gz_entries(&layout.app_layer());
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["app/", "app/hello"], "{entries:#?}");
        for e in &entries {
            assert_eq!(e.mtime, mtime, "{e:?}");
            assert_eq!((e.uid, e.gid, e.names.0.as_str(), e.names.1.as_str()), (0, 0, "", ""), "{e:?}");
            assert_eq!(e.mode, 0o755, "{e:?}");
        }
        assert_eq!((entries[0].kind, entries[1].kind), (b'5', b'0'));
        let config = layout.config();
        assert_eq!(config["created"], created);
        let history = config["history"].as_array().expect("history");
        assert_eq!(history.last().expect("an entry")["created"], created);
    }

    // umoci restores the times from the layer.
    let tag = str_of(&c, "tag");
    let rootfs = unpack(&dir.join("oci-c"), tag, &work.path().join("bundle-c"));
    let modified = std::fs::metadata(rootfs.join("app/hello")).and_then(|m| m.modified()).expect("mtime");
    assert_eq!(modified.duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs(), 1_700_000_000);
}

/// The reproducible-builds spec: "If the value is malformed, the build process SHOULD exit
/// with a non-zero error code" (<https://reproducible-builds.org/specs/source-date-epoch/>).
#[test]
fn malformed_source_date_epoch_is_an_error() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let hello = Hello::new();
    let run = hello.build(&["--base-image", &base, "--output-oci", "oci"], &[("SOURCE_DATE_EPOCH", "2023-11-14")]);
    assert_ne!(run.code, 0, "a malformed SOURCE_DATE_EPOCH fails the build\n{}", run.stderr);
    assert!(run.errors().iter().any(|e| e.contains("SOURCE_DATE_EPOCH")), "{}", run.stderr);
    assert!(!hello.project.path().join("oci").exists(), "no image written");
}

#[test]
fn output_oci_writes_a_layout_umoci_unpacks_and_nothing_is_pushed() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let hello = Hello::new();
    let before = registry.requests().len();

    // --push without a token says where to get one.
    let run = hello.build(&["--push", "--base-image", &base], &[("FLY_REGISTRY_HOST", &registry.host())]);
    run.assert_code(3);
    assert!(
        run.errors()
            .iter()
            .any(|e| e.contains(&format!("pushing to {} needs a Fly token: set FLY_API_TOKEN", registry.host()))),
        "{}",
        run.stderr
    );

    let run = hello.build(&["--base-image", &base, "--output-oci", "image-oci", "--format", "json"], &[]);
    let summary = Hello::summary(&run);
    let tag = str_of(&summary, "tag");
    run.assert_stderr_has(&format!("Wrote OCI image layout image-oci ({tag}, {})", str_of(&summary, "digest")));
    let layout = Layout::new(hello.project.path().join("image-oci"));
    assert_eq!(layout.json("oci-layout"), serde_json::json!({"imageLayoutVersion": "1.0.0"}));
    let index = layout.json("index.json");
    assert_eq!(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], tag);
    assert_eq!(index["manifests"][0]["digest"], summary["digest"]);
    // The SBOM goes in as a referrer of the image: listed in index.json with its artifact
    // type, its manifest's subject the image, its document the crates of hello's build.
    assert_eq!(index["manifests"][1]["artifactType"], "application/vnd.cyclonedx+json", "{index:#}");
    assert_eq!(index["manifests"][1]["digest"], summary["sbom"], "{index:#}");
    let referrers = layout.referrers();
    assert_eq!(referrers.len(), 1, "{index:#}");
    assert_eq!(referrers[0]["subject"]["digest"], summary["digest"]);
    let sbom = layout.json(referrers[0]["layers"][0]["digest"].as_str().expect("a digest"));
    assert_eq!(sbom["metadata"]["component"]["name"], "hello", "{sbom:#}");
    let names: Vec<&str> =
        sbom["components"].as_array().expect("components").iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(names.contains(&"score-fly-macros") && names.contains(&"syn"), "{names:?}");
    assert_eq!(summary["crates"], names.len() + 1);
    assert_eq!(layout.manifest()["annotations"]["org.opencontainers.image.version"], "0.1.0");
    assert!(layout.manifest()["annotations"].get("org.opencontainers.image.revision").is_none(), "no git: no revision");

    let requests = registry.requests();
    let writes: Vec<&Request> = requests[before..].iter().filter(|r| r.writes()).collect();
    assert!(writes.is_empty(), "nothing is pushed: {writes:#?}");
    assert!(recorded_image(&hello).is_null(), "only a pushed image is recorded: {}", hello.state());

    let rootfs = unpack(&hello.project.path().join("image-oci"), tag, &work.path().join("app-bundle"));
    assert_eq!(run_hello(&rootfs, &["/"]), [(200, format!("{GREETING}\n"))]);
}

#[test]
fn rejected_credentials_exit_3_naming_the_registry_and_never_show_the_token() {
    let open = Registry::start();
    let private = Registry::with_token(TOKEN);
    let work = tempfile::tempdir().expect("temp dir");
    let creds = format!("x:{TOKEN}");
    let hello = Hello::new();
    let secrets = [TOKEN, WRONG, &basic(TOKEN), &basic(WRONG)];
    let rejected = |run: &crate::support::Run, what: &str| {
        run.assert_code(3);
        let errors = run.errors().join("\n");
        assert!(errors.contains(&format!("{} refused {what}", private.host())), "{}", run.stderr);
        assert!(errors.contains("the credentials were rejected"), "{}", run.stderr);
        assert!(errors.contains("FLY_API_TOKEN"), "says which token: {}", run.stderr);
        assert_no_leak(run, &hello, &secrets);
        assert!(recorded_image(&hello).is_null());
    };

    // The base from an open registry; Fly's registry rejects the token at the push.
    let open_base = push_base(Base::Glibc, &open, &work.path().join("open"), "base", None);
    let env = fly_env(&private.host(), WRONG);
    // Verbose: whatever is printed, the token is not.
    fn verbose(base: &str) -> Vec<&str> {
        [push_args(base), vec!["-vv"]].concat()
    }
    let run = hello.build(&verbose(&open_base), &env_refs(&env));
    rejected(&run, "check blob");
    let requests = private.requests();
    assert!(requests.iter().all(|r| r.status >= 400 || r.uri == "/v2/"), "nothing accepted: {requests:#?}");

    // The base on the same registry: rejected at the pull already.
    let private_base = push_base(Base::Glibc, &private, &work.path().join("private"), "base", Some(&creds));
    let run = hello.build(&verbose(&private_base), &env_refs(&env));
    rejected(&run, "fetch the manifest of base:");

    // The right token (as flyctl shows it, with its `FlyV1 ` prefix) in FLY_ACCESS_TOKEN,
    // which flyctl reads before FLY_API_TOKEN: pushed.
    let mut env = fly_env(&private.host(), WRONG);
    env.push(("FLY_ACCESS_TOKEN", format!("FlyV1 {TOKEN}")));
    let run = hello.build(&verbose(&private_base), &env_refs(&env));
    let summary = Hello::summary(&run);
    assert_no_leak(&run, &hello, &secrets);
    let reference = str_of(&summary, "reference");
    assert_eq!(inspect(reference, None, Some(&creds))["Digest"], summary["digest"]);
    let anonymous = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", &format!("docker://{reference}")])
        .output()
        .expect("run skopeo");
    assert!(!anonymous.status.success(), "the registry does need credentials");
    let base_layer = &inspect(&private_base, Some("--raw"), Some(&creds))["layers"][0]["digest"];
    assert!(!strings(&summary["uploaded"]).iter().any(|d| d == base_layer), "the base layer is mounted: {summary}");
}

#[test]
fn unreachable_registry_fails_after_bounded_retries() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let hello = Hello::new();
    let dead = format!("127.0.0.1:{}", free_port());
    let env = fly_env(&dead, TOKEN);
    let started = Instant::now();
    let run = hello.build(&push_args(&base), &env_refs(&env));
    let elapsed = started.elapsed();
    run.assert_code(1);
    let errors = run.errors().join("\n");
    assert!(
        errors.contains(&format!("cannot reach {dead} to check blob")) && errors.contains("after 4 attempts"),
        "{}",
        run.stderr
    );
    assert!(elapsed < Duration::from_secs(90), "bounded: {elapsed:?}");
    assert!(recorded_image(&hello).is_null(), "nothing recorded: {}", hello.state());
    assert!(run.stdout.is_empty(), "no summary for a failed build: {}", run.stdout);
}

/// The build fails with exit 3 before anything is pushed; returns its error lines.
fn refused_base(kind: Base, name: &str) -> (String, String, String) {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(kind, &registry, work.path(), name, None);
    let hello = Hello::new();
    let before = registry.requests().len();
    let env = fly_env(&registry.host(), TOKEN);
    let run = hello.build(&push_args(&base), &env_refs(&env));
    let needed = between_builds(|| glibc_needed(&shared_target_dir().join("release/hello")));
    run.assert_code(3);
    let requests = registry.requests();
    let after: Vec<&Request> = requests[before..].iter().collect();
    assert!(
        after.iter().all(|r| !r.writes() && !r.uri.contains("demo-hello")),
        "nothing is pushed, not even checked: {after:#?}"
    );
    assert!(recorded_image(&hello).is_null());
    (run.errors().join("\n"), base, needed)
}

#[test]
fn base_with_an_older_glibc_than_the_binary_needs_is_refused_before_any_push() {
    let (errors, base, needed) = refused_base(Base::OldGlibc, "old-glibc");
    let numbers: Vec<u32> = needed.split('.').map(|p| p.parse().expect("a number")).collect();
    assert!(numbers > vec![2, 2, 5], "hello needs more than glibc 2.2.5: {needed}");
    assert!(
        errors.contains(&format!("release/hello needs glibc {needed}, but the base image {base} has glibc 2.2.5")),
        "{errors}"
    );
    for fix in [
        &format!("use a base image with glibc {needed} or newer") as &str,
        "--base-image",
        "build on a system with an older glibc",
        "link statically",
    ] {
        assert!(errors.contains(fix), "names the fix {fix:?}: {errors}");
    }
}

#[test]
fn base_without_libc_is_refused() {
    let (errors, base, needed) = refused_base(Base::NoLibc, "no-libc");
    assert!(
        errors.contains(&format!("release/hello needs glibc {needed}, but the base image {base} has no libc.so.6")),
        "{errors}"
    );
    assert!(errors.contains("link statically"), "{errors}");
}

#[test]
fn dockerfile_builder_writes_dockerfile_and_generate_points_fly_toml_at_it() {
    let hello = Hello::new();
    let run = hello.build(&["--builder", "dockerfile"], &[]);
    run.assert_code(0);
    run.assert_stderr_has("Dockerfile for Fly's remote builder");
    let dockerfile = String::from_utf8(hello.project.read("Dockerfile")).expect("UTF-8");
    assert!(dockerfile.contains("cargo build --release --locked -p hello --bin hello"), "{dockerfile}");
    assert!(dockerfile.contains("ENTRYPOINT [\"/app/hello\"]"), "{dockerfile}");
    let ignore = String::from_utf8(hello.project.read(".dockerignore")).expect("UTF-8");
    for line in ["target/", ".score-fly/state.json"] {
        assert!(ignore.lines().any(|l| l == line), "{ignore}");
    }
    assert_eq!(
        recorded_image(&hello),
        serde_json::json!({"kind": "dockerfile", "dockerfile": "Dockerfile", "ignorefile": ".dockerignore"})
    );

    hello.cli(&["generate"]).assert_code(0);
    let fly_toml = hello.project.fly_toml("fly_hello.toml");
    assert!(
        fly_toml.contains("\n[build]\ndockerfile = \"Dockerfile\"\nignorefile = \".dockerignore\"\n"),
        "{fly_toml}"
    );
}
