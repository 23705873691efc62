//! `mlp eval`: metrics of a trained model on labelled data.

use crate::input::{InferenceDataArgs, load_inference};
use anyhow::{Result, bail};
use clap::Args;
use mlp::data::Targets;
use mlp::data::preprocess::UnknownCategory;
use mlp::metrics::calibration::{ECE_BINS, ece, reliability_bins};
use mlp::model::Task;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: InferenceDataArgs,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
    /// A text category the training data did not have: warn (once per column and value) and
    /// encode it as all zeros, do the same silently (ignore), or stop with an error.
    #[arg(long, value_name = "POLICY", default_value = "warn", value_parser = ["warn", "ignore", "error"])]
    pub unknown_category: String,
    /// Classification: draw a reliability diagram (accuracy against confidence in 15 bins, with
    /// the row count per bin) to this SVG or PNG file.
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
}

pub fn run(args: EvalArgs) -> Result<ExitCode> {
    let model = crate::commands::predict::load_model(&args.model)?;
    let unknown: UnknownCategory = args.unknown_category.parse()?;
    if let Some(path) = &args.plot {
        if model.task() != Task::Classification {
            bail!(
                "--plot draws a reliability diagram of class probabilities; this model does {}",
                model.task().name()
            );
        }
        crate::plot::check_svg(path)?;
    }
    let data = load_inference(&args.input, &model, true, unknown)?;
    let Some(labelled) = data.targets else {
        bail!("the input has no targets to evaluate against");
    };
    let eval = model.evaluate(&labelled)?;
    if args.json {
        let mut value = serde_json::to_value(&eval)?;
        if let (Some(obj), Some(t)) = (value.as_object_mut(), model.temperature()) {
            obj.insert("temperature".into(), serde_json::json!(t));
        }
        println!("{value}");
    } else {
        crate::output::print_evaluation(&eval, &model);
        if let Some(t) = model.temperature() {
            println!("temperature        {t:.4}   (applied to the probabilities)");
        }
    }
    if let Some(path) = &args.plot
        && let (Targets::Classes { labels, .. }, Task::Classification) =
            (labelled.targets(), model.task())
    {
        let k = model.n_classes();
        let proba = model.predict_proba(labelled.features(), labelled.len())?;
        let bins = reliability_bins(labels, &proba, k, ECE_BINS);
        crate::plot::reliability_diagram(path, &bins, ece(labels, &proba, k))?;
    }
    Ok(ExitCode::SUCCESS)
}
