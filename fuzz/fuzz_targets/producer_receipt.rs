//! Fuzz target `producer_receipt`: see `pulsar_eventstream::__fuzz::producer_receipt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsar_eventstream::__fuzz::producer_receipt(data));
