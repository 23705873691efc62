//! Multi-label metrics: each sample has independent 0/1 labels; a label is predicted present
//! when its probability exceeds 0.5.
//!
//! * subset accuracy: the share of samples whose whole label set is right;
//! * Hamming loss: the share of wrong (sample, label) pairs;
//! * F1 macro: mean over labels of `2 tp / (2 tp + fp + fn)` (0 when a label never occurs or is
//!   never predicted), and F1 micro from the pooled counts;
//! * ROC AUC macro: mean per-label AUC over labels that have both values in `y_true`.

use super::{assert_same_len, roc_auc_binary};
use serde::{Deserialize, Serialize};

/// Multi-label evaluation results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MultiLabelReport {
    /// Samples whose predicted label set equals the true one.
    pub subset_accuracy: f64,
    /// Wrong (sample, label) pairs over all pairs.
    pub hamming_loss: f64,
    /// Mean per-label F1.
    pub f1_macro: f64,
    /// F1 of the pooled counts.
    pub f1_micro: f64,
    /// Mean per-label ROC AUC (labels with a single class in `y_true` are skipped).
    pub roc_auc_macro: Option<f64>,
    /// Number of samples.
    pub n_samples: usize,
    /// Number of labels.
    pub n_labels: usize,
}

impl MultiLabelReport {
    /// Computes the report from 0/1 truth and probabilities, both row-major `n x n_labels`.
    ///
    /// # Panics
    /// When the two inputs differ in length.
    pub fn compute(y_true: &[f32], proba: &[f32], n_labels: usize) -> MultiLabelReport {
        assert_same_len("multilabel", "y_true", y_true.len(), "proba", proba.len());
        let k = n_labels.max(1);
        let n = y_true.len() / k;
        let (mut tp, mut fp, mut fne) = (vec![0usize; k], vec![0usize; k], vec![0usize; k]);
        let (mut exact, mut wrong) = (0usize, 0usize);
        for i in 0..n {
            let mut all_right = true;
            for j in 0..k {
                let t = y_true[i * k + j] > 0.5;
                let p = proba[i * k + j] > 0.5;
                match (t, p) {
                    (true, true) => tp[j] += 1,
                    (false, true) => fp[j] += 1,
                    (true, false) => fne[j] += 1,
                    (false, false) => {}
                }
                if t != p {
                    all_right = false;
                    wrong += 1;
                }
            }
            exact += usize::from(all_right);
        }
        let f1 = |tp: usize, fp: usize, fne: usize| {
            let d = 2 * tp + fp + fne;
            if d == 0 {
                0.0
            } else {
                2.0 * tp as f64 / d as f64
            }
        };
        let f1_macro = (0..k).map(|j| f1(tp[j], fp[j], fne[j])).sum::<f64>() / k as f64;
        let f1_micro = f1(tp.iter().sum(), fp.iter().sum(), fne.iter().sum());
        let aucs: Vec<f64> = (0..k)
            .filter_map(|j| {
                let t: Vec<bool> = (0..n).map(|i| y_true[i * k + j] > 0.5).collect();
                let s: Vec<f32> = (0..n).map(|i| proba[i * k + j]).collect();
                roc_auc_binary(&t, &s)
            })
            .collect();
        let nan_if_empty = |x: f64| if n == 0 { f64::NAN } else { x };
        MultiLabelReport {
            subset_accuracy: nan_if_empty(exact as f64 / n.max(1) as f64),
            hamming_loss: nan_if_empty(wrong as f64 / (n * k).max(1) as f64),
            f1_macro: nan_if_empty(f1_macro),
            f1_micro: nan_if_empty(f1_micro),
            roc_auc_macro: (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64),
            n_samples: n,
            n_labels: k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::test_util::assert_close;

    /// Golden values from scikit-learn 1.9.1: accuracy_score, hamming_loss,
    /// f1_score(average="macro"/"micro", zero_division=0), roc_auc_score(average="macro") on
    /// yt = [[1,0,1],[0,1,1],[1,1,0],[0,0,1],[1,0,0]],
    /// p = [[.9,.2,.6],[.3,.4,.8],[.7,.9,.45],[.2,.1,.3],[.4,.3,.1]] (f32), y_pred = p > 0.5.
    #[test]
    fn matches_scikit_learn() {
        let yt = [1., 0., 1., 0., 1., 1., 1., 1., 0., 0., 0., 1., 1., 0., 0.];
        let p = [
            0.9f32, 0.2, 0.6, 0.3, 0.4, 0.8, 0.7, 0.9, 0.45, 0.2, 0.1, 0.3, 0.4, 0.3, 0.1,
        ];
        let r = MultiLabelReport::compute(&yt, &p, 3);
        assert_close(r.subset_accuracy, 0.4);
        assert_close(r.hamming_loss, 0.2);
        assert_close(r.f1_macro, 0.755_555_555_555_555_5);
        assert_close(r.f1_micro, 0.769_230_769_230_769_3);
        assert_close(r.roc_auc_macro.expect("auc"), 0.944_444_444_444_444_3);
        assert_eq!((r.n_samples, r.n_labels), (5, 3));
    }
}
