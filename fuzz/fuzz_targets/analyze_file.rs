#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rdptriage_fuzz::analyze_file(data));
