//! `mlp export --format onnx` run by onnxruntime on a real table (wine: classification, and
//! regression of `alcohol` with the text column `class` as a one-hot block) against
//! `mlp predict` (within 1e-4), for each block architecture; `mlp import --onnx` of a PyTorch
//! export feeding `mlp predict`; the errors of both commands.
//!
//! onnxruntime comes from Python (`pip install onnxruntime`, done by .ci/run). Without it the
//! onnxruntime test prints a SKIP line, unless MLP_REQUIRE_ONNXRUNTIME=1 (CI) makes it fail.

mod common;
use common::{TempDir, mlp, run_ok, stderr, stdout};
use std::path::Path;
use std::process::Command;

fn wine() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mlp/data/wine.csv")
        .display()
        .to_string()
}

/// Runs an exported model with onnxruntime on a CSV: builds the `input` matrix from the
/// model's `mlp.input_features` metadata (numeric columns raw, `column=category` one-hot) and
/// prints the output as JSON.
const ORT_SCRIPT: &str = r#"
import csv, json, sys
import numpy as np
import onnxruntime as ort
sess = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
meta = sess.get_modelmeta().custom_metadata_map
feats = json.loads(meta["mlp.input_features"])
cols = json.loads(meta["mlp.input_columns"])
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
x = np.zeros((len(rows), len(feats)), np.float32)
for j, f in enumerate(feats):
    if f in cols:
        x[:, j] = [float(r[f]) if r[f] != "" else np.nan for r in rows]
    else:
        c = next(c for c in cols if f.startswith(c + "="))
        x[:, j] = [1.0 if r[c] == f[len(c) + 1:] else 0.0 for r in rows]
out = sess.run(None, {"input": x})
print(json.dumps({"name": sess.get_outputs()[0].name, "out": out[0].tolist()}))
"#;

fn onnxruntime_available() -> bool {
    Command::new("python3")
        .args(["-c", "import onnxruntime, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The last `k` columns of each data row of a predictions CSV.
fn predicted(csv: &str, k: usize) -> Vec<Vec<f64>> {
    csv.lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            cells[cells.len() - k..]
                .iter()
                .map(|c| c.parse::<f64>().expect("number"))
                .collect()
        })
        .collect()
}

#[test]
fn onnxruntime_agrees_with_mlp_predict_on_wine() {
    if !onnxruntime_available() {
        assert!(
            std::env::var("MLP_REQUIRE_ONNXRUNTIME").as_deref() != Ok("1"),
            "MLP_REQUIRE_ONNXRUNTIME=1 but python3 cannot import onnxruntime"
        );
        println!("SKIP onnx: python3 cannot import onnxruntime (pip install onnxruntime)");
        return;
    }
    let dir = TempDir::new("onnx-ort");
    let data = wine();
    let cases: &[(&str, &[&str])] = &[
        (
            "mlp-gelu",
            &[
                "--target",
                "class",
                "--hidden",
                "16,8",
                "--activation",
                "gelu",
            ],
        ),
        (
            "resmlp-silu",
            &[
                "--target",
                "class",
                "--arch",
                "resmlp",
                "--depth",
                "2",
                "--hidden",
                "8",
                "--activation",
                "silu",
            ],
        ),
        (
            "score-rk2",
            &[
                "--target",
                "class",
                "--arch",
                "score",
                "--steps",
                "3",
                "--integrator",
                "rk2",
                "--hidden",
                "8",
            ],
        ),
        (
            "glu",
            &[
                "--target",
                "class",
                "--arch",
                "glu",
                "--depth",
                "2",
                "--hidden",
                "8",
                "--activation",
                "sigmoid",
            ],
        ),
        (
            "regress-hourglass",
            &[
                "--target",
                "alcohol",
                "--arch",
                "hourglass",
                "--depth",
                "2",
                "--hidden",
                "12",
                "--activation",
                "elu",
            ],
        ),
        (
            "regress-mlp",
            &[
                "--target",
                "alcohol",
                "--hidden",
                "10",
                "--activation",
                "softplus",
            ],
        ),
    ];
    for (name, flags) in cases {
        let model = dir.path(&format!("{name}.safetensors"));
        let onnx = dir.path(&format!("{name}.onnx"));
        let mut args = vec![
            "train", "--data", &data, "--out", &model, "--epochs", "25", "--seed", "3",
        ];
        args.extend_from_slice(flags);
        run_ok(&args);
        let o = run_ok(&[
            "export", "--model", &model, "--format", "onnx", "--out", &onnx,
        ]);
        assert!(stdout(&o).contains("opset 17"), "{}", stdout(&o));
        let classify = flags[1] == "class";
        let mut pargs = vec!["predict", "--model", &model, "--data", &data];
        if classify {
            pargs.push("--proba");
        }
        let pred = stdout(&run_ok(&pargs));
        let ort = Command::new("python3")
            .args(["-c", ORT_SCRIPT, &onnx, &data])
            .output()
            .expect("python3");
        assert!(
            ort.status.success(),
            "{name}: onnxruntime failed: {}",
            String::from_utf8_lossy(&ort.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&ort.stdout).expect("onnxruntime JSON");
        let out: Vec<Vec<f64>> = serde_json::from_value(doc["out"].clone()).expect("rows");
        assert_eq!(doc["name"], if classify { "proba" } else { "value" });
        let k = out[0].len();
        assert_eq!(k, if classify { 3 } else { 1 }, "{name}");
        let want = predicted(&pred, k);
        assert_eq!(want.len(), out.len(), "{name}: rows");
        let mut max = 0.0f64;
        for (a, b) in want.iter().flatten().zip(out.iter().flatten()) {
            max = max.max((a - b).abs());
        }
        println!("onnx {name}: max abs diff onnxruntime vs mlp predict = {max:.3e}");
        assert!(max <= 1e-4, "{name}: max abs diff {max}");
    }
}

#[test]
fn export_errors_are_one_line() {
    let dir = TempDir::new("onnx-errors");
    let data = wine();
    let kan = dir.path("kan.safetensors");
    run_ok(&[
        "train", "--data", &data, "--target", "class", "--arch", "kan", "--hidden", "4",
        "--epochs", "1", "--out", &kan,
    ]);
    let o = mlp(&[
        "export",
        "--model",
        &kan,
        "--format",
        "onnx",
        "--out",
        &dir.path("k.onnx"),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("'kan'"), "{err}");
    assert!(!Path::new(&dir.path("k.onnx")).exists());
    let o = mlp(&[
        "export",
        "--model",
        &kan,
        "--format",
        "c",
        "--out",
        &dir.path("c"),
    ]);
    // The C export refuses the block by name, too.
    assert!(!o.status.success());
    assert!(stderr(&o).contains("'kan'"), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
    let bad = dir.file("bad.onnx", "not an onnx file");
    let o = mlp(&[
        "import",
        "--onnx",
        &bad,
        "--out",
        &dir.path("m.safetensors"),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.onnx"), "{}", stderr(&o));
}

#[test]
fn imported_pytorch_network_feeds_mlp_predict() {
    let dir = TempDir::new("onnx-import");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mlp/tests/fixtures/onnx");
    let text = std::fs::read_to_string(fixtures.join("expected.json")).expect("expected.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let x: Vec<Vec<f64>> = serde_json::from_value(doc["torch_mlp"]["inputs"].clone()).expect("x");
    let y: Vec<Vec<f64>> = serde_json::from_value(doc["torch_mlp"]["outputs"].clone()).expect("y");
    let mut csv = String::from("x0,x1,x2,x3\n");
    for r in &x {
        let cells: Vec<String> = r.iter().map(|v| format!("{}", *v as f32)).collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    let input = dir.file("x.csv", &csv);
    let model = dir.path("torch.safetensors");
    let onnx = fixtures.join("torch_mlp.onnx").display().to_string();
    let o = run_ok(&["import", "--onnx", &onnx, "--out", &model]);
    assert!(stdout(&o).contains("3 dense layers"), "{}", stdout(&o));
    run_ok(&["info", "--model", &model]);
    let pred = stdout(&run_ok(&["predict", "--model", &model, "--data", &input]));
    let got = predicted(&pred, 3);
    let mut max = 0.0f64;
    for (a, b) in got.iter().flatten().zip(y.iter().flatten()) {
        max = max.max((a - b).abs());
    }
    assert!(max <= 1e-5, "max abs diff vs PyTorch {max}");
    // `mlp verify` bounds the imported network's outputs over an input box.
    let lo = dir.file("lo.csv", "x0,x1,x2,x3\n-0.1,-0.1,-0.1,-0.1\n");
    let hi = dir.file("hi.csv", "x0,x1,x2,x3\n0.1,0.1,0.1,0.1\n");
    run_ok(&["verify", "--model", &model, "--lower", &lo, "--upper", &hi]);
}
