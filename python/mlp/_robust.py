"""Adversarial attacks and robustness certificates for a fitted :class:`MLPClassifier`.

The engine of ``mlp attack`` and ``mlp verify``. ``eps`` is in the features' own units (a
numeric column's units, as in the data given to ``fit``); one-hot (text) columns are never
perturbed.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["attack", "verify"]


def _prepare(clf, X, y):
    check_is_fitted(clf)
    if not hasattr(clf, "classes_"):
        raise TypeError("attack and verify apply to a fitted MLPClassifier")
    cols, _, n, mat = clf._columns(X, reset=False)
    y = np.asarray(y).ravel()
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)} labels")
    index = {c: i for i, c in enumerate(clf.classes_.tolist())}
    try:
        # Output index of each label: classes_[i] is the model's output clf._perm[i].
        classes = [int(clf._perm[index[v]]) for v in y.tolist()]
    except KeyError as e:
        raise ValueError(f"label {e.args[0]!r} is not in classes_") from None
    return cols, classes, mat


def attack(clf, X, y, eps, *, method="pgd", steps=20):
    """Adversarial examples: each row moved within ``eps`` (L-inf) to make ``clf`` err.

    Parameters
    ----------
    clf : MLPClassifier
        A fitted classifier.
    X : array-like of shape (n_samples, n_features)
        Numeric rows (an array, or a DataFrame whose text columns stay as they are).
    y : array-like of shape (n_samples,)
        The true labels.
    eps : float
        Largest change of each numeric feature, in its own units.
    method : {"pgd", "fgsm"}, default="pgd"
        Projected gradient descent (``steps`` steps) or the one-step fast gradient sign method.
    steps : int, default=20
        PGD steps.

    Returns
    -------
    X_adv : ndarray of shape (n_samples, n_encoded_features)
        The adversarial rows as encoded features (for numeric data: the columns of ``X``).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import mlp
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = mlp.MLPClassifier(hidden=(16,), epochs=100, lr=0.01, seed=3, threads=1).fit(X, y)
    >>> X_adv = mlp.attack(clf, X, y, eps=0.3)
    >>> bool(np.abs(X_adv - X).max() <= 0.3 + 1e-4)
    True
    >>> clf.score(X_adv, y) < clf.score(X, y)
    True
    """
    cols, classes, mat = _prepare(clf, X, y)
    out = clf.model_.attack(cols, classes, float(eps), method, int(steps), mat)
    return np.asarray(out, dtype=np.float64)


def verify(clf, X, y, eps, *, method="crown"):
    """Rows proved robust: no change within ``eps`` (L-inf) can change ``clf``'s prediction
    away from the true label.

    Parameters
    ----------
    clf : MLPClassifier
        A fitted classifier.
    X : array-like of shape (n_samples, n_features)
        The rows.
    y : array-like of shape (n_samples,)
        The true labels.
    eps : float
        Radius in the numeric features' own units.
    method : {"crown", "ibp"}, default="crown"
        CROWN (tighter) or interval bound propagation (faster); bounds computed in f64.

    Returns
    -------
    proved : ndarray of bool, shape (n_samples,)
        True where robustness is proved. False means "not proved", not "attackable"; the
        share of True rows is the verified accuracy, a lower bound on accuracy under attack.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import mlp
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = mlp.MLPClassifier(hidden=(16,), epochs=100, lr=0.01, seed=3, threads=1).fit(X, y)
    >>> proved = mlp.verify(clf, X, y, eps=0.02)
    >>> bool(proved.mean() > 0.5)
    True
    """
    cols, classes, mat = _prepare(clf, X, y)
    return np.asarray(clf.model_.verify(cols, classes, float(eps), method, mat), dtype=bool)
