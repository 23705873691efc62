//! Classification metrics: accuracy, balanced accuracy, confusion matrix, precision / recall /
//! F1, log loss and ROC AUC.
//!
//! Notation: `n` samples with true labels `y_i` and predicted labels `ŷ_i` in `0..K`. For a class
//! `k`, `tp_k = #{i : y_i = k, ŷ_i = k}`, `fp_k = #{i : y_i ≠ k, ŷ_i = k}`,
//! `fn_k = #{i : y_i = k, ŷ_i ≠ k}` and the support is `s_k = tp_k + fn_k`.
//!
//! * accuracy `= #{i : y_i = ŷ_i} / n`
//! * precision `P_k = tp_k / (tp_k + fp_k)`, recall `R_k = tp_k / s_k`,
//!   `F1_k = 2 tp_k / (2 tp_k + fp_k + fn_k)`, each 0 when its denominator is 0
//! * balanced accuracy `= mean of R_k over the classes with s_k > 0`
//! * log loss `= -(1/n) Σ_i ln(clip(p_{i, y_i}, 1e-15, 1 - 1e-15))`
//! * ROC AUC `= P(score of a random positive > score of a random negative)
//!   + ½ P(the two scores are equal)`, the area under the trapezoidal ROC curve

use serde::{Deserialize, Serialize};

use super::assert_same_len;

/// Smallest and (via `1 - CLIP`) largest probability [`log_loss`] uses.
const CLIP: f64 = 1e-15;

/// Fraction of samples whose predicted label equals the true label.
///
/// `accuracy = #{i : y_true[i] == y_pred[i]} / n`. Returns `NaN` for empty inputs.
///
/// # Panics
///
/// If `y_true` and `y_pred` have different lengths.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    assert_same_len("accuracy", "y_true", y_true.len(), "y_pred", y_pred.len());
    let correct = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    correct as f64 / y_true.len() as f64
}

/// Mean per-class recall over the classes present in `y_true` (scikit-learn's
/// `balanced_accuracy_score`, not adjusted for chance).
///
/// `balanced_accuracy = (1/|C|) Σ_{k ∈ C} tp_k / s_k` where `C` is the set of classes with
/// support `s_k > 0`. A class that is only predicted, never true, does not count. Returns `NaN`
/// for empty inputs.
///
/// # Panics
///
/// If the lengths differ or a label is `>= n_classes`.
pub fn balanced_accuracy(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let cm = counts("balanced_accuracy", y_true, y_pred, n_classes);
    let (sum, present) = cm
        .support
        .iter()
        .zip(&cm.tp)
        .filter(|&(&s, _)| s > 0)
        .fold((0.0, 0usize), |(sum, k), (&s, &tp)| {
            (sum + tp as f64 / s as f64, k + 1)
        });
    sum / present as f64
}

/// The `n_classes x n_classes` confusion matrix: entry `[t][p]` counts the samples of true class
/// `t` predicted as class `p` (rows are true classes, columns predicted classes, as in
/// scikit-learn). All zeros for empty inputs.
///
/// # Panics
///
/// If the lengths differ or a label is `>= n_classes`.
pub fn confusion_matrix(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Vec<Vec<u64>> {
    check_labels("confusion_matrix", y_true, y_pred, n_classes);
    let mut cm = vec![vec![0u64; n_classes]; n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        cm[t][p] += 1;
    }
    cm
}

/// How [`precision_recall_f1`] combines the per-class scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Average {
    /// Unweighted mean over the labels present in `y_true` or `y_pred` (scikit-learn's
    /// `average="macro"` with `labels=None`).
    Macro,
    /// Mean weighted by each class's support, the number of true samples of that class
    /// (scikit-learn's `average="weighted"`).
    Weighted,
}

/// Averaged precision, recall and F1 score, as returned by [`precision_recall_f1`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecallF1 {
    /// Averaged precision `tp / (tp + fp)`.
    pub precision: f64,
    /// Averaged recall `tp / (tp + fn)`.
    pub recall: f64,
    /// Averaged F1 score `2 tp / (2 tp + fp + fn)` (per class, then averaged; not the harmonic
    /// mean of the averaged precision and recall).
    pub f1: f64,
}

/// Precision, recall and F1, computed per class and then averaged (scikit-learn's
/// `precision_recall_fscore_support` with `zero_division=0`).
///
/// Per class `k`: `P_k = tp_k / (tp_k + fp_k)`, `R_k = tp_k / (tp_k + fn_k)`,
/// `F1_k = 2 tp_k / (2 tp_k + fp_k + fn_k)`; a score whose denominator is 0 is 0.
///
/// * [`Average::Macro`]: `(1/|L|) Σ_{k ∈ L} score_k`, where `L` is the set of labels that occur
///   in `y_true` or in `y_pred` (classes that occur in neither do not dilute the mean).
/// * [`Average::Weighted`]: `Σ_k s_k score_k / Σ_k s_k` with `s_k` the support of class `k` in
///   `y_true`.
///
/// All three are `NaN` for empty inputs.
///
/// # Panics
///
/// If the lengths differ or a label is `>= n_classes`.
pub fn precision_recall_f1(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    average: Average,
) -> PrecisionRecallF1 {
    let cm = counts("precision_recall_f1", y_true, y_pred, n_classes);
    let (mut p_sum, mut r_sum, mut f_sum, mut w_sum) = (0.0, 0.0, 0.0, 0.0);
    for k in 0..n_classes {
        let tp = cm.tp[k] as f64;
        let support = cm.support[k];
        let predicted = cm.predicted[k];
        let weight = match average {
            Average::Macro if support > 0 || predicted > 0 => 1.0,
            Average::Macro => 0.0,
            Average::Weighted => support as f64,
        };
        if weight == 0.0 {
            continue;
        }
        let fp_fn = (predicted - cm.tp[k]) + (support - cm.tp[k]);
        p_sum += weight * ratio(tp, predicted as f64);
        r_sum += weight * ratio(tp, support as f64);
        f_sum += weight * ratio(2.0 * tp, 2.0 * tp + fp_fn as f64);
        w_sum += weight;
    }
    PrecisionRecallF1 {
        precision: p_sum / w_sum,
        recall: r_sum / w_sum,
        f1: f_sum / w_sum,
    }
}

/// Mean negative log-likelihood of the true class (cross-entropy), natural log.
///
/// `log_loss = -(1/n) Σ_i ln(clip(proba[i * n_classes + y_true[i]], 1e-15, 1 - 1e-15))`.
///
/// `proba` is row-major `n x n_classes`. Only the probability of the true class enters the sum,
/// and rows are **not renormalized**: they are used exactly as given, like scikit-learn ≥ 1.5
/// (older versions divided each clipped row by its sum). Values outside `[0, 1]`, which
/// scikit-learn rejects, are clipped like any other. The clip bounds are `1e-15` and
/// `1 - 1e-15` (scikit-learn's historical `eps`); current scikit-learn clips at the machine
/// epsilon of the input's dtype instead (`2.2e-16` for `float64`), so the two differ only when
/// the true class's probability is below `1e-15` (e.g. exactly 0, which costs
/// `-ln(1e-15) ≈ 34.54` here), or exactly 1. A `NaN` probability gives `NaN`. Returns `NaN` for
/// empty inputs.
///
/// # Panics
///
/// If `proba.len() != y_true.len() * n_classes` or a label is `>= n_classes`.
pub fn log_loss(y_true: &[usize], proba: &[f32], n_classes: usize) -> f64 {
    check_proba("log_loss", y_true, proba, n_classes);
    let sum: f64 = y_true
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            -f64::from(proba[i * n_classes + y])
                .clamp(CLIP, 1.0 - CLIP)
                .ln()
        })
        .sum();
    sum / y_true.len() as f64
}

/// Area under the ROC curve of a binary problem (scikit-learn's `roc_auc_score`).
///
/// Computed exactly as the Mann-Whitney statistic with midranks, which equals scikit-learn's
/// trapezoidal area (ties in `scores` make a diagonal segment):
/// `AUC = (#{(i, j) : s_i > s_j} + ½ #{(i, j) : s_i = s_j}) / (n_pos n_neg)` over pairs of a
/// positive `i` and a negative `j`. Returns `None` when `y_true` does not contain both classes
/// (including when it is empty), where scikit-learn warns and returns `NaN`. Higher scores must
/// mean "more likely positive". Scores should be finite (scikit-learn rejects `NaN`); a `NaN`
/// score gives an unspecified value, not a panic. `-0.0` and `0.0` are tied.
///
/// # Panics
///
/// If `y_true` and `scores` have different lengths.
pub fn roc_auc_binary(y_true: &[bool], scores: &[f32]) -> Option<f64> {
    assert_same_len(
        "roc_auc_binary",
        "y_true",
        y_true.len(),
        "scores",
        scores.len(),
    );
    auc(scores.iter().copied().zip(y_true.iter().copied()).collect())
}

/// One-vs-rest ROC AUC, macro-averaged over classes (scikit-learn's
/// `roc_auc_score(multi_class="ovr", average="macro", labels=0..n_classes)`).
///
/// For each class `k`, the binary AUC ([`roc_auc_binary`]) of "`y_true == k`" against the scores
/// `proba[i * n_classes + k]`; the result is the unweighted mean over the `n_classes` classes.
/// With `n_classes == 2` it is the binary AUC of column 1 (what scikit-learn does for two
/// classes). Returns `None` when any class's problem is undefined, i.e. some class is absent from
/// `y_true` (scikit-learn returns `NaN` there), when `n_classes < 2`, or for empty inputs.
/// Unlike scikit-learn, rows are not required to sum to 1.
///
/// # Panics
///
/// If `proba.len() != y_true.len() * n_classes` or a label is `>= n_classes`.
pub fn roc_auc_ovr_macro(y_true: &[usize], proba: &[f32], n_classes: usize) -> Option<f64> {
    check_proba("roc_auc_ovr_macro", y_true, proba, n_classes);
    let one_vs_rest = |k: usize| {
        auc(y_true
            .iter()
            .enumerate()
            .map(|(i, &y)| (proba[i * n_classes + k], y == k))
            .collect())
    };
    match n_classes {
        0 | 1 => None,
        2 => one_vs_rest(1),
        _ => {
            let mut sum = 0.0;
            for k in 0..n_classes {
                sum += one_vs_rest(k)?;
            }
            Some(sum / n_classes as f64)
        }
    }
}

/// Every classification metric of one evaluation, as written to reports and JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct ClassificationReport {
    /// See [`accuracy`].
    pub accuracy: f64,
    /// See [`balanced_accuracy`].
    pub balanced_accuracy: f64,
    /// Macro-averaged precision, see [`precision_recall_f1`].
    pub precision_macro: f64,
    /// Macro-averaged recall.
    pub recall_macro: f64,
    /// Macro-averaged F1.
    pub f1_macro: f64,
    /// Support-weighted precision.
    pub precision_weighted: f64,
    /// Support-weighted recall.
    pub recall_weighted: f64,
    /// Support-weighted F1.
    pub f1_weighted: f64,
    /// See [`log_loss`]; `None` when no probabilities were given.
    pub log_loss: Option<f64>,
    /// Binary ROC AUC of column 1 with two classes, one-vs-rest macro AUC otherwise (see
    /// [`roc_auc_ovr_macro`]); `None` when no probabilities were given or it is undefined.
    pub roc_auc: Option<f64>,
    /// Expected calibration error over 15 equal-width confidence bins (see
    /// [`super::calibration::ece`]); `None` when no probabilities were given.
    pub ece: Option<f64>,
    /// Multi-class Brier score, the sum over classes averaged over rows (see
    /// [`super::calibration::brier`]); `None` when no probabilities were given.
    pub brier: Option<f64>,
    /// See [`confusion_matrix`]: rows are true classes, columns predicted classes.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// Number of samples evaluated.
    pub n_samples: usize,
}

impl ClassificationReport {
    /// Computes every metric from true labels, predicted labels and, optionally, the predicted
    /// probabilities (row-major `n x n_classes`), which enable `log_loss` and `roc_auc`.
    ///
    /// For empty inputs the `f64` metrics and `log_loss` are `NaN` and `roc_auc` is `None`.
    ///
    /// # Panics
    ///
    /// If the lengths differ, a label is `>= n_classes`, or `proba` is not `n x n_classes`.
    pub fn compute(
        y_true: &[usize],
        y_pred: &[usize],
        proba: Option<&[f32]>,
        n_classes: usize,
    ) -> ClassificationReport {
        Self::compute_unchecked(y_true, y_pred, proba, n_classes)
    }

    /// [`ClassificationReport::compute`] for inputs that may be malformed: the lengths, class
    /// ranges and probability shape are checked first and a violation is an
    /// [`crate::Error::ShapeMismatch`] or [`crate::Error::InvalidData`], never a panic.
    pub fn try_compute(
        y_true: &[usize],
        y_pred: &[usize],
        proba: Option<&[f32]>,
        n_classes: usize,
    ) -> crate::Result<ClassificationReport> {
        if y_true.len() != y_pred.len() {
            return Err(crate::Error::shape(
                "classification metrics (y_pred)",
                y_true.len(),
                y_pred.len(),
            ));
        }
        for (name, labels) in [("true", y_true), ("predicted", y_pred)] {
            if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= n_classes) {
                return Err(crate::Error::InvalidData(format!(
                    "{name} label of sample {i} is class {l}, but there are {n_classes} classes"
                )));
            }
        }
        if let Some(p) = proba
            && y_true.len().checked_mul(n_classes) != Some(p.len())
        {
            return Err(crate::Error::shape(
                "classification metrics (proba)",
                format!("{} x {n_classes} values", y_true.len()),
                format!("{} values", p.len()),
            ));
        }
        Ok(Self::compute_unchecked(y_true, y_pred, proba, n_classes))
    }

    fn compute_unchecked(
        y_true: &[usize],
        y_pred: &[usize],
        proba: Option<&[f32]>,
        n_classes: usize,
    ) -> ClassificationReport {
        let macro_avg = precision_recall_f1(y_true, y_pred, n_classes, Average::Macro);
        let weighted = precision_recall_f1(y_true, y_pred, n_classes, Average::Weighted);
        ClassificationReport {
            accuracy: accuracy(y_true, y_pred),
            balanced_accuracy: balanced_accuracy(y_true, y_pred, n_classes),
            precision_macro: macro_avg.precision,
            recall_macro: macro_avg.recall,
            f1_macro: macro_avg.f1,
            precision_weighted: weighted.precision,
            recall_weighted: weighted.recall,
            f1_weighted: weighted.f1,
            log_loss: proba.map(|p| log_loss(y_true, p, n_classes)),
            roc_auc: proba.and_then(|p| roc_auc_ovr_macro(y_true, p, n_classes)),
            ece: proba.map(|p| super::calibration::ece(y_true, p, n_classes)),
            brier: proba.map(|p| super::calibration::brier(y_true, p, n_classes)),
            confusion_matrix: confusion_matrix(y_true, y_pred, n_classes),
            n_samples: y_true.len(),
        }
    }
}

/// Per-class counts: true positives, support (true count) and predicted count.
struct ClassCounts {
    tp: Vec<u64>,
    support: Vec<u64>,
    predicted: Vec<u64>,
}

fn counts(what: &str, y_true: &[usize], y_pred: &[usize], n_classes: usize) -> ClassCounts {
    check_labels(what, y_true, y_pred, n_classes);
    let mut c = ClassCounts {
        tp: vec![0; n_classes],
        support: vec![0; n_classes],
        predicted: vec![0; n_classes],
    };
    for (&t, &p) in y_true.iter().zip(y_pred) {
        c.support[t] += 1;
        c.predicted[p] += 1;
        if t == p {
            c.tp[t] += 1;
        }
    }
    c
}

/// `num / den`, or 0 when `den` is 0 (scikit-learn's `zero_division=0`).
fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den }
}

#[track_caller]
fn check_labels(what: &str, y_true: &[usize], y_pred: &[usize], n_classes: usize) {
    assert_same_len(what, "y_true", y_true.len(), "y_pred", y_pred.len());
    check_range(what, "y_true", y_true, n_classes);
    check_range(what, "y_pred", y_pred, n_classes);
}

#[track_caller]
fn check_proba(what: &str, y_true: &[usize], proba: &[f32], n_classes: usize) {
    let rows = proba.len().checked_div(n_classes).unwrap_or(0);
    assert!(
        proba.len() == y_true.len() * n_classes,
        "metrics::{what}: proba has {} elements ({rows} rows of {n_classes} classes) but y_true \
         has {} samples; proba must be n_samples x n_classes",
        proba.len(),
        y_true.len()
    );
    check_range(what, "y_true", y_true, n_classes);
}

#[track_caller]
fn check_range(what: &str, name: &str, labels: &[usize], n_classes: usize) {
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= n_classes) {
        panic!(
            "metrics::{what}: {name}[{i}] = {l} is not a class index below n_classes = {n_classes}"
        );
    }
}

/// Binary AUC of `(score, is_positive)` pairs by the pair-counting (midrank) formula; `None`
/// unless both classes occur.
fn auc(mut pairs: Vec<(f32, bool)>) -> Option<f64> {
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    // 2 x (number of positive-negative pairs the positive wins, ties counting ½), kept exact.
    let mut twice_wins: u128 = 0;
    let (mut n_pos, mut n_neg) = (0u64, 0u64);
    let mut start = 0;
    while start < pairs.len() {
        let score = pairs[start].0;
        // `==` (not total_cmp) so that -0.0 and 0.0 share a group; they are adjacent when sorted.
        let len = pairs[start..]
            .iter()
            .take_while(|(s, _)| *s == score)
            .count()
            .max(1);
        let group_pos = pairs[start..start + len].iter().filter(|(_, p)| *p).count() as u64;
        let group_neg = len as u64 - group_pos;
        // Each positive here beats every negative seen so far and ties with this group's.
        twice_wins += u128::from(group_pos) * u128::from(2 * n_neg + group_neg);
        n_pos += group_pos;
        n_neg += group_neg;
        start += len;
    }
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    Some(twice_wins as f64 / (2.0 * n_pos as f64 * n_neg as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::test_util::assert_close;

    // Golden values below were printed by crates/mlp/tests/fixtures/metrics_golden.py
    // (scikit-learn 1.9.1, NumPy 2.4.6); the inputs are copied from that script verbatim.

    /// Every field of `report` against one case's scikit-learn values.
    struct Golden {
        accuracy: f64,
        balanced_accuracy: f64,
        macro_prf: [f64; 3],
        weighted_prf: [f64; 3],
        log_loss: f64,
        roc_auc: Option<f64>,
        confusion: Vec<Vec<u64>>,
    }

    fn check(y_true: &[usize], y_pred: &[usize], proba: &[f32], n_classes: usize, g: &Golden) {
        assert_close(accuracy(y_true, y_pred), g.accuracy);
        assert_close(
            balanced_accuracy(y_true, y_pred, n_classes),
            g.balanced_accuracy,
        );
        assert_eq!(confusion_matrix(y_true, y_pred, n_classes), g.confusion);
        for (avg, want) in [
            (Average::Macro, g.macro_prf),
            (Average::Weighted, g.weighted_prf),
        ] {
            let got = precision_recall_f1(y_true, y_pred, n_classes, avg);
            assert_close(got.precision, want[0]);
            assert_close(got.recall, want[1]);
            assert_close(got.f1, want[2]);
        }
        assert_close(log_loss(y_true, proba, n_classes), g.log_loss);
        let auc = roc_auc_ovr_macro(y_true, proba, n_classes);
        match (auc, g.roc_auc) {
            (Some(got), Some(want)) => assert_close(got, want),
            (got, want) => assert_eq!(got, want),
        }

        let r = ClassificationReport::compute(y_true, y_pred, Some(proba), n_classes);
        assert_eq!(r.confusion_matrix, g.confusion);
        assert_eq!(r.n_samples, y_true.len());
        assert_close(r.accuracy, g.accuracy);
        assert_close(r.balanced_accuracy, g.balanced_accuracy);
        assert_close(r.precision_macro, g.macro_prf[0]);
        assert_close(r.recall_macro, g.macro_prf[1]);
        assert_close(r.f1_macro, g.macro_prf[2]);
        assert_close(r.precision_weighted, g.weighted_prf[0]);
        assert_close(r.recall_weighted, g.weighted_prf[1]);
        assert_close(r.f1_weighted, g.weighted_prf[2]);
        assert_close(r.log_loss.expect("proba was given"), g.log_loss);
        match (r.roc_auc, g.roc_auc) {
            (Some(got), Some(want)) => assert_close(got, want),
            (got, want) => assert_eq!(got, want),
        }
    }

    /// Row-major `[1 - p, p]` rows, with the same f32 arithmetic as the Python script.
    fn binary_proba(p1: &[f32]) -> Vec<f32> {
        p1.iter().flat_map(|&p| [1.0 - p, p]).collect()
    }

    const BIN_TRUE: [usize; 12] = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1];
    const BIN_P1: [f32; 12] = [
        0.1, 0.8, 0.35, 0.35, 0.9, 0.6, 0.2, 0.6, 0.35, 0.05, 0.75, 0.5,
    ];
    const BIN_PRED: [usize; 12] = [0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1];

    #[test]
    fn binary_matches_sklearn() {
        let g = Golden {
            accuracy: 0.8333333333333334,
            balanced_accuracy: 0.8,
            macro_prf: [0.8888888888888888, 0.8, 0.8125],
            weighted_prf: [0.8703703703703703, 0.8333333333333334, 0.8229166666666666],
            log_loss: 0.47055619403408594,
            roc_auc: Some(0.8714285714285714),
            confusion: vec![vec![3, 2], vec![0, 7]],
        };
        check(&BIN_TRUE, &BIN_PRED, &binary_proba(&BIN_P1), 2, &g);
    }

    #[test]
    fn binary_auc_with_ties_matches_sklearn() {
        let y_true = BIN_TRUE.map(|y| y == 1);
        let auc = roc_auc_binary(&y_true, &BIN_P1).expect("both classes present");
        assert_close(auc, 0.8714285714285714);

        let ties_true: [u8; 40] = [
            0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, //
            0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
        ];
        let ties_s: [f32; 40] = [
            0.375, 0.25, 0.0, 0.3125, 0.375, 0.125, 0.3125, 0.25, 0.0625, 0.3125, //
            0.25, 0.1875, 0.3125, 0.25, 0.25, 0.3125, 0.4375, 0.625, 0.5, 0.125, //
            0.4375, 0.625, 0.125, 0.1875, 0.25, 0.1875, 0.5, 0.375, 0.1875, 0.6875, //
            0.375, 0.3125, 0.5625, 0.0, 0.4375, 0.0, 0.3125, 0.1875, 0.0625, 0.1875,
        ];
        let y = ties_true.map(|v| v == 1);
        let auc = roc_auc_binary(&y, &ties_s).expect("both classes present");
        assert_close(auc, 0.7266483516483517);
        // The order of the samples must not matter.
        let mut rev_y = y;
        let mut rev_s = ties_s;
        rev_y.reverse();
        rev_s.reverse();
        assert_close(
            roc_auc_binary(&rev_y, &rev_s).expect("both"),
            0.7266483516483517,
        );
    }

    #[test]
    fn three_classes_with_a_never_predicted_class_match_sklearn() {
        let y_true = [0, 1, 2, 2, 1, 0, 2, 1, 0, 2];
        let y_pred = [0, 1, 1, 0, 1, 0, 1, 1, 1, 0];
        #[rustfmt::skip]
        let proba: [f32; 30] = [
            0.7, 0.2, 0.1,
            0.1, 0.6, 0.3,
            0.2, 0.5, 0.3,
            0.5, 0.2, 0.3,
            0.3, 0.4, 0.3,
            0.6, 0.3, 0.1,
            0.2, 0.4, 0.4,
            0.1, 0.8, 0.1,
            0.3, 0.4, 0.3,
            0.4, 0.3, 0.3,
        ];
        let g = Golden {
            accuracy: 0.5,
            balanced_accuracy: 0.5555555555555555,
            macro_prf: [0.3333333333333333, 0.5555555555555555, 0.41269841269841273],
            weighted_prf: [0.3, 0.5, 0.37142857142857144],
            log_loss: 0.8249942157744818,
            roc_auc: Some(0.8660714285714285),
            confusion: vec![vec![2, 1, 0], vec![0, 3, 0], vec![2, 2, 0]],
        };
        check(&y_true, &y_pred, &proba, 3, &g);
    }

    #[test]
    fn four_classes_with_a_class_only_predicted_match_sklearn() {
        let y_true = [0, 1, 3, 3, 1, 0, 0, 3];
        let y_pred = [0, 2, 3, 1, 1, 0, 2, 0];
        #[rustfmt::skip]
        let proba: [f32; 32] = [
            0.5, 0.25, 0.125, 0.125,
            0.25, 0.25, 0.375, 0.125,
            0.125, 0.125, 0.25, 0.5,
            0.25, 0.375, 0.125, 0.25,
            0.125, 0.625, 0.125, 0.125,
            0.75, 0.125, 0.0625, 0.0625,
            0.25, 0.125, 0.5, 0.125,
            0.375, 0.25, 0.125, 0.25,
        ];
        let g = Golden {
            accuracy: 0.5,
            balanced_accuracy: 0.49999999999999994,
            macro_prf: [0.5416666666666666, 0.37499999999999994, 0.41666666666666663],
            weighted_prf: [0.75, 0.5, 0.5625],
            log_loss: 0.9611446884121211,
            // Class 2 never occurs in y_true: sklearn returns nan.
            roc_auc: None,
            confusion: vec![
                vec![2, 0, 1, 0],
                vec![0, 1, 1, 0],
                vec![0, 0, 0, 0],
                vec![1, 1, 0, 1],
            ],
        };
        check(&y_true, &y_pred, &proba, 4, &g);
    }

    #[test]
    fn log_loss_clips_zero_and_one_at_1e_15() {
        // sklearn value of the same input pre-clipped to [1e-15, 1 - 1e-15] (see the script).
        let proba = binary_proba(&[0.0, 0.0, 1.0, 0.25]);
        assert_close(log_loss(&[1, 0, 1, 0], &proba, 2), 8.706614616840616);
        // Hand check: one sample with p = 0 for the true class costs -ln(1e-15).
        assert_close(log_loss(&[0], &[0.0, 1.0], 2), -(1e-15f64.ln()));
        assert_close(log_loss(&[1], &[0.0, 1.0], 2), -((1.0 - 1e-15f64).ln()));
    }

    #[test]
    fn log_loss_does_not_renormalize_rows() {
        // Rows summing to 0.5: only the true class's entry is used, as given.
        assert_close(log_loss(&[0, 1], &[0.25, 0.25, 0.25, 0.25], 2), 4f64.ln());
        // Hand check: ln 2 for a uniform binary guess.
        assert_close(log_loss(&[0, 1, 1], &[0.5; 6], 2), 2f64.ln());
        assert!(log_loss(&[0], &[f32::NAN, 0.5], 2).is_nan());
    }

    #[test]
    fn hand_checked_small_cases() {
        assert_eq!(accuracy(&[0, 1, 2, 2], &[0, 2, 2, 2]), 0.75);
        // Recalls: class 0: 1/1, class 1: 0/1, class 2: 2/2 -> mean 2/3.
        assert_close(
            balanced_accuracy(&[0, 1, 2, 2], &[0, 2, 2, 2], 3),
            2.0 / 3.0,
        );
        // Class 3 exists (n_classes = 4) but occurs nowhere: it changes nothing.
        assert_close(
            balanced_accuracy(&[0, 1, 2, 2], &[0, 2, 2, 2], 4),
            2.0 / 3.0,
        );
        let m = precision_recall_f1(&[0, 1, 2, 2], &[0, 2, 2, 2], 4, Average::Macro);
        // P = (1, 0, 2/3)/3, R = (1, 0, 1)/3, F1 = (1, 0, 0.8)/3.
        assert_close(m.precision, (1.0 + 2.0 / 3.0) / 3.0);
        assert_close(m.recall, 2.0 / 3.0);
        assert_close(m.f1, 1.8 / 3.0);
        let w = precision_recall_f1(&[0, 1, 2, 2], &[0, 2, 2, 2], 4, Average::Weighted);
        // Supports (1, 1, 2): P = (1 + 0 + 2 * 2/3) / 4.
        assert_close(w.precision, (1.0 + 4.0 / 3.0) / 4.0);
        assert_close(w.recall, 0.75);
        assert_close(w.f1, (1.0 + 1.6) / 4.0);

        assert_eq!(roc_auc_binary(&[false, true], &[0.1, 0.9]), Some(1.0));
        assert_eq!(roc_auc_binary(&[true, false], &[0.1, 0.9]), Some(0.0));
        assert_eq!(roc_auc_binary(&[true, false, true], &[0.5; 3]), Some(0.5));
        // One positive tied with one of two negatives: (1 + 0.5) / 2.
        assert_eq!(
            roc_auc_binary(&[false, true, false], &[0.2, 0.5, 0.5]),
            Some(0.75)
        );
        // -0.0 and 0.0 are the same score.
        assert_eq!(roc_auc_binary(&[false, true], &[0.0, -0.0]), Some(0.5));
        assert_eq!(roc_auc_binary(&[true, true], &[0.1, 0.9]), None);
        assert_eq!(roc_auc_binary(&[false], &[0.1]), None);
    }

    #[test]
    fn ovr_auc_uses_column_1_for_two_classes_and_needs_every_class() {
        let proba = binary_proba(&BIN_P1);
        let y_bool = BIN_TRUE.map(|y| y == 1);
        assert_eq!(
            roc_auc_ovr_macro(&BIN_TRUE, &proba, 2),
            roc_auc_binary(&y_bool, &BIN_P1)
        );
        // Only column 1 matters with two classes (column 0 here is uninformative, and a
        // one-vs-rest average would give (0.5 + 1) / 2).
        let p = [0.5, 0.1, 0.5, 0.9, 0.5, 0.2, 0.5, 0.8];
        assert_eq!(roc_auc_ovr_macro(&[0, 1, 0, 1], &p, 2), Some(1.0));
        // Perfectly separated three classes: AUC 1 for each one-vs-rest problem.
        let p = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8];
        assert_eq!(roc_auc_ovr_macro(&[0, 1, 2], &p, 3), Some(1.0));
        // Class 2 absent from y_true.
        assert_eq!(roc_auc_ovr_macro(&[0, 1, 1], &p, 3), None);
        assert_eq!(roc_auc_ovr_macro(&[0, 0], &[1.0, 1.0], 1), None);
    }

    #[test]
    fn empty_inputs_give_nan_not_a_panic() {
        assert!(accuracy(&[], &[]).is_nan());
        assert!(balanced_accuracy(&[], &[], 3).is_nan());
        let prf = precision_recall_f1(&[], &[], 3, Average::Weighted);
        assert!(prf.precision.is_nan() && prf.recall.is_nan() && prf.f1.is_nan());
        let prf = precision_recall_f1(&[], &[], 3, Average::Macro);
        assert!(prf.precision.is_nan() && prf.recall.is_nan() && prf.f1.is_nan());
        assert!(log_loss(&[], &[], 3).is_nan());
        assert_eq!(roc_auc_binary(&[], &[]), None);
        assert_eq!(roc_auc_ovr_macro(&[], &[], 3), None);
        assert_eq!(confusion_matrix(&[], &[], 2), vec![vec![0, 0], vec![0, 0]]);
        let r = ClassificationReport::compute(&[], &[], Some(&[]), 2);
        assert!(r.accuracy.is_nan() && r.f1_macro.is_nan());
        assert!(r.log_loss.is_some_and(f64::is_nan));
        assert_eq!((r.roc_auc, r.n_samples), (None, 0));
    }

    #[test]
    fn report_without_proba_has_no_log_loss_or_auc_and_round_trips_json() {
        let r = ClassificationReport::compute(&BIN_TRUE, &BIN_PRED, None, 2);
        assert_eq!((r.log_loss, r.roc_auc), (None, None));
        assert_close(r.accuracy, 0.8333333333333334);
        let json = serde_json::to_string(&r).expect("serialize");
        let back: ClassificationReport = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, r);
    }

    #[test]
    #[should_panic(expected = "y_true has 2 elements but y_pred has 3")]
    fn length_mismatch_panics_with_a_clear_message() {
        accuracy(&[0, 1], &[0, 1, 1]);
    }

    #[test]
    #[should_panic(expected = "y_pred[1] = 3 is not a class index below n_classes = 3")]
    fn out_of_range_label_panics_with_a_clear_message() {
        confusion_matrix(&[0, 1], &[0, 3], 3);
    }

    #[test]
    #[should_panic(expected = "proba has 5 elements")]
    fn proba_shape_mismatch_panics() {
        log_loss(&[0, 1], &[0.5; 5], 2);
    }
}
