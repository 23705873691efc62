//! `mlp verify --vnnlib`: answers, counterexamples, exit codes (0 holds, 10 violated, 20
//! unknown) and errors, on a small iris model.

mod common;
use common::{TempDir, mlp, run_ok, stderr, stdout};

const IRIS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../mlp/data/iris.csv");

fn train(dir: &TempDir) -> String {
    let model = dir.path("iris.safetensors");
    run_ok(&[
        "train",
        "--data",
        IRIS,
        "--target",
        "species",
        "--hidden",
        "8,8",
        "--epochs",
        "40",
        "--seed",
        "0",
        "--threads",
        "1",
        "--quiet",
        "--out",
        &model,
    ]);
    model
}

/// A property over a box of iris measurements (cm) with the given output asserts.
fn prop(lo: [f64; 4], hi: [f64; 4], asserts: &str) -> String {
    let mut s = String::new();
    for i in 0..4 {
        s.push_str(&format!("(declare-const X_{i} Real)\n"));
    }
    for i in 0..3 {
        s.push_str(&format!("(declare-const Y_{i} Real)\n"));
    }
    for i in 0..4 {
        s.push_str(&format!(
            "(assert (>= X_{i} {}))\n(assert (<= X_{i} {}))\n",
            lo[i], hi[i]
        ));
    }
    s + asserts
}

const LO: [f64; 4] = [4.9, 3.2, 1.3, 0.1];
const HI: [f64; 4] = [5.1, 3.4, 1.5, 0.3];

#[test]
fn answers_and_exit_codes() {
    let dir = TempDir::new("vnn");
    let model = train(&dir);
    // Holds: no output reaches 1e6 on a bounded box.
    let p = dir.file("holds.vnnlib", &prop(LO, HI, "(assert (>= Y_0 1e6))\n"));
    let o = mlp(&["verify", "--model", &model, "--vnnlib", &p]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).trim(), "holds");

    // Violated: every output is below 1e6; the counterexample is printed in the competition's
    // format, inside the box (raw cm).
    let p = dir.file("violated.vnnlib", &prop(LO, HI, "(assert (<= Y_0 1e6))\n"));
    let o = mlp(&["verify", "--model", &model, "--vnnlib", &p]);
    assert_eq!(o.status.code(), Some(10), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("violated\n((X_0 "), "{out}");
    assert!(out.contains("(Y_2 "), "{out}");
    let o = mlp(&["verify", "--model", &model, "--vnnlib", &p, "--json"]);
    assert_eq!(o.status.code(), Some(10));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(v["result"], "violated");
    let x = v["counterexample_input"].as_array().expect("input");
    for (j, xj) in x.iter().enumerate() {
        let xj = xj.as_f64().expect("number");
        assert!(
            xj >= LO[j] - 1e-6 && xj <= HI[j] + 1e-6,
            "{xj} outside [{}, {}]",
            LO[j],
            HI[j]
        );
    }

    // Setosa robustness: unsafe when another class scores at least setosa's logit. The answer
    // must be decided and, when violated, the counterexample must show it.
    let p = dir.file(
        "robust.vnnlib",
        &prop(
            LO,
            HI,
            "(assert (or (and (>= Y_1 Y_0)) (and (>= Y_2 Y_0))))\n",
        ),
    );
    let o = mlp(&[
        "verify",
        "--model",
        &model,
        "--vnnlib",
        &p,
        "--json",
        "--timeout",
        "60",
    ]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    match o.status.code() {
        Some(0) => assert_eq!(v["result"], "holds"),
        Some(10) => {
            let y: Vec<f64> = v["counterexample_output"]
                .as_array()
                .expect("output")
                .iter()
                .filter_map(|t| t.as_f64())
                .collect();
            assert!(y[1] >= y[0] || y[2] >= y[0], "{y:?}");
        }
        other => panic!("{other:?}: {v}"),
    }

    // Unknown: no time to bound anything (the falsifier cannot refute a property that holds).
    let p = dir.file("slow.vnnlib", &prop(LO, HI, "(assert (>= Y_0 1e6))\n"));
    let o = mlp(&[
        "verify",
        "--model",
        &model,
        "--vnnlib",
        &p,
        "--timeout",
        "1e-9",
    ]);
    assert_eq!(o.status.code(), Some(20), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).trim(), "unknown");
    assert!(stderr(&o).contains("timeout"), "{}", stderr(&o));
}

#[test]
fn errors_are_one_line() {
    let dir = TempDir::new("vnn-err");
    let p = dir.file("p.vnnlib", &prop(LO, HI, "(assert (>= Y_0 1e6))\n"));
    let o = mlp(&["verify", "--onnx", "missing.onnx", "--vnnlib", &p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.onnx"), "{}", stderr(&o));
    assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
    let model = train(&dir);
    let bad = dir.file(
        "bad.vnnlib",
        "(declare-const X_0 Real)\n(assert (= X_0 1))\n",
    );
    let o = mlp(&["verify", "--model", &model, "--vnnlib", &bad]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("bad.vnnlib") && e.contains("line 2, column 9"),
        "{e}"
    );
    let narrow = dir.file(
        "narrow.vnnlib",
        "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= X_0 0))(assert (<= X_0 1))(assert (>= Y_0 0))",
    );
    let o = mlp(&["verify", "--model", &model, "--vnnlib", &narrow]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("1 inputs"), "{}", stderr(&o));
    let o = mlp(&[
        "verify",
        "--model",
        &model,
        "--vnnlib",
        &p,
        "--timeout",
        "-1",
    ]);
    assert!(stderr(&o).contains("--timeout"), "{}", stderr(&o));
}

/// An ACAS-Xu-shaped ONNX graph (5 inputs with Sub/Div normalisation, ReLU layers, 5 outputs;
/// made by crates/mlp/tests/fixtures/onnx/make_fixtures.py) verified straight from the file:
/// near a point whose output is known (expected.json), a far-away output is unreachable and a
/// nearby one is reached, with a counterexample inside the box.
#[test]
fn onnx_networks_are_verified_from_the_file() {
    let onnx = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mlp/tests/fixtures/onnx/acas_style.onnx"
    );
    let x: [f64; 5] = [
        -8554.27734375,
        -0.6987495422363281,
        1.7049195766448975,
        106.01171875,
        998.9677734375,
    ];
    let y0 = 0.08862006664276123;
    let dir = TempDir::new("vnn-onnx");
    let write = |name: &str, unsafe_set: &str| {
        let mut t = String::new();
        for i in 0..5 {
            t.push_str(&format!("(declare-const X_{i} Real)\n"));
        }
        for i in 0..5 {
            t.push_str(&format!("(declare-const Y_{i} Real)\n"));
        }
        for (i, v) in x.iter().enumerate() {
            let w = 1e-4 * (1.0 + v.abs());
            t.push_str(&format!("(assert (>= X_{i} {}))\n", v - w));
            t.push_str(&format!("(assert (<= X_{i} {}))\n", v + w));
        }
        t.push_str(unsafe_set);
        dir.file(name, &t)
    };
    let far = write("far.vnnlib", &format!("(assert (>= Y_0 {}))\n", y0 + 10.0));
    let o = mlp(&["verify", "--onnx", onnx, "--vnnlib", &far]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).trim(), "holds");
    let near = write("near.vnnlib", &format!("(assert (<= Y_0 {}))\n", y0 + 10.0));
    let o = mlp(&["verify", "--onnx", onnx, "--vnnlib", &near]);
    assert_eq!(o.status.code(), Some(10), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).starts_with("violated"), "{}", stdout(&o));
}
