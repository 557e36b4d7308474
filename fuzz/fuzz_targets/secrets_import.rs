//! (e) flyctl's secrets format: whatever `import_text` writes, flyctl's parser reads back
//! as the same secrets.
#![no_main]

libfuzzer_sys::fuzz_target!(|pairs: Vec<(String, String)>| {
    score_fly_fuzz::secrets_properties(pairs);
});
