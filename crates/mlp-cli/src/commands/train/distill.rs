//! `mlp train --teacher FILE.csv | --teacher-model M`: knowledge distillation flags and the
//! soft labels they load (see `mlp::train::distill`).

use super::TrainArgs;
use super::run::Loaded;
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::train::distill::{Distill, TeacherKind};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Distillation flags of `mlp train`.
#[derive(Debug, Clone, Default, Args, Serialize, Deserialize)]
#[serde(default)]
pub struct DistillArgs {
    /// Soft labels from a teacher: a CSV whose rows align one for one with the training data's
    /// rows (same order, same count), with one column per class (--teacher-columns).
    #[arg(long, value_name = "FILE.csv", conflicts_with = "teacher_model")]
    pub teacher: Option<PathBuf>,
    /// The teacher file's class columns, comma-separated, in the student's class order (sorted
    /// labels, as `mlp predict --proba` writes them).
    #[arg(long, value_name = "COLS", value_delimiter = ',', requires = "teacher")]
    pub teacher_columns: Vec<String>,
    /// What the teacher columns hold: proba (probabilities, e.g. scikit-learn's predict_proba)
    /// or logits (told apart by this flag, not guessed).
    #[arg(long, value_name = "KIND", default_value = "proba", value_parser = ["proba", "logits"])]
    pub teacher_kind: String,
    /// Soft labels from one of our models: its probabilities on the training file.
    #[arg(long, value_name = "MODEL")]
    pub teacher_model: Option<PathBuf>,
    /// Distillation temperature T (softmax(logits / T) on both sides).
    #[arg(long, value_name = "T", default_value_t = 2.0)]
    pub temperature: f32,
    /// Weight A of the soft term: loss = (1-A) CE + A T^2 KL(teacher || student).
    #[arg(long, value_name = "A", default_value_t = 0.5)]
    pub distill_weight: f32,
}

/// The soft labels for the training rows, when a teacher was given.
pub fn load(args: &TrainArgs, loaded: &Loaded) -> Result<Option<Distill>> {
    let d = &args.distill;
    if d.teacher.is_none() && d.teacher_model.is_none() {
        return Ok(None);
    }
    if args.test_fraction.is_some() || args.time_column.is_some() {
        bail!(
            "--teacher/--teacher-model rows align with the training file; they cannot be combined with --test-fraction or --time-column (split the file beforehand)"
        );
    }
    let classes = loaded.outputs;
    let rows = loaded.train_set.len();
    let (values, kind) = if let Some(path) = &d.teacher {
        if d.teacher_columns.len() != classes {
            bail!(
                "--teacher-columns names {} columns; the training data have {classes} classes",
                d.teacher_columns.len()
            );
        }
        let table = mlp::data::csv::read_csv(path, None)
            .with_context(|| format!("reading --teacher {}", path.display()))?;
        let cols: Vec<usize> = d
            .teacher_columns
            .iter()
            .map(|c| table.column_index(c))
            .collect::<mlp::Result<_>>()?;
        if table.n_rows() != rows {
            bail!(
                "{}: {} rows, the training data have {rows}; the teacher's rows must align with the training rows",
                path.display(),
                table.n_rows()
            );
        }
        let mut values = Vec::with_capacity(rows * classes);
        for r in 0..rows {
            for &c in &cols {
                let cell = &table.columns()[c][r];
                let v: f32 = cell
                    .trim()
                    .parse()
                    .map_err(|_| table.cell_error(r, c, format!("'{cell}' is not a number")))?;
                values.push(v);
            }
        }
        (values, d.teacher_kind.parse::<TeacherKind>()?)
    } else if let Some(path) = d.teacher_model.as_deref() {
        let teacher = crate::commands::predict::load_model(path)?;
        let Some(file) = &args.data.data else {
            bail!("--teacher-model needs the training data as a file (--data)");
        };
        let infer = crate::input::InferenceDataArgs {
            data: Some(file.clone()),
            dataset: None,
            split: "test".into(),
            target: None,
            delimiter: args.data.delimiter,
            weight_column: None,
        };
        let x = crate::input::load_inference(
            &infer,
            &teacher,
            false,
            mlp::data::preprocess::UnknownCategory::Ignore,
        )
        .with_context(|| format!("--teacher-model {}", path.display()))?;
        if x.rows != rows {
            bail!(
                "the teacher model read {} rows, the training data have {rows}",
                x.rows
            );
        }
        let p = teacher
            .predict_proba(&x.features, x.rows)
            .with_context(|| format!("--teacher-model {}", path.display()))?;
        if p.len() != rows * classes {
            bail!(
                "the teacher model has {} classes, the training data {classes}",
                p.len() / rows.max(1)
            );
        }
        (p, TeacherKind::Proba)
    } else {
        return Ok(None);
    };
    Ok(Some(Distill::new(
        &values,
        classes,
        kind,
        d.temperature,
        d.distill_weight,
    )?))
}
