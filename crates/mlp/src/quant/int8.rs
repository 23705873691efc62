//! The quantized network and its inference pass.

use super::{ActQuant, Calibration};
use crate::kernels::elementwise::{self, Activation};
use crate::kernels::int8::{self as k8, Int8Path, MAX_INT8_DEPTH, PackedWeights};
use crate::layers::{Dense, Layer};
use crate::network::{Network, PREDICT_BLOCK};
use crate::{Error, Result};

/// One quantized dense layer: int8 weights with per-channel scales, the f32 bias, the
/// quantization of its input, and the product's precomputed constants.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantDense {
    layer: usize,
    in_features: usize,
    out_features: usize,
    activation: Activation,
    weight_q: Vec<i8>,
    weight_scale: Vec<f32>,
    bias: Vec<f32>,
    input: ActQuant,
    /// `input.scale * weight_scale[j]`.
    mult: Vec<f32>,
    /// `input.zero_point * sum_k weight_q[j][k]`.
    offset: Vec<i32>,
    packed: PackedWeights,
}

impl QuantDense {
    /// Layer `layer` of the network (the dense `d`), from its quantized parts.
    ///
    /// # Errors
    /// Sizes that disagree with `d`, a non-positive or non-finite weight scale, a non-finite
    /// bias, or more inputs than [`MAX_INT8_DEPTH`].
    pub(crate) fn new(
        layer: usize,
        d: &Dense,
        weight_q: Vec<i8>,
        weight_scale: Vec<f32>,
        bias: Vec<f32>,
        input: ActQuant,
    ) -> Result<Self> {
        let (out, k) = (d.out_features, d.in_features);
        let here = format!("layers.{layer}");
        if k > MAX_INT8_DEPTH {
            return Err(Error::config(
                "quantize",
                format!(
                    "{here} has {k} inputs; int8 inference sums at most {MAX_INT8_DEPTH} products per output exactly"
                ),
            ));
        }
        if Some(weight_q.len()) != out.checked_mul(k)
            || weight_scale.len() != out
            || bias.len() != out
        {
            return Err(Error::shape(
                format!("{here} int8 tensors"),
                format!("{out} x {k} weights, {out} scales, {out} biases"),
                format!(
                    "{} weights, {} scales, {} biases",
                    weight_q.len(),
                    weight_scale.len(),
                    bias.len()
                ),
            ));
        }
        if let Some(s) = weight_scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::InvalidData(format!(
                "{here}.weight_scale holds {s}; scales must be finite and positive"
            )));
        }
        if weight_q.contains(&i8::MIN) {
            return Err(Error::InvalidData(format!(
                "{here}.weight_q holds -128; symmetric int8 weights lie in -127..=127"
            )));
        }
        if let Some(b) = bias.iter().find(|b| !b.is_finite()) {
            return Err(Error::InvalidData(format!("{here}.bias holds {b}")));
        }
        let mult = weight_scale.iter().map(|&s| input.scale * s).collect();
        let offset = weight_q
            .chunks_exact(k.max(1))
            .take(out)
            .map(|row| i32::from(input.zero_point) * row.iter().map(|&q| i32::from(q)).sum::<i32>())
            .chain(std::iter::repeat(0))
            .take(out)
            .collect();
        let packed = pack(k8::path(), &weight_q, out, k)?;
        Ok(QuantDense {
            layer,
            in_features: k,
            out_features: out,
            activation: d.activation,
            weight_q,
            weight_scale,
            bias,
            input,
            mult,
            offset,
            packed,
        })
    }

    /// Position of the layer in the network's layer list.
    pub fn layer(&self) -> usize {
        self.layer
    }

    /// The int8 weights (`out x in`, row-major, `-127..=127`).
    pub fn weight_q(&self) -> &[i8] {
        &self.weight_q
    }

    /// Per-output-channel weight scales.
    pub fn weight_scale(&self) -> &[f32] {
        &self.weight_scale
    }

    /// The quantization of this layer's input.
    pub fn input(&self) -> ActQuant {
        self.input
    }

    /// Input and output widths.
    pub fn shape(&self) -> (usize, usize) {
        (self.in_features, self.out_features)
    }

    /// Bytes the layer's stored tensors take: int8 weights, f32 scales and biases, and the input
    /// scale and zero point.
    pub fn size_bytes(&self) -> usize {
        self.weight_q.len() + 4 * (self.weight_scale.len() + self.bias.len()) + 8
    }

    /// `z = (acc - offset) * mult + bias`, then the activation, over a block of rows.
    #[inline(always)]
    fn finish(&self, acc: &[i32], z: &mut [f32]) {
        let out = self.out_features;
        let consts = self.offset.iter().zip(&self.mult).zip(&self.bias);
        for (zr, ar) in z.chunks_exact_mut(out).zip(acc.chunks_exact(out)) {
            for ((zj, &aj), ((&off, &m), &b)) in zr.iter_mut().zip(ar).zip(consts.clone()) {
                // `wrapping_sub`: the true difference fits (`|sum (q_x - zp) q_w| <= 255*127*k`).
                *zj = aj.wrapping_sub(off) as f32 * m + b;
            }
        }
    }
}

fn pack(path: Int8Path, w: &[i8], out: usize, k: usize) -> Result<PackedWeights> {
    PackedWeights::new(path, w, out, k).ok_or_else(|| {
        Error::config(
            "int8 kernel",
            format!("cannot pack {out} x {k} weights for the {path} path on this CPU"),
        )
    })
}

/// An int8 network: the quantized dense layers of a [`Network`] (dropout layers, the identity
/// at inference, are skipped), run by [`Int8Network::predict`].
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Network {
    inputs: usize,
    outputs: usize,
    f32_params: usize,
    layers: Vec<QuantDense>,
    calibration: Calibration,
    calibration_rows: usize,
}

impl Int8Network {
    /// Checks that every layer of `net` is dense or dropout and that there is a dense layer.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first other block.
    pub fn check_supported(net: &Network) -> Result<()> {
        for (i, layer) in net.layers().iter().enumerate() {
            if !matches!(layer, Layer::Dense(_) | Layer::Dropout(_)) {
                return Err(Error::config(
                    "quantize",
                    format!(
                        "int8 quantization supports dense layers; this model has {} (layers.{i})",
                        layer.kind()
                    ),
                ));
            }
        }
        if !net.layers().iter().any(|l| matches!(l, Layer::Dense(_))) {
            return Err(Error::config(
                "quantize",
                "int8 quantization needs at least one dense layer",
            ));
        }
        Ok(())
    }

    /// Assembles the quantized layers of `net` (one per dense layer, in order).
    pub(crate) fn new(
        net: &Network,
        layers: Vec<QuantDense>,
        calibration: Calibration,
        calibration_rows: usize,
    ) -> Result<Self> {
        Self::check_supported(net)?;
        let dense: Vec<usize> = net
            .layers()
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l, Layer::Dense(_)))
            .map(|(i, _)| i)
            .collect();
        let got: Vec<usize> = layers.iter().map(|l| l.layer).collect();
        if dense != got {
            return Err(Error::config(
                "quantize",
                format!("quantized layers {got:?} do not match the dense layers {dense:?}"),
            ));
        }
        Ok(Int8Network {
            inputs: net.inputs(),
            outputs: net.outputs(),
            f32_params: net.n_params(),
            layers,
            calibration,
            calibration_rows,
        })
    }

    /// Makes `net` this quantized network's f32 twin (dense weights replaced by their
    /// dequantized values) and attaches it, so that `net`'s predictions take the int8 path.
    pub(crate) fn install(self, net: &mut Network) {
        let mut params = net.params().to_vec();
        for l in &self.layers {
            if let Some(range) = net.layer_range(l.layer) {
                let w = &mut params[range][..l.weight_q.len()];
                for (row, (qrow, &s)) in w.chunks_exact_mut(l.in_features.max(1)).zip(
                    l.weight_q
                        .chunks_exact(l.in_features.max(1))
                        .zip(&l.weight_scale),
                ) {
                    for (d, &q) in row.iter_mut().zip(qrow) {
                        *d = f32::from(q) * s;
                    }
                }
            }
        }
        net.params_mut().copy_from_slice(&params);
        net.set_int8(Some(self));
    }

    /// The quantized layers.
    pub fn layers(&self) -> &[QuantDense] {
        &self.layers
    }

    /// How the activation ranges were calibrated.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// Rows the ranges were calibrated on.
    pub fn calibration_rows(&self) -> usize {
        self.calibration_rows
    }

    /// The kernel path the products take (the widest this CPU runs).
    pub fn kernel_path(&self) -> &'static str {
        self.layers
            .first()
            .map_or(k8::path().name(), |l| l.packed.path().name())
    }

    /// Bytes of the quantized tensors (int8 weights; f32 scales, biases, activation parameters).
    pub fn size_bytes(&self) -> usize {
        self.layers.iter().map(QuantDense::size_bytes).sum()
    }

    /// Bytes the same network's f32 parameters take.
    pub fn f32_size_bytes(&self) -> usize {
        4 * self.f32_params
    }

    /// The same network with its weights packed for `path` (tests compare the paths).
    ///
    /// # Errors
    /// When this CPU cannot run `path` (`portable`, `avx2`, `avx512vnni`).
    pub fn with_kernel_path(&self, path: &str) -> Result<Self> {
        let p = k8::ALL_PATHS
            .into_iter()
            .find(|p| p.name() == path)
            .ok_or_else(|| Error::config("int8 kernel", format!("unknown path '{path}'")))?;
        let mut copy = self.clone();
        for l in &mut copy.layers {
            l.packed = pack(p, &l.weight_q, l.out_features, l.in_features)?;
        }
        Ok(copy)
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Outputs (`rows x outputs`, f32 logits) for `input` (`rows x inputs`, scaled as the
    /// network sees it). Blocks of rows run in parallel on the current rayon pool, as
    /// [`Network::predict`] does; a row's result does not depend on the blocking.
    ///
    /// # Panics
    /// When `input` holds fewer than `rows x inputs` values.
    pub fn predict(&self, input: &[f32], rows: usize) -> Vec<f32> {
        use rayon::prelude::*;
        let (nin, nout) = (self.inputs, self.outputs);
        let mut out = vec![0.0f32; rows * nout];
        let run = |(x, y): (&[f32], &mut [f32])| {
            let b = x.len() / nin.max(1);
            SCRATCH.with(|s| self.predict_into(x, b, &mut s.borrow_mut(), y));
        };
        let blocks_in = input[..rows * nin].chunks(PREDICT_BLOCK * nin.max(1));
        let blocks_out = out.chunks_mut(PREDICT_BLOCK * nout.max(1));
        if rayon::current_num_threads() > 1 && rows > PREDICT_BLOCK {
            input[..rows * nin]
                .par_chunks(PREDICT_BLOCK * nin.max(1))
                .zip(out.par_chunks_mut(PREDICT_BLOCK * nout.max(1)))
                .for_each(run);
        } else {
            blocks_in.zip(blocks_out).for_each(run);
        }
        out
    }

    /// Outputs of `batch` rows on the calling thread, into `output` (`batch x outputs`),
    /// reusing `scratch`.
    ///
    /// # Panics
    /// When `input` or `output` is shorter than `batch` rows.
    pub fn predict_into(
        &self,
        input: &[f32],
        batch: usize,
        scratch: &mut Int8Scratch,
        output: &mut [f32],
    ) {
        self.run_block(input, batch, scratch, output, &mut NoLaps);
    }

    /// Where the time of a batch goes, for profiles (`mlp bench w3 --precision int8`): `input`
    /// (`rows x inputs`) is run on the calling thread in blocks of the batch path's size, and
    /// the seconds spent in each stage are summed: `quantize` (the inputs and every
    /// re-quantization), `product` per layer (the int8 kernel), `dequantize` (`acc` to f32 with
    /// the bias) and `activation`.
    ///
    /// # Panics
    /// When `input` holds fewer than `rows x inputs` values.
    pub fn stage_seconds(&self, input: &[f32], rows: usize) -> Vec<(String, f64)> {
        let (nin, nout) = (self.inputs, self.outputs);
        let mut laps = Laps {
            last: std::time::Instant::now(),
            seconds: vec![0.0; 3 + self.layers.len()],
        };
        let mut scratch = Int8Scratch::default();
        let mut out = vec![0.0f32; PREDICT_BLOCK * nout];
        for x in input[..rows * nin].chunks(PREDICT_BLOCK * nin.max(1)) {
            let b = x.len() / nin.max(1);
            laps.last = std::time::Instant::now();
            self.run_block(x, b, &mut scratch, &mut out[..b * nout], &mut laps);
        }
        let mut named = vec![
            ("quantize".to_string(), laps.seconds[0]),
            ("dequantize".to_string(), laps.seconds[1]),
            ("activation".to_string(), laps.seconds[2]),
        ];
        for (l, &s) in self.layers.iter().zip(&laps.seconds[3..]) {
            let (k, o) = l.shape();
            named.push((format!("product layers.{} ({o} x {k})", l.layer), s));
        }
        named
    }

    /// The batch pass, with `laps.lap(stage)` after each stage (a no-op for predictions).
    #[inline(always)]
    fn run_block(
        &self,
        input: &[f32],
        batch: usize,
        scratch: &mut Int8Scratch,
        output: &mut [f32],
        laps: &mut impl Lap,
    ) {
        let Some(first) = self.layers.first() else {
            return;
        };
        let Int8Scratch { x, acc, z } = scratch;
        let n = self.layers.len();
        crate::kernels::simd::vectorized(
            #[inline(always)]
            || {
                quantize_rows(
                    first.input,
                    &input[..batch * self.inputs],
                    self.inputs,
                    first.packed.stride(),
                    x,
                )
            },
        );
        laps.lap(0);
        for (i, l) in self.layers.iter().enumerate() {
            let out = l.out_features;
            acc.resize(batch * out, 0);
            l.packed.product(x, batch, acc);
            laps.lap(3 + i);
            let last = i + 1 == n;
            if !last {
                z.resize(batch * out, 0.0);
            }
            let zbuf: &mut [f32] = if last {
                &mut output[..batch * out]
            } else {
                &mut z[..batch * out]
            };
            crate::kernels::simd::vectorized(
                #[inline(always)]
                || l.finish(acc, zbuf),
            );
            laps.lap(1);
            if l.activation != Activation::Identity {
                elementwise::bias_activation_forward(l.activation, zbuf, out, None, None);
            }
            laps.lap(2);
            if let Some(next) = self.layers.get(i + 1) {
                crate::kernels::simd::vectorized(
                    #[inline(always)]
                    || quantize_rows(next.input, zbuf, out, next.packed.stride(), x),
                );
                laps.lap(0);
            }
        }
    }
}

/// A stopwatch the batch pass calls after each stage.
trait Lap {
    fn lap(&mut self, stage: usize);
}

/// No timing (predictions).
struct NoLaps;

impl Lap for NoLaps {
    #[inline(always)]
    fn lap(&mut self, _: usize) {}
}

/// Seconds per stage, summed ([`Int8Network::stage_seconds`]).
struct Laps {
    last: std::time::Instant,
    seconds: Vec<f64>,
}

impl Lap for Laps {
    fn lap(&mut self, stage: usize) {
        let now = std::time::Instant::now();
        self.seconds[stage] += (now - self.last).as_secs_f64();
        self.last = now;
    }
}

/// Quantizes `rows x width` values into rows of `stride` bytes (the padding zeroed).
#[inline(always)]
fn quantize_rows(q: ActQuant, values: &[f32], width: usize, stride: usize, x: &mut Vec<u8>) {
    let rows = values.len() / width.max(1);
    x.clear();
    x.resize(rows * stride, 0);
    for (dst, src) in x
        .chunks_exact_mut(stride.max(1))
        .zip(values.chunks_exact(width.max(1)))
    {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = q.quantize(v);
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Int8Scratch> = std::cell::RefCell::new(Int8Scratch::default());
}

/// Reusable buffers for [`Int8Network::predict_into`] (quantized activations, `i32` sums, f32
/// pre-activations); they grow to the largest batch and are then reused.
#[derive(Debug, Default, Clone)]
pub struct Int8Scratch {
    x: Vec<u8>,
    acc: Vec<i32>,
    z: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::quantize_network;
    use crate::spec::ModelSpec;

    fn net_and_data(act: Activation) -> (Network, Vec<f32>, usize) {
        let net = ModelSpec::mlp(5, &[16, 8], 3, act, 0.0)
            .build(4)
            .expect("net");
        let mut rng = crate::rng::Rng::seed_from(9);
        let rows = 700;
        let x: Vec<f32> = (0..rows * 5).map(|_| rng.normal()).collect();
        (net, x, rows)
    }

    #[test]
    fn every_kernel_path_gives_the_same_bits() {
        for act in [Activation::Relu, Activation::Tanh, Activation::Gelu] {
            let (net, x, rows) = net_and_data(act);
            let q = quantize_network(&net, &x, rows, Calibration::MinMax).expect("quantize");
            let want = q
                .with_kernel_path("portable")
                .expect("portable")
                .predict(&x, rows);
            for p in crate::quant::available_kernel_paths() {
                let got = q.with_kernel_path(p).expect("path").predict(&x, rows);
                assert!(
                    got.iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{p} differs from portable ({act:?})"
                );
            }
        }
    }

    #[test]
    fn int8_outputs_stay_close_to_f32() {
        for act in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
            let (net, x, rows) = net_and_data(act);
            let f = net.predict(&x, rows);
            let q = quantize_network(&net, &x, rows, Calibration::MinMax).expect("quantize");
            let g = q.predict(&x, rows);
            let spread = f.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let worst = f
                .iter()
                .zip(&g)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                worst <= 0.05 * spread.max(1e-3),
                "{act:?}: worst {worst}, spread {spread}"
            );
            // One row at a time equals the blocked batch.
            let mut s = Int8Scratch::default();
            let mut one = vec![0.0f32; 3];
            q.predict_into(&x[5 * 5..6 * 5], 1, &mut s, &mut one);
            assert_eq!(&one[..], &g[15..18]);
        }
    }

    #[test]
    fn other_blocks_are_refused_by_name() {
        let spec: ModelSpec = serde_json::from_str(
            r#"{"inputs": 3, "layers": [{"type": "dense", "units": 4}, {"type": "layer_norm"}, {"type": "dense", "units": 2}]}"#,
        )
        .expect("spec");
        let net = spec.build(0).expect("net");
        let err = quantize_network(&net, &[0.0; 3], 1, Calibration::MinMax)
            .expect_err("layer norm is not quantized")
            .to_string();
        assert!(
            err.contains(
                "int8 quantization supports dense layers; this model has layer_norm (layers.1)"
            ),
            "{err}"
        );
    }
}
