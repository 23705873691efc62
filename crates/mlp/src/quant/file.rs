//! The int8 section of a model file.
//!
//! A quantized model file is a model file (see [`crate::model`]) where, for every dense layer `i`:
//! - `layers.{i}.weight` (f32) is replaced by `layers.{i}.weight_q` (I8, `out x in`, values in
//!   `-127..=127`) and `layers.{i}.weight_scale` (F32, `out`): `weight ~ weight_q * scale`;
//! - `layers.{i}.input_quant` (F32, `[scale, zero_point]`) quantizes the layer's input;
//! - `layers.{i}.bias` stays f32;
//!
//! and the metadata holds `quantization`: JSON `{"precision": "int8", "version": 1,
//! "calibration": {...}, "calibration_rows": N}`. Loading rebuilds the f32 weights from the int8
//! ones (the network's f32 twin) and attaches the int8 network that predictions run.

use super::int8::{Int8Network, QuantDense};
use super::{ActQuant, Calibration};
use crate::io::TensorFile;
use crate::layers::Layer;
use crate::network::Network;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::Path;

/// The metadata key of the int8 section.
pub(crate) const KEY: &str = "quantization";

/// The int8 section's version this build reads and writes.
const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    precision: String,
    version: u32,
    calibration: Calibration,
    calibration_rows: usize,
}

/// Adds the int8 section of `q` to `file` (which holds the model's f32 tensors): the dense
/// weights become int8 tensors with their scales.
pub(crate) fn write(q: &Int8Network, file: &mut TensorFile) -> Result<()> {
    for l in q.layers() {
        let i = l.layer();
        let (k, out) = l.shape();
        file.take(&format!("layers.{i}.weight"));
        file.int8.push((
            format!("layers.{i}.weight_q"),
            vec![out, k],
            l.weight_q().to_vec(),
        ));
        file.push(
            format!("layers.{i}.weight_scale"),
            vec![out],
            l.weight_scale().to_vec(),
        );
        let a = l.input();
        file.push(
            format!("layers.{i}.input_quant"),
            vec![2],
            vec![a.scale, f32::from(a.zero_point)],
        );
    }
    let header = Header {
        precision: "int8".into(),
        version: VERSION,
        calibration: q.calibration(),
        calibration_rows: q.calibration_rows(),
    };
    let json = serde_json::to_string(&header)
        .map_err(|e| Error::InvalidData(format!("cannot encode the int8 section: {e}")))?;
    file.metadata.insert(KEY.into(), json);
    Ok(())
}

fn header(file: &TensorFile, path: &Path) -> Result<Option<Header>> {
    let bad = |msg: String| Error::format(path, msg);
    let Some(json) = file.metadata.get(KEY) else {
        if let Some((name, _, _)) = file.int8.first() {
            return Err(bad(format!(
                "int8 tensor '{name}' but no '{KEY}' metadata: not an int8 model file"
            )));
        }
        return Ok(None);
    };
    let h: Header =
        serde_json::from_str(json).map_err(|e| bad(format!("corrupt '{KEY}' metadata: {e}")))?;
    if h.precision != "int8" {
        return Err(bad(format!(
            "quantized with precision '{}'; this mlp reads int8",
            h.precision
        )));
    }
    if h.version > VERSION {
        return Err(bad(format!(
            "int8 section version {} is newer than this mlp understands ({VERSION}); upgrade mlp",
            h.version
        )));
    }
    Ok(Some(h))
}

/// The checked shape `[out, in]` and element count of a 2-d tensor.
fn matrix(shape: &[usize], len: usize) -> Option<(usize, usize)> {
    match *shape {
        [out, k] if out.checked_mul(k) == Some(len) => Some((out, k)),
        _ => None,
    }
}

/// `file` with f32 `layers.{i}.weight` tensors rebuilt from the int8 ones (borrowed unchanged
/// for an f32 model file), so the rest of loading sees an ordinary model file.
///
/// # Errors
/// [`Error::Format`] naming the file for a corrupt section: an int8 tensor without its scales,
/// a shape that disagrees with its data or scales, an unknown int8 tensor, or both an f32 and an
/// int8 version of one weight.
pub(crate) fn with_f32_weights<'a>(
    file: &'a TensorFile,
    path: &Path,
) -> Result<Cow<'a, TensorFile>> {
    if header(file, path)?.is_none() {
        return Ok(Cow::Borrowed(file));
    }
    let bad = |msg: String| Error::format(path, msg);
    let mut out = file.clone();
    for (name, shape, q) in &file.int8 {
        let base = name
            .strip_suffix(".weight_q")
            .filter(|b| b.starts_with("layers."))
            .ok_or_else(|| bad(format!("unexpected int8 tensor '{name}'")))?;
        let (rows, k) = matrix(shape, q.len()).ok_or_else(|| {
            bad(format!(
                "int8 tensor '{name}' has shape {shape:?} for {} values; expected [out, in]",
                q.len()
            ))
        })?;
        let scale_name = format!("{base}.weight_scale");
        let (s_shape, scales) = file
            .get(&scale_name)
            .ok_or_else(|| bad(format!("int8 tensor '{name}' has no '{scale_name}'")))?;
        if s_shape != [rows] || scales.len() != rows {
            return Err(bad(format!(
                "'{scale_name}' has shape {s_shape:?}; '{name}' needs [{rows}]"
            )));
        }
        let weight = format!("{base}.weight");
        if file.get(&weight).is_some() {
            return Err(bad(format!(
                "'{weight}' is stored both as f32 and as int8 ('{name}')"
            )));
        }
        let mut w = Vec::with_capacity(q.len());
        for (row, &s) in q.chunks_exact(k.max(1)).zip(scales) {
            w.extend(row.iter().map(|&v| f32::from(v) * s));
        }
        w.resize(q.len(), 0.0);
        out.push(weight, shape.clone(), w);
    }
    Ok(Cow::Owned(out))
}

/// Attaches the int8 network described by `file` to `network` (built from the same file, with
/// the weights [`with_f32_weights`] rebuilt); nothing for an f32 model file.
///
/// # Errors
/// [`Error::Format`] naming the file: a block other than dense or dropout, a dense layer without
/// its int8 tensors, a bad scale or zero point.
pub(crate) fn attach(network: &mut Network, file: &TensorFile, path: &Path) -> Result<()> {
    let Some(h) = header(file, path)? else {
        return Ok(());
    };
    let bad = |msg: String| Error::format(path, format!("int8 section: {msg}"));
    Int8Network::check_supported(network).map_err(|e| bad(e.to_string()))?;
    let mut dense = Vec::new();
    for (i, layer) in network.layers().iter().enumerate() {
        let Layer::Dense(d) = layer else {
            continue;
        };
        let name = format!("layers.{i}.weight_q");
        let (shape, q) = file
            .get_i8(&name)
            .ok_or_else(|| bad(format!("dense layer {i} has no int8 tensor '{name}'")))?;
        if shape != [d.out_features, d.in_features] {
            return Err(bad(format!(
                "'{name}' has shape {shape:?}, the layer is {} x {}",
                d.out_features, d.in_features
            )));
        }
        let (_, scales) = file
            .get(&format!("layers.{i}.weight_scale"))
            .ok_or_else(|| bad(format!("no 'layers.{i}.weight_scale'")))?;
        let aq = format!("layers.{i}.input_quant");
        let input = match file.get(&aq) {
            Some(([2], &[scale, zp])) if zp.fract() == 0.0 && (0.0..=255.0).contains(&zp) => {
                ActQuant::new(scale, zp as u8).map_err(|e| bad(format!("'{aq}': {e}")))?
            }
            Some((shape, data)) => {
                return Err(bad(format!(
                    "'{aq}' must be [scale, zero_point] with an integer zero point in 0..=255; got shape {shape:?}, values {data:?}"
                )));
            }
            None => return Err(bad(format!("dense layer {i} has no '{aq}'"))),
        };
        let range = network.layer_range(i).unwrap_or(0..0);
        let params = &network.params()[range];
        let nw = d.out_features * d.in_features;
        let bias = if d.bias {
            params
                .get(nw..nw + d.out_features)
                .map(<[f32]>::to_vec)
                .ok_or_else(|| bad(format!("layer {i} has no bias values")))?
        } else {
            vec![0.0; d.out_features]
        };
        let layer = QuantDense::new(i, d, q.to_vec(), scales.to_vec(), bias, input)
            .map_err(|e| bad(e.to_string()))?;
        dense.push(layer);
    }
    let q = Int8Network::new(network, dense, h.calibration, h.calibration_rows)
        .map_err(|e| bad(e.to_string()))?;
    network.set_int8(Some(q));
    Ok(())
}
