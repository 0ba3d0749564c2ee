//! newsclass as a linfa estimator (feature `linfa`): the `Records`, `Fit`, `PredictInplace` and
//! error conversions of `newsclass::linfa`, checked against linfa-logistic.
//!
//! Run with `--nocapture` to see the largest differences from linfa-logistic.
#![cfg(feature = "linfa")]

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2, Ix1};
use newsclass::linfa::{dense_to_csr, FittedLogistic};
use newsclass::model::logistic::LogisticParams;
use newsclass::sparse::{CsrMatrix, SparseVec};
use newsclass::Error;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Largest allowed difference in class probabilities from linfa-logistic.
const PROBA_TOL: f64 = 1e-3;

/// A deterministic, overlapping (not separable) problem: `n` rows × 6 features, 4 classes
/// (class `i % 4`), Gaussian-like noise around a center per class, and about a quarter of the
/// values zeroed so that the sparse rows really are sparse.
fn problem(n: usize) -> Dataset<f64, usize, Ix1> {
    let centers = [
        [1.0, 0.0, -0.5, 0.0, 0.5, 0.0],
        [0.0, 1.0, 0.5, -0.5, 0.0, 0.25],
        [-0.5, -0.5, 0.0, 1.0, 0.0, 0.5],
        [0.0, 0.5, 1.0, 0.0, -1.0, 0.0],
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(20_240_611);
    let mut records = Array2::<f64>::zeros((n, 6));
    let mut targets = Array1::<usize>::zeros(n);
    for i in 0..n {
        let c = i % 4;
        for j in 0..6 {
            // Sum of three uniforms: bell-shaped noise with standard deviation 0.5.
            let noise: f64 = (0..3).map(|_| rng.random::<f64>() - 0.5).sum();
            if rng.random::<f64>() >= 0.25 {
                records[[i, j]] = centers[c][j] + noise;
            }
        }
        targets[i] = c;
    }
    Dataset::new(records, targets)
}

fn tight(c: f64) -> LogisticParams {
    LogisticParams::default().c(c).tol(1e-10).max_iter(100_000)
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn fit_and_predict_match_linfa_logistic() {
    // linfa-logistic minimizes −Σ log softmax + (alpha/2)‖W‖² without penalizing the intercept;
    // with alpha = 1/C that is newsclass's objective divided by C: the same minimizer.
    let dataset = problem(400);
    let sparse = DatasetBase::new(dense_to_csr(dataset.records()), dataset.targets().clone());
    assert!(
        sparse.records().nnz() < 400 * 6 * 4 / 5,
        "the sparse copy skips zeros"
    );
    for c in [0.1, 1.0, 10.0] {
        let reference = MultiLogisticRegression::default()
            .alpha(1.0 / c)
            .gradient_tolerance(1e-10)
            .max_iterations(10_000)
            .fit(&dataset)
            .expect("linfa-logistic fits");
        let ref_proba = reference.predict_probabilities(dataset.records());
        let ref_pred: Array1<usize> = reference.predict(dataset.records());

        let params = tight(c).check().expect("valid parameters");
        let dense: FittedLogistic<usize> = params.fit(&dataset).expect("dense fit");
        let from_csr: FittedLogistic<usize> = params.fit(&sparse).expect("sparse fit");
        for (path, fitted) in [("dense", &dense), ("csr", &from_csr)] {
            assert!(
                fitted.report().converged,
                "{path}, C={c}: {:?}",
                fitted.report()
            );
            assert_eq!(fitted.classes(), reference.classes());
            // Probabilities through both record types.
            let proba_dense = fitted.predict_proba_dense(dataset.records());
            let proba_csr = fitted.predict_proba(sparse.records());
            assert_eq!(
                proba_dense, proba_csr,
                "{path}: dense and sparse records agree"
            );
            let diff = max_abs_diff(&proba_dense, &ref_proba);
            eprintln!("{path} fit, C={c}: max |Δproba| vs linfa-logistic = {diff:.3e}");
            assert!(
                diff <= PROBA_TOL,
                "{path}, C={c}: probabilities differ by {diff:e}"
            );
            // Predictions through linfa's Predict on dense records, on a sparse dataset and on
            // bare sparse records.
            let pred_dense: Array1<usize> = fitted.predict(dataset.records());
            let pred_dataset: Array1<usize> = fitted.predict(&sparse);
            let pred_csr: Array1<usize> = fitted.predict(sparse.records());
            assert_eq!(pred_dense, ref_pred, "{path}, C={c}: predictions differ");
            assert_eq!(pred_dataset, ref_pred);
            assert_eq!(pred_csr, ref_pred);
        }
        // The two paths see the same rows, so they fit the same model.
        assert_eq!(dense.model(), from_csr.model());
    }
}

#[test]
fn predict_works_on_linfa_views_and_builds_a_confusion_matrix() {
    let (train, valid) = problem(400).split_with_ratio(0.75);
    let fitted = tight(1.0).check().unwrap().fit(&train).unwrap();
    let predicted = fitted.predict(&valid);
    let cm = predicted.confusion_matrix(&valid).unwrap();
    assert!(cm.accuracy() > 0.6, "accuracy {}", cm.accuracy());
    // Predict on a dataset returns the targets, and into a dataset keeps the records.
    let dataset = fitted.predict(valid.records().to_owned());
    assert_eq!(dataset.targets(), &predicted);
}

#[test]
fn labels_of_any_type_keep_their_order_beyond_ten_classes() {
    // 12 classes: the solver's zero-padded class names ("00".."11") must sort like the ids, so
    // that column k of the probabilities is classes()[k].
    let n_classes = 12;
    let mut records = Array2::<f64>::zeros((n_classes * 5, n_classes));
    let mut targets = Vec::new();
    for i in 0..n_classes * 5 {
        let c = i % n_classes;
        records[[i, c]] = 1.0;
        targets.push(format!("topic {}", char::from(b'a' + c as u8)));
    }
    let dataset = Dataset::new(records, Array1::from(targets.clone()));
    let fitted = tight(10.0).check().unwrap().fit(&dataset).unwrap();
    let mut sorted = targets.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(fitted.classes(), sorted.as_slice());
    let predicted: Array1<String> = fitted.predict(dataset.records());
    assert_eq!(predicted.to_vec(), targets);
    let proba = fitted.predict_proba_dense(dataset.records());
    for (row, target) in proba.rows().into_iter().zip(&targets) {
        let best = row
            .iter()
            .enumerate()
            .fold(0, |b, (k, &p)| if p > row[b] { k } else { b });
        assert_eq!(&fitted.classes()[best], target);
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn csr_matrix_is_linfa_records() {
    let rows = [
        SparseVec {
            indices: vec![0, 3],
            values: vec![1.0, 2.0],
        },
        SparseVec::default(),
        SparseVec {
            indices: vec![4],
            values: vec![0.5],
        },
    ];
    let x = CsrMatrix::from_rows(&rows, 5);
    assert_eq!(Records::nsamples(&x), 3);
    assert_eq!(Records::nfeatures(&x), 5);
    // linfa's blanket impl for references.
    fn shape<R: Records>(r: R) -> (usize, usize) {
        (r.nsamples(), r.nfeatures())
    }
    assert_eq!(shape(&x), (3, 5));
    let dataset = DatasetBase::new(x, Array1::from(vec![true, false, true]));
    assert_eq!(dataset.nsamples(), 3);
    assert_eq!(dataset.nfeatures(), 5);

    // dense_to_csr skips zeros and keeps the shape.
    let dense = Array2::from_shape_vec((2, 3), vec![0.0f32, 1.5, 0.0, 0.0, 0.0, 0.0]).unwrap();
    let csr = dense_to_csr(&dense);
    assert_eq!((csr.nsamples(), csr.nfeatures()), (2, 3));
    assert_eq!(
        (csr.indptr, csr.indices, csr.values),
        (vec![0, 1, 1], vec![1], vec![1.5])
    );
}

#[test]
fn linfa_errors_convert_and_bad_datasets_are_errors() {
    let e: Error = linfa::Error::MismatchedShapes(3, 2).into();
    assert!(
        matches!(&e, Error::Shape(m) if m.contains("3 - 2")),
        "{e:?}"
    );
    let e: Error = linfa::Error::NotEnoughSamples.into();
    assert!(matches!(e, Error::Shape(_)));

    let params = LogisticParams::default().check().unwrap();
    // Records and targets of different lengths.
    let dataset = DatasetBase::new(Array2::<f64>::ones((3, 2)), Array1::from(vec![0usize, 1]));
    assert!(matches!(
        params.fit(&dataset).map(|m: FittedLogistic<usize>| m.classes().len()),
        Err(Error::Shape(m)) if m.contains("3 - 2")
    ));
    // A single class.
    let dataset = Dataset::new(Array2::<f64>::ones((3, 2)), Array1::from(vec![7usize; 3]));
    assert!(matches!(params.fit(&dataset), Err(Error::Shape(_))));
    // A non-finite value.
    let mut records = Array2::<f64>::ones((4, 2));
    records[[2, 1]] = f64::NAN;
    let dataset = Dataset::new(records, Array1::from(vec![0usize, 1, 0, 1]));
    assert!(matches!(
        params.fit(&dataset),
        Err(Error::Shape(m)) if m.contains("row 2, column 1")
    ));
    // No rows.
    let dataset = Dataset::new(Array2::<f64>::zeros((0, 2)), Array1::<usize>::zeros(0));
    assert!(matches!(params.fit(&dataset), Err(Error::Shape(_))));
}
