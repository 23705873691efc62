//! iRPROP- (Igel & Husken, 2000): resilient backpropagation with per-weight step sizes, full batch.
//!
//! Only the sign of each weight's gradient is used. With `p = g_prev * g`:
//! `p > 0`: `delta = min(delta * eta_plus, delta_max)`; `p < 0`: `delta = max(delta * eta_minus,
//! delta_min)` and the stored gradient is zeroed (so the next step neither grows nor shrinks the
//! step: the "minus" of iRPROP-, which never reverts a weight); `p = 0`: `delta` unchanged. Then
//! `w -= sign(g) * delta` (a zeroed gradient moves nothing).
//!
//! Defaults are FANN's (`fann_create_*`): `eta_plus` 1.2, `eta_minus` 0.5, `delta_max` 50;
//! except `delta0`, 0.0125 here against FANN's `rprop_delta_zero` 0.1 (see `OptimizerConfig`). FANN's `rprop_delta_min` is 0; we use 1e-6 so a
//! step can always grow back (FANN gets the same effect by flooring the previous step at 1e-4
//! inside its update). FANN's `fann_update_weights_irpropm` also treats `p = 0` as "grow",
//! which makes the step right after a sign change grow; we follow Igel & Husken (keep it).
//! The learning rate is not used: the step sizes are the only scale.

/// RPROP hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RpropStep {
    /// Step growth factor when the gradient keeps its sign.
    pub eta_plus: f32,
    /// Step shrink factor when the gradient changes sign.
    pub eta_minus: f32,
    /// Smallest step.
    pub delta_min: f32,
    /// Largest step.
    pub delta_max: f32,
}

impl RpropStep {
    /// One iRPROP- update of `params` from the full-batch gradient `grads`. `steps` holds the
    /// per-weight step sizes (initialise to `delta0`) and `prev` the previous gradient (zero at
    /// first); both are updated in place.
    pub fn update(&self, params: &mut [f32], grads: &[f32], steps: &mut [f32], prev: &mut [f32]) {
        for i in 0..params.len() {
            let g = grads[i];
            let p = prev[i] * g;
            let mut g_eff = g;
            if p > 0.0 {
                steps[i] = (steps[i] * self.eta_plus).min(self.delta_max);
            } else if p < 0.0 {
                steps[i] = (steps[i] * self.eta_minus).max(self.delta_min);
                g_eff = 0.0;
            }
            if g_eff > 0.0 {
                params[i] -= steps[i];
            } else if g_eff < 0.0 {
                params[i] += steps[i];
            }
            prev[i] = g_eff;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp() -> RpropStep {
        RpropStep {
            eta_plus: 1.2,
            eta_minus: 0.5,
            delta_min: 1e-6,
            delta_max: 50.0,
        }
    }

    #[test]
    fn hand_computed_steps() {
        // Weight 0: same sign twice (grows). Weight 1: sign flip (shrinks, no move, gradient
        // forgotten). Weight 2: zero gradient (no move, step kept).
        let mut w = [1.0f32, 1.0, 1.0];
        let mut steps = [0.1f32; 3];
        let mut prev = [0.0f32; 3];
        hp().update(&mut w, &[2.0, 3.0, 0.0], &mut steps, &mut prev);
        // First step: p = 0 everywhere, steps unchanged; w -= sign(g) * 0.1.
        assert_eq!(w, [0.9, 0.9, 1.0]);
        assert_eq!(steps, [0.1, 0.1, 0.1]);
        assert_eq!(prev, [2.0, 3.0, 0.0]);
        hp().update(&mut w, &[0.5, -1.0, 0.0], &mut steps, &mut prev);
        assert_eq!(steps[0], 0.1f32 * 1.2);
        assert_eq!(w[0], 0.9f32 - 0.1f32 * 1.2);
        assert_eq!(steps[1], 0.05);
        assert_eq!(w[1], 0.9, "a sign change moves nothing");
        assert_eq!(prev[1], 0.0, "and forgets the gradient");
        assert_eq!(w[2], 1.0);
        // After the flip p = 0: the step is kept and used.
        hp().update(&mut w, &[0.5, -1.0, 0.0], &mut steps, &mut prev);
        assert_eq!(steps[1], 0.05);
        assert_eq!(w[1], 0.9f32 + 0.05);
    }

    #[test]
    fn steps_stay_within_their_bounds() {
        let mut w = [0.0f32];
        let mut steps = [40.0f32];
        let mut prev = [0.0f32];
        for _ in 0..5 {
            hp().update(&mut w, &[1.0], &mut steps, &mut prev);
        }
        assert_eq!(steps[0], 50.0);
        let mut sign = 1.0;
        for _ in 0..100 {
            hp().update(&mut w, &[sign], &mut steps, &mut prev);
            hp().update(&mut w, &[sign], &mut steps, &mut prev);
            sign = -sign;
        }
        assert!(steps[0] >= 1e-6);
    }
}
