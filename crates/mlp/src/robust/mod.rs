//! Robustness: adversarial attacks ([`attack`]), Layer Sustainability Analysis ([`lsa`]), and the
//! glue that maps a trained [`crate::model::Model`]'s raw input units to the network's input
//! space ([`model_space`]).
//!
//! `attack` and `lsa` work on a [`crate::network::Network`] only; the trainer's adversarial
//! training uses them, so only `model_space` depends on `model` (no `model -> train -> robust ->
//! model` cycle at the file level).
//!
//! Adversarial training (plain and layer-regularized, AT-LR) lives in the trainer; see
//! [`crate::train::AdversarialConfig`].

pub mod attack;
pub mod lsa;

pub use attack::{AttackConfig, AttackMethod, Norm, PerturbSpace};
pub use lsa::{LayerError, LsaReport, MvlRule};

pub mod model_space;
pub use model_space::{EpsUnits, frozen_features, space_for_model, to_raw_units};
