//! Fuzz target `message_frame`: see `pulsar_eventstream::__fuzz::message_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsar_eventstream::__fuzz::message_frame(data));
