//! `mlp predict`: write one prediction per input row, in order, as CSV.

use crate::input::{InferenceDataArgs, load_inference};
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::preprocess::UnknownCategory;
use mlp::model::{InputSchema, Model, Task};
use mlp::table::{PredictOptions, Predictions, Table};
use std::io::Write;
use std::path::{Path, PathBuf};
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
    /// A text category the training data did not have: warn (once per column and value) and
    /// encode it as all zeros, do the same silently (ignore), or stop with an error.
    #[arg(long, value_name = "POLICY", default_value = "warn", value_parser = ["warn", "ignore", "error"])]
    pub unknown_category: String,
    /// Regression: add split-conformal interval columns `lower` and `upper` covering a new row's
    /// value with probability LEVEL (e.g. 0.9; `<target>_lower`/`_upper` per target when there
    /// are several). Needs a model trained with --calibration-fraction. A model with a quantile
    /// head (--loss quantile:...) gets conformalized quantile regression (CQR): its lowest and
    /// highest levels, widened or narrowed to cover LEVEL.
    #[arg(long, value_name = "LEVEL", allow_negative_numbers = true)]
    pub interval: Option<f64>,
    /// Classification: add a column `prediction_set`, the labels (joined by `|`) of a conformal
    /// (LAC) set that holds the true label with probability LEVEL (e.g. 0.9); may be empty. Needs
    /// a model trained with --calibration-fraction.
    #[arg(long, value_name = "LEVEL", allow_negative_numbers = true)]
    pub prediction_sets: Option<f64>,
    /// Monte-Carlo dropout: N forward passes with dropout on; adds `mean` and `std` columns
    /// (regression) or `mean_proba_<label>` columns and `entropy` (classification). Needs a
    /// model trained with --dropout above 0.
    #[arg(long, value_name = "N")]
    pub mc_samples: Option<usize>,
    /// Seed of the Monte-Carlo dropout masks (same seed, same output).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Loads a model for `predict`/`eval`, pointing a forecaster file to `mlp forecast predict`.
pub(crate) fn load_model(path: &Path) -> Result<Model> {
    let file = mlp::io::TensorFile::read(path)?;
    if file.metadata.contains_key("forecast") {
        bail!(
            "{} is a forecaster; use `mlp forecast predict --model {}` (it needs the series, not rows of features)",
            path.display(),
            path.display()
        );
    }
    Ok(Model::from_tensor_file(&file, path)?)
}

pub fn run(args: PredictArgs) -> Result<ExitCode> {
    let model = load_model(&args.model)?;
    let unknown: UnknownCategory = args.unknown_category.parse()?;
    let mut opts = PredictOptions::from(unknown);
    opts.interval = args.interval;
    opts.prediction_sets = args.prediction_sets;
    opts.mc_samples = args.mc_samples;
    opts.seed = args.seed;
    // Options the model cannot honour fail before the data is read.
    model.check_predict_options(&opts)?;
    // A model trained on a table takes the library's table path (`Model::predict_table`), the
    // same one a Rust program uses; matrix models (NPY, IDX, named data sets) take encoded rows.
    let predictions = match (model.input(), &args.input.data, &args.input.dataset) {
        (InputSchema::Tabular { .. }, Some(path), None) => {
            let raw = mlp::data::csv::read_csv(
                path,
                crate::input::delimiter_byte(args.input.delimiter)?,
            )?;
            let table = Table::from_raw(raw)?;
            model.predict_table_with(&table, opts)?
        }
        _ => {
            let data = load_inference(&args.input, &model, false, unknown)?;
            model.predictions_with(&data.features, data.rows, &opts)?
        }
    };
    for u in predictions.unseen_categories() {
        eprintln!("warning: {u}");
    }
    let mut csv_out = String::new();
    write_predictions(&predictions, args.proba, &mut csv_out)?;
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
pub fn write_predictions(p: &Predictions, proba: bool, out: &mut String) -> Result<()> {
    write_prediction_rows(p, proba, 0..p.n_rows(), out)
}

/// [`write_predictions`] for the rows `rows` of `p` only: `mlp serve` runs several requests as one
/// batch and answers each with its own rows, in the very format `mlp predict` writes.
pub fn write_prediction_rows(
    p: &Predictions,
    proba: bool,
    rows: std::ops::Range<usize>,
    out: &mut String,
) -> Result<()> {
    use std::fmt::Write as _;
    let (skip, take) = (rows.start, rows.len());
    match p.task() {
        Task::Classification => {
            let (Some(labels), Some(probs)) = (p.labels(), p.proba()) else {
                bail!("the model predicted no class labels");
            };
            let k = p.class_labels().len().max(1);
            let mut header: Vec<String> = p.columns().iter().map(|c| quote(c)).collect();
            if proba {
                header.extend(
                    p.class_labels()
                        .iter()
                        .map(|l| quote(&format!("proba_{l}"))),
                );
            }
            let sets = p.prediction_sets();
            if sets.is_some() {
                header.push("prediction_set".into());
            }
            let mc = p.mc_dropout();
            if mc.is_some() {
                header.extend(
                    p.class_labels()
                        .iter()
                        .map(|l| quote(&format!("mean_proba_{l}"))),
                );
                header.push("entropy".into());
            }
            let _ = writeln!(out, "{}", header.join(","));
            for (i, (label, row)) in labels
                .iter()
                .zip(probs.chunks_exact(k))
                .enumerate()
                .skip(skip)
                .take(take)
            {
                out.push_str(&quote(label));
                if proba {
                    for v in row {
                        let _ = write!(out, ",{}", num(*v));
                    }
                }
                if let Some(set) = sets.and_then(|s| s.get(i)) {
                    let names: Vec<&str> = set
                        .iter()
                        .filter_map(|&c| p.class_labels().get(c).map(String::as_str))
                        .collect();
                    let _ = write!(out, ",{}", quote(&names.join("|")));
                }
                if let Some(mc) = mc {
                    for v in mc.mean.chunks_exact(k).nth(i).unwrap_or(&[]) {
                        let _ = write!(out, ",{}", num(*v));
                    }
                    let h = mc.entropy.as_ref().and_then(|e| e.get(i)).copied();
                    let _ = write!(out, ",{}", h.map_or(String::new(), num));
                }
                out.push('\n');
            }
        }
        Task::Regression => {
            if proba {
                bail!("--proba needs a classification model; this one does regression");
            }
            let Some(values) = p.values() else {
                bail!("the model predicted no values");
            };
            let k = p.columns().len().max(1);
            let mut header: Vec<String> = p.columns().iter().map(|n| quote(n)).collect();
            // One target: `lower`, `upper`, `mean`, `std`; several: `<target>_lower`, ...
            let extra = |suffix: &str| -> Vec<String> {
                if k == 1 {
                    vec![suffix.to_string()]
                } else {
                    p.columns()
                        .iter()
                        .map(|c| quote(&format!("{c}_{suffix}")))
                        .collect()
                }
            };
            // A quantile head: `<target>_q<level>` per target per level.
            let levels = p.quantile_levels();
            let quantiles = p.quantiles();
            if quantiles.is_some() {
                for c in p.columns() {
                    header.extend(levels.iter().map(|l| quote(&format!("{c}_q{l}"))));
                }
            }
            let bounds = p.lower().zip(p.upper());
            if bounds.is_some() {
                header.extend(extra("lower"));
                header.extend(extra("upper"));
            }
            let mc = p
                .mc_dropout()
                .and_then(|m| m.std.as_ref().map(|s| (&m.mean, s)));
            if mc.is_some() {
                header.extend(extra("mean"));
                header.extend(extra("std"));
            }
            let _ = writeln!(out, "{}", header.join(","));
            for (i, row) in values.chunks_exact(k).enumerate().skip(skip).take(take) {
                let mut cells: Vec<String> = row.iter().map(|x| num(*x)).collect();
                let part = |v: &[f32]| -> Vec<String> {
                    v.chunks_exact(k)
                        .nth(i)
                        .unwrap_or(&[])
                        .iter()
                        .map(|x| num(*x))
                        .collect()
                };
                if let Some(q) = quantiles {
                    let w = k * levels.len();
                    cells.extend(
                        q.chunks_exact(w.max(1))
                            .nth(i)
                            .unwrap_or(&[])
                            .iter()
                            .map(|x| num(*x)),
                    );
                }
                if let Some((lo, hi)) = bounds {
                    cells.extend(part(lo));
                    cells.extend(part(hi));
                }
                if let Some((mean, std)) = mc {
                    cells.extend(part(mean));
                    cells.extend(part(std));
                }
                let _ = writeln!(out, "{}", cells.join(","));
            }
        }
        Task::MultiLabel => {
            let Some(probs) = p.proba() else {
                bail!("the model predicted no label probabilities");
            };
            let header: Vec<String> = p.columns().iter().map(|n| quote(n)).collect();
            let _ = writeln!(out, "{}", header.join(","));
            for row in probs
                .chunks_exact(p.columns().len().max(1))
                .skip(skip)
                .take(take)
            {
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
    }
    Ok(())
}
