//! Selectable KAN (S-KAN, "Activation Space Selectable Kolmogorov-Arnold Networks", 2024): every
//! output node mixes several basis families with learned softmax weights,
//! `y_j = sum_i b_ji silu(x_i) + sum_f softmax(a_j)_f y^f_j`, where `y^f` is a KAN layer in basis
//! family `f` (without its own base term). After training, [`SelectableKan::prune`] keeps one
//! family per layer.
//!
//! Backward: with `w_jf = softmax(a_j)_f` and `g_jf = sum_rows dy_j y^f_j`,
//! `da_jf = w_jf (g_jf - sum_g w_jg g_jg)`; family `f` receives `dy^f_j = w_jf dy_j`.

use super::kan::{Kan, KanBasis};
use super::{Block, Cx, ParamKind, ParamShape};
use crate::kernels::elementwise::Activation;
use crate::kernels::{Real, Transpose, gemm};
use crate::layers::init::Init;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec, MAX_REPEAT, MAX_WIDTH, limit, mismatch};

/// A KAN layer mixing several basis families per output node.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectableKan {
    /// Input width.
    pub in_features: usize,
    /// Output width.
    pub out_features: usize,
    /// The candidate families (each a KAN layer without a base term).
    pub families: Vec<Kan>,
}

impl SelectableKan {
    /// A layer over the given bases.
    pub fn new(in_features: usize, out_features: usize, bases: &[KanBasis]) -> Self {
        SelectableKan {
            in_features,
            out_features,
            families: bases
                .iter()
                .map(|&basis| Kan {
                    in_features,
                    out_features,
                    basis,
                    base: false,
                })
                .collect(),
        }
    }

    fn n_base(&self) -> usize {
        self.out_features * self.in_features
    }

    fn n_logits(&self) -> usize {
        self.out_features * self.families.len()
    }

    /// Per family: its output and its KAN buffers.
    fn families_len(&self, batch: usize) -> usize {
        let bo = batch * self.out_features;
        self.families
            .iter()
            .map(|f| bo + f.aux_len(batch))
            .sum::<usize>()
    }

    /// The mixture weights `softmax(a_j)` per output node into `w` (`out x families`).
    fn weights_into<T: Real>(&self, logits: &[T], w: &mut [T]) {
        let nf = self.families.len();
        w.copy_from_slice(logits);
        for row in w.chunks_exact_mut(nf) {
            let max = row.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
            let mut sum = T::zero();
            for v in row.iter_mut() {
                *v = (*v - max).exp();
                sum = sum + *v;
            }
            row.iter_mut().for_each(|v| *v = *v / sum);
        }
    }

    /// [`SelectableKan::weights_into`] into a new buffer (for the summaries, not the passes).
    fn weights(&self, logits: &[f32]) -> Vec<f32> {
        let mut w = vec![0.0; logits.len()];
        self.weights_into(logits, &mut w);
        w
    }

    /// Forward; `work` (`aux_len`) keeps each family's output for the backward (the training
    /// and the inference forward are this one function).
    fn apply<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        work: &mut [T],
    ) {
        let (i, o, nf) = (self.in_features, self.out_features, self.families.len());
        let (nb, nl) = (self.n_base(), self.n_logits());
        let work = &mut work[..Block::aux_len(self, batch)];
        let (rest, tail) = work.split_at_mut(work.len() - 2 * nl);
        let w = &mut tail[..nl];
        self.weights_into(&params[nb..nb + nl], w);
        let w = &*w;
        let (silu, mut rest) = rest.split_at_mut(batch * i);
        for (s, &x) in silu.iter_mut().zip(&input[..batch * i]) {
            *s = Activation::Silu.apply(x);
        }
        let out = &mut output[..batch * o];
        gemm(
            Transpose::No,
            Transpose::Yes,
            batch,
            o,
            i,
            T::one(),
            silu,
            &params[..nb],
            T::zero(),
            out,
        );
        let mut off = nb + nl;
        for (f, fam) in self.families.iter().enumerate() {
            let (y, r) = rest.split_at_mut(batch * o);
            let (fw, r) = r.split_at_mut(fam.aux_len(batch));
            rest = r;
            let n = fam.n_params();
            fam.apply(&params[off..off + n], input, batch, y, fw);
            off += n;
            for b in 0..batch {
                for j in 0..o {
                    out[b * o + j] = out[b * o + j] + w[j * nf + f] * y[b * o + j];
                }
            }
        }
    }

    /// Mean mixture weight of each family over the output nodes.
    pub fn family_weights(&self, params: &[f32]) -> Vec<f32> {
        let (nb, nl, nf) = (self.n_base(), self.n_logits(), self.families.len());
        let w = self.weights(&params[nb..nb + nl]);
        (0..nf)
            .map(|f| {
                (0..self.out_features).map(|j| w[j * nf + f]).sum::<f32>()
                    / self.out_features as f32
            })
            .collect()
    }

    /// Keeps the family with the largest mean weight: returns a plain [`Kan`] layer (with the
    /// base term) and its parameters, the kept coefficients scaled by each node's mixture weight
    /// so that family's contribution is unchanged; the other families are dropped.
    pub fn prune(&self, params: &[f32]) -> (usize, Kan, Vec<f32>) {
        let (nb, nl, nf) = (self.n_base(), self.n_logits(), self.families.len());
        let fw = self.family_weights(params);
        let best = (0..nf).fold(0, |b, f| if fw[f] > fw[b] { f } else { b });
        let w = self.weights(&params[nb..nb + nl]);
        let mut off = nb + nl;
        for fam in &self.families[..best] {
            off += fam.n_params();
        }
        let fam = &self.families[best];
        let per_node = self.in_features * fam.basis.len();
        let mut out = params[..nb].to_vec();
        for j in 0..self.out_features {
            let scale = w[j * nf + best];
            out.extend(
                params[off + j * per_node..off + (j + 1) * per_node]
                    .iter()
                    .map(|c| c * scale),
            );
        }
        let kan = Kan {
            in_features: self.in_features,
            out_features: self.out_features,
            basis: fam.basis,
            base: true,
        };
        (best, kan, out)
    }
}

/// Built from a `{"type": "selectable_kan"}` spec.
impl FromSpec for SelectableKan {
    fn check_sizes(spec: &LayerSpec, _width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::SelectableKan { units, bases } = spec else {
            return Err(mismatch(here, "selectable_kan"));
        };
        limit(here, "bases", Some(bases.len()), MAX_REPEAT)?;
        for b in bases {
            b.check_size(here)?;
        }
        limit(here, "units", Some(*units), MAX_WIDTH)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::SelectableKan { units, .. } => units,
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::SelectableKan { units, bases } = spec else {
            return Err(mismatch(here, "selectable_kan"));
        };
        if *units == 0 || bases.is_empty() {
            return Err(crate::Error::config(
                here,
                "a selectable_kan layer needs units >= 1 and at least one basis",
            ));
        }
        for (f, basis) in bases.iter().enumerate() {
            // The path the single-basis check has always reported (a one-layer `kan` list).
            basis.validate(format!("{here}.bases[{f}][0].basis"))?;
        }
        Ok(SelectableKan::new(width, *units, bases))
    }
}

impl Block for SelectableKan {
    fn kind(&self) -> &'static str {
        "selectable_kan"
    }
    fn in_features(&self) -> usize {
        self.in_features
    }
    fn out_features(&self) -> usize {
        self.out_features
    }

    /// Base weights, mixture logits, then each family's coefficients.
    fn n_params(&self) -> usize {
        self.n_base() + self.n_logits() + self.families.iter().map(Kan::n_params).sum::<usize>()
    }

    /// `base.weight`, `select.logits` (`out x families`), `family.{f}.spline.weight`.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let mut v = vec![
            (
                "base.weight".to_string(),
                vec![self.out_features, self.in_features],
                ParamKind::Weight,
            ),
            (
                "select.logits".to_string(),
                vec![self.out_features, self.families.len()],
                ParamKind::Bias,
            ),
        ];
        for (f, fam) in self.families.iter().enumerate() {
            for (name, shape, kind) in fam.param_shapes() {
                v.push((format!("family.{f}.{name}"), shape, kind));
            }
        }
        v
    }

    /// Base Xavier-uniform, logits zero (uniform mixture), families as [`Kan`].
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        let (nb, nl) = (self.n_base(), self.n_logits());
        Init::XavierUniform.fill(&mut params[..nb], self.in_features, self.out_features, rng);
        params[nb..nb + nl].iter_mut().for_each(|a| *a = 0.0);
        let mut off = nb + nl;
        for fam in &self.families {
            let n = fam.n_params();
            fam.init_params(&mut params[off..off + n], rng);
            off += n;
        }
    }

    /// `silu(x)`, per family its output and KAN buffers, then `dy` and `dx` scratch, the mixture
    /// weights and their gradient sums (`out x families` each).
    fn aux_len(&self, batch: usize) -> usize {
        let (bi, bo) = (batch * self.in_features, batch * self.out_features);
        bi + self.families_len(batch) + bo + bi + 2 * self.n_logits()
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

    /// Backward through the mixture, each family, and the base term.
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        input: &[T],
        _y: &[T],
        d_output: &mut [T],
        d_input: Option<&mut [T]>,
    ) {
        let (params, batch) = (cx.params, cx.batch);
        let (i, o, nf) = (self.in_features, self.out_features, self.families.len());
        let (nb, nl) = (self.n_base(), self.n_logits());
        let work = &mut cx.take_aux()[..Block::aux_len(self, batch)];
        let (rest, tail) = work.split_at_mut(work.len() - 2 * nl);
        let (w, g) = tail.split_at_mut(nl);
        self.weights_into(&params[nb..nb + nl], w);
        let w = &*w;
        let dy = &d_output[..batch * o];
        let (silu, mut rest) = rest.split_at_mut(batch * i);
        let (fam_area, scratch) = rest.split_at_mut(self.families_len(batch));
        rest = fam_area;
        let (dyf, dx_tmp) = scratch.split_at_mut(batch * o);
        let dx_tmp = &mut dx_tmp[..batch * i];
        let (d_base, d_rest) = cx.d_params.split_at_mut(nb);
        let (d_logits, mut d_fams) = d_rest.split_at_mut(nl);
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
        let mut d_x = d_input;
        if let Some(dx) = d_x.as_deref_mut() {
            // base term: silu'(x) * (dy Wb)
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
                &mut dx[..batch * i],
            );
            for idx in 0..batch * i {
                dx[idx] = dx[idx] * Activation::Silu.derivative(input[idx], T::zero());
            }
        }
        // g_jf = sum_b dy_bj y^f_bj
        g.iter_mut().for_each(|v| *v = T::zero());
        let mut off = nb + nl;
        let mut area = &mut *rest;
        for (f, fam) in self.families.iter().enumerate() {
            let (y, r) = area.split_at_mut(batch * o);
            let (fw, r) = r.split_at_mut(fam.aux_len(batch));
            area = r;
            for b in 0..batch {
                for j in 0..o {
                    g[j * nf + f] = g[j * nf + f] + dy[b * o + j] * y[b * o + j];
                }
            }
            for b in 0..batch {
                for j in 0..o {
                    dyf[b * o + j] = w[j * nf + f] * dy[b * o + j];
                }
            }
            let n = fam.n_params();
            let (d_fam, r) = d_fams.split_at_mut(n);
            d_fams = r;
            let mut fam_cx = Cx {
                params: &params[off..off + n],
                d_params: d_fam,
                aux: fw,
                batch,
                rng: &mut *cx.rng,
            };
            match d_x.as_deref_mut() {
                Some(dx) => {
                    fam.backward(&mut fam_cx, input, &[], dyf, Some(&mut *dx_tmp));
                    for (d, &t) in dx[..batch * i].iter_mut().zip(dx_tmp.iter()) {
                        *d = *d + t;
                    }
                }
                None => fam.backward(&mut fam_cx, input, &[], dyf, None),
            }
            off += n;
        }
        for j in 0..o {
            let mean: T = (0..nf).fold(T::zero(), |a, f| a + w[j * nf + f] * g[j * nf + f]);
            for f in 0..nf {
                d_logits[j * nf + f] =
                    d_logits[j * nf + f] + w[j * nf + f] * (g[j * nf + f] - mean);
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "selectable_kan {} -> {}  bases {}  {} params",
            self.in_features,
            self.out_features,
            self.families
                .iter()
                .map(|f| f.basis.name())
                .collect::<Vec<_>>()
                .join(", "),
            Block::n_params(self)
        )
    }
}
