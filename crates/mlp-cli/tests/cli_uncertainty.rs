//! `mlp train --calibration-fraction / --calibrate temperature`, `mlp predict --interval /
//! --prediction-sets / --mc-samples`, `mlp eval`'s ECE, Brier score and reliability diagram, and
//! the one-line errors for options a model cannot honour.

mod common;
use common::{TempDir, mlp, run_ok, stderr, stdout};

/// Deterministic pseudo-random numbers in [0, 1) (a tiny LCG; the tests need no quality).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Roughly normal: the sum of 4 uniforms, centred and scaled to unit variance.
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.next()).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

/// `y = x1 + 2 x2 + noise`: `n` rows.
fn regression_csv(n: usize, seed: u64) -> String {
    let mut r = Lcg(seed);
    let mut s = String::from("x1,x2,y\n");
    for _ in 0..n {
        let (a, b) = (r.normal(), r.normal());
        let y = a + 2.0 * b + 0.5 * r.normal();
        s.push_str(&format!("{a:.4},{b:.4},{y:.4}\n"));
    }
    s
}

/// Three overlapping classes around three centres: `n` rows.
fn class_csv(n: usize, seed: u64) -> String {
    let mut r = Lcg(seed);
    let names = ["ant", "bee", "cat"];
    let centres = [(0.0, 0.0), (1.5, 0.0), (0.0, 1.5)];
    let mut s = String::from("x1,x2,kind\n");
    for i in 0..n {
        let c = i % 3;
        let (a, b) = (centres[c].0 + r.normal(), centres[c].1 + r.normal());
        s.push_str(&format!("{a:.4},{b:.4},{}\n", names[c]));
    }
    s
}

fn train(data: &str, target: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--data",
        data,
        "--target",
        target,
        "--out",
        out,
        "--hidden",
        "8",
        "--epochs",
        "30",
        "--seed",
        "1",
        "--threads",
        "1",
    ];
    args.extend_from_slice(extra);
    run_ok(&args)
}

/// Runs `mlp` expecting failure; returns stderr after checking it is one `error:` line.
fn one_line_error(args: &[&str]) -> String {
    let o = mlp(args);
    assert!(
        !o.status.success(),
        "mlp {args:?} succeeded: {}",
        stdout(&o)
    );
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "not one line: {err}");
    assert!(lines[0].starts_with("error:"), "{err}");
    err
}

#[test]
fn regression_intervals_cover_held_out_rows() {
    let dir = TempDir::new("unc-reg");
    let data = dir.file("train.csv", &regression_csv(400, 1));
    let test = dir.file("test.csv", &regression_csv(300, 2));
    let model = dir.path("m.safetensors");
    let o = train(&data, "y", &model, &["--calibration-fraction", "0.25"]);
    assert!(
        stdout(&o).contains("100 calibration rows scored"),
        "{}",
        stdout(&o)
    );
    let o = run_ok(&[
        "predict",
        "--model",
        &model,
        "--data",
        &test,
        "--interval",
        "0.9",
    ]);
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("y,lower,upper"));
    let truth: Vec<f64> = regression_csv(300, 2)
        .lines()
        .skip(1)
        .map(|l| {
            l.rsplit(',')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("y")
        })
        .collect();
    let mut covered = 0;
    let mut rows = 0;
    for (line, y) in lines.zip(&truth) {
        let v: Vec<f64> = line
            .split(',')
            .map(|c| c.parse().expect("number"))
            .collect();
        assert!(v[1] <= v[0] && v[0] <= v[2], "{line}");
        // Same width everywhere: split conformal adds one threshold.
        assert!(((v[2] - v[0]) - (v[0] - v[1])).abs() < 1e-3, "{line}");
        covered += usize::from(v[1] <= *y && *y <= v[2]);
        rows += 1;
    }
    assert_eq!(rows, 300);
    // 300 test rows, nominal 0.9: binomial sd 0.017, plus calibration-set variability.
    let cov = covered as f64 / 300.0;
    assert!((0.8..=0.98).contains(&cov), "coverage {cov}");
    // 100 calibration rows cannot give 0.995 (needs 199).
    let e = one_line_error(&[
        "predict",
        "--model",
        &model,
        "--data",
        &test,
        "--interval",
        "0.995",
    ]);
    assert!(
        e.contains("--interval") && e.contains("at least 199 calibration rows"),
        "{e}"
    );
    // Options for the other task, and levels outside (0, 1).
    let e = one_line_error(&[
        "predict",
        "--model",
        &model,
        "--data",
        &test,
        "--prediction-sets",
        "0.9",
    ]);
    assert!(
        e.contains("--prediction-sets") && e.contains("regression"),
        "{e}"
    );
    for level in ["1.5", "0", "1", "-0.2"] {
        let e = one_line_error(&[
            "predict",
            "--model",
            &model,
            "--data",
            &test,
            "--interval",
            level,
        ]);
        assert!(e.contains("between 0 and 1"), "{e}");
    }
    // No dropout: no Monte-Carlo passes.
    let e = one_line_error(&[
        "predict",
        "--model",
        &model,
        "--data",
        &test,
        "--mc-samples",
        "10",
    ]);
    assert!(e.contains("--mc-samples") && e.contains("--dropout"), "{e}");
}

#[test]
fn classifier_sets_temperature_and_calibration_metrics() {
    let dir = TempDir::new("unc-clf");
    let data = dir.file("train.csv", &class_csv(600, 3));
    let test = dir.file("test.csv", &class_csv(150, 4));
    let model = dir.path("m.safetensors");
    let o = train(
        &data,
        "kind",
        &model,
        &[
            "--calibration-fraction",
            "0.25",
            "--calibrate",
            "temperature",
        ],
    );
    let out = stdout(&o);
    assert!(out.contains("fitted on 150 calibration rows: ECE"), "{out}");
    let o = run_ok(&[
        "predict",
        "--model",
        &model,
        "--data",
        &test,
        "--prediction-sets",
        "0.9",
        "--proba",
    ]);
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("kind,proba_ant,proba_bee,proba_cat,prediction_set")
    );
    let truth: Vec<String> = class_csv(150, 4)
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().expect("label").to_string())
        .collect();
    let mut covered = 0;
    for (line, y) in lines.zip(&truth) {
        let set = line.rsplit(',').next().expect("set");
        let members: Vec<&str> = set.split('|').filter(|m| !m.is_empty()).collect();
        assert!(
            members.iter().all(|m| ["ant", "bee", "cat"].contains(m)),
            "{line}"
        );
        covered += usize::from(members.contains(&y.as_str()));
    }
    let cov = covered as f64 / 150.0;
    assert!((0.8..=1.0).contains(&cov), "coverage {cov}");
    let e = one_line_error(&[
        "predict",
        "--model",
        &model,
        "--data",
        &test,
        "--interval",
        "0.9",
    ]);
    assert!(
        e.contains("--interval") && e.contains("classification"),
        "{e}"
    );

    // eval: ECE and Brier, human and JSON, and the reliability diagram.
    let plot = dir.path("reliability.svg");
    let o = run_ok(&["eval", "--model", &model, "--data", &test, "--plot", &plot]);
    let human = stdout(&o);
    assert!(human.contains("ece (15 bins)"), "{human}");
    assert!(human.contains("brier"), "{human}");
    assert!(human.contains("temperature"), "{human}");
    let svg = std::fs::read_to_string(&plot).expect("plot written");
    assert!(svg.contains("<svg") && svg.contains("reliability diagram"));
    let o = run_ok(&["eval", "--model", &model, "--data", &test, "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    let ece = v["ece"].as_f64().expect("ece");
    let brier = v["brier"].as_f64().expect("brier");
    assert!((0.0..=1.0).contains(&ece), "{v}");
    assert!((0.0..=2.0).contains(&brier), "{v}");
    assert!(v["temperature"].as_f64().is_some_and(|t| t > 0.0), "{v}");
}

#[test]
fn a_model_without_calibration_rows_says_which_flag_adds_them() {
    let dir = TempDir::new("unc-nocal");
    let data = dir.file("train.csv", &regression_csv(120, 5));
    let model = dir.path("m.safetensors");
    train(&data, "y", &model, &["--quiet"]);
    let e = one_line_error(&[
        "predict",
        "--model",
        &model,
        "--data",
        &data,
        "--interval",
        "0.9",
    ]);
    assert!(
        e.contains("without calibration rows") && e.contains("mlp train --calibration-fraction"),
        "{e}"
    );
    // Temperature scaling: classifiers only, and only with held-out rows.
    let e = one_line_error(&[
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--out",
        &model,
        "--calibrate",
        "temperature",
    ]);
    assert!(e.contains("classifiers"), "{e}");
    let cls = dir.file("c.csv", &class_csv(90, 6));
    let e = one_line_error(&[
        "train",
        "--data",
        &cls,
        "--target",
        "kind",
        "--out",
        &model,
        "--calibrate",
        "temperature",
    ]);
    assert!(
        e.contains("--calibration-fraction") && e.contains("--val-fraction"),
        "{e}"
    );
    let e = one_line_error(&[
        "train",
        "--data",
        &cls,
        "--target",
        "kind",
        "--out",
        &model,
        "--calibration-fraction",
        "1.2",
    ]);
    assert!(e.contains("--calibration-fraction"), "{e}");
}

#[test]
fn mc_dropout_columns_are_reproducible_with_a_seed() {
    let dir = TempDir::new("unc-mc");
    let data = dir.file("train.csv", &regression_csv(150, 7));
    let model = dir.path("m.safetensors");
    train(&data, "y", &model, &["--dropout", "0.2", "--quiet"]);
    let run = |seed: &str| {
        stdout(&run_ok(&[
            "predict",
            "--model",
            &model,
            "--data",
            &data,
            "--mc-samples",
            "20",
            "--seed",
            seed,
        ]))
    };
    let (a, b, c) = (run("3"), run("3"), run("4"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.lines().next(), Some("y,mean,std"));
    for line in a.lines().skip(1) {
        let v: Vec<f64> = line
            .split(',')
            .map(|c| c.parse().expect("number"))
            .collect();
        assert_eq!(v.len(), 3);
        assert!(v[2] > 0.0, "{line}");
    }
    let cls = dir.file("c.csv", &class_csv(90, 8));
    let cmodel = dir.path("c.safetensors");
    train(&cls, "kind", &cmodel, &["--dropout", "0.2", "--quiet"]);
    let o = run_ok(&[
        "predict",
        "--model",
        &cmodel,
        "--data",
        &cls,
        "--mc-samples",
        "10",
    ]);
    let text = stdout(&o);
    assert_eq!(
        text.lines().next(),
        Some("kind,mean_proba_ant,mean_proba_bee,mean_proba_cat,entropy")
    );
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|c| c.parse().expect("number"))
            .collect();
        assert!((v[0] + v[1] + v[2] - 1.0).abs() < 1e-3, "{line}");
        assert!(v[3] >= 0.0 && v[3] <= 3f64.ln() + 1e-6, "{line}");
    }
}
