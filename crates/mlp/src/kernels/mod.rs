//! Numeric kernels: the one GEMM entry point and the elementwise passes around it.
//!
//! All engine math is written once, generic over [`Real`] (`f32` for training and inference,
//! `f64` for the finite-difference gradient checks), so the checked code is the shipped code.

mod dot;
pub mod elementwise;
pub mod fast_math;
pub mod fft;
pub mod gemm;
mod helper_core;
mod real;
pub(crate) mod simd;

pub use gemm::{Transpose, gemm, gemm_naive, serial};
pub(crate) use helper_core::run_split;
pub use real::Real;
