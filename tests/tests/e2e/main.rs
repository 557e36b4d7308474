//! The score-fly end-to-end suite: one test binary for the `score-fly-tests` crate (one link,
//! one process per `cargo test` run), each module a subject of its own.
//!
//! - [`builtins`]: each builtin Fly provisioner against the fake Fly backend and fake flyctl;
//! - [`conversion`]: Score workload → `fly.toml`, every mapping rule and every Score sample;
//! - [`demo`]: the README quick start's demo;
//! - [`dry_run`]: `deploy --dry-run`'s blockers (exit 4) and the secret names it plans;
//! - [`deploy`]: `cargo score-fly deploy` end to end (fake Fly, a real `Postgres` and registry);
//! - [`dev`]: `cargo score-fly dev` runs examples/todo against a local `PostgreSQL`;
//! - [`fakes`]: the test doubles themselves;
//! - [`local`]: the local provisioners (`dev`) against real Postgres, Redis and S3 servers;
//! - [`placeholder_sites`]: the located and the typed walk of placeholder sites agree;
//! - [`releases`]: `releases`, `rollback` and `status` against the fake Fly and a real registry;
//! - [`provisioning`]: the provisioning engine with real `cmd` and `http` provisioners;
//! - [`schema_judge`]: the official Score JSON schema as the judge of our validator.

mod builtins;
mod conversion;
mod demo;
mod deploy;
mod dev;
mod dry_run;
mod fakes;
mod local;
mod placeholder_sites;
mod provisioning;
mod releases;
mod schema_judge;
