//! k-bit quantization-aware training (`mlp train --qat-bits B`) and the integer-only inference
//! of its result.
//!
//! # Scheme (documented in `docs/quantization.md`)
//! - [`convert`] turns a chain of dense layers (dropout allowed) into `qat_dense` layers
//!   ([`crate::layers::QatDense`]) with the same weights: every layer's weights get `B` bits per
//!   output channel (symmetric; `B = 1` is binary `sign * scale`, `B = 2` ternary), every
//!   hidden layer's input (the previous layer's activation) `B` bits per tensor, unsigned after
//!   ReLU, sigmoid and softplus (which never go negative) and signed otherwise. The network's
//!   own input (the standardized features) gets 8 bits, signed, as in most k-bit work: it is one
//!   layer's worth of products and keeps the data's resolution. The logits stay f32.
//! - Scales are learned (LSQ): a weight scale per output channel and an input scale per layer,
//!   trained with the weights by the same optimizer. Learned rather than min-max/EMA because at
//!   2 bits the clipping point decides the accuracy (min-max of a ReLU output puts 3 of 4 levels
//!   on the rare large values), and the loss is the right judge of where to clip. They start at
//!   the MSE-optimal clip of the initial weights and of a calibration pass over the training
//!   rows ([`calibrate`]).
//! - Gradients: the clipped straight-through estimator and LSQ's scale gradient (see
//!   [`crate::layers::qat_dense`]); the f32 master weights take the updates.
//! - Inference: [`attach`] builds a [`QatIntNetwork`] from the trained parameters: the levels as
//!   `i8` weights and `u8` activations (level minus the grid's lowest level, i.e. a zero point),
//!   products in `i32` through the int8 kernels (`kernels::int8`, VNNI/AVX2/portable), then
//!   `z = acc * (s_x s_j) + b` and the activation in f32. The fake-quantized f32 network computes
//!   its products on the same integer levels (exact in f32 while `k * max|q_x| * max|q_w| <
//!   2^24`, e.g. up to 1032 inputs at 8 bits, any practical width at 2 bits) and then the same
//!   f32 operations in the same order, so both give the same outputs bit for bit (ReLU and
//!   identity activations; tanh and sigmoid use the same vector code on the same blocks of rows).
//! - Model file: the `qat` metadata section; each `layers.{i}.weight` is stored as the `i8`
//!   tensor `layers.{i}.weight_q` (one level per byte: the kernels read bytes, and the file
//!   stays a plain safetensors file any reader opens), the scales as the f32 tensors
//!   `layers.{i}.weight_log_scale` and `layers.{i}.input_log_scale` (natural logarithms). Loading rebuilds the f32 weights as
//!   `level * scale`, which re-quantize to the same levels exactly. `mlp info` reports the
//!   stored size and the size with the weights packed at `B` bits.

use crate::io::TensorFile;
use crate::kernels::elementwise::{self, Activation};
use crate::kernels::int8::{self as k8, PackedWeights};
use crate::layers::qat_dense::{Grid, finish_rows};
use crate::layers::{Layer, QatDense};
use crate::network::{Network, PREDICT_BLOCK};
use crate::spec::{LayerSpec, ModelSpec};
use crate::{Error, Result};
use std::borrow::Cow;
use std::path::Path;

/// Bits of the network's own input (the standardized features).
pub const INPUT_BITS: u8 = 8;

/// Rows [`calibrate`] looks at (the first ones).
pub const CALIBRATION_ROWS: usize = 2048;

/// The metadata key of the QAT section of a model file.
const KEY: &str = "qat";

/// Whether an activation's output is never negative (its quantized output gets an unsigned grid).
pub fn nonnegative(act: Activation) -> bool {
    matches!(
        act,
        Activation::Relu | Activation::Sigmoid | Activation::Softplus
    )
}

/// A quantization-aware copy of `net` (dense and dropout layers only): every dense layer becomes
/// a `qat_dense` layer with `bits`-bit weights and inputs (8-bit for the first layer's input),
/// the same weights and biases, and scales fitted to the weights.
///
/// # Errors
/// [`Error::InvalidConfig`] for `bits` outside 1..=8, a block other than dense and dropout, or a
/// frozen dense layer.
pub fn convert(net: &Network, bits: u8) -> Result<Network> {
    if !(1..=8).contains(&bits) {
        return Err(Error::config(
            "qat-bits",
            format!("must be in 1..=8; got {bits}"),
        ));
    }
    let mut specs = Vec::new();
    let mut nonneg_input = false;
    let mut first = true;
    for (i, layer) in net.layers().iter().enumerate() {
        match layer {
            Layer::Dense(d) if d.trainable => {
                specs.push(LayerSpec::QatDense {
                    units: d.out_features,
                    activation: d.activation,
                    bits,
                    input_bits: if first { INPUT_BITS.max(bits) } else { bits },
                    input_signed: !nonneg_input,
                    init: Some(d.init),
                    bias: d.bias,
                });
                first = false;
                nonneg_input = nonnegative(d.activation);
            }
            Layer::Dropout(d) => specs.push(LayerSpec::Dropout { p: d.p }),
            other => {
                return Err(Error::config(
                    "qat-bits",
                    format!(
                        "quantization-aware training supports trainable dense and dropout layers; layers.{i} is {}",
                        if matches!(other, Layer::Dense(_)) {
                            "a frozen dense layer"
                        } else {
                            other.kind()
                        }
                    ),
                ));
            }
        }
    }
    let spec = ModelSpec {
        inputs: net.inputs(),
        layers: specs,
    };
    let mut q = spec.build(0)?;
    let layers = q.layers().to_vec();
    for (i, layer) in layers.iter().enumerate() {
        let Layer::QatDense(l) = layer else {
            continue;
        };
        let (src, dst) = (
            net.layer_range(i).unwrap_or(0..0),
            q.layer_range(i).unwrap_or(0..0),
        );
        let n = src.len();
        let from = &net.params()[src];
        let to = &mut q.params[dst];
        to[..n].copy_from_slice(from);
        l.init_scales(to);
    }
    Ok(q)
}

/// Whether `net` has quantization-aware layers.
pub fn is_qat(net: &Network) -> bool {
    net.layers().iter().any(|l| matches!(l, Layer::QatDense(_)))
}

/// The weight bits of a quantization-aware network (the first `qat_dense` layer's).
pub fn weight_bits(net: &Network) -> Option<u8> {
    net.layers().iter().find_map(|l| match l {
        Layer::QatDense(q) => Some(q.bits),
        _ => None,
    })
}

/// Fits every `qat_dense` layer's input scale to the values it sees on (the first
/// [`CALIBRATION_ROWS`] of) `x` (`rows x inputs`, scaled as the network sees it), first layer
/// first, each seeing the inputs quantized by the layers before it: the MSE-optimal clip
/// ([`Grid::mse_scale`]), the starting point that training then moves.
///
/// # Errors
/// [`Error::ShapeMismatch`] when `x` is not `rows x inputs`.
pub fn calibrate(net: &mut Network, x: &[f32], rows: usize) -> Result<()> {
    let n = net.inputs();
    if rows.checked_mul(n) != Some(x.len()) {
        return Err(Error::shape(
            "qat calibration",
            format!("{rows} rows x {n} inputs"),
            format!("{} values", x.len()),
        ));
    }
    let rows = rows.min(CALIBRATION_ROWS);
    let x = &x[..rows * n];
    for i in 0..net.layers().len() {
        let Layer::QatDense(q) = &net.layers()[i] else {
            continue;
        };
        let inputs = net.layer_inputs(i, x, rows);
        let s = q.input_grid().mse_scale(&inputs);
        let at = net.layer_range(i).unwrap_or(0..0).start + q.input_scale_index();
        net.params[at] = s.ln();
    }
    net.set_qat_int(None);
    Ok(())
}

/// Makes a training session quantization-aware before it runs: its network becomes
/// [`convert`]`(network, bits)` and the input scales are [`calibrate`]d on its (scaled) training
/// rows. Call it on a new session (before [`crate::estimator::Session::run`]).
///
/// # Errors
/// As [`convert`]; an ensemble (`ensemble > 1`) is refused.
pub fn prepare_session(session: &mut crate::estimator::Session, bits: u8) -> Result<()> {
    if session.config.ensemble > 1 {
        return Err(Error::config(
            "qat-bits",
            "quantization-aware training takes a single network, not an ensemble",
        ));
    }
    let mut net = convert(&session.model.network, bits)?;
    let data = &session.train;
    calibrate(&mut net, &data.features, data.len())?;
    session.model.network = net;
    Ok(())
}

/// One integer layer: `i8` weight levels packed for the kernel, the input's grid and scale.
#[derive(Debug, Clone, PartialEq)]
struct IntLayer {
    layer: usize,
    in_features: usize,
    out_features: usize,
    activation: Activation,
    bits: u8,
    grid: Grid,
    /// The input scale as used (clamped) and its inverse.
    scale: f32,
    inv: f32,
    /// `-grid.qn`: the stored `u8` of level 0.
    zero_point: i32,
    weight_q: Vec<i8>,
    /// Log-scales, as stored (`finish_rows` takes their exponentials as training does).
    weight_scale: Vec<f32>,
    bias: Option<Vec<f32>>,
    /// `zero_point * sum_k weight_q[j][k]`.
    offset: Vec<i32>,
    packed: PackedWeights,
}

/// The integer-only inference of a quantization-aware-trained network: `u8` activations, `i8`
/// weights, `i32` sums (the int8 kernels), f32 only for the per-channel rescale, bias and
/// activation. Attached by [`attach`]; [`Network::predict`] runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct QatIntNetwork {
    inputs: usize,
    outputs: usize,
    layers: Vec<IntLayer>,
}

impl QatIntNetwork {
    /// Builds the integer network of `net`; `None` when `net` is not a chain of `qat_dense` and
    /// dropout layers.
    ///
    /// # Errors
    /// A non-finite parameter, or a layer the int8 kernels cannot take (wider than
    /// `kernels::int8::MAX_INT8_DEPTH`).
    pub fn new(net: &Network) -> Result<Option<Self>> {
        let supported = net
            .layers()
            .iter()
            .all(|l| matches!(l, Layer::QatDense(_) | Layer::Dropout(_)));
        if !supported || !is_qat(net) {
            return Ok(None);
        }
        let mut layers = Vec::new();
        for (i, layer) in net.layers().iter().enumerate() {
            let Layer::QatDense(q) = layer else {
                continue;
            };
            let here = format!("layers.{i}");
            let p = &net.params()[net.layer_range(i).unwrap_or(0..0)];
            if let Some(bad) = p.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidData(format!(
                    "{here}: parameter {bad} is {}; cannot quantize",
                    p[bad]
                )));
            }
            let (k, out) = (q.dense.in_features, q.dense.out_features);
            let weight_q = q.weight_levels(p);
            let packed = PackedWeights::new(k8::path(), &weight_q, out, k).ok_or_else(|| {
                Error::config(
                    "qat",
                    format!("{here}: cannot pack {out} x {k} weights for the int8 kernels"),
                )
            })?;
            let grid = q.input_grid();
            let zero_point = -grid.qn;
            let offset = weight_q
                .chunks_exact(k.max(1))
                .map(|r| zero_point * r.iter().map(|&v| i32::from(v)).sum::<i32>())
                .chain(std::iter::repeat(0))
                .take(out)
                .collect();
            let scale = QatDense::effective(p[q.input_scale_index()]);
            layers.push(IntLayer {
                layer: i,
                in_features: k,
                out_features: out,
                activation: q.dense.activation,
                bits: q.bits,
                grid,
                scale,
                inv: 1.0 / scale,
                zero_point,
                weight_q,
                weight_scale: p[q.weight_scale_range()].to_vec(),
                bias: q.dense.bias.then(|| p[q.bias_range()].to_vec()),
                offset,
                packed,
            });
        }
        Ok(Some(QatIntNetwork {
            inputs: net.inputs(),
            outputs: net.outputs(),
            layers,
        }))
    }

    /// The int8 kernel path the products take.
    pub fn kernel_path(&self) -> &'static str {
        self.layers
            .first()
            .map_or(k8::path().name(), |l| l.packed.path().name())
    }

    /// Weight bits (of the first layer; all layers share them after [`convert`]).
    pub fn bits(&self) -> u8 {
        self.layers.first().map_or(8, |l| l.bits)
    }

    /// Bytes of the stored tensors: `i8` weights (one per byte), f32 biases and scales.
    pub fn stored_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| {
                l.weight_q.len() + 4 * (l.out_features * (1 + usize::from(l.bias.is_some())) + 1)
            })
            .sum()
    }

    /// Bytes with the weights packed at their bit width (`ceil(n * bits / 8)` per layer), the
    /// f32 biases and scales as stored.
    pub fn packed_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| {
                (l.weight_q.len() * usize::from(l.bits)).div_ceil(8)
                    + 4 * (l.out_features * (1 + usize::from(l.bias.is_some())) + 1)
            })
            .sum()
    }

    /// Bytes of the same network in f32 (weights and biases).
    pub fn f32_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| 4 * (l.weight_q.len() + if l.bias.is_some() { l.out_features } else { 0 }))
            .sum()
    }

    /// Outputs (`rows x outputs`) for `input` (`rows x inputs`, scaled as the network sees it),
    /// in blocks of rows exactly as [`Network::predict`] cuts them (rows in parallel on the
    /// current rayon pool).
    ///
    /// # Panics
    /// When `input` holds fewer than `rows x inputs` values.
    pub fn predict(&self, input: &[f32], rows: usize) -> Vec<f32> {
        use rayon::prelude::*;
        let (nin, nout) = (self.inputs.max(1), self.outputs.max(1));
        let mut out = vec![0.0f32; rows * self.outputs];
        let run = |(x, y): (&[f32], &mut [f32])| {
            let b = x.len() / nin;
            self.predict_into(x, b, y);
        };
        let xs = &input[..rows * self.inputs];
        if rayon::current_num_threads() > 1 && rows > PREDICT_BLOCK {
            xs.par_chunks(PREDICT_BLOCK * nin)
                .zip(out.par_chunks_mut(PREDICT_BLOCK * nout))
                .for_each(run);
        } else {
            xs.chunks(PREDICT_BLOCK * nin)
                .zip(out.chunks_mut(PREDICT_BLOCK * nout))
                .for_each(run);
        }
        out
    }

    /// Outputs of `batch` rows on the calling thread into `output` (`batch x outputs`).
    ///
    /// # Panics
    /// When `input` or `output` is shorter than `batch` rows.
    pub fn predict_into(&self, input: &[f32], batch: usize, output: &mut [f32]) {
        SCRATCH.with(|s| {
            let (x, acc, a, z) = &mut *s.borrow_mut();
            a.clear();
            a.extend_from_slice(&input[..batch * self.inputs]);
            let n = self.layers.len();
            for (i, l) in self.layers.iter().enumerate() {
                let (k, out) = (l.in_features, l.out_features);
                let stride = l.packed.stride();
                x.clear();
                x.resize(batch * stride, 0);
                for (dst, src) in x
                    .chunks_exact_mut(stride.max(1))
                    .zip(a.chunks_exact(k.max(1)))
                {
                    for (d, &v) in dst.iter_mut().zip(src) {
                        // The level is an integer in qn..=qp, so level - qn is in 0..=255.
                        *d = (l.grid.level(v * l.inv) as i32 + l.zero_point) as u8;
                    }
                }
                acc.clear();
                acc.resize(batch * out, 0);
                l.packed.product(x, batch, acc);
                z.clear();
                z.extend(acc.chunks_exact(out.max(1)).flat_map(|r| {
                    r.iter()
                        .zip(&l.offset)
                        // The true difference fits in i32 (|sum q_x q_w| <= 255 * 127 * k).
                        .map(|(&s, &o)| s.wrapping_sub(o) as f32)
                }));
                finish_rows(z, out, l.scale, &l.weight_scale, l.bias.as_deref());
                if l.activation != Activation::Identity {
                    elementwise::bias_activation_forward(l.activation, z, out, None, None);
                }
                if i + 1 == n {
                    output[..batch * out].copy_from_slice(&z[..batch * out]);
                } else {
                    std::mem::swap(a, z);
                }
            }
        });
    }
}

type Scratch = (Vec<u8>, Vec<i32>, Vec<f32>, Vec<f32>);

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Default::default());
}

/// Attaches the integer-only network to a quantization-aware network, so that its predictions
/// run on integers; returns whether it did (false, and nothing attached, for other networks).
///
/// # Errors
/// As [`QatIntNetwork::new`].
pub fn attach(net: &mut Network) -> Result<bool> {
    let q = QatIntNetwork::new(net)?;
    let attached = q.is_some();
    net.set_qat_int(q);
    Ok(attached)
}

/// Median seconds of one single-row prediction of `net` (the integer path when attached), over
/// `reps` runs after a warm-up, on `row` (`inputs` values, scaled as the network sees it).
pub fn single_row_latency(net: &Network, row: &[f32], reps: usize) -> f64 {
    let mut scratch = crate::network::InferenceScratch::default();
    let mut out = vec![0.0f32; net.outputs()];
    let mut times = Vec::with_capacity(reps.max(1));
    for i in 0..reps.max(1) + 10 {
        let t = std::time::Instant::now();
        net.infer_into(row, 1, &mut scratch, &mut out);
        std::hint::black_box(&out);
        if i >= 10 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    version: u32,
    /// How the weight levels are stored: `i8` (one per byte).
    storage: String,
}

/// Adds the QAT section to `file` (holding the model's f32 tensors): each `qat_dense` layer's
/// f32 weights become their `i8` levels. Nothing for other networks.
pub(crate) fn write(net: &Network, file: &mut TensorFile) -> Result<()> {
    if !is_qat(net) {
        return Ok(());
    }
    for (i, layer) in net.layers().iter().enumerate() {
        let Layer::QatDense(q) = layer else {
            continue;
        };
        let p = &net.params()[net.layer_range(i).unwrap_or(0..0)];
        file.take(&format!("layers.{i}.weight"));
        file.int8.push((
            format!("layers.{i}.weight_q"),
            vec![q.dense.out_features, q.dense.in_features],
            q.weight_levels(p),
        ));
    }
    let h = Header {
        version: 1,
        storage: "i8".into(),
    };
    let json = serde_json::to_string(&h)
        .map_err(|e| Error::InvalidData(format!("cannot encode the qat section: {e}")))?;
    file.metadata.insert(KEY.into(), json);
    Ok(())
}

/// `file` with the QAT section's `i8` weight levels turned back into f32 `layers.{i}.weight`
/// tensors (`level * scale`, which quantize back to the same levels); borrowed unchanged for
/// other files.
///
/// # Errors
/// [`Error::Format`] naming the file: a corrupt section header, a level tensor whose shape
/// disagrees with its data, missing or bad scales, a level outside -127..=127, or a weight
/// stored both ways.
pub(crate) fn with_f32_weights<'a>(
    file: &'a TensorFile,
    path: &Path,
) -> Result<Cow<'a, TensorFile>> {
    let Some(json) = file.metadata.get(KEY) else {
        return Ok(Cow::Borrowed(file));
    };
    let bad = |msg: String| Error::format(path, format!("qat section: {msg}"));
    let h: Header =
        serde_json::from_str(json).map_err(|e| bad(format!("corrupt '{KEY}' metadata: {e}")))?;
    if h.version > 1 || h.storage != "i8" {
        return Err(bad(format!(
            "version {} with '{}' storage is not understood by this mlp (version 1, i8); upgrade mlp",
            h.version, h.storage
        )));
    }
    let mut out = file.clone();
    out.int8.clear();
    for (name, shape, q) in &file.int8 {
        let Some(base) = name
            .strip_suffix(".weight_q")
            .filter(|b| b.starts_with("layers."))
        else {
            out.int8.push((name.clone(), shape.clone(), q.clone()));
            continue;
        };
        let (rows, k) = match *shape.as_slice() {
            [r, k] if r.checked_mul(k) == Some(q.len()) => (r, k),
            _ => {
                return Err(bad(format!(
                    "'{name}' has shape {shape:?} for {} values; expected [out, in]",
                    q.len()
                )));
            }
        };
        if q.contains(&i8::MIN) {
            return Err(bad(format!(
                "'{name}' holds -128; weight levels lie in -127..=127"
            )));
        }
        let scale_name = format!("{base}.weight_log_scale");
        let scales = match file.get(&scale_name) {
            Some((s, data)) if s == [rows] && data.len() == rows => data,
            Some((s, _)) => {
                return Err(bad(format!(
                    "'{scale_name}' has shape {s:?}; '{name}' needs [{rows}]"
                )));
            }
            None => return Err(bad(format!("'{name}' has no '{scale_name}'"))),
        };
        if let Some(s) = scales.iter().find(|s| !s.is_finite()) {
            return Err(bad(format!(
                "'{scale_name}' holds {s}; log-scales must be finite"
            )));
        }
        let weight = format!("{base}.weight");
        if file.get(&weight).is_some() {
            return Err(bad(format!(
                "'{weight}' is stored both as f32 and as levels ('{name}')"
            )));
        }
        let mut w = Vec::with_capacity(q.len());
        for (row, &s) in q.chunks_exact(k.max(1)).zip(scales) {
            let s = QatDense::effective(s);
            w.extend(row.iter().map(|&v| f32::from(v) * s));
        }
        w.resize(q.len(), 0.0);
        out.push(weight, shape.clone(), w);
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_have_the_documented_levels() {
        assert_eq!(
            Grid::weights(2),
            Grid {
                qn: -1,
                qp: 1,
                binary: false
            }
        );
        assert_eq!(Grid::weights(8).qp, 127);
        assert!(Grid::weights(1).binary);
        assert_eq!(Grid::activations(2, false).qp, 3);
        assert_eq!(Grid::activations(8, true).qn, -128);
        let g = Grid::activations(2, false);
        let levels: Vec<f32> = [-1.0f32, 0.2, 0.5, 1.49, 2.5, 7.0]
            .iter()
            .map(|&v| g.level(v))
            .collect();
        assert_eq!(levels, vec![0.0, 0.0, 1.0, 1.0, 3.0, 3.0]);
        let b = Grid::weights(1);
        assert_eq!(b.level(0.0f32), 1.0);
        assert_eq!(b.level(-0.1f32), -1.0);
    }

    #[test]
    fn mse_scale_is_the_mean_magnitude_for_binary_and_covers_the_values_at_8_bits() {
        let v = [0.5f32, -1.5, 1.0, -1.0];
        assert_eq!(Grid::weights(1).mse_scale(&v), 1.0);
        let s = Grid::weights(8).mse_scale(&v);
        assert!((s * 127.0 - 1.5).abs() < 0.2, "{s}");
        assert_eq!(Grid::weights(2).mse_scale(&[0.0; 3]), 1.0);
    }
}
