//! `mlp prune`: magnitude pruning of a trained model with masked fine-tuning (global over all
//! weights, or `--structured`: whole hidden neurons removed and the layers shrunk).

use crate::input::{InferenceDataArgs, load_inference};
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::preprocess::UnknownCategory;
use mlp::quant::prune::{PruneConfig, weight_sparsity};
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The trained (f32) model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Labelled rows for the fine-tuning (e.g. the training CSV).
    #[command(flatten)]
    pub input: InferenceDataArgs,
    /// Where to write the pruned model.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Fraction of the weights (or, with --structured, of each hidden layer's neurons) to remove,
    /// in [0, 1).
    #[arg(long, value_name = "S")]
    pub sparsity: f64,
    /// Fine-tuning epochs with the pruned weights held at zero (0: prune only).
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Adam learning rate of the fine-tuning.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// Seed of the fine-tuning's shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Remove whole hidden neurons (smallest incoming-weight norms) and shrink the layers.
    #[arg(long)]
    pub structured: bool,
}

pub fn run(args: PruneArgs) -> Result<ExitCode> {
    let model = crate::commands::predict::load_model(&args.model)?;
    let data = load_inference(&args.input, &model, true, UnknownCategory::Ignore)?;
    let Some(labelled) = data.targets else {
        bail!("fine-tuning needs labelled rows: the input has no target column");
    };
    let config = PruneConfig::new(args.sparsity)
        .with_epochs(args.epochs)
        .with_lr(args.lr)
        .with_seed(args.seed)
        .with_structured(args.structured);
    let (pruned, report) = model.prune(&labelled, &config)?;
    pruned
        .save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    for (layer, before, kept) in &report.neurons {
        println!("layers.{layer}: {kept} of {before} neurons kept");
    }
    if let Some(last) = report.epoch_losses.last() {
        println!(
            "fine-tuned {} epochs, last training loss {last:.4}",
            report.epoch_losses.len()
        );
    }
    println!(
        "pruned model: {} ({} of {} weights zero, sparsity {:.3}; {} parameters)",
        args.out.display(),
        report.zero_weights.0,
        report.zero_weights.1,
        weight_sparsity(pruned.network()),
        pruned.network().n_params()
    );
    Ok(ExitCode::SUCCESS)
}
