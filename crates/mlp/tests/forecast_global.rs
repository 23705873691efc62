//! Global models over a panel (`mlp::forecast::global`): a long CSV with unsorted ids and rows
//! becomes one series per id; one network fits them all; forecasts are per id, scale with their
//! series, survive the model file; bad input is one line naming the id.

use mlp::data::csv::read_csv_from_reader;
use mlp::forecast::backtest::BacktestSettings;
use mlp::forecast::forecaster::{ForecastSettings, LagSetting};
use mlp::forecast::global::{GlobalForecaster, Panel, PanelColumns, backtest_panel};
use mlp::forecast::intervals::IntervalMethod;
use mlp::forecast::window::Embedding;
use mlp::rng::Rng;

/// Series `(id, start, length, level, amplitude)`: a season of 12 with trend and noise, each
/// in its own units.
const SPECS: [(&str, usize, usize, f64, f64); 4] = [
    ("a", 0, 120, 100.0, 10.0),
    ("b", 10, 96, 5.0, 1.0),
    ("c", 3, 150, 2000.0, 300.0),
    ("d", 20, 108, 50.0, 4.0),
];

fn values(k: usize, len: usize, level: f64, amp: f64) -> Vec<f64> {
    let mut rng = Rng::seed_from(7 + k as u64);
    (0..len)
        .map(|t| {
            let season = (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin();
            level + amp * (season + 0.01 * t as f64 + 0.05 * rng.normal() as f64)
        })
        .collect()
}

/// The long CSV of the panel, series `multiply.0` multiplied by `multiply.1`; rows interleaved
/// across ids and in reverse time order within each id (the loader sorts).
fn panel_csv(multiply: (&str, f64)) -> String {
    let mut rows = Vec::new();
    for (k, &(id, start, len, level, amp)) in SPECS.iter().enumerate() {
        let f = if id == multiply.0 { multiply.1 } else { 1.0 };
        for (t, v) in values(k, len, level, amp).iter().enumerate() {
            rows.push((t, format!("{id},{},{}\n", start + t, v * f)));
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut s = String::from("id,t,y\n");
    for (_, r) in rows {
        s.push_str(&r);
    }
    s
}

fn columns() -> PanelColumns {
    PanelColumns {
        id: "id".into(),
        time: "t".into(),
        target: "y".into(),
        fill: None,
    }
}

fn panel(text: &str) -> mlp::Result<Panel> {
    let table = read_csv_from_reader("panel.csv", text.as_bytes(), None)?;
    Panel::from_table(&table, &columns())
}

fn settings() -> ForecastSettings {
    let mut s = ForecastSettings::default();
    s.horizon = 6;
    s.lags = LagSetting::Fixed(Embedding { tau: 1, dim: 12 });
    s.arch.widths = vec![32];
    s.train = s.train.clone().with_threads(1).with_seed(3).with_epochs(60);
    s
}

#[test]
fn loads_unsorted_rows_per_id_with_their_own_starts_and_lengths() {
    let p = panel(&panel_csv(("", 1.0))).expect("panel");
    let ids: Vec<&str> = p.series.iter().map(|s| s.id.as_str()).collect();
    // First appearance in the file: the rows start with the last time of the longest series.
    assert_eq!(ids, ["c", "a", "d", "b"]);
    for s in &p.series {
        let (k, spec) = SPECS
            .iter()
            .enumerate()
            .find(|(_, sp)| sp.0 == s.id)
            .expect("id");
        assert_eq!(s.series.history_len(), spec.2);
        assert_eq!(s.series.times[0], spec.1 as f64);
        let want = values(k, spec.2, spec.3, spec.4);
        for (got, w) in s.series.targets[0].values.iter().zip(&want) {
            assert!((got - w).abs() < 1e-9);
        }
    }
}

#[test]
fn one_network_forecasts_every_id_and_survives_the_model_file() {
    let p = panel(&panel_csv(("", 1.0))).expect("panel");
    let model = GlobalForecaster::fit(&p, &settings()).expect("fit");
    assert_eq!(model.meta.season, 12);
    assert_eq!(model.meta.series.len(), 4);
    assert_eq!(model.meta.residuals.len(), 6);
    let fc = model
        .forecast(&p, 6, IntervalMethod::Conformal, 0.9)
        .expect("forecast");
    assert_eq!(fc.len(), 4);
    for (id, f) in &fc {
        let k = SPECS.iter().position(|s| s.0 == id).expect("id");
        let (_, start, len, level, amp) = SPECS[k];
        assert_eq!(f.times[0], (start + len) as f64);
        let truth = values(k, len + 6, level, amp);
        let (lo, hi) = (
            &f.lower.as_ref().expect("lower")[0],
            &f.upper.as_ref().expect("upper")[0],
        );
        for h in 0..6 {
            let v = f.values[0][h];
            assert!(lo[h] <= v && v <= hi[h], "{id} step {h}");
            // Within half an amplitude of the next values (seasonal naive's error is ~0.1).
            assert!(
                (v - truth[len + h]).abs() < 0.5 * amp,
                "{id} step {h}: {v} vs {}",
                truth[len + h]
            );
        }
    }
    let dir = std::env::temp_dir().join(format!("mlp-global-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("g.safetensors");
    model.save(&path).expect("save");
    assert!(GlobalForecaster::is_global_file(&path).expect("peek"));
    let back = GlobalForecaster::load(&path).expect("load");
    let again = back
        .forecast(&p, 6, IntervalMethod::Conformal, 0.9)
        .expect("forecast");
    assert_eq!(again, fc);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn multiplying_one_series_by_1000_multiplies_its_forecast_by_1000() {
    let s = settings();
    let base = panel(&panel_csv(("", 1.0))).expect("panel");
    let scaled = panel(&panel_csv(("b", 1000.0))).expect("panel");
    let f0 = GlobalForecaster::fit(&base, &s)
        .expect("fit")
        .forecast(&base, 6, IntervalMethod::Conformal, 0.9)
        .expect("forecast");
    let f1 = GlobalForecaster::fit(&scaled, &s)
        .expect("fit")
        .forecast(&scaled, 6, IntervalMethod::Conformal, 0.9)
        .expect("forecast");
    for ((id, a), (_, b)) in f0.iter().zip(&f1) {
        let factor = if id == "b" { 1000.0 } else { 1.0 };
        for (x, y) in [
            (&a.values, &b.values),
            (a.lower.as_ref().expect("lo"), b.lower.as_ref().expect("lo")),
            (a.upper.as_ref().expect("hi"), b.upper.as_ref().expect("hi")),
        ] {
            for (u, v) in x[0].iter().zip(&y[0]) {
                assert!(
                    (u * factor - v).abs() <= 1e-4 * v.abs().max(1.0),
                    "{id}: {u} x {factor} vs {v}"
                );
            }
        }
    }
}

#[test]
fn backtest_scores_the_global_model_beside_per_series_baselines() {
    let p = panel(&panel_csv(("", 1.0))).expect("panel");
    let mut bt = BacktestSettings::default();
    bt.stride = 3;
    bt.intervals = IntervalMethod::Conformal;
    let (report, _) = backtest_panel(&p, &settings(), &bt).expect("backtest");
    assert_eq!(report.series.len(), 4);
    let keys: Vec<&str> = report.aggregate.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys[0], "global_mlp");
    assert!(keys.contains(&"snaive") && keys.contains(&"naive2"));
    let get = |k: &str| report.aggregate.iter().find(|s| s.key == k).expect(k);
    let g = get("global_mlp");
    assert!(g.mase.is_finite() && g.owa.is_finite());
    let cov = g.coverage.expect("coverage");
    assert!((0.0..=1.0).contains(&cov));
    // A clean season with trend: the pooled network beats the naive forecast by far.
    assert!(
        g.mase < get("naive").mase,
        "{} vs {}",
        g.mase,
        get("naive").mase
    );
    for s in &report.series {
        assert!(s.origins > 0 && s.scores[0].key == "global_mlp");
    }
}

fn one_line_naming(err: impl std::fmt::Display, id: &str, what: &str) {
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.contains(&format!("series '{id}'")), "{msg}");
    assert!(msg.contains(what), "{msg}");
}

#[test]
fn bad_input_is_one_line_naming_the_id() {
    let good = panel_csv(("", 1.0));
    // A duplicated time within one id (the same time in another id is fine).
    let dup = good.replacen("b,20,", "b,21,", 1);
    one_line_naming(panel(&dup).expect_err("dup"), "b", "appears twice");
    // A gap: one row of series d removed.
    let gap: String = good
        .lines()
        .filter(|l| !l.starts_with("d,50,"))
        .map(|l| format!("{l}\n"))
        .collect();
    one_line_naming(panel(&gap).expect_err("gap"), "d", "gap");
    // Too short to train on.
    let short = format!("{good}e,0,1\ne,1,2\ne,2,3\ne,3,4\n");
    let p = panel(&short).expect("panel");
    one_line_naming(
        GlobalForecaster::fit(&p, &settings()).expect_err("short"),
        "e",
        "at least 20",
    );
    // An id the model has not seen.
    let p = panel(&good).expect("panel");
    let model = GlobalForecaster::fit(&p, &settings()).expect("fit");
    let other = panel(&good.replace("a,", "z,")).expect("panel");
    one_line_naming(
        model
            .forecast(&other, 3, IntervalMethod::None, 0.9)
            .expect_err("unknown"),
        "z",
        "not one the model was trained on",
    );
}
