//! Feature columns: which columns are inputs, and their fitted encoding (standardization,
//! one-hot vocabularies, imputation).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{
    IMPUTE_HINT, MAX_CATEGORIES, is_missing, mean_scale, no_rows_error, not_finite_msg,
    parse_number, resolve_all,
};
use crate::data::csv::RawTable;
use crate::error::{Error, Result};

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

/// What encoding does with a category the training data never had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownCategory {
    /// Encode it as all zeros (as scikit-learn's `handle_unknown='ignore'`) and report each
    /// unseen (column, value) pair once, so the caller can warn.
    #[default]
    Warn,
    /// Encode it as all zeros and say nothing.
    Ignore,
    /// Refuse it: an error naming the line, column and value.
    Error,
}

impl FromStr for UnknownCategory {
    type Err = Error;

    /// Parses `warn`, `ignore` or `error`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "warn" => Ok(UnknownCategory::Warn),
            "ignore" => Ok(UnknownCategory::Ignore),
            "error" => Ok(UnknownCategory::Error),
            other => Err(Error::config(
                "unknown-category",
                format!("unknown policy '{other}'; expected warn, ignore or error"),
            )),
        }
    }
}

/// A category met at encoding time that the training data did not have (it was encoded as all
/// zeros).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnseenCategory {
    /// The column it is in.
    pub column: String,
    /// The cell's value.
    pub value: String,
    /// The 1-based file line where it first appears.
    pub first_line: u64,
    /// How many rows hold it.
    pub rows: usize,
}

impl fmt::Display for UnseenCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "column '{}': category '{}' was not seen in training; encoded as all zeros ({} row{}, first on line {})",
            self.column,
            self.value,
            self.rows,
            if self.rows == 1 { "" } else { "s" },
            self.first_line
        )
    }
}

/// The first few categories of a vocabulary, for error messages.
fn shown_categories(categories: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut s = categories
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if categories.len() > SHOWN {
        s.push_str(&format!(", ... ({} in all)", categories.len()));
    }
    s
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
    ///
    /// A category not seen in training encodes as all zeros, silently; see
    /// [`Preprocessor::transform_with`] to be told about them or to refuse them.
    pub fn transform(&self, table: &RawTable) -> Result<Vec<f32>> {
        self.transform_with(table, UnknownCategory::Ignore)
            .map(|(x, _)| x)
    }

    /// [`Preprocessor::transform`] with a policy for categories the training data did not have.
    /// Returns the encoded matrix and, under [`UnknownCategory::Warn`], each unseen
    /// (column, value) pair once, in order of first appearance.
    pub fn transform_with(
        &self,
        table: &RawTable,
        policy: UnknownCategory,
    ) -> Result<(Vec<f32>, Vec<UnseenCategory>)> {
        table.check_shape()?;
        let mut unseen: Vec<UnseenCategory> = Vec::new();
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
                                            "cannot parse '{}' as a number (the column was numeric in the training data)", crate::data::csv::shown(cell)
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
                                format!(
                                    "value '{}' is out of range after standardization",
                                    crate::data::csv::shown(cell)
                                ),
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
                        match categories.binary_search_by(|cat| cat.as_str().cmp(value)) {
                            Ok(k) => out[row * width + offset + k] = 1.0,
                            Err(_) => match policy {
                                UnknownCategory::Ignore => {}
                                UnknownCategory::Error => {
                                    return Err(table.cell_error(
                                        row,
                                        c,
                                        format!(
                                            "category '{}' was not seen in training (known: {})",
                                            crate::data::csv::shown(value),
                                            shown_categories(categories)
                                        ),
                                    ));
                                }
                                UnknownCategory::Warn => {
                                    let name = col.name();
                                    match unseen
                                        .iter_mut()
                                        .find(|u| u.column == name && u.value == value)
                                    {
                                        Some(u) => u.rows += 1,
                                        None => unseen.push(UnseenCategory {
                                            column: name.to_string(),
                                            value: value.to_string(),
                                            first_line: table.line(row),
                                            rows: 1,
                                        }),
                                    }
                                }
                            },
                        }
                    }
                }
            }
            offset += col.width();
        }
        Ok((out, unseen))
    }

    /// Which encoded features are one-hot indicators (`true`) rather than numeric columns, in
    /// network-input order. Indicators are left unscaled by the model's feature scaler.
    pub fn one_hot_mask(&self) -> Vec<bool> {
        self.columns
            .iter()
            .flat_map(|c| {
                std::iter::repeat_n(matches!(c, FeatureColumn::Categorical { .. }), c.width())
            })
            .collect()
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
            "{}: column '{name}' has no values (every cell is missing); drop it with `ignore`",
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
                        "cannot parse '{}' as a number ({numeric} of {} values in this column are numbers); fix the cell, mark it missing and use `impute`, or leave the column out with `ignore` '{name}'",
                        crate::data::csv::shown(text_cell),
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
                     it looks like an identifier or free text: leave it out with `ignore` '{name}'; \
                     if it should be numeric, fix line {} ('{}')",
                    table.path.display(),
                    counts.len(),
                    table.line(text_row),
                    crate::data::csv::shown(text_cell),
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
