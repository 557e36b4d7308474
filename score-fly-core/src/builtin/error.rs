//! Why a builtin provisioner failed: [`BuiltinError`], one variant per step that can fail
//! (flyctl, the Machines API, a param, what Fly answered), each carrying the facts its
//! message names. The engine hides the run's secrets in the message
//! ([`crate::provision::CallFailed`]); no variant holds a secret of its own (psql's output is
//! redacted before it is kept).

use std::collections::BTreeMap;

use crate::fly::AppNameError;
use crate::flyio::api::ApiError;
use crate::flyio::cli::FlyctlError;
use crate::provision::NoBuiltin;

/// A builtin provisioner failed.
#[derive(Debug, thiserror::Error)]
pub enum BuiltinError {
    /// There is no builtin of that name.
    #[error(transparent)]
    Unknown(#[from] NoBuiltin),
    /// flyctl could not be run, or failed.
    #[error(transparent)]
    Flyctl(#[from] FlyctlError),
    /// A Machines API call failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The operating system's random generator could not be read.
    #[error("cannot read random bytes from /dev/urandom: {0}")]
    Random(#[source] std::io::Error),
    /// Nothing says which region to create something in.
    #[error(
        "`{uid}` needs a Fly region to create it in: set the workload's primary region (--region, the `region` setting, or the `score-fly/primary-region` annotation), a `region` param, or FLY_REGION"
    )]
    NoRegion {
        /// The resource.
        uid: String,
    },
    /// A region that is not one of Fly's (fly-2026.md §4).
    #[error("{what}: {source}")]
    BadRegion {
        /// Where it came from (the `region` param, the workload's primary region, the default).
        what: &'static str,
        /// Why it is refused (naming the nearest codes).
        source: crate::fly::regions::UnknownRegion,
    },
    /// The app a resource needs belongs to another organisation.
    #[error("the Fly app name `{app}` (needed by `{uid}`) belongs to another organisation; choose another app prefix")]
    AppTakenElsewhere {
        /// The app.
        app: String,
        /// The resource.
        uid: String,
    },
    /// A per-app resource declared by no workload, whose id names none.
    #[error("cannot tell which workload `{uid}` belongs to")]
    NoWorkload {
        /// The resource.
        uid: String,
    },
    /// A per-app resource declared by several workloads.
    #[error(
        "`{uid}` is declared by {} workloads ({}) but belongs to one Fly app; give each workload its own",
        .workloads.len(),
        .workloads.join(", ")
    )]
    SharedByWorkloads {
        /// The resource.
        uid: String,
        /// The workloads declaring it.
        workloads: Vec<String>,
    },
    /// A param that must be a boolean is not.
    #[error("`{uid}`: param `{param}` must be true or false")]
    NotBool {
        /// The resource.
        uid: String,
        /// The param.
        param: &'static str,
    },
    /// A param that must be a port number is not.
    #[error("`{uid}`: param `{param}` must be a port number (1 to 65535), not `{text}`")]
    NotPort {
        /// The resource.
        uid: String,
        /// The param.
        param: &'static str,
        /// What it holds.
        text: String,
    },
    /// Variables `environment` reads are not set.
    #[error(
        "`{uid}` reads {} from the environment, and {} {} not set (or not UTF-8): set {} where score-fly runs (e.g. as CI secrets)",
        if .missing.len() == 1 { "this variable" } else { "these variables" },
        .missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
        if .missing.len() == 1 { "is" } else { "are" },
        if .missing.len() == 1 { "it" } else { "them" }
    )]
    Unset {
        /// The resource.
        uid: String,
        /// The variables not set.
        missing: Vec<String>,
    },
    /// A volume's `size` param.
    #[error("`{uid}`: param `size`: {source}")]
    VolumeSize {
        /// The resource.
        uid: String,
        /// What is wrong with it.
        source: SizeError,
    },
    /// A volume could not be destroyed.
    #[error(
        "{source}\n(a volume attached to a machine goes only after the machine: `fly machine destroy` it, or deprovision after removing the mount)"
    )]
    VolumeDestroy {
        /// flyctl's failure.
        source: FlyctlError,
    },
    /// A `route` without a `host` param.
    #[error(
        "`{uid}` needs a `host` param: this workload's Fly host `{own}` (e.g. `host: ${{resources.dns.host}}` with a `dns` resource)"
    )]
    RouteNoHost {
        /// The resource.
        uid: String,
        /// The declaring workload's host.
        own: String,
    },
    /// A `route` naming another workload's host.
    #[error(
        "route `{uid}` of workload `{workload}` names host `{host}`, the host of workload `{other}`: Fly routes a host to its own app, so declare the route in `{other}`, or use `{own}` here"
    )]
    RouteOtherWorkload {
        /// The resource.
        uid: String,
        /// The declaring workload.
        workload: String,
        /// The host named.
        host: String,
        /// The workload it belongs to.
        other: String,
        /// The declaring workload's host.
        own: String,
    },
    /// A `route` naming a `.fly.dev` host of no workload.
    #[error(
        "route `{uid}` names host `{host}`, which is not the host of workload `{workload}` (`{own}`); a Fly app only answers on its own `.fly.dev` host"
    )]
    RouteNotOwnHost {
        /// The resource.
        uid: String,
        /// The host named.
        host: String,
        /// The declaring workload.
        workload: String,
        /// The declaring workload's host.
        own: String,
    },
    /// A `route` naming a custom domain.
    #[error(
        "route `{uid}` names host `{host}`: custom domains are not set up by score-fly. Point the domain's DNS at the app and add its certificate (`fly certs add {host} -a {app}`), and give this route host `{own}` (the app answers on both)"
    )]
    RouteCustomDomain {
        /// The resource.
        uid: String,
        /// The host named.
        host: String,
        /// The declaring workload's app.
        app: String,
        /// The declaring workload's host.
        own: String,
    },
    /// A `route` without a `port` param.
    #[error("`{uid}` needs a `port` param: the service port the route leads to")]
    RouteNoPort {
        /// The resource.
        uid: String,
    },
    /// A `route` to a port the workload does not serve.
    #[error(
        "route `{uid}` leads to port {port}, {}",
        if .ports.is_empty() {
            format!("but workload `{}` declares no service ports; add one under `service.ports`", .workload)
        } else {
            format!("which is not a service port of workload `{}` ({})", .workload, describe_ports(.ports))
        }
    )]
    RouteNotServicePort {
        /// The resource.
        uid: String,
        /// The port asked for.
        port: u16,
        /// The declaring workload.
        workload: String,
        /// Its service ports (name → port).
        ports: BTreeMap<String, u16>,
    },
    /// A `route` path not starting with `/`.
    #[error("route `{uid}`: param `path` must start with `/`, not `{path}`")]
    RoutePath {
        /// The resource.
        uid: String,
        /// The path given.
        path: String,
    },
    /// A `service-port` without a `workload` param.
    #[error(
        "`{uid}` needs a `workload` param: the workload whose port it reaches (workloads: {})",
        known_workloads(.known)
    )]
    NoTargetWorkload {
        /// The resource.
        uid: String,
        /// The workloads of the project.
        known: Vec<String>,
    },
    /// A `service-port` naming no workload of the project.
    #[error("`{uid}`: `{target}` is not a workload of this project (workloads: {})", known_workloads(.known))]
    NotAWorkload {
        /// The resource.
        uid: String,
        /// The workload named.
        target: String,
        /// The workloads of the project.
        known: Vec<String>,
    },
    /// A `service-port` without a `port` param.
    #[error("`{uid}` needs a `port` param: the name of a service port of `{target}` ({})", describe_ports(.ports))]
    NoTargetPort {
        /// The resource.
        uid: String,
        /// The workload named.
        target: String,
        /// Its service ports.
        ports: BTreeMap<String, u16>,
    },
    /// A `service-port` naming a port the workload does not serve.
    #[error(
        "`{uid}`: {}",
        if .ports.is_empty() {
            format!("workload `{}` declares no service ports; add one under its `service.ports`", .target)
        } else {
            format!("`{}` is not a service port of workload `{}` ({})", .wanted, .target, describe_ports(.ports))
        }
    )]
    NotAServicePort {
        /// The resource.
        uid: String,
        /// The port asked for (name or number).
        wanted: String,
        /// The workload named.
        target: String,
        /// Its service ports.
        ports: BTreeMap<String, u16>,
    },
    /// `fly redis status` succeeded without a URL.
    #[error(
        "`fly redis status {name}` printed no redis:// URL for `{uid}`; check the database with `fly redis status {name}`"
    )]
    RedisStatusNoUrl {
        /// The database.
        name: String,
        /// The resource.
        uid: String,
    },
    /// `fly redis create` succeeded, and neither it nor `fly redis status` printed a URL.
    #[error(
        "Redis database {name} was created for `{uid}` but flyctl printed no redis:// URL; see `fly redis status {name}`"
    )]
    RedisCreatedNoUrl {
        /// The database.
        name: String,
        /// The resource.
        uid: String,
    },
    /// The URL flyctl printed is not a Redis URL this can read.
    #[error("the URL flyctl gave for Redis database {name} (`{uid}`) {source}")]
    RedisUrl {
        /// The database.
        name: String,
        /// The resource.
        uid: String,
        /// What is wrong with it (never quoting it).
        source: RedisUrlError,
    },
    /// `fly redis create` failed after `fly redis status` had.
    #[error(
        "{create}\n(`fly redis status {name}` had failed before, so the database was taken to be missing: {})",
        last_line(&.status.to_string())
    )]
    RedisCreate {
        /// The database.
        name: String,
        /// Why `fly redis create` failed.
        create: Box<FlyctlError>,
        /// Why `fly redis status` failed.
        status: Box<FlyctlError>,
    },
    /// A bucket exists, and its keys are not in the state.
    #[error(
        "the Tigris bucket {bucket} of `{uid}` exists, but its access keys are not in the project state (was `.score-fly/state.json` lost, e.g. on a fresh CI runner?) and Tigris keys cannot be read back. Not creating a second bucket. To recover, either:\n  \
         - restore `.score-fly/state.json` (keep it between runs, e.g. as a CI cache or artifact), or\n  \
         - create an access key for {bucket} in the Tigris dashboard (`fly storage dashboard {bucket}`) and give `{uid}` its outputs through a static provisioner (a `*.provisioners.yaml` file kept out of git, with values bucket, endpoint, region and secrets access_key_id, secret_key, aws_access_key_id, aws_secret_key), or\n  \
         - if its content can go, destroy it (`fly storage destroy {bucket} -y`) and run again to get a new bucket"
    )]
    S3LostKeys {
        /// The bucket.
        bucket: String,
        /// The resource.
        uid: String,
    },
    /// `fly storage create` printed no credentials.
    #[error(
        "the Tigris bucket {bucket} was created for `{uid}` but flyctl printed no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (did it set them on an app instead?); get keys in the Tigris dashboard (`fly storage dashboard {bucket}`) and give them through a static provisioner, or destroy the bucket (`fly storage destroy {bucket} -y`) and run again"
    )]
    S3NoCredentials {
        /// The bucket.
        bucket: String,
        /// The resource.
        uid: String,
    },
    /// The `cluster` param is not an app name.
    #[error("param `cluster`: {0}")]
    ClusterParam(#[source] AppNameError),
    /// The shared cluster is named after the app prefix, and there is none.
    #[error(
        "`{uid}`: the shared Postgres cluster is named after the project's app prefix, and this project has none; set one (`cargo score-fly init --app-prefix P`) or name an existing cluster with the `cluster` param"
    )]
    NoPrefixForCluster {
        /// The resource.
        uid: String,
    },
    /// The cluster's app name belongs to another organisation.
    #[error(
        "the Fly app name `{cluster}` (the Postgres cluster of `{uid}`) belongs to another organisation; choose another app prefix, or name a cluster of yours with the `cluster` param"
    )]
    ClusterTakenElsewhere {
        /// The cluster.
        cluster: String,
        /// The resource.
        uid: String,
    },
    /// The cluster has no machine.
    #[error("the Postgres cluster {cluster} has no machine to run SQL on; check it with `fly status -a {cluster}`")]
    NoMachine {
        /// The cluster.
        cluster: String,
    },
    /// No machine of the cluster is started.
    #[error(
        "no machine of the Postgres cluster {cluster} is started ({}); start one with `fly machine start -a {cluster}` and run again",
        .machines.iter().map(|(id, state)| format!("{id} {state}")).collect::<Vec<_>>().join(", ")
    )]
    NoStartedMachine {
        /// The cluster.
        cluster: String,
        /// Its machines: (id, state).
        machines: Vec<(String, String)>,
    },
    /// psql failed in a machine of the cluster.
    #[error(
        "psql in machine {machine} of {cluster} failed (exit code {code}): {}",
        if .stderr.is_empty() { "it printed nothing" } else { .stderr.as_str() }
    )]
    Psql {
        /// The machine.
        machine: String,
        /// The cluster.
        cluster: String,
        /// psql's exit code.
        code: i64,
        /// What it printed on stderr (trimmed, redacted).
        stderr: String,
    },
    /// A region Managed Postgres does not serve (fly-2026.md §1.10).
    #[error(
        "`{uid}`: Managed Postgres does not run in {region}; nearest regions where it does: {}. Set the resource's `region` param to one of them",
        if .nearest.is_empty() { "none in that area (`fly platform regions` lists them)".to_owned() } else { .nearest.join(", ") }
    )]
    MpgRegion {
        /// The resource.
        uid: String,
        /// The region asked for.
        region: String,
        /// The nearest regions MPG serves (`ams (Amsterdam, NL)`).
        nearest: Vec<String>,
    },
    /// A `plan` param flyctl would not honour (§1.3).
    #[error(
        "`{uid}`: param `plan`: `{plan}` is not a Managed Postgres plan score-fly can ask for (basic, starter, launch, scale; flyctl turns any other, `performance` included, into basic when not interactive)"
    )]
    MpgPlan {
        /// The resource.
        uid: String,
        /// What was given.
        plan: String,
    },
    /// A `volume_size` param that is not a size.
    #[error("`{uid}`: param `volume_size`: {source}")]
    MpgVolumeSize {
        /// The resource.
        uid: String,
        /// What is wrong with it.
        source: SizeError,
    },
    /// `fly mpg create` succeeded without printing the cluster's id.
    #[error("`fly mpg create` printed no cluster id for {cluster}; find it with `fly mpg list` and run again")]
    MpgNoId {
        /// The cluster.
        cluster: String,
    },
    /// The cluster exists but failed to provision.
    #[error(
        "the Managed Postgres cluster {cluster} ({id}) is in status `error`; see `fly mpg status {id}`, destroy it (`fly mpg destroy {id} --yes`) and run again"
    )]
    MpgClusterFailed {
        /// The cluster.
        cluster: String,
        /// Its id.
        id: String,
    },
    /// A `create_timeout` param that is not a positive Go duration of at most 24h.
    #[error(
        "resource {uid}: param `create_timeout` is {text:?}, not a duration such as `20m` or `1h` (more than 0, at most 24h)"
    )]
    MpgCreateTimeout {
        /// The resource.
        uid: String,
        /// What was given.
        text: String,
    },
    /// The cluster was not ready within `create_timeout`.
    #[error(
        "resource {uid}: the Managed Postgres cluster {cluster} ({id}) is still `{status}` after {timeout}; it keeps being made in the background: run again later (it is adopted, not made twice), or give the resource a longer `create_timeout` param"
    )]
    MpgNotReady {
        /// The resource.
        uid: String,
        /// The cluster.
        cluster: String,
        /// Its id.
        id: String,
        /// Its last status.
        status: String,
        /// The deadline, as a duration (`20m`).
        timeout: String,
    },
    /// flyctl printed JSON that is not what the reference describes.
    #[error("`{command}` printed JSON score-fly cannot read: {detail}")]
    MpgJson {
        /// The command.
        command: String,
        /// serde's message.
        detail: String,
    },
    /// `fly mpg attach` printed no URI with a password.
    #[error(
        "`fly mpg attach {id}` printed no connection string with the password of user {user}; check the cluster with `fly mpg users list {id}`"
    )]
    MpgNoPassword {
        /// The cluster id.
        id: String,
        /// The user.
        user: String,
    },
}

/// Why a volume size is not one ([`super::volume::parse_size`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Not a number of GB.
    #[error("`{text}` is not a size in GB (e.g. 10, \"10GB\" or \"10Gi\")")]
    NotASize {
        /// What was given.
        text: String,
    },
    /// Outside what Fly allows.
    #[error("{size} GB is not a Fly volume size (1 to {max} GB)")]
    OutOfRange {
        /// The size asked for.
        size: u64,
        /// [`super::volume::MAX_SIZE_GB`].
        max: u64,
    },
}

/// Why a Redis URL cannot be read ([`super::redis::RedisUrl::parse`]): messages read after
/// "the URL ..." and never quote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedisUrlError {
    /// Another scheme.
    #[error("is not a redis:// URL")]
    Scheme,
    /// No `user:password@`.
    #[error("has no credentials")]
    NoCredentials,
    /// No `:password`.
    #[error("has no password")]
    NoPassword,
    /// A port that is not a number.
    #[error("has an invalid port")]
    Port,
    /// No host.
    #[error("has no host")]
    NoHost,
    /// An empty password.
    #[error("has an empty password")]
    EmptyPassword,
}

/// `web (8080), admin (9000)`.
pub(super) fn describe_ports(ports: &BTreeMap<String, u16>) -> String {
    if ports.is_empty() {
        return "it has none".to_owned();
    }
    ports.iter().map(|(name, port)| format!("{name} ({port})")).collect::<Vec<_>>().join(", ")
}

fn known_workloads(known: &[String]) -> String {
    if known.is_empty() { "none known".to_owned() } else { known.join(", ") }
}

/// The last line of a flyctl error: what flyctl said (`Error: ...`).
fn last_line(text: &str) -> &str {
    text.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(list: &[(&str, u16)]) -> BTreeMap<String, u16> {
        list.iter().map(|(name, port)| ((*name).to_owned(), *port)).collect()
    }

    fn failed(tail: &[&str]) -> FlyctlError {
        FlyctlError::Failed {
            command: "fly redis create -n x".into(),
            how: "exited with status 1".into(),
            tail: tail.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    /// Each message, one per line, exactly as the builtins wrote it before they returned
    /// typed errors (the CLI and e2e tests grep some of them).
    #[test]
    fn messages_are_the_builtins_words() {
        let uid = || "redis.default#web.cache".to_owned();
        let errors = [
            BuiltinError::NoRegion { uid: uid() },
            BuiltinError::BadRegion {
                what: "the `region` param",
                source: crate::fly::regions::check("AMS").unwrap_err(),
            },
            BuiltinError::AppTakenElsewhere { app: "demo-web".into(), uid: uid() },
            BuiltinError::NoWorkload { uid: uid() },
            BuiltinError::SharedByWorkloads { uid: uid(), workloads: vec!["web".into(), "api".into()] },
            BuiltinError::NotBool { uid: uid(), param: "eviction" },
            BuiltinError::NotPort { uid: uid(), param: "port", text: "http".into() },
            BuiltinError::Unset { uid: uid(), missing: vec!["TOKEN".into()] },
            BuiltinError::Unset { uid: uid(), missing: vec!["A".into(), "B".into()] },
            BuiltinError::VolumeSize { uid: uid(), source: SizeError::OutOfRange { size: 501, max: 500 } },
            BuiltinError::RouteNoHost { uid: uid(), own: "demo-web.fly.dev".into() },
            BuiltinError::RouteNoPort { uid: uid() },
            BuiltinError::RouteNotServicePort { uid: uid(), port: 81, workload: "web".into(), ports: ports(&[]) },
            BuiltinError::RouteNotServicePort {
                uid: uid(),
                port: 81,
                workload: "web".into(),
                ports: ports(&[("web", 80), ("admin", 9000)]),
            },
            BuiltinError::RoutePath { uid: uid(), path: "x".into() },
            BuiltinError::NoTargetWorkload { uid: uid(), known: Vec::new() },
            BuiltinError::NotAWorkload { uid: uid(), target: "db".into(), known: vec!["api".into(), "web".into()] },
            BuiltinError::NoTargetPort { uid: uid(), target: "api".into(), ports: ports(&[]) },
            BuiltinError::NotAServicePort {
                uid: uid(),
                wanted: "grpc".into(),
                target: "api".into(),
                ports: ports(&[]),
            },
            BuiltinError::NotAServicePort {
                uid: uid(),
                wanted: "grpc".into(),
                target: "api".into(),
                ports: ports(&[("http", 80)]),
            },
            BuiltinError::RedisStatusNoUrl { name: "demo-redis".into(), uid: uid() },
            BuiltinError::RedisCreatedNoUrl { name: "demo-redis".into(), uid: uid() },
            BuiltinError::RedisUrl { name: "demo-redis".into(), uid: uid(), source: RedisUrlError::NoPassword },
            BuiltinError::ClusterParam(AppNameError::Length { name: String::new() }),
            BuiltinError::NoPrefixForCluster { uid: uid() },
            BuiltinError::ClusterTakenElsewhere { cluster: "demo-pg".into(), uid: uid() },
            BuiltinError::NoMachine { cluster: "demo-pg".into() },
            BuiltinError::NoStartedMachine {
                cluster: "demo-pg".into(),
                machines: vec![("m1".into(), "stopped".into()), ("m2".into(), "created".into())],
            },
            BuiltinError::Psql { machine: "m1".into(), cluster: "demo-pg".into(), code: 3, stderr: String::new() },
            BuiltinError::Psql { machine: "m1".into(), cluster: "demo-pg".into(), code: 1, stderr: "ERROR: x".into() },
            BuiltinError::Unknown(NoBuiltin { name: "memcached".into(), known: vec!["redis", "s3"] }),
        ];
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let expected = format!(
            "{}\n{}",
            "`redis.default#web.cache` needs a Fly region to create it in: set the workload's primary region (--region, the `region` setting, or the `score-fly/primary-region` annotation), a `region` param, or FLY_REGION
the `region` param: `AMS` is not a Fly region code; nearest: ams (Amsterdam, NL) (`fly platform regions` lists them all)
the Fly app name `demo-web` (needed by `redis.default#web.cache`) belongs to another organisation; choose another app prefix
cannot tell which workload `redis.default#web.cache` belongs to
`redis.default#web.cache` is declared by 2 workloads (web, api) but belongs to one Fly app; give each workload its own
`redis.default#web.cache`: param `eviction` must be true or false
`redis.default#web.cache`: param `port` must be a port number (1 to 65535), not `http`
`redis.default#web.cache` reads this variable from the environment, and `TOKEN` is not set (or not UTF-8): set it where score-fly runs (e.g. as CI secrets)
`redis.default#web.cache` reads these variables from the environment, and `A`, `B` are not set (or not UTF-8): set them where score-fly runs (e.g. as CI secrets)
`redis.default#web.cache`: param `size`: 501 GB is not a Fly volume size (1 to 500 GB)
`redis.default#web.cache` needs a `host` param: this workload's Fly host `demo-web.fly.dev` (e.g. `host: ${resources.dns.host}` with a `dns` resource)
`redis.default#web.cache` needs a `port` param: the service port the route leads to
route `redis.default#web.cache` leads to port 81, but workload `web` declares no service ports; add one under `service.ports`
route `redis.default#web.cache` leads to port 81, which is not a service port of workload `web` (admin (9000), web (80))
route `redis.default#web.cache`: param `path` must start with `/`, not `x`
`redis.default#web.cache` needs a `workload` param: the workload whose port it reaches (workloads: none known)
`redis.default#web.cache`: `db` is not a workload of this project (workloads: api, web)
`redis.default#web.cache` needs a `port` param: the name of a service port of `api` (it has none)
`redis.default#web.cache`: workload `api` declares no service ports; add one under its `service.ports`
`redis.default#web.cache`: `grpc` is not a service port of workload `api` (http (80))",
            "`fly redis status demo-redis` printed no redis:// URL for `redis.default#web.cache`; check the database with `fly redis status demo-redis`
Redis database demo-redis was created for `redis.default#web.cache` but flyctl printed no redis:// URL; see `fly redis status demo-redis`
the URL flyctl gave for Redis database demo-redis (`redis.default#web.cache`) has no password
param `cluster`: ".to_owned() + &AppNameError::Length { name: String::new() }.to_string() + "
`redis.default#web.cache`: the shared Postgres cluster is named after the project's app prefix, and this project has none; set one (`cargo score-fly init --app-prefix P`) or name an existing cluster with the `cluster` param
the Fly app name `demo-pg` (the Postgres cluster of `redis.default#web.cache`) belongs to another organisation; choose another app prefix, or name a cluster of yours with the `cluster` param
the Postgres cluster demo-pg has no machine to run SQL on; check it with `fly status -a demo-pg`
no machine of the Postgres cluster demo-pg is started (m1 stopped, m2 created); start one with `fly machine start -a demo-pg` and run again
psql in machine m1 of demo-pg failed (exit code 3): it printed nothing
psql in machine m1 of demo-pg failed (exit code 1): ERROR: x
there is no builtin provisioner `memcached` (builtins: redis, s3)"
        );
        assert_eq!(messages.join("\n"), expected);
    }

    #[test]
    fn flyctl_failures_keep_what_flyctl_said() {
        let e = BuiltinError::RedisCreate {
            name: "demo-redis".into(),
            create: Box::new(failed(&["Error: plan x not found"])),
            status: Box::new(failed(&["some detail", "Error: Could not find Redis database", ""])),
        };
        assert_eq!(
            e.to_string(),
            "`fly redis create -n x` exited with status 1:\n    Error: plan x not found\n(`fly redis status demo-redis` had failed before, so the database was taken to be missing: Error: Could not find Redis database)"
        );
        let e = BuiltinError::VolumeDestroy { source: failed(&[]) };
        assert_eq!(
            e.to_string(),
            "`fly redis create -n x` exited with status 1 (it printed nothing)\n(a volume attached to a machine goes only after the machine: `fly machine destroy` it, or deprovision after removing the mount)"
        );
        assert!(std::error::Error::source(&e).is_some(), "flyctl's failure is the source");
        let e: BuiltinError = FlyctlError::NotFound.into();
        assert!(matches!(e, BuiltinError::Flyctl(FlyctlError::NotFound)));
        assert_eq!(e.to_string(), FlyctlError::NotFound.to_string());
    }

    #[test]
    fn variants_carry_the_facts() {
        let e = BuiltinError::Unset { uid: "environment.default#web.env".into(), missing: vec!["A".into()] };
        let BuiltinError::Unset { uid, missing } = &e else { unreachable!() };
        assert_eq!((uid.as_str(), missing.as_slice()), ("environment.default#web.env", &["A".to_owned()][..]));
        assert_eq!(describe_ports(&ports(&[])), "it has none");
        assert_eq!(last_line("a\n  b  \n\n"), "b");
    }
}
