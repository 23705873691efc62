//! Training: configuration, the epoch loop, early stopping, and the resumable state that
//! checkpoints carry.

pub mod adversarial;
pub mod augment;
mod config;
mod lbfgs;
mod trainer;

pub use adversarial::{AdversarialConfig, auto_mvl};
pub use config::{TrainConfig, ValidationSplit};
pub use trainer::{
    EpochRecord, Hooks, NoHooks, Outcome, TrainState, argmax, check_loss_fits, evaluate_loss, train,
};
