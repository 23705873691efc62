//! Jets against central finite differences of the `f64` inference path (an independent code
//! path: the layers' own `forward_eval`).

use super::*;
use crate::Activation;
use crate::rng::Rng;
use crate::spec::ModelSpec;

/// The network's outputs at `x` through the layers' `f64` inference forward.
fn eval(net: &Network, x: &[f64]) -> Vec<f64> {
    let params: Vec<f64> = net.params().iter().map(|&p| p as f64).collect();
    let mut h = x.to_vec();
    for (i, layer) in net.layers().iter().enumerate() {
        let mut y = vec![0.0; layer.out_features()];
        let mut scratch = vec![0.0; layer.infer_len(1)];
        let range = net.layer_range(i).expect("layer range");
        layer.forward_eval(&params[range], &h, 1, &mut y, &mut scratch);
        h = y;
    }
    h
}

fn along(net: &Network, x: &[f64], d: &[f64], t: f64) -> Vec<f64> {
    let p: Vec<f64> = x.iter().zip(d).map(|(a, b)| a + t * b).collect();
    eval(net, &p)
}

/// Central differences of orders 1, 2, 3 along `d`.
fn fd(net: &Network, x: &[f64], d: &[f64]) -> [Vec<f64>; 3] {
    let f = |t| along(net, x, d, t);
    let h1 = 1e-4;
    let (p, m) = (f(h1), f(-h1));
    let d1 = p
        .iter()
        .zip(&m)
        .map(|(a, b)| (a - b) / (2.0 * h1))
        .collect();
    let h2 = 1e-3;
    let (p, z, m) = (f(h2), f(0.0), f(-h2));
    let d2 = (0..p.len())
        .map(|o| (p[o] - 2.0 * z[o] + m[o]) / (h2 * h2))
        .collect();
    let h3 = 1e-2;
    let (p2, p1, m1, m2) = (f(2.0 * h3), f(h3), f(-h3), f(-2.0 * h3));
    let d3 = (0..p1.len())
        .map(|o| (p2[o] - 2.0 * p1[o] + 2.0 * m1[o] - m2[o]) / (2.0 * h3 * h3 * h3))
        .collect();
    [d1, d2, d3]
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-3)
}

fn random(n: usize, rng: &mut Rng) -> Vec<f64> {
    (0..n).map(|_| rng.uniform() as f64 * 2.0 - 1.0).collect()
}

fn check_against_fd(net: &Network, seed: u64) {
    let mut rng = Rng::seed_from(seed);
    for _ in 0..3 {
        let x = random(net.inputs(), &mut rng);
        let d = random(net.inputs(), &mut rng);
        let jet = net.jet(&x, &d, 3).expect("jet");
        let [d1, d2, d3] = fd(net, &x, &d);
        let value = eval(net, &x);
        for o in 0..net.outputs() {
            assert!(rel(jet[o][0], value[o]) < 1e-12, "value");
            assert!(
                rel(jet[o][1], d1[o]) < 1e-6,
                "order 1: {} vs {}",
                jet[o][1],
                d1[o]
            );
            assert!(
                rel(jet[o][2], d2[o]) < 1e-4,
                "order 2: {} vs {}",
                jet[o][2],
                d2[o]
            );
            assert!(
                rel(jet[o][3], d3[o]) < 1e-2,
                "order 3: {} vs {}",
                jet[o][3],
                d3[o]
            );
        }
    }
}

#[test]
fn tanh_mlp_jets_match_finite_differences() {
    // A random 3-layer tanh MLP (the acceptance test of the Born-series item).
    let net = ModelSpec::mlp(3, &[16, 16, 16], 2, Activation::Tanh, 0.0)
        .build(5)
        .expect("net");
    check_against_fd(&net, 1);
}

#[test]
fn every_smooth_activation_matches_finite_differences() {
    for act in [
        Activation::Sigmoid,
        Activation::Softplus,
        Activation::Gelu,
        Activation::Silu,
        Activation::Elu,
        Activation::Relu,
        Activation::LeakyRelu,
    ] {
        let net = ModelSpec::mlp(2, &[8, 8], 1, act, 0.0)
            .build(3)
            .expect("net");
        check_against_fd(&net, 2);
    }
}

#[test]
fn blocks_match_finite_differences() {
    let spec: ModelSpec = serde_json::from_str(
        r#"{"inputs": 3, "layers": [
            {"type": "dense", "units": 6, "activation": "tanh"},
            {"type": "layer_norm"},
            {"type": "residual", "layers": [{"type": "dense", "units": 6, "activation": "silu"},
                                            {"type": "dense", "units": 6}]},
            {"type": "dropout", "p": 0.1},
            {"type": "glu", "hidden": 5, "units": 4, "gate": "sigmoid"},
            {"type": "batch_norm"},
            {"type": "recurrent", "layers": [{"type": "dense", "units": 4, "activation": "tanh"}],
             "steps": 2, "dt": 0.5, "integrator": "rk2"},
            {"type": "dense", "units": 2}
        ]}"#,
    )
    .expect("spec");
    let mut net = spec.build(4).expect("net");
    // Non-trivial layer-norm gain and batch-norm statistics.
    let mut rng = Rng::seed_from(9);
    for t in net.tensors().to_vec() {
        if t.name.contains("running_var") || t.name.ends_with("1.weight") {
            for p in &mut net.params_mut()[t.range] {
                *p = 0.5 + rng.uniform();
            }
        }
    }
    check_against_fd(&net, 3);
}

#[test]
fn gradient_hessian_and_hvp_agree() {
    let net = ModelSpec::mlp(3, &[10, 10], 2, Activation::Tanh, 0.0)
        .build(7)
        .expect("net");
    let x = [0.2, -0.4, 0.7];
    let v = [0.3, 1.0, -0.5];
    let g = net.jet_gradient(&x).expect("gradient");
    let h = net.jet_hessian(&x).expect("hessian");
    let hv = net.jet_hvp(&x, &v).expect("hvp");
    let n = 3;
    for o in 0..2 {
        for i in 0..n {
            let mut e = [0.0; 3];
            e[i] = 1.0;
            let [d1, _, _] = fd(&net, &x, &e);
            assert!(rel(g[o][i], d1[o]) < 1e-6);
            // Central difference of the gradient gives a Hessian row.
            let gp = net
                .jet_gradient(&[x[0] + 1e-4 * e[0], x[1] + 1e-4 * e[1], x[2] + 1e-4 * e[2]])
                .expect("gradient");
            let gm = net
                .jet_gradient(&[x[0] - 1e-4 * e[0], x[1] - 1e-4 * e[1], x[2] - 1e-4 * e[2]])
                .expect("gradient");
            for j in 0..n {
                let fdh = (gp[o][j] - gm[o][j]) / 2e-4;
                assert!(rel(h[o][i * n + j], fdh) < 1e-5, "H[{i}][{j}]");
                assert_eq!(h[o][i * n + j], h[o][j * n + i]);
            }
            let hv_i: f64 = (0..n).map(|j| h[o][i * n + j] * v[j]).sum();
            assert!((hv[o][i] - hv_i).abs() < 1e-10);
        }
    }
}

#[test]
fn unsupported_blocks_and_bad_points_are_errors() {
    let spec: ModelSpec = serde_json::from_str(
        r#"{"inputs": 2, "layers": [{"type": "kan", "units": 3}, {"type": "dense", "units": 1}]}"#,
    )
    .expect("spec");
    let net = spec.build(0).expect("net");
    let err = net
        .jet(&[0.0, 0.0], &[1.0, 0.0], 2)
        .expect_err("kan has no jet rule");
    assert!(err.to_string().contains("'kan'"), "{err}");
    let net = ModelSpec::mlp(2, &[4], 1, Activation::Tanh, 0.0)
        .build(0)
        .expect("net");
    assert!(net.jet(&[0.0], &[1.0, 0.0], 2).is_err());
    assert!(net.jet(&[f64::NAN, 0.0], &[1.0, 0.0], 2).is_err());
    let mut bad = Jets::zeros(1, 2, 2);
    bad.data.pop();
    assert!(net.propagate_jets(&bad).is_err());
}
