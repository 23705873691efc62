//! Comparing the hidden representations of two networks on the same inputs (convergent
//! learning): linear CKA, the neuron correlation matrix, one-to-one matching (Hungarian
//! assignment maximizing the summed correlation) and semi-matching (each neuron's best partner).

use crate::layers::Layer;
use crate::model::Model;
use crate::{Error, Result};

/// Activations of one layer: `rows x width`, row-major, `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Activations {
    /// Layer name, e.g. `layers.0`.
    pub name: String,
    /// Rows (samples).
    pub rows: usize,
    /// Neurons.
    pub width: usize,
    /// The values, row-major.
    pub data: Vec<f64>,
}

/// The hidden layers of a model: every top-level layer but the last, without dropout (the
/// identity at inference), in order.
pub fn hidden_layers(model: &Model) -> Vec<usize> {
    let layers = model.network().layers();
    (0..layers.len().saturating_sub(1))
        .filter(|&i| !matches!(layers[i], Layer::Dropout(_)))
        .collect()
}

/// The inference-mode outputs of every hidden layer ([`hidden_layers`]) for encoded, unscaled
/// `features` (`rows x n_features`; the model scales them).
///
/// # Errors
/// Features of the wrong width or with a non-finite value.
pub fn hidden_activations(
    model: &Model,
    features: &[f32],
    rows: usize,
) -> Result<Vec<Activations>> {
    // Checks width and finiteness the way predictions do.
    model.forward(features, rows)?;
    let mut x = features.to_vec();
    model.scaler().apply(&mut x);
    let net = model.network();
    Ok(hidden_layers(model)
        .into_iter()
        .map(|i| {
            let out = net.layer_inputs(i + 1, &x, rows);
            Activations {
                name: format!("layers.{i}"),
                rows,
                width: net.layers()[i].out_features(),
                data: out.iter().map(|&v| f64::from(v)).collect(),
            }
        })
        .collect())
}

/// Columns centered to mean zero.
fn centered(a: &Activations) -> Vec<f64> {
    let (n, w) = (a.rows, a.width);
    let mut means = vec![0.0; w];
    for r in 0..n {
        for (m, v) in means.iter_mut().zip(&a.data[r * w..(r + 1) * w]) {
            *m += v;
        }
    }
    for m in &mut means {
        *m /= n.max(1) as f64;
    }
    let mut out = a.data.clone();
    for r in 0..n {
        for (v, m) in out[r * w..(r + 1) * w].iter_mut().zip(&means) {
            *v -= m;
        }
    }
    out
}

/// `A^T B` of row-major `n x p` and `n x q` matrices: `p x q`.
fn cross(a: &[f64], p: usize, b: &[f64], q: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; p * q];
    for r in 0..n {
        let (ar, br) = (&a[r * p..(r + 1) * p], &b[r * q..(r + 1) * q]);
        for (i, &x) in ar.iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            for (o, &y) in out[i * q..(i + 1) * q].iter_mut().zip(br) {
                *o += x * y;
            }
        }
    }
    out
}

fn check_pair(a: &Activations, b: &Activations) -> Result<()> {
    if a.rows != b.rows || a.data.len() != a.rows * a.width || b.data.len() != b.rows * b.width {
        return Err(Error::shape(
            "comparing activations",
            format!("{} rows in both", a.rows),
            format!("{} and {} rows", a.rows, b.rows),
        ));
    }
    if a.rows < 2 {
        return Err(Error::InvalidData(
            "comparing activations needs at least 2 rows".into(),
        ));
    }
    Ok(())
}

/// Linear CKA (Kornblith et al. 2019): `||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)` on
/// column-centered activations; in `[0, 1]`, 1 for representations equal up to an orthogonal
/// transform and isotropic scaling. 0 when either side is constant.
///
/// # Errors
/// Different row counts, or fewer than 2 rows.
pub fn linear_cka(a: &Activations, b: &Activations) -> Result<f64> {
    check_pair(a, b)?;
    let (x, y) = (centered(a), centered(b));
    let (p, q, n) = (a.width, b.width, a.rows);
    let sq = |m: &[f64]| m.iter().map(|v| v * v).sum::<f64>();
    let xy = sq(&cross(&x, p, &y, q, n));
    let xx = sq(&cross(&x, p, &x, p, n)).sqrt();
    let yy = sq(&cross(&y, q, &y, q, n)).sqrt();
    Ok(if xx > 0.0 && yy > 0.0 {
        xy / (xx * yy)
    } else {
        0.0
    })
}

/// Pearson correlations between every neuron of `a` and every neuron of `b`: `a.width x
/// b.width`, row-major. A constant (dead) neuron correlates 0 with everything.
///
/// # Errors
/// Different row counts, or fewer than 2 rows.
pub fn correlation_matrix(a: &Activations, b: &Activations) -> Result<Vec<f64>> {
    check_pair(a, b)?;
    let (x, y) = (centered(a), centered(b));
    let (p, q, n) = (a.width, b.width, a.rows);
    let mut c = cross(&x, p, &y, q, n);
    let norms = |m: &[f64], w: usize| -> Vec<f64> {
        let mut s = vec![0.0; w];
        for r in 0..n {
            for (acc, v) in s.iter_mut().zip(&m[r * w..(r + 1) * w]) {
                *acc += v * v;
            }
        }
        s.into_iter().map(f64::sqrt).collect()
    };
    let (sx, sy) = (norms(&x, p), norms(&y, q));
    for i in 0..p {
        for j in 0..q {
            let d = sx[i] * sy[j];
            c[i * q + j] = if d > 0.0 { c[i * q + j] / d } else { 0.0 };
        }
    }
    Ok(c)
}

/// The assignment of rows to distinct columns that maximizes the summed `weights` (`n x m`,
/// row-major): `result[i]` is row `i`'s column. With `n <= m` every row is assigned; with
/// `n > m` only `m` rows are, the rest get `None`. The Hungarian algorithm with potentials,
/// `O(n^2 m)`.
pub fn max_assignment(weights: &[f64], n: usize, m: usize) -> Vec<Option<usize>> {
    if n == 0 || m == 0 {
        return vec![None; n];
    }
    if n > m {
        // Assign the columns to rows on the transpose.
        let t: Vec<f64> = (0..m * n).map(|k| weights[(k % n) * m + k / n]).collect();
        let by_col = max_assignment(&t, m, n);
        let mut out = vec![None; n];
        for (j, row) in by_col.into_iter().enumerate() {
            if let Some(i) = row {
                out[i] = Some(j);
            }
        }
        return out;
    }
    // Minimize cost = -weight (1-based arrays as in the classical formulation; column 0 is
    // the virtual start).
    let cost = |i: usize, j: usize| -weights[(i - 1) * m + (j - 1)];
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut row_of = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        row_of[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = row_of[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost(i0, j) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[row_of[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if row_of[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![None; n];
    for j in 1..=m {
        if row_of[j] > 0 {
            out[row_of[j] - 1] = Some(j - 1);
        }
    }
    out
}

/// How one hidden layer of two networks compares.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerComparison {
    /// Layer name (of the first network; the second's is the same position).
    pub name: String,
    /// Widths of the layer in the two networks.
    pub widths: [usize; 2],
    /// Linear CKA of the two layers' outputs.
    pub cka: f64,
    /// Mean correlation of the one-to-one matched neuron pairs.
    pub matched_correlation: f64,
    /// Mean over the first network's neurons of the best correlation with any neuron of the
    /// second (semi-matching).
    pub semi_matched_correlation: f64,
    /// Mean of the correlation matrix's diagonal before matching (same index in both), over
    /// the shared width: the baseline that matching improves on.
    pub unmatched_correlation: f64,
    /// The matching: `(neuron in the first, neuron in the second, correlation)`.
    #[serde(skip)]
    pub matching: Vec<(usize, usize, f64)>,
    /// The correlation matrix (`widths[0] x widths[1]`, row-major), for plots.
    #[serde(skip)]
    pub correlation: Vec<f64>,
}

/// Compares one pair of layers.
///
/// # Errors
/// Different row counts, or fewer than 2 rows.
pub fn compare_layers(a: &Activations, b: &Activations) -> Result<LayerComparison> {
    let cka = linear_cka(a, b)?;
    let c = correlation_matrix(a, b)?;
    let (p, q) = (a.width, b.width);
    let assign = max_assignment(&c, p, q);
    let matching: Vec<(usize, usize, f64)> = assign
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.map(|j| (i, j, c[i * q + j])))
        .collect();
    let mean = |v: &mut dyn Iterator<Item = f64>| {
        let (mut s, mut k) = (0.0, 0usize);
        for x in v {
            s += x;
            k += 1;
        }
        if k == 0 { 0.0 } else { s / k as f64 }
    };
    let matched_correlation = mean(&mut matching.iter().map(|m| m.2));
    let semi = mean(&mut (0..p).map(|i| {
        c[i * q..(i + 1) * q]
            .iter()
            .copied()
            .fold(f64::MIN, f64::max)
    }));
    let unmatched = mean(&mut (0..p.min(q)).map(|i| c[i * q + i]));
    Ok(LayerComparison {
        name: a.name.clone(),
        widths: [p, q],
        cka,
        matched_correlation,
        semi_matched_correlation: semi,
        unmatched_correlation: unmatched,
        matching,
        correlation: c,
    })
}

/// Compares every hidden layer of two models on the same encoded, unscaled `features`.
///
/// # Errors
/// Models with different numbers of hidden layers or inputs, or features that do not fit.
pub fn compare_models(
    a: &Model,
    b: &Model,
    features: &[f32],
    rows: usize,
) -> Result<Vec<LayerComparison>> {
    if a.n_features() != b.n_features() {
        return Err(Error::shape(
            "compare",
            format!("{} inputs (as the first model)", a.n_features()),
            format!("{} inputs", b.n_features()),
        ));
    }
    let (ha, hb) = (
        hidden_activations(a, features, rows)?,
        hidden_activations(b, features, rows)?,
    );
    if ha.len() != hb.len() {
        return Err(Error::shape(
            "compare",
            format!("{} hidden layers (as the first model)", ha.len()),
            format!("{} hidden layers", hb.len()),
        ));
    }
    if ha.is_empty() {
        return Err(Error::InvalidData(
            "the models have no hidden layers to compare".into(),
        ));
    }
    ha.iter()
        .zip(&hb)
        .map(|(x, y)| compare_layers(x, y))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random(rows: usize, width: usize, seed: u64) -> Activations {
        let mut rng = Rng::seed_from(seed);
        Activations {
            name: "x".into(),
            rows,
            width,
            data: (0..rows * width).map(|_| f64::from(rng.normal())).collect(),
        }
    }

    fn matmul(a: &Activations, m: &nalgebra::DMatrix<f64>) -> Activations {
        let x = nalgebra::DMatrix::from_row_slice(a.rows, a.width, &a.data);
        let y = x * m;
        let mut data = Vec::with_capacity(y.nrows() * y.ncols());
        for r in 0..y.nrows() {
            for c in 0..y.ncols() {
                data.push(y[(r, c)]);
            }
        }
        Activations {
            name: a.name.clone(),
            rows: a.rows,
            width: y.ncols(),
            data,
        }
    }

    #[test]
    fn cka_of_a_representation_with_itself_is_one() {
        let x = random(50, 7, 1);
        assert!((linear_cka(&x, &x).expect("cka") - 1.0).abs() < 1e-12);
    }

    #[test]
    fn cka_is_invariant_to_orthogonal_maps_and_isotropic_scaling() {
        let x = random(60, 6, 2);
        let y = random(60, 5, 3);
        let base = linear_cka(&x, &y).expect("cka");
        let mut rng = Rng::seed_from(4);
        let g = nalgebra::DMatrix::from_fn(6, 6, |_, _| f64::from(rng.normal()));
        let q = g.qr().q() * 3.5;
        let xq = matmul(&x, &q);
        assert!((linear_cka(&xq, &y).expect("cka") - base).abs() < 1e-10);
        assert!((linear_cka(&xq, &x).expect("cka") - 1.0).abs() < 1e-10);
        // A non-isotropic scaling does change it.
        let d = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(&[
            1.0, 5.0, 0.2, 1.0, 3.0, 1.0,
        ]));
        assert!((linear_cka(&matmul(&x, &d), &x).expect("cka") - 1.0).abs() > 1e-3);
    }

    #[test]
    fn cka_matches_values_computed_independently() {
        // X = [[1,2],[3,5],[0,1],[4,2]], Y = [[1],[0],[2],[5]], computed by hand (numpy:
        // centered X, Y; ||Y^T X||^2 / (||X^T X|| ||Y^T Y||)).
        let x = Activations {
            name: "x".into(),
            rows: 4,
            width: 2,
            data: vec![1.0, 2.0, 3.0, 5.0, 0.0, 1.0, 4.0, 2.0],
        };
        let y = Activations {
            name: "y".into(),
            rows: 4,
            width: 1,
            data: vec![1.0, 0.0, 2.0, 5.0],
        };
        // Centered: X mean (2, 2.5); Y mean 2. Xc = [[-1,-0.5],[1,2.5],[-2,-1.5],[2,-0.5]],
        // Yc = [-1,-2,0,3]. Y^T X = [(1-2+0+6), (0.5-5+0-1.5)] = [5, -6] -> 61.
        // X^T X = [[10, 5],[5, 9]] -> sqrt(100+25+25+81) = sqrt(231). Y^T Y = 14.
        let want = 61.0 / (231f64.sqrt() * 14.0);
        assert!((linear_cka(&x, &y).expect("cka") - want).abs() < 1e-12);
    }

    fn brute_force(w: &[f64], n: usize, m: usize) -> f64 {
        // Best sum over injective maps rows -> columns (n <= m).
        fn go(w: &[f64], n: usize, m: usize, i: usize, used: &mut Vec<bool>) -> f64 {
            if i == n {
                return 0.0;
            }
            let mut best = f64::NEG_INFINITY;
            for j in 0..m {
                if !used[j] {
                    used[j] = true;
                    best = best.max(w[i * m + j] + go(w, n, m, i + 1, used));
                    used[j] = false;
                }
            }
            best
        }
        go(w, n, m, 0, &mut vec![false; m])
    }

    #[test]
    fn hungarian_matches_brute_force() {
        let mut rng = Rng::seed_from(6);
        for trial in 0..60 {
            let n = 1 + trial % 6;
            let m = n + (trial / 6) % 3;
            let w: Vec<f64> = (0..n * m).map(|_| f64::from(rng.normal())).collect();
            let a = max_assignment(&w, n, m);
            let mut cols: Vec<usize> = a.iter().map(|j| j.expect("assigned")).collect();
            let total: f64 = cols.iter().enumerate().map(|(i, &j)| w[i * m + j]).sum();
            assert!((total - brute_force(&w, n, m)).abs() < 1e-9, "{n}x{m}");
            cols.sort_unstable();
            cols.dedup();
            assert_eq!(cols.len(), n, "distinct columns");
            // The transpose (more rows than columns) reaches the same total.
            let t: Vec<f64> = (0..m * n).map(|k| w[(k % n) * m + k / n]).collect();
            let at = max_assignment(&t, m, n);
            let tt: f64 = at
                .iter()
                .enumerate()
                .filter_map(|(i, j)| j.map(|j| t[i * n + j]))
                .sum();
            assert!((tt - total).abs() < 1e-9);
            assert_eq!(at.iter().filter(|j| j.is_some()).count(), n);
        }
    }

    #[test]
    fn matching_recovers_a_permutation_of_neurons() {
        // TECHNIQUES #35: a copy with permuted units is matched exactly, correlations 1.
        let x = random(80, 9, 7);
        let perm = Rng::seed_from(8).permutation(9);
        let mut y = x.clone();
        for r in 0..80 {
            for (j, &pj) in perm.iter().enumerate() {
                y.data[r * 9 + j] = x.data[r * 9 + pj];
            }
        }
        let cmp = compare_layers(&x, &y).expect("compare");
        for &(i, j, c) in &cmp.matching {
            assert_eq!(perm[j], i);
            assert!((c - 1.0).abs() < 1e-12);
        }
        assert!((cmp.matched_correlation - 1.0).abs() < 1e-12);
        assert!((cmp.cka - 1.0).abs() < 1e-12);
        assert!(cmp.unmatched_correlation < 0.9);
    }
}
