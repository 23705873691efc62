"""scikit-learn estimators over the native engine (``mlp._mlp``).

Every fit and predict goes through the engine's table path, the one ``mlp train --data FILE
--target COL`` and ``mlp predict`` use: a numpy array becomes numeric columns ``x0, x1, ...``,
a pandas DataFrame keeps its column names and its text columns are one-hot encoded by the same
encoders as the CLI's. So a model trained here equals the CLI's on the same table, settings and
seed, and ``save`` writes the CLI's model file.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import _mlp

__all__ = ["MLPClassifier", "MLPRegressor", "load", "expected_failed_checks"]

# The estimator parameters that the native trainer reads (the rest are Python-side only).
_TRAIN_KEYS = (
    "hidden",
    "activation",
    "optimizer",
    "momentum",
    "lr",
    "epochs",
    "batch_size",
    "weight_decay",
    "schedule",
    "dropout",
    "arch",
    "early_stopping",
    "validation_fraction",
    "patience",
    "standardize",
    "impute",
    "clip_grad_norm",
    "label_smoothing",
    "class_weight",
    "seed",
    "threads",
)


# Parameters that fix the network or how it trains: any of them set (not None), like the
# matching `mlp train` flag given, turns the automatic model selection off (see `_selects`).
_FIXES_THE_MODEL = (
    "activation",
    "optimizer",
    "momentum",
    "lr",
    "epochs",
    "batch_size",
    "weight_decay",
    "schedule",
    "dropout",
    "arch",
    "early_stopping",
    "validation_fraction",
    "patience",
    "standardize",
)


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _free_name(base, taken):
    """A column name not among ``taken``: ``base``, else ``base_1``, ``base_2``, ..."""
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    return name


def _frame_columns(X, names):
    """(name, column) pairs of a DataFrame: numeric columns as float64 arrays (NaN = missing),
    other columns as text cells (None = missing)."""
    import pandas as pd

    out = []
    for j, name in enumerate(names):
        s = X.iloc[:, j]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            out.append((name, s.to_numpy(dtype=np.float64, na_value=np.nan)))
        else:
            out.append((name, [None if _missing(v) else str(v) for v in s.tolist()]))
    return out


def _missing(v):
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN, NaT, pd.NA
    except (TypeError, ValueError):
        return False


def _engine_order(classes):
    """``classes`` in the engine's label order: numerically when every label is a number,
    otherwise by the bytes of their text (see the preprocess module's docs)."""
    texts = [str(c).strip() for c in classes]
    try:
        keys = [float(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: keys[i])
    except ValueError:
        order = sorted(range(len(texts)), key=lambda i: texts[i].encode())
    return [classes[i] for i in order]


def _first_partial(epochs):
    """Settings of a first ``partial_fit`` call: no model selection (one batch is not the data),
    ``epochs`` epochs on the batch, no validation split or early stopping; the network is the
    fixed default unless the parameters say otherwise."""
    return dict(epochs=epochs, early_stopping=False, validation_fraction=0.0, select=False)


def _label_cells(y):
    return [str(v) for v in y.tolist()]


class _MLPBase(BaseEstimator):
    """Shared machinery of :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _task = ""

    # -- parameters -------------------------------------------------------------------------
    def _selects(self):
        """Whether ``fit`` chooses the network as ``mlp train`` does by default: ``hidden`` is
        "auto" and no parameter that fixes the network or its training is set."""
        hidden = getattr(self, "hidden", "auto")
        if not (hidden is None or (isinstance(hidden, str) and hidden == "auto")):
            return False
        return all(getattr(self, k, None) is None for k in _FIXES_THE_MODEL)

    def _train_params(self, **override):
        params = {k: getattr(self, k) for k in _TRAIN_KEYS if hasattr(self, k)}
        hidden = params.get("hidden")
        if isinstance(hidden, str):
            if hidden != "auto":
                raise ValueError(f'hidden must be "auto" or a tuple of layer widths, got {hidden!r}')
            hidden = None
        if hidden is not None:
            if isinstance(hidden, numbers.Integral):
                hidden = [hidden]
            hidden = [int(h) for h in hidden]
        params["hidden"] = hidden
        params["select"] = self._selects()
        params.update(override)
        return params

    # -- input ------------------------------------------------------------------------------
    def _columns(self, X, *, reset, y="no_validation"):
        """Validates ``X`` (and ``y`` when given) and returns the (name, column) pairs, ``y``
        validated, the number of rows, and the float64 matrix when ``X`` is a numeric array
        without missing cells (else None)."""
        fitting = not (isinstance(y, str) and y == "no_validation")
        if fitting and y is None:
            raise ValueError(
                f"This {type(self).__name__} estimator requires y to be passed, but the target y is None."
            )
        allow_nan = getattr(self, "impute", None) is not None
        if _is_dataframe(X):
            validate_data(self, X, reset=reset, skip_check_array=True)
            names = [str(c) for c in X.columns]
            if X.shape[0] < 1:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
            if reset:
                self._input_names = names
            else:
                names = list(self._input_names)
            cols = _frame_columns(X, names)
            n = X.shape[0]
            mat = None
            if fitting:
                y = self._check_y(y)
                check_consistent_length(X, y)
        else:
            kwargs = dict(
                reset=reset,
                dtype=np.float64,
                ensure_all_finite="allow-nan" if allow_nan else True,
            )
            if fitting:
                X, y = validate_data(self, X, y, **self._y_kwargs(), **kwargs)
                y = self._check_y(y)
            else:
                X = validate_data(self, X, **kwargs)
            if reset:
                self._input_names = [f"x{j}" for j in range(X.shape[1])]
            cols = [(name, X[:, j]) for j, name in enumerate(self._input_names)]
            n = X.shape[0]
            # Without missing cells the engine reads the matrix itself (same encoding, no text).
            mat = None if np.isnan(X).any() else X
        return cols, y, n, mat

    def _y_kwargs(self):
        return {}

    def _check_y(self, y):
        return y

    def _weight(self, sample_weight, n, X, cols):
        if sample_weight is None:
            return None, None
        sw = _check_sample_weight(sample_weight, np.empty((n, 0)), dtype=np.float64, ensure_non_negative=True)
        name = _free_name("sample_weight", {c for c, _ in cols})
        return name, sw

    # -- fitting ------------------------------------------------------------------------------
    def _store(self, result):
        model, interrupt = result
        self.model_ = model
        self.selection_ = model.selection
        self.selected_ = None if self.selection_ is None else self.selection_["chosen"]
        history = model.history
        self.loss_curve_ = [h["train_loss"] for h in history]
        self.n_iter_ = len(history)
        if interrupt is not None:
            raise interrupt

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = getattr(self, "impute", None) is not None
        tags.input_tags.categorical = True
        return tags

    def _predict_dict(self, X, logits=False):
        check_is_fitted(self)
        cols, _, _, mat = self._columns(X, reset=False)
        return self.model_.predict(cols, logits, mat)

    # -- persistence --------------------------------------------------------------------------
    def save(self, path):
        """Write the model file (the CLI's format: ``mlp predict --model PATH`` reads it).

        Parameters
        ----------
        path : str or os.PathLike
            Where to write; the file is replaced atomically.
        """
        check_is_fitted(self)
        self.model_.save(path)


class MLPClassifier(ClassifierMixin, _MLPBase):
    """Multilayer-perceptron classifier trained by the ``mlp`` engine.

    The defaults are those of ``mlp train``. By default the network is chosen as ``mlp train``
    chooses it (automatic model selection): a linear model (logistic regression, L2, L-BFGS),
    one hidden layer of 100 ReLU units, and a wide-and-deep network (a linear skip path plus 100
    ReLU units) are scored by 5-fold cross-validation up to 1500 samples, else on a 15%
    hold-out, each early-stopped on its held-out rows; the lowest mean validation loss wins
    (a larger candidate must beat a simpler one by more than 1%), and the winner is refit on
    all samples. Below 40 samples, or when any parameter that fixes the network or its
    training is set (``hidden`` other than "auto", or any of ``activation`` to
    ``standardize`` below not None), no selection runs and the fixed network trains, the
    defaults of the parameters left None filled in: exactly as the matching ``mlp train``
    flags turn the selection off. ``selected_`` and ``selection_`` tell what was chosen.

    Parameters
    ----------
    hidden : "auto" or tuple of int, default="auto"
        Hidden layer widths; "auto": chosen by the model selection (without selection, the
        fixed default is one layer of 100).
    activation : str or None, default=None
        Hidden activation: relu, leaky_relu, elu, gelu, silu, tanh, sigmoid, softplus,
        identity (None: relu).
    optimizer : str or None, default=None
        sgd, nesterov, adam, adamw, rmsprop or lbfgs (None: adam).
    lr : float or None, default=None
        Learning rate (None: the optimizer's default).
    epochs : int or None, default=None
        Maximum epochs (None: 200).
    batch_size : int or None, default=None
        Minibatch size (None: 200).
    weight_decay : float or None, default=None
        L2 weight decay (None: 1e-4).
    dropout : float or None, default=None
        Dropout after each hidden layer (None: 0).
    arch : str or None, default=None
        Architecture family (as ``mlp train --arch``): mlp, resmlp, kan, ... (None: mlp).
    schedule : str or None, default=None
        Learning-rate schedule (as ``mlp train --schedule``; None: constant).
    momentum : float or None, default=None
        Momentum of sgd, nesterov and rmsprop.
    early_stopping : bool or None, default=None
        Stop when the validation (or, without a validation part, the training) loss stops
        improving for ``patience`` epochs, keeping the best weights (None: True).
    validation_fraction : float or None, default=None
        Fraction held out (stratified) for early stopping; None: 10% from 5000 samples up,
        none below (as ``mlp train``).
    patience : int or None, default=None
        Early-stopping patience in epochs (None: 20).
    standardize : bool or None, default=None
        Standardize numeric features (None: True).
    impute : {"mean", "median", "most-frequent"} or None, default=None
        How to fill missing cells (None: a missing cell is an error).
    clip_grad_norm : float or None, default=None
        Gradient-norm clipping.
    label_smoothing : float, default=0.0
        Label smoothing of the cross-entropy loss.
    class_weight : "balanced", dict, list of float or None, default=None
        Class weights in the loss: ``"balanced"``, a dict from label to weight (absent labels
        weigh 1), or one weight per class in the engine's label order (as ``mlp train
        --class-weight``).
    seed : int, default=0
        Random seed (initialization, shuffling, split, dropout).
    threads : int, default=0
        Worker threads (0: all cores). The same seed and thread count give identical weights.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names.
    model_ : mlp.Model
        The trained native model.
    selected_ : str or None
        The network the model selection chose ("linear", "mlp" or "wide_deep"), or None when
        no selection ran.
    selection_ : dict or None
        The selection's table, as ``mlp train`` prints it: ``plan`` (how the candidates were
        scored), ``plan_text``, ``rows``, ``chosen``, ``epochs`` (of the refit on all
        samples), ``reason``, and ``candidates``, one dict per candidate (``candidate``,
        ``network``, ``params``, ``val_loss``, ``val_loss_std``, ``val_metric``: mean
        validation accuracy, ``epochs``); ``pandas.DataFrame(selection_["candidates"])``
        shows it as a table. None when no selection ran.
    loss_curve_ : list of float
        Training loss per epoch (of the final fit).
    n_iter_ : int
        Epochs run.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import mlp
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = mlp.MLPClassifier(hidden=(16,), epochs=100, lr=0.01, seed=7).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _task = "classify"

    def __init__(
        self,
        hidden="auto",
        activation=None,
        optimizer=None,
        lr=None,
        epochs=None,
        batch_size=None,
        weight_decay=None,
        dropout=None,
        arch=None,
        schedule=None,
        momentum=None,
        early_stopping=None,
        validation_fraction=None,
        patience=None,
        standardize=None,
        impute=None,
        clip_grad_norm=None,
        label_smoothing=0.0,
        class_weight=None,
        seed=0,
        threads=0,
    ):
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.arch = arch
        self.schedule = schedule
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.standardize = standardize
        self.impute = impute
        self.clip_grad_norm = clip_grad_norm
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.seed = seed
        self.threads = threads

    def _check_y(self, y):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def _fit(self, X, y, sample_weight, classes=None, **override):
        cols, y, n, mat = self._columns(X, reset=True, y=y)
        found = np.unique(y)
        classes = found if classes is None else np.unique(np.asarray(classes))
        extra = [c for c in classes if c not in set(found.tolist())]
        if len(set(found.tolist()) - set(classes.tolist())):
            raise ValueError(f"y has labels not in classes: {sorted(set(found.tolist()) - set(classes.tolist()))}")
        target = _free_name("y", {c for c, _ in cols})
        wname, sw = self._weight(sample_weight, n, X, cols)
        labels = _label_cells(y)
        if extra:
            # Classes announced to partial_fit but absent from this batch: rows of weight 0
            # (copies of the first row) make the label encoding know them.
            k = len(extra)
            cols = [
                (name, np.concatenate([c, np.repeat(c[:1], k)]) if isinstance(c, np.ndarray) else list(c) + [c[0]] * k)
                for name, c in cols
            ]
            labels = labels + _label_cells(np.asarray(extra))
            if sw is None:
                sw = np.ones(n)
            wname = wname or _free_name("sample_weight", {c for c, _ in cols})
            sw = np.concatenate([sw, np.zeros(k)])
        if extra:
            mat = None
        columns = ([] if mat is not None else list(cols)) + [(target, labels)]
        if wname is not None:
            columns.append((wname, sw))
        params = self._classifier_params(classes, **override)
        result = _mlp.fit(columns, target, "classify", len(classes), params, wname, mat, self._input_names)
        self._target_name = target
        self._set_classes(result[0], classes)
        self._store(result)
        return self

    def _classifier_params(self, classes, **override):
        params = self._train_params(**override)
        if isinstance(self.class_weight, dict):
            params["class_weight"] = [
                float(self.class_weight.get(c, 1.0)) for c in _engine_order(list(classes))
            ]
        return params

    def _set_classes(self, model, classes):
        labels = model.class_labels
        by_text = {str(c).strip(): i for i, c in enumerate(classes)}
        try:
            order = [by_text[s] for s in labels]
        except KeyError:
            raise ValueError(f"the model's class labels {labels} do not match y's classes {list(classes)}")
        self.classes_ = np.asarray(classes)
        # Column j of the model's output is class classes_[order[j]]; _perm puts classes_ order.
        perm = np.empty(len(order), dtype=np.intp)
        perm[order] = np.arange(len(order))
        self._perm = perm

    def fit(self, X, y, sample_weight=None):
        """Fit the classifier.

        Parameters
        ----------
        X : array-like or pandas DataFrame of shape (n_samples, n_features)
            Training data; a DataFrame may hold text columns (one-hot encoded).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights (>= 0, not all zero).

        Returns
        -------
        self : MLPClassifier
            The fitted estimator.
        """
        for attr in ("model_", "_partial_calls"):
            if hasattr(self, attr):
                delattr(self, attr)
        return self._fit(X, y, sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None, epochs=1):
        """Continue training on a batch for ``epochs`` epochs.

        The first call fits the encoders on this batch (``classes`` lists every class the
        later batches may hold) and builds the network without model selection: with the
        parameters left None, the fixed default (one hidden layer of 100 ReLU units, Adam,
        lr 1e-3, weight decay 1e-4, batch 200). Later calls encode with those encoders and
        continue the optimizer where the previous call (or ``fit``) left it: its moments and
        step count carry over, unless the optimizer changed or the estimator was loaded or
        unpickled (those keep the weights, not the optimizer's state). No call uses early
        stopping or a validation split.

        Parameters
        ----------
        X : array-like or pandas DataFrame of shape (n_samples, n_features)
            A batch of rows.
        y : array-like of shape (n_samples,)
            Their labels.
        classes : array-like, default=None
            All classes (needed on the first call when this batch lacks some).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.
        epochs : int, default=1
            Epochs to train on this batch.

        Returns
        -------
        self : MLPClassifier
            The estimator.
        """
        if not hasattr(self, "model_"):
            self._partial_calls = 0
            return self._fit(X, y, sample_weight, classes=classes, **_first_partial(epochs))
        if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError("classes differ from the first call's classes_")
        cols, y, n, mat = self._columns(X, reset=False, y=y)
        unknown = set(np.unique(y).tolist()) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(f"y has labels not in classes_: {sorted(unknown)}")
        wname, sw = self._weight(sample_weight, n, X, cols)
        target = self.model_.target_columns[0]
        columns = ([] if mat is not None else list(cols)) + [(target, _label_cells(y))]
        if wname is not None:
            columns.append((wname, sw))
        self._partial_calls = getattr(self, "_partial_calls", 0) + 1
        params = self._classifier_params(self.classes_)
        result = _mlp.partial_fit(self.model_, columns, int(epochs), params, int(self.seed) + self._partial_calls, wname, mat)
        self._store(result)
        return self

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like or pandas DataFrame of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        p = np.asarray(self._predict_dict(X)["proba"], dtype=np.float64)[:, self._perm]
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like or pandas DataFrame of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def decision_function(self, X):
        """Network outputs (logits) per class; for two classes, the log-odds of ``classes_[1]``.

        Parameters
        ----------
        X : array-like or pandas DataFrame of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Scores in the order of ``classes_``.
        """
        z = np.asarray(self._predict_dict(X, logits=True)["logits"], dtype=np.float64)
        if z.shape[1] == len(self._perm):
            z = z[:, self._perm]
        if len(self.classes_) == 2:
            return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z[:, 0]
        return z


class MLPRegressor(RegressorMixin, _MLPBase):
    """Multilayer-perceptron regressor trained by the ``mlp`` engine (one or several outputs).

    Targets are standardized for training and predictions come back in their units. The
    parameters are those of :class:`MLPClassifier` without ``label_smoothing`` and
    ``class_weight``; the defaults are ``mlp train``'s, including its automatic model
    selection (a linear model, i.e. ridge regression, one hidden layer, or a wide-and-deep
    network; see :class:`MLPClassifier`), which any parameter that fixes the network or its
    training turns off.

    Parameters
    ----------
    hidden : "auto" or tuple of int, default="auto"
        Hidden layer widths; "auto": chosen by the model selection (without selection, the
        fixed default is one layer of 100).
    activation : str or None, default=None
        Hidden activation (None: relu).
    optimizer : str or None, default=None
        sgd, nesterov, adam, adamw, rmsprop or lbfgs (None: adam).
    lr : float or None, default=None
        Learning rate (None: the optimizer's default).
    epochs : int or None, default=None
        Maximum epochs (None: 200).
    batch_size : int or None, default=None
        Minibatch size (None: 200).
    weight_decay : float or None, default=None
        L2 weight decay (None: 1e-4).
    dropout : float or None, default=None
        Dropout after each hidden layer (None: 0).
    arch : str or None, default=None
        Architecture family (as ``mlp train --arch``; None: mlp).
    schedule : str or None, default=None
        Learning-rate schedule (None: constant).
    momentum : float or None, default=None
        Momentum of sgd, nesterov and rmsprop.
    early_stopping : bool or None, default=None
        Stop when the validation (or training) loss stops improving for ``patience`` epochs
        (None: True).
    validation_fraction : float or None, default=None
        Fraction held out for early stopping; None: 10% from 5000 samples up, none below.
    patience : int or None, default=None
        Early-stopping patience in epochs (None: 20).
    standardize : bool or None, default=None
        Standardize numeric features (None: True).
    impute : {"mean", "median", "most-frequent"} or None, default=None
        How to fill missing cells (None: a missing cell is an error).
    clip_grad_norm : float or None, default=None
        Gradient-norm clipping.
    seed : int, default=0
        Random seed.
    threads : int, default=0
        Worker threads (0: all cores).

    Attributes
    ----------
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names.
    n_outputs_ : int
        Number of targets.
    model_ : mlp.Model
        The trained native model.
    selected_ : str or None
        The network the model selection chose ("linear", "mlp" or "wide_deep"), or None when
        no selection ran.
    selection_ : dict or None
        The selection's table (see :class:`MLPClassifier`; ``val_metric`` is the mean
        validation R²), or None when no selection ran.
    loss_curve_ : list of float
        Training loss per epoch.
    n_iter_ : int
        Epochs run.
    """

    _task = "regress"

    def __init__(
        self,
        hidden="auto",
        activation=None,
        optimizer=None,
        lr=None,
        epochs=None,
        batch_size=None,
        weight_decay=None,
        dropout=None,
        arch=None,
        schedule=None,
        momentum=None,
        early_stopping=None,
        validation_fraction=None,
        patience=None,
        standardize=None,
        impute=None,
        clip_grad_norm=None,
        seed=0,
        threads=0,
    ):
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.arch = arch
        self.schedule = schedule
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.standardize = standardize
        self.impute = impute
        self.clip_grad_norm = clip_grad_norm
        self.seed = seed
        self.threads = threads

    def _y_kwargs(self):
        return {"multi_output": True, "y_numeric": True}

    def _check_y(self, y):
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            pass
        elif y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        return y

    def _target_columns(self, y, taken):
        if y.ndim == 1:
            return [(_free_name("y", taken), y)]
        return [(_free_name(f"y{k}", taken), np.ascontiguousarray(y[:, k])) for k in range(y.shape[1])]

    def fit(self, X, y, sample_weight=None):
        """Fit the regressor.

        Parameters
        ----------
        X : array-like or pandas DataFrame of shape (n_samples, n_features)
            Training data; a DataFrame may hold text columns (one-hot encoded).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights (>= 0, not all zero).

        Returns
        -------
        self : MLPRegressor
            The fitted estimator.
        """
        for attr in ("model_", "_partial_calls"):
            if hasattr(self, attr):
                delattr(self, attr)
        return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight, **override):
        cols, y, n, mat = self._columns(X, reset=True, y=y)
        taken = {c for c, _ in cols}
        targets = self._target_columns(y, taken)
        wname, sw = self._weight(sample_weight, n, X, cols + targets)
        columns = ([] if mat is not None else list(cols)) + targets
        if wname is not None:
            columns.append((wname, sw))
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self._y_1d = y.ndim == 1
        spec = ",".join(name for name, _ in targets)
        result = _mlp.fit(columns, spec, "regress", self.n_outputs_, self._train_params(**override), wname, mat, self._input_names)
        self._store(result)
        return self

    def partial_fit(self, X, y, sample_weight=None, epochs=1):
        """Continue training on a batch for ``epochs`` epochs.

        The first call fits the encoders on this batch and builds the network without model
        selection (with the parameters left None, the fixed default: one hidden layer of 100
        ReLU units, Adam). Later calls encode with those encoders and continue the optimizer
        where the previous call (or ``fit``) left it, as :meth:`MLPClassifier.partial_fit`.
        No call uses early stopping or a validation split.

        Parameters
        ----------
        X : array-like or pandas DataFrame of shape (n_samples, n_features)
            A batch of rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Their targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.
        epochs : int, default=1
            Epochs to train on this batch.

        Returns
        -------
        self : MLPRegressor
            The estimator.
        """
        if not hasattr(self, "model_"):
            self._partial_calls = 0
            return self._fit(X, y, sample_weight, **_first_partial(epochs))
        cols, y, n, mat = self._columns(X, reset=False, y=y)
        names = self.model_.target_columns
        if y.ndim == 1:
            y = y[:, None]
        if y.shape[1] != len(names):
            raise ValueError(f"y has {y.shape[1]} outputs; the model predicts {len(names)}")
        targets = [(name, np.ascontiguousarray(y[:, k])) for k, name in enumerate(names)]
        wname, sw = self._weight(sample_weight, n, X, cols + targets)
        columns = ([] if mat is not None else list(cols)) + targets
        if wname is not None:
            columns.append((wname, sw))
        self._partial_calls = getattr(self, "_partial_calls", 0) + 1
        result = _mlp.partial_fit(self.model_, columns, int(epochs), self._train_params(), int(self.seed) + self._partial_calls, wname, mat)
        self._store(result)
        return self

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like or pandas DataFrame of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions in the targets' units (1-D when fitted on a 1-D ``y``).
        """
        v = np.asarray(self._predict_dict(X)["values"], dtype=np.float64)
        return v[:, 0] if getattr(self, "_y_1d", v.shape[1] == 1) else v

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _labels_array(labels):
    """Class labels read from a model file: numbers when every label is one."""
    for kind in (int, float):
        try:
            return np.asarray([kind(s) for s in labels])
        except ValueError:
            continue
    return np.asarray(labels, dtype=object)


def load(path):
    """Load a model file (from ``mlp train``, ``save`` or ``Model.save``) as an estimator.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    estimator : MLPClassifier or MLPRegressor
        A fitted estimator; its hyperparameters are the defaults (the file keeps the weights
        and encoders, not the Python parameters).
    """
    model = _mlp.load(path)
    if model.task == "classification":
        est = MLPClassifier()
        est._input_names = model.input_columns
        est.classes_ = _labels_array(model.class_labels)
        est._perm = np.arange(len(est.classes_))
    elif model.task == "regression":
        est = MLPRegressor()
        est._input_names = model.input_columns
        est.n_outputs_ = len(model.target_columns)
        est._y_1d = est.n_outputs_ == 1
    else:
        raise ValueError(f"{path}: a {model.task} model has no scikit-learn estimator here")
    est.model_ = model
    est.n_features_in_ = len(est._input_names)
    names = est._input_names
    if names != [f"x{j}" for j in range(len(names))]:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    history = model.history
    est.loss_curve_ = [h["train_loss"] for h in history]
    est.n_iter_ = len(history)
    est.selection_ = model.selection
    est.selected_ = None if est.selection_ is None else est.selection_["chosen"]
    return est
