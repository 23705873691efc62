//! Verification: soundness of IBP and CROWN bounds against sampled inputs, bisection, certification
//! with counterexamples, and closed-loop reachability of the adaptive cruise control example.

use mlp::Activation;
use mlp::layers::Integrator;
use mlp::network::Network;
use mlp::rng::Rng;
use mlp::spec::{LayerSpec, ModelSpec};
use mlp::verify::bisect::{BisectConfig, Verdict, refine, verify};
use mlp::verify::crown::crown;
use mlp::verify::interval::ibp;
use mlp::verify::reach::{Acc, Controller, ReachConfig, reach, simulate};
use mlp::verify::{Bounds, LinearSpec, Method, output_bounds, spec_bounds};

/// Random weights of a larger spread than the initializer (so activations saturate and cross
/// their kinks), positive running variances for batch norm.
fn randomize(net: &mut Network, seed: u64) {
    let mut rng = Rng::seed_from(seed);
    let tensors = net.tensors().to_vec();
    for t in tensors {
        for p in &mut net.params_mut()[t.range.clone()] {
            *p = rng.normal() * 0.8;
            if t.name.ends_with("running_var") {
                *p = p.abs() + 0.2;
            }
        }
    }
}

fn random_box(rng: &mut Rng, n: usize, radius: f64) -> Bounds {
    let c: Vec<f64> = (0..n).map(|_| rng.normal() as f64).collect();
    let e: Vec<f64> = (0..n).map(|_| radius * (0.2 + rng.uniform_f64())).collect();
    Bounds::around(&c, &e).expect("valid box")
}

/// Samples `count` points of the box (a quarter of them corners), predicts them in one batch and
/// checks `spec` of every output against `bounds`.
fn check_spec(
    net: &Network,
    b: &Bounds,
    spec: &LinearSpec,
    bounds: &Bounds,
    count: usize,
    rng: &mut Rng,
    what: &str,
) {
    let n = b.len();
    let mut x = Vec::with_capacity(count * n);
    for s in 0..count {
        for j in 0..n {
            let t = if s % 4 == 0 {
                f64::from(rng.next_u32() & 1)
            } else {
                rng.uniform_f64()
            };
            x.push((b.lower[j] + t * (b.upper[j] - b.lower[j])) as f32);
        }
    }
    let y = net.predict(&x, count);
    let k = net.outputs();
    let scale = bounds
        .lower
        .iter()
        .chain(&bounds.upper)
        .fold(1.0f64, |a, v| a.max(v.abs()));
    // f32 inference rounds; the bounds are for exact arithmetic.
    let tol = 2e-5 * scale;
    for (s, row) in y.chunks_exact(k).enumerate() {
        let row: Vec<f64> = row.iter().map(|&v| v as f64).collect();
        for (j, v) in spec.eval(&row).into_iter().enumerate() {
            assert!(
                v >= bounds.lower[j] - tol && v <= bounds.upper[j] + tol,
                "{what}: sample {s} row {j} = {v} outside [{}, {}]",
                bounds.lower[j],
                bounds.upper[j]
            );
        }
    }
}

fn check_sound(net: &Network, b: &Bounds, out: &Bounds, count: usize, rng: &mut Rng, what: &str) {
    let spec = LinearSpec::identity(net.outputs());
    check_spec(net, b, &spec, out, count, rng, what);
}

fn dense(units: usize, act: Activation) -> LayerSpec {
    LayerSpec::dense(units, act)
}

fn block_net(integrator: Integrator) -> ModelSpec {
    ModelSpec {
        inputs: 5,
        layers: vec![
            dense(8, Activation::Gelu),
            LayerSpec::Residual {
                layers: vec![
                    dense(8, Activation::Relu),
                    LayerSpec::LayerNorm { eps: 1e-5 },
                    dense(8, Activation::Silu),
                ],
            },
            LayerSpec::BatchNorm {
                eps: 1e-5,
                momentum: 0.1,
            },
            LayerSpec::Glu {
                hidden: 6,
                units: 8,
                gate: Activation::Sigmoid,
                init: None,
            },
            LayerSpec::Recurrent {
                layers: vec![dense(8, Activation::Tanh)],
                steps: 3,
                dt: 0.5,
                integrator,
            },
            LayerSpec::Dropout { p: 0.3 },
            LayerSpec::LayerNorm { eps: 1e-5 },
            dense(3, Activation::Identity),
        ],
    }
}

#[test]
fn ibp_bounds_contain_sampled_outputs_of_every_activation_and_block() {
    let mut rng = Rng::seed_from(1);
    let mut specs: Vec<(String, ModelSpec)> = [
        Activation::Relu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Gelu,
        Activation::Silu,
        Activation::LeakyRelu,
        Activation::Elu,
        Activation::Softplus,
    ]
    .into_iter()
    .flat_map(|a| {
        // Deep, and a single layer whose outputs are the activations themselves (where the
        // bounds are exact per coordinate, so an unsound activation rule shows at once).
        [
            (a.to_string(), ModelSpec::mlp(5, &[12, 12], 3, a, 0.1)),
            (
                format!("{a} (one layer)"),
                ModelSpec {
                    inputs: 5,
                    layers: vec![dense(6, a)],
                },
            ),
        ]
    })
    .collect();
    specs.push(("blocks (rk2)".into(), block_net(Integrator::Rk2)));
    specs.push(("blocks (euler)".into(), block_net(Integrator::Euler)));
    let mut checked = 0;
    for (i, (name, spec)) in specs.iter().enumerate() {
        let mut net = spec.build(i as u64).expect("valid spec");
        randomize(&mut net, 100 + i as u64);
        for radius in [0.05, 0.3, 1.0] {
            let b = random_box(&mut rng, 5, radius);
            let out = ibp(&net, &b).expect("supported layers");
            check_sound(&net, &b, &out, 2000, &mut rng, name);
            checked += 2000;
        }
    }
    assert!(checked >= 100_000, "{checked}");
}

#[test]
fn crown_bounds_are_sound_and_tighter_than_ibp_on_relu_networks() {
    let mut rng = Rng::seed_from(2);
    let mut checked = 0;
    for (i, act) in [
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Identity,
    ]
    .into_iter()
    .enumerate()
    {
        let mut net = ModelSpec::mlp(4, &[16, 16, 16], 3, act, 0.0)
            .build(i as u64)
            .expect("valid spec");
        randomize(&mut net, 200 + i as u64);
        for radius in [0.05, 0.4] {
            let b = random_box(&mut rng, 4, radius);
            let raw = crown(&net, &b).expect("dense stack");
            check_sound(&net, &b, &raw, 6000, &mut rng, &format!("crown {act}"));
            let margin = LinearSpec::class_margin(3, 1).expect("class");
            let m = spec_bounds(&net, &b, &margin, Method::Crown).expect("dense stack");
            check_spec(
                &net,
                &b,
                &margin,
                &m,
                6000,
                &mut rng,
                &format!("margin {act}"),
            );
            checked += 12_000;
        }
    }
    assert!(checked >= 100_000, "{checked}");
    // On ReLU networks: never wider than IBP, strictly tighter on average.
    let (mut crown_width, mut ibp_width) = (0.0, 0.0);
    for seed in 0..20 {
        let mut net = ModelSpec::mlp(4, &[16, 16, 16], 3, Activation::Relu, 0.0)
            .build(seed)
            .expect("valid spec");
        randomize(&mut net, 300 + seed);
        let b = random_box(&mut rng, 4, 0.1);
        let c = crown(&net, &b).expect("relu stack");
        let i = ibp(&net, &b).expect("relu stack");
        for j in 0..3 {
            let (wc, wi) = (c.upper[j] - c.lower[j], i.upper[j] - i.lower[j]);
            assert!(
                wc <= wi * (1.0 + 1e-9) + 1e-9,
                "seed {seed}: crown {wc} > ibp {wi}"
            );
            crown_width += wc;
            ibp_width += wi;
        }
    }
    assert!(
        crown_width < 0.9 * ibp_width,
        "crown {crown_width} vs ibp {ibp_width}"
    );
}

#[test]
fn bisection_never_widens_and_tightens_a_tanh_network_at_depth_four() {
    let mut net = ModelSpec::mlp(3, &[16, 16], 2, Activation::Tanh, 0.0)
        .build(7)
        .expect("valid spec");
    randomize(&mut net, 7);
    net.params_mut().iter_mut().for_each(|p| *p *= 0.5);
    let b = Bounds::around(&[0.2, -0.1, 0.4], &[0.5]).expect("box");
    let spec = LinearSpec::identity(2);
    let mut prev = refine(&net, &b, &spec, Method::Ibp, 0).expect("tanh");
    let first = prev.clone();
    for depth in 1..=4 {
        let cur = refine(&net, &b, &spec, Method::Ibp, depth).expect("tanh");
        for j in 0..2 {
            assert!(
                cur.lower[j] >= prev.lower[j] - 1e-12,
                "depth {depth} widened"
            );
            assert!(
                cur.upper[j] <= prev.upper[j] + 1e-12,
                "depth {depth} widened"
            );
        }
        prev = cur;
    }
    let w0: f64 = first.widths().iter().sum();
    let w4: f64 = prev.widths().iter().sum();
    for j in 0..2 {
        assert!(
            prev.widths()[j] < first.widths()[j],
            "output {j} not tighter"
        );
    }
    eprintln!("tanh MLP output widths: depth 0 {w0:.4}, depth 4 {w4:.4}");
    assert!(w4 < 0.9 * w0, "depth 4 width {w4} vs {w0}");
    let out = output_bounds(&net, &b, Method::Ibp).expect("tanh");
    assert_eq!(out, first);
}

/// `y = relu(x) - relu(x) + offset` written as two identical hidden units: IBP cannot see the
/// cancellation, so it needs small cells to prove `y > 0`.
fn cancelling_net(offset: f32) -> Network {
    let mut net = ModelSpec {
        inputs: 1,
        layers: vec![dense(2, Activation::Relu), dense(1, Activation::Identity)],
    }
    .build(0)
    .expect("valid spec");
    net.params_mut()
        .copy_from_slice(&[1.0, 1.0, 0.0, 0.0, 1.0, -1.0, offset]);
    net
}

#[test]
fn bisection_proves_a_true_property_and_refutes_a_false_one() {
    let b = Bounds::new(vec![-1.0], vec![1.0]).expect("box");
    let spec = LinearSpec::identity(1);
    let net = cancelling_net(0.1);
    let mut cfg = BisectConfig::default();
    let plain = verify(&net, &b, &spec, &cfg).expect("relu");
    assert_eq!(plain.verdict, Verdict::Unknown);
    cfg.split_budget = 200;
    let split = verify(&net, &b, &spec, &cfg).expect("relu");
    assert_eq!(split.verdict, Verdict::Certified, "{split:?}");
    assert!(split.splits > 0 && split.bounds.lower[0] > 0.0);

    let net = cancelling_net(-0.1);
    let found = verify(&net, &b, &spec, &cfg).expect("relu");
    let Verdict::Counterexample { input, values } = found.verdict else {
        panic!("expected a counterexample, got {found:?}");
    };
    assert!(b.contains(&input, 0.0));
    let y = net.predict(&[input[0] as f32], 1);
    assert!(y[0] < 0.0 && (values[0] - y[0] as f64).abs() < 1e-12);
}

#[test]
fn certification_of_a_class_margin_on_a_trained_classifier() {
    use mlp::data::generate::two_moons;
    let data = two_moons(300, 0.1, 4).expect("data");
    let model = mlp::estimator::MlpBuilder::classifier()
        .hidden(&[16, 16])
        .epochs(60)
        .seed(1)
        .threads(1)
        .fit(&data)
        .expect("trains");
    let net = model.network();
    let mut x = data.features()[..2].to_vec();
    model.scaler().apply(&mut x);
    let centre: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let class = mlp::train::argmax(&net.predict(&x, 1));
    let spec = LinearSpec::class_margin(net.outputs(), class).expect("class");
    let cfg = BisectConfig {
        method: Method::Crown,
        split_budget: 64,
        ..BisectConfig::default()
    };
    let small = Bounds::around(&centre, &[1e-3]).expect("box");
    assert_eq!(
        verify(net, &small, &spec, &cfg).expect("relu").verdict,
        Verdict::Certified
    );
    // A box covering most of the input space holds points of the other class.
    let big = Bounds::around(&centre, &[3.0]).expect("box");
    let found = verify(net, &big, &spec, &cfg).expect("relu");
    let Verdict::Counterexample { input, .. } = found.verdict else {
        panic!("expected a counterexample, got {found:?}");
    };
    let xi: Vec<f32> = input.iter().map(|&v| v as f32).collect();
    assert_ne!(mlp::train::argmax(&net.predict(&xi, 1)), class);
}

/// The ACC example's controller, trained here as a user would (the library keeps only the plant
/// and the algorithm): a 2-16-16-1 ReLU regressor imitating the PD teacher law on 3000 states
/// drawn uniformly from `d in [5, 45]`, `v in [-8, 8]` (the same recipe as `mlp reach`).
#[cfg(feature = "ndarray")]
fn acc_controller(acc: &Acc, seed: u64) -> mlp::model::Model {
    let mut rng = Rng::seed_from(seed);
    let rows = 3000;
    let mut x = Vec::with_capacity(rows * 2);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let d = 5.0 + 40.0 * rng.uniform_f64();
        let v = -8.0 + 16.0 * rng.uniform_f64();
        x.extend([d as f32, v as f32]);
        y.push(acc.pd(d, v) as f32);
    }
    let x = mlp::ndarray::ArrayView2::from_shape((rows, 2), &x).expect("rows x 2");
    let y = mlp::ndarray::ArrayView2::from_shape((rows, 1), &y).expect("rows x 1");
    mlp::estimator::MlpBuilder::regressor()
        .hidden(&[16, 16])
        .activation(Activation::Relu)
        .epochs(150)
        .batch_size(64)
        .lr(3e-3)
        .seed(seed)
        .threads(1)
        .fit_array_regression(x, y)
        .expect("trains")
}

#[cfg(feature = "ndarray")]
#[test]
fn acc_reach_sets_contain_simulated_trajectories_and_avoid_the_unsafe_gap() {
    let acc = Acc::default();
    let model = acc_controller(&acc, 0);
    let ctrl = Controller::from_model(&model).expect("regressor");
    // The controller imitates the PD law.
    let u = ctrl.control(&[25.0, -3.0, 20.0, 0.0], 2);
    assert!((u[0] - acc.pd(25.0, -3.0)).abs() < 0.3, "{u:?}");
    assert!((u[1] - acc.pd(20.0, 0.0)).abs() < 0.3, "{u:?}");
    let plant = acc.discrete();
    let steps = 50;
    let cfg = ReachConfig {
        steps,
        method: Method::Crown,
        depth: 2,
    };
    let result = reach(&plant, &ctrl, &acc.initial, &cfg).expect("relu controller");
    let mut rng = Rng::seed_from(5);
    let rows = 1000;
    let starts: Vec<f64> = (0..rows)
        .flat_map(|_| {
            (0..2)
                .map(|j| {
                    let (l, u) = (acc.initial.lower[j], acc.initial.upper[j]);
                    l + rng.uniform_f64() * (u - l)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let traj = simulate(&plant, &ctrl, &starts, rows, steps);
    for (k, states) in traj.iter().enumerate() {
        let b = &result.steps[k].state;
        for (r, x) in states.chunks_exact(2).enumerate() {
            assert!(
                b.contains(x, 1e-9),
                "step {k}, trajectory {r}: {x:?} outside {b:?}"
            );
        }
    }
    assert_eq!(result.first_unsafe(&acc.unsafe_set()), None);
    let ibp_result = reach(
        &plant,
        &ctrl,
        &acc.initial,
        &ReachConfig {
            method: Method::Ibp,
            ..cfg
        },
    )
    .expect("relu controller");
    let w = |r: &mlp::verify::reach::ReachResult| r.steps[steps].state.widths()[0];
    assert!(w(&result) <= w(&ibp_result) + 1e-9);
}
