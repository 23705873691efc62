//! LAMB (You et al., 2020): Adam's direction with a per-tensor trust ratio, for large batches.
//!
//! Per parameter tensor: `m`, `v` as in Adam (bias-corrected); `u = m_hat / (sqrt(v_hat) + eps)
//! + wd w`; `r = ||w|| / ||u||` (1 when either norm is 0); `w -= lr r u`. Two passes per tensor:
//! the first updates the moments and accumulates both norms, the second applies the step
//! (recomputing `u`), so no temporary buffer is needed.

/// The per-step constants of a LAMB update (the hyperparameters and the bias corrections of
/// update number `t`), shared by every tensor of one step.
#[derive(Debug, Clone, Copy)]
pub struct LambStep {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    bc1: f32,
    bc2: f32,
}

impl LambStep {
    /// Constants for update number `step` (1-based).
    pub fn new(lr: f32, beta1: f32, beta2: f32, eps: f32, step: u64) -> Self {
        let t = step.min(i32::MAX as u64) as i32;
        LambStep {
            lr,
            beta1,
            beta2,
            eps,
            bc1: (1.0 - (beta1 as f64).powi(t)) as f32,
            bc2: (1.0 - (beta2 as f64).powi(t)) as f32,
        }
    }

    /// One LAMB step over a single tensor and its moment buffers `m`, `v`.
    pub fn update(
        &self,
        params: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        weight_decay: f32,
    ) {
        let (beta1, beta2, eps) = (self.beta1, self.beta2, self.eps);
        let (bc1, bc2) = (self.bc1, self.bc2);
        let direction =
            |mi: f32, vi: f32, w: f32| (mi / bc1) / ((vi / bc2).sqrt() + eps) + weight_decay * w;
        let (mut w_sq, mut u_sq) = (0.0f64, 0.0f64);
        for i in 0..params.len() {
            let g = grads[i];
            m[i] = beta1 * m[i] + (1.0 - beta1) * g;
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
            let u = direction(m[i], v[i], params[i]);
            w_sq += (params[i] as f64).powi(2);
            u_sq += (u as f64).powi(2);
        }
        let (wn, un) = (w_sq.sqrt(), u_sq.sqrt());
        let trust = if wn > 0.0 && un > 0.0 {
            (wn / un) as f32
        } else {
            1.0
        };
        for i in 0..params.len() {
            let u = direction(m[i], v[i], params[i]);
            params[i] -= self.lr * trust * u;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_length_is_lr_times_the_weight_norm() {
        // After one step, ||delta w|| = lr * trust * ||u|| = lr * ||w||.
        let mut w = vec![3.0f32, 4.0];
        let (mut m, mut v) = (vec![0.0f32; 2], vec![0.0f32; 2]);
        LambStep::new(0.01, 0.9, 0.999, 1e-6, 1).update(&mut w, &[0.1, -0.7], &mut m, &mut v, 0.0);
        let delta = ((w[0] - 3.0).powi(2) + (w[1] - 4.0).powi(2)).sqrt();
        assert!((delta - 0.05).abs() < 1e-5, "{delta}");
        // direction: first step of Adam moves by sign(g): (-, +)
        assert!(w[0] < 3.0 && w[1] > 4.0);
    }

    #[test]
    fn zero_weights_fall_back_to_a_trust_ratio_of_one() {
        let mut w = vec![0.0f32; 3];
        let (mut m, mut v) = (vec![0.0f32; 3], vec![0.0f32; 3]);
        let step = LambStep::new(0.1, 0.9, 0.999, 1e-8, 1);
        step.update(&mut w, &[1.0, -1.0, 0.5], &mut m, &mut v, 0.0);
        for x in &w {
            assert!((x.abs() - 0.1).abs() < 1e-5, "{w:?}");
        }
    }
}
