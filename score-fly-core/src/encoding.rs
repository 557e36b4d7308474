//! The byte encoders written once: lowercase hex, percent-encoding and -decoding.

use std::fmt::Write as _;

/// Lowercase hex of `bytes` (`[0xab, 1]` → `ab01`).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Percent-encoding (`%XX`, uppercase) of every byte but ASCII letters, digits and those in
/// `keep` (`b"-._~"`: RFC 3986's unreserved characters).
pub fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Percent-decoding: `%XX` (two hex digits) is a byte, anything else stays as it is (`+`
/// becomes a space when `plus_is_space`, as in form encoding); invalid UTF-8 is replaced.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let raw = text.as_bytes();
    let digit = |at: usize| raw.get(at).and_then(|b| char::from(*b).to_digit(16));
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match (raw[i], digit(i + 1), digit(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                bytes.push(u8::try_from(high * 16 + low).expect("two hex digits"));
                i += 3;
            }
            (b'+', ..) if plus_is_space => {
                bytes.push(b' ');
                i += 1;
            }
            (b, ..) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_percent_round_trip() {
        assert_eq!(hex(&[0xab, 0x01, 0xff]), "ab01ff");
        assert_eq!(percent_encode("repository:a/b:pull", b"-._~"), "repository%3Aa%2Fb%3Apull");
        assert_eq!(percent_encode("/etc/a b.conf", b"._-"), "%2Fetc%2Fa%20b.conf");
        for text in ["p@ss w:rd/+%é", "", "%", "%4", "%zz"] {
            assert_eq!(percent_decode(&percent_encode(text, b"-._~"), false), text);
        }
        assert_eq!(percent_decode("a+b%2Bc", true), "a b+c");
        assert_eq!(percent_decode("a+b%2Bc", false), "a+b+c");
        // Only two hex digits make a byte: `%+1` is not 0x01, `%4` and `%zz` stay.
        assert_eq!(percent_decode("%+1%4%zz%41", false), "%+1%4%zzA");
    }

    proptest::proptest! {
        /// Any text survives encoding and decoding; decoding any text never panics.
        #[test]
        fn percent_round_trips_any_text(text in ".{0,64}", noise in "[%+0-9a-fA-Fz ]{0,32}") {
            proptest::prop_assert_eq!(percent_decode(&percent_encode(&text, b"-._~"), false), text.clone());
            let _ = percent_decode(&format!("{noise}{text}"), true);
        }
    }
}
