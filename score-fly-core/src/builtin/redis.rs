//! `redis`: an Upstash Redis database on Fly (`fly redis create`), reachable from every app
//! of the organisation over its private network.
//!
//! - Name: `<prefix>redis-<id>-<hash>` ([`fly_name`]).
//! - Adoption: when `fly redis status NAME` succeeds, the database is adopted and its
//!   `Private URL` read; otherwise it is created with `fly redis create -n NAME -o ORG -r
//!   REGION --no-replicas --disable-eviction [--plan P]` and the `redis://` URL it prints is
//!   read (from the captured output; what is shown is masked). Upstash keeps the password,
//!   so nothing needs rotating after `.score-fly/` is lost.
//! - Params: `plan` (an Upstash plan, `fly redis plans`), `eviction` (`true` to enable it;
//!   off by default, as for a store rather than a cache), `region`.
//! - Outputs: values `host`, `port`, `username`; secrets `password` and `url` (the whole
//!   `redis://user:password@host:port` URL, since clients usually take one).
//! - Deprovision: `fly redis destroy NAME -y` (a database already gone is fine).

use super::{BuiltinError, Call, RedisUrlError, fly_name, is_not_found};
use crate::flyio::cli::FlyctlError;
use crate::provision::protocol::Request;
use crate::provision::protocol::Response;

/// `redis` provision.
pub(super) fn provision(call: &Call<'_>) -> Result<Response, BuiltinError> {
    let name = db_name(call);
    let uid = || call.request.resource_uid.clone();
    // A probe: its output (the database's details, or "Could not find") is not shown.
    let url = match call.fly_showing(&["redis", "status", &name], &|_| false) {
        Ok(out) => {
            call.say(&format!("using the existing Upstash Redis database {name}"));
            find_url(&out.stdout).ok_or_else(|| BuiltinError::RedisStatusNoUrl { name: name.clone(), uid: uid() })?
        }
        Err(status_error) => create(call, &name, status_error)?,
    };
    let parsed =
        RedisUrl::parse(&url).map_err(|source| BuiltinError::RedisUrl { name: name.clone(), uid: uid(), source })?;
    call.cx.redactor.add([parsed.password.as_str(), url.as_str()]);
    let values = serde_json::json!({ "host": parsed.host, "port": parsed.port, "username": parsed.username });
    let secrets = serde_json::json!({ "password": parsed.password, "url": url });
    Ok(Response {
        state: serde_json::json!({ "name": name }).as_object().cloned(),
        values: values.as_object().cloned().unwrap_or_default(),
        secrets: secrets.as_object().cloned().unwrap_or_default(),
        shared: None,
    })
}

/// The database's name: the one in the state (what was made), else the derived one.
fn db_name(call: &Call<'_>) -> String {
    call.state_str("name").unwrap_or_else(|| derived_name(&call.env.app_prefix, call.request))
}

/// The name this builtin derives for a resource's database (see [`super::derived_name`]).
pub(super) fn derived_name(prefix: &str, request: &Request) -> String {
    fly_name(prefix, "redis", request, 63)
}

/// Creates the database; returns its URL.
fn create(call: &Call<'_>, name: &str, status_error: FlyctlError) -> Result<String, BuiltinError> {
    let region = call.region()?;
    let org = call.env.org();
    let plan = call.param("plan");
    let eviction = match call.request.resource_params.get("eviction") {
        None | Some(serde_json::Value::Null | serde_json::Value::Bool(false)) => "--disable-eviction",
        Some(serde_json::Value::Bool(true)) => "--enable-eviction",
        Some(_) => {
            return Err(BuiltinError::NotBool { uid: call.request.resource_uid.clone(), param: "eviction" });
        }
    };
    call.say(&format!("no Upstash Redis database {name} yet: creating it in {region} (org {org})"));
    let mut args = vec!["redis", "create", "-n", name, "-o", &org, "-r", &region, "--no-replicas", eviction];
    if let Some(plan) = &plan {
        args.extend(["--plan", plan]);
    }
    let out = call.fly(&args).map_err(|create| BuiltinError::RedisCreate {
        name: name.to_owned(),
        create: Box::new(create),
        status: Box::new(status_error),
    })?;
    if let Some(url) = find_url(&out.stdout) {
        return Ok(url);
    }
    // Not in what `create` printed (another flyctl version?): ask again.
    let out = call.fly(&["redis", "status", name])?;
    find_url(&out.stdout).ok_or_else(|| BuiltinError::RedisCreatedNoUrl {
        name: name.to_owned(),
        uid: call.request.resource_uid.clone(),
    })
}

/// `redis` deprovision.
pub(super) fn deprovision(call: &Call<'_>) -> Result<Option<Response>, BuiltinError> {
    let name = db_name(call);
    match call.fly(&["redis", "destroy", &name, "-y"]) {
        Ok(_) => call.say(&format!("destroyed Upstash Redis database {name}")),
        Err(e) if is_not_found(&e) => call.say(&format!("Redis database {name} does not exist; nothing to destroy")),
        Err(e) => return Err(e.into()),
    }
    Ok(None)
}

/// The first `redis://` or `rediss://` URL in flyctl's output.
pub fn find_url(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with("redis://") || w.starts_with("rediss://"))
        .map(|w| w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric() && c != '/').to_owned())
}

/// The parts of a Redis URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// Host name.
    pub host: String,
    /// Port (6379 when absent).
    pub port: u16,
    /// User (`default` when absent).
    pub username: String,
    /// Password (percent-decoded).
    pub password: String,
}

impl RedisUrl {
    /// Parses `redis[s]://[user]:password@host[:port][/db]`. Errors never quote the URL.
    pub fn parse(url: &str) -> Result<RedisUrl, RedisUrlError> {
        let rest =
            url.strip_prefix("redis://").or_else(|| url.strip_prefix("rediss://")).ok_or(RedisUrlError::Scheme)?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let (userinfo, hostport) = authority.rsplit_once('@').ok_or(RedisUrlError::NoCredentials)?;
        let (user, password) = userinfo.split_once(':').ok_or(RedisUrlError::NoPassword)?;
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| RedisUrlError::Port)?),
            None => (hostport, 6379),
        };
        if host.is_empty() {
            return Err(RedisUrlError::NoHost);
        }
        let password = percent_decode(password);
        if password.is_empty() {
            return Err(RedisUrlError::EmptyPassword);
        }
        let user = percent_decode(user);
        Ok(RedisUrl {
            host: host.to_owned(),
            port,
            username: if user.is_empty() { "default".to_owned() } else { user },
            password,
        })
    }
}

fn percent_decode(text: &str) -> String {
    crate::encoding::percent_decode(text, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_found_in_flyctl_output() {
        let create = "Your Upstash Redis database x is ready.\nApps in the personal org can connect to Redis at redis://default:abc@fly-x.upstash.io:6379\nIf you have redis-cli installed...\n";
        assert_eq!(find_url(create).as_deref(), Some("redis://default:abc@fly-x.upstash.io:6379"));
        let status = "Redis\n  Private URL    = redis://default:abc@fly-x.upstash.io:6379\n";
        assert_eq!(find_url(status).as_deref(), Some("redis://default:abc@fly-x.upstash.io:6379"));
        assert_eq!(find_url("at redis://default:abc@h:6379."), Some("redis://default:abc@h:6379".to_owned()));
        assert_eq!(find_url("nothing here"), None);
    }

    #[test]
    fn urls_are_parsed() {
        let url = RedisUrl::parse("redis://default:s3cr3t@fly-x.upstash.io:6379").unwrap();
        assert_eq!(
            url,
            RedisUrl {
                host: "fly-x.upstash.io".into(),
                port: 6379,
                username: "default".into(),
                password: "s3cr3t".into()
            }
        );
        let url = RedisUrl::parse("rediss://:p%40ss@h/0").unwrap();
        assert_eq!((url.username.as_str(), url.password.as_str(), url.port), ("default", "p@ss", 6379));
        for (bad, error, why) in [
            ("http://a:b@h", RedisUrlError::Scheme, "is not a redis:// URL"),
            ("redis://h:6379", RedisUrlError::NoCredentials, "has no credentials"),
            ("redis://user@h", RedisUrlError::NoPassword, "has no password"),
            ("redis://a:b@h:port", RedisUrlError::Port, "has an invalid port"),
            ("redis://a:b@:1", RedisUrlError::NoHost, "has no host"),
            ("redis://a:@h", RedisUrlError::EmptyPassword, "has an empty password"),
        ] {
            let e = RedisUrl::parse(bad).unwrap_err();
            assert_eq!((e, e.to_string().as_str()), (error, why), "{bad}");
        }
        // Errors never quote the URL.
        assert!(!RedisUrl::parse("redis://a:topsecret@h:x").unwrap_err().to_string().contains("topsecret"));
    }
}
