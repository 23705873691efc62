//! Cascade-correlation network (Fahlman & Lebiere, 1990) as one block: hidden unit `h` sees the
//! inputs and every earlier unit, `v_h = tanh(w_h . [x, v_0..v_{h-1}] + b_h)`, and the linear
//! output layer sees them all, `y = W [x, v_0..v_{H-1}] + b`.
//!
//! `mlp train --arch cascade` grows the block one unit at a time (see
//! [`crate::classical::cascade`]); installed units are frozen (`frozen: true`, the default), so
//! later gradient training moves the output layer only. With `frozen: false` every weight is
//! trainable (the gradient check covers both).
//!
//! Backward: `dF = W^T dy` over the features `F = [x, v]`; then for `h` from the last unit down,
//! `dz = dF[in + h] (1 - v_h^2)`, `dw_h += dz F[..in + h]`, `dF[..in + h] += dz w_h`.

use super::{Cx, ParamKind, ParamShape};
use crate::kernels::Real;
use crate::spec::{FromSpec, LayerSpec, MAX_REPEAT, MAX_WIDTH, limit, mismatch};

/// A cascade-correlation block.
#[derive(Debug, Clone, PartialEq)]
pub struct Cascade {
    /// Input width.
    pub in_features: usize,
    /// Installed hidden units.
    pub hidden: usize,
    /// Output width.
    pub outputs: usize,
    /// Whether the hidden units' weights are frozen.
    pub frozen: bool,
}

impl Cascade {
    /// Offset of hidden unit `h`'s weights (its `in + h` weights, then its bias).
    pub fn unit_offset(&self, h: usize) -> usize {
        h * (self.in_features + 1) + h * h.saturating_sub(1) / 2
    }

    /// Offset of the output weights (`outputs x (in + hidden)`), followed by the output bias.
    pub fn output_offset(&self) -> usize {
        self.unit_offset(self.hidden)
    }

    /// Width of the features the output layer sees: `in + hidden`.
    pub fn features(&self) -> usize {
        self.in_features + self.hidden
    }

    /// Computes the feature rows `F = [x, v]` (`batch x (in + hidden)`) into `f`.
    pub fn feature_rows<T: Real>(&self, params: &[T], x: &[T], batch: usize, f: &mut [T]) {
        let (d, w) = (self.in_features, self.features());
        for r in 0..batch {
            let fr = &mut f[r * w..(r + 1) * w];
            fr[..d].copy_from_slice(&x[r * d..(r + 1) * d]);
            for h in 0..self.hidden {
                let o = self.unit_offset(h);
                let k = d + h;
                let z = T::dot(&params[o..o + k], &fr[..k]) + params[o + k];
                fr[k] = z.tanh();
            }
        }
    }

    fn apply<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], f: &mut [T]) {
        self.feature_rows(params, x, batch, f);
        let (w, m) = (self.features(), self.outputs);
        let o = self.output_offset();
        let (wo, bo) = params[o..].split_at(m * w);
        for r in 0..batch {
            let fr = &f[r * w..(r + 1) * w];
            for j in 0..m {
                y[r * m + j] = T::dot(&wo[j * w..(j + 1) * w], fr) + bo[j];
            }
        }
    }
}

/// Built from a `{"type": "cascade", "hidden": H, "outputs": M}` spec.
impl FromSpec for Cascade {
    fn check_sizes(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::Cascade {
            hidden, outputs, ..
        } = *spec
        else {
            return Err(mismatch(here, "cascade"));
        };
        limit(here, "hidden", Some(hidden), MAX_REPEAT.min(1 << 14))?;
        limit(here, "outputs", Some(outputs), MAX_WIDTH)?;
        limit(here, "hidden", width.checked_add(hidden), MAX_WIDTH)?;
        Ok(outputs)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::Cascade { outputs, .. } => outputs,
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Cascade {
            hidden,
            outputs,
            frozen,
        } = *spec
        else {
            return Err(mismatch(here, "cascade"));
        };
        if outputs == 0 {
            return Err(crate::Error::config(
                format!("{here}.outputs"),
                "a cascade block needs at least one output",
            ));
        }
        Ok(Cascade {
            in_features: width,
            hidden,
            outputs,
            frozen,
        })
    }
}

impl super::Block for Cascade {
    fn kind(&self) -> &'static str {
        "cascade"
    }
    fn in_features(&self) -> usize {
        self.in_features
    }
    fn out_features(&self) -> usize {
        self.outputs
    }

    /// `hidden.{h}.weight` (`in + h`) and `hidden.{h}.bias` per unit, then `output.weight`
    /// (`outputs x (in + hidden)`) and `output.bias`.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let (wk, bk) = if self.frozen {
            (ParamKind::Frozen, ParamKind::Frozen)
        } else {
            (ParamKind::Weight, ParamKind::Bias)
        };
        let mut v = Vec::with_capacity(2 * self.hidden + 2);
        for h in 0..self.hidden {
            v.push((format!("hidden.{h}.weight"), vec![self.in_features + h], wk));
            v.push((format!("hidden.{h}.bias"), vec![1], bk));
        }
        v.push((
            "output.weight".into(),
            vec![self.outputs, self.features()],
            ParamKind::Weight,
        ));
        v.push(("output.bias".into(), vec![self.outputs], ParamKind::Bias));
        v
    }

    fn n_params(&self) -> usize {
        self.output_offset() + self.outputs * (self.features() + 1)
    }

    /// Xavier-uniform weights, zero biases.
    fn init_params(&self, params: &mut [f32], rng: &mut crate::rng::Rng) {
        let d = self.in_features;
        for h in 0..self.hidden {
            let o = self.unit_offset(h);
            let a = (6.0 / (d + h + 1) as f32).sqrt();
            params[o..o + d + h]
                .iter_mut()
                .for_each(|v| *v = rng.uniform_range(-a, a));
            params[o + d + h] = 0.0;
        }
        let o = self.output_offset();
        let w = self.features();
        let a = (6.0 / (w + self.outputs) as f32).sqrt();
        params[o..o + self.outputs * w]
            .iter_mut()
            .for_each(|v| *v = rng.uniform_range(-a, a));
        params[o + self.outputs * w..]
            .iter_mut()
            .for_each(|v| *v = 0.0);
    }

    /// The feature rows `[x, v]`.
    fn aux_len(&self, batch: usize) -> usize {
        batch * self.features()
    }

    fn infer_len(&self, batch: usize) -> usize {
        batch * self.features()
    }

    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        self.apply(cx.params, x, cx.batch, y, cx.aux)
    }

    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], scratch: &mut [T]) {
        self.apply(params, x, batch, y, scratch)
    }

    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        _x: &[T],
        _y: &[T],
        dy: &mut [T],
        mut dx: Option<&mut [T]>,
    ) {
        let (d, w, m) = (self.in_features, self.features(), self.outputs);
        let o = self.output_offset();
        let params = cx.params;
        let f = &*cx.aux;
        let train = !cx.d_params.is_empty();
        let mut df = vec![T::zero(); w];
        for r in 0..cx.batch {
            let fr = &f[r * w..(r + 1) * w];
            let dyr = &dy[r * m..(r + 1) * m];
            df.iter_mut().for_each(|v| *v = T::zero());
            for j in 0..m {
                let g = dyr[j];
                let wj = &params[o + j * w..o + (j + 1) * w];
                for k in 0..w {
                    df[k] = df[k] + g * wj[k];
                }
                if train {
                    let dw = &mut cx.d_params[o + j * w..o + (j + 1) * w];
                    for k in 0..w {
                        dw[k] = dw[k] + g * fr[k];
                    }
                    let db = &mut cx.d_params[o + m * w + j];
                    *db = *db + g;
                }
            }
            for h in (0..self.hidden).rev() {
                let k = d + h;
                let v = fr[k];
                let dz = df[k] * (T::one() - v * v);
                let uo = self.unit_offset(h);
                if train && !self.frozen {
                    for (i, &fi) in fr[..k].iter().enumerate() {
                        cx.d_params[uo + i] = cx.d_params[uo + i] + dz * fi;
                    }
                    cx.d_params[uo + k] = cx.d_params[uo + k] + dz;
                }
                for i in 0..k {
                    df[i] = df[i] + dz * params[uo + i];
                }
            }
            if let Some(dx) = dx.as_deref_mut() {
                dx[r * d..(r + 1) * d].copy_from_slice(&df[..d]);
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "cascade {} -> {}  {} hidden units{}  {} params",
            self.in_features,
            self.outputs,
            self.hidden,
            if self.frozen { " (frozen)" } else { "" },
            super::Block::n_params(self)
        )
    }
}
