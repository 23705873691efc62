//! `mlp train --ensemble K` (one file, `mlp info` shows K, predictions and cross-validation use
//! the mean), `--loss quantile:...` with conformalized quantile regression, and the one-line
//! errors for settings that cannot work.

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
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.next()).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

/// `y = x1 + 2 x2 + noise whose size grows with |x1|`: `n` rows.
fn regression_csv(n: usize, seed: u64) -> String {
    let mut r = Lcg(seed);
    let mut s = String::from("x1,x2,y\n");
    for _ in 0..n {
        let (a, b) = (r.normal(), r.normal());
        let y = a + 2.0 * b + (0.1 + 0.5 * a.abs()) * r.normal();
        s.push_str(&format!("{a:.4},{b:.4},{y:.4}\n"));
    }
    s
}

/// Three overlapping classes: `n` rows.
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

fn train_args<'a>(data: &'a str, target: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train", "--data", data, "--target", target, "--out", out, "--hidden", "8", "--epochs",
        "20", "--seed", "3",
    ]
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
fn an_ensemble_trains_into_one_file_whatever_the_thread_count() {
    let dir = TempDir::new("ens-train");
    let data = dir.file("c.csv", &class_csv(240, 1));
    let (m1, m2) = (dir.path("a.mlp"), dir.path("b.mlp"));
    let mut args = train_args(&data, "kind", &m1);
    args.extend(["--ensemble", "3", "--threads", "1", "--quiet"]);
    run_ok(&args);
    let mut args = train_args(&data, "kind", &m2);
    args.extend(["--ensemble", "3", "--threads", "2", "--quiet"]);
    run_ok(&args);
    let info = stdout(&run_ok(&["info", "--model", &m1]));
    assert!(info.contains("ensemble of 3 members"), "{info}");
    let p1 = stdout(&run_ok(&[
        "predict", "--model", &m1, "--data", &data, "--proba",
    ]));
    let p2 = stdout(&run_ok(&[
        "predict", "--model", &m2, "--data", &data, "--proba",
    ]));
    assert_eq!(p1, p2, "--threads changed the ensemble");
    let e = stdout(&run_ok(&["eval", "--model", &m1, "--data", &data]));
    assert!(e.contains("accuracy"), "{e}");
}

#[test]
fn cross_validation_takes_ensemble() {
    let dir = TempDir::new("ens-cv");
    let data = dir.file("r.csv", &regression_csv(120, 2));
    let o = run_ok(&[
        "cv",
        "--data",
        &data,
        "--target",
        "y",
        "--folds",
        "2",
        "--epochs",
        "10",
        "--hidden",
        "4",
        "--ensemble",
        "2",
        "--threads",
        "1",
    ]);
    assert!(stdout(&o).contains("r2"), "{}", stdout(&o));
}

#[test]
fn ensemble_zero_is_one_line() {
    let dir = TempDir::new("ens-zero");
    let data = dir.file("c.csv", &class_csv(60, 3));
    let out = dir.path("m.mlp");
    let mut args = train_args(&data, "kind", &out);
    args.extend(["--ensemble", "0"]);
    let e = one_line_error(&args);
    assert!(e.contains("--ensemble"), "{e}");
    let mut args = train_args(&data, "kind", &out);
    args.extend(["--ensemble", "65"]);
    let e = one_line_error(&args);
    assert!(e.contains("between 1 and 64"), "{e}");
    // With default network flags the model selection would run: the flag is still the error.
    let e = one_line_error(&[
        "train",
        "--data",
        &data,
        "--target",
        "kind",
        "--out",
        &out,
        "--ensemble",
        "0",
    ]);
    assert!(
        e.contains("--ensemble") && !e.contains("model selection"),
        "{e}"
    );
}

#[test]
fn a_quantile_head_writes_its_columns_and_cqr_intervals() {
    let dir = TempDir::new("ens-quantile");
    let data = dir.file("r.csv", &regression_csv(400, 4));
    let test = dir.file("t.csv", &regression_csv(400, 5));
    let model = dir.path("q.mlp");
    let mut args = train_args(&data, "y", &model);
    args.extend([
        "--loss",
        "quantile:0.05,0.5,0.95",
        "--calibration-fraction",
        "0.25",
        "--threads",
        "1",
        "--quiet",
    ]);
    run_ok(&args);
    let out = stdout(&run_ok(&[
        "predict",
        "--model",
        &model,
        "--data",
        &test,
        "--interval",
        "0.9",
    ]));
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("y,y_q0.05,y_q0.5,y_q0.95,lower,upper"),
        "{out}"
    );
    let mut covered = 0;
    let truth: Vec<f64> = regression_csv(400, 5)
        .lines()
        .skip(1)
        .map(|l| {
            l.rsplit(',')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("y")
        })
        .collect();
    for (line, y) in lines.zip(&truth) {
        let cells: Vec<f64> = line
            .split(',')
            .map(|c| c.parse().expect("number"))
            .collect();
        // The point prediction is the median column.
        assert_eq!(cells[0], cells[2], "{line}");
        covered += usize::from(cells[4] <= *y && *y <= cells[5]);
    }
    // 400 rows at 0.9: a wide band that a broken CQR (e.g. no widening) would leave.
    assert!((330..=390).contains(&covered), "{covered} of 400 covered");
    let e = stdout(&run_ok(&["eval", "--model", &model, "--data", &test]));
    assert!(e.contains("r2"), "{e}");
}

#[test]
fn quantile_mistakes_are_one_line_each() {
    let dir = TempDir::new("ens-quantile-bad");
    let reg = dir.file("r.csv", &regression_csv(80, 6));
    let cls = dir.file("c.csv", &class_csv(60, 7));
    let out = dir.path("m.mlp");
    for (levels, want) in [
        ("quantile:0.9,0.1", "strictly increasing"),
        ("quantile:0.5,0.5", "strictly increasing"),
        ("quantile:0,0.5", "strictly between 0 and 1"),
        ("quantile:0.5,1.5", "strictly between 0 and 1"),
        ("quantile", "no quantile levels given"),
        ("quantile:a", "not a number"),
    ] {
        let mut args = train_args(&reg, "y", &out);
        args.extend(["--loss", levels]);
        let e = one_line_error(&args);
        assert!(e.contains(want), "{levels}: {e}");
    }
    let mut args = train_args(&cls, "kind", &out);
    args.extend(["--loss", "quantile:0.1,0.9"]);
    let e = one_line_error(&args);
    assert!(e.contains("needs a regression target"), "{e}");
    // --interval on a quantile model trained without calibration rows.
    let mut args = train_args(&reg, "y", &out);
    args.extend(["--loss", "quantile:0.1,0.9", "--quiet"]);
    run_ok(&args);
    let e = one_line_error(&[
        "predict",
        "--model",
        &out,
        "--data",
        &reg,
        "--interval",
        "0.9",
    ]);
    assert!(e.contains("without calibration rows"), "{e}");
    let e = one_line_error(&[
        "predict",
        "--model",
        &out,
        "--data",
        &reg,
        "--interval",
        "1.5",
    ]);
    assert!(e.contains("between 0 and 1"), "{e}");
}
