//! Monte-Carlo dropout against TECHNIQUES.md #22 (POINT²): the predictive standard deviation
//! grows away from the training data. Measured (docs/uncertainty.md): it grows where the model
//! extrapolates past the data, by 1.7-2.2x at 0.5-1 input units beyond the range with a 2x64 ReLU
//! network and dropout 0.1-0.2; in a narrow gap *inside* the range (the paper's 0.3-0.7) it grows
//! by only 1.05-1.3x. This test checks the setting where the claim holds, and that the gap is not
//! where it does (so a change that makes it hold there shows up here and in the docs).

use mlp::data::{Dataset, Targets};
use mlp::estimator::MlpBuilder;
use mlp::rng::Rng;
use mlp::train::ValidationSplit;

/// `y = sin(3x) + N(0, 0.1)` on `x` uniform over `[-1, 0.2] U [0.8, 1]`, `n` rows.
fn gapped_rows(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::seed_from(seed);
    let (mut x, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let u = rng.uniform_range(0.0, 1.4);
        let v = if u < 1.2 { -1.0 + u } else { 0.8 + (u - 1.2) };
        x.push(v);
        y.push((3.0 * v).sin() + 0.1 * rng.normal());
    }
    Dataset::new(
        x,
        1,
        Targets::Values {
            values: y,
            n_outputs: 1,
        },
    )
    .expect("data")
}

/// Mean MC-dropout std over the grid points of `[-1, 2]` that `keep` selects.
fn mean_std(grid: &[f32], std: &[f32], keep: impl Fn(f32) -> bool) -> f64 {
    let s: Vec<f64> = grid
        .iter()
        .zip(std)
        .filter(|(x, _)| keep(**x))
        .map(|(_, s)| *s as f64)
        .collect();
    s.iter().sum::<f64>() / s.len().max(1) as f64
}

#[test]
fn mc_dropout_std_grows_past_the_data_but_not_much_in_a_narrow_gap() {
    let grid: Vec<f32> = (0..=300).map(|i| -1.0 + 3.0 * i as f32 / 300.0).collect();
    let mut extrapolation = Vec::new();
    let mut gap = Vec::new();
    for seed in 0..3 {
        let data = gapped_rows(400, 100 + seed);
        // `mlp train --hidden 64,64 --dropout 0.1` on a 400-row table: no validation part.
        let model = MlpBuilder::regressor()
            .hidden(&[64, 64])
            .dropout(0.1)
            .validation(ValidationSplit::None)
            .seed(seed)
            .threads(1)
            .fit(&data)
            .expect("fit");
        let mc = model
            .mc_dropout(&grid, grid.len(), 100, 1)
            .expect("mc dropout");
        let std = mc.std.expect("regression std");
        let inside = mean_std(&grid, &std, |x| x <= 0.2 || (0.8..=1.0).contains(&x));
        let beyond = mean_std(&grid, &std, |x| x >= 1.5);
        let hole = mean_std(&grid, &std, |x| x > 0.3 && x < 0.7);
        extrapolation.push(beyond / inside);
        gap.push(hole / inside);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&extrapolation) > 1.5 && extrapolation.iter().all(|r| *r > 1.2),
        "std beyond the data / on it: {extrapolation:?}"
    );
    assert!(
        mean(&gap) < mean(&extrapolation),
        "gap {gap:?} vs extrapolation {extrapolation:?}"
    );
    eprintln!("extrapolation ratios {extrapolation:?}, gap ratios {gap:?}");
}
