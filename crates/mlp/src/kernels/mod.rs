//! Numeric kernels: the one GEMM entry point and the elementwise passes around it.
//!
//! All engine math is written once, generic over [`Real`] (`f32` for training and inference,
//! `f64` for the finite-difference gradient checks), so the checked code is the shipped code.
//!
//! - `gemm`: the matrix product (and its single-row, matrix-vector case) with our own threading;
//! - `dot`: fixed-order dot products, the same bits on every CPU (portable, AVX2, AVX-512);
//! - `elementwise`, `fast_math`: activations, their derivatives, bias and column sums;
//! - `simd`: the one runtime CPU check ([`simd::path`], cached), and plain loops compiled for the
//!   widest vector unit it found;
//! - `helper_core`: a spinning second core for the two halves of short parallel work;
//! - `fft`: real FFTs for the spectral layers;
//! - `int8`: the u8 x i8 -> i32 product of quantized inference (portable, AVX2, AVX-512 VNNI);
//! - `bf16`: bf16 products with f32 sums for mixed-precision training (portable, AVX2,
//!   AVX-512 BF16).

pub mod bf16;
mod dot;
pub mod elementwise;
pub(crate) mod fast_math;
pub mod fft;
pub mod gemm;
mod helper_core;
pub mod int8;
mod real;
pub mod simd;

pub use gemm::{Transpose, gemm, serial};
pub(crate) use helper_core::run_split;
pub use real::Real;
