//! Post-training int8 quantization of dense networks and their integer inference.
//!
//! # Scheme
//! - **Weights**: per output channel, symmetric int8: `scale_j = max_k |W[j][k]| / 127`,
//!   `q = round(W / scale_j)` in `-127..=127` (a channel of zeros gets scale 1).
//! - **Activations** (the input of every dense layer): per tensor, asymmetric unsigned 8-bit with
//!   a zero point, `q = clamp(round(x / scale) + zero_point, 0, 255)`, `x ~ (q - zero_point) *
//!   scale`. The range `[lo, hi]` comes from calibration rows run through the f32 network
//!   ([`Calibration::MinMax`]: the extremes; [`Calibration::Percentile`]: the `p`-th and `(100 -
//!   p)`-th percentiles, so rare outliers do not stretch the grid), widened to contain 0 so that
//!   zero (a ReLU's output, a one-hot's off) is exact: `scale = (hi - lo) / 255`, `zero_point =
//!   round(-lo / scale)`. After a ReLU `lo = 0`, so the zero point is 0 and all 256 levels cover
//!   the positive range; a tanh layer's output gets a zero point near 128.
//! - **Products**: `acc_j = sum_k q_x[k] q_w[j][k]` in `i32`, exact on every kernel path (see
//!   the int8 kernels), then
//!   `z_j = (acc_j - zero_point * sum_k q_w[j][k]) * (scale_x * scale_j) + b_j` in f32: the bias
//!   stays f32 (it costs one add per output and keeps its full precision).
//! - **Activation functions** run in f32 on `z` (the same code as the f32 network), and the result
//!   is quantized with the next layer's input parameters; the last layer's output stays f32 (the
//!   logits).
//!
//! Integer results are identical on every kernel path, and everything after them is the same
//! f32 code, so a quantized network's outputs are bit-identical whichever path ran.
//!
//! Only chains of dense layers (dropout allowed: it is the identity at inference) are
//! quantized; any other block kind is an error naming it.

mod calibrate;
pub(crate) mod file;
mod int8;
pub mod prune;
pub mod qat;

pub use calibrate::{Calibration, quantize_network};
pub use int8::{Int8Network, Int8Scratch, QuantDense};

use crate::model::Model;
use crate::{Error, Result};

/// The name of the int8 kernel path this CPU runs: `portable`, `avx2` or `avx512vnni`.
pub fn kernel_path() -> &'static str {
    crate::kernels::int8::path().name()
}

/// Measured multiply-add rates of the int8 instructions (and the f32 FMA) on the calling thread:
/// the peak the int8 kernels are compared with (`mlp bench peak`).
pub use crate::kernels::int8::{PeakRate, peak_rates};

/// The int8 kernel paths this CPU can run, narrowest first (for tests and reports).
pub fn available_kernel_paths() -> Vec<&'static str> {
    crate::kernels::int8::available_paths()
        .into_iter()
        .map(|p| p.name())
        .collect()
}

/// Affine unsigned 8-bit quantization of one tensor:
/// `q = clamp(round(x / scale) + zero_point, 0, 255)`, `x ~ (q - zero_point) * scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActQuant {
    /// Step between levels (finite, positive).
    pub scale: f32,
    /// The level that represents 0.
    pub zero_point: u8,
    /// `1 / scale`, multiplied instead of dividing in the hot loop.
    inv_scale: f32,
}

impl ActQuant {
    /// Parameters for values in `[lo, hi]`, the range first widened to contain 0. A degenerate
    /// range (all values zero) gets scale 1.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a non-finite bound (an overflowing calibration).
    pub fn from_range(lo: f32, hi: f32) -> Result<Self> {
        if !lo.is_finite() || !hi.is_finite() {
            return Err(Error::InvalidData(format!(
                "activation range [{lo}, {hi}] is not finite; the calibration data overflow the network"
            )));
        }
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let width = hi - lo;
        if !(width.is_finite() && width > f32::MIN_POSITIVE * 255.0) {
            return Self::new(1.0, 0);
        }
        let scale = width / 255.0;
        let zero_point = (-lo / scale).round().clamp(0.0, 255.0) as u8;
        Self::new(scale, zero_point)
    }

    /// Checked parameters: `scale` must be finite, positive and not subnormal.
    ///
    /// # Errors
    /// [`Error::InvalidData`] otherwise.
    pub fn new(scale: f32, zero_point: u8) -> Result<Self> {
        if !(scale.is_normal() && scale > 0.0 && (1.0 / scale).is_normal()) {
            return Err(Error::InvalidData(format!(
                "activation scale {scale} must be a positive normal number"
            )));
        }
        Ok(ActQuant {
            scale,
            zero_point,
            inv_scale: 1.0 / scale,
        })
    }

    /// `clamp(round(x / scale) + zero_point, 0, 255)`, rounding half up (NaN maps to 0).
    #[inline(always)]
    pub fn quantize(self, x: f32) -> u8 {
        let v = (x * self.inv_scale + f32::from(self.zero_point)).clamp(0.0, 255.0);
        // In [0.5, 255.5] (or NaN, which the cast sends to 0): truncation rounds half up.
        (v + 0.5) as u8
    }

    /// `(q - zero_point) * scale`.
    #[inline(always)]
    pub fn dequantize(self, q: u8) -> f32 {
        (f32::from(q) - f32::from(self.zero_point)) * self.scale
    }

    /// The smallest and largest values the grid represents.
    pub fn range(self) -> (f32, f32) {
        (self.dequantize(0), self.dequantize(255))
    }
}

/// Per-output-channel symmetric int8 weights of a `out x k` matrix: `(q, scales)` with
/// `W[j][k] ~ q[j][k] * scales[j]`, `q` in `-127..=127`.
pub fn quantize_weights(w: &[f32], out: usize, k: usize) -> (Vec<i8>, Vec<f32>) {
    let mut q = vec![0i8; out * k];
    let mut scales = vec![1.0f32; out];
    for (j, (row, qrow)) in w
        .chunks_exact(k.max(1))
        .zip(q.chunks_exact_mut(k.max(1)))
        .take(out)
        .enumerate()
    {
        let max = row.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        let s = max / 127.0;
        if !(s.is_normal() && s.is_finite()) {
            // All zero (or too small to scale): the zeros are exact with scale 1.
            continue;
        }
        scales[j] = s;
        for (d, &x) in qrow.iter_mut().zip(row) {
            *d = (x / s).round().clamp(-127.0, 127.0) as i8;
        }
    }
    (q, scales)
}

impl Model {
    /// An int8 copy of this model: activation ranges calibrated on `features` (`rows x
    /// n_features`, encoded and unscaled, like [`Model::forward`]'s input), weights quantized
    /// per output channel. The copy's f32 weights are replaced by their dequantized values, so
    /// it equals the model its file loads back to; its predictions take the int8 path.
    ///
    /// # Errors
    /// A non-finite or mis-sized calibration matrix, no calibration rows, an ensemble, or a
    /// network with a block other than dense and dropout.
    pub fn quantize(
        &self,
        features: &[f32],
        rows: usize,
        calibration: Calibration,
    ) -> Result<Model> {
        self.check_features(features, rows)?;
        if self.ensemble_size() > 1 {
            return Err(Error::config(
                "quantize",
                format!(
                    "this model is an ensemble of {} members; int8 quantization takes a single network",
                    self.ensemble_size()
                ),
            ));
        }
        let mut x = features.to_vec();
        self.scaler.apply(&mut x);
        let q = quantize_network(&self.network, &x, rows, calibration)?;
        let mut model = self.clone();
        q.install(&mut model.network);
        Ok(model)
    }

    /// `int8` for a quantized model, else `f32`.
    pub fn precision(&self) -> &'static str {
        if self.network.int8().is_some() {
            "int8"
        } else {
            "f32"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_round_trip_error_is_at_most_half_a_step() {
        for &(lo, hi) in &[
            (-1.0f32, 1.0),
            (0.0, 6.0),
            (-3.5, 0.25),
            (2.0, 5.0),
            (-7.0, -1.0),
        ] {
            let q = ActQuant::from_range(lo, hi).expect("finite range");
            let (rlo, rhi) = q.range();
            assert!(rlo <= 0.0 && rhi >= 0.0, "zero inside [{rlo}, {rhi}]");
            assert_eq!(q.dequantize(q.quantize(0.0)), 0.0, "zero is exact");
            // Covers the requested range up to half a step (the zero point is rounded).
            assert!(rlo <= lo.min(0.0) + q.scale * 0.5 + 1e-6, "{lo} {rlo}");
            assert!(rhi >= hi.max(0.0) - q.scale * 0.5 - 1e-6, "{hi} {rhi}");
            for i in 0..=1000 {
                let x = rlo + (rhi - rlo) * i as f32 / 1000.0;
                let err = (q.dequantize(q.quantize(x)) - x).abs();
                assert!(
                    err <= q.scale * 0.5001 + 1e-6,
                    "x {x}: error {err} > {}",
                    q.scale / 2.0
                );
            }
            // Outside the range: clamped to the end levels.
            assert_eq!(q.quantize(rhi + 10.0 * q.scale + 1.0), 255);
            assert_eq!(q.quantize(rlo - 10.0 * q.scale - 1.0), 0);
        }
        let relu = ActQuant::from_range(0.0, 2.55).expect("range");
        assert_eq!(relu.zero_point, 0);
        assert_eq!(ActQuant::from_range(0.0, 0.0).expect("zeros").scale, 1.0);
        assert!(ActQuant::from_range(0.0, f32::INFINITY).is_err());
        assert!(ActQuant::new(0.0, 0).is_err() && ActQuant::new(f32::NAN, 3).is_err());
    }

    #[test]
    fn weight_round_trip_error_is_at_most_half_a_channel_step() {
        let mut rng = crate::rng::Rng::seed_from(3);
        let (out, k) = (7, 19);
        let mut w: Vec<f32> = (0..out * k).map(|_| rng.normal() * 0.3).collect();
        w[..k].fill(0.0);
        w[k] = -5.0;
        let (q, s) = quantize_weights(&w, out, k);
        assert_eq!(s[0], 1.0);
        assert!(q[..k].iter().all(|&v| v == 0));
        assert_eq!(
            q[k], -127,
            "the largest magnitude maps to the end of the range"
        );
        for j in 0..out {
            for i in 0..k {
                let x = w[j * k + i];
                let back = q[j * k + i] as f32 * s[j];
                assert!(
                    (back - x).abs() <= s[j] * 0.5 * (1.0 + 1e-5),
                    "{j},{i}: {x} vs {back}"
                );
                assert!(q[j * k + i] >= -127);
            }
        }
    }
}
