"""Time-series forecasting over the engine's forecaster (``mlp forecast``)."""

from __future__ import annotations

import numpy as np

from . import _mlp

__all__ = ["Forecaster"]


def _time_cells(index):
    """The index as the time column's text: ISO dates (or date-times), or numbers."""
    import pandas as pd

    if isinstance(index, pd.DatetimeIndex):
        if index.tz is not None:
            index = index.tz_convert("UTC").tz_localize(None)
        if (index == index.normalize()).all():
            return [t.strftime("%Y-%m-%d") for t in index]
        return [t.strftime("%Y-%m-%dT%H:%M:%S") for t in index]
    return np.asarray(index, dtype=np.float64)


def _parse_times(texts, like):
    import pandas as pd

    if isinstance(like, pd.DatetimeIndex):
        return pd.DatetimeIndex(pd.to_datetime(texts), name=like.name)
    return pd.Index([float(t) for t in texts], name=like.name)


class Forecaster:
    """Neural forecaster of one or several series, with prediction intervals.

    The engine of ``mlp forecast``: lags chosen from the data (autocorrelation / mutual
    information and Cao's method) unless given, windows normalized to their last value, a
    recursive MLP, and intervals from the validation residuals. Defaults are the engine's.

    Parameters
    ----------
    horizon : int, default=12
        Steps ahead it is trained to forecast.
    hidden : tuple of int, default=(64,)
        Hidden layer widths.
    epochs : int, default=400
        Maximum epochs.
    lr : float, default=1e-3
        Learning rate.
    batch_size : int, default=32
        Minibatch size.
    patience : int, default=40
        Early-stopping patience (0: none).
    val_fraction : float, default=0.15
        Share of the history (its end) held out for early stopping and the intervals.
    lags : tuple (tau, dim) or None, default=None
        The lag embedding; None chooses it from the data (up to ``max_lags`` elements).
    max_lags : int, default=12
        Largest embedding dimension tried when ``lags`` is None.
    fill : {"linear", "previous", "zero"} or None, default=None
        How to fill gaps in the time grid and missing values (None: they are errors).
    seed : int, default=0
        Random seed.
    threads : int, default=0
        Worker threads (0: all cores).

    Examples
    --------
    >>> import pandas as pd, numpy as np, mlp
    >>> t = pd.date_range("2020-01-01", periods=300, freq="D")
    >>> y = pd.Series(np.sin(np.arange(300) / 7.0) + 2, index=t, name="load")
    >>> f = mlp.Forecaster(horizon=14, epochs=50).fit(y)
    >>> f.predict().columns.tolist()
    ['load', 'load_lower', 'load_upper']
    """

    def __init__(
        self,
        horizon=12,
        hidden=(64,),
        epochs=400,
        lr=1e-3,
        batch_size=32,
        patience=40,
        val_fraction=0.15,
        lags=None,
        max_lags=12,
        fill=None,
        seed=0,
        threads=0,
    ):
        self.horizon = horizon
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.patience = patience
        self.val_fraction = val_fraction
        self.lags = lags
        self.max_lags = max_lags
        self.fill = fill
        self.seed = seed
        self.threads = threads

    def _params(self):
        p = {k: getattr(self, k) for k in ("horizon", "epochs", "lr", "batch_size", "patience", "val_fraction", "max_lags", "fill", "seed", "threads")}
        p["hidden"] = [int(h) for h in self.hidden]
        if self.lags is not None:
            p["lags"] = tuple(int(v) for v in self.lags)
        return p

    @staticmethod
    def _frame(y):
        import pandas as pd

        if isinstance(y, pd.Series):
            return y.to_frame(name=str(y.name) if y.name is not None else "y")
        if isinstance(y, pd.DataFrame):
            return y
        raise TypeError("y must be a pandas Series or DataFrame with a time index")

    def _columns(self, frame, exog):
        import pandas as pd

        time = self.time_column_
        cols = [(time, _time_cells(frame.index))]
        for name in self.targets_:
            cols.append((name, frame[name].to_numpy(dtype=np.float64, na_value=np.nan)))
        if exog is not None:
            for name in self.exog_:
                cols.append((name, pd.Series(exog[name]).reindex(frame.index).to_numpy(dtype=np.float64, na_value=np.nan)))
        return cols

    def fit(self, y, exog=None):
        """Fit on the history ``y``.

        Parameters
        ----------
        y : pandas Series or DataFrame
            The series (a DataFrame: one column per target), indexed by time: a regular
            DatetimeIndex or numbers.
        exog : pandas DataFrame, default=None
            Exogenous columns on the same index whose future values are known (give them to
            ``predict``).

        Returns
        -------
        self : Forecaster
            The fitted forecaster.
        """
        frame = self._frame(y)
        self.targets_ = [str(c) for c in frame.columns]
        frame.columns = self.targets_
        self.exog_ = [] if exog is None else [str(c) for c in exog.columns]
        taken = set(self.targets_) | set(self.exog_)
        self.time_column_ = str(frame.index.name) if frame.index.name is not None and str(frame.index.name) not in taken else "time"
        self.history_ = frame
        self.exog_history_ = exog
        cols = self._columns(frame, exog)
        self.model_ = _mlp.fit_forecaster(cols, self.time_column_, self.targets_, self.exog_, self._params())
        return self

    def predict(self, steps=None, *, exog=None, level=0.9, intervals=True, history=None):
        """Forecast ``steps`` ahead of the end of the history.

        Parameters
        ----------
        steps : int, default=None
            Steps to forecast (None: the horizon).
        exog : pandas DataFrame, default=None
            Future exogenous values, indexed by the future times (needed when fitted with
            ``exog``).
        level : float, default=0.9
            Interval coverage.
        intervals : bool, default=True
            Whether to add the ``<target>_lower`` / ``<target>_upper`` columns.
        history : pandas Series or DataFrame, default=None
            Forecast from this history instead of the fitted one (same columns and step).

        Returns
        -------
        forecast : pandas DataFrame
            Indexed by the future times: one column per target, plus the interval bounds.
        """
        import pandas as pd

        frame = self.history_ if history is None else self._frame(history)
        frame = frame.copy()
        frame.columns = [str(c) for c in frame.columns]
        ex = None
        if self.exog_:
            if exog is None:
                raise ValueError(f"this forecaster uses exogenous columns {self.exog_}; give their future values as exog")
            past = self.exog_history_ if history is None else None
            if past is None:
                raise ValueError("with history=..., give exog covering the history and the future")
            ex = pd.concat([past[self.exog_], exog[self.exog_]])
            future = exog.index.difference(frame.index)
            frame = frame.reindex(frame.index.append(future))
        cols = self._columns(frame, ex)
        steps = self.model_.horizon if steps is None else int(steps)
        out = self.model_.forecast(cols, steps, level, intervals, self.fill, self.seed)
        index = _parse_times(out["times"], frame.index)
        data = {}
        for k, name in enumerate(self.targets_):
            data[name] = out["values"][k]
            if out["lower"] is not None:
                data[f"{name}_lower"] = out["lower"][k]
                data[f"{name}_upper"] = out["upper"][k]
        return pd.DataFrame(data, index=index)

    def save(self, path):
        """Write the forecaster's model file (``mlp forecast --model PATH`` reads it).

        Parameters
        ----------
        path : str or os.PathLike
            Where to write; replaced atomically.
        """
        self.model_.save(path)
