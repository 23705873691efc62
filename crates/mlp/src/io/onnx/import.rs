//! ONNX graph -> regression [`Model`]: MLP-shaped chains only (see the module docs of
//! [`super`]).

use super::proto::{ModelProto, NodeProto, TensorProto, tensor_proto::DataType};
use crate::data::preprocess::{FeatureColumn, Preprocessor, TargetEncoder};
use crate::kernels::elementwise::{Activation, ELU_ALPHA, LEAKY_RELU_SLOPE};
use crate::loss::Loss;
use crate::model::{InputSchema, Model, Scaler, Task};
use crate::spec::{LayerSpec, MAX_PARAMS, MAX_WIDTH, ModelSpec};
use crate::{Error, Result};
use prost::Message;
use std::collections::HashMap;
use std::path::Path;

/// What an imported ONNX graph looked like: names and sizes for reports and for callers (e.g.
/// a verifier) that map their own inputs onto the graph's.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportInfo {
    /// The graph input's name.
    pub input_name: String,
    /// The graph input's declared shape (`None` for a symbolic dimension).
    pub input_shape: Vec<Option<i64>>,
    /// The graph output's name.
    pub output_name: String,
    /// Features per sample (the product of the input's non-batch dimensions).
    pub inputs: usize,
    /// Outputs per sample.
    pub outputs: usize,
    /// Dense layers in the imported network.
    pub layers: usize,
    /// Nodes in the graph.
    pub nodes: usize,
    /// The default-domain opset the file declares (0 when absent).
    pub opset: i64,
    /// The file's `producer_name` and `producer_version`.
    pub producer: String,
}

/// Reads an ONNX file and converts its MLP-shaped graph to a regression [`Model`] whose outputs
/// are the graph's raw outputs: input normalisation (`Sub`/`Div`/`Mul`/`Add` by constants before
/// the first layer) becomes the model's feature scaler; `Gemm`, or `MatMul` with a following
/// `Add`, becomes a dense layer; the activation after it, its fused activation.
///
/// Errors: an unreadable or truncated file, a tensor whose data does not match its dims
/// (checked before anything is allocated from the dims), external tensor data, more than one
/// graph input or output, and the first node that is not part of such a chain, named with its
/// op type.
pub fn import_network(path: impl AsRef<Path>) -> Result<(Model, ImportInfo)> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    import_bytes(&bytes, path)
}

/// [`import_network`] on the bytes of an ONNX file; `path` names it in errors.
pub fn import_bytes(bytes: &[u8], path: &Path) -> Result<(Model, ImportInfo)> {
    let bad = |msg: String| Error::format(path, msg);
    let proto = ModelProto::decode(bytes)
        .map_err(|e| bad(format!("not a readable ONNX model (protobuf: {e})")))?;
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| bad("the ONNX model has no graph".into()))?;
    let opset = proto
        .opset_import
        .iter()
        .find(|o| matches!(o.domain(), "" | "ai.onnx"))
        .map_or(0, |o| o.version());

    let mut consts: HashMap<String, Const> = HashMap::new();
    for t in &graph.initializer {
        consts.insert(t.name().to_string(), read_tensor(t).map_err(bad)?);
    }
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|v| !consts.contains_key(v.name()))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(bad(format!(
            "the graph has {} inputs besides its initializers; an MLP has one",
            inputs.len()
        )));
    };
    let [output] = graph.output.as_slice() else {
        return Err(bad(format!(
            "the graph has {} outputs; an MLP has one",
            graph.output.len()
        )));
    };
    let input_shape = declared_shape(input);
    let width = feature_width(&input_shape).ok_or_else(|| {
        bad(format!(
            "input '{}' has shape {} with no static feature width",
            input.name(),
            shown_shape(&input_shape)
        ))
    })?;

    let mut chain = ChainBuilder::new(width);
    let mut cur = input.name().to_string();
    for (k, node) in graph.node.iter().enumerate() {
        let here = || node_label(node, k);
        let op = node.op_type();
        let uses_cur = node.input.iter().filter(|i| **i == cur).count();
        if op == "Constant" {
            let t = constant_value(node).map_err(|m| bad(format!("{}: {m}", here())))?;
            if let Some(out) = node.output.first() {
                consts.insert(out.clone(), t);
            }
            continue;
        }
        if uses_cur == 0 {
            // Shape arithmetic on constants (e.g. a Reshape target): only its outputs' names
            // matter, and they may only feed shape inputs.
            if let Some(i) = node
                .input
                .iter()
                .find(|i| !i.is_empty() && !consts.contains_key(*i))
            {
                return Err(bad(format!(
                    "{}: reads '{i}', which is neither a constant nor the chain's current \
                     value; only single-path chains import",
                    here()
                )));
            }
            for out in &node.output {
                consts.insert(out.clone(), Const::Other);
            }
            continue;
        }
        if uses_cur > 1 || node.input.first() != Some(&cur) && !is_commutative(op) {
            return Err(bad(format!(
                "{}: uses the chain's value '{cur}' in an unsupported position",
                here()
            )));
        }
        let other = |j: usize| -> Option<&Const> { node.input.get(j).and_then(|n| consts.get(n)) };
        let step = match op {
            "Identity" | "Dropout" | "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => Ok(()),
            "Shape" => {
                for out in &node.output {
                    consts.insert(out.clone(), Const::Other);
                }
                continue;
            }
            "Gemm" => gemm(&mut chain, node, other(1), other(2)),
            "MatMul" => match other(1) {
                Some(Const::Float { dims, data }) if dims.len() == 2 => {
                    chain.dense(transpose(data, dims[0], dims[1]), dims[1], dims[0], None)
                }
                _ => {
                    Err("its second input must be a 2-D float constant (weights [in, out])".into())
                }
            },
            "Add" | "Sub" | "Mul" | "Div" => {
                let j = if node.input.first() == Some(&cur) {
                    1
                } else {
                    0
                };
                match other(j) {
                    Some(Const::Float { data, .. }) => {
                        if op == "Sub" && j == 0 {
                            Err("'constant - x' is not supported (only x - constant)".into())
                        } else if op == "Div" && j == 0 {
                            Err("'constant / x' is not supported (only x / constant)".into())
                        } else {
                            chain.affine(op, data)
                        }
                    }
                    _ => Err(format!(
                        "its other input '{}' is not a float constant (a skip connection or \
                         a computed value); only chains of constants import",
                        node.input.get(j).map_or("", String::as_str)
                    )),
                }
            }
            "Relu" => chain.activation(Activation::Relu),
            "Tanh" => chain.activation(Activation::Tanh),
            "Sigmoid" => chain.activation(Activation::Sigmoid),
            "Softplus" => chain.activation(Activation::Softplus),
            "LeakyRelu" => {
                let alpha = attr_f(node, "alpha").unwrap_or(0.01);
                if (alpha as f64 - LEAKY_RELU_SLOPE).abs() > 1e-7 {
                    Err(format!(
                        "alpha {alpha}: mlp's leaky_relu has slope {LEAKY_RELU_SLOPE}"
                    ))
                } else {
                    chain.activation(Activation::LeakyRelu)
                }
            }
            "Elu" => {
                let alpha = attr_f(node, "alpha").unwrap_or(1.0);
                if (alpha as f64 - ELU_ALPHA).abs() > 1e-7 {
                    Err(format!("alpha {alpha}: mlp's elu has alpha {ELU_ALPHA}"))
                } else {
                    chain.activation(Activation::Elu)
                }
            }
            "Gelu" => {
                if attr_s(node, "approximate") == Some("tanh") {
                    chain.activation(Activation::Gelu)
                } else {
                    Err(
                        "only the tanh approximation (approximate=\"tanh\") matches mlp's gelu"
                            .into(),
                    )
                }
            }
            _ => Err(
                "this op is not supported by the MLP importer (supported: Gemm, MatMul, Add, \
                 Sub, Mul, Div, Relu, LeakyRelu, Tanh, Sigmoid, Elu, Softplus, Gelu(tanh), \
                 Flatten, Reshape, Identity, Dropout, Constant)"
                    .to_string(),
            ),
        };
        step.map_err(|m| bad(format!("{}: {m}", here())))?;
        cur = node
            .output
            .first()
            .cloned()
            .ok_or_else(|| bad(format!("{}: has no output", here())))?;
    }
    if output.name() != cur {
        return Err(bad(format!(
            "the graph output '{}' is not the end of the chain ('{cur}')",
            output.name()
        )));
    }
    let layers = chain.layers.len().max(1);
    let info = ImportInfo {
        input_name: input.name().to_string(),
        input_shape,
        output_name: output.name().to_string(),
        inputs: width,
        outputs: chain.width,
        layers,
        nodes: graph.node.len(),
        opset,
        producer: format!("{} {}", proto.producer_name(), proto.producer_version())
            .trim()
            .to_string(),
    };
    let model = chain.into_model().map_err(|e| bad(e.to_string()))?;
    Ok((model, info))
}

/// A constant: float data (initializers, `Constant` nodes) or something the chain can only use
/// as a shape argument.
enum Const {
    Float { dims: Vec<usize>, data: Vec<f32> },
    Other,
}

/// Reads a tensor's float data, checking its length against its dims first.
fn read_tensor(t: &TensorProto) -> std::result::Result<Const, String> {
    let name = t.name();
    if t.data_location == Some(1) {
        return Err(format!(
            "tensor '{name}' keeps its data in an external file, which is not supported"
        ));
    }
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut n: usize = 1;
    for &d in &t.dims {
        let d = usize::try_from(d).map_err(|_| format!("tensor '{name}' has dimension {d}"))?;
        n = n
            .checked_mul(d)
            .filter(|&n| n <= MAX_PARAMS)
            .ok_or_else(|| format!("tensor '{name}' has dims {:?}, too many values", t.dims))?;
        dims.push(d);
    }
    let raw = t.raw_data.as_deref();
    let mismatch = |have: usize, unit: &str| {
        format!(
            "tensor '{name}' has dims {:?} ({n} values) but its data holds {have} {unit}",
            t.dims
        )
    };
    let data = match DataType::try_from(t.data_type()) {
        Ok(DataType::Float) => match raw {
            Some(r) => {
                if Some(r.len()) != n.checked_mul(4) {
                    return Err(mismatch(r.len(), "bytes"));
                }
                r.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            }
            None => {
                if t.float_data.len() != n {
                    return Err(mismatch(t.float_data.len(), "floats"));
                }
                t.float_data.clone()
            }
        },
        Ok(DataType::Double) => match raw {
            Some(r) => {
                if Some(r.len()) != n.checked_mul(8) {
                    return Err(mismatch(r.len(), "bytes"));
                }
                r.chunks_exact(8)
                    .map(|c| {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(c);
                        f64::from_le_bytes(b) as f32
                    })
                    .collect()
            }
            None => {
                if t.double_data.len() != n {
                    return Err(mismatch(t.double_data.len(), "doubles"));
                }
                t.double_data.iter().map(|&v| v as f32).collect()
            }
        },
        _ => return Ok(Const::Other),
    };
    Ok(Const::Float { dims, data })
}

/// The tensor of a `Constant` node (`value`, `value_float` or `value_floats`).
fn constant_value(node: &NodeProto) -> std::result::Result<Const, String> {
    for a in &node.attribute {
        match a.name() {
            "value" => {
                return match &a.t {
                    Some(t) => read_tensor(t),
                    None => Err("its 'value' attribute holds no tensor".into()),
                };
            }
            "value_float" => {
                return Ok(Const::Float {
                    dims: vec![],
                    data: vec![a.f()],
                });
            }
            "value_floats" => {
                return Ok(Const::Float {
                    dims: vec![a.floats.len()],
                    data: a.floats.clone(),
                });
            }
            _ => {}
        }
    }
    Ok(Const::Other)
}

fn attr_f(node: &NodeProto, name: &str) -> Option<f32> {
    node.attribute
        .iter()
        .find(|a| a.name() == name)
        .map(|a| a.f())
}

fn attr_i(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute
        .iter()
        .find(|a| a.name() == name)
        .map(|a| a.i())
}

fn attr_s<'a>(node: &'a NodeProto, name: &str) -> Option<&'a str> {
    node.attribute
        .iter()
        .find(|a| a.name() == name)
        .and_then(|a| a.s.as_deref())
        .and_then(|s| std::str::from_utf8(s).ok())
}

fn is_commutative(op: &str) -> bool {
    matches!(op, "Add" | "Mul" | "Sub" | "Div")
}

fn node_label(node: &NodeProto, k: usize) -> String {
    match node.name() {
        "" => format!("node {k} ({})", node.op_type()),
        n => format!("node {k} '{n}' ({})", node.op_type()),
    }
}

fn declared_shape(v: &super::proto::ValueInfoProto) -> Vec<Option<i64>> {
    use super::proto::{tensor_shape_proto::dimension::Value, type_proto};
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Vec::new();
    };
    t.shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(Value::DimValue(v)) => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn shown_shape(shape: &[Option<i64>]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| d.map_or("?".into(), |v| v.to_string()))
        .collect();
    format!("[{}]", dims.join(", "))
}

/// Features per sample: the one dimension of a vector, else the product of the non-batch
/// dimensions (`[N, 5]`, or ACAS Xu's `[1, 1, 1, 5]`).
fn feature_width(shape: &[Option<i64>]) -> Option<usize> {
    let dims = match shape {
        [] => return None,
        [d] => std::slice::from_ref(d),
        [_, rest @ ..] => rest,
    };
    dims.iter()
        .try_fold(1usize, |a, d| {
            d.and_then(|v| usize::try_from(v).ok())
                .and_then(|v| a.checked_mul(v))
        })
        .filter(|&w| (1..=MAX_WIDTH).contains(&w))
}

/// `data` (`rows x cols`, row-major) transposed.
fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; data.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = data[r * cols + c];
        }
    }
    t
}

fn gemm(
    chain: &mut ChainBuilder,
    node: &NodeProto,
    b: Option<&Const>,
    c: Option<&Const>,
) -> std::result::Result<(), String> {
    if attr_i(node, "transA").unwrap_or(0) != 0 {
        return Err("transA=1 is not supported".into());
    }
    let alpha = attr_f(node, "alpha").unwrap_or(1.0);
    let beta = attr_f(node, "beta").unwrap_or(1.0);
    let Some(Const::Float { dims, data }) = b else {
        return Err("its weights (input B) must be a float constant".into());
    };
    let &[d0, d1] = dims.as_slice() else {
        return Err(format!("its weights have shape {dims:?}, not 2-D"));
    };
    // W is stored out x in (as PyTorch's nn.Linear).
    let (mut w, o, i) = if attr_i(node, "transB").unwrap_or(0) != 0 {
        (data.clone(), d0, d1)
    } else {
        (transpose(data, d0, d1), d1, d0)
    };
    if alpha != 1.0 {
        w.iter_mut().for_each(|v| *v *= alpha);
    }
    let bias = match c {
        None => None,
        Some(Const::Float { data, .. }) => {
            let b: Vec<f32> = match data.len() {
                1 => vec![data[0] * beta; o],
                n if n == o => data.iter().map(|v| v * beta).collect(),
                n => return Err(format!("its bias has {n} values for {o} outputs")),
            };
            Some(b)
        }
        Some(Const::Other) => return Err("its bias (input C) must be a float constant".into()),
    };
    chain.dense(w, o, i, bias)
}

/// One imported dense layer: `W` (`out x in`), bias, activation.
struct DenseLayer {
    w: Vec<f32>,
    b: Vec<f32>,
    inputs: usize,
    outputs: usize,
    activation: Activation,
}

/// The network under construction: input scaling (until the first layer), then dense layers.
struct ChainBuilder {
    inputs: usize,
    width: usize,
    mean: Vec<f64>,
    scale: Vec<f64>,
    layers: Vec<DenseLayer>,
}

impl ChainBuilder {
    fn new(width: usize) -> Self {
        ChainBuilder {
            inputs: width,
            width,
            mean: vec![0.0; width],
            scale: vec![1.0; width],
            layers: Vec::new(),
        }
    }

    fn dense(
        &mut self,
        w: Vec<f32>,
        outputs: usize,
        inputs: usize,
        bias: Option<Vec<f32>>,
    ) -> std::result::Result<(), String> {
        if inputs != self.width {
            return Err(format!(
                "its weights take {inputs} inputs but the chain's value has {}",
                self.width
            ));
        }
        if outputs == 0 || outputs > MAX_WIDTH {
            return Err(format!("{outputs} outputs is out of range"));
        }
        self.layers.push(DenseLayer {
            w,
            b: bias.unwrap_or_else(|| vec![0.0; outputs]),
            inputs,
            outputs,
            activation: Activation::Identity,
        });
        self.width = outputs;
        Ok(())
    }

    /// The last layer if no activation follows it yet; else a new identity layer (so that an
    /// affine op or an activation after an activation still imports).
    fn open_layer(&mut self) -> &mut DenseLayer {
        let open = matches!(self.layers.last(), Some(l) if l.activation == Activation::Identity);
        if !open {
            let n = self.width;
            let mut w = vec![0.0; n * n];
            (0..n).for_each(|j| w[j * n + j] = 1.0);
            self.layers.push(DenseLayer {
                w,
                b: vec![0.0; n],
                inputs: n,
                outputs: n,
                activation: Activation::Identity,
            });
        }
        let last = self.layers.len() - 1;
        &mut self.layers[last]
    }

    fn activation(&mut self, act: Activation) -> std::result::Result<(), String> {
        self.open_layer().activation = act;
        Ok(())
    }

    /// `x op c` for `op` in Add/Sub/Mul/Div, `c` a scalar or one value per feature: folded into
    /// the input scaler before the first layer, else into the last layer's weights and bias.
    fn affine(&mut self, op: &str, c: &[f32]) -> std::result::Result<(), String> {
        let n = self.width;
        let at = |j: usize| -> f64 {
            if c.len() == 1 {
                c[0] as f64
            } else {
                c[j] as f64
            }
        };
        if c.len() != 1 && c.len() != n {
            return Err(format!(
                "its constant has {} values; a scalar or {n} (one per feature) folds into the \
                 network",
                c.len()
            ));
        }
        if matches!(op, "Mul" | "Div") && (0..n).any(|j| at(j) == 0.0 || !at(j).is_finite()) {
            return Err(format!("{op} by zero or a non-finite value"));
        }
        if self.layers.is_empty() {
            // x' = (x - m) / s; x' + c = (x - (m - c s)) / s; x' * c = (x - m) / (s / c).
            for j in 0..n {
                let (m, s, v) = (&mut self.mean[j], &mut self.scale[j], at(j));
                match op {
                    "Add" => *m -= v * *s,
                    "Sub" => *m += v * *s,
                    "Mul" => *s /= v,
                    _ => *s *= v,
                }
            }
            return Ok(());
        }
        let layer = self.open_layer();
        let k = layer.inputs;
        for j in 0..n {
            let v = at(j);
            let row = &mut layer.w[j * k..(j + 1) * k];
            let b = &mut layer.b[j];
            match op {
                "Add" => *b = (*b as f64 + v) as f32,
                "Sub" => *b = (*b as f64 - v) as f32,
                "Mul" => {
                    row.iter_mut().for_each(|w| *w = (*w as f64 * v) as f32);
                    *b = (*b as f64 * v) as f32;
                }
                _ => {
                    row.iter_mut().for_each(|w| *w = (*w as f64 / v) as f32);
                    *b = (*b as f64 / v) as f32;
                }
            }
        }
        Ok(())
    }

    fn into_model(mut self) -> Result<Model> {
        if self.layers.is_empty() {
            self.open_layer();
        }
        let spec = ModelSpec {
            inputs: self.inputs,
            layers: self
                .layers
                .iter()
                .map(|l| LayerSpec::dense(l.outputs, l.activation))
                .collect(),
        };
        let mut network = spec.build(0)?;
        let mut params = Vec::with_capacity(network.n_params());
        for l in &self.layers {
            debug_assert_eq!(l.w.len(), l.outputs * l.inputs);
            params.extend_from_slice(&l.w);
            params.extend_from_slice(&l.b);
        }
        network.set_params(params)?;
        let scaler = Scaler {
            mean: self.mean.iter().map(|&v| v as f32).collect(),
            scale: self.scale.iter().map(|&v| v as f32).collect(),
        };
        let outputs = self.width;
        // Numeric columns `x0..`, unscaled (the graph's normalisation is the scaler), so a CSV
        // with those columns feeds `mlp predict`, `mlp eval` and `mlp verify`.
        let names: Vec<String> = (0..self.inputs).map(|j| format!("x{j}")).collect();
        let preprocessor = Preprocessor {
            columns: names
                .iter()
                .map(|name| FeatureColumn::Numeric {
                    name: name.clone(),
                    mean: 0.0,
                    scale: 1.0,
                    fill: None,
                })
                .collect(),
            n_features: self.inputs,
            feature_names: names,
        };
        let input = InputSchema::Tabular { preprocessor };
        let target = TargetEncoder::Standardized {
            names: (0..outputs).map(|j| format!("y{j}")).collect(),
            mean: vec![0.0; outputs],
            scale: vec![1.0; outputs],
        };
        Model::new(network, Task::Regression, input, scaler, target, Loss::Mse)
    }
}
