//! Progress reporting and cancellation for long computations.
//!
//! Kernels call [`Monitor::progress`] from the *calling* thread between chunks of work
//! (never from inside rayon workers), so the Python implementation can check for Ctrl-C
//! and update a progress bar. An `Err` return (normally [`Error::Interrupted`]) stops the
//! kernel, which propagates it unchanged.

use crate::error::{Error, Result};

pub trait Monitor: Sync {
    /// `done` units of `total` are finished. Return `Err` to abort.
    fn progress(&self, done: usize, total: usize) -> Result<()>;

    /// True once the computation should stop (Ctrl-C). Cheap (an atomic load): kernels may call
    /// it from worker threads inside long loops, between [`Monitor::progress`] reports.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Only the cancellation of another monitor: for work done inside worker threads (no
/// progress reports, no Python), which stops with [`Error::Interrupted`] once `0` is cancelled.
pub struct CancelOnly<'a>(pub &'a dyn Monitor);

impl Monitor for CancelOnly<'_> {
    fn progress(&self, _done: usize, _total: usize) -> Result<()> {
        if self.0.cancelled() {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }

    fn cancelled(&self) -> bool {
        self.0.cancelled()
    }
}

/// A monitor that never reports and never cancels (for Rust callers and tests).
pub struct Silent;

impl Monitor for Silent {
    fn progress(&self, _done: usize, _total: usize) -> Result<()> {
        Ok(())
    }
}

/// A monitor that cancels once `done` reaches `stop_at` (for testing cancellation paths).
pub struct StopAt(pub usize);

impl Monitor for StopAt {
    fn progress(&self, done: usize, _total: usize) -> Result<()> {
        if done >= self.0 {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }
}
