//! Data: loading (CSV, IDX, NPY, named data sets, generators), preprocessing and splits.
//!
//! Every loader ends in a [`Dataset`]: a row-major `f32` feature matrix plus targets.

pub mod can;
pub mod csv;
pub mod datasets;
pub mod folds;
pub mod generate;
pub mod graph;
pub mod idx;
pub mod npy;
pub mod preprocess;
pub mod split;

use crate::{Error, Result};

/// The targets of a data set.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// One class index per sample, in `0..n_classes`.
    Classes {
        /// Class index per sample.
        labels: Vec<usize>,
        /// Number of classes.
        n_classes: usize,
    },
    /// Real-valued targets, row-major `n_samples x n_outputs`.
    Values {
        /// Target values.
        values: Vec<f32>,
        /// Number of outputs per sample.
        n_outputs: usize,
    },
    /// Independent 0/1 labels, row-major `n_samples x n_labels`.
    MultiLabel {
        /// 0.0 or 1.0 per sample and label.
        values: Vec<f32>,
        /// Number of labels per sample.
        n_labels: usize,
    },
}

impl Targets {
    /// Number of samples these targets describe.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values { values, n_outputs } => values.len() / (*n_outputs).max(1),
            Targets::MultiLabel { values, n_labels } => values.len() / (*n_labels).max(1),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets of the given rows, in the given order.
    pub fn select(&self, rows: &[usize]) -> Targets {
        match self {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: rows.iter().map(|&r| labels[r]).collect(),
                n_classes: *n_classes,
            },
            Targets::Values { values, n_outputs } => Targets::Values {
                values: select_rows(values, *n_outputs, rows),
                n_outputs: *n_outputs,
            },
            Targets::MultiLabel { values, n_labels } => Targets::MultiLabel {
                values: select_rows(values, *n_labels, rows),
                n_labels: *n_labels,
            },
        }
    }
}

/// A data set in memory: row-major `f32` features plus targets and optional sample weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Features, row-major `n_samples x n_features`.
    pub(crate) features: Vec<f32>,
    /// Number of feature columns.
    pub(crate) n_features: usize,
    /// Targets, one entry (or row) per sample.
    pub(crate) targets: Targets,
    /// Optional per-sample weights (1.0 when absent).
    pub(crate) weights: Option<Vec<f32>>,
}

impl Dataset {
    /// A data set from row-major features (`targets.len() x n_features` values) and targets,
    /// checked as [`Dataset::validate`] does.
    pub fn new(features: Vec<f32>, n_features: usize, targets: Targets) -> Result<Dataset> {
        let data = Dataset {
            features,
            n_features,
            targets,
            weights: None,
        };
        data.validate()?;
        Ok(data)
    }

    /// The same data with per-sample weights (one finite, non-negative weight per sample), or
    /// without (`None`).
    pub fn with_weights(mut self, weights: impl Into<Option<Vec<f32>>>) -> Result<Dataset> {
        self.weights = weights.into();
        self.validate()?;
        Ok(self)
    }

    /// Replaces the targets (same number of samples), checked as [`Dataset::validate`] does; on
    /// an error the data set is unchanged.
    pub fn set_targets(&mut self, targets: Targets) -> Result<()> {
        let old = std::mem::replace(&mut self.targets, targets);
        if let Err(e) = self.validate() {
            self.targets = old;
            return Err(e);
        }
        Ok(())
    }

    /// Features, row-major `len() x n_features()`.
    pub fn features(&self) -> &[f32] {
        &self.features
    }

    /// The features of sample `i` (`None` past the end).
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        let n = self.n_features;
        self.features
            .get(i.checked_mul(n)?..i.checked_add(1)?.checked_mul(n)?)
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Targets, one entry (or row) per sample.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Per-sample weights, if any (1.0 each when absent).
    pub fn weights(&self) -> Option<&[f32]> {
        self.weights.as_deref()
    }

    /// The parts: features, number of features, targets, weights.
    pub fn into_parts(self) -> (Vec<f32>, usize, Targets, Option<Vec<f32>>) {
        (self.features, self.n_features, self.targets, self.weights)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that the parts fit together, so nothing downstream can index out of bounds:
    /// at least one feature per sample, exactly `len() * n_features` feature values, whole target
    /// rows (at least one output), class indices below `n_classes`, finite target values, and
    /// one finite non-negative weight per sample.
    pub fn validate(&self) -> Result<()> {
        if self.n_features == 0 {
            return Err(Error::shape("data set", "at least 1 feature", "0 features"));
        }
        match &self.targets {
            Targets::Classes { labels, n_classes } => {
                if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| **l >= *n_classes) {
                    return Err(Error::InvalidData(format!(
                        "sample {i} has class index {l}, outside 0..{n_classes}"
                    )));
                }
            }
            Targets::Values {
                values,
                n_outputs: k,
            }
            | Targets::MultiLabel {
                values,
                n_labels: k,
            } => {
                if *k == 0 || values.len() % k != 0 {
                    return Err(Error::shape(
                        "targets",
                        format!("whole rows of {k} values (at least 1)"),
                        format!("{} values", values.len()),
                    ));
                }
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    return Err(Error::InvalidData(format!(
                        "target {} of sample {} is {}",
                        i % k,
                        i / k,
                        values[i]
                    )));
                }
            }
        }
        let n = self.len();
        let expected = n.checked_mul(self.n_features);
        if expected != Some(self.features.len()) {
            return Err(Error::shape(
                "data set features",
                format!("{n} samples x {} features", self.n_features),
                format!("{} values", self.features.len()),
            ));
        }
        if let Some(w) = &self.weights {
            if w.len() != n {
                return Err(Error::shape("sample weights", n, w.len()));
            }
            if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(Error::InvalidData(format!(
                    "sample weight {i} is {}; weights must be finite and >= 0",
                    w[i]
                )));
            }
        }
        Ok(())
    }

    /// The given rows, in the given order, as a new data set.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        Dataset {
            features: select_rows(&self.features, self.n_features, rows),
            n_features: self.n_features,
            targets: self.targets.select(rows),
            weights: self
                .weights
                .as_ref()
                .map(|w| rows.iter().map(|&r| w[r]).collect()),
        }
    }
}

/// Gathers rows of a row-major matrix with `width` columns.
pub fn select_rows(matrix: &[f32], width: usize, rows: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() * width);
    for &r in rows {
        out.extend_from_slice(&matrix[r * width..(r + 1) * width]);
    }
    out
}
