#!/usr/bin/env python3
"""Hardware-constrained (electronic-synapse) updates against float SGD on scikit-learn's digits.

Checks TECHNIQUES.md #33's acceptance: with a linear device (nu -> 0) of 1024 pulses the accuracy
is within 1 point of float SGD; with a strongly nonlinear device (nu = 5) bidirectional updates
lose accuracy, and unidirectional updates recover part of the loss.

    python3 bench/device_updates.py [--mlp target/release/mlp] [--seeds 3] [--epochs 30]
        [--levels 21] [--bound 0.01] [--pulses 1024]

Each seed draws its own 80/20 split of the 1797 digits (8x8 pixels, 10 classes) and trains
`mlp train --hidden 64 --optimizer sgd` with and without the device flags; prints a Markdown
table of mean +- sd test accuracy.
"""
import argparse, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



def settings(levels, bound, pulses):
    q = ["--update-levels", str(levels), "--update-bound", str(bound)]
    dev = q + ["--update-device-pulses", str(pulses)]
    return [
        ("float SGD", []),
        (f"quantized steps ({levels} levels, B {bound})", q),
        (f"linear device, P {pulses}, bidirectional",
         dev + ["--update-nonlinearity", "0", "--update-rule", "bidirectional"]),
        (f"nu 5 device, P {pulses}, bidirectional",
         dev + ["--update-nonlinearity", "5", "--update-rule", "bidirectional"]),
        (f"nu 5 device, P {pulses}, unidirectional",
         dev + ["--update-nonlinearity", "5", "--update-rule", "unidirectional"]),
    ]


def split(seed, tmp):
    import numpy as np
    from sklearn.datasets import load_digits
    d = load_digits()
    idx = np.random.default_rng(seed).permutation(len(d.target))
    n = int(0.8 * len(idx))
    paths = []
    for name, part in (("train", idx[:n]), ("test", idx[n:])):
        p = os.path.join(tmp, f"digits_{name}_{seed}.csv")
        with open(p, "w") as f:
            f.write(",".join(f"p{i}" for i in range(64)) + ",digit\n")
            for i in part:
                f.write(",".join(str(int(v)) for v in d.data[i]) + f",{d.target[i]}\n")
        paths.append(p)
    return paths


def accuracy(mlp, model, test):
    out = subprocess.run([mlp, "eval", "--model", model, "--data", test, "--json"],
                         check=True, capture_output=True, text=True).stdout
    import json
    return json.loads(out)["accuracy"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mlp", default=os.path.join(ROOT, "target", "release", "mlp"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--levels", type=int, default=21, help="--update-levels N")
    ap.add_argument("--bound", type=float, default=0.01, help="--update-bound B")
    ap.add_argument("--pulses", type=int, default=1024, help="--update-device-pulses P")
    a = ap.parse_args()
    SETTINGS = settings(a.levels, a.bound, a.pulses)
    results = {name: [] for name, _ in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(a.seeds):
            train, test = split(seed, tmp)
            for name, flags in SETTINGS:
                model = os.path.join(tmp, "m.safetensors")
                cmd = [a.mlp, "train", "--data", train, "--target", "digit", "--hidden", "64",
                       "--optimizer", "sgd", "--lr", "0.05", "--epochs", str(a.epochs),
                       "--batch-size", "32", "--seed", str(seed), "--threads", "1",
                       "--out", model] + flags
                subprocess.run(cmd, check=True, capture_output=True)
                results[name].append(accuracy(a.mlp, model, test))
                print(f"seed {seed} {name}: {results[name][-1]:.4f}", file=sys.stderr)
    base = statistics.mean(results["float SGD"])
    print(f"| update rule (digits, {a.seeds} seeds, {a.epochs} epochs) | test accuracy | vs float SGD |")
    print("|---|---|---|")
    for name, _ in SETTINGS:
        acc = results[name]
        sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
        print(f"| {name} | {statistics.mean(acc):.4f} +- {sd:.4f} | {statistics.mean(acc) - base:+.4f} |")


if __name__ == "__main__":
    main()
