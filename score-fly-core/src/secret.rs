//! Secrets and how they are kept out of sight: [`Secret`] (a string that never prints),
//! [`Redactor`] (hides known secret values in text about to be shown, in every encoding
//! they can take), and [`mask_url`] (credentials in URLs).
//!
//! # What the redactor recognises
//!
//! For each known value (at least [`MIN_REDACTED_BYTES`] long), wherever it appears:
//! - **raw**, and **trimmed** of surrounding whitespace;
//! - **escaped** as any of the usual string syntaxes writes it: JSON (`\"`, `\\`, `\n`,
//!   `\/`, `\u00e9` and surrogate pairs, hex digits in either case: serde, Go, Python,
//!   JavaScript, PHP), TOML basic strings (`\uXXXX`, `\UXXXXXXXX`), Go's `%q` (`\x1b`, `\a`,
//!   `\v`), Rust's `{:?}` (`\u{1b}`, `\0`), TOML 1.1's and the shell's `\e`, and `\'`.
//!   Each character may appear raw or escaped independently, so every mix of these (Go's
//!   `\u003c` for `<`, Python's ASCII output, a shell `echo` that turned `\\` back into `\`
//!   but kept `\"`) is one rule, not a list of dialects;
//! - **JSON-escaped twice** (a JSON document quoted inside a JSON string), as serde writes it;
//! - **percent-encoded** (`%XX`, hex in either case, `+` for a space), as in a URL;
//! - **line by line**: a value with several lines is also hidden one line at a time (each
//!   line trimmed, in every form above), since programs print multi-line values a line at a
//!   time. Lines shorter than [`MIN_REDACTED_BYTES`] after trimming are not hidden on their
//!   own: hiding them would mangle ordinary text (`}`, `--`, an empty line), and they carry
//!   less than the shortest value worth hiding.
//!
//! Every match, of every value, is found in the original text first; overlapping and
//! adjacent matches are merged, and each merged stretch becomes one [`MASK`]. So no part of
//! a secret survives because another secret overlapping it was replaced first.
//!
//! Not recognised: base64 or hashes of a value, a value cut in the middle by a line limit
//! (redact before cutting), a value split across lines at places that are not its own line
//! breaks.
//!
//! # URLs
//!
//! [`mask_url`] is the one place URL credentials are masked (shown URLs, `provisioners
//! list`, http provisioner errors, URLs in flyctl output through [`mask_urls`]).
//!
//! # Names that look secret
//!
//! [`looks_secret`] decides whether an output's name suggests a credential (a plain output
//! named so gets a warning when it reaches `fly.toml` in plain text).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::RwLock;

/// What a hidden value is replaced with.
pub const MASK: &str = "********";

/// The shortest value (in bytes, after trimming for lines) [`Redactor`] hides: shorter
/// values would mangle ordinary text and are not worth hiding.
pub const MIN_REDACTED_BYTES: usize = 4;

/// A secret value. Read it with [`Secret::expose`] only where it is handed to its destination.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Replaces known secret values in text that is about to be shown (see the module docs for
/// the forms recognised). Shared by the threads of a run; secrets learnt during the run are
/// added as they arrive.
#[derive(Default)]
pub struct Redactor {
    inner: RwLock<Known>,
}

#[derive(Default)]
struct Known {
    /// Every value added (to skip repeats).
    values: BTreeSet<String>,
    /// The texts searched for (values, their trimmed form and lines), once each.
    texts: BTreeSet<String>,
    needles: Vec<Needle>,
}

/// One text to find, and how.
struct Needle {
    /// Found as is: the text, and its JSON escaping applied twice; each with its distinct
    /// characters (a text lacking one of them cannot hold it).
    exact: Vec<(String, Vec<char>)>,
    /// The text's characters, found through escapes.
    chars: Vec<char>,
    /// Whether some character of it may be written escaped (else `exact` finds it all).
    escapable: bool,
    /// Whether some character of it may be written percent-encoded.
    percent: bool,
}

impl Needle {
    fn new(text: String) -> Needle {
        let chars: Vec<char> = text.chars().collect();
        let escapable = chars
            .iter()
            .any(|&c| !c.is_ascii() || c.is_ascii_control() || matches!(c, '"' | '\\' | '/' | '\'' | '<' | '>' | '&'));
        let percent = chars.iter().any(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')));
        let mut exact = vec![text];
        if escapable {
            let twice = json_escape(&json_escape(&exact[0]));
            if twice != exact[0] {
                exact.push(twice);
            }
        }
        let exact = exact
            .into_iter()
            .map(|text| {
                let mut distinct: Vec<char> = text.chars().collect();
                distinct.sort_unstable();
                distinct.dedup();
                (text, distinct)
            })
            .collect();
        Needle { exact, chars, escapable, percent }
    }

    /// Adds the byte ranges where this needle occurs in the text of `scan`.
    fn find_in(&self, scan: &mut Scan<'_>, ranges: &mut Vec<(usize, usize)>) {
        let text = scan.text;
        let Some(&first) = self.chars.first() else { return };
        for (exact, distinct) in &self.exact {
            if distinct.iter().all(|&c| scan.has(c)) {
                let mut from = 0;
                while let Some(i) = text[from..].find(exact.as_str()) {
                    let start = from + i;
                    ranges.push((start, start + exact.len()));
                    // Overlapping occurrences too: go on from the next character.
                    from = start + text[start..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        // Escapes (or percent-encodings) matter only when the text has one standing for a
        // character of the needle; otherwise the raw search above found everything.
        let distinct = &self.exact[0].1;
        let touches = |decoded: &[char]| decoded.iter().any(|c| distinct.binary_search(c).is_ok());
        let escaped = self.escapable && touches(&scan.escaped_chars);
        let percent = self.percent && touches(&scan.percent_chars);
        if !escaped && !percent {
            return;
        }
        // A match starts with the first character raw, or encoded.
        let mut starts: Vec<usize> =
            if scan.has(first) { text.match_indices(first).map(|(i, _)| i).collect() } else { Vec::new() };
        for (on, decoded) in [(escaped, &scan.escapes), (percent, &scan.percents)] {
            if on {
                starts.extend(decoded.iter().filter(|(c, _)| *c == first).map(|(_, at)| *at));
            }
        }
        starts.sort_unstable();
        starts.dedup();
        for start in starts {
            for (on, one) in [(escaped, escaped_char as CharForms), (percent, percent_char as CharForms)] {
                if on && let Some(end) = self.match_with(text, start, one, &mut scan.scratch) {
                    ranges.push((start, end));
                }
            }
        }
    }

    /// The end of the longest match of this needle at byte `start`, each character matched
    /// by `one`, which may allow several forms: all are followed (a raw `\` and an escaped
    /// one can both fit), the positions reached after each character kept once.
    fn match_with(
        &self,
        text: &str,
        start: usize,
        one: CharForms,
        (at, next): &mut (Vec<usize>, Vec<usize>),
    ) -> Option<usize> {
        at.clear();
        at.push(start);
        for &c in &self.chars {
            next.clear();
            for &pos in at.iter() {
                one(text, pos, c, next);
            }
            if next.is_empty() {
                return None;
            }
            next.sort_unstable();
            next.dedup();
            std::mem::swap(at, next);
        }
        at.last().copied()
    }
}

/// Where a character can end at a byte of a text (its forms: [`escaped_char`],
/// [`percent_char`]).
type CharForms = fn(&str, usize, char, &mut Vec<usize>);

/// A text being redacted, with what every needle asks of it computed once.
struct Scan<'t> {
    text: &'t str,
    /// The ASCII characters in the text.
    ascii: u128,
    /// The other characters in the text, sorted.
    others: Vec<char>,
    /// Each escape in the text: the character it stands for, and where it starts.
    escapes: Vec<(char, usize)>,
    /// Each percent-encoded character (or `+`) in the text, and where it starts.
    percents: Vec<(char, usize)>,
    /// The characters escapes stand for, sorted, once each.
    escaped_chars: Vec<char>,
    /// The characters percent-encodings stand for, sorted, once each.
    percent_chars: Vec<char>,
    /// Buffers of [`Needle::match_with`].
    scratch: (Vec<usize>, Vec<usize>),
}

impl<'t> Scan<'t> {
    fn new(text: &'t str) -> Scan<'t> {
        let mut scan = Scan {
            text,
            ascii: 0,
            others: Vec::new(),
            escapes: Vec::new(),
            percents: Vec::new(),
            escaped_chars: Vec::new(),
            percent_chars: Vec::new(),
            scratch: (Vec::new(), Vec::new()),
        };
        for (i, c) in text.char_indices() {
            if c.is_ascii() {
                scan.ascii |= 1 << u32::from(c);
            } else {
                scan.others.push(c);
            }
            match c {
                '\\' => scan.escapes.extend(decode_escape(text, i).map(|(c, _)| (c, i))),
                '%' | '+' => scan.percents.extend(decode_percent(text, i).map(|(c, _)| (c, i))),
                _ => {}
            }
        }
        scan.others.sort_unstable();
        scan.others.dedup();
        for (decoded, chars) in [(&scan.escapes, &mut scan.escaped_chars), (&scan.percents, &mut scan.percent_chars)] {
            chars.extend(decoded.iter().map(|(c, _)| *c));
            chars.sort_unstable();
            chars.dedup();
        }
        scan
    }

    /// Whether `c` is in the text.
    fn has(&self, c: char) -> bool {
        if c.is_ascii() { self.ascii & (1 << u32::from(c)) != 0 } else { self.others.binary_search(&c).is_ok() }
    }
}

impl Redactor {
    /// A redactor for these values (values shorter than [`MIN_REDACTED_BYTES`] are not
    /// redacted: they would mangle ordinary text and are not worth hiding).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let redactor = Redactor::default();
        redactor.add(values);
        redactor
    }

    /// Adds values to hide.
    pub fn add<'a>(&self, values: impl IntoIterator<Item = &'a str>) {
        let mut known = self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for value in values {
            if value.len() < MIN_REDACTED_BYTES || known.values.contains(value) {
                continue;
            }
            known.values.insert(value.to_owned());
            for text in texts_of(value) {
                if known.texts.insert(text.clone()) {
                    known.needles.push(Needle::new(text));
                }
            }
        }
    }

    /// Adds every string and number inside a JSON value (e.g. a resource's secret outputs).
    /// Booleans and nulls carry nothing worth hiding.
    pub fn add_json(&self, value: &serde_json::Value) {
        let mut values = Vec::new();
        scalars(value, &mut values);
        self.add(values.iter().map(String::as_str));
    }

    /// Adds a Fly API token: as given, without its `FlyV1 `/`Bearer ` scheme, and each of
    /// the comma-separated macaroons it may hold (flyctl may print any one of them).
    pub fn add_token(&self, token: &str) {
        let token = token.trim();
        let bare = token.strip_prefix("FlyV1 ").or_else(|| token.strip_prefix("Bearer ")).unwrap_or(token).trim();
        let mut values = vec![token, bare];
        values.extend(bare.split(',').map(str::trim));
        self.add(values);
    }

    /// Whether there is nothing to hide.
    pub fn is_empty(&self) -> bool {
        self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner).needles.is_empty()
    }

    /// Whether `text` holds a known secret (in any form [`Redactor::redact`] hides).
    pub fn finds(&self, text: &str) -> bool {
        !self.ranges(text).is_empty()
    }

    /// `text` with every known secret replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let ranges = self.ranges(text);
        if ranges.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut from = 0;
        for (start, end) in ranges {
            out.push_str(&text[from..start]);
            out.push_str(MASK);
            from = end;
        }
        out.push_str(&text[from..]);
        out
    }

    /// Where known secrets are in `text`: sorted byte ranges, overlapping or adjacent ones
    /// merged.
    fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        let known = self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut ranges = Vec::new();
        if known.needles.is_empty() {
            return ranges;
        }
        let mut scan = Scan::new(text);
        for needle in &known.needles {
            needle.find_in(&mut scan, &mut ranges);
        }
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        f.debug_struct("Redactor").field("values", &known.values.len()).finish_non_exhaustive()
    }
}

/// The texts searched for a value: itself, trimmed, and each of its lines (trimmed), each at
/// least [`MIN_REDACTED_BYTES`] long.
fn texts_of(value: &str) -> Vec<String> {
    let mut texts = vec![value, value.trim()];
    if value.contains('\n') {
        // Trimming also drops the `\r` of a CRLF line.
        texts.extend(value.split('\n').map(str::trim));
    }
    // A value of spaces would hide all indentation: only text with something visible.
    let mut out: Vec<String> = texts
        .into_iter()
        .filter(|t| t.len() >= MIN_REDACTED_BYTES && !t.trim().is_empty())
        .map(str::to_owned)
        .collect();
    out.dedup();
    out
}

/// Every string, and the text of every number, inside a JSON value.
fn scalars(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| scalars(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| scalars(v, out)),
        serde_json::Value::Bool(_) | serde_json::Value::Null => {}
    }
}

/// `text` as inside a JSON string (serde's escapes, no quotes around).
fn json_escape(text: &str) -> String {
    let quoted = serde_json::to_string(text).expect("strings serialise");
    quoted[1..quoted.len() - 1].to_owned()
}

/// The value of the `n` ASCII hex digits at byte `at` of `text`.
fn hex_at(text: &str, at: usize, n: usize) -> Option<u32> {
    let digits = text.as_bytes().get(at..at + n)?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// Where `c` can end when it is at byte `at` of `text`, raw or escaped (see the module
/// docs); the ends are added to `ends`. Only a backslash has two forms that can both fit
/// (itself, and the start of `\\`); the forms of any other character never start one
/// another.
fn escaped_char(text: &str, at: usize, c: char, ends: &mut Vec<usize>) {
    if text[at..].starts_with(c) {
        ends.push(at + c.len_utf8());
    }
    if let Some((decoded, end)) = decode_escape(text, at)
        && decoded == c
    {
        ends.push(end);
    }
}

/// The character an escape at byte `at` of `text` stands for, and where the escape ends:
/// `\"`, `\\`, `\/`, `\'`, `\n`, `\t`, `\r`, `\b`, `\f`, `\a`, `\v`, `\0`, `\e`, `\xHH`,
/// `\uXXXX` (a surrogate pair as two), `\u{X...}`, `\UXXXXXXXX`; hex digits in either case.
fn decode_escape(text: &str, at: usize) -> Option<(char, usize)> {
    let bytes = &text.as_bytes()[at..];
    if bytes.first() != Some(&b'\\') {
        return None;
    }
    let short = |c: char| Some((c, at + 2));
    match *bytes.get(1)? {
        b'"' => short('"'),
        b'\\' => short('\\'),
        b'/' => short('/'),
        b'\'' => short('\''),
        b'n' => short('\n'),
        b't' => short('\t'),
        b'r' => short('\r'),
        b'b' => short('\u{8}'),
        b'f' => short('\u{c}'),
        b'a' => short('\u{7}'),
        b'v' => short('\u{b}'),
        b'0' => short('\0'),
        b'e' => short('\u{1b}'),
        b'x' => Some((char::from_u32(hex_at(text, at + 2, 2)?)?, at + 4)),
        b'u' if bytes.get(2) == Some(&b'{') => {
            let close = bytes.iter().skip(3).take(7).position(|&b| b == b'}')?;
            if close == 0 {
                return None;
            }
            Some((char::from_u32(hex_at(text, at + 3, close)?)?, at + 3 + close + 1))
        }
        b'u' => {
            let unit = hex_at(text, at + 2, 4)?;
            if (0xD800..0xDC00).contains(&unit) {
                // A high surrogate: the low one must follow.
                if bytes.get(6..8) != Some(b"\\u") {
                    return None;
                }
                let low = hex_at(text, at + 8, 4)?;
                let high = u16::try_from(unit).ok()?;
                let low = u16::try_from(low).ok()?;
                let c = char::decode_utf16([high, low]).next()?.ok()?;
                return Some((c, at + 12));
            }
            Some((char::from_u32(unit)?, at + 6))
        }
        b'U' => Some((char::from_u32(hex_at(text, at + 2, 8)?)?, at + 10)),
        _ => None,
    }
}

/// Where `c` can end when it is at byte `at` of `text`, raw or percent-encoded (each UTF-8
/// byte as `%XX`; a space also as `+`); the ends are added to `ends`.
fn percent_char(text: &str, at: usize, c: char, ends: &mut Vec<usize>) {
    if text[at..].starts_with(c) {
        ends.push(at + c.len_utf8());
    }
    if let Some((decoded, end)) = decode_percent(text, at)
        && decoded == c
    {
        ends.push(end);
    }
}

/// The character a percent-encoding at byte `at` of `text` stands for (its UTF-8 bytes as
/// `%XX` each; `+` for a space), and where it ends.
fn decode_percent(text: &str, at: usize) -> Option<(char, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(at) == Some(&b'+') {
        return Some((' ', at + 1));
    }
    let byte = |i: usize| -> Option<u8> {
        if bytes.get(at + 3 * i) != Some(&b'%') {
            return None;
        }
        u8::try_from(hex_at(text, at + 3 * i + 1, 2)?).ok()
    };
    let lead = byte(0)?;
    let len = match lead {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return None,
    };
    let mut buf = [lead, 0, 0, 0];
    for (i, slot) in buf.iter_mut().enumerate().take(len).skip(1) {
        *slot = byte(i)?;
    }
    let c = std::str::from_utf8(&buf[..len]).ok()?.chars().next()?;
    Some((c, at + 3 * len))
}

// ---------------------------------------------------------------------------------------
// URLs

/// Query parameter names (lowercase substrings) whose values are credentials.
const CREDENTIAL_KEYS: &[&str] =
    &["token", "key", "secret", "pass", "pwd", "auth", "sig", "credential", "session", "jwt"];

/// The parts of a URL: `scheme://`, user info, the rest of the authority, path, query and
/// fragment (each without its separator; `None` when absent).
struct UrlParts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn split_url(url: &str) -> UrlParts<'_> {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) =
        if scheme.is_empty() { ("", rest) } else { rest.split_at(rest.find('/').unwrap_or(rest.len())) };
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    UrlParts { scheme, userinfo, host, path, query, fragment }
}

/// Masks the value of each `key=value` pair of a query (a bare `value` entirely).
fn mask_pairs(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !value.is_empty() => format!("{key}={MASK}"),
            Some(_) => pair.to_owned(),
            None if pair.is_empty() => String::new(),
            None => MASK.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Words that make a name look secret (compared whole, case-insensitively, plural `s`
/// dropped): `db_password`, `dbPassword`, `API_KEY`, `auth-token`, `clientSecret`.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "key",
    "apikey",
    "credential",
    "cred",
    "privatekey",
    "secretkey",
    "accesskey",
];

/// Words that say a name is **not** secret even though another word looks so: a public
/// key, Stripe's publishable key.
const PUBLIC_WORDS: &[&str] = &["public", "publishable", "pub"];

/// Whether an output (or variable) name looks like it holds a credential: one of its words
/// is `password`, `passwd`, `pwd`, `passphrase`, `secret`, `token`, `key`, `apikey`,
/// `credential(s)`, `cred(s)`, `privatekey`, `secretkey` or `accesskey` (trailing digits
/// and a plural `s` dropped: `key2`, `tokens`), and none is `public`, `publishable` or `pub`.
///
/// Words are split at anything that is not a letter or a digit (`_`, `-`, `.`, ...) and at
/// camelCase boundaries (`dbPassword` → `db`, `password`; `APIKey` → `api`, `key`), and
/// compared whole: `keyspace`, `monkey`, `tokenizer`, `secretary`, `passport` and
/// `bypass` do not look secret, `public_key` does not either.
pub fn looks_secret(name: &str) -> bool {
    let words = words(name);
    let is = |list: &[&str], w: &str| {
        let w = w.trim_end_matches(|c: char| c.is_ascii_digit());
        list.contains(&w) || w.strip_suffix('s').is_some_and(|w| list.contains(&w))
    };
    words.iter().any(|w| is(SECRET_WORDS, w)) && !words.iter().any(|w| is(PUBLIC_WORDS, w))
}

/// `name` in lowercase words: split at non-alphanumerics and camelCase boundaries (a
/// lowercase letter or digit followed by an uppercase one; an uppercase run followed by an
/// uppercase and a lowercase letter, as in `APIKey`).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_uppercase() && !current.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                words.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `url` with its credentials masked, the rest kept so it stays recognisable:
/// - the password of the user info (`user:********@`); user info without a password is
///   masked whole (`********@`), since that is how tokens are put in URLs;
/// - **every** query value (`?token=********&region=********`): which parameters carry
///   credentials cannot be known (`sig`, `X-Amz-Credential`, `code`, custom names), and the
///   names are enough to recognise the URL;
/// - the values of `key=value` pairs in the fragment (OAuth puts tokens there).
///
/// Scheme, host, port, path and parameter names are kept. Tokens inside path segments cannot
/// be told from paths and are kept.
pub fn mask_url(url: &str) -> String {
    let parts = split_url(url);
    let mut out = String::with_capacity(url.len());
    out.push_str(parts.scheme);
    if let Some(userinfo) = parts.userinfo {
        match userinfo.split_once(':') {
            Some((user, password)) if !password.is_empty() => {
                out.push_str(user);
                out.push(':');
                out.push_str(MASK);
            }
            Some(_) => out.push_str(userinfo),
            None if userinfo.is_empty() => {}
            None => out.push_str(MASK),
        }
        out.push('@');
    }
    out.push_str(parts.host);
    out.push_str(parts.path);
    if let Some(query) = parts.query {
        out.push('?');
        out.push_str(&mask_pairs(query));
    }
    if let Some(fragment) = parts.fragment {
        out.push('#');
        out.push_str(&if fragment.contains('=') { mask_pairs(fragment) } else { fragment.to_owned() });
    }
    out
}

/// Every URL (`scheme://...`, up to whitespace, a quote, `<`, `>` or `\`) in `text`, masked
/// with [`mask_url`].
pub fn mask_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("://") {
        // The scheme: letters, digits, `+`, `-`, `.` before `://`.
        let scheme_start = rest[..found]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(found, |(i, _)| i);
        let after = found + 3;
        let end = rest[after..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`'))
            .map_or(rest.len(), |e| after + e);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&mask_url(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The credentials of a URL worth hiding wherever they show up (an error body echoing
/// them): the user info's password (its user name when it has no password), and the values
/// of query parameters whose names look like credentials (`token`, `key`, `secret`,
/// `password`, `sig`, `auth`...), each as written and percent-decoded.
pub fn url_credentials(url: &str) -> Vec<String> {
    let parts = split_url(url);
    let mut raw: Vec<&str> = Vec::new();
    if let Some(userinfo) = parts.userinfo {
        raw.push(userinfo.split_once(':').map_or(userinfo, |(_, password)| password));
    }
    for pairs in [parts.query, parts.fragment].into_iter().flatten() {
        for pair in pairs.split('&') {
            if let Some((key, value)) = pair.split_once('=') {
                let key = percent_decode(key).to_ascii_lowercase();
                if CREDENTIAL_KEYS.iter().any(|k| key.contains(k)) {
                    raw.push(value);
                }
            }
        }
    }
    let mut out = Vec::new();
    for value in raw.into_iter().filter(|v| !v.is_empty()) {
        out.push(value.to_owned());
        out.push(percent_decode(value));
    }
    out.sort();
    out.dedup();
    out
}

/// Percent-decoding (`+` as a space); invalid UTF-8 is replaced.
fn percent_decode(text: &str) -> String {
    crate::encoding::percent_decode(text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_secret() {
        for name in [
            "password",
            "PASSWORD",
            "db_password",
            "dbPassword",
            "DB-PASSWORD",
            "admin.passwd",
            "pwd",
            "secret",
            "client_secret",
            "clientSecret",
            "secrets",
            "token",
            "auth-token",
            "authToken",
            "GITHUB_TOKEN",
            "key",
            "api_key",
            "apiKey",
            "APIKey",
            "apikey",
            "API_KEYS",
            "access_key_id",
            "aws_secret_key",
            "secretkey",
            "private_key",
            "privateKey",
            "credentials",
            "passphrase",
            "key2",
        ] {
            assert!(looks_secret(name), "{name} should look secret");
        }
        for name in [
            "host",
            "port",
            "username",
            "keyspace",
            "monkey",
            "turkey",
            "tokenizer",
            "secretary",
            "passport",
            "bypass",
            "hotkeys_enabled",
            "public_key",
            "publicKey",
            "stripe_publishable_key",
            "PUB_KEY",
            "database",
            "url",
            "",
            "__",
        ] {
            assert!(!looks_secret(name), "{name} should not look secret");
        }
    }

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "<redacted> Secret(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
        let r = Redactor::new(["hunter2"]);
        assert_eq!(format!("{r:?}"), "Redactor { values: 1, .. }");
    }

    #[test]
    fn redaction_replaces_whole_overlapping_matches_and_skips_tiny_values() {
        let r = Redactor::new(["hunter2", "hunter2-extended", "ab"]);
        assert_eq!(r.redact("pw=hunter2-extended and hunter2, ab"), "pw=******** and ********, ab");
        // Two secrets overlapping in the text: nothing of either survives.
        let r = Redactor::new(["abcdef1234", "1234zzzz"]);
        assert_eq!(r.redact("x abcdef1234zzzz y"), "x ******** y");
        // Overlapping occurrences of one secret.
        let r = Redactor::new(["abab"]);
        assert_eq!(r.redact("ababab!"), "********!");
        assert!(!r.redact("abab").contains("ab"));
    }

    #[test]
    fn every_encoding_is_redacted() {
        let secret = "p\"w\\d/\n  é<&>\u{1b}😀 tail";
        let r = Redactor::new([secret]);
        for (what, shown) in [
            ("raw", secret.to_owned()),
            ("serde json", json_escape(secret)),
            ("json twice", json_escape(&json_escape(secret))),
            ("go json", r#"p\"w\\d/\n  \u00e9\u003c\u0026\u003e\u001b😀 tail"#.to_owned()),
            ("python ascii json", r#"p\"w\\d\/\n  \u00E9<&>\u001B\ud83d\ude00 tail"#.to_owned()),
            ("go %q", r#"p\"w\\d/\n  é<&>\x1b😀 tail"#.to_owned()),
            ("rust debug", format!("{secret:?}").trim_matches('"').to_owned()),
            ("toml", r#"p\"w\\d/\n  é<&>\u001B\U0001F600 tail"#.to_owned()),
            ("percent", "p%22w%5Cd%2F%0A%20+%C3%A9%3C%26%3E%1B%F0%9F%98%80+tail".to_owned()),
            ("quotes escaped, backslash raw", format!("{}\u{1b}😀 tail", r#"p\"w\d/\n  é<&>"#)),
        ] {
            let text = format!("before {shown} after");
            assert_eq!(r.redact(&text), "before ******** after", "{what}: {shown}");
            assert!(r.finds(&text), "{what}");
        }
    }

    #[test]
    fn multi_line_secrets_are_redacted_line_by_line_and_short_lines_are_kept() {
        let r = Redactor::new(["-----BEGIN KEY-----\nMIIBOgIBAAJBAK\n\nxy\n  -----END KEY-----  \n"]);
        let shown = "error:\n    -----BEGIN KEY-----\n    MIIBOgIBAAJBAK\n    xy\n    -----END KEY-----";
        assert_eq!(r.redact(shown), "error:\n    ********\n    ********\n    xy\n    ********");
        // Lines of spaces are never needles: indentation survives.
        let r = Redactor::new(["abcd\n      \nefgh"]);
        assert_eq!(r.redact("      x"), "      x");
    }

    #[test]
    fn numbers_are_hidden_and_booleans_are_not() {
        let r = Redactor::default();
        r.add_json(&serde_json::json!({"pin": 839_201, "tls": true, "nested": {"list": ["s3cr3t"]}}));
        assert_eq!(r.redact("pin 839201 tls true s3cr3t"), "pin ******** tls true ********");
    }

    #[test]
    fn fly_tokens_are_hidden_whole_and_by_macaroon() {
        let r = Redactor::default();
        r.add_token("FlyV1 fm2_aaaaaaaa,fm2_bbbbbbbb");
        assert_eq!(
            r.redact("Authorization: FlyV1 fm2_aaaaaaaa,fm2_bbbbbbbb; one: fm2_bbbbbbbb"),
            "Authorization: ********; one: ********"
        );
    }

    #[test]
    fn url_credentials_are_masked() {
        for (url, masked) in [
            (
                "http://user:p%40ss@host:8080/path?token=abc&region=ams#x",
                "http://user:********@host:8080/path?token=********&region=********#x",
            ),
            ("https://ghp_token@github.com/x", "https://********@github.com/x"),
            ("https://host/x?flag&empty=&k=v", "https://host/x?********&empty=&k=********"),
            ("https://host/cb#access_token=abc&state=1", "https://host/cb#access_token=********&state=********"),
            ("https://host/plain", "https://host/plain"),
            ("ftp://a:b@h", "ftp://a:********@h"),
            ("no scheme?x=1", "no scheme?x=********"),
        ] {
            assert_eq!(mask_url(url), masked, "{url}");
        }
        assert_eq!(
            mask_urls("see https://fly.io/docs: ok, \"postgres://u:pw@h:5432/db?sslmode=x\" and s3://b"),
            "see https://fly.io/docs: ok, \"postgres://u:********@h:5432/db?sslmode=********\" and s3://b"
        );
        assert_eq!(
            url_credentials("http://admin:p%40ss@h/x?token=t%2Bk&region=ams&X-Amz-Signature=sig"),
            ["p%40ss", "p@ss", "sig", "t%2Bk", "t+k"]
        );
        assert_eq!(url_credentials("https://ghp_abc@github.com/"), ["ghp_abc"]);
    }

    /// Encoders of the syntaxes the redactor claims to see through, written independently
    /// of it (except serde's JSON and the `toml` crate, which are the real thing).
    mod encode {
        use std::fmt::Write as _;

        pub(super) fn json(s: &str) -> String {
            super::json_escape(s)
        }

        /// Non-ASCII as `\uXXXX` (surrogate pairs beyond the BMP), as Python's `json.dumps`.
        pub(super) fn ascii_json(s: &str, upper: bool) -> String {
            let mut out = String::new();
            for c in json(s).chars() {
                if c.is_ascii() {
                    out.push(c);
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        let _ = if upper { write!(out, "\\u{unit:04X}") } else { write!(out, "\\u{unit:04x}") };
                    }
                }
            }
            out
        }

        /// Go's `encoding/json`: HTML characters and U+2028/9 escaped too.
        pub(super) fn go_json(s: &str) -> String {
            json(s)
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026")
                .replace('\u{2028}', "\\u2028")
                .replace('\u{2029}', "\\u2029")
        }

        /// Go's `%q`.
        pub(super) fn go_quote(s: &str) -> String {
            let mut out = String::new();
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    '\u{7}' => out.push_str("\\a"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{b}' => out.push_str("\\v"),
                    '\u{c}' => out.push_str("\\f"),
                    c if c < ' ' || c == '\u{7f}' => {
                        let _ = write!(out, "\\x{:02x}", u32::from(c));
                    }
                    '\u{2028}' | '\u{2029}' => {
                        let _ = write!(out, "\\u{:04x}", u32::from(c));
                    }
                    c => out.push(c),
                }
            }
            out
        }

        /// The content of the TOML string the `toml` crate writes (basic, literal or
        /// multi-line), without its delimiters.
        pub(super) fn toml(s: &str) -> String {
            let doc = toml::to_string(&std::collections::BTreeMap::from([("k", s)])).expect("toml");
            let value = doc.strip_prefix("k = ").expect("key").strip_suffix('\n').expect("newline");
            for delimiter in ["\"\"\"", "\'\'\'", "\"", "'"] {
                if let Some(inner) = value.strip_prefix(delimiter).and_then(|v| v.strip_suffix(delimiter)) {
                    return inner.to_owned();
                }
            }
            panic!("unexpected TOML string {value}");
        }

        /// Percent-encoding of every byte but unreserved ones; spaces as `+` when `plus`.
        pub(super) fn percent(s: &str, plus: bool) -> String {
            let out = crate::encoding::percent_encode(s, b"-._~");
            if plus { out.replace("%20", "+") } else { out }
        }
    }

    /// Characters that escaping treats specially, and some that it does not.
    const SPECIAL: &[char] = &[
        '"', '\\', '\'', '/', '\n', '\t', '\r', ' ', '<', '>', '&', '%', '+', '=', '\u{1b}', '\0', '\u{7f}', 'é', '✓',
        '😀', '\u{2028}', '#', '?', '@', ':',
    ];

    /// Secrets of 4 to 40 characters, about half of them special, none a `*` (the mask's).
    fn secrets() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let char = prop_oneof![
            3 => proptest::char::range('a', 'z'),
            1 => proptest::char::range('A', 'Z'),
            3 => proptest::sample::select(SPECIAL),
            1 => any::<char>().prop_filter("not the mask", |c| *c != '*'),
        ];
        proptest::collection::vec(char, 4..40)
            .prop_map(|chars| chars.into_iter().collect::<String>())
            .prop_filter("something visible", |s| !s.trim().is_empty())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// In every encoding, between any text, the secret is gone after redaction.
        #[test]
        fn no_encoding_of_a_secret_survives(secret in secrets(), before in "[a-z \"\\\\:{]{0,8}", after in "[a-z \"\\\\}]{0,8}") {
            let redactor = Redactor::new([secret.as_str()]);
            let debug = format!("{secret:?}");
            let encodings = [
                ("raw", secret.clone()),
                ("json", encode::json(&secret)),
                ("json with \\/", encode::json(&secret).replace('/', "\\/")),
                ("ascii json", encode::ascii_json(&secret, false)),
                ("ascii json, upper hex", encode::ascii_json(&secret, true)),
                ("go json", encode::go_json(&secret)),
                ("json twice", encode::json(&encode::json(&secret))),
                ("go %q", encode::go_quote(&secret)),
                ("rust debug", debug[1..debug.len() - 1].to_owned()),
                ("toml", encode::toml(&secret)),
                ("percent", encode::percent(&secret, false)),
                ("percent, + for space", encode::percent(&secret, true)),
                ("quotes escaped only", secret.replace('"', "\\\"")),
            ];
            for (what, encoded) in encodings {
                let text = format!("{before}{encoded}{after}");
                let redacted = redactor.redact(&text);
                proptest::prop_assert!(!redacted.contains(&encoded), "{what}: {encoded:?} survives in {redacted:?}");
                proptest::prop_assert!(redactor.finds(&text), "{what}");
            }
        }

        /// Shown line by line (indented, as an error quotes output), no line of at least
        /// [`MIN_REDACTED_BYTES`] (trimmed) survives, in any of its encodings.
        #[test]
        fn no_long_line_of_a_multi_line_secret_survives(lines in proptest::collection::vec(secrets(), 2..5)) {
            let secret = lines.join("\n");
            let redactor = Redactor::new([secret.as_str()]);
            for line in secret.split('\n') {
                let trimmed = line.trim();
                for shown in [line.to_owned(), encode::json(line), encode::go_quote(line)] {
                    let redacted = redactor.redact(&format!("error:\n    {shown}\n    next"));
                    if trimmed.len() >= MIN_REDACTED_BYTES {
                        proptest::prop_assert!(!redacted.contains(trimmed), "{trimmed:?} survives in {redacted:?}");
                    }
                    proptest::prop_assert!(redacted.starts_with("error:\n    ") && redacted.ends_with("\n    next"));
                }
            }
        }

        /// Text holding no part of a secret is left as it is.
        #[test]
        fn other_text_is_untouched(secret in secrets(), text in "[A-Z0-9 .,:()]{0,80}") {
            let secret = format!("{secret}x");
            proptest::prop_assert_eq!(Redactor::new([secret.as_str()]).redact(&text), text);
        }
    }
}
