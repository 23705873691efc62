//! Quickprop (Fahlman, 1988) as FANN implements it (`fann_update_weights_quickprop`), full batch.
//!
//! Per weight, with the slope `s = -g + decay * w` (FANN's slopes point downhill; `decay` is
//! negative, so it pulls weights toward zero), the previous step `d` and previous slope `s'`,
//! and `shrink = mu / (1 + mu)`:
//! - `d > 0.001`: `step = (s > 0 ? eps s : 0) + (s > shrink s' ? mu d : d s / (s' - s))`;
//! - `d < -0.001`: the mirror image (`s < 0`, `s < shrink s'`);
//! - otherwise `step = eps s` (a plain gradient step starts and restarts the secant).
//!
//! Then `w += step`, clamped to `[-1500, 1500]` as in FANN. `eps` is the learning rate; FANN
//! divides its rate by the number of samples because its slopes are sums, while our gradient
//! is already the mean, so the same `eps` means the same step. FANN's defaults: learning rate
//! 0.7, `mu` 1.75, `decay` -0.0001.

/// Quickprop hyperparameters for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuickpropStep {
    /// Gradient-step size (FANN's `learning_rate`).
    pub eps: f32,
    /// Maximum growth factor of a step.
    pub mu: f32,
    /// Weight decay folded into the slope (negative shrinks weights).
    pub decay: f32,
}

/// FANN's bound on weights under Quickprop.
const WEIGHT_LIMIT: f32 = 1500.0;

impl QuickpropStep {
    /// One update. `prev_step` and `prev_slope` (zero at first) are updated in place; `decay`
    /// applies only when `decay_here` (weights, not biases).
    pub fn update(
        &self,
        params: &mut [f32],
        grads: &[f32],
        prev_step: &mut [f32],
        prev_slope: &mut [f32],
        decay_here: bool,
    ) {
        let shrink = self.mu / (1.0 + self.mu);
        let decay = if decay_here { self.decay } else { 0.0 };
        for i in 0..params.len() {
            let w = params[i];
            let d = prev_step[i];
            let s = -grads[i] + decay * w;
            let sp = prev_slope[i];
            let mut step = 0.0f32;
            if d > 0.001 {
                if s > 0.0 {
                    step += self.eps * s;
                }
                if s > shrink * sp {
                    step += self.mu * d;
                } else {
                    step += d * s / (sp - s);
                }
            } else if d < -0.001 {
                if s < 0.0 {
                    step += self.eps * s;
                }
                if s < shrink * sp {
                    step += self.mu * d;
                } else {
                    step += d * s / (sp - s);
                }
            } else {
                step += self.eps * s;
            }
            prev_step[i] = step;
            params[i] = (w + step).clamp(-WEIGHT_LIMIT, WEIGHT_LIMIT);
            prev_slope[i] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_steps() {
        let hp = QuickpropStep {
            eps: 0.5,
            mu: 1.75,
            decay: 0.0,
        };
        let (mut d, mut sp) = ([0.0f32; 2], [0.0f32; 2]);
        let mut w = [0.0f32, 0.0];
        // First step: a gradient step, step = eps * (-g).
        hp.update(&mut w, &[-1.0, 2.0], &mut d, &mut sp, true);
        assert_eq!(w, [0.5, -1.0]);
        assert_eq!(d, [0.5, -1.0]);
        assert_eq!(sp, [1.0, -2.0]);
        // Weight 0: d = 0.5 > 0, s = 0.25 > 0 -> eps s = 0.125; s = 0.25 <= shrink * 1 = 0.636
        // -> secant d s / (s' - s) = 0.5 * 0.25 / 0.75. Weight 1: d = -1, s = -3 < 0 ->
        // eps s = -1.5; s < shrink * (-2) = -1.27 -> mu d = -1.75.
        hp.update(&mut w, &[-0.25, 3.0], &mut d, &mut sp, true);
        let secant = 0.5f32 * 0.25 / 0.75;
        assert_eq!(d[0], 0.125 + secant);
        assert_eq!(w[0], 0.5 + (0.125 + secant));
        assert_eq!(d[1], -1.5 - 1.75);
        assert_eq!(w[1], -1.0 + (-1.5 - 1.75));
    }

    #[test]
    fn decay_pulls_weights_toward_zero_and_finds_a_quadratic_minimum() {
        // f(w) = (w - 3)^2: the secant step is exact on a quadratic.
        let hp = QuickpropStep {
            eps: 0.1,
            mu: 1.75,
            decay: 0.0,
        };
        let (mut d, mut sp, mut w) = ([0.0f32], [0.0f32], [0.0f32]);
        for _ in 0..30 {
            let g = [2.0 * (w[0] - 3.0)];
            hp.update(&mut w, &g, &mut d, &mut sp, true);
        }
        assert!((w[0] - 3.0).abs() < 1e-4, "w = {}", w[0]);
        let hp = QuickpropStep { decay: -0.5, ..hp };
        let (mut d, mut sp, mut w) = ([0.0f32], [0.0f32], [2.0f32]);
        hp.update(&mut w, &[0.0], &mut d, &mut sp, true);
        assert_eq!(w[0], 2.0 - 0.1 * 0.5 * 2.0);
    }
}
