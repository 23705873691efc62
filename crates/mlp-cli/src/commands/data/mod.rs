//! `mlp data`: synthetic data generators that write CSV files, one file per generator.

pub mod can;
pub mod modular;

use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;

/// The generators of `mlp data`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// CAN-bus-like traffic with injected attacks (DoS, fuzzy, spoofing), labelled per frame.
    Can(can::CanArgs),
    /// Modular arithmetic (a op b) mod p with one-hot operands and corrupted training labels.
    Modular(modular::ModularArgs),
}

/// Runs one generator.
pub fn run(cmd: DataCommand) -> Result<ExitCode> {
    match cmd {
        DataCommand::Can(a) => can::run(a),
        DataCommand::Modular(a) => modular::run(a),
    }
}
