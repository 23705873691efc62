//! Interval bound propagation (IBP): a box of inputs in, a box holding every output out.
//!
//! Rules, per layer kind (inference semantics):
//! - dense: centre/radius form, `c' = W c + b`, `r' = |W| r`, then the activation;
//! - monotone activations (identity, relu, leaky relu, elu, tanh, sigmoid, softplus):
//!   `[f(l), f(u)]`; GELU (tanh form) and SiLU decrease up to one minimum point `z*` and increase
//!   after it, so their image is `[f(z*), max(f(l), f(u))]` when `z*` is inside, exact otherwise;
//! - dropout: identity; batch normalization: the per-feature affine map of its running statistics;
//! - layer normalization: interval arithmetic on `x_j - mean` (exact: it is linear) and on the
//!   variance, intersected with `|x_hat| <= sqrt(d - 1)` (which holds for every row);
//! - GLU: both branches as dense layers, their product by the interval product rule;
//! - residual: `x + F(x)` as the interval sum; recurrent: each integration step in interval
//!   arithmetic (`(1 - dt) h + dt F(h)`, all coefficients non-negative);
//! - embedding, FinalMLP and KAN layers: refused with [`Error::InvalidConfig`] naming the kind
//!   (no sound rule is implemented for them; no unsound bounds are ever returned).

use super::{Bounds, layer_params};
use crate::kernels::elementwise::Activation;
use crate::layers::{Chain, Layer};
use crate::network::Network;
use crate::{Error, Result};

/// IBP bounds on the network's outputs over `input` (network-input units, after any scaling).
///
/// ```
/// use mlp::Activation;
/// use mlp::verify::{Bounds, interval::ibp};
/// let net = mlp::spec::ModelSpec::mlp(2, &[8], 3, Activation::Relu, 0.0).build(1).unwrap();
/// let b = ibp(&net, &Bounds::around(&[0.1, -0.2], &[0.05]).unwrap()).unwrap();
/// let y = net.predict(&[0.1, -0.2], 1);
/// assert!((0..3).all(|k| b.lower[k] <= y[k] as f64 + 1e-5 && y[k] as f64 <= b.upper[k] + 1e-5));
/// ```
pub fn ibp(net: &Network, input: &Bounds) -> Result<Bounds> {
    check_width("network input", net.inputs(), input.len())?;
    let params = layer_params(net);
    let mut b = input.clone();
    for (layer, p) in net.layers().iter().zip(&params) {
        b = layer_bounds(layer, p, &b)?;
    }
    Ok(b)
}

/// IBP bounds after each top-level layer (the input box is not included).
pub fn ibp_per_layer(net: &Network, input: &Bounds) -> Result<Vec<Bounds>> {
    check_width("network input", net.inputs(), input.len())?;
    let params = layer_params(net);
    let mut out = Vec::with_capacity(params.len());
    let mut b = input.clone();
    for (layer, p) in net.layers().iter().zip(&params) {
        b = layer_bounds(layer, p, &b)?;
        out.push(b.clone());
    }
    Ok(out)
}

fn check_width(what: &str, expected: usize, got: usize) -> Result<()> {
    if expected != got {
        return Err(Error::shape(what, expected, got));
    }
    Ok(())
}

/// Bounds through one layer, `params` its slice as `f64`: the layer's own rule
/// ([`crate::layers::Block::interval`]), after checking the input width.
pub fn layer_bounds(layer: &Layer, params: &[f64], x: &Bounds) -> Result<Bounds> {
    check_width(layer.kind(), layer.in_features(), x.len())?;
    layer.interval(params, x)
}

/// Bounds through a chain of layers sharing one parameter slice.
pub fn chain_bounds(chain: &Chain, params: &[f64], x: &Bounds) -> Result<Bounds> {
    let mut off = 0;
    let mut b = x.clone();
    for l in &chain.layers {
        let n = l.n_params();
        b = layer_bounds(l, &params[off..off + n], &b)?;
        off += n;
    }
    Ok(b)
}

/// `a x + b y` for non-negative `a`, `b`.
pub(crate) fn combine(a: f64, x: &Bounds, b: f64, y: &Bounds) -> Bounds {
    Bounds {
        lower: x
            .lower
            .iter()
            .zip(&y.lower)
            .map(|(p, q)| a * p + b * q)
            .collect(),
        upper: x
            .upper
            .iter()
            .zip(&y.upper)
            .map(|(p, q)| a * p + b * q)
            .collect(),
    }
}

/// Interval product.
pub(crate) fn interval_product(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let c = [a.0 * b.0, a.0 * b.1, a.1 * b.0, a.1 * b.1];
    (
        c.iter().copied().fold(f64::INFINITY, f64::min),
        c.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// `W x + b` over a box, `W` row-major `out x in`, in centre/radius form.
pub fn affine(w: &[f64], bias: Option<&[f64]>, out: usize, x: &Bounds) -> Bounds {
    let c = x.center();
    let r: Vec<f64> = x.widths().iter().map(|w| 0.5 * w).collect();
    let n = x.len();
    let mut lower = Vec::with_capacity(out);
    let mut upper = Vec::with_capacity(out);
    for i in 0..out {
        let row = &w[i * n..(i + 1) * n];
        let mut mid = bias.map_or(0.0, |b| b[i]);
        let mut rad = 0.0;
        for j in 0..n {
            mid += row[j] * c[j];
            rad += row[j].abs() * r[j];
        }
        lower.push(mid - rad);
        upper.push(mid + rad);
    }
    Bounds { lower, upper }
}

/// The image of a box under an activation, coordinate by coordinate.
pub fn activation_bounds(act: Activation, z: &Bounds) -> Bounds {
    let mut out = z.clone();
    for j in 0..z.len() {
        let (l, u) = activation_interval(act, z.lower[j], z.upper[j]);
        out.lower[j] = l;
        out.upper[j] = u;
    }
    out
}

/// The image `f([l, u])` of one interval: exact, widened by a few units in the last place for
/// activations built on `exp`/`tanh` (whose floating-point evaluation is monotone only up to
/// rounding).
pub fn activation_interval(act: Activation, l: f64, u: f64) -> (f64, f64) {
    let (lo, hi) = exact_image(act, l, u);
    if matches!(
        act,
        Activation::Identity | Activation::Relu | Activation::LeakyRelu
    ) {
        return (lo, hi);
    }
    let pad = |v: f64| 1e-14 * (1.0 + v.abs());
    (lo - pad(lo), hi + pad(hi))
}

fn exact_image(act: Activation, l: f64, u: f64) -> (f64, f64) {
    if act.is_monotone() {
        return (act.apply(l), act.apply(u));
    }
    let z_min = minimum_point(act);
    let (fl, fu) = (act.apply(l), act.apply(u));
    if u <= z_min {
        (fu, fl)
    } else if l >= z_min {
        (fl, fu)
    } else {
        // The minimum value is known to within rounding; step below it by a hair so the
        // bound stays sound.
        let m = act.apply(z_min);
        (m - 1e-12 * (1.0 + m.abs()), fl.max(fu))
    }
}

/// The single minimum point of GELU (tanh form) or SiLU: where the derivative changes sign,
/// found by bisection on `f'` over `[-3, 0]` (negative at -3, positive at 0 for both).
/// Returns `-inf` for monotone activations.
pub(crate) fn minimum_point(act: Activation) -> f64 {
    if act.is_monotone() {
        return f64::NEG_INFINITY;
    }
    let d = |z: f64| act.derivative(z, act.apply(z));
    let (mut a, mut b) = (-3.0f64, 0.0f64);
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if d(m) < 0.0 {
            a = m;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

/// Layer normalization: `y_j = gamma_j (x_j - mean) / sqrt(var + eps) + beta_j`.
pub fn layer_norm_bounds(params: &[f64], d: usize, eps: f64, x: &Bounds) -> Bounds {
    let (gamma, beta) = params.split_at(d);
    let inv_d = 1.0 / d as f64;
    let sum_l: f64 = x.lower.iter().sum();
    let sum_u: f64 = x.upper.iter().sum();
    // x_j - mean = (1 - 1/d) x_j - (1/d) sum_{k != j} x_k: exact interval (linear, one
    // occurrence of each variable).
    let dev: Vec<(f64, f64)> = (0..d)
        .map(|j| {
            let others_l = sum_l - x.lower[j];
            let others_u = sum_u - x.upper[j];
            (
                (1.0 - inv_d) * x.lower[j] - inv_d * others_u,
                (1.0 - inv_d) * x.upper[j] - inv_d * others_l,
            )
        })
        .collect();
    let sq = |(l, u): (f64, f64)| {
        let lo = if l <= 0.0 && u >= 0.0 {
            0.0
        } else {
            (l * l).min(u * u)
        };
        (lo, (l * l).max(u * u))
    };
    let (mut var_l, mut var_u) = (0.0, 0.0);
    for &iv in &dev {
        let (a, b) = sq(iv);
        var_l += a;
        var_u += b;
    }
    var_l *= inv_d;
    var_u *= inv_d;
    let rstd = (1.0 / (var_u + eps).sqrt(), 1.0 / (var_l + eps).sqrt());
    // |x_j - mean| <= sqrt(d - 1) std for every row, so |x_hat| < sqrt(d - 1).
    let cap = ((d as f64) - 1.0).max(0.0).sqrt();
    let mut out = x.clone();
    for j in 0..d {
        let (l, u) = interval_product(dev[j], rstd);
        let (l, u) = (l.max(-cap), u.min(cap));
        let (p, q) = (gamma[j] * l, gamma[j] * u);
        out.lower[j] = p.min(q) + beta[j];
        out.upper[j] = p.max(q) + beta[j];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_monotone_activations_have_one_minimum() {
        for act in [Activation::Gelu, Activation::Silu] {
            let z = minimum_point(act);
            // Known minimum points: GELU(tanh) ~ -0.7518, SiLU ~ -1.2785.
            let expect = if act == Activation::Gelu {
                -0.7518
            } else {
                -1.2785
            };
            assert!((z - expect).abs() < 1e-3, "{act}: {z}");
            // Decreasing before, increasing after, on a fine grid.
            let mut prev = act.apply(-40.0f64);
            for i in 1..=8000 {
                let t = -40.0 + i as f64 * 0.01;
                let v = act.apply(t);
                if t < z {
                    assert!(v <= prev + 1e-15, "{act} not decreasing at {t}");
                } else if t - 0.01 > z {
                    assert!(v >= prev - 1e-15, "{act} not increasing at {t}");
                }
                prev = v;
            }
        }
    }

    #[test]
    fn activation_intervals_contain_sampled_values() {
        let mut rng = crate::rng::Rng::seed_from(3);
        for act in Activation::ALL {
            for _ in 0..200 {
                let a = rng.uniform_f64() * 8.0 - 4.0;
                let b = a + rng.uniform_f64() * 3.0;
                let (lo, hi) = activation_interval(act, a, b);
                for k in 0..=50 {
                    // Clamped: the grid formula can round past b.
                    let v = act.apply((a + (b - a) * k as f64 / 50.0).min(b));
                    assert!(
                        v >= lo && v <= hi,
                        "{act} [{a}, {b}]: {v} outside [{lo}, {hi}]"
                    );
                }
            }
        }
    }

    #[test]
    fn unsupported_layers_are_refused_by_name() {
        let spec = crate::spec::ModelSpec {
            inputs: 3,
            layers: vec![
                crate::spec::LayerSpec::Embedding {
                    fields: vec![1, 1, 1],
                    dim: 2,
                },
                crate::spec::LayerSpec::dense(2, Activation::Identity),
            ],
        };
        let net = spec.build(0).expect("valid spec");
        let err = ibp(&net, &Bounds::point(&[0.0; 3])).expect_err("embedding unsupported");
        assert!(err.to_string().contains("embedding"), "{err}");
    }
}
