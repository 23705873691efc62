import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "crates" / "mlp" / "data"


def cli_binary():
    """The release CLI binary, if built (MLP_CLI overrides)."""
    env = os.environ.get("MLP_CLI")
    if env:
        return pathlib.Path(env)
    for p in (ROOT / "target" / "release" / "mlp", ROOT / "target" / "release" / "mlp.exe"):
        if p.exists():
            return p
    return None


@pytest.fixture
def iris_path():
    return DATA / "iris.csv"
