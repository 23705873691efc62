//! `mlp cv` (k-fold cross-validation) and `mlp train --test-fraction / --test-data`: the folds
//! partition the rows, each fold's metrics equal training on that fold's rows by hand and
//! evaluating on the rest, bad fold counts fail with one line, and a test set is reported but
//! never changes training.

mod common;
use common::{TempDir, mlp, run_ok, stderr, stdout};
use serde_json::Value;
use std::path::PathBuf;

fn fixture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../mlp/tests/fixtures/iris_sites.csv")
        .display()
        .to_string()
}

/// The fixture's header and data lines.
fn fixture_lines() -> (String, Vec<String>) {
    let text = std::fs::read_to_string(fixture()).expect("fixture");
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().expect("header").to_string();
    (header, lines.map(str::to_string).collect())
}

fn csv_of(header: &str, lines: &[String], rows: &[usize]) -> String {
    let mut s = format!("{header}\n");
    for &r in rows {
        s.push_str(&lines[r]);
        s.push('\n');
    }
    s
}

fn json_of(o: &std::process::Output) -> Value {
    serde_json::from_str(stdout(o).trim()).expect("JSON output")
}

fn rows_of(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("row list")
        .iter()
        .map(|r| r.as_u64().expect("row index") as usize)
        .collect()
}

/// Runs `mlp cv --json` with small training settings and returns its report.
fn cv_json(target: &str, folds: &str, seed: &str) -> Value {
    let data = fixture();
    json_of(&run_ok(&[
        "cv",
        "--data",
        &data,
        "--target",
        target,
        "--folds",
        folds,
        "--epochs",
        "15",
        "--seed",
        seed,
        "--threads",
        "1",
        "--json",
    ]))
}

/// Checks that the folds' test rows partition `0..n` and returns them.
fn check_partition(report: &Value, n: usize, k: usize) -> Vec<Vec<usize>> {
    let folds: Vec<Vec<usize>> = report["per_fold"]
        .as_array()
        .expect("per_fold")
        .iter()
        .map(|f| rows_of(&f["test_rows"]))
        .collect();
    assert_eq!(folds.len(), k);
    let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "folds partition the rows");
    let sizes: Vec<usize> = folds.iter().map(Vec::len).collect();
    let (lo, hi) = (sizes.iter().min(), sizes.iter().max());
    assert!(hi.zip(lo).is_some_and(|(h, l)| h - l <= 1), "{sizes:?}");
    folds
}

/// Trains on the rows outside `fold` by hand (`mlp train` on a file of them, same flags) and
/// returns `mlp eval --json` on the fold's rows.
fn by_hand(dir: &TempDir, target: &str, fold: &[usize], n: usize, tag: &str) -> Value {
    let (header, lines) = fixture_lines();
    let train_rows: Vec<usize> = (0..n).filter(|r| !fold.contains(r)).collect();
    let train = dir.file(
        &format!("{tag}-train.csv"),
        &csv_of(&header, &lines, &train_rows),
    );
    let test = dir.file(&format!("{tag}-test.csv"), &csv_of(&header, &lines, fold));
    let model = dir.path(&format!("{tag}.mlp"));
    run_ok(&[
        "train",
        "--data",
        &train,
        "--target",
        target,
        "--epochs",
        "15",
        "--seed",
        "5",
        "--threads",
        "1",
        "--quiet",
        "--out",
        &model,
    ]);
    json_of(&run_ok(&[
        "eval", "--model", &model, "--data", &test, "--json",
    ]))
}

#[test]
fn classification_folds_are_stratified_and_equal_training_by_hand() {
    let report = cv_json("species", "3", "5");
    assert_eq!(report["stratified"], Value::Bool(true));
    assert_eq!(report["rows"], 150);
    let folds = check_partition(&report, 150, 3);
    // 50 rows per species: each fold holds about a third of each.
    let (_, lines) = fixture_lines();
    for fold in &folds {
        for species in ["setosa", "versicolor", "virginica"] {
            let c = fold
                .iter()
                .filter(|&&r| lines[r].ends_with(species))
                .count();
            assert!(
                (16..=17).contains(&c),
                "{species}: {c} in a fold of {}",
                fold.len()
            );
        }
    }
    let dir = TempDir::new("cv-cls");
    let mut accs = Vec::new();
    for (i, fold) in folds.iter().enumerate() {
        let hand = by_hand(&dir, "species", fold, 150, &format!("f{i}"));
        let got = &report["per_fold"][i]["metrics"];
        assert_eq!(got["accuracy"], hand["accuracy"], "fold {i}");
        assert_eq!(got["log_loss"], hand["log_loss"], "fold {i}");
        assert_eq!(
            got["confusion_matrix"], hand["confusion_matrix"],
            "fold {i}"
        );
        accs.push(got["accuracy"].as_f64().expect("accuracy"));
    }
    let mean = accs.iter().sum::<f64>() / 3.0;
    let std = (accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    let got_mean = report["mean"]["accuracy"].as_f64().expect("mean");
    let got_std = report["std"]["accuracy"].as_f64().expect("std");
    assert!((got_mean - mean).abs() < 1e-12, "{got_mean} vs {mean}");
    assert!((got_std - std).abs() < 1e-12, "{got_std} vs {std}");
}

#[test]
fn regression_folds_equal_training_by_hand_and_follow_the_seed() {
    let report = cv_json("sepal_length", "4", "5");
    assert_eq!(report["stratified"], Value::Bool(false));
    assert_eq!(report["task"], "regression");
    let folds = check_partition(&report, 150, 4);
    // Shuffled: not the first rows in order.
    assert_ne!(folds[0], (0..folds[0].len()).collect::<Vec<_>>());
    let dir = TempDir::new("cv-reg");
    let hand = by_hand(&dir, "sepal_length", &folds[1], 150, "f1");
    let got = &report["per_fold"][1]["metrics"];
    for m in ["r2", "rmse", "mae"] {
        assert_eq!(got[m], hand[m], "{m}");
    }
    assert!(report["mean"]["r2"].as_f64().expect("r2") > 0.3);
    // Same seed: same folds and numbers; another seed: other folds.
    assert_eq!(cv_json("sepal_length", "4", "5"), report);
    let other = cv_json("sepal_length", "4", "6");
    assert_ne!(check_partition(&other, 150, 4), folds);
}

#[test]
fn human_report_lists_folds_and_the_summary() {
    let data = fixture();
    let o = run_ok(&[
        "cv",
        "--data",
        &data,
        "--target",
        "species",
        "--folds",
        "2",
        "--epochs",
        "5",
        "--threads",
        "1",
    ]);
    let out = stdout(&o);
    assert!(out.contains("fold 1/2: 75 test rows"), "{out}");
    assert!(out.contains("fold 2/2"), "{out}");
    assert!(
        out.contains("2-fold cross-validation (stratified) of 150 rows"),
        "{out}"
    );
    assert!(out.contains("accuracy"), "{out}");
    assert!(out.contains(" ± "), "{out}");
}

fn cv_error(args: &[&str]) -> String {
    let o = mlp(args);
    assert!(!o.status.success(), "mlp {args:?} should fail");
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn bad_fold_counts_fail_with_one_line() {
    let data = fixture();
    let base = ["cv", "--data", data.as_str(), "--target", "sepal_length"];
    let err = cv_error(&[&base[..], &["--folds", "1"]].concat());
    assert!(err.contains("at least 2 folds"), "{err}");
    let err = cv_error(&[&base[..], &["--folds", "151"]].concat());
    assert!(
        err.contains("151 folds need at least 151 rows; the data has 150"),
        "{err}"
    );
    // Stratified: the smallest class, by its label.
    let dir = TempDir::new("cv-err");
    let mut csv = String::from("x,z,label\n");
    for i in 0..12 {
        let label = if i < 2 {
            "rare"
        } else if i % 2 == 0 {
            "a"
        } else {
            "b"
        };
        csv.push_str(&format!("{i},{},{label}\n", i % 3));
    }
    let small = dir.file("small.csv", &csv);
    let err = cv_error(&["cv", "--data", &small, "--target", "label", "--folds", "3"]);
    assert!(err.contains("class 'rare' has only 2 row(s)"), "{err}");
    assert!(err.contains("--folds 2"), "{err}");
    // Flags that write a model belong to mlp train.
    let err = cv_error(&[&base[..], &["--out", &dir.path("m.mlp")]].concat());
    assert!(err.contains("--out does not apply to mlp cv"), "{err}");
}

fn train_json(extra: &[&str]) -> Value {
    let data = fixture();
    let dir = TempDir::new(&format!("tf-{}", extra.len()));
    let model = dir.path("m.mlp");
    let mut args = vec![
        "train",
        "--data",
        &data,
        "--target",
        "species",
        "--epochs",
        "10",
        "--seed",
        "3",
        "--threads",
        "1",
        "--json",
        "--out",
        &model,
    ];
    args.extend_from_slice(extra);
    json_of(&run_ok(&args))
}

#[test]
fn test_fraction_is_held_out_stratified_and_reported() {
    let v = train_json(&["--test-fraction", "0.2"]);
    assert_eq!(v["train_samples"], 120);
    let test = &v["test"];
    assert_eq!(test["n_samples"], 30);
    // Stratified: 10 rows of each species (confusion-matrix rows are the true classes).
    for row in test["confusion_matrix"].as_array().expect("confusion") {
        let total: u64 = row
            .as_array()
            .expect("row")
            .iter()
            .map(|c| c.as_u64().expect("count"))
            .sum();
        assert_eq!(total, 10);
    }
    assert!(test["accuracy"].as_f64().expect("accuracy") > 0.5);
    // Seeded: the same run again gives the same test metrics.
    assert_eq!(train_json(&["--test-fraction", "0.2"])["test"], v["test"]);
    // No test set asked for: none reported.
    assert_eq!(train_json(&[])["test"], Value::Null);
}

#[test]
fn test_data_is_reported_and_never_changes_training() {
    let dir = TempDir::new("td");
    let (header, lines) = fixture_lines();
    let train = dir.file(
        "train.csv",
        &csv_of(
            &header,
            &lines,
            &(0..150).filter(|r| r % 4 != 0).collect::<Vec<_>>(),
        ),
    );
    let test = dir.file(
        "test.csv",
        &csv_of(&header, &lines, &(0..150).step_by(4).collect::<Vec<_>>()),
    );
    let run = |extra: &[&str], tag: &str| {
        let model = dir.path(&format!("{tag}.mlp"));
        let mut args = vec![
            "train",
            "--data",
            &train,
            "--target",
            "species",
            "--epochs",
            "30",
            "--seed",
            "2",
            "--threads",
            "1",
            "--val-fraction",
            "0.2",
            "--patience",
            "3",
            "--json",
            "--out",
            &model,
        ];
        args.extend_from_slice(extra);
        let v = json_of(&run_ok(&args));
        let pred = stdout(&run_ok(&[
            "predict", "--model", &model, "--data", &test, "--proba",
        ]));
        (v, model, pred)
    };
    let (with, model, pred_with) = run(&["--test-data", &test], "with");
    let (without, _, pred_without) = run(&[], "without");
    // The test rows change nothing: same epochs, same best epoch, same predictions.
    assert_eq!(with["epochs_run"], without["epochs_run"]);
    assert_eq!(with["best_epoch"], without["best_epoch"]);
    assert_eq!(pred_with, pred_without);
    // The reported test metrics are `mlp eval` on that file.
    let eval = json_of(&run_ok(&[
        "eval", "--model", &model, "--data", &test, "--json",
    ]));
    assert_eq!(with["test"], eval);
    assert_eq!(with["test"]["n_samples"], 38);
    // Human report.
    let o = run_ok(&[
        "train",
        "--data",
        &train,
        "--target",
        "species",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--test-data",
        &test,
        "--out",
        &dir.path("h.mlp"),
    ]);
    assert!(stdout(&o).contains("test set (38 rows):"), "{}", stdout(&o));
}

#[test]
fn bad_test_settings_fail_with_one_line() {
    let data = fixture();
    let dir = TempDir::new("tf-err");
    let model = dir.path("m.mlp");
    let base = [
        "train",
        "--data",
        data.as_str(),
        "--target",
        "species",
        "--out",
        model.as_str(),
    ];
    for f in ["0", "1", "1.5", "NaN"] {
        let err = cv_error(&[&base[..], &["--test-fraction", f]].concat());
        assert!(
            err.contains("--test-fraction must be above 0 and below 1"),
            "{f}: {err}"
        );
    }
    let o = mlp(&[&base[..], &["--test-fraction", "0.2", "--test-data", &data]].concat());
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    let missing = dir.path("missing.csv");
    let err = cv_error(&[&base[..], &["--test-data", &missing]].concat());
    assert!(err.contains("missing.csv"), "{err}");
}

/// With no network flags, every fold runs `mlp train`'s default model selection on its own
/// training rows: each fold reports the chosen candidate, and fold 1 equals `mlp train` (defaults)
/// on the same rows, evaluated on the fold.
#[test]
fn default_flags_select_a_model_inside_each_fold_like_train() {
    let data = fixture();
    let report = json_of(&run_ok(&[
        "cv",
        "--data",
        &data,
        "--target",
        "species",
        "--folds",
        "3",
        "--seed",
        "5",
        "--threads",
        "1",
        "--json",
    ]));
    let folds = check_partition(&report, 150, 3);
    let per_fold = report["per_fold"].as_array().expect("per_fold");
    for f in per_fold {
        let name = f["selected"]
            .as_str()
            .expect("a selected candidate per fold");
        assert!(["linear", "mlp", "wide_deep"].contains(&name), "{f}");
    }
    let dir = TempDir::new("cv-select");
    let (header, lines) = fixture_lines();
    let train_rows: Vec<usize> = (0..150).filter(|r| !folds[0].contains(r)).collect();
    let train = dir.file("train.csv", &csv_of(&header, &lines, &train_rows));
    let test = dir.file("test.csv", &csv_of(&header, &lines, &folds[0]));
    let model = dir.path("m.mlp");
    run_ok(&[
        "train",
        "--data",
        &train,
        "--target",
        "species",
        "--seed",
        "5",
        "--threads",
        "1",
        "--quiet",
        "--out",
        &model,
    ]);
    let by_hand = json_of(&run_ok(&[
        "eval", "--model", &model, "--data", &test, "--json",
    ]));
    assert_eq!(per_fold[0]["metrics"]["accuracy"], by_hand["accuracy"]);
    assert_eq!(per_fold[0]["metrics"]["log_loss"], by_hand["log_loss"]);
}
