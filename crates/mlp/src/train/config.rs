//! What a training run does, as data (saved in the model file and in checkpoints).

use super::adversarial::AdversarialConfig;
use super::augment::ImageAugment;
use crate::loss::Loss;
use crate::optim::OptimizerConfig;
use crate::optim::constrained::UpdateConstraint;
use crate::optim::schedule::Schedule;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How the validation set is carved out of the training data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationSplit {
    /// No validation set (no early stopping).
    None,
    /// A random fraction.
    Random(f64),
    /// A fraction drawn per class, keeping class proportions (classification).
    Stratified(f64),
    /// The last fraction of rows, in file order (or time order when sorted first).
    Chronological(f64),
    /// A separate file (given to the trainer by the caller).
    File(String),
}

/// Hyperparameters of a training run. Defaults follow scikit-learn's `MLPClassifier` where they
/// overlap (Adam, lr 1e-3, L2 1e-4 on weights, batch 200, 200 epochs). Early stopping watches the
/// validation loss with patience 20: scikit-learn's 10 stops on early plateaus of small validation
/// sets (measured on two-moons: 2 of 12 seeds stopped at 0.88-0.90 accuracy with 10, none with 20).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct TrainConfig {
    /// Maximum number of passes over the training data.
    pub(crate) epochs: usize,
    /// Minibatch size (capped at the number of samples).
    pub(crate) batch_size: usize,
    /// Optimizer and its hyperparameters.
    pub(crate) optimizer: OptimizerConfig,
    /// Base learning rate (`None`: the optimizer's default).
    pub(crate) lr: Option<f32>,
    /// Weight decay (L2 for SGD/Adam/RMSprop/L-BFGS, decoupled for AdamW); weights only.
    pub(crate) weight_decay: f32,
    /// Learning-rate schedule.
    pub(crate) schedule: Schedule,
    /// Clip the global gradient norm to this value.
    pub(crate) clip_grad_norm: Option<f32>,
    /// Loss (`None`: chosen from the task).
    pub(crate) loss: Option<Loss>,
    /// Early stopping: epochs without validation improvement before stopping (`None`: never).
    pub(crate) patience: Option<usize>,
    /// Smallest decrease of the validation loss that counts as an improvement.
    pub(crate) min_delta: f64,
    /// Random seed for initialization, shuffling, splits and dropout.
    pub(crate) seed: u64,
    /// Worker threads (0: all cores). Results are bit-identical for a given seed and count.
    pub(crate) threads: usize,
    /// Per-class loss weights (classification), e.g. from `--class-weight balanced`.
    pub(crate) class_weights: Option<Vec<f32>>,
    /// Reshuffle the training data every epoch.
    pub(crate) shuffle: bool,
    /// MixUp with `lam ~ Beta(alpha, alpha)` per batch (`None`: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mixup: Option<f32>,
    /// Random image shifts/flips applied to each training batch (`None`: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) augment: Option<ImageAugment>,
    /// Adversarial training (plain or layer-regularized AT-LR; `None`: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) adversarial: Option<AdversarialConfig>,
    /// Deep-ensemble members (1: a single network); see [`crate::ensemble`].
    #[serde(skip_serializing_if = "is_one")]
    pub(crate) ensemble: usize,
    /// Hardware-constrained updates: every step rounded to a grid of levels within a bound
    /// ([`crate::optim::constrained`]; `None`: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) update_constraint: Option<UpdateConstraint>,
    /// Precision of the dense layers' training products ([`Precision::F32`], the reference, is
    /// left out of saved configurations).
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub(crate) precision: Precision,
    /// Knowledge distillation: the teacher's soft labels for the training rows (`None`: off).
    /// Not saved with the model (it is training data, not a setting).
    #[serde(skip)]
    pub(crate) distill: Option<super::distill::Distill>,
}

/// The arithmetic of a training run's dense-layer products (`--precision`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// `f32` throughout: the reference.
    #[default]
    F32,
    /// Mixed precision: the dense layers' forward and backward products on bf16 operands with
    /// `f32` sums; `f32` master weights, optimizer state, loss and every other layer kind. The
    /// saved model is `f32`.
    Bf16,
}

impl Precision {
    /// `f32` or `bf16`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }

    /// Whether this is the `f32` reference (kept out of saved configurations).
    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            _ => Err(Error::config(
                "precision",
                format!("'{s}' is not a precision; use f32 or bf16"),
            )),
        }
    }
}

/// Keeps `ensemble: 1` out of saved configurations (files stay as before ensembles existed).
fn is_one(k: &usize) -> bool {
    *k == 1
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 200,
            batch_size: 200,
            optimizer: OptimizerConfig::from_name("adam").unwrap_or(OptimizerConfig::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            }),
            lr: None,
            weight_decay: 1e-4,
            schedule: Schedule::Constant,
            clip_grad_norm: None,
            loss: None,
            patience: Some(20),
            min_delta: 1e-4,
            seed: 0,
            threads: 0,
            class_weights: None,
            shuffle: true,
            mixup: None,
            augment: None,
            adversarial: None,
            ensemble: 1,
            update_constraint: None,
            precision: Precision::F32,
            distill: None,
        }
    }
}

impl TrainConfig {
    /// Maximum number of passes over the training data.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Minibatch size (capped at the number of samples).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Optimizer and its hyperparameters.
    pub fn optimizer(&self) -> &OptimizerConfig {
        &self.optimizer
    }

    /// Base learning rate (`None`: the optimizer's default).
    pub fn lr(&self) -> Option<f32> {
        self.lr
    }

    /// Weight decay (L2 for SGD/Adam/RMSprop/L-BFGS, decoupled for AdamW); weights only.
    pub fn weight_decay(&self) -> f32 {
        self.weight_decay
    }

    /// Learning-rate schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Clip the global gradient norm to this value (`None`: no clipping).
    pub fn clip_grad_norm(&self) -> Option<f32> {
        self.clip_grad_norm
    }

    /// Loss (`None`: chosen from the task).
    pub fn loss(&self) -> Option<Loss> {
        self.loss
    }

    /// Early stopping: epochs without validation improvement before stopping (`None`: never).
    pub fn patience(&self) -> Option<usize> {
        self.patience
    }

    /// Smallest decrease of the validation loss that counts as an improvement.
    pub fn min_delta(&self) -> f64 {
        self.min_delta
    }

    /// Random seed for initialization, shuffling, splits and dropout.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Worker threads (0: all cores); results are bit-identical for a given seed and count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Per-class loss weights (classification).
    pub fn class_weights(&self) -> Option<&[f32]> {
        self.class_weights.as_deref()
    }

    /// Reshuffle the training data every epoch.
    pub fn shuffle(&self) -> bool {
        self.shuffle
    }

    /// MixUp with `lam ~ Beta(alpha, alpha)` per batch (`None`: off).
    pub fn mixup(&self) -> Option<f32> {
        self.mixup
    }

    /// Random image shifts/flips applied to each training batch (`None`: off).
    pub fn augment(&self) -> Option<&ImageAugment> {
        self.augment.as_ref()
    }

    /// Adversarial training (plain or layer-regularized AT-LR; `None`: off).
    pub fn adversarial(&self) -> Option<&AdversarialConfig> {
        self.adversarial.as_ref()
    }

    /// Precision of the dense layers' training products.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Sets: precision of the dense layers' training products.
    pub fn with_precision(mut self, v: Precision) -> Self {
        self.precision = v;
        self
    }

    /// Sets: maximum number of passes over the training data.
    pub fn with_epochs(mut self, v: usize) -> Self {
        self.epochs = v;
        self
    }

    /// Sets: minibatch size (capped at the number of samples).
    pub fn with_batch_size(mut self, v: usize) -> Self {
        self.batch_size = v;
        self
    }

    /// Sets: optimizer and its hyperparameters.
    pub fn with_optimizer(mut self, v: OptimizerConfig) -> Self {
        self.optimizer = v;
        self
    }

    /// Sets: base learning rate (`None`: the optimizer's default) (a value, or `None`).
    pub fn with_lr(mut self, v: impl Into<Option<f32>>) -> Self {
        self.lr = v.into();
        self
    }

    /// Sets: weight decay (L2 for SGD/Adam/RMSprop/L-BFGS, decoupled for AdamW); weights only.
    pub fn with_weight_decay(mut self, v: f32) -> Self {
        self.weight_decay = v;
        self
    }

    /// Sets: learning-rate schedule.
    pub fn with_schedule(mut self, v: Schedule) -> Self {
        self.schedule = v;
        self
    }

    /// Sets: clip the global gradient norm to this value (`None`: no clipping) (a value, or `None`).
    pub fn with_clip_grad_norm(mut self, v: impl Into<Option<f32>>) -> Self {
        self.clip_grad_norm = v.into();
        self
    }

    /// Sets: loss (`None`: chosen from the task) (a value, or `None`).
    pub fn with_loss(mut self, v: impl Into<Option<Loss>>) -> Self {
        self.loss = v.into();
        self
    }

    /// Sets: early stopping: epochs without validation improvement before stopping (`None`: never) (a value, or `None`).
    pub fn with_patience(mut self, v: impl Into<Option<usize>>) -> Self {
        self.patience = v.into();
        self
    }

    /// Sets: smallest decrease of the validation loss that counts as an improvement.
    pub fn with_min_delta(mut self, v: f64) -> Self {
        self.min_delta = v;
        self
    }

    /// Sets: random seed for initialization, shuffling, splits and dropout.
    pub fn with_seed(mut self, v: u64) -> Self {
        self.seed = v;
        self
    }

    /// Sets: worker threads (0: all cores); results are bit-identical for a given seed and count.
    pub fn with_threads(mut self, v: usize) -> Self {
        self.threads = v;
        self
    }

    /// Sets: per-class loss weights (classification) (a value, or `None`).
    pub fn with_class_weights(mut self, v: impl Into<Option<Vec<f32>>>) -> Self {
        self.class_weights = v.into();
        self
    }

    /// Sets: reshuffle the training data every epoch.
    pub fn with_shuffle(mut self, v: bool) -> Self {
        self.shuffle = v;
        self
    }

    /// Sets: mixUp with `lam ~ Beta(alpha, alpha)` per batch (`None`: off) (a value, or `None`).
    pub fn with_mixup(mut self, v: impl Into<Option<f32>>) -> Self {
        self.mixup = v.into();
        self
    }

    /// Sets: knowledge distillation from a teacher's soft labels, aligned with the rows of the
    /// data given to training (`None`: off); see [`crate::train::distill`].
    pub fn with_distill(mut self, v: impl Into<Option<super::distill::Distill>>) -> Self {
        self.distill = v.into();
        self
    }

    /// Knowledge distillation settings, if any.
    pub fn distill(&self) -> Option<&super::distill::Distill> {
        self.distill.as_ref()
    }

    /// Sets: random image shifts/flips applied to each training batch (`None`: off) (a value, or `None`).
    pub fn with_augment(mut self, v: impl Into<Option<ImageAugment>>) -> Self {
        self.augment = v.into();
        self
    }

    /// Sets: adversarial training (plain or layer-regularized AT-LR; `None`: off) (a value, or `None`).
    pub fn with_adversarial(mut self, v: impl Into<Option<AdversarialConfig>>) -> Self {
        self.adversarial = v.into();
        self
    }

    /// Deep-ensemble members (1: a single network).
    pub fn ensemble(&self) -> usize {
        self.ensemble
    }

    /// Sets: deep-ensemble members, 1 to [`crate::ensemble::MAX_MEMBERS`] (see [`crate::ensemble`]).
    pub fn with_ensemble(mut self, k: usize) -> Self {
        self.ensemble = k;
        self
    }

    /// Sets the hardware-constrained update rule (`None`: off).
    pub fn with_update_constraint(mut self, v: impl Into<Option<UpdateConstraint>>) -> Self {
        self.update_constraint = v.into();
        self
    }

    /// The hardware-constrained update rule, if any.
    pub fn update_constraint(&self) -> Option<UpdateConstraint> {
        self.update_constraint
    }

    /// Checks the update constraint: valid levels and bound, and a first-order optimizer (L-BFGS
    /// takes its own line-search steps).
    fn validate_update_constraint(&self) -> Result<()> {
        let Some(c) = self.update_constraint else {
            return Ok(());
        };
        c.validate()?;
        if matches!(self.optimizer, OptimizerConfig::Lbfgs { .. }) {
            return Err(Error::config(
                "update-levels",
                "constrained updates wrap a first-order optimizer (sgd, adam, ...), not lbfgs",
            ));
        }
        Ok(())
    }

    /// The adversarial-training settings, to change in place (e.g. the layers picked for AT-LR).
    pub fn adversarial_mut(&mut self) -> Option<&mut AdversarialConfig> {
        self.adversarial.as_mut()
    }

    /// The learning rate in effect.
    pub fn base_lr(&self) -> f32 {
        self.lr.unwrap_or_else(|| self.optimizer.default_lr())
    }

    /// Checks every field's range.
    pub fn validate(&self) -> Result<()> {
        self.validate_update_constraint()?;
        if self.epochs == 0 {
            return Err(Error::config("epochs", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        if !(1..=crate::ensemble::MAX_MEMBERS).contains(&self.ensemble) {
            return Err(Error::config(
                "ensemble",
                format!(
                    "must be between 1 and {} members, got {}",
                    crate::ensemble::MAX_MEMBERS,
                    self.ensemble
                ),
            ));
        }
        let lr = self.base_lr();
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::config(
                "lr",
                format!("must be a positive number, got {lr}"),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::config("weight_decay", "must be zero or positive"));
        }
        if let Some(c) = self.clip_grad_norm
            && !(c.is_finite() && c > 0.0)
        {
            return Err(Error::config("clip_grad_norm", "must be positive"));
        }
        if let Some(Loss::CrossEntropy { label_smoothing }) = self.loss
            && !(0.0..1.0).contains(&label_smoothing)
        {
            return Err(Error::config("loss.label_smoothing", "must be in [0, 1)"));
        }
        if let Some(Loss::Huber { delta }) = self.loss
            && (delta.is_nan() || delta <= 0.0)
        {
            return Err(Error::config("loss.delta", "must be positive"));
        }
        if let Some(w) = &self.class_weights
            && w.iter().any(|x| !(x.is_finite() && *x >= 0.0))
        {
            return Err(Error::config(
                "class_weights",
                "weights must be finite and >= 0",
            ));
        }
        if let Some(a) = self.mixup
            && !(a.is_finite() && a > 0.0)
        {
            return Err(Error::config(
                "mixup",
                "alpha must be positive (0.2-0.4 is usual)",
            ));
        }
        if let Some(adv) = &self.adversarial {
            adv.validate()?;
            if self.mixup.is_some() {
                return Err(Error::config(
                    "adversarial",
                    "adversarial training cannot be combined with mixup",
                ));
            }
            if matches!(self.optimizer, OptimizerConfig::Lbfgs { .. }) {
                return Err(Error::config(
                    "adversarial",
                    "adversarial training needs a minibatch optimizer, not lbfgs",
                ));
            }
        }
        self.validate_full_batch()?;
        self.optimizer.validate()?;
        self.schedule.validate()
    }

    /// The FANN-style full-batch rules (rprop, quickprop, sarprop) take one step per epoch from
    /// the whole training set: options that act on minibatches are refused in one line.
    fn validate_full_batch(&self) -> Result<()> {
        if !self.optimizer.is_full_batch()
            || matches!(self.optimizer, OptimizerConfig::Lbfgs { .. })
        {
            return Ok(());
        }
        let name = self.optimizer.name();
        let clash = [
            (self.mixup.is_some(), "mixup"),
            (self.augment.is_some(), "augment"),
            (self.adversarial.is_some(), "adversarial"),
            (self.clip_grad_norm.is_some(), "clip-grad-norm"),
            (self.update_constraint.is_some(), "update-levels"),
        ];
        if let Some((_, flag)) = clash.iter().find(|(on, _)| *on) {
            return Err(Error::config(
                "optimizer",
                format!(
                    "{name} is a full-batch rule (one step per epoch); --{flag} needs a minibatch optimizer (sgd, adam, ...)"
                ),
            ));
        }
        Ok(())
    }
}
