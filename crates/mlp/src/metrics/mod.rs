//! Evaluation metrics for classification and regression, with scikit-learn's definitions.
//!
//! # Conventions
//!
//! * **Inputs are plain slices.** Class labels are `usize` in `0..n_classes`; predicted
//!   probabilities and regression values are `f32`, row-major (`n_samples x n_classes` or
//!   `n_samples x n_outputs`). Multi-output regression data is row-major too.
//! * **Results are `f64`**, and every sum is accumulated in `f64` (each `f32` is widened first),
//!   so a metric over millions of samples loses no precision to the inputs' type.
//! * **Definitions follow scikit-learn** (the version the tests were checked against is named in
//!   `crates/mlp/tests/fixtures/metrics_golden.py`, the script that produced the golden values):
//!   ratios with a zero denominator count as 0 (`zero_division=0`), macro averages run over the
//!   labels present in `y_true` or `y_pred`, weighted averages weight by true support, ROC AUC
//!   handles tied scores by the trapezoid rule (equivalently, midranks). Each function's
//!   documentation gives its formula and any place where it departs from scikit-learn.
//! * **Validated inputs.** The engine calls these functions with inputs it has already checked, so
//!   mismatched lengths or out-of-range labels are programming errors: the functions `assert!`
//!   with a message naming the function and the two lengths (documented under `# Panics`).
//! * **Empty inputs give `NaN`** (and `None` for ROC AUC), never a panic: a metric over no samples
//!   is undefined, and `NaN` makes that visible in a report. Note that `serde_json` writes `NaN`
//!   as `null`, which does not read back into an `f64`; reports of empty sets do not round-trip
//!   through JSON.
//!
//! ```
//! use mlp::metrics::{accuracy, mse, ClassificationReport};
//! assert_eq!(accuracy(&[0, 1, 1, 2], &[0, 1, 2, 2]), 0.75);
//! assert_eq!(mse(&[1.0, 2.0], &[1.5, 2.0]), 0.125);
//! let report = ClassificationReport::compute(&[0, 1], &[0, 1], Some(&[0.75, 0.25, 0.5, 0.5]), 2);
//! assert_eq!(report.roc_auc, Some(1.0));
//! ```

pub mod calibration;
pub mod classification;
pub mod forecast;
pub mod multilabel;
pub mod regression;

pub use calibration::{ECE_BINS, ReliabilityBin, brier, ece};
pub use classification::{
    Average, ClassificationReport, PrecisionRecallF1, accuracy, balanced_accuracy,
    confusion_matrix, log_loss, precision_recall_f1, roc_auc_binary, roc_auc_ovr_macro,
};
pub use multilabel::MultiLabelReport;
pub use regression::{RegressionReport, mae, mape, max_error, mse, r2, rmse, smape};

/// Panics unless two inputs that must pair up element by element have the same length.
#[track_caller]
fn assert_same_len(what: &str, a_name: &str, a: usize, b_name: &str, b: usize) {
    assert_eq!(
        a, b,
        "metrics::{what}: {a_name} has {a} elements but {b_name} has {b}; they must match"
    );
}

#[cfg(test)]
pub(crate) mod test_util {
    /// Asserts `got` is within 1e-9 relative of `want` (exactly equal when `want` is 0).
    #[track_caller]
    pub(crate) fn assert_close(got: f64, want: f64) {
        let tol = 1e-9 * want.abs();
        assert!(
            (got - want).abs() <= tol,
            "got {got:e}, want {want:e} (diff {:e}, tolerance {tol:e})",
            (got - want).abs()
        );
    }

    #[test]
    fn assert_close_rejects_a_relative_error_above_1e9() {
        assert_close(1.0 + 5e-10, 1.0);
        assert_close(0.0, 0.0);
        assert!(std::panic::catch_unwind(|| assert_close(1.0 + 2e-9, 1.0)).is_err());
        assert!(std::panic::catch_unwind(|| assert_close(1e-300, 0.0)).is_err());
        assert!(std::panic::catch_unwind(|| assert_close(f64::NAN, 1.0)).is_err());
    }
}
