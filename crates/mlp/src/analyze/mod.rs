//! Looking inside a trained network:
//!
//! - [`spectral`], [`powerlaw`]: heavy-tailed spectral diagnostics of every weight matrix (HTSR
//!   alpha, alpha-hat, SETOL's detX/ERG condition, Marchenko-Pastur spikes); no data needed.
//! - [`compare`]: two networks' hidden layers on the same inputs (linear CKA, neuron
//!   correlations, one-to-one and semi-matching).
//! - [`ipr`]: the Fourier inverse participation ratio of first-layer neurons (memorizing vs
//!   generalizing neurons on modular arithmetic).
//! - [`importance`]: permutation and gradient importance of each input column.

pub mod compare;
pub mod importance;
pub mod ipr;
pub mod powerlaw;
pub mod spectral;

use crate::layers::ParamKind;
use crate::network::Network;
use crate::{Error, Result};
pub use spectral::{LayerSpectrum, WeightMatrix};

/// Every weight matrix of a network (every two-dimensional tensor of kind weight or frozen,
/// whatever block holds it), in buffer order, as `f64`.
pub fn weight_matrices(net: &Network) -> Vec<WeightMatrix> {
    net.tensors()
        .iter()
        .filter(|t| t.kind != ParamKind::Bias && t.shape.len() == 2)
        .map(|t| WeightMatrix {
            name: t.name.clone(),
            rows: t.shape[0],
            cols: t.shape[1],
            data: net.params()[t.range.clone()]
                .iter()
                .map(|&v| f64::from(v))
                .collect(),
        })
        .collect()
}

/// The spectral diagnostics of every weight matrix of `net`.
///
/// # Errors
/// A network without weight matrices, or a matrix with a non-finite entry.
pub fn spectra(net: &Network) -> Result<Vec<LayerSpectrum>> {
    let mats = weight_matrices(net);
    if mats.is_empty() {
        return Err(Error::InvalidData(
            "the model has no weight matrices to analyze".into(),
        ));
    }
    mats.iter().map(spectral::analyze_matrix).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ModelSpec;

    #[test]
    fn every_dense_weight_is_analyzed_with_its_shape() {
        let net = ModelSpec::mlp(20, &[16, 8], 3, crate::Activation::Relu, 0.0)
            .build(1)
            .expect("net");
        let s = spectra(&net).expect("spectra");
        let shapes: Vec<_> = s.iter().map(|l| (l.name.as_str(), l.shape)).collect();
        assert_eq!(
            shapes,
            [
                ("layers.0.weight", [16, 20]),
                ("layers.1.weight", [8, 16]),
                ("layers.2.weight", [3, 8])
            ]
        );
        assert!(s[0].alpha.is_some() && s[0].num_evals == 16);
    }
}
