//! (g) `fly.patch.toml` files through parse → apply (merge, refusals, check): no panic; an
//! accepted result keeps the app and round-trips through TOML.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        score_fly_fuzz::patch(text);
    }
});
