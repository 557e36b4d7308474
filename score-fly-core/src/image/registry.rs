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
    #[error("{host} refused {what}: {why}")]
    Unauthorized {
        /// Registry host.
        host: String,
        /// What was attempted.
        what: String,
        /// Why, and what to do.
        why: AuthProblem,
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
        /// The last error's text (the HTTP client's error is not `Clone`).
        detail: String,
    },
    /// Any other failure.
    #[error("failed to {what} on {host}: {problem}")]
    Failed {
        /// Registry host.
        host: String,
        /// What was attempted.
        what: String,
        /// What went wrong (text the registry sent is redacted).
        problem: RegistryProblem,
    },
}

/// Why a registry refused the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthProblem {
    /// 401 or 403 with credentials.
    #[error(
        "the credentials were rejected (user `{username}`); check the token (for Fly: FLY_API_TOKEN or FLY_ACCESS_TOKEN, e.g. from `fly tokens create deploy`)"
    )]
    Rejected {
        /// The user name sent.
        username: String,
    },
    /// A challenge, and no credentials to answer it.
    #[error("it needs credentials and none were given")]
    NoCredentials,
    /// The Bearer token service refused.
    #[error("its token service answered {status}")]
    TokenService {
        /// Its HTTP status.
        status: u16,
    },
}

/// Which request of an exchange answered an unexpected status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Step {
    /// The one request of the exchange.
    #[error("it")]
    Request,
    /// The `POST` opening an upload session.
    #[error("starting the upload")]
    StartUpload,
    /// The one `PUT` of a blob that fits a chunk.
    #[error("the upload")]
    Upload,
    /// A `PATCH` of a chunk (`first`..=`last` bytes).
    #[error("sending bytes {first}-{last}")]
    Chunk {
        /// Offset of the first byte.
        first: usize,
        /// Offset of the last byte.
        last: usize,
    },
    /// The closing `PUT` of a chunked upload.
    #[error("finishing the upload")]
    FinishUpload,
}

/// What went wrong talking to a registry. Text that came from the registry or its token
/// service is redacted of the credentials' secret before it is stored here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryProblem {
    /// A Bearer challenge without `realm`.
    #[error("its Bearer challenge names no realm: {challenge}")]
    NoRealm {
        /// The `WWW-Authenticate` header.
        challenge: String,
    },
    /// A challenge other than Basic or Bearer.
    #[error("unsupported authentication challenge `{challenge}`")]
    UnsupportedChallenge {
        /// The `WWW-Authenticate` header.
        challenge: String,
    },
    /// The token service could not be asked.
    #[error("token request failed: {detail}")]
    TokenRequest {
        /// The HTTP client's error text.
        detail: String,
    },
    /// The token service answered something else than JSON.
    #[error("its token service answered something else than JSON: {detail}")]
    TokenNotJson {
        /// The HTTP client's error text.
        detail: String,
    },
    /// The token service's JSON holds no `token` or `access_token`.
    #[error("its token service answered no token")]
    NoToken,
    /// A manifest asked for by digest whose bytes have another digest.
    #[error("the manifest does not match its digest")]
    ManifestDigest,
    /// A blob whose bytes have another digest.
    #[error("the blob does not match its digest")]
    BlobDigest,
    /// 404 for a manifest.
    #[error("no such image (check the name and the tag)")]
    NoSuchImage,
    /// An upload session opened without a `Location`.
    #[error("no upload location")]
    NoUploadLocation,
    /// An unexpected status.
    #[error("{step} answered {status}{}", quoted(.body.as_ref()))]
    Answered {
        /// Which request.
        step: Step,
        /// The HTTP status.
        status: u16,
        /// The start of the body (at most 300 characters, trimmed; `None` when empty or
        /// not read).
        body: Option<String>,
    },
}

impl RegistryProblem {
    /// An unexpected status, with the start of the body the registry sent.
    fn answered(step: Step, status: u16, body: &[u8]) -> RegistryProblem {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let body = (!text.is_empty()).then(|| text.chars().take(300).collect());
        RegistryProblem::Answered { step, status, body }
    }

    /// The same problem, the text it holds passed through `redact`.
    fn redacted(self, redact: impl Fn(&str) -> String) -> RegistryProblem {
        match self {
            RegistryProblem::NoRealm { challenge } => RegistryProblem::NoRealm { challenge: redact(&challenge) },
            RegistryProblem::UnsupportedChallenge { challenge } => {
                RegistryProblem::UnsupportedChallenge { challenge: redact(&challenge) }
            }
            RegistryProblem::TokenRequest { detail } => RegistryProblem::TokenRequest { detail: redact(&detail) },
            RegistryProblem::TokenNotJson { detail } => RegistryProblem::TokenNotJson { detail: redact(&detail) },
            RegistryProblem::Answered { step, status, body } => {
                RegistryProblem::Answered { step, status, body: body.map(|b| redact(&b)) }
            }
            other @ (RegistryProblem::NoToken
            | RegistryProblem::ManifestDigest
            | RegistryProblem::BlobDigest
            | RegistryProblem::NoSuchImage
            | RegistryProblem::NoUploadLocation) => other,
        }
    }
}

fn quoted(body: Option<&String>) -> String {
    body.map_or_else(String::new, |b| format!(": {b}"))
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
    attempts: u32,
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
            attempts: ATTEMPTS,
        }
    }

    /// Shortens the pause between retries (for tests of unreachable registries).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Duration) -> Registry {
        self.backoff = backoff;
        self
    }

    /// Tries each request at most `attempts` times (at least once): for look-ups whose
    /// answer is optional, such as the digest of an image deployed by tag.
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Registry {
        self.attempts = attempts.max(1);
        self
    }

    /// A failure; the problem's text (which may quote what the registry answered) never
    /// shows the password or token of the credentials, in any form the redactor knows.
    fn fail(&self, what: &str, problem: RegistryProblem) -> RegistryError {
        let problem = match &self.credentials {
            Some(credentials) => {
                let redactor = crate::secret::Redactor::default();
                redactor.add_token(credentials.password.expose());
                problem.redacted(|text| redactor.redact(text))
            }
            None => problem,
        };
        RegistryError::Failed { host: self.host.clone(), what: what.to_owned(), problem }
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
                        why: match &self.credentials {
                            Some(c) => AuthProblem::Rejected { username: c.username.clone() },
                            None => AuthProblem::NoCredentials,
                        },
                    });
                }
                Ok(reply) if reply.status >= 500 && attempt < self.attempts => {
                    std::thread::sleep(self.backoff * 2u32.pow(attempt - 1));
                }
                Ok(reply) => return Ok(reply),
                Err(detail) if attempt < self.attempts => {
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
                why: AuthProblem::NoCredentials,
            });
        }
        if lower.starts_with("bearer") {
            let params = parse_challenge(&challenge[6..]);
            let realm = params
                .iter()
                .find(|(k, _)| k == "realm")
                .map(|(_, v)| v.clone())
                .ok_or_else(|| self.fail(what, RegistryProblem::NoRealm { challenge: challenge.to_owned() }))?;
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
            let mut response =
                request.call().map_err(|e| self.fail(what, RegistryProblem::TokenRequest { detail: e.to_string() }))?;
            if !response.status().is_success() {
                return Err(RegistryError::Unauthorized {
                    host: self.host.clone(),
                    what: what.to_owned(),
                    why: AuthProblem::TokenService { status: response.status().as_u16() },
                });
            }
            let body: serde_json::Value = response
                .body_mut()
                .read_json()
                .map_err(|e| self.fail(what, RegistryProblem::TokenNotJson { detail: e.to_string() }))?;
            let token = body
                .get("token")
                .or_else(|| body.get("access_token"))
                .and_then(|t| t.as_str())
                .ok_or_else(|| self.fail(what, RegistryProblem::NoToken))?;
            return Ok(format!("Bearer {token}"));
        }
        Err(self.fail(what, RegistryProblem::UnsupportedChallenge { challenge: challenge.to_owned() }))
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
                    return Err(self.fail(&what, RegistryProblem::ManifestDigest));
                }
                Ok((media_type, reply.body))
            }
            404 => Err(self.fail(&what, RegistryProblem::NoSuchImage)),
            status => Err(self.fail(&what, RegistryProblem::answered(Step::Request, status, &reply.body))),
        }
    }

    /// A manifest or index if the registry has it (`None` on 404).
    pub fn find_manifest(&self, repository: &str, target: &str) -> Result<Option<(String, Vec<u8>)>, RegistryError> {
        match self.get_manifest(repository, target) {
            Ok(found) => Ok(Some(found)),
            Err(RegistryError::Failed { problem: RegistryProblem::NoSuchImage, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The digest of the manifest (or index) `target` names: the registry's
    /// `Docker-Content-Digest` answer to a `HEAD`, else the digest of the body of a `GET`.
    pub fn manifest_digest(&self, repository: &str, target: &str) -> Result<String, RegistryError> {
        let what = format!("look up the digest of {repository}:{target}");
        let accept = [oci::MANIFEST, oci::INDEX, oci::DOCKER_MANIFEST, oci::DOCKER_LIST].join(", ");
        let reply =
            self.request(&what, "HEAD", &format!("/v2/{repository}/manifests/{target}"), &[("Accept", accept)], None)?;
        match reply.status {
            200 => match reply.header("docker-content-digest") {
                Some(digest) if super::blob_hex(digest).is_some() => Ok(digest.to_owned()),
                _ => Ok(oci::digest(&self.get_manifest(repository, target)?.1)),
            },
            404 => Err(self.fail(&what, RegistryProblem::NoSuchImage)),
            status => Err(self.fail(&what, RegistryProblem::Answered { step: Step::Request, status, body: None })),
        }
    }

    /// The referrers API (OCI distribution 1.1): the index of the manifests whose `subject`
    /// is `digest`, or `None` when the registry does not answer it with 200 (no such API).
    pub fn referrers(&self, repository: &str, digest: &str) -> Result<Option<Vec<u8>>, RegistryError> {
        let what = format!("list the referrers of {repository}@{digest}");
        let reply = self.request(
            &what,
            "GET",
            &format!("/v2/{repository}/referrers/{digest}"),
            &[("Accept", oci::INDEX.to_owned())],
            None,
        )?;
        Ok((reply.status == 200).then_some(reply.body))
    }

    /// A blob, checked against its digest.
    pub fn get_blob(&self, repository: &str, digest: &str) -> Result<Vec<u8>, RegistryError> {
        let what = format!("download blob {digest} of {repository}");
        let reply = self.request(&what, "GET", &format!("/v2/{repository}/blobs/{digest}"), &[], None)?;
        if reply.status != 200 {
            return Err(self.fail(&what, RegistryProblem::answered(Step::Request, reply.status, &reply.body)));
        }
        if oci::digest(&reply.body) != digest {
            return Err(self.fail(&what, RegistryProblem::BlobDigest));
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
            status => Err(self.fail(&what, RegistryProblem::Answered { step: Step::Request, status, body: None })),
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
                return Err(self.fail(&what, RegistryProblem::answered(Step::StartUpload, start.status, &start.body)));
            }
            start.header("location").ok_or_else(|| self.fail(&what, RegistryProblem::NoUploadLocation))?.to_owned()
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
                return Err(self.fail(&what, RegistryProblem::answered(Step::Upload, reply.status, &reply.body)));
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
                    RegistryProblem::answered(Step::Chunk { first: sent, last: end }, reply.status, &reply.body),
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
            return Err(self.fail(&what, RegistryProblem::answered(Step::FinishUpload, reply.status, &reply.body)));
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
            return Err(self.fail(&what, RegistryProblem::answered(Step::Request, reply.status, &reply.body)));
        }
        Ok(oci::digest(bytes))
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
        let body = b"  {\"error\":\"bad token \\\"fm2_registry-token\\\"\"}\n";
        let e = registry.fail("push", RegistryProblem::answered(Step::Request, 400, body));
        assert_eq!(e.to_string().matches("********").count(), 1, "{e}");
        assert!(!e.to_string().contains("fm2_registry-token"), "{e}");
        let RegistryError::Failed { problem: RegistryProblem::Answered { step, status, body: Some(body) }, .. } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!((*step, *status), (Step::Request, 400));
        assert!(body.starts_with("{\"error\":\"bad token ") && !body.contains("fm2_"), "{body}");
    }

    #[test]
    fn errors_read_as_before() {
        let failed = |problem| RegistryError::Failed {
            host: "registry.fly.io".into(),
            what: "upload blob sha256:ab to demo".into(),
            problem,
        };
        let cases = [
            (
                failed(RegistryProblem::answered(Step::Chunk { first: 0, last: 9 }, 500, b" oops ")),
                "failed to upload blob sha256:ab to demo on registry.fly.io: sending bytes 0-9 answered 500: oops",
            ),
            (
                failed(RegistryProblem::answered(Step::StartUpload, 400, b"")),
                "failed to upload blob sha256:ab to demo on registry.fly.io: starting the upload answered 400",
            ),
            (
                failed(RegistryProblem::answered(Step::FinishUpload, 400, b"x")),
                "failed to upload blob sha256:ab to demo on registry.fly.io: finishing the upload answered 400: x",
            ),
            (
                failed(RegistryProblem::UnsupportedChallenge { challenge: "Digest x".into() }),
                "failed to upload blob sha256:ab to demo on registry.fly.io: unsupported authentication challenge `Digest x`",
            ),
            (
                failed(RegistryProblem::NoSuchImage),
                "failed to upload blob sha256:ab to demo on registry.fly.io: no such image (check the name and the tag)",
            ),
            (
                RegistryError::Unauthorized {
                    host: "registry.fly.io".into(),
                    what: "push".into(),
                    why: AuthProblem::Rejected { username: "x".into() },
                },
                "registry.fly.io refused push: the credentials were rejected (user `x`); check the token (for Fly: FLY_API_TOKEN or FLY_ACCESS_TOKEN, e.g. from `fly tokens create deploy`)",
            ),
            (
                RegistryError::Unauthorized {
                    host: "h".into(),
                    what: "pull".into(),
                    why: AuthProblem::TokenService { status: 403 },
                },
                "h refused pull: its token service answered 403",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text, "{e:?}");
        }
        let long = "é".repeat(400);
        let RegistryProblem::Answered { body: Some(body), .. } =
            RegistryProblem::answered(Step::Upload, 502, long.as_bytes())
        else {
            panic!("no body")
        };
        assert_eq!(body.chars().count(), 300);
    }
}
