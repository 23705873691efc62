//! The flags of `mlp train` and how they become a builder (including the `--config` file).

use crate::input::{self, DataArgs};
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::Activation;
use mlp::architectures::{Arch, ArchConfig};
use mlp::data::preprocess::TargetKind;
use mlp::estimator::{ClassWeight, MlpBuilder};
use mlp::layers::KanBasis;
use mlp::loss::Loss;
use mlp::model::Task;
use mlp::optim::OptimizerConfig;
use mlp::optim::constrained::UpdateConstraint;
use mlp::optim::device::{DeviceModel, DeviceRule};
use mlp::optim::schedule::Schedule;
use mlp::robust::{AttackMethod, Norm};
use mlp::spec::LayerSpec;
use mlp::train::{AdversarialConfig, TrainConfig, ValidationSplit};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Flags of `mlp train`.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Where to write the trained model (.safetensors).
    #[arg(long, value_name = "MODEL")]
    pub out: Option<PathBuf>,
    /// classify or regress (default: inferred from the target column).
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,
    /// Hidden layer widths, comma-separated.
    #[arg(
        long,
        value_name = "WIDTHS",
        value_delimiter = ',',
        default_value = "100"
    )]
    pub hidden: Vec<usize>,
    /// Hidden activation: relu, leaky_relu, elu, gelu, silu, tanh, sigmoid, softplus, identity.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// Weight initializer: he_uniform, he_normal, xavier_uniform, xavier_normal, lecun_uniform,
    /// lecun_normal, torch_default (default: xavier_uniform, as scikit-learn and Keras).
    #[arg(long)]
    pub init: Option<String>,
    /// Dropout probability after each hidden layer (inside each block for block architectures).
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f32,
    /// Architecture: mlp (dense stack), resmlp (pre-norm residual), hourglass (frozen lift,
    /// wide-narrow-wide residual blocks), score (shared block applied --steps times), glu
    /// (residual GLU blocks; the gate is --activation), kan (Kolmogorov-Arnold layers, one per
    /// --hidden width, basis --kan-basis), finalmlp (two feature-gated streams, bilinear fusion). Block architectures use the first
    /// --hidden width. frets and nbeats are forecasting layers (mlp forecast).
    #[arg(long, default_value = "mlp")]
    pub arch: String,
    /// Number of blocks (resmlp, hourglass, glu).
    #[arg(long, default_value_t = 4)]
    pub depth: usize,
    /// Expansion of the hidden layer inside blocks (resmlp, score, glu).
    #[arg(long, default_value_t = 4)]
    pub expansion: usize,
    /// Bottleneck width of hourglass blocks (default: a quarter of the width).
    #[arg(long)]
    pub bottleneck: Option<usize>,
    /// Iterations of the shared score block.
    #[arg(long, default_value_t = 4)]
    pub steps: usize,
    /// Step size of the score recurrence, in (0, 1].
    #[arg(long, default_value_t = 0.25)]
    pub dt: f32,
    /// Basis of kan layers: bspline, chebyshev, fourier or rbf.
    #[arg(long, default_value = "bspline", value_parser = ["bspline", "chebyshev", "fourier", "rbf"])]
    pub kan_basis: String,
    /// Size of the kan basis: B-spline grid intervals / RBF centres - 1 / Chebyshev degree /
    /// Fourier frequencies.
    #[arg(long, default_value_t = 5)]
    pub grid: usize,
    /// Place each kan layer's B-spline/RBF grid on the range of its inputs on the training data
    /// (instead of [-2, 2]) before training.
    #[arg(long)]
    pub kan_grid_from_data: bool,
    /// finalmlp: embed every input field (a categorical column's one-hot block, or a numeric
    /// feature) into its own vector of this size before the two streams.
    #[arg(long, value_name = "DIM")]
    pub embedding_dim: Option<usize>,
    /// B-spline order of kan layers.
    #[arg(long, default_value_t = 3)]
    pub spline_order: usize,
    /// Integration rule of the score recurrence: euler or rk2.
    #[arg(long, default_value = "euler", value_parser = ["euler", "rk2"])]
    pub integrator: String,
    /// Maximum number of epochs.
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Minibatch size.
    #[arg(long, default_value_t = 200)]
    pub batch_size: usize,
    /// sgd, nesterov, adam, adamw, lamb, rmsprop or lbfgs (full batch).
    #[arg(long, default_value = "adam")]
    pub optimizer: String,
    /// Momentum for sgd/nesterov/rmsprop.
    #[arg(long)]
    pub momentum: Option<f32>,
    /// Learning rate (default: 1e-3 for adam/adamw/rmsprop, 1e-2 for sgd, 1 for lbfgs).
    #[arg(long)]
    pub lr: Option<f32>,
    /// Weight decay on weights (L2; decoupled for adamw).
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f32,
    /// Learning-rate schedule: `constant`, `step:EPOCHS[:GAMMA]`, `exp:GAMMA`,
    /// `cosine[:WARMUP_EPOCHS[:MIN_LR]]`, `plateau[:FACTOR[:PATIENCE]]`.
    #[arg(long, default_value = "constant")]
    pub schedule: String,
    /// Clip the global gradient norm to this value.
    #[arg(long)]
    pub clip_grad_norm: Option<f32>,
    /// Loss: cross_entropy, bce (binary, one output), multilabel_bce, mse, mae, `huber[:DELTA]`,
    /// `quantile:L1,L2,...` (regression: one output per target per level, pinball loss; levels
    /// in (0,1), increasing; `mlp predict` adds a `<target>_q<L>` column per level)
    /// (default: cross_entropy for classification, mse for regression).
    #[arg(long)]
    pub loss: Option<String>,
    /// Label smoothing for cross-entropy.
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f32,
    /// MixUp: blend random pairs of training samples and their targets with lam ~ Beta(ALPHA,
    /// ALPHA) (0.2 is common).
    #[arg(long, value_name = "ALPHA")]
    pub mixup: Option<f32>,
    /// Image augmentation on the fly, for square images (IDX or --dataset): `shift:N` (random
    /// translation up to N pixels) and/or `flip` (horizontal mirror), comma-separated.
    #[arg(long, value_name = "SPEC")]
    pub augment: Option<String>,
    /// Class weights: balanced, or one weight per class (comma-separated, in label order).
    #[arg(long, value_name = "WEIGHTS")]
    pub class_weight: Option<String>,
    /// Fraction of the training data held out for validation and early stopping (giving it turns
    /// the model selection off). Default: none while the model selection runs (its folds hold
    /// rows out; the final model trains on all); with `--select off`, 0.1 from 5000 training rows
    /// up, and below that all rows train until the training loss stops improving.
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// How to split off validation data: random, stratified (default for classification) or
    /// chronological (last rows, or latest by --time-column).
    #[arg(long, value_name = "HOW", value_parser = ["random", "stratified", "chronological"])]
    pub split: Option<String>,
    /// Column that orders rows in time (chronological split).
    #[arg(long, value_name = "COL")]
    pub time_column: Option<String>,
    /// Validation data from a separate file (same columns as --data).
    #[arg(long, value_name = "FILE")]
    pub val_data: Option<PathBuf>,
    /// Stop after this many epochs without validation improvement and keep the best weights
    /// (0 disables early stopping).
    #[arg(long, default_value_t = 20)]
    pub patience: usize,
    /// Do not standardize numeric features.
    #[arg(long)]
    pub no_standardize: bool,
    /// Hold out this fraction of the training rows (stratified by class) as calibration rows:
    /// never trained on nor used for early stopping, they are scored by the trained model and the
    /// scores stored in the model file, for `mlp predict --interval` (regression) and
    /// `--prediction-sets` (classification). Default: 0 (no calibration rows; held-out rows cost
    /// accuracy, so conformal prediction is opt-in). A level L needs about L/(1-L) rows (9 for
    /// 0.9, 19 for 0.95); a few hundred give stable intervals.
    #[arg(long, value_name = "F")]
    #[serde(default)]
    pub calibration_fraction: Option<f64>,
    /// Calibrate a classifier's probabilities: `temperature` fits one temperature T
    /// (probabilities softmax(z/T)) by minimizing the log-loss of the validation rows, or of the
    /// calibration rows when the run has no validation part; stored in the model and applied by
    /// predict and eval. Prints the ECE before and after.
    #[arg(long, value_name = "HOW", value_parser = ["temperature"])]
    #[serde(default)]
    pub calibrate: Option<String>,
    /// Deep ensemble: train K networks (seeds derived from --seed; side by side on up to
    /// --threads workers, one thread each, so the result does not depend on --threads) and
    /// average their probabilities (classification) or values (regression). One model file holds
    /// all members. Default 1 (a single network).
    #[arg(long, value_name = "K", default_value_t = 1)]
    #[serde(default = "one_member")]
    pub ensemble: usize,
    // --- hardware-constrained updates (issue 15, helper Z) ---
    /// Hardware-constrained (electronic-synapse) updates: each step the optimizer computes is
    /// rounded to the nearest of N levels evenly spaced in [-B, B] (N odd, >= 3; B from
    /// --update-bound). A step under half a level leaves the weight unchanged.
    #[arg(long, value_name = "N", requires = "update_bound")]
    #[serde(default)]
    pub update_levels: Option<u32>,
    /// The largest update magnitude B of --update-levels.
    #[arg(long, value_name = "B", requires = "update_levels")]
    #[serde(default)]
    pub update_bound: Option<f32>,
    /// Send each --update-levels step, as whole pulses, to a simulated synapse device per weight
    /// whose conductance curve has this nonlinearity nu (0 = linear; 5 is a strongly nonlinear
    /// device): G(p) = Gmax (1 - e^{-nu p/P}) / (1 - e^{-nu}), depression mirrored (asymmetric).
    #[arg(
        long,
        value_name = "NU",
        requires = "update_levels",
        allow_negative_numbers = true
    )]
    #[serde(default)]
    pub update_nonlinearity: Option<f32>,
    /// How the device pair is pulsed: bidirectional (one device potentiated or depressed against
    /// a mid-range reference) or unidirectional (two devices, each only potentiated, refreshed
    /// when one saturates). Implies the device model (nu 0 unless --update-nonlinearity).
    #[arg(long, value_name = "RULE", requires = "update_levels",
          value_parser = ["bidirectional", "unidirectional"])]
    #[serde(default)]
    pub update_rule: Option<String>,
    /// Pulses P across a device's full conductance range (default 1024 with the device model);
    /// a device spans P nominal levels of --update-levels, so weights lie in [-P*delta/2,
    /// P*delta/2] (bidirectional) or [-P*delta, P*delta] (unidirectional), delta = 2B/(N-1).
    #[arg(long, value_name = "P", requires = "update_levels")]
    #[serde(default)]
    pub update_device_pulses: Option<u32>,
    // --- end of hardware-constrained updates ---
    /// Arithmetic of the training products: f32 (default, the reference) or bf16 (mixed
    /// precision: every dense layer's forward, weight-gradient and input-gradient products on
    /// bf16 operands with f32 sums, on AVX-512 BF16 `vdpbf16ps` where the CPU has it, else AVX2
    /// or portable code). Master weights, optimizer state, the loss and all other block kinds
    /// (normalization, KAN, GLU, embeddings, spectral layers, ...) stay f32; the saved model is
    /// f32, and prediction runs in f32. Turns the model selection off.
    #[arg(long, value_name = "f32|bf16", default_value = "f32", value_parser = ["f32", "bf16"])]
    #[serde(default = "precision_f32")]
    pub precision: String,
    /// Adversarial training: fgsm or pgd examples, made on the current weights for every batch.
    #[arg(long, value_name = "METHOD", value_parser = ["fgsm", "pgd"], requires = "eps")]
    pub adversarial: Option<String>,
    /// Adversarial radius, in network input units (standardized features; pixels in 0..1).
    #[arg(long, value_name = "EPS", requires = "adversarial")]
    pub eps: Option<f32>,
    /// PGD steps per adversarial example (default 10).
    #[arg(long, value_name = "K", requires = "adversarial")]
    pub adv_steps: Option<usize>,
    /// PGD step size (default 2.5 * eps / steps).
    #[arg(long, value_name = "A", requires = "adversarial")]
    pub adv_step_size: Option<f32>,
    /// Adversarial ball norm: linf (default) or l2.
    #[arg(long, value_name = "NORM", requires = "adversarial")]
    pub adv_norm: Option<String>,
    /// Fraction of each batch replaced by adversarial examples, in (0, 1] (default 1).
    #[arg(long, value_name = "R", requires = "adversarial")]
    pub adv_ratio: Option<f32>,
    /// Input domain LO,HI in network units for adversarial examples (e.g. 0,1 for images).
    #[arg(
        long,
        value_name = "LO,HI",
        requires = "adversarial",
        allow_hyphen_values = true
    )]
    pub adv_clip: Option<String>,
    /// AT-LR: weight of the layer-wise relative-error regularizer on the MVL layers.
    #[arg(long, value_name = "GAMMA", requires = "adversarial")]
    pub layer_reg: Option<f32>,
    /// Layers the AT-LR regularizer covers: auto (LSA after a short standard warm-up) or
    /// top-level layer indices like 1,3 (see `mlp lsa`).
    #[arg(long, value_name = "auto|LAYERS", requires = "layer_reg")]
    pub mvl: Option<String>,
    // --- quantization-aware training (issue 15, helper Y) ---
    /// Quantization-aware training with B-bit weights and activations (1..=8; 1 is binary): the
    /// dense layers become qat_dense layers (learned scales, straight-through gradients), the
    /// model file stores integer weights, and predict/eval run integer-only inference. The
    /// network's input gets 8 bits. Dense networks only (--arch mlp).
    #[arg(long, value_name = "B", value_parser = clap::value_parser!(u8).range(1..=8))]
    #[serde(default)]
    pub qat_bits: Option<u8>,
    // --- end of quantization-aware training ---
    // --- automatic model selection (issue 12, helper P) ---
    /// Model selection: `auto` (default) scores a linear model, one hidden layer of 100 and a
    /// wide-and-deep network by 5-fold cross-validation (up to 1500 rows) or a 15% hold-out, and
    /// refits the best on all rows; `off` trains the network the other flags describe. Giving
    /// any flag that fixes the network or its training (--hidden, --arch, --activation, --dropout,
    /// --epochs, --batch-size, --optimizer, --lr, --weight-decay, --schedule, --patience,
    /// --val-fraction, --val-data, --split, --calibrate, --config, ...) turns it off as well.
    #[arg(long, value_name = "auto|off", default_value = "auto", value_parser = ["auto", "off", "none"])]
    #[serde(default = "select_auto")]
    pub select: String,
    // --- end of model selection ---
    /// Random seed (initialization, shuffling, splits, dropout).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (0: all cores). The same seed and thread count give identical weights.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// A TOML or JSON file with `layers = [...]` (hidden stack; the output layer is added) and/or
    /// a `[train]` table of training settings. The file's settings replace the defaults of the
    /// matching flags; flags given on the command line (e.g. --seed, --threads, --lr,
    /// --adversarial) win over the file, and settings the file leaves out keep the flags' values.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write the model and optimizer state here every epoch (atomically).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Write the checkpoint every N epochs instead of every epoch.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub checkpoint_every: usize,
    /// Continue the run saved in this checkpoint (other flags come from it; --epochs and --out
    /// may be given to extend the run or change the output).
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub resume: Option<PathBuf>,
    /// Draw the training curves (loss and validation metric per epoch) to this SVG or PNG file.
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
    /// Save the model and exit 0 even when training diverged (by default a diverged run saves
    /// its best weights and exits with status 3).
    #[arg(long)]
    #[serde(default)]
    pub allow_divergence: bool,
    /// Print nothing but errors (and the --json summary).
    #[arg(long, short)]
    pub quiet: bool,
    /// Log every epoch (by default: a progress bar on a terminal, otherwise a line every 10% of
    /// the epochs).
    #[arg(long, conflicts_with = "quiet")]
    #[serde(default)]
    pub verbose: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
    /// Flags given on the command line (clap ids), so that they win over a --config file; kept
    /// in checkpoints so a resumed run overlays the file the same way.
    #[arg(skip)]
    #[serde(default)]
    pub given: Vec<String>,
    /// Knowledge distillation: --teacher/--teacher-model, --temperature, --distill-weight.
    #[command(flatten)]
    #[serde(default)]
    pub distill: super::distill::DistillArgs,
    /// Hold out this fraction of the rows as a test set before anything else (stratified for
    /// classification, shuffled with --seed); its metrics are reported at the end and never used
    /// for early stopping or any other choice. (For .npy regression, the target's scaling is fit
    /// before the split.)
    #[arg(long, value_name = "F", conflicts_with = "test_data")]
    #[serde(default)]
    pub test_fraction: Option<f64>,
    /// A test set in a separate file (same columns as --data), encoded as the training data;
    /// its metrics are reported at the end and never used for early stopping.
    #[arg(long, value_name = "FILE")]
    #[serde(default)]
    pub test_data: Option<PathBuf>,
    // --- classical networks (issue 17, helper rules) ---
    /// Centres of --arch rbf (k-means, k-means++ seeding; default 32).
    #[arg(long, value_name = "K")]
    #[serde(default)]
    pub centers: Option<usize>,
    /// Ridge penalty of the --arch rbf output layer (on mean-squared-error scale; default 1e-3).
    #[arg(long, value_name = "LAMBDA")]
    #[serde(default)]
    pub ridge: Option<f64>,
    /// Most hidden units --arch cascade installs (default 8).
    #[arg(long, value_name = "N")]
    #[serde(default)]
    pub max_hidden: Option<usize>,
    /// Candidate units --arch cascade trains per installed unit (default 8).
    #[arg(long, value_name = "N")]
    #[serde(default)]
    pub candidates: Option<usize>,
    // --- end of classical networks ---
}

fn select_auto() -> String {
    "auto".into()
}

/// The default of `--precision` in a saved command line from before the flag existed.
fn precision_f32() -> String {
    "f32".into()
}

/// Flags (clap ids) that fix the network or how it trains: given on the command line, each turns
/// the automatic model selection off, so the user keeps full control of what they set.
const FIXES_THE_MODEL: &[&str] = &[
    "hidden",
    "activation",
    "init",
    "dropout",
    "arch",
    "depth",
    "expansion",
    "bottleneck",
    "steps",
    "dt",
    "kan_basis",
    "grid",
    "kan_grid_from_data",
    "embedding_dim",
    "spline_order",
    "integrator",
    "epochs",
    "batch_size",
    "optimizer",
    "momentum",
    "lr",
    "weight_decay",
    "schedule",
    "mixup",
    "augment",
    "val_fraction",
    "split",
    "time_column",
    "val_data",
    "patience",
    "no_standardize",
    "calibrate",
    "adversarial",
    "loss",
    "config",
    "update_levels",
    "update_bound",
    "update_nonlinearity",
    "update_rule",
    "update_device_pulses",
    "qat_bits",
    "precision",
    "centers",
    "max_hidden",
    "candidates",
    "ridge",
];

impl TrainArgs {
    /// Why the automatic model selection does not run, or `None` when it does (the task and the
    /// data size are checked where the data is known).
    pub fn selection_off(&self) -> Option<String> {
        if self.select != "auto" {
            return Some(format!("--select {}", self.select));
        }
        self.given
            .iter()
            .find(|g| FIXES_THE_MODEL.contains(&g.as_str()))
            .map(|g| format!("--{} given", g.replace('_', "-")))
    }
}

// The library's rule, so `mlp train` and `MlpBuilder::fit_table` split the same way.
use mlp::estimator::AUTO_VALIDATION_MIN_ROWS;

/// Contents of a `--config` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Hidden layers (the output layer is appended).
    #[serde(default)]
    layers: Option<Vec<LayerSpec>>,
    /// Training settings.
    #[serde(default)]
    train: Option<TrainConfig>,
}

/// The same file untyped, for the keys its `[train]` table sets (the typed read above has
/// filled in defaults for the rest).
#[derive(Debug, Default, Deserialize)]
struct ConfigKeys {
    #[serde(default)]
    train: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The default of `--ensemble` in a saved command line from before the flag existed.
fn one_member() -> usize {
    1
}

/// The `[train]` settings a flag sets: given on the command line, the flag wins over the file.
fn config_keys_of_flag(flag: &str) -> &'static [&'static str] {
    match flag {
        "epochs" => &["epochs"],
        "batch_size" => &["batch_size"],
        "optimizer" | "momentum" => &["optimizer"],
        "lr" => &["lr"],
        "weight_decay" => &["weight_decay"],
        "schedule" => &["schedule"],
        "clip_grad_norm" => &["clip_grad_norm"],
        "loss" | "label_smoothing" => &["loss"],
        "patience" => &["patience"],
        "seed" => &["seed"],
        "threads" => &["threads"],
        "ensemble" => &["ensemble"],
        "precision" => &["precision"],
        "class_weight" => &["class_weights"],
        "mixup" => &["mixup"],
        "update_levels"
        | "update_bound"
        | "update_nonlinearity"
        | "update_rule"
        | "update_device_pulses" => &["update_constraint"],
        "adversarial" | "eps" | "adv_steps" | "adv_step_size" | "adv_norm" | "adv_ratio"
        | "adv_clip" | "layer_reg" | "mvl" => &["adversarial"],
        _ => &[],
    }
}

/// Lays the settings a config file names over the settings from the flags, except those that a
/// flag given on the command line sets.
fn overlay_config(
    flags: &TrainConfig,
    file: &TrainConfig,
    file_keys: &serde_json::Map<String, serde_json::Value>,
    given: &[String],
) -> Result<TrainConfig> {
    let mut merged = serde_json::to_value(flags)?;
    let file = serde_json::to_value(file)?;
    let (Some(merged_map), Some(file_map)) = (merged.as_object_mut(), file.as_object()) else {
        bail!("training settings are not a table");
    };
    for key in file_keys.keys() {
        let flag_wins = given
            .iter()
            .any(|g| config_keys_of_flag(g).contains(&key.as_str()));
        if flag_wins {
            continue;
        }
        // A key the typed read accepted but that serializes to nothing is an explicit "off".
        match file_map.get(key) {
            Some(v) => merged_map.insert(key.clone(), v.clone()),
            None => merged_map.remove(key),
        };
    }
    Ok(serde_json::from_value(merged)?)
}

pub(super) fn parse_loss(text: &str) -> Result<Loss> {
    let (name, arg) = text
        .split_once(':')
        .map_or((text, None), |(a, b)| (a, Some(b)));
    let arg_num = |default: f32| -> Result<f32> {
        arg.map_or(Ok(default), |s| {
            s.parse::<f32>()
                .with_context(|| format!("--loss {text}: '{s}' is not a number"))
        })
    };
    Ok(
        match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "mse" => Loss::Mse,
            "mae" | "l1" => Loss::Mae,
            "huber" => Loss::Huber {
                delta: arg_num(1.0)?,
            },
            "cross_entropy" | "ce" => Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
            "bce" => Loss::Bce,
            "multilabel_bce" => Loss::MultilabelBce,
            "quantile" | "pinball" => Loss::Quantile {
                levels: mlp::loss::QuantileLevels::parse(arg.unwrap_or(""))
                    .map_err(|e| anyhow::anyhow!("--loss {text}: {e}"))?,
            },
            other => bail!(
                "--loss: unknown '{other}'; one of cross_entropy, bce, multilabel_bce, mse, mae, huber[:DELTA], quantile:LEVELS"
            ),
        },
    )
}

impl TrainArgs {
    pub(crate) fn target_kind(&self) -> Result<Option<TargetKind>> {
        self.task
            .as_deref()
            .map(|t| t.parse::<TargetKind>().map_err(anyhow::Error::from))
            .transpose()
    }

    /// The builder these flags describe.
    pub(super) fn builder(&self, task: Task, n_rows: usize) -> Result<MlpBuilder> {
        let activation: Activation = self.activation.parse()?;
        let mut optimizer = OptimizerConfig::from_name(&self.optimizer)?;
        if let Some(m) = self.momentum {
            match &mut optimizer {
                OptimizerConfig::Sgd { momentum, .. }
                | OptimizerConfig::Rmsprop { momentum, .. } => *momentum = m,
                _ => bail!(
                    "--momentum applies to sgd, nesterov and rmsprop, not {}",
                    self.optimizer
                ),
            }
        }
        let mut b = match task {
            Task::Classification => MlpBuilder::classifier(),
            _ => MlpBuilder::regressor(),
        }
        .task(task)
        .hidden(&self.hidden)
        .activation(activation)
        .dropout(self.dropout)
        .epochs(self.epochs)
        .batch_size(self.batch_size)
        .optimizer(optimizer)
        .weight_decay(self.weight_decay)
        .schedule(Schedule::parse(&self.schedule)?)
        .patience(if self.patience == 0 {
            None
        } else {
            Some(self.patience)
        })
        .seed(self.seed)
        .threads(self.threads)
        .ensemble(self.ensemble)
        .label_smoothing(self.label_smoothing)
        .standardize(!self.no_standardize);
        if self.hidden.contains(&0) {
            bail!("--hidden: layer widths must be at least 1");
        }
        let arch: Arch = self.arch.parse()?;
        super::classical::check(self, arch)?;
        if arch != Arch::Mlp || self.init.is_some() {
            let cfg = ArchConfig {
                arch,
                widths: self.hidden.clone(),
                depth: self.depth,
                expansion: self.expansion,
                bottleneck: self.bottleneck,
                steps: self.steps,
                dt: self.dt,
                integrator: if self.integrator == "rk2" {
                    mlp::layers::Integrator::Rk2
                } else {
                    mlp::layers::Integrator::Euler
                },
                activation,
                dropout: self.dropout,
                init: self.init.as_deref().map(str::parse).transpose()?,
                kan_grid_from_data: self.kan_grid_from_data,
                kan_basis: match self.kan_basis.as_str() {
                    "chebyshev" => KanBasis::Chebyshev { degree: self.grid },
                    "fourier" => KanBasis::Fourier {
                        frequencies: self.grid,
                    },
                    "rbf" => KanBasis::Rbf {
                        centers: self.grid + 1,
                        low: -2.0,
                        high: 2.0,
                    },
                    _ => KanBasis::Bspline {
                        grid: self.grid,
                        order: self.spline_order,
                        low: -2.0,
                        high: 2.0,
                    },
                },
                centers: self.centers.unwrap_or(super::classical::DEFAULT_CENTERS),
                ..ArchConfig::default()
            };
            b = b.layers(match arch {
                // Fitted or grown from the data after the session is built; a linear model
                // holds the place until then.
                Arch::Grnn | Arch::Cascade => Vec::new(),
                _ => cfg.hidden_stack()?,
            });
        }
        if let Some(lr) = self.lr {
            b = b.lr(lr);
        }
        let config = b
            .config()
            .clone()
            .with_clip_grad_norm(self.clip_grad_norm)
            .with_mixup(self.mixup)
            .with_precision(self.precision.parse()?);
        b = b.train_config(config);
        if let Some(l) = &self.loss {
            let mut loss = parse_loss(l)?;
            if let Loss::CrossEntropy { label_smoothing } = &mut loss {
                *label_smoothing = self.label_smoothing;
            }
            b = b.loss(loss);
        }
        if let Some(cw) = &self.class_weight {
            b = b.class_weight(if cw.eq_ignore_ascii_case("balanced") {
                ClassWeight::Balanced
            } else {
                let w: std::result::Result<Vec<f32>, _> =
                    cw.split(',').map(|s| s.trim().parse::<f32>()).collect();
                ClassWeight::Manual(w.map_err(|_| {
                    anyhow::anyhow!("--class-weight: use 'balanced' or numbers like 1,2.5,1")
                })?)
            });
        }
        let f = self
            .val_fraction
            .unwrap_or(if n_rows >= AUTO_VALIDATION_MIN_ROWS {
                0.1
            } else {
                0.0
            });
        if !(0.0..1.0).contains(&f) {
            bail!("--val-fraction must be in [0, 1), got {f}");
        }
        let f = if self.val_data.is_some() { 0.0 } else { f };
        check_split_size(n_rows, f)?;
        let split = match (self.split.as_deref(), task) {
            _ if f == 0.0 => ValidationSplit::None,
            (Some("random"), _) => ValidationSplit::Random(f),
            (Some("stratified"), _) => ValidationSplit::Stratified(f),
            (Some("chronological"), _) => ValidationSplit::Chronological(f),
            (_, Task::Classification) => ValidationSplit::Stratified(f),
            _ => ValidationSplit::Random(f),
        };
        b = b.validation(split);
        let config = b
            .config()
            .clone()
            .with_adversarial(self.adversarial_config()?)
            .with_update_constraint(self.update_constraint()?);
        b = b.train_config(config);
        if let Some(path) = &self.config {
            let file: ConfigFile = input::read_config(path)?;
            if let Some(train) = file.train {
                let keys: ConfigKeys = input::read_config(path)?;
                let config = overlay_config(
                    b.config(),
                    &train,
                    &keys.train.unwrap_or_default(),
                    &self.given,
                )
                .with_context(|| format!("{}: applying the [train] settings", path.display()))?;
                b = b.train_config(config);
            }
            if let Some(hidden) = file.layers {
                b = b.layers(hidden);
            }
        }
        Ok(b)
    }
}

/// Training needs at least this many rows, after any validation rows are held out.
const MIN_TRAIN_ROWS: usize = 2;

/// Checks that `n_rows` training rows can give up the validation fraction `f` and still train:
/// a split that holds out no row, or leaves fewer than [`MIN_TRAIN_ROWS`], is an error rather
/// than a silent run without validation.
fn check_split_size(n_rows: usize, f: f64) -> Result<()> {
    if n_rows < MIN_TRAIN_ROWS {
        bail!("the training data has {n_rows} row(s); training needs at least {MIN_TRAIN_ROWS}");
    }
    if f <= 0.0 {
        return Ok(());
    }
    let n_val = (n_rows as f64 * f).round() as usize;
    if n_val == 0 {
        let least = (0.5 / n_rows as f64 * 1000.0).ceil() / 1000.0;
        bail!(
            "--val-fraction {f} of {n_rows} training rows holds out no row for validation; use --val-fraction {least} or more, --val-data FILE, or --val-fraction 0"
        );
    }
    if n_rows - n_val.min(n_rows) < MIN_TRAIN_ROWS {
        bail!(
            "--val-fraction {f} of {n_rows} training rows leaves {} to train on (at least {MIN_TRAIN_ROWS} are needed); lower --val-fraction or add rows",
            n_rows - n_val.min(n_rows)
        );
    }
    Ok(())
}

impl TrainArgs {
    /// The `--update-levels N --update-bound B` flags as the update rule (`None` without them).
    fn update_constraint(&self) -> Result<Option<UpdateConstraint>> {
        match (self.update_levels, self.update_bound) {
            (Some(n), Some(b)) => {
                let c = UpdateConstraint::new(n, b)?;
                let device = self.update_nonlinearity.is_some()
                    || self.update_rule.is_some()
                    || self.update_device_pulses.is_some();
                if !device {
                    return Ok(Some(c));
                }
                let rule = match &self.update_rule {
                    Some(r) => r.parse::<DeviceRule>()?,
                    None => DeviceRule::Bidirectional,
                };
                Ok(Some(c.with_device(DeviceModel {
                    pulses: self.update_device_pulses.unwrap_or(1024),
                    nonlinearity: self.update_nonlinearity.unwrap_or(0.0),
                    rule,
                })?))
            }
            _ => Ok(None),
        }
    }

    /// The `--adversarial ...` flags as settings (`mvl` left empty for `auto`).
    fn adversarial_config(&self) -> Result<Option<AdversarialConfig>> {
        let Some(method) = &self.adversarial else {
            return Ok(None);
        };
        let eps = self
            .eps
            .context("--adversarial needs --eps (the radius, in network input units)")?;
        let mut adv = AdversarialConfig::new(method.parse::<AttackMethod>()?, eps);
        if let Some(k) = self.adv_steps {
            adv.steps = k;
        }
        adv.step_size = self.adv_step_size;
        if let Some(n) = &self.adv_norm {
            adv.norm = n.parse::<Norm>()?;
        }
        if let Some(r) = self.adv_ratio {
            adv.ratio = r;
        }
        if let Some(text) = &self.adv_clip {
            let v: Vec<f32> = text
                .split(',')
                .map(|p| p.trim().parse::<f32>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| anyhow::anyhow!("--adv-clip: expected LO,HI, got '{text}'"))?;
            let [lo, hi] = v[..] else {
                bail!("--adv-clip: expected LO,HI (two numbers), got '{text}'");
            };
            adv.clip = Some((lo, hi));
        }
        adv.layer_reg = self.layer_reg.unwrap_or(0.0);
        match self.mvl.as_deref() {
            None | Some("auto") => {}
            Some(list) => {
                adv.mvl = list
                    .split(',')
                    .map(|p| p.trim().parse::<usize>())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| {
                        anyhow::anyhow!("--mvl: use 'auto' or layer indices like 1,3, got '{list}'")
                    })?;
            }
        }
        adv.validate()?;
        Ok(Some(adv))
    }
}
