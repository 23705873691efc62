//! `mlp predict`: write one prediction per input row, in order, as CSV.

use crate::input::{InferenceDataArgs, load_inference};
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::preprocess::UnknownCategory;
use mlp::model::{InputSchema, Model, Task};
use mlp::table::{Predictions, Table};
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
    // A model trained on a table takes the library's table path (`Model::predict_table`), the
    // same one a Rust program uses; matrix models (NPY, IDX, named data sets) take encoded rows.
    let predictions = match (model.input(), &args.input.data, &args.input.dataset) {
        (InputSchema::Tabular { .. }, Some(path), None) => {
            let raw = mlp::data::csv::read_csv(
                path,
                crate::input::delimiter_byte(args.input.delimiter)?,
            )?;
            let table = Table::from_raw(raw)?;
            model.predict_table_with(&table, unknown)?
        }
        _ => {
            let data = load_inference(&args.input, &model, false, unknown)?;
            model.predictions(&data.features, data.rows)?
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
    use std::fmt::Write as _;
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
            let _ = writeln!(out, "{}", header.join(","));
            for (label, row) in labels.iter().zip(probs.chunks_exact(k)) {
                out.push_str(&quote(label));
                if proba {
                    for v in row {
                        let _ = write!(out, ",{}", num(*v));
                    }
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
            let header: Vec<String> = p.columns().iter().map(|n| quote(n)).collect();
            let _ = writeln!(out, "{}", header.join(","));
            for row in values.chunks_exact(k) {
                let cells: Vec<String> = row.iter().map(|x| num(*x)).collect();
                let _ = writeln!(out, "{}", cells.join(","));
            }
        }
        Task::MultiLabel => {
            let Some(probs) = p.proba() else {
                bail!("the model predicted no label probabilities");
            };
            let header: Vec<String> = p.columns().iter().map(|n| quote(n)).collect();
            let _ = writeln!(out, "{}", header.join(","));
            for row in probs.chunks_exact(p.columns().len().max(1)) {
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
