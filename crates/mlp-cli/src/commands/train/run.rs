//! Running `mlp train`: loading the data, building the session, training, and the report.

use super::args::TrainArgs;
use crate::input;
use crate::progress::CliHooks;
use anyhow::{Context, Result, bail};
use mlp::Activation;
use mlp::data::csv::RawTable;
use mlp::data::folds::select_table_rows;
use mlp::data::preprocess::apply_tabular_with;
use mlp::data::split::{self, parse_time_column};
use mlp::estimator::{MlpBuilder, Session};
use mlp::io::checkpoint;
use mlp::loss::Loss;
use mlp::model::{Model, Task};
use mlp::rng::Rng;
use mlp::spec::LayerSpec;
use mlp::train::Outcome;
use mlp::train::select::{Selection, SelectionData};
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

/// Loads the data the flags name (holding out the `--test-fraction` rows first).
pub fn load(args: &TrainArgs) -> Result<Loaded> {
    let kind = args.target_kind()?;
    let mut data = input::load_training(&args.data, kind)?;
    let test_table = match args.test_fraction {
        Some(f) => hold_out_test(args, &mut data, f, kind)?,
        None => None,
    };
    finish_load(args, data, test_table)
}

/// Seed stream of the `--test-fraction` split, apart from the validation split's.
const TEST_SPLIT_STREAM: u64 = 0x7E57_5B11_7000_0002;

/// Holds out `fraction` of the rows as the test set, before anything is fitted: for a CSV the
/// training rows are encoded anew (as a file of just those rows would be) and the test rows are
/// returned as a table, to be encoded with the training encoders; other data is split as
/// encoded, into `data.test`.
fn hold_out_test(
    args: &TrainArgs,
    data: &mut input::TrainingData,
    fraction: f64,
    kind: Option<mlp::data::preprocess::TargetKind>,
) -> Result<Option<RawTable>> {
    if !(fraction.is_finite() && fraction > 0.0 && fraction < 1.0) {
        bail!("--test-fraction must be above 0 and below 1, got {fraction}");
    }
    let n = data.train.len();
    let mut rng = Rng::seed_from(args.seed ^ TEST_SPLIT_STREAM);
    let (train_rows, test_rows) = match data.train.targets() {
        mlp::data::Targets::Classes { labels, n_classes } => {
            split::stratified_split(labels, *n_classes, fraction, &mut rng)?
        }
        _ => split::random_split(n, fraction, &mut rng)?,
    };
    if test_rows.is_empty() || train_rows.len() < 2 {
        bail!(
            "--test-fraction {fraction} of {n} rows leaves {} test and {} training rows; at least 1 and 2 are needed",
            test_rows.len(),
            train_rows.len()
        );
    }
    match data.table.take() {
        Some(table) => {
            let source = data.source.clone();
            let train_part = select_table_rows(&table, &train_rows);
            // The task the whole table implies: fewer rows must not turn a count into classes.
            let kind = kind.or(Some(data.target.kind()));
            *data = input::encode_training_csv(&args.data, train_part, kind)?;
            data.source = source;
            Ok(Some(select_table_rows(&table, &test_rows)))
        }
        None => {
            data.test = Some(data.train.select(&test_rows));
            data.train = data.train.select(&train_rows);
            Ok(None)
        }
    }
}

/// A stand-in model carrying the training data's encodings, to encode other files (validation,
/// test) exactly as the training rows.
fn encoding_template(
    data: &input::TrainingData,
    n_features: usize,
    task: Task,
    outputs: usize,
) -> Result<Model> {
    // Only the input and target encodings matter here (a loss that fits the outputs).
    let loss = if task == Task::Classification && outputs == 1 {
        Loss::Bce
    } else {
        Loss::Mse
    };
    Ok(Model::new(
        mlp::spec::ModelSpec::mlp(n_features, &[1], outputs, Activation::Relu, 0.0).build(0)?,
        task,
        data.input.clone(),
        mlp::model::Scaler::identity(n_features),
        data.target.clone(),
        loss,
    )?)
}

/// The rest of loading, on encoded training data: multi-label targets, the task, time order,
/// `--val-data`, and the test set (`--test-data`, or the held-out `test_table` rows).
pub fn finish_load(
    args: &TrainArgs,
    mut data: input::TrainingData,
    test_table: Option<RawTable>,
) -> Result<Loaded> {
    if args
        .loss
        .as_deref()
        .is_some_and(|l| l.eq_ignore_ascii_case("multilabel_bce"))
    {
        let raw = data.target.clone();
        data.target = input::to_multilabel(&mut data.train, &raw)?;
        if let Some(test) = data.test.as_mut() {
            input::to_multilabel(test, &raw)?;
        }
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
    let template = encoding_template(&data, train_set.n_features(), task, outputs)?;
    let other_file = |path: &Path| -> Result<Option<mlp::data::Dataset>> {
        let infer = crate::input::InferenceDataArgs {
            data: Some(path.to_path_buf()),
            dataset: None,
            split: "test".into(),
            target: None,
            delimiter: args.data.delimiter,
            weight_column: args.data.weight_column.clone(),
        };
        let v = input::load_inference(
            &infer,
            &template,
            true,
            mlp::data::preprocess::UnknownCategory::Ignore,
        )?;
        Ok(v.targets)
    };
    let val_set = match &args.val_data {
        Some(path) => other_file(path)?,
        None => None,
    };
    if let Some(path) = &args.test_data {
        if data.table.is_none() {
            bail!(
                "--test-data needs CSV training data (--data FILE.csv); for other data use --test-fraction"
            );
        }
        data.test = other_file(path).with_context(|| format!("--test-data {}", path.display()))?;
    }
    if let Some(table) = test_table {
        data.test = Some(encode_rows(
            &template,
            &table,
            args.data.weight_column.as_deref(),
        )?);
    }
    Ok(Loaded {
        data,
        task,
        outputs,
        train_set,
        val_set,
    })
}

/// Encodes labelled rows of a table with a model's encodings (as `mlp eval` does a file):
/// categories training did not see become all zeros.
fn encode_rows(
    model: &Model,
    table: &RawTable,
    weight_column: Option<&str>,
) -> Result<mlp::data::Dataset> {
    let mlp::model::InputSchema::Tabular { preprocessor } = model.input() else {
        bail!(
            "{}: the model does not take table rows",
            table.path().display()
        );
    };
    let (mut data, _unseen) = apply_tabular_with(
        preprocessor,
        model.target(),
        table,
        weight_column,
        mlp::data::preprocess::UnknownCategory::Ignore,
    )?;
    if model.task() == Task::MultiLabel {
        input::to_multilabel(&mut data, model.target())?;
    }
    Ok(data)
}

/// Builds the training session the flags describe, on loaded data.
pub fn session_for(args: &TrainArgs, loaded: &Loaded) -> Result<Session> {
    session_with(args, loaded, None)
}

// --- automatic model selection (issue 12, helper P) ---

/// The default model selection (`--select auto`, `mlp::train::select`) on the loaded training
/// rows; `None` where it does not apply: turned off (`--select off`, or a flag that fixes the
/// network or its training), multi-label targets, images, or fewer than
/// `mlp::train::select::MIN_ROWS` rows. Prints the candidates' table unless `--quiet`/`--json`.
pub fn auto_select(args: &TrainArgs, loaded: &Loaded) -> Result<Option<Selection>> {
    if args.selection_off().is_some()
        || loaded.task == Task::MultiLabel
        || loaded.train_set.len() < mlp::train::select::MIN_ROWS
        || matches!(
            loaded.data.input,
            mlp::model::InputSchema::Matrix {
                value_scale: Some(_),
                ..
            }
        )
    {
        return Ok(None);
    }
    let builder = args.builder(loaded.task, loaded.train_set.len())?;
    // A bad setting is the user's flag, not a failure of the selection: report it as such.
    builder.config().validate()?;
    let selection = mlp::train::select::select(
        &builder,
        SelectionData {
            data: &loaded.train_set,
            input: &loaded.data.input,
            target: &loaded.data.target,
            passthrough: &loaded.data.passthrough,
        },
    )
    .context("model selection (--select off skips it)")?;
    if !args.quiet && !args.json {
        print_selection(&selection, loaded.task);
    }
    Ok(Some(selection))
}

/// The candidates' table and the choice.
fn print_selection(sel: &Selection, task: Task) {
    let metric = if task == Task::Classification {
        "val acc"
    } else {
        "val r2"
    };
    println!(
        "model selection by {} on {} rows (--select off skips it):",
        sel.plan.describe(),
        sel.rows
    );
    println!(
        "  {:<10} {:>7} {:>18} {:>8} {:>7}  network",
        "candidate", "params", "val loss", metric, "epochs"
    );
    for c in &sel.candidates {
        let mark = if c.candidate == sel.chosen { '*' } else { ' ' };
        let loss = format!("{:.4} ± {:.4}", c.val_loss, c.val_loss_std);
        let m = c.val_metric.map_or("-".to_string(), |m| format!("{m:.4}"));
        println!(
            "{mark} {:<10} {:>7} {:>18} {:>8} {:>7}  {}",
            c.candidate.name(),
            c.params,
            loss,
            m,
            c.epochs,
            c.candidate.describe()
        );
    }
    println!(
        "chosen: {} ({}); training it on all {} rows for {} epochs",
        sel.chosen.name(),
        sel.reason,
        sel.rows,
        sel.epochs
    );
}

/// Builds the training session the flags describe, with the network and epochs a model
/// selection chose (when given), on loaded data.
pub fn session_with(
    args: &TrainArgs,
    loaded: &Loaded,
    selection: Option<&Selection>,
) -> Result<Session> {
    let mut session = session_inner(args, loaded, selection)?;
    if let (Some(sel), Some(t)) = (selection, session.model_mut().training_mut()) {
        t.selection = Some(sel.clone());
    }
    Ok(session)
}

// --- end of model selection ---

fn session_inner(
    args: &TrainArgs,
    loaded: &Loaded,
    selection: Option<&Selection>,
) -> Result<Session> {
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
    // A quantile head has one output per target per level.
    let per_target = match args.loss.as_deref() {
        Some(l) => super::args::parse_loss(l)?.outputs_per_target(),
        None => 1,
    };
    let mut builder = with_output_layer(builder, outputs * per_target);
    if let Some(sel) = selection {
        builder = sel.apply(builder, task, train_set.n_features(), outputs * per_target);
    }
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
        let config =
            builder
                .config()
                .clone()
                .with_augment(Some(mlp::train::augment::ImageAugment::parse(
                    spec, side, side,
                )?));
        builder = builder.train_config(config);
    }

    if let Some(d) = super::distill::load(args, loaded)? {
        let config = builder.config().clone().with_distill(d);
        builder = builder.train_config(config);
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
    let mut loaded = load(&args)?;
    let calibration = hold_out_calibration(&args, &mut loaded)?;
    let selection = auto_select(&args, &loaded)?;
    let mut session = session_with(&args, &loaded, selection.as_ref())?;
    check_calibrate(&args, &session, calibration.as_ref())?;
    make_quantization_aware(&args, &mut session)?;
    resolve_auto_mvl(&mut args, &mut session)?;
    let (data, task) = (&loaded.data, loaded.task);
    if let Some((model, state)) = resumed {
        if model.network().spec() != session.model().network().spec() {
            bail!(
                "the checkpoint's architecture does not match its own command line; was the data file changed?"
            );
        }
        session
            .model_mut()
            .network_mut()
            .params_mut()
            .copy_from_slice(model.network().params());
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
                m.network_mut().params_mut().copy_from_slice(net.params());
                if let Some(t) = m.training_mut() {
                    t.history = state.history.clone();
                }
                checkpoint::save(&p, &m, state, &resume)
            }),
            path.clone(),
        );
    }
    announce_precision(&args, session.config().precision());
    let result = match super::classical::run(&args, &mut session, &mut hooks) {
        Some(fitted) => fitted,
        None => session.run(&mut hooks).map_err(anyhow::Error::from),
    };
    hooks.finish();
    let mut model = session.model().clone();
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
            calibrate(&args, &mut model, &session, calibration.as_ref())?;
            // Predictions of the saved model (and the report below) run on integers.
            mlp::quant::qat::attach(model.network_mut())?;
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
        Err(e) => Err(e),
    }
}

/// `--qat-bits B`: the session's network becomes quantization-aware (see `mlp::quant::qat`).
fn make_quantization_aware(args: &TrainArgs, session: &mut Session) -> Result<()> {
    let Some(bits) = args.qat_bits else {
        return Ok(());
    };
    mlp::quant::qat::prepare_session(session, bits).context("--qat-bits")
}

/// Says, unless `--quiet`/`--json`, that a bf16 run computes its dense products in bf16 and on
/// which kernel path.
fn announce_precision(args: &TrainArgs, precision: mlp::train::Precision) {
    if precision == mlp::train::Precision::Bf16 && !args.quiet && !args.json {
        eprintln!(
            "precision bf16: dense-layer products on bf16 operands with f32 sums ({} kernels); f32 master weights, optimizer and loss; the model is saved in f32",
            mlp::perf::bf16_path()
        );
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
            "selection": train_summary.and_then(|t| t.selection.as_ref()),
            "test": test_eval,
            "uncertainty": model.uncertainty().map(|u| serde_json::json!({
                "temperature": u.temperature,
                "calibration_rows": u.conformal.as_ref().map(|c| c.rows()),
            })),
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
    if let (Some(e), Some(t)) = (&test_eval, test) {
        println!("test set ({} rows):", t.len());
        crate::output::print_evaluation(e, model);
    }
    print_uncertainty(model);
    println!("model written to {}", out.display());
    Ok(())
}

// --- uncertainty: --calibration-fraction and --calibrate (helper M) ---

/// `--calibration-fraction F`: takes the calibration rows out of the training rows, before the
/// validation split, so they are neither trained on nor used for early stopping.
fn hold_out_calibration(
    args: &TrainArgs,
    loaded: &mut Loaded,
) -> Result<Option<mlp::data::Dataset>> {
    let Some(f) = args.calibration_fraction.filter(|&f| f != 0.0) else {
        return Ok(None);
    };
    if loaded.task == Task::MultiLabel {
        bail!("--calibration-fraction supports regression and classification, not multi-label");
    }
    let (rest, cal) = mlp::uncertainty::split_calibration(&loaded.train_set, f, args.seed)?;
    loaded.data.train = rest.clone();
    loaded.train_set = rest;
    Ok(Some(cal))
}

/// Checks `--calibrate` against the task and the held-out rows before training starts.
fn check_calibrate(
    args: &TrainArgs,
    session: &mlp::estimator::Session,
    calibration: Option<&mlp::data::Dataset>,
) -> Result<()> {
    if args.calibrate.is_none() {
        return Ok(());
    }
    if session.model().task() != Task::Classification {
        bail!(
            "--calibrate temperature applies to classifiers; this model does {}",
            session.model().task().name()
        );
    }
    if session.val_data().is_none() && calibration.is_none() {
        bail!(
            "--calibrate temperature needs held-out rows: a validation part (--val-fraction F or --val-data FILE) or calibration rows (--calibration-fraction F)"
        );
    }
    Ok(())
}

/// After training: fits the temperature (validation rows, else calibration rows), then scores
/// the calibration rows for conformal prediction (with the temperature applied).
fn calibrate(
    args: &TrainArgs,
    model: &mut Model,
    session: &mlp::estimator::Session,
    calibration: Option<&mlp::data::Dataset>,
) -> Result<()> {
    if args.calibrate.is_some() {
        match (session.val_data(), calibration) {
            (Some(val), _) => {
                let mlp::data::Targets::Classes { labels, .. } = val.targets() else {
                    bail!("--calibrate temperature needs class targets");
                };
                // The session's validation rows are already scaled: network outputs directly.
                let outputs = model.forward_scaled(val.features(), val.len());
                model.fit_temperature_on_outputs(outputs, labels, "validation")?;
            }
            (None, Some(cal)) => {
                model.fit_temperature(cal, "calibration")?;
            }
            (None, None) => bail!("--calibrate temperature needs held-out rows"),
        }
    }
    if let Some(cal) = calibration {
        model.calibrate_conformal(cal)?;
    }
    Ok(())
}

/// The `mlp train` lines on temperature and calibration rows.
fn print_uncertainty(model: &Model) {
    let Some(u) = model.uncertainty() else {
        return;
    };
    if let Some(t) = &u.temperature {
        println!(
            "temperature {:.4} fitted on {} {} rows: ECE {:.4} -> {:.4}, log loss {:.4} -> {:.4}",
            t.value, t.rows, t.fitted_on, t.ece_before, t.ece_after, t.nll_before, t.nll_after
        );
    }
    if let Some(c) = &u.conformal {
        let flag = if model.task() == Task::Classification {
            "--prediction-sets"
        } else {
            "--interval"
        };
        println!(
            "{} calibration rows scored for conformal prediction (mlp predict {flag} LEVEL)",
            c.rows()
        );
    }
}
