//! The names most programs need, in one import: `use mlp::prelude::*;`.
//!
//! Tables and models ([`Table`], [`MlpBuilder`], [`Model`], [`Predictions`]), the settings a
//! builder takes ([`Activation`], [`OptimizerConfig`], [`Schedule`], [`ValidationSplit`],
//! [`Impute`], [`UnknownCategory`]), encoded data ([`Dataset`], [`Targets`]) and the error type.

pub use crate::data::preprocess::{Impute, UnknownCategory};
pub use crate::data::{Dataset, Targets};
pub use crate::error::{Error, Result};
pub use crate::estimator::{ClassWeight, Evaluation, MlpBuilder};
pub use crate::kernels::elementwise::Activation;
pub use crate::model::{Model, PredictScratch, Task};
pub use crate::optim::OptimizerConfig;
pub use crate::optim::schedule::Schedule;
pub use crate::table::{Predictions, Table};
pub use crate::train::ValidationSplit;
