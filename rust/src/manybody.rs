//! Three-body terms of many-body models: Stillinger–Weber.
//!
//! E = Σ_{i<j} φ2(r_ij) + Σ_i Σ_{j<k} φ3(r_ij, r_ik, θ_jik) with, for r_ij, r_ik < aσ,
//!
//!   φ2(r) = Aε [B (σ/r)^p − (σ/r)^q] exp(σ/(r − aσ))           (a pair potential: [`crate::models::PairPot::Sw2`])
//!   φ3    = λε (cos θ_jik − cos θ0)² exp(γσ/(r_ij − aσ)) exp(γσ/(r_ik − aσ))
//!
//! θ_jik is the angle at i between d1 = x_j − x_i and d2 = x_k − x_i (minimum image). The
//! parameters mean what they mean in LAMMPS `pair_style sw` (the oracle of the tests).
//! Forces F = −∇E; the virial W_ab = Σ_triplets (d1_a f1_b + d2_a f2_b) with f1 = −∂φ3/∂d1,
//! f2 = −∂φ3/∂d2 (the pair convention W = Σ d ⊗ f); per-particle energies give each member of a
//! triplet a third of φ3 (as LAMMPS `compute pe/atom`). Units: ε, σ of the model.
//!
//! The energy of a triplet is written once, generically over [`Jet`] (value, gradient and
//! Hessian in the six coordinates of d1, d2), so that the Hessian blocks are exact second
//! derivatives of the same function whose gradient gives the forces.

use rayon::prelude::*;

use crate::error::Result;
use crate::forces::{ForceResult, Want};
use crate::neighbors::PairList;
use crate::invalid;
use crate::simbox::Vec3;

/// The Stillinger–Weber three-body term (one species).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SwThreeBody {
    pub lambda: f64,
    pub eps: f64,
    pub gamma: f64,
    pub sigma: f64,
    pub a: f64,
    pub cos0: f64,
}

/// Second-order forward-mode number in six variables: value, gradient, Hessian.
#[derive(Debug, Clone, Copy)]
pub struct Jet {
    pub v: f64,
    pub g: [f64; 6],
    pub h: [[f64; 6]; 6],
}

impl Jet {
    pub fn constant(v: f64) -> Self {
        Jet { v, g: [0.0; 6], h: [[0.0; 6]; 6] }
    }
    pub fn var(v: f64, k: usize) -> Self {
        let mut j = Jet::constant(v);
        j.g[k] = 1.0;
        j
    }
    /// f(self) from f, f′, f″ at self.v (chain rule).
    fn chain(&self, f0: f64, f1: f64, f2: f64) -> Self {
        let mut out = Jet::constant(f0);
        for a in 0..6 {
            out.g[a] = f1 * self.g[a];
            for b in 0..6 {
                out.h[a][b] = f1 * self.h[a][b] + f2 * self.g[a] * self.g[b];
            }
        }
        out
    }
    pub fn add(&self, o: &Jet) -> Jet {
        let mut r = *self;
        r.v += o.v;
        for a in 0..6 {
            r.g[a] += o.g[a];
            for b in 0..6 {
                r.h[a][b] += o.h[a][b];
            }
        }
        r
    }
    pub fn add_const(&self, c: f64) -> Jet {
        let mut r = *self;
        r.v += c;
        r
    }
    pub fn scale(&self, c: f64) -> Jet {
        let mut r = *self;
        r.v *= c;
        for a in 0..6 {
            r.g[a] *= c;
            for b in 0..6 {
                r.h[a][b] *= c;
            }
        }
        r
    }
    pub fn mul(&self, o: &Jet) -> Jet {
        let mut r = Jet::constant(self.v * o.v);
        for a in 0..6 {
            r.g[a] = self.g[a] * o.v + self.v * o.g[a];
            for b in 0..6 {
                r.h[a][b] = self.h[a][b] * o.v + self.g[a] * o.g[b] + o.g[a] * self.g[b] + self.v * o.h[a][b];
            }
        }
        r
    }
    pub fn recip(&self) -> Jet {
        let x = self.v;
        self.chain(1.0 / x, -1.0 / (x * x), 2.0 / (x * x * x))
    }
    pub fn sqrt(&self) -> Jet {
        let s = self.v.sqrt();
        self.chain(s, 0.5 / s, -0.25 / (s * self.v))
    }
    pub fn exp(&self) -> Jet {
        let e = self.v.exp();
        self.chain(e, e, e)
    }
}

/// One bond of a three-body centre: d = x_j − x_i, r = |d|, e = e^{γσ/(r − aσ)}, l = d ln e / dr.
#[derive(Debug, Clone, Copy)]
pub struct Bond {
    pub d: Vec3,
    pub r: f64,
    pub e: f64,
    pub l: f64,
}

impl SwThreeBody {
    /// The cutoff aσ of the three-body (and two-body) term.
    pub fn cutoff(&self) -> f64 {
        self.a * self.sigma
    }

    /// The per-bond factors of φ3 for a bond d of length r from the centre: e^{γσ/(r − aσ)} and
    /// its log-derivative −γσ/(r − aσ)² (None beyond the cutoff). A centre's bonds are prepared
    /// once and shared by all its triplets (two exponentials per bond instead of per triplet).
    #[inline]
    pub fn bond(&self, d: Vec3, r: f64) -> Option<Bond> {
        let rc = self.cutoff();
        if r >= rc {
            return None;
        }
        let x = r - rc;
        // d ln e / dr = −γσ/(r − aσ)²
        Some(Bond { d, r, e: (self.gamma * self.sigma / x).exp(), l: -self.gamma * self.sigma / (x * x) })
    }

    /// φ3 and its gradient with respect to d1 and d2 (zero beyond the cutoff).
    #[inline]
    pub fn triplet(&self, d1: &Vec3, r1: f64, d2: &Vec3, r2: f64) -> (f64, Vec3, Vec3) {
        match (self.bond(*d1, r1), self.bond(*d2, r2)) {
            (Some(b1), Some(b2)) => self.triplet_of_bonds(&b1, &b2),
            _ => (0.0, [0.0; 3], [0.0; 3]),
        }
    }

    /// φ3 and its gradient with respect to d1 and d2, from two prepared bonds.
    #[inline]
    pub fn triplet_of_bonds(&self, b1: &Bond, b2: &Bond) -> (f64, Vec3, Vec3) {
        let (d1, r1, e1, l1) = (&b1.d, b1.r, b1.e, b1.l);
        let (d2, r2, e2, l2) = (&b2.d, b2.r, b2.e, b2.l);
        let dot = d1[0] * d2[0] + d1[1] * d2[1] + d1[2] * d2[2];
        let inv12 = 1.0 / (r1 * r2);
        let c = dot * inv12;
        let dc = c - self.cos0;
        let pre = self.lambda * self.eps * e1 * e2;
        let energy = pre * dc * dc;
        let mut g1 = [0.0; 3];
        let mut g2 = [0.0; 3];
        for a in 0..3 {
            // ∂c/∂d1 = d2/(r1 r2) − c d1/r1², ∂c/∂d2 = d1/(r1 r2) − c d2/r2²
            let dc1 = d2[a] * inv12 - c * d1[a] / (r1 * r1);
            let dc2 = d1[a] * inv12 - c * d2[a] / (r2 * r2);
            g1[a] = pre * (2.0 * dc * dc1 + dc * dc * l1 * d1[a] / r1);
            g2[a] = pre * (2.0 * dc * dc2 + dc * dc * l2 * d2[a] / r2);
        }
        (energy, g1, g2)
    }

    /// φ3 as a [`Jet`] in the six coordinates (d1, d2): value, gradient and Hessian.
    pub fn triplet_jet(&self, d1: &Vec3, d2: &Vec3) -> Jet {
        let rc = self.cutoff();
        let x: Vec<Jet> = (0..6).map(|k| Jet::var(if k < 3 { d1[k] } else { d2[k - 3] }, k)).collect();
        let dot3 = |a: &[Jet], b: &[Jet]| a[0].mul(&b[0]).add(&a[1].mul(&b[1])).add(&a[2].mul(&b[2]));
        let r1 = dot3(&x[0..3], &x[0..3]).sqrt();
        let r2 = dot3(&x[3..6], &x[3..6]).sqrt();
        if r1.v >= rc || r2.v >= rc {
            return Jet::constant(0.0);
        }
        let c = dot3(&x[0..3], &x[3..6]).mul(&r1.mul(&r2).recip());
        let dc = c.add_const(-self.cos0);
        let gs = self.gamma * self.sigma;
        let e1 = r1.add_const(-rc).recip().scale(gs).exp();
        let e2 = r2.add_const(-rc).recip().scale(gs).exp();
        dc.mul(&dc).mul(&e1).mul(&e2).scale(self.lambda * self.eps)
    }
}

/// Full neighbour lists within `rc` from the half Verlet list: for particle i, entries
/// (j, d = x_j − x_i, r). Order is deterministic (list order).
pub fn full_neighbours(list: &PairList, pos: &[Vec3], rc: f64) -> (Vec<usize>, Vec<(u32, Vec3, f64)>) {
    let n = pos.len();
    let rc2 = rc * rc;
    let mut count = vec![0usize; n + 1];
    let mut found: Vec<(u32, u32, Vec3, f64)> = Vec::new();
    for i in 0..n {
        let xi = pos[i];
        for k in list.offsets[i]..list.offsets[i + 1] {
            let j = list.j[k] as usize;
            let s = list.shifts[list.image[k] as usize];
            let xj = pos[j];
            let d = [xj[0] - xi[0] + s[0], xj[1] - xi[1] + s[1], xj[2] - xi[2] + s[2]];
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if r2 < rc2 {
                found.push((i as u32, j as u32, d, r2.sqrt()));
                count[i + 1] += 1;
                count[j + 1] += 1;
            }
        }
    }
    for i in 0..n {
        count[i + 1] += count[i];
    }
    let mut fill = count.clone();
    let mut nb = vec![(0u32, [0.0; 3], 0.0); count[n]];
    for (i, j, d, r) in found {
        nb[fill[i as usize]] = (j, d, r);
        fill[i as usize] += 1;
        nb[fill[j as usize]] = (i, [-d[0], -d[1], -d[2]], r);
        fill[j as usize] += 1;
    }
    (count, nb)
}

/// Add the three-body energy, forces, virial and (if wanted) per-particle energies of `tb` to
/// `out` (which already holds the pair part). Centres are split into `n_chunks` fixed
/// contiguous chunks (0: one per rayon thread) summed in chunk order, so results are bitwise
/// independent of the thread count for a fixed `n_chunks`.
pub fn add_three_body(list: &PairList, pos: &[Vec3], tb: &SwThreeBody, want: Want, n_chunks: usize, out: &mut ForceResult) -> Result<()> {
    let n = pos.len();
    let (off, nb) = full_neighbours(list, pos, tb.cutoff());
    let k = if n_chunks == 0 { rayon::current_num_threads() } else { n_chunks }.clamp(1, n.max(1));
    let bounds: Vec<usize> = (0..=k).map(|c| c * n / k).collect();
    struct Part {
        energy: f64,
        w: [[f64; 3]; 3],
        f: Vec<Vec3>,
        e: Vec<f64>,
    }
    let run = |c: usize| -> Part {
        let mut p = Part { energy: 0.0, w: [[0.0; 3]; 3], f: vec![[0.0; 3]; n], e: if want.per_particle { vec![0.0; n] } else { Vec::new() } };
        let mut bonds: Vec<(u32, Bond)> = Vec::new();
        for i in bounds[c]..bounds[c + 1] {
            bonds.clear();
            bonds.extend(nb[off[i]..off[i + 1]].iter().filter_map(|&(j, d, r)| tb.bond(d, r).map(|b| (j, b))));
            for a in 0..bonds.len() {
                let (j, b1) = bonds[a];
                for &(kk, b2) in &bonds[a + 1..] {
                    let (u, g1, g2) = tb.triplet_of_bonds(&b1, &b2);
                    if u == 0.0 && g1 == [0.0; 3] && g2 == [0.0; 3] {
                        continue;
                    }
                    let (d1, d2) = (&b1.d, &b2.d);
                    p.energy += u;
                    for q in 0..3 {
                        p.f[j as usize][q] -= g1[q];
                        p.f[kk as usize][q] -= g2[q];
                        p.f[i][q] += g1[q] + g2[q];
                    }
                    if want.virial {
                        for q in 0..3 {
                            for s in 0..3 {
                                p.w[q][s] -= d1[q] * g1[s] + d2[q] * g2[s];
                            }
                        }
                    }
                    if want.per_particle {
                        let third = u / 3.0;
                        p.e[i] += third;
                        p.e[j as usize] += third;
                        p.e[kk as usize] += third;
                    }
                }
            }
        }
        p
    };
    let parts: Vec<Part> = if k == 1 { vec![run(0)] } else { (0..k).into_par_iter().map(run).collect() };
    for p in parts {
        out.energy += p.energy;
        for (fo, fp) in out.forces.iter_mut().zip(&p.f) {
            for q in 0..3 {
                fo[q] += fp[q];
            }
        }
        if want.per_particle {
            for (eo, ep) in out.per_particle.iter_mut().zip(&p.e) {
                *eo += ep;
            }
        }
        if want.virial {
            for q in 0..3 {
                for s in 0..3 {
                    out.virial[q][s] += p.w[q][s];
                }
            }
        }
    }
    if !out.energy.is_finite() {
        return Err(invalid!("the three-body energy is not finite"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tb() -> SwThreeBody {
        SwThreeBody { lambda: 18.75, eps: 1.0, gamma: 1.2, sigma: 1.0, a: 1.8, cos0: -1.0 / 3.0 }
    }

    #[test]
    fn gradient_matches_jet_and_finite_differences() {
        let t = tb();
        let d1 = [0.9, 0.3, -0.2];
        let d2 = [-0.4, 1.0, 0.35];
        let r = |d: &Vec3| (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        let (u, g1, g2) = t.triplet(&d1, r(&d1), &d2, r(&d2));
        let j = t.triplet_jet(&d1, &d2);
        assert!((u - j.v).abs() < 1e-14 * u.abs().max(1.0));
        for a in 0..3 {
            assert!((g1[a] - j.g[a]).abs() < 1e-12 * (1.0 + g1[a].abs()));
            assert!((g2[a] - j.g[3 + a]).abs() < 1e-12 * (1.0 + g2[a].abs()));
        }
        // Hessian of the jet against central differences of the analytic gradient
        let h = 1e-6;
        for b in 0..6 {
            let mut p = [d1, d2];
            let mut m = [d1, d2];
            p[b / 3][b % 3] += h;
            m[b / 3][b % 3] -= h;
            let (_, pg1, pg2) = t.triplet(&p[0], r(&p[0]), &p[1], r(&p[1]));
            let (_, mg1, mg2) = t.triplet(&m[0], r(&m[0]), &m[1], r(&m[1]));
            for a in 0..6 {
                let gp = if a < 3 { pg1[a] } else { pg2[a - 3] };
                let gm = if a < 3 { mg1[a] } else { mg2[a - 3] };
                let fd = (gp - gm) / (2.0 * h);
                assert!((fd - j.h[a][b]).abs() < 1e-6 * (1.0 + fd.abs()), "H[{a}][{b}] {fd} vs {}", j.h[a][b]);
                assert!((j.h[a][b] - j.h[b][a]).abs() < 1e-12 * (1.0 + fd.abs()));
            }
        }
    }

    #[test]
    fn zero_beyond_the_cutoff() {
        let t = tb();
        let (u, g1, _) = t.triplet(&[1.81, 0.0, 0.0], 1.81, &[0.0, 1.0, 0.0], 1.0);
        assert_eq!((u, g1), (0.0, [0.0; 3]));
    }
}
