"""Looking inside a trained network: the engine of ``mlp analyze`` (spectral diagnostics)."""

from __future__ import annotations

import json
from typing import Any

from sklearn.utils.validation import check_is_fitted

from ._mlp import Model

__all__ = ["analyze"]


def analyze(model) -> dict[str, Any]:
    """Heavy-tailed spectral diagnostics of every weight matrix, as ``mlp analyze --json``.

    For each weight matrix ``W`` (every block kind that has one): the eigenvalues of ``W^T W``,
    the power-law fit of their tail (Clauset-Shalizi-Newman MLE, ``xmin`` by the smallest
    Kolmogorov-Smirnov distance, as weightwatcher), ``alpha_hat = alpha * log10(lambda_max)``,
    spectral norm, stable rank, log-Frobenius norm, SETOL's detX condition and the
    Marchenko-Pastur bulk edge with the number of spikes. See ``docs/diagnostics.md``.

    Parameters
    ----------
    model : MLPClassifier, MLPRegressor or Model
        A fitted estimator, or a :class:`Model` (e.g. from :func:`mlp.load`'s ``model_``).

    Returns
    -------
    report : dict
        ``{"layers": [{"name", "shape": [out, in], "alpha", "alpha_hat", "xmin",
        "ks_distance", "num_tail", "spectral_norm", "stable_rank", ...}, ...]}``, the same
        keys and values as ``mlp analyze --json``. ``alpha`` and the fit's fields are None for
        a matrix whose spectrum has too few eigenvalues to fit.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> import mlp
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = mlp.MLPClassifier(hidden=(64,), epochs=5, seed=0).fit(X, y)
    >>> report = mlp.analyze(clf)
    >>> [layer["shape"] for layer in report["layers"]]
    [[64, 64], [10, 64]]
    """
    if not isinstance(model, Model):
        check_is_fitted(model)
        model = model.model_
    return {"layers": json.loads(model.spectra_json())}
