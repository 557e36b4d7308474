//! # score-fly-macros
//!
//! `#[score_workload(...)]` declares a service's [Score](https://score.dev) workload on its
//! `main`, checked by the compiler:
//!
//! ```ignore
//! use score_fly_macros::score_workload;
//!
//! #[score_workload(
//!     name = "todo",
//!     variables(DATABASE_URL = "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.database}"),
//!     readiness_probe(http_get(path = "/healthz", port = 8080)),
//!     port(web, port = 443, target_port = 8080),
//!     resource(db, type = "postgres"),
//! )]
//! #[tokio::main]
//! async fn main() { /* ... */ }
//! ```
//!
//! `#[score_workload]` alone reads `score.yaml` beside `Cargo.toml`, and
//! `#[score_workload(file = "path")]` another Score file; editing that file rebuilds the
//! crate. The full argument syntax is documented in `score_fly_core::attr` and the README.
//!
//! How it works: the arguments are parsed by `score_fly_core::attr` (the same code
//! `cargo score-fly` uses to read the attribute from source) into a Score document, which is
//! validated by the same validator as Score files. Every problem becomes a compile error on
//! the offending token, all at once, and `main` is still emitted unchanged so one mistake does
//! not cascade. On success `main` is emitted unchanged next to a `#[used]` static holding the
//! workload's JSON, so `cargo score-fly` can check that the binary it ships declares the
//! workload it deploys. The service gains no runtime dependency.

mod expand;

use proc_macro::TokenStream;

/// Declares the Score workload of this binary (see the crate docs).
#[proc_macro_attribute]
pub fn score_workload(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(attr.into(), &item.into()).into()
}
