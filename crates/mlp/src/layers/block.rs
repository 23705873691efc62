//! The block interface: what every layer kind implements, in its own file.
//!
//! A kind is one type with one `impl Block`; [`super::Layer`] is the closed list of kinds (one
//! line each in the `blocks!` table in `layers/mod.rs`) and dispatches every call through this
//! trait in exactly one place. Optional capabilities (interval bounds, CROWN) have defaults that
//! return a clear [`Error`] naming the kind and the capability, so a new kind compiles with the
//! required methods only and says what it cannot do when asked.
//!
//! The training passes take a [`Cx`]: the block's parameter and gradient slices, its saved-state
//! buffer, the batch size and the random stream, in place of seven- and eight-argument
//! signatures. The inference pass takes its scratch from the caller ([`Block::infer_len`]
//! elements), so `predict_into` allocates nothing once its buffers have grown.

use super::{GradMode, Layer, ParamKind};
use crate::kernels::Real;
use crate::rng::Rng;
use crate::verify::Bounds;
use crate::verify::crown::CrownStack;
use crate::{Error, Result};

/// One named parameter tensor of a block: `(name, shape, kind)`, in buffer order.
pub type ParamShape = (String, Vec<usize>, ParamKind);

/// The context of one block's training pass over one batch.
///
/// Forward passes read `params`, fill `aux` with what backward needs and may draw from `rng`;
/// backward passes read `params` and `aux` and accumulate into `d_params` (empty during a
/// forward pass).
#[derive(Debug)]
pub struct Cx<'a, T> {
    /// This block's slice of the network's flat parameter buffer.
    pub params: &'a [T],
    /// This block's slice of the flat gradient buffer (accumulated into by backward).
    pub d_params: &'a mut [T],
    /// Saved state and scratch, [`Block::aux_len`] long.
    pub aux: &'a mut [T],
    /// Rows in the batch.
    pub batch: usize,
    /// The random stream (dropout masks).
    pub rng: &'a mut Rng,
}

impl<'a, T> Cx<'a, T> {
    /// The context of a forward pass (no gradient slice).
    pub fn forward(params: &'a [T], aux: &'a mut [T], batch: usize, rng: &'a mut Rng) -> Self {
        Cx {
            params,
            d_params: &mut [],
            aux,
            batch,
            rng,
        }
    }

    /// A context for an inner block: `params`/`d_params` cut to `range` of this one's (the
    /// gradient slice only when this context has one), `aux` the given buffer.
    pub fn inner<'b>(&'b mut self, range: std::ops::Range<usize>, aux: &'b mut [T]) -> Cx<'b, T> {
        let d_params = if self.d_params.is_empty() {
            &mut []
        } else {
            &mut self.d_params[range.clone()]
        };
        Cx {
            params: &self.params[range],
            d_params,
            aux,
            batch: self.batch,
            rng: self.rng,
        }
    }

    /// The same parameter and gradient slices with another saved-state buffer: for a block that
    /// cuts its own `aux` into regions and hands one to an inner chain or layer.
    pub fn with_aux<'b>(&'b mut self, aux: &'b mut [T]) -> Cx<'b, T> {
        let all = 0..self.params.len();
        self.inner(all, aux)
    }

    /// Takes this context's saved-state buffer out (leaving it empty), so that the block can
    /// cut it into regions while still passing its parameters on through [`Cx::with_aux`].
    pub fn take_aux(&mut self) -> &'a mut [T] {
        std::mem::take(&mut self.aux)
    }
}

/// The error of a capability a block kind does not have.
pub fn unsupported(kind: &str, capability: &str) -> Error {
    Error::config(
        "verification",
        format!(
            "{capability} has no sound rule for '{kind}' layers; this model cannot be verified"
        ),
    )
}

/// What every block kind does. One kind = one type = one file.
pub trait Block {
    /// The kind's name: the spec's `type` (`dense`, `layer_norm`, ...).
    fn kind(&self) -> &'static str;

    /// Input width.
    fn in_features(&self) -> usize;

    /// Output width.
    fn out_features(&self) -> usize;

    /// Named parameter tensors in buffer order. Blocks name inner tensors `block.{j}.{name}`.
    fn param_shapes(&self) -> Vec<ParamShape> {
        Vec::new()
    }

    /// Number of parameters (frozen ones included); must equal the sum over
    /// [`Block::param_shapes`] (kinds override it to avoid building the names).
    fn n_params(&self) -> usize {
        self.param_shapes()
            .iter()
            .map(|(_, s, _)| s.iter().product::<usize>())
            .sum()
    }

    /// Initializes this block's parameter slice.
    fn init_params(&self, _params: &mut [f32], _rng: &mut Rng) {}

    /// Length of the buffer the training forward fills for the backward (and blocks' scratch).
    fn aux_len(&self, _batch: usize) -> usize {
        0
    }

    /// Training forward `y = f(x)` over `cx.batch` rows; saves what backward needs in `cx.aux`.
    fn forward<T: Real>(&self, cx: &mut Cx<'_, T>, x: &[T], y: &mut [T]);

    /// Length of the scratch [`Block::infer`] needs for `batch` rows (composite blocks include
    /// their inner blocks' scratch).
    fn infer_len(&self, _batch: usize) -> usize {
        0
    }

    /// Inference forward (the lean path: saves nothing). `scratch` holds at least
    /// [`Block::infer_len`] elements, owned by the caller so that repeated calls do not
    /// allocate; its contents on entry are arbitrary.
    fn infer<T: Real>(&self, params: &[T], x: &[T], batch: usize, y: &mut [T], scratch: &mut [T]);

    /// Backward: consumes `dy` (it may be used as scratch), writes `dx` when asked, and
    /// accumulates `dL/dparams` into `cx.d_params`. `cx.aux` holds what the matching
    /// [`Block::forward`] saved; `x` and `y` are that pass's input and output.
    fn backward<T: Real>(
        &self,
        cx: &mut Cx<'_, T>,
        x: &[T],
        y: &[T],
        dy: &mut [T],
        dx: Option<&mut [T]>,
    );

    /// After a training step: updates buffers that follow the data rather than the gradient
    /// (batch normalization's running statistics) from what the last forward saved in `aux`.
    fn update_buffers(&self, _params: &mut [f32], _aux: &[f32], _batch: usize) {}

    /// Whether this block (or one inside it) keeps buffers updated by
    /// [`Block::update_buffers`].
    fn has_buffers(&self) -> bool {
        false
    }

    /// Switches this block (and the blocks inside it) to `mode` for gradient passes on a trained
    /// model (see [`GradMode`]).
    fn set_grad_mode(&mut self, _mode: GradMode) {}

    /// The `mlp info` line: kind, widths and settings (the caller adds name and indentation).
    fn describe(&self) -> String;

    /// Inner blocks with their names relative to this one (`block.0`, `stream1.2`, ...), for
    /// `mlp info` and anything else that walks the tree.
    fn children(&self) -> Vec<(String, &Layer)> {
        Vec::new()
    }

    /// Interval bound propagation through this block (inference semantics), `params` its slice
    /// as `f64`. Default: refused with an error naming the kind (never unsound bounds).
    fn interval(&self, _params: &[f64], _x: &Bounds) -> Result<Bounds> {
        Err(unsupported(self.kind(), "interval bound propagation"))
    }

    /// Appends this block's linear relaxation to a CROWN stack. Default: refused with an error
    /// naming the kind.
    fn crown(&self, _params: &[f64], _stack: &mut CrownStack) -> Result<()> {
        Err(Error::config(
            "verification",
            format!(
                "CROWN supports dense and dropout layers only, not '{}'; use `method` ibp",
                self.kind()
            ),
        ))
    }
}
