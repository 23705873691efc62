//! SGD with momentum and Nesterov momentum (PyTorch's formulation).
//!
//! `g = grad + wd p`; `b = mu b + g`; step `g + mu b` (Nesterov) or `b`; `p -= lr step`.
//! With `mu = 0` this is plain gradient descent.

/// One fused SGD pass over a parameter slice.
pub fn update(
    params: &mut [f32],
    grads: &[f32],
    momentum_buf: &mut [f32],
    lr: f32,
    momentum: f32,
    nesterov: bool,
    weight_decay: f32,
) {
    for ((p, &g), b) in params.iter_mut().zip(grads).zip(momentum_buf.iter_mut()) {
        let g = g + weight_decay * *p;
        *b = momentum * *b + g;
        let step = if nesterov { g + momentum * *b } else { *b };
        *p -= lr * step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_momentum_steps_by_hand() {
        let mut p = [1.0f32];
        let mut b = [0.0f32];
        update(&mut p, &[0.5], &mut b, 0.1, 0.0, false, 0.0);
        assert!((p[0] - 0.95).abs() < 1e-7);
        // momentum 0.9: b1 = g = 0.5, p = 1 - 0.05 = 0.95; b2 = 0.45 + 0.5 = 0.95, p = 0.855
        let mut p = [1.0f32];
        let mut b = [0.0f32];
        update(&mut p, &[0.5], &mut b, 0.1, 0.9, false, 0.0);
        update(&mut p, &[0.5], &mut b, 0.1, 0.9, false, 0.0);
        assert!((p[0] - 0.855).abs() < 1e-6);
        // nesterov: b1 = 0.5, step = 0.5 + 0.45 = 0.95, p = 1 - 0.095
        let mut p = [1.0f32];
        let mut b = [0.0f32];
        update(&mut p, &[0.5], &mut b, 0.1, 0.9, true, 0.0);
        assert!((p[0] - 0.905).abs() < 1e-6);
        // weight decay adds wd * p to the gradient
        let mut p = [2.0f32];
        let mut b = [0.0f32];
        update(&mut p, &[0.0], &mut b, 0.1, 0.0, false, 0.5);
        assert!((p[0] - 1.9).abs() < 1e-6);
    }
}
