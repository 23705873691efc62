//! Model -> ONNX graph (see the module docs of [`super`] for the input/output layout).

use super::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType,
    tensor_proto::DataType, tensor_shape_proto, type_proto,
};
use super::{IR_VERSION, OPSET};
use crate::data::preprocess::{FeatureColumn, TargetEncoder};
use crate::kernels::elementwise::{Activation, ELU_ALPHA, LEAKY_RELU_SLOPE};
use crate::layers::{Chain, Integrator, Layer};
use crate::loss::Loss;
use crate::model::{InputSchema, Model, Task};
use crate::{Error, Result};
use prost::Message;
use std::collections::HashSet;
use std::path::Path;

/// Builds the ONNX graph of a model: preprocessing, network and output decoding.
///
/// Errors (one line, naming what is at fault) for what ONNX export does not cover: a block kind
/// without an ONNX form (e.g. `kan`), an ensemble, an int8 or QAT integer network, a quantile
/// regression head.
pub fn export_model(model: &Model) -> Result<ModelProto> {
    let net = model.network();
    if !model.members.is_empty() {
        return Err(refuse(format!(
            "the model is an ensemble of {} networks; ONNX export takes a single network",
            model.members.len() + 1
        )));
    }
    if net.int8().is_some() || net.qat_int().is_some() {
        return Err(refuse(
            "the model runs an integer (int8 / QAT) network; export the f32 model instead".into(),
        ));
    }
    if model.loss.quantile_levels().is_some() {
        return Err(refuse(
            "quantile regression heads are not exported (the point prediction picks among \
             levels)"
                .into(),
        ));
    }
    let mut g = Builder::default();
    let n_in = net.inputs();
    let mut x = "input".to_string();
    x = preprocess(&mut g, model, x, n_in)?;
    for (i, layer) in net.layers().iter().enumerate() {
        let params = net
            .layer_range(i)
            .and_then(|r| net.params().get(r))
            .ok_or_else(|| refuse(format!("layer {i} has no parameter range")))?;
        x = export_layer(&mut g, layer, params, x, &format!("layers.{i}"))?;
    }
    let (out_name, out_width) = decode(&mut g, model, x)?;
    let graph = GraphProto {
        name: Some("mlp".into()),
        node: g.nodes,
        initializer: g.inits,
        input: vec![value_info("input", n_in)],
        output: vec![value_info(&out_name, out_width)],
        doc_string: Some(format!(
            "input: {n_in} encoded features (numeric raw, text one-hot); output '{out_name}'"
        )),
        ..Default::default()
    };
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some("mlp".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        model_version: Some(1),
        graph: Some(graph),
        metadata_props: metadata(model),
        ..Default::default()
    })
}

/// [`export_model`] serialized as ONNX protobuf bytes.
pub fn to_onnx_bytes(model: &Model) -> Result<Vec<u8>> {
    Ok(export_model(model)?.encode_to_vec())
}

/// Exports the model and writes the ONNX file atomically (temporary file + rename).
pub fn save_onnx(model: &Model, path: impl AsRef<Path>) -> Result<()> {
    let bytes = to_onnx_bytes(model)?;
    crate::io::atomic_write(path.as_ref(), &bytes)
}

fn refuse(msg: String) -> Error {
    Error::config("onnx export", msg)
}

/// Nodes and initializers under construction, with fresh names for intermediate values.
#[derive(Default)]
struct Builder {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    init_names: HashSet<String>,
    next: usize,
}

impl Builder {
    /// Adds a float initializer named `name` (once: an unrolled recurrent block refers to the
    /// same weights at every step). Returns the name.
    fn init(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        if self.init_names.insert(name.to_string()) {
            self.inits.push(float_tensor(name, dims, data));
        }
        name.to_string()
    }

    /// A scalar constant, named after its bits so equal constants are shared.
    fn scalar(&mut self, v: f32) -> String {
        self.init(&format!("const_{:08x}", v.to_bits()), &[], &[v])
    }

    /// Adds one node with a fresh output name; returns that name.
    fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        self.next += 1;
        let out = format!("{}_{}", op.to_ascii_lowercase(), self.next);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: Some(format!("{op}_{}", self.next)),
            op_type: Some(op.into()),
            attribute: attrs,
            ..Default::default()
        });
        out
    }
}

fn float_tensor(name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Float as i32),
        raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

fn attr_f(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(v),
        ..Default::default()
    }
}

fn attr_i(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

/// `float[N, width]` with a symbolic batch dimension.
fn value_info(name: &str, width: usize) -> ValueInfoProto {
    let dim = |v: tensor_shape_proto::dimension::Value| tensor_shape_proto::Dimension {
        value: Some(v),
        ..Default::default()
    };
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto {
                    dim: vec![
                        dim(tensor_shape_proto::dimension::Value::DimParam("N".into())),
                        dim(tensor_shape_proto::dimension::Value::DimValue(width as i64)),
                    ],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn metadata(model: &Model) -> Vec<StringStringEntryProto> {
    let entry = |k: &str, v: String| StringStringEntryProto {
        key: Some(k.into()),
        value: Some(v),
    };
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_default();
    let mut m = vec![
        entry("mlp.task", model.task.name().into()),
        entry("mlp.input_features", json(&model.input.feature_names())),
    ];
    if let InputSchema::Tabular { preprocessor } = &model.input {
        let cols: Vec<String> = preprocessor
            .input_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        m.push(entry("mlp.input_columns", json(&cols)));
    }
    match &model.target {
        TargetEncoder::Classes { labels, .. } => m.push(entry("mlp.classes", json(labels))),
        TargetEncoder::Standardized { names, .. } => m.push(entry("mlp.targets", json(names))),
    }
    m
}

/// Imputation, column standardisation and the feature scaler, as ops applied to `x`.
fn preprocess(g: &mut Builder, model: &Model, mut x: String, n: usize) -> Result<String> {
    match &model.input {
        InputSchema::Tabular { preprocessor } => {
            let mut fill = Vec::with_capacity(n);
            let mut mean = Vec::with_capacity(n);
            let mut scale = Vec::with_capacity(n);
            for col in &preprocessor.columns {
                match col {
                    FeatureColumn::Numeric {
                        mean: m,
                        scale: s,
                        fill: f,
                        ..
                    } => {
                        fill.push(f.map_or(f32::NAN, |f| f as f32));
                        mean.push(*m as f32);
                        scale.push(*s as f32);
                    }
                    FeatureColumn::Categorical { categories, .. } => {
                        for _ in categories {
                            fill.push(f32::NAN);
                            mean.push(0.0);
                            scale.push(1.0);
                        }
                    }
                }
            }
            if fill.len() != n {
                return Err(refuse(format!(
                    "the input encoding has {} features but the network takes {n}",
                    fill.len()
                )));
            }
            if fill.iter().any(|f| !f.is_nan()) {
                // A NaN cell takes the column's fill value; columns without one stay NaN.
                let isnan = g.node("IsNaN", &[&x], vec![]);
                let f = g.init("input.fill", &[n], &fill);
                x = g.node("Where", &[&isnan, &f, &x], vec![]);
            }
            x = sub_div(g, x, "input.column", &mean, &scale);
        }
        InputSchema::Matrix { value_scale, .. } => {
            if let Some(s) = value_scale {
                let c = g.scalar(*s);
                x = g.node("Mul", &[&x, &c], vec![]);
            }
        }
    }
    let s = &model.scaler;
    if s.mean.len() == n && s.scale.len() == n {
        x = sub_div(g, x, "input", &s.mean, &s.scale);
    }
    Ok(x)
}

/// `(x - mean) / scale`, each half left out when it is the identity.
fn sub_div(g: &mut Builder, mut x: String, prefix: &str, mean: &[f32], scale: &[f32]) -> String {
    let n = mean.len();
    if mean.iter().any(|&m| m != 0.0) {
        let m = g.init(&format!("{prefix}.mean"), &[n], mean);
        x = g.node("Sub", &[&x, &m], vec![]);
    }
    if scale.iter().any(|&s| s != 1.0) {
        let s = g.init(&format!("{prefix}.scale"), &[n], scale);
        x = g.node("Div", &[&x, &s], vec![]);
    }
    x
}

/// Splits the next `len` values off a block's parameter slice.
fn take<'a>(params: &mut &'a [f32], len: usize, name: &str) -> Result<&'a [f32]> {
    if params.len() < len {
        return Err(refuse(format!("{name}: parameter slice too short")));
    }
    let (head, tail) = params.split_at(len);
    *params = tail;
    Ok(head)
}

/// One layer: appends its nodes after `x`, returns the output's name. `name` is its safetensors
/// prefix (`layers.2`, `layers.3.block.0`), used for the initializers.
fn export_layer(
    g: &mut Builder,
    layer: &Layer,
    params: &[f32],
    x: String,
    name: &str,
) -> Result<String> {
    let mut p = params;
    match layer {
        Layer::Dense(d) => {
            let (o, i) = (d.out_features, d.in_features);
            let w = take(&mut p, o * i, name)?;
            let w = g.init(&format!("{name}.weight"), &[o, i], w);
            let mut inputs = vec![x, w];
            if d.bias {
                let b = take(&mut p, o, name)?;
                inputs.push(g.init(&format!("{name}.bias"), &[o], b));
            }
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            let y = g.node("Gemm", &refs, vec![attr_i("transB", 1)]);
            Ok(activation(g, d.activation, y))
        }
        Layer::Dropout(_) => Ok(x),
        Layer::LayerNorm(l) => {
            let d = l.features;
            let gamma = take(&mut p, d, name)?;
            let beta = take(&mut p, d, name)?;
            let gamma = g.init(&format!("{name}.weight"), &[d], gamma);
            let beta = g.init(&format!("{name}.bias"), &[d], beta);
            Ok(g.node(
                "LayerNormalization",
                &[&x, &gamma, &beta],
                vec![attr_i("axis", -1), attr_f("epsilon", l.eps)],
            ))
        }
        Layer::BatchNorm(b) => {
            let d = b.features;
            let mut names = Vec::new();
            for t in ["weight", "bias", "running_mean", "running_var"] {
                let v = take(&mut p, d, name)?;
                names.push(g.init(&format!("{name}.{t}"), &[d], v));
            }
            Ok(g.node(
                "BatchNormalization",
                &[&x, &names[0], &names[1], &names[2], &names[3]],
                vec![attr_f("epsilon", b.eps)],
            ))
        }
        Layer::Glu(gl) => {
            let (i, h, o) = (gl.in_features, gl.hidden, gl.out_features);
            let dense =
                |g: &mut Builder, p: &mut &[f32], part: &str, x: &str, o: usize, i: usize| {
                    let w = take(p, o * i, name)?;
                    let w = g.init(&format!("{name}.{part}.weight"), &[o, i], w);
                    let b = take(p, o, name)?;
                    let b = g.init(&format!("{name}.{part}.bias"), &[o], b);
                    Ok::<_, Error>(g.node("Gemm", &[x, &w, &b], vec![attr_i("transB", 1)]))
                };
            let a = dense(g, &mut p, "gate", &x, h, i)?;
            let u = dense(g, &mut p, "value", &x, h, i)?;
            let gate = activation(g, gl.gate, a);
            let prod = g.node("Mul", &[&gate, &u], vec![]);
            dense(g, &mut p, "out", &prod, o, h)
        }
        Layer::Residual(r) => {
            let f = export_chain(g, &r.branch, params, x.clone(), name)?;
            Ok(g.node("Add", &[&x, &f], vec![]))
        }
        Layer::Recurrent(r) => {
            // SCORE unrolled: `steps` copies of the shared block (same initializers).
            let dt = r.dt;
            let mut h = x;
            for _ in 0..r.steps {
                let f = export_chain(g, &r.block, params, h.clone(), name)?;
                match r.integrator {
                    Integrator::Euler => {
                        // (1 - dt) h + dt F(h), as the engine computes it in f32.
                        let keep = g.scalar(1.0 - dt);
                        let step = g.scalar(dt);
                        let a = g.node("Mul", &[&h, &keep], vec![]);
                        let b = g.node("Mul", &[&f, &step], vec![]);
                        h = g.node("Add", &[&a, &b], vec![]);
                    }
                    Integrator::Rk2 => {
                        let half = dt * 0.5;
                        let keep = g.scalar(1.0 - half);
                        let hs = g.scalar(half);
                        let a = g.node("Mul", &[&h, &keep], vec![]);
                        let b = g.node("Mul", &[&f, &hs], vec![]);
                        let m = g.node("Add", &[&a, &b], vec![]);
                        let fm = export_chain(g, &r.block, params, m.clone(), name)?;
                        let diff = g.node("Sub", &[&fm, &m], vec![]);
                        let step = g.scalar(dt);
                        let d = g.node("Mul", &[&diff, &step], vec![]);
                        h = g.node("Add", &[&h, &d], vec![]);
                    }
                }
            }
            Ok(h)
        }
        other => Err(refuse(format!(
            "{name} is a '{}' block, which has no ONNX form in this exporter (supported: dense, \
             dropout, layer_norm, batch_norm, glu, residual, recurrent)",
            other.kind()
        ))),
    }
}

/// The inner layers of a residual or recurrent block, their parameters concatenated in order.
fn export_chain(
    g: &mut Builder,
    chain: &Chain,
    params: &[f32],
    mut x: String,
    name: &str,
) -> Result<String> {
    let mut p = params;
    for (j, l) in chain.layers.iter().enumerate() {
        let lp = take(&mut p, l.n_params(), name)?;
        x = export_layer(g, l, lp, x, &format!("{name}.block.{j}"))?;
    }
    Ok(x)
}

/// The fused activation after a dense layer, in ONNX ops of opset 17.
fn activation(g: &mut Builder, act: Activation, x: String) -> String {
    match act {
        Activation::Identity => x,
        Activation::Relu => g.node("Relu", &[&x], vec![]),
        Activation::LeakyRelu => g.node(
            "LeakyRelu",
            &[&x],
            vec![attr_f("alpha", LEAKY_RELU_SLOPE as f32)],
        ),
        Activation::Elu => g.node("Elu", &[&x], vec![attr_f("alpha", ELU_ALPHA as f32)]),
        Activation::Tanh => g.node("Tanh", &[&x], vec![]),
        Activation::Sigmoid => g.node("Sigmoid", &[&x], vec![]),
        Activation::Softplus => g.node("Softplus", &[&x], vec![]),
        Activation::Silu => {
            let s = g.node("Sigmoid", &[&x], vec![]);
            g.node("Mul", &[&x, &s], vec![])
        }
        Activation::Gelu => {
            // The engine's tanh form: 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))); opset 17
            // has no Gelu op.
            let z2 = g.node("Mul", &[&x, &x], vec![]);
            let z3 = g.node("Mul", &[&z2, &x], vec![]);
            let k = g.scalar(0.044715);
            let kz3 = g.node("Mul", &[&z3, &k], vec![]);
            let s = g.node("Add", &[&x, &kz3], vec![]);
            let c = g.scalar(0.797_884_6);
            let inner = g.node("Mul", &[&s, &c], vec![]);
            let t = g.node("Tanh", &[&inner], vec![]);
            let one = g.scalar(1.0);
            let t1 = g.node("Add", &[&t, &one], vec![]);
            let half = g.scalar(0.5);
            let hz = g.node("Mul", &[&x, &half], vec![]);
            g.node("Mul", &[&hz, &t1], vec![])
        }
    }
}

/// The network output -> `proba` (classifiers, multi-label) or `value` (regressors, raw units).
/// Returns the output's name and width.
fn decode(g: &mut Builder, model: &Model, mut z: String) -> Result<(String, usize)> {
    let k = model.network().outputs();
    if model.task == Task::Classification
        && let Some(t) = model.temperature()
    {
        let c = g.scalar(t);
        z = g.node("Div", &[&z, &c], vec![]);
    }
    let (name, width) = match (model.task, model.loss) {
        (Task::Classification, Loss::Bce) => {
            let p = g.node("Sigmoid", &[&z], vec![]);
            let one = g.scalar(1.0);
            let q = g.node("Sub", &[&one, &p], vec![]);
            z = g.node("Concat", &[&q, &p], vec![attr_i("axis", 1)]);
            ("proba", 2)
        }
        (Task::Classification, _) => {
            z = g.node("Softmax", &[&z], vec![attr_i("axis", 1)]);
            ("proba", k)
        }
        (Task::MultiLabel, _) => {
            z = g.node("Sigmoid", &[&z], vec![]);
            ("proba", k)
        }
        (Task::Regression, _) => {
            if let TargetEncoder::Standardized { mean, scale, .. } = &model.target {
                if mean.len() != k || scale.len() != k {
                    return Err(refuse(format!(
                        "the target scaling has {} values for {k} outputs",
                        mean.len()
                    )));
                }
                let s: Vec<f32> = scale.iter().map(|&v| v as f32).collect();
                let m: Vec<f32> = mean.iter().map(|&v| v as f32).collect();
                if s.iter().any(|&v| v != 1.0) {
                    let s = g.init("target.scale", &[k], &s);
                    z = g.node("Mul", &[&z, &s], vec![]);
                }
                if m.iter().any(|&v| v != 0.0) {
                    let m = g.init("target.mean", &[k], &m);
                    z = g.node("Add", &[&z, &m], vec![]);
                }
            }
            ("value", k)
        }
    };
    g.nodes.push(NodeProto {
        input: vec![z],
        output: vec![name.into()],
        name: Some("output".into()),
        op_type: Some("Identity".into()),
        ..Default::default()
    });
    Ok((name.into(), width))
}
