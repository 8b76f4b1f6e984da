//! Per-pair sums for the self correlations of definitions §3 (MSD, overlap, χ4, α2, F_s).
//!
//! For every (origin, target) frame pair `p` and every selection `s` (0 = all, 1 + species)
//! the kernel returns four sums over the particles `i` of the chunk in `s`, with
//! Δr = r_i(target) − r_i(origin) (unwrapped):
//!
//! | column | sum |
//! |---|---|
//! | 0 | Σ |Δr|² |
//! | 1 | Σ |Δr|⁴ |
//! | 2 | Σ Θ(a² − |Δr|²)  (inclusive: |Δr| = a counts as overlapping) |
//! | 3 | Σ (1/n_k) Σ_k cos(k·Δr), evaluated as cos(k·r_t)cos(k·r_o) + sin(k·r_t)sin(k·r_o) from a
//! |   | per-frame table (F × n × 2n_k floats, transient: part of the memory bound) |
//!
//! Layout: `out[(p * n_sel + s) * N_COLS + c]`. The sums are additive over particle chunks;
//! the lag averages, χ4 (which needs the per-pair overlap of the whole selection) and α2 are
//! formed from them afterwards. Pairs are processed in parallel; each pair's sums are
//! accumulated over particles in index order, so results do not depend on the thread count.
//!
//! On a linear schedule with every frame an origin, [`lag_sums`] gives the same first three
//! columns already summed per lag (and, for χ4, Σ C and Σ C² of the per-pair overlap counts),
//! walking each particle's own trajectory instead of pairs of frames; the FFT paths of the MSD
//! and F_s are [`super::spectra`].

use rayon::prelude::*;

use super::{check_chunk, check_chunk_shape, check_finite, check_pairs, n_selections};
use crate::error::Result;
use crate::invalid;
use crate::monitor::Monitor;
use crate::simbox::Vec3;

pub const N_COLS: usize = 4;

/// Dot product with four independent partial sums (breaks the floating-point add latency
/// chain; the order is fixed, so results are deterministic).
#[inline]
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut s4 = [0.0f64; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..4 {
            s4[l] += a[l] * b[l];
        }
    }
    let mut s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    s
}

/// Parameters of [`pair_sums`].
#[derive(Debug, Clone)]
pub struct CorrParams {
    /// Overlap cutoff a (length); a pair overlaps when |Δr| ≤ a.
    pub a: f64,
    /// Wave vectors for F_s (length⁻¹); may be empty (column 3 is then 0).
    pub kvecs: Vec<Vec3>,
    /// Compute Σ |Δr|⁴ (column 1; 0 when false).
    pub moments4: bool,
    /// Compute the overlap count (column 2; 0 when false).
    pub overlap: bool,
}

impl CorrParams {
    /// Every column: Σ |Δr|², Σ |Δr|⁴, the overlap count and (with `kvecs`) F_s.
    pub fn all(a: f64, kvecs: Vec<Vec3>) -> Self {
        CorrParams { a, kvecs, moments4: true, overlap: true }
    }
}

/// Pairs per progress report.
const BLOCK: usize = 512;

/// Entries a kernel input must hold past its last valid entry: the masked tail of
/// [`displacement_sums_body`] / [`displacement_sums_v3`] reads (and adds zeros to) whole lane
/// blocks, and a lag block reads up to 3 frames further.
pub const PAD: usize = 8;

/// Σ |Δr|², Σ |Δr|⁴ and the overlap count over the entries k < `lens[j]` of the
/// structure-of-arrays coordinates of one origin (`o`, entry k at `o[a][k]`) and each of `B`
/// targets at consecutive offsets (target j's entry k at `t[a][first + j + k]`), for each j;
/// with `PC`, `cnt[j][k]` receives the overlap indicator of entry k for target j. Entry k goes to
/// lane k mod 4 (four lanes in a fixed order, summed pairwise at the end), so the loop
/// vectorises and the result is deterministic. The last lane block of each target is read whole
/// and its lanes past `lens[j]` are masked out (they add nothing; no scalar tail runs), so the
/// slices must reach that far (see [`PAD`]).
///
/// Several targets per origin (`B` > 1: the lag kernel's neighbouring lags, `o` and `t` the same
/// trajectory) share the origin loads and run `B` independent accumulator chains: one target
/// alone is bound by the latency of its accumulating add.
#[inline(always)]
fn displacement_sums_body<const R4: bool, const OV: bool, const PC: bool, const B: usize>(
    o: [&[f64]; 3], t: [&[f64]; 3], first: usize, lens: [usize; B], a2: f64,
    cnt: &mut [&mut [f64]; B]) -> [[f64; 3]; B] {
    let longest = lens.iter().copied().max().unwrap_or(0);
    let mut s2 = [[0.0f64; 4]; B];
    let mut s4 = [[0.0f64; 4]; B];
    let mut ov = [[0.0f64; 4]; B];
    for k in (0..longest.div_ceil(4) * 4).step_by(4) {
        for l in 0..4 {
            for j in 0..B {
                if k + l >= lens[j] {
                    continue; // a masked lane: adds +0.0, which changes no bit of a sum ≥ +0
                }
                let i = first + j + k + l;
                let dx = t[0][i] - o[0][k + l];
                let dy = t[1][i] - o[1][k + l];
                let dz = t[2][i] - o[2][k + l];
                let r2 = dx * dx + dy * dy + dz * dz;
                s2[j][l] += r2;
                if R4 {
                    s4[j][l] += r2 * r2;
                }
                if OV {
                    ov[j][l] += if r2 <= a2 { 1.0 } else { 0.0 };
                }
                if PC {
                    cnt[j][k + l] += if r2 <= a2 { 1.0 } else { 0.0 };
                }
            }
        }
    }
    let h = |x: [f64; 4]| (x[0] + x[1]) + (x[2] + x[3]);
    std::array::from_fn(|j| [h(s2[j]), h(s4[j]), h(ov[j])])
}

/// [`displacement_sums_body`] in explicit 4-wide AVX2 arithmetic (pulp's safe `V3` operations,
/// chosen at run time when the CPU has AVX2/FMA). The compiler's own vectorisation of the body
/// shuffled the lanes between registers and ran at ~1.4 ns per particle and frame pair; this runs
/// at ~0.6 ns (measured on the 2-core CI machine). The lanes, their order, the masking and every
/// operation are those of the body (no fused multiply-add), so both paths give the same bits
/// (tested).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn displacement_sums_v3<const R4: bool, const OV: bool, const PC: bool, const B: usize>(
    simd: pulp::x86::V3, o: [&[f64]; 3], t: [&[f64]; 3], first: usize, lens: [usize; B], a2: f64,
    cnt: &mut [&mut [f64]; B]) -> [[f64; 3]; B] {
    use pulp::{f64x4, m64x4, Simd as _};
    let longest = lens.iter().copied().max().unwrap_or(0);
    let common = lens.iter().copied().min().unwrap_or(0);
    let (full, blocks) = (common / 4, longest.div_ceil(4));
    let load = |s: &[f64]| -> f64x4 {
        let a: [f64; 4] = s.try_into().unwrap();
        bytemuck::cast(a)
    };
    let zero = simd.splat_f64x4(0.0);
    let one = simd.splat_f64x4(1.0);
    let cut = simd.splat_f64x4(a2);
    let (mut s2, mut s4, mut ov) = ([zero; B], [zero; B], [zero; B]);
    // lane block i..i + 4 of target j (`$t` from its offset `$tj`) against the origin's lanes
    // (`$x0`, `$y0`, `$z0`); `$mask` (an Option<m64x4>; None: every lane valid) selects the lanes
    // that count. A macro, not a closure, so that it is inlined into the AVX2 context.
    macro_rules! step {
        ($t:expr, $tj:expr, $i:expr, $j:expr, $x0:expr, $y0:expr, $z0:expr, $mask:expr) => {{
            let (i, j, tj, mask): (usize, usize, usize, Option<m64x4>) = ($i, $j, $tj, $mask);
            let dx = simd.sub_f64x4(load(&$t[0][tj..tj + 4]), $x0);
            let dy = simd.sub_f64x4(load(&$t[1][tj..tj + 4]), $y0);
            let dz = simd.sub_f64x4(load(&$t[2][tj..tj + 4]), $z0);
            let mut r2 = simd.add_f64x4(simd.add_f64x4(simd.mul_f64x4(dx, dx), simd.mul_f64x4(dy, dy)), simd.mul_f64x4(dz, dz));
            if let Some(mask) = mask {
                r2 = simd.select_f64x4(mask, r2, zero);
            }
            s2[j] = simd.add_f64x4(s2[j], r2);
            if R4 {
                s4[j] = simd.add_f64x4(s4[j], simd.mul_f64x4(r2, r2));
            }
            if OV || PC {
                let mut inside = simd.cmp_le_f64x4(r2, cut);
                if let Some(mask) = mask {
                    inside = simd.and_m64s(inside, mask);
                }
                let w = simd.select_f64x4(inside, one, zero);
                if OV {
                    ov[j] = simd.add_f64x4(ov[j], w);
                }
                if PC {
                    let c: &mut [f64; 4] = (&mut cnt[j][i..i + 4]).try_into().unwrap();
                    *c = bytemuck::cast(simd.add_f64x4(bytemuck::cast(*c), w));
                }
            }
        }};
    }
    {
        // slices of exactly the extent of the full blocks: the loop then has no bounds checks,
        // and the B targets are one base pointer at consecutive offsets
        let om = o.map(|a| &a[..4 * full]);
        let tm = t.map(|a| &a[first..first + 4 * full + B - 1]);
        for k in 0..full {
            let i = 4 * k;
            let (x0, y0, z0) = (load(&om[0][i..i + 4]), load(&om[1][i..i + 4]), load(&om[2][i..i + 4]));
            for j in 0..B {
                step!(tm, i + j, i, j, x0, y0, z0, None);
            }
        }
    }
    let lane = f64x4(0.0, 1.0, 2.0, 3.0);
    for k in full..blocks {
        let i = 4 * k;
        let (x0, y0, z0) = (load(&o[0][i..i + 4]), load(&o[1][i..i + 4]), load(&o[2][i..i + 4]));
        for j in 0..B {
            if i < lens[j] {
                // lanes with i + l < lens[j] (small integers, exact in f64)
                let mask = simd.cmp_lt_f64x4(lane, simd.splat_f64x4((lens[j] - i) as f64));
                step!(t, first + j + i, i, j, x0, y0, z0, Some(mask));
            }
        }
    }
    let h = |x: f64x4| (x.0 + x.1) + (x.2 + x.3);
    std::array::from_fn(|j| [h(s2[j]), h(s4[j]), h(ov[j])])
}

/// The CPU's AVX2 level, detected once per kernel call (`None`: the portable path).
#[cfg(target_arch = "x86_64")]
pub(crate) type Simd = Option<pulp::x86::V3>;
#[cfg(not(target_arch = "x86_64"))]
pub(crate) type Simd = Option<()>;

pub(crate) fn detect_simd() -> Simd {
    #[cfg(target_arch = "x86_64")]
    return pulp::x86::V3::try_new();
    #[cfg(not(target_arch = "x86_64"))]
    return None;
}

/// Calls `$f::<R4, OV, PC>($args)` with the const flags chosen by the run-time booleans.
macro_rules! by_flags {
    ($r4:expr, $ov:expr, $pc:expr, $f:ident, $($arg:expr),*) => {
        match ($r4, $ov, $pc) {
            (true, true, true) => $f::<true, true, true>($($arg),*),
            (true, true, false) => $f::<true, true, false>($($arg),*),
            (true, false, true) => $f::<true, false, true>($($arg),*),
            (true, false, false) => $f::<true, false, false>($($arg),*),
            (false, true, true) => $f::<false, true, true>($($arg),*),
            (false, true, false) => $f::<false, true, false>($($arg),*),
            (false, false, true) => $f::<false, false, true>($($arg),*),
            (false, false, false) => $f::<false, false, false>($($arg),*),
        }
    };
}

/// Σ |Δr|², Σ |Δr|⁴ and the overlap count over the first `len` entries of `o` and `t` (see
/// [`displacement_sums_body`]; the slices padded to whole lane blocks): the AVX2 path where the
/// CPU has it, the portable body otherwise; the same bits either way. Σ |Δr|⁴ (`r4`) and the
/// overlap count (`ov`) are computed only when asked (0 otherwise): each is its own accumulator,
/// so leaving one out changes no bit of the others.
#[inline]
fn displacement_sums(simd: Simd, o: [&[f64]; 3], t: [&[f64]; 3], len: usize, a2: f64, r4: bool, ov: bool) -> [f64; 3] {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = simd {
        #[inline(always)]
        fn go<const R4: bool, const OV: bool, const PC: bool>(simd: pulp::x86::V3, o: [&[f64]; 3], t: [&[f64]; 3],
                                                              len: usize, a2: f64) -> [f64; 3] {
            simd.vectorize(#[inline(always)] || displacement_sums_v3::<R4, OV, PC, 1>(simd, o, t, 0, [len], a2, &mut [&mut []])[0])
        }
        return by_flags!(r4, ov, false, go, simd, o, t, len, a2);
    }
    let _ = simd;
    #[inline(always)]
    fn body<const R4: bool, const OV: bool, const PC: bool>(o: [&[f64]; 3], t: [&[f64]; 3], len: usize, a2: f64) -> [f64; 3] {
        displacement_sums_body::<R4, OV, PC, 1>(o, t, 0, [len], a2, &mut [&mut []])[0]
    }
    by_flags!(r4, ov, false, body, o, t, len, a2)
}

/// Per-pair sums over the particles of a chunk (see the module docs for the layout).
///
/// Internally the particles are ordered by species (stable) and the coordinates are copied to
/// one array per axis and frame, so each species is a contiguous run and the inner loops
/// vectorise; "all" is the sum of the species sums (in species order). Particles are blocked so
/// that their data over all frames fit in ~1 MB of cache, and pairs run in parallel inside a
/// block; the summation order is fixed, so results do not depend on the thread count.
pub fn pair_sums(
    pos: &[Vec3],
    n: usize,
    species: &[u32],
    n_species: usize,
    pairs: &[[u32; 2]],
    params: &CorrParams,
    monitor: &dyn Monitor,
) -> Result<Vec<f64>> {
    let n_frames = check_chunk(pos, n, species, n_species)?;
    check_pairs(pairs, n_frames)?;
    if !(params.a >= 0.0 && params.a.is_finite()) {
        return Err(invalid!("overlap cutoff a must be finite and ≥ 0, got {}", params.a));
    }
    if let Some(k) = params.kvecs.iter().find(|k| !k.iter().all(|v| v.is_finite())) {
        return Err(invalid!("wave vector {k:?} is not finite"));
    }
    let n_sel = n_selections(n_species);
    let stride = n_sel * N_COLS;
    let mut out = vec![0.0; pairs.len() * stride];
    let simd = detect_simd();
    let a2 = params.a * params.a;
    let kv = &params.kvecs;
    let nk = kv.len();
    let inv_nk = if nk == 0 { 0.0 } else { 1.0 / nk as f64 };
    // species order (the locality layer's stable counting sort, species as the "cell"):
    // perm[k] = particle at sorted position k; species s holds [start[s], start[s+1])
    let (start, perm) = crate::neighbors::grid::counting_sort(species, n_species);
    // structure of arrays in species order: axis a of frame f at xyz[a][f * n ..], padded at the
    // end (a species run's last lane block may read into the next run, masked out)
    let xyz: [Vec<f64>; 3] = std::array::from_fn(|a| {
        let mut v = vec![0.0; n_frames * n + PAD];
        v[..n_frames * n].par_chunks_mut(n).enumerate().for_each(|(f, row)| {
            for (k, x) in row.iter_mut().enumerate() {
                *x = pos[f * n + perm[k] as usize][a];
            }
        });
        v
    });
    // cos/sin table: cs[(f * n + k) * 2nk ..] = [cos(q·r) for q, sin(q·r) for q], so that
    // cos(q·Δr) = cos(q·r_t)cos(q·r_o) + sin(q·r_t)sin(q·r_o) is a contiguous dot product.
    let w = 2 * nk;
    let mut cs = vec![0.0; if nk == 0 { 0 } else { pos.len() * w }];
    if nk > 0 {
        cs.par_chunks_mut(w).enumerate().for_each(|(fk, row)| {
            let r = pos[(fk / n) * n + perm[fk % n] as usize];
            for (j, k) in kv.iter().enumerate() {
                let (s, c) = (k[0] * r[0] + k[1] * r[1] + k[2] * r[2]).sin_cos();
                row[j] = c;
                row[nk + j] = s;
            }
        });
        monitor.progress(0, pairs.len())?;
    }
    let per_particle = n_frames * (24 + 8 * w);
    let pblock_n = (1usize << 20).checked_div(per_particle).unwrap_or(n).clamp(8, n.max(8));
    let n_pblocks = n.div_ceil(pblock_n);
    let total = pairs.len() * n_pblocks;
    let mut done = 0;
    for b0 in (0..n).step_by(pblock_n) {
        let b1 = (b0 + pblock_n).min(n);
        for (pblock, oblock) in pairs.chunks(BLOCK).zip(out.chunks_mut(BLOCK * stride)) {
            pblock.par_iter().zip(oblock.par_chunks_mut(stride)).for_each(|(pair, acc)| {
                let o = pair[0] as usize * n;
                let t = pair[1] as usize * n;
                let mut all = [0.0f64; N_COLS];
                for s in 0..n_species {
                    let (lo, hi) = (start[s].max(b0), start[s + 1].min(b1));
                    if lo >= hi {
                        continue;
                    }
                    let end = (hi - lo).div_ceil(4) * 4;
                    let ro = [&xyz[0][o + lo..o + lo + end], &xyz[1][o + lo..o + lo + end], &xyz[2][o + lo..o + lo + end]];
                    let rt = [&xyz[0][t + lo..t + lo + end], &xyz[1][t + lo..t + lo + end], &xyz[2][t + lo..t + lo + end]];
                    let [r2, r4, ov] = displacement_sums(simd, ro, rt, hi - lo, a2, params.moments4, params.overlap);
                    let mut fs = 0.0;
                    if nk > 0 {
                        let co = cs[(o + lo) * w..(o + hi) * w].chunks_exact(w);
                        let ct = cs[(t + lo) * w..(t + hi) * w].chunks_exact(w);
                        for (x, y) in co.zip(ct) {
                            fs += dot(x, y) * inv_nk;
                        }
                    }
                    let vals = [r2, r4, ov, fs];
                    let l = &mut acc[(1 + s) * N_COLS..(2 + s) * N_COLS];
                    for c in 0..N_COLS {
                        l[c] += vals[c];
                        all[c] += vals[c];
                    }
                }
                for c in 0..N_COLS {
                    acc[c] += all[c];
                }
            });
            done += pblock.len();
            monitor.progress(done, total)?;
        }
    }
    Ok(out)
}

/// Columns of [`lag_sums`]: Σ |Δr|², Σ |Δr|⁴, overlap count.
pub const N_LAG_COLS: usize = 3;

/// Lags per pass of [`particle_lags`]: neighbouring lags share the origin loads and run
/// independent accumulator chains (one lag at a time is bound by the latency of its add).
const LAG_BLOCK: usize = 4;

/// One particle's lag sums: for m < `n_lags`, `out[m * 3 + c]` += the sum over the origins
/// t0 < F − m of the (t0, t0 + m) value of column c, from its time-major coordinates `x` (three
/// axes of `F` = `n_frames` frames, each padded by [`PAD`] entries); with `pc`,
/// `cnt[m * (F + PAD) + t0]` receives the overlap indicator of each pair. Lags go in blocks of
/// [`LAG_BLOCK`] (the origins as the kernel's lanes, each lag over its own origins), the last
/// ones alone; the AVX2 kernel where the CPU has it (entered once per particle), else the
/// portable body; the same bits either way.
#[allow(clippy::too_many_arguments)]
fn particle_lags(simd: Simd, x: [&[f64]; 3], n_frames: usize, n_lags: usize, a2: f64, r4: bool, ov: bool,
                 out: &mut [f64], cnt: Option<&mut [f64]>) {
    let pc = cnt.is_some();
    let cnt = cnt.unwrap_or_default();
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = simd {
        #[inline(always)]
        fn go<const R4: bool, const OV: bool, const PC: bool>(simd: pulp::x86::V3, x: [&[f64]; 3], n_frames: usize,
                                                              n_lags: usize, a2: f64, out: &mut [f64], cnt: &mut [f64]) {
            simd.vectorize(#[inline(always)] || {
                lags_by_blocks::<PC>(
                    n_frames, n_lags, out, cnt,
                    #[inline(always)] |m, l, c| displacement_sums_v3::<R4, OV, PC, LAG_BLOCK>(simd, x, x, m, l, a2, c),
                    #[inline(always)] |m, l, c| displacement_sums_v3::<R4, OV, PC, 1>(simd, x, x, m, l, a2, c))
            })
        }
        return by_flags!(r4, ov, pc, go, simd, x, n_frames, n_lags, a2, out, cnt);
    }
    let _ = simd;
    #[inline(always)]
    fn body<const R4: bool, const OV: bool, const PC: bool>(x: [&[f64]; 3], n_frames: usize, n_lags: usize, a2: f64,
                                                            out: &mut [f64], cnt: &mut [f64]) {
        lags_by_blocks::<PC>(
            n_frames, n_lags, out, cnt,
            #[inline(always)] |m, l, c| displacement_sums_body::<R4, OV, PC, LAG_BLOCK>(x, x, m, l, a2, c),
            #[inline(always)] |m, l, c| displacement_sums_body::<R4, OV, PC, 1>(x, x, m, l, a2, c))
    }
    by_flags!(r4, ov, pc, body, x, n_frames, n_lags, a2, out, cnt)
}

/// The lag loop of [`particle_lags`] over a displacement-sum kernel of [`LAG_BLOCK`] targets
/// (`block`) and of one (`single`).
#[allow(clippy::type_complexity)]
#[inline(always)]
fn lags_by_blocks<const PC: bool>(
    f: usize, n_lags: usize, out: &mut [f64], cnt: &mut [f64],
    mut block: impl FnMut(usize, [usize; LAG_BLOCK], &mut [&mut [f64]; LAG_BLOCK]) -> [[f64; 3]; LAG_BLOCK],
    mut single: impl FnMut(usize, [usize; 1], &mut [&mut [f64]; 1]) -> [[f64; 3]; 1]) {
    let stride = f + PAD;
    let mut add = |m: usize, v: [f64; 3]| {
        for c in 0..N_LAG_COLS {
            out[m * N_LAG_COLS + c] += v[c];
        }
    };
    let mut m0 = 0;
    while m0 < n_lags {
        let mut rows = cnt.chunks_mut(stride).skip(m0);
        if m0 + LAG_BLOCK <= n_lags {
            let mut c: [&mut [f64]; LAG_BLOCK] = std::array::from_fn(|_| if PC { rows.next().unwrap() } else { &mut [][..] });
            let v = block(m0, std::array::from_fn(|j| f - m0 - j), &mut c);
            for (j, vj) in v.into_iter().enumerate() {
                add(m0 + j, vj);
            }
            m0 += LAG_BLOCK;
        } else {
            let mut c: [&mut [f64]; 1] = [if PC { rows.next().unwrap() } else { &mut [][..] }];
            add(m0, single(m0, [f - m0], &mut c)[0]);
            m0 += 1;
        }
    }
}

/// What [`lag_sums`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct LagSums {
    /// `(n_lags, n_sel, 3)`: Σ |Δr|², Σ |Δr|⁴, overlap count per lag and selection.
    pub sums: Vec<f64>,
    /// With `pair_counts`, `(n_lags, n_sel, 2)`: Σ_t0 C and Σ_t0 C² over the origins of each lag,
    /// C = the overlap count of the selection in the pair (t0, t0 + m) (what χ4 needs); else empty.
    pub count_moments: Vec<i64>,
}

/// The trajectories of particles `i0 .. i1` of a chunk (`pos`: frames of `n` particles), gathered
/// frame by frame (each frame's rows are read contiguously): particle k − i0, axis a at
/// `x[(3(k − i0) + a) * stride ..]`, its frames first, then zeros up to `stride` (≥ the frame
/// count). Also whether every coordinate is finite (the caller names the bad one).
pub(crate) fn gather_trajectories(pos: &[Vec3], n: usize, i0: usize, i1: usize, stride: usize) -> (Vec<f64>, bool) {
    let n_frames = pos.len() / n;
    let mut x = vec![0.0; 3 * (i1 - i0) * stride];
    let mut ok = true;
    for f in 0..n_frames {
        for (k, p) in pos[f * n + i0..f * n + i1].iter().enumerate() {
            ok &= p[0].is_finite() & p[1].is_finite() & p[2].is_finite();
            for a in 0..3 {
                x[(3 * k + a) * stride + f] = p[a];
            }
        }
    }
    (x, ok)
}

/// Per-lag sums for a *linear schedule with every frame an origin*: for every lag m < `n_lags`
/// (in frames), selection s and column c (Σ |Δr|², Σ |Δr|⁴, overlap count — the first three
/// columns of [`pair_sums`]), the sum over the particles of s and the origins t0 < F − m of the
/// (t0, t0 + m) value; layout `sums[(m * n_sel + s) * 3 + c]`. These are the lag totals the
/// per-pair sums give after grouping; the summation order differs (origins inside, then
/// particles), so they agree with the grouped [`pair_sums`] to rounding (overlap counts
/// exactly). With `pair_counts`, the per-pair overlap counts C(t0, t0 + m) are kept as well
/// (an F × n_lags table per species and thread) and reduced to Σ C and Σ C² per lag, exactly in
/// integers: χ4 from them is the per-pair kernel's, bit for bit.
///
/// Why a second kernel: here the trajectory of one particle (3 × F values) stays in L1 while
/// every lag and origin is summed, where the per-pair kernel streams two frames of every
/// particle block per pair. Particles go in fixed groups of 32 (groups in parallel, their
/// partial sums added in group order), so results do not depend on the thread count (the counts
/// are integers, exact in any order). `params.kvecs` must be empty (F_s has its FFT path).
#[allow(clippy::too_many_arguments)]
pub fn lag_sums(
    pos: &[Vec3],
    n: usize,
    species: &[u32],
    n_species: usize,
    n_lags: usize,
    params: &CorrParams,
    pair_counts: bool,
    monitor: &dyn Monitor,
) -> Result<LagSums> {
    // the finiteness of the coordinates is checked while they are gathered (below)
    let n_frames = check_chunk_shape(pos, n, species, n_species)?;
    if n_lags > n_frames {
        return Err(invalid!("{n_lags} lags asked for, but the trajectory has only {n_frames} frames (lags 0 … {})",
                            n_frames - 1));
    }
    if !(params.a >= 0.0 && params.a.is_finite()) {
        return Err(invalid!("overlap cutoff a must be finite and ≥ 0, got {}", params.a));
    }
    if !params.kvecs.is_empty() {
        return Err(invalid!("lag sums have no F_s column: pass no wave vectors (F_s goes by the FFT path)"));
    }
    let n_sel = n_selections(n_species);
    let mut out = vec![0.0; n_lags * n_sel * N_LAG_COLS];
    // per-pair overlap counts: row m (lag) holds origins t0 < F − m, rows padded (see PAD)
    let stride = n_frames + PAD;
    let table = if pair_counts { n_lags * stride } else { 0 };
    let mut counts = vec![0.0f64; n_species * table];
    if n_lags == 0 {
        check_finite(pos, n)?;
        return Ok(LagSums { sums: out, count_moments: Vec::new() });
    }
    let simd = detect_simd();
    let a2 = params.a * params.a;
    let (r4, ov) = (params.moments4, params.overlap);
    const GROUP: usize = 32;
    const GROUPS_PER_REPORT: usize = 32;
    let n_groups = n.div_ceil(GROUP);
    let per_species = n_lags * N_LAG_COLS;
    let finite = std::sync::atomic::AtomicBool::new(true);
    monitor.progress(0, n_groups)?;
    for g0 in (0..n_groups).step_by(GROUPS_PER_REPORT) {
        let g1 = (g0 + GROUPS_PER_REPORT).min(n_groups);
        // per group its float partial sums (kept apart, added in group order below); the integer
        // pair counts of all groups that one rayon job handles go into that job's table (at least
        // 4 groups per job: at most 8 tables per block besides the total)
        type Job = (Vec<(usize, Vec<f64>)>, Vec<f64>);
        let (mut partial, block_counts): Job = (g0..g1).into_par_iter().with_min_len(4).fold(
            || (Vec::new(), Vec::new()),
            |(mut list, mut cnt): Job, g| {
                if pair_counts && cnt.is_empty() {
                    cnt = vec![0.0; n_species * table];
                }
                let mut acc = vec![0.0; n_species * per_species];
                let (i0, i1) = (g * GROUP, ((g + 1) * GROUP).min(n));
                let (x, ok) = gather_trajectories(pos, n, i0, i1, stride);
                if !ok {
                    finite.store(false, std::sync::atomic::Ordering::Relaxed);
                }
                for (k, xk) in x.chunks_exact(3 * stride).enumerate() {
                    if monitor.cancelled() || !ok {
                        break;   // the block's progress report (or the finiteness check) below returns
                    }
                    let (xs, rest) = xk.split_at(stride);
                    let (ys, zs) = rest.split_at(stride);
                    let s = species[i0 + k] as usize;
                    let c = if pair_counts { Some(&mut cnt[s * table..(s + 1) * table]) } else { None };
                    particle_lags(simd, [xs, ys, zs], n_frames, n_lags, a2, r4, ov,
                                  &mut acc[s * per_species..(s + 1) * per_species], c);
                }
                list.push((g, acc));
                (list, cnt)
            },
        ).reduce(
            || (Vec::new(), Vec::new()),
            |(mut la, mut ca), (lb, cb)| {
                la.extend(lb);
                if ca.is_empty() {
                    ca = cb;
                } else if !cb.is_empty() {
                    ca.iter_mut().zip(&cb).for_each(|(a, b)| *a += b);
                }
                (la, ca)
            },
        );
        if !finite.load(std::sync::atomic::Ordering::Relaxed) {
            check_finite(pos, n)?;   // names the first non-finite coordinate
        }
        partial.sort_unstable_by_key(|(g, _)| *g);
        for (_, acc) in &partial {
            for s in 0..n_species {
                for m in 0..n_lags {
                    for c in 0..N_LAG_COLS {
                        out[(m * n_sel + 1 + s) * N_LAG_COLS + c] += acc[s * per_species + m * N_LAG_COLS + c];
                    }
                }
            }
        }
        if !block_counts.is_empty() {
            counts.iter_mut().zip(&block_counts).for_each(|(a, b)| *a += b);
        }
        monitor.progress(g1, n_groups)?;
    }
    // "all" = the species sums in species order (as in pair_sums)
    for m in 0..n_lags {
        for c in 0..N_LAG_COLS {
            let mut t = 0.0;
            for s in 0..n_species {
                t += out[(m * n_sel + 1 + s) * N_LAG_COLS + c];
            }
            out[m * n_sel * N_LAG_COLS + c] = t;
        }
    }
    let mut count_moments = Vec::new();
    if pair_counts {
        count_moments = vec![0i64; n_lags * n_sel * 2];
        for m in 0..n_lags {
            for t0 in 0..n_frames - m {
                let mut all = 0i64;
                for s in 0..n_species {
                    // exact: counts are integers ≤ N held in f64
                    let c = counts[s * table + m * stride + t0] as i64;
                    all += c;
                    let k = (m * n_sel + 1 + s) * 2;
                    count_moments[k] += c;
                    count_moments[k + 1] += c * c;
                }
                let k = m * n_sel * 2;
                count_moments[k] += all;
                count_moments[k + 1] += all * all;
            }
        }
    }
    Ok(LagSums { sums: out, count_moments })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Silent, StopAt};

    fn traj() -> (Vec<Vec3>, Vec<u32>) {
        // 3 frames, 2 particles: particle 0 (species 0) moves +0.2 x per frame; particle 1 (species 1) is still.
        let mut p = Vec::new();
        for f in 0..3 {
            p.push([0.2 * f as f64, 0.0, 0.0]);
            p.push([1.0, 1.0, 1.0]);
        }
        (p, vec![0, 1])
    }

    #[test]
    fn sums_match_hand_values() {
        let (p, s) = traj();
        let params = CorrParams::all(0.3, vec![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
        let out = pair_sums(&p, 2, &s, 2, &[[0, 2], [1, 1]], &params, &Silent).unwrap();
        let stride = 3 * N_COLS;
        assert_eq!(out.len(), 2 * stride);
        let d: f64 = 0.4;
        // pair 0, all: r2 = 0.16 + 0, r4 = 0.0256, overlap: particle 1 only, fs = ((cos 0.4 + 1)/2 + 1)
        assert!((out[0] - d * d).abs() < 1e-15);
        assert!((out[1] - d.powi(4)).abs() < 1e-15);
        assert_eq!(out[2], 1.0);
        assert!((out[3] - ((d.cos() + 1.0) / 2.0 + 1.0)).abs() < 1e-15);
        // pair 0, species 1 (particle 1): zero displacement
        assert_eq!(&out[2 * N_COLS..3 * N_COLS], &[0.0, 0.0, 1.0, 1.0]);
        // pair 1 (lag 0): everything overlaps, fs = 1 per particle
        assert_eq!(&out[stride..stride + N_COLS], &[0.0, 0.0, 2.0, 2.0]);
    }

    /// The species-sorted, vectorised kernel against a plain loop over particles, with
    /// interleaved species, several particle blocks (n > block size) and F_s.
    #[test]
    fn matches_a_naive_loop() {
        let mut rnd = crate::testutil::lcg(5);
        let (n, nf, ns) = (3001usize, 6usize, 3usize);
        let species: Vec<u32> = (0..n).map(|_| (rnd() * ns as f64) as u32 % ns as u32).collect();
        let mut pos = Vec::with_capacity(n * nf);
        for _ in 0..n * nf {
            pos.push([rnd() * 4.0, rnd() * 4.0, rnd() * 4.0]);
        }
        let params = CorrParams::all(2.0, vec![[1.1, 0.3, -0.2], [0.0, 2.0, 0.5], [-0.7, 0.1, 1.3]]);
        let pairs: Vec<[u32; 2]> = vec![[0, 0], [0, 3], [1, 5], [4, 2], [5, 5], [2, 3]];
        let out = pair_sums(&pos, n, &species, ns, &pairs, &params, &Silent).unwrap();
        let stride = (1 + ns) * N_COLS;
        for (p, pr) in pairs.iter().enumerate() {
            let mut want = vec![0.0f64; stride];
            for i in 0..n {
                let (a, b) = (pos[pr[0] as usize * n + i], pos[pr[1] as usize * n + i]);
                let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                let fs: f64 = params.kvecs.iter().map(|k| (k[0] * d[0] + k[1] * d[1] + k[2] * d[2]).cos()).sum::<f64>() / 3.0;
                let v = [r2, r2 * r2, if r2 <= 4.0 { 1.0 } else { 0.0 }, fs];
                for sel in [0, 1 + species[i] as usize] {
                    for c in 0..N_COLS {
                        want[sel * N_COLS + c] += v[c];
                    }
                }
            }
            for k in 0..stride {
                let g = out[p * stride + k];
                assert!((g - want[k]).abs() <= 1e-12 * want[k].abs().max(1.0), "pair {p} entry {k}: {g} vs {}", want[k]);
            }
        }
    }

    /// The AVX2 path and the portable body give the same bits (lengths with and without a
    /// masked last lane block, one target and a block of four at consecutive offsets, overlap at
    /// the boundary), and agree with a plain loop.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn simd_path_matches_the_body_bitwise() {
        let Some(simd) = pulp::x86::V3::try_new() else { return };
        let mut rnd = crate::testutil::lcg(11);
        for n in [0usize, 1, 3, 4, 7, 64, 1001] {
            let c: Vec<Vec<f64>> = (0..6).map(|_| (0..n + PAD).map(|_| rnd() * 3.0 - 1.0).collect()).collect();
            let (o, t) = ([&c[0][..], &c[1][..], &c[2][..]], [&c[3][..], &c[4][..], &c[5][..]]);
            for a2 in [0.0, 0.7, 2.0, 100.0] {
                let plain = |first: usize, len: usize| {
                    let mut w = [0.0f64; 3];
                    for k in 0..len {
                        let d: [f64; 3] = std::array::from_fn(|a| t[a][first + k] - o[a][k]);
                        let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                        w[0] += r2;
                        w[1] += r2 * r2;
                        w[2] += if r2 <= a2 { 1.0 } else { 0.0 };
                    }
                    w
                };
                let near = |g: [f64; 3], w: [f64; 3]| {
                    (0..3).all(|c| (g[c] - w[c]).abs() <= 1e-12 * w[c].abs().max(1.0)) && g[2] == w[2]
                };
                let want = displacement_sums_body::<true, true, false, 1>(o, t, 0, [n], a2, &mut [&mut []])[0];
                let got = simd.vectorize(|| displacement_sums_v3::<true, true, false, 1>(simd, o, t, 0, [n], a2, &mut [&mut []]))[0];
                assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "n = {n}, a² = {a2}");
                assert!(near(want, plain(0, n)), "n = {n}: {want:?} vs {:?}", plain(0, n));
                // a block of 4 targets at offsets 1..5, lengths n − 1 − j (as the lag kernel)
                if n >= 5 {
                    let lens: [usize; 4] = std::array::from_fn(|j| n - 1 - j);
                    let (mut cb, mut cv): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (vec![vec![1.0; n + PAD]; 4], vec![vec![1.0; n + PAD]; 4]);
                    let mut rb: [&mut [f64]; 4] = {
                        let mut it = cb.iter_mut();
                        std::array::from_fn(|_| &mut it.next().unwrap()[..])
                    };
                    let mut rv: [&mut [f64]; 4] = {
                        let mut it = cv.iter_mut();
                        std::array::from_fn(|_| &mut it.next().unwrap()[..])
                    };
                    let wb = displacement_sums_body::<true, true, true, 4>(o, t, 1, lens, a2, &mut rb);
                    let wv = simd.vectorize(|| displacement_sums_v3::<true, true, true, 4>(simd, o, t, 1, lens, a2, &mut rv));
                    for j in 0..4 {
                        assert_eq!(wb[j].map(f64::to_bits), wv[j].map(f64::to_bits), "n = {n}, target {j}");
                        assert!(near(wb[j], plain(1 + j, lens[j])), "n = {n}, target {j}");
                        // the per-pair counts: the overlap indicator added to each valid entry, nothing past it
                        assert_eq!(cb[j], cv[j]);
                        assert_eq!(cb[j].iter().sum::<f64>() - (n + PAD) as f64, wb[j][2]);
                    }
                }
                // a column left out is 0 and changes no bit of the others
                for (r4, ov) in [(true, false), (false, true), (false, false)] {
                    let part = displacement_sums(Some(simd), o, t, n, a2, r4, ov);
                    let keep = [true, r4, ov];
                    for c in 0..3 {
                        let w = if keep[c] { want[c] } else { 0.0 };
                        assert_eq!(part[c].to_bits(), w.to_bits(), "n = {n}, column {c}, r4 {r4}, ov {ov}");
                    }
                    assert_eq!(displacement_sums(None, o, t, n, a2, r4, ov).map(f64::to_bits), part.map(f64::to_bits));
                }
            }
        }
    }

    /// The lag kernel against the per-pair kernel grouped by lag (every origin of a linear
    /// schedule), for each choice of columns, with 3 species and several particle groups; and the
    /// same result with one thread and with two.
    #[test]
    fn lag_sums_equal_the_grouped_pair_sums() {
        let mut rnd = crate::testutil::lcg(21);
        let (n, nf, ns) = (101usize, 13usize, 3usize);
        let species: Vec<u32> = (0..n).map(|_| (rnd() * ns as f64) as u32 % ns as u32).collect();
        let mut pos = vec![[0.0; 3]; n * nf];
        for i in 0..n {
            let mut r = [rnd() * 5.0, rnd() * 5.0, rnd() * 5.0];
            for f in 0..nf {
                pos[f * n + i] = r;
                r = std::array::from_fn(|a| r[a] + 0.4 * (rnd() - 0.5));
            }
        }
        let pairs: Vec<[u32; 2]> = (0..nf as u32).flat_map(|o| (o..nf as u32).map(move |t| [o, t])).collect();
        let n_sel = 1 + ns;
        let full = pair_sums(&pos, n, &species, ns, &pairs, &CorrParams::all(0.3, vec![]), &Silent).unwrap();
        let n_lags = nf - 2;
        for (r4, ov, pc) in [(true, true, true), (true, false, false), (false, true, false), (false, false, true)] {
            let params = CorrParams { a: 0.3, kvecs: vec![], moments4: r4, overlap: ov };
            let got = lag_sums(&pos, n, &species, ns, n_lags, &params, pc, &Silent).unwrap();
            let one = crate::threads::try_install(Some(1), || lag_sums(&pos, n, &species, ns, n_lags, &params, pc, &Silent)).unwrap();
            assert_eq!(got.sums.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), one.sums.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
            assert_eq!(got.count_moments, one.count_moments);
            assert_eq!(got.count_moments.len(), if pc { n_lags * n_sel * 2 } else { 0 });
            for m in 0..n_lags {
                let of_lag: Vec<usize> = (0..pairs.len()).filter(|&k| (pairs[k][1] - pairs[k][0]) as usize == m).collect();
                for s in 0..n_sel {
                    for c in 0..N_LAG_COLS {
                        let want: f64 = of_lag.iter().map(|&k| full[(k * n_sel + s) * N_COLS + c]).sum();
                        let want = if [true, r4, ov][c] { want } else { 0.0 };
                        let g = got.sums[(m * n_sel + s) * N_LAG_COLS + c];
                        if c == 2 {
                            assert_eq!(g, want, "lag {m}, selection {s}: overlap count");
                        } else {
                            assert!((g - want).abs() <= 1e-13 * want.abs(), "lag {m}, selection {s}, column {c}: {g} vs {want}");
                        }
                    }
                    if pc {
                        let cp: Vec<i64> = of_lag.iter().map(|&k| full[(k * n_sel + s) * N_COLS + 2] as i64).collect();
                        let k = (m * n_sel + s) * 2;
                        assert_eq!(got.count_moments[k], cp.iter().sum::<i64>(), "lag {m}, selection {s}: Σ C");
                        assert_eq!(got.count_moments[k + 1], cp.iter().map(|c| c * c).sum::<i64>(), "lag {m}, selection {s}: Σ C²");
                    }
                }
            }
        }
        let all = CorrParams::all(0.3, vec![]);
        assert!(lag_sums(&pos, n, &species, ns, nf + 1, &all, false, &Silent).is_err());
        assert!(lag_sums(&pos, n, &species, ns, 3, &CorrParams::all(0.3, vec![[1.0, 0.0, 0.0]]), false, &Silent).is_err());
        assert_eq!(lag_sums(&pos, n, &species, ns, 3, &all, true, &StopAt(1)), Err(crate::Error::Interrupted));
        // a non-finite coordinate (found while gathering) is named by frame and particle
        let mut bad = pos.clone();
        bad[7 * n + 40][1] = f64::NAN;
        let e = lag_sums(&bad, n, &species, ns, 3, &all, false, &Silent).unwrap_err().to_string();
        assert!(e.contains("frame 7, particle 40"), "{e}");
    }

    #[test]
    fn overlap_is_inclusive() {
        let p = vec![[0.0, 0.0, 0.0], [0.5, 0.0, 0.0]];
        let params = CorrParams::all(0.5, vec![]);
        let out = pair_sums(&p, 1, &[0], 1, &[[0, 1]], &params, &Silent).unwrap();
        assert_eq!(out[2], 1.0);
    }

    #[test]
    fn errors_and_cancel() {
        let (p, s) = traj();
        let params = CorrParams::all(0.3, vec![]);
        assert!(pair_sums(&p, 2, &s, 2, &[[0, 3]], &params, &Silent).is_err());
        assert!(pair_sums(&p, 2, &[0, 2], 2, &[[0, 1]], &params, &Silent).is_err());
        assert!(pair_sums(&p[..5], 2, &s, 2, &[[0, 1]], &params, &Silent).is_err());
        let r = pair_sums(&p, 2, &s, 2, &[[0, 1]], &params, &StopAt(1));
        assert_eq!(r, Err(crate::Error::Interrupted));
    }
}
