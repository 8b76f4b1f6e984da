//! Pair-potential models (definitions §1). A [`Model`] holds species, masses and one
//! [`PairPot`] per unordered species pair; `eval` returns (U, U′, U″) at a distance r,
//! the single definition shared by MD, minimisation, the Hessian and the structure code.
//!
//! Contract used by every other module (keep it stable):
//! `Model::eval(a, b, r) -> [f64; 3]`, `Model::cutoff(a, b)`, `Model::max_cutoff()`,
//! `Model::n_species()`, `Model::species()`, `Model::masses()`, `Model::check_types(types)`.
//!
//! Built-in models: [`Model::kob_andersen`], [`Model::ka_wca`], [`Model::qp`],
//! [`Model::wahnstrom`], [`Model::ipl10`], [`Model::lj_mixture`], [`Model::table`].

use crate::error::Result;
use crate::invalid;
use crate::manybody::SwThreeBody;

/// How a Lennard-Jones pair is truncated at r_c.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift {
    /// Plain truncation: energy and force jump at r_c.
    None,
    /// U − U(r_c): energy continuous, force jumps.
    Energy,
    /// U − U(r_c) − (r − r_c) U′(r_c): energy and force continuous (LAMMPS `lj/smooth/linear`).
    Force,
}

impl Shift {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Shift::None),
            "energy" => Ok(Shift::Energy),
            "force" => Ok(Shift::Force),
            _ => Err(invalid!("unknown shift '{s}': expected one of 'none', 'energy', 'force'")),
        }
    }
}

/// One pair interaction. U = 0 for r ≥ cutoff.
#[derive(Debug, Clone, PartialEq)]
pub enum PairPot {
    /// 4ε[(σ/r)¹² − (σ/r)⁶] − shift − dshift·(r − rc) for r < rc.
    LennardJones { eps: f64, sigma: f64, rc: f64, shift: f64, dshift: f64 },
    /// LAMMPS `nm/cut` form plus quadratic smoothing:
    /// ε/(q−p)·[p (r_m/r)^q − q (r_m/r)^p] + c1 r² + c2 for r < rc.
    Nm { eps: f64, rm: f64, q: f64, p: f64, rc: f64, c1: f64, c2: f64 },
    /// Inverse power law with even-polynomial smoothing:
    /// ε[(λ/r)^n + Σ_{l=0..3} c_l (r/λ)^{2l}] for r < rc.
    Ipl { eps: f64, lambda: f64, n: i32, rc: f64, c: [f64; 4] },
    /// Tabulated U with U′ at the nodes r_k (strictly increasing); piecewise cubic Hermite
    /// interpolation (U and U′ exact at the nodes, C¹). U = 0 for r ≥ rc = last node.
    /// Below the first node the first cubic is extrapolated.
    Table { r: Vec<f64>, u: Vec<f64>, du: Vec<f64> },
    /// Sticky spheres (González-López, Shivam, Zheng, Pica Ciamarra & Lerner 2021), x = r/σ:
    /// 4ε[x⁻¹² − x⁻⁶] for x < x_min = 2^{1/6} (the Lennard-Jones repulsion and well bottom), and
    /// ε[a x⁻¹² − b x⁻⁶ + c0 + c2 x² + c4 x⁴ + c6 x⁶] for x_min ≤ x < x_c, with a, b, c0…c6 such
    /// that U, U′ and U″ are continuous at x_min and vanish at x_c (a short-ranged, stiff
    /// attraction).
    Sticky { eps: f64, sigma: f64, rc: f64, ab: [f64; 2], c: [f64; 4] },
    /// The two-body term of Stillinger–Weber (LAMMPS `pair_style sw` parameters):
    /// Aε [B (σ/r)^p − (σ/r)^q] exp(σ/(r − aσ)) for r < aσ; every derivative vanishes at aσ.
    Sw2 { eps: f64, sigma: f64, a: f64, big_a: f64, big_b: f64, p: f64, q: f64 },
}

/// Solve a small dense linear system with partial pivoting (in place).
fn solve_dense<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Result<[f64; N]> {
    for col in 0..N {
        let piv = (col..N)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .unwrap_or(col);
        if a[piv][col].abs() < 1e-300 {
            return Err(invalid!("singular linear system while computing smoothing coefficients"));
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for row in col + 1..N {
            let f = a[row][col] / a[col][col];
            for k in col..N {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; N];
    for row in (0..N).rev() {
        let mut s = b[row];
        for k in row + 1..N {
            s -= a[row][k] * x[k];
        }
        x[row] = s / a[row][row];
    }
    Ok(x)
}

impl PairPot {
    /// Lennard-Jones cut at `rc`; `energy_shift` subtracts U(rc) so U is continuous.
    pub fn lennard_jones(eps: f64, sigma: f64, rc: f64, energy_shift: bool) -> Result<Self> {
        Self::lennard_jones_shifted(eps, sigma, rc, if energy_shift { Shift::Energy } else { Shift::None })
    }

    /// Lennard-Jones cut at `rc` with the given truncation.
    pub fn lennard_jones_shifted(eps: f64, sigma: f64, rc: f64, shift: Shift) -> Result<Self> {
        if !(eps.is_finite() && sigma > 0.0 && sigma.is_finite() && rc > 0.0 && rc.is_finite()) {
            return Err(invalid!("Lennard-Jones needs finite ε, σ > 0 and r_c > 0; got ε={eps}, σ={sigma}, r_c={rc}"));
        }
        let mut p = PairPot::LennardJones { eps, sigma, rc, shift: 0.0, dshift: 0.0 };
        let [u, du, _] = p.eval_raw(rc);
        if let PairPot::LennardJones { shift: s, dshift: ds, .. } = &mut p {
            match shift {
                Shift::None => {}
                Shift::Energy => *s = u,
                Shift::Force => {
                    *s = u;
                    *ds = du;
                }
            }
        }
        Ok(p)
    }

    /// `nm/cut` (ε, r_m, exponents q > p) smoothed so U(rc) = U′(rc) = 0.
    pub fn nm_smoothed(eps: f64, rm: f64, q: f64, p: f64, rc: f64) -> Result<Self> {
        if !(eps.is_finite() && rm > 0.0 && rm.is_finite() && rc > 0.0 && rc.is_finite()) {
            return Err(invalid!("qp potential needs finite ε, r_m > 0 and r_c > 0; got ε={eps}, r_m={rm}, r_c={rc}"));
        }
        if !(q.is_finite() && p.is_finite() && q > p && p > 0.0) {
            return Err(invalid!("qp potential needs exponents q > p > 0; got q={q}, p={p}"));
        }
        let mut pot = PairPot::Nm { eps, rm, q, p, rc, c1: 0.0, c2: 0.0 };
        let [u, du, _] = pot.eval_raw(rc);
        let c1 = -du / (2.0 * rc);
        let c2 = -u - c1 * rc * rc;
        if let PairPot::Nm { c1: a, c2: b, .. } = &mut pot {
            *a = c1;
            *b = c2;
        }
        Ok(pot)
    }

    /// Inverse power law ε(λ/r)^n cut at rc = x_c·λ with the four even-polynomial terms
    /// chosen so U and its first three derivatives vanish at rc.
    pub fn ipl_smoothed(eps: f64, lambda: f64, n: i32, xc: f64) -> Result<Self> {
        if !(eps.is_finite() && lambda > 0.0 && lambda.is_finite() && xc > 0.0 && xc.is_finite() && n > 0) {
            return Err(invalid!("IPL needs finite ε, λ > 0, n > 0 and r_c/λ > 0; got ε={eps}, λ={lambda}, n={n}, r_c/λ={xc}"));
        }
        // Unknowns c0..c3 multiply x^0, x^2, x^4, x^6; equations: value and derivatives 1..3 at xc.
        let nf = n as f64;
        let x = xc;
        let a = [
            [1.0, x * x, x.powi(4), x.powi(6)],
            [0.0, 2.0 * x, 4.0 * x.powi(3), 6.0 * x.powi(5)],
            [0.0, 2.0, 12.0 * x * x, 30.0 * x.powi(4)],
            [0.0, 0.0, 24.0 * x, 120.0 * x.powi(3)],
        ];
        let b = [
            -x.powi(-n),
            nf * x.powi(-n - 1),
            -nf * (nf + 1.0) * x.powi(-n - 2),
            nf * (nf + 1.0) * (nf + 2.0) * x.powi(-n - 3),
        ];
        let c = solve_dense(a, b)?;
        Ok(PairPot::Ipl { eps, lambda, n, rc: xc * lambda, c })
    }

    /// Sticky-sphere potential of width σ cut at r_c = x_c·σ (x_c > 2^{1/6}): the six constants
    /// of the attractive branch from the six join conditions (U, U′, U″ equal to Lennard-Jones
    /// at x_min, zero at x_c). For x_c = 1.2·2^{1/6} (the "CSS" model) they are the published
    /// a = −106.991613526652, b = −304.918469059567, c0 = −939.388037994211,
    /// c2 = 1190.70962256002, c4 = −541.300131587551, c6 = 85.8684936914713 (to ~1e-12).
    pub fn sticky_spheres(eps: f64, sigma: f64, xc: f64) -> Result<Self> {
        let xm = 2f64.powf(1.0 / 6.0);
        if !(eps.is_finite() && sigma > 0.0 && sigma.is_finite() && xc.is_finite() && xc > xm * (1.0 + 1e-6)) {
            return Err(invalid!(
                "sticky spheres need finite ε, σ > 0 and a cutoff x_c = r_c/σ above x_min = 2^(1/6) ≈ {xm:.6}; got ε={eps}, σ={sigma}, x_c={xc}"
            ));
        }
        // unknowns (a, b, c0, c2, c4, c6) of a x⁻¹² − b x⁻⁶ + c0 + c2 x² + c4 x⁴ + c6 x⁶
        let rows = |x: f64| {
            [
                [x.powi(-12), -x.powi(-6), 1.0, x * x, x.powi(4), x.powi(6)],
                [-12.0 * x.powi(-13), 6.0 * x.powi(-7), 0.0, 2.0 * x, 4.0 * x.powi(3), 6.0 * x.powi(5)],
                [156.0 * x.powi(-14), -42.0 * x.powi(-8), 0.0, 2.0, 12.0 * x * x, 30.0 * x.powi(4)],
            ]
        };
        let (rm, rc) = (rows(xm), rows(xc));
        let a = [rm[0], rm[1], rm[2], rc[0], rc[1], rc[2]];
        let lj = |x: f64| [4.0 * (x.powi(-12) - x.powi(-6)), 4.0 * (-12.0 * x.powi(-13) + 6.0 * x.powi(-7)), 4.0 * (156.0 * x.powi(-14) - 42.0 * x.powi(-8))];
        let l = lj(xm);
        let k = solve_dense(a, [l[0], l[1], l[2], 0.0, 0.0, 0.0])?;
        Ok(PairPot::Sticky { eps, sigma, rc: xc * sigma, ab: [k[0], k[1]], c: [k[2], k[3], k[4], k[5]] })
    }

    /// Tabulated potential: nodes `r` (strictly increasing, > 0), energies `u` and
    /// derivatives `du` = dU/dr (i.e. −force). The cutoff is the last node.
    pub fn table(r: Vec<f64>, u: Vec<f64>, du: Vec<f64>) -> Result<Self> {
        if r.len() < 2 || u.len() != r.len() || du.len() != r.len() {
            return Err(invalid!(
                "a tabulated potential needs at least 2 nodes with as many energies and derivatives; got {} r, {} U, {} U′",
                r.len(),
                u.len(),
                du.len()
            ));
        }
        for k in 0..r.len() {
            if !(r[k].is_finite() && u[k].is_finite() && du[k].is_finite()) {
                return Err(invalid!("table entry {} is not finite: r={}, U={}, U′={}", k + 1, r[k], u[k], du[k]));
            }
            if !(r[k] > 0.0) || (k > 0 && !(r[k] > r[k - 1])) {
                return Err(invalid!("table distances must be positive and strictly increasing; entry {} has r={}", k + 1, r[k]));
            }
        }
        Ok(PairPot::Table { r, u, du })
    }

    /// Stillinger–Weber two-body term; see [`PairPot::Sw2`].
    pub fn sw2(eps: f64, sigma: f64, a: f64, big_a: f64, big_b: f64, p: f64, q: f64) -> Result<Self> {
        if ![eps, sigma, a, big_a, big_b, p, q].iter().all(|x| x.is_finite()) || !(sigma > 0.0 && a > 0.0) {
            return Err(invalid!(
                "Stillinger–Weber needs finite parameters with σ > 0 and a > 0; got ε={eps}, σ={sigma}, a={a}, A={big_a}, B={big_b}, p={p}, q={q}"
            ));
        }
        Ok(PairPot::Sw2 { eps, sigma, a, big_a, big_b, p, q })
    }

    /// (U, U′, U″) of the untruncated, unsmoothed form (LJ, nm) — used to set shifts.
    #[inline]
    fn eval_raw(&self, r: f64) -> [f64; 3] {
        match self {
            PairPot::LennardJones { eps, sigma, .. } => {
                let ir = 1.0 / r;
                let s6 = (sigma * ir).powi(6);
                let s12 = s6 * s6;
                let u = 4.0 * eps * (s12 - s6);
                let du = 4.0 * eps * (-12.0 * s12 + 6.0 * s6) * ir;
                let d2u = 4.0 * eps * (156.0 * s12 - 42.0 * s6) * ir * ir;
                [u, du, d2u]
            }
            PairPot::Nm { eps, rm, q, p, .. } => {
                let ir = 1.0 / r;
                let x = rm * ir;
                let xq = x.powf(*q);
                let xp = x.powf(*p);
                let pre = eps / (q - p);
                let u = pre * (p * xq - q * xp);
                let du = pre * p * q * (xp - xq) * ir;
                let d2u = pre * p * q * ((q + 1.0) * xq - (p + 1.0) * xp) * ir * ir;
                [u, du, d2u]
            }
            _ => [0.0; 3],
        }
    }

    /// (U, dU/dr, d²U/dr²) at distance r; zeros at and beyond the cutoff.
    #[inline]
    pub fn eval(&self, r: f64) -> [f64; 3] {
        if r >= self.cutoff() {
            return [0.0; 3];
        }
        match self {
            PairPot::LennardJones { rc, shift, dshift, .. } => {
                let [u, du, d2u] = self.eval_raw(r);
                [u - shift - dshift * (r - rc), du - dshift, d2u]
            }
            PairPot::Nm { c1, c2, .. } => {
                let [u, du, d2u] = self.eval_raw(r);
                [u + c1 * r * r + c2, du + 2.0 * c1 * r, d2u + 2.0 * c1]
            }
            PairPot::Ipl { eps, lambda, n, c, .. } => {
                let nf = *n as f64;
                let il = 1.0 / lambda;
                let x = r * il;
                let ix = 1.0 / x;
                let xn = ix.powi(*n);
                let x2 = x * x;
                let u = xn + c[0] + x2 * (c[1] + x2 * (c[2] + x2 * c[3]));
                let du = -nf * xn * ix + x * (2.0 * c[1] + x2 * (4.0 * c[2] + x2 * 6.0 * c[3]));
                let d2u = nf * (nf + 1.0) * xn * ix * ix + 2.0 * c[1] + x2 * (12.0 * c[2] + x2 * 30.0 * c[3]);
                [eps * u, eps * du * il, eps * d2u * il * il]
            }
            PairPot::Sticky { eps, sigma, ab, c, .. } => {
                let is = 1.0 / sigma;
                let x = r * is;
                let ix = 1.0 / x;
                let x6 = ix.powi(6);
                let x12 = x6 * x6;
                let (u, du, d2u) = if x * x < 2f64.powf(1.0 / 3.0) {
                    (4.0 * (x12 - x6), 4.0 * (-12.0 * x12 + 6.0 * x6) * ix, 4.0 * (156.0 * x12 - 42.0 * x6) * ix * ix)
                } else {
                    let x2 = x * x;
                    (
                        ab[0] * x12 - ab[1] * x6 + c[0] + x2 * (c[1] + x2 * (c[2] + x2 * c[3])),
                        (-12.0 * ab[0] * x12 + 6.0 * ab[1] * x6) * ix + x * (2.0 * c[1] + x2 * (4.0 * c[2] + x2 * 6.0 * c[3])),
                        (156.0 * ab[0] * x12 - 42.0 * ab[1] * x6) * ix * ix + 2.0 * c[1] + x2 * (12.0 * c[2] + x2 * 30.0 * c[3]),
                    )
                };
                [eps * u, eps * du * is, eps * d2u * is * is]
            }
            PairPot::Sw2 { eps, sigma, a, big_a, big_b, p, q } => {
                let ir = 1.0 / r;
                let sp = (sigma * ir).powf(*p);
                let sq = (sigma * ir).powf(*q);
                let g = big_b * sp - sq;
                let g1 = (-p * big_b * sp + q * sq) * ir;
                let g2 = (p * (p + 1.0) * big_b * sp - q * (q + 1.0) * sq) * ir * ir;
                let x = r - a * sigma;
                let h = (sigma / x).exp();
                let h1 = -h * sigma / (x * x);
                let h2 = h * (sigma * sigma / (x * x * x * x) + 2.0 * sigma / (x * x * x));
                let pre = big_a * eps;
                [pre * g * h, pre * (g1 * h + g * h1), pre * (g2 * h + 2.0 * g1 * h1 + g * h2)]
            }
            PairPot::Table { r: rs, u, du } => {
                // interval k with rs[k] <= r < rs[k+1] (clamped to the first interval below)
                let k = match rs.partition_point(|&x| x <= r) {
                    0 => 0,
                    m => (m - 1).min(rs.len() - 2),
                };
                let h = rs[k + 1] - rs[k];
                let t = (r - rs[k]) / h;
                let (y0, y1, m0, m1) = (u[k], u[k + 1], du[k] * h, du[k + 1] * h);
                let t2 = t * t;
                let t3 = t2 * t;
                let h00 = 2.0 * t3 - 3.0 * t2 + 1.0;
                let h10 = t3 - 2.0 * t2 + t;
                let h01 = -2.0 * t3 + 3.0 * t2;
                let h11 = t3 - t2;
                let val = h00 * y0 + h10 * m0 + h01 * y1 + h11 * m1;
                let d1 = (6.0 * t2 - 6.0 * t) * y0 + (3.0 * t2 - 4.0 * t + 1.0) * m0 + (-6.0 * t2 + 6.0 * t) * y1 + (3.0 * t2 - 2.0 * t) * m1;
                let d2 = (12.0 * t - 6.0) * y0 + (6.0 * t - 4.0) * m0 + (-12.0 * t + 6.0) * y1 + (6.0 * t - 2.0) * m1;
                [val, d1 / h, d2 / (h * h)]
            }
        }
    }

    /// (U, −U′/r) from r² — the force kernel's inner call (no square root for LJ).
    /// Zero at and beyond the cutoff.
    #[inline]
    pub fn energy_force_r2(&self, r2: f64) -> (f64, f64) {
        match self {
            PairPot::LennardJones { eps, sigma, rc, shift, dshift } => {
                if r2 >= rc * rc {
                    return (0.0, 0.0);
                }
                let ir2 = 1.0 / r2;
                let s2 = sigma * sigma * ir2;
                let s6 = s2 * s2 * s2;
                let s12 = s6 * s6;
                let mut u = 4.0 * eps * (s12 - s6) - shift;
                let mut fr = 24.0 * eps * (2.0 * s12 - s6) * ir2;
                if *dshift != 0.0 {
                    let r = r2.sqrt();
                    u -= dshift * (r - rc);
                    fr += dshift / r;
                }
                (u, fr)
            }
            _ => {
                let r = r2.sqrt();
                let [u, du, _] = self.eval(r);
                (u, -du / r)
            }
        }
    }

    #[inline]
    pub fn cutoff(&self) -> f64 {
        match self {
            PairPot::LennardJones { rc, .. } | PairPot::Nm { rc, .. } | PairPot::Ipl { rc, .. } | PairPot::Sticky { rc, .. } => *rc,
            PairPot::Table { r, .. } => r[r.len() - 1],
            PairPot::Sw2 { sigma, a, .. } => a * sigma,
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
    /// The three-body term of a many-body model (Stillinger–Weber), None for pair models.
    pub three_body: Option<SwThreeBody>,
}

const KA_EPS: [f64; 3] = [1.0, 1.5, 0.5];
const KA_SIGMA: [f64; 3] = [1.0, 0.8, 0.88];

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
        if let Some(c) = composition.iter().find(|c| !(**c >= 0.0 && c.is_finite())) {
            return Err(invalid!("model '{name}': composition entries must be non-negative, got {c}"));
        }
        if !(density > 0.0 && density.is_finite()) {
            return Err(invalid!("model '{name}': density must be positive, got {density}"));
        }
        for (i, s) in species.iter().enumerate() {
            if species[..i].contains(s) {
                return Err(invalid!("model '{name}': species name '{s}' appears twice"));
            }
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
        Ok(Model { name: name.to_string(), species, masses, pairs, density, composition, three_body: None })
    }

    fn ab() -> Vec<String> {
        vec!["A".into(), "B".into()]
    }

    /// Kob–Andersen 80:20 binary LJ (definitions §1): cut at 2.5σ_uv, energy-shifted.
    pub fn kob_andersen() -> Self {
        let p = |k: usize| PairPot::lennard_jones(KA_EPS[k], KA_SIGMA[k], 2.5 * KA_SIGMA[k], true).expect("valid KA parameters");
        Model::new("kob_andersen", Self::ab(), vec![1.0, 1.0], vec![p(0), p(1), p(2)], 1.2, vec![0.8, 0.2]).expect("valid KA model")
    }

    /// KA parameters, WCA truncation: cut at 2^{1/6}σ_uv and shifted by +ε_uv.
    pub fn ka_wca() -> Self {
        let rc = 2f64.powf(1.0 / 6.0);
        let p = |k: usize| PairPot::lennard_jones(KA_EPS[k], KA_SIGMA[k], rc * KA_SIGMA[k], true).expect("valid WCA parameters");
        Model::new("ka_wca", Self::ab(), vec![1.0, 1.0], vec![p(0), p(1), p(2)], 1.2, vec![0.8, 0.2]).expect("valid KA-WCA model")
    }

    /// KA parameters with the (q, p) `nm/cut` form, r_m = 2^{1/6}σ_uv, r_c = 2.5σ_uv and
    /// the c1 r² + c2 smoothing (U(r_c) = U′(r_c) = 0).
    pub fn qp(q: f64, p: f64) -> Result<Self> {
        let rm = 2f64.powf(1.0 / 6.0);
        let mut upper = Vec::with_capacity(3);
        for k in 0..3 {
            upper.push(PairPot::nm_smoothed(KA_EPS[k], rm * KA_SIGMA[k], q, p, 2.5 * KA_SIGMA[k])?);
        }
        Model::new(&format!("qp({q},{p})"), Self::ab(), vec![1.0, 1.0], upper, 1.2, vec![0.8, 0.2])
    }

    /// Wahnström 50:50 LJ: ε = 1, σ_AA = 1, σ_BB = 10/12, σ_AB arithmetic mean; m_B = 0.5;
    /// cut at 2.5σ_uv, energy-shifted; ρ = 1.2959.
    pub fn wahnstrom() -> Self {
        let sbb = 10.0 / 12.0;
        let s = [1.0, 0.5 * (1.0 + sbb), sbb];
        let p = |k: usize| PairPot::lennard_jones(1.0, s[k], 2.5 * s[k], true).expect("valid Wahnström parameters");
        Model::new("wahnstrom", Self::ab(), vec![1.0, 0.5], vec![p(0), p(1), p(2)], 1.2959, vec![0.5, 0.5]).expect("valid Wahnström model")
    }

    /// 50:50 inverse-power-law (n = 10) mixture: λ_AA 1, λ_AB 1.18, λ_BB 1.4, ε 1,
    /// r_c = 1.48λ with value and first three derivatives zero at r_c; ρ = 0.82.
    pub fn ipl10() -> Self {
        let l = [1.0, 1.18, 1.4];
        let p = |k: usize| PairPot::ipl_smoothed(1.0, l[k], 10, 1.48).expect("valid IPL parameters");
        Model::new("ipl10", Self::ab(), vec![1.0, 1.0], vec![p(0), p(1), p(2)], 0.82, vec![0.5, 0.5]).expect("valid IPL model")
    }

    /// Sticky spheres, 50:50, σ_AA 1, σ_AB 1.18, σ_BB 1.4, ε 1, masses 1, cut at x_c·σ_uv;
    /// ρ = 0.6 (the CSS state point of seed 003 Table I).
    pub fn sticky_spheres(xc: f64) -> Result<Self> {
        let s = [1.0, 1.18, 1.4];
        let p = |k: usize| PairPot::sticky_spheres(1.0, s[k], xc);
        Model::new(&format!("sticky_spheres({xc})"), Self::ab(), vec![1.0, 1.0], vec![p(0)?, p(1)?, p(2)?], 0.6, vec![0.5, 0.5])
    }

    /// Stillinger–Weber (one species "A", mass 1, ρ = 0.52 as in seed 003): the silicon
    /// parameters of Stillinger & Weber (A = 7.049556277, B = 0.6022245584, p = 4, q = 0,
    /// a = 1.8, γ = 1.2, cos θ0 = −1/3) with the three-body strength `lambda` (silicon: 21;
    /// the glass former of seed 003: 18.75), ε = σ = 1.
    pub fn stillinger_weber(lambda: f64) -> Result<Self> {
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(invalid!("Stillinger–Weber needs a finite three-body strength λ ≥ 0, got {lambda}"));
        }
        let two = PairPot::sw2(1.0, 1.0, 1.8, 7.049556277, 0.6022245584, 4.0, 0.0)?;
        let mut m = Model::new(&format!("stillinger_weber({lambda})"), vec!["A".into()], vec![1.0], vec![two], 0.52, vec![1.0])?;
        m.three_body = Some(SwThreeBody { lambda, eps: 1.0, gamma: 1.2, sigma: 1.0, a: 1.8, cos0: -1.0 / 3.0 });
        Ok(m)
    }

    /// Whether the model has terms beyond pairs (then per-pair quantities are undefined).
    pub fn is_many_body(&self) -> bool {
        self.three_body.is_some()
    }

    /// Error for a per-pair quantity (`what`) that has no meaning for a many-body model.
    pub fn require_pairwise(&self, what: &str) -> Result<()> {
        if self.is_many_body() {
            return Err(invalid!(
                "{what} is defined for pair potentials only; model '{}' has three-body terms",
                self.name
            ));
        }
        Ok(())
    }

    /// Generic LJ mixture: ε, σ and absolute r_c per unordered pair (upper triangle order).
    #[allow(clippy::too_many_arguments)]
    pub fn lj_mixture(
        name: &str,
        species: Vec<String>,
        masses: Vec<f64>,
        eps: &[f64],
        sigma: &[f64],
        rc: &[f64],
        shift: Shift,
        density: f64,
        composition: Vec<f64>,
    ) -> Result<Self> {
        let n = species.len();
        let np = n * (n + 1) / 2;
        if eps.len() != np || sigma.len() != np || rc.len() != np {
            return Err(invalid!(
                "lj_mixture '{name}': {n} species need {np} values of ε, σ and r_c (upper triangle); got {}, {}, {}",
                eps.len(),
                sigma.len(),
                rc.len()
            ));
        }
        let mut upper = Vec::with_capacity(np);
        for k in 0..np {
            upper.push(PairPot::lennard_jones_shifted(eps[k], sigma[k], rc[k], shift)?);
        }
        Model::new(name, species, masses, upper, density, composition)
    }

    /// Tabulated model: one (r, U, U′) table per unordered pair (upper triangle order).
    pub fn table(
        name: &str,
        species: Vec<String>,
        masses: Vec<f64>,
        tables: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)>,
        density: f64,
        composition: Vec<f64>,
    ) -> Result<Self> {
        let mut upper = Vec::with_capacity(tables.len());
        for (k, (r, u, du)) in tables.into_iter().enumerate() {
            upper.push(PairPot::table(r, u, du).map_err(|e| invalid!("model '{name}', pair table {k}: {e}"))?);
        }
        Model::new(name, species, masses, upper, density, composition)
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

    fn fd_check(m: &Model, rs: &[f64]) {
        let n = m.n_species() as u32;
        for a in 0..n {
            for b in a..n {
                for &r0 in rs {
                    let r = r0 * m.cutoff(a, b);
                    let h = 1e-6 * r;
                    let [_, du, d2u] = m.eval(a, b, r);
                    let fd1 = (m.eval(a, b, r + h)[0] - m.eval(a, b, r - h)[0]) / (2.0 * h);
                    let fd2 = (m.eval(a, b, r + h)[1] - m.eval(a, b, r - h)[1]) / (2.0 * h);
                    assert!((du - fd1).abs() < 1e-6 * du.abs().max(1.0), "{} {a}{b} r={r}: {du} vs {fd1}", m.name);
                    assert!((d2u - fd2).abs() < 1e-6 * d2u.abs().max(1.0), "{} {a}{b} r={r}: {d2u} vs {fd2}", m.name);
                    let (u, fr) = m.pair(a, b).energy_force_r2(r * r);
                    assert!((u - m.eval(a, b, r)[0]).abs() < 1e-13 * u.abs().max(1.0));
                    assert!((fr + du / r).abs() < 1e-12 * fr.abs().max(1.0));
                }
            }
        }
    }

    #[test]
    fn ka_energy_shift_and_derivatives() {
        let m = Model::kob_andersen();
        // continuous at the cutoff
        assert!(m.eval(0, 1, 2.0 - 1e-12)[0].abs() < 1e-9);
        assert_eq!(m.eval(0, 1, 2.0), [0.0; 3]);
        // minimum of AA at 2^(1/6)
        let rm = 2f64.powf(1.0 / 6.0);
        assert!(m.eval(0, 0, rm)[1].abs() < 1e-12);
        fd_check(&m, &[0.35, 0.4, 0.52, 0.76]);
    }

    #[test]
    fn all_models_derivatives() {
        for m in [Model::ka_wca(), Model::qp(12.0, 6.0).unwrap(), Model::qp(18.0, 6.0).unwrap(), Model::wahnstrom(), Model::ipl10()] {
            fd_check(&m, &[0.45, 0.6, 0.8, 0.95, 0.999]);
        }
    }

    #[test]
    fn wca_is_plus_eps_shifted() {
        let m = Model::ka_wca();
        let r = 0.85;
        let lj = 4.0 * 1.5 * ((0.8f64 / r).powi(12) - (0.8f64 / r).powi(6));
        assert!((m.eval(0, 1, r)[0] - (lj + 1.5)).abs() < 1e-12);
    }

    #[test]
    fn qp_smoothing_and_lj_limit() {
        let m = Model::qp(12.0, 6.0).unwrap();
        for (a, b) in [(0, 0), (0, 1), (1, 1)] {
            let rc = m.cutoff(a, b);
            let [u, du, _] = m.eval(a, b, rc * (1.0 - 1e-12));
            assert!(u.abs() < 1e-10 && du.abs() < 1e-9, "{u} {du}");
        }
        // (12,6) nm without smoothing is exactly LJ: check the raw part
        if let PairPot::Nm { c1, c2, .. } = m.pair(0, 0) {
            let r: f64 = 1.1;
            let lj = 4.0 * ((1.0 / r).powi(12) - (1.0 / r).powi(6));
            assert!((m.eval(0, 0, r)[0] - c1 * r * r - c2 - lj).abs() < 1e-12);
        } else {
            panic!("qp is not Nm");
        }
    }

    #[test]
    fn ipl_smoothing_vanishes() {
        let m = Model::ipl10();
        for (a, b) in [(0, 0), (0, 1), (1, 1)] {
            let rc = m.cutoff(a, b);
            let r = rc * (1.0 - 1e-9);
            let [u, du, d2u] = m.eval(a, b, r);
            assert!(u.abs() < 1e-12 && du.abs() < 1e-10 && d2u.abs() < 1e-7, "{u} {du} {d2u}");
            // third derivative ~ 0 : FD of U″ near rc
            let h = 1e-5 * rc;
            let d3 = (m.eval(a, b, rc - h)[2] - m.eval(a, b, rc - 3.0 * h)[2]) / (2.0 * h);
            assert!(d3.abs() < 1e-2, "{d3}");
        }
    }

    #[test]
    fn force_shift_is_continuous() {
        let m = Model::lj_mixture("x", vec!["A".into()], vec![1.0], &[1.0], &[1.0], &[2.5], Shift::Force, 1.0, vec![1.0]).unwrap();
        let [u, du, _] = m.eval(0, 0, 2.5 - 1e-12);
        assert!(u.abs() < 1e-12 && du.abs() < 1e-12);
        fd_check(&m, &[0.4, 0.7, 0.99]);
    }

    #[test]
    fn table_reproduces_nodes_and_converges() {
        let ka = Model::kob_andersen();
        let n = 2000;
        let r: Vec<f64> = (0..n).map(|k| 0.7 + (2.5 - 0.7) * k as f64 / (n - 1) as f64).collect();
        let u: Vec<f64> = r.iter().map(|&x| ka.eval(0, 0, x.min(2.5 - 1e-15))[0]).collect();
        let du: Vec<f64> = r.iter().map(|&x| ka.eval(0, 0, x.min(2.5 - 1e-15))[1]).collect();
        let t = PairPot::table(r.clone(), u.clone(), du.clone()).unwrap();
        assert_eq!(t.eval(r[10])[0], u[10]);
        let x = 1.2345;
        let e = t.eval(x);
        let w = ka.eval(0, 0, x);
        assert!((e[0] - w[0]).abs() < 1e-9 && (e[1] - w[1]).abs() < 1e-6, "{e:?} {w:?}");
        assert!(PairPot::table(vec![1.0, 0.5], vec![0.0, 0.0], vec![0.0, 0.0]).is_err());
    }

    #[test]
    fn sticky_spheres_constants_joins_and_derivatives() {
        let xm = 2f64.powf(1.0 / 6.0);
        let PairPot::Sticky { ab, c, rc, .. } = PairPot::sticky_spheres(1.0, 1.0, 1.2 * xm).unwrap() else { panic!() };
        // the published constants of the CSS model (x_c = 1.2·2^{1/6})
        let published = [-106.991613526652, -304.918469059567, -939.388037994211, 1190.70962256002, -541.300131587551, 85.8684936914713];
        for (got, want) in [ab[0], ab[1], c[0], c[1], c[2], c[3]].iter().zip(published) {
            assert!((got / want - 1.0).abs() < 1e-11, "{got} vs {want}");
        }
        assert!((rc - 1.2 * xm).abs() < 1e-15);
        let m = Model::sticky_spheres(1.2 * xm).unwrap();
        for (a, b, s) in [(0u32, 0u32, 1.0), (0, 1, 1.18), (1, 1, 1.4)] {
            // U, U′, U″ continuous at x_min (one ulp either side), zero at x_c
            let (lo, hi) = (m.eval(a, b, xm * s * (1.0 - 1e-13)), m.eval(a, b, xm * s * (1.0 + 1e-13)));
            for k in 0..3 {
                assert!((lo[k] - hi[k]).abs() < 1e-9 * lo[k].abs().max(1.0), "{a}{b} derivative {k}: {lo:?} {hi:?}");
            }
            assert!((lo[0] + 1.0).abs() < 1e-9 && lo[1].abs() < 1e-9);
            let end = m.eval(a, b, 1.2 * xm * s * (1.0 - 1e-12));
            assert!(end.iter().all(|v| v.abs() < 1e-8), "{a}{b} at r_c: {end:?}");
            assert_eq!(m.eval(a, b, 1.2 * xm * s), [0.0; 3]);
        }
        fd_check(&m, &[0.6, 0.8, 0.9, 0.95, 0.99]);
        assert!(PairPot::sticky_spheres(1.0, 1.0, 1.1).is_err());
    }

    #[test]
    fn bad_parameters() {
        assert!(Model::qp(6.0, 12.0).is_err());
        assert!(PairPot::lennard_jones(1.0, -1.0, 2.5, true).is_err());
        assert!(Shift::parse("both").is_err());
    }
}
