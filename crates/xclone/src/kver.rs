//! Kernel versions, as the facts in this crate cite them ("added in 5.5").

use core::fmt;
use core::str::FromStr;

/// A Linux release, `major.minor[.patch]`. Ordering is numeric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct KernelVersion {
    /// `5` of 5.10.223.
    pub major: u16,
    /// `10` of 5.10.223.
    pub minor: u16,
    /// `223` of 5.10.223 (0 where not given).
    pub patch: u16,
}

impl KernelVersion {
    /// `major.minor` (patch 0), as facts cite a release.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self {
            major,
            minor,
            patch: 0,
        }
    }

    /// `major.minor.patch`, for fixes that reached a stable series at a point release.
    pub const fn with_patch(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Parses the leading `X.Y[.Z]` of a release string such as `6.18.44-fc-v669`.
    pub fn from_release(release: &str) -> Option<Self> {
        let mut nums = release
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(|s| s.parse::<u16>().ok());
        let major = nums.next()??;
        let minor = nums.next()??;
        let patch = nums.next().flatten().unwrap_or(0);
        Some(Self {
            major,
            minor,
            patch,
        })
    }

    /// The running kernel's release (`uname -r`).
    pub fn running() -> Option<Self> {
        let uts = rustix::system::uname();
        Self::from_release(&uts.release().to_string_lossy())
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.patch == 0 {
            write!(f, "{}.{}", self.major, self.minor)
        } else {
            write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
        }
    }
}

impl FromStr for KernelVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_release(s).ok_or_else(|| format!("not a kernel version: {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_releases() {
        assert_eq!(
            KernelVersion::from_release("6.18.44-fc-v669"),
            Some(KernelVersion::with_patch(6, 18, 44))
        );
        assert_eq!(
            KernelVersion::from_release("5.3"),
            Some(KernelVersion::new(5, 3))
        );
        assert_eq!(
            KernelVersion::from_release("7.1-rc1"),
            Some(KernelVersion::new(7, 1))
        );
        assert_eq!(KernelVersion::from_release("x"), None);
        assert!(KernelVersion::new(5, 10) > KernelVersion::new(5, 9));
        assert_eq!(KernelVersion::new(5, 5).to_string(), "5.5");
    }
}
