//! `mlp predict`: write one prediction per input row, in order, as CSV.

use crate::input::{InferenceDataArgs, load_inference};
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::preprocess::TargetEncoder;
use mlp::model::{Model, Task};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: InferenceDataArgs,
    /// Output CSV (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Add one probability column per class.
    #[arg(long)]
    pub proba: bool,
}

pub fn run(args: PredictArgs) -> Result<ExitCode> {
    let model = Model::load(&args.model)?;
    let data = load_inference(&args.input, &model, false)?;
    let mut csv_out = String::new();
    write_predictions(&model, &data.features, data.rows, args.proba, &mut csv_out)?;
    match &args.out {
        Some(path) => mlp::io::atomic_write(path, csv_out.as_bytes())
            .with_context(|| format!("writing predictions to {}", path.display()))?,
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            lock.write_all(csv_out.as_bytes())?;
            lock.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Shortest round-trip text of a value, in scientific notation when tiny or huge (so a CSV cell
/// never holds 40 digits of zeros).
pub(crate) fn num(x: f32) -> String {
    let a = x.abs();
    if a == 0.0 || (1e-4..1e9).contains(&a) || !x.is_finite() {
        x.to_string()
    } else {
        format!("{x:e}")
    }
}

pub(crate) fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Renders predictions as CSV text: a header with the target column's name (plus `proba_<label>`
/// columns), then one row per input row.
pub fn write_predictions(
    model: &Model,
    features: &[f32],
    rows: usize,
    proba: bool,
    out: &mut String,
) -> Result<()> {
    use std::fmt::Write as _;
    match (model.task, &model.target) {
        (Task::Classification, TargetEncoder::Classes { name, labels }) => {
            let p = model.predict_proba(features, rows)?;
            let k = labels.len();
            let mut header = vec![quote(name)];
            if proba {
                header.extend(labels.iter().map(|l| quote(&format!("proba_{l}"))));
            }
            let _ = writeln!(out, "{}", header.join(","));
            for row in p.chunks_exact(k.max(1)) {
                let c = mlp::train::argmax(row);
                out.push_str(&quote(&labels[c]));
                if proba {
                    for v in row {
                        let _ = write!(out, ",{}", num(*v));
                    }
                }
                out.push('\n');
            }
        }
        (Task::Regression, TargetEncoder::Standardized { names, .. }) => {
            if proba {
                bail!("--proba needs a classification model; this one does regression");
            }
            let v = model.predict_values(features, rows)?;
            let k = names.len().max(1);
            let header: Vec<String> = names.iter().map(|n| quote(n)).collect();
            let _ = writeln!(out, "{}", header.join(","));
            for row in v.chunks_exact(k) {
                let cells: Vec<String> = row.iter().map(|x| num(*x)).collect();
                let _ = writeln!(out, "{}", cells.join(","));
            }
        }
        (Task::MultiLabel, TargetEncoder::Standardized { names: labels, .. }) => {
            let p = model.predict_proba(features, rows)?;
            let header: Vec<String> = labels.iter().map(|n| quote(n)).collect();
            let _ = writeln!(out, "{}", header.join(","));
            for row in p.chunks_exact(labels.len().max(1)) {
                let cells: Vec<String> = row
                    .iter()
                    .map(|&x| {
                        if proba {
                            num(x)
                        } else {
                            u8::from(x > 0.5).to_string()
                        }
                    })
                    .collect();
                let _ = writeln!(out, "{}", cells.join(","));
            }
        }
        _ => bail!("the model file's task and target encoding disagree; was it edited by hand?"),
    }
    Ok(())
}
