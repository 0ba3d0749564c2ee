//! newsclass's sparse multinomial logistic regression as a linfa estimator.
//!
//! Builds a toy bag-of-words dataset (word counts of short "articles" on three topics), splits it
//! with linfa, fits newsclass through linfa's `Fit` on dense and on sparse (CSR) records, predicts
//! through `Predict`, and compares with linfa-logistic on the same split.
//!
//! ```text
//! cargo run --release --features linfa --example linfa
//! ```

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use ndarray::{Array1, Array2, Ix1};
use newsclass::linfa::dense_to_csr;
use newsclass::model::logistic::LogisticParams;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TOPICS: [&str; 3] = ["politics", "science", "sport"];
const WORDS_PER_TOPIC: usize = 10;
const WORDS_PER_ARTICLE: usize = 12;

/// `n` articles as word counts over a 30-word vocabulary (10 words per topic). Each word of an
/// article comes from its topic's words with probability 0.6, else from the whole vocabulary.
fn articles(n: usize, rng: &mut impl Rng) -> Dataset<f64, &'static str, Ix1> {
    let vocabulary = TOPICS.len() * WORDS_PER_TOPIC;
    let mut counts = Array2::<f64>::zeros((n, vocabulary));
    let mut topics = Vec::with_capacity(n);
    for i in 0..n {
        let topic = rng.random_range(0..TOPICS.len());
        for _ in 0..WORDS_PER_ARTICLE {
            let word = if rng.random_bool(0.6) {
                topic * WORDS_PER_TOPIC + rng.random_range(0..WORDS_PER_TOPIC)
            } else {
                rng.random_range(0..vocabulary)
            };
            counts[[i, word]] += 1.0;
        }
        topics.push(TOPICS[topic]);
    }
    Dataset::new(counts, Array1::from(topics))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let (train, valid) = articles(1_000, &mut rng).split_with_ratio(0.8);
    println!(
        "{} training and {} validation articles, {} words",
        train.nsamples(),
        valid.nsamples(),
        train.nfeatures()
    );

    // newsclass on the dense linfa dataset: checked parameters implement `Fit`. The tolerance is
    // tighter than the default (1e-4) only so that the comparison with linfa-logistic below shows
    // the shared optimum rather than two different stopping points.
    let params = LogisticParams::default().c(1.0).tol(1e-8).check()?;
    let model = params.fit(&train)?;
    println!(
        "newsclass: {} L-BFGS iterations, converged: {}",
        model.report().n_iter,
        model.report().converged
    );
    let predicted = model.predict(&valid);
    let cm = predicted.confusion_matrix(&valid)?;
    println!("newsclass accuracy: {:.3}{cm:?}", cm.accuracy());

    // The same data as sparse rows: a `DatasetBase<CsrMatrix, _>` fits and predicts the same way.
    let sparse_train = DatasetBase::new(dense_to_csr(train.records()), train.targets().to_owned());
    let sparse_valid = dense_to_csr(valid.records());
    let sparse_model = params.fit(&sparse_train)?;
    let sparse_predicted = sparse_model.predict(&sparse_valid);
    println!(
        "sparse records ({} stored values of {}): same predictions: {}",
        sparse_valid.nnz(),
        valid.nsamples() * valid.nfeatures(),
        sparse_predicted == predicted
    );

    // linfa-logistic with the same regularization (alpha = 1/C), also run to a tight tolerance.
    let reference = MultiLogisticRegression::default()
        .alpha(1.0 / params.c)
        .gradient_tolerance(1e-8)
        .max_iterations(1_000)
        .fit(&train)?;
    let reference_predicted = reference.predict(&valid);
    let reference_cm = reference_predicted.confusion_matrix(&valid)?;
    let max_diff = model
        .predict_proba_dense(valid.records())
        .iter()
        .zip(&reference.predict_probabilities(valid.records()))
        .map(|(&ours, &theirs)| (f64::from(ours) - theirs).abs())
        .fold(0.0, f64::max);
    println!(
        "linfa-logistic accuracy: {:.3}; same predictions: {}; max probability difference: {max_diff:.1e}",
        reference_cm.accuracy(),
        reference_predicted == predicted
    );
    Ok(())
}
