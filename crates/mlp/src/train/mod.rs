//! Training: configuration, the epoch loop, early stopping, and the resumable state that
//! checkpoints carry.

pub mod adversarial;
pub mod augment;
mod config;
pub mod distill;
mod fullbatch;
mod lbfgs;
mod outcome;
pub mod select;
mod trainer;

pub use adversarial::{AdversarialConfig, auto_mvl};
pub use config::{Precision, TrainConfig, ValidationSplit};
pub use outcome::Outcome;
pub use trainer::{
    EpochRecord, Hooks, NoHooks, TrainState, argmax, check_loss_fits, evaluate_loss, train,
};
