//! Fuzz target `topic`: see `pulsar_eventstream::__fuzz::topic`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsar_eventstream::__fuzz::topic(data));
