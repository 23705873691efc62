//! Input-box bisection: refine bounds by splitting the input box into cells, prove a property
//! cell by cell, or find a concrete counterexample.
//!
//! The bounds over a box are the hull of the bounds over the cells of any partition of it, and
//! bounds on a smaller box are tighter, so splitting converges toward the true range.
//!
//! Split rule. [`refine`] splits every cell along its widest coordinate (lowest index on ties),
//! `depth` times, giving `2^depth` cells. [`verify`] splits the cell whose worst lower bound is
//! lowest, along the coordinate with the largest `|gradient| x width`, the gradient being that of
//! the cell's worst property row at the cell centre (taken with the network's input gradient in
//! eval mode): the coordinate along which the property moves most over the cell. When every
//! product is zero it takes the widest coordinate.
//!
//! Counterexamples are searched before any splitting (the box centre, its corners — all of them
//! up to 10 coordinates, else 64 drawn at random —, random points, and signed-gradient descent
//! steps on the worst property row from the centre and random starts) and at the centre of every
//! cell that is not yet proved. A counterexample is always confirmed with the network's own `f32`
//! inference ([`Network::predict`]).

use super::{Bounds, LinearSpec, Method, spec_bounds};
use crate::Result;
use crate::layers::GradMode;
use crate::network::{Network, Workspace};
use crate::rng::Rng;

/// Settings of [`verify`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BisectConfig {
    /// Bound propagation per cell.
    pub method: Method,
    /// How many splits at most before giving up with [`Verdict::Unknown`].
    pub split_budget: usize,
    /// Random points tried as counterexamples before splitting.
    pub samples: usize,
    /// Signed-gradient steps per start point.
    pub attack_steps: usize,
    /// Seed of the random points.
    pub seed: u64,
}

impl Default for BisectConfig {
    fn default() -> Self {
        BisectConfig {
            method: Method::Ibp,
            split_budget: 0,
            samples: 64,
            attack_steps: 10,
            seed: 0,
        }
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every row of the property holds (`> 0`) over the whole box.
    Certified,
    /// A point of the box where some row is `< 0` under the network's `f32` inference.
    Counterexample {
        /// The input (network-input units).
        input: Vec<f64>,
        /// The property rows' values there.
        values: Vec<f64>,
    },
    /// Neither proved nor refuted within the split budget.
    Unknown,
}

impl Verdict {
    /// `certified`, `counterexample` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Certified => "certified",
            Verdict::Counterexample { .. } => "counterexample",
            Verdict::Unknown => "unknown",
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// Bounds on the property rows over the whole box: the hull over the final cells (the
    /// cells processed so far, and those left, when stopped early).
    pub bounds: Bounds,
    /// Splits made.
    pub splits: usize,
}

/// Bounds on `spec` over `input` as the hull over `2^depth` cells (widest-coordinate rule).
pub fn refine(
    net: &Network,
    input: &Bounds,
    spec: &LinearSpec,
    method: Method,
    depth: u32,
) -> Result<Bounds> {
    let mut cells = vec![input.clone()];
    for _ in 0..depth {
        cells = cells
            .into_iter()
            .flat_map(|c| {
                let (a, b) = c.split(widest(&c));
                [a, b]
            })
            .collect();
    }
    let mut hull: Option<Bounds> = None;
    for c in &cells {
        let b = spec_bounds(net, c, spec, method)?;
        hull = Some(match hull {
            None => b,
            Some(h) => h.hull(&b),
        });
    }
    Ok(hull.unwrap_or_else(|| Bounds::point(&[])))
}

fn widest(b: &Bounds) -> usize {
    let w = b.widths();
    let mut best = 0;
    for (i, &v) in w.iter().enumerate() {
        if v > w[best] {
            best = i;
        }
    }
    best
}

fn min_of(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Spec values of the network's `f32` inference at each row of `points` (`n x inputs`).
fn spec_values(net: &Network, spec: &LinearSpec, points: &[f64]) -> Vec<Vec<f64>> {
    let nin = net.inputs().max(1);
    let rows = points.len() / nin;
    let x: Vec<f32> = points.iter().map(|&v| v as f32).collect();
    let y = net.predict(&x, rows);
    y.chunks_exact(net.outputs().max(1))
        .map(|row| spec.eval(&row.iter().map(|&v| v as f64).collect::<Vec<_>>()))
        .collect()
}

/// The first of `points` that violates `spec`, with its values. Points are rounded to `f32`
/// (what the network sees), so the returned input is exactly the one checked.
fn first_violation(
    net: &Network,
    spec: &LinearSpec,
    points: &[f64],
) -> Option<(Vec<f64>, Vec<f64>)> {
    let nin = net.inputs().max(1);
    spec_values(net, spec, points)
        .into_iter()
        .enumerate()
        .find(|(_, v)| min_of(v) < 0.0)
        .map(|(i, v)| {
            let x = points[i * nin..(i + 1) * nin]
                .iter()
                .map(|&p| p as f32 as f64)
                .collect();
            (x, v)
        })
}

/// Gradients of each point's worst spec row (`n x inputs`), in eval mode.
fn worst_row_gradients(
    grad_net: &Network,
    spec: &LinearSpec,
    points: &[f64],
    ws: &mut Workspace<f32>,
    rng: &mut Rng,
) -> Vec<f64> {
    let nin = grad_net.inputs().max(1);
    let nout = grad_net.outputs().max(1);
    let rows = points.len() / nin;
    let x: Vec<f32> = points.iter().map(|&v| v as f32).collect();
    let mut dx = vec![0.0f32; x.len()];
    grad_net.input_gradient(&x, rows, ws, rng, &mut dx, |out, d_out| {
        for (y, d) in out.chunks_exact(nout).zip(d_out.chunks_exact_mut(nout)) {
            let vals = spec.eval(&y.iter().map(|&v| v as f64).collect::<Vec<_>>());
            let worst = (0..vals.len())
                .min_by(|&a, &b| vals[a].total_cmp(&vals[b]))
                .unwrap_or(0);
            for (k, dk) in d.iter_mut().enumerate() {
                *dk = spec.c.get(worst * nout + k).copied().unwrap_or(0.0) as f32;
            }
        }
        0.0
    });
    dx.into_iter().map(|v| v as f64).collect()
}

/// Searches `input` for a counterexample: centre, corners, random points, signed-gradient steps.
pub fn find_counterexample(
    net: &Network,
    input: &Bounds,
    spec: &LinearSpec,
    config: &BisectConfig,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = input.len();
    let mut rng = Rng::seed_from(config.seed);
    let mut points = input.center();
    let corner = |bits: &dyn Fn(usize) -> bool| -> Vec<f64> {
        (0..n)
            .map(|i| {
                if bits(i) {
                    input.upper[i]
                } else {
                    input.lower[i]
                }
            })
            .collect()
    };
    if n <= 10 {
        for m in 0..(1usize << n) {
            points.extend(corner(&|i| m >> i & 1 == 1));
        }
    } else {
        for _ in 0..64 {
            let bits: Vec<bool> = (0..n).map(|_| rng.next_u32() & 1 == 1).collect();
            points.extend(corner(&|i| bits[i]));
        }
    }
    let random_point = |rng: &mut Rng| -> Vec<f64> {
        (0..n)
            .map(|i| input.lower[i] + rng.uniform_f64() * (input.upper[i] - input.lower[i]))
            .collect()
    };
    for _ in 0..config.samples {
        points.extend(random_point(&mut rng));
    }
    if let Some(found) = first_violation(net, spec, &points) {
        return Some(found);
    }
    if config.attack_steps == 0 {
        return None;
    }
    // Signed-gradient descent on the worst row, projected onto the box.
    let grad_net = net.with_grad_mode(GradMode::Eval);
    let mut ws = Workspace::new();
    let mut x = input.center();
    for _ in 0..7 {
        x.extend(random_point(&mut rng));
    }
    let widths = input.widths();
    for step in 0..config.attack_steps {
        let g = worst_row_gradients(&grad_net, spec, &x, &mut ws, &mut rng);
        let size = 0.5 / (1.0 + step as f64);
        for (i, (xi, gi)) in x.iter_mut().zip(&g).enumerate() {
            let d = i % n;
            *xi = (*xi - size * widths[d] * gi.signum()).clamp(input.lower[d], input.upper[d]);
        }
        if let Some(found) = first_violation(net, spec, &x) {
            return Some(found);
        }
    }
    None
}

struct Cell {
    cell: Bounds,
    bounds: Bounds,
    worst: f64,
}

/// Proves `spec > 0` over `input`, refutes it with a counterexample, or gives up after
/// `split_budget` splits (see the module docs for the rules).
pub fn verify(
    net: &Network,
    input: &Bounds,
    spec: &LinearSpec,
    config: &BisectConfig,
) -> Result<Outcome> {
    let first = spec_bounds(net, input, spec, config.method)?;
    if min_of(&first.lower) > 0.0 {
        return Ok(Outcome {
            verdict: Verdict::Certified,
            bounds: first,
            splits: 0,
        });
    }
    if let Some((x, v)) = find_counterexample(net, input, spec, config) {
        return Ok(Outcome {
            verdict: Verdict::Counterexample {
                input: x,
                values: v,
            },
            bounds: first,
            splits: 0,
        });
    }
    let grad_net = net.with_grad_mode(GradMode::Eval);
    let mut ws = Workspace::new();
    let mut rng = Rng::seed_from(config.seed ^ 0x5eed);
    let mut open = vec![Cell {
        worst: min_of(&first.lower),
        cell: input.clone(),
        bounds: first,
    }];
    let mut proved: Option<Bounds> = None;
    let mut splits = 0;
    let hull_with = |acc: Option<Bounds>, b: &Bounds| match acc {
        None => b.clone(),
        Some(h) => h.hull(b),
    };
    loop {
        // The open cell with the lowest worst bound: the one most in the way of a proof.
        let Some(pos) = (0..open.len()).min_by(|&a, &b| open[a].worst.total_cmp(&open[b].worst))
        else {
            let bounds = proved.unwrap_or_else(|| Bounds::point(&[]));
            return Ok(Outcome {
                verdict: Verdict::Certified,
                bounds,
                splits,
            });
        };
        let cur = open.swap_remove(pos);
        let centre = cur.cell.center();
        if let Some((x, v)) = first_violation(net, spec, &centre) {
            let mut bounds = hull_with(proved, &cur.bounds);
            for c in &open {
                bounds = bounds.hull(&c.bounds);
            }
            return Ok(Outcome {
                verdict: Verdict::Counterexample {
                    input: x,
                    values: v,
                },
                bounds,
                splits,
            });
        }
        if splits >= config.split_budget {
            let mut bounds = hull_with(proved, &cur.bounds);
            for c in &open {
                bounds = bounds.hull(&c.bounds);
            }
            return Ok(Outcome {
                verdict: Verdict::Unknown,
                bounds,
                splits,
            });
        }
        let g = worst_row_gradients(&grad_net, spec, &centre, &mut ws, &mut rng);
        let w = cur.cell.widths();
        let mut dim = widest(&cur.cell);
        let mut best = 0.0;
        for i in 0..w.len() {
            let score = g[i].abs() * w[i];
            if score > best {
                best = score;
                dim = i;
            }
        }
        splits += 1;
        let (a, b) = cur.cell.split(dim);
        for cell in [a, b] {
            let bounds = spec_bounds(net, &cell, spec, config.method)?;
            let worst = min_of(&bounds.lower);
            if worst > 0.0 {
                proved = Some(hull_with(proved, &bounds));
            } else {
                open.push(Cell {
                    cell,
                    bounds,
                    worst,
                });
            }
        }
    }
}
