//! Physics-informed MLPs (Raissi et al. 2019; the MLP-PINN baseline of "PhysicsFormer").
//!
//! A tanh MLP `u(x0, x1)` of two inputs is trained on `mean(r^2)` at collocation points, `r`
//! the PDE residual, plus `mean((u - g)^2)` at initial/boundary points. The residual needs
//! `u`, `u_0`, `u_1`, `u_00`, `u_11` (input derivatives up to second order): a hand-written
//! forward-mode second-order pass carries these five *streams* through every layer as one
//! `5 P x width` matrix (`z = W h + b` on the value stream, `z_i = W h_i`, `z_ii = W h_ii`;
//! `a = tanh z`, `a_i = s1 z_i`, `a_ii = s1 z_ii + s2 z_i^2` with `s1 = tanh'`, `s2 = tanh''`).
//! Its reverse pass ([`PinnNet::loss_grad`]) runs back through those recurrences
//! (`z̄_ii = ā_ii s1`, `z̄_i = ā_i s1 + 2 ā_ii s2 z_i`,
//! `z̄ = ā s1 + sum_i (ā_i s2 z_i + ā_ii (s2 z_ii + s3 z_i^2))`), so each product is a GEMM and
//! the weights' gradient comes in one sweep; it is checked against `f64` central differences.
//! The streams agree with [`crate::jet`] (tested): jets are the general tool, this pass the
//! trainable special case.
//!
//! Training: full-batch Adam, then L-BFGS in `f64` (the engine's [`crate::optim::lbfgs`] steps
//! `f32` parameters, whose rounding stalls the line search once the loss is near 1e-6). The
//! result is an ordinary regression model (inputs named by the example, output `u`) that
//! `mlp predict` evaluates.

use super::burgers::BurgersReference;
use crate::data::preprocess::{FeatureColumn, Preprocessor, TargetEncoder};
use crate::kernels::{Transpose, gemm};
use crate::loss::Loss;
use crate::model::{InputSchema, Model, Scaler, Task};
use crate::rng::Rng;
use crate::spec::ModelSpec;
use crate::{Activation, Error, Result};
use std::collections::VecDeque;
use std::f64::consts::PI;

/// Initial/boundary points with their prescribed values.
type DataPoints = Vec<([f64; 2], f64)>;

/// Number of derivative streams: `u, u_0, u_1, u_00, u_11`.
const STREAMS: usize = 5;

/// A built-in PDE problem on a rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Example {
    /// Viscous Burgers `u_t + u u_x - nu u_xx = 0`, `nu = 0.01/pi`, `x in [-1, 1]`, `t in [0,
    /// 1]`, `u(0, x) = -sin(pi x)`, `u(t, +-1) = 0`. Inputs `x`, `t`.
    Burgers,
    /// Heat `u_t = alpha u_xx`, `alpha = 0.1`, same domain, `u(0, x) = sin(pi x)`, zero
    /// boundary: `u = exp(-alpha pi^2 t) sin(pi x)`. Inputs `x`, `t`.
    Heat,
    /// Poisson `u_xx + u_yy = -2 pi^2 sin(pi x) sin(pi y)` on `[-1, 1]^2`, zero boundary:
    /// `u = sin(pi x) sin(pi y)`. Inputs `x`, `y`.
    Poisson,
}

/// Burgers' viscosity.
pub const BURGERS_NU: f64 = 0.01 / PI;
/// The heat example's diffusivity.
pub const HEAT_ALPHA: f64 = 0.1;

impl std::str::FromStr for Example {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "burgers" => Ok(Example::Burgers),
            "heat" => Ok(Example::Heat),
            "poisson" => Ok(Example::Poisson),
            _ => Err(Error::config(
                "example",
                format!("unknown PDE example '{s}'; use burgers, heat or poisson"),
            )),
        }
    }
}

impl Example {
    /// The example's name.
    pub fn name(self) -> &'static str {
        match self {
            Example::Burgers => "burgers",
            Example::Heat => "heat",
            Example::Poisson => "poisson",
        }
    }

    /// Input names (the model file's feature names).
    pub fn inputs(self) -> [&'static str; 2] {
        match self {
            Example::Poisson => ["x", "y"],
            _ => ["x", "t"],
        }
    }

    /// `[lo0, hi0, lo1, hi1]`.
    fn domain(self) -> [f64; 4] {
        match self {
            Example::Poisson => [-1.0, 1.0, -1.0, 1.0],
            _ => [-1.0, 1.0, 0.0, 1.0],
        }
    }

    /// Residual `r` at point `p` from the streams `s = [u, u_0, u_1, u_00, u_11]`, and `dr/ds`.
    fn residual(self, p: [f64; 2], s: [f64; STREAMS]) -> (f64, [f64; STREAMS]) {
        let [u, u0, u1, u00, u11] = s;
        match self {
            Example::Burgers => (
                u1 + u * u0 - BURGERS_NU * u00,
                [u0, u, 1.0, -BURGERS_NU, 0.0],
            ),
            Example::Heat => (u1 - HEAT_ALPHA * u00, [0.0, 0.0, 1.0, -HEAT_ALPHA, 0.0]),
            Example::Poisson => {
                let f = -2.0 * PI * PI * (PI * p[0]).sin() * (PI * p[1]).sin();
                (u00 + u11 - f, [0.0, 0.0, 0.0, 1.0, 1.0])
            }
        }
    }

    /// Initial/boundary value at a data point.
    fn boundary_value(self, p: [f64; 2]) -> f64 {
        match self {
            Example::Burgers if p[1] == 0.0 => -(PI * p[0]).sin(),
            Example::Heat if p[1] == 0.0 => (PI * p[0]).sin(),
            _ => 0.0,
        }
    }

    /// The exact solution (heat, Poisson) or the Cole-Hopf reference (Burgers).
    pub fn solution(self) -> Box<dyn Fn(f64, f64) -> f64> {
        match self {
            Example::Burgers => {
                let r = BurgersReference::new(BURGERS_NU, 4000);
                Box::new(move |x, t| r.u(x, t))
            }
            Example::Heat => Box::new(|x, t| (-HEAT_ALPHA * PI * PI * t).exp() * (PI * x).sin()),
            Example::Poisson => Box::new(|x, y| (PI * x).sin() * (PI * y).sin()),
        }
    }

    /// Collocation points (uniform in the domain) and initial/boundary points with their
    /// values: `n` interior points, `nb` on the initial line and the two sides (Poisson: the
    /// four sides).
    fn points(self, n: usize, nb: usize, rng: &mut Rng) -> (Vec<[f64; 2]>, DataPoints) {
        let [a0, b0, a1, b1] = self.domain();
        let mut u = || rng.uniform_f64();
        let interior = (0..n)
            .map(|_| [a0 + (b0 - a0) * u(), a1 + (b1 - a1) * u()])
            .collect();
        let mut data = Vec::with_capacity(nb);
        for i in 0..nb {
            let r = u();
            let p = match (self, i % 4) {
                (Example::Poisson, 0) => [a0, a1 + (b1 - a1) * r],
                (Example::Poisson, 1) => [b0, a1 + (b1 - a1) * r],
                (Example::Poisson, 2) => [a0 + (b0 - a0) * r, a1],
                (Example::Poisson, _) => [a0 + (b0 - a0) * r, b1],
                // Half the data points on the initial line, a quarter on each side.
                (_, 0 | 1) => [a0 + (b0 - a0) * r, a1],
                (_, 2) => [a0, a1 + (b1 - a1) * r],
                (_, _) => [b0, a1 + (b1 - a1) * r],
            };
            data.push((p, self.boundary_value(p)));
        }
        (interior, data)
    }
}

/// A tanh MLP `R^2 -> R` over a flat `f64` parameter vector laid out as the engine's dense
/// layers (`W: out x in` row-major, then `b`, layer after layer).
#[derive(Debug, Clone)]
pub struct PinnNet {
    /// Widths, input (2) to output (1).
    pub widths: Vec<usize>,
}

/// Saved forward state for one batch.
struct Tape {
    /// Per layer: input streams `H` (`5P x w_in`), pre-activations `Z` and outputs `A`
    /// (`5P x w_out`).
    h: Vec<Vec<f64>>,
    z: Vec<Vec<f64>>,
    a: Vec<f64>,
}

impl PinnNet {
    /// The network of the given hidden widths.
    pub fn new(hidden: &[usize]) -> Self {
        let mut widths = vec![2];
        widths.extend_from_slice(hidden);
        widths.push(1);
        PinnNet { widths }
    }

    /// Number of parameters.
    pub fn n_params(&self) -> usize {
        self.widths.windows(2).map(|w| w[1] * w[0] + w[1]).sum()
    }

    /// The five streams at each point: `[P][u, u_0, u_1, u_00, u_11]`.
    pub fn streams(&self, params: &[f64], points: &[[f64; 2]]) -> Vec<[f64; STREAMS]> {
        let p = points.len();
        let tape = self.forward(params, points);
        (0..p)
            .map(|i| std::array::from_fn(|s| tape.a[s * p + i]))
            .collect()
    }

    fn forward(&self, params: &[f64], points: &[[f64; 2]]) -> Tape {
        let p = points.len();
        let rows = STREAMS * p;
        // Input streams: value = the point, d/dx_i = e_i, second derivatives 0.
        let mut h = vec![0.0; rows * 2];
        for (i, q) in points.iter().enumerate() {
            h[i * 2] = q[0];
            h[i * 2 + 1] = q[1];
            h[(p + i) * 2] = 1.0;
            h[(2 * p + i) * 2 + 1] = 1.0;
        }
        let (mut hs, mut zs) = (Vec::new(), Vec::new());
        let mut off = 0;
        let n_layers = self.widths.len() - 1;
        for l in 0..n_layers {
            let (wi, wo) = (self.widths[l], self.widths[l + 1]);
            let w = &params[off..off + wo * wi];
            let b = &params[off + wo * wi..off + wo * wi + wo];
            off += wo * wi + wo;
            let mut z = vec![0.0; rows * wo];
            gemm(
                Transpose::No,
                Transpose::Yes,
                rows,
                wo,
                wi,
                1.0,
                &h,
                w,
                0.0,
                &mut z,
            );
            for row in z[..p * wo].chunks_exact_mut(wo) {
                for (v, &bj) in row.iter_mut().zip(b) {
                    *v += bj;
                }
            }
            let a = if l + 1 < n_layers {
                let mut a = vec![0.0; rows * wo];
                for k in 0..p * wo {
                    let t = z[k].tanh();
                    let s1 = 1.0 - t * t;
                    let s2 = -2.0 * t * s1;
                    a[k] = t;
                    for d in 0..2 {
                        let zi = z[(1 + d) * p * wo + k];
                        a[(1 + d) * p * wo + k] = s1 * zi;
                        a[(3 + d) * p * wo + k] = s1 * z[(3 + d) * p * wo + k] + s2 * zi * zi;
                    }
                }
                a
            } else {
                z.clone()
            };
            hs.push(std::mem::replace(&mut h, a));
            zs.push(z);
        }
        Tape { h: hs, z: zs, a: h }
    }

    /// The loss `mean_r(r^2) + mean_d((u - g)^2)` and its gradient in the parameters (written
    /// to `grad`).
    pub fn loss_grad(
        &self,
        example: Example,
        params: &[f64],
        interior: &[[f64; 2]],
        data: &[([f64; 2], f64)],
        grad: &mut [f64],
    ) -> f64 {
        let mut points = interior.to_vec();
        points.extend(data.iter().map(|d| d.0));
        let p = points.len();
        let tape = self.forward(params, &points);
        // Output adjoints (width 1), stream-major.
        let mut abar = vec![0.0; STREAMS * p];
        let mut loss = 0.0;
        let (nr, nd) = (interior.len().max(1) as f64, data.len().max(1) as f64);
        for (i, q) in interior.iter().enumerate() {
            let s = std::array::from_fn(|k| tape.a[k * p + i]);
            let (r, dr) = example.residual(*q, s);
            loss += r * r / nr;
            for k in 0..STREAMS {
                abar[k * p + i] = 2.0 * r * dr[k] / nr;
            }
        }
        for (j, (_, g)) in data.iter().enumerate() {
            let i = interior.len() + j;
            let e = tape.a[i] - g;
            loss += e * e / nd;
            abar[i] = 2.0 * e / nd;
        }
        self.backward(params, &tape, p, abar, grad);
        loss
    }

    fn backward(
        &self,
        params: &[f64],
        tape: &Tape,
        p: usize,
        mut abar: Vec<f64>,
        grad: &mut [f64],
    ) {
        let rows = STREAMS * p;
        let n_layers = self.widths.len() - 1;
        let mut offs = Vec::with_capacity(n_layers);
        let mut off = 0;
        for l in 0..n_layers {
            offs.push(off);
            off += self.widths[l + 1] * self.widths[l] + self.widths[l + 1];
        }
        for l in (0..n_layers).rev() {
            let (wi, wo) = (self.widths[l], self.widths[l + 1]);
            let z = &tape.z[l];
            // zbar from abar through the activation recurrences.
            let zbar = if l + 1 < n_layers {
                let mut zb = vec![0.0; rows * wo];
                for k in 0..p * wo {
                    let t = z[k].tanh();
                    let s1 = 1.0 - t * t;
                    let s2 = -2.0 * t * s1;
                    let s3 = -2.0 * s1 * s1 + 4.0 * t * t * s1;
                    let mut v = abar[k] * s1;
                    for d in 0..2 {
                        let (i1, i2) = ((1 + d) * p * wo + k, (3 + d) * p * wo + k);
                        let (zi, zii) = (z[i1], z[i2]);
                        let (ai, aii) = (abar[i1], abar[i2]);
                        zb[i2] = aii * s1;
                        zb[i1] = ai * s1 + 2.0 * aii * s2 * zi;
                        v += ai * s2 * zi + aii * (s2 * zii + s3 * zi * zi);
                    }
                    zb[k] = v;
                }
                zb
            } else {
                abar
            };
            let o = offs[l];
            let h = &tape.h[l];
            gemm(
                Transpose::Yes,
                Transpose::No,
                wo,
                wi,
                rows,
                1.0,
                &zbar,
                h,
                0.0,
                &mut grad[o..o + wo * wi],
            );
            let gb = &mut grad[o + wo * wi..o + wo * wi + wo];
            gb.fill(0.0);
            for row in zbar[..p * wo].chunks_exact(wo) {
                for (g, &v) in gb.iter_mut().zip(row) {
                    *g += v;
                }
            }
            if l > 0 {
                let w = &params[o..o + wo * wi];
                let mut hbar = vec![0.0; rows * wi];
                gemm(
                    Transpose::No,
                    Transpose::No,
                    rows,
                    wi,
                    wo,
                    1.0,
                    &zbar,
                    w,
                    0.0,
                    &mut hbar,
                );
                abar = hbar;
            } else {
                abar = Vec::new();
            }
        }
    }
}

/// Settings of a PINN run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PinnConfig {
    /// The problem.
    pub example: Example,
    /// Hidden widths (default 8 layers of 20, Raissi et al.'s Burgers network).
    pub hidden: Vec<usize>,
    /// Full-batch Adam steps before L-BFGS.
    pub epochs: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// L-BFGS iterations.
    pub lbfgs_iters: usize,
    /// Interior collocation points.
    pub collocation: usize,
    /// Initial/boundary points.
    pub boundary: usize,
    /// Seed of the initialization and the points.
    pub seed: u64,
}

impl PinnConfig {
    /// Defaults for `example`: 2-20x8-1 tanh, 1000 Adam steps at 1e-3, 2000 L-BFGS iterations,
    /// 4000 collocation and 200 boundary points, seed 0.
    pub fn new(example: Example) -> Self {
        PinnConfig {
            example,
            hidden: vec![20; 8],
            epochs: 1000,
            lr: 1e-3,
            lbfgs_iters: 2000,
            collocation: 4000,
            boundary: 200,
            seed: 0,
        }
    }
}

/// What a PINN run measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PinnReport {
    /// The example's name.
    pub example: String,
    /// Loss after Adam.
    pub adam_loss: f64,
    /// Final loss.
    pub loss: f64,
    /// L-BFGS iterations taken (fewer than asked when it converged).
    pub lbfgs_iterations: usize,
    /// Relative L2 error `|u - u_ref| / |u_ref|` on a 201 x 101 grid against the exact solution
    /// (Burgers: the Cole-Hopf reference).
    pub rel_l2: f64,
    /// RMS of the PDE residual on fresh collocation points.
    pub residual_rms: f64,
    /// Wall time of training, seconds.
    pub seconds: f64,
}

/// Trains a PINN; returns the model (inputs named by [`Example::inputs`], output `u`) and the
/// report.
pub fn train_pinn(config: &PinnConfig) -> Result<(Model, PinnReport)> {
    if config.hidden.is_empty() || config.hidden.contains(&0) {
        return Err(Error::config(
            "hidden",
            "a PINN needs hidden layers of width >= 1",
        ));
    }
    if config.collocation == 0 || config.boundary == 0 {
        return Err(Error::config(
            "collocation",
            "a PINN needs collocation and boundary points",
        ));
    }
    if !(config.lr > 0.0 && config.lr.is_finite()) {
        return Err(Error::config("lr", "must be a positive number"));
    }
    let start = std::time::Instant::now();
    let ex = config.example;
    let spec = ModelSpec::mlp(2, &config.hidden, 1, Activation::Tanh, 0.0);
    let mut network = spec.build(config.seed)?;
    let net = PinnNet::new(&config.hidden);
    let mut params: Vec<f64> = network.params().iter().map(|&v| v as f64).collect();
    let mut rng = Rng::seed_from(config.seed ^ 0x9e37_79b9);
    let (interior, data) = ex.points(config.collocation, config.boundary, &mut rng);
    let n = params.len();
    let mut grad = vec![0.0; n];
    // Adam (full batch).
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let mut loss = f64::NAN;
    for t in 1..=config.epochs {
        loss = net.loss_grad(ex, &params, &interior, &data, &mut grad);
        let (c1, c2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
        for i in 0..n {
            m[i] = b1 * m[i] + (1.0 - b1) * grad[i];
            v[i] = b2 * v[i] + (1.0 - b2) * grad[i] * grad[i];
            params[i] -= config.lr * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
        }
    }
    let adam_loss = if config.epochs > 0 {
        net.loss_grad(ex, &params, &interior, &data, &mut grad)
    } else {
        loss
    };
    let mut lbfgs = Lbfgs64::new(50);
    let mut its = 0;
    let mut f = adam_loss;
    for _ in 0..config.lbfgs_iters {
        let mut obj = |x: &[f64], g: &mut [f64]| net.loss_grad(ex, x, &interior, &data, g);
        match lbfgs.step(&mut params, &mut obj) {
            Some(v) => f = v,
            None => break,
        }
        its += 1;
    }
    if !f.is_finite() {
        return Err(Error::config(
            "lr",
            "PINN training diverged (non-finite loss); lower the learning rate",
        ));
    }
    let seconds = start.elapsed().as_secs_f64();
    // Scores.
    let exact = ex.solution();
    let [a0, b0, a1, b1] = ex.domain();
    let mut grid = Vec::new();
    for i in 0..201 {
        for j in 0..101 {
            grid.push([
                a0 + (b0 - a0) * i as f64 / 200.0,
                a1 + (b1 - a1) * j as f64 / 100.0,
            ]);
        }
    }
    let pred = net.streams(&params, &grid);
    let (mut num, mut den) = (0.0, 0.0);
    for (q, s) in grid.iter().zip(&pred) {
        let e = exact(q[0], q[1]);
        num += (s[0] - e).powi(2);
        den += e * e;
    }
    let (fresh, _) = ex.points(2000, 0, &mut Rng::seed_from(config.seed ^ 0xabcdef));
    let res: f64 = net
        .streams(&params, &fresh)
        .iter()
        .zip(&fresh)
        .map(|(s, q)| ex.residual(*q, *s).0.powi(2))
        .sum::<f64>()
        / fresh.len() as f64;
    network.set_params(params.iter().map(|&v| v as f32).collect())?;
    let names = ex.inputs();
    let preprocessor = Preprocessor {
        columns: names
            .iter()
            .map(|n| FeatureColumn::Numeric {
                name: n.to_string(),
                mean: 0.0,
                scale: 1.0,
                fill: None,
            })
            .collect(),
        n_features: 2,
        feature_names: names.iter().map(|n| n.to_string()).collect(),
    };
    let model = Model::new(
        network,
        Task::Regression,
        InputSchema::Tabular { preprocessor },
        Scaler::identity(2),
        TargetEncoder::Standardized {
            names: vec!["u".into()],
            mean: vec![0.0],
            scale: vec![1.0],
        },
        Loss::Mse,
    )?;
    Ok((
        model,
        PinnReport {
            example: ex.name().into(),
            adam_loss,
            loss: f,
            lbfgs_iterations: its,
            rel_l2: (num / den.max(1e-300)).sqrt(),
            residual_rms: res.sqrt(),
            seconds,
        },
    ))
}

/// L-BFGS on `f64` parameters: two-loop recursion over the last `history` pairs, backtracking
/// Armijo line search from a unit step (the engine's [`crate::optim::lbfgs::Lbfgs`] rule, in
/// double precision).
struct Lbfgs64 {
    history: usize,
    pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)>,
    first: bool,
}

impl Lbfgs64 {
    fn new(history: usize) -> Self {
        Lbfgs64 {
            history,
            pairs: VecDeque::new(),
            first: true,
        }
    }

    /// One iteration; `None` when no step decreases the objective (converged or stuck).
    fn step(
        &mut self,
        x: &mut [f64],
        objective: &mut dyn FnMut(&[f64], &mut [f64]) -> f64,
    ) -> Option<f64> {
        let n = x.len();
        let mut g = vec![0.0; n];
        let f0 = objective(x, &mut g);
        let gnorm = dot(&g, &g).sqrt();
        if !f0.is_finite() || gnorm == 0.0 {
            return None;
        }
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(self.pairs.len());
        for (s, y, rho) in self.pairs.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        if let Some((s, y, _)) = self.pairs.back() {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for ((s, y, rho), a) in self.pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut d: Vec<f64> = q.into_iter().map(|v| -v).collect();
        let mut gd = dot(&g, &d);
        if gd >= 0.0 {
            self.pairs.clear();
            d = g.iter().map(|v| -v).collect();
            gd = -gnorm * gnorm;
        }
        let mut step = if self.first { 1e-2 / gnorm } else { 1.0 };
        self.first = false;
        let mut trial = vec![0.0; n];
        let mut tg = vec![0.0; n];
        for _ in 0..30 {
            for i in 0..n {
                trial[i] = x[i] + step * d[i];
            }
            let f1 = objective(&trial, &mut tg);
            if f1.is_finite() && f1 <= f0 + 1e-4 * step * gd {
                let s: Vec<f64> = (0..n).map(|i| trial[i] - x[i]).collect();
                let y: Vec<f64> = (0..n).map(|i| tg[i] - g[i]).collect();
                let sy = dot(&s, &y);
                if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() && sy > 0.0 {
                    if self.pairs.len() == self.history {
                        self.pairs.pop_front();
                    }
                    self.pairs.push_back((s, y, 1.0 / sy));
                }
                x.copy_from_slice(&trial);
                return Some(f1);
            }
            step *= 0.5;
        }
        None
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> (PinnNet, Vec<f64>) {
        let net = PinnNet::new(&[5, 4]);
        let mut rng = Rng::seed_from(3);
        let p = (0..net.n_params())
            .map(|_| rng.uniform_f64() * 1.6 - 0.8)
            .collect();
        (net, p)
    }

    /// The five streams equal the generic jets of the same network.
    #[test]
    fn streams_match_jets() {
        let (net, p) = small();
        let mut network = ModelSpec::mlp(2, &[5, 4], 1, Activation::Tanh, 0.0)
            .build(0)
            .expect("net");
        network
            .params_mut()
            .copy_from_slice(&p.iter().map(|&v| v as f32).collect::<Vec<_>>());
        let pf: Vec<f64> = network.params().iter().map(|&v| v as f64).collect();
        let q = [0.3, -0.6];
        let s = net.streams(&pf, &[q])[0];
        for (d, e) in [(0, [1.0, 0.0]), (1, [0.0, 1.0])] {
            let j = network.jet(&q, &e, 2).expect("jet");
            assert!((j[0][0] - s[0]).abs() < 1e-12);
            assert!((j[0][1] - s[1 + d]).abs() < 1e-12);
            assert!((j[0][2] - s[3 + d]).abs() < 1e-12);
        }
    }

    /// The weights' gradient through the second-order recurrences against central differences.
    #[test]
    fn loss_gradient_matches_finite_differences() {
        let (net, p) = small();
        let mut rng = Rng::seed_from(5);
        for ex in [Example::Burgers, Example::Poisson] {
            let (interior, data) = ex.points(7, 4, &mut rng);
            let mut g = vec![0.0; p.len()];
            net.loss_grad(ex, &p, &interior, &data, &mut g);
            let mut scratch = vec![0.0; p.len()];
            for i in (0..p.len()).step_by(3) {
                let h = 1e-6;
                let mut q = p.clone();
                q[i] += h;
                let fp = net.loss_grad(ex, &q, &interior, &data, &mut scratch);
                q[i] -= 2.0 * h;
                let fm = net.loss_grad(ex, &q, &interior, &data, &mut scratch);
                let fd = (fp - fm) / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() <= 1e-6 * (1.0 + fd.abs()),
                    "{ex:?} param {i}: {} vs {fd}",
                    g[i]
                );
            }
        }
    }

    /// The heat equation at test size: a loose error bound, in seconds.
    #[test]
    fn heat_pinn_learns_the_solution() {
        let mut c = PinnConfig::new(Example::Heat);
        c.hidden = vec![12, 12];
        c.epochs = 200;
        c.lr = 1e-2;
        c.lbfgs_iters = 150;
        c.collocation = 200;
        c.boundary = 60;
        let (model, report) = train_pinn(&c).expect("train");
        assert!(report.rel_l2 < 0.05, "{report:?}");
        assert!(report.loss < report.adam_loss);
        // The model file's function is the trained one.
        let y = model.predict_values(&[0.5, 0.2], 1).expect("predict");
        let exact = (-HEAT_ALPHA * PI * PI * 0.2).exp() * (PI * 0.5).sin();
        assert!((y[0] as f64 - exact).abs() < 0.05, "{} vs {exact}", y[0]);
    }
}
