//! CROWN linear bound propagation (Zhang et al., 2018, "Efficient Neural Network Robustness
//! Certification with General Activation Functions").
//!
//! For a stack of dense layers `z_k = W_k a_{k-1} + b_k`, `a_k = f_k(z_k)`, `a_0 = x`, every
//! activation is enclosed between two lines on its pre-activation interval `[l, u]`:
//! `alpha_l z + beta_l <= f(z) <= alpha_u z + beta_u`. A linear objective `C a_L` is then carried
//! back layer by layer (back-substitution): through an activation, each coefficient takes the
//! upper line where it is positive and the lower line where it is negative (for the upper bound;
//! the other way round for the lower bound); through a dense layer it is multiplied by `W`. At the
//! input the objective is a linear function `A x + c` of `x`, maximized/minimized over the box in
//! closed form (`A centre +- |A| radius + c`).
//!
//! Relaxations:
//! - identity: exact; ReLU (and leaky ReLU, negative slope `s`) with `l < 0 < u`: the chord as
//!   upper line, and the adaptive lower line of CROWN: slope 1 when `u >= -l`, else 0 (`s`);
//! - tanh and sigmoid: both lines with the chord's slope `k`; intercepts from the exact maximum
//!   and minimum of `f(z) - k z` on `[l, u]` (at the ends or where `f'(z) = k`, solved in
//!   closed form), padded outward by `1e-12`. Sound on any interval, with no case analysis on
//!   the convex/concave parts.
//!
//! Intermediate (pre-activation) bounds come from CROWN itself, layer by layer, intersected with
//! IBP applied to the previous layer's bounds: both are sound, so the intersection is.
//!
//! Other layers (normalization, GLU, blocks, ...) and other activations are refused with an
//! [`Error::InvalidConfig`] naming them; callers can fall back to [`super::interval::ibp`].

use super::interval::{activation_bounds, affine};
use super::{Bounds, LinearSpec, layer_params};
use crate::kernels::elementwise::{Activation, LEAKY_RELU_SLOPE};
use crate::network::Network;
use crate::{Error, Result};

/// The dense stack CROWN bounds, built by each layer's [`crate::layers::Block::crown`].
#[derive(Debug, Default)]
pub struct CrownStack {
    layers: Vec<DenseF64>,
}

impl CrownStack {
    /// Appends a dense layer `act(W x + b)` (`w` row-major `outputs x inputs`); errors for an
    /// activation without a linear relaxation.
    pub fn push_dense(
        &mut self,
        w: Vec<f64>,
        b: Vec<f64>,
        inputs: usize,
        outputs: usize,
        act: Activation,
    ) -> Result<()> {
        if !matches!(
            act,
            Activation::Identity
                | Activation::Relu
                | Activation::LeakyRelu
                | Activation::Tanh
                | Activation::Sigmoid
        ) {
            return Err(Error::config(
                "verification",
                format!(
                    "CROWN has no relaxation for the '{act}' activation (supported: relu, leaky_relu, tanh, sigmoid, identity); use `method` ibp"
                ),
            ));
        }
        self.layers.push(DenseF64 {
            w,
            b,
            inputs,
            outputs,
            act,
        });
        Ok(())
    }
}

/// One dense layer in `f64`.
#[derive(Debug)]
struct DenseF64 {
    w: Vec<f64>,
    b: Vec<f64>,
    inputs: usize,
    outputs: usize,
    act: Activation,
}

/// Linear bounds `A_lower x + c_lower <= C y + d <= A_upper x + c_upper` over an input box
/// (row-major `rows x inputs`).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearBounds {
    /// Lower coefficients.
    pub a_lower: Vec<f64>,
    /// Lower offsets.
    pub c_lower: Vec<f64>,
    /// Upper coefficients.
    pub a_upper: Vec<f64>,
    /// Upper offsets.
    pub c_upper: Vec<f64>,
    /// Input width.
    pub inputs: usize,
}

impl LinearBounds {
    /// The linear bounds' extremes over a box.
    pub fn concretize(&self, x: &Bounds) -> Bounds {
        let c = x.center();
        let r: Vec<f64> = x.widths().iter().map(|w| 0.5 * w).collect();
        let n = self.inputs;
        let ends = |a: &[f64], off: &[f64], sign: f64| -> Vec<f64> {
            a.chunks_exact(n.max(1))
                .zip(off)
                .map(|(row, o)| {
                    let mut mid = *o;
                    let mut rad = 0.0;
                    for j in 0..n {
                        mid += row[j] * c[j];
                        rad += row[j].abs() * r[j];
                    }
                    mid + sign * rad
                })
                .collect()
        };
        Bounds {
            lower: ends(&self.a_lower, &self.c_lower, -1.0),
            upper: ends(&self.a_upper, &self.c_upper, 1.0),
        }
    }
}

/// Whether CROWN supports this network (dense layers with relu / leaky relu / tanh / sigmoid /
/// identity, and dropout); otherwise the reason.
pub fn check_supported(net: &Network) -> Result<()> {
    dense_stack(net).map(|_| ())
}

fn dense_stack(net: &Network) -> Result<Vec<DenseF64>> {
    let params = layer_params(net);
    let mut stack = CrownStack::default();
    for (layer, p) in net.layers().iter().zip(params) {
        layer.crown(&p, &mut stack)?;
    }
    let out = stack.layers;
    if out.is_empty() {
        return Err(Error::config(
            "verification",
            "the network has no dense layer",
        ));
    }
    Ok(out)
}

/// Lines enclosing an activation on one interval: `(alpha_l, beta_l, alpha_u, beta_u)`.
type Relax = (f64, f64, f64, f64);

/// CROWN's linear relaxation of `act` on `[l, u]`.
pub(crate) fn relaxation(act: Activation, l: f64, u: f64) -> (f64, f64, f64, f64) {
    match act {
        Activation::Relu | Activation::LeakyRelu => {
            let s = if act == Activation::Relu {
                0.0
            } else {
                LEAKY_RELU_SLOPE
            };
            if l >= 0.0 {
                (1.0, 0.0, 1.0, 0.0)
            } else if u <= 0.0 {
                (s, 0.0, s, 0.0)
            } else {
                let k = (u - s * l) / (u - l);
                let lower = if u >= -l { 1.0 } else { s };
                (lower, 0.0, k, u - k * u)
            }
        }
        Activation::Tanh | Activation::Sigmoid => s_shaped(act, l, u),
        _ => (1.0, 0.0, 1.0, 0.0),
    }
}

fn s_shaped(act: Activation, l: f64, u: f64) -> Relax {
    let (fl, fu) = (act.apply(l), act.apply(u));
    if u - l < 1e-12 {
        // Monotone: the constant ends bound it.
        return (0.0, fl - 1e-12, 0.0, fu + 1e-12);
    }
    let k = ((fu - fl) / (u - l)).max(0.0);
    // Points where f'(z) = k (f' is symmetric and unimodal with its peak at 0).
    let roots: Vec<f64> = match act {
        Activation::Tanh => {
            let t = (1.0 - k).max(0.0).sqrt();
            let z = t.atanh();
            vec![z, -z]
        }
        _ => {
            let disc = (1.0 - 4.0 * k).max(0.0).sqrt();
            let s = 0.5 * (1.0 + disc);
            let z = (s / (1.0 - s)).ln();
            vec![z, -z]
        }
    };
    let g = |z: f64| act.apply(z) - k * z;
    let (mut lo, mut hi) = (g(l).min(g(u)), g(l).max(g(u)));
    for z in roots
        .into_iter()
        .filter(|z| z.is_finite() && *z > l && *z < u)
    {
        lo = lo.min(g(z));
        hi = hi.max(g(z));
    }
    let pad = 1e-12 * (1.0 + lo.abs().max(hi.abs()));
    (k, lo - pad, k, hi + pad)
}

/// Back-substitutes `C` from layer `k` (on its pre-activation `z_k`, or on its output `a_k`
/// when `through_activation`) to the input.
fn backsub(
    layers: &[DenseF64],
    relax: &[Vec<Relax>],
    c: &[f64],
    rows: usize,
    k: usize,
    through_activation: bool,
) -> LinearBounds {
    let mut lam_u = c.to_vec();
    let mut lam_l = c.to_vec();
    let mut off_u = vec![0.0; rows];
    let mut off_l = vec![0.0; rows];
    let mut on_output = through_activation;
    let mut j = k;
    loop {
        let layer = &layers[j];
        let n = layer.outputs;
        if on_output {
            for i in 0..rows {
                for p in 0..n {
                    let (al, bl, au, bu) = relax[j][p];
                    let u = lam_u[i * n + p];
                    let (a, b) = if u >= 0.0 { (au, bu) } else { (al, bl) };
                    lam_u[i * n + p] = u * a;
                    off_u[i] += u * b;
                    let l = lam_l[i * n + p];
                    let (a, b) = if l >= 0.0 { (al, bl) } else { (au, bu) };
                    lam_l[i * n + p] = l * a;
                    off_l[i] += l * b;
                }
            }
        }
        // Through z_j = W_j a_{j-1} + b_j.
        let m = layer.inputs;
        let step = |lam: &[f64], off: &mut [f64]| -> Vec<f64> {
            let mut next = vec![0.0; rows * m];
            for i in 0..rows {
                let row = &lam[i * n..(i + 1) * n];
                let out = &mut next[i * m..(i + 1) * m];
                for (p, &v) in row.iter().enumerate() {
                    if v == 0.0 {
                        continue;
                    }
                    off[i] += v * layer.b[p];
                    for (o, &w) in out.iter_mut().zip(&layer.w[p * m..(p + 1) * m]) {
                        *o += v * w;
                    }
                }
            }
            next
        };
        lam_u = step(&lam_u, &mut off_u);
        lam_l = step(&lam_l, &mut off_l);
        if j == 0 {
            return LinearBounds {
                a_lower: lam_l,
                c_lower: off_l,
                a_upper: lam_u,
                c_upper: off_u,
                inputs: m,
            };
        }
        j -= 1;
        on_output = true;
    }
}

/// CROWN linear bounds on `C y + d` (`y` the network output) as functions of the input, valid
/// over `input`.
pub fn crown_linear(net: &Network, input: &Bounds, spec: &LinearSpec) -> Result<LinearBounds> {
    CrownNet::new(net)?.linear(input, spec)
}

/// A network's dense stack in `f64`, prepared once for many bound computations (branch and
/// bound bounds thousands of sub-boxes of one network).
#[derive(Debug)]
pub struct CrownNet {
    layers: Vec<DenseF64>,
    inputs: usize,
    outputs: usize,
}

/// Intermediate results of one box: the relaxation of every activation (all layers but an
/// identity output layer) and the output box.
struct Intermediate {
    relax: Vec<Vec<Relax>>,
    /// Pre-activation bounds of the relaxed layers.
    pre: Vec<Bounds>,
    /// A box holding the outputs (IBP on CROWN-tightened intermediate bounds).
    out_box: Bounds,
}

/// What [`CrownNet::alpha_lower`] found for each row of a specification.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaBounds {
    /// The best lower bound per row: the optimised alpha-CROWN bound, intersected with IBP.
    pub lower: Vec<f64>,
    /// Plain CROWN's lower bound per row (the optimisation's starting point), for comparison.
    pub crown_lower: Vec<f64>,
    /// The input coefficients of each row's best linear lower bound (`rows x inputs`): how much
    /// each input moves the bound (branching uses `|a| x width`).
    pub a_lower: Vec<f64>,
    /// Per row, `max(|lower|, |upper|)` of its IBP bounds: the scale its rounding errors are
    /// measured against.
    pub magnitude: Vec<f64>,
    /// Rows actually bounded (`rows` unless stopped early, see [`CrownNet::alpha_lower`]).
    pub rows_done: usize,
}

impl CrownNet {
    /// Prepares `net` (dense layers with CROWN-supported activations); errors as
    /// [`check_supported`] does.
    pub fn new(net: &Network) -> Result<Self> {
        Ok(CrownNet {
            layers: dense_stack(net)?,
            inputs: net.inputs(),
            outputs: net.outputs(),
        })
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    fn check(&self, input: &Bounds, spec: &LinearSpec) -> Result<()> {
        if input.len() != self.inputs {
            return Err(Error::shape("network input", self.inputs, input.len()));
        }
        if spec.outputs != self.outputs {
            return Err(Error::shape("specification", self.outputs, spec.outputs));
        }
        Ok(())
    }

    fn intermediate(&self, input: &Bounds) -> Intermediate {
        let layers = &self.layers;
        let mut relax: Vec<Vec<Relax>> = Vec::with_capacity(layers.len());
        let mut pre = Vec::with_capacity(layers.len());
        let mut prev_out = input.clone();
        let last = layers.len() - 1;
        for (k, layer) in layers.iter().enumerate() {
            if k == last && layer.act == Activation::Identity {
                let out_box = affine(&layer.w, Some(&layer.b), layer.outputs, &prev_out);
                return Intermediate {
                    relax,
                    pre,
                    out_box,
                };
            }
            let n = layer.outputs;
            let mut eye = vec![0.0; n * n];
            for i in 0..n {
                eye[i * n + i] = 1.0;
            }
            let crown = backsub(layers, &relax, &eye, n, k, false).concretize(input);
            let ibp = affine(&layer.w, Some(&layer.b), n, &prev_out);
            let z = crown.intersect(&ibp);
            relax.push(
                (0..n)
                    .map(|p| relaxation(layer.act, z.lower[p], z.upper[p]))
                    .collect(),
            );
            prev_out = activation_bounds(layer.act, &z);
            pre.push(z);
        }
        Intermediate {
            relax,
            pre,
            out_box: prev_out,
        }
    }

    /// CROWN linear bounds on `C y + d` over `input` (the same as [`crown_linear`]).
    pub fn linear(&self, input: &Bounds, spec: &LinearSpec) -> Result<LinearBounds> {
        self.check(input, spec)?;
        let relax = self.intermediate(input).relax;
        let last = self.layers.len() - 1;
        let through = self.layers[last].act != Activation::Identity;
        let mut lin = backsub(&self.layers, &relax, &spec.c, spec.rows(), last, through);
        for i in 0..spec.rows() {
            lin.c_lower[i] += spec.d[i];
            lin.c_upper[i] += spec.d[i];
        }
        Ok(lin)
    }

    /// alpha-CROWN lower bounds on each row of `C y + d` over `input` (Xu et al., 2021, "Fast and
    /// Complete"): the lower-line slope `alpha` of every unstable ReLU (`l < 0 < u`) may be any
    /// value in `[s, 1]` (`s` the negative slope, 0 for ReLU) and still bound the activation
    /// from below, so each choice gives a sound bound; the slopes are optimised per row by
    /// projected gradient ascent (Adam, `iters` steps, from CROWN's adaptive choice) on the
    /// concretized lower bound, whose exact gradient comes from a reverse pass through the
    /// back-substitution. The best bound seen is kept, so the result is never below CROWN's,
    /// and it is intersected with IBP. Intermediate bounds are CROWN's (not optimised).
    ///
    /// With `stop_above = Some(t)`, a row's optimisation stops once its bound exceeds
    /// `t(row)` = `t * (1 + magnitude)`, and later rows are skipped (`rows_done` says how many
    /// were bounded; the rest get `-inf`): branch and bound only needs one row above zero.
    pub fn alpha_lower(
        &self,
        input: &Bounds,
        spec: &LinearSpec,
        iters: usize,
        stop_above: Option<f64>,
    ) -> Result<AlphaBounds> {
        self.check(input, spec)?;
        let inter = self.intermediate(input);
        let last = self.layers.len() - 1;
        let through = self.layers[last].act != Activation::Identity;
        let ibp_rows = spec.bounds_from_box(&inter.out_box);
        let centre = input.center();
        let rad: Vec<f64> = input.widths().iter().map(|w| 0.5 * w).collect();
        let nout = self.outputs;
        let nin = self.inputs;
        // Free slopes: unstable (leaky) ReLU neurons, with the lowest slope allowed.
        let free: Vec<Vec<Option<f64>>> = inter
            .relax
            .iter()
            .enumerate()
            .map(|(j, r)| {
                let act = self.layers[j].act;
                (0..r.len())
                    .map(|p| {
                        let (l, u) = (inter.pre[j].lower[p], inter.pre[j].upper[p]);
                        match act {
                            Activation::Relu if l < 0.0 && u > 0.0 => Some(0.0),
                            Activation::LeakyRelu if l < 0.0 && u > 0.0 => Some(LEAKY_RELU_SLOPE),
                            _ => None,
                        }
                    })
                    .collect()
            })
            .collect();
        let any_free = free.iter().flatten().any(Option::is_some);
        let rows = spec.rows();
        let mut out = AlphaBounds {
            lower: vec![f64::NEG_INFINITY; rows],
            crown_lower: vec![f64::NEG_INFINITY; rows],
            a_lower: vec![0.0; rows * nin],
            magnitude: (0..rows)
                .map(|i| ibp_rows.lower[i].abs().max(ibp_rows.upper[i].abs()))
                .collect(),
            rows_done: 0,
        };
        for row in 0..rows {
            let c = &spec.c[row * nout..(row + 1) * nout];
            let target = stop_above.map(|t| t * (1.0 + out.magnitude[row]));
            let mut alpha: Vec<Vec<f64>> = inter
                .relax
                .iter()
                .map(|r| r.iter().map(|t| t.0).collect())
                .collect();
            let mut m: Vec<Vec<f64>> = alpha.iter().map(|a| vec![0.0; a.len()]).collect();
            let mut v = m.clone();
            let mut best = f64::NEG_INFINITY;
            let (lr, b1, b2) = (0.1, 0.9, 0.999);
            for it in 0..=iters {
                let (bound, a_in, grads) =
                    self.lower_row(&inter.relax, &alpha, &free, c, &centre, &rad, through);
                let bound = bound + spec.d[row];
                if it == 0 {
                    out.crown_lower[row] = bound;
                }
                if bound > best {
                    best = bound;
                    out.a_lower[row * nin..(row + 1) * nin].copy_from_slice(&a_in);
                }
                if it == iters || !any_free || target.is_some_and(|t| best > t) {
                    break;
                }
                let t = (it + 1) as i32;
                for j in 0..alpha.len() {
                    for p in 0..alpha[j].len() {
                        let Some(lo) = free[j][p] else { continue };
                        let g = grads[j].get(p).copied().unwrap_or(0.0);
                        m[j][p] = b1 * m[j][p] + (1.0 - b1) * g;
                        v[j][p] = b2 * v[j][p] + (1.0 - b2) * g * g;
                        let mh = m[j][p] / (1.0 - b1.powi(t));
                        let vh = v[j][p] / (1.0 - b2.powi(t));
                        // Ascent: the bound is maximised.
                        alpha[j][p] = (alpha[j][p] + lr * mh / (vh.sqrt() + 1e-12)).clamp(lo, 1.0);
                    }
                }
            }
            out.lower[row] = best.max(ibp_rows.lower[row]);
            out.rows_done = row + 1;
            if target.is_some_and(|t| out.lower[row] > t) {
                break;
            }
        }
        Ok(out)
    }

    /// One row's CROWN lower bound with the lower-line slopes `alpha` on free neurons: the
    /// concretized bound, its input coefficients, and the bound's gradient with respect to every
    /// slope (zero where the slope is not used).
    #[allow(clippy::too_many_arguments)]
    fn lower_row(
        &self,
        relax: &[Vec<Relax>],
        alpha: &[Vec<f64>],
        free: &[Vec<Option<f64>>],
        c: &[f64],
        centre: &[f64],
        rad: &[f64],
        through: bool,
    ) -> (f64, Vec<f64>, Vec<Vec<f64>>) {
        let layers = &self.layers;
        let last = layers.len() - 1;
        let mut lam = c.to_vec();
        let mut off = 0.0;
        // Per relaxed layer: the coefficients on its output before the relaxation, and the
        // (slope, intercept) chosen per neuron.
        let mut saved: Vec<Vec<f64>> = vec![Vec::new(); last + 1];
        let mut chosen: Vec<Vec<(f64, f64)>> = vec![Vec::new(); last + 1];
        let mut on_output = through;
        for j in (0..=last).rev() {
            let layer = &layers[j];
            let n = layer.outputs;
            if on_output {
                let ch: Vec<(f64, f64)> = (0..n)
                    .map(|p| {
                        let (al, bl, au, bu) = relax[j][p];
                        if lam[p] >= 0.0 {
                            let a = if free[j][p].is_some() {
                                alpha[j][p]
                            } else {
                                al
                            };
                            (a, bl)
                        } else {
                            (au, bu)
                        }
                    })
                    .collect();
                saved[j] = lam.clone();
                for p in 0..n {
                    off += lam[p] * ch[p].1;
                    lam[p] *= ch[p].0;
                }
                chosen[j] = ch;
            }
            let m = layer.inputs;
            let mut next = vec![0.0; m];
            for (p, &v) in lam.iter().enumerate() {
                if v == 0.0 {
                    continue;
                }
                off += v * layer.b[p];
                for (o, &w) in next.iter_mut().zip(&layer.w[p * m..(p + 1) * m]) {
                    *o += v * w;
                }
            }
            lam = next;
            on_output = true;
        }
        let mut bound = off;
        for q in 0..lam.len() {
            bound += lam[q] * centre[q] - lam[q].abs() * rad[q];
        }
        // Reverse pass: d bound / d (coefficients), from the input up.
        let mut adj: Vec<f64> = (0..lam.len())
            .map(|q| centre[q] - lam[q].signum() * rad[q])
            .collect();
        let mut grads: Vec<Vec<f64>> = vec![Vec::new(); last + 1];
        for j in 0..=last {
            let layer = &layers[j];
            let (n, m) = (layer.outputs, layer.inputs);
            let mut adj_z: Vec<f64> = (0..n)
                .map(|p| {
                    layer.b[p]
                        + layer.w[p * m..(p + 1) * m]
                            .iter()
                            .zip(&adj)
                            .map(|(w, a)| w * a)
                            .sum::<f64>()
                })
                .collect();
            if !chosen[j].is_empty() {
                let mut g = vec![0.0; n];
                for p in 0..n {
                    if free[j][p].is_some() && saved[j][p] >= 0.0 {
                        g[p] = adj_z[p] * saved[j][p];
                    }
                    adj_z[p] = adj_z[p] * chosen[j][p].0 + chosen[j][p].1;
                }
                grads[j] = g;
            }
            adj = adj_z;
        }
        (bound, lam, grads)
    }
}

/// CROWN bounds on `C y + d` over the input box (not intersected with IBP; see
/// [`super::spec_bounds`] for the combination).
pub fn crown_spec(net: &Network, input: &Bounds, spec: &LinearSpec) -> Result<Bounds> {
    Ok(crown_linear(net, input, spec)?.concretize(input))
}

/// CROWN bounds on the outputs over the input box.
pub fn crown(net: &Network, input: &Bounds) -> Result<Bounds> {
    crown_spec(net, input, &LinearSpec::identity(net.outputs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxations_enclose_the_activation() {
        let mut rng = crate::rng::Rng::seed_from(9);
        for act in [
            Activation::Relu,
            Activation::LeakyRelu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Identity,
        ] {
            for _ in 0..500 {
                let l = rng.uniform_f64() * 12.0 - 6.0;
                let u = l + rng.uniform_f64() * 6.0;
                let (al, bl, au, bu) = relaxation(act, l, u);
                for t in 0..=100 {
                    let z = l + (u - l) * t as f64 / 100.0;
                    let f = act.apply(z);
                    assert!(al * z + bl <= f + 1e-12, "{act} [{l},{u}] lower at {z}");
                    assert!(au * z + bu >= f - 1e-12, "{act} [{l},{u}] upper at {z}");
                }
            }
        }
    }

    #[test]
    fn relu_upper_line_is_the_chord() {
        let (al, bl, au, bu) = relaxation(Activation::Relu, -1.0, 3.0);
        assert_eq!((al, bl), (1.0, 0.0));
        assert!((au - 0.75).abs() < 1e-15 && (bu - 0.75).abs() < 1e-15);
        let (al, _, _, _) = relaxation(Activation::Relu, -3.0, 1.0);
        assert_eq!(al, 0.0);
    }

    #[test]
    fn unsupported_layers_are_refused() {
        let net = crate::spec::ModelSpec::mlp(2, &[4], 2, Activation::Gelu, 0.0)
            .build(0)
            .expect("valid");
        let err = crown(&net, &Bounds::point(&[0.0, 0.0])).expect_err("gelu unsupported");
        assert!(err.to_string().contains("gelu"), "{err}");
    }
}
