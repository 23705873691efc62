//! Training: configuration, the epoch loop, early stopping, and the resumable state that
//! checkpoints carry.

pub mod augment;
mod config;
mod trainer;

pub use config::{TrainConfig, ValidationSplit};
pub use trainer::{
    EpochRecord, Hooks, NoHooks, Outcome, TrainState, argmax, check_loss_fits, evaluate_loss, train,
};
