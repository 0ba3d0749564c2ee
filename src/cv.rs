//! Honest model selection: seeded (grouped) splits and k-fold cross-validation.
//!
//! Rows that belong together (the sentences of one article) must never be split between training
//! and evaluation, or the scores flatter the model. [`group_folds`] assigns whole groups to folds
//! (largest groups first, each to the currently smallest fold, as scikit-learn's `GroupKFold`;
//! groups of equal size are ordered by a seeded shuffle). [`cross_validate`] fits one pipeline
//! per fold, with the vocabulary learned from the training folds only.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::features::chars::Analyzer;
use crate::features::vocabulary::DocFreq;
use crate::pipeline::{EncoderParams, Pipeline, PipelineParams, ValidPipelineParams};

/// Group of each row: the dataset's groups, or one group per row.
fn row_groups(data: &Dataset) -> Vec<usize> {
    match data.groups() {
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
/// [`Error::NoRows`] for empty data, [`Error::InvalidParam`] when `k < 2` or there are fewer
/// groups than folds.
pub fn group_folds(data: &Dataset, k: usize, seed: u64) -> Result<Vec<usize>> {
    if data.is_empty() {
        return Err(Error::NoRows);
    }
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

/// Check a held-out fraction before any data is read.
///
/// # Errors
/// [`Error::InvalidParam`] (`validation_split`) unless `0 < fraction < 1`.
pub fn check_holdout_fraction(fraction: f64) -> Result<()> {
    if fraction > 0.0 && fraction < 1.0 {
        Ok(())
    } else {
        Err(Error::param(
            "validation_split",
            fraction,
            "expected a fraction strictly between 0 and 1, e.g. 0.2",
        ))
    }
}

/// Split rows into (train, held-out) with about `fraction` of the groups held out.
///
/// # Errors
/// [`Error::InvalidParam`] unless `0 < fraction < 1` and both parts are non-empty.
pub fn holdout_split(data: &Dataset, fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    check_holdout_fraction(fraction)?;
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HeadScore {
    /// Accuracy.
    pub accuracy: f64,
    /// Head name.
    pub head: String,
    /// Macro-averaged F1.
    pub macro_f1: f64,
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

/// A parameter grid: a base setting and lists of values to try for the options most worth
/// tuning. An empty list keeps the base's value. Settings are expanded with `c` outermost, then
/// `ngram_range`, `min_df`, `sublinear_tf`, `analyzer`, `char_ngram_range`. The last two choose
/// the feature blocks as [`PipelineParams::features`] does (the command line's `--analyzer` and
/// `--char-ngram-range`).
///
/// ```
/// use newsclass::cv::Grid;
/// use newsclass::PipelineParams;
///
/// let grid = Grid::new(PipelineParams::default()).c([1.0, 10.0]).ngram_range([(1, 1), (1, 2)]);
/// assert_eq!(grid.settings()?.len(), 4);
/// # Ok::<(), newsclass::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    base: PipelineParams,
    c: Vec<f64>,
    ngram_range: Vec<(usize, usize)>,
    min_df: Vec<DocFreq>,
    sublinear_tf: Vec<bool>,
    analyzer: Vec<Analyzer>,
    char_ngram_range: Vec<Option<(usize, usize)>>,
    encoder_weight: Vec<f32>,
}

impl Grid {
    /// A grid of one setting, `base`; its seed also draws the folds.
    pub fn new(base: PipelineParams) -> Grid {
        Grid {
            base,
            c: Vec::new(),
            ngram_range: Vec::new(),
            min_df: Vec::new(),
            sublinear_tf: Vec::new(),
            analyzer: Vec::new(),
            char_ngram_range: Vec::new(),
            encoder_weight: Vec::new(),
        }
    }

    /// Values of `C` to try.
    pub fn c(mut self, values: impl IntoIterator<Item = f64>) -> Grid {
        self.c = values.into_iter().collect();
        self
    }

    /// Word n-gram ranges to try.
    pub fn ngram_range(mut self, values: impl IntoIterator<Item = (usize, usize)>) -> Grid {
        self.ngram_range = values.into_iter().collect();
        self
    }

    /// `min_df` values to try.
    pub fn min_df(mut self, values: impl IntoIterator<Item = DocFreq>) -> Grid {
        self.min_df = values.into_iter().collect();
        self
    }

    /// `sublinear_tf` values to try.
    pub fn sublinear_tf(mut self, values: impl IntoIterator<Item = bool>) -> Grid {
        self.sublinear_tf = values.into_iter().collect();
        self
    }

    /// Analyzers to try: without a character block, the analyzer of the only block; with one,
    /// the kind of its character n-grams (`char_wb` for word). See [`PipelineParams::features`].
    ///
    /// ```
    /// use newsclass::cv::Grid;
    /// use newsclass::features::chars::Analyzer;
    /// use newsclass::PipelineParams;
    ///
    /// // Word n-grams alone, and with char_wb 2- to 5-grams beside them.
    /// let grid = Grid::new(PipelineParams::default()).char_ngram_range([None, Some((2, 5))]);
    /// let settings = grid.settings()?;
    /// assert!(settings[0].char_ngrams.is_none());
    /// assert_eq!(settings[1].char_ngrams.as_ref().unwrap().analyzer, Analyzer::CharWb);
    /// # Ok::<(), newsclass::Error>(())
    /// ```
    pub fn analyzer(mut self, values: impl IntoIterator<Item = Analyzer>) -> Grid {
        self.analyzer = values.into_iter().collect();
        self
    }

    /// Character n-gram ranges to try beside the word n-grams; `None` for no character block.
    pub fn char_ngram_range(
        mut self,
        values: impl IntoIterator<Item = Option<(usize, usize)>>,
    ) -> Grid {
        self.char_ngram_range = values.into_iter().collect();
        self
    }

    /// Encoder block weights `W` to try (each setting then has an encoder block; see
    /// [`cross_validate_with_encoder`]).
    pub fn encoder_weight(mut self, values: impl IntoIterator<Item = f32>) -> Grid {
        self.encoder_weight = values.into_iter().collect();
        self
    }

    /// The base setting.
    pub fn base(&self) -> &PipelineParams {
        &self.base
    }

    /// Every setting of the grid, checked.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for the first value out of range.
    pub fn settings(&self) -> Result<Vec<ValidPipelineParams>> {
        fn or<T: Clone>(v: &[T], base: T) -> Vec<T> {
            if v.is_empty() {
                vec![base]
            } else {
                v.to_vec()
            }
        }
        let b = &self.base;
        // The base's blocks in the terms of `PipelineParams::features`.
        let (base_analyzer, base_chars) = match &b.char_ngrams {
            Some(c) => (c.analyzer, Some(c.ngram_range)),
            None => (b.analyzer, None),
        };
        let blocks = self.analyzer.is_empty() && self.char_ngram_range.is_empty();
        let mut out = Vec::new();
        for c in or(&self.c, b.logistic.c) {
            for ng in or(&self.ngram_range, b.vocabulary.ngram_range) {
                for md in or(&self.min_df, b.vocabulary.min_df) {
                    for sl in or(&self.sublinear_tf, b.tfidf.sublinear_tf) {
                        for an in or(&self.analyzer, base_analyzer) {
                            for cr in or(&self.char_ngram_range, base_chars) {
                                let weights: Vec<Option<f32>> = if self.encoder_weight.is_empty() {
                                    vec![None]
                                } else {
                                    self.encoder_weight.iter().map(|&w| Some(w)).collect()
                                };
                                for w in weights {
                                    let mut p = b.clone();
                                    if !blocks {
                                        p = p.features(an, cr);
                                    }
                                    if let Some(w) = w {
                                        p = p.encoder_weight(w);
                                    }
                                    out.push(
                                        p.c(c)
                                            .ngram_range(ng.0, ng.1)
                                            .min_df(md)
                                            .sublinear_tf(sl)
                                            .check()?,
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Mean and standard deviation over folds of one head's scores.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HeadCv {
    /// Mean accuracy.
    pub accuracy_mean: f64,
    /// Standard deviation of the accuracy.
    pub accuracy_sd: f64,
    /// Mean macro-F1.
    pub macro_f1_mean: f64,
    /// Standard deviation of the macro-F1.
    pub macro_f1_sd: f64,
}

/// The cross-validation of one setting.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SettingReport {
    /// `folds[f]` holds the per-head scores of fold `f`, in the data's head order.
    pub folds: Vec<Vec<HeadScore>>,
    /// Per head: mean and standard deviation over folds.
    pub heads: BTreeMap<String, HeadCv>,
    /// Mean over heads of the mean macro-F1: what [`CvReport::best`] maximizes.
    pub mean_macro_f1: f64,
    /// The setting (serialized with its keys in sorted order, as every other map here).
    #[serde(serialize_with = "sorted_keys")]
    pub params: PipelineParams,
}

fn sorted_keys<S: serde::Serializer>(p: &PipelineParams, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;
    serde_json::to_value(p)
        .map_err(S::Error::custom)?
        .serialize(s)
}

/// The outcome of [`cross_validate`]; serialized, the JSON of `newsclass cv --format json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CvReport {
    /// Index of the best setting (highest mean macro-F1 over heads; the first on ties).
    pub best: usize,
    /// Number of folds.
    pub folds: usize,
    /// The column the folds were grouped by, when known (set by the caller).
    pub grouped_by: Option<String>,
    /// Rows.
    pub n: usize,
    /// Every setting, in grid order.
    pub settings: Vec<SettingReport>,
}

impl CvReport {
    /// The best setting.
    pub fn best(&self) -> &SettingReport {
        &self.settings[self.best]
    }
}

/// k-fold cross-validation of every setting of `grid` on the same folds (grouped when `data`
/// has groups, drawn with the grid's seed). `on_setting(i, n, params)` is called before setting
/// `i` of `n` is fitted.
///
/// # Errors
/// Invalid grid values, [`Error::NoHeads`] for unlabeled data, too few groups for `k` folds, or
/// any fit error (e.g. a fold whose training part has a single class).
pub fn cross_validate(
    grid: &Grid,
    data: &Dataset,
    k: usize,
    on_setting: &mut dyn FnMut(usize, usize, &PipelineParams),
) -> Result<CvReport> {
    cross_validate_inner(grid, data, k, None, on_setting)
}

/// [`cross_validate`] with a sentence-encoder block in every setting (the grid's
/// [`Grid::encoder_weight`] values, or the base's block, or the default block): every text is
/// embedded once, before the first fit, by `encoder` at the precision of the base setting's
/// storage ([`crate::encoder::EncoderStorage`]; f16 rounds the weights first), and every fold
/// of every setting uses those embeddings. The embeddings do not depend on which texts are
/// embedded together, so this scores exactly what fitting each fold on its own would.
///
/// # Errors
/// As [`cross_validate`]; encoder errors.
pub fn cross_validate_with_encoder(
    grid: &Grid,
    data: &Dataset,
    k: usize,
    encoder: &Arc<Encoder>,
    on_setting: &mut dyn FnMut(usize, usize, &PipelineParams),
) -> Result<CvReport> {
    let mut grid = grid.clone();
    if grid.base.encoder.is_none() {
        grid.base.encoder = Some(EncoderParams::default());
    }
    let base = grid.base.clone().check()?;
    let (_, encoder) = Pipeline::encoder_setup(&base, encoder)?;
    let texts: Vec<&str> = data.texts().iter().map(String::as_str).collect();
    let rows = encoder.embed_flat(&texts);
    cross_validate_inner(&grid, data, k, Some((&encoder, &rows)), on_setting)
}

fn cross_validate_inner(
    grid: &Grid,
    data: &Dataset,
    k: usize,
    encoder: Option<(&Arc<Encoder>, &[f32])>,
    on_setting: &mut dyn FnMut(usize, usize, &PipelineParams),
) -> Result<CvReport> {
    let settings = grid.settings()?;
    if data.head_names().is_empty() {
        return Err(Error::NoHeads);
    }
    let folds = group_folds(data, k, grid.base.seed)?;
    let mut reports = Vec::with_capacity(settings.len());
    for (i, params) in settings.iter().enumerate() {
        on_setting(i, settings.len(), params.params());
        let fold_scores = cross_validate_one(params, data, &folds, k, encoder)?;
        let mut heads = BTreeMap::new();
        for (h, name) in data.head_names().iter().enumerate() {
            let acc: Vec<f64> = fold_scores.iter().map(|f| f[h].accuracy).collect();
            let f1: Vec<f64> = fold_scores.iter().map(|f| f[h].macro_f1).collect();
            let (accuracy_mean, accuracy_sd) = mean_sd(&acc);
            let (macro_f1_mean, macro_f1_sd) = mean_sd(&f1);
            heads.insert(
                name.clone(),
                HeadCv {
                    accuracy_mean,
                    accuracy_sd,
                    macro_f1_mean,
                    macro_f1_sd,
                },
            );
        }
        let mean_macro_f1 = data
            .head_names()
            .iter()
            .map(|h| heads[h].macro_f1_mean)
            .sum::<f64>()
            / data.head_names().len() as f64;
        reports.push(SettingReport {
            folds: fold_scores,
            heads,
            mean_macro_f1,
            params: params.params().clone(),
        });
    }
    let best = (0..reports.len())
        .max_by(|&x, &y| {
            reports[x]
                .mean_macro_f1
                .total_cmp(&reports[y].mean_macro_f1)
                .then(y.cmp(&x))
        })
        .expect("a grid has at least one setting");
    Ok(CvReport {
        best,
        folds: k,
        grouped_by: None,
        n: data.len(),
        settings: reports,
    })
}

/// Per-fold, per-head scores of one setting over precomputed folds.
fn cross_validate_one(
    params: &ValidPipelineParams,
    data: &Dataset,
    folds: &[usize],
    k: usize,
    encoder: Option<(&Arc<Encoder>, &[f32])>,
) -> Result<Vec<Vec<HeadScore>>> {
    let mut out = Vec::with_capacity(k);
    for f in 0..k {
        let train: Vec<usize> = (0..data.len()).filter(|&r| folds[r] != f).collect();
        let test: Vec<usize> = (0..data.len()).filter(|&r| folds[r] == f).collect();
        let report = match encoder {
            None => Pipeline::fit(params, &data.select(&train))?.evaluate(&data.select(&test))?,
            Some((encoder, rows)) => {
                let dim = encoder.identity().dim;
                let select = |idx: &[usize]| -> Vec<f32> {
                    idx.iter()
                        .flat_map(|&r| rows[r * dim..(r + 1) * dim].iter().copied())
                        .collect()
                };
                let model =
                    Pipeline::fit_embedded(params, &data.select(&train), encoder, &select(&train))?;
                model.evaluate_embedded(&data.select(&test), Some(&select(&test)))?
            }
        };
        out.push(
            data.head_names()
                .iter()
                .map(|h| HeadScore {
                    accuracy: report.heads[h].accuracy,
                    head: h.clone(),
                    macro_f1: report.heads[h].macro_f1,
                })
                .collect(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grouped(n_groups: usize, per: usize) -> Dataset {
        let n = n_groups * per;
        Dataset::new((0..n).map(|i| format!("row {i}")))
            .unwrap()
            .with_groups((0..n).map(|i| format!("g{}", i / per)))
            .unwrap()
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
        let groups = d.groups().unwrap();
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
    fn grid_expands_in_order_and_checks_values() {
        let g = Grid::new(PipelineParams::default())
            .c([1.0, 10.0])
            .sublinear_tf([false, true]);
        let s = g.settings().unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!((s[1].logistic.c, s[1].tfidf.sublinear_tf), (1.0, true));
        assert_eq!((s[2].logistic.c, s[2].tfidf.sublinear_tf), (10.0, false));
        assert!(Grid::new(PipelineParams::default())
            .c([0.0])
            .settings()
            .is_err());
    }

    #[test]
    fn cross_validation_picks_a_best_setting() {
        let texts: Vec<String> = (0..24)
            .map(|i| {
                if i % 2 == 0 {
                    format!("troops shelled town {i}")
                } else {
                    format!("envoys signed truce {i}")
                }
            })
            .collect();
        let labels: Vec<&str> = (0..24)
            .map(|i| if i % 2 == 0 { "security" } else { "diplomacy" })
            .collect();
        let d = Dataset::new(texts)
            .unwrap()
            .with_head("topic", labels)
            .unwrap()
            .with_groups((0..24).map(|i| format!("g{}", i / 2)))
            .unwrap();
        let grid = Grid::new(PipelineParams::default()).c([0.01, 10.0]);
        let mut seen = Vec::new();
        let r = cross_validate(&grid, &d, 3, &mut |i, n, _| seen.push((i, n))).unwrap();
        assert_eq!(seen, [(0, 2), (1, 2)]);
        assert_eq!(r.settings.len(), 2);
        assert_eq!(r.settings[0].folds.len(), 3);
        assert_eq!(r.best().heads["topic"].accuracy_mean, 1.0);
        let unlabeled = Dataset::new(["a"]).unwrap();
        assert!(matches!(
            cross_validate(&grid, &unlabeled, 2, &mut |_, _, _| {}),
            Err(Error::NoHeads)
        ));
    }

    #[test]
    fn mean_sd_of_known_values() {
        let (m, s) = mean_sd(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((s - 1.0).abs() < 1e-12);
    }
}
