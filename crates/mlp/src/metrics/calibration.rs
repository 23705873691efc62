//! Calibration of predicted class probabilities: the expected calibration error (ECE), its
//! reliability-diagram bins, and the multi-class Brier score.
//!
//! * **ECE** (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017, eq. 3): rows are
//!   grouped by their top-class confidence `c = max_k p_k` into `M` equal-width bins
//!   `((m-1)/M, m/M]` (a confidence of exactly 0 goes to the first bin), and
//!   `ECE = sum_m |B_m|/n * |acc(B_m) - conf(B_m)|`, where `acc` is the fraction of rows in the bin
//!   whose top class (first maximum on ties, as the predicted class) is the true one and `conf` the
//!   mean confidence. `mlp eval` uses [`ECE_BINS`] = 15 bins, as Guo et al.
//! * **Brier score**, multi-class form (Brier 1950): `mean over rows of sum_k (p_k - y_k)^2` with
//!   `y` the one-hot true class; it lies in `[0, 2]`. scikit-learn's `brier_score_loss` is the
//!   binary form `mean (p_1 - y)^2` on the positive class's probability only, which is exactly
//!   half of this value for two classes.
//!
//! Conventions as the rest of [`crate::metrics`]: `f64` sums, `NaN` for no rows, a panic naming
//! the function for inputs of mismatched lengths (programming errors).

use super::assert_same_len;

/// Number of confidence bins of `mlp eval`'s ECE (Guo et al. 2017).
pub const ECE_BINS: usize = 15;

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin (exclusive, except for the first bin).
    pub lower: f64,
    /// Upper edge of the bin (inclusive).
    pub upper: f64,
    /// Rows whose top-class confidence falls in the bin.
    pub count: usize,
    /// Mean top-class confidence of those rows (`NaN` when empty).
    pub confidence: f64,
    /// Fraction of those rows whose top class is the true class (`NaN` when empty).
    pub accuracy: f64,
}

/// Top class (first maximum) and its probability for each row.
fn top_classes(proba: &[f32], n_classes: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
    proba.chunks_exact(n_classes.max(1)).map(|row| {
        let k = crate::train::argmax(row);
        (k, row.get(k).copied().unwrap_or(0.0) as f64)
    })
}

fn check_inputs(what: &str, labels: &[usize], proba: &[f32], n_classes: usize) {
    assert!(
        n_classes > 0,
        "metrics::{what}: n_classes must be at least 1"
    );
    assert_same_len(
        what,
        "proba / n_classes",
        proba.len() / n_classes,
        "labels",
        labels.len(),
    );
    assert_eq!(
        proba.len() % n_classes,
        0,
        "metrics::{what}: proba has {} values, not a multiple of {n_classes} classes",
        proba.len()
    );
}

/// The reliability-diagram bins (`bins` equal-width bins on the top-class confidence).
///
/// # Panics
/// If `n_classes` or `bins` is 0, or `proba` is not `labels.len() x n_classes`.
pub fn reliability_bins(
    labels: &[usize],
    proba: &[f32],
    n_classes: usize,
    bins: usize,
) -> Vec<ReliabilityBin> {
    check_inputs("reliability_bins", labels, proba, n_classes);
    assert!(
        bins > 0,
        "metrics::reliability_bins: bins must be at least 1"
    );
    let mut count = vec![0usize; bins];
    let mut conf = vec![0.0f64; bins];
    let mut correct = vec![0usize; bins];
    for ((k, c), &y) in top_classes(proba, n_classes).zip(labels) {
        // Bin m (0-based) holds (m/M, (m+1)/M]; ceil(c*M)-1, clamped, is that m.
        let m = ((c * bins as f64).ceil() as usize)
            .saturating_sub(1)
            .min(bins - 1);
        count[m] += 1;
        conf[m] += c;
        correct[m] += usize::from(k == y);
    }
    (0..bins)
        .map(|m| {
            let n = count[m] as f64;
            ReliabilityBin {
                lower: m as f64 / bins as f64,
                upper: (m + 1) as f64 / bins as f64,
                count: count[m],
                confidence: conf[m] / n,
                accuracy: correct[m] as f64 / n,
            }
        })
        .collect()
}

/// Expected calibration error with `bins` equal-width confidence bins (see the module docs).
/// `NaN` for no rows.
///
/// # Panics
/// If `n_classes` or `bins` is 0, or `proba` is not `labels.len() x n_classes`.
pub fn ece_with_bins(labels: &[usize], proba: &[f32], n_classes: usize, bins: usize) -> f64 {
    let n = labels.len();
    let table = reliability_bins(labels, proba, n_classes, bins);
    if n == 0 {
        return f64::NAN;
    }
    table
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| b.count as f64 / n as f64 * (b.accuracy - b.confidence).abs())
        .sum()
}

/// Expected calibration error with [`ECE_BINS`] (15) bins, as Guo et al. 2017.
///
/// ```
/// // Two rows at confidence 0.9 (bin (0.867, 0.933]), one right and one wrong:
/// // |acc - conf| = |0.5 - 0.9| = 0.4.
/// let ece = mlp::metrics::ece(&[0, 0], &[0.9, 0.1, 0.1, 0.9], 2);
/// assert!((ece - 0.4).abs() < 1e-6);
/// ```
///
/// # Panics
/// If `n_classes` is 0, or `proba` is not `labels.len() x n_classes`.
pub fn ece(labels: &[usize], proba: &[f32], n_classes: usize) -> f64 {
    ece_with_bins(labels, proba, n_classes, ECE_BINS)
}

/// Multi-class Brier score: mean over rows of `sum_k (p_k - y_k)^2`, `y` one-hot (see the module
/// docs for how it relates to scikit-learn's binary `brier_score_loss`). `NaN` for no rows.
///
/// # Panics
/// If `n_classes` is 0, or `proba` is not `labels.len() x n_classes`.
pub fn brier(labels: &[usize], proba: &[f32], n_classes: usize) -> f64 {
    check_inputs("brier", labels, proba, n_classes);
    if labels.is_empty() {
        return f64::NAN;
    }
    let total: f64 = proba
        .chunks_exact(n_classes)
        .zip(labels)
        .map(|(row, &y)| {
            row.iter()
                .enumerate()
                .map(|(k, &p)| (p as f64 - f64::from(u8::from(k == y))).powi(2))
                .sum::<f64>()
        })
        .sum();
    total / labels.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::test_util::assert_close;

    /// Hand computation, 15 bins of width 1/15 = 0.0667:
    ///
    /// | row | proba (3 classes) | top | conf | true | bin (0-based) |
    /// |-----|-------------------|-----|------|------|---------------|
    /// | 0   | .90 .05 .05       | 0   | .90  | 0    | 13 (.867,.933]|
    /// | 1   | .90 .05 .05       | 0   | .90  | 1    | 13            |
    /// | 2   | .20 .70 .10       | 1   | .70  | 1    | 10 (.667,.733]|
    /// | 3   | .38 .37 .25       | 0   | .38  | 2    | 5 (.333,.4]   |
    /// | 4   | .50 .50 .00       | 0   | .50  | 0    | 7 (.467,.533] |
    ///
    /// Row 4 ties: the first maximum (class 0) is the predicted class.
    /// bin 13: acc 1/2, conf .90 -> |.5-.9| = .4, weight 2/5 -> .16
    /// bin 10: acc 1, conf .70 -> .3, weight 1/5 -> .06
    /// bin 5: acc 0, conf .38 -> .38, weight 1/5 -> .076
    /// bin 7: acc 1, conf .50 -> .5, weight 1/5 -> .10
    /// ECE = .16 + .06 + .076 + .10 = .396
    ///
    /// (Row 3 is not at .40: 0.4f32 widened is 0.40000000596, just above the bin edge 6/15, and
    /// lands in bin 6; a value on an edge belongs to the bin its f32 value falls in.)
    ///
    /// Brier, per row sum_k (p_k - y_k)^2:
    /// row 0: .01 + .0025 + .0025 = .015
    /// row 1: .81 + .9025 + .0025 = 1.715
    /// row 2: .04 + .09 + .01 = .14
    /// row 3: .1444 + .1369 + .5625 = .8438
    /// row 4: .25 + .25 + 0 = .5
    /// mean = 3.2138 / 5 = .64276
    const LABELS: [usize; 5] = [0, 1, 1, 2, 0];
    const PROBA: [f32; 15] = [
        0.9, 0.05, 0.05, 0.9, 0.05, 0.05, 0.2, 0.7, 0.1, 0.38, 0.37, 0.25, 0.5, 0.5, 0.0,
    ];

    /// The f32 inputs widened exactly as the metric does, so the tolerance can be 1e-9.
    fn w(x: f32) -> f64 {
        x as f64
    }

    #[test]
    fn ece_matches_the_hand_computation() {
        let got = ece(&LABELS, &PROBA, 3);
        let want = 2.0 / 5.0 * (0.5 - w(0.9)).abs()
            + 1.0 / 5.0 * (1.0 - w(0.7))
            + 1.0 / 5.0 * w(0.38)
            + 1.0 / 5.0 * (1.0 - w(0.5));
        assert_close(got, want);
        assert!((got - 0.396).abs() < 1e-6);
    }

    #[test]
    fn reliability_bins_place_rows_as_the_table_says() {
        let bins = reliability_bins(&LABELS, &PROBA, 3, ECE_BINS);
        let counts: Vec<(usize, usize)> = bins
            .iter()
            .enumerate()
            .filter(|(_, b)| b.count > 0)
            .map(|(m, b)| (m, b.count))
            .collect();
        assert_eq!(counts, vec![(5, 1), (7, 1), (10, 1), (13, 2)]);
        assert_close(bins[13].accuracy, 0.5);
        assert!(bins[0].confidence.is_nan());
        assert_close(bins[14].upper, 1.0);
    }

    #[test]
    fn bin_edges_are_closed_on_the_right() {
        // Confidence exactly 1.0 belongs to the last bin, 0.5 with 2 bins to the first.
        let b = reliability_bins(&[0], &[1.0, 0.0], 2, 15);
        assert_eq!(b[14].count, 1);
        let b = reliability_bins(&[0], &[0.5, 0.5], 2, 2);
        assert_eq!((b[0].count, b[1].count), (1, 0));
    }

    #[test]
    fn perfectly_calibrated_bins_give_zero_ece() {
        // Four rows at confidence .75, three right: acc = conf.
        let proba = [0.75f32, 0.25].repeat(4);
        assert_close(ece(&[0, 0, 0, 1], &proba, 2), 0.0);
    }

    #[test]
    fn brier_matches_the_hand_computation() {
        let rows: [(usize, [f32; 3]); 5] = [
            (0, [0.9, 0.05, 0.05]),
            (1, [0.9, 0.05, 0.05]),
            (1, [0.2, 0.7, 0.1]),
            (2, [0.38, 0.37, 0.25]),
            (0, [0.5, 0.5, 0.0]),
        ];
        let want: f64 = rows
            .iter()
            .map(|(y, p)| {
                (0..3)
                    .map(|k| (w(p[k]) - if k == *y { 1.0 } else { 0.0 }).powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / 5.0;
        assert_close(brier(&LABELS, &PROBA, 3), want);
        assert!((brier(&LABELS, &PROBA, 3) - 0.64276).abs() < 1e-6);
    }

    #[test]
    fn binary_brier_is_twice_scikit_learns() {
        // sklearn brier_score_loss([1, 0], [0.8, 0.3]) = ((0.2)^2 + (0.3)^2) / 2 = 0.065.
        let got = brier(&[1, 0], &[0.2, 0.8, 0.7, 0.3], 2);
        assert!((got - 2.0 * 0.065).abs() < 1e-6);
    }

    #[test]
    fn empty_inputs_give_nan() {
        assert!(ece(&[], &[], 3).is_nan());
        assert!(brier(&[], &[], 3).is_nan());
    }

    #[test]
    #[should_panic(expected = "metrics::brier")]
    fn mismatched_lengths_panic_with_the_function_name() {
        brier(&[0, 1], &[0.5, 0.5], 2);
    }
}
