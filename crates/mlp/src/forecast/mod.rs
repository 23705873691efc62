//! Time-series forecasting: lag selection and baselines.

pub mod baselines;
pub mod lags;
