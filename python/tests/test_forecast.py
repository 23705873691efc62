"""mlp.Forecaster on pandas series with a time index."""

import numpy as np
import pytest

import mlp

pd = pytest.importorskip("pandas")


def daily(n=240):
    t = pd.date_range("2021-01-01", periods=n, freq="D")
    return pd.Series(np.sin(np.arange(n) / 6.0) + 3.0, index=t, name="load")


def test_forecast_with_intervals_on_dates():
    y = daily()
    f = mlp.Forecaster(horizon=10, epochs=40, threads=1).fit(y)
    out = f.predict()
    assert list(out.columns) == ["load", "load_lower", "load_upper"]
    assert len(out) == 10
    assert out.index[0] == y.index[-1] + pd.Timedelta(days=1)
    assert (out["load_lower"] <= out["load"]).all() and (out["load"] <= out["load_upper"]).all()
    # A sine of amplitude 1 around 3: forecasts stay in range.
    assert out["load"].between(1.0, 5.0).all()
    assert list(f.predict(4, intervals=False).columns) == ["load"]


def test_same_seed_same_forecast_and_save(tmp_path):
    y = daily()
    a = mlp.Forecaster(horizon=5, epochs=20, threads=1, seed=1).fit(y).predict()
    f = mlp.Forecaster(horizon=5, epochs=20, threads=1, seed=1).fit(y)
    pd.testing.assert_frame_equal(a, f.predict())
    f.save(tmp_path / "f.safetensors")
    assert (tmp_path / "f.safetensors").stat().st_size > 0


def test_numeric_index_and_exog():
    n = 200
    y = pd.DataFrame({"a": np.sin(np.arange(n) / 5.0), "b": np.cos(np.arange(n) / 5.0)})
    out = mlp.Forecaster(horizon=3, epochs=20, threads=1).fit(y).predict()
    assert list(out.columns) == ["a", "a_lower", "a_upper", "b", "b_lower", "b_upper"]
    assert list(out.index) == [200.0, 201.0, 202.0]
    t = pd.date_range("2021-01-01", periods=n, freq="D")
    ex = pd.DataFrame({"temp": np.arange(n, dtype=float)}, index=t)
    ys = pd.Series(np.sin(np.arange(n) / 5.0), index=t, name="y")
    f = mlp.Forecaster(horizon=4, epochs=20, threads=1).fit(ys, exog=ex)
    future = pd.DataFrame({"temp": np.arange(n, n + 4, dtype=float)}, index=pd.date_range(t[-1] + pd.Timedelta(days=1), periods=4, freq="D"))
    assert len(f.predict(exog=future)) == 4
    with pytest.raises(ValueError, match="exog"):
        f.predict()


def test_bad_series_is_a_value_error():
    t = pd.date_range("2021-01-01", periods=50, freq="D")
    y = pd.Series(np.arange(50, dtype=float), index=t, name="y")
    y.iloc[10] = np.nan
    with pytest.raises(ValueError):
        mlp.Forecaster(epochs=5).fit(y)
