//! `mlp quantize`: a trained table model becomes an int8 model file that `predict`, `eval` and
//! `info` read; bad settings and unsupported models are one clear error line. `mlp prune`:
//! sparsity shown by `info`, structured pruning shrinks the layers.

mod common;
use common::{TempDir, mlp, run_ok as ok, stderr, stdout};

fn table(rows: usize) -> String {
    let mut s = String::from("a,b,c,label\n");
    for i in 0..rows {
        let (a, b) = ((i as f64 * 0.37).sin() * 3.0, (i as f64 * 0.11).cos());
        let c = (i % 7) as f64 - 3.0;
        let label = if a + b > 0.3 { "yes" } else { "no" };
        s.push_str(&format!("{a:.4},{b:.4},{c},{label}\n"));
    }
    s
}

#[test]
fn quantize_then_predict_eval_and_info_take_the_int8_path() {
    let dir = TempDir::new("int8");
    let data = dir.file("t.csv", &table(300));
    let model = dir.path("m.safetensors");
    let q = dir.path("q.safetensors");
    ok(&[
        "train", "--data", &data, "--target", "label", "--out", &model, "--hidden", "16",
        "--epochs", "60", "--seed", "1",
    ]);
    let out = stdout(&ok(&[
        "quantize",
        "--model",
        &model,
        "--data",
        &data,
        "--out",
        &q,
        "--calibration",
        "minmax",
    ]));
    assert!(
        out.contains("int8 model") && out.contains("kernel"),
        "{out}"
    );
    let info = stdout(&ok(&["info", "--model", &q]));
    assert!(
        info.contains("precision  int8") && info.contains("kernel"),
        "{info}"
    );
    let info = stdout(&ok(&["info", "--model", &model]));
    assert!(info.contains("precision  f32"), "{info}");
    let acc = |m: &str| -> f64 {
        let json = stdout(&ok(&["eval", "--model", m, "--data", &data, "--json"]));
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        v["accuracy"].as_f64().expect("accuracy")
    };
    let (af, aq) = (acc(&model), acc(&q));
    assert!(af > 0.9 && (af - aq).abs() <= 0.02, "f32 {af}, int8 {aq}");
    let pred = stdout(&ok(&["predict", "--model", &q, "--data", &data]));
    assert_eq!(pred.lines().count(), 301, "{pred}");
    // Percentile calibration (the default) works too.
    ok(&["quantize", "--model", &model, "--data", &data, "--out", &q]);
}

#[test]
fn bad_settings_and_unsupported_models_are_clear_errors() {
    let dir = TempDir::new("int8-bad");
    let data = dir.file("t.csv", &table(80));
    let model = dir.path("m.safetensors");
    let q = dir.path("q.safetensors");
    ok(&[
        "train", "--data", &data, "--target", "label", "--out", &model, "--hidden", "8",
        "--epochs", "3", "--arch", "resmlp", "--depth", "1",
    ]);
    let o = mlp(&["quantize", "--model", &model, "--data", &data, "--out", &q]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("int8 quantization supports dense layers; this model has residual"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    ok(&[
        "train", "--data", &data, "--target", "label", "--out", &model, "--hidden", "8",
        "--epochs", "3",
    ]);
    let o = mlp(&[
        "quantize",
        "--model",
        &model,
        "--data",
        &data,
        "--out",
        &q,
        "--percentile",
        "20",
    ]);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("--percentile"), "{err}");
    assert!(
        !std::path::Path::new(&q).exists(),
        "no file written on error"
    );
}

#[test]
fn prune_then_info_shows_the_sparsity() {
    let dir = TempDir::new("prune");
    let data = dir.file("t.csv", &table(200));
    let model = dir.path("m.safetensors");
    let pruned = dir.path("p.safetensors");
    ok(&[
        "train", "--data", &data, "--target", "label", "--out", &model, "--hidden", "16,8",
        "--epochs", "30", "--seed", "1",
    ]);
    let out = stdout(&ok(&[
        "prune",
        "--model",
        &model,
        "--data",
        &data,
        "--out",
        &pruned,
        "--sparsity",
        "0.6",
        "--epochs",
        "2",
    ]));
    assert!(out.contains("115 of 192 weights zero"), "{out}");
    let info = stdout(&ok(&["info", "--model", &pruned]));
    assert!(
        info.contains("sparsity   59.9% of the weights are zero"), // 115 of 192
        "{info}"
    );
    let out = stdout(&ok(&[
        "prune",
        "--model",
        &model,
        "--data",
        &data,
        "--out",
        &pruned,
        "--sparsity",
        "0.5",
        "--structured",
    ]));
    assert!(out.contains("layers.0: 8 of 16 neurons kept"), "{out}");
    let info = stdout(&ok(&["info", "--model", &pruned]));
    assert!(info.contains("dense 3 -> 8"), "{info}");
    ok(&["eval", "--model", &pruned, "--data", &data]);
    let o = mlp(&[
        "prune",
        "--model",
        &model,
        "--data",
        &data,
        "--out",
        &pruned,
        "--sparsity",
        "1.5",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("--sparsity"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_ensemble_is_refused_by_quantize_and_prune() {
    let dir = TempDir::new("int8-ensemble");
    let data = dir.file("t.csv", &table(120));
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
        "8",
        "--epochs",
        "5",
        "--seed",
        "1",
        "--ensemble",
        "2",
    ]);
    let out = dir.path("q.safetensors");
    for cmd in [
        vec![
            "quantize", "--model", &model, "--data", &data, "--out", &out,
        ],
        vec![
            "prune",
            "--model",
            &model,
            "--data",
            &data,
            "--sparsity",
            "0.5",
            "--out",
            &out,
        ],
    ] {
        let o = mlp(&cmd);
        let err = stderr(&o);
        assert!(!o.status.success(), "{} succeeded", cmd[0]);
        assert!(
            err.contains("ensemble of 2 members") && err.lines().count() == 1,
            "{}: {err}",
            cmd[0]
        );
        assert!(!std::path::Path::new(&out).exists());
    }
}
