//! Automatic model selection: the default `mlp train` chooses among a few candidate networks by
//! their loss on held-out rows, then refits the winner on all rows.
//!
//! Why: on small noisy tables a linear model (an MLP without hidden layers) is often the one to
//! beat, on others a hidden layer wins; no single fixed shape is best on both, and flags alone do
//! not move the count (docs/TABULAR.md). The candidates, simplest first:
//!
//! | name | network | training |
//! |---|---|---|
//! | `linear` | no hidden layer (logistic / linear regression) | full-batch L-BFGS, L2 `1/n` (classification) or `2/n` (regression) on the standardized target: scikit-learn's `LogisticRegression(C=1)` / `Ridge(alpha=1)` |
//! | `mlp` | one hidden layer of 100 ReLU units | Adam, lr 1e-3, weight decay 1e-4, batch 200 |
//! | `wide_deep` | a linear skip path plus 100 ReLU units: `W_o (x + W_2 relu(W_1 x)) + b` | as `mlp` |
//!
//! The rule by data size ([`Plan::for_rows`]): up to [`CV_MAX_ROWS`] training rows, 5-fold
//! cross-validation (stratified by class when every class has 5 rows); above, one hold-out of 15%
//! of the rows (stratified, at least [`MIN_HOLDOUT_ROWS`]). Every candidate trains with early
//! stopping on the held-out rows (patience 20, best weights restored); its score is the mean of the
//! best validation losses over the folds. The lowest mean loss wins, except that a candidate with
//! more capacity must beat a simpler one by more than [`PREFER_SIMPLER`] (relative) to be chosen.
//! The winner is then trained on all rows, without a validation part, for the mean of its best
//! epoch counts (its [`Selection::epochs`]). Everything is seeded from the training seed: the same
//! seed and thread count give the same choice and the same weights.

use crate::data::folds::{kfold, smallest_class, stratified_kfold, training_rows};
use crate::data::preprocess::TargetEncoder;
use crate::data::split;
use crate::data::{Dataset, Targets};
use crate::estimator::MlpBuilder;
use crate::kernels::elementwise::Activation;
use crate::model::{InputSchema, Task};
use crate::optim::OptimizerConfig;
use crate::rng::Rng;
use crate::spec::LayerSpec;
use crate::train::{NoHooks, ValidationSplit, evaluate_loss};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Training sets up to this many rows are scored by k-fold cross-validation; larger ones by one
/// hold-out (a hold-out of a few hundred rows is already a steady score, and folds cost k fits).
pub const CV_MAX_ROWS: usize = 1500;
/// Folds of the cross-validation on small tables.
pub const CV_FOLDS: usize = 5;
/// Fraction of the rows held out on larger tables.
pub const HOLDOUT_FRACTION: f64 = 0.15;
/// The hold-out has at least this many rows.
pub const MIN_HOLDOUT_ROWS: usize = 30;
/// Below this many training rows there is nothing to select on: the plain network trains.
pub const MIN_ROWS: usize = 40;
/// A candidate with more capacity must lower the mean validation loss of a simpler one by more
/// than this fraction to be chosen over it (the scores are noisy; the simpler model generalizes
/// at least as well when they tie).
pub const PREFER_SIMPLER: f64 = 0.01;
/// Width of the hidden layer of the `mlp` and `wide_deep` candidates (scikit-learn's default).
pub const WIDTH: usize = 100;
/// Maximum L-BFGS iterations of the `linear` candidate (it converges in far fewer).
const LINEAR_MAX_EPOCHS: usize = 500;
/// Seed stream of the folds, apart from the other splits drawn from the training seed.
const FOLD_STREAM: u64 = 0x5E1E_C7ED_F01D_0003;

/// One candidate network of the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Candidate {
    /// No hidden layer: logistic / linear regression with L2, by L-BFGS.
    Linear,
    /// One hidden layer of [`WIDTH`] ReLU units, by Adam.
    Mlp,
    /// A linear skip path plus [`WIDTH`] ReLU units (wide and deep), by Adam.
    WideDeep,
}

impl Candidate {
    /// Every candidate, simplest first (the order ties are broken in).
    pub const ALL: [Candidate; 3] = [Candidate::Linear, Candidate::Mlp, Candidate::WideDeep];

    /// The name printed and stored.
    pub fn name(self) -> &'static str {
        match self {
            Candidate::Linear => "linear",
            Candidate::Mlp => "mlp",
            Candidate::WideDeep => "wide_deep",
        }
    }

    /// Whether the candidate trains to convergence of its training loss (a convex fit, as
    /// scikit-learn's linear models) rather than early-stopped on held-out rows: its epoch count
    /// does not carry over from a fold to all rows, its optimum does.
    pub fn converges(self) -> bool {
        self == Candidate::Linear
    }

    /// One line on the network and its training.
    pub fn describe(self) -> &'static str {
        match self {
            Candidate::Linear => "no hidden layer (logistic/linear regression, L2, L-BFGS)",
            Candidate::Mlp => "one hidden layer of 100 ReLU units (Adam)",
            Candidate::WideDeep => "linear skip path + 100 ReLU units (Adam)",
        }
    }

    /// `builder` set up to train this candidate on `n_rows` rows of `n_inputs` encoded features
    /// (validation, epochs and patience are the caller's).
    pub fn configure(
        self,
        builder: MlpBuilder,
        task: Task,
        n_inputs: usize,
        outputs: usize,
        n_rows: usize,
    ) -> MlpBuilder {
        match self {
            Candidate::Linear => {
                // scikit-learn's defaults, per mean-loss unit: C = 1 on the summed log-loss is
                // 1/n here; alpha = 1 on the summed squared error of the raw target is 2/n on the
                // mean squared error of the standardized one.
                let per_row = if task == Task::Regression { 2.0 } else { 1.0 };
                builder
                    .without_layers()
                    .hidden(&[])
                    .optimizer(OptimizerConfig::from_name("lbfgs").unwrap_or(
                        OptimizerConfig::Lbfgs {
                            history: LBFGS_HISTORY,
                        },
                    ))
                    .weight_decay((per_row / n_rows.max(1) as f64) as f32)
                    .epochs(LINEAR_MAX_EPOCHS)
            }
            Candidate::Mlp => builder.without_layers().hidden(&[WIDTH]),
            Candidate::WideDeep => builder.layers(vec![
                LayerSpec::Residual {
                    layers: vec![
                        LayerSpec::dense(WIDTH, Activation::Relu),
                        LayerSpec::dense(n_inputs, Activation::Identity),
                    ],
                },
                LayerSpec::dense(outputs, Activation::Identity),
            ]),
        }
    }
}

/// L-BFGS memory when the optimizer table has no default (it always has one).
const LBFGS_HISTORY: usize = 10;

/// How the candidates are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Plan {
    /// k-fold cross-validation (`stratified` by class where every class has `folds` rows).
    CrossValidation {
        /// Number of folds.
        folds: usize,
        /// Whether the folds keep each class's share.
        stratified: bool,
    },
    /// One held-out part of `rows` rows.
    HoldOut {
        /// Rows held out.
        rows: usize,
    },
}

impl Plan {
    /// The rule by data size: [`CV_FOLDS`]-fold cross-validation up to [`CV_MAX_ROWS`] rows,
    /// a [`HOLDOUT_FRACTION`] hold-out (at least [`MIN_HOLDOUT_ROWS`]) above.
    pub fn for_rows(targets: &Targets, n_rows: usize) -> Plan {
        if n_rows <= CV_MAX_ROWS {
            let stratified = match targets {
                Targets::Classes { labels, n_classes } => {
                    smallest_class(labels, *n_classes).is_some_and(|(_, m)| m >= CV_FOLDS)
                }
                _ => false,
            };
            Plan::CrossValidation {
                folds: CV_FOLDS,
                stratified,
            }
        } else {
            let rows = ((n_rows as f64 * HOLDOUT_FRACTION).round() as usize)
                .max(MIN_HOLDOUT_ROWS)
                .min(n_rows / 2);
            Plan::HoldOut { rows }
        }
    }

    /// In words, for the report.
    pub fn describe(&self) -> String {
        match self {
            Plan::CrossValidation { folds, stratified } => format!(
                "{folds}-fold {}cross-validation",
                if *stratified { "stratified " } else { "" }
            ),
            Plan::HoldOut { rows } => format!("a hold-out of {rows} rows"),
        }
    }

    /// The held-out rows of each fold (sorted).
    fn folds(&self, data: &Dataset, seed: u64) -> Result<Vec<Vec<usize>>> {
        let mut rng = Rng::seed_from(seed ^ FOLD_STREAM);
        let n = data.len();
        match (*self, &data.targets) {
            (
                Plan::CrossValidation {
                    folds,
                    stratified: true,
                },
                Targets::Classes { labels, n_classes },
            ) => stratified_kfold(labels, *n_classes, folds, &mut rng),
            (Plan::CrossValidation { folds, .. }, _) => kfold(n, folds, &mut rng),
            (Plan::HoldOut { rows }, targets) => {
                let f = rows as f64 / n.max(1) as f64;
                let (_, mut val) = match targets {
                    Targets::Classes { labels, n_classes } => {
                        split::stratified_split(labels, *n_classes, f, &mut rng)?
                    }
                    _ => split::random_split(n, f, &mut rng)?,
                };
                val.sort_unstable();
                Ok(vec![val])
            }
        }
    }
}

/// One candidate's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateScore {
    /// The candidate.
    pub candidate: Candidate,
    /// Trainable parameters of its network.
    pub params: usize,
    /// Mean over the folds of the best validation loss.
    pub val_loss: f64,
    /// Standard deviation of those losses over the folds (0 for a hold-out).
    pub val_loss_std: f64,
    /// Mean validation metric at the best epochs (accuracy or R²), when the task has one.
    pub val_metric: Option<f64>,
    /// Mean best epoch over the folds (rounded up, at least 1); for a candidate that
    /// [converges](Candidate::converges), the mean epochs to convergence.
    pub epochs: usize,
}

/// What the selection measured and chose; kept in the model's training summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// How the candidates were scored.
    pub plan: Plan,
    /// Rows the selection saw (the final model trains on all of them).
    pub rows: usize,
    /// Every candidate's scores, simplest first.
    pub candidates: Vec<CandidateScore>,
    /// The chosen candidate.
    pub chosen: Candidate,
    /// Epochs the chosen candidate trains for on all rows (for a candidate that
    /// [converges](Candidate::converges): the mean epochs it took in the folds; on all rows it
    /// again trains until its training loss stops improving).
    pub epochs: usize,
    /// Why it was chosen, in words.
    pub reason: String,
}

impl Selection {
    /// `builder` set up for the final fit: the chosen candidate on all rows, no validation part,
    /// [`Selection::epochs`] epochs.
    pub fn apply(
        &self,
        builder: MlpBuilder,
        task: Task,
        n_inputs: usize,
        outputs: usize,
    ) -> MlpBuilder {
        let b = self
            .chosen
            .configure(builder, task, n_inputs, outputs, self.rows)
            .validation(ValidationSplit::None);
        if self.chosen.converges() {
            // Until the training loss stops improving, as in the folds.
            b
        } else {
            b.epochs(self.epochs).patience(None)
        }
    }

    /// The score of the chosen candidate.
    pub fn chosen_score(&self) -> Option<&CandidateScore> {
        self.candidates.iter().find(|c| c.candidate == self.chosen)
    }
}

/// The data and encodings a selection trains on: as for [`MlpBuilder::session`].
#[derive(Debug, Clone, Copy)]
pub struct SelectionData<'a> {
    /// Encoded training rows (all of them; the folds are drawn here).
    pub data: &'a Dataset,
    /// The input encoding.
    pub input: &'a InputSchema,
    /// The target encoding.
    pub target: &'a TargetEncoder,
    /// Encoded columns that are not scaled (one-hot).
    pub passthrough: &'a [bool],
}

/// Scores every candidate on `data` under the plan [`Plan::for_rows`] gives and chooses one.
/// `builder` carries the settings the candidates share (seed, threads, loss, class weights).
///
/// Errors: data the plan cannot split (fewer than [`MIN_ROWS`] rows), multi-label targets, or a
/// training error of a candidate.
pub fn select(builder: &MlpBuilder, d: SelectionData<'_>) -> Result<Selection> {
    let data = d.data;
    let n = data.len();
    if n < MIN_ROWS {
        return Err(Error::InvalidData(format!(
            "model selection needs at least {MIN_ROWS} training rows; the data has {n}"
        )));
    }
    let task = match &data.targets {
        Targets::Classes { .. } => Task::Classification,
        Targets::Values { .. } => Task::Regression,
        Targets::MultiLabel { .. } => {
            return Err(Error::config(
                "select",
                "model selection covers classification and regression, not multi-label",
            ));
        }
    };
    let outputs = builder.outputs_for(&data.targets);
    let plan = Plan::for_rows(&data.targets, n);
    let folds = plan.folds(data, builder.config().seed())?;
    let mut scores = Vec::with_capacity(Candidate::ALL.len());
    for candidate in Candidate::ALL {
        let mut losses = Vec::with_capacity(folds.len());
        let mut metrics = Vec::with_capacity(folds.len());
        let mut epochs = Vec::with_capacity(folds.len());
        let mut params = 0;
        for held in &folds {
            let fit = data.select(&training_rows(n, held));
            let val = data.select(held);
            let b = candidate
                .configure(builder.clone(), task, data.n_features, outputs, fit.len())
                .validation(ValidationSplit::None);
            let mut session = b.session(
                &fit,
                Some(&val),
                d.input.clone(),
                d.target.clone(),
                d.passthrough,
                String::new(),
            )?;
            params = session.model().network().n_params();
            let (loss, metric, epoch) = if candidate.converges() {
                // Trained to convergence on the fit rows alone (as it will be on all rows), then
                // scored once on the held-out rows, which the session has scaled.
                let scaled_val = session.val.take();
                let outcome = session.run(&mut NoHooks)?;
                let epoch = session.state().history.len().max(1);
                match scaled_val {
                    Some(v) if !outcome.diverged() => {
                        let (l, m) = evaluate_loss(
                            session.model().network(),
                            &v,
                            &session.model().loss(),
                            session.config().class_weights(),
                        );
                        (if l.is_finite() { l } else { f64::INFINITY }, m, epoch)
                    }
                    _ => (f64::INFINITY, None, epoch),
                }
            } else {
                let outcome = session.run(&mut NoHooks)?;
                let best = session.state().best.as_ref().map(|(l, e, _)| (*l, *e));
                match best {
                    Some((l, e)) if !outcome.diverged() => {
                        let e = e.max(1);
                        let m = session
                            .state()
                            .history
                            .get(e - 1)
                            .and_then(|r| r.val_metric);
                        (l, m, e)
                    }
                    // A diverged candidate (or one without a validation record) cannot win.
                    _ => (f64::INFINITY, None, 1),
                }
            };
            losses.push(loss);
            metrics.extend(metric);
            epochs.push(epoch);
        }
        let k = losses.len().max(1) as f64;
        let mean = losses.iter().sum::<f64>() / k;
        let std = (losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / k).sqrt();
        let metric =
            (!metrics.is_empty()).then(|| metrics.iter().sum::<f64>() / metrics.len() as f64);
        let mean_epochs = epochs.iter().sum::<usize>().div_ceil(epochs.len().max(1));
        scores.push(CandidateScore {
            candidate,
            params,
            val_loss: mean,
            val_loss_std: if mean.is_finite() { std } else { 0.0 },
            val_metric: metric,
            epochs: mean_epochs.max(1),
        });
    }
    let (chosen, reason) = choose(&scores)?;
    let epochs = scores
        .iter()
        .find(|s| s.candidate == chosen)
        .map_or(1, |s| s.epochs);
    Ok(Selection {
        plan,
        rows: n,
        candidates: scores,
        chosen,
        epochs,
        reason,
    })
}

/// The lowest mean validation loss, preferring the simpler candidate unless a more complex one
/// beats it by more than [`PREFER_SIMPLER`].
fn choose(scores: &[CandidateScore]) -> Result<(Candidate, String)> {
    let mut chosen: Option<&CandidateScore> = None;
    for s in scores.iter().filter(|s| s.val_loss.is_finite()) {
        chosen = match chosen {
            None => Some(s),
            Some(c) if s.val_loss < c.val_loss - PREFER_SIMPLER * c.val_loss.abs() => Some(s),
            keep => keep,
        };
    }
    let Some(c) = chosen else {
        return Err(Error::InvalidData(
            "model selection: every candidate diverged; set the network and the learning rate by hand"
                .into(),
        ));
    };
    let lowest = scores
        .iter()
        .filter(|s| s.val_loss.is_finite())
        .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss));
    let reason = match lowest {
        Some(l) if l.candidate != c.candidate => format!(
            "within {:.0}% of the lowest mean validation loss ({} {:.4}) and simpler",
            PREFER_SIMPLER * 100.0,
            l.candidate.name(),
            l.val_loss
        ),
        _ => "lowest mean validation loss".to_string(),
    };
    Ok((c.candidate, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(candidate: Candidate, val_loss: f64) -> CandidateScore {
        CandidateScore {
            candidate,
            params: 1,
            val_loss,
            val_loss_std: 0.0,
            val_metric: None,
            epochs: 3,
        }
    }

    #[test]
    fn the_simpler_candidate_wins_a_near_tie() {
        let s = [
            score(Candidate::Linear, 0.500),
            score(Candidate::Mlp, 0.498),
            score(Candidate::WideDeep, 0.499),
        ];
        let (c, why) = choose(&s).expect("choose");
        assert_eq!(c, Candidate::Linear);
        assert!(why.contains("within"), "{why}");
        let s = [
            score(Candidate::Linear, 0.500),
            score(Candidate::Mlp, 0.300),
            score(Candidate::WideDeep, f64::INFINITY),
        ];
        assert_eq!(choose(&s).expect("choose").0, Candidate::Mlp);
        let all_bad = [score(Candidate::Linear, f64::INFINITY)];
        assert!(choose(&all_bad).is_err());
    }

    #[test]
    fn the_plan_follows_the_data_size() {
        let classes = |n: usize| Targets::Classes {
            labels: (0..n).map(|i| i % 2).collect(),
            n_classes: 2,
        };
        assert_eq!(
            Plan::for_rows(&classes(200), 200),
            Plan::CrossValidation {
                folds: 5,
                stratified: true
            }
        );
        assert_eq!(
            Plan::for_rows(&classes(4000), 4000),
            Plan::HoldOut { rows: 600 }
        );
        let values = Targets::Values {
            values: vec![0.0; 2000],
            n_outputs: 1,
        };
        assert_eq!(Plan::for_rows(&values, 2000), Plan::HoldOut { rows: 300 });
    }
}
