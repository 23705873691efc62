//! Layer normalization over each row (Ba et al., 2016), with learnable gain and bias.
//!
//! Forward: `mu = mean(x)`, `var = mean((x - mu)^2)`, `xhat = (x - mu) / sqrt(var + eps)`,
//! `y = gamma * xhat + beta` (per row of `batch x features`). Saves `xhat` and `rstd`.
//!
//! Backward, with `g = dL/dy * gamma`: `dx = rstd * (g - mean(g) - xhat * mean(g * xhat))`;
//! `dgamma += sum_rows(dL/dy * xhat)`; `dbeta += sum_rows(dL/dy)`.

use super::{Cx, ParamKind, ParamShape};
use crate::kernels::Real;
use crate::spec::{FromSpec, LayerSpec, mismatch};

/// Layer normalization.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    /// Row width.
    pub features: usize,
    /// Added to the variance (PyTorch's default 1e-5).
    pub eps: f32,
}

impl LayerNorm {
    /// Forward; saves `xhat` and `rstd` when `aux` is given (the training and the inference
    /// forward are this one function).
    fn apply<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        mut aux: Option<&mut [T]>,
    ) {
        let d = self.features;
        let (gamma, beta) = params.split_at(d);
        let eps = T::of(self.eps as f64);
        let inv_d = T::of(1.0 / d as f64);
        for r in 0..batch {
            let x = &input[r * d..(r + 1) * d];
            let mean = x.iter().fold(T::zero(), |a, &v| a + v) * inv_d;
            let var = x
                .iter()
                .fold(T::zero(), |a, &v| a + (v - mean) * (v - mean))
                * inv_d;
            let rstd = T::one() / (var + eps).sqrt();
            let y = &mut output[r * d..(r + 1) * d];
            for j in 0..d {
                let xh = (x[j] - mean) * rstd;
                y[j] = gamma[j] * xh + beta[j];
                if let Some(a) = aux.as_deref_mut() {
                    a[r * d + j] = xh;
                }
            }
            if let Some(a) = aux.as_deref_mut() {
                a[batch * d + r] = rstd;
            }
        }
    }
}

/// Built from a `{"type": "layer_norm"}` spec.
impl FromSpec for LayerNorm {
    fn check_sizes(_spec: &LayerSpec, width: usize, _here: &str) -> crate::Result<usize> {
        Ok(width)
    }

    fn width_after(_spec: &LayerSpec, width: usize) -> usize {
        width
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::LayerNorm { eps } = *spec else {
            return Err(mismatch(here, "layer_norm"));
        };
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(crate::Error::config(
                format!("{here}.eps"),
                "must be a small positive number",
            ));
        }
        Ok(LayerNorm {
            features: width,
            eps,
        })
    }
}

impl super::Block for LayerNorm {
    fn kind(&self) -> &'static str {
        "layer_norm"
    }
    fn in_features(&self) -> usize {
        self.features
    }
    fn out_features(&self) -> usize {
        self.features
    }

    /// `gamma` and `beta`, `features` each.
    fn n_params(&self) -> usize {
        2 * self.features
    }

    /// Named tensors: `weight` (gamma) and `bias` (beta), as PyTorch's `nn.LayerNorm`.
    fn param_shapes(&self) -> Vec<ParamShape> {
        vec![
            ("weight".into(), vec![self.features], ParamKind::Bias),
            ("bias".into(), vec![self.features], ParamKind::Bias),
        ]
    }

    /// `gamma = 1`, `beta = 0`.
    fn init_params(&self, params: &mut [f32], _rng: &mut crate::rng::Rng) {
        let (g, b) = params.split_at_mut(self.features);
        g.iter_mut().for_each(|x| *x = 1.0);
        b.iter_mut().for_each(|x| *x = 0.0);
    }

    /// `xhat` (`batch x features`) then `rstd` (`batch`).
    fn aux_len(&self, batch: usize) -> usize {
        batch * (self.features + 1)
    }

    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        self.apply(cx.params, x, cx.batch, y, Some(&mut *cx.aux))
    }

    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], _: &mut [T]) {
        self.apply(params, x, batch, y, None)
    }

    /// Backward from the saved `xhat` and `rstd`.
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
        let (d_gamma, d_beta) = d_params.split_at_mut(d);
        let inv_d = T::of(1.0 / d as f64);
        for r in 0..batch {
            let xh = &aux[r * d..(r + 1) * d];
            let dy = &d_output[r * d..(r + 1) * d];
            for j in 0..d {
                d_gamma[j] = d_gamma[j] + dy[j] * xh[j];
                d_beta[j] = d_beta[j] + dy[j];
            }
        }
        if let Some(dx) = d_input {
            for r in 0..batch {
                let xh = &aux[r * d..(r + 1) * d];
                let dy = &d_output[r * d..(r + 1) * d];
                let rstd = aux[batch * d + r];
                let mut mean_g = T::zero();
                let mut mean_gx = T::zero();
                for j in 0..d {
                    let g = dy[j] * gamma[j];
                    mean_g = mean_g + g;
                    mean_gx = mean_gx + g * xh[j];
                }
                mean_g = mean_g * inv_d;
                mean_gx = mean_gx * inv_d;
                for j in 0..d {
                    let g = dy[j] * gamma[j];
                    dx[r * d + j] = rstd * (g - mean_g - xh[j] * mean_gx);
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "layer_norm {}  eps {}  {} params",
            self.features,
            self.eps,
            super::Block::n_params(self)
        )
    }
    fn interval(
        &self,
        params: &[f64],
        x: &crate::verify::Bounds,
    ) -> crate::Result<crate::verify::Bounds> {
        Ok(crate::verify::interval::layer_norm_bounds(
            params,
            self.features,
            self.eps as f64,
            x,
        ))
    }
}
