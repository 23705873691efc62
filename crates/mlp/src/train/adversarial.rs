//! Adversarial training: each minibatch is (partly) replaced by adversarial examples generated on
//! the current parameters, and optionally the layer-wise regularizer of AT-LR is added.
//!
//! # Rules
//! - The attack runs on a [`GradMode::Eval`] copy of the network holding the current parameters
//!   (the deployed function: dropout off, batch norm on running statistics), with the training
//!   loss, in network-input units (standardized units for CSV data, `[0,1]` pixels for images),
//!   one-hot features frozen. Its random start comes from the batch's own random stream, forked,
//!   so it is a pure function of `(seed, epoch, batch)` and resumed runs stay bit-identical.
//! - `ratio` R: the first `round(R * batch)` rows of each shuffled batch are replaced by their
//!   adversarial versions (at least one row), the rest stay clean. R = 1 (the default) is pure
//!   adversarial training as in Madry et al. / the PyTorch recipes; R = 0.5 is the Goodfellow-style
//!   half-and-half mix within each batch.
//! - AT-LR (`layer_reg` = gamma > 0): the loss is
//!   `CE(f(x_adv), y) + gamma * sum_{l in MVL} RE_l(x, x_adv)` with
//!   `RE_l = ||h_l(x_adv) - h_l(x)||_F / ||h_l(x)||_F` over the batch tensor (see
//!   [`crate::robust::lsa`]). The clean activations `h_l(x)` come from a training-mode forward of
//!   the clean batch with the same dropout masks and are treated as constants (stop-gradient); the
//!   gradient `gamma (h' - h) / (||h' - h|| ||h||)` is injected at each MVL layer's output with
//!   [`Network::backward_with_taps`]. Clean rows of a mixed batch contribute zero difference.
//! - `mvl` empty with gamma > 0 means "auto": [`auto_mvl`] trains a throwaway copy of the initial
//!   network for `max(1, epochs / 4)` standard epochs, runs LSA with the configured attack on the
//!   first 2048 training rows, and takes the layers picked by [`MvlRule::MeanPlusStd`]; the real
//!   run then starts from the same initialization. (The paper computes the MVL on a trained model;
//!   a quarter of the budget is a cheap stand-in.)

use super::config::TrainConfig;
use crate::data::{Dataset, Targets};
use crate::layers::GradMode;
use crate::loss::{BatchTargets, Loss};
use crate::network::{Network, Workspace};
use crate::rng::Rng;
use crate::robust::attack::{
    AttackConfig, AttackMethod, Norm, PerturbSpace, Threat, attack_batch, slice_targets,
};
use crate::robust::lsa::{self, MvlRule};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

fn d_steps() -> usize {
    10
}

fn d_ratio() -> f32 {
    1.0
}

/// Adversarial-training settings (`TrainConfig::adversarial`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AdversarialConfig {
    /// How the adversarial examples are made (fgsm or pgd; noise also works as augmentation).
    pub method: AttackMethod,
    /// Ball norm (default linf).
    #[serde(default)]
    pub norm: Norm,
    /// Ball radius in network-input units.
    pub eps: f32,
    /// PGD steps (default 10).
    #[serde(default = "d_steps")]
    pub steps: usize,
    /// PGD step size (default `2.5 eps / steps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_size: Option<f32>,
    /// Fraction of each batch replaced by adversarial examples, in (0, 1] (default 1).
    #[serde(default = "d_ratio")]
    pub ratio: f32,
    /// AT-LR weight gamma of the layer-wise relative-error term (0: plain adversarial training).
    #[serde(default)]
    pub layer_reg: f32,
    /// Most Vulnerable Layers (top-level indices) the regularizer covers; empty with
    /// `layer_reg > 0` is resolved by [`auto_mvl`] before training.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mvl: Vec<usize>,
    /// Domain `[low, high]` of every input in network units (e.g. `[0, 1]` pixels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<(f32, f32)>,
    /// Encoded features never perturbed (one-hot blocks; filled in by the estimator).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frozen_features: Vec<usize>,
}

impl AdversarialConfig {
    /// Plain adversarial training with `method` at radius `eps` (L-inf, 10 PGD steps, ratio 1).
    pub fn new(method: AttackMethod, eps: f32) -> Self {
        AdversarialConfig {
            method,
            norm: Norm::Linf,
            eps,
            steps: d_steps(),
            step_size: None,
            ratio: 1.0,
            layer_reg: 0.0,
            mvl: Vec::new(),
            clip: None,
            frozen_features: Vec::new(),
        }
    }

    /// The attack these settings describe, seeded with `seed`.
    pub fn attack_config(&self, seed: u64) -> AttackConfig {
        AttackConfig {
            method: self.method,
            norm: self.norm,
            eps: self.eps,
            steps: if self.method == AttackMethod::Pgd {
                self.steps
            } else {
                1
            },
            step_size: self.step_size,
            restarts: 1,
            random_start: self.method == AttackMethod::Pgd,
            seed,
        }
    }

    /// The perturbation space for a network with `features` inputs.
    pub fn space(&self, features: usize) -> PerturbSpace {
        let space = PerturbSpace::unbounded(features).freeze(&self.frozen_features);
        match self.clip {
            Some((lo, hi)) => space.clip_all(lo, hi),
            None => space,
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        self.attack_config(0).validate()?;
        if self.eps <= 0.0 {
            return Err(Error::config(
                "adversarial.eps",
                "adversarial training needs eps > 0",
            ));
        }
        if !(self.ratio > 0.0 && self.ratio <= 1.0) {
            return Err(Error::config(
                "adversarial.ratio",
                format!("must be in (0, 1], got {}", self.ratio),
            ));
        }
        if !(self.layer_reg.is_finite() && self.layer_reg >= 0.0) {
            return Err(Error::config(
                "adversarial.layer_reg",
                "must be a finite number >= 0",
            ));
        }
        if let Some((lo, hi)) = self.clip
            && !(lo.is_finite() && hi.is_finite() && lo <= hi)
        {
            return Err(Error::config("adversarial.clip", "needs finite LO <= HI"));
        }
        Ok(())
    }

    /// Rows of a batch of `batch` that are replaced.
    fn adversarial_rows(&self, batch: usize) -> usize {
        ((self.ratio as f64 * batch as f64).round() as usize).clamp(1, batch)
    }
}

/// Per-run state of adversarial training: the eval-mode copy, scratch, and the clean activations
/// of the MVL layers for the current batch.
pub(crate) struct AdversarialStep {
    config: AdversarialConfig,
    space: PerturbSpace,
    eval_net: Network,
    ws: Workspace<f32>,
    clean: Vec<f32>,
    clean_h: Vec<Vec<f32>>,
}

impl AdversarialStep {
    pub(crate) fn new(net: &Network, config: &AdversarialConfig) -> Result<Self> {
        config.validate()?;
        let n_layers = net.layers().len();
        if config.layer_reg > 0.0 && config.mvl.is_empty() {
            return Err(Error::config(
                "mvl",
                "layer regularization needs the MVL layers (resolve 'auto' with train::auto_mvl first)",
            ));
        }
        if let Some(&bad) = config.mvl.iter().find(|&&l| l >= n_layers) {
            return Err(Error::config(
                "mvl",
                format!(
                    "layer {bad} does not exist; the network has top-level layers 0..{}",
                    n_layers - 1
                ),
            ));
        }
        if let Some(&bad) = config.frozen_features.iter().find(|&&j| j >= net.inputs()) {
            return Err(Error::config(
                "frozen_features",
                format!("feature {bad} does not exist"),
            ));
        }
        Ok(AdversarialStep {
            config: config.clone(),
            space: config.space(net.inputs()),
            eval_net: net.with_grad_mode(GradMode::Eval),
            ws: Workspace::new(),
            clean: Vec::new(),
            clean_h: vec![Vec::new(); config.mvl.len()],
        })
    }

    /// Whether the layer regularizer is on.
    pub(crate) fn regularized(&self) -> bool {
        self.config.layer_reg > 0.0
    }

    /// Replaces the first rows of `x` (`batch x inputs`) by adversarial examples made on the
    /// current parameters of `net`; keeps the clean batch when the regularizer needs it.
    pub(crate) fn perturb(
        &mut self,
        net: &Network,
        x: &mut [f32],
        batch: usize,
        targets: BatchTargets<'_>,
        loss: &Loss,
        rng: &mut Rng,
    ) {
        let nf = net.inputs();
        if self.regularized() {
            self.clean.clear();
            self.clean.extend_from_slice(&x[..batch * nf]);
        }
        self.eval_net.params.copy_from_slice(&net.params);
        let k = self.config.adversarial_rows(batch);
        let attack = self.config.attack_config(0);
        let adv = attack_batch(
            &self.eval_net,
            &mut self.ws,
            &x[..k * nf],
            k,
            slice_targets(targets, net.outputs(), 0, k),
            Threat {
                loss,
                space: &self.space,
                config: &attack,
            },
            rng,
        );
        x[..k * nf].copy_from_slice(&adv);
    }

    /// Runs the clean batch kept by [`AdversarialStep::perturb`] through `net` in training mode
    /// (with a copy of the batch's random stream, so dropout masks match the adversarial forward)
    /// and keeps the MVL layers' outputs.
    pub(crate) fn record_clean(
        &mut self,
        net: &Network,
        ws: &mut Workspace<f32>,
        batch: usize,
        rng: &Rng,
    ) {
        let mut r = rng.clone();
        net.forward_train(
            &net.params,
            &self.clean[..batch * net.inputs()],
            batch,
            ws,
            &mut r,
        );
        for (h, &l) in self.clean_h.iter_mut().zip(&self.config.mvl) {
            h.clear();
            h.extend_from_slice(ws.layer_output(net, l, batch));
        }
    }

    /// The backward tap: at an MVL layer, adds `gamma dRE/dh` and returns `gamma RE`.
    pub(crate) fn tap(&self, layer: usize, output: &[f32], d_output: &mut [f32]) -> f64 {
        let gamma = self.config.layer_reg as f64;
        let mut total = 0.0;
        for (h, &l) in self.clean_h.iter().zip(&self.config.mvl) {
            if l == layer {
                total += gamma * lsa::add_relative_error_grad(h, output, gamma, d_output);
            }
        }
        total
    }
}

/// Resolves `--mvl auto` (see the module docs): a throwaway standard warm-up of `net` for
/// `max(1, epochs / 4)` epochs, then LSA with the configured attack on the first 2048 rows of
/// `data` (network units), MVL by [`MvlRule::MeanPlusStd`].
pub fn auto_mvl(
    net: &Network,
    data: &Dataset,
    config: &TrainConfig,
    loss: &Loss,
) -> Result<Vec<usize>> {
    let Some(adv) = &config.adversarial else {
        return Err(Error::config("mvl", "auto MVL needs adversarial settings"));
    };
    let mut warm = net.clone();
    let mut cfg = config.clone();
    cfg.adversarial = None;
    cfg.epochs = (config.epochs / 4).max(1);
    let mut state = super::TrainState::default();
    super::train(
        &mut warm,
        data,
        None,
        &cfg,
        loss,
        &mut state,
        &mut super::NoHooks,
    )?;
    let rows = data.len().min(2048);
    let nf = data.n_features;
    let targets = match &data.targets {
        Targets::Classes { labels, .. } => BatchTargets::Classes(&labels[..rows]),
        Targets::Values { values, n_outputs } => BatchTargets::Values(&values[..rows * n_outputs]),
        Targets::MultiLabel { values, n_labels } => {
            BatchTargets::Values(&values[..rows * n_labels])
        }
    };
    let report = lsa::analyze(
        &warm,
        &data.features[..rows * nf],
        rows,
        targets,
        Threat {
            loss,
            space: &adv.space(nf),
            config: &adv.attack_config(config.seed),
        },
        256,
        MvlRule::MeanPlusStd,
    )?;
    Ok(report.mvl)
}
