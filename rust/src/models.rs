//! Pair-potential models (SPEC §1). A [`Model`] holds species, masses and one
//! [`PairPot`] per unordered species pair; `eval` returns (U, U′, U″) at a distance r,
//! the single definition shared by MD, minimisation, the Hessian and the structure code.
//!
//! Contract used by every other module (keep it stable):
//! `Model::eval(a, b, r) -> [f64; 3]`, `Model::cutoff(a, b)`, `Model::max_cutoff()`,
//! `Model::n_species()`, `Model::species()`, `Model::masses()`, `Model::check_types(types)`.

use crate::error::Result;
use crate::invalid;

/// One pair interaction. U = 0 for r ≥ cutoff.
#[derive(Debug, Clone, PartialEq)]
pub enum PairPot {
    /// 4ε[(σ/r)¹² − (σ/r)⁶] − shift for r < rc (shift = U_LJ(rc) for an energy shift, 0 for none).
    LennardJones { eps: f64, sigma: f64, rc: f64, shift: f64 },
}

impl PairPot {
    /// Lennard-Jones cut at `rc`; `energy_shift` subtracts U(rc) so U is continuous.
    pub fn lennard_jones(eps: f64, sigma: f64, rc: f64, energy_shift: bool) -> Result<Self> {
        if !(eps.is_finite() && sigma > 0.0 && rc > 0.0 && rc.is_finite()) {
            return Err(invalid!("Lennard-Jones needs finite ε, σ > 0 and r_c > 0; got ε={eps}, σ={sigma}, r_c={rc}"));
        }
        let mut p = PairPot::LennardJones { eps, sigma, rc, shift: 0.0 };
        if energy_shift {
            let u = p.eval_unshifted(rc)[0];
            if let PairPot::LennardJones { shift, .. } = &mut p {
                *shift = u;
            }
        }
        Ok(p)
    }

    #[inline]
    fn eval_unshifted(&self, r: f64) -> [f64; 3] {
        match *self {
            PairPot::LennardJones { eps, sigma, .. } => {
                let ir = 1.0 / r;
                let s6 = (sigma * ir).powi(6);
                let s12 = s6 * s6;
                let u = 4.0 * eps * (s12 - s6);
                let du = 4.0 * eps * (-12.0 * s12 + 6.0 * s6) * ir;
                let d2u = 4.0 * eps * (156.0 * s12 - 42.0 * s6) * ir * ir;
                [u, du, d2u]
            }
        }
    }

    /// (U, dU/dr, d²U/dr²) at distance r; zeros at and beyond the cutoff.
    #[inline]
    pub fn eval(&self, r: f64) -> [f64; 3] {
        if r >= self.cutoff() {
            return [0.0; 3];
        }
        match *self {
            PairPot::LennardJones { shift, .. } => {
                let [u, du, d2u] = self.eval_unshifted(r);
                [u - shift, du, d2u]
            }
        }
    }

    #[inline]
    pub fn cutoff(&self) -> f64 {
        match *self {
            PairPot::LennardJones { rc, .. } => rc,
        }
    }
}

/// A multi-component pair model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: String,
    species: Vec<String>,
    masses: Vec<f64>,
    /// Row-major n×n, symmetric.
    pairs: Vec<PairPot>,
    /// Default number density and composition (mole fractions) of the model's standard state.
    pub density: f64,
    pub composition: Vec<f64>,
}

impl Model {
    /// Build from species, masses and the upper triangle of pair potentials listed as
    /// (0,0), (0,1), …, (0,n−1), (1,1), …
    pub fn new(
        name: &str,
        species: Vec<String>,
        masses: Vec<f64>,
        upper: Vec<PairPot>,
        density: f64,
        composition: Vec<f64>,
    ) -> Result<Self> {
        let n = species.len();
        if n == 0 {
            return Err(invalid!("a model needs at least one species"));
        }
        if masses.len() != n || composition.len() != n {
            return Err(invalid!("model '{name}': {n} species but {} masses and {} composition entries", masses.len(), composition.len()));
        }
        if let Some(m) = masses.iter().find(|m| !(**m > 0.0 && m.is_finite())) {
            return Err(invalid!("model '{name}': masses must be positive, got {m}"));
        }
        if upper.len() != n * (n + 1) / 2 {
            return Err(invalid!("model '{name}': {n} species need {} pair potentials, got {}", n * (n + 1) / 2, upper.len()));
        }
        let mut pairs = vec![upper[0].clone(); n * n];
        let mut k = 0;
        for a in 0..n {
            for b in a..n {
                pairs[a * n + b] = upper[k].clone();
                pairs[b * n + a] = upper[k].clone();
                k += 1;
            }
        }
        Ok(Model { name: name.to_string(), species, masses, pairs, density, composition })
    }

    /// Kob–Andersen 80:20 binary LJ (SPEC §1): cut at 2.5σ_uv, energy-shifted.
    pub fn kob_andersen() -> Self {
        let p = |e: f64, s: f64| PairPot::lennard_jones(e, s, 2.5 * s, true).expect("valid KA parameters");
        Model::new(
            "kob_andersen",
            vec!["A".into(), "B".into()],
            vec![1.0, 1.0],
            vec![p(1.0, 1.0), p(1.5, 0.8), p(0.5, 0.88)],
            1.2,
            vec![0.8, 0.2],
        )
        .expect("valid KA model")
    }

    #[inline]
    pub fn n_species(&self) -> usize {
        self.species.len()
    }
    pub fn species(&self) -> &[String] {
        &self.species
    }
    pub fn masses(&self) -> &[f64] {
        &self.masses
    }
    #[inline]
    pub fn pair(&self, a: u32, b: u32) -> &PairPot {
        &self.pairs[a as usize * self.species.len() + b as usize]
    }
    /// (U, U′, U″) of the (a, b) interaction at distance r.
    #[inline]
    pub fn eval(&self, a: u32, b: u32, r: f64) -> [f64; 3] {
        self.pair(a, b).eval(r)
    }
    #[inline]
    pub fn cutoff(&self, a: u32, b: u32) -> f64 {
        self.pair(a, b).cutoff()
    }
    pub fn max_cutoff(&self) -> f64 {
        self.pairs.iter().map(|p| p.cutoff()).fold(0.0, f64::max)
    }
    /// Error naming the first particle whose species index the model does not know.
    pub fn check_types(&self, types: &[u32]) -> Result<()> {
        if let Some((i, t)) = types.iter().enumerate().find(|(_, &t)| t as usize >= self.species.len()) {
            return Err(invalid!(
                "particle {i} has species index {t}, but model '{}' has species {:?}",
                self.name, self.species
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ka_energy_shift_and_derivatives() {
        let m = Model::kob_andersen();
        // continuous at the cutoff
        assert!(m.eval(0, 1, 2.0 - 1e-12)[0].abs() < 1e-9);
        assert_eq!(m.eval(0, 1, 2.0), [0.0; 3]);
        // minimum of AA at 2^(1/6)
        let rm = 2f64.powf(1.0 / 6.0);
        assert!(m.eval(0, 0, rm)[1].abs() < 1e-12);
        // finite differences
        for &(a, b) in &[(0u32, 0u32), (0, 1), (1, 1)] {
            for &r in &[0.8, 1.0, 1.3, 1.9] {
                let h = 1e-6;
                let [_, du, d2u] = m.eval(a, b, r);
                let fd1 = (m.eval(a, b, r + h)[0] - m.eval(a, b, r - h)[0]) / (2.0 * h);
                let fd2 = (m.eval(a, b, r + h)[1] - m.eval(a, b, r - h)[1]) / (2.0 * h);
                assert!((du - fd1).abs() < 1e-6 * du.abs().max(1.0), "{a}{b} {r}");
                assert!((d2u - fd2).abs() < 1e-6 * d2u.abs().max(1.0), "{a}{b} {r}");
            }
        }
    }
}
