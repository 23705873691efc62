#!/usr/bin/env python3
"""Accuracy of `mlp train --hidden 64,64` (otherwise default flags) against scikit-learn's
MLPClassifier(hidden_layer_sizes=(64, 64)) in a StandardScaler pipeline, on the same splits of
real classification tables bundled with scikit-learn.

Usage: python3 bench/compare_sklearn.py [--mlp target/release/mlp] [--seeds 5]
Needs: pip install scikit-learn pandas; a release build (cargo build --release).
Prints one line per data set and seed and the mean test accuracy of each side.
"""
import argparse, json, os, subprocess, sys, tempfile, warnings
import numpy as np

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlp", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "mlp"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--extra", default="", help="extra flags for mlp train (for experiments)")
    args = ap.parse_args()
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.exceptions import ConvergenceWarning
    warnings.simplefilter("ignore", ConvergenceWarning)
    sets = {
        "breast_cancer": datasets.load_breast_cancer(as_frame=True),
        "wine": datasets.load_wine(as_frame=True),
        "digits": datasets.load_digits(as_frame=True),
    }
    totals = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, bunch in sets.items():
            X, y = bunch.data, bunch.target
            for seed in range(args.seeds):
                Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
                sk = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64, 64), random_state=seed))
                sk.fit(Xtr, ytr)
                sk_acc = float((sk.predict(Xte) == yte).mean())
                train_csv, test_csv = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
                Xtr.assign(target=ytr.values).to_csv(train_csv, index=False)
                Xte.assign(target=yte.values).to_csv(test_csv, index=False)
                model = os.path.join(tmp, "m.safetensors")
                subprocess.run([args.mlp, "train", "--data", train_csv, "--target", "target", "--hidden", "64,64",
                                "--seed", str(seed), "--out", model, "--quiet"] + args.extra.split(), check=True)
                out = subprocess.run([args.mlp, "eval", "--model", model, "--data", test_csv, "--json"],
                                     check=True, capture_output=True, text=True).stdout
                ours = json.loads(out)["accuracy"]
                totals.setdefault(name, []).append((ours, sk_acc))
                print(f"{name:14s} seed {seed}: mlp {ours:.4f}  sklearn {sk_acc:.4f}", flush=True)
    print()
    print("| data set | mlp (mean test accuracy) | scikit-learn | difference |")
    print("|---|---|---|---|")
    for name, pairs in totals.items():
        a = np.mean([p[0] for p in pairs]); b = np.mean([p[1] for p in pairs])
        print(f"| {name} | {a:.4f} | {b:.4f} | {a - b:+.4f} |")

if __name__ == "__main__":
    sys.exit(main())
