//! `mlp importance`: which input columns a trained model relies on, by permutation (loss
//! increase when a column is shuffled) or by input gradient; one-hot features of a text column
//! count as their source column.

use crate::input::{InferenceDataArgs, load_inference};
use anyhow::{Result, bail};
use clap::Args;
use mlp::analyze::importance::{ImportanceMethod, importance};
use mlp::data::preprocess::UnknownCategory;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp importance`.
#[derive(Debug, Args)]
pub struct ImportanceArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Labelled rows (e.g. the test CSV).
    #[command(flatten)]
    pub input: InferenceDataArgs,
    /// permutation (loss increase when the column is shuffled) or gradient (mean absolute input
    /// gradient of the predicted output, on scaled inputs).
    #[arg(long, default_value = "permutation", value_parser = ["permutation", "gradient"])]
    pub method: String,
    /// Shuffles per column (permutation).
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Seed of the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Bar plot (.svg or .png).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

pub fn run(args: ImportanceArgs) -> Result<ExitCode> {
    if let Some(p) = &args.plot {
        crate::plot::check_svg(p)?;
    }
    let method = match args.method.as_str() {
        "gradient" => ImportanceMethod::Gradient,
        _ => ImportanceMethod::Permutation,
    };
    let model = crate::commands::predict::load_model(&args.model)?;
    let data = load_inference(&args.input, &model, true, UnknownCategory::Ignore)?;
    let Some(labelled) = data.targets else {
        bail!("importance needs labelled rows: the input has no target column");
    };
    let mut cols = importance(&model, &labelled, method, args.repeats, args.seed)?;
    if let Some(p) = &args.plot {
        crate::plot::analyze::importance(
            p,
            &cols,
            &format!("{} importance per input column", args.method),
        )?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"method": args.method, "rows": data.rows, "columns": cols})
        );
        return Ok(ExitCode::SUCCESS);
    }
    cols.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    let mut s = format!(
        "{} importance on {} rows ({}):\n",
        args.method,
        data.rows,
        match method {
            ImportanceMethod::Permutation => "mean loss increase when shuffled, std over repeats",
            ImportanceMethod::Gradient => "mean |d output / d scaled input|, std over rows",
        }
    );
    let _ = writeln!(
        s,
        "{:<24} {:>8} {:>12} {:>12}",
        "column", "features", "mean", "std"
    );
    for c in &cols {
        let _ = writeln!(
            s,
            "{:<24} {:>8} {:>12.6} {:>12.6}",
            c.column, c.features, c.mean, c.std
        );
    }
    print!("{s}");
    Ok(ExitCode::SUCCESS)
}
