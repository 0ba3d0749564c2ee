//! Replays the inputs the fuzz targets (`fuzz/`) once crashed on, through the same code the
//! targets run (`fuzz/harness.rs`): every file under `fuzz/regressions/TARGET/` must now pass
//! the target's checks without a panic.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

/// Every saved input of `target`, with its file name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut v: Vec<(String, Vec<u8>)> = entries
        .map(|e| {
            let path = e.expect("a directory entry").path();
            let bytes = std::fs::read(&path).expect("read a regression input");
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect();
    v.sort();
    v
}

fn replay(target: &str, run: fn(&[u8])) {
    for (name, bytes) in inputs(target) {
        if std::panic::catch_unwind(|| run(&bytes)).is_err() {
            panic!("fuzz/regressions/{target}/{name} fails again");
        }
    }
}

#[test]
fn readers_regressions() {
    replay("readers", harness::readers);
}

#[test]
fn predict_regressions() {
    replay("predict", harness::predict);
}

#[test]
fn model_load_regressions() {
    replay("model_load", harness::model_load);
}

/// `fuzz/regressions/readers/column-number-zero`: a CSV spec without a header whose id column
/// is `Column::Number(0)` (DataSpec's fields are public) underflowed `n - 1`, a panic in debug
/// builds and a misleading "missing field" error in release builds. It is now an
/// `InvalidParam`.
#[test]
fn column_number_zero_is_an_invalid_param() {
    use newsclass::data::{read_bytes, DataFormat};
    let input = include_bytes!("../fuzz/regressions/readers/column-number-zero");
    let (format, spec) = harness::reader_spec([input[0], input[1]]);
    assert_eq!(format, DataFormat::Csv);
    assert_eq!(
        spec.id,
        Some(newsclass::data::Column::Number(0)),
        "the saved input still picks column 0"
    );
    let e = read_bytes(Path::new("fuzz.csv"), &input[2..], format, &spec).unwrap_err();
    assert!(
        matches!(e, newsclass::Error::InvalidParam { name: "column", .. }),
        "{e}"
    );
}

/// `fuzz/regressions/model_load/logits-overflow-to-minus-inf`: the small model with runs of
/// weights set to -3.2e38 (finite, so the loader accepted them before model files had checksums)
/// overflowed every logit of a head to -inf, and the softmax gave NaN probabilities. Since format
/// 2 the mutated file is refused by its section checksums; if it loads (it must not), it must
/// still predict finite probabilities. The softmax itself is tested on such logits in
/// `logistic::tests::overflowing_logits_still_give_probabilities`.
#[test]
fn overflowing_weights_give_finite_probabilities() {
    let input = include_bytes!("../fuzz/regressions/model_load/logits-overflow-to-minus-inf");
    let bytes = harness::mutated_model(input);
    match newsclass::Pipeline::from_bytes(&bytes) {
        Err(newsclass::Error::BadModel(newsclass::ModelError::Checksum { .. })) => {}
        Err(e) => panic!("refused for another reason than its checksum: {e}"),
        Ok(model) => harness::check_loaded(&model),
    }
}
