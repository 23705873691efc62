//! `mlp forecast`: fit a forecaster on a time series, forecast from new history, and backtest
//! the model against the naive, seasonal naive, drift, AR(p), ETS, Theta and Naive2 baselines.

use crate::plot::{self, ForecastPlot};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use mlp::Activation;
use mlp::architectures::{Arch, ArchConfig};
use mlp::forecast::backtest::{BacktestReport, BacktestSettings, Method, Refit, backtest_methods};
use mlp::forecast::calendar::CalendarFeatures;
use mlp::forecast::forecaster::{Forecast, ForecastSettings, Forecaster, LagSetting};
use mlp::forecast::intervals::{IntervalMethod, check_level};
use mlp::forecast::lags::DelayRule;
use mlp::forecast::select::{DEFAULT_MAX_MEMBERS, SelectSettings};
use mlp::forecast::series::{EmbeddedSeries, Fill, Series, SeriesColumns, format_time};
use mlp::forecast::strategy::Strategy;
use mlp::forecast::window::{Embedding, Normalize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod global;

/// Flags of `mlp forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    #[command(subcommand)]
    pub command: ForecastCommand,
}

/// The forecasting jobs.
#[derive(Debug, Subcommand)]
pub enum ForecastCommand {
    /// Fit a forecaster on a series and save it (lags, scaling and calendar features included).
    Fit(Box<FitArgs>),
    /// Forecast the steps after a history with a saved forecaster; writes a CSV.
    Predict(Box<PredictArgs>),
    /// Rolling-origin backtest of the model against naive, seasonal naive, drift, AR(p), ETS,
    /// Theta and Naive2, side by side (MAE, RMSE, sMAPE, MASE, OWA, interval coverage).
    Backtest(Box<BacktestArgs>),
    /// Describe a saved forecaster: lags, the model selection's validation table, members.
    Info(InfoArgs),
}

/// Flags of `mlp forecast info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A forecaster written by `mlp forecast fit`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Print the metadata as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where the series comes from and which columns it uses.
#[derive(Debug, Clone, Args)]
pub struct SeriesArgs {
    /// CSV with a time column, target column(s) and optional exogenous columns.
    #[arg(long, value_name = "FILE", conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// A built-in series instead of --data: co2 (monthly Mauna Loa CO2, 1958-2001).
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,
    /// The time column (integers, dates yyyy-mm-dd or date-times).
    #[arg(long, value_name = "COL")]
    pub time: Option<String>,
    /// Target column(s), comma-separated.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub target: Vec<String>,
    /// Exogenous columns whose future values are known, comma-separated.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub exog: Vec<String>,
    /// Fill missing time steps and empty cells: linear, previous or zero (default: error).
    #[arg(long, value_name = "HOW")]
    pub fill: Option<String>,
    /// A long-format panel: this column names the series of each row, and one global network
    /// is fitted on all of them (one --target, no --exog).
    #[arg(long, value_name = "COL", conflicts_with = "dataset")]
    pub id_column: Option<String>,
}

/// Model and training flags shared by `fit` and `backtest`.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Lag embedding: `auto` (delay from the autocorrelation, dimension by Cao's method) or
    /// `TAU,M` (delay and number of lags), e.g. `1,12`.
    #[arg(long, default_value = "auto")]
    pub lags: String,
    /// Largest embedding dimension tried by --lags auto.
    #[arg(long, default_value_t = 12)]
    pub max_dim: usize,
    /// Steps ahead to forecast.
    #[arg(long, default_value_t = 12)]
    pub horizon: usize,
    /// Multi-step strategy: recursive (one-step model fed back) or direct (one head per step).
    #[arg(long, default_value = "recursive")]
    pub strategy: String,
    /// Window normalization: last (relative to the latest value; follows trends) or global
    /// (standardized levels).
    #[arg(long, default_value = "last")]
    pub normalize: String,
    /// Calendar one-hots of each predicted step: auto, none, or dow,month.
    #[arg(long, default_value = "auto")]
    pub calendar: String,
    /// Season length for the seasonal baselines and MASE (default: detected).
    #[arg(long)]
    pub season: Option<usize>,
    /// Architecture (as `mlp train --arch`): mlp, resmlp, hourglass, score, glu, kan, finalmlp...
    #[arg(long, default_value = "mlp")]
    pub arch: String,
    /// Hidden widths, comma-separated (block architectures use the first).
    #[arg(long, value_delimiter = ',', default_value = "64")]
    pub hidden: Vec<usize>,
    /// Hidden activation.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// Blocks of block architectures.
    #[arg(long, default_value_t = 2)]
    pub depth: usize,
    /// Expansion inside blocks.
    #[arg(long, default_value_t = 4)]
    pub expansion: usize,
    /// Dropout probability (above 0 enables --interval mc-dropout).
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f32,
    /// Maximum epochs (training stops early on the validation part).
    #[arg(long, default_value_t = 400)]
    pub epochs: usize,
    /// Learning rate (Adam).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// Minibatch size.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Weight decay.
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f32,
    /// Epochs without validation improvement before stopping (0: never stop early).
    #[arg(long, default_value_t = 40)]
    pub patience: usize,
    /// Share of the history (its end) held out for validation and interval calibration.
    #[arg(long, default_value_t = 0.15)]
    pub val_fraction: f64,
    /// Random seed (initialization, shuffling, dropout).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Fit only the network these flags describe, without model selection (by default the
    /// network is one candidate among MLP variants and statistical baselines, chosen and
    /// averaged by rolling-origin validation inside the training data).
    #[arg(long)]
    pub no_select: bool,
    /// Most candidates averaged by the model selection (1: the best alone).
    #[arg(long, default_value_t = DEFAULT_MAX_MEMBERS)]
    pub ensemble: usize,
}

/// Interval and output flags shared by the commands.
#[derive(Debug, Clone, Args)]
pub struct IntervalArgs {
    /// Prediction intervals: conformal (per-step split conformal from rolling-origin validation
    /// errors), residual (validation error quantiles), mc-dropout, or none.
    #[arg(long, default_value = "conformal")]
    pub interval: String,
    /// Interval level.
    #[arg(long, default_value_t = 0.9)]
    pub level: f64,
    /// Trajectories sampled by --interval mc-dropout.
    #[arg(long, default_value_t = 100)]
    pub samples: usize,
    /// Print nothing but errors (and the --json summary).
    #[arg(long, short)]
    pub quiet: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `mlp forecast fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub series: SeriesArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub output: IntervalArgs,
    /// Where to write the forecaster (.safetensors).
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Draw the history and the forecast after it (SVG or PNG).
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
    /// Save the forecaster and exit 0 even when training diverged (by default a diverged fit
    /// saves its best weights and exits with status 3).
    #[arg(long)]
    pub allow_divergence: bool,
    /// Model families the selection may use, comma-separated: mlp, naive, snaive, drift, ar,
    /// ets, theta, naive2 (families this build lacks are skipped with a note), or all.
    #[arg(long, default_value = "all")]
    pub models: String,
}

/// Flags of `mlp forecast predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A forecaster written by `mlp forecast fit`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// History CSV with the model's time, target and exogenous columns (trailing rows with
    /// empty targets carry future exogenous values).
    #[arg(long, value_name = "FILE", conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// A built-in series as the history.
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,
    /// Fill missing time steps and empty cells: linear, previous or zero.
    #[arg(long, value_name = "HOW")]
    pub fill: Option<String>,
    /// Steps to forecast (default: the model's horizon).
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Write the forecast CSV here (time, target, lower, upper); default: stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Seed of Monte-Carlo dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub output: IntervalArgs,
    /// Draw the history, the forecast and its interval (SVG or PNG).
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
}

/// Flags of `mlp forecast backtest`.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub series: SeriesArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub output: IntervalArgs,
    /// Share of the history (its end) used as test origins and targets.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Steps between forecast origins.
    #[arg(long, default_value_t = 1)]
    pub stride: usize,
    /// Order of the AR(p) baseline (default: chosen on a validation tail of each fit, up to
    /// max(season + 1, 8)).
    #[arg(long)]
    pub ar_order: Option<usize>,
    /// Methods to compare, comma-separated: mlp (the MLP forecaster), naive (last value),
    /// snaive (seasonal naive), drift, ar (AR(p) by least squares), ets (exponential smoothing
    /// chosen by AICc), theta, naive2 (naive on the seasonally adjusted series); or all.
    #[arg(long, default_value = "all")]
    pub models: String,
    /// When to refit during the backtest: every (each origin), none (keep the fit on the part
    /// before the test), N (every N origins), or auto: the statistical methods every origin,
    /// the MLP never (a refit is a full training).
    #[arg(long, default_value = "auto")]
    pub refit: String,
    /// Also save the forecaster fitted on the part before the test.
    #[arg(long, value_name = "MODEL")]
    pub out: Option<PathBuf>,
}

/// Runs a forecast subcommand.
pub fn run(args: ForecastArgs) -> Result<ExitCode> {
    match args.command {
        ForecastCommand::Fit(a) => fit(*a),
        ForecastCommand::Predict(a) => predict(*a),
        ForecastCommand::Backtest(a) => run_backtest(*a),
        ForecastCommand::Info(a) => info(a),
    }
}

fn parse_fill(text: &Option<String>) -> Result<Option<Fill>> {
    Ok(text.as_deref().map(str::parse).transpose()?)
}

/// Loads the series the flags describe.
fn load_series(args: &SeriesArgs) -> Result<Series> {
    let fill = parse_fill(&args.fill)?;
    match (&args.data, &args.dataset) {
        (Some(path), None) => {
            let Some(time) = &args.time else {
                bail!("--time: name the time column of {}", path.display());
            };
            if args.target.is_empty() {
                bail!("--target: name the target column(s) of {}", path.display());
            }
            let columns = SeriesColumns {
                time: time.clone(),
                targets: args.target.clone(),
                exog: args.exog.clone(),
                fill,
            };
            Ok(Series::load(path, &columns)?)
        }
        (None, Some(name)) => {
            let which: EmbeddedSeries = name.parse()?;
            let (time, target) = which.columns();
            let columns = SeriesColumns {
                time: args.time.clone().unwrap_or_else(|| time.into()),
                targets: if args.target.is_empty() {
                    vec![target.into()]
                } else {
                    args.target.clone()
                },
                exog: args.exog.clone(),
                fill,
            };
            Ok(Series::from_table(&which.table()?, &columns)?)
        }
        _ => bail!("give the series with --data FILE or --dataset co2"),
    }
}

fn settings(args: &ModelArgs) -> Result<ForecastSettings> {
    let lags = if args.lags.trim().eq_ignore_ascii_case("auto") {
        LagSetting::Auto {
            max_dim: args.max_dim,
        }
    } else {
        let parts: Vec<&str> = args.lags.split(',').map(str::trim).collect();
        let (Some(tau), Some(dim), 2) = (
            parts.first().and_then(|s| s.parse::<usize>().ok()),
            parts.get(1).and_then(|s| s.parse::<usize>().ok()),
            parts.len(),
        ) else {
            bail!(
                "--lags: expected auto or TAU,M (e.g. 1,12), got '{}'",
                args.lags
            );
        };
        LagSetting::Fixed(Embedding { tau, dim })
    };
    if args.hidden.contains(&0) {
        bail!("--hidden: layer widths must be at least 1");
    }
    if !(0.0..1.0).contains(&args.dropout) {
        bail!("--dropout: must be in [0, 1), got {}", args.dropout);
    }
    let arch: Arch = args.arch.parse()?;
    let activation: Activation = args.activation.parse()?;
    let mut s = ForecastSettings::default();
    s.lags = lags;
    s.horizon = args.horizon;
    s.strategy = args.strategy.parse::<Strategy>()?;
    s.normalize = args.normalize.parse::<Normalize>()?;
    s.calendar = CalendarFeatures::parse(&args.calendar)?;
    s.season = args.season;
    s.arch = ArchConfig {
        arch,
        widths: args.hidden.clone(),
        depth: args.depth,
        expansion: args.expansion,
        activation,
        dropout: args.dropout,
        ..ArchConfig::default()
    };
    s.val_fraction = args.val_fraction;
    if args.ensemble == 0 {
        bail!("--ensemble: must be at least 1");
    }
    if !args.no_select {
        let mut sel = SelectSettings::default();
        sel.max_members = args.ensemble;
        s.selection = Some(sel);
    }
    s.train = s
        .train
        .clone()
        .with_epochs(args.epochs)
        .with_lr(args.lr)
        .with_batch_size(args.batch_size)
        .with_weight_decay(args.weight_decay)
        .with_patience((args.patience > 0).then_some(args.patience))
        .with_seed(args.seed)
        .with_threads(args.threads);
    Ok(s)
}

fn interval_method(args: &IntervalArgs) -> Result<IntervalMethod> {
    check_level(args.level)?;
    Ok(IntervalMethod::parse(&args.interval, args.samples)?)
}

fn tau_rule(rule: DelayRule) -> &'static str {
    match rule {
        DelayRule::AcfZero => "first zero of the autocorrelation",
        DelayRule::AcfInvE => "autocorrelation below 1/e",
        DelayRule::AmiMinimum => "first minimum of the mutual information",
        DelayRule::Default => "default",
    }
}

fn describe_model(f: &Forecaster) {
    let m = &f.meta;
    println!(
        "series     {} ({} steps of {}; train {}, validation {})",
        m.source,
        m.train_len + m.val_len,
        m.step.describe(),
        m.train_len,
        m.val_len
    );
    // With model selection the network may be a candidate with fixed lags while the automatic
    // analysis belongs to the configuration as given: print both, labelled.
    let from_selection = m
        .selection
        .as_ref()
        .and_then(|s| s.auto_lags.as_ref())
        .filter(|_| m.lag_choice.is_none());
    match m.lag_choice.as_ref().or(from_selection) {
        Some(c) => {
            let fmt = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x:.3}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            println!(
                "{}tau = {} ({}), m = {} (Cao's E1 saturates){}",
                if from_selection.is_some() {
                    "auto lags  "
                } else {
                    "lags       "
                },
                c.tau,
                tau_rule(c.tau_rule),
                c.dim,
                if c.noisy {
                    "; E2 stays near 1: the series looks stochastic"
                } else {
                    ""
                }
            );
            println!("Cao E1     {}", fmt(&c.e1));
            println!("Cao E2     {}", fmt(&c.e2));
            if from_selection.is_some() {
                println!(
                    "lags       tau = {}, m = {} (the selected candidate)",
                    m.embedding.tau, m.embedding.dim
                );
            } else if (c.tau, c.dim) != (m.embedding.tau, m.embedding.dim) {
                println!(
                    "           window capped to tau = {}, m = {} (a third of the training part)",
                    m.embedding.tau, m.embedding.dim
                );
            }
        }
        None => println!(
            "lags       tau = {}, m = {} (given)",
            m.embedding.tau, m.embedding.dim
        ),
    }
    let cal = m.calendar.names();
    println!(
        "inputs     {} lags x {} target(s), {} exogenous, calendar: {}",
        m.embedding.dim,
        m.targets.len(),
        m.exog.len(),
        if cal.is_empty() {
            "none".to_string()
        } else {
            format!(
                "{}{}",
                if m.calendar.day_of_week {
                    "day of week "
                } else {
                    ""
                },
                if m.calendar.month { "month" } else { "" }
            )
        }
    );
    println!(
        "model      {:?} strategy, horizon {}, {} parameters, season {}",
        m.strategy,
        m.horizon,
        f.model.network().n_params(),
        m.season
    );
    if let Some(t) = f.model.training() {
        println!(
            "training   {} epochs, {} ({:.2} s)",
            t.history.len(),
            t.outcome,
            t.seconds
        );
    }
    if let Some(sel) = &m.selection {
        for line in sel.describe() {
            println!("{line}");
        }
    }
}

fn info(args: InfoArgs) -> Result<ExitCode> {
    if global::is_panel_model(&args.model)? {
        return global::info(args);
    }
    let forecaster = Forecaster::load(&args.model)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&forecaster.meta)?);
    } else {
        describe_model(&forecaster);
    }
    Ok(ExitCode::SUCCESS)
}

fn lag_json(f: &Forecaster) -> serde_json::Value {
    serde_json::json!({
        "tau": f.meta.embedding.tau,
        "m": f.meta.embedding.dim,
        "auto": f.meta.lag_choice,
        "season": f.meta.season,
        "strategy": f.meta.strategy,
        "horizon": f.meta.horizon,
        "parameters": f.model.network().n_params(),
        "selection": f.meta.selection,
    })
}

fn fit(args: FitArgs) -> Result<ExitCode> {
    if args.series.id_column.is_some() {
        return global::fit(args);
    }
    crate::output::check_writable("--out", &args.out)?;
    if let Some(p) = &args.plot {
        plot::check_svg(p)?;
    }
    let method = interval_method(&args.output)?;
    let series = load_series(&args.series)?;
    let mut settings = settings(&args.model)?;
    if let Some(sel) = settings.selection.as_mut() {
        sel.models = SelectSettings::parse_models(&args.models)?;
    } else if !args.models.trim().eq_ignore_ascii_case("all") {
        bail!("--models: chooses among candidates, which --no-select turns off");
    }
    let forecaster = Forecaster::fit(&series, &settings)?;
    forecaster
        .save(&args.out)
        .with_context(|| format!("saving {}", args.out.display()))?;
    let quiet = args.output.quiet || args.output.json;
    if !quiet {
        if series.filled > 0 {
            println!("filled     {} missing step(s)/cell(s)", series.filled);
        }
        describe_model(&forecaster);
        println!("saved      {}", args.out.display());
    }
    if let Some(p) = &args.plot {
        let f = forecaster.forecast(
            &series,
            settings.horizon,
            method,
            args.output.level,
            settings.train.seed(),
        )?;
        draw(p, &forecaster, &series, &f, args.output.level, method)?;
        if !quiet {
            println!("plot       {}", p.display());
        }
    }
    Ok(finish_fit(
        &args,
        &forecaster.model,
        ("lags", lag_json(&forecaster)),
    ))
}

/// The end of `fit` for a single or a panel model: the `--json` line (`model`, the model's own
/// summary under `key`, `diverged`) and the exit status of a diverged run unless
/// `--allow-divergence`.
pub(crate) fn finish_fit(
    args: &FitArgs,
    model: &mlp::model::Model,
    (key, summary): (&str, serde_json::Value),
) -> ExitCode {
    // The library keeps the outcome as its sentence; a diverged run's begins with "diverged".
    let diverged = model
        .training()
        .as_ref()
        .filter(|t| t.outcome.starts_with("diverged"))
        .map(|t| t.outcome.clone());
    if args.output.json {
        let mut doc = serde_json::json!({ "model": args.out, "diverged": diverged.is_some() });
        doc[key] = summary;
        println!("{doc}");
    }
    if let Some(outcome) = diverged
        && !args.allow_divergence
    {
        eprintln!(
            "error: training {outcome}; the forecaster with those weights was saved to {}. Lower the learning rate (--lr), or pass --allow-divergence to accept the fit",
            args.out.display()
        );
        return ExitCode::from(super::train::DIVERGED_EXIT);
    }
    ExitCode::SUCCESS
}

fn predict(args: PredictArgs) -> Result<ExitCode> {
    if global::is_panel_model(&args.model)? {
        return global::predict(args);
    }
    if let Some(p) = &args.plot {
        plot::check_svg(p)?;
    }
    let method = interval_method(&args.output)?;
    let forecaster = Forecaster::load(&args.model)?;
    let m = &forecaster.meta;
    let series_args = SeriesArgs {
        data: args.data.clone(),
        dataset: args.dataset.clone(),
        time: Some(m.time_column.clone()),
        target: m.targets.clone(),
        exog: m.exog.clone(),
        fill: args.fill.clone(),
        id_column: None,
    };
    let series = load_series(&series_args)?;
    let steps = args.horizon.unwrap_or(m.horizon);
    let f = forecaster.forecast(&series, steps, method, args.output.level, args.seed)?;
    let csv = forecast_csv(&forecaster, &f);
    match &args.out {
        Some(path) => {
            mlp::io::tensor_file::atomic_write(path, csv.as_bytes())?;
            if !(args.output.quiet || args.output.json) {
                println!(
                    "wrote {} steps after {} to {}",
                    steps,
                    format_time(series.times[series.history_len() - 1], m.time_kind),
                    path.display()
                );
            }
        }
        None if !args.output.json => {
            std::io::stdout().write_all(csv.as_bytes())?;
        }
        None => {}
    }
    if let Some(p) = &args.plot {
        draw(p, &forecaster, &series, &f, args.output.level, method)?;
    }
    if args.output.json {
        let times: Vec<String> = f
            .times
            .iter()
            .map(|&t| format_time(t, m.time_kind))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "time": times,
                "targets": m.targets,
                "values": f.values,
                "lower": f.lower,
                "upper": f.upper,
                "level": args.output.level,
            })
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `time,target,lower,upper` for one target; `time,y1,y1_lower,y1_upper,y2,...` for several.
fn forecast_csv(forecaster: &Forecaster, f: &Forecast) -> String {
    let m = &forecaster.meta;
    let single = m.targets.len() == 1;
    let mut out = m.time_column.clone();
    for t in &m.targets {
        if single {
            out.push_str(&format!(",{t},lower,upper"));
        } else {
            out.push_str(&format!(",{t},{t}_lower,{t}_upper"));
        }
    }
    out.push('\n');
    let cell = |b: &Option<Vec<Vec<f64>>>, c: usize, h: usize| {
        b.as_ref()
            .map_or(String::new(), |v| format!("{:.6}", v[c][h]))
    };
    for (h, &t) in f.times.iter().enumerate() {
        out.push_str(&format_time(t, m.time_kind));
        for c in 0..m.targets.len() {
            out.push_str(&format!(
                ",{:.6},{},{}",
                f.values[c][h],
                cell(&f.lower, c, h),
                cell(&f.upper, c, h)
            ));
        }
        out.push('\n');
    }
    out
}

fn draw(
    path: &Path,
    forecaster: &Forecaster,
    series: &Series,
    f: &Forecast,
    level: f64,
    method: IntervalMethod,
) -> Result<()> {
    let m = &forecaster.meta;
    let n = series.history_len();
    // Enough history to see a few horizons and seasons.
    let shown = (8 * f.times.len()).max(4 * m.season).max(48).min(n);
    let kind = m.time_kind;
    // Dates are plotted in days so the axis labels read as calendar dates.
    let x = |key: f64| match kind {
        mlp::forecast::series::TimeKind::Number => key,
        _ => key / mlp::forecast::calendar::DAY,
    };
    let monthly = matches!(m.step, mlp::forecast::series::Step::Months(_));
    let label = move |v: f64| match kind {
        mlp::forecast::series::TimeKind::Number => format!("{v:.0}"),
        _ => {
            let day = format_time(
                v.round() * mlp::forecast::calendar::DAY,
                mlp::forecast::series::TimeKind::Date,
            );
            // Monthly and coarser series read better without the day.
            if monthly { day[..7].to_string() } else { day }
        }
    };
    let c = 0;
    let history: Vec<(f64, f64)> = (n - shown..n)
        .map(|i| (x(series.times[i]), series.targets[c].values[i]))
        .collect();
    let forecast: Vec<(f64, f64)> = f
        .times
        .iter()
        .zip(&f.values[c])
        .map(|(&t, &v)| (x(t), v))
        .collect();
    let interval: Vec<(f64, f64, f64)> = match (&f.lower, &f.upper) {
        (Some(lo), Some(hi)) => f
            .times
            .iter()
            .enumerate()
            .map(|(h, &t)| (x(t), lo[c][h], hi[c][h]))
            .collect(),
        _ => Vec::new(),
    };
    let how = match method {
        IntervalMethod::McDropout { .. } => "MC dropout",
        IntervalMethod::Conformal => "conformal",
        _ => "validation residuals",
    };
    plot::forecast(
        path,
        &ForecastPlot {
            title: format!(
                "{}: {} steps ahead ({:?}, tau = {}, m = {})",
                m.targets[c],
                f.times.len(),
                m.strategy,
                m.embedding.tau,
                m.embedding.dim
            ),
            history: &history,
            forecast: &forecast,
            interval: &interval,
            interval_label: format!("{:.0}% interval ({how})", 100.0 * level),
            x_label: &label,
        },
    )
}

/// Prints a backtest table (also used by `mlp demo`).
pub(crate) fn print_report(r: &BacktestReport) {
    println!(
        "backtest   {} origins x {} steps over the last {} steps (train {}), season {}",
        r.origins, r.horizon, r.test_len, r.train_len, r.season
    );
    println!(
        "refits     statistical methods: {}; mlp: {}; {} calibration origins for their intervals",
        r.refit_statistical, r.refit_mlp, r.calibration_origins
    );
    println!(
        "{:<20} {:>9} {:>9} {:>8} {:>8} {:>7} {:>6} {:>7} {:>8} {:>9} {:>9}",
        "method",
        "MAE",
        "RMSE",
        "MAPE%",
        "sMAPE%",
        "MASE",
        "OWA",
        "R2",
        "cum.err%",
        "coverage",
        "width"
    );
    let mut target = "";
    for s in &r.scores {
        if r.scores.iter().any(|o| o.target != s.target) && s.target != target {
            println!("[{}]", s.target);
        }
        target = &s.target;
        let cov = s
            .coverage
            .map_or(String::from("-"), |c| format!("{:.1}%", 100.0 * c));
        let width = s
            .interval_width
            .map_or(String::from("-"), |w| format!("{w:.4}"));
        println!(
            "{:<20} {:>9.4} {:>9.4} {:>8.3} {:>8.3} {:>7.3} {:>6.3} {:>7.3} {:>8.3} {:>9} {:>9}",
            s.method,
            s.mae,
            s.rmse,
            100.0 * s.mape,
            100.0 * s.smape,
            s.mase,
            s.owa,
            s.r2,
            100.0 * s.cumulative_error,
            cov,
            width
        );
    }
    for note in &r.skipped {
        println!("skipped    {note}");
    }
    println!(
        "intervals  {:.0}% level; sMAPE% is M4's, OWA is relative to Naive2 on the same forecasts",
        100.0 * r.level
    );
}

fn run_backtest(args: BacktestArgs) -> Result<ExitCode> {
    if args.series.id_column.is_some() {
        return global::backtest(args);
    }
    let method = interval_method(&args.output)?;
    let series = load_series(&args.series)?;
    let settings = settings(&args.model)?;
    let mut bt = BacktestSettings::default();
    bt.test_fraction = args.test_fraction;
    bt.stride = args.stride;
    bt.intervals = method;
    bt.level = args.output.level;
    bt.ar_order = args.ar_order;
    bt.seed = args.model.seed;
    bt.methods = Method::parse_list(&args.models)?;
    bt.refit = Refit::parse(&args.refit)?;
    if args.out.is_some() && !bt.methods.contains(&Method::Mlp) {
        bail!("--out saves the MLP forecaster: add mlp to --models");
    }
    let (report, forecaster) = backtest_methods(&series, &settings, &bt)?;
    if let (Some(out), Some(forecaster)) = (&args.out, &forecaster) {
        forecaster
            .save(out)
            .with_context(|| format!("saving {}", out.display()))?;
    }
    if !(args.output.quiet || args.output.json) {
        if let Some(forecaster) = &forecaster {
            describe_model(forecaster);
        }
        print_report(&report);
    }
    if args.output.json {
        let lags = forecaster.as_ref().map(lag_json);
        println!(
            "{}",
            serde_json::json!({ "lags": lags, "backtest": report })
        );
    }
    Ok(ExitCode::SUCCESS)
}
