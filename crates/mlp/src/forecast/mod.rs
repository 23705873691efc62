//! Time-series forecasting: loading series on a regular time grid, lag selection (ACF, mutual
//! information, Cao's method), windowing in [`crate::architectures::SequenceLayout`] rows,
//! recursive and direct multi-step strategies, baselines, rolling-origin backtests and
//! prediction intervals. The command-line front end is `mlp forecast`.

pub mod baselines;
pub mod calendar;
pub mod lags;
pub mod series;
