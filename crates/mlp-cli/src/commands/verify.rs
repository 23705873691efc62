//! `mlp verify`: prove, per sample, that a classifier's prediction holds over an L-infinity box
//! (or find a counterexample), and bound a model's outputs over a box of raw inputs.
//!
//! Epsilon is measured in the network's input space, after the model's stored preprocessing:
//! standardized units for numeric features (the default), or the file's raw units with
//! `--eps-units raw` (converted per feature with the model's scalings). One-hot categorical
//! inputs are never perturbed (a category is not a continuous quantity).

use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::csv::{RawTable, read_csv};
use mlp::data::preprocess::{FeatureColumn, TargetEncoder};
use mlp::data::{Targets, npy};
use mlp::model::{InputSchema, Model, Task};
use mlp::verify::bisect::{BisectConfig, Verdict, verify};
use mlp::verify::{Bounds, LinearSpec, Method, output_bounds};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Flags of `mlp verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "With --vnnlib: prints one line, `holds`, `violated` (then a counterexample \
input and output, checked by f32 inference) or `unknown`; exit status 0 holds, 10 violated, 20 \
unknown, 1 error."
)]
pub struct VerifyArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL", required_unless_present = "onnx")]
    pub model: Option<PathBuf>,
    /// An ONNX network to verify against --vnnlib (instead of --model).
    #[arg(
        long,
        value_name = "NET.onnx",
        conflicts_with = "model",
        requires = "vnnlib"
    )]
    pub onnx: Option<PathBuf>,
    /// A VNN-LIB property (input box, unsafe output set): decides it completely (falsifier, then
    /// branch and bound with alpha-CROWN) and answers holds / violated / unknown. X_i are the
    /// model's input features in the data's units, Y_i its outputs (logits, or regression
    /// targets in target units). Exit status: 0 holds, 10 violated, 20 unknown.
    #[arg(long, value_name = "PROP.vnnlib", conflicts_with_all = ["center", "lower", "upper"])]
    pub vnnlib: Option<PathBuf>,
    /// With --vnnlib: give up with `unknown` after this many seconds (default: no limit).
    #[arg(
        long,
        value_name = "S",
        requires = "vnnlib",
        allow_negative_numbers = true
    )]
    pub timeout: Option<f64>,
    /// Samples to certify: a CSV with the model's input columns (a column with the model's
    /// target name supplies the true labels; otherwise the predicted class is checked), or .npy
    /// for matrix models.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["lower", "upper"])]
    pub center: Option<PathBuf>,
    /// Radius of the L-infinity box around each sample.
    #[arg(long, value_name = "E", allow_negative_numbers = true)]
    pub eps: Option<f64>,
    /// Units of --eps: network (the network's input space: standardized units for numeric CSV
    /// features; `standardized` is another name for it) or raw (the file's units), as in
    /// `mlp attack`.
    #[arg(long, default_value = "network", value_parser = ["network", "standardized", "raw"])]
    pub eps_units: String,
    /// Lower corners of input boxes (raw units, the model's input columns), one box per row.
    #[arg(long, value_name = "FILE", requires = "upper")]
    pub lower: Option<PathBuf>,
    /// Upper corners of input boxes, row by row with --lower.
    #[arg(long, value_name = "FILE", requires = "lower")]
    pub upper: Option<PathBuf>,
    /// Bound propagation: ibp (any layer with a sound rule) or crown (dense stacks; tighter).
    #[arg(long, default_value = "ibp", value_parser = ["ibp", "crown"])]
    pub method: String,
    /// Input-box splits allowed per sample before answering unknown.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub split_budget: usize,
    /// Seed of the random counterexample search.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// CSV delimiter (default: detected).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<char>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the per-sample report as CSV.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// One sample's (or box's) result.
#[derive(Debug, Serialize)]
struct SampleReport {
    row: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    predicted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    margin_lower: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    splits: Option<usize>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counterexample: Option<Vec<f64>>,
}

#[derive(Debug, Serialize)]
struct Report {
    method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    eps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    eps_units: Option<String>,
    outputs: Vec<String>,
    samples: Vec<SampleReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certified: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counterexamples: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unknown: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clean_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certified_accuracy: Option<f64>,
    labels_from_file: bool,
}

/// How the model turns a raw feature vector into network input, per encoded feature:
/// `net = (raw - offset) / scale`, and whether the feature is a one-hot indicator.
struct InputMap {
    /// Encoded = (raw - pre_mean) / pre_scale (the CSV preprocessor's own standardization).
    pre_mean: Vec<f64>,
    pre_scale: Vec<f64>,
    offset: Vec<f64>,
    scale: Vec<f64>,
    one_hot: Vec<bool>,
}

fn input_map(model: &Model) -> InputMap {
    let n = model.n_features();
    let (mut pre_mean, mut pre_scale, mut one_hot) = (vec![0.0; n], vec![1.0; n], vec![false; n]);
    match model.input() {
        InputSchema::Tabular { preprocessor } => {
            let mut j = 0;
            for c in &preprocessor.columns {
                match c {
                    FeatureColumn::Numeric { mean, scale, .. } => {
                        pre_mean[j] = *mean;
                        pre_scale[j] = *scale;
                    }
                    FeatureColumn::Categorical { .. } => {
                        one_hot[j..j + c.width()].iter_mut().for_each(|o| *o = true);
                    }
                }
                j += c.width();
            }
        }
        // Matrix models read encoded features as they are (as `mlp predict` reads .npy), so the
        // file's units are the encoded ones.
        InputSchema::Matrix { .. } => {}
    }
    let offset = (0..n)
        .map(|j| pre_mean[j] + pre_scale[j] * model.scaler().mean[j] as f64)
        .collect();
    let scale = (0..n)
        .map(|j| pre_scale[j] * model.scaler().scale[j] as f64)
        .collect();
    InputMap {
        pre_mean,
        pre_scale,
        offset,
        scale,
        one_hot,
    }
}

/// Encoded (unscaled) features of a file, rows, and class labels when the file has them.
struct Loaded {
    features: Vec<f32>,
    rows: usize,
    labels: Option<Vec<usize>>,
}

fn delimiter(c: Option<char>) -> Result<Option<u8>> {
    match c {
        None => Ok(None),
        Some(c) if c.is_ascii() => Ok(Some(c as u8)),
        Some(c) => bail!("--delimiter must be a single ASCII character, got '{c}'"),
    }
}

fn load(model: &Model, path: &Path, delim: Option<u8>) -> Result<Loaded> {
    let is_npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        let x = npy::read_npy(path)?;
        let (rows, width) = match x.shape.as_slice() {
            [r, c] => (*r, *c),
            [r] => (*r, 1),
            other => bail!(
                "{}: expected a 2-D array, got shape {other:?}",
                path.display()
            ),
        };
        check_width(model, width, path)?;
        return Ok(Loaded {
            features: x.data,
            rows,
            labels: None,
        });
    }
    let table = read_csv(path, delim)?;
    match model.input() {
        InputSchema::Tabular { preprocessor } => {
            let features = preprocessor.transform(&table)?;
            let labels = match model.target() {
                TargetEncoder::Classes { name, .. }
                    if model.task() == Task::Classification
                        && table.find_column(name).is_some() =>
                {
                    match model.target().encode(&table)? {
                        Targets::Classes { labels, .. } => Some(labels),
                        _ => None,
                    }
                }
                _ => None,
            };
            Ok(Loaded {
                features,
                rows: table.n_rows(),
                labels,
            })
        }
        InputSchema::Matrix { .. } => matrix_csv(model, &table, path),
    }
}

/// A CSV of plain numbers for a model trained on a matrix: one column per feature.
fn matrix_csv(model: &Model, table: &RawTable, path: &Path) -> Result<Loaded> {
    check_width(model, table.n_columns(), path)?;
    let n = table.n_columns();
    let mut features = vec![0.0f32; table.n_rows() * n];
    for (c, col) in table.columns().iter().enumerate() {
        for (r, cell) in col.iter().enumerate().take(table.n_rows()) {
            let v: f64 = cell.parse().map_err(|_| {
                table.cell_error(r, c, format!("cannot parse '{cell}' as a number"))
            })?;
            if !v.is_finite() {
                return Err(table
                    .cell_error(r, c, format!("'{cell}' is not finite"))
                    .into());
            }
            features[r * n + c] = v as f32;
        }
    }
    Ok(Loaded {
        features,
        rows: table.n_rows(),
        labels: None,
    })
}

fn check_width(model: &Model, width: usize, path: &Path) -> Result<()> {
    if width != model.n_features() {
        bail!(
            "{}: {width} feature columns, but the model takes {}",
            path.display(),
            model.n_features()
        );
    }
    Ok(())
}

fn output_names(model: &Model) -> Vec<String> {
    match model.target() {
        TargetEncoder::Classes { labels, .. } if model.network().outputs() == labels.len() => {
            labels.iter().map(|l| format!("logit_{l}")).collect()
        }
        TargetEncoder::Classes { .. } => vec!["logit".into()],
        TargetEncoder::Standardized { names, .. } => names.clone(),
    }
}

/// Output bounds in reporting units: regression outputs decoded to target units.
fn decode(model: &Model, b: Bounds) -> Bounds {
    match (&model.task(), model.target()) {
        (Task::Regression, TargetEncoder::Standardized { mean, scale, .. }) => {
            let mut out = b.clone();
            for j in 0..b.len() {
                let (p, q) = (
                    b.lower[j] * scale[j] + mean[j],
                    b.upper[j] * scale[j] + mean[j],
                );
                out.lower[j] = p.min(q);
                out.upper[j] = p.max(q);
            }
            out
        }
        _ => b,
    }
}

pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    if let Some(prop) = &args.vnnlib {
        return run_vnnlib(&args, prop);
    }
    let method: Method = args.method.parse()?;
    let Some(model_path) = &args.model else {
        bail!("give the model as --model M (--onnx goes with --vnnlib)");
    };
    let model = Model::load(model_path)?;
    let delim = delimiter(args.delimiter)?;
    let map = input_map(&model);
    let net = model.network();
    let scaled = |x: &[f32]| -> Vec<f64> {
        let mut v = x.to_vec();
        model.scaler().apply(&mut v);
        v.iter().map(|&a| a as f64).collect()
    };
    let config = BisectConfig {
        method,
        split_budget: args.split_budget,
        seed: args.seed,
        ..BisectConfig::default()
    };
    let is_classifier = model.task() == Task::Classification;
    let n = model.n_features();
    let mut samples = Vec::new();
    let mut report = Report {
        method: args.method.clone(),
        eps: None,
        eps_units: None,
        outputs: output_names(&model),
        samples: Vec::new(),
        certified: None,
        counterexamples: None,
        unknown: None,
        clean_accuracy: None,
        certified_accuracy: None,
        labels_from_file: false,
    };
    let boxes: Vec<(Bounds, Option<usize>)> = if let Some(center) = &args.center {
        let Some(eps) = args.eps else {
            bail!("--center needs --eps (the radius of the box around each sample)");
        };
        if eps.is_nan() || eps < 0.0 || !eps.is_finite() {
            bail!("--eps must be a finite number >= 0, got {eps}");
        }
        let raw = args.eps_units == "raw";
        report.eps = Some(eps);
        report.eps_units = Some(if raw { "raw" } else { "network" }.to_string());
        let radius: Vec<f64> = (0..n)
            .map(|j| {
                if map.one_hot[j] {
                    0.0
                } else if raw {
                    eps / map.scale[j].abs()
                } else {
                    eps
                }
            })
            .collect();
        let data = load(&model, center, delim)?;
        report.labels_from_file = data.labels.is_some();
        (0..data.rows)
            .map(|r| {
                let x = scaled(&data.features[r * n..(r + 1) * n]);
                Ok((
                    Bounds::around(&x, &radius)?,
                    data.labels.as_ref().map(|l| l[r]),
                ))
            })
            .collect::<Result<_>>()?
    } else if let (Some(lo), Some(hi)) = (&args.lower, &args.upper) {
        if args.eps.is_some() {
            bail!("--eps goes with --center; --lower/--upper give the box itself");
        }
        let a = load(&model, lo, delim)?;
        let b = load(&model, hi, delim)?;
        if a.rows != b.rows {
            bail!(
                "{} has {} rows but {} has {}; give one lower and one upper row per box",
                lo.display(),
                a.rows,
                hi.display(),
                b.rows
            );
        }
        let names = model.input().feature_names();
        (0..a.rows)
            .map(|r| {
                let (xa, xb) = (
                    &a.features[r * n..(r + 1) * n],
                    &b.features[r * n..(r + 1) * n],
                );
                for j in 0..n {
                    if !map.one_hot[j] && xa[j] > xb[j] {
                        bail!(
                            "box {}: feature '{}' has lower end {} above upper end {}",
                            r + 1,
                            names.get(j).map_or("?", |s| s.as_str()),
                            (xa[j] as f64 * map.pre_scale[j] + map.pre_mean[j]) as f32,
                            (xb[j] as f64 * map.pre_scale[j] + map.pre_mean[j]) as f32
                        );
                    }
                }
                let (sa, sb) = (scaled(xa), scaled(xb));
                let lower = sa.iter().zip(&sb).map(|(p, q)| p.min(*q)).collect();
                let upper = sa.iter().zip(&sb).map(|(p, q)| p.max(*q)).collect();
                Ok((Bounds::new(lower, upper)?, None))
            })
            .collect::<Result<_>>()?
    } else {
        bail!("give --center FILE with --eps E, or a box as --lower FILE --upper FILE");
    };

    let (mut certified, mut correct, mut cex, mut unknown) = (0, 0, 0, 0);
    let labels = model.class_labels();
    let label_name = |k: usize| labels.get(k).cloned().unwrap_or_else(|| k.to_string());
    for (r, (bx, label)) in boxes.iter().enumerate() {
        let bounds = output_bounds(net, bx, method)?;
        let mut s = SampleReport {
            row: r + 1,
            label: None,
            predicted: None,
            status: None,
            margin_lower: None,
            splits: None,
            lower: Vec::new(),
            upper: Vec::new(),
            counterexample: None,
        };
        if is_classifier {
            let centre: Vec<f32> = bx.center().iter().map(|&v| v as f32).collect();
            let y = net.predict(&centre, 1);
            let predicted = if y.len() == 1 {
                usize::from(y[0] > 0.0)
            } else {
                mlp::train::argmax(&y)
            };
            let target = label.unwrap_or(predicted);
            let spec = LinearSpec::class_margin(net.outputs(), target)?;
            let outcome = verify(net, bx, &spec, &config)?;
            s.label = Some(label_name(target));
            s.predicted = Some(label_name(predicted));
            s.status = Some(outcome.verdict.name());
            s.margin_lower = Some(
                outcome
                    .bounds
                    .lower
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min),
            );
            s.splits = Some(outcome.splits);
            correct += usize::from(predicted == target);
            match &outcome.verdict {
                Verdict::Certified => certified += 1,
                Verdict::Counterexample { input, .. } => {
                    cex += 1;
                    // Back to the file's units (one-hot features were not perturbed).
                    s.counterexample = Some(
                        input
                            .iter()
                            .enumerate()
                            .map(|(j, &v)| v * map.scale[j] + map.offset[j])
                            .collect(),
                    );
                }
                Verdict::Unknown => unknown += 1,
            }
        }
        let b = decode(&model, bounds);
        s.lower = b.lower;
        s.upper = b.upper;
        samples.push(s);
    }
    let rows = samples.len();
    if is_classifier && args.center.is_some() {
        report.certified = Some(certified);
        report.counterexamples = Some(cex);
        report.unknown = Some(unknown);
        if rows > 0 {
            report.clean_accuracy = Some(correct as f64 / rows as f64);
            report.certified_accuracy = Some(certified as f64 / rows as f64);
        }
    }
    report.samples = samples;
    if let Some(path) = &args.out {
        mlp::io::atomic_write(path, report_csv(&report).as_bytes())
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt(x: f64) -> String {
    format!("{x:.4}")
}

fn print_report(r: &Report) {
    let show_outputs = r.outputs.len() <= 6;
    let classify = r.samples.first().is_some_and(|s| s.status.is_some());
    if classify {
        println!(
            "{:>5}  {:>10}  {:>10}  {:<14}  {:>12}  {:>6}{}",
            "row",
            "label",
            "predicted",
            "status",
            "margin_lower",
            "splits",
            if show_outputs { "  output bounds" } else { "" }
        );
    } else {
        println!("{:>5}  output bounds", "box");
    }
    for s in &r.samples {
        let bounds: Vec<String> = r
            .outputs
            .iter()
            .zip(s.lower.iter().zip(&s.upper))
            .map(|(n, (l, u))| format!("{n} in [{}, {}]", fmt(*l), fmt(*u)))
            .collect();
        if classify {
            println!(
                "{:>5}  {:>10}  {:>10}  {:<14}  {:>12}  {:>6}{}",
                s.row,
                s.label.as_deref().unwrap_or(""),
                s.predicted.as_deref().unwrap_or(""),
                s.status.unwrap_or(""),
                s.margin_lower.map_or(String::new(), fmt),
                s.splits.unwrap_or(0),
                if show_outputs {
                    format!("  {}", bounds.join("; "))
                } else {
                    String::new()
                }
            );
        } else {
            println!("{:>5}  {}", s.row, bounds.join("; "));
        }
    }
    if let (Some(acc), Some(c), Some(eps)) = (r.certified_accuracy, r.certified, r.eps) {
        let what = if r.labels_from_file {
            "certified accuracy"
        } else {
            "certified fraction (predicted classes)"
        };
        println!(
            "{what} at eps {eps} ({} units, {}): {acc:.4} ({c}/{}); clean accuracy {:.4}; counterexamples {}, unknown {}",
            r.eps_units.as_deref().unwrap_or(""),
            r.method,
            r.samples.len(),
            r.clean_accuracy.unwrap_or(0.0),
            r.counterexamples.unwrap_or(0),
            r.unknown.unwrap_or(0)
        );
    }
}

fn report_csv(r: &Report) -> String {
    let mut out = String::from("row,label,predicted,status,margin_lower,splits");
    for n in &r.outputs {
        let _ = write!(
            out,
            ",{},{}",
            quote(&format!("lower_{n}")),
            quote(&format!("upper_{n}"))
        );
    }
    out.push('\n');
    for s in &r.samples {
        let _ = write!(
            out,
            "{},{},{},{},{},{}",
            s.row,
            quote(s.label.as_deref().unwrap_or("")),
            quote(s.predicted.as_deref().unwrap_or("")),
            s.status.unwrap_or(""),
            s.margin_lower.map_or(String::new(), |m| m.to_string()),
            s.splits.map_or(String::new(), |m| m.to_string())
        );
        for (l, u) in s.lower.iter().zip(&s.upper) {
            let _ = write!(out, ",{l},{u}");
        }
        out.push('\n');
    }
    out
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Exit status of a `holds` answer.
pub const EXIT_HOLDS: u8 = 0;
/// Exit status of a `violated` answer.
pub const EXIT_VIOLATED: u8 = 10;
/// Exit status of an `unknown` answer (timeout, domain limit).
pub const EXIT_UNKNOWN: u8 = 20;

#[derive(Debug, Serialize)]
struct VnnReport {
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    seconds: f64,
    domains: usize,
    cases: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    case: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counterexample_input: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counterexample_output: Option<Vec<f64>>,
}

/// The network and the maps from the property's units to the network's: inputs
/// `net = (x - offset) / scale`, outputs `y_prop = y_net * out_scale + out_mean`.
struct VnnTarget {
    net: mlp::network::Network,
    offset: Vec<f64>,
    scale: Vec<f64>,
    out_mean: Vec<f64>,
    out_scale: Vec<f64>,
}

fn vnn_target(args: &VerifyArgs) -> Result<VnnTarget> {
    // An imported ONNX graph is an ordinary regression model (its input Sub/Div as the input
    // scaler, raw outputs), so both sources take the same path.
    let model = match (&args.onnx, &args.model) {
        (Some(onnx), _) => mlp::io::onnx::import_network(onnx)?.0,
        (None, Some(path)) => Model::load(path)?,
        (None, None) => bail!("give the network as --model M or --onnx NET.onnx"),
    };
    let map = input_map(&model);
    let outputs = model.network().outputs();
    let (out_mean, out_scale) = match (model.task(), model.target()) {
        (Task::Regression, TargetEncoder::Standardized { mean, scale, .. })
            if mean.len() == outputs && scale.len() == outputs =>
        {
            (mean.clone(), scale.clone())
        }
        _ => (vec![0.0; outputs], vec![1.0; outputs]),
    };
    Ok(VnnTarget {
        net: model.network().clone(),
        offset: map.offset,
        scale: map.scale,
        out_mean,
        out_scale,
    })
}

fn run_vnnlib(args: &VerifyArgs, prop_path: &Path) -> Result<ExitCode> {
    let timeout = match args.timeout {
        None => None,
        Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t)),
        Some(t) => bail!("--timeout must be a positive number of seconds, got {t}"),
    };
    let prop = mlp::verify::vnnlib::read_vnnlib(prop_path)?;
    let target = vnn_target(args)?;
    let net = &target.net;
    if prop.inputs != net.inputs() || prop.outputs != net.outputs() {
        bail!(
            "{}: the property declares {} inputs and {} outputs, but the network has {} and {}",
            prop_path.display(),
            prop.inputs,
            prop.outputs,
            net.inputs(),
            net.outputs()
        );
    }
    let net_prop = prop.to_network_units(
        &target.offset,
        &target.scale,
        &target.out_mean,
        &target.out_scale,
    )?;
    let config = mlp::verify::complete::CompleteConfig {
        timeout,
        seed: args.seed,
        ..Default::default()
    };
    let outcome = mlp::verify::complete::verify_property(net, &net_prop, &config)?;
    let mut report = VnnReport {
        result: outcome.answer.name(),
        reason: None,
        seconds: outcome.seconds,
        domains: outcome.domains,
        cases: prop.cases.len(),
        case: None,
        counterexample_input: None,
        counterexample_output: None,
    };
    let code = match &outcome.answer {
        mlp::verify::complete::Answer::Holds => EXIT_HOLDS,
        mlp::verify::complete::Answer::Unknown(why) => {
            report.reason = Some(why.clone());
            EXIT_UNKNOWN
        }
        mlp::verify::complete::Answer::Violated { case, input, .. } => {
            // Re-check by plain f32 inference, in the property's own units.
            let x32: Vec<f32> = input.iter().map(|&v| v as f32).collect();
            let y: Vec<f64> = net
                .predict(&x32, 1)
                .iter()
                .enumerate()
                .map(|(k, &v)| v as f64 * target.out_scale[k] + target.out_mean[k])
                .collect();
            let x: Vec<f64> = input
                .iter()
                .enumerate()
                .map(|(j, &v)| v * target.scale[j] + target.offset[j])
                .collect();
            let c = &prop.cases[*case];
            // Units conversions round; allow that much outside the box and above zero.
            let tol = |v: f64| 1e-9 * (1.0 + v.abs());
            let in_box = x
                .iter()
                .enumerate()
                .all(|(j, &v)| v >= c.input.lower[j] - tol(v) && v <= c.input.upper[j] + tol(v));
            let reaches = c
                .unsafe_set
                .eval(&y)
                .iter()
                .all(|g| *g <= 1e-6 * (1.0 + g.abs()));
            if !in_box || !reaches {
                bail!(
                    "internal check failed: the counterexample found does not satisfy the property under f32 inference (please report)"
                );
            }
            report.case = Some(*case + 1);
            report.counterexample_input = Some(x);
            report.counterexample_output = Some(y);
            EXIT_VIOLATED
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.result);
        if let (Some(x), Some(y)) = (&report.counterexample_input, &report.counterexample_output) {
            // The competition's counterexample format: one (X_i value) / (Y_i value) per line.
            let mut lines: Vec<String> = x
                .iter()
                .enumerate()
                .map(|(i, v)| format!("(X_{i} {v})"))
                .collect();
            lines.extend(y.iter().enumerate().map(|(i, v)| format!("(Y_{i} {v})")));
            println!("({})", lines.join("\n "));
        }
        if let Some(why) = &report.reason {
            eprintln!("unknown: {why}");
        }
    }
    Ok(ExitCode::from(code))
}
