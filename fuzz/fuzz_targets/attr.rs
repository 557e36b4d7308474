//! (d) The `#[score_workload]` attribute parser: no panic; an accepted workload is a Score
//! document that loads back equal.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        score_fly_fuzz::attr_properties(text);
    }
});
