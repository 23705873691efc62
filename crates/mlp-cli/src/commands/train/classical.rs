//! `mlp train --arch rbf | grnn | cascade`: the classical networks that are fitted in closed form
//! or grown from the data rather than trained epoch by epoch (see `mlp::classical`).

use super::TrainArgs;
use anyhow::{Result, bail};
use mlp::architectures::Arch;
use mlp::estimator::Session;
use mlp::train::{Hooks, Outcome};

/// Centres of `--arch rbf` when `--centers` is not given.
pub const DEFAULT_CENTERS: usize = 32;

/// Flags that set up gradient training, which the closed-form fits (rbf, grnn) do not run.
const GRADIENT_FLAGS: &[&str] = &[
    "epochs",
    "batch_size",
    "optimizer",
    "momentum",
    "lr",
    "weight_decay",
    "schedule",
    "clip_grad_norm",
    "mixup",
    "augment",
    "adversarial",
    "patience",
    "dropout",
    "activation",
    "init",
    "loss",
    "label_smoothing",
    "class_weight",
    "hidden",
    "precision",
];

/// Refuses flags that do not fit the architecture, in one line each.
pub fn check(args: &TrainArgs, arch: Arch) -> Result<()> {
    let given = |f: &str| args.given.iter().any(|g| g == f);
    if (args.centers.is_some() || args.ridge.is_some()) && arch != Arch::Rbf {
        bail!("--centers and --ridge apply to --arch rbf");
    }
    if (args.max_hidden.is_some() || args.candidates.is_some()) && arch != Arch::Cascade {
        bail!("--max-hidden and --candidates apply to --arch cascade");
    }
    if !matches!(arch, Arch::Rbf | Arch::Grnn | Arch::Cascade) {
        return Ok(());
    }
    let name = arch.name();
    if args.ensemble > 1 {
        bail!("--arch {name} trains one network; --ensemble does not apply");
    }
    if args.qat_bits.is_some() {
        bail!("--qat-bits applies to dense networks (--arch mlp), not --arch {name}");
    }
    if arch != Arch::Rbf && (args.checkpoint.is_some() || args.resume.is_some()) {
        bail!(
            "--arch {name} is {} in one go, not in resumable epochs; drop --checkpoint/--resume",
            if arch == Arch::Grnn {
                "fitted"
            } else {
                "grown"
            }
        );
    }
    if matches!(arch, Arch::Rbf | Arch::Grnn) {
        if let Some(f) = GRADIENT_FLAGS.iter().find(|f| given(f)) {
            bail!(
                "--arch {name} is fitted in closed form (no gradient training); --{} does not apply",
                f.replace('_', "-")
            );
        }
        if args.checkpoint.is_some() || args.resume.is_some() {
            bail!("--arch {name} is fitted in one go; drop --checkpoint/--resume");
        }
    }
    if arch == Arch::Cascade && given("hidden") {
        bail!("--arch cascade grows its own hidden units; use --max-hidden N instead of --hidden");
    }
    if let Some(0) = args.centers {
        bail!("--centers must be at least 1");
    }
    if let Some(l) = args.ridge
        && !(l.is_finite() && l >= 0.0)
    {
        bail!("--ridge must be zero or positive, got {l}");
    }
    Ok(())
}

/// Fits or grows the network of `--arch rbf | grnn | cascade`; `None` for every other
/// architecture (trained by `session.run`).
pub fn run(
    args: &TrainArgs,
    session: &mut Session,
    hooks: &mut (dyn Hooks + Send),
) -> Option<Result<Outcome>> {
    let arch: Arch = args.arch.parse().ok()?;
    let started = std::time::Instant::now();
    let result = match arch {
        Arch::Rbf => fit_rbf(args, session),
        Arch::Grnn => fit_grnn(args, session),
        Arch::Cascade => grow(args, session, hooks),
        _ => return None,
    };
    Some(result.map(|(outcome, note)| {
        let history = session.state().history.clone();
        if let Some(t) = session.model_mut().training_mut() {
            t.outcome = note;
            t.seconds += started.elapsed().as_secs_f64();
            t.history = history;
        }
        outcome
    }))
}

fn fit_rbf(args: &TrainArgs, session: &mut Session) -> Result<(Outcome, String)> {
    let lambda = args.ridge.unwrap_or(1e-3);
    let train = session.train_data().clone();
    mlp::classical::rbf::fit(session.model_mut().network_mut(), &train, lambda, args.seed)?;
    let k = args.centers.unwrap_or(DEFAULT_CENTERS);
    Ok((
        Outcome::Converged,
        format!("fitted in closed form (rbf: {k} k-means centres, ridge {lambda})"),
    ))
}

fn fit_grnn(args: &TrainArgs, session: &mut Session) -> Result<(Outcome, String)> {
    let fit = mlp::classical::grnn::fit(session.train_data(), args.seed)?;
    if fit.network.outputs() != session.model().network().outputs() {
        bail!(
            "--arch grnn needs one output per class or target; this task has {}",
            session.model().network().outputs()
        );
    }
    *session.model_mut().network_mut() = fit.network;
    Ok((
        Outcome::Converged,
        format!(
            "fitted in closed form (grnn: leave-one-out bandwidth sigma {:.4})",
            fit.sigma
        ),
    ))
}

fn grow(
    args: &TrainArgs,
    session: &mut Session,
    hooks: &mut (dyn Hooks + Send),
) -> Result<(Outcome, String)> {
    let defaults = mlp::classical::cascade::CascadeOptions::default();
    let opts = mlp::classical::cascade::CascadeOptions {
        max_hidden: args.max_hidden.unwrap_or(defaults.max_hidden),
        candidates: args.candidates.unwrap_or(defaults.candidates),
        ..defaults
    };
    let (outcome, report) = mlp::classical::cascade::grow(session, &opts, hooks)?;
    Ok((
        outcome,
        format!(
            "cascade-correlation: {} hidden units installed (at most {}); last stage {}",
            report.units, opts.max_hidden, outcome
        ),
    ))
}
