//! ONNX interop: export a trained [`Model`](crate::model::Model) as an ONNX graph (opset 17)
//! that onnxruntime runs on raw feature vectors, and import MLP-shaped ONNX graphs (PyTorch,
//! tf2onnx, VNN-COMP networks) as ordinary model files.
//!
//! # Export ([`export_model`], [`save_onnx`])
//! - Input `input`, `float[N, F]`: the encoded but unscaled feature vector, i.e. what
//!   `mlp info` lists as the network's inputs: numeric columns as raw values, each text column as
//!   a one-hot block (one 0/1 feature per training category, categories in byte order; an
//!   unseen category is all zeros). A NaN in a numeric column is a missing cell: the graph fills
//!   it as `mlp predict` does (the column's imputation value), or leaves NaN (which `mlp predict`
//!   refuses) when the model has none.
//! - Preprocessing in the graph: the column standardisation and the model's feature scaler as
//!   `Sub`/`Div` pairs (images: a `Mul` by the stored value scale first).
//! - Output `proba`, `float[N, C]` for classifiers (softmax, or `[1 - p, p]` for a one-logit BCE
//!   classifier; temperature applied when calibrated) and per-label sigmoids for multi-label
//!   models; output `value`, `float[N, T]` for regressors, in the target's raw units.
//! - Blocks: dense (every activation), dropout (identity), layer and batch norm, GLU variants,
//!   residual, SCORE recurrent (unrolled, weights shared). Any other block is refused with an
//!   error naming it; so are ensembles, int8 / QAT networks and quantile heads.
//! - `metadata_props` record the input feature names, the class labels or target names.
//!
//! # Import ([`import_network`])
//! A chain of `Gemm`, `MatMul` (+ `Add`), `Relu`/`LeakyRelu`/`Tanh`/`Sigmoid`/`Elu`/`Softplus`/
//! `Gelu` (tanh form), `Flatten`/`Reshape`/`Identity`/`Dropout`, and `Sub`/`Div`/`Mul`/`Add` by
//! constants (input normalisation, folded into the model's scaler or the neighbouring dense
//! layer), with weights as initializers or `Constant` nodes. The result is a regression model
//! whose outputs are the graph's raw outputs (target scaling identity), whose inputs are numeric
//! columns `x0..x{F-1}` (a CSV with those columns feeds `mlp predict`) and outputs `y0..`;
//! the first unsupported node is named in the error.

mod export;
mod import;
#[allow(missing_docs, clippy::all, clippy::pedantic, rustdoc::all)]
pub mod proto;

pub use export::{export_model, save_onnx, to_onnx_bytes};
pub use import::{ImportInfo, import_bytes, import_network};

/// The ONNX operator set the exporter targets (onnxruntime runs it; `LayerNormalization` needs
/// at least 17).
pub const OPSET: i64 = 17;

/// The ONNX IR version written with [`OPSET`] (IR 8 is the one released with opset 17).
pub const IR_VERSION: i64 = 8;
