//! Embeds the default model (`../models/default.newsclass`) for `Model.default()` when it exists.
use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(newsclass_default_model)");
    println!("cargo::rerun-if-changed=../models/default.newsclass");
    if Path::new("../models/default.newsclass").is_file() {
        println!("cargo::rustc-cfg=newsclass_default_model");
    }
}
