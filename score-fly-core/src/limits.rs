//! Every bound score-fly puts on what it reads, in one place.
//!
//! score-fly reads files written by people and programs it does not control: Score files,
//! overrides, `source` files, provisioner answers, its own state. Each of these is bounded
//! here, by a named constant, so a hostile or broken input stops with an error that names
//! the limit and where it was exceeded, instead of exhausting memory, the stack or time.
//! The README's "Limits" section lists [`ALL`] (a test keeps the two in step).
//!
//! The bounds are chosen so that **whatever score-fly accepts, it can write and read back**:
//! [`MAX_DEPTH`] plus the nesting the state file adds around a value stays well below
//! `serde_json`'s own recursion limit (128), which reads the state.

use std::time::Duration;

/// Bytes in one YAML or JSON document score-fly reads: a Score file, an overrides file, a
/// `*.provisioners.yaml` file, `--static-json`, `--override-property` values.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Nesting depth of any tree score-fly builds or walks: YAML and JSON documents, overrides,
/// `--override-property` paths (segments), `#[score_workload]` arguments, provisioner
/// responses (`state`, `values`, `secrets`, `shared`) and `--static-json`.
pub const MAX_DEPTH: usize = 64;

/// Values (scalars, lists and maps, keys included) in one document, counting every value an
/// alias (`*anchor`) copies: a "billion laughs" document stops here. The copies anchors keep
/// for their aliases are bounded by it too.
pub const MAX_NODES: usize = 100_000;

/// Bytes of one string after `${...}` placeholders are expanded (a variable, a file's
/// content, a param).
pub const MAX_EXPANDED_BYTES: usize = 1024 * 1024;

/// Bytes of one generated `fly.toml` (with its generated files): what placeholder expansion
/// can add up to across every variable and file of a workload.
pub const MAX_GENERATED_BYTES: usize = 8 * 1024 * 1024;

/// Bytes of one `source` file a container's `files` entry reads.
pub const MAX_SOURCE_FILE_BYTES: usize = 1024 * 1024;

/// Bytes of a provisioner's response: a `cmd` provisioner's stdout, an `http`
/// provisioner's body.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Bytes of one line of a provisioner's (or flyctl's) stderr that is kept and shown; the
/// rest of a longer line is dropped (and said so).
pub const MAX_LINE_BYTES: usize = 4096;

/// Lines of a failing program's output quoted in its error.
pub const MAX_TAIL_LINES: usize = 20;

/// Bytes of the project state file (`.score-fly/state.json`) score-fly reads.
pub const MAX_STATE_BYTES: usize = 256 * 1024 * 1024;

/// The longest timeout accepted anywhere (`--timeout`, `cmd.timeout`, `http.timeout`,
/// `http.connect_timeout`, `--lock-timeout`), and the longest duration annotation
/// (`check-interval`, `check-grace-period`, `release-command-timeout`; Fly's own bounds are
/// tighter for `check-timeout` and `kill-timeout`).
pub const MAX_TIMEOUT: Duration = Duration::from_hours(24);

/// Retries of an `http` provisioner (`http.retries`) after a connection error or a 5xx.
pub const MAX_RETRIES: usize = 20;

/// Problems (and, separately, warnings) reported about one document or workload: past it,
/// the rest are counted, not listed. A hostile document can hold tens of thousands of
/// problems, each shown with its source line.
pub const MAX_DIAGNOSTICS: usize = 100;

/// Bytes of a binary's root source file (`src/main.rs`) read for its `#[score_workload]`
/// attribute: generated code can be large, a device or an endless file cannot.
pub const MAX_RUST_SOURCE_BYTES: usize = 16 * 1024 * 1024;

/// Symbolic links followed while resolving one path inside a base image (Linux's own
/// bound, `MAXSYMLINKS`): a link loop in a base image ends here.
pub const MAX_SYMLINK_HOPS: usize = 40;

/// Bytes of one ELF file of a base image read to learn what it needs: a larger file is
/// taken to be a usable library without being read.
pub const MAX_BASE_LIBRARY_BYTES: usize = 256 * 1024 * 1024;

/// Bytes of one `build-env` value (`--build-env K=V` or the `build-env` setting).
pub const MAX_BUILD_ENV_BYTES: usize = 4096;

/// Releases kept per workload in the project state (`deploy` and `rollback` record one
/// each; the oldest goes, with its fly.toml copy). Fly's own list (`fly releases`) shows 25.
pub const MAX_RELEASES: usize = 20;
/// Bytes of a `Cargo.lock` and of `cargo metadata`'s answer, read for the image's SBOM.
pub const MAX_CARGO_METADATA_BYTES: usize = 64 * 1024 * 1024;

// state.json → resources → <uid> → metadata → value (and workloads → <name> → spec → ...):
// serde_json reads 128 levels, so accepted values must leave room for the state's own.
const _: () = assert!(MAX_DEPTH + 16 < 128);

/// What a limit counts, for documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes.
    Bytes,
    /// A count (values, levels, lines).
    Count,
    /// Seconds.
    Seconds,
}

/// One limit, described.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The constant's name.
    pub name: &'static str,
    /// Its value, in `unit`.
    pub value: u64,
    /// What it counts.
    pub unit: Unit,
}

impl Limit {
    /// The value as the README writes it: `1 MiB`, `64`, `24 h`.
    pub fn human(&self) -> String {
        match self.unit {
            Unit::Bytes if self.value.is_multiple_of(1024 * 1024) => format!("{} MiB", self.value / (1024 * 1024)),
            Unit::Bytes if self.value.is_multiple_of(1024) => format!("{} KiB", self.value / 1024),
            Unit::Bytes => format!("{} bytes", self.value),
            Unit::Count => self.value.to_string(),
            Unit::Seconds if self.value.is_multiple_of(3600) => format!("{} h", self.value / 3600),
            Unit::Seconds => format!("{} s", self.value),
        }
    }
}

/// `1 MiB`: a byte count as the README's limits table writes it (for messages naming a
/// limit).
pub fn human_bytes(value: usize) -> String {
    bytes("", value).human()
}

const fn bytes(name: &'static str, value: usize) -> Limit {
    Limit { name, value: value as u64, unit: Unit::Bytes }
}

const fn count(name: &'static str, value: usize) -> Limit {
    Limit { name, value: value as u64, unit: Unit::Count }
}

/// Every limit, in the order the README lists them.
pub const ALL: &[Limit] = &[
    bytes("MAX_DOCUMENT_BYTES", MAX_DOCUMENT_BYTES),
    count("MAX_DEPTH", MAX_DEPTH),
    count("MAX_NODES", MAX_NODES),
    bytes("MAX_EXPANDED_BYTES", MAX_EXPANDED_BYTES),
    bytes("MAX_GENERATED_BYTES", MAX_GENERATED_BYTES),
    bytes("MAX_SOURCE_FILE_BYTES", MAX_SOURCE_FILE_BYTES),
    bytes("MAX_RESPONSE_BYTES", MAX_RESPONSE_BYTES),
    bytes("MAX_LINE_BYTES", MAX_LINE_BYTES),
    count("MAX_TAIL_LINES", MAX_TAIL_LINES),
    bytes("MAX_STATE_BYTES", MAX_STATE_BYTES),
    Limit { name: "MAX_TIMEOUT", value: MAX_TIMEOUT.as_secs(), unit: Unit::Seconds },
    count("MAX_RETRIES", MAX_RETRIES),
    count("MAX_DIAGNOSTICS", MAX_DIAGNOSTICS),
    bytes("MAX_RUST_SOURCE_BYTES", MAX_RUST_SOURCE_BYTES),
    count("MAX_SYMLINK_HOPS", MAX_SYMLINK_HOPS),
    bytes("MAX_BASE_LIBRARY_BYTES", MAX_BASE_LIBRARY_BYTES),
    bytes("MAX_BUILD_ENV_BYTES", MAX_BUILD_ENV_BYTES),
    count("MAX_RELEASES", MAX_RELEASES),
    bytes("MAX_CARGO_METADATA_BYTES", MAX_CARGO_METADATA_BYTES),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_the_readme_writes_them() {
        let human: Vec<String> = ALL.iter().map(Limit::human).collect();
        assert_eq!(human[0], "1 MiB");
        assert_eq!(human[1], "64");
        assert_eq!(ALL.iter().find(|l| l.name == "MAX_LINE_BYTES").unwrap().human(), "4 KiB");
        assert_eq!(ALL.iter().find(|l| l.name == "MAX_TIMEOUT").unwrap().human(), "24 h");
    }
}
