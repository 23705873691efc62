//! Named architectures from the MLP literature, as layer specs (the hidden stack; the caller
//! appends the output layer). Each is plain [`LayerSpec`] data, so a spec file can reproduce or
//! modify any of them.
//!
//! | name | stack |
//! |---|---|
//! | `mlp` | `dense(w_i, act)` for each width, optional dropout after each |
//! | `resmlp` | `dense(w)`, then `depth` x `x + W2 act(W1 LN(x))` (hidden `expansion * w`), then `LN` ("Scaling MLPs", 2023) |
//! | `hourglass` | frozen random lift `x -> w` (no bias), then `depth` x `z + W_up act(W_down LN(z))` through a `bottleneck` ("Rethinking the shape convention of an MLP", 2025) |
//! | `score` | `dense(w, act)`, then one shared block `F = [LN, dense(expansion * w, act), dense(w)]` applied `steps` times as `h <- (1 - dt) h + dt F(h)` (SCORE, 2026) |
//! | `kan` | one Kolmogorov-Arnold layer per width (basis: B-spline, Chebyshev, Fourier or RBF) |
//! | `finalmlp` | two feature-gated streams (`depth` dense layers of `w` and `w/2`) fused bilinearly into `w` (FinalMLP, 2023) |
//! | `glu` | `dense(w)`, then `depth` x `x + GLU(LN(x))` with hidden `expansion * w`; the gate is the activation (sigmoid: GLU, relu: ReGLU, gelu: GEGLU, silu: SwiGLU) |
//! | `frets` | forecasting only: one FreTS layer (embedding `embed_dim`, optional channel learner, temporal frequency MLP, head hidden `w`) (FreTS, 2023) |
//! | `nbeats` | forecasting only: one generic N-BEATS layer, `depth` blocks of `len(widths)` ReLU layers of `w` (N-BEATS, 2020) |
//! | `rbf` | one Gaussian RBF layer of `centers` units (the caller's linear output layer makes it an RBF network; [`crate::classical::rbf::fit`] places centres and solves the output layer) |
//! | `grnn`, `cascade` | fitted or grown from the data, not stacked: [`crate::classical::grnn::fit`], [`crate::classical::cascade::grow`] |
//!
//! `frets` and `nbeats` read rows laid out as a [`SequenceLayout`], so they have no hidden stack:
//! build them with [`ArchConfig::forecaster_spec`].
//!
//! ```
//! use mlp::architectures::{Arch, ArchConfig};
//! let cfg = ArchConfig { arch: Arch::ResMlp, widths: vec![64], depth: 2, ..ArchConfig::default() };
//! let mut layers = cfg.hidden_stack().unwrap();
//! layers.push(mlp::spec::LayerSpec::dense(10, mlp::Activation::Identity));
//! let net = mlp::spec::ModelSpec { inputs: 784, layers }.build(0).unwrap();
//! // embed 784*64+64, 2 blocks of (LN 128 + 64*256+256 + 256*64+64), final LN 128, head 64*10+10
//! assert_eq!(net.n_params(), 50240 + 2 * (128 + 16640 + 16448) + 128 + 650);
//! ```

use crate::kernels::elementwise::Activation;
use crate::layers::Init;
use crate::spec::LayerSpec;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// A named architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// Plain stack of dense layers.
    #[default]
    Mlp,
    /// Pre-norm inverted-bottleneck residual MLP.
    ResMlp,
    /// Wide-narrow-wide residual blocks after a fixed random lift.
    Hourglass,
    /// Contractive recurrent depth with one shared block.
    Score,
    /// Residual GLU blocks.
    Glu,
    /// Kolmogorov-Arnold layers (one per width) in the configured basis.
    Kan,
    /// FinalMLP: two gated streams of `depth` dense layers, bilinear fusion to the width.
    FinalMlp,
    /// FreTS frequency-domain MLP forecaster (forecasting layouts only).
    Frets,
    /// Generic N-BEATS forecaster (forecasting layouts only).
    #[serde(rename = "nbeats", alias = "n_beats")]
    NBeats,
    /// RBF network: a Gaussian RBF layer (k-means centres) before the linear output layer.
    Rbf,
    /// GRNN: kernel regression over the stored training set (fitted, not trained).
    Grnn,
    /// Cascade-correlation: hidden units grown one at a time.
    Cascade,
}

impl Arch {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Mlp => "mlp",
            Arch::ResMlp => "resmlp",
            Arch::Hourglass => "hourglass",
            Arch::Score => "score",
            Arch::Glu => "glu",
            Arch::Kan => "kan",
            Arch::FinalMlp => "finalmlp",
            Arch::Frets => "frets",
            Arch::NBeats => "nbeats",
            Arch::Rbf => "rbf",
            Arch::Grnn => "grnn",
            Arch::Cascade => "cascade",
        }
    }

    /// Whether the architecture reads forecasting rows only ([`ArchConfig::forecaster_spec`]).
    pub fn is_forecast_only(self) -> bool {
        matches!(self, Arch::Frets | Arch::NBeats)
    }
}

impl std::str::FromStr for Arch {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "mlp" => Arch::Mlp,
                "resmlp" | "res_mlp" | "residual" => Arch::ResMlp,
                "hourglass" => Arch::Hourglass,
                "score" => Arch::Score,
                "glu" => Arch::Glu,
                "kan" => Arch::Kan,
                "finalmlp" | "final_mlp" => Arch::FinalMlp,
                "frets" => Arch::Frets,
                "nbeats" | "n_beats" => Arch::NBeats,
                "rbf" => Arch::Rbf,
                "grnn" => Arch::Grnn,
                "cascade" | "cascor" | "cascade_correlation" => Arch::Cascade,
                other => {
                    return Err(Error::config(
                        "arch",
                        format!(
                            "unknown '{other}'; one of mlp, resmlp, hourglass, score, glu, kan, finalmlp, frets, nbeats, rbf, grnn, cascade"
                        ),
                    ));
                }
            },
        )
    }
}

/// The knobs of the named architectures.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchConfig {
    /// Which architecture.
    pub arch: Arch,
    /// Hidden widths (`mlp`: every layer; the others use the first as the block width; `frets`:
    /// the first is the head's hidden width; `nbeats`: one layer per width, all equal).
    pub widths: Vec<usize>,
    /// Number of blocks (`resmlp`, `hourglass`, `glu`, `nbeats`).
    pub depth: usize,
    /// Hidden expansion factor inside blocks (`resmlp`, `score`, `glu`).
    pub expansion: usize,
    /// Bottleneck width of `hourglass` blocks (default a quarter of the width).
    pub bottleneck: Option<usize>,
    /// Iterations of the shared `score` block.
    pub steps: usize,
    /// Step size of `score`.
    pub dt: f32,
    /// Integration rule of `score`.
    pub integrator: crate::layers::Integrator,
    /// Activation (the gate for `glu`).
    pub activation: Activation,
    /// Dropout after each hidden layer (`mlp`) or inside each block's hidden layer.
    pub dropout: f32,
    /// Initializer for trainable dense layers (default per layer).
    pub init: Option<Init>,
    /// Basis of `kan` layers.
    pub kan_basis: crate::layers::KanBasis,
    /// Place `kan` B-spline/RBF grids on the range of each layer's inputs before training.
    pub kan_grid_from_data: bool,
    /// Embedding size `D` of `frets` (default 32; the paper uses 128).
    pub embed_dim: usize,
    /// Whether `frets` runs its channel learner; `None` (default): only with more than one
    /// channel.
    pub channel_learner: Option<bool>,
    /// Centres of the `rbf` layer.
    pub centers: usize,
}

impl Default for ArchConfig {
    fn default() -> Self {
        ArchConfig {
            arch: Arch::Mlp,
            widths: vec![100],
            depth: 4,
            expansion: 4,
            bottleneck: None,
            steps: 4,
            dt: 0.25,
            integrator: crate::layers::Integrator::Euler,
            activation: Activation::Gelu,
            dropout: 0.0,
            init: None,
            kan_basis: crate::layers::KanBasis::Bspline {
                grid: 5,
                order: 3,
                low: -2.0,
                high: 2.0,
            },
            kan_grid_from_data: false,
            embed_dim: 32,
            channel_learner: None,
            centers: 32,
        }
    }
}

impl ArchConfig {
    fn dense(&self, units: usize, activation: Activation) -> LayerSpec {
        LayerSpec::Dense {
            units,
            activation,
            init: self.init,
            bias: true,
            trainable: true,
        }
    }

    fn dropout(&self, layers: &mut Vec<LayerSpec>) {
        if self.dropout > 0.0 {
            layers.push(LayerSpec::Dropout { p: self.dropout });
        }
    }

    /// The hidden stack (without the output layer).
    pub fn hidden_stack(&self) -> Result<Vec<LayerSpec>> {
        let w = *self
            .widths
            .first()
            .ok_or_else(|| Error::config("hidden", "give at least one width"))?;
        if self.widths.contains(&0) || self.expansion == 0 {
            return Err(Error::config(
                "hidden",
                "widths and the expansion must be at least 1",
            ));
        }
        let act = self.activation;
        let norm = || LayerSpec::LayerNorm { eps: 1e-5 };
        let mut layers = Vec::new();
        match self.arch {
            Arch::Mlp => {
                for &units in &self.widths {
                    layers.push(self.dense(units, act));
                    self.dropout(&mut layers);
                }
            }
            Arch::ResMlp => {
                layers.push(self.dense(w, Activation::Identity));
                for _ in 0..self.depth {
                    let mut branch = vec![norm(), self.dense(self.expansion * w, act)];
                    self.dropout(&mut branch);
                    branch.push(self.dense(w, Activation::Identity));
                    layers.push(LayerSpec::Residual { layers: branch });
                }
                layers.push(norm());
            }
            Arch::Hourglass => {
                let h = self.bottleneck.unwrap_or((w / 4).max(1));
                layers.push(LayerSpec::Dense {
                    units: w,
                    activation: Activation::Identity,
                    init: Some(Init::LecunNormal),
                    bias: false,
                    trainable: false,
                });
                for _ in 0..self.depth {
                    let mut branch = vec![norm(), self.dense(h, act)];
                    self.dropout(&mut branch);
                    branch.push(self.dense(w, Activation::Identity));
                    layers.push(LayerSpec::Residual { layers: branch });
                }
                layers.push(norm());
            }
            Arch::Score => {
                layers.push(self.dense(w, act));
                let mut block = vec![norm(), self.dense(self.expansion * w, act)];
                self.dropout(&mut block);
                block.push(self.dense(w, Activation::Identity));
                layers.push(LayerSpec::Recurrent {
                    layers: block,
                    steps: self.steps,
                    dt: self.dt,
                    integrator: self.integrator,
                });
                layers.push(norm());
            }
            Arch::Kan => {
                for &units in &self.widths {
                    layers.push(LayerSpec::Kan {
                        units,
                        basis: self.kan_basis,
                        base: true,
                        grid_from_data: self.kan_grid_from_data,
                    });
                    self.dropout(&mut layers);
                }
            }
            Arch::FinalMlp => {
                let stream = |units: usize| {
                    let mut v = Vec::new();
                    for _ in 0..self.depth.max(1) {
                        v.push(self.dense(units, act));
                        self.dropout(&mut v);
                    }
                    v
                };
                layers.push(LayerSpec::FinalMlp {
                    units: w,
                    heads: 1,
                    stream1: stream(w),
                    stream2: stream((w / 2).max(1)),
                    gate1: true,
                    gate2: true,
                });
            }
            Arch::Rbf => {
                if self.centers == 0 {
                    return Err(Error::config(
                        "centers",
                        "an rbf layer needs at least 1 centre",
                    ));
                }
                layers.push(LayerSpec::Rbf {
                    centers: self.centers,
                });
            }
            Arch::Grnn | Arch::Cascade => {
                return Err(Error::config(
                    "arch",
                    format!(
                        "{} is fitted from the training data, not stacked: fit it with mlp::classical (as `mlp train` does)",
                        self.arch.name()
                    ),
                ));
            }
            Arch::Frets | Arch::NBeats => {
                return Err(Error::config(
                    "arch",
                    format!(
                        "{} needs a forecasting layout (channels, window, horizon): use mlp forecast",
                        self.arch.name()
                    ),
                ));
            }
            Arch::Glu => {
                layers.push(self.dense(w, Activation::Identity));
                for _ in 0..self.depth {
                    let mut branch = vec![
                        norm(),
                        LayerSpec::Glu {
                            hidden: self.expansion * w,
                            units: w,
                            gate: act,
                            init: self.init,
                        },
                    ];
                    self.dropout(&mut branch);
                    layers.push(LayerSpec::Residual { layers: branch });
                }
                layers.push(norm());
            }
        }
        Ok(layers)
    }
}

/// How a forecasting window is laid out in a network's input and output rows.
///
/// Input row: `channels` series of `window` past values each, channel-major and oldest first
/// (`x[c * window + t]`, `t = window - 1` the latest observation), then `exog` exogenous
/// features (calendar one-hots, known covariates). Output row: `horizon` future values per
/// channel, channel-major (`y[c * horizon + h]`, `h = 0` the next step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceLayout {
    /// Number of target series modelled together.
    pub channels: usize,
    /// Past values per series in one input row.
    pub window: usize,
    /// Exogenous features after the windows.
    pub exog: usize,
    /// Future steps per series in one output row.
    pub horizon: usize,
}

impl SequenceLayout {
    /// Input width: `channels * window + exog`.
    pub fn inputs(&self) -> usize {
        self.channels * self.window + self.exog
    }

    /// Output width: `channels * horizon`.
    pub fn outputs(&self) -> usize {
        self.channels * self.horizon
    }
}

impl ArchConfig {
    /// A complete forecaster for `layout`: the configured hidden stack and a linear head of
    /// `layout.outputs()` units, reading rows laid out as [`SequenceLayout`] describes. For
    /// `frets` and `nbeats` it is the single forecasting layer, which carries its own heads
    /// (dropout and the activation do not apply to them). The spec is validated here.
    pub fn forecaster_spec(&self, layout: SequenceLayout) -> Result<crate::spec::ModelSpec> {
        if layout.channels == 0 || layout.window == 0 || layout.horizon == 0 {
            return Err(Error::config(
                "window",
                "channels, window and horizon must be at least 1",
            ));
        }
        let layers = match self.arch {
            Arch::Frets => vec![self.frets_layer(layout)?],
            Arch::NBeats => vec![self.nbeats_layer(layout)?],
            _ => {
                let mut layers = self.hidden_stack()?;
                layers.push(self.dense(layout.outputs(), Activation::Identity));
                layers
            }
        };
        let spec = crate::spec::ModelSpec {
            inputs: layout.inputs(),
            layers,
        };
        // Validate now, so a bad knob is reported here rather than at build time.
        spec.layers()?;
        Ok(spec)
    }

    fn first_width(&self) -> Result<usize> {
        match self.widths.first() {
            Some(&w) if w > 0 => Ok(w),
            _ => Err(Error::config(
                "hidden",
                "give at least one width (all at least 1)",
            )),
        }
    }

    /// The FreTS layer for `layout`: head hidden width `widths[0]`, embedding `embed_dim`.
    fn frets_layer(&self, layout: SequenceLayout) -> Result<LayerSpec> {
        Ok(LayerSpec::Frets {
            channels: layout.channels,
            window: layout.window,
            exog: layout.exog,
            horizon: layout.horizon,
            embed_dim: self.embed_dim,
            hidden: self.first_width()?,
            channel_learner: self.channel_learner.unwrap_or(layout.channels > 1),
        })
    }

    /// The N-BEATS layer for `layout`: `depth` blocks of `widths.len()` layers of `widths[0]`
    /// units (the widths must be equal: a block's layers share one width).
    fn nbeats_layer(&self, layout: SequenceLayout) -> Result<LayerSpec> {
        let units = self.first_width()?;
        if self.widths.iter().any(|&w| w != units) {
            return Err(Error::config(
                "hidden",
                format!(
                    "nbeats blocks use one width for all their layers; got {:?} (e.g. give 512,512,512,512 for 4 layers of 512)",
                    self.widths
                ),
            ));
        }
        if self.depth == 0 {
            return Err(Error::config("depth", "nbeats needs at least one block"));
        }
        Ok(LayerSpec::NBeats {
            channels: layout.channels,
            window: layout.window,
            exog: layout.exog,
            horizon: layout.horizon,
            blocks: self.depth,
            layers: self.widths.len(),
            units,
        })
    }
}
