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

/// Why [`flyctl_parse`] cannot read a text as flyctl would (never quoting a value).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlyctlParseError {
    /// A line without `=` (flyctl: "Secrets must be provided as NAME=VALUE pairs").
    #[error("line {0} is not a NAME=VALUE pair")]
    NotAPair(usize),
    /// A value that is a lone `"`: flyctl panics (`value[1:0]`).
    #[error("line {0} has a lone `\"` as its value, on which flyctl panics")]
    LoneQuote(usize),
    /// A line longer than Go's `bufio.Scanner` reads: flyctl stops reading there.
    #[error("line {0} is longer than the 64 KiB flyctl's line reader takes")]
    LineTooLong(usize),
    /// A `"""` value never closed: flyctl silently drops it.
    #[error("the multi-line value starting on line {0} is never closed with `\"\"\"`")]
    Unclosed(usize),
}

/// flyctl's `secrets import` parser (`internal/command/secrets/parser.go`), transcribed:
/// the judge of [`import_text`]'s round trip (unit tests, the `secrets_import` fuzz
/// target, and the fake flyctl's `secrets import` in the tests crate); the product never
/// calls it. Lines split on `\n` with a `\r` before it dropped (Go's `bufio.Scanner`);
/// blank lines and lines starting with `#` skipped; the name trimmed; the value left-trimmed
/// of spaces; one pair of surrounding `"` removed; a value starting with `"""` runs to the
/// first *later* line ending with `"""` (every line but the last keeps its `\n`). Where
/// flyctl would panic, stop reading or drop a value silently, this is an error.
#[doc(hidden)]
pub fn flyctl_parse(text: &str) -> Result<BTreeMap<String, String>, FlyctlParseError> {
    let mut secrets = BTreeMap::new();
    let mut multiline: Option<(usize, String, String)> = None;
    // Go's scanner yields no empty token after a final newline.
    let body = text.strip_suffix('\n').unwrap_or(text);
    for (i, line) in body.split('\n').enumerate() {
        let number = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() > MAX_LINE {
            return Err(FlyctlParseError::LineTooLong(number));
        }
        if let Some((start, key, mut value)) = multiline.take() {
            if let Some(last) = line.strip_suffix("\"\"\"") {
                value.push_str(last);
                secrets.insert(key, value);
            } else {
                value.push_str(line);
                value.push('\n');
                multiline = Some((start, key, value));
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or(FlyctlParseError::NotAPair(number))?;
        let key = key.trim().to_owned();
        let value = value.trim_start_matches(' ');
        if let Some(first) = value.strip_prefix("\"\"\"") {
            multiline = Some((number, key, format!("{first}\n")));
        } else if value == "\"" {
            return Err(FlyctlParseError::LoneQuote(number));
        } else if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            secrets.insert(key, value[1..value.len() - 1].to_owned());
        } else {
            secrets.insert(key, value.to_owned());
        }
    }
    match multiline {
        Some((start, _, _)) => Err(FlyctlParseError::Unclosed(start)),
        None => Ok(secrets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let parsed = flyctl_parse(&text).unwrap();
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

    proptest::proptest! {
        /// What `fuzz/` checks at length (target `secrets_import`), a little on every run.
        #[test]
        fn whatever_is_written_flyctl_reads_back(
            secrets in proptest::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,8}", "(?s).{0,40}|[\"\n #=]{0,12}", 0..6)
        ) {
            let given: BTreeMap<String, Secret> = secrets.iter().map(|(k, v)| (k.clone(), Secret::new(v.clone()))).collect();
            if let Ok(text) = import_text(&given) {
                proptest::prop_assert_eq!(flyctl_parse(&text).unwrap(), secrets);
            }
        }
    }

    #[test]
    fn the_transcription_refuses_what_flyctl_cannot_read() {
        assert_eq!(flyctl_parse("A=1\nnot a pair\n"), Err(FlyctlParseError::NotAPair(2)));
        assert_eq!(flyctl_parse("A=\""), Err(FlyctlParseError::LoneQuote(1)));
        assert_eq!(flyctl_parse("A=\"\"\"x\ny\n"), Err(FlyctlParseError::Unclosed(1)));
        assert_eq!(flyctl_parse(&format!("A={}", "x".repeat(MAX_LINE))), Err(FlyctlParseError::LineTooLong(1)));
        // A first line ending with `"""` does not close the value it opens.
        let parsed = flyctl_parse("# c\n\nA = \"\"\"x\"\"\"\ny\"\"\"\r\nB=  \"q\"\n").unwrap();
        assert_eq!(parsed["A"], "x\"\"\"\ny");
        assert_eq!(parsed["B"], "q");
    }
}
