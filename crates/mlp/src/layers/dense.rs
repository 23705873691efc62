//! Fully connected layer with a fused activation.
//!
//! Forward: `Y = act(X W^T + b)` with `X: batch x in_features`, `W: out_features x in_features`
//! (PyTorch's `nn.Linear` layout), `b: out_features`.
//!
//! Backward, with `G = dL/dY`: `dZ = G * act'(Z)`; `dW += dZ^T X`; `db += colsum(dZ)`;
//! `dX = dZ W`. Gradients accumulate into `d_params`; the caller zeroes them once per step.
//!
//! Inside a mixed-precision training scope (`--precision bf16`,
//! `kernels::bf16::MixedScope`) the three products of the training passes run in
//! bf16 with `f32` sums; the inference pass and the `f64` gradient checks always use the `f32`
//! (`f64`) GEMM.

use super::{Cx, ParamKind, ParamShape};
use crate::kernels::elementwise::{self, Activation};
use crate::kernels::{Real, Transpose, bf16, gemm};
use crate::layers::init::Init;
use crate::rng::Rng;
use crate::spec::{FromSpec, LayerSpec, MAX_WIDTH, limit, mismatch};

/// A dense (fully connected) layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Input width.
    pub in_features: usize,
    /// Output width.
    pub out_features: usize,
    /// Fused activation.
    pub activation: Activation,
    /// Whether the layer has a bias.
    pub bias: bool,
    /// Weight initializer.
    pub init: Init,
    /// Whether the optimizer updates this layer (false: a fixed layer, e.g. a random lift).
    pub trainable: bool,
}

impl Dense {
    /// `output = act(input W^T + b)`; saves pre-activations in `pre` when the backward needs
    /// them (the training and the inference forward are this one function). `training`: the
    /// product may run in bf16 (inside a mixed-precision scope).
    fn apply<T: Real>(
        &self,
        params: &[T],
        input: &[T],
        batch: usize,
        output: &mut [T],
        pre: Option<&mut [T]>,
        training: bool,
    ) {
        let (w, b) = self.split(params);
        let out = &mut output[..batch * self.out_features];
        let (inp, outf) = (self.in_features, self.out_features);
        if !(training && bf16::dense_forward(input, w, batch, inp, outf, out)) {
            self.product_forward(input, w, batch, out);
        }
        let pre = if self.activation.needs_preactivation() {
            pre
        } else {
            None
        };
        elementwise::bias_activation_forward(self.activation, out, self.out_features, b, pre);
    }

    /// `out = input W^T` (the `f32`/`f64` product).
    fn product_forward<T: Real>(&self, input: &[T], w: &[T], batch: usize, out: &mut [T]) {
        gemm(
            Transpose::No,
            Transpose::Yes,
            batch,
            self.out_features,
            self.in_features,
            T::one(),
            input,
            w,
            T::zero(),
            out,
        );
    }

    fn split<'a, T>(&self, params: &'a [T]) -> (&'a [T], Option<&'a [T]>) {
        let nw = self.out_features * self.in_features;
        let (w, rest) = params.split_at(nw);
        (
            w,
            if self.bias {
                Some(&rest[..self.out_features])
            } else {
                None
            },
        )
    }
}

/// Built from a `{"type": "dense"}` spec.
impl FromSpec for Dense {
    fn check_sizes(spec: &LayerSpec, _width: usize, here: &str) -> crate::Result<usize> {
        let LayerSpec::Dense { units, .. } = *spec else {
            return Err(mismatch(here, "dense"));
        };
        limit(here, "units", Some(units), MAX_WIDTH)
    }

    fn width_after(spec: &LayerSpec, width: usize) -> usize {
        match *spec {
            LayerSpec::Dense { units, .. } => units,
            _ => width,
        }
    }

    fn build(spec: &LayerSpec, width: usize, here: &str) -> crate::Result<Self> {
        let LayerSpec::Dense {
            units,
            activation,
            init,
            bias,
            trainable,
        } = *spec
        else {
            return Err(mismatch(here, "dense"));
        };
        if units == 0 {
            return Err(crate::Error::config(
                format!("{here}.units"),
                "a dense layer needs at least one unit",
            ));
        }
        Ok(Dense {
            in_features: width,
            out_features: units,
            activation,
            bias,
            init: init.unwrap_or_else(|| Init::default_for(activation)),
            trainable,
        })
    }
}

impl super::Block for Dense {
    fn kind(&self) -> &'static str {
        "dense"
    }
    fn in_features(&self) -> usize {
        self.in_features
    }
    fn out_features(&self) -> usize {
        self.out_features
    }

    /// `weight` (`out x in`) and `bias` (`out`); frozen when not trainable.
    fn param_shapes(&self) -> Vec<ParamShape> {
        let (w, b) = if self.trainable {
            (ParamKind::Weight, ParamKind::Bias)
        } else {
            (ParamKind::Frozen, ParamKind::Frozen)
        };
        let mut v = vec![(
            "weight".to_string(),
            vec![self.out_features, self.in_features],
            w,
        )];
        if self.bias {
            v.push(("bias".to_string(), vec![self.out_features], b));
        }
        v
    }

    /// `out*in + out` with bias.
    fn n_params(&self) -> usize {
        self.out_features * self.in_features + if self.bias { self.out_features } else { 0 }
    }

    /// Draws the weights and biases (biases start at zero except with [`Init::TorchDefault`]).
    fn init_params(&self, params: &mut [f32], rng: &mut Rng) {
        let nw = self.out_features * self.in_features;
        self.init
            .fill(&mut params[..nw], self.in_features, self.out_features, rng);
        self.init
            .fill_bias(&mut params[nw..], self.in_features, rng);
    }

    /// Pre-activations for GELU/SiLU.
    fn aux_len(&self, batch: usize) -> usize {
        if self.activation.needs_preactivation() {
            batch * self.out_features
        } else {
            0
        }
    }

    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]) {
        self.apply(cx.params, x, cx.batch, y, Some(&mut *cx.aux), true)
    }

    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], _: &mut [T]) {
        self.apply(params, x, batch, y, None, false)
    }

    /// `dy` is consumed (overwritten with `dZ`). A frozen layer computes only `dX` (its
    /// parameter gradients stay zero).
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        x: &[T],
        y: &[T],
        dy: &mut [T],
        dx: Option<&mut [T]>,
    ) {
        let batch = cx.batch;
        let n = batch * self.out_features;
        let d_z = &mut dy[..n];
        let pre = if self.activation.needs_preactivation() {
            Some(&cx.aux[..n])
        } else {
            None
        };
        elementwise::activation_backward(self.activation, d_z, &y[..n], pre);
        let nw = self.out_features * self.in_features;
        let (inp, outf) = (self.in_features, self.out_features);
        if self.trainable {
            let (d_w, d_b) = cx.d_params.split_at_mut(nw);
            if !bf16::dense_weight_grad(d_z, x, batch, inp, outf, d_w) {
                gemm(
                    Transpose::Yes,
                    Transpose::No,
                    self.out_features,
                    self.in_features,
                    batch,
                    T::one(),
                    d_z,
                    x,
                    T::one(),
                    d_w,
                );
            }
            if self.bias {
                elementwise::add_column_sums(d_b, d_z, self.out_features);
            }
        }
        if let Some(d_x) = dx {
            let (w, _) = self.split(cx.params);
            let d_x = &mut d_x[..batch * self.in_features];
            if !bf16::dense_input_grad(d_z, w, batch, inp, outf, d_x) {
                gemm(
                    Transpose::No,
                    Transpose::No,
                    batch,
                    self.in_features,
                    self.out_features,
                    T::one(),
                    d_z,
                    w,
                    T::zero(),
                    d_x,
                );
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "dense {} -> {}  activation {}  {} params{}",
            self.in_features,
            self.out_features,
            self.activation,
            super::Block::n_params(self),
            if self.trainable { "" } else { " (frozen)" }
        )
    }
    fn interval(
        &self,
        params: &[f64],
        x: &crate::verify::Bounds,
    ) -> crate::Result<crate::verify::Bounds> {
        use crate::verify::interval::{activation_bounds, affine};
        let nw = self.out_features * self.in_features;
        let bias = self.bias.then(|| &params[nw..nw + self.out_features]);
        let z = affine(&params[..nw], bias, self.out_features, x);
        Ok(activation_bounds(self.activation, &z))
    }
    fn crown(
        &self,
        params: &[f64],
        stack: &mut crate::verify::crown::CrownStack,
    ) -> crate::Result<()> {
        let nw = self.out_features * self.in_features;
        let bias = if self.bias {
            params[nw..nw + self.out_features].to_vec()
        } else {
            vec![0.0; self.out_features]
        };
        stack.push_dense(
            params[..nw].to_vec(),
            bias,
            self.in_features,
            self.out_features,
            self.activation,
        )
    }
}
