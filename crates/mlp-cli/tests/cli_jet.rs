//! `mlp jet` (Taylor-jet input derivatives in raw units) and `mlp pinn` end to end at small
//! size.

mod common;
use common::{TempDir, mlp, run_ok as ok, stderr, stdout};

fn table(rows: usize) -> String {
    let mut s = String::from("a,b,color,y\n");
    for i in 0..rows {
        // Raw scales far from 1, so a missing standardisation shows.
        let a = (i as f64 * 0.37).sin() * 30.0 + 100.0;
        let b = (i as f64 * 0.11).cos() * 0.02;
        let color = ["red", "green"][i % 2];
        let y = (a / 20.0).sin() * 50.0 + 2000.0 * b + if i % 2 == 0 { 10.0 } else { 0.0 };
        s.push_str(&format!("{a:.5},{b:.6},{color},{y:.5}\n"));
    }
    s
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(stdout(out).trim()).expect("JSON output")
}

#[test]
fn jet_directional_derivatives_in_raw_units() {
    let dir = TempDir::new("jet-cli");
    let data = dir.file("t.csv", &table(120));
    let model = dir.path("m.safetensors");
    ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--out",
        &model,
        "--hidden",
        "12,12",
        "--activation",
        "tanh",
        "--epochs",
        "20",
        "--seed",
        "3",
    ]);
    let point = dir.file("x.csv", "a,b,color\n105.5,0.004,red\n");
    let direction = dir.file("d.csv", "a,b,color\n2.0,-0.01,\n");
    let doc = json(&ok(&[
        "jet",
        "--model",
        &model,
        "--point",
        &point,
        "--direction",
        &direction,
        "--order",
        "3",
        "--json",
    ]));
    let d = doc["directional"].as_array().expect("directional");
    assert_eq!(d.len(), 1);
    let d1 = d[0][0].as_f64().expect("d1");
    assert_eq!(d[0].as_array().expect("orders").len(), 3);
    // Central difference of the model's own predictions (f32, raw units in and out).
    let f = |t: f64| -> f64 {
        let raw = dir.file(
            "p.csv",
            &format!("a,b,color\n{},{},red\n", 105.5 + 2.0 * t, 0.004 - 0.01 * t),
        );
        let out = ok(&["predict", "--model", &model, "--data", &raw]);
        let text = stdout(&out);
        let line = text.lines().nth(1).expect("a prediction row");
        line.trim().parse::<f64>().expect("a number")
    };
    let h = 0.05;
    let fd = (f(h) - f(-h)) / (2.0 * h);
    assert!(
        (d1 - fd).abs() <= 2e-2 * fd.abs().max(1.0),
        "jet {d1} vs finite difference {fd}"
    );
    // Without a direction: gradient and Hessian per output, named.
    let doc = json(&ok(&[
        "jet", "--model", &model, "--point", &point, "--order", "2", "--json",
    ]));
    assert_eq!(doc["outputs"][0], "y");
    assert_eq!(doc["inputs"].as_array().expect("inputs").len(), 4);
    let g = doc["gradient"][0].as_array().expect("gradient");
    let along = 2.0 * g[0].as_f64().expect("g") - 0.01 * g[1].as_f64().expect("g");
    assert!(
        (along - d1).abs() <= 1e-6 * d1.abs().max(1.0),
        "{along} vs {d1}"
    );
    let hess = doc["hessian"][0].as_array().expect("hessian");
    assert_eq!(hess[0][1], hess[1][0]);
    // Errors are one line, naming the file.
    let bad = dir.file("bad.csv", "a,b,color\nfoo,0.1,red\n");
    let o = mlp(&[
        "jet",
        "--model",
        &model,
        "--point",
        &point,
        "--direction",
        &bad,
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.csv"), "{}", stderr(&o));
}

#[test]
fn pinn_heat_writes_a_predictable_model() {
    let dir = TempDir::new("pinn-cli");
    let model = dir.path("heat.safetensors");
    let doc = json(&ok(&[
        "pinn",
        "--example",
        "heat",
        "--hidden",
        "10,10",
        "--epochs",
        "150",
        "--lr",
        "0.01",
        "--lbfgs-iters",
        "100",
        "--collocation",
        "150",
        "--boundary",
        "40",
        "--out",
        &model,
        "--json",
    ]));
    let err = doc["rel_l2"].as_f64().expect("rel_l2");
    assert!(err < 0.1, "{doc}");
    let pts = dir.file("pts.csv", "x,t\n0.5,0.0\n-0.5,0.5\n");
    let out = stdout(&ok(&["predict", "--model", &model, "--data", &pts]));
    let vals: Vec<f64> = out
        .lines()
        .skip(1)
        .map(|l| l.trim().parse().expect("number"))
        .collect();
    assert!((vals[0] - 1.0).abs() < 0.1, "{out}");
    let exact = -(-0.1f64 * std::f64::consts::PI.powi(2) * 0.5).exp();
    assert!((vals[1] - exact).abs() < 0.1, "{out}");
}
