//! Rolling-origin (walk-forward) backtests: the model and the statistical methods forecast from
//! the same origins over a held-out test part at the end of the series, and are scored on the
//! same values.
//!
//! Procedure: the last `test_fraction` of the observed history is the test part. From every
//! `stride`-th origin `t` (the last observed step) in the test part, each method forecasts `H`
//! steps from the history up to `t`; only origins whose whole horizon is observed count, so every
//! method is scored on exactly the same `(origin, step)` pairs.
//!
//! Methods ([`Method`], all by default): the MLP forecaster, naive, seasonal naive, drift,
//! AR(p) (order `ar_order`, or chosen on a validation tail of each fit), ETS, Theta and Naive2
//! (see [`super::baselines`]).
//!
//! **Refits** ([`Refit`]): every method is first fitted on the part before the test. `Every(n)`
//! refits it on the history up to the origin at every `n`-th test origin, `Never` keeps the
//! first fit (a deployed model that sees new history without retraining). The default refits the
//! statistical methods at every origin (they fit in milliseconds) and never the MLP (a refit is a
//! full training).
//!
//! **Intervals.** One rule for every method, the forecaster's (`intervals`): with the default
//! conformal intervals, per horizon step `k`, the scores are the step-`k` errors of earlier
//! forecasts divided by the local scale of the history at their origin
//! ([`super::intervals::local_scale`]) and the half-width at origin `t` is their
//! finite-sample conformal quantile times the local scale at `t`; `residual` intervals use the
//! raw signed errors' `(1∓level)/2` quantiles. The MLP's scores come from its selection's
//! validation tail (see [`super::select`]). The statistical methods' come from their own
//! rolling-origin forecasts: the same methods also forecast from every origin of a calibration
//! stretch at the end of the training part (`val_fraction` of it, at least `H` origins), and at
//! test origin `t` the errors of all earlier forecasts whose target `o + k ≤ t` is already
//! observed count (calibration and earlier test origins alike), so no interval uses a value
//! after its origin. Coverage is thus comparable between methods.
//!
//! Scores per target and method: RMSE, MAE, MAPE, SMAPE (M4's sMAPE as a fraction), R² over all
//! pairs, MASE scaled by the in-sample seasonal-naive error of the training part, OWA against
//! Naive2 on the same pairs (Naive2 is always run for it, listed or not), the mean absolute
//! relative error of the horizon totals ("cumulative" error), and where a method has intervals
//! their empirical coverage and mean width.

use super::baselines::{Baseline, FittedBaseline, detect_season_for};
use super::forecaster::{ForecastSettings, Forecaster};
use super::intervals::{
    IntervalMethod, coverage, local_scale, residual_offsets, scaled_conformal_interval,
};
use super::series::Series;
use crate::metrics::forecast::{cumulative_totals, mase, owa, smape_m4};
use crate::metrics::{mae, mape, r2, rmse, smape};
use crate::{Error, Result};
use serde::Serialize;

/// A method a backtest can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The MLP forecaster.
    Mlp,
    /// Last value.
    Naive,
    /// Value one season back.
    SeasonalNaive,
    /// Line through the first and last value.
    Drift,
    /// AR(p) by least squares.
    Ar,
    /// Exponential smoothing chosen by AICc.
    Ets,
    /// The Theta method.
    Theta,
    /// Naive on the seasonally adjusted series.
    Naive2,
}

impl Method {
    /// Every method, in report order.
    pub const ALL: [Method; 8] = [
        Method::Mlp,
        Method::Naive,
        Method::SeasonalNaive,
        Method::Drift,
        Method::Ar,
        Method::Ets,
        Method::Theta,
        Method::Naive2,
    ];

    /// The stable name used by `--models` and the `key` of a score: `mlp`, `naive`, `snaive`,
    /// `drift`, `ar`, `ets`, `theta`, `naive2`.
    pub fn key(self) -> &'static str {
        match self {
            Method::Mlp => "mlp",
            Method::Naive => "naive",
            Method::SeasonalNaive => "snaive",
            Method::Drift => "drift",
            Method::Ar => "ar",
            Method::Ets => "ets",
            Method::Theta => "theta",
            Method::Naive2 => "naive2",
        }
    }

    /// Parses a comma-separated list of keys (`seasonal_naive` is accepted for `snaive`; `all`
    /// for every method); duplicates are dropped, the report keeps [`Method::ALL`]'s order.
    pub fn parse_list(text: &str) -> Result<Vec<Method>> {
        let mut chosen = Vec::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let w = word.to_ascii_lowercase().replace('-', "_");
            if w == "all" {
                chosen.extend(Method::ALL);
                continue;
            }
            let m = match w.as_str() {
                "seasonal_naive" | "snaive" => Method::SeasonalNaive,
                other => *Method::ALL.iter().find(|m| m.key() == other).ok_or_else(|| {
                    Error::config(
                        "models",
                        format!(
                            "unknown '{word}'; one of mlp, naive, snaive, drift, ar, ets, theta, naive2, all"
                        ),
                    )
                })?,
            };
            chosen.push(m);
        }
        if chosen.is_empty() {
            return Err(Error::config("models", "name at least one method"));
        }
        Ok(Method::ALL
            .into_iter()
            .filter(|m| chosen.contains(m))
            .collect())
    }
}

/// When the methods are refitted during a backtest (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refit {
    /// At every `n`-th test origin (`n ≥ 1`).
    Every(usize),
    /// Never: the fit on the part before the test is kept.
    Never,
}

impl Refit {
    /// Parses `every`, `none` (or `never`) or a whole number `N ≥ 1`; `auto` is `None`, the
    /// default (statistical methods every origin, the MLP never).
    pub fn parse(text: &str) -> Result<Option<Refit>> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" | "default" => Ok(None),
            "every" | "always" => Ok(Some(Refit::Every(1))),
            "none" | "never" => Ok(Some(Refit::Never)),
            other => match other.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Some(Refit::Every(n))),
                _ => Err(Error::config(
                    "refit",
                    format!("expected every, none, auto or a number of origins >= 1, got '{text}'"),
                )),
            },
        }
    }

    /// `every`, `none`, `every 4`.
    pub fn describe(self) -> String {
        match self {
            Refit::Every(1) => "every origin".into(),
            Refit::Every(n) => format!("every {n} origins"),
            Refit::Never => "never".into(),
        }
    }

    /// Whether to refit at the `i`-th origin (0-based) of a stretch whose first origin always
    /// has a fit.
    fn due(self, i: usize) -> bool {
        match self {
            Refit::Every(n) => i.is_multiple_of(n.max(1)),
            Refit::Never => i == 0,
        }
    }
}

/// How the backtest runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BacktestSettings {
    /// Share of the observed history (the end) used as test origins and targets.
    pub test_fraction: f64,
    /// Distance between consecutive origins.
    pub stride: usize,
    /// Intervals for the model.
    pub intervals: IntervalMethod,
    /// Interval level.
    pub level: f64,
    /// Order of the AR(p) baseline (None: chosen on validation, up to `max(season + 1, 8)`).
    pub ar_order: Option<usize>,
    /// Seed for Monte-Carlo dropout.
    pub seed: u64,
    /// Methods to run and report (default: all).
    pub methods: Vec<Method>,
    /// Refit schedule for every method (None: the statistical methods at every origin, the MLP
    /// never).
    pub refit: Option<Refit>,
}

impl Default for BacktestSettings {
    fn default() -> Self {
        BacktestSettings {
            test_fraction: 0.2,
            stride: 1,
            intervals: IntervalMethod::Residual,
            level: 0.9,
            ar_order: None,
            seed: 0,
            methods: Method::ALL.to_vec(),
            refit: None,
        }
    }
}

/// Scores of one method on one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MethodScores {
    /// Stable name of the method ([`Method::key`]): `mlp`, `naive`, `snaive`, `drift`, `ar`,
    /// `ets`, `theta`, `naive2`.
    pub key: String,
    /// The method as fitted on the part before the test: `mlp`, `naive`, `seasonal_naive(12)`,
    /// `drift`, `ar(13)`, `ets(A,Ad,A)`, `theta`, `naive2`.
    pub method: String,
    /// Target series.
    pub target: String,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean absolute percentage error (fraction).
    pub mape: f64,
    /// Symmetric MAPE (fraction in `[0, 2]`; M4's sMAPE is 100 times it).
    pub smape: f64,
    /// Mean absolute scaled error.
    pub mase: f64,
    /// M4's overall weighted average against Naive2 on the same pairs.
    pub owa: f64,
    /// Coefficient of determination over all pairs.
    pub r2: f64,
    /// Mean over origins of `|sum(ŷ) - sum(y)| / |sum(y)|` over the horizon (fraction).
    pub cumulative_error: f64,
    /// Mean absolute error per horizon step.
    pub mae_by_step: Vec<f64>,
    /// Share of true values inside the method's intervals.
    pub coverage: Option<f64>,
    /// Mean interval width.
    pub interval_width: Option<f64>,
}

/// The outcome of a backtest.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BacktestReport {
    /// Forecast origins scored.
    pub origins: usize,
    /// Steps per forecast.
    pub horizon: usize,
    /// Observed steps before the test part.
    pub train_len: usize,
    /// Observed steps in the test part.
    pub test_len: usize,
    /// Season used by the seasonal methods and MASE.
    pub season: usize,
    /// Interval level.
    pub level: f64,
    /// Refits of the statistical methods (`every origin`, `every 4 origins`, `never`).
    pub refit_statistical: String,
    /// Refits of the MLP.
    pub refit_mlp: String,
    /// Calibration origins before the test part (the statistical methods' intervals).
    pub calibration_origins: usize,
    /// Methods left out, with the reason (e.g. a training part too short for them).
    pub skipped: Vec<String>,
    /// Per target, the methods in [`Method::ALL`] order (the MLP first).
    pub scores: Vec<MethodScores>,
}

#[derive(Default)]
struct Collected {
    truth: Vec<f32>,
    pred: Vec<f32>,
    covered_truth: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    cumulative: Vec<f64>,
    abs_by_step: Vec<Vec<f64>>,
}

impl Collected {
    fn push(&mut self, truth: &[f64], pred: &[f64]) {
        self.truth.extend(truth.iter().map(|&v| v as f32));
        self.pred.extend(pred.iter().map(|&v| v as f32));
        let t32: Vec<f32> = truth.iter().map(|&v| v as f32).collect();
        let p32: Vec<f32> = pred.iter().map(|&v| v as f32).collect();
        self.cumulative
            .push(cumulative_totals(&t32, &p32).relative_error.abs());
        if self.abs_by_step.len() < truth.len() {
            self.abs_by_step.resize(truth.len(), Vec::new());
        }
        for (h, (t, p)) in truth.iter().zip(pred).enumerate() {
            self.abs_by_step[h].push((t - p).abs());
        }
    }

    fn push_interval(&mut self, truth: &[f64], lower: &[f64], upper: &[f64]) {
        self.covered_truth.extend(truth);
        self.lower.extend(lower);
        self.upper.extend(upper);
    }

    fn scores(
        &self,
        key: &str,
        method: String,
        target: &str,
        train: &[f32],
        season: usize,
        naive2: Option<(f64, f64)>,
    ) -> MethodScores {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let has_intervals = !self.lower.is_empty();
        let mase_value = mase(&self.truth, &self.pred, train, season);
        let smape_pct = smape_m4(&self.truth, &self.pred);
        MethodScores {
            key: key.to_string(),
            method,
            target: target.to_string(),
            rmse: rmse(&self.truth, &self.pred),
            mae: mae(&self.truth, &self.pred),
            mape: mape(&self.truth, &self.pred),
            smape: smape(&self.truth, &self.pred),
            mase: mase_value,
            owa: naive2.map_or(f64::NAN, |(s, m)| owa(smape_pct, mase_value, s, m)),
            r2: r2(&self.truth, &self.pred),
            cumulative_error: mean(&self.cumulative),
            mae_by_step: self.abs_by_step.iter().map(|v| mean(v)).collect(),
            coverage: has_intervals
                .then(|| coverage(&self.covered_truth, &self.lower, &self.upper)),
            interval_width: has_intervals.then(|| {
                mean(
                    &self
                        .upper
                        .iter()
                        .zip(&self.lower)
                        .map(|(u, l)| u - l)
                        .collect::<Vec<_>>(),
                )
            }),
        }
    }
}

/// The baseline a statistical method runs with.
fn baseline_of(method: Method, season: usize, ar_order: Option<usize>) -> Option<Baseline> {
    Some(match method {
        Method::Mlp => return None,
        Method::Naive => Baseline::Naive,
        Method::SeasonalNaive => Baseline::SeasonalNaive { period: season },
        Method::Drift => Baseline::Drift,
        Method::Ar => match ar_order {
            Some(order) => Baseline::Ar { order },
            None => Baseline::ArAuto {
                max_order: (season + 1).max(8),
            },
        },
        Method::Ets => Baseline::Ets { season },
        Method::Theta => Baseline::Theta { season },
        Method::Naive2 => Baseline::Naive2 { season },
    })
}

/// The origins and rules the statistical methods share.
struct Plan<'a> {
    /// Calibration origins, then the test ones.
    origins: &'a [usize],
    /// Index of the first test origin in `origins`.
    first_test: usize,
    horizon: usize,
    refit: Refit,
    level: f64,
    /// The interval rule, the MLP's: `Residual` keeps signed error quantiles, anything else is
    /// the normalized conformal rule of [`super::intervals::local_scale`].
    intervals: IntervalMethod,
    /// Season of the local scale.
    season: usize,
}

/// Runs `baseline` on `values` from every origin of the plan, refitting per its schedule (the
/// calibration stretch and the test stretch each start with a fit), and collects the test
/// scores and, with `intervals`, the conformal intervals (see the module documentation).
/// Returns the name of the fit made at the first test origin and the collected values.
fn run_statistical(
    baseline: Baseline,
    values: &[f64],
    plan: &Plan,
    intervals: bool,
) -> Result<(String, Collected)> {
    let Plan {
        origins,
        first_test,
        horizon,
        refit,
        level,
        intervals: rule,
        season,
    } = *plan;
    let mut fitted: Option<FittedBaseline> = None;
    let mut name = baseline.name();
    let mut forecasts: Vec<Vec<f64>> = Vec::with_capacity(origins.len());
    let mut collected = Collected::default();
    for (i, &t) in origins.iter().enumerate() {
        let index = if i < first_test { i } else { i - first_test };
        if fitted.is_none() || refit.due(index) {
            let f = baseline.fit_for_horizon(&values[..=t], horizon)?;
            if i == first_test {
                name = f.name();
            }
            fitted = Some(f);
        }
        let Some(model) = &fitted else {
            continue;
        };
        let f = model.forecast(&values[..=t], horizon);
        if i >= first_test {
            let truth = &values[t + 1..t + 1 + horizon];
            collected.push(truth, &f);
            if intervals {
                // Errors of earlier forecasts whose step-k target is observed by t, divided by
                // the local scale at their origin unless the rule is the raw residual one.
                let raw = rule == IntervalMethod::Residual;
                let residuals: Vec<Vec<f64>> = (1..=horizon)
                    .map(|k| {
                        origins[..i]
                            .iter()
                            .zip(&forecasts)
                            .filter(|(o, _)| *o + k <= t)
                            .map(|(&o, p)| {
                                let e = values[o + k] - p[k - 1];
                                if raw {
                                    e
                                } else {
                                    e / local_scale(&values[..=o], season)
                                }
                            })
                            .collect()
                    })
                    .collect();
                let bounds = if raw {
                    residual_offsets(&residuals, horizon, level).map(|offsets| {
                        let lower: Vec<f64> =
                            f.iter().zip(&offsets).map(|(p, o)| p + o.0).collect();
                        let upper: Vec<f64> =
                            f.iter().zip(&offsets).map(|(p, o)| p + o.1).collect();
                        (lower, upper)
                    })
                } else {
                    let scale = local_scale(&values[..=t], season);
                    scaled_conformal_interval(&f, &residuals, scale, level)
                };
                if let Ok((lower, upper)) = bounds {
                    collected.push_interval(truth, &lower, &upper);
                }
            }
        }
        forecasts.push(f);
    }
    Ok((name, collected))
}

/// Runs a rolling-origin backtest (see the module documentation). Returns the report and the
/// forecaster fitted on the part before the test. Errors when `bt.methods` leaves out the MLP
/// (use [`backtest_methods`] then).
pub fn backtest(
    series: &Series,
    settings: &ForecastSettings,
    bt: &BacktestSettings,
) -> Result<(BacktestReport, Forecaster)> {
    let (report, forecaster) = backtest_methods(series, settings, bt)?;
    let forecaster = forecaster
        .ok_or_else(|| Error::config("models", "this backtest needs the mlp method in the list"))?;
    Ok((report, forecaster))
}

/// Runs a rolling-origin backtest of `bt.methods` (see the module documentation). Returns the
/// report and, when the MLP is among the methods, the forecaster fitted on the part before the
/// test.
pub fn backtest_methods(
    series: &Series,
    settings: &ForecastSettings,
    bt: &BacktestSettings,
) -> Result<(BacktestReport, Option<Forecaster>)> {
    if !(bt.test_fraction > 0.0 && bt.test_fraction < 0.9) {
        return Err(Error::config(
            "test_fraction",
            format!("must be above 0 and below 0.9, got {}", bt.test_fraction),
        ));
    }
    if bt.stride == 0 {
        return Err(Error::config("stride", "must be at least 1"));
    }
    if bt.methods.is_empty() {
        return Err(Error::config("models", "name at least one method"));
    }
    let n = series.history_len();
    let h = settings.horizon;
    let test_len = (n as f64 * bt.test_fraction).round() as usize;
    let train_len = n - test_len;
    if test_len < h {
        return Err(Error::InvalidData(format!(
            "{}: the test part has {test_len} steps, fewer than the horizon {h}; raise `test_fraction` or lower `horizon`",
            series.source
        )));
    }
    if train_len < 4 {
        return Err(Error::InvalidData(format!(
            "{}: only {train_len} steps before the test part; the methods need at least 4",
            series.source
        )));
    }
    let with_mlp = bt.methods.contains(&Method::Mlp);
    let forecaster = if with_mlp {
        Some(Forecaster::fit(&series.truncated(train_len), settings)?)
    } else {
        None
    };
    let season = match (&forecaster, settings.season) {
        (Some(f), _) => f.meta.season,
        (None, Some(0)) => return Err(Error::config("season", "must be at least 1")),
        (None, Some(s)) => s,
        (None, None) => series.targets.first().map_or(1, |c| {
            detect_season_for(
                &c.values[..train_len],
                (train_len / 3).min(400),
                &series.step,
            )
            .unwrap_or(1)
        }),
    };
    let ar_order = bt
        .ar_order
        .map(|p| p.min((train_len.saturating_sub(2)) / 2).max(1));
    let stat_refit = bt.refit.unwrap_or(Refit::Every(1));
    let mlp_refit = bt.refit.unwrap_or(Refit::Never);
    let test_origins: Vec<usize> = (train_len - 1..n - h).step_by(bt.stride).collect();
    // Calibration origins at the end of the training part, spaced by the stride like the test
    // ones; each fit needs at least half of the training part.
    let cal_len = ((settings.val_fraction * train_len as f64).round() as usize)
        .max(h)
        .min(train_len / 2);
    let cal_origins: Vec<usize> = (train_len - 1 - cal_len..train_len - 1)
        .rev()
        .step_by(bt.stride)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let mut origins = cal_origins.clone();
    origins.extend(&test_origins);
    let first_test = cal_origins.len();
    let plan = Plan {
        origins: &origins,
        first_test,
        horizon: h,
        refit: stat_refit,
        level: bt.level,
        intervals: bt.intervals,
        season,
    };
    let mut scores = Vec::new();
    let mut skipped = Vec::new();
    // The MLP refits are shared by all targets: one forecaster per refit origin.
    let mut mlp_forecasts: Vec<super::forecaster::Forecast> = Vec::new();
    if let Some(first) = &forecaster {
        let mut current: Option<Forecaster> = None;
        for (j, &t) in test_origins.iter().enumerate() {
            if j > 0 && mlp_refit.due(j) {
                current = Some(Forecaster::fit(&series.truncated(t + 1), settings)?);
            }
            let model = current.as_ref().unwrap_or(first);
            mlp_forecasts.push(model.forecast_from(
                series,
                t,
                h,
                bt.intervals,
                bt.level,
                bt.seed,
            )?);
        }
    }
    for (c, col) in series.targets.iter().enumerate() {
        let train = &col.values[..train_len];
        let train32: Vec<f32> = train.iter().map(|&v| v as f32).collect();
        let mut rows: Vec<(Method, String, Collected)> = Vec::new();
        if with_mlp {
            let mut model = Collected::default();
            for (f, &t) in mlp_forecasts.iter().zip(&test_origins) {
                let truth = &col.values[t + 1..t + 1 + h];
                model.push(truth, &f.values[c]);
                if let (Some(lo), Some(hi)) = (&f.lower, &f.upper) {
                    model.push_interval(truth, &lo[c], &hi[c]);
                }
            }
            rows.push((Method::Mlp, "mlp".into(), model));
        }
        let mut naive2 = None;
        for method in Method::ALL {
            let listed = bt.methods.contains(&method);
            let Some(baseline) = baseline_of(method, season, ar_order) else {
                continue;
            };
            if !listed && method != Method::Naive2 {
                continue;
            }
            match run_statistical(baseline, &col.values, &plan, listed) {
                Ok((name, collected)) => {
                    if method == Method::Naive2 {
                        naive2 = Some((
                            smape_m4(&collected.truth, &collected.pred),
                            mase(&collected.truth, &collected.pred, &train32, season),
                        ));
                    }
                    if listed {
                        rows.push((method, name, collected));
                    }
                }
                Err(e) => {
                    if listed && c == 0 {
                        skipped.push(format!("{}: {e}", method.key()));
                    }
                }
            }
        }
        for (method, name, collected) in &rows {
            scores.push(collected.scores(
                method.key(),
                name.clone(),
                &col.name,
                &train32,
                season,
                naive2,
            ));
        }
    }
    Ok((
        BacktestReport {
            origins: test_origins.len(),
            horizon: h,
            train_len,
            test_len,
            season,
            level: bt.level,
            refit_statistical: stat_refit.describe(),
            refit_mlp: if with_mlp {
                mlp_refit.describe()
            } else {
                "-".into()
            },
            calibration_origins: cal_origins.len(),
            skipped,
            scores,
        },
        forecaster,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::csv::read_csv_from_reader;
    use crate::forecast::forecaster::LagSetting;
    use crate::forecast::series::SeriesColumns;
    use crate::forecast::window::Embedding;

    #[test]
    fn baseline_scores_match_hand_computed_values_on_a_line() {
        // y_t = t for t = 0..100, test part the last 20 steps, horizon 3, season 4.
        let mut text = String::from("t,y\n");
        for t in 0..100 {
            text.push_str(&format!("{t},{t}\n"));
        }
        let table = read_csv_from_reader("line.csv", text.as_bytes(), None).expect("test setup");
        let series = Series::from_table(
            &table,
            &SeriesColumns {
                time: "t".into(),
                targets: vec!["y".into()],
                exog: vec![],
                fill: None,
            },
        )
        .expect("test setup");
        let mut settings = ForecastSettings {
            lags: LagSetting::Fixed(Embedding { tau: 1, dim: 2 }),
            horizon: 3,
            season: Some(4),
            ..ForecastSettings::default()
        };
        settings.train.epochs = 1;
        settings.train.threads = 1;
        let bt = BacktestSettings {
            intervals: IntervalMethod::None,
            ar_order: Some(1),
            ..BacktestSettings::default()
        };
        let (report, _) = backtest(&series, &settings, &bt).expect("test setup");
        // Origins 79..=96: every forecast of steps 1..3 is inside the series.
        assert_eq!(
            (report.train_len, report.test_len, report.origins),
            (80, 20, 18)
        );
        let get = |name: &str| {
            report
                .scores
                .iter()
                .find(|s| s.method == name)
                .expect("test setup")
        };
        // Naive errs by h: MAE (1+2+3)/3 = 2, RMSE sqrt((1+4+9)/3); in-sample seasonal-naive MAE
        // with season 4 is 4, so MASE = 0.5.
        let naive = get("naive");
        assert!((naive.mae - 2.0).abs() < 1e-9);
        assert!((naive.rmse - (14.0f64 / 3.0).sqrt()).abs() < 1e-6);
        assert!((naive.mase - 0.5).abs() < 1e-9);
        assert_eq!(naive.mae_by_step.len(), 3);
        assert!((naive.mae_by_step[2] - 3.0).abs() < 1e-9);
        // Horizon totals: truth 3t + 6 against 3t, averaged over the origins.
        let cum: f64 = (79..=96).map(|t| 6.0 / (3.0 * t as f64 + 6.0)).sum::<f64>() / 18.0;
        assert!((naive.cumulative_error - cum).abs() < 1e-6);
        // MAPE: mean over origins and steps of h / (t + h).
        let mape: f64 = (79..=96)
            .flat_map(|t| (1..=3).map(move |h| h as f64 / (t + h) as f64))
            .sum::<f64>()
            / 54.0;
        assert!((naive.mape - mape).abs() < 1e-6);
        // Seasonal naive with period 4 errs by 4 at every step; drift and AR(1) are exact.
        assert!((get("seasonal_naive(4)").mae - 4.0).abs() < 1e-9);
        let drift = get("drift");
        assert!(drift.mae < 1e-4 && (drift.r2 - 1.0).abs() < 1e-6);
        assert!(get("ar(1)").mae < 1e-3);
        assert_eq!(report.scores[0].method, "mlp");
        assert!(report.scores[0].coverage.is_none());
        let by_key = |key: &str| {
            report
                .scores
                .iter()
                .find(|s| s.key == key)
                .expect("test setup")
        };
        // The 90 % test calls a line seasonal (its trend correlates every lag) but the additive
        // indices of a line are 0: Naive2 is the naive forecast, so naive's OWA is 1.
        let keys: Vec<&str> = report.scores.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "mlp", "naive", "snaive", "drift", "ar", "ets", "theta", "naive2"
            ]
        );
        assert!((naive.owa - 1.0).abs() < 1e-9);
        assert!((by_key("naive2").mae - 2.0).abs() < 1e-9);
        // Naive's rolling errors at step k are always k: symmetric conformal intervals of
        // half-width at least k (a line's local scale is its floor, proportional to the
        // level, so up to half as much again at later origins) that cover; mean width at
        // least 2 (1 + 2 + 3) / 3 = 4.
        assert_eq!(naive.coverage, Some(1.0));
        let width = naive.interval_width.expect("intervals");
        assert!((4.0..7.0).contains(&width), "{width}");
        // Holt follows the line; Theta (SES at α ≈ 1 plus half the slope) errs by h / 2.
        assert!(
            (by_key("theta").mae - 1.0).abs() < 1e-3,
            "{:?}",
            by_key("theta")
        );
        assert!(by_key("ets").mae < 0.05, "{:?}", by_key("ets"));
        assert_eq!(report.refit_statistical, "every origin");
        assert_eq!(report.refit_mlp, "never");
    }

    #[test]
    fn method_lists_and_refit_schedules_parse() {
        assert_eq!(
            Method::parse_list("ets, snaive,naive,ets").expect("parses"),
            vec![Method::Naive, Method::SeasonalNaive, Method::Ets]
        );
        assert_eq!(
            Method::parse_list("all").expect("parses"),
            Method::ALL.to_vec()
        );
        assert_eq!(
            Method::parse_list("seasonal-naive").expect("parses"),
            vec![Method::SeasonalNaive]
        );
        assert!(Method::parse_list("arima").is_err());
        assert!(Method::parse_list(" , ").is_err());
        assert_eq!(
            Refit::parse("every").expect("parses"),
            Some(Refit::Every(1))
        );
        assert_eq!(Refit::parse("none").expect("parses"), Some(Refit::Never));
        assert_eq!(Refit::parse("4").expect("parses"), Some(Refit::Every(4)));
        assert_eq!(Refit::parse("auto").expect("parses"), None);
        assert!(Refit::parse("0").is_err());
        assert!(Refit::parse("sometimes").is_err());
        assert!(Refit::Every(3).due(0) && Refit::Every(3).due(6) && !Refit::Every(3).due(4));
        assert!(Refit::Never.due(0) && !Refit::Never.due(1));
    }

    #[test]
    fn conformal_intervals_of_the_statistical_methods_cover_noise() {
        // White noise around 10: every method's rolling errors are exchangeable, so their 90 %
        // intervals cover close to 90 % (the MLP is left out: statistical methods only).
        let mut rng = crate::rng::Rng::seed_from(5);
        let mut text = String::from("t,y\n");
        for t in 0..500 {
            text.push_str(&format!("{t},{}\n", 10.0 + rng.normal()));
        }
        let table = read_csv_from_reader("noise.csv", text.as_bytes(), None).expect("test setup");
        let series = Series::from_table(
            &table,
            &SeriesColumns {
                time: "t".into(),
                targets: vec!["y".into()],
                exog: vec![],
                fill: None,
            },
        )
        .expect("test setup");
        let settings = ForecastSettings {
            horizon: 2,
            season: Some(1),
            ..ForecastSettings::default()
        };
        let bt = BacktestSettings {
            test_fraction: 0.4,
            methods: vec![Method::Naive, Method::Ets, Method::Theta],
            ..BacktestSettings::default()
        };
        let (report, model) = backtest_methods(&series, &settings, &bt).expect("test setup");
        assert!(model.is_none());
        assert!(backtest(&series, &settings, &bt).is_err());
        assert_eq!(report.scores.len(), 3);
        for s in &report.scores {
            let c = s.coverage.expect("intervals");
            assert!((0.84..=0.96).contains(&c), "{}: {c}", s.method);
            // OWA against Naive2 (here the naive forecast): smoothing beats it on noise.
            if s.key != "naive" {
                assert!(s.owa < 0.9, "{}: {}", s.method, s.owa);
            }
        }
    }
}
