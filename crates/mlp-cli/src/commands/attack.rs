//! `mlp attack`: accuracy of a trained model under adversarial attacks or white noise, over one
//! or several perturbation sizes.
//!
//! `--eps` is measured in the network's input space (standardized units for CSV features,
//! `[0, 1]` pixels for images) unless `--eps-units raw`; see `mlp::robust::attack` for the exact
//! balls. With several `--eps` values, `--json` prints one JSON object per line, one per eps.

use crate::commands::predict::{num, quote};
use crate::input::{InferenceDataArgs, load_inference};
use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::preprocess::TargetEncoder;
use mlp::data::{Dataset, Targets};
use mlp::loss::BatchTargets;
use mlp::model::{Model, Task};
use mlp::robust::{self, AttackConfig, AttackMethod, EpsUnits, Norm, PerturbSpace};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How the perturbation is made (shared by `mlp attack` and `mlp lsa`).
#[derive(Debug, Clone, Args)]
pub struct AttackFlags {
    /// fgsm, pgd, noise (Gaussian, std eps) or uniform (uniform in the ball).
    #[arg(long, default_value = "fgsm")]
    pub method: String,
    /// Perturbation size(s), comma-separated for a sweep.
    #[arg(long, value_name = "EPS", value_delimiter = ',', required = true)]
    pub eps: Vec<f32>,
    /// Ball norm: linf or l2.
    #[arg(long, default_value = "linf")]
    pub norm: String,
    /// PGD steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// PGD step size (default 2.5 * eps / steps).
    #[arg(long, value_name = "A")]
    pub step_size: Option<f32>,
    /// PGD random restarts; each sample keeps its worst.
    #[arg(long, default_value_t = 1)]
    pub restarts: usize,
    /// Start PGD at the clean input instead of a random point of the ball.
    #[arg(long)]
    pub no_random_start: bool,
    /// Units of eps: network (the model's input space) or raw (unscaled feature units; an L-inf
    /// ball becomes a per-feature box, an L2 ball an ellipsoid in the network's space);
    /// `standardized` is another name for `network`, as in `mlp verify`.
    #[arg(long, default_value = "network", value_parser = ["network", "standardized", "raw"])]
    pub eps_units: String,
    /// Input domain LO,HI in raw units (e.g. 0,1 for pixels); perturbed inputs are clipped to it.
    #[arg(long, value_name = "LO,HI", allow_hyphen_values = true)]
    pub clip: Option<String>,
    /// Seed of random starts and noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl AttackFlags {
    /// The attack at radius `eps`.
    pub fn config(&self, eps: f32) -> Result<AttackConfig> {
        let method: AttackMethod = self.method.parse()?;
        let config = AttackConfig {
            method,
            norm: self.norm.parse::<Norm>()?,
            eps,
            steps: self.steps,
            step_size: self.step_size,
            restarts: self.restarts,
            random_start: method == AttackMethod::Pgd && !self.no_random_start,
            seed: self.seed,
        };
        config.validate().with_context(|| format!("--eps {eps}"))?;
        Ok(config)
    }

    /// The perturbation space for `model`.
    pub fn space(&self, model: &Model) -> Result<PerturbSpace> {
        let units = if self.eps_units == "raw" {
            EpsUnits::Raw
        } else {
            EpsUnits::Network
        };
        let clip = match &self.clip {
            None => None,
            Some(text) => {
                let parts: Vec<&str> = text.split(',').map(str::trim).collect();
                let parsed: Option<Vec<f32>> =
                    parts.iter().map(|p| p.parse::<f32>().ok()).collect();
                match parsed.as_deref() {
                    Some([lo, hi]) => Some((*lo, *hi)),
                    _ => bail!("--clip: expected LO,HI (two numbers, e.g. 0,1), got '{text}'"),
                }
            }
        };
        Ok(model.perturb_space(units, clip)?)
    }
}

/// Labelled data in network units, ready to attack.
pub struct AttackData {
    /// Features after the model's scaling (`rows x inputs`).
    pub x: Vec<f32>,
    /// Number of rows.
    pub rows: usize,
    /// Encoded targets.
    pub data: Dataset,
}

impl AttackData {
    /// The targets as one batch.
    pub fn targets(&self) -> BatchTargets<'_> {
        match self.data.targets() {
            Targets::Classes { labels, .. } => BatchTargets::Classes(labels),
            Targets::Values { values, .. } | Targets::MultiLabel { values, .. } => {
                BatchTargets::Values(values)
            }
        }
    }
}

/// Loads labelled input for `model` and scales it into the network's input space.
pub fn load_attack_data(input: &InferenceDataArgs, model: &Model) -> Result<AttackData> {
    if model.task() == Task::MultiLabel {
        bail!("attacks support classification and regression models; this one is multi-label");
    }
    let data = load_inference(
        input,
        model,
        true,
        mlp::data::preprocess::UnknownCategory::Ignore,
    )?;
    let Some(labelled) = data.targets else {
        bail!("the input has no targets; attacks need the true labels or values");
    };
    if data.rows == 0 {
        bail!("the input has no rows");
    }
    if let Some(i) = data.features.iter().position(|v| !v.is_finite()) {
        let n = model.n_features().max(1);
        bail!(
            "feature {} of row {} is not a finite number; clean the data first",
            i % n,
            i / n + 1
        );
    }
    let mut x = data.features;
    model.scaler().apply(&mut x);
    Ok(AttackData {
        x,
        rows: data.rows,
        data: labelled,
    })
}

/// Flags of `mlp attack`.
#[derive(Debug, Args)]
pub struct AttackArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: InferenceDataArgs,
    #[command(flatten)]
    pub attack: AttackFlags,
    /// Write the adversarial examples (raw units, with the true target) to this CSV; needs a
    /// single --eps.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Draw accuracy (or MSE) against eps to this SVG or PNG file.
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
    /// Print one JSON object per eps.
    #[arg(long)]
    pub json: bool,
}

/// Results at one eps.
#[derive(Debug, Clone, Serialize)]
pub struct AttackReport {
    /// Perturbation size.
    pub eps: f32,
    /// Method name.
    pub method: &'static str,
    /// Norm name.
    pub norm: &'static str,
    /// Samples attacked.
    pub samples: usize,
    /// Accuracy on clean inputs (classification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean_accuracy: Option<f64>,
    /// Accuracy on perturbed inputs (classification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adversarial_accuracy: Option<f64>,
    /// Fraction of clean-correct samples the attack flips (classification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack_success_rate: Option<f64>,
    /// MSE on clean inputs, in target units (regression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean_mse: Option<f64>,
    /// MSE on perturbed inputs, in target units (regression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adversarial_mse: Option<f64>,
    /// Mean perturbation norm per sample, in eps units.
    pub mean_perturbation: f64,
}

fn predicted_classes(model: &Model, out: &[f32]) -> Vec<usize> {
    let k = model.network().outputs().max(1);
    out.chunks_exact(k)
        .map(|row| {
            if k == 1 {
                usize::from(row[0] > 0.0)
            } else {
                mlp::train::argmax(row)
            }
        })
        .collect()
}

fn mse_in_target_units(model: &Model, out: &[f32], truth: &[f32]) -> f64 {
    let (mut p, mut t) = (out.to_vec(), truth.to_vec());
    model.target().decode_values(&mut p);
    model.target().decode_values(&mut t);
    let n = p.len().max(1) as f64;
    p.iter()
        .zip(&t)
        .map(|(a, b)| ((*a as f64) - (*b as f64)).powi(2))
        .sum::<f64>()
        / n
}

/// Attacks the data at one eps and measures the result; returns the report and the examples.
pub fn evaluate_attack(
    model: &Model,
    data: &AttackData,
    space: &PerturbSpace,
    config: &AttackConfig,
) -> Result<(AttackReport, Vec<f32>)> {
    let net = model.network();
    let adv = robust::attack::attack(
        net,
        &data.x,
        data.rows,
        data.targets(),
        &model.loss(),
        space,
        config,
    )?;
    let n = net.inputs().max(1);
    let mean_perturbation = data
        .x
        .chunks_exact(n)
        .zip(adv.chunks_exact(n))
        .map(|(c, a)| space.perturbation(c, a, config.norm) as f64)
        .sum::<f64>()
        / data.rows as f64;
    let (clean_out, adv_out) = (
        net.predict(&data.x, data.rows),
        net.predict(&adv, data.rows),
    );
    let mut report = AttackReport {
        eps: config.eps,
        method: config.method.name(),
        norm: config.norm.name(),
        samples: data.rows,
        clean_accuracy: None,
        adversarial_accuracy: None,
        attack_success_rate: None,
        clean_mse: None,
        adversarial_mse: None,
        mean_perturbation,
    };
    match data.data.targets() {
        Targets::Classes { labels, .. } => {
            let (pc, pa) = (
                predicted_classes(model, &clean_out),
                predicted_classes(model, &adv_out),
            );
            let rows = labels.len() as f64;
            let clean_ok: Vec<bool> = pc.iter().zip(labels).map(|(p, y)| p == y).collect();
            let adv_ok: Vec<bool> = pa.iter().zip(labels).map(|(p, y)| p == y).collect();
            let n_clean = clean_ok.iter().filter(|&&c| c).count();
            let flipped = clean_ok
                .iter()
                .zip(&adv_ok)
                .filter(|(c, a)| **c && !**a)
                .count();
            report.clean_accuracy = Some(n_clean as f64 / rows);
            report.adversarial_accuracy = Some(adv_ok.iter().filter(|&&a| a).count() as f64 / rows);
            report.attack_success_rate = Some(if n_clean == 0 {
                0.0
            } else {
                flipped as f64 / n_clean as f64
            });
        }
        Targets::Values { values, .. } => {
            report.clean_mse = Some(mse_in_target_units(model, &clean_out, values));
            report.adversarial_mse = Some(mse_in_target_units(model, &adv_out, values));
        }
        Targets::MultiLabel { .. } => bail!("attacks do not support multi-label models"),
    }
    Ok((report, adv))
}

fn write_examples(model: &Model, data: &AttackData, adv: &[f32], path: &Path) -> Result<()> {
    use std::fmt::Write as _;
    let mut raw = adv.to_vec();
    model.to_raw_units(&mut raw);
    let mut header: Vec<String> = model
        .input()
        .feature_names()
        .iter()
        .map(|s| quote(s))
        .collect();
    let mut out = String::new();
    let n = model.n_features().max(1);
    match (data.data.targets(), model.target()) {
        (
            Targets::Classes { labels, .. },
            TargetEncoder::Classes {
                name,
                labels: names,
            },
        ) => {
            header.push(quote(name));
            let _ = writeln!(out, "{}", header.join(","));
            for (row, &y) in raw.chunks_exact(n).zip(labels) {
                let cells: Vec<String> = row.iter().map(|v| num(*v)).collect();
                let label = names.get(y).map_or_else(|| y.to_string(), |s| quote(s));
                let _ = writeln!(out, "{},{label}", cells.join(","));
            }
        }
        (Targets::Values { values, n_outputs }, TargetEncoder::Standardized { names, .. }) => {
            header.extend(names.iter().map(|s| quote(s)));
            let _ = writeln!(out, "{}", header.join(","));
            let mut t = values.clone();
            model.target().decode_values(&mut t);
            for (row, y) in raw.chunks_exact(n).zip(t.chunks_exact((*n_outputs).max(1))) {
                let cells: Vec<String> = row.iter().chain(y).map(|v| num(*v)).collect();
                let _ = writeln!(out, "{}", cells.join(","));
            }
        }
        _ => bail!("the model's task and target encoding disagree"),
    }
    mlp::io::atomic_write(path, out.as_bytes())
        .with_context(|| format!("writing adversarial examples to {}", path.display()))?;
    Ok(())
}

pub fn run(args: AttackArgs) -> Result<ExitCode> {
    if let Some(p) = &args.plot {
        crate::plot::check_svg(p)?;
    }
    if args.out.is_some() && args.attack.eps.len() != 1 {
        bail!("--out writes the examples of one attack; give a single --eps");
    }
    let model = Model::load(&args.model)?;
    let configs: Vec<AttackConfig> = args
        .attack
        .eps
        .iter()
        .map(|&e| args.attack.config(e))
        .collect::<Result<_>>()?;
    let space = args.attack.space(&model)?;
    let data = load_attack_data(&args.input, &model)?;
    let mut reports = Vec::new();
    if !args.json {
        match model.task() {
            Task::Regression => println!(
                "{:>10} {:>14} {:>14} {:>12}",
                "eps", "clean mse", "adv mse", "mean |d|"
            ),
            _ => println!(
                "{:>10} {:>10} {:>10} {:>10} {:>12}",
                "eps", "clean acc", "adv acc", "success", "mean |d|"
            ),
        }
    }
    for config in &configs {
        let (report, adv) = evaluate_attack(&model, &data, &space, config)?;
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else if let (Some(c), Some(a), Some(s)) = (
            report.clean_accuracy,
            report.adversarial_accuracy,
            report.attack_success_rate,
        ) {
            println!(
                "{:>10} {c:>10.4} {a:>10.4} {s:>10.4} {:>12.5}",
                report.eps, report.mean_perturbation
            );
        } else if let (Some(c), Some(a)) = (report.clean_mse, report.adversarial_mse) {
            println!(
                "{:>10} {c:>14.6} {a:>14.6} {:>12.5}",
                report.eps, report.mean_perturbation
            );
        }
        if let Some(path) = &args.out {
            write_examples(&model, &data, &adv, path)?;
        }
        reports.push(report);
    }
    if let Some(path) = &args.plot {
        let points: Vec<(f64, f64, f64)> = reports
            .iter()
            .map(|r| {
                (
                    r.eps as f64,
                    r.clean_accuracy.or(r.clean_mse).unwrap_or(f64::NAN),
                    r.adversarial_accuracy
                        .or(r.adversarial_mse)
                        .unwrap_or(f64::NAN),
                )
            })
            .collect();
        let what = if model.task() == Task::Regression {
            "mse"
        } else {
            "accuracy"
        };
        crate::plot::robustness_curve(
            path,
            &points,
            what,
            &format!("{} ({})", configs[0].method.name(), configs[0].norm.name()),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
