//! Losses, each computing its value and its gradient with respect to the network outputs in one
//! pass (softmax + cross-entropy + gradient are fused).
//!
//! Reduction: a weighted mean over samples, `L = sum_i w_i l_i / sum_i w_i`, where `w_i` is the
//! sample weight times, for cross-entropy, the class weight of the sample's label (PyTorch's
//! `weight=` semantics). Regression losses average over outputs within a sample.
//!
//! | loss | outputs per sample | `l_i` |
//! |---|---|---|
//! | `mse` | k | `mean_j (y_ij - t_ij)^2` |
//! | `mae` | k | `mean_j abs(y_ij - t_ij)` |
//! | `huber` | k | `mean_j 0.5 r^2` if `abs(r) <= delta`, else `delta (abs(r) - 0.5 delta)` |
//! | `cross_entropy` | classes | `-sum_c q_c log softmax(y)_c`, `q` = one-hot smoothed by `eps`: `(1-eps) onehot + eps/C` |
//! | `bce` | 1 | `softplus(y) - t y` (binary cross-entropy on a logit; `t` = class 1) |
//! | `multilabel_bce` | labels | `mean_j softplus(y_j) - t_j y_j` |
//! | `quantile` | k targets x Q levels | `mean_(j,q) rho_tau_q(t_j - y_(j,q))`, `rho_tau(r) = max(tau r, (tau - 1) r)` |
//!
//! # Quantile (pinball) heads
//! `Loss::Quantile` (`--loss quantile:0.05,0.5,0.95`) trains one output per target per level:
//! output `j * Q + q` is level `q` of target `j` (each target's levels side by side, in
//! ascending order). The pinball loss `rho_tau` is minimized in expectation by the `tau`-quantile
//! of the target (Koenker & Bassett 1978), so each output learns a conditional quantile. Its
//! derivative with respect to the output is `-tau` when the target is above it and `1 - tau`
//! below (0 exactly at it, as for `mae`). Levels: 1 to [`MAX_QUANTILES`], each strictly between
//! 0 and 1, strictly increasing.

use crate::kernels::Real;
use crate::kernels::elementwise::sigmoid;
use serde::{Deserialize, Serialize};

/// The optional weights of [`Loss::evaluate`]; the default weighs every sample and class 1.
// why: the two weight options always travel together (trainer, L-BFGS, evaluation), so they are
// one argument instead of two adjacent `Option<&[f32]>` that are easy to swap.
#[derive(Debug, Clone, Copy, Default)]
pub struct LossWeights<'a> {
    /// Per-sample weights (`batch` entries), or `None` for 1.
    pub sample: Option<&'a [f32]>,
    /// Per-class weights indexed by the class label (cross-entropy and bce only), or `None` for 1.
    pub class: Option<&'a [f32]>,
}

/// The most levels a quantile head may have.
pub const MAX_QUANTILES: usize = 9;

/// The levels of a quantile head (see the module docs): 1 to [`MAX_QUANTILES`] values strictly
/// between 0 and 1, strictly increasing. A fixed-size value so that [`Loss`] stays `Copy`; saved
/// as a plain list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f32>", into = "Vec<f32>")]
pub struct QuantileLevels {
    len: u8,
    levels: [f32; MAX_QUANTILES],
}

impl QuantileLevels {
    /// Checked levels: 1 to [`MAX_QUANTILES`], each in (0, 1), strictly increasing.
    pub fn new(levels: &[f32]) -> std::result::Result<Self, String> {
        if levels.is_empty() || levels.len() > MAX_QUANTILES {
            return Err(format!(
                "a quantile head needs 1 to {MAX_QUANTILES} levels, got {}",
                levels.len()
            ));
        }
        if let Some(l) = levels
            .iter()
            .find(|l| !(l.is_finite() && **l > 0.0 && **l < 1.0))
        {
            return Err(format!(
                "quantile level {l} is not strictly between 0 and 1"
            ));
        }
        if let Some(w) = levels.windows(2).find(|w| w[1] <= w[0]) {
            return Err(format!(
                "quantile levels must be strictly increasing (sorted, no duplicates): {} then {}",
                w[0], w[1]
            ));
        }
        let mut out = QuantileLevels {
            len: levels.len() as u8,
            levels: [0.0; MAX_QUANTILES],
        };
        out.levels[..levels.len()].copy_from_slice(levels);
        Ok(out)
    }

    /// Parses a comma-separated list such as `0.05,0.5,0.95`.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        if text.trim().is_empty() {
            return Err("no quantile levels given (e.g. quantile:0.05,0.5,0.95)".into());
        }
        let levels = text
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<f32>()
                    .map_err(|_| format!("quantile level '{}' is not a number", s.trim()))
            })
            .collect::<std::result::Result<Vec<f32>, String>>()?;
        Self::new(&levels)
    }

    /// The levels, ascending.
    pub fn as_slice(&self) -> &[f32] {
        &self.levels[..self.len as usize]
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false (a head has at least one level); for symmetry with [`QuantileLevels::len`].
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The levels whose mean is the point prediction: the level 0.5 when present, else the
    /// middle level (odd count) or the two middle levels (even count, averaged).
    pub fn point_levels(&self) -> (usize, usize) {
        let l = self.as_slice();
        if let Some(i) = l.iter().position(|&t| (t - 0.5).abs() < 1e-6) {
            return (i, i);
        }
        let n = l.len();
        if n % 2 == 1 {
            (n / 2, n / 2)
        } else {
            (n / 2 - 1, n / 2)
        }
    }

    /// Column-name suffix of level `q` (e.g. `q0.05`).
    pub fn suffix(&self, q: usize) -> String {
        format!("q{}", self.as_slice().get(q).copied().unwrap_or(f32::NAN))
    }
}

impl TryFrom<Vec<f32>> for QuantileLevels {
    type Error = String;
    fn try_from(v: Vec<f32>) -> std::result::Result<Self, String> {
        Self::new(&v)
    }
}

impl From<QuantileLevels> for Vec<f32> {
    fn from(q: QuantileLevels) -> Vec<f32> {
        q.as_slice().to_vec()
    }
}

/// A training objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Loss {
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
    /// Huber loss with threshold `delta`.
    Huber {
        /// Where the quadratic part turns linear.
        delta: f32,
    },
    /// Softmax cross-entropy with optional label smoothing.
    CrossEntropy {
        /// Label smoothing `eps` in `[0, 1)`.
        #[serde(default)]
        label_smoothing: f32,
    },
    /// Binary cross-entropy on one logit per sample (classes 0/1).
    Bce,
    /// Independent binary cross-entropy per output (multi-label).
    MultilabelBce,
    /// Pinball loss, one output per target per level (see the module docs).
    Quantile {
        /// The levels, ascending.
        levels: QuantileLevels,
    },
}

/// Targets of one batch, borrowed.
#[derive(Debug, Clone, Copy)]
pub enum BatchTargets<'a> {
    /// One class index per sample.
    Classes(&'a [usize]),
    /// Row-major values, `batch x outputs` (0/1 for multi-label).
    Values(&'a [f32]),
}

impl Loss {
    /// The loss name.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::Huber { .. } => "huber",
            Loss::CrossEntropy { .. } => "cross_entropy",
            Loss::Bce => "bce",
            Loss::MultilabelBce => "multilabel_bce",
            Loss::Quantile { .. } => "quantile",
        }
    }

    /// Network outputs per target: the number of levels of a quantile head, else 1.
    pub fn outputs_per_target(&self) -> usize {
        match self {
            Loss::Quantile { levels } => levels.len(),
            _ => 1,
        }
    }

    /// The levels of a quantile head, if this is one.
    pub fn quantile_levels(&self) -> Option<&QuantileLevels> {
        match self {
            Loss::Quantile { levels } => Some(levels),
            _ => None,
        }
    }

    /// Weighted loss sum and weight sum over a batch, and (when `d_outputs` is given) the
    /// gradient of the batch mean `sum / weight_sum` with respect to `outputs`.
    ///
    /// `outputs` is `batch x width`; the per-sample and per-class weights of `weights` (class
    /// weights: cross-entropy and bce only) default to 1. Returns `(sum_i w_i l_i, sum_i w_i)`.
    pub fn evaluate<T: Real>(
        &self,
        outputs: &[T],
        batch: usize,
        width: usize,
        targets: BatchTargets<'_>,
        weights: LossWeights<'_>,
        mut d_outputs: Option<&mut [T]>,
    ) -> (f64, f64) {
        let LossWeights {
            sample: sample_weights,
            class: class_weights,
        } = weights;
        let mut weight_sum = 0.0f64;
        for i in 0..batch {
            weight_sum += self.sample_weight(i, targets, sample_weights, class_weights);
        }
        if batch == 0 || weight_sum <= 0.0 {
            if let Some(d) = d_outputs {
                d.iter_mut().for_each(|x| *x = T::zero());
            }
            return (0.0, weight_sum.max(0.0));
        }
        let inv_total = 1.0 / weight_sum;
        let mut loss_sum = 0.0f64;
        for i in 0..batch {
            let w = self.sample_weight(i, targets, sample_weights, class_weights);
            let y = &outputs[i * width..(i + 1) * width];
            let g_scale = T::of(w * inv_total);
            let d_row = d_outputs
                .as_deref_mut()
                .map(|d| &mut d[i * width..(i + 1) * width]);
            let l = match (*self, targets) {
                (Loss::CrossEntropy { label_smoothing }, BatchTargets::Classes(c)) => {
                    softmax_cross_entropy(y, c[i], label_smoothing as f64, g_scale, d_row)
                }
                (Loss::Bce, BatchTargets::Classes(c)) => {
                    bce_row(y, &[if c[i] == 1 { 1.0 } else { 0.0 }], g_scale, d_row)
                }
                (Loss::Bce | Loss::MultilabelBce, BatchTargets::Values(t)) => {
                    bce_row(y, &t[i * width..(i + 1) * width], g_scale, d_row)
                }
                (Loss::Mse | Loss::Mae | Loss::Huber { .. }, BatchTargets::Values(t)) => {
                    self.regression_row(y, &t[i * width..(i + 1) * width], g_scale, d_row)
                }
                (Loss::Quantile { levels }, BatchTargets::Values(t)) => {
                    let tw = width / levels.len().max(1);
                    pinball_row(
                        y,
                        &t[i * tw..(i + 1) * tw],
                        levels.as_slice(),
                        g_scale,
                        d_row,
                    )
                }
                _ => panic!(
                    "loss {} does not fit these targets (a bug in the caller)",
                    self.name()
                ),
            };
            loss_sum += w * l;
        }
        (loss_sum, weight_sum)
    }

    fn sample_weight(
        &self,
        i: usize,
        targets: BatchTargets<'_>,
        sample_weights: Option<&[f32]>,
        class_weights: Option<&[f32]>,
    ) -> f64 {
        let sw = sample_weights.map_or(1.0, |w| w[i] as f64);
        let cw = match (class_weights, targets) {
            (Some(cw), BatchTargets::Classes(c)) => cw[c[i]] as f64,
            _ => 1.0,
        };
        sw * cw
    }

    fn regression_row<T: Real>(&self, y: &[T], t: &[f32], g_scale: T, d: Option<&mut [T]>) -> f64 {
        let k = y.len();
        let inv_k = T::of(1.0 / k as f64);
        let mut l = 0.0f64;
        let mut d = d;
        for j in 0..k {
            let r = y[j] - T::of(t[j] as f64);
            let (lj, gj) = match *self {
                Loss::Mse => (r * r, T::of(2.0) * r),
                Loss::Mae => (
                    r.abs(),
                    r.signum() * T::of(if r == T::zero() { 0.0 } else { 1.0 }),
                ),
                Loss::Huber { delta } => {
                    let delta = T::of(delta as f64);
                    if r.abs() <= delta {
                        (T::of(0.5) * r * r, r)
                    } else {
                        (delta * (r.abs() - T::of(0.5) * delta), delta * r.signum())
                    }
                }
                _ => (T::zero(), T::zero()),
            };
            l += lj.to_f64_lossless();
            if let Some(d) = d.as_deref_mut() {
                d[j] = gj * inv_k * g_scale;
            }
        }
        l / k as f64
    }
}

/// Fused softmax cross-entropy for one row: returns the loss, writes `g_scale * (p - q)`.
fn softmax_cross_entropy<T: Real>(
    y: &[T],
    class: usize,
    smoothing: f64,
    g_scale: T,
    d: Option<&mut [T]>,
) -> f64 {
    let k = y.len();
    let max = y.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
    let mut sum = T::zero();
    for &v in y {
        sum = sum + (v - max).exp();
    }
    let log_z = max + sum.ln();
    let off = smoothing / k as f64;
    let on = 1.0 - smoothing + off;
    let mut l = 0.0f64;
    for (j, &v) in y.iter().enumerate() {
        let q = if j == class { on } else { off };
        if q != 0.0 {
            l -= q * (v - log_z).to_f64_lossless();
        }
    }
    if let Some(d) = d {
        for (j, &v) in y.iter().enumerate() {
            let q = T::of(if j == class { on } else { off });
            d[j] = ((v - log_z).exp() - q) * g_scale;
        }
    }
    l
}

/// Pinball loss for one row: `y` holds `t.len() x levels.len()` outputs (target-major); returns
/// the mean over them, writes `g_scale * d mean / d y`.
fn pinball_row<T: Real>(
    y: &[T],
    t: &[f32],
    levels: &[f32],
    g_scale: T,
    d: Option<&mut [T]>,
) -> f64 {
    let q = levels.len();
    let inv_n = T::of(1.0 / y.len().max(1) as f64);
    let mut l = 0.0f64;
    let mut d = d;
    for (i, &yi) in y.iter().enumerate() {
        let tau = T::of(levels[i % q] as f64);
        // r = target - prediction: positive when the quantile is too low.
        let r = T::of(t[i / q] as f64) - yi;
        let (li, gi) = if r > T::zero() {
            (tau * r, -tau)
        } else if r < T::zero() {
            ((tau - T::one()) * r, T::one() - tau)
        } else {
            (T::zero(), T::zero())
        };
        l += li.to_f64_lossless();
        if let Some(d) = d.as_deref_mut() {
            d[i] = gi * inv_n * g_scale;
        }
    }
    l / y.len().max(1) as f64
}

/// Binary cross-entropy on logits for one row (mean over its outputs).
fn bce_row<T: Real>(y: &[T], t: &[f32], g_scale: T, d: Option<&mut [T]>) -> f64 {
    let k = y.len();
    let inv_k = T::of(1.0 / k as f64);
    let mut l = 0.0f64;
    let mut d = d;
    for j in 0..k {
        let z = y[j];
        let tj = T::of(t[j] as f64);
        // softplus(z) - t z, stable for large |z|.
        let sp = z.max(T::zero()) + (-z.abs()).exp().ln_1p();
        l += (sp - tj * z).to_f64_lossless();
        if let Some(d) = d.as_deref_mut() {
            d[j] = (sigmoid(z) - tj) * inv_k * g_scale;
        }
    }
    l / k as f64
}

/// Softmax of each row of a `rows x width` matrix, in place (stable).
pub fn softmax_rows(values: &mut [f32], width: usize) {
    if width == 0 {
        return;
    }
    for row in values.chunks_exact_mut(width) {
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut sum = 0.0f32;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
}
