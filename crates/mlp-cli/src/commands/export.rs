//! `mlp export`: a trained model in another runtime's format. `--format onnx` writes an ONNX
//! graph (opset 17) with the preprocessing inside (see `mlp::io::onnx`); `--format c` is the
//! dependency-free C export.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// An ONNX graph (opset 17): input `input` (raw features), output `proba` or `value`.
    Onnx,
    /// A single .c/.h pair with no dependencies.
    C,
}

/// Flags of `mlp export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// What to write.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Where to write it: a .onnx file for --format onnx, a directory for --format c
    /// (mlp_model.c, mlp_model.h).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// C only: integer arithmetic in the layers (a Q-format per layer) instead of float.
    #[arg(long)]
    pub fixed_point: bool,
}

pub fn run(args: ExportArgs) -> Result<ExitCode> {
    if args.fixed_point && args.format != ExportFormat::C {
        bail!("--fixed-point applies to --format c only");
    }
    match args.format {
        ExportFormat::C => {
            crate::commands::export_c::run(&args.model, &args.out, args.fixed_point)?;
        }
        ExportFormat::Onnx => {
            let model = crate::commands::predict::load_model(&args.model)?;
            mlp::io::onnx::save_onnx(&model, &args.out)
                .with_context(|| format!("exporting {} to ONNX", args.model.display()))?;
            let out = if model.task() == mlp::model::Task::Regression {
                "value"
            } else {
                "proba"
            };
            println!(
                "onnx model: {} (opset {}; input 'input' [N, {}], output '{out}' [N, {}])",
                args.out.display(),
                mlp::io::onnx::OPSET,
                model.n_features(),
                model.output_width()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
