//! Attacks, Layer Sustainability Analysis and adversarial training (plain and AT-LR) on small
//! generated data.

use mlp::Activation;
use mlp::data::{Dataset, Targets, generate};
use mlp::loss::{BatchTargets, Loss, LossWeights};
use mlp::network::{Network, Workspace};
use mlp::rng::Rng;
use mlp::robust::attack::{self, AttackConfig, AttackMethod, Norm, PerturbSpace, Threat};
use mlp::robust::lsa::{self, LayerError, MvlRule};
use mlp::spec::ModelSpec;
use mlp::train::{self, AdversarialConfig, NoHooks, TrainConfig, TrainState};

const CE: Loss = Loss::CrossEntropy {
    label_smoothing: 0.0,
};

fn moons(n: usize, seed: u64) -> Dataset {
    generate::two_moons(n, 0.1, seed).expect("two moons")
}

fn labels(d: &Dataset) -> &[usize] {
    match d.targets() {
        Targets::Classes { labels, .. } => labels,
        _ => panic!("classes expected"),
    }
}

fn config(seed: u64, epochs: usize) -> TrainConfig {
    TrainConfig::default()
        .with_epochs(epochs)
        .with_batch_size(100)
        .with_lr(Some(0.01))
        .with_seed(seed)
        .with_threads(1)
        .with_patience(None)
}

/// A 2-16-16-2 ReLU classifier trained on two-moons (optionally adversarially).
fn trained(seed: u64, adversarial: Option<AdversarialConfig>) -> (Network, Dataset) {
    let data = moons(1000, seed);
    let mut net = ModelSpec::mlp(2, &[16, 16], 2, Activation::Relu, 0.0)
        .build(seed)
        .expect("spec");
    let cfg = config(seed, 60).with_adversarial(adversarial);
    train::train(
        &mut net,
        &data,
        None,
        &cfg,
        &CE,
        &mut TrainState::default(),
        &mut NoHooks,
    )
    .expect("training");
    (net, data)
}

fn accuracy(net: &Network, x: &[f32], labels: &[usize]) -> f64 {
    let out = net.predict(x, labels.len());
    let k = net.outputs();
    let correct = labels
        .iter()
        .enumerate()
        .filter(|(i, l)| train::argmax(&out[i * k..(i + 1) * k]) == **l)
        .count();
    correct as f64 / labels.len() as f64
}

fn attacked_accuracy(net: &Network, test: &Dataset, cfg: &AttackConfig) -> f64 {
    let y = labels(test);
    let adv = attack::attack(
        net,
        test.features(),
        y.len(),
        BatchTargets::Classes(y),
        &CE,
        &PerturbSpace::unbounded(2),
        cfg,
    )
    .expect("attack");
    accuracy(net, &adv, y)
}

#[test]
fn fgsm_at_eps_03_costs_a_clean_moons_model_over_20_points() {
    let (net, _) = trained(1, None);
    let test = moons(500, 99);
    let clean = accuracy(&net, test.features(), labels(&test));
    let adv = attacked_accuracy(&net, &test, &AttackConfig::fgsm(0.3));
    assert!(clean > 0.95, "clean accuracy {clean}");
    assert!(clean - adv > 0.20, "clean {clean}, fgsm {adv}");
}

#[test]
fn pgd_finds_at_least_the_fgsm_loss_and_is_deterministic() {
    let (net, _) = trained(2, None);
    let test = moons(400, 7);
    let y = labels(&test);
    let space = PerturbSpace::unbounded(2);
    let run = |cfg: &AttackConfig| {
        attack::attack(
            &net,
            test.features(),
            y.len(),
            BatchTargets::Classes(y),
            &CE,
            &space,
            cfg,
        )
        .expect("attack")
    };
    for norm in [Norm::Linf, Norm::L2] {
        let fgsm = AttackConfig {
            norm,
            ..AttackConfig::fgsm(0.2)
        };
        let pgd = AttackConfig {
            norm,
            restarts: 2,
            ..AttackConfig::pgd(0.2, 20)
        };
        let loss_of =
            |x: &[f32]| attack::mean_loss(&net, x, y.len(), BatchTargets::Classes(y), &CE);
        let (l_clean, l_fgsm, l_pgd) = (
            loss_of(test.features()),
            loss_of(&run(&fgsm)),
            loss_of(&run(&pgd)),
        );
        assert!(
            l_fgsm > l_clean,
            "{norm:?}: fgsm {l_fgsm} vs clean {l_clean}"
        );
        assert!(l_pgd >= l_fgsm, "{norm:?}: pgd {l_pgd} < fgsm {l_fgsm}");
        assert_eq!(run(&pgd), run(&pgd), "same seed, same examples");
    }
}

#[test]
fn perturbations_stay_in_the_ball_the_domain_and_off_frozen_features() {
    let net = ModelSpec::mlp(4, &[8], 3, Activation::Tanh, 0.0)
        .build(3)
        .expect("spec");
    let mut rng = Rng::seed_from(5);
    let rows = 300; // more than one chunk
    let x: Vec<f32> = (0..rows * 4).map(|_| rng.uniform()).collect();
    let y: Vec<usize> = (0..rows).map(|i| i % 3).collect();
    // Per-feature radii (raw units through a scaler), feature 3 frozen, domain [0, 1].
    let space = PerturbSpace {
        radius: vec![1.0, 0.5, 2.0, 1.0],
        lower: vec![0.0; 4],
        upper: vec![1.0; 4],
    }
    .freeze(&[3]);
    let eps = 0.15;
    for norm in [Norm::Linf, Norm::L2] {
        for method in [
            AttackMethod::Fgsm,
            AttackMethod::Pgd,
            AttackMethod::UniformNoise,
        ] {
            let cfg = AttackConfig {
                method,
                norm,
                restarts: 2,
                ..AttackConfig::pgd(eps, 7)
            };
            let adv = attack::attack(&net, &x, rows, BatchTargets::Classes(&y), &CE, &space, &cfg)
                .expect("attack");
            let mut moved = 0usize;
            for (c, a) in x.chunks(4).zip(adv.chunks(4)) {
                assert_eq!(c[3], a[3], "frozen feature moved");
                assert!(
                    a.iter().all(|v| (0.0..=1.0).contains(v)),
                    "{method:?}: {a:?}"
                );
                let size = space.perturbation(c, a, norm);
                assert!(
                    size <= eps * (1.0 + 1e-5),
                    "{method:?} {norm:?}: {size} > {eps}"
                );
                if norm == Norm::Linf {
                    for j in 0..3 {
                        let bound = eps * space.radius[j] * (1.0 + 1e-5);
                        assert!((a[j] - c[j]).abs() <= bound, "box of feature {j}");
                    }
                }
                moved += usize::from(size > 0.0);
            }
            assert!(
                moved > rows / 2,
                "{method:?} {norm:?} barely moved anything"
            );
        }
    }
}

#[test]
fn relative_error_is_zero_for_identical_inputs_and_matches_a_hand_value() {
    let (net, data) = trained(4, None);
    let rows = 200;
    let x = &data.features()[..rows * 2];
    let re = lsa::layer_relative_errors(&net, x, x, rows, 64).expect("lsa");
    assert_eq!(re.len(), 2, "two hidden layers analysed, output excluded");
    assert!(re.iter().all(|l| l.relative_error == 0.0), "{re:?}");
    // ||(3,4) - (0,0)|| / ||(3,4)|| = 1; ||(3,5) - (3,4)|| / 5 = 0.2.
    assert_eq!(lsa::relative_error(&[3.0f32, 4.0], &[0.0, 0.0]), 1.0);
    assert!((lsa::relative_error(&[3.0f64, 4.0], &[3.0, 5.0]) - 0.2).abs() < 1e-15);
    // An FGSM perturbation moves every hidden layer.
    let y = &labels(&data)[..rows];
    let report = lsa::analyze(
        &net,
        x,
        rows,
        BatchTargets::Classes(y),
        Threat {
            loss: &CE,
            space: &PerturbSpace::unbounded(2),
            config: &AttackConfig::fgsm(0.3),
        },
        64,
        MvlRule::MeanPlusStd,
    )
    .expect("lsa");
    assert!(report.layers.iter().all(|l| l.relative_error > 0.0));
    assert_eq!(report.mvl.len(), 1);
}

#[test]
fn mvl_rule_picks_layers_above_mean_plus_std_or_the_largest() {
    let layers = |res: &[f64]| -> Vec<LayerError> {
        res.iter()
            .enumerate()
            .map(|(i, &r)| LayerError {
                index: 2 * i,
                kind: "dense",
                width: 4,
                relative_error: r,
            })
            .collect()
    };
    // mean 0.3, std 0.3464: threshold 0.646; only 0.9 (layer 6) is above.
    let l = layers(&[0.1, 0.1, 0.1, 0.9]);
    assert_eq!(lsa::most_vulnerable(&l, MvlRule::MeanPlusStd), vec![6]);
    // Two layers: mean + std equals the max, nothing is strictly above: the largest is taken.
    let l = layers(&[0.5, 0.2]);
    assert_eq!(lsa::most_vulnerable(&l, MvlRule::MeanPlusStd), vec![0]);
    let l = layers(&[0.5, 0.2, 0.7, 0.1]);
    assert_eq!(lsa::most_vulnerable(&l, MvlRule::TopK(2)), vec![0, 4]);
    assert!(lsa::most_vulnerable(&[], MvlRule::MeanPlusStd).is_empty());
}

/// AT-LR objective on fixed clean activations: CE(f(x_adv)) + gamma * sum_l RE_l(h_l, h_l(x_adv)).
#[test]
fn at_lr_regularizer_gradient_matches_central_differences() {
    let net = ModelSpec::mlp(3, &[5, 4], 3, Activation::Tanh, 0.0)
        .build(8)
        .expect("spec");
    let batch = 4;
    let mut rng = Rng::seed_from(9);
    let params: Vec<f64> = net.params().iter().map(|&p| p as f64).collect();
    let x_clean: Vec<f64> = (0..batch * 3).map(|_| rng.normal() as f64).collect();
    let x_adv: Vec<f64> = x_clean
        .iter()
        .map(|v| v + 0.3 * rng.normal() as f64)
        .collect();
    let y = [0usize, 2, 1, 2];
    let (mvl, gamma) = ([0usize, 1], 0.7);
    let mut ws: Workspace<f64> = Workspace::new();
    net.forward_train(&params, &x_clean, batch, &mut ws, &mut Rng::seed_from(0));
    let clean_h: Vec<Vec<f64>> = mvl
        .iter()
        .map(|&l| ws.layer_output(&net, l, batch).to_vec())
        .collect();
    let objective = |p: &[f64], ws: &mut Workspace<f64>, grad: bool| -> (f64, Vec<f64>) {
        net.forward_train(p, &x_adv, batch, ws, &mut Rng::seed_from(0));
        let (out, d_out) = ws.outputs_and_d_outputs(&net, batch);
        let (sum, w) = CE.evaluate(
            out,
            batch,
            3,
            BatchTargets::Classes(&y),
            LossWeights::default(),
            Some(d_out),
        );
        let mut value = sum / w;
        for (h, &l) in clean_h.iter().zip(&mvl) {
            value += gamma * lsa::relative_error(h, ws.layer_output(&net, l, batch));
        }
        if !grad {
            return (value, Vec::new());
        }
        net.backward_with_taps(p, &x_adv, batch, ws, None, |i, out, d| {
            for (h, &l) in clean_h.iter().zip(&mvl) {
                if l == i {
                    lsa::add_relative_error_grad(h, out, gamma, d);
                }
            }
        });
        (value, ws.grads().to_vec())
    };
    let (_, analytic) = objective(&params, &mut ws, true);
    let h = 1e-6;
    for k in 0..params.len() {
        let mut p = params.clone();
        p[k] += h;
        let up = objective(&p, &mut ws, false).0;
        p[k] -= 2.0 * h;
        let down = objective(&p, &mut ws, false).0;
        let numeric = (up - down) / (2.0 * h);
        let tol = 1e-6 * (1.0 + analytic[k].abs().max(numeric.abs()));
        assert!(
            (analytic[k] - numeric).abs() <= tol,
            "param {k}: analytic {} vs numeric {numeric}",
            analytic[k]
        );
    }
    // The regularizer alone has a non-zero gradient (the check above is not CE-only).
    let mut d = vec![0.0f64; clean_h[0].len()];
    let shifted: Vec<f64> = clean_h[0].iter().map(|v| v + 0.1).collect();
    lsa::add_relative_error_grad(&clean_h[0], &shifted, 1.0, &mut d);
    assert!(d.iter().all(|g| *g > 0.0));
}

#[test]
fn adversarial_training_beats_standard_training_under_attack() {
    let test = moons(500, 77);
    let pgd = AttackConfig::pgd(0.3, 10);
    let (standard, _) = trained(5, None);
    let (robust, _) = trained(5, Some(AdversarialConfig::new(AttackMethod::Pgd, 0.3)));
    let (a_std, a_rob) = (
        attacked_accuracy(&standard, &test, &pgd),
        attacked_accuracy(&robust, &test, &pgd),
    );
    assert!(
        a_rob > a_std + 0.1,
        "pgd accuracy: standard {a_std}, adversarial {a_rob}"
    );
}

#[test]
fn adversarial_runs_resume_bit_identically() {
    let data = moons(300, 6);
    let adv = {
        let mut c = AdversarialConfig::new(AttackMethod::Pgd, 0.2);
        c.layer_reg = 0.5;
        c.mvl = vec![0, 1];
        c.ratio = 0.5;
        c
    };
    let cfg = config(3, 6).with_adversarial(Some(adv));
    let spec = ModelSpec::mlp(2, &[8, 8], 2, Activation::Relu, 0.0);
    let mut whole = spec.build(3).expect("spec");
    train::train(
        &mut whole,
        &data,
        None,
        &cfg,
        &CE,
        &mut TrainState::default(),
        &mut NoHooks,
    )
    .expect("train");
    let mut part = spec.build(3).expect("spec");
    let mut state = TrainState::default();
    let first = cfg.clone().with_epochs(3);
    train::train(
        &mut part,
        &data,
        None,
        &first,
        &CE,
        &mut state,
        &mut NoHooks,
    )
    .expect("train");
    state.finished = false;
    train::train(&mut part, &data, None, &cfg, &CE, &mut state, &mut NoHooks).expect("train");
    assert_eq!(whole.params(), part.params());
}

#[test]
fn bad_adversarial_settings_are_errors() {
    let data = moons(100, 1);
    let mut net = ModelSpec::mlp(2, &[4], 2, Activation::Relu, 0.0)
        .build(0)
        .expect("spec");
    for adv in [
        AdversarialConfig::new(AttackMethod::Fgsm, -0.1),
        {
            let mut c = AdversarialConfig::new(AttackMethod::Fgsm, 0.1);
            c.ratio = 1.5;
            c
        },
        {
            let mut c = AdversarialConfig::new(AttackMethod::Fgsm, 0.1);
            c.layer_reg = 1.0;
            c.mvl = vec![7];
            c
        },
        {
            let mut c = AdversarialConfig::new(AttackMethod::Fgsm, 0.1);
            c.layer_reg = 1.0;
            c
        },
    ] {
        let cfg = config(0, 1).with_adversarial(Some(adv));
        let r = train::train(
            &mut net,
            &data,
            None,
            &cfg,
            &CE,
            &mut TrainState::default(),
            &mut NoHooks,
        );
        assert!(matches!(r, Err(mlp::Error::InvalidConfig { .. })), "{r:?}");
    }
}
