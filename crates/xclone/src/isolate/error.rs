//! [`IsolationError`]: a failed isolation step of the parent (or a request that cannot
//! work), with the errno where there is one, the likely cause and the fix.

use crate::errno::Errno;
use std::fmt;
use std::io;

/// An isolation failure, explained. Travels inside the [`io::Error`] that
/// [`Command::spawn`](crate::Command::spawn) returns ([`IsolationError::from_io`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IsolationError {
    /// What was being done (`write /proc/1234/uid_map`, `newuidmap`, `open cgroup /x`).
    pub op: String,
    /// The errno, where a system call failed.
    pub errno: Option<Errno>,
    /// Why, in plain words.
    pub cause: String,
    /// What to do about it (may be empty).
    pub fix: String,
}

impl IsolationError {
    /// An error with every part given.
    pub fn new(
        op: impl Into<String>,
        errno: Option<Errno>,
        cause: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        IsolationError {
            op: op.into(),
            errno,
            cause: cause.into(),
            fix: fix.into(),
        }
    }

    /// The `IsolationError` inside an `io::Error`, if it is one.
    pub fn from_io(e: &io::Error) -> Option<&IsolationError> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<IsolationError>())
    }
}

impl fmt::Display for IsolationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.op)?;
        if let Some(e) = self.errno {
            write!(f, "{e}: ")?;
        }
        f.write_str(&self.cause)?;
        if !self.fix.is_empty() {
            write!(f, "; fix: {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for IsolationError {}

impl From<IsolationError> for io::Error {
    fn from(e: IsolationError) -> Self {
        let kind = match e.errno {
            Some(n) => io::Error::from_raw_os_error(n.0).kind(),
            None => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_errno_cause_fix() {
        let e = IsolationError::new(
            "write /proc/7/uid_map",
            Some(Errno(libc::EPERM)),
            "the map was written already",
            "write each map once",
        );
        let s = e.to_string();
        assert!(s.starts_with("write /proc/7/uid_map: EPERM"), "{s}");
        assert!(s.ends_with("the map was written already; fix: write each map once"));
        let io: io::Error = e.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(IsolationError::from_io(&io), Some(&e));
        let plain = IsolationError::new("x", None, "y", "");
        assert_eq!(plain.to_string(), "x: y");
    }
}
