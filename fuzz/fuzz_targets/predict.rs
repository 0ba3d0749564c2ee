//! Sentence splitter + tokenizer + predict on arbitrary text (see `harness::predict`).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::predict(data));
