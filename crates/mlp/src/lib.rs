//! # mlp: a fast, complete multilayer-perceptron engine
//!
//! Train, evaluate and deploy multilayer perceptrons on a CPU. The `mlp` command-line tool is a
//! thin layer over this crate: `mlp train` and `mlp predict` call the same functions as the
//! example below, so a program and the tool trained with the same settings and seed produce the
//! same weights and the same predictions.
//!
//! ```
//! use mlp::prelude::*;
//!
//! # fn main() -> mlp::Result<()> {
//! // A CSV with numeric and text columns (here the iris data shipped with the crate).
//! let csv = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv"));
//! let table = Table::from_reader("iris.csv", csv.as_bytes())?;
//! // One call fits the encoding (scaling, one-hot categories, class labels) and the network.
//! let model = MlpBuilder::classifier()
//!     .hidden(&[16])
//!     .epochs(100)
//!     .lr(0.01)
//!     .seed(7)
//!     .fit_table(&table, "species")?;
//! // Raw rows in, labels out: the model keeps its encoding.
//! let predictions = model.predict_table(&table)?;
//! let labels = predictions.labels().expect("a classifier predicts labels");
//! let truth = table.column("species").expect("the target column");
//! let correct = labels.iter().zip(truth).filter(|(p, t)| p == t).count();
//! assert!(correct as f64 / labels.len() as f64 > 0.9);
//! # Ok(())
//! # }
//! ```
//!
//! # Map of the modules
//!
//! - Start here: [`prelude`], [`table`] (tables in, [`table::Predictions`] out),
//!   [`estimator`] (the [`estimator::MlpBuilder`] and its `fit*` methods), [`model`] (a trained,
//!   self-describing [`model::Model`]: predict, save, load).
//! - Data: [`data`] (CSV/NPY/IDX readers, [`data::preprocess`] encoders, splits, named and
//!   generated data sets), [`metrics`].
//! - The engine: [`spec`] (architecture as data), [`network`], [`layers`], [`loss`], [`optim`],
//!   [`train`] (the training loop), [`io`] (the model file), [`rng`], [`perf`] (GEMM rate and
//!   the SIMD path the kernels took).
//! - Capabilities built on it: [`architectures`], [`robust`] (attacks, adversarial training),
//!   [`verify`] (bound propagation), [`forecast`] (time series).
//! - [`error`]: the one typed [`Error`]; nothing a user controls makes the library panic.
//!
//! # Examples
//!
//! `crates/mlp/examples/`, each run by `cargo test` and by `cargo run --release --example NAME`:
//! `table_classify` and `table_regress` (tables from CSV), `forecast_series` (time series),
//! `serve_threads` (one model shared by threads), `attack_verify` (FGSM/PGD attacks and IBP/CROWN
//! certification of a classifier) and `acc_reach` (closed-loop reachability of a trained
//! controller).
//!
//! The numeric kernels (GEMM, fused element-wise passes, FFTs) are internal; [`Activation`] and
//! [`Real`] are re-exported here.
//!
//! # Sealed types
//!
//! The types that carry invariants keep their fields private, so a value that exists is a
//! consistent one: [`model::Model`] (read with `network()`, `task()`, `input()`, `scaler()`,
//! `target()`, `loss()`, `training()`; built by training, [`model::Model::load`] or the checked
//! [`model::Model::new`]), [`data::Dataset`] (`features()`, `targets()`, ...; built by the
//! readers or the checked [`data::Dataset::new`]), [`estimator::Session`] and
//! [`data::csv::RawTable`]. Settings are built from `Default` and changed through methods or
//! public fields; they are `#[non_exhaustive]`, so a new setting is not a breaking change:
//!
//! ```
//! use mlp::train::TrainConfig;
//! let config = TrainConfig::default().with_epochs(50).with_lr(0.01).with_patience(None);
//! assert_eq!((config.epochs(), config.lr(), config.patience()), (50, Some(0.01), None));
//! ```
#![warn(missing_docs)]

pub mod analyze;
pub mod architectures;
pub mod classical;
pub mod data;
pub mod ensemble;
pub mod error;
pub mod estimator;
pub mod forecast;
pub mod io;
pub mod jet;
pub mod rng;
pub mod robust;

pub use error::{Error, Result};
// The activation enum and the float trait at short paths: users name them, while the kernels
// they live with are engine internals.
pub use kernels::Real;
pub use kernels::elementwise::Activation;
/// The `ndarray` version this crate's `*_array` methods take and return (cargo feature
/// `ndarray`).
#[cfg(feature = "ndarray")]
pub use ndarray;
// GEMM and fused element-wise kernels: engine internals whose signatures follow the engine;
// `perf` answers what benchmarks ask of them.
pub(crate) mod kernels;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod network;
pub mod optim;
pub mod perf;
pub mod physics;
pub mod prelude;
pub mod quant;
pub mod spec;
pub mod table;
pub mod train;
pub mod uncertainty;
pub mod verify;
