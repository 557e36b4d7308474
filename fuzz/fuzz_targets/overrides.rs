//! (c) `--override-property` paths (and an `--overrides-file`) through `spec::load`: no
//! panic; an accepted result round-trips through JSON.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        score_fly_fuzz::overrides_properties(text);
    }
});
