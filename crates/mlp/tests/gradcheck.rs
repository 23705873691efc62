//! Finite-difference gradient checks, in f64, for every layer kind and every loss.
//!
//! The engine's math is generic over the scalar type, so these checks run the same code that
//! trains in f32. `every_block_kind_has_a_gradient_check` fails for any kind in
//! [`mlp::layers::KINDS`] (the one list of block kinds) that no case here exercises, and a new
//! loss variant breaks the exhaustive match in `loss_cases` until it has a case.

use mlp::Activation;
use mlp::layers::{GradMode, Init, Layer};
use mlp::loss::{BatchTargets, Loss, LossWeights};
use mlp::network::{Network, Workspace};
use mlp::rng::Rng;
use mlp::spec::{LayerSpec, ModelSpec};

fn dense(units: usize, activation: Activation) -> LayerSpec {
    LayerSpec::dense(units, activation)
}

/// One spec per layer kind and configuration worth checking.
fn layer_cases() -> Vec<(String, ModelSpec)> {
    let mut cases = Vec::new();
    let spec = |inputs: usize, layers: Vec<LayerSpec>| ModelSpec { inputs, layers };
    for act in Activation::ALL {
        cases.push((
            format!("dense+{act}"),
            spec(
                5,
                vec![
                    LayerSpec::Dense {
                        units: 4,
                        activation: act,
                        init: Some(Init::XavierNormal),
                        bias: true,
                        trainable: true,
                    },
                    dense(3, Activation::Identity),
                ],
            ),
        ));
    }
    cases.push((
        "dense-no-bias".into(),
        spec(
            3,
            vec![LayerSpec::Dense {
                units: 2,
                activation: Activation::Tanh,
                init: None,
                bias: false,
                trainable: true,
            }],
        ),
    ));
    cases.push((
        "dropout".into(),
        spec(
            4,
            vec![
                dense(6, Activation::Sigmoid),
                LayerSpec::Dropout { p: 0.4 },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    // Training mode: the batch's own statistics, differentiated through (mean and variance
    // depend on every row). Eval mode (running statistics) is checked below.
    cases.push((
        "batch_norm (training mode, batch statistics)".into(),
        spec(
            4,
            vec![
                dense(5, Activation::Tanh),
                LayerSpec::BatchNorm {
                    eps: 1e-5,
                    momentum: 0.1,
                },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    cases.push((
        "layer_norm".into(),
        spec(
            5,
            vec![
                dense(6, Activation::Tanh),
                LayerSpec::LayerNorm { eps: 1e-5 },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    for gate in [
        Activation::Sigmoid,
        Activation::Relu,
        Activation::Gelu,
        Activation::Silu,
    ] {
        cases.push((
            format!("glu+{gate}"),
            spec(
                4,
                vec![LayerSpec::Glu {
                    hidden: 5,
                    units: 3,
                    gate,
                    init: None,
                }],
            ),
        ));
    }
    for basis in [
        mlp::layers::KanBasis::Bspline {
            grid: 4,
            order: 3,
            low: -2.0,
            high: 2.0,
        },
        mlp::layers::KanBasis::Chebyshev { degree: 4 },
        mlp::layers::KanBasis::Fourier { frequencies: 3 },
        mlp::layers::KanBasis::Rbf {
            centers: 5,
            low: -2.0,
            high: 2.0,
        },
    ] {
        for base in [true, false] {
            cases.push((
                format!("kan {} base={base}", basis.name()),
                spec(
                    3,
                    vec![
                        LayerSpec::Kan {
                            units: 4,
                            basis,
                            base,
                            grid_from_data: false,
                        },
                        LayerSpec::Kan {
                            units: 2,
                            basis,
                            base,
                            grid_from_data: false,
                        },
                    ],
                ),
            ));
        }
    }
    cases.push((
        "selectable kan (all four bases)".into(),
        spec(
            3,
            vec![
                LayerSpec::SelectableKan {
                    units: 4,
                    bases: vec![
                        mlp::layers::KanBasis::Bspline {
                            grid: 3,
                            order: 3,
                            low: -2.0,
                            high: 2.0,
                        },
                        mlp::layers::KanBasis::Chebyshev { degree: 3 },
                        mlp::layers::KanBasis::Fourier { frequencies: 2 },
                        mlp::layers::KanBasis::Rbf {
                            centers: 4,
                            low: -2.0,
                            high: 2.0,
                        },
                    ],
                },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    for (heads, gates) in [(1, (true, true)), (2, (true, false))] {
        cases.push((
            format!("final_mlp heads={heads} gates={gates:?}"),
            spec(
                3,
                vec![LayerSpec::FinalMlp {
                    units: 2,
                    heads,
                    stream1: vec![dense(4, Activation::Tanh)],
                    stream2: vec![dense(6, Activation::Silu), dense(2, Activation::Identity)],
                    gate1: gates.0,
                    gate2: gates.1,
                }],
            ),
        ));
    }
    cases.push((
        "embedding (fields of width 2, 1, 3)".into(),
        spec(
            6,
            vec![
                LayerSpec::Embedding {
                    fields: vec![2, 1, 3],
                    dim: 2,
                },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    cases.push((
        "residual (pre-norm inverted bottleneck)".into(),
        spec(
            4,
            vec![
                dense(5, Activation::Identity),
                LayerSpec::Residual {
                    layers: vec![
                        LayerSpec::LayerNorm { eps: 1e-5 },
                        dense(12, Activation::Gelu),
                        dense(5, Activation::Identity),
                    ],
                },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    cases.push((
        "recurrent SCORE T=4 dt=0.25".into(),
        spec(
            3,
            vec![
                dense(4, Activation::Tanh),
                LayerSpec::Recurrent {
                    layers: vec![dense(4, Activation::Tanh)],
                    steps: 4,
                    dt: 0.25,
                    integrator: Default::default(),
                },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    cases.push((
        "recurrent T=5 dt=1 with a norm and dropout inside".into(),
        spec(
            3,
            vec![
                dense(4, Activation::Identity),
                LayerSpec::Recurrent {
                    layers: vec![
                        LayerSpec::LayerNorm { eps: 1e-5 },
                        dense(6, Activation::Silu),
                        LayerSpec::Dropout { p: 0.2 },
                        dense(4, Activation::Identity),
                    ],
                    steps: 5,
                    dt: 1.0,
                    integrator: Default::default(),
                },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    cases.push((
        "recurrent RK2 T=3 dt=0.4".into(),
        spec(
            3,
            vec![
                dense(4, Activation::Tanh),
                LayerSpec::Recurrent {
                    layers: vec![
                        LayerSpec::LayerNorm { eps: 1e-5 },
                        dense(5, Activation::Gelu),
                        dense(4, Activation::Identity),
                    ],
                    steps: 3,
                    dt: 0.4,
                    integrator: mlp::layers::Integrator::Rk2,
                },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    // FreTS: odd and even windows, with and without the channel learner (odd and even channel
    // counts), with and without exogenous features, and behind another layer (input gradient
    // through the embedding).
    for (channels, window, exog, channel_learner) in [
        (1, 6, 0, false),
        (2, 5, 2, true),
        (3, 4, 1, true),
        (2, 7, 0, false),
    ] {
        cases.push((
            format!("frets c={channels} w={window} exog={exog} channel_learner={channel_learner}"),
            spec(
                channels * window + exog,
                vec![LayerSpec::Frets {
                    channels,
                    window,
                    exog,
                    horizon: 3,
                    embed_dim: 3,
                    hidden: 4,
                    channel_learner,
                }],
            ),
        ));
    }
    cases.push((
        "frets after a dense layer, dense after it".into(),
        spec(
            3,
            vec![
                dense(2 * 4 + 1, Activation::Tanh),
                LayerSpec::Frets {
                    channels: 2,
                    window: 4,
                    exog: 1,
                    horizon: 2,
                    embed_dim: 2,
                    hidden: 3,
                    channel_learner: true,
                },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    for (channels, window, exog, blocks, layers) in [(1, 5, 0, 3, 2), (2, 3, 2, 2, 1)] {
        cases.push((
            format!("nbeats c={channels} w={window} exog={exog} blocks={blocks} layers={layers}"),
            spec(
                channels * window + exog,
                vec![LayerSpec::NBeats {
                    channels,
                    window,
                    exog,
                    horizon: 2,
                    blocks,
                    layers,
                    units: 5,
                }],
            ),
        ));
    }
    cases.push((
        "rbf then dense (an RBF network)".into(),
        spec(
            3,
            vec![
                LayerSpec::Rbf { centers: 4 },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    for log_output in [false, true] {
        cases.push((
            format!("grnn (frozen samples; input gradient) log_output={log_output}"),
            spec(
                3,
                vec![
                    dense(3, Activation::Tanh),
                    LayerSpec::Grnn {
                        samples: 5,
                        outputs: 2,
                        log_output,
                    },
                ],
            ),
        ));
    }
    for frozen in [false, true] {
        cases.push((
            format!("cascade 3 units frozen={frozen}"),
            spec(
                3,
                vec![LayerSpec::Cascade {
                    hidden: 3,
                    outputs: 2,
                    frozen,
                }],
            ),
        ));
    }
    cases.push((
        "hourglass (frozen lift, residual in the wide space)".into(),
        spec(
            3,
            vec![
                LayerSpec::Dense {
                    units: 8,
                    activation: Activation::Identity,
                    init: Some(Init::LecunNormal),
                    bias: false,
                    trainable: false,
                },
                LayerSpec::Residual {
                    layers: vec![
                        LayerSpec::LayerNorm { eps: 1e-5 },
                        dense(3, Activation::Relu),
                        dense(8, Activation::Identity),
                    ],
                },
                dense(2, Activation::Identity),
            ],
        ),
    ));
    cases
}

/// Loss of a random linear functional of the outputs, its parameter gradient and input gradient.
fn objective(
    net: &Network,
    params: &[f64],
    x: &[f64],
    batch: usize,
    proj: &[f64],
    seed: u64,
) -> (f64, Vec<f64>, Vec<f64>) {
    let mut ws: Workspace<f64> = Workspace::new();
    let out = net
        .forward_train(params, x, batch, &mut ws, &mut Rng::seed_from(seed))
        .to_vec();
    let value: f64 = out.iter().zip(proj).map(|(a, b)| a * b).sum();
    ws.d_outputs_mut(net, batch).copy_from_slice(proj);
    let mut d_x = vec![0.0; x.len()];
    net.backward(params, x, batch, &mut ws, Some(&mut d_x));
    (value, ws.grads().to_vec(), d_x)
}

fn assert_close(name: &str, what: &str, analytic: f64, numeric: f64) {
    let tol = 1e-6 * (1.0 + analytic.abs().max(numeric.abs()));
    assert!(
        (analytic - numeric).abs() <= tol,
        "{name}: {what}: analytic {analytic} vs numeric {numeric}"
    );
}

/// Every kind in a layer, inner layers included.
fn kinds_in(layer: &Layer, out: &mut std::collections::BTreeSet<&'static str>) {
    out.insert(layer.kind());
    for (_, inner) in layer.children() {
        kinds_in(inner, out);
    }
}

#[test]
fn every_block_kind_has_a_gradient_check() {
    let mut covered = std::collections::BTreeSet::new();
    for (_, spec) in layer_cases() {
        for layer in spec.build(0).expect("valid spec").layers() {
            kinds_in(layer, &mut covered);
        }
    }
    // Quantization-aware layers are piecewise constant: finite differences do not apply across
    // their steps. tests/qat.rs checks their straight-through rule against central differences
    // of the smooth surrogate instead.
    let ste_checked = ["qat_dense"];
    let missing: Vec<&str> = mlp::layers::KINDS
        .iter()
        .copied()
        .filter(|k| !covered.contains(k) && !ste_checked.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "block kinds without a finite-difference case in layer_cases(): {missing:?}"
    );
    // And the list names exactly the kinds the layers report.
    assert!(covered.iter().all(|k| mlp::layers::KINDS.contains(k)));
}

#[test]
fn every_layer_matches_central_differences() {
    for (name, spec) in layer_cases() {
        check_network(&name, &spec.build(11).expect("valid spec"));
    }
}

#[test]
fn batch_norm_eval_mode_matches_central_differences() {
    // Running statistics moved off their initial values, so the affine map is not trivial.
    let spec = ModelSpec {
        inputs: 3,
        layers: vec![
            dense(4, Activation::Tanh),
            LayerSpec::BatchNorm {
                eps: 1e-5,
                momentum: 0.1,
            },
            dense(2, Activation::Identity),
        ],
    };
    let mut net = spec.build(5).expect("valid spec");
    for t in net.tensors().to_vec() {
        if t.name.ends_with("running_mean") || t.name.ends_with("running_var") {
            for (j, p) in net.params_mut()[t.range].iter_mut().enumerate() {
                *p = 0.5 + 0.25 * j as f32;
            }
        }
    }
    check_network(
        "batch_norm (eval mode)",
        &net.with_grad_mode(GradMode::Eval),
    );
}

/// Central differences against the analytic parameter and input gradients of `net`.
fn check_network(name: &str, net: &Network) {
    let name = name.to_string();
    let net = net.clone();
    {
        let batch = 3;
        let mut rng = Rng::seed_from(2);
        let params: Vec<f64> = net
            .params()
            .iter()
            .map(|&p| p as f64 + 0.1 * rng.normal() as f64)
            .collect();
        let x: Vec<f64> = (0..batch * net.inputs())
            .map(|_| rng.normal() as f64)
            .collect();
        let proj: Vec<f64> = (0..batch * net.outputs())
            .map(|_| rng.normal() as f64)
            .collect();
        let (_, grads, d_x) = objective(&net, &params, &x, batch, &proj, 99);
        let h = 1e-6;
        let frozen: Vec<bool> = {
            let mut f = vec![false; params.len()];
            for t in net.tensors() {
                if t.kind == mlp::layers::ParamKind::Frozen {
                    f[t.range.clone()].iter_mut().for_each(|x| *x = true);
                }
            }
            f
        };
        for i in 0..params.len() {
            if frozen[i] {
                assert_eq!(grads[i], 0.0, "{name}: frozen parameter {i} got a gradient");
                continue;
            }
            let mut p = params.clone();
            p[i] += h;
            let up = objective(&net, &p, &x, batch, &proj, 99).0;
            p[i] -= 2.0 * h;
            let down = objective(&net, &p, &x, batch, &proj, 99).0;
            assert_close(
                &name,
                &format!("param {i}"),
                grads[i],
                (up - down) / (2.0 * h),
            );
        }
        for i in 0..x.len() {
            let mut xx = x.clone();
            xx[i] += h;
            let up = objective(&net, &params, &xx, batch, &proj, 99).0;
            xx[i] -= 2.0 * h;
            let down = objective(&net, &params, &xx, batch, &proj, 99).0;
            assert_close(
                &name,
                &format!("input {i}"),
                d_x[i],
                (up - down) / (2.0 * h),
            );
        }
    }
}

/// One case per loss (exhaustive match: a new loss must be added here).
fn loss_cases() -> Vec<(Loss, usize, usize)> {
    let all = [
        Loss::Mse,
        Loss::Mae,
        Loss::Huber { delta: 0.7 },
        Loss::CrossEntropy {
            label_smoothing: 0.0,
        },
        Loss::CrossEntropy {
            label_smoothing: 0.2,
        },
        Loss::Bce,
        Loss::MultilabelBce,
        Loss::Quantile {
            levels: mlp::loss::QuantileLevels::new(&[0.05, 0.5, 0.95]).expect("levels"),
        },
    ];
    all.into_iter()
        .map(|l| {
            let (width, classes) = match l {
                Loss::Mse | Loss::Mae | Loss::Huber { .. } => (3, 0),
                Loss::CrossEntropy { .. } => (4, 4),
                Loss::Bce => (1, 2),
                Loss::MultilabelBce => (3, 0),
                // 2 targets x 3 levels.
                Loss::Quantile { .. } => (6, 0),
            };
            (l, width, classes)
        })
        .collect()
}

#[test]
fn every_loss_gradient_matches_central_differences() {
    let batch = 5;
    let mut rng = Rng::seed_from(4);
    for (loss, width, classes) in loss_cases() {
        for weighted in [false, true] {
            let logits: Vec<f64> = (0..batch * width)
                .map(|_| 2.0 * rng.normal() as f64)
                .collect();
            let labels: Vec<usize> = (0..batch).map(|_| rng.below(classes.max(1))).collect();
            let values: Vec<f32> = (0..batch * width)
                .map(|_| {
                    if matches!(loss, Loss::MultilabelBce) {
                        rng.below(2) as f32
                    } else {
                        rng.normal()
                    }
                })
                .collect();
            let sw: Vec<f32> = (0..batch).map(|_| 0.2 + rng.uniform()).collect();
            let cw: Vec<f32> = (0..classes.max(1)).map(|_| 0.5 + rng.uniform()).collect();
            let sample_w = weighted.then_some(&sw[..]);
            let class_w = (weighted && classes > 0).then_some(&cw[..]);
            let weights = LossWeights {
                sample: sample_w,
                class: class_w,
            };
            let targets = if classes > 0 {
                BatchTargets::Classes(&labels)
            } else {
                BatchTargets::Values(&values)
            };
            let eval = |z: &[f64], d: Option<&mut [f64]>| {
                let (s, w) = loss.evaluate(z, batch, width, targets, weights, d);
                s / w
            };
            let mut d = vec![0.0; logits.len()];
            eval(&logits, Some(&mut d));
            let h = 1e-6;
            for i in 0..logits.len() {
                let mut z = logits.clone();
                z[i] += h;
                let up = eval(&z, None);
                z[i] -= 2.0 * h;
                let down = eval(&z, None);
                assert_close(
                    loss.name(),
                    &format!("logit {i} (weighted {weighted})"),
                    d[i],
                    (up - down) / (2.0 * h),
                );
            }
        }
    }
}

#[test]
fn cross_entropy_value_matches_hand_computation() {
    // logits [1, 2, 3], class 2: -log(e^3 / (e + e^2 + e^3)) = 0.40760596444438
    let (s, w) = Loss::CrossEntropy {
        label_smoothing: 0.0,
    }
    .evaluate(
        &[1.0f64, 2.0, 3.0],
        1,
        3,
        BatchTargets::Classes(&[2]),
        LossWeights::default(),
        None,
    );
    assert!((s / w - 0.407_605_964_444_380_1).abs() < 1e-12);
    // huber delta 1 on residual 2: 1 * (2 - 0.5) = 1.5; mse on residual 2: 4
    let (s, _) = Loss::Huber { delta: 1.0 }.evaluate(
        &[2.0f64],
        1,
        1,
        BatchTargets::Values(&[0.0]),
        LossWeights::default(),
        None,
    );
    assert!((s - 1.5).abs() < 1e-12);
    let (s, _) = Loss::Mse.evaluate(
        &[2.0f64],
        1,
        1,
        BatchTargets::Values(&[0.0]),
        LossWeights::default(),
        None,
    );
    assert!((s - 4.0).abs() < 1e-12);
    // bce on logit 0: ln 2
    let (s, _) = Loss::Bce.evaluate(
        &[0.0f64],
        1,
        1,
        BatchTargets::Classes(&[1]),
        LossWeights::default(),
        None,
    );
    assert!((s - 2f64.ln()).abs() < 1e-12);
}
