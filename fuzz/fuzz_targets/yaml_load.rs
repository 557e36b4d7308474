//! (a) The YAML loader and validator: no panic; an accepted workload round-trips through JSON.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        score_fly_fuzz::load_round_trip(text, &score_fly_core::spec::Overrides::default());
    }
});
