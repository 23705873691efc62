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
    /// Where to write it (a .onnx file for --format onnx).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

pub fn run(args: ExportArgs) -> Result<ExitCode> {
    let model = crate::commands::predict::load_model(&args.model)?;
    match args.format {
        ExportFormat::Onnx => {
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
            Ok(ExitCode::SUCCESS)
        }
        ExportFormat::C => {
            bail!("--format c is not supported in this build (use --format onnx)")
        }
    }
}
