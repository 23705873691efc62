//! Choosing a lag embedding: the delay `tau` and the dimension `m` of the window
//! `(x_t, x_{t-tau}, ..., x_{t-(m-1)tau})`.
//!
//! * **Delay.** The earlier of the autocorrelation's first zero crossing and the average mutual
//!   information's first local minimum (Fraser & Swinney): the zero crossing suits maps and
//!   oscillations, the mutual-information minimum suits densely sampled flows such as Lorenz,
//!   whose autocorrelation decays over many lobe switches. When neither exists within the lags
//!   examined (a trending series), the first lag where the autocorrelation falls below `1/e`;
//!   failing everything, 1.
//! * **Dimension, by Cao's method** (Cao, 1997). With delay vectors
//!   `y_i(d) = (x_i, x_{i+tau}, ..., x_{i+(d-1)tau})` and `n(i,d)` the nearest neighbour of `i`
//!   in `d` dimensions under the max-norm,
//!   `a(i,d) = |y_i(d+1) - y_n(d+1)|_inf / |y_i(d) - y_n(d)|_inf`, `E(d) = mean_i a(i,d)` and
//!   `E1(d) = E(d+1) / E(d)`. `E1` grows towards 1 and stops changing once `d` unfolds the
//!   attractor: the chosen `m` is the first `d` with `E1(d) >= 0.8` (`E1_SATURATION`) and
//!   `|E1(d+1) - E1(d)| < 0.1` (`E1_PLATEAU`); the last examined `d` only needs the level.
//!   `E2(d) = E*(d+1) / E*(d)` with `E*(d) = mean_i |x_{i+d tau} - x_{n(i,d)+d tau}|` stays near 1
//!   for every `d` on a stochastic series: when all `E2` lie in `[0.9, 1.1]` the series is
//!   flagged as noise (`LagChoice::noisy`), and the embedding carries no deterministic structure.
//!
//! ```
//! use mlp::forecast::lags::{autocorrelation, choose_lags};
//! // The Henon map's x series: a 2-dimensional attractor.
//! let (mut x, mut y) = (0.1f64, 0.0f64);
//! let series: Vec<f64> = (0..1200).map(|_| {
//!     let next = (1.0 - 1.4 * x * x + y, 0.3 * x);
//!     (x, y) = next;
//!     x
//! }).skip(200).collect();
//! assert!(autocorrelation(&series, 1)[1] < 0.0);
//! let choice = choose_lags(&series, 6).unwrap();
//! assert_eq!((choice.tau, choice.dim, choice.noisy), (1, 2, false));
//! ```

use crate::{Error, Result};
use rayon::prelude::*;

/// `E1(d)` must reach this value to count as saturated (see the module documentation).
pub(crate) const E1_SATURATION: f64 = 0.8;

/// ... and change by less than this to the next dimension.
pub(crate) const E1_PLATEAU: f64 = 0.1;

/// `E2(d)` within `1 ± NOISE_BAND` for every `d` flags a stochastic series.
pub(crate) const NOISE_BAND: f64 = 0.1;

/// Sample autocorrelation `r_k = Σ_t (x_t - x̄)(x_{t+k} - x̄) / Σ_t (x_t - x̄)²` for
/// `k = 0..=max_lag` (fewer when the series is shorter; `r_0 = 1`). The biased estimator (the
/// denominator does not shrink with `k`), as statsmodels' `acf`. A constant series has no
/// defined correlation: its `r_k` for `k >= 1` are reported as 0.
pub fn autocorrelation(x: &[f64], max_lag: usize) -> Vec<f64> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let centred: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let denom: f64 = centred.iter().map(|c| c * c).sum();
    (0..=max_lag.min(n - 1))
        .map(|k| {
            if k == 0 {
                1.0
            } else if denom == 0.0 {
                0.0
            } else {
                centred[..n - k]
                    .iter()
                    .zip(&centred[k..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / denom
            }
        })
        .collect()
}

/// Average mutual information (in nats) between `x_t` and `x_{t+k}` for `k = 0..=max_lag`, from a
/// joint histogram of `bins x bins` equal-width cells over the series' range (Fraser & Swinney's
/// delay criterion uses its first minimum). Fewer lags are returned when the series is shorter.
pub fn average_mutual_information(x: &[f64], max_lag: usize, bins: usize) -> Vec<f64> {
    let n = x.len();
    if n < 2 || bins == 0 {
        return Vec::new();
    }
    let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let width = (hi - lo) / bins as f64;
    let bin_of = |v: f64| {
        if width > 0.0 {
            (((v - lo) / width) as usize).min(bins - 1)
        } else {
            0
        }
    };
    let cells: Vec<usize> = x.iter().map(|&v| bin_of(v)).collect();
    (0..=max_lag.min(n - 1))
        .map(|k| {
            let pairs = n - k;
            let mut joint = vec![0usize; bins * bins];
            let mut left = vec![0usize; bins];
            let mut right = vec![0usize; bins];
            for t in 0..pairs {
                let (a, b) = (cells[t], cells[t + k]);
                joint[a * bins + b] += 1;
                left[a] += 1;
                right[b] += 1;
            }
            let total = pairs as f64;
            let mut ami = 0.0;
            for a in 0..bins {
                for b in 0..bins {
                    let c = joint[a * bins + b];
                    if c > 0 {
                        let p_ab = c as f64 / total;
                        let p_a = left[a] as f64 / total;
                        let p_b = right[b] as f64 / total;
                        ami += p_ab * (p_ab / (p_a * p_b)).ln();
                    }
                }
            }
            ami
        })
        .collect()
}

/// Cao's statistics for `d = 1..=max_dim`: `e1[d - 1] = E1(d)`, `e2[d - 1] = E2(d)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaoResult {
    /// `E1(d) = E(d+1) / E(d)`.
    pub e1: Vec<f64>,
    /// `E2(d) = E*(d+1) / E*(d)`.
    pub e2: Vec<f64>,
}

/// For each point, the index of its nearest neighbour (max-norm over `d` delay coordinates,
/// excluding points at distance 0, as Cao recommends) among points `0..count`, with that distance.
/// Points are visited in order of their first coordinate, so the scan around a point stops as soon
/// as the first coordinate alone is farther than the best distance found.
fn nearest_neighbours(x: &[f64], tau: usize, d: usize, count: usize) -> Vec<Option<(usize, f64)>> {
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
    let mut rank = vec![0usize; count];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let dist = |i: usize, j: usize| {
        (0..d)
            .map(|k| (x[i + k * tau] - x[j + k * tau]).abs())
            .fold(0.0f64, f64::max)
    };
    (0..count)
        .into_par_iter()
        .map(|i| {
            let mut best: Option<(usize, f64)> = None;
            let better = |best: &Option<(usize, f64)>, j: usize, dj: f64| match best {
                None => true,
                Some((bj, bd)) => dj < *bd || (dj == *bd && j < *bj),
            };
            // Walk outwards in both directions of the sorted order.
            for step in [-1isize, 1] {
                let mut r = rank[i] as isize + step;
                while r >= 0 && (r as usize) < count {
                    let j = order[r as usize];
                    let gap = (x[j] - x[i]).abs();
                    if let Some((_, bd)) = best
                        && gap > bd
                    {
                        break;
                    }
                    let dj = dist(i, j);
                    if dj > 0.0 && better(&best, j, dj) {
                        best = Some((j, dj));
                    }
                    r += step;
                }
            }
            best
        })
        .collect()
}

/// Cao's `E1(d)` and `E2(d)` for `d = 1..=max_dim` at delay `tau`.
///
/// Errors when the series is too short for `max_dim + 1` delay coordinates with at least 10
/// vectors, or when every vector coincides (a constant series).
pub fn cao(x: &[f64], tau: usize, max_dim: usize) -> Result<CaoResult> {
    if tau == 0 || max_dim == 0 {
        return Err(Error::config(
            "lags",
            "tau and the largest dimension must be at least 1",
        ));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidData(
            "Cao's method needs a series without NaN or infinite values".into(),
        ));
    }
    // E(d) and E*(d) for d = 1..=max_dim + 1; each needs the (d+1)-th coordinate.
    let top = max_dim + 1;
    let needed = top * tau + 10;
    if x.len() < needed {
        return Err(Error::InvalidData(format!(
            "Cao's method with tau {tau} up to dimension {max_dim} needs at least {needed} values; \
             the series has {}",
            x.len()
        )));
    }
    let mut e = Vec::with_capacity(top);
    let mut e_star = Vec::with_capacity(top);
    for d in 1..=top {
        let count = x.len() - d * tau;
        let neighbours = nearest_neighbours(x, tau, d, count);
        let (mut sum_a, mut sum_star, mut used) = (0.0f64, 0.0f64, 0usize);
        for (i, nb) in neighbours.iter().enumerate() {
            if let Some((j, dist_d)) = *nb {
                let next = (x[i + d * tau] - x[j + d * tau]).abs();
                sum_a += dist_d.max(next) / dist_d;
                sum_star += next;
                used += 1;
            }
        }
        if used == 0 {
            return Err(Error::InvalidData(
                "Cao's method: every delay vector coincides (a constant series?)".into(),
            ));
        }
        e.push(sum_a / used as f64);
        e_star.push(sum_star / used as f64);
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    Ok(CaoResult {
        e1: (0..max_dim).map(|k| ratio(e[k + 1], e[k])).collect(),
        e2: (0..max_dim)
            .map(|k| ratio(e_star[k + 1], e_star[k]))
            .collect(),
    })
}

/// Which rule chose the delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelayRule {
    /// First zero crossing of the autocorrelation.
    AcfZero,
    /// First lag with autocorrelation below `1/e`.
    AcfInvE,
    /// First local minimum of the average mutual information.
    AmiMinimum,
    /// No rule applied (too short or featureless): delay 1.
    Default,
}

/// The chosen embedding and the evidence behind it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LagChoice {
    /// Delay between window elements.
    pub tau: usize,
    /// Embedding dimension (window length in delay steps).
    pub dim: usize,
    /// `E2` stayed within `1 ± NOISE_BAND` for every dimension: no deterministic structure found.
    pub noisy: bool,
    /// Cao's `E1(d)`, `d = 1..`.
    pub e1: Vec<f64>,
    /// Cao's `E2(d)`, `d = 1..`.
    pub e2: Vec<f64>,
    /// How `tau` was chosen.
    pub tau_rule: DelayRule,
}

/// The delay by the rules in the module documentation, looking at lags up to `max_lag`.
pub fn choose_delay(x: &[f64], max_lag: usize) -> (usize, DelayRule) {
    let acf = autocorrelation(x, max_lag);
    let acf_zero = (1..acf.len()).find(|&k| acf[k] <= 0.0);
    let ami = average_mutual_information(x, max_lag, 16);
    let ami_min = (2..ami.len())
        .find(|&k| ami[k - 1] < ami[k - 2] && ami[k - 1] <= ami[k])
        .map(|k| k - 1);
    match (acf_zero, ami_min) {
        (Some(a), Some(m)) if m < a => return (m, DelayRule::AmiMinimum),
        (Some(a), _) => return (a, DelayRule::AcfZero),
        (None, Some(m)) => return (m, DelayRule::AmiMinimum),
        (None, None) => {}
    }
    let inv_e = (-1.0f64).exp();
    if let Some(k) = (1..acf.len()).find(|&k| acf[k] < inv_e) {
        return (k, DelayRule::AcfInvE);
    }
    (1, DelayRule::Default)
}

/// Chooses `tau` (lags examined up to a quarter of the series, at most 500) and `m` by Cao's
/// method over `d = 1..=max_dim`. When `E1` never saturates, `m = max_dim`.
pub fn choose_lags(x: &[f64], max_dim: usize) -> Result<LagChoice> {
    if x.len() < 20 {
        return Err(Error::InvalidData(format!(
            "choosing lags needs at least 20 values; the series has {}",
            x.len()
        )));
    }
    let max_lag = (x.len() / 4).clamp(1, 500);
    let (mut tau, mut tau_rule) = choose_delay(x, max_lag);
    // Keep room for Cao's method: at least 10 vectors of max_dim + 1 coordinates.
    let room = (x.len() - 10) / (max_dim + 1);
    if tau > room {
        tau = room.max(1);
        tau_rule = DelayRule::Default;
    }
    let stats = cao(x, tau, max_dim)?;
    let e1 = &stats.e1;
    let dim = (0..e1.len())
        .find(|&k| {
            e1[k] >= E1_SATURATION
                && e1
                    .get(k + 1)
                    .is_none_or(|next| (next - e1[k]).abs() < E1_PLATEAU)
        })
        .map_or(max_dim, |k| k + 1);
    let noisy = stats.e2.iter().all(|&v| (v - 1.0).abs() <= NOISE_BAND);
    Ok(LagChoice {
        tau,
        dim,
        noisy,
        e1: stats.e1,
        e2: stats.e2,
        tau_rule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn henon(n: usize) -> Vec<f64> {
        let (mut x, mut y) = (0.1f64, 0.0f64);
        (0..n + 500)
            .map(|_| {
                (x, y) = (1.0 - 1.4 * x * x + y, 0.3 * x);
                x
            })
            .skip(500)
            .collect()
    }

    /// Lorenz (sigma 10, rho 28, beta 8/3) by RK4 at dt = 0.01, the x coordinate.
    fn lorenz(n: usize) -> Vec<f64> {
        let f = |s: [f64; 3]| {
            [
                10.0 * (s[1] - s[0]),
                s[0] * (28.0 - s[2]) - s[1],
                s[0] * s[1] - 8.0 / 3.0 * s[2],
            ]
        };
        let dt = 0.01;
        let mut s = [1.0, 1.0, 1.0];
        let add =
            |a: [f64; 3], b: [f64; 3], h: f64| [a[0] + h * b[0], a[1] + h * b[1], a[2] + h * b[2]];
        let mut out = Vec::with_capacity(n);
        for step in 0..n + 2000 {
            let k1 = f(s);
            let k2 = f(add(s, k1, dt / 2.0));
            let k3 = f(add(s, k2, dt / 2.0));
            let k4 = f(add(s, k3, dt));
            for i in 0..3 {
                s[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
            }
            if step >= 2000 {
                out.push(s[0]);
            }
        }
        out
    }

    #[test]
    fn autocorrelation_matches_hand_values() {
        // x = [1, 2, 3, 4]: mean 2.5, centred [-1.5, -0.5, 0.5, 1.5], denominator 5.
        let acf = autocorrelation(&[1.0, 2.0, 3.0, 4.0], 5);
        let want = [
            1.0,
            (0.75 - 0.25 + 0.75) / 5.0,
            (-0.75 - 0.75) / 5.0,
            -2.25 / 5.0,
        ];
        assert_eq!(acf.len(), 4);
        for (g, w) in acf.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{acf:?}");
        }
        assert_eq!(autocorrelation(&[3.0; 5], 2), vec![1.0, 0.0, 0.0]);
    }

    #[test]
    fn mutual_information_of_a_series_with_itself_is_its_entropy() {
        // Two equally likely values: entropy ln 2 at lag 0; alternating, so lag 1 is determined
        // too; an independent coin flip sequence has AMI near 0 at lag 1.
        let alt: Vec<f64> = (0..1000).map(|i| (i % 2) as f64).collect();
        let ami = average_mutual_information(&alt, 1, 2);
        assert!((ami[0] - 2f64.ln()).abs() < 1e-12 && (ami[1] - 2f64.ln()).abs() < 1e-3);
        let mut rng = Rng::seed_from(3);
        let coin: Vec<f64> = (0..20000).map(|_| (rng.next_u64() >> 63) as f64).collect();
        let ami = average_mutual_information(&coin, 1, 2);
        assert!(ami[1] < 1e-3, "{ami:?}");
    }

    #[test]
    fn cao_saturates_at_two_on_henon() {
        let x = henon(2000);
        let choice = choose_lags(&x, 8).expect("lags");
        assert_eq!(choice.tau, 1);
        assert_eq!(choice.tau_rule, DelayRule::AcfZero);
        assert_eq!(choice.dim, 2, "E1 {:?}", choice.e1);
        assert!(choice.e1[0] < 0.5, "{:?}", choice.e1);
        assert!(!choice.noisy, "E2 {:?}", choice.e2);
    }

    #[test]
    fn cao_saturates_at_three_on_lorenz() {
        let x = lorenz(4000);
        let choice = choose_lags(&x, 8).expect("lags");
        assert_eq!(choice.tau_rule, DelayRule::AmiMinimum);
        assert!((10..=25).contains(&choice.tau), "tau {}", choice.tau);
        assert_eq!(choice.dim, 3, "tau {} E1 {:?}", choice.tau, choice.e1);
        assert!(!choice.noisy);
    }

    #[test]
    fn white_noise_keeps_e2_near_one() {
        let mut rng = Rng::seed_from(11);
        let x: Vec<f64> = (0..3000).map(|_| rng.normal() as f64).collect();
        let stats = cao(&x, 1, 8).expect("cao");
        assert!(
            stats.e2.iter().all(|v| (0.9..=1.1).contains(v)),
            "{:?}",
            stats.e2
        );
        assert!(choose_lags(&x, 8).expect("lags").noisy);
        // A deterministic series is not flagged.
        assert!(!choose_lags(&henon(2000), 8).expect("lags").noisy);
    }

    #[test]
    fn noisy_sine_gets_a_quarter_period_delay() {
        let mut rng = Rng::seed_from(5);
        let x: Vec<f64> = (0..2000)
            .map(|t| {
                (2.0 * std::f64::consts::PI * t as f64 / 40.0).sin() + 0.05 * rng.normal() as f64
            })
            .collect();
        let (tau, rule) = choose_delay(&x, 100);
        assert!(matches!(rule, DelayRule::AcfZero | DelayRule::AmiMinimum));
        assert!((8..=12).contains(&tau), "tau {tau} by {rule:?}");
    }

    #[test]
    fn nearest_neighbour_scan_equals_brute_force() {
        let mut rng = Rng::seed_from(2);
        let x: Vec<f64> = (0..300).map(|_| (rng.next_u64() % 50) as f64).collect();
        for d in 1..4 {
            let count = x.len() - d * 2;
            let fast = nearest_neighbours(&x, 2, d, count);
            for (i, got) in fast.iter().enumerate() {
                let mut best: Option<(usize, f64)> = None;
                for j in 0..count {
                    let dj = (0..d)
                        .map(|k| (x[i + 2 * k] - x[j + 2 * k]).abs())
                        .fold(0.0f64, f64::max);
                    if dj > 0.0 && best.is_none_or(|(_, bd)| dj < bd) {
                        best = Some((j, dj));
                    }
                }
                assert_eq!(*got, best, "point {i} d {d}");
            }
        }
    }

    #[test]
    fn short_or_bad_series_are_errors() {
        assert!(cao(&[1.0; 8], 1, 3).is_err());
        assert!(cao(&[1.0; 100], 1, 3).is_err());
        assert!(cao(&[f64::NAN; 100], 1, 3).is_err());
        assert!(choose_lags(&[0.0, 1.0], 3).is_err());
    }
}
