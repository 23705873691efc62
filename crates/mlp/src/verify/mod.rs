//! Verification of trained networks: sound bounds on what a network can output over a box of
//! inputs, proofs and counterexamples for properties over such boxes, and closed-loop
//! reachability of a linear plant driven by a network controller.
//!
//! - [`interval`]: interval bound propagation (IBP) through every layer kind with sound rules
//!   (dense, dropout, layer and batch normalization, GLU, residual and recurrent blocks).
//! - [`crown`]: CROWN-style linear bound propagation (Zhang et al., 2018) for stacks of dense
//!   layers, with margin specifications for certification.
//! - [`bisect`]: input-box bisection that refines bounds until a property is proved or a
//!   counterexample is found.
//! - [`vnnlib`]: VNN-LIB properties (the VNN-COMP subset) parsed into input boxes and linear
//!   output constraints.
//! - [`complete`]: complete verification of VNN-LIB properties: a PGD falsifier, then branch and
//!   bound over input splits with alpha-CROWN bounds.
//! - [`reach`]: sampled-data reachability of `x' = A x + B u` with `u = NN(x)`.
//!
//! All bounds are computed in `f64` for the exact-arithmetic function the network's weights
//! define, in inference semantics (dropout off, batch normalization on its running statistics).
//! The engine's `f32` inference rounds; its outputs can step outside the bounds by that rounding
//! (relative `~1e-6`), which the tests allow for explicitly.

pub mod bisect;
pub mod complete;
pub mod crown;
pub mod interval;
pub mod plant;
pub mod reach;
pub mod vnnlib;

use crate::{Error, Result};

/// A box `[lower, upper]` (per coordinate), of inputs or of outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// Per-coordinate lower ends.
    pub lower: Vec<f64>,
    /// Per-coordinate upper ends.
    pub upper: Vec<f64>,
}

impl Bounds {
    /// A box from its ends; errors when the lengths differ, an end is not finite, or
    /// `lower > upper` somewhere.
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Result<Self> {
        if lower.len() != upper.len() {
            return Err(Error::shape("box", lower.len(), upper.len()));
        }
        for (i, (&l, &u)) in lower.iter().zip(&upper).enumerate() {
            if !l.is_finite() || !u.is_finite() {
                return Err(Error::InvalidData(format!(
                    "box coordinate {i}: the ends must be finite, got [{l}, {u}]"
                )));
            }
            if l > u {
                return Err(Error::InvalidData(format!(
                    "box coordinate {i}: lower end {l} is above upper end {u}"
                )));
            }
        }
        Ok(Bounds { lower, upper })
    }

    /// The L-infinity ball of radius `eps` around `center` (`eps` per coordinate when
    /// `eps.len() == center.len()`, or one value for all).
    pub fn around(center: &[f64], eps: &[f64]) -> Result<Self> {
        if eps.iter().any(|e| e.is_nan() || *e < 0.0 || !e.is_finite()) {
            return Err(Error::config(
                "eps",
                "the radius must be a finite number >= 0",
            ));
        }
        let e = |i: usize| if eps.len() == 1 { eps[0] } else { eps[i] };
        if eps.len() != 1 && eps.len() != center.len() {
            return Err(Error::shape("eps", center.len(), eps.len()));
        }
        Bounds::new(
            center.iter().enumerate().map(|(i, c)| c - e(i)).collect(),
            center.iter().enumerate().map(|(i, c)| c + e(i)).collect(),
        )
    }

    /// A single point (zero-width box).
    pub fn point(x: &[f64]) -> Self {
        Bounds {
            lower: x.to_vec(),
            upper: x.to_vec(),
        }
    }

    /// Number of coordinates.
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    /// Whether the box has no coordinates.
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// Centre of each coordinate.
    pub fn center(&self) -> Vec<f64> {
        self.lower
            .iter()
            .zip(&self.upper)
            .map(|(l, u)| 0.5 * (l + u))
            .collect()
    }

    /// Width `upper - lower` of each coordinate.
    pub fn widths(&self) -> Vec<f64> {
        self.lower
            .iter()
            .zip(&self.upper)
            .map(|(l, u)| u - l)
            .collect()
    }

    /// Whether `x` lies in the box, allowing `tol` outside each end.
    pub fn contains(&self, x: &[f64], tol: f64) -> bool {
        x.len() == self.len()
            && x.iter()
                .zip(self.lower.iter().zip(&self.upper))
                .all(|(v, (l, u))| *v >= l - tol && *v <= u + tol)
    }

    /// The smallest box holding both.
    pub fn hull(&self, other: &Bounds) -> Bounds {
        Bounds {
            lower: self
                .lower
                .iter()
                .zip(&other.lower)
                .map(|(a, b)| a.min(*b))
                .collect(),
            upper: self
                .upper
                .iter()
                .zip(&other.upper)
                .map(|(a, b)| a.max(*b))
                .collect(),
        }
    }

    /// The intersection (both must be sound bounds of the same set, so it is never empty).
    pub fn intersect(&self, other: &Bounds) -> Bounds {
        Bounds {
            lower: self
                .lower
                .iter()
                .zip(&other.lower)
                .map(|(a, b)| a.max(*b))
                .collect(),
            upper: self
                .upper
                .iter()
                .zip(&other.upper)
                .map(|(a, b)| a.min(*b))
                .collect(),
        }
    }

    /// Splits coordinate `dim` at its midpoint.
    pub fn split(&self, dim: usize) -> (Bounds, Bounds) {
        let mid = 0.5 * (self.lower[dim] + self.upper[dim]);
        let (mut left, mut right) = (self.clone(), self.clone());
        left.upper[dim] = mid;
        right.lower[dim] = mid;
        (left, right)
    }
}

/// Which bound propagation to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Interval bound propagation: every layer kind with a sound rule, loosest.
    #[default]
    Ibp,
    /// CROWN linear bounds (dense stacks only), intersected with IBP: never looser than IBP.
    Crown,
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ibp" | "interval" => Ok(Method::Ibp),
            "crown" => Ok(Method::Crown),
            _ => Err(Error::config(
                "method",
                format!("unknown '{s}'; one of ibp, crown"),
            )),
        }
    }
}

/// A linear property of the outputs, `C y + d > 0` row by row (every row must hold), e.g. the
/// margins `y_c - y_j` of a class `c` over every other class `j`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearSpec {
    /// Row-major `rows x outputs`.
    pub c: Vec<f64>,
    /// One offset per row.
    pub d: Vec<f64>,
    /// Number of network outputs (columns of `c`).
    pub outputs: usize,
}

impl LinearSpec {
    /// Number of rows (conditions).
    pub fn rows(&self) -> usize {
        self.d.len()
    }

    /// The identity: bounds on the outputs themselves.
    pub fn identity(outputs: usize) -> Self {
        let mut c = vec![0.0; outputs * outputs];
        for i in 0..outputs {
            c[i * outputs + i] = 1.0;
        }
        LinearSpec {
            c,
            d: vec![0.0; outputs],
            outputs,
        }
    }

    /// "The network predicts class `class`": for a softmax classifier (`outputs >= 2`) the
    /// margins `y_class - y_j` for every `j != class`; for a single-logit (binary cross-entropy)
    /// model, `y` for class 1 and `-y` for class 0.
    pub fn class_margin(outputs: usize, class: usize) -> Result<Self> {
        if outputs == 1 {
            if class > 1 {
                return Err(Error::config("class", format!("{class} of a binary model")));
            }
            let sign = if class == 1 { 1.0 } else { -1.0 };
            return Ok(LinearSpec {
                c: vec![sign],
                d: vec![0.0],
                outputs,
            });
        }
        if class >= outputs {
            return Err(Error::config(
                "class",
                format!("{class} out of range for {outputs} outputs"),
            ));
        }
        let mut c = Vec::with_capacity((outputs - 1) * outputs);
        for j in (0..outputs).filter(|&j| j != class) {
            for k in 0..outputs {
                c.push(if k == class {
                    1.0
                } else if k == j {
                    -1.0
                } else {
                    0.0
                });
            }
        }
        Ok(LinearSpec {
            c,
            d: vec![0.0; outputs - 1],
            outputs,
        })
    }

    /// `C y + d` at one output vector.
    pub fn eval(&self, y: &[f64]) -> Vec<f64> {
        self.c
            .chunks_exact(self.outputs.max(1))
            .zip(&self.d)
            .map(|(row, d)| row.iter().zip(y).map(|(a, b)| a * b).sum::<f64>() + d)
            .collect()
    }

    /// Sound bounds on `C y + d` given only a box on `y` (interval arithmetic).
    pub fn bounds_from_box(&self, y: &Bounds) -> Bounds {
        let mut lower = Vec::with_capacity(self.rows());
        let mut upper = Vec::with_capacity(self.rows());
        for (row, d) in self.c.chunks_exact(self.outputs.max(1)).zip(&self.d) {
            let (mut lo, mut hi) = (*d, *d);
            for (k, &a) in row.iter().enumerate() {
                if a >= 0.0 {
                    lo += a * y.lower[k];
                    hi += a * y.upper[k];
                } else {
                    lo += a * y.upper[k];
                    hi += a * y.lower[k];
                }
            }
            lower.push(lo);
            upper.push(hi);
        }
        Bounds { lower, upper }
    }
}

/// Bounds on `spec` over the input box with the chosen method.
pub fn spec_bounds(
    net: &crate::network::Network,
    input: &Bounds,
    spec: &LinearSpec,
    method: Method,
) -> Result<Bounds> {
    let ibp = spec.bounds_from_box(&interval::ibp(net, input)?);
    match method {
        Method::Ibp => Ok(ibp),
        Method::Crown => Ok(crown::crown_spec(net, input, spec)?.intersect(&ibp)),
    }
}

/// Bounds on the outputs over the input box with the chosen method.
pub fn output_bounds(
    net: &crate::network::Network,
    input: &Bounds,
    method: Method,
) -> Result<Bounds> {
    spec_bounds(net, input, &LinearSpec::identity(net.outputs()), method)
}

/// Each top-level layer's parameters as `f64`, in order.
pub(crate) fn layer_params(net: &crate::network::Network) -> Vec<Vec<f64>> {
    let mut off = 0;
    net.layers()
        .iter()
        .map(|l| {
            let n = l.n_params();
            let p = net.params[off..off + n].iter().map(|&v| v as f64).collect();
            off += n;
            p
        })
        .collect()
}
