//! Running `mlp train`: loading the data, building the session, training, and the report.

use super::args::TrainArgs;
use crate::input;
use crate::progress::CliHooks;
use anyhow::{Context, Result, bail};
use mlp::Activation;
use mlp::data::split::parse_time_column;
use mlp::estimator::{MlpBuilder, Session};
use mlp::io::checkpoint;
use mlp::loss::Loss;
use mlp::model::{Model, Task};
use mlp::spec::LayerSpec;
use mlp::train::Outcome;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Appends the output layer to a custom hidden stack.
fn with_output_layer(mut b: MlpBuilder, outputs: usize) -> MlpBuilder {
    if let Some(layers) = b.custom_layers() {
        let mut layers = layers.to_vec();
        layers.push(LayerSpec::dense(outputs, Activation::Identity));
        b = b.layers(layers);
    }
    b
}

/// Training data loaded and encoded per the flags, with the derived task and output width.
pub struct Loaded {
    /// The encoded data and its encoders.
    pub data: input::TrainingData,
    /// The task the targets imply.
    pub task: Task,
    /// Network outputs the task needs.
    pub outputs: usize,
    /// Training rows (time-ordered when `--time-column` is given).
    pub train_set: mlp::data::Dataset,
    /// Validation rows from `--val-data`, if given.
    pub val_set: Option<mlp::data::Dataset>,
}

/// Loads the data the flags name.
pub fn load(args: &TrainArgs) -> Result<Loaded> {
    let kind = args.target_kind()?;
    let mut data = input::load_training(&args.data, kind)?;
    if args
        .loss
        .as_deref()
        .is_some_and(|l| l.eq_ignore_ascii_case("multilabel_bce"))
    {
        data.target = input::to_multilabel(&mut data.train, &data.target)?;
    }
    let task = match data.train.targets() {
        mlp::data::Targets::Classes { .. } => Task::Classification,
        mlp::data::Targets::Values { .. } => Task::Regression,
        mlp::data::Targets::MultiLabel { .. } => Task::MultiLabel,
    };
    let outputs = match (data.train.targets(), args.loss.as_deref()) {
        (mlp::data::Targets::Classes { .. }, Some(l)) if l.eq_ignore_ascii_case("bce") => 1,
        (mlp::data::Targets::Classes { n_classes, .. }, _) => *n_classes,
        (mlp::data::Targets::Values { n_outputs, .. }, _) => *n_outputs,
        (mlp::data::Targets::MultiLabel { n_labels, .. }, _) => *n_labels,
    };
    // Chronological by a time column: order rows by time first.
    let mut train_set = data.train.clone();
    if let (Some(col), Some(table)) = (&args.time_column, &data.table) {
        let c = table.column_index(col)?;
        let keys = parse_time_column(table, c)?;
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        train_set = train_set.select(&order);
    } else if args.time_column.is_some() {
        bail!("--time-column needs CSV data");
    }
    let val_set = match &args.val_data {
        Some(path) => {
            let infer = crate::input::InferenceDataArgs {
                data: Some(path.clone()),
                dataset: None,
                split: "test".into(),
                target: None,
                delimiter: args.data.delimiter,
                weight_column: args.data.weight_column.clone(),
            };
            // Only the input and target encodings matter here (a loss that fits the outputs).
            let loss = if task == Task::Classification && outputs == 1 {
                Loss::Bce
            } else {
                Loss::Mse
            };
            let template = Model::new(
                mlp::spec::ModelSpec::mlp(
                    train_set.n_features(),
                    &[1],
                    outputs,
                    Activation::Relu,
                    0.0,
                )
                .build(0)?,
                task,
                data.input.clone(),
                mlp::model::Scaler::identity(train_set.n_features()),
                data.target.clone(),
                loss,
            )?;
            let v = input::load_inference(
                &infer,
                &template,
                true,
                mlp::data::preprocess::UnknownCategory::Ignore,
            )?;
            v.targets
        }
        None => None,
    };
    Ok(Loaded {
        data,
        task,
        outputs,
        train_set,
        val_set,
    })
}

/// Builds the training session the flags describe, on loaded data.
pub fn session_for(args: &TrainArgs, loaded: &Loaded) -> Result<Session> {
    let (data, task, outputs) = (&loaded.data, loaded.task, loaded.outputs);
    let (train_set, val_set) = (&loaded.train_set, &loaded.val_set);
    let mut builder = args.builder(task, data.train.len())?;
    if let Some(dim) = args.embedding_dim {
        if args.arch != "finalmlp" && args.arch != "final_mlp" {
            bail!("--embedding-dim applies to --arch finalmlp");
        }
        let fields: Vec<usize> = match &data.input {
            mlp::model::InputSchema::Tabular { preprocessor } => {
                preprocessor.columns.iter().map(|c| c.width()).collect()
            }
            mlp::model::InputSchema::Matrix { feature_names, .. } => vec![1; feature_names.len()],
        };
        let mut layers = vec![LayerSpec::Embedding { fields, dim }];
        layers.extend(builder.custom_layers().unwrap_or_default().iter().cloned());
        builder = builder.layers(layers);
    }
    let mut builder = with_output_layer(builder, outputs);
    // Images are scaled to [0, 1] on load; per-pixel standardization is for tabular columns.
    if matches!(
        data.input,
        mlp::model::InputSchema::Matrix {
            value_scale: Some(_),
            ..
        }
    ) {
        builder = builder.standardize(false);
    }
    if let Some(spec) = &args.augment {
        let is_image = matches!(
            data.input,
            mlp::model::InputSchema::Matrix {
                value_scale: Some(_),
                ..
            }
        );
        let side = (data.train.n_features() as f64).sqrt().round() as usize;
        if !is_image || side * side != data.train.n_features() {
            bail!(
                "--augment needs square images (IDX data or --dataset); this data has {} features",
                data.train.n_features()
            );
        }
        builder.config =
            builder
                .config
                .clone()
                .with_augment(Some(mlp::train::augment::ImageAugment::parse(
                    spec, side, side,
                )?));
    }

    let session: Session = builder.session(
        train_set,
        val_set.as_ref(),
        data.input.clone(),
        data.target.clone(),
        &data.passthrough,
        data.source.clone(),
    )?;
    Ok(session)
}

pub fn run(args: TrainArgs) -> Result<ExitCode> {
    let (mut args, resumed) = match &args.resume {
        Some(path) => {
            let (model, state, resume) = checkpoint::load(path)?;
            let mut saved: TrainArgs = serde_json::from_value(resume).with_context(|| {
                format!(
                    "{}: the checkpoint has no usable command line",
                    path.display()
                )
            })?;
            if args.out.is_some() {
                saved.out = args.out.clone();
            }
            if args.given.iter().any(|g| g == "epochs") {
                saved.epochs = args.epochs;
                // A --config file of the original run must not undo the extension.
                if !saved.given.iter().any(|g| g == "epochs") {
                    saved.given.push("epochs".into());
                }
            }
            saved.quiet = args.quiet;
            saved.verbose = args.verbose;
            saved.json = args.json;
            saved.allow_divergence = args.allow_divergence;
            saved.checkpoint = Some(saved.checkpoint.clone().unwrap_or_else(|| path.clone()));
            (saved, Some((model, state)))
        }
        None => (args, None),
    };
    let out = args.out.clone().context("--out MODEL is required")?;
    // Every output is checked before the data is loaded: a run must not fail at its end.
    crate::output::check_writable("--out", &out)?;
    if let Some(path) = &args.plot {
        crate::plot::check_svg(path)?;
    }
    if let Some(path) = &args.checkpoint {
        crate::output::check_writable("--checkpoint", path)?;
    }
    let loaded = load(&args)?;
    let mut session = session_for(&args, &loaded)?;
    resolve_auto_mvl(&mut args, &mut session)?;
    let (data, task) = (&loaded.data, loaded.task);
    if let Some((model, state)) = resumed {
        if model.network().spec() != session.model().network().spec() {
            bail!(
                "the checkpoint's architecture does not match its own command line; was the data file changed?"
            );
        }
        session.model_mut().network_mut().params = model.network().params.clone();
        *session.state_mut() = state;
        if session.state().finished && session.state().epoch < session.config().epochs() {
            session.state_mut().finished = false;
        }
    }

    let metric_name = if task == Task::Classification {
        "acc"
    } else {
        "r2"
    };
    let mut hooks = CliHooks::new(
        session.config().epochs(),
        args.quiet || args.json,
        args.verbose,
        metric_name,
    );
    let checkpoint_path = args.checkpoint.clone();
    if let Some(path) = &checkpoint_path {
        let template = session.model().clone();
        let resume = serde_json::to_value(&args)?;
        let p = path.clone();
        hooks = hooks.with_checkpoints(
            args.checkpoint_every,
            Box::new(move |net, state| {
                let mut m = template.clone();
                m.network_mut().params.copy_from_slice(&net.params);
                if let Some(t) = m.training_mut() {
                    t.history = state.history.clone();
                }
                checkpoint::save(&p, &m, state, &resume)
            }),
            path.clone(),
        );
    }
    let result = session.run(&mut hooks);
    hooks.finish();
    let model = session.model().clone();
    match result {
        Ok(Outcome::Interrupted) => {
            model.save(&out)?;
            let ckpt = checkpoint_path.unwrap_or_else(|| with_suffix(&out, ".checkpoint"));
            checkpoint::save(
                &ckpt,
                &model,
                session.state(),
                &serde_json::to_value(&args)?,
            )?;
            eprintln!(
                "interrupted at epoch {}, batch {}: model saved to {}; resume with `mlp train --resume {}`",
                session.state().epoch + 1,
                session.state().next_batch,
                out.display(),
                ckpt.display()
            );
            Ok(ExitCode::from(130))
        }
        Ok(outcome) => {
            model
                .save(&out)
                .with_context(|| format!("saving the model to {}", out.display()))?;
            if let Some(path) = &args.plot {
                crate::plot::training_curves(path, &session.state().history, metric_name)?;
            }
            report(&args, &model, &session, outcome, data.test.as_ref(), &out)?;
            if outcome.diverged() && !args.allow_divergence {
                eprintln!(
                    "error: training {outcome}; the model with those weights was saved to {}. Lower the learning rate (--lr) or clip gradients (--clip-grad-norm), or pass --allow-divergence to accept the run",
                    out.display()
                );
                return Ok(ExitCode::from(DIVERGED_EXIT));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.into()),
    }
}

/// Exit status of a run that diverged (without `--allow-divergence`): distinct from 1 (an error
/// before or during training) so scripts can tell a failed fit from bad input.
pub const DIVERGED_EXIT: u8 = 3;

/// `--mvl auto` (or AT-LR without `--mvl`): picks the MVL layers by LSA after a short standard
/// warm-up (`mlp::train::auto_mvl`) and records them in the settings and in `args`, so a resumed
/// run reuses them instead of recomputing.
fn resolve_auto_mvl(args: &mut TrainArgs, session: &mut Session) -> Result<()> {
    let needs = session
        .config()
        .adversarial()
        .as_ref()
        .is_some_and(|a| a.layer_reg > 0.0 && a.mvl.is_empty());
    if !needs {
        return Ok(());
    }
    let mvl = mlp::train::auto_mvl(
        session.model().network(),
        session.train_data(),
        session.config(),
        &session.model().loss(),
    )
    .context("choosing the MVL layers (--mvl auto)")?;
    let list: Vec<String> = mvl.iter().map(|l| l.to_string()).collect();
    if !args.quiet && !args.json {
        eprintln!("--mvl auto: most vulnerable layers {}", list.join(","));
    }
    args.mvl = Some(list.join(","));
    if let Some(a) = session.config_mut().adversarial_mut() {
        a.mvl = mvl.clone();
    }
    if let Some(a) = session
        .model_mut()
        .training_mut()
        .and_then(|t| t.config.adversarial_mut())
    {
        a.mvl = mvl;
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn report(
    args: &TrainArgs,
    model: &Model,
    session: &Session,
    outcome: Outcome,
    test: Option<&mlp::data::Dataset>,
    out: &Path,
) -> Result<()> {
    let history = &session.state().history;
    let last = history.last();
    let test_eval = match test {
        Some(t) => Some(model.evaluate(t)?),
        None => None,
    };
    let train_summary = model.training();
    if args.json {
        let summary = serde_json::json!({
            "model": out.display().to_string(),
            "task": model.task().name(),
            "n_params": model.network().n_params(),
            "epochs_run": history.len(),
            "outcome": train_summary.map(|t| t.outcome.clone()),
            "train_samples": train_summary.map(|t| t.train_samples),
            "val_samples": train_summary.map(|t| t.val_samples),
            "train_loss": last.map(|r| r.train_loss),
            "val_loss": last.and_then(|r| r.val_loss),
            "val_metric": last.and_then(|r| r.val_metric),
            "best_epoch": match outcome {
                Outcome::EarlyStopped { best_epoch }
                | Outcome::MaxEpochs { best_epoch: Some(best_epoch) } => Some(best_epoch),
                _ => None,
            },
            "diverged": outcome.diverged(),
            "seconds": train_summary.map(|t| t.seconds),
            "test": test_eval,
        });
        println!("{summary}");
        return Ok(());
    }
    if args.quiet {
        return Ok(());
    }
    let t = train_summary;
    println!(
        "trained {} ({} parameters) on {} samples ({} validation) in {:.1}s: {}",
        model.task().name(),
        model.network().n_params(),
        t.map_or(0, |t| t.train_samples),
        t.map_or(0, |t| t.val_samples),
        t.map_or(0.0, |t| t.seconds),
        t.map_or("", |t| t.outcome.as_str())
    );
    if let Some(r) = last {
        let best = session.state().best.as_ref();
        match (best, r.val_metric) {
            (Some((loss, epoch, _)), _) => {
                println!("best validation loss {loss:.4} at epoch {epoch}")
            }
            // A diverged run's last loss belongs to weights it did not keep.
            (None, _) if !outcome.diverged() => {
                println!("final train loss {:.4}", r.train_loss)
            }
            (None, _) => {}
        }
    }
    if let Some(e) = &test_eval {
        println!("test set:");
        crate::output::print_evaluation(e, model);
    }
    println!("model written to {}", out.display());
    Ok(())
}
