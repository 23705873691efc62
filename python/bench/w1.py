"""W1 from Python vs the CLI: Fashion-MNIST 784-256-128-10, Adam, batch 128, 5 epochs.

Both train on the same 60,000 images with the same settings (no validation split, no early
stopping) and thread count; reports wall seconds of `MLPClassifier.fit` (data already in
memory as a float64 array) and of the `mlp train` process (which also reads the IDX files),
and the CPU seconds (user + system) each spent, which a busy shared machine disturbs less than
wall time. Usage: python python/bench/w1.py [--reps 3] [--threads 2]
"""

import argparse
import gzip
import json
import pathlib
import resource
import subprocess
import tempfile
import time

import numpy as np

import mlp

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")


def idx(path):
    with gzip.open(path) as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    X = idx(DATA / "train-images-idx3-ubyte.gz").reshape(60000, -1).astype(np.float64) / 255.0
    y = idx(DATA / "train-labels-idx1-ubyte.gz").astype(np.int64)
    cli = ROOT / "target" / "release" / "mlp"
    flags = ["--hidden", "256,128", "--batch-size", "128", "--epochs", "5", "--patience", "0",
             "--val-fraction", "0", "--threads", str(args.threads), "--no-standardize", "-q"]
    rows = []
    for rep in range(args.reps):
        clf = mlp.MLPClassifier(hidden=(256, 128), batch_size=128, epochs=5, early_stopping=False,
                                validation_fraction=0.0, standardize=False, threads=args.threads, seed=rep)
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        t = time.perf_counter()
        clf.fit(X, y)
        py_wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_SELF)
        py_cpu = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
        with tempfile.TemporaryDirectory() as d:
            out = pathlib.Path(d) / "w1.safetensors"
            cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run([str(cli), "train", "--dataset", "fashion-mnist", "--out", str(out), "--seed", str(rep), *flags], check=True)
            cli_wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_cpu = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
            cli_model = mlp.load(out)
        rows.append({"rep": rep, "python_fit_s": round(py_wall, 3), "cli_process_s": round(cli_wall, 3),
                     "python_fit_cpu_s": round(py_cpu, 3), "cli_process_cpu_s": round(cli_cpu, 3),
                     "python_epochs": clf.n_iter_, "cli_epochs": cli_model.n_iter_})
        print(json.dumps(rows[-1]), flush=True)
    summary = {}
    for kind in ("", "_cpu"):
        py = float(np.median([r[f"python_fit{kind}_s"] for r in rows]))
        cl = float(np.median([r[f"cli_process{kind}_s"] for r in rows]))
        summary[f"median_python_fit{kind}_s"] = py
        summary[f"median_cli_process{kind}_s"] = cl
        summary[f"python_over_cli{kind}"] = round(py / cl - 1, 4)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
