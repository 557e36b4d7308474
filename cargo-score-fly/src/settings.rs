//! Settings resolved once: flags > package metadata > workspace metadata > environment >
//! defaults, into one [`FlyTarget`] that `build`, `generate`, `deploy` and the builtin
//! provisioners all receive.
//!
//! The environment and the defaults are [`FlyTarget::from_env`]'s (the one place the Fly
//! variables are read); this module lays the cargo settings and the flags over them. Values
//! of the project (the app prefix, the organisation) must agree between the chosen packages;
//! values of a package (its base image, its workloads' primary region) are asked per package
//! ([`Settings::base_image_for`], [`Settings::region_for`]).
//!
//! | value | flag | package / workspace metadata | environment | default |
//! |---|---|---|---|---|
//! | app prefix | `--app-prefix` | `app-prefix` | | the project's ([`score_fly_core::ops::project::set_prefix`]) |
//! | organisation | `--org` | `org` | `FLY_ORG` | `personal` |
//! | default region | `--region` | `region` (workspace) | `FLY_REGION`, `FLY_REGION_NAME` | none |
//! | base image | `--base-image` | `base-image` | | `gcr.io/distroless/cc-debian12` |
//! | flyctl, API URL, token, registry | | | `FLY_BIN`, `FLY_FLAPS_BASE_URL`, `FLY_ACCESS_TOKEN`/`FLY_API_TOKEN`, `FLY_REGISTRY_HOST` | `fly` on `PATH`, `https://api.machines.dev`, none, `registry.fly.io` |

use std::collections::BTreeSet;

use score_fly_core::target::FlyTarget;

use crate::cargo;
use crate::failure::Failure;

/// The flags of a command that carry settings (each `None` when not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--app-prefix`.
    pub app_prefix: Option<String>,
    /// `--org`.
    pub org: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--base-image`.
    pub base_image: Option<String>,
}

/// The settings of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the run deploys. Its `app_prefix` is the one asked for (or empty) until the
    /// project is opened; then the project's ([`Settings::with_project_prefix`]).
    pub target: FlyTarget,
    /// The app prefix a flag or a setting asks for; `None`: keep the project's.
    pub asked_prefix: Option<String>,
    flags: Flags,
    workspace: cargo::Settings,
}

impl Settings {
    /// Resolves the settings of a run over `packages` (each one's own
    /// `[package.metadata.score-fly]`; none for Score files), `workspace`
    /// (`[workspace.metadata.score-fly]`) and `env` (the environment over the defaults,
    /// [`FlyTarget::from_env`]). The chosen packages must agree on the app prefix and the
    /// organisation: one project has one of each.
    pub fn resolve(
        flags: Flags,
        packages: &[&cargo::Settings],
        workspace: &cargo::Settings,
        env: FlyTarget,
    ) -> Result<Settings, Failure> {
        let effective: Vec<cargo::Settings> = packages.iter().map(|p| (*p).clone().or(workspace)).collect();
        let asked_prefix = asked_prefix(flags.app_prefix.as_ref(), &effective)?;
        let org = match &flags.org {
            Some(org) => Some(org.clone()),
            None => agreed_org(&effective)?.or_else(|| workspace.org.clone()),
        };
        let mut target = env.with_prefix(asked_prefix.as_deref().unwrap_or_default());
        if let Some(org) = org {
            target.org = org;
        }
        if let Some(region) = flags.region.clone().or_else(|| workspace.region.clone()) {
            target.region = Some(region);
        }
        if let Some(base) = flags.base_image.clone().or_else(|| workspace.base_image.clone()) {
            target.base_image = base;
        }
        Ok(Settings { target, asked_prefix, flags, workspace: workspace.clone() })
    }

    /// The settings of a run on Score files (no cargo metadata).
    pub fn from_flags(flags: Flags) -> Result<Settings, Failure> {
        Settings::resolve(flags, &[], &cargo::Settings::default(), FlyTarget::from_env())
    }

    /// Sets the target's app prefix to the project's, once [`score_fly_core::ops::project::set_prefix`]
    /// has decided it.
    pub fn with_project_prefix(&mut self, prefix: &str) {
        prefix.clone_into(&mut self.target.app_prefix);
    }

    /// The base image of a package (`package`: its own settings): the flag, its setting,
    /// the workspace's, the default.
    pub fn base_image_for(&self, package: &cargo::Settings) -> String {
        self.flags
            .base_image
            .clone()
            .or_else(|| package.base_image.clone())
            .unwrap_or_else(|| self.target.base_image.clone())
    }

    /// The primary region of a package's workload (`package`: its own settings), written to
    /// its fly.toml: the flag, its setting, the workspace's; never the environment's (the
    /// environment's region is only where builtins create things, [`FlyTarget::region`]).
    pub fn region_for(&self, package: &cargo::Settings) -> Option<String> {
        package_region(&self.flags, package, &self.workspace)
    }
}

/// The primary region of a package's workload: `--region`, the package's `region`, the
/// workspace's (see [`Settings::region_for`]).
pub fn package_region(flags: &Flags, package: &cargo::Settings, workspace: &cargo::Settings) -> Option<String> {
    flags.region.clone().or_else(|| package.region.clone()).or_else(|| workspace.region.clone())
}

/// The one organisation the packages' settings name, if any.
fn agreed_org(effective: &[cargo::Settings]) -> Result<Option<String>, Failure> {
    let orgs: BTreeSet<&String> = effective.iter().filter_map(|s| s.org.as_ref()).collect();
    if orgs.len() > 1 {
        return Err(Failure::Invalid(format!(
            "the chosen packages set different Fly organisations ({}); one project deploys to one: set `org` in [workspace.metadata.score-fly] or pass --org",
            orgs.into_iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(orgs.into_iter().next().cloned())
}

/// The app prefix a run asks for: the flag, else the one prefix the chosen packages' settings
/// agree on (one project has one prefix), else none.
fn asked_prefix<'s>(
    flag: Option<&String>,
    settings: impl IntoIterator<Item = &'s cargo::Settings>,
) -> Result<Option<String>, Failure> {
    if let Some(flag) = flag {
        return Ok(Some(flag.clone()));
    }
    let prefixes: BTreeSet<&String> = settings.into_iter().filter_map(|s| s.app_prefix.as_ref()).collect();
    match prefixes.len() {
        0 | 1 => Ok(prefixes.into_iter().next().cloned()),
        _ => Err(Failure::Invalid(format!(
            "the chosen packages set different app prefixes ({}); one project has one prefix: set it in [workspace.metadata.score-fly]",
            prefixes.into_iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::ffi::OsString;

    use score_fly_core::target::FlyTarget;

    use super::{Flags, Settings};
    use crate::cargo;

    fn env(vars: &[(&str, &str)]) -> FlyTarget {
        let vars: BTreeMap<String, OsString> = vars.iter().map(|(k, v)| ((*k).to_owned(), OsString::from(v))).collect();
        FlyTarget::from_lookup(&|name| vars.get(name).cloned())
    }

    fn layer(value: &str) -> cargo::Settings {
        cargo::Settings {
            app_prefix: Some(format!("{value}-")),
            org: Some(value.to_owned()),
            region: Some(value.to_owned()),
            base_image: Some(format!("{value}/base")),
            ..cargo::Settings::default()
        }
    }

    fn flags(value: &str) -> Flags {
        Flags {
            app_prefix: Some(format!("{value}-")),
            org: Some(value.to_owned()),
            region: Some(value.to_owned()),
            base_image: Some(format!("{value}/base")),
        }
    }

    /// (prefix asked, org, default region, base image of the package, primary region of
    /// the package's workload).
    fn resolved(
        flags: Flags,
        package: &cargo::Settings,
        workspace: &cargo::Settings,
        env: FlyTarget,
    ) -> (Option<String>, String, Option<String>, String, Option<String>) {
        let s = Settings::resolve(flags, &[package], workspace, env).expect("resolves");
        (
            s.asked_prefix.clone(),
            s.target.org.clone(),
            s.target.region.clone(),
            s.base_image_for(package),
            s.region_for(package),
        )
    }

    const ENV: &[(&str, &str)] = &[("FLY_ORG", "env"), ("FLY_REGION", "env")];

    #[test]
    fn a_flag_wins_over_everything() {
        let r = resolved(flags("flag"), &layer("pkg"), &layer("ws"), env(ENV));
        assert_eq!(
            r,
            (Some("flag-".into()), "flag".into(), Some("flag".into()), "flag/base".into(), Some("flag".into()))
        );
    }

    #[test]
    fn package_metadata_wins_over_workspace_metadata_and_the_environment() {
        let (prefix, org, _, base, region) = resolved(Flags::default(), &layer("pkg"), &layer("ws"), env(ENV));
        assert_eq!(
            (prefix.as_deref(), org.as_str(), base.as_str(), region.as_deref()),
            (Some("pkg-"), "pkg", "pkg/base", Some("pkg"))
        );
    }

    #[test]
    fn workspace_metadata_wins_over_the_environment() {
        let r = resolved(Flags::default(), &cargo::Settings::default(), &layer("ws"), env(ENV));
        assert_eq!(r, (Some("ws-".into()), "ws".into(), Some("ws".into()), "ws/base".into(), Some("ws".into())));
    }

    #[test]
    fn the_environment_wins_over_the_defaults() {
        let none = cargo::Settings::default();
        let r = resolved(Flags::default(), &none, &none, env(ENV));
        // The environment's region is where builtins create things, never a fly.toml's.
        assert_eq!(r, (None, "env".into(), Some("env".into()), FlyTarget::default().base_image, None));
    }

    #[test]
    fn without_anything_the_defaults_apply() {
        let none = cargo::Settings::default();
        let s = Settings::resolve(Flags::default(), &[&none], &none, env(&[])).unwrap();
        assert_eq!(s.asked_prefix, None);
        assert_eq!(s.target, FlyTarget::default());
        assert_eq!(s.target.org, "personal");
        assert_eq!(s.target.registry_host, "registry.fly.io");
    }

    #[test]
    fn the_registry_host_token_and_flyctl_come_from_the_environment_into_the_target() {
        let none = cargo::Settings::default();
        let vars = [("FLY_REGISTRY_HOST", "127.0.0.1:5000"), ("FLY_API_TOKEN", "t0k"), ("FLY_BIN", "/x/fly")];
        let mut s = Settings::resolve(flags("f"), &[&none], &none, env(&vars)).unwrap();
        s.with_project_prefix("proj-");
        assert_eq!(s.target.image_ref(&s.target.app("api"), "v1"), "127.0.0.1:5000/proj-api:v1");
        assert_eq!(s.target.token.as_ref().map(score_fly_core::secret::Secret::expose), Some("t0k"));
        assert_eq!(s.target.flyctl.as_deref(), Some(std::path::Path::new("/x/fly")));
    }

    #[test]
    fn packages_must_agree_on_the_prefix_and_the_organisation() {
        let ws = cargo::Settings::default();
        let e = Settings::resolve(Flags::default(), &[&layer("a"), &layer("b")], &ws, env(&[])).unwrap_err();
        assert!(matches!(&e, crate::failure::Failure::Invalid(m) if m.contains("different app prefixes")), "{e:?}");
        let orgs = |o: &str| cargo::Settings { org: Some(o.to_owned()), ..cargo::Settings::default() };
        let e = Settings::resolve(Flags::default(), &[&orgs("a"), &orgs("b")], &ws, env(&[])).unwrap_err();
        assert!(
            matches!(&e, crate::failure::Failure::Invalid(m) if m.contains("different Fly organisations")),
            "{e:?}"
        );
        // A flag settles it, as before.
        let s = Settings::resolve(flags("f"), &[&orgs("a"), &orgs("b")], &ws, env(&[])).unwrap();
        assert_eq!(s.target.org, "f");
    }
}
