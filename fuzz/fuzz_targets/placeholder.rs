//! (b) Placeholder parsing, checking and expansion: no panic; `$$` escaping and
//! parse/unparse round trips.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        score_fly_fuzz::placeholder_properties(text);
    }
});
