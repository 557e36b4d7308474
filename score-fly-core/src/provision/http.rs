//! `http` provisioners: POST the request to provision, DELETE (with the same body) to
//! deprovision, JSON both ways.
//!
//! Connection errors and 5xx answers are retried with exponential backoff (250 ms, 500 ms,
//! 1 s...); a 4xx fails at once quoting the body; a request that takes longer than the
//! timeout fails without retry (the provisioner may still be working on it). An empty 2xx
//! answer to a deprovision is success.
//!
//! The URL is shown with its credentials masked ([`crate::secret::mask_url`]) in every
//! message, and its credentials join the run's [`Redactor`] so a body echoing them is
//! redacted too.

use std::time::Duration;

use super::definition::HttpDef;
use super::protocol::{Mode, ProtocolError, Request, Response, parse_response};
use super::{CallContext, Redactor};
use crate::limits;

/// How much of an error body is quoted.
const QUOTE_LIMIT: usize = 2000;
/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why an `http` provisioner call failed. URLs are shown with their credentials masked
/// ([`crate::secret::mask_url`]), quoted bodies redacted.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The answer is longer than a response may be (it was not read).
    #[error(
        "the answer of {url} is longer than a provisioner response may be ({limit} bytes, limits::MAX_RESPONSE_BYTES); keep large data out of responses"
    )]
    TooLong {
        /// The URL (masked).
        url: String,
        /// [`limits::MAX_RESPONSE_BYTES`].
        limit: usize,
    },
    /// A provision answered 2xx with nothing.
    #[error("{method} {url} answered {status} with an empty body")]
    EmptyBody {
        /// `POST` or `DELETE`.
        method: &'static str,
        /// The URL (masked).
        url: String,
        /// The 2xx status.
        status: u16,
    },
    /// The answer is not a response.
    #[error("the answer of {method} {url} is not a provisioner response: {source}")]
    BadResponse {
        /// `POST` or `DELETE`.
        method: &'static str,
        /// The URL (masked).
        url: String,
        /// What is wrong with it.
        source: ProtocolError,
    },
    /// A status other than 2xx.
    #[error("{method} {url} answered {status}{}", quote_body(.body))]
    Status {
        /// `POST` or `DELETE`.
        method: &'static str,
        /// The URL (masked).
        url: String,
        /// The status.
        status: u16,
        /// The start of the body (redacted; empty when it was).
        body: String,
    },
    /// No connection could be made.
    #[error("cannot connect to {url}: {detail}")]
    Connect {
        /// The URL (masked).
        url: String,
        /// The HTTP client's message (URLs in it masked).
        detail: String,
    },
    /// The connection broke.
    #[error("connection to {url} failed: {detail}")]
    Connection {
        /// The URL (masked).
        url: String,
        /// The HTTP client's message (URLs in it masked).
        detail: String,
    },
    /// No answer within the timeout.
    #[error("{url} did not answer in time ({detail}); set `http.timeout` to allow longer")]
    Timeout {
        /// The URL (masked).
        url: String,
        /// The HTTP client's message (URLs in it masked).
        detail: String,
    },
    /// Another failure of the request.
    #[error("request to {url} failed: {detail}")]
    Request {
        /// The URL (masked).
        url: String,
        /// The HTTP client's message (URLs in it masked).
        detail: String,
    },
    /// A failure worth retrying, after the last retry.
    #[error("{last} (after {attempts} attempt{})", if *.attempts == 1 { "" } else { "s" })]
    GaveUp {
        /// The last attempt's failure.
        last: Box<HttpError>,
        /// How many attempts were made.
        attempts: usize,
    },
}

/// A quoted body, as a message shows it after the status.
fn quote_body(body: &str) -> String {
    if body.is_empty() { String::new() } else { format!(": {body}") }
}

enum Attempt {
    Done(Result<Option<Response>, HttpError>),
    Retry(HttpError),
}

/// Calls an http provisioner (with retries).
pub(super) fn call(
    def: &HttpDef,
    mode: Mode,
    request: &Request,
    timeout: Duration,
    cx: &CallContext<'_>,
) -> Result<Option<Response>, HttpError> {
    // Both are in range: the definition was checked when it was read, and its accessors clamp.
    let connect_timeout = def.connect_timeout();
    let retries = def.retries();
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(connect_timeout))
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let body = serde_json::to_vec(request).expect("requests serialise");
    cx.redactor.add(crate::secret::url_credentials(&def.url).iter().map(String::as_str));
    let target = Target { url: &def.url, shown: crate::secret::mask_url(&def.url) };
    let mut backoff = Duration::from_millis(250);
    let mut attempt = 0;
    loop {
        match once(&agent, &target, mode, &body, cx.redactor) {
            Attempt::Done(result) => return result,
            Attempt::Retry(why) if attempt < retries => {
                cx.events.output(cx.uid, &format!("{why}; retrying in {} ms", backoff.as_millis()));
                std::thread::sleep(backoff);
                backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
                attempt += 1;
            }
            Attempt::Retry(why) => return Err(HttpError::GaveUp { last: Box::new(why), attempts: attempt + 1 }),
        }
    }
}

/// The URL called, and how it is shown.
struct Target<'a> {
    url: &'a str,
    shown: String,
}

fn once(agent: &ureq::Agent, target: &Target<'_>, mode: Mode, body: &[u8], redactor: &Redactor) -> Attempt {
    let sent = match mode {
        Mode::Provision => agent.post(target.url).content_type("application/json").send(body),
        Mode::Deprovision => agent.delete(target.url).force_send_body().content_type("application/json").send(body),
    };
    let mut response = match sent {
        Ok(response) => response,
        Err(e) => return classify(target, &e),
    };
    let status = response.status().as_u16();
    // ureq stops reading past the limit, so a huge answer never reaches memory.
    let limit = u64::try_from(limits::MAX_RESPONSE_BYTES).unwrap_or(u64::MAX);
    let bytes = match response.body_mut().with_config().limit(limit).read_to_vec() {
        Ok(bytes) => bytes,
        Err(ureq::Error::BodyExceedsLimit(_)) => {
            return Attempt::Done(Err(HttpError::TooLong {
                url: target.shown.clone(),
                limit: limits::MAX_RESPONSE_BYTES,
            }));
        }
        Err(e) => return classify(target, &e),
    };
    let url = target.shown.clone();
    let method = if mode == Mode::Provision { "POST" } else { "DELETE" };
    match status {
        200..=299 => Attempt::Done(match (mode, parse_response(&bytes)) {
            (Mode::Provision, Ok(None)) => Err(HttpError::EmptyBody { method, url, status }),
            (_, Ok(r)) => Ok(r),
            (_, Err(source)) => Err(HttpError::BadResponse { method, url, source }),
        }),
        500..=599 => Attempt::Retry(HttpError::Status { method, url, status, body: quote(&bytes, redactor) }),
        _ => Attempt::Done(Err(HttpError::Status { method, url, status, body: quote(&bytes, redactor) })),
    }
}

/// What a failed request means, in a message showing the masked URL (ureq's own message may
/// quote the URL as given: its credentials are masked there too).
fn classify(target: &Target<'_>, kind: &ureq::Error) -> Attempt {
    use ureq::{Error, Timeout};
    let url = target.shown.clone();
    let detail = crate::secret::mask_urls(&kind.to_string().replace(target.url, &target.shown));
    match kind {
        Error::Timeout(Timeout::Connect | Timeout::Resolve) | Error::ConnectionFailed | Error::HostNotFound => {
            Attempt::Retry(HttpError::Connect { url, detail })
        }
        Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            Attempt::Retry(HttpError::Connection { url, detail })
        }
        Error::Timeout(_) => Attempt::Done(Err(HttpError::Timeout { url, detail })),
        _ => Attempt::Done(Err(HttpError::Request { url, detail })),
    }
}

/// The start of a body (redacted), or nothing when it is empty.
fn quote(bytes: &[u8], redactor: &Redactor) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut end = text.len().min(QUOTE_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let more = if end < text.len() { " [...]" } else { "" };
    format!("{}{more}", redactor.redact(&text[..end]))
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, Write as _};

    use super::*;
    use crate::provision::NoEvents;

    /// Serves one answer (`status`, then `body_len` bytes of `fill`) to one request.
    fn serve(status: u16, body_len: usize, fill: u8) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/p", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            std::io::Read::read_exact(&mut reader, &mut vec![0; length]).unwrap();
            let mut stream = stream;
            let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: {body_len}\r\nConnection: close\r\n\r\n");
            let chunk = vec![fill; 64 * 1024];
            let mut left = body_len;
            while left > 0 {
                let n = left.min(chunk.len());
                if stream.write_all(&chunk[..n]).is_err() {
                    break;
                }
                left -= n;
            }
        });
        url
    }

    fn call_url(url: String) -> Result<Option<Response>, HttpError> {
        let def = HttpDef { url, timeout: None, connect_timeout: None, retries: Some(0) };
        let request: Request = serde_json::from_value(serde_json::json!({
            "resource_uid": "t.default#w.r", "resource_type": "t", "resource_class": "default", "resource_id": "w.r"
        }))
        .unwrap();
        let redactor = Redactor::default();
        let cx = CallContext {
            uid: "t.default#w.r",
            project_root: std::path::Path::new("."),
            redactor: &redactor,
            events: &NoEvents,
            builtins: &crate::provision::NoBuiltins,
            declared_by: &[],
        };
        call(&def, Mode::Provision, &request, Duration::from_secs(20), &cx)
    }

    #[test]
    fn an_answer_longer_than_a_response_may_be_is_refused_without_reading_it() {
        let e = call_url(serve(200, limits::MAX_RESPONSE_BYTES + 1, b' ')).unwrap_err().to_string();
        assert!(
            e.contains("is longer than a provisioner response may be (8388608 bytes, limits::MAX_RESPONSE_BYTES)"),
            "{e}"
        );
        // At the limit: read (here, only spaces: an empty answer).
        let e = call_url(serve(200, limits::MAX_RESPONSE_BYTES, b' ')).unwrap_err();
        assert!(matches!(e, HttpError::EmptyBody { method: "POST", status: 200, .. }), "{e}");
        assert!(e.to_string().contains("answered 200 with an empty body"), "{e}");
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn messages_show_the_masked_url() {
        let url = || "https://p.example/x".to_owned();
        let detail = || "connection refused".to_owned();
        let errors = [
            HttpError::TooLong { url: url(), limit: 8 },
            HttpError::EmptyBody { method: "POST", url: url(), status: 200 },
            HttpError::BadResponse {
                method: "DELETE",
                url: url(),
                source: ProtocolError::UnknownResponseField { field: "outputs".into() },
            },
            HttpError::Status { method: "POST", url: url(), status: 404, body: String::new() },
            HttpError::Status { method: "POST", url: url(), status: 400, body: "no [...]".into() },
            HttpError::Connect { url: url(), detail: detail() },
            HttpError::Connection { url: url(), detail: detail() },
            HttpError::Timeout { url: url(), detail: "timeout: global".into() },
            HttpError::Request { url: url(), detail: detail() },
            HttpError::GaveUp { last: Box::new(HttpError::Connect { url: url(), detail: detail() }), attempts: 1 },
            HttpError::GaveUp {
                last: Box::new(HttpError::Status { method: "POST", url: url(), status: 503, body: String::new() }),
                attempts: 4,
            },
        ];
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages.join("\n"),
            "the answer of https://p.example/x is longer than a provisioner response may be (8 bytes, limits::MAX_RESPONSE_BYTES); keep large data out of responses
POST https://p.example/x answered 200 with an empty body
the answer of DELETE https://p.example/x is not a provisioner response: unknown field `outputs`, expected one of `state`, `values`, `secrets`, `shared`
POST https://p.example/x answered 404
POST https://p.example/x answered 400: no [...]
cannot connect to https://p.example/x: connection refused
connection to https://p.example/x failed: connection refused
https://p.example/x did not answer in time (timeout: global); set `http.timeout` to allow longer
request to https://p.example/x failed: connection refused
cannot connect to https://p.example/x: connection refused (after 1 attempt)
POST https://p.example/x answered 503 (after 4 attempts)"
        );
    }

    #[test]
    fn quoted_bodies_are_cut_and_redacted() {
        let redactor = Redactor::default();
        redactor.add(["hunter22"]);
        assert_eq!(quote(b"  \n", &redactor), "");
        assert_eq!(quote(b"bad hunter22\n", &redactor), "bad ********");
        let long = "é".repeat(QUOTE_LIMIT);
        assert!(quote(long.as_bytes(), &redactor).ends_with("é [...]"));
    }
}
