//! Forecast-specific metrics: MASE, the M4 competition's sMAPE and OWA, and cumulative totals.
//!
//! * MASE (Hyndman & Koehler, 2006) `= MAE(y, p) / Q` with `Q = (1/(n-s)) Σ_{t=s+1..n} |x_t - x_{t-s}|`
//!   the in-sample mean absolute error of the seasonal naive forecast (season `s`, 1 for the
//!   naive one) on the training series `x_1..x_n`. Below 1: better than that naive forecast was
//!   in sample. `NaN` when the training series is not longer than `s` or the inputs are empty;
//!   `+inf` when `Q = 0` and the forecast errs, 0 when neither errs.
//! * sMAPE as the M4 competition defines it (Makridakis et al., 2020), in percent:
//!   `(200 / n) Σ |y_i - p_i| / (|y_i| + |p_i|)` (a pair with `y = p = 0` counts 0). It equals 100
//!   times [`crate::metrics::smape`], which is a fraction.
//! * OWA (overall weighted average, M4): `(sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2`, the
//!   method's errors relative to those of Naive2 on the same forecasts; below 1 beats Naive2.
//! * Cumulative totals: the sum of the true and of the predicted values over the horizon, and
//!   the relative error of the predicted total (what an epidemiologist reports as "cumulative
//!   cases by the end of the horizon").
//!
//! ```
//! use mlp::metrics::forecast::{cumulative_totals, mase, owa, smape_m4};
//! // |1-2| / (1+2) = 1/3 and 0: 200/2 * 1/3.
//! assert!((smape_m4(&[1.0, 4.0], &[2.0, 4.0]) - 100.0 / 3.0).abs() < 1e-9);
//! assert_eq!(owa(10.0, 0.8, 20.0, 1.6), 0.5);
//! // In-sample naive MAE of [1, 2, 4] is (1 + 2) / 2 = 1.5; forecast MAE is 0.75.
//! assert_eq!(mase(&[5.0, 6.0], &[5.5, 7.0], &[1.0, 2.0, 4.0], 1), 0.5);
//! let totals = cumulative_totals(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.5]);
//! assert_eq!((totals.actual, totals.predicted), (6.0, 7.5));
//! ```

use super::assert_same_len;
use serde::{Deserialize, Serialize};

/// Mean absolute scaled error (see the module documentation).
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn mase(y_true: &[f32], y_pred: &[f32], train: &[f32], season: usize) -> f64 {
    assert_same_len("mase", "y_true", y_true.len(), "y_pred", y_pred.len());
    let s = season.max(1);
    if y_true.is_empty() || train.len() <= s {
        return f64::NAN;
    }
    let scale = (s..train.len())
        .map(|t| (train[t] as f64 - train[t - s] as f64).abs())
        .sum::<f64>()
        / (train.len() - s) as f64;
    let mae = super::mae(y_true, y_pred);
    if scale == 0.0 {
        return if mae == 0.0 { 0.0 } else { f64::INFINITY };
    }
    mae / scale
}

/// sMAPE of the M4 competition, in percent (see the module documentation). `NaN` for empty
/// inputs.
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn smape_m4(y_true: &[f32], y_pred: &[f32]) -> f64 {
    assert_same_len("smape_m4", "y_true", y_true.len(), "y_pred", y_pred.len());
    if y_true.is_empty() {
        return f64::NAN;
    }
    let sum: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(&y, &p)| {
            let (y, p) = (y as f64, p as f64);
            let den = y.abs() + p.abs();
            if den == 0.0 { 0.0 } else { (y - p).abs() / den }
        })
        .sum();
    200.0 * sum / y_true.len() as f64
}

/// OWA of a method from its sMAPE and MASE and those of Naive2 on the same forecasts (see the
/// module documentation). `NaN` when a Naive2 error is 0 or not finite.
pub fn owa(smape: f64, mase: f64, smape_naive2: f64, mase_naive2: f64) -> f64 {
    let ok = |v: f64| v.is_finite() && v > 0.0;
    if !(ok(smape_naive2) && ok(mase_naive2)) {
        return f64::NAN;
    }
    (smape / smape_naive2 + mase / mase_naive2) / 2.0
}

/// Totals over a forecast horizon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CumulativeTotals {
    /// Sum of the true values.
    pub actual: f64,
    /// Sum of the predicted values.
    pub predicted: f64,
    /// `(predicted - actual) / |actual|` (`NaN` when `actual` is 0).
    pub relative_error: f64,
}

/// Sums of the true and predicted values (see the module documentation).
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn cumulative_totals(y_true: &[f32], y_pred: &[f32]) -> CumulativeTotals {
    assert_same_len(
        "cumulative_totals",
        "y_true",
        y_true.len(),
        "y_pred",
        y_pred.len(),
    );
    let actual: f64 = y_true.iter().map(|&v| v as f64).sum();
    let predicted: f64 = y_pred.iter().map(|&v| v as f64).sum();
    let relative_error = if actual == 0.0 {
        f64::NAN
    } else {
        (predicted - actual) / actual.abs()
    };
    CumulativeTotals {
        actual,
        predicted,
        relative_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::test_util::assert_close;

    #[test]
    fn mase_matches_hand_computed_values() {
        // Seasonal scale, s = 2: train [1, 3, 2, 6, 4]: |2-1| + |6-3| + |4-2| = 6 over 3 = 2.
        // Forecast errors |10-9| + |12-15| = 4 over 2 = 2 -> MASE 1.
        assert_close(
            mase(&[10.0, 12.0], &[9.0, 15.0], &[1.0, 3.0, 2.0, 6.0, 4.0], 2),
            1.0,
        );
        // s = 1: |3-1| + |2-3| + |6-2| + |4-6| = 9 over 4 = 2.25; MAE 2 -> 8/9.
        assert_close(
            mase(&[10.0, 12.0], &[9.0, 15.0], &[1.0, 3.0, 2.0, 6.0, 4.0], 1),
            8.0 / 9.0,
        );
        // season 0 is treated as 1.
        assert_close(
            mase(&[10.0, 12.0], &[9.0, 15.0], &[1.0, 3.0, 2.0, 6.0, 4.0], 0),
            8.0 / 9.0,
        );
    }

    #[test]
    fn mase_edge_cases() {
        assert!(mase(&[], &[], &[1.0, 2.0], 1).is_nan());
        assert!(mase(&[1.0], &[1.0], &[1.0, 2.0], 2).is_nan());
        assert_eq!(mase(&[1.0], &[2.0], &[3.0, 3.0, 3.0], 1), f64::INFINITY);
        assert_eq!(mase(&[1.0], &[1.0], &[3.0, 3.0, 3.0], 1), 0.0);
    }

    #[test]
    fn totals_and_their_relative_error() {
        let t = cumulative_totals(&[10.0, 20.0, 30.0], &[12.0, 18.0, 36.0]);
        assert_close(t.actual, 60.0);
        assert_close(t.predicted, 66.0);
        assert_close(t.relative_error, 0.1);
        assert!(cumulative_totals(&[0.0], &[1.0]).relative_error.is_nan());
    }

    #[test]
    fn m4_smape_and_owa_match_hand_computed_values() {
        // Pairs (10, 8): 2/18; (5, 5): 0; (0, 0): 0; (-2, 2): 4/4 = 1.
        // 200/4 * (1/9 + 1) = 50 * 10/9.
        assert_close(
            smape_m4(&[10.0, 5.0, 0.0, -2.0], &[8.0, 5.0, 0.0, 2.0]),
            500.0 / 9.0,
        );
        // Equals 100 times the fractional SMAPE of the regression metrics.
        let (y, p) = ([3.0, 7.0, 1.5], [2.0, 9.0, 1.0]);
        assert_close(smape_m4(&y, &p), 100.0 * crate::metrics::smape(&y, &p));
        assert!(smape_m4(&[], &[]).is_nan());
        // sMAPE half of Naive2's, MASE equal: (0.5 + 1) / 2.
        assert_close(owa(5.0, 1.2, 10.0, 1.2), 0.75);
        assert!(owa(5.0, 1.2, 0.0, 1.2).is_nan());
        assert!(owa(5.0, 1.2, 10.0, f64::NAN).is_nan());
    }
}
