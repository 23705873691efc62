//! Regression metrics: MSE, RMSE, MAE, MAPE, SMAPE, R² and max error.
//!
//! For true values `y_i` and predictions `p_i`, `i = 1..n`, widened to `f64`:
//!
//! * MSE `= (1/n) Σ (y_i - p_i)²`, RMSE `= √MSE`, MAE `= (1/n) Σ |y_i - p_i|`
//! * MAPE `= (1/n) Σ |y_i - p_i| / max(|y_i|, ε)` with `ε = f64::EPSILON`, a fraction (0.25 means
//!   25 %), exactly scikit-learn's `mean_absolute_percentage_error`; a zero `y_i` with a non-zero
//!   error makes it enormous (of order `1e15`), by design
//! * SMAPE `= (1/n) Σ 2 |y_i - p_i| / (|y_i| + |p_i|)`, a term being 0 when `y_i = p_i = 0`; a
//!   fraction in `[0, 2]` (scikit-learn has no SMAPE; this is the common "0 to 200 %" variant)
//! * R² `= 1 - SS_res / SS_tot` with `SS_res = Σ (y_i - p_i)²`, `SS_tot = Σ (y_i - ȳ)²`; when
//!   `SS_tot = 0` (constant `y`), 1.0 if `SS_res = 0` and 0.0 otherwise (scikit-learn's
//!   `force_finite=True`)
//! * max error `= max |y_i - p_i|`
//!
//! Every metric is `NaN` for empty inputs, and a `NaN` in the data makes it `NaN`.

use serde::{Deserialize, Serialize};

use super::assert_same_len;

/// Mean squared error, `(1/n) Σ (y_i - p_i)²`. `NaN` for empty inputs.
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn mse(y_true: &[f32], y_pred: &[f32]) -> f64 {
    assert_same_len("mse", "y_true", y_true.len(), "y_pred", y_pred.len());
    mean(pairs(y_true, y_pred, 1, 0).map(|(y, p)| (y - p) * (y - p)))
}

/// Root mean squared error, `√((1/n) Σ (y_i - p_i)²)`. `NaN` for empty inputs.
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn rmse(y_true: &[f32], y_pred: &[f32]) -> f64 {
    assert_same_len("rmse", "y_true", y_true.len(), "y_pred", y_pred.len());
    mse(y_true, y_pred).sqrt()
}

/// Mean absolute error, `(1/n) Σ |y_i - p_i|`. `NaN` for empty inputs.
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn mae(y_true: &[f32], y_pred: &[f32]) -> f64 {
    assert_same_len("mae", "y_true", y_true.len(), "y_pred", y_pred.len());
    mean(pairs(y_true, y_pred, 1, 0).map(|(y, p)| (y - p).abs()))
}

/// Mean absolute percentage error as a fraction (not percent), like scikit-learn:
/// `(1/n) Σ |y_i - p_i| / max(|y_i|, f64::EPSILON)`.
///
/// A true value of 0 with a non-zero error contributes `|p_i| / 2.2e-16`, so the result becomes
/// huge; use [`smape`] when targets can be 0. `NaN` for empty inputs.
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn mape(y_true: &[f32], y_pred: &[f32]) -> f64 {
    assert_same_len("mape", "y_true", y_true.len(), "y_pred", y_pred.len());
    mean(pairs(y_true, y_pred, 1, 0).map(ape))
}

/// Symmetric mean absolute percentage error as a fraction in `[0, 2]`:
/// `(1/n) Σ 2 |y_i - p_i| / (|y_i| + |p_i|)`, where a term is 0 when `y_i = p_i = 0`.
///
/// scikit-learn has no SMAPE; this is the common "0 to 200 %" definition, divided by 100.
/// `NaN` for empty inputs.
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn smape(y_true: &[f32], y_pred: &[f32]) -> f64 {
    assert_same_len("smape", "y_true", y_true.len(), "y_pred", y_pred.len());
    mean(pairs(y_true, y_pred, 1, 0).map(sape))
}

/// Coefficient of determination, like scikit-learn's `r2_score`: `1 - SS_res / SS_tot` with
/// `SS_res = Σ (y_i - p_i)²` and `SS_tot = Σ (y_i - ȳ)²`.
///
/// When `y_true` is constant (`SS_tot = 0`) the result is 1.0 for a perfect prediction and 0.0
/// otherwise (scikit-learn's `force_finite=True`). Can be negative: a model worse than predicting
/// the mean. `NaN` for empty inputs.
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn r2(y_true: &[f32], y_pred: &[f32]) -> f64 {
    assert_same_len("r2", "y_true", y_true.len(), "y_pred", y_pred.len());
    r2_column(y_true, y_pred, 1, 0)
}

/// Largest absolute error, `max |y_i - p_i|` (scikit-learn's `max_error`). `NaN` for empty
/// inputs or when any value is `NaN`.
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn max_error(y_true: &[f32], y_pred: &[f32]) -> f64 {
    assert_same_len("max_error", "y_true", y_true.len(), "y_pred", y_pred.len());
    max_abs(pairs(y_true, y_pred, 1, 0))
}

/// Every regression metric of one evaluation, as written to reports and JSON.
///
/// For multi-output data the per-output scores are averaged uniformly (scikit-learn's
/// `multioutput="uniform_average"`), except where a field says otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RegressionReport {
    /// Mean over outputs of each output's [`mse`].
    pub mse: f64,
    /// Mean over outputs of each output's [`rmse`] (scikit-learn's `root_mean_squared_error`);
    /// with several outputs this is not `√mse`.
    pub rmse: f64,
    /// Mean over outputs of each output's [`mae`].
    pub mae: f64,
    /// Mean over outputs of each output's [`mape`] (a fraction).
    pub mape: f64,
    /// [`smape`] over all entries (a fraction in `[0, 2]`).
    pub smape: f64,
    /// Mean over outputs of each output's [`r2`].
    pub r2: f64,
    /// [`max_error`] over all entries.
    pub max_error: f64,
    /// Number of samples (rows), i.e. `y_true.len() / n_outputs`.
    pub n_samples: usize,
}

impl RegressionReport {
    /// Computes every metric from row-major `n_samples x n_outputs` true values and predictions.
    ///
    /// Every `f64` field is `NaN` for empty inputs.
    ///
    /// # Panics
    ///
    /// If `n_outputs` is 0, the lengths differ, or the length is not a multiple of `n_outputs`.
    pub fn compute(y_true: &[f32], y_pred: &[f32], n_outputs: usize) -> RegressionReport {
        assert_same_len(
            "RegressionReport::compute",
            "y_true",
            y_true.len(),
            "y_pred",
            y_pred.len(),
        );
        assert!(
            n_outputs > 0 && y_true.len().is_multiple_of(n_outputs),
            "metrics::RegressionReport::compute: {} values do not form rows of n_outputs = {}",
            y_true.len(),
            n_outputs
        );
        let per_output = |f: &dyn Fn(usize) -> f64| -> f64 {
            (0..n_outputs).map(f).sum::<f64>() / n_outputs as f64
        };
        let column_mse =
            |j| mean(pairs(y_true, y_pred, n_outputs, j).map(|(y, p)| (y - p) * (y - p)));
        RegressionReport {
            mse: per_output(&column_mse),
            rmse: per_output(&|j| column_mse(j).sqrt()),
            mae: per_output(&|j| {
                mean(pairs(y_true, y_pred, n_outputs, j).map(|(y, p)| (y - p).abs()))
            }),
            mape: per_output(&|j| mean(pairs(y_true, y_pred, n_outputs, j).map(ape))),
            smape: mean(pairs(y_true, y_pred, 1, 0).map(sape)),
            r2: per_output(&|j| r2_column(y_true, y_pred, n_outputs, j)),
            max_error: max_abs(pairs(y_true, y_pred, 1, 0)),
            n_samples: y_true.len() / n_outputs,
        }
    }
}

/// Column `j` of row-major data with `stride` columns, as `(y, p)` pairs widened to `f64`.
fn pairs<'a>(
    y_true: &'a [f32],
    y_pred: &'a [f32],
    stride: usize,
    j: usize,
) -> impl Iterator<Item = (f64, f64)> + Clone + 'a {
    let col = |v: &'a [f32]| v.iter().skip(j).step_by(stride).map(|&x| f64::from(x));
    col(y_true).zip(col(y_pred))
}

/// Mean of the values, `NaN` when there are none.
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// One term of MAPE.
fn ape((y, p): (f64, f64)) -> f64 {
    (y - p).abs() / y.abs().max(f64::EPSILON)
}

/// One term of SMAPE.
fn sape((y, p): (f64, f64)) -> f64 {
    let den = y.abs() + p.abs();
    if den == 0.0 {
        0.0
    } else {
        2.0 * (y - p).abs() / den
    }
}

fn r2_column(y_true: &[f32], y_pred: &[f32], stride: usize, j: usize) -> f64 {
    let data = pairs(y_true, y_pred, stride, j);
    let y_mean = mean(data.clone().map(|(y, _)| y));
    if y_mean.is_nan() {
        // Empty (or NaN in y_true, where the sums below would be NaN anyway).
        return f64::NAN;
    }
    let (ss_res, ss_tot) = data.fold((0.0, 0.0), |(res, tot), (y, p)| {
        (res + (y - p) * (y - p), tot + (y - y_mean) * (y - y_mean))
    });
    if ss_res.is_nan() {
        f64::NAN
    } else if ss_tot == 0.0 {
        if ss_res == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - ss_res / ss_tot
    }
}

/// `max |y - p|`; `NaN` when empty or when any difference is `NaN`.
fn max_abs(mut data: impl Iterator<Item = (f64, f64)>) -> f64 {
    let Some((y, p)) = data.next() else {
        return f64::NAN;
    };
    data.fold((y - p).abs(), |acc, (y, p)| {
        let d = (y - p).abs();
        if acc.is_nan() || d.is_nan() {
            f64::NAN
        } else {
            acc.max(d)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::test_util::assert_close;

    // Golden values below were printed by crates/mlp/tests/fixtures/metrics_golden.py
    // (scikit-learn 1.9.1, NumPy 2.4.6; SMAPE with NumPy); the inputs are copied from that
    // script verbatim. Order: mse, rmse, mae, mape, smape, r2, max_error.

    fn check_single(y_true: &[f32], y_pred: &[f32], want: [f64; 7]) {
        assert_close(mse(y_true, y_pred), want[0]);
        assert_close(rmse(y_true, y_pred), want[1]);
        assert_close(mae(y_true, y_pred), want[2]);
        assert_close(mape(y_true, y_pred), want[3]);
        assert_close(smape(y_true, y_pred), want[4]);
        assert_close(r2(y_true, y_pred), want[5]);
        assert_close(max_error(y_true, y_pred), want[6]);
        check_report(y_true, y_pred, 1, want);
    }

    fn check_report(y_true: &[f32], y_pred: &[f32], n_outputs: usize, want: [f64; 7]) {
        let r = RegressionReport::compute(y_true, y_pred, n_outputs);
        let got = [r.mse, r.rmse, r.mae, r.mape, r.smape, r.r2, r.max_error];
        for (name, (g, w)) in ["mse", "rmse", "mae", "mape", "smape", "r2", "max_error"]
            .iter()
            .zip(got.into_iter().zip(want))
        {
            eprintln!("{name}: got {g}, want {w}");
            assert_close(g, w);
        }
        assert_eq!(r.n_samples, y_true.len() / n_outputs);
    }

    #[test]
    fn single_output_matches_sklearn() {
        let y_true = [3.0, -0.5, 2.0, 7.0, 1.5, 4.25, -2.0, 0.1];
        let y_pred = [2.5, 0.0, 2.1, 8.0, 1.0, 4.0, -2.5, 0.3];
        check_single(
            &y_true,
            &y_pred,
            [
                0.264062498137356,
                0.5138701179649932,
                0.44374998938292265,
                0.5002100873863746,
                0.5058450323781348,
                0.9630162545042056,
                1.0,
            ],
        );
    }

    #[test]
    fn zeros_in_y_true_match_sklearn_mape_and_numpy_smape() {
        let y_true = [0.0, 1.0, 0.0, -2.0, 0.5];
        let y_pred = [0.0, 1.5, 0.25, -1.0, 0.0];
        check_single(
            &y_true,
            &y_pred,
            [
                0.3125,
                0.5590169943749475,
                0.45,
                225179981368525.2,
                1.0133333333333332,
                0.6995192307692308,
                1.0,
            ],
        );
    }

    #[test]
    fn multi_output_with_a_constant_imperfect_output_matches_sklearn() {
        #[rustfmt::skip]
        let y_true = [
            1.0, 0.5, 2.0,
            2.0, -1.0, 2.0,
            3.0, 0.0, 2.0,
            4.0, 2.5, 2.0,
            5.0, 1.0, 2.0,
        ];
        #[rustfmt::skip]
        let y_pred = [
            1.5, 0.25, 2.0,
            1.75, -0.5, 2.5,
            3.25, 0.1, 1.75,
            3.5, 2.0, 2.0,
            5.5, 1.5, 2.25,
        ];
        check_report(
            &y_true,
            &y_pred,
            3,
            [
                0.13816666668653488,
                0.36592576263552185,
                0.3233333334326744,
                30023997963195.938,
                0.3513775287892935,
                // Per output: 0.9125, 0.8772388059256682, 0.0 (constant, imperfect).
                0.5965796019752228,
                0.5,
            ],
        );
    }

    #[test]
    fn multi_output_with_a_constant_perfect_output_matches_sklearn() {
        let y_true = [1.0, -3.0, 2.0, -3.0, 4.0, -3.0, 8.0, -3.0];
        let y_pred = [1.5, -3.0, 2.5, -3.0, 3.0, -3.0, 7.0, -3.0];
        check_report(
            &y_true,
            &y_pred,
            2,
            [
                0.3125,
                0.39528470752104744,
                0.375,
                0.140625,
                0.13015873015873014,
                // Per output: 0.9130434782608696, 1.0 (constant, perfect).
                0.9565217391304348,
                1.0,
            ],
        );
        // Multi-output RMSE is the mean of per-output RMSEs, not the root of the mean MSE.
        let r = RegressionReport::compute(&y_true, &y_pred, 2);
        assert!((r.rmse - r.mse.sqrt()).abs() > 0.1);
    }

    #[test]
    fn hand_checked_small_cases() {
        // Errors 1, -1, 2 (y - p): MSE 2, MAE 4/3, max 2.
        let y = [1.0, 2.0, 4.0];
        let p = [0.0, 3.0, 2.0];
        assert_eq!(mse(&y, &p), 2.0);
        assert_eq!(rmse(&y, &p), 2f64.sqrt());
        assert_close(mae(&y, &p), 4.0 / 3.0);
        assert_close(mape(&y, &p), (1.0 + 0.5 + 0.5) / 3.0);
        assert_close(smape(&y, &p), (2.0 + 0.4 + 2.0 * 2.0 / 6.0) / 3.0);
        // ȳ = 7/3, SS_tot = 16/9 + 1/9 + 25/9 = 42/9, SS_res = 6.
        assert_close(r2(&y, &p), 1.0 - 6.0 / (42.0 / 9.0));
        assert_eq!(max_error(&y, &p), 2.0);
        // Predicting the mean gives R² = 0; a perfect prediction 1.
        assert_close(r2(&[1.0, 3.0], &[2.0, 2.0]), 0.0);
        assert_eq!(r2(&y, &y), 1.0);
        // Constant y: 1 if perfect, 0 otherwise (never -inf or NaN).
        assert_eq!(r2(&[5.0, 5.0], &[5.0, 5.0]), 1.0);
        assert_eq!(r2(&[5.0, 5.0], &[5.0, 6.0]), 0.0);
        // SMAPE: both zero -> term 0; opposite signs -> the maximum 2.
        assert_eq!(smape(&[0.0, 0.0], &[0.0, 0.0]), 0.0);
        assert_eq!(smape(&[1.0], &[-1.0]), 2.0);
        assert_eq!(smape(&[0.0], &[3.0]), 2.0);
        // MAPE: the denominator of a zero target is f64::EPSILON.
        assert_eq!(mape(&[0.0], &[1.0]), 1.0 / f64::EPSILON);
        assert_eq!(mape(&[0.0], &[0.0]), 0.0);
    }

    #[test]
    fn accumulates_in_f64() {
        // 1e6 errors of 1e-4 (as f32): an f32 running sum drifts visibly, an f64 one does not.
        let n = 1_000_000;
        let y = vec![1.0f32; n];
        let p = vec![1.0f32 + 1e-4; n];
        let e = f64::from(1.0f32 + 1e-4) - 1.0;
        assert_close(mae(&y, &p), e);
        assert_close(mse(&y, &p), e * e);
    }

    #[test]
    fn nan_propagates() {
        let y = [1.0, f32::NAN, 3.0];
        let p = [1.0, 2.0, 3.0];
        for f in [mse, rmse, mae, mape, smape, r2, max_error] {
            assert!(f(&y, &p).is_nan());
            assert!(f(&p, &y).is_nan());
        }
    }

    #[test]
    fn empty_inputs_give_nan_not_a_panic() {
        for f in [mse, rmse, mae, mape, smape, r2, max_error] {
            assert!(f(&[], &[]).is_nan());
        }
        let r = RegressionReport::compute(&[], &[], 2);
        for v in [r.mse, r.rmse, r.mae, r.mape, r.smape, r.r2, r.max_error] {
            assert!(v.is_nan());
        }
        assert_eq!(r.n_samples, 0);
    }

    #[test]
    fn report_round_trips_json() {
        let r = RegressionReport::compute(&[1.0, 2.0, 3.0, 4.0], &[1.5, 2.0, 2.5, 4.0], 2);
        let json = serde_json::to_string(&r).expect("serialize");
        let back: RegressionReport = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, r);
    }

    #[test]
    #[should_panic(expected = "metrics::mse: y_true has 2 elements but y_pred has 1")]
    fn length_mismatch_panics_with_a_clear_message() {
        mse(&[1.0, 2.0], &[1.0]);
    }

    #[test]
    #[should_panic(expected = "5 values do not form rows of n_outputs = 2")]
    fn ragged_multi_output_panics() {
        RegressionReport::compute(&[0.0; 5], &[0.0; 5], 2);
    }

    #[test]
    #[should_panic(expected = "n_outputs = 0")]
    fn zero_outputs_panics() {
        RegressionReport::compute(&[], &[], 0);
    }
}
