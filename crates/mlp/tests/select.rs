//! The automatic model selection of the default `mlp train` (`mlp::train::select`): a linear
//! model wins on linear data with noise, a hidden layer wins on XOR, and the whole run (choice
//! and weights) is reproducible.

use mlp::data::generate::linear_regression;
use mlp::data::{Dataset, Targets};
use mlp::estimator::MlpBuilder;
use mlp::rng::Rng;
use mlp::train::select::{Candidate, Plan};

/// XOR of the signs of two uniform features: no linear model does better than chance.
fn xor(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::seed_from(seed);
    let mut features = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let (a, b) = (rng.uniform_range(-1.0, 1.0), rng.uniform_range(-1.0, 1.0));
        features.extend([a, b]);
        labels.push(usize::from(a * b > 0.0));
    }
    Dataset::new(
        features,
        2,
        Targets::Classes {
            labels,
            n_classes: 2,
        },
    )
    .expect("xor data")
}

#[test]
fn a_linear_table_with_noise_selects_the_linear_candidate() {
    let data = linear_regression(300, 6, 1.5, 4).expect("data");
    let model = MlpBuilder::regressor()
        .seed(0)
        .threads(1)
        .fit_selected(&data)
        .expect("fit");
    let sel = model
        .training()
        .and_then(|t| t.selection.clone())
        .expect("the selection is recorded");
    assert_eq!(sel.chosen, Candidate::Linear, "{sel:?}");
    assert_eq!(
        sel.plan,
        Plan::CrossValidation {
            folds: 5,
            stratified: false
        }
    );
    assert_eq!(sel.candidates.len(), 3);
    // The final network is the linear one: no hidden layer, 6 weights and a bias.
    assert_eq!(model.network().n_params(), 7);
    let r2 = match model.evaluate(&data).expect("eval") {
        mlp::estimator::Evaluation::Regression(r) => r.r2,
        other => panic!("not a regression report: {other:?}"),
    };
    // Noise variance 2.25 against a signal variance near 1: R² well above 0, far below 1.
    assert!(r2 > 0.2, "r2 {r2}");
}

#[test]
fn xor_selects_a_hidden_layer() {
    let data = xor(400, 2);
    let model = MlpBuilder::classifier()
        .seed(0)
        .threads(1)
        .fit_selected(&data)
        .expect("fit");
    let sel = model
        .training()
        .and_then(|t| t.selection.clone())
        .expect("the selection is recorded");
    assert_ne!(sel.chosen, Candidate::Linear, "{sel:?}");
    let linear = sel
        .candidates
        .iter()
        .find(|c| c.candidate == Candidate::Linear)
        .expect("linear scored");
    let chosen = sel.chosen_score().expect("chosen scored");
    assert!(chosen.val_loss < linear.val_loss, "{sel:?}");
    let acc = model
        .evaluate(&data)
        .expect("eval")
        .accuracy()
        .expect("accuracy");
    assert!(acc > 0.85, "accuracy {acc}");
}

#[test]
fn the_same_seed_gives_the_same_choice_and_weights() {
    let data = xor(200, 5);
    let fit = |seed: u64| {
        MlpBuilder::classifier()
            .seed(seed)
            .threads(1)
            .fit_selected(&data)
            .expect("fit")
    };
    let (a, b) = (fit(3), fit(3));
    assert_eq!(a.network().params(), b.network().params());
    assert_eq!(
        a.training().and_then(|t| t.selection.clone()),
        b.training().and_then(|t| t.selection.clone())
    );
    assert_eq!(a.network().spec(), b.network().spec());
}

#[test]
fn too_few_rows_is_an_error_not_a_panic() {
    let data = xor(20, 1);
    let err = MlpBuilder::classifier()
        .seed(0)
        .fit_selected(&data)
        .expect_err("20 rows are too few");
    assert!(err.to_string().contains("at least 40"), "{err}");
}
