//! The fallback for hosts that cannot build a Linux x86-64 binary (macOS, arm64 without a
//! cross toolchain): a multi-stage Dockerfile (cargo-chef caches the dependencies in their
//! own layer) built by Fly's remote builder, with a `.dockerignore` that keeps the build
//! context small and the project state out of it.

/// The Dockerfile for `package`'s binary `bin`, built from the workspace root.
pub fn dockerfile(package: &str, bin: &str) -> String {
    format!(
        r#"# syntax=docker/dockerfile:1
# Written by `cargo score-fly build --builder dockerfile` for {package} (binary {bin}).
# The build context is the cargo workspace root.

FROM lukemathwalker/cargo-chef:latest-rust-1 AS chef
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
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
    )
}

/// What the build context leaves out.
pub const DOCKERIGNORE: &str = "# Written by cargo score-fly build --builder dockerfile.\ntarget/\n.git/\n.score-fly/state.json\n.score-fly/lock\n**/fly_*.toml\n";

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_package_and_binary() {
        let d = super::dockerfile("todo", "todo-server");
        assert!(d.contains("cargo build --release --locked -p todo --bin todo-server"));
        assert!(d.contains("ENTRYPOINT [\"/app/todo-server\"]"));
        assert!(d.contains("cargo chef cook"));
    }
}
