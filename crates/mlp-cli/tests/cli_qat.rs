//! `mlp train --qat-bits`: a quantization-aware model file stores integer weights, `info` shows
//! its precision, size and latency, `predict`/`eval` run it on integers; `mlp data can` writes
//! the CAN intrusion-detection table, on which 2-bit QAT stays close to f32.

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

fn accuracy(model: &str, data: &str) -> f64 {
    let json = stdout(&ok(&["eval", "--model", model, "--data", data, "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    v["accuracy"].as_f64().expect("accuracy")
}

#[test]
fn qat_model_stores_integers_and_info_predict_eval_read_it() {
    let dir = TempDir::new("qat");
    let data = dir.file("t.csv", &table(300));
    let model = dir.path("q.safetensors");
    ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &model,
        "--hidden",
        "16",
        "--epochs",
        "60",
        "--seed",
        "1",
        "--qat-bits",
        "2",
    ]);
    let info = stdout(&ok(&["info", "--model", &model]));
    assert!(
        info.contains("precision  int2/QAT") && info.contains("bytes packed at 2 bits"),
        "{info}"
    );
    assert!(
        info.contains("latency") && info.contains("qat_dense"),
        "{info}"
    );
    let json = stdout(&ok(&["info", "--model", &model, "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["precision"], "int2/QAT");
    let tensors = v["tensors"].as_array().expect("tensors");
    assert!(
        tensors
            .iter()
            .any(|t| t["name"] == "layers.0.weight_q" && t["dtype"] == "i8"),
        "{json}"
    );
    assert!(
        !tensors.iter().any(|t| t["name"] == "layers.0.weight"),
        "{json}"
    );
    assert!(accuracy(&model, &data) > 0.85);
    let pred = stdout(&ok(&["predict", "--model", &model, "--data", &data]));
    assert_eq!(pred.lines().count(), 301, "{pred}");
    // Bad bit widths and non-dense architectures are one clear error line.
    for bits in ["0", "9"] {
        let out = mlp(&[
            "train",
            "--data",
            &data,
            "--target",
            "label",
            "--out",
            &model,
            "--qat-bits",
            bits,
        ]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("qat-bits"), "{}", stderr(&out));
    }
    let out = mlp(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &model,
        "--qat-bits",
        "2",
        "--arch",
        "resmlp",
        "--epochs",
        "1",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("qat-bits") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn a_truncated_or_edited_qat_file_is_a_clear_error() {
    let dir = TempDir::new("qat-bad");
    let data = dir.file("t.csv", &table(120));
    let model = dir.path("q.safetensors");
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
        "3",
        "--qat-bits",
        "4",
    ]);
    let bytes = std::fs::read(&model).expect("read");
    let cut = dir.path("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).expect("write");
    let out = mlp(&["info", "--model", &cut]);
    assert!(!out.status.success());
    assert!(stderr(&out).starts_with("error:"), "{}", stderr(&out));
    // A header that points the level tensor at the wrong shape.
    let text = String::from_utf8_lossy(&bytes).to_string();
    let edited = text.replacen(
        "\"layers.0.weight_q\":{\"dtype\":\"I8\",\"shape\":[8,3]",
        "\"layers.0.weight_q\":{\"dtype\":\"I8\",\"shape\":[8,2]",
        1,
    );
    if edited != text {
        let bad = dir.path("bad.safetensors");
        std::fs::write(&bad, edited.as_bytes()).expect("write");
        let out = mlp(&["info", "--model", &bad]);
        assert!(!out.status.success());
        assert!(stderr(&out).starts_with("error:"), "{}", stderr(&out));
    }
}

#[test]
fn can_intrusion_detection_two_bit_qat_is_close_to_f32() {
    let dir = TempDir::new("qat-can");
    let all = dir.path("can.csv");
    let out = stdout(&ok(&[
        "data",
        "can",
        "--rows",
        "9000",
        "--attack",
        "dos,fuzzy,spoof",
        "--seed",
        "3",
        "--out",
        &all,
    ]));
    assert!(out.contains("9000 frames"), "{out}");
    // The seed draws the vehicle (its IDs) and the traffic: test on the later frames of the same
    // recording, as a deployed detector would see them.
    let text = std::fs::read_to_string(&all).expect("csv");
    assert!(text.starts_with("time,id,id_b10"), "{}", &text[..80]);
    let lines: Vec<&str> = text.lines().collect();
    let part = |rows: &[&str]| format!("{}\n{}\n", lines[0], rows.join("\n"));
    let train = dir.file("can_train.csv", &part(&lines[1..6001]));
    let test = dir.file("can_test.csv", &part(&lines[6001..]));
    let base = [
        "train", "--data", &train, "--target", "label", "--ignore", "time,id", "--hidden", "32,32",
        "--epochs", "8", "--seed", "1",
    ];
    let (f32m, q2) = (dir.path("f32.safetensors"), dir.path("q2.safetensors"));
    let mut args = base.to_vec();
    args.extend(["--out", &f32m]);
    ok(&args);
    let mut args = base.to_vec();
    args.extend(["--out", &q2, "--qat-bits", "2"]);
    ok(&args);
    let (a32, a2) = (accuracy(&f32m, &test), accuracy(&q2, &test));
    assert!(a32 > 0.95, "f32 {a32}");
    assert!(a2 >= a32 - 0.03, "2-bit {a2} vs f32 {a32}");
    let bad = mlp(&["data", "can", "--attack", "bogus", "--out", &test]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("bogus"), "{}", stderr(&bad));
}
