//! A client of Fly's Machines API, for what flyctl has no scriptable command for: whether an
//! app exists (and who owns it), an app's machines and volumes, and running a command in a
//! machine (`exec`).
//!
//! Base URL and token come from a [`FlyTarget`] (`FLY_FLAPS_BASE_URL`, the variable flyctl
//! reads, else `https://api.machines.dev`; `FLY_ACCESS_TOKEN` then `FLY_API_TOKEN`); paths
//! are `/v1/...`; macaroon tokens (`fm1r_`, `fm1a_`, `fm2_`) are sent as
//! `FlyV1 <token>`, others as `Bearer <token>`, as flyctl does. Rate limits (429) and 5xx
//! answers are retried with backoff.

use std::time::Duration;

use serde::Deserialize;

use crate::secret::Secret;
use crate::target::FlyTarget;

/// Fly's Machines API.
pub const DEFAULT_BASE_URL: &str = crate::target::DEFAULT_API_BASE_URL;

/// How much of an error body is quoted.
const QUOTE_LIMIT: usize = 600;

/// A Machines API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token in the environment.
    #[error(
        "the Fly Machines API needs a token: set FLY_API_TOKEN (in CI: a deploy token from `fly tokens create deploy`; locally: `export FLY_API_TOKEN=$(fly auth token)`)"
    )]
    NoToken,
    /// The API refused the token.
    #[error("{what}: the Fly API refused the token ({status}{detail}); check FLY_API_TOKEN and its organisation")]
    Unauthorized {
        /// What was attempted.
        what: String,
        /// 401 or 403.
        status: u16,
        /// The API's message (quoted).
        detail: String,
    },
    /// Another failure.
    #[error("{what}: {detail}")]
    Failed {
        /// What was attempted.
        what: String,
        /// Why (status and the API's message).
        detail: String,
    },
}

/// Whether an app name is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppLookup {
    /// It exists and the token can see it.
    Exists {
        /// Its organisation slug, when the API says.
        org: Option<String>,
    },
    /// Nobody has it.
    Missing,
    /// It exists but belongs to an organisation the token cannot reach.
    TakenElsewhere,
}

/// A machine of an app.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Machine {
    /// Its id.
    pub id: String,
    /// `started`, `stopped`, ...
    #[serde(default)]
    pub state: String,
    /// Its region.
    #[serde(default)]
    pub region: String,
}

/// A volume of an app.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Volume {
    /// Its id.
    pub id: String,
    /// Its name (what `[[mounts]] source` names).
    pub name: String,
    /// Its region.
    #[serde(default)]
    pub region: String,
    /// Size in GB.
    #[serde(default)]
    pub size_gb: u64,
    /// `created`, `destroyed`, ...
    #[serde(default)]
    pub state: String,
}

/// What `exec` returned.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExecOutput {
    /// Exit code (0 = success).
    #[serde(default)]
    pub exit_code: i64,
    /// Standard output.
    #[serde(default)]
    pub stdout: String,
    /// Standard error.
    #[serde(default)]
    pub stderr: String,
}

/// A Machines API client.
#[derive(Debug)]
pub struct MachinesApi {
    agent: ureq::Agent,
    base: String,
    authorization: Secret,
    backoff: Duration,
    retries: u32,
}

impl MachinesApi {
    /// A client from the environment (`FLY_FLAPS_BASE_URL`, the token variables), as
    /// [`FlyTarget::from_env`] reads it.
    pub fn from_env() -> Result<MachinesApi, ApiError> {
        MachinesApi::for_target(&FlyTarget::from_env())
    }

    /// A client of the target's Machines API with its token.
    pub fn for_target(target: &FlyTarget) -> Result<MachinesApi, ApiError> {
        let token = target.token.as_ref().ok_or(ApiError::NoToken)?;
        Ok(MachinesApi::new(&target.api_base_url, token))
    }

    /// A client of `base` with `token`.
    pub fn new(base: &str, token: &Secret) -> MachinesApi {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(90)))
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        MachinesApi {
            agent: ureq::Agent::new_with_config(config),
            base: base.trim_end_matches('/').to_owned(),
            authorization: Secret::new(authorization(token.expose())),
            backoff: Duration::from_millis(500),
            retries: 4,
        }
    }

    /// Shortens the pause between retries (tests).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Duration) -> MachinesApi {
        self.backoff = backoff;
        self
    }

    /// `GET /v1/apps/{app}`: 200 exists, 404 free, 403 someone else's.
    pub fn app(&self, app: &str) -> Result<AppLookup, ApiError> {
        let what = format!("looking up Fly app `{app}`");
        let (status, body) = self.call(&what, "GET", &format!("/v1/apps/{app}"), None)?;
        match status {
            200..=299 => {
                let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let org = value["organization"]["slug"].as_str().map(str::to_owned);
                Ok(AppLookup::Exists { org })
            }
            404 => Ok(AppLookup::Missing),
            403 => Ok(AppLookup::TakenElsewhere),
            _ => Err(self.error(what, status, &body)),
        }
    }

    /// `DELETE /v1/apps/{app}` (a missing app is fine).
    pub fn delete_app(&self, app: &str) -> Result<(), ApiError> {
        let what = format!("deleting Fly app `{app}`");
        let (status, body) = self.call(&what, "DELETE", &format!("/v1/apps/{app}"), None)?;
        match status {
            200..=299 | 404 => Ok(()),
            _ => Err(self.error(what, status, &body)),
        }
    }

    /// `GET /v1/apps/{app}/machines`.
    pub fn machines(&self, app: &str) -> Result<Vec<Machine>, ApiError> {
        let what = format!("listing the machines of Fly app `{app}`");
        self.get_json(&what, &format!("/v1/apps/{app}/machines"))
    }

    /// `GET /v1/apps/{app}/volumes`.
    pub fn volumes(&self, app: &str) -> Result<Vec<Volume>, ApiError> {
        let what = format!("listing the volumes of Fly app `{app}`");
        self.get_json(&what, &format!("/v1/apps/{app}/volumes"))
    }

    /// `POST /v1/apps/{app}/machines/{id}/exec`: runs `command` in the machine.
    pub fn exec(&self, app: &str, machine: &str, command: &[String], timeout: u32) -> Result<ExecOutput, ApiError> {
        let what = format!("running a command in machine {machine} of Fly app `{app}`");
        let body = serde_json::json!({ "command": command, "timeout": timeout });
        let (status, reply) = self.call(
            &what,
            "POST",
            &format!("/v1/apps/{app}/machines/{machine}/exec"),
            Some(&serde_json::to_vec(&body).expect("json")),
        )?;
        if !(200..=299).contains(&status) {
            return Err(self.error(what, status, &reply));
        }
        serde_json::from_slice(&reply)
            .map_err(|e| ApiError::Failed { what, detail: format!("the answer is not an exec result: {e}") })
    }

    fn get_json<T: for<'de> Deserialize<'de>>(&self, what: &str, path: &str) -> Result<T, ApiError> {
        let (status, body) = self.call(what, "GET", path, None)?;
        if !(200..=299).contains(&status) {
            return Err(self.error(what.to_owned(), status, &body));
        }
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::Failed { what: what.to_owned(), detail: format!("unexpected answer: {e}") })
    }

    /// An error answer; what it quotes of the body never shows the token.
    fn error(&self, what: String, status: u16, body: &[u8]) -> ApiError {
        let redactor = crate::secret::Redactor::default();
        redactor.add_token(self.authorization.expose());
        let detail = redactor.redact(&api_message(body));
        if status == 401 || (status == 403 && detail.contains("token")) {
            return ApiError::Unauthorized {
                what,
                status,
                detail: if detail.is_empty() { detail } else { format!(": {detail}") },
            };
        }
        ApiError::Failed {
            what,
            detail: if detail.is_empty() {
                format!("the API answered {status}")
            } else {
                format!("the API answered {status}: {detail}")
            },
        }
    }

    /// One request, retried on connection errors, 429 and 5xx.
    fn call(&self, what: &str, method: &str, path: &str, body: Option<&[u8]>) -> Result<(u16, Vec<u8>), ApiError> {
        let url = format!("{}{path}", self.base);
        let mut backoff = self.backoff;
        let mut attempt = 0;
        loop {
            let mut request = ureq::http::Request::builder()
                .method(method)
                .uri(&url)
                .header("Authorization", self.authorization.expose())
                .header("Accept", "application/json");
            if body.is_some() {
                request = request.header("Content-Type", "application/json");
            }
            let sent = match body {
                Some(bytes) => request.body(bytes.to_vec()).map(|r| self.agent.run(r)),
                None => request.body(()).map(|r| self.agent.run(r)),
            };
            let sent =
                sent.map_err(|e| ApiError::Failed { what: what.to_owned(), detail: format!("invalid request: {e}") })?;
            let retry_why = match sent {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let bytes =
                        response.body_mut().with_config().limit(16 * 1024 * 1024).read_to_vec().unwrap_or_default();
                    if status == 429 || (500..=599).contains(&status) {
                        format!("the API answered {status}{}", prefixed(&api_message(&bytes)))
                    } else {
                        return Ok((status, bytes));
                    }
                }
                Err(e) => format!("cannot reach {}: {e}", self.base),
            };
            if attempt >= self.retries {
                return Err(ApiError::Failed {
                    what: what.to_owned(),
                    detail: format!("{retry_why} (after {} attempts)", attempt + 1),
                });
            }
            std::thread::sleep(backoff);
            backoff *= 2;
            attempt += 1;
        }
    }
}

fn prefixed(detail: &str) -> String {
    if detail.is_empty() { String::new() } else { format!(": {detail}") }
}

/// `FlyV1 <token>` for macaroons, `Bearer <token>` otherwise; a prefix already there is kept.
pub fn authorization(token: &str) -> String {
    let token = token.trim();
    if token.starts_with("FlyV1 ") || token.starts_with("Bearer ") {
        return token.to_owned();
    }
    if ["fm1r_", "fm1a_", "fm2_"].iter().any(|p| token.starts_with(p)) {
        format!("FlyV1 {token}")
    } else {
        format!("Bearer {token}")
    }
}

/// The `error`/`message` of an API error body, else its text (shortened).
fn api_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let parts: Vec<&str> =
            ["error", "message"].iter().filter_map(|k| value[*k].as_str()).filter(|s| !s.is_empty()).collect();
        if !parts.is_empty() {
            return parts.join(": ");
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut end = text.len().min(QUOTE_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_quote_the_token() {
        let api = MachinesApi::new("http://127.0.0.1:9", &Secret::new("fm2_api-token,fm2_second"));
        for status in [400, 401] {
            let e = api.error(
                "looking up".to_owned(),
                status,
                br#"{"error":"token \"FlyV1 fm2_api-token,fm2_second\" refused (fm2_second)"}"#,
            );
            let text = e.to_string();
            assert!(!text.contains("fm2_"), "{text}");
            assert!(text.contains("token \"********\" refused (********)"), "{text}");
        }
    }

    #[test]
    fn macaroons_are_sent_as_flyv1() {
        assert_eq!(authorization("fm2_abc"), "FlyV1 fm2_abc");
        assert_eq!(authorization("fm1r_abc"), "FlyV1 fm1r_abc");
        assert_eq!(authorization("FlyV1 fm2_abc,fm2_def"), "FlyV1 fm2_abc,fm2_def");
        assert_eq!(authorization("plain"), "Bearer plain");
        assert_eq!(authorization("Bearer plain"), "Bearer plain");
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(api_message(br#"{"error":"not_found","message":"no app"}"#), "not_found: no app");
        assert_eq!(api_message(b"  oops \n"), "oops");
    }
}
