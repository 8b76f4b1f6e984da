//! Helpers shared by the unit tests (compiled only for `cargo test`).

/// Deterministic uniform numbers in [0, 1) from a 64-bit LCG (Knuth's MMIX constants, top 53 bits):
/// reproducible test inputs without a `rand` dependency.
pub fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 11) as f64) / ((1u64 << 53) as f64)
    }
}
