//! The served model and its hot reload.
//!
//! The model sits behind `RwLock<Arc<Loaded>>`: a request clones the `Arc` once (a read lock
//! held for one atomic increment) and keeps it until it is answered, so a reload never changes
//! the model under a request in flight; the old model is freed when its last request ends. A
//! reload loads and checks the new file completely before the swap, so a bad file changes
//! nothing.

use super::ServeArgs;
use super::routes::AppState;
use crate::commands::predict::load_model;
use anyhow::{Context, Result};
use mlp::data::preprocess::UnknownCategory;
use mlp::model::{InputSchema, Model, Task};
use mlp::table::PredictOptions;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// Prediction settings from the command line, applied to every model loaded.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    unknown: UnknownCategory,
    interval: Option<f64>,
    interval_given: bool,
    prediction_sets: Option<f64>,
}

impl Settings {
    pub fn from_args(args: &ServeArgs) -> Result<Settings> {
        Ok(Settings {
            unknown: args.unknown_category.parse()?,
            interval: args.interval.or(Some(0.9)),
            interval_given: args.interval.is_some(),
            prediction_sets: args.prediction_sets,
        })
    }

    /// The options for `model`: a default interval level is dropped for a model that has no
    /// calibration (or is no regressor); a level the user gave must be honoured or is an error.
    fn options_for(&self, model: &Model) -> Result<PredictOptions> {
        let mut opts = PredictOptions::from(self.unknown);
        opts.prediction_sets = self.prediction_sets;
        if self.interval_given {
            opts.interval = self.interval;
        } else if model.task() == Task::Regression {
            let mut trial = opts;
            trial.interval = self.interval;
            if model.check_predict_options(&trial).is_ok() {
                opts.interval = self.interval;
            }
        }
        model.check_predict_options(&opts)?;
        Ok(opts)
    }
}

/// A loaded model with what serving it needs, computed once per load.
pub(crate) struct Loaded {
    pub model: Model,
    pub opts: PredictOptions,
    /// Counts loads: 0 for the model served at startup.
    pub generation: u64,
    /// The input columns a request must name, in the model's order (tabular models), or the
    /// feature names (matrix models).
    pub columns: Vec<String>,
    /// Position of each name in `columns`.
    pub column_index: HashMap<String, usize>,
    /// Whether the model takes a table (else a numeric matrix).
    pub tabular: bool,
    /// What `mlp info --json` prints for this model (`GET /metadata`).
    pub metadata: String,
    /// Output keys (class labels, target or label names) as JSON string literals, escaped once.
    pub keys_json: Vec<String>,
}

/// Loads and checks `path` for serving.
pub(crate) fn load(path: &Path, settings: &Settings, generation: u64) -> Result<Loaded> {
    let model = load_model(path)?;
    let opts = settings
        .options_for(&model)
        .with_context(|| format!("{} cannot be served with these flags", path.display()))?;
    let (columns, tabular) = match model.input() {
        InputSchema::Tabular { preprocessor } => (
            preprocessor
                .columns
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
            true,
        ),
        InputSchema::Matrix { feature_names, .. } => (feature_names.clone(), false),
    };
    let column_index = columns
        .iter()
        .enumerate()
        .map(|(i, c): (usize, &String)| (c.clone(), i))
        .collect();
    let metadata = crate::commands::info::info_json(&model)?.to_string();
    let keys: Vec<String> = match model.task() {
        Task::Classification | Task::MultiLabel if !model.class_labels().is_empty() => {
            model.class_labels()
        }
        _ => match model.target() {
            mlp::data::preprocess::TargetEncoder::Standardized { names, .. } => names.clone(),
            mlp::data::preprocess::TargetEncoder::Classes { labels, .. } => labels.clone(),
        },
    };
    let keys_json = keys
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Loaded {
        model,
        opts,
        generation,
        columns,
        column_index,
        tabular,
        metadata,
        keys_json,
    })
}

/// The model being served, its file, and the lock that keeps reloads one at a time.
pub(crate) struct Served {
    current: RwLock<Arc<Loaded>>,
    path: PathBuf,
    settings: Settings,
    reloading: Mutex<u64>,
}

impl Served {
    pub fn new(loaded: Loaded, path: PathBuf, settings: Settings) -> Served {
        Served {
            current: RwLock::new(Arc::new(loaded)),
            path,
            settings,
            reloading: Mutex::new(0),
        }
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model to answer one request with (kept by the request until it is answered).
    pub fn current(&self) -> Arc<Loaded> {
        // A poisoned lock still holds a valid `Arc` (a swap cannot be half done).
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Loads the file anew and serves it from now on; on any error the old model stays. Blocking
    /// (reads and parses the file): call it off the async runtime.
    pub fn reload(&self) -> Result<Arc<Loaded>> {
        let mut generation = match self.reloading.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let next = *generation + 1;
        let loaded = Arc::new(load(&self.path, &self.settings, next)?);
        *generation = next;
        match self.current.write() {
            Ok(mut g) => *g = Arc::clone(&loaded),
            Err(p) => *p.into_inner() = Arc::clone(&loaded),
        }
        Ok(loaded)
    }
}

/// Reloads off the runtime's threads, counting the outcome in the metrics and logging it.
pub(crate) async fn reload_now(state: &Arc<AppState>, why: &str) -> Result<Arc<Loaded>, String> {
    let st = Arc::clone(state);
    let result = tokio::task::spawn_blocking(move || st.served.reload())
        .await
        .map_err(|e| format!("the reload task failed: {e}"))
        .and_then(|r| r.map_err(|e| format!("{e:#}")));
    match &result {
        Ok(l) => {
            state.metrics.reloads_ok.inc();
            eprintln!(
                "mlp serve: reloaded {} ({why}); generation {}",
                state.served.path().display(),
                l.generation
            );
        }
        Err(e) => {
            state.metrics.reloads_failed.inc();
            eprintln!("mlp serve: reload ({why}) rejected, still serving the previous model: {e}");
        }
    }
    result
}

/// Reloads on every SIGHUP.
pub(crate) fn spawn_sighup(state: Arc<AppState>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        let _ = reload_now(&state, "SIGHUP").await;
                    }
                });
            }
            Err(e) => eprintln!("warning: cannot watch SIGHUP ({e}); use POST /reload"),
        }
    }
    #[cfg(not(unix))]
    drop(state);
}
