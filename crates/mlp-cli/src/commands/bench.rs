//! `mlp bench`: the fixed performance workloads, printing one JSON line each with the same field
//! names as the peer scripts (`../shared/bench/peers`), so `bench/run.sh` can put them side by side.
//!
//! - W1: Fashion-MNIST, 784-256-128-10 ReLU, softmax cross-entropy, Adam lr 1e-3, batch 128,
//!   reshuffled every epoch; time per epoch (shuffle + all steps, no evaluation), test accuracy.
//! - W2: 8-64-64-1 tanh, MSE, Adam lr 1e-3, batch 32, 200k samples of the SplitMix64 set.
//! - W3: inference with the W1 model: single-sample latency (median, p99 over 10k calls) and
//!   throughput at batch 1 and batch 10000. With `--precision int8` a second W3 line measures the
//!   same model quantized to int8 (calibrated on the first 10000 training images, percentile
//!   99.99), with the int8 kernel path that ran and its test accuracy.
//! - W1 with `--precision bf16`: the same run in mixed precision (dense products on bf16 operands
//!   with f32 sums), with the bf16 kernel path that ran, the peak multiply-add rate of that path's
//!   core instruction on this CPU (a register-only loop: `vdpbf16ps`, or `vfmadd231ps` on AVX2),
//!   and the fractions of it the bf16 products alone and the whole training reach.
//! - peak: the multiply-add rate of each int8 instruction this CPU has (`vpmaddwd`,
//!   `vpmaddubsw` + `vpmaddwd`, `vpdpbusd`) and of the f32 FMA, alone in a loop, on one thread and
//!   on `--threads` at once: the ceiling for the int8 W3 line's products.
//! - W4: 784-2048-2048-10, batch 256, one epoch's worth of steps: achieved GFLOP/s against the
//!   GEMM rate measured in the same process for the same shapes (`fraction_of_gemm`: against the
//!   fastest shape; `fraction_of_gemm_bound`: the time the step's GEMMs alone take at their
//!   measured rates, over the measured epoch time).

use anyhow::{Result, bail};
use clap::Args;
use mlp::Activation;
use mlp::data::datasets::{NamedDataset, Split, load_named};
use mlp::data::generate::w2_data;
use mlp::data::{Dataset, Targets};
use mlp::loss::Loss;
use mlp::network::{InferenceScratch, Network};
use mlp::optim::OptimizerConfig;
use mlp::perf::{Transpose, gemm_gflops};
use mlp::spec::ModelSpec;
use mlp::train::{NoHooks, Precision, TrainConfig, TrainState, evaluate_loss, train};
use serde_json::json;
use std::process::ExitCode;
use std::time::Instant;

/// Flags of `mlp bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Workloads to run: w1, w2, w3, w4, and peak (the int8 instructions' multiply-add rates)
    /// (comma-separated; default w1-w4).
    #[arg(value_delimiter = ',', default_value = "w1,w2,w3,w4")]
    pub workloads: Vec<String>,
    /// Epochs for W1 (default 5) and W2 (default 3).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Weight initializer (default: mlp's own default; `torch_default` draws as the PyTorch peer
    /// scripts do: measured on W1 it fits slightly slower, 0.865 vs 0.873 median test accuracy over
    /// seeds 0-2, and on W2 slightly better, test MSE 0.0117 vs 0.0126).
    #[arg(long, default_value = "xavier_uniform")]
    pub init: String,
    /// Print one JSON object per workload (the fields the peer scripts print) instead of a
    /// summary line.
    #[arg(long)]
    pub json: bool,
    /// Precision: f32; int8 for W3 (the f32 line, then the int8 model's line); bf16 for W1
    /// (mixed-precision training: the bf16 kernel path, the peak rate of its core instruction and
    /// the fraction of it reached).
    #[arg(long, default_value = "f32", value_parser = ["f32", "int8", "bf16"])]
    pub precision: String,
}

/// The workload's network with every dense layer drawn from `init`.
fn network(
    inputs: usize,
    hidden: &[usize],
    outputs: usize,
    act: Activation,
    args: &BenchArgs,
) -> Result<Network> {
    let init: mlp::layers::Init = args.init.parse()?;
    let mut spec = ModelSpec::mlp(inputs, hidden, outputs, act, 0.0);
    for layer in &mut spec.layers {
        if let mlp::spec::LayerSpec::Dense { init: i, .. } = layer {
            *i = Some(init);
        }
    }
    Ok(spec.build(args.seed)?)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Peak resident set size of this process in MiB (Linux; `None` elsewhere).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}

fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}

fn config(epochs: usize, batch: usize, threads: usize, seed: u64) -> TrainConfig {
    TrainConfig::default()
        .with_epochs(epochs)
        .with_batch_size(batch)
        .with_optimizer(OptimizerConfig::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        })
        .with_lr(Some(1e-3))
        .with_weight_decay(0.0)
        .with_patience(None)
        .with_seed(seed)
        .with_threads(threads)
}

fn flops_per_epoch(net: &Network, n: usize) -> f64 {
    6.0 * net.n_params() as f64 * n as f64
}

/// Trains W1 and returns the trained network with its JSON line.
fn w1(args: &BenchArgs) -> Result<(Network, Dataset, serde_json::Value)> {
    let train_set = load_named(NamedDataset::FashionMnist, Split::Train, true)?;
    let test = load_named(NamedDataset::FashionMnist, Split::Test, true)?;
    let epochs = args.epochs.unwrap_or(5);
    let mut net = network(784, &[256, 128], 10, Activation::Relu, args)?;
    let loss = Loss::CrossEntropy {
        label_smoothing: 0.0,
    };
    let bf16 = args.precision == "bf16";
    let cfg = config(epochs, 128, args.threads, args.seed).with_precision(if bf16 {
        Precision::Bf16
    } else {
        Precision::F32
    });
    let mut state = TrainState::default();
    train(
        &mut net,
        &train_set,
        None,
        &cfg,
        &loss,
        &mut state,
        &mut NoHooks,
    )?;
    let times: Vec<f64> = state.history.iter().map(|r| r.seconds).collect();
    let (_, acc) = evaluate_loss(&net, &test, &loss, None);
    let med = median(&times);
    let n = train_set.len();
    let flops = flops_per_epoch(&net, n);
    let widths = [784, 256, 128, 10];
    let (gemm_only_s, bf16_macs) = if bf16 {
        bf16_products_alone(&widths, 128, n, args.threads)?
    } else {
        (step_gemms_alone_s(&widths, 128, n, args.threads)?, 0.0)
    };
    let mut line = json!({
        "peer": "mlp", "workload": "W1", "threads": args.threads, "epochs": epochs,
        "epoch_s": times.iter().map(|t| round(*t, 3)).collect::<Vec<_>>(),
        "median_s_per_epoch": round(med, 3), "samples_per_s": round(n as f64 / med, 1),
        "train_loss": state.history.iter().map(|r| round(r.train_loss, 4)).collect::<Vec<_>>(),
        "test_acc": acc.map(|a| round(a, 4)), "params": net.n_params(),
        "gflop_per_epoch": round(flops / 1e9, 2), "achieved_gflops": round(flops / med / 1e9, 2),
        "gemm_only_epoch_s": round(gemm_only_s, 3), "fraction_of_gemm_bound": round(gemm_only_s / med, 3),
        "peak_rss_mib": peak_rss_mib(),
    });
    if bf16 && let Some(obj) = line.as_object_mut() {
        let macs = bf16_macs;
        let (instruction, per_instruction, peak) = mlp::perf::bf16_peak(300);
        let all_cores = peak * args.threads as f64;
        obj.insert("precision".into(), json!("bf16"));
        obj.insert("kernel_path".into(), json!(mlp::perf::bf16_path()));
        obj.insert("peak_instruction".into(), json!(instruction));
        obj.insert("peak_macs_per_instruction".into(), json!(per_instruction));
        obj.insert("peak_gmacs_per_core".into(), json!(round(peak / 1e9, 2)));
        obj.insert("bf16_gmac_per_epoch".into(), json!(round(macs / 1e9, 2)));
        obj.insert(
            "products_fraction_of_peak".into(),
            json!(round(macs / gemm_only_s / all_cores, 3)),
        );
        obj.insert(
            "training_fraction_of_peak".into(),
            json!(round(macs / med / all_cores, 3)),
        );
    }
    Ok((net, test, line))
}

/// The bf16 products of one epoch of a dense net with these widths (forward, weight gradient,
/// and input gradient below the first layer), each timed alone with both operands packed, at the
/// given thread count: `(seconds, multiply-adds)` per epoch.
fn bf16_products_alone(
    widths: &[usize],
    batch: usize,
    samples: usize,
    threads: usize,
) -> Result<(f64, f64)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let (mut step_s, mut step_macs) = (0.0, 0.0);
    for (layer, pair) in widths.windows(2).enumerate() {
        let (fan_in, fan_out) = (pair[0], pair[1]);
        // (rows of C, columns of C, depth) of C = A B^T.
        let mut shapes = vec![(batch, fan_out, fan_in), (fan_out, fan_in, batch)];
        if layer > 0 {
            shapes.push((batch, fan_in, fan_out));
        }
        for (m, n, k) in shapes {
            let macs = (m * n * k) as f64;
            let rate = pool.install(|| mlp::perf::bf16_product_macs_per_second(m, n, k))?;
            step_s += macs / rate.max(1.0);
            step_macs += macs;
        }
    }
    let steps = samples.div_ceil(batch) as f64;
    Ok((step_s * steps, step_macs * steps))
}

/// Seconds one epoch's matrix products would take alone: every GEMM of a training step of a
/// dense net with these layer widths (forward, weight gradient, and input gradient below the
/// first layer), each timed in isolation at the given thread count, times the steps per epoch.
/// Its ratio to the measured epoch is the share of the epoch that is GEMM at its standalone rate.
fn step_gemms_alone_s(
    widths: &[usize],
    batch: usize,
    samples: usize,
    threads: usize,
) -> Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let mut step_s = 0.0;
    for (layer, pair) in widths.windows(2).enumerate() {
        let (fan_in, fan_out) = (pair[0], pair[1]);
        let mut shapes = vec![
            (Transpose::No, Transpose::Yes, batch, fan_out, fan_in),
            (Transpose::Yes, Transpose::No, fan_out, fan_in, batch),
        ];
        if layer > 0 {
            shapes.push((Transpose::No, Transpose::No, batch, fan_in, fan_out));
        }
        for (ta, tb, m, n, k) in shapes {
            let rate = pool.install(|| gemm_gflops(ta, tb, m, n, k))?;
            step_s += 2.0 * (m * n * k) as f64 / (rate * 1e9);
        }
    }
    Ok(step_s * samples.div_ceil(batch) as f64)
}

fn w2(args: &BenchArgs) -> Result<serde_json::Value> {
    let (train_set, test) = w2_data(200_000, 10_000, 42);
    let epochs = args.epochs.unwrap_or(3);
    let mut net = network(8, &[64, 64], 1, Activation::Tanh, args)?;
    let cfg = config(epochs, 32, args.threads, args.seed);
    let mut state = TrainState::default();
    train(
        &mut net,
        &train_set,
        None,
        &cfg,
        &Loss::Mse,
        &mut state,
        &mut NoHooks,
    )?;
    let times: Vec<f64> = state.history.iter().map(|r| r.seconds).collect();
    let (test_mse, _) = evaluate_loss(&net, &test, &Loss::Mse, None);
    let med = median(&times);
    let n = train_set.len();
    Ok(json!({
        "peer": "mlp", "workload": "W2", "act": "tanh", "threads": args.threads, "epochs": epochs,
        "epoch_s": times.iter().map(|t| round(*t, 3)).collect::<Vec<_>>(),
        "median_s_per_epoch": round(med, 3), "samples_per_s": round(n as f64 / med, 1),
        "steps_per_s": round(n as f64 / 32.0 / med, 1),
        "train_mse": state.history.iter().map(|r| round(r.train_loss, 4)).collect::<Vec<_>>(),
        "test_mse": round(test_mse, 5), "peak_rss_mib": peak_rss_mib(),
    }))
}

fn w3(args: &BenchArgs, net: &Network, test: &Dataset) -> Result<serde_json::Value> {
    // Every measurement inside a pool of --threads threads: the single-sample path splits its
    // layers over two cores only when the pool has more than one thread.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;
    pool.install(|| w3_in_pool(args, net, test))
}

/// The int8 W3 line: the W1 network quantized (calibrated on the first 10000 training images).
fn w3_int8(args: &BenchArgs, net: &Network, test: &Dataset) -> Result<serde_json::Value> {
    let train_set = load_named(NamedDataset::FashionMnist, Split::Train, true)?;
    let rows = train_set.len().min(10_000);
    let calib = &train_set.features()[..rows * net.inputs()];
    let q = mlp::quant::quantize_network(
        net,
        calib,
        rows,
        mlp::quant::Calibration::Percentile { percentile: 99.99 },
    )?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;
    let mut scratch = mlp::quant::Int8Scratch::default();
    let mut line = pool.install(|| {
        w3_measure(
            args,
            net.inputs(),
            net.outputs(),
            test,
            |x, out| q.predict_into(x, 1, &mut scratch, out),
            |x, rows, out| out.copy_from_slice(&q.predict(x, rows)),
        )
    })?;
    if let Some(obj) = line.as_object_mut() {
        obj.insert("precision".into(), json!("int8"));
        obj.insert("kernel_path".into(), json!(q.kernel_path()));
        obj.insert("model_bytes".into(), json!(q.size_bytes()));
        obj.insert("f32_model_bytes".into(), json!(q.f32_size_bytes()));
        // Where batch-10000's time goes, on one thread: the profile behind the throughput.
        let stages = q.stage_seconds(test.features(), test.len());
        let total: f64 = stages.iter().map(|(_, s)| s).sum();
        obj.insert(
            "profile_1thread_ms".into(),
            json!(
                stages
                    .iter()
                    .map(|(name, s)| (name.clone(), json!(round(s * 1e3, 2))))
                    .collect::<serde_json::Map<_, _>>()
            ),
        );
        obj.insert(
            "profile_1thread_total_ms".into(),
            json!(round(total * 1e3, 2)),
        );
    }
    Ok(line)
}

fn w3_in_pool(args: &BenchArgs, net: &Network, test: &Dataset) -> Result<serde_json::Value> {
    let mut scratch = InferenceScratch::default();
    let mut line = w3_measure(
        args,
        net.inputs(),
        net.outputs(),
        test,
        |x, out| net.predict_into(net.params(), x, 1, &mut scratch, out),
        |x, rows, out| net.predict_batch(net.params(), x, rows, out),
    )?;
    if let Some(obj) = line.as_object_mut() {
        obj.insert("precision".into(), json!("f32"));
        obj.insert("kernel_path".into(), json!(mlp::perf::simd_path()));
    }
    Ok(line)
}

/// W3's measurements of one inference path: `one(x, out)` predicts one row, `batch(x, rows,
/// out)` many.
fn w3_measure(
    args: &BenchArgs,
    nin: usize,
    nout: usize,
    test: &Dataset,
    mut one: impl FnMut(&[f32], &mut [f32]),
    mut batch: impl FnMut(&[f32], usize, &mut [f32]),
) -> Result<serde_json::Value> {
    let n = test.len();
    let x = test.features();
    let mut out = vec![0.0f32; nout];
    // Single sample: the lean path, on the calling thread (and the helper core with 2+ threads).
    for i in 0..200 {
        one(&x[i * nin..(i + 1) * nin], &mut out);
    }
    let mut lat = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        let r = i % n;
        let t0 = Instant::now();
        one(&x[r * nin..(r + 1) * nin], &mut out);
        lat.push(t0.elapsed().as_nanos() as f64);
        std::hint::black_box(&out);
    }
    let mut thr1 = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        for r in 0..n {
            one(&x[r * nin..(r + 1) * nin], &mut out);
        }
        thr1.push(n as f64 / t0.elapsed().as_secs_f64());
    }
    let mut big = vec![0.0f32; n * nout];
    let mut thrb = Vec::new();
    for rep in 0..8 {
        let t0 = Instant::now();
        batch(x, n, &mut big);
        if rep > 0 {
            thrb.push(n as f64 / t0.elapsed().as_secs_f64());
        }
    }
    let Targets::Classes { labels, .. } = test.targets() else {
        bail!("W3 needs class labels")
    };
    let correct = big
        .chunks_exact(nout)
        .zip(labels)
        .filter(|(row, l)| mlp::train::argmax(row) == **l)
        .count();
    let mut sorted = lat.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(json!({
        "peer": "mlp", "workload": "W3", "threads": args.threads,
        "latency_1_us_median": round(median(&lat) / 1e3, 2),
        "latency_1_us_p99": round(sorted[(0.99 * sorted.len() as f64) as usize] / 1e3, 2),
        "throughput_batch1_per_s": median(&thr1).round(),
        "throughput_batch10000_per_s": median(&thrb).round(),
        "test_acc": round(correct as f64 / n as f64, 4), "peak_rss_mib": peak_rss_mib(),
    }))
}

fn w4(args: &BenchArgs) -> Result<serde_json::Value> {
    let train_set = load_named(NamedDataset::FashionMnist, Split::Train, true)?;
    let mut net = network(784, &[2048, 2048], 10, Activation::Relu, args)?;
    let cfg = config(1, 256, args.threads, args.seed);
    let mut state = TrainState::default();
    let t0 = Instant::now();
    train(
        &mut net,
        &train_set,
        None,
        &cfg,
        &Loss::CrossEntropy {
            label_smoothing: 0.0,
        },
        &mut state,
        &mut NoHooks,
    )?;
    let seconds = state
        .history
        .first()
        .map_or(t0.elapsed().as_secs_f64(), |r| r.seconds);
    let flops = flops_per_epoch(&net, train_set.len());
    let achieved = flops / seconds / 1e9;
    // The GEMMs of one step, measured alone with the same threads (forward, weight grad, input grad).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;
    let shapes = [
        (Transpose::No, Transpose::Yes, 256, 2048, 784),
        (Transpose::No, Transpose::Yes, 256, 2048, 2048),
        (Transpose::Yes, Transpose::No, 2048, 784, 256),
        (Transpose::Yes, Transpose::No, 2048, 2048, 256),
        (Transpose::No, Transpose::No, 256, 2048, 2048),
    ];
    let rates: Vec<f64> = pool.install(|| {
        shapes
            .iter()
            .map(|&(ta, tb, m, n, k)| gemm_gflops(ta, tb, m, n, k))
            .collect::<mlp::Result<_>>()
    })?;
    let best = rates.iter().copied().fold(0.0, f64::max);
    // Time the step's GEMMs alone would take at the measured rates (the 10-wide output layer's
    // products are negligible and left out): the floor for this epoch with this GEMM.
    let steps = train_set.len().div_ceil(256) as f64;
    let gemm_only_s: f64 = steps
        * shapes
            .iter()
            .zip(&rates)
            .map(|(&(_, _, m, n, k), r)| 2.0 * (m * n * k) as f64 / (r * 1e9))
            .sum::<f64>();
    Ok(json!({
        "peer": "mlp", "workload": "W4", "threads": args.threads, "epoch_s": round(seconds, 3),
        "params": net.n_params(), "gflop_per_epoch": round(flops / 1e9, 2),
        "achieved_gflops": round(achieved, 2),
        "gemm_gflops_by_shape": rates.iter().map(|r| round(*r, 1)).collect::<Vec<_>>(),
        "best_gemm_gflops": round(best, 1), "fraction_of_gemm": round(achieved / best, 3),
        "gemm_only_epoch_s": round(gemm_only_s, 3), "fraction_of_gemm_bound": round(gemm_only_s / seconds, 3),
        "peak_rss_mib": peak_rss_mib(),
    }))
}

/// `peak`: the multiply-add rate of each int8 instruction (and the f32 FMA) on one thread and on
/// `--threads` threads at once: the ceiling the int8 kernels are measured against.
fn peak(args: &BenchArgs) -> Result<serde_json::Value> {
    const ITERS: usize = 20_000_000;
    let one = mlp::quant::peak_rates(ITERS);
    let threads = args.threads.max(1);
    let all: Vec<Vec<mlp::quant::PeakRate>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| mlp::quant::peak_rates(ITERS)))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let rates: Vec<serde_json::Value> = one
        .iter()
        .map(|r| {
            let together: f64 = all
                .iter()
                .filter_map(|t| t.iter().find(|q| q.instruction == r.instruction))
                .map(|q| q.macs_per_s)
                .sum();
            json!({
                "instruction": r.instruction, "macs_per_instruction": r.macs_per_instruction,
                "gmacs_per_s_1thread": round(r.macs_per_s / 1e9, 1),
                "gmacs_per_s_all_threads": round(together / 1e9, 1),
            })
        })
        .collect();
    Ok(json!({
        "peer": "mlp", "workload": "peak", "threads": threads,
        "int8_kernel_path": mlp::quant::kernel_path(), "rates": rates,
    }))
}

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    let mut trained: Option<(Network, Dataset)> = None;
    for w in &args.workloads {
        let line = match w.to_ascii_lowercase().as_str() {
            "w1" => {
                let (net, test, line) = w1(&args)?;
                trained = Some((net, test));
                line
            }
            "w2" => w2(&args)?,
            "w3" => {
                if trained.is_none() {
                    let (net, test, _) = w1(&args)?;
                    trained = Some((net, test));
                }
                let (net, test) = trained
                    .as_ref()
                    .map(|(n, t)| (n, t))
                    .ok_or_else(|| anyhow::anyhow!("no W1 model"))?;
                let line = w3(&args, net, test)?;
                if args.precision == "int8" {
                    print_line(&args, &line);
                    w3_int8(&args, net, test)?
                } else {
                    line
                }
            }
            "w4" => w4(&args)?,
            "peak" => peak(&args)?,
            other => bail!("unknown workload '{other}'; one of w1, w2, w3, w4, peak"),
        };
        print_line(&args, &line);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_line(args: &BenchArgs, line: &serde_json::Value) {
    if args.json {
        println!("{line}");
    } else {
        println!("{}", summary(line));
    }
}

/// The bf16 part of a W1 summary (empty for an f32 run).
fn bf16_summary(v: &serde_json::Value) -> String {
    let text = |key: &str| {
        v.get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("-")
    };
    let num = |key: &str| {
        v.get(key)
            .and_then(serde_json::Value::as_f64)
            .map_or_else(|| "-".to_string(), |x| x.to_string())
    };
    if text("precision") != "bf16" {
        return String::new();
    }
    format!(
        "; precision bf16 ({} kernels): peak of {} ({} multiply-adds each) {} GMAC/s per core; the bf16 products alone reach {} of the peak of all threads, the whole training {}",
        text("kernel_path"),
        text("peak_instruction"),
        num("peak_macs_per_instruction"),
        num("peak_gmacs_per_core"),
        num("products_fraction_of_peak"),
        num("training_fraction_of_peak"),
    )
}

/// One readable line for a workload's JSON result.
fn summary(v: &serde_json::Value) -> String {
    let num = |key: &str| v.get(key).and_then(serde_json::Value::as_f64);
    let show = |key: &str, digits: usize| {
        num(key).map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"))
    };
    match v.get("workload").and_then(serde_json::Value::as_str) {
        Some("W1") => {
            format!(
                "W1  {} s/epoch, {} samples/s, {} GFLOP/s, test accuracy {}, GEMMs alone {} s/epoch, peak RSS {} MiB",
                show("median_s_per_epoch", 3),
                show("samples_per_s", 0),
                show("achieved_gflops", 1),
                show("test_acc", 4),
                show("gemm_only_epoch_s", 3),
                show("peak_rss_mib", 1),
            ) + &bf16_summary(v)
        }
        Some("W2") => format!(
            "W2  {} s/epoch, {} steps/s, test MSE {}, peak RSS {} MiB",
            show("median_s_per_epoch", 3),
            show("steps_per_s", 0),
            show("test_mse", 5),
            show("peak_rss_mib", 1),
        ),
        Some("W3") => format!(
            "W3  {} ({} kernels): latency {} µs median ({} µs p99), {} samples/s at batch 1, {} at batch 10000, test accuracy {}",
            v.get("precision")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("f32"),
            v.get("kernel_path")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("-"),
            show("latency_1_us_median", 2),
            show("latency_1_us_p99", 2),
            show("throughput_batch1_per_s", 0),
            show("throughput_batch10000_per_s", 0),
            show("test_acc", 4),
        ),
        Some("peak") => {
            let rates = v.get("rates").and_then(serde_json::Value::as_array);
            let parts: Vec<String> = rates
                .into_iter()
                .flatten()
                .map(|r| {
                    let f = |k: &str| r.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
                    format!(
                        "{} {:.1} GMAC/s ({:.1} on {} threads)",
                        r.get("instruction")
                            .and_then(serde_json::Value::as_str)
                            .unwrap_or("-"),
                        f("gmacs_per_s_1thread"),
                        f("gmacs_per_s_all_threads"),
                        v.get("threads")
                            .and_then(serde_json::Value::as_u64)
                            .unwrap_or(1),
                    )
                })
                .collect();
            format!("peak  {}", parts.join(", "))
        }
        Some("W4") => format!(
            "W4  {} s/epoch, {} GFLOP/s = {} of the best GEMM rate ({} GFLOP/s), peak RSS {} MiB",
            show("epoch_s", 3),
            show("achieved_gflops", 1),
            show("fraction_of_gemm", 3),
            show("best_gemm_gflops", 1),
            show("peak_rss_mib", 1),
        ),
        _ => v.to_string(),
    }
}
