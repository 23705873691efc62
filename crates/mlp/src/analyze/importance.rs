//! Which inputs a trained model relies on: permutation importance (the loss increase when one
//! source column's values are shuffled across rows) and gradient saliency (the mean absolute
//! gradient of the model's output with respect to the scaled input), per source column: the
//! one-hot features of a text column are shuffled together and their saliencies summed.

use crate::data::{Dataset, Targets};
use crate::layers::GradMode;
use crate::loss::{BatchTargets, LossWeights};
use crate::model::{InputSchema, Model};
use crate::network::Workspace;
use crate::rng::Rng;
use crate::{Error, Result};

/// How importance is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportanceMethod {
    /// Loss increase when the column is shuffled (mean and std over repeats).
    Permutation,
    /// Mean absolute input gradient of the predicted class's output (classification) or of
    /// the outputs' sum (regression), on scaled inputs (mean and std over rows).
    Gradient,
}

/// The importance of one source column.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColumnImportance {
    /// Source column name.
    pub column: String,
    /// Encoded features of the column (1 for a numeric column, one per category for text).
    pub features: usize,
    /// Mean importance.
    pub mean: f64,
    /// Standard deviation (over repeats for permutation, over rows for gradient).
    pub std: f64,
}

/// Encoded feature indices of each source column: `(name, indices)`, in input order. Text
/// columns' one-hot features form one group; a matrix input has one group per feature.
pub fn column_groups(model: &Model) -> Vec<(String, Vec<usize>)> {
    let n = model.n_features();
    if let InputSchema::Tabular { preprocessor } = model.input() {
        let mut groups = Vec::new();
        let mut at = 0;
        for col in &preprocessor.columns {
            let width = match col {
                crate::data::preprocess::FeatureColumn::Numeric { .. } => 1,
                crate::data::preprocess::FeatureColumn::Categorical { categories, .. } => {
                    categories.len()
                }
            };
            groups.push((col.name().to_string(), (at..at + width).collect()));
            at += width;
        }
        if at == n {
            return groups;
        }
    }
    model
        .input()
        .feature_names()
        .into_iter()
        .enumerate()
        .map(|(i, name)| (name, vec![i]))
        .collect()
}

fn batch_targets<'a>(targets: &'a Targets) -> BatchTargets<'a> {
    match targets {
        Targets::Classes { labels, .. } => BatchTargets::Classes(labels),
        Targets::Values { values, .. } | Targets::MultiLabel { values, .. } => {
            BatchTargets::Values(values)
        }
    }
}

/// Mean loss of the model on encoded, unscaled features and `targets`.
fn mean_loss(model: &Model, features: &[f32], rows: usize, targets: &Targets) -> Result<f64> {
    let out = model.forward(features, rows)?;
    let (sum, weight) = model.loss().evaluate(
        &out,
        rows,
        model.output_width(),
        batch_targets(targets),
        LossWeights::default(),
        None,
    );
    Ok(if weight > 0.0 { sum / weight } else { 0.0 })
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Importance of every source column of `model` on the labelled `data` (encoded, unscaled, as
/// [`Model::evaluate`] takes it). `repeats` shuffles per column (permutation only), drawn
/// from `seed`.
///
/// # Errors
/// Data that does not fit the model, fewer than 2 rows, or 0 repeats.
pub fn importance(
    model: &Model,
    data: &Dataset,
    method: ImportanceMethod,
    repeats: usize,
    seed: u64,
) -> Result<Vec<ColumnImportance>> {
    data.validate()?;
    let rows = data.len();
    if rows < 2 {
        return Err(Error::InvalidData(
            "importance needs at least 2 labelled rows".into(),
        ));
    }
    if data.n_features() != model.n_features() {
        return Err(Error::shape(
            "importance",
            format!("{} features (as the model)", model.n_features()),
            format!("{} features", data.n_features()),
        ));
    }
    let groups = column_groups(model);
    let n = model.n_features();
    match method {
        ImportanceMethod::Permutation => {
            if repeats == 0 {
                return Err(Error::config("repeats", "must be at least 1"));
            }
            let base = mean_loss(model, data.features(), rows, data.targets())?;
            let mut rng = Rng::seed_from(seed);
            let mut x = data.features().to_vec();
            let mut out = Vec::with_capacity(groups.len());
            for (name, cols) in &groups {
                let mut deltas = Vec::with_capacity(repeats);
                for _ in 0..repeats {
                    let perm = rng.permutation(rows);
                    for (r, &src) in perm.iter().enumerate() {
                        for &c in cols {
                            x[r * n + c] = data.features()[src * n + c];
                        }
                    }
                    deltas.push(mean_loss(model, &x, rows, data.targets())? - base);
                }
                // Restore the column for the next one.
                for r in 0..rows {
                    for &c in cols {
                        x[r * n + c] = data.features()[r * n + c];
                    }
                }
                let (mean, std) = mean_std(&deltas);
                out.push(ColumnImportance {
                    column: name.clone(),
                    features: cols.len(),
                    mean,
                    std,
                });
            }
            Ok(out)
        }
        ImportanceMethod::Gradient => {
            // Checks the features the way predictions do.
            let outputs = model.forward(data.features(), rows)?;
            let width = model.output_width();
            let mut x = data.features().to_vec();
            model.scaler().apply(&mut x);
            let net = model.network().with_grad_mode(GradMode::Eval);
            let mut ws = Workspace::new();
            let mut rng = Rng::seed_from(seed);
            let mut per_row = vec![vec![0.0f64; rows]; groups.len()];
            let classify = matches!(data.targets(), Targets::Classes { .. });
            let mut dx = vec![0.0f32; n];
            for r in 0..rows {
                let o = &outputs[r * width..(r + 1) * width];
                let top = o
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                net.input_gradient(
                    &x[r * n..(r + 1) * n],
                    1,
                    &mut ws,
                    &mut rng,
                    &mut dx,
                    |_, d_out| {
                        for (k, d) in d_out.iter_mut().enumerate() {
                            *d = if !classify || k == top { 1.0 } else { 0.0 };
                        }
                        0.0
                    },
                );
                for (g, (_, cols)) in groups.iter().enumerate() {
                    per_row[g][r] = cols.iter().map(|&c| f64::from(dx[c].abs())).sum();
                }
            }
            Ok(groups
                .iter()
                .zip(&per_row)
                .map(|((name, cols), v)| {
                    let (mean, std) = mean_std(v);
                    ColumnImportance {
                        column: name.clone(),
                        features: cols.len(),
                        mean,
                        std,
                    }
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimator::MlpBuilder;

    /// y = 3 x0 - x1 (+ nothing from x2): x0 matters most, x2 not at all.
    fn fitted() -> (Model, Dataset) {
        let mut rng = Rng::seed_from(1);
        let rows = 300;
        let mut x = Vec::with_capacity(rows * 3);
        let mut y = Vec::with_capacity(rows);
        for _ in 0..rows {
            let v: Vec<f32> = (0..3).map(|_| rng.normal()).collect();
            y.push(3.0 * v[0] - v[1]);
            x.extend(v);
        }
        let data = Dataset::new(
            x,
            3,
            Targets::Values {
                values: y,
                n_outputs: 1,
            },
        )
        .expect("data");
        let model = MlpBuilder::regressor()
            .hidden(&[16])
            .epochs(60)
            .lr(0.01)
            .seed(2)
            .fit(&data)
            .expect("fit");
        (model, data)
    }

    #[test]
    fn both_methods_rank_the_informative_inputs_first() {
        let (model, data) = fitted();
        for method in [ImportanceMethod::Permutation, ImportanceMethod::Gradient] {
            let imp = importance(&model, &data, method, 3, 0).expect("importance");
            assert_eq!(imp.len(), 3);
            assert!(
                imp[0].mean > imp[1].mean && imp[1].mean > imp[2].mean,
                "{method:?}: {imp:?}"
            );
            assert!(imp[2].mean < 0.2 * imp[0].mean, "{method:?}: {imp:?}");
        }
        assert!(importance(&model, &data, ImportanceMethod::Permutation, 0, 0).is_err());
    }
}
