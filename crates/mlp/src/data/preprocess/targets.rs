//! Target columns: task inference, class labels and regression standardization.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{LABELS_SHOWN, is_missing, mean_scale, no_rows_error, not_finite_msg, parse_number};
use crate::data::Targets;
use crate::data::csv::RawTable;
use crate::error::{Error, Result};

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
                        "cannot parse '{}' as a number (regression targets must be numbers)",
                        crate::data::csv::shown(cell)
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
                                    "unknown class label '{}'; the model knows: {}",
                                    crate::data::csv::shown(cell),
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
