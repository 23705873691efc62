//! `mlp info`: what a model file holds.

use anyhow::Result;
use clap::Args;
use mlp::data::preprocess::{FeatureColumn, TargetEncoder};
use mlp::layers::Layer;
use mlp::model::{InputSchema, Model};
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Print the model description as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: InfoArgs) -> Result<ExitCode> {
    let model = Model::load(&args.model)?;
    if args.json {
        println!("{}", info_json(&model)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("model      {}", args.model.display());
    println!("task       {}", model.task().name());
    println!("loss       {}", model.loss().name());
    let k = model.ensemble_size();
    if k > 1 {
        println!(
            "parameters {} per member; ensemble of {k} members (predictions are their mean)",
            model.network().n_params()
        );
    } else {
        println!("parameters {}", model.network().n_params());
    }
    if let Some(q) = model.network().qat_int() {
        print_qat(&model, q);
    } else {
        match model.network().int8() {
            Some(q) => println!(
                "precision  int8 ({} bytes vs {} as f32; {} calibration on {} rows; kernel {})",
                q.size_bytes(),
                q.f32_size_bytes(),
                q.calibration(),
                q.calibration_rows(),
                q.kernel_path()
            ),
            None => println!(
                "precision  f32 ({} bytes)",
                4 * model.network().n_params() * k
            ),
        }
    }
    let sparsity = mlp::quant::prune::weight_sparsity(model.network());
    if sparsity > 0.0 {
        println!(
            "sparsity   {:.1}% of the weights are zero",
            100.0 * sparsity
        );
    }
    println!("architecture ({} inputs):", model.network().inputs());
    for (i, layer) in model.network().layers().iter().enumerate() {
        describe(layer, &format!("layers.{i}"), 1);
    }
    match model.input() {
        InputSchema::Tabular { preprocessor } => {
            println!(
                "input: {} CSV columns -> {} features",
                preprocessor.columns.len(),
                preprocessor.n_features
            );
            for c in &preprocessor.columns {
                match c {
                    FeatureColumn::Numeric { name, fill, .. } => println!(
                        "  {name}: numeric{}",
                        fill.map_or(String::new(), |f| format!(", missing -> {f}"))
                    ),
                    FeatureColumn::Categorical {
                        name,
                        categories,
                        fill,
                    } => println!(
                        "  {name}: categorical, {} categories ({}){}",
                        categories.len(),
                        preview(categories),
                        fill.as_ref()
                            .map_or(String::new(), |f| format!(", missing -> {f}"))
                    ),
                }
            }
        }
        InputSchema::Matrix {
            feature_names,
            source,
            value_scale,
        } => println!(
            "input: {} numeric features from {source}{}",
            feature_names.len(),
            value_scale.map_or(String::new(), |s| format!(", raw values scaled by {s}"))
        ),
    }
    println!(
        "standardized features: {}",
        model.scaler().scale.iter().filter(|&&s| s != 1.0).count()
    );
    match model.target() {
        TargetEncoder::Classes { name, labels } => {
            println!(
                "target: '{name}', {} classes ({})",
                labels.len(),
                preview(labels)
            )
        }
        TargetEncoder::Standardized { names, mean, scale } => {
            for ((n, m), s) in names.iter().zip(mean).zip(scale) {
                println!("target: '{n}' (standardized with mean {m:.6}, scale {s:.6})");
            }
        }
    }
    if let Some(t) = model.training() {
        println!(
            "training: {} epochs on {} samples ({} validation) from {}, {:.1}s, {}",
            t.history.len(),
            t.train_samples,
            t.val_samples,
            t.data,
            t.seconds,
            t.outcome
        );
        if let Some(sel) = &t.selection {
            let losses: Vec<String> = sel
                .candidates
                .iter()
                .map(|c| format!("{} {:.4}", c.candidate.name(), c.val_loss))
                .collect();
            println!(
                "  model selection: {} chosen by {} on {} rows ({}); mean validation loss {}",
                sel.chosen.name(),
                sel.plan.describe(),
                sel.rows,
                sel.reason,
                losses.join(", ")
            );
        }
        println!(
            "  optimizer {} lr {} weight decay {} batch {} seed {}",
            t.config.optimizer().name(),
            t.config.base_lr(),
            t.config.weight_decay(),
            t.config.batch_size(),
            t.config.seed()
        );
        if t.config.precision() != mlp::train::Precision::F32 {
            println!(
                "  training precision {} (dense products on bf16 operands with f32 sums; the weights stored here are the f32 master weights)",
                t.config.precision()
            );
        }
        if let Some(last) = t.history.last() {
            println!(
                "  last epoch: train loss {:.4}{}{}",
                last.train_loss,
                last.val_loss
                    .map_or(String::new(), |v| format!(", val loss {v:.4}")),
                last.val_metric
                    .map_or(String::new(), |v| format!(", val metric {v:.4}"))
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `mlp info --json` prints: parameter count, precision, ensemble size, the tensors' names
/// and shapes and the model document. `mlp serve` answers `GET /metadata` with the same value.
pub(crate) fn info_json(model: &Model) -> Result<serde_json::Value> {
    let file = model.to_tensor_file()?;
    let doc: serde_json::Value =
        serde_json::from_str(file.metadata.get("mlp").map_or("{}", |s| s.as_str()))?;
    let tensors: Vec<serde_json::Value> = file
        .tensors
        .iter()
        .map(|(n, s, _)| serde_json::json!({"name": n, "shape": s}))
        .chain(
            file.int8
                .iter()
                .map(|(n, s, _)| serde_json::json!({"name": n, "shape": s, "dtype": "i8"})),
        )
        .collect();
    Ok(
        serde_json::json!({"n_params": model.network().n_params(), "precision": precision_name(model), "ensemble": model.ensemble_size(), "tensors": tensors, "model": doc}),
    )
}

/// One line per layer (its [`Layer::describe`]), blocks followed by their inner layers
/// ([`Layer::children`]), indented.
fn describe(layer: &Layer, name: &str, depth: usize) {
    println!("{}{name}  {}", "  ".repeat(depth), layer.describe());
    for (child, inner) in layer.children() {
        describe(inner, &format!("{name}.{child}"), depth + 1);
    }
}

fn preview(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(6).map(String::as_str).collect();
    let more = if items.len() > 6 {
        format!(", ... {} more", items.len() - 6)
    } else {
        String::new()
    };
    format!("{}{more}", shown.join(", "))
}

/// `int{B}/QAT` for a quantization-aware model, else the model's precision (`int8`, `f32`).
fn precision_name(model: &Model) -> String {
    match model.network().qat_int() {
        Some(q) => format!("int{}/QAT", q.bits()),
        None => model.precision().to_string(),
    }
}

/// Runs of the single-sample latency measurement `info` makes for a QAT model (median reported).
const LATENCY_RUNS: usize = 2000;

/// The precision lines of a quantization-aware model: sizes (as stored, with the weights packed
/// at their bit width, and as f32) and a single-sample latency measured now, on this machine.
fn print_qat(model: &Model, q: &mlp::quant::qat::QatIntNetwork) {
    let bits = q.bits();
    println!(
        "precision  int{bits}/QAT: integer-only inference (int{bits} weights, i32 sums, kernel {})",
        q.kernel_path()
    );
    println!(
        "size       {} bytes stored (i8 per weight), {} bytes packed at {bits} bits, {} bytes as f32 ({:.1}x smaller packed)",
        q.stored_bytes(),
        q.packed_bytes(),
        q.f32_bytes(),
        q.f32_bytes() as f64 / q.packed_bytes().max(1) as f64
    );
    let row = vec![0.0f32; model.network().inputs()];
    let secs = mlp::quant::qat::single_row_latency(model.network(), &row, LATENCY_RUNS);
    println!(
        "latency    {:.2} us per single sample (median of {LATENCY_RUNS} runs, measured now, 1 thread)",
        secs * 1e6
    );
}
