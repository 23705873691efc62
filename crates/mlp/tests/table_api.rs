//! The table path of the library: `Table` in, `Model` keeping its encoding, `Predictions` out;
//! `predict_into` for serving; unknown-category policy; typed constructors.

use mlp::prelude::*;
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/iris_sites.csv")
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mlp-table-api-{}-{name}", std::process::id()))
}

fn classifier() -> Model {
    let table = Table::from_csv(fixture()).expect("fixture");
    MlpBuilder::classifier()
        .hidden(&[16])
        .epochs(100)
        .lr(0.01)
        .seed(3)
        .threads(1)
        .fit_table(&table, "species")
        .expect("fit")
}

#[test]
fn classifier_from_csv_with_text_columns_predicts_labels() {
    let table = Table::from_csv(fixture()).expect("fixture");
    let model = classifier();
    // The text column became a one-hot block that travels in the model.
    assert!(
        model
            .input()
            .feature_names()
            .iter()
            .any(|n| n == "site=north")
    );
    assert_eq!(
        model.class_labels(),
        vec!["setosa", "versicolor", "virginica"]
    );
    let p = model.predict_table(&table).expect("predict");
    assert!(p.values().is_none());
    let labels = p.labels().expect("labels");
    let truth = table.column("species").expect("target");
    let correct = labels.iter().zip(truth).filter(|(a, b)| a == b).count();
    assert!(correct >= 130, "{correct} of 150 correct");
    let proba = p.proba().expect("proba");
    assert_eq!(proba.len(), 150 * 3);
    assert!(p.unseen_categories().is_empty());
}

#[test]
fn regressor_predicts_in_raw_units() {
    let table = Table::from_csv(fixture()).expect("fixture");
    let model = MlpBuilder::regressor()
        .hidden(&[16])
        .epochs(150)
        .seed(5)
        .threads(1)
        .fit_table(&table, "petal_width")
        .expect("fit");
    let p = model.predict_table(&table).expect("predict");
    assert!(p.labels().is_none() && p.proba().is_none());
    let values = p.values().expect("values");
    let truth: Vec<f32> = table
        .column("petal_width")
        .expect("target")
        .iter()
        .map(|s| s.parse().expect("number"))
        .collect();
    let mae = values
        .iter()
        .zip(&truth)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / truth.len() as f32;
    // Raw units: petal width is 0.1..2.5 cm; standardized outputs would miss by ~1.
    assert!(mae < 0.3, "mean absolute error {mae}");
}

#[test]
fn predict_into_matches_predict_and_reuses_buffers() {
    let table = Table::from_csv(fixture()).expect("fixture");
    let model = classifier();
    let (features, unseen) = model
        .encode_table(&table, UnknownCategory::Error)
        .expect("encode");
    assert!(unseen.is_empty());
    let rows = table.n_rows();
    let expected = model.predict_proba(&features, rows).expect("proba");
    let mut scratch = PredictScratch::new();
    let mut out = vec![0.0f32; rows * model.output_width()];
    model
        .predict_into(&features, rows, &mut scratch, &mut out)
        .expect("predict_into");
    for (a, b) in out.iter().zip(&expected) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
    // One row at a time through the same scratch.
    let w = model.n_features();
    let mut one = vec![0.0f32; model.output_width()];
    for r in [0, 77, 149] {
        model
            .predict_into(&features[r * w..(r + 1) * w], 1, &mut scratch, &mut one)
            .expect("one row");
        for (a, b) in one.iter().zip(&expected[r * 3..r * 3 + 3]) {
            assert!((a - b).abs() <= 1e-6);
        }
    }
    // Wrong output length and non-finite input are errors.
    assert!(
        model
            .predict_into(&features, rows, &mut scratch, &mut one)
            .is_err()
    );
    let mut bad = features[..w].to_vec();
    bad[1] = f32::NAN;
    let err = model
        .predict_into(&bad, 1, &mut scratch, &mut one)
        .expect_err("NaN");
    assert!(err.to_string().contains("row 0"), "{err}");
}

#[test]
fn unknown_categories_follow_the_policy() {
    let model = classifier();
    let rows = [
        ["5.1", "3.5", "1.4", "0.2", "west", "setosa"],
        ["6.7", "3.0", "5.2", "2.3", "west", "virginica"],
        ["5.9", "3.0", "4.2", "1.5", "moon", "versicolor"],
    ];
    let table = Table::from_records(
        &[
            "sepal_length",
            "sepal_width",
            "petal_length",
            "petal_width",
            "site",
            "species",
        ],
        rows,
    )
    .expect("table");
    let p = model.predict_table(&table).expect("warn policy");
    let unseen = p.unseen_categories();
    assert_eq!(unseen.len(), 2, "{unseen:?}");
    assert_eq!((unseen[0].value.as_str(), unseen[0].rows), ("west", 2));
    assert_eq!(unseen[0].column, "site");
    assert!(unseen[0].to_string().contains("'west'"));
    let quiet = model
        .predict_table_with(&table, UnknownCategory::Ignore)
        .expect("ignore");
    assert!(quiet.unseen_categories().is_empty());
    assert_eq!(quiet.labels(), p.labels());
    let err = model
        .predict_table_with(&table, UnknownCategory::Error)
        .expect_err("error policy");
    let msg = err.to_string();
    assert!(msg.contains("site") && msg.contains("west"), "{msg}");
}

#[test]
fn save_and_load_take_any_path_and_keep_the_encoding() {
    let table = Table::from_csv(fixture()).expect("fixture");
    let model = classifier();
    let path = temp("model.mlp");
    model.save(&path).expect("save");
    let loaded = Model::load(path.to_str().expect("utf-8 path")).expect("load");
    std::fs::remove_file(&path).ok();
    let a = model.predict_table(&table).expect("a");
    let b = loaded.predict_table(&table).expect("b");
    assert_eq!(a.labels(), b.labels());
    assert_eq!(a.proba(), b.proba());
}

#[test]
fn tables_in_memory_are_checked() {
    let t = Table::from_columns([("x", vec!["1", "2"]), ("y", vec!["a", "b"])]).expect("ok");
    assert_eq!((t.n_rows(), t.n_columns()), (2, 2));
    assert!(Table::from_columns([("x", vec!["1", "2"]), ("y", vec!["a"])]).is_err());
    assert!(Table::from_columns([("x", vec!["1"]), ("x", vec!["2"])]).is_err());
    assert!(Table::from_columns([("", vec!["1"])]).is_err());
    assert!(Table::from_records(&["a", "b"], [vec!["1"]]).is_err());
    let missing = Table::from_csv(temp("does-not-exist.csv")).expect_err("missing file");
    // The OS reason is part of the message.
    assert!(
        missing.to_string().contains("No such file") || missing.to_string().contains("os error"),
        "{missing}"
    );
}

#[test]
fn a_single_class_or_a_matrix_model_is_refused() {
    let one_class = Table::from_columns([
        ("x", vec!["1", "2", "3", "4"]),
        ("y", vec!["a", "a", "a", "a"]),
    ])
    .expect("table");
    assert!(
        MlpBuilder::classifier()
            .epochs(2)
            .fit_table(&one_class, "y")
            .is_err()
    );
    let x = mlp::ndarray::Array2::from_shape_fn((20, 2), |(i, j)| (i * 2 + j) as f32);
    assert!(
        MlpBuilder::new()
            .epochs(2)
            .fit_array(x.view(), &[1; 20])
            .is_err(),
        "one class from fit_array"
    );
    let y: Vec<usize> = (0..20).map(|i| i % 2).collect();
    let model = MlpBuilder::new()
        .epochs(2)
        .patience(10)
        .optimizer(OptimizerConfig::adamw())
        .fit_array(x.view(), &y)
        .expect("fit");
    assert!(model.predict_table(&one_class).is_err());
    assert_eq!(OptimizerConfig::adamw().name(), "adamw");
    assert_eq!(OptimizerConfig::nesterov().name(), "nesterov");
}

#[test]
fn missing_cells_mean_the_same_in_any_case() {
    let t = Table::from_columns([
        ("x", vec!["1", "NULL", "3", "n/a", "5", "6", "7", "8"]),
        ("z", vec!["1", "2", "3", "4", "5", "6", "7", "8"]),
        ("y", vec!["a", "b", "a", "b", "a", "b", "a", "b"]),
    ])
    .expect("table");
    // Without imputation a missing cell is an error naming its line and column.
    let err = MlpBuilder::classifier()
        .epochs(2)
        .fit_table(&t, "y")
        .expect_err("missing");
    assert!(err.to_string().contains("line 3"), "{err}");
    let model = MlpBuilder::classifier()
        .epochs(2)
        .impute(Impute::Mean)
        .fit_table(&t, "y")
        .expect("imputed");
    assert_eq!(model.n_features(), 2);
}
