#!/usr/bin/env python3
"""Compare `mlp analyze --json` with weightwatcher (and linear CKA with numpy).

Usage:
  python bench/analyze_ww.py alpha MODEL.safetensors [MODEL2 ...]
      per weight matrix: alpha, xmin, KS D, num_tail, spectral_norm, stable_rank from
      weightwatcher (`pip install weightwatcher`, no torch needed) against `mlp analyze`.
  python bench/analyze_ww.py cka MODEL_A MODEL_B DATA.csv
      linear CKA per hidden layer from numpy on the hidden activations `mlp` reports
      (computed here from the weights: dense ReLU stacks trained with standardized inputs).

The `mlp` binary is taken from $MLP (default target/release/mlp).
"""
import json
import os
import subprocess
import sys
import types

import numpy as np

MLP = os.environ.get("MLP", "target/release/mlp")


def mlp_json(*args):
    out = subprocess.run([MLP, *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def weight_matrices(path):
    from safetensors.numpy import load_file

    tensors = load_file(path)
    return {k: v.astype(np.float64) for k, v in tensors.items() if k.endswith(".weight") and v.ndim == 2}


def ww_frame(mats):
    import logging

    import weightwatcher as ww
    import weightwatcher.weightwatcher as wwm

    # weightwatcher compares types against torch.Tensor when given a dict of arrays; a stand-in
    # type lets it run without torch (no array is a torch tensor).
    if not hasattr(wwm, "torch"):
        wwm.torch = types.SimpleNamespace(Tensor=type("NoTorch", (), {}))
    logging.disable(logging.WARNING)
    watcher = ww.WeightWatcher(model={k: v.astype(np.float32) for k, v in mats.items()})
    return watcher.analyze(min_evals=2)


def alpha(models):
    print(f"{'model':<28} {'layer':<16} {'M':>5} {'alpha mlp':>10} {'alpha ww':>9} {'diff':>8} "
          f"{'xmin mlp':>10} {'xmin ww':>10} {'tail':>9} {'D mlp':>7} {'D ww':>7}")
    worst = 0.0
    for path in models:
        ours = {l["name"]: l for l in mlp_json("analyze", "--model", path)["layers"]}
        frame = ww_frame(weight_matrices(path))
        for _, row in frame.iterrows():
            name = row["name"] + ".weight"
            o = ours[name]
            m = min(o["shape"])
            if o["alpha"] is None:
                continue
            diff = o["alpha"] - row["alpha"]
            if m >= 50:
                worst = max(worst, abs(diff))
            print(f"{os.path.basename(path):<28} {name:<16} {m:>5} {o['alpha']:>10.4f} {row['alpha']:>9.4f} "
                  f"{diff:>8.4f} {o['xmin']:>10.4g} {row['xmin']:>10.4g} {o['num_tail']:>4}/{int(row['num_pl_spikes']):<4} "
                  f"{o['ks_distance']:>7.4f} {row['D']:>7.4f}")
            for key, wkey in [("spectral_norm", "spectral_norm"), ("stable_rank", "stable_rank"),
                              ("alpha_hat", "alpha_weighted"), ("log_norm", "log_norm")]:
                if abs(o[key] - row[wkey]) > 1e-3 * (1 + abs(row[wkey])):
                    print(f"   {key}: mlp {o[key]} vs ww {row[wkey]}")
    print(f"largest |alpha difference| over layers with >= 50 eigenvalues: {worst:.2e}")


def cka(x, y):
    x = x - x.mean(0)
    y = y - y.mean(0)
    return np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def hidden(path, x):
    """Hidden activations of a dense ReLU stack (weights `out x in`), inputs already scaled."""
    from safetensors.numpy import load_file

    t = load_file(path)
    layers = sorted({int(k.split(".")[1]) for k in t if k.startswith("layers.")})
    acts = []
    h = x
    for i in layers[:-1]:
        h = np.maximum(h @ t[f"layers.{i}.weight"].astype(np.float64).T + t[f"layers.{i}.bias"], 0.0)
        acts.append(h)
    return acts


def cka_check(a, b, data):
    """CKA from numpy on activations recomputed from the weights, against `mlp analyze
    --compare`. Needs a numeric CSV whose last column is the target and models trained with
    --no-standardize (so that no scaler has to be reproduced here)."""
    rows = np.loadtxt(data, delimiter=",", skiprows=1, usecols=None, dtype=str)
    x = rows[:, :-1].astype(np.float64)
    ours = mlp_json("analyze", "--model", a, "--compare", b, "--data", data, "--rows", str(len(x)))
    for l, ha, hb in zip(ours["layers"], hidden(a, x), hidden(b, x)):
        ref = cka(ha, hb)
        print(f"{l['name']}: CKA mlp {l['cka']:.6f} numpy {ref:.6f} diff {abs(l['cka'] - ref):.1e}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "alpha":
        alpha(sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "cka":
        cka_check(*sys.argv[2:])
    else:
        sys.exit(__doc__)
