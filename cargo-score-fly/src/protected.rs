//! What no output may replace, as the CLI finds it: a workload's declared inputs (its Score
//! file or Rust source and its `source` files), a package's manifest and sources, and a
//! workspace's project folder, manifest and lock file. `generate`, `deploy` and `build
//! --output-oci` check their outputs against these with `score_fly_core::outputs::check`.

use std::path::{Path, PathBuf};

use score_fly_core::outputs::Protected;
use score_fly_core::spec::Workload;
use score_fly_core::state::STATE_DIR;

use crate::cargo;

/// The files a workload was declared with, relative to the project `root`: its Score file
/// (or the Rust source holding `#[score_workload]`) and the `source` files its containers
/// read. No output may replace them.
pub(crate) fn declared_inputs(root: &Path, file: &Path, dir: Option<&Path>, spec: &Workload) -> Vec<Protected> {
    let name = spec.name();
    let is_rust = file.extension().is_some_and(|e| e == "rs");
    let what = if is_rust { "the source declaring workload" } else { "the Score file of workload" };
    let mut protected = vec![Protected::file(shown(&root.join(file)), format!("{what} `{name}`"))];
    let file_dir = file.parent().unwrap_or(Path::new(""));
    let source_dir = root.join(dir.unwrap_or(file_dir));
    for container in spec.containers.values() {
        for (target, file) in &container.files {
            if let Some(source) = &file.source {
                protected.push(Protected::file(
                    shown(&source_dir.join(source)),
                    format!("the source file of `{target}` in workload `{name}`"),
                ));
            }
        }
    }
    protected
}

/// What no output may replace in a cargo workspace rooted at `root`: the project folder, the
/// workspace's manifest and lock file.
pub(crate) fn workspace_protected(root: &Path) -> Vec<Protected> {
    vec![
        Protected::folder(shown(&root.join(STATE_DIR)), "the project folder"),
        Protected::file(shown(&root.join("Cargo.toml")), "the workspace manifest"),
        Protected::file(shown(&root.join("Cargo.lock")), "the lock file"),
    ]
}

/// `path` as messages show it: relative to the current folder when below it.
pub(crate) fn shown(path: &Path) -> PathBuf {
    PathBuf::from(cargo::relative(path))
}

/// What no output may replace in a package: its manifest, its sources (new files in `src/`
/// are fine), the Rust source declaring its workload, the Score file and its `source` files.
pub(crate) fn package_protected(service: &cargo::Service) -> Vec<Protected> {
    let package = &service.package;
    let mut protected = vec![
        Protected::file(shown(&service.dir.join("Cargo.toml")), format!("the manifest of package `{package}`")),
        Protected::tree(shown(&service.dir.join("src")), format!("the sources of package `{package}`")),
    ];
    let spec = &service.loaded.workload;
    match &service.origin {
        cargo::Origin::ScoreFile(path) => protected.extend(declared_inputs(Path::new(""), path, None, spec)),
        cargo::Origin::Attribute { source, file: Some(file) } => {
            protected.push(Protected::file(shown(source), format!("the source declaring workload `{}`", spec.name())));
            protected.extend(declared_inputs(Path::new(""), file, None, spec));
        }
        cargo::Origin::Attribute { source, file: None } => {
            protected.extend(declared_inputs(Path::new(""), source, Some(&service.dir), spec));
        }
    }
    protected
}
