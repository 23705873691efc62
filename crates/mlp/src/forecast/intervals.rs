//! Prediction intervals and their empirical coverage.
//!
//! * **Residual quantiles**: the forecaster keeps the errors `y - ŷ` of its rolling-origin
//!   forecasts on the validation part, per series and per horizon step `h`. The interval at
//!   level `L` is `[ŷ + q_{(1-L)/2}, ŷ + q_{(1+L)/2}]` of the step-`h` errors. A step with no
//!   validation errors borrows those of the longest step that has some, widened by
//!   `sqrt(h / h')` (a random-walk growth of the error).
//! * **Monte-Carlo dropout**: dropout stays on at prediction time and `samples` whole
//!   trajectories are drawn (each prediction fed back under its own dropout masks); the
//!   interval is the `(1-L)/2` and `(1+L)/2` quantiles of the sampled values per step.
//!
//! Quantiles interpolate linearly between order statistics (type 7, NumPy's default).
//! Coverage is the fraction of true values inside their intervals.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How prediction intervals are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    /// No intervals.
    None,
    /// Empirical quantiles of validation residuals.
    Residual,
    /// Monte-Carlo dropout with this many sampled trajectories.
    McDropout {
        /// Trajectories sampled.
        samples: usize,
    },
}

impl IntervalMethod {
    /// Parses `none`, `residual` or `mc-dropout` (with `samples` trajectories).
    pub fn parse(text: &str, samples: usize) -> Result<IntervalMethod> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "none" => Ok(IntervalMethod::None),
            "residual" | "residuals" | "empirical" => Ok(IntervalMethod::Residual),
            "mc-dropout" | "mcdropout" | "dropout" => {
                if samples < 2 {
                    return Err(Error::config("samples", "MC dropout needs at least 2"));
                }
                Ok(IntervalMethod::McDropout { samples })
            }
            other => Err(Error::config(
                "interval",
                format!("unknown '{other}'; one of residual, mc-dropout, none"),
            )),
        }
    }
}

/// Checks an interval level.
pub fn check_level(level: f64) -> Result<()> {
    if level.is_finite() && level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(Error::config(
            "level",
            format!("must be between 0 and 1 (e.g. 0.9), got {level}"),
        ))
    }
}

/// The `q`-quantile (`0 <= q <= 1`) of `values`, interpolating linearly between order
/// statistics. `NaN` for no values.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (pos - lo as f64) * (v[hi] - v[lo])
}

/// Lower and upper offsets from the point forecast, per step `1..=horizon`, from residuals per
/// step (`residuals[h-1]`). Errors when there are no residuals at all.
pub fn residual_offsets(
    residuals: &[Vec<f64>],
    horizon: usize,
    level: f64,
) -> Result<Vec<(f64, f64)>> {
    check_level(level)?;
    let (ql, qu) = ((1.0 - level) / 2.0, (1.0 + level) / 2.0);
    let mut out = Vec::with_capacity(horizon);
    let mut last: Option<(usize, f64, f64)> = None;
    for h in 1..=horizon {
        match residuals.get(h - 1).filter(|r| r.len() >= 2) {
            Some(r) => {
                let (lo, hi) = (quantile(r, ql), quantile(r, qu));
                last = Some((h, lo, hi));
                out.push((lo, hi));
            }
            None => {
                let (h0, lo, hi) = last.ok_or_else(|| {
                    Error::InvalidData(
                        "no validation residuals to build intervals from; use more data or `interval` none".into(),
                    )
                })?;
                let widen = (h as f64 / h0 as f64).sqrt();
                out.push((lo * widen, hi * widen));
            }
        }
    }
    Ok(out)
}

/// Fraction of `truth` inside `[lower, upper]` (`NaN` for none).
pub fn coverage(truth: &[f64], lower: &[f64], upper: &[f64]) -> f64 {
    let n = truth.len().min(lower.len()).min(upper.len());
    if n == 0 {
        return f64::NAN;
    }
    let inside = (0..n)
        .filter(|&i| truth[i] >= lower[i] && truth[i] <= upper[i])
        .count();
    inside as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn quantiles_match_numpy() {
        // numpy.quantile([3, 1, 4, 1, 5], [0, 0.1, 0.5, 0.9, 1]) = [1, 1, 3, 4.6, 5]
        let v = [3.0, 1.0, 4.0, 1.0, 5.0];
        for (q, want) in [(0.0, 1.0), (0.1, 1.0), (0.5, 3.0), (0.9, 4.6), (1.0, 5.0)] {
            assert!((quantile(&v, q) - want).abs() < 1e-12, "{q}");
        }
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn residual_intervals_cover_gaussian_noise_at_their_level() {
        let mut rng = Rng::seed_from(7);
        let calib: Vec<f64> = (0..2000).map(|_| rng.normal() as f64).collect();
        let offsets = residual_offsets(&[calib], 3, 0.9).expect("test setup");
        // N(0,1) 5% and 95% quantiles are -/+1.645.
        assert!((offsets[0].0 + 1.645).abs() < 0.1 && (offsets[0].1 - 1.645).abs() < 0.1);
        // Steps without residuals widen by sqrt(h).
        assert!((offsets[2].1 / offsets[0].1 - 3f64.sqrt()).abs() < 1e-12);
        let truth: Vec<f64> = (0..4000).map(|_| rng.normal() as f64).collect();
        let lo = vec![offsets[0].0; truth.len()];
        let hi = vec![offsets[0].1; truth.len()];
        let cov = coverage(&truth, &lo, &hi);
        assert!((cov - 0.9).abs() < 0.03, "coverage {cov}");
        assert!(residual_offsets(&[], 2, 0.9).is_err());
        assert!(residual_offsets(&[vec![1.0, 2.0]], 2, 1.5).is_err());
    }

    #[test]
    fn coverage_counts_inclusive_bounds() {
        assert_eq!(
            coverage(
                &[1.0, 2.0, 3.0, 4.0],
                &[1.0, 2.5, 0.0, 5.0],
                &[1.0, 3.0, 3.0, 6.0]
            ),
            0.5
        );
        assert_eq!(
            IntervalMethod::parse("mc-dropout", 50).expect("test setup"),
            IntervalMethod::McDropout { samples: 50 }
        );
        assert!(IntervalMethod::parse("bootstrap", 50).is_err());
    }
}
