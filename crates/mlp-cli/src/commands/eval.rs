//! `mlp eval`: metrics of a trained model on labelled data.

use crate::input::{InferenceDataArgs, load_inference};
use anyhow::{Result, bail};
use clap::Args;
use mlp::data::preprocess::UnknownCategory;
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
}

pub fn run(args: EvalArgs) -> Result<ExitCode> {
    let model = crate::commands::predict::load_model(&args.model)?;
    let unknown: UnknownCategory = args.unknown_category.parse()?;
    let data = load_inference(&args.input, &model, true, unknown)?;
    let Some(labelled) = data.targets else {
        bail!("the input has no targets to evaluate against");
    };
    let eval = model.evaluate(&labelled)?;
    if args.json {
        println!("{}", serde_json::to_string(&eval)?);
    } else {
        crate::output::print_evaluation(&eval, &model);
    }
    Ok(ExitCode::SUCCESS)
}
