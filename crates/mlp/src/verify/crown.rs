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
    let layers = dense_stack(net)?;
    if input.len() != net.inputs() {
        return Err(Error::shape("network input", net.inputs(), input.len()));
    }
    if spec.outputs != net.outputs() {
        return Err(Error::shape("specification", net.outputs(), spec.outputs));
    }
    let mut relax: Vec<Vec<Relax>> = Vec::with_capacity(layers.len());
    let mut prev_out = input.clone();
    let last = layers.len() - 1;
    for (k, layer) in layers.iter().enumerate() {
        if k == last && layer.act == Activation::Identity {
            break;
        }
        let n = layer.outputs;
        let mut eye = vec![0.0; n * n];
        for i in 0..n {
            eye[i * n + i] = 1.0;
        }
        let crown = backsub(&layers, &relax, &eye, n, k, false).concretize(input);
        let ibp = affine(&layer.w, Some(&layer.b), n, &prev_out);
        let z = crown.intersect(&ibp);
        relax.push(
            (0..n)
                .map(|p| relaxation(layer.act, z.lower[p], z.upper[p]))
                .collect(),
        );
        prev_out = activation_bounds(layer.act, &z);
    }
    let through = layers[last].act != Activation::Identity;
    let mut lin = backsub(&layers, &relax, &spec.c, spec.rows(), last, through);
    for i in 0..spec.rows() {
        lin.c_lower[i] += spec.d[i];
        lin.c_upper[i] += spec.d[i];
    }
    Ok(lin)
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
