//! `mlp quantize`: post-training int8 quantization of a trained dense model, calibrated on rows
//! of data; `mlp predict` / `mlp eval` then run the int8 model's integer path.

use crate::input::{InferenceDataArgs, load_inference};
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::preprocess::UnknownCategory;
use mlp::quant::Calibration;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp quantize`.
#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// The trained (f32) model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Calibration rows (e.g. the training CSV): run through the f32 network to find each
    /// layer's activation range.
    #[command(flatten)]
    pub input: InferenceDataArgs,
    /// Where to write the int8 model.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// How activation ranges are chosen: the extremes seen (minmax), or percentiles that clip
    /// rare outliers (percentile).
    #[arg(long, default_value = "percentile", value_parser = ["minmax", "percentile"])]
    pub calibration: String,
    /// The percentile for --calibration percentile: the range is [100-P, P] percentiles.
    #[arg(long, default_value_t = 99.99, value_name = "P")]
    pub percentile: f64,
}

pub fn run(args: QuantizeArgs) -> Result<ExitCode> {
    let model = crate::commands::predict::load_model(&args.model)?;
    let calibration = match args.calibration.as_str() {
        "minmax" => Calibration::MinMax,
        _ => Calibration::Percentile {
            percentile: args.percentile,
        },
    };
    let data = load_inference(&args.input, &model, false, UnknownCategory::Ignore)?;
    if data.rows == 0 {
        bail!("the calibration data have no rows");
    }
    let q = model.quantize(&data.features, data.rows, calibration)?;
    q.save(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let int8 = q
        .network()
        .int8()
        .ok_or_else(|| anyhow::anyhow!("quantization produced no int8 network"))?;
    println!(
        "int8 model: {} ({} bytes of weights vs {} as f32; calibrated with {calibration} on {} rows; kernel {})",
        args.out.display(),
        int8.size_bytes(),
        int8.f32_size_bytes(),
        data.rows,
        int8.kernel_path()
    );
    Ok(ExitCode::SUCCESS)
}
