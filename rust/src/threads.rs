//! One thread policy for every kernel (the freud `parallel` idea).
//!
//! * A **process default**, set with [`set_default`] (Python: `glassrs.set_num_threads(n)` or the
//!   `glassrs.threads(n)` context manager). `None` means rayon's global pool: all cores, or
//!   `RAYON_NUM_THREADS` when that is set before the first parallel call.
//! * A **per-call** `n_threads: Option<usize>` with one meaning everywhere: `None` = the process
//!   default, `Some(n)` = exactly `n` threads. Zero, and more than [`max_threads`], are errors.
//! * **Cached pools per size**: a kernel called a thousand times with `n_threads = 2` starts
//!   two threads once, not a thousand times. A pool is lent to one call at a time, so callers
//!   running at the same moment (isoconfigurational replicas on several Python threads, each
//!   with `n_threads = 1`) get pools of their own instead of queueing on one; the number of
//!   pools of a size is the largest number of simultaneous callers seen.
//!
//! Results of the kernels do not depend on the thread count except through the order of
//! floating-point sums where a kernel documents it (MD and FIRE split their force loop into a
//! fixed number of chunks so that they are bitwise independent of it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};

/// The process default: 0 = rayon's global pool.
static DEFAULT: AtomicUsize = AtomicUsize::new(0);

/// Idle pools per size.
fn pools() -> &'static Mutex<HashMap<usize, Vec<Arc<rayon::ThreadPool>>>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Vec<Arc<rayon::ThreadPool>>>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A pool lent to one call; returned to the idle list when dropped (also on unwinding).
struct Lent {
    n: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let (Some(p), Ok(mut map)) = (self.pool.take(), pools().lock()) {
            map.entry(self.n).or_default().push(p);
        }
    }
}

/// Cores available to this process (at least 1).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The largest accepted thread count: 8 per available core (more only oversubscribes; a
/// typo such as `n_threads=10**6` is refused instead of spawning threads until the OS fails).
pub fn max_threads() -> usize {
    8 * available_cores()
}

/// Check an explicit thread count: 1 ≤ n ≤ [`max_threads`].
pub fn check(n: usize) -> Result<usize> {
    let max = max_threads();
    if n == 0 || n > max {
        return Err(Error::Invalid(format!(
            "n_threads must be None (the process default) or an integer from 1 to {max} (8 per core), got {n}"
        )));
    }
    Ok(n)
}

/// Set the process default (`None`: rayon's global pool, all cores).
pub fn set_default(n: Option<usize>) -> Result<()> {
    let v = match n {
        Some(n) => check(n)?,
        None => 0,
    };
    DEFAULT.store(v, Ordering::SeqCst);
    Ok(())
}

/// The process default as set (`None`: rayon's global pool).
pub fn default_setting() -> Option<usize> {
    match DEFAULT.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// The number of threads a call with `n_threads` runs on.
pub fn effective(n_threads: Option<usize>) -> Result<usize> {
    match n_threads.map(check).transpose()?.or_else(default_setting) {
        Some(n) => Ok(n),
        None => Ok(rayon::current_num_threads()),
    }
}

/// An idle pool of `n` threads, or a new one when every pool of that size is in use.
fn lend(n: usize) -> Result<Lent> {
    let idle = pools()
        .lock()
        .map_err(|_| Error::Invalid("thread-pool cache lock poisoned".into()))?
        .get_mut(&n)
        .and_then(|v| v.pop());
    let p = match idle {
        Some(p) => p,
        None => Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(move |i| format!("glassrs-{n}-{i}"))
                .build()
                .map_err(|e| Error::Invalid(format!("cannot start {n} threads: {e}")))?,
        ),
    };
    Ok(Lent { n, pool: Some(p) })
}

/// Run `f` on the pool that `n_threads` selects (see the module doc).
pub fn install<T: Send>(n_threads: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match n_threads.map(check).transpose()?.or_else(default_setting) {
        None => Ok(f()),
        Some(n) => {
            let lent = lend(n)?;
            let out = lent.pool.as_ref().expect("a lent pool").install(f);
            drop(lent);
            Ok(out)
        }
    }
}

/// [`install`] for a fallible `f`: one `Result` for both the pool and the kernel.
pub fn try_install<T: Send>(n_threads: Option<usize>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    install(n_threads, f)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_counts_run_on_exactly_that_many_threads() {
        for n in [1, 2, 3] {
            assert_eq!(install(Some(n), rayon::current_num_threads).unwrap(), n);
            assert_eq!(effective(Some(n)).unwrap(), n);
        }
    }

    #[test]
    fn pools_are_reused_one_caller_at_a_time() {
        let a = lend(3).unwrap();
        let pa = a.pool.clone().unwrap();
        // a second caller at the same moment gets a pool of its own
        let b = lend(3).unwrap();
        assert!(!Arc::ptr_eq(&pa, b.pool.as_ref().unwrap()));
        drop(b);
        drop(a);
        // later callers reuse the idle pools instead of starting threads again
        let c = lend(3).unwrap();
        let d = lend(3).unwrap();
        let idle = [pa.as_ref() as *const _, c.pool.as_ref().unwrap().as_ref() as *const _, d.pool.as_ref().unwrap().as_ref() as *const _];
        assert!(idle[0] == idle[1] || idle[0] == idle[2]);
        // two threads running at once each see their own single thread
        let (x, y) = std::thread::scope(|s| {
            let h1 = s.spawn(|| install(Some(1), || std::thread::current().name().map(String::from)).unwrap());
            let h2 = s.spawn(|| install(Some(1), || std::thread::current().name().map(String::from)).unwrap());
            (h1.join().unwrap(), h2.join().unwrap())
        });
        assert!(x.is_some() && y.is_some());
    }

    #[test]
    fn zero_and_absurd_counts_are_refused() {
        assert!(matches!(install(Some(0), || ()), Err(Error::Invalid(_))));
        assert!(matches!(install(Some(max_threads() + 1), || ()), Err(Error::Invalid(_))));
        assert!(set_default(Some(0)).is_err());
    }
}
