"""docs/python.md is a notebook: its Python blocks run, in order, in one namespace."""

import pathlib
import re
import shutil

import pytest

from conftest import DATA, ROOT

DOC = ROOT / "docs" / "python.md"


@pytest.mark.skipif(not DOC.exists(), reason="docs/python.md is not beside this checkout")
def test_walkthrough_runs(tmp_path, monkeypatch):
    pytest.importorskip("pandas")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 5
    # The walk-through reads the iris CSV by its repository path and writes model files.
    (tmp_path / "crates" / "mlp" / "data").mkdir(parents=True)
    shutil.copy(DATA / "iris.csv", tmp_path / "crates" / "mlp" / "data" / "iris.csv")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{DOC.name} block {i + 1}", "exec"), namespace)
        except Exception as e:  # name the block that failed
            raise AssertionError(f"block {i + 1} of {DOC}:\n{block}") from e
    assert pathlib.Path("iris.safetensors").exists()
