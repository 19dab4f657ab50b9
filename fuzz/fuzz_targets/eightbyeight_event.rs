//! Fuzz target `eightbyeight_event`: see `pulsar_eventstream::__fuzz::eightbyeight_event`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsar_eventstream::__fuzz::eightbyeight_event(data));
