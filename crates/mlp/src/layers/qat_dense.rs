//! A dense layer trained quantization-aware: `y = act(Q(x) Q(W)^T + b)`.
//!
//! `Q` is fake quantization with a learned scale (LSQ, Esser et al. 2020, learned as `log s`):
//! `x^ = s * level(x / s)` with `level` rounding to an integer grid and clamping to it. The input is quantized per
//! tensor (one scale), the weights per output channel (one scale per row); the bias stays f32.
//! The f32 weights are the master copy the optimizer updates; every forward pass quantizes them
//! afresh.
//!
//! Forward: the products run on the integer levels themselves (`acc = level(x) . level(W_j)`,
//! exact in f32 while `k * max|q_x| * max|q_w| < 2^24`), then `z_j = acc * (s_x * s_j) + b_j`:
//! the same arithmetic, in the same order, as the integer-only inference of
//! [`crate::quant::qat`], so the two give bit-identical outputs.
//!
//! Backward (straight-through estimator, clipped): with `v = x / s` and `x^ = s * level(v)`,
//! - `dL/dx = dL/dx^` where `v` lies inside the grid `[qn, qp]`, else 0 (the clamp's gradient);
//! - `dL/ds = sum dL/dx^ * (level(v) - v)` inside, `* level(v)` (the end level) outside (LSQ's
//!   rule: the rounding is treated as the identity plus a constant). Binary grids (`sign`) follow
//!   the same rule with `sign` in place of the rounding, inside `|v| <= 1`.
//!
//! The scales are stored and learned as `log s` (`dL/dlog s = s dL/ds`), which keeps them
//! positive. The gradient is the exact gradient of that smooth surrogate; LSQ's extra gradient scale
//! `1 / sqrt(N qp)` is left out because Adam (the default optimizer) is invariant to a constant
//! per-parameter gradient scale, and it keeps the rule checkable against central differences.

use super::{Cx, ParamKind, ParamShape};
use crate::kernels::elementwise;
use crate::kernels::{Real, Transpose, gemm};
use crate::layers::dense::Dense;
use crate::layers::init::Init;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec, MAX_WIDTH, limit, mismatch};

/// The smallest scale a quantizer uses (a learned scale pushed below it is clamped).
pub const MIN_SCALE: f64 = 1e-12;

/// An integer grid: levels `qn..=qp`, or binary (`-1`, `+1`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Lowest level.
    pub qn: i32,
    /// Highest level.
    pub qp: i32,
    /// Binary: `level(v) = +1` for `v >= 0`, else `-1`.
    pub binary: bool,
}

impl Grid {
    /// Symmetric weight grid of `bits`: `-(2^(b-1) - 1)..=2^(b-1) - 1` (2 bits: ternary), binary
    /// for 1 bit.
    pub fn weights(bits: u8) -> Grid {
        if bits <= 1 {
            return Grid {
                qn: -1,
                qp: 1,
                binary: true,
            };
        }
        let qp = (1i32 << (bits - 1)) - 1;
        Grid {
            qn: -qp,
            qp,
            binary: false,
        }
    }

    /// Activation grid of `bits`: unsigned `0..=2^b - 1`, or signed `-2^(b-1)..=2^(b-1) - 1`
    /// (binary for 1 signed bit).
    pub fn activations(bits: u8, signed: bool) -> Grid {
        if !signed {
            return Grid {
                qn: 0,
                qp: (1i32 << bits) - 1,
                binary: false,
            };
        }
        if bits <= 1 {
            return Grid::weights(1);
        }
        let half = 1i32 << (bits - 1);
        Grid {
            qn: -half,
            qp: half - 1,
            binary: false,
        }
    }

    /// The largest magnitude a level takes.
    pub fn max_abs(self) -> i32 {
        self.qn.abs().max(self.qp.abs())
    }

    /// The integer level of `v = x / scale`: round half up, clamped to the grid.
    #[inline(always)]
    pub fn level<T: Real>(self, v: T) -> T {
        if self.binary {
            return if v >= T::zero() { T::one() } else { -T::one() };
        }
        let (lo, hi) = (T::of(f64::from(self.qn)), T::of(f64::from(self.qp)));
        (v.max(lo).min(hi) + T::of(0.5)).floor()
    }

    /// Whether `v` lies inside the grid's range (where the straight-through gradient passes).
    #[inline(always)]
    pub fn inside<T: Real>(self, v: T) -> bool {
        (T::of(f64::from(self.qn))..=T::of(f64::from(self.qp))).contains(&v)
    }

    /// `d(s * level(x / s)) / ds` under the straight-through surrogate, at `v = x / s`.
    #[inline(always)]
    pub fn d_scale<T: Real>(self, v: T) -> T {
        let l = self.level(v);
        if self.inside(v) { l - v } else { l }
    }

    /// The scale minimizing the squared quantization error of `values` over a fixed ladder of
    /// clipping points (binary: the mean magnitude, the exact minimizer). Deterministic; 1 for
    /// all-zero values.
    pub fn mse_scale(self, values: &[f32]) -> f32 {
        let max = values.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        if !(max.is_finite() && max > 0.0) {
            return 1.0;
        }
        if self.binary {
            let mean = values.iter().map(|x| f64::from(x.abs())).sum::<f64>() / values.len() as f64;
            return (mean as f32).max(f32::MIN_POSITIVE);
        }
        // Clip points `max * t`, t = 0.05, 0.10, ..., 1; the scale maps the clip to the end level
        // on the side where the values are.
        let has_negative = values.iter().any(|&x| x < 0.0);
        let top = if has_negative && self.qn < 0 {
            f64::from(self.qn.abs().min(self.qp.max(1)))
        } else {
            f64::from(self.qp.max(1))
        };
        let mut best = (f64::INFINITY, 1.0f32);
        for step in 1..=20 {
            let s = (f64::from(max) * f64::from(step) / 20.0 / top) as f32;
            if !s.is_normal() {
                continue;
            }
            let inv = 1.0 / s;
            let err: f64 = values
                .iter()
                .map(|&x| {
                    let e = f64::from(self.level(x * inv) * s - x);
                    e * e
                })
                .sum();
            if err < best.0 {
                best = (err, s);
            }
        }
        best.1
    }
}

/// A quantization-aware dense layer.
#[derive(Debug, Clone, PartialEq)]
pub struct QatDense {
    /// The layer's shape, activation, bias and initializer (always trainable).
    pub dense: Dense,
    /// Weight bits.
    pub bits: u8,
    /// Input bits.
    pub input_bits: u8,
    /// Whether the input grid is signed.
    pub input_signed: bool,
}

/// Parameter slices of one layer: weights, bias (maybe empty), weight scales, input scale.
struct Parts<'a, T> {
    w: &'a [T],
    b: Option<&'a [T]>,
    sw: &'a [T],
    sx: T,
}

impl QatDense {
    /// The weights' grid.
    pub fn weight_grid(&self) -> Grid {
        Grid::weights(self.bits)
    }

    /// The input's grid.
    pub fn input_grid(&self) -> Grid {
        Grid::activations(self.input_bits, self.input_signed)
    }

    /// Number of weights.
    fn nw(&self) -> usize {
        self.dense.out_features * self.dense.in_features
    }

    /// Offset of the weight scales in the parameter slice.
    fn scales_at(&self) -> usize {
        self.nw()
            + if self.dense.bias {
                self.dense.out_features
            } else {
                0
            }
    }

    fn parts<'a, T: Real>(&self, p: &'a [T]) -> Parts<'a, T> {
        let (nw, out, at) = (self.nw(), self.dense.out_features, self.scales_at());
        Parts {
            w: &p[..nw],
            b: self.dense.bias.then(|| &p[nw..nw + out]),
            sw: &p[at..at + out],
            sx: p[at + out],
        }
    }

    /// The scale a stored log-scale parameter stands for: `exp(log_s)`, at least [`MIN_SCALE`].
    /// Scales are learned as logarithms so that they stay positive whatever the optimizer's
    /// step, and move by relative amounts (a step of Adam's size is a fraction of the scale at
    /// every bit width, where a linear scale of 0.005 at 8 bits went negative in one step).
    #[inline(always)]
    pub fn effective<T: Real>(log_s: T) -> T {
        log_s.exp().max(T::of(MIN_SCALE))
    }

    /// Integer weight levels (`out x in`) into `qw`.
    fn quantize_weights<T: Real>(&self, w: &[T], sw: &[T], qw: &mut [T]) {
        let k = self.dense.in_features.max(1);
        let g = self.weight_grid();
        for ((row, qrow), &s) in w.chunks_exact(k).zip(qw.chunks_exact_mut(k)).zip(sw) {
            let inv = T::one() / Self::effective(s);
            for (q, &x) in qrow.iter_mut().zip(row) {
                *q = g.level(x * inv);
            }
        }
    }

    /// `y = act(level(x) level(W)^T * (s_x s_j) + b)`, with `qx`/`qw` the levels' buffers and
    /// `pre` the pre-activations when the activation needs them.
    #[allow(clippy::too_many_arguments)]
    fn apply<T: Real>(
        &self,
        params: &[T],
        x: &[T],
        batch: usize,
        y: &mut [T],
        qx: &mut [T],
        qw: &mut [T],
        pre: Option<&mut [T]>,
    ) {
        let (k, out) = (self.dense.in_features, self.dense.out_features);
        let p = self.parts(params);
        let sx = Self::effective(p.sx);
        let inv = T::one() / sx;
        let g = self.input_grid();
        for (q, &v) in qx[..batch * k].iter_mut().zip(&x[..batch * k]) {
            *q = g.level(v * inv);
        }
        self.quantize_weights(p.w, p.sw, &mut qw[..out * k]);
        let y = &mut y[..batch * out];
        gemm(
            Transpose::No,
            Transpose::Yes,
            batch,
            out,
            k,
            T::one(),
            &qx[..batch * k],
            &qw[..out * k],
            T::zero(),
            y,
        );
        finish_rows(y, out, sx, p.sw, p.b);
        let pre = if self.dense.activation.needs_preactivation() {
            pre
        } else {
            None
        };
        elementwise::bias_activation_forward(self.dense.activation, y, out, None, pre);
    }

    /// Saved-state regions: input levels, weight levels, pre-activations, and the backward's
    /// two scratch regions (the weights' and the input's gradient before the straight-through
    /// rule).
    fn regions(&self, batch: usize) -> [usize; 5] {
        let (k, out) = (self.dense.in_features, self.dense.out_features);
        let pre = if self.dense.activation.needs_preactivation() {
            batch * out
        } else {
            0
        };
        [batch * k, out * k, pre, out * k, batch * k]
    }
}

/// `z_j = acc_j * (s_x * s_j) + b_j` over rows of `out` sums: the integer path's
/// `crate::quant::qat` finish, the same operations in the same order.
#[inline(always)]
pub(crate) fn finish_rows<T: Real>(z: &mut [T], out: usize, sx: T, sw: &[T], b: Option<&[T]>) {
    for row in z.chunks_exact_mut(out.max(1)) {
        for (j, zj) in row.iter_mut().enumerate() {
            let m = sx * QatDense::effective(sw[j]);
            *zj = *zj * m + b.map_or(T::zero(), |b| b[j]);
        }
    }
}

/// Built from a `{"type": "qat_dense"}` spec.
impl FromSpec for QatDense {
    fn check_sizes(spec: &LayerSpec, _width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::QatDense { units, .. } = *spec else {
            return Err(mismatch(here, "qat_dense"));
        };
        limit(here, "units", Some(units), MAX_WIDTH)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::QatDense { units, .. } => units,
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::QatDense {
            units,
            activation,
            bits,
            input_bits,
            input_signed,
            init,
            bias,
        } = *spec
        else {
            return Err(mismatch(here, "qat_dense"));
        };
        if units == 0 {
            return Err(crate::Error::config(
                format!("{here}.units"),
                "a dense layer needs at least one unit",
            ));
        }
        for (name, b) in [("bits", bits), ("input_bits", input_bits)] {
            if !(1..=8).contains(&b) {
                return Err(crate::Error::config(
                    format!("{here}.{name}"),
                    format!("must be in 1..=8; got {b}"),
                ));
            }
        }
        Ok(QatDense {
            dense: Dense {
                in_features: width,
                out_features: units,
                activation,
                bias,
                init: init.unwrap_or_else(|| Init::default_for(activation)),
                trainable: true,
            },
            bits,
            input_bits,
            input_signed,
        })
    }
}

impl super::Block for QatDense {
    fn kind(&self) -> &'static str {
        "qat_dense"
    }
    fn in_features(&self) -> usize {
        self.dense.in_features
    }
    fn out_features(&self) -> usize {
        self.dense.out_features
    }

    /// `weight` (`out x in`), `bias` (`out`), `weight_log_scale` (`out`), `input_log_scale`
    /// (`1`): the scales' natural logarithms (see [`QatDense::effective`]), not decayed.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let (out, k) = (self.dense.out_features, self.dense.in_features);
        let mut v = vec![("weight".to_string(), vec![out, k], ParamKind::Weight)];
        if self.dense.bias {
            v.push(("bias".to_string(), vec![out], ParamKind::Bias));
        }
        v.push(("weight_log_scale".to_string(), vec![out], ParamKind::Bias));
        v.push(("input_log_scale".to_string(), vec![1], ParamKind::Bias));
        v
    }

    fn n_params(&self) -> usize {
        self.scales_at() + self.dense.out_features + 1
    }

    /// The dense layer's initialization, then each weight scale fitted to its channel
    /// ([`Grid::mse_scale`]) and the input scale set to cover `[-4, 4]` (signed) or `[0, 4]`
    /// (unsigned) until [`crate::quant::qat::calibrate`] fits it to data.
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        super::Block::init_params(&self.dense, &mut params[..self.scales_at()], rng);
        self.init_scales(params);
    }

    fn aux_len(&self, batch: usize) -> usize {
        self.regions(batch).iter().sum()
    }

    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        let [a, b, c, _, _] = self.regions(cx.batch);
        let (qx, rest) = cx.aux.split_at_mut(a);
        let (qw, rest) = rest.split_at_mut(b);
        self.apply(cx.params, x, cx.batch, y, qx, qw, Some(&mut rest[..c]));
    }

    fn infer_len(&self, batch: usize) -> usize {
        let [a, b, _, _, _] = self.regions(batch);
        a + b
    }

    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], scratch: &mut [T]) {
        let [a, _, _, _, _] = self.regions(batch);
        let (qx, qw) = scratch.split_at_mut(a);
        self.apply(params, x, batch, y, qx, qw, None);
    }

    /// Dense backward on the quantized tensors, then the straight-through rule for the weights
    /// and the input and LSQ's rule for the scales (see the module docs).
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        x: &[T],
        y: &[T],
        dy: &mut [T],
        dx: Option<&mut [T]>,
    ) {
        let batch = cx.batch;
        let (k, out) = (self.dense.in_features, self.dense.out_features);
        let [a, b, c, d, _] = self.regions(batch);
        let (qx, rest) = cx.aux.split_at_mut(a);
        let (qw, rest) = rest.split_at_mut(b);
        let (pre, rest) = rest.split_at_mut(c);
        let (d_wq, d_xq) = rest.split_at_mut(d);
        let n = batch * out;
        let d_z = &mut dy[..n];
        let pre = self
            .dense
            .activation
            .needs_preactivation()
            .then(|| &pre[..n]);
        elementwise::activation_backward(self.dense.activation, d_z, &y[..n], pre);
        let p = self.parts(cx.params);
        let sx = Self::effective(p.sx);
        // dW^ = dZ^T x^ = s_x dZ^T level(x).
        gemm(
            Transpose::Yes,
            Transpose::No,
            out,
            k,
            batch,
            sx,
            d_z,
            &qx[..batch * k],
            T::zero(),
            &mut d_wq[..out * k],
        );
        let (nw, at) = (self.nw(), self.scales_at());
        let gw = self.weight_grid();
        {
            let (d_w, rest) = cx.d_params.split_at_mut(nw);
            let (d_b, d_s) = rest.split_at_mut(at - nw);
            if self.dense.bias {
                elementwise::add_column_sums(d_b, d_z, out);
            }
            let rows = p.w.chunks_exact(k.max(1)).zip(d_wq.chunks_exact(k.max(1)));
            for (j, ((w, g), dw)) in rows.zip(d_w.chunks_exact_mut(k.max(1))).enumerate() {
                let inv = T::one() / Self::effective(p.sw[j]);
                let mut ds = T::zero();
                for ((&wi, &gi), dwi) in w.iter().zip(g).zip(dw.iter_mut()) {
                    let v = wi * inv;
                    if gw.inside(v) {
                        *dwi = *dwi + gi;
                    }
                    ds = ds + gi * gw.d_scale(v);
                }
                // d/d(log s) = s d/ds.
                d_s[j] = d_s[j] + ds * Self::effective(p.sw[j]);
            }
        }
        // dX^ = dZ W^ = (dZ scaled by s_j per column) level(W).
        for row in d_z.chunks_exact_mut(out.max(1)) {
            for (dzj, &s) in row.iter_mut().zip(p.sw) {
                *dzj = *dzj * Self::effective(s);
            }
        }
        let d_xq = &mut d_xq[..batch * k];
        gemm(
            Transpose::No,
            Transpose::No,
            batch,
            k,
            out,
            T::one(),
            d_z,
            &qw[..out * k],
            T::zero(),
            d_xq,
        );
        let gx = self.input_grid();
        let inv = T::one() / sx;
        let mut ds = T::zero();
        for (&xi, &gi) in x[..batch * k].iter().zip(d_xq.iter()) {
            ds = ds + gi * gx.d_scale(xi * inv);
        }
        cx.d_params[at + out] = cx.d_params[at + out] + ds * sx;
        if let Some(dx) = dx {
            for ((dxi, &xi), &gi) in dx[..batch * k]
                .iter_mut()
                .zip(&x[..batch * k])
                .zip(d_xq.iter())
            {
                *dxi = if gx.inside(xi * inv) { gi } else { T::zero() };
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "qat_dense {} -> {}  activation {}  weights int{}{}  input {}int{}  {} params",
            self.dense.in_features,
            self.dense.out_features,
            self.dense.activation,
            self.bits,
            if self.bits == 1 { " (binary)" } else { "" },
            if self.input_signed { "" } else { "u" },
            self.input_bits,
            super::Block::n_params(self),
        )
    }
}

impl QatDense {
    /// Fits every weight scale to its channel's current weights and sets the input scale to its
    /// default range (see [`super::Block::init_params`]).
    pub fn init_scales(&self, params: &mut [f32]) {
        let (k, out, at) = (
            self.dense.in_features,
            self.dense.out_features,
            self.scales_at(),
        );
        let g = self.weight_grid();
        for j in 0..out {
            params[at + j] = g.mse_scale(&params[j * k..(j + 1) * k]).ln();
        }
        let gx = self.input_grid();
        params[at + out] = (4.0 / gx.max_abs().max(1) as f32).ln();
    }

    /// Where the input scale (its logarithm) sits in this layer's parameter slice.
    pub fn input_scale_index(&self) -> usize {
        self.scales_at() + self.dense.out_features
    }

    /// Where the weight scales (their logarithms) sit in this layer's parameter slice.
    pub fn weight_scale_range(&self) -> std::ops::Range<usize> {
        self.scales_at()..self.scales_at() + self.dense.out_features
    }

    /// Where the bias sits (empty without one).
    pub fn bias_range(&self) -> std::ops::Range<usize> {
        let nw = self.nw();
        if self.dense.bias {
            nw..nw + self.dense.out_features
        } else {
            nw..nw
        }
    }

    /// The integer weight levels (`out x in`) of this layer's parameter slice, as `i8`.
    pub fn weight_levels(&self, params: &[f32]) -> Vec<i8> {
        let p = self.parts(params);
        let mut q = vec![0.0f32; self.nw()];
        self.quantize_weights(p.w, p.sw, &mut q);
        // Levels are integers in -127..=127 (at most 8 bits, symmetric).
        q.iter().map(|&v| v as i8).collect()
    }
}
