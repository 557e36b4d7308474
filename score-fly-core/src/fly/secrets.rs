//! App secrets in the text `fly secrets import` reads on stdin.
//!
//! flyctl's parser reads `NAME=VALUE` lines; it trims spaces at the start of a value,
//! removes one pair of surrounding double quotes, and reads `NAME="""...` up to a line that
//! ends with `"""` as a multi-line value (every line but the last gets its `\n` back). It
//! splits lines on `\n` and drops a `\r` before it, and reads at most 64 KiB per line. Each
//! value is written in the one form that parser reads back exactly; a value it cannot carry
//! is an error naming the secret (never showing the value).

use std::collections::BTreeMap;

use crate::secret::Secret;

/// flyctl reads lines with Go's `bufio.Scanner`, whose default limit is 64 KiB.
const MAX_LINE: usize = 64 * 1024 - 1;

/// A secret `fly secrets import` cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret `{name}` cannot be imported with `fly secrets import`: {reason}")]
pub struct SecretFormatError {
    /// The secret name.
    pub name: String,
    /// Why (never the value).
    pub reason: &'static str,
}

/// Whether `name` is a valid secret (environment variable) name.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `fly secrets import` text for `secrets`, sorted by name.
pub fn import_text(secrets: &BTreeMap<String, Secret>) -> Result<String, SecretFormatError> {
    let mut out = String::new();
    for (name, secret) in secrets {
        let err = |reason| SecretFormatError { name: name.clone(), reason };
        if !is_valid_name(name) {
            return Err(err("secret names may only hold letters, digits and `_`, and not start with a digit"));
        }
        let value = secret.expose();
        if value.contains('\r') {
            return Err(err("it contains a carriage return, which flyctl's line reader drops"));
        }
        let line = if value.contains('\n') {
            let lines: Vec<&str> = value.split('\n').collect();
            // Every line but the last must not end the value early.
            if lines[..lines.len() - 1].iter().skip(1).any(|l| l.ends_with("\"\"\"")) {
                return Err(err("one of its lines ends with `\"\"\"`, which would end the value early"));
            }
            format!("{name}=\"\"\"{value}\"\"\"")
        } else if !(value.starts_with(' ')
            || value.starts_with("\"\"\"")
            || (value.starts_with('"') && value.ends_with('"')))
        {
            format!("{name}={value}")
        } else if !format!("\"{value}\"").starts_with("\"\"\"") {
            // Quoting keeps leading spaces and surrounding quotes.
            format!("{name}=\"{value}\"")
        } else {
            // Quoted, it would start with `"""`, which flyctl reads as a multi-line value.
            return Err(err(
                "it starts with two double quotes and needs quoting, which flyctl would read as a multi-line value",
            ));
        };
        if line.split('\n').any(|l| l.len() > MAX_LINE) {
            return Err(err("it is longer than the 64 KiB per line that flyctl reads"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// flyctl's parser (internal/command/secrets/parser.go), transcribed for the round trip.
    fn flyctl_parse(text: &str) -> BTreeMap<String, String> {
        let mut secrets = BTreeMap::new();
        let mut multiline: Option<(String, String)> = None;
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if let Some((key, mut value)) = multiline.take() {
                if let Some(last) = line.strip_suffix("\"\"\"") {
                    value.push_str(last);
                    secrets.insert(key, value);
                } else {
                    value.push_str(line);
                    value.push('\n');
                    multiline = Some((key, value));
                }
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (key, value) = line.split_once('=').expect("NAME=VALUE");
            let value = value.trim_start_matches(' ');
            if let Some(first) = value.strip_prefix("\"\"\"") {
                multiline = Some((key.trim().to_owned(), format!("{first}\n")));
            } else {
                let value = if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                    &value[1..value.len() - 1]
                } else {
                    value
                };
                secrets.insert(key.trim().to_owned(), value.to_owned());
            }
        }
        secrets
    }

    #[test]
    fn every_value_round_trips_through_flyctls_parser() {
        let values = [
            "plain",
            "",
            "with spaces inside",
            "  leading spaces",
            "trailing spaces  ",
            "\"quoted\"",
            "\"x",
            "x\"",
            "\"\"two quotes but not at the end",
            "a=b=c",
            "# not a comment",
            "multi\nline",
            "ends with newline\n",
            "\nstarts with newline",
            "line\n\n\nblank lines",
            "-----BEGIN KEY-----\nMIIB\n-----END KEY-----\n",
            "héllo wörld ✓",
        ];
        let secrets: BTreeMap<String, Secret> =
            values.iter().enumerate().map(|(i, v)| (format!("S_{i:02}"), Secret::new(*v))).collect();
        let text = import_text(&secrets).unwrap();
        let parsed = flyctl_parse(&text);
        for (name, secret) in &secrets {
            assert_eq!(parsed.get(name).map(String::as_str), Some(secret.expose()), "{name}\n{text}");
        }
        assert_eq!(parsed.len(), secrets.len());
    }

    #[test]
    fn impossible_values_are_errors_without_the_value() {
        for (value, fragment) in [
            ("a\r\nb", "carriage return"),
            ("a\nb\"\"\"\nc", "ends with"),
            ("\"", "two double quotes"),
            ("\"\"\"x", "two double quotes"),
            ("\"\"x\"", "two double quotes"),
        ] {
            let secrets = BTreeMap::from([("DB_PASSWORD".to_owned(), Secret::new(value))]);
            let e = import_text(&secrets).unwrap_err().to_string();
            assert!(e.contains("DB_PASSWORD") && e.contains(fragment) && !e.contains(value), "{e}");
        }
        let big = BTreeMap::from([("BIG".to_owned(), Secret::new("x".repeat(70_000)))]);
        assert!(import_text(&big).unwrap_err().to_string().contains("64 KiB"));
        let bad = BTreeMap::from([("1BAD".to_owned(), Secret::new("x"))]);
        assert!(import_text(&bad).is_err());
    }
}
