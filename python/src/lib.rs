//! `mlp._mlp`: the native half of the `mlp` Python package.
//!
//! Everything here is a thin layer over the `mlp` crate's table path, the one `mlp train` and
//! `mlp predict` use: Python hands over named columns (numeric numpy arrays or text cells), they
//! become a [`Table`], and [`MlpBuilder`] / [`Model::predict_table`] do the rest, so a model
//! trained here equals the CLI's on the same data, settings and seed, and the model file is the
//! CLI's. A float64 matrix without missing cells skips the text: the encoding the table path
//! would fit on it (numeric columns, unscaled) is built directly, with identical weights as the
//! result. Also here: the forecaster (`mlp forecast`) and the attacks and certificates of
//! `mlp attack` / `mlp verify`. The scikit-learn estimator classes live in Python
//! (`python/mlp/_estimators.py`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use mlp::architectures::{Arch, ArchConfig};
use mlp::data::Dataset;
use mlp::data::preprocess::{FeatureColumn, Preprocessor, TargetEncoder, TargetKind, fit_targets};
use mlp::data::preprocess::{Impute, UnknownCategory};
use mlp::estimator::{ClassWeight, MlpBuilder, Session};
use mlp::forecast::intervals::IntervalMethod;
use mlp::forecast::series::format_time;
use mlp::forecast::window::Embedding;
use mlp::forecast::{Fill, ForecastSettings, Forecaster, LagSetting, Series, SeriesColumns};
use mlp::io::TensorFile;
use mlp::loss::BatchTargets;
use mlp::model::InputSchema;
use mlp::model::{Model, Task};
use mlp::optim::schedule::Schedule;
use mlp::optim::schedule::ScheduleState;
use mlp::optim::{OptimizerConfig, OptimizerState};
use mlp::robust::attack::attack;
use mlp::robust::{AttackConfig, EpsUnits};
use mlp::spec::LayerSpec;
use mlp::table::{Table, TableColumns, encode_training_table};
use mlp::train::select::{self as model_select, Selection, SelectionData};
use mlp::train::{Hooks, ValidationSplit};
use mlp::verify::{Bounds, LinearSpec, Method, spec_bounds};
use mlp::{Activation, Error};
use ndarray::Array2;
use ndarray::ArrayView2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// Training rows needed after the validation rows are held out (as `mlp train`).
const MIN_TRAIN_ROWS: usize = 2;
/// How often training looks for a pending Ctrl-C: often enough to feel immediate, rarely
/// enough that taking the GIL costs nothing measurable.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// A library error as the Python exception a scikit-learn user expects: file trouble is an
/// `OSError`, everything else (bad data, bad settings) a `ValueError`.
fn py_err(e: Error) -> PyErr {
    match e {
        Error::Io { .. } => PyOSError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// One table column from Python: a float64 numpy array (formatted as the shortest text that
/// parses back to the same value, so the table path sees exactly the numbers), or text cells
/// (`None` is a missing cell).
fn column_cells(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(arr) = obj.extract::<PyReadonlyArray1<'_, f64>>() {
        return Ok(arr
            .as_array()
            .iter()
            .map(|x| {
                if x.is_nan() {
                    String::new()
                } else {
                    x.to_string()
                }
            })
            .collect());
    }
    let cells: Vec<Option<String>> = obj.extract()?;
    Ok(cells.into_iter().map(Option::unwrap_or_default).collect())
}

/// Builds a [`Table`] from `(name, column)` pairs.
fn build_table(columns: &[(String, Bound<'_, PyAny>)]) -> PyResult<Table> {
    let mut named = Vec::with_capacity(columns.len());
    for (name, obj) in columns {
        let cells = column_cells(obj)
            .map_err(|e| PyValueError::new_err(format!("column '{name}': {e}")))?;
        named.push((name.clone(), cells));
    }
    Table::from_columns(named).map_err(py_err)
}

/// A setting from the estimator's parameter dict; `None` (absent or Python `None`) means the
/// library default.
fn opt<'py, T>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<T>>
where
    T: for<'a> FromPyObject<'a, 'py>,
    for<'a> <T as FromPyObject<'a, 'py>>::Error: Into<PyErr>,
{
    match d.get_item(key)? {
        Some(v) if !v.is_none() => v
            .extract::<T>()
            .map(Some)
            .map_err(|e| PyValueError::new_err(format!("{key}: {}", e.into()))),
        _ => Ok(None),
    }
}

/// The training settings, as the flags of `mlp train` (same names, same defaults).
struct Settings {
    task: Task,
    builder: MlpBuilder,
}

/// Mirrors `mlp train`'s flags-to-builder step for the settings a Python user sets.
fn settings(
    d: &Bound<'_, PyDict>,
    task: Task,
    n_rows: usize,
    outputs: usize,
) -> PyResult<Settings> {
    let hidden: Vec<usize> = opt(d, "hidden")?.unwrap_or_else(|| vec![100]);
    if hidden.contains(&0) {
        return Err(PyValueError::new_err(
            "hidden: layer widths must be at least 1",
        ));
    }
    let activation: Activation = opt::<String>(d, "activation")?
        .unwrap_or_else(|| "relu".into())
        .parse()
        .map_err(py_err)?;
    let mut optimizer = OptimizerConfig::from_name(
        &opt::<String>(d, "optimizer")?.unwrap_or_else(|| "adam".into()),
    )
    .map_err(py_err)?;
    if let Some(m) = opt::<f32>(d, "momentum")? {
        match &mut optimizer {
            OptimizerConfig::Sgd { momentum, .. } | OptimizerConfig::Rmsprop { momentum, .. } => {
                *momentum = m
            }
            _ => {
                return Err(PyValueError::new_err(
                    "momentum applies to sgd, nesterov and rmsprop",
                ));
            }
        }
    }
    let dropout: f32 = opt(d, "dropout")?.unwrap_or(0.0);
    let patience: usize = opt(d, "patience")?.unwrap_or(20);
    let early_stopping: bool = opt(d, "early_stopping")?.unwrap_or(true);
    let mut b = match task {
        Task::Classification => MlpBuilder::classifier(),
        _ => MlpBuilder::regressor(),
    }
    .task(task)
    .hidden(&hidden)
    .activation(activation)
    .dropout(dropout)
    .epochs(opt(d, "epochs")?.unwrap_or(200))
    .batch_size(opt(d, "batch_size")?.unwrap_or(200))
    .optimizer(optimizer)
    .weight_decay(opt(d, "weight_decay")?.unwrap_or(1e-4))
    .schedule(
        Schedule::parse(&opt::<String>(d, "schedule")?.unwrap_or_else(|| "constant".into()))
            .map_err(py_err)?,
    )
    .patience(if patience == 0 || !early_stopping {
        None
    } else {
        Some(patience)
    })
    .seed(opt(d, "seed")?.unwrap_or(0))
    .threads(opt(d, "threads")?.unwrap_or(0))
    .label_smoothing(opt(d, "label_smoothing")?.unwrap_or(0.0))
    .standardize(opt(d, "standardize")?.unwrap_or(true));
    let arch: Arch = opt::<String>(d, "arch")?
        .unwrap_or_else(|| "mlp".into())
        .parse()
        .map_err(py_err)?;
    if arch != Arch::Mlp {
        let cfg = ArchConfig {
            arch,
            widths: hidden.clone(),
            depth: opt(d, "depth")?.unwrap_or(4),
            expansion: opt(d, "expansion")?.unwrap_or(4),
            activation,
            dropout,
            ..ArchConfig::default()
        };
        let mut layers = cfg.hidden_stack().map_err(py_err)?;
        layers.push(LayerSpec::dense(outputs, Activation::Identity));
        b = b.layers(layers);
    }
    if let Some(lr) = opt::<f32>(d, "lr")? {
        b = b.lr(lr);
    }
    let config = b
        .config()
        .clone()
        .with_clip_grad_norm(opt(d, "clip_grad_norm")?);
    b = b.train_config(config);
    if let Some(cw) = d.get_item("class_weight")?.filter(|v| !v.is_none()) {
        b = b.class_weight(if let Ok(s) = cw.extract::<String>() {
            if s.eq_ignore_ascii_case("balanced") {
                ClassWeight::Balanced
            } else {
                return Err(PyValueError::new_err(
                    "class_weight: use 'balanced' or one weight per class",
                ));
            }
        } else {
            ClassWeight::Manual(cw.extract().map_err(|_| {
                PyValueError::new_err("class_weight: use 'balanced' or one weight per class")
            })?)
        });
    }
    if let Some(how) = impute_of(d)? {
        b = b.impute(how);
    }
    // The validation split exactly as `mlp train` picks it.
    let auto = if early_stopping && n_rows >= mlp::estimator::AUTO_VALIDATION_MIN_ROWS {
        0.1
    } else {
        0.0
    };
    let f: f64 = opt(d, "validation_fraction")?.unwrap_or(auto);
    if !(0.0..1.0).contains(&f) {
        return Err(PyValueError::new_err(format!(
            "validation_fraction must be in [0, 1), got {f}"
        )));
    }
    check_split_size(n_rows, f)?;
    b = b.validation(match task {
        _ if f == 0.0 => ValidationSplit::None,
        Task::Classification => ValidationSplit::Stratified(f),
        _ => ValidationSplit::Random(f),
    });
    Ok(Settings { task, builder: b })
}

/// The `impute` setting (`None`: a missing cell is an error).
fn impute_of(d: &Bound<'_, PyDict>) -> PyResult<Option<Impute>> {
    let Some(how) = opt::<String>(d, "impute")? else {
        return Ok(None);
    };
    Ok(Some(match how.as_str() {
        "mean" => Impute::Mean,
        "median" => Impute::Median,
        "most-frequent" | "most_frequent" => Impute::MostFrequent,
        other => {
            return Err(PyValueError::new_err(format!(
                "impute: use mean, median or most-frequent, not '{other}'"
            )));
        }
    }))
}

/// `mlp train`'s check that the validation split leaves something to train on.
fn check_split_size(n_rows: usize, f: f64) -> PyResult<()> {
    if n_rows < MIN_TRAIN_ROWS {
        return Err(PyValueError::new_err(format!(
            "the training data has {n_rows} sample(s); training needs at least {MIN_TRAIN_ROWS}"
        )));
    }
    if f <= 0.0 {
        return Ok(());
    }
    let n_val = (n_rows as f64 * f).round() as usize;
    if n_val == 0 || n_rows - n_val.min(n_rows) < MIN_TRAIN_ROWS {
        return Err(PyValueError::new_err(format!(
            "validation_fraction {f} of {n_rows} samples leaves no validation sample or too few training samples; change validation_fraction or set it to 0"
        )));
    }
    Ok(())
}

/// Stops training once the flag is set (by the waiting thread, on a pending Ctrl-C).
struct StopHooks<'a> {
    stop: &'a AtomicBool,
}

impl Hooks for StopHooks<'_> {
    fn should_stop(&mut self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Runs `work` without the GIL on a thread of its own, while the calling thread waits, taking
/// the GIL every [`SIGNAL_POLL`] to let Python's signal handlers run; a raised exception (a
/// KeyboardInterrupt) sets the flag `work` is handed, and is returned next to its result.
///
/// Why a thread: Python runs signal handlers only on its main thread, and the engine may train
/// on pool threads.
fn detached_with_signals<T: Send>(
    py: Python<'_>,
    work: impl FnOnce(&AtomicBool) -> T + Send,
) -> PyResult<(T, Option<PyErr>)> {
    let stop = AtomicBool::new(false);
    py.detach(|| {
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = mpsc::channel::<()>();
            let stop = &stop;
            let handle = scope.spawn(move || {
                let out = work(stop);
                // The receiver only stops listening once the work is over.
                let _ = done_tx.send(());
                out
            });
            let mut interrupt = None;
            while let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(SIGNAL_POLL) {
                if interrupt.is_none()
                    && let Err(e) = Python::attach(|py| py.check_signals())
                {
                    interrupt = Some(e);
                    stop.store(true, Ordering::Relaxed);
                }
            }
            match handle.join() {
                Ok(out) => Ok((out, interrupt)),
                Err(_) => Err(PyRuntimeError::new_err("training panicked; this is a bug")),
            }
        })
    })
}

/// Runs a session without the GIL; returns the model and the exception a signal handler raised
/// (KeyboardInterrupt), if training was stopped by one. The training hooks poll the stop flag
/// after every batch. The model keeps the optimizer's state for a later `partial_fit`.
fn run_session(py: Python<'_>, mut session: Session) -> PyResult<(PyModel, Option<PyErr>)> {
    let ((result, session), interrupt) = detached_with_signals(py, move |stop| {
        let mut hooks = StopHooks { stop };
        let result = session.run(&mut hooks);
        (result, session)
    })?;
    if let (Err(e), None) = (result, &interrupt) {
        return Err(py_err(e));
    }
    let resume = Resume {
        optimizer: session.config().optimizer().clone(),
        state: session.state().optimizer.clone(),
        schedule: session.state().schedule.clone(),
    };
    Ok((
        PyModel {
            inner: session.into_model(),
            resume: Some(resume),
        },
        interrupt,
    ))
}

/// The encoded training data of a float64 matrix, exactly as the table path encodes the same
/// numbers written as text: every column numeric, unscaled (the model's scaler standardizes
/// after the validation split), no fill (the caller sends matrices without NaN here). This
/// skips formatting and parsing every cell, which dominates the table path on wide data.
fn matrix_training_data(
    x: ArrayView2<'_, f64>,
    names: Vec<String>,
    rest: &Table,
    target: &str,
    weight_column: Option<&str>,
    kind: TargetKind,
) -> mlp::Result<(Dataset, InputSchema, TargetEncoder)> {
    let features: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let width = x.ncols();
    let preprocessor = Preprocessor {
        columns: names
            .iter()
            .map(|name| FeatureColumn::Numeric {
                name: name.clone(),
                mean: 0.0,
                scale: 1.0,
                fill: None,
            })
            .collect(),
        n_features: width,
        feature_names: names,
    };
    let raw = rest.raw();
    let index = |name: &str| {
        rest.headers()
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::config("target", format!("no column '{name}'")))
    };
    let target_cols = target
        .split(',')
        .map(|t| index(t.trim()))
        .collect::<mlp::Result<Vec<_>>>()?;
    let encoder = fit_targets(raw, &target_cols, Some(kind))?;
    let targets = encoder.encode(raw)?;
    let mut data = Dataset::new(features, width, targets)?;
    if let Some(w) = weight_column {
        let cells = rest.column(w).unwrap_or_default();
        let weights = cells
            .iter()
            .map(|c| c.parse::<f64>().map(|v| v as f32))
            .collect::<Result<Vec<f32>, _>>()
            .map_err(|e| Error::InvalidData(format!("sample weight: {e}")))?;
        data = data.with_weights(weights)?;
    }
    Ok((data, InputSchema::Tabular { preprocessor }, encoder))
}

/// A model's encoded (unscaled) features for a float64 matrix, as its table encoding would give
/// for the same numbers written as text; `None` when the model reads text columns or another
/// number of columns (the caller then takes the table path).
fn matrix_features(model: &Model, x: ArrayView2<'_, f64>) -> PyResult<Option<Vec<f32>>> {
    let InputSchema::Tabular { preprocessor } = model.input() else {
        return Ok(None);
    };
    if preprocessor.columns.len() != x.ncols() {
        return Ok(None);
    }
    let mut cols = Vec::with_capacity(x.ncols());
    for c in &preprocessor.columns {
        match c {
            FeatureColumn::Numeric {
                name,
                mean,
                scale,
                fill,
            } => cols.push((name.as_str(), *mean, *scale, *fill)),
            _ => return Ok(None),
        }
    }
    let mut out = Vec::with_capacity(x.len());
    for (r, row) in x.rows().into_iter().enumerate() {
        for (&v, &(name, mean, scale, fill)) in row.iter().zip(&cols) {
            let v = if v.is_nan() {
                fill.ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "row {r}, column '{name}': missing value; set `impute` to mean|median|most-frequent, or remove the row"
                    ))
                })?
            } else {
                v
            };
            let z = ((v - mean) / scale) as f32;
            if !z.is_finite() {
                return Err(PyValueError::new_err(format!(
                    "row {r}, column '{name}': value '{v}' is not a finite number"
                )));
            }
            out.push(z);
        }
    }
    Ok(Some(out))
}

/// Trains a model on named columns, as `mlp train --data FILE --target TARGET` on the same
/// table. `task` is `"classify"` or `"regress"`; `outputs` is the network's output width (for a
/// custom `arch`); `weight_column` names a column of sample weights. Returns the model and the
/// exception that interrupted training, if any.
///
/// With `params["select"]` true, the network is chosen as the default `mlp train` chooses it
/// (`mlp::train::select`: a linear model, one hidden layer or a wide-and-deep network, scored by
/// cross-validation or a hold-out, the winner refit on all rows) wherever the CLI would select:
/// from `mlp::train::select::MIN_ROWS` rows up. The Python side sets it only when no parameter
/// that fixes the network or its training is given, as the CLI's flags turn selection off.
///
/// With `matrix` (float64, no NaN) and its column `names`, the features come from the matrix
/// and `columns` holds only the targets (and weights): the same encoding, without text.
#[pyfunction]
#[pyo3(signature = (columns, target, task, outputs, params, weight_column=None, matrix=None, names=None))]
// The arguments are the Python function's keyword arguments, one by one.
#[allow(clippy::too_many_arguments)]
fn fit(
    py: Python<'_>,
    columns: Vec<(String, Bound<'_, PyAny>)>,
    target: String,
    task: &str,
    outputs: usize,
    params: &Bound<'_, PyDict>,
    weight_column: Option<String>,
    matrix: Option<PyReadonlyArray2<'_, f64>>,
    names: Option<Vec<String>>,
) -> PyResult<(PyModel, Option<PyErr>)> {
    let table = build_table(&columns)?;
    let task = parse_task(task)?;
    let Settings { task, builder } = settings(params, task, table.n_rows(), outputs)?;
    let select: bool = opt(params, "select")?.unwrap_or(false);
    let builder = builder.task(task);
    let kind = match task {
        Task::Classification => TargetKind::Classify,
        _ => TargetKind::Regress,
    };
    // The table path's encoding (`MlpBuilder::fit_table`, `mlp train`), or the same from a matrix.
    let (data, input, encoder, passthrough) = match (matrix, names) {
        (Some(x), Some(names)) => {
            let (data, input, encoder) = matrix_training_data(
                x.as_array(),
                names,
                &table,
                &target,
                weight_column.as_deref(),
                kind,
            )
            .map_err(py_err)?;
            let passthrough = vec![false; data.n_features()];
            (data, input, encoder, passthrough)
        }
        _ => {
            let mut cols = TableColumns::default();
            cols.weight_column = weight_column.clone();
            if let Some(how) = impute_of(params)? {
                cols.impute = how;
            }
            let enc = py
                .detach(|| {
                    encode_training_table(table.raw(), &cols.feature_config(&target), Some(kind))
                })
                .map_err(py_err)?;
            (enc.data, enc.input, enc.target, enc.passthrough)
        }
    };
    let selection = if select && data.len() >= model_select::MIN_ROWS {
        // A bad setting is the user's, not a failure of the selection (as `mlp train`).
        builder.config().validate().map_err(py_err)?;
        let sel_data = SelectionData {
            data: &data,
            input: &input,
            target: &encoder,
            passthrough: &passthrough,
        };
        // The candidates train without hooks: a Ctrl-C takes effect when the selection ends,
        // and then no model is trained.
        let (sel, interrupt) =
            detached_with_signals(py, |_stop| model_select::select(&builder, sel_data))?;
        if let Some(e) = interrupt {
            return Err(e);
        }
        Some(sel.map_err(py_err)?)
    } else {
        None
    };
    let builder = match &selection {
        Some(sel) => {
            let outputs = match data.targets() {
                mlp::data::Targets::Classes { n_classes, .. } => *n_classes,
                mlp::data::Targets::Values { n_outputs, .. } => *n_outputs,
                mlp::data::Targets::MultiLabel { n_labels, .. } => *n_labels,
            };
            sel.apply(builder, task, data.n_features(), outputs)
        }
        None => builder,
    };
    let mut session = py
        .detach(|| builder.session(&data, None, input, encoder, &passthrough, "table".into()))
        .map_err(py_err)?;
    if let (Some(sel), Some(t)) = (selection, session.model_mut().training_mut()) {
        t.selection = Some(sel);
    }
    run_session(py, session)
}

/// Continues training `model` on new rows for `epochs` epochs (no validation split, no early
/// stopping): the rows are encoded with the model's own encoders and scaler. The optimizer
/// continues from the state the model's training left (its moments and step count) when the
/// optimizer is the same; it starts afresh after a change of optimizer, or on a model read from
/// a file or a pickle (which do not keep that state).
#[pyfunction]
#[pyo3(signature = (model, columns, epochs, params, seed, weight_column=None, matrix=None))]
// The arguments are the Python function's keyword arguments, one by one.
#[allow(clippy::too_many_arguments)]
fn partial_fit(
    py: Python<'_>,
    model: &PyModel,
    columns: Vec<(String, Bound<'_, PyAny>)>,
    epochs: usize,
    params: &Bound<'_, PyDict>,
    seed: u64,
    weight_column: Option<String>,
    matrix: Option<PyReadonlyArray2<'_, f64>>,
) -> PyResult<(PyModel, Option<PyErr>)> {
    let table = build_table(&columns)?;
    let old = &model.inner;
    let outputs = old.output_width();
    let Settings { builder, .. } = settings(params, old.task(), table.n_rows(), outputs)?;
    let builder = builder
        .epochs(epochs)
        .patience(None)
        .seed(seed)
        .standardize(false)
        .validation(ValidationSplit::None);
    let from_matrix = match &matrix {
        Some(x) => matrix_features(old, x.as_array())?,
        None => None,
    };
    let mut features = match from_matrix {
        Some(f) => f,
        None => {
            old.encode_table(&table, UnknownCategory::Ignore)
                .map_err(py_err)?
                .0
        }
    };
    old.scaler().apply(&mut features);
    let targets = old.target().encode(table.raw()).map_err(py_err)?;
    let mut data = Dataset::new(features, old.n_features(), targets).map_err(py_err)?;
    if let Some(w) = &weight_column {
        let cells = table
            .column(w)
            .ok_or_else(|| PyValueError::new_err(format!("no column '{w}'")))?;
        let weights = cells
            .iter()
            .map(|c| c.parse::<f32>())
            .collect::<Result<Vec<f32>, _>>()
            .map_err(|e| PyValueError::new_err(format!("sample_weight: {e}")))?;
        data = data.with_weights(weights).map_err(py_err)?;
    }
    // The session's own network and identity scaler are replaced by the model being continued:
    // the rows above are already scaled with that model's scaler.
    let mut session = builder
        .session(
            &data,
            None,
            old.input().clone(),
            old.target().clone(),
            &[],
            "python".into(),
        )
        .map_err(py_err)?;
    let history = old
        .training()
        .map(|t| t.history.clone())
        .unwrap_or_default();
    *session.model_mut() = old.clone();
    session.state_mut().history = history;
    if let Some(r) = &model.resume
        && &r.optimizer == session.config().optimizer()
    {
        session.state_mut().optimizer = r.state.clone();
        session.state_mut().schedule = r.schedule.clone();
    }
    run_session(py, session)
}

/// A [`Selection`] as a Python dict (see `Model.selection`).
fn selection_dict<'py>(py: Python<'py>, sel: &Selection) -> PyResult<Bound<'py, PyDict>> {
    let plan = PyDict::new(py);
    match sel.plan {
        model_select::Plan::CrossValidation { folds, stratified } => {
            plan.set_item("kind", "cross_validation")?;
            plan.set_item("folds", folds)?;
            plan.set_item("stratified", stratified)?;
        }
        model_select::Plan::HoldOut { rows } => {
            plan.set_item("kind", "hold_out")?;
            plan.set_item("rows", rows)?;
        }
    }
    let d = PyDict::new(py);
    d.set_item("plan", plan)?;
    d.set_item("plan_text", sel.plan.describe())?;
    d.set_item("rows", sel.rows)?;
    d.set_item("chosen", sel.chosen.name())?;
    d.set_item("epochs", sel.epochs)?;
    d.set_item("reason", &sel.reason)?;
    let candidates = sel
        .candidates
        .iter()
        .map(|c| {
            let r = PyDict::new(py);
            r.set_item("candidate", c.candidate.name())?;
            r.set_item("network", c.candidate.describe())?;
            r.set_item("params", c.params)?;
            r.set_item("val_loss", c.val_loss)?;
            r.set_item("val_loss_std", c.val_loss_std)?;
            r.set_item("val_metric", c.val_metric)?;
            r.set_item("epochs", c.epochs)?;
            Ok(r)
        })
        .collect::<PyResult<Vec<_>>>()?;
    d.set_item("candidates", candidates)?;
    Ok(d)
}

fn parse_task(task: &str) -> PyResult<Task> {
    match task {
        "classify" => Ok(Task::Classification),
        "regress" => Ok(Task::Regression),
        other => Err(PyValueError::new_err(format!(
            "task must be 'classify' or 'regress', not '{other}'"
        ))),
    }
}

/// Loads a model file written by `mlp train`, `Model.save` or an estimator's `save`.
#[pyfunction]
fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<PyModel> {
    let model = py.detach(|| Model::load(&path)).map_err(py_err)?;
    Ok(PyModel::new(model))
}

/// A model from the bytes of a model file (see `Model.to_bytes`).
#[pyfunction]
fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<PyModel> {
    let path = std::path::Path::new("<bytes>");
    let file = TensorFile::from_bytes(data, path).map_err(py_err)?;
    let model = py
        .detach(|| Model::from_tensor_file(&file, path))
        .map_err(py_err)?;
    Ok(PyModel::new(model))
}

/// A trained model: the network, its input encoding and its target encoding, exactly what the
/// CLI's model file holds.
#[pyclass(module = "mlp._mlp", name = "Model", frozen)]
pub struct PyModel {
    inner: Model,
    /// The optimizer's state at the end of the training that made this model (not in the model
    /// file, nor in a pickle): `partial_fit` continues from it.
    resume: Option<Resume>,
}

/// What a later `partial_fit` needs to continue the optimizer rather than restart it.
#[derive(Debug, Clone)]
struct Resume {
    /// The optimizer the state belongs to: the state carries over only to the same one.
    optimizer: OptimizerConfig,
    /// Its moments and step count.
    state: OptimizerState,
    /// The learning-rate schedule's state.
    schedule: ScheduleState,
}

impl PyModel {
    fn new(inner: Model) -> Self {
        PyModel {
            inner,
            resume: None,
        }
    }

    /// Rows in the network's input units (encoded, then scaled), checking there is one class
    /// per row.
    fn network_rows(
        &self,
        py: Python<'_>,
        columns: Vec<(String, Bound<'_, PyAny>)>,
        matrix: Option<PyReadonlyArray2<'_, f64>>,
        n_classes_given: usize,
    ) -> PyResult<(Vec<f32>, usize)> {
        let model = &self.inner;
        let encoded = match &matrix {
            Some(x) => matrix_features(model, x.as_array())?.map(|f| (f, x.as_array().nrows())),
            None => None,
        };
        let (mut x, rows) = match encoded {
            Some(e) => e,
            None => {
                let table = build_table(&columns)?;
                let rows = table.n_rows();
                let f = py
                    .detach(|| model.encode_table(&table, UnknownCategory::Ignore))
                    .map_err(py_err)?
                    .0;
                (f, rows)
            }
        };
        if n_classes_given != rows {
            return Err(PyValueError::new_err(format!(
                "{rows} rows but {n_classes_given} labels"
            )));
        }
        model.to_network_units(&mut x);
        Ok((x, rows))
    }
}

#[pymethods]
impl PyModel {
    /// The spectral diagnostics of every weight matrix (HTSR alpha, alpha-hat, xmin, KS distance,
    /// norms, detX, Marchenko-Pastur spikes), as the JSON text of `mlp analyze --json`'s
    /// `"layers"` list.
    fn spectra_json(&self, py: Python<'_>) -> PyResult<String> {
        let net = self.inner.network();
        let layers = py.detach(|| mlp::analyze::spectra(net)).map_err(py_err)?;
        serde_json::to_string(&layers).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// `"classification"`, `"regression"` or `"multi-label"`.
    #[getter]
    fn task(&self) -> &'static str {
        self.inner.task().name()
    }

    /// Class labels in output order (empty for regression).
    #[getter]
    fn class_labels(&self) -> Vec<String> {
        self.inner.class_labels()
    }

    /// The raw input columns the model reads, in order.
    #[getter]
    fn input_columns(&self) -> Vec<String> {
        match self.inner.input() {
            mlp::model::InputSchema::Tabular { preprocessor } => preprocessor
                .input_names()
                .into_iter()
                .map(str::to_string)
                .collect(),
            other => other.feature_names(),
        }
    }

    /// The target column names.
    #[getter]
    fn target_columns(&self) -> Vec<String> {
        self.inner
            .target()
            .column_names()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Encoded features the network takes (after one-hot expansion).
    #[getter]
    fn n_features(&self) -> usize {
        self.inner.n_features()
    }

    /// Per-epoch training history: a list of dicts (epoch, train_loss, val_loss, val_metric,
    /// lr, seconds).
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let Some(t) = self.inner.training() else {
            return Ok(Vec::new());
        };
        t.history
            .iter()
            .map(|r| {
                let d = PyDict::new(py);
                d.set_item("epoch", r.epoch)?;
                d.set_item("train_loss", r.train_loss)?;
                d.set_item("val_loss", r.val_loss)?;
                d.set_item("val_metric", r.val_metric)?;
                d.set_item("lr", r.lr)?;
                d.set_item("seconds", r.seconds)?;
                Ok(d)
            })
            .collect()
    }

    /// The automatic model selection that chose this network (as `mlp train` prints it), or
    /// `None` when none ran. A dict: `plan` (`kind` "cross_validation" with `folds` and
    /// `stratified`, or "hold_out" with `rows`), `plan_text`, `rows`, `chosen`, `epochs`,
    /// `reason`, and `candidates`: one dict per candidate (`candidate`, `network`, `params`,
    /// `val_loss`, `val_loss_std`, `val_metric`, `epochs`), simplest first.
    #[getter]
    fn selection<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        match self.inner.training().and_then(|t| t.selection.as_ref()) {
            Some(sel) => selection_dict(py, sel).map(Some),
            None => Ok(None),
        }
    }

    /// Optimizer updates taken so far by the training that made this model and the
    /// `partial_fit` calls since (`None` for a model read from a file or a pickle, which do not
    /// keep the optimizer's state).
    #[getter]
    fn optimizer_steps(&self) -> Option<u64> {
        self.resume.as_ref().map(|r| r.state.step)
    }

    /// How training ended (`completed`, `early stopped ...`, `interrupted`, ...).
    #[getter]
    fn outcome(&self) -> Option<String> {
        self.inner.training().map(|t| t.outcome.clone())
    }

    /// Predicts raw rows given as named columns. Returns a dict: `proba` (rows x classes) for a
    /// classifier, `values` (rows x outputs) for a regressor, and `logits` (network outputs)
    /// when `logits=True`.
    /// A float64 `matrix` of numbers (for a model fitted on numeric columns, in the model's
    /// column order) skips the text encoding; `columns` is then ignored.
    #[pyo3(signature = (columns, logits=false, matrix=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        columns: Vec<(String, Bound<'py, PyAny>)>,
        logits: bool,
        matrix: Option<PyReadonlyArray2<'py, f64>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let model = &self.inner;
        let encoded = match &matrix {
            Some(x) => matrix_features(model, x.as_array())?.map(|f| (f, x.as_array().nrows())),
            None => None,
        };
        let (features, rows) = match encoded {
            Some(e) => e,
            None => {
                let table = build_table(&columns)?;
                let rows = table.n_rows();
                let features = py
                    .detach(|| model.encode_table(&table, UnknownCategory::Ignore))
                    .map_err(py_err)?
                    .0;
                (features, rows)
            }
        };
        let (pred, raw) = py
            .detach(|| -> mlp::Result<_> {
                let pred = model.predictions(&features, rows)?;
                let raw = if logits {
                    Some(model.forward(&features, rows)?)
                } else {
                    None
                };
                Ok((pred, raw))
            })
            .map_err(py_err)?;
        let out = PyDict::new(py);
        if let Some(p) = pred.proba() {
            out.set_item("proba", to_numpy(py, p.to_vec(), rows)?)?;
        }
        if let Some(v) = pred.values() {
            out.set_item("values", to_numpy(py, v.to_vec(), rows)?)?;
        }
        if let Some(r) = raw {
            out.set_item("logits", to_numpy(py, r, rows)?)?;
        }
        Ok(out)
    }

    /// Adversarial versions of rows (FGSM, or PGD with `steps` steps) within an L-inf ball of
    /// radius `eps` in the encoded, unscaled feature units (a numeric column's own units;
    /// one-hot columns are never perturbed). `classes` are the true classes as output indices.
    /// Returns the adversarial rows in the same units (`rows x n_features`).
    #[pyo3(signature = (columns, classes, eps, method="pgd", steps=20, matrix=None))]
    // The arguments are the Python method's keyword arguments, one by one.
    #[allow(clippy::too_many_arguments)]
    fn attack<'py>(
        &self,
        py: Python<'py>,
        columns: Vec<(String, Bound<'py, PyAny>)>,
        classes: Vec<usize>,
        eps: f32,
        method: &str,
        steps: usize,
        matrix: Option<PyReadonlyArray2<'py, f64>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let model = &self.inner;
        let (mut x, rows) = self.network_rows(py, columns, matrix, classes.len())?;
        let config = match method {
            "fgsm" => AttackConfig::fgsm(eps),
            "pgd" => AttackConfig::pgd(eps, steps),
            other => {
                return Err(PyValueError::new_err(format!(
                    "method must be 'fgsm' or 'pgd', not '{other}'"
                )));
            }
        };
        let adv = py
            .detach(|| -> mlp::Result<Vec<f32>> {
                let space = model.perturb_space(EpsUnits::Raw, None)?;
                attack(
                    model.network(),
                    &x,
                    rows,
                    BatchTargets::Classes(&classes),
                    &model.loss(),
                    &space,
                    &config,
                )
            })
            .map_err(py_err)?;
        // Back to the encoded, unscaled units the caller gave.
        x = adv;
        let scaler = model.scaler();
        let n = model.n_features();
        for row in x.chunks_exact_mut(n.max(1)) {
            for ((v, &m), &s) in row.iter_mut().zip(&scaler.mean).zip(&scaler.scale) {
                *v = *v * s + m;
            }
        }
        to_numpy(py, x, rows)
    }

    /// Which rows are proved robust: the true class (an output index per row) keeps the largest
    /// output for every input within `eps` (encoded, unscaled units) of the row, by interval
    /// bound propagation (`"ibp"`) or CROWN (`"crown"`), computed in f64. Returns one bool per
    /// row (False: not proved, which does not mean an attack exists).
    #[pyo3(signature = (columns, classes, eps, method="crown", matrix=None))]
    // The arguments are the Python method's keyword arguments, one by one.
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        py: Python<'_>,
        columns: Vec<(String, Bound<'_, PyAny>)>,
        classes: Vec<usize>,
        eps: f64,
        method: &str,
        matrix: Option<PyReadonlyArray2<'_, f64>>,
    ) -> PyResult<Vec<bool>> {
        let model = &self.inner;
        let method = match method {
            "ibp" => Method::Ibp,
            "crown" => Method::Crown,
            other => {
                return Err(PyValueError::new_err(format!(
                    "method must be 'ibp' or 'crown', not '{other}'"
                )));
            }
        };
        let (x, _) = self.network_rows(py, columns, matrix, classes.len())?;
        py.detach(|| -> mlp::Result<Vec<bool>> {
            let net = model.network();
            let n = model.n_features();
            let k = net.outputs();
            let space = model.perturb_space(EpsUnits::Raw, None)?;
            let radius: Vec<f64> = space.radius.iter().map(|&r| eps * r as f64).collect();
            x.chunks_exact(n.max(1))
                .zip(&classes)
                .map(|(row, &truth)| {
                    let center: Vec<f64> = row.iter().map(|&v| v as f64).collect();
                    let input = Bounds::around(&center, &radius)?;
                    let spec = LinearSpec::class_margin(k, truth)?;
                    let b = spec_bounds(net, &input, &spec, method)?;
                    Ok(b.lower.iter().all(|&m| m > 0.0))
                })
                .collect()
        })
        .map_err(py_err)
    }

    /// Writes the model file (atomically), readable by `mlp predict`.
    fn save(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(py_err)
    }

    /// Pickles as the bytes of the model file.
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let load = py.import("mlp._mlp")?.getattr("from_bytes")?;
        Ok((load, (self.to_bytes(py)?,)))
    }

    /// The bytes of the model file (for pickling).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self
            .inner
            .to_tensor_file()
            .and_then(|f| f.to_bytes())
            .map_err(py_err)?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// A row-major `rows x (len / rows)` numpy array that takes over `data` without copying.
fn to_numpy<'py>(
    py: Python<'py>,
    data: Vec<f32>,
    rows: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let cols = data.len().checked_div(rows).unwrap_or(0);
    let a = Array2::from_shape_vec((rows, cols), data)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py))
}

/// Reads a time series from named columns (as `mlp forecast` reads its CSV).
fn series_from(
    columns: &[(String, Bound<'_, PyAny>)],
    time: String,
    targets: Vec<String>,
    exog: Vec<String>,
    fill: Option<String>,
) -> PyResult<Series> {
    let table = build_table(columns)?;
    let fill = fill
        .map(|f| f.parse::<Fill>())
        .transpose()
        .map_err(py_err)?;
    let cols = SeriesColumns {
        time,
        targets,
        exog,
        fill,
    };
    Series::from_table(table.raw(), &cols).map_err(py_err)
}

/// Fits a forecaster on a time series given as named columns (`time`, `targets`, `exog`), as
/// `mlp forecast` does; the settings not in `params` keep the engine's defaults.
#[pyfunction]
#[pyo3(signature = (columns, time, targets, exog, params))]
fn fit_forecaster(
    py: Python<'_>,
    columns: Vec<(String, Bound<'_, PyAny>)>,
    time: String,
    targets: Vec<String>,
    exog: Vec<String>,
    params: &Bound<'_, PyDict>,
) -> PyResult<PyForecaster> {
    let series = series_from(&columns, time, targets, exog, opt(params, "fill")?)?;
    let mut s = ForecastSettings::default();
    if let Some(h) = opt(params, "horizon")? {
        s.horizon = h;
    }
    if let Some(widths) = opt::<Vec<usize>>(params, "hidden")? {
        s.arch.widths = widths;
    }
    if let Some(v) = opt(params, "val_fraction")? {
        s.val_fraction = v;
    }
    if let Some(max_dim) = opt(params, "max_lags")? {
        s.lags = LagSetting::Auto { max_dim };
    }
    if let Some((tau, dim)) = opt::<(usize, usize)>(params, "lags")? {
        s.lags = LagSetting::Fixed(Embedding { tau, dim });
    }
    let mut t = s.train.clone();
    if let Some(v) = opt(params, "epochs")? {
        t = t.with_epochs(v);
    }
    if let Some(v) = opt::<f32>(params, "lr")? {
        t = t.with_lr(v);
    }
    if let Some(v) = opt(params, "batch_size")? {
        t = t.with_batch_size(v);
    }
    if let Some(v) = opt::<usize>(params, "patience")? {
        t = t.with_patience(if v == 0 { None } else { Some(v) });
    }
    if let Some(v) = opt(params, "seed")? {
        t = t.with_seed(v);
    }
    if let Some(v) = opt(params, "threads")? {
        t = t.with_threads(v);
    }
    s.train = t;
    let inner = py.detach(|| Forecaster::fit(&series, &s)).map_err(py_err)?;
    Ok(PyForecaster { inner })
}

/// Loads a forecaster file written by `mlp forecast --out` or `Forecaster.save`.
#[pyfunction]
fn load_forecaster(py: Python<'_>, path: std::path::PathBuf) -> PyResult<PyForecaster> {
    let inner = py.detach(|| Forecaster::load(&path)).map_err(py_err)?;
    Ok(PyForecaster { inner })
}

/// A trained forecaster (network plus lags, scaling and interval residuals).
#[pyclass(module = "mlp._mlp", name = "Forecaster", frozen)]
pub struct PyForecaster {
    inner: Forecaster,
}

#[pymethods]
impl PyForecaster {
    /// The time column's name.
    #[getter]
    fn time_column(&self) -> String {
        self.inner.meta.time_column.clone()
    }

    /// The target series' names.
    #[getter]
    fn targets(&self) -> Vec<String> {
        self.inner.meta.targets.clone()
    }

    /// The exogenous columns' names.
    #[getter]
    fn exog(&self) -> Vec<String> {
        self.inner.meta.exog.clone()
    }

    /// The horizon it was trained for.
    #[getter]
    fn horizon(&self) -> usize {
        self.inner.meta.horizon
    }

    /// Forecasts `steps` ahead of the end of the history in `columns` (rows after the last
    /// observed target value carry known exogenous values). Returns a dict: `times` (text, as
    /// the time column writes them), `values`, and with intervals `lower` / `upper`, each a
    /// list per target of one value per step.
    #[pyo3(signature = (columns, steps, level=0.9, intervals=true, fill=None, seed=0))]
    // The arguments are the Python method's keyword arguments, one by one.
    #[allow(clippy::too_many_arguments)]
    fn forecast<'py>(
        &self,
        py: Python<'py>,
        columns: Vec<(String, Bound<'py, PyAny>)>,
        steps: usize,
        level: f64,
        intervals: bool,
        fill: Option<String>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let m = &self.inner.meta;
        let series = series_from(
            &columns,
            m.time_column.clone(),
            m.targets.clone(),
            m.exog.clone(),
            fill,
        )?;
        let method = if intervals {
            IntervalMethod::Residual
        } else {
            IntervalMethod::None
        };
        let f = py
            .detach(|| self.inner.forecast(&series, steps, method, level, seed))
            .map_err(py_err)?;
        let out = PyDict::new(py);
        let times: Vec<String> = f
            .times
            .iter()
            .map(|&k| format_time(k, m.time_kind))
            .collect();
        out.set_item("times", times)?;
        out.set_item("values", f.values)?;
        out.set_item("lower", f.lower)?;
        out.set_item("upper", f.upper)?;
        Ok(out)
    }

    /// Writes the forecaster's model file (atomically), readable by `mlp forecast --model`.
    fn save(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(py_err)
    }
}

/// The native module.
#[pymodule]
fn _mlp(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(partial_fit, m)?)?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(from_bytes, m)?)?;
    m.add_class::<PyForecaster>()?;
    m.add_function(wrap_pyfunction!(fit_forecaster, m)?)?;
    m.add_function(wrap_pyfunction!(load_forecaster, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
