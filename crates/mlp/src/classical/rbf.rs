//! Fitting an RBF network: the first block of the network is an [`crate::layers::Rbf`] layer
//! and the second a linear dense layer. Centres by k-means (k-means++ seeding, seeded; Lloyd
//! iterations until no row changes centre, at most [`KMEANS_ITERS`]); each width is the distance
//! to the nearest other centre (P-nearest-neighbour heuristic with P = 1; the mean of those for a
//! centre that sits on another); output weights and bias by ridge least squares on the basis
//! outputs, `w = (Phi^T Phi / n + lambda I)^-1 Phi^T T / n` (bias not penalized), `T` the
//! one-hot classes or the encoded values. For classification the outputs are the least-squares
//! class scores, used as logits (argmax is the prediction).

use super::{cholesky_solve, dist2, target_matrix};
use crate::data::Dataset;
use crate::layers::Layer;
use crate::network::Network;
use crate::rng::Rng;
use crate::{Error, Result};

/// Most Lloyd iterations.
pub const KMEANS_ITERS: usize = 100;

/// Rows k-means sees at most (evenly spaced), bounding its cost on large sets.
pub const KMEANS_ROWS: usize = 20_000;

/// k-means with k-means++ seeding on `rows` (`n x d`): returns `k x d` centres.
pub fn kmeans(x: &[f32], d: usize, k: usize, seed: u64) -> Result<Vec<f32>> {
    let n = x.len() / d.max(1);
    if k == 0 || n < k {
        return Err(Error::InvalidData(format!(
            "k-means needs at least as many rows as centres: {n} rows for {k} centres"
        )));
    }
    let mut rng = Rng::seed_from(seed ^ 0x4B4D_4541_4E53);
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let mut centres: Vec<f32> = Vec::with_capacity(k * d);
    centres.extend_from_slice(row(rng.below(n)));
    let mut near: Vec<f64> = (0..n).map(|i| dist2(row(i), &centres[..d])).collect();
    for _ in 1..k {
        let total: f64 = near.iter().sum();
        let pick = if total > 0.0 {
            let mut u = rng.uniform_f64() * total;
            let mut chosen = n - 1;
            for (i, &w) in near.iter().enumerate() {
                if u < w {
                    chosen = i;
                    break;
                }
                u -= w;
            }
            chosen
        } else {
            rng.below(n)
        };
        let c = row(pick).to_vec();
        for (i, v) in near.iter_mut().enumerate() {
            *v = v.min(dist2(row(i), &c));
        }
        centres.extend_from_slice(&c);
    }
    let mut assign = vec![usize::MAX; n];
    for _ in 0..KMEANS_ITERS {
        let mut changed = false;
        for (i, a) in assign.iter_mut().enumerate() {
            let mut best = (f64::INFINITY, 0);
            for j in 0..k {
                let v = dist2(row(i), &centres[j * d..(j + 1) * d]);
                if v < best.0 {
                    best = (v, j);
                }
            }
            if *a != best.1 {
                *a = best.1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![0.0f64; k * d];
        let mut counts = vec![0usize; k];
        for (i, &a) in assign.iter().enumerate() {
            counts[a] += 1;
            for (s, &v) in sums[a * d..(a + 1) * d].iter_mut().zip(row(i)) {
                *s += v as f64;
            }
        }
        for j in 0..k {
            // An emptied centre keeps its place (it still covers part of the space).
            if counts[j] > 0 {
                for c in 0..d {
                    centres[j * d + c] = (sums[j * d + c] / counts[j] as f64) as f32;
                }
            }
        }
    }
    Ok(centres)
}

/// Widths from the nearest other centre.
pub fn widths(centres: &[f32], d: usize) -> Vec<f32> {
    let k = centres.len() / d.max(1);
    let mut w: Vec<f64> = (0..k)
        .map(|j| {
            (0..k)
                .filter(|&o| o != j)
                .map(|o| dist2(&centres[j * d..(j + 1) * d], &centres[o * d..(o + 1) * d]))
                .fold(f64::INFINITY, f64::min)
                .sqrt()
        })
        .collect();
    let good: Vec<f64> = w
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 1e-6)
        .collect();
    let fallback = if good.is_empty() {
        (d as f64).sqrt().max(1.0)
    } else {
        good.iter().sum::<f64>() / good.len() as f64
    };
    for v in w.iter_mut() {
        if !(v.is_finite() && *v > 1e-6) {
            *v = fallback;
        }
    }
    w.into_iter().map(|v| v as f32).collect()
}

/// Ridge least squares of `t` (`n x m`) on `phi` (`n x k`) plus a bias column; returns the
/// `m x k` weights (row-major, as a dense layer stores them) and the `m` biases.
pub fn ridge(
    phi: &[f64],
    k: usize,
    t: &[f64],
    m: usize,
    lambda: f64,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let n = t.len() / m.max(1);
    let kk = k + 1;
    let mut a = vec![0.0f64; kk * kk];
    let mut b = vec![0.0f64; kk * m];
    let mut z = vec![0.0f64; kk];
    for i in 0..n {
        z[..k].copy_from_slice(&phi[i * k..(i + 1) * k]);
        z[k] = 1.0;
        for p in 0..kk {
            let zp = z[p];
            if zp == 0.0 {
                continue;
            }
            for q in 0..kk {
                a[p * kk + q] += zp * z[q];
            }
            for c in 0..m {
                b[p * m + c] += zp * t[i * m + c];
            }
        }
    }
    let inv_n = 1.0 / n.max(1) as f64;
    a.iter_mut().for_each(|v| *v *= inv_n);
    b.iter_mut().for_each(|v| *v *= inv_n);
    for p in 0..k {
        a[p * kk + p] += lambda;
    }
    // A whisper on the bias too, so a constant basis column cannot make the system singular.
    a[k * kk + k] += 1e-12;
    cholesky_solve(&mut a, &mut b, kk, m)?;
    let mut w = vec![0.0f32; m * k];
    for c in 0..m {
        for p in 0..k {
            w[c * k + p] = b[p * m + c] as f32;
        }
    }
    let bias = (0..m).map(|c| b[k * m + c] as f32).collect();
    Ok((w, bias))
}

/// Fits the RBF network `net` (`rbf` block first, then a linear `dense` layer) on `data`
/// (standardized features): centres, widths, and the ridge-solved output layer.
pub fn fit(net: &mut Network, data: &Dataset, lambda: f64, seed: u64) -> Result<()> {
    let layers = net.layers();
    let (k, d) = match layers.first() {
        Some(Layer::Rbf(r)) => (r.centers, r.in_features),
        _ => {
            return Err(Error::config(
                "arch",
                "an RBF network starts with an rbf layer",
            ));
        }
    };
    match layers.get(1) {
        Some(Layer::Dense(dense))
            if layers.len() == 2
                && dense.activation == crate::Activation::Identity
                && dense.bias =>
        {
            if dense.in_features != k {
                return Err(Error::config(
                    "arch",
                    "the output layer must read the rbf layer",
                ));
            }
        }
        _ => {
            return Err(Error::config(
                "arch",
                "an RBF network is an rbf layer followed by one linear dense layer with bias",
            ));
        }
    }
    let n = data.len();
    if n < k {
        return Err(Error::config(
            "centers",
            format!("{k} centres need at least {k} training rows, got {n}"),
        ));
    }
    if matches!(data.targets, crate::data::Targets::MultiLabel { .. }) {
        return Err(Error::config(
            "arch",
            "rbf serves classification and regression targets, not multi-label",
        ));
    }
    let (t, m) = target_matrix(&data.targets);
    if m != net.outputs() {
        return Err(Error::config(
            "arch",
            format!(
                "an RBF network needs one output per class or target ({m}), not {} (use the default loss)",
                net.outputs()
            ),
        ));
    }
    let x = &data.features;
    let step = n.div_ceil(KMEANS_ROWS);
    let sample: Vec<f32> = if step > 1 {
        (0..n)
            .step_by(step)
            .flat_map(|i| x[i * d..(i + 1) * d].iter().copied())
            .collect()
    } else {
        x.clone()
    };
    let centres = kmeans(&sample, d, k, seed)?;
    let w = widths(&centres, d);
    let r0 = net.layer_range(0).unwrap_or_default();
    {
        let p = &mut net.params_mut()[r0.clone()];
        p[..k * d].copy_from_slice(&centres);
        p[k * d..].copy_from_slice(&w);
    }
    // Basis outputs of every training row, through the layer itself.
    let phi32 = net.layer_inputs(1, x, n);
    let phi: Vec<f64> = phi32.iter().map(|&v| v as f64).collect();
    let (wo, bo) = ridge(&phi, k, &t, m, lambda)?;
    let r1 = net.layer_range(1).unwrap_or_default();
    let p = &mut net.params_mut()[r1];
    p[..m * k].copy_from_slice(&wo);
    p[m * k..].copy_from_slice(&bo);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmeans_finds_separated_clusters() {
        let mut x = Vec::new();
        let mut rng = Rng::seed_from(1);
        for i in 0..90 {
            let c = (i % 3) as f32 * 10.0;
            x.push(c + rng.normal() * 0.1);
            x.push(-c + rng.normal() * 0.1);
        }
        let mut c = kmeans(&x, 2, 3, 7).expect("kmeans");
        let mut firsts: Vec<i32> = c.chunks(2).map(|p| p[0].round() as i32).collect();
        firsts.sort();
        assert_eq!(firsts, vec![0, 10, 20]);
        // Same seed, same centres.
        assert_eq!(kmeans(&x, 2, 3, 7).expect("again"), c);
        c.truncate(0);
    }

    #[test]
    fn centres_on_the_training_points_interpolate() {
        // Centres = the training rows, no ridge: the RBF network reproduces the targets.
        let x = [0.0f64, 0.7, 1.5, 2.1, 3.0];
        let y: Vec<f64> = x.iter().map(|v| (v * 1.3).sin()).collect();
        let s = 0.8f64;
        let k = x.len();
        let phi: Vec<f64> = (0..k)
            .flat_map(|i| (0..k).map(move |j| (-(x[i] - x[j]).powi(2) / (2.0 * s * s)).exp()))
            .collect();
        // Least squares with the bias: k + 1 unknowns for k points, so fix it with the
        // smallest ridge the solver accepts and check the residual.
        let (w, b) = ridge(&phi, k, &y, 1, 1e-12).expect("ridge");
        for i in 0..k {
            let p: f64 = (0..k).map(|j| w[j] as f64 * phi[i * k + j]).sum::<f64>() + b[0] as f64;
            assert!((p - y[i]).abs() < 1e-3, "{p} vs {}", y[i]);
        }
    }
}
