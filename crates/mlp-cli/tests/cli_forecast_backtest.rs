//! `mlp forecast backtest --models/--refit`: the statistical methods side by side with stable
//! JSON keys, M4 metrics and conformal interval coverage, and one-line errors for bad lists.

mod common;
use common::{TempDir, mlp, run_ok, stderr, stdout};
use serde_json::Value;

/// A monthly series with trend, a yearly season and a little noise (deterministic).
fn seasonal_csv() -> String {
    let mut s = String::from("date,y\n");
    let mut noise = 0.37f64;
    for t in 0..144 {
        noise = (noise * 3.9 * (1.0 - noise)).clamp(0.01, 0.99);
        let y = 100.0
            + 0.5 * t as f64
            + 10.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin()
            + (noise - 0.5);
        s.push_str(&format!("{}-{:02}-01,{y:.4}\n", 2000 + t / 12, t % 12 + 1));
    }
    s
}

#[test]
fn statistical_methods_side_by_side_with_stable_keys() {
    let dir = TempDir::new("fcbase");
    let data = dir.file("s.csv", &seasonal_csv());
    let base = [
        "forecast",
        "backtest",
        "--data",
        &data,
        "--time",
        "date",
        "--target",
        "y",
        "--horizon",
        "6",
        "--stride",
        "2",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--models",
        "naive,snaive,drift,ar,ets,theta,naive2",
        "--json",
    ]);
    let out = run_ok(&args);
    let v: Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    let b = &v["backtest"];
    assert_eq!(b["season"], 12);
    assert_eq!(b["refit_statistical"], "every origin");
    assert!(v["lags"].is_null());
    let scores = b["scores"].as_array().expect("scores");
    let keys: Vec<&str> = scores
        .iter()
        .map(|s| s["key"].as_str().expect("key"))
        .collect();
    assert_eq!(
        keys,
        ["naive", "snaive", "drift", "ar", "ets", "theta", "naive2"]
    );
    let get = |k: &str, f: &str| {
        scores.iter().find(|s| s["key"] == k).expect("method")[f]
            .as_f64()
            .expect(f)
    };
    for k in &keys {
        for f in [
            "mae",
            "rmse",
            "smape",
            "mase",
            "owa",
            "coverage",
            "interval_width",
        ] {
            assert!(get(k, f).is_finite(), "{k} {f}");
        }
    }
    // A clean season with trend: ETS beats seasonal naive and Naive2 (OWA < 1).
    assert!(get("ets", "mase") < get("snaive", "mase"), "{b}");
    assert!(get("ets", "owa") < 1.0, "{b}");
    // Naive2 against itself.
    assert!((get("naive2", "owa") - 1.0).abs() < 1e-9);

    // The table shows every method and the OWA column.
    let mut args = base.to_vec();
    args.extend(["--models", "ets,theta,naive2", "--refit", "none"]);
    let table = stdout(&run_ok(&args));
    for word in [
        "ets(",
        "theta",
        "naive2",
        "OWA",
        "coverage",
        "refits     statistical methods: never",
    ] {
        assert!(table.contains(word), "{word}: {table}");
    }
}

#[test]
fn bad_model_lists_and_refits_fail_with_one_line() {
    let dir = TempDir::new("fcbase-bad");
    let data = dir.file("s.csv", &seasonal_csv());
    let base = [
        "forecast", "backtest", "--data", &data, "--time", "date", "--target", "y",
    ];
    for (extra, want) in [
        (vec!["--models", "arima"], "--models"),
        (vec!["--refit", "0"], "--refit"),
        (vec!["--models", "ets", "--out", "m.safetensors"], "--out"),
    ] {
        let mut args = base.to_vec();
        args.extend(extra.iter().copied());
        let o = mlp(&args);
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(
            err.contains(want) && err.trim().lines().count() == 1,
            "{err}"
        );
    }
}

/// A quarterly series labelled `1971Q1`, `1971Q2`, ... with a quarterly pattern.
fn quarterly_csv() -> String {
    let mut s = String::from("quarter,y\n");
    for t in 0..80 {
        let y = 50.0 + 0.3 * t as f64 + [3.0, -1.0, 1.5, -2.5][t % 4] + 0.1 * ((t * 7) % 5) as f64;
        s.push_str(&format!("{}Q{},{y:.3}\n", 1971 + t / 4, t % 4 + 1));
    }
    s
}

#[test]
fn quarter_labels_are_read_and_written_back_with_the_calendar_season() {
    let dir = TempDir::new("fcquarter");
    let data = dir.file("q.csv", &quarterly_csv());
    let out = run_ok(&[
        "forecast",
        "backtest",
        "--data",
        &data,
        "--time",
        "quarter",
        "--target",
        "y",
        "--horizon",
        "4",
        "--models",
        "naive,snaive",
        "--json",
    ]);
    let v: Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    // Quarterly data: the calendar season, 4.
    assert_eq!(v["backtest"]["season"], 4, "{v}");
    let model = dir.path("q.safetensors");
    let pred = dir.path("p.csv");
    run_ok(&[
        "forecast",
        "fit",
        "--data",
        &data,
        "--time",
        "quarter",
        "--target",
        "y",
        "--horizon",
        "4",
        "--models",
        "snaive",
        "--seed",
        "0",
        "--out",
        &model,
    ]);
    run_ok(&[
        "forecast",
        "predict",
        "--model",
        &model,
        "--data",
        &data,
        "--horizon",
        "4",
        "--out",
        &pred,
    ]);
    let text = std::fs::read_to_string(&pred).expect("predictions");
    let times: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    // 80 quarters from 1971Q1 end in 1990Q4: the forecast is 1991Q1..Q4.
    assert_eq!(times, ["1991Q1", "1991Q2", "1991Q3", "1991Q4"], "{text}");
    // A gap among quarter labels (1975Q3 left out): one line naming the row.
    let gap: String = quarterly_csv()
        .lines()
        .filter(|l| !l.starts_with("1975Q3,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let gap = dir.file("gap.csv", &gap);
    let out = mlp(&[
        "forecast",
        "backtest",
        "--data",
        &gap,
        "--time",
        "quarter",
        "--target",
        "y",
        "--horizon",
        "4",
        "--models",
        "naive",
    ]);
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.trim().lines().count() == 1,
        "{err}"
    );
    assert!(
        err.contains("column 'quarter'") && err.contains("'1975Q2' and '1975Q4'"),
        "{err}"
    );
}
