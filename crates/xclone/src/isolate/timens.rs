//! Time-namespace clock offsets (documented in the `isolate` layer).

use super::error::IsolationError;
use crate::errno::Errno;
pub use crate::sys::timens::vm_child_enters_time_ns_at_exec;
use std::fmt;
use std::os::fd::AsFd;
use std::str::FromStr;

/// A signed clock offset with nanosecond resolution, normalised as the kernel wants it:
/// whole seconds (may be negative) plus `0 <= nanos < 1e9`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct ClockOffset {
    /// Whole seconds (may be negative).
    pub secs: i64,
    /// Nanoseconds, below 1,000,000,000.
    pub nanos: u32,
}

impl ClockOffset {
    /// No offset.
    pub const ZERO: Self = Self { secs: 0, nanos: 0 };

    /// From a count of nanoseconds (negative allowed).
    pub fn from_nanos(total: i128) -> Option<Self> {
        let secs = total.div_euclid(1_000_000_000);
        let nanos = total.rem_euclid(1_000_000_000) as u32;
        Some(Self {
            secs: i64::try_from(secs).ok()?,
            nanos,
        })
    }

    /// The offset in nanoseconds.
    pub fn as_nanos(self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nanos as i128
    }
}

impl FromStr for ClockOffset {
    type Err = String;

    /// Seconds with an optional fraction down to nanoseconds: `86400`, `-86400.25`, `+1.5`,
    /// `0.000000001`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || format!("{s:?} is not an offset in seconds (like 86400 or -86400.25)");
        let (neg, digits) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if frac.len() > 9 {
            return Err(format!("{s:?}: at most 9 decimal places (nanoseconds)"));
        }
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let mut frac_ns: i128 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        for _ in frac.len()..9 {
            frac_ns *= 10;
        }
        let mut total = whole.checked_mul(1_000_000_000).ok_or_else(bad)? + frac_ns;
        if neg {
            total = -total;
        }
        Self::from_nanos(total).ok_or_else(|| format!("{s:?}: offset out of range"))
    }
}

impl fmt::Display for ClockOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.as_nanos();
        let sign = if total < 0 { "-" } else { "" };
        let abs = total.unsigned_abs();
        let (s, ns) = (abs / 1_000_000_000, abs % 1_000_000_000);
        if ns == 0 {
            write!(f, "{sign}{s}")
        } else {
            let frac = format!("{ns:09}");
            write!(f, "{sign}{s}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// The offsets to give a new time namespace.
///
/// ```
/// use xclone::isolate::{ClockOffset, TimeOffsets};
/// // The new namespace's CLOCK_MONOTONIC reads 100 s ahead of the host's.
/// let offsets = TimeOffsets {
///     monotonic: ClockOffset::from_nanos(100_000_000_000),
///     boottime: None,
/// };
/// assert_eq!(offsets.to_proc_text(), "monotonic 100 0\n");
/// // Given to a spawn with CLONE_NEWTIME: `Command::time_offsets(offsets)`.
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TimeOffsets {
    /// The `CLOCK_MONOTONIC` offset.
    pub monotonic: Option<ClockOffset>,
    /// The `CLOCK_BOOTTIME` offset.
    pub boottime: Option<ClockOffset>,
}

impl TimeOffsets {
    /// Neither clock has an offset.
    pub fn is_empty(&self) -> bool {
        self.monotonic.is_none() && self.boottime.is_none()
    }

    /// The text written to `timens_offsets` in one `write()`: one `<clock> <secs> <nanos>`
    /// line per clock (the kernel consumes at most two lines per write).
    pub fn to_proc_text(&self) -> String {
        let mut out = String::new();
        if let Some(o) = self.monotonic {
            out.push_str(&format!("monotonic {} {}\n", o.secs, o.nanos));
        }
        if let Some(o) = self.boottime {
            out.push_str(&format!("boottime {} {}\n", o.secs, o.nanos));
        }
        out
    }
}

/// Moves the calling process into a new time namespace with `offsets`, on any kernel with
/// time namespaces (5.6+): `unshare(CLONE_NEWTIME)`, write `/proc/self/timens_offsets`
/// (nobody is in the new namespace yet), then `setns(/proc/self/ns/time_for_children)`,
/// which enters it (and freezes the offsets). The caller's clocks shift by the offsets, and
/// its children are born in the namespace — `CLONE_VM` ones too, without `CLONE_NEWTIME`.
///
/// For a process that starts one program and has no use for the host's clocks (the
/// `xclone run` command on kernels before 6.2, where a spawned child cannot write its own
/// offsets). Needs `CAP_SYS_ADMIN` (unshare, setns) and `CAP_SYS_TIME` (the offsets) in the
/// caller's user namespace, and a single-threaded caller: `setns` into a time namespace
/// wants a process whose memory no other task shares (`EUSERS`, `timens_install()` in
/// kernel/time/namespace.c).
pub fn enter_new_time_namespace(offsets: &TimeOffsets) -> Result<(), IsolationError> {
    let fail = |op: &str, e: i32, cause: &str, fix: &str| {
        IsolationError::new(op, Some(Errno(e)), cause, fix)
    };
    crate::sys::timens::unshare_time().map_err(|e| {
        fail(
            "unshare(CLONE_NEWTIME)",
            e,
            "creating a time namespace needs CAP_SYS_ADMIN in this user namespace",
            "run as root",
        )
    })?;
    let text = offsets.to_proc_text();
    if !text.is_empty() {
        std::fs::write("/proc/self/timens_offsets", text.as_bytes()).map_err(|e| {
            let n = e.raw_os_error().unwrap_or(libc::EIO);
            let cause = match n {
                libc::EPERM => "writing offsets needs CAP_SYS_TIME over the new time namespace",
                libc::ERANGE => "the clock plus the offset must stay between 0 and about 146 years",
                _ => "the kernel refused the offsets",
            };
            fail(
                &format!(
                    "write '{}' to /proc/self/timens_offsets",
                    text.trim_end().replace('\n', ", ")
                ),
                n,
                cause,
                "",
            )
        })?;
    }
    let ns = rustix::fs::open(
        "/proc/self/ns/time_for_children",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| {
        fail(
            "open /proc/self/ns/time_for_children",
            e.raw_os_error(),
            "cannot name the new time namespace",
            "mount proc on /proc",
        )
    })?;
    rustix::thread::move_into_link_name_space(
        ns.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Time),
    )
    .map_err(|e| {
        let n = e.raw_os_error();
        let cause = if n == libc::EUSERS {
            "entering a time namespace needs a process with a single thread"
        } else {
            "the kernel refused to enter the new time namespace"
        };
        fail("setns(time_for_children, CLONE_NEWTIME)", n, cause, "")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ClockOffset {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(
            p("86400"),
            ClockOffset {
                secs: 86400,
                nanos: 0
            }
        );
        assert_eq!(
            p("-86400.25"),
            ClockOffset {
                secs: -86401,
                nanos: 750_000_000
            }
        );
        assert_eq!(
            p("+1.5"),
            ClockOffset {
                secs: 1,
                nanos: 500_000_000
            }
        );
        assert_eq!(p("0.000000001"), ClockOffset { secs: 0, nanos: 1 });
        assert_eq!(
            p("-0.5"),
            ClockOffset {
                secs: -1,
                nanos: 500_000_000
            }
        );
        assert_eq!(
            p(".5"),
            ClockOffset {
                secs: 0,
                nanos: 500_000_000
            }
        );
        for bad in ["", "-", "1.2.3", "abc", "1e5", "0.0000000001", "--1", "1 2"] {
            assert!(bad.parse::<ClockOffset>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn displays_round_trip() {
        for s in ["86400", "-86400.25", "1.5", "0.000000001", "-0.5", "0"] {
            assert_eq!(p(s).to_string(), s);
            assert_eq!(p(&p(s).to_string()), p(s));
        }
    }

    #[test]
    fn proc_text() {
        let t = TimeOffsets {
            monotonic: Some(p("-86400.25")),
            boottime: Some(p("10")),
        };
        assert_eq!(
            t.to_proc_text(),
            "monotonic -86401 750000000\nboottime 10 0\n"
        );
        assert!(TimeOffsets::default().is_empty());
    }
}
