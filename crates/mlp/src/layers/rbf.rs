//! Gaussian radial-basis layer: `phi_k(x) = exp(-|x - c_k|^2 / (2 s_k^2))`, one output per centre.
//!
//! Followed by a linear (dense) output layer it is an RBF network; `mlp train --arch rbf` places
//! the centres by k-means, sets the widths from the nearest other centre and solves the output
//! layer by ridge regression (see [`crate::classical::rbf`]). The centres and widths are ordinary
//! parameters, so the whole network can also be trained (or fine-tuned) by gradient.
//!
//! Backward, with `d2 = |x - c_k|^2` and `g = dL/dphi * phi`: `dL/ds_k += g d2 / s^3`,
//! `dL/dc_k += g (x - c_k) / s^2`, `dL/dx -= g (x - c_k) / s^2`.

use super::{Cx, ParamKind, ParamShape};
use crate::kernels::Real;
use crate::spec::{FromSpec, LayerSpec, MAX_WIDTH, limit, mismatch};

/// A Gaussian RBF layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Rbf {
    /// Input width.
    pub in_features: usize,
    /// Number of centres (the output width).
    pub centers: usize,
}

impl Rbf {
    fn apply<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T]) {
        let (d, k) = (self.in_features, self.centers);
        let (c, s) = params.split_at(k * d);
        let half = T::of(0.5);
        for r in 0..batch {
            let xr = &x[r * d..(r + 1) * d];
            for j in 0..k {
                let cj = &c[j * d..(j + 1) * d];
                let d2 = xr
                    .iter()
                    .zip(cj)
                    .fold(T::zero(), |a, (&xi, &ci)| a + (xi - ci) * (xi - ci));
                y[r * k + j] = (-d2 * half / (s[j] * s[j])).exp();
            }
        }
    }
}

/// Built from a `{"type": "rbf", "centers": K}` spec.
impl FromSpec for Rbf {
    fn check_sizes(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::Rbf { centers } = *spec else {
            return Err(mismatch(here, "rbf"));
        };
        limit(here, "centers", centers.checked_mul(width), MAX_WIDTH)?;
        Ok(centers)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::Rbf { centers } => centers,
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Rbf { centers } = *spec else {
            return Err(mismatch(here, "rbf"));
        };
        if centers == 0 {
            return Err(crate::Error::config(
                format!("{here}.centers"),
                "an rbf layer needs at least one centre",
            ));
        }
        Ok(Rbf {
            in_features: width,
            centers,
        })
    }
}

impl super::Block for Rbf {
    fn kind(&self) -> &'static str {
        "rbf"
    }
    fn in_features(&self) -> usize {
        self.in_features
    }
    fn out_features(&self) -> usize {
        self.centers
    }

    /// `centers` (`K x in`) and `widths` (`K`); neither is weight-decayed.
    fn param_shapes(&self) -> Vec<ParamShape> {
        vec![
            (
                "centers".into(),
                vec![self.centers, self.in_features],
                ParamKind::Bias,
            ),
            ("widths".into(), vec![self.centers], ParamKind::Bias),
        ]
    }

    fn n_params(&self) -> usize {
        self.centers * (self.in_features + 1)
    }

    /// Centres standard normal (inputs are standardized), widths `sqrt(in)`: the typical
    /// distance between two such points, so that no unit starts saturated at 0.
    fn init_params(&self, params: &mut [f32], rng: &mut crate::rng::Rng) {
        let (c, s) = params.split_at_mut(self.centers * self.in_features);
        c.iter_mut().for_each(|v| *v = rng.normal());
        let w = (self.in_features as f32).sqrt();
        s.iter_mut().for_each(|v| *v = w);
    }

    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        self.apply(cx.params, x, cx.batch, y)
    }

    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], _: &mut [T]) {
        self.apply(params, x, batch, y)
    }

    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        x: &[T],
        y: &[T],
        dy: &mut [T],
        mut dx: Option<&mut [T]>,
    ) {
        let (d, k) = (self.in_features, self.centers);
        let (c, s) = cx.params.split_at(k * d);
        let train = !cx.d_params.is_empty();
        let (dc, ds) = cx.d_params.split_at_mut(if train { k * d } else { 0 });
        if let Some(dx) = dx.as_deref_mut() {
            dx.iter_mut().for_each(|v| *v = T::zero());
        }
        for r in 0..cx.batch {
            let xr = &x[r * d..(r + 1) * d];
            for j in 0..k {
                let g = dy[r * k + j] * y[r * k + j];
                if g == T::zero() {
                    continue;
                }
                let cj = &c[j * d..(j + 1) * d];
                let inv = T::one() / (s[j] * s[j]);
                let coef = g * inv;
                if train {
                    let d2 = xr
                        .iter()
                        .zip(cj)
                        .fold(T::zero(), |a, (&xi, &ci)| a + (xi - ci) * (xi - ci));
                    ds[j] = ds[j] + g * d2 * inv / s[j];
                    for i in 0..d {
                        dc[j * d + i] = dc[j * d + i] + coef * (xr[i] - cj[i]);
                    }
                }
                if let Some(dx) = dx.as_deref_mut() {
                    for i in 0..d {
                        dx[r * d + i] = dx[r * d + i] - coef * (xr[i] - cj[i]);
                    }
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "rbf {} -> {} Gaussian centres  {} params",
            self.in_features,
            self.centers,
            super::Block::n_params(self)
        )
    }
}
