//! libFuzzer target: the restore manifest parser and checker (see fuzz/oracles/manifest.rs).
#![no_main]

include!("../oracles/manifest.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| manifest_case(data));
