//! FreTS: frequency-domain MLPs for forecasting (Yi et al., "Frequency-domain MLPs are More
//! Effective Learners in Time Series Forecasting", NeurIPS 2023).
//!
//! Input row: `channels` windows of `window` values (channel-major, oldest first), then `exog`
//! exogenous features ([`crate::architectures::SequenceLayout`]). Output row: `horizon` values
//! per channel, channel-major.
//!
//! Forward, per sample (`C` channels, `W` window, `D` embedding size, `K = W/2 + 1`):
//! 1. dimension extension `e[c, t, :] = x[c, t] * phi` (`phi` in `R^D`, learnable);
//! 2. optional channel learner: orthonormal rFFT along `c`, frequency MLP, irFFT back to `C`;
//! 3. temporal learner: orthonormal rFFT along `t`, frequency MLP, irFFT back to `W`;
//! 4. residual `z = temporal(...) + e`;
//! 5. head, shared by the channels: `y[c] = W2 LeakyReLU(W1 [vec(z[c]), exog] + b1) + b2`
//!    (`vec` flattens `t`-major, `d` fastest).
//!
//! Frequency MLP on a spectrum `X = Xr + i Xi` (rows of `D`), complex weight `Wr + i Wi`
//! (`D x D`, applied as `X W`) and bias `Br + i Bi`:
//! `Ar = Xr Wr - Xi Wi + Br`, `Ai = Xi Wr + Xr Wi + Bi`, `Y = softshrink(ReLU(A), 0.01)` per part.
//! As `ReLU(a) >= 0`, `softshrink(ReLU(a)) = max(a - lambda, 0)`, so the backward mask is `Y > 0`.
//!
//! Backward of the frequency MLP, `dA = dY * [Y > 0]`: `dWr = Xr^T dAr + Xi^T dAi`,
//! `dWi = Xr^T dAi - Xi^T dAr`, `dB = colsum(dA)`, `dXr = dAr Wr^T + dAi Wi^T`,
//! `dXi = dAi Wr^T - dAr Wi^T`. The FFT adjoints are in `kernels::fft`.
//!
//! The paper's code writes the weight product as `einsum('bijd,dd->bijd')`, which in PyTorch
//! reads only the diagonal of the weight; this layer uses the full `D x D` complex matrix the
//! paper describes.
//!
//! All saved state and scratch live in the layer's auxiliary buffer; FFT plans are cached per
//! layer (built on first use), so a training step does not allocate.

use super::{Block, Cx, Dense, ParamKind, ParamShape};
use crate::kernels::Real;
use crate::kernels::elementwise::Activation;
use crate::kernels::fft::PlanCache;
use crate::layers::init::Init;
use crate::rng::Rng;

mod buffers;
pub(crate) mod spectral;
use crate::spec::{FromSpec, LayerSpec, MAX_WIDTH, check_layout, layout_width, limit, mismatch};
use buffers::{Aux, SplitParams};
use spectral::{Axis, adjoint_of_inverse, frequency_mlp_backward, signals_of, spectra_of};
use spectral::{FrequencyWeights, frequency_mlp};

/// Softshrink threshold of the frequency MLP (the paper's `sparsity_threshold`).
pub(crate) const SOFTSHRINK_LAMBDA: f64 = 0.01;

/// Standard deviation of the frequency-MLP weights and biases at initialization (the paper's
/// `scale = 0.02`).
pub(crate) const FREQUENCY_INIT_SCALE: f32 = 0.02;

/// Rows per chunk of the FreTS inference pass (bounds its scratch).
pub(crate) const EVAL_CHUNK: usize = 64;

/// The FreTS forecasting layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Frets {
    /// Number of series.
    pub channels: usize,
    /// Past values per series.
    pub window: usize,
    /// Exogenous features after the windows.
    pub exog: usize,
    /// Future values per series.
    pub horizon: usize,
    /// Embedding size `D`.
    pub embed_dim: usize,
    /// Width of the head's hidden layer.
    pub hidden: usize,
    /// Whether the channel learner runs before the temporal one.
    pub channel_learner: bool,
    /// First head layer: `window * embed_dim + exog -> hidden`, LeakyReLU.
    pub head1: Dense,
    /// Second head layer: `hidden -> horizon`.
    pub head2: Dense,
    temporal_fft: PlanCache,
    channel_fft: PlanCache,
}

impl Frets {
    /// A FreTS layer for the given layout; the head's hidden layer has `hidden` units.
    pub fn new(
        channels: usize,
        window: usize,
        exog: usize,
        horizon: usize,
        embed_dim: usize,
        hidden: usize,
        channel_learner: bool,
    ) -> Self {
        let head1 = Dense {
            in_features: window * embed_dim + exog,
            out_features: hidden,
            activation: Activation::LeakyRelu,
            bias: true,
            init: Init::TorchDefault,
            trainable: true,
        };
        let head2 = Dense {
            in_features: hidden,
            out_features: horizon,
            activation: Activation::Identity,
            bias: true,
            init: Init::TorchDefault,
            trainable: true,
        };
        Frets {
            channels,
            window,
            exog,
            horizon,
            embed_dim,
            hidden,
            channel_learner,
            head1,
            head2,
            temporal_fft: PlanCache::new(window),
            channel_fft: PlanCache::new(channels),
        }
    }

    fn freq_params(&self) -> usize {
        2 * self.embed_dim * self.embed_dim + 2 * self.embed_dim
    }

    fn learners(&self) -> usize {
        1 + usize::from(self.channel_learner)
    }

    fn bins(&self) -> (usize, usize) {
        (self.window / 2 + 1, self.channels / 2 + 1)
    }

    /// Sizes of the auxiliary regions, in [`Aux::split`] order.
    fn aux_sizes(&self, batch: usize) -> [usize; 8] {
        let (c, w, d) = (self.channels, self.window, self.embed_dim);
        let (k, kc) = self.bins();
        let chan = if self.channel_learner {
            batch * w * kc * d
        } else {
            0
        };
        let temp = batch * c * k * d;
        let rows = batch * c;
        let head_in = rows * self.head1.in_features;
        let tensor = batch * c * w * d;
        let scratch = self
            .temporal_fft
            .scratch_len()
            .max(if self.channel_learner {
                self.channel_fft.scratch_len()
            } else {
                0
            });
        [
            // Saved: channel spectra X, Y; temporal spectra X, Y; head input and hidden.
            4 * chan,
            4 * temp,
            head_in + rows * self.hidden,
            // Scratch: spectrum gradient planes, two time-domain tensors, head gradients.
            2 * chan.max(temp),
            2 * tensor,
            rows * self.hidden + head_in,
            // FFT work: a real signal, then a complex spectrum and FFT scratch (two reals each).
            w.max(c),
            2 * (k.max(kc) + scratch),
        ]
    }

    fn split_params<'a, T>(&self, params: &'a [T]) -> SplitParams<'a, T> {
        let d = self.embed_dim;
        let (emb, mut rest) = params.split_at(d);
        let mut take = |n: usize| {
            let (a, b) = rest.split_at(n);
            rest = b;
            a
        };
        let mut freq = || FrequencyWeights {
            wr: take(d * d),
            wi: take(d * d),
            br: take(d),
            bi: take(d),
        };
        let channel = if self.channel_learner {
            Some(freq())
        } else {
            None
        };
        let temporal = freq();
        let h1 = take(self.head1.n_params());
        let h2 = take(self.head2.n_params());
        SplitParams {
            emb,
            channel,
            temporal,
            h1,
            h2,
        }
    }

    fn temporal_axis(&self, batch: usize) -> Axis {
        let (w, d) = (self.window, self.embed_dim);
        Axis {
            count: batch * self.channels * d,
            len: w,
            stride: d,
            d,
            outer: w * d,
            inner_count: 1,
            inner_stride: 0,
        }
    }

    fn channel_axis(&self, batch: usize) -> Axis {
        let (c, w, d) = (self.channels, self.window, self.embed_dim);
        Axis {
            count: batch * w * d,
            len: c,
            stride: w * d,
            d,
            outer: c * w * d,
            inner_count: w,
            inner_stride: d,
        }
    }
}

/// Built from a `{"type": "frets"}` spec.
impl FromSpec for Frets {
    fn check_sizes(spec: &LayerSpec, _width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::Frets {
            channels,
            window,
            exog,
            horizon,
            embed_dim,
            hidden,
            ..
        } = *spec
        else {
            return Err(mismatch(here, "frets"));
        };
        for (field, v) in [
            ("channels", channels),
            ("window", window),
            ("exog", exog),
            ("horizon", horizon),
            ("embed_dim", embed_dim),
            ("hidden", hidden),
        ] {
            limit(here, field, Some(v), MAX_WIDTH)?;
        }
        layout_width(here, channels, window, exog, horizon)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::Frets {
                channels, horizon, ..
            } => channels.saturating_mul(horizon),
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Frets {
            channels,
            window,
            exog,
            horizon,
            embed_dim,
            hidden,
            channel_learner,
        } = *spec
        else {
            return Err(mismatch(here, "frets"));
        };
        check_layout(here, "frets", width, (channels, window, exog, horizon))?;
        if embed_dim == 0 || hidden == 0 {
            return Err(crate::Error::config(
                here,
                "frets needs embed_dim and hidden of at least 1",
            ));
        }
        if window.checked_mul(embed_dim).is_none_or(|n| n > 1 << 24) {
            return Err(crate::Error::config(
                here,
                format!(
                    "window * embed_dim = {window} * {embed_dim} is too large for the head (at most 2^24)"
                ),
            ));
        }
        Ok(Frets::new(
            channels,
            window,
            exog,
            horizon,
            embed_dim,
            hidden,
            channel_learner,
        ))
    }
}

impl Block for Frets {
    fn kind(&self) -> &'static str {
        "frets"
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
        self.embed_dim
            + self.learners() * self.freq_params()
            + self.head1.n_params()
            + self.head2.n_params()
    }

    /// `embedding` (`D`); per learner (`channel.` when enabled, then `temporal.`) `weight_real`,
    /// `weight_imag` (`D x D`, in x out), `bias_real`, `bias_imag` (`D`); then `head.0.weight`,
    /// `head.0.bias`, `head.1.weight`, `head.1.bias`.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let d = self.embed_dim;
        let mut v = vec![("embedding".to_string(), vec![d], ParamKind::Weight)];
        let names: &[&str] = if self.channel_learner {
            &["channel", "temporal"]
        } else {
            &["temporal"]
        };
        for name in names {
            v.push((format!("{name}.weight_real"), vec![d, d], ParamKind::Weight));
            v.push((format!("{name}.weight_imag"), vec![d, d], ParamKind::Weight));
            v.push((format!("{name}.bias_real"), vec![d], ParamKind::Bias));
            v.push((format!("{name}.bias_imag"), vec![d], ParamKind::Bias));
        }
        for (j, head) in [&self.head1, &self.head2].into_iter().enumerate() {
            for (name, shape, kind) in head.param_shapes() {
                v.push((format!("head.{j}.{name}"), shape, kind));
            }
        }
        v
    }

    /// Embedding `N(0, 1)`, frequency weights and biases `0.02 N(0, 1)`, head as PyTorch's
    /// `nn.Linear` (as the reference implementation).
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        let d = self.embed_dim;
        let (emb, rest) = params.split_at_mut(d);
        let mut r = rng.fork(0);
        emb.iter_mut().for_each(|v| *v = r.normal());
        let nf = self.learners() * self.freq_params();
        let (freq, rest) = rest.split_at_mut(nf);
        let mut r = rng.fork(1);
        freq.iter_mut()
            .for_each(|v| *v = FREQUENCY_INIT_SCALE * r.normal());
        let (h1, h2) = rest.split_at_mut(self.head1.n_params());
        self.head1.init_params(h1, &mut rng.fork(2));
        self.head2.init_params(h2, &mut rng.fork(3));
    }

    /// Auxiliary buffer length for `batch` rows.
    fn aux_len(&self, batch: usize) -> usize {
        self.aux_sizes(batch).iter().sum()
    }

    /// Training forward: fills `cx.aux` with what the backward needs.
    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, input: &[T], output: &mut [T]) {
        let batch = cx.batch;
        let p = self.split_params(cx.params);
        let mut a = Aux::split(self, cx.aux, batch);
        let (c, w, d, e) = (self.channels, self.window, self.embed_dim, self.exog);
        let nin = self.in_features();
        let (k, kc) = self.bins();
        let temporal = self.temporal_fft.get::<T>();
        // 1. e[b, c, t, :] = x[b, c, t] * phi, into `t1`.
        for b in 0..batch {
            let x = &input[b * nin..b * nin + c * w];
            for (i, &v) in x.iter().enumerate() {
                let at = (b * c * w + i) * d;
                for (o, &phi) in a.t1[at..at + d].iter_mut().zip(p.emb) {
                    *o = v * phi;
                }
            }
        }
        // 2. Channel learner into `t2` (the temporal learner's input), else read `t1`.
        if let Some(cw) = p.channel {
            let plan = self.channel_fft.get::<T>();
            let rows = batch * w * kc;
            let axis = self.channel_axis(batch);
            spectra_of(&plan, axis, a.t1, a.c_xr, a.c_xi, &mut a.fft);
            frequency_mlp((a.c_xr, a.c_xi), rows, d, cw, (a.c_yr, a.c_yi), true);
            signals_of(&plan, axis, a.c_yr, a.c_yi, T::one(), a.t2, &mut a.fft);
        }
        // 3. Temporal learner, back to the time domain in `t2`.
        let axis = self.temporal_axis(batch);
        let rows = batch * c * k;
        let src: &[T] = if p.channel.is_some() { a.t2 } else { a.t1 };
        spectra_of(&temporal, axis, src, a.t_xr, a.t_xi, &mut a.fft);
        frequency_mlp(
            (a.t_xr, a.t_xi),
            rows,
            d,
            p.temporal,
            (a.t_yr, a.t_yi),
            true,
        );
        signals_of(&temporal, axis, a.t_yr, a.t_yi, T::one(), a.t2, &mut a.fft);
        // 4. Head input rows (b, c): [z = temporal + e, exog].
        let width = self.head1.in_features;
        let wd = w * d;
        for b in 0..batch {
            let ex = &input[b * nin + c * w..(b + 1) * nin];
            for ch in 0..c {
                let row = &mut a.head_in[(b * c + ch) * width..(b * c + ch + 1) * width];
                let src = (b * c + ch) * wd;
                for ((o, &u), &v) in row[..wd]
                    .iter_mut()
                    .zip(&a.t2[src..src + wd])
                    .zip(&a.t1[src..src + wd])
                {
                    *o = u + v;
                }
                row[wd..wd + e].copy_from_slice(ex);
            }
        }
        // 5. Shared head over batch * channels rows; the output is (b, c, h) row-major.
        let n_rows = batch * c;
        // The head's activations (LeakyReLU, identity) save nothing: their inference pass is
        // their forward.
        self.head1.infer(p.h1, a.head_in, n_rows, a.hidden, &mut []);
        self.head2.infer(p.h2, a.hidden, n_rows, output, &mut []);
    }

    /// The training forward's buffer for one chunk of `EVAL_CHUNK` rows.
    fn infer_len(&self, batch: usize) -> usize {
        self.aux_len(batch.clamp(1, EVAL_CHUNK))
    }

    /// The training forward over chunks of `EVAL_CHUNK` rows, so the scratch stays small for
    /// large prediction blocks.
    fn infer<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        scratch: &mut [T],
    ) {
        let chunk = batch.clamp(1, EVAL_CHUNK);
        let (nin, nout) = (self.in_features(), self.out_features());
        // The forward draws nothing; the context still carries a stream.
        let mut rng = Rng::seed_from(0);
        for start in (0..batch).step_by(chunk) {
            let rows = chunk.min(batch - start);
            let mut cx = Cx::forward(params, &mut *scratch, rows, &mut rng);
            self.forward(
                &mut cx,
                &input[start * nin..(start + rows) * nin],
                &mut output[start * nout..(start + rows) * nout],
            );
        }
    }

    /// Backward from the state the forward saved (consumed: `aux` is reused as scratch).
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        input: &[T],
        output: &[T],
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
    ) {
        let batch = cx.batch;
        let p = self.split_params(cx.params);
        let mut a = Aux::split(self, cx.take_aux(), batch);
        let (c, w, d, e) = (self.channels, self.window, self.embed_dim, self.exog);
        let nin = self.in_features();
        let (k, kc) = self.bins();
        let n_rows = batch * c;
        let width = self.head1.in_features;
        let wd = w * d;
        let temporal = self.temporal_fft.get::<T>();

        // Parameter-gradient slices, in buffer order.
        let (d_emb, rest) = std::mem::take(&mut cx.d_params).split_at_mut(d);
        let nf = self.freq_params();
        let (d_chan, rest) = rest.split_at_mut(if self.channel_learner { nf } else { 0 });
        let (d_temp, rest) = rest.split_at_mut(nf);
        let (d_h1, d_h2) = rest.split_at_mut(self.head1.n_params());

        // Head.
        let mut head = Cx {
            params: p.h2,
            d_params: d_h2,
            aux: &mut [],
            batch: n_rows,
            rng: &mut *cx.rng,
        };
        self.head2.backward(
            &mut head,
            a.hidden,
            output,
            d_output,
            Some(&mut *a.d_hidden),
        );
        let mut head = Cx {
            params: p.h1,
            d_params: d_h1,
            aux: &mut [],
            batch: n_rows,
            rng: &mut *cx.rng,
        };
        self.head1.backward(
            &mut head,
            a.head_in,
            a.hidden,
            a.d_hidden,
            Some(&mut *a.d_head_in),
        );
        // dz (b, c, t, d) into t1: it is both the residual's gradient and the temporal output's.
        for r in 0..n_rows {
            a.t1[r * wd..(r + 1) * wd].copy_from_slice(&a.d_head_in[r * width..r * width + wd]);
        }
        // Temporal learner: adjoint of the irFFT (dz -> dY), the frequency MLP (dY -> dX, in the
        // X planes), adjoint of the rFFT (dX -> d(temporal input), into t2).
        let half = T::of(0.5);
        let axis = self.temporal_axis(batch);
        let rows = batch * c * k;
        adjoint_of_inverse(&temporal, axis, a.t1, a.g_r, a.g_i, &mut a.fft);
        let (x, y) = ((&mut *a.t_xr, &mut *a.t_xi), (&*a.t_yr, &*a.t_yi));
        frequency_mlp_backward(x, y, rows, d, p.temporal, (a.g_r, a.g_i), d_temp);
        signals_of(&temporal, axis, a.t_xr, a.t_xi, half, a.t2, &mut a.fft);
        // With the channel learner, the same three steps along the channels (t2 -> t2).
        if let Some(cw) = p.channel {
            let plan = self.channel_fft.get::<T>();
            let axis = self.channel_axis(batch);
            let rows = batch * w * kc;
            adjoint_of_inverse(&plan, axis, a.t2, a.g_r, a.g_i, &mut a.fft);
            let (x, y) = ((&mut *a.c_xr, &mut *a.c_xi), (&*a.c_yr, &*a.c_yi));
            frequency_mlp_backward(x, y, rows, d, cw, (&mut *a.g_r, &mut *a.g_i), d_chan);
            signals_of(&plan, axis, a.c_xr, a.c_xi, half, a.t2, &mut a.fft);
        }
        // de = dz + d(learners' input), in t1.
        for (g, &v) in a.t1.iter_mut().zip(a.t2.iter()) {
            *g = *g + v;
        }
        // e = x * phi: d_phi = sum x de; dx = de . phi.
        for b in 0..batch {
            for i in 0..c * w {
                let xv = input[b * nin + i];
                let at = (b * c * w + i) * d;
                for (dp, &g) in d_emb.iter_mut().zip(&a.t1[at..at + d]) {
                    *dp = *dp + xv * g;
                }
            }
        }
        if let Some(dx) = d_input {
            for b in 0..batch {
                for i in 0..c * w {
                    let at = (b * c * w + i) * d;
                    dx[b * nin + i] = T::dot(&a.t1[at..at + d], p.emb);
                }
                // Exogenous features feed every channel's head row.
                for j in 0..e {
                    let mut s = T::zero();
                    for ch in 0..c {
                        s = s + a.d_head_in[(b * c + ch) * width + wd + j];
                    }
                    dx[b * nin + c * w + j] = s;
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "frets {} channels x window {}{} -> horizon {}  embed {}, head hidden {}, channel learner {}  {} params",
            self.channels,
            self.window,
            if self.exog > 0 {
                format!(" + {} exog", self.exog)
            } else {
                String::new()
            },
            self.horizon,
            self.embed_dim,
            self.hidden,
            if self.channel_learner { "on" } else { "off" },
            self.n_params()
        )
    }
}

#[cfg(test)]
mod tests;
