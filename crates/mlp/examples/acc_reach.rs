//! Closed-loop reachability of a network controller: adaptive cruise control. Runs with
//! `cargo run --release --example acc_reach` and as part of `cargo test` (it asserts what it
//! prints). The `mlp reach` command does the same with more options (plots, JSON).
//!
//! The plant is the library's [`Acc`] example: state `(d, v)` = (gap to the lead car in m, lead
//! speed minus own speed in m/s), control `u` = own acceleration, `d' = v`, `v' = -u`. A small
//! ReLU network is trained to imitate the saturated PD teacher law [`Acc::pd`]; reachability then
//! bounds every state the closed loop can reach from the initial box over 5 s and checks that
//! the gap never falls to `d_safe` (15 m). Simulated trajectories must stay inside the boxes.

use mlp::Activation;
use mlp::estimator::MlpBuilder;
use mlp::model::Model;
use mlp::ndarray::ArrayView2;
use mlp::rng::Rng;
use mlp::verify::Method;
use mlp::verify::reach::{Acc, Controller, ReachConfig, reach, simulate};

/// A 2-16-16-1 ReLU regressor fitted to the teacher law on states drawn uniformly from
/// `d in [5, 45]`, `v in [-8, 8]` (wider than the initial set, so the closed loop stays where
/// the network has seen data).
fn train_controller(acc: &Acc, seed: u64) -> mlp::Result<Model> {
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
    let shape = |e: mlp::ndarray::ShapeError| mlp::Error::config("controller data", e.to_string());
    let x = ArrayView2::from_shape((rows, 2), &x).map_err(shape)?;
    let y = ArrayView2::from_shape((rows, 1), &y).map_err(shape)?;
    MlpBuilder::regressor()
        .hidden(&[16, 16])
        .activation(Activation::Relu)
        .epochs(150)
        .batch_size(64)
        .lr(3e-3)
        .seed(seed)
        .threads(1)
        .fit_array_regression(x, y)
}

fn main() -> mlp::Result<()> {
    let acc = Acc::default();
    let model = train_controller(&acc, 0)?;
    // The network with the model's input scaling and output decoding, evaluated in f64.
    let controller = Controller::from_model(&model)?;
    let plant = acc.discrete();
    let steps = 50;
    let config = ReachConfig {
        steps,
        method: Method::Crown,
        depth: 2,
    };
    let result = reach(&plant, &controller, &acc.initial, &config)?;
    let first_unsafe = result.first_unsafe(&acc.unsafe_set());
    let min_gap = result
        .steps
        .iter()
        .map(|s| s.state.lower[0])
        .fold(f64::INFINITY, f64::min);

    // Trajectories from random initial states: each must lie in its step's reach box.
    let mut rng = Rng::seed_from(1);
    let rows = 200;
    let starts: Vec<f64> = (0..rows * 2)
        .map(|i| {
            let (l, h) = (acc.initial.lower[i % 2], acc.initial.upper[i % 2]);
            l + rng.uniform_f64() * (h - l)
        })
        .collect();
    let trajectories = simulate(&plant, &controller, &starts, rows, steps);
    let inside = trajectories
        .iter()
        .zip(&result.steps)
        .all(|(states, step)| states.chunks_exact(2).all(|x| step.state.contains(x, 1e-9)));

    println!(
        "initial d in [{}, {}] m, v in [{}, {}] m/s; {steps} steps of {} s, CROWN bounds",
        acc.initial.lower[0],
        acc.initial.upper[0],
        acc.initial.lower[1],
        acc.initial.upper[1],
        acc.period
    );
    for (k, s) in result.steps.iter().enumerate().step_by(10) {
        println!(
            "t = {:>4.1} s: d in [{:.3}, {:.3}], v in [{:.3}, {:.3}]",
            k as f64 * acc.period,
            s.state.lower[0],
            s.state.upper[0],
            s.state.lower[1],
            s.state.upper[1]
        );
    }
    println!(
        "{rows} simulated trajectories {} inside the reach sets",
        if inside { "all" } else { "NOT all" }
    );
    match first_unsafe {
        None => println!(
            "proved: the gap stays above {} m (minimum reachable gap {min_gap:.3} m)",
            acc.d_safe
        ),
        Some(k) => println!(
            "not proved: the reach box of step {k} meets d <= {} m",
            acc.d_safe
        ),
    }
    assert!(inside, "a simulated trajectory left the reach sets");
    assert_eq!(
        first_unsafe, None,
        "the example controller should be proved safe"
    );
    Ok(())
}

#[test]
fn example_runs() -> mlp::Result<()> {
    main()
}
