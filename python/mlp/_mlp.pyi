"""Type stubs of the native module ``mlp._mlp`` (the Rust half of the package)."""

import os
from collections.abc import Sequence
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt

__version__: str

# A table column: float64 values (NaN = missing) or text cells (None = missing).
Column = Union[npt.NDArray[np.float64], Sequence[Optional[str]]]

class Model:
    """A trained model: network, input encoding and target encoding (the CLI's model file)."""

    def spectra_json(self) -> str:
        """Spectral diagnostics of every weight matrix: the JSON text of ``mlp analyze --json``'s
        ``"layers"`` list."""

    @property
    def task(self) -> str:
        """``"classification"``, ``"regression"`` or ``"multi-label"``."""
    @property
    def class_labels(self) -> list[str]:
        """Class labels in output order (empty for regression)."""
    @property
    def input_columns(self) -> list[str]:
        """The raw input columns the model reads, in order."""
    @property
    def target_columns(self) -> list[str]:
        """The target column names."""
    @property
    def n_features(self) -> int:
        """Encoded features the network takes (after one-hot expansion)."""
    @property
    def history(self) -> list[dict[str, Any]]:
        """Per-epoch records: epoch, train_loss, val_loss, val_metric, lr."""
    @property
    def selection(self) -> Optional[dict[str, Any]]:
        """The automatic model selection that chose the network (plan, rows, chosen, epochs,
        reason, candidates), or None when none ran."""
    @property
    def optimizer_steps(self) -> Optional[int]:
        """Optimizer updates taken so far (None for a loaded or unpickled model)."""
    @property
    def outcome(self) -> Optional[str]:
        """How training ended."""
    def predict(
        self,
        columns: Sequence[tuple[str, Column]],
        logits: bool = False,
        matrix: Optional[npt.NDArray[np.float64]] = None,
    ) -> dict[str, npt.NDArray[np.float32]]:
        """Predicts named columns (or a float64 matrix of numeric columns): ``proba`` or
        ``values``, and ``logits`` when asked."""
    def attack(
        self,
        columns: Sequence[tuple[str, Column]],
        classes: Sequence[int],
        eps: float,
        method: str = "pgd",
        steps: int = 20,
        matrix: Optional[npt.NDArray[np.float64]] = None,
    ) -> npt.NDArray[np.float32]:
        """FGSM/PGD adversarial rows (encoded, unscaled units); classes are output indices."""
    def verify(
        self,
        columns: Sequence[tuple[str, Column]],
        classes: Sequence[int],
        eps: float,
        method: str = "crown",
        matrix: Optional[npt.NDArray[np.float64]] = None,
    ) -> list[bool]:
        """Rows proved robust within eps by IBP or CROWN."""
    def save(self, path: Union[str, os.PathLike[str]]) -> None:
        """Writes the model file atomically."""
    def to_bytes(self) -> bytes:
        """The bytes of the model file."""
    def __reduce__(self) -> tuple[Any, tuple[bytes]]: ...

def fit(
    columns: Sequence[tuple[str, Column]],
    target: str,
    task: str,
    outputs: int,
    params: dict[str, Any],
    weight_column: Optional[str] = None,
    matrix: Optional[npt.NDArray[np.float64]] = None,
    names: Optional[Sequence[str]] = None,
) -> tuple[Model, Optional[BaseException]]:
    """Trains on named columns as ``mlp train`` does (with ``matrix``: features from the matrix,
    named ``names``; ``columns`` then holds targets and weights); returns the model and the
    exception that interrupted training (KeyboardInterrupt), if any."""

def partial_fit(
    model: Model,
    columns: Sequence[tuple[str, Column]],
    epochs: int,
    params: dict[str, Any],
    seed: int,
    weight_column: Optional[str] = None,
    matrix: Optional[npt.NDArray[np.float64]] = None,
) -> tuple[Model, Optional[BaseException]]:
    """Continues training ``model`` on new rows for ``epochs`` epochs."""

def load(path: Union[str, os.PathLike[str]]) -> Model:
    """Loads a model file."""

def from_bytes(data: bytes) -> Model:
    """A model from the bytes of a model file."""

class Forecaster:
    """A trained forecaster (network, lags, scaling, interval residuals)."""

    @property
    def time_column(self) -> str: ...
    @property
    def targets(self) -> list[str]: ...
    @property
    def exog(self) -> list[str]: ...
    @property
    def horizon(self) -> int: ...
    def forecast(
        self,
        columns: Sequence[tuple[str, Column]],
        steps: int,
        level: float = 0.9,
        intervals: bool = True,
        fill: Optional[str] = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        """``times`` (text), ``values``, ``lower``, ``upper`` (per target, per step)."""
    def save(self, path: Union[str, os.PathLike[str]]) -> None:
        """Writes the forecaster's model file atomically."""

def fit_forecaster(
    columns: Sequence[tuple[str, Column]],
    time: str,
    targets: Sequence[str],
    exog: Sequence[str],
    params: dict[str, Any],
) -> Forecaster:
    """Fits a forecaster as ``mlp forecast`` does."""

def load_forecaster(path: Union[str, os.PathLike[str]]) -> Forecaster:
    """Loads a forecaster file."""
