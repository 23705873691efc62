//! How sure a model is: split-conformal intervals and prediction sets, temperature scaling, and
//! Monte-Carlo dropout.
//!
//! # Split conformal prediction
//! Rows held out at training time (`mlp train --calibration-fraction F`, or
//! [`split_calibration`] + [`Model::calibrate_conformal`]) are never trained on nor used for early
//! stopping; the trained model scores each of them, and the sorted scores travel in the model file
//! ([`Model::uncertainty`]). For a level `1 - alpha` and `n` calibration scores, the threshold is
//! the `k`-th smallest score with `k = ceil((n + 1)(1 - alpha))` (the finite-sample quantile of
//! Vovk et al.; Angelopoulos & Bates, "A Gentle Introduction to Conformal Prediction", 2021). When
//! calibration and test rows are exchangeable, a new row is covered with probability in
//! `[1 - alpha, 1 - alpha + 1/(n + 1))` (the upper bound for continuous scores without ties). A
//! level that needs `k > n` cannot be met with `n` rows and is an error.
//!
//! * **Regression**: score `|y - yhat|` in the target's raw units, one list per target; the
//!   interval is `[yhat - q, yhat + q]` per target (each target has its own marginal guarantee).
//! * **Classification**: the LAC score (least ambiguous set-valued classifier, Sadinle, Lei &
//!   Wasserman 2019) `1 - p_y`, with `p` the model's probabilities (after temperature scaling when
//!   one was fitted); the set is `{k : 1 - p_k <= q}`. LAC rather than APS (adaptive prediction
//!   sets): it gives the smallest sets on average among methods with the same marginal
//!   guarantee, needs no randomization to reach exact coverage, and is what KACQ-DCNN uses; APS
//!   adapts set size better to hard rows but its sets are larger. A LAC set can be empty (no class
//!   is probable enough): that is reported as an empty set, not filled with the top class, so the
//!   guarantee above holds exactly.
//!
//! # Conformalized quantile regression (CQR)
//! Romano, Patterson & Candès 2019. A model with a quantile head (`Loss::Quantile`, `mlp train
//! --loss quantile:0.05,0.5,0.95`) of at least two levels, trained with calibration rows, stores
//! the CQR scores `max(q_lo(x) - y, y - q_hi(x))` per target instead of `|y - yhat|`, where
//! `q_lo` and `q_hi` are its **lowest and highest** trained levels (raw units). At level `L` the
//! interval is `[q_lo(x) - q, q_hi(x) + q]` with `q` the same finite-sample quantile as above, so
//! the coverage guarantee is the same; `q` may be negative (the trained band was too wide) and
//! then shrinks it. Any pair gives valid coverage at any `L`; the intervals are narrowest when
//! the pair was trained at `(1 - L)/2` and `(1 + L)/2` (e.g. 0.05 and 0.95 for 0.9), which is the
//! intended use: the trained pair is conformalized to `L`, never re-chosen. Unlike split
//! conformal's constant width, CQR intervals follow the noise: narrow where the model learned
//! that the target varies little. (Could a lower and an upper band cross, the interval would be
//! empty; the pinball loss makes that rare.)
//!
//! # Temperature scaling
//! Guo et al. 2017: class probabilities become `softmax(z / T)` (a one-output BCE classifier:
//! `sigmoid(z / T)`), with one `T > 0` fitted by minimizing the negative log-likelihood of held-out
//! rows. The NLL is convex in `1/T`, so a golden-section search on `ln(1/T)` over `T` in
//! `[0.01, 100]` finds the minimum. When every fitting row is already classified right, the NLL
//! has no minimum (it falls as `T -> 0`); then `T` is kept at 1 or above (no sharpening), since a
//! few error-free held-out rows do not justify 0/1 probabilities. Predicted classes do not change; probabilities, `mlp eval`'s
//! log loss, ECE and Brier score do.
//!
//! # Monte-Carlo dropout
//! Gal & Ghahramani 2016: `N` forward passes with dropout on (batch normalization on its running
//! statistics), masks drawn from a stream seeded by the caller. Regression: per-target mean and
//! standard deviation `sigma^2 = mean(f^2) - mean(f)^2` of the passes (raw units). Classification:
//! the mean probabilities and the predictive entropy `-sum_k pbar_k ln pbar_k` (nats).

use crate::data::split;
use crate::data::{Dataset, Targets};
use crate::layers::GradMode;
use crate::loss::{Loss, QuantileLevels, softmax_rows};
use crate::model::{Model, Task};
use crate::network::Workspace;
use crate::rng::Rng;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// What a model knows about its own uncertainty, stored in the model file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uncertainty {
    /// Conformal calibration scores (absent: trained without calibration rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conformal: Option<Conformal>,
    /// The fitted temperature (absent: probabilities are the plain softmax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<Temperature>,
}

/// The nonconformity score a [`Conformal`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConformalScore {
    /// `|y - yhat|` in raw target units (regression), one list per target.
    AbsoluteResidual,
    /// `1 - p_y` (classification), one list.
    Lac,
    /// `max(q_lo - y, y - q_hi)` in raw target units (regression with a quantile head: CQR),
    /// one list per target; may be negative.
    Cqr,
}

/// Sorted nonconformity scores of the calibration rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conformal {
    /// Which score.
    pub score: ConformalScore,
    /// Ascending scores, one list per target (regression) or a single list (classification);
    /// every list has one score per calibration row.
    pub scores: Vec<Vec<f32>>,
}

impl Conformal {
    /// Number of calibration rows.
    pub fn rows(&self) -> usize {
        self.scores.first().map_or(0, Vec::len)
    }

    /// The conformal threshold of each list at `level` (= `1 - alpha`): the
    /// `ceil((n + 1) level)`-th smallest score.
    pub fn thresholds(&self, level: f64, what: &str) -> Result<Vec<f32>> {
        check_level(level, what)?;
        let n = self.rows();
        let k = conformal_rank(n, level);
        if k > n {
            return Err(Error::config(
                what,
                format!(
                    "level {level} needs at least {} calibration rows (ceil((n+1)*level) <= n); this model has {n}; train with a larger `calibration_fraction` or lower the level",
                    min_rows(level)
                ),
            ));
        }
        Ok(self.scores.iter().map(|s| s[k - 1]).collect())
    }
}

/// `ceil((n + 1) level)`, the rank of the conformal quantile among `n` sorted scores. A relative
/// slack of 1e-12 keeps `(n+1) * 0.9` at 9 for n = 9 despite 0.9's binary rounding.
pub fn conformal_rank(n: usize, level: f64) -> usize {
    let x = (n as f64 + 1.0) * level;
    (x - 1e-12 * x.max(1.0)).ceil().max(1.0) as usize
}

/// The fewest calibration rows with which `level` can be met.
fn min_rows(level: f64) -> usize {
    let mut n = (level / (1.0 - level)).floor().max(1.0) as usize;
    while conformal_rank(n, level) > n {
        n += 1;
    }
    n
}

/// A fitted temperature and what it did on the rows it was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Temperature {
    /// `T`: probabilities are `softmax(z / T)`.
    pub value: f32,
    /// Which rows it was fitted on (`validation` or `calibration`).
    pub fitted_on: String,
    /// How many.
    pub rows: usize,
    /// Negative log-likelihood on those rows before (T = 1) and after.
    pub nll_before: f64,
    /// NLL after.
    pub nll_after: f64,
    /// Expected calibration error (15 bins) before and after.
    pub ece_before: f64,
    /// ECE after.
    pub ece_after: f64,
}

/// Checks a coverage level: strictly between 0 and 1.
pub fn check_level(level: f64, what: &str) -> Result<()> {
    if level.is_finite() && level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!("the level must be strictly between 0 and 1 (e.g. 0.9), got {level}"),
        ))
    }
}

/// Splits off calibration rows: a fraction `f` in (0, 1), stratified by class for class targets
/// (random otherwise), seeded by `seed` on a stream of its own (independent of the validation
/// split's). Returns `(rest, calibration)`; the rest keeps the original row order.
pub fn split_calibration(data: &Dataset, f: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    if !(f > 0.0 && f < 1.0) {
        return Err(Error::config(
            "calibration_fraction",
            format!("must be in (0, 1), got {f}"),
        ));
    }
    let mut rng = Rng::seed_from(seed ^ 0xCA1B_0000_C0F0_0001);
    let (rest, cal) = match &data.targets {
        Targets::Classes { labels, n_classes } => {
            split::stratified_split(labels, *n_classes, f, &mut rng)?
        }
        _ => split::random_split(data.len(), f, &mut rng)?,
    };
    if cal.is_empty() || rest.len() < 2 {
        return Err(Error::config(
            "calibration_fraction",
            format!(
                "{f} of {} rows leaves {} calibration and {} training rows; both need rows (conformal levels need about 1/(1-level) calibration rows, e.g. 19 for 0.95)",
                data.len(),
                cal.len(),
                rest.len()
            ),
        ));
    }
    Ok((data.select(&rest), data.select(&cal)))
}

/// Whether a spec has a dropout layer with `p > 0` anywhere (also inside blocks).
fn has_dropout(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            let is_dropout = map.get("type").and_then(|t| t.as_str()) == Some("dropout")
                && map
                    .get("p")
                    .and_then(serde_json::Value::as_f64)
                    .is_some_and(|p| p > 0.0);
            is_dropout || map.values().any(has_dropout)
        }
        serde_json::Value::Array(items) => items.iter().any(has_dropout),
        _ => false,
    }
}

/// Mean negative log-likelihood of `labels` under `softmax(beta * logits)` (f64).
fn nll_at(logits: &[f32], labels: &[usize], k: usize, beta: f64) -> f64 {
    let mut total = 0.0;
    for (row, &y) in logits.chunks_exact(k).zip(labels) {
        let max = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &z| m.max(beta * z as f64));
        let lse = max
            + row
                .iter()
                .map(|&z| (beta * z as f64 - max).exp())
                .sum::<f64>()
                .ln();
        total += lse - beta * row[y] as f64;
    }
    total / labels.len().max(1) as f64
}

/// The temperature minimizing the mean NLL of `labels` under `softmax(logits / T)`, `T` in
/// `[0.01, 100]` (golden-section search on `ln(1/T)`; the NLL is convex in `1/T`).
/// `logits` is `labels.len() x k` with `k >= 2`.
pub fn fit_temperature(logits: &[f32], labels: &[usize], k: usize) -> f64 {
    let f = |u: f64| nll_at(logits, labels, k, u.exp());
    // Rows that are all classified right have no interior minimum: the NLL keeps falling as T
    // goes to 0, and the "fit" would turn a model that merely made no mistake on a few held-out
    // rows into one that says 0/1. There, sharpening is not supported by the data: T >= 1.
    let separable = logits
        .chunks_exact(k.max(1))
        .zip(labels)
        .all(|(row, &y)| crate::train::argmax(row) == y);
    let (mut a, mut b) = (-(100f64.ln()), if separable { 0.0 } else { 100f64.ln() });
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..80 {
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    1.0 / ((a + b) / 2.0).exp()
}

/// Monte-Carlo dropout predictions (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct McDropout {
    /// Passes averaged.
    pub samples: usize,
    /// Mean over the passes, `rows x width`: values in raw units (regression) or probabilities
    /// (classification, one per class).
    pub mean: Vec<f32>,
    /// Standard deviation over the passes, `rows x targets` (regression only).
    pub std: Option<Vec<f32>>,
    /// Predictive entropy of the mean probabilities, nats, one per row (classification only).
    pub entropy: Option<Vec<f32>>,
}

impl Model {
    /// The model's stored uncertainty information, if any.
    pub fn uncertainty(&self) -> Option<&Uncertainty> {
        self.uncertainty.as_ref()
    }

    /// The fitted temperature, if any.
    pub fn temperature(&self) -> Option<f32> {
        self.uncertainty
            .as_ref()
            .and_then(|u| u.temperature.as_ref())
            .map(|t| t.value)
    }

    /// Divides classification logits by the fitted temperature (no-op without one, or for
    /// other tasks): the one place [`Model::predict_proba`] and [`Model::predict_into`] apply it.
    pub(crate) fn apply_temperature(&self, logits: &mut [f32]) {
        if self.task != Task::Classification {
            return;
        }
        if let Some(t) = self.temperature() {
            logits.iter_mut().for_each(|z| *z /= t);
        }
    }

    /// Classification logits as `rows x classes` (a one-output BCE classifier's logit `z`
    /// becomes `[0, z]`, whose softmax is `[1 - sigmoid(z), sigmoid(z)]`), from network outputs.
    fn class_logits(&self, outputs: Vec<f32>) -> Vec<f32> {
        if self.loss == Loss::Bce {
            outputs.iter().flat_map(|&z| [0.0, z]).collect()
        } else {
            outputs
        }
    }

    /// Fits temperature scaling on held-out rows given as network outputs (`rows x outputs`,
    /// e.g. `network.predict` on already-scaled validation rows) and their class indices; stores
    /// it in [`Model::uncertainty`] and returns it. Any previous temperature is replaced (the
    /// outputs are raw logits, so the fit does not compound). Conformal scores computed before
    /// are dropped, since they depend on the probabilities: calibrate conformal after this.
    pub fn fit_temperature_on_outputs(
        &mut self,
        outputs: Vec<f32>,
        labels: &[usize],
        fitted_on: &str,
    ) -> Result<&Temperature> {
        if self.task != Task::Classification {
            return Err(Error::config(
                "calibrate",
                "temperature scaling applies to classifiers; this model does regression",
            ));
        }
        let k = self.n_classes();
        if labels.is_empty() {
            return Err(Error::config(
                "calibrate",
                format!("temperature scaling needs {fitted_on} rows; there are none"),
            ));
        }
        if outputs.len() != labels.len() * self.network.outputs() {
            return Err(Error::shape(
                "fit_temperature",
                format!("{} x {} outputs", labels.len(), self.network.outputs()),
                outputs.len(),
            ));
        }
        if let Some(&y) = labels.iter().find(|&&y| y >= k) {
            return Err(Error::InvalidData(format!(
                "class index {y} is not below the model's {k} classes"
            )));
        }
        let logits = self.class_logits(outputs);
        let t = fit_temperature(&logits, labels, k);
        let proba_at = |t: f64| {
            let mut p: Vec<f32> = logits.iter().map(|&z| (z as f64 / t) as f32).collect();
            softmax_rows(&mut p, k);
            p
        };
        let temp = Temperature {
            value: t as f32,
            fitted_on: fitted_on.to_string(),
            rows: labels.len(),
            nll_before: nll_at(&logits, labels, k, 1.0),
            nll_after: nll_at(&logits, labels, k, 1.0 / t),
            ece_before: crate::metrics::ece(labels, &proba_at(1.0), k),
            ece_after: crate::metrics::ece(labels, &proba_at(t), k),
        };
        let u = self.uncertainty.get_or_insert_with(Uncertainty::default);
        u.conformal = None;
        Ok(u.temperature.insert(temp))
    }

    /// [`Model::fit_temperature_on_outputs`] on a data set of encoded, unscaled features with
    /// class targets (as loaded for training or `mlp eval`).
    pub fn fit_temperature(&mut self, data: &Dataset, fitted_on: &str) -> Result<&Temperature> {
        let Targets::Classes { labels, .. } = &data.targets else {
            return Err(Error::config(
                "calibrate",
                "temperature scaling needs class targets",
            ));
        };
        let outputs = self.forward(&data.features, data.len())?;
        self.fit_temperature_on_outputs(outputs, labels, fitted_on)
    }

    /// Scores calibration rows (encoded, unscaled features; encoded targets as loaded for
    /// training) and stores the sorted conformal scores in [`Model::uncertainty`]. Regression:
    /// `|y - yhat|` per target in raw units; classification: `1 - p_y` (LAC) with the current
    /// temperature applied. Replaces earlier scores.
    pub fn calibrate_conformal(&mut self, cal: &Dataset) -> Result<&Conformal> {
        cal.validate()?;
        if cal.is_empty() {
            return Err(Error::InvalidData("no calibration rows".into()));
        }
        let n = cal.len();
        let conformal = match (&cal.targets, self.task) {
            (Targets::Values { values, n_outputs }, Task::Regression) => {
                let k = *n_outputs;
                if k != self.output_width() {
                    return Err(Error::shape("calibrate (targets)", self.output_width(), k));
                }
                let mut truth = values.clone();
                self.target.decode_values(&mut truth);
                let mut scores = vec![Vec::with_capacity(n); k];
                match self.cqr_pair() {
                    Some((lo, hi)) => {
                        let q = self.predict_quantiles(&cal.features, n)?;
                        let nq = self.loss.outputs_per_target();
                        for (i, &y) in truth.iter().enumerate() {
                            let (r, j) = (i / k, i % k);
                            let base = (r * k + j) * nq;
                            scores[j].push((q[base + lo] - y).max(y - q[base + hi]));
                        }
                    }
                    None => {
                        let pred = self.predict_values(&cal.features, n)?;
                        for (i, (&y, &p)) in truth.iter().zip(&pred).enumerate() {
                            scores[i % k].push((y - p).abs());
                        }
                    }
                }
                Conformal {
                    score: if self.cqr_pair().is_some() {
                        ConformalScore::Cqr
                    } else {
                        ConformalScore::AbsoluteResidual
                    },
                    scores,
                }
            }
            (Targets::Classes { labels, .. }, Task::Classification) => {
                let k = self.n_classes();
                if let Some(&y) = labels.iter().find(|&&y| y >= k) {
                    return Err(Error::InvalidData(format!(
                        "calibration row with class index {y}; the model knows {k} classes"
                    )));
                }
                let proba = self.predict_proba(&cal.features, n)?;
                let scores = proba
                    .chunks_exact(k)
                    .zip(labels)
                    .map(|(row, &y)| 1.0 - row[y])
                    .collect();
                Conformal {
                    score: ConformalScore::Lac,
                    scores: vec![scores],
                }
            }
            _ => {
                return Err(Error::config(
                    "calibration_fraction",
                    format!(
                        "conformal calibration supports regression and classification, not this {} model or its targets",
                        self.task.name()
                    ),
                ));
            }
        };
        let mut conformal = conformal;
        for s in &mut conformal.scores {
            s.sort_by(f32::total_cmp);
        }
        let u = self.uncertainty.get_or_insert_with(Uncertainty::default);
        Ok(u.conformal.insert(conformal))
    }

    /// The stored conformal scores, or an error saying how to get them (`what` names the
    /// setting that asked: `interval` or `prediction_sets`).
    fn conformal_for(&self, what: &str, score: ConformalScore) -> Result<&Conformal> {
        let (want, other_flag) = match score {
            ConformalScore::AbsoluteResidual | ConformalScore::Cqr => {
                ("regression", "`prediction_sets`")
            }
            ConformalScore::Lac => ("classification", "`interval`"),
        };
        let task_ok = match score {
            ConformalScore::AbsoluteResidual | ConformalScore::Cqr => self.task == Task::Regression,
            ConformalScore::Lac => self.task == Task::Classification,
        };
        if !task_ok {
            return Err(Error::config(
                what,
                format!(
                    "applies to {want} models; this model does {}{}",
                    self.task.name(),
                    if self.task == Task::MultiLabel {
                        String::new()
                    } else {
                        format!(" (use {other_flag})")
                    }
                ),
            ));
        }
        self.uncertainty
            .as_ref()
            .and_then(|u| u.conformal.as_ref())
            // Intervals come from either regression score (split conformal or CQR).
            .filter(|c| {
                let same = c.score == score
                    || (score != ConformalScore::Lac && c.score != ConformalScore::Lac);
                same && c.rows() > 0
            })
            .ok_or_else(|| {
                Error::config(
                    what,
                    "this model was trained without calibration rows; retrain with `calibration_fraction` (e.g. 0.2) to store conformal scores",
                )
            })
    }

    /// Checks that Monte-Carlo dropout with `samples` passes can run on this model.
    fn check_mc(&self, samples: usize) -> Result<()> {
        if samples < 2 {
            return Err(Error::config(
                "mc_samples",
                format!("Monte-Carlo dropout needs at least 2 passes, got {samples}"),
            ));
        }
        let spec = serde_json::to_value(self.network.spec())
            .map_err(|e| Error::InvalidData(format!("cannot read the architecture: {e}")))?;
        if !has_dropout(&spec) {
            return Err(Error::config(
                "mc_samples",
                "Monte-Carlo dropout needs a model trained with `dropout` above 0 (e.g. 0.1); this one has no dropout layer",
            ));
        }
        if self.task == Task::MultiLabel {
            return Err(Error::config(
                "mc_samples",
                "Monte-Carlo dropout supports regression and classification models",
            ));
        }
        Ok(())
    }

    /// Checks every option before any prediction is made: the task each one needs, the levels,
    /// stored calibration scores enough for the levels, and dropout for Monte-Carlo passes.
    pub fn check_predict_options(&self, opts: &crate::table::PredictOptions) -> Result<()> {
        if let Some(level) = opts.interval {
            let c = self.conformal_for("interval", ConformalScore::AbsoluteResidual);
            check_level(level, "interval")?;
            c?.thresholds(level, "interval")?;
        }
        if let Some(level) = opts.prediction_sets {
            let c = self.conformal_for("prediction_sets", ConformalScore::Lac);
            check_level(level, "prediction_sets")?;
            c?.thresholds(level, "prediction_sets")?;
        }
        if let Some(n) = opts.mc_samples {
            self.check_mc(n)?;
        }
        Ok(())
    }

    /// Split-conformal intervals `[yhat - q, yhat + q]` per target at `level` for predicted
    /// values (`rows x targets`, raw units). Returns `(lower, upper)`, same shape.
    /// A CQR model (quantile head) takes [`Model::cqr_intervals`] instead.
    pub fn conformal_intervals(&self, values: &[f32], level: f64) -> Result<(Vec<f32>, Vec<f32>)> {
        let c = self.conformal_for("interval", ConformalScore::AbsoluteResidual)?;
        if c.score == ConformalScore::Cqr {
            return Err(Error::config(
                "interval",
                "this model stores CQR scores: its intervals come from its quantiles (Model::cqr_intervals)",
            ));
        }
        let q = c.thresholds(level, "interval")?;
        let k = q.len().max(1);
        let lower = values
            .iter()
            .enumerate()
            .map(|(i, &v)| v - q[i % k])
            .collect();
        let upper = values
            .iter()
            .enumerate()
            .map(|(i, &v)| v + q[i % k])
            .collect();
        Ok((lower, upper))
    }

    /// LAC prediction sets at `level` for class probabilities (`rows x classes`): the classes
    /// with `1 - p_k <= q`, in index order (possibly empty).
    pub fn prediction_sets(&self, proba: &[f32], level: f64) -> Result<Vec<Vec<usize>>> {
        let c = self.conformal_for("prediction_sets", ConformalScore::Lac)?;
        let q = c.thresholds(level, "prediction_sets")?[0];
        let k = self.n_classes().max(1);
        Ok(proba
            .chunks_exact(k)
            .map(|row| (0..k).filter(|&j| 1.0 - row[j] <= q).collect())
            .collect())
    }

    /// Monte-Carlo dropout: `samples` (at least 2) stochastic passes over encoded, unscaled
    /// features (`rows x n_features`), dropout masks from a stream seeded by `seed` (same seed,
    /// same result). Errors for a model without dropout, or a multi-label model.
    pub fn mc_dropout(
        &self,
        features: &[f32],
        rows: usize,
        samples: usize,
        seed: u64,
    ) -> Result<McDropout> {
        self.check_mc(samples)?;
        self.check_features(features, rows)?;
        let mut x = features.to_vec();
        self.scaler.apply(&mut x);
        // An ensemble's passes cycle through its members (pass s uses member s mod K).
        let nets: Vec<crate::network::Network> = self
            .networks()
            .map(|n| n.with_grad_mode(GradMode::McDropout))
            .collect();
        let width = self.output_width();
        let mut sum = vec![0.0f64; rows * width];
        let mut sq = vec![0.0f64; rows * width];
        let mut ws = Workspace::new();
        let mut rng = Rng::seed_from(seed ^ 0x4D43_D80F_0000_0002);
        // Chunks bound the workspace; the stream runs through them in order (deterministic).
        const CHUNK: usize = 2048;
        let nin = self.network.inputs();
        for pass in 0..samples {
            let net = &nets[pass % nets.len()];
            let mut start = 0;
            while start < rows {
                let end = (start + CHUNK).min(rows);
                let b = end - start;
                let out = net
                    .forward_train(
                        &net.params,
                        &x[start * nin..end * nin],
                        b,
                        &mut ws,
                        &mut rng,
                    )
                    .to_vec();
                let vals = match self.task {
                    Task::Regression => {
                        let mut v = match self.loss.quantile_levels() {
                            Some(levels) => quantile_points(&out, levels),
                            None => out,
                        };
                        self.target.decode_values(&mut v);
                        v
                    }
                    _ => {
                        let mut z = self.class_logits(out);
                        self.apply_temperature(&mut z);
                        softmax_rows(&mut z, width);
                        z
                    }
                };
                for (i, &v) in vals.iter().enumerate() {
                    sum[start * width + i] += v as f64;
                    sq[start * width + i] += (v as f64).powi(2);
                }
                start = end;
            }
        }
        let t = samples as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / t) as f32).collect();
        let (std, entropy) = match self.task {
            Task::Regression => (
                Some(
                    sum.iter()
                        .zip(&sq)
                        .map(|(s, q)| (q / t - (s / t).powi(2)).max(0.0).sqrt() as f32)
                        .collect(),
                ),
                None,
            ),
            _ => (
                None,
                Some(
                    mean.chunks_exact(width.max(1))
                        .map(|row| {
                            -row.iter()
                                .filter(|&&p| p > 0.0)
                                .map(|&p| p as f64 * (p as f64).ln())
                                .sum::<f64>() as f32
                        })
                        .collect(),
                ),
            ),
        };
        Ok(McDropout {
            samples,
            mean,
            std,
            entropy,
        })
    }
}

impl Uncertainty {
    /// Checks what a model file says against the model (task and outputs), and puts the scores
    /// in order: a hand-edited or foreign file fails here with a message instead of giving wrong
    /// intervals later. Sizes are taken from the lists themselves, never from a stated count.
    pub fn check(&mut self, task: Task, targets: usize) -> std::result::Result<(), String> {
        if let Some(t) = &self.temperature {
            if !(t.value.is_finite() && t.value > 0.0) {
                return Err(format!(
                    "uncertainty.temperature is {}; it must be a positive number",
                    t.value
                ));
            }
            if task != Task::Classification {
                return Err(
                    "uncertainty.temperature is set on a model that is not a classifier".into(),
                );
            }
        }
        if let Some(c) = &mut self.conformal {
            let lists = match (c.score, task) {
                (ConformalScore::AbsoluteResidual | ConformalScore::Cqr, Task::Regression) => {
                    targets
                }
                (ConformalScore::Lac, Task::Classification) => 1,
                _ => {
                    return Err(format!(
                        "uncertainty.conformal holds {:?} scores, which do not fit a {} model",
                        c.score,
                        task.name()
                    ));
                }
            };
            if c.scores.len() != lists {
                return Err(format!(
                    "uncertainty.conformal has {} score lists; this model needs {lists}",
                    c.scores.len()
                ));
            }
            let n = c.rows();
            if n == 0 || c.scores.iter().any(|s| s.len() != n) {
                return Err(
                    "uncertainty.conformal score lists are empty or of unequal lengths".into(),
                );
            }
            // CQR scores are negative for rows inside the trained band; the others never are.
            let negative_ok = c.score == ConformalScore::Cqr;
            if c.scores
                .iter()
                .flatten()
                .any(|s| !s.is_finite() || (*s < 0.0 && !negative_ok))
            {
                return Err("uncertainty.conformal has a negative or non-finite score".into());
            }
            for s in &mut c.scores {
                s.sort_by(f32::total_cmp);
            }
        }
        Ok(())
    }
}

impl Uncertainty {
    /// Checks the stored scores against the model's loss: CQR scores need a quantile head with a
    /// lower and an upper level.
    pub fn check_loss(&self, loss: &Loss) -> std::result::Result<(), String> {
        let cqr = self
            .conformal
            .as_ref()
            .is_some_and(|c| c.score == ConformalScore::Cqr);
        if cqr && loss.outputs_per_target() < 2 {
            return Err(
                "uncertainty.conformal holds CQR scores but the model has no quantile head with two levels or more"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The point prediction of each target from a quantile head's outputs (`rows x (targets x
/// levels)`, target-major): the level 0.5, else the middle level, else the mean of the two
/// middle levels (see [`QuantileLevels::point_levels`]). Returns `rows x targets`.
pub fn quantile_points(outputs: &[f32], levels: &QuantileLevels) -> Vec<f32> {
    let q = levels.len().max(1);
    let (a, b) = levels.point_levels();
    outputs
        .chunks_exact(q)
        .map(|l| if a == b { l[a] } else { 0.5 * (l[a] + l[b]) })
        .collect()
}

impl Model {
    /// The levels of the model's quantile head, if it has one.
    pub fn quantile_levels(&self) -> Option<&QuantileLevels> {
        self.loss.quantile_levels()
    }

    /// The (lowest, highest) levels CQR uses, as indices into the levels: a quantile head of at
    /// least two levels on a regression model; `None` otherwise.
    pub fn cqr_pair(&self) -> Option<(usize, usize)> {
        let levels = self.loss.quantile_levels()?;
        (self.task == Task::Regression && levels.len() >= 2).then(|| (0, levels.len() - 1))
    }

    /// A quantile head's predictions in the target's raw units, `rows x (targets x levels)`:
    /// value `(r * targets + j) * levels + q` is level `q` of target `j` for row `r`. Errors for
    /// a model without a quantile head.
    pub fn predict_quantiles(&self, features: &[f32], rows: usize) -> Result<Vec<f32>> {
        let Some(levels) = self.loss.quantile_levels() else {
            return Err(Error::config(
                "quantiles",
                "this model has no quantile head (train with `loss` quantile, e.g. levels 0.05,0.5,0.95)",
            ));
        };
        let q = levels.len().max(1);
        let mut out = self.forward(features, rows)?;
        if let crate::data::preprocess::TargetEncoder::Standardized { mean, scale, .. } =
            &self.target
        {
            let k = mean.len().min(scale.len()).max(1);
            for (i, v) in out.iter_mut().enumerate() {
                let j = (i / q) % k;
                *v = (*v as f64 * scale[j] + mean[j]) as f32;
            }
        }
        Ok(out)
    }

    /// CQR intervals at `level` from a quantile head's predictions (as
    /// [`Model::predict_quantiles`] returns them): `[q_lo - q, q_hi + q]` per target, `q` the
    /// conformal quantile of the stored CQR scores. Returns `(lower, upper)`, `rows x targets`.
    pub fn cqr_intervals(&self, quantiles: &[f32], level: f64) -> Result<(Vec<f32>, Vec<f32>)> {
        let c = self.conformal_for("interval", ConformalScore::Cqr)?;
        let (Some((lo, hi)), ConformalScore::Cqr) = (self.cqr_pair(), c.score) else {
            return Err(Error::config(
                "interval",
                "this model stores split-conformal scores, not CQR scores (Model::conformal_intervals)",
            ));
        };
        let t = c.thresholds(level, "interval")?;
        let k = t.len().max(1);
        let nq = self.loss.outputs_per_target();
        let (mut lower, mut upper) = (Vec::new(), Vec::new());
        for (i, row) in quantiles.chunks_exact(nq).enumerate() {
            lower.push(row[lo] - t[i % k]);
            upper.push(row[hi] + t[i % k]);
        }
        Ok((lower, upper))
    }
}
