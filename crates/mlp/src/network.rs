//! The runnable chain of layers over one flat parameter buffer.
//!
//! ```text
//! x -> layer_0.forward -> ... -> layer_L.forward -> logits
//!      layer_0.backward <- ... <- layer_L.backward <- d_logits   (grads accumulate, flat)
//! ```
//! Training passes keep each layer's output (and any auxiliary buffer) in a [`Workspace`] sized
//! once per batch size; the inference path ping-pongs between two buffers and saves nothing.

use crate::kernels::Real;
use crate::layers::{Cx, GradMode, Layer, ParamKind};
use crate::rng::Rng;
use crate::spec::ModelSpec;
use crate::{Error, Result};
use std::ops::Range;

/// Where one named parameter tensor lives in the flat buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// Name, e.g. `layers.0.weight` (the safetensors key).
    pub name: String,
    /// Shape (`out x in` for weights).
    pub shape: Vec<usize>,
    /// Range in the flat buffer.
    pub range: Range<usize>,
    /// Weight or bias.
    pub kind: ParamKind,
}

/// A built network: spec, layers and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    spec: ModelSpec,
    layers: Vec<Layer>,
    layer_ranges: Vec<Range<usize>>,
    tensors: Vec<TensorInfo>,
    /// All parameters, flat, in layer order (weights `out x in` row-major, then bias). Crate-visible
    /// so the optimizers and trainers can split borrows; users go through [`Network::params`].
    pub(crate) params: Vec<f32>,
    /// The int8 version of these weights (a quantized model, see [`crate::quant`]): when present,
    /// [`Network::predict`] and [`Network::infer_into`] run it. Changing the parameters through
    /// [`Network::params_mut`] or [`Network::set_params`] drops it.
    int8: Option<std::sync::Arc<crate::quant::Int8Network>>,
    /// The integer-only version of a quantization-aware-trained network (see
    /// [`crate::quant::qat`]): when present, predictions run it. Dropped like `int8`.
    qat: Option<std::sync::Arc<crate::quant::qat::QatIntNetwork>>,
}

impl Network {
    /// Builds a network from validated layers, drawing parameters from `seed`.
    pub fn new(spec: ModelSpec, layers: Vec<Layer>, seed: u64) -> Result<Self> {
        let mut layer_ranges = Vec::with_capacity(layers.len());
        let mut tensors = Vec::new();
        let mut offset = 0;
        for (i, layer) in layers.iter().enumerate() {
            let start = offset;
            for (suffix, shape, kind) in layer.param_shapes() {
                let len: usize = shape.iter().product();
                tensors.push(TensorInfo {
                    name: format!("layers.{i}.{suffix}"),
                    shape,
                    range: offset..offset + len,
                    kind,
                });
                offset += len;
            }
            layer_ranges.push(start..offset);
        }
        let mut params = vec![0.0f32; offset];
        let mut rng = Rng::seed_from(seed);
        for (layer, range) in layers.iter().zip(&layer_ranges) {
            let mut layer_rng = rng.fork(range.start as u64);
            layer.init_params(&mut params[range.clone()], &mut layer_rng);
        }
        Ok(Network {
            spec,
            layers,
            layer_ranges,
            tensors,
            params,
            int8: None,
            qat: None,
        })
    }

    /// The spec this network was built from.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// All parameters, flat, in layer order (weights `out x in` row-major, then bias); the
    /// [`Network::tensors`] ranges index into it.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// The parameters, to overwrite in place (restored weights, perturbation studies). The length
    /// is fixed by the architecture.
    pub fn params_mut(&mut self) -> &mut [f32] {
        // The int8 copy would no longer match the weights.
        self.int8 = None;
        self.qat = None;
        &mut self.params
    }

    /// The int8 version of this network, when it was quantized ([`crate::model::Model::quantize`]
    /// or a quantized model file).
    pub fn int8(&self) -> Option<&crate::quant::Int8Network> {
        self.int8.as_deref()
    }

    /// Attaches (or removes) the int8 version that predictions run.
    pub(crate) fn set_int8(&mut self, int8: Option<crate::quant::Int8Network>) {
        self.int8 = int8.map(std::sync::Arc::new);
    }

    /// The integer-only version of a quantization-aware-trained network, when attached
    /// ([`crate::quant::qat::attach`]).
    pub fn qat_int(&self) -> Option<&crate::quant::qat::QatIntNetwork> {
        self.qat.as_deref()
    }

    /// Attaches (or removes) the integer-only version that predictions run.
    pub(crate) fn set_qat_int(&mut self, q: Option<crate::quant::qat::QatIntNetwork>) {
        self.qat = q.map(std::sync::Arc::new);
    }

    /// Named parameter tensors, in buffer order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// Where top-level layer `index`'s parameters lie in [`Network::params`].
    pub fn layer_range(&self, index: usize) -> Option<Range<usize>> {
        self.layer_ranges.get(index).cloned()
    }

    /// Total number of parameters.
    pub fn n_params(&self) -> usize {
        self.params.len()
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.spec.inputs
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.layers
            .last()
            .map_or(self.spec.inputs, |l| l.out_features())
    }

    /// Largest layer width (input included), which sizes the inference buffers.
    pub fn max_width(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.out_features())
            .chain([self.spec.inputs])
            .max()
            .unwrap_or(0)
    }

    /// Replaces the parameters, checking the length.
    pub fn set_params(&mut self, params: Vec<f32>) -> Result<()> {
        if params.len() != self.params.len() {
            return Err(Error::shape("set_params", self.params.len(), params.len()));
        }
        self.int8 = None;
        self.qat = None;
        self.params = params;
        Ok(())
    }

    /// Training forward over a batch (`batch x inputs`, row-major); returns the outputs.
    pub fn forward_train<'w, T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        ws: &'w mut Workspace<T>,
        rng: &mut Rng,
    ) -> &'w [T] {
        ws.ensure(self, batch);
        for (i, layer) in self.layers.iter().enumerate() {
            let (before, rest) = ws.outputs.split_at_mut(i);
            let x: &[T] = if i == 0 { input } else { &before[i - 1] };
            let p = &params[self.layer_ranges[i].clone()];
            let mut cx = Cx::forward(p, &mut ws.aux[i], batch, &mut *rng);
            layer.forward_train(&mut cx, x, &mut rest[0]);
        }
        let last = ws.outputs.len() - 1;
        &ws.outputs[last][..batch * self.outputs()]
    }

    /// Backward over the batch last passed to [`Network::forward_train`]: reads `d_outputs`
    /// from [`Workspace::d_outputs_mut`] and leaves `dL/dparams` in [`Workspace::grads`]
    /// (overwritten, not accumulated across calls). When `d_input` is given it receives `dL/dx`.
    pub fn backward<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        ws: &mut Workspace<T>,
        d_input: Option<&mut [T]>,
    ) {
        self.backward_with_taps(params, input, batch, ws, d_input, |_, _, _| {});
    }

    /// [`Network::backward`] with extra gradient injected at hidden layers: before top-level
    /// layer `i` runs its backward, `tap(i, output_i, d_output_i)` may add to `dL/d(output of
    /// layer i)` (`batch x out_features`), e.g. the gradient of a regularizer on hidden
    /// activations (layer-wise adversarial regularization). `output_i` is the layer's output
    /// saved by the last [`Network::forward_train`].
    pub fn backward_with_taps<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        ws: &mut Workspace<T>,
        mut d_input: Option<&mut [T]>,
        mut tap: impl FnMut(usize, &[T], &mut [T]),
    ) {
        for g in ws.grads.iter_mut() {
            *g = T::zero();
        }
        let n = self.layers.len();
        // Backward passes draw nothing; the context still carries a stream.
        let mut rng = Rng::seed_from(0);
        for i in (0..n).rev() {
            let layer = &self.layers[i];
            let x: &[T] = if i == 0 { input } else { &ws.outputs[i - 1] };
            let range = self.layer_ranges[i].clone();
            let (d_out, d_in) = (&mut ws.grad_a, &mut ws.grad_b);
            let d_out = &mut d_out[..batch * layer.out_features()];
            tap(i, &ws.outputs[i][..batch * layer.out_features()], d_out);
            let want_input = i > 0 || d_input.is_some();
            let d_in_slice: Option<&mut [T]> = if !want_input {
                None
            } else if i == 0 {
                d_input.as_deref_mut()
            } else {
                Some(&mut d_in[..batch * layer.in_features()])
            };
            let mut cx = Cx {
                params: &params[range.clone()],
                d_params: &mut ws.grads[range],
                aux: &mut ws.aux[i],
                batch,
                rng: &mut rng,
            };
            layer.backward(&mut cx, x, &ws.outputs[i], d_out, d_in_slice);
            std::mem::swap(&mut ws.grad_a, &mut ws.grad_b);
        }
    }

    /// A copy of this network that runs `mode` in its training-style passes
    /// ([`Network::forward_train`] / [`Network::backward`]): with [`GradMode::Eval`] those passes
    /// compute exactly the inference function, so their input gradients are the gradients of
    /// the deployed model (what attacks need); with [`GradMode::McDropout`] dropout stays on.
    pub fn with_grad_mode(&self, mode: GradMode) -> Network {
        let mut copy = self.clone();
        copy.layers.iter_mut().for_each(|l| l.set_grad_mode(mode));
        copy
    }

    /// Gradient of a loss with respect to the inputs, in [`GradMode::Eval`] semantics when
    /// called on a [`Network::with_grad_mode`] copy. `loss_grad(outputs, d_outputs)` receives
    /// the network outputs (`batch x outputs`), writes `dL/d_outputs` and returns the loss;
    /// `d_input` (`batch x inputs`) receives `dL/dx`. Returns the loss.
    ///
    /// ```
    /// use mlp::layers::GradMode;
    /// use mlp::Activation;
    /// let net = mlp::spec::ModelSpec::mlp(2, &[4], 1, Activation::Tanh, 0.0)
    ///     .build(0).unwrap().with_grad_mode(GradMode::Eval);
    /// let mut ws = mlp::network::Workspace::new();
    /// let mut rng = mlp::rng::Rng::seed_from(0);
    /// let mut dx = [0.0f32; 2];
    /// // d(sum of outputs)/dx
    /// net.input_gradient(&[0.5, -0.5], 1, &mut ws, &mut rng, &mut dx, |out, d_out| {
    ///     d_out.fill(1.0);
    ///     out.iter().map(|&v| v as f64).sum()
    /// });
    /// assert!(dx.iter().any(|g| *g != 0.0));
    /// ```
    pub fn input_gradient(
        &self,
        input: &[f32],
        batch: usize,
        ws: &mut Workspace<f32>,
        rng: &mut Rng,
        d_input: &mut [f32],
        loss_grad: impl FnOnce(&[f32], &mut [f32]) -> f64,
    ) -> f64 {
        self.forward_train(&self.params, input, batch, ws, rng);
        let (out, d_out) = ws.outputs_and_d_outputs(self, batch);
        let loss = loss_grad(out, d_out);
        self.backward(
            &self.params,
            input,
            batch,
            ws,
            Some(&mut d_input[..batch * self.inputs()]),
        );
        loss
    }

    /// The inputs that top-level layer `index` sees for `rows` input samples (inference mode).
    pub fn layer_inputs(&self, index: usize, samples: &[f32], rows: usize) -> Vec<f32> {
        let mut x = samples[..rows * self.inputs()].to_vec();
        for (i, layer) in self.layers.iter().enumerate().take(index) {
            let mut y = vec![0.0f32; rows * layer.out_features()];
            let mut work = vec![0.0f32; layer.infer_len(rows)];
            let p = &self.params[self.layer_ranges[i].clone()];
            layer.forward_eval(p, &x, rows, &mut y, &mut work);
            x = y;
        }
        x
    }

    /// After a training step: updates the buffers (batch normalization's running statistics)
    /// from the last [`Network::forward_train`] on `batch` rows.
    pub fn update_buffers(&mut self, ws: &Workspace<f32>, batch: usize) {
        for (i, layer) in self.layers.iter().enumerate() {
            if layer.has_buffers() {
                let range = self.layer_ranges[i].clone();
                layer.update_buffers(&mut self.params[range], &ws.aux[i], batch);
            }
        }
    }

    /// Whether any layer keeps data-driven buffers (see [`Network::update_buffers`]).
    pub fn has_buffers(&self) -> bool {
        self.layers.iter().any(Layer::has_buffers)
    }

    /// Inference on a batch: `output` (`batch x outputs`) from `input` (`batch x inputs`).
    /// `scratch` is resized as needed and can be reused across calls.
    pub fn predict_into<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        scratch: &mut InferenceScratch<T>,
        output: &mut [T],
    ) {
        let need = batch * self.max_width();
        if scratch.a.len() < need {
            scratch.a.resize(need, T::zero());
            scratch.b.resize(need, T::zero());
        }
        let work = self.layers.iter().map(|l| l.infer_len(batch)).max();
        let work = work.unwrap_or(0);
        if scratch.work.len() < work {
            scratch.work.resize(work, T::zero());
        }
        let n = self.layers.len();
        for (i, layer) in self.layers.iter().enumerate() {
            let p = &params[self.layer_ranges[i].clone()];
            let x: &[T] = if i == 0 { input } else { &scratch.a };
            if i + 1 == n {
                layer.forward_eval(p, x, batch, output, &mut scratch.work);
            } else {
                layer.forward_eval(p, x, batch, &mut scratch.b, &mut scratch.work);
                std::mem::swap(&mut scratch.a, &mut scratch.b);
            }
        }
    }

    /// [`Network::predict_into`] with this network's own parameters, taking the int8 path when
    /// the network is quantized.
    pub fn infer_into(
        &self,
        input: &[f32],
        batch: usize,
        scratch: &mut InferenceScratch<f32>,
        output: &mut [f32],
    ) {
        if let Some(q) = &self.qat {
            return q.predict_into(input, batch, output);
        }
        match &self.int8 {
            Some(q) => q.predict_into(input, batch, &mut scratch.int8, output),
            None => self.predict_into(&self.params, input, batch, scratch, output),
        }
    }

    /// Inference over many rows; returns `rows x outputs`. The fast internal path: `input` must
    /// hold at least `rows x inputs` values (it panics otherwise); input from outside goes through
    /// [`Network::try_predict`].
    ///
    /// Rows are cut into blocks of `PREDICT_BLOCK` (512) rows that run through all layers while their
    /// activations stay in cache; with more than one thread in the current rayon pool, each thread
    /// takes whole blocks (single-threaded GEMMs, weights shared and hot). A row's result does not
    /// depend on the blocking, so this equals row-by-row inference exactly.
    ///
    /// A quantized network ([`Network::int8`]) runs its int8 version instead.
    pub fn predict(&self, input: &[f32], rows: usize) -> Vec<f32> {
        if let Some(q) = &self.int8 {
            return q.predict(&input[..rows * self.inputs()], rows);
        }
        if let Some(q) = &self.qat {
            return q.predict(&input[..rows * self.inputs()], rows);
        }
        let mut out = vec![0.0f32; rows * self.outputs()];
        self.predict_batch(&self.params, input, rows, &mut out);
        out
    }

    /// [`Network::predict`] for input a caller does not control: checks that `input` holds
    /// `rows x inputs` values (with checked arithmetic) instead of panicking on a short slice.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `input.len()` is not `rows * inputs`.
    pub fn try_predict(&self, input: &[f32], rows: usize) -> Result<Vec<f32>> {
        let n = self.inputs();
        if rows.checked_mul(n) != Some(input.len()) {
            return Err(Error::shape(
                "Network::try_predict",
                format!("{rows} rows x {n} inputs"),
                format!("{} values", input.len()),
            ));
        }
        Ok(self.predict(input, rows))
    }

    /// [`Network::predict`] into a caller-provided buffer (`rows x outputs`).
    pub fn predict_batch(&self, params: &[f32], input: &[f32], rows: usize, output: &mut [f32]) {
        use rayon::prelude::*;
        let (nin, nout) = (self.inputs(), self.outputs());
        let blocks_in = input[..rows * nin].par_chunks(PREDICT_BLOCK * nin);
        let blocks_out = output[..rows * nout].par_chunks_mut(PREDICT_BLOCK * nout);
        let run = |(x, y): (&[f32], &mut [f32])| {
            let b = x.len() / nin.max(1);
            crate::kernels::serial(|| {
                SCRATCH.with(|s| self.predict_into(params, x, b, &mut s.borrow_mut(), y));
            });
        };
        if rayon::current_num_threads() > 1 && rows > PREDICT_BLOCK {
            blocks_in.zip(blocks_out).for_each(run);
        } else {
            input[..rows * nin]
                .chunks(PREDICT_BLOCK * nin)
                .zip(output[..rows * nout].chunks_mut(PREDICT_BLOCK * nout))
                .for_each(run);
        }
    }
}

impl ModelSpec {
    /// Validates the spec and builds the network (parameters drawn from `seed`). It lives beside
    /// [`Network`] so that the spec stays plain data that knows nothing of the built network.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for zero widths, a dropout probability outside `[0, 1)`, a
    /// residual or recurrent block that does not return to its input width, a size beyond
    /// [`crate::spec::MAX_WIDTH`], or a spec without parameters.
    pub fn build(&self, seed: u64) -> Result<Network> {
        Network::new(self.clone(), self.layers()?, seed)
    }
}

/// Rows per block in [`Network::predict_batch`].
pub(crate) const PREDICT_BLOCK: usize = 512;

thread_local! {
    static SCRATCH: std::cell::RefCell<InferenceScratch<f32>> = std::cell::RefCell::new(InferenceScratch::default());
}

/// Reusable buffers for [`Network::predict_into`].
#[derive(Debug, Default, Clone)]
pub struct InferenceScratch<T> {
    a: Vec<T>,
    b: Vec<T>,
    /// The layers' own scratch (`Layer::infer_len`), shared by all of them in turn.
    work: Vec<T>,
    /// The int8 path's buffers ([`Network::infer_into`] on a quantized network).
    int8: crate::quant::Int8Scratch,
}

impl<T> InferenceScratch<T> {
    /// Elements the buffers can hold without growing: unchanged by a call that needed no more
    /// than an earlier one (how tests see that `predict_into` reuses them).
    pub fn capacity(&self) -> usize {
        self.a.capacity() + self.b.capacity() + self.work.capacity()
    }
}

/// Per-batch-size buffers for training: every layer's output and saved state, the two gradient
/// ping-pong buffers, and the flat parameter gradient. Allocated once, reused every step.
#[derive(Debug, Default, Clone)]
pub struct Workspace<T> {
    batch: usize,
    outputs: Vec<Vec<T>>,
    aux: Vec<Vec<T>>,
    grad_a: Vec<T>,
    grad_b: Vec<T>,
    /// `dL/dparams` after [`Network::backward`], flat, aligned with [`Network::params`].
    /// Crate-visible for the optimizers; users read it through [`Workspace::grads`].
    pub(crate) grads: Vec<T>,
}

impl<T: Real> Workspace<T> {
    /// `dL/dparams` after [`Network::backward`], flat, aligned with [`Network::params`].
    pub fn grads(&self) -> &[T] {
        &self.grads
    }

    /// An empty workspace; buffers are sized on first use.
    pub fn new() -> Self {
        Workspace {
            batch: 0,
            outputs: Vec::new(),
            aux: Vec::new(),
            grad_a: Vec::new(),
            grad_b: Vec::new(),
            grads: Vec::new(),
        }
    }

    /// Makes room for `batch` rows (grows only; never shrinks).
    pub fn ensure(&mut self, net: &Network, batch: usize) {
        if self.batch >= batch && self.outputs.len() == net.layers.len() {
            return;
        }
        let batch = batch.max(self.batch);
        self.batch = batch;
        self.outputs = net
            .layers
            .iter()
            .map(|l| vec![T::zero(); batch * l.out_features()])
            .collect();
        self.aux = net
            .layers
            .iter()
            .map(|l| vec![T::zero(); l.aux_len(batch)])
            .collect();
        let w = batch * net.max_width();
        self.grad_a = vec![T::zero(); w];
        self.grad_b = vec![T::zero(); w];
        self.grads = vec![T::zero(); net.n_params()];
    }

    /// Buffer the loss writes `dL/d_outputs` into (`batch x outputs`) before the backward.
    pub fn d_outputs_mut(&mut self, net: &Network, batch: usize) -> &mut [T] {
        self.ensure(net, batch);
        &mut self.grad_a[..batch * net.outputs()]
    }

    /// The network outputs of the last training forward.
    pub fn outputs(&self, net: &Network, batch: usize) -> &[T] {
        &self.outputs[self.outputs.len() - 1][..batch * net.outputs()]
    }

    /// Output of top-level layer `index` from the last training forward (`batch x width`).
    pub fn layer_output(&self, net: &Network, index: usize, batch: usize) -> &[T] {
        &self.outputs[index][..batch * net.layers[index].out_features()]
    }

    /// Outputs of the last forward and the d_outputs buffer, borrowed together.
    pub fn outputs_and_d_outputs(&mut self, net: &Network, batch: usize) -> (&[T], &mut [T]) {
        let last = self.outputs.len() - 1;
        let n = batch * net.outputs();
        (&self.outputs[last][..n], &mut self.grad_a[..n])
    }
}
