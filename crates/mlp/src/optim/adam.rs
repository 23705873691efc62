//! Adam and AdamW in one fused pass (PyTorch's `torch.optim.Adam` / `AdamW` update).
//!
//! ```text
//! g = grad (+ wd p for Adam's L2 form)
//! m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
//! p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//! AdamW instead decays first: p -= lr wd p
//! ```

/// The per-step constants of an Adam update.
#[derive(Debug, Clone, Copy)]
pub struct AdamStep {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    step_size: f32,
    inv_sqrt_bc2: f32,
}

impl AdamStep {
    /// Constants for update number `t` (1-based).
    pub fn new(lr: f32, beta1: f32, beta2: f32, eps: f32, t: u64) -> Self {
        let t = t.min(i32::MAX as u64) as i32;
        let bc1 = 1.0 - (beta1 as f64).powi(t);
        let bc2 = 1.0 - (beta2 as f64).powi(t);
        AdamStep {
            lr,
            beta1,
            beta2,
            eps,
            step_size: (lr as f64 / bc1) as f32,
            inv_sqrt_bc2: (1.0 / bc2.sqrt()) as f32,
        }
    }

    /// One fused pass over a parameter slice and its moment buffers (compiled for the CPU's
    /// widest vector unit; bit-identical to the baseline build).
    pub fn update(
        &self,
        params: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        weight_decay: f32,
        decoupled: bool,
    ) {
        crate::kernels::simd::vectorized(
            #[inline(always)]
            || self.update_scalar(params, grads, m, v, weight_decay, decoupled),
        )
    }

    /// The update as plain Rust, inlined into [`AdamStep::update`]'s vector builds.
    #[inline(always)]
    fn update_scalar(
        &self,
        params: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        weight_decay: f32,
        decoupled: bool,
    ) {
        let (b1, b2) = (self.beta1, self.beta2);
        let (c1, c2) = (1.0 - b1, 1.0 - b2);
        let l2 = if decoupled { 0.0 } else { weight_decay };
        let shrink = if decoupled {
            1.0 - self.lr * weight_decay
        } else {
            1.0
        };
        let n = params.len().min(grads.len()).min(m.len()).min(v.len());
        let (params, grads, m, v) = (&mut params[..n], &grads[..n], &mut m[..n], &mut v[..n]);
        for i in 0..n {
            let p = params[i] * shrink;
            let g = grads[i] + l2 * p;
            let mi = b1 * m[i] + c1 * g;
            let vi = b2 * v[i] + c2 * g * g;
            m[i] = mi;
            v[i] = vi;
            params[i] = p - self.step_size * mi / (vi.sqrt() * self.inv_sqrt_bc2 + self.eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from PyTorch 2.x:
    /// `p = torch.tensor([1.0, -2.0], requires_grad=True); opt = torch.optim.Adam([p], lr=0.1)`
    /// with gradients [0.5, 0.25] then [-0.3, 0.1]. The first Adam step moves each parameter by
    /// exactly lr * sign(g) (up to eps), which is checkable by hand.
    #[test]
    fn first_step_is_lr_times_sign() {
        let mut p = [1.0f32, -2.0];
        let (mut m, mut v) = ([0.0f32; 2], [0.0f32; 2]);
        AdamStep::new(0.1, 0.9, 0.999, 1e-8, 1).update(
            &mut p,
            &[0.5, 0.25],
            &mut m,
            &mut v,
            0.0,
            false,
        );
        assert!(
            (p[0] - 0.9).abs() < 1e-6 && (p[1] + 2.1).abs() < 1e-6,
            "{p:?}"
        );
    }

    #[test]
    fn second_step_matches_hand_computation() {
        let mut p = [1.0f64 as f32];
        let (mut m, mut v) = ([0.0f32], [0.0f32]);
        AdamStep::new(0.1, 0.9, 0.999, 1e-8, 1).update(&mut p, &[0.5], &mut m, &mut v, 0.0, false);
        AdamStep::new(0.1, 0.9, 0.999, 1e-8, 2).update(&mut p, &[-0.3], &mut m, &mut v, 0.0, false);
        // by hand in f64
        let m2 = 0.9 * (0.1 * 0.5) + 0.1 * -0.3;
        let v2 = 0.999 * (0.001 * 0.25) + 0.001 * 0.09;
        let mhat = m2 / (1.0 - 0.81);
        let vhat = v2 / (1.0 - 0.999f64.powi(2));
        let want = 0.9 - 0.1 * mhat / (vhat.sqrt() + 1e-8);
        assert!((p[0] as f64 - want).abs() < 1e-6, "{} vs {want}", p[0]);
    }

    #[test]
    fn adamw_decays_decoupled_and_adam_couples() {
        // zero gradient: Adam's L2 term becomes the gradient; AdamW just shrinks p.
        let mut p = [1.0f32];
        let (mut m, mut v) = ([0.0f32], [0.0f32]);
        AdamStep::new(0.1, 0.9, 0.999, 1e-8, 1).update(&mut p, &[0.0], &mut m, &mut v, 0.5, true);
        assert!((p[0] - 0.95).abs() < 1e-6);
        let mut p = [1.0f32];
        let (mut m, mut v) = ([0.0f32], [0.0f32]);
        AdamStep::new(0.1, 0.9, 0.999, 1e-8, 1).update(&mut p, &[0.0], &mut m, &mut v, 0.5, false);
        assert!((p[0] - 0.9).abs() < 1e-6);
    }

    #[test]
    fn vector_build_is_bit_identical_to_the_baseline_build() {
        let n = 1037;
        let wave = |i: usize, f: f32| ((i as f32 * f).sin() * 3.0).powi(3);
        let grads: Vec<f32> = (0..n).map(|i| wave(i, 0.37)).collect();
        for (wd, decoupled) in [(0.0, false), (0.01, false), (0.01, true)] {
            let step = AdamStep::new(1e-3, 0.9, 0.999, 1e-8, 7);
            let start = |f: f32| (0..n).map(|i| wave(i, f)).collect::<Vec<f32>>();
            let (mut p1, mut m1, mut v1) = (start(0.11), start(0.23), start(0.05));
            for x in &mut v1 {
                *x = x.abs();
            }
            let (mut p2, mut m2, mut v2) = (p1.clone(), m1.clone(), v1.clone());
            step.update(&mut p1, &grads, &mut m1, &mut v1, wd, decoupled);
            crate::kernels::simd::baseline(|| {
                step.update_scalar(&mut p2, &grads, &mut m2, &mut v2, wd, decoupled)
            });
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&p1), bits(&p2));
            assert_eq!(bits(&m1), bits(&m2));
            assert_eq!(bits(&v1), bits(&v2));
            assert_ne!(
                bits(&p1),
                bits(&start(0.11)),
                "the update must move parameters"
            );
        }
    }
}
