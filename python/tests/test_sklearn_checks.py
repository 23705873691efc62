"""scikit-learn's own estimator checks over both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

import mlp


# Small settings keep the suite fast; the checks clone the estimators and reset nothing else.
@parametrize_with_checks(
    [
        mlp.MLPClassifier(hidden=(16,), epochs=200, threads=1),
        mlp.MLPRegressor(hidden=(16,), epochs=200, threads=1),
    ],
    expected_failed_checks=mlp.expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
