//! `mlp export --format c`: on a table with numeric and text columns, the compiled C model
//! (float) gives what `mlp predict --proba` prints, within 1e-5; the fixed-point one the same
//! class on at least 99% of rows; an unsupported block is a one-line error naming it. Without a
//! C compiler the compile steps print a SKIP line.

mod common;
use common::{TempDir, mlp, run_ok, stderr, stdout};
use std::process::Command;

/// x1, x2 numeric; colour text (one-hot blue, green, red in the C input); label.
fn table(rows: usize) -> String {
    let mut s = String::from("x1,x2,colour,label\n");
    let colours = ["red", "green", "blue"];
    for i in 0..rows {
        let a = ((i * 37) % 101) as f64 / 10.0 - 5.0;
        let b = ((i * 53) % 97) as f64 / 7.0;
        let c = colours[i % 3];
        let shift = match c {
            "red" => 1.5,
            "green" => -1.0,
            _ => 0.0,
        };
        let label = if a + 0.3 * b - 2.0 + shift > 0.0 {
            "yes"
        } else {
            "no"
        };
        s.push_str(&format!("{a},{b},{c},{label}\n"));
    }
    s
}

/// The C input rows: raw numeric values, then the colour's one-hot block (sorted vocabulary).
fn c_input(csv: &str) -> String {
    let mut out = String::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let onehot = ["blue", "green", "red"].map(|c| if f[2] == c { "1" } else { "0" });
        out.push_str(&format!("{} {} {}\n", f[0], f[1], onehot.join(" ")));
    }
    out
}

const MAIN_C: &str = r#"#include <stdio.h>
#include "mlp_model.h"
int main(void) {
    float x[MLP_N_INPUTS], y[MLP_N_OUTPUTS];
    int i;
    for (;;) {
        for (i = 0; i < MLP_N_INPUTS; i++) if (scanf("%f", &x[i]) != 1) return 0;
        mlp_predict(x, y);
        for (i = 0; i < MLP_N_OUTPUTS; i++) printf("%.9g%c", y[i], i + 1 == MLP_N_OUTPUTS ? '\n' : ' ');
    }
}
"#;

/// Compiles the export in `dir` and runs it on `input`; `None` without a C compiler.
fn compile_and_run(dir: &TempDir, sub: &str, input: &str) -> Option<Vec<Vec<f64>>> {
    let d = dir.0.join(sub);
    std::fs::write(d.join("main.c"), MAIN_C).expect("main.c");
    let exe = d.join("prog");
    match Command::new("cc")
        .args(["-std=c99", "-O2", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(d.join("main.c"))
        .arg(d.join("mlp_model.c"))
        .arg("-lm")
        .status()
    {
        Err(_) => {
            println!("SKIP: no C compiler (cc) found");
            return None;
        }
        Ok(s) => assert!(s.success(), "cc failed"),
    }
    let inp = d.join("input.txt");
    std::fs::write(&inp, input).expect("input");
    let out = Command::new(&exe)
        .stdin(std::fs::File::open(&inp).expect("open"))
        .output()
        .expect("run");
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split(' ').map(|v| v.parse().expect("number")).collect())
            .collect(),
    )
}

fn argmax(v: &[f64]) -> usize {
    usize::from(v[1] > v[0])
}

#[test]
fn exported_c_predicts_what_mlp_predict_does() {
    let dir = TempDir::new("export-c");
    let csv = table(300);
    let data = dir.file("t.csv", &csv);
    let model = dir.path("m.safetensors");
    run_ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &model,
        "--hidden",
        "16,16",
        "--activation",
        "tanh",
        "--epochs",
        "40",
        "--seed",
        "1",
        "--quiet",
    ]);
    let pred = stdout(&run_ok(&[
        "predict", "--model", &model, "--data", &data, "--proba",
    ]));
    let want: Vec<Vec<f64>> = pred
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .skip(1)
                .map(|v| v.parse().expect("p"))
                .collect()
        })
        .collect();
    assert_eq!(want.len(), 300);
    let float_dir = dir.path("float");
    let o = run_ok(&[
        "export", "--model", &model, "--format", "c", "--out", &float_dir,
    ]);
    assert!(stdout(&o).contains("mlp_model.c"), "{}", stdout(&o));
    let header = std::fs::read_to_string(dir.0.join("float/mlp_model.h")).expect("header");
    assert!(header.contains("#define MLP_N_INPUTS 5"), "{header}");
    assert!(header.contains("colour=blue"), "{header}");
    let Some(got) = compile_and_run(&dir, "float", &c_input(&csv)) else {
        return;
    };
    assert_eq!(got.len(), want.len());
    let diff = want
        .iter()
        .zip(&got)
        .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
        .fold(0.0, f64::max);
    // `mlp predict` prints probabilities to a limited number of digits; both sides agree far
    // more closely than the 1e-5 asked.
    assert!(diff <= 1e-5, "float C differs from mlp predict by {diff}");

    let fixed_dir = dir.path("fixed");
    run_ok(&[
        "export",
        "--model",
        &model,
        "--format",
        "c",
        "--out",
        &fixed_dir,
        "--fixed-point",
    ]);
    let src = std::fs::read_to_string(dir.0.join("fixed/mlp_model.c")).expect("src");
    assert!(src.contains("int16_t") && src.contains("mlp_qdense"));
    let Some(got) = compile_and_run(&dir, "fixed", &c_input(&csv)) else {
        return;
    };
    let same = want
        .iter()
        .zip(&got)
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    assert!(
        same * 100 >= 99 * want.len(),
        "fixed point agrees on {same}/300"
    );
}

#[test]
fn fixed_point_export_names_an_unsupported_block() {
    let dir = TempDir::new("export-c-bad");
    let data = dir.file("t.csv", &table(60));
    let spec = dir.file(
        "s.json",
        r#"{"layers":[{"type":"dense","units":8,"activation":"relu"},{"type":"layer_norm"}]}"#,
    );
    let model = dir.path("m.safetensors");
    let o = mlp(&[
        "train", "--data", &data, "--target", "label", "--out", &model, "--config", &spec,
        "--epochs", "2", "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = mlp(&[
        "export",
        "--model",
        &model,
        "--format",
        "c",
        "--out",
        &dir.path("x"),
        "--fixed-point",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("layer_norm") && err.lines().count() == 1,
        "{err}"
    );
}
