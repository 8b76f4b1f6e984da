//! Molecular dynamics: velocity Verlet in NVE, or NVT with a Nosé–Hoover chain integrated
//! exactly as LAMMPS `fix nvt` (Martyna–Tuckerman–Klein, chain length 3 by default, one
//! MTK loop, thermostat masses Q₁ = N_f k_B T/ω², Q_k = k_B T/ω², ω = 1/T_damp, optional linear
//! ramp T_start → T_stop over a run). Temperatures use N_f = 3N − 3 degrees of freedom (as
//! LAMMPS `compute temp`); pressure P = (2K + tr W)/(3V).
//!
//! The full state (positions, velocities, step, chain variables, RNG, and the positions the
//! neighbour list was built from) is plain data: saving and restoring it makes a continued
//! run bit-identical to an uninterrupted one (for the same thread count, which fixes the
//! force summation order).

use crate::error::Result;
use crate::forces::{check_inputs, Engine, ForceResult, Want};
use crate::invalid;
use crate::models::Model;
use crate::monitor::Monitor;
use crate::simbox::{SimBox, Vec3};

pub use crate::forces::DEFAULT_CHUNKS;

/// xoshiro256** (Blackman & Vigna), seeded through splitmix64. Small, fast, reproducible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    pub s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E3779B97F4A7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D049BB133111EB);
            x ^ (x >> 31)
        };
        Rng { s: [next(), next(), next(), next()] }
    }
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Two independent standard normals (Box–Muller).
    pub fn normal_pair(&mut self) -> (f64, f64) {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let th = 2.0 * std::f64::consts::PI * u2;
        (r * th.cos(), r * th.sin())
    }
}

/// Ensemble and thermostat settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ensemble {
    Nve,
    /// Nosé–Hoover chain: target temperature ramps linearly from `t_start` to `t_stop` over
    /// each `run` call (as a LAMMPS `fix nvt temp t_start t_stop t_damp` per run).
    Nvt { t_start: f64, t_stop: f64, t_damp: f64, chain: usize },
}

/// Self-propulsion of the active Kob–Andersen protocol (Mandal et al., Soft Matter 12, 6268
/// (2016); definitions §1.1): each particle in `particles` is pushed by the force
/// f0·(k_x, k_y, k_z) with k_α = ±1 (k_z = 0 in 2D), so |f| = f0·√d. The signs are redrawn at
/// every absolute step that is a multiple of `every` (τ_p / dt), and at the start; each redraw
/// gives, per component α, +1 to a random half of the active particles and −1 to the other half
/// (a Fisher–Yates shuffle), so the net propulsion force is exactly zero and momentum is
/// conserved. The force at step s acts through the two half-kicks around s, as the interaction
/// forces do. It does no work on the potential energy and is not part of the virial.
#[derive(Debug, Clone, PartialEq)]
pub struct Propulsion {
    /// Force scale f0 (ε/σ).
    pub f0: f64,
    /// Active particles (indices, an even number ≥ 2, distinct).
    pub particles: Vec<usize>,
    /// Persistence in steps: τ_p / dt.
    pub every: u64,
    /// Current signs k per active particle (empty before the first draw).
    pub signs: Vec<Vec3>,
    /// Random stream of the redraws (separate from the velocity stream).
    pub rng: Rng,
}

impl Propulsion {
    pub fn new(f0: f64, particles: Vec<usize>, every: u64, seed: u64) -> Self {
        Propulsion { f0, particles, every, signs: Vec::new(), rng: Rng::new(seed) }
    }

    /// New signs: per component, a shuffled half +1 / half −1 (components ≥ `dim` stay 0).
    pub fn redraw(&mut self, dim: usize) {
        let m = self.particles.len();
        let mut col = vec![0.0; m];
        let mut signs = vec![[0.0; 3]; m];
        for a in 0..dim {
            for k in 0..m {
                col[k] = if k < m / 2 { 1.0 } else { -1.0 };
            }
            for k in (1..m).rev() {
                let j = ((self.rng.uniform() * (k + 1) as f64) as usize).min(k);
                col.swap(k, j);
            }
            for k in 0..m {
                signs[k][a] = col[k];
            }
        }
        self.signs = signs;
    }

    /// The propulsion force on every particle (zero for passive ones), N × 3.
    pub fn forces(&self, n: usize) -> Vec<Vec3> {
        let mut f = vec![[0.0; 3]; n];
        for (&i, k) in self.particles.iter().zip(&self.signs) {
            f[i] = [self.f0 * k[0], self.f0 * k[1], self.f0 * k[2]];
        }
        f
    }
}

/// Everything needed to continue a run bit-identically.
#[derive(Debug, Clone, PartialEq)]
pub struct MdState {
    /// Unwrapped (continuous) positions.
    pub pos: Vec<Vec3>,
    pub vel: Vec<Vec3>,
    pub step: u64,
    /// Chain positions, velocities and accelerations (length chain; eta_dot has chain + 1).
    pub eta: Vec<f64>,
    pub eta_dot: Vec<f64>,
    pub eta_dotdot: Vec<f64>,
    pub rng: Rng,
    /// Positions the neighbour list was last built from (None → build at start).
    pub build_pos: Option<Vec<Vec3>>,
    /// Self-propulsion (None: a passive system).
    pub propulsion: Option<Propulsion>,
}

impl MdState {
    pub fn new(pos: Vec<Vec3>, vel: Vec<Vec3>, seed: u64) -> Self {
        MdState { pos, vel, step: 0, eta: vec![], eta_dot: vec![], eta_dotdot: vec![], rng: Rng::new(seed), build_pos: None, propulsion: None }
    }
}

/// One row of the thermodynamic log.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Thermo {
    pub step: u64,
    pub temperature: f64,
    pub potential: f64,
    pub kinetic: f64,
    pub pressure: f64,
    /// Total energy (NVE) or NVT conserved quantity (energy + chain energy).
    pub conserved: f64,
    /// Pressure tensor xx, yy, zz, xy, xz, yz.
    pub p_tensor: [f64; 6],
}

pub struct Md {
    pub sbox: SimBox,
    pub types: Vec<u32>,
    inv_m: Vec<f64>,
    mass: Vec<f64>,
    pub dt: f64,
    pub ensemble: Ensemble,
    pub state: MdState,
    engine: Engine,
    forces: ForceResult,
    /// Degrees of freedom N_f = 3N − 3.
    tdof: f64,
    have_forces: bool,
    /// Absolute steps over which an NVT target ramps T_start → T_stop (None → each run call).
    pub ramp: Option<(u64, u64)>,
}

/// The propulsion settings are usable: f0 finite, an even number ≥ 2 of distinct active
/// particles inside the system, a persistence of at least one step, signs (if restored) ±1.
fn check_propulsion(p: &Propulsion, n: usize, dim: usize) -> Result<()> {
    if !p.f0.is_finite() {
        return Err(invalid!("propulsion force f0 must be finite, got {}", p.f0));
    }
    let m = p.particles.len();
    if m < 2 || m % 2 != 0 {
        return Err(invalid!("active particles: need an even number ≥ 2 (the zero-net-force rule pairs +1 with −1), got {m}"));
    }
    let mut seen = vec![false; n];
    for &i in &p.particles {
        if i >= n {
            return Err(invalid!("active particle index {i} out of range for {n} particles"));
        }
        if seen[i] {
            return Err(invalid!("active particle {i} is listed twice"));
        }
        seen[i] = true;
    }
    if p.every == 0 {
        return Err(invalid!("persistence time must be at least one step"));
    }
    if !p.signs.is_empty() {
        if p.signs.len() != m {
            return Err(invalid!("propulsion state has {} signs for {m} active particles", p.signs.len()));
        }
        for (k, s) in p.signs.iter().enumerate() {
            if (0..dim).any(|a| s[a].abs() != 1.0) || (dim..3).any(|a| s[a] != 0.0) {
                return Err(invalid!("propulsion sign of active particle {k} is {s:?}; expected components ±1 (0 beyond the dimension)"));
            }
        }
    }
    Ok(())
}

/// Maxwell–Boltzmann velocities at temperature `t` with zero total momentum, rescaled to
/// exactly `t` (N_f = dN − d), drawn from `rng`; in `dim` = 2 the z components are 0.
pub fn maxwell_boltzmann(masses: &[f64], t: f64, dim: usize, rng: &mut Rng) -> Vec<Vec3> {
    let n = masses.len();
    let d = if dim == 2 { 2 } else { 3 };
    let mut z = Vec::with_capacity(d * n + 1);
    while z.len() < d * n {
        let (a, b) = rng.normal_pair();
        z.push(a);
        z.push(b);
    }
    let mut v: Vec<Vec3> = (0..n).map(|i| {
        let s = (t / masses[i]).sqrt();
        if d == 2 {
            [s * z[2 * i], s * z[2 * i + 1], 0.0]
        } else {
            [s * z[3 * i], s * z[3 * i + 1], s * z[3 * i + 2]]
        }
    }).collect();
    if n == 0 {
        return v;
    }
    let mtot: f64 = masses.iter().sum();
    let mut p = [0.0; 3];
    for i in 0..n {
        for a in 0..3 {
            p[a] += masses[i] * v[i][a];
        }
    }
    for i in 0..n {
        for a in 0..3 {
            v[i][a] -= p[a] / mtot;
        }
    }
    let ke2: f64 = (0..n).map(|i| masses[i] * (v[i][0].powi(2) + v[i][1].powi(2) + v[i][2].powi(2))).sum();
    let tdof = (d * n).saturating_sub(d).max(1) as f64;
    let tcur = ke2 / tdof;
    if tcur > 0.0 && t > 0.0 {
        let f = (t / tcur).sqrt();
        for vi in v.iter_mut() {
            for x in vi.iter_mut() {
                *x *= f;
            }
        }
    } else if t == 0.0 {
        for vi in v.iter_mut() {
            *vi = [0.0; 3];
        }
    }
    v
}

impl Md {
    pub fn new(model: &Model, sbox: SimBox, types: Vec<u32>, state: MdState, dt: f64, ensemble: Ensemble, skin: f64) -> Result<Self> {
        let n = types.len();
        check_inputs(&state.pos, &types, &sbox, model)?;
        if state.vel.len() != n {
            return Err(invalid!("{} velocities for {n} particles", state.vel.len()));
        }
        if let Some((i, v)) = state.vel.iter().enumerate().find(|(_, v)| !v.iter().all(|x| x.is_finite())) {
            return Err(invalid!("particle {i} has a non-finite velocity {v:?}"));
        }
        let d = sbox.dim();
        if d == 2 {
            if let Some((i, v)) = state.vel.iter().enumerate().find(|(_, v)| v[2] != 0.0) {
                return Err(invalid!("particle {i} has v_z = {} in a 2D box; velocities of a two-dimensional system must have v_z = 0", v[2]));
            }
        }
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(invalid!("timestep dt must be positive, got {dt}"));
        }
        if n < 2 {
            return Err(invalid!("MD needs at least 2 particles, got {n}"));
        }
        if let Ensemble::Nvt { t_start, t_stop, t_damp, chain } = ensemble {
            if !(t_start > 0.0 && t_stop > 0.0 && t_start.is_finite() && t_stop.is_finite()) {
                return Err(invalid!("NVT temperatures must be positive, got T_start={t_start}, T_stop={t_stop}"));
            }
            if !(t_damp > 0.0 && t_damp.is_finite()) {
                return Err(invalid!("thermostat damping time must be positive, got {t_damp}"));
            }
            if chain == 0 {
                return Err(invalid!("Nosé–Hoover chain length must be at least 1"));
            }
        }
        if let Some(p) = &state.propulsion {
            check_propulsion(p, n, d)?;
        }
        let mass: Vec<f64> = types.iter().map(|&t| model.masses()[t as usize]).collect();
        let inv_m = mass.iter().map(|m| 1.0 / m).collect();
        let mut engine = Engine::new(model, sbox.clone(), types.clone(), skin)?;
        engine.n_chunks = DEFAULT_CHUNKS;
        if let Some(bp) = &state.build_pos {
            engine.rebuild_from(bp)?;
        }
        let mut md = Md { sbox, types, inv_m, mass, dt, ensemble, state, engine, forces: ForceResult::default(), tdof: (d * n - d) as f64, have_forces: false, ramp: None };
        md.init_chain();
        if let Some(p) = &mut md.state.propulsion {
            if p.signs.is_empty() {
                p.redraw(d);
            }
        }
        Ok(md)
    }

    /// Masses per species of the model.
    pub fn masses_of_species(&self) -> &[f64] {
        self.engine.model.masses()
    }

    /// Set the chunking of the force loop (0 → one chunk per rayon thread, 1 → serial,
    /// k → k chunks whatever the thread count: results then do not depend on threads).
    pub fn set_chunks(&mut self, n: usize) {
        self.engine.n_chunks = n;
    }

    pub fn n_builds(&self) -> usize {
        self.engine.n_builds
    }

    /// Change the ensemble between runs (keeps chain variables if the chain length matches).
    pub fn set_ensemble(&mut self, e: Ensemble) {
        self.ensemble = e;
        self.init_chain();
    }

    fn init_chain(&mut self) {
        if let Ensemble::Nvt { chain, .. } = self.ensemble {
            let st = &mut self.state;
            if st.eta.len() != chain || st.eta_dot.len() != chain + 1 || st.eta_dotdot.len() != chain {
                st.eta = vec![0.0; chain];
                st.eta_dot = vec![0.0; chain + 1];
                st.eta_dotdot = vec![0.0; chain];
            }
        }
    }

    fn kinetic2(&self) -> f64 {
        // 2K = Σ m v²
        let (v, m) = (&self.state.vel, &self.mass);
        crate::forces::det_sum(v.len(), |i| m[i] * (v[i][0] * v[i][0] + v[i][1] * v[i][1] + v[i][2] * v[i][2]))
    }

    pub fn temperature(&self) -> f64 {
        self.kinetic2() / self.tdof
    }

    fn compute_forces(&mut self, virial: bool) -> Result<()> {
        self.engine.compute(&self.state.pos, Want { per_particle: false, virial }, &mut self.forces)?;
        if let Some(p) = &self.state.propulsion {
            let f = &mut self.forces.forces;
            for (&i, k) in p.particles.iter().zip(&p.signs) {
                f[i][0] += p.f0 * k[0];
                f[i][1] += p.f0 * k[1];
                f[i][2] += p.f0 * k[2];
            }
        }
        self.have_forces = true;
        Ok(())
    }

    fn t_target(&self, begin: u64, end: u64) -> f64 {
        let (begin, end) = self.ramp.unwrap_or((begin, end));
        match self.ensemble {
            Ensemble::Nvt { t_start, t_stop, .. } => {
                let delta = if end > begin { (self.state.step - begin) as f64 / (end - begin) as f64 } else { 0.0 };
                t_start + delta * (t_stop - t_start)
            }
            Ensemble::Nve => 0.0,
        }
    }

    /// LAMMPS FixNH::nhc_temp_integrate (tloop = 1, drag 0); scales velocities.
    fn nhc_half(&mut self, t_target: f64, t_damp: f64) {
        let chain = self.state.eta.len();
        let dt = self.dt;
        let (dthalf, dt4, dt8) = (0.5 * dt, 0.25 * dt, 0.125 * dt);
        let tfreq = 1.0 / t_damp;
        let mut eta_mass = vec![t_target / (tfreq * tfreq); chain];
        eta_mass[0] *= self.tdof;
        let mut t_current = self.temperature();
        let ke_target = self.tdof * t_target;
        let st = &mut self.state;
        let ed = &mut st.eta_dot;
        let edd = &mut st.eta_dotdot;
        edd[0] = (self.tdof * t_current - ke_target) / eta_mass[0];
        for ich in (1..chain).rev() {
            let expfac = (-dt8 * ed[ich + 1]).exp();
            ed[ich] *= expfac;
            ed[ich] += edd[ich] * dt4;
            ed[ich] *= expfac;
        }
        let expfac = (-dt8 * ed[1]).exp();
        ed[0] *= expfac;
        ed[0] += edd[0] * dt4;
        ed[0] *= expfac;
        let factor_eta = (-dthalf * ed[0]).exp();
        for v in st.vel.iter_mut() {
            v[0] *= factor_eta;
            v[1] *= factor_eta;
            v[2] *= factor_eta;
        }
        t_current *= factor_eta * factor_eta;
        edd[0] = (self.tdof * t_current - ke_target) / eta_mass[0];
        for ich in 0..chain {
            st.eta[ich] += dthalf * ed[ich];
        }
        ed[0] *= expfac;
        ed[0] += edd[0] * dt4;
        ed[0] *= expfac;
        for ich in 1..chain {
            let expfac = (-dt8 * ed[ich + 1]).exp();
            ed[ich] *= expfac;
            edd[ich] = (eta_mass[ich - 1] * ed[ich - 1] * ed[ich - 1] - t_target) / eta_mass[ich];
            ed[ich] += edd[ich] * dt4;
            ed[ich] *= expfac;
        }
    }

    /// LAMMPS FixNH::setup for the chain: accelerations of the upper chain elements.
    fn nhc_setup(&mut self, t_target: f64, t_damp: f64) {
        let chain = self.state.eta.len();
        let tfreq = 1.0 / t_damp;
        let mut eta_mass = vec![t_target / (tfreq * tfreq); chain];
        eta_mass[0] *= self.tdof;
        let st = &mut self.state;
        for ich in 1..chain {
            st.eta_dotdot[ich] = (eta_mass[ich - 1] * st.eta_dot[ich - 1] * st.eta_dot[ich - 1] - t_target) / eta_mass[ich];
        }
    }

    fn kick(&mut self) {
        let h = 0.5 * self.dt;
        let f = &self.forces.forces;
        for ((v, fi), im) in self.state.vel.iter_mut().zip(f).zip(&self.inv_m) {
            let c = h * im;
            v[0] += c * fi[0];
            v[1] += c * fi[1];
            v[2] += c * fi[2];
        }
    }

    fn drift(&mut self) {
        let dt = self.dt;
        for (x, v) in self.state.pos.iter_mut().zip(&self.state.vel) {
            x[0] += dt * v[0];
            x[1] += dt * v[1];
            x[2] += dt * v[2];
        }
    }

    /// Thermodynamic quantities of the current state (forces must be current; the virial is
    /// recomputed if it was not).
    pub fn thermo(&mut self, t_target: f64) -> Result<Thermo> {
        if !self.have_forces || self.forces.virial == [[0.0; 3]; 3] {
            self.compute_forces(true)?;
        }
        let k2 = self.kinetic2();
        let v = self.sbox.volume();
        let w = self.forces.virial;
        // kinetic tensor Σ m v_a v_b
        let mut kt = [0.0; 6];
        for (vi, m) in self.state.vel.iter().zip(&self.mass) {
            kt[0] += m * vi[0] * vi[0];
            kt[1] += m * vi[1] * vi[1];
            kt[2] += m * vi[2] * vi[2];
            kt[3] += m * vi[0] * vi[1];
            kt[4] += m * vi[0] * vi[2];
            kt[5] += m * vi[1] * vi[2];
        }
        let pt = [
            (kt[0] + w[0][0]) / v,
            (kt[1] + w[1][1]) / v,
            (kt[2] + w[2][2]) / v,
            (kt[3] + w[0][1]) / v,
            (kt[4] + w[0][2]) / v,
            (kt[5] + w[1][2]) / v,
        ];
        let mut conserved = self.forces.energy + 0.5 * k2;
        if let Ensemble::Nvt { t_damp, .. } = self.ensemble {
            let chain = self.state.eta.len();
            let tfreq = 1.0 / t_damp;
            let mut eta_mass = vec![t_target / (tfreq * tfreq); chain];
            eta_mass[0] *= self.tdof;
            let st = &self.state;
            conserved += self.tdof * t_target * st.eta[0] + 0.5 * eta_mass[0] * st.eta_dot[0] * st.eta_dot[0];
            for ich in 1..chain {
                conserved += t_target * st.eta[ich] + 0.5 * eta_mass[ich] * st.eta_dot[ich] * st.eta_dot[ich];
            }
        }
        Ok(Thermo {
            step: self.state.step,
            temperature: k2 / self.tdof,
            potential: self.forces.energy,
            kinetic: 0.5 * k2,
            // P = (2K + tr W) / (d V), V the area in 2D (where W_zz = 0)
            pressure: if self.sbox.dim() == 2 {
                (k2 + w[0][0] + w[1][1]) / (2.0 * v)
            } else {
                (k2 + w[0][0] + w[1][1] + w[2][2]) / (3.0 * v)
            },
            conserved,
            p_tensor: pt,
        })
    }

    /// Advance `n_steps`. `output` lists absolute steps (sorted) at which `on_output` sees the
    /// state (including the current step if listed); thermo rows at steps after the current
    /// one that are multiples of `thermo_every` (0 → none) go to `thermo`. The monitor is called about every `check_every` steps.
    pub fn run(
        &mut self,
        n_steps: u64,
        output: &[u64],
        thermo_every: u64,
        thermo: &mut Vec<Thermo>,
        on_output: &mut dyn FnMut(&MdState) -> Result<()>,
        monitor: &dyn Monitor,
    ) -> Result<()> {
        let begin = self.state.step;
        let end = begin + n_steps;
        let mut out_idx = output.partition_point(|&s| s < begin);
        let nvt = match self.ensemble {
            Ensemble::Nvt { t_damp, .. } => Some(t_damp),
            Ensemble::Nve => None,
        };
        let want_virial_at = |s: u64| thermo_every > 0 && s % thermo_every == 0;
        if !self.have_forces {
            self.compute_forces(want_virial_at(begin))?;
        }
        if let Some(td) = nvt {
            let tt = self.t_target(begin, end);
            self.nhc_setup(tt, td);
        }
        if out_idx < output.len() && output[out_idx] == begin {
            self.state.build_pos = self.engine.build_positions();
            on_output(&self.state)?;
            out_idx += 1;
        }
        let check_every = (200_000 / self.types.len().max(1)).clamp(1, 1000) as u64;
        let total = n_steps as usize;
        for k in 1..=n_steps {
            // target for this step (LAMMPS compute_temp_target uses ntimestep after increment)
            self.state.step += 1;
            let tt = self.t_target(begin, end);
            if let Some(td) = nvt {
                self.nhc_half(tt, td);
            }
            let fmax2 = self.forces.forces.iter().map(|f| f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).fold(0.0, f64::max);
            self.kick();
            self.drift();
            let s = self.state.step;
            let dim = self.sbox.dim();
            if let Some(p) = &mut self.state.propulsion {
                if s % p.every == 0 {
                    p.redraw(dim);
                }
            }
            if let Err(e) = self.compute_forces(want_virial_at(s)) {
                return Err(self.unstable(s, fmax2.sqrt(), e));
            }
            self.kick();
            if let Some(td) = nvt {
                self.nhc_half(tt, td);
            }
            if want_virial_at(s) {
                thermo.push(self.thermo(tt)?);
            }
            while out_idx < output.len() && output[out_idx] <= s {
                if output[out_idx] == s {
                    self.state.build_pos = self.engine.build_positions();
                    on_output(&self.state)?;
                }
                out_idx += 1;
            }
            if k % check_every == 0 {
                self.state.build_pos = self.engine.build_positions();
                monitor.progress(k as usize, total)?;
            }
        }
        self.state.build_pos = self.engine.build_positions();
        Ok(())
    }

    /// The error for a force evaluation that failed during stepping: the integration blew up.
    fn unstable(&self, step: u64, fmax: f64, e: crate::Error) -> crate::Error {
        let vmax = self.state.vel.iter().map(|v| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()).fold(0.0, f64::max);
        let why = match e {
            crate::Error::Invalid(m) => m,
            other => other.to_string(),
        };
        invalid!(
            "the simulation became unstable at step {step}: max force {fmax:.3e} and max speed {vmax:.3e} (a move of {:.3e} σ \
             per step) just before, then: {why}. Reduce dt (now {}; try {}), or check the start structure and the thermostat \
             (tdamp)",
            vmax * self.dt,
            self.dt,
            self.dt / 2.0
        )
    }

    /// Current forces (after a run or [`Md::thermo`]).
    pub fn forces(&self) -> &ForceResult {
        &self.forces
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Silent, StopAt};

    pub(super) fn setup_pub(n_side: usize, seed: u64, t: f64) -> (Model, SimBox, Vec<u32>, MdState) {
        setup(n_side, seed, t)
    }

    fn setup(n_side: usize, seed: u64, t: f64) -> (Model, SimBox, Vec<u32>, MdState) {
        let n = n_side.pow(3);
        let l = (n as f64 / 1.2).cbrt();
        let sbox = SimBox::orthorhombic([l, l, l]).unwrap();
        let a = l / n_side as f64;
        let mut pos = vec![];
        for i in 0..n_side {
            for j in 0..n_side {
                for k in 0..n_side {
                    pos.push([(i as f64 + 0.5) * a, (j as f64 + 0.5) * a, (k as f64 + 0.5) * a]);
                }
            }
        }
        let types: Vec<u32> = (0..n).map(|i| (i % 5 == 2) as u32).collect();
        let model = Model::kob_andersen();
        let mut rng = Rng::new(seed);
        let masses: Vec<f64> = types.iter().map(|&t| model.masses()[t as usize]).collect();
        let vel = maxwell_boltzmann(&masses, t, 3, &mut rng);
        let mut st = MdState::new(pos, vel, seed);
        st.rng = rng;
        (model, sbox, types, st)
    }

    #[test]
    fn rng_is_reproducible_and_normal() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut s = 0.0;
        let mut s2 = 0.0;
        let n = 100_000;
        for _ in 0..n / 2 {
            let (x, y) = a.normal_pair();
            s += x + y;
            s2 += x * x + y * y;
        }
        assert!((s / n as f64).abs() < 0.02 && (s2 / n as f64 - 1.0).abs() < 0.02);
    }

    fn equilibrated(seed: u64, t: f64) -> (Model, SimBox, Vec<u32>, MdState) {
        let (model, sbox, types, st) = setup(8, seed, t);
        let ens = Ensemble::Nvt { t_start: t, t_stop: t, t_damp: 0.5, chain: 3 };
        let mut md = Md::new(&model, sbox.clone(), types.clone(), st, 0.004, ens, 0.3).unwrap();
        md.run(3000, &[], 0, &mut vec![], &mut |_| Ok(()), &Silent).unwrap();
        let st = md.state.clone();
        (model, sbox, types, st)
    }

    #[test]
    fn nve_conserves_energy() {
        let (model, sbox, types, st) = equilibrated(1, 1.0);
        let mut md = Md::new(&model, sbox, types, st, 0.002, Ensemble::Nve, 0.3).unwrap();
        let mut th = vec![];
        md.run(2000, &[], 100, &mut th, &mut |_| Ok(()), &Silent).unwrap();
        let e0 = th[0].conserved;
        // KA's energy shift leaves a force jump at r_c: fluctuations ~1e-4 per particle at dt 0.002
        let drift = th.iter().map(|t| (t.conserved - e0).abs()).fold(0.0, f64::max) / 512.0;
        assert!(drift < 3e-4, "drift per particle {drift}");
        assert!(md.n_builds() > 1);
    }

    #[test]
    fn nvt_conserved_quantity_and_temperature() {
        let (model, sbox, types, st) = equilibrated(2, 0.8);
        let ens = Ensemble::Nvt { t_start: 0.8, t_stop: 0.8, t_damp: 0.5, chain: 3 };
        let mut md = Md::new(&model, sbox, types, st, 0.002, ens, 0.3).unwrap();
        let mut th = vec![];
        md.run(5000, &[], 10, &mut th, &mut |_| Ok(()), &Silent).unwrap();
        let c0 = th[0].conserved;
        let dc = th.iter().map(|t| (t.conserved - c0).abs()).fold(0.0, f64::max) / 512.0;
        assert!(dc < 1e-3, "conserved drift per particle {dc}");
        let tm: f64 = th.iter().map(|t| t.temperature).sum::<f64>() / th.len() as f64;
        assert!((tm - 0.8).abs() < 0.03, "{tm}");
    }

    #[test]
    fn restart_is_bit_identical() {
        let (model, sbox, types, st) = setup(7, 3, 1.0);
        let ens = Ensemble::Nvt { t_start: 1.0, t_stop: 0.7, t_damp: 0.5, chain: 3 };
        let mut a = Md::new(&model, sbox.clone(), types.clone(), st.clone(), 0.005, ens, 0.3).unwrap();
        let mut th = vec![];
        let mut mid = None;
        a.run(300, &[137], 0, &mut th, &mut |s| {
            mid = Some(s.clone());
            Ok(())
        }, &Silent).unwrap();
        let mid = mid.unwrap();
        let mut b = Md::new(&model, sbox.clone(), types.clone(), mid, 0.005, ens, 0.3).unwrap();
        b.ramp = Some((0, 300));
        // continue the remaining 163 steps as one run of the same ensemble
        b.run(163, &[], 0, &mut th, &mut |_| Ok(()), &Silent).unwrap();
        assert_eq!(a.state.pos, b.state.pos);
        assert_eq!(a.state.vel, b.state.vel);
        assert_eq!(a.state.eta_dot, b.state.eta_dot);
        // an interrupted run keeps a consistent state
        let mut c = Md::new(&model, sbox, types, st, 0.005, ens, 0.3).unwrap();
        let e = c.run(100000, &[], 0, &mut th, &mut |_| Ok(()), &StopAt(1)).unwrap_err();
        assert_eq!(e, crate::Error::Interrupted);
    }

    #[test]
    fn propulsion_redraw_has_zero_net_force() {
        let mut p = Propulsion::new(0.5, (0..10).map(|k| 3 * k).collect(), 200, 9);
        for dim in [2, 3] {
            for _ in 0..20 {
                p.redraw(dim);
                let f = p.forces(40);
                for a in 0..3 {
                    let s: f64 = f.iter().map(|x| x[a]).sum();
                    assert_eq!(s, 0.0);
                    if a < dim {
                        assert!(p.particles.iter().all(|&i| f[i][a].abs() == 0.5));
                    } else {
                        assert!(f.iter().all(|x| x[a] == 0.0));
                    }
                }
                assert!((0..40).filter(|i| i % 3 != 0 || *i >= 30).all(|i| f[i] == [0.0; 3]));
            }
        }
    }

    #[test]
    fn mb_velocities() {
        let mut rng = Rng::new(7);
        let m = vec![1.0; 1000];
        let v = maxwell_boltzmann(&m, 0.8, 3, &mut rng);
        let p: f64 = v.iter().map(|x| x[0]).sum();
        assert!(p.abs() < 1e-10);
        let t: f64 = v.iter().map(|x| x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).sum::<f64>() / 2997.0;
        assert!((t - 0.8).abs() < 1e-12);
    }
}

#[cfg(test)]
mod drift_debug {
    use super::*;
    use crate::monitor::Silent;
    #[test]
    #[ignore]
    fn drift_scaling() {
        let (model, sbox, types, st) = super::tests::setup_pub(8, 1, 1.0);
        // equilibrate a bit with NVT
        let ens = Ensemble::Nvt { t_start: 1.0, t_stop: 1.0, t_damp: 0.5, chain: 3 };
        let mut md = Md::new(&model, sbox.clone(), types.clone(), st, 0.002, ens, 0.3).unwrap();
        let mut th = vec![];
        md.run(5000, &[], 0, &mut th, &mut |_| Ok(()), &Silent).unwrap();
        let st = md.state.clone();
        for dt in [0.004, 0.002, 0.001] {
            let mut md = Md::new(&model, sbox.clone(), types.clone(), st.clone(), dt, Ensemble::Nve, 0.3).unwrap();
            let mut th = vec![];
            let nsteps = (4.0 / dt) as u64;
            md.run(nsteps, &[], nsteps / 20, &mut th, &mut |_| Ok(()), &Silent).unwrap();
            let e: Vec<f64> = th.iter().map(|t| t.conserved / 512.0).collect();
            println!("dt {dt}: T {:.3} {:?}", th[5].temperature, e.iter().map(|x| format!("{:.6}", x - e[0])).collect::<Vec<_>>());
        }
        let mut md = Md::new(&model, sbox.clone(), types.clone(), st.clone(), 0.002, ens, 0.3).unwrap();
        let mut th = vec![];
        md.run(2000, &[], 100, &mut th, &mut |_| Ok(()), &Silent).unwrap();
        let e: Vec<f64> = th.iter().map(|t| t.conserved / 512.0).collect();
        println!("nvt: {:?}", e.iter().map(|x| format!("{:.6}", x - e[0])).collect::<Vec<_>>());
    }
}

#[cfg(test)]
mod perf_md {
    use super::*;
    use crate::monitor::Silent;

    /// Process CPU seconds (user + system) from /proc/self/stat: robust to a loaded machine.
    fn cpu() -> f64 {
        let s = std::fs::read_to_string("/proc/self/stat").unwrap();
        let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
        (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
    }
    #[test]
    #[ignore]
    fn perf_md_steps() {
        for n_side in [10usize, 16] {
            let (model, sbox, types, st) = super::tests::setup_pub(n_side, 1, 0.8);
            let ens = Ensemble::Nvt { t_start: 0.8, t_stop: 0.8, t_damp: 0.5, chain: 3 };
            let n = types.len();
            for threads in [1usize, 2] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                pool.install(|| {
                    let mut md = Md::new(&model, sbox.clone(), types.clone(), st.clone(), 0.005, ens, 0.3).unwrap();
                    md.run(3000, &[], 0, &mut vec![], &mut |_| Ok(()), &Silent).unwrap();
                    let b0 = md.n_builds();
                    let c0 = cpu();
                    md.run(4000, &[], 0, &mut vec![], &mut |_| Ok(()), &Silent).unwrap();
                    let el = (cpu() - c0) / 2.0;
                    // eval only
                    let mut out = ForceResult::default();
                    let pos = md.state.pos.clone();
                    let c2 = cpu();
                    for _ in 0..1000 {
                        md.engine.compute(&pos, Want { per_particle: false, virial: false }, &mut out).unwrap();
                    }
                    let ev = (cpu() - c2) / 1000.0;
                    let c3 = cpu();
                    for _ in 0..200 {
                        md.engine.invalidate();
                        md.engine.compute(&pos, Want { per_particle: false, virial: false }, &mut out).unwrap();
                    }
                    let bu = (cpu() - c3) / 200.0 - ev;
                    println!(
                        "N={n} threads={threads} (CPU time): {:.0} us/step, {:.3e} atom-steps/s, builds/1000 steps {:.0}, eval {:.0} us, build {:.0} us",
                        el / 2000.0 * 1e6,
                        n as f64 * 2000.0 / el,
                        (md.n_builds() - b0) as f64 / 2.0,
                        ev * 1e6,
                        bu * 1e6
                    );
                });
            }
        }
    }
}
