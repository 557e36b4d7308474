//! Image references: `[host[:port]/]repository[:tag][@digest]`, as docker reads them.

use std::fmt;

/// Docker Hub's registry host.
pub const DOCKER_HUB: &str = "registry-1.docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host (with port).
    pub host: String,
    /// Repository path (`library/debian` on Docker Hub for `debian`).
    pub repository: String,
    /// Tag (`latest` when neither tag nor digest is given).
    pub tag: Option<String>,
    /// Digest (`sha256:...`).
    pub digest: Option<String>,
}

/// Why a text is not an image reference: the text and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an image reference: {problem}")]
pub struct ReferenceError {
    /// The text.
    pub text: String,
    /// The rule it breaks.
    pub problem: ReferenceProblem,
}

/// The rule an image reference breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceProblem {
    /// Empty, or whitespace inside.
    #[error("it is empty or holds whitespace")]
    Empty,
    /// A digest of another algorithm.
    #[error("only sha256 digests are supported")]
    DigestAlgorithm,
    /// A sha256 digest that is not 64 lowercase hex digits.
    #[error("the digest must be sha256: followed by 64 lowercase hex digits")]
    DigestHex,
    /// A tag docker does not accept.
    #[error("a tag holds letters, digits, `_`, `.` and `-` (at most {MAX_TAG_LEN})")]
    Tag,
    /// A repository path docker does not accept.
    #[error("repository names hold lowercase letters, digits and `._-` between `/`")]
    Repository,
}

/// The longest tag docker accepts.
const MAX_TAG_LEN: usize = 128;

impl Reference {
    /// Parses a reference; errors say what is wrong.
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let invalid = |problem: ReferenceProblem| ReferenceError { text: text.to_owned(), problem };
        if text.is_empty() || text.chars().any(char::is_whitespace) {
            return Err(invalid(ReferenceProblem::Empty));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                let hex = digest.strip_prefix("sha256:").ok_or_else(|| invalid(ReferenceProblem::DigestAlgorithm))?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
                    return Err(invalid(ReferenceProblem::DigestHex));
                }
                (rest, Some(digest.to_owned()))
            }
            None => (text, None),
        };
        // A tag is after the last `:` that comes after the last `/`.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_owned())),
            None => (rest, None),
        };
        if let Some(tag) = &tag {
            let ok = !tag.is_empty()
                && tag.len() <= MAX_TAG_LEN
                && tag.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !ok {
                return Err(invalid(ReferenceProblem::Tag));
            }
        }
        let (host, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                (first.to_owned(), rest.to_owned())
            }
            _ => {
                let repository = if name.contains('/') { name.to_owned() } else { format!("library/{name}") };
                (DOCKER_HUB.to_owned(), repository)
            }
        };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-'))
                && c.chars().next().is_some_and(|ch| ch.is_ascii_alphanumeric())
                && c.chars().last().is_some_and(|ch| ch.is_ascii_alphanumeric())
        };
        if !repository.split('/').all(component_ok) {
            return Err(invalid(ReferenceProblem::Repository));
        }
        let tag = if tag.is_none() && digest.is_none() { Some("latest".to_owned()) } else { tag };
        Ok(Reference { host, repository, tag, digest })
    }

    /// What to ask the registry for: the digest if pinned, else the tag.
    pub fn target(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// Whether the registry is on this machine (spoken to over plain HTTP, as docker does).
    pub fn is_loopback(&self) -> bool {
        let host = self.host.rsplit_once(':').map_or(self.host.as_str(), |(h, _)| h);
        matches!(host, "localhost" | "127.0.0.1" | "[::1]")
    }

    /// The same repository with another tag and no digest.
    #[must_use]
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference { tag: Some(tag.to_owned()), digest: None, ..self.clone() }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_docker() {
        let r = Reference::parse("debian:bookworm-slim").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.tag.as_deref()),
            (DOCKER_HUB, "library/debian", Some("bookworm-slim"))
        );
        let r = Reference::parse("gcr.io/distroless/cc-debian12").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("gcr.io", "distroless/cc-debian12", Some("latest"))
        );
        let r = Reference::parse("127.0.0.1:5000/base:v1").unwrap();
        assert_eq!((r.host.as_str(), r.repository.as_str(), r.tag.as_deref()), ("127.0.0.1:5000", "base", Some("v1")));
        assert!(r.is_loopback());
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("registry.fly.io/app@{d}")).unwrap();
        assert_eq!((r.tag.as_deref(), r.digest.as_deref(), r.target()), (None, Some(d.as_str()), d.as_str()));
        assert_eq!(Reference::parse("registry.fly.io/my-app:v1").unwrap().to_string(), "registry.fly.io/my-app:v1");
        for bad in ["", "a b", "UPPER/case", "x:", "x@sha256:abc", "x:bad!tag"] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_text_and_the_rule() {
        let problem = |text: &str| Reference::parse(text).unwrap_err().problem;
        assert_eq!(problem("a b"), ReferenceProblem::Empty);
        assert_eq!(problem("x@md5:abc"), ReferenceProblem::DigestAlgorithm);
        assert_eq!(problem("x@sha256:ABC"), ReferenceProblem::DigestHex);
        assert_eq!(problem("x:bad!tag"), ReferenceProblem::Tag);
        assert_eq!(problem(&format!("x:{}", "t".repeat(MAX_TAG_LEN + 1))), ReferenceProblem::Tag);
        assert!(Reference::parse(&format!("x:{}", "t".repeat(MAX_TAG_LEN))).is_ok());
        assert_eq!(problem("UPPER/case"), ReferenceProblem::Repository);
        let e = Reference::parse("").unwrap_err();
        assert_eq!(e.to_string(), "`` is not an image reference: it is empty or holds whitespace");
        let expected = [
            ("x@md5:abc", "`x@md5:abc` is not an image reference: only sha256 digests are supported"),
            (
                "x@sha256:abc",
                "`x@sha256:abc` is not an image reference: the digest must be sha256: followed by 64 lowercase hex digits",
            ),
            ("x:", "`x:` is not an image reference: a tag holds letters, digits, `_`, `.` and `-` (at most 128)"),
            (
                "a/-b",
                "`a/-b` is not an image reference: repository names hold lowercase letters, digits and `._-` between `/`",
            ),
        ];
        for (text, message) in expected {
            let e = Reference::parse(text).unwrap_err();
            assert_eq!(e.text, text);
            assert_eq!(e.to_string(), message);
        }
    }
}
