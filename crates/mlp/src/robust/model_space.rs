//! From a trained [`Model`]'s raw input units to the network's input space (and back): which
//! features are never perturbed, and the perturbation space for an `eps` in either unit.

use super::attack::PerturbSpace;
use crate::model::{InputSchema, Model};
use crate::{Error, Result};

/// The units `eps` is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EpsUnits {
    /// The network's input space after the model's preprocessing: standardized units for CSV
    /// numeric features, `[0, 1]` pixels for image models.
    #[default]
    Network,
    /// The encoded but unscaled features (CSV values as written; `[0, 1]` pixels for images,
    /// which are not standardized, so the same as `Network` there).
    Raw,
}

/// Encoded features of a model that are never perturbed: the one-hot blocks of categorical CSV
/// columns.
pub fn frozen_features(model: &Model) -> Vec<usize> {
    match &model.input {
        InputSchema::Tabular { preprocessor } => {
            let mut out = Vec::new();
            let mut offset = 0;
            for c in &preprocessor.columns {
                let w = c.width();
                if matches!(
                    c,
                    crate::data::preprocess::FeatureColumn::Categorical { .. }
                ) {
                    out.extend(offset..offset + w);
                }
                offset += w;
            }
            out
        }
        InputSchema::Matrix { .. } => Vec::new(),
    }
}

/// The perturbation space for a model: `eps` in `units`, one-hot features frozen, and, with
/// `clip = (low, high)` given in raw units (e.g. `(0, 1)` for pixels), every free feature bounded
/// to that range mapped through the model's scaler.
pub fn space_for_model(
    model: &Model,
    units: EpsUnits,
    clip: Option<(f32, f32)>,
) -> Result<PerturbSpace> {
    let n = model.n_features();
    let scaler = &model.scaler;
    if scaler.mean.len() != n || scaler.scale.len() != n {
        return Err(Error::shape("model scaler", n, scaler.mean.len()));
    }
    let mut space = PerturbSpace::unbounded(n);
    if units == EpsUnits::Raw {
        for (r, &s) in space.radius.iter_mut().zip(&scaler.scale) {
            *r = 1.0 / s.abs();
        }
    }
    if let Some((low, high)) = clip {
        if !(low.is_finite() && high.is_finite() && low <= high) {
            return Err(Error::config(
                "clip",
                format!("needs finite LO <= HI, got {low},{high}"),
            ));
        }
        for j in 0..n {
            let a = (low - scaler.mean[j]) / scaler.scale[j];
            let b = (high - scaler.mean[j]) / scaler.scale[j];
            space.lower[j] = a.min(b);
            space.upper[j] = a.max(b);
        }
    }
    Ok(space.freeze(&frozen_features(model)))
}

/// Maps network-unit features back to the model's raw (encoded, unscaled) units in place.
pub fn to_raw_units(model: &Model, features: &mut [f32]) {
    let n = model.n_features();
    if n == 0 {
        return;
    }
    for row in features.chunks_exact_mut(n) {
        for ((x, &m), &s) in row
            .iter_mut()
            .zip(&model.scaler.mean)
            .zip(&model.scaler.scale)
        {
            *x = *x * s + m;
        }
    }
}
