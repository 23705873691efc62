//! From a trained [`Model`]'s raw input units to the network's input space (and back), for the
//! attacks of [`crate::robust`]: which features are never perturbed, and the perturbation space
//! for an `eps` in either unit.
//!
//! This glue lives on the model side so that `robust` depends only on the network (the trainer's
//! adversarial training uses `robust`, and the model uses the trainer: no
//! `model -> train -> robust -> model` cycle).

use super::{InputSchema, Model};
use crate::data::preprocess::FeatureColumn;
use crate::robust::{EpsUnits, PerturbSpace};
use crate::{Error, Result};

impl Model {
    /// Encoded features that an attack never perturbs: the one-hot blocks of categorical CSV
    /// columns.
    pub fn frozen_features(&self) -> Vec<usize> {
        match &self.input {
            InputSchema::Tabular { preprocessor } => {
                let mut out = Vec::new();
                let mut offset = 0;
                for c in &preprocessor.columns {
                    let w = c.width();
                    if matches!(c, FeatureColumn::Categorical { .. }) {
                        out.extend(offset..offset + w);
                    }
                    offset += w;
                }
                out
            }
            InputSchema::Matrix { .. } => Vec::new(),
        }
    }

    /// The perturbation space of this model's network inputs: `eps` in `units`, one-hot
    /// features frozen, and, with `clip = (low, high)` given in raw units (e.g. `(0, 1)` for
    /// pixels), every free feature bounded to that range mapped through the model's scaler.
    pub fn perturb_space(&self, units: EpsUnits, clip: Option<(f32, f32)>) -> Result<PerturbSpace> {
        let n = self.n_features();
        let scaler = &self.scaler;
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
        Ok(space.freeze(&self.frozen_features()))
    }

    /// Maps raw (encoded, unscaled) features, e.g. from [`Model::encode_table`], to the
    /// network's input units in place: `(x - mean) / scale`, what the model applies before its
    /// network. The inverse of [`Model::to_raw_units`].
    pub fn to_network_units(&self, features: &mut [f32]) {
        self.scaler.apply(features);
    }

    /// Maps network-unit features (`rows x n_features`, e.g. adversarial inputs) back to the
    /// model's raw (encoded, unscaled) units in place.
    pub fn to_raw_units(&self, features: &mut [f32]) {
        let n = self.n_features();
        if n == 0 {
            return;
        }
        for row in features.chunks_exact_mut(n) {
            for ((x, &m), &s) in row
                .iter_mut()
                .zip(&self.scaler.mean)
                .zip(&self.scaler.scale)
            {
                *x = *x * s + m;
            }
        }
    }
}
