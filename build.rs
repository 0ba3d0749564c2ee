//! Embeds the built-in models (`models/default.newsclass`, the TF-IDF + sentence-encoder model,
//! and `models/fast.newsclass`, the TF-IDF-only model) into the binary when they exist.
use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(newsclass_default_model)");
    println!("cargo::rustc-check-cfg=cfg(newsclass_fast_model)");
    println!("cargo::rerun-if-changed=models/default.newsclass");
    println!("cargo::rerun-if-changed=models/fast.newsclass");
    println!("cargo::rerun-if-changed=models");
    if Path::new("models/default.newsclass").is_file() {
        println!("cargo::rustc-cfg=newsclass_default_model");
    }
    if Path::new("models/fast.newsclass").is_file() {
        println!("cargo::rustc-cfg=newsclass_fast_model");
    }
}
