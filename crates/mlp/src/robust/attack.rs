//! Adversarial attacks and white-noise perturbations on a network's inputs.
//!
//! # Units
//! An attack works in *attack units* `u`, one per input feature: the network sees
//! `x = x0 + r_j u_j` where `r_j` is the feature's radius in [`PerturbSpace::radius`]. With
//! `r_j = 1` the ball is measured in network-input units (standardized units for CSV models, `[0,1]`
//! pixels for image models); with `r_j = 1 / scale_j` it is measured in raw (unscaled) units: an
//! L-inf ball of radius `eps` in raw units is the per-feature box `|dx_j| <= eps / scale_j` in
//! network units, and an L2 ball in raw units is the ellipsoid `sum_j (scale_j dx_j)^2 <= eps^2`
//! (the exact image of the raw L2 ball). `r_j = 0` freezes a feature (one-hot categories).
//! After each step the input is clipped to the per-feature domain `[lower_j, upper_j]` (network
//! units). Clipping toward a domain that contains the clean input only shrinks `|dx_j|`, so the
//! result stays inside the ball.
//!
//! # Methods
//! - FGSM (Goodfellow et al.): one step `u = eps * sign(g_u)` (L-inf) or `eps * g_u / |g_u|` (L2),
//!   where `g_u = r * dL/dx` is the loss gradient in attack units.
//! - PGD (Madry et al.): optional uniform random start in the ball, then `steps` steps of size
//!   `alpha` (default `2.5 eps / steps`) along the same direction, each followed by projection to
//!   the ball and clipping to the domain. With `restarts > 1` each sample keeps the restart with
//!   the highest loss.
//! - Gaussian noise: `u_j ~ N(0, eps^2)` (eps is the standard deviation; not projected).
//! - Uniform noise: uniform in the ball (the box for L-inf, the solid ball for L2).
//!
//! The loss is the model's training loss (cross-entropy for classifiers, MSE for regression),
//! unweighted, and gradients come from a [`GradMode::Eval`] copy of the network, so they are the
//! gradients of the deployed (inference) function. Work is cut into chunks of [`ATTACK_CHUNK`] rows,
//! each with its own random stream forked from the seed by chunk index; chunks run in parallel
//! with single-threaded kernels, so results do not depend on the thread count.

use crate::layers::GradMode;
use crate::loss::{BatchTargets, Loss, LossWeights};
use crate::network::{Network, Workspace};
use crate::rng::Rng;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Rows per independently seeded chunk in [`attack`].
pub const ATTACK_CHUNK: usize = 256;

/// The norm of the perturbation ball.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// Largest absolute change of any feature.
    #[default]
    Linf,
    /// Euclidean length of the change.
    L2,
}

impl std::str::FromStr for Norm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "linf" | "inf" | "l_inf" => Ok(Norm::Linf),
            "l2" | "2" => Ok(Norm::L2),
            _ => Err(Error::config(
                "norm",
                format!("unknown norm '{s}'; use linf or l2"),
            )),
        }
    }
}

impl Norm {
    /// The norm's name.
    pub fn name(self) -> &'static str {
        match self {
            Norm::Linf => "linf",
            Norm::L2 => "l2",
        }
    }

    /// The norm of a vector.
    pub fn of(self, v: &[f32]) -> f32 {
        match self {
            Norm::Linf => v.iter().fold(0.0f32, |m, x| m.max(x.abs())),
            Norm::L2 => v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt() as f32,
        }
    }
}

/// How the perturbation is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackMethod {
    /// Fast gradient sign method: one full-size step.
    Fgsm,
    /// Projected gradient descent (ascent on the loss).
    Pgd,
    /// Gaussian white noise with standard deviation `eps`.
    GaussianNoise,
    /// Uniform white noise in the ball.
    UniformNoise,
}

impl std::str::FromStr for AttackMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "fgsm" => Ok(AttackMethod::Fgsm),
            "pgd" => Ok(AttackMethod::Pgd),
            "noise" | "gaussian" => Ok(AttackMethod::GaussianNoise),
            "uniform" => Ok(AttackMethod::UniformNoise),
            _ => Err(Error::config(
                "method",
                format!("unknown attack '{s}'; use fgsm, pgd, noise (gaussian) or uniform"),
            )),
        }
    }
}

impl AttackMethod {
    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            AttackMethod::Fgsm => "fgsm",
            AttackMethod::Pgd => "pgd",
            AttackMethod::GaussianNoise => "gaussian_noise",
            AttackMethod::UniformNoise => "uniform_noise",
        }
    }
}

/// An attack's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackConfig {
    /// The method.
    pub method: AttackMethod,
    /// The ball's norm.
    pub norm: Norm,
    /// Radius of the ball (standard deviation for Gaussian noise), in attack units.
    pub eps: f32,
    /// PGD steps.
    pub steps: usize,
    /// PGD step size (`None`: `2.5 eps / steps`, as Madry et al.).
    pub step_size: Option<f32>,
    /// PGD restarts; each sample keeps its worst (highest-loss) restart.
    pub restarts: usize,
    /// Start PGD at a uniform random point of the ball instead of the clean input.
    pub random_start: bool,
    /// Seed of the random start and the noise.
    pub seed: u64,
}

impl AttackConfig {
    /// FGSM with radius `eps` (L-inf).
    pub fn fgsm(eps: f32) -> Self {
        AttackConfig {
            method: AttackMethod::Fgsm,
            norm: Norm::Linf,
            eps,
            steps: 1,
            step_size: None,
            restarts: 1,
            random_start: false,
            seed: 0,
        }
    }

    /// PGD with radius `eps` (L-inf), `steps` steps, random start, one restart.
    pub fn pgd(eps: f32, steps: usize) -> Self {
        AttackConfig {
            method: AttackMethod::Pgd,
            steps,
            random_start: true,
            ..AttackConfig::fgsm(eps)
        }
    }

    /// The PGD step size in effect.
    pub fn alpha(&self) -> f32 {
        self.step_size
            .unwrap_or(2.5 * self.eps / self.steps.max(1) as f32)
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(Error::config(
                "eps",
                format!("must be a finite number >= 0, got {}", self.eps),
            ));
        }
        if self.method == AttackMethod::Pgd && self.steps == 0 {
            return Err(Error::config("steps", "PGD needs at least 1 step"));
        }
        if self.restarts == 0 {
            return Err(Error::config("restarts", "must be at least 1"));
        }
        if let Some(a) = self.step_size
            && !(a.is_finite() && a > 0.0)
        {
            return Err(Error::config("step-size", "must be positive"));
        }
        Ok(())
    }
}

/// Where and how far each input feature may move (see the module docs for the units).
#[derive(Debug, Clone, PartialEq)]
pub struct PerturbSpace {
    /// Network-input change per attack unit, per feature (0 freezes the feature).
    pub radius: Vec<f32>,
    /// Lowest allowed network input per feature.
    pub lower: Vec<f32>,
    /// Highest allowed network input per feature.
    pub upper: Vec<f32>,
}

impl PerturbSpace {
    /// Every feature free, in network units, unbounded.
    pub fn unbounded(features: usize) -> Self {
        PerturbSpace {
            radius: vec![1.0; features],
            lower: vec![f32::NEG_INFINITY; features],
            upper: vec![f32::INFINITY; features],
        }
    }

    /// Freezes the listed features (e.g. one-hot columns).
    pub fn freeze(mut self, features: &[usize]) -> Self {
        for &j in features {
            if let Some(r) = self.radius.get_mut(j) {
                *r = 0.0;
            }
        }
        self
    }

    /// Bounds every feature to `[low, high]` in network units.
    pub fn clip_all(mut self, low: f32, high: f32) -> Self {
        self.lower.fill(low);
        self.upper.fill(high);
        self
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.radius.len()
    }

    /// Perturbation size of one sample in attack units (`norm` of `(adv - clean) / r` over the
    /// free features).
    pub fn perturbation(&self, clean: &[f32], adv: &[f32], norm: Norm) -> f32 {
        let u: Vec<f32> = clean
            .iter()
            .zip(adv)
            .zip(&self.radius)
            .map(|((&c, &a), &r)| if r > 0.0 { (a - c) / r } else { 0.0 })
            .collect();
        norm.of(&u)
    }

    /// Sets `x = clip(x0 + r u)` row by row, then `u = (x - x0) / r` so `u` matches the clipped point.
    fn apply(&self, x0: &[f32], u: &mut [f32], x: &mut [f32]) {
        let n = self.features();
        for ((x0r, ur), xr) in x0
            .chunks_exact(n)
            .zip(u.chunks_exact_mut(n))
            .zip(x.chunks_exact_mut(n))
        {
            for j in 0..n {
                let r = self.radius[j];
                if r > 0.0 {
                    let v = (x0r[j] + r * ur[j]).clamp(self.lower[j], self.upper[j]);
                    xr[j] = v;
                    ur[j] = (v - x0r[j]) / r;
                } else {
                    xr[j] = x0r[j];
                    ur[j] = 0.0;
                }
            }
        }
    }

    fn n_free(&self) -> usize {
        self.radius.iter().filter(|&&r| r > 0.0).count()
    }
}

/// Projects a row onto the ball of radius `eps`.
fn project(u: &mut [f32], eps: f32, norm: Norm) {
    match norm {
        Norm::Linf => u.iter_mut().for_each(|v| *v = v.clamp(-eps, eps)),
        Norm::L2 => {
            let len = Norm::L2.of(u);
            if len > eps && len > 0.0 {
                let s = eps / len;
                u.iter_mut().for_each(|v| *v *= s);
            }
        }
    }
}

/// Turns a gradient row into the steepest-ascent direction of unit norm (sign for L-inf).
fn ascent_direction(g: &mut [f32], norm: Norm) {
    match norm {
        Norm::Linf => g.iter_mut().for_each(|v| {
            *v = if *v > 0.0 {
                1.0
            } else if *v < 0.0 {
                -1.0
            } else {
                0.0
            }
        }),
        Norm::L2 => {
            let len = Norm::L2.of(g);
            let s = if len > 0.0 { 1.0 / len } else { 0.0 };
            g.iter_mut().for_each(|v| *v *= s);
        }
    }
}

/// A uniform random point of the ball over the free features.
fn random_in_ball(u: &mut [f32], space: &PerturbSpace, eps: f32, norm: Norm, rng: &mut Rng) {
    match norm {
        Norm::Linf => u.iter_mut().for_each(|v| *v = rng.uniform_range(-eps, eps)),
        Norm::L2 => {
            u.iter_mut().for_each(|v| *v = rng.normal());
            for (v, &r) in u.iter_mut().zip(&space.radius) {
                if r == 0.0 {
                    *v = 0.0;
                }
            }
            let len = Norm::L2.of(u);
            let d = space.n_free().max(1) as f64;
            let radius = eps as f64 * (rng.uniform_f64()).powf(1.0 / d);
            let s = if len > 0.0 {
                (radius / len as f64) as f32
            } else {
                0.0
            };
            u.iter_mut().for_each(|v| *v *= s);
        }
    }
}

/// The rows `start..end` of batch targets.
pub fn slice_targets<'a>(
    targets: BatchTargets<'a>,
    width: usize,
    start: usize,
    end: usize,
) -> BatchTargets<'a> {
    match targets {
        BatchTargets::Classes(c) => BatchTargets::Classes(&c[start..end]),
        BatchTargets::Values(v) => BatchTargets::Values(&v[start * width..end * width]),
    }
}

/// What an attack maximizes (`loss`), where it may move the inputs (`space`) and how
/// (`config`): the three settings every attack entry point passes on together.
#[derive(Debug, Clone, Copy)]
pub struct Threat<'a> {
    /// The loss the attack ascends.
    pub loss: &'a Loss,
    /// The allowed perturbation region per feature.
    pub space: &'a PerturbSpace,
    /// Method, budget and steps.
    pub config: &'a AttackConfig,
}

/// The unweighted mean loss of the batch `x` (whole rows of `net.inputs()` features) and, in
/// `dx`, its gradient with respect to the inputs.
fn loss_and_input_grad(
    net: &Network,
    ws: &mut Workspace<f32>,
    x: &[f32],
    targets: BatchTargets<'_>,
    loss: &Loss,
    rng: &mut Rng,
    dx: &mut [f32],
) -> f64 {
    // why: the row count follows from the input length, so it is not one more argument.
    let rows = x.len() / net.inputs().max(1);
    let width = net.outputs();
    net.input_gradient(x, rows, ws, rng, dx, |out, d_out| {
        let (sum, weight) = loss.evaluate(
            out,
            rows,
            width,
            targets,
            LossWeights::default(),
            Some(d_out),
        );
        sum / weight.max(f64::MIN_POSITIVE)
    })
}

/// Per-sample losses of a batch.
fn per_sample_losses(
    net: &Network,
    ws: &mut Workspace<f32>,
    x: &[f32],
    rows: usize,
    targets: BatchTargets<'_>,
    loss: &Loss,
    rng: &mut Rng,
) -> Vec<f64> {
    let width = net.outputs();
    net.forward_train(&net.params, x, rows, ws, rng);
    let out = ws.outputs(net, rows);
    (0..rows)
        .map(|i| {
            loss.evaluate(
                &out[i * width..(i + 1) * width],
                1,
                width,
                slice_targets(targets, width, i, i + 1),
                LossWeights::default(),
                None::<&mut [f32]>,
            )
            .0
        })
        .collect()
}

/// Attacks one batch (`rows x features`, network units) on `eval_net`, which must be a
/// [`Network::with_grad_mode`]`(GradMode::Eval)` copy holding the current parameters. Returns the
/// perturbed batch. `rng` drives the random start and the noise; `ws` is reused scratch.
pub fn attack_batch(
    eval_net: &Network,
    ws: &mut Workspace<f32>,
    x0: &[f32],
    rows: usize,
    targets: BatchTargets<'_>,
    threat: Threat<'_>,
    rng: &mut Rng,
) -> Vec<f32> {
    let Threat {
        loss,
        space,
        config,
    } = threat;
    let n = space.features();
    let x0 = &x0[..rows * n];
    let mut x = x0.to_vec();
    let mut u = vec![0.0f32; rows * n];
    let eps = config.eps;
    match config.method {
        AttackMethod::GaussianNoise => {
            u.iter_mut().for_each(|v| *v = eps * rng.normal());
            space.apply(x0, &mut u, &mut x);
        }
        AttackMethod::UniformNoise => {
            for row in u.chunks_exact_mut(n) {
                random_in_ball(row, space, eps, config.norm, rng);
            }
            space.apply(x0, &mut u, &mut x);
        }
        AttackMethod::Fgsm => {
            let mut g = vec![0.0f32; rows * n];
            loss_and_input_grad(eval_net, ws, x0, targets, loss, rng, &mut g);
            for (gr, ur) in g.chunks_exact_mut(n).zip(u.chunks_exact_mut(n)) {
                for (gj, &r) in gr.iter_mut().zip(&space.radius) {
                    *gj *= r;
                }
                ascent_direction(gr, config.norm);
                for (uj, &gj) in ur.iter_mut().zip(gr.iter()) {
                    *uj = eps * gj;
                }
            }
            space.apply(x0, &mut u, &mut x);
        }
        AttackMethod::Pgd => {
            let alpha = config.alpha();
            let mut g = vec![0.0f32; rows * n];
            let mut best = x0.to_vec();
            let mut best_loss = vec![f64::NEG_INFINITY; rows];
            for _ in 0..config.restarts {
                if config.random_start {
                    for row in u.chunks_exact_mut(n) {
                        random_in_ball(row, space, eps, config.norm, rng);
                    }
                } else {
                    u.fill(0.0);
                }
                space.apply(x0, &mut u, &mut x);
                for _ in 0..config.steps {
                    loss_and_input_grad(eval_net, ws, &x, targets, loss, rng, &mut g);
                    for (gr, ur) in g.chunks_exact_mut(n).zip(u.chunks_exact_mut(n)) {
                        for (gj, &r) in gr.iter_mut().zip(&space.radius) {
                            *gj *= r;
                        }
                        ascent_direction(gr, config.norm);
                        for (uj, &gj) in ur.iter_mut().zip(gr.iter()) {
                            *uj += alpha * gj;
                        }
                        project(ur, eps, config.norm);
                    }
                    space.apply(x0, &mut u, &mut x);
                }
                if config.restarts == 1 {
                    return x;
                }
                let losses = per_sample_losses(eval_net, ws, &x, rows, targets, loss, rng);
                for (i, &l) in losses.iter().enumerate() {
                    // The first restart always lands (best starts at -inf), even with a NaN loss.
                    if l > best_loss[i] || best_loss[i] == f64::NEG_INFINITY {
                        best_loss[i] = l;
                        best[i * n..(i + 1) * n].copy_from_slice(&x[i * n..(i + 1) * n]);
                    }
                }
            }
            return best;
        }
    }
    x
}

/// Attacks `rows` samples (`x`: `rows x features` in network units) with the model's loss, in
/// chunks of [`ATTACK_CHUNK`] rows (parallel, deterministic for a given seed whatever the thread
/// count). Returns the perturbed samples in network units.
///
/// # Errors
/// [`Error::InvalidConfig`] for bad settings, [`Error::ShapeMismatch`] when the sizes disagree.
pub fn attack(
    net: &Network,
    x: &[f32],
    rows: usize,
    targets: BatchTargets<'_>,
    loss: &Loss,
    space: &PerturbSpace,
    config: &AttackConfig,
) -> Result<Vec<f32>> {
    config.validate()?;
    let n = net.inputs();
    if space.features() != n || space.lower.len() != n || space.upper.len() != n {
        return Err(Error::shape("attack space", n, space.features()));
    }
    if x.len() != rows * n {
        return Err(Error::shape("attack input", rows * n, x.len()));
    }
    let width = net.outputs();
    let target_len = match targets {
        BatchTargets::Classes(c) => c.len(),
        BatchTargets::Values(v) => v.len() / width.max(1),
    };
    if target_len != rows {
        return Err(Error::shape("attack targets", rows, target_len));
    }
    let eval_net = net.with_grad_mode(GradMode::Eval);
    let chunks = rows.div_ceil(ATTACK_CHUNK);
    use rayon::prelude::*;
    let parts: Vec<Vec<f32>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let start = c * ATTACK_CHUNK;
            let end = (start + ATTACK_CHUNK).min(rows);
            let mut rng = Rng::seed_from(config.seed).fork(c as u64);
            let mut ws = Workspace::new();
            crate::kernels::serial(|| {
                attack_batch(
                    &eval_net,
                    &mut ws,
                    &x[start * n..end * n],
                    end - start,
                    slice_targets(targets, width, start, end),
                    Threat {
                        loss,
                        space,
                        config,
                    },
                    &mut rng,
                )
            })
        })
        .collect();
    Ok(parts.concat())
}

/// Mean unweighted loss of the model on a batch (inference), e.g. to compare attacks.
pub fn mean_loss(
    net: &Network,
    x: &[f32],
    rows: usize,
    targets: BatchTargets<'_>,
    loss: &Loss,
) -> f64 {
    let out = net.predict(x, rows);
    let (sum, weight) = loss.evaluate(
        &out,
        rows,
        net.outputs(),
        targets,
        LossWeights::default(),
        None::<&mut [f32]>,
    );
    sum / weight.max(f64::MIN_POSITIVE)
}
