//! Complete verification of VNN-LIB properties: every `holds` on small random ReLU networks is
//! confirmed by gridding the input box, every counterexample is re-checked by f32 inference,
//! alpha-CROWN bounds are checked against sampled outputs and against CROWN, and an ACAS-Xu-shaped
//! network (5 inputs, 6 x 50 ReLU, 5 outputs) gets the same answer on 1 and 2 threads.

use mlp::Activation;
use mlp::network::Network;
use mlp::rng::Rng;
use mlp::spec::ModelSpec;
use mlp::verify::complete::{Answer, CompleteConfig, verify_property};
use mlp::verify::crown::CrownNet;
use mlp::verify::vnnlib::{Property, parse_vnnlib};
use mlp::verify::{Bounds, LinearSpec};
use std::time::Duration;

fn random_net(inputs: usize, hidden: &[usize], outputs: usize, seed: u64, spread: f32) -> Network {
    let mut net = ModelSpec::mlp(inputs, hidden, outputs, Activation::Relu, 0.0)
        .build(seed)
        .expect("valid spec");
    let mut rng = Rng::seed_from(seed ^ 0xabc);
    for p in net.params_mut().iter_mut() {
        *p = rng.normal() * spread;
    }
    net
}

/// VNN-LIB text: inputs in `[lo, hi]`, then `unsafe` (asserts on the outputs).
fn vnnlib(lo: &[f64], hi: &[f64], outputs: usize, unsafe_asserts: &str) -> String {
    let mut s = String::new();
    for i in 0..lo.len() {
        s.push_str(&format!("(declare-const X_{i} Real)\n"));
    }
    for i in 0..outputs {
        s.push_str(&format!("(declare-const Y_{i} Real)\n"));
    }
    for i in 0..lo.len() {
        s.push_str(&format!(
            "(assert (>= X_{i} {:e}))\n(assert (<= X_{i} {:e}))\n",
            lo[i], hi[i]
        ));
    }
    s.push_str(unsafe_asserts);
    s
}

/// Whether f32 inference output `y` lies in case `k`'s unsafe set with `slack` to spare.
fn unsafe_by(prop: &Property, k: usize, y: &[f64], slack: f64) -> bool {
    prop.cases[k]
        .unsafe_set
        .eval(y)
        .iter()
        .all(|g| *g <= -slack)
}

/// A `steps^d` grid of the case's box, predicted in one batch.
fn grid(net: &Network, b: &Bounds, steps: usize) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let d = b.len();
    let total = steps.pow(d as u32);
    let mut x = Vec::with_capacity(total * d);
    for idx in 0..total {
        let mut r = idx;
        for j in 0..d {
            let t = (r % steps) as f64 / (steps - 1) as f64;
            r /= steps;
            x.push((b.lower[j] + t * (b.upper[j] - b.lower[j])) as f32);
        }
    }
    let y = net.predict(&x, total);
    let m = net.outputs();
    (
        x.chunks_exact(d)
            .map(|r| r.iter().map(|&v| v as f64).collect())
            .collect(),
        y.chunks_exact(m)
            .map(|r| r.iter().map(|&v| v as f64).collect())
            .collect(),
    )
}

/// Re-checks a counterexample: inside its case's box and unsafe under f32 inference.
fn recheck(net: &Network, prop: &Property, answer: &Answer) {
    if let Answer::Violated {
        case,
        input,
        output,
    } = answer
    {
        assert!(prop.cases[*case].input.contains(input, 0.0), "{input:?}");
        let x: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        assert!(
            x.iter().zip(input).all(|(a, b)| *a as f64 == *b),
            "f32-exact"
        );
        let y: Vec<f64> = net.predict(&x, 1).iter().map(|&v| v as f64).collect();
        assert_eq!(&y, output);
        assert!(unsafe_by(prop, *case, &y, 0.0), "{y:?}");
    }
}

#[test]
fn holds_is_confirmed_by_gridding_and_counterexamples_recheck() {
    let (mut holds, mut violated) = (0, 0);
    for seed in 0..12u64 {
        let net = random_net(2, &[8, 8], 3, seed, 0.8);
        let mut rng = Rng::seed_from(seed);
        let c: Vec<f64> = (0..2).map(|_| rng.normal() as f64).collect();
        let b = Bounds::around(&c, &[0.3]).expect("box");
        let (_, ys) = grid(&net, &b, 101);
        // Threshold just below (even seeds) or above (odd) the gridded minimum of y0 - y1.
        let m = ys.iter().map(|y| y[0] - y[1]).fold(f64::INFINITY, f64::min);
        let t = if seed % 2 == 0 { m - 0.05 } else { m + 0.05 };
        // Unsafe: y0 - y1 <= t, or (a second disjunct) y2 >= 1e6 (never reached).
        let text = vnnlib(
            &b.lower,
            &b.upper,
            3,
            &format!("(assert (or (and (<= (- Y_0 Y_1) {t:e})) (and (>= Y_2 1e6))))\n"),
        );
        let prop = parse_vnnlib(&text).expect("parses");
        assert_eq!(prop.cases.len(), 2);
        let out = verify_property(&net, &prop, &CompleteConfig::default()).expect("runs");
        recheck(&net, &prop, &out.answer);
        match &out.answer {
            Answer::Holds => {
                holds += 1;
                let (xs, ys) = grid(&net, &prop.cases[0].input, 301);
                for (x, y) in xs.iter().zip(&ys) {
                    for k in 0..2 {
                        assert!(!unsafe_by(&prop, k, y, 1e-5), "seed {seed}: {x:?} -> {y:?}");
                    }
                }
            }
            Answer::Violated { .. } => violated += 1,
            Answer::Unknown(why) => panic!("seed {seed}: unknown ({why})"),
        }
    }
    assert!(
        holds >= 4 && violated >= 4,
        "{holds} holds, {violated} violated"
    );
}

#[test]
fn alpha_crown_is_sound_and_never_looser_than_crown() {
    let mut improved = 0;
    for seed in 0..8u64 {
        let net = random_net(3, &[12, 12], 3, seed, 0.7);
        let cn = CrownNet::new(&net).expect("dense relu");
        let mut rng = Rng::seed_from(seed + 100);
        let c: Vec<f64> = (0..3).map(|_| rng.normal() as f64).collect();
        let b = Bounds::around(&c, &[0.6]).expect("box");
        let spec = LinearSpec::class_margin(3, (seed % 3) as usize).expect("spec");
        let a = cn.alpha_lower(&b, &spec, 20, None).expect("bounds");
        let crown = cn.linear(&b, &spec).expect("crown").concretize(&b);
        for r in 0..spec.rows() {
            assert!(
                (a.crown_lower[r] - crown.lower[r]).abs() <= 1e-9 * (1.0 + crown.lower[r].abs())
            );
            assert!(a.lower[r] >= crown.lower[r] - 1e-12, "seed {seed} row {r}");
            if a.lower[r] > crown.lower[r] + 1e-6 {
                improved += 1;
            }
        }
        // Soundness: no sampled output goes below the bound (beyond f32 rounding).
        let count = 4000;
        let mut x = Vec::with_capacity(count * 3);
        for s in 0..count {
            for j in 0..3 {
                let t = if s % 4 == 0 {
                    f64::from(rng.next_u32() & 1)
                } else {
                    rng.uniform_f64()
                };
                x.push((b.lower[j] + t * (b.upper[j] - b.lower[j])) as f32);
            }
        }
        let y = net.predict(&x, count);
        for row in y.chunks_exact(3) {
            let v = spec.eval(&row.iter().map(|&v| v as f64).collect::<Vec<_>>());
            for (vr, lr) in v.iter().zip(&a.lower) {
                assert!(
                    *vr >= lr - 1e-4 * (1.0 + vr.abs()),
                    "seed {seed}: {vr} below alpha-CROWN bound {lr}"
                );
            }
        }
    }
    assert!(improved >= 3, "alpha-CROWN tightened only {improved} rows");
}

/// An ACAS-Xu-shaped network and property: 5 inputs in a small box, 6 hidden layers of 50 ReLU,
/// 5 outputs; unsafe when the output that is largest at the centre is the smallest.
fn acas_like(seed: u64) -> (Network, Property) {
    let net = random_net(5, &[50; 6], 5, seed, 0.25);
    let mut rng = Rng::seed_from(seed);
    let c: Vec<f64> = (0..5).map(|_| rng.normal() as f64 * 0.5).collect();
    let b = Bounds::around(&c, &[0.02]).expect("box");
    let y = net.predict(&c.iter().map(|&v| v as f32).collect::<Vec<_>>(), 1);
    let top = (0..5).max_by(|&i, &j| y[i].total_cmp(&y[j])).unwrap_or(0);
    let asserts: String = (0..5)
        .filter(|&i| i != top)
        .map(|i| format!("(assert (<= Y_{top} Y_{i}))\n"))
        .collect();
    let prop = parse_vnnlib(&vnnlib(&b.lower, &b.upper, 5, &asserts)).expect("parses");
    (net, prop)
}

#[test]
fn acas_shaped_network_same_answer_on_one_and_two_threads() {
    for seed in [1u64, 2] {
        let (net, prop) = acas_like(seed);
        let config = CompleteConfig {
            timeout: Some(Duration::from_secs(60)),
            ..CompleteConfig::default()
        };
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| verify_property(&net, &prop, &config).expect("runs"))
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one.answer, two.answer, "seed {seed}");
        assert_eq!(one.domains, two.domains, "seed {seed}");
        recheck(&net, &prop, &one.answer);
        assert_eq!(one.answer, Answer::Holds, "seed {seed}: {:?}", one.answer);
        let (_, ys) = grid(&net, &prop.cases[0].input, 5);
        assert!(ys.iter().all(|y| !unsafe_by(&prop, 0, y, 1e-5)));
    }
}

#[test]
fn timeout_answers_unknown_and_shapes_are_checked() {
    let (net, prop) = acas_like(1);
    let config = CompleteConfig {
        timeout: Some(Duration::ZERO),
        ..CompleteConfig::default()
    };
    let out = verify_property(&net, &prop, &config).expect("runs");
    assert!(
        matches!(out.answer, Answer::Unknown(ref w) if w.contains("timeout")),
        "{:?}",
        out.answer
    );
    let small = random_net(2, &[4], 5, 0, 0.5);
    let err = verify_property(&small, &prop, &CompleteConfig::default()).expect_err("widths");
    assert!(err.to_string().contains("property"), "{err}");
}
