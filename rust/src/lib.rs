//! glassrs core: structure, dynamics and elasticity kernels for glass-forming liquids.
//!
//! Kernels take plain slices (positions as `[f64; 3]`, species as `u32`, a [`simbox::SimBox`])
//! and return plain columns; they know nothing of files, Python or Polars. The Python
//! bindings live in [`py`] behind the `python` feature, so `cargo test` runs without Python.

// Safe Rust only: SIMD dispatch goes through `multiversion`, buffer views through `bytemuck`.
#![deny(unsafe_code)]

pub mod dynamics;
pub mod elastic;
pub mod error;
pub mod forces;
pub mod io;
pub mod manybody;
pub mod md;
pub mod minimize;
pub mod models;
pub mod monitor;
pub mod neighbors;
pub mod phase;
pub mod simbox;
pub mod structure;
pub mod threads;
#[cfg(test)]
pub(crate) mod testutil;

#[cfg(feature = "python")]
pub mod py;

pub use error::{Error, Result};
