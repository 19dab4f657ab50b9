//! Fuzz target `control_reply`: see `pulsar_eventstream::__fuzz::control_reply`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsar_eventstream::__fuzz::control_reply(data));
