//! End-to-end tests of the `mlp` binary: the main jobs on generated data and on an embedded real
//! data set, and every kind of bad input (non-zero exit, one clear line, never a panic).

use std::path::Path;
use std::process::Command;

mod common;
use common::{TempDir, mlp, stderr, stdout};

fn ok(args: &[&str]) -> String {
    let o = mlp(args);
    assert!(
        o.status.success(),
        "mlp {args:?} failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Runs a command that must fail cleanly; returns stderr.
fn fails(args: &[&str]) -> String {
    let o = mlp(args);
    let err = stderr(&o);
    assert!(
        !o.status.success(),
        "mlp {args:?} should fail; stdout:\n{}",
        stdout(&o)
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "panic on {args:?}:\n{err}"
    );
    assert!(
        err.trim_start().starts_with("error:"),
        "no clear error line for {args:?}:\n{err}"
    );
    assert_eq!(
        err.trim().lines().count(),
        1,
        "error should be one line for {args:?}:\n{err}"
    );
    err
}

/// A classification CSV: two numeric features, one categorical, label depends on all three.
fn classification_csv(rows: usize) -> String {
    let mut s = String::from("x1,x2,color,label\n");
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / (1u64 << 31) as f64
    };
    for _ in 0..rows {
        let (a, b) = (next() * 4.0 - 2.0, next() * 4.0 - 2.0);
        let color = ["red", "green", "blue"][(next() * 3.0) as usize % 3];
        let shift = match color {
            "red" => 1.0,
            "green" => -1.0,
            _ => 0.0,
        };
        let label = if a * a + b + shift > 0.5 { "yes" } else { "no" };
        s.push_str(&format!("{a:.4},{b:.4},{color},{label}\n"));
    }
    s
}

fn regression_csv(rows: usize) -> String {
    let mut s = String::from("a;b;target\n");
    for i in 0..rows {
        let a = (i as f64 * 0.37).sin() * 3.0;
        let b = (i as f64 * 0.11).cos() * 2.0;
        s.push_str(&format!(
            "{a:.5};{b:.5};{:.5}\n",
            100.0 + 10.0 * a - 5.0 * b
        ));
    }
    s
}

#[test]
fn demo_runs_and_writes_models() {
    let dir = TempDir::new("demo");
    let out = ok(&["demo", "--out-dir", &dir.path("models")]);
    assert!(
        out.contains("two-moons") && out.contains("iris") && out.contains("accuracy"),
        "{out}"
    );
    assert!(Path::new(&dir.path("models/iris.safetensors")).exists());
    assert!(
        out.contains("PGD-20 accuracy") && out.contains("seasonal_naive(12)"),
        "{out}"
    );
    let json = ok(&["demo", "--out-dir", &dir.path("models"), "--json"]);
    let mut sections = 0;
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        if let Some(r) = v.get("robustness") {
            // The attack hurts, certification is at most the clean accuracy.
            let clean = r["clean_accuracy"].as_f64().expect("clean");
            let adv = r["adversarial_accuracy"].as_f64().expect("adversarial");
            let cert = r["certified_accuracy"].as_f64().expect("certified");
            assert!(adv < clean && cert <= clean && cert > 0.5, "{line}");
            sections += 1;
        } else if let Some(b) = v.get("backtest") {
            let mase = |name: &str| {
                b["scores"]
                    .as_array()
                    .and_then(|s| s.iter().find(|m| m["method"] == name))
                    .and_then(|m| m["mase"].as_f64())
                    .expect("mase")
            };
            assert!(mase("mlp") < mase("seasonal_naive(12)"), "{line}");
            sections += 1;
        } else {
            assert!(
                v["test"]["accuracy"].as_f64().expect("accuracy") > 0.85,
                "{line}"
            );
        }
    }
    assert_eq!(sections, 2, "{json}");
}

#[test]
fn classification_train_predict_eval_info() {
    let dir = TempDir::new("cls");
    let data = dir.file("train.csv", &classification_csv(600));
    let model = dir.path("m.safetensors");
    let summary = ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &model,
        "--hidden",
        "32,32",
        "--epochs",
        "80",
        "--seed",
        "1",
        "--val-fraction",
        "0.2",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(summary.trim()).expect("json summary");
    assert_eq!(v["task"], "classification");
    assert!(
        v["val_metric"].as_f64().expect("metric") > 0.85,
        "{summary}"
    );

    // predict: header = target name, one row per input row, in order; --proba adds columns.
    let test_rows = classification_csv(50);
    let test = dir.file(
        "test.csv",
        &test_rows
            .replace(",label", ",label,extra")
            .replace("yes\n", "yes,1\n")
            .replace("no\n", "no,0\n"),
    );
    let pred = ok(&["predict", "--model", &model, "--data", &test, "--proba"]);
    let lines: Vec<&str> = pred.lines().collect();
    assert_eq!(lines[0], "label,proba_no,proba_yes");
    assert_eq!(lines.len(), 51);
    let truth: Vec<&str> = test_rows
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap_or(""))
        .collect();
    let correct = lines[1..]
        .iter()
        .zip(&truth)
        .filter(|(p, t)| p.split(',').next() == Some(**t))
        .count();
    assert!(correct >= 42, "{correct}/50 correct");
    let out_file = dir.path("pred.csv");
    ok(&[
        "predict", "--model", &model, "--data", &test, "--out", &out_file,
    ]);
    assert_eq!(
        std::fs::read_to_string(&out_file)
            .expect("pred file")
            .lines()
            .count(),
        51
    );

    let eval = ok(&["eval", "--model", &model, "--data", &test, "--json"]);
    let e: serde_json::Value = serde_json::from_str(eval.trim()).expect("eval json");
    assert!(e["accuracy"].as_f64().expect("acc") >= 0.84);
    assert!(e["roc_auc"].as_f64().is_some() && e["confusion_matrix"].is_array());
    let table = ok(&["eval", "--model", &model, "--data", &test]);
    assert!(table.contains("balanced accuracy") && table.contains("confusion matrix"));

    let info = ok(&["info", "--model", &model]);
    assert!(
        info.contains("dense 5 -> 32") && info.contains("color: categorical, 3 categories"),
        "{info}"
    );
    assert!(info.contains("'label', 2 classes"), "{info}");
}

#[test]
fn regression_predictions_are_in_original_units() {
    let dir = TempDir::new("reg");
    let data = dir.file("reg.csv", &regression_csv(400));
    let model = dir.path("r.safetensors");
    ok(&[
        "train", "--data", &data, "--target", "target", "--out", &model, "--hidden", "32",
        "--epochs", "150", "--seed", "3", "--quiet",
    ]);
    let pred = ok(&["predict", "--model", &model, "--data", &data]);
    let mut lines = pred.lines();
    assert_eq!(lines.next(), Some("target"));
    let truth: Vec<f64> = regression_csv(400)
        .lines()
        .skip(1)
        .map(|l| l.rsplit(';').next().unwrap_or("0").parse().unwrap_or(0.0))
        .collect();
    let preds: Vec<f64> = lines.map(|l| l.parse().expect("number")).collect();
    assert_eq!(preds.len(), 400);
    let mae = preds
        .iter()
        .zip(&truth)
        .map(|(p, t)| (p - t).abs())
        .sum::<f64>()
        / 400.0;
    assert!(mae < 2.0, "mae {mae} (targets span ~80)");
    let eval = ok(&["eval", "--model", &model, "--data", &data, "--json"]);
    let e: serde_json::Value = serde_json::from_str(eval.trim()).expect("json");
    assert!(e["r2"].as_f64().expect("r2") > 0.98, "{eval}");
}

#[test]
fn checkpoint_resume_matches_an_uninterrupted_run() {
    let dir = TempDir::new("ckpt");
    let data = dir.file("train.csv", &classification_csv(300));
    let full = dir.path("full.safetensors");
    let part = dir.path("part.safetensors");
    let ckpt = dir.path("run.ckpt");
    let common = [
        "--target",
        "label",
        "--hidden",
        "16",
        "--seed",
        "9",
        "--threads",
        "1",
        "--quiet",
        "--patience",
        "0",
    ];
    let mut a = vec!["train", "--data", &data, "--out", &full, "--epochs", "6"];
    a.extend_from_slice(&common);
    ok(&a);
    let mut b = vec![
        "train",
        "--data",
        &data,
        "--out",
        &part,
        "--epochs",
        "3",
        "--checkpoint",
        &ckpt,
    ];
    b.extend_from_slice(&common);
    ok(&b);
    ok(&[
        "train", "--resume", &ckpt, "--epochs", "6", "--out", &part, "--quiet",
    ]);
    let fa = std::fs::read(&full).expect("full");
    let fb = std::fs::read(&part).expect("part");
    let ta = mlp::io::TensorFile::from_bytes(&fa, Path::new(&full)).expect("a");
    let tb = mlp::io::TensorFile::from_bytes(&fb, Path::new(&part)).expect("b");
    for (name, _, data) in &ta.tensors {
        assert_eq!(
            tb.get(name).map(|t| t.1),
            Some(&data[..]),
            "tensor {name} differs"
        );
    }
    let info = ok(&["info", "--model", &part]);
    assert!(info.contains("6 epochs"), "{info}");
}

#[test]
fn bad_input_fails_with_one_clear_line() {
    let dir = TempDir::new("bad");
    let model = dir.path("m.safetensors");
    let ragged = dir.file("ragged.csv", "a,b,y\n1,2,0\n3,4\n5,6,1\n");
    let err = fails(&["train", "--data", &ragged, "--target", "y", "--out", &model]);
    assert!(
        err.contains("ragged.csv") && err.contains("line 3"),
        "{err}"
    );
    let nan = dir.file("nan.csv", "a,b,y\n1,2,0\n3,NaN,1\n5,6,1\n7,8,0\n");
    let err = fails(&["train", "--data", &nan, "--target", "y", "--out", &model]);
    assert!(
        err.contains("line 3") && err.contains("'b'") && err.contains("--impute"),
        "{err}"
    );
    let text = dir.file("text.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,1\n7,8,0\n1,hello,1\n");
    let err = fails(&[
        "train",
        "--data",
        &text,
        "--target",
        "y",
        "--out",
        &model,
        "--features",
        "a,b",
        "--impute",
        "mean",
    ]);
    assert!(
        err.contains("line 6") && err.contains("hello") && err.contains("'b'"),
        "{err}"
    );
    let good = dir.file("good.csv", &classification_csv(100));
    let err = fails(&[
        "train", "--data", &good, "--target", "nope", "--out", &model,
    ]);
    assert!(err.contains("nope") && err.contains("x1"), "{err}");
    let empty = dir.file("empty.csv", "");
    let err = fails(&["train", "--data", &empty, "--target", "y", "--out", &model]);
    assert!(err.contains("empty"), "{err}");
    let missing = dir.path("does-not-exist.csv");
    let err = fails(&[
        "train", "--data", &missing, "--target", "y", "--out", &model,
    ]);
    assert!(err.contains("does-not-exist.csv"), "{err}");
    fails(&[
        "train", "--data", &good, "--target", "label", "--out", &model, "--lr=-1",
    ]);
    fails(&[
        "train",
        "--data",
        &good,
        "--target",
        "label",
        "--out",
        &model,
        "--activation",
        "relu6",
    ]);
    fails(&[
        "train",
        "--data",
        &good,
        "--target",
        "label",
        "--out",
        &model,
        "--val-fraction",
        "1.5",
    ]);

    // Truncated, foreign and missing model files.
    ok(&[
        "train", "--data", &good, "--target", "label", "--out", &model, "--epochs", "2", "--quiet",
    ]);
    let bytes = std::fs::read(&model).expect("model");
    let cut = dir.path("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).expect("cut");
    let err = fails(&["predict", "--model", &cut, "--data", &good]);
    assert!(err.contains("cut.safetensors"), "{err}");
    let junk = dir.file("junk.safetensors", "definitely not a model");
    fails(&["info", "--model", &junk]);
    // Prediction input missing a column the model needs.
    let partial = dir.file("partial.csv", "x1,color\n0.5,red\n");
    let err = fails(&["predict", "--model", &model, "--data", &partial]);
    assert!(err.contains("x2"), "{err}");
    // Evaluation data with an unseen class label.
    let unseen = dir.file("unseen.csv", "x1,x2,color,label\n0.1,0.2,red,maybe\n");
    let err = fails(&["eval", "--model", &model, "--data", &unseen]);
    assert!(err.contains("maybe"), "{err}");
}

#[test]
fn usage_errors_exit_non_zero() {
    let o = mlp(&["train"]);
    assert!(!o.status.success());
    let o = mlp(&["frobnicate"]);
    assert!(!o.status.success());
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn multilabel_training_and_evaluation() {
    let dir = TempDir::new("multilabel");
    let mut csv = String::from("a,b,pos_a,pos_b,both\n");
    for i in 0..400 {
        let a = ((i * 37) % 100) as f64 / 50.0 - 1.0;
        let b = ((i * 61) % 100) as f64 / 50.0 - 1.0;
        let (pa, pb) = (u8::from(a > 0.0), u8::from(b > 0.0));
        csv.push_str(&format!("{a},{b},{pa},{pb},{}\n", pa & pb));
    }
    let data = dir.file("ml.csv", &csv);
    let model = dir.path("ml.safetensors");
    ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "pos_a,pos_b,both",
        "--loss",
        "multilabel_bce",
        "--out",
        &model,
        "--hidden",
        "16",
        "--epochs",
        "200",
        "--batch-size",
        "32",
        "--quiet",
    ]);
    let eval = ok(&["eval", "--model", &model, "--data", &data, "--json"]);
    let e: serde_json::Value = serde_json::from_str(eval.trim()).expect("json");
    assert!(
        e["subset_accuracy"].as_f64().expect("subset") > 0.9,
        "{eval}"
    );
    let pred = ok(&["predict", "--model", &model, "--data", &data]);
    assert_eq!(pred.lines().next(), Some("pos_a,pos_b,both"));
    assert_eq!(pred.lines().count(), 401);
    let bad = dir.file("bad.csv", "a,b,y1,y2\n0.1,0.2,1,2\n0.3,0.4,0,1\n");
    let err = fails(&[
        "train",
        "--data",
        &bad,
        "--target",
        "y1,y2",
        "--loss",
        "multilabel_bce",
        "--out",
        &model,
    ]);
    assert!(err.contains("0 or 1") && err.contains("y2"), "{err}");
}

#[test]
fn npy_and_idx_inputs() {
    let dir = TempDir::new("formats");
    // NPY: 300 x 3 features, class = sign of the sum.
    let n = 300;
    let x: Vec<f32> = (0..n * 3)
        .map(|i| (((i * 7919) % 200) as f32 / 100.0) - 1.0)
        .collect();
    let y: Vec<f32> = (0..n)
        .map(|r| f32::from(u8::from(x[r * 3] + x[r * 3 + 1] + x[r * 3 + 2] > 0.0)))
        .collect();
    let xp = dir.path("x.npy");
    let yp = dir.path("y.npy");
    mlp::data::npy::write_npy_f32(Path::new(&xp), &[n, 3], &x).expect("x");
    mlp::data::npy::write_npy_f32(Path::new(&yp), &[n], &y).expect("y");
    let model = dir.path("npy.safetensors");
    ok(&[
        "train", "--data", &xp, "--target", &yp, "--out", &model, "--hidden", "16", "--epochs",
        "100", "--quiet",
    ]);
    let e: serde_json::Value = serde_json::from_str(
        ok(&[
            "eval", "--model", &model, "--data", &xp, "--target", &yp, "--json",
        ])
        .trim(),
    )
    .expect("json");
    assert!(e["accuracy"].as_f64().expect("acc") > 0.9, "{e}");
    assert_eq!(
        ok(&["predict", "--model", &model, "--data", &xp])
            .lines()
            .count(),
        n + 1
    );
    // A CSV for a matrix model is refused with a hint.
    let csv = dir.file("x.csv", "a,b,c\n1,2,3\n");
    let err = fails(&["predict", "--model", &model, "--data", &csv]);
    assert!(err.contains(".npy"), "{err}");

    // IDX: 4x4 images, label 1 when the left half is brighter.
    let images = dir.path("img-idx3-ubyte.gz");
    let labels = dir.path("lab-idx1-ubyte");
    let mut pix = Vec::new();
    let mut lab = Vec::new();
    for i in 0..400usize {
        let left = i % 2 == 0;
        for p in 0..16usize {
            let bright = (p % 4 < 2) == left;
            pix.push(if bright {
                150 + ((i * 13 + p * 7) % 100) as u8
            } else {
                ((i * 11 + p * 5) % 100) as u8
            });
        }
        lab.push(u8::from(left));
    }
    mlp::data::idx::write_idx(Path::new(&images), &[400, 4, 4], &pix, true).expect("images");
    mlp::data::idx::write_idx(Path::new(&labels), &[400], &lab, false).expect("labels");
    let model = dir.path("idx.safetensors");
    ok(&[
        "train", "--data", &images, "--target", &labels, "--out", &model, "--hidden", "8",
        "--epochs", "50", "--quiet",
    ]);
    let e: serde_json::Value = serde_json::from_str(
        ok(&[
            "eval", "--model", &model, "--data", &images, "--target", &labels, "--json",
        ])
        .trim(),
    )
    .expect("json");
    assert!(e["accuracy"].as_f64().expect("acc") > 0.95, "{e}");
    let info = ok(&["info", "--model", &model]);
    assert!(info.contains("16 numeric features from idx"), "{info}");
    // A truncated IDX file is a clear error.
    let bytes = std::fs::read(&labels).expect("labels");
    let cut = dir.path("cut-idx1-ubyte");
    std::fs::write(&cut, &bytes[..bytes.len() - 5]).expect("cut");
    let err = fails(&[
        "train", "--data", &images, "--target", &cut, "--out", &model,
    ]);
    assert!(
        err.contains("cut-idx1-ubyte") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn ctrl_c_saves_and_the_run_resumes() {
    let dir = TempDir::new("sigint");
    let data = dir.file("big.csv", &classification_csv(20000));
    let model = dir.path("m.safetensors");
    let ckpt = dir.path("run.ckpt");
    let child = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args([
            "train",
            "--data",
            &data,
            "--target",
            "label",
            "--out",
            &model,
            "--checkpoint",
            &ckpt,
        ])
        .args([
            "--hidden",
            "256,256",
            "--epochs",
            "10000",
            "--batch-size",
            "8",
            "--threads",
            "1",
            "--quiet",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    while !Path::new(&ckpt).exists() {
        assert!(started.elapsed().as_secs() < 120, "no checkpoint written");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted") && err.contains("--resume"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    let (_, state, _) = mlp::io::checkpoint::load(Path::new(&ckpt)).expect("checkpoint loads");
    assert!(state.epoch >= 1);
    mlp::model::Model::load(Path::new(&model)).expect("model loads");
    let target = (state.epoch + 1).to_string();
    ok(&["train", "--resume", &ckpt, "--epochs", &target, "--quiet"]);
    let (_, done, _) = mlp::io::checkpoint::load(Path::new(&ckpt)).expect("checkpoint");
    assert_eq!(done.epoch, state.epoch + 1);
    assert!(done.finished);
}

#[test]
fn config_file_time_column_and_weight_column() {
    let dir = TempDir::new("config");
    let data = dir.file("train.csv", &classification_csv(400));
    let config = dir.file(
        "spec.toml",
        "layers = [\n  { type = \"dense\", units = 24, activation = \"tanh\" },\n  { type = \"dropout\", p = 0.1 },\n  { type = \"dense\", units = 12, activation = \"gelu\", init = \"he_normal\" },\n]\n\n[train]\nepochs = 30\nbatch_size = 32\nseed = 4\noptimizer = { type = \"adamw\" }\nlr = 0.003\nschedule = { type = \"cosine\", warmup_epochs = 2 }\n",
    );
    let model = dir.path("c.safetensors");
    ok(&[
        "train", "--data", &data, "--target", "label", "--out", &model, "--config", &config,
        "--quiet",
    ]);
    let info = ok(&["info", "--model", &model]);
    assert!(
        info.contains("dense 5 -> 24  activation tanh") && info.contains("dropout p=0.1"),
        "{info}"
    );
    assert!(
        info.contains("dense 12 -> 2  activation identity") && info.contains("optimizer adamw"),
        "{info}"
    );
    assert!(info.contains("training: 30 epochs"), "{info}");
    let bad = dir.file(
        "bad.toml",
        "layers = [{ type = \"dense\", units = 4, colour = \"red\" }]\n",
    );
    let err = fails(&[
        "train", "--data", &data, "--target", "label", "--out", &model, "--config", &bad,
    ]);
    assert!(err.contains("bad.toml") && err.contains("colour"), "{err}");

    // Chronological split by a date column; per-sample weights from a column.
    let mut csv = String::from("date,x,w,y\n");
    for i in 0..200 {
        let day = 200 - i; // file order is reverse time order
        csv.push_str(&format!(
            "2024-{:02}-{:02},{},{},{}\n",
            1 + day / 28,
            1 + day % 28,
            i as f64 / 100.0,
            1 + i % 3,
            i % 2
        ));
    }
    let ts = dir.file("ts.csv", &csv);
    let out = ok(&[
        "train",
        "--data",
        &ts,
        "--target",
        "y",
        "--ignore",
        "date",
        "--weight-column",
        "w",
        "--split",
        "chronological",
        "--time-column",
        "date",
        "--val-fraction",
        "0.25",
        "--epochs",
        "3",
        "--out",
        &model,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["val_samples"], 50);
    let info = ok(&["info", "--model", &model]);
    assert!(
        info.contains("input: 1 CSV columns"),
        "weight and date columns are not features: {info}"
    );
    let badw = dir.file("badw.csv", "x,w,y\n1,1,0\n2,-1,1\n3,1,0\n");
    let err = fails(&[
        "train",
        "--data",
        &badw,
        "--target",
        "y",
        "--weight-column",
        "w",
        "--out",
        &model,
    ]);
    assert!(err.contains("line 3") && err.contains("'w'"), "{err}");
}

#[test]
fn named_data_set_from_mlp_data_dir() {
    let dir = TempDir::new("named");
    let fm = dir.0.join("fashion-mnist");
    std::fs::create_dir_all(&fm).expect("dir");
    for (split, n) in [("train", 300usize), ("t10k", 100)] {
        let mut pix = Vec::with_capacity(n * 784);
        let mut lab = Vec::with_capacity(n);
        for i in 0..n {
            let class = (i % 10) as u8;
            for p in 0..784usize {
                pix.push(if p / 78 == class as usize {
                    200
                } else {
                    ((i + p) % 40) as u8
                });
            }
            lab.push(class);
        }
        mlp::data::idx::write_idx(
            &fm.join(format!("{split}-images-idx3-ubyte.gz")),
            &[n, 28, 28],
            &pix,
            true,
        )
        .expect("img");
        mlp::data::idx::write_idx(
            &fm.join(format!("{split}-labels-idx1-ubyte.gz")),
            &[n],
            &lab,
            true,
        )
        .expect("lab");
    }
    let model = dir.path("fm.safetensors");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mlp"))
            .args(args)
            .env("MLP_DATA_DIR", &dir.0)
            .output()
            .expect("run")
    };
    let o = run(&[
        "train",
        "--dataset",
        "fashion-mnist",
        "--hidden",
        "32",
        "--epochs",
        "20",
        "--out",
        &model,
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert!(
        v["test"]["accuracy"].as_f64().expect("test acc") > 0.9,
        "{v}"
    );
    let o = run(&[
        "predict",
        "--model",
        &model,
        "--dataset",
        "fashion-mnist",
        "--split",
        "test",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pred = stdout(&o);
    assert_eq!(pred.lines().next(), Some("label"));
    assert_eq!(pred.lines().nth(2), Some("Trouser"));
    // Augmentation and MixUp train reproducibly.
    let m1 = dir.path("aug1.safetensors");
    let m2 = dir.path("aug2.safetensors");
    for m in [&m1, &m2] {
        let o = run(&[
            "train",
            "--dataset",
            "fashion-mnist",
            "--hidden",
            "32",
            "--epochs",
            "3",
            "--augment",
            "shift:2,flip",
            "--mixup",
            "0.2",
            "--label-smoothing",
            "0.1",
            "--threads",
            "2",
            "--out",
            m,
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let t1 = mlp::io::TensorFile::read(Path::new(&m1)).expect("m1");
    let t2 = mlp::io::TensorFile::read(Path::new(&m2)).expect("m2");
    for (name, _, data) in &t1.tensors {
        assert!(
            t2.get(name).map(|t| t.1) == Some(&data[..]),
            "tensor {name} differs between identical runs"
        );
    }
    let o = run(&[
        "train",
        "--dataset",
        "fashion-mnist",
        "--augment",
        "rotate",
        "--out",
        &m1,
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("shift:N"),
        "{}",
        stderr(&o)
    );
    // Absent data set: the error says how to get it.
    let o = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(["train", "--dataset", "mnist", "--out", &model])
        .env("MLP_DATA_DIR", dir.0.join("nowhere"))
        .output()
        .expect("run");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("MLP_DATA_DIR"), "{}", stderr(&o));
}

#[test]
fn architecture_shorthands_train_and_describe_themselves() {
    let dir = TempDir::new("arch");
    let data = dir.file("train.csv", &classification_csv(300));
    let model = dir.path("a.safetensors");
    for (arch, marker) in [
        ("resmlp", "residual x + F(x), width 16"),
        ("hourglass", "(frozen)"),
        (
            "score",
            "recurrent h <- (1 - dt) h + dt F(h), steps 3, dt 0.5",
        ),
        ("glu", "glu 16 -> 16 (hidden 32, gate silu)"),
        (
            "kan",
            "kan 5 -> 16  basis bspline (8 functions) + silu base",
        ),
    ] {
        ok(&[
            "train",
            "--data",
            &data,
            "--target",
            "label",
            "--out",
            &model,
            "--arch",
            arch,
            "--hidden",
            "16",
            "--depth",
            "2",
            "--expansion",
            "2",
            "--steps",
            "3",
            "--dt",
            "0.5",
            "--activation",
            "silu",
            "--epochs",
            "5",
            "--quiet",
        ]);
        let info = ok(&["info", "--model", &model]);
        assert!(info.contains(marker), "{arch}: {info}");
        let pred = ok(&["predict", "--model", &model, "--data", &data]);
        assert_eq!(pred.lines().count(), 301);
    }
    let err = fails(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &model,
        "--arch",
        "transformer",
    ]);
    assert!(err.contains("resmlp"), "{err}");
    // Forecasting layers need a sequence layout: a clear error, not a panic.
    for arch in ["frets", "nbeats"] {
        let err = fails(&[
            "train", "--data", &data, "--target", "label", "--out", &model, "--arch", arch,
        ]);
        assert!(err.contains("mlp forecast"), "{err}");
    }
    // As layers of a spec file, they train on any rows of the right width (here 5 features read
    // as one channel's window) and describe themselves.
    for (layer, marker) in [
        (
            r#"{ type = "frets", channels = 1, window = 5, horizon = 3, embed_dim = 4, hidden = 8 }"#,
            "frets 1 channels x window 5 -> horizon 3  embed 4, head hidden 8, channel learner off",
        ),
        (
            r#"{ type = "nbeats", channels = 1, window = 4, exog = 1, horizon = 3, blocks = 2, layers = 2, units = 8 }"#,
            "nbeats 1 channels x window 4 + 1 exog -> horizon 3  2 blocks",
        ),
    ] {
        let config = dir.file("forecast.toml", &format!("layers = [ {layer} ]\n"));
        ok(&[
            "train", "--data", &data, "--target", "label", "--out", &model, "--config", &config,
            "--epochs", "2", "--quiet",
        ]);
        let info = ok(&["info", "--model", &model]);
        assert!(info.contains(marker), "{info}");
    }
}

/// The TOML example in docs/spec-format.md is a working config.
#[test]
fn documented_spec_example_trains() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/spec-format.md"
    ))
    .expect("doc");
    let start = doc.find("```toml\n").expect("toml block") + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("end of block");
    let dir = TempDir::new("docspec");
    let config = dir.file(
        "spec.toml",
        &doc[start..end].replace("epochs = 30", "epochs = 2"),
    );
    let data = dir.file("train.csv", &classification_csv(200));
    let model = dir.path("m.safetensors");
    ok(&[
        "train", "--data", &data, "--target", "label", "--out", &model, "--config", &config,
        "--quiet",
    ]);
    let info = ok(&["info", "--model", &model]);
    assert!(
        info.contains("layers.1.block.1  dense 256 -> 1024  activation gelu"),
        "{info}"
    );
    assert!(info.contains("optimizer adamw"), "{info}");
}

#[test]
fn sweep_tabulates_resumes_and_plots() {
    let dir = TempDir::new("sweep");
    let data = dir.file("train.csv", &classification_csv(300));
    let out = dir.path("sweep");
    let plot = dir.path("pareto.svg");
    let table = ok(&[
        "sweep",
        "--data",
        &data,
        "--target",
        "label",
        "--archs",
        "mlp,resmlp",
        "--widths",
        "8",
        "--depths",
        "1",
        "--epochs",
        "5",
        "--out-dir",
        &out,
        "--plot",
        &plot,
    ]);
    assert!(
        table.contains("| mlp | 8 | 1 |") && table.contains("| resmlp | 8 | 1 |"),
        "{table}"
    );
    let csv1 = std::fs::read_to_string(format!("{out}/results.csv")).expect("csv");
    assert_eq!(csv1.lines().count(), 3);
    assert!(
        std::fs::read_to_string(&plot)
            .expect("svg")
            .starts_with("<svg")
    );
    // Rerunning with one more width trains only the new combinations.
    ok(&[
        "sweep",
        "--data",
        &data,
        "--target",
        "label",
        "--archs",
        "mlp,resmlp",
        "--widths",
        "8,16",
        "--depths",
        "1",
        "--epochs",
        "5",
        "--out-dir",
        &out,
    ]);
    let csv2 = std::fs::read_to_string(format!("{out}/results.csv")).expect("csv");
    assert_eq!(csv2.lines().count(), 5);
    assert!(
        csv2.starts_with(&csv1),
        "finished rows were rerun:\n{csv1}\n{csv2}"
    );
    // Training curves, and a clear error for a non-SVG plot name.
    let model = dir.path("m.safetensors");
    let curves = dir.path("curves.svg");
    ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--val-fraction",
        "0.2",
        "--epochs",
        "5",
        "--out",
        &model,
        "--plot",
        &curves,
        "--quiet",
    ]);
    assert!(
        std::fs::read_to_string(&curves)
            .expect("svg")
            .contains("validation")
    );
    let err = fails(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--epochs",
        "2",
        "--out",
        &model,
        "--plot",
        &dir.path("c.jpg"),
    ]);
    assert!(err.contains(".svg or .png"), "{err}");
    // PNG output, with text drawn from the embedded font.
    let png = dir.path("curves.png");
    ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--val-fraction",
        "0.2",
        "--epochs",
        "3",
        "--out",
        &model,
        "--plot",
        &png,
        "--quiet",
    ]);
    let bytes = std::fs::read(&png).expect("png");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 5000,
        "{} bytes",
        bytes.len()
    );
}

#[test]
fn finalmlp_with_field_embeddings_on_a_csv_with_categories() {
    let dir = TempDir::new("finalmlp");
    let data = dir.file("train.csv", &classification_csv(400));
    let model = dir.path("f.safetensors");
    ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--arch",
        "finalmlp",
        "--hidden",
        "16",
        "--depth",
        "1",
        "--embedding-dim",
        "4",
        "--epochs",
        "60",
        "--batch-size",
        "32",
        "--val-fraction",
        "0.2",
        "--out",
        &model,
        "--quiet",
    ]);
    let info = ok(&["info", "--model", &model]);
    // x1, x2 numeric (width 1 each), color one-hot (width 3): 3 fields of 4.
    assert!(
        info.contains("embedding 3 fields (5 inputs) -> 3 x 4"),
        "{info}"
    );
    assert!(info.contains("final_mlp 12 -> 16"), "{info}");
    let e: serde_json::Value =
        serde_json::from_str(ok(&["eval", "--model", &model, "--data", &data, "--json"]).trim())
            .expect("json");
    assert!(e["accuracy"].as_f64().expect("acc") > 0.85, "{e}");
    let err = fails(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--embedding-dim",
        "4",
        "--out",
        &model,
    ]);
    assert!(err.contains("finalmlp"), "{err}");
}

/// Two interleaved half circles (two-moons) with a little deterministic noise.
fn moons_csv(rows: usize, seed: u64) -> String {
    let mut s = String::from("x1,x2,label\n");
    let mut state = seed
        .wrapping_mul(2862933555777941757)
        .wrapping_add(3037000493);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / (1u64 << 31) as f64
    };
    for i in 0..rows {
        let t = next() * std::f64::consts::PI;
        let (nx, ny) = ((next() - 0.5) * 0.3, (next() - 0.5) * 0.3);
        let (x, y, l) = if i % 2 == 0 {
            (t.cos(), t.sin(), 0)
        } else {
            (1.0 - t.cos(), 0.5 - t.sin(), 1)
        };
        s.push_str(&format!("{:.5},{:.5},{l}\n", x + nx, y + ny));
    }
    s
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[test]
fn attack_lsa_and_adversarial_training_on_moons() {
    let dir = TempDir::new("attack");
    let train = dir.file("train.csv", &moons_csv(1000, 1));
    let test = dir.file("test.csv", &moons_csv(600, 2));
    let (std_model, at_model) = (dir.path("std.safetensors"), dir.path("at.safetensors"));
    let common = [
        "--data",
        &train,
        "--target",
        "label",
        "--hidden",
        "16,16",
        "--epochs",
        "60",
        "--batch-size",
        "100",
        "--lr",
        "0.01",
        "--no-standardize",
        "--quiet",
    ];
    let mut args = vec!["train"];
    args.extend(common);
    ok(&[&args[..], &["--out", &std_model]].concat());
    ok(&[
        &args[..],
        &[
            "--out",
            &at_model,
            "--adversarial",
            "pgd",
            "--eps",
            "0.3",
            "--adv-steps",
            "5",
            "--layer-reg",
            "0.1",
            "--mvl",
            "auto",
        ],
    ]
    .concat());

    // A sweep prints one JSON object per eps with the documented keys.
    let adv_csv = dir.path("adv.csv");
    let out = ok(&[
        "attack", "--model", &std_model, "--data", &test, "--method", "fgsm", "--eps", "0.05,0.3",
        "--json",
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{out}");
    for key in [
        "clean_accuracy",
        "adversarial_accuracy",
        "attack_success_rate",
        "mean_perturbation",
    ] {
        assert!(lines[1][key].is_number(), "{key} missing: {out}");
    }
    let acc = |v: &serde_json::Value, k: &str| v[k].as_f64().expect(k);
    assert!(acc(&lines[0], "clean_accuracy") > 0.95, "{out}");
    assert!(
        acc(&lines[1], "clean_accuracy") - acc(&lines[1], "adversarial_accuracy") > 0.2,
        "fgsm at 0.3 should cost > 20 points: {out}"
    );
    assert!(acc(&lines[0], "adversarial_accuracy") > acc(&lines[1], "adversarial_accuracy"));
    assert!(
        (acc(&lines[1], "mean_perturbation") - 0.3).abs() < 1e-4,
        "{out}"
    );

    // PGD: the adversarially trained model holds up better; examples are written in raw units.
    let pgd = |model: &str| {
        let out = ok(&[
            "attack", "--model", model, "--data", &test, "--method", "pgd", "--eps", "0.3",
            "--steps", "10", "--json",
        ]);
        acc(&json_lines(&out)[0], "adversarial_accuracy")
    };
    let (a_std, a_at) = (pgd(&std_model), pgd(&at_model));
    assert!(
        a_at > a_std + 0.1,
        "pgd accuracy: standard {a_std}, AT-LR {a_at}"
    );
    ok(&[
        "attack",
        "--model",
        &std_model,
        "--data",
        &test,
        "--method",
        "pgd",
        "--eps",
        "0.2",
        "--out",
        &adv_csv,
        "--plot",
        &dir.path("sweep.svg"),
    ]);
    let written = std::fs::read_to_string(&adv_csv).expect("adversarial csv");
    assert!(written.starts_with("x1,x2,label\n"), "{written}");
    assert_eq!(written.lines().count(), 601);
    for (clean, adv) in moons_csv(600, 2).lines().zip(written.lines()).skip(1) {
        let parse =
            |l: &str| -> Vec<f64> { l.split(',').map(|c| c.parse().expect("num")).collect() };
        let (c, a) = (parse(clean), parse(adv));
        assert!((c[0] - a[0]).abs() <= 0.2 + 1e-4 && (c[1] - a[1]).abs() <= 0.2 + 1e-4);
        assert_eq!(c[2], a[2], "label kept");
    }
    assert!(Path::new(&dir.path("sweep.svg")).exists());

    // LSA: one row per hidden layer, an MVL list, a plot.
    let out = ok(&[
        "lsa",
        "--model",
        &std_model,
        "--data",
        &test,
        "--method",
        "pgd",
        "--eps",
        "0.3",
        "--json",
        "--plot",
        &dir.path("lsa.svg"),
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let layers = v["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 2, "{out}");
    assert!(
        layers
            .iter()
            .all(|l| l["relative_error"].as_f64().expect("re") > 0.0)
    );
    assert_eq!(v["mvl"].as_array().expect("mvl").len(), 1, "{out}");
    let table = ok(&[
        "lsa", "--model", &std_model, "--data", &test, "--eps", "0.3",
    ]);
    assert!(table.contains("most vulnerable layers"), "{table}");
    assert!(Path::new(&dir.path("lsa.svg")).exists());

    // Bad input: one clear line each.
    let err = fails(&["attack", "--model", &std_model, "--data", &test, "--eps=-1"]);
    assert!(err.contains("eps"), "{err}");
    let err = fails(&[
        "attack", "--model", &std_model, "--data", &test, "--eps", "0.1", "--clip", "0",
    ]);
    assert!(err.contains("--clip"), "{err}");
    let err = fails(&[
        "lsa", "--model", &std_model, "--data", &test, "--eps", "0.1,0.2",
    ]);
    assert!(err.contains("single"), "{err}");
    let err = fails(
        &[
            &args[..],
            &[
                "--out",
                &dir.path("bad.safetensors"),
                "--adversarial",
                "fgsm",
                "--eps",
                "0.1",
                "--adv-ratio",
                "2",
            ],
        ]
        .concat(),
    );
    assert!(err.contains("adv-ratio"), "{err}");
    let err = fails(
        &[
            &args[..],
            &[
                "--out",
                &dir.path("bad.safetensors"),
                "--adversarial",
                "fgsm",
                "--eps",
                "0.1",
                "--layer-reg",
                "1",
                "--mvl",
                "9",
            ],
        ]
        .concat(),
    );
    assert!(err.contains("mvl") && err.contains('9'), "{err}");
}

#[test]
fn raw_unit_attacks_leave_categories_alone() {
    let dir = TempDir::new("attack-raw");
    let data = dir.file("train.csv", &classification_csv(300));
    let model = dir.path("m.safetensors");
    ok(&[
        "train", "--data", &data, "--target", "label", "--hidden", "8", "--epochs", "100", "--lr",
        "0.01", "--out", &model, "--quiet",
    ]);
    let adv = dir.path("adv.csv");
    let out = ok(&[
        "attack",
        "--model",
        &model,
        "--data",
        &data,
        "--method",
        "pgd",
        "--eps",
        "0.25",
        "--eps-units",
        "raw",
        "--steps",
        "5",
        "--out",
        &adv,
        "--json",
    ]);
    let v = &json_lines(&out)[0];
    let pert = v["mean_perturbation"].as_f64().expect("pert");
    assert!(pert > 0.2 && pert <= 0.25 + 1e-4, "{out}");
    assert!(v["clean_accuracy"].as_f64().expect("acc") > 0.8, "{out}");
    let written = std::fs::read_to_string(&adv).expect("csv");
    let mut lines = written.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let clean: Vec<Vec<String>> = classification_csv(300)
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    for (row, c) in lines.zip(&clean) {
        let cells: Vec<&str> = row.split(',').collect();
        for (name, cell) in header.iter().zip(&cells) {
            if name.starts_with("color") {
                assert!(*cell == "0" || *cell == "1", "one-hot moved: {name}={cell}");
            }
        }
        // Raw numeric columns moved by at most eps (raw units).
        for j in 0..2 {
            let (a, b): (f64, f64) = (cells[j].parse().expect("x"), c[j].parse().expect("x"));
            assert!((a - b).abs() <= 0.25 + 1e-3, "{a} vs {b}");
        }
    }
}

#[test]
fn verify_certifies_refutes_and_bounds_boxes() {
    let dir = TempDir::new("verify");
    let data = dir.file("train.csv", &classification_csv(400));
    let model = dir.path("m.safetensors");
    ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &model,
        "--hidden",
        "16,16",
        "--epochs",
        "60",
        "--seed",
        "1",
        "--threads",
        "1",
    ]);
    let test = dir.file("test.csv", &classification_csv(30));
    let run = |eps: &str, extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "verify", "--model", &model, "--center", &test, "--eps", eps, "--json",
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(ok(&args).trim()).expect("json report")
    };
    // At eps 0 the box is the sample: certified exactly when the prediction is right.
    let zero = run("0", &[]);
    assert_eq!(zero["labels_from_file"], true);
    assert_eq!(zero["certified_accuracy"], zero["clean_accuracy"]);
    assert_eq!(zero["unknown"], 0);
    // Small radius with CROWN and splits: certified accuracy at most clean accuracy, and every
    // counterexample really changes the prediction (checked with `mlp predict`).
    let small = run("0.05", &["--method", "crown", "--split-budget", "8"]);
    let cert = small["certified_accuracy"]
        .as_f64()
        .expect("certified accuracy");
    let clean = small["clean_accuracy"].as_f64().expect("clean accuracy");
    assert!(cert > 0.5 && cert <= clean, "{small}");
    let big = run("2.5", &["--method", "crown"]);
    let samples = big["samples"].as_array().expect("samples");
    assert_eq!(samples.len(), 30);
    let cex: Vec<&serde_json::Value> = samples
        .iter()
        .filter(|s| s["status"] == "counterexample")
        .collect();
    assert!(!cex.is_empty(), "{big}");
    let mut csv = String::from("x1,x2,color\n");
    for s in &cex {
        let x: Vec<f64> = s["counterexample"]
            .as_array()
            .expect("counterexample")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        // One-hot block in sorted category order: blue, green, red (never perturbed).
        let color = ["blue", "green", "red"][(2..5).find(|&j| x[j] == 1.0).expect("one-hot") - 2];
        csv.push_str(&format!("{},{},{color}\n", x[0], x[1]));
    }
    let pred = ok(&[
        "predict",
        "--model",
        &model,
        "--data",
        &dir.file("cex.csv", &csv),
    ]);
    for (line, s) in pred.lines().skip(1).zip(&cex) {
        assert_ne!(line, s["label"].as_str().expect("label"), "{s}");
    }
    // Raw units, no label column (the predicted class is checked), CSV report.
    let unlabelled = dir.file(
        "x.csv",
        "x1,x2,color\n0.5,1.5,red\n-1.5,-1.0,green\n1.0,-1.5,blue\n",
    );
    let report = dir.path("report.csv");
    let text = ok(&[
        "verify",
        "--model",
        &model,
        "--center",
        &unlabelled,
        "--eps",
        "0.01",
        "--eps-units",
        "raw",
        "--out",
        &report,
    ]);
    assert!(
        text.contains("certified fraction (predicted classes) at eps 0.01 (raw units"),
        "{text}"
    );
    let rows = std::fs::read_to_string(&report).expect("report");
    assert_eq!(rows.lines().count(), 4);
    assert!(rows.starts_with("row,label,predicted,status,margin_lower,splits,lower_logit_no"));

    // Bad input: one clear line each.
    let err = fails(&[
        "verify", "--model", &model, "--center", &test, "--eps", "-0.1",
    ]);
    assert!(err.contains("--eps"), "{err}");
    let short = dir.file("short.csv", "x1,color\n0.1,red\n");
    let err = fails(&[
        "verify", "--model", &model, "--center", &short, "--eps", "0.1",
    ]);
    assert!(err.contains("no column 'x2'"), "{err}");
    let bad = dir.file("bad.csv", "x1,x2,color\n0.1,abc,red\n");
    let err = fails(&[
        "verify", "--model", &model, "--center", &bad, "--eps", "0.1",
    ]);
    assert!(err.contains("line 2") && err.contains("abc"), "{err}");
    let lo = dir.file("lo.csv", "x1,x2,color\n0.7,0.5,red\n");
    let hi = dir.file("hi.csv", "x1,x2,color\n0.5,0.8,red\n");
    let err = fails(&["verify", "--model", &model, "--lower", &lo, "--upper", &hi]);
    assert!(err.contains("lower end 0.7 above upper end 0.5"), "{err}");
}

#[test]
fn verify_bounds_a_regression_model_over_a_raw_box() {
    let dir = TempDir::new("verify-reg");
    let data = dir.file("train.csv", &regression_csv(300));
    let model = dir.path("r.safetensors");
    ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "target",
        "--out",
        &model,
        "--hidden",
        "16",
        "--activation",
        "tanh",
        "--epochs",
        "40",
        "--seed",
        "2",
        "--threads",
        "1",
    ]);
    let lo = dir.file("lo.csv", "a;b\n-1.0;0.5\n");
    let hi = dir.file("hi.csv", "a;b\n0.5;1.5\n");
    let out = ok(&[
        "verify", "--model", &model, "--lower", &lo, "--upper", &hi, "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let s = &v["samples"][0];
    let (l, u) = (
        s["lower"][0].as_f64().expect("lower"),
        s["upper"][0].as_f64().expect("upper"),
    );
    assert!(s.get("status").is_none(), "{out}");
    // Predictions (target units) at the corners and the centre lie inside the bounds.
    let points = dir.file(
        "p.csv",
        "a;b\n-1.0;0.5\n-1.0;1.5\n0.5;0.5\n0.5;1.5\n-0.25;1.0\n",
    );
    let pred = ok(&["predict", "--model", &model, "--data", &points]);
    for line in pred.lines().skip(1) {
        let y: f64 = line.parse().expect("number");
        assert!(y >= l - 1e-3 && y <= u + 1e-3, "{y} outside [{l}, {u}]");
    }
    // The true range of the teacher, 100 + 10 a - 5 b, is [82.5, 102.5].
    assert!(
        l < 82.5 + 2.0 && u > 102.5 - 2.0 && u - l < 60.0,
        "[{l}, {u}]"
    );
    let crown = ok(&[
        "verify", "--model", &model, "--lower", &lo, "--upper", &hi, "--json", "--method", "crown",
    ]);
    let c: serde_json::Value = serde_json::from_str(crown.trim()).expect("json");
    let (cl, cu) = (
        c["samples"][0]["lower"][0].as_f64().expect("lower"),
        c["samples"][0]["upper"][0].as_f64().expect("upper"),
    );
    assert!(
        cl >= l - 1e-9 && cu <= u + 1e-9 && cu - cl < u - l,
        "crown [{cl}, {cu}] vs ibp [{l}, {u}]"
    );
    let text = ok(&["verify", "--model", &model, "--lower", &lo, "--upper", &hi]);
    assert!(text.contains("target in ["), "{text}");
}

#[test]
fn reach_proves_the_acc_example_safe_and_plots() {
    let dir = TempDir::new("reach");
    let plot = dir.path("reach.svg");
    let controller = dir.path("acc.safetensors");
    let out = ok(&[
        "reach",
        "--example",
        "acc",
        "--steps",
        "40",
        "--trajectories",
        "300",
        "--plot",
        &plot,
        "--save-model",
        &controller,
        "--threads",
        "1",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["safe"], true, "{out}");
    assert_eq!(v["trajectories_inside"], true, "{out}");
    assert_eq!(v["steps"].as_array().expect("steps").len(), 41);
    assert!(
        v["min_reachable_gap"].as_f64().expect("gap")
            <= v["min_simulated_gap"].as_f64().expect("sim")
    );
    let svg = std::fs::read_to_string(&plot).expect("plot");
    assert!(svg.contains("<svg") && svg.contains("reach sets"));
    // A saved controller is reloaded; the IBP bounds alone are too loose to prove safety.
    let text = ok(&[
        "reach",
        "--model",
        &controller,
        "--steps",
        "40",
        "--method",
        "ibp",
        "--trajectories",
        "50",
    ]);
    assert!(text.contains("NOT proved avoided"), "{text}");
    let err = fails(&["reach", "--model", &dir.file("x.safetensors", "junk")]);
    assert!(err.contains("x.safetensors"), "{err}");
}

/// A monthly CSV `date,y,promo` (seasonal with trend; `promo` a known exogenous switch).
fn monthly_csv(months: usize) -> String {
    let mut s = String::from("date,y,promo\n");
    for i in 0..months {
        let (year, month) = (2000 + i / 12, i % 12 + 1);
        let promo = (i * 7 % 5 == 0) as u8;
        let y = 100.0
            + 0.5 * i as f64
            + 10.0 * (2.0 * std::f64::consts::PI * i as f64 / 12.0).sin()
            + 3.0 * promo as f64;
        s.push_str(&format!("{year}-{month:02}-01,{y:.3},{promo}\n"));
    }
    s
}

#[test]
fn forecast_fit_predict_backtest() {
    let dir = TempDir::new("forecast");
    let data = dir.file("series.csv", &monthly_csv(120));
    let model = dir.path("model.safetensors");
    let out = ok(&[
        "forecast",
        "fit",
        "--data",
        &data,
        "--time",
        "date",
        "--target",
        "y",
        "--lags",
        "1,12",
        "--horizon",
        "6",
        "--epochs",
        "60",
        "--threads",
        "1",
        "--out",
        &model,
    ]);
    assert!(out.contains("tau = 1, m = 12 (given)"), "{out}");
    assert!(out.contains("calendar: month"), "{out}");
    // Automatic lags are printed with Cao's statistics.
    let auto = ok(&[
        "forecast",
        "fit",
        "--data",
        &data,
        "--time",
        "date",
        "--target",
        "y",
        "--epochs",
        "5",
        "--threads",
        "1",
        "--out",
        &dir.path("auto.safetensors"),
    ]);
    assert!(auto.contains("Cao E1") && auto.contains("Cao E2"), "{auto}");
    // History without the last year: the forecast continues monthly after it.
    let history: String = monthly_csv(120)
        .lines()
        .take(1 + 108)
        .collect::<Vec<_>>()
        .join("\n");
    let hist = dir.file("history.csv", &history);
    let fc = dir.path("forecast.csv");
    let plot = dir.path("forecast.svg");
    ok(&[
        "forecast",
        "predict",
        "--model",
        &model,
        "--data",
        &hist,
        "--horizon",
        "8",
        "--out",
        &fc,
        "--plot",
        &plot,
    ]);
    let text = std::fs::read_to_string(&fc).expect("forecast csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "date,y,lower,upper");
    assert_eq!(lines.len(), 9);
    assert!(lines[1].starts_with("2009-01-01,"), "{text}");
    assert!(lines[8].starts_with("2009-08-01,"), "{text}");
    for line in &lines[1..] {
        let v: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|c| c.parse().expect("number"))
            .collect();
        assert!(v[1] <= v[0] && v[0] <= v[2], "{line}");
    }
    assert!(
        std::fs::read_to_string(&plot)
            .expect("plot")
            .contains("<svg")
    );
    // Backtest: the model and every baseline on the same origins.
    let table = ok(&[
        "forecast",
        "backtest",
        "--data",
        &data,
        "--time",
        "date",
        "--target",
        "y",
        "--lags",
        "1,12",
        "--horizon",
        "6",
        "--epochs",
        "60",
        "--threads",
        "1",
        "--stride",
        "3",
    ]);
    for method in [
        "mlp",
        "naive",
        "seasonal_naive(12)",
        "drift",
        "ar(",
        "ets(",
        "theta",
        "naive2",
        "OWA",
        "coverage",
    ] {
        assert!(table.contains(method), "{method}: {table}");
    }
    // Known exogenous columns need their future values: trailing rows with an empty target.
    let exog_model = dir.path("exog.safetensors");
    ok(&[
        "forecast",
        "fit",
        "--data",
        &data,
        "--time",
        "date",
        "--target",
        "y",
        "--exog",
        "promo",
        "--lags",
        "1,12",
        "--horizon",
        "3",
        "--epochs",
        "20",
        "--threads",
        "1",
        "--out",
        &exog_model,
        "--quiet",
    ]);
    let mut future = history.clone();
    future.push_str("\n2009-01-01,,1\n2009-02-01,,0\n2009-03-01,,0\n");
    let fut = dir.file("future.csv", &future);
    let csv = ok(&[
        "forecast",
        "predict",
        "--model",
        &exog_model,
        "--data",
        &fut,
    ]);
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let json = ok(&[
        "forecast",
        "predict",
        "--model",
        &exog_model,
        "--data",
        &fut,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("json");
    assert_eq!(v["time"][2], "2009-03-01");
    assert_eq!(v["values"][0].as_array().map(Vec::len), Some(3));
    let err = fails(&[
        "forecast",
        "predict",
        "--model",
        &exog_model,
        "--data",
        &fut,
        "--horizon",
        "4",
    ]);
    assert!(
        err.contains("future values of the exogenous column(s) promo"),
        "{err}"
    );
    // The built-in series works without files, with a JSON summary.
    let json = ok(&[
        "forecast",
        "backtest",
        "--dataset",
        "co2",
        "--epochs",
        "30",
        "--threads",
        "1",
        "--stride",
        "6",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).expect("json");
    assert_eq!(v["backtest"]["season"], 12);
    assert_eq!(v["backtest"]["scores"][0]["method"], "mlp");
}

#[test]
fn forecast_bad_input_fails_with_one_clear_line() {
    let dir = TempDir::new("forecast-bad");
    let gap = monthly_csv(40)
        .lines()
        .filter(|l| !l.starts_with("2001-03-01"))
        .collect::<Vec<_>>()
        .join("\n");
    let gap_file = dir.file("gap.csv", &gap);
    let model = dir.path("m.safetensors");
    let fit = |file: &str| {
        fails(&[
            "forecast", "fit", "--data", file, "--time", "date", "--target", "y", "--out", &model,
        ])
    };
    let err = fit(&gap_file);
    // 2001-03-01 was data row 15 (line 16); the row after the gap is now line 16.
    assert!(
        err.contains("gap.csv, line 16, column 'date': gap"),
        "{err}"
    );
    assert!(err.contains("1 missing step(s) of 1 month"), "{err}");
    assert!(err.contains("--fill"), "{err}");
    // With --fill the gap is filled and fitting works.
    ok(&[
        "forecast",
        "fit",
        "--data",
        &gap_file,
        "--time",
        "date",
        "--target",
        "y",
        "--fill",
        "linear",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--out",
        &model,
        "--quiet",
    ]);
    // A date off the monthly grid is never shifted, filled or not.
    let odd = dir.file(
        "odd.csv",
        &monthly_csv(40).replace("2001-06-01", "2001-06-15"),
    );
    let err = fails(&[
        "forecast", "fit", "--data", &odd, "--time", "date", "--target", "y", "--fill", "linear",
        "--out", &model,
    ]);
    assert!(
        err.contains("odd.csv, line 19") && err.contains("irregular"),
        "{err}"
    );
    let blank: Vec<String> = monthly_csv(40)
        .lines()
        .map(|l| match l.strip_prefix("2001-05-01,") {
            Some(rest) => format!("2001-05-01,,{}", rest.split(',').nth(1).expect("promo")),
            None => l.to_string(),
        })
        .collect();
    let missing = dir.file("missing.csv", &blank.join("\n"));
    let err = fit(&missing);
    assert!(
        err.contains("missing.csv, line 18, column 'y': missing value"),
        "{err}"
    );
    let err = fails(&[
        "forecast", "fit", "--data", &missing, "--time", "when", "--target", "y", "--out", &model,
    ]);
    assert!(err.contains("no column 'when'"), "{err}");
    let good = dir.file("good.csv", &monthly_csv(60));
    let base = [
        "forecast", "fit", "--data", &good, "--time", "date", "--target", "y",
    ];
    for (flag, value, needle) in [
        ("--lags", "3", "--lags"),
        ("--strategy", "sideways", "strategy"),
        ("--arch", "transformer", "arch"),
        ("--interval", "bootstrap", "interval"),
        ("--fill", "mean", "fill"),
        ("--calendar", "hour", "calendar"),
        ("--lags", "1,40", "lags"),
    ] {
        let mut args = base.to_vec();
        args.extend([flag, value, "--out", &model]);
        let err = fails(&args);
        assert!(err.contains(needle), "{flag} {value}: {err}");
    }
    // A file that is not a forecaster, and one that is cut short.
    let plain = dir.file("plain.safetensors", "not a model");
    let err = fails(&["forecast", "predict", "--model", &plain, "--data", &good]);
    assert!(err.contains("plain.safetensors"), "{err}");
    let err = fails(&[
        "forecast",
        "predict",
        "--model",
        &dir.path("nope.safetensors"),
        "--data",
        &good,
    ]);
    assert!(err.contains("nope.safetensors"), "{err}");
    let err = fails(&["forecast", "backtest", "--dataset", "sunspots"]);
    assert!(err.contains("co2"), "{err}");
}

#[test]
fn bench_prints_a_summary_or_peer_compatible_json() {
    let line = ok(&["bench", "w2", "--epochs", "1", "--threads", "1", "--json"]);
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON object");
    assert_eq!(v["workload"], "W2");
    for key in [
        "median_s_per_epoch",
        "steps_per_s",
        "test_mse",
        "peak_rss_mib",
    ] {
        let x = v[key].as_f64().unwrap_or(f64::NAN);
        assert!(x.is_finite() && x > 0.0, "{key}: {}", v[key]);
    }
    let text = ok(&["bench", "w2", "--epochs", "1", "--threads", "1"]);
    assert!(
        text.starts_with("W2  ") && text.contains("s/epoch"),
        "{text}"
    );
    let err = fails(&["bench", "w9"]);
    assert!(err.contains("unknown workload 'w9'"), "{err}");
}
