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
    #[arg(long, value_name = "S", alias = "fraction")]
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
    /// Neuron criterion: `ipr` removes first-layer neurons by their Fourier IPR (see --period,
    /// --ipr-order); implies --structured. --fraction is the fraction removed.
    #[arg(long, value_name = "CRITERION", value_parser = ["ipr"])]
    pub by: Option<String>,
    /// With --by ipr: the one-hot operand period P of the inputs (`mlp data modular --p P`).
    #[arg(long, value_name = "P")]
    pub period: Option<usize>,
    /// With --by ipr: remove the lowest-IPR neurons (`low`: the memorizing ones, as in "To grok
    /// or not to grok") or the highest (`high`: the periodic, generalizing ones).
    #[arg(long, default_value = "low", value_parser = ["low", "high"])]
    pub ipr_order: String,
}

pub fn run(args: PruneArgs) -> Result<ExitCode> {
    let model = crate::commands::predict::load_model(&args.model)?;
    let data = load_inference(&args.input, &model, true, UnknownCategory::Ignore)?;
    let Some(labelled) = data.targets else {
        bail!("fine-tuning needs labelled rows: the input has no target column");
    };
    let mut config = PruneConfig::new(args.sparsity)
        .with_epochs(args.epochs)
        .with_lr(args.lr)
        .with_seed(args.seed)
        .with_structured(args.structured);
    if args.by.is_some() {
        let Some(period) = args.period else {
            bail!("--by ipr needs --period P, the one-hot operand period of the inputs");
        };
        let (layer, iprs) = mlp::analyze::ipr::first_layer_ipr(&model, period)?;
        let sign = if args.ipr_order == "high" { -1.0 } else { 1.0 };
        config = config.with_neuron_scores(vec![(layer, iprs.iter().map(|v| sign * v).collect())]);
    }
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
