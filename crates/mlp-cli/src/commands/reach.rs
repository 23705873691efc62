//! `mlp reach`: closed-loop reachability of a linear plant under a network controller, on a
//! built-in example (adaptive cruise control), with simulated trajectories for comparison.

use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::Activation;
use mlp::estimator::MlpBuilder;
use mlp::model::{Model, Task};
use mlp::rng::Rng;
use mlp::verify::Method;
use mlp::verify::reach::{Acc, Controller, ReachConfig, reach, simulate};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp reach`.
#[derive(Debug, Args)]
pub struct ReachArgs {
    /// The example system: acc (adaptive cruise control: gap d and relative speed v, a double
    /// integrator, PD teacher law, unsafe when d <= 15 m).
    #[arg(long, default_value = "acc", value_parser = ["acc"])]
    pub example: String,
    /// A trained controller (regression model: 2 state inputs d, v -> acceleration) instead of
    /// training one.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// Write the trained controller here.
    #[arg(long, value_name = "MODEL", conflicts_with = "model")]
    pub save_model: Option<PathBuf>,
    /// Control periods (0.1 s each).
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Controller bounds: crown (linear, keeps the feedback) or ibp.
    #[arg(long, default_value = "crown", value_parser = ["ibp", "crown"])]
    pub method: String,
    /// The initial set is split into 2^depth cells, each propagated on its own.
    #[arg(long, default_value_t = 2)]
    pub depth: u32,
    /// Simulated trajectories from random initial states.
    #[arg(long, default_value_t = 1000)]
    pub trajectories: usize,
    /// Draw the reach boxes, trajectories and unsafe set (SVG or PNG).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Seed of the controller's training and of the simulations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads for training (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct StepReport {
    step: usize,
    time: f64,
    lower: Vec<f64>,
    upper: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    control: Option<[f64; 2]>,
}

#[derive(Debug, Serialize)]
struct ReachReport {
    example: String,
    method: String,
    depth: u32,
    period: f64,
    d_safe: f64,
    teacher_max_error: f64,
    safe: bool,
    first_unsafe_step: Option<usize>,
    min_reachable_gap: f64,
    trajectories: usize,
    min_simulated_gap: f64,
    trajectories_inside: bool,
    steps: Vec<StepReport>,
}

/// Trains the example's controller: a small ReLU network (2 x 16 hidden units) imitating the PD
/// teacher law [`Acc::pd`] on 3000 states drawn uniformly from `d in [5, 45]`, `v in [-8, 8]`.
/// The demo's data and fit live here, not in the library, which keeps only the plant and the
/// reachability algorithm; `crates/mlp/examples/acc_reach.rs` does the same with the same seed.
pub fn train_controller(acc: &Acc, seed: u64, threads: usize) -> Result<Model> {
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
    let x = mlp::ndarray::ArrayView2::from_shape((rows, 2), &x)?;
    let y = mlp::ndarray::ArrayView2::from_shape((rows, 1), &y)?;
    let model = MlpBuilder::regressor()
        .hidden(&[16, 16])
        .activation(Activation::Relu)
        .epochs(150)
        .batch_size(64)
        .lr(3e-3)
        .seed(seed)
        .threads(threads)
        .fit_array_regression(x, y)?;
    Ok(model)
}

pub fn run(args: ReachArgs) -> Result<ExitCode> {
    if let Some(p) = &args.plot {
        crate::plot::check_svg(p)?;
    }
    if args.depth > 12 {
        bail!(
            "--depth {} would split each box into 2^{} cells; use at most 12",
            args.depth,
            args.depth
        );
    }
    let method: Method = args.method.parse()?;
    let acc = Acc::default();
    let model = match &args.model {
        Some(path) => Model::load(path)?,
        None => {
            let m = train_controller(&acc, args.seed, args.threads)?;
            if let Some(out) = &args.save_model {
                m.save(out)
                    .with_context(|| format!("saving the controller to {}", out.display()))?;
            }
            m
        }
    };
    if model.task() != Task::Regression || model.n_features() != 2 || model.network().outputs() != 1
    {
        bail!(
            "{}: the acc controller must be a regression model from 2 inputs (d, v) to 1 output (acceleration)",
            args.model
                .as_ref()
                .map_or("model".into(), |p| p.display().to_string())
        );
    }
    let ctrl = Controller::from_model(&model)?;
    // How well the network imitates the teacher law on a grid over the initial region's
    // neighbourhood.
    let mut grid = Vec::new();
    for i in 0..=20 {
        for j in 0..=20 {
            grid.extend([15.0 + 15.0 * i as f64 / 20.0, -5.0 + 7.0 * j as f64 / 20.0]);
        }
    }
    let u = ctrl.control(&grid, 441);
    let teacher_max_error = (0..441)
        .map(|r| (u[r] - acc.pd(grid[2 * r], grid[2 * r + 1])).abs())
        .fold(0.0, f64::max);
    let plant = acc.discrete();
    let config = ReachConfig {
        steps: args.steps,
        method,
        depth: args.depth,
    };
    let result = reach(&plant, &ctrl, &acc.initial, &config)?;
    let unsafe_set = acc.unsafe_set();
    let first_unsafe = result.first_unsafe(&unsafe_set);
    let mut rng = Rng::seed_from(args.seed ^ 0x51a1);
    let rows = args.trajectories;
    let starts: Vec<f64> = (0..rows * 2)
        .map(|i| {
            let j = i % 2;
            let (l, h) = (acc.initial.lower[j], acc.initial.upper[j]);
            l + rng.uniform_f64() * (h - l)
        })
        .collect();
    let traj = simulate(&plant, &ctrl, &starts, rows, args.steps);
    let inside = traj
        .iter()
        .zip(&result.steps)
        .all(|(states, step)| states.chunks_exact(2).all(|x| step.state.contains(x, 1e-9)));
    let min_sim = traj
        .iter()
        .flat_map(|s| s.chunks_exact(2).map(|x| x[0]))
        .fold(f64::INFINITY, f64::min);
    let min_reach = result
        .steps
        .iter()
        .map(|s| s.state.lower[0])
        .fold(f64::INFINITY, f64::min);
    let report = ReachReport {
        example: args.example.clone(),
        method: args.method.clone(),
        depth: args.depth,
        period: acc.period,
        d_safe: acc.d_safe,
        teacher_max_error,
        safe: first_unsafe.is_none(),
        first_unsafe_step: first_unsafe,
        min_reachable_gap: min_reach,
        trajectories: rows,
        min_simulated_gap: min_sim,
        trajectories_inside: inside,
        steps: result
            .steps
            .iter()
            .enumerate()
            .map(|(k, s)| StepReport {
                step: k,
                time: k as f64 * acc.period,
                lower: s.state.lower.clone(),
                upper: s.state.upper.clone(),
                control: (!s.control.is_empty()).then(|| [s.control.lower[0], s.control.upper[0]]),
            })
            .collect(),
    };
    if let Some(path) = &args.plot {
        let boxes: Vec<[f64; 4]> = result
            .steps
            .iter()
            .map(|s| {
                [
                    s.state.lower[0],
                    s.state.upper[0],
                    s.state.lower[1],
                    s.state.upper[1],
                ]
            })
            .collect();
        let shown = rows.min(100);
        let lines: Vec<Vec<(f64, f64)>> = (0..shown)
            .map(|r| traj.iter().map(|s| (s[2 * r], s[2 * r + 1])).collect())
            .collect();
        crate::plot::reach_sets(path, &boxes, &lines, acc.d_safe)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "adaptive cruise control: d' = v, v' = -u, period {} s, controller imitates u = clamp({} (d - {}) + {} v, {}, {}) (max |NN - PD| {:.3} m/s^2 on d in [15, 30], v in [-5, 2])",
        acc.period, acc.kp, acc.d_ref, acc.kd, acc.u_min, acc.u_max, teacher_max_error
    );
    println!(
        "initial set d in [{}, {}] m, v in [{}, {}] m/s; {} steps, {} bounds, initial set in 2^{} cells",
        acc.initial.lower[0],
        acc.initial.upper[0],
        acc.initial.lower[1],
        acc.initial.upper[1],
        args.steps,
        args.method,
        args.depth
    );
    println!(
        "{:>5}  {:>5}  {:>20}  {:>20}  {:>20}",
        "step", "t (s)", "d (m)", "v (m/s)", "u (m/s^2)"
    );
    let every = (args.steps / 10).max(1);
    for s in &report.steps {
        if s.step % every != 0 && s.step != args.steps {
            continue;
        }
        let iv = |l: f64, u: f64| format!("[{l:.3}, {u:.3}]");
        println!(
            "{:>5}  {:>5.1}  {:>20}  {:>20}  {:>20}",
            s.step,
            s.time,
            iv(s.lower[0], s.upper[0]),
            iv(s.lower[1], s.upper[1]),
            s.control.map_or(String::new(), |c| iv(c[0], c[1]))
        );
    }
    println!(
        "{rows} simulated trajectories: min gap {min_sim:.3} m, {} inside the reach sets",
        if inside { "all" } else { "NOT all" }
    );
    match first_unsafe {
        None => println!(
            "unsafe set d <= {} m avoided: minimum reachable gap {min_reach:.3} m over {} steps",
            acc.d_safe, args.steps
        ),
        Some(k) => println!(
            "unsafe set d <= {} m NOT proved avoided: the reach box of step {k} meets it (over-approximation or a real violation)",
            acc.d_safe
        ),
    }
    if let Some(p) = &args.plot {
        println!("plot written to {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}
