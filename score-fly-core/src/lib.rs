//! # score-fly-core
//!
//! The engine behind `cargo score-fly`: it reads Score workloads (`score.dev/v1b1`) exactly
//! as the specification says and turns them into Fly.io configuration.
//!
//! ```
//! use score_fly_core::{fly, spec};
//!
//! let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: hello\ncontainers:\n  main:\n    image: nginx\nservice:\n  ports:\n    web: {port: 80, targetPort: 8080}\n";
//! let loaded = spec::load_str("score.yaml", text).unwrap();
//! let options = fly::ConvertOptions::new("demo-");
//! let converted = fly::convert(&loaded.workload, &options, &fly::NoFiles).unwrap();
//! assert_eq!(converted.config.app, "demo-hello");
//! assert_eq!(converted.config.services[0].internal_port, 8080);
//! ```
//!
//! Data flows one way: [`spec`] (YAML → validated [`spec::Workload`]) → [`placeholder`]
//! (`${...}` substitution, reporting secret reads) → [`fly`] (typed `fly.toml` model and the
//! Score → Fly conversion). [`quantity`] parses CPU and memory quantities; [`fsutil`] holds
//! the only filesystem writes (atomic, never through a planted link, path-naming errors)
//! and [`outputs`] decides which paths a run may write (never an input or a project file);
//! [`limits`] names every bound on what is read; [`input`] reads the files users point at
//! within those bounds. [`target`] is where score-fly deploys (flyctl, the Machines API and
//! its token, the registry, organisation, region, app prefix, base image): the one place
//! the Fly environment variables are read and apps and image references are named.
//!
//! This crate never prints and has no CLI: the `cargo-score-fly` binary does that.

#[cfg(feature = "syn")]
pub mod attr;
#[cfg(feature = "engine")]
pub mod builtin;
pub mod encoding;
#[cfg(feature = "fly")]
pub mod fly;
#[cfg(feature = "engine")]
pub mod flyio;
pub mod fsutil;
#[cfg(feature = "engine")]
pub mod image;
pub mod input;
pub mod limits;
#[cfg(feature = "local")]
pub mod local;
#[cfg(test)]
mod module_graph;
#[cfg(feature = "engine")]
pub mod ops;
#[cfg(feature = "engine")]
pub mod outputs;
pub mod placeholder;
#[cfg(feature = "engine")]
pub mod provision;
pub mod quantity;
pub mod secret;
pub mod spec;
#[cfg(feature = "engine")]
pub mod state;
#[cfg(feature = "fly")]
pub mod target;
