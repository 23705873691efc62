//! Complete verification of a [`Property`] (VNN-LIB): a falsifier first, then branch and bound
//! over input splits with alpha-CROWN bounds.
//!
//! Each [`Case`] of the property is an input box and a conjunction `g_i(y) <= 0` of linear output
//! constraints describing unsafe outputs. A sub-box (domain) is **safe** when some row has
//! `g_i(y) > 0` everywhere on it, i.e. its lower bound is positive; the property **holds** when
//! every domain of every case is safe, and is **violated** by a concrete input whose `f32`
//! inference output satisfies every row of some case.
//!
//! Steps:
//! 1. Falsifier: the box centre, its corners (up to 10 inputs), random points, and projected
//!    signed-gradient descent (PGD) on the property margin `max_i g_i(y(x))` (an input is a
//!    counterexample when the margin is `<= 0`) from the centre and random starts.
//! 2. Branch and bound on input splits (the inputs are few in benchmarks such as ACAS Xu): a
//!    domain is bounded by CROWN, then, if no row is proved, by alpha-CROWN
//!    ([`CrownNet::alpha_lower`]); if still open, the centre and the minimiser of the best row's
//!    linear lower bound (a box corner) are tried as counterexamples, and the domain is split at
//!    the midpoint of the input with the largest `|a_j| x width_j` (`a` the best row's linear
//!    lower-bound coefficients: the input along which the bound loses most). Domains are taken
//!    from a depth-first stack in batches, bounded in parallel with rayon and their results used
//!    in stack order, so the answer and the domain count do not depend on the thread count
//!    (only the timeout can make runs differ).
//!
//! ReLU splitting (beta-CROWN) is not implemented: input splitting is what low-dimensional
//! properties favour; high-dimensional ones (image robustness) end `unknown` more often.
//!
//! Soundness in floating point: bounds are computed in `f64` for the exact-arithmetic function of
//! the weights; a row counts as proved only when its lower bound exceeds
//! `MARGIN x (1 + M)`, `M` the magnitude of the row's IBP bounds on the domain and `MARGIN =
//! 1e-9` — about a million times the accumulated relative rounding of an `f64` bound computation
//! through a few dozen-wide layers (`~1e-15`). Counterexamples are re-checked by the network's own
//! single-row `f32` inference at an input that is exactly representable in `f32` and inside the box.

use super::Bounds;
use super::crown::CrownNet;
use super::vnnlib::{Case, Property};
use crate::layers::GradMode;
use crate::network::{Network, Workspace};
use crate::rng::Rng;
use crate::{Error, Result};
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// Relative margin a lower bound must clear to count as proved (see the module docs).
pub const MARGIN: f64 = 1e-9;

/// Settings of [`verify_property`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteConfig {
    /// Give up with [`Answer::Unknown`] after this long (`None`: no limit).
    pub timeout: Option<Duration>,
    /// alpha-CROWN optimisation steps per domain (0: plain CROWN).
    pub alpha_iters: usize,
    /// Domains bounded per parallel batch.
    pub batch: usize,
    /// Give up when this many domains are waiting (memory guard).
    pub max_open: usize,
    /// Falsifier: random starts of PGD (besides the centre).
    pub pgd_starts: usize,
    /// Falsifier: PGD steps per start.
    pub pgd_steps: usize,
    /// Seed of the falsifier's random points.
    pub seed: u64,
}

impl Default for CompleteConfig {
    fn default() -> Self {
        CompleteConfig {
            timeout: None,
            alpha_iters: 10,
            batch: 64,
            max_open: 2_000_000,
            pgd_starts: 15,
            pgd_steps: 50,
            seed: 0,
        }
    }
}

/// The answer of [`verify_property`].
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// No input of the property's boxes reaches its unsafe set.
    Holds,
    /// An input that reaches the unsafe set under the network's `f32` inference.
    Violated {
        /// Which case (disjunct) of the property it satisfies.
        case: usize,
        /// The input (exactly representable in `f32`, inside the case's box).
        input: Vec<f64>,
        /// The network's `f32` output there.
        output: Vec<f64>,
    },
    /// Neither, with the reason (timeout, domain limit, a domain too small to split).
    Unknown(String),
}

impl Answer {
    /// `holds`, `violated` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            Answer::Holds => "holds",
            Answer::Violated { .. } => "violated",
            Answer::Unknown(_) => "unknown",
        }
    }
}

/// What [`verify_property`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The answer.
    pub answer: Answer,
    /// Domains bounded by branch and bound (0 when the falsifier answered).
    pub domains: usize,
    /// Wall time.
    pub seconds: f64,
}

/// Decides `prop` for `net` (network units: the property's `X_i` are the network's inputs and
/// `Y_i` its outputs). Errors for a network CROWN does not support or mismatched widths.
pub fn verify_property(net: &Network, prop: &Property, config: &CompleteConfig) -> Result<Outcome> {
    let start = Instant::now();
    if prop.inputs != net.inputs() || prop.outputs != net.outputs() {
        return Err(Error::shape(
            "property (inputs x outputs)",
            format!("{} x {}", net.inputs(), net.outputs()),
            format!("{} x {}", prop.inputs, prop.outputs),
        ));
    }
    let cn = CrownNet::new(net)?;
    let done = |answer: Answer, domains: usize| Outcome {
        answer,
        domains,
        seconds: start.elapsed().as_secs_f64(),
    };
    for (k, case) in prop.cases.iter().enumerate() {
        if let Some((input, output)) =
            falsify(net, case, config, config.seed.wrapping_add(k as u64))
        {
            return Ok(done(
                Answer::Violated {
                    case: k,
                    input,
                    output,
                },
                0,
            ));
        }
    }
    let mut stack: Vec<(usize, Bounds)> = prop
        .cases
        .iter()
        .enumerate()
        .rev()
        .map(|(k, c)| (k, c.input.clone()))
        .collect();
    let mut domains = 0;
    let mut stuck = false;
    let batch = config.batch.max(1);
    while !stack.is_empty() {
        if config.timeout.is_some_and(|t| start.elapsed() >= t) {
            return Ok(done(
                Answer::Unknown(format!(
                    "timeout after {domains} domains ({} open)",
                    stack.len()
                )),
                domains,
            ));
        }
        if stack.len() > config.max_open {
            return Ok(done(
                Answer::Unknown(format!("more than {} open domains", config.max_open)),
                domains,
            ));
        }
        let take = stack.len().min(batch);
        let work = stack.split_off(stack.len() - take);
        let results: Vec<Result<Step>> = work
            .par_iter()
            .map(|(k, cell)| bound_domain(&cn, net, &prop.cases[*k], cell, config.alpha_iters))
            .collect();
        domains += take;
        for ((k, _), r) in work.into_iter().zip(results) {
            match r? {
                Step::Proved => {}
                Step::Counterexample(input, output) => {
                    return Ok(done(
                        Answer::Violated {
                            case: k,
                            input,
                            output,
                        },
                        domains,
                    ));
                }
                Step::Split(a, b) => {
                    stack.push((k, b));
                    stack.push((k, a));
                }
                Step::Stuck => stuck = true,
            }
        }
    }
    Ok(done(
        if stuck {
            Answer::Unknown("a domain became too small to split".into())
        } else {
            Answer::Holds
        },
        domains,
    ))
}

/// What bounding one domain decided.
enum Step {
    Proved,
    Counterexample(Vec<f64>, Vec<f64>),
    Split(Bounds, Bounds),
    Stuck,
}

fn proved(b: &super::crown::AlphaBounds) -> Option<usize> {
    (0..b.rows_done).find(|&i| b.lower[i] > MARGIN * (1.0 + b.magnitude[i]))
}

fn bound_domain(
    cn: &CrownNet,
    net: &Network,
    case: &Case,
    cell: &Bounds,
    alpha_iters: usize,
) -> Result<Step> {
    let spec = &case.unsafe_set;
    if spec.rows() == 0 {
        // Every input of the box is unsafe.
        return Ok(match check_points(net, case, &cell.center()) {
            Some((x, y)) => Step::Counterexample(x, y),
            None => Step::Stuck,
        });
    }
    // The optimisation starts from CROWN's bound and stops as soon as a row is proved, so a
    // domain CROWN already proves costs one back-substitution per row tried.
    let b = cn.alpha_lower(cell, spec, alpha_iters, Some(MARGIN))?;
    if proved(&b).is_some() {
        return Ok(Step::Proved);
    }
    let n = cell.len();
    let best = (0..b.rows_done)
        .max_by(|&i, &j| b.lower[i].total_cmp(&b.lower[j]))
        .unwrap_or(0);
    let a = &b.a_lower[best * n..(best + 1) * n];
    // Candidates: the centre and the corner minimising the best row's linear lower bound.
    let mut points = cell.center();
    points.extend((0..n).map(|j| {
        if a[j] >= 0.0 {
            cell.lower[j]
        } else {
            cell.upper[j]
        }
    }));
    if let Some((x, y)) = check_points(net, case, &points) {
        return Ok(Step::Counterexample(x, y));
    }
    let w = cell.widths();
    let mut dim = (0..n)
        .max_by(|&i, &j| w[i].total_cmp(&w[j]).then(j.cmp(&i)))
        .unwrap_or(0);
    let mut score = 0.0;
    for j in 0..n {
        let s = a[j].abs() * w[j];
        if s > score {
            score = s;
            dim = j;
        }
    }
    let mid = 0.5 * (cell.lower[dim] + cell.upper[dim]);
    if mid <= cell.lower[dim] || mid >= cell.upper[dim] || w[dim] <= 1e-12 * (1.0 + mid.abs()) {
        return Ok(Step::Stuck);
    }
    let (l, r) = cell.split(dim);
    Ok(Step::Split(l, r))
}

/// `v` as an `f32` inside `[lo, hi]` (rounded inward), if there is one near it.
fn f32_inside(v: f64, lo: f64, hi: f64) -> Option<f32> {
    let mut r = v as f32;
    if (r as f64) < lo {
        r = r.next_up();
    }
    if (r as f64) > hi {
        r = r.next_down();
    }
    ((r as f64) >= lo && (r as f64) <= hi).then_some(r)
}

/// The first of `points` (`k x inputs`) whose `f32` inference output satisfies every row of the
/// case (the unsafe set): the input as checked (f32-exact, in the box) and the output.
pub(crate) fn check_points(
    net: &Network,
    case: &Case,
    points: &[f64],
) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = net.inputs().max(1);
    let b = &case.input;
    let mut x32 = Vec::with_capacity(points.len());
    let mut kept = 0;
    for p in points.chunks_exact(n) {
        let row: Option<Vec<f32>> = p
            .iter()
            .enumerate()
            .map(|(j, &v)| f32_inside(v, b.lower[j], b.upper[j]))
            .collect();
        if let Some(row) = row {
            x32.extend(row);
            kept += 1;
        }
    }
    if kept == 0 {
        return None;
    }
    let y = net.predict(&x32, kept);
    let m = net.outputs().max(1);
    let unsafe_output = |y: &[f32]| -> Option<Vec<f64>> {
        let y: Vec<f64> = y.iter().map(|&v| v as f64).collect();
        (y.iter().all(|v| v.is_finite()) && case.unsafe_set.eval(&y).iter().all(|g| *g <= 0.0))
            .then_some(y)
    };
    for (x, y) in x32.chunks_exact(n).zip(y.chunks_exact(m)) {
        // Batched inference can round differently from one row at a time (kernel blocking), so
        // a candidate is confirmed by single-row inference: what a user re-running it sees.
        if unsafe_output(y).is_some()
            && let Some(y) = unsafe_output(&net.predict(x, 1))
        {
            return Some((x.iter().map(|&v| v as f64).collect(), y));
        }
    }
    None
}

/// The falsifier: centre, corners (up to 10 inputs), random points, then PGD on the margin
/// `max_i g_i(y)` from the centre and `pgd_starts` random points.
pub fn falsify(
    net: &Network,
    case: &Case,
    config: &CompleteConfig,
    seed: u64,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let b = &case.input;
    let n = b.len();
    let mut rng = Rng::seed_from(seed);
    let mut points = b.center();
    if n <= 10 {
        for mask in 0..(1usize << n) {
            points.extend((0..n).map(|j| {
                if mask >> j & 1 == 1 {
                    b.upper[j]
                } else {
                    b.lower[j]
                }
            }));
        }
    }
    let random = |rng: &mut Rng| -> Vec<f64> {
        (0..n)
            .map(|j| b.lower[j] + rng.uniform_f64() * (b.upper[j] - b.lower[j]))
            .collect::<Vec<_>>()
    };
    for _ in 0..64 {
        points.extend(random(&mut rng));
    }
    if let Some(found) = check_points(net, case, &points) {
        return Some(found);
    }
    if config.pgd_steps == 0 || case.unsafe_set.rows() == 0 {
        return None;
    }
    let grad_net = net.with_grad_mode(GradMode::Eval);
    let mut ws = Workspace::new();
    let mut x = b.center();
    for _ in 0..config.pgd_starts {
        x.extend(random(&mut rng));
    }
    let rows = x.len() / n.max(1);
    let widths = b.widths();
    let spec = &case.unsafe_set;
    let nout = net.outputs().max(1);
    for step in 0..config.pgd_steps {
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let mut dx = vec![0.0f32; x32.len()];
        grad_net.input_gradient(&x32, rows, &mut ws, &mut rng, &mut dx, |out, d_out| {
            for (y, d) in out.chunks_exact(nout).zip(d_out.chunks_exact_mut(nout)) {
                let vals = spec.eval(&y.iter().map(|&v| v as f64).collect::<Vec<_>>());
                // The margin is the largest row: descend on it.
                let worst = (0..vals.len())
                    .max_by(|&i, &j| vals[i].total_cmp(&vals[j]))
                    .unwrap_or(0);
                for (k, dk) in d.iter_mut().enumerate() {
                    *dk = spec.c[worst * nout + k] as f32;
                }
            }
            0.0
        });
        // Step size: a quarter of the box, shrinking linearly to a hundredth.
        let frac = 0.25 * (1.0 - step as f64 / config.pgd_steps as f64) + 0.01;
        for (i, (xi, gi)) in x.iter_mut().zip(&dx).enumerate() {
            let j = i % n;
            let g = *gi as f64;
            if g != 0.0 {
                *xi = (*xi - frac * widths[j] * g.signum()).clamp(b.lower[j], b.upper[j]);
            }
        }
        if let Some(found) = check_points(net, case, &x) {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_rounding_stays_inside() {
        let (lo, hi) = (0.1f64, 0.1f64 + 1e-7);
        let r = f32_inside(0.1, lo, hi).expect("an f32 in the box");
        assert!((r as f64) >= lo && (r as f64) <= hi);
        assert!(f32_inside(0.1, 0.1 + 1e-12, 0.1 + 2e-12).is_none());
    }
}
