//! Tabular classification from a CSV: one call fits the encoding and the network, and the model
//! predicts class labels from raw rows. Runs with `cargo run --release --example table_classify`
//! and as part of `cargo test` (it asserts what it prints).
//!
//! The data is the wine data set shipped with the crate (`data/wine.csv`, 13 numeric columns and
//! a text class column).

use mlp::prelude::*;

fn main() -> mlp::Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/wine.csv");
    let table = Table::from_csv(path)?;
    let model = MlpBuilder::classifier()
        .hidden(&[32])
        .epochs(100)
        .lr(0.01)
        .seed(1)
        .fit_table(&table, "class")?;
    let predictions = model.predict_table(&table)?;
    let labels = predictions.labels().unwrap_or_default();
    let truth = table.column("class").unwrap_or_default();
    let correct = labels.iter().zip(truth).filter(|(p, t)| p == t).count();
    let accuracy = correct as f64 / truth.len().max(1) as f64;
    println!(
        "{} rows, classes {:?}, training accuracy {:.3}",
        table.n_rows(),
        predictions.class_labels(),
        accuracy
    );
    assert!(accuracy > 0.9, "accuracy {accuracy}");
    // Probabilities come in the order of `class_labels`.
    let proba = predictions.proba().unwrap_or_default();
    assert_eq!(
        proba.len(),
        table.n_rows() * predictions.class_labels().len()
    );
    Ok(())
}

#[test]
fn example_runs() -> mlp::Result<()> {
    main()
}
