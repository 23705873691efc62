//! Truncated Taylor series arithmetic on coefficient slices.
//!
//! A series is `a[0] + a[1] t + ... + a[K] t^K`: the *normalized* Taylor coefficients
//! `a[k] = f^(k)(0) / k!`, all slices of one computation having the same length `K + 1`.
//! Products are Cauchy convolutions; a smooth function `y = phi(x)` with `y' = g(x) x'` (tanh,
//! sigmoid, exp, ...) uses the recurrence `k y[k] = sum_{j=1..k} j x[j] g[k-j]`, where the
//! series `g` is itself built from `y[..k]` as the loop goes (Griewank & Walther, "Evaluating
//! Derivatives", ch. 13). Everything is `f64`: jets serve derivative checks and PDE residuals,
//! where `f32` round-off would swamp third derivatives.

use crate::kernels::elementwise::{Activation, ELU_ALPHA, LEAKY_RELU_SLOPE};

/// `out = a * b` (truncated).
pub fn mul(a: &[f64], b: &[f64], out: &mut [f64]) {
    for k in 0..out.len() {
        out[k] = (0..=k).map(|j| a[j] * b[k - j]).sum();
    }
}

/// Coefficient `k` of `y` from `y' = g x'`: `(1/k) sum_{j=1..k} j x[j] g[k-j]` (`g` known up to
/// `k - 1`).
fn ode_step(x: &[f64], g: &[f64], k: usize) -> f64 {
    (1..=k).map(|j| j as f64 * x[j] * g[k - j]).sum::<f64>() / k as f64
}

/// `y = exp(x)`.
pub fn exp(x: &[f64], y: &mut [f64]) {
    y[0] = x[0].exp();
    for k in 1..y.len() {
        y[k] = ode_step(x, y, k);
    }
}

/// `y = tanh(x)`, from `y' = (1 - y^2) x'`.
pub fn tanh(x: &[f64], y: &mut [f64]) {
    let n = y.len();
    let mut g = vec![0.0; n];
    y[0] = x[0].tanh();
    g[0] = 1.0 - y[0] * y[0];
    for k in 1..n {
        y[k] = ode_step(x, &g, k);
        g[k] = -(0..=k).map(|j| y[j] * y[k - j]).sum::<f64>();
    }
}

/// `y = sigmoid(x)`, from `y' = (y - y^2) x'`.
pub fn sigmoid(x: &[f64], y: &mut [f64]) {
    let n = y.len();
    let mut g = vec![0.0; n];
    y[0] = crate::kernels::elementwise::sigmoid(x[0]);
    g[0] = y[0] - y[0] * y[0];
    for k in 1..n {
        y[k] = ode_step(x, &g, k);
        g[k] = y[k] - (0..=k).map(|j| y[j] * y[k - j]).sum::<f64>();
    }
}

/// `y = softplus(x) = ln(1 + e^x)`, from `y' = sigmoid(x) x'`.
pub fn softplus(x: &[f64], y: &mut [f64]) {
    let mut s = vec![0.0; y.len()];
    sigmoid(x, &mut s);
    y[0] = Activation::Softplus.apply(x[0]);
    for (k, yk) in y.iter_mut().enumerate().skip(1) {
        *yk = ode_step(x, &s, k);
    }
}

/// `y = ln(x)` (`x[0] > 0`), from `x y' = x'`.
pub fn ln(x: &[f64], y: &mut [f64]) {
    y[0] = x[0].ln();
    for k in 1..y.len() {
        let s: f64 = (1..k).map(|j| j as f64 * y[j] * x[k - j]).sum();
        y[k] = (x[k] - s / k as f64) / x[0];
    }
}

/// `y = x^p` (`x[0] > 0`), from `x y' = p y x'`.
pub fn powf(x: &[f64], p: f64, y: &mut [f64]) {
    y[0] = x[0].powf(p);
    for k in 1..y.len() {
        let s: f64 = (1..=k)
            .map(|j| (p * j as f64 - (k - j) as f64) * x[j] * y[k - j])
            .sum();
        y[k] = s / (k as f64 * x[0]);
    }
}

/// `s = sin(x)`, `c = cos(x)` together (`s' = c x'`, `c' = -s x'`).
pub fn sin_cos(x: &[f64], s: &mut [f64], c: &mut [f64]) {
    s[0] = x[0].sin();
    c[0] = x[0].cos();
    for k in 1..s.len() {
        s[k] = ode_step(x, c, k);
        c[k] = -ode_step(x, s, k);
    }
}

/// `y = act(x)` for every engine activation. The piecewise-linear ones (relu, leaky relu) and
/// elu's linear half take the branch of `x[0]`: exact away from the kink, where the function is
/// not differentiable and the right-hand (relu: `x[0] > 0`) branch is not used at `x[0] = 0`.
pub fn activation(act: Activation, x: &[f64], y: &mut [f64]) {
    let n = y.len();
    match act {
        Activation::Identity => y.copy_from_slice(x),
        Activation::Relu | Activation::LeakyRelu => {
            let slope = match act {
                _ if x[0] > 0.0 => 1.0,
                Activation::Relu => 0.0,
                _ => LEAKY_RELU_SLOPE,
            };
            for (yk, &xk) in y.iter_mut().zip(x) {
                *yk = slope * xk;
            }
        }
        Activation::Elu => {
            if x[0] > 0.0 {
                y.copy_from_slice(x);
            } else {
                exp(x, y);
                y[0] -= 1.0;
                y.iter_mut().for_each(|v| *v *= ELU_ALPHA);
            }
        }
        Activation::Tanh => tanh(x, y),
        Activation::Sigmoid => sigmoid(x, y),
        Activation::Softplus => softplus(x, y),
        Activation::Silu => {
            let mut s = vec![0.0; n];
            sigmoid(x, &mut s);
            mul(x, &s, y);
        }
        Activation::Gelu => {
            // 0.5 x (1 + tanh(c (x + 0.044715 x^3))), the engine's tanh form.
            let c = 0.797_884_560_802_865_4;
            let mut x2 = vec![0.0; n];
            let mut x3 = vec![0.0; n];
            mul(x, x, &mut x2);
            mul(&x2, x, &mut x3);
            let inner: Vec<f64> = x
                .iter()
                .zip(&x3)
                .map(|(a, b)| c * (a + 0.044715 * b))
                .collect();
            let mut th = vec![0.0; n];
            tanh(&inner, &mut th);
            th[0] += 1.0;
            mul(x, &th, y);
            y.iter_mut().for_each(|v| *v *= 0.5);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The series of `f(x0 + t)` (so `x = [x0, 1, 0, ...]`) against known derivatives.
    fn line(x0: f64, n: usize) -> Vec<f64> {
        let mut x = vec![0.0; n];
        x[0] = x0;
        if n > 1 {
            x[1] = 1.0;
        }
        x
    }

    #[test]
    fn elementary_series_match_closed_forms() {
        let x = line(0.3, 5);
        let mut y = vec![0.0; 5];
        exp(&x, &mut y);
        let mut fact = 1.0;
        for (k, yk) in y.iter().enumerate() {
            if k > 0 {
                fact *= k as f64;
            }
            assert!(
                (yk * fact - 0.3f64.exp()).abs() < 1e-12,
                "exp coefficient {k}"
            );
        }
        // tanh: t' = 1 - t^2, t'' = -2 t (1 - t^2)
        let t = 0.3f64.tanh();
        tanh(&x, &mut y);
        assert!((y[1] - (1.0 - t * t)).abs() < 1e-12);
        assert!((2.0 * y[2] - (-2.0 * t * (1.0 - t * t))).abs() < 1e-12);
        // ln(x0 + t) = ln x0 + t/x0 - t^2/(2 x0^2) + t^3/(3 x0^3)
        let x = line(2.0, 4);
        ln(&x, &mut y[..4]);
        assert!((y[3] - 1.0 / 24.0).abs() < 1e-12);
        // (x0 + t)^-0.5: second coefficient 3/8 x0^-2.5
        powf(&x, -0.5, &mut y[..4]);
        assert!((y[2] - 0.375 * 2f64.powf(-2.5)).abs() < 1e-12);
        let (mut s, mut c) = (vec![0.0; 4], vec![0.0; 4]);
        sin_cos(&line(0.7, 4), &mut s, &mut c);
        assert!((s[3] * 6.0 + 0.7f64.cos()).abs() < 1e-12);
    }
}
