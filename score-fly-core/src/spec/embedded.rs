//! The workload a `#[score_workload]` binary carries: the macro embeds the workload JSON
//! between two markers ([`embedded`]), `build` finds it again ([`find_embedded`]) to check
//! that the binary matches its source. Written once, for both (needs no `syn`).

/// Marker around the workload JSON that the macro embeds in a binary.
pub const EMBED_START: &str = "\u{0}SCORE-FLY-WORKLOAD-V1\u{0}";
/// End marker of the embedded workload.
pub const EMBED_END: &str = "\u{0}END-SCORE-FLY-WORKLOAD\u{0}";

/// The bytes `#[score_workload]` embeds in a binary for `workload_json`: the one writer of
/// the format [`find_embedded`] reads.
pub fn embedded(workload_json: &str) -> Vec<u8> {
    [EMBED_START.as_bytes(), workload_json.as_bytes(), EMBED_END.as_bytes()].concat()
}

/// Finds the workload JSON a `#[score_workload]` binary carries (written by [`embedded`]).
pub fn find_embedded(binary: &[u8]) -> Option<&str> {
    let start = find(binary, EMBED_START.as_bytes())? + EMBED_START.len();
    let len = find(&binary[start..], EMBED_END.as_bytes())?;
    std::str::from_utf8(&binary[start..start + len]).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_workloads_are_found() {
        let mut binary = b"\x7fELF....".to_vec();
        binary.extend_from_slice(&embedded("{\"a\":1}"));
        binary.extend_from_slice(b"rest");
        assert_eq!(find_embedded(&binary), Some("{\"a\":1}"));
        assert_eq!(embedded("{}"), format!("{EMBED_START}{{}}{EMBED_END}").into_bytes(), "the markers around it");
        assert_eq!(find_embedded(b"nothing here"), None);
    }
}
