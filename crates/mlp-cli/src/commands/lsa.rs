//! `mlp lsa`: Layer Sustainability Analysis — how far each hidden layer's output moves, relative
//! to its size, when the input is attacked; and the Most Vulnerable Layers (MVL) list.
//!
//! `RE_l = ||h_l(x') - h_l(x)||_F / ||h_l(x)||_F` per batch, averaged over batches; the MVL are the
//! layers above mean + 1 std of the REs (at least the largest), see `mlp::robust::lsa`.

use crate::commands::attack::{AttackFlags, load_attack_data};
use crate::input::InferenceDataArgs;
use anyhow::{Result, bail};
use clap::Args;
use mlp::model::Model;
use mlp::robust::attack::Threat;
use mlp::robust::lsa::{self, MvlRule};
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp lsa`.
#[derive(Debug, Args)]
pub struct LsaArgs {
    /// The trained model.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: InferenceDataArgs,
    #[command(flatten)]
    pub attack: AttackFlags,
    /// Rows per batch for the relative errors (the Frobenius norm runs over a batch).
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// MVL rule: `std` (above mean + 1 std, default) or `top:K`.
    #[arg(long, default_value = "std")]
    pub mvl_rule: String,
    /// Draw the per-layer relative errors to this SVG or PNG file.
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_rule(text: &str) -> Result<MvlRule> {
    if text == "std" {
        return Ok(MvlRule::MeanPlusStd);
    }
    match text.strip_prefix("top:").map(str::parse::<usize>) {
        Some(Ok(k)) if k > 0 => Ok(MvlRule::TopK(k)),
        _ => bail!("--mvl-rule: use 'std' or 'top:K' with K >= 1, got '{text}'"),
    }
}

pub fn run(args: LsaArgs) -> Result<ExitCode> {
    if let Some(p) = &args.plot {
        crate::plot::check_svg(p)?;
    }
    let [eps] = args.attack.eps[..] else {
        bail!("--eps: LSA takes a single perturbation size");
    };
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let rule = parse_rule(&args.mvl_rule)?;
    let config = args.attack.config(eps)?;
    let model = Model::load(&args.model)?;
    let space = args.attack.space(&model)?;
    let data = load_attack_data(&args.input, &model)?;
    if lsa::analysed_layers(model.network()).is_empty() {
        bail!("the model has no hidden layers to analyse");
    }
    let report = lsa::analyze(
        model.network(),
        &data.x,
        data.rows,
        data.targets(),
        Threat {
            loss: &model.loss(),
            space: &space,
            config: &config,
        },
        args.batch_size,
        rule,
    )?;
    if args.json {
        let doc = serde_json::json!({
            "method": config.method.name(),
            "norm": config.norm.name(),
            "eps": eps,
            "samples": data.rows,
            "layers": report.layers,
            "mvl": report.mvl,
        });
        println!("{doc}");
    } else {
        println!(
            "{} eps {eps} ({}), {} samples",
            config.method.name(),
            config.norm.name(),
            data.rows
        );
        println!(
            "{:>5}  {:<14} {:>6}  {:>10}",
            "layer", "kind", "width", "RE"
        );
        for l in &report.layers {
            let mark = if report.mvl.contains(&l.index) {
                "  *"
            } else {
                ""
            };
            println!(
                "{:>5}  {:<14} {:>6}  {:>10.5}{mark}",
                l.index, l.kind, l.width, l.relative_error
            );
        }
        let list: Vec<String> = report.mvl.iter().map(|i| i.to_string()).collect();
        println!("most vulnerable layers (--mvl): {}", list.join(","));
    }
    if let Some(path) = &args.plot {
        let bars: Vec<(String, f64, bool)> = report
            .layers
            .iter()
            .map(|l| {
                (
                    format!("{} {}", l.index, l.kind),
                    l.relative_error,
                    report.mvl.contains(&l.index),
                )
            })
            .collect();
        crate::plot::layer_errors(path, &bars, &format!("{} eps {eps}", config.method.name()))?;
    }
    Ok(ExitCode::SUCCESS)
}
