//! End-to-end forecasting: training, strategies, backtests against the baselines, intervals.

use mlp::forecast::backtest::{BacktestSettings, backtest};
use mlp::forecast::forecaster::{ForecastSettings, Forecaster, LagSetting};
use mlp::forecast::intervals::IntervalMethod;
use mlp::forecast::series::EmbeddedSeries;
use std::time::Instant;

#[test]
fn probe_co2() {
    let co2 = EmbeddedSeries::Co2.load().unwrap();
    let mut settings = ForecastSettings::default();
    settings.train.threads = 1;
    let t = Instant::now();
    let (report, model) = backtest(&co2, &settings, &BacktestSettings::default()).unwrap();
    eprintln!("{:?} {:?} season {}", model.meta.embedding, model.meta.lag_choice, report.season);
    eprintln!("{:?}", model.model.training.as_ref().map(|t| (t.outcome.clone(), t.history.len())));
    for s in &report.scores {
        eprintln!("{:<20} rmse {:.3} mae {:.3} mase {:.3} smape {:.4} r2 {:.3} cum {:.4} cov {:?}", s.method, s.rmse, s.mae, s.mase, s.smape, s.r2, s.cumulative_error, s.coverage);
    }
    eprintln!("{:?}", t.elapsed());
    let _ = (Forecaster::load, LagSetting::Auto { max_dim: 1 }, IntervalMethod::None);
}
