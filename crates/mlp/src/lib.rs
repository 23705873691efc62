//! # mlp: a fast, complete multilayer-perceptron engine
#![warn(missing_docs)]

pub mod architectures;
pub mod data;
pub mod error;
pub mod estimator;
pub mod forecast;
pub mod io;
pub mod rng;
pub mod robust;

pub use error::{Error, Result};
pub mod kernels;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod network;
pub mod optim;
pub mod spec;
pub mod train;
pub mod verify;
