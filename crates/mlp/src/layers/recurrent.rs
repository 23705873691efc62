//! SCORE recurrent depth (the [`Recurrent`] block): one shared block `F` (a [`Chain`]) applied
//! `steps` times, integrating `dh/ds = F(h) - h` (Euler or midpoint). Its whole state (every
//! evaluation's input and cache, plus gradient scratch) lives in the block's auxiliary buffer.

use super::{Block, Chain, Cx, GradMode, Layer};
use crate::kernels::Real;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec, MAX_REPEAT, build_block, check_sizes, limit, mismatch};

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
    /// Per evaluation of `F`: its input and cache; then the block's gradient scratch and three
    /// `batch x width` gradient buffers.
    fn aux_len(&self, batch: usize) -> usize {
        let d = batch * self.block.in_features();
        self.n_evals() * self.eval_slot(batch) + self.block.scratch_len(batch) + 3 * d
    }

    /// Training forward, saving every evaluation.
    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, input: &[T], output: &mut [T]) {
        let batch = cx.batch;
        let aux = cx.take_aux();
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
                    self.block.forward_train(&mut cx.with_aux(cache), h);
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
                    self.block.forward_train(&mut cx.with_aux(cache1), h);
                    let f1 = self.block.output(cache1, batch);
                    let half = dt * T::of(0.5);
                    let (m, cache2) = second.split_at_mut(d);
                    for ((mi, &hi), &fi) in m.iter_mut().zip(h.iter()).zip(f1) {
                        *mi = (T::one() - half) * hi + half * fi;
                    }
                    self.block.forward_train(&mut cx.with_aux(cache2), m);
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
    fn update_buffers(&self, params: &mut [f32], aux: &[f32], batch: usize) {
        let d = batch * self.block.in_features();
        let slot = self.eval_slot(batch);
        for e in 0..self.n_evals() {
            self.block
                .update_buffers(params, &aux[e * slot + d..(e + 1) * slot], batch);
        }
    }

    /// `F(h)`, the midpoint `m` and the shared block's own scratch.
    fn infer_len(&self, batch: usize) -> usize {
        2 * batch * self.block.in_features() + self.block.infer_len(batch)
    }

    fn infer<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        scratch: &mut [T],
    ) {
        let d = batch * self.block.in_features();
        let dt = T::of(self.dt as f64);
        let (f, rest) = scratch.split_at_mut(d);
        let (m, inner) = rest.split_at_mut(d);
        output[..d].copy_from_slice(&input[..d]);
        for _ in 0..self.steps {
            self.block
                .forward_eval(params, &output[..d], batch, f, inner);
            match self.integrator {
                Integrator::Euler => {
                    for (y, &ft) in output[..d].iter_mut().zip(f.iter()) {
                        *y = (T::one() - dt) * *y + dt * ft;
                    }
                }
                Integrator::Rk2 => {
                    let half = dt * T::of(0.5);
                    for ((mi, &hi), &fi) in m.iter_mut().zip(output[..d].iter()).zip(f.iter()) {
                        *mi = (T::one() - half) * hi + half * fi;
                    }
                    self.block.forward_eval(params, m, batch, f, inner);
                    for ((y, &mi), &fi) in output[..d].iter_mut().zip(m.iter()).zip(f.iter()) {
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
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        _x: &[T],
        _y: &[T],
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
    ) {
        let batch = cx.batch;
        let aux = cx.take_aux();
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
                        &mut cx.with_aux(cache),
                        h,
                        d_f,
                        Some(&mut *d_through),
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
                        &mut cx.with_aux(cache2),
                        m,
                        d_f,
                        Some(&mut *d_through),
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
                        &mut cx.with_aux(cache1),
                        h,
                        d_f,
                        Some(&mut *d_through),
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
