//! Dependency-free C export of a trained model: one `.c`/`.h` pair that needs nothing beyond
//! `<math.h>` (and `<stdint.h>` for the fixed-point variant), for microcontrollers and other
//! places a Rust binary cannot go.
//!
//! # The generated interface
//! ```c
//! #define MLP_N_INPUTS  ...   /* raw feature vector length */
//! #define MLP_N_OUTPUTS ...   /* probabilities (classifiers) or raw-unit values (regressors) */
//! void mlp_predict(const float *input, float *output);
//! ```
//! `input` is the feature vector **before** the model's standardisation, in the order `mlp info`
//! lists the encoded features: a numeric column is its raw value; a text (categorical) column is
//! a one-hot block over its training vocabulary (sorted by byte order; all zeros for an unseen
//! category); a matrix model (NPY, IDX) takes the values `mlp predict` reads (IDX pixels already
//! divided by 255). Missing cells are not handled: impute before calling. The header lists every
//! position's name. `output` receives what `mlp predict --proba` writes for a classifier (class
//! probabilities, in label order; a one-output BCE classifier gives two), per-label
//! probabilities for a multi-label model, or values in the target's raw units for a regressor.
//! The preprocessing (the input encoder's standardisation, the model's scaler), the temperature
//! of a calibrated classifier and the target unscaling are compiled in.
//!
//! Buffers are `static`: no heap, little stack, but `mlp_predict` is not reentrant (guard it
//! with a lock when several threads share one copy).
//!
//! # Float and fixed point
//! The float variant evaluates the network in `float` with the same formulas as `mlp predict`
//! (results agree within about 1e-6). It supports dense, dropout (the identity at inference),
//! layer norm, batch norm (running statistics) and residual blocks of these.
//!
//! The fixed-point variant (`fixed_point = true`, FANN-style) runs every dense layer in integer
//! arithmetic: weights are `int16_t` in a Q-format chosen per layer from the largest weight
//! (`max|w| * 2^fw <= 32767`), activations are `int32_t` in a Q-format chosen per layer from
//! the pre-activation range seen on calibration rows (`max|z| * 2^fz <= 32767`, i.e. 16
//! significant bits with a factor 65536 of headroom before `int32_t` overflows, so a range
//! estimated from a sample is safe), products are summed in `int64_t` and shifted (with
//! rounding) into the next layer's format. ReLU, leaky ReLU and the identity are exact integer
//! operations; the smooth activations (tanh, sigmoid, GELU, SiLU, ELU, softplus) are
//! piecewise-linear tables of 128 segments with linear extrapolation, evaluated in integers.
//! Only the input quantization and the output head (softmax, unscaling) use `float`. Dense and
//! dropout layers only: any other block is an error naming it.
//!
//! Calibration rows: the training rows when the caller has them ([`COptions::calibration`]);
//! otherwise rows drawn from the standard normal in the network's (standardised) input space,
//! which is what standardisation makes the training data look like — with the headroom above,
//! a range off by a factor of ten costs a few bits of precision, not an overflow.

use crate::data::preprocess::{FeatureColumn, TargetEncoder};
use crate::kernels::elementwise::{Activation, ELU_ALPHA, LEAKY_RELU_SLOPE};
use crate::layers::Layer;
use crate::loss::Loss;
use crate::model::{InputSchema, Model, Task};
use crate::rng::Rng;
use crate::{Error, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The generated files' stem: `mlp_model.c` and `mlp_model.h`.
pub const STEM: &str = "mlp_model";

/// Segments of the piecewise-linear activation tables of the fixed-point variant.
const TABLE_SEGMENTS: i64 = 128;

/// Synthetic calibration rows when the caller gives none.
const SYNTHETIC_ROWS: usize = 512;

/// How to export.
#[derive(Debug, Clone, Copy, Default)]
pub struct COptions<'a> {
    /// Integer arithmetic in the layers (FANN-style Q-formats) instead of `float`.
    pub fixed_point: bool,
    /// Calibration rows for the fixed-point ranges: encoded, unscaled features
    /// (`rows x n_features`, as [`Model::predict_proba`] takes them) and the row count.
    pub calibration: Option<(&'a [f32], usize)>,
}

/// The generated source and header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSource {
    /// `mlp_model.h`.
    pub header: String,
    /// `mlp_model.c`.
    pub source: String,
}

/// One inference operation of the exported network (the model's layers, flattened to what C
/// needs; dropout is dropped).
#[derive(Debug, Clone)]
enum Op {
    Dense {
        n_in: usize,
        n_out: usize,
        act: Activation,
        w: Vec<f32>,
        b: Option<Vec<f32>>,
    },
    LayerNorm {
        d: usize,
        eps: f32,
        gamma: Vec<f32>,
        beta: Vec<f32>,
    },
    BatchNorm {
        d: usize,
        eps: f32,
        gamma: Vec<f32>,
        beta: Vec<f32>,
        mean: Vec<f32>,
        var: Vec<f32>,
    },
    Residual(Vec<Op>),
}

fn unsupported_block(kind: &str, where_: &str, variant: &str) -> Error {
    Error::config(
        "export",
        format!(
            "{variant} C export does not support the '{kind}' block ({where_}); supported: {}",
            if variant == "fixed-point" {
                "dense, dropout"
            } else {
                "dense, dropout, layer_norm, batch_norm, residual"
            }
        ),
    )
}

/// Turns layers (with their concatenated parameter slice) into ops.
fn lower(layers: &[Layer], params: &[f32], prefix: &str, out: &mut Vec<Op>) -> Result<()> {
    let mut offset = 0;
    for (i, layer) in layers.iter().enumerate() {
        let n = layer.n_params();
        let p = params.get(offset..offset + n).ok_or_else(|| {
            Error::InvalidData(format!("{prefix}{i}: parameter buffer too short"))
        })?;
        offset += n;
        match layer {
            Layer::Dense(d) => {
                let nw = d.in_features * d.out_features;
                out.push(Op::Dense {
                    n_in: d.in_features,
                    n_out: d.out_features,
                    act: d.activation,
                    w: p[..nw].to_vec(),
                    b: d.bias.then(|| p[nw..nw + d.out_features].to_vec()),
                });
            }
            Layer::Dropout(_) => {}
            Layer::LayerNorm(l) => out.push(Op::LayerNorm {
                d: l.features,
                eps: l.eps,
                gamma: p[..l.features].to_vec(),
                beta: p[l.features..2 * l.features].to_vec(),
            }),
            Layer::BatchNorm(b) => {
                let d = b.features;
                out.push(Op::BatchNorm {
                    d,
                    eps: b.eps,
                    gamma: p[..d].to_vec(),
                    beta: p[d..2 * d].to_vec(),
                    mean: p[2 * d..3 * d].to_vec(),
                    var: p[3 * d..4 * d].to_vec(),
                });
            }
            Layer::Residual(r) => {
                let mut inner = Vec::new();
                lower(
                    &r.branch.layers,
                    p,
                    &format!("{prefix}{i}.layers."),
                    &mut inner,
                )?;
                out.push(Op::Residual(inner));
            }
            other => {
                return Err(unsupported_block(
                    other.kind(),
                    &format!("layer {prefix}{i}"),
                    "float",
                ));
            }
        }
    }
    Ok(())
}

/// The model's network as ops, refusing what C export cannot express.
fn ops_of(model: &Model) -> Result<Vec<Op>> {
    let net = model.network();
    if !model.members.is_empty() {
        return Err(Error::config(
            "export",
            "C export of an ensemble is not supported; export a single-network model",
        ));
    }
    if net.int8().is_some() || net.qat_int().is_some() {
        return Err(Error::config(
            "export",
            "C export of an int8/QAT-quantized model is not supported; export the f32 model (fixed-point C gives integer arithmetic)",
        ));
    }
    if model.loss().quantile_levels().is_some() {
        return Err(Error::config(
            "export",
            "C export of a quantile-regression head is not supported",
        ));
    }
    if let Some(i) = net.params().iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidData(format!(
            "parameter {i} is not finite; cannot export"
        )));
    }
    let mut ops = Vec::new();
    lower(net.layers(), net.params(), "", &mut ops)?;
    Ok(ops)
}

/// The per-feature preprocessing from the raw input vector to the network input:
/// `((x - m1) / s1 as f64 -> f32 - m2) / s2`, with `m1, s1` absent (identity) for one-hot and
/// matrix features.
struct Prep {
    /// The encoder's standardisation (numeric columns): (mean, scale) in f64.
    enc: Vec<Option<(f64, f64)>>,
    mean: Vec<f32>,
    scale: Vec<f32>,
    names: Vec<String>,
}

fn prep_of(model: &Model) -> Prep {
    let n = model.n_features();
    let mut enc = Vec::with_capacity(n);
    if let InputSchema::Tabular { preprocessor } = model.input() {
        for c in &preprocessor.columns {
            match c {
                FeatureColumn::Numeric { mean, scale, .. } => enc.push(Some((*mean, *scale))),
                FeatureColumn::Categorical { categories, .. } => {
                    enc.extend(std::iter::repeat_n(None, categories.len()))
                }
            }
        }
    }
    enc.resize(n, None);
    let s = model.scaler();
    let (mean, scale) = if s.mean.len() == n {
        (s.mean.clone(), s.scale.clone())
    } else {
        (vec![0.0; n], vec![1.0; n])
    };
    Prep {
        enc,
        mean,
        scale,
        names: model.input().feature_names(),
    }
}

/// A float literal that C reads back as the same `float`.
fn lit(v: f32) -> String {
    let s = format!("{v:e}");
    format!("{s}f")
}

fn float_array(out: &mut String, name: &str, values: &[f32]) {
    let _ = write!(
        out,
        "static const float {name}[{}] = {{",
        values.len().max(1)
    );
    for (i, v) in values.iter().enumerate() {
        if i % 8 == 0 {
            out.push_str("\n    ");
        }
        out.push_str(&lit(*v));
        out.push_str(", ");
    }
    if values.is_empty() {
        out.push('0');
    }
    out.push_str("\n};\n");
}

fn int_array<T: std::fmt::Display>(out: &mut String, ty: &str, name: &str, values: &[T]) {
    let _ = write!(
        out,
        "static const {ty} {name}[{}] = {{",
        values.len().max(1)
    );
    for (i, v) in values.iter().enumerate() {
        if i % 12 == 0 {
            out.push_str("\n    ");
        }
        let _ = write!(out, "{v}, ");
    }
    if values.is_empty() {
        out.push('0');
    }
    out.push_str("\n};\n");
}

fn act_id(a: Activation) -> usize {
    Activation::ALL.iter().position(|&b| b == a).unwrap_or(0)
}

/// The C side of [`Activation::apply`], same formulas: `mlp_sigmoid` and `mlp_act`.
fn act_c() -> Vec<(&'static str, String)> {
    let sigmoid = String::from(
        "static float mlp_sigmoid(float z) {\n    if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));\n    { float e = expf(z); return e / (1.0f + e); }\n}\n\n",
    );
    let mut s = String::from("static float mlp_act(int act, float z) {\n    switch (act) {\n");
    for a in Activation::ALL {
        let body = match a {
            Activation::Identity => "return z;".to_string(),
            Activation::Relu => "return z > 0.0f ? z : 0.0f;".to_string(),
            Activation::LeakyRelu => format!(
                "return z > 0.0f ? z : z * {};",
                lit(LEAKY_RELU_SLOPE as f32)
            ),
            Activation::Elu => format!(
                "return z > 0.0f ? z : {} * expm1f(z);",
                lit(ELU_ALPHA as f32)
            ),
            Activation::Gelu => "{ float c = 0.7978845608028654f; float in = c * (z + 0.044715f * z * z * z); return 0.5f * z * (1.0f + tanhf(in)); }".to_string(),
            Activation::Silu => "return z * mlp_sigmoid(z);".to_string(),
            Activation::Tanh => "return tanhf(z);".to_string(),
            Activation::Sigmoid => "return mlp_sigmoid(z);".to_string(),
            Activation::Softplus => "return (z > 0.0f ? z : 0.0f) + log1pf(expf(-fabsf(z)));".to_string(),
        };
        let _ = writeln!(s, "    case {}: /* {} */ {body}", act_id(a), a.name());
    }
    s.push_str("    default: return z;\n    }\n}\n\n");
    vec![("mlp_sigmoid", sigmoid), ("mlp_act", s)]
}

/// Keeps the helpers the code calls (directly or through another kept helper), in their
/// order, so that the output compiles warning-free under `-Wall -Werror`.
fn used_helpers(helpers: &[(&str, String)], body: &str) -> String {
    let mut keep = vec![false; helpers.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..helpers.len() {
            if keep[i] {
                continue;
            }
            let call = format!("{}(", helpers[i].0);
            let used = body.contains(&call)
                || helpers
                    .iter()
                    .zip(&keep)
                    .any(|((_, text), &k)| k && text.contains(&call));
            if used {
                keep[i] = true;
                changed = true;
            }
        }
    }
    helpers
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|((_, text), _)| text.as_str())
        .collect()
}

/// The output head: temperature, softmax/sigmoid, target unscaling, reading `float z[]` of
/// `n_net` network outputs and writing `output`.
fn head_c(model: &Model, out: &mut String) {
    let n_net = model.network().outputs();
    if model.task() == Task::Classification
        && let Some(t) = model.temperature()
    {
        let _ = writeln!(out, "    for (i = 0; i < {n_net}; i++) z[i] /= {};", lit(t));
    }
    match (model.task(), model.loss()) {
        (Task::Classification, Loss::Bce) => {
            out.push_str(
                "    { float p = mlp_sigmoid(z[0]); output[0] = 1.0f - p; output[1] = p; }\n",
            );
        }
        (Task::Classification, _) => {
            let _ = write!(
                out,
                "    {{\n        float mx = z[0], sum = 0.0f;\n        for (i = 1; i < {n_net}; i++) if (z[i] > mx) mx = z[i];\n        for (i = 0; i < {n_net}; i++) {{ output[i] = expf(z[i] - mx); sum += output[i]; }}\n        for (i = 0; i < {n_net}; i++) output[i] /= sum;\n    }}\n"
            );
        }
        (Task::MultiLabel, _) => {
            let _ = writeln!(
                out,
                "    for (i = 0; i < {n_net}; i++) output[i] = mlp_sigmoid(z[i]);"
            );
        }
        (Task::Regression, _) => {
            if let TargetEncoder::Standardized { mean, scale, .. } = model.target() {
                let k = mean.len().min(scale.len()).max(1);
                let mut m = String::new();
                let mut s = String::new();
                for j in 0..k {
                    let _ = write!(m, "{:e}, ", mean.get(j).copied().unwrap_or(0.0));
                    let _ = write!(s, "{:e}, ", scale.get(j).copied().unwrap_or(1.0));
                }
                let _ = write!(
                    out,
                    "    {{\n        static const double tm[{k}] = {{ {m}}};\n        static const double ts[{k}] = {{ {s}}};\n        for (i = 0; i < {n_net}; i++) output[i] = (float)((double)z[i] * ts[i % {k}] + tm[i % {k}]);\n    }}\n"
                );
            } else {
                let _ = writeln!(out, "    for (i = 0; i < {n_net}; i++) output[i] = z[i];");
            }
        }
    }
}

/// The preprocessing code: `input` -> `float x0[n]`.
fn prep_c(prep: &Prep, out: &mut String) {
    let n = prep.mean.len();
    let mut em = Vec::with_capacity(n);
    let mut es = Vec::with_capacity(n);
    let mut has = Vec::with_capacity(n);
    for e in &prep.enc {
        let (m, s) = e.unwrap_or((0.0, 1.0));
        em.push(format!("{m:e}"));
        es.push(format!("{s:e}"));
        has.push(u8::from(e.is_some()));
    }
    let _ = writeln!(
        out,
        "static const double PREP_ENC_MEAN[{}] = {{ {} }};",
        n.max(1),
        if n == 0 { "0".into() } else { em.join(", ") }
    );
    let _ = writeln!(
        out,
        "static const double PREP_ENC_SCALE[{}] = {{ {} }};",
        n.max(1),
        if n == 0 { "1".into() } else { es.join(", ") }
    );
    int_array(out, "unsigned char", "PREP_ENC_ON", &has);
    float_array(out, "PREP_MEAN", &prep.mean);
    float_array(out, "PREP_SCALE", &prep.scale);
}

/// Emits the float ops' tensors and the statements that run them; `cur` names the buffer
/// holding the current vector, and is updated.
fn float_ops(
    ops: &[Op],
    tensors: &mut String,
    code: &mut String,
    counter: &mut usize,
    cur: &mut String,
    width: &mut usize,
) {
    for op in ops {
        let id = *counter;
        *counter += 1;
        match op {
            Op::Dense {
                n_in,
                n_out,
                act,
                w,
                b,
            } => {
                float_array(tensors, &format!("W{id}"), w);
                let bias = match b {
                    Some(b) => {
                        float_array(tensors, &format!("B{id}"), b);
                        format!("B{id}")
                    }
                    None => "0".into(),
                };
                let dst = format!("buf{id}");
                let _ = writeln!(code, "    static float {dst}[{n_out}];");
                let _ = writeln!(
                    code,
                    "    mlp_dense({cur}, {n_in}, {n_out}, W{id}, {bias}, {}, {dst});",
                    act_id(*act)
                );
                *cur = dst;
                *width = *n_out;
            }
            Op::LayerNorm {
                d,
                eps,
                gamma,
                beta,
            } => {
                float_array(tensors, &format!("G{id}"), gamma);
                float_array(tensors, &format!("B{id}"), beta);
                let dst = format!("buf{id}");
                let _ = writeln!(code, "    static float {dst}[{d}];");
                let _ = writeln!(
                    code,
                    "    mlp_layer_norm({cur}, {d}, {}, G{id}, B{id}, {dst});",
                    lit(*eps)
                );
                *cur = dst;
            }
            Op::BatchNorm {
                d,
                eps,
                gamma,
                beta,
                mean,
                var,
            } => {
                float_array(tensors, &format!("G{id}"), gamma);
                float_array(tensors, &format!("B{id}"), beta);
                float_array(tensors, &format!("M{id}"), mean);
                float_array(tensors, &format!("V{id}"), var);
                let dst = format!("buf{id}");
                let _ = writeln!(code, "    static float {dst}[{d}];");
                let _ = writeln!(
                    code,
                    "    for (i = 0; i < {d}; i++) {dst}[i] = G{id}[i] * (({cur}[i] - M{id}[i]) / sqrtf(V{id}[i] + {})) + B{id}[i];",
                    lit(*eps)
                );
                *cur = dst;
            }
            Op::Residual(inner) => {
                let start = cur.clone();
                let d = *width;
                float_ops(inner, tensors, code, counter, cur, width);
                let dst = format!("buf{id}");
                let _ = writeln!(code, "    static float {dst}[{d}];");
                let _ = writeln!(
                    code,
                    "    for (i = 0; i < {d}; i++) {dst}[i] = {start}[i] + {cur}[i];"
                );
                *cur = dst;
                *width = d;
            }
        }
    }
}

fn header(model: &Model, prep: &Prep, fixed: bool) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "/* Generated by mlp {} (`mlp export --format c{}`): a {} {} model.\n * Do not edit; regenerate from the model file. */\n#ifndef MLP_MODEL_H\n#define MLP_MODEL_H\n\n",
        env!("CARGO_PKG_VERSION"),
        if fixed { " --fixed-point" } else { "" },
        if fixed { "fixed-point" } else { "float" },
        model.task().name()
    );
    let _ = writeln!(
        h,
        "#define MLP_N_INPUTS {}\n#define MLP_N_OUTPUTS {}\n",
        model.n_features(),
        model.output_width()
    );
    h.push_str(
        "/* Input positions (raw values; text columns are one-hot blocks `column=category`):\n",
    );
    for (j, name) in prep.names.iter().enumerate() {
        let kind = if prep.enc.get(j).copied().flatten().is_some() {
            "numeric"
        } else {
            "as read"
        };
        let safe = name.replace("*/", "* /");
        let _ = writeln!(h, " *   [{j}] {safe} ({kind})");
    }
    h.push_str(" * Outputs: ");
    match model.task() {
        Task::Regression => h.push_str("values in the target's raw units"),
        Task::MultiLabel => h.push_str("per-label probabilities"),
        Task::Classification => {
            h.push_str("class probabilities for labels ");
            let labels: Vec<String> = model
                .class_labels()
                .iter()
                .map(|l| l.replace("*/", "* /"))
                .collect();
            h.push_str(&labels.join(", "));
        }
    }
    h.push_str("\n */\n\n");
    h.push_str("#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n/* Predicts one row; not reentrant (static buffers). */\nvoid mlp_predict(const float *input, float *output);\n\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* MLP_MODEL_H */\n");
    h
}

/// Generates the C source and header for a model.
pub fn generate(model: &Model, options: &COptions<'_>) -> Result<CSource> {
    let ops = ops_of(model)?;
    let prep = prep_of(model);
    let header = header(model, &prep, options.fixed_point);
    let source = if options.fixed_point {
        fixed_source(model, &ops, &prep, options)?
    } else {
        float_source(model, &ops, &prep)
    };
    Ok(CSource { header, source })
}

fn source_prologue(fixed: bool) -> String {
    let mut s = format!(
        "/* Generated by mlp {}: see {STEM}.h. */\n#include <math.h>\n",
        env!("CARGO_PKG_VERSION")
    );
    if fixed {
        s.push_str("#include <stdint.h>\n");
    }
    let _ = writeln!(s, "#include \"{STEM}.h\"\n");
    s
}

fn prep_statements(n: usize, out: &mut String) {
    let _ = writeln!(out, "    static float x0[{}];", n.max(1));
    let _ = writeln!(
        out,
        "    for (i = 0; i < {n}; i++) {{\n        float v = PREP_ENC_ON[i] ? (float)(((double)input[i] - PREP_ENC_MEAN[i]) / PREP_ENC_SCALE[i]) : input[i];\n        x0[i] = (v - PREP_MEAN[i]) / PREP_SCALE[i];\n    }}"
    );
}

fn float_source(model: &Model, ops: &[Op], prep: &Prep) -> String {
    let mut helpers = act_c();
    helpers.push((
        "mlp_dense",
        "static void mlp_dense(const float *x, int n_in, int n_out, const float *w, const float *b, int act, float *y) {\n    int i, j;\n    for (j = 0; j < n_out; j++) {\n        const float *row = w + (long)j * n_in;\n        float acc = 0.0f;\n        for (i = 0; i < n_in; i++) acc += x[i] * row[i];\n        if (b) acc += b[j];\n        y[j] = mlp_act(act, acc);\n    }\n}\n\n".to_string(),
    ));
    helpers.push((
        "mlp_layer_norm",
        "static void mlp_layer_norm(const float *x, int d, float eps, const float *g, const float *b, float *y) {\n    int j;\n    float mean = 0.0f, var = 0.0f, rstd;\n    for (j = 0; j < d; j++) mean += x[j];\n    mean *= 1.0f / (float)d;\n    for (j = 0; j < d; j++) var += (x[j] - mean) * (x[j] - mean);\n    var *= 1.0f / (float)d;\n    rstd = 1.0f / sqrtf(var + eps);\n    for (j = 0; j < d; j++) y[j] = g[j] * ((x[j] - mean) * rstd) + b[j];\n}\n\n".to_string(),
    ));
    let mut tensors = String::new();
    let mut code = String::new();
    let mut counter = 1;
    let mut cur = "x0".to_string();
    let mut width = model.n_features();
    float_ops(
        ops,
        &mut tensors,
        &mut code,
        &mut counter,
        &mut cur,
        &mut width,
    );
    let mut body = tensors;
    body.push_str("\nvoid mlp_predict(const float *input, float *output) {\n    int i;\n");
    prep_statements(model.n_features(), &mut body);
    body.push_str(&code);
    let _ = writeln!(body, "    {{\n    float *z = {cur};");
    head_c(model, &mut body);
    body.push_str("    }\n}\n");
    let mut s = source_prologue(false);
    prep_c(prep, &mut s);
    s.push_str(&used_helpers(&helpers, &body));
    s.push_str(&body);
    s
}

/// One fixed-point dense layer: its formats and integer tensors.
struct QLayer {
    n_in: usize,
    n_out: usize,
    act: Activation,
    /// Weight fraction bits.
    fw: i32,
    /// Input fraction bits.
    fa: i32,
    /// Output (pre-activation and activation) fraction bits.
    fz: i32,
    w: Vec<i16>,
    b: Vec<i64>,
}

/// Fraction bits so that `max_abs * 2^f <= 32767`, within `[0, cap]`.
fn frac_bits(max_abs: f64, cap: i32) -> i32 {
    if max_abs.is_nan() || max_abs <= 0.0 || !max_abs.is_finite() {
        return cap;
    }
    ((32767.0 / max_abs).log2().floor() as i32).clamp(0, cap)
}

/// Calibration rows in the network's input space: the given rows, scaled, or synthetic ones.
fn calibration_rows(model: &Model, options: &COptions<'_>) -> Result<(Vec<f32>, usize)> {
    let n = model.n_features();
    match options.calibration {
        Some((x, rows)) => {
            model.check_features(x, rows)?;
            if rows == 0 {
                return Err(Error::InvalidData("calibration data have no rows".into()));
            }
            let mut x = x.to_vec();
            model.scaler().apply(&mut x);
            Ok((x, rows))
        }
        None => {
            let mut rng = Rng::seed_from(0x00c0_ffee);
            let x = (0..SYNTHETIC_ROWS * n).map(|_| rng.normal()).collect();
            Ok((x, SYNTHETIC_ROWS))
        }
    }
}

fn fixed_layers(model: &Model, ops: &[Op], options: &COptions<'_>) -> Result<(i32, Vec<QLayer>)> {
    let (mut x, rows) = calibration_rows(model, options)?;
    let in_max = x.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64));
    let fa0 = frac_bits(in_max, 24);
    let mut fa = fa0;
    let mut layers = Vec::new();
    for (k, op) in ops.iter().enumerate() {
        let Op::Dense {
            n_in,
            n_out,
            act,
            w,
            b,
        } = op
        else {
            let kind = match op {
                Op::LayerNorm { .. } => "layer_norm",
                Op::BatchNorm { .. } => "batch_norm",
                _ => "residual",
            };
            return Err(unsupported_block(
                kind,
                &format!("operation {k} after dropping dropout"),
                "fixed-point",
            ));
        };
        let (n_in, n_out) = (*n_in, *n_out);
        // Pre-activations on the calibration rows, in f64.
        let mut z = vec![0.0f32; rows * n_out];
        let mut z_max = 0.0f64;
        for r in 0..rows {
            let xr = &x[r * n_in..(r + 1) * n_in];
            for j in 0..n_out {
                let row = &w[j * n_in..(j + 1) * n_in];
                let mut acc: f64 = xr.iter().zip(row).map(|(&a, &c)| a as f64 * c as f64).sum();
                if let Some(b) = b {
                    acc += b[j] as f64;
                }
                z_max = z_max.max(acc.abs());
                z[r * n_out + j] = act.apply(acc as f32);
            }
        }
        let w_max = w.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64));
        if w_max > 32767.0 {
            return Err(Error::config(
                "export",
                format!(
                    "dense layer {k} has a weight of magnitude {w_max:e}, too large for 16-bit fixed point"
                ),
            ));
        }
        let fw = frac_bits(w_max, 30);
        // Tanh and sigmoid outputs reach 1 even when the pre-activations stay small.
        let fz = frac_bits(z_max.max(1.0), 24);
        let wq = w
            .iter()
            .map(|&v| (v as f64 * (fw as f64).exp2()).round() as i16)
            .collect();
        let bq = (0..n_out)
            .map(|j| {
                let bj = b.as_ref().map_or(0.0, |b| b[j] as f64);
                (bj * ((fa + fw) as f64).exp2()).round() as i64
            })
            .collect();
        layers.push(QLayer {
            n_in,
            n_out,
            act: *act,
            fw,
            fa,
            fz,
            w: wq,
            b: bq,
        });
        fa = fz;
        x = z;
    }
    Ok((fa0, layers))
}

fn fixed_source(model: &Model, ops: &[Op], prep: &Prep, options: &COptions<'_>) -> Result<String> {
    let (fa0, layers) = fixed_layers(model, ops, options)?;
    let mut helpers = act_c();
    helpers.push((
        "mlp_requant",
        "/* acc in Q(fa+fw) -> Q(fz): shift with rounding (arithmetic shift of negative values). */\nstatic int32_t mlp_requant(int64_t acc, int shift) {\n    int64_t v;\n    if (shift > 0) v = (acc + ((int64_t)1 << (shift - 1))) >> shift;\n    else v = acc * ((int64_t)1 << (-shift));\n    if (v > INT32_MAX) v = INT32_MAX;\n    if (v < -INT32_MAX) v = -INT32_MAX;\n    return (int32_t)v;\n}\n\n".to_string(),
    ));
    helpers.push((
        "mlp_qdense",
        "static void mlp_qdense(const int32_t *x, int n_in, int n_out, const int16_t *w, const int64_t *b, int shift, int32_t *z) {\n    int i, j;\n    for (j = 0; j < n_out; j++) {\n        const int16_t *row = w + (long)j * n_in;\n        int64_t acc = b[j];\n        for (i = 0; i < n_in; i++) acc += (int64_t)x[i] * row[i];\n        z[j] = mlp_requant(acc, shift);\n    }\n}\n\n".to_string(),
    ));
    helpers.push((
        "mlp_qtable",
        format!(
        "/* Piecewise-linear activation over knots lo + k*step (k = 0..{TABLE_SEGMENTS}), linear beyond the ends. */\nstatic int32_t mlp_qtable(int32_t z, const int32_t *tab, int64_t lo, int64_t step) {{\n    int64_t d = (int64_t)z - lo, k;\n    k = d < 0 ? 0 : d / step;\n    if (k > {}) k = {};\n    return mlp_requant((int64_t)tab[k] + (((int64_t)tab[k + 1] - tab[k]) * (d - k * step)) / step, 0);\n}}\n\n",
        TABLE_SEGMENTS - 1,
        TABLE_SEGMENTS - 1
    )));
    let mut s = String::new();
    let mut code = String::new();
    let _ = writeln!(
        code,
        "    static int32_t q0[{}];\n    for (i = 0; i < {}; i++) {{\n        float v = x0[i] * {};\n        if (v > 2147483520.0f) v = 2147483520.0f;\n        if (v < -2147483520.0f) v = -2147483520.0f;\n        q0[i] = (int32_t)floorf(v + 0.5f);\n    }}",
        model.n_features().max(1),
        model.n_features(),
        lit((fa0 as f32).exp2())
    );
    let mut cur = "q0".to_string();
    let mut last_f = fa0;
    for (k, l) in layers.iter().enumerate() {
        let id = k + 1;
        let _ = writeln!(
            s,
            "/* dense {k}: {} -> {}, {}; weights Q{}, input Q{}, output Q{} */",
            l.n_in,
            l.n_out,
            l.act.name(),
            l.fw,
            l.fa,
            l.fz
        );
        int_array(&mut s, "int16_t", &format!("W{id}"), &l.w);
        let b: Vec<String> = l.b.iter().map(|v| format!("INT64_C({v})")).collect();
        int_array(&mut s, "int64_t", &format!("B{id}"), &b);
        let dst = format!("q{id}");
        let _ = writeln!(code, "    static int32_t {dst}[{}];", l.n_out);
        let _ = writeln!(
            code,
            "    mlp_qdense({cur}, {}, {}, W{id}, B{id}, {}, {dst});",
            l.n_in,
            l.n_out,
            l.fa + l.fw - l.fz
        );
        match l.act {
            Activation::Identity => {}
            Activation::Relu => {
                let _ = writeln!(
                    code,
                    "    for (i = 0; i < {}; i++) if ({dst}[i] < 0) {dst}[i] = 0;",
                    l.n_out
                );
            }
            Activation::LeakyRelu => {
                let slope = (LEAKY_RELU_SLOPE * 65536.0).round() as i64;
                let _ = writeln!(
                    code,
                    "    for (i = 0; i < {}; i++) if ({dst}[i] < 0) {dst}[i] = mlp_requant((int64_t){dst}[i] * {slope}, 16);",
                    l.n_out
                );
            }
            act => {
                let step = ((l.fz as f64 - 3.0).exp2()).round().max(1.0) as i64;
                let lo = -(TABLE_SEGMENTS / 2) * step;
                let scale = (l.fz as f64).exp2();
                let tab: Vec<i64> = (0..=TABLE_SEGMENTS)
                    .map(|k| {
                        let xk = (lo + k * step) as f64 / scale;
                        let y = act.apply(xk) * scale;
                        y.round().clamp(-(i32::MAX as f64), i32::MAX as f64) as i64
                    })
                    .collect();
                int_array(&mut s, "int32_t", &format!("T{id}"), &tab);
                let _ = writeln!(
                    code,
                    "    for (i = 0; i < {}; i++) {dst}[i] = mlp_qtable({dst}[i], T{id}, {lo}, {step});",
                    l.n_out
                );
            }
        }
        cur = dst;
        last_f = l.fz;
    }
    let mut tensors = s;
    s = String::new();
    s.push_str("\nvoid mlp_predict(const float *input, float *output) {\n    int i;\n");
    prep_statements(model.n_features(), &mut s);
    s.push_str(&code);
    let n_net = model.network().outputs();
    let _ = writeln!(
        s,
        "    {{\n    static float z[{n_net}];\n    for (i = 0; i < {n_net}; i++) z[i] = (float){cur}[i] * {};",
        lit((-last_f as f32).exp2())
    );
    head_c(model, &mut s);
    s.push_str("    }\n}\n");
    tensors.push_str(&s);
    let mut out = source_prologue(true);
    prep_c(prep, &mut out);
    out.push_str(&used_helpers(&helpers, &tensors));
    out.push_str(&tensors);
    Ok(out)
}

/// Generates the pair and writes `dir/mlp_model.c` and `dir/mlp_model.h` (atomically, creating
/// `dir`); returns the two paths (source, header).
pub fn write(model: &Model, dir: &Path, options: &COptions<'_>) -> Result<(PathBuf, PathBuf)> {
    let CSource { header, source } = generate(model, options)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let c = dir.join(format!("{STEM}.c"));
    let h = dir.join(format!("{STEM}.h"));
    crate::io::atomic_write(&h, header.as_bytes())?;
    crate::io::atomic_write(&c, source.as_bytes())?;
    Ok((c, h))
}
