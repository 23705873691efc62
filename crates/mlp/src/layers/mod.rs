//! Layers and blocks: each knows its forward and backward, and its parameters' names and shapes.
//!
//! Parameters never live inside a layer: every layer reads its slice of the network's one flat
//! parameter buffer and accumulates into the matching slice of the flat gradient buffer, so an
//! optimizer step is a single pass over contiguous memory. Blocks ([`Residual`], [`Recurrent`])
//! hold a [`Chain`] of inner layers whose slices are concatenated inside the block's slice.

pub mod batch_norm;
pub mod block;
pub mod cascade;
pub mod chain;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod frets;
pub mod glu;
pub mod grnn;
pub mod init;
pub mod kan;
pub mod kan_grid;
pub mod layer_norm;
pub mod nbeats;
pub mod qat_dense;
pub mod rbf;
pub mod recurrent;
pub mod selectable_kan;
pub mod two_stream;

pub use batch_norm::BatchNorm;
pub use block::{Block, Cx, ParamShape, unsupported};
pub use cascade::Cascade;
pub use chain::{Chain, Residual};
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::FieldEmbedding;
pub use frets::Frets;
pub use glu::Glu;
pub use grnn::Grnn;
pub use init::Init;
pub use kan::{Kan, KanBasis};
pub use layer_norm::LayerNorm;
pub use nbeats::{NBeats, NBeatsBlock};
pub use qat_dense::QatDense;
pub use rbf::Rbf;
pub use recurrent::{Integrator, Recurrent};
pub use selectable_kan::SelectableKan;
pub use two_stream::TwoStream;

use crate::kernels::Real;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec};
use crate::verify::Bounds;
use crate::verify::crown::CrownStack;

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

/// The one list of block kinds: variant, type, and the spec's `type` name. Everything that must
/// know every kind (the [`Layer`] enum, its dispatch, [`KINDS`], and through it the
/// gradient-check registry and `mlp info`, and the match from a
/// [`LayerSpec`] variant (`from ...`) to its kind's [`FromSpec`] impl) is generated from this
/// table, so a new kind is one line here, its spec variant, and its own file.
macro_rules! blocks {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = $kind:literal from $spec:ident, )*) => {
        /// One layer or block of a network: a closed set of kinds, each implementing [`Block`]
        /// in its own file; every method below dispatches through that trait.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Layer {
            $( $(#[$doc])* $variant($ty), )*
        }

        /// Every block kind's name (the spec's `type`), in the table's order.
        pub const KINDS: &[&str] = &[$($kind),*];

        /// Checks the sizes of one layer spec (its kind's [`FromSpec::check_sizes`]).
        pub(crate) fn check_spec(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<usize> {
            match spec {
                $( LayerSpec::$spec { .. } => <$ty as FromSpec>::check_sizes(spec, width, here), )*
            }
        }

        /// Output width after one layer spec (its kind's [`FromSpec::width_after`]).
        pub(crate) fn spec_width(spec: &LayerSpec, width: usize) -> usize {
            match spec {
                $( LayerSpec::$spec { .. } => <$ty as FromSpec>::width_after(spec, width), )*
            }
        }

        /// Validates and builds one layer spec (its kind's [`FromSpec::build`]).
        pub(crate) fn build_spec(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Layer> {
            match spec {
                $( LayerSpec::$spec { .. } => <$ty as FromSpec>::build(spec, width, here).map(Layer::$variant), )*
            }
        }

        /// Calls `$call` on the block inside a [`Layer`], whatever its kind.
        macro_rules! dispatch {
            ($self:expr, $b:ident => $call:expr) => {
                match $self {
                    $( Layer::$variant($b) => $call, )*
                }
            };
        }
    };
}

blocks! {
    /// Fully connected layer with fused activation.
    Dense(Dense) = "dense" from Dense,
    /// Inverted dropout.
    Dropout(Dropout) = "dropout" from Dropout,
    /// Layer normalization.
    LayerNorm(LayerNorm) = "layer_norm" from LayerNorm,
    /// Batch normalization (running statistics; train and eval modes differ).
    BatchNorm(BatchNorm) = "batch_norm" from BatchNorm,
    /// Gated linear unit (GLU, ReGLU, GEGLU, SwiGLU).
    Glu(Glu) = "glu" from Glu,
    /// Kolmogorov-Arnold layer (learnable univariate edge functions).
    Kan(Kan) = "kan" from Kan,
    /// Selectable KAN: a softmax mixture of basis families per output node.
    SelectableKan(SelectableKan) = "selectable_kan" from SelectableKan,
    /// FinalMLP: two gated MLP streams fused bilinearly.
    TwoStream(TwoStream) = "final_mlp" from FinalMlp,
    /// Per-field embedding tables (categorical one-hot blocks and numeric features).
    Embedding(FieldEmbedding) = "embedding" from Embedding,
    /// `x + F(x)`.
    Residual(Residual) = "residual" from Residual,
    /// SCORE recurrent depth: `h <- (1 - dt) h + dt F(h)`, `steps` times, `F` shared.
    Recurrent(Recurrent) = "recurrent" from Recurrent,
    /// FreTS forecaster: frequency-domain MLPs over the embedded windows, shared linear head.
    Frets(Frets) = "frets" from Frets,
    /// Generic N-BEATS forecaster: residual stack of backcast/forecast blocks.
    NBeats(NBeats) = "nbeats" from NBeats,
    /// Quantization-aware dense layer (fake-quantized input and weights, learned scales).
    QatDense(QatDense) = "qat_dense" from QatDense,
    /// Gaussian radial-basis layer (centres and widths).
    Rbf(Rbf) = "rbf" from Rbf,
    /// GRNN: Gaussian kernel regression over stored training samples (frozen).
    Grnn(Grnn) = "grnn" from Grnn,
    /// Cascade-correlation: hidden units each fed by the inputs and all earlier units.
    Cascade(Cascade) = "cascade" from Cascade,
}

impl Layer {
    /// Input width.
    pub fn in_features(&self) -> usize {
        dispatch!(self, b => Block::in_features(b))
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        dispatch!(self, b => Block::out_features(b))
    }

    /// Number of parameters (frozen ones included).
    pub fn n_params(&self) -> usize {
        dispatch!(self, b => Block::n_params(b))
    }

    /// Short name of the layer kind (one of [`KINDS`]).
    pub fn kind(&self) -> &'static str {
        dispatch!(self, b => Block::kind(b))
    }

    /// Named parameter tensors in buffer order: (name, shape, kind). Blocks name their inner
    /// tensors `block.{j}.{name}`.
    pub fn param_shapes(&self) -> Vec<ParamShape> {
        dispatch!(self, b => Block::param_shapes(b))
    }

    /// Initializes this layer's parameter slice.
    pub fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        dispatch!(self, b => Block::init_params(b, params, rng))
    }

    /// Length of the buffer the training forward fills for the backward (and blocks' scratch).
    pub fn aux_len(&self, batch: usize) -> usize {
        dispatch!(self, b => Block::aux_len(b, batch))
    }

    /// Training forward: saves what the backward needs into `cx.aux`.
    pub fn forward_train<T: Real>(&self, cx: &mut Cx<'_, T>, input: &[T], output: &mut [T]) {
        dispatch!(self, b => Block::forward(b, cx, input, output))
    }

    /// Length of the scratch [`Layer::forward_eval`] needs for `batch` rows.
    pub fn infer_len(&self, batch: usize) -> usize {
        dispatch!(self, b => Block::infer_len(b, batch))
    }

    /// Inference forward (saves nothing); `scratch` holds at least [`Layer::infer_len`]
    /// elements (see [`Block::infer`]).
    pub fn forward_eval<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        scratch: &mut [T],
    ) {
        dispatch!(self, b => Block::infer(b, params, input, batch, output, scratch))
    }

    /// Backward: consumes `d_output`, writes `d_input` (when asked) and accumulates
    /// `cx.d_params`. `cx.aux` is the buffer the matching training forward filled.
    pub fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        input: &[T],
        output: &[T],
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
    ) {
        dispatch!(self, b => Block::backward(b, cx, input, output, d_output, d_input))
    }

    /// After a training step: updates buffers that follow the data rather than the gradient
    /// (batch normalization's running statistics) from what the last training forward saved in
    /// `aux`. Blocks recurse into their inner layers (in forward order, every iteration).
    pub fn update_buffers(&self, params: &mut [f32], aux: &[f32], batch: usize) {
        dispatch!(self, b => Block::update_buffers(b, params, aux, batch))
    }

    /// Switches this layer (and the layers inside it) to `mode` for gradient passes on a trained
    /// model: batch normalization uses its running statistics; dropout is kept only in
    /// [`GradMode::McDropout`].
    pub fn set_grad_mode(&mut self, mode: GradMode) {
        dispatch!(self, b => Block::set_grad_mode(b, mode))
    }

    /// Whether this layer (or one inside it) keeps buffers updated by [`Layer::update_buffers`].
    pub fn has_buffers(&self) -> bool {
        dispatch!(self, b => Block::has_buffers(b))
    }

    /// The `mlp info` line of this layer (see [`Block::describe`]).
    pub fn describe(&self) -> String {
        dispatch!(self, b => Block::describe(b))
    }

    /// Inner layers with their relative names (see [`Block::children`]).
    pub fn children(&self) -> Vec<(String, &Layer)> {
        dispatch!(self, b => Block::children(b))
    }

    /// Interval bounds through this layer (see [`Block::interval`]).
    pub fn interval(&self, params: &[f64], x: &Bounds) -> crate::Result<Bounds> {
        dispatch!(self, b => Block::interval(b, params, x))
    }

    /// This layer's CROWN relaxation (see [`Block::crown`]).
    pub fn crown(&self, params: &[f64], stack: &mut CrownStack) -> crate::Result<()> {
        dispatch!(self, b => Block::crown(b, params, stack))
    }
}
