//! A client of the OCI distribution API: what `build` needs to pull a base image and push
//! an image, with the registry's auth challenge (Basic, or a Bearer token from the realm it
//! names), bounded retries on connection errors and 5xx, chunked uploads, and blobs that
//! already exist (or can be mounted from another repository) never uploaded again.

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;

use super::oci;
use super::reference::Reference;
use crate::secret::Secret;

/// Upload chunk size.
pub const CHUNK: usize = 8 * 1024 * 1024;
/// Attempts per request on connection errors and 5xx.
pub const ATTEMPTS: u32 = 4;

/// What a mount request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// The blob is now in the repository.
    Mounted,
    /// Not mounted; the upload session the registry opened instead, if any.
    Refused(Option<String>),
}

/// Registry credentials (for Fly: user `x`, the Fly token).
#[derive(Debug, Clone)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: Secret,
}

/// A registry problem. Messages never contain credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The registry refused the credentials (or needs some).
    #[error("{host} refused {what}: {detail}")]
    Unauthorized {
        /// Registry host.
        host: String,
        /// What was attempted.
        what: String,
        /// What to do.
        detail: String,
    },
    /// The registry could not be reached.
    #[error("cannot reach {host} to {what} after {attempts} attempts: {detail}")]
    Unreachable {
        /// Registry host.
        host: String,
        /// What was attempted.
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        detail: String,
    },
    /// Any other failure.
    #[error("failed to {what} on {host}: {detail}")]
    Failed {
        /// Registry host.
        host: String,
        /// What was attempted.
        what: String,
        /// Why.
        detail: String,
    },
}

/// Why one HTTP exchange with a registry failed (before any status was read).
#[derive(Debug, thiserror::Error)]
enum SendError {
    /// The request could not be built (a header value HTTP cannot carry).
    #[error(transparent)]
    Request(ureq::http::Error),
    /// Connecting, sending or reading failed.
    #[error(transparent)]
    Transport(#[from] ureq::Error),
}

/// One registry host.
#[derive(Debug)]
pub struct Registry {
    agent: ureq::Agent,
    host: String,
    base: String,
    credentials: Option<Credentials>,
    /// The Authorization header that worked last (Basic or a Bearer token).
    authorization: Mutex<Option<String>>,
    backoff: Duration,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl Registry {
    /// A client for the registry of `reference`. Loopback registries are spoken to over
    /// plain HTTP, others over HTTPS.
    pub fn new(reference: &Reference, credentials: Option<Credentials>) -> Registry {
        let scheme = if reference.is_loopback() { "http" } else { "https" };
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_mins(1)))
            .http_status_as_error(false)
            .max_redirects(5)
            .build();
        Registry {
            agent: ureq::Agent::new_with_config(config),
            host: reference.host.clone(),
            base: format!("{scheme}://{}", reference.host),
            credentials,
            authorization: Mutex::new(None),
            backoff: Duration::from_millis(500),
        }
    }

    /// Shortens the pause between retries (for tests of unreachable registries).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Duration) -> Registry {
        self.backoff = backoff;
        self
    }

    /// A failure; the detail (which may quote what the registry answered) never shows the
    /// password or token of the credentials, in any form the redactor knows.
    fn fail(&self, what: &str, detail: impl Into<String>) -> RegistryError {
        let mut detail = detail.into();
        if let Some(credentials) = &self.credentials {
            let redactor = crate::secret::Redactor::default();
            redactor.add_token(credentials.password.expose());
            detail = redactor.redact(&detail);
        }
        RegistryError::Failed { host: self.host.clone(), what: what.to_owned(), detail }
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    /// One request, retried on connection errors and 5xx, answering auth challenges.
    fn request(
        &self,
        what: &str,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<Reply, RegistryError> {
        let mut challenged = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let authorization = self.authorization.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
            match self.send(method, url, headers, body, authorization.as_deref()) {
                Ok(reply) if reply.status == 401 && !challenged => {
                    challenged = true;
                    let challenge = reply.header("www-authenticate").unwrap_or_default().to_owned();
                    let header = self.answer(what, &challenge)?;
                    *self.authorization.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(header);
                    attempt -= 1;
                }
                Ok(reply) if reply.status == 401 || reply.status == 403 => {
                    return Err(RegistryError::Unauthorized {
                        host: self.host.clone(),
                        what: what.to_owned(),
                        detail: match &self.credentials {
                            Some(c) => format!(
                                "the credentials were rejected (user `{}`); check the token (for Fly: FLY_API_TOKEN or FLY_ACCESS_TOKEN, e.g. from `fly tokens create deploy`)",
                                c.username
                            ),
                            None => "it needs credentials and none were given".to_owned(),
                        },
                    });
                }
                Ok(reply) if reply.status >= 500 && attempt < ATTEMPTS => {
                    std::thread::sleep(self.backoff * 2u32.pow(attempt - 1));
                }
                Ok(reply) => return Ok(reply),
                Err(detail) if attempt < ATTEMPTS => {
                    let _ = detail;
                    std::thread::sleep(self.backoff * 2u32.pow(attempt - 1));
                }
                Err(detail) => {
                    return Err(RegistryError::Unreachable {
                        host: self.host.clone(),
                        what: what.to_owned(),
                        attempts: attempt,
                        detail: detail.to_string(),
                    });
                }
            }
        }
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
        authorization: Option<&str>,
    ) -> Result<Reply, SendError> {
        let url = self.url(url);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            builder = builder.header(*k, v);
        }
        if let Some(a) = authorization {
            builder = builder.header("Authorization", a);
        }
        let result = if let Some(bytes) = body {
            let request = builder.body(bytes.to_vec()).map_err(SendError::Request)?;
            self.agent.run(request)
        } else {
            let request = builder.body(()).map_err(SendError::Request)?;
            self.agent.run(request)
        };
        let mut response = result?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = if method == "HEAD" {
            Vec::new()
        } else {
            response.body_mut().with_config().limit(u64::MAX).read_to_vec()?
        };
        Ok(Reply { status, headers, body })
    }

    /// The Authorization header answering a `WWW-Authenticate` challenge.
    fn answer(&self, what: &str, challenge: &str) -> Result<String, RegistryError> {
        let basic = self.credentials.as_ref().map(|c| {
            let raw = format!("{}:{}", c.username, c.password.expose());
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
        });
        let lower = challenge.to_ascii_lowercase();
        if lower.starts_with("basic") {
            return basic.ok_or_else(|| RegistryError::Unauthorized {
                host: self.host.clone(),
                what: what.to_owned(),
                detail: "it needs credentials and none were given".to_owned(),
            });
        }
        if lower.starts_with("bearer") {
            let params = parse_challenge(&challenge[6..]);
            let realm = params
                .iter()
                .find(|(k, _)| k == "realm")
                .map(|(_, v)| v.clone())
                .ok_or_else(|| self.fail(what, format!("its Bearer challenge names no realm: {challenge}")))?;
            let query: Vec<String> = params
                .iter()
                .filter(|(k, _)| k == "service" || k == "scope")
                .map(|(k, v)| format!("{k}={}", percent(v)))
                .collect();
            let url = if query.is_empty() { realm } else { format!("{realm}?{}", query.join("&")) };
            let mut request = self.agent.get(&url);
            if let Some(b) = &basic {
                request = request.header("Authorization", b);
            }
            let mut response = request.call().map_err(|e| self.fail(what, format!("token request failed: {e}")))?;
            if !response.status().is_success() {
                return Err(RegistryError::Unauthorized {
                    host: self.host.clone(),
                    what: what.to_owned(),
                    detail: format!("its token service answered {}", response.status().as_u16()),
                });
            }
            let body: serde_json::Value = response
                .body_mut()
                .read_json()
                .map_err(|e| self.fail(what, format!("its token service answered something else than JSON: {e}")))?;
            let token = body
                .get("token")
                .or_else(|| body.get("access_token"))
                .and_then(|t| t.as_str())
                .ok_or_else(|| self.fail(what, "its token service answered no token"))?;
            return Ok(format!("Bearer {token}"));
        }
        Err(self.fail(what, format!("unsupported authentication challenge `{challenge}`")))
    }

    /// A manifest or index: (media type, bytes, digest).
    pub fn get_manifest(&self, repository: &str, target: &str) -> Result<(String, Vec<u8>), RegistryError> {
        let what = format!("fetch the manifest of {repository}:{target}");
        let accept = [oci::MANIFEST, oci::INDEX, oci::DOCKER_MANIFEST, oci::DOCKER_LIST].join(", ");
        let reply =
            self.request(&what, "GET", &format!("/v2/{repository}/manifests/{target}"), &[("Accept", accept)], None)?;
        match reply.status {
            200 => {
                let media_type = reply
                    .header("content-type")
                    .unwrap_or(oci::MANIFEST)
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                if target.starts_with("sha256:") && oci::digest(&reply.body) != target {
                    return Err(self.fail(&what, "the manifest does not match its digest"));
                }
                Ok((media_type, reply.body))
            }
            404 => Err(self.fail(&what, "no such image (check the name and the tag)")),
            status => Err(self.fail(&what, format!("it answered {status}{}", quote(&reply.body)))),
        }
    }

    /// A blob, checked against its digest.
    pub fn get_blob(&self, repository: &str, digest: &str) -> Result<Vec<u8>, RegistryError> {
        let what = format!("download blob {digest} of {repository}");
        let reply = self.request(&what, "GET", &format!("/v2/{repository}/blobs/{digest}"), &[], None)?;
        if reply.status != 200 {
            return Err(self.fail(&what, format!("it answered {}{}", reply.status, quote(&reply.body))));
        }
        if oci::digest(&reply.body) != digest {
            return Err(self.fail(&what, "the blob does not match its digest"));
        }
        Ok(reply.body)
    }

    /// Whether the repository already has a blob.
    pub fn blob_exists(&self, repository: &str, digest: &str) -> Result<bool, RegistryError> {
        let what = format!("check blob {digest} in {repository}");
        let reply = self.request(&what, "HEAD", &format!("/v2/{repository}/blobs/{digest}"), &[], None)?;
        match reply.status {
            200 => Ok(true),
            404 => Ok(false),
            status => Err(self.fail(&what, format!("it answered {status}"))),
        }
    }

    /// Asks the registry to link a blob from another repository. A refusal usually opens an
    /// upload session instead: [`Mount::Refused`] carries it, for [`Registry::push_blob`].
    pub fn mount_blob(&self, repository: &str, digest: &str, from: &str) -> Result<Mount, RegistryError> {
        let what = format!("mount blob {digest} into {repository}");
        let reply = self.request(
            &what,
            "POST",
            &format!("/v2/{repository}/blobs/uploads/?mount={digest}&from={from}"),
            &[("Content-Length", "0".to_owned())],
            Some(&[]),
        )?;
        Ok(match reply.status {
            201 => Mount::Mounted,
            202 => Mount::Refused(reply.header("location").map(str::to_owned)),
            _ => Mount::Refused(None),
        })
    }

    /// Uploads a blob: one `PUT` of the whole blob when it fits a chunk, else `PATCH`es of
    /// [`CHUNK`] bytes and a closing `PUT`. `session` is an upload session already open (a
    /// refused mount's); `progress` gets the bytes sent so far.
    pub fn push_blob(
        &self,
        repository: &str,
        digest: &str,
        bytes: &[u8],
        session: Option<String>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), RegistryError> {
        let what = format!("upload blob {digest} to {repository}");
        let mut location = if let Some(location) = session {
            location
        } else {
            let start = self.request(
                &what,
                "POST",
                &format!("/v2/{repository}/blobs/uploads/"),
                &[("Content-Length", "0".to_owned())],
                Some(&[]),
            )?;
            if start.status != 202 {
                return Err(
                    self.fail(&what, format!("starting the upload answered {}{}", start.status, quote(&start.body)))
                );
            }
            start.header("location").ok_or_else(|| self.fail(&what, "no upload location"))?.to_owned()
        };
        if bytes.len() <= CHUNK {
            // Monolithic: the whole blob with the closing PUT.
            let separator = if location.contains('?') { '&' } else { '?' };
            let reply = self.request(
                &what,
                "PUT",
                &format!("{location}{separator}digest={digest}"),
                &[("Content-Type", "application/octet-stream".to_owned()), ("Content-Length", bytes.len().to_string())],
                Some(bytes),
            )?;
            if reply.status != 201 {
                return Err(self.fail(&what, format!("the upload answered {}{}", reply.status, quote(&reply.body))));
            }
            progress(bytes.len() as u64);
            return Ok(());
        }
        let mut sent = 0usize;
        for chunk in bytes.chunks(CHUNK) {
            let end = sent + chunk.len() - 1;
            let reply = self.request(
                &what,
                "PATCH",
                &location,
                &[
                    ("Content-Type", "application/octet-stream".to_owned()),
                    ("Content-Range", format!("{sent}-{end}")),
                    ("Content-Length", chunk.len().to_string()),
                ],
                Some(chunk),
            )?;
            if reply.status != 202 {
                return Err(self.fail(
                    &what,
                    format!("sending bytes {sent}-{end} answered {}{}", reply.status, quote(&reply.body)),
                ));
            }
            location = reply.header("location").unwrap_or(&location).to_owned();
            sent += chunk.len();
            progress(sent as u64);
        }
        let separator = if location.contains('?') { '&' } else { '?' };
        let reply = self.request(
            &what,
            "PUT",
            &format!("{location}{separator}digest={digest}"),
            &[("Content-Length", "0".to_owned())],
            Some(&[]),
        )?;
        if reply.status != 201 {
            return Err(
                self.fail(&what, format!("finishing the upload answered {}{}", reply.status, quote(&reply.body)))
            );
        }
        Ok(())
    }

    /// Stores a manifest under a tag; returns its digest.
    pub fn put_manifest(
        &self,
        repository: &str,
        tag: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, RegistryError> {
        let what = format!("push the manifest {repository}:{tag}");
        let reply = self.request(
            &what,
            "PUT",
            &format!("/v2/{repository}/manifests/{tag}"),
            &[("Content-Type", media_type.to_owned())],
            Some(bytes),
        )?;
        if reply.status != 201 {
            return Err(self.fail(&what, format!("it answered {}{}", reply.status, quote(&reply.body))));
        }
        Ok(oci::digest(bytes))
    }
}

fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        let cut: String = text.chars().take(300).collect();
        format!(": {cut}")
    }
}

/// `realm="x",service="y"` → pairs.
fn parse_challenge(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else { break };
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (quoted[..end].to_owned(), &quoted[end + 1..]),
                None => (quoted.to_owned(), ""),
            }
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        pairs.push((key, value));
        rest = tail.trim_start_matches(',').trim();
    }
    pairs
}

fn percent(text: &str) -> String {
    crate::encoding::percent_encode(text, b"-._~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse() {
        let pairs = parse_challenge(
            r#" realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull""#,
        );
        assert_eq!(pairs[0], ("realm".to_owned(), "https://auth.docker.io/token".to_owned()));
        assert_eq!(pairs[2].1, "repository:library/debian:pull");
        assert_eq!(percent("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }

    #[test]
    fn failures_never_quote_the_token() {
        let reference = Reference::parse("registry.fly.io/demo:v1").unwrap();
        let credentials = Credentials { username: "x".into(), password: Secret::new("FlyV1 fm2_registry-token") };
        let registry = Registry::new(&reference, Some(credentials));
        let e = registry.fail("pushing", "it answered 400: {\"error\":\"bad token \\\"fm2_registry-token\\\"\"}");
        assert_eq!(e.to_string().matches("********").count(), 1, "{e}");
        assert!(!e.to_string().contains("fm2_registry-token"), "{e}");
    }
}
