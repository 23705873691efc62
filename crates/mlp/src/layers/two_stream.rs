//! FinalMLP (Mao et al., 2023): two MLP streams over the same input, each behind a feature gate,
//! combined by multi-head bilinear fusion.
//!
//! Stream `s`: `g_s = 2 sigmoid(e Wg_s^T + bg_s)` (starts at 1: gate weights begin at zero),
//! `x_s = e * g_s`, `o_s = MLP_s(x_s)`. Fusion, with `o_1`, `o_2` split into `heads` equal chunks:
//! `y_k = b_k + w1_k . o_1 + w2_k . o_2 + sum_h o_1h^T W3_kh o_2h`.
//!
//! Embedding tables for categorical columns come from a [`crate::layers::FieldEmbedding`] layer in
//! front of the block (`mlp train --arch finalmlp --embedding-dim D`), shared by both streams.

use super::chain::Chain;
use super::{Block, Cx, ParamKind, ParamShape};
use crate::kernels::Real;
use crate::kernels::elementwise::sigmoid;
use crate::layers::init::Init;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec, MAX_WIDTH, build_layers, check_sizes, limit, mismatch};

/// The FinalMLP block.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoStream {
    /// Input width.
    pub in_features: usize,
    /// Output width of the fusion.
    pub out_features: usize,
    /// Fusion heads (both stream widths must be divisible by it).
    pub heads: usize,
    /// The two streams.
    pub streams: [Chain; 2],
    /// Whether each stream has a feature gate.
    pub gates: [bool; 2],
}

impl TwoStream {
    fn gate_len(&self, s: usize) -> usize {
        if self.gates[s] {
            self.in_features * self.in_features + self.in_features
        } else {
            0
        }
    }

    fn widths(&self) -> (usize, usize) {
        (
            self.streams[0].out_features(),
            self.streams[1].out_features(),
        )
    }

    fn fusion_len(&self) -> usize {
        let (d1, d2) = self.widths();
        let h = self.heads;
        self.out_features * (d1 + d2 + h * (d1 / h) * (d2 / h) + 1)
    }

    /// Offsets: gate 0, gate 1, stream 0, stream 1, fusion.
    fn offsets(&self) -> [usize; 6] {
        let mut o = [0usize; 6];
        o[1] = o[0] + self.gate_len(0);
        o[2] = o[1] + self.gate_len(1);
        o[3] = o[2] + self.streams[0].n_params();
        o[4] = o[3] + self.streams[1].n_params();
        o[5] = o[4] + self.fusion_len();
        o
    }

    fn stream_slot(&self, s: usize, batch: usize) -> usize {
        2 * batch * self.in_features + self.streams[s].cache_len(batch)
    }

    fn gate_forward<T: Real>(
        &self,
        s: usize,
        params: &[T],
        input: &[T],
        batch: usize,
        g: &mut [T],
        x: &mut [T],
    ) {
        let n = batch * self.in_features;
        if !self.gates[s] {
            g[..n].iter_mut().for_each(|v| *v = T::one());
            x[..n].copy_from_slice(&input[..n]);
            return;
        }
        let i = self.in_features;
        let (w, b) = params.split_at(i * i);
        crate::kernels::gemm(
            crate::kernels::Transpose::No,
            crate::kernels::Transpose::Yes,
            batch,
            i,
            i,
            T::one(),
            input,
            w,
            T::zero(),
            &mut g[..n],
        );
        for r in 0..batch {
            for j in 0..i {
                let z = g[r * i + j] + b[j];
                let gv = T::of(2.0) * sigmoid(z);
                g[r * i + j] = gv;
                x[r * i + j] = input[r * i + j] * gv;
            }
        }
    }

    fn fuse<T: Real>(&self, fusion: &[T], o1: &[T], o2: &[T], batch: usize, out: &mut [T]) {
        let (d1, d2) = self.widths();
        let (o, h) = (self.out_features, self.heads);
        let (a, c) = (d1 / h, d2 / h);
        let (w1, r) = fusion.split_at(o * d1);
        let (w2, r) = r.split_at(o * d2);
        let (w3, bias) = r.split_at(o * h * a * c);
        for b in 0..batch {
            let (x1, x2) = (&o1[b * d1..(b + 1) * d1], &o2[b * d2..(b + 1) * d2]);
            for k in 0..o {
                let mut y = bias[k];
                for p in 0..d1 {
                    y = y + w1[k * d1 + p] * x1[p];
                }
                for q in 0..d2 {
                    y = y + w2[k * d2 + q] * x2[q];
                }
                for hh in 0..h {
                    let m = &w3[(k * h + hh) * a * c..(k * h + hh + 1) * a * c];
                    for p in 0..a {
                        let mut t = T::zero();
                        for q in 0..c {
                            t = t + m[p * c + q] * x2[hh * c + q];
                        }
                        y = y + x1[hh * a + p] * t;
                    }
                }
                out[b * o + k] = y;
            }
        }
    }
}

/// Built from a `{"type": "final_mlp"}` spec.
impl FromSpec for TwoStream {
    fn check_sizes(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::FinalMlp {
            units,
            heads,
            stream1,
            stream2,
            ..
        } = spec
        else {
            return Err(mismatch(here, "final_mlp"));
        };
        limit(here, "heads", Some(*heads), MAX_WIDTH)?;
        check_sizes(stream1, width, &format!("{here}.stream1"))?;
        check_sizes(stream2, width, &format!("{here}.stream2"))?;
        limit(here, "units", Some(*units), MAX_WIDTH)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::FinalMlp { units, .. } => units,
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::FinalMlp {
            units,
            heads,
            stream1,
            stream2,
            gate1,
            gate2,
        } = spec
        else {
            return Err(mismatch(here, "final_mlp"));
        };
        if *units == 0 || *heads == 0 || stream1.is_empty() || stream2.is_empty() {
            return Err(crate::Error::config(
                here,
                "final_mlp needs units and heads >= 1 and two non-empty streams",
            ));
        }
        let (s1, w1) = build_layers(stream1, width, &format!("{here}.stream1"))?;
        let (s2, w2) = build_layers(stream2, width, &format!("{here}.stream2"))?;
        if w1 % heads != 0 || w2 % heads != 0 {
            return Err(crate::Error::config(
                format!("{here}.heads"),
                format!("the stream widths ({w1}, {w2}) must both be divisible by heads = {heads}"),
            ));
        }
        Ok(TwoStream {
            in_features: width,
            out_features: *units,
            heads: *heads,
            streams: [Chain { layers: s1 }, Chain { layers: s2 }],
            gates: [*gate1, *gate2],
        })
    }
}

impl Block for TwoStream {
    fn kind(&self) -> &'static str {
        "final_mlp"
    }
    fn in_features(&self) -> usize {
        self.in_features
    }
    fn out_features(&self) -> usize {
        self.out_features
    }

    /// Total parameters.
    fn n_params(&self) -> usize {
        self.offsets()[5]
    }

    /// `gate{s}.weight|bias`, `stream{s}.{j}.…`, `fusion.w1|w2|w3|bias`.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let (d1, d2) = self.widths();
        let (i, o, h) = (self.in_features, self.out_features, self.heads);
        let mut v = Vec::new();
        for s in 0..2 {
            if self.gates[s] {
                v.push((
                    format!("gate{}.weight", s + 1),
                    vec![i, i],
                    ParamKind::Weight,
                ));
                v.push((format!("gate{}.bias", s + 1), vec![i], ParamKind::Bias));
            }
        }
        for s in 0..2 {
            v.extend(self.streams[s].param_shapes(&format!("stream{}.", s + 1)));
        }
        v.push(("fusion.w1".into(), vec![o, d1], ParamKind::Weight));
        v.push(("fusion.w2".into(), vec![o, d2], ParamKind::Weight));
        v.push((
            "fusion.w3".into(),
            vec![o, h, d1 / h, d2 / h],
            ParamKind::Weight,
        ));
        v.push(("fusion.bias".into(), vec![o], ParamKind::Bias));
        v
    }

    /// Gates start closed to change (zero weights: every gate is 1), streams as their layers,
    /// fusion weights Xavier-uniform.
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        let off = self.offsets();
        params[off[0]..off[2]].iter_mut().for_each(|p| *p = 0.0);
        self.streams[0].init_params(&mut params[off[2]..off[3]], &mut rng.fork(1));
        self.streams[1].init_params(&mut params[off[3]..off[4]], &mut rng.fork(2));
        let (d1, d2) = self.widths();
        let o = self.out_features;
        let f = &mut params[off[4]..off[5]];
        let (w1, r) = f.split_at_mut(o * d1);
        let (w2, r) = r.split_at_mut(o * d2);
        let (w3, b) = r.split_at_mut(r.len() - o);
        Init::XavierUniform.fill(w1, d1, o, rng);
        Init::XavierUniform.fill(w2, d2, o, rng);
        let h = self.heads;
        Init::XavierUniform.fill(w3, (d1 / h) * (d2 / h), o, rng);
        b.iter_mut().for_each(|x| *x = 0.0);
    }

    /// Per stream: gate values, gated input and the stream's cache; then backward scratch.
    fn aux_len(&self, batch: usize) -> usize {
        let (d1, d2) = self.widths();
        let n = batch * self.in_features;
        let scratch = self.streams[0]
            .scratch_len(batch)
            .max(self.streams[1].scratch_len(batch));
        self.stream_slot(0, batch)
            + self.stream_slot(1, batch)
            + scratch
            + batch * (d1 + d2)
            + 2 * n
    }

    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, input: &[T], output: &mut [T]) {
        let (params, batch) = (cx.params, cx.batch);
        let aux = cx.take_aux();
        let off = self.offsets();
        let n = batch * self.in_features;
        let (slot0, rest) = aux.split_at_mut(self.stream_slot(0, batch));
        let slot1 = &mut rest[..self.stream_slot(1, batch)];
        for (s, slot) in [slot0, slot1].into_iter().enumerate() {
            let (g, r) = slot.split_at_mut(n);
            let (x, cache) = r.split_at_mut(n);
            self.gate_forward(s, &params[off[s]..off[s + 1]], input, batch, g, x);
            self.streams[s].forward_train(&mut cx.inner(off[2 + s]..off[3 + s], cache), x);
        }
        let (a0, a1) = aux.split_at(self.stream_slot(0, batch));
        let o1 = self.streams[0].output(&a0[2 * n..], batch);
        let o2 = self.streams[1].output(&a1[2 * n..self.stream_slot(1, batch)], batch);
        self.fuse(&params[off[4]..off[5]], o1, o2, batch, output);
    }

    /// Gate values and gated input (reused by both streams), both streams' outputs, and the
    /// larger stream's own scratch.
    fn infer_len(&self, batch: usize) -> usize {
        let (d1, d2) = self.widths();
        let inner = self.streams[0]
            .infer_len(batch)
            .max(self.streams[1].infer_len(batch));
        2 * batch * self.in_features + batch * (d1 + d2) + inner
    }

    fn infer<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        scratch: &mut [T],
    ) {
        let off = self.offsets();
        let n = batch * self.in_features;
        let (d1, d2) = self.widths();
        let (g, rest) = scratch.split_at_mut(n);
        let (x, rest) = rest.split_at_mut(n);
        let (o1, rest) = rest.split_at_mut(batch * d1);
        let (o2, inner) = rest.split_at_mut(batch * d2);
        for s in 0..2 {
            let o: &mut [T] = if s == 0 { &mut *o1 } else { &mut *o2 };
            self.gate_forward(s, &params[off[s]..off[s + 1]], input, batch, g, x);
            let p = &params[off[2 + s]..off[3 + s]];
            self.streams[s].forward_eval(p, x, batch, o, inner);
        }
        self.fuse(&params[off[4]..off[5]], o1, o2, batch, output);
    }

    /// Backward through the fusion, both streams and both gates.
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        input: &[T],
        _y: &[T],
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
    ) {
        let (params, batch) = (cx.params, cx.batch);
        let aux = cx.take_aux();
        let off = self.offsets();
        let (d1, d2) = self.widths();
        let (o, h, i) = (self.out_features, self.heads, self.in_features);
        let (a, c) = (d1 / h, d2 / h);
        let n = batch * i;
        let (s0len, s1len) = (self.stream_slot(0, batch), self.stream_slot(1, batch));
        let (slots, rest) = aux.split_at_mut(s0len + s1len);
        let scratch_len = self.streams[0]
            .scratch_len(batch)
            .max(self.streams[1].scratch_len(batch));
        let (scratch, rest) = rest.split_at_mut(scratch_len);
        let (d_o, rest) = rest.split_at_mut(batch * (d1 + d2));
        let (d_x, rest) = rest.split_at_mut(n);
        let d_z = &mut rest[..n];
        let (d_o1, d_o2) = d_o.split_at_mut(batch * d1);
        // Fusion.
        {
            let o1 = self.streams[0].output(&slots[2 * n..s0len], batch);
            let o2 = self.streams[1].output(&slots[s0len + 2 * n..s0len + s1len], batch);
            let fusion = &params[off[4]..off[5]];
            let (w1, r) = fusion.split_at(o * d1);
            let (w2, r) = r.split_at(o * d2);
            let w3 = &r[..o * h * a * c];
            let df = &mut cx.d_params[off[4]..off[5]];
            let (dw1, r) = df.split_at_mut(o * d1);
            let (dw2, r) = r.split_at_mut(o * d2);
            let (dw3, db) = r.split_at_mut(o * h * a * c);
            d_o1.iter_mut().for_each(|v| *v = T::zero());
            d_o2.iter_mut().for_each(|v| *v = T::zero());
            for b in 0..batch {
                let (x1, x2) = (&o1[b * d1..(b + 1) * d1], &o2[b * d2..(b + 1) * d2]);
                for k in 0..o {
                    let dy = d_output[b * o + k];
                    db[k] = db[k] + dy;
                    for p in 0..d1 {
                        dw1[k * d1 + p] = dw1[k * d1 + p] + dy * x1[p];
                        d_o1[b * d1 + p] = d_o1[b * d1 + p] + dy * w1[k * d1 + p];
                    }
                    for q in 0..d2 {
                        dw2[k * d2 + q] = dw2[k * d2 + q] + dy * x2[q];
                        d_o2[b * d2 + q] = d_o2[b * d2 + q] + dy * w2[k * d2 + q];
                    }
                    for hh in 0..h {
                        let base = (k * h + hh) * a * c;
                        for p in 0..a {
                            for q in 0..c {
                                let m = w3[base + p * c + q];
                                let (u, v) = (x1[hh * a + p], x2[hh * c + q]);
                                dw3[base + p * c + q] = dw3[base + p * c + q] + dy * u * v;
                                d_o1[b * d1 + hh * a + p] = d_o1[b * d1 + hh * a + p] + dy * m * v;
                                d_o2[b * d2 + hh * c + q] = d_o2[b * d2 + hh * c + q] + dy * m * u;
                            }
                        }
                    }
                }
            }
        }
        // Streams and gates.
        let mut d_in = d_input;
        if let Some(dx) = d_in.as_deref_mut() {
            dx[..n].iter_mut().for_each(|v| *v = T::zero());
        }
        let (slot0, slot1) = slots.split_at_mut(s0len);
        for (s, slot) in [slot0, slot1].into_iter().enumerate() {
            let (g, r) = slot.split_at_mut(n);
            let (x, cache) = r.split_at_mut(n);
            let d_os: &[T] = if s == 0 { d_o1 } else { d_o2 };
            let mut stream_cx = cx.inner(off[2 + s]..off[3 + s], cache);
            self.streams[s].backward(&mut stream_cx, x, d_os, Some(&mut *d_x), scratch);
            // x = e * g: de += dx * g; dg = dx * e; dz = dg * g (1 - g/2).
            if let Some(de) = d_in.as_deref_mut() {
                for j in 0..n {
                    de[j] = de[j] + d_x[j] * g[j];
                }
            }
            if self.gates[s] {
                for j in 0..n {
                    d_z[j] = d_x[j] * input[j] * g[j] * (T::one() - T::of(0.5) * g[j]);
                }
                let gp = &params[off[s]..off[s + 1]];
                let dgp = &mut cx.d_params[off[s]..off[s + 1]];
                let (dw, dbg) = dgp.split_at_mut(i * i);
                crate::kernels::gemm(
                    crate::kernels::Transpose::Yes,
                    crate::kernels::Transpose::No,
                    i,
                    i,
                    batch,
                    T::one(),
                    d_z,
                    input,
                    T::one(),
                    dw,
                );
                crate::kernels::elementwise::add_column_sums(dbg, d_z, i);
                if let Some(de) = d_in.as_deref_mut() {
                    crate::kernels::gemm(
                        crate::kernels::Transpose::No,
                        crate::kernels::Transpose::No,
                        batch,
                        i,
                        i,
                        T::one(),
                        d_z,
                        &gp[..i * i],
                        T::one(),
                        &mut de[..n],
                    );
                }
            }
        }
    }

    fn set_grad_mode(&mut self, mode: super::GradMode) {
        self.streams
            .iter_mut()
            .flat_map(|s| s.layers.iter_mut())
            .for_each(|l| l.set_grad_mode(mode));
    }
    fn describe(&self) -> String {
        format!(
            "final_mlp {} -> {}  fusion heads {}, gates {:?}  {} params",
            self.in_features,
            self.out_features,
            self.heads,
            self.gates,
            self.n_params()
        )
    }
    fn children(&self) -> Vec<(String, &super::Layer)> {
        let mut out = Vec::new();
        for (s, stream) in self.streams.iter().enumerate() {
            for (j, inner) in stream.layers.iter().enumerate() {
                out.push((format!("stream{}.{j}", s + 1), inner));
            }
        }
        out
    }
}
