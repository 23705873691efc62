#!/usr/bin/env python3
"""Side-by-side benchmark: `mlp bench` and the peers (PyTorch, scikit-learn, FANN, onnxruntime)
run alternately on the fixed workloads W1-W4 of the performance issue, several repetitions in one
invocation; medians per (peer, workload), ratios pair by pair; writes BENCHMARKS.md.

Usage:
  python3 bench/run.py [--reps 3] [--threads 2] [--workloads w1,w2,w3,w4] [--install]
                       [--peers-dir ../shared/bench/peers] [--out BENCHMARKS.md] [--no-peers]
  python3 bench/run.py --rerender /tmp/mlp_peers/results.json   # rewrite the report (e.g. after
                       editing bench/ANALYSIS.md) from a run's saved measurements, without rerunning

--install installs what the peers need: pip (torch scikit-learn numpy onnx onnxruntime onnxscript
threadpoolctl) and apt (dataset-fashion-mnist libfann-dev zlib1g-dev), then builds the FANN peer.
Peers that are not installed are skipped and listed as such. Timings are never part of the tests.
"""
import argparse, datetime, json, os, platform, shutil, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = "/tmp/mlp_peers"


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), text=True, capture_output=True, **kw)


def install(peers_dir):
    sh([sys.executable, "-m", "pip", "install", "-q", "torch", "scikit-learn", "numpy", "onnx", "onnxruntime",
        "onnxscript", "threadpoolctl"])
    sh("apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist libfann-dev zlib1g-dev")
    sh(["sh", os.path.join(peers_dir, "build_fann.sh")])


def have_module(name):
    return sh([sys.executable, "-c", f"import {name}"]).returncode == 0


def run_json(cmd, label, results, timeout=1800):
    """Runs a command that prints JSON lines; records them under the label (and appends them to
    /tmp/mlp_peers/partial.jsonl, so an interrupted run keeps what it measured)."""
    try:
        return _run_json(cmd, label, results, timeout)
    finally:
        with open(os.path.join(CACHE, "partial.jsonl"), "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in results)


def _run_json(cmd, label, results, timeout):
    print(f"  {label}: {' '.join(cmd)}", flush=True)
    try:
        p = sh(cmd, timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        print(f"    timed out", flush=True)
        return
    if p.returncode != 0:
        print(f"    failed ({p.returncode}): {p.stderr.strip().splitlines()[-1:] }", flush=True)
        return
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            d = json.loads(line)
            d["label"] = label
            # One invocation of ours can print several precisions of a workload (`mlp bench
            # w1,w3 --precision int8`: W3 in f32, then in int8): each precision is its own row.
            prec = d.get("precision", "f32")
            if label == "mlp" and prec != "f32":
                d["label"] = f"mlp-{prec}"
            results.append(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5, help="W1 epochs (ours and the peers')")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workloads", default="w1,w2,w3,w4")
    ap.add_argument("--install", action="store_true")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="use target/release/mlp as it is")
    ap.add_argument("--peers-dir", default=os.path.join(ROOT, "..", "shared", "bench", "peers"))
    ap.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    ap.add_argument("--rerender", metavar="RESULTS_JSON",
                    help="write the report from a saved run (its command line and time are kept)")
    a = ap.parse_args()
    if a.rerender:
        with open(a.rerender) as f:
            saved = json.load(f)
        for key in ("reps", "threads", "workloads", "epochs"):
            setattr(a, key, saved["args"].get(key, 5 if key == "epochs" else None))
        write_report(a, saved["results"], saved["peers_dir"], saved["generated"])
        return
    peers_dir = os.path.abspath(a.peers_dir)
    os.makedirs(CACHE, exist_ok=True)
    if a.install:
        install(peers_dir)
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    mlp = os.path.join(ROOT, "target", "release", "mlp")
    T = str(a.threads)
    py = sys.executable
    P = lambda f: os.path.join(peers_dir, f)
    torch_ok = not a.no_peers and have_module("torch")
    sk_ok = not a.no_peers and have_module("sklearn")
    ort_ok = torch_ok and have_module("onnxruntime")
    fann = os.path.join(CACHE, "fann_bench")
    fann_ok = not a.no_peers and os.path.exists(fann)
    workloads = a.workloads.split(",")
    E = str(a.epochs)
    # `mlp bench w1 --precision bf16` exists once bf16 training is in; until then it is skipped.
    bench_help = sh([mlp, "bench", "--help"]).stdout
    bf16_ok = "bf16" in bench_help
    int8_ok = "int8" in bench_help
    if not bf16_ok:
        print("  note: `mlp bench --help` lists no bf16 precision: ours in bf16 is skipped", flush=True)
    results = []
    for rep in range(a.reps):
        print(f"repetition {rep + 1}/{a.reps}", flush=True)
        if rep == 0 and int8_ok and "w3" in workloads:
            run_json([mlp, "bench", "peak", "--threads", T, "--json"], "mlp", results)
        if "w1" in workloads or "w3" in workloads:
            cmd = [mlp, "bench", "w1,w3" if "w3" in workloads else "w1", "--threads", T, "--seed", str(rep),
                   "--epochs", E, "--json"]
            run_json(cmd + (["--precision", "int8"] if int8_ok and "w3" in workloads else []), "mlp", results)
            if bf16_ok and "w1" in workloads:
                run_json([mlp, "bench", "w1", "--threads", T, "--seed", str(rep), "--epochs", E, "--json",
                          "--precision", "bf16"], "mlp", results)
            if torch_ok:
                run_json([py, P("torch_w1.py"), "--epochs", E, "--threads", T, "--fused-adam", "--seed", str(rep),
                          "--save", f"{CACHE}/torch_w1.pt"], "torch-eager-fusedadam", results)
            if ort_ok and "w3" in workloads:
                # The int8 comparison first: on a busy machine an interrupted run keeps it.
                run_json([py, P("infer_w3.py"), "--peer", "ort-int8", "--threads", T], "ort-int8", results)
            if torch_ok:
                run_json([py, P("torch_w1.py"), "--epochs", E, "--threads", T, "--fused-adam", "--bf16",
                          "--seed", str(rep)], "torch-eager-fusedadam-bf16", results)
            if sk_ok:
                run_json([py, P("sklearn_w1.py"), "--epochs", E, "--threads", T, "--save", f"{CACHE}/sklearn_w1.pkl"],
                         "sklearn", results)
            if fann_ok and rep == 0:
                run_json([fann, "w1", "incremental", "1", f"{CACHE}/fann_w1.net"], "fann-incremental", results)
        if "w3" in workloads:
            for peer, ok in (("ort", ort_ok), ("torch", torch_ok), ("sklearn", sk_ok)):
                if ok:
                    run_json([py, P("infer_w3.py"), "--peer", peer, "--threads", T], peer, results)
        if torch_ok and "w1" in workloads:
            run_json([py, P("torch_w1.py"), "--epochs", E, "--threads", T, "--seed", str(rep)], "torch-eager", results)
            if fann_ok and os.path.exists(f"{CACHE}/fann_w1.net"):
                run_json([fann, "w3", f"{CACHE}/fann_w1.net"], "fann", results)
        if "w2" in workloads:
            run_json([mlp, "bench", "w2", "--threads", T, "--seed", str(rep), "--json"], "mlp", results)
            if torch_ok:
                run_json([py, P("torch_w2.py"), "--epochs", "3", "--threads", T, "--act", "tanh"], "torch-eager", results)
                run_json([py, P("torch_w2.py"), "--epochs", "3", "--threads", "1", "--act", "tanh"], "torch-eager-1thread", results)
            if sk_ok:
                run_json([py, P("sklearn_w2.py"), "--epochs", "3", "--threads", T, "--act", "tanh"], "sklearn", results)
            if fann_ok:
                run_json([fann, "w2", "incremental", "3"], "fann-incremental", results)
                run_json([fann, "w2", "rprop", "3"], "fann-rprop", results)
        if "w4" in workloads:
            run_json([mlp, "bench", "w4", "--threads", T, "--seed", str(rep), "--json"], "mlp", results)
    generated = f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
    saved = os.path.join(CACHE, "results.json")
    with open(saved, "w") as f:
        json.dump({"args": {"reps": a.reps, "threads": a.threads, "workloads": a.workloads, "epochs": a.epochs},
                   "peers_dir": peers_dir, "generated": generated, "results": results}, f)
    print(f"measurements saved to {saved} (rewrite the report with --rerender {saved})")
    write_report(a, results, peers_dir, generated)


def med(results, workload, label, key):
    vals = [r[key] for r in results if r.get("workload") == workload and r["label"] == label
            and isinstance(r.get(key), (int, float))]
    return statistics.median(vals) if vals else None


def fmt(x, digits=3):
    if x is None:
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{digits}f}".rstrip("0").rstrip(".")


def versions():
    v = {"mlp": sh(["cargo", "pkgid", "-p", "mlp"], cwd=ROOT).stdout.strip().split("#")[-1],
         "rustc": sh(["rustc", "--version"]).stdout.strip(), "python": platform.python_version()}
    for mod in ("torch", "sklearn", "onnxruntime", "numpy"):
        p = sh([sys.executable, "-c", f"import {mod}; print({mod}.__version__)"])
        if p.returncode == 0:
            v[mod] = p.stdout.strip()
    if shutil.which("dpkg-query"):
        p = sh(["dpkg-query", "-W", "-f=${Version}", "libfann-dev"])
        if p.returncode == 0 and p.stdout:
            v["fann"] = p.stdout.strip()
    return v


def machine():
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        flags = open("/proc/cpuinfo").read()
        simd = [f for f in ("avx512f", "avx2", "fma") if f" {f}" in flags]
    except OSError:
        simd = []
    return f"{model}, {os.cpu_count()} cores, {'/'.join(simd)}"


def write_report(a, results, peers_dir, generated):
    labels = sorted({r["label"] for r in results})
    L = []
    L.append("# Benchmarks\n")
    L.append(f"Generated {generated} by\n")
    L.append(f"```\npython3 bench/run.py --reps {a.reps} --threads {a.threads} --workloads {a.workloads} "
             f"--epochs {getattr(a, 'epochs', 5)}\n```\n")
    L.append(f"Machine: {machine()}. Threads: {a.threads}. Repetitions: {a.reps} (medians shown); W1 epochs: "
             f"{getattr(a, 'epochs', 5)}; peers run alternately with ours in the same invocation, from "
             f"`{os.path.relpath(peers_dir, ROOT)}`. The machine is shared (other jobs run at the same time): "
             f"absolute times are noisy, the ratios between rows of one invocation are what to read.\n")
    L.append("Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + ".\n")
    # W1
    L.append(f"## W1: Fashion-MNIST 784-256-128-10, Adam, batch 128, {getattr(a, 'epochs', 5)} epochs\n")
    L.append("| peer | s/epoch | samples/s | GFLOP/s | test acc | peak RSS MiB | mlp speed-up |")
    L.append("|---|---|---|---|---|---|---|")
    ours = med(results, "W1", "mlp", "samples_per_s")
    for lab in labels:
        s = med(results, "W1", lab, "median_s_per_epoch")
        if s is None:
            continue
        sps = med(results, "W1", lab, "samples_per_s")
        ratio = (ours / sps) if ours and sps else None
        L.append(f"| {lab} | {fmt(s)} | {fmt(sps)} | {fmt(med(results, 'W1', lab, 'achieved_gflops'))} | "
                 f"{fmt(med(results, 'W1', lab, 'test_acc'), 4)} | {fmt(med(results, 'W1', lab, 'peak_rss_mib'))} | "
                 f"{'—' if lab == 'mlp' or ratio is None else f'{ratio:.2f}x'} |")
    L.append("")
    ran = {r.get("workload") for r in results}
    for w in ("W1", "W2", "W3", "W4"):
        if w not in ran:
            L.append(f"({w} was not run in this invocation: see the previous BENCHMARKS.md in git history.)\n")
    # W2
    L.append("## W2: 8-64-64-1 tanh regression, Adam, batch 32, 200k samples, 3 epochs\n")
    L.append("| peer | s/epoch | steps/s | test MSE | mlp speed-up |")
    L.append("|---|---|---|---|---|")
    ours2 = med(results, "W2", "mlp", "median_s_per_epoch")
    for lab in labels:
        s = med(results, "W2", lab, "median_s_per_epoch")
        if s is None:
            continue
        L.append(f"| {lab} | {fmt(s)} | {fmt(med(results, 'W2', lab, 'steps_per_s'))} | "
                 f"{fmt(med(results, 'W2', lab, 'test_mse'), 4)} | "
                 f"{'—' if lab == 'mlp' or not ours2 else f'{s / ours2:.1f}x'} |")
    L.append("")
    # W3
    L.append("## W3: inference with the W1 model\n")
    L.append("| peer | latency median µs | latency p99 µs | batch-1 /s | batch-10000 /s | mlp latency ratio | mlp throughput ratio |")
    L.append("|---|---|---|---|---|---|---|")
    lat = med(results, "W3", "mlp", "latency_1_us_median")
    thr = med(results, "W3", "mlp", "throughput_batch10000_per_s")
    for lab in labels:
        l = med(results, "W3", lab, "latency_1_us_median")
        if l is None:
            continue
        t = med(results, "W3", lab, "throughput_batch10000_per_s")
        L.append(f"| {lab} | {fmt(l)} | {fmt(med(results, 'W3', lab, 'latency_1_us_p99'))} | "
                 f"{fmt(med(results, 'W3', lab, 'throughput_batch1_per_s'))} | {fmt(t)} | "
                 f"{'—' if lab == 'mlp' or not lat else f'{lat / l:.2f}'} | "
                 f"{'—' if lab == 'mlp' or not (thr and t) else f'{thr / t:.2f}x'} |")
    L.append("")
    # W4
    L.append("## W4: 784-2048-2048-10, batch 256, one epoch of steps\n")
    L.append("| peer | s/epoch | achieved GFLOP/s | best GEMM GFLOP/s (same shapes, same threads) | fraction of best | GEMM-only s/epoch | fraction of GEMM bound |")
    L.append("|---|---|---|---|---|---|---|")
    s4 = med(results, "W4", "mlp", "epoch_s")
    if s4 is not None:
        L.append(f"| mlp | {fmt(s4)} | {fmt(med(results, 'W4', 'mlp', 'achieved_gflops'))} | "
                 f"{fmt(med(results, 'W4', 'mlp', 'best_gemm_gflops'))} | {fmt(med(results, 'W4', 'mlp', 'fraction_of_gemm'))} | "
                 f"{fmt(med(results, 'W4', 'mlp', 'gemm_only_epoch_s'))} | {fmt(med(results, 'W4', 'mlp', 'fraction_of_gemm_bound'))} |")
    L.append("")
    low_precision(L, results)
    # Targets
    L.append("## Targets\n")
    def target(name, ok, detail):
        L.append(f"- {name}: {'met' if ok else ('not measured' if ok is None else 'MISSED')} ({detail})")
    fa = med(results, "W1", "torch-eager-fusedadam", "samples_per_s")
    target("W1 >= 2x PyTorch fused-Adam samples/s", None if not (fa and ours) else ours / fa >= 2,
           f"{ours / fa:.2f}x" if fa and ours else "PyTorch not run")
    g1 = med(results, "W1", "mlp", "gemm_only_epoch_s")
    fs = med(results, "W1", "torch-eager-fusedadam", "median_s_per_epoch")
    if g1 and fs:
        L.append(f"  (the epoch's GEMMs alone, each timed at its standalone rate: {g1:.3f} s; 2x PyTorch "
                 f"needs {fs / 2:.3f} s per epoch)")
    tw2 = med(results, "W2", "torch-eager", "median_s_per_epoch")
    fw2 = min([x for x in (med(results, "W2", "fann-incremental", "median_s_per_epoch"),
                           med(results, "W2", "fann-rprop", "median_s_per_epoch")) if x] or [None]) if fann_any(results) else None
    target("W2 >= 10x PyTorch per epoch", None if not (tw2 and ours2) else tw2 / ours2 >= 10,
           f"{tw2 / ours2:.1f}x" if tw2 and ours2 else "PyTorch not run")
    target("W2 >= 3x FANN per epoch", None if not (fw2 and ours2) else fw2 / ours2 >= 3,
           f"{fw2 / ours2:.1f}x" if fw2 and ours2 else "FANN not run")
    ol = med(results, "W3", "ort", "latency_1_us_median")
    ot = med(results, "W3", "ort", "throughput_batch10000_per_s")
    target("W3 latency <= 0.5x onnxruntime", None if not (ol and lat) else lat / ol <= 0.5,
           f"{lat / ol:.2f}x" if ol and lat else "onnxruntime not run")
    target("W3 batch-10000 throughput >= 1.5x onnxruntime", None if not (ot and thr) else thr / ot >= 1.5,
           f"{thr / ot:.2f}x" if ot and thr else "onnxruntime not run")
    f4 = med(results, "W4", "mlp", "fraction_of_gemm")
    target("W4 >= 75% of the best GEMM rate (fastest single shape)", None if f4 is None else f4 >= 0.75,
           f"{f4:.0%}" if f4 else "not run")
    fb = med(results, "W4", "mlp", "fraction_of_gemm_bound")
    L.append(f"  (against the time the step's own GEMM shapes take alone at their measured rates: "
             f"{fb:.0%})" if fb else "")
    rss = med(results, "W1", "mlp", "peak_rss_mib")
    target("W1 peak memory <= dataset f32 size + 64 MiB (~219 + 64 MiB)", None if rss is None else rss <= 219.0 + 64,
           f"{rss} MiB" if rss else "not run")
    L.append("")
    analysis = os.path.join(ROOT, "bench", "ANALYSIS.md")
    if os.path.exists(analysis):
        L.append(open(analysis).read())
    L.append("## Raw results\n")
    L.append("<details><summary>JSON lines</summary>\n\n```")
    L.extend(json.dumps(r) for r in results)
    L.append("```\n</details>\n")
    with open(a.out, "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"wrote {a.out}")


# Multiply-adds of one W1-model inference (784-256-128-10).
W1_MACS = 784 * 256 + 256 * 128 + 128 * 10


def family(label):
    """The peer a setting belongs to: torch-eager-fusedadam-bf16 -> torch, ort-int8 -> ort."""
    for f in ("mlp", "torch", "ort", "sklearn", "fann"):
        if label == f or label.startswith(f + "-"):
            return f
    return label


def fastest(results, workload, key, lower_is_better=False):
    """Per peer family other than ours: (label, median) of its best setting for `key`."""
    best = {}
    for lab in sorted({r["label"] for r in results if r.get("workload") == workload}):
        fam = family(lab)
        if fam == "mlp":
            continue
        v = med(results, workload, lab, key)
        if v is None:
            continue
        if fam not in best or (v < best[fam][1] if lower_is_better else v > best[fam][1]):
            best[fam] = (lab, v)
    return best


def low_precision(L, results):
    """Each of our precisions against every peer's fastest setting, the issue-15 targets, the
    int8 profile and the fraction of the int8 instruction's peak."""
    ours_w1 = [lab for lab in ("mlp", "mlp-bf16") if med(results, "W1", lab, "samples_per_s")]
    ours_w3 = [lab for lab in ("mlp", "mlp-int8") if med(results, "W3", lab, "throughput_batch10000_per_s")]
    if not ours_w1 and not ours_w3:
        return
    L.append("## Low precision: each of our settings against every peer's fastest\n")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    L.append(f"Load average when the report was written: {load:.1f} on {os.cpu_count()} cores. Each row is a "
             "separate process measured at a different moment; on a loaded machine their ratios carry that noise "
             "(compare the f32 FMA peak below with the core's nominal 2 FMAs x 8 lanes per cycle).\n"
             if load is not None else "")
    name = lambda lab: {"mlp": "mlp f32", "mlp-bf16": "mlp bf16", "mlp-int8": "mlp int8"}.get(lab, lab)
    if ours_w1:
        best = fastest(results, "W1", "samples_per_s")
        L.append("W1 training (samples/s; ratio = ours / the peer's fastest setting):\n")
        L.append("| ours | samples/s | test acc | " + " | ".join(f"vs {f} ({l})" for f, (l, _) in best.items()) + " |")
        L.append("|---|---|---|" + "---|" * len(best))
        for lab in ours_w1:
            sps = med(results, "W1", lab, "samples_per_s")
            L.append(f"| {name(lab)} | {fmt(sps)} | {fmt(med(results, 'W1', lab, 'test_acc'), 4)} | "
                     + " | ".join(f"{sps / v:.2f}x" for _, (_, v) in best.items()) + " |")
        if "mlp-bf16" not in ours_w1:
            L.append("\n(ours in bf16: not run: `mlp bench --help` listed no bf16 precision in this build)")
        L.append("")
    if ours_w3:
        bt = fastest(results, "W3", "throughput_batch10000_per_s")
        bl = fastest(results, "W3", "latency_1_us_median", lower_is_better=True)
        L.append("W3 inference (batch-10000 throughput ratio = ours / peer, higher is better; latency ratio = "
                 "ours / peer, lower is better):\n")
        L.append("| ours | batch-10000 /s | latency µs | test acc | "
                 + " | ".join(f"throughput vs {f} ({l})" for f, (l, _) in bt.items()) + " | "
                 + " | ".join(f"latency vs {f} ({l})" for f, (l, _) in bl.items()) + " |")
        L.append("|---|---|---|---|" + "---|" * (len(bt) + len(bl)))
        for lab in ours_w3:
            t = med(results, "W3", lab, "throughput_batch10000_per_s")
            lt = med(results, "W3", lab, "latency_1_us_median")
            kp = next((r.get("kernel_path") for r in results if r.get("workload") == "W3" and r["label"] == lab), "-")
            L.append(f"| {name(lab)} ({kp}) | {fmt(t)} | {fmt(lt)} | {fmt(med(results, 'W3', lab, 'test_acc'), 4)} | "
                     + " | ".join(f"{t / v:.2f}x" for _, (_, v) in bt.items()) + " | "
                     + " | ".join(f"{lt / v:.2f}" for _, (_, v) in bl.items()) + " |")
        L.append("")
    L.append("### Targets of the low-precision issue\n")

    def target(label, ok, detail):
        L.append(f"- {label}: {'met' if ok else ('not measured' if ok is None else 'MISSED')} ({detail})")

    tb = fastest(results, "W1", "samples_per_s").get("torch")
    b16 = med(results, "W1", "mlp-bf16", "samples_per_s")
    target("W1 bf16 >= 2x PyTorch's fastest setting", None if not (tb and b16) else b16 / tb[1] >= 2,
           f"{b16 / tb[1]:.2f}x {tb[0]}" if tb and b16 else "ours in bf16 not run in this build")
    a32, a16 = med(results, "W1", "mlp", "test_acc"), med(results, "W1", "mlp-bf16", "test_acc")
    target("W1 bf16 test accuracy within 0.005 of f32", None if a16 is None or a32 is None else abs(a16 - a32) <= 0.005,
           f"{a16:.4f} vs {a32:.4f}" if a16 is not None and a32 is not None else "not run")
    oi_t = med(results, "W3", "ort-int8", "throughput_batch10000_per_s")
    oi_l = med(results, "W3", "ort-int8", "latency_1_us_median")
    q_t = med(results, "W3", "mlp-int8", "throughput_batch10000_per_s")
    q_l = med(results, "W3", "mlp-int8", "latency_1_us_median")
    target("W3 int8 batch-10000 >= 1.5x onnxruntime int8", None if not (oi_t and q_t) else q_t / oi_t >= 1.5,
           f"{q_t / oi_t:.2f}x" if oi_t and q_t else "not run")
    target("W3 int8 latency <= 0.5x onnxruntime int8", None if not (oi_l and q_l) else q_l / oi_l <= 0.5,
           f"{q_l / oi_l:.2f}x" if oi_l and q_l else "not run")
    f_acc, q_acc = med(results, "W3", "mlp", "test_acc"), med(results, "W3", "mlp-int8", "test_acc")
    target("W3 int8 test accuracy within 0.005 of f32", None if f_acc is None or q_acc is None else abs(q_acc - f_acc) <= 0.005,
           f"{q_acc:.4f} vs {f_acc:.4f}" if f_acc is not None and q_acc is not None else "not run")
    peak = next((r for r in results if r.get("workload") == "peak"), None)
    if peak:
        L.append("\nPeak of each instruction (`mlp bench peak`: the instruction alone in a loop of 12 independent "
                 "accumulators; GMAC/s = 10^9 multiply-adds per second):\n")
        L.append("| instruction | multiply-adds each | GMAC/s 1 thread | GMAC/s all threads |")
        L.append("|---|---|---|---|")
        for r in peak.get("rates", []):
            L.append(f"| `{r['instruction']}` | {r['macs_per_instruction']} | {r['gmacs_per_s_1thread']} | "
                     f"{r['gmacs_per_s_all_threads']} |")
        L.append("")
        path = peak.get("int8_kernel_path")
        instr = {"avx2": "vpmaddwd", "avx512vnni": "vpdpbusd"}.get(path)
        rate = next((r["gmacs_per_s_all_threads"] for r in peak.get("rates", []) if r["instruction"] == instr), None)
        if q_t and rate:
            got = q_t * W1_MACS / 1e9
            L.append(f"The int8 W3 batch-10000 line ({path} path, `{instr}`) reaches {got:.1f} GMAC/s, "
                     f"{got / rate:.0%} of the instruction's measured peak on all threads ({rate} GMAC/s).")
        if not any(r["instruction"] == "vdpbf16ps" for r in peak.get("rates", [])):
            L.append("This CPU has no bf16 dot-product instruction (`vdpbf16ps` needs AVX512-BF16), so bf16 has "
                     "no separate peak here.")
        L.append("")
    L.append("How the int8 kernel runs on AVX2 (`kernels/int8.rs`): exact 8-bit operands (activations 0..255, "
             "weights -127..127) widened to 16 bits and multiplied with `vpmaddwd` (16 multiply-adds, pair sums "
             "into `i32`, nothing saturates); weights packed once at load into panels of eight outputs, a register "
             "tile of 6 rows x 16 outputs (12 accumulators) that broadcasts an activation pair per row: no "
             "horizontal sums. `vpmaddubsw` (u8 x i8, 32 multiply-adds) was not taken: it saturates its pair sums "
             "to `i16`, so it is exact only with 7-bit activations or weights, and its `i16` result needs a "
             "`vpmaddwd` against ones to reach `i32`: by the instruction tables both are multiplies on the same two "
             "pipes of Zen 3, so the pair would do 32 multiply-adds per two multiplies, no more than `vpmaddwd` "
             "alone. The peak table measures both side by side; check that claim there on an idle machine (on a "
             "loaded one the rates are dominated by preemption: see the f32 FMA's rate). Every path returns the same integers, so predictions are "
             "bit-identical to the scalar reference and to the previous kernel.\n")
    prof = [r for r in results if r.get("label") == "mlp-int8" and r.get("profile_1thread_ms")]
    if prof:
        keys = list(prof[0]["profile_1thread_ms"].keys())
        total = statistics.median(r["profile_1thread_total_ms"] for r in prof)
        L.append("Profile of the int8 batch pass (the 10000 test rows on one thread, "
                 "`Int8Network::stage_seconds`, medians):\n")
        L.append("| stage | ms | share |")
        L.append("|---|---|---|")
        for k in keys:
            v = statistics.median(r["profile_1thread_ms"].get(k, 0.0) for r in prof)
            L.append(f"| {k} | {v:.2f} | {v / total:.0%} |")
        L.append(f"| total | {total:.2f} | |")
        L.append("")


def fann_any(results):
    return any(r["label"].startswith("fann") for r in results)


if __name__ == "__main__":
    main()
