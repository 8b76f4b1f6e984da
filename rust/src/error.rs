//! Error type of the Rust core. Every fallible kernel returns [`Result`]; the Python
//! bindings map each variant to a specific Python exception (see `py/mod.rs`).

use std::fmt;

/// Errors raised by glassrs kernels. Messages are complete sentences meant for the user:
/// they name the offending input (file, frame, line, particle) and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Invalid argument or data (maps to `ValueError`).
    Invalid(String),
    /// Malformed input file (maps to `glassrs.FormatError`, a `ValueError`).
    Format {
        file: String,
        line: Option<usize>,
        frame: Option<usize>,
        msg: String,
    },
    /// An iterative solver or minimiser did not converge (maps to `glassrs.ConvergenceError`).
    NotConverged(String),
    /// The user interrupted the computation (Ctrl-C; maps to `KeyboardInterrupt`).
    Interrupted,
    /// Operating-system I/O failure (maps to `OSError`).
    Io(String),
    /// An operating-system error on a named file (maps to `OSError(errno, message, path)`, so
    /// Python picks the subclass: `PermissionError`, `FileNotFoundError`, …).
    File { path: String, errno: Option<i32>, msg: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) => write!(f, "{m}"),
            Error::Format { file, line, frame, msg } => {
                write!(f, "{file}")?;
                if let Some(fr) = frame {
                    write!(f, ", frame {fr}")?;
                }
                if let Some(l) = line {
                    write!(f, ", line {l}")?;
                }
                write!(f, ": {msg}")
            }
            Error::NotConverged(m) => write!(f, "{m}"),
            Error::Interrupted => write!(f, "interrupted by the user"),
            Error::Io(m) => write!(f, "{m}"),
            Error::File { path, msg, .. } => write!(f, "{path}: {msg}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

impl Error {
    /// An I/O error on `path`, keeping the OS error number.
    pub fn file(path: &str, e: &std::io::Error) -> Error {
        let msg = e.to_string();
        let msg = match msg.find(" (os error") {
            Some(p) => msg[..p].to_string(),
            None => msg,
        };
        Error::File { path: path.to_string(), errno: e.raw_os_error(), msg }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for an [`Error::Invalid`] with a formatted message.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::Error::Invalid(format!($($arg)*)) };
}
