//! The worked example of docs/ARCHITECTURE.md ("How to add a block"): a squeeze-and-excitation
//! gate written against the public [`Block`] trait alone, in one file, with its f64
//! finite-difference gradient check. Registering it in a network is then one line in the
//! `blocks!` table of `layers/mod.rs` plus its spec variant and `FromSpec` impl; the gradient-check registry test
//! (`tests/gradcheck.rs`) fails until a case for the new kind is added there too.

use mlp::Real;
use mlp::layers::{Block, Cx, ParamKind, ParamShape};
use mlp::rng::Rng;
use mlp::verify::Bounds;

/// Squeeze-and-excitation gate: `y = x * sigmoid(W2 relu(W1 x + b1) + b2)`, `W1: r x f`,
/// `W2: f x r` (a learned per-feature gate computed from the whole row).
#[derive(Debug, Clone)]
struct SeGate {
    features: usize,
    reduced: usize,
}

impl SeGate {
    /// Offsets of `W1`, `b1`, `W2`, `b2` in the block's parameter slice.
    fn offsets(&self) -> [usize; 4] {
        let (f, r) = (self.features, self.reduced);
        [0, r * f, r * f + r, 2 * r * f + r]
    }
}

impl Block for SeGate {
    fn kind(&self) -> &'static str {
        "se_gate"
    }
    fn in_features(&self) -> usize {
        self.features
    }
    fn out_features(&self) -> usize {
        self.features
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        let (f, r) = (self.features, self.reduced);
        vec![
            ("squeeze.weight".into(), vec![r, f], ParamKind::Weight),
            ("squeeze.bias".into(), vec![r], ParamKind::Bias),
            ("excite.weight".into(), vec![f, r], ParamKind::Weight),
            ("excite.bias".into(), vec![f], ParamKind::Bias),
        ]
    }
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        for p in params.iter_mut() {
            *p = 0.5 * rng.normal();
        }
    }
    /// Saved per row: the hidden activations `h` (r) and the gate `g` (f).
    fn aux_len(&self, batch: usize) -> usize {
        batch * (self.reduced + self.features)
    }
    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        let (f, r) = (self.features, self.reduced);
        let [o1, ob1, o2, ob2] = self.offsets();
        for row in 0..cx.batch {
            let xr = &x[row * f..(row + 1) * f];
            let (h, g) = cx.aux[row * (r + f)..(row + 1) * (r + f)].split_at_mut(r);
            for (i, hi) in h.iter_mut().enumerate() {
                let w = &cx.params[o1 + i * f..o1 + (i + 1) * f];
                let z = xr
                    .iter()
                    .zip(w)
                    .fold(cx.params[ob1 + i], |a, (&x, &w)| a + x * w);
                *hi = z.max(T::zero());
            }
            for j in 0..f {
                let w = &cx.params[o2 + j * r..o2 + (j + 1) * r];
                let z = h
                    .iter()
                    .zip(w)
                    .fold(cx.params[ob2 + j], |a, (&h, &w)| a + h * w);
                g[j] = T::one() / (T::one() + (-z).exp());
                y[row * f + j] = xr[j] * g[j];
            }
        }
    }
    /// The inference pass is the training forward on the caller's scratch.
    fn infer_len(&self, batch: usize) -> usize {
        self.aux_len(batch)
    }
    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], scratch: &mut [T]) {
        let mut rng = Rng::seed_from(0);
        let aux = &mut scratch[..self.aux_len(batch)];
        self.forward(&mut Cx::forward(params, aux, batch, &mut rng), x, y);
    }
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        x: &[T],
        _y: &[T],
        dy: &mut [T],
        mut dx: Option<&mut [T]>,
    ) {
        let (f, r) = (self.features, self.reduced);
        let [o1, ob1, o2, ob2] = self.offsets();
        for row in 0..cx.batch {
            let xr = &x[row * f..(row + 1) * f];
            let (h, g) = cx.aux[row * (r + f)..(row + 1) * (r + f)].split_at(r);
            let dyr = &dy[row * f..(row + 1) * f];
            // dz_j = dy_j x_j g_j (1 - g_j), the excitation's pre-activation gradient.
            let dz: Vec<T> = (0..f)
                .map(|j| dyr[j] * xr[j] * g[j] * (T::one() - g[j]))
                .collect();
            let mut dh = vec![T::zero(); r];
            for (j, &dzj) in dz.iter().enumerate() {
                cx.d_params[ob2 + j] = cx.d_params[ob2 + j] + dzj;
                for (i, (dhi, &hi)) in dh.iter_mut().zip(h).enumerate() {
                    let k = o2 + j * r + i;
                    cx.d_params[k] = cx.d_params[k] + dzj * hi;
                    *dhi = *dhi + dzj * cx.params[k];
                }
            }
            for (i, d) in dh.iter_mut().enumerate() {
                if h[i] <= T::zero() {
                    *d = T::zero();
                }
            }
            if let Some(dx) = dx.as_deref_mut() {
                for j in 0..f {
                    dx[row * f + j] = dyr[j] * g[j];
                }
            }
            for (i, &dhi) in dh.iter().enumerate() {
                cx.d_params[ob1 + i] = cx.d_params[ob1 + i] + dhi;
                for (j, &xj) in xr.iter().enumerate() {
                    let k = o1 + i * f + j;
                    cx.d_params[k] = cx.d_params[k] + dhi * xj;
                    if let Some(dx) = dx.as_deref_mut() {
                        dx[row * f + j] = dx[row * f + j] + dhi * cx.params[k];
                    }
                }
            }
        }
    }
    fn describe(&self) -> String {
        format!(
            "se_gate {} (reduced {})  {} params",
            self.features,
            self.reduced,
            self.n_params()
        )
    }
}

/// `sum(proj * block(x))` with its parameter and input gradients.
fn objective(
    block: &SeGate,
    params: &[f64],
    x: &[f64],
    batch: usize,
    proj: &[f64],
) -> (f64, Vec<f64>, Vec<f64>) {
    let mut aux = vec![0.0; block.aux_len(batch)];
    let mut rng = Rng::seed_from(0);
    let mut y = vec![0.0; batch * block.out_features()];
    block.forward(
        &mut Cx::forward(params, &mut aux, batch, &mut rng),
        x,
        &mut y,
    );
    let value = y.iter().zip(proj).map(|(a, b)| a * b).sum();
    let mut d_params = vec![0.0; params.len()];
    let mut d_x = vec![0.0; x.len()];
    let mut dy = proj.to_vec();
    let mut cx = Cx {
        params,
        d_params: &mut d_params,
        aux: &mut aux,
        batch,
        rng: &mut rng,
    };
    block.backward(&mut cx, x, &y, &mut dy, Some(&mut d_x));
    (value, d_params, d_x)
}

#[test]
fn se_gate_matches_central_differences() {
    let block = SeGate {
        features: 5,
        reduced: 2,
    };
    let batch = 3;
    let mut params32 = vec![0.0f32; block.n_params()];
    block.init_params(&mut params32, &mut Rng::seed_from(4));
    let params: Vec<f64> = params32.iter().map(|&p| p as f64 + 0.1).collect();
    let mut rng = Rng::seed_from(7);
    let x: Vec<f64> = (0..batch * 5).map(|_| rng.normal() as f64).collect();
    let proj: Vec<f64> = (0..batch * 5).map(|_| rng.normal() as f64).collect();
    let (_, grads, d_x) = objective(&block, &params, &x, batch, &proj);
    let h = 1e-6;
    let close = |what: String, a: f64, n: f64| {
        assert!(
            (a - n).abs() <= 1e-6 * (1.0 + a.abs().max(n.abs())),
            "{what}: analytic {a} vs numeric {n}"
        );
    };
    for i in 0..params.len() {
        let (mut up, mut down) = (params.clone(), params.clone());
        up[i] += h;
        down[i] -= h;
        let numeric = (objective(&block, &up, &x, batch, &proj).0
            - objective(&block, &down, &x, batch, &proj).0)
            / (2.0 * h);
        close(format!("param {i}"), grads[i], numeric);
    }
    for i in 0..x.len() {
        let (mut up, mut down) = (x.clone(), x.clone());
        up[i] += h;
        down[i] -= h;
        let numeric = (objective(&block, &params, &up, batch, &proj).0
            - objective(&block, &params, &down, batch, &proj).0)
            / (2.0 * h);
        close(format!("input {i}"), d_x[i], numeric);
    }
}

#[test]
fn optional_capabilities_default_to_an_error_naming_the_block() {
    let block = SeGate {
        features: 3,
        reduced: 1,
    };
    assert_eq!(block.n_params(), 3 + 1 + 3 + 3);
    assert!(block.describe().starts_with("se_gate 3"));
    let err = block
        .interval(&[0.0; 10], &Bounds::around(&[0.0; 3], &[0.1]).expect("box"))
        .expect_err("no interval rule");
    let msg = err.to_string();
    assert!(msg.contains("se_gate") && msg.contains("interval"), "{msg}");
    let mut stack = mlp::verify::crown::CrownStack::default();
    let msg = block
        .crown(&[0.0; 10], &mut stack)
        .expect_err("no CROWN rule")
        .to_string();
    assert!(msg.contains("se_gate") && msg.contains("CROWN"), "{msg}");
}
