//! `mlp graph-features`: SGC/SIGN-style propagated node features `[X, AX, ..., A^K X]` for an
//! ordinary `mlp train` (see `mlp::data::graph`).

use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::csv::read_csv;
use mlp::data::graph::{Csr, propagate};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp graph-features`.
#[derive(Debug, Args)]
pub struct GraphFeaturesArgs {
    /// Edges: a CSV whose first two columns are the endpoints (node ids when --id-column is
    /// given, else 0-based row numbers of the features file). Undirected.
    #[arg(long, value_name = "E.csv")]
    pub edges: PathBuf,
    /// Node features: a CSV, one row per node; every column except --id-column and --keep is
    /// a numeric feature.
    #[arg(long, value_name = "X.csv")]
    pub features: PathBuf,
    /// Hops K: the output holds X, AX, ..., A^K X.
    #[arg(long, value_name = "K", default_value_t = 2)]
    pub hops: usize,
    /// The features file's node-id column (edges then name nodes by id).
    #[arg(long, value_name = "COL")]
    pub id_column: Option<String>,
    /// Columns copied through unchanged (e.g. the label), comma-separated.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub keep: Vec<String>,
    /// Output CSV.
    #[arg(long, value_name = "F.csv")]
    pub out: PathBuf,
}

pub fn run(args: GraphFeaturesArgs) -> Result<ExitCode> {
    if args.hops > 16 {
        bail!(
            "--hops {} is more than 16; deep propagation only smooths features away",
            args.hops
        );
    }
    let x = read_csv(&args.features, None)?;
    let id_col = args
        .id_column
        .as_deref()
        .map(|c| x.column_index(c))
        .transpose()?;
    let keep: Vec<usize> = args
        .keep
        .iter()
        .map(|c| x.column_index(c))
        .collect::<mlp::Result<_>>()?;
    let feat_cols: Vec<usize> = (0..x.n_columns())
        .filter(|c| Some(*c) != id_col && !keep.contains(c))
        .collect();
    if feat_cols.is_empty() {
        bail!("{}: no feature columns left", args.features.display());
    }
    let n = x.n_rows();
    let width = feat_cols.len();
    let mut values = Vec::with_capacity(n * width);
    for r in 0..n {
        for &c in &feat_cols {
            let cell = x.columns()[c][r].trim();
            let v: f32 = cell
                .parse()
                .ok()
                .filter(|v: &f32| v.is_finite())
                .ok_or_else(|| x.cell_error(r, c, format!("'{cell}' is not a finite number")))?;
            values.push(v);
        }
    }
    let ids: Option<HashMap<&str, usize>> = id_col.map(|c| {
        x.columns()[c]
            .iter()
            .enumerate()
            .map(|(i, s)| (s.trim(), i))
            .collect()
    });
    if let (Some(map), Some(c)) = (&ids, id_col)
        && map.len() != n
    {
        bail!(
            "{}: column '{}' has duplicate ids",
            args.features.display(),
            x.headers()[c]
        );
    }
    let e = read_csv(&args.edges, None)?;
    if e.n_columns() < 2 {
        bail!(
            "{}: an edge file needs two columns (source, target)",
            args.edges.display()
        );
    }
    let mut edges = Vec::with_capacity(e.n_rows());
    for r in 0..e.n_rows() {
        let mut ends = [0usize; 2];
        for (k, end) in ends.iter_mut().enumerate() {
            let cell = e.columns()[k][r].trim();
            *end = match &ids {
                Some(map) => *map.get(cell).ok_or_else(|| {
                    e.cell_error(
                        r,
                        k,
                        format!("node id '{cell}' is not in the features file"),
                    )
                })?,
                None => cell
                    .parse::<usize>()
                    .ok()
                    .filter(|&i| i < n)
                    .ok_or_else(|| {
                        e.cell_error(r, k, format!("'{cell}' is not a row number below {n}"))
                    })?,
            };
        }
        edges.push((ends[0], ends[1]));
    }
    let adj = Csr::normalized_adjacency(n, &edges)?;
    let out = propagate(&adj, &values, width, args.hops)?;
    let mut text = String::new();
    let mut header: Vec<String> = Vec::new();
    header.extend(id_col.map(|c| x.headers()[c].clone()));
    header.extend(keep.iter().map(|&c| x.headers()[c].clone()));
    for h in 0..=args.hops {
        for &c in &feat_cols {
            let name = &x.headers()[c];
            header.push(if h == 0 {
                name.clone()
            } else {
                format!("hop{h}_{name}")
            });
        }
    }
    text.push_str(&header.join(","));
    text.push('\n');
    let out_w = width * (args.hops + 1);
    for r in 0..n {
        let mut row: Vec<String> = Vec::with_capacity(out_w + 1 + keep.len());
        row.extend(id_col.map(|c| x.columns()[c][r].clone()));
        row.extend(keep.iter().map(|&c| x.columns()[c][r].clone()));
        row.extend(
            out[r * out_w..(r + 1) * out_w]
                .iter()
                .map(|v| v.to_string()),
        );
        text.push_str(&row.join(","));
        text.push('\n');
    }
    mlp::io::atomic_write(&args.out, text.as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "graph features: {n} nodes, {} edges, {width} features x {} blocks (X, AX, ..., A^{} X) -> {}",
        edges.len(),
        args.hops + 1,
        args.hops,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
