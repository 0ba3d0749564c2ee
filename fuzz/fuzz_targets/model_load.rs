//! The model loader on arbitrary and on mutated valid model bytes (see `harness::model_load`).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::model_load(data));
