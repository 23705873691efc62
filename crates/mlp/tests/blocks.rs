//! Properties of the architecture blocks beyond their gradients (which `gradcheck.rs` covers):
//! SCORE's recurrence, the hourglass network's frozen lift, GLU identities, and the model-file
//! round trip of every block.

use mlp::Activation;
use mlp::data::Dataset;
use mlp::data::generate::two_moons;
use mlp::estimator::MlpBuilder;
use mlp::layers::{Init, Layer, ParamKind};
use mlp::model::Model;
use mlp::network::Network;
use mlp::spec::{LayerSpec, ModelSpec};
use mlp::train::ValidationSplit;

fn dense(units: usize, activation: Activation) -> LayerSpec {
    LayerSpec::dense(units, activation)
}

fn score_spec(steps: usize, dt: f32) -> ModelSpec {
    ModelSpec {
        inputs: 6,
        layers: vec![LayerSpec::Recurrent {
            layers: vec![dense(6, Activation::Tanh)],
            steps,
            dt,
            integrator: Default::default(),
        }],
    }
}

fn eval(net: &Network, x: &[f32], rows: usize) -> Vec<f32> {
    net.predict(x, rows)
}

#[test]
fn score_parameter_count_does_not_depend_on_steps() {
    let counts: Vec<usize> = [1, 4, 16]
        .iter()
        .map(|&t| score_spec(t, 0.5).build(0).expect("build").n_params())
        .collect();
    assert_eq!(counts, vec![6 * 6 + 6; 3]);
}

#[test]
fn score_with_dt_one_is_weight_tied_recurrence() {
    let net = score_spec(3, 1.0).build(1).expect("build");
    let plain = ModelSpec {
        inputs: 6,
        layers: vec![dense(6, Activation::Tanh)],
    }
    .build(1)
    .expect("plain");
    let mut tied = plain.clone();
    tied.params_mut().copy_from_slice(net.params());
    let x: Vec<f32> = (0..12).map(|i| (i as f32 - 6.0) / 4.0).collect();
    let mut h = x.clone();
    for _ in 0..3 {
        h = eval(&tied, &h, 2);
    }
    let y = eval(&net, &x, 2);
    for (a, b) in y.iter().zip(&h) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
fn score_step_contracts_when_the_block_does() {
    // F(h) = tanh(W h + b) is L-Lipschitz with L <= ||W||_2 <= ||W||_F; scale W so L < 1.
    let dt = 0.3f32;
    let mut one_step = score_spec(1, dt).build(3).expect("build");
    let frob = one_step.params()[..36]
        .iter()
        .map(|w| w * w)
        .sum::<f32>()
        .sqrt();
    let scale = 0.8 / frob;
    one_step.params_mut()[..36]
        .iter_mut()
        .for_each(|w| *w *= scale);
    let lip = 0.8f32;
    let bound = 1.0 - dt + dt * lip;
    let mut rng = mlp::rng::Rng::seed_from(11);
    for _ in 0..200 {
        let a: Vec<f32> = (0..6).map(|_| 3.0 * rng.normal()).collect();
        let b: Vec<f32> = (0..6).map(|_| 3.0 * rng.normal()).collect();
        let (ya, yb) = (eval(&one_step, &a, 1), eval(&one_step, &b, 1));
        let d_in = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f32>()
            .sqrt();
        let d_out = ya
            .iter()
            .zip(&yb)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f32>()
            .sqrt();
        assert!(
            d_out <= bound * d_in * (1.0 + 1e-5) + 1e-6,
            "{d_out} > {bound} * {d_in}"
        );
    }
}

#[test]
fn rk2_matches_a_fine_euler_solution_of_the_same_ode() {
    // Integrate dh/ds = F(h) - h from s = 0 to 1: RK2 with 10 steps vs Euler with 20000.
    let block = vec![dense(5, Activation::Tanh)];
    let spec = |steps, dt, integrator| ModelSpec {
        inputs: 5,
        layers: vec![LayerSpec::Recurrent {
            layers: block.clone(),
            steps,
            dt,
            integrator,
        }],
    };
    let rk2 = spec(10, 0.1, mlp::layers::Integrator::Rk2)
        .build(4)
        .expect("rk2");
    let mut fine = spec(20000, 0.00005, mlp::layers::Integrator::Euler)
        .build(4)
        .expect("euler");
    fine.params_mut().copy_from_slice(rk2.params());
    let x = [0.5f32, -1.0, 2.0, 0.1, -0.3];
    let (a, b) = (eval(&rk2, &x, 1), eval(&fine, &x, 1));
    for (p, q) in a.iter().zip(&b) {
        assert!((p - q).abs() < 2e-3, "{a:?} vs {b:?}");
    }
    // and RK2 is much closer than Euler with the same 10 steps
    let mut coarse = spec(10, 0.1, mlp::layers::Integrator::Euler)
        .build(4)
        .expect("coarse");
    coarse.params_mut().copy_from_slice(rk2.params());
    let c = eval(&coarse, &x, 1);
    let err = |u: &[f32]| {
        u.iter()
            .zip(&b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max)
    };
    assert!(
        err(&a) * 5.0 < err(&c),
        "rk2 {} vs euler {}",
        err(&a),
        err(&c)
    );
}

fn hourglass_layers(d_z: usize, d_h: usize, blocks: usize) -> Vec<LayerSpec> {
    let mut layers = vec![LayerSpec::Dense {
        units: d_z,
        activation: Activation::Identity,
        init: Some(Init::LecunNormal),
        bias: false,
        trainable: false,
    }];
    for _ in 0..blocks {
        layers.push(LayerSpec::Residual {
            layers: vec![
                LayerSpec::LayerNorm { eps: 1e-5 },
                dense(d_h, Activation::Relu),
                dense(d_z, Activation::Identity),
            ],
        });
    }
    layers
}

#[test]
fn hourglass_parameter_count_and_frozen_lift() {
    let (d_x, d_z, d_h, blocks, d_y) = (2, 32, 8, 3, 2);
    let mut layers = hourglass_layers(d_z, d_h, blocks);
    layers.push(dense(d_y, Activation::Identity));
    let net = ModelSpec {
        inputs: d_x,
        layers: layers.clone(),
    }
    .build(0)
    .expect("build");
    let trainable: usize = net
        .tensors()
        .iter()
        .filter(|t| t.kind != ParamKind::Frozen)
        .map(|t| t.range.len())
        .sum();
    // L (2 d_z d_h + d_h + d_z) + d_y d_z + d_y, + 2 d_z per block for the affine LayerNorm.
    let formula = blocks * (2 * d_z * d_h + d_h + d_z) + d_y * d_z + d_y + blocks * 2 * d_z;
    assert_eq!(trainable, formula);
    assert_eq!(net.n_params(), formula + d_z * d_x);

    // Training never moves the lift, bit for bit.
    let data = two_moons(300, 0.1, 1).expect("data");
    let b = MlpBuilder::classifier()
        .layers(layers)
        .epochs(5)
        .batch_size(32)
        .weight_decay(0.1)
        .seed(0)
        .threads(1)
        .validation(ValidationSplit::None)
        .standardize(false);
    let model = b.clone().epochs(1).patience(None).fit(&data).expect("fit");
    let lift_before = lift(&model);
    let trained = b.fit(&data).expect("fit");
    assert_eq!(lift(&trained), lift_before, "the frozen lift changed");
    let head = trained
        .network()
        .tensors()
        .iter()
        .find(|t| t.kind == ParamKind::Weight)
        .expect("weight")
        .range
        .clone();
    assert_ne!(
        trained.network().params()[head.clone()],
        model.network().params()[head]
    );
}

fn lift(m: &Model) -> Vec<u32> {
    let t = &m.network().tensors()[0];
    assert_eq!(t.name, "layers.0.weight");
    m.network().params()[t.range.clone()]
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

#[test]
fn glu_identities_with_a_zero_gate_matrix() {
    let spec = |gate| ModelSpec {
        inputs: 3,
        layers: vec![LayerSpec::Glu {
            hidden: 4,
            units: 2,
            gate,
            init: None,
        }],
    };
    for (gate, factor) in [
        (Activation::Sigmoid, 0.5f32),
        (Activation::Silu, 0.0),
        (Activation::Relu, 0.0),
        (Activation::Gelu, 0.0),
    ] {
        let mut net = spec(gate).build(5).expect("build");
        let tensors = net.tensors().to_vec();
        let range = |name: &str| {
            tensors
                .iter()
                .find(|t| t.name == name)
                .expect(name)
                .range
                .clone()
        };
        // Gate weights and bias zero; give the output bias a value to see it pass through.
        for r in [range("layers.0.gate.weight"), range("layers.0.gate.bias")] {
            net.params_mut()[r].iter_mut().for_each(|w| *w = 0.0);
        }
        net.params_mut()[range("layers.0.out.bias")].copy_from_slice(&[0.25, -0.5]);
        let x = [0.3f32, -1.2, 2.0];
        let y = net.predict(&x, 1);
        // Expected: W3 (factor * (W2 x + b2)) + b3.
        let (w2, b2, w3) = (
            &net.params()[range("layers.0.value.weight")],
            &net.params()[range("layers.0.value.bias")],
            &net.params()[range("layers.0.out.weight")],
        );
        let u: Vec<f32> = (0..4)
            .map(|h| (0..3).map(|i| w2[h * 3 + i] * x[i]).sum::<f32>() + b2[h])
            .collect();
        for o in 0..2 {
            let want = (0..4).map(|h| w3[o * 4 + h] * factor * u[h]).sum::<f32>() + [0.25, -0.5][o];
            assert!((y[o] - want).abs() < 1e-6, "{gate}: {} vs {want}", y[o]);
        }
    }
}

/// One layer of every kind (over 2 inputs), ending in 2 outputs.
fn every_kind() -> Vec<LayerSpec> {
    vec![
        LayerSpec::Embedding {
            fields: vec![1, 1],
            dim: 3,
        },
        dense(16, Activation::Gelu),
        LayerSpec::BatchNorm {
            eps: 1e-5,
            momentum: 0.1,
        },
        LayerSpec::SelectableKan {
            units: 16,
            bases: vec![
                mlp::layers::KanBasis::Chebyshev { degree: 2 },
                mlp::layers::KanBasis::Fourier { frequencies: 2 },
            ],
        },
        LayerSpec::Residual {
            layers: vec![
                LayerSpec::LayerNorm { eps: 1e-5 },
                dense(32, Activation::Gelu),
                dense(16, Activation::Identity),
            ],
        },
        LayerSpec::Recurrent {
            layers: vec![dense(16, Activation::Tanh)],
            steps: 4,
            dt: 0.25,
            integrator: Default::default(),
        },
        LayerSpec::Glu {
            hidden: 8,
            units: 8,
            gate: Activation::Silu,
            init: None,
        },
        LayerSpec::Dropout { p: 0.1 },
        LayerSpec::Kan {
            units: 6,
            basis: mlp::layers::KanBasis::Chebyshev { degree: 3 },
            base: true,
            grid_from_data: false,
        },
        LayerSpec::FinalMlp {
            units: 4,
            heads: 2,
            stream1: vec![dense(4, Activation::Relu)],
            stream2: vec![dense(2, Activation::Tanh)],
            gate1: true,
            gate2: false,
        },
        // Forecasting layers read their input as a sequence layout: 2 channels x window 2.
        LayerSpec::Frets {
            channels: 2,
            window: 2,
            exog: 0,
            horizon: 3,
            embed_dim: 4,
            hidden: 5,
            channel_learner: true,
        },
        // 1 channel x window 4, then 2 exogenous features.
        LayerSpec::NBeats {
            channels: 1,
            window: 4,
            exog: 2,
            horizon: 3,
            blocks: 2,
            layers: 2,
            units: 8,
        },
        dense(2, Activation::Identity),
    ]
}

#[test]
fn every_block_survives_the_model_file() {
    let layers = every_kind();
    let data = two_moons(200, 0.1, 2).expect("data");
    let model = MlpBuilder::classifier()
        .layers(layers)
        .epochs(3)
        .batch_size(32)
        .seed(1)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let dir = std::env::temp_dir().join(format!("mlp-blocks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("blocks.safetensors");
    model.save(&path).expect("save");
    let loaded = Model::load(&path).expect("load");
    assert_eq!(loaded.network(), model.network());
    assert_eq!(
        loaded
            .predict_proba(data.features(), data.len())
            .expect("p"),
        model.predict_proba(data.features(), data.len()).expect("p")
    );
    let kinds: Vec<&str> = loaded.network().layers().iter().map(Layer::kind).collect();
    assert_eq!(
        kinds,
        [
            "embedding",
            "dense",
            "batch_norm",
            "selectable_kan",
            "residual",
            "recurrent",
            "glu",
            "dropout",
            "kan",
            "final_mlp",
            "frets",
            "nbeats",
            "dense"
        ]
    );
    let names: Vec<String> = loaded
        .network()
        .tensors()
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert!(
        names.contains(&"layers.4.block.0.weight".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"layers.6.gate.weight".to_string()),
        "{names:?}"
    );
    for name in [
        "layers.10.embedding",
        "layers.10.channel.weight_imag",
        "layers.10.temporal.weight_real",
        "layers.10.temporal.bias_imag",
        "layers.10.head.1.weight",
        "layers.11.block.0.fc.1.weight",
        "layers.11.block.1.backcast.bias",
        "layers.11.block.1.forecast.weight",
    ] {
        assert!(names.contains(&name.to_string()), "{name} in {names:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn blocks_that_change_width_are_rejected() {
    let bad = ModelSpec {
        inputs: 4,
        layers: vec![
            LayerSpec::Residual {
                layers: vec![dense(3, Activation::Relu)],
            },
            dense(2, Activation::Identity),
        ],
    };
    let err = bad.build(0).expect_err("must fail").to_string();
    assert!(
        err.contains("layers[0].layers") && err.contains("return to 4"),
        "{err}"
    );
    let bad = ModelSpec {
        inputs: 4,
        layers: vec![
            LayerSpec::Recurrent {
                layers: vec![dense(4, Activation::Relu)],
                steps: 0,
                dt: 0.5,
                integrator: Default::default(),
            },
            dense(2, Activation::Identity),
        ],
    };
    assert!(bad.build(0).is_err());
    let bad = ModelSpec {
        inputs: 4,
        layers: vec![
            LayerSpec::Recurrent {
                layers: vec![dense(4, Activation::Relu)],
                steps: 2,
                dt: 1.5,
                integrator: Default::default(),
            },
            dense(2, Activation::Identity),
        ],
    };
    assert!(bad.build(0).is_err());
}

#[test]
fn batch_norm_running_statistics_and_modes() {
    use mlp::network::Workspace;
    let spec = ModelSpec {
        inputs: 3,
        layers: vec![LayerSpec::BatchNorm {
            eps: 1e-5,
            momentum: 1.0,
        }],
    };
    let mut net = spec.build(0).expect("build");
    let x = [
        1.0f32, 10.0, -2.0, 3.0, 20.0, -2.0, 5.0, 30.0, -2.0, 7.0, 40.0, -2.0,
    ];
    let mut ws: Workspace<f32> = Workspace::new();
    let y = net
        .forward_train(
            net.params(),
            &x,
            4,
            &mut ws,
            &mut mlp::rng::Rng::seed_from(0),
        )
        .to_vec();
    // Training output: each column standardized with the batch's biased variance.
    let col0: Vec<f32> = (0..4).map(|r| y[r * 3]).collect();
    let mean0 = col0.iter().sum::<f32>() / 4.0;
    let var0 = col0.iter().map(|v| (v - mean0).powi(2)).sum::<f32>() / 4.0;
    assert!(
        mean0.abs() < 1e-6 && (var0 - 1.0).abs() < 1e-3,
        "{mean0} {var0}"
    );
    net.update_buffers(&ws, 4);
    let t = |name: &str| {
        net.tensors()
            .iter()
            .find(|t| t.name == name)
            .expect(name)
            .range
            .clone()
    };
    let rm = net.params()[t("layers.0.running_mean")].to_vec();
    let rv = net.params()[t("layers.0.running_var")].to_vec();
    // momentum 1: the running statistics become the batch's (variance unbiased, n / (n - 1)).
    assert_eq!(rm, vec![4.0, 25.0, -2.0]);
    assert!(
        (rv[0] - 20.0 / 3.0).abs() < 1e-5 && (rv[1] - 500.0 / 3.0).abs() < 1e-3 && rv[2] == 0.0,
        "{rv:?}"
    );
    // Evaluation uses the running statistics: a row equal to the running mean maps to beta = 0.
    let out = net.predict(&[4.0, 25.0, -2.0], 1);
    assert!(out.iter().all(|v| v.abs() < 1e-6), "{out:?}");
    // Momentum 0.1 moves 10% of the way from the initial (0, 1).
    let spec = ModelSpec {
        inputs: 3,
        layers: vec![LayerSpec::BatchNorm {
            eps: 1e-5,
            momentum: 0.1,
        }],
    };
    let mut net = spec.build(0).expect("build");
    net.forward_train(
        net.params(),
        &x,
        4,
        &mut ws,
        &mut mlp::rng::Rng::seed_from(0),
    );
    net.update_buffers(&ws, 4);
    let rm = net.params()[t("layers.0.running_mean")].to_vec();
    assert!((rm[1] - 2.5).abs() < 1e-6, "{rm:?}");
}

#[test]
fn batch_norm_statistics_are_trained_and_saved() {
    let layers = vec![
        dense(16, Activation::Identity),
        LayerSpec::BatchNorm {
            eps: 1e-5,
            momentum: 0.1,
        },
        dense(16, Activation::Relu),
        dense(2, Activation::Identity),
    ];
    let data = two_moons(400, 0.1, 3).expect("data");
    let model = MlpBuilder::classifier()
        .layers(layers)
        .epochs(100)
        .batch_size(32)
        .seed(2)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let acc = model
        .evaluate(&data)
        .expect("eval")
        .accuracy()
        .expect("acc");
    assert!(acc > 0.95, "accuracy {acc}");
    let rv = model
        .network()
        .tensors()
        .iter()
        .find(|t| t.name == "layers.1.running_var")
        .expect("rv")
        .range
        .clone();
    assert!(
        model.network().params()[rv.clone()]
            .iter()
            .any(|&v| (v - 1.0).abs() > 0.01),
        "running variance never moved"
    );
    let dir = std::env::temp_dir().join(format!("mlp-bn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("bn.safetensors");
    model.save(&path).expect("save");
    let loaded = Model::load(&path).expect("load");
    assert_eq!(
        loaded.network().params()[rv.clone()],
        model.network().params()[rv]
    );
    assert_eq!(
        loaded
            .predict_proba(data.features(), data.len())
            .expect("p"),
        model.predict_proba(data.features(), data.len()).expect("p")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn selectable_kan_prunes_to_one_family_exactly() {
    use mlp::layers::{KanBasis, Layer as L};
    let bases = vec![
        KanBasis::Chebyshev { degree: 3 },
        KanBasis::Rbf {
            centers: 5,
            low: -2.0,
            high: 2.0,
        },
    ];
    let spec = ModelSpec {
        inputs: 3,
        layers: vec![LayerSpec::SelectableKan {
            units: 2,
            bases: bases.clone(),
        }],
    };
    let mut net = spec.build(7).expect("build");
    let L::SelectableKan(skan) = net.layers()[0].clone() else {
        panic!("layer kind")
    };
    // Push node 0 toward the RBF family, node 1 half-half: the mean weight picks RBF.
    let logits = net
        .tensors()
        .iter()
        .find(|t| t.name == "layers.0.select.logits")
        .expect("logits")
        .range
        .clone();
    net.params_mut()[logits].copy_from_slice(&[-3.0, 3.0, 0.0, 0.5]);
    let weights = skan.family_weights(net.params());
    assert!(weights[1] > weights[0], "{weights:?}");
    let (best, kan, pruned) = skan.prune(net.params());
    assert_eq!(best, 1);
    assert_eq!(kan.basis, bases[1]);
    // The pruned layer equals the base term plus the kept family's weighted contribution.
    let kept_only = {
        let mut p = net.params().to_vec();
        // Drop the other family by zeroing its coefficients.
        let r = net
            .tensors()
            .iter()
            .find(|t| t.name == "layers.0.family.0.spline.weight")
            .expect("f0")
            .range
            .clone();
        p[r].iter_mut().for_each(|c| *c = 0.0);
        p
    };
    let mut reference = net.clone();
    reference.params_mut().copy_from_slice(&kept_only);
    let pruned_spec = ModelSpec {
        inputs: 3,
        layers: vec![LayerSpec::Kan {
            units: 2,
            basis: bases[1],
            base: true,
            grid_from_data: false,
        }],
    };
    let mut pruned_net = pruned_spec.build(0).expect("pruned");
    pruned_net.params_mut().copy_from_slice(&pruned);
    let x = [0.3f32, -1.1, 0.8, 1.5, 0.2, -0.4];
    let (a, b) = (reference.predict(&x, 2), pruned_net.predict(&x, 2));
    for (p, q) in a.iter().zip(&b) {
        assert!((p - q).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

#[test]
fn kan_grids_follow_the_data_and_extend_on_demand() {
    use mlp::layers::KanBasis;
    // Inputs far outside the default grid [-2, 2]: the grid moves to them.
    let (mut x, n, targets, _) = two_moons(300, 0.1, 5).expect("data").into_parts();
    x.iter_mut().for_each(|x| *x = 10.0 + 5.0 * *x);
    let data = Dataset::new(x, n, targets).expect("data");
    let layers = vec![
        LayerSpec::Kan {
            units: 8,
            basis: KanBasis::Bspline {
                grid: 5,
                order: 3,
                low: -2.0,
                high: 2.0,
            },
            base: true,
            grid_from_data: true,
        },
        dense(2, Activation::Identity),
    ];
    let model = MlpBuilder::classifier()
        .layers(layers)
        .standardize(false)
        .epochs(150)
        .batch_size(32)
        .seed(1)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let LayerSpec::Kan {
        basis: KanBasis::Bspline { low, high, .. },
        ..
    } = model.network().spec().layers[0]
    else {
        panic!("kan")
    };
    let min = data
        .features()
        .iter()
        .copied()
        .fold(f32::INFINITY, f32::min);
    let max = data
        .features()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    assert!(
        low < min && low > min - 0.1 * (max - min),
        "{low} vs data min {min}"
    );
    assert!(
        high > max && high < max + 0.1 * (max - min),
        "{high} vs data max {max}"
    );
    let acc = model
        .evaluate(&data)
        .expect("eval")
        .accuracy()
        .expect("acc");
    assert!(acc > 0.9, "accuracy {acc}");

    // Extending the grid (5 -> 10 intervals over the same range) keeps the function.
    let mut net = model.network().clone();
    let before = net.predict(data.features(), data.len());
    let finer = KanBasis::Bspline {
        grid: 10,
        order: 3,
        low,
        high,
    };
    net.regrid_kan(0, finer, data.features(), data.len())
        .expect("regrid");
    assert_eq!(net.n_params(), model.network().n_params() + 8 * 2 * 5);
    let after = net.predict(data.features(), data.len());
    let worst = before
        .iter()
        .zip(&after)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-2, "max logit change {worst}");
    assert!(
        net.regrid_kan(1, finer, data.features(), data.len())
            .is_err(),
        "layer 1 is dense"
    );
}

/// In [`GradMode::Eval`], the training-style forward is the inference function (dropout off,
/// batch norm on running statistics, inside residual blocks too), and the input gradient
/// matches central differences of inference in f64.
#[test]
fn eval_grad_mode_matches_inference_and_its_input_gradient() {
    use mlp::layers::GradMode;
    use mlp::network::{InferenceScratch, Workspace};
    let spec = ModelSpec {
        inputs: 3,
        layers: vec![
            dense(5, Activation::Tanh),
            LayerSpec::BatchNorm {
                eps: 1e-5,
                momentum: 0.1,
            },
            LayerSpec::Dropout { p: 0.5 },
            LayerSpec::Residual {
                layers: vec![
                    LayerSpec::BatchNorm {
                        eps: 1e-5,
                        momentum: 0.1,
                    },
                    LayerSpec::Dropout { p: 0.3 },
                    dense(5, Activation::Tanh),
                ],
            },
            dense(2, Activation::Identity),
        ],
    };
    let mut net = spec.build(4).expect("build");
    // Non-trivial running statistics.
    for t in net.tensors().to_vec() {
        if t.name.ends_with("running_mean") || t.name.ends_with("running_var") {
            for (k, p) in net.params_mut()[t.range].iter_mut().enumerate() {
                *p = 0.3 + 0.2 * k as f32;
            }
        }
    }
    let eval_net = net.with_grad_mode(GradMode::Eval);
    let params: Vec<f64> = net.params().iter().map(|&p| p as f64).collect();
    let x: Vec<f64> = vec![0.2, -0.7, 1.1, -0.4, 0.9, 0.05];
    let infer = |x: &[f64]| {
        let mut out = vec![0.0f64; 2 * 2];
        net.predict_into(&params, x, 2, &mut InferenceScratch::default(), &mut out);
        out
    };
    let mut ws: Workspace<f64> = Workspace::new();
    let mut rng = mlp::rng::Rng::seed_from(9);
    let y = eval_net
        .forward_train(&params, &x, 2, &mut ws, &mut rng)
        .to_vec();
    let want = infer(&x);
    for (a, b) in y.iter().zip(&want) {
        assert!((a - b).abs() < 1e-12, "{y:?} vs {want:?}");
    }
    // L = sum_j c_j y_j with fixed weights c.
    let c = [0.7, -1.3, 0.4, 2.0];
    ws.d_outputs_mut(&eval_net, 2).copy_from_slice(&c);
    let mut dx = vec![0.0f64; 6];
    eval_net.backward(&params, &x, 2, &mut ws, Some(&mut dx));
    for k in 0..6 {
        let h = 1e-6;
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[k] += h;
        xm[k] -= h;
        let lp: f64 = infer(&xp).iter().zip(&c).map(|(a, b)| a * b).sum();
        let lm: f64 = infer(&xm).iter().zip(&c).map(|(a, b)| a * b).sum();
        let fd = (lp - lm) / (2.0 * h);
        assert!(
            (fd - dx[k]).abs() < 1e-6 * (1.0 + fd.abs()),
            "x[{k}]: {fd} vs {}",
            dx[k]
        );
    }
    // MC-dropout mode keeps dropout: two draws differ.
    let mc = net.with_grad_mode(GradMode::McDropout);
    let a = mc.forward_train(&params, &x, 2, &mut ws, &mut rng).to_vec();
    let b = mc.forward_train(&params, &x, 2, &mut ws, &mut rng).to_vec();
    assert_ne!(a, b);
}

/// `predict_into` takes every layer's scratch from the caller: a second call of the same size
/// grows nothing, and what a larger call left in the buffers does not change a smaller one.
#[test]
fn predict_into_reuses_its_scratch_for_every_kind() {
    use mlp::network::InferenceScratch;
    let spec = ModelSpec {
        inputs: 2,
        layers: every_kind(),
    };
    let net = spec.build(3).expect("build");
    let rows = 9;
    let x: Vec<f32> = (0..rows * 2)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0)
        .collect();
    let fresh = |n: usize| {
        let mut out = vec![0.0f32; n * net.outputs()];
        let mut scratch = InferenceScratch::default();
        net.predict_into(net.params(), &x[..n * 2], n, &mut scratch, &mut out);
        out
    };
    let mut scratch = InferenceScratch::default();
    let mut out = vec![0.0f32; rows * net.outputs()];
    net.predict_into(net.params(), &x, rows, &mut scratch, &mut out);
    let grown = scratch.capacity();
    assert!(grown > 0);
    let first = out.clone();
    net.predict_into(net.params(), &x, rows, &mut scratch, &mut out);
    assert_eq!(
        scratch.capacity(),
        grown,
        "a second call of the same size grew the scratch"
    );
    assert_eq!(out, first);
    let mut small = vec![0.0f32; 4 * net.outputs()];
    net.predict_into(net.params(), &x[..8], 4, &mut scratch, &mut small);
    assert_eq!(scratch.capacity(), grown);
    assert_eq!(small, fresh(4), "leftover scratch changed a smaller batch");
    assert_eq!(first, net.predict(&x, rows));
}

/// Every kind's inference pass fits in its declared scratch (`Layer::infer_len`) and reads
/// nothing it did not write there: a scratch full of NaN gives the result a zeroed one gives.
#[test]
fn every_kind_infers_within_its_scratch_whatever_it_holds() {
    let spec = ModelSpec {
        inputs: 2,
        layers: every_kind(),
    };
    let net = spec.build(5).expect("build");
    let params: Vec<f64> = net.params().iter().map(|&p| p as f64).collect();
    let rows = 3;
    let mut x: Vec<f64> = (0..rows * 2).map(|i| 0.3 * i as f64 - 0.8).collect();
    let mut off = 0;
    for layer in net.layers() {
        let p = &params[off..off + layer.n_params()];
        off += layer.n_params();
        let run = |fill: f64| {
            let mut y = vec![0.0f64; rows * layer.out_features()];
            let mut scratch = vec![fill; layer.infer_len(rows)];
            layer.forward_eval(p, &x, rows, &mut y, &mut scratch);
            y
        };
        let clean = run(0.0);
        assert_eq!(run(f64::NAN), clean, "{}", layer.kind());
        assert!(clean.iter().all(|v| v.is_finite()), "{}", layer.kind());
        x = clean;
    }
    assert_eq!(off, params.len());
}
