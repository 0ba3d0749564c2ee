//! The CSV and JSONL readers on arbitrary bytes (see `harness::readers`).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::readers(data));
