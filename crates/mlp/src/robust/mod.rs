//! Robustness: adversarial attacks ([`attack`]) and Layer Sustainability Analysis ([`lsa`]) on a
//! [`crate::network::Network`].
//!
//! This module depends only on the network, its layers and kernels, never on the trained `Model`:
//! the trainer's adversarial training uses it, and the model uses the trainer. The glue from a
//! trained model's raw input units to the network's input space lives on the model side:
//! `Model::perturb_space`, `Model::frozen_features`, `Model::to_network_units` and
//! `Model::to_raw_units` (in `model/perturb.rs`).
//!
//! Adversarial training (plain and layer-regularized, AT-LR) lives in the trainer; see
//! [`crate::train::AdversarialConfig`].

pub mod attack;
pub mod lsa;

pub use attack::{AttackConfig, AttackMethod, Norm, PerturbSpace};
pub use lsa::{LayerError, LsaReport, MvlRule};

/// The units an attack's `eps` is measured in, for a trained model (see
/// `Model::perturb_space`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EpsUnits {
    /// The network's input space after the model's preprocessing: standardized units for CSV
    /// numeric features, `[0, 1]` pixels for image models.
    #[default]
    Network,
    /// The encoded but unscaled features (CSV values as written; `[0, 1]` pixels for images,
    /// which are not standardized, so the same as `Network` there).
    Raw,
}
