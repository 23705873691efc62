//! `mlp analyze`: look inside a trained model.
//!
//! - Alone: per weight matrix, the heavy-tailed spectral diagnostics (HTSR alpha of the ESD's
//!   power-law tail, alpha-hat, norms, stable rank, Marchenko-Pastur spikes, SETOL's detX tail);
//!   `--plot DIR` draws each layer's ESD with its fit.
//! - `--compare B --data D`: per hidden layer, linear CKA and neuron matching of the two models
//!   on the rows of D; `--matching-out F.csv` writes the matching, `--plot DIR` the correlation
//!   matrices before and after matching.
//! - `--ipr P`: per-neuron Fourier IPR of the first layer (inputs are one-hot operands of Z_P).

use crate::input::{InferenceDataArgs, load_inference};
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::analyze::compare::{LayerComparison, compare_models};
use mlp::analyze::{LayerSpectrum, ipr, spectra};
use mlp::data::preprocess::UnknownCategory;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `mlp analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Print JSON (`{"layers": [...]}`) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Directory for plots (SVG): one ESD per layer, or with --compare the correlation
    /// matrices before and after matching.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// A second model to compare with (needs --data or --dataset: the probe rows).
    #[arg(long, value_name = "MODEL")]
    pub compare: Option<PathBuf>,
    /// Probe rows for --compare.
    #[command(flatten)]
    pub input: InferenceDataArgs,
    /// At most this many probe rows (the first ones) for --compare.
    #[arg(long, default_value_t = 2000)]
    pub rows: usize,
    /// With --compare: write the one-to-one matching as CSV (layer, neuron_a, neuron_b,
    /// correlation).
    #[arg(long, value_name = "FILE.csv")]
    pub matching_out: Option<PathBuf>,
    /// Also report the Fourier IPR of each first-layer neuron, the input being one-hot
    /// operands of Z_P (e.g. 97 for `mlp data modular --p 97`).
    #[arg(long, value_name = "P")]
    pub ipr: Option<usize>,
}

pub fn run(args: AnalyzeArgs) -> Result<ExitCode> {
    let model = crate::commands::predict::load_model(&args.model)?;
    if let Some(dir) = &args.plot {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--plot {}: creating the directory", dir.display()))?;
    }
    if let Some(other) = &args.compare {
        return compare(&args, &model, other);
    }
    if args.matching_out.is_some() {
        bail!("--matching-out needs --compare MODEL");
    }
    let layers = spectra(model.network())?;
    let ipr_report = match args.ipr {
        Some(p) => Some(ipr_summary(&model, p)?),
        None => None,
    };
    if let Some(dir) = &args.plot {
        for l in &layers {
            let path = dir.join(format!("{}.esd.svg", l.name));
            crate::plot::analyze::esd(
                &path,
                &crate::plot::analyze::EsdPlot {
                    name: &l.name,
                    eigenvalues: &l.eigenvalues,
                    fit: l
                        .alpha
                        .zip(l.xmin)
                        .zip(l.num_tail)
                        .map(|((a, x), n)| (a, x, n)),
                    mp_edge: l.mp_bulk_max,
                },
            )?;
        }
    }
    if args.json {
        let mut doc = serde_json::json!({ "layers": layers });
        if let Some((p, values)) = &ipr_report {
            doc["ipr"] = ipr_json(*p, values);
        }
        println!("{doc}");
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", spectral_table(&layers));
    if let Some((p, values)) = &ipr_report {
        let j = ipr_json(*p, values);
        println!(
            "Fourier IPR of layers.0 (period {p}, {} neurons): mean {:.4}, median {:.4}, {:.1}% above 0.25 (1/p = {:.4})",
            values.len(),
            j["mean"].as_f64().unwrap_or(f64::NAN),
            j["median"].as_f64().unwrap_or(f64::NAN),
            100.0 * j["fraction_above_0.25"].as_f64().unwrap_or(f64::NAN),
            1.0 / *p as f64
        );
    }
    if let Some(dir) = &args.plot {
        println!("plots: {}/<layer>.esd.svg", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn ipr_summary(model: &mlp::model::Model, p: usize) -> Result<(usize, Vec<f64>)> {
    let (_, values) = ipr::first_layer_ipr(model, p)?;
    Ok((p, values))
}

fn ipr_json(p: usize, values: &[f64]) -> serde_json::Value {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len().max(1) as f64;
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    serde_json::json!({
        "layer": "layers.0",
        "period": p,
        "mean": values.iter().sum::<f64>() / n,
        "median": median,
        "fraction_above_0.25": values.iter().filter(|&&v| v > 0.25).count() as f64 / n,
        "neurons": values,
    })
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"))
}

fn spectral_table(layers: &[LayerSpectrum]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<28} {:>11} {:>7} {:>9} {:>10} {:>6} {:>5} {:>11} {:>8} {:>6} {:>5}",
        "layer",
        "shape",
        "alpha",
        "alpha_hat",
        "xmin",
        "KS D",
        "tail",
        "lambda_max",
        "st.rank",
        "spikes",
        "detX"
    );
    for l in layers {
        let _ = writeln!(
            s,
            "{:<28} {:>11} {:>7} {:>9} {:>10} {:>6} {:>5} {:>11.4} {:>8.2} {:>6} {:>5}",
            l.name,
            format!("{}x{}", l.shape[0], l.shape[1]),
            fmt_opt(l.alpha, 3),
            fmt_opt(l.alpha_hat, 3),
            fmt_opt(l.xmin, 4),
            fmt_opt(l.ks_distance, 3),
            l.num_tail.map_or_else(|| "-".into(), |n| n.to_string()),
            l.spectral_norm,
            l.stable_rank,
            l.num_spikes,
            l.detx_num
        );
    }
    s.push_str(
        "alpha: power-law exponent of the eigenvalues of W^T W above xmin (2-4: well trained; >6: random-like; <2: very heavy-tailed)\n",
    );
    s
}

fn compare(args: &AnalyzeArgs, a: &mlp::model::Model, other: &Path) -> Result<ExitCode> {
    if args.ipr.is_some() {
        bail!("--ipr reads one model's weights; run it without --compare");
    }
    if args.input.data.is_none() && args.input.dataset.is_none() {
        bail!("--compare needs probe rows: give --data FILE or --dataset NAME");
    }
    if args.rows < 2 {
        bail!("--rows must be at least 2, got {}", args.rows);
    }
    if let Some(path) = &args.matching_out {
        crate::output::check_writable("--matching-out", path)?;
    }
    let b = crate::commands::predict::load_model(other)?;
    let data = load_inference(&args.input, a, false, UnknownCategory::Ignore)?;
    let rows = data.rows.min(args.rows);
    let width = a.n_features();
    let layers = compare_models(a, &b, &data.features[..rows * width], rows)?;
    if let Some(path) = &args.matching_out {
        let mut csv = String::from("layer,neuron_a,neuron_b,correlation\n");
        for l in &layers {
            for (i, j, c) in &l.matching {
                let _ = writeln!(csv, "{},{i},{j},{c}", l.name);
            }
        }
        mlp::io::atomic_write(path, csv.as_bytes())?;
    }
    if let Some(dir) = &args.plot {
        for l in &layers {
            let path = dir.join(format!("{}.correlation.svg", l.name));
            crate::plot::analyze::matching(&path, l)?;
        }
    }
    if args.json {
        println!("{}", serde_json::json!({ "rows": rows, "layers": layers }));
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", compare_table(&layers, rows));
    Ok(ExitCode::SUCCESS)
}

fn compare_table(layers: &[LayerComparison], rows: usize) -> String {
    let mut s = format!("{rows} probe rows\n");
    let _ = writeln!(
        s,
        "{:<12} {:>9} {:>7} {:>9} {:>6} {:>9}",
        "layer", "widths", "CKA", "matched", "semi", "unmatched"
    );
    for l in layers {
        let _ = writeln!(
            s,
            "{:<12} {:>9} {:>7.4} {:>9.4} {:>6.3} {:>9.4}",
            l.name,
            format!("{}/{}", l.widths[0], l.widths[1]),
            l.cka,
            l.matched_correlation,
            l.semi_matched_correlation,
            l.unmatched_correlation
        );
    }
    s.push_str("matched: mean correlation of one-to-one matched neurons (Hungarian); semi: of each neuron's best partner; unmatched: same index in both\n");
    s
}
