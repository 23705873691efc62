//! Time-series forecasting: loading series on a regular time grid, lag selection (ACF, mutual
//! information, Cao's method), windowing in [`crate::architectures::SequenceLayout`] rows,
//! recursive and direct multi-step strategies, baselines, rolling-origin backtests and
//! prediction intervals. The command-line front end is `mlp forecast`.
//!
//! ```no_run
//! use mlp::forecast::{backtest, forecaster, series};
//! let co2 = series::EmbeddedSeries::Co2.load().unwrap();
//! let settings = forecaster::ForecastSettings::default();
//! let (report, _model) =
//!     backtest::backtest(&co2, &settings, &backtest::BacktestSettings::default()).unwrap();
//! for s in &report.scores {
//!     println!("{:<20} MASE {:.3}", s.method, s.mase);
//! }
//! ```

pub mod backtest;
pub mod baselines;
pub mod calendar;
pub mod ets;
pub mod forecaster;
pub mod global;
pub mod intervals;
pub mod lags;
pub mod naive2;
pub mod select;
pub mod series;
pub mod strategy;
pub mod theta;
pub mod window;

pub use backtest::{BacktestReport, BacktestSettings, backtest};
pub use forecaster::{Forecast, ForecastMeta, ForecastSettings, Forecaster, LagSetting, Transform};
pub use select::{SelectSettings, Selection};
#[cfg(feature = "datasets")]
pub use series::EmbeddedSeries;
pub use series::{Fill, Series, SeriesColumns};
