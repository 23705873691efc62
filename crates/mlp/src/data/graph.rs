//! Graph-propagated node features (SGC, Wu et al. 2019; SIGN, Frasca et al. 2020): an MLP on
//! `[X, A X, A^2 X, ..., A^K X]` with `A` the symmetric-normalised adjacency with self-loops,
//! `A = D^-1/2 (Adj + I) D^-1/2` (`D` the degrees counting the self-loop), learns what a
//! K-layer graph convolution sees of each node's neighbourhood, with no graph at training time.
//!
//! The adjacency is sparse (CSR); one hop costs one pass over the edges per feature column.
//! Edges are undirected (each given edge is used both ways), duplicates and self-loops in the
//! input are merged.
//!
//! [`sbm`] draws a stochastic-block-model graph whose node features are weak, noisy signals
//! of the node's block: the neighbourhood averages that propagation computes carry the block far
//! better than a node's own features, which is the graph-to-MLP gap of the literature.

use crate::rng::Rng;
use crate::{Error, Result};

/// A sparse square matrix in compressed-sparse-row form.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    /// Number of rows (= columns = nodes).
    pub n: usize,
    /// Row `i`'s entries are `indices[indptr[i]..indptr[i + 1]]`.
    pub indptr: Vec<usize>,
    /// Column of each entry, sorted within a row.
    pub indices: Vec<usize>,
    /// Value of each entry.
    pub values: Vec<f32>,
}

impl Csr {
    /// `D^-1/2 (Adj + I) D^-1/2` for `n` nodes and undirected `edges` (0-based node indices).
    /// Errors name the first edge with an endpoint out of range.
    pub fn normalized_adjacency(n: usize, edges: &[(usize, usize)]) -> Result<Csr> {
        if let Some((k, &(a, b))) = edges
            .iter()
            .enumerate()
            .find(|(_, (a, b))| *a >= n || *b >= n)
        {
            return Err(Error::InvalidData(format!(
                "edge {k} ({a}, {b}) names a node outside 0..{n}"
            )));
        }
        let mut neighbours: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        for &(a, b) in edges {
            neighbours[a].push(b);
            neighbours[b].push(a);
        }
        for row in &mut neighbours {
            row.sort_unstable();
            row.dedup();
        }
        let deg: Vec<f64> = neighbours.iter().map(|r| r.len() as f64).collect();
        let mut indptr = Vec::with_capacity(n + 1);
        let mut indices = Vec::new();
        let mut values = Vec::new();
        indptr.push(0);
        for (i, row) in neighbours.iter().enumerate() {
            for &j in row {
                indices.push(j);
                values.push((1.0 / (deg[i] * deg[j]).sqrt()) as f32);
            }
            indptr.push(indices.len());
        }
        Ok(Csr {
            n,
            indptr,
            indices,
            values,
        })
    }

    /// `A X` for a row-major `n x width` matrix (sums in f64, in a fixed order).
    pub fn mul(&self, x: &[f32], width: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; self.n * width];
        let mut acc = vec![0.0f64; width];
        for i in 0..self.n {
            acc.iter_mut().for_each(|a| *a = 0.0);
            for k in self.indptr[i]..self.indptr[i + 1] {
                let (j, v) = (self.indices[k], self.values[k] as f64);
                for (a, &xv) in acc.iter_mut().zip(&x[j * width..(j + 1) * width]) {
                    *a += v * xv as f64;
                }
            }
            for (o, a) in out[i * width..(i + 1) * width].iter_mut().zip(&acc) {
                *o = *a as f32;
            }
        }
        out
    }
}

/// `[X, A X, ..., A^hops X]` side by side: a row-major `n x width (hops + 1)` matrix.
pub fn propagate(adj: &Csr, x: &[f32], width: usize, hops: usize) -> Result<Vec<f32>> {
    if x.len() != adj.n * width {
        return Err(Error::shape(
            "graph features",
            format!("{} nodes x {width} features", adj.n),
            format!("{} values", x.len()),
        ));
    }
    let mut blocks = vec![x.to_vec()];
    for _ in 0..hops {
        let next = adj.mul(blocks.last().map_or(&[][..], Vec::as_slice), width);
        blocks.push(next);
    }
    let out_w = width * (hops + 1);
    let mut out = vec![0.0f32; adj.n * out_w];
    for (h, b) in blocks.iter().enumerate() {
        for i in 0..adj.n {
            out[i * out_w + h * width..i * out_w + (h + 1) * width]
                .copy_from_slice(&b[i * width..(i + 1) * width]);
        }
    }
    Ok(out)
}

/// A stochastic-block-model graph with noisy node features.
#[derive(Debug, Clone, PartialEq)]
pub struct Sbm {
    /// Number of nodes.
    pub n: usize,
    /// Undirected edges (0-based node indices).
    pub edges: Vec<(usize, usize)>,
    /// Row-major `n x dim` node features.
    pub features: Vec<f32>,
    /// Feature width.
    pub dim: usize,
    /// Block (class) of each node.
    pub labels: Vec<usize>,
}

/// Draws `n` nodes in `blocks` equal blocks; each pair is linked with probability `p_in`
/// (same block) or `p_out`; node features are the block's random unit-scale centre times
/// `signal` plus standard-normal noise in `dim` dimensions.
pub fn sbm(
    n: usize,
    blocks: usize,
    p_in: f64,
    p_out: f64,
    dim: usize,
    signal: f32,
    seed: u64,
) -> Result<Sbm> {
    if blocks < 2 || n < blocks || dim == 0 {
        return Err(Error::config(
            "sbm",
            "needs at least 2 blocks, as many nodes, and 1 feature",
        ));
    }
    if !((0.0..=1.0).contains(&p_in) && (0.0..=1.0).contains(&p_out)) {
        return Err(Error::config("sbm", "edge probabilities must be in [0, 1]"));
    }
    let mut rng = Rng::seed_from(seed);
    let labels: Vec<usize> = (0..n).map(|i| i % blocks).collect();
    let centres: Vec<f32> = (0..blocks * dim).map(|_| rng.normal()).collect();
    let mut features = Vec::with_capacity(n * dim);
    for &l in &labels {
        for d in 0..dim {
            features.push(signal * centres[l * dim + d] + rng.normal());
        }
    }
    let mut edges = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let p = if labels[i] == labels[j] { p_in } else { p_out };
            if rng.uniform_f64() < p {
                edges.push((i, j));
            }
        }
    }
    Ok(Sbm {
        n,
        edges,
        features,
        dim,
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_adjacency_of_a_path() {
        // 0 - 1 - 2: degrees with self-loops 2, 3, 2.
        let a = Csr::normalized_adjacency(3, &[(0, 1), (1, 2), (1, 0)]).expect("adj");
        assert_eq!(a.indptr, vec![0, 2, 5, 7]);
        assert_eq!(a.indices, vec![0, 1, 0, 1, 2, 1, 2]);
        let v = |x: f64| x as f32;
        assert_eq!(a.values[0], v(0.5));
        assert_eq!(a.values[1], v(1.0 / 6f64.sqrt()));
        assert_eq!(a.values[3], v(1.0 / 3.0));
        // A constant vector scaled by sqrt(degree) is an eigenvector with eigenvalue 1.
        let x: Vec<f32> = [2.0f64, 3.0, 2.0].iter().map(|d| d.sqrt() as f32).collect();
        let y = a.mul(&x, 1);
        for (p, q) in x.iter().zip(&y) {
            assert!((p - q).abs() < 1e-6);
        }
        assert!(Csr::normalized_adjacency(2, &[(0, 2)]).is_err());
    }

    #[test]
    fn propagate_concatenates_hops() {
        let a = Csr::normalized_adjacency(2, &[(0, 1)]).expect("adj");
        let x = [1.0f32, 0.0, 0.0, 1.0];
        let f = propagate(&a, &x, 2, 2).expect("prop");
        assert_eq!(f.len(), 2 * 6);
        assert_eq!(&f[..2], &[1.0, 0.0]);
        // Each node averages itself and its neighbour: A = [[.5, .5], [.5, .5]].
        assert_eq!(&f[2..4], &[0.5, 0.5]);
        assert_eq!(&f[4..6], &[0.5, 0.5]);
        assert!(propagate(&a, &x[..3], 2, 1).is_err());
    }

    #[test]
    fn sbm_links_blocks_more_densely_within() {
        let g = sbm(200, 2, 0.1, 0.01, 4, 0.3, 1).expect("sbm");
        let within = g
            .edges
            .iter()
            .filter(|(a, b)| g.labels[*a] == g.labels[*b])
            .count();
        assert!(
            within * 3 > g.edges.len() * 2,
            "{within} of {}",
            g.edges.len()
        );
        assert_eq!(g.features.len(), 200 * 4);
    }
}
