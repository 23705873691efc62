"""mlp: a fast multilayer-perceptron engine for Python.

scikit-learn-compatible estimators (:class:`MLPClassifier`, :class:`MLPRegressor`) over the
Rust engine behind the ``mlp`` command-line tool: the same encoders, the same training loop,
the same model file. See ``docs/python.md`` in the repository for a walk-through.
"""

from ._mlp import Model, __version__
from ._estimators import MLPClassifier, MLPRegressor, load
from ._checks import expected_failed_checks
from ._forecast import Forecaster
from ._robust import attack, verify
from ._analyze import analyze

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "Forecaster",
    "attack",
    "verify",
    "analyze",
    "Model",
    "load",
    "expected_failed_checks",
    "__version__",
]
