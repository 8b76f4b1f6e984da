//! One thread policy for every kernel (the freud `parallel` idea).
//!
//! * A **process default**, set with [`set_default`] (Python: `glassrs.set_num_threads(n)` or the
//!   `glassrs.threads(n)` context manager). `None` means rayon's global pool: all cores, or
//!   `RAYON_NUM_THREADS` when that is set before the first parallel call.
//! * A **per-call** `n_threads: Option<usize>` with one meaning everywhere: `None` = the process
//!   default, `Some(n)` = exactly `n` threads. Zero, and more than [`max_threads`], are errors.
//! * **One cached pool per size**: a kernel called a thousand times with `n_threads = 2` starts
//!   two threads once, not a thousand times.
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

fn pools() -> &'static Mutex<HashMap<usize, Arc<rayon::ThreadPool>>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
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

/// The cached pool of `n` threads (built on first use).
fn pool(n: usize) -> Result<Arc<rayon::ThreadPool>> {
    let mut map = pools().lock().map_err(|_| Error::Invalid("thread-pool cache lock poisoned".into()))?;
    if let Some(p) = map.get(&n) {
        return Ok(p.clone());
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(move |i| format!("glassrs-{n}-{i}"))
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start {n} threads: {e}")))?;
    let p = Arc::new(p);
    map.insert(n, p.clone());
    Ok(p)
}

/// Run `f` on the pool that `n_threads` selects (see the module doc).
pub fn install<T: Send>(n_threads: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match n_threads.map(check).transpose()?.or_else(default_setting) {
        None => Ok(f()),
        Some(n) => Ok(pool(n)?.install(f)),
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
    fn pools_are_cached_per_size() {
        let a = pool(3).unwrap();
        let b = pool(3).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn zero_and_absurd_counts_are_refused() {
        assert!(matches!(install(Some(0), || ()), Err(Error::Invalid(_))));
        assert!(matches!(install(Some(max_threads() + 1), || ()), Err(Error::Invalid(_))));
        assert!(set_default(Some(0)).is_err());
    }
}
