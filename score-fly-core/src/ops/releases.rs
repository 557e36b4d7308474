//! Releases and rollback.
//!
//! - [`record`]: after each successful `fly deploy` (by `deploy` or [`rollback`]), the
//!   workload's entry in the state gets a [`Release`]: Fly's release version (read back with
//!   `fly releases -a APP --json`, fly-2026.md §5.3), the image reference deployed (and its
//!   digest when the reference names one, `registry/app@sha256:...`), the SHA-256 of the
//!   fly.toml text deployed, an HMAC of the app's secrets, the SHA-256 of the Score file and
//!   the time. The fly.toml text itself is kept in `.score-fly/releases/<workload>/<version>.toml`
//!   (what a rollback deploys again). The last [`limits::MAX_RELEASES`] are kept. A failed
//!   deploy records nothing.
//! - Secrets digest: HMAC-SHA256 keyed with the project's [`State::release_key`] (32 random
//!   bytes from `/dev/urandom`, made once, kept in the 0600 state that holds the secrets
//!   anyway) over the app name and the text `fly secrets import` receives (every name and
//!   value). Two releases' digests are equal exactly when their secrets are; a digest alone
//!   (printed by `releases --format json`, pasted in a ticket) cannot be tested against
//!   guessed values without the key.
//! - [`list`]: each workload's releases, newest first, the current one (the newest recorded)
//!   marked. Reads only the state.
//! - [`plan_rollback`] then [`rollback`]: `fly deploy --config <that release's fly.toml copy>
//!   --app APP --image <its image>` (fly-2026.md §5.4: flyctl has no rollback command; an
//!   earlier image is deployed again by reference), run where `deploy` runs it. What it
//!   cannot roll back is in the plan: resources (never touched) and secrets that changed
//!   since (the current ones stay). The rollback is a new release, recorded like a deploy.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::error::Error;
pub use super::error::ReleasesError;
pub use super::event::ReleasesEvent;
use super::event::{Event, Reporter};
use crate::flyio::cli::{Flyctl, FlyctlError};
use crate::limits;
use crate::secret::Redactor;
use crate::state::{Project, RELEASES_DIR, Release, STATE_DIR, State, WorkloadEntry};
use crate::target::FlyTarget;

/// The version of the JSON documents of `releases` and `rollback`.
pub const SCHEMA_VERSION: u32 = 1;

/// What was deployed, to be recorded.
#[derive(Debug, Clone)]
pub struct Deployed<'a> {
    /// The workload.
    pub workload: &'a str,
    /// Its app.
    pub app: &'a str,
    /// The image reference `fly deploy` got.
    pub image: Option<&'a str>,
    /// Its manifest digest when the registry answered for a tag (`deploy --image` by tag);
    /// a reference by digest carries its own.
    pub image_digest: Option<&'a str>,
    /// The fly.toml text deployed.
    pub fly_toml: &'a str,
    /// What `fly secrets import` gets for the app (names and values); `None`: no secrets.
    pub secrets_text: Option<&'a str>,
    /// A rollback keeps the current secrets: their digest, as recorded.
    pub secrets_digest: Option<String>,
    /// SHA-256 of the Score file.
    pub score_sha256: Option<String>,
    /// For a rollback: the version deployed again.
    pub rollback_of: Option<u64>,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    crate::encoding::hex(&Sha256::digest(bytes))
}

/// HMAC-SHA256 in hex (the one HMAC of the crate: [`crate::builtin::postgres::hmac_sha256`]).
fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    crate::encoding::hex(&crate::builtin::postgres::hmac_sha256(key, message))
}

/// The digest of an app's secrets: HMAC-SHA256 keyed with the project's release key over
/// the app name, a NUL and the import text.
pub fn secrets_digest(key: &str, app: &str, text: &str) -> String {
    let mut message = Vec::with_capacity(app.len() + 1 + text.len());
    message.extend_from_slice(app.as_bytes());
    message.push(0);
    message.extend_from_slice(text.as_bytes());
    hmac_sha256(key.as_bytes(), &message)
}

/// The project's release key, made (32 bytes from `/dev/urandom`) when it has none.
pub fn release_key(state: &mut State) -> Result<String, ReleasesError> {
    if let Some(key) = &state.release_key {
        return Ok(key.clone());
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).map_err(ReleasesError::Random)?;
    let key = crate::encoding::hex(&bytes);
    state.release_key = Some(key.clone());
    Ok(key)
}

/// Where the fly.toml of `version` of `workload` is kept, relative to the project root.
pub fn config_copy(workload: &str, version: u64) -> PathBuf {
    Path::new(STATE_DIR).join(RELEASES_DIR).join(workload).join(format!("{version}.toml"))
}

/// SHA-256 of a workload's Score file (or Rust source), `None` when it cannot be read.
pub fn score_sha256(root: &Path, entry: &WorkloadEntry) -> Option<String> {
    let limit = limits::MAX_DOCUMENT_BYTES.max(limits::MAX_RUST_SOURCE_BYTES);
    let file = std::fs::File::open(root.join(&entry.file)).ok()?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(limit).unwrap_or(u64::MAX) + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() <= limit).then(|| sha256(&bytes))
}

/// The digest a reference names (`...@sha256:<64 hex>`).
pub fn reference_digest(reference: &str) -> Option<String> {
    let (_, digest) = reference.rsplit_once('@')?;
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| digest.to_owned())
}

/// The newest release version of `app`: `fly releases -a APP --json` (fly-2026.md §5.3:
/// an array of fly-go `Release`, `PascalCase` keys, sorted by `Version` descending).
pub fn fly_release_version(flyctl: &Flyctl, app: &str, redactor: &Redactor) -> Result<u64, ReleasesError> {
    let out = flyctl
        .command(&["releases", "-a", app, "--json"])
        .redact(redactor)
        .run(&mut |_| {})
        .map_err(|source| ReleasesError::Flyctl { what: format!("listing the releases of app `{app}`"), source })?;
    let unreadable = |reason: String| ReleasesError::Unreadable { app: app.to_owned(), reason };
    let value: serde_json::Value =
        serde_json::from_str(&out.stdout).map_err(|e| unreadable(format!("it is not JSON ({e})")))?;
    let list = value.as_array().ok_or_else(|| unreadable("it is not a list".to_owned()))?;
    list.iter()
        .map(|r| r.get("Version").and_then(serde_json::Value::as_u64))
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| unreadable("a release has no numeric `Version`".to_owned()))?
        .into_iter()
        .max()
        .ok_or_else(|| unreadable("it lists no release after a successful `fly deploy`".to_owned()))
}

/// Records what was just deployed as a release of `d.workload` (see the module docs); the
/// state is saved.
pub fn record(
    project: &Project,
    state: &mut State,
    flyctl: &Flyctl,
    d: &Deployed<'_>,
    redactor: &Redactor,
) -> Result<u64, ReleasesError> {
    let version = fly_release_version(flyctl, d.app, redactor)?;
    let key = release_key(state)?;
    let secrets_digest = match (&d.secrets_digest, d.secrets_text) {
        (Some(digest), _) => Some(digest.clone()),
        (None, Some(text)) => Some(secrets_digest(&key, d.app, text)),
        (None, None) => None,
    };
    let release = Release {
        version,
        image: d.image.map(str::to_owned),
        digest: d.image.and_then(reference_digest).or_else(|| d.image_digest.map(str::to_owned)),
        config_sha256: sha256(d.fly_toml.as_bytes()),
        secrets_digest,
        score_sha256: d.score_sha256.clone(),
        created_at: now(),
        rollback_of: d.rollback_of,
    };
    let copy = config_copy(d.workload, version);
    crate::fsutil::write_atomic_inside(project.root(), &copy, d.fly_toml.as_bytes(), None)?;
    project.ignore(&format!("{RELEASES_DIR}/"))?;
    let Some(entry) = state.workloads.get_mut(d.workload) else { return Ok(version) };
    // Fly's versions only grow; one seen again (a state restored from a backup) replaces its entry.
    entry.releases.retain(|r| r.version != version);
    entry.releases.push(release);
    let dropped: Vec<u64> = if entry.releases.len() > limits::MAX_RELEASES {
        let n = entry.releases.len() - limits::MAX_RELEASES;
        entry.releases.drain(..n).map(|r| r.version).collect()
    } else {
        Vec::new()
    };
    project.save(state)?;
    for old in dropped {
        crate::fsutil::remove_inside(project.root(), &config_copy(d.workload, old))?;
    }
    Ok(version)
}

fn now() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    crate::image::rfc3339(seconds)
}

/// A workload's releases, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseList {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"releases"`.
    pub kind: &'static str,
    /// One entry per workload listed.
    pub workloads: Vec<WorkloadReleases>,
}

/// One workload's releases.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadReleases {
    /// The workload.
    pub workload: String,
    /// Its app.
    pub app: String,
    /// Newest first.
    pub releases: Vec<ListedRelease>,
}

/// A release as listed.
#[derive(Debug, Clone, Serialize)]
pub struct ListedRelease {
    /// The newest recorded: what this project last deployed.
    pub current: bool,
    /// The release.
    #[serde(flatten)]
    pub release: Release,
}

/// The project's workloads (or `workload`) with their releases, newest first.
pub fn list(state: &State, workload: Option<&str>) -> Result<ReleaseList, Error> {
    let names: Vec<&String> = match workload {
        Some(w) => vec![known_workload(state, w)?],
        None => state.workloads.keys().collect(),
    };
    let workloads = names
        .into_iter()
        .map(|name| {
            let entry = &state.workloads[name];
            let newest = entry.releases.last().map(|r| r.version);
            WorkloadReleases {
                workload: name.clone(),
                app: crate::target::app_name(&state.app_prefix, name),
                releases: entry
                    .releases
                    .iter()
                    .rev()
                    .map(|r| ListedRelease { current: Some(r.version) == newest, release: r.clone() })
                    .collect(),
            }
        })
        .collect();
    Ok(ReleaseList { schema_version: SCHEMA_VERSION, kind: "releases", workloads })
}

fn known_workload<'s>(state: &'s State, workload: &str) -> Result<&'s String, ReleasesError> {
    state
        .workloads
        .get_key_value(workload)
        .map(|(k, _)| k)
        .ok_or_else(|| ReleasesError::UnknownWorkload { workload: workload.to_owned(), known: names(state) })
}

fn names(state: &State) -> String {
    if state.workloads.is_empty() {
        "none".to_owned()
    } else {
        state.workloads.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
    }
}

/// What `rollback` is asked.
#[derive(Debug, Clone, Default)]
pub struct RollbackOptions {
    /// The workload (may be left out when the project has one).
    pub workload: Option<String>,
    /// The version to deploy again (default: the release before the current one).
    pub to: Option<u64>,
    /// Extra `fly deploy` arguments (e.g. `--skip-release-command`).
    pub deploy_args: Vec<String>,
}

/// A rollback, before anything runs. Serialised as the `rollback --format json` plan part.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackPlan {
    /// The workload.
    pub workload: String,
    /// Its app.
    pub app: String,
    /// The current release.
    pub from: u64,
    /// The release deployed again.
    pub to: u64,
    /// Its image reference.
    pub image: String,
    /// Its fly.toml (the kept copy), as shown.
    pub config: PathBuf,
    /// What a rollback does not change, one sentence each (resources, secrets changed since,
    /// generated files).
    pub not_rolled_back: Vec<String>,
    /// Whether the app's secrets changed between the two releases (they stay as they are).
    pub secrets_changed: bool,
    /// The exact `fly deploy` command line.
    pub command: Vec<String>,
    /// Where it runs (the folder of the workload's fly.toml).
    #[serde(skip)]
    dir: PathBuf,
    #[serde(skip)]
    config_text: String,
    #[serde(skip)]
    target_release: Release,
    #[serde(skip)]
    current_secrets: Option<String>,
}

/// What a rollback did.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Always `"rollback"`.
    pub kind: &'static str,
    /// The plan carried out.
    #[serde(flatten)]
    pub plan: RollbackPlan,
    /// The new release Fly made.
    pub version: u64,
}

/// Works out a rollback; changes nothing.
pub fn plan_rollback(root: &Path, state: &State, options: &RollbackOptions) -> Result<RollbackPlan, Error> {
    let workload = match &options.workload {
        Some(w) => known_workload(state, w)?.clone(),
        None => match state.workloads.keys().collect::<Vec<_>>().as_slice() {
            [] => return Err(ReleasesError::NoWorkloads.into()),
            [one] => (*one).clone(),
            [first, ..] => {
                return Err(ReleasesError::WhichWorkload { known: names(state), first: (*first).clone() }.into());
            }
        },
    };
    let entry = &state.workloads[&workload];
    let releases = &entry.releases;
    let current = releases.last().ok_or(ReleasesError::NothingEarlier { workload: workload.clone(), count: 0 })?;
    let target = match options.to {
        Some(version) if version == current.version => {
            return Err(ReleasesError::AlreadyCurrent { workload, version }.into());
        }
        Some(version) => {
            releases.iter().find(|r| r.version == version).ok_or_else(|| ReleasesError::UnknownVersion {
                workload: workload.clone(),
                version,
                known: releases.iter().rev().map(|r| r.version.to_string()).collect::<Vec<_>>().join(", "),
            })?
        }
        None if releases.len() < 2 => {
            return Err(ReleasesError::NothingEarlier { workload, count: releases.len() }.into());
        }
        None => &releases[releases.len() - 2],
    };
    let recorded = target
        .image
        .clone()
        .ok_or_else(|| ReleasesError::NoImage { workload: workload.clone(), version: target.version })?;
    // By digest when it is known, so a tag pushed again since cannot change what comes back.
    let image = match &target.digest {
        Some(digest) if !recorded.contains('@') => crate::state::pin(&recorded, digest),
        _ => recorded,
    };
    let copy = config_copy(&workload, target.version);
    let copy_error = |problem: &str| ReleasesError::ConfigCopy {
        workload: workload.clone(),
        version: target.version,
        path: root.join(&copy),
        problem: problem.to_owned(),
    };
    let bytes = crate::fsutil::read_inside(root, &copy, limits::MAX_GENERATED_BYTES)?
        .ok_or_else(|| copy_error("is missing"))?;
    if sha256(&bytes) != target.config_sha256 {
        return Err(copy_error("was changed since it was deployed (its SHA-256 differs from the recorded one)").into());
    }
    let config_text = String::from_utf8(bytes).map_err(|_| copy_error("is not UTF-8"))?;

    let app = crate::target::app_name(&state.app_prefix, &workload);
    let mut not_rolled_back = Vec::new();
    let resources: Vec<String> = state
        .resources
        .iter()
        .filter(|(_, r)| r.declared_by.iter().any(|d| d.split_once('.').is_some_and(|(w, _)| w == workload)))
        .map(|(uid, _)| format!("`{uid}`"))
        .collect();
    if !resources.is_empty() {
        not_rolled_back.push(format!(
            "resources are not rolled back: {} stay as they are now (data, schema and outputs)",
            resources.join(", ")
        ));
    }
    let current_secrets = current.secrets_digest.clone();
    let secrets_changed = target.secrets_digest != current_secrets;
    if secrets_changed {
        not_rolled_back.push(format!(
            "secrets are not rolled back: the secrets of {app} changed since release {} and the current ones stay (run `cargo score-fly deploy` with the old values to restore them)",
            target.version
        ));
    }
    if config_text.contains("local_path") {
        not_rolled_back.push(
            "files generated beside fly.toml (`[[files]] local_path`) are deployed as they are now, not as they were"
                .to_owned(),
        );
    }
    let output = root.join(&entry.output);
    let dir = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let config_path = std::path::absolute(root.join(&copy)).unwrap_or_else(|_| root.join(&copy));
    let mut command = vec![
        "deploy".to_owned(),
        "--config".to_owned(),
        config_path.display().to_string(),
        "--app".to_owned(),
        app.clone(),
        "--image".to_owned(),
        image.clone(),
    ];
    command.extend(options.deploy_args.iter().cloned());
    Ok(RollbackPlan {
        workload,
        app,
        from: current.version,
        to: target.version,
        image,
        config: crate::fsutil::shown(&config_path),
        not_rolled_back,
        secrets_changed,
        command,
        dir,
        config_text,
        target_release: target.clone(),
        current_secrets,
    })
}

/// Deploys the plan's release again and records the new release.
pub fn rollback(
    project: &Project,
    state: &mut State,
    target: &FlyTarget,
    plan: RollbackPlan,
    reporter: &dyn Reporter,
) -> Result<RollbackReport, Error> {
    let flyctl = Flyctl::for_target(target).map_err(|e| Error::Unavailable(vec![e.to_string()]))?;
    let redactor = Redactor::for_state(state);
    reporter.event(Event::Releases(ReleasesEvent::RollingBack {
        app: &plan.app,
        from: plan.from,
        to: plan.to,
        image: &plan.image,
    }));
    let args: Vec<&str> = plan.command.iter().map(String::as_str).collect();
    let run = flyctl
        .command(&args)
        .current_dir(&plan.dir)
        .redact(&redactor)
        .run(&mut |line| reporter.event(Event::Releases(ReleasesEvent::Flyctl { line })));
    if let Err(e) = run {
        if matches!(&e, FlyctlError::Failed { tail, .. } if tail.iter().any(|l| l.contains("could not find image"))) {
            return Err(ReleasesError::ImageGone {
                workload: plan.workload.clone(),
                version: plan.to,
                image: plan.image.clone(),
            }
            .into());
        }
        return Err(ReleasesError::Flyctl {
            what: format!("deploying release {} of app `{}`", plan.to, plan.app),
            source: e,
        }
        .into());
    }
    if let Some(d) = state.deployments.get_mut(&plan.app) {
        d.image = Some(plan.image.clone());
        d.deployed = true;
    }
    let deployed = Deployed {
        workload: &plan.workload,
        app: &plan.app,
        image: Some(&plan.image),
        image_digest: None,
        fly_toml: &plan.config_text,
        secrets_text: None,
        secrets_digest: plan.current_secrets.clone(),
        score_sha256: plan.target_release.score_sha256.clone(),
        rollback_of: Some(plan.to),
    };
    let version = record(project, state, &flyctl, &deployed, &redactor)?;
    reporter.event(Event::Releases(ReleasesEvent::Recorded { workload: &plan.workload, version }));
    Ok(RollbackReport { schema_version: SCHEMA_VERSION, kind: "rollback", plan, version })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn the_secrets_digest_depends_on_key_app_and_text() {
        let a = secrets_digest("k1", "demo-a", "K=v\n");
        assert_eq!(a.len(), 64);
        assert_ne!(a, secrets_digest("k2", "demo-a", "K=v\n"), "another project's key, another digest");
        assert_ne!(a, secrets_digest("k1", "demo-b", "K=v\n"));
        assert_ne!(a, secrets_digest("k1", "demo-a", "K=w\n"));
        assert_eq!(a, secrets_digest("k1", "demo-a", "K=v\n"));
        assert_ne!(a, sha256(b"demo-a\0K=v\n"), "not a plain hash");
    }

    #[test]
    fn a_digest_is_read_only_from_a_digest_reference() {
        let hex = "a".repeat(64);
        assert_eq!(reference_digest(&format!("registry.fly.io/app@sha256:{hex}")), Some(format!("sha256:{hex}")));
        assert_eq!(reference_digest("registry.fly.io/app:v1"), None);
        assert_eq!(reference_digest("registry.fly.io/app@sha256:abc"), None);
    }

    /// A flyctl whose `releases --json` answers the number in `counter`, then increments it.
    fn counting_flyctl(dir: &Path) -> Flyctl {
        use std::os::unix::fs::PermissionsExt as _;
        let script = dir.join("fly");
        let counter = dir.join("counter");
        std::fs::write(&counter, "1").unwrap();
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nn=$(cat {c})\nprintf '[{{\"Version\": %s, \"ImageRef\": \"x\"}}]\\n' \"$n\"\necho $((n + 1)) > {c}\n",
                c = counter.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Flyctl::at(script)
    }

    #[test]
    fn only_the_last_releases_are_kept_with_their_fly_toml_copies() {
        let root = tempfile::tempdir().unwrap();
        let tools = tempfile::tempdir().unwrap();
        let flyctl = counting_flyctl(tools.path());
        let project = Project::open(
            root.path(),
            crate::state::LockWait { timeout: std::time::Duration::from_secs(5) },
            &mut |_| {},
        )
        .unwrap();
        let mut state = State::new("demo-");
        let spec = crate::spec::load_str(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n",
        )
        .unwrap()
        .workload;
        state.workloads.insert("api".to_owned(), WorkloadEntry::new("score.yaml", "fly.toml", spec));
        let total = limits::MAX_RELEASES + 3;
        for n in 1..=total {
            let text = format!("app = \"demo-api\"\n# {n}\n");
            let d = Deployed {
                workload: "api",
                app: "demo-api",
                image: Some("registry.fly.io/demo-api:v1"),
                image_digest: None,
                fly_toml: &text,
                secrets_text: Some("TOKEN=x\n"),
                secrets_digest: None,
                score_sha256: None,
                rollback_of: None,
            };
            assert_eq!(record(&project, &mut state, &flyctl, &d, &Redactor::default()).unwrap(), n as u64);
        }
        let kept: Vec<u64> = state.workloads["api"].releases.iter().map(|r| r.version).collect();
        assert_eq!(kept, (4..=total as u64).collect::<Vec<_>>(), "the oldest went");
        assert!(!root.path().join(config_copy("api", 3)).exists(), "with its copy");
        let copy = std::fs::read_to_string(root.path().join(config_copy("api", 4))).unwrap();
        assert_eq!(sha256(copy.as_bytes()), state.workloads["api"].releases[0].config_sha256);
        let saved = project.load().unwrap().unwrap();
        assert_eq!(saved.workloads["api"].releases.len(), limits::MAX_RELEASES, "saved");
        assert!(saved.release_key.is_some());
        let gitignore = std::fs::read_to_string(root.path().join(".score-fly/.gitignore")).unwrap();
        assert!(gitignore.lines().any(|l| l == "releases/"), "{gitignore}");
    }

    #[test]
    fn release_keys_are_random_and_kept() {
        let mut state = State::new("demo-");
        let key = release_key(&mut state).unwrap();
        assert_eq!(key.len(), 64);
        assert_eq!(release_key(&mut state).unwrap(), key, "made once");
        assert_ne!(release_key(&mut State::new("demo-")).unwrap(), key);
    }
}
