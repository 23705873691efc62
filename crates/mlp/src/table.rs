//! Tables in, predictions out: the path `mlp train` and `mlp predict` take, as a library API.
//!
//! A [`Table`] is a rectangle of text cells with named columns, read from a CSV file or built in
//! memory. [`MlpBuilder::fit_table`](crate::estimator::MlpBuilder::fit_table) fits the feature
//! encoding (standardized numeric columns, one-hot categories, imputation), the target encoding
//! (class labels, or regression scaling) and the network in one call, and the returned
//! [`Model`] keeps all of it: [`Model::predict_table`] takes raw rows with the same columns and
//! returns [`Predictions`] in the target's own terms (labels, or values in raw units).
//!
//! The command-line tool calls exactly these functions ([`encode_training_table`] and
//! [`Model::predictions`]), so a model trained here and one trained by `mlp train` with the same
//! settings and seed have the same weights, and predict the same.
//!
//! ```
//! use mlp::prelude::*;
//!
//! let table = Table::from_records(
//!     &["size", "colour", "label"],
//!     (0..40).map(|i| {
//!         let colour = if i % 2 == 0 { "red" } else { "blue" };
//!         let label = if i % 2 == 0 { "warm" } else { "cold" };
//!         vec![format!("{}", i % 7), colour.to_string(), label.to_string()]
//!     }),
//! )
//! .unwrap();
//! let model = MlpBuilder::classifier().hidden(&[8]).epochs(30).seed(1)
//!     .fit_table(&table, "label").unwrap();
//! let predictions = model.predict_table(&table).unwrap();
//! let labels = predictions.labels().unwrap();
//! assert_eq!(labels.len(), 40);
//! assert!(predictions.values().is_none());
//! ```

use std::path::Path;

use crate::data::Dataset;
use crate::data::csv::{RawTable, read_csv, read_csv_from_reader};
use crate::data::preprocess::{
    FeatureConfig, Impute, TargetEncoder, TargetKind, UnknownCategory, UnseenCategory, load_tabular,
};
use crate::model::{InputSchema, Model, Task};
use crate::{Error, Result};

/// A table of text cells with named columns: the raw input of training and prediction.
///
/// Cells are kept as text; what is a number, a category or a missing cell (see
/// [`crate::data::preprocess::is_missing`]) is decided when a model is fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    raw: RawTable,
}

impl Table {
    /// Reads a CSV file (a header row is required; the delimiter is detected among `,` `;` tab
    /// and `|`).
    pub fn from_csv(path: impl AsRef<Path>) -> Result<Table> {
        Ok(Table {
            raw: read_csv(path.as_ref(), None)?,
        })
    }

    /// Reads a delimited file with the given delimiter byte.
    pub fn from_csv_with_delimiter(path: impl AsRef<Path>, delimiter: u8) -> Result<Table> {
        Ok(Table {
            raw: read_csv(path.as_ref(), Some(delimiter))?,
        })
    }

    /// Reads CSV text from any reader; `name` stands in for the file name in error messages.
    pub fn from_reader(name: &str, reader: impl std::io::Read) -> Result<Table> {
        Ok(Table {
            raw: read_csv_from_reader(name, reader, None)?,
        })
    }

    /// Builds a table from named columns of cells (any `ToString`: text or numbers). Every column
    /// must have the same length; names must be non-empty and distinct.
    pub fn from_columns<N, C, V>(columns: impl IntoIterator<Item = (N, C)>) -> Result<Table>
    where
        N: Into<String>,
        C: IntoIterator<Item = V>,
        V: ToString,
    {
        let mut headers = Vec::new();
        let mut cells = Vec::new();
        for (name, column) in columns {
            headers.push(name.into());
            cells.push(
                column
                    .into_iter()
                    .map(|v| v.to_string().trim().to_string())
                    .collect::<Vec<String>>(),
            );
        }
        let n_rows = cells.first().map_or(0, Vec::len);
        Table::from_parts(headers, cells, n_rows)
    }

    /// Builds a table from a header and records (rows of cells, any `ToString`). Every record
    /// must have one cell per header.
    pub fn from_records<H, R, V>(
        headers: &[H],
        records: impl IntoIterator<Item = R>,
    ) -> Result<Table>
    where
        H: AsRef<str>,
        R: IntoIterator<Item = V>,
        V: ToString,
    {
        let headers: Vec<String> = headers.iter().map(|h| h.as_ref().to_string()).collect();
        let mut cells: Vec<Vec<String>> = vec![Vec::new(); headers.len()];
        let mut n_rows = 0;
        for (r, record) in records.into_iter().enumerate() {
            let row: Vec<String> = record
                .into_iter()
                .map(|v| v.to_string().trim().to_string())
                .collect();
            if row.len() != headers.len() {
                return Err(Error::shape(
                    format!("table record {r}"),
                    format!("{} cells (one per header)", headers.len()),
                    format!("{} cells", row.len()),
                ));
            }
            for (c, cell) in row.into_iter().enumerate() {
                cells[c].push(cell);
            }
            n_rows += 1;
        }
        Table::from_parts(headers, cells, n_rows)
    }

    /// Wraps a table read by [`crate::data::csv`], checking that its shape is consistent.
    pub fn from_raw(raw: RawTable) -> Result<Table> {
        let n_rows = raw.n_rows;
        let path = raw.path.clone();
        let mut t = Table::from_parts(raw.headers, raw.columns, n_rows)?;
        t.raw.path = path;
        t.raw.delimiter = raw.delimiter;
        t.raw.lines = raw.lines;
        Ok(t)
    }

    fn from_parts(headers: Vec<String>, columns: Vec<Vec<String>>, n_rows: usize) -> Result<Table> {
        for (i, h) in headers.iter().enumerate() {
            if h.trim().is_empty() {
                return Err(Error::config(
                    "table",
                    format!("column {} has an empty name", i + 1),
                ));
            }
            if headers[..i].contains(h) {
                return Err(Error::config(
                    "table",
                    format!("column name '{h}' appears twice"),
                ));
            }
        }
        let raw = RawTable {
            path: "table".into(),
            headers: headers.into_iter().map(|h| h.trim().to_string()).collect(),
            columns,
            n_rows,
            delimiter: b',',
            lines: Vec::new(),
        };
        raw.check_shape()?;
        Ok(Table { raw })
    }

    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.raw.n_rows
    }

    /// Number of columns.
    pub fn n_columns(&self) -> usize {
        self.raw.n_columns()
    }

    /// The column names, in order.
    pub fn headers(&self) -> &[String] {
        &self.raw.headers
    }

    /// The cells of the column with this name, if any.
    pub fn column(&self, name: &str) -> Option<&[String]> {
        self.raw
            .find_column(name)
            .map(|c| self.raw.columns[c].as_slice())
    }

    /// The underlying table, for the lower-level functions of [`crate::data::preprocess`].
    pub fn raw(&self) -> &RawTable {
        &self.raw
    }

    /// The underlying table, by value.
    pub fn into_raw(self) -> RawTable {
        self.raw
    }
}

/// Which columns of a training table are features and weights, and how missing cells are filled.
/// The defaults: every column but the targets is a feature, no weights, missing cells are an
/// error (as `mlp train`).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TableColumns {
    /// Feature columns (names or 0-based indices); `None`: every column that is not a target,
    /// the weight column or ignored.
    pub features: Option<Vec<String>>,
    /// Columns to leave out of the features.
    pub ignore: Vec<String>,
    /// A column of per-sample weights.
    pub weight_column: Option<String>,
    /// How to fill missing feature cells.
    pub impute: Impute,
}

impl TableColumns {
    /// The feature configuration for these columns and a target spec: one column, or several
    /// comma-separated (multi-output regression). Feature standardization is left to the model's
    /// scaler, which fits on the training part after the validation split.
    pub fn feature_config(&self, target: &str) -> FeatureConfig {
        FeatureConfig {
            targets: target
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            features: self.features.clone(),
            weight_column: self.weight_column.clone(),
            ignore: self.ignore.clone(),
            impute: self.impute,
            standardize: false,
        }
    }
}

/// A training table turned into numbers, with the encodings that will travel in the model.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EncodedTable {
    /// Encoded features (one-hot blocks, unscaled numbers) and encoded targets.
    pub data: Dataset,
    /// How raw rows become the feature vector.
    pub input: InputSchema,
    /// Class labels, or regression target scaling.
    pub target: TargetEncoder,
    /// Encoded features the scaler leaves alone (one-hot indicators).
    pub passthrough: Vec<bool>,
}

impl EncodedTable {
    /// The task the encoded targets imply.
    pub fn task(&self) -> Task {
        match self.target.kind() {
            TargetKind::Classify => Task::Classification,
            TargetKind::Regress => Task::Regression,
        }
    }
}

/// Fits the feature and target encodings on a training table and encodes it: the one place
/// both [`MlpBuilder::fit_table`](crate::estimator::MlpBuilder::fit_table) and `mlp train` turn
/// a CSV into a data set. `kind: None` infers classification or regression from the target
/// column (see [`crate::data::preprocess`]).
pub fn encode_training_table(
    table: &RawTable,
    config: &FeatureConfig,
    kind: Option<TargetKind>,
) -> Result<EncodedTable> {
    let (pre, target, data) = load_tabular(table, config, kind)?;
    Ok(EncodedTable {
        passthrough: pre.one_hot_mask(),
        input: InputSchema::Tabular { preprocessor: pre },
        target,
        data,
    })
}

/// What a model predicts for a batch of rows, in the target's own terms.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Predictions {
    task: Task,
    rows: usize,
    columns: Vec<String>,
    classes: Option<Vec<usize>>,
    labels: Option<Vec<String>>,
    class_labels: Vec<String>,
    proba: Option<Vec<f32>>,
    values: Option<Vec<f32>>,
    unseen: Vec<UnseenCategory>,
    /// Conformal intervals (`rows x targets`), when asked.
    pub(crate) lower: Option<Vec<f32>>,
    pub(crate) upper: Option<Vec<f32>>,
    /// Conformal prediction sets (class indices), when asked.
    pub(crate) sets: Option<Vec<Vec<usize>>>,
    /// Monte-Carlo dropout results, when asked.
    pub(crate) mc: Option<crate::uncertainty::McDropout>,
    /// A quantile head's predictions (`rows x (targets x levels)`, raw units) and its levels.
    pub(crate) quantiles: Option<(Vec<f32>, Vec<f32>)>,
}

/// What [`Model::predict_table_with`] and [`Model::predictions_with`] compute besides the point
/// predictions. `PredictOptions::default()` (or a bare [`UnknownCategory`], which converts) asks
/// for nothing more.
///
/// ```
/// use mlp::table::PredictOptions;
/// let opts = PredictOptions::default().interval(0.9).mc_samples(30, 7);
/// assert_eq!(opts.interval, Some(0.9));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PredictOptions {
    /// Policy for categories the training data did not have.
    pub unknown: UnknownCategory,
    /// Split-conformal interval level in (0, 1) (regression; needs calibration rows).
    pub interval: Option<f64>,
    /// Conformal prediction-set level in (0, 1) (classification; needs calibration rows).
    pub prediction_sets: Option<f64>,
    /// Monte-Carlo dropout passes (needs a model with dropout).
    pub mc_samples: Option<usize>,
    /// Seed of the Monte-Carlo dropout masks.
    pub seed: u64,
}

impl PredictOptions {
    /// Asks for conformal intervals at `level`.
    pub fn interval(mut self, level: f64) -> Self {
        self.interval = Some(level);
        self
    }
    /// Asks for conformal prediction sets at `level`.
    pub fn prediction_sets(mut self, level: f64) -> Self {
        self.prediction_sets = Some(level);
        self
    }
    /// Asks for `samples` Monte-Carlo dropout passes with masks seeded by `seed`.
    pub fn mc_samples(mut self, samples: usize, seed: u64) -> Self {
        self.mc_samples = Some(samples);
        self.seed = seed;
        self
    }
    /// Sets the unknown-category policy.
    pub fn unknown(mut self, unknown: UnknownCategory) -> Self {
        self.unknown = unknown;
        self
    }
}

impl From<UnknownCategory> for PredictOptions {
    fn from(unknown: UnknownCategory) -> Self {
        PredictOptions {
            unknown,
            ..PredictOptions::default()
        }
    }
}

impl Predictions {
    /// The model's task.
    pub fn task(&self) -> Task {
        self.task
    }

    /// Number of rows predicted.
    pub fn n_rows(&self) -> usize {
        self.rows
    }

    /// The predicted class label of each row (classification); `None` for other tasks.
    pub fn labels(&self) -> Option<&[String]> {
        self.labels.as_deref()
    }

    /// The predicted class index of each row, into [`Predictions::class_labels`]
    /// (classification); `None` for other tasks.
    pub fn classes(&self) -> Option<&[usize]> {
        self.classes.as_deref()
    }

    /// Predicted values in the target's raw units, row-major `rows x outputs` (regression);
    /// `None` for other tasks.
    pub fn values(&self) -> Option<&[f32]> {
        self.values.as_deref()
    }

    /// Probabilities, row-major: `rows x classes` (classification, in the order of
    /// [`Predictions::class_labels`]) or `rows x labels` (multi-label); `None` for regression.
    pub fn proba(&self) -> Option<&[f32]> {
        self.proba.as_deref()
    }

    /// The class labels in index order (classification and multi-label); empty for regression.
    pub fn class_labels(&self) -> &[String] {
        &self.class_labels
    }

    /// Names of the predicted columns: the target column (classification), the target columns
    /// (regression) or the labels (multi-label).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Categories in the input that the training data did not have (each encoded as all zeros),
    /// once per column and value; empty unless the policy was [`UnknownCategory::Warn`].
    pub fn unseen_categories(&self) -> &[UnseenCategory] {
        &self.unseen
    }

    /// Lower ends of the conformal intervals, `rows x targets` in raw units (regression with
    /// [`PredictOptions::interval`]); `None` otherwise.
    pub fn lower(&self) -> Option<&[f32]> {
        self.lower.as_deref()
    }

    /// Upper ends of the conformal intervals (see [`Predictions::lower`]).
    pub fn upper(&self) -> Option<&[f32]> {
        self.upper.as_deref()
    }

    /// Conformal prediction sets, class indices in index order per row (classification with
    /// [`PredictOptions::prediction_sets`]); a set may be empty. `None` otherwise.
    pub fn prediction_sets(&self) -> Option<&[Vec<usize>]> {
        self.sets.as_deref()
    }

    /// Monte-Carlo dropout mean, std (regression) and entropy (classification), with
    /// [`PredictOptions::mc_samples`]; `None` otherwise.
    pub fn mc_dropout(&self) -> Option<&crate::uncertainty::McDropout> {
        self.mc.as_ref()
    }

    /// A quantile head's predictions in raw units, `rows x (targets x levels)` (level `q` of
    /// target `j` for row `r` at `(r * targets + j) * levels + q`); `None` for other models.
    /// [`Predictions::values`] holds the point predictions (the median level, see
    /// [`crate::loss::QuantileLevels::point_levels`]).
    pub fn quantiles(&self) -> Option<&[f32]> {
        self.quantiles.as_ref().map(|(q, _)| q.as_slice())
    }

    /// The levels of [`Predictions::quantiles`], ascending (empty for other models).
    pub fn quantile_levels(&self) -> &[f32] {
        self.quantiles.as_ref().map_or(&[], |(_, l)| l.as_slice())
    }
}

impl Model {
    /// Predictions for already-encoded features (`rows x n_features`, unscaled): the shared back
    /// half of [`Model::predict_table`] and `mlp predict`.
    pub fn predictions(&self, features: &[f32], rows: usize) -> Result<Predictions> {
        self.predictions_with(features, rows, &PredictOptions::default())
    }

    /// [`Model::predictions`] plus what `opts` asks for: conformal intervals or sets, and
    /// Monte-Carlo dropout (see [`crate::uncertainty`]). The options are checked before any
    /// prediction is made.
    pub fn predictions_with(
        &self,
        features: &[f32],
        rows: usize,
        opts: &PredictOptions,
    ) -> Result<Predictions> {
        self.check_predict_options(opts)?;
        let mut p = self.point_predictions(features, rows)?;
        let cqr = self
            .uncertainty()
            .and_then(|u| u.conformal.as_ref())
            .map(|c| c.score)
            == Some(crate::uncertainty::ConformalScore::Cqr);
        if let (Some(level), Some(values)) = (opts.interval, p.values.as_deref()) {
            let (lo, hi) = match &p.quantiles {
                Some((q, _)) if cqr => self.cqr_intervals(q, level)?,
                _ => self.conformal_intervals(values, level)?,
            };
            p.lower = Some(lo);
            p.upper = Some(hi);
        }
        if let (Some(level), Some(proba)) = (opts.prediction_sets, p.proba.as_deref()) {
            p.sets = Some(self.prediction_sets(proba, level)?);
        }
        if let Some(n) = opts.mc_samples {
            p.mc = Some(self.mc_dropout(features, rows, n, opts.seed)?);
        }
        Ok(p)
    }

    fn point_predictions(&self, features: &[f32], rows: usize) -> Result<Predictions> {
        let mut p = Predictions {
            lower: None,
            upper: None,
            sets: None,
            mc: None,
            quantiles: None,
            task: self.task,
            rows,
            columns: Vec::new(),
            classes: None,
            labels: None,
            class_labels: Vec::new(),
            proba: None,
            values: None,
            unseen: Vec::new(),
        };
        match (self.task, &self.target) {
            (Task::Classification, TargetEncoder::Classes { name, labels }) => {
                let proba = self.predict_proba(features, rows)?;
                let k = labels.len().max(1);
                let classes: Vec<usize> = proba.chunks_exact(k).map(crate::train::argmax).collect();
                let names = classes
                    .iter()
                    .map(|&c| {
                        labels.get(c).cloned().ok_or_else(|| {
                            Error::InvalidData(format!(
                                "class index {c} has no label ({} labels); the model file is inconsistent",
                                labels.len()
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                p.columns = vec![name.clone()];
                p.class_labels = labels.clone();
                p.classes = Some(classes);
                p.labels = Some(names);
                p.proba = Some(proba);
            }
            (Task::Regression, TargetEncoder::Standardized { names, .. }) => {
                p.values = Some(self.predict_values(features, rows)?);
                p.columns = names.clone();
                if let Some(levels) = self.quantile_levels() {
                    p.quantiles = Some((
                        self.predict_quantiles(features, rows)?,
                        levels.as_slice().to_vec(),
                    ));
                }
            }
            (Task::MultiLabel, target) => {
                p.proba = Some(self.predict_proba(features, rows)?);
                let names = match target {
                    TargetEncoder::Standardized { names, .. } => names.clone(),
                    TargetEncoder::Classes { labels, .. } => labels.clone(),
                };
                p.class_labels = names.clone();
                p.columns = names;
            }
            _ => {
                return Err(Error::InvalidData(format!(
                    "this {} model's target encoding does not fit its task; was the file edited by hand?",
                    self.task.name()
                )));
            }
        }
        Ok(p)
    }

    /// Predicts from raw rows with the training columns (matched by name; extra columns are
    /// ignored), encoding them exactly as training did. A category the training data did not
    /// have encodes as all zeros and is listed in [`Predictions::unseen_categories`].
    pub fn predict_table(&self, table: &Table) -> Result<Predictions> {
        self.predict_table_with(table, UnknownCategory::Warn)
    }

    /// [`Model::predict_table`] with a policy for categories the training data did not have, or
    /// with [`PredictOptions`] (conformal intervals or sets, Monte-Carlo dropout).
    pub fn predict_table_with(
        &self,
        table: &Table,
        opts: impl Into<PredictOptions>,
    ) -> Result<Predictions> {
        let opts = opts.into();
        self.check_predict_options(&opts)?;
        let (features, unseen) = self.encode_table(table, opts.unknown)?;
        let mut p = self.predictions_with(&features, table.n_rows(), &opts)?;
        p.unseen = unseen;
        Ok(p)
    }

    /// Encodes raw rows as this model's feature matrix (`rows x n_features`, unscaled).
    pub fn encode_table(
        &self,
        table: &Table,
        unknown: UnknownCategory,
    ) -> Result<(Vec<f32>, Vec<UnseenCategory>)> {
        match &self.input {
            InputSchema::Tabular { preprocessor } => {
                preprocessor.transform_with(table.raw(), unknown)
            }
            InputSchema::Matrix { source, .. } => Err(Error::config(
                "input",
                format!(
                    "this model was trained on a numeric matrix ({source}), not a table; give it encoded features (Model::predictions)"
                ),
            )),
        }
    }
}
