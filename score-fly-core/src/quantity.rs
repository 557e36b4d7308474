//! Kubernetes-style CPU and memory quantities as the Score schema writes them.
//!
//! CPU: `^\d+(?:m|\.\d+)?$` (`2`, `0.5`, `250m`). Memory:
//! `^(0\.\d+|[1-9]\d*(\.\d+)?)(K|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$` (`128M` = 128·10⁶ bytes,
//! `1Gi` = 2³⁰ bytes). Arithmetic is exact (integers), fractions round up.

/// Whether `s` matches the schema's CPU pattern.
pub fn is_cpu(s: &str) -> bool {
    parse_cpu_millis(s).is_some()
}

/// Whether `s` matches the schema's memory pattern.
pub fn is_memory(s: &str) -> bool {
    parse_memory_bytes(s).is_some()
}

/// CPU quantity in millicores, rounded up (`0.0001` → 1). `None` if it doesn't match the pattern.
pub fn parse_cpu_millis(s: &str) -> Option<u64> {
    if let Some(millis) = s.strip_suffix('m') {
        return digits(millis)?.parse().ok();
    }
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (digits(int)?, Some(digits(frac)?)),
        None => (digits(s)?, None),
    };
    let whole: u64 = int.parse().ok()?;
    let mut millis = whole.checked_mul(1000)?;
    if let Some(frac) = frac {
        let (head, tail) = frac.split_at(frac.len().min(3));
        let head_value: u64 = format!("{head:0<3}").parse().ok()?;
        millis = millis.checked_add(head_value)?;
        if tail.bytes().any(|b| b != b'0') {
            millis = millis.checked_add(1)?;
        }
    }
    Some(millis)
}

/// Memory quantity in bytes, rounded up. `None` if it doesn't match the pattern.
pub fn parse_memory_bytes(s: &str) -> Option<u128> {
    const SUFFIXES: &[(&str, u128)] = &[
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("Pi", 1 << 50),
        ("Ei", 1 << 60),
        ("K", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("P", 1_000_000_000_000_000),
        ("E", 1_000_000_000_000_000_000),
    ];
    let (number, unit) =
        SUFFIXES.iter().find_map(|(suffix, unit)| s.strip_suffix(suffix).map(|n| (n, *unit))).unwrap_or((s, 1));
    let (int, frac) = match number.split_once('.') {
        Some((int, frac)) => (digits(int)?, digits(frac)?),
        None => (digits(number)?, ""),
    };
    // `0.5` is allowed, `0`, `01` and `00.5` are not.
    if int.starts_with('0') && (int.len() > 1 || frac.is_empty()) {
        return None;
    }
    let mantissa: u128 = format!("{int}{frac}").parse().ok()?;
    let scale = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    let bytes = mantissa.checked_mul(unit)?;
    Some(bytes.div_ceil(scale))
}

/// `s` if it is one or more ASCII digits.
fn digits(s: &str) -> Option<&str> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu() {
        assert_eq!(parse_cpu_millis("1"), Some(1000));
        assert_eq!(parse_cpu_millis("250m"), Some(250));
        assert_eq!(parse_cpu_millis("0.5"), Some(500));
        assert_eq!(parse_cpu_millis("0.24"), Some(240));
        assert_eq!(parse_cpu_millis("1.25"), Some(1250));
        assert_eq!(parse_cpu_millis("0.0001"), Some(1));
        assert_eq!(parse_cpu_millis("1000m"), Some(1000));
        for bad in ["1.5m", ".5", "-1", "abc", "", "1.", "1e3", "1 ", "٣"] {
            assert_eq!(parse_cpu_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn memory() {
        assert_eq!(parse_memory_bytes("128M"), Some(128_000_000));
        assert_eq!(parse_memory_bytes("1Gi"), Some(1 << 30));
        assert_eq!(parse_memory_bytes("0.5Gi"), Some(1 << 29));
        assert_eq!(parse_memory_bytes("1.5G"), Some(1_500_000_000));
        assert_eq!(parse_memory_bytes("256"), Some(256));
        assert_eq!(parse_memory_bytes("10Gi"), Some(10 << 30));
        assert_eq!(parse_memory_bytes("0.1"), Some(1));
        for bad in ["0", "01M", "1Mi2", "1MB", "1.G", "1m", "00.5", "", "Mi", "-1M", ".5M"] {
            assert_eq!(parse_memory_bytes(bad), None, "{bad}");
        }
    }
}
