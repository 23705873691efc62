//! C export: the generated `.c`/`.h` pair compiled with the system C compiler (`cc`) must
//! predict what the model predicts (float: within 1e-5; fixed point: the same class on at least
//! 99% of rows). Without a C compiler the tests print a SKIP line (CI has one).

use mlp::data::Dataset;
use mlp::data::generate::{blobs, linear_regression, two_moons};
use mlp::estimator::MlpBuilder;
use mlp::io::c_export::{self, COptions};
use mlp::model::Model;
use mlp::spec::LayerSpec;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mlp-cexp-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

const MAIN_C: &str = r#"#include <stdio.h>
#include "mlp_model.h"
int main(void) {
    float x[MLP_N_INPUTS > 0 ? MLP_N_INPUTS : 1], y[MLP_N_OUTPUTS];
    int i;
    for (;;) {
        for (i = 0; i < MLP_N_INPUTS; i++) if (scanf("%f", &x[i]) != 1) return 0;
        mlp_predict(x, y);
        for (i = 0; i < MLP_N_OUTPUTS; i++) printf("%.9g%c", y[i], i + 1 == MLP_N_OUTPUTS ? '\n' : ' ');
    }
}
"#;

/// Exports, compiles and runs the C model on `rows` rows; `None` when no C compiler exists.
fn run_c(
    model: &Model,
    options: &COptions<'_>,
    x: &[f32],
    rows: usize,
    name: &str,
) -> Option<Vec<f32>> {
    let dir = tmp(name);
    c_export::write(model, &dir, options).expect("export");
    std::fs::write(dir.join("main.c"), MAIN_C).expect("main.c");
    let exe = dir.join("prog");
    let status = Command::new("cc")
        .args(["-std=c99", "-O2", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(dir.join("main.c"))
        .arg(dir.join("mlp_model.c"))
        .arg("-lm")
        .status();
    match status {
        Err(_) => {
            println!("SKIP: no C compiler (cc) found; C export not compiled");
            return None;
        }
        Ok(s) => assert!(s.success(), "cc failed on {}", dir.display()),
    }
    let n = model.n_features();
    let mut input = String::new();
    for r in 0..rows {
        for v in &x[r * n..(r + 1) * n] {
            input.push_str(&format!("{v:e} "));
        }
        input.push('\n');
    }
    let inp = dir.join("input.txt");
    std::fs::write(&inp, input).expect("input");
    let out = Command::new(&exe)
        .stdin(std::fs::File::open(&inp).expect("open"))
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    let y: Vec<f32> = text
        .split_whitespace()
        .map(|t| t.parse().expect("number"))
        .collect();
    assert_eq!(y.len(), rows * model.output_width(), "{}", dir.display());
    Some(y)
}

fn predicted(model: &Model, data: &Dataset) -> Vec<f32> {
    let mut out = vec![0.0; data.len() * model.output_width()];
    model
        .predict_into(
            data.features(),
            data.len(),
            &mut mlp::model::PredictScratch::new(),
            &mut out,
        )
        .expect("predict");
    out
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn argmax_rows(p: &[f32], k: usize) -> Vec<usize> {
    p.chunks_exact(k)
        .map(|r| {
            r.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv { (i, v) } else { (bi, bv) }
                })
                .0
        })
        .collect()
}

fn specs(json: &str) -> Vec<LayerSpec> {
    serde_json::from_str(json).expect("spec")
}

#[test]
fn float_export_matches_predict_for_every_supported_block() {
    let data = blobs(300, 5, 3, 1.5, 4).expect("blobs");
    let layers = specs(
        r#"[{"type":"dense","units":16,"activation":"tanh"},
            {"type":"batch_norm"},
            {"type":"residual","layers":[{"type":"layer_norm"},{"type":"dense","units":16,"activation":"gelu"},{"type":"dropout","p":0.1}]},
            {"type":"dense","units":12,"activation":"silu"},
            {"type":"dense","units":12,"activation":"elu"},
            {"type":"dense","units":12,"activation":"softplus"},
            {"type":"dense","units":12,"activation":"leaky_relu"},
            {"type":"dense","units":12,"activation":"sigmoid"},
            {"type":"dense","units":3}]"#,
    );
    let model = MlpBuilder::classifier()
        .layers(layers)
        .epochs(20)
        .seed(3)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let want = predicted(&model, &data);
    let Some(got) = run_c(
        &model,
        &COptions::default(),
        data.features(),
        data.len(),
        "float",
    ) else {
        return;
    };
    let d = max_diff(&want, &got);
    assert!(d <= 1e-5, "float C differs from predict by {d}");
}

#[test]
fn float_export_of_a_regressor_writes_raw_units() {
    let data = linear_regression(200, 4, 0.1, 2).expect("data");
    let model = MlpBuilder::regressor()
        .hidden(&[16])
        .epochs(30)
        .seed(1)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let want = predicted(&model, &data);
    let Some(got) = run_c(
        &model,
        &COptions::default(),
        data.features(),
        data.len(),
        "reg",
    ) else {
        return;
    };
    // Raw units: compare relative to the target's spread.
    let spread = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1.0);
    let d = max_diff(&want, &got) / spread;
    assert!(d <= 1e-5, "regression C differs by {d} (relative)");
}

fn fixed_point_agreement(act: &str, name: &str) {
    let data = two_moons(600, 0.2, 5).expect("moons");
    let layers = specs(&format!(
        r#"[{{"type":"dense","units":32,"activation":"{act}"}},
            {{"type":"dense","units":32,"activation":"{act}"}},
            {{"type":"dense","units":2}}]"#
    ));
    let model = MlpBuilder::classifier()
        .layers(layers)
        .epochs(60)
        .seed(2)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let want = argmax_rows(&predicted(&model, &data), 2);
    // Calibrated on the training rows, and on the synthetic default.
    for (tag, calibration) in [
        ("data", Some((data.features(), data.len()))),
        ("synthetic", None),
    ] {
        let options = COptions {
            fixed_point: true,
            calibration,
        };
        let Some(got) = run_c(
            &model,
            &options,
            data.features(),
            data.len(),
            &format!("{name}-{tag}"),
        ) else {
            return;
        };
        let got = argmax_rows(&got, 2);
        let same = want.iter().zip(&got).filter(|(a, b)| a == b).count();
        let rate = same as f64 / want.len() as f64;
        assert!(rate >= 0.99, "{act}/{tag}: fixed point agrees on {rate}");
    }
}

#[test]
fn fixed_point_export_keeps_the_class_with_relu() {
    fixed_point_agreement("relu", "relu");
}

#[test]
fn fixed_point_export_keeps_the_class_with_tabled_activations() {
    fixed_point_agreement("tanh", "tanh");
    fixed_point_agreement("gelu", "gelu");
}

#[test]
fn unsupported_blocks_are_named() {
    let data = two_moons(100, 0.2, 5).expect("moons");
    let model = MlpBuilder::classifier()
        .layers(specs(
            r#"[{"type":"dense","units":8,"activation":"relu"},{"type":"layer_norm"},{"type":"dense","units":2}]"#,
        ))
        .epochs(1)
        .seed(2)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let err = c_export::generate(
        &model,
        &COptions {
            fixed_point: true,
            calibration: None,
        },
    )
    .expect_err("fixed point has no layer norm");
    assert!(err.to_string().contains("layer_norm"), "{err}");
    // The float export takes it.
    c_export::generate(&model, &COptions::default()).expect("float");
    let _ = Path::new("");
}
