//! `mlp pinn`: train a physics-informed MLP on a built-in PDE example (`mlp::physics::pinn`).

use anyhow::{Result, bail};
use clap::Args;
use mlp::physics::pinn::{Example, PinnConfig, train_pinn};
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp pinn`.
///
/// The network is a tanh MLP u(x, t) (Poisson: u(x, y)), by default 2-20x8-1 (eight hidden
/// layers of 20, Raissi et al.'s Burgers network). Loss: mean squared PDE residual at uniform
/// collocation points (input derivatives up to second order by a forward-mode pass) plus mean
/// squared initial/boundary error. Full-batch Adam, then L-BFGS. Prints the final loss, the
/// relative L2 error against the exact solution (Burgers: Cole-Hopf reference by
/// quadrature) on a 201 x 101 grid, the residual RMS on fresh points and the wall time.
#[derive(Debug, Args)]
pub struct PinnArgs {
    /// The PDE: burgers (u_t + u u_x = 0.01/pi u_xx, u(0,x) = -sin(pi x), u(t,+-1) = 0), heat
    /// (u_t = 0.1 u_xx, u(0,x) = sin(pi x)) or poisson (u_xx + u_yy = -2 pi^2 sin(pi x) sin(pi
    /// y) on [-1,1]^2, zero boundary).
    #[arg(long, value_parser = ["burgers", "heat", "poisson"])]
    pub example: String,
    /// Hidden widths, comma-separated (default 20 x 8).
    #[arg(long, value_name = "WIDTHS", value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Full-batch Adam steps before L-BFGS.
    #[arg(long, default_value_t = 1000)]
    pub epochs: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// L-BFGS iterations after Adam (stops early when no step decreases the loss).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub lbfgs_iters: usize,
    /// Interior collocation points (uniform random).
    #[arg(long, value_name = "N", default_value_t = 4000)]
    pub collocation: usize,
    /// Initial and boundary points.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub boundary: usize,
    /// Seed of the initialization and the points.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The model file to write (inputs x, t or x, y; output u), for `mlp predict`.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlp pinn`.
pub fn run(args: PinnArgs) -> Result<ExitCode> {
    let example: Example = args.example.parse()?;
    let mut config = PinnConfig::new(example);
    if let Some(h) = args.hidden {
        config.hidden = h;
    }
    if args.collocation == 0 || args.boundary == 0 {
        bail!("--collocation and --boundary must be at least 1");
    }
    config.epochs = args.epochs;
    config.lr = args.lr;
    config.lbfgs_iters = args.lbfgs_iters;
    config.collocation = args.collocation;
    config.boundary = args.boundary;
    config.seed = args.seed;
    let (model, report) = train_pinn(&config)?;
    model.save(&args.out)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{}: loss {:.3e} (after Adam {:.3e}, {} L-BFGS iterations), relative L2 error {:.3e}, residual RMS {:.3e}, {:.1} s; model written to {}",
            report.example,
            report.loss,
            report.adam_loss,
            report.lbfgs_iterations,
            report.rel_l2,
            report.residual_rms,
            report.seconds,
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
