//! Gradient-norm clipping (PyTorch's `clip_grad_norm_`).

/// Global L2 norm of a gradient buffer. The sum of squares runs in `f32` on the SIMD dot-product
/// kernel (relative error ~1e-6, plenty for clipping); a norm beyond `f32` range comes out
/// infinite, which the trainer treats as divergence.
///
/// Large buffers are summed in fixed chunks on the current rayon pool and the chunk sums added in
/// order, so the result does not depend on scheduling.
pub fn global_norm(grads: &[f32]) -> f64 {
    use crate::kernels::Real;
    const CHUNK: usize = 1 << 16;
    if grads.len() > CHUNK && rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        let parts: Vec<f64> = grads
            .par_chunks(CHUNK)
            .map(|c| <f32 as Real>::dot(c, c) as f64)
            .collect();
        parts.iter().sum::<f64>().sqrt()
    } else {
        (<f32 as Real>::dot(grads, grads) as f64).sqrt()
    }
}

/// Scales `grads` so their global norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_by_global_norm(grads: &mut [f32], max_norm: f32) -> f64 {
    let norm = global_norm(grads);
    if norm > max_norm as f64 && norm.is_finite() {
        let scale = (max_norm as f64 / (norm + 1e-6)) as f32;
        grads.iter_mut().for_each(|g| *g *= scale);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_to_the_norm() {
        let mut g = [3.0f32, 4.0];
        let before = clip_by_global_norm(&mut g, 1.0);
        assert!((before - 5.0).abs() < 1e-12);
        assert!((global_norm(&g) - 1.0).abs() < 1e-5);
        let mut small = [0.3f32, 0.4];
        clip_by_global_norm(&mut small, 1.0);
        assert_eq!(small, [0.3, 0.4]);
    }
}
