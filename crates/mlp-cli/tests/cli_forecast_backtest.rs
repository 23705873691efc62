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
