//! K-fold cross-validation folds (plain and stratified) and row subsets of a raw table.
//!
//! Rules:
//!
//! - `k` must be at least 2 and at most the number of rows; anything else is
//!   [`Error::InvalidConfig`] (field `folds`).
//! - [`kfold`] shuffles the rows and deals them to the folds in turn, so fold sizes differ by at
//!   most one.
//! - [`stratified_kfold`] shuffles each class's rows and deals them to the folds in turn, carrying
//!   the dealing position from one class to the next: every class is spread over the folds with
//!   counts that differ by at most one, and fold sizes differ by at most one. Every class that
//!   occurs must occur at least `k` times (so that every fold's training part holds every class);
//!   [`smallest_class`] finds the one that does not, for a message naming it.
//! - Each fold is the sorted list of its (test) rows; the folds are disjoint and together cover
//!   `0..n`. [`training_rows`] gives a fold's complement. The same [`Rng`] state gives the same
//!   folds.

use super::csv::RawTable;
use crate::error::{Error, Result};
use crate::rng::Rng;

fn check_k(n: usize, k: usize) -> Result<()> {
    if k < 2 {
        return Err(Error::config(
            "folds",
            format!("cross-validation needs at least 2 folds, got {k}"),
        ));
    }
    if k > n {
        return Err(Error::config(
            "folds",
            format!("{k} folds need at least {k} rows; the data has {n}"),
        ));
    }
    Ok(())
}

/// `k` folds of `n` rows: a shuffled deal (see the module docs). Returns each fold's rows, sorted.
pub fn kfold(n: usize, k: usize, rng: &mut Rng) -> Result<Vec<Vec<usize>>> {
    check_k(n, k)?;
    let mut folds = vec![Vec::with_capacity(n / k + 1); k];
    for (i, row) in rng.permutation(n).into_iter().enumerate() {
        folds[i % k].push(row);
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    Ok(folds)
}

/// The class with the fewest rows among those that occur, with its count (`None` when no class
/// occurs). Labels at or above `n_classes` are not counted.
pub fn smallest_class(labels: &[usize], n_classes: usize) -> Option<(usize, usize)> {
    let mut counts = vec![0usize; n_classes];
    for &l in labels {
        if let Some(c) = counts.get_mut(l) {
            *c += 1;
        }
    }
    counts
        .into_iter()
        .enumerate()
        .filter(|&(_, m)| m > 0)
        .min_by_key(|&(c, m)| (m, c))
}

/// `k` folds that keep each class's share (see the module docs). Labels must be below
/// `n_classes`, and every class that occurs must have at least `k` rows.
pub fn stratified_kfold(
    labels: &[usize],
    n_classes: usize,
    k: usize,
    rng: &mut Rng,
) -> Result<Vec<Vec<usize>>> {
    check_k(labels.len(), k)?;
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &label) in labels.iter().enumerate() {
        match members.get_mut(label) {
            Some(m) => m.push(i),
            None => {
                return Err(Error::InvalidData(format!(
                    "class label {label} of sample {i} is not below the number of classes ({n_classes})"
                )));
            }
        }
    }
    if let Some((class, m)) = smallest_class(labels, n_classes)
        && m < k
    {
        return Err(Error::config(
            "folds",
            format!(
                "class {class} has {m} row(s); stratified {k}-fold cross-validation needs at least {k} per class"
            ),
        ));
    }
    let mut folds = vec![Vec::with_capacity(labels.len() / k + 1); k];
    let mut next = 0;
    for mut class in members {
        rng.shuffle(&mut class);
        for &row in &class {
            folds[next].push(row);
            next = (next + 1) % k;
        }
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    Ok(folds)
}

/// The rows of `0..n` outside `fold` (which must be sorted), ascending: a fold's training part.
pub fn training_rows(n: usize, fold: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(n.saturating_sub(fold.len()));
    let mut held = fold.iter().peekable();
    for row in 0..n {
        if held.peek() == Some(&&row) {
            held.next();
        } else {
            out.push(row);
        }
    }
    out
}

/// The given rows of a raw table, in the given order, as a new table (same file, headers and
/// delimiter; each row keeps its line number, so errors still point into the file).
pub fn select_table_rows(table: &RawTable, rows: &[usize]) -> RawTable {
    RawTable {
        path: table.path.clone(),
        headers: table.headers.clone(),
        columns: table
            .columns
            .iter()
            .map(|col| rows.iter().map(|&r| col[r].clone()).collect())
            .collect(),
        n_rows: rows.len(),
        delimiter: table.delimiter,
        lines: rows.iter().map(|&r| table.line(r)).collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check_partition(n: usize, folds: &[Vec<usize>]) {
        let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "coverage and disjointness");
        for f in folds {
            assert!(f.windows(2).all(|w| w[0] < w[1]), "sorted");
        }
        let sizes: Vec<usize> = folds.iter().map(Vec::len).collect();
        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(hi - lo <= 1, "balanced sizes {sizes:?}");
    }

    #[test]
    fn kfold_partitions_and_is_seeded() {
        for (n, k) in [(10, 2), (10, 3), (7, 7), (101, 5), (2, 2)] {
            let folds = kfold(n, k, &mut Rng::seed_from(1)).unwrap();
            assert_eq!(folds.len(), k);
            check_partition(n, &folds);
        }
        let a = kfold(50, 5, &mut Rng::seed_from(4)).unwrap();
        let b = kfold(50, 5, &mut Rng::seed_from(4)).unwrap();
        let c = kfold(50, 5, &mut Rng::seed_from(5)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Shuffled: the first fold is not the first rows.
        assert_ne!(a[0], (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn fold_counts_are_checked() {
        let mut rng = Rng::seed_from(0);
        for (n, k) in [(10, 0), (10, 1), (3, 4), (0, 2)] {
            let err = kfold(n, k, &mut rng).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidConfig { field, .. } if field == "folds"),
                "{err:?}"
            );
        }
        let err = stratified_kfold(&[0, 1], 2, 3, &mut rng).unwrap_err();
        assert!(err.to_string().contains("need at least 3 rows"), "{err}");
    }

    #[test]
    fn stratified_spreads_every_class() {
        // 23 of class 0, 11 of class 1, 5 of class 2, class 3 absent; interleaved.
        let mut labels = Vec::new();
        labels.extend(std::iter::repeat_n(0, 23));
        labels.extend(std::iter::repeat_n(1, 11));
        labels.extend(std::iter::repeat_n(2, 5));
        Rng::seed_from(3).shuffle(&mut labels);
        let k = 5;
        let folds = stratified_kfold(&labels, 4, k, &mut Rng::seed_from(8)).unwrap();
        check_partition(labels.len(), &folds);
        for class in 0..3 {
            let per_fold: Vec<usize> = folds
                .iter()
                .map(|f| f.iter().filter(|&&i| labels[i] == class).count())
                .collect();
            let (lo, hi) = (
                per_fold.iter().min().unwrap(),
                per_fold.iter().max().unwrap(),
            );
            assert!(hi - lo <= 1, "class {class}: {per_fold:?}");
            // Every training part holds every class.
            assert!(per_fold.iter().all(|&c| c < per_fold.iter().sum::<usize>()));
        }
        let again = stratified_kfold(&labels, 4, k, &mut Rng::seed_from(8)).unwrap();
        assert_eq!(folds, again);
        assert_ne!(
            folds,
            stratified_kfold(&labels, 4, k, &mut Rng::seed_from(9)).unwrap()
        );
    }

    #[test]
    fn stratified_names_the_small_class() {
        let labels = [0, 0, 0, 1, 1, 2, 2, 2, 0];
        assert_eq!(smallest_class(&labels, 4), Some((1, 2)));
        assert_eq!(smallest_class(&[], 2), None);
        let err = stratified_kfold(&labels, 3, 3, &mut Rng::seed_from(0)).unwrap_err();
        assert!(err.to_string().contains("class 1 has 2 row(s)"), "{err}");
        assert!(stratified_kfold(&labels, 3, 2, &mut Rng::seed_from(0)).is_ok());
        assert!(matches!(
            stratified_kfold(&[0, 5], 2, 2, &mut Rng::seed_from(0)),
            Err(Error::InvalidData(_))
        ));
    }

    #[test]
    fn training_rows_complement() {
        assert_eq!(training_rows(6, &[1, 4]), vec![0, 2, 3, 5]);
        assert_eq!(training_rows(3, &[]), vec![0, 1, 2]);
        assert_eq!(training_rows(2, &[0, 1]), Vec::<usize>::new());
    }

    #[test]
    fn table_rows_keep_cells_and_lines() {
        let table = crate::data::csv::read_csv_from_reader(
            "t.csv",
            "a,b\n1,x\n\n2,y\n3,z\n".as_bytes(),
            None,
        )
        .unwrap();
        let sub = select_table_rows(&table, &[2, 0]);
        assert_eq!(sub.n_rows, 2);
        assert_eq!(sub.headers, table.headers);
        assert_eq!(sub.columns[0], vec!["3", "1"]);
        assert_eq!(sub.columns[1], vec!["z", "x"]);
        assert_eq!(sub.lines, vec![table.line(2), table.line(0)]);
        assert_eq!(sub.line(0), 5);
    }
}
