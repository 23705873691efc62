//! RMSprop (PyTorch's form, not centered).
//!
//! `g = grad + wd p`; `v = alpha v + (1 - alpha) g^2`; with momentum `mu`:
//! `b = mu b + g / (sqrt(v) + eps)`, `p -= lr b`; without: `p -= lr g / (sqrt(v) + eps)`.

/// The hyperparameters of one RMSprop step, shared by every parameter segment.
#[derive(Debug, Clone, Copy)]
pub struct RmspropStep {
    /// Learning rate.
    pub lr: f32,
    /// Smoothing constant of the squared-gradient average.
    pub alpha: f32,
    /// Added to the root mean square.
    pub eps: f32,
    /// Momentum (0: none).
    pub momentum: f32,
}

impl RmspropStep {
    /// One fused RMSprop pass over a parameter slice and its buffers.
    pub fn update(
        &self,
        params: &mut [f32],
        grads: &[f32],
        square_avg: &mut [f32],
        momentum_buf: &mut [f32],
        weight_decay: f32,
    ) {
        let RmspropStep {
            lr,
            alpha,
            eps,
            momentum,
        } = *self;
        for i in 0..params.len() {
            let g = grads[i] + weight_decay * params[i];
            let v = alpha * square_avg[i] + (1.0 - alpha) * g * g;
            square_avg[i] = v;
            let step = g / (v.sqrt() + eps);
            if momentum > 0.0 {
                momentum_buf[i] = momentum * momentum_buf[i] + step;
                params[i] -= lr * momentum_buf[i];
            } else {
                params[i] -= lr * step;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_by_hand() {
        let mut p = [1.0f32];
        let (mut v, mut b) = ([0.0f32], [0.0f32]);
        let step = RmspropStep {
            lr: 0.01,
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
        };
        step.update(&mut p, &[0.5], &mut v, &mut b, 0.0);
        // v = 0.01 * 0.25 = 0.0025; step = 0.5 / 0.05 = 10; p = 1 - 0.1
        assert!((p[0] - 0.9).abs() < 1e-5, "{}", p[0]);
    }
}
