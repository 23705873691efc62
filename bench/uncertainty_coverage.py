#!/usr/bin/env python3
"""Empirical coverage of `mlp predict --interval` / `--prediction-sets` and the ECE before and
after `--calibrate temperature`, on real tables bundled with scikit-learn.

For each table and seed: a random 70/30 train/test split; `mlp train --calibration-fraction 0.3
--seed S` (classifiers also `--calibrate temperature`), otherwise default flags; the fraction of
test rows whose value lies in the interval (regression) or whose label is in the set
(classification) at LEVEL. Prints one line per table: mean, min and max coverage over the seeds,
the mean set size, and the mean ECE before/after temperature scaling (on the rows it was fitted
on, as `mlp train` reports it).

Usage: python3 bench/uncertainty_coverage.py [--mlp target/release/mlp] [--seeds 10] [--level 0.9]
Needs: scikit-learn, numpy; a release build (cargo build --release).
"""
import argparse, csv, json, os, subprocess, tempfile
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlp", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "mlp"))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--level", type=float, default=0.9)
    args = ap.parse_args()
    from sklearn import datasets

    def run(cmd):
        return subprocess.run([args.mlp] + cmd, capture_output=True, text=True, check=True).stdout

    def write(path, X, y):
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([f"f{i}" for i in range(X.shape[1])] + ["t"])
            for r, t in zip(X, y):
                w.writerow([f"{v:.6g}" for v in r] + [t])

    tables = [("diabetes", datasets.load_diabetes, "reg"), ("breast_cancer", datasets.load_breast_cancer, "clf"),
              ("digits", datasets.load_digits, "clf"), ("wine", datasets.load_wine, "clf")]
    level = str(args.level)
    with tempfile.TemporaryDirectory() as tmp:
        tr, te, model = (os.path.join(tmp, n) for n in ("tr.csv", "te.csv", "m.safetensors"))
        for name, loader, task in tables:
            d = loader()
            X, y = d.data, d.target
            label = (lambda v: f"{v:.6g}") if task == "reg" else (lambda v: f"c{v}")
            covs, sizes, eces = [], [], []
            for seed in range(args.seeds):
                p = np.random.default_rng(seed).permutation(len(y))
                n_train = int(0.7 * len(y))
                a, b = p[:n_train], p[n_train:]
                write(tr, X[a], [label(v) for v in y[a]])
                write(te, X[b], [label(v) for v in y[b]])
                extra = ["--calibrate", "temperature"] if task == "clf" else []
                out = run(["train", "--data", tr, "--target", "t", "--out", model, "--seed", str(seed),
                           "--calibration-fraction", "0.3", "--json"] + extra)
                summary = json.loads(out.strip().splitlines()[-1])
                if task == "reg":
                    rows = run(["predict", "--model", model, "--data", te, "--interval", level]).splitlines()[1:]
                    v = np.array([[float(c) for c in r.split(",")] for r in rows])
                    covs.append(np.mean((v[:, 1] <= y[b]) & (y[b] <= v[:, 2])))
                else:
                    rows = run(["predict", "--model", model, "--data", te, "--prediction-sets", level]).splitlines()[1:]
                    sets = [[m for m in r.split(",")[1].split("|") if m] for r in rows]
                    truth = [label(v) for v in y[b]]
                    covs.append(np.mean([t in s for t, s in zip(truth, sets)]))
                    sizes.append(np.mean([len(s) for s in sets]))
                    t = summary["uncertainty"]["temperature"]
                    eces.append((t["ece_before"], t["ece_after"]))
            line = f"{name:14s} coverage mean {np.mean(covs):.3f} (min {np.min(covs):.3f}, max {np.max(covs):.3f})"
            if sizes:
                e = np.mean(eces, axis=0)
                line += f"  mean set size {np.mean(sizes):.2f}  ECE {e[0]:.4f} -> {e[1]:.4f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
