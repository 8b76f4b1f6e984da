//! Lag grouping. A lag is `t[target] − t[origin]`; pairs with the same lag are averaged
//! together. Lags are keyed either by integer timesteps (exact) or by float times, which are
//! merged when they differ by at most `tol` (robust to float noise such as 0.1 + 0.2).

use crate::error::Result;
use crate::invalid;

/// Pairs grouped by lag, CSR layout: the pairs of group `g` are `order[offsets[g]..offsets[g+1]]`
/// (indices into the input pair list), its lag key is `keys[g]` (the smallest key in the group).
#[derive(Debug, Clone, PartialEq)]
pub struct LagGroups {
    pub keys: Vec<f64>,
    pub offsets: Vec<usize>,
    pub order: Vec<usize>,
}

impl LagGroups {
    pub fn n_groups(&self) -> usize {
        self.keys.len()
    }
    /// Group index of every input entry.
    pub fn group_of(&self) -> Vec<usize> {
        let mut g = vec![0; self.order.len()];
        for k in 0..self.n_groups() {
            for &p in &self.order[self.offsets[k]..self.offsets[k + 1]] {
                g[p] = k;
            }
        }
        g
    }
}

/// Group lag keys: sort them, then start a new group whenever a key exceeds the first key of
/// the current group by more than `tol` (`tol = 0` groups exactly equal keys only). Sorting is
/// stable, so within a group the entries keep their input order.
pub fn group_lags(lags: &[f64], tol: f64) -> Result<LagGroups> {
    if !(tol >= 0.0) || !tol.is_finite() {
        return Err(invalid!("lag tolerance must be finite and ≥ 0, got {tol}"));
    }
    if let Some(i) = lags.iter().position(|l| !l.is_finite()) {
        return Err(invalid!("lag {i} is not finite ({})", lags[i]));
    }
    let mut order: Vec<usize> = (0..lags.len()).collect();
    order.sort_by(|&a, &b| lags[a].total_cmp(&lags[b]));
    let mut keys = Vec::new();
    let mut offsets = vec![0];
    let mut first = f64::NAN;
    for (pos, &i) in order.iter().enumerate() {
        let l = lags[i];
        if keys.is_empty() || l - first > tol {
            if !keys.is_empty() {
                offsets.push(pos);
            }
            keys.push(l);
            first = l;
        }
    }
    offsets.push(order.len());
    if lags.is_empty() {
        offsets = vec![0];
    }
    Ok(LagGroups { keys, offsets, order })
}

/// All (origin, target) frame pairs with target ≥ origin for the given origins, optionally
/// limited to `target − origin ≤ max_frame_lag` frames.
pub fn all_pairs(n_frames: usize, origins: &[u32], max_frame_lag: Option<usize>) -> Result<Vec<[u32; 2]>> {
    let mut out = Vec::new();
    for &o in origins {
        if o as usize >= n_frames {
            return Err(invalid!("origin frame {o} is out of range for {n_frames} frames"));
        }
        let end = match max_frame_lag {
            Some(m) => (o as usize + m + 1).min(n_frames),
            None => n_frames,
        };
        for t in o as usize..end {
            out.push([o, t as u32]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_float_noise_together() {
        let lags = [0.30000000000000004, 0.0, 0.3, 0.1, 0.29999999999999999, 0.2];
        let g = group_lags(&lags, 1e-9).unwrap();
        assert_eq!(g.keys, vec![0.0, 0.1, 0.2, 0.3]);
        assert_eq!(g.offsets, vec![0, 1, 2, 3, 6]);
        let gi = g.group_of();
        assert_eq!(gi, vec![3, 0, 3, 1, 3, 2]);
    }

    #[test]
    fn exact_grouping_with_zero_tolerance() {
        let g = group_lags(&[2.0, 1.0, 2.0, 3.0], 0.0).unwrap();
        assert_eq!(g.keys, vec![1.0, 2.0, 3.0]);
        assert_eq!(g.order, vec![1, 0, 2, 3]);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(group_lags(&[f64::NAN], 0.0).is_err());
        assert!(group_lags(&[1.0], -1.0).is_err());
        assert!(all_pairs(3, &[3], None).is_err());
        assert_eq!(all_pairs(3, &[0, 2], Some(1)).unwrap(), vec![[0, 0], [0, 1], [2, 2]]);
        assert!(group_lags(&[], 0.0).unwrap().keys.is_empty());
    }
}
