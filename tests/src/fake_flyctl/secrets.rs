//! flyctl's `secrets import` parser: `NAME=VALUE` lines, `"""` blocks, comments (the format
//! `fly secrets import` reads on stdin).

use std::collections::BTreeMap;

use score_fly_core::fly::secrets::{FlyctlParseError, flyctl_parse};

/// flyctl's `secrets import` parser (`internal/command/secrets/parser.go`), read through
/// the one transcription of it ([`flyctl_parse`], which never serves the product: it judges
/// `import_text` in unit tests and fuzzing). Where real flyctl would panic, stop reading or
/// drop a value silently, the fake refuses, and says so.
pub fn parse_secrets(text: &str) -> Result<BTreeMap<String, String>, String> {
    flyctl_parse(text).map_err(|e| match e {
        FlyctlParseError::NotAPair(line) => {
            format!("Secrets must be provided as NAME=VALUE pairs (line {line} is invalid)")
        }
        other => format!("{other} (real flyctl mishandles it; fake flyctl refuses)"),
    })
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
