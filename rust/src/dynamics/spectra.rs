//! The MSD and F_s of a linear schedule by FFT autocorrelation, every frame an origin.
//!
//! For a particle with positions r(t), t = 0 … F − 1 (unwrapped, taken relative to r(0)), and
//! a lag m, the sums over the origins t = 0 … F − m − 1 are
//!
//! - Σ_t |r(t+m) − r(t)|² = Σ_t (|r(t+m)|² + |r(t)|²) − 2 Σ_t r(t+m)·r(t): the first from
//!   cumulative sums of D(t) = |r(t)|², the second the autocorrelation of each axis;
//! - Σ_t cos(k·(r(t+m) − r(t))) = Re Σ_t z(t+m) z*(t) with z(t) = e^{ik·r(t)}: the
//!   autocorrelation of the phase series.
//!
//! An autocorrelation is the inverse transform of the power spectrum |X(f)|² of the series
//! zero-padded to a length ≥ 2F − 1 (no wrap-around), O(F log F) per particle instead of O(F²).
//! Power spectra are summed over the particles (and axes, wave vectors) of each species first;
//! one inverse transform per species follows. Sums over particles are compensated (Neumaier):
//! at lags near F few origins remain and the value is a small difference of these totals.
//! The transforms' rounding is of the size of the lag-0 value (F per particle), so for F_s the
//! last eighth of the lags, where few origins remain and the value is smallest, is summed
//! directly from the phases instead (O(F²/128) per particle; measured on a random walk with
//! F = 101, where F_s falls to 1e-3: the largest relative deviation from the direct sums drops
//! from 1.9e-12 to 4.5e-13).
//!
//! Work runs in fixed groups of particles in parallel and the groups' partial sums are added in
//! group order, so the result does not depend on the thread count. Wave vectors of the box's
//! reciprocal lattice (k = 2π H⁻ᵀ n, integer n) take their phases as products of integer powers
//! of three per-axis phases e^{2πi s_a} (s = H⁻¹ r): three sin/cos per particle and frame
//! instead of one per wave vector.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::correlations::{detect_simd, gather_trajectories};
use super::{check_chunk_shape, check_finite, n_selections};
use crate::error::Result;
use crate::invalid;
use crate::monitor::Monitor;
use crate::simbox::Vec3;

/// The wave vectors of F_s.
#[derive(Debug, Clone, Copy)]
pub enum Waves<'a> {
    /// No F_s.
    None,
    /// Any wave vectors (one sin/cos per vector, particle and frame).
    Direct(&'a [Vec3]),
    /// Reciprocal-lattice vectors k = 2π H⁻ᵀ n: `hinv` = H⁻¹ (row-major; H's columns are the box
    /// vectors) and the integers n.
    Lattice { hinv: [[f64; 3]; 3], nvecs: &'a [[i64; 3]] },
}

impl Waves<'_> {
    fn len(&self) -> usize {
        match self {
            Waves::None => 0,
            Waves::Direct(k) => k.len(),
            Waves::Lattice { nvecs, .. } => nvecs.len(),
        }
    }
}

/// What [`fft_sums`] returns: per selection (0 = all, 1 + species) and lag m = 0 … n_lags − 1,
/// laid out `[s * n_lags + m]`; empty when not asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct FftSums {
    /// Σ_i Σ_t |r_i(t+m) − r_i(t)|² (lag 0 exactly 0; never negative).
    pub msd: Vec<f64>,
    /// Σ_i Σ_t (1/K) Σ_k cos(k·(r_i(t+m) − r_i(t))).
    pub fs: Vec<f64>,
}

/// The transform length for `n_frames` frames: the smallest even 2^a 3^b 5^c 7^d ≥ 2F − 1
/// (lengths the FFT factorises well).
fn fft_length(n_frames: usize) -> usize {
    let min = (2 * n_frames).saturating_sub(1).max(2);
    let mut best = usize::MAX;
    let mut p2 = 2usize;
    while p2 < 2 * min {
        let mut p3 = p2;
        while p3 < 2 * min {
            let mut p5 = p3;
            while p5 < 2 * min {
                let mut p7 = p5;
                while p7 < 2 * min {
                    if p7 >= min {
                        best = best.min(p7);
                        break;
                    }
                    p7 *= 7;
                }
                p5 *= 5;
            }
            p3 *= 3;
        }
        p2 *= 2;
    }
    best
}

/// `acc + comp` += `v`, element by element, compensated (Neumaier).
#[inline]
fn add_compensated(acc: &mut [f64], comp: &mut [f64], v: &[f64]) {
    for ((a, c), &x) in acc.iter_mut().zip(comp.iter_mut()).zip(v) {
        let t = *a + x;
        *c += if a.abs() >= x.abs() { (*a - t) + x } else { (x - t) + *a };
        *a = t;
    }
}

/// A compensated sum per species of rows of `len` values.
struct Totals {
    acc: Vec<f64>,
    comp: Vec<f64>,
    len: usize,
}

impl Totals {
    fn new(n_species: usize, len: usize) -> Self {
        Totals { acc: vec![0.0; n_species * len], comp: vec![0.0; n_species * len], len }
    }
    fn add(&mut self, s: usize, v: &[f64]) {
        let r = s * self.len..(s + 1) * self.len;
        add_compensated(&mut self.acc[r.clone()], &mut self.comp[r], v);
    }
    /// Adds another total (its sum and its compensation), species by species.
    fn merge(&mut self, o: &Totals) {
        let (acc, comp) = (&mut self.acc, &mut self.comp);
        add_compensated(acc, comp, &o.acc);
        add_compensated(acc, comp, &o.comp);
    }
    fn value(&self, s: usize) -> Vec<f64> {
        (s * self.len..(s + 1) * self.len).map(|j| self.acc[j] + self.comp[j]).collect()
    }
}

/// The transforms of one call, shared by the workers.
struct Plans {
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
    c2c: Arc<dyn Fft<f64>>,
    c2c_inv: Arc<dyn Fft<f64>>,
}

/// A group's partial sums: D(t) = |r(t)|² (F per species), the axes' power spectra
/// (nfft/2 + 1 per species) and the phases' power spectra (nfft per species).
struct Partial {
    d: Totals,
    pw: Totals,
    pz: Totals,
    /// F_s of the lags `tail_from` … n_lags − 1, summed directly (per species)
    tail: Totals,
}

/// The FFT sums of a particle chunk (`pos`: `n_frames` frames of `n` particles, unwrapped, frames
/// equally spaced in time) for lags 0 … `n_lags` − 1: the MSD sums if `msd`, the F_s sums for
/// `waves` (see the module docs). `monitor`: progress in particle groups, Ctrl-C.
#[allow(clippy::too_many_arguments)]
pub fn fft_sums(pos: &[Vec3], n: usize, species: &[u32], n_species: usize, n_lags: usize, msd: bool, waves: Waves<'_>,
                monitor: &dyn Monitor) -> Result<FftSums> {
    let n_frames = check_chunk_shape(pos, n, species, n_species)?;
    if n_lags == 0 || n_lags > n_frames {
        return Err(invalid!("{n_lags} lags asked for; the trajectory has {n_frames} frames (1 … {n_frames} lags)"));
    }
    let nk = waves.len();
    let mut nmax = [0usize; 3];
    match waves {
        Waves::None => {}
        Waves::Direct(kv) => {
            if let Some(k) = kv.iter().find(|k| !k.iter().all(|v| v.is_finite())) {
                return Err(invalid!("wave vector {k:?} is not finite"));
            }
        }
        Waves::Lattice { hinv, nvecs } => {
            if !hinv.iter().flatten().all(|v| v.is_finite()) {
                return Err(invalid!("inverse box matrix {hinv:?} is not finite"));
            }
            const MAX_INDEX: i64 = 1 << 16;
            if let Some(v) = nvecs.iter().find(|v| v.iter().any(|c| c.abs() > MAX_INDEX)) {
                return Err(invalid!("lattice index {v:?} is beyond ±{MAX_INDEX}"));
            }
            nmax = std::array::from_fn(|a| nvecs.iter().map(|v| v[a].unsigned_abs() as usize).max().unwrap_or(0));
        }
    }
    let fs = nk > 0;
    let n_sel = n_selections(n_species);
    if !msd && !fs {
        return Ok(FftSums { msd: Vec::new(), fs: Vec::new() });
    }
    let nfft = fft_length(n_frames);
    let half = nfft / 2 + 1;
    let plans = {
        let mut rp = RealFftPlanner::<f64>::new();
        let mut cp = FftPlanner::<f64>::new();
        Plans { r2c: rp.plan_fft_forward(nfft), c2r: rp.plan_fft_inverse(nfft), c2c: cp.plan_fft_forward(nfft),
                c2c_inv: cp.plan_fft_inverse(nfft) }
    };
    const GROUP: usize = 32;
    const GROUPS_PER_REPORT: usize = 16;
    let n_groups = n.div_ceil(GROUP);
    let stride = n_frames;
    let finite = std::sync::atomic::AtomicBool::new(true);
    // F_s lags summed directly: the last eighth of the frames' lags (see the module docs)
    let tail_from = (n_frames - n_frames / 8).clamp(1, n_lags);
    let n_tail = n_lags - tail_from;
    let empty = || Partial {
        d: Totals::new(n_species, if msd { n_frames } else { 0 }),
        pw: Totals::new(n_species, if msd { half } else { 0 }),
        pz: Totals::new(n_species, if fs { nfft } else { 0 }),
        tail: Totals::new(n_species, if fs { n_tail } else { 0 }),
    };
    let mut total = empty();
    let simd = detect_simd();
    monitor.progress(0, n_groups)?;
    for g0 in (0..n_groups).step_by(GROUPS_PER_REPORT) {
        let g1 = (g0 + GROUPS_PER_REPORT).min(n_groups);
        let parts: Vec<Partial> = (g0..g1).into_par_iter().map(|g| {
            let mut part = empty();
            let (i0, i1) = (g * GROUP, ((g + 1) * GROUP).min(n));
            let (x, ok) = gather_trajectories(pos, n, i0, i1, stride);
            if !ok {
                finite.store(false, std::sync::atomic::Ordering::Relaxed);
                return part;
            }
            // per-particle work buffers
            let mut rel = vec![0.0; 3 * n_frames];
            let mut d = vec![0.0; if msd { n_frames } else { 0 }];
            let mut real = plans.r2c.make_input_vec();
            let mut spec = plans.r2c.make_output_vec();
            let mut scratch_r = plans.r2c.make_scratch_vec();
            let mut pw = vec![0.0; if msd { half } else { 0 }];
            let mut ph = vec![0.0; nk * 2 * n_frames];
            let mut z = vec![Complex::new(0.0, 0.0); nk * nfft];
            let mut scratch_c = vec![Complex::new(0.0, 0.0); if fs { plans.c2c.get_inplace_scratch_len() } else { 0 }];
            let mut pz = vec![0.0; if fs { nfft } else { 0 }];
            let mut tail = vec![0.0; if fs { n_tail } else { 0 }];
            for (k, xk) in x.chunks_exact(3 * stride).enumerate() {
                if monitor.cancelled() {
                    break;   // the block's progress report below returns
                }
                let s = species[i0 + k] as usize;
                // positions relative to the first frame: displacements unchanged, values of the
                // size of the displacements (exact zeros for a particle that never moves)
                for a in 0..3 {
                    let xa = &xk[a * stride..a * stride + n_frames];
                    for (r, v) in rel[a * n_frames..(a + 1) * n_frames].iter_mut().zip(xa) {
                        *r = v - xa[0];
                    }
                }
                let (rx, rest) = rel.split_at(n_frames);
                let (ry, rz) = rest.split_at(n_frames);
                if msd {
                    d.iter_mut().for_each(|v| *v = 0.0);
                    pw.iter_mut().for_each(|v| *v = 0.0);
                    for ra in [rx, ry, rz] {
                        real[..n_frames].copy_from_slice(ra);
                        real[n_frames..].iter_mut().for_each(|v| *v = 0.0);
                        for (dv, v) in d.iter_mut().zip(ra) {
                            *dv += v * v;
                        }
                        // lengths and buffers are the planner's own: this cannot fail
                        let _ = plans.r2c.process_with_scratch(&mut real, &mut spec, &mut scratch_r);
                        for (p, c) in pw.iter_mut().zip(&spec) {
                            *p += c.re * c.re + c.im * c.im;
                        }
                    }
                    part.d.add(s, &d);
                    part.pw.add(s, &pw);
                }
                if fs {
                    let row = 2 * n_frames;
                    match waves {
                        Waves::Lattice { hinv, nvecs } => {
                            #[cfg(target_arch = "x86_64")]
                            if let Some(simd) = simd {
                                simd.vectorize(#[inline(always)] || lattice_phases_of_particle([rx, ry, rz], &hinv, nvecs, nmax, &mut ph, row));
                            } else {
                                lattice_phases_of_particle([rx, ry, rz], &hinv, nvecs, nmax, &mut ph, row);
                            }
                            #[cfg(not(target_arch = "x86_64"))]
                            lattice_phases_of_particle([rx, ry, rz], &hinv, nvecs, nmax, &mut ph, row);
                        }
                        Waves::Direct(kv) => direct_phases_of_particle([rx, ry, rz], kv, &mut ph, row),
                        Waves::None => {}
                    }
                    tail.iter_mut().for_each(|v| *v = 0.0);
                    for pr in ph.chunks_exact(row) {
                        for (j, v) in tail.iter_mut().enumerate() {
                            let m = tail_from + j;
                            let (a, b) = (&pr[..2 * (n_frames - m)], &pr[2 * m..2 * n_frames]);
                            // Σ_t Re z(t + m) z*(t) = Σ_t re·re + im·im
                            *v += a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
                        }
                    }
                    part.tail.add(s, &tail);
                    for (zr, pr) in z.chunks_exact_mut(nfft).zip(ph.chunks_exact(row)) {
                        for (c, p) in zr.iter_mut().zip(pr.chunks_exact(2)) {
                            *c = Complex::new(p[0], p[1]);
                        }
                        zr[n_frames..].iter_mut().for_each(|c| *c = Complex::new(0.0, 0.0));
                    }
                    plans.c2c.process_with_scratch(&mut z, &mut scratch_c);
                    pz.iter_mut().for_each(|v| *v = 0.0);
                    for zr in z.chunks_exact(nfft) {
                        for (p, c) in pz.iter_mut().zip(zr) {
                            *p += c.re * c.re + c.im * c.im;
                        }
                    }
                    part.pz.add(s, &pz);
                }
            }
            part
        }).collect();
        if !finite.load(std::sync::atomic::Ordering::Relaxed) {
            check_finite(pos, n)?;   // names the first non-finite coordinate
        }
        for p in &parts {
            total.d.merge(&p.d);
            total.pw.merge(&p.pw);
            total.pz.merge(&p.pz);
            total.tail.merge(&p.tail);
        }
        monitor.progress(g1, n_groups)?;
    }
    let _ = simd;   // used only on x86-64
    // one inverse transform per species; "all" = the species sums in species order
    let mut out = FftSums { msd: Vec::new(), fs: Vec::new() };
    if msd {
        let mut sums = vec![0.0; n_sel * n_lags];
        let mut spec = plans.c2r.make_input_vec();
        let mut back = plans.c2r.make_output_vec();
        let mut scratch = plans.c2r.make_scratch_vec();
        for s in 0..n_species {
            let (d, pw) = (total.d.value(s), total.pw.value(s));
            let mut cum = vec![0.0; n_frames + 1];   // cum[k] = Σ_{t<k} D(t)
            for t in 0..n_frames {
                cum[t + 1] = cum[t] + d[t];
            }
            for (c, &p) in spec.iter_mut().zip(&pw) {
                *c = Complex::new(p, 0.0);
            }
            plans.c2r.process_with_scratch(&mut spec, &mut back, &mut scratch)
                .map_err(|e| invalid!("inverse FFT of the MSD power spectrum: {e}"))?;
            for m in 1..n_lags {
                let s1 = (cum[n_frames] - cum[m]) + cum[n_frames - m];
                let v = s1 - 2.0 * back[m] / nfft as f64;
                sums[(1 + s) * n_lags + m] = v.max(0.0);   // a sum of squares: rounding may not make it negative
            }
        }
        all_from_species(&mut sums, n_species, n_lags);
        out.msd = sums;
    }
    if fs {
        let mut sums = vec![0.0; n_sel * n_lags];
        let mut buf = vec![Complex::new(0.0, 0.0); nfft];
        for s in 0..n_species {
            for (c, p) in buf.iter_mut().zip(total.pz.value(s)) {
                *c = Complex::new(p, 0.0);
            }
            plans.c2c_inv.process(&mut buf);
            let tail = total.tail.value(s);
            for m in 0..n_lags {
                let v = if m >= tail_from { tail[m - tail_from] } else { buf[m].re / nfft as f64 };
                sums[(1 + s) * n_lags + m] = v / nk as f64;
            }
        }
        all_from_species(&mut sums, n_species, n_lags);
        out.fs = sums;
    }
    Ok(out)
}

/// Row 0 of `sums` (selection "all") = the sum of the species rows 1 … n_species, in order.
fn all_from_species(sums: &mut [f64], n_species: usize, n_lags: usize) {
    for m in 0..n_lags {
        let mut t = 0.0;
        for s in 0..n_species {
            t += sums[(1 + s) * n_lags + m];
        }
        sums[m] = t;
    }
}

/// One particle's phase rows e^{ik·r(t)} for any wave vectors: row k of `o` (length `row` ≥ 2F)
/// receives cos(k·r(t)) at 2t and sin(k·r(t)) at 2t + 1.
fn direct_phases_of_particle(xyz: [&[f64]; 3], kvecs: &[Vec3], o: &mut [f64], row: usize) {
    for (k, ok) in kvecs.iter().zip(o.chunks_exact_mut(row)) {
        for t in 0..xyz[0].len() {
            let (s, c) = (k[0] * xyz[0][t] + k[1] * xyz[1][t] + k[2] * xyz[2][t]).sin_cos();
            ok[2 * t] = c;
            ok[2 * t + 1] = s;
        }
    }
}

/// [`direct_phases_of_particle`] for reciprocal-lattice wave vectors k = 2π H⁻ᵀ n (`nvecs`,
/// `hinv` = H⁻¹; `nmax[a]` ≥ every |n_a|): e^{ik·r} = Π_a (e^{2πi s_a})^{n_a} with s = H⁻¹ r,
/// the integer powers by repeated multiplication (|error| ≤ ~|n|·1e-16). Plain loops over
/// lanes: inlined into a vectorised context the compiler emits SIMD code, without fused
/// multiply-adds (the same bits on every path).
#[inline(always)]
fn lattice_phases_of_particle(xyz: [&[f64]; 3], hinv: &[[f64; 3]; 3], nvecs: &[[i64; 3]], nmax: [usize; 3],
                                  o: &mut [f64], row: usize) {
    let n_t = xyz[0].len();
    // TB frames at a time, so that the power recurrences of the three axes and TB frames are
    // independent chains (one frame alone is latency-bound) and the rows are written in runs.
    const TB: usize = 8;
    // re/im[a][m][tb] = Re/Im (e^{2πi s_a(t0 + tb)})^m, m = 0..=nmax[a]
    let mut re: [Vec<[f64; TB]>; 3] = std::array::from_fn(|a| vec![[1.0; TB]; nmax[a] + 1]);
    let mut im: [Vec<[f64; TB]>; 3] = std::array::from_fn(|a| vec![[0.0; TB]; nmax[a] + 1]);
    for t0 in (0..n_t).step_by(TB) {
        let nb = TB.min(n_t - t0);
        for a in 0..3 {
            // fractional coordinate s_a = (H⁻¹ r)_a of each frame (0 past the last frame)
            let mut s = [0.0; TB];
            for tb in 0..nb {
                let t = t0 + tb;
                s[tb] = hinv[a][0] * xyz[0][t] + hinv[a][1] * xyz[1][t] + hinv[a][2] * xyz[2][t];
            }
            let (mut s1, mut c1) = ([0.0; TB], [0.0; TB]);
            crate::phase::sin_cos_turns_lanes(&s, &mut s1, &mut c1);
            for m in 1..re[a].len() {
                let (pr, pi) = (re[a][m - 1], im[a][m - 1]);
                let (mut nr, mut ni) = ([0.0; TB], [0.0; TB]);
                for tb in 0..TB {
                    nr[tb] = pr[tb] * c1[tb] - pi[tb] * s1[tb];
                    ni[tb] = pr[tb] * s1[tb] + pi[tb] * c1[tb];
                }
                re[a][m] = nr;
                im[a][m] = ni;
            }
        }
        for (k, v) in nvecs.iter().enumerate() {
            let (mut zr, mut zi) = ([1.0f64; TB], [0.0f64; TB]);
            for a in 0..3 {
                let m = v[a].unsigned_abs() as usize;
                let sign = if v[a] < 0 { -1.0 } else { 1.0 };
                let (pr, pi) = (&re[a][m], &im[a][m]);
                for tb in 0..TB {
                    let q = pi[tb] * sign;
                    (zr[tb], zi[tb]) = (zr[tb] * pr[tb] - zi[tb] * q, zr[tb] * q + zi[tb] * pr[tb]);
                }
            }
            let dst = &mut o[k * row + 2 * t0..k * row + 2 * (t0 + nb)];
            for tb in 0..nb {
                dst[2 * tb] = zr[tb];
                dst[2 * tb + 1] = zi[tb];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Silent;

    /// Lattice phases agree with one sin/cos per wave vector (triclinic box, negative indices).
    #[test]
    fn lattice_phases_match_direct_sin_cos() {
        let (hinv, nvecs, kv) = triclinic_waves();
        let mut rnd = crate::testutil::lcg(3);
        let n_t = 13usize;
        let x: Vec<f64> = (0..3 * n_t).map(|_| rnd() * 30.0 - 10.0).collect();
        let xyz = [&x[..n_t], &x[n_t..2 * n_t], &x[2 * n_t..]];
        let row = 2 * n_t + 3;
        let (mut a, mut b) = (vec![0.0; kv.len() * row], vec![0.0; kv.len() * row]);
        direct_phases_of_particle(xyz, &kv, &mut a, row);
        lattice_phases_of_particle(xyz, &hinv, &nvecs, [4, 2, 5], &mut b, row);
        for (u, v) in a.iter().zip(&b) {
            assert!((u - v).abs() < 1e-12, "{u} vs {v}");
        }
    }

    fn triclinic_waves() -> ([[f64; 3]; 3], Vec<[i64; 3]>, Vec<Vec3>) {
        let h = [[5.0, 0.7, 0.3], [0.0, 6.0, -0.4], [0.0, 0.0, 7.0]]; // columns = box vectors
        let det = h[0][0] * (h[1][1] * h[2][2] - h[1][2] * h[2][1]) - h[0][1] * (h[1][0] * h[2][2] - h[1][2] * h[2][0])
            + h[0][2] * (h[1][0] * h[2][1] - h[1][1] * h[2][0]);
        let hinv: [[f64; 3]; 3] = std::array::from_fn(|i| std::array::from_fn(|j| {
            let (r0, r1) = ([1, 2, 0][j], [2, 0, 1][j]);
            let (c0, c1) = ([1, 2, 0][i], [2, 0, 1][i]);
            (h[r0][c0] * h[r1][c1] - h[r0][c1] * h[r1][c0]) / det
        }));
        let nvecs = vec![[3i64, -2, 1], [0, 0, 5], [-4, 1, 0], [1, 1, 1]];
        let tau = 2.0 * std::f64::consts::PI;
        // k = 2π H⁻ᵀ n
        let kv = nvecs.iter().map(|n| std::array::from_fn(|c| tau * (0..3).map(|a| hinv[a][c] * n[a] as f64).sum::<f64>())).collect();
        (hinv, nvecs, kv)
    }

    /// The FFT sums against the plain double loop over origins, per species and for all; lattice
    /// and direct wave vectors agree; one and two threads give the same bits.
    #[test]
    fn fft_sums_equal_the_sums_over_origins() {
        let (hinv, nvecs, kv) = triclinic_waves();
        let mut rnd = crate::testutil::lcg(17);
        let (n, nf, ns) = (70usize, 23usize, 2usize);
        let species: Vec<u32> = (0..n).map(|i| (i % 3 == 0) as u32).collect();
        let mut pos = vec![[0.0; 3]; n * nf];
        for i in 0..n {
            let mut r = [rnd() * 6.0, rnd() * 6.0, rnd() * 7.0];
            for f in 0..nf {
                if i != 5 {   // particle 5 never moves
                    r = std::array::from_fn(|a| r[a] + 0.3 * (rnd() - 0.5));
                }
                pos[f * n + i] = r;
            }
        }
        let n_lags = nf;   // every lag: the last ones are summed directly (the tail)
        let lat = fft_sums(&pos, n, &species, ns, n_lags, true, Waves::Lattice { hinv, nvecs: &nvecs }, &Silent).unwrap();
        let dir = fft_sums(&pos, n, &species, ns, n_lags, true, Waves::Direct(&kv), &Silent).unwrap();
        for s in 0..=ns {
            for m in 0..n_lags {
                let (mut want_m, mut want_f) = (0.0, 0.0);
                for i in (0..n).filter(|&i| s == 0 || species[i] as usize == s - 1) {
                    for t in 0..nf - m {
                        let (a, b) = (pos[t * n + i], pos[(t + m) * n + i]);
                        let d: [f64; 3] = std::array::from_fn(|c| b[c] - a[c]);
                        want_m += d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                        want_f += kv.iter().map(|k| (k[0] * d[0] + k[1] * d[1] + k[2] * d[2]).cos()).sum::<f64>() / kv.len() as f64;
                    }
                }
                let j = s * n_lags + m;
                assert!((lat.msd[j] - want_m).abs() <= 1e-12 * want_m.max(1.0), "msd s {s} m {m}: {} vs {want_m}", lat.msd[j]);
                assert!((lat.fs[j] - want_f).abs() <= 1e-12 * want_f.abs().max(1.0), "fs s {s} m {m}: {} vs {want_f}", lat.fs[j]);
                assert!((dir.fs[j] - want_f).abs() <= 1e-12 * want_f.abs().max(1.0));
            }
        }
        assert_eq!(lat.msd[0], 0.0);
        let one = crate::threads::try_install(Some(1), || fft_sums(&pos, n, &species, ns, n_lags, true,
                                              Waves::Lattice { hinv, nvecs: &nvecs }, &Silent)).unwrap();
        assert_eq!(one.msd.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), lat.msd.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        assert_eq!(one.fs.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), lat.fs.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        // only the MSD; bad input
        let m_only = fft_sums(&pos, n, &species, ns, n_lags, true, Waves::None, &Silent).unwrap();
        assert!(m_only.fs.is_empty() && m_only.msd == lat.msd);
        assert!(fft_sums(&pos, n, &species, ns, nf + 1, true, Waves::None, &Silent).is_err());
        assert!(fft_sums(&pos, n, &species, ns, n_lags, false, Waves::Lattice { hinv, nvecs: &[[1 << 20, 0, 0]] }, &Silent).is_err());
        let mut bad = pos.clone();
        bad[7 * n + 3][1] = f64::NAN;
        let e = fft_sums(&bad, n, &species, ns, n_lags, true, Waves::None, &Silent).unwrap_err().to_string();
        assert!(e.contains("frame 7, particle 3"), "{e}");
    }

    #[test]
    fn transform_lengths() {
        assert_eq!(fft_length(1), 2);
        assert_eq!(fft_length(101), 210);
        assert_eq!(fft_length(201), 420);
        for f in 1..3000 {
            let l = fft_length(f);
            assert!(l >= 2 * f - 1 && l % 2 == 0);
            let mut r = l;
            for p in [2, 3, 5, 7] {
                while r % p == 0 {
                    r /= p;
                }
            }
            assert_eq!(r, 1, "{l}");
        }
    }
}
