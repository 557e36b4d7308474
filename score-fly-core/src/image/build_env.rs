//! The build-time environment (`build-env`): variables the service's compilation reads
//! (`SQLX_OFFLINE=true`, a feature switch a `build.rs` reads), set for the native
//! `cargo build` and written into the Dockerfile of the remote builder as `ARG` defaults.
//!
//! Both places keep the values in the open (a Dockerfile is committed and sent to the
//! builder; `Cargo.toml` is committed; a flag lands in shell history), so a value that
//! looks like a secret is refused: a name such as `*_PASSWORD`, `*_TOKEN`, `*_SECRET`,
//! `*_KEY`, a URL with a password (`postgres://user:pw@host/db`), or a known token or key
//! format. Messages name the variable, never its value.

use std::collections::BTreeMap;

use crate::limits::MAX_BUILD_ENV_BYTES;

/// A `build-env` entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildEnvError {
    /// Not `NAME=VALUE`.
    #[error("use build-env `{given}` from {origin}: write it as NAME=VALUE")]
    NotAnAssignment {
        /// The argument, up to its first `=` or cut.
        given: String,
        /// `--build-env` or the setting.
        origin: String,
    },
    /// A name the shell and Docker cannot carry.
    #[error(
        "use build-env variable `{name}` from {origin}: a name holds ASCII letters, digits and `_`, and does not start with a digit"
    )]
    BadName {
        /// The name (escaped).
        name: String,
        /// Where it came from.
        origin: String,
    },
    /// A value that cannot be written into a Dockerfile line, or is too long.
    #[error("use build-env variable `{name}` from {origin}: its value {why}")]
    BadValue {
        /// The name.
        name: String,
        /// Where it came from.
        origin: String,
        /// What is wrong (never the value).
        why: BadValue,
    },
    /// A value that looks like a secret.
    #[error(
        "use build-env variable `{name}` from {origin}: it looks like a secret ({why}), and build-env values are written in the open (the Dockerfile, Cargo.toml, shell history). For the native build, set it in the environment that runs `cargo score-fly build` instead (cargo inherits it); for the remote builder, build without it (sqlx: `SQLX_OFFLINE=true` and the `.sqlx` folder from `cargo sqlx prepare`, committed)"
    )]
    LooksSecret {
        /// The name.
        name: String,
        /// Where it came from.
        origin: String,
        /// Why it looks like one.
        why: &'static str,
    },
}

/// What is wrong with a `build-env` value (the message never shows the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadValue {
    /// Longer than [`MAX_BUILD_ENV_BYTES`].
    #[error("is longer than {MAX_BUILD_ENV_BYTES} bytes (limits::MAX_BUILD_ENV_BYTES)")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A line break or another control character (it would end the Dockerfile line).
    #[error("holds a line break or another control character")]
    ControlCharacter,
}

/// Parses `--build-env NAME=VALUE`.
pub fn parse_assignment(text: &str) -> Result<(String, String), BuildEnvError> {
    let origin = "--build-env".to_owned();
    let Some((name, value)) = text.split_once('=') else {
        let given: String = text.chars().take(40).collect();
        return Err(BuildEnvError::NotAnAssignment { given: crate::fly::config::comment_text(&given), origin });
    };
    check(name, value, &origin)?;
    Ok((name.to_owned(), value.to_owned()))
}

/// Checks one variable (`origin` names where it came from in messages).
pub fn check(name: &str, value: &str, origin: &str) -> Result<(), BuildEnvError> {
    let origin = origin.to_owned();
    let name_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !name_ok {
        return Err(BuildEnvError::BadName { name: crate::fly::config::comment_text(name), origin });
    }
    let bad = |why: BadValue| BuildEnvError::BadValue { name: name.to_owned(), origin: origin.clone(), why };
    if value.len() > MAX_BUILD_ENV_BYTES {
        return Err(bad(BadValue::TooLong { len: value.len() }));
    }
    if value.chars().any(char::is_control) {
        return Err(bad(BadValue::ControlCharacter));
    }
    if let Some(why) = looks_secret(name, value) {
        return Err(BuildEnvError::LooksSecret { name: name.to_owned(), origin, why });
    }
    Ok(())
}

/// Why a variable looks like a secret, if it does.
pub fn looks_secret(name: &str, value: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper.split('_').collect();
    if ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "CREDENTIALS", "PRIVATE", "APIKEY"]
        .iter()
        .any(|w| upper.contains(w))
        || words.last().is_some_and(|w| *w == "KEY" || *w == "PASS" || *w == "PWD")
    {
        return Some("its name says so");
    }
    if url_has_password(value) {
        return Some("a URL with a password");
    }
    const PREFIXES: &[&str] = &[
        "FlyV1 ",
        "fo1_",
        "fm1_",
        "fm2_",
        "ghp_",
        "gho_",
        "github_pat_",
        "glpat-",
        "sk_live_",
        "xoxb-",
        "xoxp-",
        "AKIA",
        "-----BEGIN",
    ];
    if PREFIXES.iter().any(|p| value.starts_with(p)) {
        return Some("a token or key format");
    }
    None
}

/// Whether some URL in `value` carries `user:password@`.
fn url_has_password(value: &str) -> bool {
    let mut rest = value;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let authority = after.split(['/', '?', '#', ' ']).next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
            && !password.is_empty()
        {
            return true;
        }
        rest = after;
    }
    false
}

/// The settings' variables overridden by the flags' (each checked).
pub fn merge(
    settings: &BTreeMap<String, String>,
    settings_origin: &str,
    flags: &[String],
) -> Result<BTreeMap<String, String>, BuildEnvError> {
    let mut out = BTreeMap::new();
    for (name, value) in settings {
        check(name, value, settings_origin)?;
        out.insert(name.clone(), value.clone());
    }
    for flag in flags {
        let (name, value) = parse_assignment(flag)?;
        out.insert(name, value);
    }
    Ok(out)
}

/// `ARG NAME="VALUE"` for a Dockerfile: `\`, `"` and `$` escaped (a checked value holds no
/// line break).
pub fn dockerfile_arg(name: &str, value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    format!("ARG {name}=\"{quoted}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_refused_and_never_shown() {
        for (name, value) in [
            ("DATABASE_URL", "postgres://app:hunter2@localhost:5432/app"),
            ("DB_PASSWORD", "x"),
            ("STRIPE_KEY", "x"),
            ("GITHUB_TOKEN", "x"),
            ("X", "FlyV1 fm2_abc"),
            ("X", "mysql://root:pw@db/x and more"),
        ] {
            let e = check(name, value, "--build-env").unwrap_err();
            assert!(matches!(e, BuildEnvError::LooksSecret { .. }), "{name}: {e}");
            let text = e.to_string();
            assert!(text.contains(name) && !text.contains("hunter2") && !text.contains("fm2_abc"), "{text}");
        }
        for (name, value) in [
            ("SQLX_OFFLINE", "true"),
            ("DATABASE_URL", "postgres://app@localhost/app"),
            ("KEYBOARD", "us"),
            ("MONKEY_MODE", "on"),
            ("URL", "https://example.com/a:b@c"),
        ] {
            check(name, value, "--build-env").unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn names_values_and_flags() {
        assert!(matches!(check("1X", "v", "f"), Err(BuildEnvError::BadName { .. })));
        assert!(matches!(check("X-Y", "v", "f"), Err(BuildEnvError::BadName { .. })));
        assert!(matches!(check("X", "a\nRUN evil", "f"), Err(BuildEnvError::BadValue { .. })));
        let e = check("X", &"a".repeat(MAX_BUILD_ENV_BYTES + 1), "f").unwrap_err();
        assert!(
            matches!(&e, BuildEnvError::BadValue { why: BadValue::TooLong { len }, .. } if *len == MAX_BUILD_ENV_BYTES + 1),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "use build-env variable `X` from f: its value is longer than {MAX_BUILD_ENV_BYTES} bytes (limits::MAX_BUILD_ENV_BYTES)"
            )
        );
        assert_eq!(
            check("X", "a\tb", "--build-env").unwrap_err().to_string(),
            "use build-env variable `X` from --build-env: its value holds a line break or another control character"
        );
        assert_eq!(parse_assignment("A=b=c").unwrap(), ("A".to_owned(), "b=c".to_owned()));
        assert!(parse_assignment("A").is_err());
        let settings = BTreeMap::from([("A".to_owned(), "1".to_owned()), ("B".to_owned(), "2".to_owned())]);
        let merged = merge(&settings, "Cargo.toml", &["B=3".to_owned()]).unwrap();
        assert_eq!(merged, BTreeMap::from([("A".to_owned(), "1".to_owned()), ("B".to_owned(), "3".to_owned())]));
        assert_eq!(dockerfile_arg("X", r#"a "b" $HOME \n"#), r#"ARG X="a \"b\" \$HOME \\n""#);
    }
}
