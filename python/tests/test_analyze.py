"""mlp.analyze: the same spectral report as `mlp analyze --json` on the same model file."""

import json
import subprocess

import numpy as np
import pytest
from sklearn.datasets import load_digits

import mlp
from conftest import cli_binary


@pytest.fixture(scope="module")
def digits_clf():
    X, y = load_digits(return_X_y=True)
    return mlp.MLPClassifier(hidden=(64, 32), epochs=10, seed=1, threads=1).fit(X, y)


def test_report_has_every_weight_matrix_with_its_shape(digits_clf):
    report = mlp.analyze(digits_clf)
    shapes = [layer["shape"] for layer in report["layers"]]
    assert shapes == [[64, 64], [32, 64], [10, 32]]
    first = report["layers"][0]
    # 64 eigenvalues: a tail is fitted, alpha_hat is alpha * log10(lambda_max).
    assert first["alpha"] is not None and first["alpha"] > 1.0
    lmax = first["spectral_norm"]  # weightwatcher's name for the largest eigenvalue of W^T W
    assert first["alpha_hat"] == pytest.approx(first["alpha"] * np.log10(lmax), rel=1e-9)
    # The same report from a Model as from the estimator.
    assert mlp.analyze(digits_clf.model_) == report


def test_unfitted_estimator_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        mlp.analyze(mlp.MLPClassifier())


def test_equals_the_cli(digits_clf, tmp_path):
    cli = cli_binary()
    if cli is None:
        pytest.skip("the release CLI is not built (cargo build --release)")
    path = tmp_path / "digits.safetensors"
    digits_clf.save(path)
    out = subprocess.run(
        [str(cli), "analyze", "--model", str(path), "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(out)["layers"] == mlp.analyze(mlp.load(path))["layers"]
