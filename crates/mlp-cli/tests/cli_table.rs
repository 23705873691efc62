//! `mlp train` / `mlp predict` and the library's table path are one path: the same CSV (with text
//! columns), the same settings and seed give the same weights, the same labels and bit-identical
//! regression values. Also `predict`'s unknown-category policy and its forecaster hint.

use mlp::prelude::*;
use std::path::{Path, PathBuf};
mod common;
use common::{mlp, run_ok as ok};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mlp/tests/fixtures/iris_sites.csv")
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mlp-cli-table-{}-{name}", std::process::id()))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Trains with the CLI and returns (model file, predictions CSV text).
fn cli_train_predict(target: &str, tag: &str) -> (Model, String) {
    let model_path = temp(&format!("{tag}.mlp"));
    let data = fixture();
    ok(&[
        "train",
        "--data",
        s(&data),
        "--target",
        target,
        "--epochs",
        "40",
        "--seed",
        "11",
        "--threads",
        "1",
        "--quiet",
        "--out",
        s(&model_path),
    ]);
    let out = ok(&["predict", "--model", s(&model_path), "--data", s(&data)]);
    let model = Model::load(&model_path).expect("load CLI model");
    std::fs::remove_file(&model_path).ok();
    (model, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn lib_fit(target: &str) -> Model {
    let table = Table::from_csv(fixture()).expect("fixture");
    MlpBuilder::new()
        .epochs(40)
        .seed(11)
        .threads(1)
        .fit_table(&table, target)
        .expect("fit_table")
}

#[test]
fn classification_matches_the_cli_exactly() {
    let (cli_model, csv) = cli_train_predict("species", "cls");
    let model = lib_fit("species");
    assert_eq!(
        model.network().params(),
        cli_model.network().params(),
        "weights"
    );
    assert_eq!(model.input(), cli_model.input(), "feature encoding");
    assert_eq!(model.target(), cli_model.target(), "labels");
    let table = Table::from_csv(fixture()).expect("fixture");
    let p = model.predict_table(&table).expect("predict_table");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("species"));
    let cli_labels: Vec<&str> = lines.collect();
    let labels = p.labels().expect("labels");
    assert_eq!(cli_labels.len(), 150);
    assert_eq!(
        cli_labels,
        labels.iter().map(String::as_str).collect::<Vec<_>>()
    );
}

#[test]
fn regression_values_match_the_cli_bit_for_bit() {
    let (cli_model, csv) = cli_train_predict("petal_width", "reg");
    let model = lib_fit("petal_width");
    assert_eq!(
        model.network().params(),
        cli_model.network().params(),
        "weights"
    );
    assert_eq!(model.target(), cli_model.target(), "target scaling");
    let table = Table::from_csv(fixture()).expect("fixture");
    let p = model.predict_table(&table).expect("predict_table");
    let values = p.values().expect("values");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("petal_width"));
    let cli: Vec<f32> = lines.map(|l| l.parse().expect("a number")).collect();
    assert_eq!(cli.len(), values.len());
    for (i, (a, b)) in cli.iter().zip(values).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "row {i}: CLI {a}, library {b}");
    }
}

#[test]
fn unknown_categories_warn_once_or_fail_on_request() {
    let model_path = temp("unknown.mlp");
    let data = fixture();
    ok(&[
        "train",
        "--data",
        s(&data),
        "--target",
        "species",
        "--epochs",
        "3",
        "--quiet",
        "--out",
        s(&model_path),
    ]);
    let input = temp("unknown.csv");
    std::fs::write(
        &input,
        "sepal_length,sepal_width,petal_length,petal_width,site\n\
         5.1,3.5,1.4,0.2,west\n6.7,3.0,5.2,2.3,west\n5.9,3.0,4.2,1.5,north\n",
    )
    .expect("write input");
    let o = ok(&["predict", "--model", s(&model_path), "--data", s(&input)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(
        err.contains("'site'") && err.contains("'west'") && err.contains("2 rows"),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 4);
    let o = ok(&[
        "predict",
        "--model",
        s(&model_path),
        "--data",
        s(&input),
        "--unknown-category",
        "ignore",
    ]);
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = mlp(&[
        "predict",
        "--model",
        s(&model_path),
        "--data",
        s(&input),
        "--unknown-category",
        "error",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2") && err.contains("west"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // A forecaster given to `mlp predict` points to `mlp forecast predict`.
    let mut file = mlp::io::TensorFile::read(&model_path).expect("read");
    file.metadata.insert("forecast".into(), "{}".into());
    let fake = temp("forecaster.mlp");
    file.write(&fake).expect("write");
    let o = mlp(&["predict", "--model", s(&fake), "--data", s(&input)]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("mlp forecast predict"), "{err}");
    for p in [&model_path, &input, &fake] {
        std::fs::remove_file(p).ok();
    }
}
