//! The shared-library check `build` runs on every build (issue 11, point 4): the binary's
//! `DT_NEEDED` libraries, and theirs, looked up in the base image's filesystem.
//!
//! - **index**: reading a base's layers into the loader's view of its filesystem (gunzip,
//!   every tar entry, every ELF file's dynamic section) — once per base, then cached by
//!   manifest digest under the target folder;
//! - **check**: what every later build pays: the cached index read back (JSON) and the
//!   binary's needs resolved in it (ld.so.conf, links, transitive needs).
//!
//! Two bases made from this machine's libraries: "distroless-like" (what
//! `gcr.io/distroless/cc-debian12` holds: glibc, the loader, `libgcc_s`, `libstdc++`, libgomp,
//! OpenSSL 3) and "fat" (every library of /lib/x86_64-linux-gnu under 4 MiB, several hundred,
//! like a base with a toolchain's worth of packages). The binary checked is this bench's own.
//!
//! Run with `cargo bench -p score-fly-core --bench libs`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use score_fly_core::image::libs::{self, BaseIndex};

const DIR: &str = "/lib/x86_64-linux-gnu";

/// A gzip tar layer holding `names` from `DIR` (links kept as links), the loader and an
/// ld.so.conf.
fn layer(names: &[String]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()));
    builder.follow_symlinks(false);
    for name in names {
        builder.append_path_with_name(Path::new(DIR).join(name), format!("lib/x86_64-linux-gnu/{name}")).expect("add");
    }
    // The loader as a file (on the host, /lib64's is a link into the multiarch folder).
    let loader = std::fs::read("/lib64/ld-linux-x86-64.so.2").expect("the loader");
    let mut header = tar::Header::new_ustar();
    header.set_size(loader.len() as u64);
    header.set_mode(0o755);
    builder.append_data(&mut header, "lib64/ld-linux-x86-64.so.2", loader.as_slice()).expect("loader");
    let conf = b"include /etc/ld.so.conf.d/*.conf\n";
    let mut header = tar::Header::new_ustar();
    header.set_size(conf.len() as u64);
    header.set_mode(0o644);
    builder.append_data(&mut header, "etc/ld.so.conf", &conf[..]).expect("conf");
    builder.into_inner().expect("tar").finish().expect("gzip")
}

fn distroless_like() -> Vec<String> {
    let wanted =
        ["libc.so.6", "libm.so.6", "libgcc_s.so.1", "libstdc++.so.6", "libgomp.so.1", "libssl.so.3", "libcrypto.so.3"];
    wanted.iter().filter(|n| Path::new(DIR).join(n).exists()).map(|n| (*n).to_owned()).collect()
}

fn fat() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(DIR)
        .expect("list libraries")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".so"))
        .filter(|e| std::fs::metadata(e.path()).is_ok_and(|m| m.is_file() && m.len() < 4 * 1024 * 1024))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn bench(c: &mut Criterion) {
    let me = std::fs::read(std::env::current_exe().expect("this bench")).expect("read this bench");
    let binary = libs::elf_info(&me).expect("an ELF binary");
    for (name, names) in [("distroless-like", distroless_like()), ("fat", fat())] {
        let layer = layer(&names);
        eprintln!("{name}: {} files, layer {} KiB", names.len() + 2, layer.len() / 1024);
        let mut group = c.benchmark_group(format!("libs/{name}"));
        group.sample_size(10);
        group.bench_function("index (first build with this base)", |b| {
            b.iter(|| BaseIndex::from_layers([black_box(layer.as_slice())]).expect("index"));
        });
        let index = BaseIndex::from_layers([layer.as_slice()]).expect("index");
        let cached = serde_json::to_vec(&index).expect("json");
        eprintln!("{name}: cached index {} KiB", cached.len() / 1024);
        let report = libs::check(&binary, "/app/bench", &index, &[]);
        assert!(report.is_ok(), "{report:?}");
        group.sample_size(50);
        group.bench_function("check (every build: cached index read + resolve)", |b| {
            b.iter(|| {
                let index: BaseIndex = serde_json::from_slice(black_box(&cached)).expect("index");
                libs::check(black_box(&binary), "/app/bench", &index, &[])
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
