#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rdptriage_fuzz::proto_inner(data));
