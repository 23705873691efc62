//! Naive2, the M4 competition's reference forecast (Makridakis, Spiliotis & Assimakopoulos,
//! 2020), and the seasonal adjustment it shares with the Theta method.
//!
//! * **Seasonality test** (90 %): with `r_k` the lag-`k` autocorrelation of the training part
//!   (length `n`), the series is seasonal with period `m > 1` when `n ≥ 3m` and
//!   `|r_m| > 1.645 sqrt((1 + 2 Σ_{k=1}^{m-1} r_k²) / n)`. (The M4 benchmark code adds `r_1`
//!   unsquared; this is the textbook Bartlett bound it intends.)
//! * **Classical decomposition** (as statsmodels' `seasonal_decompose`): a centred moving average
//!   of length `m` (`2×m` for even `m`) is the trend; each position `i = t mod m` gets the mean of
//!   `y_t / trend_t` over the steps where the trend exists, and the indices are scaled to an
//!   average of one. Multiplicative when every value is positive; otherwise additive
//!   (`y_t - trend_t`, indices centred to average 0), as statsmodels' `ThetaModel(method="auto")`
//!   does.
//! * **Naive2**: the last seasonally adjusted value, re-seasonalised:
//!   `ŷ_{n+h} = (y_n / S_n) S_{n+h}` with `S_t` the index of position `t mod m` (additive:
//!   `y_n - S_n + S_{n+h}`). Not seasonal: the naive forecast.

use serde::{Deserialize, Serialize};

/// Seasonal indices of a training part, indexed by `t mod m` from its first step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeasonalIndices {
    /// Multiplicative (`true`) or additive indices.
    pub multiplicative: bool,
    /// One index per position in the season.
    pub indices: Vec<f64>,
}

impl SeasonalIndices {
    /// The index of time step `t`.
    pub fn at(&self, t: usize) -> f64 {
        self.indices[t % self.indices.len()]
    }

    /// `y_t` with the season removed.
    pub fn adjust(&self, t: usize, v: f64) -> f64 {
        if self.multiplicative {
            v / self.at(t)
        } else {
            v - self.at(t)
        }
    }

    /// A seasonally adjusted value `v` at step `t` with the season put back.
    pub fn restore(&self, t: usize, v: f64) -> f64 {
        if self.multiplicative {
            v * self.at(t)
        } else {
            v + self.at(t)
        }
    }

    /// The seasonally adjusted series.
    pub fn adjust_all(&self, y: &[f64]) -> Vec<f64> {
        y.iter()
            .enumerate()
            .map(|(t, &v)| self.adjust(t, v))
            .collect()
    }
}

/// The lag-`k` autocorrelation of `y` (the usual biased estimator: sums over `n` terms).
fn acf(y: &[f64], k: usize) -> f64 {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let den: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    if den == 0.0 || k >= n {
        return 0.0;
    }
    (k..n)
        .map(|t| (y[t] - mean) * (y[t - k] - mean))
        .sum::<f64>()
        / den
}

/// The 90 % seasonality test (see the module documentation).
pub fn is_seasonal(y: &[f64], m: usize) -> bool {
    let n = y.len();
    if m < 2 || n < 3 * m {
        return false;
    }
    let s: f64 = (1..m).map(|k| acf(y, k).powi(2)).sum();
    let limit = 1.645 * ((1.0 + 2.0 * s) / n as f64).sqrt();
    acf(y, m).abs() > limit
}

/// Classical decomposition indices of `y` with period `m` (see the module documentation).
/// `None` when `m < 2` or `y` is shorter than two seasons.
pub fn classical_indices(y: &[f64], m: usize) -> Option<SeasonalIndices> {
    let n = y.len();
    if m < 2 || n < 2 * m {
        return None;
    }
    let multiplicative = y.iter().all(|&v| v > 0.0);
    let half = m / 2;
    let weight = |j: usize| {
        if m.is_multiple_of(2) && (j == 0 || j == m) {
            0.5 / m as f64
        } else {
            1.0 / m as f64
        }
    };
    let width = if m.is_multiple_of(2) { m + 1 } else { m };
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in half..n.saturating_sub(width - 1 - half) {
        let trend: f64 = (0..width).map(|j| weight(j) * y[t - half + j]).sum();
        let d = if multiplicative {
            y[t] / trend
        } else {
            y[t] - trend
        };
        sums[t % m] += d;
        counts[t % m] += 1;
    }
    if counts.contains(&0) {
        return None;
    }
    let mut indices: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s / c as f64)
        .collect();
    let mean = indices.iter().sum::<f64>() / m as f64;
    if multiplicative {
        if !(mean > 0.0 && indices.iter().all(|&v| v > 0.0)) {
            return None;
        }
        indices.iter_mut().for_each(|v| *v /= mean);
    } else {
        indices.iter_mut().for_each(|v| *v -= mean);
    }
    Some(SeasonalIndices {
        multiplicative,
        indices,
    })
}

/// The seasonal indices M4's benchmarks use: the classical ones when the 90 % test says `y` is
/// seasonal with period `m`, else `None`.
pub fn seasonal_adjustment(y: &[f64], m: usize) -> Option<SeasonalIndices> {
    if is_seasonal(y, m) {
        classical_indices(y, m)
    } else {
        None
    }
}

/// Naive2 forecast of `horizon` steps after `history` (which starts where `indices` start).
pub fn naive2_forecast(
    indices: Option<&SeasonalIndices>,
    history: &[f64],
    horizon: usize,
) -> Vec<f64> {
    let Some(&last) = history.last() else {
        return vec![0.0; horizon];
    };
    let n = history.len();
    match indices {
        Some(s) => {
            let level = s.adjust(n - 1, last);
            (1..=horizon).map(|h| s.restore(n - 1 + h, level)).collect()
        }
        None => vec![last; horizon],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First 48 months of the classic airline passengers series.
    const AIR: [f64; 48] = [
        112.0, 118.0, 132.0, 129.0, 121.0, 135.0, 148.0, 148.0, 136.0, 119.0, 104.0, 118.0, 115.0,
        126.0, 141.0, 135.0, 125.0, 149.0, 170.0, 170.0, 158.0, 133.0, 114.0, 140.0, 145.0, 150.0,
        178.0, 163.0, 172.0, 178.0, 199.0, 199.0, 184.0, 162.0, 146.0, 166.0, 171.0, 180.0, 193.0,
        181.0, 183.0, 218.0, 230.0, 242.0, 209.0, 191.0, 172.0, 194.0,
    ];

    const REF_MUL: [f64; 12] = [
        0.913765832972,
        0.954163114961,
        1.058585668115,
        0.979351770429,
        0.96531224689,
        1.083287198767,
        1.182226491059,
        1.169258280984,
        1.068603515171,
        0.915404738251,
        0.795296294319,
        0.914744848084,
    ];
    const REF_ADD: [f64; 12] = [
        -12.905092592593,
        -7.016203703704,
        9.331018518519,
        -3.68287037037,
        -5.293981481481,
        14.372685185185,
        26.608796296296,
        24.928240740741,
        10.219907407407,
        -12.68287037037,
        -30.93287037037,
        -12.946759259259,
    ];
    const REF_ODD: [f64; 5] = [
        0.979489644225,
        1.011363581289,
        0.999365727977,
        1.02734894518,
        0.98243210133,
    ];

    #[test]
    fn indices_match_statsmodels_seasonal_decompose() {
        // statsmodels 0.15: seasonal_decompose(AIR, model="multiplicative", period=12)
        //   .seasonal[:12]
        let s = classical_indices(&AIR, 12).expect("test setup");
        assert!(s.multiplicative);
        for (g, w) in s.indices.iter().zip(&REF_MUL) {
            assert!((g - w).abs() < 1e-11, "{:?}", s.indices);
        }
        // Additive (a shifted copy with non-positive values): seasonal_decompose(AIR - 150,
        //   model="additive", period=12).seasonal[:12]
        let shifted: Vec<f64> = AIR.iter().map(|v| v - 150.0).collect();
        let s = classical_indices(&shifted, 12).expect("test setup");
        assert!(!s.multiplicative);
        for (g, w) in s.indices.iter().zip(&REF_ADD) {
            assert!((g - w).abs() < 1e-11, "{:?}", s.indices);
        }
        // Odd period: seasonal_decompose(AIR, model="multiplicative", period=5).seasonal[:5]
        let s = classical_indices(&AIR, 5).expect("test setup");
        for (g, w) in s.indices.iter().zip(&REF_ODD) {
            assert!((g - w).abs() < 1e-11, "{:?}", s.indices);
        }
    }

    #[test]
    fn naive2_reseasonalises_the_last_adjusted_value() {
        // 48 trending months fail the test (the trend dominates every autocorrelation), as in
        // statsmodels' ThetaModel; the detrended ratios pass it; under three seasons never do.
        assert!(!is_seasonal(&AIR, 12));
        let y: Vec<f64> = AIR
            .iter()
            .enumerate()
            .map(|(t, v)| 150.0 * v / (112.0 + 1.7 * t as f64))
            .collect();
        assert!(is_seasonal(&y, 12));
        assert!(!is_seasonal(&y[..35], 12));
        let s = seasonal_adjustment(&y, 12).expect("seasonal");
        let f = naive2_forecast(Some(&s), &y, 13);
        let level = y[47] / s.indices[47 % 12];
        for (h, v) in f.iter().enumerate() {
            assert!((v - level * s.indices[(48 + h) % 12]).abs() < 1e-9);
        }
        assert_eq!(naive2_forecast(None, &AIR, 2), vec![194.0; 2]);
    }
}
