//! Elementwise passes fused around the GEMMs: bias + activation after a dense product, and the
//! activation derivative folded into the incoming gradient on the way back.
//!
//! Each activation's derivative is computed from the saved output where that is exact (ReLU,
//! leaky ReLU, ELU, tanh, sigmoid, softplus), so only GELU and SiLU keep their pre-activations.

use super::Real;
use serde::{Deserialize, Serialize};

/// Negative-side slope of [`Activation::LeakyRelu`] (PyTorch's default).
pub const LEAKY_RELU_SLOPE: f64 = 0.01;
/// Scale of the negative side of [`Activation::Elu`] (PyTorch's default `alpha`).
pub const ELU_ALPHA: f64 = 1.0;

/// A pointwise nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `f(z) = z`.
    #[default]
    Identity,
    /// `max(0, z)`.
    Relu,
    /// `z` for `z > 0`, else `0.01 z`.
    LeakyRelu,
    /// `z` for `z > 0`, else `e^z - 1`.
    Elu,
    /// GELU, tanh approximation: `0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))`
    /// (PyTorch's `approximate="tanh"`; within 1e-3 of the erf form everywhere).
    Gelu,
    /// SiLU / swish: `z * sigmoid(z)`.
    Silu,
    /// `tanh(z)`.
    Tanh,
    /// `1 / (1 + e^-z)`.
    Sigmoid,
    /// `ln(1 + e^z)`, computed stably.
    Softplus,
}

impl Activation {
    /// Every activation, for registries and tests.
    pub const ALL: [Activation; 9] = [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Elu,
        Activation::Gelu,
        Activation::Silu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Softplus,
    ];

    /// The name used in specs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Elu => "elu",
            Activation::Gelu => "gelu",
            Activation::Silu => "silu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softplus => "softplus",
        }
    }

    /// Whether the backward pass needs the pre-activation (not just the output).
    pub fn needs_preactivation(self) -> bool {
        matches!(self, Activation::Gelu | Activation::Silu)
    }

    /// Whether `f` is monotone non-decreasing (used by interval bound propagation).
    pub fn is_monotone(self) -> bool {
        !matches!(self, Activation::Gelu | Activation::Silu)
    }

    /// `f(z)`.
    #[inline(always)]
    pub fn apply<T: Real>(self, z: T) -> T {
        match self {
            Activation::Identity => z,
            Activation::Relu => z.max(T::zero()),
            Activation::LeakyRelu => {
                if z > T::zero() {
                    z
                } else {
                    z * T::of(LEAKY_RELU_SLOPE)
                }
            }
            Activation::Elu => {
                if z > T::zero() {
                    z
                } else {
                    T::of(ELU_ALPHA) * z.exp_m1()
                }
            }
            Activation::Gelu => {
                let c = T::of(0.797_884_560_802_865_4);
                let inner = c * (z + T::of(0.044715) * z * z * z);
                T::of(0.5) * z * (T::one() + inner.tanh())
            }
            Activation::Silu => z * sigmoid(z),
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => sigmoid(z),
            Activation::Softplus => z.max(T::zero()) + (-z.abs()).exp().ln_1p(),
        }
    }

    /// `f'(z)`, given the pre-activation `z` (only read where required) and output `y = f(z)`.
    #[inline(always)]
    pub fn derivative<T: Real>(self, z: T, y: T) -> T {
        match self {
            Activation::Identity => T::one(),
            Activation::Relu => {
                if y > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::LeakyRelu => {
                if y > T::zero() {
                    T::one()
                } else {
                    T::of(LEAKY_RELU_SLOPE)
                }
            }
            Activation::Elu => {
                if y > T::zero() {
                    T::one()
                } else {
                    y + T::of(ELU_ALPHA)
                }
            }
            Activation::Gelu => {
                let c = T::of(0.797_884_560_802_865_4);
                let z2 = z * z;
                let t = (c * (z + T::of(0.044715) * z2 * z)).tanh();
                let half = T::of(0.5);
                half * (T::one() + t)
                    + half * z * (T::one() - t * t) * c * (T::one() + T::of(3.0 * 0.044715) * z2)
            }
            Activation::Silu => {
                let s = sigmoid(z);
                s * (T::one() + z * (T::one() - s))
            }
            Activation::Tanh => T::one() - y * y,
            Activation::Sigmoid => y * (T::one() - y),
            Activation::Softplus => -(-y).exp_m1(),
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Activation {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == norm || (norm == "swish" && *a == Activation::Silu))
            .ok_or_else(|| {
                let names: Vec<&str> = Activation::ALL.iter().map(|a| a.name()).collect();
                crate::Error::config(
                    "activation",
                    format!("unknown '{s}'; one of {}", names.join(", ")),
                )
            })
    }
}

/// Numerically stable logistic function.
#[inline(always)]
pub fn sigmoid<T: Real>(z: T) -> T {
    if z >= T::zero() {
        T::one() / (T::one() + (-z).exp())
    } else {
        let e = z.exp();
        e / (T::one() + e)
    }
}

/// In place over a row-major `rows x width` block: `out = act(out + bias)`; when `pre` is given,
/// it receives `out + bias` (the pre-activation) too.
pub fn bias_activation_forward<T: Real>(
    act: Activation,
    out: &mut [T],
    width: usize,
    bias: Option<&[T]>,
    pre: Option<&mut [T]>,
) {
    if width == 0 {
        return;
    }
    super::simd::vectorized(
        #[inline(always)]
        || bias_activation_forward_scalar(act, out, width, bias, pre),
    )
}

#[inline(always)]
fn bias_activation_forward_scalar<T: Real>(
    act: Activation,
    out: &mut [T],
    width: usize,
    bias: Option<&[T]>,
    pre: Option<&mut [T]>,
) {
    if let Some(b) = bias {
        for row in out.chunks_exact_mut(width) {
            for (x, &bj) in row.iter_mut().zip(b) {
                *x = *x + bj;
            }
        }
    }
    if let Some(pre) = pre {
        pre[..out.len()].copy_from_slice(out);
    }
    match act {
        Activation::Identity => {}
        Activation::Relu => {
            for x in out.iter_mut() {
                *x = x.max(T::zero());
            }
        }
        Activation::Tanh => T::tanh_in_place(out),
        Activation::Sigmoid => T::sigmoid_in_place(out),
        _ => {
            for x in out.iter_mut() {
                *x = act.apply(*x);
            }
        }
    }
}

/// In place: `d_out *= act'(z)` where `out = act(z)` (and `pre = z` when the activation needs it).
pub fn activation_backward<T: Real>(
    act: Activation,
    d_out: &mut [T],
    out: &[T],
    pre: Option<&[T]>,
) {
    super::simd::vectorized(
        #[inline(always)]
        || activation_backward_scalar(act, d_out, out, pre),
    )
}

#[inline(always)]
fn activation_backward_scalar<T: Real>(
    act: Activation,
    d_out: &mut [T],
    out: &[T],
    pre: Option<&[T]>,
) {
    match act {
        Activation::Identity => {}
        Activation::Relu => {
            // A select rather than a conditional store, so it vectorizes.
            for (d, &y) in d_out.iter_mut().zip(out) {
                *d = if y <= T::zero() { T::zero() } else { *d };
            }
        }
        Activation::Tanh => {
            for (d, &y) in d_out.iter_mut().zip(out) {
                *d = *d * (T::one() - y * y);
            }
        }
        Activation::Sigmoid => {
            for (d, &y) in d_out.iter_mut().zip(out) {
                *d = *d * (y * (T::one() - y));
            }
        }
        _ if act.needs_preactivation() => {
            let pre = pre.expect("pre-activations are saved for activations that need them");
            for ((d, &y), &z) in d_out.iter_mut().zip(out).zip(pre) {
                *d = *d * act.derivative(z, y);
            }
        }
        _ => {
            for (d, &y) in d_out.iter_mut().zip(out) {
                *d = *d * act.derivative(T::zero(), y);
            }
        }
    }
}

/// Adds the column sums of a row-major `rows x width` matrix into `acc` (bias gradients).
pub fn add_column_sums<T: Real>(acc: &mut [T], matrix: &[T], width: usize) {
    if width == 0 {
        return;
    }
    super::simd::vectorized(
        #[inline(always)]
        || {
            for row in matrix.chunks_exact(width) {
                for (a, &x) in acc.iter_mut().zip(row) {
                    *a = *a + x;
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences_in_f64() {
        let points: [f64; 7] = [-3.0, -1.2, -0.3, 0.05, 0.4, 1.7, 4.0];
        for act in Activation::ALL {
            for &z in &points {
                let h = 1e-6;
                let fd = (act.apply(z + h) - act.apply(z - h)) / (2.0 * h);
                let an = act.derivative(z, act.apply(z));
                assert!((fd - an).abs() < 1e-7, "{act}: z={z} fd={fd} an={an}");
            }
        }
    }

    #[test]
    fn values_at_known_points() {
        assert_eq!(Activation::Relu.apply(-2.0f64), 0.0);
        assert!((Activation::Sigmoid.apply(0.0f64) - 0.5).abs() < 1e-15);
        assert!((Activation::Softplus.apply(0.0f64) - 2f64.ln()).abs() < 1e-15);
        assert!((Activation::Softplus.apply(100.0f64) - 100.0).abs() < 1e-12);
        assert!((Activation::Elu.apply(-1.0f64) - ((-1.0f64).exp() - 1.0)).abs() < 1e-15);
        assert!((Activation::LeakyRelu.apply(-2.0f64) + 0.02).abs() < 1e-15);
        // GELU(1) with the tanh approximation, from torch.nn.functional.gelu(approximate="tanh").
        assert!((Activation::Gelu.apply(1.0f64) - 0.841_191_990_607_477_2).abs() < 1e-12);
        assert!((Activation::Silu.apply(1.0f64) - 0.731_058_578_630_004_9).abs() < 1e-12);
        assert!(Activation::Sigmoid.apply(-800.0f64).is_finite());
    }

    #[test]
    fn parses_names() {
        assert_eq!("ReLU".parse::<Activation>().ok(), Some(Activation::Relu));
        assert_eq!(
            "leaky-relu".parse::<Activation>().ok(),
            Some(Activation::LeakyRelu)
        );
        assert!("relu6".parse::<Activation>().is_err());
    }

    #[test]
    fn vector_builds_are_bit_identical_to_the_baseline_builds() {
        eprintln!(
            "elementwise passes dispatched to the {} path",
            crate::kernels::simd::path()
        );
        let (rows, width) = (7, 53);
        let z: Vec<f32> = (0..rows * width)
            .map(|i| ((i as f32 * 0.61).sin() * 4.0).powi(3))
            .collect();
        let bias: Vec<f32> = (0..width).map(|j| (j as f32 * 0.3).cos()).collect();
        let d: Vec<f32> = (0..rows * width).map(|i| (i as f32 * 0.17).cos()).collect();
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for act in Activation::ALL {
            let (mut y1, mut pre1) = (z.clone(), vec![0.0f32; z.len()]);
            bias_activation_forward(act, &mut y1, width, Some(&bias), Some(&mut pre1));
            let (mut y2, mut pre2) = (z.clone(), vec![0.0f32; z.len()]);
            crate::kernels::simd::baseline(|| {
                bias_activation_forward_scalar(act, &mut y2, width, Some(&bias), Some(&mut pre2))
            });
            assert_eq!(bits(&y1), bits(&y2), "{act} forward");
            assert_eq!(bits(&pre1), bits(&pre2), "{act} pre-activation");
            let mut d1 = d.clone();
            activation_backward(act, &mut d1, &y1, Some(&pre1));
            let mut d2 = d.clone();
            crate::kernels::simd::baseline(|| {
                activation_backward_scalar(act, &mut d2, &y2, Some(&pre2))
            });
            assert_eq!(bits(&d1), bits(&d2), "{act} backward");
        }
        let mut acc1 = bias.clone();
        add_column_sums(&mut acc1, &z, width);
        let mut acc2 = bias.clone();
        for row in z.chunks_exact(width) {
            for (a, x) in acc2.iter_mut().zip(row) {
                *a += *x;
            }
        }
        assert_eq!(bits(&acc1), bits(&acc2));
    }
}
