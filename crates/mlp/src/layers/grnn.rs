//! General regression neural network (Specht, 1991): Gaussian kernel regression over a stored
//! training set, `y(x) = sum_i t_i w_i / sum_i w_i` with `w_i = exp(-|x - x_i|^2 / (2 sigma^2))`.
//!
//! The block holds the (standardized) training inputs `x_i`, their targets `t_i` (encoded
//! regression values, or one-hot classes) and the bandwidth `sigma` as frozen tensors of the
//! model file; `mlp train --arch grnn` fills them and picks `sigma` by leave-one-out error (see
//! [`crate::classical::grnn`]). With `log_output` (classification) the block returns
//! `ln(p + 1e-9)`, so a softmax over its outputs gives back the kernel class probabilities.
//!
//! The weights are computed as `exp(a_i - max a)` (`a_i = -d2_i / 2 sigma^2`), so a far-away
//! query still gets the nearest sample's target rather than 0/0. Input gradient, with `p_i` the
//! normalized weights, `g` the output gradient and `h_i = g . t_i`:
//! `dL/dx = sum_i p_i (h_i - g . y) (x_i - x) / sigma^2`.

use super::{Cx, ParamKind, ParamShape};
use crate::kernels::Real;
use crate::spec::{FromSpec, LayerSpec, MAX_PARAMS, MAX_WIDTH, limit, mismatch};

/// Added to a class probability before the logarithm.
const LOG_FLOOR: f64 = 1e-9;

/// A GRNN kernel block.
#[derive(Debug, Clone, PartialEq)]
pub struct Grnn {
    /// Input width.
    pub in_features: usize,
    /// Stored training samples.
    pub samples: usize,
    /// Output width (targets per sample).
    pub outputs: usize,
    /// Return `ln(p + 1e-9)` (classification) instead of `p`.
    pub log_output: bool,
}

impl Grnn {
    /// Normalized kernel weights of one query row into `p` (length `samples`).
    fn weights<T: Real>(&self, params: &[T], x: &[T], p: &mut [T]) {
        let d = self.in_features;
        let xs = &params[..self.samples * d];
        let sigma = params[self.samples * (d + self.outputs)];
        let scale = T::of(-0.5) / (sigma * sigma);
        let mut best = T::neg_infinity();
        for (i, pi) in p.iter_mut().enumerate() {
            let row = &xs[i * d..(i + 1) * d];
            let d2 = x
                .iter()
                .zip(row)
                .fold(T::zero(), |a, (&u, &v)| a + (u - v) * (u - v));
            *pi = d2 * scale;
            if *pi > best {
                best = *pi;
            }
        }
        let mut total = T::zero();
        for pi in p.iter_mut() {
            *pi = (*pi - best).exp();
            total = total + *pi;
        }
        let inv = T::one() / total;
        p.iter_mut().for_each(|pi| *pi = *pi * inv);
    }

    /// Forward; `p` (`batch x samples`) and `lin` (`batch x outputs`, the kernel average before
    /// any logarithm) are saved when given.
    fn apply<T: Real>(
        &self,
        params: &[T],
        x: &[T],
        batch: usize,
        y: &mut [T],
        scratch: &mut [T],
        mut save: Option<&mut [T]>,
    ) {
        let (d, n, m) = (self.in_features, self.samples, self.outputs);
        let ts = &params[n * d..n * (d + m)];
        let floor = T::of(LOG_FLOOR);
        for r in 0..batch {
            let p = &mut scratch[..n];
            self.weights(params, &x[r * d..(r + 1) * d], p);
            let yr = &mut y[r * m..(r + 1) * m];
            yr.iter_mut().for_each(|v| *v = T::zero());
            for (i, &pi) in p.iter().enumerate() {
                for (v, &t) in yr.iter_mut().zip(&ts[i * m..(i + 1) * m]) {
                    *v = *v + pi * t;
                }
            }
            if let Some(aux) = save.as_deref_mut() {
                aux[r * n..(r + 1) * n].copy_from_slice(p);
                aux[batch * n + r * m..batch * n + (r + 1) * m].copy_from_slice(yr);
            }
            if self.log_output {
                yr.iter_mut().for_each(|v| *v = (*v + floor).ln());
            }
        }
    }
}

/// Built from a `{"type": "grnn", "samples": N, "outputs": M}` spec.
impl FromSpec for Grnn {
    fn check_sizes(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::Grnn {
            samples, outputs, ..
        } = *spec
        else {
            return Err(mismatch(here, "grnn"));
        };
        limit(here, "outputs", Some(outputs), MAX_WIDTH)?;
        let total = width
            .checked_add(outputs)
            .and_then(|w| w.checked_mul(samples));
        limit(here, "samples", total, MAX_PARAMS)?;
        Ok(outputs)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::Grnn { outputs, .. } => outputs,
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Grnn {
            samples,
            outputs,
            log_output,
        } = *spec
        else {
            return Err(mismatch(here, "grnn"));
        };
        if samples == 0 || outputs == 0 {
            return Err(crate::Error::config(
                here,
                "a grnn needs at least one stored sample and one output",
            ));
        }
        Ok(Grnn {
            in_features: width,
            samples,
            outputs,
            log_output,
        })
    }
}

impl super::Block for Grnn {
    fn kind(&self) -> &'static str {
        "grnn"
    }
    fn in_features(&self) -> usize {
        self.in_features
    }
    fn out_features(&self) -> usize {
        self.outputs
    }

    /// `inputs` (`samples x in`), `targets` (`samples x outputs`) and `sigma` (`1`), all frozen:
    /// the block is fitted, not trained.
    fn param_shapes(&self) -> Vec<ParamShape> {
        vec![
            (
                "inputs".into(),
                vec![self.samples, self.in_features],
                ParamKind::Frozen,
            ),
            (
                "targets".into(),
                vec![self.samples, self.outputs],
                ParamKind::Frozen,
            ),
            ("sigma".into(), vec![1], ParamKind::Frozen),
        ]
    }

    fn n_params(&self) -> usize {
        self.samples * (self.in_features + self.outputs) + 1
    }

    /// A placeholder until fitted: standard normal samples, targets in [0.2, 1) (positive, so
    /// that `log_output` is defined), `sigma = 1`.
    fn init_params(&self, params: &mut [f32], rng: &mut crate::rng::Rng) {
        let split = self.samples * self.in_features;
        let n = params.len();
        params[..split].iter_mut().for_each(|v| *v = rng.normal());
        params[split..n - 1]
            .iter_mut()
            .for_each(|v| *v = rng.uniform_range(0.2, 1.0));
        params[n - 1] = 1.0;
    }

    /// The normalized weights (`batch x samples`) and the kernel averages (`batch x outputs`).
    fn aux_len(&self, batch: usize) -> usize {
        batch * (self.samples + self.outputs)
    }

    fn infer_len(&self, _batch: usize) -> usize {
        self.samples
    }

    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        let mut p = vec![T::zero(); self.samples];
        self.apply(cx.params, x, cx.batch, y, &mut p, Some(&mut *cx.aux))
    }

    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], scratch: &mut [T]) {
        self.apply(params, x, batch, y, scratch, None)
    }

    /// Input gradient only (every tensor is frozen).
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        x: &[T],
        _y: &[T],
        dy: &mut [T],
        dx: Option<&mut [T]>,
    ) {
        let Some(dx) = dx else { return };
        let (d, n, m) = (self.in_features, self.samples, self.outputs);
        let (params, aux, batch) = (cx.params, &*cx.aux, cx.batch);
        let xs = &params[..n * d];
        let ts = &params[n * d..n * (d + m)];
        let sigma = params[n * (d + m)];
        let inv = T::one() / (sigma * sigma);
        let floor = T::of(LOG_FLOOR);
        let mut g = vec![T::zero(); m];
        for r in 0..batch {
            let p = &aux[r * n..(r + 1) * n];
            let lin = &aux[batch * n + r * m..batch * n + (r + 1) * m];
            for j in 0..m {
                let dyj = dy[r * m + j];
                g[j] = if self.log_output {
                    dyj / (lin[j] + floor)
                } else {
                    dyj
                };
            }
            let gy = T::dot(&g, lin);
            let xr = &x[r * d..(r + 1) * d];
            let dxr = &mut dx[r * d..(r + 1) * d];
            dxr.iter_mut().for_each(|v| *v = T::zero());
            for i in 0..n {
                let h = T::dot(&g, &ts[i * m..(i + 1) * m]);
                let c = p[i] * (h - gy) * inv;
                if c == T::zero() {
                    continue;
                }
                for k in 0..d {
                    dxr[k] = dxr[k] + c * (xs[i * d + k] - xr[k]);
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "grnn {} -> {}  {} stored samples{}  {} params (frozen)",
            self.in_features,
            self.outputs,
            self.samples,
            if self.log_output {
                ", log-probabilities"
            } else {
                ""
            },
            super::Block::n_params(self)
        )
    }
}
