//! `mlp data can`: CAN-bus-like traffic with injected attacks (see `mlp::data::can`).

use anyhow::{Context, Result};
use clap::Args;
use mlp::data::can::{self, CanAttack};
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp data can`.
#[derive(Debug, Args)]
pub struct CanArgs {
    /// Frames to generate.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
    /// Attacks to inject, comma-separated: dos, fuzzy, spoof (none: clean traffic).
    #[arg(long, default_value = "dos,fuzzy,spoof", value_name = "LIST")]
    pub attack: String,
    /// Random seed (the same seed gives the same file).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The CSV file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub fn run(args: CanArgs) -> Result<ExitCode> {
    let attacks = CanAttack::parse_list(&args.attack).context("--attack")?;
    let frames = can::generate(args.rows, &attacks, args.seed).context("--rows")?;
    let mut bytes = Vec::new();
    can::write_csv(&frames, &mut bytes)?;
    mlp::io::atomic_write(&args.out, &bytes)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let injected = frames.iter().filter(|f| f.attack.is_some()).count();
    println!(
        "{}: {} frames, {injected} injected ({})",
        args.out.display(),
        frames.len(),
        if attacks.is_empty() {
            "none".to_string()
        } else {
            attacks
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    Ok(ExitCode::SUCCESS)
}
