"""The scikit-learn estimator checks these estimators are expected to fail, with the reason."""

from __future__ import annotations


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
    return {}
