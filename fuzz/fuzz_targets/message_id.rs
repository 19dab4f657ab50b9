//! Fuzz target `message_id`: see `pulsar_eventstream::__fuzz::message_id`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsar_eventstream::__fuzz::message_id(data));
