//! The plant side of closed-loop reachability: a linear plant `dx/dt = A x + B u`, its exact
//! zero-order-hold discretization (matrix exponential by scaling and squaring), the unsafe set,
//! and the adaptive cruise control example (plant, teacher law, initial and unsafe sets). The
//! algorithm that propagates state boxes through the network controller is in [`super::reach`].
//!
//! Training a network controller for the example is not the library's business: the `mlp reach`
//! command and `examples/acc_reach.rs` fit one to the teacher law [`Acc::pd`] with the public
//! builder.

use super::Bounds;
use crate::{Error, Result};

/// `dx/dt = A x + B u` (row-major `A: n x n`, `B: n x m`).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearPlant {
    /// State matrix.
    pub a: Vec<f64>,
    /// Input matrix.
    pub b: Vec<f64>,
    /// State dimension.
    pub n: usize,
    /// Input dimension.
    pub m: usize,
}

/// The exact zero-order-hold discretization `x' = Ad x + Bd u`.
#[derive(Debug, Clone, PartialEq)]
pub struct Discrete {
    /// `e^{A T}` (`n x n`).
    pub ad: Vec<f64>,
    /// `int_0^T e^{A s} ds B` (`n x m`).
    pub bd: Vec<f64>,
    /// State dimension.
    pub n: usize,
    /// Input dimension.
    pub m: usize,
}

fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let v = a[i * n + k];
            if v != 0.0 {
                for j in 0..n {
                    c[i * n + j] += v * b[k * n + j];
                }
            }
        }
    }
    c
}

/// `e^M` of a square `n x n` matrix: scale by `2^-s` until the norm is below 1/2, sum the
/// Taylor series to 20 terms, square `s` times.
pub fn expm(m: &[f64], n: usize) -> Vec<f64> {
    let norm = (0..n)
        .map(|i| m[i * n..(i + 1) * n].iter().map(|v| v.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let mut s = 0;
    while norm / 2f64.powi(s) > 0.5 && s < 64 {
        s += 1;
    }
    let scale = 2f64.powi(-s);
    let a: Vec<f64> = m.iter().map(|v| v * scale).collect();
    let mut result = vec![0.0; n * n];
    let mut term = vec![0.0; n * n];
    for i in 0..n {
        result[i * n + i] = 1.0;
        term[i * n + i] = 1.0;
    }
    for k in 1..=20 {
        term = matmul(&term, &a, n);
        term.iter_mut().for_each(|v| *v /= k as f64);
        for (r, t) in result.iter_mut().zip(&term) {
            *r += t;
        }
    }
    for _ in 0..s {
        result = matmul(&result, &result, n);
    }
    result
}

impl LinearPlant {
    /// Checks the shapes.
    pub fn new(a: Vec<f64>, b: Vec<f64>, n: usize, m: usize) -> Result<Self> {
        if a.len() != n * n {
            return Err(Error::shape("plant A", n * n, a.len()));
        }
        if b.len() != n * m {
            return Err(Error::shape("plant B", n * m, b.len()));
        }
        Ok(LinearPlant { a, b, n, m })
    }

    /// Exact discretization over `period`, from `exp([[A, B], [0, 0]] period)`.
    pub fn discretize(&self, period: f64) -> Discrete {
        let (n, m) = (self.n, self.m);
        let k = n + m;
        let mut big = vec![0.0; k * k];
        for i in 0..n {
            for j in 0..n {
                big[i * k + j] = self.a[i * n + j] * period;
            }
            for j in 0..m {
                big[i * k + n + j] = self.b[i * m + j] * period;
            }
        }
        let e = expm(&big, k);
        let mut ad = vec![0.0; n * n];
        let mut bd = vec![0.0; n * m];
        for i in 0..n {
            ad[i * n..(i + 1) * n].copy_from_slice(&e[i * k..i * k + n]);
            bd[i * m..(i + 1) * m].copy_from_slice(&e[i * k + n..i * k + n + m]);
        }
        Discrete { ad, bd, n, m }
    }
}

impl Discrete {
    /// One step from a point.
    pub fn step(&self, x: &[f64], u: &[f64]) -> Vec<f64> {
        (0..self.n)
            .map(|i| {
                let ax: f64 = (0..self.n).map(|j| self.ad[i * self.n + j] * x[j]).sum();
                let bu: f64 = (0..self.m).map(|j| self.bd[i * self.m + j] * u[j]).sum();
                ax + bu
            })
            .collect()
    }
}

/// Where the closed loop must never go.
#[derive(Debug, Clone, PartialEq)]
pub enum UnsafeSet {
    /// `{x : normal . x <= offset}`, e.g. distance below a safe gap.
    HalfSpace {
        /// The normal.
        normal: Vec<f64>,
        /// The offset.
        offset: f64,
    },
    /// A box of states.
    Box(Bounds),
}

impl UnsafeSet {
    /// Whether the state box meets the unsafe set.
    pub fn intersects(&self, x: &Bounds) -> bool {
        match self {
            UnsafeSet::HalfSpace { normal, offset } => {
                let min: f64 = normal
                    .iter()
                    .enumerate()
                    .map(|(j, &a)| {
                        if a >= 0.0 {
                            a * x.lower[j]
                        } else {
                            a * x.upper[j]
                        }
                    })
                    .sum();
                min <= *offset
            }
            UnsafeSet::Box(b) => {
                (0..x.len()).all(|j| x.lower[j] <= b.upper[j] && b.lower[j] <= x.upper[j])
            }
        }
    }

    /// Whether a single state is unsafe.
    pub fn contains(&self, x: &[f64]) -> bool {
        self.intersects(&Bounds::point(x))
    }
}

/// The adaptive cruise control example: state `(d, v)` = (gap to the lead car in m, lead speed
/// minus own speed in m/s), control `u` = own acceleration (m/s^2), lead at constant speed, so
/// `d' = v`, `v' = -u` (a double integrator). The teacher law is the saturated PD controller
/// `u = clamp(kp (d - d_ref) + kd v, u_min, u_max)`, critically damped.
#[derive(Debug, Clone, PartialEq)]
pub struct Acc {
    /// Control period in seconds.
    pub period: f64,
    /// Desired gap (m).
    pub d_ref: f64,
    /// Proportional gain.
    pub kp: f64,
    /// Derivative gain.
    pub kd: f64,
    /// Strongest braking (m/s^2, negative).
    pub u_min: f64,
    /// Strongest acceleration (m/s^2).
    pub u_max: f64,
    /// Initial states.
    pub initial: Bounds,
    /// Unsafe: gap at most this (m).
    pub d_safe: f64,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            period: 0.1,
            d_ref: 20.0,
            kp: 0.25,
            kd: 1.0,
            u_min: -3.0,
            u_max: 2.0,
            initial: Bounds {
                lower: vec![24.0, -4.0],
                upper: vec![26.0, -2.0],
            },
            d_safe: 15.0,
        }
    }
}

impl Acc {
    /// The continuous plant.
    pub fn plant(&self) -> LinearPlant {
        LinearPlant {
            a: vec![0.0, 1.0, 0.0, 0.0],
            b: vec![0.0, -1.0],
            n: 2,
            m: 1,
        }
    }

    /// Its exact discretization (closed form, equal to [`LinearPlant::discretize`]):
    /// `Ad = [[1, T], [0, 1]]`, `Bd = [-T^2/2, -T]`.
    pub fn discrete(&self) -> Discrete {
        let t = self.period;
        Discrete {
            ad: vec![1.0, t, 0.0, 1.0],
            bd: vec![-0.5 * t * t, -t],
            n: 2,
            m: 1,
        }
    }

    /// The teacher law.
    pub fn pd(&self, d: f64, v: f64) -> f64 {
        (self.kp * (d - self.d_ref) + self.kd * v).clamp(self.u_min, self.u_max)
    }

    /// The unsafe set `d <= d_safe`.
    pub fn unsafe_set(&self) -> UnsafeSet {
        UnsafeSet::HalfSpace {
            normal: vec![1.0, 0.0],
            offset: self.d_safe,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_exponential_discretizes_the_double_integrator_exactly() {
        let acc = Acc::default();
        for period in [0.1, 0.5, 2.0] {
            let acc = Acc {
                period,
                ..acc.clone()
            };
            let d = acc.plant().discretize(period);
            let exact = acc.discrete();
            for (a, b) in d.ad.iter().zip(&exact.ad).chain(d.bd.iter().zip(&exact.bd)) {
                assert!((a - b).abs() < 1e-12, "T={period}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn matrix_exponential_of_a_rotation() {
        // exp([[0, w], [-w, 0]]) = [[cos w, sin w], [-sin w, cos w]].
        let w = 3.7f64;
        let e = expm(&[0.0, w, -w, 0.0], 2);
        let want = [w.cos(), w.sin(), -w.sin(), w.cos()];
        for (a, b) in e.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn half_space_intersection() {
        let s = UnsafeSet::HalfSpace {
            normal: vec![1.0, 0.0],
            offset: 10.0,
        };
        assert!(!s.intersects(&Bounds::new(vec![10.5, -3.0], vec![12.0, 3.0]).expect("box")));
        assert!(s.intersects(&Bounds::new(vec![9.5, -3.0], vec![12.0, 3.0]).expect("box")));
    }
}
