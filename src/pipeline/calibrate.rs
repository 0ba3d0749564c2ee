//! Calibration by temperature scaling: one temperature `T` per head, probabilities
//! `softmax(z / T)`.
//!
//! A model fitted with little regularization (large `C`) or on few rows is over-confident: its
//! probabilities are closer to 0 and 1 than its accuracy warrants. Dividing every margin of a
//! head by one `T > 1` softens them (`T < 1` sharpens them) without changing which label is the
//! most probable. [`Pipeline::fit_calibrated`] chooses `T` per head by minimizing the log-loss
//! on rows held out from the fit, then refits the model on every row and keeps `T`: the
//! temperature is measured on a model fitted on fewer rows than the one it is applied to (which
//! tends to be a little less over-confident), the price of using every row for the weights.

use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Pipeline, Progress, Scratch, ValidPipelineParams};
use crate::data::Dataset;
use crate::encoder::Encoder;
use crate::error::{Error, Result};

/// The smallest temperature [`Pipeline::fit_calibrated`] chooses.
pub const MIN_TEMPERATURE: f64 = 0.05;
/// The largest temperature [`Pipeline::fit_calibrated`] chooses.
pub const MAX_TEMPERATURE: f64 = 20.0;

/// How one head's temperature was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadCalibration {
    /// Head name.
    pub head: String,
    /// The temperature chosen (in [[`MIN_TEMPERATURE`], [`MAX_TEMPERATURE`]]).
    pub temperature: f64,
    /// Held-out rows it was chosen on (those whose label the model fitted on the rest knows).
    pub n_rows: usize,
    /// Mean log-loss of those rows at `T = 1`, by the model fitted on the rest.
    pub log_loss_before: f64,
    /// The same at the chosen temperature.
    pub log_loss_after: f64,
}

/// How a calibrated model's temperatures were chosen (in its [`super::TrainingSummary`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSummary {
    /// Always `temperature`.
    pub method: String,
    /// The fraction of rows (of groups, when the data has groups) held out.
    pub fraction: f64,
    /// Rows the temporary model was fitted on.
    pub n_fit: usize,
    /// Rows held out.
    pub n_heldout: usize,
    /// Per head, in the model's head order.
    pub heads: Vec<HeadCalibration>,
}

/// Mean negative log-likelihood of `gold` under `softmax(z / t)`, `z` holding `k` margins per
/// row, in `f64`.
fn nll(z: &[f32], gold: &[usize], k: usize, t: f64) -> f64 {
    if gold.is_empty() {
        return 0.0;
    }
    let mut sum = 0.0;
    for (row, &g) in z.chunks_exact(k).zip(gold) {
        let max = row
            .iter()
            .map(|&v| f64::from(v) / t)
            .fold(f64::NEG_INFINITY, f64::max);
        let lse = max
            + row
                .iter()
                .map(|&v| (f64::from(v) / t - max).exp())
                .sum::<f64>()
                .ln();
        sum += lse - f64::from(row[g]) / t;
    }
    sum / gold.len() as f64
}

/// The temperature in [[`MIN_TEMPERATURE`], [`MAX_TEMPERATURE`]] that minimizes the mean
/// log-loss of `gold` under `softmax(z / T)` (`k` margins per row): a golden-section search on
/// `ln T` (the log-loss is convex in `1/T`, so it has one minimum there), rounded to `f32`, as
/// predictions use it. 1 when there are no rows or when nothing beats it.
pub(crate) fn fit_temperature(z: &[f32], gold: &[usize], k: usize) -> f64 {
    if gold.is_empty() || k < 2 {
        return 1.0;
    }
    let f = |u: f64| nll(z, gold, k, u.exp());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut lo, mut hi) = (MIN_TEMPERATURE.ln(), MAX_TEMPERATURE.ln());
    let mut c = hi - ratio * (hi - lo);
    let mut d = lo + ratio * (hi - lo);
    let (mut fc, mut fd) = (f(c), f(d));
    while hi - lo > 1e-7 {
        if fc <= fd {
            hi = d;
            d = c;
            fd = fc;
            c = hi - ratio * (hi - lo);
            fc = f(c);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + ratio * (hi - lo);
            fd = f(d);
        }
    }
    let t = f64::from(((lo + hi) / 2.0).exp() as f32);
    if nll(z, gold, k, t) < nll(z, gold, k, 1.0) {
        t
    } else {
        1.0
    }
}

impl Pipeline {
    /// Fit a calibrated pipeline: hold out about `fraction` of the rows (of the groups, when
    /// `data` has groups; drawn with the parameters' seed, as [`Pipeline::fit_holdout`]), fit
    /// on the rest, choose per head the temperature that minimizes the held-out log-loss, then
    /// fit on every row and apply those temperatures. The model's training summary records
    /// how ([`CalibrationSummary`]). Held-out rows whose label the smaller model never saw are
    /// left out of that head's choice.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] (`calibration_split`) unless `0 < fraction < 1` leaves both parts
    /// non-empty; otherwise as [`Pipeline::fit`] (for either fit).
    pub fn fit_calibrated(
        params: &ValidPipelineParams,
        data: &Dataset,
        fraction: f64,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Pipeline> {
        if params.encoder.is_some() {
            return Err(Error::param(
                "encoder",
                "set",
                "a pipeline with an encoder block is fitted with Pipeline::fit_calibrated_with_encoder",
            ));
        }
        Self::fit_calibrated_inner(params, data, fraction, None, progress)
    }

    /// [`Pipeline::fit_calibrated`] with a sentence-encoder block, as
    /// [`Pipeline::fit_with_encoder`] (every text embedded once).
    ///
    /// # Errors
    /// As [`Pipeline::fit_calibrated`].
    pub fn fit_calibrated_with_encoder(
        params: &ValidPipelineParams,
        data: &Dataset,
        encoder: &Arc<Encoder>,
        fraction: f64,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Pipeline> {
        let (params, encoder) = Self::encoder_setup(params, encoder)?;
        progress(Progress::Embedding {
            n_texts: data.len(),
        });
        let texts: Vec<&str> = data.texts().iter().map(String::as_str).collect();
        let rows = encoder.embed_flat(&texts);
        Self::fit_calibrated_inner(&params, data, fraction, Some((&encoder, &rows)), progress)
    }

    fn fit_calibrated_inner(
        params: &ValidPipelineParams,
        data: &Dataset,
        fraction: f64,
        encoder: Option<(&Arc<Encoder>, &[f32])>,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Pipeline> {
        let (fit_rows, held_rows) =
            crate::cv::holdout_split(data, fraction, params.seed).map_err(|e| match e {
                Error::InvalidParam { value, reason, .. } => Error::InvalidParam {
                    name: "calibration_split",
                    value,
                    reason,
                },
                e => e,
            })?;
        progress(Progress::Calibrating {
            n_fit: fit_rows.len(),
            n_heldout: held_rows.len(),
        });
        // The embeddings of some rows, row after row.
        let select = |rows: &[usize]| {
            encoder.map(|(e, emb)| {
                let dim = e.identity().dim;
                let part: Vec<f32> = rows
                    .iter()
                    .flat_map(|&r| emb[r * dim..(r + 1) * dim].iter().copied())
                    .collect();
                (e, part)
            })
        };
        let fit_emb = select(&fit_rows);
        let small = Self::fit_inner(
            params,
            &data.select(&fit_rows),
            fit_emb.as_ref().map(|(e, r)| (*e, r.as_slice())),
            progress,
        )?;
        let held = data.select(&held_rows);
        let held_emb = select(&held_rows);
        let held_emb = held_emb.as_ref().map(|(_, r)| r.as_slice());
        let margins: Vec<Box<[f32]>> = held
            .texts()
            .par_iter()
            .enumerate()
            .map_init(Scratch::default, |scratch, (i, text)| {
                small.features_into(text, scratch, small.embedding_row(held_emb, i));
                small.joint_margins(&scratch.row)
            })
            .collect();
        let mut heads = Vec::new();
        for (h, head) in small.heads.iter().enumerate() {
            let gold_labels = held
                .head(&head.name)
                .expect("the fitted heads are the data's heads");
            let labels = head.model.labels();
            let k = labels.len();
            let (mut z, mut gold) = (Vec::new(), Vec::new());
            for (m, g) in margins.iter().zip(gold_labels) {
                if let Some(id) = labels.id(g) {
                    z.extend_from_slice(&m[small.offsets[h]..small.offsets[h + 1]]);
                    gold.push(id);
                }
            }
            let t = fit_temperature(&z, &gold, k);
            heads.push(HeadCalibration {
                head: head.name.clone(),
                temperature: t,
                n_rows: gold.len(),
                log_loss_before: nll(&z, &gold, k, 1.0),
                log_loss_after: nll(&z, &gold, k, t),
            });
        }
        progress(Progress::Refitting { n_rows: data.len() });
        let mut model = Self::fit_inner(params, data, encoder, progress)?;
        for c in &heads {
            model.set_temperature(&c.head, c.temperature)?;
        }
        model.summary.calibration = Some(CalibrationSummary {
            method: "temperature".into(),
            fraction,
            n_fit: fit_rows.len(),
            n_heldout: held_rows.len(),
            heads,
        });
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Calibration, ScoredRow};
    use crate::PipelineParams;

    /// Rows whose labels follow `softmax(z / t0)` exactly (in counts), over a grid of margins.
    fn rows_at_temperature(t0: f64) -> (Vec<f32>, Vec<usize>) {
        let (mut z, mut gold) = (Vec::new(), Vec::new());
        for i in -20..=20 {
            let m = i as f32 * 0.5;
            let p1 = 1.0 / (1.0 + (-f64::from(m) / t0).exp());
            let n1 = (p1 * 200.0).round() as usize;
            for r in 0..200 {
                z.extend_from_slice(&[0.0, m]);
                gold.push(usize::from(r < n1));
            }
        }
        (z, gold)
    }

    #[test]
    fn fit_temperature_recovers_the_temperature_of_the_labels() {
        for t0 in [0.5, 1.0, 3.0] {
            let (z, gold) = rows_at_temperature(t0);
            let t = fit_temperature(&z, &gold, 2);
            assert!((t - t0).abs() < 0.03 * t0, "fitted {t} for {t0}");
            assert!(nll(&z, &gold, 2, t) <= nll(&z, &gold, 2, 1.0));
        }
        assert_eq!(fit_temperature(&[], &[], 2), 1.0);
        // Perfectly separated rows: as sharp as allowed.
        let t = fit_temperature(&[0.0, 5.0, 5.0, 0.0], &[1, 0], 2);
        assert!((t - MIN_TEMPERATURE).abs() < 1e-6, "{t}");
    }

    /// A small corpus of three classes with 30% of the labels flipped, from a fixed seed: a
    /// model with a huge `C` memorizes the flips and is sure of every answer.
    fn noisy(n: usize, seed: u64) -> Dataset {
        let class_words = [
            ["shelled", "troops", "artillery", "convoy", "raid", "border"],
            ["envoys", "talks", "treaty", "summit", "minister", "truce"],
            ["killed", "wounded", "dead", "hospital", "victims", "bodies"],
        ];
        let shared = [
            "the",
            "said",
            "on",
            "in",
            "after",
            "officials",
            "week",
            "region",
        ];
        let labels = ["security", "diplomacy", "casualties"];
        let mut state = seed;
        let mut next = |m: usize| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % m as u64) as usize
        };
        let (mut texts, mut gold) = (Vec::new(), Vec::new());
        for i in 0..n {
            let c = i % 3;
            let mut words = vec![class_words[c][next(6)], class_words[next(3)][next(6)]];
            for _ in 0..3 {
                words.push(shared[next(8)]);
            }
            texts.push(words.join(" "));
            let flip = next(10) < 3;
            gold.push(labels[if flip { (c + 1 + next(2)) % 3 } else { c }]);
        }
        Dataset::new(texts)
            .unwrap()
            .with_head("topic", gold)
            .unwrap()
    }

    fn log_loss(p: &Pipeline, data: &Dataset) -> f64 {
        let preds = p.predict(data.texts());
        let rows: Vec<ScoredRow<'_>> = preds
            .iter()
            .zip(data.head("topic").unwrap())
            .map(|(pr, g)| ScoredRow {
                gold: g,
                probs: pr.get(0).unwrap().probs(),
            })
            .collect();
        Calibration::from_rows(p.labels("topic").unwrap(), &rows).log_loss
    }

    #[test]
    fn calibration_lowers_held_out_log_loss_of_an_over_confident_model_and_keeps_labels() {
        let (train, test) = (noisy(240, 1), noisy(240, 2));
        let params = PipelineParams::default().c(1e4).check().unwrap();
        let plain = Pipeline::fit(&params, &train).unwrap();
        let calibrated = Pipeline::fit_calibrated(&params, &train, 0.25, &mut |_| {}).unwrap();
        let t = calibrated.temperature("topic").unwrap();
        assert!(t > 1.0, "an over-confident model is softened, got T = {t}");
        let (before, after) = (log_loss(&plain, &test), log_loss(&calibrated, &test));
        assert!(after < before, "held-out log-loss {before} -> {after}");
        let labels = |p: &Pipeline| -> Vec<String> {
            p.predict(test.texts())
                .iter()
                .map(|x| x.get(0).unwrap().label().to_string())
                .collect()
        };
        assert_eq!(labels(&plain), labels(&calibrated));
        let s = calibrated.summary().calibration.clone().unwrap();
        assert_eq!((s.n_fit + s.n_heldout, s.heads.len()), (240, 1));
        assert_eq!(s.heads[0].temperature, t);
        assert!(s.heads[0].log_loss_after < s.heads[0].log_loss_before);
        // The same weights as the plain fit on every row: only the temperature differs.
        assert_eq!(calibrated.heads(), plain.heads());
    }

    #[test]
    fn temperatures_survive_save_and_load_and_old_headers_mean_one() {
        let train = noisy(60, 3);
        let params = PipelineParams::default().c(100.0).check().unwrap();
        let plain = Pipeline::fit(&params, &train).unwrap();
        assert!(!String::from_utf8_lossy(&plain.to_bytes()).contains("\"temperature\""));
        let mut p = plain.clone();
        p.set_temperature("topic", 2.5).unwrap();
        let bytes = p.to_bytes();
        let q = Pipeline::from_bytes(&bytes).unwrap();
        assert_eq!(q.temperature("topic"), Some(2.5));
        assert_eq!(q.to_bytes(), bytes);
        assert_eq!(q.predict(train.texts()), p.predict(train.texts()));
        assert_ne!(p.predict(train.texts()), plain.predict(train.texts()));
        assert_eq!(q.header().heads[0].temperature, Some(2.5));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300] {
            assert!(matches!(
                p.set_temperature("topic", bad),
                Err(Error::InvalidParam {
                    name: "temperature",
                    ..
                })
            ));
        }
        assert!(matches!(
            p.set_temperature("mood", 2.0),
            Err(Error::UnknownHead { .. })
        ));
        // A split that leaves nothing to fit on is refused under its own name.
        assert!(matches!(
            Pipeline::fit_calibrated(&params, &train, 1.0, &mut |_| {}),
            Err(Error::InvalidParam {
                name: "calibration_split",
                ..
            })
        ));
    }
}
