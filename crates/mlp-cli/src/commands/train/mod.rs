//! `mlp train`: fit a model and write it to one self-describing file.
//!
//! `args` holds the flags and their translation into a builder; `run` loads the data, trains and
//! reports.

mod args;
mod classical;
mod distill;
mod run;

pub use args::TrainArgs;
pub use run::{DIVERGED_EXIT, auto_select, finish_load, load, run, session_for, session_with};
