//! libFuzzer target: xclone's command-line parser, arguments separated by NUL bytes (see
//! fuzz/oracles/options.rs).
#![no_main]

include!("../oracles/options.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| options_case(data));
