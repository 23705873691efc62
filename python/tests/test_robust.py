"""mlp.attack and mlp.verify on a fitted classifier."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

import mlp


@pytest.fixture(scope="module")
def iris_clf():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = mlp.MLPClassifier(hidden=(16,), epochs=100, lr=0.01, seed=3, threads=1).fit(X, names)
    return clf, X, names


def test_attacks_stay_in_the_ball_and_hurt(iris_clf):
    clf, X, y = iris_clf
    for method in ("fgsm", "pgd"):
        adv = mlp.attack(clf, X, y, eps=0.2, method=method)
        assert adv.shape == X.shape
        assert np.abs(adv - X).max() <= 0.2 + 1e-4
        assert clf.score(adv, y) < clf.score(X, y)
    # PGD is at least as strong as FGSM here.
    assert clf.score(mlp.attack(clf, X, y, eps=0.2), y) <= clf.score(mlp.attack(clf, X, y, eps=0.2, method="fgsm"), y)


def test_verified_rows_survive_the_attack(iris_clf):
    clf, X, y = iris_clf
    for eps in (0.02, 0.1):
        ibp = mlp.verify(clf, X, y, eps, method="ibp")
        crown = mlp.verify(clf, X, y, eps)
        assert not np.any(ibp & ~crown)  # CROWN proves every row IBP proves
        attacked_ok = clf.predict(mlp.attack(clf, X, y, eps)) == y
        assert np.all(attacked_ok[crown])  # soundness: a proved row resists PGD
        assert ibp.sum() <= crown.sum() <= attacked_ok.sum()


def test_bad_arguments(iris_clf):
    clf, X, y = iris_clf
    with pytest.raises(ValueError, match="method"):
        mlp.attack(clf, X, y, 0.1, method="cw")
    with pytest.raises(ValueError, match="not in classes_"):
        mlp.verify(clf, X[:2], ["setosa", "rose"], 0.1)
    with pytest.raises(ValueError):
        mlp.verify(clf, X, y[:3], 0.1)
