//! FIRE energy minimisation to an inherent structure (definitions §6).
//!
//! The algorithm follows LAMMPS `min_style fire` (Guénolé et al. 2020, "FIRE 2.0") with its
//! default settings: semi-implicit Euler integration, dtgrow 1.1, dtshrink 0.5, alpha0 0.25,
//! alphashrink 0.99, delaystep 20 with the initial delay, tmax 10 and tmin 0.02 (in units of
//! the initial timestep), half-step back on uphill motion (P = v·F ≤ 0), velocity-limited
//! step (no particle moves more than dmax per step), and at most `vdfmax` uphill events.
//! Converged when max_i |F_i| < f_tol (LAMMPS `min_modify norm max`); anything else is an
//! [`Error::NotConverged`] — never a silent result.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::forces::{check_inputs, det_sum, Engine, ForceResult, Want};
use crate::invalid;
use crate::models::Model;
use crate::monitor::Monitor;
use crate::simbox::{SimBox, Vec3};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FireParams {
    /// Initial timestep (LAMMPS `timestep`, lj default 0.005).
    pub dt: f64,
    pub dtgrow: f64,
    pub dtshrink: f64,
    pub alpha0: f64,
    pub alphashrink: f64,
    pub delaystep: usize,
    /// dt_max = tmax · dt; dt_min = tmin · dt.
    pub tmax: f64,
    pub tmin: f64,
    /// Largest displacement of any particle in one step (LAMMPS `min_modify dmax`, 0.1).
    pub dmax: f64,
    /// Largest number of uphill (v·F ≤ 0) events before giving up (LAMMPS `vdfmax`, 2000).
    pub vdfmax: usize,
    pub halfstepback: bool,
    pub initialdelay: bool,
    /// Convergence: max_i |F_i| < f_tol.
    pub f_tol: f64,
    pub max_iter: usize,
    /// Verlet-list skin for the force evaluations.
    pub skin: f64,
}

impl Default for FireParams {
    fn default() -> Self {
        FireParams {
            dt: 0.005,
            dtgrow: 1.1,
            dtshrink: 0.5,
            alpha0: 0.25,
            alphashrink: 0.99,
            delaystep: 20,
            tmax: 10.0,
            tmin: 0.02,
            dmax: 0.1,
            vdfmax: 2000,
            halfstepback: true,
            initialdelay: true,
            f_tol: 1e-10,
            max_iter: 100_000,
            skin: 0.3,
        }
    }
}

impl FireParams {
    pub fn validate(&self) -> Result<()> {
        let pos = |v: f64, what: &str| -> Result<()> {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(invalid!("FIRE parameter {what} must be positive and finite, got {v}"))
            }
        };
        pos(self.dt, "dt")?;
        pos(self.dtgrow, "dtgrow")?;
        pos(self.dtshrink, "dtshrink")?;
        pos(self.tmax, "tmax")?;
        pos(self.tmin, "tmin")?;
        pos(self.dmax, "dmax")?;
        pos(self.f_tol, "f_tol")?;
        if !(self.alpha0 >= 0.0 && self.alpha0 <= 1.0 && self.alphashrink > 0.0 && self.alphashrink <= 1.0) {
            return Err(invalid!("FIRE needs 0 ≤ alpha0 ≤ 1 and 0 < alphashrink ≤ 1; got {} and {}", self.alpha0, self.alphashrink));
        }
        if self.max_iter == 0 {
            return Err(invalid!("FIRE max_iter must be at least 1"));
        }
        Ok(())
    }
}

/// What a minimisation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FireInfo {
    /// Potential energy at the end (total, not per particle).
    pub energy: f64,
    /// max_i |F_i| at the end.
    pub max_force: f64,
    pub iterations: usize,
    pub n_evals: usize,
    pub converged: bool,
}

fn max_force(f: &[Vec3]) -> f64 {
    f.iter().map(|v| v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).fold(0.0, f64::max).sqrt()
}

/// Minimise in place with FIRE. `n_chunks` as in [`crate::forces::evaluate_chunked`]
/// (0 → all rayon threads, 1 → serial). The monitor is called every 1000 iterations.
pub fn fire_with(
    pos: &mut [Vec3],
    types: &[u32],
    sbox: &SimBox,
    model: &Model,
    p: &FireParams,
    n_chunks: usize,
    monitor: &dyn Monitor,
) -> Result<FireInfo> {
    p.validate()?;
    check_inputs(pos, types, sbox, model)?;
    let n = pos.len();
    let mut eng = Engine::new(model, sbox.clone(), types.to_vec(), p.skin)?;
    eng.n_chunks = n_chunks;
    let inv_m: Vec<f64> = types.iter().map(|&t| 1.0 / model.masses()[t as usize]).collect();
    let want = Want { per_particle: false, virial: false };
    let mut res = ForceResult::default();
    eng.compute(pos, want, &mut res)?;
    let mut n_evals = 1;
    let mut fmax = max_force(&res.forces);
    if fmax < p.f_tol {
        return Ok(FireInfo { energy: res.energy, max_force: fmax, iterations: 0, n_evals, converged: true });
    }
    let mut v = vec![[0.0f64; 3]; n];
    let dtmax = p.tmax * p.dt;
    let dtmin = p.tmin * p.dt;
    let mut dt = p.dt;
    let mut alpha = p.alpha0;
    // LAMMPS counts timesteps from 1 with last_negative = ntimestep_start = 0
    let mut last_negative = 0usize;
    let mut n_negative = 0usize;
    let mut flagv0 = true;
    let mut last_dtv = 0.0;
    let dot = |a: &[Vec3], b: &[Vec3]| -> f64 { det_sum(a.len(), |i| a[i][0] * b[i][0] + a[i][1] * b[i][1] + a[i][2] * b[i][2]) };
    for iter in 1..=p.max_iter {
        if iter % 1000 == 0 {
            monitor.progress(iter, p.max_iter)?;
        } else if iter % 16 == 0 && monitor.cancelled() {
            return Err(Error::Interrupted);
        }
        let vdotf = dot(&v, &res.forces);
        let (mut scale1, mut scale2) = (1.0, 0.0);
        let mixing = vdotf > 0.0;
        if mixing {
            let vdotv = dot(&v, &v);
            let fdotf = dot(&res.forces, &res.forces);
            scale1 = 1.0 - alpha;
            scale2 = if fdotf <= 1e-20 { 0.0 } else { alpha * (vdotv / fdotf).sqrt() };
            if iter - last_negative > p.delaystep {
                dt = (dt * p.dtgrow).min(dtmax);
                alpha *= p.alphashrink;
            }
        } else {
            last_negative = iter;
            let delay = !(p.initialdelay && iter < p.delaystep);
            if delay {
                alpha = p.alpha0;
                if dt * p.dtshrink >= dtmin {
                    dt *= p.dtshrink;
                }
            }
            n_negative += 1;
            if p.vdfmax > 0 && n_negative > p.vdfmax {
                return Err(Error::NotConverged(format!(
                    "FIRE stopped after {iter} iterations: more than vdfmax = {} uphill steps (P = v·F ≤ 0); max|F| = {fmax:.3e} > f_tol = {:.1e}",
                    p.vdfmax, p.f_tol
                )));
            }
            if p.halfstepback {
                // LAMMPS steps back by half the (velocity-limited) timestep of the last step
                let h = 0.5 * last_dtv;
                for (x, vi) in pos.iter_mut().zip(&v) {
                    x[0] -= h * vi[0];
                    x[1] -= h * vi[1];
                    x[2] -= h * vi[2];
                }
                if v.iter().any(|vi| vi[0] != 0.0 || vi[1] != 0.0 || vi[2] != 0.0) {
                    eng.compute(pos, want, &mut res)?;
                    n_evals += 1;
                }
            }
            for vi in v.iter_mut() {
                *vi = [0.0; 3];
            }
            flagv0 = true;
        }
        // velocity-limited step: estimate v = dt F/m when v was just reset
        let mut dtv = dt;
        let vmax_of = |vi: &Vec3| vi[0].abs().max(vi[1].abs()).max(vi[2].abs());
        if flagv0 {
            for (i, f) in res.forces.iter().enumerate() {
                let vm = dt * inv_m[i] * f[0].abs().max(f[1].abs()).max(f[2].abs());
                if dtv * vm > p.dmax {
                    dtv = p.dmax / vm;
                }
            }
        } else {
            for vi in &v {
                let vm = vmax_of(vi);
                if dtv * vm > p.dmax {
                    dtv = p.dmax / vm;
                }
            }
        }
        // semi-implicit Euler with FIRE mixing
        for i in 0..n {
            let f = res.forces[i];
            let dtfm = dtv * inv_m[i];
            let vi = &mut v[i];
            vi[0] += dtfm * f[0];
            vi[1] += dtfm * f[1];
            vi[2] += dtfm * f[2];
            if mixing {
                vi[0] = scale1 * vi[0] + scale2 * f[0];
                vi[1] = scale1 * vi[1] + scale2 * f[1];
                vi[2] = scale1 * vi[2] + scale2 * f[2];
            }
            let x = &mut pos[i];
            x[0] += dtv * vi[0];
            x[1] += dtv * vi[1];
            x[2] += dtv * vi[2];
        }
        last_dtv = dtv;
        eng.compute(pos, want, &mut res)?;
        n_evals += 1;
        flagv0 = false;
        fmax = max_force(&res.forces);
        if fmax < p.f_tol {
            return Ok(FireInfo { energy: res.energy, max_force: fmax, iterations: iter, n_evals, converged: true });
        }
    }
    Err(Error::NotConverged(format!(
        "FIRE did not converge in max_iter = {} iterations: max|F| = {fmax:.3e} > f_tol = {:.1e} (energy {:.10})",
        p.max_iter, p.f_tol, res.energy
    )))
}

/// Minimise one configuration (fixed force-loop chunking: the result does not depend on the
/// thread count, and equals the batch form's).
pub fn fire(pos: &mut [Vec3], types: &[u32], sbox: &SimBox, model: &Model, p: &FireParams, monitor: &dyn Monitor) -> Result<FireInfo> {
    fire_with(pos, types, sbox, model, p, crate::forces::DEFAULT_CHUNKS, monitor)
}

/// Minimise many configurations of the same particle set in parallel (rayon over frames;
/// each frame gives the same bits as [`fire`]). Results are per frame: `Ok` with the info, or the frame's error
/// (non-convergence does not stop the other frames). The monitor is called between groups.
pub fn fire_batch(
    frames: &mut [Vec<Vec3>],
    types: &[u32],
    boxes: &[SimBox],
    model: &Model,
    p: &FireParams,
    monitor: &dyn Monitor,
) -> Result<Vec<Result<FireInfo>>> {
    if boxes.len() != frames.len() {
        return Err(invalid!("{} frames but {} boxes", frames.len(), boxes.len()));
    }
    let total = frames.len();
    let group = (rayon::current_num_threads() * 4).max(1);
    let mut out = Vec::with_capacity(total);
    let mut done = 0;
    for (chunk, bchunk) in frames.chunks_mut(group).zip(boxes.chunks(group)) {
        let r: Vec<Result<FireInfo>> = chunk
            .par_iter_mut()
            .zip(bchunk.par_iter())
            .map(|(pos, b)| fire_with(pos, types, b, model, p, crate::forces::DEFAULT_CHUNKS, &crate::monitor::CancelOnly(monitor)))
            .collect();
        if monitor.cancelled() || r.iter().any(|x| matches!(x, Err(Error::Interrupted))) {
            return Err(Error::Interrupted);
        }
        done += r.len();
        out.extend(r);
        monitor.progress(done, total)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::lcg;
    use crate::forces::compute;


    fn ka_config(n_side: usize, seed: u64) -> (Vec<Vec3>, Vec<u32>, SimBox) {
        let n = n_side.pow(3);
        let l = (n as f64 / 1.2).cbrt();
        let sbox = SimBox::orthorhombic([l, l, l]).unwrap();
        let mut rnd = lcg(seed);
        let a = l / n_side as f64;
        let mut pos = Vec::with_capacity(n);
        for i in 0..n_side {
            for j in 0..n_side {
                for k in 0..n_side {
                    pos.push([(i as f64 + 0.5) * a + 0.2 * (rnd() - 0.5), (j as f64 + 0.5) * a + 0.2 * (rnd() - 0.5), (k as f64 + 0.5) * a + 0.2 * (rnd() - 0.5)]);
                }
            }
        }
        let types = (0..n).map(|i| (i % 5 == 2) as u32).collect();
        (pos, types, sbox)
    }

    #[test]
    fn fire_converges_to_tolerance() {
        let (mut pos, types, sbox) = ka_config(6, 1);
        let m = Model::kob_andersen();
        let e0 = compute(&pos, &types, &sbox, &m, Want { per_particle: false, virial: false }).unwrap().energy;
        let info = fire(&mut pos, &types, &sbox, &m, &FireParams::default(), &crate::monitor::Silent).unwrap();
        assert!(info.converged && info.max_force < 1e-10);
        let after = compute(&pos, &types, &sbox, &m, Want { per_particle: false, virial: false }).unwrap();
        assert!((after.energy - info.energy).abs() < 1e-9);
        assert!(info.energy < e0);
        let fm = after.forces.iter().map(|f| (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt()).fold(0.0, f64::max);
        assert!(fm < 1e-10);
    }

    #[test]
    fn non_convergence_is_an_error() {
        let (mut pos, types, sbox) = ka_config(7, 2);
        let m = Model::kob_andersen();
        let p = FireParams { max_iter: 10, ..Default::default() };
        let e = fire(&mut pos, &types, &sbox, &m, &p, &crate::monitor::Silent).unwrap_err();
        assert!(matches!(e, Error::NotConverged(_)), "{e}");
    }

    #[test]
    fn batch_equals_single() {
        let m = Model::kob_andersen();
        let (p0, types, sbox) = ka_config(7, 3);
        let (p1, _, _) = ka_config(7, 4);
        let mut frames = vec![p0.clone(), p1.clone()];
        let r = fire_batch(&mut frames, &types, &[sbox.clone(), sbox.clone()], &m, &FireParams::default(), &crate::monitor::Silent).unwrap();
        let mut single = p1.clone();
        let info = fire(&mut single, &types, &sbox, &m, &FireParams::default(), &crate::monitor::Silent).unwrap();
        assert_eq!(r[1].as_ref().unwrap().energy, info.energy);
        assert_eq!(frames[1], single);
    }
}
