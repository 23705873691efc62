//! A trained forecaster: the network (built by
//! [`ArchConfig::forecaster_spec`](crate::architectures::ArchConfig::forecaster_spec)) plus
//! everything needed to forecast from raw history, saved as one model file.
//!
//! # Fitting
//!
//! 1. The observed history is split in time: the first `1 - val_fraction` is the training part,
//!    the rest validation (early stopping and interval calibration). Scaling of every target
//!    and exogenous series is fitted on the training part only.
//! 2. Lags: given (`tau`, `m`), or chosen on the training part of the first target by
//!    [`choose_lags`] (the delay by the autocorrelation's first zero
//!    crossing or the mutual information's first minimum, `m` by Cao's `E1`); with
//!    [`Normalize::Last`] the analysis runs on first differences, which is what the network
//!    sees. The window is capped at a third of the training part.
//! 3. Windows of every origin whose targets lie in the training part train the network; those
//!    whose targets reach into the validation part validate it.
//! 4. Rolling-origin forecasts over the validation part (every origin, the full horizon) give
//!    the residuals behind [`IntervalMethod::Residual`] intervals, and, divided by the local
//!    scale of the history at their origin ([`local_scale`]), the scores of the
//!    [`IntervalMethod::Conformal`] ones (rescaled by the local scale at the forecast origin).
//!
//! # File
//!
//! The model file of [`crate::model::Model`] (the network, identity input scaling, targets
//! named after the series) with two more metadata entries: `forecast_version` and `forecast`,
//! a JSON [`ForecastMeta`]. Written atomically; `mlp info` reads it as a regression model.

use super::baselines::detect_season_for;
use super::calendar::CalendarFeatures;
use super::intervals::{
    IntervalMethod, check_level, conformal_offsets, local_scale, quantile, residual_offsets,
    scaled_conformal_interval,
};
use super::lags::{LagChoice, choose_lags};
use super::select::{SelectSettings, Selection};
use super::series::{Series, Step, TimeKind};
use super::strategy::{RollShape, Strategy, roll_forward};
use super::window::{Embedding, Normalize, SeriesScaler, make_windows};
use crate::architectures::{ArchConfig, SequenceLayout};
use crate::data::preprocess::TargetEncoder;
use crate::data::{Dataset, Targets};
use crate::estimator::MlpBuilder;
use crate::io::TensorFile;
use crate::kernels::elementwise::Activation;
use crate::layers::GradMode;
use crate::model::{InputSchema, Model};
use crate::network::Workspace;
use crate::rng::Rng;
use crate::train::{NoHooks, TrainConfig};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the `forecast` metadata entry.
pub(crate) const FORECAST_VERSION: u32 = 1;

/// The longest forecast one call produces (a bound on memory for a mistyped horizon).
pub const MAX_STEPS: usize = 100_000;

/// A transform of the target values applied before scaling and inverted after forecasting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Values as they are.
    #[default]
    None,
    /// Natural logarithm (every value must be positive): multiplicative growth and seasonality
    /// become additive, which the `last` normalization then follows.
    Log,
}

impl Transform {
    /// Transformed value.
    pub fn apply(self, y: f64) -> f64 {
        match self {
            Transform::None => y,
            Transform::Log => y.ln(),
        }
    }

    /// Original units.
    pub fn invert(self, z: f64) -> f64 {
        match self {
            Transform::None => z,
            Transform::Log => z.exp(),
        }
    }

    /// Whether `values` are all inside the transform's domain.
    pub fn accepts(self, values: &[f64]) -> bool {
        match self {
            Transform::None => true,
            Transform::Log => values.iter().all(|&v| v > 0.0 && v.is_finite()),
        }
    }
}

/// How the lag embedding is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LagSetting {
    /// By the autocorrelation / mutual information and Cao's method, `m <= max_dim`.
    Auto {
        /// Largest embedding dimension tried.
        max_dim: usize,
    },
    /// As given.
    Fixed(Embedding),
}

/// Everything [`Forecaster::fit`] needs besides the data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ForecastSettings {
    /// Lag embedding.
    pub lags: LagSetting,
    /// Steps ahead the model is trained (and by default asked) to forecast.
    pub horizon: usize,
    /// Recursive or direct.
    pub strategy: Strategy,
    /// Window normalization.
    pub normalize: Normalize,
    /// Calendar one-hots (None: day of week for daily or finer steps, month for steps shorter
    /// than a year, none for numeric time).
    pub calendar: Option<CalendarFeatures>,
    /// Season length for the seasonal baselines and MASE (None: detected, 1 if none).
    pub season: Option<usize>,
    /// Network architecture (hidden stack; the head comes from the layout).
    pub arch: ArchConfig,
    /// Optimizer, epochs, seed, threads...
    pub train: TrainConfig,
    /// Share of the history (the end) held out for validation.
    pub val_fraction: f64,
    /// Target transform before scaling.
    pub transform: Transform,
    /// Automatic model selection and ensembling ([`crate::forecast::select`]); None fits the
    /// single network these settings describe.
    pub selection: Option<SelectSettings>,
}

impl ForecastSettings {
    /// The checks every fit shares: a horizon in `1..=MAX_STEPS` and a validation fraction in
    /// `[0, 0.9)`.
    pub(crate) fn check_horizon_and_validation(&self) -> Result<()> {
        if self.horizon == 0 || self.horizon > MAX_STEPS {
            return Err(Error::config(
                "horizon",
                format!("must be between 1 and {MAX_STEPS}, got {}", self.horizon),
            ));
        }
        if !(0.0..0.9).contains(&self.val_fraction) {
            return Err(Error::config(
                "val_fraction",
                format!("must be in [0, 0.9), got {}", self.val_fraction),
            ));
        }
        Ok(())
    }
}

impl Default for ForecastSettings {
    /// Defaults that forecast well without tuning on series of a few hundred steps: one hidden
    /// layer of 64 ReLU units, Adam at 1e-3, batches of 32, up to 400 epochs with patience 40.
    fn default() -> Self {
        ForecastSettings {
            lags: LagSetting::Auto { max_dim: 12 },
            horizon: 12,
            strategy: Strategy::Recursive,
            normalize: Normalize::Last,
            calendar: None,
            season: None,
            arch: ArchConfig {
                widths: vec![64],
                activation: Activation::Relu,
                ..ArchConfig::default()
            },
            train: TrainConfig {
                epochs: 400,
                batch_size: 32,
                lr: Some(1e-3),
                patience: Some(40),
                weight_decay: 1e-4,
                ..TrainConfig::default()
            },
            val_fraction: 0.15,
            transform: Transform::None,
            selection: None,
        }
    }
}

/// What a forecaster knows besides its weights (stored as JSON in the model file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ForecastMeta {
    /// Where the training data came from.
    pub source: String,
    /// The time column.
    pub time_column: String,
    /// What the time column holds.
    pub time_kind: TimeKind,
    /// Step between observations.
    pub step: Step,
    /// Target series, in channel order.
    pub targets: Vec<String>,
    /// Known exogenous columns.
    pub exog: Vec<String>,
    /// Delay and dimension.
    pub embedding: Embedding,
    /// Trained horizon.
    pub horizon: usize,
    /// Multi-step strategy.
    pub strategy: Strategy,
    /// Window normalization.
    pub normalize: Normalize,
    /// Scaling per target, fitted on the training part.
    pub scalers: Vec<SeriesScaler>,
    /// Scaling per exogenous column, fitted on the training part.
    pub exog_scalers: Vec<SeriesScaler>,
    /// Calendar one-hots per predicted step.
    pub calendar: CalendarFeatures,
    /// The automatic lag choice with Cao's `E1`/`E2` (None when lags were given).
    pub lag_choice: Option<LagChoice>,
    /// Season length used by the seasonal baselines and MASE.
    pub season: usize,
    /// Observed steps in the training part.
    pub train_len: usize,
    /// Observed steps in the validation part.
    pub val_len: usize,
    /// Dropout probability of the network (MC dropout needs it above 0).
    pub dropout: f32,
    /// Validation residuals `y - ŷ` in original units, `[target][step - 1]`.
    pub residuals: Vec<Vec<Vec<f64>>>,
    /// The same errors divided by the local scale of the history at their origin
    /// ([`local_scale`] with this `season`): the conformal scores, `[target][step - 1]`. Files
    /// without them make conformal intervals from the raw residuals.
    #[serde(default)]
    pub scaled_residuals: Vec<Vec<Vec<f64>>>,
    /// Target transform before scaling (files without it: none).
    #[serde(default)]
    pub transform: Transform,
    /// The model selection behind this forecaster: the validation table and the members whose
    /// forecasts are averaged (files without it: the network alone).
    #[serde(default)]
    pub selection: Option<Selection>,
}

impl ForecastMeta {
    /// Exogenous features per predicted step.
    pub fn exog_width(&self) -> usize {
        self.calendar.width() + self.exog.len()
    }

    /// Steps per network call.
    pub fn block(&self) -> usize {
        self.strategy.block(self.horizon)
    }

    /// The network row layout.
    pub fn layout(&self) -> SequenceLayout {
        let block = self.block();
        SequenceLayout {
            channels: self.targets.len(),
            window: self.embedding.dim,
            exog: self.exog_width() * block,
            horizon: block,
        }
    }
}

/// A forecast from one origin, in original units.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Forecast {
    /// Time keys of the forecast steps.
    pub times: Vec<f64>,
    /// Point forecasts `[target][step]`.
    pub values: Vec<Vec<f64>>,
    /// Lower interval bounds `[target][step]` (when intervals were asked for).
    pub lower: Option<Vec<Vec<f64>>>,
    /// Upper interval bounds.
    pub upper: Option<Vec<Vec<f64>>>,
}

/// Network plus forecasting metadata.
#[derive(Debug, Clone)]
pub struct Forecaster {
    /// The trained network with its model-file metadata.
    pub model: Model,
    /// Forecasting metadata.
    pub meta: ForecastMeta,
}

/// Calendar one-hots that suit a time axis.
pub fn auto_calendar(kind: TimeKind, step: Step) -> CalendarFeatures {
    match (kind, step) {
        (TimeKind::Number, _) => CalendarFeatures::default(),
        (_, Step::Seconds(_)) | (_, Step::Days(1)) => CalendarFeatures {
            day_of_week: true,
            month: true,
        },
        (_, Step::Days(_)) => CalendarFeatures {
            day_of_week: false,
            month: true,
        },
        (_, Step::Months(m)) if m < 12 && 12 % m == 0 => CalendarFeatures {
            day_of_week: false,
            month: true,
        },
        _ => CalendarFeatures::default(),
    }
}

/// The time key of grid index `i` of `series` (beyond its rows: extrapolated by its step).
fn time_key(series: &Series, i: usize) -> f64 {
    match series.times.get(i) {
        Some(&k) => k,
        None => {
            let last = series.times.len() - 1;
            series.step.advance(series.times[last], (i - last) as i64)
        }
    }
}

impl Forecaster {
    /// Fits on the observed history of `series` (see the module documentation); with
    /// `settings.selection`, selects and combines candidates by rolling-origin validation
    /// ([`crate::forecast::select::fit_selected`]).
    pub fn fit(series: &Series, settings: &ForecastSettings) -> Result<Forecaster> {
        match &settings.selection {
            Some(sel) => super::select::fit_selected(series, settings, sel),
            None => Forecaster::fit_single(series, settings),
        }
    }

    /// Fits the one network `settings` describe (`settings.selection` is ignored).
    pub fn fit_single(series: &Series, settings: &ForecastSettings) -> Result<Forecaster> {
        let n = series.history_len();
        settings.check_horizon_and_validation()?;
        let val_len = (n as f64 * settings.val_fraction).round() as usize;
        let train_end = n - val_len;
        if train_end < 20 {
            return Err(Error::InvalidData(format!(
                "{}: the training part has {train_end} steps; forecasting needs at least 20",
                series.source
            )));
        }
        let normalize = settings.normalize;
        let transform = settings.transform;
        if let Some(c) = series
            .targets
            .iter()
            .find(|c| !transform.accepts(&c.values[..n]))
        {
            return Err(Error::config(
                "transform",
                format!(
                    "{}: the log transform needs positive values; '{}' has some at or below 0",
                    series.source, c.name
                ),
            ));
        }
        let scalers = series
            .targets
            .iter()
            .map(|c| {
                let z: Vec<f64> = c.values[..train_end]
                    .iter()
                    .map(|&v| transform.apply(v))
                    .collect();
                SeriesScaler::fit(&z, normalize)
            })
            .collect::<Result<Vec<_>>>()?;
        let exog_scalers = series
            .exog
            .iter()
            .map(|c| SeriesScaler::fit(&c.values[..train_end], Normalize::Global))
            .collect::<Result<Vec<_>>>()?;
        let first = &series.targets[0].values[..train_end];
        let first_z: Vec<f64> = first.iter().map(|&v| transform.apply(v)).collect();
        let (mut embedding, lag_choice) = match settings.lags {
            LagSetting::Fixed(e) => {
                if e.tau == 0 || e.dim == 0 {
                    return Err(Error::config("lags", "tau and m must be at least 1"));
                }
                (e, None)
            }
            LagSetting::Auto { max_dim } => {
                let analysed: Vec<f64> = match normalize {
                    Normalize::Last => first_z.windows(2).map(|w| w[1] - w[0]).collect(),
                    Normalize::Global => first_z.clone(),
                };
                let choice = choose_lags(&analysed, max_dim.max(1))?;
                (
                    Embedding {
                        tau: choice.tau,
                        dim: choice.dim,
                    },
                    Some(choice),
                )
            }
        };
        let block = settings.strategy.block(settings.horizon);
        let max_span = (train_end / 3).max(1);
        if embedding.span() > max_span {
            if lag_choice.is_none() {
                return Err(Error::config(
                    "lags",
                    format!(
                        "a window of {} steps leaves too few training windows in {train_end} steps; at most {max_span}",
                        embedding.span()
                    ),
                ));
            }
            embedding.tau = embedding.tau.min(max_span);
            while embedding.dim > 1 && embedding.span() > max_span {
                embedding.dim -= 1;
            }
        }
        let season = match settings.season {
            Some(0) => return Err(Error::config("season", "must be at least 1")),
            Some(s) => s,
            None => detect_season_for(first, (train_end / 3).min(400), &series.step).unwrap_or(1),
        };
        let calendar = settings
            .calendar
            .unwrap_or_else(|| auto_calendar(series.kind, series.step));
        if series.kind == TimeKind::Number && calendar.width() > 0 {
            return Err(Error::config(
                "calendar",
                format!(
                    "the time column '{}' holds numbers, not dates; calendar features need dates",
                    series.time_column
                ),
            ));
        }
        let meta = ForecastMeta {
            source: series.source.clone(),
            time_column: series.time_column.clone(),
            time_kind: series.kind,
            step: series.step,
            targets: series.targets.iter().map(|c| c.name.clone()).collect(),
            exog: series.exog.iter().map(|c| c.name.clone()).collect(),
            embedding,
            horizon: settings.horizon,
            strategy: settings.strategy,
            normalize,
            scalers,
            exog_scalers,
            calendar,
            lag_choice,
            season,
            train_len: train_end,
            val_len,
            dropout: settings.arch.dropout,
            residuals: Vec::new(),
            scaled_residuals: Vec::new(),
            transform,
            selection: None,
        };
        let scaled = scale_targets(&meta, series, n);
        let refs: Vec<&[f64]> = scaled.iter().map(Vec::as_slice).collect();
        let exog_at = |i: usize| exog_features(&meta, series, i).unwrap_or_default();
        let width = meta.exog_width();
        let span = embedding.span();
        if train_end < span + block + 8 {
            return Err(Error::InvalidData(format!(
                "{}: {train_end} training steps give fewer than 8 windows of {span} steps plus {block} targets",
                series.source
            )));
        }
        let train_w = make_windows(
            &refs,
            embedding,
            normalize,
            block,
            width,
            &exog_at,
            span - 1..train_end - block,
        )?;
        let val_origins = (train_end - 1).max(span - 1)..n.saturating_sub(block);
        let val_w = make_windows(
            &refs,
            embedding,
            normalize,
            block,
            width,
            &exog_at,
            val_origins,
        )?;
        let to_dataset = |w: &super::window::Windows| Dataset {
            features: w.x.clone(),
            n_features: w.layout.inputs(),
            targets: Targets::Values {
                values: w.y.clone(),
                n_outputs: w.layout.outputs(),
            },
            weights: None,
        };
        let layout = meta.layout();
        let spec = settings.arch.forecaster_spec(layout)?;
        let builder = MlpBuilder::regressor()
            .layers(spec.layers)
            .standardize(false)
            .train_config(settings.train.clone());
        let mut feature_names = Vec::new();
        for t in &meta.targets {
            for j in 0..embedding.dim {
                let back = (embedding.dim - 1 - j) * embedding.tau;
                feature_names.push(format!("{t}[t-{back}]"));
            }
        }
        let step_names: Vec<String> = meta
            .calendar
            .names()
            .into_iter()
            .chain(meta.exog.iter().cloned())
            .collect();
        for h in 1..=block {
            feature_names.extend(step_names.iter().map(|s| format!("{s}[t+{h}]")));
        }
        let output_names: Vec<String> = meta
            .targets
            .iter()
            .flat_map(|t| (1..=block).map(move |h| format!("{t}[t+{h}]")))
            .collect();
        let input = InputSchema::Matrix {
            feature_names,
            source: format!("forecast:{}", series.source),
            value_scale: None,
        };
        let target = TargetEncoder::Standardized {
            mean: vec![0.0; output_names.len()],
            scale: vec![1.0; output_names.len()],
            names: output_names,
        };
        let val_set = (!val_w.origins.is_empty()).then(|| to_dataset(&val_w));
        let mut session = builder.session(
            &to_dataset(&train_w),
            val_set.as_ref(),
            input,
            target,
            &[],
            series.source.clone(),
        )?;
        session.run(&mut NoHooks)?;
        let mut forecaster = Forecaster {
            model: session.into_model(),
            meta,
        };
        let (raw, scaled) = forecaster.calibration_residuals(series, n)?;
        forecaster.meta.residuals = raw;
        forecaster.meta.scaled_residuals = scaled;
        Ok(forecaster)
    }

    /// Residuals of rolling-origin forecasts over the validation part (the last 50 training
    /// origins when validation has fewer than 5 steps), raw and divided by the local scale at
    /// their origin.
    #[allow(clippy::type_complexity)]
    pub(crate) fn calibration_residuals(
        &self,
        series: &Series,
        n: usize,
    ) -> Result<(Vec<Vec<Vec<f64>>>, Vec<Vec<Vec<f64>>>)> {
        let m = &self.meta;
        let span = m.embedding.span();
        let start = if m.val_len >= 5 {
            m.train_len - 1
        } else {
            (m.train_len - 1).saturating_sub(50).max(span - 1)
        };
        let mut residuals = vec![vec![Vec::new(); m.horizon]; m.targets.len()];
        let mut scaled = residuals.clone();
        for origin in start.max(span - 1)..n - 1 {
            let steps = m.horizon.min(n - 1 - origin);
            let f = self.forecast_from(series, origin, steps, IntervalMethod::None, 0.9, 0)?;
            for (c, col) in series.targets.iter().enumerate() {
                let truth = &col.values[origin + 1..origin + 1 + steps];
                let scale = local_scale(&col.values[..=origin], m.season);
                for (k, (y, p)) in truth.iter().zip(&f.values[c]).enumerate() {
                    residuals[c][k].push(y - p);
                    scaled[c][k].push((y - p) / scale);
                }
            }
        }
        Ok((residuals, scaled))
    }

    /// Forecasts `steps` ahead of the end of the observed history of `series` (future rows
    /// supply known exogenous values).
    pub fn forecast(
        &self,
        series: &Series,
        steps: usize,
        intervals: IntervalMethod,
        level: f64,
        seed: u64,
    ) -> Result<Forecast> {
        self.check_compatible(series)?;
        let n = series.history_len();
        self.forecast_from(series, n - 1, steps, intervals, level, seed)
    }

    /// Checks that `series` has this forecaster's columns and step.
    pub fn check_compatible(&self, series: &Series) -> Result<()> {
        let names = |cols: &[super::series::Column]| -> Vec<String> {
            cols.iter().map(|c| c.name.clone()).collect()
        };
        if names(&series.targets) != self.meta.targets || names(&series.exog) != self.meta.exog {
            return Err(Error::InvalidData(format!(
                "{}: the model forecasts {:?} with exogenous {:?}; the data has {:?} and {:?}",
                series.source,
                self.meta.targets,
                self.meta.exog,
                names(&series.targets),
                names(&series.exog)
            )));
        }
        if series.step != self.meta.step || series.kind != self.meta.time_kind {
            return Err(Error::InvalidData(format!(
                "{}: time step {} differs from the model's {}",
                series.source,
                series.step.describe(),
                self.meta.step.describe()
            )));
        }
        Ok(())
    }

    /// Forecasts `steps` ahead of origin `origin` (the last observed index used) of `series`.
    /// Exogenous values after the origin come from the series (they are known in advance).
    pub fn forecast_from(
        &self,
        series: &Series,
        origin: usize,
        steps: usize,
        intervals: IntervalMethod,
        level: f64,
        seed: u64,
    ) -> Result<Forecast> {
        let m = &self.meta;
        if steps == 0 || steps > MAX_STEPS {
            return Err(Error::config(
                "horizon",
                format!("must be between 1 and {MAX_STEPS}, got {steps}"),
            ));
        }
        if origin >= series.history_len() {
            return Err(Error::InvalidData(format!(
                "forecast origin {origin} is past the history of {} steps",
                series.history_len()
            )));
        }
        let block = m.block();
        let padded = steps.div_ceil(block) * block;
        let mut exog_rows = Vec::with_capacity(padded);
        for k in 1..=padded {
            let row = match exog_features(m, series, origin + k) {
                Some(r) => r,
                None if k > steps => exog_rows.last().cloned().unwrap_or_default(),
                None => {
                    return Err(Error::InvalidData(format!(
                        "{}: forecasting {steps} steps needs the future values of the exogenous column(s) {}; add {} row(s) after the history with the target left empty",
                        series.source,
                        m.exog.join(", "),
                        origin + steps + 1 - series.exog[0].values.len()
                    )));
                }
            };
            exog_rows.push(row);
        }
        let exog_future = |k: usize| exog_rows[k - 1].clone();
        if let Some(c) = series
            .targets
            .iter()
            .find(|c| !m.transform.accepts(&c.values[..=origin]))
        {
            return Err(Error::InvalidData(format!(
                "{}: the model forecasts the logarithm of '{}', whose history has values at or below 0",
                series.source, c.name
            )));
        }
        let history = scale_targets(m, series, origin + 1);
        let shape = RollShape {
            embedding: m.embedding,
            normalize: m.normalize,
            block,
        };
        let net = &self.model.network;
        let mut point = |x: &[f32], rows: usize| -> Result<Vec<f32>> { Ok(net.predict(x, rows)) };
        let scaled = roll_forward(&history, shape, steps, 1, &exog_future, &mut point)?;
        let invert = |c: usize, v: &[f64]| -> Vec<f64> {
            v.iter()
                .map(|&s| m.transform.invert(m.scalers[c].invert(s)))
                .collect()
        };
        let mut values: Vec<Vec<f64>> = scaled[0]
            .iter()
            .enumerate()
            .map(|(c, v)| invert(c, v))
            .collect();
        if let Some(sel) = &m.selection {
            values = sel.combine(values, series, origin, steps);
        }
        let (lower, upper) = match intervals {
            IntervalMethod::None => (None, None),
            IntervalMethod::Residual | IntervalMethod::Conformal => {
                let mut lo = Vec::new();
                let mut hi = Vec::new();
                for (c, v) in values.iter().enumerate() {
                    let scores = m.scaled_residuals.get(c).filter(|r| !r.is_empty());
                    if let (IntervalMethod::Conformal, Some(scores)) = (intervals, scores) {
                        let scale = local_scale(&series.targets[c].values[..=origin], m.season);
                        let (l, u) = scaled_conformal_interval(v, scores, scale, level)?;
                        lo.push(l);
                        hi.push(u);
                        continue;
                    }
                    let stored = m.residuals.get(c).map_or(&[][..], Vec::as_slice);
                    let offsets = if intervals == IntervalMethod::Conformal {
                        conformal_offsets(stored, steps, level)?
                    } else {
                        residual_offsets(stored, steps, level)?
                    };
                    lo.push(v.iter().zip(&offsets).map(|(p, o)| p + o.0).collect());
                    hi.push(v.iter().zip(&offsets).map(|(p, o)| p + o.1).collect());
                }
                (Some(lo), Some(hi))
            }
            IntervalMethod::McDropout { samples } => {
                check_level(level)?;
                if m.selection.as_ref().is_some_and(|s| !s.network_only()) {
                    return Err(Error::config(
                        "interval",
                        "MC dropout intervals need a forecaster that is the network alone; this one averages several models (fit with `models` mlp and no ensemble), or use conformal intervals",
                    ));
                }
                if m.dropout <= 0.0 {
                    return Err(Error::config(
                        "interval",
                        "MC dropout intervals need a model trained with `dropout` above 0 (e.g. 0.1)",
                    ));
                }
                let mc = net.with_grad_mode(GradMode::McDropout);
                let mut ws = Workspace::new();
                let mut rng = Rng::seed_from(seed ^ 0x4D43_D80F);
                let mut sample = |x: &[f32], rows: usize| -> Result<Vec<f32>> {
                    Ok(mc
                        .forward_train(&mc.params, x, rows, &mut ws, &mut rng)
                        .to_vec())
                };
                let paths =
                    roll_forward(&history, shape, steps, samples, &exog_future, &mut sample)?;
                let (ql, qu) = ((1.0 - level) / 2.0, (1.0 + level) / 2.0);
                let mut lo = vec![Vec::with_capacity(steps); m.targets.len()];
                let mut hi = lo.clone();
                for c in 0..m.targets.len() {
                    for h in 0..steps {
                        let draws: Vec<f64> = paths
                            .iter()
                            .map(|p| m.transform.invert(m.scalers[c].invert(p[c][h])))
                            .collect();
                        lo[c].push(quantile(&draws, ql));
                        hi[c].push(quantile(&draws, qu));
                    }
                }
                (Some(lo), Some(hi))
            }
        };
        Ok(Forecast {
            times: (1..=steps).map(|k| time_key(series, origin + k)).collect(),
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
        file.metadata.insert("forecast".into(), json);
        file.metadata
            .insert("forecast_version".into(), FORECAST_VERSION.to_string());
        file.write(path)
    }

    /// Loads from `path`, with a clear error for a missing, truncated, corrupt or non-forecaster
    /// file.
    pub fn load(path: &Path) -> Result<Forecaster> {
        let file = TensorFile::read(path)?;
        let model = Model::from_tensor_file(&file, path)?;
        let bad = |msg: String| Error::format(path, msg);
        let version: u32 = file
            .metadata
            .get("forecast_version")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                bad(
                    "not a forecaster (no forecast metadata); train one with `mlp forecast fit`"
                        .into(),
                )
            })?;
        if version > FORECAST_VERSION {
            return Err(bad(format!(
                "forecast format version {version} is newer than this mlp understands ({FORECAST_VERSION}); upgrade mlp"
            )));
        }
        let meta: ForecastMeta = file
            .metadata
            .get("forecast")
            .ok_or_else(|| bad("missing the 'forecast' metadata entry".into()))
            .and_then(|j| {
                serde_json::from_str(j).map_err(|e| bad(format!("corrupt forecast metadata: {e}")))
            })?;
        check_meta_sizes(&meta).map_err(bad)?;
        let layout = meta.layout();
        let net = &model.network;
        if meta.targets.is_empty()
            || meta.scalers.len() != meta.targets.len()
            || meta.exog_scalers.len() != meta.exog.len()
            || meta.residuals.len() > meta.targets.len()
            || meta.scaled_residuals.len() > meta.targets.len()
            || net.inputs() != layout.inputs()
            || net.outputs() != layout.outputs()
            || meta.embedding.tau == 0
            || meta.embedding.dim == 0
            || meta
                .scalers
                .iter()
                .any(|s| s.scale == 0.0 || !s.scale.is_finite())
        {
            return Err(bad(format!(
                "the forecast metadata does not match the network ({} inputs, {} outputs)",
                net.inputs(),
                net.outputs()
            )));
        }
        Ok(Forecaster { model, meta })
    }
}

/// Bounds every size in loaded forecast metadata before anything uses it: each within
/// [`crate::spec::MAX_WIDTH`], and the network layout computed with checked arithmetic, so an
/// edited file (`horizon: 100000000000`) is an error rather than an overflow or a huge allocation.
fn check_meta_sizes(meta: &ForecastMeta) -> std::result::Result<(), String> {
    let max = crate::spec::MAX_WIDTH;
    for (field, v) in [
        ("horizon", meta.horizon),
        ("embedding.tau", meta.embedding.tau),
        ("embedding.dim", meta.embedding.dim),
        ("season", meta.season),
        ("targets", meta.targets.len()),
        ("exog", meta.exog.len()),
    ] {
        if v > max {
            return Err(format!(
                "forecast metadata field {field} = {v} is beyond the limit of {max}"
            ));
        }
    }
    let block = meta.block();
    let exog = meta.exog_width().checked_mul(block);
    let inputs = meta
        .targets
        .len()
        .checked_mul(meta.embedding.dim)
        .zip(exog)
        .and_then(|(a, b)| a.checked_add(b));
    let outputs = meta.targets.len().checked_mul(block);
    let history = meta
        .embedding
        .dim
        .saturating_sub(1)
        .checked_mul(meta.embedding.tau);
    if inputs.is_none_or(|n| n > max) || outputs.is_none_or(|n| n > max) || history.is_none() {
        return Err("forecast metadata sizes overflow the network layout".into());
    }
    if meta
        .residuals
        .iter()
        .chain(&meta.scaled_residuals)
        .any(|r| r.len() > meta.horizon)
    {
        return Err("forecast residuals do not match the horizon".into());
    }
    if let Some(sel) = &meta.selection {
        sel.check(meta.targets.len())?;
    }
    Ok(())
}

/// Targets `[c][..len]` scaled by the forecaster's scalers.
fn scale_targets(meta: &ForecastMeta, series: &Series, len: usize) -> Vec<Vec<f64>> {
    series
        .targets
        .iter()
        .zip(&meta.scalers)
        .map(|(c, s)| {
            c.values[..len]
                .iter()
                .map(|&v| s.apply(meta.transform.apply(v)))
                .collect()
        })
        .collect()
}

/// Exogenous features of grid index `i` (None when a known exogenous value is missing).
fn exog_features(meta: &ForecastMeta, series: &Series, i: usize) -> Option<Vec<f32>> {
    let mut row = meta.calendar.features(time_key(series, i));
    for (col, sc) in series.exog.iter().zip(&meta.exog_scalers) {
        row.push(sc.apply(*col.values.get(i)?) as f32);
    }
    Some(row)
}
