//! The high-level API: describe a model with a builder, `fit` it, then `predict`.
//!
//! ```
//! use mlp::estimator::MlpBuilder;
//! use mlp::data::generate::two_moons;
//!
//! let data = two_moons(400, 0.1, 7).unwrap();
//! let model = MlpBuilder::classifier()
//!     .hidden(&[32, 32])
//!     .epochs(200)
//!     .batch_size(32)
//!     .seed(1)
//!     .fit(&data)
//!     .unwrap();
//! let classes = model.predict_classes(data.features(), data.len()).unwrap();
//! let report = model.evaluate(&data).unwrap();
//! assert!(report.accuracy().unwrap() > 0.95);
//! # let _ = classes;
//! ```
//!
//! From a table of raw rows (CSV or in memory), with the encoding kept in the model:
//! [`MlpBuilder::fit_table`] (see [`crate::table`]).
//!
//! With the `ndarray` cargo feature (on by default): `MlpBuilder::fit_array` takes an
//! `ArrayView2<f32>` of features and a slice of class indices or an `ArrayView2<f32>` of targets.

use crate::data::preprocess::{Impute, TargetEncoder, TargetKind};
use crate::data::split;
use crate::data::{Dataset, Targets};
use crate::kernels::elementwise::Activation;
use crate::loss::Loss;
use crate::metrics::{ClassificationReport, MultiLabelReport, RegressionReport};
use crate::model::{InputSchema, Model, Scaler, Task, TrainingSummary};
use crate::optim::OptimizerConfig;
use crate::optim::schedule::Schedule;
use crate::rng::Rng;
use crate::spec::{LayerSpec, ModelSpec};
use crate::table::{Table, TableColumns, encode_training_table};
use crate::train::{
    self, Hooks, NoHooks, Outcome, TrainConfig, TrainState, ValidationSplit, select,
};
use crate::{Error, Result};

/// How classes are weighted in the loss.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// All classes weigh 1.
    #[default]
    None,
    /// `n_samples / (n_classes * count_c)`, scikit-learn's `"balanced"`.
    Balanced,
    /// Given weights, one per class.
    Manual(Vec<f32>),
}

/// Builder for an MLP and its training run.
#[derive(Debug, Clone)]
pub struct MlpBuilder {
    task: Option<Task>,
    hidden: Vec<usize>,
    activation: Activation,
    dropout: f32,
    layers: Option<Vec<LayerSpec>>,
    loss: Option<Loss>,
    label_smoothing: f32,
    class_weight: ClassWeight,
    validation: ValidationSplit,
    /// Whether [`MlpBuilder::validation`] was called (otherwise tables get the automatic rule).
    validation_given: bool,
    standardize: bool,
    table: TableColumns,
    /// The training configuration: the setters below write it; [`MlpBuilder::train_config`]
    /// replaces it whole.
    config: TrainConfig,
}

impl Default for MlpBuilder {
    fn default() -> Self {
        MlpBuilder {
            task: None,
            hidden: vec![100],
            activation: Activation::Relu,
            dropout: 0.0,
            layers: None,
            loss: None,
            label_smoothing: 0.0,
            class_weight: ClassWeight::None,
            validation: ValidationSplit::Random(0.1),
            validation_given: false,
            standardize: true,
            table: TableColumns::default(),
            config: TrainConfig::default(),
        }
    }
}

impl MlpBuilder {
    /// A builder with defaults (task inferred from the targets).
    pub fn new() -> Self {
        Self::default()
    }
    /// A classifier (softmax cross-entropy).
    pub fn classifier() -> Self {
        MlpBuilder {
            task: Some(Task::Classification),
            validation: ValidationSplit::Stratified(0.1),
            ..Self::default()
        }
    }
    /// A regressor (MSE on standardized targets).
    pub fn regressor() -> Self {
        MlpBuilder {
            task: Some(Task::Regression),
            ..Self::default()
        }
    }
    /// Sets the task explicitly.
    pub fn task(mut self, task: Task) -> Self {
        self.task = Some(task);
        self
    }
    /// Hidden layer widths (default `[100]`, scikit-learn's).
    pub fn hidden(mut self, widths: &[usize]) -> Self {
        self.hidden = widths.to_vec();
        self
    }
    /// Hidden activation (default ReLU).
    pub fn activation(mut self, act: Activation) -> Self {
        self.activation = act;
        self
    }
    /// Dropout after each hidden layer.
    pub fn dropout(mut self, p: f32) -> Self {
        self.dropout = p;
        self
    }
    /// A full layer stack instead of `hidden`/`activation`/`dropout` (the last layer must
    /// produce as many outputs as the task needs).
    pub fn layers(mut self, layers: Vec<LayerSpec>) -> Self {
        self.layers = Some(layers);
        self
    }
    /// The custom layer stack, if one was given.
    pub fn custom_layers(&self) -> Option<&[LayerSpec]> {
        self.layers.as_deref()
    }
    /// Drops a custom layer stack, so that `hidden`/`activation`/`dropout` describe the network
    /// again (the model selection switches candidates this way).
    pub(crate) fn without_layers(mut self) -> Self {
        self.layers = None;
        self
    }
    /// Network outputs these targets need under this builder's loss (as
    /// [`MlpBuilder::session`] builds them).
    pub(crate) fn outputs_for(&self, targets: &Targets) -> usize {
        match (targets, self.loss) {
            (Targets::Classes { .. }, Some(Loss::Bce)) => 1,
            (Targets::Classes { n_classes, .. }, _) => *n_classes,
            (Targets::Values { n_outputs, .. }, _) => *n_outputs,
            (Targets::MultiLabel { n_labels, .. }, _) => *n_labels,
        }
    }
    /// The loss (default: cross-entropy, MSE or multi-label BCE from the task).
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = Some(loss);
        self
    }
    /// Label smoothing for cross-entropy.
    pub fn label_smoothing(mut self, eps: f32) -> Self {
        self.label_smoothing = eps;
        self
    }
    /// Class weighting.
    pub fn class_weight(mut self, w: ClassWeight) -> Self {
        self.class_weight = w;
        self
    }
    /// Validation split. Default for [`MlpBuilder::fit`]: stratified 10% for classifiers, random
    /// 10% otherwise. Default for [`MlpBuilder::fit_table`]: as `mlp train`, 10% (stratified for
    /// classifiers) from [`AUTO_VALIDATION_MIN_ROWS`] rows up, none below (training then stops
    /// when the training loss stops improving).
    pub fn validation(mut self, v: ValidationSplit) -> Self {
        self.validation = v;
        self.validation_given = true;
        self
    }
    /// Table feature columns for [`MlpBuilder::fit_table`] (names or 0-based indices; default:
    /// every column but the target, the weight column and ignored columns).
    pub fn features<S: AsRef<str>>(mut self, columns: &[S]) -> Self {
        self.table.features = Some(columns.iter().map(|c| c.as_ref().to_string()).collect());
        self
    }
    /// Table columns to leave out of the features.
    pub fn ignore<S: AsRef<str>>(mut self, columns: &[S]) -> Self {
        self.table.ignore = columns.iter().map(|c| c.as_ref().to_string()).collect();
        self
    }
    /// A table column of per-sample weights (finite, `>= 0`, not all zero).
    pub fn weight_column(mut self, column: &str) -> Self {
        self.table.weight_column = Some(column.to_string());
        self
    }
    /// How to fill missing cells of table feature columns (default: a missing cell is an error).
    pub fn impute(mut self, how: Impute) -> Self {
        self.table.impute = how;
        self
    }
    /// Whether to standardize features (default true).
    pub fn standardize(mut self, yes: bool) -> Self {
        self.standardize = yes;
        self
    }
    /// Maximum epochs.
    pub fn epochs(mut self, n: usize) -> Self {
        self.config.epochs = n;
        self
    }
    /// Minibatch size.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.config.batch_size = n;
        self
    }
    /// Learning rate.
    pub fn lr(mut self, lr: f32) -> Self {
        self.config.lr = Some(lr);
        self
    }
    /// Optimizer.
    pub fn optimizer(mut self, opt: OptimizerConfig) -> Self {
        self.config.optimizer = opt;
        self
    }
    /// Weight decay.
    pub fn weight_decay(mut self, wd: f32) -> Self {
        self.config.weight_decay = wd;
        self
    }
    /// Learning-rate schedule.
    pub fn schedule(mut self, s: Schedule) -> Self {
        self.config.schedule = s;
        self
    }
    /// Early-stopping patience in epochs: `.patience(10)`, or `.patience(None)` to disable early
    /// stopping (default 20).
    pub fn patience(mut self, p: impl Into<Option<usize>>) -> Self {
        self.config.patience = p.into();
        self
    }
    /// Random seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }
    /// Worker threads (0 = all cores).
    pub fn threads(mut self, n: usize) -> Self {
        self.config.threads = n;
        self
    }
    /// A deep ensemble of `k` networks (default 1), trained with seeds derived from the seed
    /// and averaged at prediction time; see [`crate::ensemble`].
    pub fn ensemble(mut self, k: usize) -> Self {
        self.config.ensemble = k;
        self
    }
    /// Replaces the whole training configuration, for the settings without a setter here
    /// (gradient clipping, mixup, augmentation, adversarial training, ...). Setters called after
    /// this still apply on top of it.
    pub fn train_config(mut self, config: TrainConfig) -> Self {
        self.config = config;
        self
    }
    /// The training configuration the builder holds (to extend it and pass it back through
    /// [`MlpBuilder::train_config`]).
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Fits on a table of raw rows: encodes the features (standardized numbers, one-hot
    /// categories, imputation) and the target (class labels, or scaled values) exactly as
    /// `mlp train --data FILE --target COL` does, and keeps both encodings in the model, so
    /// [`Model::predict_table`] takes raw rows and answers in labels or raw units. `target` names
    /// one column, or several comma-separated for multi-output regression. With the same settings
    /// and seed, the weights equal those of `mlp train`.
    pub fn fit_table(&self, table: &Table, target: &str) -> Result<Model> {
        let mut session = self.table_session(table, target)?;
        session.run(&mut NoHooks)?;
        Ok(session.into_model())
    }

    /// The training session [`MlpBuilder::fit_table`] runs (to train with hooks, or resume).
    pub fn table_session(&self, table: &Table, target: &str) -> Result<Session> {
        let kind = match self.task {
            None => None,
            Some(Task::Classification) => Some(TargetKind::Classify),
            Some(Task::Regression) => Some(TargetKind::Regress),
            Some(Task::MultiLabel) => {
                return Err(Error::config(
                    "task",
                    "multi-label training from a table is not supported; use fit on a Dataset",
                ));
            }
        };
        let config = self.table.feature_config(target);
        let enc = encode_training_table(table.raw(), &config, kind)?;
        let task = enc.task();
        let mut builder = self.clone().task(task);
        if !self.validation_given {
            builder.validation = auto_validation(task, enc.data.len());
        }
        builder.session(
            &enc.data,
            None,
            enc.input,
            enc.target,
            &enc.passthrough,
            table.raw().path.display().to_string(),
        )
    }

    /// Fits on a data set of encoded numeric features (regression targets in original units).
    pub fn fit(&self, data: &Dataset) -> Result<Model> {
        data.validate()?;
        let names = (0..data.n_features).map(|i| format!("x{i}")).collect();
        let input = InputSchema::Matrix {
            feature_names: names,
            source: "array".into(),
            value_scale: None,
        };
        let (data, target) = encode_targets(data, self.task)?;
        let mut session = self.session(&data, None, input, target, &[], "array".into())?;
        session.run(&mut NoHooks)?;
        Ok(session.into_model())
    }

    /// Fits as the default `mlp train` does: scores the candidates of [`crate::train::select`]
    /// (a linear model, one hidden layer, a wide-and-deep network) on `data` by cross-validation
    /// or a hold-out, then trains the chosen one on all rows. The candidates replace this
    /// builder's network and training settings (hidden, epochs, optimizer, weight decay,
    /// validation); its task, seed, threads, loss and class weights are kept. The model's training
    /// summary records the selection ([`TrainingSummary::selection`]).
    pub fn fit_selected(&self, data: &Dataset) -> Result<Model> {
        data.validate()?;
        let names = (0..data.n_features).map(|i| format!("x{i}")).collect();
        let input = InputSchema::Matrix {
            feature_names: names,
            source: "array".into(),
            value_scale: None,
        };
        let (data, target) = encode_targets(data, self.task)?;
        let task = self.task_for(&data.targets);
        let builder = self.clone().task(task);
        let selection = select::select(
            &builder,
            select::SelectionData {
                data: &data,
                input: &input,
                target: &target,
                passthrough: &[],
            },
        )?;
        let outputs = builder.outputs_for(&data.targets);
        let mut session = selection
            .apply(builder, task, data.n_features, outputs)
            .session(&data, None, input, target, &[], "array".into())?;
        session.run(&mut NoHooks)?;
        let mut model = session.into_model();
        if let Some(t) = model.training.as_mut() {
            t.selection = Some(selection);
        }
        Ok(model)
    }

    /// Fits on `ndarray` features and class indices (cargo feature `ndarray`).
    #[cfg(feature = "ndarray")]
    pub fn fit_array(&self, x: ndarray::ArrayView2<'_, f32>, classes: &[usize]) -> Result<Model> {
        if classes.len() != x.nrows() {
            return Err(Error::shape(
                "fit_array (one class per row)",
                x.nrows(),
                classes.len(),
            ));
        }
        let n_classes = classes.iter().max().map_or(0, |m| m + 1);
        let data = Dataset {
            features: x.iter().copied().collect(),
            n_features: x.ncols(),
            targets: Targets::Classes {
                labels: classes.to_vec(),
                n_classes,
            },
            weights: None,
        };
        if classes.len() != x.nrows() {
            return Err(Error::shape("fit_array", x.nrows(), classes.len()));
        }
        self.clone().task(Task::Classification).fit(&data)
    }

    /// Fits a regressor on `ndarray` features and targets (`rows x outputs`; cargo feature
    /// `ndarray`).
    #[cfg(feature = "ndarray")]
    pub fn fit_array_regression(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
        y: ndarray::ArrayView2<'_, f32>,
    ) -> Result<Model> {
        if y.nrows() != x.nrows() {
            return Err(Error::shape("fit_array_regression", x.nrows(), y.nrows()));
        }
        self.fit_rows_regression(
            x.iter().copied().collect(),
            x.ncols(),
            y.iter().copied().collect(),
            y.ncols(),
        )
    }

    /// Fits a regressor on row-major features (`n_features` per row) and targets (`n_outputs`
    /// per row): the body of [`MlpBuilder::fit_array_regression`].
    #[cfg(feature = "ndarray")]
    pub(crate) fn fit_rows_regression(
        &self,
        features: Vec<f32>,
        n_features: usize,
        values: Vec<f32>,
        n_outputs: usize,
    ) -> Result<Model> {
        let data = Dataset {
            features,
            n_features,
            targets: Targets::Values { values, n_outputs },
            weights: None,
        };
        self.clone().task(Task::Regression).fit(&data)
    }

    /// The task these targets imply under this builder.
    fn task_for(&self, targets: &Targets) -> Task {
        self.task.unwrap_or(match targets {
            Targets::Classes { .. } => Task::Classification,
            Targets::Values { .. } => Task::Regression,
            Targets::MultiLabel { .. } => Task::MultiLabel,
        })
    }

    /// Prepares a training session: splits off validation data (unless `val` is given), fits the
    /// feature scaler on the training part, builds the network and the loss.
    ///
    /// `data` holds encoded features and encoded targets (class indices, or standardized values
    /// described by `target`); `passthrough` marks encoded columns that are not scaled (one-hot).
    pub fn session(
        &self,
        data: &Dataset,
        val: Option<&Dataset>,
        input: InputSchema,
        target: TargetEncoder,
        passthrough: &[bool],
        source: String,
    ) -> Result<Session> {
        if data.is_empty() {
            return Err(Error::InvalidData("no training samples".into()));
        }
        data.validate()?;
        if let Some(v) = val {
            v.validate()?;
            if v.n_features != data.n_features {
                return Err(Error::shape(
                    "validation data",
                    format!("{} features (as the training data)", data.n_features),
                    format!("{} features", v.n_features),
                ));
            }
        }
        for (i, &x) in data.features.iter().enumerate() {
            if !x.is_finite() {
                return Err(Error::InvalidData(format!(
                    "feature {} of sample {} is {x}; clean the data or impute missing values",
                    i % data.n_features.max(1),
                    i / data.n_features.max(1)
                )));
            }
        }
        if let Targets::Classes { labels, .. } = &data.targets {
            let first = labels.first().copied();
            if labels.iter().all(|&l| Some(l) == first) {
                return Err(Error::InvalidData(format!(
                    "every training sample has class {}; classification needs at least two classes",
                    first.unwrap_or(0)
                )));
            }
        }
        let task = self.task_for(&data.targets);
        let mut config = self.config.clone();
        let (mut train_set, mut val_set) = match val {
            Some(v) => (data.clone(), Some(v.clone())),
            None => match self.split_rows(data)? {
                None => (data.clone(), None),
                Some((tr, va)) => {
                    // Soft labels follow their rows into the training part.
                    if let Some(d) = config.distill.take() {
                        config.distill = Some(d.select(&tr));
                    }
                    (data.select(&tr), Some(data.select(&va)))
                }
            },
        };
        let scaler = if self.standardize {
            Scaler::fit(&train_set.features, train_set.n_features, passthrough)
        } else {
            Scaler::identity(train_set.n_features)
        };
        scaler.apply(&mut train_set.features);
        if let Some(v) = val_set.as_mut() {
            scaler.apply(&mut v.features);
        }
        let loss = self.loss.unwrap_or(match task {
            Task::Classification => Loss::CrossEntropy {
                label_smoothing: self.label_smoothing,
            },
            Task::Regression => Loss::Mse,
            Task::MultiLabel => Loss::MultilabelBce,
        });
        let outputs = match (&train_set.targets, loss) {
            (Targets::Classes { .. }, Loss::Bce) => 1,
            (Targets::Classes { n_classes, .. }, _) => *n_classes,
            (Targets::Values { n_outputs, .. }, _) => *n_outputs * loss.outputs_per_target(),
            (Targets::MultiLabel { n_labels, .. }, _) => *n_labels,
        };
        if let Targets::Classes { labels, n_classes } = &train_set.targets {
            config.class_weights = match &self.class_weight {
                ClassWeight::None => None,
                ClassWeight::Balanced => Some(balanced_weights(labels, *n_classes)),
                ClassWeight::Manual(w) => {
                    if w.len() != *n_classes {
                        return Err(Error::config(
                            "class-weight",
                            format!("{} weights given for {} classes", w.len(), n_classes),
                        ));
                    }
                    Some(w.clone())
                }
            };
        }
        let spec = match &self.layers {
            Some(layers) => ModelSpec {
                inputs: train_set.n_features,
                layers: layers.clone(),
            },
            None => ModelSpec::mlp(
                train_set.n_features,
                &self.hidden,
                outputs,
                self.activation,
                self.dropout,
            ),
        };
        if spec.outputs() != outputs {
            return Err(Error::config(
                "layers",
                format!(
                    "the spec ends with {} outputs; this task needs {outputs}",
                    spec.outputs()
                ),
            ));
        }
        config.loss = Some(loss);
        if let Some(d) = &config.distill {
            check_distill(d, &config, loss, &train_set, outputs)?;
        }
        if let Some(adv) = config.adversarial.as_mut() {
            // One-hot columns are categories, not quantities: attacks leave them alone.
            adv.frozen_features = (0..train_set.n_features)
                .filter(|&j| passthrough.get(j).copied().unwrap_or(false))
                .collect();
        }
        config.validate()?;
        let mut network = spec.build(config.seed)?;
        // KAN grids that follow the data are placed on (a sample of) the scaled training rows.
        let sample_rows = train_set.len().min(4096);
        network.fit_kan_grids(&train_set.features, sample_rows)?;
        let training = TrainingSummary {
            config: config.clone(),
            history: Vec::new(),
            outcome: "not started".into(),
            train_samples: train_set.len(),
            val_samples: val_set.as_ref().map_or(0, |v| v.len()),
            data: source,
            seconds: 0.0,
            selection: None,
        };
        let model = Model {
            network,
            task,
            input,
            scaler,
            target,
            loss,
            training: Some(training),
            uncertainty: None,
            members: Vec::new(),
        };
        Ok(Session {
            model,
            train: train_set,
            val: val_set,
            config,
            state: TrainState::default(),
        })
    }

    /// The rows of the validation split: `None` when no rows are held out.
    fn split_rows(&self, data: &Dataset) -> Result<Option<(Vec<usize>, Vec<usize>)>> {
        let mut rng = Rng::seed_from(self.config.seed ^ 0x5EED_5B11_7000_0001);
        let (tr, va) = match &self.validation {
            ValidationSplit::None | ValidationSplit::File(_) => return Ok(None),
            ValidationSplit::Random(f) => split::random_split(data.len(), *f, &mut rng)?,
            ValidationSplit::Stratified(f) => match &data.targets {
                Targets::Classes { labels, n_classes } => {
                    split::stratified_split(labels, *n_classes, *f, &mut rng)?
                }
                _ => split::random_split(data.len(), *f, &mut rng)?,
            },
            ValidationSplit::Chronological(f) => split::chronological_split(data.len(), *f)?,
        };
        if va.is_empty() {
            return Ok(None);
        }
        if tr.is_empty() {
            return Err(Error::InvalidData(
                "the validation split leaves no training samples".into(),
            ));
        }
        Ok(Some((tr, va)))
    }
}

/// Distillation needs a softmax classifier trained by minibatches on rows the soft labels
/// match one for one.
fn check_distill(
    d: &crate::train::distill::Distill,
    config: &TrainConfig,
    loss: Loss,
    train_set: &Dataset,
    outputs: usize,
) -> Result<()> {
    let bad = |msg: String| Err(Error::config("distill", msg));
    if !matches!(loss, Loss::CrossEntropy { .. }) {
        return bad(format!(
            "distillation needs a classifier trained with cross_entropy, not {}",
            loss.name()
        ));
    }
    if d.classes != outputs {
        return bad(format!(
            "the teacher gives {} columns, the student has {outputs} classes",
            d.classes
        ));
    }
    if d.rows() != train_set.len() {
        return bad(format!(
            "the teacher has {} rows, the training data {}",
            d.rows(),
            train_set.len()
        ));
    }
    if config.mixup.is_some() || config.ensemble > 1 {
        return bad("distillation cannot be combined with mixup or an ensemble".into());
    }
    if matches!(
        config.optimizer,
        crate::optim::OptimizerConfig::Lbfgs { .. }
    ) {
        return bad("distillation needs a minibatch optimizer (not lbfgs)".into());
    }
    Ok(())
}

/// Training sets at least this large hold out a validation fraction by default in
/// [`MlpBuilder::fit_table`] and `mlp train`.
pub const AUTO_VALIDATION_MIN_ROWS: usize = 5000;

/// The validation split `mlp train` and [`MlpBuilder::fit_table`] use when none is given: 10%
/// (stratified for classification) from [`AUTO_VALIDATION_MIN_ROWS`] rows up, none below (a small
/// held-out set costs more accuracy than it saves).
pub fn auto_validation(task: Task, n_rows: usize) -> ValidationSplit {
    if n_rows < AUTO_VALIDATION_MIN_ROWS {
        ValidationSplit::None
    } else if task == Task::Classification {
        ValidationSplit::Stratified(0.1)
    } else {
        ValidationSplit::Random(0.1)
    }
}

/// `n / (k * count_c)` per class (0 for absent classes).
pub fn balanced_weights(labels: &[usize], n_classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; n_classes];
    for &l in labels {
        // Out-of-range labels are rejected by `Dataset::validate` before this runs.
        if let Some(c) = counts.get_mut(l) {
            *c += 1;
        }
    }
    let n = labels.len() as f64;
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (n / (n_classes as f64 * c as f64)) as f32
            }
        })
        .collect()
}

/// Encodes raw targets: regression values are standardized (the encoder maps them back).
pub fn encode_targets(data: &Dataset, task: Option<Task>) -> Result<(Dataset, TargetEncoder)> {
    match &data.targets {
        Targets::Classes { n_classes, .. } => {
            if task == Some(Task::Regression) {
                return Err(Error::config(
                    "task",
                    "regression needs numeric targets, got class labels",
                ));
            }
            let labels = (0..*n_classes).map(|c| c.to_string()).collect();
            Ok((
                data.clone(),
                TargetEncoder::Classes {
                    name: "class".into(),
                    labels,
                },
            ))
        }
        Targets::Values { values, n_outputs } => {
            let k = *n_outputs;
            let n = values.len() / k.max(1);
            let mut mean = vec![0.0f64; k];
            let mut scale = vec![0.0f64; k];
            for row in values.chunks_exact(k) {
                for j in 0..k {
                    mean[j] += row[j] as f64 / n.max(1) as f64;
                }
            }
            for row in values.chunks_exact(k) {
                for j in 0..k {
                    scale[j] += (row[j] as f64 - mean[j]).powi(2) / n.max(1) as f64;
                }
            }
            let scale: Vec<f64> = scale
                .into_iter()
                .map(|v| if v > 1e-24 { v.sqrt() } else { 1.0 })
                .collect();
            let mut out = data.clone();
            if let Targets::Values { values, .. } = &mut out.targets {
                for row in values.chunks_exact_mut(k) {
                    for j in 0..k {
                        row[j] = ((row[j] as f64 - mean[j]) / scale[j]) as f32;
                    }
                }
            }
            let names = (0..k).map(|j| format!("y{j}")).collect();
            Ok((out, TargetEncoder::Standardized { names, mean, scale }))
        }
        Targets::MultiLabel { n_labels, .. } => {
            let labels = (0..*n_labels).map(|c| c.to_string()).collect();
            Ok((
                data.clone(),
                TargetEncoder::Classes {
                    name: "labels".into(),
                    labels,
                },
            ))
        }
    }
}

/// A training run in progress: the model (current weights), scaled data, and resumable state.
#[derive(Debug, Clone)]
pub struct Session {
    /// The model being trained.
    pub(crate) model: Model,
    /// Scaled training data.
    pub(crate) train: Dataset,
    /// Scaled validation data.
    pub(crate) val: Option<Dataset>,
    /// Effective training configuration.
    pub(crate) config: TrainConfig,
    /// Resumable state.
    pub(crate) state: TrainState,
}

impl Session {
    /// The model being trained (its current weights).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model, to change before (or between) runs: e.g. weights restored from a checkpoint.
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    /// The scaled training data.
    pub fn train_data(&self) -> &Dataset {
        &self.train
    }

    /// The scaled validation data, if any.
    pub fn val_data(&self) -> Option<&Dataset> {
        self.val.as_ref()
    }

    /// The effective training configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The configuration, to change between runs (e.g. more epochs when resuming).
    pub fn config_mut(&mut self) -> &mut TrainConfig {
        &mut self.config
    }

    /// The resumable state: epoch, history, best weights seen.
    pub fn state(&self) -> &TrainState {
        &self.state
    }

    /// The state, to restore a checkpoint's before resuming.
    pub fn state_mut(&mut self) -> &mut TrainState {
        &mut self.state
    }

    /// Trains until done, early-stopped, interrupted, or diverged. The model's history and
    /// outcome (the [`Outcome`]'s sentence) are updated in every case; on divergence
    /// ([`Outcome::Diverged`]) the model holds the best weights seen.
    pub fn run(&mut self, hooks: &mut (dyn Hooks + Send)) -> Result<Outcome> {
        let started = std::time::Instant::now();
        let result = if self.config.ensemble > 1 {
            crate::ensemble::train_members(self, hooks)
        } else {
            train::train(
                &mut self.model.network,
                &self.train,
                self.val.as_ref(),
                &self.config,
                &self.model.loss,
                &mut self.state,
                hooks,
            )
        };
        if let Some(t) = self.model.training.as_mut() {
            t.history = self.state.history.clone();
            t.seconds += started.elapsed().as_secs_f64();
            t.outcome = match &result {
                Ok(outcome) => outcome.to_string(),
                Err(e) => format!("failed: {e}"),
            };
        }
        result
    }

    /// The trained model.
    pub fn into_model(self) -> Model {
        self.model
    }
}

/// Evaluation results for either task.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Evaluation {
    /// Classification metrics.
    Classification(ClassificationReport),
    /// Regression metrics (in the target's original units).
    Regression(RegressionReport),
    /// Multi-label metrics.
    MultiLabel(MultiLabelReport),
}

impl Evaluation {
    /// Accuracy, for classification.
    pub fn accuracy(&self) -> Option<f64> {
        match self {
            Evaluation::Classification(r) => Some(r.accuracy),
            Evaluation::Regression(_) | Evaluation::MultiLabel(_) => None,
        }
    }
}

impl Model {
    /// Metrics on a data set of encoded features with encoded targets (class indices, or
    /// standardized values as produced by this model's target encoder).
    ///
    /// Errors (never a panic): a malformed data set, a feature count other than the model's, a
    /// class index the model does not know, a target width other than the model's outputs.
    pub fn evaluate(&self, data: &Dataset) -> Result<Evaluation> {
        data.validate()?;
        if data.n_features != self.n_features() {
            return Err(Error::shape(
                "evaluate",
                format!("{} features (as the model)", self.n_features()),
                format!("{} features", data.n_features),
            ));
        }
        let n = data.len();
        match (&data.targets, self.task) {
            (Targets::Classes { labels, .. }, Task::Classification) => {
                let k = self.n_classes();
                if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| **l >= k) {
                    return Err(Error::InvalidData(format!(
                        "sample {i} has class index {l}, but the model knows {k} classes (0..{k})"
                    )));
                }
                let proba = self.predict_proba(&data.features, n)?;
                let pred: Vec<usize> = proba.chunks_exact(k.max(1)).map(train::argmax).collect();
                Ok(Evaluation::Classification(
                    ClassificationReport::try_compute(labels, &pred, Some(&proba), k)?,
                ))
            }
            (Targets::Values { values, n_outputs }, Task::Regression) => {
                if *n_outputs != self.output_width() {
                    return Err(Error::shape(
                        "evaluate (targets per sample)",
                        self.output_width(),
                        n_outputs,
                    ));
                }
                let pred = self.predict_values(&data.features, n)?;
                let mut truth = values.clone();
                self.target.decode_values(&mut truth);
                Ok(Evaluation::Regression(RegressionReport::compute(
                    &truth, &pred, *n_outputs,
                )))
            }
            (Targets::MultiLabel { values, n_labels }, Task::MultiLabel) => {
                if *n_labels != self.network.outputs() {
                    return Err(Error::shape(
                        "evaluate (labels per sample)",
                        self.network.outputs(),
                        n_labels,
                    ));
                }
                let proba = self.predict_proba(&data.features, n)?;
                Ok(Evaluation::MultiLabel(MultiLabelReport::compute(
                    values, &proba, *n_labels,
                )))
            }
            _ => Err(Error::config(
                "task",
                format!(
                    "the data's targets do not fit this {} model",
                    self.task.name()
                ),
            )),
        }
    }
}

/// `ndarray` entry points: features as `ArrayView2<f32>` (`rows x features`, any layout; cargo
/// feature `ndarray`).
///
/// ```
/// use mlp::estimator::MlpBuilder;
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((200, 2), |(i, j)| ((i * 7 + j * 3) % 20) as f32 / 10.0 - 1.0);
/// let y: Vec<usize> = x.rows().into_iter().map(|r| usize::from(r[0] + r[1] > 0.0)).collect();
/// let model = MlpBuilder::new().hidden(&[16]).epochs(100).batch_size(20).seed(0)
///     .fit_array(x.view(), &y).unwrap();
/// let proba = model.predict_proba_array(x.view()).unwrap();
/// assert_eq!(proba.dim(), (200, 2));
/// let classes = model.predict_classes_array(x.view()).unwrap();
/// let acc = classes.iter().zip(&y).filter(|(a, b)| a == b).count() as f64 / 200.0;
/// assert!(acc > 0.9);
/// ```
#[cfg(feature = "ndarray")]
impl Model {
    fn rows_of(x: ndarray::ArrayView2<'_, f32>) -> (Vec<f32>, usize) {
        (x.iter().copied().collect(), x.nrows())
    }

    /// Class (or label) probabilities as `rows x classes`.
    pub fn predict_proba_array(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
    ) -> Result<ndarray::Array2<f32>> {
        let (flat, rows) = Self::rows_of(x);
        let p = self.predict_proba(&flat, rows)?;
        let k = p.len().checked_div(rows).unwrap_or(0);
        ndarray::Array2::from_shape_vec((rows, k), p)
            .map_err(|e| Error::shape("predict_proba_array", rows, e))
    }

    /// Predicted class indices.
    pub fn predict_classes_array(&self, x: ndarray::ArrayView2<'_, f32>) -> Result<Vec<usize>> {
        let (flat, rows) = Self::rows_of(x);
        self.predict_classes(&flat, rows)
    }

    /// Predicted values in original units as `rows x outputs` (regression).
    pub fn predict_values_array(
        &self,
        x: ndarray::ArrayView2<'_, f32>,
    ) -> Result<ndarray::Array2<f32>> {
        let (flat, rows) = Self::rows_of(x);
        let v = self.predict_values(&flat, rows)?;
        let k = v.len().checked_div(rows).unwrap_or(0);
        ndarray::Array2::from_shape_vec((rows, k), v)
            .map_err(|e| Error::shape("predict_values_array", rows, e))
    }
}
