//! Kolmogorov-Arnold layer (Liu et al., 2024): every edge `i -> j` carries a learnable univariate
//! function `phi_ij(x) = b_ji silu(x) + sum_k c_jik B_k(x)`, and `y_j = sum_i phi_ij(x_i)`.
//!
//! The basis `B_k` is selectable: cubic (any order) **B-splines** on a uniform grid over `range`
//! (Cox-de Boor), **Chebyshev** polynomials `T_k(tanh x)`, **Fourier** terms `cos(k x)`,
//! `sin(k x)`, or **Gaussian RBFs** centred on the grid. With the basis values of a batch laid out
//! as `B: batch x (in * K)`, the layer is two matrix products: `y = silu(X) Wb^T + B C^T`, with
//! `Wb: out x in` and `C: out x (in * K)` (`efficient-kan`'s formulation).
//!
//! Backward: `dWb += dy^T silu(X)`; `dC += dy^T B`; `dX = silu'(X) * (dy Wb) + sum_k (dy C)_k *
//! B'_k(X)`, with the basis derivatives saved by the forward.

use super::{Block, Cx, ParamKind, ParamShape};
use crate::kernels::elementwise::Activation;
use crate::kernels::{Real, Transpose, gemm};
use crate::layers::init::Init;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec, MAX_WIDTH, limit, mismatch};
use serde::{Deserialize, Serialize};

/// The univariate basis of a KAN layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum KanBasis {
    /// B-splines of `order` on `grid` uniform intervals over `[low, high]` (`grid + order`
    /// functions); zero outside the extended grid.
    Bspline {
        /// Number of grid intervals.
        grid: usize,
        /// Spline order (3 = cubic).
        order: usize,
        /// Lower end of the grid.
        low: f32,
        /// Upper end of the grid.
        high: f32,
    },
    /// Chebyshev polynomials `T_0..T_degree` of `tanh(x)`.
    Chebyshev {
        /// Highest degree.
        degree: usize,
    },
    /// `cos(k x)` and `sin(k x)` for `k = 1..=frequencies`.
    Fourier {
        /// Number of frequencies.
        frequencies: usize,
    },
    /// Gaussians `exp(-((x - mu_k) / h)^2)` at `centers` points spread over `[low, high]`,
    /// `h` their spacing.
    Rbf {
        /// Number of centres (at least 2).
        centers: usize,
        /// First centre.
        low: f32,
        /// Last centre.
        high: f32,
    },
}

impl KanBasis {
    /// Number of basis functions `K`.
    pub fn len(&self) -> usize {
        match *self {
            KanBasis::Bspline { grid, order, .. } => grid + order,
            KanBasis::Chebyshev { degree } => degree + 1,
            KanBasis::Fourier { frequencies } => 2 * frequencies,
            KanBasis::Rbf { centers, .. } => centers,
        }
    }

    /// Whether the basis is empty (never for a validated spec).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The basis' name.
    pub fn name(&self) -> &'static str {
        match self {
            KanBasis::Bspline { .. } => "bspline",
            KanBasis::Chebyshev { .. } => "chebyshev",
            KanBasis::Fourier { .. } => "fourier",
            KanBasis::Rbf { .. } => "rbf",
        }
    }

    /// Writes `B_k(x)` into `value` and `B'_k(x)` into `deriv` (each of length `len()`);
    /// `work` is scratch of at least `len() + order + 1` elements.
    pub fn eval<T: Real>(&self, x: T, value: &mut [T], deriv: &mut [T], work: &mut [T]) {
        match *self {
            KanBasis::Bspline {
                grid,
                order,
                low,
                high,
            } => {
                let h = T::of(((high - low) / grid as f32) as f64);
                let t = |j: usize| T::of(low as f64) + T::of(j as f64 - order as f64) * h;
                // Order 0 over the extended knot vector: n0 = grid + 2 order intervals.
                let n0 = grid + 2 * order;
                for (j, w) in work.iter_mut().enumerate().take(n0) {
                    *w = if x >= t(j) && x < t(j + 1) {
                        T::one()
                    } else {
                        T::zero()
                    };
                }
                // Raise the order; `work[j]` holds B_{j,q}.
                for q in 1..=order {
                    if q == order {
                        // Derivatives of the final order from order - 1.
                        for (j, d) in deriv.iter_mut().enumerate().take(n0 - q) {
                            *d = (work[j] - work[j + 1]) / h;
                        }
                    }
                    let qf = T::of(q as f64);
                    for j in 0..n0 - q {
                        let left = (x - t(j)) / (qf * h) * work[j];
                        let right = (t(j + q + 1) - x) / (qf * h) * work[j + 1];
                        work[j] = left + right;
                    }
                }
                value[..n0 - order].copy_from_slice(&work[..n0 - order]);
                if order == 0 {
                    deriv[..n0].iter_mut().for_each(|d| *d = T::zero());
                }
            }
            KanBasis::Chebyshev { degree } => {
                let u = x.tanh();
                let du = T::one() - u * u;
                // T_k and their derivatives in u by the three-term recurrences.
                let (mut t0, mut t1) = (T::one(), u);
                let (mut d0, mut d1) = (T::zero(), T::one());
                for k in 0..=degree {
                    let (tk, dk) = match k {
                        0 => (t0, d0),
                        1 => (t1, d1),
                        _ => {
                            let t2 = T::of(2.0) * u * t1 - t0;
                            let d2 = T::of(2.0) * t1 + T::of(2.0) * u * d1 - d0;
                            t0 = t1;
                            t1 = t2;
                            d0 = d1;
                            d1 = d2;
                            (t2, d2)
                        }
                    };
                    value[k] = tk;
                    deriv[k] = dk * du;
                }
            }
            KanBasis::Fourier { frequencies } => {
                for k in 0..frequencies {
                    let f = T::of((k + 1) as f64);
                    let (s, c) = ((f * x).sin(), (f * x).cos());
                    value[2 * k] = c;
                    deriv[2 * k] = -f * s;
                    value[2 * k + 1] = s;
                    deriv[2 * k + 1] = f * c;
                }
            }
            KanBasis::Rbf { centers, low, high } => {
                let h = T::of(((high - low) / (centers - 1) as f32) as f64);
                for k in 0..centers {
                    let mu = T::of(low as f64) + T::of(k as f64) * h;
                    let z = (x - mu) / h;
                    let e = (-(z * z)).exp();
                    value[k] = e;
                    deriv[k] = T::of(-2.0) * z / h * e;
                }
            }
        }
    }

    fn work_len(&self) -> usize {
        match *self {
            KanBasis::Bspline { grid, order, .. } => grid + 2 * order + 1,
            _ => 1,
        }
    }
}

/// A KAN layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Kan {
    /// Input width.
    pub in_features: usize,
    /// Output width.
    pub out_features: usize,
    /// The basis of every edge function.
    pub basis: KanBasis,
    /// Whether each edge also has the residual `silu` term.
    pub base: bool,
}

impl Kan {
    fn k(&self) -> usize {
        self.basis.len()
    }

    fn n_base(&self) -> usize {
        if self.base {
            self.out_features * self.in_features
        } else {
            0
        }
    }

    /// Forward; `work` (`aux_len`) receives what the backward needs (the training and the
    /// inference forward are this one function).
    pub(super) fn apply<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        work: &mut [T],
    ) {
        let (i, o, k) = (self.in_features, self.out_features, self.k());
        let n = batch * i;
        let (silu, rest) = work.split_at_mut(n);
        let (basis, rest) = rest.split_at_mut(n * k);
        let (deriv, rest) = rest.split_at_mut(n * k);
        let scratch = &mut rest[n * k..];
        for (idx, &x) in input[..n].iter().enumerate() {
            silu[idx] = Activation::Silu.apply(x);
            self.basis.eval(
                x,
                &mut basis[idx * k..(idx + 1) * k],
                &mut deriv[idx * k..(idx + 1) * k],
                scratch,
            );
        }
        let out = &mut output[..batch * o];
        let nb = self.n_base();
        gemm(
            Transpose::No,
            Transpose::Yes,
            batch,
            o,
            i * k,
            T::one(),
            basis,
            &params[nb..],
            T::zero(),
            out,
        );
        if self.base {
            gemm(
                Transpose::No,
                Transpose::Yes,
                batch,
                o,
                i,
                T::one(),
                silu,
                &params[..nb],
                T::one(),
                out,
            );
        }
    }
}

impl KanBasis {
    /// Checks the number of basis functions per edge against [`crate::spec::MAX_REPEAT`]
    /// (checked arithmetic); `here` names the layer in errors.
    pub(crate) fn check_size(&self, here: &str) -> crate::Result<()> {
        let n = match *self {
            KanBasis::Bspline { grid, order, .. } => grid.checked_add(order),
            KanBasis::Chebyshev { degree } => degree.checked_add(1),
            KanBasis::Fourier { frequencies } => frequencies.checked_mul(2),
            KanBasis::Rbf { centers, .. } => Some(centers),
        };
        limit(here, "basis", n, crate::spec::MAX_REPEAT).map(|_| ())
    }

    /// Checks the basis's values; `field` names it in errors.
    pub(crate) fn validate(&self, field: String) -> crate::Result<()> {
        let ok = match *self {
            KanBasis::Bspline {
                grid,
                order,
                low,
                high,
            } => grid >= 1 && order <= 5 && low < high,
            KanBasis::Chebyshev { degree } => degree >= 1,
            KanBasis::Fourier { frequencies } => frequencies >= 1,
            KanBasis::Rbf { centers, low, high } => centers >= 2 && low < high,
        };
        if ok {
            return Ok(());
        }
        Err(crate::Error::config(
            field,
            "needs grid >= 1, order <= 5 and low < high (bspline), degree >= 1 (chebyshev), frequencies >= 1 (fourier), centers >= 2 and low < high (rbf)",
        ))
    }
}

/// Built from a `{"type": "kan"}` spec.
impl FromSpec for Kan {
    fn check_sizes(spec: &LayerSpec, _width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::Kan { units, basis, .. } = *spec else {
            return Err(mismatch(here, "kan"));
        };
        basis.check_size(here)?;
        limit(here, "units", Some(units), MAX_WIDTH)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::Kan { units, .. } => units,
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Kan {
            units, basis, base, ..
        } = *spec
        else {
            return Err(mismatch(here, "kan"));
        };
        if units == 0 {
            return Err(crate::Error::config(
                format!("{here}.units"),
                "a kan layer needs at least one unit",
            ));
        }
        basis.validate(format!("{here}.basis"))?;
        Ok(Kan {
            in_features: width,
            out_features: units,
            basis,
            base,
        })
    }
}

impl Block for Kan {
    fn kind(&self) -> &'static str {
        "kan"
    }
    fn in_features(&self) -> usize {
        self.in_features
    }
    fn out_features(&self) -> usize {
        self.out_features
    }

    /// Parameters: base weights (`out x in`, when `base`) and basis coefficients
    /// (`out x (in * K)`).
    fn n_params(&self) -> usize {
        self.n_base() + self.out_features * self.in_features * self.k()
    }

    /// `base.weight` and `spline.weight`.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let mut v = Vec::new();
        if self.base {
            v.push((
                "base.weight".to_string(),
                vec![self.out_features, self.in_features],
                ParamKind::Weight,
            ));
        }
        v.push((
            "spline.weight".to_string(),
            vec![self.out_features, self.in_features, self.k()],
            ParamKind::Weight,
        ));
        v
    }

    /// Base weights Xavier-uniform; coefficients `N(0, 0.1^2 / in)` (small, so the layer starts
    /// close to its `silu` part, as efficient-kan does).
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        let nb = self.n_base();
        Init::XavierUniform.fill(&mut params[..nb], self.in_features, self.out_features, rng);
        let std = 0.1 / (self.in_features.max(1) as f32).sqrt();
        for c in &mut params[nb..] {
            *c = std * rng.normal();
        }
    }

    /// `silu(x)`, basis values, basis derivatives and a `dy C` buffer.
    fn aux_len(&self, batch: usize) -> usize {
        let n = batch * self.in_features;
        n + 3 * n * self.k() + self.basis.work_len()
    }

    /// The inference forward runs the training forward's code on the same layout.
    fn infer_len(&self, batch: usize) -> usize {
        Block::aux_len(self, batch)
    }

    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        self.apply(cx.params, x, cx.batch, y, cx.aux)
    }

    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], scratch: &mut [T]) {
        self.apply(params, x, batch, y, scratch)
    }

    /// Backward from the saved basis values and derivatives.
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        input: &[T],
        _y: &[T],
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
    ) {
        let (params, batch) = (cx.params, cx.batch);
        let (work, d_params) = (&mut *cx.aux, &mut *cx.d_params);
        let (i, o, k) = (self.in_features, self.out_features, self.k());
        let n = batch * i;
        let (silu, rest) = work.split_at_mut(n);
        let (basis, rest) = rest.split_at_mut(n * k);
        let (deriv, rest) = rest.split_at_mut(n * k);
        let g = &mut rest[..n * k];
        let dy = &d_output[..batch * o];
        let nb = self.n_base();
        let (d_base, d_coef) = d_params.split_at_mut(nb);
        gemm(
            Transpose::Yes,
            Transpose::No,
            o,
            i * k,
            batch,
            T::one(),
            dy,
            basis,
            T::one(),
            d_coef,
        );
        if self.base {
            gemm(
                Transpose::Yes,
                Transpose::No,
                o,
                i,
                batch,
                T::one(),
                dy,
                silu,
                T::one(),
                d_base,
            );
        }
        if let Some(dx) = d_input {
            let dx = &mut dx[..n];
            // g = dy C  (batch x in*K), then contract with the basis derivatives.
            gemm(
                Transpose::No,
                Transpose::No,
                batch,
                i * k,
                o,
                T::one(),
                dy,
                &params[nb..],
                T::zero(),
                g,
            );
            for idx in 0..n {
                let mut s = T::zero();
                for q in 0..k {
                    s = s + g[idx * k + q] * deriv[idx * k + q];
                }
                dx[idx] = s;
            }
            if self.base {
                // Reuse `silu` for dy Wb, then scale by silu'(x).
                gemm(
                    Transpose::No,
                    Transpose::No,
                    batch,
                    i,
                    o,
                    T::one(),
                    dy,
                    &params[..nb],
                    T::zero(),
                    silu,
                );
                for idx in 0..n {
                    dx[idx] =
                        dx[idx] + silu[idx] * Activation::Silu.derivative(input[idx], T::zero());
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "kan {} -> {}  basis {} ({} functions){}  {} params",
            self.in_features,
            self.out_features,
            self.basis.name(),
            self.basis.len(),
            if self.base { " + silu base" } else { "" },
            Block::n_params(self)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsplines_form_a_partition_of_unity_inside_the_grid() {
        let basis = KanBasis::Bspline {
            grid: 5,
            order: 3,
            low: -1.0,
            high: 1.0,
        };
        let k = basis.len();
        let (mut v, mut d, mut w) = (vec![0.0f64; k], vec![0.0f64; k], vec![0.0f64; 20]);
        for i in 0..200 {
            let x = -0.999 + 1.998 * i as f64 / 199.0;
            basis.eval(x, &mut v, &mut d, &mut w);
            assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-12, "x={x}");
            assert!(
                d.iter().sum::<f64>().abs() < 1e-9,
                "derivatives sum to 0 at x={x}"
            );
            assert!(v.iter().all(|&b| b >= 0.0));
        }
        // Outside the extended grid every function is zero.
        basis.eval(5.0, &mut v, &mut d, &mut w);
        assert!(v.iter().all(|&b| b == 0.0));
    }

    #[test]
    fn basis_derivatives_match_finite_differences() {
        let bases = [
            KanBasis::Bspline {
                grid: 4,
                order: 3,
                low: -2.0,
                high: 2.0,
            },
            KanBasis::Bspline {
                grid: 3,
                order: 2,
                low: -1.0,
                high: 1.0,
            },
            KanBasis::Chebyshev { degree: 5 },
            KanBasis::Fourier { frequencies: 3 },
            KanBasis::Rbf {
                centers: 5,
                low: -2.0,
                high: 2.0,
            },
        ];
        for basis in bases {
            let k = basis.len();
            let mut w = vec![0.0f64; 32];
            for &x in &[-1.37f64, -0.41, 0.12, 0.77, 1.63] {
                let (mut v, mut d) = (vec![0.0; k], vec![0.0; k]);
                basis.eval(x, &mut v, &mut d, &mut w);
                let h = 1e-6;
                let (mut vp, mut vm, mut dd) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
                basis.eval(x + h, &mut vp, &mut dd, &mut w);
                basis.eval(x - h, &mut vm, &mut dd, &mut w);
                for q in 0..k {
                    let fd = (vp[q] - vm[q]) / (2.0 * h);
                    assert!(
                        (fd - d[q]).abs() < 1e-6,
                        "{}: B'_{q}({x}) {} vs {fd}",
                        basis.name(),
                        d[q]
                    );
                }
            }
        }
        // Chebyshev values: T_2(u) = 2u^2 - 1, T_3(u) = 4u^3 - 3u at u = tanh(0.5).
        let (mut v, mut d, mut w) = (vec![0.0f64; 4], vec![0.0f64; 4], vec![0.0f64; 1]);
        KanBasis::Chebyshev { degree: 3 }.eval(0.5, &mut v, &mut d, &mut w);
        let u = 0.5f64.tanh();
        assert!(
            (v[2] - (2.0 * u * u - 1.0)).abs() < 1e-14
                && (v[3] - (4.0 * u * u * u - 3.0 * u)).abs() < 1e-14
        );
    }
}
