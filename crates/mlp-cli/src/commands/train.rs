//! `mlp train`: fit a model and write it to one self-describing file.

use crate::input::{self, DataArgs};
use crate::progress::CliHooks;
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::architectures::{Arch, ArchConfig};
use mlp::data::preprocess::TargetKind;
use mlp::data::split::parse_time_column;
use mlp::estimator::{ClassWeight, MlpBuilder, Session};
use mlp::io::checkpoint;
use mlp::kernels::elementwise::Activation;
use mlp::layers::KanBasis;
use mlp::loss::Loss;
use mlp::model::{Model, Task};
use mlp::optim::OptimizerConfig;
use mlp::optim::schedule::Schedule;
use mlp::robust::{AttackMethod, Norm};
use mlp::spec::LayerSpec;
use mlp::train::{AdversarialConfig, Outcome, TrainConfig, ValidationSplit};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// Loss: cross_entropy, bce (binary, one output), multilabel_bce, mse, mae, `huber[:DELTA]`
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
    /// Fraction of the training data held out for validation and early stopping. Default: 0.1
    /// from 5000 training rows up; below that, all rows train and training stops when the training
    /// loss stops improving (a small held-out set costs more accuracy than it saves).
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
    /// Random seed (initialization, shuffling, splits, dropout).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (0: all cores). The same seed and thread count give identical weights.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// A TOML or JSON file with `layers = [...]` (hidden stack; the output layer is added) and/or
    /// a `[train]` table of training settings; it overrides the matching flags.
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
    /// Print nothing but errors (and the --json summary).
    #[arg(long, short)]
    pub quiet: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Training sets at least this large hold out a validation fraction by default.
const AUTO_VALIDATION_MIN_ROWS: usize = 5000;

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

fn parse_loss(text: &str) -> Result<Loss> {
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
            other => bail!(
                "--loss: unknown '{other}'; one of cross_entropy, bce, multilabel_bce, mse, mae, huber[:DELTA]"
            ),
        },
    )
}

impl TrainArgs {
    fn target_kind(&self) -> Result<Option<TargetKind>> {
        self.task
            .as_deref()
            .map(|t| t.parse::<TargetKind>().map_err(anyhow::Error::from))
            .transpose()
    }

    /// The builder these flags describe.
    fn builder(&self, task: Task, n_rows: usize) -> Result<MlpBuilder> {
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
        .label_smoothing(self.label_smoothing)
        .standardize(!self.no_standardize);
        if self.hidden.contains(&0) {
            bail!("--hidden: layer widths must be at least 1");
        }
        let arch: Arch = self.arch.parse()?;
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
                ..ArchConfig::default()
            };
            b = b.layers(cfg.hidden_stack()?);
        }
        if let Some(lr) = self.lr {
            b = b.lr(lr);
        }
        b.config.clip_grad_norm = self.clip_grad_norm;
        b.config.mixup = self.mixup;
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
        let split = match (self.split.as_deref(), task) {
            _ if f == 0.0 => ValidationSplit::None,
            (Some("random"), _) => ValidationSplit::Random(f),
            (Some("stratified"), _) => ValidationSplit::Stratified(f),
            (Some("chronological"), _) => ValidationSplit::Chronological(f),
            (_, Task::Classification) => ValidationSplit::Stratified(f),
            _ => ValidationSplit::Random(f),
        };
        b = b.validation(split);
        b.config.adversarial = self.adversarial_config()?;
        if let Some(path) = &self.config {
            let file: ConfigFile = input::read_config(path)?;
            if let Some(train) = file.train {
                b.config = train;
            }
            if let Some(hidden) = file.layers {
                b = b.layers(hidden);
            }
        }
        Ok(b)
    }
}

impl TrainArgs {
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

/// Appends the output layer to a custom hidden stack.
fn with_output_layer(mut b: MlpBuilder, outputs: usize) -> MlpBuilder {
    if let Some(layers) = b.custom_layers() {
        let mut layers = layers.to_vec();
        layers.push(LayerSpec::dense(outputs, Activation::Identity));
        b = b.layers(layers);
    }
    b
}

/// Training data loaded and encoded per the flags, with the derived task and output width.
pub struct Loaded {
    /// The encoded data and its encoders.
    pub data: input::TrainingData,
    /// The task the targets imply.
    pub task: Task,
    /// Network outputs the task needs.
    pub outputs: usize,
    /// Training rows (time-ordered when `--time-column` is given).
    pub train_set: mlp::data::Dataset,
    /// Validation rows from `--val-data`, if given.
    pub val_set: Option<mlp::data::Dataset>,
}

/// Loads the data the flags name.
pub fn load(args: &TrainArgs) -> Result<Loaded> {
    let kind = args.target_kind()?;
    let mut data = input::load_training(&args.data, kind)?;
    if args
        .loss
        .as_deref()
        .is_some_and(|l| l.eq_ignore_ascii_case("multilabel_bce"))
    {
        data.target = input::to_multilabel(&mut data.train, &data.target)?;
    }
    let task = match &data.train.targets {
        mlp::data::Targets::Classes { .. } => Task::Classification,
        mlp::data::Targets::Values { .. } => Task::Regression,
        mlp::data::Targets::MultiLabel { .. } => Task::MultiLabel,
    };
    let outputs = match (&data.train.targets, args.loss.as_deref()) {
        (mlp::data::Targets::Classes { .. }, Some(l)) if l.eq_ignore_ascii_case("bce") => 1,
        (mlp::data::Targets::Classes { n_classes, .. }, _) => *n_classes,
        (mlp::data::Targets::Values { n_outputs, .. }, _) => *n_outputs,
        (mlp::data::Targets::MultiLabel { n_labels, .. }, _) => *n_labels,
    };
    // Chronological by a time column: order rows by time first.
    let mut train_set = data.train.clone();
    if let (Some(col), Some(table)) = (&args.time_column, &data.table) {
        let c = table.column_index(col)?;
        let keys = parse_time_column(table, c)?;
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        train_set = train_set.select(&order);
    } else if args.time_column.is_some() {
        bail!("--time-column needs CSV data");
    }
    let val_set = match &args.val_data {
        Some(path) => {
            let infer = crate::input::InferenceDataArgs {
                data: Some(path.clone()),
                dataset: None,
                split: "test".into(),
                target: None,
                delimiter: args.data.delimiter,
                weight_column: args.data.weight_column.clone(),
            };
            let template = Model {
                network: mlp::spec::ModelSpec::mlp(
                    train_set.n_features,
                    &[1],
                    outputs,
                    Activation::Relu,
                    0.0,
                )
                .build(0)?,
                task,
                input: data.input.clone(),
                scaler: mlp::model::Scaler::identity(train_set.n_features),
                target: data.target.clone(),
                loss: Loss::Mse,
                training: None,
            };
            let v = input::load_inference(&infer, &template, true)?;
            v.targets
        }
        None => None,
    };
    Ok(Loaded {
        data,
        task,
        outputs,
        train_set,
        val_set,
    })
}

/// Builds the training session the flags describe, on loaded data.
pub fn session_for(args: &TrainArgs, loaded: &Loaded) -> Result<Session> {
    let (data, task, outputs) = (&loaded.data, loaded.task, loaded.outputs);
    let (train_set, val_set) = (&loaded.train_set, &loaded.val_set);
    let mut builder = args.builder(task, data.train.len())?;
    if let Some(dim) = args.embedding_dim {
        if args.arch != "finalmlp" && args.arch != "final_mlp" {
            bail!("--embedding-dim applies to --arch finalmlp");
        }
        let fields: Vec<usize> = match &data.input {
            mlp::model::InputSchema::Tabular { preprocessor } => {
                preprocessor.columns.iter().map(|c| c.width()).collect()
            }
            mlp::model::InputSchema::Matrix { feature_names, .. } => vec![1; feature_names.len()],
        };
        let mut layers = vec![LayerSpec::Embedding { fields, dim }];
        layers.extend(builder.custom_layers().unwrap_or_default().iter().cloned());
        builder = builder.layers(layers);
    }
    let mut builder = with_output_layer(builder, outputs);
    // Images are scaled to [0, 1] on load; per-pixel standardization is for tabular columns.
    if matches!(
        data.input,
        mlp::model::InputSchema::Matrix {
            value_scale: Some(_),
            ..
        }
    ) {
        builder = builder.standardize(false);
    }
    if let Some(spec) = &args.augment {
        let is_image = matches!(
            data.input,
            mlp::model::InputSchema::Matrix {
                value_scale: Some(_),
                ..
            }
        );
        let side = (data.train.n_features as f64).sqrt().round() as usize;
        if !is_image || side * side != data.train.n_features {
            bail!(
                "--augment needs square images (IDX data or --dataset); this data has {} features",
                data.train.n_features
            );
        }
        builder.config.augment = Some(mlp::train::augment::ImageAugment::parse(spec, side, side)?);
    }

    let session: Session = builder.session(
        train_set,
        val_set.as_ref(),
        data.input.clone(),
        data.target.clone(),
        &data.passthrough,
        data.source.clone(),
    )?;
    Ok(session)
}

pub fn run(args: TrainArgs) -> Result<ExitCode> {
    let (mut args, resumed) = match &args.resume {
        Some(path) => {
            let (model, state, resume) = checkpoint::load(path)?;
            let mut saved: TrainArgs = serde_json::from_value(resume).with_context(|| {
                format!(
                    "{}: the checkpoint has no usable command line",
                    path.display()
                )
            })?;
            if args.out.is_some() {
                saved.out = args.out.clone();
            }
            if std::env::args().any(|a| a == "--epochs" || a.starts_with("--epochs=")) {
                saved.epochs = args.epochs;
            }
            saved.quiet = args.quiet;
            saved.json = args.json;
            saved.checkpoint = Some(saved.checkpoint.clone().unwrap_or_else(|| path.clone()));
            (saved, Some((model, state)))
        }
        None => (args, None),
    };
    let out = args.out.clone().context("--out MODEL is required")?;
    if let Some(path) = &args.plot {
        crate::plot::check_svg(path)?;
    }
    let loaded = load(&args)?;
    let mut session = session_for(&args, &loaded)?;
    resolve_auto_mvl(&mut args, &mut session)?;
    let (data, task) = (&loaded.data, loaded.task);
    if let Some((model, state)) = resumed {
        if model.network.spec() != session.model.network.spec() {
            bail!(
                "the checkpoint's architecture does not match its own command line; was the data file changed?"
            );
        }
        session.model.network.params = model.network.params;
        session.state = state;
        if session.state.finished && session.state.epoch < session.config.epochs {
            session.state.finished = false;
        }
    }

    let metric_name = if task == Task::Classification {
        "acc"
    } else {
        "r2"
    };
    let mut hooks = CliHooks::new(session.config.epochs, args.quiet || args.json, metric_name);
    let checkpoint_path = args.checkpoint.clone();
    if let Some(path) = &checkpoint_path {
        let template = session.model.clone();
        let resume = serde_json::to_value(&args)?;
        let p = path.clone();
        hooks = hooks.with_checkpoints(
            args.checkpoint_every,
            Box::new(move |net, state| {
                let mut m = template.clone();
                m.network.params.copy_from_slice(&net.params);
                if let Some(t) = m.training.as_mut() {
                    t.history = state.history.clone();
                }
                checkpoint::save(&p, &m, state, &resume)
            }),
            path.clone(),
        );
    }
    let result = session.run(&mut hooks);
    hooks.finish();
    let model = session.model.clone();
    match result {
        Ok(Outcome::Interrupted) => {
            model.save(&out)?;
            let ckpt = checkpoint_path.unwrap_or_else(|| with_suffix(&out, ".checkpoint"));
            checkpoint::save(&ckpt, &model, &session.state, &serde_json::to_value(&args)?)?;
            eprintln!(
                "interrupted at epoch {}, batch {}: model saved to {}; resume with `mlp train --resume {}`",
                session.state.epoch + 1,
                session.state.next_batch,
                out.display(),
                ckpt.display()
            );
            Ok(ExitCode::from(130))
        }
        Ok(outcome) => {
            model
                .save(&out)
                .with_context(|| format!("saving the model to {}", out.display()))?;
            if let Some(path) = &args.plot {
                crate::plot::training_curves(path, &session.state.history, metric_name)?;
            }
            report(&args, &model, &session, outcome, data.test.as_ref(), &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ mlp::Error::Diverged { .. }) => {
            model.save(&out)?;
            Err(anyhow::Error::new(e).context(format!(
                "the last good weights were saved to {}",
                out.display()
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// `--mvl auto` (or AT-LR without `--mvl`): picks the MVL layers by LSA after a short standard
/// warm-up (`mlp::train::auto_mvl`) and records them in the settings and in `args`, so a resumed
/// run reuses them instead of recomputing.
fn resolve_auto_mvl(args: &mut TrainArgs, session: &mut Session) -> Result<()> {
    let needs = session
        .config
        .adversarial
        .as_ref()
        .is_some_and(|a| a.layer_reg > 0.0 && a.mvl.is_empty());
    if !needs {
        return Ok(());
    }
    let mvl = mlp::train::auto_mvl(
        &session.model.network,
        &session.train,
        &session.config,
        &session.model.loss,
    )
    .context("choosing the MVL layers (--mvl auto)")?;
    let list: Vec<String> = mvl.iter().map(|l| l.to_string()).collect();
    if !args.quiet && !args.json {
        eprintln!("--mvl auto: most vulnerable layers {}", list.join(","));
    }
    args.mvl = Some(list.join(","));
    if let Some(a) = session.config.adversarial.as_mut() {
        a.mvl = mvl.clone();
    }
    if let Some(a) = session
        .model
        .training
        .as_mut()
        .and_then(|t| t.config.adversarial.as_mut())
    {
        a.mvl = mvl;
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn report(
    args: &TrainArgs,
    model: &Model,
    session: &Session,
    outcome: Outcome,
    test: Option<&mlp::data::Dataset>,
    out: &Path,
) -> Result<()> {
    let history = &session.state.history;
    let last = history.last();
    let test_eval = match test {
        Some(t) => Some(model.evaluate(t)?),
        None => None,
    };
    let train_summary = model.training.as_ref();
    if args.json {
        let summary = serde_json::json!({
            "model": out.display().to_string(),
            "task": model.task.name(),
            "n_params": model.network.n_params(),
            "epochs_run": history.len(),
            "outcome": train_summary.map(|t| t.outcome.clone()),
            "train_samples": train_summary.map(|t| t.train_samples),
            "val_samples": train_summary.map(|t| t.val_samples),
            "train_loss": last.map(|r| r.train_loss),
            "val_loss": last.and_then(|r| r.val_loss),
            "val_metric": last.and_then(|r| r.val_metric),
            "best_epoch": match outcome { Outcome::EarlyStopped { best_epoch } => Some(best_epoch), _ => None },
            "seconds": train_summary.map(|t| t.seconds),
            "test": test_eval,
        });
        println!("{summary}");
        return Ok(());
    }
    if args.quiet {
        return Ok(());
    }
    let t = train_summary;
    println!(
        "trained {} ({} parameters) on {} samples ({} validation) in {:.1}s: {}",
        model.task.name(),
        model.network.n_params(),
        t.map_or(0, |t| t.train_samples),
        t.map_or(0, |t| t.val_samples),
        t.map_or(0.0, |t| t.seconds),
        t.map_or("", |t| t.outcome.as_str())
    );
    if let Some(r) = last {
        let best = session.state.best.as_ref();
        match (best, r.val_metric) {
            (Some((loss, epoch, _)), _) => {
                println!("best validation loss {loss:.4} at epoch {epoch}")
            }
            (None, _) => println!("final train loss {:.4}", r.train_loss),
        }
    }
    if let Some(e) = &test_eval {
        println!("test set:");
        crate::output::print_evaluation(e, model);
    }
    println!("model written to {}", out.display());
    Ok(())
}
