#!/usr/bin/env python3
"""Our `mlp forecast backtest` (MLP and built-in statistical methods) against statsforecast's
AutoETS / AutoTheta / AutoARIMA (or statsmodels' ETS / Theta / ARIMA when statsforecast is not
installed) on real series that ship with statsmodels, over many forecast origins.

Protocol (the one `mlp forecast backtest` uses): the last 20 % of each series is the test part;
from every `stride`-th origin t in it whose whole horizon is observed, every method forecasts H
steps from the history up to t. H follows M4: 6 for yearly, 8 for quarterly, 12 (M4: 18) for
monthly series. Metrics over all (origin, step) pairs: MASE (scaled by the in-sample seasonal
naive error of the part before the test, season as detected by `mlp`), M4's sMAPE (percent),
OWA against our Naive2 on the same pairs, and the empirical coverage of 90 % intervals.

- ours: `mlp forecast backtest --data F --time date --target y --horizon H --seed 0 --json`
  with default flags apart from `--stride` (the same origins as the reference methods); the
  MLP is trained once on the part before the test (default `--refit auto`), the statistical
  methods are refitted at every origin and get conformal intervals from their own rolling
  errors.
- statsforecast (refitted at every origin, season length from the calendar: 12, 4 or 1):
  AutoETS, AutoTheta, AutoARIMA with their own 90 % prediction intervals.

Usage:
  python3 bench/compare_forecast.py [--mlp target/release/mlp] [--max-origins 24]
      [--series co2,sunspots,...] [--reference sf-autoets,sf-autotheta,sf-autoarima]
      [--out docs/forecasting/COMPARISON.md] [--json FILE] [--ours-flags '--refit every']
  python3 bench/compare_forecast.py --heldout --out docs/forecasting/COMPARISON_HELDOUT.md
      (series kept out of development: airpassengers, German bond rate, Danish money, India
      fertility)

Needs: pip install statsmodels pandas (statsforecast optional); a release build
(cargo build --release -p mlp-cli). No network access at run time. No M-competition subset is
used: the PyPI packages that provide M3/M4 (datasetsforecast) download them at run time.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
warnings.filterwarnings("ignore")


# ---------------------------------------------------------------------------------------------
# Series: (name, dates as yyyy-mm-dd strings, values, calendar season, horizon, note).


def _monthly_dates(year, month, n):
    out = []
    for i in range(n):
        m = month - 1 + i
        out.append(f"{year + m // 12:04d}-{m % 12 + 1:02d}-01")
    return out


def _yearly_dates(year, n):
    return [f"{int(year) + i:04d}-01-01" for i in range(n)]


def load_series():
    import statsmodels.api as sm

    out = {}
    co2 = sm.datasets.co2.load_pandas().data["co2"]
    co2 = co2.resample("MS").mean().interpolate()
    out["co2"] = (
        _monthly_dates(co2.index[0].year, co2.index[0].month, len(co2)),
        co2.values,
        12,
        12,
        "Mauna Loa CO2, weekly averaged to months, gaps interpolated (526 months)",
    )
    s = sm.datasets.sunspots.load_pandas().data
    out["sunspots"] = (
        _yearly_dates(s["YEAR"].iloc[0], len(s)),
        s["SUNACTIVITY"].values,
        1,
        6,
        "yearly sunspot activity 1700-2008",
    )
    m = sm.datasets.macrodata.load_pandas().data
    quarters = _monthly_dates(1959, 1, 3 * len(m))[::3]
    for col in ["realgdp", "cpi", "unemp"]:
        out[f"macro_{col}"] = (quarters, m[col].values, 4, 8, f"US quarterly {col} 1959-2009")
    nile = sm.datasets.nile.load_pandas().data
    out["nile"] = (
        _yearly_dates(nile["year"].iloc[0], len(nile)),
        nile["volume"].values,
        1,
        6,
        "yearly Nile flow at Aswan 1871-1970",
    )
    e = sm.datasets.elnino.load_pandas().data
    vals = e.drop(columns=["YEAR"]).values.reshape(-1)
    out["elnino"] = (
        _monthly_dates(int(e["YEAR"].iloc[0]), 1, len(vals)),
        vals,
        12,
        12,
        "monthly El Nino sea surface temperature 1950-2010",
    )
    return out


def load_heldout():
    """Series kept out of development (issue 13's held-out check): never looked at while the
    defaults were chosen, reported separately (`--heldout`)."""
    import statsmodels.api as sm

    out = {}
    try:
        from statsforecast.utils import AirPassengers

        out["airpassengers"] = (
            _monthly_dates(1949, 1, len(AirPassengers)),
            np.asarray(AirPassengers, float),
            12,
            12,
            "monthly airline passengers 1949-1960 (statsforecast's copy of Box & Jenkins)",
        )
    except ImportError:
        pass
    ii = sm.datasets.interest_inflation.load_pandas().data
    quarters = _monthly_dates(1972, 4, 3 * len(ii))[::3]
    out["interest_R"] = (quarters, ii["R"].values, 4, 8,
                         "German quarterly bond rate 1972-1998 (statsmodels interest_inflation)")
    dk = sm.datasets.danish_data.load_pandas().data
    quarters = _monthly_dates(1974, 1, 3 * len(dk))[::3]
    out["danish_lrm"] = (quarters, dk["lrm"].values, 4, 8,
                         "Danish quarterly log real money 1974-1987 (statsmodels danish_data, 55 steps)")
    fert = sm.datasets.fertility.load_pandas().data
    row = fert[fert["Country Code"] == "IND"].iloc[0]
    years = [c for c in fert.columns if c.isdigit()]
    vals = np.asarray([row[y] for y in years], float)
    keep = ~np.isnan(vals)
    out["fertility_india"] = (_yearly_dates(int(years[0]), int(keep.sum())), vals[keep], 1, 6,
                              "India fertility rate, yearly from 1960 (statsmodels fertility)")
    return out


# ---------------------------------------------------------------------------------------------
# Metrics.


def smape_m4(y, p):
    y, p = np.asarray(y, float), np.asarray(p, float)
    den = np.abs(y) + np.abs(p)
    r = np.where(den == 0, 0.0, np.abs(y - p) / np.where(den == 0, 1, den))
    return 200.0 * r.mean()


def mase(y, p, train, season):
    s = max(1, season)
    train = np.asarray(train, float)
    scale = np.mean(np.abs(train[s:] - train[:-s]))
    return np.mean(np.abs(np.asarray(y) - np.asarray(p))) / scale


# ---------------------------------------------------------------------------------------------
# Reference methods.


def reference_methods():
    try:
        from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

        def make(season):
            return {
                "sf-autoets": lambda: AutoETS(season_length=season),
                "sf-autotheta": lambda: AutoTheta(season_length=season),
                "sf-autoarima": lambda: AutoARIMA(season_length=season),
            }

        def run(model, y, h):
            m = model()
            m.fit(np.asarray(y, float))
            f = m.predict(h=h, level=[90])
            return f["mean"], f["lo-90"], f["hi-90"]

        return "statsforecast", make, run
    except ImportError:
        from statsmodels.tsa.arima.model import ARIMA
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel
        from statsmodels.tsa.forecasting.theta import ThetaModel

        def make(season):
            return {
                "sm-ets": lambda: ("ets", season),
                "sm-theta": lambda: ("theta", season),
                "sm-arima": lambda: ("arima", season),
            }

        def run(model, y, h):
            kind, season = model()
            y = np.asarray(y, float)
            if kind == "ets":
                seasonal = "add" if season > 1 and len(y) >= 2 * season else None
                r = ETSModel(y, trend="add", damped_trend=True, seasonal=seasonal,
                             seasonal_periods=season if seasonal else None).fit(disp=False)
                pr = r.get_prediction(len(y), len(y) + h - 1).summary_frame(alpha=0.1)
                return pr["mean"].values, pr["pi_lower"].values, pr["pi_upper"].values
            if kind == "theta":
                r = ThetaModel(y, period=max(season, 1), deseasonalize=season > 1).fit()
                f = r.forecast(h).values
                pi = r.prediction_intervals(h, alpha=0.1)
                return f, pi["lower"].values, pi["upper"].values
            r = ARIMA(y, order=(2, 1, 1), trend="t").fit()
            fr = r.get_forecast(h)
            ci = fr.conf_int(alpha=0.1)
            return fr.predicted_mean, ci[:, 0], ci[:, 1]

        return "statsmodels", make, run


# ---------------------------------------------------------------------------------------------


def run_ours(mlp, csv, h, stride, extra):
    cmd = [mlp, "forecast", "backtest", "--data", csv, "--time", "date", "--target", "y",
           "--horizon", str(h), "--seed", "0", "--stride", str(stride), "--json"] + extra
    t0 = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {out.stderr.strip()}")
    return json.loads(out.stdout), time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mlp", default=os.path.join(ROOT, "target", "release", "mlp"))
    ap.add_argument("--max-origins", type=int, default=24)
    ap.add_argument("--series", default="")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "forecasting", "COMPARISON.md"))
    ap.add_argument("--json", default="")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--heldout", action="store_true",
                    help="run the held-out series (not used while developing) instead")
    ap.add_argument("--ours-flags", default="",
                    help="extra flags for `mlp forecast backtest`, e.g. '--refit none'")
    ap.add_argument("--reference", default="",
                    help="comma-separated subset of the reference methods, e.g. "
                         "sf-autoets,sf-autotheta (AutoARIMA takes minutes per monthly series)")
    args = ap.parse_args()

    series = load_heldout() if args.heldout else load_series()
    if args.series:
        series = {k: v for k, v in series.items() if k in args.series.split(",")}
    ref_name, ref_make, ref_run = reference_methods()
    results = {}
    tmp = tempfile.mkdtemp(prefix="fc-compare-")
    for name, (dates, values, season, h, note) in series.items():
        values = np.asarray(values, float)
        n = len(values)
        csv = os.path.join(tmp, f"{name}.csv")
        pd.DataFrame({"date": dates, "y": values}).to_csv(csv, index=False)
        test_len = int(round(0.2 * n))
        train_len = n - test_len
        origins_all = list(range(train_len - 1, n - h))
        stride = max(1, math.ceil(len(origins_all) / args.max_origins))
        origins = origins_all[::stride]
        report, secs = run_ours(args.mlp, csv, h, stride, args.ours_flags.split())
        bt = report["backtest"]
        assert bt["origins"] == len(origins), (bt["origins"], len(origins))
        mase_season = bt["season"]
        rows = {}
        for s in bt["scores"]:
            rows[s["key"]] = {
                "method": s["method"],
                "mase": s["mase"],
                "smape": 100.0 * s["smape"],
                "owa": s["owa"],
                "coverage": s["coverage"],
            }
        n2 = rows["naive2"]
        train = values[:train_len]
        if not args.no_reference:
            for key, model in ref_make(season).items():
                if args.reference and key not in args.reference.split(","):
                    continue
                t0 = time.time()
                ys, ps, los, his = [], [], [], []
                try:
                    for t in origins:
                        f, lo, hi = ref_run(model, values[: t + 1], h)
                        ys.extend(values[t + 1 : t + 1 + h])
                        ps.extend(np.asarray(f, float))
                        los.extend(np.asarray(lo, float))
                        his.extend(np.asarray(hi, float))
                except Exception as e:  # a reference model that fails is reported, not fatal
                    print(f"{name} {key}: {e}", file=sys.stderr)
                    continue
                print(f"  {name} {key}: {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
                ys, ps, los, his = map(np.asarray, (ys, ps, los, his))
                m = mase(ys, ps, train, mase_season)
                sm_ = smape_m4(ys, ps)
                rows[key] = {
                    "method": key,
                    "mase": m,
                    "smape": sm_,
                    "owa": (sm_ / n2["smape"] + m / n2["mase"]) / 2,
                    "coverage": float(np.mean((ys >= los) & (ys <= his))),
                    "seconds": time.time() - t0,
                }
        results[name] = {
            "note": note,
            "n": n,
            "horizon": h,
            "season": mase_season,
            "origins": len(origins),
            "stride": stride,
            "ours_seconds": secs,
            "rows": rows,
        }
        best_base = min(v["mase"] for k, v in rows.items() if k in ("naive", "snaive", "drift", "ar"))
        best_ref = min((v["mase"] for k, v in rows.items() if k.startswith(("sf-", "sm-"))),
                       default=float("nan"))
        print(f"{name:<14} mlp/best-simple MASE {rows['mlp']['mase'] / best_base:.3f}  "
              f"ets/best-simple {rows['ets']['mase'] / best_base:.3f}  "
              f"mlp/best-{ref_name} {rows['mlp']['mase'] / best_ref:.3f}  "
              f"mlp OWA {rows['mlp']['owa']:.3f}  mlp coverage {rows['mlp']['coverage']}")
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    write_markdown(args.out, results, ref_name)


def write_markdown(path, results, ref_name):
    order = ["mlp", "naive", "snaive", "drift", "ar", "ets", "theta", "naive2"]
    head = [
        "# Forecasting comparison: `mlp forecast backtest` against statistical baselines",
        "",
        "Generated by `python3 bench/compare_forecast.py` (see its docstring for the protocol) on "
        f"{platform.machine()}, reference methods from {ref_name}. Rolling origins over the last "
        "20 % of each series, statistical methods refitted at every origin, the MLP trained once "
        "before the test part (default flags, seed 0). MASE: scaled by the in-sample seasonal "
        "naive error (season as detected by `mlp`); sMAPE: M4's, percent; OWA: against Naive2 on "
        "the same forecasts; cover: share of held-out values inside the 90 % intervals. "
        f"Command: `python3 bench/{os.path.basename(__file__)} {' '.join(sys.argv[1:])}`.",
        "",
    ]
    summary = []
    body = []
    for name, r in results.items():
        lines = body
        lines.append(f"## {name}: {r['note']}")
        lines.append("")
        lines.append(
            f"{r['n']} steps, horizon {r['horizon']}, season {r['season']}, {r['origins']} origins "
            f"(stride {r['stride']}); ours took {r['ours_seconds']:.1f} s for all its methods."
        )
        lines.append("")
        lines.append("| method | fitted as | MASE | sMAPE % | OWA | cover 90 % |")
        lines.append("|---|---|---|---|---|---|")
        keys = [k for k in order if k in r["rows"]] + [k for k in r["rows"] if k not in order]
        best = min(v["mase"] for v in r["rows"].values())
        for k in keys:
            v = r["rows"][k]
            cov = "-" if v["coverage"] is None else f"{100 * v['coverage']:.1f} %"
            mark = "**" if v["mase"] == best else ""
            lines.append(
                f"| {k} | {v['method']} | {mark}{v['mase']:.3f}{mark} | {v['smape']:.2f} | "
                f"{v['owa']:.3f} | {cov} |"
            )
        lines.append("")
        rows = r["rows"]
        simple = min(rows[k]["mase"] for k in ("naive", "snaive", "drift", "ar") if k in rows)
        summary.append((name, rows["mlp"]["mase"] / simple,
                        rows["ets"]["mase"] / simple, rows["mlp"]["owa"],
                        rows["mlp"]["coverage"], rows["ets"]["coverage"]))
    lines = head
    lines += ["## Summary", ""]
    table = [
        "| series | MLP MASE / best of naive, snaive, drift, AR | ETS MASE / same | MLP OWA | "
        "MLP cover | ETS cover |",
        "|---|---|---|---|---|---|",
    ]
    for s in summary:
        cov = "-" if s[4] is None else f"{100 * s[4]:.1f} %"
        cov2 = "-" if s[5] is None else f"{100 * s[5]:.1f} %"
        table.append(f"| {s[0]} | {s[1]:.3f} | {s[2]:.3f} | {s[3]:.3f} | {cov} | {cov2} |")
    lines += table + [""] + body
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
