//! Heavy-tailed self-regularization (HTSR) and SETOL diagnostics of one weight matrix.
//!
//! The eigenvalues are those of `X = W^T W` (the squared singular values of `W`), unnormalized
//! as in weightwatcher (its `normalize` option is off by default; a `1/N` factor would not change
//! alpha). The norms follow weightwatcher's names and conventions: `spectral_norm` is
//! `lambda_max = sigma_max^2`, `norm` is `sum lambda = ||W||_F^2`, `stable_rank` is
//! `norm / spectral_norm`, and `alpha_hat` ("alpha weighted") is `alpha * log10(lambda_max)`.

use super::powerlaw::{self, PowerLawFit};
use crate::{Error, Result};

/// Eigenvalues at or below this are dropped before the power-law fit (weightwatcher's
/// `EVALS_THRESH`): numerical zeros of a rank-deficient matrix are not part of any tail.
pub const EVALS_THRESH: f64 = 1e-5;

/// A weight matrix, row-major `rows x cols` (`out x in` for a dense layer).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightMatrix {
    /// The tensor's name in the model file, e.g. `layers.0.weight`.
    pub name: String,
    /// Rows (output width of a dense layer).
    pub rows: usize,
    /// Columns (input width of a dense layer).
    pub cols: usize,
    /// The entries, row-major.
    pub data: Vec<f64>,
}

/// The spectral diagnostics of one weight matrix (the `mlp analyze` JSON entry).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerSpectrum {
    /// Tensor name.
    pub name: String,
    /// `[rows, cols]` (`[out, in]` for a dense layer).
    pub shape: [usize; 2],
    /// Number of eigenvalues, `M = min(rows, cols)`.
    pub num_evals: usize,
    /// Power-law exponent of the ESD tail (`None` when too few eigenvalues to fit).
    pub alpha: Option<f64>,
    /// `alpha * log10(lambda_max)`.
    pub alpha_hat: Option<f64>,
    /// Lower cut-off of the fitted tail.
    pub xmin: Option<f64>,
    /// Kolmogorov-Smirnov distance of the fit.
    pub ks_distance: Option<f64>,
    /// Eigenvalues in the fitted tail.
    pub num_tail: Option<usize>,
    /// Standard error of alpha.
    pub alpha_sigma: Option<f64>,
    /// Largest eigenvalue of `W^T W` (weightwatcher's `spectral_norm`): `sigma_max^2`.
    pub spectral_norm: f64,
    /// `log10(spectral_norm)`.
    pub log_spectral_norm: f64,
    /// `||W||_F^2 = sum lambda` (weightwatcher's `norm`).
    pub norm: f64,
    /// `log10(norm)` (weightwatcher's `log_norm`).
    pub log_norm: f64,
    /// `log10(||W||_F)`.
    pub log_frobenius_norm: f64,
    /// `norm / spectral_norm`.
    pub stable_rank: f64,
    /// Marchenko-Pastur bulk edge `sigma^2 (sqrt(N) + sqrt(M))^2` of a random matrix with this
    /// one's shape and entry variance.
    pub mp_bulk_max: f64,
    /// Eigenvalues above the bulk edge.
    pub num_spikes: usize,
    /// SETOL's ERG condition: size of the largest top set of eigenvalues (rescaled so that they
    /// sum to their count) whose product is still at least 1.
    pub detx_num: usize,
    /// Smallest eigenvalue of that set (original units): where `det X = 1` starts the tail.
    pub detx_lambda_min: f64,
    /// `xmin - detx_lambda_min`: near 0 for an ideal layer.
    pub delta_lambda_min: Option<f64>,
    /// `detx_num - num_tail` (weightwatcher's `ERG_gap`).
    pub erg_gap: Option<i64>,
    /// The eigenvalues, ascending (for plots; not in the JSON).
    #[serde(skip)]
    pub eigenvalues: Vec<f64>,
}

/// Eigenvalues of `W^T W` (equivalently of the smaller Gram matrix), ascending, clamped at 0.
pub fn eigenvalues(w: &WeightMatrix) -> Result<Vec<f64>> {
    let (r, c) = (w.rows, w.cols);
    if r == 0 || c == 0 || w.data.len() != r * c {
        return Err(Error::shape(
            format!("eigenvalues of {}", w.name),
            format!("{r} x {c} = {} entries", r * c),
            w.data.len(),
        ));
    }
    if let Some(i) = w.data.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidData(format!(
            "{}: entry {} ({}, {}) is {}",
            w.name,
            i,
            i / c,
            i % c,
            w.data[i]
        )));
    }
    // The smaller Gram matrix: W W^T (r x r) when r <= c, else W^T W (c x c); both have the
    // nonzero eigenvalues sigma_i^2.
    let m = r.min(c);
    let mut g = nalgebra::DMatrix::<f64>::zeros(m, m);
    if r <= c {
        for i in 0..r {
            let a = &w.data[i * c..(i + 1) * c];
            for j in 0..=i {
                let b = &w.data[j * c..(j + 1) * c];
                let s: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                g[(i, j)] = s;
                g[(j, i)] = s;
            }
        }
    } else {
        for k in 0..r {
            let row = &w.data[k * c..(k + 1) * c];
            for i in 0..c {
                let a = row[i];
                if a == 0.0 {
                    continue;
                }
                for j in 0..=i {
                    g[(i, j)] += a * row[j];
                }
            }
        }
        for i in 0..c {
            for j in 0..i {
                g[(j, i)] = g[(i, j)];
            }
        }
    }
    let mut ev: Vec<f64> = g
        .symmetric_eigenvalues()
        .iter()
        .map(|&v| v.max(0.0))
        .collect();
    ev.sort_by(f64::total_cmp);
    Ok(ev)
}

/// SETOL's detX tail of ascending eigenvalues: rescaled so that they sum to their count, the
/// size of the largest top set whose product is at least 1 (scanning from the largest down),
/// with that set's smallest eigenvalue in original units. `(0, lambda_max)` when even the
/// largest rescaled eigenvalue is below 1 (all equal).
pub fn detx(evals: &[f64]) -> (usize, f64) {
    let n = evals.len();
    let sum: f64 = evals.iter().sum();
    let Some(&top) = evals.last() else {
        return (0, 0.0);
    };
    if sum <= 0.0 {
        return (0, top);
    }
    let scale = n as f64 / sum;
    let mut log_prod = 0.0;
    let mut best = 0;
    for (k, &v) in evals.iter().rev().enumerate() {
        log_prod += (v * scale).ln();
        if log_prod < 0.0 {
            // The partial sums of a decreasing sequence are concave and start at 0: once
            // negative they only fall.
            break;
        }
        best = k + 1;
    }
    let lambda = if best == 0 { top } else { evals[n - best] };
    (best, lambda)
}

/// The diagnostics of one weight matrix.
///
/// # Errors
/// A matrix whose data does not match its shape or holds a non-finite entry.
pub fn analyze_matrix(w: &WeightMatrix) -> Result<LayerSpectrum> {
    let evals = eigenvalues(w)?;
    let (n_big, m) = (w.rows.max(w.cols), w.rows.min(w.cols));
    let lambda_max = evals.last().copied().unwrap_or(0.0);
    let norm: f64 = evals.iter().sum();
    let nz: Vec<f64> = evals
        .iter()
        .copied()
        .filter(|&v| v > EVALS_THRESH)
        .collect();
    let fit: Option<PowerLawFit> = powerlaw::fit(&nz).ok();
    let log10 = |v: f64| {
        if v > 0.0 {
            v.log10()
        } else {
            f64::NEG_INFINITY
        }
    };
    // Entry variance about zero, as a random initialization would have it.
    let variance = norm / (w.rows * w.cols) as f64;
    let mp_bulk_max = variance * ((n_big as f64).sqrt() + (m as f64).sqrt()).powi(2);
    let num_spikes = evals.iter().filter(|&&v| v > mp_bulk_max).count();
    let (detx_num, detx_lambda_min) = detx(&evals);
    Ok(LayerSpectrum {
        name: w.name.clone(),
        shape: [w.rows, w.cols],
        num_evals: m,
        alpha: fit.map(|f| f.alpha),
        alpha_hat: fit.map(|f| f.alpha * log10(lambda_max)),
        xmin: fit.map(|f| f.xmin),
        ks_distance: fit.map(|f| f.ks_distance),
        num_tail: fit.map(|f| f.num_tail),
        alpha_sigma: fit.map(|f| f.sigma),
        spectral_norm: lambda_max,
        log_spectral_norm: log10(lambda_max),
        norm,
        log_norm: log10(norm),
        log_frobenius_norm: 0.5 * log10(norm),
        stable_rank: if lambda_max > 0.0 {
            norm / lambda_max
        } else {
            0.0
        },
        mp_bulk_max,
        num_spikes,
        detx_num,
        detx_lambda_min,
        delta_lambda_min: fit.map(|f| f.xmin - detx_lambda_min),
        erg_gap: fit.map(|f| detx_num as i64 - f.num_tail as i64),
        eigenvalues: evals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use nalgebra::DMatrix;

    /// A random orthogonal `n x k` basis (Q of a Gaussian matrix's QR).
    fn orthonormal(n: usize, k: usize, rng: &mut Rng) -> DMatrix<f64> {
        let g = DMatrix::from_fn(n, k, |_, _| f64::from(rng.normal()));
        g.qr().q()
    }

    /// `U diag(s) V^T` with `U` `rows x m`, `V` `cols x m` random orthonormal.
    fn with_singular_values(rows: usize, cols: usize, s: &[f64], seed: u64) -> WeightMatrix {
        let mut rng = Rng::seed_from(seed);
        let m = s.len();
        let u = orthonormal(rows, m, &mut rng);
        let v = orthonormal(cols, m, &mut rng);
        let w = &u * DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(s)) * v.transpose();
        let mut data = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                data.push(w[(i, j)]);
            }
        }
        WeightMatrix {
            name: "w".into(),
            rows,
            cols,
            data,
        }
    }

    #[test]
    fn eigenvalues_are_the_squared_singular_values() {
        for (rows, cols) in [(30, 12), (12, 30)] {
            let s: Vec<f64> = (1..=12).map(|i| i as f64 * 0.5).collect();
            let w = with_singular_values(rows, cols, &s, 3);
            let ev = eigenvalues(&w).expect("eigenvalues");
            assert_eq!(ev.len(), 12);
            for (e, s) in ev.iter().zip(&s) {
                assert!((e - s * s).abs() < 1e-9 * (1.0 + s * s), "{e} vs {}", s * s);
            }
        }
    }

    #[test]
    fn recovers_alpha_of_a_power_law_spectrum() {
        // Eigenvalues at the exact quantiles of a Pareto law (density exponent alpha above 1),
        // planted as squared singular values of a 500 x 250 matrix: the fit through the
        // eigensolver must return alpha within a few percent.
        for alpha in [2.0, 3.0, 4.5] {
            let m = 250;
            let lambdas: Vec<f64> = (0..m)
                .map(|i| (1.0 - (i as f64 + 0.5) / m as f64).powf(-1.0 / (alpha - 1.0)))
                .collect();
            let s: Vec<f64> = lambdas.iter().map(|l| l.sqrt()).collect();
            let w = with_singular_values(2 * m, m, &s, 7);
            let spec = analyze_matrix(&w).expect("analyze");
            let fitted = spec.alpha.expect("alpha");
            assert!(
                (fitted - alpha).abs() < 0.04 * alpha,
                "alpha {alpha}: fitted {fitted} ({spec:?})"
            );
            let lmax = lambdas.iter().copied().fold(0.0, f64::max);
            assert!((spec.spectral_norm - lmax).abs() < 1e-6 * lmax);
            assert!((spec.alpha_hat.expect("alpha_hat") - fitted * lmax.log10()).abs() < 1e-9);
        }
        // Random Pareto draws (not quantiles): within the estimator's own error.
        let mut rng = Rng::seed_from(11);
        let s: Vec<f64> = (0..300)
            .map(|_| (1.0 - rng.uniform_f64()).max(1e-12).powf(-1.0 / 1.5).sqrt())
            .collect();
        let spec = analyze_matrix(&with_singular_values(400, 300, &s, 12)).expect("analyze");
        assert!((spec.alpha.expect("alpha") - 2.5).abs() < 0.3, "{spec:?}");
    }

    #[test]
    fn a_gaussian_matrix_is_not_heavy_tailed() {
        // TECHNIQUES #30: a Gaussian 300 x 784 W gives a large alpha; its spectrum stays
        // inside the Marchenko-Pastur bulk.
        let mut rng = Rng::seed_from(5);
        let (rows, cols) = (300, 784);
        let w = WeightMatrix {
            name: "g".into(),
            rows,
            cols,
            data: (0..rows * cols).map(|_| f64::from(rng.normal())).collect(),
        };
        let spec = analyze_matrix(&w).expect("analyze");
        assert!(spec.alpha.expect("alpha") > 4.0, "{spec:?}");
        assert!(spec.num_spikes <= 1, "{spec:?}");
        let ratio = spec.spectral_norm / spec.mp_bulk_max;
        assert!((0.9..1.05).contains(&ratio), "{ratio}");
        assert!((spec.stable_rank - spec.norm / spec.spectral_norm).abs() < 1e-12);
    }

    #[test]
    fn detx_matches_a_brute_force_scan() {
        let mut rng = Rng::seed_from(8);
        for trial in 0..50 {
            let n = 3 + trial % 20;
            let mut ev: Vec<f64> = (0..n)
                .map(|_| (3.0 * f64::from(rng.normal())).exp())
                .collect();
            ev.sort_by(f64::total_cmp);
            let sum: f64 = ev.iter().sum();
            let scaled: Vec<f64> = ev.iter().map(|v| v * n as f64 / sum).collect();
            // Largest k such that the product of the top k rescaled values is >= 1.
            let brute = (1..=n)
                .filter(|&k| scaled[n - k..].iter().product::<f64>() >= 1.0)
                .max()
                .unwrap_or(0);
            let (k, lambda) = detx(&ev);
            assert_eq!(k, brute, "{ev:?}");
            if k > 0 {
                assert_eq!(lambda, ev[n - k]);
            }
        }
    }

    #[test]
    fn bad_matrices_are_errors() {
        let w = WeightMatrix {
            name: "w".into(),
            rows: 2,
            cols: 3,
            data: vec![1.0; 5],
        };
        assert!(eigenvalues(&w).is_err());
        let w = WeightMatrix {
            name: "w".into(),
            rows: 2,
            cols: 2,
            data: vec![1.0, f64::NAN, 0.0, 1.0],
        };
        let e = eigenvalues(&w).expect_err("NaN");
        assert!(e.to_string().contains("NaN"), "{e}");
    }
}
