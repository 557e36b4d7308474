//! (a) with structure: hostile YAML shapes (deep nesting, alias fan-out, many keys, long
//! scalars) with fuzzer-chosen sizes, placed in a valid Score document; each loads or is
//! refused within the limits.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: (score_fly_fuzz::Shape, score_fly_fuzz::Place)| {
    let text = score_fly_fuzz::shaped_document(&input.0, &input.1);
    score_fly_fuzz::load_round_trip(&text, &score_fly_core::spec::Overrides::default());
});
