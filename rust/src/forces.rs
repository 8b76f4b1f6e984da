//! The shared pair-force kernel: energy, per-particle energy, forces and virial tensor of a
//! configuration under a [`Model`]. MD, FIRE, the structure code's pair energies and the
//! elasticity code all call this one kernel.
//!
//! Definitions (definitions §1): E = Σ_{i<j} U(r_ij); e_i = ½ Σ_j U(r_ij) (so Σ e_i = E);
//! F_i = −∂E/∂x_i; configurational virial W_ab = Σ_{i<j} −(U′/r) d_a d_b with d = x_j − x_i
//! (minimum image), so the configurational pressure tensor is W/V.
//!
//! Pairs come from a [`PairList`]: a half Verlet list (each pair once) built with a cell grid
//! at r_list = max cutoff + skin, storing for each pair the periodic image as one of 27 box
//! translations. Positions may leave the box between rebuilds; the stored image stays valid
//! while no particle moved more than skin/2 (the caller checks that, see `md`).
//!
//! Parallelism: the list is split into `n_chunks` contiguous ranges of i balanced by pair
//! count; each chunk accumulates into its own buffers, reduced in chunk order. Results are
//! therefore deterministic for a given chunk count; [`Engine`] (used by MD, FIRE and the
//! one-shot [`compute`]) uses a fixed count, so results do not depend on the thread count.

use rayon::prelude::*;

use crate::error::Result;
use crate::invalid;
use crate::models::{Model, PairPot};
use crate::neighbors::{build_pair_list, check_positions, spatial_order, wrap_positions, PairList};
use crate::simbox::{SimBox, Vec3};

/// Default number of chunks of the force loop in [`Engine`]: fixed (not the thread count)
/// so that results are bit-identical whatever the number of threads.
pub const DEFAULT_CHUNKS: usize = 8;

/// Σ_i f(i) over 0..n, in parallel but with a fixed summation order (blocks of 4096 summed
/// in order), so the result does not depend on the thread count.
pub fn det_sum(n: usize, f: impl Fn(usize) -> f64 + Sync) -> f64 {
    const B: usize = 4096;
    if n <= B {
        return (0..n).map(f).sum();
    }
    let parts: Vec<f64> = (0..n.div_ceil(B)).into_par_iter().map(|b| (b * B..((b + 1) * B).min(n)).map(&f).sum()).collect();
    parts.iter().sum()
}

/// Which outputs to compute.
#[derive(Debug, Clone, Copy)]
pub struct Want {
    pub per_particle: bool,
    pub virial: bool,
}

/// Result of a force evaluation.
#[derive(Debug, Clone, Default)]
pub struct ForceResult {
    /// Total potential energy E.
    pub energy: f64,
    /// e_i = ½ Σ_j U(r_ij) (empty unless requested).
    pub per_particle: Vec<f64>,
    /// F_i = −∂E/∂x_i.
    pub forces: Vec<Vec3>,
    /// Configurational virial W (symmetric; divide by V for the pressure tensor).
    pub virial: [[f64; 3]; 3],
}

/// Reusable per-chunk buffers so repeated evaluations (MD, FIRE) do not allocate.
#[derive(Default)]
pub struct Workspace {
    f: Vec<Vec<Vec3>>,
    e: Vec<Vec<f64>>,
}

#[derive(Clone, Copy)]
struct LjPar {
    c12: f64,
    c6: f64,
    rc2: f64,
    shift: f64,
    dshift: f64,
    rc: f64,
}

/// Pair-energy kernel specialised per model family.
enum Kernel<'a> {
    Lj { n: usize, p: Vec<LjPar> },
    Generic { model: &'a Model, rc2: Vec<f64>, n: usize },
}

impl<'a> Kernel<'a> {
    fn new(model: &'a Model) -> Self {
        let n = model.n_species();
        let mut lj = Vec::with_capacity(n * n);
        let mut all_lj = true;
        for a in 0..n as u32 {
            for b in 0..n as u32 {
                match *model.pair(a, b) {
                    PairPot::LennardJones { eps, sigma, rc, shift, dshift } => {
                        let s6 = sigma.powi(6);
                        lj.push(LjPar { c12: 4.0 * eps * s6 * s6, c6: 4.0 * eps * s6, rc2: rc * rc, shift, dshift, rc })
                    }
                    _ => all_lj = false,
                }
            }
        }
        if all_lj {
            Kernel::Lj { n, p: lj }
        } else {
            let mut rc2 = Vec::with_capacity(n * n);
            for a in 0..n as u32 {
                for b in 0..n as u32 {
                    rc2.push(model.cutoff(a, b).powi(2));
                }
            }
            Kernel::Generic { model, rc2, n }
        }
    }

    /// (U, −U′/r) for species a, b at squared distance r2; (0, 0) beyond the cutoff.
    /// Branch-free for LJ: in a liquid about a third of the list lies beyond r_c at random,
    /// and a mispredicted branch costs more than evaluating the pair.
    #[inline(always)]
    fn eval(&self, a: u32, b: u32, r2: f64) -> (f64, f64) {
        match self {
            Kernel::Lj { n, p } => {
                let q = &p[a as usize * n + b as usize];
                let mask = if r2 < q.rc2 { 1.0 } else { 0.0 };
                let ir2 = 1.0 / r2;
                let ir6 = ir2 * ir2 * ir2;
                let mut u = ir6 * (q.c12 * ir6 - q.c6) - q.shift;
                let mut fr = ir6 * (12.0 * q.c12 * ir6 - 6.0 * q.c6) * ir2;
                if q.dshift != 0.0 {
                    let r = r2.sqrt();
                    u -= q.dshift * (r - q.rc);
                    fr += q.dshift / r;
                }
                (mask * u, mask * fr)
            }
            Kernel::Generic { model, rc2, n } => {
                if r2 >= rc2[a as usize * n + b as usize] {
                    return (0.0, 0.0);
                }
                model.pair(a, b).energy_force_r2(r2)
            }
        }
    }
}

/// Split 0..n into `k` contiguous ranges with about equal pair counts.
fn chunk_bounds(offsets: &[usize], k: usize) -> Vec<usize> {
    let n = offsets.len() - 1;
    let total = offsets[n];
    let mut b = Vec::with_capacity(k + 1);
    b.push(0);
    for c in 1..k {
        let target = total * c / k;
        let i = offsets.partition_point(|&o| o < target).min(n);
        b.push(i.max(*b.last().unwrap_or(&0)));
    }
    b.push(n);
    b
}

struct ChunkOut {
    energy: f64,
    w: [f64; 6],
}

/// Evaluate energy, forces (and optionally per-particle energies and the virial) from a
/// pair list. `pos` must be the positions the list was built from, moved by less than
/// skin/2 each. Writes into `out` (buffers reused).
pub fn evaluate_into(
    list: &PairList,
    pos: &[Vec3],
    types: &[u32],
    model: &Model,
    want: Want,
    ws: &mut Workspace,
    out: &mut ForceResult,
) {
    evaluate_chunked(list, pos, types, model, want, ws, out, 0)
}

/// As [`evaluate_into`] with an explicit number of chunks (0 → one per rayon thread).
/// `n_chunks = 1` runs serially on the calling thread (used inside parallel batches).
#[allow(clippy::too_many_arguments)]
pub fn evaluate_chunked(
    list: &PairList,
    pos: &[Vec3],
    types: &[u32],
    model: &Model,
    want: Want,
    ws: &mut Workspace,
    out: &mut ForceResult,
    n_chunks: usize,
) {
    let n = pos.len();
    let kernel = Kernel::new(model);
    let k = if n_chunks == 0 { rayon::current_num_threads() } else { n_chunks }.max(1).min(n.max(1));
    out.forces.clear();
    out.forces.resize(n, [0.0; 3]);
    out.per_particle.clear();
    if want.per_particle {
        out.per_particle.resize(n, 0.0);
    }
    let parts: Vec<ChunkOut>;
    if k == 1 {
        let e = if want.per_particle { Some(&mut out.per_particle[..]) } else { None };
        parts = vec![chunk_kernel(&kernel, list, pos, types, 0..n, &mut out.forces, e, want.virial)];
    } else {
        let bounds = chunk_bounds(&list.offsets, k);
        ws.f.resize_with(k, Vec::new);
        ws.e.resize_with(k, Vec::new);
        for c in 0..k {
            ws.f[c].clear();
            ws.f[c].resize(n, [0.0; 3]);
            ws.e[c].clear();
            if want.per_particle {
                ws.e[c].resize(n, 0.0);
            }
        }
        parts = ws
            .f
            .par_iter_mut()
            .zip(ws.e.par_iter_mut())
            .enumerate()
            .map(|(c, (fbuf, ebuf))| {
                let e = if want.per_particle { Some(&mut ebuf[..]) } else { None };
                chunk_kernel(&kernel, list, pos, types, bounds[c]..bounds[c + 1], fbuf, e, want.virial)
            })
            .collect();
        let fb = &ws.f;
        let eb = &ws.e;
        let per = want.per_particle;
        out.forces.par_iter_mut().enumerate().with_min_len(256).for_each(|(i, f)| {
            let mut s = [0.0; 3];
            for buf in fb.iter().take(k) {
                let v = buf[i];
                s[0] += v[0];
                s[1] += v[1];
                s[2] += v[2];
            }
            *f = s;
        });
        if per {
            out.per_particle.par_iter_mut().enumerate().with_min_len(256).for_each(|(i, e)| {
                let mut s = 0.0;
                for buf in eb.iter().take(k) {
                    s += buf[i];
                }
                *e = s;
            });
        }
    }
    let mut energy = 0.0;
    let mut w = [0.0; 6];
    for p in &parts {
        energy += p.energy;
        for a in 0..6 {
            w[a] += p.w[a];
        }
    }
    out.energy = energy;
    out.virial = [[w[0], w[3], w[4]], [w[3], w[1], w[5]], [w[4], w[5], w[2]]];
}

/// One chunk of the pair loop, specialised (monomorphised) on the pair function and on
/// whether the virial and per-particle energies are wanted.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn chunk_loop<K: Fn(u32, u32, f64) -> (f64, f64), const VIR: bool, const PER: bool>(
    pair: K,
    list: &PairList,
    pos: &[Vec3],
    types: &[u32],
    range: std::ops::Range<usize>,
    f: &mut [Vec3],
    e: &mut [f64],
) -> ChunkOut {
    let mut energy = 0.0;
    let mut w = [0.0; 6];
    for i in range {
        let xi = pos[i];
        let ti = types[i];
        let mut fi = [0.0; 3];
        let mut ei = 0.0;
        let (k0, k1) = (list.offsets[i], list.offsets[i + 1]);
        for (&j, &code) in list.j[k0..k1].iter().zip(&list.image[k0..k1]) {
            let j = j as usize;
            let s = list.shifts[code as usize];
            let xj = pos[j];
            let d = [xj[0] - xi[0] + s[0], xj[1] - xi[1] + s[1], xj[2] - xi[2] + s[2]];
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            let (u, fr) = pair(ti, types[j], r2);
            energy += u;
            let fx = fr * d[0];
            let fy = fr * d[1];
            let fz = fr * d[2];
            fi[0] -= fx;
            fi[1] -= fy;
            fi[2] -= fz;
            let fj = &mut f[j];
            fj[0] += fx;
            fj[1] += fy;
            fj[2] += fz;
            if VIR {
                w[0] += d[0] * fx;
                w[1] += d[1] * fy;
                w[2] += d[2] * fz;
                w[3] += d[0] * fy;
                w[4] += d[0] * fz;
                w[5] += d[1] * fz;
            }
            if PER {
                ei += u;
                e[j] += 0.5 * u;
            }
        }
        let f_i = &mut f[i];
        f_i[0] += fi[0];
        f_i[1] += fi[1];
        f_i[2] += fi[2];
        if PER {
            e[i] += 0.5 * ei;
        }
    }
    ChunkOut { energy, w }
}

#[allow(clippy::too_many_arguments)]
fn chunk_with<K: Fn(u32, u32, f64) -> (f64, f64)>(
    pair: K,
    list: &PairList,
    pos: &[Vec3],
    types: &[u32],
    range: std::ops::Range<usize>,
    f: &mut [Vec3],
    e: Option<&mut [f64]>,
    want_virial: bool,
) -> ChunkOut {
    match (want_virial, e) {
        (false, None) => chunk_loop::<K, false, false>(pair, list, pos, types, range, f, &mut []),
        (true, None) => chunk_loop::<K, true, false>(pair, list, pos, types, range, f, &mut []),
        (false, Some(e)) => chunk_loop::<K, false, true>(pair, list, pos, types, range, f, e),
        (true, Some(e)) => chunk_loop::<K, true, true>(pair, list, pos, types, range, f, e),
    }
}

#[allow(clippy::too_many_arguments)]
fn chunk_kernel(
    kernel: &Kernel,
    list: &PairList,
    pos: &[Vec3],
    types: &[u32],
    range: std::ops::Range<usize>,
    f: &mut [Vec3],
    e: Option<&mut [f64]>,
    want_virial: bool,
) -> ChunkOut {
    match kernel {
        Kernel::Lj { n, p } if p.iter().all(|q| q.dshift == 0.0) => {
            let n = *n;
            let lj = |a: u32, b: u32, r2: f64| {
                let q = &p[a as usize * n + b as usize];
                // branch-free: about a third of the list lies beyond r_c at random
                let mask = if r2 < q.rc2 { 1.0 } else { 0.0 };
                let ir2 = 1.0 / r2;
                let ir6 = ir2 * ir2 * ir2;
                let u = ir6 * (q.c12 * ir6 - q.c6) - q.shift;
                let fr = ir6 * (12.0 * q.c12 * ir6 - 6.0 * q.c6) * ir2;
                (mask * u, mask * fr)
            };
            chunk_with(lj, list, pos, types, range, f, e, want_virial)
        }
        _ => chunk_with(|a, b, r2| kernel.eval(a, b, r2), list, pos, types, range, f, e, want_virial),
    }
}

/// Error naming the first pair with a non-finite energy or force (overlapping particles),
/// or the first non-finite force. Called only when a result is not finite.
fn diagnose_non_finite(list: &PairList, pos: &[Vec3], types: &[u32], model: &Model, res: &ForceResult) -> crate::Error {
    diagnose_mapped(list, pos, types, model, res, None)
}

/// As above; `perm` maps internal indices to the caller's particle numbers.
fn diagnose_mapped(list: &PairList, pos: &[Vec3], types: &[u32], model: &Model, res: &ForceResult, perm: Option<&[u32]>) -> crate::Error {
    let ext = |k: usize| perm.map_or(k, |p| p[k] as usize);
    for i in 0..list.n_particles() {
        for k in list.offsets[i]..list.offsets[i + 1] {
            let j = list.j[k] as usize;
            let s = list.shifts[list.image[k] as usize];
            let d = [pos[j][0] - pos[i][0] + s[0], pos[j][1] - pos[i][1] + s[1], pos[j][2] - pos[i][2] + s[2]];
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if r2 < model.cutoff(types[i], types[j]).powi(2) {
                let (u, fr) = model.pair(types[i], types[j]).energy_force_r2(r2);
                if !(u.is_finite() && fr.is_finite()) || r2 == 0.0 {
                    let (a, b) = (ext(i).min(ext(j)), ext(i).max(ext(j)));
                    return invalid!(
                        "particles {a} and {b} overlap (distance {:.3e}): the pair energy is not finite",
                        r2.sqrt()
                    );
                }
            }
        }
    }
    match res.forces.iter().position(|f| !f.iter().all(|v| v.is_finite())) {
        Some(i) => invalid!("the force on particle {} is not finite (overlapping particles?)", ext(i)),
        None => invalid!("the potential energy is not finite ({}); particles overlap too strongly", res.energy),
    }
}

/// True if energy, forces (and virial) are all finite.
pub fn is_finite(res: &ForceResult) -> bool {
    res.energy.is_finite() && res.forces.iter().all(|f| f.iter().all(|v| v.is_finite()))
}

/// Check a finished evaluation; an error names the overlapping pair.
pub fn check_finite(list: &PairList, pos: &[Vec3], types: &[u32], model: &Model, res: &ForceResult) -> Result<()> {
    if is_finite(res) {
        Ok(())
    } else {
        Err(diagnose_non_finite(list, pos, types, model, res))
    }
}

/// Validate inputs shared by every entry point: lengths, species, finite positions,
/// cutoff versus box.
pub fn check_inputs(pos: &[Vec3], types: &[u32], sbox: &SimBox, model: &Model) -> Result<()> {
    if types.len() != pos.len() {
        return Err(invalid!("{} positions but {} species entries", pos.len(), types.len()));
    }
    model.check_types(types)?;
    check_positions(pos, sbox)?;
    sbox.check_cutoff(model.max_cutoff(), &format!("the cutoff of model '{}'", model.name))?;
    Ok(())
}

/// One-shot evaluation: wraps the positions, builds the list at the model's largest cutoff
/// and evaluates. Errors for bad input and overlapping particles.
pub fn compute(pos: &[Vec3], types: &[u32], sbox: &SimBox, model: &Model, want: Want) -> Result<ForceResult> {
    check_inputs(pos, types, sbox, model)?;
    // a hair beyond the cutoff so no pair at r < r_c is lost to rounding in the binning
    let mut eng = Engine::new(model, sbox.clone(), types.to_vec(), 1e-9 * model.max_cutoff())?;
    let mut out = ForceResult::default();
    eng.compute(pos, want, &mut out)?;
    Ok(out)
}

/// A force evaluator for a moving configuration (MD, FIRE): keeps a Verlet list with a skin
/// and rebuilds it when some particle has moved more than skin/2 since the last build.
/// Positions passed to [`Engine::compute`] may be unwrapped; the engine handles images.
/// Internally particles are kept in a spatially sorted order (re-sorted at every rebuild,
/// like LAMMPS `atom_modify sort`), which keeps the pair loop cache-friendly; results are
/// returned in the caller's order.
pub struct Engine {
    pub model: Model,
    pub sbox: SimBox,
    pub types: Vec<u32>,
    pub skin: f64,
    /// Chunks for the force loop (default [`DEFAULT_CHUNKS`]; 0 → one per rayon thread,
    /// 1 → serial).
    pub n_chunks: usize,
    list: PairList,
    /// Internal index → caller's particle index.
    perm: Vec<u32>,
    types_int: Vec<u32>,
    /// Box translation removed from each (internal) particle at the last build.
    off: Vec<Vec3>,
    /// Internal (wrapped-at-build) positions at the last build.
    x_ref: Vec<Vec3>,
    /// Exact positions passed to the last build (caller's order).
    x_build: Vec<Vec3>,
    internal: Vec<Vec3>,
    res_int: ForceResult,
    ws: Workspace,
    built: bool,
    pub n_builds: usize,
}

impl Engine {
    /// Validates species and box; the skin shrinks if the box cannot hold cutoff + skin.
    pub fn new(model: &Model, sbox: SimBox, types: Vec<u32>, skin: f64) -> Result<Self> {
        model.check_types(&types)?;
        if model.three_body.is_some() && sbox.dim() == 2 {
            return Err(invalid!(
                "model '{}' is three-dimensional (its three-body term favours the tetrahedral angle, cos θ0 = −1/3); it is not defined in a 2D box",
                model.name
            ));
        }
        let rc = model.max_cutoff();
        sbox.check_cutoff(rc, &format!("the cutoff of model '{}'", model.name))?;
        if !(skin >= 0.0 && skin.is_finite()) {
            return Err(invalid!("neighbour skin must be a non-negative distance, got {skin}"));
        }
        let half = 0.5 * sbox.min_height();
        let skin = skin.min((half - rc).max(0.0) * (1.0 - 1e-9));
        let n = types.len();
        Ok(Engine {
            model: model.clone(),
            sbox,
            types,
            skin,
            n_chunks: DEFAULT_CHUNKS,
            list: PairList::default(),
            perm: (0..n as u32).collect(),
            types_int: vec![0; n],
            off: vec![[0.0; 3]; n],
            x_ref: Vec::new(),
            x_build: Vec::new(),
            internal: vec![[0.0; 3]; n],
            res_int: ForceResult::default(),
            ws: Workspace::default(),
            built: false,
            n_builds: 0,
        })
    }

    /// Force the next call to rebuild the list.
    pub fn invalidate(&mut self) {
        self.built = false;
    }

    /// The (unwrapped) positions the current list was built from, if any. Saving them and
    /// calling [`Engine::rebuild_from`] on restart reproduces the list exactly, which makes
    /// restarted runs bit-identical.
    pub fn build_positions(&self) -> Option<Vec<Vec3>> {
        if !self.built {
            return None;
        }
        Some(self.x_build.clone())
    }

    /// Build the list from the given positions now (see [`Engine::build_positions`]).
    pub fn rebuild_from(&mut self, pos: &[Vec3]) -> Result<()> {
        if pos.len() != self.types.len() {
            return Err(invalid!("{} build positions but {} particles", pos.len(), self.types.len()));
        }
        check_positions(pos, &self.sbox)?;
        let (w, _) = wrap_positions(pos, &self.sbox);
        let r_list = self.model.max_cutoff() + self.skin;
        self.perm = spatial_order(&w, &self.sbox, 0.5 * r_list);
        let n = pos.len();
        let mut ws = Vec::with_capacity(n);
        for k in 0..n {
            let i = self.perm[k] as usize;
            self.off[k] = [pos[i][0] - w[i][0], pos[i][1] - w[i][1], pos[i][2] - w[i][2]];
            self.types_int[k] = self.types[i];
            ws.push(w[i]);
        }
        self.list = build_pair_list(&ws, &self.sbox, r_list)?;
        self.x_ref = ws;
        self.x_build = pos.to_vec();
        self.built = true;
        self.n_builds += 1;
        Ok(())
    }

    fn needs_rebuild(&self) -> bool {
        if !self.built {
            return true;
        }
        let lim2 = (0.5 * self.skin).powi(2);
        let over = |(a, b): (&Vec3, &Vec3)| {
            let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
            d[0] * d[0] + d[1] * d[1] + d[2] * d[2] > lim2
        };
        if self.n_chunks == 1 || self.internal.len() < 20_000 {
            self.internal.iter().zip(&self.x_ref).any(over)
        } else {
            self.internal.par_iter().zip(self.x_ref.par_iter()).with_min_len(4096).any(over)
        }
    }

    fn gather(&mut self, pos: &[Vec3]) {
        for ((d, &i), o) in self.internal.iter_mut().zip(&self.perm).zip(&self.off) {
            let x = pos[i as usize];
            *d = [x[0] - o[0], x[1] - o[1], x[2] - o[2]];
        }
    }

    /// Evaluate at `pos`; errors for non-finite input or overlapping particles.
    pub fn compute(&mut self, pos: &[Vec3], want: Want, out: &mut ForceResult) -> Result<()> {
        if pos.len() != self.types.len() {
            return Err(invalid!("{} positions but the engine was set up for {} particles", pos.len(), self.types.len()));
        }
        if self.built {
            self.gather(pos);
        }
        if self.needs_rebuild() {
            self.rebuild_from(pos)?;
            // always x − off (not the wrapped copy) so a restart that rebuilds from saved
            // build positions evaluates bit-identical coordinates
            self.gather(pos);
        }
        evaluate_chunked(&self.list, &self.internal, &self.types_int, &self.model, want, &mut self.ws, &mut self.res_int, self.n_chunks);
        if let Some(tb) = &self.model.three_body {
            crate::manybody::add_three_body(&self.list, &self.internal, tb, want, self.n_chunks, &mut self.res_int)?;
        }
        if !is_finite(&self.res_int) {
            check_positions(pos, &self.sbox)?;
            return Err(diagnose_mapped(&self.list, &self.internal, &self.types_int, &self.model, &self.res_int, Some(&self.perm)));
        }
        let n = pos.len();
        out.energy = self.res_int.energy;
        out.virial = self.res_int.virial;
        out.forces.resize(n, [0.0; 3]);
        for (k, &i) in self.perm.iter().enumerate() {
            out.forces[i as usize] = self.res_int.forces[k];
        }
        out.per_particle.clear();
        if want.per_particle {
            out.per_particle.resize(n, 0.0);
            for (k, &i) in self.perm.iter().enumerate() {
                out.per_particle[i as usize] = self.res_int.per_particle[k];
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::lcg;


    fn config(n: usize, sbox: &SimBox, seed: u64) -> (Vec<Vec3>, Vec<u32>) {
        // jittered lattice so no pair overlaps
        let mut rnd = lcg(seed);
        let m = (n as f64).cbrt().ceil() as usize;
        let mut pos = Vec::with_capacity(n);
        'outer: for a in 0..m {
            for b in 0..m {
                for c in 0..m {
                    if pos.len() == n {
                        break 'outer;
                    }
                    let s = [(a as f64 + 0.5 + 0.3 * (rnd() - 0.5)) / m as f64, (b as f64 + 0.5 + 0.3 * (rnd() - 0.5)) / m as f64, (c as f64 + 0.5 + 0.3 * (rnd() - 0.5)) / m as f64];
                    let mut x = sbox.to_cartesian(&s);
                    // unwrapped input: push some particles out of the box
                    if rnd() < 0.2 {
                        let v = sbox.vector(0);
                        x = [x[0] + 2.0 * v[0], x[1] + 2.0 * v[1], x[2] + 2.0 * v[2]];
                    }
                    pos.push(x);
                }
            }
        }
        let types = (0..n).map(|i| if i % 5 == 4 { 1 } else { 0 }).collect();
        (pos, types)
    }

    fn brute(pos: &[Vec3], types: &[u32], sbox: &SimBox, model: &Model) -> (f64, Vec<f64>, Vec<Vec3>, [[f64; 3]; 3]) {
        let n = pos.len();
        let mut e = 0.0;
        let mut per = vec![0.0; n];
        let mut f = vec![[0.0; 3]; n];
        let mut w = [[0.0; 3]; 3];
        for i in 0..n {
            for j in i + 1..n {
                let d = sbox.min_image(&[pos[j][0] - pos[i][0], pos[j][1] - pos[i][1], pos[j][2] - pos[i][2]]);
                let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                let [u, du, _] = model.eval(types[i], types[j], r);
                e += u;
                per[i] += 0.5 * u;
                per[j] += 0.5 * u;
                for a in 0..3 {
                    let fa = -du * d[a] / r;
                    f[j][a] += fa;
                    f[i][a] -= fa;
                    for b in 0..3 {
                        w[a][b] += -du * d[a] * d[b] / r;
                    }
                }
            }
        }
        (e, per, f, w)
    }

    fn check_against_brute(model: &Model, sbox: SimBox, n: usize) {
        let (pos, types) = config(n, &sbox, 7);
        let (e, per, f, w) = brute(&pos, &types, &sbox, model);
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let got = pool.install(|| compute(&pos, &types, &sbox, model, Want { per_particle: true, virial: true }).unwrap());
            assert!((got.energy - e).abs() < 1e-11 * e.abs().max(1.0), "{} {}", got.energy, e);
            for i in 0..n {
                assert!((got.per_particle[i] - per[i]).abs() < 1e-11);
                for a in 0..3 {
                    assert!((got.forces[i][a] - f[i][a]).abs() < 1e-10 * f[i][a].abs().max(1.0), "{i} {a}");
                }
            }
            for a in 0..3 {
                for b in 0..3 {
                    assert!((got.virial[a][b] - w[a][b]).abs() < 1e-10 * w[a][b].abs().max(1.0));
                }
            }
        }
    }

    #[test]
    fn matches_brute_force_all_models() {
        let l = (500.0f64 / 1.2).cbrt();
        check_against_brute(&Model::kob_andersen(), SimBox::orthorhombic([l, l, l]).unwrap(), 500);
        check_against_brute(&Model::qp(12.0, 6.0).unwrap(), SimBox::orthorhombic([l, l, l]).unwrap(), 500);
        check_against_brute(&Model::ipl10(), SimBox::lammps([l, l * 1.1, l], 1.0, -0.7, 0.4).unwrap(), 500);
        check_against_brute(&Model::kob_andersen(), SimBox::lammps([l, l, l], 1.5, 0.3, -0.9).unwrap(), 500);
    }

    #[test]
    fn forces_are_minus_gradient() {
        let l = (300.0f64 / 1.2).cbrt();
        let sbox = SimBox::orthorhombic([l, l, l]).unwrap();
        for model in [Model::kob_andersen(), Model::ipl10(), Model::qp(18.0, 6.0).unwrap(), Model::wahnstrom()] {
            let (mut pos, types) = config(300, &sbox, 3);
            let res = compute(&pos, &types, &sbox, &model, Want { per_particle: false, virial: false }).unwrap();
            for &i in &[0usize, 17, 123, 299] {
                for a in 0..3 {
                    let h = 1e-6;
                    let x0 = pos[i][a];
                    pos[i][a] = x0 + h;
                    let ep = compute(&pos, &types, &sbox, &model, Want { per_particle: false, virial: false }).unwrap().energy;
                    pos[i][a] = x0 - h;
                    let em = compute(&pos, &types, &sbox, &model, Want { per_particle: false, virial: false }).unwrap().energy;
                    pos[i][a] = x0;
                    let fd = -(ep - em) / (2.0 * h);
                    assert!((fd - res.forces[i][a]).abs() < 1e-6 * res.forces[i][a].abs().max(1.0), "{} {i} {a}: {fd} {}", model.name, res.forces[i][a]);
                }
            }
        }
    }

    #[test]
    fn overlap_and_bad_input_errors() {
        let sbox = SimBox::orthorhombic([6.0, 6.0, 6.0]).unwrap();
        let m = Model::kob_andersen();
        let e = compute(&[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], &[0, 0], &sbox, &m, Want { per_particle: false, virial: false }).unwrap_err();
        assert!(e.to_string().contains("particles 0 and 1 overlap"), "{e}");
        let small = SimBox::orthorhombic([4.0, 6.0, 6.0]).unwrap();
        let e = compute(&[[1.0, 1.0, 1.0]], &[0], &small, &m, Want { per_particle: false, virial: false }).unwrap_err();
        assert!(e.to_string().contains("half the smallest box height"), "{e}");
        let e = compute(&[[1.0, 1.0, 1.0]], &[2], &sbox, &m, Want { per_particle: false, virial: false }).unwrap_err();
        assert!(e.to_string().contains("species index 2"), "{e}");
        let e = compute(&[[f64::NAN, 1.0, 1.0]], &[0], &sbox, &m, Want { per_particle: false, virial: false }).unwrap_err();
        assert!(e.to_string().contains("non-finite"), "{e}");
    }
}

#[cfg(test)]
mod engine_tests {
    use super::*;

    #[test]
    fn engine_matches_one_shot_while_moving() {
        let l = (400.0f64 / 1.2).cbrt();
        let sbox = SimBox::lammps([l, l, l], 0.8, -0.3, 0.2).unwrap();
        let model = Model::kob_andersen();
        let mut rnd = tests_rng(5);
        let m = 8usize;
        let mut pos: Vec<Vec3> = (0..400)
            .map(|k| sbox.to_cartesian(&[((k / 64) as f64 + 0.5) / m as f64, ((k / 8 % 8) as f64 + 0.5) / m as f64, ((k % 8) as f64 + 0.5) / m as f64]))
            .collect();
        let types: Vec<u32> = (0..400).map(|i| (i % 5 == 0) as u32).collect();
        let mut eng = Engine::new(&model, sbox.clone(), types.clone(), 0.3).unwrap();
        let mut out = ForceResult::default();
        let want = Want { per_particle: true, virial: true };
        for step in 0..60 {
            for x in pos.iter_mut() {
                for v in x.iter_mut() {
                    *v += 0.05 * (rnd() - 0.5);
                }
            }
            eng.compute(&pos, want, &mut out).unwrap();
            let one = compute(&pos, &types, &sbox, &model, want).unwrap();
            assert!((out.energy - one.energy).abs() < 1e-10 * one.energy.abs().max(1.0), "step {step}");
            for i in 0..400 {
                for a in 0..3 {
                    assert!((out.forces[i][a] - one.forces[i][a]).abs() < 1e-10 * one.forces[i][a].abs().max(1.0), "{} {}", out.forces[i][a], one.forces[i][a]);
                }
            }
        }
        assert!(eng.n_builds > 1 && eng.n_builds < 60, "{}", eng.n_builds);
    }

    fn tests_rng(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64) / ((1u64 << 53) as f64)
        }
    }
}

#[cfg(test)]
mod perf {
    use super::*;
    #[test]
    #[ignore]
    fn perf_ka_1000() {
        let n_side = 10;
        let n = 1000;
        let l = (n as f64 / 1.2f64).cbrt();
        let sbox = SimBox::orthorhombic([l, l, l]).unwrap();
        let a = l / n_side as f64;
        let mut pos = vec![];
        for i in 0..n_side { for j in 0..n_side { for k in 0..n_side {
            pos.push([(i as f64 + 0.5) * a, (j as f64 + 0.5) * a, (k as f64 + 0.5) * a]);
        }}}
        let types: Vec<u32> = (0..n).map(|i| (i % 5 == 2) as u32).collect();
        // random order + jitter, as in a liquid
        let mut st = 99u64;
        let mut rnd = || { st = st.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((st >> 11) as f64) / ((1u64 << 53) as f64) };
        for k in (1..n).rev() {
            let j = (rnd() * (k + 1) as f64) as usize;
            pos.swap(k, j.min(k));
        }
        if std::env::var("JITTER").is_ok() {
            for x in pos.iter_mut() { for v in x.iter_mut() { *v += 0.3 * (rnd() - 0.5); } }
        }
        let model = Model::kob_andersen();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        pool.install(|| {
            let t = std::time::Instant::now();
            let (w, _) = wrap_positions(&pos, &sbox);
            let mut list = build_pair_list(&w, &sbox, 2.8).unwrap();
            for _ in 0..20 { list = build_pair_list(&w, &sbox, 2.8).unwrap(); }
            println!("build: {:?} per list, {} pairs", t.elapsed() / 21, list.n_pairs());
            let mut ws = Workspace::default();
            let mut out = ForceResult::default();
            let t = std::time::Instant::now();
            for _ in 0..200 { evaluate_chunked(&list, &w, &types, &model, Want { per_particle: false, virial: false }, &mut ws, &mut out, 1); }
            println!("eval: {:?}", t.elapsed() / 200);
            let t = std::time::Instant::now();
            for _ in 0..200 { evaluate_chunked(&list, &w, &types, &model, Want { per_particle: true, virial: true }, &mut ws, &mut out, 1); }
            println!("eval full: {:?}", t.elapsed() / 200);
            let mut eng = Engine::new(&model, sbox.clone(), types.clone(), 0.3).unwrap();
            let t = std::time::Instant::now();
            for _ in 0..20 { eng.invalidate(); eng.compute(&pos, Want { per_particle: false, virial: false }, &mut out).unwrap(); }
            println!("engine build+eval: {:?}", t.elapsed() / 20);
            let t = std::time::Instant::now();
            for _ in 0..200 { eng.compute(&pos, Want { per_particle: false, virial: false }, &mut out).unwrap(); }
            println!("engine eval (sorted): {:?}", t.elapsed() / 200);
        });
    }
}
