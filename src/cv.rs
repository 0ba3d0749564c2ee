//! Honest model selection: seeded (grouped) splits and k-fold cross-validation.
//!
//! Rows that belong together (the sentences of one article) must never be split between training
//! and evaluation, or the scores flatter the model. [`group_folds`] assigns whole groups to folds
//! (largest groups first, each to the currently smallest fold, as scikit-learn's `GroupKFold`;
//! groups of equal size are ordered by a seeded shuffle). [`cross_validate`] fits one pipeline
//! per fold, with the vocabulary learned from the training folds only.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::metrics::ConfusionMatrix;
use crate::pipeline::{Pipeline, PipelineParams};

/// Group of each row: the dataset's groups, or one group per row.
fn row_groups(data: &Dataset) -> Vec<usize> {
    match &data.groups {
        Some(g) => {
            let mut names: Vec<&str> = g.iter().map(String::as_str).collect();
            names.sort_unstable();
            names.dedup();
            g.iter()
                .map(|x| {
                    names
                        .binary_search(&x.as_str())
                        .expect("name collected above")
                })
                .collect()
        }
        None => (0..data.len()).collect(),
    }
}

/// Assign each row to one of `k` folds, keeping groups together. Deterministic for a seed.
///
/// # Errors
/// [`Error::InvalidParam`] when `k < 2` or there are fewer groups than folds.
pub fn group_folds(data: &Dataset, k: usize, seed: u64) -> Result<Vec<usize>> {
    if k < 2 {
        return Err(Error::param("folds", k, "must be at least 2"));
    }
    let groups = row_groups(data);
    let n_groups = groups.iter().max().map_or(0, |m| m + 1);
    if n_groups < k {
        return Err(Error::param(
            "folds",
            k,
            format!("only {n_groups} groups in the data; use fewer folds"),
        ));
    }
    let mut sizes = vec![0usize; n_groups];
    for &g in &groups {
        sizes[g] += 1;
    }
    let mut order: Vec<usize> = (0..n_groups).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    order.sort_by_key(|&g| std::cmp::Reverse(sizes[g]));
    let mut fold_of_group = vec![0usize; n_groups];
    let mut fold_size = vec![0usize; k];
    for g in order {
        let f = (0..k).min_by_key(|&f| fold_size[f]).expect("k >= 2");
        fold_of_group[g] = f;
        fold_size[f] += sizes[g];
    }
    Ok(groups.iter().map(|&g| fold_of_group[g]).collect())
}

/// Split rows into (train, held-out) with about `fraction` of the groups held out.
///
/// # Errors
/// [`Error::InvalidParam`] unless `0 < fraction < 1` and both parts are non-empty.
pub fn holdout_split(data: &Dataset, fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::param(
            "validation_split",
            fraction,
            "must lie strictly between 0 and 1",
        ));
    }
    let groups = row_groups(data);
    let n_groups = groups.iter().max().map_or(0, |m| m + 1);
    let mut order: Vec<usize> = (0..n_groups).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_held = ((n_groups as f64) * fraction).round() as usize;
    if n_held == 0 || n_held == n_groups {
        return Err(Error::param(
            "validation_split",
            fraction,
            format!("leaves an empty part with {n_groups} groups"),
        ));
    }
    let mut held = vec![false; n_groups];
    for &g in &order[..n_held] {
        held[g] = true;
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (r, &g) in groups.iter().enumerate() {
        if held[g] {
            test.push(r);
        } else {
            train.push(r);
        }
    }
    Ok((train, test))
}

/// Scores of one head on one evaluation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeadScore {
    /// Head name.
    pub head: String,
    /// Accuracy.
    pub accuracy: f64,
    /// Macro-averaged F1.
    pub macro_f1: f64,
}

/// Evaluate a fitted pipeline on rows of a labeled dataset, per head.
pub fn score(model: &Pipeline, data: &Dataset) -> Vec<(String, ConfusionMatrix)> {
    let preds = model.predict(&data.texts);
    model
        .heads()
        .iter()
        .enumerate()
        .filter_map(|(h, head)| {
            let col = data.head_names.iter().position(|n| n == &head.name)?;
            let pairs = preds
                .iter()
                .zip(&data.labels[col])
                .map(|(p, gold)| (gold.as_str(), model.label(h, p)));
            Some((
                head.name.clone(),
                ConfusionMatrix::from_pairs(head.model.labels().names(), pairs),
            ))
        })
        .collect()
}

/// Per-fold scores of one parameter setting.
#[derive(Debug, Clone, Serialize)]
pub struct CvResult {
    /// `folds[f]` holds the per-head scores of fold `f`.
    pub folds: Vec<Vec<HeadScore>>,
}

/// Mean and sample standard deviation.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// k-fold cross-validation of one parameter setting over precomputed folds.
///
/// # Errors
/// Any fit error (e.g. a fold whose training part has a single class).
pub fn cross_validate(
    params: &PipelineParams,
    data: &Dataset,
    folds: &[usize],
) -> Result<CvResult> {
    let k = folds.iter().max().map_or(0, |m| m + 1);
    let mut out = Vec::with_capacity(k);
    for f in 0..k {
        let train: Vec<usize> = (0..data.len()).filter(|&r| folds[r] != f).collect();
        let test: Vec<usize> = (0..data.len()).filter(|&r| folds[r] == f).collect();
        let (model, _) = Pipeline::fit(params.clone(), &data.select(&train), &mut |_| {})?;
        let scores = score(&model, &data.select(&test))
            .into_iter()
            .map(|(head, cm)| HeadScore {
                head,
                accuracy: cm.accuracy(),
                macro_f1: cm.macro_f1(),
            })
            .collect();
        out.push(scores);
    }
    Ok(CvResult { folds: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grouped(n_groups: usize, per: usize) -> Dataset {
        let n = n_groups * per;
        Dataset {
            texts: (0..n).map(|i| format!("row {i}")).collect(),
            lines: (1..=n as u64).collect(),
            groups: Some((0..n).map(|i| format!("g{}", i / per)).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn folds_keep_groups_together_and_are_balanced() {
        let d = grouped(20, 3);
        let f = group_folds(&d, 5, 7).unwrap();
        for g in 0..20 {
            assert!(f[g * 3] == f[g * 3 + 1] && f[g * 3] == f[g * 3 + 2]);
        }
        for fold in 0..5 {
            assert_eq!(f.iter().filter(|&&x| x == fold).count(), 12);
        }
        assert_eq!(f, group_folds(&d, 5, 7).unwrap());
    }

    #[test]
    fn holdout_never_splits_a_group() {
        let d = grouped(10, 4);
        let (train, test) = holdout_split(&d, 0.2, 1).unwrap();
        assert_eq!(test.len(), 8);
        assert_eq!(train.len(), 32);
        let groups = d.groups.as_ref().unwrap();
        for t in &test {
            assert!(!train.iter().any(|r| groups[*r] == groups[*t]));
        }
        assert!(holdout_split(&d, 1.5, 1).is_err());
    }

    #[test]
    fn too_few_groups_for_folds_is_an_error() {
        assert!(group_folds(&grouped(3, 2), 5, 0).is_err());
        assert!(group_folds(&grouped(3, 2), 1, 0).is_err());
    }

    #[test]
    fn mean_sd_of_known_values() {
        let (m, s) = mean_sd(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((s - 1.0).abs() < 1e-12);
    }
}
