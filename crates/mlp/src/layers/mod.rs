//! Layers: each knows its forward and backward, and its parameters' names and shapes.
//!
//! Parameters never live inside a layer: every layer reads its slice of the network's one flat
//! parameter buffer and accumulates into the matching slice of the flat gradient buffer, so an
//! optimizer step is a single pass over contiguous memory.

pub mod dense;
pub mod dropout;
pub mod init;

pub use dense::Dense;
pub use dropout::Dropout;
pub use init::Init;

use crate::kernels::Real;
use crate::rng::Rng;

/// What a parameter tensor is, which decides how optimizers treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// A weight matrix: subject to weight decay.
    Weight,
    /// A bias vector: not decayed (as in scikit-learn's `alpha`, which penalizes weights only).
    Bias,
}

/// One layer of a network (a closed set: every kind is gradient-checked in `tests`).
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// Fully connected layer with fused activation.
    Dense(Dense),
    /// Inverted dropout.
    Dropout(Dropout),
}

impl Layer {
    /// Input width.
    pub fn in_features(&self) -> usize {
        match self {
            Layer::Dense(d) => d.in_features,
            Layer::Dropout(d) => d.features,
        }
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        match self {
            Layer::Dense(d) => d.out_features,
            Layer::Dropout(d) => d.features,
        }
    }

    /// Number of parameters.
    pub fn n_params(&self) -> usize {
        match self {
            Layer::Dense(d) => d.n_params(),
            Layer::Dropout(_) => 0,
        }
    }

    /// Short name of the layer kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Dense(_) => "dense",
            Layer::Dropout(_) => "dropout",
        }
    }

    /// Named parameter tensors in buffer order: (suffix, shape, kind).
    pub fn param_shapes(&self) -> Vec<(&'static str, Vec<usize>, ParamKind)> {
        match self {
            Layer::Dense(d) => d.param_shapes(),
            Layer::Dropout(_) => Vec::new(),
        }
    }

    /// Initializes this layer's parameter slice.
    pub fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        if let Layer::Dense(d) = self {
            d.init_params(params, rng)
        }
    }

    /// Length of the auxiliary buffer the training forward saves for the backward.
    pub fn aux_len(&self, batch: usize) -> usize {
        match self {
            Layer::Dense(d) => d.aux_len(batch),
            Layer::Dropout(d) => batch * d.features,
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
        }
    }

    /// Inference forward: saves nothing.
    pub fn forward_eval<T: Real>(&self, params: &[T], input: &[T], batch: usize, output: &mut [T]) {
        match self {
            Layer::Dense(d) => d.forward(params, input, batch, output, None),
            Layer::Dropout(d) => d.forward_eval(input, batch, output),
        }
    }

    /// Backward: consumes `d_output`, writes `d_input` (when asked) and accumulates `d_params`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        output: &[T],
        aux: &[T],
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
        }
    }
}
