//! `mlp data modular`: every pair `(a, b)` of `Z_p`, labelled `(a op b) mod p`, as one-hot
//! operands (`a0..a{p-1}`, `b0..b{p-1}`), split into train and test; a fraction of the training
//! labels is replaced by a random wrong class ("To grok or not to grok", Doshi et al. 2023).
//!
//! Files: `train.csv` (with the corrupted labels and a `corrupted` 0/1 column: train with
//! `--ignore corrupted`), `test.csv` (true labels), and the training rows split by the mask,
//! `train_clean.csv` and `train_corrupted.csv` (the labels the model was given), so that
//! `mlp eval` measures memorization and generalization separately.

use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::rng::Rng;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp data modular`.
#[derive(Debug, Args)]
pub struct ModularArgs {
    /// The modulus p (classes 0..p-1), at least 2.
    #[arg(long, default_value_t = 97)]
    pub p: usize,
    /// The operation: add, sub or mul.
    #[arg(long, default_value = "add", value_parser = ["add", "sub", "mul"])]
    pub op: String,
    /// Fraction of all p^2 pairs in the training set, in (0, 1).
    #[arg(long, default_value_t = 0.5)]
    pub train_fraction: f64,
    /// Fraction of the training labels replaced by a random wrong class, in [0, 1).
    #[arg(long, default_value_t = 0.0)]
    pub corrupt: f64,
    /// Seed of the split and of the corruption.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// One labelled pair.
struct Row {
    a: usize,
    b: usize,
    label: usize,
    corrupted: bool,
}

fn header(p: usize) -> String {
    let mut h = String::new();
    for name in ["a", "b"] {
        for i in 0..p {
            let _ = write!(h, "{name}{i},");
        }
    }
    h.push_str("y,corrupted\n");
    h
}

fn csv(p: usize, rows: &[&Row]) -> String {
    let mut s = header(p);
    let mut line = vec!["0"; 2 * p];
    for r in rows {
        line[r.a] = "1";
        line[p + r.b] = "1";
        s.push_str(&line.join(","));
        let _ = writeln!(s, ",{},{}", r.label, u8::from(r.corrupted));
        line[r.a] = "0";
        line[p + r.b] = "0";
    }
    s
}

pub fn run(args: ModularArgs) -> Result<ExitCode> {
    let p = args.p;
    if !(2..=1000).contains(&p) {
        bail!("--p must be in 2..=1000, got {p}");
    }
    if !(args.train_fraction > 0.0 && args.train_fraction < 1.0) {
        bail!(
            "--train-fraction must be in (0, 1), e.g. 0.5; got {}",
            args.train_fraction
        );
    }
    if !(0.0..1.0).contains(&args.corrupt) {
        bail!(
            "--corrupt must be in [0, 1), e.g. 0.1; got {}",
            args.corrupt
        );
    }
    let label = |a: usize, b: usize| match args.op.as_str() {
        "sub" => (a + p - b) % p,
        "mul" => (a * b) % p,
        _ => (a + b) % p,
    };
    let mut rng = Rng::seed_from(args.seed);
    let mut pairs: Vec<(usize, usize)> = (0..p).flat_map(|a| (0..p).map(move |b| (a, b))).collect();
    rng.shuffle(&mut pairs);
    let n_train =
        ((args.train_fraction * pairs.len() as f64).round() as usize).clamp(1, pairs.len() - 1);
    let n_corrupt = (args.corrupt * n_train as f64).round() as usize;
    let mut rows: Vec<Row> = pairs
        .iter()
        .map(|&(a, b)| Row {
            a,
            b,
            label: label(a, b),
            corrupted: false,
        })
        .collect();
    // The first n_corrupt training rows (already in random order) get a random wrong class.
    for r in rows.iter_mut().take(n_corrupt) {
        let shift = 1 + rng.below(p - 1);
        r.label = (r.label + shift) % p;
        r.corrupted = true;
    }
    let (train, test) = rows.split_at(n_train);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating the directory {}", args.out.display()))?;
    let all: Vec<&Row> = train.iter().collect();
    let clean: Vec<&Row> = train.iter().filter(|r| !r.corrupted).collect();
    let bad: Vec<&Row> = train.iter().filter(|r| r.corrupted).collect();
    let test: Vec<&Row> = test.iter().collect();
    let mut files = vec![
        ("train.csv", &all),
        ("train_clean.csv", &clean),
        ("test.csv", &test),
    ];
    if !bad.is_empty() {
        files.push(("train_corrupted.csv", &bad));
    }
    for (name, rows) in files {
        let path = args.out.join(name);
        mlp::io::atomic_write(&path, csv(p, rows).as_bytes())?;
    }
    println!(
        "wrote {}: {} training rows ({} corrupted), {} test rows; p = {p}, (a {} b) mod p; features a0..a{}, b0..b{}, target y (train with --ignore corrupted --task classify)",
        args.out.display(),
        all.len(),
        bad.len(),
        test.len(),
        match args.op.as_str() {
            "sub" => "-",
            "mul" => "*",
            _ => "+",
        },
        p - 1,
        p - 1
    );
    Ok(ExitCode::SUCCESS)
}
