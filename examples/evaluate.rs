//! Score the shipped default model on the held-out split, and cross-validate two settings on the
//! training split, with the library alone.
//!
//! Run from the repository root with `cargo run --release --example evaluate`.

use std::path::Path;

use newsclass::cv::{cross_validate, Grid};
use newsclass::data::{read_path, DataSpec};
use newsclass::{Pipeline, PipelineParams};

fn main() -> newsclass::Result<()> {
    let spec = DataSpec::default(); // columns text, topic, stance
    let model = Pipeline::load(Path::new("models/default.newsclass"))?;
    let test = read_path(Path::new("data/test.csv"), &spec)?;
    let report = model.evaluate(&test)?;
    for (head, r) in &report.heads {
        println!(
            "{head}: accuracy {:.4}, macro-F1 {:.4} on {} rows",
            r.accuracy, r.macro_f1, report.n
        );
    }

    // Grouped 3-fold CV on the first 1,000 training rows, for two values of C.
    let spec = DataSpec {
        group: Some(newsclass::data::Column::Name("article".into())),
        ..DataSpec::default()
    };
    let train = read_path(Path::new("data/train.csv"), &spec)?;
    let rows: Vec<usize> = (0..1000.min(train.len())).collect();
    let grid = Grid::new(PipelineParams::default().sublinear_tf(true)).c([1.0, 10.0]);
    let cv = cross_validate(&grid, &train.select(&rows), 3, &mut |i, n, p| {
        eprintln!("setting {}/{n}: C = {}", i + 1, p.logistic.c)
    })?;
    for s in &cv.settings {
        println!(
            "C = {:>4}: mean macro-F1 over heads {:.4}",
            s.params.logistic.c, s.mean_macro_f1
        );
    }
    println!("best: C = {}", cv.best().params.logistic.c);
    Ok(())
}
