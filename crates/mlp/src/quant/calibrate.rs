//! Calibration: run rows through the f32 network, record the range of every dense layer's input,
//! and quantize the weights.

use super::int8::{Int8Network, QuantDense};
use super::{ActQuant, quantize_weights};
use crate::layers::Layer;
use crate::network::Network;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How the activation ranges are taken from the calibration rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Calibration {
    /// The smallest and largest value seen.
    MinMax,
    /// The `percentile`-th largest and `(100 - percentile)`-th value (e.g. 99.99): outliers
    /// beyond them are clipped to the end levels, so they do not coarsen the grid for the rest.
    Percentile {
        /// In `(50, 100]`; 100 is min-max.
        percentile: f64,
    },
}

impl Calibration {
    /// `minmax` or `percentile`.
    pub fn name(self) -> &'static str {
        match self {
            Calibration::MinMax => "minmax",
            Calibration::Percentile { .. } => "percentile",
        }
    }

    /// Checks the percentile.
    fn check(self) -> Result<()> {
        if let Calibration::Percentile { percentile } = self
            && !(percentile > 50.0 && percentile <= 100.0)
        {
            return Err(Error::config(
                "percentile",
                format!("must be in (50, 100], e.g. 99.99; got {percentile}"),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for Calibration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Calibration::MinMax => f.write_str("minmax"),
            Calibration::Percentile { percentile } => write!(f, "percentile {percentile}"),
        }
    }
}

/// Values kept per tensor for the percentiles: beyond this, every `n`-th value is kept (a fixed
/// stride, so the same rows give the same ranges).
const MAX_SAMPLE: usize = 1 << 20;

/// Rows run through the network at a time.
const BLOCK: usize = 512;

/// The running range of one tensor.
struct Stats {
    min: f32,
    max: f32,
    stride: usize,
    seen: usize,
    sample: Vec<f32>,
}

impl Stats {
    fn new(total: usize) -> Self {
        let stride = total.div_ceil(MAX_SAMPLE).max(1);
        Stats {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            stride,
            seen: 0,
            sample: Vec::with_capacity(total.div_ceil(stride).min(MAX_SAMPLE)),
        }
    }

    fn observe(&mut self, values: &[f32], keep: bool) {
        for &v in values {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        if keep {
            // Indices `seen + i` that are multiples of the stride.
            let first = (self.stride - self.seen % self.stride) % self.stride;
            self.sample
                .extend(values.iter().skip(first).step_by(self.stride).copied());
        }
        self.seen += values.len();
    }

    fn range(mut self, calibration: Calibration) -> Result<ActQuant> {
        match calibration {
            Calibration::Percentile { percentile }
                if percentile < 100.0 && !self.sample.is_empty() =>
            {
                self.sample.sort_unstable_by(f32::total_cmp);
                let n = self.sample.len() - 1;
                let at = |p: f64| self.sample[((p * n as f64).round() as usize).min(n)];
                let p = percentile / 100.0;
                ActQuant::from_range(at(1.0 - p), at(p))
            }
            _ => ActQuant::from_range(self.min, self.max),
        }
    }
}

/// The int8 version of `net`: every dense layer's input range calibrated on `input` (`rows x
/// inputs`, already scaled as the network sees it), the weights quantized per output channel.
///
/// # Errors
/// [`Error::InvalidConfig`] for a block other than dense or dropout, a layer wider than the int8
/// product holds exactly, a bad percentile, or no rows; [`Error::InvalidData`] for a short or
/// non-finite calibration matrix or non-finite weights.
pub fn quantize_network(
    net: &Network,
    input: &[f32],
    rows: usize,
    calibration: Calibration,
) -> Result<Int8Network> {
    calibration.check()?;
    Int8Network::check_supported(net)?;
    let nin = net.inputs();
    if rows == 0 {
        return Err(Error::config(
            "calibration data",
            "int8 calibration needs at least one row",
        ));
    }
    if rows.checked_mul(nin) != Some(input.len()) {
        return Err(Error::shape(
            "quantize",
            format!("{rows} rows x {nin} inputs"),
            format!("{} values", input.len()),
        ));
    }
    if let Some(i) = input.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidData(format!(
            "calibration row {}, feature {}: value is {}; inputs must be finite",
            i / nin.max(1),
            i % nin.max(1),
            input[i]
        )));
    }
    let layers = net.layers();
    let keep = matches!(calibration, Calibration::Percentile { percentile } if percentile < 100.0);
    let mut stats: Vec<Option<Stats>> = layers
        .iter()
        .map(|l| matches!(l, Layer::Dense(_)).then(|| Stats::new(rows * l.in_features())))
        .collect();
    let mut work = Vec::new();
    for block in input.chunks(BLOCK * nin.max(1)) {
        let b = block.len() / nin.max(1);
        let mut x = block.to_vec();
        for (i, layer) in layers.iter().enumerate() {
            if let Some(s) = stats[i].as_mut() {
                s.observe(&x, keep);
            }
            let mut y = vec![0.0f32; b * layer.out_features()];
            work.resize(layer.infer_len(b).max(work.len()), 0.0);
            let range = net.layer_range(i).unwrap_or(0..0);
            layer.forward_eval(&net.params()[range], &x, b, &mut y, &mut work);
            x = y;
        }
    }
    let mut dense = Vec::new();
    for (i, (layer, s)) in layers.iter().zip(stats).enumerate() {
        let (Layer::Dense(d), Some(s)) = (layer, s) else {
            continue;
        };
        let input_q = s
            .range(calibration)
            .map_err(|e| Error::InvalidData(format!("layers.{i} input: {e}")))?;
        let params = &net.params()[net.layer_range(i).unwrap_or(0..0)];
        let nw = d.out_features * d.in_features;
        let w = &params[..nw];
        if let Some(bad) = w.iter().position(|x| !x.is_finite()) {
            return Err(Error::InvalidData(format!(
                "layers.{i}.weight entry {bad} is {}; cannot quantize a non-finite weight",
                w[bad]
            )));
        }
        let (q, scales) = quantize_weights(w, d.out_features, d.in_features);
        let bias = if d.bias {
            params[nw..nw + d.out_features].to_vec()
        } else {
            vec![0.0; d.out_features]
        };
        dense.push(QuantDense::new(i, d, q, scales, bias, input_q)?);
    }
    Int8Network::new(net, dense, calibration, rows)
}
