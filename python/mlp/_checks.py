"""The scikit-learn estimator checks these estimators are expected to fail, with the reason."""

from __future__ import annotations

_SAMPLE_WEIGHT = (
    "a row of weight k is not the same fit as k copies of it: minibatch optimizers draw the k "
    "copies in different batches (a different number of steps), the feature scaler and the "
    "regression-target scaling are fit on rows without their weights (as `mlp train` does), "
    "and even full-batch lbfgs with standardize=False differs in float32 rounding (~1e-5)"
)
_SUBSET = (
    "the engine computes in float32 with GEMM kernels that block rows by batch size, so a "
    "row's outputs in a batch of 20 and in a batch of 80 may differ by one float32 ulp "
    "(~2e-7 relative), above the check's rtol=1e-7"
)
_SUBSET_REGRESSOR = _SUBSET + (
    "; the regressor's outputs on the check's 20 rows happen to agree with seed 0 (the check "
    "then XPASSes), but not in general: it failed for 30 of 40 seed x thread settings "
    "measured (seeds 0-19, threads 1 and 2)"
)


def expected_failed_checks(estimator) -> dict[str, str]:
    """Checks of ``sklearn.utils.estimator_checks`` that do not apply, with the reason.

    Pass it to ``parametrize_with_checks(..., expected_failed_checks=mlp.expected_failed_checks)``
    or ``check_estimator(est, expected_failed_checks=mlp.expected_failed_checks(est))``.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        The estimator being checked.

    Returns
    -------
    dict of str to str
        Check name to the reason it cannot pass.
    """
    return {
        "check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT,
        "check_methods_subset_invariance": (
            _SUBSET_REGRESSOR if type(estimator).__name__ == "MLPRegressor" else _SUBSET
        ),
    }
