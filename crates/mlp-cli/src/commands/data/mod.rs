//! `mlp data`: synthetic data generators, one file per generator.

pub mod modular;

use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;

/// The generators of `mlp data`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Modular arithmetic (a op b) mod p with one-hot operands and corrupted training labels.
    Modular(modular::ModularArgs),
}

pub fn run(cmd: DataCommand) -> Result<ExitCode> {
    match cmd {
        DataCommand::Modular(a) => modular::run(a),
    }
}
