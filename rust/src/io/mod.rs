//! Trajectory file formats implemented in the core (the rest — GSD, extended XYZ — are
//! read in Python). Pure Rust: byte offsets, parsing and validation; no Python here.

pub mod lammps;
