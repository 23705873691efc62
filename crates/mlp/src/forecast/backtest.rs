//! Rolling-origin (walk-forward) backtests: the model and the baselines forecast from the same
//! origins over a held-out test part at the end of the series, and are scored on the same
//! values.
//!
//! Procedure: the last `test_fraction` of the observed history is the test part. The
//! forecaster is fitted on everything before it (its own validation split inside), and the
//! baselines (naive, seasonal naive, drift, AR(p)) are fitted on the same training part. From
//! every `stride`-th origin `t` (the last observed step) in the test part, each method
//! forecasts `H` steps from the history up to `t`; only origins whose whole horizon is observed
//! count, so every method is scored on exactly the same `(origin, step)` pairs. The model is not
//! refitted between origins (it sees the newest history, like a deployed model).
//!
//! Scores per target and method: RMSE, MAE, MAPE, SMAPE and R² over all pairs, MASE scaled by
//! the in-sample seasonal-naive error of the training part, the mean absolute relative error of
//! the horizon totals ("cumulative" error), and for the model the empirical coverage and mean
//! width of its prediction intervals.

use super::baselines::Baseline;
use super::forecaster::{ForecastSettings, Forecaster};
use super::intervals::{IntervalMethod, coverage};
use super::series::Series;
use crate::metrics::forecast::{cumulative_totals, mase};
use crate::metrics::{mae, mape, r2, rmse, smape};
use crate::{Error, Result};
use serde::Serialize;

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
    /// AR order of the AR(p) baseline (None: the model's window span, at least the season).
    pub ar_order: Option<usize>,
    /// Seed for Monte-Carlo dropout.
    pub seed: u64,
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
        }
    }
}

/// Scores of one method on one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MethodScores {
    /// `mlp`, `naive`, `seasonal_naive(12)`, `drift`, `ar(13)`.
    pub method: String,
    /// Target series.
    pub target: String,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean absolute percentage error (fraction).
    pub mape: f64,
    /// Symmetric MAPE (fraction in `[0, 2]`).
    pub smape: f64,
    /// Mean absolute scaled error.
    pub mase: f64,
    /// Coefficient of determination over all pairs.
    pub r2: f64,
    /// Mean over origins of `|sum(ŷ) - sum(y)| / |sum(y)|` over the horizon (fraction).
    pub cumulative_error: f64,
    /// Mean absolute error per horizon step.
    pub mae_by_step: Vec<f64>,
    /// Share of true values inside the model's intervals.
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
    /// Season used by the seasonal baseline and MASE.
    pub season: usize,
    /// Interval level.
    pub level: f64,
    /// Model and baselines, per target (model first).
    pub scores: Vec<MethodScores>,
}

#[derive(Default)]
struct Collected {
    truth: Vec<f32>,
    pred: Vec<f32>,
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

    fn scores(&self, method: String, target: &str, train: &[f32], season: usize) -> MethodScores {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let has_intervals = !self.lower.is_empty();
        let truth64: Vec<f64> = self.truth.iter().map(|&v| v as f64).collect();
        MethodScores {
            method,
            target: target.to_string(),
            rmse: rmse(&self.truth, &self.pred),
            mae: mae(&self.truth, &self.pred),
            mape: mape(&self.truth, &self.pred),
            smape: smape(&self.truth, &self.pred),
            mase: mase(&self.truth, &self.pred, train, season),
            r2: r2(&self.truth, &self.pred),
            cumulative_error: mean(&self.cumulative),
            mae_by_step: self.abs_by_step.iter().map(|v| mean(v)).collect(),
            coverage: has_intervals.then(|| coverage(&truth64, &self.lower, &self.upper)),
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

/// Runs a rolling-origin backtest (see the module documentation). Returns the report and the
/// forecaster fitted on the part before the test.
pub fn backtest(
    series: &Series,
    settings: &ForecastSettings,
    bt: &BacktestSettings,
) -> Result<(BacktestReport, Forecaster)> {
    if !(bt.test_fraction > 0.0 && bt.test_fraction < 0.9) {
        return Err(Error::config(
            "test_fraction",
            format!("must be above 0 and below 0.9, got {}", bt.test_fraction),
        ));
    }
    if bt.stride == 0 {
        return Err(Error::config("stride", "must be at least 1"));
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
    let forecaster = Forecaster::fit(&series.truncated(train_len), settings)?;
    let meta = &forecaster.meta;
    let season = meta.season;
    let ar_order = bt
        .ar_order
        .unwrap_or_else(|| meta.embedding.span().max(season))
        .min((train_len.saturating_sub(2)) / 2)
        .max(1);
    let baselines = [
        Baseline::Naive,
        Baseline::SeasonalNaive { period: season },
        Baseline::Drift,
        Baseline::Ar { order: ar_order },
    ];
    let origins: Vec<usize> = (train_len - 1..n - h).step_by(bt.stride).collect();
    let mut scores = Vec::new();
    for (c, col) in series.targets.iter().enumerate() {
        let train = &col.values[..train_len];
        let fitted = baselines
            .iter()
            .map(|b| b.fit(train))
            .collect::<Result<Vec<_>>>()?;
        let mut model = Collected::default();
        let mut base: Vec<Collected> = baselines.iter().map(|_| Collected::default()).collect();
        for &t in &origins {
            let truth = &col.values[t + 1..t + 1 + h];
            let f = forecaster.forecast_from(series, t, h, bt.intervals, bt.level, bt.seed)?;
            model.push(truth, &f.values[c]);
            if let (Some(lo), Some(hi)) = (&f.lower, &f.upper) {
                model.lower.extend(&lo[c]);
                model.upper.extend(&hi[c]);
            }
            for (b, coll) in fitted.iter().zip(base.iter_mut()) {
                coll.push(truth, &b.forecast(&col.values[..=t], h));
            }
        }
        let train32: Vec<f32> = train.iter().map(|&v| v as f32).collect();
        scores.push(model.scores("mlp".into(), &col.name, &train32, season));
        for (b, coll) in baselines.iter().zip(&base) {
            scores.push(coll.scores(b.name(), &col.name, &train32, season));
        }
    }
    Ok((
        BacktestReport {
            origins: origins.len(),
            horizon: h,
            train_len,
            test_len,
            season,
            level: bt.level,
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
    }
}
