//! `mlp import --onnx`: an MLP-shaped ONNX graph (PyTorch, tf2onnx, VNN-COMP) as an ordinary
//! model file: a regression model whose outputs are the graph's raw outputs.

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ONNX file to import.
    #[arg(long, value_name = "FILE")]
    pub onnx: PathBuf,
    /// Where to write the model file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub fn run(args: ImportArgs) -> Result<ExitCode> {
    let (model, info) = mlp::io::onnx::import_network(&args.onnx)?;
    model
        .save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "imported {} ({}, opset {}): input '{}' ({} features) -> {} dense layers -> output '{}' ({} values); wrote {}",
        args.onnx.display(),
        if info.producer.is_empty() {
            "unknown producer"
        } else {
            &info.producer
        },
        info.opset,
        info.input_name,
        info.inputs,
        info.layers,
        info.output_name,
        info.outputs,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
