//! The architecture as data: a serde spec (JSON or TOML) that builds a [`Network`].
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
use crate::layers::{Dense, Dropout, Init, Layer};
use crate::network::Network;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
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
    },
    /// Inverted dropout with drop probability `p`.
    Dropout {
        /// Probability of zeroing each element, in `[0, 1)`.
        p: f32,
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
            layers.push(LayerSpec::Dense {
                units,
                activation,
                init: None,
                bias: true,
            });
            if dropout > 0.0 {
                layers.push(LayerSpec::Dropout { p: dropout });
            }
        }
        layers.push(LayerSpec::Dense {
            units: outputs,
            activation: Activation::Identity,
            init: None,
            bias: true,
        });
        ModelSpec { inputs, layers }
    }

    /// Output width of the network.
    pub fn outputs(&self) -> usize {
        let mut width = self.inputs;
        for l in &self.layers {
            if let LayerSpec::Dense { units, .. } = l {
                width = *units;
            }
        }
        width
    }

    /// Validates the spec and builds the layers (parameters drawn from `seed`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for zero widths, a dropout probability outside `[0, 1)`, or a
    /// spec with no dense layer.
    pub fn build(&self, seed: u64) -> Result<Network> {
        Network::new(self.clone(), self.layers()?, seed)
    }

    /// Validates the spec and returns its layers.
    pub fn layers(&self) -> Result<Vec<Layer>> {
        if self.inputs == 0 {
            return Err(Error::config(
                "inputs",
                "the network needs at least one input feature",
            ));
        }
        if !self
            .layers
            .iter()
            .any(|l| matches!(l, LayerSpec::Dense { .. }))
        {
            return Err(Error::config(
                "layers",
                "the network needs at least one dense layer",
            ));
        }
        let mut width = self.inputs;
        let mut layers = Vec::with_capacity(self.layers.len());
        for (i, spec) in self.layers.iter().enumerate() {
            match *spec {
                LayerSpec::Dense {
                    units,
                    activation,
                    init,
                    bias,
                } => {
                    if units == 0 {
                        return Err(Error::config(
                            format!("layers[{i}].units"),
                            "a dense layer needs at least one unit",
                        ));
                    }
                    layers.push(Layer::Dense(Dense {
                        in_features: width,
                        out_features: units,
                        activation,
                        bias,
                        init: init.unwrap_or_else(|| Init::default_for(activation)),
                    }));
                    width = units;
                }
                LayerSpec::Dropout { p } => {
                    if !(0.0..1.0).contains(&p) {
                        return Err(Error::config(
                            format!("layers[{i}].p"),
                            format!("dropout probability must be in [0, 1), got {p}"),
                        ));
                    }
                    layers.push(Layer::Dropout(Dropout { features: width, p }));
                }
            }
        }
        Ok(layers)
    }
}
