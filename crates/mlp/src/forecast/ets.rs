//! Exponential smoothing with additive errors (ETS; Hyndman, Koehler, Ord & Snyder,
//! *Forecasting with Exponential Smoothing*, 2008), fitted by least squares and chosen by AICc.
//!
//! State-space (error-correction) form for one step `t`, with `e_t = y_t - ŷ_t`:
//!
//! ```text
//! ŷ_t = l_{t-1} + φ b_{t-1} + s_{t-m}
//! l_t = l_{t-1} + φ b_{t-1} + α e_t
//! b_t = φ b_{t-1} + β e_t
//! s_t = s_{t-m} + γ e_t
//! ```
//!
//! and the forecast `ŷ_{n+h} = l_n + (φ + φ² + … + φ^h) b_n + s_{n+h-m⌈h/m⌉}`. Without a trend
//! `b ≡ 0`; without damping `φ = 1`; without a season `s ≡ 0`. (`β` here is `α β*` of the
//! Holt-Winters recursions that statsmodels' `ExponentialSmoothing` uses; `γ` is the same.)
//!
//! **Variants** tried: simple (A,N,N), Holt linear (A,A,N), damped trend (A,Ad,N), and the same three
//! with additive seasonality (…,A) when a season `m > 1` is given and the training part holds at
//! least two full seasons.
//!
//! **Estimation.** Parameters and initial states minimise the in-sample sum of squared one-step
//! errors (SSE). For fixed smoothing parameters the errors are affine in the initial states
//! (`l_0`, `b_0`, and `s` constrained to sum to zero), so those come from a small least-squares
//! solve ("concentrating" them out). The fit alternates three rounds of: initial states by that
//! solve for the current smoothing parameters, then a Nelder-Mead search of the smoothing
//! parameters with those states held, over unbounded coordinates mapped into the admissible
//! region `0 < α < 1`, `0 < β < α`, `0 < γ < 1 - α`, `0.8 ≤ φ ≤ 0.98` (the usual bounds of R's
//! `forecast::ets`). The search is one to four dimensional whatever the season length, and
//! each of its evaluations is one pass over the series.
//!
//! **Selection.** Among the fitted variants the lowest
//! `AICc = n ln(SSE/n) + 2k + 2k(k+1)/(n-k-1)` wins, `k` counting the smoothing parameters, the
//! initial states (`m - 1` seasonal ones) and the error variance, as `forecast::ets` does.

use super::baselines::solve_spd;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// A fitted ETS model with additive errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EtsFit {
    /// Has a trend.
    pub trend: bool,
    /// The trend is damped (`φ < 1`).
    pub damped: bool,
    /// Season length (0: not seasonal).
    pub season: usize,
    /// Level smoothing.
    pub alpha: f64,
    /// Trend smoothing (0 without a trend).
    pub beta: f64,
    /// Seasonal smoothing (0 without a season).
    pub gamma: f64,
    /// Damping (1 when not damped).
    pub phi: f64,
    /// Initial level `l_0`.
    pub level0: f64,
    /// Initial trend `b_0`.
    pub trend0: f64,
    /// Initial seasonal states; entry `i` is the state used by time index `i` (`t mod m`).
    pub seasonal0: Vec<f64>,
    /// In-sample sum of squared one-step errors.
    pub sse: f64,
    /// Corrected Akaike information criterion of the fit.
    pub aicc: f64,
}

impl EtsFit {
    /// `ets(A,Ad,A)`-style name: error, trend (N, A, Ad), season (N, A).
    pub fn name(&self) -> String {
        let trend = match (self.trend, self.damped) {
            (false, _) => "N",
            (true, false) => "A",
            (true, true) => "Ad",
        };
        let season = if self.season > 1 { "A" } else { "N" };
        format!("ets(A,{trend},{season})")
    }

    /// Runs the recursions over `y` from the initial states: the sum of squared one-step errors,
    /// and the final level, trend and seasonal states.
    fn filter(&self, y: &[f64]) -> (f64, f64, f64, Vec<f64>) {
        let s0 = if self.season > 1 {
            self.seasonal0.clone()
        } else {
            vec![0.0]
        };
        let mut errors = vec![0.0; y.len()];
        let (l, b, s) = run(
            &self.smoothing(),
            Some(y),
            y.len(),
            self.level0,
            if self.trend { self.trend0 } else { 0.0 },
            s0,
            &mut errors,
        );
        (errors.iter().map(|e| e * e).sum(), l, b, s)
    }

    fn smoothing(&self) -> Smoothing {
        Smoothing {
            alpha: self.alpha,
            beta: self.beta,
            gamma: self.gamma,
            phi: if self.trend { self.phi } else { 1.0 },
        }
    }

    /// Forecasts `horizon` steps after `history`, a series that starts where the training part
    /// started (the initial states belong to its first step).
    pub fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64> {
        let (_, l, b, s) = self.filter(history);
        let n = history.len();
        let phi = if self.trend { self.phi } else { 1.0 };
        let mut damp = 0.0;
        let mut pow = 1.0;
        (1..=horizon)
            .map(|h| {
                pow *= phi;
                damp += pow;
                l + damp * b + s[(n + h - 1) % s.len()]
            })
            .collect()
    }
}

/// Smoothing parameters of one evaluation.
struct Smoothing {
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
}

/// The recursions over `n` steps of `y` (`None`: all zeros) from the initial level `l`, trend
/// `b` and seasonal states `s` (one entry, zero, when not seasonal). Writes the one-step errors
/// and returns the final states.
fn run(
    p: &Smoothing,
    y: Option<&[f64]>,
    n: usize,
    mut l: f64,
    mut b: f64,
    mut s: Vec<f64>,
    errors: &mut [f64],
) -> (f64, f64, Vec<f64>) {
    let m = s.len();
    for t in 0..n {
        let i = t % m;
        let v = y.map_or(0.0, |y| y[t]);
        let e = v - (l + p.phi * b + s[i]);
        errors[t] = e;
        l = l + p.phi * b + p.alpha * e;
        b = p.phi * b + p.beta * e;
        s[i] += p.gamma * e;
    }
    (l, b, s)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// For fixed smoothing parameters the one-step errors are affine in the initial states, so the
/// least-squares states solve a small linear system: `e = a + R x` with `a` the errors from zero
/// states and column `j` of `R` the errors of the zero series from unit state `j`. Free states:
/// `l_0`, `b_0` (with a trend) and `s_0..s_{m-2}` (`s_{m-1}` makes the seasonal states sum to
/// zero, which keeps them apart from the level). Returns the SSE and `(l_0, b_0, seasonal)`.
fn concentrated(
    p: &Smoothing,
    y: &[f64],
    trend: bool,
    season: usize,
) -> (f64, (f64, f64, Vec<f64>)) {
    let n = y.len();
    let m = season.max(1);
    let seasonal = season > 1;
    let k = 1 + usize::from(trend) + if seasonal { m - 1 } else { 0 };
    let mut a = vec![0.0; n];
    run(p, Some(y), n, 0.0, 0.0, vec![0.0; m], &mut a);
    let mut columns = vec![vec![0.0; n]; k];
    let state = |j: usize| -> (f64, f64, Vec<f64>) {
        let mut s = vec![0.0; m];
        match j {
            0 => (1.0, 0.0, s),
            1 if trend => (0.0, 1.0, s),
            _ => {
                let i = j - 1 - usize::from(trend);
                s[i] = 1.0;
                s[m - 1] = -1.0;
                (0.0, 0.0, s)
            }
        }
    };
    for (j, col) in columns.iter_mut().enumerate() {
        let (l, b, s) = state(j);
        run(p, None, n, l, b, s, col);
    }
    let mut rtr = vec![0.0; k * k];
    let mut rta = vec![0.0; k];
    for i in 0..k {
        rta[i] = -columns[i].iter().zip(&a).map(|(r, e)| r * e).sum::<f64>();
        for j in i..k {
            let v: f64 = columns[i].iter().zip(&columns[j]).map(|(x, z)| x * z).sum();
            rtr[i * k + j] = v;
            rtr[j * k + i] = v;
        }
    }
    let ridge = 1e-10 * (0..k).map(|i| rtr[i * k + i]).sum::<f64>() / k as f64;
    for i in 0..k {
        rtr[i * k + i] += ridge.max(f64::MIN_POSITIVE);
    }
    if solve_spd(&mut rtr, &mut rta, k).is_none() {
        return (f64::INFINITY, (0.0, 0.0, Vec::new()));
    }
    let x = rta;
    let sse: f64 = (0..n)
        .map(|t| {
            let e = a[t] + (0..k).map(|j| x[j] * columns[j][t]).sum::<f64>();
            e * e
        })
        .sum();
    let mut s0 = Vec::new();
    if seasonal {
        let off = 1 + usize::from(trend);
        s0 = x[off..].to_vec();
        s0.push(-x[off..].iter().sum::<f64>());
    }
    (sse, (x[0], if trend { x[1] } else { 0.0 }, s0))
}

/// Minimises `f` by Nelder-Mead from `x0` with initial steps `step` (deterministic; standard
/// coefficients 1, 2, 0.5, 0.5). Returns the best point and value.
pub(crate) fn nelder_mead(
    f: &mut dyn FnMut(&[f64]) -> f64,
    x0: &[f64],
    step: f64,
    max_evals: usize,
) -> (Vec<f64>, f64) {
    let d = x0.len();
    let mut simplex: Vec<Vec<f64>> = vec![x0.to_vec()];
    for i in 0..d {
        let mut p = x0.to_vec();
        p[i] += step;
        simplex.push(p);
    }
    let mut values: Vec<f64> = simplex.iter().map(|p| sanitize(f(p))).collect();
    let mut evals = d + 1;
    while evals < max_evals {
        let mut order: Vec<usize> = (0..=d).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        simplex = order.iter().map(|&i| simplex[i].clone()).collect();
        values = order.iter().map(|&i| values[i]).collect();
        let (best, worst) = (values[0], values[d]);
        if (worst - best).abs() <= 1e-12 * (best.abs() + 1e-300) {
            break;
        }
        let centroid: Vec<f64> = (0..d)
            .map(|j| simplex[..d].iter().map(|p| p[j]).sum::<f64>() / d as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..d)
                .map(|j| centroid[j] + t * (simplex[d][j] - centroid[j]))
                .collect()
        };
        let reflected = along(-1.0);
        let fr = sanitize(f(&reflected));
        evals += 1;
        if fr < values[0] {
            let expanded = along(-2.0);
            let fe = sanitize(f(&expanded));
            evals += 1;
            if fe < fr {
                simplex[d] = expanded;
                values[d] = fe;
            } else {
                simplex[d] = reflected;
                values[d] = fr;
            }
        } else if fr < values[d - 1] {
            simplex[d] = reflected;
            values[d] = fr;
        } else {
            let contracted = if fr < values[d] {
                along(-0.5)
            } else {
                along(0.5)
            };
            let fc = sanitize(f(&contracted));
            evals += 1;
            if fc < values[d].min(fr) {
                simplex[d] = contracted;
                values[d] = fc;
            } else {
                for i in 1..=d {
                    let p: Vec<f64> = (0..d)
                        .map(|j| simplex[0][j] + 0.5 * (simplex[i][j] - simplex[0][j]))
                        .collect();
                    values[i] = sanitize(f(&p));
                    simplex[i] = p;
                }
                evals += d;
            }
        }
    }
    let best = (0..=d)
        .min_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0);
    (simplex[best].clone(), values[best])
}

/// Non-finite objective values count as worse than any finite one.
fn sanitize(v: f64) -> f64 {
    if v.is_finite() { v } else { f64::MAX }
}

/// Fits one ETS variant by least squares (see the module documentation). `None` when the
/// series is too short for it or the fit is not finite.
pub fn fit_variant(y: &[f64], trend: bool, damped: bool, season: usize) -> Option<EtsFit> {
    let season = if season > 1 && y.len() >= 2 * season {
        season
    } else if season > 1 {
        return None;
    } else {
        0
    };
    let damped = trend && damped;
    let n = y.len();
    let k = 1
        + usize::from(trend)
        + usize::from(damped)
        + usize::from(season > 1)
        + 1
        + usize::from(trend)
        + season.saturating_sub(1)
        + 1;
    if n < 3 || n <= k + 1 {
        return None;
    }
    // Coordinates: [α, (β), (φ), (γ)].
    let decode = |x: &[f64]| -> Smoothing {
        let mut it = x.iter().copied();
        let mut next = || it.next().unwrap_or(0.0);
        let alpha = 1e-4 + (0.9999 - 1e-4) * sigmoid(next());
        let beta = if trend { alpha * sigmoid(next()) } else { 0.0 };
        let phi = if damped {
            0.8 + 0.18 * sigmoid(next())
        } else {
            1.0
        };
        let gamma = if season > 1 {
            (1.0 - alpha) * sigmoid(next())
        } else {
            0.0
        };
        Smoothing {
            alpha,
            beta,
            gamma,
            phi,
        }
    };
    let mut x0 = vec![logit(0.3)];
    if trend {
        x0.push(logit(0.1));
    }
    if damped {
        x0.push(0.0);
    }
    if season > 1 {
        x0.push(logit(0.1));
    }
    // Alternate: initial states by least squares for the current smoothing parameters, then a
    // Nelder-Mead search of the parameters with those states held (each evaluation one pass
    // over the series), three rounds with shrinking steps.
    let mut x = x0;
    let mut states = concentrated(&decode(&x), y, trend, season).1;
    for (round, step) in [1.0, 0.3, 0.1].into_iter().enumerate() {
        let (l0, b0, s0) = states.clone();
        let mut errors = vec![0.0; n];
        let mut objective = |x: &[f64]| {
            let s = if season > 1 { s0.clone() } else { vec![0.0] };
            run(&decode(x), Some(y), n, l0, b0, s, &mut errors);
            errors.iter().map(|e| e * e).sum::<f64>()
        };
        let evals = if round == 0 { 200 } else { 100 } * x.len();
        x = nelder_mead(&mut objective, &x, step, evals).0;
        states = concentrated(&decode(&x), y, trend, season).1;
    }
    let p = decode(&x);
    let (sse, (level0, trend0, seasonal0)) = concentrated(&p, y, trend, season);
    if !sse.is_finite() {
        return None;
    }
    let nf = n as f64;
    let kf = k as f64;
    // A perfect fit would give ln 0; a floor keeps the comparison between variants finite.
    let ms = (sse / nf).max(1e-300);
    Some(EtsFit {
        trend,
        damped,
        season,
        alpha: p.alpha,
        beta: p.beta,
        gamma: p.gamma,
        phi: p.phi,
        level0,
        trend0,
        seasonal0,
        sse,
        aicc: nf * ms.ln() + 2.0 * kf + 2.0 * kf * (kf + 1.0) / (nf - kf - 1.0),
    })
}

/// Fits every admissible variant on `y` and keeps the one with the lowest AICc (see the module
/// documentation). `season` ≤ 1: no seasonal variants.
pub fn fit_ets(y: &[f64], season: usize) -> Result<EtsFit> {
    let mut seasons = vec![0];
    if season > 1 && y.len() >= 2 * season {
        seasons.push(season);
    }
    let mut best: Option<EtsFit> = None;
    for &m in &seasons {
        for (trend, damped) in [(false, false), (true, false), (true, true)] {
            if let Some(f) = fit_variant(y, trend, damped, m)
                && best.as_ref().is_none_or(|b| f.aicc < b.aicc)
            {
                best = Some(f);
            }
        }
    }
    best.ok_or_else(|| {
        Error::InvalidData(format!(
            "ets: {} training values are too few for exponential smoothing (at least 4)",
            y.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// statsmodels' AirPassengers-like monthly series (first 48 months of the classic data).
    const AIR: [f64; 48] = [
        112.0, 118.0, 132.0, 129.0, 121.0, 135.0, 148.0, 148.0, 136.0, 119.0, 104.0, 118.0, 115.0,
        126.0, 141.0, 135.0, 125.0, 149.0, 170.0, 170.0, 158.0, 133.0, 114.0, 140.0, 145.0, 150.0,
        178.0, 163.0, 172.0, 178.0, 199.0, 199.0, 184.0, 162.0, 146.0, 166.0, 171.0, 180.0, 193.0,
        181.0, 183.0, 218.0, 230.0, 242.0, 209.0, 191.0, 172.0, 194.0,
    ];

    fn fixed(trend: bool, damped: bool, season: usize) -> EtsFit {
        EtsFit {
            trend,
            damped,
            season,
            alpha: 0.4,
            beta: if trend { 0.4 * 0.2 } else { 0.0 },
            gamma: if season > 1 { 0.3 } else { 0.0 },
            phi: if damped { 0.9 } else { 1.0 },
            level0: 110.0,
            trend0: if trend { 1.5 } else { 0.0 },
            seasonal0: if season > 1 {
                vec![
                    -10.0, -5.0, 8.0, 3.0, -4.0, 9.0, 22.0, 21.0, 8.0, -9.0, -25.0, -18.0,
                ]
            } else {
                Vec::new()
            },
            sse: 0.0,
            aicc: 0.0,
        }
    }

    #[test]
    fn fixed_parameter_forecasts_match_statsmodels() {
        // statsmodels 0.15: ExponentialSmoothing(AIR, trend=T, damped_trend=D, seasonal=S,
        //   seasonal_periods=12, initialization_method="known", initial_level=110,
        //   initial_trend=1.5, initial_seasonal=[-10,-5,8,3,-4,9,22,21,8,-9,-25,-18])
        //   .fit(smoothing_level=0.4, smoothing_trend=0.2, smoothing_seasonal=0.3,
        //        damping_trend=0.9, optimized=False).forecast(5)
        // (statsmodels' smoothing_trend is β* = β / α.)
        let cases: [(bool, bool, usize, [f64; 5], f64); 5] = [
            (false, false, 0, [193.295277; 5], 17206.140116163486),
            (
                true,
                false,
                0,
                [
                    195.44933428,
                    194.09663206,
                    192.74392984,
                    191.39122762,
                    190.0385254,
                ],
                20958.020061691044,
            ),
            (
                true,
                true,
                0,
                [
                    192.63657579,
                    190.79951276,
                    189.14615604,
                    187.65813498,
                    186.31891604,
                ],
                19422.8858745821,
            ),
            (
                true,
                true,
                12,
                [
                    199.23583128,
                    206.13687811,
                    221.97494272,
                    211.5009232,
                    210.44245482,
                ],
                2750.440219702971,
            ),
            (
                false,
                false,
                12,
                [
                    195.27758507,
                    201.45480148,
                    216.71954337,
                    205.85485691,
                    204.25954885,
                ],
                3369.8660100585735,
            ),
        ];
        for (trend, damped, season, want, sse) in cases {
            let model = fixed(trend, damped, season);
            let f = model.forecast(&AIR, 5);
            for (g, w) in f.iter().zip(&want) {
                // The references are printed to 8 decimals.
                assert!((g - w).abs() < 1e-6, "{trend} {damped} {season}: {f:?}");
            }
            let got = model.filter(&AIR).0;
            assert!((got - sse).abs() < 1e-6 * sse, "{got} vs {sse}");
        }
    }

    #[test]
    fn least_squares_fits_reach_statsmodels_optimum() {
        // statsmodels 0.15, ExponentialSmoothing(y, trend=..., initialization_method="estimated")
        //   .fit(): sse and forecast. Both fits estimate α (β) and l_0 (b_0), so the optimum is
        // the same problem; statsmodels ends at α = 1 - 1.5e-8, our bound is 0.9999, so the SSE
        // may differ by that (1e-3 relative) and the forecasts by 0.1 %.
        let ses = fit_variant(&AIR[..30], false, false, 0).expect("fits");
        assert!(ses.sse <= 6014.0000233663 * 1.001, "{ses:?}");
        for v in ses.forecast(&AIR[..30], 2) {
            assert!((v - 177.99999991).abs() < 0.18, "{v}");
        }
        let holt = fit_variant(&AIR, true, false, 0).expect("fits");
        assert!(holt.sse <= 11870.936230198928 * 1.001, "{holt:?}");
        let f = holt.forecast(&AIR, 3);
        for (g, w) in f.iter().zip(&[195.74467761, 197.48935552, 199.23403343]) {
            assert!((g - w).abs() < 1e-3 * w, "{f:?}");
        }
        // Holt-Winters: statsmodels' seasonal states are free, ours sum to zero (the level
        // absorbs the difference: the same fits), so the optimum is the same SSE.
        let hw = fit_variant(&AIR, true, false, 12).expect("fits");
        assert!(hw.sse <= 1345.0012778673154 * 1.001, "{hw:?}");
        let f = hw.forecast(&AIR, 3);
        for (g, w) in f.iter().zip(&[196.70257043, 204.45251141, 221.95245352]) {
            // Both stop within 1e-6 of the same SSE: the forecasts agree to 1e-4.
            assert!((g - w).abs() < 1e-4 * w, "{f:?}");
        }
    }

    #[test]
    fn aicc_picks_the_seasonal_model_for_a_seasonal_series_and_follows_a_line() {
        let fit = fit_ets(&AIR, 12).expect("fits");
        assert_eq!(fit.season, 12, "{}", fit.name());
        let fit = fit_ets(&AIR, 1).expect("fits");
        assert_eq!(fit.season, 0);
        // A straight line: any trend model fits it exactly and continues it.
        let line: Vec<f64> = (0..40).map(|t| 5.0 + 2.0 * t as f64).collect();
        let fit = fit_ets(&line, 0).expect("fits");
        assert!(fit.trend, "{}", fit.name());
        for (h, v) in fit.forecast(&line, 4).iter().enumerate() {
            let want = 5.0 + 2.0 * (40 + h) as f64;
            assert!((v - want).abs() < 0.05 * (h as f64 + 1.0), "{v} vs {want}");
        }
        assert!(fit_ets(&[1.0, 2.0, 3.0], 0).is_err());
    }
}
