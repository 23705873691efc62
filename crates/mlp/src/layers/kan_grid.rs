//! KAN grids from data: set a B-spline (or RBF) layer's range to where its inputs actually lie,
//! and re-grid on demand (pykan's `update_grid_from_samples`): the edge functions on the new grid
//! are least-squares fits of the old ones at the sample points, so the network's function is
//! preserved as closely as the new basis allows while the grid moves or gets finer.

use super::Layer;
use super::kan::{Kan, KanBasis};
use crate::network::Network;
use crate::{Error, Result};

/// The input range `[min, max]` of each column of a row-major `rows x width` sample, widened by
/// `margin` of its span on both sides (and never empty).
pub(crate) fn data_range(samples: &[f32], width: usize, margin: f32) -> (f32, f32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in samples.iter().take(samples.len() / width.max(1) * width) {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    let span = (hi - lo).max(1e-3);
    (lo - margin * span, hi + margin * span)
}

/// Re-grids a KAN layer to `new_basis` (same family, e.g. a finer B-spline grid over the data's
/// range), fitting the new coefficients by least squares to the old edge functions at `samples`
/// (`rows x in_features`, the layer's inputs). Returns the new layer and its parameters (base
/// weights unchanged). A small ridge term keeps basis functions with no samples at zero.
pub fn regrid(
    layer: &Kan,
    params: &[f32],
    new_basis: KanBasis,
    samples: &[f32],
) -> Result<(Kan, Vec<f32>)> {
    let (i_n, o_n) = (layer.in_features, layer.out_features);
    let rows = samples.len() / i_n.max(1);
    if rows == 0 {
        return Err(Error::InvalidData(
            "re-gridding a KAN layer needs sample inputs".into(),
        ));
    }
    let (k_old, k_new) = (layer.basis.len(), new_basis.len());
    let nb = if layer.base { o_n * i_n } else { 0 };
    let coef = &params[nb..];
    let work = k_old.max(k_new) + 16;
    let (mut v_old, mut v_new, mut d, mut w) = (
        vec![0.0f64; k_old],
        vec![0.0f64; k_new],
        vec![0.0f64; k_old.max(k_new)],
        vec![0.0f64; work],
    );
    let mut new_coef = vec![0.0f32; o_n * i_n * k_new];
    for i in 0..i_n {
        // Normal equations A c = b per input i; A is shared by all outputs j.
        let mut a = vec![0.0f64; k_new * k_new];
        let mut b = vec![0.0f64; k_new * o_n];
        for r in 0..rows {
            let x = samples[r * i_n + i] as f64;
            layer.basis.eval(x, &mut v_old, &mut d[..k_old], &mut w);
            new_basis.eval(x, &mut v_new, &mut d[..k_new], &mut w);
            for p in 0..k_new {
                for q in 0..k_new {
                    a[p * k_new + q] += v_new[p] * v_new[q];
                }
            }
            for j in 0..o_n {
                let base = (j * i_n + i) * k_old;
                let phi: f64 = (0..k_old).map(|k| coef[base + k] as f64 * v_old[k]).sum();
                for p in 0..k_new {
                    b[p * o_n + j] += v_new[p] * phi;
                }
            }
        }
        let ridge = 1e-8
            * (0..k_new)
                .map(|p| a[p * k_new + p])
                .fold(0.0, f64::max)
                .max(1e-12);
        for p in 0..k_new {
            a[p * k_new + p] += ridge;
        }
        let sol = solve_spd(&mut a, &mut b, k_new, o_n)?;
        for j in 0..o_n {
            for p in 0..k_new {
                new_coef[(j * i_n + i) * k_new + p] = sol[p * o_n + j] as f32;
            }
        }
    }
    let mut out = params[..nb].to_vec();
    out.extend(new_coef);
    Ok((
        Kan {
            basis: new_basis,
            ..layer.clone()
        },
        out,
    ))
}

/// Solves `A X = B` for a symmetric positive-definite `n x n` `A` (Cholesky), `B` with `m` columns.
fn solve_spd(a: &mut [f64], b: &mut [f64], n: usize, m: usize) -> Result<Vec<f64>> {
    crate::classical::cholesky_solve(a, b, n, m).map_err(|_| {
        Error::InvalidData("the re-gridding fit is singular; give more varied samples".into())
    })?;
    Ok(b.to_vec())
}

/// Re-gridding of a built network's KAN layers (kept here, beside the least-squares refit, rather
/// than in the engine's `network.rs`).
impl Network {
    /// Re-grids the KAN layer at top-level position `index` to `new_basis` (e.g. a finer grid, or
    /// the data's range), refitting its coefficients by least squares to the current edge
    /// functions at the layer's inputs for `samples` (see [`regrid`]).
    /// The spec records the new basis; every other parameter is kept.
    pub fn regrid_kan(
        &mut self,
        index: usize,
        new_basis: KanBasis,
        samples: &[f32],
        rows: usize,
    ) -> Result<()> {
        let Some(Layer::Kan(kan)) = self.layers().get(index) else {
            return Err(Error::config(
                "layer",
                format!("layer {index} is not a top-level kan layer"),
            ));
        };
        let inputs = self.layer_inputs(index, samples, rows);
        let range = self
            .layer_range(index)
            .ok_or_else(|| Error::config("layer", format!("no layer {index}")))?;
        let (_, new_params) = regrid(kan, &self.params[range.clone()], new_basis, &inputs)?;
        let mut spec = self.spec().clone();
        match spec.layers.get_mut(index) {
            Some(crate::spec::LayerSpec::Kan { basis, .. }) => *basis = new_basis,
            _ => {
                return Err(Error::config(
                    "layer",
                    "the spec does not match the network",
                ));
            }
        }
        let mut rebuilt = spec.build(0)?;
        let new_range = rebuilt.layer_range(index).unwrap_or_default();
        let mut params = Vec::with_capacity(rebuilt.n_params());
        params.extend_from_slice(&self.params[..range.start]);
        params.extend_from_slice(&new_params);
        params.extend_from_slice(&self.params[range.end..]);
        debug_assert_eq!(params.len(), rebuilt.n_params());
        debug_assert_eq!(new_range.len(), new_params.len());
        rebuilt.params = params;
        *self = rebuilt;
        Ok(())
    }

    /// For top-level B-spline/RBF KAN layers whose spec asks for `grid_from_data`: moves the grid
    /// to the range of the layer's inputs on `samples` (5% margin), keeping its size.
    pub fn fit_kan_grids(&mut self, samples: &[f32], rows: usize) -> Result<()> {
        for index in 0..self.layers().len() {
            let Some(crate::spec::LayerSpec::Kan {
                basis,
                grid_from_data: true,
                ..
            }) = self.spec().layers.get(index).cloned()
            else {
                continue;
            };
            let width = self.layers()[index].in_features();
            let inputs = self.layer_inputs(index, samples, rows);
            let (low, high) = data_range(&inputs, width, 0.05);
            let new_basis = match basis {
                KanBasis::Bspline { grid, order, .. } => KanBasis::Bspline {
                    grid,
                    order,
                    low,
                    high,
                },
                KanBasis::Rbf { centers, .. } => KanBasis::Rbf { centers, low, high },
                other => other,
            };
            if new_basis != basis {
                self.regrid_kan(index, new_basis, samples, rows)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Block;
    use crate::rng::Rng;

    fn eval_layer(layer: &Kan, params: &[f32], x: &[f32], rows: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; rows * layer.out_features];
        let mut work = vec![0.0f32; layer.infer_len(rows)];
        layer.infer(params, x, rows, &mut out, &mut work);
        out
    }

    #[test]
    fn refining_the_grid_preserves_the_function() {
        let layer = Kan {
            in_features: 2,
            out_features: 3,
            basis: KanBasis::Bspline {
                grid: 4,
                order: 3,
                low: -1.0,
                high: 1.0,
            },
            base: true,
        };
        let mut params = vec![0.0f32; layer.n_params()];
        let mut rng = Rng::seed_from(1);
        layer.init_params(&mut params, &mut rng);
        for c in params.iter_mut().skip(6) {
            *c = rng.normal(); // large coefficients: a wiggly function
        }
        let rows = 400;
        let x: Vec<f32> = (0..rows * 2)
            .map(|_| rng.uniform_range(-0.9, 0.9))
            .collect();
        // A finer grid over the same range contains the old spline space: the fit is exact.
        let finer = KanBasis::Bspline {
            grid: 8,
            order: 3,
            low: -1.0,
            high: 1.0,
        };
        let (new_layer, new_params) = regrid(&layer, &params, finer, &x).expect("regrid");
        assert_eq!(new_params.len(), new_layer.n_params());
        let (a, b) = (
            eval_layer(&layer, &params, &x, rows),
            eval_layer(&new_layer, &new_params, &x, rows),
        );
        let worst = a
            .iter()
            .zip(&b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "max deviation {worst}");
    }

    #[test]
    fn data_range_widens_by_the_margin() {
        let (lo, hi) = data_range(&[0.0, 2.0, 1.0, 4.0], 2, 0.25);
        assert_eq!((lo, hi), (-1.0, 5.0));
        assert_eq!(data_range(&[], 2, 0.1), (-1.0, 1.0));
    }
}
