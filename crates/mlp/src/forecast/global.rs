//! Global forecasting models: one network trained on the windows of every series of a panel
//! (many series of the same quantity, e.g. the sales of many stores), the way N-BEATS and NHITS
//! are trained on M4.
//!
//! # Input
//!
//! A long-format CSV ([`Panel`]): an id column, a time column and one target column. Rows may
//! come in any order: they are grouped by id and sorted by time within each id; a repeated
//! `(id, time)` is an error naming both. Each id's rows then go through the single-series rules
//! of [`super::series`] (regular step, gaps and missing cells are errors unless filled, ...),
//! and an error names the id and keeps the file's line number. Series may differ in length and
//! start time but must share the time step.
//!
//! # Scaling (the choice and why)
//!
//! Each series keeps its own [`SeriesScaler`] fitted on its own training part, and with the
//! default [`Normalize::Last`] every window is taken relative to its latest value and divided by
//! the standard deviation of the series' training first differences. The network therefore sees
//! shapes in units of "a typical step of this series": a series of sales in millions and one in
//! units give comparable rows, and multiplying a series by 1000 multiplies its scale by 1000 and
//! leaves its rows unchanged, so its forecast (and interval) is multiplied by 1000. The
//! alternatives are worse for a panel: one scaler for all series lets the largest series
//! dominate the loss; a per-window scale (N-BEATS' input normalization by the window maximum)
//! is undefined for windows crossing zero and is noisy for short windows, while a scale from the
//! whole training part is stable and known before forecasting. [`Normalize::Global`] (each
//! series standardized by its own training mean and deviation) is also accepted.
//!
//! # Model
//!
//! The network and its layout are those of [`super::forecaster`] with one target channel, no
//! exogenous or calendar features (the series of a panel need not share a calendar), and the
//! embedding `tau = 1`, `m = max(2 season, 2 horizon, 4)` capped at a third of the shortest
//! training part (or as given). The season is the most common one detected among the series
//! (or given). Training windows are pooled from every series (a longer series contributes more
//! windows); the last `val_fraction` of each series validates (early stopping) and calibrates
//! the intervals. There is no model selection or ensemble here.
//!
//! # Intervals
//!
//! Split conformal per horizon step, pooled over series: the calibration scores are the errors
//! of rolling-origin forecasts over every series' validation part, in the series' scaled units
//! (error / scale). At prediction time the step-`h` half-width is the conformal quantile of the
//! pooled step-`h` scores times the series' scale ([`super::intervals::conformal_offsets`]), so a
//! series gets intervals proportional to its own variability.
//!
//! # File
//!
//! A model file of [`crate::model::Model`] with the metadata entries `forecast_global_version`
//! and `forecast_global` (a JSON [`GlobalMeta`] with the per-series scalers). Histories are
//! re-read from the data at prediction time, like the single-series path.
//!
//! ```no_run
//! use mlp::forecast::global::{GlobalForecaster, Panel, PanelColumns};
//! use mlp::forecast::intervals::IntervalMethod;
//! let columns = PanelColumns {
//!     id: "store".into(),
//!     time: "month".into(),
//!     target: "sales".into(),
//!     fill: None,
//! };
//! let panel = Panel::load("sales.csv".as_ref(), &columns).unwrap();
//! let mut settings = mlp::forecast::global::default_settings();
//! settings.horizon = 6;
//! let model = GlobalForecaster::fit(&panel, &settings).unwrap();
//! model.save("sales.safetensors".as_ref()).unwrap();
//! for (id, f) in model.forecast(&panel, 6, IntervalMethod::Conformal, 0.9).unwrap() {
//!     println!("{id}: {:?}", f.values[0]);
//! }
//! ```

use super::backtest::{BacktestSettings, Method, backtest_methods};
use super::baselines::detect_season_for;
use super::forecaster::{Forecast, ForecastSettings, LagSetting, MAX_STEPS, Transform};
use super::intervals::{
    IntervalMethod, check_level, conformal_offsets, coverage, residual_offsets,
};
use super::series::{Fill, Series, SeriesColumns, Step, TimeKind};
use super::strategy::{RollShape, Strategy, roll_forward};
use super::window::{Embedding, Normalize, SeriesScaler, make_windows};
use crate::architectures::SequenceLayout;
use crate::data::csv::{RawTable, read_csv};
use crate::data::preprocess::TargetEncoder;
use crate::data::{Dataset, Targets};
use crate::estimator::MlpBuilder;
use crate::io::TensorFile;
use crate::metrics::forecast::mase;
use crate::metrics::smape;
use crate::model::{InputSchema, Model};
use crate::train::NoHooks;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Version of the `forecast_global` metadata entry.
const GLOBAL_VERSION: u32 = 1;

/// Metadata key of the global forecaster's JSON.
const META_KEY: &str = "forecast_global";

/// Fewest training steps per series (as for a single series).
pub const MIN_TRAIN: usize = 20;

/// Most calibration scores kept per horizon step (evenly thinned beyond), bounding the model
/// file of a large panel.
const MAX_SCORES: usize = 20_000;

/// Which columns of a long-format CSV hold the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelColumns {
    /// The series id column.
    pub id: String,
    /// The time column.
    pub time: String,
    /// The target column.
    pub target: String,
    /// Fill gaps and missing cells within each series (None: they are errors).
    pub fill: Option<Fill>,
}

/// One series of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelSeries {
    /// The value of the id column.
    pub id: String,
    /// Its observations (one target column).
    pub series: Series,
}

/// Many series of one target, each on its own regular time grid with a shared step.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Where it came from.
    pub source: String,
    /// The id column.
    pub id_column: String,
    /// The series, in order of first appearance in the file.
    pub series: Vec<PanelSeries>,
}

/// Puts `series 'ID': ` in front of an error's message, keeping its file and line.
fn name_id(id: &str, e: Error) -> Error {
    match e {
        Error::Parse {
            path,
            line,
            column,
            msg,
        } => Error::Parse {
            path,
            line,
            column,
            msg: format!("series '{id}': {msg}"),
        },
        Error::Format { path, msg } => Error::Format {
            path,
            msg: format!("series '{id}': {msg}"),
        },
        other => Error::InvalidData(format!("series '{id}': {other}")),
    }
}

impl Panel {
    /// Loads a long-format CSV file (see the module documentation).
    pub fn load(path: &Path, columns: &PanelColumns) -> Result<Panel> {
        Panel::from_table(&read_csv(path, None)?, columns)
    }

    /// Builds the panel from a parsed table.
    pub fn from_table(table: &RawTable, columns: &PanelColumns) -> Result<Panel> {
        let icol = table.column_index(&columns.id)?;
        let tcol = table.column_index(&columns.time)?;
        let ycol = table.column_index(&columns.target)?;
        if icol == tcol || icol == ycol {
            return Err(Error::config(
                "id_column",
                format!(
                    "'{}' is also the time or target column; name a separate id column",
                    table.headers[icol]
                ),
            ));
        }
        if tcol == ycol {
            return Err(Error::config(
                "target",
                format!("'{}' is the time column", table.headers[tcol]),
            ));
        }
        if table.n_rows == 0 {
            return Err(Error::format(&table.path, "no data rows"));
        }
        let (keys, _) = super::series::parse_times(table, tcol)?;
        // Rows per id, ids in order of first appearance (deterministic, unlike a hash order).
        let mut order: Vec<String> = Vec::new();
        let mut rows: HashMap<&str, Vec<usize>> = HashMap::new();
        for r in 0..table.n_rows {
            let id = table.columns[icol][r].as_str();
            if id.is_empty() {
                return Err(table.cell_error(r, icol, "empty series id"));
            }
            rows.entry(id)
                .or_insert_with(|| {
                    order.push(id.to_string());
                    Vec::new()
                })
                .push(r);
        }
        let mut series: Vec<PanelSeries> = Vec::with_capacity(order.len());
        for id in order {
            let mut idx = rows.remove(id.as_str()).unwrap_or_default();
            idx.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
            if let Some(w) = idx.windows(2).find(|w| keys[w[0]] == keys[w[1]]) {
                return Err(table.cell_error(
                    w[1],
                    tcol,
                    format!(
                        "series '{id}': time '{}' appears twice (lines {} and {}); keep one row per id and time",
                        table.columns[tcol][w[1]],
                        table.line(w[0]),
                        table.line(w[1])
                    ),
                ));
            }
            let sub = RawTable {
                path: table.path.clone(),
                headers: vec![table.headers[tcol].clone(), table.headers[ycol].clone()],
                columns: vec![
                    idx.iter()
                        .map(|&r| table.columns[tcol][r].clone())
                        .collect(),
                    idx.iter()
                        .map(|&r| table.columns[ycol][r].clone())
                        .collect(),
                ],
                n_rows: idx.len(),
                delimiter: table.delimiter,
                lines: idx.iter().map(|&r| table.line(r)).collect(),
            };
            let cols = SeriesColumns {
                time: table.headers[tcol].clone(),
                targets: vec![table.headers[ycol].clone()],
                exog: Vec::new(),
                fill: columns.fill,
            };
            let mut s = Series::from_table(&sub, &cols).map_err(|e| name_id(&id, e))?;
            s.source = format!("{} ({} {id})", table.path.display(), table.headers[icol]);
            if let Some(first) = series.first()
                && (first.series.step != s.step || first.series.kind != s.kind)
            {
                return Err(Error::InvalidData(format!(
                    "{}: series '{id}' has a time step of {}, series '{}' one of {}; a panel needs one step",
                    table.path.display(),
                    s.step.describe(),
                    first.id,
                    first.series.step.describe()
                )));
            }
            series.push(PanelSeries { id, series: s });
        }
        Ok(Panel {
            source: table.path.display().to_string(),
            id_column: table.headers[icol].clone(),
            series,
        })
    }

    /// The panel with every series cut to its first `len(id)` observed steps.
    pub fn truncated(&self, len: impl Fn(&PanelSeries) -> usize) -> Panel {
        Panel {
            source: self.source.clone(),
            id_column: self.id_column.clone(),
            series: self
                .series
                .iter()
                .map(|p| PanelSeries {
                    id: p.id.clone(),
                    series: p.series.truncated(len(p)),
                })
                .collect(),
        }
    }
}

/// What the global forecaster keeps per series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SeriesState {
    /// The id.
    pub id: String,
    /// Scaling fitted on the series' training part (transformed units).
    pub scaler: SeriesScaler,
    /// Season detected on the series' training part (1 if none).
    pub season: usize,
    /// Observed steps in the training part.
    pub train_len: usize,
    /// Observed steps in the validation part.
    pub val_len: usize,
}

/// What a global forecaster knows besides its weights (stored as JSON in the model file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GlobalMeta {
    /// Where the training data came from.
    pub source: String,
    /// The id column.
    pub id_column: String,
    /// The time column.
    pub time_column: String,
    /// What the time column holds.
    pub time_kind: TimeKind,
    /// Step between observations.
    pub step: Step,
    /// The target column.
    pub target: String,
    /// Delay and dimension.
    pub embedding: Embedding,
    /// Trained horizon.
    pub horizon: usize,
    /// Multi-step strategy.
    pub strategy: Strategy,
    /// Window normalization.
    pub normalize: Normalize,
    /// Target transform before scaling.
    pub transform: Transform,
    /// The panel's season (the most common among the series, or given).
    pub season: usize,
    /// Per-series state, in the order of the training data.
    pub series: Vec<SeriesState>,
    /// Pooled calibration errors in scaled units, `[step - 1][score]`.
    pub residuals: Vec<Vec<f64>>,
}

impl GlobalMeta {
    /// Steps per network call.
    pub fn block(&self) -> usize {
        self.strategy.block(self.horizon)
    }

    /// The network row layout (one channel, no exogenous features).
    pub fn layout(&self) -> SequenceLayout {
        let block = self.block();
        SequenceLayout {
            channels: 1,
            window: self.embedding.dim,
            exog: 0,
            horizon: block,
        }
    }

    /// The state of series `id`.
    pub fn state(&self, id: &str) -> Option<&SeriesState> {
        self.series.iter().find(|s| s.id == id)
    }
}

/// One network for every series of a panel, plus the per-series scaling.
#[derive(Debug, Clone)]
pub struct GlobalForecaster {
    /// The trained network with its model-file metadata.
    pub model: Model,
    /// Forecasting metadata.
    pub meta: GlobalMeta,
}

/// [`ForecastSettings::default`] with the direct strategy: one head per horizon step, which
/// forecast the panel of docs/forecasting/GLOBAL.md better than the recursive default of a
/// single series (no errors fed back through a network shared by unlike series).
pub fn default_settings() -> ForecastSettings {
    ForecastSettings {
        strategy: Strategy::Direct,
        ..ForecastSettings::default()
    }
}

/// The most common value (ties: the smallest); 1 for none.
fn mode(values: &[usize]) -> usize {
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for &v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(1, |(v, _)| v)
}

/// The transformed and scaled first `len` values of a series.
fn scaled_history(series: &Series, len: usize, transform: Transform, s: &SeriesScaler) -> Vec<f64> {
    series.targets[0].values[..len]
        .iter()
        .map(|&v| s.apply(transform.apply(v)))
        .collect()
}

impl GlobalForecaster {
    /// Fits one network on the pooled windows of every series of `panel` (see the module
    /// documentation). Uses `horizon`, `lags`, `strategy`, `normalize`, `season`, `arch`,
    /// `train`, `val_fraction` and `transform` of `settings`; calendar features and model
    /// selection are not available for panels.
    pub fn fit(panel: &Panel, settings: &ForecastSettings) -> Result<GlobalForecaster> {
        settings.check_horizon_and_validation()?;
        if settings.calendar.is_some_and(|c| c.width() > 0) {
            return Err(Error::config(
                "calendar",
                "calendar features are not available for a panel; use `calendar` none",
            ));
        }
        let Some(first) = panel.series.first() else {
            return Err(Error::InvalidData(format!("{}: no series", panel.source)));
        };
        let transform = settings.transform;
        let normalize = settings.normalize;
        let mut states = Vec::with_capacity(panel.series.len());
        for p in &panel.series {
            let s = &p.series;
            if !s.exog.is_empty() || s.targets.len() != 1 {
                return Err(Error::InvalidData(format!(
                    "series '{}': a panel series has one target and no exogenous columns",
                    p.id
                )));
            }
            let n = s.history_len();
            let val_len = (n as f64 * settings.val_fraction).round() as usize;
            let train_len = n - val_len;
            if train_len < MIN_TRAIN {
                return Err(Error::InvalidData(format!(
                    "{}: series '{}' has {n} observed steps ({train_len} for training); a series needs at least {MIN_TRAIN} training steps",
                    panel.source, p.id
                )));
            }
            let values = &s.targets[0].values[..n];
            if !transform.accepts(values) {
                return Err(Error::config(
                    "transform",
                    format!(
                        "series '{}': the log transform needs positive values; it has some at or below 0",
                        p.id
                    ),
                ));
            }
            let z: Vec<f64> = values[..train_len]
                .iter()
                .map(|&v| transform.apply(v))
                .collect();
            let scaler = SeriesScaler::fit(&z, normalize).map_err(|e| name_id(&p.id, e))?;
            let season = detect_season_for(&values[..train_len], (train_len / 3).min(400), &s.step)
                .unwrap_or(1);
            states.push(SeriesState {
                id: p.id.clone(),
                scaler,
                season,
                train_len,
                val_len,
            });
        }
        let season = match settings.season {
            Some(0) => return Err(Error::config("season", "must be at least 1")),
            Some(s) => s,
            None => mode(&states.iter().map(|s| s.season).collect::<Vec<_>>()),
        };
        let shortest = states
            .iter()
            .map(|s| s.train_len)
            .min()
            .unwrap_or(MIN_TRAIN);
        let embedding = match settings.lags {
            LagSetting::Fixed(e) => {
                if e.tau == 0 || e.dim == 0 {
                    return Err(Error::config("lags", "tau and m must be at least 1"));
                }
                e
            }
            LagSetting::Auto { .. } => Embedding {
                tau: 1,
                dim: (2 * season)
                    .max(2 * settings.horizon)
                    .max(4)
                    .min(shortest / 3),
            },
        };
        let block = settings.strategy.block(settings.horizon);
        let span = embedding.span();
        let meta = GlobalMeta {
            source: panel.source.clone(),
            id_column: panel.id_column.clone(),
            time_column: first.series.time_column.clone(),
            time_kind: first.series.kind,
            step: first.series.step,
            target: first.series.targets[0].name.clone(),
            embedding,
            horizon: settings.horizon,
            strategy: settings.strategy,
            normalize,
            transform,
            season,
            series: states,
            residuals: Vec::new(),
        };
        let layout = meta.layout();
        let mut train = Dataset {
            features: Vec::new(),
            n_features: layout.inputs(),
            targets: Targets::Values {
                values: Vec::new(),
                n_outputs: layout.outputs(),
            },
            weights: None,
        };
        let mut val = train.clone();
        let no_exog = |_: usize| Vec::new();
        for (p, st) in panel.series.iter().zip(&meta.series) {
            let n = p.series.history_len();
            let scaled = scaled_history(&p.series, n, transform, &st.scaler);
            let refs = [scaled.as_slice()];
            let end = st.train_len;
            if end >= span + block {
                let w = make_windows(
                    &refs,
                    embedding,
                    normalize,
                    block,
                    0,
                    &no_exog,
                    span - 1..end - block,
                )?;
                append(&mut train, &w);
            }
            let start = (end - 1).max(span - 1);
            if n > block && start < n - block {
                let w = make_windows(
                    &refs,
                    embedding,
                    normalize,
                    block,
                    0,
                    &no_exog,
                    start..n - block,
                )?;
                append(&mut val, &w);
            }
        }
        let train_rows = train.features.len() / layout.inputs().max(1);
        if train_rows < 8 {
            return Err(Error::InvalidData(format!(
                "{}: the series give {train_rows} training windows of {span} steps plus {block} targets; the global model needs at least 8 (lower the horizon or the lags, or add history)",
                panel.source
            )));
        }
        let spec = settings.arch.forecaster_spec(layout)?;
        let builder = MlpBuilder::regressor()
            .layers(spec.layers)
            .standardize(false)
            .train_config(settings.train.clone());
        let feature_names = (0..embedding.dim)
            .map(|j| {
                format!(
                    "{}[t-{}]",
                    meta.target,
                    (embedding.dim - 1 - j) * embedding.tau
                )
            })
            .collect();
        let output_names: Vec<String> = (1..=block)
            .map(|h| format!("{}[t+{h}]", meta.target))
            .collect();
        let input = InputSchema::Matrix {
            feature_names,
            source: format!("forecast:{}", panel.source),
            value_scale: None,
        };
        let target = TargetEncoder::Standardized {
            mean: vec![0.0; output_names.len()],
            scale: vec![1.0; output_names.len()],
            names: output_names,
        };
        let val_set = (!val.features.is_empty()).then_some(&val);
        let mut session =
            builder.session(&train, val_set, input, target, &[], panel.source.clone())?;
        session.run(&mut NoHooks)?;
        let mut forecaster = GlobalForecaster {
            model: session.into_model(),
            meta,
        };
        forecaster.meta.residuals = forecaster.calibration_scores(panel)?;
        Ok(forecaster)
    }

    /// Scaled errors of rolling-origin forecasts over every series' validation part (its last
    /// 20 training origins when validation has fewer than 2 steps), pooled per horizon step.
    fn calibration_scores(&self, panel: &Panel) -> Result<Vec<Vec<f64>>> {
        let m = &self.meta;
        let span = m.embedding.span();
        let mut scores = vec![Vec::new(); m.horizon];
        for (p, st) in panel.series.iter().zip(&m.series) {
            let n = p.series.history_len();
            let scaled = scaled_history(&p.series, n, m.transform, &st.scaler);
            let start = if st.val_len >= 2 {
                st.train_len - 1
            } else {
                (st.train_len - 1).saturating_sub(20)
            };
            for origin in start.max(span - 1)..n - 1 {
                let steps = m.horizon.min(n - 1 - origin);
                let f = self.roll(&scaled[..=origin], steps)?;
                for (h, (store, p)) in scores.iter_mut().zip(&f).enumerate() {
                    store.push(scaled[origin + 1 + h] - p);
                }
            }
        }
        for s in &mut scores {
            if s.len() > MAX_SCORES {
                let stride = s.len().div_ceil(MAX_SCORES);
                *s = s.iter().step_by(stride).copied().collect();
            }
        }
        Ok(scores)
    }

    /// Point forecast of `steps` in scaled units from a scaled history.
    fn roll(&self, scaled: &[f64], steps: usize) -> Result<Vec<f64>> {
        let m = &self.meta;
        let shape = RollShape {
            embedding: m.embedding,
            normalize: m.normalize,
            block: m.block(),
        };
        let net = &self.model.network;
        let mut point = |x: &[f32], rows: usize| -> Result<Vec<f32>> { Ok(net.predict(x, rows)) };
        let history = vec![scaled.to_vec()];
        let mut out = roll_forward(&history, shape, steps, 1, &|_| Vec::new(), &mut point)?;
        Ok(out.pop().and_then(|mut c| c.pop()).unwrap_or_default())
    }

    /// Forecasts `steps` after the end of every series of `panel` (each id must be one the model
    /// was trained on). Intervals: conformal, residual or none.
    pub fn forecast(
        &self,
        panel: &Panel,
        steps: usize,
        intervals: IntervalMethod,
        level: f64,
    ) -> Result<Vec<(String, Forecast)>> {
        self.check_compatible(panel)?;
        panel
            .series
            .iter()
            .map(|p| {
                let n = p.series.history_len();
                let f = self.forecast_from(&p.id, &p.series, n - 1, steps, intervals, level)?;
                Ok((p.id.clone(), f))
            })
            .collect()
    }

    /// Checks the panel's columns and step against the model's.
    pub fn check_compatible(&self, panel: &Panel) -> Result<()> {
        let m = &self.meta;
        for p in &panel.series {
            let s = &p.series;
            if s.targets.len() != 1 || s.targets[0].name != m.target {
                return Err(Error::InvalidData(format!(
                    "{}: the model forecasts '{}'",
                    s.source, m.target
                )));
            }
            if s.step != m.step || s.kind != m.time_kind {
                return Err(Error::InvalidData(format!(
                    "{}: series '{}' has a time step of {}; the model's is {}",
                    panel.source,
                    p.id,
                    s.step.describe(),
                    m.step.describe()
                )));
            }
        }
        Ok(())
    }

    /// Forecasts `steps` after origin `origin` (the last observed index used) of series `id`.
    pub fn forecast_from(
        &self,
        id: &str,
        series: &Series,
        origin: usize,
        steps: usize,
        intervals: IntervalMethod,
        level: f64,
    ) -> Result<Forecast> {
        let m = &self.meta;
        let st = m.state(id).ok_or_else(|| {
            Error::InvalidData(format!(
                "{}: series '{id}' is not one the model was trained on ({} series from {}); refit with it",
                series.source,
                m.series.len(),
                m.source
            ))
        })?;
        if steps == 0 || steps > MAX_STEPS {
            return Err(Error::config(
                "horizon",
                format!("must be between 1 and {MAX_STEPS}, got {steps}"),
            ));
        }
        let n = series.history_len();
        if origin >= n {
            return Err(Error::InvalidData(format!(
                "series '{id}': forecast origin {origin} is past the history of {n} steps"
            )));
        }
        let span = m.embedding.span();
        if origin + 1 < span {
            return Err(Error::InvalidData(format!(
                "{}: series '{id}' has {} observed steps; the model needs at least {span}",
                series.source,
                origin + 1
            )));
        }
        if !m.transform.accepts(&series.targets[0].values[..=origin]) {
            return Err(Error::InvalidData(format!(
                "series '{id}': the model forecasts the logarithm, and the history has values at or below 0"
            )));
        }
        let scaled = scaled_history(series, origin + 1, m.transform, &st.scaler);
        let point = self.roll(&scaled, steps)?;
        let to_units = |s: f64| m.transform.invert(st.scaler.invert(s));
        let offsets = match intervals {
            IntervalMethod::None => None,
            IntervalMethod::Conformal => Some(conformal_offsets(&m.residuals, steps, level)?),
            IntervalMethod::Residual => Some(residual_offsets(&m.residuals, steps, level)?),
            IntervalMethod::McDropout { .. } => {
                return Err(Error::config(
                    "interval",
                    "MC dropout intervals are not available for a panel model; use conformal",
                ));
            }
        };
        let values = vec![point.iter().map(|&s| to_units(s)).collect()];
        let (lower, upper) = match offsets {
            None => (None, None),
            Some(o) => {
                let lo = point
                    .iter()
                    .zip(&o)
                    .map(|(p, o)| to_units(p + o.0))
                    .collect();
                let hi = point
                    .iter()
                    .zip(&o)
                    .map(|(p, o)| to_units(p + o.1))
                    .collect();
                (Some(vec![lo]), Some(vec![hi]))
            }
        };
        Ok(Forecast {
            times: (1..=steps)
                .map(|k| match series.times.get(origin + k) {
                    Some(&t) => t,
                    None => series.step.advance(series.times[origin], k as i64),
                })
                .collect(),
            values,
            lower,
            upper,
        })
    }

    /// Saves atomically to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut file = self.model.to_tensor_file()?;
        let json = serde_json::to_string(&self.meta)
            .map_err(|e| Error::InvalidData(format!("cannot encode forecast metadata: {e}")))?;
        file.metadata.insert(META_KEY.into(), json);
        file.metadata
            .insert(format!("{META_KEY}_version"), GLOBAL_VERSION.to_string());
        file.write(path)
    }

    /// Whether the model file at `path` holds a global forecaster (errors: unreadable file).
    pub fn is_global_file(path: &Path) -> Result<bool> {
        Ok(TensorFile::read(path)?.metadata.contains_key(META_KEY))
    }

    /// Loads from `path`, with a clear error for a file that is not a global forecaster or whose
    /// metadata does not match its network.
    pub fn load(path: &Path) -> Result<GlobalForecaster> {
        let file = TensorFile::read(path)?;
        let model = Model::from_tensor_file(&file, path)?;
        let bad = |msg: String| Error::format(path, msg);
        let version: u32 = file
            .metadata
            .get(&format!("{META_KEY}_version"))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                bad(
                    "not a panel forecaster; train one with `mlp forecast fit` and an id column"
                        .into(),
                )
            })?;
        if version > GLOBAL_VERSION {
            return Err(bad(format!(
                "panel forecast format version {version} is newer than this mlp understands ({GLOBAL_VERSION}); upgrade mlp"
            )));
        }
        let meta: GlobalMeta = file
            .metadata
            .get(META_KEY)
            .ok_or_else(|| bad(format!("missing the '{META_KEY}' metadata entry")))
            .and_then(|j| {
                serde_json::from_str(j).map_err(|e| bad(format!("corrupt forecast metadata: {e}")))
            })?;
        let max = crate::spec::MAX_WIDTH;
        let sizes_ok = meta.horizon >= 1
            && meta.horizon <= max
            && meta.embedding.tau >= 1
            && meta.embedding.dim >= 1
            && meta.embedding.dim <= max
            && meta.embedding.tau <= max
            && meta.residuals.len() <= meta.horizon;
        let layout_ok = sizes_ok
            && model.network.inputs() == meta.layout().inputs()
            && model.network.outputs() == meta.layout().outputs();
        if !layout_ok
            || meta
                .series
                .iter()
                .any(|s| s.scaler.scale == 0.0 || !s.scaler.scale.is_finite())
        {
            return Err(bad(format!(
                "the panel forecast metadata does not match the network ({} inputs, {} outputs)",
                model.network.inputs(),
                model.network.outputs()
            )));
        }
        Ok(GlobalForecaster { model, meta })
    }
}

/// Appends windows to a dataset.
fn append(d: &mut Dataset, w: &super::window::Windows) {
    d.features.extend_from_slice(&w.x);
    if let Targets::Values { values, .. } = &mut d.targets {
        values.extend_from_slice(&w.y);
    }
}

/// Scores of one method on one series (or their mean over series).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PanelScore {
    /// Stable method key: `global_mlp` or a [`Method::key`].
    pub key: String,
    /// The method as fitted (`seasonal_naive(12)`, `ar(3)`...).
    pub method: String,
    /// Mean absolute scaled error.
    pub mase: f64,
    /// sMAPE (fraction; M4's is 100 times it).
    pub smape: f64,
    /// OWA against Naive2 on the same forecasts.
    pub owa: f64,
    /// Share of true values inside the intervals.
    pub coverage: Option<f64>,
}

/// The backtest of one series.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SeriesBacktest {
    /// The id.
    pub id: String,
    /// Forecast origins scored.
    pub origins: usize,
    /// Observed steps before the test part.
    pub train_len: usize,
    /// Season of the seasonal methods and MASE.
    pub season: usize,
    /// The global MLP first, then the baselines fitted on this series alone.
    pub scores: Vec<PanelScore>,
    /// Methods left out, with the reason.
    pub skipped: Vec<String>,
}

/// The outcome of [`backtest_panel`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PanelBacktest {
    /// Steps per forecast.
    pub horizon: usize,
    /// Interval level.
    pub level: f64,
    /// Per series.
    pub series: Vec<SeriesBacktest>,
    /// Per method: MASE, sMAPE and OWA averaged over the series that have the method, coverage
    /// (the mean of the series' coverages).
    pub aggregate: Vec<PanelScore>,
}

/// Rolling-origin backtest of a global model on a panel: every series' last `test_fraction` is
/// held out; the global network is fitted once on the parts before (never refitted) and
/// forecasts from every `stride`-th origin of each series' test part; the statistical methods of
/// `bt.methods` run per series exactly as [`backtest_methods`] runs them (same origins, same
/// MASE season and Naive2 for OWA). Returns the report and the forecaster fitted before the
/// test.
pub fn backtest_panel(
    panel: &Panel,
    settings: &ForecastSettings,
    bt: &BacktestSettings,
) -> Result<(PanelBacktest, GlobalForecaster)> {
    if !(bt.test_fraction > 0.0 && bt.test_fraction < 0.9) {
        return Err(Error::config(
            "test_fraction",
            format!("must be above 0 and below 0.9, got {}", bt.test_fraction),
        ));
    }
    if bt.stride == 0 {
        return Err(Error::config("stride", "must be at least 1"));
    }
    check_level(bt.level)?;
    let h = settings.horizon;
    let test_len =
        |p: &PanelSeries| (p.series.history_len() as f64 * bt.test_fraction).round() as usize;
    for p in &panel.series {
        if test_len(p) < h {
            return Err(Error::InvalidData(format!(
                "{}: series '{}' has a test part of {} steps, fewer than the horizon {h}; raise `test_fraction` or lower `horizon`",
                panel.source,
                p.id,
                test_len(p)
            )));
        }
    }
    let before = panel.truncated(|p| p.series.history_len() - test_len(p));
    let forecaster = GlobalForecaster::fit(&before, settings)?;
    let mut stat_bt = bt.clone();
    stat_bt.methods = Method::ALL
        .iter()
        .copied()
        .filter(|m| *m != Method::Mlp && (bt.methods.contains(m) || *m == Method::Naive2))
        .collect();
    let mut per_series = Vec::with_capacity(panel.series.len());
    for p in &panel.series {
        let s = &p.series;
        let n = s.history_len();
        let train_len = n - test_len(p);
        let (report, _) = backtest_methods(s, settings, &stat_bt).map_err(|e| name_id(&p.id, e))?;
        let season = report.season;
        let values = &s.targets[0].values;
        let train32: Vec<f32> = values[..train_len].iter().map(|&v| v as f32).collect();
        let (mut truth, mut pred) = (Vec::new(), Vec::new());
        let (mut lo, mut hi, mut covered) = (Vec::new(), Vec::new(), Vec::new());
        let origins: Vec<usize> = (train_len - 1..n - h).step_by(bt.stride).collect();
        for &t in &origins {
            let f = forecaster.forecast_from(&p.id, s, t, h, bt.intervals, bt.level)?;
            let y = &values[t + 1..t + 1 + h];
            truth.extend(y.iter().map(|&v| v as f32));
            pred.extend(f.values[0].iter().map(|&v| v as f32));
            if let (Some(l), Some(u)) = (&f.lower, &f.upper) {
                covered.extend_from_slice(y);
                lo.extend_from_slice(&l[0]);
                hi.extend_from_slice(&u[0]);
            }
        }
        let naive2 = report.scores.iter().find(|r| r.key == "naive2");
        let (m_mase, m_smape) = (mase(&truth, &pred, &train32, season), smape(&truth, &pred));
        let mut scores = vec![PanelScore {
            key: "global_mlp".into(),
            method: "global mlp".into(),
            mase: m_mase,
            smape: m_smape,
            owa: naive2.map_or(f64::NAN, |n2| {
                crate::metrics::forecast::owa(m_smape, m_mase, n2.smape, n2.mase)
            }),
            coverage: (!lo.is_empty()).then(|| coverage(&covered, &lo, &hi)),
        }];
        for r in &report.scores {
            if r.key == "naive2" && !bt.methods.contains(&Method::Naive2) {
                continue;
            }
            scores.push(PanelScore {
                key: r.key.clone(),
                method: r.method.clone(),
                mase: r.mase,
                smape: r.smape,
                owa: r.owa,
                coverage: r.coverage,
            });
        }
        per_series.push(SeriesBacktest {
            id: p.id.clone(),
            origins: origins.len(),
            train_len,
            season,
            scores,
            skipped: report.skipped.clone(),
        });
    }
    let mut aggregate: Vec<PanelScore> = Vec::new();
    let mut keys: Vec<(String, String)> = Vec::new();
    for s in per_series.iter().flat_map(|s| &s.scores) {
        if !keys.iter().any(|k| k.0 == s.key) {
            keys.push((s.key.clone(), s.method.clone()));
        }
    }
    for (key, method) in keys {
        let rows: Vec<&PanelScore> = per_series
            .iter()
            .flat_map(|s| &s.scores)
            .filter(|s| s.key == key)
            .collect();
        let mean = |f: &dyn Fn(&PanelScore) -> f64| {
            rows.iter().map(|r| f(r)).sum::<f64>() / rows.len().max(1) as f64
        };
        let covs: Vec<f64> = rows.iter().filter_map(|r| r.coverage).collect();
        aggregate.push(PanelScore {
            // Names differ per series for fitted methods (ar(3), ar(5)): the family for the mean.
            method: if key == "global_mlp" {
                method
            } else {
                key.clone()
            },
            key,
            mase: mean(&|r| r.mase),
            smape: mean(&|r| r.smape),
            owa: mean(&|r| r.owa),
            coverage: (!covs.is_empty()).then(|| covs.iter().sum::<f64>() / covs.len() as f64),
        });
    }
    Ok((
        PanelBacktest {
            horizon: h,
            level: bt.level,
            series: per_series,
            aggregate,
        },
        forecaster,
    ))
}
