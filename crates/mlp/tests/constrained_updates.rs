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
use mlp::optim::device::{DeviceModel, DeviceRule};
use mlp::spec::ModelSpec;
use mlp::train::{Hooks, Outcome};
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
        device: None,
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

fn device(pulses: u32, nu: f32, rule: DeviceRule) -> UpdateConstraint {
    UpdateConstraint::new(5, 0.02)
        .expect("valid")
        .with_device(DeviceModel {
            pulses,
            nonlinearity: nu,
            rule,
        })
        .expect("valid device")
}

fn accuracy(net: &Network, data: &Dataset) -> f64 {
    evaluate_loss(net, data, &LOSS, None)
        .1
        .expect("classification accuracy")
}

#[test]
fn device_weights_stay_in_range_learn_and_repeat_bit_for_bit() {
    let data = two_moons(300, 0.1, 2).expect("data");
    for (pulses, nu, rule) in [
        (1024, 0.0, DeviceRule::Bidirectional),
        (64, 5.0, DeviceRule::Bidirectional),
        (64, 5.0, DeviceRule::Unidirectional),
    ] {
        let c = device(pulses, nu, rule);
        let range = c.device_range().expect("device");
        let half = match rule {
            DeviceRule::Bidirectional => range / 2.0,
            DeviceRule::Unidirectional => range,
        };
        let (_, a) = run(&data, 40, 32, c);
        let worst = a.params().iter().fold(0.0f32, |m, w| m.max(w.abs()));
        assert!(
            worst <= half * (1.0 + 1e-5),
            "{rule:?} nu {nu}: |w| {worst} beyond the device range {half}"
        );
        let (_, b) = run(&data, 40, 32, c);
        let bits = |n: &Network| n.params().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&a),
            bits(&b),
            "{rule:?} nu {nu}: same seed, different weights"
        );
        let acc = accuracy(&a, &data);
        assert!(acc > 0.75, "{rule:?} nu {nu}: accuracy {acc}");
    }
}

#[test]
fn a_linear_device_of_ample_range_is_the_plain_quantized_rule() {
    // nu = 0 and a range far beyond every weight: each pulse moves the weight by exactly one
    // level, as without a device -- up to programming the initial weights to the level grid
    // around the mid reference, so compare the steps, not the weights.
    let data = two_moons(64, 0.1, 1).expect("data");
    let plain = UpdateConstraint::new(7, 0.03).expect("valid");
    let dev = plain
        .with_device(DeviceModel {
            pulses: 100_000,
            nonlinearity: 0.0,
            rule: DeviceRule::Unidirectional,
        })
        .expect("device");
    let (start, a) = run(&data, 1, 64, plain);
    let (_, b) = run(&data, 1, 64, dev);
    for ((&x, &y), &s) in a.params().iter().zip(b.params()).zip(start.params()) {
        let (da, db) = ((x - s) / plain.step(), (y - s) / plain.step());
        // b's start was snapped to the grid (at most half a level away).
        assert!((da - db).abs() <= 0.5 + 1e-3, "steps {da} vs {db} levels");
    }
}

struct StopAfter(usize);

impl Hooks for StopAfter {
    fn on_batch(&mut self, _epoch: usize, _batch: usize, _n: usize, _loss: f64) {
        self.0 = self.0.saturating_sub(1);
    }
    fn should_stop(&mut self) -> bool {
        self.0 == 0
    }
}

#[test]
fn device_state_resumes_bit_for_bit() {
    let data = two_moons(200, 0.1, 4).expect("data");
    let c = device(64, 5.0, DeviceRule::Unidirectional);
    let (_, full) = run(&data, 6, 32, c);

    let mut net = ModelSpec::mlp(2, &[16], 2, Activation::Tanh, 0.0)
        .build(3)
        .expect("net");
    let cfg = TrainConfig::default()
        .with_epochs(6)
        .with_batch_size(32)
        .with_optimizer(OptimizerConfig::adam())
        .with_lr(Some(0.02))
        .with_weight_decay(0.0)
        .with_patience(None)
        .with_seed(5)
        .with_threads(1)
        .with_update_constraint(c);
    let mut state = TrainState::default();
    let outcome = train(
        &mut net,
        &data,
        None,
        &cfg,
        &LOSS,
        &mut state,
        &mut StopAfter(15),
    )
    .expect("first part");
    assert_eq!(outcome, Outcome::Interrupted);
    assert!(
        state
            .optimizer
            .buffers
            .iter()
            .any(|(k, _)| k == "device.g_plus"),
        "the conductances are training state"
    );
    // The checkpoint file stores every optimizer buffer by name (tests/training.rs checks the
    // file round trip); here the state carries on in memory.
    train(&mut net, &data, None, &cfg, &LOSS, &mut state, &mut NoHooks).expect("second part");
    assert_eq!(net.params(), full.params(), "resumed run differs");
}
