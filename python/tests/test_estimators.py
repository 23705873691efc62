"""The estimators in scikit-learn's machinery, pandas tables, persistence and interruption."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlp

pd = pytest.importorskip("pandas")


def small_clf(**kw):
    kw.setdefault("hidden", (16,))
    kw.setdefault("epochs", 60)
    kw.setdefault("lr", 0.01)
    kw.setdefault("threads", 1)
    return mlp.MLPClassifier(**kw)


def small_reg(**kw):
    kw.setdefault("hidden", (16,))
    kw.setdefault("epochs", 60)
    kw.setdefault("lr", 0.01)
    kw.setdefault("threads", 1)
    return mlp.MLPRegressor(**kw)


@pytest.fixture
def clf_data():
    return make_classification(n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=0)


@pytest.fixture
def reg_data():
    return make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)


def test_classifier_learns_and_labels(clf_data):
    X, y = clf_data
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = small_clf().fit(X, labels)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert clf.n_features_in_ == 6
    assert clf.score(X, labels) > 0.8
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.decision_function(X).shape == (200, 3)
    assert clf.n_iter_ == len(clf.loss_curve_) > 0


def test_numeric_labels_sorted_like_numpy():
    # The engine sorts numeric labels numerically; classes_ must follow np.unique.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = np.repeat([10, 2, 1], 30)
    X[:, 0] += 3 * y
    clf = small_clf(epochs=100).fit(X, y)
    assert list(clf.classes_) == [1, 2, 10]
    assert clf.score(X, y) > 0.9


def test_regressor_single_and_multi_output(reg_data):
    X, y = reg_data
    reg = small_reg(epochs=150).fit(X, y)
    assert reg.predict(X).shape == (200,)
    assert reg.score(X, y) > 0.8
    Y = np.column_stack([y, -2 * y])
    multi = small_reg(epochs=150).fit(X, Y)
    assert multi.predict(X).shape == (200, 2)
    assert multi.n_outputs_ == 2


def test_pipeline_gridsearch_cross_val(clf_data):
    X, y = clf_data
    pipe = make_pipeline(StandardScaler(), small_clf(epochs=30))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.6
    grid = GridSearchCV(small_clf(epochs=30), {"hidden": [(8,), (16,)], "lr": [None, 0.01]}, cv=2)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"hidden", "lr"}
    assert grid.score(X, y) > 0.6


def test_dataframe_with_text_columns():
    rng = np.random.default_rng(1)
    n = 150
    color = rng.choice(["red", "green", "blue"], size=n)
    size = rng.normal(size=n)
    y = np.where((color == "red") | (size > 1.0), "yes", "no")
    X = pd.DataFrame({"color": color, "size": size})
    clf = small_clf(epochs=100).fit(X, y)
    assert list(clf.feature_names_in_) == ["color", "size"]
    assert clf.score(X, y) > 0.9
    # An unseen category encodes as all zeros instead of failing.
    new = pd.DataFrame({"color": ["purple", "red"], "size": [0.0, 0.0]})
    assert clf.predict(new).shape == (2,)
    # Missing cells: an error unless impute is set.
    Xm = X.copy()
    Xm.loc[3, "size"] = np.nan
    with pytest.raises(ValueError, match="missing"):
        small_clf().fit(Xm, y)
    assert small_clf(impute="mean").fit(Xm, y).predict(Xm).shape == (n,)


def test_pickle_and_save_round_trip(tmp_path, clf_data):
    X, y = clf_data
    clf = small_clf().fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))
    path = tmp_path / "model.safetensors"
    clf.save(path)
    loaded = mlp.load(path)
    assert isinstance(loaded, mlp.MLPClassifier)
    assert list(loaded.classes_) == list(clf.classes_)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_same_seed_same_model(reg_data):
    X, y = reg_data
    a = small_reg(seed=3).fit(X, y).predict(X)
    b = small_reg(seed=3).fit(X, y).predict(X)
    c = small_reg(seed=4).fit(X, y).predict(X)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_partial_fit(clf_data):
    X, y = clf_data
    clf = small_clf()
    clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    assert list(clf.classes_) == [0, 1, 2]
    first = clf.score(X, y)
    for _ in range(5):
        clf.partial_fit(X, y, epochs=5)
    assert clf.score(X, y) > first
    with pytest.raises(ValueError):
        clf.partial_fit(X[:, :3], y)


def test_partial_fit_first_batch_lacks_a_class(clf_data):
    X, y = clf_data
    keep = y != 2
    clf = small_clf().partial_fit(X[keep], y[keep], classes=[0, 1, 2])
    assert clf.predict_proba(X).shape == (200, 3)
    clf.partial_fit(X, y, epochs=20)
    assert 2 in set(clf.predict(X))


def test_sample_weight_changes_the_fit(reg_data):
    X, y = reg_data
    w = np.ones(len(y))
    w[:100] = 0.0
    a = small_reg().fit(X, y).predict(X)
    b = small_reg().fit(X, y, sample_weight=w).predict(X)
    assert not np.array_equal(a, b)


def test_bad_settings_are_value_errors(clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match="activation|unknown"):
        small_clf(activation="nope").fit(X, y)
    with pytest.raises(ValueError):
        small_clf(hidden=(0,)).fit(X, y)


def test_keyboard_interrupt_stops_training(clf_data):
    import _thread
    import threading

    X, y = make_classification(n_samples=4000, n_features=20, random_state=0)
    clf = small_clf(hidden=(256, 256), epochs=100000, batch_size=16, early_stopping=False)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    finally:
        timer.cancel()
    # Training stopped cleanly: the weights of the last step are kept and usable.
    assert clf.predict(X[:5]).shape == (5,)
    assert 0 < clf.n_iter_ < 100000


def test_numpy_fast_path_equals_table_path(clf_data, reg_data):
    # A numpy array is read as a matrix; a DataFrame goes through the text table. Same weights.
    X, y = clf_data
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    a = small_clf().fit(X, y)
    b = small_clf().fit(frame, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(frame))
    with pytest.warns(UserWarning, match="feature names"):
        assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    X, y = reg_data
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    w = np.linspace(0.5, 2.0, len(y))
    a = small_reg().fit(X, y, sample_weight=w)
    b = small_reg().fit(frame, y, sample_weight=w)
    assert np.array_equal(a.predict(X), b.predict(frame))
