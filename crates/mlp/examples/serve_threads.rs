//! Serving from threads: one trained model shared as `Arc<Model>`, each thread with its own
//! `PredictScratch`, so after the first request `predict_into` allocates nothing. Every thread's
//! answers equal the single-threaded ones. Runs with
//! `cargo run --release --example serve_threads` and as part of `cargo test`.

use mlp::prelude::*;
use std::sync::Arc;

fn main() -> mlp::Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv");
    let table = Table::from_csv(path)?;
    let model = Arc::new(
        MlpBuilder::classifier()
            .hidden(&[16])
            .epochs(40)
            .seed(5)
            .fit_table(&table, "species")?,
    );
    // Encode once (a server would encode each request's row the same way).
    let (features, _) = model.encode_table(&table, UnknownCategory::Error)?;
    let width = model.n_features();
    let reference = model.predict_proba(&features, table.n_rows())?;
    let features = Arc::new(features);

    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (model, features) = (Arc::clone(&model), Arc::clone(&features));
            std::thread::spawn(move || -> mlp::Result<Vec<f32>> {
                let mut scratch = PredictScratch::new();
                let k = model.output_width();
                let mut out = vec![0.0f32; k];
                let mut all = Vec::new();
                // Each thread answers every row, one request at a time, starting at a different row.
                let rows = features.len() / width;
                for i in 0..rows {
                    let r = (i + t * 37) % rows;
                    model.predict_into(
                        &features[r * width..(r + 1) * width],
                        1,
                        &mut scratch,
                        &mut out,
                    )?;
                    all.push((r, out.clone()));
                }
                all.sort_by_key(|(r, _)| *r);
                Ok(all.into_iter().flat_map(|(_, p)| p).collect())
            })
        })
        .collect();
    for h in handles {
        let answers = h
            .join()
            .map_err(|_| mlp::Error::InvalidData("a serving thread panicked".into()))??;
        assert_eq!(answers.len(), reference.len());
        for (a, b) in answers.iter().zip(&reference) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
    }
    println!(
        "4 threads x {} requests agree with one batch",
        table.n_rows()
    );
    Ok(())
}

#[test]
fn example_runs() -> mlp::Result<()> {
    main()
}
