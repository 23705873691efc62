//! `mlp cv`: k-fold cross-validation of the `mlp train` settings the flags describe.
//!
//! The rows are dealt into `--folds` folds (stratified by class for classification, shuffled with
//! `--seed`). For each fold, the other rows train a model exactly as `mlp train` would train on a
//! file holding just those rows (same encoding fit, same validation rule, same seed and threads;
//! the task is the one the whole table implies, as if `--task` were given), and the fold's rows evaluate it as `mlp eval` would. The report gives every fold's metrics and
//! their mean and (population) standard deviation over the folds.

use super::train::{self, TrainArgs};
use crate::input;
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::Targets;
use mlp::data::folds::{kfold, select_table_rows, smallest_class, stratified_kfold, training_rows};
use mlp::data::preprocess::TargetEncoder;
use mlp::rng::Rng;
use mlp::train::{NoHooks, Outcome};
use serde_json::{Map, Value, json};
use std::process::ExitCode;

/// Flags of `mlp cv` (plus every `mlp train` flag, which each fold's training uses).
#[derive(Debug, Args)]
pub struct CvArgs {
    /// Number of folds (at least 2; for classification at most the smallest class's row count).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Seed stream of the fold assignment, apart from the validation and test splits'.
const FOLD_STREAM: u64 = 0xC5F0_1D50_7000_0003;

/// The metrics the human report shows per fold, by task (every numeric metric is in `--json`).
fn headline(task: mlp::model::Task) -> &'static [&'static str] {
    match task {
        mlp::model::Task::Classification => {
            &["accuracy", "balanced_accuracy", "f1_macro", "log_loss"]
        }
        mlp::model::Task::Regression => &["r2", "rmse", "mae"],
        mlp::model::Task::MultiLabel => &["subset_accuracy", "hamming_loss", "f1_macro"],
    }
}

/// One fold's result.
struct FoldResult {
    test_rows: Vec<usize>,
    train_samples: usize,
    val_samples: usize,
    epochs_run: usize,
    /// The candidate the default model selection chose inside this fold's training rows.
    selected: Option<&'static str>,
    outcome: Outcome,
    metrics: Map<String, Value>,
}

/// Flags of `mlp train` that make no sense for cross-validation (it writes no model).
fn reject_train_only(args: &TrainArgs) -> Result<()> {
    let used = [
        ("--out", args.out.is_some()),
        ("--resume", args.resume.is_some()),
        ("--checkpoint", args.checkpoint.is_some()),
        ("--plot", args.plot.is_some()),
        ("--time-column", args.time_column.is_some()),
        ("--test-fraction", args.test_fraction.is_some()),
        ("--test-data", args.test_data.is_some()),
    ];
    if let Some((flag, _)) = used.iter().find(|(_, on)| *on) {
        bail!(
            "{flag} does not apply to mlp cv (it trains one model per fold and writes none); use it with mlp train"
        );
    }
    Ok(())
}

/// Runs `mlp cv`: one training per fold, then the per-fold and summary report.
pub fn run(args: CvArgs) -> Result<ExitCode> {
    let targs = &args.train;
    reject_train_only(targs)?;
    let kind = targs.target_kind()?;
    let full = input::load_training(&targs.data, kind)?;
    // Every fold trains for the task the whole table implies (a fold's fewer rows must not turn
    // a count into classes).
    let kind = kind.or(Some(full.target.kind()));
    let n = full.train.len();
    let mut rng = Rng::seed_from(targs.seed ^ FOLD_STREAM);
    let (folds, stratified) = match full.train.targets() {
        Targets::Classes { labels, n_classes } => {
            if let Some((class, count)) = smallest_class(labels, *n_classes)
                && count < args.folds
                && args.folds >= 2
                && args.folds <= n
            {
                let name = match &full.target {
                    TargetEncoder::Classes { labels, .. } => labels.get(class).cloned(),
                    TargetEncoder::Standardized { .. } => None,
                }
                .unwrap_or_else(|| class.to_string());
                bail!(
                    "--folds {}: class '{name}' has only {count} row(s); stratified cross-validation needs at least one per fold, so use --folds {count} or fewer (at least 2)",
                    args.folds
                );
            }
            (
                stratified_kfold(labels, *n_classes, args.folds, &mut rng)?,
                true,
            )
        }
        _ => (kfold(n, args.folds, &mut rng)?, false),
    };
    let quiet = targs.quiet || targs.json;
    let mut results = Vec::with_capacity(folds.len());
    let mut task = None;
    for (i, test_rows) in folds.iter().enumerate() {
        let train_rows = training_rows(n, test_rows);
        let (fold_task, r) = run_fold(targs, &full, kind, &train_rows, test_rows)
            .with_context(|| format!("fold {} of {}", i + 1, folds.len()))?;
        task = Some(fold_task);
        if !quiet {
            let shown: Vec<String> = headline(fold_task)
                .iter()
                .filter_map(|m| {
                    r.metrics
                        .get(*m)
                        .and_then(Value::as_f64)
                        .map(|v| format!("{m} {v:.4}"))
                })
                .collect();
            println!(
                "fold {}/{}: {} test rows, {}{} epochs{}: {}",
                i + 1,
                folds.len(),
                r.test_rows.len(),
                r.selected.map_or(String::new(), |c| format!("{c}, ")),
                r.epochs_run,
                if r.outcome.diverged() {
                    " (diverged)"
                } else {
                    ""
                },
                shown.join(", ")
            );
        }
        results.push(r);
    }
    let task = task.context("no folds")?;
    let summary = summarize(&results);
    if targs.json {
        let per_fold: Vec<Value> = results
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json!({
                    "fold": i + 1,
                    "test_rows": r.test_rows,
                    "train_samples": r.train_samples,
                    "val_samples": r.val_samples,
                    "epochs_run": r.epochs_run,
                    "selected": r.selected,
                    "diverged": r.outcome.diverged(),
                    "metrics": r.metrics,
                })
            })
            .collect();
        let out = json!({
            "folds": folds.len(),
            "rows": n,
            "task": task.name(),
            "stratified": stratified,
            "seed": targs.seed,
            "per_fold": per_fold,
            "mean": summary.0,
            "std": summary.1,
        });
        println!("{out}");
    } else if !targs.quiet {
        println!(
            "{}-fold cross-validation ({}) of {} rows, mean ± std over the folds:",
            folds.len(),
            if stratified { "stratified" } else { "shuffled" },
            n
        );
        for (name, mean) in &summary.0 {
            let std = summary.1.get(name).and_then(Value::as_f64).unwrap_or(0.0);
            if let Some(m) = mean.as_f64() {
                println!("  {name:<20} {m:.4} ± {std:.4}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Trains on `train_rows` and evaluates on `test_rows` of the loaded data: for a CSV, the
/// training rows are encoded anew, as `mlp train` would encode a file of just those rows.
fn run_fold(
    args: &TrainArgs,
    full: &input::TrainingData,
    kind: Option<mlp::data::preprocess::TargetKind>,
    train_rows: &[usize],
    test_rows: &[usize],
) -> Result<(mlp::model::Task, FoldResult)> {
    let (data, test_table) = match &full.table {
        Some(table) => {
            let part = select_table_rows(table, train_rows);
            let data = input::encode_training_csv(&args.data, part, kind)?;
            (data, Some(select_table_rows(table, test_rows)))
        }
        None => (
            input::TrainingData {
                train: full.train.select(train_rows),
                test: Some(full.train.select(test_rows)),
                input: full.input.clone(),
                target: full.target.clone(),
                passthrough: full.passthrough.clone(),
                source: full.source.clone(),
                table: None,
            },
            None,
        ),
    };
    let loaded = train::finish_load(args, data, test_table)?;
    // The same default model selection as `mlp train`, run inside the fold's training rows only
    // (its table is not printed per fold).
    let quiet = TrainArgs {
        quiet: true,
        ..args.clone()
    };
    let selection = train::auto_select(&quiet, &loaded)?;
    let mut session = train::session_with(args, &loaded, selection.as_ref())?;
    let outcome = session.run(&mut NoHooks)?;
    if matches!(outcome, Outcome::Interrupted) {
        bail!("interrupted");
    }
    let model = &session.model();
    let Some(test) = loaded.data.test.as_ref() else {
        bail!("the fold has no test rows");
    };
    let eval = model.evaluate(test)?;
    let metrics = match serde_json::to_value(&eval)? {
        Value::Object(m) => m,
        other => bail!("unexpected metrics {other}"),
    };
    let t = model.training();
    Ok((
        model.task(),
        FoldResult {
            test_rows: test_rows.to_vec(),
            train_samples: t.map_or(0, |t| t.train_samples),
            val_samples: t.map_or(0, |t| t.val_samples),
            epochs_run: session.state().history.len(),
            selected: selection.as_ref().map(|sel| sel.chosen.name()),
            outcome,
            metrics,
        },
    ))
}

/// Mean and population standard deviation over the folds of every numeric metric that every
/// fold has.
fn summarize(results: &[FoldResult]) -> (Map<String, Value>, Map<String, Value>) {
    let mut mean = Map::new();
    let mut std = Map::new();
    let Some(first) = results.first() else {
        return (mean, std);
    };
    for name in first.metrics.keys() {
        if name == "n_samples" {
            continue;
        }
        let vals: Option<Vec<f64>> = results
            .iter()
            .map(|r| r.metrics.get(name).and_then(Value::as_f64))
            .collect();
        let Some(vals) = vals else { continue };
        let k = vals.len() as f64;
        let m = vals.iter().sum::<f64>() / k;
        let var = vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / k;
        mean.insert(name.clone(), json!(m));
        std.insert(name.clone(), json!(var.sqrt()));
    }
    (mean, std)
}
