//! Tabular regression from a CSV with a text column: the model keeps the target's scaling, so
//! predictions come back in the target's own units. Runs with
//! `cargo run --release --example table_regress` and as part of `cargo test`.
//!
//! The data is the iris data shipped with the crate (`data/iris.csv`): predict petal width from
//! the other measurements and the species (a text column, one-hot encoded).

use mlp::prelude::*;

fn main() -> mlp::Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv");
    let table = Table::from_csv(path)?;
    let target = "petal width (cm)";
    let model = MlpBuilder::regressor()
        .hidden(&[32])
        .epochs(150)
        .lr(0.01)
        .seed(2)
        .fit_table(&table, target)?;
    let predictions = model.predict_table(&table)?;
    let values = predictions.values().unwrap_or_default();
    let truth: Vec<f32> = table
        .column(target)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let mae = values
        .iter()
        .zip(&truth)
        .map(|(p, t)| (p - t).abs())
        .sum::<f32>()
        / truth.len().max(1) as f32;
    println!(
        "first rows: predicted {:?}, true {:?}; mean absolute error {mae:.3} cm",
        &values[..3.min(values.len())],
        &truth[..3.min(truth.len())]
    );
    assert_eq!(values.len(), table.n_rows());
    assert!(mae < 0.3, "mean absolute error {mae}");
    Ok(())
}

#[test]
fn example_runs() -> mlp::Result<()> {
    main()
}
