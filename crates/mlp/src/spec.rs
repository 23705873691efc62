//! The architecture as data: a serde spec (JSON or TOML) that builds a
//! [`Network`](crate::network::Network) (`ModelSpec::build` lives in `network.rs`, so this module
//! depends on the layers only).
//!
//! ```
//! use mlp::spec::ModelSpec;
//! let spec: ModelSpec = serde_json::from_str(r#"{
//!   "inputs": 4,
//!   "layers": [
//!     {"type": "dense", "units": 16, "activation": "relu"},
//!     {"type": "dropout", "p": 0.1},
//!     {"type": "dense", "units": 3}
//!   ]
//! }"#).unwrap();
//! let net = spec.build(0).unwrap();
//! assert_eq!(net.n_params(), 4 * 16 + 16 + 16 * 3 + 3);
//! ```

use crate::kernels::elementwise::Activation;
use crate::layers::{Chain, Init, Integrator, KanBasis, Layer};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn d_eps() -> f32 {
    1e-5
}

fn d_kan_basis() -> KanBasis {
    KanBasis::Bspline {
        grid: 5,
        order: 3,
        low: -2.0,
        high: 2.0,
    }
}

fn d_skan_bases() -> Vec<KanBasis> {
    vec![
        d_kan_basis(),
        KanBasis::Chebyshev { degree: 4 },
        KanBasis::Fourier { frequencies: 3 },
        KanBasis::Rbf {
            centers: 6,
            low: -2.0,
            high: 2.0,
        },
    ]
}

fn d_heads() -> usize {
    1
}

fn d_momentum() -> f32 {
    0.1
}

fn d_gate() -> Activation {
    Activation::Sigmoid
}

fn d_dt() -> f32 {
    1.0
}

fn d_embed_dim() -> usize {
    32
}

fn d_frets_hidden() -> usize {
    256
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One layer of the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// A dense layer `act(x W^T + b)`.
    Dense {
        /// Output width.
        units: usize,
        /// Fused activation (default identity).
        #[serde(default)]
        activation: Activation,
        /// Initializer (default: Xavier uniform, as scikit-learn and Keras).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        init: Option<Init>,
        /// Whether to add a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// Whether the optimizer updates the layer (default true; false keeps it at its random
        /// initialization, e.g. the fixed lift of an hourglass network).
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        trainable: bool,
    },
    /// Inverted dropout with drop probability `p`.
    Dropout {
        /// Probability of zeroing each element, in `[0, 1)`.
        p: f32,
    },
    /// Layer normalization with learnable gain and shift.
    LayerNorm {
        /// Added to the variance (default 1e-5).
        #[serde(default = "d_eps")]
        eps: f32,
    },
    /// Batch normalization with running statistics (PyTorch's `BatchNorm1d`).
    BatchNorm {
        /// Added to the variance (default 1e-5).
        #[serde(default = "d_eps")]
        eps: f32,
        /// Weight of each new batch in the running statistics (default 0.1).
        #[serde(default = "d_momentum")]
        momentum: f32,
    },
    /// Gated linear unit: `W3 (gate(W1 x) * W2 x)`; gate sigmoid = GLU, relu = ReGLU,
    /// gelu = GEGLU, silu = SwiGLU.
    Glu {
        /// Width of the gated product.
        hidden: usize,
        /// Output width.
        units: usize,
        /// Gate activation (default sigmoid).
        #[serde(default = "d_gate")]
        gate: Activation,
        /// Initializer (default Xavier uniform).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        init: Option<Init>,
    },
    /// Kolmogorov-Arnold layer: each edge a learnable univariate function in the given basis
    /// (plus a `silu` base term unless `base` is false).
    Kan {
        /// Output width.
        units: usize,
        /// The basis (default: cubic B-splines, 5 intervals over [-2, 2]).
        #[serde(default = "d_kan_basis")]
        basis: KanBasis,
        /// Whether each edge has the `silu` base term (default true).
        #[serde(default = "yes")]
        base: bool,
        /// Before training, move a B-spline or RBF grid to the range of this layer's inputs on
        /// the training data (5% margin); the fitted range is what the saved spec records.
        #[serde(default, skip_serializing_if = "is_false")]
        grid_from_data: bool,
    },
    /// Selectable KAN: each output node mixes the given basis families with learned softmax
    /// weights (plus the `silu` base term).
    SelectableKan {
        /// Output width.
        units: usize,
        /// Candidate bases (default: B-spline, Chebyshev, Fourier, RBF).
        #[serde(default = "d_skan_bases")]
        bases: Vec<KanBasis>,
    },
    /// FinalMLP: two MLP streams, each behind a feature gate `2 sigmoid(W x + b)`, fused by
    /// multi-head bilinear fusion into `units` outputs.
    FinalMlp {
        /// Output width of the fusion.
        units: usize,
        /// Fusion heads (each stream's output width must be divisible by it; default 1).
        #[serde(default = "d_heads")]
        heads: usize,
        /// The first stream's layers.
        stream1: Vec<LayerSpec>,
        /// The second stream's layers.
        stream2: Vec<LayerSpec>,
        /// Feature gate on the first stream (default true).
        #[serde(default = "yes")]
        gate1: bool,
        /// Feature gate on the second stream (default true).
        #[serde(default = "yes")]
        gate2: bool,
    },
    /// Per-field embeddings: each field (a categorical column's one-hot block, or one numeric
    /// feature) maps to its own `dim`-vector; the fields' widths must add up to the input width.
    Embedding {
        /// Input width of each field, in order.
        fields: Vec<usize>,
        /// Embedding size per field.
        dim: usize,
    },
    /// Residual block `x + F(x)`, `F` the inner layers (which must return to the input width).
    Residual {
        /// The residual branch.
        layers: Vec<LayerSpec>,
    },
    /// SCORE recurrent depth: the inner block `F` (width-preserving, weights shared) applied
    /// `steps` times as `h <- (1 - dt) h + dt F(h)`.
    Recurrent {
        /// The shared block.
        layers: Vec<LayerSpec>,
        /// Number of applications `T` (at least 1).
        steps: usize,
        /// Step size in `(0, 1]` (default 1: plain weight-tied recurrence).
        #[serde(default = "d_dt")]
        dt: f32,
        /// Integration rule: `euler` (default) or `rk2`.
        #[serde(default)]
        integrator: Integrator,
    },
    /// FreTS forecaster (frequency-domain MLPs). Its input must be laid out as
    /// [`crate::architectures::SequenceLayout`] says (width `channels * window + exog`); it
    /// outputs `channels * horizon` values.
    Frets {
        /// Number of series.
        channels: usize,
        /// Past values per series.
        window: usize,
        /// Exogenous features after the windows (default 0).
        #[serde(default, skip_serializing_if = "is_zero")]
        exog: usize,
        /// Future values per series.
        horizon: usize,
        /// Embedding size `D` (default 32).
        #[serde(default = "d_embed_dim")]
        embed_dim: usize,
        /// Width of the head's hidden layer (default 256).
        #[serde(default = "d_frets_hidden")]
        hidden: usize,
        /// Run the channel learner (a frequency MLP across the series) before the temporal one
        /// (default false).
        #[serde(default, skip_serializing_if = "is_false")]
        channel_learner: bool,
    },
    /// A dense layer trained quantization-aware (`mlp train --qat-bits`, see
    /// [`crate::quant::qat`]): its input and weights are fake-quantized with learned scales
    /// (straight-through estimator), so the trained model runs on integers.
    QatDense {
        /// Output width.
        units: usize,
        /// Fused activation (default identity).
        #[serde(default)]
        activation: Activation,
        /// Weight bits, 1..=8 (1: binary `sign * scale`).
        bits: u8,
        /// Bits of the layer's input, 1..=8.
        input_bits: u8,
        /// Whether the input can be negative (signed grid) or not (unsigned, after ReLU-like
        /// activations).
        input_signed: bool,
        /// Initializer (default: as for `dense`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        init: Option<Init>,
        /// Whether to add a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Generic N-BEATS forecaster: `blocks` blocks of `layers` ReLU layers of `units`, each with
    /// linear backcast and forecast heads (input laid out as for `frets`).
    #[serde(rename = "nbeats", alias = "n_beats")]
    NBeats {
        /// Number of series.
        channels: usize,
        /// Past values per series.
        window: usize,
        /// Exogenous features after the windows (default 0).
        #[serde(default, skip_serializing_if = "is_zero")]
        exog: usize,
        /// Future values per series.
        horizon: usize,
        /// Number of blocks.
        blocks: usize,
        /// Fully connected layers per block.
        layers: usize,
        /// Width of those layers.
        units: usize,
    },
    /// Gaussian radial-basis layer: one output `exp(-|x - c_k|^2 / 2 s_k^2)` per centre
    /// (`mlp train --arch rbf` places the centres by k-means and ridge-solves the next layer).
    Rbf {
        /// Number of centres (the output width).
        centers: usize,
    },
    /// General regression neural network (Specht): kernel regression over `samples` stored
    /// training rows and their targets, bandwidth `sigma`, all frozen tensors
    /// (`mlp train --arch grnn` fits them).
    Grnn {
        /// Stored training samples.
        samples: usize,
        /// Output width (targets per sample; one-hot classes for classification).
        outputs: usize,
        /// Return `ln(p + 1e-9)` (classification logits) instead of the kernel average.
        #[serde(default, skip_serializing_if = "is_false")]
        log_output: bool,
    },
    /// Cascade-correlation block: `hidden` tanh units, each fed by the inputs and all earlier
    /// units, and a linear output layer over all of them (`mlp train --arch cascade` grows it).
    Cascade {
        /// Installed hidden units.
        hidden: usize,
        /// Output width.
        outputs: usize,
        /// Whether the hidden units are frozen (default true, as cascade-correlation installs
        /// them).
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        frozen: bool,
    },
}

/// A whole network: input width and the layer stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Input width (number of features after preprocessing).
    pub inputs: usize,
    /// Layers, first to last. The last dense layer produces the logits / outputs.
    pub layers: Vec<LayerSpec>,
}

impl ModelSpec {
    /// The classic MLP: dense hidden layers with one activation, optional dropout after each,
    /// and a linear output layer.
    pub fn mlp(
        inputs: usize,
        hidden: &[usize],
        outputs: usize,
        activation: Activation,
        dropout: f32,
    ) -> Self {
        let mut layers = Vec::new();
        for &units in hidden {
            layers.push(LayerSpec::dense(units, activation));
            if dropout > 0.0 {
                layers.push(LayerSpec::Dropout { p: dropout });
            }
        }
        layers.push(LayerSpec::dense(outputs, Activation::Identity));
        ModelSpec { inputs, layers }
    }

    /// Output width of the network (the input width when the spec is invalid or empty).
    pub fn outputs(&self) -> usize {
        width_after(&self.layers, self.inputs)
    }

    /// Validates the spec and returns its layers.
    pub fn layers(&self) -> Result<Vec<Layer>> {
        if self.inputs == 0 {
            return Err(Error::config(
                "inputs",
                "the network needs at least one input feature",
            ));
        }
        check_sizes(&self.layers, self.inputs, "layers")?;
        let layers = build_layers(&self.layers, self.inputs, "layers")?.0;
        let mut total = 0usize;
        for (i, layer) in layers.iter().enumerate() {
            for (name, shape, _) in layer.param_shapes() {
                let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                total = n
                    .and_then(|n| total.checked_add(n))
                    .filter(|&t| t <= MAX_PARAMS)
                    .ok_or_else(|| {
                        Error::config(
                            format!("layers[{i}]"),
                            format!(
                                "tensor '{name}' of shape {shape:?} takes the network past {MAX_PARAMS} parameters"
                            ),
                        )
                    })?;
            }
        }
        if layers.iter().all(|l| l.n_params() == 0) {
            return Err(Error::config(
                "layers",
                "the network needs at least one layer with parameters",
            ));
        }
        Ok(layers)
    }
}

impl LayerSpec {
    /// A trainable dense layer with bias and the default initializer.
    pub fn dense(units: usize, activation: Activation) -> Self {
        LayerSpec::Dense {
            units,
            activation,
            init: None,
            bias: true,
            trainable: true,
        }
    }
}

/// Largest width a layer (or the input) may have: 2^26 features. Far above any real MLP, far
/// below what overflows the buffer arithmetic (`batch * width * steps`); a spec beyond it is
/// corrupt or hostile (e.g. a model file whose `units` was edited), and is refused before
/// anything is allocated.
pub const MAX_WIDTH: usize = 1 << 26;

/// Largest number of parameters a spec may describe (2^32 - 1 floats, 16 GiB).
pub const MAX_PARAMS: usize = u32::MAX as usize;

/// Largest count for sizes that multiply the work and the saved state rather than the widths
/// (recurrent steps, N-BEATS blocks and depth, basis functions per KAN edge).
pub const MAX_REPEAT: usize = 1 << 20;

/// How a block kind is validated and built from its [`LayerSpec`] variant. Each kind implements
/// it in its own file, next to its [`Block`](crate::layers::Block) impl; the one match over
/// [`LayerSpec`] that picks the implementation is generated from the `blocks!` table in
/// `layers/mod.rs`, so this module holds no per-kind code.
pub(crate) trait FromSpec: Sized {
    /// Checks every size of the variant against [`MAX_WIDTH`] / [`MAX_REPEAT`] with checked
    /// arithmetic (inner layer lists through [`check_sizes`]); returns the output width. Runs
    /// before anything is built, so a hostile size is an error rather than an allocation failure.
    fn check_sizes(spec: &LayerSpec, width: usize, here: &str) -> Result<usize>;

    /// Output width after the variant, given its input width (saturating; never fails).
    fn width_after(spec: &LayerSpec, width: usize) -> usize;

    /// Validates the variant's values and builds the block; `here` names it in errors.
    fn build(spec: &LayerSpec, width: usize, here: &str) -> Result<Self>;
}

/// The error for a [`FromSpec`] impl handed another kind's variant: the generated dispatch in
/// `layers/mod.rs` never does that, but a wrong table line should be an error, not a panic.
pub(crate) fn mismatch(here: &str, kind: &str) -> Error {
    Error::config(here, format!("internal: not a {kind} spec"))
}

/// `v` if it is known (no overflow) and at most `max`; else an error naming `here.field`.
pub(crate) fn limit(here: &str, field: &str, v: Option<usize>, max: usize) -> Result<usize> {
    match v {
        Some(v) if v <= max => Ok(v),
        Some(v) => Err(Error::config(
            format!("{here}.{field}"),
            format!("{v} is beyond the limit of {max}"),
        )),
        None => Err(Error::config(
            format!("{here}.{field}"),
            "the size overflows".to_string(),
        )),
    }
}

/// Size check shared by the forecasting layers: the window block they read and the output
/// width `channels * horizon`, which is returned.
pub(crate) fn layout_width(
    here: &str,
    channels: usize,
    window: usize,
    exog: usize,
    horizon: usize,
) -> Result<usize> {
    let read = channels
        .checked_mul(window)
        .and_then(|n| n.checked_add(exog));
    limit(here, "window", read, MAX_WIDTH)?;
    limit(here, "horizon", channels.checked_mul(horizon), MAX_WIDTH)
}

/// Checks every size in `specs` against [`MAX_WIDTH`] and [`MAX_REPEAT`] with checked
/// arithmetic, starting at `width`; returns the output width. Runs before any layer is built, so
/// a hostile size is an error rather than an allocation failure.
pub(crate) fn check_sizes(specs: &[LayerSpec], mut width: usize, path: &str) -> Result<usize> {
    limit(path, "width", Some(width), MAX_WIDTH)?;
    for (i, spec) in specs.iter().enumerate() {
        width = crate::layers::check_spec(spec, width, &format!("{path}[{i}]"))?;
    }
    Ok(width)
}

/// Width after a stack of layer specs, starting from `width`.
fn width_after(specs: &[LayerSpec], width: usize) -> usize {
    specs
        .iter()
        .fold(width, |w, spec| crate::layers::spec_width(spec, w))
}

/// Checks a forecasting layer's layout against the width it receives.
pub(crate) fn check_layout(
    here: &str,
    kind: &str,
    width: usize,
    (channels, window, exog, horizon): (usize, usize, usize, usize),
) -> Result<()> {
    if channels == 0 || window == 0 || horizon == 0 {
        return Err(Error::config(
            here,
            format!("{kind} needs channels, window and horizon of at least 1"),
        ));
    }
    let want = channels
        .checked_mul(window)
        .and_then(|n| n.checked_add(exog));
    if want != Some(width) {
        return Err(Error::config(
            here,
            format!(
                "{kind} reads channels * window + exog = {channels} * {window} + {exog} inputs, but its input width is {width}"
            ),
        ));
    }
    Ok(())
}

/// Builds layers from specs starting at width `width`; `path` names the list in errors.
pub(crate) fn build_layers(
    specs: &[LayerSpec],
    mut width: usize,
    path: &str,
) -> Result<(Vec<Layer>, usize)> {
    let mut layers = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let layer = crate::layers::build_spec(spec, width, &format!("{path}[{i}]"))?;
        width = layer.out_features();
        layers.push(layer);
    }
    Ok((layers, width))
}

/// A width-preserving inner chain for residual and recurrent blocks.
pub(crate) fn build_block(specs: &[LayerSpec], width: usize, path: &str) -> Result<Chain> {
    if specs.is_empty() {
        return Err(Error::config(path, "a block needs at least one layer"));
    }
    let (inner, out) = build_layers(specs, width, path)?;
    if out != width {
        return Err(Error::config(
            path,
            format!(
                "the block maps width {width} to {out}; it must return to {width} (end with units = {width})"
            ),
        ));
    }
    Ok(Chain { layers: inner })
}
