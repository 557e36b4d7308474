//! flyctl's `secrets import` parser: `NAME=VALUE` lines, `"""` blocks, comments (the format
//! `fly secrets import` reads on stdin).

use std::collections::BTreeMap;

/// flyctl's scanner reads at most this many bytes per line.
const MAX_SECRET_LINE: usize = 64 * 1024 - 1;

/// flyctl's `secrets import` parser (`internal/command/secrets/parser.go`), with the fake's
/// extra strictness: `NAME=VALUE` lines split on `\n` (a `\r` before it dropped); lines
/// starting with `#` and blank lines skipped; the name trimmed; the value left-trimmed of
/// spaces; one pair of surrounding `"` removed; a value starting with `"""` runs to the
/// first line ending with `"""` (every line but the last keeps its `\n`).
pub fn parse_secrets(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut secrets = BTreeMap::new();
    let mut multiline: Option<(String, String)> = None;
    // Go's scanner yields no empty token after a final newline.
    let body = text.strip_suffix('\n').unwrap_or(text);
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() > MAX_SECRET_LINE {
            return Err(
                "a line is longer than 64 KiB: real flyctl would silently stop reading there (fake flyctl refuses)"
                    .to_owned(),
            );
        }
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
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("Secrets must be provided as NAME=VALUE pairs ({line} is invalid)"));
        };
        let key = key.trim().to_owned();
        let value = value.trim_start_matches(' ');
        if let Some(first) = value.strip_prefix("\"\"\"") {
            multiline = Some((key, format!("{first}\n")));
        } else if value == "\"" {
            return Err(format!(
                "the value of {key} is a lone `\"`: real flyctl panics on it (slice bounds out of range [1:0])"
            ));
        } else if value.starts_with('"') && value.ends_with('"') {
            secrets.insert(key, value[1..value.len() - 1].to_owned());
        } else {
            secrets.insert(key, value.to_owned());
        }
    }
    if let Some((key, _)) = multiline {
        return Err(format!(
            "the multi-line value of {key} is never closed with `\"\"\"`: real flyctl would silently drop it (fake flyctl refuses)"
        ));
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::parse_secrets;

    #[test]
    fn secrets_parse_like_flyctl() {
        let text =
            "# comment\n\nA=plain\nB=  \"quoted\"  x\nC=\"quoted\"\r\nD=\"\"\"line1\nline2\n\"\"\"\nE = a=b\nF=\n";
        let parsed = parse_secrets(text).unwrap();
        assert_eq!(parsed["A"], "plain");
        assert_eq!(parsed["B"], "\"quoted\"  x");
        assert_eq!(parsed["C"], "quoted");
        assert_eq!(parsed["D"], "line1\nline2\n");
        assert_eq!(parsed["E"], "a=b");
        assert_eq!(parsed["F"], "");
        assert!(parse_secrets("NOPE\n").unwrap_err().contains("NAME=VALUE"));
        assert!(parse_secrets("A=\"\"\"open\n").unwrap_err().contains("never closed"));
        assert!(parse_secrets("A=\"\n").unwrap_err().contains("lone"));
        assert!(parse_secrets(&format!("A={}\n", "x".repeat(70_000))).unwrap_err().contains("64 KiB"));
    }
}
