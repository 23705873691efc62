//! `mlp sweep`: train a grid of architectures (arch x width x depth) on the same data, split and
//! seed, and write the table of parameter count against validation metric (and test metric for
//! named data sets), the Pareto frontier, and optionally a plot. Each finished run is appended to
//! `results.csv` atomically, so an interrupted sweep resumes where it stopped.

use super::train::{self, TrainArgs};
use crate::plot::{self, SweepPoint};
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::layers::ParamKind;
use mlp::model::Task;
use mlp::train::NoHooks;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp sweep` (plus every `mlp train` flag, which each run uses).
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Architectures to compare (comma-separated): mlp, resmlp, hourglass, score, glu, kan.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "mlp,resmlp,hourglass,score,glu,kan"
    )]
    pub archs: Vec<String>,
    /// Widths to try (each run uses one: the hidden width of every layer or block).
    #[arg(long, value_delimiter = ',', default_value = "32,64,128")]
    pub widths: Vec<usize>,
    /// Depths to try (hidden layers for mlp/kan, blocks for resmlp/hourglass/glu, steps for score).
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub depths: Vec<usize>,
    /// Directory for results.csv and results.md.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Also draw parameters against the validation metric (SVG or PNG).
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub train: TrainArgs,
}

/// One finished run.
#[derive(Debug, Clone)]
struct Row {
    arch: String,
    width: usize,
    depth: usize,
    params: usize,
    epochs: usize,
    val_loss: f64,
    val_metric: f64,
    test_metric: Option<f64>,
    seconds: f64,
}

const HEADER: &str = "arch,width,depth,params,epochs,val_loss,val_metric,test_metric,seconds";

fn read_rows(path: &std::path::Path) -> Result<Vec<Row>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = || {
            anyhow::anyhow!(
                "{}, line {}: not a sweep result row; delete the file to start over",
                path.display(),
                i + 1
            )
        };
        if f.len() != 9 {
            return Err(bad());
        }
        let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
        rows.push(Row {
            arch: f[0].to_string(),
            width: f[1].parse().map_err(|_| bad())?,
            depth: f[2].parse().map_err(|_| bad())?,
            params: f[3].parse().map_err(|_| bad())?,
            epochs: f[4].parse().map_err(|_| bad())?,
            val_loss: num(f[5])?,
            val_metric: num(f[6])?,
            test_metric: if f[7].is_empty() {
                None
            } else {
                Some(num(f[7])?)
            },
            seconds: num(f[8])?,
        });
    }
    Ok(rows)
}

fn write_rows(path: &std::path::Path, rows: &[Row]) -> Result<()> {
    let mut text = format!("{HEADER}\n");
    for r in rows {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{:.3}\n",
            r.arch,
            r.width,
            r.depth,
            r.params,
            r.epochs,
            r.val_loss,
            r.val_metric,
            r.test_metric.map_or(String::new(), |t| t.to_string()),
            r.seconds
        ));
    }
    mlp::io::atomic_write(path, text.as_bytes())?;
    Ok(())
}

/// Rows not dominated by a row with fewer (or equal) parameters and a better metric.
fn frontier(rows: &[Row]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    idx.sort_by(|&a, &b| {
        rows[a]
            .params
            .cmp(&rows[b].params)
            .then(rows[b].val_metric.total_cmp(&rows[a].val_metric))
    });
    let mut best = f64::NEG_INFINITY;
    let mut out = Vec::new();
    for i in idx {
        if rows[i].val_metric > best {
            best = rows[i].val_metric;
            out.push(i);
        }
    }
    out
}

pub fn run(args: SweepArgs) -> Result<ExitCode> {
    if args.widths.is_empty() || args.depths.is_empty() || args.archs.is_empty() {
        bail!("give at least one --archs, --widths and --depths value");
    }
    if let Some(path) = &args.plot {
        plot::check_svg(path)?;
    }
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let csv = args.out_dir.join("results.csv");
    let mut rows = read_rows(&csv)?;
    let mut diverged: Vec<String> = Vec::new();
    let mut base = args.train.clone();
    // A sweep compares validation metrics, so it always holds out validation data.
    if base.val_fraction.is_none() && base.val_data.is_none() {
        base.val_fraction = Some(0.2);
    }
    base.quiet = true;
    base.json = false;
    let loaded = train::load(&base)?;
    let metric_name = if loaded.task == Task::Classification {
        "accuracy"
    } else {
        "r2"
    };
    // Every name is checked before the first run, so a typo does not surface hours later.
    for arch in &args.archs {
        let parsed: mlp::architectures::Arch = arch.parse()?;
        if parsed.is_forecast_only() {
            bail!(
                "--archs {arch}: a forecasting layer needs a forecasting layout: use mlp forecast"
            );
        }
    }
    for arch in &args.archs {
        for &width in &args.widths {
            for &depth in &args.depths {
                if rows
                    .iter()
                    .any(|r| &r.arch == arch && r.width == width && r.depth == depth)
                {
                    continue;
                }
                let mut a = base.clone();
                a.arch = arch.clone();
                match arch.as_str() {
                    "mlp" | "kan" => a.hidden = vec![width; depth],
                    "score" => {
                        a.hidden = vec![width];
                        a.steps = depth;
                    }
                    _ => {
                        a.hidden = vec![width];
                        a.depth = depth;
                    }
                }
                let mut session = train::session_for(&a, &loaded)?;
                let started = std::time::Instant::now();
                let outcome = session.run(&mut NoHooks)?;
                let model = session.model();
                let params = model
                    .network()
                    .tensors()
                    .iter()
                    .filter(|t| t.kind != ParamKind::Frozen)
                    .map(|t| t.range.len())
                    .sum();
                let best = session.state().best.as_ref().map(|b| b.1);
                let history = &session.state().history;
                let record = best.and_then(|e| history.get(e - 1)).or(history.last());
                let test_metric = match &loaded.data.test {
                    Some(t) => model.evaluate(t)?.accuracy(),
                    None => None,
                };
                let row = Row {
                    arch: arch.clone(),
                    width,
                    depth,
                    params,
                    epochs: history.len(),
                    val_loss: record.and_then(|r| r.val_loss).unwrap_or(f64::NAN),
                    val_metric: record.and_then(|r| r.val_metric).unwrap_or(f64::NAN),
                    test_metric,
                    seconds: started.elapsed().as_secs_f64(),
                };
                eprintln!(
                    "{arch:>9} width {width:>4} depth {depth}: {params:>8} params, validation {metric_name} {:.4}{} ({:.1}s){}",
                    row.val_metric,
                    row.test_metric
                        .map_or(String::new(), |t| format!(", test {t:.4}")),
                    row.seconds,
                    if outcome.diverged() {
                        format!("; {outcome}")
                    } else {
                        String::new()
                    }
                );
                if outcome.diverged() {
                    diverged.push(format!("{arch} width {width} depth {depth}"));
                }
                rows.push(row);
                write_rows(&csv, &rows)?;
            }
        }
    }
    let front = frontier(&rows);
    let mut md = format!(
        "| arch | width | depth | parameters | epochs | validation loss | validation {metric_name} | test {metric_name} | seconds | Pareto |\n|---|---|---|---|---|---|---|---|---|---|\n"
    );
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].params);
    for i in order {
        let r = &rows[i];
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.4} | {:.4} | {} | {:.1} | {} |\n",
            r.arch,
            r.width,
            r.depth,
            r.params,
            r.epochs,
            r.val_loss,
            r.val_metric,
            r.test_metric.map_or("—".to_string(), |t| format!("{t:.4}")),
            r.seconds,
            if front.contains(&i) { "yes" } else { "" }
        ));
    }
    mlp::io::atomic_write(&args.out_dir.join("results.md"), md.as_bytes())?;
    print!("{md}");
    if let Some(path) = &args.plot {
        let points: Vec<SweepPoint> = rows
            .iter()
            .map(|r| SweepPoint {
                series: r.arch.clone(),
                params: r.params,
                metric: r.val_metric,
            })
            .collect();
        let line: Vec<(usize, f64)> = front
            .iter()
            .map(|&i| (rows[i].params, rows[i].val_metric))
            .collect();
        plot::pareto(path, &points, metric_name, &line)?;
    }
    if !diverged.is_empty() && !args.train.allow_divergence {
        eprintln!(
            "error: training diverged in {} run(s) ({}); their rows hold the best weights' metrics. Lower the learning rate (--lr) or clip gradients (--clip-grad-norm), or pass --allow-divergence to accept them",
            diverged.len(),
            diverged.join(", ")
        );
        return Ok(ExitCode::from(train::DIVERGED_EXIT));
    }
    Ok(ExitCode::SUCCESS)
}
