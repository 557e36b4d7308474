//! Command-line arguments, parsed with clap into plain `*Args` structs.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Drops the `score-fly` argument cargo inserts when run as `cargo score-fly`.
pub fn args_without_cargo_subcommand(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == "score-fly") {
        args.remove(1);
    }
    args
}

/// Deploy a Rust service to Fly.io through the Score workload specification.
#[derive(Debug, Parser)]
#[command(name = "cargo-score-fly", bin_name = "cargo score-fly", version, about, max_term_width = 100)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print more (repeat for even more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Coloring (default: the `CARGO_TERM_COLOR` variable, else auto).
    #[arg(
        long,
        value_enum,
        global = true,
        value_name = "WHEN",
        help = "Coloring: auto, always, never (default: $CARGO_TERM_COLOR, else auto; NO_COLOR is honoured)"
    )]
    pub color: Option<ColorChoice>,
}

/// When to use colors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colors on a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert Score files into fly.toml files (one `fly_<name>.toml` per workload).
    Generate(GenerateArgs),
}

/// `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Score files to convert [default: score.yaml].
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where to write fly.toml: a file for one workload, a folder (existing, or ending in `/`) for several.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Prefix of every Fly app name (`<prefix><metadata.name>`); Fly app names are global.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub app_prefix: String,
    /// YAML file deep-merged into the Score file before validation (`null` deletes a key).
    #[arg(long, value_name = "FILE")]
    pub overrides_file: Vec<PathBuf>,
    /// Set (PATH=VALUE, VALUE parsed as YAML) or delete (PATH=) a field; `\.` escapes a dot.
    #[arg(long, value_name = "PATH=VALUE")]
    pub override_property: Vec<String>,
    /// Image for containers whose image is `.` (built from this project).
    #[arg(long, value_name = "REFERENCE")]
    pub image: Option<String>,
}
