//! The library's error type: every failure carries the errno and, where the validator can
//! tell, why the kernel refused and how to fix it.

use crate::errno::Errno;
use crate::validate::Problem;

/// Errors of process creation and of the operations around it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed. `explanation` is the validator's account of it when it has one.
    #[error("{op}: {errno}{}", explain_suffix(.explanation))]
    Os {
        /// What was being done (`clone3`, `open /sys/fs/cgroup/x`).
        op: String,
        /// What the kernel answered.
        errno: Errno,
        /// The validator's cause and fix, where it can tell.
        explanation: Option<Box<Problem>>,
    },

    /// The validator found the request unacceptable before any call was made; the first
    /// problem is the one the kernel would report.
    #[error("{}", refused(.problems))]
    Refused {
        /// Every problem found, in the kernel's order of checking.
        problems: Vec<Problem>,
    },

    /// The request needs clone3 and this system cannot use it (missing or filtered), so the
    /// clone(2) fallback cannot carry it out.
    #[error("{feature} needs clone3(2), but {probe}")]
    NeedsClone3 {
        /// The part of the request only clone3 can carry (`set_tid`, `CLONE_INTO_CGROUP`).
        feature: String,
        /// What the probe found about clone3 here.
        probe: String,
    },

    /// Input that cannot be turned into a request at all.
    #[error("{0}")]
    Invalid(String),

    /// An I/O error outside the clone itself (reading `/proc`, opening a file).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn explain_suffix(p: &Option<Box<Problem>>) -> String {
    match p {
        Some(p) => format!(": {}; fix: {}", p.cause, p.fix),
        None => String::new(),
    }
}

fn refused(problems: &[Problem]) -> String {
    match problems.first() {
        Some(p) if problems.len() == 1 => format!("the kernel would refuse this request: {p}"),
        Some(p) => format!(
            "the kernel would refuse this request: {p} (and {} more problem(s))",
            problems.len() - 1
        ),
        None => "the kernel would refuse this request".to_string(),
    }
}

impl Error {
    /// The errno the kernel returned or would return, if any.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Os { errno, .. } => Some(*errno),
            Error::Refused { problems } => problems.first().map(|p| p.errno),
            Error::NeedsClone3 { .. } => Some(Errno::ENOSYS),
            Error::Invalid(_) => Some(Errno::EINVAL),
            Error::Io(e) => e.raw_os_error().map(Errno),
        }
    }

    /// A failed system call `op` with `errno`, without an explanation.
    pub fn os(op: impl Into<String>, errno: impl Into<Errno>) -> Self {
        Error::Os {
            op: op.into(),
            errno: errno.into(),
            explanation: None,
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            other => {
                let kind = match other.errno() {
                    Some(errno) => std::io::Error::from_raw_os_error(errno.0).kind(),
                    None => std::io::ErrorKind::Other,
                };
                std::io::Error::new(kind, other.to_string())
            }
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
