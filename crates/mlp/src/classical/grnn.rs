//! Fitting a GRNN ([`crate::layers::Grnn`]): store the standardized training rows and their
//! targets, and choose the bandwidth by leave-one-out error over a grid.
//!
//! The grid is `sigma_0 * 2^(k/4)`, `k = -8..=12` (a quarter to eight times `sigma_0`, the median
//! distance from a row to its nearest other row). The leave-one-out prediction of row `i` is the
//! kernel average over every other row; the error is the misclassification count (ties broken by
//! the Brier score) for classes, the mean squared error for values. At most [`LOO_QUERIES`] rows
//! (evenly spaced) are left out in turn, which bounds the cost on large sets.

use super::{dist2, target_matrix};
use crate::data::{Dataset, Targets};
use crate::network::Network;
use crate::spec::{LayerSpec, ModelSpec};
use crate::{Error, Result};

/// Most rows left out in turn when scoring a bandwidth.
pub const LOO_QUERIES: usize = 1000;

/// A fitted GRNN and how its bandwidth was chosen.
#[derive(Debug, Clone)]
pub struct GrnnFit {
    /// The network: one `grnn` block.
    pub network: Network,
    /// The chosen bandwidth.
    pub sigma: f64,
    /// `(sigma, leave-one-out error)` over the grid.
    pub scores: Vec<(f64, f64)>,
}

/// Fits a GRNN on `data` (features already standardized). Classification stores one-hot
/// targets and outputs log-probabilities.
pub fn fit(data: &Dataset, seed: u64) -> Result<GrnnFit> {
    let n = data.len();
    let d = data.n_features;
    if n < 2 {
        return Err(Error::InvalidData(
            "a grnn needs at least 2 training rows (leave-one-out bandwidth)".into(),
        ));
    }
    let classify = matches!(data.targets, Targets::Classes { .. });
    if matches!(data.targets, Targets::MultiLabel { .. }) {
        return Err(Error::config(
            "arch",
            "grnn serves classification and regression targets, not multi-label",
        ));
    }
    let (t, m) = target_matrix(&data.targets);
    let x = &data.features;
    let q = n.min(LOO_QUERIES);
    let queries: Vec<usize> = (0..q).map(|i| i * n / q).collect();
    // Squared distances from each left-out row to every row (f32 to bound memory).
    let mut d2 = vec![0.0f32; q * n];
    let mut nearest = Vec::with_capacity(q);
    for (a, &i) in queries.iter().enumerate() {
        let xi = &x[i * d..(i + 1) * d];
        let mut best = f64::INFINITY;
        for j in 0..n {
            let v = dist2(xi, &x[j * d..(j + 1) * d]);
            d2[a * n + j] = v as f32;
            if j != i && v < best {
                best = v;
            }
        }
        nearest.push(best.sqrt());
    }
    nearest.sort_by(f64::total_cmp);
    let mut sigma0 = nearest[nearest.len() / 2];
    if sigma0.is_nan() || sigma0 <= 1e-6 {
        // Many duplicate rows: fall back to the spread of the data.
        sigma0 = (d as f64).sqrt().max(1e-3);
    }
    let mut scores = Vec::new();
    let mut best: Option<(f64, f64, f64)> = None;
    let mut pred = vec![0.0f64; m];
    for k in -8i32..=12 {
        let sigma = sigma0 * 2f64.powf(k as f64 / 4.0);
        let scale = -0.5 / (sigma * sigma);
        let (mut primary, mut secondary) = (0.0f64, 0.0f64);
        for (a, &i) in queries.iter().enumerate() {
            let row = &d2[a * n..(a + 1) * n];
            let mut dmin = f32::INFINITY;
            for (j, &v) in row.iter().enumerate() {
                if j != i && v < dmin {
                    dmin = v;
                }
            }
            pred.iter_mut().for_each(|p| *p = 0.0);
            let mut total = 0.0;
            for (j, &v) in row.iter().enumerate() {
                if j == i {
                    continue;
                }
                let w = ((v - dmin) as f64 * scale).exp();
                if w < 1e-300 {
                    continue;
                }
                total += w;
                for (p, &tj) in pred.iter_mut().zip(&t[j * m..(j + 1) * m]) {
                    *p += w * tj;
                }
            }
            let ti = &t[i * m..(i + 1) * m];
            let sq: f64 = pred
                .iter()
                .zip(ti)
                .map(|(p, y)| (p / total - y).powi(2))
                .sum();
            if classify {
                let guess = argmax(&pred);
                primary += f64::from(ti[guess] < 0.5);
                secondary += sq;
            } else {
                primary += sq;
            }
        }
        let err = primary / q as f64;
        scores.push((sigma, err));
        let key = (err, secondary);
        if best.is_none_or(|(_, e, s)| key.0 < e || (key.0 == e && key.1 < s)) {
            best = Some((sigma, key.0, key.1));
        }
    }
    let sigma = best.map_or(sigma0, |b| b.0);
    let spec = ModelSpec {
        inputs: d,
        layers: vec![LayerSpec::Grnn {
            samples: n,
            outputs: m,
            log_output: classify,
        }],
    };
    let mut network = spec.build(seed)?;
    let params = network.params_mut();
    params[..n * d].copy_from_slice(x);
    for (p, &v) in params[n * d..n * (d + m)].iter_mut().zip(&t) {
        *p = v as f32;
    }
    params[n * (d + m)] = sigma as f32;
    Ok(GrnnFit {
        network,
        sigma,
        scores,
    })
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (j, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = j;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_bandwidth_reproduces_the_training_targets() {
        let x: Vec<f32> = (0..20).map(|i| (i as f32 * 0.37).sin()).collect();
        let y: Vec<f32> = x.iter().map(|v| v * v - 0.3).collect();
        let data = Dataset::new(
            x.clone(),
            1,
            Targets::Values {
                values: y.clone(),
                n_outputs: 1,
            },
        )
        .expect("data");
        let mut fit = fit(&data, 0).expect("fit");
        // Overwrite sigma with a tiny one: each training row gets its own target back.
        let n = fit.network.params().len();
        fit.network.params_mut()[n - 1] = 1e-4;
        let pred = fit.network.predict(&x, 20);
        for (p, t) in pred.iter().zip(&y) {
            assert!((p - t).abs() < 1e-5, "{p} vs {t}");
        }
    }

    #[test]
    fn classifies_two_blobs_with_a_loo_bandwidth() {
        let mut rng = crate::rng::Rng::seed_from(3);
        let mut x = Vec::new();
        let mut labels = Vec::new();
        for i in 0..60 {
            let c = i % 2;
            x.push(rng.normal() * 0.5 + if c == 0 { -1.5 } else { 1.5 });
            x.push(rng.normal() * 0.5);
            labels.push(c);
        }
        let data = Dataset::new(
            x.clone(),
            2,
            Targets::Classes {
                labels: labels.clone(),
                n_classes: 2,
            },
        )
        .expect("data");
        let fit = fit(&data, 0).expect("fit");
        assert!(fit.sigma > 0.0 && fit.scores.len() == 21);
        let out = fit.network.predict(&x, 60);
        let correct = (0..60)
            .filter(|&i| usize::from(out[2 * i + 1] > out[2 * i]) == labels[i])
            .count();
        assert!(correct >= 57, "{correct}/60");
        // Log-probabilities: their exponentials sum to one.
        let s: f32 = out[..2].iter().map(|v| v.exp()).sum();
        assert!((s - 1.0).abs() < 1e-4, "{s}");
    }
}
