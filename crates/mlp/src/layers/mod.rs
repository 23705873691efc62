//! Layers and blocks: each knows its forward and backward, and its parameters' names and shapes.
//!
//! Parameters never live inside a layer: every layer reads its slice of the network's one flat
//! parameter buffer and accumulates into the matching slice of the flat gradient buffer, so an
//! optimizer step is a single pass over contiguous memory. Blocks ([`Residual`], [`Recurrent`])
//! hold a [`Chain`] of inner layers whose slices are concatenated inside the block's slice.

pub mod batch_norm;
pub mod chain;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod frets;
pub mod glu;
pub mod init;
pub mod kan;
pub mod kan_grid;
pub mod layer_norm;
pub mod nbeats;
pub mod selectable_kan;
pub mod two_stream;

pub use batch_norm::BatchNorm;
pub use chain::{Chain, Integrator, Recurrent, Residual};
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::FieldEmbedding;
pub use frets::Frets;
pub use glu::Glu;
pub use init::Init;
pub use kan::{Kan, KanBasis};
pub use layer_norm::LayerNorm;
pub use nbeats::{NBeats, NBeatsBlock};
pub use selectable_kan::SelectableKan;
pub use two_stream::TwoStream;

use crate::kernels::Real;
use crate::rng::Rng;

/// What a parameter tensor is, which decides how optimizers treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// A weight matrix: subject to weight decay.
    Weight,
    /// A bias or normalization gain/shift: not decayed (scikit-learn's `alpha` convention).
    Bias,
    /// Never updated by the optimizer (e.g. the fixed random lift of an hourglass network); saved
    /// with the model like any other tensor.
    Frozen,
}

/// How a trained network behaves in a training-style (gradient-saving) forward pass, see
/// [`crate::network::Network::with_grad_mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradMode {
    /// Exactly the inference function: dropout off, batch norm on running statistics. Used for
    /// input gradients (attacks, sensitivity) of a trained model.
    Eval,
    /// Dropout stays active (Monte-Carlo dropout), batch norm on running statistics.
    McDropout,
}

/// One layer or block of a network (a closed set: every kind is gradient-checked in `tests`).
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// Fully connected layer with fused activation.
    Dense(Dense),
    /// Inverted dropout.
    Dropout(Dropout),
    /// Layer normalization.
    LayerNorm(LayerNorm),
    /// Batch normalization (running statistics; train and eval modes differ).
    BatchNorm(BatchNorm),
    /// Gated linear unit (GLU, ReGLU, GEGLU, SwiGLU).
    Glu(Glu),
    /// Kolmogorov-Arnold layer (learnable univariate edge functions).
    Kan(Kan),
    /// Selectable KAN: a softmax mixture of basis families per output node.
    SelectableKan(SelectableKan),
    /// FinalMLP: two gated MLP streams fused bilinearly.
    TwoStream(TwoStream),
    /// Per-field embedding tables (categorical one-hot blocks and numeric features).
    Embedding(FieldEmbedding),
    /// `x + F(x)`.
    Residual(Residual),
    /// SCORE recurrent depth: `h <- (1 - dt) h + dt F(h)`, `steps` times, `F` shared.
    Recurrent(Recurrent),
    /// FreTS forecaster: frequency-domain MLPs over the embedded windows, shared linear head.
    Frets(Frets),
    /// Generic N-BEATS forecaster: residual stack of backcast/forecast blocks.
    NBeats(NBeats),
}

impl Layer {
    /// Input width.
    pub fn in_features(&self) -> usize {
        match self {
            Layer::Dense(d) => d.in_features,
            Layer::Dropout(d) => d.features,
            Layer::LayerNorm(n) => n.features,
            Layer::BatchNorm(n) => n.features,
            Layer::Glu(g) => g.in_features,
            Layer::Kan(k) => k.in_features,
            Layer::SelectableKan(k) => k.in_features,
            Layer::TwoStream(t) => t.in_features,
            Layer::Embedding(e) => e.in_features(),
            Layer::Residual(r) => r.branch.in_features(),
            Layer::Recurrent(r) => r.block.in_features(),
            Layer::Frets(f) => f.in_features(),
            Layer::NBeats(n) => n.in_features(),
        }
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        match self {
            Layer::Dense(d) => d.out_features,
            Layer::Dropout(d) => d.features,
            Layer::LayerNorm(n) => n.features,
            Layer::BatchNorm(n) => n.features,
            Layer::Glu(g) => g.out_features,
            Layer::Kan(k) => k.out_features,
            Layer::SelectableKan(k) => k.out_features,
            Layer::TwoStream(t) => t.out_features,
            Layer::Embedding(e) => e.out_features(),
            Layer::Residual(r) => r.branch.out_features(),
            Layer::Recurrent(r) => r.block.out_features(),
            Layer::Frets(f) => f.out_features(),
            Layer::NBeats(n) => n.out_features(),
        }
    }

    /// Number of parameters (frozen ones included).
    pub fn n_params(&self) -> usize {
        match self {
            Layer::Dense(d) => d.n_params(),
            Layer::Dropout(_) => 0,
            Layer::LayerNorm(n) => n.n_params(),
            Layer::BatchNorm(n) => n.n_params(),
            Layer::Glu(g) => g.n_params(),
            Layer::Kan(k) => k.n_params(),
            Layer::SelectableKan(k) => k.n_params(),
            Layer::TwoStream(t) => t.n_params(),
            Layer::Embedding(e) => e.n_params(),
            Layer::Residual(r) => r.branch.n_params(),
            Layer::Recurrent(r) => r.block.n_params(),
            Layer::Frets(f) => f.n_params(),
            Layer::NBeats(n) => n.n_params(),
        }
    }

    /// Short name of the layer kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Dense(_) => "dense",
            Layer::Dropout(_) => "dropout",
            Layer::LayerNorm(_) => "layer_norm",
            Layer::BatchNorm(_) => "batch_norm",
            Layer::Glu(_) => "glu",
            Layer::Kan(_) => "kan",
            Layer::SelectableKan(_) => "selectable_kan",
            Layer::TwoStream(_) => "final_mlp",
            Layer::Embedding(_) => "embedding",
            Layer::Residual(_) => "residual",
            Layer::Recurrent(_) => "recurrent",
            Layer::Frets(_) => "frets",
            Layer::NBeats(_) => "nbeats",
        }
    }

    /// Named parameter tensors in buffer order: (name, shape, kind). Blocks name their inner
    /// tensors `block.{j}.{name}`.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>, ParamKind)> {
        match self {
            Layer::Dense(d) => d.param_shapes(),
            Layer::Dropout(_) => Vec::new(),
            Layer::LayerNorm(n) => n.param_shapes(),
            Layer::BatchNorm(n) => n.param_shapes(),
            Layer::Glu(g) => g.param_shapes(),
            Layer::Kan(k) => k.param_shapes(),
            Layer::SelectableKan(k) => k.param_shapes(),
            Layer::TwoStream(t) => t.param_shapes(),
            Layer::Embedding(e) => e.param_shapes(),
            Layer::Residual(r) => r.branch.param_shapes("block."),
            Layer::Recurrent(r) => r.block.param_shapes("block."),
            Layer::Frets(f) => f.param_shapes(),
            Layer::NBeats(n) => n.param_shapes(),
        }
    }

    /// Initializes this layer's parameter slice.
    pub fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        match self {
            Layer::Dense(d) => d.init_params(params, rng),
            Layer::Dropout(_) => {}
            Layer::LayerNorm(n) => n.init_params(params),
            Layer::BatchNorm(n) => n.init_params(params),
            Layer::Glu(g) => g.init_params(params, rng),
            Layer::Kan(k) => k.init_params(params, rng),
            Layer::SelectableKan(k) => k.init_params(params, rng),
            Layer::TwoStream(t) => t.init_params(params, rng),
            Layer::Embedding(e) => e.init_params(params, rng),
            Layer::Residual(r) => r.branch.init_params(params, rng),
            Layer::Recurrent(r) => r.block.init_params(params, rng),
            Layer::Frets(f) => f.init_params(params, rng),
            Layer::NBeats(n) => n.init_params(params, rng),
        }
    }

    /// Length of the buffer the training forward fills for the backward (and blocks' scratch).
    pub fn aux_len(&self, batch: usize) -> usize {
        match self {
            Layer::Dense(d) => d.aux_len(batch),
            Layer::Dropout(d) => batch * d.features,
            Layer::LayerNorm(n) => n.aux_len(batch),
            Layer::BatchNorm(n) => n.aux_len(batch),
            Layer::Glu(g) => g.aux_len(batch),
            Layer::Kan(k) => k.aux_len(batch),
            Layer::SelectableKan(k) => k.aux_len(batch),
            Layer::TwoStream(t) => t.aux_len(batch),
            Layer::Embedding(_) => 0,
            Layer::Residual(r) => r.aux_len(batch),
            Layer::Recurrent(r) => r.aux_len(batch),
            Layer::Frets(f) => f.aux_len(batch),
            Layer::NBeats(n) => n.aux_len(batch),
        }
    }

    /// Training forward: saves what the backward needs into `aux`.
    pub fn forward_train<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        aux: &mut [T],
        rng: &mut Rng,
    ) {
        match self {
            Layer::Dense(d) => d.forward(params, input, batch, output, Some(aux)),
            Layer::Dropout(d) => d.forward_train(input, batch, output, aux, rng),
            Layer::LayerNorm(n) => n.forward(params, input, batch, output, Some(aux)),
            Layer::BatchNorm(n) => n.forward_train(params, input, batch, output, aux),
            Layer::Glu(g) => g.forward(params, input, batch, output, aux),
            Layer::Kan(k) => k.forward(params, input, batch, output, aux),
            Layer::SelectableKan(k) => k.forward(params, input, batch, output, aux),
            Layer::TwoStream(t) => t.forward_train(params, input, batch, output, aux, rng),
            Layer::Embedding(e) => e.forward(params, input, batch, output),
            Layer::Residual(r) => r.forward_train(params, input, batch, output, aux, rng),
            Layer::Recurrent(r) => r.forward_train(params, input, batch, output, aux, rng),
            Layer::Frets(f) => f.forward(params, input, batch, output, aux),
            Layer::NBeats(n) => n.forward(params, input, batch, output, aux, rng),
        }
    }

    /// Inference forward (saves nothing; blocks allocate their own scratch).
    pub fn forward_eval<T: Real>(&self, params: &[T], input: &[T], batch: usize, output: &mut [T]) {
        match self {
            Layer::Dense(d) => d.forward(params, input, batch, output, None),
            Layer::Dropout(d) => d.forward_eval(input, batch, output),
            Layer::LayerNorm(n) => n.forward(params, input, batch, output, None),
            Layer::BatchNorm(n) => n.forward_eval(params, input, batch, output),
            Layer::Glu(g) => {
                let mut work = vec![T::zero(); g.aux_len(batch)];
                g.forward(params, input, batch, output, &mut work)
            }
            Layer::Kan(k) => {
                let mut work = vec![T::zero(); k.aux_len(batch)];
                k.forward(params, input, batch, output, &mut work)
            }
            Layer::SelectableKan(k) => {
                let mut work = vec![T::zero(); k.aux_len(batch)];
                k.forward(params, input, batch, output, &mut work)
            }
            Layer::TwoStream(t) => t.forward_eval(params, input, batch, output),
            Layer::Embedding(e) => e.forward(params, input, batch, output),
            Layer::Residual(r) => r.forward_eval(params, input, batch, output),
            Layer::Recurrent(r) => r.forward_eval(params, input, batch, output),
            Layer::Frets(f) => f.forward_eval(params, input, batch, output),
            Layer::NBeats(n) => n.forward_eval(params, input, batch, output),
        }
    }

    /// Backward: consumes `d_output`, writes `d_input` (when asked) and accumulates `d_params`.
    /// `aux` is the buffer the matching training forward filled (blocks also use it as scratch).
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        output: &[T],
        aux: &mut [T],
        batch: usize,
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
        d_params: &mut [T],
    ) {
        match self {
            Layer::Dense(d) => d.backward(
                params, input, output, aux, batch, d_output, d_input, d_params,
            ),
            Layer::Dropout(d) => {
                if let Some(d_x) = d_input {
                    d.backward(aux, batch, d_output, d_x)
                }
            }
            Layer::LayerNorm(n) => n.backward(params, aux, batch, d_output, d_input, d_params),
            Layer::BatchNorm(n) => n.backward(params, aux, batch, d_output, d_input, d_params),
            Layer::Glu(g) => g.backward(params, input, aux, batch, d_output, d_input, d_params),
            Layer::Kan(k) => k.backward(params, input, aux, batch, d_output, d_input, d_params),
            Layer::SelectableKan(k) => {
                k.backward(params, input, aux, batch, d_output, d_input, d_params)
            }
            Layer::TwoStream(t) => {
                t.backward(params, input, aux, batch, d_output, d_input, d_params)
            }
            Layer::Embedding(e) => e.backward(params, input, batch, d_output, d_input, d_params),
            Layer::Residual(r) => {
                r.backward(params, input, aux, batch, d_output, d_input, d_params)
            }
            Layer::Recurrent(r) => r.backward(params, aux, batch, d_output, d_input, d_params),
            Layer::Frets(f) => f.backward(
                params, input, output, aux, batch, d_output, d_input, d_params,
            ),
            Layer::NBeats(n) => n.backward(params, aux, batch, d_output, d_input, d_params),
        }
    }

    /// After a training step: updates buffers that follow the data rather than the gradient
    /// (batch normalization's running statistics) from what the last training forward saved in
    /// `aux`. Blocks recurse into their inner layers (in forward order, every iteration).
    pub fn update_buffers(&self, params: &mut [f32], aux: &[f32], batch: usize) {
        match self {
            Layer::BatchNorm(n) => n.update_running(params, aux, batch),
            Layer::Residual(r) => r.branch.update_buffers(params, aux, batch),
            Layer::Recurrent(r) => r.update_buffers(params, aux, batch),
            Layer::Dense(_)
            | Layer::Dropout(_)
            | Layer::LayerNorm(_)
            | Layer::Glu(_)
            | Layer::Kan(_)
            | Layer::SelectableKan(_)
            | Layer::TwoStream(_)
            | Layer::Embedding(_)
            | Layer::Frets(_)
            | Layer::NBeats(_) => {}
        }
    }

    /// Switches this layer (and the layers inside it) to `mode` for gradient passes on a trained
    /// model: batch normalization uses its running statistics; dropout is kept only in
    /// [`GradMode::McDropout`].
    pub fn set_grad_mode(&mut self, mode: GradMode) {
        match self {
            Layer::BatchNorm(n) => n.use_running_stats = true,
            Layer::Dropout(d) => {
                if mode == GradMode::Eval {
                    d.p = 0.0;
                }
            }
            Layer::Residual(r) => r
                .branch
                .layers
                .iter_mut()
                .for_each(|l| l.set_grad_mode(mode)),
            Layer::Recurrent(r) => r
                .block
                .layers
                .iter_mut()
                .for_each(|l| l.set_grad_mode(mode)),
            Layer::TwoStream(t) => t
                .streams
                .iter_mut()
                .flat_map(|s| s.layers.iter_mut())
                .for_each(|l| l.set_grad_mode(mode)),
            Layer::Dense(_)
            | Layer::LayerNorm(_)
            | Layer::Glu(_)
            | Layer::Kan(_)
            | Layer::SelectableKan(_)
            | Layer::Embedding(_)
            // Forecasting layers hold no dropout or batch norm: nothing to switch.
            | Layer::Frets(_)
            | Layer::NBeats(_) => {}
        }
    }

    /// Whether this layer (or one inside it) keeps buffers updated by [`Layer::update_buffers`].
    pub fn has_buffers(&self) -> bool {
        match self {
            Layer::BatchNorm(_) => true,
            Layer::Residual(r) => r.branch.layers.iter().any(Layer::has_buffers),
            Layer::Recurrent(r) => r.block.layers.iter().any(Layer::has_buffers),
            Layer::Dense(_)
            | Layer::Dropout(_)
            | Layer::LayerNorm(_)
            | Layer::Glu(_)
            | Layer::Kan(_)
            | Layer::SelectableKan(_)
            | Layer::TwoStream(_)
            | Layer::Embedding(_)
            | Layer::Frets(_)
            | Layer::NBeats(_) => false,
        }
    }
}
