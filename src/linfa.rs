//! [linfa](https://docs.rs/linfa) integration (feature `linfa`): newsclass's sparse multinomial
//! logistic regression as a linfa estimator.
//!
//! * [`CsrMatrix`] implements linfa's [`Records`], so a `DatasetBase<CsrMatrix, Array1<L>>` is a
//!   linfa dataset;
//! * [`ValidLogisticParams`] implements [`Fit`] on datasets whose records are a [`CsrMatrix`] or a
//!   dense `ArrayBase<_, Ix2>` of `f32` / `f64`, with single targets of any label type (`usize`,
//!   `String`, `bool`, ...), returning a [`FittedLogistic`];
//! * [`FittedLogistic`] implements [`PredictInplace`] (hence linfa's `Predict`) on the same record
//!   types and has [`FittedLogistic::predict_proba`];
//! * `linfa::Error` converts into [`crate::Error`], so newsclass errors can carry linfa's.
//!
//! The fit is the same as [`crate::model::logistic::fit`]: scikit-learn's
//! `LogisticRegression(C=c)` objective, which linfa-logistic's `MultiLogisticRegression` minimizes
//! too with `alpha = 1/C` (both leave the intercept unpenalized). Records are used as `f32`; dense
//! records are converted to sparse rows (zeros are skipped), so wide, mostly-zero data costs what
//! its non-zeros cost.
//!
//! ```
//! use linfa::prelude::*;
//! use ndarray::{array, Array1};
//! use newsclass::model::logistic::LogisticParams;
//!
//! let records = array![[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.8], [0.5, 0.5], [0.6, 0.4]];
//! let targets: Array1<&str> = array!["sport", "sport", "politics", "politics", "sport", "politics"];
//! let dataset = Dataset::new(records, targets);
//!
//! let model = LogisticParams::default().c(10.0).check()?.fit(&dataset)?;
//! assert_eq!(model.classes(), &["politics", "sport"]);
//! let predicted: Array1<&str> = model.predict(dataset.records());
//! assert_eq!(predicted[0], "sport");
//! let proba = model.predict_proba_dense(dataset.records());
//! assert_eq!(proba.dim(), (6, 2));
//! # Ok::<(), newsclass::Error>(())
//! ```

use ::linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use ::linfa::traits::{Fit, Predict, PredictInplace};
use ndarray::{Array1, Array2, ArrayBase, Data, Ix2};

use crate::error::{Error, Result};
use crate::model::labels::LabelSet;
use crate::model::logistic::{self, FitReport, LogisticModel, ValidLogisticParams};
use crate::sparse::{CsrMatrix, SparseVec};

impl Records for CsrMatrix {
    type Elem = f32;

    /// Number of rows.
    fn nsamples(&self) -> usize {
        self.n_rows()
    }

    /// Number of columns (`n_cols`).
    fn nfeatures(&self) -> usize {
        self.n_cols
    }
}

/// linfa's errors become [`Error::Shape`] with linfa's message (linfa raises them for datasets
/// that cannot be fitted: mismatched lengths, too few samples, invalid values).
impl From<::linfa::Error> for Error {
    fn from(e: ::linfa::Error) -> Self {
        Error::Shape(e.to_string())
    }
}

/// Dense records as a [`CsrMatrix`]: values cast to `f32`, zeros skipped.
///
/// Use it to fit or predict on the same data through the sparse path, or to keep one sparse copy
/// of a dense matrix that is mostly zeros.
pub fn dense_to_csr<F: ::linfa::Float, D: Data<Elem = F>>(x: &ArrayBase<D, Ix2>) -> CsrMatrix {
    let mut indptr = Vec::with_capacity(x.nrows() + 1);
    let mut indices = Vec::new();
    let mut values = Vec::new();
    indptr.push(0);
    for row in x.rows() {
        for (j, &v) in row.iter().enumerate() {
            let v = to_f32(v);
            if v != 0.0 {
                indices.push(u32::try_from(j).expect("fewer than 2^32 columns"));
                values.push(v);
            }
        }
        indptr.push(indices.len());
    }
    CsrMatrix {
        n_cols: x.ncols(),
        indptr,
        indices,
        values,
    }
}

fn to_f32<F: ::linfa::Float>(v: F) -> f32 {
    // Float-to-float casts never fail in num-traits (out-of-range values become infinite).
    v.to_f32().unwrap_or(f32::NAN)
}

/// A multinomial logistic regression fitted through linfa's [`Fit`]: the newsclass model plus the
/// classes of the targets it was fitted on.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedLogistic<L> {
    model: LogisticModel,
    classes: Vec<L>,
    report: FitReport,
}

impl<L> FittedLogistic<L> {
    /// The classes, sorted; class `k` is column `k` of [`FittedLogistic::predict_proba`].
    pub fn classes(&self) -> &[L] {
        &self.classes
    }

    /// The underlying newsclass model. Its [`LogisticModel::labels`] are the class ids written as
    /// zero-padded decimal strings (`"0"`, `"1"`, ... or `"00"`, `"01"`, ...), in the order of
    /// [`FittedLogistic::classes`].
    pub fn model(&self) -> &LogisticModel {
        &self.model
    }

    /// The model without the class list.
    pub fn into_model(self) -> LogisticModel {
        self.model
    }

    /// What happened during the fit (iterations, convergence, final objective).
    pub fn report(&self) -> &FitReport {
        &self.report
    }

    /// Class probabilities of sparse records, `n_samples × n_classes`, columns in the order of
    /// [`FittedLogistic::classes`].
    ///
    /// # Panics
    /// If `x` does not have as many columns as the model has features.
    pub fn predict_proba(&self, x: &CsrMatrix) -> Array2<f32> {
        self.check_features(x.n_cols);
        self.proba_rows(x.n_rows(), |r, row| {
            let (indices, values) = x.row(r);
            row.indices.clear();
            row.indices.extend_from_slice(indices);
            row.values.clear();
            row.values.extend_from_slice(values);
        })
    }

    /// Class probabilities of dense records (values cast to `f32`), `n_samples × n_classes`,
    /// columns in the order of [`FittedLogistic::classes`].
    ///
    /// # Panics
    /// If `x` does not have as many columns as the model has features.
    pub fn predict_proba_dense<F: ::linfa::Float, D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
    ) -> Array2<f32> {
        self.check_features(x.ncols());
        self.proba_rows(x.nrows(), |r, row| dense_row_into(x, r, row))
    }

    fn check_features(&self, n_cols: usize) {
        assert_eq!(
            n_cols,
            self.model.n_features(),
            "the records have {n_cols} features but the model was fitted on {}",
            self.model.n_features()
        );
    }

    /// Probabilities of `n_rows` rows, row `r` written into the buffer by `row(r, buffer)`.
    fn proba_rows(&self, n_rows: usize, mut row: impl FnMut(usize, &mut SparseVec)) -> Array2<f32> {
        let mut proba = Array2::zeros((n_rows, self.classes.len()));
        let mut buffer = SparseVec::default();
        for (r, mut out) in proba.rows_mut().into_iter().enumerate() {
            row(r, &mut buffer);
            let out = out.as_slice_mut().expect("rows of a standard-layout array");
            self.model.predict_proba_into(&buffer, out);
        }
        proba
    }
}

impl<L: Clone> FittedLogistic<L> {
    fn predict_into(&self, proba: &Array2<f32>, y: &mut Array1<L>) {
        assert_eq!(
            y.len(),
            proba.nrows(),
            "the target array has {} entries for {} records",
            y.len(),
            proba.nrows()
        );
        for (p, out) in proba.rows().into_iter().zip(y.iter_mut()) {
            let k = logistic::argmax(p.as_slice().expect("rows of a standard-layout array"));
            *out = self.classes[k].clone();
        }
    }
}

/// Row `r` of dense `x` as a sparse vector in `out` (zeros skipped).
fn dense_row_into<F: ::linfa::Float, D: Data<Elem = F>>(
    x: &ArrayBase<D, Ix2>,
    r: usize,
    out: &mut SparseVec,
) {
    out.indices.clear();
    out.values.clear();
    for (j, &v) in x.row(r).iter().enumerate() {
        let v = to_f32(v);
        if v != 0.0 {
            out.indices.push(j as u32);
            out.values.push(v);
        }
    }
}

/// Fit on checked rows: map the targets to class ids and run the sparse solver.
fn fit_csr<L: Ord + Clone>(
    params: &ValidLogisticParams,
    x: &CsrMatrix,
    targets: &[L],
) -> Result<FittedLogistic<L>> {
    if targets.len() != x.n_rows() {
        return Err(::linfa::Error::MismatchedShapes(x.n_rows(), targets.len()).into());
    }
    if x.n_rows() == 0 {
        return Err(::linfa::Error::NotEnoughSamples.into());
    }
    if let Some(pos) = x.values.iter().position(|v| !v.is_finite()) {
        let row = x.indptr.partition_point(|&p| p <= pos) - 1;
        return Err(Error::Shape(format!(
            "row {row}, column {} holds {}; records must be finite",
            x.indices[pos], x.values[pos]
        )));
    }
    if let Some(&c) = x.indices.iter().find(|&&c| c as usize >= x.n_cols) {
        return Err(Error::Shape(format!(
            "column index {c} is out of range for {} columns",
            x.n_cols
        )));
    }
    let mut classes = targets.to_vec();
    classes.sort();
    classes.dedup();
    let y: Vec<u32> = targets
        .iter()
        .map(|t| {
            classes
                .binary_search(t)
                .expect("classes are built from the targets") as u32
        })
        .collect();
    // The solver names classes with strings; zero-padded ids sort in id order.
    let width = (classes.len().max(2) - 1).to_string().len();
    let names: Vec<String> = (0..classes.len()).map(|k| format!("{k:0width$}")).collect();
    let labels = LabelSet::from_labels(names.iter().map(String::as_str));
    let (model, report) = logistic::fit(params, x, &y, labels, |_, _| {})?;
    Ok(FittedLogistic {
        model,
        classes,
        report,
    })
}

/// Fit on sparse records.
///
/// # Errors
/// [`Error::Shape`] if the records and targets differ in length, there are no records, a value is
/// not finite, or the targets hold a single class.
impl<L, T> Fit<CsrMatrix, T, Error> for ValidLogisticParams
where
    L: Ord + Clone,
    T: AsSingleTargets<Elem = L>,
{
    type Object = FittedLogistic<L>;

    fn fit(&self, dataset: &DatasetBase<CsrMatrix, T>) -> Result<FittedLogistic<L>> {
        let targets = dataset.targets.as_single_targets().to_vec();
        fit_csr(self, &dataset.records, &targets)
    }
}

/// Fit on dense `f32` / `f64` records, used as sparse rows (zeros skipped, values cast to `f32`).
///
/// # Errors
/// As for sparse records.
impl<L, T, F, D> Fit<ArrayBase<D, Ix2>, T, Error> for ValidLogisticParams
where
    L: Ord + Clone,
    T: AsSingleTargets<Elem = L>,
    F: ::linfa::Float,
    D: Data<Elem = F>,
{
    type Object = FittedLogistic<L>;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<FittedLogistic<L>> {
        let targets = dataset.targets.as_single_targets().to_vec();
        fit_csr(self, &dense_to_csr(&dataset.records), &targets)
    }
}

/// Predict the most probable class of each sparse record (ties go to the first class).
///
/// # Panics
/// If `y` does not have one entry per record, or the records do not have as many columns as the
/// model has features.
impl<L: Clone + Default> PredictInplace<CsrMatrix, Array1<L>> for FittedLogistic<L> {
    fn predict_inplace(&self, x: &CsrMatrix, y: &mut Array1<L>) {
        self.predict_into(&self.predict_proba(x), y);
    }

    fn default_target(&self, x: &CsrMatrix) -> Array1<L> {
        Array1::default(x.n_rows())
    }
}

/// Predict the most probable class of each dense record (ties go to the first class).
///
/// # Panics
/// As for sparse records.
impl<L, F, D> PredictInplace<ArrayBase<D, Ix2>, Array1<L>> for FittedLogistic<L>
where
    L: Clone + Default,
    F: ::linfa::Float,
    D: Data<Elem = F>,
{
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<L>) {
        self.predict_into(&self.predict_proba_dense(x), y);
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<L> {
        Array1::default(x.nrows())
    }
}

/// `model.predict(&csr)`: linfa provides `predict` on references to dense arrays and to datasets
/// only, so sparse records get it here.
impl<L: Clone + Default> Predict<&CsrMatrix, Array1<L>> for FittedLogistic<L> {
    fn predict(&self, x: &CsrMatrix) -> Array1<L> {
        let mut y = self.default_target(x);
        self.predict_inplace(x, &mut y);
        y
    }
}
