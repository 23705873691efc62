//! Composite blocks: a [`Chain`] of layers run in sequence inside one block's workspace, and the
//! two blocks built on it — [`Residual`] (`y = x + F(x)`) and [`Recurrent`] (SCORE: one shared
//! block applied `steps` times, `h <- (1 - dt) h + dt F(h)`).
//!
//! A block's whole internal state (each inner layer's output and saved buffers, per iteration
//! for `Recurrent`, plus gradient scratch) lives in the block's auxiliary buffer, so the network
//! workspace stays one allocation per batch size.

use super::{Block, Cx, GradMode, Layer, ParamKind};
use crate::kernels::Real;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec, MAX_REPEAT, build_block, check_sizes, limit, mismatch};

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

    /// Training forward; the output is [`Chain::output`] of the same cache.
    pub fn forward_train<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        cache: &mut [T],
        rng: &mut Rng,
    ) {
        let mut rest = cache;
        let mut prev: Option<&[T]> = None;
        let mut off = 0;
        for l in &self.layers {
            let n_out = batch * l.out_features();
            let (out, tail) = rest.split_at_mut(n_out);
            let (aux, tail) = tail.split_at_mut(l.aux_len(batch));
            rest = tail;
            let np = l.n_params();
            let mut cx = Cx::forward(&params[off..off + np], aux, batch, &mut *rng);
            l.forward_train(&mut cx, prev.unwrap_or(input), out);
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

    /// Inference forward through two scratch buffers (allocated here: composite blocks trade one
    /// allocation per call for a simpler inference path).
    pub fn forward_eval<T: Real>(&self, params: &[T], input: &[T], batch: usize, output: &mut [T]) {
        let w = batch * self.max_width();
        let (mut a, mut b) = (vec![T::zero(); w], vec![T::zero(); w]);
        let n = self.layers.len();
        let mut off = 0;
        for (j, l) in self.layers.iter().enumerate() {
            let np = l.n_params();
            let p = &params[off..off + np];
            off += np;
            let x: &[T] = if j == 0 { input } else { &a };
            if j + 1 == n {
                l.forward_eval(p, x, batch, output);
            } else {
                l.forward_eval(p, x, batch, &mut b);
                std::mem::swap(&mut a, &mut b);
            }
        }
    }

    /// Backward through the chain: reads `d_output`, accumulates inner parameter gradients, and
    /// writes `dL/dinput` when asked. `scratch` has [`Chain::scratch_len`] elements.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        cache: &mut [T],
        d_output: &[T],
        mut d_input: Option<&mut [T]>,
        d_params: &mut [T],
        scratch: &mut [T],
    ) {
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
        // Backward passes draw nothing; the context still carries a stream.
        let mut rng = Rng::seed_from(0);
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
            let mut cx = Cx {
                params: &params[param_start..param_end],
                d_params: &mut d_params[param_start..param_end],
                aux,
                batch,
                rng: &mut rng,
            };
            l.backward(&mut cx, x, out, &mut da[..n_out], d_in);
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

impl Residual {
    /// Branch cache plus gradient scratch.
    pub fn aux_len(&self, batch: usize) -> usize {
        self.branch.cache_len(batch) + self.branch.scratch_len(batch)
    }

    /// Training forward.
    pub fn forward_train<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        aux: &mut [T],
        rng: &mut Rng,
    ) {
        let c = self.branch.cache_len(batch);
        let cache = &mut aux[..c];
        self.branch.forward_train(params, input, batch, cache, rng);
        let f = self.branch.output(cache, batch);
        let n = batch * self.branch.out_features();
        for ((y, &x), &fx) in output[..n].iter_mut().zip(input).zip(f) {
            *y = x + fx;
        }
    }

    /// Inference forward.
    pub fn forward_eval<T: Real>(&self, params: &[T], input: &[T], batch: usize, output: &mut [T]) {
        let n = batch * self.branch.out_features();
        self.branch
            .forward_eval(params, input, batch, &mut output[..n]);
        for (y, &x) in output[..n].iter_mut().zip(input) {
            *y = *y + x;
        }
    }

    /// Backward: `dx = dy + dF/dx^T dy`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        aux: &mut [T],
        batch: usize,
        d_output: &[T],
        d_input: Option<&mut [T]>,
        d_params: &mut [T],
    ) {
        let c = self.branch.cache_len(batch);
        let (cache, scratch) = aux.split_at_mut(c);
        let n = batch * self.branch.out_features();
        match d_input {
            Some(dx) => {
                self.branch.backward(
                    params,
                    input,
                    batch,
                    cache,
                    d_output,
                    Some(&mut *dx),
                    d_params,
                    scratch,
                );
                for (d, &g) in dx[..n].iter_mut().zip(&d_output[..n]) {
                    *d = *d + g;
                }
            }
            None => self.branch.backward(
                params, input, batch, cache, d_output, None, d_params, scratch,
            ),
        }
    }
}

/// How a [`Recurrent`] block integrates `dh/ds = F(h) - h` over one step of size `dt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Integrator {
    /// Explicit Euler: `h <- (1 - dt) h + dt F(h)` (one evaluation of `F`).
    #[default]
    Euler,
    /// Explicit midpoint (RK2): `m = (1 - dt/2) h + dt/2 F(h)`, `h <- h + dt (F(m) - m)`
    /// (two evaluations of `F`).
    Rk2,
}

impl Integrator {
    fn evaluations(self) -> usize {
        match self {
            Integrator::Euler => 1,
            Integrator::Rk2 => 2,
        }
    }
}

/// Contractive recurrent depth (SCORE): one shared block `F` applied `steps` times, integrating
/// `dh/ds = F(h) - h` with step `dt` (Euler: `h <- (1 - dt) h + dt F(h)`). Backpropagation runs
/// through every iteration; the shared parameters' gradients add up over iterations.
#[derive(Debug, Clone, PartialEq)]
pub struct Recurrent {
    /// The shared block `F` (width-preserving).
    pub block: Chain,
    /// Number of applications `T`.
    pub steps: usize,
    /// Step size `dt` in `(0, 1]`.
    pub dt: f32,
    /// The integration rule.
    pub integrator: Integrator,
}

impl Recurrent {
    /// One evaluation of `F`: its input and its cache.
    fn eval_slot(&self, batch: usize) -> usize {
        batch * self.block.in_features() + self.block.cache_len(batch)
    }

    fn n_evals(&self) -> usize {
        self.steps * self.integrator.evaluations()
    }

    /// Per evaluation of `F`: its input and cache; then the block's gradient scratch and three
    /// `batch x width` gradient buffers.
    pub fn aux_len(&self, batch: usize) -> usize {
        let d = batch * self.block.in_features();
        self.n_evals() * self.eval_slot(batch) + self.block.scratch_len(batch) + 3 * d
    }

    /// Training forward, saving every evaluation.
    pub fn forward_train<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        aux: &mut [T],
        rng: &mut Rng,
    ) {
        let d = batch * self.block.in_features();
        let dt = T::of(self.dt as f64);
        let slot = self.eval_slot(batch);
        let evals = self.integrator.evaluations();
        output[..d].copy_from_slice(&input[..d]);
        for t in 0..self.steps {
            match self.integrator {
                Integrator::Euler => {
                    let (h, cache) = aux[t * slot..(t + 1) * slot].split_at_mut(d);
                    h.copy_from_slice(&output[..d]);
                    self.block.forward_train(params, h, batch, cache, rng);
                    let f = self.block.output(cache, batch);
                    for ((y, &ht), &ft) in output[..d].iter_mut().zip(h.iter()).zip(f) {
                        *y = (T::one() - dt) * ht + dt * ft;
                    }
                }
                Integrator::Rk2 => {
                    let base = t * evals * slot;
                    let (first, second) = aux[base..base + 2 * slot].split_at_mut(slot);
                    let (h, cache1) = first.split_at_mut(d);
                    h.copy_from_slice(&output[..d]);
                    self.block.forward_train(params, h, batch, cache1, rng);
                    let f1 = self.block.output(cache1, batch);
                    let half = dt * T::of(0.5);
                    let (m, cache2) = second.split_at_mut(d);
                    for ((mi, &hi), &fi) in m.iter_mut().zip(h.iter()).zip(f1) {
                        *mi = (T::one() - half) * hi + half * fi;
                    }
                    self.block.forward_train(params, m, batch, cache2, rng);
                    let f2 = self.block.output(cache2, batch);
                    for (((y, &hi), &mi), &fi) in
                        output[..d].iter_mut().zip(h.iter()).zip(m.iter()).zip(f2)
                    {
                        *y = hi + dt * (fi - mi);
                    }
                }
            }
        }
    }

    /// Updates the shared block's buffers from every evaluation, in order.
    pub fn update_buffers(&self, params: &mut [f32], aux: &[f32], batch: usize) {
        let d = batch * self.block.in_features();
        let slot = self.eval_slot(batch);
        for e in 0..self.n_evals() {
            self.block
                .update_buffers(params, &aux[e * slot + d..(e + 1) * slot], batch);
        }
    }

    /// Inference forward.
    pub fn forward_eval<T: Real>(&self, params: &[T], input: &[T], batch: usize, output: &mut [T]) {
        let d = batch * self.block.in_features();
        let dt = T::of(self.dt as f64);
        let mut f = vec![T::zero(); d];
        let mut m = vec![T::zero(); d];
        output[..d].copy_from_slice(&input[..d]);
        for _ in 0..self.steps {
            self.block.forward_eval(params, &output[..d], batch, &mut f);
            match self.integrator {
                Integrator::Euler => {
                    for (y, &ft) in output[..d].iter_mut().zip(&f) {
                        *y = (T::one() - dt) * *y + dt * ft;
                    }
                }
                Integrator::Rk2 => {
                    let half = dt * T::of(0.5);
                    for ((mi, &hi), &fi) in m.iter_mut().zip(output[..d].iter()).zip(&f) {
                        *mi = (T::one() - half) * hi + half * fi;
                    }
                    self.block.forward_eval(params, &m, batch, &mut f);
                    for ((y, &mi), &fi) in output[..d].iter_mut().zip(&m).zip(&f) {
                        *y = *y + dt * (fi - mi);
                    }
                }
            }
        }
    }

    /// Backward through all iterations, last to first. Euler:
    /// `dh_t = (1 - dt) dh_{t+1} + J_F(h_t)^T (dt dh_{t+1})`. RK2, with `g = dh_{t+1}`:
    /// `dm = dt (J_F(m)^T g - g)`, `dh_t = g + (1 - dt/2) dm + J_F(h_t)^T (dt/2 dm)`.
    /// The shared parameters' gradients accumulate over every evaluation.
    pub fn backward<T: Real>(
        &self,
        params: &[T],
        aux: &mut [T],
        batch: usize,
        d_output: &[T],
        d_input: Option<&mut [T]>,
        d_params: &mut [T],
    ) {
        let d = batch * self.block.in_features();
        let dt = T::of(self.dt as f64);
        let slot = self.eval_slot(batch);
        let evals = self.integrator.evaluations();
        let (slots, rest) = aux.split_at_mut(self.n_evals() * slot);
        let (scratch, rest) = rest.split_at_mut(self.block.scratch_len(batch));
        let (d_h, rest) = rest.split_at_mut(d);
        let (d_f, rest) = rest.split_at_mut(d);
        let d_through = &mut rest[..d];
        d_h.copy_from_slice(&d_output[..d]);
        for t in (0..self.steps).rev() {
            match self.integrator {
                Integrator::Euler => {
                    let (h, cache) = slots[t * slot..(t + 1) * slot].split_at_mut(d);
                    for (g, &dh) in d_f.iter_mut().zip(d_h.iter()) {
                        *g = dt * dh;
                    }
                    self.block.backward(
                        params,
                        h,
                        batch,
                        cache,
                        d_f,
                        Some(&mut *d_through),
                        d_params,
                        scratch,
                    );
                    for (dh, &j) in d_h.iter_mut().zip(d_through.iter()) {
                        *dh = (T::one() - dt) * *dh + j;
                    }
                }
                Integrator::Rk2 => {
                    let base = t * evals * slot;
                    let (first, second) = slots[base..base + 2 * slot].split_at_mut(slot);
                    let (h, cache1) = first.split_at_mut(d);
                    let (m, cache2) = second.split_at_mut(d);
                    // Through F(m): d_f = dt g; dm = J^T d_f - dt g.
                    for (f, &g) in d_f.iter_mut().zip(d_h.iter()) {
                        *f = dt * g;
                    }
                    self.block.backward(
                        params,
                        m,
                        batch,
                        cache2,
                        d_f,
                        Some(&mut *d_through),
                        d_params,
                        scratch,
                    );
                    let half = dt * T::of(0.5);
                    // d_f <- dm; then through F(h) with half * dm.
                    for ((f, &j), &g) in d_f.iter_mut().zip(d_through.iter()).zip(d_h.iter()) {
                        *f = j - dt * g;
                    }
                    for (dh, &dm) in d_h.iter_mut().zip(d_f.iter()) {
                        *dh = *dh + (T::one() - half) * dm;
                    }
                    for f in d_f.iter_mut() {
                        *f = half * *f;
                    }
                    self.block.backward(
                        params,
                        h,
                        batch,
                        cache1,
                        d_f,
                        Some(&mut *d_through),
                        d_params,
                        scratch,
                    );
                    for (dh, &j) in d_h.iter_mut().zip(d_through.iter()) {
                        *dh = *dh + j;
                    }
                }
            }
        }
        if let Some(dx) = d_input {
            dx[..d].copy_from_slice(d_h);
        }
    }
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

/// Built from a `{"type": "recurrent"}` spec.
impl FromSpec for Recurrent {
    fn check_sizes(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::Recurrent { layers, steps, .. } = spec else {
            return Err(mismatch(here, "recurrent"));
        };
        limit(here, "steps", Some(*steps), MAX_REPEAT)?;
        check_sizes(layers, width, &format!("{here}.layers"))?;
        Ok(width)
    }

    fn width_after(_spec: &LayerSpec, width: usize) -> usize {
        width
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Recurrent {
            layers,
            steps,
            dt,
            integrator,
        } = spec
        else {
            return Err(mismatch(here, "recurrent"));
        };
        if *steps == 0 {
            return Err(crate::Error::config(
                format!("{here}.steps"),
                "must be at least 1",
            ));
        }
        if !(*dt > 0.0 && *dt <= 1.0) {
            return Err(crate::Error::config(
                format!("{here}.dt"),
                format!("must be in (0, 1], got {dt}"),
            ));
        }
        let block = build_block(layers, width, &format!("{here}.layers"))?;
        Ok(Recurrent {
            block,
            steps: *steps,
            dt: *dt,
            integrator: *integrator,
        })
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
    fn aux_len(&self, batch: usize) -> usize {
        Residual::aux_len(self, batch)
    }
    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        Residual::forward_train(self, cx.params, x, cx.batch, y, cx.aux, cx.rng)
    }
    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T]) {
        Residual::forward_eval(self, params, x, batch, y)
    }
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        x: &[T],
        _y: &[T],
        dy: &mut [T],
        dx: Option<&mut [T]>,
    ) {
        Residual::backward(self, cx.params, x, cx.aux, cx.batch, dy, dx, cx.d_params)
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

impl Block for Recurrent {
    fn kind(&self) -> &'static str {
        "recurrent"
    }
    fn in_features(&self) -> usize {
        self.block.in_features()
    }
    fn out_features(&self) -> usize {
        self.block.out_features()
    }
    fn param_shapes(&self) -> Vec<super::ParamShape> {
        self.block.param_shapes("block.")
    }
    fn n_params(&self) -> usize {
        self.block.n_params()
    }
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        self.block.init_params(params, rng)
    }
    fn aux_len(&self, batch: usize) -> usize {
        Recurrent::aux_len(self, batch)
    }
    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        Recurrent::forward_train(self, cx.params, x, cx.batch, y, cx.aux, cx.rng)
    }
    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T]) {
        Recurrent::forward_eval(self, params, x, batch, y)
    }
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        _x: &[T],
        _y: &[T],
        dy: &mut [T],
        dx: Option<&mut [T]>,
    ) {
        Recurrent::backward(self, cx.params, cx.aux, cx.batch, dy, dx, cx.d_params)
    }
    fn update_buffers(&self, params: &mut [f32], aux: &[f32], batch: usize) {
        Recurrent::update_buffers(self, params, aux, batch)
    }
    fn has_buffers(&self) -> bool {
        self.block.layers.iter().any(Layer::has_buffers)
    }
    fn set_grad_mode(&mut self, mode: GradMode) {
        self.block
            .layers
            .iter_mut()
            .for_each(|l| l.set_grad_mode(mode));
    }
    fn describe(&self) -> String {
        format!(
            "recurrent h <- (1 - dt) h + dt F(h), steps {}, dt {}, width {}  {} params (shared)",
            self.steps,
            self.dt,
            self.block.in_features(),
            self.block.n_params()
        )
    }
    fn children(&self) -> Vec<(String, &Layer)> {
        let layers = self.block.layers.iter().enumerate();
        layers.map(|(j, l)| (format!("block.{j}"), l)).collect()
    }
    fn interval(
        &self,
        params: &[f64],
        x: &crate::verify::Bounds,
    ) -> crate::Result<crate::verify::Bounds> {
        use crate::verify::interval::{chain_bounds, combine};
        // Each integration step in interval arithmetic (all coefficients non-negative).
        let dt = self.dt as f64;
        let mut h = x.clone();
        for _ in 0..self.steps {
            let f = chain_bounds(&self.block, params, &h)?;
            match self.integrator {
                Integrator::Euler => h = combine(1.0 - dt, &h, dt, &f),
                Integrator::Rk2 => {
                    let half = 0.5 * dt;
                    let m = combine(1.0 - half, &h, half, &f);
                    let fm = chain_bounds(&self.block, params, &m)?;
                    // h + dt (F(m) - m): each term bounded on its own.
                    let n = h.len();
                    let mut next = h.clone();
                    for j in 0..n {
                        next.lower[j] = h.lower[j] + dt * (fm.lower[j] - m.upper[j]);
                        next.upper[j] = h.upper[j] + dt * (fm.upper[j] - m.lower[j]);
                    }
                    h = next;
                }
            }
        }
        Ok(h)
    }
}
