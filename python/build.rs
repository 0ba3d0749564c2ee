//! Embeds the built-in models when they exist: `../models/default.newsclass` (the TF-IDF +
//! sentence-encoder model) for `Model.default()` and `../models/fast.newsclass` (the
//! TF-IDF-only model) for `Model.fast()`.
use std::path::Path;

fn main() {
    for (name, cfg) in [
        ("default", "newsclass_default_model"),
        ("fast", "newsclass_fast_model"),
    ] {
        let path = format!("../models/{name}.newsclass");
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-changed={path}");
        if Path::new(&path).is_file() {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
