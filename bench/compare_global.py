#!/usr/bin/env python3
"""A global MLP (`mlp forecast ... --id-column`) against the per-series default `mlp forecast`
and the statistical baselines fitted per series, on a real quarterly panel built from datasets
that ship with statsmodels (no download).

Panel (19 quarterly series, 55 to 203 quarters, different start dates and units):
  - macrodata (1959Q1-2009Q3): realgdp, realcons, realinv, realgovt, realdpi, cpi, m1,
    tbilrate, unemp, pop, infl, realint;
  - interest_inflation (1972Q2-1998Q4): Dp, R;
  - danish_data (1974Q1-1987Q3): lrm, lry, lpy, ibo, ide.

Protocol (the one `mlp forecast backtest` uses, per series): the last 20 % of each series is its
test part; from every `stride`-th origin t in it whose whole horizon (H = 8, M4's quarterly) is
observed, every method forecasts H steps from the history up to t. MASE is scaled by the
in-sample seasonal-naive error of the part before the test.

- global: `mlp forecast backtest --data panel.csv --id-column id --time date --target y
  --horizon 8 --seed 0 --json` -- one network fitted once on every series' part before its test,
  forecasting every series from every origin; the baselines (naive, seasonal naive, drift, AR(p),
  ETS, Theta, Naive2) run per series inside the same command, refitted at every origin.
- per-series mlp: `mlp forecast backtest --data one.csv --time date --target y --horizon 8
  --seed 0 --models mlp --json` on each series alone: the default single-series forecaster with
  its model selection and ensemble, trained once before the test.

Usage:
  python3 bench/compare_global.py [--mlp target/release/mlp] [--stride 1]
      [--table FILE] [--json FILE] [--skip-per-series] [--extra "--hidden 128"]

Needs: pip install statsmodels pandas; a release build (cargo build --release -p mlp-cli).
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
H = 8
BASELINES = ["naive", "snaive", "drift", "ar", "ets", "theta", "naive2"]


def quarter_date(year, quarter):
    return f"{int(year):04d}-{3 * (int(quarter) - 1) + 1:02d}-01"


def load_panel():
    """{id: [(date, value)]} from the statsmodels datasets."""
    import statsmodels.api as sm

    panel = {}
    m = sm.datasets.macrodata.load_pandas().data
    dates = [quarter_date(y, q) for y, q in zip(m["year"], m["quarter"])]
    for col in ["realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1",
                "tbilrate", "unemp", "pop", "infl", "realint"]:
        panel[f"macro_{col}"] = list(zip(dates, m[col].astype(float)))
    ii = sm.datasets.interest_inflation.load_pandas().data
    dates = [quarter_date(y, q) for y, q in zip(ii["year"], ii["quarter"])]
    for col in ["Dp", "R"]:
        panel[f"ii_{col}"] = list(zip(dates, ii[col].astype(float)))
    dk = sm.datasets.danish_data.load_pandas().data
    dates = [d.strftime("%Y-%m-%d") for d in dk.index]
    for col in ["lrm", "lry", "lpy", "ibo", "ide"]:
        panel[f"dk_{col}"] = list(zip(dates, dk[col].astype(float)))
    return panel


def run_json(cmd):
    t0 = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    return json.loads(out.stdout), time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlp", default=os.path.join(ROOT, "target", "release", "mlp"))
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--table", default=None, help="also write the tables (markdown) to this file")
    ap.add_argument("--json", default=None)
    ap.add_argument("--skip-per-series", action="store_true")
    ap.add_argument("--extra", default="", help="extra flags for the global fit, e.g. '--strategy direct'")
    args = ap.parse_args()

    panel = load_panel()
    tmp = tempfile.mkdtemp(prefix="mlp-global-")
    # Rows interleaved across ids (the loader groups and sorts them).
    rows = [(d, sid, v) for sid, obs in panel.items() for d, v in obs]
    rows.sort()
    long_csv = os.path.join(tmp, "panel.csv")
    with open(long_csv, "w") as f:
        f.write("id,date,y\n")
        for d, sid, v in rows:
            f.write(f"{sid},{d},{v!r}\n")
    common = ["--horizon", str(H), "--seed", "0", "--stride", str(args.stride), "--json"]
    glob, glob_s = run_json([args.mlp, "forecast", "backtest", "--data", long_csv,
                             "--id-column", "id", "--time", "date", "--target", "y"]
                            + common + args.extra.split())
    results = {}
    for s in glob["backtest"]["series"]:
        sc = {r["key"]: r for r in s["scores"]}
        results[s["id"]] = {
            "n": len(panel[s["id"]]),
            "global": sc["global_mlp"]["mase"],
            "global_cov": sc["global_mlp"]["coverage"],
            **{k: sc[k]["mase"] for k in BASELINES if k in sc},
        }
    per_s = 0.0
    if not args.skip_per_series:
        for sid, obs in panel.items():
            one = os.path.join(tmp, f"{sid}.csv")
            with open(one, "w") as f:
                f.write("date,y\n")
                for d, v in obs:
                    f.write(f"{d},{v!r}\n")
            out, secs = run_json([args.mlp, "forecast", "backtest", "--data", one, "--time",
                                  "date", "--target", "y", "--models", "mlp"] + common)
            per_s += secs
            mlp = [r for r in out["backtest"]["scores"] if r["key"] == "mlp"][0]
            results[sid]["mlp"] = mlp["mase"]
            results[sid]["mlp_cov"] = mlp["coverage"]
            print(f"{sid:<16} global {results[sid]['global']:.3f}  per-series {mlp['mase']:.3f}",
                  file=sys.stderr)
    meta = {"global_seconds": round(glob_s, 1), "per_series_seconds": round(per_s, 1),
            "stride": args.stride, "extra": args.extra, "global": glob["global"],
            "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=1)
    write_markdown(args.table, results, meta, glob["backtest"]["aggregate"])


def fmt(v):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def write_markdown(path, results, meta, aggregate):
    best_keys = [k for k in BASELINES if k != "naive2"]
    lines = [
        "| series | n | global MLP | per-series mlp | seasonal naive | best baseline (which) | global 90% coverage |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    sums = {"global": [], "mlp": [], "snaive": [], "best": []}
    wins = {"vs_mlp": 0, "vs_snaive": 0, "vs_best": 0, "within10": 0}
    for sid, r in results.items():
        best_k = min((k for k in best_keys if k in r and not math.isnan(r[k])), key=lambda k: r[k])
        best = r[best_k]
        sums["global"].append(r["global"])
        sums["snaive"].append(r["snaive"])
        sums["best"].append(best)
        if "mlp" in r:
            sums["mlp"].append(r["mlp"])
            wins["vs_mlp"] += r["global"] < r["mlp"]
        wins["vs_snaive"] += r["global"] < r["snaive"]
        wins["vs_best"] += r["global"] <= best
        wins["within10"] += r["global"] <= 1.1 * best
        cov = r.get("global_cov")
        lines.append(
            f"| {sid} | {r['n']} | {fmt(r['global'])} | {fmt(r.get('mlp'))} | {fmt(r['snaive'])} "
            f"| {fmt(best)} ({best_k}) | {'-' if cov is None else f'{100 * cov:.0f}%'} |")
    mean = lambda v: sum(v) / len(v) if v else float("nan")
    lines.append(
        f"| **mean** | | **{fmt(mean(sums['global']))}** | **{fmt(mean(sums['mlp']) if sums['mlp'] else None)}** "
        f"| **{fmt(mean(sums['snaive']))}** | **{fmt(mean(sums['best']))}** | |")
    n = len(results)
    agg = ["| method (mean over series) | MASE | sMAPE % | OWA | coverage |", "| --- | ---: | ---: | ---: | ---: |"]
    for a in aggregate:
        cov = a["coverage"]
        agg.append(f"| {a['method']} | {fmt(a['mase'])} | {fmt(100 * a['smape'])} | {fmt(a['owa'])} "
                   f"| {'-' if cov is None else f'{100 * cov:.1f}%'} |")
    if path:
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n\n" + "\n".join(agg) + "\n\n" + json.dumps(meta) + "\n"
                    + f"wins: {json.dumps(wins)} of {n}\n")
    print("\n".join(lines))
    print()
    print("\n".join(agg))
    print(json.dumps(meta))
    print(f"wins: {wins} of {n}")


if __name__ == "__main__":
    main()
