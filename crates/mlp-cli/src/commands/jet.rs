//! `mlp jet`: input derivatives of a trained model by Taylor jets (`mlp::jet`).
//!
//! Points and directions are in the file's raw units (the model's stored standardisation is
//! applied inside; it is affine). Outputs are logits for classifiers and raw-unit targets for
//! regressors.

use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::csv::{RawTable, read_csv};
use mlp::data::preprocess::FeatureColumn;
use mlp::jet::model_jet;
use mlp::model::{InputSchema, Model, Task};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `mlp jet`.
///
/// With --direction: the derivatives d^k/dt^k f(x + t d) at t = 0 for k = 1..K, per output
/// (--json: `{"directional": [[d1, ..., dK] for each output]}`, one JSON line per point).
/// Without: the value, the gradient in every input feature and, for K >= 2, the Hessian, per
/// output (--json: `{"outputs", "inputs", "value", "gradient", "hessian"}`).
#[derive(Debug, Args)]
pub struct JetArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// CSV with the model's input columns (raw units), one point per row.
    #[arg(long, value_name = "FILE")]
    pub point: PathBuf,
    /// Highest derivative order K (1 to 8).
    #[arg(long, value_name = "K", default_value_t = 2)]
    pub order: usize,
    /// CSV with one direction row (the model's numeric input columns, raw units; text columns
    /// are held fixed): print the directional derivatives of orders 1..K along it.
    #[arg(long, value_name = "FILE")]
    pub direction: Option<PathBuf>,
    /// CSV delimiter (default: detected).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<char>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlp jet`.
pub fn run(args: JetArgs) -> Result<ExitCode> {
    if !(1..=8).contains(&args.order) {
        bail!("--order must be between 1 and 8, got {}", args.order);
    }
    let delimiter = crate::input::delimiter_byte(args.delimiter)?;
    let model = crate::commands::predict::load_model(&args.model)?;
    let points = read_points(&model, &args.point, delimiter)?;
    let outputs = output_names(&model);
    let inputs = model.input().feature_names();
    let n = model.n_features();
    if let Some(dpath) = &args.direction {
        let dirs = read_direction(&model, dpath, delimiter)?;
        for (r, x) in points.iter().enumerate() {
            let d = model_jet(&model, x, &dirs, args.order)
                .with_context(|| format!("{}: row {}", args.point.display(), r + 1))?;
            let derivs: Vec<Vec<f64>> = d.iter().map(|o| o[1..].to_vec()).collect();
            if args.json {
                println!("{}", serde_json::json!({ "directional": derivs }));
            } else {
                println!("point {}:", r + 1);
                for (name, row) in outputs.iter().zip(&derivs) {
                    let cells: Vec<String> = row
                        .iter()
                        .enumerate()
                        .map(|(k, v)| format!("d{}={v:.8e}", k + 1))
                        .collect();
                    println!("  {name}: {}", cells.join(" "));
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let unit = |i: usize| {
        let mut e = vec![0.0; n];
        e[i] = 1.0;
        e
    };
    for (r, x) in points.iter().enumerate() {
        let at = |d: &[f64], k: usize| -> Result<Vec<Vec<f64>>> {
            model_jet(&model, x, d, k)
                .with_context(|| format!("{}: row {}", args.point.display(), r + 1))
        };
        let no = outputs.len();
        let mut value = vec![0.0; no];
        let mut grad = vec![vec![0.0; n]; no];
        let mut second = vec![vec![0.0; n]; no];
        for i in 0..n {
            let j = at(&unit(i), args.order.min(2))?;
            for o in 0..no {
                value[o] = j[o][0];
                grad[o][i] = j[o][1];
                if args.order >= 2 {
                    second[o][i] = j[o][2];
                }
            }
        }
        let hessian = if args.order >= 2 {
            // Polarization: D^2 along e_i + e_j = H_ii + 2 H_ij + H_jj.
            let mut h = vec![vec![vec![0.0; n]; n]; no];
            for i in 0..n {
                for o in 0..no {
                    h[o][i][i] = second[o][i];
                }
                for jj in i + 1..n {
                    let mut d = unit(i);
                    d[jj] = 1.0;
                    let j = at(&d, 2)?;
                    for o in 0..no {
                        let hij = 0.5 * (j[o][2] - second[o][i] - second[o][jj]);
                        h[o][i][jj] = hij;
                        h[o][jj][i] = hij;
                    }
                }
            }
            Some(h)
        } else {
            None
        };
        if args.json {
            let mut doc = serde_json::json!({
                "outputs": outputs, "inputs": inputs, "value": value, "gradient": grad,
            });
            if let Some(h) = &hessian {
                doc["hessian"] = serde_json::json!(h);
            }
            println!("{doc}");
        } else {
            println!("point {}:", r + 1);
            for (o, name) in outputs.iter().enumerate() {
                println!("  {name} = {:.8e}", value[o]);
                for (i, input) in inputs.iter().enumerate() {
                    println!("    d/d{input} = {:.8e}", grad[o][i]);
                }
                if let Some(h) = &hessian {
                    println!("    Hessian (rows and columns in input order):");
                    for row in &h[o] {
                        let cells: Vec<String> = row.iter().map(|v| format!("{v:.6e}")).collect();
                        println!("      {}", cells.join(" "));
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Output names: class labels (logits) or target names.
fn output_names(model: &Model) -> Vec<String> {
    let n = model.network().outputs();
    let labels = model.class_labels();
    match model.task() {
        Task::Classification if labels.len() == n => labels,
        _ => match model.target() {
            mlp::data::preprocess::TargetEncoder::Standardized { names, .. }
                if names.len() == n =>
            {
                names.clone()
            }
            _ => (0..n).map(|i| format!("output{i}")).collect(),
        },
    }
}

/// A numeric cell, with the file, row and column in the error.
fn number(table: &RawTable, col: usize, row: usize) -> Result<f64> {
    let cell = table.columns()[col][row].trim();
    cell.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: row {}, column '{}': '{cell}' is not a finite number",
                table.path().display(),
                row + 1,
                table.headers()[col]
            )
        })
}

/// The points as encoded features in raw units (numeric columns as written, one-hot
/// indicators as 0/1).
fn read_points(model: &Model, path: &Path, delimiter: Option<u8>) -> Result<Vec<Vec<f64>>> {
    let table = read_csv(path, delimiter)?;
    if table.n_rows() == 0 {
        bail!("{}: no data rows", path.display());
    }
    let n = model.n_features();
    match model.input() {
        InputSchema::Tabular { preprocessor } => {
            let enc = preprocessor.transform(&table)?;
            // Undo the preprocessor's own standardization: back to the file's units.
            let mut back = Vec::with_capacity(n);
            for c in &preprocessor.columns {
                match c {
                    FeatureColumn::Numeric { mean, scale, .. } => back.push((*mean, *scale)),
                    FeatureColumn::Categorical { .. } => {
                        back.extend(std::iter::repeat_n((0.0, 1.0), c.width()))
                    }
                }
            }
            Ok(enc
                .chunks_exact(n)
                .map(|row| {
                    row.iter()
                        .zip(&back)
                        .map(|(&v, &(m, s))| v as f64 * s + m)
                        .collect()
                })
                .collect())
        }
        InputSchema::Matrix { .. } => {
            if table.n_columns() != n {
                bail!(
                    "{}: {} columns, but the model takes {n} features",
                    path.display(),
                    table.n_columns()
                );
            }
            (0..table.n_rows())
                .map(|r| (0..n).map(|c| number(&table, c, r)).collect())
                .collect()
        }
    }
}

/// The direction (one row) per encoded feature in raw units: numeric columns by name, one-hot
/// features 0.
fn read_direction(model: &Model, path: &Path, delimiter: Option<u8>) -> Result<Vec<f64>> {
    let table = read_csv(path, delimiter)?;
    if table.n_rows() != 1 {
        bail!(
            "{}: a direction file holds one row, got {}",
            path.display(),
            table.n_rows()
        );
    }
    let n = model.n_features();
    match model.input() {
        InputSchema::Tabular { preprocessor } => {
            let mut d = Vec::with_capacity(n);
            for c in &preprocessor.columns {
                match c {
                    FeatureColumn::Numeric { name, .. } => {
                        let col = table.find_column(name).ok_or_else(|| {
                            anyhow::anyhow!(
                                "{}: no column '{name}' (the direction needs every numeric input column; available: {})",
                                path.display(),
                                table.available_columns()
                            )
                        })?;
                        d.push(number(&table, col, 0)?);
                    }
                    FeatureColumn::Categorical { .. } => {
                        d.extend(std::iter::repeat_n(0.0, c.width()))
                    }
                }
            }
            Ok(d)
        }
        InputSchema::Matrix { .. } => {
            if table.n_columns() != n {
                bail!(
                    "{}: {} columns, but the model takes {n} features",
                    path.display(),
                    table.n_columns()
                );
            }
            (0..n).map(|c| number(&table, c, 0)).collect()
        }
    }
}
