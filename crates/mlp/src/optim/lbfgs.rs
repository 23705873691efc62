//! Limited-memory BFGS for small full-batch problems (what scikit-learn's `solver="lbfgs"` does).
//!
//! Search direction by the two-loop recursion over the last `history` pairs
//! `s = x_{k+1} - x_k`, `y = g_{k+1} - g_k` (pairs with `s.y <= 1e-10` are skipped, keeping the
//! implicit Hessian positive definite); step length by backtracking until the Armijo condition
//! `f(x + a d) <= f(x) + 1e-4 a g.d` holds, starting from `a = lr` (`1/|g|` on the first
//! iteration, as in PyTorch's `LBFGS`).

use std::collections::VecDeque;

/// L-BFGS state.
#[derive(Debug, Clone, Default)]
pub struct Lbfgs {
    history: usize,
    pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)>,
    /// Iterations taken.
    pub iterations: u64,
}

impl Lbfgs {
    /// A fresh optimizer keeping `history` correction pairs.
    pub fn new(history: usize) -> Self {
        Lbfgs {
            history: history.max(1),
            pairs: VecDeque::new(),
            iterations: 0,
        }
    }

    /// One iteration. `objective(x, grad_out)` returns `f(x)` and writes the gradient. Returns the
    /// new objective value; `params` are updated in place. When no step decreases `f`, the
    /// parameters are left unchanged and the current value is returned.
    pub fn step(
        &mut self,
        params: &mut [f32],
        lr: f32,
        objective: &mut dyn FnMut(&[f32], &mut [f32]) -> f64,
    ) -> f64 {
        let n = params.len();
        let mut grad = vec![0.0f32; n];
        let f0 = objective(params, &mut grad);
        if !f0.is_finite() {
            return f0;
        }
        let g: Vec<f64> = grad.iter().map(|&x| x as f64).collect();
        let gnorm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
        if gnorm == 0.0 {
            return f0;
        }
        // Two-loop recursion: d = -H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(self.pairs.len());
        for (s, y, rho) in self.pairs.iter().rev() {
            let a = rho * dot(s, &q);
            axpy(-a, y, &mut q);
            alphas.push(a);
        }
        if let Some((s, y, _)) = self.pairs.back() {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|x| *x *= gamma);
        }
        for ((s, y, rho), a) in self.pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            axpy(a - b, s, &mut q);
        }
        let mut d: Vec<f64> = q.into_iter().map(|x| -x).collect();
        let mut gd = dot(&g, &d);
        if gd >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            self.pairs.clear();
            d = g.iter().map(|x| -x).collect();
            gd = -gnorm * gnorm;
        }
        let mut step = if self.iterations == 0 && self.pairs.is_empty() {
            (lr as f64).min(1.0) / gnorm
        } else {
            lr as f64
        };
        let x0: Vec<f32> = params.to_vec();
        let mut trial = vec![0.0f32; n];
        let mut trial_grad = vec![0.0f32; n];
        for _ in 0..30 {
            for i in 0..n {
                trial[i] = (x0[i] as f64 + step * d[i]) as f32;
            }
            let f1 = objective(&trial, &mut trial_grad);
            if f1.is_finite() && f1 <= f0 + 1e-4 * step * gd {
                let s: Vec<f64> = (0..n).map(|i| trial[i] as f64 - x0[i] as f64).collect();
                let y: Vec<f64> = (0..n).map(|i| trial_grad[i] as f64 - g[i]).collect();
                let sy = dot(&s, &y);
                if sy > 1e-10 {
                    if self.pairs.len() == self.history {
                        self.pairs.pop_front();
                    }
                    self.pairs.push_back((s, y, 1.0 / sy));
                }
                params.copy_from_slice(&trial);
                self.iterations += 1;
                return f1;
            }
            step *= 0.5;
        }
        self.iterations += 1;
        f0
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimizes_the_rosenbrock_function() {
        let mut x = [-1.2f32, 1.0];
        let mut opt = Lbfgs::new(10);
        let mut f = |p: &[f32], g: &mut [f32]| {
            let (a, b) = (p[0] as f64, p[1] as f64);
            g[0] = (-2.0 * (1.0 - a) - 400.0 * a * (b - a * a)) as f32;
            g[1] = (200.0 * (b - a * a)) as f32;
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let mut value = f64::INFINITY;
        for _ in 0..200 {
            value = opt.step(&mut x, 1.0, &mut f);
        }
        assert!(value < 1e-6, "f = {value}, x = {x:?}");
        assert!((x[0] - 1.0).abs() < 1e-2 && (x[1] - 1.0).abs() < 2e-2);
    }
}
