//! Gated linear unit layer (Dauphin et al.; Shazeer's GLU variants; "Activator", 2024).
//!
//! `y = W3 (act(W1 x + b1) * (W2 x + b2)) + b3` with `W1, W2: hidden x in`, `W3: out x hidden`.
//! The gate activation names the variant: sigmoid (GLU), relu (ReGLU), gelu (GEGLU), silu
//! (SwiGLU).
//!
//! Backward, with `a = W1 x + b1`, `g = act(a)`, `u = W2 x + b2`, `p = g * u`:
//! `dp = dy W3`; `dg = dp * u`; `du = dp * g`; `da = dg * act'(a)`;
//! `dW3 += dy^T p`, `dW1 += da^T x`, `dW2 += du^T x`; `dx = da W1 + du W2`.

use super::{Cx, ParamKind, ParamShape};
use crate::kernels::elementwise::{self, Activation};
use crate::kernels::{Real, Transpose, gemm};
use crate::layers::init::Init;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec, MAX_WIDTH, limit, mismatch};

/// A GLU-family layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Glu {
    /// Input width.
    pub in_features: usize,
    /// Width of the gated hidden product.
    pub hidden: usize,
    /// Output width.
    pub out_features: usize,
    /// Gate activation.
    pub gate: Activation,
    /// Initializer for the three matrices.
    pub init: Init,
}

impl Glu {
    fn sizes(&self) -> (usize, usize, usize) {
        let w12 = self.hidden * self.in_features;
        (w12, self.hidden, self.out_features * self.hidden)
    }

    #[allow(clippy::type_complexity)]
    fn split<'a, T>(&self, p: &'a [T]) -> (&'a [T], &'a [T], &'a [T], &'a [T], &'a [T], &'a [T]) {
        let (w12, h, w3) = self.sizes();
        let (gw, r) = p.split_at(w12);
        let (gb, r) = r.split_at(h);
        let (vw, r) = r.split_at(w12);
        let (vb, r) = r.split_at(h);
        let (ow, r) = r.split_at(w3);
        (gw, gb, vw, vb, ow, &r[..self.out_features])
    }

    /// Forward into `output`; `work` (at least `4 batch hidden`) receives `a`, `g`, `u`, `p`
    /// (the training and the inference forward are this one function).
    fn apply<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        work: &mut [T],
    ) {
        let (i, h, o) = (self.in_features, self.hidden, self.out_features);
        let (gw, gb, vw, vb, ow, ob) = self.split(params);
        let n = batch * h;
        let (a, rest) = work.split_at_mut(n);
        let (g, rest) = rest.split_at_mut(n);
        let (u, rest) = rest.split_at_mut(n);
        let p = &mut rest[..n];
        gemm(
            Transpose::No,
            Transpose::Yes,
            batch,
            h,
            i,
            T::one(),
            input,
            gw,
            T::zero(),
            a,
        );
        elementwise::bias_activation_forward(Activation::Identity, a, h, Some(gb), None);
        g.copy_from_slice(a);
        elementwise::bias_activation_forward(self.gate, g, h, None, None);
        gemm(
            Transpose::No,
            Transpose::Yes,
            batch,
            h,
            i,
            T::one(),
            input,
            vw,
            T::zero(),
            u,
        );
        elementwise::bias_activation_forward(Activation::Identity, u, h, Some(vb), None);
        for ((pj, &gj), &uj) in p.iter_mut().zip(g.iter()).zip(u.iter()) {
            *pj = gj * uj;
        }
        let out = &mut output[..batch * o];
        gemm(
            Transpose::No,
            Transpose::Yes,
            batch,
            o,
            h,
            T::one(),
            p,
            ow,
            T::zero(),
            out,
        );
        elementwise::bias_activation_forward(Activation::Identity, out, o, Some(ob), None);
    }
}

/// Built from a `{"type": "glu"}` spec.
impl FromSpec for Glu {
    fn check_sizes(spec: &LayerSpec, _width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::Glu { hidden, units, .. } = *spec else {
            return Err(mismatch(here, "glu"));
        };
        limit(here, "hidden", Some(hidden), MAX_WIDTH)?;
        limit(here, "units", Some(units), MAX_WIDTH)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::Glu { units, .. } => units,
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Glu {
            hidden,
            units,
            gate,
            init,
        } = *spec
        else {
            return Err(mismatch(here, "glu"));
        };
        if hidden == 0 || units == 0 {
            return Err(crate::Error::config(
                here,
                "a glu layer needs hidden and units of at least 1",
            ));
        }
        Ok(Glu {
            in_features: width,
            hidden,
            out_features: units,
            gate,
            init: init.unwrap_or(Init::XavierUniform),
        })
    }
}

impl super::Block for Glu {
    fn kind(&self) -> &'static str {
        "glu"
    }
    fn in_features(&self) -> usize {
        self.in_features
    }
    fn out_features(&self) -> usize {
        self.out_features
    }

    /// Total parameters.
    fn n_params(&self) -> usize {
        let (w12, h, w3) = self.sizes();
        2 * (w12 + h) + w3 + self.out_features
    }

    /// `gate.weight`, `gate.bias`, `value.weight`, `value.bias`, `out.weight`, `out.bias`.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let (i, h, o) = (self.in_features, self.hidden, self.out_features);
        vec![
            ("gate.weight".into(), vec![h, i], ParamKind::Weight),
            ("gate.bias".into(), vec![h], ParamKind::Bias),
            ("value.weight".into(), vec![h, i], ParamKind::Weight),
            ("value.bias".into(), vec![h], ParamKind::Bias),
            ("out.weight".into(), vec![o, h], ParamKind::Weight),
            ("out.bias".into(), vec![o], ParamKind::Bias),
        ]
    }

    /// Draws the three matrices; biases start at zero.
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        let (w12, h, w3) = self.sizes();
        let (i, o) = (self.in_features, self.out_features);
        let (gw, rest) = params.split_at_mut(w12);
        let (gb, rest) = rest.split_at_mut(h);
        let (vw, rest) = rest.split_at_mut(w12);
        let (vb, rest) = rest.split_at_mut(h);
        let (ow, ob) = rest.split_at_mut(w3);
        self.init.fill(gw, i, h, rng);
        self.init.fill(vw, i, h, rng);
        self.init.fill(ow, h, o, rng);
        for b in gb.iter_mut().chain(vb.iter_mut()).chain(ob.iter_mut()) {
            *b = 0.0;
        }
    }

    /// `a`, `g`, `u`, `p` (each `batch x hidden`) and a `batch x hidden` scratch.
    fn aux_len(&self, batch: usize) -> usize {
        5 * batch * self.hidden
    }

    /// `a`, `g`, `u`, `p` (what the training forward saves, without the backward's scratch).
    fn infer_len(&self, batch: usize) -> usize {
        4 * batch * self.hidden
    }

    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        self.apply(cx.params, x, cx.batch, y, cx.aux)
    }

    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], scratch: &mut [T]) {
        self.apply(params, x, batch, y, scratch)
    }

    /// Backward from the saved `a`, `g`, `u`, `p`.
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        input: &[T],
        _y: &[T],
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
    ) {
        let (params, batch) = (cx.params, cx.batch);
        let (work, d_params) = (&mut *cx.aux, &mut *cx.d_params);
        let (i, h, o) = (self.in_features, self.hidden, self.out_features);
        let (gw, _, vw, _, ow, _) = self.split(params);
        let (w12, _, w3) = self.sizes();
        let n = batch * h;
        let (a, rest) = work.split_at_mut(n);
        let (g, rest) = rest.split_at_mut(n);
        let (u, rest) = rest.split_at_mut(n);
        let (p, rest) = rest.split_at_mut(n);
        let dp = &mut rest[..n];
        let dy = &d_output[..batch * o];
        let (d_gw, r) = d_params.split_at_mut(w12);
        let (d_gb, r) = r.split_at_mut(h);
        let (d_vw, r) = r.split_at_mut(w12);
        let (d_vb, r) = r.split_at_mut(h);
        let (d_ow, d_ob) = r.split_at_mut(w3);
        gemm(
            Transpose::Yes,
            Transpose::No,
            o,
            h,
            batch,
            T::one(),
            dy,
            p,
            T::one(),
            d_ow,
        );
        elementwise::add_column_sums(&mut d_ob[..o], dy, o);
        gemm(
            Transpose::No,
            Transpose::No,
            batch,
            h,
            o,
            T::one(),
            dy,
            ow,
            T::zero(),
            dp,
        );
        // Reuse `p` for du = dp * g and `dp` for da = dp * u * act'(a).
        for j in 0..n {
            let d = dp[j];
            p[j] = d * g[j];
            dp[j] = d * u[j] * self.gate.derivative(a[j], g[j]);
        }
        let (du, da) = (&*p, &*dp);
        gemm(
            Transpose::Yes,
            Transpose::No,
            h,
            i,
            batch,
            T::one(),
            da,
            input,
            T::one(),
            d_gw,
        );
        elementwise::add_column_sums(d_gb, da, h);
        gemm(
            Transpose::Yes,
            Transpose::No,
            h,
            i,
            batch,
            T::one(),
            du,
            input,
            T::one(),
            d_vw,
        );
        elementwise::add_column_sums(d_vb, du, h);
        if let Some(dx) = d_input {
            let dx = &mut dx[..batch * i];
            gemm(
                Transpose::No,
                Transpose::No,
                batch,
                i,
                h,
                T::one(),
                da,
                gw,
                T::zero(),
                dx,
            );
            gemm(
                Transpose::No,
                Transpose::No,
                batch,
                i,
                h,
                T::one(),
                du,
                vw,
                T::one(),
                dx,
            );
        }
    }

    fn describe(&self) -> String {
        format!(
            "glu {} -> {} (hidden {}, gate {})  {} params",
            self.in_features,
            self.out_features,
            self.hidden,
            self.gate,
            super::Block::n_params(self)
        )
    }
    fn interval(
        &self,
        params: &[f64],
        x: &crate::verify::Bounds,
    ) -> crate::Result<crate::verify::Bounds> {
        use crate::verify::interval::{activation_bounds, affine, interval_product};
        // Both branches as dense layers, their product by the interval product rule.
        let (i, h, o) = (self.in_features, self.hidden, self.out_features);
        let (gw, rest) = params.split_at(h * i);
        let (gb, rest) = rest.split_at(h);
        let (vw, rest) = rest.split_at(h * i);
        let (vb, rest) = rest.split_at(h);
        let (ow, ob) = rest.split_at(o * h);
        let gate = activation_bounds(self.gate, &affine(gw, Some(gb), h, x));
        let value = affine(vw, Some(vb), h, x);
        let mut prod = gate.clone();
        for j in 0..h {
            let (l, u) = interval_product(
                (gate.lower[j], gate.upper[j]),
                (value.lower[j], value.upper[j]),
            );
            prod.lower[j] = l;
            prod.upper[j] = u;
        }
        Ok(affine(ow, Some(&ob[..o]), o, &prod))
    }
}
