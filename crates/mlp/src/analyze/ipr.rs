//! Fourier inverse participation ratio (IPR) of neurons' input weights: the memorization probe
//! of "To grok or not to grok" (Doshi et al. 2023).
//!
//! A first-layer neuron of a modular-arithmetic network reads `one-hot(a) (+) one-hot(b)`, so
//! its input-weight row is `segments` blocks of `p` weights, one per operand. Each block's
//! one-sided discrete Fourier spectrum (frequencies `0..=p/2`) is taken, the blocks' spectra
//! are concatenated into `w_hat`, and `IPR = sum |w_hat_k|^(2r) / (sum |w_hat_k|^2)^r` with
//! `r = 2`. A generalizing neuron is periodic in each operand at one frequency and has a high
//! IPR (`1/segments` for a pure sinusoid); a memorizing neuron's spectrum is spread out and its
//! IPR is of order `1/p`.

use crate::layers::Layer;
use crate::model::Model;
use crate::{Error, Result};

/// The exponent `r` of the IPR.
pub const IPR_POWER: i32 = 2;

/// The one-sided DFT power `|X_k|^2`, `k = 0..=n/2`, of a real block (direct `O(n^2)`: the
/// blocks are one operand's classes, at most a few hundred).
fn power_spectrum(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..=n / 2)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (t, &v) in x.iter().enumerate() {
                // (k t) mod n keeps the angle small, so the phase is exact for large k t.
                let angle = -2.0 * std::f64::consts::PI * ((k * t) % n) as f64 / n as f64;
                re += v * angle.cos();
                im += v * angle.sin();
            }
            re * re + im * im
        })
        .collect()
}

/// The Fourier IPR of one weight row split into blocks of `period` weights (`period` must
/// divide the row's length; a row of zeros has IPR 0).
///
/// # Errors
/// A period of 0 or one that does not divide the row.
pub fn fourier_ipr(row: &[f64], period: usize) -> Result<f64> {
    if period == 0 || row.is_empty() || !row.len().is_multiple_of(period) {
        return Err(Error::config(
            "period",
            format!(
                "must divide the input width {} (e.g. p for one-hot operands of Z_p), got {period}",
                row.len()
            ),
        ));
    }
    let power: Vec<f64> = row.chunks(period).flat_map(power_spectrum).collect();
    let total: f64 = power.iter().sum();
    if total <= 0.0 {
        return Ok(0.0);
    }
    Ok(power.iter().map(|p| p.powi(IPR_POWER)).sum::<f64>() / total.powi(IPR_POWER))
}

/// Per-neuron IPRs of a model's first dense layer (its `out x in` weight rows), with that
/// layer's index.
///
/// # Errors
/// A model whose first layer is not dense, or a period that does not divide its input width.
pub fn first_layer_ipr(model: &Model, period: usize) -> Result<(usize, Vec<f64>)> {
    let net = model.network();
    let Some(Layer::Dense(d)) = net.layers().first() else {
        return Err(Error::config(
            "ipr",
            "the Fourier IPR reads the first layer's weights; this model's first layer is not dense",
        ));
    };
    let range = net.layer_range(0).unwrap_or(0..0);
    let w = &net.params()[range];
    let k = d.in_features;
    let iprs = (0..d.out_features)
        .map(|j| {
            let row: Vec<f64> = w[j * k..(j + 1) * k]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            fourier_ipr(&row, period)
        })
        .collect::<Result<Vec<f64>>>()?;
    Ok((0, iprs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn a_pure_sinusoid_has_high_ipr_and_noise_low() {
        let p = 97;
        for k in [1, 5, 30] {
            let row: Vec<f64> = (0..2 * p)
                .map(|t| (2.0 * std::f64::consts::PI * (k * (t % p)) as f64 / p as f64).cos())
                .collect();
            let ipr = fourier_ipr(&row, p).expect("ipr");
            // All power at frequency k in each of the two blocks: IPR 1/2.
            assert!((ipr - 0.5).abs() < 1e-9, "k {k}: {ipr}");
        }
        let mut rng = Rng::seed_from(3);
        let noise: Vec<f64> = (0..2 * p).map(|_| f64::from(rng.normal())).collect();
        let ipr = fourier_ipr(&noise, p).expect("ipr");
        assert!(ipr < 5.0 / p as f64, "{ipr}");
        assert!(ipr > 0.2 / p as f64, "{ipr}");
    }

    #[test]
    fn one_block_sinusoid_and_bad_periods() {
        let row: Vec<f64> = (0..12)
            .map(|t| (2.0 * std::f64::consts::PI * 2.0 * t as f64 / 12.0).sin())
            .collect();
        assert!((fourier_ipr(&row, 12).expect("ipr") - 1.0).abs() < 1e-9);
        assert_eq!(fourier_ipr(&[0.0; 12], 12).expect("zeros"), 0.0);
        assert!(fourier_ipr(&row, 5).is_err());
        assert!(fourier_ipr(&row, 0).is_err());
    }
}
