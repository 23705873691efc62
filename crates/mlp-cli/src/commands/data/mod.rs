//! `mlp data`: synthetic data generators that write CSV files, one file per generator.

pub mod can;

use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;

/// The generators of `mlp data`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// CAN-bus-like traffic with injected attacks (DoS, fuzzy, spoofing), labelled per frame.
    Can(can::CanArgs),
}

/// Runs one generator.
pub fn run(cmd: DataCommand) -> Result<ExitCode> {
    match cmd {
        DataCommand::Can(a) => can::run(a),
    }
}
