"""The Python estimators train the same model as `mlp train` on the same table, seed and settings.

With the release CLI built (target/release/mlp, or MLP_CLI), the CLI trains here and its model is
compared with the Python one. Without it, the comparison is against probabilities the CLI
produced once and stored in tests/data (regenerate with `python tests/test_cli_parity.py`).
"""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

import mlp

pd = pytest.importorskip("pandas")

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from conftest import DATA, cli_binary  # noqa: E402

STORED = HERE / "data" / "cli_iris_proba.csv"
# Settings given to both sides (the CLI's flags and the estimator's parameters).
FLAGS = ["--hidden", "16", "--epochs", "40", "--seed", "5", "--threads", "1", "--lr", "0.01"]
PARAMS = dict(hidden=(16,), epochs=40, seed=5, threads=1, lr=0.01)


def cli_train(tmp_path, csv, target, extra=(), flags=FLAGS):
    cli = cli_binary()
    out = tmp_path / "cli.safetensors"
    subprocess.run(
        [str(cli), "train", "--data", str(csv), "--target", target, "--out", str(out), "-q", *flags, *extra],
        check=True,
    )
    return mlp.load(out)


def write_csv(path, X, y):
    # repr() is the shortest text that parses back to the same float, as the bindings write.
    header = ",".join(f"x{j}" for j in range(X.shape[1])) + ",y"
    lines = [header] + [",".join(repr(float(v)) for v in (*row, t)) for row, t in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")


def iris():
    frame = pd.read_csv(DATA / "iris.csv")
    return frame.drop(columns="species"), frame["species"].to_numpy()


@pytest.mark.skipif(cli_binary() is not None, reason="the live CLI comparison below runs instead")
def test_iris_classifier_matches_stored_cli_output():
    X, y = iris()
    clf = mlp.MLPClassifier(**PARAMS).fit(X, y)
    stored = pd.read_csv(STORED)
    assert list(stored.columns) == list(clf.classes_)
    np.testing.assert_allclose(clf.predict_proba(X), stored.to_numpy(), rtol=0, atol=1e-6)


@pytest.mark.skipif(cli_binary() is None, reason="release CLI not built")
def test_iris_classifier_equals_cli(tmp_path):
    X, y = iris()
    clf = mlp.MLPClassifier(**PARAMS).fit(X, y)
    cli = cli_train(tmp_path, DATA / "iris.csv", "species")
    assert list(cli.classes_) == list(clf.classes_)
    assert np.array_equal(cli.predict_proba(X), clf.predict_proba(X))
    assert cli.model_.history == clf.model_.history or [h["train_loss"] for h in cli.model_.history] == clf.loss_curve_


@pytest.mark.skipif(cli_binary() is None, reason="release CLI not built")
def test_numpy_regressor_equals_cli(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)) * [1.0, 10.0, 0.1]
    y = X @ [1.0, 0.2, -3.0] + rng.normal(scale=0.1, size=120)
    csv = tmp_path / "reg.csv"
    write_csv(csv, X, y)
    reg = mlp.MLPRegressor(**PARAMS).fit(X, y)
    cli = cli_train(tmp_path, csv, "y")
    assert np.array_equal(cli.predict(X), reg.predict(X))


# The defaults on both sides: `mlp train`'s automatic model selection, then the chosen network.
DEFAULT_FLAGS = ["--threads", "1"]


@pytest.mark.skipif(cli_binary() is None, reason="release CLI not built")
def test_default_classifier_selects_as_the_cli(tmp_path):
    X, y = iris()
    clf = mlp.MLPClassifier(threads=1).fit(X, y)
    cli = cli_train(tmp_path, DATA / "iris.csv", "species", flags=DEFAULT_FLAGS)
    assert clf.selection_ is not None
    assert cli.selection_ == clf.selection_
    assert np.array_equal(cli.predict_proba(X), clf.predict_proba(X))


@pytest.mark.skipif(cli_binary() is None, reason="release CLI not built")
@pytest.mark.parametrize("rows", [200, 1600])
def test_default_regressor_selects_as_the_cli(tmp_path, rows):
    # 200 rows: 5-fold cross-validation; 1600: a hold-out.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(rows, 4))
    y = np.tanh(X[:, 0] * 2) + X[:, 1] * X[:, 2] + rng.normal(scale=0.2, size=rows)
    csv = tmp_path / "reg.csv"
    write_csv(csv, X, y)
    reg = mlp.MLPRegressor(threads=1).fit(X, y)
    cli = cli_train(tmp_path, csv, "y", flags=DEFAULT_FLAGS)
    assert reg.selection_ is not None
    assert cli.selection_ == reg.selection_
    assert np.array_equal(cli.predict(X), reg.predict(X))
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    # The text-table path (a DataFrame) selects and trains the same.
    assert np.array_equal(mlp.MLPRegressor(threads=1).fit(frame, y).predict(frame), reg.predict(X))


@pytest.mark.skipif(cli_binary() is None, reason="release CLI not built")
def test_default_with_text_columns_selects_as_the_cli(tmp_path):
    # One-hot columns pass the scaler untouched in the folds as in the final fit.
    rng = np.random.default_rng(2)
    n = 120
    color = rng.choice(["red", "green", "blue"], size=n)
    x = rng.normal(size=n)
    label = np.where(x + (color == "red") * 1.5 + rng.normal(scale=0.5, size=n) > 0.7, "yes", "no")
    # repr(): the shortest text that parses back to the same float, as the bindings write.
    pd.DataFrame({"x": [repr(float(v)) for v in x], "color": color, "label": label}).to_csv(csv := tmp_path / "t.csv", index=False)
    frame = pd.DataFrame({"x": x, "color": color, "label": label})
    assert pd.api.types.is_float_dtype(pd.read_csv(csv)["x"].dtype)
    X = frame.drop(columns="label")
    clf = mlp.MLPClassifier(threads=1).fit(X, frame["label"].to_numpy())
    cli = cli_train(tmp_path, csv, "label", flags=DEFAULT_FLAGS)
    assert cli.selection_ == clf.selection_
    assert np.array_equal(cli.predict_proba(X), clf.predict_proba(X))


if __name__ == "__main__":
    # Regenerate the stored CLI output (needs the release CLI).
    import tempfile

    X, _ = iris()
    with tempfile.TemporaryDirectory() as d:
        model = cli_train(pathlib.Path(d), DATA / "iris.csv", "species")
    pd.DataFrame(model.predict_proba(X), columns=list(model.classes_)).to_csv(STORED, index=False, float_format="%.9g")
    print(f"wrote {STORED}")
