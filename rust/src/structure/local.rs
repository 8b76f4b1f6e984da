//! Per-particle Gaussian-smoothed g^i_uv(r) (definitions §2.3) and the quantities integrated from it
//! on the fly: the structural order parameter βφ_i (2.4–2.6), the two-body excess entropy
//! s2_i (2.7) and the local energy e_loc (2.8).
//!
//! Grid r_k = k·dr, k = 1…K, with K·dr the first grid point ≥ max(widest window, r_s, largest
//! model cutoff). For particle i of species u and species v:
//! g^i_uv(r_k) = 1/(4πρ_v r_k²) Σ_{j∈v, j≠i} (2πδ²)^{-1/2} exp(−(r_k − r_ij)²/(2δ²)),
//! summing only grid points with |r_k − r_ij| ≤ 5δ (neighbours up to r_K + 5δ). The Gaussian
//! along k is evaluated exactly as A·T[m]·B^m (see `accumulate`; relative error ~1e-14).
//! Every integral is the trapezoid rule over the grid points inside its window, endpoints
//! included. In the closures, grid points with g < 1e-10 contribute zero (definitions §2.4). In s2,
//! g ln g is taken as 0 where g = 0 (its limit). e_loc integrates over the whole grid (U = 0
//! beyond the cutoff). Nothing larger than one (species × K) buffer per worker is allocated.

use rayon::prelude::*;

use super::{exp_neg4, require_all_species, species_counts, trapezoid_window, Cells, FrameData};
use crate::error::Result;
use crate::invalid;
use crate::models::Model;

/// Direct-correlation closure (definitions §2.4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Closure {
    /// c = g − 1
    Approx,
    /// c = −βU + (g − 1) − ln g, with β = 1/T
    Hnc { beta: f64 },
}

#[derive(Debug, Clone)]
pub struct LocalParams {
    /// Gaussian width δ (σ).
    pub delta: f64,
    /// Grid spacing dr (σ).
    pub dr: f64,
    /// Upper limit r_s of the s2 integral (σ).
    pub r_s: f64,
    /// Integration windows [r_lo, r_hi] per ordered species pair, row-major (u * ns + v).
    pub windows: Vec<(f64, f64)>,
    pub closure: Closure,
}

/// Per-particle results (NaN for e_loc without a model).
#[derive(Debug, Clone, Default)]
pub struct LocalResult {
    pub beta_phi: Vec<f64>,
    pub s2: Vec<f64>,
    pub e_loc: Vec<f64>,
    /// Grid points r_k, k = 1…K.
    pub r: Vec<f64>,
    /// g^i_uv(r_k) for the requested particles: layout `(p * ns + v) * K + k`.
    pub curves: Vec<f64>,
}

/// The model seen from the trajectory's species: `map[u]` is the model species of trajectory species u.
pub struct ModelMap<'a> {
    pub model: &'a Model,
    pub map: &'a [u32],
}

struct Setup {
    ns: usize,
    k: usize,
    r: Vec<f64>,
    rho: Vec<f64>,
    /// (2πδ²)^{-1/2} / (4π ρ_v r_k²), layout v * K + k
    nrm: Vec<f64>,
    /// per pair: first index and weights·4πr² of the SOP window
    win: Vec<(usize, Vec<f64>)>,
    /// s2 window
    s2w: (usize, Vec<f64>),
    /// whole grid
    allw: (usize, Vec<f64>),
    /// U_uv(r_k), layout (u * ns + v) * K + k (empty without a model)
    u: Vec<f64>,
    /// exp(−m² dr² / 2δ²), m = 0 … ⌈5δ/dr⌉ + 2
    gauss_table: Vec<f64>,
    /// the same, reversed
    gauss_rev: Vec<f64>,
}

fn setup(n_per: &[usize], volume: f64, dim: usize, model: Option<&ModelMap>, p: &LocalParams) -> Result<Setup> {
    let ns = n_per.len();
    for (name, v) in [("delta", p.delta), ("dr", p.dr), ("r_s", p.r_s)] {
        if !(v > 0.0 && v.is_finite()) {
            return Err(invalid!("{name} must be a positive finite number, got {v}"));
        }
    }
    if p.windows.len() != ns * ns {
        return Err(invalid!("expected {} integration windows (one per ordered species pair), got {}", ns * ns, p.windows.len()));
    }
    for (k, &(lo, hi)) in p.windows.iter().enumerate() {
        if !(lo >= 0.0 && hi > lo && hi.is_finite()) {
            return Err(invalid!(
                "integration window of species pair ({}, {}) must satisfy 0 ≤ r_lo < r_hi < ∞, got [{lo}, {hi}]",
                k / ns,
                k % ns
            ));
        }
    }
    if let Closure::Hnc { beta } = p.closure {
        if !(beta > 0.0 && beta.is_finite()) {
            return Err(invalid!("the hnc closure needs a positive finite temperature (β = 1/T = {beta})"));
        }
        if model.is_none() {
            return Err(invalid!("the hnc closure needs a model for βU(r)"));
        }
    }
    if let Some(m) = model {
        m.model.require_pairwise("the local energy e_loc (an integral of the pair potential) and the HNC closure (βU of a pair)")?;
        if m.map.len() != ns {
            return Err(invalid!("species map has {} entries for {ns} species", m.map.len()));
        }
        m.model.check_types(m.map)?;
    }
    let mut r_need = p.r_s;
    for &(_, hi) in &p.windows {
        r_need = r_need.max(hi);
    }
    if let Some(m) = model {
        for &a in m.map {
            for &b in m.map {
                r_need = r_need.max(m.model.cutoff(a, b));
            }
        }
    }
    let k = ((r_need / p.dr) - 1e-9).ceil().max(1.0) as usize;
    let r: Vec<f64> = (1..=k).map(|i| i as f64 * p.dr).collect();
    let rho: Vec<f64> = n_per.iter().map(|&c| c as f64 / volume).collect();
    let gauss = 1.0 / (2.0 * std::f64::consts::PI * p.delta * p.delta).sqrt();
    let mut nrm = vec![0.0; ns * k];
    for v in 0..ns {
        for i in 0..k {
            // (same operation order as the 3D formula 4π ρ r r)
            let shell = if dim == 2 { 2.0 * std::f64::consts::PI * rho[v] * r[i] } else { 4.0 * std::f64::consts::PI * rho[v] * r[i] * r[i] };
            nrm[v * k + i] = gauss / shell;
        }
    }
    let weigh = |(a, w): (usize, Vec<f64>)| -> (usize, Vec<f64>) {
        let w = w.iter().enumerate().map(|(i, x)| x * super::sphere(dim, r[a + i])).collect();
        (a, w)
    };
    let mut win = Vec::with_capacity(ns * ns);
    for (pair, &(lo, hi)) in p.windows.iter().enumerate() {
        let tw = trapezoid_window(&r, p.dr, lo, hi);
        if tw.1.is_empty() {
            return Err(invalid!(
                "integration window [{lo}, {hi}] of species pair ({}, {}) holds fewer than two grid points (dr = {})",
                pair / ns,
                pair % ns,
                p.dr
            ));
        }
        win.push(weigh(tw));
    }
    let s2w = weigh(trapezoid_window(&r, p.dr, 0.0, p.r_s));
    let allw = weigh(trapezoid_window(&r, p.dr, 0.0, f64::INFINITY));
    let mut u = Vec::new();
    if let Some(m) = model {
        u = vec![0.0; ns * ns * k];
        for a in 0..ns {
            for b in 0..ns {
                for i in 0..k {
                    u[(a * ns + b) * k + i] = m.model.eval(m.map[a], m.map[b], r[i])[0];
                }
            }
        }
    }
    let mt = (5.0 * p.delta / p.dr).ceil() as usize + 3;
    let gauss_table: Vec<f64> = (0..mt).map(|m| (-(m as f64 * p.dr).powi(2) / (2.0 * p.delta * p.delta)).exp()).collect();
    let gauss_rev = gauss_table.iter().rev().copied().collect();
    Ok(Setup { ns, k, r, rho, nrm, win, s2w, allw, u, gauss_table, gauss_rev })
}

/// Add a · t[idx] · b^idx to `row[idx]` for idx = 0..row.len() (four independent power chains,
/// so the loop vectorises; relative rounding ~1e-14 over the ≤ 100 points of a kernel).
#[inline(always)]
fn sweep_body(row: &mut [f64], t: &[f64], a: f64, b: f64) {
    let n = row.len().min(t.len());
    let n4 = n - n % 4;
    let b2 = b * b;
    let b4 = b2 * b2;
    let mut p = [a, a * b, a * b2, a * b2 * b];
    let (rc, rr) = row[..n].split_at_mut(n4);
    let (tc, tr) = t[..n].split_at(n4);
    for (x, tv) in rc.chunks_exact_mut(4).zip(tc.chunks_exact(4)) {
        x[0] += tv[0] * p[0];
        x[1] += tv[1] * p[1];
        x[2] += tv[2] * p[2];
        x[3] += tv[3] * p[3];
        p[0] *= b4;
        p[1] *= b4;
        p[2] *= b4;
        p[3] *= b4;
    }
    for (l, (x, tv)) in rr.iter_mut().zip(tr).enumerate() {
        *x += tv * p[l];
    }
}

/// `sweep_body`, also compiled for AVX2 and chosen at run time when the CPU has it (same
/// arithmetic, wider registers; dispatch by the `multiversion` crate, no `unsafe` here).
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn sweep(row: &mut [f64], t: &[f64], a: f64, b: f64) {
    sweep_body(row, t, a, b)
}

/// Fill `buf` (ns × K) with g^i_v(r_k) of particle i.
///
/// For a neighbour at r_ij, with kc the nearest grid index and x0 = r_ij − kc·dr, the kernel at
/// k = kc + m factorises exactly: exp(−(m·dr − x0)²/2δ²) = exp(−x0²/2δ²) · T[|m|] · B^m with
/// T[m] = exp(−m²dr²/2δ²) (tabulated once) and B = exp(dr·x0/δ²): two exp per neighbour.
#[allow(clippy::too_many_arguments)]
fn accumulate(i: usize, cells: &Cells, types: &[u32], s: &Setup, delta: f64, dr: f64, buf: &mut [f64], nb: &mut Vec<(u32, f64)>) {
    buf.iter_mut().for_each(|x| *x = 0.0);
    // gather first (a tight candidate loop), then spread the Gaussians
    nb.clear();
    cells.for_each(i, false, |j, r| nb.push((types[j], r)));
    let k_n = s.k;
    let cut = 5.0 * delta;
    let inv2d2 = 1.0 / (2.0 * delta * delta);
    let t = &s.gauss_table;
    for &(tj, rij) in nb.iter() {
        let row = &mut buf[tj as usize * k_n..(tj as usize + 1) * k_n];
        // exact window of grid points: first k ≥ 1 with r_k − r_ij ≥ −5δ, last k ≤ K with r_k − r_ij ≤ 5δ
        let mut lo = (((rij - cut) / dr) as i64).max(1); // truncation; fixed up below
        while lo > 1 && rij - (lo - 1) as f64 * dr <= cut {
            lo -= 1;
        }
        while lo <= k_n as i64 && rij - lo as f64 * dr > cut {
            lo += 1;
        }
        let mut hi = (((rij + cut) / dr) as i64 + 1).min(k_n as i64);
        while hi >= lo && hi as f64 * dr - rij > cut {
            hi -= 1;
        }
        while hi < k_n as i64 && (hi + 1) as f64 * dr - rij <= cut {
            hi += 1;
        }
        if hi < lo {
            continue;
        }
        let kc = ((rij / dr + 0.5) as i64).clamp(lo, hi);
        let x0 = rij - kc as f64 * dr;
        let down = (kc - lo) as usize;
        // a = e^{−x0²/2δ²}, b = e^{dr·x0/δ²}, c = a·b^{−down}: one 4-lane exp (|arguments| ≲ 50)
        let [a, b, c, _] = exp_neg4([
            -x0 * x0 * inv2d2,
            dr * x0 * 2.0 * inv2d2,
            -(x0 * x0 + 2.0 * down as f64 * dr * x0) * inv2d2,
            0.0,
        ]);
        // k = kc, kc+1, …, hi  (index k−1 in row): m = 0, 1, …
        let up = (hi - kc + 1) as usize;
        let k0 = (kc - 1) as usize;
        sweep(&mut row[k0..k0 + up], &t[..up], a, b);
        // k = lo, …, kc−1: m = −down, …, −1, T[|m|] read from the reversed table
        if down > 0 {
            let tr = &s.gauss_rev;
            let mt = tr.len();
            sweep(&mut row[(lo - 1) as usize..k0], &tr[mt - 1 - down..mt - 1], c, b);
        }
    }
    for (x, n) in buf.iter_mut().zip(&s.nrm) {
        *x *= n;
    }
}

/// (βφ_i, s2_i, e_loc_i) of particle i of species u from its curves in `g` (ns × K).
fn integrals(u: usize, g: &[f64], s: &Setup, closure: Closure) -> (f64, f64, f64) {
    let (ns, k_n) = (s.ns, s.k);
    let mut bphi = 0.0;
    let mut s2 = 0.0;
    let mut el = 0.0;
    for v in 0..ns {
        let gv = &g[v * k_n..(v + 1) * k_n];
        let pair = u * ns + v;
        let (a, w) = &s.win[pair];
        let mut acc = 0.0;
        for (t, wt) in w.iter().enumerate() {
            let k = a + t;
            let x = gv[k];
            if x < 1e-10 {
                continue;
            }
            let c = match closure {
                Closure::Approx => x - 1.0,
                Closure::Hnc { beta } => -beta * s.u[pair * k_n + k] + (x - 1.0) - x.ln(),
            };
            acc += wt * c * x;
        }
        bphi -= s.rho[v] * acc;
        let (a, w) = &s.s2w;
        let mut acc = 0.0;
        for (t, wt) in w.iter().enumerate() {
            let x = gv[a + t];
            let xlx = if x > 0.0 { x * x.ln() } else { 0.0 };
            acc += wt * (xlx - x + 1.0);
        }
        s2 -= 0.5 * s.rho[v] * acc;
        if !s.u.is_empty() {
            let (a, w) = &s.allw;
            let uu = &s.u[pair * k_n..(pair + 1) * k_n];
            let mut acc = 0.0;
            for (t, wt) in w.iter().enumerate() {
                acc += wt * uu[a + t] * gv[a + t];
            }
            el += 0.5 * s.rho[v] * acc;
        } else {
            el = f64::NAN;
        }
    }
    (bphi, s2, el)
}

/// βφ_i, s2_i and e_loc_i for every particle of one frame; the g^i curves of the particles
/// listed in `curves` are returned too.
pub fn local_frame(
    fr: &FrameData,
    types: &[u32],
    ns: usize,
    model: Option<&ModelMap>,
    p: &LocalParams,
    curves: &[usize],
    n_threads: Option<usize>,
) -> Result<LocalResult> {
    let n = fr.pos.len();
    if types.len() != n {
        return Err(invalid!("frame has {n} particles but {} species entries", types.len()));
    }
    let n_per = species_counts(types, ns)?;
    require_all_species(&n_per, "the local g^i_uv(r) (ρ_v normalisation)")?;
    if let Some(&bad) = curves.iter().find(|&&c| c >= n) {
        return Err(invalid!("curve requested for particle {bad}, but the frame has {n} particles"));
    }
    let s = setup(&n_per, fr.sbox.volume(), fr.sbox.dim(), model, p)?;
    let rc = s.r[s.k - 1] + 5.0 * p.delta;
    let cells = Cells::new(&fr.pos, &fr.sbox, rc, "local g^i(r) neighbour range (grid end + 5δ)")?;
    let (delta, dr, closure) = (p.delta, p.dr, p.closure);
    let width = ns * s.k;
    let rows: Vec<(f64, f64, f64)> = crate::threads::try_install(n_threads, || {
        Ok((0..n)
            .into_par_iter()
            .with_min_len(16)
            .map_init(
                || (vec![0.0; width], Vec::with_capacity(256)),
                |(buf, nb), i| {
                    accumulate(i, &cells, types, &s, delta, dr, buf, nb);
                    integrals(types[i] as usize, buf, &s, closure)
                },
            )
            .collect())
    })?;
    let mut out = LocalResult {
        beta_phi: Vec::with_capacity(n),
        s2: Vec::with_capacity(n),
        e_loc: Vec::with_capacity(n),
        r: s.r.clone(),
        curves: vec![0.0; curves.len() * width],
    };
    for (b, s2, e) in rows {
        out.beta_phi.push(b);
        out.s2.push(s2);
        out.e_loc.push(e);
    }
    let mut buf = vec![0.0; width];
    let mut nb = Vec::new();
    for (q, &i) in curves.iter().enumerate() {
        accumulate(i, &cells, types, &s, delta, dr, &mut buf, &mut nb);
        out.curves[q * width..(q + 1) * width].copy_from_slice(&buf);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simbox::SimBox;

    /// Two particles at distance d: g^0_{00}(r) is one normalised Gaussian; check against a
    /// direct evaluation and the SOP integral against a direct trapezoid sum.
    #[test]
    fn two_particles_direct() {
        let b = SimBox::orthorhombic([10.0; 3]).unwrap();
        let d = 1.1234;
        let fr = FrameData { pos: vec![[1.0, 1.0, 1.0], [1.0 + d, 1.0, 1.0]], sbox: b };
        let p = LocalParams { delta: 0.09, dr: 0.005, r_s: 3.0, windows: vec![(0.9, 1.4)], closure: Closure::Approx };
        let res = local_frame(&fr, &[0, 0], 1, None, &p, &[0], Some(1)).unwrap();
        let rho = 2.0 / 1000.0;
        let mut want = 0.0;
        let mut prev: Option<(f64, f64)> = None;
        for (k, &r) in res.r.iter().enumerate() {
            let x = r - d;
            let g = if x.abs() <= 0.45 {
                (-x * x / (2.0 * 0.09 * 0.09)).exp() / (2.0 * std::f64::consts::PI * 0.0081).sqrt()
                    / (4.0 * std::f64::consts::PI * rho * r * r)
            } else {
                0.0
            };
            assert!((res.curves[k] - g).abs() <= 1e-12 * g.max(1.0), "{k} {} {g}", res.curves[k]);
            if (0.9..=1.4).contains(&r) {
                let f = if g < 1e-10 { 0.0 } else { 4.0 * std::f64::consts::PI * r * r * (g - 1.0) * g };
                if let Some((r0, f0)) = prev {
                    want += 0.5 * (r - r0) * (f + f0);
                }
                prev = Some((r, f));
            }
        }
        want *= -rho;
        assert!((res.beta_phi[0] - want).abs() < 1e-9 * want.abs(), "{} {want}", res.beta_phi[0]);
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use crate::simbox::SimBox;

    /// cargo test --release timing_local -- --ignored --nocapture
    #[test]
    #[ignore]
    fn timing_local() {
        let cells_n = 10usize;
        let a = (4.0f64 / 1.2).cbrt();
        let l = a * cells_n as f64;
        let b = SimBox::orthorhombic([l; 3]).unwrap();
        let mut u = crate::testutil::lcg(3);
        let mut rnd = move || u() - 0.5;
        let base = [[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]];
        let mut pos = vec![];
        for i in 0..cells_n {
            for j in 0..cells_n {
                for k in 0..cells_n {
                    for bb in &base {
                        pos.push([(i as f64 + bb[0]) * a + 0.2 * rnd(), (j as f64 + bb[1]) * a + 0.2 * rnd(), (k as f64 + bb[2]) * a + 0.2 * rnd()]);
                    }
                }
            }
        }
        let types: Vec<u32> = (0..pos.len()).map(|i| (i % 5 == 0) as u32).collect();
        let m = Model::kob_andersen();
        let map = [0u32, 1];
        let mm = ModelMap { model: &m, map: &map };
        let p = LocalParams { delta: 0.09, dr: 0.005, r_s: 3.0, windows: vec![(0.95, 1.42), (0.72, 1.21), (0.72, 1.21), (0.74, 1.33)], closure: Closure::Approx };
        let fr = FrameData { pos, sbox: b };
        let n_per = species_counts(&types, 2).unwrap();
        let st = setup(&n_per, fr.sbox.volume(), fr.sbox.dim(), Some(&mm), &p).unwrap();
        let rc = st.r[st.k - 1] + 5.0 * p.delta;
        let t = std::time::Instant::now();
        let cells = Cells::new(&fr.pos, &fr.sbox, rc, "x").unwrap();
        let mut cnt = 0usize;
        for i in 0..fr.pos.len() {
            cells.for_each(i, false, |_, _| cnt += 1);
        }
        println!("neighbour loop: {:?} ({} pairs)", t.elapsed(), cnt);
        let mut buf = vec![0.0; 2 * st.k];
        let mut nb = Vec::new();
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let mut cnt = 0usize;
            for i in 0..fr.pos.len() {
                cells.for_each(i, false, |_, _| cnt += 1);
            }
            let t_loop = t.elapsed();
            let t = std::time::Instant::now();
            for i in 0..fr.pos.len() {
                accumulate(i, &cells, &types, &st, p.delta, p.dr, &mut buf, &mut nb);
            }
            println!("loop {:?} accumulate: {:?}", t_loop, t.elapsed());
        }
        let t = std::time::Instant::now();
        let mut acc = 0.0;
        for i in 0..fr.pos.len() {
            acc += integrals(types[i] as usize, &buf, &st, p.closure).0;
        }
        println!("integrals: {:?} {acc}", t.elapsed());
    }
}
