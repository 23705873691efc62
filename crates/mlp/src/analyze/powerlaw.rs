//! Continuous power-law tail fit (Clauset, Shalizi & Newman 2009), as the Python `powerlaw`
//! package and weightwatcher do it.
//!
//! For every candidate lower cut-off `xmin` (each distinct sample value but the largest) the
//! tail `x >= xmin` gets the closed-form maximum-likelihood exponent
//! `alpha = 1 + n / sum ln(x_i / xmin)`, and the fit whose Kolmogorov-Smirnov distance between
//! the tail's empirical CDF and the fitted CDF `1 - (x / xmin)^(1 - alpha)` is smallest wins.
//! The empirical CDF at the `j`-th smallest tail value is `j / n` (the `powerlaw` package's
//! convention), so `D = max_j |P(x_j) - j / n|`.

use crate::{Error, Result};

/// The fewest tail samples a candidate `xmin` may leave. weightwatcher's fit scans every sample
/// but the largest (a tail of two); so does this one, so that the two agree. A tiny tail does not
/// win by accident: the KS distance of a two-point tail is about 0.36.
pub const MIN_TAIL: usize = 2;

/// A fitted power-law tail.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PowerLawFit {
    /// Exponent of the density `p(x) ~ x^-alpha` on the tail.
    pub alpha: f64,
    /// Lower cut-off of the tail (chosen by minimum KS distance).
    pub xmin: f64,
    /// Kolmogorov-Smirnov distance of the chosen fit.
    pub ks_distance: f64,
    /// Samples in the tail (`x >= xmin`).
    pub num_tail: usize,
    /// Standard error of alpha, `(alpha - 1) / sqrt(n)`.
    pub sigma: f64,
}

/// The maximum-likelihood exponent and KS distance of the tail `sorted[start..]` (ascending,
/// positive), with `xmin = sorted[start]`.
pub fn fit_at(sorted: &[f64], start: usize) -> PowerLawFit {
    let tail = &sorted[start..];
    let n = tail.len();
    let xmin = tail[0];
    let log_sum: f64 = tail.iter().map(|&x| (x / xmin).ln()).sum();
    let alpha = if log_sum > 0.0 {
        1.0 + n as f64 / log_sum
    } else {
        f64::INFINITY
    };
    let mut d = 0.0f64;
    for (j, &x) in tail.iter().enumerate() {
        let model = 1.0 - (x / xmin).powf(1.0 - alpha);
        d = d.max((model - j as f64 / n as f64).abs());
    }
    PowerLawFit {
        alpha,
        xmin,
        ks_distance: d,
        num_tail: n,
        sigma: (alpha - 1.0) / (n as f64).sqrt(),
    }
}

/// Fits a power-law tail to positive samples (non-positive and non-finite samples are
/// dropped): the minimum-KS-distance fit over every distinct `xmin` that leaves at least
/// [`MIN_TAIL`] samples.
///
/// # Errors
/// Fewer than [`MIN_TAIL`] + 1 positive samples, or all samples equal.
pub fn fit(samples: &[f64]) -> Result<PowerLawFit> {
    let mut x: Vec<f64> = samples
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    x.sort_by(f64::total_cmp);
    if x.len() <= MIN_TAIL {
        return Err(Error::InvalidData(format!(
            "a power-law fit needs more than {MIN_TAIL} positive values, got {}",
            x.len()
        )));
    }
    let mut best: Option<PowerLawFit> = None;
    let mut start = 0;
    while start + MIN_TAIL <= x.len() {
        let f = fit_at(&x, start);
        if f.alpha.is_finite() && best.is_none_or(|b| f.ks_distance < b.ks_distance) {
            best = Some(f);
        }
        // The next distinct value: a repeated xmin is the same fit.
        let v = x[start];
        while start < x.len() && x[start] == v {
            start += 1;
        }
    }
    best.ok_or_else(|| Error::InvalidData("all values are equal: no power-law tail".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Pareto samples with density exponent `alpha` above `xmin` (inverse CDF).
    fn pareto(n: usize, alpha: f64, xmin: f64, seed: u64) -> Vec<f64> {
        let mut rng = Rng::seed_from(seed);
        (0..n)
            .map(|_| {
                let u = 1.0 - rng.uniform_f64();
                xmin * u.max(1e-12).powf(-1.0 / (alpha - 1.0))
            })
            .collect()
    }

    #[test]
    fn recovers_the_exponent_of_pareto_samples() {
        // TECHNIQUES #30: 5,000 Pareto samples with alpha = 2.5 give 2.5 +- 0.1.
        for (alpha, seed) in [(2.5, 1), (2.0, 2), (3.5, 3)] {
            let fit = fit(&pareto(5000, alpha, 1.0, seed)).expect("fit");
            assert!(
                (fit.alpha - alpha).abs() < 0.1,
                "alpha {alpha}: fitted {}",
                fit.alpha
            );
            assert!(fit.ks_distance < 0.05, "{fit:?}");
        }
    }

    #[test]
    fn finds_the_tail_above_a_uniform_bulk() {
        // A uniform bulk on [0.1, 1) below a Pareto tail from 1: xmin lands near 1.
        let mut rng = Rng::seed_from(9);
        let mut x: Vec<f64> = (0..1500).map(|_| 0.1 + 0.9 * rng.uniform_f64()).collect();
        x.extend(pareto(1500, 2.5, 1.0, 10));
        let fit = fit(&x).expect("fit");
        assert!((fit.xmin - 1.0).abs() < 0.2, "{fit:?}");
        assert!((fit.alpha - 2.5).abs() < 0.15, "{fit:?}");
    }

    #[test]
    fn ks_distance_matches_a_hand_computation() {
        let x = [1.0, 2.0, 4.0, 8.0, 16.0];
        let f = fit_at(&x, 0);
        let log_sum: f64 = x.iter().map(|v: &f64| v.ln()).sum();
        let alpha = 1.0 + 5.0 / log_sum;
        assert!((f.alpha - alpha).abs() < 1e-12);
        let d = x
            .iter()
            .enumerate()
            .map(|(j, v)| (1.0 - v.powf(1.0 - alpha) - j as f64 / 5.0).abs())
            .fold(0.0, f64::max);
        assert!((f.ks_distance - d).abs() < 1e-12);
    }

    #[test]
    fn too_few_or_constant_samples_are_errors() {
        assert!(fit(&[1.0, 2.0]).is_err());
        assert!(fit(&[2.0; 20]).is_err());
        assert!(fit(&[0.0, -1.0, f64::NAN, 1.0, 2.0]).is_err());
        assert!(fit(&[1.0, 2.0, 3.0]).is_ok());
    }
}
