//! Per-field embeddings (as in FinalMLP and other CTR models): the input is a concatenation of
//! fields — a categorical column's one-hot block or a single numeric feature — and each field `f`
//! gets its own table `T_f` (`width_f x dim`): `out_f = x_f T_f`, i.e. the row of the category
//! for one-hot blocks and `value * v_f` for numeric features. The output concatenates the fields'
//! `dim`-vectors.
//!
//! Backward: `dT_f += x_f^T dout_f`; `dx_f = dout_f T_f^T`.

use super::{Block, Cx, ParamKind, ParamShape};
use crate::kernels::Real;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec, MAX_WIDTH, limit, mismatch};

/// Per-field embedding tables.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldEmbedding {
    /// Input width of each field, in input order (they sum to the input width).
    pub fields: Vec<usize>,
    /// Embedding size per field.
    pub dim: usize,
}

/// Built from a `{"type": "embedding"}` spec.
impl FromSpec for FieldEmbedding {
    fn check_sizes(spec: &LayerSpec, _width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::Embedding { fields, dim } = spec else {
            return Err(mismatch(here, "embedding"));
        };
        limit(here, "fields", Some(fields.len()), MAX_WIDTH)?;
        limit(here, "dim", Some(*dim), MAX_WIDTH)?;
        let total = fields.iter().try_fold(0usize, |a, &f| a.checked_add(f));
        limit(here, "fields", total, MAX_WIDTH)?;
        limit(here, "dim", fields.len().checked_mul(*dim), MAX_WIDTH)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match spec {
            LayerSpec::Embedding { fields, dim } => fields.len().saturating_mul(*dim),
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Embedding { fields, dim } = spec else {
            return Err(mismatch(here, "embedding"));
        };
        let total: usize = fields.iter().sum();
        if *dim == 0 || fields.is_empty() || fields.contains(&0) || total != width {
            return Err(crate::Error::config(
                here,
                format!(
                    "embedding fields must be positive widths adding up to the input width {width} (they add up to {total}), and dim >= 1"
                ),
            ));
        }
        Ok(FieldEmbedding {
            fields: fields.clone(),
            dim: *dim,
        })
    }
}

impl Block for FieldEmbedding {
    fn kind(&self) -> &'static str {
        "embedding"
    }

    /// Input width.
    fn in_features(&self) -> usize {
        self.fields.iter().sum()
    }

    /// Output width: `fields x dim`.
    fn out_features(&self) -> usize {
        self.fields.len() * self.dim
    }

    /// One row of `dim` per input feature.
    fn n_params(&self) -> usize {
        self.in_features() * self.dim
    }

    /// `field.{f}.weight` (`width_f x dim`).
    fn param_shapes(&self) -> Vec<ParamShape> {
        self.fields
            .iter()
            .enumerate()
            .map(|(f, &w)| {
                (
                    format!("field.{f}.weight"),
                    vec![w, self.dim],
                    ParamKind::Weight,
                )
            })
            .collect()
    }

    /// `N(0, 0.01)`-scale tables (embedding practice).
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        for p in params {
            *p = 0.1 * rng.normal();
        }
    }

    /// The training forward is the inference forward (nothing to save: the backward reads the
    /// input).
    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, input: &[T], output: &mut [T]) {
        self.infer(cx.params, input, cx.batch, output, &mut [])
    }

    fn infer<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        _: &mut [T],
    ) {
        let (nin, d) = (self.in_features(), self.dim);
        let nout = self.out_features();
        for b in 0..batch {
            let x = &input[b * nin..(b + 1) * nin];
            let y = &mut output[b * nout..(b + 1) * nout];
            let mut a = 0;
            for (f, &w) in self.fields.iter().enumerate() {
                let out = &mut y[f * d..(f + 1) * d];
                out.iter_mut().for_each(|v| *v = T::zero());
                for k in 0..w {
                    let xv = x[a + k];
                    if xv != T::zero() {
                        let row = &params[(a + k) * d..(a + k + 1) * d];
                        for (o, &t) in out.iter_mut().zip(row) {
                            *o = *o + xv * t;
                        }
                    }
                }
                a += w;
            }
        }
    }

    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        input: &[T],
        _y: &[T],
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
    ) {
        let (params, batch, d_params) = (cx.params, cx.batch, &mut *cx.d_params);
        let (nin, d) = (self.in_features(), self.dim);
        let nout = self.out_features();
        let mut d_in = d_input;
        for b in 0..batch {
            let x = &input[b * nin..(b + 1) * nin];
            let dy = &d_output[b * nout..(b + 1) * nout];
            let mut a = 0;
            for (f, &w) in self.fields.iter().enumerate() {
                let g = &dy[f * d..(f + 1) * d];
                for k in 0..w {
                    let idx = a + k;
                    let xv = x[idx];
                    let row = &mut d_params[idx * d..(idx + 1) * d];
                    for (r, &gv) in row.iter_mut().zip(g) {
                        *r = *r + xv * gv;
                    }
                    if let Some(dx) = d_in.as_deref_mut() {
                        let t = &params[idx * d..(idx + 1) * d];
                        dx[b * nin + idx] =
                            t.iter().zip(g).fold(T::zero(), |s, (&tv, &gv)| s + tv * gv);
                    }
                }
                a += w;
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "embedding {} fields ({} inputs) -> {} x {}  {} params",
            self.fields.len(),
            self.in_features(),
            self.fields.len(),
            self.dim,
            self.n_params()
        )
    }
}
