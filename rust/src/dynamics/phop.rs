//! Cage-jump indicator p_hop (Candelier et al.; SPEC §3):
//!
//! p_hop(i, t) = sqrt( ⟨(r_i − ⟨r_i⟩_U)²⟩_V · ⟨(r_i − ⟨r_i⟩_V)²⟩_U ),
//!
//! U = frames with times in [t − Δt/2, t], V = frames in [t, t + Δt/2] (both include t);
//! units length². Only frames whose full window lies inside the trajectory are evaluated.
//! Window membership uses a tolerance `tol` on times (float noise).

use rayon::prelude::*;

use super::check_chunk;
use crate::error::Result;
use crate::invalid;
use crate::monitor::Monitor;
use crate::simbox::Vec3;

/// Result: the evaluated frames and `values[r * n + i]` for frame `frames[r]`, particle `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Phop {
    pub frames: Vec<u32>,
    pub values: Vec<f64>,
}

/// Window index ranges ([lo, k] for U, [k, hi] for V) of every frame whose full window fits.
pub fn windows(times: &[f64], window: f64, tol: f64) -> Result<Vec<(usize, usize, usize)>> {
    if !(window > 0.0 && window.is_finite()) {
        return Err(invalid!("p_hop window must be finite and > 0, got {window}"));
    }
    if times.windows(2).any(|w| !(w[1] > w[0])) {
        return Err(invalid!("p_hop needs strictly increasing frame times"));
    }
    let h = 0.5 * window;
    let (t0, t1) = (times[0], times[times.len() - 1]);
    let mut out = Vec::new();
    for (k, &t) in times.iter().enumerate() {
        if t - h < t0 - tol || t + h > t1 + tol {
            continue;
        }
        let lo = times.partition_point(|&x| x < t - h - tol);
        let hi = times.partition_point(|&x| x <= t + h + tol) - 1;
        out.push((lo, k, hi));
    }
    Ok(out)
}

/// p_hop of every particle of the chunk at every frame whose window fits in the trajectory.
pub fn phop(pos: &[Vec3], n: usize, times: &[f64], window: f64, tol: f64, monitor: &dyn Monitor) -> Result<Phop> {
    let species = vec![0u32; n];
    let n_frames = check_chunk(pos, n, &species, 1)?;
    if times.len() != n_frames {
        return Err(invalid!("{} frame times for {n_frames} frames", times.len()));
    }
    let wins = windows(times, window, tol)?;
    if wins.is_empty() {
        return Err(invalid!(
            "the p_hop window Δt = {window} is longer than the trajectory ({} time units); no frame has a full window",
            times[n_frames - 1] - times[0]
        ));
    }
    if let Some(&(lo, k, hi)) = wins.iter().find(|(lo, k, hi)| k - lo < 1 || hi - k < 1) {
        return Err(invalid!(
            "the p_hop window Δt = {window} holds a single frame on one side of frame {k} (frames {lo}..={hi}); use a window of at least twice the frame spacing"
        ));
    }
    let mut values = vec![0.0; wins.len() * n];
    let total = wins.len();
    let mut done = 0;
    for (wblock, vblock) in wins.chunks(64).zip(values.chunks_mut(64 * n)) {
        wblock.par_iter().zip(vblock.par_chunks_mut(n)).for_each(|(&(lo, k, hi), row)| {
            let nu = (k - lo + 1) as f64;
            let nv = (hi - k + 1) as f64;
            for (i, v) in row.iter_mut().enumerate() {
                let mut mu = [0.0; 3];
                let mut mv = [0.0; 3];
                for f in lo..=k {
                    let p = &pos[f * n + i];
                    for c in 0..3 {
                        mu[c] += p[c];
                    }
                }
                for f in k..=hi {
                    let p = &pos[f * n + i];
                    for c in 0..3 {
                        mv[c] += p[c];
                    }
                }
                for c in 0..3 {
                    mu[c] /= nu;
                    mv[c] /= nv;
                }
                let mut a = 0.0; // ⟨(r − ⟨r⟩_U)²⟩_V
                for f in k..=hi {
                    let p = &pos[f * n + i];
                    a += (0..3).map(|c| (p[c] - mu[c]) * (p[c] - mu[c])).sum::<f64>();
                }
                let mut b = 0.0; // ⟨(r − ⟨r⟩_V)²⟩_U
                for f in lo..=k {
                    let p = &pos[f * n + i];
                    b += (0..3).map(|c| (p[c] - mv[c]) * (p[c] - mv[c])).sum::<f64>();
                }
                *v = ((a / nv) * (b / nu)).sqrt();
            }
        });
        done += wblock.len();
        monitor.progress(done, total)?;
    }
    Ok(Phop { frames: wins.iter().map(|w| w.1 as u32).collect(), values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Silent;

    #[test]
    fn window_ranges() {
        let t: Vec<f64> = (0..11).map(|k| k as f64 * 0.1).collect();
        let w = windows(&t, 0.4, 1e-9).unwrap();
        assert_eq!(w.first(), Some(&(0, 2, 4)));
        assert_eq!(w.last(), Some(&(6, 8, 10)));
        assert_eq!(w.len(), 7);
    }

    #[test]
    fn single_hop_height() {
        // particle at 0 for frames < 10, d/2 at frame 10, d after; window of m = 4 frames per side.
        let d = 2.0;
        let pos: Vec<Vec3> = (0..21)
            .map(|f| [if f < 10 { 0.0 } else if f == 10 { d / 2.0 } else { d }, 0.0, 0.0])
            .collect();
        let times: Vec<f64> = (0..21).map(|k| k as f64).collect();
        let r = phop(&pos, 1, &times, 8.0, 1e-9, &Silent).unwrap();
        let m = 4.0f64;
        let mu = d / (2.0 * (m + 1.0));
        let expected = ((d / 2.0 - mu).powi(2) + m * (d - mu).powi(2)) / (m + 1.0);
        let (imax, vmax) = r.values.iter().enumerate().fold((0, 0.0), |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc });
        assert_eq!(r.frames[imax], 10);
        assert!((vmax - expected).abs() < 1e-12 * expected);
        assert!(phop(&pos, 1, &times, 100.0, 1e-9, &Silent).is_err());
        assert!(phop(&pos, 1, &times, 1.0, 1e-9, &Silent).is_err());
    }
}
