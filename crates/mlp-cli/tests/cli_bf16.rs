//! `mlp train --precision bf16`: mixed-precision training from the command line. The run
//! announces its kernel path, saves an f32 model that `mlp info` reports as trained in bf16,
//! predicts about as well as the f32 run, and the flag turns the model selection off.

mod common;
use common::{TempDir, run_ok, stderr, stdout};

/// Three overlapping classes: `n` rows (a tiny LCG; the test needs no quality).
fn class_csv(n: usize) -> String {
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let centres = [(0.0, 0.0), (1.5, 0.0), (0.0, 1.5)];
    let names = ["ant", "bee", "cat"];
    let mut s = String::from("x1,x2,kind\n");
    for i in 0..n {
        let c = i % 3;
        let (a, b) = (centres[c].0 + next(), centres[c].1 + next());
        s.push_str(&format!("{a:.4},{b:.4},{}\n", names[c]));
    }
    s
}

/// The accuracy `mlp eval --json` reports.
fn accuracy(model: &str, data: &str) -> f64 {
    let o = run_ok(&["eval", "--model", model, "--data", data, "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    v["accuracy"].as_f64().expect("accuracy")
}

#[test]
fn a_bf16_run_saves_an_f32_model_that_info_reports_and_that_predicts_like_f32() {
    let dir = TempDir::new("bf16-train");
    let data = dir.file("c.csv", &class_csv(300));
    let (m32, m16) = (dir.path("f32.mlp"), dir.path("bf16.mlp"));
    let base = [
        "train",
        "--data",
        &data,
        "--target",
        "kind",
        "--hidden",
        "16",
        "--epochs",
        "30",
        "--seed",
        "3",
        "--threads",
        "2",
    ];
    let mut args = base.to_vec();
    args.extend(["--out", &m32, "--quiet"]);
    run_ok(&args);
    let mut args = base.to_vec();
    args.extend(["--out", &m16, "--precision", "bf16"]);
    let o = run_ok(&args);
    assert!(
        stderr(&o).contains("precision bf16: dense-layer products on bf16 operands"),
        "{}",
        stderr(&o)
    );
    let info = stdout(&run_ok(&["info", "--model", &m16]));
    assert!(info.contains("training precision bf16"), "{info}");
    assert!(info.contains("precision  f32"), "{info}");
    let info32 = stdout(&run_ok(&["info", "--model", &m32]));
    assert!(!info32.contains("training precision"), "{info32}");
    let (a32, a16) = (accuracy(&m32, &data), accuracy(&m16, &data));
    assert!(
        a16 > 0.6 && (a16 - a32).abs() <= 0.05,
        "bf16 {a16} vs f32 {a32}"
    );
}

#[test]
fn precision_turns_the_model_selection_off_and_rejects_other_values() {
    let dir = TempDir::new("bf16-flag");
    let data = dir.file("c.csv", &class_csv(90));
    let out = dir.path("m.mlp");
    let train_json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "train",
            "--data",
            &data,
            "--target",
            "kind",
            "--out",
            &out,
            "--threads",
            "1",
            "--json",
        ];
        args.extend(extra);
        serde_json::from_str(stdout(&run_ok(&args)).trim()).expect("json")
    };
    // Without the flag the selection runs on these rows; with it, it does not.
    let on = train_json(&[]);
    assert!(on["selection"]["chosen"].is_string(), "{on}");
    let off = train_json(&["--precision", "bf16"]);
    assert!(off["selection"].is_null(), "{off}");
    let o = common::mlp(&[
        "train",
        "--data",
        &data,
        "--target",
        "kind",
        "--out",
        &out,
        "--precision",
        "f16",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("f16"), "{}", stderr(&o));
}
