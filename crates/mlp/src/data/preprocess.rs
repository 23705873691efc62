//! Turning a [`RawTable`] into numbers: feature encoding, imputation, standardization, targets.
//!
//! Everything fitted here ([`Preprocessor`], [`TargetEncoder`]) is serializable and travels inside
//! the model file, so a model applies exactly the training-time encoding to new data. All
//! statistics (means, scales, fill values, vocabularies, class labels) come from the training
//! table only.
//!
//! # Missing cells
//!
//! A cell is missing when, after trimming, it is one of [`MISSING_TOKENS`]: the empty string,
//! `NA`, `N/A`, `NaN`, `nan`, `null` or `?` (exact spelling). Missing feature cells are filled
//! according to [`Impute`]; with [`Impute::None`] a missing cell is an error naming its line and
//! column. Missing target cells are always an error (targets are never imputed), as are missing
//! weights.
//!
//! # Feature columns
//!
//! - A column where more than half of the non-missing cells are numbers but some are not is an
//!   error naming the first offending line (a typo, not a category).
//! - A column is **numeric** when every non-missing training cell parses as an `f64` (Rust
//!   syntax: `1`, `-2.5`, `1e-3`, `.5`; no thousands separators or decimal commas). A cell that
//!   parses to a non-finite value (`inf`, `-infinity`, `NAN`) is an error, not a category.
//!   Numeric features are standardized with the training mean and population standard deviation
//!   (as scikit-learn's `StandardScaler`; a scale of 1.0 when the column is constant), computed
//!   after imputation (as an imputer-then-scaler pipeline). With `standardize: false` the mean
//!   is 0 and the scale 1.
//! - Any other column is **categorical** and one-hot encoded against its training vocabulary,
//!   sorted by byte order. A category not seen in training encodes as all zeros (like
//!   scikit-learn's `handle_unknown='ignore'`). [`Impute::Mean`] and [`Impute::Median`] are
//!   meaningless for text, so categorical columns are filled with their most frequent category
//!   under every impute mode other than `None`. A categorical column may have at most
//!   [`MAX_CATEGORIES`] distinct values (more suggests an identifier or free text column).
//! - A column whose training cells are all missing is an error.
//! - Ties for the most frequent value go to the smallest value (numerically, or by byte order),
//!   as in scikit-learn's `SimpleImputer`; the median of an even count is the mean of the middle
//!   two values.
//!
//! # Targets
//!
//! When the task kind is not given, [`fit_targets`] infers it:
//!
//! - several target columns: regression (classification takes exactly one column);
//! - one column with any non-numeric cell: classification;
//! - one numeric column whose values are all integers, with at most 20 distinct values and
//!   fewer distinct values than half the rows: classification;
//! - otherwise: regression.
//!
//! Class labels are sorted numerically when every label is a number (so `2` < `10`; `1` and
//! `1.0` are then the same class, spelled as first seen in the training data), otherwise by byte
//! order. A label not seen in training is an error at encoding time. Classification needs at
//! least two classes. Regression targets are standardized per column (population standard
//! deviation, 1.0 for a constant column); [`TargetEncoder::decode_values`] maps predictions back.
//!
//! # Weights
//!
//! A weight column must hold finite numbers `>= 0`, not all zero.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::csv::RawTable;
use super::{Dataset, Targets};
use crate::error::{Error, Result};

/// The spellings of a missing cell (compared after trimming, case-sensitive).
pub const MISSING_TOKENS: [&str; 7] = ["", "NA", "N/A", "NaN", "nan", "null", "?"];

/// The most distinct values a categorical feature column may have.
pub const MAX_CATEGORIES: usize = 1000;

/// Hint appended to missing-value errors for features.
const IMPUTE_HINT: &str = "use --impute mean|median|most-frequent, or remove the row";

/// How many labels an unknown-label error lists.
const LABELS_SHOWN: usize = 20;

/// True when a cell counts as missing (see [`MISSING_TOKENS`]).
pub fn is_missing(cell: &str) -> bool {
    MISSING_TOKENS.contains(&cell.trim())
}

/// How missing feature cells are filled; the fill value is computed on the training data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impute {
    /// No filling: a missing cell is an error.
    #[default]
    None,
    /// The column mean (most frequent category for categorical columns).
    Mean,
    /// The column median (most frequent category for categorical columns).
    Median,
    /// The most frequent value; ties go to the smallest.
    MostFrequent,
}

impl FromStr for Impute {
    type Err = Error;

    /// Parses `none`, `mean`, `median` or `most-frequent` (also `most_frequent`).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Impute::None),
            "mean" => Ok(Impute::Mean),
            "median" => Ok(Impute::Median),
            "most-frequent" | "most_frequent" => Ok(Impute::MostFrequent),
            other => Err(Error::config(
                "impute",
                format!("unknown mode '{other}'; expected none, mean, median or most-frequent"),
            )),
        }
    }
}

impl fmt::Display for Impute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Impute::None => "none",
            Impute::Mean => "mean",
            Impute::Median => "median",
            Impute::MostFrequent => "most-frequent",
        })
    }
}

/// One fitted input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FeatureColumn {
    /// A numeric column, standardized as `(x - mean) / scale`.
    Numeric {
        /// Column name in the input file.
        name: String,
        /// Training mean (0 when standardization is off).
        mean: f64,
        /// Training population standard deviation (1 when constant or standardization is off).
        scale: f64,
        /// Value used for missing cells; `None` makes a missing cell an error.
        fill: Option<f64>,
    },
    /// A text column, one-hot encoded.
    Categorical {
        /// Column name in the input file.
        name: String,
        /// Training vocabulary, sorted by byte order; one output feature each.
        categories: Vec<String>,
        /// Category used for missing cells; `None` makes a missing cell an error.
        fill: Option<String>,
    },
}

impl FeatureColumn {
    /// The input column's name.
    pub fn name(&self) -> &str {
        match self {
            FeatureColumn::Numeric { name, .. } | FeatureColumn::Categorical { name, .. } => name,
        }
    }

    /// How many features this column becomes.
    pub fn width(&self) -> usize {
        match self {
            FeatureColumn::Numeric { .. } => 1,
            FeatureColumn::Categorical { categories, .. } => categories.len(),
        }
    }
}

/// Which columns are features, targets and weights, and how to encode them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Target columns (names, or 0-based indices when no column has that name).
    pub targets: Vec<String>,
    /// Feature columns; `None` means every column that is not a target, the weight column or
    /// ignored.
    pub features: Option<Vec<String>>,
    /// Column of per-sample weights, if any.
    pub weight_column: Option<String>,
    /// Columns to leave out of the features.
    pub ignore: Vec<String>,
    /// How to fill missing feature cells.
    pub impute: Impute,
    /// Whether to standardize numeric features.
    pub standardize: bool,
}

impl Default for FeatureConfig {
    /// No targets, all other columns as features, no imputation, standardization on.
    fn default() -> Self {
        FeatureConfig {
            targets: Vec::new(),
            features: None,
            weight_column: None,
            ignore: Vec::new(),
            impute: Impute::None,
            standardize: true,
        }
    }
}

/// The fitted feature encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    /// Input columns in output order.
    pub columns: Vec<FeatureColumn>,
    /// Number of output features (after one-hot expansion).
    pub n_features: usize,
    /// Output feature names: the column name for numeric columns, `name=category` for one-hot.
    pub feature_names: Vec<String>,
}

/// Parses a non-missing numeric cell: `Ok(None)` when it is not a number at all.
fn parse_number(cell: &str) -> Option<f64> {
    cell.trim().parse::<f64>().ok()
}

fn not_finite_msg(cell: &str) -> String {
    format!("value '{cell}' is not a finite number")
}

/// Resolves a list of column specs.
fn resolve_all(table: &RawTable, specs: &[String]) -> Result<Vec<usize>> {
    specs.iter().map(|s| table.column_index(s)).collect()
}

/// The feature columns selected by `config`, in output order.
fn select_feature_columns(table: &RawTable, config: &FeatureConfig) -> Result<Vec<usize>> {
    let targets = resolve_all(table, &config.targets)?;
    let weight = config
        .weight_column
        .as_deref()
        .map(|w| table.column_index(w))
        .transpose()?;
    let ignore = resolve_all(table, &config.ignore)?;
    if let Some(w) = weight
        && targets.contains(&w)
    {
        return Err(Error::config(
            "weight-column",
            format!(
                "column '{}' is a target and cannot also be the weight column",
                table.headers[w]
            ),
        ));
    }
    let selected: Vec<usize> = match &config.features {
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for spec in list {
                let c = table.column_index(spec)?;
                let name = &table.headers[c];
                let clash = if targets.contains(&c) {
                    Some("a target")
                } else if weight == Some(c) {
                    Some("the weight column")
                } else if ignore.contains(&c) {
                    Some("ignored")
                } else if out.contains(&c) {
                    Some("listed twice")
                } else {
                    None
                };
                if let Some(why) = clash {
                    return Err(Error::config(
                        "features",
                        format!("feature column '{name}' is {why}"),
                    ));
                }
                out.push(c);
            }
            out
        }
        None => (0..table.n_columns())
            .filter(|c| !targets.contains(c) && weight != Some(*c) && !ignore.contains(c))
            .collect(),
    };
    if selected.is_empty() {
        return Err(Error::config(
            "features",
            format!(
                "no feature columns left in {} after removing targets, weight and ignored columns (columns are: {})",
                table.path.display(),
                table.available_columns()
            ),
        ));
    }
    Ok(selected)
}

fn no_rows_error(table: &RawTable) -> Error {
    Error::InvalidData(format!(
        "{}: no data rows below the header",
        table.path.display()
    ))
}

/// Mean and scale (population standard deviation) of `values` plus `n_fill` copies of `fill`;
/// the scale is 1.0 when the column is constant up to rounding (scikit-learn's bound).
fn mean_scale(values: &[f64], fill: f64, n_fill: usize) -> (f64, f64) {
    let n = (values.len() + n_fill) as f64;
    if n == 0.0 {
        return (0.0, 1.0);
    }
    let sum: f64 = values.iter().sum::<f64>() + fill * n_fill as f64;
    let mean = sum / n;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>()
        + (fill - mean) * (fill - mean) * n_fill as f64;
    let var = ss / n;
    let eps = f64::EPSILON;
    let bound = n * eps * var + (n * mean * eps) * (n * mean * eps);
    let scale = if !var.is_finite() || var <= bound {
        1.0
    } else {
        var.sqrt()
    };
    (mean, scale)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Most frequent value; ties go to the smallest.
fn most_frequent_number(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().map(|x| x + 0.0).collect(); // -0.0 -> 0.0
    v.sort_by(f64::total_cmp);
    let mut best = (0usize, 0.0f64);
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j] == v[i] {
            j += 1;
        }
        if j - i > best.0 {
            best = (j - i, v[i]);
        }
        i = j;
    }
    best.1
}

impl Preprocessor {
    /// Fits the feature encoding on a training table (see the module docs for the rules).
    pub fn fit(table: &RawTable, config: &FeatureConfig) -> Result<Preprocessor> {
        table.check_shape()?;
        let selected = select_feature_columns(table, config)?;
        if table.n_rows == 0 {
            return Err(no_rows_error(table));
        }
        if config.impute == Impute::None {
            for row in 0..table.n_rows {
                for &c in &selected {
                    if is_missing(&table.columns[c][row]) {
                        return Err(table.cell_error(
                            row,
                            c,
                            format!("missing value; {IMPUTE_HINT}"),
                        ));
                    }
                }
            }
        }
        let mut columns = Vec::with_capacity(selected.len());
        for &c in &selected {
            columns.push(fit_column(table, c, config)?);
        }
        let mut feature_names = Vec::new();
        for col in &columns {
            match col {
                FeatureColumn::Numeric { name, .. } => feature_names.push(name.clone()),
                FeatureColumn::Categorical {
                    name, categories, ..
                } => {
                    feature_names.extend(categories.iter().map(|cat| format!("{name}={cat}")));
                }
            }
        }
        Ok(Preprocessor {
            n_features: feature_names.len(),
            columns,
            feature_names,
        })
    }

    /// The raw input column names this encoding reads, in order.
    pub fn input_names(&self) -> Vec<&str> {
        self.columns.iter().map(FeatureColumn::name).collect()
    }

    /// Encodes a table as a row-major `n_rows x n_features` matrix. Columns are matched by name;
    /// extra columns are ignored. Errors: a needed column is absent ([`Error::UnknownColumn`]);
    /// a missing cell with no fill, a non-number in a numeric column, or a non-finite value
    /// ([`Error::Parse`] naming line and column).
    pub fn transform(&self, table: &RawTable) -> Result<Vec<f32>> {
        table.check_shape()?;
        let indices: Vec<usize> = self
            .columns
            .iter()
            .map(|col| {
                table
                    .find_column(col.name())
                    .ok_or_else(|| table.unknown_column(col.name()))
            })
            .collect::<Result<_>>()?;
        let width = self.n_features;
        let mut out = vec![0.0f32; table.n_rows * width];
        let mut offset = 0;
        for (col, &c) in self.columns.iter().zip(&indices) {
            let cells = &table.columns[c];
            match col {
                FeatureColumn::Numeric {
                    mean, scale, fill, ..
                } => {
                    for (row, cell) in cells.iter().enumerate().take(table.n_rows) {
                        let v = if is_missing(cell) {
                            match fill {
                                Some(f) => *f,
                                None => {
                                    return Err(table.cell_error(
                                        row,
                                        c,
                                        format!("missing value; {IMPUTE_HINT}"),
                                    ));
                                }
                            }
                        } else {
                            match parse_number(cell) {
                                Some(v) if v.is_finite() => v,
                                Some(_) => {
                                    return Err(table.cell_error(row, c, not_finite_msg(cell)));
                                }
                                None => {
                                    return Err(table.cell_error(
                                        row,
                                        c,
                                        format!(
                                            "cannot parse '{cell}' as a number (the column was numeric in the training data)"
                                        ),
                                    ));
                                }
                            }
                        };
                        let z = ((v - mean) / scale) as f32;
                        if !z.is_finite() {
                            return Err(table.cell_error(
                                row,
                                c,
                                format!("value '{cell}' is out of range after standardization"),
                            ));
                        }
                        out[row * width + offset] = z;
                    }
                }
                FeatureColumn::Categorical {
                    categories, fill, ..
                } => {
                    for (row, cell) in cells.iter().enumerate().take(table.n_rows) {
                        let value: &str = if is_missing(cell) {
                            match fill {
                                Some(f) => f,
                                None => {
                                    return Err(table.cell_error(
                                        row,
                                        c,
                                        format!("missing value; {IMPUTE_HINT}"),
                                    ));
                                }
                            }
                        } else {
                            cell
                        };
                        if let Ok(k) = categories.binary_search_by(|cat| cat.as_str().cmp(value)) {
                            out[row * width + offset + k] = 1.0;
                        }
                    }
                }
            }
            offset += col.width();
        }
        Ok(out)
    }
}

/// Fits one feature column (missing cells are known to be allowed or absent).
fn fit_column(table: &RawTable, c: usize, config: &FeatureConfig) -> Result<FeatureColumn> {
    let name = table.headers[c].clone();
    let cells = &table.columns[c];
    let present: Vec<(usize, &str)> = cells
        .iter()
        .enumerate()
        .filter(|(_, s)| !is_missing(s))
        .map(|(r, s)| (r, s.as_str()))
        .collect();
    if present.is_empty() {
        return Err(Error::InvalidData(format!(
            "{}: column '{name}' has no values (every cell is missing); drop it with --ignore",
            table.path.display()
        )));
    }
    let first_text = present.iter().find(|(_, s)| parse_number(s).is_none());
    match first_text {
        None => {
            let mut values = Vec::with_capacity(present.len());
            for &(row, cell) in &present {
                match parse_number(cell) {
                    Some(v) if v.is_finite() => values.push(v),
                    _ => return Err(table.cell_error(row, c, not_finite_msg(cell))),
                }
            }
            let fill = match config.impute {
                Impute::None => None,
                Impute::Mean => Some(values.iter().sum::<f64>() / values.len() as f64),
                Impute::Median => Some(median(&values)),
                Impute::MostFrequent => Some(most_frequent_number(&values)),
            };
            let n_fill = cells.len() - values.len();
            let (mean, scale) = if config.standardize {
                mean_scale(&values, fill.unwrap_or(0.0), n_fill)
            } else {
                (0.0, 1.0)
            };
            Ok(FeatureColumn::Numeric {
                name,
                mean,
                scale,
                fill,
            })
        }
        Some(&(text_row, text_cell)) => {
            // Mostly numbers with a few words: a typo or a corrupt cell, not a category.
            let numeric = present
                .iter()
                .filter(|(_, s)| parse_number(s).is_some())
                .count();
            if numeric * 2 > present.len() {
                return Err(table.cell_error(
                    text_row,
                    c,
                    format!(
                        "cannot parse '{text_cell}' as a number ({numeric} of {} values in this column are numbers); fix the cell, mark it missing and use --impute, or leave the column out with --ignore '{name}'",
                        present.len()
                    ),
                ));
            }
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for &(_, cell) in &present {
                *counts.entry(cell).or_insert(0) += 1;
            }
            if counts.len() > MAX_CATEGORIES {
                return Err(Error::InvalidData(format!(
                    "{}: column '{name}' has {} distinct text values (at most {MAX_CATEGORIES} are one-hot encoded); \
                     it looks like an identifier or free text: leave it out with --ignore '{name}'; \
                     if it should be numeric, fix line {} ('{text_cell}')",
                    table.path.display(),
                    counts.len(),
                    table.line(text_row),
                )));
            }
            let fill = match config.impute {
                Impute::None => None,
                _ => {
                    let mut best: Option<(&str, usize)> = None;
                    for (&cat, &n) in &counts {
                        if best.is_none_or(|(_, b)| n > b) {
                            best = Some((cat, n));
                        }
                    }
                    best.map(|(cat, _)| cat.to_string())
                }
            };
            Ok(FeatureColumn::Categorical {
                name,
                categories: counts.into_keys().map(str::to_string).collect(),
                fill,
            })
        }
    }
}

/// Whether the targets are classes or real values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// One class label per row.
    Classify,
    /// One or more real values per row.
    Regress,
}

impl FromStr for TargetKind {
    type Err = Error;

    /// Parses `classify`/`classification` or `regress`/`regression`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classify" | "classification" => Ok(TargetKind::Classify),
            "regress" | "regression" => Ok(TargetKind::Regress),
            other => Err(Error::config(
                "task",
                format!("unknown task '{other}'; expected classify or regress"),
            )),
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetKind::Classify => "classify",
            TargetKind::Regress => "regress",
        })
    }
}

/// The fitted target encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum TargetEncoder {
    /// Classification: each row's label becomes its index in `labels`.
    Classes {
        /// The target column's name.
        name: String,
        /// Class labels, sorted (numerically when all are numbers).
        labels: Vec<String>,
    },
    /// Regression: each target column is standardized as `(y - mean) / scale`.
    Standardized {
        /// Target column names, in output order.
        names: Vec<String>,
        /// Training mean per column.
        mean: Vec<f64>,
        /// Training population standard deviation per column (1 when constant).
        scale: Vec<f64>,
    },
}

/// Numeric label values (normalized `-0.0`), if every label is a finite number.
fn numeric_labels(labels: &[String]) -> Option<Vec<f64>> {
    labels
        .iter()
        .map(|l| parse_number(l).filter(|v| v.is_finite()).map(|v| v + 0.0))
        .collect()
}

/// Fits the target encoding on the given columns of a training table. `kind: None` infers
/// classification or regression (see the module docs).
pub fn fit_targets(
    table: &RawTable,
    target_cols: &[usize],
    kind: Option<TargetKind>,
) -> Result<TargetEncoder> {
    table.check_shape()?;
    if target_cols.is_empty() {
        return Err(Error::config(
            "target",
            "at least one target column is required",
        ));
    }
    for (i, &c) in target_cols.iter().enumerate() {
        if c >= table.n_columns() {
            return Err(Error::config(
                "target",
                format!(
                    "column index {c} is out of range; {} has {} columns",
                    table.path.display(),
                    table.n_columns()
                ),
            ));
        }
        if target_cols[..i].contains(&c) {
            return Err(Error::config(
                "target",
                format!("column '{}' is listed twice", table.headers[c]),
            ));
        }
    }
    if table.n_rows == 0 {
        return Err(no_rows_error(table));
    }
    check_no_missing_targets(table, target_cols)?;
    let names: Vec<String> = target_cols
        .iter()
        .map(|&c| table.headers[c].clone())
        .collect();
    let kind = match kind {
        Some(k) => k,
        None if target_cols.len() > 1 => TargetKind::Regress,
        None => infer_kind(&table.columns[target_cols[0]]),
    };
    match kind {
        TargetKind::Classify => {
            if target_cols.len() > 1 {
                return Err(Error::config(
                    "target",
                    format!(
                        "classification takes exactly one target column, got {} ({}); several target columns are only supported for regression",
                        target_cols.len(),
                        names.join(", ")
                    ),
                ));
            }
            fit_classes(table, target_cols[0])
        }
        TargetKind::Regress => {
            let mut mean = Vec::with_capacity(target_cols.len());
            let mut scale = Vec::with_capacity(target_cols.len());
            for &c in target_cols {
                let values = regression_values(table, c)?;
                let (m, s) = mean_scale(&values, 0.0, 0);
                mean.push(m);
                scale.push(s);
            }
            Ok(TargetEncoder::Standardized { names, mean, scale })
        }
    }
}

fn check_no_missing_targets(table: &RawTable, cols: &[usize]) -> Result<()> {
    for row in 0..table.n_rows {
        for &c in cols {
            if is_missing(&table.columns[c][row]) {
                return Err(table.cell_error(
                    row,
                    c,
                    "missing target value; targets are never imputed, remove the row",
                ));
            }
        }
    }
    Ok(())
}

/// The classification/regression rule of the module docs, for one column without missing cells.
fn infer_kind(cells: &[String]) -> TargetKind {
    let mut distinct: BTreeSet<u64> = BTreeSet::new();
    for cell in cells {
        match parse_number(cell) {
            None => return TargetKind::Classify,
            Some(v) if !v.is_finite() => return TargetKind::Regress,
            Some(v) if v.fract() != 0.0 => return TargetKind::Regress,
            Some(v) => {
                distinct.insert((v + 0.0).to_bits());
            }
        }
    }
    if distinct.len() <= 20 && 2 * distinct.len() < cells.len() {
        TargetKind::Classify
    } else {
        TargetKind::Regress
    }
}

fn fit_classes(table: &RawTable, c: usize) -> Result<TargetEncoder> {
    let cells = &table.columns[c];
    let name = table.headers[c].clone();
    let all_numeric = cells
        .iter()
        .all(|s| parse_number(s).is_some_and(f64::is_finite));
    let labels: Vec<String> = if all_numeric {
        let mut seen: Vec<(f64, &str)> = Vec::new();
        let mut bits: HashSet<u64> = HashSet::new();
        for cell in cells {
            let v = parse_number(cell).unwrap_or(0.0) + 0.0;
            if bits.insert(v.to_bits()) {
                seen.push((v, cell));
            }
        }
        seen.sort_by(|a, b| a.0.total_cmp(&b.0));
        seen.into_iter().map(|(_, s)| s.to_string()).collect()
    } else {
        let set: BTreeSet<&str> = cells.iter().map(String::as_str).collect();
        set.into_iter().map(str::to_string).collect()
    };
    if labels.len() < 2 {
        return Err(Error::InvalidData(format!(
            "{}: target column '{name}' has a single class ('{}'); classification needs at least two",
            table.path.display(),
            labels.first().map_or("", String::as_str)
        )));
    }
    Ok(TargetEncoder::Classes { name, labels })
}

fn regression_values(table: &RawTable, c: usize) -> Result<Vec<f64>> {
    let mut values = Vec::with_capacity(table.n_rows);
    for (row, cell) in table.columns[c].iter().enumerate().take(table.n_rows) {
        if is_missing(cell) {
            return Err(table.cell_error(
                row,
                c,
                "missing target value; targets are never imputed, remove the row",
            ));
        }
        match parse_number(cell) {
            Some(v) if v.is_finite() => values.push(v),
            Some(_) => return Err(table.cell_error(row, c, not_finite_msg(cell))),
            None => {
                return Err(table.cell_error(
                    row,
                    c,
                    format!(
                        "cannot parse '{cell}' as a number (regression targets must be numbers)"
                    ),
                ));
            }
        }
    }
    Ok(values)
}

fn shown_labels(labels: &[String]) -> String {
    let mut s = labels
        .iter()
        .take(LABELS_SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if labels.len() > LABELS_SHOWN {
        s.push_str(&format!(", ... ({} in all)", labels.len()));
    }
    s
}

impl TargetEncoder {
    /// Classification or regression.
    pub fn kind(&self) -> TargetKind {
        match self {
            TargetEncoder::Classes { .. } => TargetKind::Classify,
            TargetEncoder::Standardized { .. } => TargetKind::Regress,
        }
    }

    /// The target column names this encoding reads.
    pub fn column_names(&self) -> Vec<&str> {
        match self {
            TargetEncoder::Classes { name, .. } => vec![name.as_str()],
            TargetEncoder::Standardized { names, .. } => names.iter().map(String::as_str).collect(),
        }
    }

    /// Number of network outputs: the number of classes, or the number of target columns.
    pub fn n_outputs(&self) -> usize {
        match self {
            TargetEncoder::Classes { labels, .. } => labels.len(),
            TargetEncoder::Standardized { names, .. } => names.len(),
        }
    }

    /// Encodes the target columns of a table (matched by name). Errors: a target column is absent
    /// ([`Error::UnknownColumn`]); a missing cell, a label not seen in training, or a non-number
    /// in a regression column ([`Error::Parse`] naming line and column).
    pub fn encode(&self, table: &RawTable) -> Result<Targets> {
        table.check_shape()?;
        let find = |name: &str| {
            table
                .find_column(name)
                .ok_or_else(|| table.unknown_column(name))
        };
        match self {
            TargetEncoder::Classes { name, labels } => {
                let c = find(name)?;
                check_no_missing_targets(table, &[c])?;
                let exact: HashMap<&str, usize> = labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (l.as_str(), i))
                    .collect();
                let numeric = numeric_labels(labels);
                let mut out = Vec::with_capacity(table.n_rows);
                for (row, cell) in table.columns[c].iter().enumerate().take(table.n_rows) {
                    let found = exact.get(cell.as_str()).copied().or_else(|| {
                        let values = numeric.as_ref()?;
                        let v = parse_number(cell)? + 0.0;
                        values.iter().position(|&x| x == v)
                    });
                    match found {
                        Some(k) => out.push(k),
                        None => {
                            return Err(table.cell_error(
                                row,
                                c,
                                format!(
                                    "unknown class label '{cell}'; the model knows: {}",
                                    shown_labels(labels)
                                ),
                            ));
                        }
                    }
                }
                Ok(Targets::Classes {
                    labels: out,
                    n_classes: labels.len(),
                })
            }
            TargetEncoder::Standardized { names, mean, scale } => {
                let k = names.len();
                let mut values = vec![0.0f32; table.n_rows * k];
                for (j, name) in names.iter().enumerate() {
                    let c = find(name)?;
                    let raw = regression_values(table, c)?;
                    for (row, v) in raw.into_iter().enumerate() {
                        let z = ((v - mean[j]) / scale[j]) as f32;
                        if !z.is_finite() {
                            return Err(table.cell_error(
                                row,
                                c,
                                format!("value '{v}' is out of range after standardization"),
                            ));
                        }
                        values[row * k + j] = z;
                    }
                }
                Ok(Targets::Values {
                    values,
                    n_outputs: k,
                })
            }
        }
    }

    /// Maps standardized regression outputs (row-major `n x n_outputs`) back to target units in
    /// place. Does nothing for classification.
    pub fn decode_values(&self, standardized: &mut [f32]) {
        if let TargetEncoder::Standardized { mean, scale, .. } = self {
            let k = mean.len().min(scale.len());
            if k == 0 {
                return;
            }
            for (i, v) in standardized.iter_mut().enumerate() {
                let j = i % k;
                *v = (*v as f64 * scale[j] + mean[j]) as f32;
            }
        }
    }

    /// The label of class index `k`, if any.
    pub fn label(&self, k: usize) -> Option<&str> {
        match self {
            TargetEncoder::Classes { labels, .. } => labels.get(k).map(String::as_str),
            TargetEncoder::Standardized { .. } => None,
        }
    }
}

/// Reads a weight column: finite numbers `>= 0`, not all zero.
fn parse_weights(table: &RawTable, c: usize) -> Result<Vec<f32>> {
    let mut weights = Vec::with_capacity(table.n_rows);
    for (row, cell) in table.columns[c].iter().enumerate().take(table.n_rows) {
        if is_missing(cell) {
            return Err(table.cell_error(row, c, "missing sample weight"));
        }
        match parse_number(cell) {
            Some(v) if v.is_finite() && v >= 0.0 && (v as f32).is_finite() => {
                weights.push(v as f32);
            }
            Some(_) => {
                return Err(table.cell_error(
                    row,
                    c,
                    format!("sample weight '{cell}' must be a finite number >= 0"),
                ));
            }
            None => {
                return Err(table.cell_error(
                    row,
                    c,
                    format!("cannot parse '{cell}' as a number (sample weights must be numbers)"),
                ));
            }
        }
    }
    if !weights.is_empty() && weights.iter().all(|&w| w == 0.0) {
        return Err(Error::InvalidData(format!(
            "{}: every sample weight in column '{}' is zero",
            table.path.display(),
            table.headers[c]
        )));
    }
    Ok(weights)
}

/// Fits the feature and target encodings on a training table and encodes it. `kind: None`
/// infers the task (see the module docs).
pub fn load_tabular(
    table: &RawTable,
    config: &FeatureConfig,
    kind: Option<TargetKind>,
) -> Result<(Preprocessor, TargetEncoder, Dataset)> {
    if config.targets.is_empty() {
        return Err(Error::config("target", "name at least one target column"));
    }
    let target_cols = resolve_all(table, &config.targets)?;
    let pre = Preprocessor::fit(table, config)?;
    let enc = fit_targets(table, &target_cols, kind)?;
    let data = apply_tabular(&pre, &enc, table, config.weight_column.as_deref())?;
    Ok((pre, enc, data))
}

/// Encodes a table with already-fitted encodings (evaluation data with known targets). The
/// weight column, if given, is resolved like [`RawTable::column_index`].
pub fn apply_tabular(
    pre: &Preprocessor,
    enc: &TargetEncoder,
    table: &RawTable,
    weight_column: Option<&str>,
) -> Result<Dataset> {
    if table.n_rows == 0 {
        return Err(no_rows_error(table));
    }
    let features = pre.transform(table)?;
    let targets = enc.encode(table)?;
    let weights = weight_column
        .map(|w| table.column_index(w).and_then(|c| parse_weights(table, c)))
        .transpose()?;
    Ok(Dataset {
        features,
        n_features: pre.n_features,
        targets,
        weights,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::csv::{read_csv, read_csv_from_reader};

    fn temp_file(tag: &str, contents: &[u8]) -> std::path::PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!(
            "mlp-preprocess-test-{}-{tag}-{n}.csv",
            std::process::id()
        ));
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn table(contents: &str) -> RawTable {
        read_csv_from_reader("mem.csv", contents.as_bytes(), None).unwrap()
    }

    fn config(targets: &[&str]) -> FeatureConfig {
        FeatureConfig {
            targets: targets.iter().map(|s| s.to_string()).collect(),
            ..FeatureConfig::default()
        }
    }

    fn parse_err(err: Error) -> (u64, String, String) {
        match err {
            Error::Parse {
                line, column, msg, ..
            } => (line, column, msg),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + b.abs())
    }

    #[test]
    fn impute_parse_and_serde() {
        assert_eq!("mean".parse::<Impute>().unwrap(), Impute::Mean);
        assert_eq!(
            "most-frequent".parse::<Impute>().unwrap(),
            Impute::MostFrequent
        );
        assert_eq!("None".parse::<Impute>().unwrap(), Impute::None);
        assert!(matches!(
            "avg".parse::<Impute>(),
            Err(Error::InvalidConfig { .. })
        ));
        assert_eq!(
            serde_json::to_string(&Impute::MostFrequent).unwrap(),
            "\"most-frequent\""
        );
        assert_eq!(Impute::MostFrequent.to_string(), "most-frequent");
        assert_eq!(
            serde_json::to_string(&TargetKind::Classify).unwrap(),
            "\"classify\""
        );
        assert_eq!(
            "regression".parse::<TargetKind>().unwrap(),
            TargetKind::Regress
        );
    }

    #[test]
    fn standardization_matches_hand_values() {
        // x = 1, 2, 3, 4: mean 2.5, population std sqrt(1.25).
        let t = table("x,c,y\n1,5,a\n2,5,b\n3,5,a\n4,5,b\n");
        let pre = Preprocessor::fit(&t, &config(&["y"])).unwrap();
        match &pre.columns[0] {
            FeatureColumn::Numeric {
                name, mean, scale, ..
            } => {
                assert_eq!(name, "x");
                assert!(close(*mean, 2.5));
                assert!(close(*scale, 1.25f64.sqrt()));
            }
            other => panic!("{other:?}"),
        }
        // Constant column: scale 1.
        match &pre.columns[1] {
            FeatureColumn::Numeric { mean, scale, .. } => {
                assert!(close(*mean, 5.0));
                assert_eq!(*scale, 1.0);
            }
            other => panic!("{other:?}"),
        }
        let x = pre.transform(&t).unwrap();
        let s = 1.25f64.sqrt();
        let expected = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s];
        for (r, e) in expected.iter().enumerate() {
            assert!((x[r * 2] as f64 - e).abs() < 1e-6);
            assert_eq!(x[r * 2 + 1], 0.0);
        }
        // Standardization off.
        let cfg = FeatureConfig {
            standardize: false,
            ..config(&["y"])
        };
        let pre = Preprocessor::fit(&t, &cfg).unwrap();
        assert_eq!(pre.transform(&t).unwrap()[..4], [1.0, 5.0, 2.0, 5.0]);
    }

    #[test]
    fn constant_fractional_column_gets_unit_scale() {
        let t = table("x,y\n0.1,a\n0.1,b\n0.1,a\n0.1,b\n0.1,a\n0.1,b\n0.1,a\n");
        let pre = Preprocessor::fit(&t, &config(&["y"])).unwrap();
        match &pre.columns[0] {
            FeatureColumn::Numeric { scale, .. } => assert_eq!(*scale, 1.0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_hot_vocabulary_and_unseen_category() {
        let t = table("color,n,y\nred,1,0\nblue,2,1\nred,3,0\ngreen,4,1\n");
        let pre = Preprocessor::fit(&t, &config(&["y"])).unwrap();
        assert_eq!(
            pre.columns[0],
            FeatureColumn::Categorical {
                name: "color".into(),
                categories: vec!["blue".into(), "green".into(), "red".into()],
                fill: None,
            }
        );
        assert_eq!(pre.n_features, 4);
        assert_eq!(
            pre.feature_names,
            vec!["color=blue", "color=green", "color=red", "n"]
        );
        assert_eq!(pre.input_names(), vec!["color", "n"]);
        let x = pre.transform(&t).unwrap();
        assert_eq!(&x[0..3], &[0.0, 0.0, 1.0]);
        assert_eq!(&x[4..7], &[1.0, 0.0, 0.0]);
        // New data: columns in another order, an extra column, an unseen category.
        let new = table("extra,n,color\nq,1,purple\nq,2,green\n");
        let x = pre.transform(&new).unwrap();
        assert_eq!(&x[0..3], &[0.0, 0.0, 0.0]);
        assert_eq!(&x[4..7], &[0.0, 1.0, 0.0]);
        // A needed column absent.
        let err = pre.transform(&table("n\n1\n")).unwrap_err();
        assert!(matches!(err, Error::UnknownColumn { ref name, .. } if name == "color"));
    }

    #[test]
    fn serde_round_trip() {
        let t = table("color,n,y\nred,1,0\nblue,2,1\nred,NA,0\ngreen,4,1\n");
        let cfg = FeatureConfig {
            impute: Impute::Median,
            ..config(&["y"])
        };
        let (pre, enc, _) = load_tabular(&t, &cfg, None).unwrap();
        let json = serde_json::to_string(&pre).unwrap();
        assert_eq!(serde_json::from_str::<Preprocessor>(&json).unwrap(), pre);
        let json = serde_json::to_string(&enc).unwrap();
        assert_eq!(serde_json::from_str::<TargetEncoder>(&json).unwrap(), enc);
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<FeatureConfig>(&json).unwrap(), cfg);
    }

    fn numeric_fill(pre: &Preprocessor, i: usize) -> Option<f64> {
        match &pre.columns[i] {
            FeatureColumn::Numeric { fill, .. } => *fill,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn impute_modes_match_hand_values() {
        // x: 1, 2, 2, 10, missing -> mean 3.75, median 2, most frequent 2.
        // z: 3, 1, 3, 1, missing -> most frequent tie -> 1 (smallest).
        // c: b, a, b, ?, a -> most frequent tie -> "a".
        let csv = "x,z,c,y\n1,3,b,0\n2,1,a,1\n2,3,b,0\n10,1,?,1\nNA,,a,0\n";
        let t = table(csv);
        let fit = |impute| {
            let cfg = FeatureConfig {
                impute,
                standardize: false,
                ..config(&["y"])
            };
            Preprocessor::fit(&t, &cfg).unwrap()
        };
        let mean = fit(Impute::Mean);
        assert!(close(numeric_fill(&mean, 0).unwrap(), 3.75));
        assert!(close(numeric_fill(&mean, 1).unwrap(), 2.0));
        let median = fit(Impute::Median);
        assert!(close(numeric_fill(&median, 0).unwrap(), 2.0));
        assert!(close(numeric_fill(&median, 1).unwrap(), 2.0));
        let mode = fit(Impute::MostFrequent);
        assert_eq!(numeric_fill(&mode, 0), Some(2.0));
        assert_eq!(numeric_fill(&mode, 1), Some(1.0));
        for pre in [&mean, &median, &mode] {
            match &pre.columns[2] {
                FeatureColumn::Categorical {
                    categories, fill, ..
                } => {
                    assert_eq!(categories, &vec!["a".to_string(), "b".to_string()]);
                    assert_eq!(fill.as_deref(), Some("a"));
                }
                other => panic!("{other:?}"),
            }
        }
        // Filled cells are used in the transform (row 4 = line 5: x missing, z missing).
        let x = mean.transform(&t).unwrap();
        assert!((x[4 * 4] as f64 - 3.75).abs() < 1e-6);
        assert!((x[4 * 4 + 1] as f64 - 2.0).abs() < 1e-6);
        // Row 3: c missing -> filled with "a".
        assert_eq!(&x[3 * 4 + 2..3 * 4 + 4], &[1.0, 0.0]);
        // Even-count median.
        let t2 = table("x,y\n4,a\n1,b\nNA,a\n3,b\n8,a\n");
        let cfg = FeatureConfig {
            impute: Impute::Median,
            ..config(&["y"])
        };
        let pre = Preprocessor::fit(&t2, &cfg).unwrap();
        assert!(close(numeric_fill(&pre, 0).unwrap(), 3.5));
        // Standardization statistics include the imputed value: 4, 1, 3.5, 3, 8.
        match &pre.columns[0] {
            FeatureColumn::Numeric { mean, scale, .. } => {
                let v = [4.0, 1.0, 3.5, 3.0, 8.0];
                let m = v.iter().sum::<f64>() / 5.0;
                let s = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 5.0).sqrt();
                assert!(close(*mean, m));
                assert!(close(*scale, s));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn imputation_uses_training_statistics_only() {
        let train = table("x,y\n1,a\n3,b\n");
        let cfg = FeatureConfig {
            impute: Impute::Mean,
            standardize: false,
            ..config(&["y"])
        };
        let pre = Preprocessor::fit(&train, &cfg).unwrap();
        let test = table("x,y\n100,a\nNA,b\n");
        assert_eq!(pre.transform(&test).unwrap(), vec![100.0, 2.0]);
    }

    #[test]
    fn missing_cell_without_impute_names_line_and_column() {
        // First offending line is 3 (column b), though column a has one on line 4.
        let t = table("a,b,y\n1,2,x\n3,,x\nnull,4,x\n");
        let (line, column, msg) = parse_err(Preprocessor::fit(&t, &config(&["y"])).unwrap_err());
        assert_eq!((line, column.as_str()), (3, "b"));
        assert!(
            msg.contains("use --impute mean|median|most-frequent"),
            "{msg}"
        );
        let err = Preprocessor::fit(&t, &config(&["y"])).unwrap_err();
        assert!(
            err.to_string().contains("mem.csv, line 3, column 'b'"),
            "{err}"
        );
        // Missing at transform time with no fill.
        let train = table("a,y\n1,x\n2,z\n");
        let pre = Preprocessor::fit(&train, &config(&["y"])).unwrap();
        let (line, column, _) = parse_err(pre.transform(&table("a\n1\n\n?\n")).unwrap_err());
        assert_eq!((line, column.as_str()), (4, "a"));
    }

    #[test]
    fn missing_tokens() {
        for tok in MISSING_TOKENS {
            assert!(is_missing(tok));
        }
        assert!(is_missing("  NA "));
        assert!(!is_missing("none"));
        assert!(!is_missing("0"));
    }

    #[test]
    fn non_finite_and_text_in_numeric_columns() {
        let t = table("a,y\n1,x\ninf,z\n");
        let (line, column, msg) = parse_err(Preprocessor::fit(&t, &config(&["y"])).unwrap_err());
        assert_eq!((line, column.as_str()), (3, "a"));
        assert!(msg.contains("not a finite number"), "{msg}");
        let t = table("a,y\n1,x\n-Infinity,z\n");
        assert!(matches!(
            Preprocessor::fit(&t, &config(&["y"])),
            Err(Error::Parse { line: 3, .. })
        ));
        // "NaN" is missing, not a value.
        let t = table("a,y\n1,x\nNaN,z\n");
        let (line, _, msg) = parse_err(Preprocessor::fit(&t, &config(&["y"])).unwrap_err());
        assert_eq!(line, 3);
        assert!(msg.contains("missing"));
        // A text cell makes the training column categorical...
        let t = table("a,y\n1,x\nabc,z\n");
        let pre = Preprocessor::fit(&t, &config(&["y"])).unwrap();
        assert!(matches!(pre.columns[0], FeatureColumn::Categorical { .. }));
        // ...but at transform time a numeric column rejects text.
        let pre = Preprocessor::fit(&table("a,y\n1,x\n2,z\n"), &config(&["y"])).unwrap();
        let (line, column, msg) = parse_err(pre.transform(&table("a\n1\nabc\n")).unwrap_err());
        assert_eq!((line, column.as_str()), (3, "a"));
        assert!(msg.contains("cannot parse 'abc' as a number"), "{msg}");
        let (line, _, _) = parse_err(pre.transform(&table("a\ninf\n")).unwrap_err());
        assert_eq!(line, 2);
    }

    #[test]
    fn all_missing_column_is_an_error() {
        let t = table("a,b,y\n1,,x\n2,NA,z\n");
        let cfg = FeatureConfig {
            impute: Impute::Mean,
            ..config(&["y"])
        };
        let err = Preprocessor::fit(&t, &cfg).unwrap_err();
        assert!(
            matches!(err, Error::InvalidData(ref m) if m.contains("'b'")),
            "{err}"
        );
    }

    #[test]
    fn feature_selection() {
        let t = table("id,a,b,w,y\n1,2,3,1,x\n2,3,4,1,z\n");
        let cfg = FeatureConfig {
            ignore: vec!["id".into()],
            weight_column: Some("w".into()),
            ..config(&["y"])
        };
        let pre = Preprocessor::fit(&t, &cfg).unwrap();
        assert_eq!(pre.input_names(), vec!["a", "b"]);
        let cfg = FeatureConfig {
            features: Some(vec!["b".into(), "1".into()]),
            ..config(&["4"])
        };
        let pre = Preprocessor::fit(&t, &cfg).unwrap();
        assert_eq!(pre.input_names(), vec!["b", "a"]);
        let cfg = FeatureConfig {
            features: Some(vec!["y".into()]),
            ..config(&["y"])
        };
        assert!(matches!(
            Preprocessor::fit(&t, &cfg),
            Err(Error::InvalidConfig { .. })
        ));
        let cfg = FeatureConfig {
            ignore: vec!["nope".into()],
            ..config(&["y"])
        };
        let err = Preprocessor::fit(&t, &cfg).unwrap_err();
        assert!(
            matches!(err, Error::UnknownColumn { ref available, .. } if available == "id, a, b, w, y")
        );
    }

    fn labels_of(enc: &TargetEncoder) -> Vec<String> {
        match enc {
            TargetEncoder::Classes { labels, .. } => labels.clone(),
            other => panic!("expected classes, got {other:?}"),
        }
    }

    #[test]
    fn target_inference_rules() {
        // Text -> classification.
        let t = table("x,y\n1,cat\n2,dog\n3,cat\n");
        assert_eq!(
            fit_targets(&t, &[1], None).unwrap().kind(),
            TargetKind::Classify
        );
        // Few distinct integers, fewer than half the rows -> classification.
        let t = table("x,y\n1,0\n2,1\n3,0\n4,1\n5,1\n");
        assert_eq!(
            fit_targets(&t, &[1], None).unwrap().kind(),
            TargetKind::Classify
        );
        // Fractional values -> regression.
        let t = table("x,y\n1,0.5\n2,1\n3,0\n4,1\n5,1\n");
        assert_eq!(
            fit_targets(&t, &[1], None).unwrap().kind(),
            TargetKind::Regress
        );
        // Integers, but distinct count not below half the rows -> regression.
        let t = table("x,y\n1,0\n2,1\n3,2\n4,0\n");
        assert_eq!(
            fit_targets(&t, &[1], None).unwrap().kind(),
            TargetKind::Regress
        );
        // 21 distinct integers over many rows -> regression; 20 -> classification.
        let make = |k: usize| {
            let mut s = String::from("x,y\n");
            for i in 0..100 {
                s.push_str(&format!("{i},{}\n", i % k));
            }
            table(&s)
        };
        assert_eq!(
            fit_targets(&make(21), &[1], None).unwrap().kind(),
            TargetKind::Regress
        );
        assert_eq!(
            fit_targets(&make(20), &[1], None).unwrap().kind(),
            TargetKind::Classify
        );
        // Several targets -> regression; classification with several is refused.
        let t = table("x,y,z\n1,2,3\n2,3,4\n");
        assert_eq!(
            fit_targets(&t, &[1, 2], None).unwrap().kind(),
            TargetKind::Regress
        );
        assert!(matches!(
            fit_targets(&t, &[1, 2], Some(TargetKind::Classify)),
            Err(Error::InvalidConfig { .. })
        ));
        // Explicit kind overrides inference.
        let t = table("x,y\n1,0.5\n2,1.5\n");
        assert_eq!(
            fit_targets(&t, &[1], Some(TargetKind::Classify))
                .unwrap()
                .kind(),
            TargetKind::Classify
        );
        // Text with explicit regression: parse error.
        let t = table("x,y\n1,2\n2,abc\n");
        let (line, column, _) =
            parse_err(fit_targets(&t, &[1], Some(TargetKind::Regress)).unwrap_err());
        assert_eq!((line, column.as_str()), (3, "y"));
        // Single class refused.
        let t = table("x,y\n1,a\n2,a\n");
        assert!(matches!(
            fit_targets(&t, &[1], None),
            Err(Error::InvalidData(_))
        ));
    }

    #[test]
    fn missing_target_is_an_error_even_with_impute() {
        let t = table("x,y\n1,a\n2,\n3,b\n");
        let cfg = FeatureConfig {
            impute: Impute::Mean,
            ..config(&["y"])
        };
        let (line, column, msg) = parse_err(load_tabular(&t, &cfg, None).unwrap_err());
        assert_eq!((line, column.as_str()), (3, "y"));
        assert!(msg.contains("never imputed"), "{msg}");
    }

    #[test]
    fn label_sorting_numeric_and_text() {
        let t = table("x,y\n1,10\n2,2\n3,1\n4,10\n5,2\n6,1\n7,2\n");
        let enc = fit_targets(&t, &[1], None).unwrap();
        assert_eq!(labels_of(&enc), vec!["1", "2", "10"]);
        match enc.encode(&t).unwrap() {
            Targets::Classes { labels, n_classes } => {
                assert_eq!(n_classes, 3);
                assert_eq!(labels, vec![2, 1, 0, 2, 1, 0, 1]);
            }
            other => panic!("{other:?}"),
        }
        // Numeric labels match by value at encoding time.
        let ev = table("y\n2.0\n10\n");
        match enc.encode(&ev).unwrap() {
            Targets::Classes { labels, .. } => assert_eq!(labels, vec![1, 2]),
            other => panic!("{other:?}"),
        }
        let t = table("x,y\n1,b10\n2,b2\n3,a\n");
        let enc = fit_targets(&t, &[1], None).unwrap();
        assert_eq!(labels_of(&enc), vec!["a", "b10", "b2"]);
        // Negative and fractional numeric labels.
        let t = table("x,y\n1,-1\n2,0.5\n3,-10\n");
        let enc = fit_targets(&t, &[1], Some(TargetKind::Classify)).unwrap();
        assert_eq!(labels_of(&enc), vec!["-10", "-1", "0.5"]);
    }

    #[test]
    fn unknown_label_names_the_line() {
        let t = table("x,y\n1,cat\n2,dog\n");
        let enc = fit_targets(&t, &[1], None).unwrap();
        let ev = table("x,y\n1,dog\n2,cat\n3,bird\n");
        let (line, column, msg) = parse_err(enc.encode(&ev).unwrap_err());
        assert_eq!((line, column.as_str()), (4, "y"));
        assert!(msg.contains("unknown class label 'bird'"), "{msg}");
        assert!(msg.contains("cat, dog"), "{msg}");
    }

    #[test]
    fn regression_round_trip() {
        let t = table("x,a,b\n1,1.5,-100.25\n2,-2.25,300.5\n3,3.75,12.125\n4,0.1,7\n");
        let enc = fit_targets(&t, &[1, 2], None).unwrap();
        assert_eq!(enc.n_outputs(), 2);
        assert_eq!(enc.column_names(), vec!["a", "b"]);
        let originals: [f64; 8] = [1.5, -100.25, -2.25, 300.5, 3.75, 12.125, 0.1, 7.0];
        let mut values = match enc.encode(&t).unwrap() {
            Targets::Values { values, n_outputs } => {
                assert_eq!(n_outputs, 2);
                // Standardized: mean ~0 and population std ~1 per column.
                for j in 0..2 {
                    let col: Vec<f64> = (0..4).map(|r| values[r * 2 + j] as f64).collect();
                    let m = col.iter().sum::<f64>() / 4.0;
                    let v = col.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 4.0;
                    assert!(m.abs() < 1e-6 && (v - 1.0).abs() < 1e-5);
                }
                values
            }
            other => panic!("{other:?}"),
        };
        enc.decode_values(&mut values);
        for (got, want) in values.iter().zip(originals) {
            let tol = 1e-6 * (1.0 + want.abs());
            assert!((*got as f64 - want).abs() <= tol, "{got} vs {want}");
        }
        // Classification decode is a no-op.
        let cls = TargetEncoder::Classes {
            name: "y".into(),
            labels: vec!["a".into(), "b".into()],
        };
        let mut v = vec![0.25f32, 0.75];
        cls.decode_values(&mut v);
        assert_eq!(v, vec![0.25, 0.75]);
        assert_eq!(cls.n_outputs(), 2);
    }

    #[test]
    fn weight_column_errors() {
        let base = |w: &str| table(&format!("x,w,y\n1,1,a\n2,{w},b\n3,0.5,a\n"));
        let cfg = FeatureConfig {
            weight_column: Some("w".into()),
            ..config(&["y"])
        };
        let (_, _, data) = load_tabular(&base("2"), &cfg, None).unwrap();
        assert_eq!(data.weights, Some(vec![1.0, 2.0, 0.5]));
        assert_eq!(data.n_features, 1);
        for bad in ["-1", "abc", "inf", ""] {
            let (line, column, _) = parse_err(load_tabular(&base(bad), &cfg, None).unwrap_err());
            assert_eq!((line, column.as_str()), (3, "w"), "{bad}");
        }
        let t = table("x,w,y\n1,0,a\n2,0,b\n");
        assert!(matches!(
            load_tabular(&t, &cfg, None),
            Err(Error::InvalidData(_))
        ));
        let cfg = FeatureConfig {
            weight_column: Some("nope".into()),
            ..config(&["y"])
        };
        assert!(matches!(
            load_tabular(&base("1"), &cfg, None),
            Err(Error::UnknownColumn { .. })
        ));
    }

    #[test]
    fn load_and_apply_from_files() {
        let train_path = temp_file(
            "train",
            b"sepal;species;color\n5.1;setosa;red\n4.9;setosa;blue\n6.3;virginica;red\n5.8;virginica;blue\n",
        );
        let eval_path = temp_file(
            "eval",
            b"color;sepal;species\nred;5.0;virginica\ngreen;6.0;setosa\n",
        );
        let train = read_csv(&train_path, None).unwrap();
        let eval = read_csv(&eval_path, None).unwrap();
        let _ = std::fs::remove_file(&train_path);
        let _ = std::fs::remove_file(&eval_path);
        let (pre, enc, data) = load_tabular(&train, &config(&["species"]), None).unwrap();
        assert_eq!(pre.feature_names, vec!["sepal", "color=blue", "color=red"]);
        assert_eq!(data.len(), 4);
        assert_eq!(data.features.len(), 12);
        assert_eq!(
            data.targets,
            Targets::Classes {
                labels: vec![0, 0, 1, 1],
                n_classes: 2
            }
        );
        let ev = apply_tabular(&pre, &enc, &eval, None).unwrap();
        assert_eq!(ev.len(), 2);
        assert_eq!(&ev.features[4..6], &[0.0, 0.0]);
        assert_eq!(
            ev.targets,
            Targets::Classes {
                labels: vec![1, 0],
                n_classes: 2
            }
        );
        // Targets missing from an evaluation file.
        let no_target = table("sepal,color\n5,red\n");
        assert!(matches!(
            apply_tabular(&pre, &enc, &no_target, None),
            Err(Error::UnknownColumn { .. })
        ));
        // No targets configured.
        assert!(matches!(
            load_tabular(&train, &config(&[]), None),
            Err(Error::InvalidConfig { .. })
        ));
    }

    #[test]
    fn header_only_table_is_invalid_data() {
        let t = table("x,y\n");
        assert!(matches!(
            load_tabular(&t, &config(&["y"]), None),
            Err(Error::InvalidData(_))
        ));
    }

    #[test]
    fn malformed_in_memory_table_is_an_error() {
        let mut t = table("a,y\n1,x\n2,z\n");
        t.columns[0].pop();
        assert!(matches!(
            Preprocessor::fit(&t, &config(&["y"])),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            fit_targets(&t, &[1], None),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn too_many_categories() {
        let mut s = String::from("id,y\n");
        for i in 0..=MAX_CATEGORIES {
            s.push_str(&format!("u{i},{}\n", i % 2));
        }
        let err = Preprocessor::fit(&table(&s), &config(&["y"])).unwrap_err();
        assert!(
            matches!(err, Error::InvalidData(ref m) if m.contains("--ignore")),
            "{err}"
        );
    }
}
