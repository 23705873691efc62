//! Hardware-constrained updates (`--update-levels N --update-bound B`): every step lands on the
//! grid of levels within the bound, the network still learns, and the same seed gives the same
//! bits.

use mlp::Activation;
use mlp::data::Dataset;
use mlp::data::generate::two_moons;
use mlp::loss::Loss;
use mlp::network::Network;
use mlp::optim::OptimizerConfig;
use mlp::optim::constrained::UpdateConstraint;
use mlp::spec::ModelSpec;
use mlp::train::{NoHooks, TrainConfig, TrainState, evaluate_loss, train};

const LOSS: Loss = Loss::CrossEntropy {
    label_smoothing: 0.0,
};

fn run(data: &Dataset, epochs: usize, batch: usize, c: UpdateConstraint) -> (Network, Network) {
    let start = ModelSpec::mlp(2, &[16], 2, Activation::Tanh, 0.0)
        .build(3)
        .expect("net");
    let mut net = start.clone();
    let cfg = TrainConfig::default()
        .with_epochs(epochs)
        .with_batch_size(batch)
        .with_optimizer(OptimizerConfig::adam())
        .with_lr(Some(0.02))
        .with_weight_decay(0.0)
        .with_patience(None)
        .with_seed(5)
        .with_threads(1)
        .with_update_constraint(c);
    let mut state = TrainState::default();
    train(&mut net, data, None, &cfg, &LOSS, &mut state, &mut NoHooks).expect("train");
    (start, net)
}

#[test]
fn one_step_lands_on_the_grid_within_the_bound() {
    let data = two_moons(64, 0.1, 1).expect("data");
    let c = UpdateConstraint::new(7, 0.03).expect("valid");
    // One epoch of one full batch: exactly one update.
    let (start, net) = run(&data, 1, 64, c);
    let mut moved = 0;
    for (&a, &b) in net.params().iter().zip(start.params()) {
        let d = a - b;
        assert!(
            d.abs() <= c.bound * (1.0 + 1e-4),
            "step {d} beyond the bound"
        );
        let pulses = d / c.step();
        // The step is a whole number of levels (up to the rounding of `b + n * delta`).
        assert!(
            (pulses - pulses.round()).abs() < 1e-3,
            "step {d} is {pulses} levels"
        );
        moved += usize::from(d != 0.0);
    }
    // Adam's first step is about lr = 0.02 per weight, i.e. two levels of 0.01: most weights move.
    assert!(moved > net.params().len() / 2, "only {moved} weights moved");
}

#[test]
fn constrained_training_learns_and_repeats_bit_for_bit() {
    let data = two_moons(300, 0.1, 2).expect("data");
    let c = UpdateConstraint::new(5, 0.02).expect("valid");
    let (_, a) = run(&data, 60, 32, c);
    let (_, acc) = evaluate_loss(&a, &data, &LOSS, None);
    let acc = acc.expect("classification accuracy");
    assert!(
        acc > 0.8,
        "accuracy {acc}: should be well above chance (0.5)"
    );
    let (_, b) = run(&data, 60, 32, c);
    let bits = |n: &Network| n.params().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b), "same seed, different weights");
}

#[test]
fn bad_levels_and_lbfgs_are_refused() {
    let data = two_moons(32, 0.1, 1).expect("data");
    let mut net = ModelSpec::mlp(2, &[4], 2, Activation::Tanh, 0.0)
        .build(0)
        .expect("net");
    let c = UpdateConstraint {
        levels: 4,
        bound: 0.1,
    };
    let cfg = TrainConfig::default().with_update_constraint(c);
    let err = train(
        &mut net,
        &data,
        None,
        &cfg,
        &LOSS,
        &mut TrainState::default(),
        &mut NoHooks,
    )
    .expect_err("even levels")
    .to_string();
    assert!(err.contains("update-levels"), "{err}");
    let cfg = TrainConfig::default()
        .with_optimizer(OptimizerConfig::lbfgs())
        .with_update_constraint(UpdateConstraint::new(3, 0.1).expect("valid"));
    let err = train(
        &mut net,
        &data,
        None,
        &cfg,
        &LOSS,
        &mut TrainState::default(),
        &mut NoHooks,
    )
    .expect_err("lbfgs")
    .to_string();
    assert!(err.contains("lbfgs"), "{err}");
}
