//! # mlp: a fast, complete multilayer-perceptron engine
#![warn(missing_docs)]

pub mod data;
pub mod error;
pub mod rng;

pub use error::{Error, Result};
