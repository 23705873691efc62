//! `mlp forecast ... --id-column`: one global network for a long-format panel of many series
//! (see `mlp::forecast::global`). Kept apart from the single-series paths, which only dispatch
//! here.

use super::{BacktestArgs, FitArgs, InfoArgs, PredictArgs, interval_method, parse_fill, settings};
use anyhow::{Context, Result, bail};
use mlp::forecast::backtest::{BacktestSettings, Method, Refit};
use mlp::forecast::forecaster::{Forecast, ForecastSettings};
use mlp::forecast::global::{GlobalForecaster, Panel, PanelBacktest, PanelColumns, backtest_panel};
use mlp::forecast::series::format_time;
use mlp::forecast::strategy::Strategy;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Whether the model file holds a panel forecaster.
pub(super) fn is_panel_model(path: &Path) -> Result<bool> {
    Ok(GlobalForecaster::is_global_file(path)?)
}

/// The panel the fit/backtest flags describe.
fn load_panel(args: &super::SeriesArgs) -> Result<Panel> {
    let Some(id) = &args.id_column else {
        bail!("--id-column: name the series id column");
    };
    let Some(path) = &args.data else {
        bail!("--id-column needs --data FILE (a long-format CSV: id, time, target)");
    };
    let Some(time) = &args.time else {
        bail!("--time: name the time column of {}", path.display());
    };
    let target = match args.target.as_slice() {
        [t] => t.clone(),
        [] => bail!("--target: name the target column of {}", path.display()),
        _ => bail!("--target: a panel (--id-column) has one target column"),
    };
    if !args.exog.is_empty() {
        bail!("--exog: exogenous columns are not available with --id-column");
    }
    let columns = PanelColumns {
        id: id.clone(),
        time: time.clone(),
        target,
        fill: parse_fill(&args.fill)?,
    };
    Ok(Panel::load(path, &columns)?)
}

/// Settings from the model flags; the panel model is one network (no selection, no calendar).
fn panel_settings(args: &super::ModelArgs) -> Result<ForecastSettings> {
    let mut s = settings(args)?;
    if s.calendar.is_some_and(|c| c.width() > 0) {
        bail!("--calendar: calendar features are not available with --id-column; use none");
    }
    s.calendar = None;
    s.selection = None;
    // The shared --strategy flag defaults to recursive for single series; a panel model
    // defaults to direct (measured better on the panel of docs/forecasting/GLOBAL.md), so look
    // at whether the flag was given rather than at its value.
    let given = std::env::args().any(|a| a == "--strategy" || a.starts_with("--strategy="));
    if !given {
        s.strategy = Strategy::Direct;
    }
    Ok(s)
}

fn describe(f: &GlobalForecaster) {
    let m = &f.meta;
    let lens: Vec<usize> = m.series.iter().map(|s| s.train_len + s.val_len).collect();
    println!(
        "panel      {} ({} series by '{}', {} to {} steps of {})",
        m.source,
        m.series.len(),
        m.id_column,
        lens.iter().min().unwrap_or(&0),
        lens.iter().max().unwrap_or(&0),
        m.step.describe()
    );
    println!(
        "inputs     tau = {}, m = {} lags of '{}', {:?} normalization per series, transform {:?}",
        m.embedding.tau, m.embedding.dim, m.target, m.normalize, m.transform
    );
    println!(
        "model      one global network, {:?} strategy, horizon {}, {} parameters, season {}",
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
    println!(
        "intervals  conformal per step from {} pooled validation errors (step 1)",
        m.residuals.first().map_or(0, Vec::len)
    );
}

fn summary_json(f: &GlobalForecaster) -> serde_json::Value {
    let m = &f.meta;
    serde_json::json!({
        "id_column": m.id_column,
        "series": m.series.len(),
        "tau": m.embedding.tau,
        "m": m.embedding.dim,
        "season": m.season,
        "strategy": m.strategy,
        "horizon": m.horizon,
        "parameters": f.model.network().n_params(),
    })
}

pub(super) fn fit(args: FitArgs) -> Result<ExitCode> {
    crate::output::check_writable("--out", &args.out)?;
    if args.plot.is_some() {
        bail!("--plot draws one series; it is not available with --id-column");
    }
    interval_method(&args.output)?;
    if !args.models.trim().eq_ignore_ascii_case("all") {
        bail!("--models: a panel model is one global network; compare it with `backtest`");
    }
    let panel = load_panel(&args.series)?;
    let settings = panel_settings(&args.model)?;
    let forecaster = GlobalForecaster::fit(&panel, &settings)?;
    forecaster
        .save(&args.out)
        .with_context(|| format!("saving {}", args.out.display()))?;
    if !(args.output.quiet || args.output.json) {
        describe(&forecaster);
        println!("saved      {}", args.out.display());
    }
    Ok(super::finish_fit(
        &args,
        &forecaster.model,
        ("global", summary_json(&forecaster)),
    ))
}

/// `id,time,target,lower,upper`, one row per id and step.
fn panel_csv(f: &GlobalForecaster, forecasts: &[(String, Forecast)]) -> String {
    let m = &f.meta;
    let mut out = format!(
        "{},{},{},lower,upper\n",
        m.id_column, m.time_column, m.target
    );
    let cell = |b: &Option<Vec<Vec<f64>>>, h: usize| {
        b.as_ref()
            .map_or(String::new(), |v| format!("{:.6}", v[0][h]))
    };
    for (id, fc) in forecasts {
        for (h, &t) in fc.times.iter().enumerate() {
            out.push_str(&format!(
                "{id},{},{:.6},{},{}\n",
                format_time(t, m.time_kind),
                fc.values[0][h],
                cell(&fc.lower, h),
                cell(&fc.upper, h)
            ));
        }
    }
    out
}

pub(super) fn predict(args: PredictArgs) -> Result<ExitCode> {
    if args.plot.is_some() {
        bail!("--plot draws one series; it is not available for a panel model");
    }
    let method = interval_method(&args.output)?;
    let forecaster = GlobalForecaster::load(&args.model)?;
    let m = &forecaster.meta;
    let Some(path) = &args.data else {
        bail!(
            "--data: a panel model forecasts the series of a long-format CSV with columns {}, {}, {}",
            m.id_column,
            m.time_column,
            m.target
        );
    };
    let columns = PanelColumns {
        id: m.id_column.clone(),
        time: m.time_column.clone(),
        target: m.target.clone(),
        fill: parse_fill(&args.fill)?,
    };
    let panel = Panel::load(path, &columns)?;
    let steps = args.horizon.unwrap_or(m.horizon);
    let forecasts = forecaster.forecast(&panel, steps, method, args.output.level)?;
    let csv = panel_csv(&forecaster, &forecasts);
    match &args.out {
        Some(out) => {
            mlp::io::tensor_file::atomic_write(out, csv.as_bytes())?;
            if !(args.output.quiet || args.output.json) {
                println!(
                    "wrote {steps} steps for each of {} series to {}",
                    forecasts.len(),
                    out.display()
                );
            }
        }
        None if !args.output.json => std::io::stdout().write_all(csv.as_bytes())?,
        None => {}
    }
    if args.output.json {
        let rows: Vec<serde_json::Value> = forecasts
            .iter()
            .map(|(id, f)| {
                serde_json::json!({
                    "id": id,
                    "time": f.times.iter().map(|&t| format_time(t, m.time_kind)).collect::<Vec<_>>(),
                    "values": f.values[0],
                    "lower": f.lower.as_ref().map(|v| &v[0]),
                    "upper": f.upper.as_ref().map(|v| &v[0]),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "target": m.target, "level": args.output.level, "series": rows })
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn info(args: InfoArgs) -> Result<ExitCode> {
    let forecaster = GlobalForecaster::load(&args.model)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&forecaster.meta)?);
    } else {
        describe(&forecaster);
        println!(
            "{:<12} {:>6} {:>6} {:>12}",
            "id", "train", "season", "scale"
        );
        for s in &forecaster.meta.series {
            println!(
                "{:<12} {:>6} {:>6} {:>12.4}",
                s.id, s.train_len, s.season, s.scaler.scale
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_panel_report(r: &PanelBacktest) {
    let line = |name: &str, s: &mlp::forecast::global::PanelScore| {
        let cov = s
            .coverage
            .map_or(String::from("-"), |c| format!("{:.1}%", 100.0 * c));
        println!(
            "  {:<22} {:>7.3} {:>8.3} {:>6.3} {:>9}",
            name,
            s.mase,
            100.0 * s.smape,
            s.owa,
            cov
        );
    };
    println!(
        "backtest   horizon {}, {:.0}% intervals; the global network is fitted once before the test parts, the baselines per series",
        r.horizon,
        100.0 * r.level
    );
    println!(
        "  {:<22} {:>7} {:>8} {:>6} {:>9}",
        "method", "MASE", "sMAPE%", "OWA", "coverage"
    );
    for s in &r.series {
        println!(
            "[{}] {} origins, train {}, season {}",
            s.id, s.origins, s.train_len, s.season
        );
        for sc in &s.scores {
            line(&sc.method, sc);
        }
        for note in &s.skipped {
            println!("  skipped {note}");
        }
    }
    println!("[mean over {} series]", r.series.len());
    for sc in &r.aggregate {
        line(&sc.method, sc);
    }
}

pub(super) fn backtest(args: BacktestArgs) -> Result<ExitCode> {
    let method = interval_method(&args.output)?;
    let panel = load_panel(&args.series)?;
    let settings = panel_settings(&args.model)?;
    let mut bt = BacktestSettings::default();
    bt.test_fraction = args.test_fraction;
    bt.stride = args.stride;
    bt.intervals = method;
    bt.level = args.output.level;
    bt.ar_order = args.ar_order;
    bt.seed = args.model.seed;
    bt.methods = Method::parse_list(&args.models)?;
    bt.refit = Refit::parse(&args.refit)?;
    let (report, forecaster) = backtest_panel(&panel, &settings, &bt)?;
    if let Some(out) = &args.out {
        forecaster
            .save(out)
            .with_context(|| format!("saving {}", out.display()))?;
    }
    if !(args.output.quiet || args.output.json) {
        describe(&forecaster);
        print_panel_report(&report);
    }
    if args.output.json {
        println!(
            "{}",
            serde_json::json!({ "global": summary_json(&forecaster), "backtest": report })
        );
    }
    Ok(ExitCode::SUCCESS)
}
