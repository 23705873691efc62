//! Quantization-aware training: the straight-through gradients of `qat_dense` against their
//! analytic rule and against central differences of the smooth surrogate, and the integer-only
//! inference against the fake-quantized f32 network.

use mlp::Activation;
use mlp::data::generate;
use mlp::layers::Layer;
use mlp::layers::qat_dense::Grid;
use mlp::loss::Loss;
use mlp::network::{Network, Workspace};
use mlp::quant::qat;
use mlp::rng::Rng;
use mlp::spec::{LayerSpec, ModelSpec};
use mlp::train::{NoHooks, TrainConfig, TrainState, train};

fn one_layer(bits: u8, input_bits: u8, input_signed: bool, act: Activation) -> Network {
    ModelSpec {
        inputs: 5,
        layers: vec![LayerSpec::QatDense {
            units: 4,
            activation: act,
            bits,
            input_bits,
            input_signed,
            init: None,
            bias: true,
        }],
    }
    .build(3)
    .expect("valid spec")
}

fn range(net: &Network, name: &str) -> std::ops::Range<usize> {
    net.tensors()
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.range.clone())
        .expect("tensor")
}

/// The surrogate of `s * level(x / s)` around the point `(x0, s0)`: inside the grid the
/// rounding is the identity plus the constant `level(v0) - v0`; outside, the end level (binary:
/// the sign) is a constant.
fn surrogate(g: Grid, x0: f64, s0: f64, x: f64, s: f64) -> f64 {
    let v0 = x0 / s0;
    let l0 = g.level(v0);
    if g.inside(v0) {
        s * (x / s + (l0 - v0))
    } else {
        s * l0
    }
}

/// `sum proj * act(Q(x) Q(W)^T + b)` with the surrogate quantizers frozen at `base`.
fn surrogate_value(
    net: &Network,
    base: &[f64],
    x0: &[f64],
    p: &[f64],
    x: &[f64],
    batch: usize,
    proj: &[f64],
) -> f64 {
    let Layer::QatDense(l) = &net.layers()[0] else {
        panic!("qat_dense")
    };
    let (k, out) = (l.dense.in_features, l.dense.out_features);
    let (w, b) = (range(net, "layers.0.weight"), range(net, "layers.0.bias"));
    let sw = range(net, "layers.0.weight_log_scale");
    let sx = range(net, "layers.0.input_log_scale").start;
    let (gx, gw) = (l.input_grid(), l.weight_grid());
    let mut value = 0.0;
    for r in 0..batch {
        for j in 0..out {
            let mut z = p[b.start + j];
            for i in 0..k {
                // Scales are parameterized by their logarithms.
                let xq = surrogate(gx, x0[r * k + i], base[sx].exp(), x[r * k + i], p[sx].exp());
                let wi = w.start + j * k + i;
                let (b0, s) = (base[sw.start + j].exp(), p[sw.start + j].exp());
                let wq = surrogate(gw, base[wi], b0, p[wi], s);
                z += xq * wq;
            }
            value += proj[r * out + j] * l.dense.activation.apply(z);
        }
    }
    value
}

fn check_layer(bits: u8, input_bits: u8, signed: bool, act: Activation) {
    let name = format!("qat_dense bits {bits} input {input_bits} signed {signed} {act}");
    let net = one_layer(bits, input_bits, signed, act);
    let batch = 4;
    let mut rng = Rng::seed_from(17);
    let mut p: Vec<f64> = net.params().iter().map(|&v| f64::from(v)).collect();
    // Scales that put some inputs and weights outside their grids.
    let Layer::QatDense(l) = &net.layers()[0] else {
        panic!("qat_dense")
    };
    p[range(&net, "layers.0.input_log_scale").start] =
        (2.0 / f64::from(l.input_grid().max_abs())).ln();
    for s in range(&net, "layers.0.weight_log_scale") {
        p[s] = (0.5 / f64::from(l.weight_grid().qp)).ln();
    }
    let x: Vec<f64> = (0..batch * 5)
        .map(|_| f64::from(rng.normal()) * 1.5)
        .collect();
    let proj: Vec<f64> = (0..batch * 4).map(|_| f64::from(rng.normal())).collect();
    let mut ws: Workspace<f64> = Workspace::new();
    net.forward_train(&p, &x, batch, &mut ws, &mut Rng::seed_from(0));
    ws.d_outputs_mut(&net, batch).copy_from_slice(&proj);
    let mut d_x = vec![0.0; x.len()];
    net.backward(&p, &x, batch, &mut ws, Some(&mut d_x));
    let grads = ws.grads().to_vec();
    // The forward equals the surrogate at the point itself.
    let out = ws.outputs(&net, batch).to_vec();
    let direct: f64 = out.iter().zip(&proj).map(|(a, b)| a * b).sum();
    let at_point = surrogate_value(&net, &p, &x, &p, &x, batch, &proj);
    assert!(
        (direct - at_point).abs() < 1e-9,
        "{name}: {direct} vs {at_point}"
    );
    let h = 1e-6;
    let close = |what: String, a: f64, n: f64| {
        let tol = 1e-6 * (1.0 + a.abs().max(n.abs()));
        assert!(
            (a - n).abs() <= tol,
            "{name}: {what}: analytic {a} vs numeric {n}"
        );
    };
    for i in 0..p.len() {
        let (mut up, mut down) = (p.clone(), p.clone());
        up[i] += h;
        down[i] -= h;
        let n = (surrogate_value(&net, &p, &x, &up, &x, batch, &proj)
            - surrogate_value(&net, &p, &x, &down, &x, batch, &proj))
            / (2.0 * h);
        close(format!("param {i}"), grads[i], n);
    }
    let (gx, sx) = (
        l.input_grid(),
        p[range(&net, "layers.0.input_log_scale").start].exp(),
    );
    let (mut inside, mut outside) = (0, 0);
    for i in 0..x.len() {
        let (mut up, mut down) = (x.clone(), x.clone());
        up[i] += h;
        down[i] -= h;
        let n = (surrogate_value(&net, &p, &x, &p, &up, batch, &proj)
            - surrogate_value(&net, &p, &x, &p, &down, batch, &proj))
            / (2.0 * h);
        close(format!("input {i}"), d_x[i], n);
        // The clipped straight-through rule: zero outside the grid exactly.
        if gx.inside(x[i] / sx) {
            inside += 1;
        } else {
            outside += 1;
            assert_eq!(d_x[i], 0.0, "{name}: input {i} is clipped");
        }
    }
    assert!(
        inside > 0 && outside > 0,
        "{name}: {inside} inside, {outside} outside"
    );
    // Weights outside the grid get no gradient (binary: |w / s| > 1).
    let (w, sw) = (
        range(&net, "layers.0.weight"),
        range(&net, "layers.0.weight_log_scale"),
    );
    let gw = l.weight_grid();
    let clipped = w
        .clone()
        .filter(|&i| !gw.inside(p[i] / p[sw.start + (i - w.start) / 5].exp()))
        .inspect(|&i| assert_eq!(grads[i], 0.0, "{name}: weight {i} is clipped"))
        .count();
    assert!(clipped > 0, "{name}: no clipped weight to check");
}

#[test]
fn ste_gradients_match_the_rule_and_surrogate_differences() {
    check_layer(2, 3, true, Activation::Tanh);
    check_layer(1, 2, false, Activation::Identity);
    check_layer(3, 8, true, Activation::Sigmoid);
    check_layer(2, 1, true, Activation::Tanh);
}

fn blobs() -> (Vec<f32>, Vec<usize>, mlp::data::Dataset) {
    let data = generate::blobs(1000, 6, 3, 2.0, 5).expect("data");
    let labels = match data.targets() {
        mlp::data::Targets::Classes { labels, .. } => labels.clone(),
        _ => unreachable!(),
    };
    (data.features().to_vec(), labels, data)
}

fn accuracy(net: &Network, x: &[f32], labels: &[usize]) -> f64 {
    let out = net.predict(x, labels.len());
    let k = net.outputs();
    let hits = labels
        .iter()
        .enumerate()
        .filter(|(i, l)| mlp::train::argmax(&out[i * k..(i + 1) * k]) == **l)
        .count();
    hits as f64 / labels.len() as f64
}

#[test]
fn two_bit_training_learns_and_the_integer_path_matches_fake_quantization_bit_for_bit() {
    let (x, labels, data) = blobs();
    let config = TrainConfig::default()
        .with_epochs(15)
        .with_batch_size(32)
        .with_lr(0.01);
    let mut f32_net = ModelSpec::mlp(6, &[16, 16], 3, Activation::Relu, 0.0)
        .build(1)
        .expect("net");
    let mut q = qat::convert(&f32_net, 2).expect("convert");
    qat::calibrate(&mut q, &x, labels.len()).expect("calibrate");
    let loss = Loss::CrossEntropy {
        label_smoothing: 0.0,
    };
    let run = |net: &mut Network| {
        train(
            net,
            &data,
            None,
            &config,
            &loss,
            &mut TrainState::default(),
            &mut NoHooks,
        )
        .expect("train")
    };
    run(&mut f32_net);
    run(&mut q);
    let (acc32, fake) = (accuracy(&f32_net, &x, &labels), accuracy(&q, &x, &labels));
    assert!(fake >= acc32 - 0.05, "2-bit {fake} vs f32 {acc32}");
    // 2-bit weights are ternary: every layer's levels lie in {-1, 0, 1}.
    for (i, layer) in q.layers().iter().enumerate() {
        let Layer::QatDense(l) = layer else {
            continue;
        };
        let p = &q.params()[q.layer_range(i).expect("range")];
        let levels: std::collections::BTreeSet<i8> = l.weight_levels(p).into_iter().collect();
        assert!(levels.iter().all(|v| (-1..=1).contains(v)), "{levels:?}");
    }
    let mut fake_out = vec![0.0f32; labels.len() * 3];
    q.predict_batch(q.params(), &x, labels.len(), &mut fake_out);
    assert!(qat::attach(&mut q).expect("attach"));
    let int_out = q.predict(&x, labels.len());
    assert_eq!(int_out, fake_out, "integer path vs fake-quantized f32");
    // Single rows (another blocking) give the same values too.
    let one = q.predict(&x[..6], 1);
    assert_eq!(one, fake_out[..3]);
    // Changing the weights drops the integer network.
    q.params_mut()[0] += 1.0;
    assert!(q.qat_int().is_none());
}

#[test]
fn every_width_converts_and_calibration_starts_near_the_data() {
    let net = ModelSpec::mlp(3, &[5], 2, Activation::Tanh, 0.2)
        .build(0)
        .expect("net");
    for bits in 1..=8 {
        let q = qat::convert(&net, bits).expect("convert");
        assert_eq!(qat::weight_bits(&q), Some(bits));
        assert_eq!(q.outputs(), 2);
    }
    assert!(qat::convert(&net, 0).is_err() && qat::convert(&net, 9).is_err());
    let bad = ModelSpec {
        inputs: 3,
        layers: vec![
            LayerSpec::LayerNorm { eps: 1e-5 },
            LayerSpec::dense(2, Activation::Identity),
        ],
    }
    .build(0)
    .expect("net");
    let err = qat::convert(&bad, 2).expect_err("layer norm");
    assert!(err.to_string().contains("layer_norm"), "{err}");
}
