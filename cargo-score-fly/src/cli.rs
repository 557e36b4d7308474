//! Command-line arguments, parsed with clap into plain `*Args` structs.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::StyledStr;
use clap::{Args, Parser, Subcommand, ValueEnum};
use score_fly_core::limits;

/// A command's long-help epilogue: an `Examples:` heading styled as clap styles its own
/// headings (bold, underlined), then `text` indented: for each example a line saying what it
/// does, the command line below it (indented once more). Every `cargo score-fly ...` line is
/// parsed by a test (`tests/cli/help.rs`).
fn examples(text: &str) -> StyledStr {
    let heading = anstyle::Style::new().bold().underline();
    let mut help = format!("{heading}Examples:{heading:#}\n");
    for line in text.lines() {
        if !line.is_empty() {
            help.push_str("  ");
        }
        help.push_str(line);
        help.push('\n');
    }
    help.into()
}

/// Examples of `init`.
const INIT_EXAMPLES: &str = "\
Start a project here (.score-fly/, and score.yaml unless the package has one):
  cargo score-fly init

Choose the prefix of the project's Fly app names (global on Fly):
  cargo score-fly init --app-prefix acme-

Print the package's workload as an attribute to paste on its main:
  cargo score-fly init --macro";

/// Examples of `generate`.
const GENERATE_EXAMPLES: &str = "\
Write fly.toml for ./score.yaml, or for the workloads of the cargo package here:
  cargo score-fly generate

Fail (exit 1) when a committed fly.toml is out of date, as in CI:
  cargo score-fly generate --check

Two workloads into a folder, with one secrets file per app for `fly secrets import`:
  cargo score-fly generate api.yaml worker.yaml -o fly/ --secrets-file fly/";

/// Examples of `deploy`.
const DEPLOY_EXAMPLES: &str = "\
Show what would be built, created, provisioned and set; change nothing:
  cargo score-fly deploy --dry-run

Deploy the package here under the prefix acme-, new apps in Amsterdam:
  cargo score-fly deploy --app-prefix acme- --region ams

One machine per process group, and a longer wait for health checks:
  cargo score-fly deploy --no-ha --deploy-args=--wait-timeout=10m";

/// Examples of `build`.
const BUILD_EXAMPLES: &str = "\
Build the package's image and push it to Fly's registry:
  cargo score-fly build --push

Build the package api's image into an OCI layout folder (no registry):
  cargo score-fly build -p api --output-oci target/oci

Write a Dockerfile for Fly's remote builder instead (hosts that cannot build Linux x86-64):
  cargo score-fly build --builder dockerfile --build-env SQLX_OFFLINE=true";

/// Examples of `dev`.
const DEV_EXAMPLES: &str = "\
Build the package here and run it with its resources provisioned locally:
  cargo score-fly dev

Rebuild and restart on every change of its sources or score.yaml, passing it an argument:
  cargo score-fly dev --watch -- --verbose

Every service of the workspace at once, each line prefixed with its workload:
  cargo score-fly dev --workspace";

/// Examples of `provisioners add`.
const PROVISIONERS_ADD_EXAMPLES: &str = "\
Serve postgres resources with a script of the project ($SCORE_PROVISIONER_MODE tells the mode):
  cargo score-fly provisioners add my-db postgres --cmd-binary ./provision-db.sh

A database you already have: plain outputs (secret ones: --static-secrets-file FILE|-):
  cargo score-fly provisioners add local-db postgres --static-json '{\"host\":\"localhost\"}'

Only redis resources of class cache, with the builtin Upstash Redis:
  cargo score-fly provisioners add cache redis --builtin redis --res-class cache";

/// Examples of `provisioners list`.
const PROVISIONERS_LIST_EXAMPLES: &str = "\
The provisioners in matching order (the first that matches a resource wins):
  cargo score-fly provisioners list

The same as JSON, for scripts:
  cargo score-fly provisioners list --format json";

/// Examples of `provisioners remove`.
const PROVISIONERS_REMOVE_EXAMPLES: &str = "\
Stop using the provisioner local-db (its resources go to the next that matches):
  cargo score-fly provisioners remove local-db

The ids there are to remove:
  cargo score-fly provisioners list";

/// Examples of `resources list`.
const RESOURCES_LIST_EXAMPLES: &str = "\
Every provisioned resource, its workloads, provisioner and output names (* secret):
  cargo score-fly resources list

The same as JSON, for scripts:
  cargo score-fly resources list --format json";

/// Examples of `resources get-outputs`.
const RESOURCES_GET_OUTPUTS_EXAMPLES: &str = "\
The outputs of the database of workload web, secret ones masked:
  cargo score-fly resources get-outputs 'postgres.default#web.db'

With the secrets in clear, as JSON:
  cargo score-fly resources get-outputs 'postgres.default#web.db' --show-secrets --format json";

/// Examples of `resources deprovision`.
const RESOURCES_DEPROVISION_EXAMPLES: &str = "\
Delete the database of workload web (the next generate provisions it again if web still
declares it):
  cargo score-fly resources deprovision 'postgres.default#web.db'

The uids there are to deprovision:
  cargo score-fly resources list";

/// Examples of `status`.
const STATUS_EXAMPLES: &str = "\
Each workload's app, URL, image, release, machines, resources and drift:
  cargo score-fly status

One workload, as JSON for scripts (`drift.drifted` is true when fly.toml or the Score file changed):
  cargo score-fly status api --format json";

/// Examples of `releases`.
const RELEASES_EXAMPLES: &str = "\
The releases deploy and rollback recorded, newest first (* marks the current one):
  cargo score-fly releases

One workload's, as JSON:
  cargo score-fly releases api --format json";

/// Examples of `rollback`.
const ROLLBACK_EXAMPLES: &str = "\
Deploy the release before the current one again (asks first):
  cargo score-fly rollback

Release 3 of workload api, without asking (as in CI), skipping the release command:
  cargo score-fly rollback api --to 3 --yes --deploy-args=--skip-release-command";

/// Examples of `builtin-provisioners`.
const BUILTIN_EXAMPLES: &str = "\
Provision a postgres database score-flyio style (request JSON on stdin, response on stdout):
  cargo score-fly builtin-provisioners postgres provision --app-prefix acme- < request.json

Deprovision it again, with the same request:
  cargo score-fly builtin-provisioners postgres deprovision --app-prefix acme- < request.json";

/// Examples of `completions`.
const DESTROY_EXAMPLES: &str = "\
Show what would be destroyed; change nothing:
  cargo score-fly destroy --dry-run

Destroy one workload's app; resources other workloads still use stay:
  cargo score-fly destroy api

Tear the whole project down in CI (no terminal to ask on), keeping every database:
  cargo score-fly destroy --yes --keep-resources";

const LOGS_EXAMPLES: &str = "\
Follow every workload's logs, interleaved with a workload prefix (Ctrl-C stops):
  cargo score-fly logs

What the api workload logged in the last ten minutes, then stop:
  cargo score-fly logs api --since 10m --no-tail

One JSON object per line, for a program:
  cargo score-fly logs api --no-tail --format json";

const COMPLETIONS_EXAMPLES: &str = "\
Bash: write the script once, source it from ~/.bashrc (after cargo's completion):
  cargo score-fly completions bash > ~/.local/share/cargo-score-fly.bash

Zsh: a file `_cargo-score-fly` in a folder of $fpath (cargo's zsh completion calls it):
  cargo score-fly completions zsh > ~/.zfunc/_cargo-score-fly

Fish: a file fish reads at startup:
  cargo score-fly completions fish > ~/.config/fish/conf.d/cargo-score-fly.fish";

/// Drops the `score-fly` argument cargo inserts when run as `cargo score-fly`.
pub fn args_without_cargo_subcommand(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == "score-fly") {
        args.remove(1);
    }
    args
}

/// `--lock-timeout`: whole seconds from 0 to [`limits::MAX_TIMEOUT`].
fn lock_timeout_seconds(text: &str) -> Result<u64, String> {
    let max = limits::MAX_TIMEOUT.as_secs();
    text.parse::<u64>()
        .ok()
        .filter(|s| *s <= max)
        .ok_or_else(|| format!("must be whole seconds from 0 to {max} (24h, limits::MAX_TIMEOUT); 0 means do not wait"))
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
    /// Seconds to wait for another score-fly process working on this project (0: do not wait; at most 86400).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 600, value_parser = lock_timeout_seconds)]
    pub lock_timeout: u64,
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
    /// Create the project state folder `.score-fly/` and a sample Score file.
    #[command(after_long_help = examples(INIT_EXAMPLES))]
    Init(InitArgs),
    /// Add Score workloads to the project, provision their resources and write fly.toml files.
    #[command(after_long_help = examples(GENERATE_EXAMPLES))]
    Generate(GenerateArgs),
    /// Build the image, provision resources, write fly.toml, create the app, import secrets and `fly deploy`.
    #[command(after_long_help = examples(DEPLOY_EXAMPLES))]
    Deploy(DeployArgs),
    /// Build a package's container image without Docker: its Linux x86-64 binary on a base image.
    #[command(after_long_help = examples(BUILD_EXAMPLES))]
    Build(BuildArgs),
    /// Build the package's binary and run it here, its resources provisioned locally (no Docker).
    #[command(after_long_help = examples(DEV_EXAMPLES))]
    Dev(DevArgs),
    /// Manage the provisioners that turn resources into outputs.
    #[command(subcommand)]
    Provisioners(ProvisionersCommand),
    /// Inspect and deprovision the project's resources.
    #[command(subcommand)]
    Resources(ResourcesCommand),
    /// Show the workloads' logs from Fly (`fly logs`), one workload or several interleaved.
    #[command(after_long_help = examples(LOGS_EXAMPLES))]
    Logs(LogsArgs),
    /// Destroy workloads' Fly apps and the resources only they use, then forget them.
    #[command(after_long_help = examples(DESTROY_EXAMPLES))]
    Destroy(DestroyArgs),
    /// Show what runs on Fly for each workload: app, URL, image, release, machines, resources, drift.
    #[command(after_long_help = examples(STATUS_EXAMPLES))]
    Status(StatusArgs),
    /// List the releases deploy and rollback recorded, newest first.
    #[command(after_long_help = examples(RELEASES_EXAMPLES))]
    Releases(ReleasesArgs),
    /// Deploy an earlier release's image with its fly.toml again (resources and secrets stay as they are).
    #[command(after_long_help = examples(ROLLBACK_EXAMPLES))]
    Rollback(RollbackArgs),
    /// Run a builtin Fly provisioner: request JSON on stdin, response JSON on stdout (score-flyio compatible).
    #[command(after_long_help = examples(BUILTIN_EXAMPLES))]
    BuiltinProvisioners(BuiltinArgs),
    /// Print the shell completion script of `cargo score-fly` (and `cargo-score-fly`) on stdout.
    #[command(after_long_help = examples(COMPLETIONS_EXAMPLES))]
    Completions(CompletionsArgs),
}

/// Output format of list commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// JSON for programs.
    Json,
}

/// `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Prefix of every Fly app name (`<prefix><workload>`; Fly app names are global). It can
    /// change until something exists on Fly under it [default: the app-prefix setting; in a
    /// cargo package, one made of the package name and a short random suffix]
    #[arg(long, value_name = "PREFIX")]
    pub app_prefix: Option<String>,
    /// The Score file to create if it does not exist [default: score.yaml; in a cargo package,
    /// the package's Score file beside its Cargo.toml]
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Do not create a Score file.
    #[arg(long)]
    pub no_sample: bool,
    /// Print the package's workload as a `#[score_workload(...)]` attribute to paste on its
    /// `main` (on stdout), instead of writing a Score file.
    #[arg(long = "macro", conflicts_with_all = ["file", "no_sample"])]
    pub print_macro: bool,
}

/// `provisioners ...`.
#[derive(Debug, Subcommand)]
pub enum ProvisionersCommand {
    /// Add a provisioner in front of the others (replacing one with the same id or the same type/class/id).
    #[command(after_long_help = examples(PROVISIONERS_ADD_EXAMPLES))]
    Add(Box<ProvisionerAddArgs>),
    /// List the provisioners in matching order (the first that matches a resource wins).
    #[command(after_long_help = examples(PROVISIONERS_LIST_EXAMPLES))]
    List(FormatArgs),
    /// Remove a provisioner.
    #[command(after_long_help = examples(PROVISIONERS_REMOVE_EXAMPLES))]
    Remove {
        /// Its id.
        id: String,
    },
}

/// `provisioners add`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).multiple(true).args(["cmd_binary", "http_url", "static_json", "static_secrets_file", "builtin"])))]
pub struct ProvisionerAddArgs {
    /// A unique id.
    pub id: String,
    /// The resource type it serves.
    #[arg(value_name = "TYPE")]
    pub resource_type: String,
    /// Program to run (`cmd` provisioner): a path relative to the project, or a name on PATH.
    #[arg(long, value_name = "BINARY")]
    pub cmd_binary: Option<String>,
    /// Its arguments, comma-separated or repeated; `$SCORE_PROVISIONER_MODE` becomes provision/deprovision.
    #[arg(long, value_name = "ARGS", value_delimiter = ',', allow_hyphen_values = true, requires = "cmd_binary")]
    pub cmd_args: Vec<String>,
    /// URL to POST/DELETE (`http` provisioner).
    #[arg(long, value_name = "URL", conflicts_with_all = ["cmd_binary", "static_json", "static_secrets_file", "builtin"])]
    pub http_url: Option<String>,
    /// Fixed plain outputs as a JSON object (`static` provisioner): they may be written to fly.toml; secrets go in --static-secrets-file.
    #[arg(long, value_name = "JSON", conflicts_with_all = ["cmd_binary", "builtin"])]
    pub static_json: Option<String>,
    /// Fixed secret outputs (`static` provisioner): a file holding a JSON object, `-` for stdin (never on the command line). They become app secrets, never fly.toml values.
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["cmd_binary", "builtin"])]
    pub static_secrets_file: Option<PathBuf>,
    /// A builtin Fly provisioner (`builtin` provisioner): postgres, postgres-instance, redis, s3, volume, dns, route, service-port, environment.
    #[arg(long, value_name = "NAME", conflicts_with = "cmd_binary")]
    pub builtin: Option<String>,
    /// Only resources of this class.
    #[arg(long, value_name = "CLASS")]
    pub res_class: Option<String>,
    /// Only the resource with this id.
    #[arg(long, value_name = "ID")]
    pub res_id: Option<String>,
    /// Call timeout of a cmd or http provisioner (e.g. 30s, 5m; default 5m, at most 24h).
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["static_json", "static_secrets_file"])]
    pub timeout: Option<String>,
}

/// `--format`.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The workloads whose logs to show [default: every workload of the project].
    #[arg(value_name = "WORKLOAD")]
    pub workloads: Vec<String>,
    /// Only lines at most this old (a duration: `30s`, `10m`, `2h`).
    #[arg(long, value_name = "DURATION", value_parser = parse_since)]
    pub since: Option<std::time::Duration>,
    /// Show what Fly has buffered, then stop, instead of following new lines.
    #[arg(long, short = 'n')]
    pub no_tail: bool,
    /// Output format: `json` prints one JSON object per line.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn parse_since(text: &str) -> Result<std::time::Duration, String> {
    score_fly_core::fly::annotations::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{text}` is not a duration such as `30s`, `10m` or `2h`"))
}

/// `destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The workloads to destroy [default: every workload of the project].
    #[arg(value_name = "WORKLOAD")]
    pub workloads: Vec<String>,
    /// Do not ask for confirmation (required when there is no terminal to ask on).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Destroy the apps only; keep every resource (databases, buckets, volumes...).
    #[arg(long)]
    pub keep_resources: bool,
    /// Show what would be destroyed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format: `json` prints the plan (with --dry-run) or the report on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `resources ...`.
#[derive(Debug, Subcommand)]
pub enum ResourcesCommand {
    /// List the provisioned resources.
    #[command(after_long_help = examples(RESOURCES_LIST_EXAMPLES))]
    List(FormatArgs),
    /// Show the outputs of a resource (secret outputs masked unless --show-secrets).
    #[command(after_long_help = examples(RESOURCES_GET_OUTPUTS_EXAMPLES))]
    GetOutputs {
        /// The resource uid (`type.class#id`).
        uid: String,
        /// Show secret outputs in clear.
        #[arg(long)]
        show_secrets: bool,
        /// Output format.
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Deprovision a resource and remove it from the project.
    #[command(after_long_help = examples(RESOURCES_DEPROVISION_EXAMPLES))]
    Deprovision {
        /// The resource uid (`type.class#id`).
        uid: String,
    },
}

/// Which cargo packages (services) a command works on.
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Package Selection")]
pub struct PackageArgs {
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Package(s) to work on (repeatable).
    #[arg(short, long = "package", value_name = "SPEC")]
    pub package: Vec<String>,
    /// Every package of the workspace that declares a workload.
    #[arg(long, conflicts_with = "package")]
    pub workspace: bool,
    /// The binary whose `main` carries `#[score_workload]` (and that ships).
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
}

impl PackageArgs {
    /// Whether any package selection flag was given.
    pub fn any(&self) -> bool {
        self.manifest_path.is_some() || !self.package.is_empty() || self.workspace || self.bin.is_some()
    }
}

/// How cargo compiles (cargo's own flags).
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Compilation Options")]
pub struct CompileArgs {
    /// Space or comma separated features to activate.
    #[arg(short = 'F', long, value_name = "FEATURES")]
    pub features: Vec<String>,
    /// Activate all available features.
    #[arg(long)]
    pub all_features: bool,
    /// Do not activate the `default` feature.
    #[arg(long)]
    pub no_default_features: bool,
    /// Build with the release profile (the default for images).
    #[arg(short, long, conflicts_with = "profile")]
    pub release: bool,
    /// Build with this profile [default: release].
    #[arg(long, value_name = "PROFILE-NAME")]
    pub profile: Option<String>,
    /// Cargo's target folder.
    #[arg(long, value_name = "DIRECTORY")]
    pub target_dir: Option<PathBuf>,
}

/// How `build` makes the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Builder {
    /// Build the binary here with cargo and assemble the image without Docker.
    #[default]
    Native,
    /// Write a multi-stage Dockerfile for Fly's remote builder (hosts that cannot build Linux x86-64).
    Dockerfile,
}

/// How the image is made: `build` and `deploy` share these flags.
#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    /// The image the binary is layered on: a registry reference, oci:PATH[:TAG] or oci-archive:PATH[:TAG] [default: the base-image setting, else gcr.io/distroless/cc-debian12].
    #[arg(long, value_name = "REFERENCE")]
    pub base_image: Option<String>,
    /// Native build here (no Docker), or a Dockerfile for Fly's remote builder (`deploy` has it built during `fly deploy`).
    #[arg(long, value_enum, default_value_t = Builder::Native)]
    pub builder: Builder,
    /// Download the base image again even if it is cached.
    #[arg(long)]
    pub pull: bool,
    /// Build-time environment variable NAME=VALUE for cargo (and ARG in the Dockerfile); repeatable; no secrets.
    #[arg(long, value_name = "NAME=VALUE")]
    pub build_env: Vec<String>,
}

/// `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Cargo packages to build.
    #[command(flatten)]
    pub packages: PackageArgs,
    /// Cargo compilation flags.
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Push the image to Fly's registry (`registry.fly.io/<app>`; `FLY_REGISTRY_HOST` overrides the host).
    #[arg(long)]
    pub push: bool,
    /// Image tag [default: derived from the image's digest].
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// How the image is made.
    #[command(flatten)]
    pub image: ImageArgs,
    /// Write the image into this OCI image layout (created, or added to: its other tags are kept).
    #[arg(long, value_name = "DIR")]
    pub output_oci: Option<PathBuf>,
    /// Prefix of the Fly app name (when the project has none yet).
    #[arg(long, value_name = "PREFIX")]
    pub app_prefix: Option<String>,
    /// Also print a summary of the result on stdout.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
}

/// `dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Cargo packages to run.
    #[command(flatten)]
    pub packages: PackageArgs,
    /// Cargo compilation flags (debug unless --release or --profile).
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Rebuild and restart when the package's sources, its score.yaml or Cargo.toml change (a failed build keeps the running service).
    #[arg(long)]
    pub watch: bool,
    /// Delete the local state (.score-fly/dev/state.json) and written files, then stop (no dev session may be running).
    #[arg(long, conflicts_with = "watch")]
    pub reset: bool,
    /// Provisioners running at once.
    #[arg(short, long, value_name = "N", default_value_t = score_fly_core::provision::DEFAULT_JOBS)]
    pub jobs: usize,
    /// Call provisioners even for resources whose inputs did not change.
    #[arg(long)]
    pub reprovision: bool,
    /// Let `files.*.source` read files outside the project folder (symlinks resolved); never from /proc.
    #[arg(long)]
    pub allow_outside_source: bool,
    /// Arguments for the service (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// Which workloads a command works on, and how they are provisioned (`generate`, `deploy`).
#[derive(Debug, Args)]
pub struct WorkloadArgs {
    /// Score files. Without files, inside a cargo package or workspace the workloads of its
    /// packages are used (score.yaml beside Cargo.toml or `#[score_workload]`); elsewhere
    /// score.yaml.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Cargo packages to take workloads from.
    #[command(flatten)]
    pub packages: PackageArgs,
    /// Where to write fly.toml: a file for one workload, a folder (existing, or ending in `/`) for several.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Prefix of every Fly app name (`<prefix><metadata.name>`); Fly app names are global. It can
    /// change until something exists on Fly under the project's prefix [default: the
    /// app-prefix setting, else the project's]
    #[arg(long, value_name = "PREFIX")]
    pub app_prefix: Option<String>,
    /// YAML file deep-merged into the Score file before validation (`null` deletes a key).
    #[arg(long, value_name = "FILE")]
    pub overrides_file: Vec<PathBuf>,
    /// Set (PATH=VALUE, VALUE parsed as YAML) or delete (PATH=) a field; `\.` escapes a dot.
    #[arg(long, value_name = "PATH=VALUE")]
    pub override_property: Vec<String>,
    /// TOML file deep-merged into each generated fly.toml, after the `fly.patch.toml` beside the
    /// Score file (repeatable; tables merge, arrays replace, `key = {}` removes).
    #[arg(long, value_name = "FILE")]
    pub patch: Vec<PathBuf>,
    /// Image for containers whose image is `.` (built from this project).
    #[arg(long, value_name = "REFERENCE")]
    pub image: Option<String>,
    /// Primary Fly region when the workload sets none (e.g. ams); default: the `region` setting.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Fly organisation for new apps and what builtin provisioners create.
    #[arg(
        long,
        value_name = "ORG",
        help = "Fly organisation for new apps and what builtin provisioners create [default: the `org` setting, else $FLY_ORG, else personal]"
    )]
    pub org: Option<String>,
    /// Provisioners running at once.
    #[arg(short, long, value_name = "N", default_value_t = score_fly_core::provision::DEFAULT_JOBS)]
    pub jobs: usize,
    /// Call provisioners even for resources whose inputs did not change.
    #[arg(long)]
    pub reprovision: bool,
    /// Let `files.*.source` read files outside the project folder (symlinks resolved); never from /proc.
    #[arg(long)]
    pub allow_outside_source: bool,
}

/// `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The workloads.
    #[command(flatten)]
    pub workloads: WorkloadArgs,
    /// Write the apps' secrets as `fly secrets import` reads them (mode 0600): a file, `-` for
    /// stdout, or a folder (ending in `/`) for one `<app>.secrets` file per app.
    #[arg(long, value_name = "FILE")]
    pub secrets_file: Option<PathBuf>,
    /// Check that the written files are up to date; change nothing, provision nothing; exit 1
    /// if any is out of date (like `cargo fmt --check`).
    #[arg(long, conflicts_with = "reprovision")]
    pub check: bool,
    /// Also print a summary of the result on stdout.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Then deploy this run's workloads: create missing apps, import secrets (stdin), `fly deploy` (as score-flyio's --deploy).
    #[arg(long, conflicts_with_all = ["check", "secrets_file"])]
    pub deploy: bool,
    /// Extra argument for `fly deploy` (repeatable; with --deploy).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true, requires = "deploy")]
    pub deploy_args: Vec<String>,
}

/// `deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The workloads.
    #[command(flatten)]
    pub workloads: WorkloadArgs,
    /// Cargo compilation flags (for the image build).
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Show what would be built, created, provisioned and set (secret names only); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run 2 machines per process group with services (Fly's default).
    #[arg(long, overrides_with = "no_ha")]
    pub ha: bool,
    /// Run a single machine per process group.
    #[arg(long, overrides_with = "ha")]
    pub no_ha: bool,
    /// Deployment strategy: canary, rolling, immediate or bluegreen.
    #[arg(long, value_name = "STRATEGY", value_parser = ["canary", "rolling", "immediate", "bluegreen"])]
    pub strategy: Option<String>,
    /// Extra argument for `fly deploy` (repeatable, e.g. --deploy-args=--wait-timeout=10m).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub deploy_args: Vec<String>,
    /// How the image is made (when a container's image is `.` and no --image is given).
    #[command(flatten)]
    pub image: ImageArgs,
    /// Also print a summary on stdout (apps, URLs, images, resources, secret names; never values).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this workload [default: every workload of the project].
    #[arg(value_name = "WORKLOAD")]
    pub workload: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `releases`.
#[derive(Debug, Args)]
pub struct ReleasesArgs {
    /// Only this workload [default: every workload of the project].
    #[arg(value_name = "WORKLOAD")]
    pub workload: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The workload to roll back [default: the project's only workload].
    #[arg(value_name = "WORKLOAD")]
    pub workload: Option<String>,
    /// The release version to deploy again [default: the release before the current one].
    #[arg(long, value_name = "VERSION")]
    pub to: Option<u64>,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(short, long)]
    pub yes: bool,
    /// Extra argument for `fly deploy` (repeatable, e.g. --deploy-args=--skip-release-command).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub deploy_args: Vec<String>,
    /// Also print a summary on stdout.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
}

/// `builtin-provisioners <type> provision|deprovision` (score-flyio compatible).
#[derive(Debug, Args)]
pub struct BuiltinArgs {
    /// The builtin: postgres, postgres-instance, redis, s3, volume, dns, route, service-port, environment.
    #[arg(value_name = "TYPE")]
    pub name: String,
    /// `provision` or `deprovision` (`$SCORE_PROVISIONER_MODE`).
    #[arg(value_name = "MODE", value_parser = ["provision", "deprovision"])]
    pub mode: String,
    /// The project's app prefix.
    #[arg(
        long,
        value_name = "PREFIX",
        help = "The project's app prefix [default: $SCORE_FLY_APP_PREFIX, else the project state in this folder]"
    )]
    pub app_prefix: Option<String>,
    /// Fly organisation.
    #[arg(long, value_name = "ORG", help = "Fly organisation [default: $FLY_ORG, else personal]")]
    pub org: Option<String>,
    /// Region for new things.
    #[arg(long, value_name = "REGION", help = "Region for new things [default: $FLY_REGION, $FLY_REGION_NAME]")]
    pub region: Option<String>,
}

/// `completions <shell>`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// A shell `completions` writes a script for: those whose cargo completion hands
/// `cargo score-fly ...` to ours (bash and fish through the glue the script carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash (with the bash-completion package, as cargo's own completion).
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}
