//! Errno values with their symbolic names, as the explanations print them.

use core::fmt;

/// A kernel error number (`EINVAL`, …).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

macro_rules! names {
    ($($n:ident),* $(,)?) => {
        const NAMES: &[(i32, &str)] = &[$((libc::$n, stringify!($n))),*];
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($n), "`")]
                pub const $n: Errno = Errno(libc::$n);
            )*
        }
    };
}

names!(
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    ETXTBSY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    ERANGE,
    ENAMETOOLONG,
    ENOSYS,
    ELOOP,
    EUSERS,
    EOPNOTSUPP,
    EREMOTE,
    ELIBBAD,
    ETIMEDOUT,
    ENOTSUP,
    ECANCELED,
);

impl Errno {
    /// The symbolic name (`EINVAL`), or `E<number>` for one this table lacks.
    pub fn name(self) -> String {
        NAMES
            .iter()
            .find(|(n, _)| *n == self.0)
            .map(|(_, s)| (*s).to_string())
            .unwrap_or_else(|| format!("E{}", self.0))
    }

    /// Looks a name up (`"EINVAL"`).
    pub fn from_name(name: &str) -> Option<Self> {
        NAMES
            .iter()
            .find(|(_, s)| s.eq_ignore_ascii_case(name))
            .map(|(n, _)| Errno(*n))
    }

    /// The C library's message for it ("Invalid argument").
    pub fn message(self) -> String {
        let s = std::io::Error::from_raw_os_error(self.0).to_string();
        match s.rfind(" (os error") {
            Some(i) => s[..i].to_string(),
            None => s,
        }
    }

    /// The number, as `errno` holds it.
    pub fn raw(self) -> i32 {
        self.0
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.message())
    }
}

impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> Self {
        std::io::Error::from_raw_os_error(e.0)
    }
}

impl From<rustix::io::Errno> for Errno {
    fn from(e: rustix::io::Errno) -> Self {
        Errno(e.raw_os_error())
    }
}

impl serde::Serialize for Errno {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_messages() {
        assert_eq!(Errno::EINVAL.name(), "EINVAL");
        assert_eq!(Errno(9999).name(), "E9999");
        assert_eq!(Errno::from_name("eexist"), Some(Errno::EEXIST));
        assert_eq!(Errno::ENOENT.message(), "No such file or directory");
        assert_eq!(Errno::EPERM.to_string(), "EPERM (Operation not permitted)");
    }
}
