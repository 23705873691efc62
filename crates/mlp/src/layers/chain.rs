//! Composite blocks: a [`Chain`] of layers run in sequence inside one block's workspace, and the
//! residual block built on it, [`Residual`] (`y = x + F(x)`). The other chain-based block,
//! [`super::Recurrent`] (SCORE), is in `layers/recurrent.rs`.
//!
//! A block's whole internal state (each inner layer's output and saved buffers, per iteration
//! for `Recurrent`, plus gradient scratch) lives in the block's auxiliary buffer, so the network
//! workspace stays one allocation per batch size.

use super::{Block, Cx, GradMode, Layer, ParamKind};
use crate::kernels::Real;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec, build_block, check_sizes, mismatch};

/// Layers applied in order, sharing one parameter slice (inner layers' slices concatenated).
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// The inner layers.
    pub layers: Vec<Layer>,
}

impl Chain {
    /// Input width.
    pub fn in_features(&self) -> usize {
        self.layers.first().map_or(0, Layer::in_features)
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        self.layers.last().map_or(0, Layer::out_features)
    }

    /// Widest activation inside (input included).
    pub fn max_width(&self) -> usize {
        self.layers
            .iter()
            .map(Layer::out_features)
            .chain([self.in_features()])
            .max()
            .unwrap_or(0)
    }

    /// Parameters of all inner layers.
    pub fn n_params(&self) -> usize {
        self.layers.iter().map(Layer::n_params).sum()
    }

    /// Inner tensors named `{prefix}{j}.{name}`.
    pub fn param_shapes(&self, prefix: &str) -> Vec<(String, Vec<usize>, ParamKind)> {
        let mut v = Vec::new();
        for (j, l) in self.layers.iter().enumerate() {
            for (name, shape, kind) in l.param_shapes() {
                v.push((format!("{prefix}{j}.{name}"), shape, kind));
            }
        }
        v
    }

    /// Initializes every inner layer.
    pub fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        let mut off = 0;
        for l in &self.layers {
            let n = l.n_params();
            let mut r = rng.fork(off as u64);
            l.init_params(&mut params[off..off + n], &mut r);
            off += n;
        }
    }

    /// Length of the saved state of one forward pass.
    pub fn cache_len(&self, batch: usize) -> usize {
        self.layers
            .iter()
            .map(|l| batch * l.out_features() + l.aux_len(batch))
            .sum()
    }

    /// Length of the gradient scratch the backward needs.
    pub fn scratch_len(&self, batch: usize) -> usize {
        2 * batch * self.max_width()
    }

    /// Scratch of [`Chain::forward_eval`]: two ping-pong activations and the largest inner
    /// layer's own scratch.
    pub fn infer_len(&self, batch: usize) -> usize {
        let inner = self.layers.iter().map(|l| l.infer_len(batch)).max();
        2 * batch * self.max_width() + inner.unwrap_or(0)
    }

    /// Training forward; `cx.aux` is the chain's cache ([`Chain::cache_len`]) and the output is
    /// [`Chain::output`] of it.
    pub fn forward_train<T: Real>(&self, cx: &mut Cx<'_, T>, input: &[T]) {
        let batch = cx.batch;
        let mut rest = cx.take_aux();
        let mut prev: Option<&[T]> = None;
        let mut off = 0;
        for l in &self.layers {
            let n_out = batch * l.out_features();
            let (out, tail) = std::mem::take(&mut rest).split_at_mut(n_out);
            let (aux, tail) = tail.split_at_mut(l.aux_len(batch));
            rest = tail;
            let np = l.n_params();
            let mut inner = Cx::forward(&cx.params[off..off + np], aux, batch, &mut *cx.rng);
            l.forward_train(&mut inner, prev.unwrap_or(input), out);
            off += np;
            prev = Some(out);
        }
    }

    /// The chain's output inside a cache written by [`Chain::forward_train`].
    pub fn output<'c, T>(&self, cache: &'c [T], batch: usize) -> &'c [T] {
        let mut off = 0;
        let mut last = 0..0;
        for l in &self.layers {
            let n_out = batch * l.out_features();
            last = off..off + n_out;
            off += n_out + l.aux_len(batch);
        }
        &cache[last]
    }

    /// Updates inner buffers from a cache written by [`Chain::forward_train`].
    pub fn update_buffers(&self, params: &mut [f32], cache: &[f32], batch: usize) {
        let (mut c, mut p) = (0, 0);
        for l in &self.layers {
            let n_out = batch * l.out_features();
            let n_aux = l.aux_len(batch);
            let np = l.n_params();
            l.update_buffers(
                &mut params[p..p + np],
                &cache[c + n_out..c + n_out + n_aux],
                batch,
            );
            c += n_out + n_aux;
            p += np;
        }
    }

    /// Inference forward; `scratch` holds [`Chain::infer_len`] elements.
    pub fn forward_eval<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        scratch: &mut [T],
    ) {
        let w = batch * self.max_width();
        let (a, rest) = scratch.split_at_mut(w);
        let (b, inner) = rest.split_at_mut(w);
        let (mut a, mut b) = (a, b);
        let n = self.layers.len();
        let mut off = 0;
        for (j, l) in self.layers.iter().enumerate() {
            let np = l.n_params();
            let p = &params[off..off + np];
            off += np;
            let x: &[T] = if j == 0 { input } else { a };
            if j + 1 == n {
                l.forward_eval(p, x, batch, output, inner);
            } else {
                l.forward_eval(p, x, batch, b, inner);
                std::mem::swap(&mut a, &mut b);
            }
        }
    }

    /// Backward through the chain: reads `d_output`, accumulates inner parameter gradients into
    /// `cx.d_params`, and writes `dL/dinput` when asked. `cx.aux` is the cache the matching
    /// [`Chain::forward_train`] filled; `scratch` has [`Chain::scratch_len`] elements.
    pub fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        input: &[T],
        d_output: &[T],
        mut d_input: Option<&mut [T]>,
        scratch: &mut [T],
    ) {
        let batch = cx.batch;
        let cache = cx.take_aux();
        let n = self.layers.len();
        let half = batch * self.max_width();
        let (mut da, mut db) = scratch.split_at_mut(half);
        let n_last = batch * self.out_features();
        da[..n_last].copy_from_slice(&d_output[..n_last]);
        // Walk the layers backward, keeping the start of each one's (output, aux) region and
        // parameter slice (no per-call allocation).
        let region = |l: &Layer| batch * l.out_features() + l.aux_len(batch);
        let mut cache_start: usize = self.layers.iter().map(region).sum();
        let mut param_end: usize = self.n_params();
        for j in (0..n).rev() {
            let l = &self.layers[j];
            cache_start -= region(l);
            let param_start = param_end - l.n_params();
            let (before, here) = cache.split_at_mut(cache_start);
            let n_out = batch * l.out_features();
            let (out, rest) = here.split_at_mut(n_out);
            let aux = &mut rest[..l.aux_len(batch)];
            let x: &[T] = if j == 0 {
                input
            } else {
                let prev = &self.layers[j - 1];
                let prev_start = cache_start - region(prev);
                &before[prev_start..prev_start + batch * prev.out_features()]
            };
            let want_input = j > 0 || d_input.is_some();
            let d_in: Option<&mut [T]> = if !want_input {
                None
            } else if j == 0 {
                d_input.as_deref_mut()
            } else {
                Some(&mut db[..batch * l.in_features()])
            };
            let mut inner = Cx {
                params: &cx.params[param_start..param_end],
                d_params: &mut cx.d_params[param_start..param_end],
                aux,
                batch,
                rng: &mut *cx.rng,
            };
            l.backward(&mut inner, x, out, &mut da[..n_out], d_in);
            param_end = param_start;
            std::mem::swap(&mut da, &mut db);
        }
    }
}

/// A residual block `y = x + F(x)`; `F` must map the width back to itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Residual {
    /// The residual branch `F`.
    pub branch: Chain,
}

/// Built from a `{"type": "residual"}` spec.
impl FromSpec for Residual {
    fn check_sizes(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::Residual { layers } = spec else {
            return Err(mismatch(here, "residual"));
        };
        check_sizes(layers, width, &format!("{here}.layers"))?;
        Ok(width)
    }

    fn width_after(_spec: &LayerSpec, width: usize) -> usize {
        width
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Residual { layers } = spec else {
            return Err(mismatch(here, "residual"));
        };
        let branch = build_block(layers, width, &format!("{here}.layers"))?;
        Ok(Residual { branch })
    }
}

impl Block for Residual {
    fn kind(&self) -> &'static str {
        "residual"
    }
    fn in_features(&self) -> usize {
        self.branch.in_features()
    }
    fn out_features(&self) -> usize {
        self.branch.out_features()
    }
    fn param_shapes(&self) -> Vec<super::ParamShape> {
        self.branch.param_shapes("block.")
    }
    fn n_params(&self) -> usize {
        self.branch.n_params()
    }
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        self.branch.init_params(params, rng)
    }

    /// Branch cache plus gradient scratch.
    fn aux_len(&self, batch: usize) -> usize {
        self.branch.cache_len(batch) + self.branch.scratch_len(batch)
    }

    fn infer_len(&self, batch: usize) -> usize {
        self.branch.infer_len(batch)
    }

    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        let batch = cx.batch;
        let cache = &mut cx.take_aux()[..self.branch.cache_len(batch)];
        self.branch.forward_train(&mut cx.with_aux(&mut *cache), x);
        let f = self.branch.output(cache, batch);
        let n = batch * self.branch.out_features();
        for ((y, &x), &fx) in y[..n].iter_mut().zip(x).zip(f) {
            *y = x + fx;
        }
    }

    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], scratch: &mut [T]) {
        let n = batch * self.branch.out_features();
        self.branch
            .forward_eval(params, x, batch, &mut y[..n], scratch);
        for (y, &x) in y[..n].iter_mut().zip(x) {
            *y = *y + x;
        }
    }

    /// `dx = dy + dF/dx^T dy`.
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        x: &[T],
        _y: &[T],
        dy: &mut [T],
        dx: Option<&mut [T]>,
    ) {
        let batch = cx.batch;
        let c = self.branch.cache_len(batch);
        let (cache, scratch) = cx.take_aux().split_at_mut(c);
        let n = batch * self.branch.out_features();
        let mut cx = cx.with_aux(cache);
        match dx {
            Some(dx) => {
                self.branch
                    .backward(&mut cx, x, dy, Some(&mut *dx), scratch);
                for (d, &g) in dx[..n].iter_mut().zip(&dy[..n]) {
                    *d = *d + g;
                }
            }
            None => self.branch.backward(&mut cx, x, dy, None, scratch),
        }
    }
    fn update_buffers(&self, params: &mut [f32], aux: &[f32], batch: usize) {
        self.branch.update_buffers(params, aux, batch)
    }
    fn has_buffers(&self) -> bool {
        self.branch.layers.iter().any(Layer::has_buffers)
    }
    fn set_grad_mode(&mut self, mode: GradMode) {
        self.branch
            .layers
            .iter_mut()
            .for_each(|l| l.set_grad_mode(mode));
    }
    fn describe(&self) -> String {
        format!(
            "residual x + F(x), width {}  {} params",
            self.branch.in_features(),
            self.branch.n_params()
        )
    }
    fn children(&self) -> Vec<(String, &Layer)> {
        let layers = self.branch.layers.iter().enumerate();
        layers.map(|(j, l)| (format!("block.{j}"), l)).collect()
    }
    fn interval(
        &self,
        params: &[f64],
        x: &crate::verify::Bounds,
    ) -> crate::Result<crate::verify::Bounds> {
        // x + F(x) as the interval sum.
        let f = crate::verify::interval::chain_bounds(&self.branch, params, x)?;
        Ok(crate::verify::Bounds {
            lower: f.lower.iter().zip(&x.lower).map(|(a, b)| a + b).collect(),
            upper: f.upper.iter().zip(&x.upper).map(|(a, b)| a + b).collect(),
        })
    }
}
