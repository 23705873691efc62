//! Taylor jets: exact input derivatives of a network up to any order, by forward-mode truncated
//! Taylor arithmetic.
//!
//! A jet of `f` at `x` along `d` is the series of `t -> f(x + t d)` truncated at order `K`.
//! Affine layers act linearly on every coefficient; activations compose their series
//! ([`series`]); layer norm composes mean, square and `(v + eps)^(-1/2)`. [`Network::jet`] returns
//! the **derivatives** `d^k/dt^k f(x + t d)` at `t = 0` (`k! a_k`, not the coefficients `a_k`);
//! gradient, Hessian and Hessian-vector products are built from jets along unit and summed
//! directions ([`Network::jet_gradient`], [`Network::jet_hessian`], [`Network::jet_hvp`]).
//! [`model_jet`] works in a model's raw units: the input standardisation is affine (applied to
//! the point and the direction) and a regressor's target scaling is undone on the outputs.
//!
//! Inference semantics throughout (dropout off, batch norm on its running statistics). Kinds
//! without a jet rule (KAN, FinalMLP, embeddings, forecasters, QAT) are refused with an error
//! naming them.

pub mod series;

use crate::layers::{Chain, Integrator, Layer};
use crate::model::{InputSchema, Model};
use crate::network::Network;
use crate::{Error, Result};

/// A batch of jets: `rows` independent evaluations (directions), `width` variables each, every
/// variable a series of `order + 1` normalized Taylor coefficients. Layout
/// `[row][variable][coefficient]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Jets {
    /// Independent evaluations.
    pub rows: usize,
    /// Variables per row.
    pub width: usize,
    /// Truncation order `K`.
    pub order: usize,
    /// `rows * width * (order + 1)` coefficients.
    pub data: Vec<f64>,
}

impl Jets {
    /// Zero jets.
    pub fn zeros(rows: usize, width: usize, order: usize) -> Self {
        Jets {
            rows,
            width,
            order,
            data: vec![0.0; rows * width * (order + 1)],
        }
    }

    /// Jets of the lines `x + t d_r`, one row per direction (every `d_r` as long as `x`; the
    /// public entry points check that).
    pub(crate) fn lines(x: &[f64], directions: &[Vec<f64>], order: usize) -> Self {
        let mut j = Jets::zeros(directions.len(), x.len(), order);
        for (r, d) in directions.iter().enumerate() {
            for (i, &xi) in x.iter().enumerate() {
                let s = j.at_mut(r, i);
                s[0] = xi;
                if order > 0 {
                    s[1] = d[i];
                }
            }
        }
        j
    }

    fn n(&self) -> usize {
        self.order + 1
    }

    /// The series of variable `i` in row `r`.
    pub fn at(&self, r: usize, i: usize) -> &[f64] {
        let n = self.n();
        let o = (r * self.width + i) * n;
        &self.data[o..o + n]
    }

    /// The series of variable `i` in row `r`, mutable.
    pub fn at_mut(&mut self, r: usize, i: usize) -> &mut [f64] {
        let n = self.n();
        let o = (r * self.width + i) * n;
        &mut self.data[o..o + n]
    }

    /// `y = x W^T + b` on every coefficient (`W: out x in`, the bias on the constant term only).
    fn affine(&self, w: &[f64], b: Option<&[f64]>, out: usize) -> Jets {
        let n = self.n();
        let mut y = Jets::zeros(self.rows, out, self.order);
        for r in 0..self.rows {
            for o in 0..out {
                let row = &w[o * self.width..(o + 1) * self.width];
                let ys = &mut y.data[(r * out + o) * n..(r * out + o + 1) * n];
                for (i, &wi) in row.iter().enumerate() {
                    if wi == 0.0 {
                        continue;
                    }
                    let xs = &self.data[(r * self.width + i) * n..(r * self.width + i + 1) * n];
                    for (yk, &xk) in ys.iter_mut().zip(xs) {
                        *yk += wi * xk;
                    }
                }
                if let Some(b) = b {
                    ys[0] += b[o];
                }
            }
        }
        y
    }

    /// Elementwise activation.
    fn activate(&mut self, act: crate::Activation) {
        if act == crate::Activation::Identity {
            return;
        }
        let n = self.n();
        let mut y = vec![0.0; n];
        for s in self.data.chunks_exact_mut(n) {
            series::activation(act, s, &mut y);
            s.copy_from_slice(&y);
        }
    }

    /// `self = a self + b other`, coefficientwise.
    fn axpby(&mut self, a: f64, other: &Jets, b: f64) {
        for (x, &y) in self.data.iter_mut().zip(&other.data) {
            *x = a * *x + b * y;
        }
    }
}

/// The jet of one top-level or inner layer (`params` its slice, as `f64`).
fn layer_jet(layer: &Layer, params: &[f64], x: &Jets, here: &str) -> Result<Jets> {
    match layer {
        Layer::Dense(d) => {
            let nw = d.out_features * d.in_features;
            let b = d.bias.then(|| &params[nw..nw + d.out_features]);
            let mut y = x.affine(&params[..nw], b, d.out_features);
            y.activate(d.activation);
            Ok(y)
        }
        // Inference semantics: dropout is the identity.
        Layer::Dropout(_) => Ok(x.clone()),
        Layer::BatchNorm(bn) => {
            // Running statistics: an affine map per feature.
            let f = bn.features;
            let eps = bn.eps as f64;
            let mut y = x.clone();
            for r in 0..x.rows {
                for j in 0..f {
                    let s = params[j] / (params[3 * f + j] + eps).sqrt();
                    let ys = y.at_mut(r, j);
                    ys.iter_mut().for_each(|v| *v *= s);
                    ys[0] += params[f + j] - s * params[2 * f + j];
                }
            }
            Ok(y)
        }
        Layer::LayerNorm(ln) => Ok(layer_norm_jet(params, ln.features, ln.eps as f64, x)),
        Layer::Glu(g) => {
            let (i, h, o) = (g.in_features, g.hidden, g.out_features);
            let w12 = h * i;
            let (gw, r) = params.split_at(w12);
            let (gb, r) = r.split_at(h);
            let (vw, r) = r.split_at(w12);
            let (vb, r) = r.split_at(h);
            let (ow, r) = r.split_at(o * h);
            let ob = &r[..o];
            let mut a = x.affine(gw, Some(gb), h);
            a.activate(g.gate);
            let u = x.affine(vw, Some(vb), h);
            let mut p = Jets::zeros(x.rows, h, x.order);
            for ((ps, a_s), us) in p
                .data
                .chunks_exact_mut(x.n())
                .zip(a.data.chunks_exact(x.n()))
                .zip(u.data.chunks_exact(x.n()))
            {
                series::mul(a_s, us, ps);
            }
            Ok(p.affine(ow, Some(ob), o))
        }
        Layer::Residual(res) => {
            let mut y = chain_jet(&res.branch, params, x, here)?;
            y.axpby(1.0, x, 1.0);
            Ok(y)
        }
        Layer::Recurrent(rec) => {
            let dt = rec.dt as f64;
            let mut h = x.clone();
            for _ in 0..rec.steps {
                let f = chain_jet(&rec.block, params, &h, here)?;
                match rec.integrator {
                    Integrator::Euler => h.axpby(1.0 - dt, &f, dt),
                    Integrator::Rk2 => {
                        let mut m = h.clone();
                        m.axpby(1.0 - dt / 2.0, &f, dt / 2.0);
                        let fm = chain_jet(&rec.block, params, &m, here)?;
                        // h + dt (F(m) - m)
                        h.axpby(1.0, &fm, dt);
                        h.axpby(1.0, &m, -dt);
                    }
                }
            }
            Ok(h)
        }
        other => Err(Error::config(
            here.to_string(),
            format!(
                "Taylor jets have no rule for '{}' layers (supported: dense, dropout, batch_norm, \
                 layer_norm, glu, residual, recurrent)",
                other.kind()
            ),
        )),
    }
}

/// Layer norm on jets: `c = x - mean(x)`, `v = mean(c^2) + eps`, `y = gamma c v^(-1/2) + beta`.
fn layer_norm_jet(params: &[f64], d: usize, eps: f64, x: &Jets) -> Jets {
    let n = x.n();
    let (gamma, beta) = params.split_at(d);
    let mut y = Jets::zeros(x.rows, d, x.order);
    let mut c = vec![0.0; d * n];
    let mut sq = vec![0.0; n];
    let mut v = vec![0.0; n];
    let mut rs = vec![0.0; n];
    let mut t = vec![0.0; n];
    for r in 0..x.rows {
        let mut mean = vec![0.0; n];
        for j in 0..d {
            for (m, &xk) in mean.iter_mut().zip(x.at(r, j)) {
                *m += xk / d as f64;
            }
        }
        v.fill(0.0);
        for j in 0..d {
            let cj = &mut c[j * n..(j + 1) * n];
            for ((ck, &xk), &mk) in cj.iter_mut().zip(x.at(r, j)).zip(&mean) {
                *ck = xk - mk;
            }
            series::mul(cj, cj, &mut sq);
            for (vk, &s) in v.iter_mut().zip(&sq) {
                *vk += s / d as f64;
            }
        }
        v[0] += eps;
        series::powf(&v, -0.5, &mut rs);
        for j in 0..d {
            series::mul(&c[j * n..(j + 1) * n], &rs, &mut t);
            let ys = y.at_mut(r, j);
            for (yk, &tk) in ys.iter_mut().zip(&t) {
                *yk = gamma[j] * tk;
            }
            ys[0] += beta[j];
        }
    }
    y
}

/// Jets through a chain of inner layers sharing one parameter slice.
fn chain_jet(chain: &Chain, params: &[f64], x: &Jets, here: &str) -> Result<Jets> {
    let mut off = 0;
    let mut h = x.clone();
    for (j, l) in chain.layers.iter().enumerate() {
        let len = l.n_params();
        h = layer_jet(l, &params[off..off + len], &h, &format!("{here}.block.{j}"))?;
        off += len;
    }
    Ok(h)
}

/// `k!` for `k <= order`.
fn factorials(order: usize) -> Vec<f64> {
    let mut f = vec![1.0; order + 1];
    for k in 1..=order {
        f[k] = f[k - 1] * k as f64;
    }
    f
}

impl Network {
    /// Propagates jets through every layer (the network's parameters as `f64`). The input
    /// jets live in the network's input space (standardized units).
    pub fn propagate_jets(&self, x: &Jets) -> Result<Jets> {
        if x.width != self.inputs() {
            return Err(Error::shape("jet input", self.inputs(), x.width));
        }
        // The fields are public: a hand-built batch may not hold what it claims.
        let expected = x.rows * x.width * (x.order + 1);
        if x.data.len() != expected {
            return Err(Error::shape("jet coefficients", expected, x.data.len()));
        }
        let params: Vec<f64> = self.params().iter().map(|&p| p as f64).collect();
        let mut h = x.clone();
        for (i, layer) in self.layers().iter().enumerate() {
            let range = self.layer_range(i).unwrap_or(0..0);
            h = layer_jet(layer, &params[range], &h, &format!("layers.{i}"))?;
        }
        Ok(h)
    }

    /// The derivatives of `t -> f(x + t d)` at `t = 0`: for each output `o`, `[f_o(x), d/dt
    /// f_o, d^2/dt^2 f_o, ..., d^K/dt^K f_o]` (derivatives, i.e. `k!` times the Taylor
    /// coefficients). `x` and `d` are in the network's input space; outputs are the raw network
    /// outputs (logits).
    ///
    /// ```
    /// use mlp::Activation;
    /// let net = mlp::spec::ModelSpec::mlp(2, &[8], 1, Activation::Tanh, 0.0).build(1).unwrap();
    /// let d = net.jet(&[0.1, -0.2], &[1.0, 0.0], 3).unwrap();
    /// assert_eq!(d[0].len(), 4); // value and three derivatives
    /// ```
    pub fn jet(&self, x: &[f64], direction: &[f64], order: usize) -> Result<Vec<Vec<f64>>> {
        check_vec("jet point", x, self.inputs())?;
        check_vec("jet direction", direction, self.inputs())?;
        let y = self.propagate_jets(&Jets::lines(x, &[direction.to_vec()], order))?;
        let fact = factorials(order);
        Ok((0..y.width)
            .map(|o| y.at(0, o).iter().zip(&fact).map(|(a, f)| a * f).collect())
            .collect())
    }

    /// The gradient of every output in its inputs at `x`: `[output][input]` (first-order jets
    /// along the unit vectors).
    pub fn jet_gradient(&self, x: &[f64]) -> Result<Vec<Vec<f64>>> {
        check_vec("jet point", x, self.inputs())?;
        let n = self.inputs();
        let y = self.propagate_jets(&Jets::lines(x, &unit_vectors(n), 1))?;
        Ok((0..y.width)
            .map(|o| (0..n).map(|i| y.at(i, o)[1]).collect())
            .collect())
    }

    /// The Hessian of every output in its inputs at `x`: `[output][i * inputs + j]`, from
    /// second-order jets along `e_i` and `e_i + e_j` (polarization: `D^2_{e_i + e_j} = H_ii +
    /// 2 H_ij + H_jj`).
    pub fn jet_hessian(&self, x: &[f64]) -> Result<Vec<Vec<f64>>> {
        check_vec("jet point", x, self.inputs())?;
        let n = self.inputs();
        let mut dirs = unit_vectors(n);
        let mut pairs = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                let mut d = vec![0.0; n];
                d[i] = 1.0;
                d[j] = 1.0;
                dirs.push(d);
                pairs.push((i, j));
            }
        }
        let y = self.propagate_jets(&Jets::lines(x, &dirs, 2))?;
        Ok((0..y.width)
            .map(|o| {
                let second = |r: usize| 2.0 * y.at(r, o)[2];
                let mut h = vec![0.0; n * n];
                for i in 0..n {
                    h[i * n + i] = second(i);
                }
                for (p, &(i, j)) in pairs.iter().enumerate() {
                    let hij = 0.5 * (second(n + p) - second(i) - second(j));
                    h[i * n + j] = hij;
                    h[j * n + i] = hij;
                }
                h
            })
            .collect())
    }

    /// Hessian-vector products `H_o v` for every output at `x`: `[output][input]`, from
    /// second-order jets along `v`, `e_i` and `e_i + v` (`n + 1` + `n` jets; no Hessian built).
    pub fn jet_hvp(&self, x: &[f64], v: &[f64]) -> Result<Vec<Vec<f64>>> {
        check_vec("jet point", x, self.inputs())?;
        check_vec("jet vector", v, self.inputs())?;
        let n = self.inputs();
        let mut dirs = unit_vectors(n);
        for i in 0..n {
            let mut d = v.to_vec();
            d[i] += 1.0;
            dirs.push(d);
        }
        dirs.push(v.to_vec());
        let y = self.propagate_jets(&Jets::lines(x, &dirs, 2))?;
        Ok((0..y.width)
            .map(|o| {
                let second = |r: usize| 2.0 * y.at(r, o)[2];
                (0..n)
                    .map(|i| 0.5 * (second(n + i) - second(i) - second(2 * n)))
                    .collect()
            })
            .collect())
    }
}

fn check_vec(what: &str, v: &[f64], n: usize) -> Result<()> {
    if v.len() != n {
        return Err(Error::shape(what, n, v.len()));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidData(format!(
            "{what}: feature {i} is {}; jets need finite values",
            v[i]
        )));
    }
    Ok(())
}

fn unit_vectors(n: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            e
        })
        .collect()
}

/// The affine map from a model's raw feature units to its network input, per encoded feature:
/// `net = (raw - offset) / scale` (the CSV preprocessor's standardization composed with the
/// model's scaler). One-hot features have offset 0 and scale 1 (they are indicators, not
/// quantities to differentiate along).
pub fn input_affine(model: &Model) -> (Vec<f64>, Vec<f64>) {
    let n = model.n_features();
    let (mut pre_mean, mut pre_scale) = (vec![0.0; n], vec![1.0; n]);
    if let InputSchema::Tabular { preprocessor } = model.input() {
        let mut j = 0;
        for c in &preprocessor.columns {
            if let crate::data::preprocess::FeatureColumn::Numeric { mean, scale, .. } = c {
                pre_mean[j] = *mean;
                pre_scale[j] = *scale;
            }
            j += c.width();
        }
    }
    let sc = model.scaler();
    let at = |v: &[f32], j: usize, d: f32| v.get(j).copied().unwrap_or(d) as f64;
    let offset = (0..n)
        .map(|j| pre_mean[j] + pre_scale[j] * at(&sc.mean, j, 0.0))
        .collect();
    let scale = (0..n)
        .map(|j| pre_scale[j] * at(&sc.scale, j, 1.0))
        .collect();
    (offset, scale)
}

/// [`Network::jet`] of a model in raw units: `x` and `d` are encoded features in the file's
/// units (numeric columns as written, one-hot indicators as 0/1), converted with
/// [`input_affine`]; the outputs are logits for classifiers and raw-unit targets for regressors
/// (the target standardisation undone: value `mean + scale f`, derivatives `scale f^(k)`).
pub fn model_jet(model: &Model, x: &[f64], d: &[f64], order: usize) -> Result<Vec<Vec<f64>>> {
    let n = model.n_features();
    check_vec("jet point", x, n)?;
    check_vec("jet direction", d, n)?;
    let (offset, scale) = input_affine(model);
    let xn: Vec<f64> = (0..n).map(|j| (x[j] - offset[j]) / scale[j]).collect();
    let dn: Vec<f64> = (0..n).map(|j| d[j] / scale[j]).collect();
    let mut out = model.network().jet(&xn, &dn, order)?;
    if let crate::data::preprocess::TargetEncoder::Standardized { mean, scale, .. } = model.target()
    {
        for (o, row) in out.iter_mut().enumerate() {
            let (m, s) = (
                mean.get(o).copied().unwrap_or(0.0),
                scale.get(o).copied().unwrap_or(1.0),
            );
            for (k, v) in row.iter_mut().enumerate() {
                *v = if k == 0 { m + s * *v } else { s * *v };
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
