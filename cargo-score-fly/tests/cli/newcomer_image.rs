//! Issue 11, points 4, 7, 8 and 12: what a newcomer building a real service's image ran
//! into, each test starting from their situation.
//!
//! - 4: a service linked against OpenSSL (native-tls) built on a base without `libssl.so.3`
//!   pushed fine and crashed at start. Every `DT_NEEDED` library is now looked up in the
//!   base's filesystem as the loader would (ld.so.conf, links, whiteouts, what the found
//!   libraries need in turn) before anything is pushed or written.
//! - 7: `--output-oci DIR` replaced an existing layout's `index.json` (its other tags lost)
//!   and wrote `blobs/` into any folder.
//! - 8: offline bases (`oci:PATH[:TAG]`, `oci-archive:PATH[:TAG]`), the base checked before
//!   the cargo build, and a reused tag pin announced.
//! - 12: a build-time environment (`build-env`, `--build-env`) for cargo and the Dockerfile,
//!   never secrets.
//!
//! Services are copies of `examples/hello` ([`Hello::variant`]) built in the shared target
//! folder; the OpenSSL copy has one version of its own, so every test that uses it shares
//! its build. Bases are made with umoci from this machine's libraries.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use score_fly_tests::free_port;
use score_fly_tests::registry::{
    Base, Registry, Request, http_get, inspect, make_base, make_base_with, push_base, push_layout, remove_in_new_layer,
    run_tool, unpack,
};

use crate::image::harness::{GREETING, Hello, run_hello};

const TOKEN: &str = "fo1_newcomer-token-51b0c2";

pub(crate) fn fly_env(registry: &Registry) -> Vec<(&'static str, String)> {
    vec![("FLY_REGISTRY_HOST", registry.host()), ("FLY_API_TOKEN", TOKEN.to_owned())]
}

pub(crate) fn refs<'e>(env: &'e [(&'static str, String)]) -> Vec<(&'static str, &'e str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// hello as a service that uses native-tls: linked against the host's `libssl.so.3`
/// (`OPENSSL_init_ssl` called at start), so its binary needs `libssl.so.3`, which needs
/// `libcrypto.so.3`. One version for every copy (same source, one shared build).
fn openssl_hello() -> Hello {
    openssl_variant("0.1.0-openssl")
}

/// [`openssl_hello`] of its own `version` (a copy whose Score file differs needs one: the
/// attribute embeds the workload in the binary).
pub(crate) fn openssl_variant(version: &str) -> Hello {
    Hello::variant(version, "", |main| {
        let opening = "fn main() -> std::io::Result<()> {\n";
        let changed = main.replacen(
            opening,
            &format!("{opening}    assert_eq!(OPENSSL_init_ssl(0, std::ptr::null()), 1, \"OpenSSL starts\");\n"),
            1,
        );
        format!(
            "{changed}\n#[link(name = \"ssl\")]\nunsafe extern \"C\" {{\n    safe fn OPENSSL_init_ssl(opts: u64, settings: *const std::ffi::c_void) -> std::ffi::c_int;\n}}\n"
        )
    })
}

/// Where Debian keeps OpenSSL 3 on this machine.
const HOST_LIBS: &str = "/usr/lib/x86_64-linux-gnu";

fn copy_host_lib(name: &str, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("a folder")).expect("create folder");
    std::fs::copy(Path::new(HOST_LIBS).join(name), to).unwrap_or_else(|e| panic!("copy {name}: {e}"));
}

/// A base with glibc, `libcrypto.so.3` in the multiarch folder, and `libssl.so.3` where only
/// `/etc/ld.so.conf.d/openssl.conf` points (`/opt/openssl/lib`), behind two links
/// (`lib/libssl.so.3 → ../real/libssl.so.3.0`, `/opt/openssl/real` → `/opt/openssl-3.0.13`).
pub(crate) fn openssl_base(dir: &Path, with_conf: bool) -> PathBuf {
    make_base_with(Base::Glibc, dir, &|rootfs| {
        copy_host_lib("libcrypto.so.3", &rootfs.join("lib/x86_64-linux-gnu/libcrypto.so.3"));
        copy_host_lib("libssl.so.3", &rootfs.join("opt/openssl-3.0.13/libssl.so.3.0"));
        std::fs::create_dir_all(rootfs.join("opt/openssl/lib")).expect("create lib folder");
        std::os::unix::fs::symlink("/opt/openssl-3.0.13", rootfs.join("opt/openssl/real")).expect("symlink");
        std::os::unix::fs::symlink("../real/libssl.so.3.0", rootfs.join("opt/openssl/lib/libssl.so.3")).expect("link");
        std::fs::create_dir_all(rootfs.join("etc/ld.so.conf.d")).expect("create conf folder");
        std::fs::write(rootfs.join("etc/ld.so.conf"), "include /etc/ld.so.conf.d/*.conf\n").expect("write conf");
        if with_conf {
            std::fs::write(rootfs.join("etc/ld.so.conf.d/openssl.conf"), "# OpenSSL 3\n/opt/openssl/lib\n")
                .expect("write conf");
        }
    })
}

/// The error lines of a run that must have been refused with exit 3.
pub(crate) fn refused(run: &crate::support::Run) -> String {
    run.assert_code(3);
    run.errors().join("\n")
}

#[test]
fn native_tls_service_on_a_base_without_libssl_is_refused_before_anything_is_pushed() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, &work.path().join("glibc"), "base", None);
    let hello = openssl_hello();
    let before = registry.requests().len();
    let env = fly_env(&registry);
    let run = hello.build(&["--push", "--base-image", &base, "--app-prefix", "demo-"], &refs(&env));
    let errors = refused(&run);
    assert!(
        errors.contains(&format!("release/hello needs shared libraries the base image {base} lacks: libssl.so.3 ")),
        "{errors}"
    );
    for fix in [
        "error while loading shared libraries",
        "--base-image",
        "for libssl.so.3: gcr.io/distroless/cc-debian12",
        "use rustls instead of native-tls",
        "searched /lib/x86_64-linux-gnu",
    ] {
        assert!(errors.contains(fix), "names {fix:?}: {errors}");
    }
    let requests = registry.requests();
    let after: Vec<&Request> = requests[before..].iter().collect();
    assert!(after.iter().all(|r| !r.writes() && !r.uri.contains("demo-hello")), "nothing pushed: {after:#?}");
    assert!(hello.state()["images"]["hello"].is_null(), "nothing recorded: {}", hello.state());

    // The same with --output-oci: nothing written.
    let run = hello.build(&["--base-image", &base, "--output-oci", "image-oci"], &refs(&env));
    refused(&run);
    assert!(!hello.project.path().join("image-oci").exists(), "no layout written");
}

#[test]
fn libraries_are_found_through_ld_so_conf_and_links_and_lost_to_a_whiteout_or_a_missing_dependency() {
    let work = tempfile::tempdir().expect("temp dir");
    let hello = openssl_hello();
    let build = |base: &Path, out: &str| {
        hello.build(&["--base-image", &format!("oci:{}:base", base.display()), "--output-oci", out, "--tag", "t"], &[])
    };

    // libssl.so.3 is found where ld.so.conf.d points, through two links; libcrypto.so.3,
    // which libssl needs, in the multiarch folder.
    let good = openssl_base(&work.path().join("good"), true);
    build(&good, "ok-oci").assert_code(0);
    let rootfs = unpack(&hello.project.path().join("ok-oci"), "t", &work.path().join("ok-bundle"));
    let port = free_port();
    let library_path =
        ["opt/openssl/lib", "lib/x86_64-linux-gnu"].map(|d| rootfs.join(d).display().to_string()).join(":");
    let mut child = Command::new(rootfs.join("lib64/ld-linux-x86-64.so.2"))
        .arg("--library-path")
        .arg(library_path)
        .arg(rootfs.join("app/hello"))
        .env_clear()
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hello");
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        match http_get(port, "/") {
            Ok(answer) => break Some(answer),
            Err(_) if Instant::now() < deadline && child.try_wait().ok().flatten().is_none() => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let output = child.wait_with_output().expect("wait for hello");
    assert_eq!(
        answer,
        Some((200, format!("{GREETING}\n"))),
        "hello runs with the image's OpenSSL: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Without the ld.so.conf.d entry the loader does not look in /opt/openssl/lib.
    let unlisted = openssl_base(&work.path().join("unlisted"), false);
    let errors = refused(&build(&unlisted, "unlisted-oci"));
    assert!(errors.contains("lacks: libssl.so.3 "), "{errors}");

    // A later layer of the base deletes libcrypto.so.3 (a whiteout): libssl.so.3 is found,
    // but what it needs is not.
    let whiteout = openssl_base(&work.path().join("whiteout"), true);
    remove_in_new_layer(&whiteout, &["lib/x86_64-linux-gnu/libcrypto.so.3"]);
    let errors = refused(&build(&whiteout, "whiteout-oci"));
    assert!(errors.contains("lacks: libcrypto.so.3 (needed by the base's /opt/openssl/lib/libssl.so.3)"), "{errors}");
    assert!(errors.contains("for libcrypto.so.3: gcr.io/distroless/cc-debian12"), "{errors}");
    for out in ["unlisted-oci", "whiteout-oci"] {
        assert!(!hello.project.path().join(out).exists(), "no layout written for a refused build");
    }
}

/// Digests of the files under `blobs/sha256/` of a layout.
fn blob_files(layout: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(layout.join("blobs/sha256"))
        .expect("list blobs")
        .map(|e| format!("sha256:{}", e.expect("entry").file_name().to_string_lossy()))
        .collect();
    names.sort();
    names
}

/// Every blob the layout's references reach (manifests, indexes, configs, layers).
fn reachable(layout: &Path) -> Vec<String> {
    let read = |digest: &str| -> serde_json::Value {
        let path = layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .expect("JSON")
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json")).expect("JSON");
    let mut out = Vec::new();
    for m in index["manifests"].as_array().expect("manifests") {
        let digest = m["digest"].as_str().expect("digest").to_owned();
        let manifest = read(&digest);
        out.push(digest);
        out.push(manifest["config"]["digest"].as_str().expect("config").to_owned());
        out.extend(
            manifest["layers"].as_array().expect("layers").iter().map(|l| l["digest"].as_str().expect("d").to_owned()),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// `ref name → digest` of a layout's `index.json` (SBOM referrers, untagged, aside).
pub(crate) fn tags(layout: &Path) -> Vec<(String, String)> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json")).expect("JSON");
    let mut out: Vec<(String, String)> = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .filter(|m| m.get("artifactType").is_none())
        .map(|m| {
            (
                m["annotations"]["org.opencontainers.image.ref.name"].as_str().unwrap_or("").to_owned(),
                m["digest"].as_str().expect("digest").to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn output_oci_adds_to_an_existing_layout_keeps_its_tags_and_collects_unused_blobs() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, &work.path().join("base"), "base", None);
    // The user's layout already holds an image tagged `base` (and whatever umoci keeps).
    let layout = make_base(Base::Glibc, &work.path().join("theirs"));
    let theirs = tags(&layout);
    assert_eq!(theirs.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["base"]);
    let hello = Hello::new();
    let out = layout.display().to_string();
    let build = |tag: &str, env: &[(&str, &str)]| {
        hello.build(&["--base-image", &base, "--output-oci", &out, "--tag", tag, "--format", "json"], env)
    };

    let first = Hello::summary(&build("v1", &[]));
    let after_v1 = tags(&layout);
    assert!(after_v1.contains(&theirs[0]), "their `base` is kept: {after_v1:?}");
    assert!(after_v1.contains(&("v1".to_owned(), first["digest"].as_str().expect("digest").to_owned())));
    assert_eq!(blob_files(&layout), reachable(&layout), "only reachable blobs");
    let v1_blobs = reachable(&layout);

    // v1 rebuilt differently (another SOURCE_DATE_EPOCH: new layer, config, manifest): the
    // old v1's own blobs go, everything `base` uses stays; umoci reads both.
    let run = build("v1", &[("SOURCE_DATE_EPOCH", "1700000000")]);
    let second = Hello::summary(&run);
    assert_ne!(second["digest"], first["digest"]);
    run.assert_stderr_has("replaced the earlier v1; kept base; removed 5 blobs no tag uses");
    let after = tags(&layout);
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after.contains(&theirs[0]) && after.iter().any(|(t, d)| t == "v1" && *d == second["digest"]), "{after:?}");
    let files = blob_files(&layout);
    assert_eq!(files, reachable(&layout), "the old v1's blobs are collected");
    let gone: Vec<&String> = v1_blobs.iter().filter(|b| !files.contains(b)).collect();
    assert_eq!(gone.len(), 5, "the old manifest, config and binary layer, its SBOM's manifest and document: {gone:?}");
    assert!(!files.contains(&first["digest"].as_str().expect("digest").to_owned()));

    let rootfs = unpack(&layout, "v1", &work.path().join("v1-bundle"));
    assert_eq!(run_hello(&rootfs, &["/"]), [(200, format!("{GREETING}\n"))]);
    let theirs_root = unpack(&layout, "base", &work.path().join("base-bundle"));
    assert!(theirs_root.join("etc/os-release").is_file(), "their image still unpacks");

    // A second tag is added, not swapped in.
    Hello::summary(&build("v2", &[]));
    let names: Vec<String> = tags(&layout).into_iter().map(|(t, _)| t).collect();
    assert_eq!(names, ["base", "v1", "v2"]);
}

#[test]
fn output_oci_refuses_a_folder_that_is_not_a_layout_before_building() {
    let hello = Hello::new();
    hello.touch();
    hello.project.write("notes/todo.md", "- ship it\n");
    let before = hello.project.snapshot();
    // src/ was refused already (a package's sources); a folder of notes was written into.
    for (dir, message) in [
        ("src", "--output-oci src holds the sources of package `hello`"),
        (
            "notes",
            "--output-oci notes: it is not empty and holds no `oci-layout` file, so it is not an OCI image layout; choose a new or empty folder, or an OCI image layout",
        ),
    ] {
        let run = hello.build(&["--output-oci", dir, "--base-image", "registry.invalid/none:1"], &[]);
        let errors = refused(&run);
        assert!(errors.contains(message), "{errors}");
        assert!(!run.stderr.contains("Compiling"), "refused before cargo runs: {}", run.stderr);
        assert_eq!(hello.project.snapshot(), before, "nothing written into {dir}/");
    }
}

#[test]
fn base_image_from_an_oci_layout_or_archive_builds_offline() {
    let work = tempfile::tempdir().expect("temp dir");
    let layout = make_base(Base::Glibc, &work.path().join("base"));
    let archive = work.path().join("base.tar");
    run_tool(Command::new("skopeo").args([
        "copy",
        "--quiet",
        &format!("oci:{}:base", layout.display()),
        &format!("oci-archive:{}:base", archive.display()),
    ]));
    let hello = Hello::new();
    let build = |base: &str, out: &str| {
        Hello::summary(&hello.build(&["--base-image", base, "--output-oci", out, "--format", "json"], &[]))
    };
    // No registry anywhere: FLY_REGISTRY_HOST is unset and the base is on disk.
    let from_layout = build(&format!("oci:{}:base", layout.display()), "a-oci");
    let from_archive = build(&format!("oci-archive:{}:base", archive.display()), "b-oci");
    let untagged = build(&format!("oci:{}", layout.display()), "c-oci");
    assert_eq!(from_layout["digest"], from_archive["digest"], "the same base either way");
    assert_eq!(from_layout["digest"], untagged["digest"], "a layout's only image needs no tag");
    let rootfs =
        unpack(&hello.project.path().join("b-oci"), from_archive["tag"].as_str().expect("tag"), &work.path().join("b"));
    assert_eq!(run_hello(&rootfs, &["/"]), [(200, format!("{GREETING}\n"))]);

    let errors = refused(&hello.build(&["--base-image", &format!("oci:{}:nope", layout.display())], &[]));
    assert!(errors.contains("it has no image tagged `nope` (it has: base)"), "{errors}");

    // The same base with zstd layers (as `buildah push --compression-format zstd` or
    // `docker buildx ... compression=zstd` publish them): its libraries are read, the image
    // keeps the base's zstd layers under our gzip one, and hello runs from it.
    let zstd = work.path().join("zstd");
    recompress(&layout, &zstd, "base", "zstd");
    let zstd_types = layer_types(&zstd, "base");
    assert!(zstd_types.iter().all(|t| t.ends_with("+zstd")), "skopeo wrote zstd layers: {zstd_types:?}");
    let from_zstd = build(&format!("oci:{}:base", zstd.display()), "d-oci");
    let types = layer_types(&hello.project.path().join("d-oci"), from_zstd["tag"].as_str().expect("tag"));
    assert_eq!(types.last().map(String::as_str), Some("application/vnd.oci.image.layer.v1.tar+gzip"), "{types:?}");
    assert_eq!(&types[..types.len() - 1], zstd_types.as_slice(), "the base's layers as they were");
    // Debian's umoci reads no zstd layer: skopeo makes a gzip copy of the built image to run.
    let tag = from_zstd["tag"].as_str().expect("tag");
    let gzip = work.path().join("d-gzip");
    recompress(&hello.project.path().join("d-oci"), &gzip, tag, "gzip");
    let rootfs = unpack(&gzip, tag, &work.path().join("d"));
    assert_eq!(run_hello(&rootfs, &["/"]), [(200, format!("{GREETING}\n"))]);
}

/// A zstd base on a registry: pulled, its libraries read, pushed under the app's name with
/// its zstd layers as they are (mounted, not re-encoded), and the registry takes the manifest.
#[test]
fn a_zstd_base_on_a_registry_is_pushed_with_its_layers_as_they_are() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let layout = make_base(Base::Glibc, &work.path().join("base"));
    let zstd = work.path().join("zstd");
    recompress(&layout, &zstd, "base", "zstd");
    let base = format!("{}/bases/zstd:{}", registry.host(), score_fly_tests::registry::unique("t"));
    push_layout(&zstd, &base, None, false);
    let base_layers = inspect(&base, Some("--raw"), None)["layers"].clone();
    let base_layers = base_layers.as_array().expect("layers");
    assert!(
        base_layers.iter().all(|l| l["mediaType"].as_str().is_some_and(|t| t.ends_with("+zstd"))),
        "{base_layers:?}"
    );

    let hello = Hello::new();
    let env = fly_env(&registry);
    let built = Hello::summary(
        &hello.build(&["--push", "--base-image", &base, "--app-prefix", "zs-", "--format", "json"], &refs(&env)),
    );
    let pushed = built["reference"].as_str().expect("a pushed reference");
    let layers = inspect(pushed, Some("--raw"), None)["layers"].clone();
    let layers = layers.as_array().expect("layers");
    assert_eq!(&layers[..layers.len() - 1], base_layers.as_slice(), "the base's layers, digests and types unchanged");
    assert_eq!(
        layers.last().and_then(|l| l["mediaType"].as_str()),
        Some("application/vnd.oci.image.layer.v1.tar+gzip")
    );
}

/// A copy of the image tagged `tag` in the OCI layout `from`, its layers recompressed with
/// `format` (`zstd`, `gzip`), into the layout `to` (skopeo).
fn recompress(from: &Path, to: &Path, tag: &str, format: &str) {
    run_tool(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--dest-compress-format",
        format,
        &format!("oci:{}:{tag}", from.display()),
        &format!("oci:{}:{tag}", to.display()),
    ]));
}

/// The media types of the layers of the image tagged `tag` in the OCI layout `layout`.
fn layer_types(layout: &Path, tag: &str) -> Vec<String> {
    let output = Command::new("skopeo")
        .args(["inspect", "--raw", &format!("oci:{}:{tag}", layout.display())])
        .output()
        .expect("skopeo inspect");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let manifest: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a manifest");
    let layers = manifest["layers"].as_array().expect("layers");
    layers.iter().map(|l| l["mediaType"].as_str().expect("mediaType").to_owned()).collect()
}

#[test]
fn a_bad_base_reference_fails_before_cargo_builds() {
    let work = tempfile::tempdir().expect("temp dir");
    let hello = Hello::new();
    for (base, message) in [
        ("Not A/Reference", "base image: `Not A/Reference` is not an image reference"),
        ("oci:", "`oci:` names no path"),
        ("docker-daemon:debian:12", "which score-fly cannot read"),
        (&*format!("oci:{}:x", work.path().join("missing").display()), "is not a folder"),
    ] {
        hello.touch();
        let run = hello.build(&["--base-image", base], &[]);
        let errors = refused(&run);
        assert!(errors.contains(message), "{base}: {errors}");
        assert!(!run.stderr.contains("Compiling"), "{base}: refused before cargo runs\n{}", run.stderr);
    }
}

#[test]
fn a_reused_tag_pin_is_announced_with_its_digest_and_age_and_pull_refreshes_it() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let digest = inspect(&base, None, None)["Digest"].as_str().expect("digest").to_owned();
    let hello = Hello::new();
    let first = hello.build(&["--base-image", &base], &[]);
    first.assert_code(0);
    assert!(!first.stderr.contains("as pinned"), "a fresh pull is no pin: {}", first.stderr);

    // The tag moves on the registry; the next build still uses the pin, and says so.
    let newer = make_base_with(Base::Glibc, &work.path().join("newer"), &|rootfs| {
        std::fs::write(rootfs.join("etc/motd"), "newer\n").expect("write motd");
    });
    push_layout(&newer, &base, None, false);
    let moved = inspect(&base, None, None)["Digest"].as_str().expect("digest").to_owned();
    assert_ne!(moved, digest);
    let second = hello.build(&["--base-image", &base], &[]);
    second.assert_code(0);
    second.assert_stderr_has(&format!("Using base image {base} as pinned "));
    second.assert_stderr_has(&format!(" ago: {digest} (cached; --pull asks the registry"));

    let pulled = hello.build(&["--base-image", &base, "--pull", "--format", "json"], &[]);
    assert!(!pulled.stderr.contains("as pinned"), "{}", pulled.stderr);
    let third = hello.build(&["--base-image", &base], &[]);
    third.assert_stderr_has(&format!(": {moved} (cached"));
}

/// hello whose greeting is compiled in from `HELLO_BUILD_GREETING` (as sqlx's macros read
/// `DATABASE_URL` at compile time), with `extra` in its `Cargo.toml`.
fn compile_time_hello(extra: &str) -> Hello {
    static VERSION: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let version = format!("0.1.0-env{}", VERSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    Hello::variant(&version, extra, |main| {
        main.replacen("\"Hello from score-fly!\".to_owned()", "env!(\"HELLO_BUILD_GREETING\").to_owned()", 1)
    })
}

#[test]
fn build_env_reaches_the_compilation_and_the_dockerfile_and_secrets_are_refused() {
    let registry = Registry::start();
    let work = tempfile::tempdir().expect("temp dir");
    let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
    let hello = compile_time_hello(
        "\n[package.metadata.score-fly]\nbuild-env = { HELLO_BUILD_GREETING = \"Hello from build-env!\", SQLX_OFFLINE = \"true\" }\n",
    );
    let answer = |out: &str, bundle: &str| {
        let summary =
            Hello::summary(&hello.build(&["--base-image", &base, "--output-oci", out, "--format", "json"], &[]));
        let rootfs =
            unpack(&hello.project.path().join(out), summary["tag"].as_str().expect("tag"), &work.path().join(bundle));
        run_hello(&rootfs, &["/"]).remove(0).1
    };
    assert_eq!(answer("a-oci", "a"), "Hello from build-env!\n");

    // The flag overrides the setting.
    let run = hello.build(
        &[
            "--base-image",
            &base,
            "--output-oci",
            "b-oci",
            "--build-env",
            "HELLO_BUILD_GREETING=Hi from a flag",
            "--format",
            "json",
            "-v",
        ],
        &[],
    );
    run.assert_stderr_has("build-env: HELLO_BUILD_GREETING, SQLX_OFFLINE");
    assert!(!run.stderr.contains("Hi from a flag"), "values are never printed: {}", run.stderr);
    let summary = Hello::summary(&run);
    let rootfs =
        unpack(&hello.project.path().join("b-oci"), summary["tag"].as_str().expect("tag"), &work.path().join("b"));
    assert_eq!(run_hello(&rootfs, &["/"]), [(200, "Hi from a flag\n".to_owned())]);

    // A database URL with its password is refused before cargo runs, and never shown.
    hello.touch();
    let before = hello.project.snapshot();
    let run = hello.build(
        &["--base-image", &base, "--build-env", "DATABASE_URL=postgres://app:hunter2-pw@localhost/app", "-vv"],
        &[],
    );
    let errors = refused(&run);
    assert!(
        errors.contains(
            "build-env variable `DATABASE_URL` from --build-env: it looks like a secret (a URL with a password)"
        ),
        "{errors}"
    );
    assert!(errors.contains("SQLX_OFFLINE=true"), "{errors}");
    assert!(!run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"), "{}", run.stderr);
    assert!(!run.stderr.contains("Compiling"), "{}", run.stderr);
    assert_eq!(hello.project.snapshot(), before);

    // The remote builder's Dockerfile declares them as build arguments.
    hello.build(&["--builder", "dockerfile", "--build-env", "FEATURE_MODE=fast"], &[]).assert_code(0);
    let dockerfile = String::from_utf8(hello.project.read("Dockerfile")).expect("UTF-8");
    for arg in
        ["ARG FEATURE_MODE=\"fast\"", "ARG HELLO_BUILD_GREETING=\"Hello from build-env!\"", "ARG SQLX_OFFLINE=\"true\""]
    {
        let at = dockerfile.find(arg).unwrap_or_else(|| panic!("{arg} in\n{dockerfile}"));
        assert!(at < dockerfile.find("cargo chef cook").expect("cook"), "{arg} before the build steps:\n{dockerfile}");
    }
}
