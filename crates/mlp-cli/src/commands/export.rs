//! `mlp export`: a trained model in another format (`--format c`: a dependency-free C pair).

use anyhow::{Result, bail};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// The target format.
    #[arg(long, value_parser = ["c"])]
    pub format: String,
    /// Where to write: a directory for `c` (mlp_model.c, mlp_model.h).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// C only: integer arithmetic in the layers (Q-formats per layer) instead of float.
    #[arg(long)]
    pub fixed_point: bool,
}

pub fn run(args: ExportArgs) -> Result<ExitCode> {
    match args.format.as_str() {
        "c" => crate::commands::export_c::run(&args.model, &args.out, args.fixed_point)?,
        other => bail!("unknown export format '{other}'"),
    }
    Ok(ExitCode::SUCCESS)
}
