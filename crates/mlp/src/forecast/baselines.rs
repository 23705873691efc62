//! The forecasts every model must beat, as in Hyndman & Athanasopoulos, *Forecasting: Principles
//! and Practice*, ch. 5.2, plus a least-squares linear autoregression.
//!
//! For a history `y_1..y_T` and horizon step `h = 1..H`:
//!
//! * **naive**: `ŷ_{T+h} = y_T`;
//! * **seasonal naive** with period `s`: `ŷ_{T+h} = y_{T+h-s k}`, `k = ceil(h / s)` (the value one
//!   season back, repeated);
//! * **drift**: `ŷ_{T+h} = y_T + h (y_T - y_1) / (T - 1)`, the line through the first and last
//!   observation;
//! * **AR(p)**: `y_t = c + Σ_{i=1..p} φ_i y_{t-i}`, coefficients by ordinary least squares on the
//!   training part, forecast recursively (each prediction fed back as the next lag);
//! * **AR(p), p chosen on validation** ([`Baseline::ArAuto`]): every `p = 1..=max_order` is fitted
//!   on the training part minus its last `v = max(H, n/5)` values and forecasts `H` steps from
//!   each origin in that tail; the order with the lowest mean squared error over all (origin,
//!   step) pairs (ties: the smaller) is refitted on the whole training part;
//! * **ETS** ([`super::ets`]): exponential smoothing, simple / Holt / damped, with additive
//!   seasonality when there are two full seasons, chosen by AICc;
//! * **Theta** ([`super::theta`]): SES with half the linear trend as drift, on the seasonally
//!   adjusted series when the 90 % seasonality test passes;
//! * **Naive2** ([`super::naive2`]): the naive forecast of the seasonally adjusted series, the
//!   M4 competition's reference for OWA.
//!
//! [`statistical_candidates`] lists the methods model selection may fall back to.
//!
//! ```
//! use mlp::forecast::baselines::Baseline;
//! let train = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
//! let drift = Baseline::Drift.fit(&train).unwrap();
//! assert_eq!(drift.forecast(&train, 2), vec![7.0, 8.0]);
//! let seasonal = Baseline::SeasonalNaive { period: 4 }.fit(&train).unwrap();
//! assert_eq!(seasonal.forecast(&train, 5), vec![3.0, 4.0, 5.0, 6.0, 3.0]);
//! ```

use super::ets::{EtsFit, fit_ets};
use super::naive2::{SeasonalIndices, naive2_forecast, seasonal_adjustment};
use super::theta::ThetaFit;
use crate::{Error, Result};

/// The statistical methods model selection may fall back to, for a series with season length
/// `season` (≤ 1: none): naive, seasonal naive (when `season > 1`), drift, AR(p) with `p` up to
/// `max(season + 1, 8)` chosen on validation, ETS, Theta and Naive2.
pub fn statistical_candidates(season: usize) -> Vec<Baseline> {
    let mut out = vec![Baseline::Naive];
    if season > 1 {
        out.push(Baseline::SeasonalNaive { period: season });
    }
    out.extend([
        Baseline::Drift,
        Baseline::ArAuto {
            max_order: (season + 1).max(8),
        },
        Baseline::Ets { season },
        Baseline::Theta { season },
        Baseline::Naive2 { season },
    ]);
    out
}

/// A baseline forecasting method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Baseline {
    /// The last value.
    Naive,
    /// The value one season back.
    SeasonalNaive {
        /// Season length in steps.
        period: usize,
    },
    /// The line through the first and last observation.
    Drift,
    /// Linear autoregression of order `order` with intercept, by least squares.
    Ar {
        /// Number of lags.
        order: usize,
    },
    /// AR(p) by least squares with `p` in `1..=max_order` chosen on a validation tail.
    ArAuto {
        /// Largest order tried (capped by what the training part allows).
        max_order: usize,
    },
    /// Exponential smoothing chosen by AICc ([`super::ets`]).
    Ets {
        /// Season length (≤ 1: no seasonal variants).
        season: usize,
    },
    /// The Theta method ([`super::theta`]).
    Theta {
        /// Season length (≤ 1: no seasonal adjustment).
        season: usize,
    },
    /// Naive on the seasonally adjusted series ([`super::naive2`]).
    Naive2 {
        /// Season length (≤ 1: plain naive).
        season: usize,
    },
}

/// What a fit learned beyond the AR coefficients.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FittedDetail {
    /// Nothing (naive, seasonal naive, drift, AR).
    None,
    /// The chosen ETS model.
    Ets(EtsFit),
    /// The Theta parameters.
    Theta(ThetaFit),
    /// Naive2's seasonal indices. A struct variant: serde's internally tagged enums cannot hold
    /// a bare `Option` (the model file and `--json` must serialize every fit).
    Naive2 {
        /// The seasonal indices (`None`: not seasonal).
        indices: Option<SeasonalIndices>,
    },
}

impl Baseline {
    /// Short name for reports: `naive`, `seasonal_naive(12)`, `drift`, `ar(3)`, `ar(auto)`,
    /// `ets`, `theta`, `naive2` (a fitted method names its choice: [`FittedBaseline::name`]).
    pub fn name(&self) -> String {
        match self {
            Baseline::Naive => "naive".into(),
            Baseline::SeasonalNaive { period } => format!("seasonal_naive({period})"),
            Baseline::Drift => "drift".into(),
            Baseline::Ar { order } => format!("ar({order})"),
            Baseline::ArAuto { .. } => "ar(auto)".into(),
            Baseline::Ets { .. } => "ets".into(),
            Baseline::Theta { .. } => "theta".into(),
            Baseline::Naive2 { .. } => "naive2".into(),
        }
    }

    /// Fits the method on `train` for one-step forecasts (see [`Baseline::fit_for_horizon`]).
    pub fn fit(&self, train: &[f64]) -> Result<FittedBaseline> {
        self.fit_for_horizon(train, 1)
    }

    /// Fits the method on `train`; `horizon` is the number of steps the validation of
    /// [`Baseline::ArAuto`] forecasts (the other methods ignore it).
    ///
    /// Errors on non-finite values, a zero period or order, or a training part too short: the
    /// seasonal naive needs one full season, drift two values, AR(p) at least `2p + 2` values,
    /// AR with a chosen order 6, ETS and Theta 4, Naive2 one.
    pub fn fit_for_horizon(&self, train: &[f64], horizon: usize) -> Result<FittedBaseline> {
        if let Some(i) = train.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "{}: value {i} of the training series is not finite",
                self.name()
            )));
        }
        let need = match *self {
            Baseline::Naive | Baseline::Naive2 { .. } => 1,
            Baseline::ArAuto { max_order } => {
                if max_order == 0 {
                    return Err(Error::config("ar", "the largest order must be at least 1"));
                }
                6
            }
            Baseline::Ets { .. } | Baseline::Theta { .. } => 4,
            Baseline::Drift => 2,
            Baseline::SeasonalNaive { period } => {
                if period == 0 {
                    return Err(Error::config("season", "the period must be at least 1"));
                }
                period
            }
            Baseline::Ar { order } => {
                if order == 0 {
                    return Err(Error::config("ar", "the order must be at least 1"));
                }
                2 * order + 2
            }
        };
        if train.len() < need {
            return Err(Error::InvalidData(format!(
                "{} needs at least {need} training values; got {}",
                self.name(),
                train.len()
            )));
        }
        let coefficients = match *self {
            Baseline::Ar { order } => fit_ar(train, order)?,
            Baseline::ArAuto { max_order } => fit_ar_auto(train, max_order, horizon.max(1))?,
            _ => Vec::new(),
        };
        let detail = match *self {
            Baseline::Ets { season } => FittedDetail::Ets(fit_ets(train, season)?),
            Baseline::Theta { season } => FittedDetail::Theta(ThetaFit::fit(train, season)),
            Baseline::Naive2 { season } => FittedDetail::Naive2 {
                indices: seasonal_adjustment(train, season),
            },
            _ => FittedDetail::None,
        };
        Ok(FittedBaseline {
            method: *self,
            coefficients,
            detail,
        })
    }
}

/// AR(p) with the order chosen on a validation tail (see the module documentation): the
/// coefficients of the chosen order refitted on all of `train`.
fn fit_ar_auto(train: &[f64], max_order: usize, horizon: usize) -> Result<Vec<f64>> {
    let n = train.len();
    let v = horizon.max(n / 5).min(n / 2);
    let head = n - v;
    // Orders whose fit on the head has at least two equations per coefficient.
    let top = max_order.min(head.saturating_sub(2) / 2);
    let mut best: Option<(f64, usize)> = None;
    for p in 1..=top {
        let Ok(coefficients) = fit_ar(&train[..head], p) else {
            continue;
        };
        let fitted = FittedBaseline {
            method: Baseline::Ar { order: p },
            coefficients,
            detail: FittedDetail::None,
        };
        let (mut sse, mut count) = (0.0, 0usize);
        for origin in head - 1..n - 1 {
            let steps = horizon.min(n - 1 - origin);
            let f = fitted.forecast(&train[..=origin], steps);
            for (k, p) in f.iter().enumerate() {
                sse += (train[origin + 1 + k] - p).powi(2);
                count += 1;
            }
        }
        let mse = sse / count.max(1) as f64;
        if mse.is_finite() && best.is_none_or(|(b, _)| mse < b) {
            best = Some((mse, p));
        }
    }
    let (_, p) = best.ok_or_else(|| {
        Error::InvalidData(format!(
            "ar(auto): {n} training values are too few to choose an order on validation"
        ))
    })?;
    fit_ar(train, p.min(n.saturating_sub(2) / 2).max(1))
}

/// A fitted baseline: forecasts from any history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FittedBaseline {
    /// The method.
    pub method: Baseline,
    /// AR(p): `[c, φ_1, ..., φ_p]` (`φ_1` multiplies the latest value); empty otherwise.
    pub coefficients: Vec<f64>,
    /// ETS, Theta and Naive2 parameters.
    #[serde(default = "no_detail")]
    pub detail: FittedDetail,
}

fn no_detail() -> FittedDetail {
    FittedDetail::None
}

impl FittedBaseline {
    /// The method with its fitted choice: `ar(3)` for a chosen order, `ets(A,Ad,A)`,
    /// `theta` (`theta(seasonal)` when it adjusted the season), `naive2`, else
    /// [`Baseline::name`].
    pub fn name(&self) -> String {
        match (&self.method, &self.detail) {
            (Baseline::ArAuto { .. }, _) => {
                format!("ar({})", self.coefficients.len().saturating_sub(1))
            }
            (_, FittedDetail::Ets(e)) => e.name(),
            (_, FittedDetail::Theta(t)) if t.seasonal.is_some() => "theta(seasonal)".into(),
            _ => self.method.name(),
        }
    }

    /// Forecasts `horizon` steps after the end of `history` (all values up to the forecast
    /// origin), which starts where the training part started (ETS's initial states and the
    /// seasonal indices belong to its first step). A history shorter than the method needs (one
    /// value; a season; `p` lags) falls back to repeating its last value, or to zeros when it is
    /// empty.
    pub fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64> {
        let Some(&last) = history.last() else {
            return vec![0.0; horizon];
        };
        let t = history.len();
        match self.method {
            Baseline::Naive => vec![last; horizon],
            Baseline::SeasonalNaive { period } if period > 0 && t >= period => (1..=horizon)
                .map(|h| {
                    let back = period * h.div_ceil(period);
                    history[t + h - back - 1]
                })
                .collect(),
            Baseline::Drift if t >= 2 => {
                let slope = (last - history[0]) / (t - 1) as f64;
                (1..=horizon).map(|h| last + h as f64 * slope).collect()
            }
            Baseline::Ets { .. } | Baseline::Theta { .. } | Baseline::Naive2 { .. } => {
                match &self.detail {
                    FittedDetail::Ets(e) => e.forecast(history, horizon),
                    FittedDetail::Theta(th) => th.forecast(history, horizon),
                    FittedDetail::Naive2 { indices } => {
                        naive2_forecast(indices.as_ref(), history, horizon)
                    }
                    FittedDetail::None => vec![last; horizon],
                }
            }
            Baseline::Ar { .. } | Baseline::ArAuto { .. }
                if !self.coefficients.is_empty() && t + 1 >= self.coefficients.len() =>
            {
                let order = self.coefficients.len() - 1;
                let mut window: Vec<f64> = history[t - order..].to_vec();
                let mut out = Vec::with_capacity(horizon);
                for _ in 0..horizon {
                    let next = self.coefficients[0]
                        + (1..=order)
                            .map(|i| self.coefficients[i] * window[window.len() - i])
                            .sum::<f64>();
                    out.push(next);
                    window.remove(0);
                    window.push(next);
                }
                out
            }
            _ => vec![last; horizon],
        }
    }
}

/// Least-squares AR(p) with intercept: solves the normal equations `(XᵀX) β = Xᵀy` by Cholesky,
/// with a tiny ridge (`1e-10` times the mean diagonal) so a perfectly collinear design (a constant
/// or exactly periodic series) still has a unique solution.
fn fit_ar(train: &[f64], order: usize) -> Result<Vec<f64>> {
    let k = order + 1;
    let mut xtx = vec![0.0f64; k * k];
    let mut xty = vec![0.0f64; k];
    let mut row = vec![0.0f64; k];
    for t in order..train.len() {
        row[0] = 1.0;
        for i in 1..=order {
            row[i] = train[t - i];
        }
        for a in 0..k {
            xty[a] += row[a] * train[t];
            for b in 0..k {
                xtx[a * k + b] += row[a] * row[b];
            }
        }
    }
    let ridge = 1e-10 * (0..k).map(|i| xtx[i * k + i]).sum::<f64>() / k as f64;
    for i in 0..k {
        xtx[i * k + i] += ridge.max(f64::MIN_POSITIVE);
    }
    solve_spd(&mut xtx, &mut xty, k).ok_or_else(|| {
        Error::InvalidData(format!(
            "ar({order}): the lagged values are degenerate; try a smaller order"
        ))
    })?;
    Ok(xty)
}

/// Solves `A x = b` for symmetric positive definite `A` (`n x n`, row-major) in place by
/// Cholesky; `b` becomes `x`. `None` when `A` is not positive definite.
pub(crate) fn solve_spd(a: &mut [f64], b: &mut [f64], n: usize) -> Option<()> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    Some(())
}

/// The season length of `x`: the lag in `2..=max_period` with the highest autocorrelation of the
/// first differences among its local maxima, if that correlation exceeds 0.3. Differencing
/// first removes a trend, which would otherwise dominate the autocorrelation of every lag.
/// `None` for a series without a clear season (or shorter than three seasons).
pub fn detect_season(x: &[f64], max_period: usize) -> Option<usize> {
    if x.len() < 4 {
        return None;
    }
    let diff: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let max_period = max_period.min(diff.len() / 3);
    if max_period < 2 {
        return None;
    }
    let acf = super::lags::autocorrelation(&diff, max_period + 1);
    (2..=max_period.min(acf.len().saturating_sub(2)))
        .filter(|&k| acf[k] > acf[k - 1] && acf[k] >= acf[k + 1] && acf[k] > 0.3)
        .max_by(|&a, &b| acf[a].total_cmp(&acf[b]).then(b.cmp(&a)))
}

/// The seasonal period a calendar step implies: 12 for monthly, 4 for quarterly, 2 for
/// half-yearly, 7 for daily, 52 for weekly, 24 for hourly data; `None` for yearly, numeric and
/// other steps, which have no calendar season (cycles there, such as the 11 years of sunspots,
/// come from the autocorrelation alone).
pub fn calendar_period(step: &super::series::Step) -> Option<usize> {
    use super::series::Step;
    match *step {
        Step::Months(1) => Some(12),
        Step::Months(3) => Some(4),
        Step::Months(6) => Some(2),
        Step::Days(1) => Some(7),
        Step::Days(7) => Some(52),
        Step::Seconds(3600) => Some(24),
        _ => None,
    }
}

/// The season length of `x` observed with time step `step`: when the step implies a calendar
/// period ([`calendar_period`]), that period if the autocorrelation of the first differences
/// supports it (a local maximum above 0.3, the test of [`detect_season`]) and no season
/// otherwise; without a calendar period, [`detect_season`].
///
/// Why: on a calendar grid the plausible seasons are the calendar's (Hyndman &
/// Athanasopoulos ch. 2.1: the period is "the number of observations before the seasonal
/// pattern repeats", set from the frequency, as R's `ts` and statsforecast's `season_length`
/// do). The free search found a period of 3 on quarterly, seasonally adjusted US CPI, a bump
/// of a persistent autocorrelation, and gave the seasonal candidates and the MASE scale a
/// season that does not exist.
pub fn detect_season_for(
    x: &[f64],
    max_period: usize,
    step: &super::series::Step,
) -> Option<usize> {
    let Some(p) = calendar_period(step) else {
        return detect_season(x, max_period);
    };
    if x.len() < 4 {
        return None;
    }
    let diff: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    // Three full seasons of differences, as the free search asks (`max_period`, a cap for the
    // free search, does not bound the calendar's own period).
    if p < 2 || p > diff.len() / 3 {
        return None;
    }
    let acf = super::lags::autocorrelation(&diff, p + 2);
    if acf.len() < p + 2 {
        return None;
    }
    (acf[p] > acf[p - 1] && acf[p] >= acf[p + 1] && acf[p] > 0.3).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn naive_seasonal_and_drift_match_hand_values() {
        let y = [10.0, 12.0, 11.0, 13.0, 14.0];
        assert_eq!(
            Baseline::Naive.fit(&y).expect("fits").forecast(&y, 3),
            vec![14.0; 3]
        );
        // drift: slope (14 - 10) / 4 = 1.
        assert_eq!(
            Baseline::Drift.fit(&y).expect("fits").forecast(&y, 3),
            vec![15.0, 16.0, 17.0]
        );
        // season 2: ... 13, 14 | 13, 14, 13
        let s = Baseline::SeasonalNaive { period: 2 }.fit(&y).expect("fits");
        assert_eq!(s.forecast(&y, 3), vec![13.0, 14.0, 13.0]);
        let s = Baseline::SeasonalNaive { period: 3 }.fit(&y).expect("fits");
        assert_eq!(s.forecast(&y, 4), vec![11.0, 13.0, 14.0, 11.0]);
    }

    #[test]
    fn ar_recovers_known_coefficients() {
        // y_t = 0.5 + 0.6 y_{t-1} - 0.3 y_{t-2} + small noise.
        let mut rng = Rng::seed_from(4);
        let mut y = vec![0.0f64, 0.0];
        for t in 2..20000 {
            let v = 0.5 + 0.6 * y[t - 1] - 0.3 * y[t - 2] + 0.1 * rng.normal() as f64;
            y.push(v);
        }
        let fit = Baseline::Ar { order: 2 }.fit(&y).expect("fits");
        let c = &fit.coefficients;
        assert!(
            (c[0] - 0.5).abs() < 0.04 && (c[1] - 0.6).abs() < 0.04 && (c[2] + 0.3).abs() < 0.04,
            "{c:?}"
        );
        // Noise-free: the forecast continues the recursion exactly.
        let mut z = vec![1.0f64, 2.0];
        for t in 2..40 {
            z.push(0.5 + 0.6 * z[t - 1] - 0.3 * z[t - 2]);
        }
        let fit = Baseline::Ar { order: 2 }.fit(&z[..30]).expect("fits");
        let f = fit.forecast(&z[..30], 10);
        for (g, w) in f.iter().zip(&z[30..]) {
            assert!((g - w).abs() < 1e-6, "{f:?}");
        }
    }

    #[test]
    fn ar_survives_a_constant_series() {
        let y = [3.0; 20];
        let fit = Baseline::Ar { order: 3 }.fit(&y).expect("fits");
        let f = fit.forecast(&y, 2);
        assert!(f.iter().all(|v| (v - 3.0).abs() < 1e-6), "{f:?}");
    }

    #[test]
    fn short_or_bad_training_parts_are_errors() {
        assert!(Baseline::Ar { order: 5 }.fit(&[1.0; 11]).is_err());
        assert!(
            Baseline::SeasonalNaive { period: 12 }
                .fit(&[1.0; 11])
                .is_err()
        );
        assert!(
            Baseline::SeasonalNaive { period: 0 }
                .fit(&[1.0; 11])
                .is_err()
        );
        assert!(Baseline::Drift.fit(&[1.0]).is_err());
        assert!(Baseline::Naive.fit(&[1.0, f64::NAN]).is_err());
        assert_eq!(
            Baseline::Naive.fit(&[1.0]).expect("fits").forecast(&[], 2),
            vec![0.0; 2]
        );
    }

    #[test]
    fn a_calendar_step_chooses_the_calendar_period_or_none() {
        use crate::forecast::series::Step;
        let quarterly = Step::Months(3);
        // A quarterly pattern through a trend: season 4.
        let mut rng = Rng::seed_from(3);
        let q: Vec<f64> = (0..120)
            .map(|t| 0.2 * t as f64 + [2.0, -1.0, 0.5, -1.5][t % 4] + 0.2 * rng.normal() as f64)
            .collect();
        assert_eq!(detect_season_for(&q, 40, &quarterly), Some(4));
        // A 3-step cycle on a quarterly grid: the free search takes 3, the calendar rule
        // rejects it (no quarterly season) instead.
        let c: Vec<f64> = (0..120)
            .map(|t| [3.0, -1.0, -2.0][t % 3] + 0.2 * rng.normal() as f64)
            .collect();
        assert_eq!(detect_season(&c, 40), Some(3));
        assert_eq!(detect_season_for(&c, 40, &quarterly), None);
        // Monthly data with a yearly pattern: 12; yearly data keeps the free search (a
        // 6-step cycle stays 6).
        let m: Vec<f64> = (0..240)
            .map(|t| 3.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin())
            .collect();
        assert_eq!(detect_season_for(&m, 80, &Step::Months(1)), Some(12));
        let y: Vec<f64> = (0..120)
            .map(|t| 3.0 * (2.0 * std::f64::consts::PI * t as f64 / 6.0).sin())
            .collect();
        assert_eq!(detect_season_for(&y, 40, &Step::Months(12)), Some(6));
        assert_eq!(calendar_period(&Step::Number(1.0)), None);
        // Too short for three seasons: none.
        assert_eq!(detect_season_for(&m[..30], 10, &Step::Months(1)), None);
    }

    #[test]
    fn season_is_found_through_a_trend() {
        let mut rng = Rng::seed_from(1);
        let y: Vec<f64> = (0..240)
            .map(|t| {
                0.5 * t as f64
                    + 3.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin()
                    + 0.3 * rng.normal() as f64
            })
            .collect();
        assert_eq!(detect_season(&y, 30), Some(12));
        let noise: Vec<f64> = (0..240).map(|_| rng.normal() as f64).collect();
        assert_eq!(detect_season(&noise, 30), None);
        let weekly: Vec<f64> = (0..140)
            .map(|t| [5.0, 1.0, 1.0, 2.0, 1.0, 8.0, 9.0][t % 7])
            .collect();
        assert_eq!(detect_season(&weekly, 30), Some(7));
    }

    #[test]
    fn ar_auto_chooses_the_generating_order() {
        // An AR(2) with a long memory: one lag is not enough, more add nothing.
        let mut rng = Rng::seed_from(9);
        let mut y = vec![0.0f64, 0.0];
        for t in 2..600 {
            y.push(1.0 + 1.5 * y[t - 1] - 0.8 * y[t - 2] + 0.1 * rng.normal() as f64);
        }
        let fit = Baseline::ArAuto { max_order: 8 }
            .fit_for_horizon(&y, 4)
            .expect("fits");
        let p = fit.coefficients.len() - 1;
        // Validation noise may add a lag or a few; one lag would miss the oscillation.
        assert!((2..=6).contains(&p), "{}", fit.name());
        assert_eq!(fit.name(), format!("ar({p})"));
        assert!(Baseline::ArAuto { max_order: 0 }.fit(&y).is_err());
        assert!(Baseline::ArAuto { max_order: 3 }.fit(&y[..5]).is_err());
    }

    /// Every fit serializes and reads back (the model file and `--json` hold them): seasonal and
    /// non-seasonal series, so that both shapes of every detail (e.g. Naive2 without indices) occur.
    #[test]
    fn every_fitted_candidate_survives_json() {
        let mut rng = Rng::seed_from(11);
        let seasonal: Vec<f64> = (0..72)
            .map(|t| 20.0 + 4.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin())
            .map(|v| v + 0.3 * rng.normal() as f64)
            .collect();
        let flat: Vec<f64> = (0..72).map(|_| 10.0 + rng.normal() as f64).collect();
        for (y, season) in [(&seasonal, 12), (&flat, 12), (&flat, 1)] {
            for b in statistical_candidates(season) {
                let fit = b.fit_for_horizon(y, 6).expect("fits");
                let text = serde_json::to_string(&fit)
                    .unwrap_or_else(|e| panic!("{} does not serialize: {e}", fit.name()));
                let back: FittedBaseline = serde_json::from_str(&text).expect("reads back");
                assert_eq!(back.forecast(y, 6), fit.forecast(y, 6), "{}", fit.name());
            }
        }
    }

    #[test]
    fn statistical_candidates_fit_and_forecast_a_seasonal_series() {
        let mut rng = Rng::seed_from(3);
        let y: Vec<f64> = (0..72)
            .map(|t| {
                20.0 + 0.2 * t as f64
                    + 4.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin()
                    + 0.3 * rng.normal() as f64
            })
            .collect();
        let candidates = statistical_candidates(12);
        assert_eq!(candidates.len(), 7);
        assert!(
            statistical_candidates(1)
                .iter()
                .all(|b| !matches!(b, Baseline::SeasonalNaive { .. }))
        );
        for b in candidates {
            let fit = b.fit_for_horizon(&y[..60], 12).expect("fits");
            let f = fit.forecast(&y[..60], 12);
            let mae = f
                .iter()
                .zip(&y[60..])
                .map(|(p, t)| (p - t).abs())
                .sum::<f64>()
                / 12.0;
            assert!(mae.is_finite(), "{}", fit.name());
            // ETS models trend and season together; the others may miss one of them.
            if matches!(b, Baseline::Ets { .. }) {
                assert!(mae < 1.5, "{}: {mae}", fit.name());
            }
        }
        // Serde round trip of a fitted model with details.
        let fit = Baseline::Ets { season: 12 }.fit(&y).expect("fits");
        let text = serde_json::to_string(&fit).expect("serializes");
        let back: FittedBaseline = serde_json::from_str(&text).expect("parses");
        assert_eq!(back.forecast(&y, 3), fit.forecast(&y, 3));
    }
}
