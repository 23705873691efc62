//! End-to-end forecasting: the acceptance tests of TECHNIQUES.md section 1 (growth series,
//! recursive forecast, MAPE < 5 %), direct vs recursive, exogenous features, automatic lags,
//! the backtest on the shipped CO2 series against the baselines, intervals and model files.

use mlp::data::csv::read_csv_from_reader;
use mlp::forecast::backtest::{BacktestSettings, backtest};
use mlp::forecast::calendar::CalendarFeatures;
use mlp::forecast::forecaster::{ForecastSettings, Forecaster, LagSetting};
use mlp::forecast::intervals::IntervalMethod;
use mlp::forecast::lags::DelayRule;
use mlp::forecast::series::{EmbeddedSeries, Series, SeriesColumns};
use mlp::forecast::strategy::Strategy;
use mlp::forecast::window::{Embedding, Normalize};
use mlp::metrics::mape;
use mlp::rng::Rng;

/// A series with integer time `0..n` from `(y, optional x)` pairs.
fn series(values: &[(f64, Option<f64>)], future_x: &[f64]) -> Series {
    let with_x = values[0].1.is_some();
    let mut text = String::from(if with_x { "t,y,x\n" } else { "t,y\n" });
    for (t, (y, x)) in values.iter().enumerate() {
        match x {
            Some(x) => text.push_str(&format!("{t},{y},{x}\n")),
            None => text.push_str(&format!("{t},{y}\n")),
        }
    }
    for (k, x) in future_x.iter().enumerate() {
        text.push_str(&format!("{},,{x}\n", values.len() + k));
    }
    let table = read_csv_from_reader("generated.csv", text.as_bytes(), None).expect("test setup");
    let columns = SeriesColumns {
        time: "t".into(),
        targets: vec!["y".into()],
        exog: if with_x { vec!["x".into()] } else { vec![] },
        fill: None,
    };
    Series::from_table(&table, &columns).expect("test setup")
}

fn quick_settings(emb: Embedding, horizon: usize, strategy: Strategy) -> ForecastSettings {
    let mut s = {
        let mut c = ForecastSettings::default();
        c.lags = LagSetting::Fixed(emb);
        c.horizon = horizon;
        c.strategy = strategy;
        c
    };
    s.train = s.train.clone().with_threads(1);
    s.train = s.train.clone().with_seed(3);
    s
}

fn growth(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::seed_from(seed);
    (0..n)
        .map(|t| 100.0 * 1.02f64.powi(t as i32) * (1.0 + 0.01 * rng.normal() as f64))
        .collect()
}

fn mape_of(truth: &[f64], pred: &[f64]) -> f64 {
    let t: Vec<f32> = truth.iter().map(|&v| v as f32).collect();
    let p: Vec<f32> = pred.iter().map(|&v| v as f32).collect();
    mape(&t, &p)
}

#[test]
fn growth_series_recursive_forecast_of_the_last_fifth_has_mape_below_5_percent() {
    // y_t = 100 * 1.02^t * (1 + 0.01 eps), 12 lags, first 80 % for training (its own last
    // 15 % validates), then one recursive forecast of the whole last 20 %.
    let y = growth(150, 11);
    let train_len = 120;
    let train: Vec<(f64, Option<f64>)> = y[..train_len].iter().map(|&v| (v, None)).collect();
    let s = series(&train, &[]);
    let settings = quick_settings(Embedding { tau: 1, dim: 12 }, 1, Strategy::Recursive);
    let model = Forecaster::fit(&s, &settings).expect("test setup");
    let f = model
        .forecast(&s, 30, IntervalMethod::None, 0.9, 0)
        .expect("test setup");
    let err = mape_of(&y[train_len..], &f.values[0]);
    eprintln!("growth: recursive 30-step MAPE {:.3} %", 100.0 * err);
    assert!(err < 0.05, "MAPE {err}");
    assert_eq!(f.times, (120..150).map(|t| t as f64).collect::<Vec<_>>());
}

#[test]
fn direct_and_recursive_strategies_both_forecast() {
    // A noisy seasonal series with trend; both strategies must beat the naive forecast by far.
    let mut rng = Rng::seed_from(5);
    let y: Vec<f64> = (0..260)
        .map(|t| {
            50.0 + 0.1 * t as f64
                + 5.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin()
                + 0.2 * rng.normal() as f64
        })
        .collect();
    let s = series(&y.iter().map(|&v| (v, None)).collect::<Vec<_>>(), &[]);
    let bt = {
        let mut c = BacktestSettings::default();
        c.test_fraction = 0.2;
        c.stride = 2;
        c.intervals = IntervalMethod::Residual;
        c
    };
    for strategy in [Strategy::Recursive, Strategy::Direct] {
        let settings = quick_settings(Embedding { tau: 1, dim: 13 }, 6, strategy);
        let (report, model) = backtest(&s, &settings, &bt).expect("test setup");
        assert_eq!(model.meta.block(), strategy.block(6));
        assert_eq!(model.model.network().outputs(), strategy.block(6));
        let mlp = &report.scores[0];
        let naive = report
            .scores
            .iter()
            .find(|r| r.method == "naive")
            .expect("test setup");
        eprintln!(
            "{strategy:?}: MASE mlp {:.3} naive {:.3}, coverage {:?}",
            mlp.mase, naive.mase, mlp.coverage
        );
        assert!(mlp.mase < 0.5 * naive.mase, "{strategy:?}: {mlp:?}");
        assert_eq!(mlp.mae_by_step.len(), 6);
    }
}

#[test]
fn known_future_exogenous_values_are_used() {
    // y_t = 10 + 4 x_t + small noise with x_t a known random on/off switch: only a model that
    // reads the future x can forecast it.
    let mut rng = Rng::seed_from(9);
    let x: Vec<f64> = (0..230).map(|_| f64::from(rng.below(2) as u8)).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|&v| 10.0 + 4.0 * v + 0.05 * rng.normal() as f64)
        .collect();
    let hist: Vec<(f64, Option<f64>)> = (0..200).map(|t| (y[t], Some(x[t]))).collect();
    let s = series(&hist, &x[200..]);
    assert_eq!(s.future_len(), 30);
    let mut settings = quick_settings(Embedding { tau: 1, dim: 3 }, 1, Strategy::Recursive);
    settings.normalize = Normalize::Global;
    let model = Forecaster::fit(&s, &settings).expect("test setup");
    let f = model
        .forecast(&s, 30, IntervalMethod::None, 0.9, 0)
        .expect("test setup");
    let err = mape_of(&y[200..], &f.values[0]);
    eprintln!("exogenous: 30-step MAPE {:.3} %", 100.0 * err);
    assert!(err < 0.03, "MAPE {err}");
    // Asking past the known future values is an error, not a silent guess.
    let e = model
        .forecast(&s, 31, IntervalMethod::None, 0.9, 0)
        .expect_err("should be refused")
        .to_string();
    assert!(
        e.contains("future values of the exogenous column(s) x"),
        "{e}"
    );
}

#[test]
fn automatic_lags_are_chosen_stored_and_used() {
    // A noisy sine of period 24: the autocorrelation first crosses zero near a quarter period.
    let mut rng = Rng::seed_from(1);
    let y: Vec<f64> = (0..300)
        .map(|t| (2.0 * std::f64::consts::PI * t as f64 / 24.0).sin() + 0.05 * rng.normal() as f64)
        .collect();
    let s = series(&y.iter().map(|&v| (v, None)).collect::<Vec<_>>(), &[]);
    let mut settings = quick_settings(Embedding { tau: 1, dim: 1 }, 4, Strategy::Recursive);
    settings.lags = LagSetting::Auto { max_dim: 8 };
    settings.normalize = Normalize::Global;
    settings.train = settings.train.clone().with_epochs(5);
    let model = Forecaster::fit(&s, &settings).expect("test setup");
    let choice = model.meta.lag_choice.as_ref().expect("test setup");
    eprintln!("auto lags on a sine: {choice:?}");
    assert!((5..=7).contains(&choice.tau), "{choice:?}");
    assert!(matches!(
        choice.tau_rule,
        DelayRule::AcfZero | DelayRule::AmiMinimum
    ));
    assert!((2..=4).contains(&choice.dim), "{choice:?}");
    assert_eq!(model.meta.embedding.tau, choice.tau);
    assert_eq!(model.model.network().inputs(), choice.dim);
    assert_eq!(choice.e1.len(), 8);
}

#[test]
fn co2_backtest_mlp_beats_seasonal_naive_and_matches_ar() {
    let co2 = EmbeddedSeries::Co2.load().expect("test setup");
    let mut settings = ForecastSettings::default();
    settings.train = settings.train.clone().with_threads(1);
    let bt = BacktestSettings::default();
    let (report, model) = backtest(&co2, &settings, &bt).expect("test setup");
    // Monthly data: the month one-hots are on, the season is a year.
    assert_eq!(
        model.meta.calendar,
        CalendarFeatures {
            day_of_week: false,
            month: true
        }
    );
    assert_eq!(report.season, 12);
    for s in &report.scores {
        eprintln!(
            "co2 {:<20} RMSE {:.3} MAE {:.3} MAPE {:.3}% SMAPE {:.3}% MASE {:.3} R2 {:.3} cum {:.3}% cov {:?}",
            s.method,
            s.rmse,
            s.mae,
            100.0 * s.mape,
            100.0 * s.smape,
            s.mase,
            s.r2,
            100.0 * s.cumulative_error,
            s.coverage
        );
    }
    let get = |prefix: &str| {
        report
            .scores
            .iter()
            .find(|s| s.method.starts_with(prefix))
            .expect("test setup")
    };
    let (mlp, snaive, ar) = (get("mlp"), get("seasonal_naive"), get("ar("));
    assert!(
        mlp.mase < snaive.mase,
        "mlp {} vs seasonal naive {}",
        mlp.mase,
        snaive.mase
    );
    assert!(
        mlp.mase < 1.2 * ar.mase,
        "mlp {} vs {} {}",
        mlp.mase,
        ar.method,
        ar.mase
    );
    let coverage = mlp.coverage.expect("test setup");
    assert!((0.6..=1.0).contains(&coverage), "coverage {coverage}");
    assert!(report.origins >= 90 && report.horizon == 12);
}

#[test]
fn mc_dropout_intervals_bracket_the_forecast_and_are_reproducible() {
    let y = growth(140, 2);
    let s = series(&y.iter().map(|&v| (v, None)).collect::<Vec<_>>(), &[]);
    let mut settings = quick_settings(Embedding { tau: 1, dim: 6 }, 3, Strategy::Recursive);
    settings.arch.dropout = 0.1;
    settings.train = settings.train.clone().with_epochs(60);
    let model = Forecaster::fit(&s, &settings).expect("test setup");
    let method = IntervalMethod::McDropout { samples: 40 };
    let a = model.forecast(&s, 5, method, 0.8, 7).expect("test setup");
    let b = model.forecast(&s, 5, method, 0.8, 7).expect("test setup");
    assert_eq!(a, b);
    let (lo, hi) = (a.lower.expect("test setup"), a.upper.expect("test setup"));
    for h in 0..5 {
        assert!(lo[0][h] < hi[0][h], "step {h}: {} {}", lo[0][h], hi[0][h]);
    }
    // Without dropout, MC intervals are refused with a reason.
    settings.arch.dropout = 0.0;
    settings.train = settings.train.clone().with_epochs(2);
    let plain = Forecaster::fit(&s, &settings).expect("test setup");
    let e = plain
        .forecast(&s, 5, method, 0.8, 7)
        .expect_err("should be refused")
        .to_string();
    assert!(e.contains("`dropout`"), "{e}");
}

#[test]
fn saved_forecaster_round_trips_and_truncated_files_are_refused() {
    let y = growth(100, 4);
    let s = series(&y.iter().map(|&v| (v, None)).collect::<Vec<_>>(), &[]);
    let mut settings = quick_settings(Embedding { tau: 2, dim: 4 }, 3, Strategy::Direct);
    settings.train = settings.train.clone().with_epochs(20);
    let model = Forecaster::fit(&s, &settings).expect("test setup");
    let dir = std::env::temp_dir().join(format!("mlp-forecast-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("test setup");
    let path = dir.join("model.safetensors");
    model.save(&path).expect("test setup");
    let back = Forecaster::load(&path).expect("test setup");
    assert_eq!(back.meta, model.meta);
    let f1 = model
        .forecast(&s, 7, IntervalMethod::Residual, 0.9, 0)
        .expect("test setup");
    let f2 = back
        .forecast(&s, 7, IntervalMethod::Residual, 0.9, 0)
        .expect("test setup");
    assert_eq!(f1, f2);
    let bytes = std::fs::read(&path).expect("test setup");
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("test setup");
    let e = Forecaster::load(&cut)
        .expect_err("should be refused")
        .to_string();
    assert!(e.contains("cut.safetensors") && !e.contains('\n'), "{e}");
    // A plain regression model file is not a forecaster.
    let mut file = mlp::io::TensorFile::read(&path).expect("test setup");
    file.metadata.remove("forecast_version");
    let plain = dir.join("plain.safetensors");
    file.write(&plain).expect("test setup");
    let e = Forecaster::load(&plain)
        .expect_err("should be refused")
        .to_string();
    assert!(e.contains("not a forecaster"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
