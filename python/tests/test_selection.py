"""The default: `mlp train`'s automatic model selection; what turns it off; partial_fit."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

import mlp

pd = pytest.importorskip("pandas")

CANDIDATES = ["linear", "mlp", "wide_deep"]


def test_default_fit_selects_and_reports_the_table():
    X, y = make_classification(n_samples=120, n_features=5, n_informative=3, random_state=0)
    clf = mlp.MLPClassifier(threads=1).fit(X, y)
    assert clf.selected_ in CANDIDATES
    sel = clf.selection_
    assert sel["chosen"] == clf.selected_
    assert sel["rows"] == 120
    assert sel["plan"] == {"kind": "cross_validation", "folds": 5, "stratified": True}
    table = pd.DataFrame(sel["candidates"])
    assert list(table["candidate"]) == CANDIDATES
    assert set(table.columns) >= {"params", "val_loss", "val_loss_std", "val_metric", "epochs"}
    assert np.isfinite(table["val_loss"]).all()
    # The linear candidate has one weight per feature and class pair plus the biases.
    assert table["params"][0] == 5 * 2 + 2
    # The final fit trained for the chosen candidate's epochs (Adam) or converged (L-BFGS).
    if clf.selected_ != "linear":
        assert clf.n_iter_ == sel["epochs"]
    assert clf.score(X, y) > 0.8


def test_a_larger_table_is_scored_on_a_hold_out():
    X, y = make_regression(n_samples=1600, n_features=4, noise=1.0, random_state=0)
    reg = mlp.MLPRegressor(threads=1).fit(X, y)
    assert reg.selection_["plan"] == {"kind": "hold_out", "rows": 240}
    assert reg.score(X, y) > 0.9


@pytest.mark.parametrize(
    "param",
    [
        {"hidden": (100,)},
        {"activation": "relu"},
        {"optimizer": "adam"},
        {"lr": 1e-3},
        {"epochs": 200},
        {"batch_size": 200},
        {"weight_decay": 1e-4},
        {"dropout": 0.0},
        {"arch": "mlp"},
        {"schedule": "constant"},
        {"early_stopping": True},
        {"validation_fraction": 0.1},
        {"patience": 20},
        {"standardize": True},
    ],
)
def test_a_parameter_that_fixes_the_model_turns_selection_off(param):
    # As `mlp train --epochs 200` (the default value, given) skips the selection.
    X, y = make_regression(n_samples=60, n_features=3, noise=0.1, random_state=1)
    reg = mlp.MLPRegressor(threads=1, **param).fit(X, y)
    assert reg.selected_ is None and reg.selection_ is None
    fixed = mlp.MLPRegressor(threads=1, hidden=(100,)).fit(X, y)
    if set(param) <= {"hidden", "activation", "optimizer", "lr", "epochs", "batch_size",
                      "weight_decay", "dropout", "arch", "schedule", "early_stopping",
                      "patience", "standardize"}:
        # Naming a default value explicitly trains the fixed default network.
        assert np.array_equal(reg.predict(X), fixed.predict(X))


def test_settings_that_do_not_fix_the_model_keep_selection():
    X, y = make_classification(n_samples=80, n_features=4, random_state=2)
    for kw in ({"seed": 3}, {"class_weight": "balanced"}, {"label_smoothing": 0.1}, {"clip_grad_norm": 5.0}):
        assert mlp.MLPClassifier(threads=1, **kw).fit(X, y).selected_ in CANDIDATES


def test_tiny_data_trains_the_fixed_network():
    # Below 40 rows (mlp::train::select::MIN_ROWS) there is nothing to select on, as in the CLI.
    X, y = make_regression(n_samples=39, n_features=3, random_state=0)
    reg = mlp.MLPRegressor(threads=1).fit(X, y)
    assert reg.selection_ is None
    assert np.array_equal(reg.predict(X), mlp.MLPRegressor(threads=1, hidden=(100,)).fit(X, y).predict(X))
    X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    assert mlp.MLPRegressor(threads=1).fit(X, y).selection_ is not None


def test_selection_is_deterministic_and_survives_pickle_and_save(tmp_path):
    X, y = make_classification(n_samples=100, n_features=4, random_state=3)
    a = mlp.MLPClassifier(threads=1, seed=4).fit(X, y)
    b = mlp.MLPClassifier(threads=1, seed=4).fit(X, y)
    assert a.selection_ == b.selection_
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    assert c.selection_ == a.selection_
    a.save(tmp_path / "m.safetensors")
    d = mlp.load(tmp_path / "m.safetensors")
    assert d.selected_ == a.selected_ and d.selection_ == a.selection_


def test_hidden_must_be_auto_or_widths():
    X, y = make_regression(n_samples=50, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="auto"):
        mlp.MLPRegressor(hidden="big").fit(X, y)


def test_first_partial_fit_is_the_fixed_default_network():
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    clf = mlp.MLPClassifier(threads=1).partial_fit(X, y, classes=[0, 1])
    assert clf.selection_ is None
    # One hidden layer of 100: 5*100 + 100 + 100*2 + 2 parameters.
    ref = mlp.MLPClassifier(threads=1, hidden=(100,), epochs=1, early_stopping=False, validation_fraction=0.0).fit(X, y)
    assert np.array_equal(clf.predict_proba(X), ref.predict_proba(X))


def test_partial_fit_keeps_the_optimizer_state():
    X, y = make_regression(n_samples=150, n_features=4, noise=0.1, random_state=0)
    reg = mlp.MLPRegressor(threads=1)
    reg.partial_fit(X[:50], y[:50])  # one epoch, one batch: one step
    assert reg.model_.optimizer_steps == 1
    reg.partial_fit(X[50:100], y[50:100], epochs=3)
    assert reg.model_.optimizer_steps == 4  # continued, not restarted
    # Continuing differs from restarting: a pickled copy has no optimizer state.
    restarted = pickle.loads(pickle.dumps(reg))
    assert restarted.model_.optimizer_steps is None
    reg.partial_fit(X[100:], y[100:])
    restarted.partial_fit(X[100:], y[100:])
    assert reg.model_.optimizer_steps == 5
    assert restarted.model_.optimizer_steps == 1
    assert not np.array_equal(reg.predict(X), restarted.predict(X))


def test_partial_fit_after_fit_continues_the_fit_optimizer():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    clf = mlp.MLPClassifier(threads=1, hidden=(16,), epochs=5, early_stopping=False).fit(X, y)
    steps = clf.model_.optimizer_steps
    assert steps == 5
    clf.partial_fit(X, y)
    assert clf.model_.optimizer_steps == steps + 1
    # A change of optimizer starts it afresh.
    clf.set_params(optimizer="sgd")
    clf.partial_fit(X, y)
    assert clf.model_.optimizer_steps == 1
