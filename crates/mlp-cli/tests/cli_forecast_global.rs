//! `mlp forecast fit/predict/backtest/info --id-column`: one global network on a long-format
//! panel; predictions for every id; per-id and mean scores beside the per-series baselines;
//! bad input as one line naming the id.

mod common;
use common::{TempDir, mlp, run_ok, stderr, stdout};
use serde_json::Value;

/// Three monthly series with a yearly season, different units, lengths and starts; rows
/// interleaved across ids (sorted by date, then id) as a long export would be.
fn panel_csv() -> String {
    let specs = [
        ("north", 0, 72, 100.0, 8.0),
        ("south", 6, 60, 2.0, 0.3),
        ("east", 3, 84, 5000.0, 600.0),
    ];
    let mut rows = Vec::new();
    for (k, &(id, start, len, level, amp)) in specs.iter().enumerate() {
        let mut noise = 0.3 + 0.1 * k as f64;
        for t in 0..len {
            noise = (noise * 3.9 * (1.0 - noise)).clamp(0.01, 0.99);
            let m = start + t;
            let season = (2.0 * std::f64::consts::PI * m as f64 / 12.0).sin();
            let y = level + amp * (season + 0.01 * t as f64 + 0.1 * (noise - 0.5));
            let date = format!("{}-{:02}-01", 2000 + m / 12, m % 12 + 1);
            rows.push((date, id, y));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    let mut s = String::from("store,date,sales\n");
    for (d, id, y) in rows {
        s.push_str(&format!("{id},{d},{y:.4}\n"));
    }
    s
}

fn fit_args<'a>(data: &'a str, model: &'a str) -> Vec<&'a str> {
    vec![
        "forecast",
        "fit",
        "--data",
        data,
        "--id-column",
        "store",
        "--time",
        "date",
        "--target",
        "sales",
        "--horizon",
        "4",
        "--hidden",
        "16",
        "--epochs",
        "40",
        "--out",
        model,
    ]
}

#[test]
fn fit_predict_info_for_every_id() {
    let dir = TempDir::new("fcglobal");
    let data = dir.file("panel.csv", &panel_csv());
    let model = dir.path("m.safetensors");
    let out = run_ok(&fit_args(&data, &model));
    let text = stdout(&out);
    assert!(text.contains("3 series by 'store'"), "{text}");
    assert!(text.contains("Direct strategy"), "{text}");

    let pred = dir.path("p.csv");
    run_ok(&[
        "forecast", "predict", "--model", &model, "--data", &data, "--out", &pred,
    ]);
    let csv = std::fs::read_to_string(&pred).expect("prediction");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("store,date,sales,lower,upper"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 12);
    for id in ["north", "south", "east"] {
        let mine: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == id).collect();
        assert_eq!(mine.len(), 4, "{id}");
        for r in mine {
            let v: Vec<f64> = r[2..].iter().map(|c| c.parse().expect("number")).collect();
            assert!(v[1] <= v[0] && v[0] <= v[2], "{r:?}");
        }
    }
    // South ends at 2005-06 (start 2000-07, 60 months): its forecast starts a month later.
    assert!(
        rows.iter().any(|r| r[0] == "south" && r[1] == "2005-07-01"),
        "{csv}"
    );
    // Forecasts live in each series' own units.
    let first = |id: &str| -> f64 {
        rows.iter().find(|r| r[0] == id).expect("row")[2]
            .parse()
            .expect("number")
    };
    assert!(first("east") > 1000.0 && first("south") < 10.0);

    let info = run_ok(&["forecast", "info", "--model", &model]);
    let text = stdout(&info);
    for id in ["north", "south", "east"] {
        assert!(text.contains(id), "{text}");
    }
    let json = run_ok(&["forecast", "info", "--model", &model, "--json"]);
    let v: Value = serde_json::from_str(&stdout(&json)).expect("json");
    assert_eq!(v["id_column"], "store");
    assert_eq!(v["series"].as_array().expect("series").len(), 3);
}

#[test]
fn backtest_reports_every_id_and_the_mean() {
    let dir = TempDir::new("fcglobal-bt");
    let data = dir.file("panel.csv", &panel_csv());
    let out = run_ok(&[
        "forecast",
        "backtest",
        "--data",
        &data,
        "--id-column",
        "store",
        "--time",
        "date",
        "--target",
        "sales",
        "--horizon",
        "4",
        "--hidden",
        "16",
        "--epochs",
        "40",
        "--stride",
        "2",
        "--json",
    ]);
    let v: Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    let b = &v["backtest"];
    let series = b["series"].as_array().expect("series");
    assert_eq!(series.len(), 3);
    for s in series {
        let keys: Vec<&str> = s["scores"]
            .as_array()
            .expect("scores")
            .iter()
            .map(|r| r["key"].as_str().expect("key"))
            .collect();
        assert_eq!(keys[0], "global_mlp");
        assert!(
            keys.contains(&"snaive") && keys.contains(&"ets"),
            "{keys:?}"
        );
        assert!(s["scores"][0]["mase"].as_f64().expect("mase").is_finite());
        assert!(s["scores"][0]["coverage"].as_f64().is_some());
    }
    let agg = b["aggregate"].as_array().expect("aggregate");
    assert_eq!(agg[0]["key"], "global_mlp");
    assert!(agg[0]["owa"].as_f64().expect("owa").is_finite());
}

#[test]
fn bad_panels_fail_with_one_line_naming_the_id() {
    let dir = TempDir::new("fcglobal-bad");
    let good = panel_csv();
    let model = dir.path("m.safetensors");
    let check = |name: &str, text: &str, want: &[&str]| {
        let data = dir.file(name, text);
        let o = mlp(&fit_args(&data, &model));
        assert!(!o.status.success(), "{name}");
        let err = stderr(&o);
        assert!(err.trim().lines().count() == 1, "{name}: {err}");
        for w in want {
            assert!(err.contains(w), "{name}: {err}");
        }
    };
    let dup = good.replacen("south,2001-01-01,", "south,2001-02-01,", 1);
    check(
        "dup.csv",
        &dup,
        &["series 'south'", "appears twice", "2001-02-01"],
    );
    let gap: String = good
        .lines()
        .filter(|l| !l.starts_with("east,2003-05-01"))
        .map(|l| format!("{l}\n"))
        .collect();
    check("gap.csv", &gap, &["series 'east'", "gap"]);
    let short = format!("{good}west,2001-01-01,1\nwest,2001-02-01,2\nwest,2001-03-01,3\n");
    check("short.csv", &short, &["series 'west'", "at least 20"]);

    // Predicting an id the model was not trained on.
    let data = dir.file("panel.csv", &good);
    run_ok(&fit_args(&data, &model));
    let other = dir.file("other.csv", &good.replace("north,", "west,"));
    let o = mlp(&["forecast", "predict", "--model", &model, "--data", &other]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.trim().lines().count() == 1 && err.contains("series 'west'"),
        "{err}"
    );
}
