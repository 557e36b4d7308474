//! What no output may replace in a package, as the CLI finds it: its manifest, its sources,
//! the Rust source declaring its workload, the Score file and its `source` files. A
//! workload's declared inputs and a workspace's own files are
//! [`score_fly_core::ops::project::declared_inputs`] and [`workspace_protected`].
//! `generate`, `deploy` and `build --output-oci` check their outputs against these with
//! `score_fly_core::outputs::check`.

use std::path::Path;

use score_fly_core::fsutil::shown;
use score_fly_core::ops::project::declared_inputs;
pub use score_fly_core::ops::project::workspace_protected;
use score_fly_core::outputs::Protected;

use crate::cargo;

/// What no output may replace in a package: its manifest, its sources (new files in `src/`
/// are fine), the Rust source declaring its workload, the Score file and its `source` files.
pub fn package_protected(service: &cargo::Service) -> Vec<Protected> {
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
