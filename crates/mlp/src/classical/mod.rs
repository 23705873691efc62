//! Classical network families fitted without (or beyond) end-to-end backprop: GRNN (kernel
//! regression with a leave-one-out bandwidth), RBF networks (k-means centres, ridge-solved
//! output layer) and cascade-correlation (grown one hidden unit at a time from a candidate pool).
//!
//! Each stores its result in ordinary blocks ([`crate::layers::Grnn`], [`crate::layers::Rbf`],
//! [`crate::layers::Cascade`]), so the fitted model is saved, loaded, served and inspected like
//! any other.

pub mod cascade;
pub mod grnn;
pub mod rbf;

use crate::data::Targets;
use crate::{Error, Result};

/// The regression targets of a data set as a row-major `n x m` matrix: one-hot rows for
/// classes, the (encoded) values otherwise. Returns the matrix and `m`.
pub(crate) fn target_matrix(targets: &Targets) -> (Vec<f64>, usize) {
    match targets {
        Targets::Classes { labels, n_classes } => {
            let m = *n_classes;
            let mut t = vec![0.0; labels.len() * m];
            for (i, &l) in labels.iter().enumerate() {
                if l < m {
                    t[i * m + l] = 1.0;
                }
            }
            (t, m)
        }
        Targets::Values { values, n_outputs } => {
            (values.iter().map(|&v| v as f64).collect(), *n_outputs)
        }
        Targets::MultiLabel { values, n_labels } => {
            (values.iter().map(|&v| v as f64).collect(), *n_labels)
        }
    }
}

/// Solves the symmetric positive-definite system `a x = b` (`a` is `k x k`, row-major; `b`
/// has `m` right-hand sides as a `k x m` matrix) by Cholesky, in place of `b`.
pub(crate) fn cholesky_solve(a: &mut [f64], b: &mut [f64], k: usize, m: usize) -> Result<()> {
    for j in 0..k {
        let mut d = a[j * k + j];
        for p in 0..j {
            d -= a[j * k + p] * a[j * k + p];
        }
        if !(d > 0.0 && d.is_finite()) {
            return Err(Error::InvalidData(
                "the least-squares system is singular; raise the ridge penalty".into(),
            ));
        }
        let d = d.sqrt();
        a[j * k + j] = d;
        for i in j + 1..k {
            let mut s = a[i * k + j];
            for p in 0..j {
                s -= a[i * k + p] * a[j * k + p];
            }
            a[i * k + j] = s / d;
        }
    }
    for c in 0..m {
        for i in 0..k {
            let mut s = b[i * m + c];
            for p in 0..i {
                s -= a[i * k + p] * b[p * m + c];
            }
            b[i * m + c] = s / a[i * k + i];
        }
        for i in (0..k).rev() {
            let mut s = b[i * m + c];
            for p in i + 1..k {
                s -= a[p * k + i] * b[p * m + c];
            }
            b[i * m + c] = s / a[i * k + i];
        }
    }
    Ok(())
}

/// Squared Euclidean distance.
pub(crate) fn dist2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        // a = [[4, 2], [2, 3]], x = [1, -1] -> b = [2, -1].
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![2.0, -1.0];
        cholesky_solve(&mut a, &mut b, 2, 1).expect("spd");
        assert!(
            (b[0] - 1.0).abs() < 1e-12 && (b[1] + 1.0).abs() < 1e-12,
            "{b:?}"
        );
    }
}
