//! Loading: fitting both encodings on a training table and applying them, with sample weights.

use super::features::{FeatureConfig, Preprocessor, UnknownCategory, UnseenCategory};
use super::targets::{TargetEncoder, TargetKind, fit_targets};
use super::{is_missing, no_rows_error, parse_number, resolve_all};
use crate::data::Dataset;
use crate::data::csv::RawTable;
use crate::error::{Error, Result};

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
    apply_tabular_with(pre, enc, table, weight_column, UnknownCategory::Ignore).map(|(d, _)| d)
}

/// [`apply_tabular`] with a policy for categories the training data did not have; also returns
/// the unseen (column, value) pairs, as [`Preprocessor::transform_with`] does.
pub fn apply_tabular_with(
    pre: &Preprocessor,
    enc: &TargetEncoder,
    table: &RawTable,
    weight_column: Option<&str>,
    policy: UnknownCategory,
) -> Result<(Dataset, Vec<UnseenCategory>)> {
    if table.n_rows == 0 {
        return Err(no_rows_error(table));
    }
    let (features, unseen) = pre.transform_with(table, policy)?;
    let targets = enc.encode(table)?;
    let weights = weight_column
        .map(|w| table.column_index(w).and_then(|c| parse_weights(table, c)))
        .transpose()?;
    let data = Dataset {
        features,
        n_features: pre.n_features,
        targets,
        weights,
    };
    Ok((data, unseen))
}
