//! Generic N-BEATS (Oreshkin et al., "N-BEATS: Neural basis expansion analysis for
//! interpretable time series forecasting", ICLR 2020), as one layer.
//!
//! Input row: `channels` windows of `window` values, then `exog` exogenous features
//! ([`crate::architectures::SequenceLayout`]); output row: `channels * horizon` forecasts.
//!
//! Block `l` reads `[r_l, exog]`, where `r_0` is the window part of the input, runs a stack of
//! fully connected ReLU layers to `h_l`, and emits a linear backcast `b_l = B_l h_l` (width
//! `channels * window`) and forecast `f_l = F_l h_l` (width `channels * horizon`). Then
//! `r_{l+1} = r_l - b_l`, and the output is `sum_l f_l`.
//!
//! Backward, with `g_{l+1} = dL/dr_{l+1}` (`g_L = 0`) and `dy = dL/dy`: `dL/df_l = dy`,
//! `dL/db_l = -g_{l+1}`, `dh_l = F_l^T dy + B_l^T (-g_{l+1})` through the heads, `d[r_l, exog]`
//! through the stack, `g_l = g_{l+1} + d[r_l]`; the exogenous gradient adds over blocks.

use super::{Block, Chain, Cx, Dense, Layer, ParamShape};
use crate::kernels::Real;
use crate::kernels::elementwise::Activation;
use crate::layers::init::Init;
use crate::rng::Rng;
use crate::spec::{
    FromSpec, LayerSpec, MAX_REPEAT, MAX_WIDTH, check_layout, layout_width, limit, mismatch,
};

/// One N-BEATS block: the ReLU stack and its two linear heads.
#[derive(Debug, Clone, PartialEq)]
pub struct NBeatsBlock {
    /// Fully connected ReLU layers, `channels * window + exog -> units -> ... -> units`.
    pub stack: Chain,
    /// Backcast head `units -> channels * window`.
    pub backcast: Dense,
    /// Forecast head `units -> channels * horizon`.
    pub forecast: Dense,
}

impl NBeatsBlock {
    fn n_params(&self) -> usize {
        self.stack.n_params() + self.backcast.n_params() + self.forecast.n_params()
    }

    fn units(&self) -> usize {
        self.stack.out_features()
    }
}

/// A generic N-BEATS stack.
#[derive(Debug, Clone, PartialEq)]
pub struct NBeats {
    /// Number of series.
    pub channels: usize,
    /// Past values per series.
    pub window: usize,
    /// Exogenous features after the windows.
    pub exog: usize,
    /// Future values per series.
    pub horizon: usize,
    /// The blocks, in order.
    pub blocks: Vec<NBeatsBlock>,
}

impl NBeats {
    /// `blocks` blocks of `layers` ReLU layers of `units` each (all at least 1).
    pub fn new(
        channels: usize,
        window: usize,
        exog: usize,
        horizon: usize,
        blocks: usize,
        layers: usize,
        units: usize,
    ) -> Self {
        let dense = |i: usize, o: usize, activation: Activation| Dense {
            in_features: i,
            out_features: o,
            activation,
            bias: true,
            init: Init::default_for(activation),
            trainable: true,
        };
        let nin = channels * window + exog;
        let block = || NBeatsBlock {
            stack: Chain {
                layers: (0..layers)
                    .map(|j| {
                        Layer::Dense(dense(
                            if j == 0 { nin } else { units },
                            units,
                            Activation::Relu,
                        ))
                    })
                    .collect(),
            },
            backcast: dense(units, channels * window, Activation::Identity),
            forecast: dense(units, channels * horizon, Activation::Identity),
        };
        NBeats {
            channels,
            window,
            exog,
            horizon,
            blocks: (0..blocks).map(|_| block()).collect(),
        }
    }

    fn backcast_width(&self) -> usize {
        self.channels * self.window
    }

    fn units(&self) -> usize {
        self.blocks.first().map_or(0, NBeatsBlock::units)
    }

    fn saved_len(&self, batch: usize) -> usize {
        self.blocks
            .iter()
            .map(|b| batch * self.in_features() + b.stack.cache_len(batch))
            .sum()
    }

    /// The stack, backcast and forecast parameter slices of the block starting at `off`, and the
    /// next block's start.
    fn block_params<'a, T>(
        &self,
        blk: &NBeatsBlock,
        params: &'a [T],
        off: usize,
    ) -> (&'a [T], &'a [T], &'a [T], usize) {
        let s = off + blk.stack.n_params();
        let b = s + blk.backcast.n_params();
        let f = b + blk.forecast.n_params();
        (&params[off..s], &params[s..b], &params[b..f], f)
    }
}

/// Built from a `{"type": "nbeats"}` spec.
impl FromSpec for NBeats {
    fn check_sizes(spec: &LayerSpec, _width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::NBeats {
            channels,
            window,
            exog,
            horizon,
            blocks,
            layers,
            units,
        } = *spec
        else {
            return Err(mismatch(here, "nbeats"));
        };
        for (field, v) in [
            ("channels", channels),
            ("window", window),
            ("exog", exog),
            ("horizon", horizon),
            ("units", units),
        ] {
            limit(here, field, Some(v), MAX_WIDTH)?;
        }
        limit(here, "blocks", Some(blocks), MAX_REPEAT)?;
        limit(here, "layers", Some(layers), MAX_REPEAT)?;
        layout_width(here, channels, window, exog, horizon)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::NBeats {
                channels, horizon, ..
            } => channels.saturating_mul(horizon),
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::NBeats {
            channels,
            window,
            exog,
            horizon,
            blocks,
            layers,
            units,
        } = *spec
        else {
            return Err(mismatch(here, "nbeats"));
        };
        check_layout(here, "nbeats", width, (channels, window, exog, horizon))?;
        if blocks == 0 || layers == 0 || units == 0 {
            return Err(crate::Error::config(
                here,
                "nbeats needs blocks, layers and units of at least 1",
            ));
        }
        Ok(NBeats::new(
            channels, window, exog, horizon, blocks, layers, units,
        ))
    }
}

impl Block for NBeats {
    fn kind(&self) -> &'static str {
        "nbeats"
    }
    /// Input width `channels * window + exog`.
    fn in_features(&self) -> usize {
        self.channels * self.window + self.exog
    }

    /// Output width `channels * horizon`.
    fn out_features(&self) -> usize {
        self.channels * self.horizon
    }

    /// Total parameters.
    fn n_params(&self) -> usize {
        self.blocks.iter().map(NBeatsBlock::n_params).sum()
    }

    /// Per block `l`: `block.{l}.fc.{j}.weight|bias`, `block.{l}.backcast.weight|bias`,
    /// `block.{l}.forecast.weight|bias`.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let mut v = Vec::new();
        for (l, b) in self.blocks.iter().enumerate() {
            v.extend(b.stack.param_shapes(&format!("block.{l}.fc.")));
            for (head, dense) in [("backcast", &b.backcast), ("forecast", &b.forecast)] {
                for (name, shape, kind) in dense.param_shapes() {
                    v.push((format!("block.{l}.{head}.{name}"), shape, kind));
                }
            }
        }
        v
    }

    /// Draws every block's layers (independent streams per block).
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        let mut off = 0;
        for (l, b) in self.blocks.iter().enumerate() {
            let mut r = rng.fork(l as u64);
            let (s, bc, fc) = (
                b.stack.n_params(),
                b.backcast.n_params(),
                b.forecast.n_params(),
            );
            b.stack
                .init_params(&mut params[off..off + s], &mut r.fork(0));
            off += s;
            b.backcast
                .init_params(&mut params[off..off + bc], &mut r.fork(1));
            off += bc;
            b.forecast
                .init_params(&mut params[off..off + fc], &mut r.fork(2));
            off += fc;
        }
    }

    /// Per block: its input rows and its stack's cache. Then scratch: residual (its gradient in
    /// the backward), backcast, forecast, their gradients, two hidden gradients, the stack input's gradient, the
    /// exogenous gradient and the stack's backward scratch.
    fn aux_len(&self, batch: usize) -> usize {
        let nin = batch * self.in_features();
        let saved: usize = self
            .blocks
            .iter()
            .map(|b| nin + b.stack.cache_len(batch))
            .sum();
        let (bw, fw) = (batch * self.backcast_width(), batch * self.out_features());
        let scratch = self
            .blocks
            .iter()
            .map(|b| b.stack.scratch_len(batch))
            .max()
            .unwrap_or(0);
        saved + 3 * bw + 2 * fw + 2 * batch * self.units() + nin + batch * self.exog + scratch
    }

    /// The inference forward runs the training forward's code on the same layout.
    fn infer_len(&self, batch: usize) -> usize {
        self.aux_len(batch)
    }

    /// Training forward (saves each block's input and stack cache in `aux`).
    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, input: &[T], output: &mut [T]) {
        let (params, batch) = (cx.params, cx.batch);
        let aux = cx.take_aux();
        let (nin, bw, fw) = (
            self.in_features(),
            self.backcast_width(),
            self.out_features(),
        );
        let (saved, rest) = aux.split_at_mut(self.saved_len(batch));
        let (resid, rest) = rest.split_at_mut(batch * bw);
        let (bc, rest) = rest.split_at_mut(batch * bw);
        let fc = &mut rest[..batch * fw];
        for b in 0..batch {
            resid[b * bw..(b + 1) * bw].copy_from_slice(&input[b * nin..b * nin + bw]);
        }
        let out = &mut output[..batch * fw];
        out.iter_mut().for_each(|v| *v = T::zero());
        let mut p_off = 0;
        let mut s_off = 0;
        for blk in &self.blocks {
            let (sp, bp, fp, next) = self.block_params(blk, params, p_off);
            p_off = next;
            let slot = batch * nin + blk.stack.cache_len(batch);
            let (x, cache) = saved[s_off..s_off + slot].split_at_mut(batch * nin);
            s_off += slot;
            for b in 0..batch {
                x[b * nin..b * nin + bw].copy_from_slice(&resid[b * bw..(b + 1) * bw]);
                x[b * nin + bw..(b + 1) * nin].copy_from_slice(&input[b * nin + bw..(b + 1) * nin]);
            }
            let mut stack_cx = Cx::forward(sp, &mut *cache, batch, &mut *cx.rng);
            blk.stack.forward_train(&mut stack_cx, x);
            let h = blk.stack.output(cache, batch);
            // The heads are linear and save nothing: their inference pass is their forward.
            blk.backcast.infer(bp, h, batch, bc, &mut []);
            blk.forecast.infer(fp, h, batch, fc, &mut []);
            for (r, &v) in resid.iter_mut().zip(bc.iter()) {
                *r = *r - v;
            }
            for (o, &v) in out.iter_mut().zip(fc.iter()) {
                *o = *o + v;
            }
        }
    }

    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], scratch: &mut [T]) {
        // No layer inside draws random numbers (ReLU dense layers only).
        let mut rng = Rng::seed_from(0);
        let aux = &mut scratch[..self.aux_len(batch)];
        self.forward(&mut Cx::forward(params, aux, batch, &mut rng), x, y);
    }

    /// Backward from the state the forward saved.
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        _x: &[T],
        _y: &[T],
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
    ) {
        let (params, batch) = (cx.params, cx.batch);
        let aux = cx.take_aux();
        let (nin, bw, fw) = (
            self.in_features(),
            self.backcast_width(),
            self.out_features(),
        );
        let e = self.exog;
        let hw = batch * self.units();
        let (saved, rest) = aux.split_at_mut(self.saved_len(batch));
        let (g_r, rest) = rest.split_at_mut(batch * bw);
        let (outs_b, rest) = rest.split_at_mut(batch * bw);
        let (outs_f, rest) = rest.split_at_mut(batch * fw);
        let (d_b, rest) = rest.split_at_mut(batch * bw);
        let (d_f, rest) = rest.split_at_mut(batch * fw);
        let (dh_a, rest) = rest.split_at_mut(hw);
        let (dh_b, rest) = rest.split_at_mut(hw);
        let (d_in, rest) = rest.split_at_mut(batch * nin);
        let (d_ex, scratch) = rest.split_at_mut(batch * e);
        // The heads are linear: their saved outputs (last block's) only give the backward its
        // lengths.
        g_r.iter_mut().for_each(|v| *v = T::zero());
        d_ex.iter_mut().for_each(|v| *v = T::zero());
        let mut p_end = self.n_params();
        let mut s_end = saved.len();
        for blk in self.blocks.iter().rev() {
            let p_start = p_end - blk.n_params();
            let (sp, bp, fp, _) = self.block_params(blk, params, p_start);
            let dp = &mut cx.d_params[p_start..p_end];
            let (d_sp, dp) = dp.split_at_mut(blk.stack.n_params());
            let (d_bp, d_fp) = dp.split_at_mut(blk.backcast.n_params());
            p_end = p_start;
            let slot = batch * nin + blk.stack.cache_len(batch);
            let (x, cache) = saved[s_end - slot..s_end].split_at_mut(batch * nin);
            s_end -= slot;
            {
                let h = blk.stack.output(cache, batch);
                d_f.copy_from_slice(&d_output[..batch * fw]);
                let mut head = Cx {
                    params: fp,
                    d_params: d_fp,
                    aux: &mut [],
                    batch,
                    rng: &mut *cx.rng,
                };
                blk.forecast
                    .backward(&mut head, h, outs_f, d_f, Some(&mut *dh_a));
                for (d, &g) in d_b.iter_mut().zip(g_r.iter()) {
                    *d = -g;
                }
                let mut head = Cx {
                    params: bp,
                    d_params: d_bp,
                    aux: &mut [],
                    batch,
                    rng: &mut *cx.rng,
                };
                blk.backcast
                    .backward(&mut head, h, outs_b, d_b, Some(&mut *dh_b));
            }
            for (a, &b) in dh_a.iter_mut().zip(dh_b.iter()) {
                *a = *a + b;
            }
            let mut stack_cx = Cx {
                params: sp,
                d_params: d_sp,
                aux: cache,
                batch,
                rng: &mut *cx.rng,
            };
            blk.stack.backward(
                &mut stack_cx,
                x,
                dh_a,
                Some(&mut *d_in),
                &mut scratch[..blk.stack.scratch_len(batch)],
            );
            for b in 0..batch {
                let row = &d_in[b * nin..(b + 1) * nin];
                for (g, &v) in g_r[b * bw..(b + 1) * bw].iter_mut().zip(&row[..bw]) {
                    *g = *g + v;
                }
                for (g, &v) in d_ex[b * e..(b + 1) * e].iter_mut().zip(&row[bw..]) {
                    *g = *g + v;
                }
            }
        }
        if let Some(dx) = d_input {
            for b in 0..batch {
                dx[b * nin..b * nin + bw].copy_from_slice(&g_r[b * bw..(b + 1) * bw]);
                dx[b * nin + bw..(b + 1) * nin].copy_from_slice(&d_ex[b * e..(b + 1) * e]);
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "nbeats {} channels x window {}{} -> horizon {}  {} blocks  {} params",
            self.channels,
            self.window,
            if self.exog > 0 {
                format!(" + {} exog", self.exog)
            } else {
                String::new()
            },
            self.horizon,
            self.blocks.len(),
            self.n_params()
        )
    }
    fn children(&self) -> Vec<(String, &super::Layer)> {
        let mut out = Vec::new();
        for (l, block) in self.blocks.iter().enumerate() {
            for (j, inner) in block.stack.layers.iter().enumerate() {
                out.push((format!("block.{l}.fc.{j}"), inner));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `act(W x + b)` with `W: out x in` row-major, by the definition.
    fn affine(w: &[f64], b: &[f64], x: &[f64], relu: bool) -> Vec<f64> {
        b.iter()
            .enumerate()
            .map(|(o, &bo)| {
                let a = bo
                    + x.iter()
                        .enumerate()
                        .map(|(i, &v)| v * w[o * x.len() + i])
                        .sum::<f64>();
                if relu { a.max(0.0) } else { a }
            })
            .collect()
    }

    #[test]
    fn forward_matches_the_definition() {
        let (c, w, e, h) = (2, 4, 1, 3);
        let layer = NBeats::new(c, w, e, h, 3, 2, 6);
        let mut p32 = vec![0.0f32; layer.n_params()];
        let mut rng = Rng::seed_from(3);
        layer.init_params(&mut p32, &mut rng);
        let params: Vec<f64> = p32.iter().map(|&v| v as f64).collect();
        let x: Vec<f64> = (0..c * w + e).map(|_| rng.normal() as f64).collect();
        let mut y = vec![0.0; c * h];
        let mut scratch = vec![0.0; layer.infer_len(1)];
        layer.infer(&params, &x, 1, &mut y, &mut scratch);
        // Tensors in buffer order, by name.
        let mut tensors = std::collections::HashMap::new();
        let mut off = 0;
        for (name, shape, _) in layer.param_shapes() {
            let n: usize = shape.iter().product();
            tensors.insert(name, &params[off..off + n]);
            off += n;
        }
        assert_eq!(off, params.len());
        let t = |name: String| tensors[&name];
        let mut r = x[..c * w].to_vec();
        let mut want = vec![0.0; c * h];
        for l in 0..3 {
            let mut hid = [r.clone(), x[c * w..].to_vec()].concat();
            for j in 0..2 {
                let (wj, bj) = (
                    t(format!("block.{l}.fc.{j}.weight")),
                    t(format!("block.{l}.fc.{j}.bias")),
                );
                hid = affine(wj, bj, &hid, true);
            }
            let back = affine(
                t(format!("block.{l}.backcast.weight")),
                t(format!("block.{l}.backcast.bias")),
                &hid,
                false,
            );
            let fore = affine(
                t(format!("block.{l}.forecast.weight")),
                t(format!("block.{l}.forecast.bias")),
                &hid,
                false,
            );
            r.iter_mut().zip(&back).for_each(|(a, b)| *a -= b);
            want.iter_mut().zip(&fore).for_each(|(a, b)| *a += b);
        }
        for (g, w) in y.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        assert!(want.iter().any(|v| v.abs() > 1e-3));
    }
}
