//! Prediction intervals and their empirical coverage.
//!
//! * **Conformal** (the command line's default): split conformal prediction per horizon step
//!   (Vovk et al.; Stankeviciute et al. 2021 for multi-step forecasts). The calibration scores
//!   are the absolute errors `|y - ŷ|` of rolling-origin forecasts made by models that did not
//!   see the values they forecast (the validation tail of the training part, every origin, see
//!   [`crate::forecast::select`]). With `n` scores for step `h`, the half-width at level `L` is
//!   the `ceil((n + 1) L)`-th smallest score, the finite-sample quantile that guarantees
//!   coverage `>= L` for exchangeable errors; when `ceil((n + 1) L) > n` the largest score is
//!   used (too few scores for the guarantee). The interval `[ŷ - q_h, ŷ + q_h]` is symmetric
//!   and widens with `h` because the step-`h` errors do. Only the scores are stored in the model
//!   file, so any level can be asked for at prediction time.
//!
//!   **Normalized scores** (forecasters and backtests): each error is divided by the
//!   [`local_scale`] of the history at its origin (the spread of the last `max(16, 2 season)`
//!   changes) and the half-width is multiplied back by the local scale at the forecast origin,
//!   so the intervals follow changes of volatility between the calibration stretch and the
//!   forecast (locally weighted conformal prediction; see [`local_scale`] for the measured
//!   cause). A step with fewer scores than the rank needs (9 at 90 %) pools the neighbouring
//!   steps' scores.
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
    /// Split conformal intervals per horizon step from the absolute validation errors.
    Conformal,
    /// Monte-Carlo dropout with this many sampled trajectories.
    McDropout {
        /// Trajectories sampled.
        samples: usize,
    },
}

impl IntervalMethod {
    /// Parses `none`, `conformal`, `residual` or `mc-dropout` (with `samples` trajectories).
    pub fn parse(text: &str, samples: usize) -> Result<IntervalMethod> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "none" => Ok(IntervalMethod::None),
            "residual" | "residuals" | "empirical" => Ok(IntervalMethod::Residual),
            "conformal" | "split-conformal" => Ok(IntervalMethod::Conformal),
            "mc-dropout" | "mcdropout" | "dropout" => {
                if samples < 2 {
                    return Err(Error::config("samples", "MC dropout needs at least 2"));
                }
                Ok(IntervalMethod::McDropout { samples })
            }
            other => Err(Error::config(
                "interval",
                format!("unknown '{other}'; one of conformal, residual, mc-dropout, none"),
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

/// The split-conformal half-width of `scores` (absolute errors) at level `level`: the
/// `ceil((n + 1) level)`-th smallest score, or the largest when there are too few scores for
/// that rank. `NaN` for no scores.
pub fn conformal_quantile(scores: &[f64], level: f64) -> f64 {
    if scores.is_empty() {
        return f64::NAN;
    }
    let mut v: Vec<f64> = scores.iter().map(|e| e.abs()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    // The same finite-sample rank as the tabular conformal intervals (with its rounding guard).
    let rank = crate::uncertainty::conformal_rank(n, level);
    v[rank.clamp(1, n) - 1]
}

/// Symmetric conformal offsets `(-q_h, q_h)` per step `1..=horizon` from the residuals per step
/// (`residuals[h-1]`, signs ignored). A step without at least 2 residuals borrows the half-width
/// of the longest step that has some, widened by `sqrt(h / h')` as [`residual_offsets`] does.
/// Errors when there are no residuals at all.
pub fn conformal_offsets(
    residuals: &[Vec<f64>],
    horizon: usize,
    level: f64,
) -> Result<Vec<(f64, f64)>> {
    check_level(level)?;
    let mut out = Vec::with_capacity(horizon);
    let mut last: Option<(usize, f64)> = None;
    for h in 1..=horizon {
        match residuals.get(h - 1).filter(|r| r.len() >= 2) {
            Some(r) => {
                let pooled = pool_neighbours(residuals, h - 1, level);
                let r = pooled.as_deref().unwrap_or(r);
                // A longer step is never narrower than a shorter one: errors accumulate, and a
                // noisy small calibration set should not make the fan pinch.
                let q = conformal_quantile(r, level).max(last.map_or(0.0, |l| l.1));
                last = Some((h, q));
                out.push((-q, q));
            }
            None => {
                let (h0, q) = last.ok_or_else(|| {
                    Error::InvalidData(
                        "no validation residuals to build intervals from; use more data or `interval` none".into(),
                    )
                })?;
                let q = q * (h as f64 / h0 as f64).sqrt();
                out.push((-q, q));
            }
        }
    }
    Ok(out)
}

/// The fewest scores with which the finite-sample rank `ceil((n + 1) level)` is at most `n`.
fn min_scores(level: f64) -> usize {
    let mut n = 1;
    while crate::uncertainty::conformal_rank(n, level) > n && n < 1_000_000 {
        n += 1;
    }
    n
}

/// When step `step` has fewer scores than the finite-sample rank at `level` needs (9 at 90 %),
/// its scores pooled with those of the nearest steps (alternately the next and the previous
/// one) until there are enough or every step is in; None when the step has enough alone.
/// Neighbouring steps' errors are the closest in size, so pooling them is the least biased
/// way to reach a rank that guarantees the level instead of falling back to the largest score.
fn pool_neighbours(residuals: &[Vec<f64>], step: usize, level: f64) -> Option<Vec<f64>> {
    let need = min_scores(level);
    let own = residuals.get(step)?;
    if own.len() >= need {
        return None;
    }
    let mut out = own.clone();
    for d in 1..residuals.len() {
        for s in [step.checked_add(d), step.checked_sub(d)]
            .into_iter()
            .flatten()
        {
            if let Some(r) = residuals.get(s) {
                out.extend(r);
            }
        }
        if out.len() >= need {
            break;
        }
    }
    Some(out)
}

/// Steps of recent history behind [`local_scale`]: two seasons, at least 16.
pub fn scale_window(season: usize) -> usize {
    (2 * season).max(16)
}

/// The local scale of a history at its end, the normalizer of the conformal scores: the mean
/// absolute deviation of its last [`scale_window`] first differences from their mean (the
/// mean removes a steady trend, two seasons average out a seasonal swing).
///
/// Why: rolling-origin errors are only exchangeable when the series is as volatile at the test
/// origins as in the calibration stretch. On US CPI (statsmodels macrodata) the quarterly
/// changes of the 1990s calibration stretch vary a third as much as those of the 2000s, and
/// intervals from raw errors covered 35 % of the test values; errors divided by the scale at
/// their origin, multiplied back by the scale at the forecast origin, follow such changes of
/// volatility (locally weighted conformal prediction, Lei et al. 2018). A flat window gets a
/// tiny positive floor so that the scores stay finite.
pub fn local_scale(history: &[f64], season: usize) -> f64 {
    let w = scale_window(season).min(history.len().saturating_sub(1));
    if w == 0 {
        return 1.0;
    }
    let tail = &history[history.len() - 1 - w..];
    let diffs: Vec<f64> = tail.windows(2).map(|p| p[1] - p[0]).collect();
    let mean = diffs.iter().sum::<f64>() / w as f64;
    let mad = diffs.iter().map(|d| (d - mean).abs()).sum::<f64>() / w as f64;
    let level = tail.iter().map(|v| v.abs()).sum::<f64>() / tail.len() as f64;
    let floor = 1e-9 * level.max(1.0);
    if mad.is_finite() { mad.max(floor) } else { 1.0 }
}

/// Intervals at `level` around `forecast` (`[step]`) from normalized conformal `scores`
/// (`[step - 1]`, errors divided by [`local_scale`] at their origin), rescaled by `scale`, the
/// local scale at the forecast origin. Returns `(lower, upper)`.
pub fn scaled_conformal_interval(
    forecast: &[f64],
    scores: &[Vec<f64>],
    scale: f64,
    level: f64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let offsets = conformal_offsets(scores, forecast.len(), level)?;
    let lower = forecast
        .iter()
        .zip(&offsets)
        .map(|(p, o)| p + scale * o.0)
        .collect();
    let upper = forecast
        .iter()
        .zip(&offsets)
        .map(|(p, o)| p + scale * o.1)
        .collect();
    Ok((lower, upper))
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
    fn conformal_quantile_uses_the_finite_sample_rank() {
        // n = 9 scores 1..9, level 0.9: rank ceil(10 * 0.9) = 9, the largest.
        let scores: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(conformal_quantile(&scores, 0.9), 9.0);
        // level 0.5: rank 5. Signs are ignored.
        let signed: Vec<f64> = scores.iter().map(|v| -v).collect();
        assert_eq!(conformal_quantile(&signed, 0.5), 5.0);
        // Too few scores for the rank: the largest.
        assert_eq!(conformal_quantile(&[1.0, 2.0], 0.9), 2.0);
        assert!(conformal_quantile(&[], 0.9).is_nan());
        // Offsets never shrink with the step, and borrow the last step's width beyond it.
        let off = conformal_offsets(&[vec![3.0, 3.0], vec![1.0, 1.0]], 4, 0.9).expect("setup");
        assert_eq!(off[0], (-3.0, 3.0));
        assert_eq!(off[1], (-3.0, 3.0));
        assert!((off[3].1 - 3.0 * 2f64.sqrt()).abs() < 1e-12);
        assert!(conformal_offsets(&[], 2, 0.9).is_err());
        assert!(conformal_offsets(&[vec![1.0, 2.0]], 2, 0.0).is_err());
    }

    #[test]
    fn conformal_intervals_of_ar1_forecasts_cover_near_their_level() {
        // AR(1) y_t = 0.7 y_{t-1} + e_t with the true model as the forecaster: the step-h error
        // is a sum of h shocks. Calibrate on 60 origins, test on the next 200, over many seeds.
        let phi = 0.7f64;
        let horizon = 3;
        let (mut inside, mut total) = (0usize, 0usize);
        let mut widths = vec![0.0; horizon];
        for seed in 0..40 {
            let mut rng = Rng::seed_from(seed);
            let mut y = vec![0.0f64];
            for _ in 0..400 {
                let prev = *y.last().expect("nonempty");
                y.push(phi * prev + rng.normal() as f64);
            }
            let errors = |origin: usize| -> Vec<f64> {
                (1..=horizon)
                    .map(|h| y[origin + h] - phi.powi(h as i32) * y[origin])
                    .collect()
            };
            let mut residuals = vec![Vec::new(); horizon];
            for origin in 100..160 {
                for (h, e) in errors(origin).into_iter().enumerate() {
                    residuals[h].push(e);
                }
            }
            let off = conformal_offsets(&residuals, horizon, 0.9).expect("setup");
            for (w, o) in widths.iter_mut().zip(&off) {
                *w += o.1 - o.0;
            }
            for origin in 180..380 {
                for (h, e) in errors(origin).into_iter().enumerate() {
                    inside += usize::from(e >= off[h].0 && e <= off[h].1);
                    total += 1;
                }
            }
        }
        let cov = inside as f64 / total as f64;
        assert!((0.87..=0.94).contains(&cov), "coverage {cov}");
        // The intervals widen with the step (the error variance grows as 1 + phi^2 + ...).
        assert!(widths[0] < widths[1] && widths[1] < widths[2], "{widths:?}");
    }

    #[test]
    fn few_scores_are_pooled_with_the_neighbouring_steps() {
        // Step 1 has 3 scores, too few for the 90 % rank (9 needed): it pools steps 2 and 3
        // (5 more each) instead of taking its own largest.
        let residuals = vec![vec![1.0, 1.0, 1.0], vec![2.0; 5], vec![0.5; 5]];
        let off = conformal_offsets(&residuals, 3, 0.9).expect("setup");
        // Pooled: 3 x 1, 5 x 2, 5 x 0.5 (13 scores): rank ceil(14 * 0.9) = 13, the largest, 2.
        assert_eq!(off[0], (-2.0, 2.0));
        assert_eq!(min_scores(0.9), 9);
        assert_eq!(pool_neighbours(&[vec![0.0; 9]], 0, 0.9), None);
    }

    #[test]
    fn the_local_scale_follows_the_recent_changes() {
        // Changes alternating 1.5, -0.5 (a zigzag on a trend): deviation 1 from their mean.
        let zigzag: Vec<f64> = (0..40).map(|t| (t % 2) as f64 + 0.5 * t as f64).collect();
        assert!((local_scale(&zigzag, 1) - 1.0).abs() < 1e-12);
        // Only the last max(16, 2 season) changes count: a calm end after a wild start.
        let mut y: Vec<f64> = (0..30)
            .map(|t| if t % 2 == 0 { 10.0 } else { -10.0 })
            .collect();
        y.extend((0..20).map(|t| (t % 2) as f64));
        assert!(
            (local_scale(&y, 1) - 1.0).abs() < 1e-12,
            "{}",
            local_scale(&y, 1)
        );
        assert_eq!(scale_window(12), 24);
        // A line or a constant: a tiny positive floor, never 0.
        let line: Vec<f64> = (0..30).map(f64::from).collect();
        assert!(local_scale(&line, 1) > 0.0 && local_scale(&line, 1) < 1e-6);
        assert_eq!(local_scale(&[5.0], 1), 1.0);
        // Scaled intervals: the offsets times the scale.
        let (lo, hi) =
            scaled_conformal_interval(&[1.0, 2.0], &[vec![1.0; 20], vec![2.0; 20]], 3.0, 0.9)
                .expect("setup");
        assert_eq!((lo, hi), (vec![-2.0, -4.0], vec![4.0, 8.0]));
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
