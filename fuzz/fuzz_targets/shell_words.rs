//! (h) Release command lines split as a shell splits them: no panic, quoting round-trips.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        score_fly_fuzz::shell_words(text);
    }
});
