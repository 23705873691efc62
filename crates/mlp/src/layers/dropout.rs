//! Inverted dropout.
//!
//! Training: each element is kept with probability `1 - p` and scaled by `1 / (1 - p)`, so
//! evaluation is the identity (PyTorch's `nn.Dropout`). The mask is saved for the backward pass:
//! `dX = dY * mask`.

use crate::kernels::Real;
use crate::spec::{FromSpec, LayerSpec, mismatch};

/// A dropout layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropout {
    /// Width of the input (and output).
    pub features: usize,
    /// Probability of zeroing an element, in `[0, 1)`.
    pub p: f32,
}

/// Built from a `{"type": "dropout"}` spec.
impl FromSpec for Dropout {
    fn check_sizes(_spec: &LayerSpec, width: usize, _here: &str) -> crate::Result<usize> {
        Ok(width)
    }

    fn width_after(_spec: &LayerSpec, width: usize) -> usize {
        width
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Dropout { p } = *spec else {
            return Err(mismatch(here, "dropout"));
        };
        if !(0.0..1.0).contains(&p) {
            return Err(crate::Error::config(
                format!("{here}.p"),
                format!("dropout probability must be in [0, 1), got {p}"),
            ));
        }
        Ok(Dropout { features: width, p })
    }
}

impl super::Block for Dropout {
    fn kind(&self) -> &'static str {
        "dropout"
    }
    fn in_features(&self) -> usize {
        self.features
    }
    fn out_features(&self) -> usize {
        self.features
    }
    fn n_params(&self) -> usize {
        0
    }
    fn aux_len(&self, batch: usize) -> usize {
        batch * self.features
    }

    /// Draws a mask into `cx.aux` and applies it.
    fn forward<T: Real>(&self, cx: &mut super::Cx<'_, T>, x: &[T], y: &mut [T]) {
        let n = cx.batch * self.features;
        let keep = 1.0 - self.p;
        let scale = T::of(1.0 / keep as f64);
        // Compare 24-bit uniforms against the keep threshold: one draw per element.
        let threshold = (keep as f64 * (1u64 << 24) as f64) as u64;
        let mask = &mut *cx.aux;
        for i in 0..n {
            let kept = (cx.rng.next_u64() >> 40) < threshold;
            mask[i] = if kept { scale } else { T::zero() };
            y[i] = x[i] * mask[i];
        }
    }

    /// The identity.
    fn infer<T: Real>(&self, _params: &[T], x: &[T], batch: usize, y: &mut [T], _: &mut [T]) {
        let n = batch * self.features;
        y[..n].copy_from_slice(&x[..n]);
    }

    /// `dx = dy * mask`.
    fn backward<T: Real>(
        &self,
        cx: &mut super::Cx<'_, T>,
        _x: &[T],
        _y: &[T],
        dy: &mut [T],
        dx: Option<&mut [T]>,
    ) {
        if let Some(dx) = dx {
            let n = cx.batch * self.features;
            for i in 0..n {
                dx[i] = dy[i] * cx.aux[i];
            }
        }
    }
    fn set_grad_mode(&mut self, mode: super::GradMode) {
        if mode == super::GradMode::Eval {
            self.p = 0.0;
        }
    }
    fn describe(&self) -> String {
        format!("dropout p={}", self.p)
    }
    fn interval(
        &self,
        _params: &[f64],
        x: &crate::verify::Bounds,
    ) -> crate::Result<crate::verify::Bounds> {
        Ok(x.clone())
    }
    fn crown(
        &self,
        _params: &[f64],
        _stack: &mut crate::verify::crown::CrownStack,
    ) -> crate::Result<()> {
        Ok(())
    }
}
