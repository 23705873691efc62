//! SARPROP (Treadgold & Gedeon, 1998) as FANN implements it (`fann_update_weights_sarprop`):
//! RPROP with a weight-decay term and a noise term that both fade with the epoch (simulated
//! annealing), full batch.
//!
//! Per weight, at epoch `t` (1-based) with `T` the temperature, the slope is
//! `s = g + w * 2^(-T t + weight_decay_shift)` (the decay term on weights only). With
//! `p = s_prev * s`:
//! - `p > 0`: `delta = min(delta * eta_plus, delta_max)`, `w -= sign(s) * delta`;
//! - `p < 0`: when `delta < step_error_threshold_factor * MSE`, `delta = delta * eta_minus +
//!   u * RMSE * 2^(-T t + step_error_shift)` (`u` uniform in [0, 1), the noise that lets a weight
//!   escape a shallow minimum); else `delta = max(delta * eta_minus, delta_min)`; the slope is
//!   zeroed and the weight does not move;
//! - `p = 0`: `w -= sign(s) * delta` (FANN leaves the new step undefined here; we keep `delta`).
//!
//! `MSE` is the full-batch training loss before the step. FANN's defaults: `weight_decay_shift`
//! -6.644, `step_error_threshold_factor` 0.1, `step_error_shift` 1.385, `temperature` 0.015, and
//! RPROP's `eta_plus` 1.2, `eta_minus` 0.5, `delta_max` 50, `delta_min` 1e-6; `delta0` is 0.0125
//! (FANN: 0.1), as for `rprop`.
//! The noise is drawn from a stream seeded by the run's seed and the epoch, so runs repeat.

use super::rprop::RpropStep;
use crate::rng::Rng;

/// SARPROP hyperparameters (besides RPROP's) and the epoch's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SarpropStep {
    /// The RPROP part.
    pub rprop: RpropStep,
    /// Exponent shift of the decaying weight-decay term.
    pub weight_decay_shift: f32,
    /// A shrinking step below this fraction of the MSE gets noise.
    pub step_error_threshold_factor: f32,
    /// Exponent shift of the noise term.
    pub step_error_shift: f32,
    /// Annealing temperature.
    pub temperature: f32,
    /// 1-based epoch.
    pub epoch: u64,
    /// Training loss before the step.
    pub mse: f64,
}

impl SarpropStep {
    /// One update; `steps` (start at `delta0`) and `prev` (start at 0) are updated in place.
    /// `decay_here` is false for biases (no decay term).
    pub fn update(
        &self,
        params: &mut [f32],
        grads: &[f32],
        steps: &mut [f32],
        prev: &mut [f32],
        decay_here: bool,
        rng: &mut Rng,
    ) {
        let t = self.epoch as f64;
        let temp = self.temperature as f64;
        let decay = if decay_here {
            (2f64).powf(-temp * t + self.weight_decay_shift as f64) as f32
        } else {
            0.0
        };
        let noise_scale = (self.mse.max(0.0).sqrt()
            * (2f64).powf(-temp * t + self.step_error_shift as f64))
            as f32;
        let threshold = (self.step_error_threshold_factor as f64 * self.mse) as f32;
        let hp = &self.rprop;
        for i in 0..params.len() {
            let s = grads[i] + params[i] * decay;
            let p = prev[i] * s;
            let mut s_eff = s;
            if p > 0.0 {
                steps[i] = (steps[i] * hp.eta_plus).min(hp.delta_max);
            } else if p < 0.0 {
                steps[i] = if steps[i] < threshold {
                    steps[i] * hp.eta_minus + rng.uniform() * noise_scale
                } else {
                    (steps[i] * hp.eta_minus).max(hp.delta_min)
                };
                s_eff = 0.0;
            }
            if s_eff > 0.0 {
                params[i] -= steps[i];
            } else if s_eff < 0.0 {
                params[i] += steps[i];
            }
            prev[i] = s_eff;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(epoch: u64, mse: f64) -> SarpropStep {
        SarpropStep {
            rprop: RpropStep {
                eta_plus: 1.2,
                eta_minus: 0.5,
                delta_min: 1e-6,
                delta_max: 50.0,
            },
            weight_decay_shift: -6.644,
            step_error_threshold_factor: 0.1,
            step_error_shift: 1.385,
            temperature: 0.015,
            epoch,
            mse,
        }
    }

    #[test]
    fn without_decay_or_noise_it_is_rprop() {
        // Biases (no decay) and a large step (no noise): the same as iRPROP-.
        let mut rng = Rng::seed_from(0);
        let (mut a, mut sa, mut pa) = ([1.0f32, -1.0], [0.1f32; 2], [0.0f32; 2]);
        let (mut b, mut sb, mut pb) = (a, sa, pa);
        for (e, g) in [[1.0f32, -2.0], [0.5, 1.0], [0.25, 1.0]].iter().enumerate() {
            hp(e as u64 + 1, 1e-6).update(&mut a, g, &mut sa, &mut pa, false, &mut rng);
            hp(0, 0.0).rprop.update(&mut b, g, &mut sb, &mut pb);
        }
        assert_eq!((a, sa, pa), (b, sb, pb));
    }

    #[test]
    fn hand_computed_decay_and_noise() {
        let mut rng = Rng::seed_from(5);
        let mut w = [2.0f32];
        let mut steps = [0.01f32];
        let mut prev = [-1.0f32];
        let h = hp(10, 1.0);
        // Slope: g + w * 2^(-0.15 - 6.644); p < 0 and 0.01 < 0.1 * MSE: noisy shrink, no move.
        h.update(&mut w, &[1.0], &mut steps, &mut prev, true, &mut rng);
        let u = Rng::seed_from(5).uniform();
        let expect = 0.01f32 * 0.5 + u * (2f64.powf(-0.15 + 1.385) as f32);
        assert!((steps[0] - expect).abs() < 1e-6, "{} vs {expect}", steps[0]);
        assert_eq!(w[0], 2.0);
        assert_eq!(prev[0], 0.0);
        // Next: p = 0 -> move by the step against the slope's sign.
        h.update(&mut w, &[1.0], &mut steps, &mut prev, true, &mut rng);
        assert_eq!(w[0], 2.0 - steps[0]);
        let decay = 2f64.powf(-0.15 - 6.644) as f32;
        assert_eq!(prev[0], 1.0 + 2.0 * decay);
    }
}
