//! Sampled-data closed-loop reachability of a linear plant driven by a network controller
//! ("Reachable Set Estimation for Neural Network Control Systems", 2020, section 11 of the
//! techniques notes).
//!
//! The plant `dx/dt = A x + B u` is discretized exactly over the control period `T` with `u`
//! held constant (zero-order hold): `x_{k+1} = Ad x_k + Bd u_k`, `Ad = e^{A T}`,
//! `Bd = int_0^T e^{A s} ds B`, both read off `exp([[A, B], [0, 0]] T)` (matrix exponential by
//! scaling and squaring of a Taylor series). From a state box `X_k`:
//! - the controller's output over `X_k` is bounded by IBP, or by CROWN linear bounds
//!   `L x + l <= u <= U x + r` (which keep the feedback's dependence on `x`);
//! - `X_{k+1}` is the box image: IBP, `Ad X_k + Bd U_k` in centre/radius interval arithmetic;
//!   CROWN, per state coordinate `i` the linear function `Ad_i x + sum_m Bd_im u_m` with each
//!   `u_m` replaced by its upper or lower line by the sign of `Bd_im`, maximized and minimized
//!   over `X_k` (and intersected with the IBP image, both being sound);
//! - re-boxing at every step wraps (a box's image is a parallelogram, whose box is larger), so
//!   besides the box image each step also carries linear bounds of `x_k` in terms of `x_0`
//!   (symbolic: the next-state lines above with `x_k` replaced by its own lines, by the signs of
//!   the coefficients), concretized over the initial set; `X_{k+1}` is the intersection;
//! - optionally the initial set is bisected into `2^depth` cells (widest coordinate relative to
//!   the initial box), each propagated on its own, and the boxes joined per step.
//!
//! Safety holds when no `X_k` meets the unsafe set. The boxes are sound for the exact-arithmetic
//! controller (the network's weights evaluated in `f64`).

use super::crown::crown_linear;
use super::interval::{affine, ibp};
use super::{Bounds, LinearSpec, Method};
use crate::data::preprocess::TargetEncoder;
use crate::model::Model;
use crate::network::{InferenceScratch, Network};
use crate::{Error, Result};

/// The plant side (linear dynamics, discretization, unsafe sets, the ACC example) lives in
/// [`super::plant`]; re-exported here for the callers that name it through this module.
pub use super::plant::{Acc, Discrete, LinearPlant, UnsafeSet, expm};

/// A network controller with its affine input scaling `s = (x - in_mean) / in_scale` and output
/// decoding `u = z out_scale + out_mean` (a trained regression [`Model`]'s scaler and target
/// encoding).
#[derive(Debug, Clone, PartialEq)]
pub struct Controller {
    /// The network.
    pub network: Network,
    /// Per state coordinate.
    pub in_mean: Vec<f64>,
    /// Per state coordinate (non-zero).
    pub in_scale: Vec<f64>,
    /// Per control coordinate.
    pub out_mean: Vec<f64>,
    /// Per control coordinate (non-zero).
    pub out_scale: Vec<f64>,
    params: Vec<f64>,
}

impl Controller {
    /// A controller from a network and its scalings.
    pub fn new(
        network: Network,
        in_mean: Vec<f64>,
        in_scale: Vec<f64>,
        out_mean: Vec<f64>,
        out_scale: Vec<f64>,
    ) -> Result<Self> {
        if in_mean.len() != network.inputs() || in_scale.len() != network.inputs() {
            return Err(Error::shape(
                "controller input scaling",
                network.inputs(),
                in_mean.len(),
            ));
        }
        if out_mean.len() != network.outputs() || out_scale.len() != network.outputs() {
            return Err(Error::shape(
                "controller output scaling",
                network.outputs(),
                out_mean.len(),
            ));
        }
        if in_scale
            .iter()
            .chain(&out_scale)
            .any(|s| *s == 0.0 || !s.is_finite())
        {
            return Err(Error::config(
                "controller",
                "scales must be finite and non-zero",
            ));
        }
        let params = network.params.iter().map(|&v| v as f64).collect();
        Ok(Controller {
            network,
            in_mean,
            in_scale,
            out_mean,
            out_scale,
            params,
        })
    }

    /// The controller of a trained regression model whose inputs are the plant state (numeric
    /// features only) and whose outputs are the controls.
    pub fn from_model(model: &Model) -> Result<Self> {
        let TargetEncoder::Standardized { mean, scale, .. } = &model.target else {
            return Err(Error::config(
                "controller",
                "a controller must be a regression model (its outputs are the controls)",
            ));
        };
        let (pre_mean, pre_scale): (Vec<f64>, Vec<f64>) = match &model.input {
            crate::model::InputSchema::Tabular { preprocessor } => {
                let mut pm = Vec::new();
                let mut ps = Vec::new();
                for c in &preprocessor.columns {
                    match c {
                        crate::data::preprocess::FeatureColumn::Numeric { mean, scale, .. } => {
                            pm.push(*mean);
                            ps.push(*scale);
                        }
                        crate::data::preprocess::FeatureColumn::Categorical { name, .. } => {
                            return Err(Error::config(
                                "controller",
                                format!("input column '{name}' is categorical; states are numeric"),
                            ));
                        }
                    }
                }
                (pm, ps)
            }
            crate::model::InputSchema::Matrix { value_scale, .. } => {
                let v = value_scale.map_or(1.0, |s| s as f64);
                let n = model.n_features();
                (vec![0.0; n], vec![1.0 / v; n])
            }
        };
        // Raw x -> (x - pm) / ps -> ((.) - sm) / ss  ==  (x - (pm + ps sm)) / (ps ss).
        let n = model.n_features();
        let in_mean = (0..n)
            .map(|j| pre_mean[j] + pre_scale[j] * model.scaler.mean[j] as f64)
            .collect();
        let in_scale = (0..n)
            .map(|j| pre_scale[j] * model.scaler.scale[j] as f64)
            .collect();
        Controller::new(
            model.network.clone(),
            in_mean,
            in_scale,
            mean.clone(),
            scale.clone(),
        )
    }

    /// The network-input box of a state box.
    fn net_box(&self, x: &Bounds) -> Bounds {
        let map = |v: f64, j: usize| (v - self.in_mean[j]) / self.in_scale[j];
        let mut b = x.clone();
        for j in 0..x.len() {
            let (p, q) = (map(x.lower[j], j), map(x.upper[j], j));
            b.lower[j] = p.min(q);
            b.upper[j] = p.max(q);
        }
        b
    }

    /// Controls at a batch of states (`rows x n`), in `f64` (the exact-arithmetic controller).
    pub fn control(&self, states: &[f64], rows: usize) -> Vec<f64> {
        let n = self.in_mean.len();
        let x: Vec<f64> = states[..rows * n]
            .iter()
            .enumerate()
            .map(|(i, &v)| (v - self.in_mean[i % n]) / self.in_scale[i % n])
            .collect();
        let m = self.out_mean.len();
        let mut out = vec![0.0; rows * m];
        let mut scratch = InferenceScratch::default();
        self.network
            .predict_into(&self.params, &x, rows, &mut scratch, &mut out);
        for (i, u) in out.iter_mut().enumerate() {
            *u = *u * self.out_scale[i % m] + self.out_mean[i % m];
        }
        out
    }

    /// IBP bounds on the controls over a state box.
    pub fn control_bounds(&self, x: &Bounds) -> Result<Bounds> {
        let z = ibp(&self.network, &self.net_box(x))?;
        let mut u = z.clone();
        for j in 0..z.len() {
            let (p, q) = (
                z.lower[j] * self.out_scale[j] + self.out_mean[j],
                z.upper[j] * self.out_scale[j] + self.out_mean[j],
            );
            u.lower[j] = p.min(q);
            u.upper[j] = p.max(q);
        }
        Ok(u)
    }

    /// CROWN linear bounds on the controls as functions of the raw state, over a state box:
    /// `(lower_a, lower_c, upper_a, upper_c)`, row-major `m x n`.
    #[allow(clippy::type_complexity)]
    fn linear_control_bounds(
        &self,
        x: &Bounds,
    ) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>)> {
        let m = self.out_mean.len();
        let n = self.in_mean.len();
        let lin = crown_linear(&self.network, &self.net_box(x), &LinearSpec::identity(m))?;
        let (mut la, mut lc, mut ua, mut uc) = (
            vec![0.0; m * n],
            vec![0.0; m],
            vec![0.0; m * n],
            vec![0.0; m],
        );
        for i in 0..m {
            let s = self.out_scale[i];
            // Decoding flips lower and upper when the scale is negative.
            let (lo_a, lo_c, hi_a, hi_c) = if s >= 0.0 {
                (&lin.a_lower, &lin.c_lower, &lin.a_upper, &lin.c_upper)
            } else {
                (&lin.a_upper, &lin.c_upper, &lin.a_lower, &lin.c_lower)
            };
            lc[i] = lo_c[i] * s + self.out_mean[i];
            uc[i] = hi_c[i] * s + self.out_mean[i];
            for j in 0..n {
                // z-coefficient on s_j = (x_j - mean_j) / scale_j.
                let (a_lo, a_hi) = (lo_a[i * n + j] * s, hi_a[i * n + j] * s);
                la[i * n + j] = a_lo / self.in_scale[j];
                lc[i] -= a_lo * self.in_mean[j] / self.in_scale[j];
                ua[i * n + j] = a_hi / self.in_scale[j];
                uc[i] -= a_hi * self.in_mean[j] / self.in_scale[j];
            }
        }
        Ok((la, lc, ua, uc))
    }
}

/// Settings of [`reach`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReachConfig {
    /// Control periods to cover.
    pub steps: usize,
    /// Bounds on the controller.
    pub method: Method,
    /// The initial set is split into `2^depth` cells, each propagated on its own.
    pub depth: u32,
}

/// One period of the reach computation.
#[derive(Debug, Clone, PartialEq)]
pub struct ReachStep {
    /// The state box at the start of the period.
    pub state: Bounds,
    /// Bounds on the control applied during the period.
    pub control: Bounds,
}

/// The reach sets `X_0 .. X_steps` (and the control bounds of each period).
#[derive(Debug, Clone, PartialEq)]
pub struct ReachResult {
    /// One entry per period, then the final state box with an empty control box.
    pub steps: Vec<ReachStep>,
}

impl ReachResult {
    /// The first period whose state box meets the unsafe set, if any.
    pub fn first_unsafe(&self, set: &UnsafeSet) -> Option<usize> {
        self.steps.iter().position(|s| set.intersects(&s.state))
    }
}

/// Image of one state cell: the next-state box and the control box.
fn image(
    plant: &Discrete,
    ctrl: &Controller,
    x: &Bounds,
    method: Method,
) -> Result<(Bounds, Bounds)> {
    let (n, m) = (plant.n, plant.m);
    let u = ctrl.control_bounds(x)?;
    // IBP image: Ad X + Bd U over the joint box (x, u).
    let mut joint_w = vec![0.0; n * (n + m)];
    for i in 0..n {
        joint_w[i * (n + m)..i * (n + m) + n].copy_from_slice(&plant.ad[i * n..(i + 1) * n]);
        joint_w[i * (n + m) + n..(i + 1) * (n + m)].copy_from_slice(&plant.bd[i * m..(i + 1) * m]);
    }
    let joint = Bounds {
        lower: x.lower.iter().chain(&u.lower).copied().collect(),
        upper: x.upper.iter().chain(&u.upper).copied().collect(),
    };
    let ibp_next = affine(&joint_w, None, n, &joint);
    if method == Method::Ibp {
        return Ok((ibp_next, u));
    }
    let (la, lc, ua, uc) = ctrl.linear_control_bounds(x)?;
    let mut lin = super::crown::LinearBounds {
        a_lower: vec![0.0; n * n],
        c_lower: vec![0.0; n],
        a_upper: vec![0.0; n * n],
        c_upper: vec![0.0; n],
        inputs: n,
    };
    for i in 0..n {
        for j in 0..n {
            lin.a_lower[i * n + j] = plant.ad[i * n + j];
            lin.a_upper[i * n + j] = plant.ad[i * n + j];
        }
        for k in 0..m {
            let b = plant.bd[i * m + k];
            let (lo, hi) = if b >= 0.0 {
                ((&la, &lc), (&ua, &uc))
            } else {
                ((&ua, &uc), (&la, &lc))
            };
            lin.c_lower[i] += b * lo.1[k];
            lin.c_upper[i] += b * hi.1[k];
            for j in 0..n {
                lin.a_lower[i * n + j] += b * lo.0[k * n + j];
                lin.a_upper[i * n + j] += b * hi.0[k * n + j];
            }
        }
    }
    Ok((lin.concretize(x).intersect(&ibp_next), u))
}

/// Linear bounds `L x_0 + l <= x_k <= U x_0 + u` on the state in terms of the initial state
/// (row-major `n x n`).
struct Symbolic {
    lo_a: Vec<f64>,
    lo_c: Vec<f64>,
    up_a: Vec<f64>,
    up_c: Vec<f64>,
}

/// Control bounds linear in the state over a box: `(lower_a, lower_c, upper_a, upper_c)`.
#[allow(clippy::type_complexity)]
fn control_lines(
    ctrl: &Controller,
    x: &Bounds,
    method: Method,
) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>)> {
    match method {
        Method::Crown => ctrl.linear_control_bounds(x),
        Method::Ibp => {
            let u = ctrl.control_bounds(x)?;
            let zeros = vec![0.0; u.len() * x.len()];
            Ok((zeros.clone(), u.lower, zeros, u.upper))
        }
    }
}

/// One step of the symbolic bounds: substitutes `x_k`'s bounds into
/// `x_{k+1} = Ad x_k + Bd u`, `u` between its lines.
fn symbolic_step(
    plant: &Discrete,
    sym: &Symbolic,
    lines: &(Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>),
) -> Symbolic {
    let (n, m) = (plant.n, plant.m);
    let (la, lc, ua, uc) = lines;
    let mut next = Symbolic {
        lo_a: vec![0.0; n * n],
        lo_c: vec![0.0; n],
        up_a: vec![0.0; n * n],
        up_c: vec![0.0; n],
    };
    for i in 0..n {
        // Coefficients on x_k of the upper and lower next-state lines.
        let mut cu: Vec<f64> = plant.ad[i * n..(i + 1) * n].to_vec();
        let mut cl = cu.clone();
        let (mut ku, mut kl) = (0.0, 0.0);
        for k in 0..m {
            let b = plant.bd[i * m + k];
            let (hi_a, hi_c, lo_a, lo_c) = if b >= 0.0 {
                (ua, uc, la, lc)
            } else {
                (la, lc, ua, uc)
            };
            ku += b * hi_c[k];
            kl += b * lo_c[k];
            for j in 0..n {
                cu[j] += b * hi_a[k * n + j];
                cl[j] += b * lo_a[k * n + j];
            }
        }
        next.up_c[i] = ku;
        next.lo_c[i] = kl;
        for j in 0..n {
            // x_kj by its upper line where the coefficient is positive, else its lower line.
            let (a_u, c_u) = if cu[j] >= 0.0 {
                (&sym.up_a, sym.up_c[j])
            } else {
                (&sym.lo_a, sym.lo_c[j])
            };
            next.up_c[i] += cu[j] * c_u;
            let (a_l, c_l) = if cl[j] >= 0.0 {
                (&sym.lo_a, sym.lo_c[j])
            } else {
                (&sym.up_a, sym.up_c[j])
            };
            next.lo_c[i] += cl[j] * c_l;
            for q in 0..n {
                next.up_a[i * n + q] += cu[j] * a_u[j * n + q];
                next.lo_a[i * n + q] += cl[j] * a_l[j * n + q];
            }
        }
    }
    next
}

/// Reach sets of one initial cell: each step's box is the intersection of the box image of the
/// previous box and the symbolic bounds in terms of the initial state (which do not suffer the
/// wrapping effect of re-boxing at every step).
fn reach_cell(
    plant: &Discrete,
    ctrl: &Controller,
    initial: &Bounds,
    config: &ReachConfig,
) -> Result<Vec<ReachStep>> {
    let n = plant.n;
    let mut eye = vec![0.0; n * n];
    for i in 0..n {
        eye[i * n + i] = 1.0;
    }
    let mut sym = Symbolic {
        lo_a: eye.clone(),
        lo_c: vec![0.0; n],
        up_a: eye,
        up_c: vec![0.0; n],
    };
    let mut steps = Vec::with_capacity(config.steps + 1);
    let mut x = initial.clone();
    for _ in 0..config.steps {
        let (boxed, u) = image(plant, ctrl, &x, config.method)?;
        let lines = control_lines(ctrl, &x, config.method)?;
        sym = symbolic_step(plant, &sym, &lines);
        let symbolic = super::crown::LinearBounds {
            a_lower: sym.lo_a.clone(),
            c_lower: sym.lo_c.clone(),
            a_upper: sym.up_a.clone(),
            c_upper: sym.up_c.clone(),
            inputs: n,
        }
        .concretize(initial);
        steps.push(ReachStep {
            state: x,
            control: u,
        });
        x = boxed.intersect(&symbolic);
    }
    steps.push(ReachStep {
        state: x,
        control: Bounds::point(&[]),
    });
    Ok(steps)
}

/// Reach sets of the closed loop from `initial` over `config.steps` periods: the initial set is
/// split into `2^depth` cells (widest coordinate relative to the initial box first), each
/// propagated on its own, and the cells' boxes joined per step.
pub fn reach(
    plant: &Discrete,
    ctrl: &Controller,
    initial: &Bounds,
    config: &ReachConfig,
) -> Result<ReachResult> {
    if initial.len() != plant.n || ctrl.in_mean.len() != plant.n {
        return Err(Error::shape("reach state", plant.n, initial.len()));
    }
    if ctrl.out_mean.len() != plant.m {
        return Err(Error::shape("reach control", plant.m, ctrl.out_mean.len()));
    }
    let reference = initial.widths();
    let mut cells = vec![initial.clone()];
    for _ in 0..config.depth {
        cells = cells
            .into_iter()
            .flat_map(|c| {
                let w = c.widths();
                let dim = (0..w.len())
                    .max_by(|&a, &b| {
                        let ra = w[a] / reference[a].max(1e-12);
                        let rb = w[b] / reference[b].max(1e-12);
                        ra.total_cmp(&rb).then(b.cmp(&a))
                    })
                    .unwrap_or(0);
                let (a, b) = c.split(dim);
                [a, b]
            })
            .collect();
    }
    let mut joined: Option<Vec<ReachStep>> = None;
    for c in &cells {
        let steps = reach_cell(plant, ctrl, c, config)?;
        joined = Some(match joined {
            None => steps,
            Some(acc) => acc
                .into_iter()
                .zip(steps)
                .map(|(a, b)| ReachStep {
                    state: a.state.hull(&b.state),
                    control: if a.control.is_empty() {
                        a.control
                    } else {
                        a.control.hull(&b.control)
                    },
                })
                .collect(),
        });
    }
    Ok(ReachResult {
        steps: joined.unwrap_or_default(),
    })
}

/// Simulates the closed loop from each row of `starts` (`rows x n`); returns, per step
/// `0..=steps`, the states (`rows x n`).
pub fn simulate(
    plant: &Discrete,
    ctrl: &Controller,
    starts: &[f64],
    rows: usize,
    steps: usize,
) -> Vec<Vec<f64>> {
    let n = plant.n;
    let m = plant.m;
    let mut x = starts[..rows * n].to_vec();
    let mut out = vec![x.clone()];
    for _ in 0..steps {
        let u = ctrl.control(&x, rows);
        x = (0..rows)
            .flat_map(|r| plant.step(&x[r * n..(r + 1) * n], &u[r * m..(r + 1) * m]))
            .collect();
        out.push(x.clone());
    }
    out
}
