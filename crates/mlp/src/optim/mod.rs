//! Optimizers: each update is one fused pass over the flat parameter buffer.
//!
//! Defaults equal PyTorch's (`torch.optim`) except where noted. Weight decay applies to weight
//! matrices only, never to biases (scikit-learn's `alpha` convention); frozen tensors are skipped.
//! `lr` and `weight_decay` are passed per step so schedules can change them.

pub mod adam;
pub mod clip;
pub mod constrained;
pub mod device;
pub mod lamb;
pub mod lbfgs;
pub mod quickprop;
pub mod rmsprop;
pub mod rprop;
pub mod sarprop;
pub mod schedule;
pub mod sgd;

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Parameters per task when an update is split across threads.
const PARALLEL_CHUNK: usize = 1 << 15;

/// A contiguous run of parameters that share their update rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Range in the flat buffer.
    pub range: Range<usize>,
    /// Whether weight decay applies.
    pub decay: bool,
}

fn d_beta1() -> f32 {
    0.9
}
fn d_beta2() -> f32 {
    0.999
}
fn d_eps() -> f32 {
    1e-8
}
fn d_lamb_eps() -> f32 {
    1e-6
}
fn d_alpha() -> f32 {
    0.99
}
fn d_momentum() -> f32 {
    0.9
}
fn d_history() -> usize {
    10
}
fn d_eta_plus() -> f32 {
    1.2
}
fn d_eta_minus() -> f32 {
    0.5
}
fn d_delta0() -> f32 {
    // FANN's `rprop_delta_zero` is 0.1; on standardized inputs a first step of 0.1 on every
    // weight at once throws a regression network far off (the loss rises sixfold on the first
    // epoch of sklearn's diabetes and the run reads as diverged), so the first steps start at
    // 0.0125 (one eighth) and grow by 1.2 per agreeing epoch.
    0.0125
}
fn d_delta_min() -> f32 {
    1e-6
}
fn d_delta_max() -> f32 {
    50.0
}
fn d_qp_mu() -> f32 {
    1.75
}
fn d_qp_decay() -> f32 {
    -1e-4
}
fn d_sar_wd_shift() -> f32 {
    -6.644
}
fn d_sar_threshold() -> f32 {
    0.1
}
fn d_sar_error_shift() -> f32 {
    1.385
}
fn d_sar_temperature() -> f32 {
    0.015
}

/// Which optimizer, with its hyperparameters (the learning rate and weight decay are separate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Stochastic gradient descent. Default momentum 0.9 (scikit-learn's; PyTorch's is 0).
    Sgd {
        /// Momentum factor.
        #[serde(default = "d_momentum")]
        momentum: f32,
        /// Nesterov momentum.
        #[serde(default)]
        nesterov: bool,
    },
    /// Adam with L2 weight decay added to the gradient (PyTorch `Adam(weight_decay=...)`).
    Adam {
        /// First-moment decay.
        #[serde(default = "d_beta1")]
        beta1: f32,
        /// Second-moment decay.
        #[serde(default = "d_beta2")]
        beta2: f32,
        /// Denominator epsilon.
        #[serde(default = "d_eps")]
        eps: f32,
    },
    /// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter).
    Adamw {
        /// First-moment decay.
        #[serde(default = "d_beta1")]
        beta1: f32,
        /// Second-moment decay.
        #[serde(default = "d_beta2")]
        beta2: f32,
        /// Denominator epsilon.
        #[serde(default = "d_eps")]
        eps: f32,
    },
    /// LAMB: Adam's direction scaled per tensor by the trust ratio `||w|| / ||update||`
    /// (decoupled weight decay inside the update), for large batches.
    Lamb {
        /// First-moment decay.
        #[serde(default = "d_beta1")]
        beta1: f32,
        /// Second-moment decay.
        #[serde(default = "d_beta2")]
        beta2: f32,
        /// Denominator epsilon (LAMB's usual 1e-6).
        #[serde(default = "d_lamb_eps")]
        eps: f32,
    },
    /// RMSprop (PyTorch's form: `v = alpha v + (1-alpha) g^2`, step `g / (sqrt(v) + eps)`).
    Rmsprop {
        /// Smoothing constant.
        #[serde(default = "d_alpha")]
        alpha: f32,
        /// Denominator epsilon.
        #[serde(default = "d_eps")]
        eps: f32,
        /// Momentum factor (0 = none).
        #[serde(default)]
        momentum: f32,
    },
    /// Limited-memory BFGS with a backtracking (Armijo) line search, full batch: each epoch is one
    /// iteration over the whole training set. For small problems.
    Lbfgs {
        /// Number of correction pairs kept.
        #[serde(default = "d_history")]
        history: usize,
    },
    /// iRPROP- (see [`rprop`]), full batch: per-weight step sizes driven by the gradient's sign;
    /// the learning rate is not used. Defaults are FANN's.
    Rprop {
        /// Step growth factor (1.2).
        #[serde(default = "d_eta_plus")]
        eta_plus: f32,
        /// Step shrink factor (0.5).
        #[serde(default = "d_eta_minus")]
        eta_minus: f32,
        /// Initial step (0.0125; FANN's `rprop_delta_zero` is 0.1).
        #[serde(default = "d_delta0")]
        delta0: f32,
        /// Smallest step (1e-6; FANN: 0).
        #[serde(default = "d_delta_min")]
        delta_min: f32,
        /// Largest step (50).
        #[serde(default = "d_delta_max")]
        delta_max: f32,
    },
    /// Quickprop (see [`quickprop`]), full batch; the learning rate is its gradient-step size
    /// (FANN's default 0.7).
    Quickprop {
        /// Maximum step growth factor (1.75).
        #[serde(default = "d_qp_mu")]
        mu: f32,
        /// Weight decay inside the slope (-0.0001; negative shrinks weights).
        #[serde(default = "d_qp_decay")]
        decay: f32,
    },
    /// SARPROP (see [`sarprop`]), full batch: RPROP with annealed weight decay and step noise;
    /// the learning rate is not used. Defaults are FANN's.
    Sarprop {
        /// Exponent shift of the weight-decay term (-6.644).
        #[serde(default = "d_sar_wd_shift")]
        weight_decay_shift: f32,
        /// A shrinking step below this fraction of the MSE gets noise (0.1).
        #[serde(default = "d_sar_threshold")]
        step_error_threshold_factor: f32,
        /// Exponent shift of the noise term (1.385).
        #[serde(default = "d_sar_error_shift")]
        step_error_shift: f32,
        /// Annealing temperature (0.015).
        #[serde(default = "d_sar_temperature")]
        temperature: f32,
    },
}

impl OptimizerConfig {
    /// Parses a name with default hyperparameters: sgd, nesterov, adam, adamw, rmsprop, lbfgs,
    /// rprop, quickprop, sarprop.
    pub fn from_name(name: &str) -> crate::Result<Self> {
        Ok(
            match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "sgd" => OptimizerConfig::Sgd {
                    momentum: d_momentum(),
                    nesterov: false,
                },
                "nesterov" => OptimizerConfig::Sgd {
                    momentum: d_momentum(),
                    nesterov: true,
                },
                "adam" => OptimizerConfig::Adam {
                    beta1: d_beta1(),
                    beta2: d_beta2(),
                    eps: d_eps(),
                },
                "adamw" => OptimizerConfig::Adamw {
                    beta1: d_beta1(),
                    beta2: d_beta2(),
                    eps: d_eps(),
                },
                "lamb" => OptimizerConfig::Lamb {
                    beta1: d_beta1(),
                    beta2: d_beta2(),
                    eps: d_lamb_eps(),
                },
                "rmsprop" => OptimizerConfig::Rmsprop {
                    alpha: d_alpha(),
                    eps: d_eps(),
                    momentum: 0.0,
                },
                "lbfgs" | "l_bfgs" => OptimizerConfig::Lbfgs {
                    history: d_history(),
                },
                "rprop" | "irprop" | "irprop_minus" => OptimizerConfig::Rprop {
                    eta_plus: d_eta_plus(),
                    eta_minus: d_eta_minus(),
                    delta0: d_delta0(),
                    delta_min: d_delta_min(),
                    delta_max: d_delta_max(),
                },
                "quickprop" => OptimizerConfig::Quickprop {
                    mu: d_qp_mu(),
                    decay: d_qp_decay(),
                },
                "sarprop" => OptimizerConfig::Sarprop {
                    weight_decay_shift: d_sar_wd_shift(),
                    step_error_threshold_factor: d_sar_threshold(),
                    step_error_shift: d_sar_error_shift(),
                    temperature: d_sar_temperature(),
                },
                _ => {
                    return Err(crate::Error::config(
                        "optimizer",
                        format!(
                            "unknown '{name}'; one of sgd, nesterov, adam, adamw, lamb, rmsprop, lbfgs, rprop, quickprop, sarprop"
                        ),
                    ));
                }
            },
        )
    }

    /// SGD with scikit-learn's default momentum 0.9.
    pub fn sgd() -> Self {
        Self::from_defaults("sgd")
    }

    /// SGD with Nesterov momentum 0.9.
    pub fn nesterov() -> Self {
        Self::from_defaults("nesterov")
    }

    /// Adam with the usual defaults (0.9, 0.999, 1e-8).
    pub fn adam() -> Self {
        Self::from_defaults("adam")
    }

    /// AdamW (decoupled weight decay) with Adam's defaults.
    pub fn adamw() -> Self {
        Self::from_defaults("adamw")
    }

    /// LAMB with its defaults.
    pub fn lamb() -> Self {
        Self::from_defaults("lamb")
    }

    /// RMSprop with its defaults (no momentum).
    pub fn rmsprop() -> Self {
        Self::from_defaults("rmsprop")
    }

    /// L-BFGS (full batch) with its default history.
    pub fn lbfgs() -> Self {
        Self::from_defaults("lbfgs")
    }

    /// [`OptimizerConfig::from_name`] for a name known to be valid (Adam otherwise).
    fn from_defaults(name: &str) -> Self {
        Self::from_name(name).unwrap_or(OptimizerConfig::Adam {
            beta1: d_beta1(),
            beta2: d_beta2(),
            eps: d_eps(),
        })
    }

    /// The optimizer's name.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd { nesterov: true, .. } => "nesterov",
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adam { .. } => "adam",
            OptimizerConfig::Adamw { .. } => "adamw",
            OptimizerConfig::Lamb { .. } => "lamb",
            OptimizerConfig::Rmsprop { .. } => "rmsprop",
            OptimizerConfig::Lbfgs { .. } => "lbfgs",
            OptimizerConfig::Rprop { .. } => "rprop",
            OptimizerConfig::Quickprop { .. } => "quickprop",
            OptimizerConfig::Sarprop { .. } => "sarprop",
        }
    }

    /// Whether every step sees the whole training set (L-BFGS and the RPROP family): such
    /// optimizers take no minibatch-only options (mixup, augmentation, adversarial examples,
    /// gradient clipping, constrained updates).
    pub fn is_full_batch(&self) -> bool {
        matches!(
            self,
            OptimizerConfig::Lbfgs { .. }
                | OptimizerConfig::Rprop { .. }
                | OptimizerConfig::Quickprop { .. }
                | OptimizerConfig::Sarprop { .. }
        )
    }

    /// The learning rate used when none is given (scikit-learn's 1e-3 for Adam, 1e-2 for SGD).
    pub fn default_lr(&self) -> f32 {
        match self {
            OptimizerConfig::Sgd { .. } => 1e-2,
            OptimizerConfig::Rmsprop { .. } => 1e-3,
            OptimizerConfig::Lbfgs { .. } => 1.0,
            // Not used by the sign-based rules; FANN's learning rate for Quickprop.
            OptimizerConfig::Rprop { .. } | OptimizerConfig::Sarprop { .. } => 1.0,
            OptimizerConfig::Quickprop { .. } => 0.7,
            _ => 1e-3,
        }
    }

    /// Checks hyperparameter ranges.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |f: &str, r: &str| Err(crate::Error::config(f, r));
        match *self {
            OptimizerConfig::Sgd { momentum, .. } if !(0.0..1.0).contains(&momentum) => {
                bad("momentum", "must be in [0, 1)")
            }
            OptimizerConfig::Adam { beta1, beta2, eps }
            | OptimizerConfig::Adamw { beta1, beta2, eps }
                if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) || eps <= 0.0 =>
            {
                bad("adam", "betas must be in [0, 1) and eps positive")
            }
            OptimizerConfig::Rmsprop {
                alpha,
                eps,
                momentum,
            } if !(0.0..1.0).contains(&alpha) || eps <= 0.0 || !(0.0..1.0).contains(&momentum) => {
                bad(
                    "rmsprop",
                    "alpha and momentum must be in [0, 1) and eps positive",
                )
            }
            OptimizerConfig::Lamb { beta1, beta2, eps }
                if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) || eps <= 0.0 =>
            {
                bad("lamb", "betas must be in [0, 1) and eps positive")
            }
            OptimizerConfig::Lbfgs { history: 0 } => bad("history", "must be at least 1"),
            OptimizerConfig::Rprop {
                eta_plus,
                eta_minus,
                delta0,
                delta_min,
                delta_max,
            } if !(eta_plus > 1.0
                && eta_plus.is_finite()
                && eta_minus > 0.0
                && eta_minus < 1.0)
                || !(delta_min >= 0.0 && delta_min <= delta0 && delta0 <= delta_max)
                || !delta_max.is_finite() =>
            {
                bad(
                    "rprop",
                    "needs eta_plus > 1, 0 < eta_minus < 1 and 0 <= delta_min <= delta0 <= delta_max",
                )
            }
            OptimizerConfig::Quickprop { mu, decay }
                if !(mu > 0.0 && mu.is_finite() && decay.is_finite()) =>
            {
                bad("quickprop", "mu must be positive and decay finite")
            }
            OptimizerConfig::Sarprop {
                weight_decay_shift,
                step_error_threshold_factor,
                step_error_shift,
                temperature,
            } if !(weight_decay_shift.is_finite()
                && step_error_threshold_factor >= 0.0
                && step_error_shift.is_finite()
                && temperature >= 0.0
                && temperature.is_finite()) =>
            {
                bad(
                    "sarprop",
                    "shifts must be finite, the threshold factor and temperature zero or positive",
                )
            }
            _ => Ok(()),
        }
    }
}

/// Optimizer state that persists across steps (and into checkpoints).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptimizerState {
    /// Number of updates taken.
    pub step: u64,
    /// Named per-parameter buffers (e.g. Adam's `m` and `v`), each as long as the parameters.
    pub buffers: Vec<(String, Vec<f32>)>,
}

impl OptimizerState {
    /// Whether a buffer `name` of length `n` exists.
    pub(crate) fn has_buffer(&self, name: &str, n: usize) -> bool {
        self.buffers.iter().any(|(k, v)| k == name && v.len() == n)
    }

    /// Two named buffers of length `n` (created zeroed, or replaced when their length differs).
    pub(crate) fn buffer_pair(&mut self, a: &str, b: &str, n: usize) -> (&mut [f32], &mut [f32]) {
        for name in [a, b] {
            if !self.buffers.iter().any(|(k, v)| k == name && v.len() == n) {
                self.buffers.retain(|(k, _)| k != name);
                self.buffers.push((name.to_string(), vec![0.0; n]));
            }
        }
        let ia = self.buffers.iter().position(|(k, _)| k == a).unwrap_or(0);
        let ib = self.buffers.iter().position(|(k, _)| k == b).unwrap_or(0);
        debug_assert_ne!(ia, ib);
        if ia < ib {
            let (x, y) = self.buffers.split_at_mut(ib);
            (&mut x[ia].1, &mut y[0].1)
        } else {
            let (x, y) = self.buffers.split_at_mut(ia);
            (&mut y[0].1, &mut x[ib].1)
        }
    }

    fn buffer(&mut self, a: &str, n: usize) -> &mut [f32] {
        if !self.buffers.iter().any(|(k, v)| k == a && v.len() == n) {
            self.buffers.retain(|(k, _)| k != a);
            self.buffers.push((a.to_string(), vec![0.0; n]));
        }
        let i = self.buffers.iter().position(|(k, _)| k == a).unwrap_or(0);
        &mut self.buffers[i].1
    }
}

/// Applies one first-order update (the full-batch rules, [`OptimizerConfig::is_full_batch`], are
/// driven separately by the trainer).
pub fn step(
    config: &OptimizerConfig,
    state: &mut OptimizerState,
    params: &mut [f32],
    grads: &[f32],
    segments: &[Segment],
    lr: f32,
    weight_decay: f32,
) {
    state.step += 1;
    let n = params.len();
    match *config {
        OptimizerConfig::Sgd { momentum, nesterov } => {
            let buf = state.buffer("momentum", n);
            for s in segments {
                let wd = if s.decay { weight_decay } else { 0.0 };
                let r = s.range.clone();
                sgd::update(
                    &mut params[r.clone()],
                    &grads[r.clone()],
                    &mut buf[r],
                    lr,
                    momentum,
                    nesterov,
                    wd,
                );
            }
        }
        OptimizerConfig::Adam { beta1, beta2, eps }
        | OptimizerConfig::Adamw { beta1, beta2, eps } => {
            let decoupled = matches!(config, OptimizerConfig::Adamw { .. });
            let t = state.step;
            let (m, v) = state.buffer_pair("adam.m", "adam.v", n);
            let hp = adam::AdamStep::new(lr, beta1, beta2, eps, t);
            for s in segments {
                let wd = if s.decay { weight_decay } else { 0.0 };
                let r = s.range.clone();
                let (p, g) = (&mut params[r.clone()], &grads[r.clone()]);
                let (m, v) = (&mut m[r.clone()], &mut v[r]);
                let threads = crate::kernels::gemm::threads_here();
                if threads == 2 && p.len() > PARALLEL_CHUNK {
                    // Two halves on this thread and the spinning helper core: no rayon wake-up
                    // per step. Elementwise, so the split changes no result.
                    let half = p.len() / 2;
                    let (p0, p1) = p.split_at_mut(half);
                    let (m0, m1) = m.split_at_mut(half);
                    let (v0, v1) = v.split_at_mut(half);
                    crate::kernels::run_split(
                        (p0, &g[..half], m0, v0),
                        (p1, &g[half..], m1, v1),
                        |(p, g, m, v)| hp.update(p, g, m, v, wd, decoupled),
                    );
                } else if threads > 1 && p.len() > PARALLEL_CHUNK {
                    // Elementwise and independent: splitting across threads changes no result.
                    use rayon::prelude::*;
                    p.par_chunks_mut(PARALLEL_CHUNK)
                        .zip(g.par_chunks(PARALLEL_CHUNK))
                        .zip(m.par_chunks_mut(PARALLEL_CHUNK))
                        .zip(v.par_chunks_mut(PARALLEL_CHUNK))
                        .for_each(|(((p, g), m), v)| hp.update(p, g, m, v, wd, decoupled));
                } else {
                    hp.update(p, g, m, v, wd, decoupled);
                }
            }
        }
        OptimizerConfig::Rmsprop {
            alpha,
            eps,
            momentum,
        } => {
            let (sq, mom) = state.buffer_pair("rmsprop.square_avg", "rmsprop.momentum", n);
            let hp = rmsprop::RmspropStep {
                lr,
                alpha,
                eps,
                momentum,
            };
            for s in segments {
                let wd = if s.decay { weight_decay } else { 0.0 };
                let r = s.range.clone();
                let (p, g) = (&mut params[r.clone()], &grads[r.clone()]);
                hp.update(p, g, &mut sq[r.clone()], &mut mom[r], wd);
            }
        }
        OptimizerConfig::Lamb { beta1, beta2, eps } => {
            let t = state.step;
            let (m, v) = state.buffer_pair("lamb.m", "lamb.v", n);
            let hp = lamb::LambStep::new(lr, beta1, beta2, eps, t);
            for s in segments {
                let wd = if s.decay { weight_decay } else { 0.0 };
                let r = s.range.clone();
                let (p, g) = (&mut params[r.clone()], &grads[r.clone()]);
                hp.update(p, g, &mut m[r.clone()], &mut v[r], wd);
            }
        }
        // Full-batch rules, driven by `train::fullbatch` (they need the epoch and the loss).
        OptimizerConfig::Lbfgs { .. }
        | OptimizerConfig::Rprop { .. }
        | OptimizerConfig::Quickprop { .. }
        | OptimizerConfig::Sarprop { .. } => {}
    }
}
