//! A trained model that predicts from raw input: the network plus everything around it
//! (input encoding and scaling, class labels or target scaling, training history), saved as one
//! self-describing safetensors file.
//!
//! # File format (version 1)
//! - Tensors `layers.{i}.weight` (`out x in`, as PyTorch's `nn.Linear`) and `layers.{i}.bias`,
//!   numbered by position in the spec's layer list (dropout layers take a number but no tensors).
//! - Tensors `input.mean` and `input.scale`: the network sees `x' = (x - mean) / scale`, where `x`
//!   is the encoded feature vector (numeric columns as they are, then one-hot blocks).
//! - `__metadata__`: `format = "mlp"`, `format_version = "1"`, and `mlp`: a JSON document with the
//!   spec, task, input schema (column names, encoders, imputation values), target encoding (class
//!   labels, or target mean/scale), loss, and the training summary with its per-epoch history.

use crate::data::preprocess::{Preprocessor, TargetEncoder};
use crate::io::TensorFile;
use crate::loss::{Loss, softmax_rows};
use crate::network::{InferenceScratch, Network};
use crate::spec::ModelSpec;
use crate::train::{EpochRecord, TrainConfig};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

// Model-side glue for the attacks of `robust` (perturbation space in raw or network units), kept
// here so that `robust` does not depend on `model`.
mod perturb;

/// The newest model-file format version this build reads. Files are written as version 1 unless
/// they hold what version-1 readers would misread: an ensemble (see [`crate::ensemble`]) is
/// version 2, so an older `mlp` refuses it instead of predicting with its first member alone.
pub(crate) const FORMAT_VERSION: u32 = 2;

/// What the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// One class per sample.
    Classification,
    /// Real values.
    Regression,
    /// Independent yes/no labels.
    MultiLabel,
}

impl Task {
    /// The task's name.
    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
            Task::MultiLabel => "multi_label",
        }
    }
}

/// How raw input becomes the encoded feature vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputSchema {
    /// CSV columns: numeric columns, one-hot categories, imputation.
    Tabular {
        /// The fitted encoder.
        preprocessor: Preprocessor,
    },
    /// A numeric matrix (IDX images, NPY arrays, generated data).
    Matrix {
        /// Names of the features (e.g. `pixel0..pixel783`).
        feature_names: Vec<String>,
        /// Where the training data came from (e.g. `fashion-mnist`, `npy`).
        source: String,
        /// Raw values were multiplied by this before scaling (1/255 for images).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value_scale: Option<f32>,
    },
}

impl InputSchema {
    /// Names of the encoded features, in network-input order.
    pub fn feature_names(&self) -> Vec<String> {
        match self {
            InputSchema::Tabular { preprocessor } => preprocessor.feature_names.clone(),
            InputSchema::Matrix { feature_names, .. } => feature_names.clone(),
        }
    }
}

/// Per-feature standardization `x' = (x - mean) / scale`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scaler {
    /// Per-feature mean.
    pub mean: Vec<f32>,
    /// Per-feature scale (never zero).
    pub scale: Vec<f32>,
}

impl Scaler {
    /// The identity for `n` features.
    pub fn identity(n: usize) -> Self {
        Scaler {
            mean: vec![0.0; n],
            scale: vec![1.0; n],
        }
    }

    /// Fits mean and population standard deviation per column of a row-major matrix, leaving
    /// columns listed in `passthrough` (e.g. one-hot blocks) unscaled. Zero-variance columns get
    /// scale 1.
    pub fn fit(features: &[f32], width: usize, passthrough: &[bool]) -> Self {
        let rows = features.len().checked_div(width).unwrap_or(0);
        let mut mean = vec![0.0f64; width];
        let mut sq = vec![0.0f64; width];
        for row in features.chunks_exact(width.max(1)).take(rows) {
            for (j, &x) in row.iter().enumerate() {
                mean[j] += x as f64;
            }
        }
        let n = rows.max(1) as f64;
        mean.iter_mut().for_each(|m| *m /= n);
        for row in features.chunks_exact(width.max(1)).take(rows) {
            for (j, &x) in row.iter().enumerate() {
                sq[j] += (x as f64 - mean[j]).powi(2);
            }
        }
        let mut s = Scaler::identity(width);
        for j in 0..width {
            if passthrough.get(j).copied().unwrap_or(false) {
                continue;
            }
            let std = (sq[j] / n).sqrt();
            s.mean[j] = mean[j] as f32;
            s.scale[j] = if std > 1e-12 { std as f32 } else { 1.0 };
        }
        s
    }

    /// Applies the scaling in place to a row-major matrix.
    pub fn apply(&self, features: &mut [f32]) {
        let w = self.mean.len();
        if w == 0 {
            return;
        }
        for row in features.chunks_exact_mut(w) {
            for ((x, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *x = (*x - m) / s;
            }
        }
    }
}

/// What training did, kept in the model file. A report to read: the fields stay public, and
/// `#[non_exhaustive]` lets later versions record more without breaking readers (only the crate
/// builds one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrainingSummary {
    /// The configuration used.
    pub config: TrainConfig,
    /// Per-epoch history.
    pub history: Vec<EpochRecord>,
    /// How training ended (`completed`, `early_stopped at epoch N`, `interrupted`, `diverged`).
    pub outcome: String,
    /// Samples used for training.
    pub train_samples: usize,
    /// Samples used for validation.
    pub val_samples: usize,
    /// Where the data came from.
    pub data: String,
    /// Seconds spent training.
    pub seconds: f64,
    /// The automatic model selection that chose this network (default `mlp train`), if one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<crate::train::select::Selection>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModelDoc {
    spec: ModelSpec,
    task: Task,
    input: InputSchema,
    target: TargetEncoder,
    loss: Loss,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    training: Option<TrainingSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uncertainty: Option<crate::uncertainty::Uncertainty>,
    /// Ensemble members, member 0 included (absent: 1).
    #[serde(default = "one_member", skip_serializing_if = "is_one_member")]
    ensemble: usize,
}

fn one_member() -> usize {
    1
}

fn is_one_member(k: &usize) -> bool {
    *k == 1
}

/// A trained, self-describing model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The network and its weights.
    pub(crate) network: Network,
    /// What it predicts.
    pub(crate) task: Task,
    /// How raw input is encoded.
    pub(crate) input: InputSchema,
    /// Standardization of the encoded features.
    pub(crate) scaler: Scaler,
    /// Class labels or regression target scaling.
    pub(crate) target: TargetEncoder,
    /// The training loss.
    pub(crate) loss: Loss,
    /// Training summary and history.
    pub(crate) training: Option<TrainingSummary>,
    /// Conformal scores and temperature (see [`crate::uncertainty`]); `None` for a model trained
    /// without calibration.
    pub(crate) uncertainty: Option<crate::uncertainty::Uncertainty>,
    /// Deep-ensemble members 1.. (member 0 is `network`), same architecture; empty for a single
    /// network. See [`crate::ensemble`].
    pub(crate) members: Vec<Network>,
}

impl Model {
    /// A model from its parts, checked for consistency: the input schema's width, the scaler's
    /// and the network's inputs agree; the target encoding fits the task and the network's
    /// outputs; every scale is finite and non-zero. No training summary.
    pub fn new(
        network: Network,
        task: Task,
        input: InputSchema,
        scaler: Scaler,
        target: TargetEncoder,
        loss: Loss,
    ) -> Result<Model> {
        let bad = |msg: String| Error::config("model", msg);
        check_consistent(&network, task, &input, &target, &loss).map_err(bad)?;
        let n = network.inputs();
        if scaler.mean.len() != scaler.scale.len()
            || !(scaler.mean.is_empty() || scaler.mean.len() == n)
        {
            return Err(bad(format!(
                "the scaler has {} means and {} scales for {n} network inputs",
                scaler.mean.len(),
                scaler.scale.len()
            )));
        }
        if scaler.scale.iter().any(|&s| s == 0.0 || !s.is_finite()) {
            return Err(bad("the scaler has a zero or non-finite scale".into()));
        }
        Ok(Model {
            network,
            task,
            input,
            scaler,
            target,
            loss,
            training: None,
            uncertainty: None,
            members: Vec::new(),
        })
    }

    /// The network and its weights.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The network, to change its weights in place (fine-tuning, restoring a checkpoint). Its
    /// architecture must keep the model's input and output widths.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.network
    }

    /// What the model predicts.
    pub fn task(&self) -> Task {
        self.task
    }

    /// How raw input is encoded (table columns and their encoders, or a bare matrix).
    pub fn input(&self) -> &InputSchema {
        &self.input
    }

    /// The standardization of the encoded features.
    pub fn scaler(&self) -> &Scaler {
        &self.scaler
    }

    /// Class labels or the regression target's scaling.
    pub fn target(&self) -> &TargetEncoder {
        &self.target
    }

    /// The training loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// The training summary and history (`None` for a model built with [`Model::new`]).
    pub fn training(&self) -> Option<&TrainingSummary> {
        self.training.as_ref()
    }

    /// The training summary, to amend (e.g. the history written into a checkpoint).
    pub fn training_mut(&mut self) -> Option<&mut TrainingSummary> {
        self.training.as_mut()
    }

    /// Checks encoded features before inference: `rows x n_features` values, all finite. A NaN
    /// or infinite value is an error naming its row and feature (silently predicting class 0
    /// for a NaN row is worse than stopping).
    pub(crate) fn check_features(&self, features: &[f32], rows: usize) -> Result<()> {
        let n = self.network.inputs();
        if rows.checked_mul(n) != Some(features.len()) {
            return Err(Error::shape(
                "predict",
                format!("{rows} x {n} features"),
                format!("{} values", features.len()),
            ));
        }
        if let Some(i) = features.iter().position(|x| !x.is_finite()) {
            let j = i % n.max(1);
            let name = self
                .input
                .feature_names()
                .get(j)
                .cloned()
                .unwrap_or_else(|| format!("x{j}"));
            return Err(Error::InvalidData(format!(
                "row {}, feature '{name}' (column {j}): value is {}; inputs must be finite",
                i / n.max(1),
                features[i]
            )));
        }
        Ok(())
    }

    /// Network outputs for already-encoded, unscaled features (`rows x n_features`). Errors on a
    /// wrong length or a non-finite value (naming row and feature).
    pub fn forward(&self, features: &[f32], rows: usize) -> Result<Vec<f32>> {
        self.check_features(features, rows)?;
        let mut x = features.to_vec();
        self.scaler.apply(&mut x);
        Ok(self.forward_scaled(&x, rows))
    }

    /// Class probabilities (`rows x classes`) for classification; per-label probabilities for
    /// multi-label; an error for regression.
    pub fn predict_proba(&self, features: &[f32], rows: usize) -> Result<Vec<f32>> {
        let mut out = self.forward(features, rows)?;
        self.apply_temperature(&mut out);
        match (self.task, self.loss) {
            (Task::Classification, Loss::Bce) => Ok(out
                .iter()
                .flat_map(|&z| {
                    let p = crate::kernels::elementwise::sigmoid(z);
                    [1.0 - p, p]
                })
                .collect()),
            (Task::Classification, _) => {
                softmax_rows(&mut out, self.network.outputs());
                Ok(out)
            }
            (Task::MultiLabel, _) => Ok(out
                .into_iter()
                .map(crate::kernels::elementwise::sigmoid)
                .collect()),
            (Task::Regression, _) => Err(Error::config(
                "proba",
                "a regression model has no class probabilities",
            )),
        }
    }

    /// Predicted class indices (classification) — index into [`Model::class_labels`].
    pub fn predict_classes(&self, features: &[f32], rows: usize) -> Result<Vec<usize>> {
        if self.task != Task::Classification {
            return Err(Error::config(
                "task",
                "class predictions need a classification model",
            ));
        }
        let proba = self.predict_proba(features, rows)?;
        let k = self.n_classes();
        Ok(proba
            .chunks_exact(k.max(1))
            .map(crate::train::argmax)
            .collect())
    }

    /// Predicted values in the target's original units (regression), `rows x outputs`.
    pub fn predict_values(&self, features: &[f32], rows: usize) -> Result<Vec<f32>> {
        if self.task != Task::Regression {
            return Err(Error::config(
                "task",
                "value predictions need a regression model",
            ));
        }
        let out = self.forward(features, rows)?;
        // A quantile head's point prediction (see `QuantileLevels::point_levels`).
        let mut out = match self.loss.quantile_levels() {
            Some(levels) => crate::uncertainty::quantile_points(&out, levels),
            None => out,
        };
        self.target.decode_values(&mut out);
        Ok(out)
    }

    /// Class labels, in index order (empty for regression).
    pub fn class_labels(&self) -> Vec<String> {
        match &self.target {
            TargetEncoder::Classes { labels, .. } => labels.clone(),
            _ => Vec::new(),
        }
    }

    /// Number of classes (classification) or outputs.
    pub fn n_classes(&self) -> usize {
        match &self.target {
            TargetEncoder::Classes { labels, .. } => labels.len(),
            _ => self.network.outputs(),
        }
    }

    /// Number of encoded input features.
    pub fn n_features(&self) -> usize {
        self.network.inputs()
    }

    /// The model as a tensor file (weights, scaling, JSON metadata).
    pub fn to_tensor_file(&self) -> Result<TensorFile> {
        let mut file = TensorFile::default();
        for t in self.network.tensors() {
            file.push(
                t.name.clone(),
                t.shape.clone(),
                self.network.params[t.range.clone()].to_vec(),
            );
        }
        let n = self.network.inputs();
        if let Some(q) = self.network.int8() {
            crate::quant::file::write(q, &mut file)?;
        }
        crate::quant::qat::write(&self.network, &mut file)?;
        file.push("input.mean", vec![n], self.scaler.mean.clone());
        file.push("input.scale", vec![n], self.scaler.scale.clone());
        crate::ensemble::push_members(self, &mut file);
        let doc = ModelDoc {
            spec: self.network.spec().clone(),
            task: self.task,
            input: self.input.clone(),
            target: self.target.clone(),
            loss: self.loss,
            training: self.training.clone(),
            uncertainty: self.uncertainty.clone(),
            ensemble: self.ensemble_size(),
        };
        let json = serde_json::to_string(&doc)
            .map_err(|e| Error::InvalidData(format!("cannot encode model metadata: {e}")))?;
        file.metadata.insert("format".into(), "mlp".into());
        // Version-1 readers would misread an ensemble (member 0 alone) and cannot read a
        // quantile loss.
        let version = if self.members.is_empty() && self.loss.quantile_levels().is_none() {
            1
        } else {
            2
        };
        file.metadata
            .insert("format_version".into(), version.to_string());
        file.metadata.insert("mlp".into(), json);
        Ok(file)
    }

    /// Rebuilds a model from a tensor file; `path` is used in error messages.
    pub fn from_tensor_file(file: &TensorFile, path: &Path) -> Result<Self> {
        let bad = |msg: String| Error::format(path, msg);
        // An int8 model: its dense weights are int8 tensors; the f32 ones are rebuilt from them.
        // A quantization-aware model: its weights are stored as integer levels.
        let file = &*crate::quant::qat::with_f32_weights(file, path)?;
        let file = &*crate::quant::file::with_f32_weights(file, path)?;
        match file.metadata.get("format").map(String::as_str) {
            Some("mlp") => {}
            _ => return Err(bad("not an mlp model file (no format=mlp in the safetensors metadata); it may come from another tool".into())),
        }
        let version: u32 = file
            .metadata
            .get("format_version")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("missing format_version".into()))?;
        if version > FORMAT_VERSION {
            return Err(bad(format!(
                "format version {version} is newer than this mlp understands ({FORMAT_VERSION}); upgrade mlp"
            )));
        }
        let json = file
            .metadata
            .get("mlp")
            .ok_or_else(|| bad("missing the 'mlp' metadata entry".into()))?;
        let doc: ModelDoc =
            serde_json::from_str(json).map_err(|e| bad(format!("corrupt model metadata: {e}")))?;
        let layers = doc
            .spec
            .layers()
            .map_err(|e| bad(format!("invalid architecture: {e}")))?;
        check_spec_tensors(&layers, file, path, "")?;
        let mut network = Network::new(doc.spec.clone(), layers, 0)
            .map_err(|e| bad(format!("invalid architecture: {e}")))?;
        let mut params = vec![0.0f32; network.n_params()];
        for t in network.tensors() {
            let (shape, data) = file
                .get(&t.name)
                .ok_or_else(|| bad(format!("missing tensor '{}'", t.name)))?;
            if shape != t.shape.as_slice() {
                return Err(bad(format!(
                    "tensor '{}' has shape {:?}, the architecture needs {:?}",
                    t.name, shape, t.shape
                )));
            }
            params[t.range.clone()].copy_from_slice(data);
        }
        network.set_params(params)?;
        crate::quant::file::attach(&mut network, file, path)?;
        crate::quant::qat::attach(&mut network).map_err(|e| bad(format!("qat section: {e}")))?;
        let members = crate::ensemble::read_members(file, path, &network, doc.ensemble)?;
        let n = network.inputs();
        let vec_tensor = |name: &str| -> Result<Vec<f32>> {
            let (shape, data) = file
                .get(name)
                .ok_or_else(|| bad(format!("missing tensor '{name}'")))?;
            if shape != [n] {
                return Err(bad(format!(
                    "tensor '{name}' has shape {shape:?}, expected [{n}]"
                )));
            }
            Ok(data.to_vec())
        };
        let scaler = Scaler {
            mean: vec_tensor("input.mean")?,
            scale: vec_tensor("input.scale")?,
        };
        if scaler.scale.iter().any(|&s| s == 0.0 || !s.is_finite()) {
            return Err(bad("input.scale has a zero or non-finite entry".into()));
        }
        check_consistent(&network, doc.task, &doc.input, &doc.target, &doc.loss).map_err(bad)?;
        let mut uncertainty = doc.uncertainty;
        if let Some(u) = uncertainty.as_mut() {
            u.check(doc.task, network.outputs() / doc.loss.outputs_per_target())
                .map_err(bad)?;
            u.check_loss(&doc.loss).map_err(bad)?;
        }
        Ok(Model {
            network,
            task: doc.task,
            input: doc.input,
            scaler,
            target: doc.target,
            loss: doc.loss,
            training: doc.training,
            uncertainty,
            members,
        })
    }

    /// Saves atomically to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.to_tensor_file()?.write(path.as_ref())
    }

    /// Loads from `path`, with a clear error for a missing, truncated, corrupt or foreign file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::from_tensor_file(&TensorFile::read(path)?, path)
    }

    /// Values per row that [`Model::predict_into`] writes: class probabilities (classification,
    /// also for a one-output BCE classifier), label probabilities (multi-label), or values in
    /// raw units (regression).
    pub fn output_width(&self) -> usize {
        match (self.task, self.loss) {
            (Task::Classification, Loss::Bce) => 2,
            (Task::Regression, Loss::Quantile { levels }) => {
                self.network.outputs() / levels.len().max(1)
            }
            _ => self.network.outputs(),
        }
    }

    /// Predicts into a caller-provided buffer (`rows x output_width()`), reusing `scratch`: after
    /// the first call with the largest batch, serving allocates nothing. Writes what
    /// [`Model::predict_proba`] (classification, multi-label) or [`Model::predict_values`]
    /// (regression) return. `features` are encoded and unscaled (`rows x n_features`).
    pub fn predict_into(
        &self,
        features: &[f32],
        rows: usize,
        scratch: &mut PredictScratch,
        out: &mut [f32],
    ) -> Result<()> {
        self.check_features(features, rows)?;
        let width = self.output_width();
        if rows.checked_mul(width) != Some(out.len()) {
            return Err(Error::shape(
                "predict_into output",
                format!("{rows} x {width} values"),
                format!("{} values", out.len()),
            ));
        }
        let nout = self.network.outputs();
        let PredictScratch { scaled, raw, net } = scratch;
        scaled.clear();
        scaled.extend_from_slice(features);
        self.scaler.apply(scaled);
        raw.resize(rows * nout, 0.0);
        let raw = &mut raw[..rows * nout];
        if self.members.is_empty() {
            self.network.infer_into(scaled, rows, net, raw);
        } else {
            // An ensemble combines its members' outputs (this allocates per call).
            raw.copy_from_slice(&self.forward_scaled(scaled, rows));
        }
        self.apply_temperature(raw);
        match (self.task, self.loss) {
            (Task::Classification, Loss::Bce) => {
                for (o, &z) in out.chunks_exact_mut(2).zip(raw.iter()) {
                    let p = crate::kernels::elementwise::sigmoid(z);
                    o[0] = 1.0 - p;
                    o[1] = p;
                }
            }
            (Task::Classification, _) => {
                out.copy_from_slice(raw);
                softmax_rows(out, nout);
            }
            (Task::MultiLabel, _) => {
                for (o, &z) in out.iter_mut().zip(raw.iter()) {
                    *o = crate::kernels::elementwise::sigmoid(z);
                }
            }
            (Task::Regression, Loss::Quantile { levels }) => {
                out.copy_from_slice(&crate::uncertainty::quantile_points(raw, &levels));
                self.target.decode_values(out);
            }
            (Task::Regression, _) => {
                out.copy_from_slice(raw);
                self.target.decode_values(out);
            }
        }
        Ok(())
    }
}

/// Reusable buffers for [`Model::predict_into`]: one per serving thread.
#[derive(Debug, Default, Clone)]
pub struct PredictScratch {
    scaled: Vec<f32>,
    raw: Vec<f32>,
    net: InferenceScratch<f32>,
}

impl PredictScratch {
    /// Empty buffers; they grow to the largest batch seen and are then reused.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Checks every tensor the architecture needs against the file before anything is sized from
/// the architecture: present, same shape, same element count. The spec's sizes were already
/// bounded by [`crate::spec::MAX_WIDTH`] (checked arithmetic), so after this the parameter buffer
/// is no larger than the tensors actually in the file, and a spec edited to a huge size (e.g.
/// `units: 100000000000`) is an error naming the layer instead of an allocation abort.
pub(crate) fn check_spec_tensors(
    layers: &[crate::layers::Layer],
    file: &TensorFile,
    path: &Path,
    prefix: &str,
) -> Result<()> {
    for (i, layer) in layers.iter().enumerate() {
        let mismatch = |msg: String| Error::ModelMismatch {
            path: path.to_path_buf(),
            layer: i,
            kind: layer.kind().to_string(),
            msg,
        };
        for (suffix, shape, _) in layer.param_shapes() {
            let name = format!("{prefix}layers.{i}.{suffix}");
            let Some((stored, data)) = file.get(&name) else {
                return Err(mismatch(format!(
                    "the spec needs tensor '{name}' of shape {shape:?}; the file has no such tensor"
                )));
            };
            if stored != shape.as_slice() {
                return Err(mismatch(format!(
                    "tensor '{name}' has shape {stored:?} in the file, the spec asks for {shape:?}"
                )));
            }
            let elems = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            if elems != Some(data.len()) {
                return Err(mismatch(format!(
                    "tensor '{name}' holds {} values, its shape {shape:?} needs {}",
                    data.len(),
                    elems.map_or_else(|| "more than fit in memory".to_string(), |n| n.to_string())
                )));
            }
        }
    }
    Ok(())
}

/// Checks that the metadata describes the network: input width, and as many class labels or
/// target columns as outputs. A file edited by hand or written by another tool fails here with a
/// message, rather than later with an out-of-range index.
fn check_consistent(
    network: &Network,
    task: Task,
    input: &InputSchema,
    target: &TargetEncoder,
    loss: &Loss,
) -> std::result::Result<(), String> {
    let (nin, nout) = (network.inputs(), network.outputs());
    let width = match input {
        InputSchema::Tabular { preprocessor } => {
            preprocessor.columns.iter().map(|c| c.width()).sum()
        }
        InputSchema::Matrix { feature_names, .. } => feature_names.len(),
    };
    if width != nin {
        return Err(format!(
            "the input schema has {width} features but the network takes {nin}"
        ));
    }
    if loss.quantile_levels().is_some() && task != Task::Regression {
        return Err(format!(
            "a quantile loss needs a regression model, not {}",
            task.name()
        ));
    }
    let expected = match (task, target, loss) {
        (Task::Classification, TargetEncoder::Classes { labels, .. }, Loss::Bce)
            if labels.len() == 2 =>
        {
            1
        }
        (Task::Classification | Task::MultiLabel, TargetEncoder::Classes { labels, .. }, _) => {
            labels.len()
        }
        (
            Task::Regression | Task::MultiLabel,
            TargetEncoder::Standardized { names, mean, scale },
            _,
        ) => {
            if mean.len() != names.len() || scale.len() != names.len() {
                return Err("the target scaling has mismatched lengths".into());
            }
            names.len() * loss.outputs_per_target()
        }
        _ => {
            return Err(format!(
                "a {} model cannot have this target encoding",
                task.name()
            ));
        }
    };
    if expected != nout {
        return Err(format!(
            "the target encoding needs {expected} network outputs, the network has {nout}"
        ));
    }
    Ok(())
}
