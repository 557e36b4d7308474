//! The Fly target: where and how score-fly reaches Fly (flyctl, the Machines API and its
//! token, the image registry, the organisation, the default region, the app prefix, the base
//! image), resolved once and handed to `build`, `generate`, `deploy` and the builtin
//! provisioners.
//!
//! This is **the** place the Fly environment variables are read ([`FlyTarget::from_env`],
//! [`FlyTarget::from_lookup`]): `FLY_BIN`, `FLY_FLAPS_BASE_URL`, `FLY_ACCESS_TOKEN`/
//! `FLY_API_TOKEN`, `FLY_REGISTRY_HOST`, `FLY_ORG`, `FLY_REGION`/`FLY_REGION_NAME`. It is also
//! where the app-name rule ([`app_name`]) and the image-reference rule
//! ([`FlyTarget::image_ref`]) live. The CLI lays its flags and cargo settings over the
//! environment's values (flags > package metadata > workspace metadata > environment >
//! defaults); this module knows only the last two layers.
//!
//! It imports nothing but [`crate::secret`], so the conversion, the Fly clients, the image
//! code and the builtins can all use it without a cycle.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::secret::Secret;

/// The Machines API when `FLY_FLAPS_BASE_URL` is unset (the variable flyctl reads).
pub const DEFAULT_API_BASE_URL: &str = "https://api.machines.dev";
/// Fly's image registry, when `FLY_REGISTRY_HOST` is unset.
pub const DEFAULT_REGISTRY_HOST: &str = "registry.fly.io";
/// The Fly organisation when nothing says otherwise.
pub const DEFAULT_ORG: &str = "personal";
/// The image a binary is layered on when nothing says otherwise.
pub const DEFAULT_BASE_IMAGE: &str = "gcr.io/distroless/cc-debian12";
/// The variables flyctl reads its token from, in its order.
pub const TOKEN_VARS: [&str; 2] = ["FLY_ACCESS_TOKEN", "FLY_API_TOKEN"];
/// The variables naming the region for new things (`FLY_REGION_NAME`: score-flyio's).
pub const REGION_VARS: [&str; 2] = ["FLY_REGION", "FLY_REGION_NAME"];

/// Fly app names are at most this long.
pub const MAX_APP_NAME: usize = 63;

/// App prefixes are at most this long (room is left for the workload's name).
pub const MAX_PREFIX: usize = 40;

/// The Fly app of a workload: `<prefix><workload name>`. The one place this rule lives:
/// the conversion, `build`, `deploy` and the builtin provisioners all name apps through it.
pub fn app_name(prefix: &str, workload: &str) -> String {
    format!("{prefix}{workload}")
}

/// Where score-fly deploys, resolved once. Its `Debug` shows the token as `<redacted>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlyTarget {
    /// flyctl (`FLY_BIN`); `None`: `fly`, else `flyctl`, on `PATH`.
    pub flyctl: Option<PathBuf>,
    /// The Machines API (`FLY_FLAPS_BASE_URL`, else [`DEFAULT_API_BASE_URL`]).
    pub api_base_url: String,
    /// The Fly token (`FLY_ACCESS_TOKEN`, then `FLY_API_TOKEN`), trimmed; `None` when unset.
    pub token: Option<Secret>,
    /// The image registry host (`FLY_REGISTRY_HOST`, else [`DEFAULT_REGISTRY_HOST`]).
    pub registry_host: String,
    /// The organisation apps and resources are created in (`FLY_ORG`, else [`DEFAULT_ORG`]).
    pub org: String,
    /// The region for new things when a workload and a resource say none (`FLY_REGION`,
    /// then `FLY_REGION_NAME`).
    pub region: Option<String>,
    /// The project's app prefix.
    pub app_prefix: String,
    /// The image binaries are layered on ([`DEFAULT_BASE_IMAGE`]).
    pub base_image: String,
}

impl Default for FlyTarget {
    /// The defaults alone, as if no variable were set.
    fn default() -> Self {
        FlyTarget::from_lookup(&|_| None)
    }
}

impl FlyTarget {
    /// Whether the token holds a macaroon token, which `fly mpg` requires (fly-2026.md §1.2):
    /// one of its comma-separated tokens, after an optional `FlyV1 `/`Bearer `, has the prefix
    /// `fm1r`, `fm1a` or `fm2` before its first `_`. `false` without a token.
    pub fn has_macaroon(&self) -> bool {
        self.token.as_ref().is_some_and(|t| is_macaroon(t.expose()))
    }

    /// The target the process environment describes (over the defaults).
    pub fn from_env() -> FlyTarget {
        FlyTarget::from_lookup(&|name| std::env::var_os(name))
    }

    /// The target the variables `var` answers describe (over the defaults). An empty
    /// variable counts as unset; a variable that is not UTF-8 too, except `FLY_BIN` (a path).
    pub fn from_lookup(var: &dyn Fn(&str) -> Option<OsString>) -> FlyTarget {
        let text = |name: &str| var(name).and_then(|v| v.into_string().ok()).filter(|v| !v.trim().is_empty());
        FlyTarget {
            flyctl: var("FLY_BIN").filter(|b| !b.is_empty()).map(PathBuf::from),
            api_base_url: text("FLY_FLAPS_BASE_URL").unwrap_or_else(|| DEFAULT_API_BASE_URL.to_owned()),
            token: TOKEN_VARS.iter().find_map(|v| text(v)).map(|t| Secret::new(t.trim())),
            registry_host: text("FLY_REGISTRY_HOST").unwrap_or_else(|| DEFAULT_REGISTRY_HOST.to_owned()),
            org: text("FLY_ORG").unwrap_or_else(|| DEFAULT_ORG.to_owned()),
            region: REGION_VARS.iter().find_map(|v| text(v)),
            app_prefix: String::new(),
            base_image: DEFAULT_BASE_IMAGE.to_owned(),
        }
    }

    /// This target with the project's app prefix.
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> FlyTarget {
        prefix.clone_into(&mut self.app_prefix);
        self
    }

    /// The Fly app of a workload ([`app_name`] with this target's prefix).
    pub fn app(&self, workload: &str) -> String {
        app_name(&self.app_prefix, workload)
    }

    /// The repository of an app's images: `<registry host>/<app>`.
    pub fn image_repository(&self, app: &str) -> String {
        format!("{}/{app}", self.registry_host)
    }

    /// The reference of an app's image with `tag`: `<registry host>/<app>:<tag>`.
    pub fn image_ref(&self, app: &str, tag: &str) -> String {
        format!("{}:{tag}", self.image_repository(app))
    }

    /// The token as the registry's password: without its `FlyV1 `/`Bearer ` scheme.
    pub fn registry_password(&self) -> Option<Secret> {
        let token = self.token.as_ref()?.expose();
        let bare = token.strip_prefix("FlyV1 ").or_else(|| token.strip_prefix("Bearer ")).unwrap_or(token);
        Some(Secret::new(bare.trim()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::ffi::OsString;

    use super::*;

    fn target(vars: &[(&str, &str)]) -> FlyTarget {
        let vars: BTreeMap<String, OsString> = vars.iter().map(|(k, v)| ((*k).to_owned(), OsString::from(v))).collect();
        FlyTarget::from_lookup(&|name| vars.get(name).cloned())
    }

    #[test]
    fn without_variables_the_defaults_apply() {
        let t = target(&[]);
        assert_eq!(t, FlyTarget::default());
        assert_eq!(t.flyctl, None);
        assert_eq!(t.api_base_url, DEFAULT_API_BASE_URL);
        assert_eq!(t.token, None);
        assert_eq!(t.registry_host, "registry.fly.io");
        assert_eq!(t.org, "personal");
        assert_eq!(t.region, None);
        assert_eq!(t.base_image, DEFAULT_BASE_IMAGE);
    }

    #[test]
    fn every_variable_is_read_here_and_empty_ones_count_as_unset() {
        let t = target(&[
            ("FLY_BIN", "/opt/fly"),
            ("FLY_FLAPS_BASE_URL", "http://127.0.0.1:1"),
            ("FLY_API_TOKEN", " fm2_abc \n"),
            ("FLY_REGISTRY_HOST", "127.0.0.1:5000"),
            ("FLY_ORG", "acme"),
            ("FLY_REGION_NAME", "ams"),
        ]);
        assert_eq!(t.flyctl.as_deref(), Some(std::path::Path::new("/opt/fly")));
        assert_eq!(t.api_base_url, "http://127.0.0.1:1");
        assert_eq!(t.token.as_ref().map(Secret::expose), Some("fm2_abc"));
        assert_eq!(t.registry_host, "127.0.0.1:5000");
        assert_eq!((t.org.as_str(), t.region.as_deref()), ("acme", Some("ams")));
        let empty = target(&[("FLY_BIN", ""), ("FLY_REGISTRY_HOST", ""), ("FLY_ORG", " "), ("FLY_ACCESS_TOKEN", "")]);
        assert_eq!(empty, FlyTarget::default());
    }

    #[test]
    fn flyctls_order_of_token_variables_and_region_variables() {
        let t = target(&[("FLY_ACCESS_TOKEN", "first"), ("FLY_API_TOKEN", "second")]);
        assert_eq!(t.token.map(|s| s.expose().to_owned()).as_deref(), Some("first"));
        let t = target(&[("FLY_REGION", "fra"), ("FLY_REGION_NAME", "ams")]);
        assert_eq!(t.region.as_deref(), Some("fra"));
    }

    #[test]
    fn apps_and_image_references_follow_the_prefix_and_the_registry_host() {
        let t = target(&[("FLY_REGISTRY_HOST", "localhost:5000")]).with_prefix("acme-");
        assert_eq!(t.app("api"), "acme-api");
        assert_eq!(t.app("api"), app_name("acme-", "api"));
        assert_eq!(t.image_ref(&t.app("api"), "sf-1"), "localhost:5000/acme-api:sf-1");
        assert_eq!(FlyTarget::default().image_ref("x", "v1"), "registry.fly.io/x:v1");
    }

    #[test]
    fn the_token_never_shows_and_loses_its_scheme_for_the_registry() {
        let t = target(&[("FLY_API_TOKEN", "FlyV1 fm2_secret-token")]);
        assert!(!format!("{t:?}").contains("fm2_secret-token"), "{t:?}");
        assert_eq!(t.registry_password().map(|s| s.expose().to_owned()).as_deref(), Some("fm2_secret-token"));
        let bearer = target(&[("FLY_API_TOKEN", "Bearer abc")]);
        assert_eq!(bearer.registry_password().map(|s| s.expose().to_owned()).as_deref(), Some("abc"));
    }
}

/// Whether a token text (possibly a comma-separated list) holds a macaroon
/// ([`FlyTarget::has_macaroon`]).
fn is_macaroon(text: &str) -> bool {
    text.split(',').any(|token| {
        let token = token.trim();
        let token = token.strip_prefix("FlyV1 ").or_else(|| token.strip_prefix("Bearer ")).unwrap_or(token);
        token.split_once('_').is_some_and(|(prefix, _)| matches!(prefix, "fm1r" | "fm1a" | "fm2"))
    })
}

#[cfg(test)]
mod macaroon_tests {
    #[test]
    fn macaroons_are_told_from_older_tokens_as_fly_go_does() {
        for yes in ["fm2_abc", "FlyV1 fm2_abc", "Bearer fm1a_x", "fo1_old, fm1r_new", " fm2_x "] {
            assert!(super::is_macaroon(yes), "{yes}");
        }
        for no in ["fo1_abc", "FlyV1 fo1_x", "fm2", "xfm2_a", "", "fm3_a"] {
            assert!(!super::is_macaroon(no), "{no}");
        }
    }
}
