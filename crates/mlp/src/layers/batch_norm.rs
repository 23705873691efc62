//! Batch normalization over the batch dimension (Ioffe & Szegedy, 2015), PyTorch's
//! `nn.BatchNorm1d` semantics.
//!
//! Training: `mu`, `var` (biased) per feature over the batch; `xhat = (x - mu) / sqrt(var + eps)`;
//! `y = gamma xhat + beta`; afterwards the running statistics move toward the batch's:
//! `running = (1 - momentum) running + momentum batch` (the variance unbiased, `var n/(n-1)`).
//! Evaluation: the running statistics replace the batch's, so train and eval modes differ.
//!
//! Backward (training): with `g = dy gamma`, per feature over the `n` rows,
//! `dx = rstd / n (n g - sum(g) - xhat sum(g xhat))`; `dgamma = sum(dy xhat)`; `dbeta = sum(dy)`.
//!
//! The running statistics are parameters of kind [`ParamKind::Frozen`]: saved in the model file
//! (`running_mean`, `running_var`, as PyTorch names them), never touched by the optimizer, and
//! updated after each training step by its `Block::update_buffers`.

use super::{Cx, ParamKind, ParamShape};
use crate::kernels::Real;
use crate::spec::{FromSpec, LayerSpec, mismatch};

/// Batch normalization.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// Features per row.
    pub features: usize,
    /// Added to the variance (PyTorch's default 1e-5).
    pub eps: f32,
    /// Weight of the newest batch in the running statistics (PyTorch's default 0.1).
    pub momentum: f32,
    /// When set, the training forward normalizes with the running statistics (as evaluation
    /// does) and the backward treats them as constants: the mode in which input gradients of a
    /// trained model are taken (attacks, MC dropout). Never stored in the spec.
    pub use_running_stats: bool,
}

/// Built from a `{"type": "batch_norm"}` spec.
impl FromSpec for BatchNorm {
    fn check_sizes(_spec: &LayerSpec, width: usize, _here: &str) -> crate::Result<usize> {
        Ok(width)
    }

    fn width_after(_spec: &LayerSpec, width: usize) -> usize {
        width
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::BatchNorm { eps, momentum } = *spec else {
            return Err(mismatch(here, "batch_norm"));
        };
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(crate::Error::config(
                format!("{here}.eps"),
                "must be a small positive number",
            ));
        }
        if !(0.0..=1.0).contains(&momentum) {
            return Err(crate::Error::config(
                format!("{here}.momentum"),
                "must be in [0, 1]",
            ));
        }
        Ok(BatchNorm {
            features: width,
            eps,
            momentum,
            use_running_stats: false,
        })
    }
}

impl super::Block for BatchNorm {
    fn kind(&self) -> &'static str {
        "batch_norm"
    }
    fn in_features(&self) -> usize {
        self.features
    }
    fn out_features(&self) -> usize {
        self.features
    }

    /// `weight`, `bias`, `running_mean`, `running_var`: `features` each.
    fn n_params(&self) -> usize {
        4 * self.features
    }

    /// Named tensors.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let d = self.features;
        vec![
            ("weight".into(), vec![d], ParamKind::Bias),
            ("bias".into(), vec![d], ParamKind::Bias),
            ("running_mean".into(), vec![d], ParamKind::Frozen),
            ("running_var".into(), vec![d], ParamKind::Frozen),
        ]
    }

    /// `gamma = 1`, `beta = 0`, running mean 0, running variance 1.
    fn init_params(&self, params: &mut [f32], _rng: &mut crate::rng::Rng) {
        let d = self.features;
        for (i, p) in params.iter_mut().enumerate() {
            *p = if i < d || i >= 3 * d { 1.0 } else { 0.0 };
        }
    }

    /// `xhat` (`batch x features`), then `rstd`, batch mean and batch variance (`features` each).
    fn aux_len(&self, batch: usize) -> usize {
        (batch + 3) * self.features
    }

    /// Training forward with batch statistics; saves what the backward and the running-statistics
    /// update need.
    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, input: &[T], output: &mut [T]) {
        let (params, batch, aux) = (cx.params, cx.batch, &mut *cx.aux);
        let d = self.features;
        let (gamma, beta) = (&params[..d], &params[d..2 * d]);
        let (xhat, stats) = aux.split_at_mut(batch * d);
        let (rstd, rest) = stats.split_at_mut(d);
        let (mean, rest) = rest.split_at_mut(d);
        let var = &mut rest[..d];
        if self.use_running_stats {
            let eps = T::of(self.eps as f64);
            mean.copy_from_slice(&params[2 * d..3 * d]);
            var.copy_from_slice(&params[3 * d..4 * d]);
            for j in 0..d {
                rstd[j] = T::one() / (var[j] + eps).sqrt();
            }
            for r in 0..batch {
                for j in 0..d {
                    let xh = (input[r * d + j] - mean[j]) * rstd[j];
                    xhat[r * d + j] = xh;
                    output[r * d + j] = gamma[j] * xh + beta[j];
                }
            }
            return;
        }
        let inv_n = T::of(1.0 / batch.max(1) as f64);
        mean.iter_mut().for_each(|m| *m = T::zero());
        var.iter_mut().for_each(|v| *v = T::zero());
        for row in input[..batch * d].chunks_exact(d) {
            for j in 0..d {
                mean[j] = mean[j] + row[j];
            }
        }
        mean.iter_mut().for_each(|m| *m = *m * inv_n);
        for row in input[..batch * d].chunks_exact(d) {
            for j in 0..d {
                let c = row[j] - mean[j];
                var[j] = var[j] + c * c;
            }
        }
        let eps = T::of(self.eps as f64);
        for j in 0..d {
            var[j] = var[j] * inv_n;
            rstd[j] = T::one() / (var[j] + eps).sqrt();
        }
        for r in 0..batch {
            for j in 0..d {
                let xh = (input[r * d + j] - mean[j]) * rstd[j];
                xhat[r * d + j] = xh;
                output[r * d + j] = gamma[j] * xh + beta[j];
            }
        }
    }

    /// Evaluation forward with the running statistics.
    fn infer<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        _: &mut [T],
    ) {
        let d = self.features;
        let (gamma, beta) = (&params[..d], &params[d..2 * d]);
        let (rmean, rvar) = (&params[2 * d..3 * d], &params[3 * d..4 * d]);
        let eps = T::of(self.eps as f64);
        for r in 0..batch {
            for j in 0..d {
                let xh = (input[r * d + j] - rmean[j]) / (rvar[j] + eps).sqrt();
                output[r * d + j] = gamma[j] * xh + beta[j];
            }
        }
    }

    /// Backward through the batch statistics.
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        _x: &[T],
        _y: &[T],
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
    ) {
        let (params, aux, batch) = (cx.params, &*cx.aux, cx.batch);
        let d_params = &mut *cx.d_params;
        let d = self.features;
        let gamma = &params[..d];
        let xhat = &aux[..batch * d];
        let rstd = &aux[batch * d..batch * d + d];
        let (d_gamma, rest) = d_params.split_at_mut(d);
        let d_beta = &mut rest[..d];
        let mut sum_g = vec![T::zero(); d];
        let mut sum_gx = vec![T::zero(); d];
        for r in 0..batch {
            for j in 0..d {
                let dy = d_output[r * d + j];
                let xh = xhat[r * d + j];
                d_gamma[j] = d_gamma[j] + dy * xh;
                d_beta[j] = d_beta[j] + dy;
                let g = dy * gamma[j];
                sum_g[j] = sum_g[j] + g;
                sum_gx[j] = sum_gx[j] + g * xh;
            }
        }
        if let Some(dx) = d_input {
            if self.use_running_stats {
                // Fixed statistics: the layer is a per-feature affine map.
                for r in 0..batch {
                    for j in 0..d {
                        dx[r * d + j] = d_output[r * d + j] * gamma[j] * rstd[j];
                    }
                }
                return;
            }
            let n = T::of(batch as f64);
            let inv_n = T::of(1.0 / batch.max(1) as f64);
            for r in 0..batch {
                for j in 0..d {
                    let g = d_output[r * d + j] * gamma[j];
                    dx[r * d + j] =
                        rstd[j] * inv_n * (n * g - sum_g[j] - xhat[r * d + j] * sum_gx[j]);
                }
            }
        }
    }

    /// Moves the running statistics toward the batch statistics saved in `aux`.
    fn update_buffers(&self, params: &mut [f32], aux: &[f32], batch: usize) {
        if self.use_running_stats {
            return;
        }
        let d = self.features;
        let mean = &aux[(batch + 1) * d..(batch + 2) * d];
        let var = &aux[(batch + 2) * d..(batch + 3) * d];
        let m = self.momentum;
        let unbias = if batch > 1 {
            batch as f32 / (batch - 1) as f32
        } else {
            1.0
        };
        let (head, rvar) = params.split_at_mut(3 * d);
        let rmean = &mut head[2 * d..];
        for j in 0..d {
            rmean[j] = (1.0 - m) * rmean[j] + m * mean[j];
            rvar[j] = (1.0 - m) * rvar[j] + m * var[j] * unbias;
        }
    }

    fn has_buffers(&self) -> bool {
        true
    }
    fn set_grad_mode(&mut self, _mode: super::GradMode) {
        self.use_running_stats = true;
    }
    fn describe(&self) -> String {
        format!(
            "batch_norm {}  eps {}  momentum {}  {} params (running statistics included)",
            self.features,
            self.eps,
            self.momentum,
            super::Block::n_params(self)
        )
    }
    fn interval(
        &self,
        params: &[f64],
        x: &crate::verify::Bounds,
    ) -> crate::Result<crate::verify::Bounds> {
        // The inference map: a per-feature affine map of the running statistics.
        let f = self.features;
        let (gamma, beta) = (&params[..f], &params[f..2 * f]);
        let (mean, var) = (&params[2 * f..3 * f], &params[3 * f..4 * f]);
        let eps = self.eps as f64;
        let mut out = x.clone();
        for j in 0..f {
            let a = gamma[j] / (var[j] + eps).sqrt();
            let (p, q) = (a * (x.lower[j] - mean[j]), a * (x.upper[j] - mean[j]));
            out.lower[j] = p.min(q) + beta[j];
            out.upper[j] = p.max(q) + beta[j];
        }
        Ok(out)
    }
}
