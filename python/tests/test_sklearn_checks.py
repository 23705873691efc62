"""scikit-learn's own estimator checks over both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

import mlp


# The defaults (with `mlp train`'s automatic model selection on every data set of 40 rows or
# more); one thread keeps the runs deterministic whatever the machine.
@parametrize_with_checks(
    [
        mlp.MLPClassifier(threads=1),
        mlp.MLPRegressor(threads=1),
    ],
    expected_failed_checks=mlp.expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
