//! The Theta method (Assimakopoulos & Nikolopoulos, 2000), in the form Hyndman & Billah (2003)
//! showed it to be: simple exponential smoothing with a drift of half the series' linear trend,
//! computed as statsmodels' `ThetaModel` does by default (`use_mle=False`, `theta=2`).
//!
//! 1. With a season `m > 1` that passes the 90 % seasonality test of [`super::naive2`], the
//!    series is seasonally adjusted by classical decomposition (multiplicative when positive).
//! 2. `b_0` is the least-squares slope of the adjusted series on time.
//! 3. SES with initial level `ℓ_0 = x_1` (its first value) and `α` minimising the sum of squared
//!    one-step errors: a grid over `[0.0001, 0.9999]` refined by golden-section search.
//! 4. `x̂_{n+h} = ℓ_n + (b_0 / 2) (h - 1 + 1/α - (1-α)^n / α)`, re-seasonalised.

use super::naive2::{SeasonalIndices, seasonal_adjustment};
use serde::{Deserialize, Serialize};

/// A fitted Theta model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThetaFit {
    /// SES smoothing parameter.
    pub alpha: f64,
    /// Least-squares slope of the (adjusted) training part.
    pub b0: f64,
    /// Seasonal indices, when the training part tested seasonal.
    pub seasonal: Option<SeasonalIndices>,
}

/// SES with initial level `y_0`: the sum of squared one-step errors and the final level.
pub(crate) fn ses(y: &[f64], alpha: f64) -> (f64, f64) {
    let Some(&first) = y.first() else {
        return (0.0, 0.0);
    };
    let mut level = first;
    let mut sse = 0.0;
    for &v in y {
        let e = v - level;
        sse += e * e;
        level += alpha * e;
    }
    (sse, level)
}

/// The `α` in `[0.0001, 0.9999]` minimising the SES error of `y`: the best of a 50-point grid,
/// refined by golden-section search between its neighbours.
pub(crate) fn ses_alpha(y: &[f64]) -> f64 {
    let (lo, hi) = (1e-4, 0.9999);
    let points = 50;
    let at = |i: usize| lo + (hi - lo) * i as f64 / (points - 1) as f64;
    let best = (0..points)
        .min_by(|&a, &b| ses(y, at(a)).0.total_cmp(&ses(y, at(b)).0))
        .unwrap_or(0);
    let (mut a, mut b) = (at(best.saturating_sub(1)), at((best + 1).min(points - 1)));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (ses(y, c).0, ses(y, d).0);
    for _ in 0..80 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = ses(y, c).0;
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = ses(y, d).0;
        }
    }
    (a + b) / 2.0
}

/// Least-squares slope of `y` on `0, 1, ..., n-1`.
fn ols_slope(y: &[f64]) -> f64 {
    let n = y.len() as f64;
    if y.len() < 2 {
        return 0.0;
    }
    let tm = (n - 1.0) / 2.0;
    let ym = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (t, v) in y.iter().enumerate() {
        let dt = t as f64 - tm;
        sxy += dt * (v - ym);
        sxx += dt * dt;
    }
    sxy / sxx
}

impl ThetaFit {
    /// Fits the method on `y` (see the module documentation); `season` ≤ 1: not seasonal.
    pub fn fit(y: &[f64], season: usize) -> ThetaFit {
        let seasonal = seasonal_adjustment(y, season);
        let x = match &seasonal {
            Some(s) => s.adjust_all(y),
            None => y.to_vec(),
        };
        ThetaFit {
            alpha: ses_alpha(&x),
            b0: ols_slope(&x),
            seasonal,
        }
    }

    /// Forecasts `horizon` steps after `history` (a series starting where the training part
    /// started), keeping `α`, `b_0` and the seasonal indices.
    pub fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64> {
        let n = history.len();
        let x = match &self.seasonal {
            Some(s) => s.adjust_all(history),
            None => history.to_vec(),
        };
        let (_, level) = ses(&x, self.alpha);
        let a = self.alpha;
        let tail = if a > 0.0 {
            1.0 / a - (1.0 - a).powi(n as i32) / a
        } else {
            0.0
        };
        (1..=horizon)
            .map(|h| {
                let v = level + 0.5 * self.b0 * (h as f64 - 1.0 + tail);
                match &self.seasonal {
                    Some(s) => s.restore(n - 1 + h, v),
                    None => v,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::naive2::classical_indices;

    const AIR: [f64; 48] = [
        112.0, 118.0, 132.0, 129.0, 121.0, 135.0, 148.0, 148.0, 136.0, 119.0, 104.0, 118.0, 115.0,
        126.0, 141.0, 135.0, 125.0, 149.0, 170.0, 170.0, 158.0, 133.0, 114.0, 140.0, 145.0, 150.0,
        178.0, 163.0, 172.0, 178.0, 199.0, 199.0, 184.0, 162.0, 146.0, 166.0, 171.0, 180.0, 193.0,
        181.0, 183.0, 218.0, 230.0, 242.0, 209.0, 191.0, 172.0, 194.0,
    ];

    /// The series adjusted by its classical multiplicative indices (the seasonality test says
    /// 48 trending months are not seasonal, in statsmodels too, so the tests force it).
    fn forced() -> (SeasonalIndices, Vec<f64>) {
        let s = classical_indices(&AIR, 12).expect("test setup");
        let x = s.adjust_all(&AIR);
        (s, x)
    }

    #[test]
    fn fixed_alpha_forecasts_match_statsmodels() {
        // statsmodels 0.15:
        //   r = ThetaModel(AIR, period=12, use_test=False).fit(); r._alpha = 0.5
        //   x = AIR / seasonal_decompose(AIR, model="multiplicative", period=12).seasonal
        //   r._one_step = SimpleExpSmoothing(x, initialization_method="known",
        //       initial_level=x[0]).fit(smoothing_level=0.5, optimized=False).forecast(1)[0]
        //   r.forecast(6), r.params["b0"]
        let (seasonal, x) = forced();
        let fit = ThetaFit {
            alpha: 0.5,
            b0: ols_slope(&x),
            seasonal: Some(seasonal),
        };
        assert!((fit.b0 - 2.009951799759946).abs() < 1e-9, "{}", fit.b0);
        let f = fit.forecast(&AIR, 6);
        let want = [
            194.5998592114,
            204.1619648642,
            227.5690769719,
            211.520022964,
            209.4578875527,
            236.1453123082,
        ];
        for (g, w) in f.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{f:?}");
        }
    }

    #[test]
    fn fitted_forecasts_match_statsmodels() {
        // α comes from different optimizers (ours: grid + golden section on the SSE;
        // statsmodels: ExponentialSmoothing's bounded quasi-Newton), so α agrees to 1e-3 and the
        // forecasts to 0.05 % (the SSE is flat near its minimum, and both stop near it).
        let check = |fit: &ThetaFit, y: &[f64], alpha: f64, want: &[f64]| {
            assert!((fit.alpha - alpha).abs() < 1e-3, "{}", fit.alpha);
            let f = fit.forecast(y, want.len());
            for (g, w) in f.iter().zip(want) {
                assert!((g - w).abs() < 5e-4 * w.abs(), "{f:?}");
            }
        };
        // ThetaModel(AIR, period=12, use_test=False).fit(): alpha, forecast(6)
        let (seasonal, x) = forced();
        let fit = ThetaFit {
            alpha: ses_alpha(&x),
            b0: ols_slope(&x),
            seasonal: Some(seasonal),
        };
        check(
            &fit,
            &AIR,
            0.7513760737811169,
            &[
                195.3823389618,
                204.9790377827,
                228.4755694445,
                212.3586655366,
                210.2845077422,
                237.0729572981,
            ],
        );
        // ThetaModel(AIR, period=12).fit(): the test says not seasonal, as ours does.
        let fit = ThetaFit::fit(&AIR, 12);
        assert!(fit.seasonal.is_none());
        check(
            &fit,
            &AIR,
            0.9998707606369499,
            &[
                194.9721527944,
                195.9470225295,
                196.9218922646,
                197.8967619997,
                198.8716317349,
                199.84650147,
            ],
        );
        // ThetaModel(AIR[:30], deseasonalize=False).fit()
        let fit = ThetaFit::fit(&AIR[..30], 1);
        check(
            &fit,
            &AIR[..30],
            0.9998290924134826,
            &[
                178.770630089,
                179.5421540044,
                180.3136779199,
                181.0852018353,
            ],
        );
    }
}
