#!/usr/bin/env python3
"""Run `mlp verify` on a VNN-COMP benchmark folder and write results in the competition's format.

The folder has the competition's layout: `instances.csv` (2021: `<name>_instances.csv`) with rows `onnx,vnnlib,timeout` (paths
relative to the folder; `.gz` files are decompressed to a temporary folder first). For each row
this runs

    mlp verify --onnx NET.onnx --vnnlib PROP.vnnlib --timeout T --json

(the exit status says the answer: 0 holds, 10 violated, 20 unknown) and writes one line per
instance to the results CSV, as VNN-COMP 2021 did:

    category,onnx,vnnlib,prepare_time,result,run_time

with `result` one of holds, violated, timeout, unknown, error (`--sat-unsat` writes unsat / sat
instead of holds / violated, the 2022+ spelling). `run_time` is the wall time of the whole
process (loading included); `prepare_time` is 0 (nothing is prepared ahead). A summary (answers,
solved, total time) is printed and, with `--reference published.csv` (a results CSV of another
tool, same format), every answer that contradicts it (holds vs violated) is listed as WRONG.

`--onnx` reads the network with mlp's ONNX import (`mlp import`'s subset: MLP-shaped graphs).

Usage:
    python3 bench/vnncomp.py BENCH_DIR [--mlp target/release/mlp] [--out results.csv]
        [--category acasxu] [--limit N] [--timeout-scale 1.0] [--reference other.csv]
"""

import argparse
import csv
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

EXIT = {0: "holds", 10: "violated", 20: "unknown"}


def materialize(path, tmp):
    """The path of a plain (not gzipped) copy of `path`."""
    if not path.endswith(".gz"):
        return path
    out = os.path.join(tmp, os.path.basename(path)[:-3])
    if not os.path.exists(out):
        with gzip.open(path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


def run_instance(mlp, onnx, vnnlib, timeout):
    """(result, seconds, detail) of one instance."""
    cmd = [mlp, "verify", "--onnx", onnx, "--vnnlib", vnnlib, "--timeout", str(timeout), "--json"]
    start = time.perf_counter()
    try:
        # A grace period over the verifier's own timeout covers loading and process start.
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start, "killed after the grace period"
    seconds = time.perf_counter() - start
    result = EXIT.get(proc.returncode)
    if result is None:
        return "error", seconds, proc.stderr.strip().splitlines()[-1:] or ["?"]
    detail = ""
    try:
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        detail = report.get("reason", "")
        if result == "unknown" and "timeout" in detail:
            result = "timeout"
    except (ValueError, IndexError):
        pass
    return result, seconds, detail


def read_results(path):
    """{(onnx basename, vnnlib basename): result} of a results CSV."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) < 5:
                continue
            key = (os.path.basename(row[1]).replace(".gz", ""),
                   os.path.basename(row[2]).replace(".gz", ""))
            out[key] = {"sat": "violated", "unsat": "holds"}.get(row[4].strip(), row[4].strip())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench_dir")
    ap.add_argument("--mlp", default=os.path.join("target", "release", "mlp"))
    ap.add_argument("--out", default="results.csv")
    ap.add_argument("--category", default=None, help="benchmark name (default: the folder's)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N instances")
    ap.add_argument("--timeout-scale", type=float, default=1.0)
    ap.add_argument("--sat-unsat", action="store_true", help="write sat/unsat (VNN-COMP 2022+)")
    ap.add_argument("--reference", default=None, help="a published results CSV to compare with")
    args = ap.parse_args()

    bench = os.path.abspath(args.bench_dir)
    category = args.category or os.path.basename(bench.rstrip("/"))
    listing = os.path.join(bench, "instances.csv")
    if not os.path.exists(listing):
        # VNN-COMP 2021 named it after the benchmark (acasxu_instances.csv).
        found = sorted(n for n in os.listdir(bench) if n.endswith("instances.csv"))
        if not found:
            sys.exit(f"{bench}: no instances.csv (rows onnx,vnnlib,timeout)")
        listing = os.path.join(bench, found[0])
    with open(listing, newline="") as f:
        rows = [r for r in csv.reader(f) if len(r) >= 3 and r[0].strip()]
    if args.limit is not None:
        rows = rows[: args.limit]
    reference = read_results(args.reference) if args.reference else {}

    counts, total, wrong, lines = {}, 0.0, [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (onnx, vnnlib, timeout) in enumerate(r[:3] for r in rows):
            onnx_path = materialize(os.path.join(bench, onnx.strip()), tmp)
            vnnlib_path = materialize(os.path.join(bench, vnnlib.strip()), tmp)
            limit = float(timeout) * args.timeout_scale
            result, seconds, detail = run_instance(args.mlp, onnx_path, vnnlib_path, limit)
            counts[result] = counts.get(result, 0) + 1
            total += seconds
            key = (os.path.basename(onnx).replace(".gz", ""),
                   os.path.basename(vnnlib).replace(".gz", ""))
            ref = reference.get(key)
            if ref in ("holds", "violated") and result in ("holds", "violated") and ref != result:
                wrong.append(f"{onnx} {vnnlib}: ours {result}, reference {ref}")
            shown = result
            if args.sat_unsat:
                shown = {"holds": "unsat", "violated": "sat"}.get(result, result)
            lines.append([category, onnx, vnnlib, "0", shown, f"{seconds:.3f}"])
            print(f"[{i + 1}/{len(rows)}] {onnx} {vnnlib}: {result} in {seconds:.2f} s"
                  + (f" ({detail})" if detail else ""), file=sys.stderr)

    with open(args.out, "w", newline="") as f:
        csv.writer(f).writerows(lines)
    solved = counts.get("holds", 0) + counts.get("violated", 0)
    n = max(len(rows), 1)
    print(f"{category}: {len(rows)} instances, solved {solved} ({100.0 * solved / n:.1f}%): "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
          + f"; total time {total:.1f} s; results in {args.out}")
    if reference:
        print(f"wrong answers against {args.reference}: {len(wrong)}")
        for w in wrong:
            print("  WRONG " + w)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
