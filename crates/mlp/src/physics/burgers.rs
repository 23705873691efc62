//! The Cole-Hopf solution of the viscous Burgers equation with `u(0, x) = -sin(pi x)`, by
//! quadrature: the reference the Burgers PINN is scored against.
//!
//! With `f(y) = exp(-cos(pi y) / (2 pi nu))` and `c = sqrt(4 nu t)`,
//! `u(x, t) = -int sin(pi (x - c z)) f(x - c z) e^{-z^2} dz / int f(x - c z) e^{-z^2} dz`
//! (Basdevant et al. 1986). At `nu = 0.01/pi`, `f` spans e^100, and its peak (where `x - c z =
//! +-1`) often lies far in the Gaussian's tail, where an n-point Gauss-Hermite rule has almost no
//! nodes: that rule ([`gauss_hermite`], kept for smooth weights) gives wrong answers there (a
//! test shows it). The reference therefore sums the whole integrand `exp(-cos(..)/(2 pi nu) -
//! z^2)` by the trapezoid rule on `z in [-12, 12]` (beyond, `e^{-z^2}` beats `f`'s `e^100`),
//! which converges spectrally for smooth, fast-decaying integrands; exponents are shifted by
//! their maximum before summing (the ratio is unchanged).

use std::f64::consts::PI;

/// Nodes and weights of the `n`-point Gauss-Hermite rule (weight `e^{-x^2}`), by Newton's
/// iteration on the normalized Hermite recurrence (Numerical Recipes' `gauher`).
pub fn gauss_hermite(n: usize) -> (Vec<f64>, Vec<f64>) {
    let pim4 = PI.powf(-0.25);
    let (mut x, mut w) = (vec![0.0; n], vec![0.0; n]);
    let m = n.div_ceil(2);
    let mut z = 0.0f64;
    for i in 0..m {
        z = match i {
            0 => (2.0 * n as f64 + 1.0).sqrt() - 1.85575 * (2.0 * n as f64 + 1.0).powf(-0.16667),
            1 => z - 1.14 * (n as f64).powf(0.426) / z,
            2 => 1.86 * z - 0.86 * x[0],
            3 => 1.91 * z - 0.91 * x[1],
            _ => 2.0 * z - x[i - 2],
        };
        let mut pp = 1.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (pim4, 0.0);
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                p1 = z * (2.0 / (j as f64 + 1.0)).sqrt() * p2
                    - (j as f64 / (j as f64 + 1.0)).sqrt() * p3;
            }
            pp = (2.0 * n as f64).sqrt() * p2;
            let z1 = z;
            z = z1 - p1 / pp;
            if (z - z1).abs() <= 1e-14 * z.abs().max(1.0) {
                break;
            }
        }
        x[i] = z;
        x[n - 1 - i] = -z;
        w[i] = 2.0 / (pp * pp);
        w[n - 1 - i] = w[i];
    }
    (x, w)
}

/// The Cole-Hopf reference `u(x, t)` on demand, with its quadrature nodes.
#[derive(Debug, Clone)]
pub struct BurgersReference {
    nu: f64,
    nodes: Vec<f64>,
}

impl BurgersReference {
    /// The reference for viscosity `nu` with an `n`-node trapezoid rule on `[-12, 12]` (4000
    /// resolves `nu = 0.01/pi` on `t <= 1` to about 1e-9; the tests compare with 50 times as
    /// many nodes).
    pub fn new(nu: f64, n: usize) -> Self {
        let n = n.max(2);
        let h = 24.0 / (n - 1) as f64;
        let nodes = (0..n).map(|i| -12.0 + i as f64 * h).collect();
        BurgersReference { nu, nodes }
    }

    /// `u(x, t)`.
    pub fn u(&self, x: f64, t: f64) -> f64 {
        if t <= 0.0 {
            return -(PI * x).sin();
        }
        let c = (4.0 * self.nu * t).sqrt();
        let k = 1.0 / (2.0 * PI * self.nu);
        let e: Vec<f64> = self
            .nodes
            .iter()
            .map(|&z| -(PI * (x - c * z)).cos() * k - z * z)
            .collect();
        let emax = e.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (mut num, mut den) = (0.0, 0.0);
        for (&z, &ek) in self.nodes.iter().zip(&e) {
            let f = (ek - emax).exp();
            num += (PI * (x - c * z)).sin() * f;
            den += f;
        }
        -num / den
    }
}

/// The same integral by an `n`-point Gauss-Hermite rule: right for mild viscosity, wrong at
/// `nu = 0.01/pi` (see the module docs); used by the tests only.
pub fn burgers_gauss_hermite(nu: f64, n: usize, x: f64, t: f64) -> f64 {
    let (nodes, weights) = gauss_hermite(n);
    let c = (4.0 * nu * t).sqrt();
    let k = 1.0 / (2.0 * PI * nu);
    let e: Vec<f64> = nodes
        .iter()
        .map(|&z| -(PI * (x - c * z)).cos() * k)
        .collect();
    let emax = e.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (mut num, mut den) = (0.0, 0.0);
    for ((&z, &w), &ek) in nodes.iter().zip(&weights).zip(&e) {
        let f = w * (ek - emax).exp();
        num += (PI * (x - c * z)).sin() * f;
        den += f;
    }
    -num / den
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hermite_rule_integrates_moments() {
        let (x, w) = gauss_hermite(40);
        let m0: f64 = w.iter().sum();
        let m2: f64 = x.iter().zip(&w).map(|(x, w)| w * x * x).sum();
        let m4: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(4)).sum();
        assert!((m0 - PI.sqrt()).abs() < 1e-12);
        assert!((m2 - PI.sqrt() / 2.0).abs() < 1e-12);
        assert!((m4 - 0.75 * PI.sqrt()).abs() < 1e-11);
    }

    /// The reference converges in its node count, agrees with Gauss-Hermite where that rule
    /// is valid (mild viscosity), and has the solution's symmetries; Gauss-Hermite is shown
    /// wrong at the PINN's viscosity (why the reference does not use it).
    #[test]
    fn reference_converges_and_matches_hermite_at_mild_viscosity() {
        let nu = 0.01 / PI;
        let r = BurgersReference::new(nu, 4000);
        let fine = BurgersReference::new(nu, 200_000);
        for &(x, t) in &[
            (0.3, 0.1),
            (-0.05, 0.5),
            (0.01, 0.9),
            (0.7, 1.0),
            (0.002, 0.3),
        ] {
            assert!((r.u(x, t) - fine.u(x, t)).abs() < 1e-8, "({x}, {t})");
            assert!((r.u(x, t) + r.u(-x, t)).abs() < 1e-9, "odd in x");
        }
        assert!((r.u(0.3, 0.1) - burgers_gauss_hermite(nu, 200, 0.3, 0.1)).abs() > 0.1);
        let mild = BurgersReference::new(0.2, 4000);
        for &(x, t) in &[(0.3, 0.1), (-0.6, 0.8)] {
            let gh = burgers_gauss_hermite(0.2, 80, x, t);
            assert!(
                (mild.u(x, t) - gh).abs() < 1e-7,
                "({x}, {t}): {} vs {gh}",
                mild.u(x, t)
            );
        }
        assert!((r.u(0.5, 0.0) + 1.0).abs() < 1e-12);
        // The front: u jumps from about +0.7 to -0.7 across x = 0 at late times.
        assert!(r.u(-0.02, 0.8) > 0.5 && r.u(0.02, 0.8) < -0.5);
    }
}
