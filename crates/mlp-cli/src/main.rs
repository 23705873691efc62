//! The `mlp` command-line tool: train, predict, evaluate and inspect multilayer perceptrons.
//!
//! Every failure caused by input prints one line — `error: what (where): how to fix` — and exits
//! non-zero; nothing a user types or feeds in makes it panic.

mod commands;
mod input;
mod output;
mod plot;
mod progress;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Subcommand};
use std::process::ExitCode;

/// Fast multilayer perceptrons: train, predict, evaluate and inspect MLPs on a CPU.
#[derive(Debug, clap::Parser)]
#[command(name = "mlp", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model on a CSV, NPY or IDX file or a named data set.
    Train(Box<commands::train::TrainArgs>),
    /// Predict with a trained model; writes a CSV.
    Predict(commands::predict::PredictArgs),
    /// Evaluate a trained model on labelled data.
    Eval(commands::eval::EvalArgs),
    /// K-fold cross-validation of the training settings (every `mlp train` flag applies).
    Cv(Box<commands::cv::CvArgs>),
    /// Graph-propagated node features [X, AX, ..., A^K X] (SGC/SIGN) for an ordinary `mlp train`.
    GraphFeatures(commands::graph_features::GraphFeaturesArgs),
    /// Describe a model file.
    Info(commands::info::InfoArgs),
    /// Train and evaluate on built-in data: no files needed.
    Demo(commands::demo::DemoArgs),
    /// Train a grid of architectures and tabulate parameters against validation metric.
    Sweep(Box<commands::sweep::SweepArgs>),
    /// Attack a trained model (FGSM, PGD, noise) and report accuracy under attack.
    Attack(Box<commands::attack::AttackArgs>),
    /// Layer Sustainability Analysis: per-layer relative error under attack, and the MVL list.
    Lsa(Box<commands::lsa::LsaArgs>),
    /// Certify predictions over input boxes (IBP / CROWN + bisection), or bound outputs over a box.
    Verify(commands::verify::VerifyArgs),
    /// Closed-loop reachability of a network controller on a built-in example (adaptive cruise
    /// control).
    Reach(commands::reach::ReachArgs),
    /// Time-series forecasting: fit, predict and backtest against baselines.
    Forecast(commands::forecast::ForecastArgs),
    /// Run the fixed performance workloads (W1-W4) and print JSON lines.
    Bench(commands::bench::BenchArgs),
    /// Quantize a trained dense model to int8 (post-training, calibrated on rows of data).
    Quantize(commands::quantize::QuantizeArgs),
    /// Prune a trained model (global magnitude or --structured neurons) with masked fine-tuning.
    Prune(commands::prune::PruneArgs),
    /// Look inside a model: per-layer spectral diagnostics (HTSR alpha), or --compare two models'
    /// hidden layers (CKA, neuron matching), or --ipr (memorizing neurons).
    Analyze(Box<commands::analyze::AnalyzeArgs>),
    /// Export a trained model: an ONNX graph (--format onnx) or C source (--format c).
    Export(commands::export::ExportArgs),
    /// Import an MLP-shaped ONNX graph (PyTorch, tf2onnx, VNN-COMP) as a model file.
    Import(commands::import::ImportArgs),
    /// Input importance per column (permutation or gradient).
    Importance(commands::importance::ImportanceArgs),
    /// Serve a model over HTTP: POST /predict (JSON or CSV), /health, /metadata, /metrics,
    /// hot reload (POST /reload or SIGHUP), micro-batching of concurrent requests.
    Serve(Box<commands::serve::ServeArgs>),
    /// Input derivatives by Taylor jets: directional derivatives up to order K, or gradient and
    /// Hessian per output.
    Jet(commands::jet::JetArgs),
    /// Train a physics-informed MLP on a PDE example (burgers, heat, poisson).
    Pinn(Box<commands::pinn::PinnArgs>),
    /// Generate a synthetic data set as CSV (`mlp data can`, `mlp data modular`).
    #[command(subcommand)]
    Data(commands::data::DataCommand),
}

/// The ids of the flags given on the command line (not defaulted), so that a `--config` file
/// can fill in the rest without overriding them.
fn given_flags(matches: &ArgMatches) -> Vec<String> {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The subcommand path (`forecast fit`), for errors worded in that subcommand's flags.
    let mut path = Vec::new();
    let mut level = &matches;
    while let Some((name, sub)) = level.subcommand() {
        path.push(name.to_string());
        level = sub;
    }
    if let Some((_, sub)) = matches.subcommand() {
        match &mut cli.command {
            Command::Train(a) => a.given = given_flags(sub),
            Command::Sweep(a) => a.train.given = given_flags(sub),
            Command::Cv(a) => a.train.given = given_flags(sub),
            _ => {}
        }
    }
    let result = match cli.command {
        Command::Train(a) => commands::train::run(*a),
        Command::Predict(a) => commands::predict::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::Cv(a) => commands::cv::run(*a),
        Command::GraphFeatures(a) => commands::graph_features::run(a),
        Command::Info(a) => commands::info::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Quantize(a) => commands::quantize::run(a),
        Command::Prune(a) => commands::prune::run(a),
        Command::Data(a) => commands::data::run(a),
        Command::Sweep(a) => commands::sweep::run(*a),
        Command::Attack(a) => commands::attack::run(*a),
        Command::Lsa(a) => commands::lsa::run(*a),
        Command::Verify(a) => commands::verify::run(a),
        Command::Reach(a) => commands::reach::run(a),
        Command::Forecast(a) => commands::forecast::run(a),
        Command::Analyze(a) => commands::analyze::run(*a),
        Command::Importance(a) => commands::importance::run(a),
        Command::Serve(a) => commands::serve::run(*a),
        Command::Export(a) => commands::export::run(a),
        Command::Import(a) => commands::import::run(a),
        Command::Jet(a) => commands::jet::run(a),
        Command::Pinn(a) => commands::pinn::run(*a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", in_flag_terms(&err, &path));
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The flag of `cmd` that sets the library setting `field` (as named in `mlp::Error`), if `cmd`
/// has one.
fn flag_for_field(cmd: &clap::Command, field: &str) -> Option<String> {
    let long = match field {
        "class_weights" | "class-weight" => "class-weight",
        "loss.label_smoothing" => "label-smoothing",
        "loss.delta" => "loss",
        "adversarial.eps" => "eps",
        "adversarial.ratio" => "adv-ratio",
        "adversarial.layer_reg" => "layer-reg",
        "adversarial.clip" => "adv-clip",
        "adversarial.mvl" => "mvl",
        other => other,
    }
    .replace('_', "-");
    cmd.get_arguments()
        .any(|a| a.get_long() == Some(long.as_str()))
        .then(|| format!("--{long}"))
}

/// Rewrites the library's setting names in a hint (written `` `impute` ``, see `mlp::Error`) as
/// flags: the running subcommand's flag when it has one, else the flag of the command that owns
/// the setting (`mlp train`, or `mlp forecast fit` for a forecaster), named with that command.
/// A quoted word that is no setting of either (a cell's text, `mlp forecast fit`) stays as it is.
fn settings_as_flags(
    text: &str,
    root: &clap::Command,
    cmd: &clap::Command,
    path: &[String],
) -> String {
    let (home, home_name) = if path.first().is_some_and(|p| p == "forecast") {
        (
            root.find_subcommand("forecast")
                .and_then(|f| f.find_subcommand("fit")),
            "mlp forecast fit",
        )
    } else {
        (root.find_subcommand("train"), "mlp train")
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('`') {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let inner = &after[1..];
        let Some(end) = inner.find('`') else {
            out.push_str(after);
            return out;
        };
        let name = &inner[..end];
        let is_setting = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
        let flag = if is_setting {
            match flag_for_field(cmd, name) {
                Some(flag) => Some(flag),
                None => home
                    .and_then(|h| flag_for_field(h, name))
                    .map(|flag| format!("{home_name} {flag}")),
            }
        } else {
            None
        };
        match flag {
            Some(flag) => out.push_str(&flag),
            None => {
                out.push('`');
                out.push_str(name);
                out.push('`');
            }
        }
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    out
}

/// An error message in the words of the subcommand that failed: a library setting is named by
/// its flag, and a hint naming a flag this subcommand lacks but `mlp train` has (e.g. `--impute`
/// from `mlp predict`) says where that flag belongs.
fn in_flag_terms(err: &anyhow::Error, path: &[String]) -> String {
    let mut text = format!("{err:#}");
    let root = Cli::command();
    let mut cmd = &root;
    for name in path {
        match cmd.find_subcommand(name) {
            Some(c) => cmd = c,
            None => return text,
        }
    }
    if let Some(mlp::Error::InvalidConfig { field, .. }) =
        err.chain().find_map(|e| e.downcast_ref::<mlp::Error>())
        && let Some(flag) = flag_for_field(cmd, field)
    {
        text = text.replacen(&format!("invalid {field}:"), &format!("invalid {flag}:"), 1);
    }
    // Only the library names settings in backquotes; a parser's message about a file (a config
    // file's unknown field `seed`) must keep the file's own words.
    if err
        .chain()
        .any(|e| e.downcast_ref::<mlp::Error>().is_some())
    {
        text = settings_as_flags(&text, &root, cmd, path);
    }
    let Some(train) = root.find_subcommand("train") else {
        return text;
    };
    if path.first().is_some_and(|p| p == "train") {
        return text;
    }
    let has = |c: &clap::Command, long: &str| c.get_arguments().any(|a| a.get_long() == Some(long));
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("--") {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let name: String = after[2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let starts_word = out.is_empty() || out.ends_with([' ', '(', '\'', '`']);
        if starts_word
            && !name.is_empty()
            && !has(cmd, &name)
            && has(train, &name)
            && !out.ends_with("mlp train ")
        {
            out.push_str("mlp train ");
        }
        out.push_str("--");
        out.push_str(&name);
        rest = &after[2 + name.len()..];
    }
    out.push_str(rest);
    out
}

/// `mlp info | head` must end quietly like any Unix tool: Rust ignores SIGPIPE, so a closed pipe
/// would make `println!` panic with a backtrace; the default action ends the process instead.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
