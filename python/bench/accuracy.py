"""Python estimators vs `mlp train` at their defaults on real tables (the table in docs/python.md).

For each table and each of 3 random 80/20 splits (stratified for classification): the Python
estimator with its defaults (`mlp train`'s automatic model selection), the CLI with its defaults
(`mlp train --data train.csv --target target --task T`, scored through `mlp.load`, the same
predictions `mlp predict` gives), and, for reference, the Python estimator with the fixed network
that was its default before (`hidden=(100,)`: selection off). Test accuracy (classification) or
R² (regression). Same data, seed and thread count on both sides, so the models should be equal.

    python3 python/bench/accuracy.py [--cli target/release/mlp] [--tables a,b] [--splits 3]

Needs scikit-learn; randhie and fair need statsmodels (their data sets ship with it).
California housing (the brief's) needs a download, so randhie stands in as the larger
regression table (a 4000-row subset: scored on a hold-out, not by cross-validation).
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.model_selection import train_test_split

import mlp

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _sk(name):
    X, y = getattr(datasets, name)(return_X_y=True)
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]), pd.Series(y)


def t_randhie():
    import statsmodels.api as sm

    d = sm.datasets.randhie.load_pandas().data.sample(n=4000, random_state=0).reset_index(drop=True)
    return d.drop(columns=["mdvis"]), d["mdvis"].astype(float), "regress"


def t_fair():
    import statsmodels.api as sm

    d = sm.datasets.fair.load_pandas().data
    y = (d["affairs"] > 0).astype(int)
    X = d.drop(columns=["affairs"]).copy()
    for c in ["occupation", "occupation_husb"]:
        X[c] = "occ" + X[c].astype(int).astype(str)
    return X, y, "classify"


TABLES = {
    "breast_cancer": lambda: (*_sk("load_breast_cancer"), "classify"),
    "wine": lambda: (*_sk("load_wine"), "classify"),
    "digits": lambda: (*_sk("load_digits"), "classify"),
    "diabetes": lambda: (*_sk("load_diabetes"), "regress"),
    "randhie_4000": t_randhie,
    "fair": t_fair,
}


def as_input(X):
    """numpy for all-numeric tables (the estimators' matrix path), the DataFrame otherwise."""
    if all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes):
        return X.to_numpy(dtype=np.float64)
    return X


def cli_fit(cli, Xtr, ytr, task, tmp):
    frame = Xtr.copy()
    frame["target"] = ytr.to_numpy()
    for c in frame.columns:
        if pd.api.types.is_float_dtype(frame[c].dtype):
            # repr(): the shortest text that parses back to the same float, as the bindings write.
            frame[c] = [repr(float(v)) for v in frame[c]]
    csv = tmp / "train.csv"
    frame.to_csv(csv, index=False)
    out = tmp / "cli.safetensors"
    t0 = time.perf_counter()
    subprocess.run(
        [str(cli), "train", "--data", str(csv), "--target", "target", "--task", task, "--out", str(out), "-q"],
        check=True,
    )
    return mlp.load(out), time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(ROOT / "target" / "release" / "mlp"))
    ap.add_argument("--tables", default=",".join(TABLES))
    ap.add_argument("--splits", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for name in args.tables.split(","):
        X, y, task = TABLES[name]()
        Est = mlp.MLPClassifier if task == "classify" else mlp.MLPRegressor
        for split in range(args.splits):
            Xtr, Xte, ytr, yte = train_test_split(
                X, y, test_size=0.2, random_state=split, stratify=y if task == "classify" else None
            )
            with tempfile.TemporaryDirectory() as d:
                cli, t_cli = cli_fit(args.cli, Xtr, ytr, task, pathlib.Path(d))
            t0 = time.perf_counter()
            py = Est().fit(as_input(Xtr), ytr.to_numpy())
            t_py = time.perf_counter() - t0
            fixed = Est(hidden=(100,)).fit(as_input(Xtr), ytr.to_numpy())
            xte = as_input(Xte)
            # The CLI's model knows the CSV's column names: give it the DataFrame (same values).
            cte = Xte if hasattr(cli, "feature_names_in_") else xte
            s_py, s_cli, s_fixed = py.score(xte, yte.to_numpy()), cli.score(cte, yte.to_numpy()), fixed.score(xte, yte.to_numpy())
            same = np.array_equal(
                py.predict_proba(xte) if task == "classify" else py.predict(xte),
                cli.predict_proba(cte) if task == "classify" else cli.predict(cte),
            )
            rows.append(dict(table=name, n=len(X), task=task, split=split, py=s_py, cli=s_cli, fixed=s_fixed,
                             chosen_py=py.selected_, chosen_cli=cli.selected_, identical=same, t_py=t_py, t_cli=t_cli))
            print(f"{name:14s} split {split}: python {s_py:.4f} ({py.selected_}, {t_py:.1f}s)  cli {s_cli:.4f} "
                  f"({cli.selected_}, {t_cli:.1f}s)  fixed (100,) {s_fixed:.4f}  identical={same}", file=sys.stderr)
    df = pd.DataFrame(rows)
    print("| table | rows | metric | Python default | CLI default | Python `hidden=(100,)` (old default) | chosen (per split) | identical predictions |")
    print("|---|---|---|---|---|---|---|---|")
    for name, g in df.groupby("table", sort=False):
        metric = "accuracy" if g.task.iloc[0] == "classify" else "R²"
        f = lambda c: f"{g[c].mean():.3f} ± {g[c].std(ddof=0):.3f}"
        print(f"| {name} | {g.n.iloc[0]} | {metric} | {f('py')} | {f('cli')} | {f('fixed')} | "
              f"{', '.join(g.chosen_py)} | {int(g.identical.sum())}/{len(g)} |")


if __name__ == "__main__":
    main()
