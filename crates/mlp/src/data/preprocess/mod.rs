//! Turning a [`RawTable`] into numbers: feature encoding, imputation, standardization, targets.
//!
//! Everything fitted here ([`Preprocessor`], [`TargetEncoder`]) is serializable and travels inside
//! the model file, so a model applies exactly the training-time encoding to new data. All
//! statistics (means, scales, fill values, vocabularies, class labels) come from the training
//! table only.
//!
//! # Missing cells
//!
//! One definition for `train`, `predict`, `eval` and `forecast`: a cell is missing when, after
//! trimming, it equals one of [`MISSING_TOKENS`] ignoring ASCII case: the empty string, `NA`,
//! `N/A`, `NaN`, `null` or `?` (so `na`, `Null`, `NAN` are missing too). Missing feature cells are filled
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
//!   parses to a non-finite value (`inf`, `-infinity`) is an error, not a category.
//!   Numeric features are standardized with the training mean and population standard deviation
//!   (as scikit-learn's `StandardScaler`; a scale of 1.0 when the column is constant), computed
//!   after imputation (as an imputer-then-scaler pipeline). With `standardize: false` the mean
//!   is 0 and the scale 1.
//! - Any other column is **categorical** and one-hot encoded against its training vocabulary,
//!   sorted by byte order. A category not seen in training encodes as all zeros (like
//!   scikit-learn's `handle_unknown='ignore'`); [`UnknownCategory`] says whether that is
//!   reported (the default; `mlp predict` warns once per column and value), silent, or an error. [`Impute::Mean`] and [`Impute::Median`] are
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

mod features;
mod loading;
mod targets;

pub use features::{
    FeatureColumn, FeatureConfig, Impute, Preprocessor, UnknownCategory, UnseenCategory,
};
pub use loading::{apply_tabular, apply_tabular_with, load_tabular};
pub use targets::{TargetEncoder, TargetKind, fit_targets};

use super::csv::RawTable;
use crate::error::{Error, Result};

/// The spellings of a missing cell, compared after trimming and ignoring ASCII case (see
/// [`is_missing`]). The forecaster's series reader uses the same rule.
pub const MISSING_TOKENS: [&str; 6] = ["", "NA", "N/A", "NaN", "null", "?"];

/// The most distinct values a categorical feature column may have.
pub const MAX_CATEGORIES: usize = 1000;

/// Hint appended to missing-value errors for features.
const IMPUTE_HINT: &str = "set `impute` to mean|median|most-frequent, or remove the row";

/// How many labels an unknown-label error lists.
const LABELS_SHOWN: usize = 20;

/// True when a cell counts as missing: after trimming, one of [`MISSING_TOKENS`] in any ASCII
/// case. This is the one definition every reader of tables uses (training, prediction,
/// evaluation, forecasting), so a file means the same thing to every command.
pub fn is_missing(cell: &str) -> bool {
    let cell = cell.trim();
    MISSING_TOKENS.iter().any(|t| t.eq_ignore_ascii_case(cell))
}

/// Parses a non-missing numeric cell: `Ok(None)` when it is not a number at all.
fn parse_number(cell: &str) -> Option<f64> {
    cell.trim().parse::<f64>().ok()
}

fn not_finite_msg(cell: &str) -> String {
    format!(
        "value '{}' is not a finite number",
        crate::data::csv::shown(cell)
    )
}

/// Resolves a list of column specs.
fn resolve_all(table: &RawTable, specs: &[String]) -> Result<Vec<usize>> {
    specs.iter().map(|s| table.column_index(s)).collect()
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

#[cfg(test)]
mod tests;
