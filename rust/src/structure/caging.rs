//! Mean-field caging potential in q space and the mean first-passage time (definitions §2.10).
//!
//! βΦ(Δr) = −(1/ρ) ∫ d³q/(2π)³ Σ_uv C_uv(q) √(x_u x_v) (S_uv(q) − δ_uv) e^{−q²Δr²/6},
//! C(q) = 1 − S(q)⁻¹ (species matrices), d³q = 4πq² dq, trapezoid rule over the given q grid
//! (which sets the truncation). `paper_units` drops the 1/ρ (as the seeds do).
//! τ_mfpt = ∫_0^{r_max} e^{βΦ(y)} dy ∫_0^y e^{−βΦ(z)} dz on the Δr grid (trapezoid, cumulative),
//! r_max the grid point where βΦ is largest.

use crate::error::Result;
use crate::invalid;

/// Invert a small dense matrix (row-major n×n) by Gauss–Jordan with partial pivoting.
pub fn invert(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut m = a.to_vec();
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    for c in 0..n {
        let p = (c..n).max_by(|&x, &y| m[x * n + c].abs().total_cmp(&m[y * n + c].abs()))?;
        if m[p * n + c].abs() < 1e-300 {
            return None;
        }
        for k in 0..n {
            m.swap(c * n + k, p * n + k);
            inv.swap(c * n + k, p * n + k);
        }
        let d = 1.0 / m[c * n + c];
        for k in 0..n {
            m[c * n + k] *= d;
            inv[c * n + k] *= d;
        }
        for r in 0..n {
            if r != c {
                let f = m[r * n + c];
                if f != 0.0 {
                    for k in 0..n {
                        m[r * n + k] -= f * m[c * n + k];
                        inv[r * n + k] -= f * inv[c * n + k];
                    }
                }
            }
        }
    }
    Some(inv)
}

/// βΦ on the grid `dr` from S_uv on the q grid `q` (layout `iq * ns² + u * ns + v`).
pub fn caging_potential(q: &[f64], s: &[f64], x: &[f64], rho: f64, dr: &[f64], paper_units: bool) -> Result<Vec<f64>> {
    let ns = x.len();
    let nq = q.len();
    if s.len() != nq * ns * ns {
        return Err(invalid!("S(q) has {} entries, expected {nq} q values × {ns}² species pairs", s.len()));
    }
    if nq < 2 {
        return Err(invalid!("the caging potential needs at least two q values"));
    }
    if q.windows(2).any(|w| !(w[1] > w[0])) || q[0] < 0.0 {
        return Err(invalid!("q values must be non-negative and strictly increasing"));
    }
    if !(rho > 0.0 && rho.is_finite()) {
        return Err(invalid!("density must be positive, got {rho}"));
    }
    // kernel K(q) = Σ_uv C_uv √(x_u x_v)(S_uv − δ_uv)
    let mut kern = vec![0.0; nq];
    for iq in 0..nq {
        let sm = &s[iq * ns * ns..(iq + 1) * ns * ns];
        if let Some(k) = sm.iter().position(|v| !v.is_finite()) {
            return Err(invalid!("S(q) is not finite at q = {} (pair {})", q[iq], k));
        }
        let si = invert(sm, ns).ok_or_else(|| invalid!("S(q) is singular at q = {}", q[iq]))?;
        let mut acc = 0.0;
        for u in 0..ns {
            for v in 0..ns {
                let c = f64::from(u8::from(u == v)) - si[u * ns + v];
                acc += c * (x[u] * x[v]).sqrt() * (sm[u * ns + v] - f64::from(u8::from(u == v)));
            }
        }
        kern[iq] = acc;
    }
    let pref = -1.0 / (2.0 * std::f64::consts::PI * std::f64::consts::PI) * if paper_units { 1.0 } else { 1.0 / rho };
    Ok(dr
        .iter()
        .map(|&d| {
            let f = |i: usize| q[i] * q[i] * kern[i] * (-q[i] * q[i] * d * d / 6.0).exp();
            let mut acc = 0.0;
            for i in 0..nq - 1 {
                acc += 0.5 * (q[i + 1] - q[i]) * (f(i) + f(i + 1));
            }
            pref * acc
        })
        .collect())
}

/// τ_mfpt (D0 = 1) and the index of r_max (the maximum of βΦ on the grid).
pub fn mfpt(dr: &[f64], phi: &[f64]) -> Result<(f64, usize)> {
    if dr.len() != phi.len() || dr.len() < 2 {
        return Err(invalid!("τ_mfpt needs matching Δr and βΦ grids of at least two points"));
    }
    let imax = (0..phi.len()).max_by(|&a, &b| phi[a].total_cmp(&phi[b])).unwrap_or(0);
    // inner(y_k) = ∫_0^{y_k} e^{−βΦ}
    let mut inner = 0.0;
    let mut outer = 0.0;
    let mut prev_integrand = f64::NAN;
    for k in 0..=imax {
        if k > 0 {
            let h = dr[k] - dr[k - 1];
            inner += 0.5 * h * ((-phi[k - 1]).exp() + (-phi[k]).exp());
            let integrand = phi[k].exp() * inner;
            outer += 0.5 * h * (prev_integrand + integrand);
            prev_integrand = integrand;
        } else {
            prev_integrand = phi[0].exp() * 0.0;
        }
    }
    Ok((outer, imax))
}
