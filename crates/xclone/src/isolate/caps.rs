//! Capabilities a sandboxed program keeps (`--cap-add`, `--cap-drop`), applied to the
//! bounding, permitted, effective, inheritable and ambient sets, as bubblewrap does.
//!
//! The child, around its identity change: `PR_SET_KEEPCAPS` (so a `setuid` does not empty
//! the permitted set) and every capability outside the set dropped from the bounding set
//! (`PR_CAPBSET_DROP`) before it; after it, `capset(2)` puts the set into permitted,
//! effective and inheritable and each is raised into the ambient set, so that it survives
//! `execve` whatever the program's uid (capabilities(7)). A uid-0 program would get
//! `inheritable | bounding` at exec anyway, which is the set again.

use std::fmt;
use std::str::FromStr;

/// capabilities(7) names, in number order (`CAP_CHOWN` is 0).
pub const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A set of capabilities, bit N for capability N.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CapSet(pub u64);

impl CapSet {
    /// No capability at all.
    pub const EMPTY: CapSet = CapSet(0);

    /// Every capability this kernel knows (`/proc/sys/kernel/cap_last_cap`; the names'
    /// count where it cannot be read).
    pub fn all() -> CapSet {
        let last = last_cap();
        CapSet(if last >= 63 {
            u64::MAX
        } else {
            (1u64 << (last + 1)) - 1
        })
    }

    /// Whether capability number `cap` (capabilities(7)) is in the set.
    pub fn contains(self, cap: u32) -> bool {
        cap < 64 && self.0 & (1 << cap) != 0
    }

    /// Applies one `--cap-add`/`--cap-drop`.
    pub fn apply(self, change: CapChange) -> CapSet {
        match change {
            CapChange::Add(Cap::All) => CapSet::all(),
            CapChange::Add(Cap::One(c)) => CapSet(self.0 | (1 << c)),
            CapChange::Drop(Cap::All) => CapSet::EMPTY,
            CapChange::Drop(Cap::One(c)) => CapSet(self.0 & !(1 << c)),
        }
    }
}

impl fmt::Display for CapSet {
    /// Comma-separated names (lower case, as capsh prints them), or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = (0..64)
            .filter(|&c| self.contains(c))
            .map(|c| match CAP_NAMES.get(c as usize) {
                Some(n) => n.to_ascii_lowercase(),
                None => format!("cap_{c}"),
            })
            .collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

/// The highest capability number of this kernel.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(CAP_NAMES.len() as u32 - 1)
        .min(63)
}

/// One capability, or all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// The capability of this number (`CAP_SYS_ADMIN` = 21, capabilities(7)).
    One(u32),
    /// Every capability the kernel knows (`ALL`).
    All,
}

impl FromStr for Cap {
    type Err = String;
    /// `ALL`, `CAP_SYS_ADMIN`, `cap_sys_admin`, `sys_admin` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let up = s.trim().to_ascii_uppercase();
        if up == "ALL" {
            return Ok(Cap::All);
        }
        let full = if up.starts_with("CAP_") {
            up
        } else {
            format!("CAP_{up}")
        };
        CAP_NAMES
            .iter()
            .position(|n| *n == full)
            .map(|i| Cap::One(i as u32))
            .ok_or_else(|| format!("{s:?} is not a capability name (see capabilities(7)) or ALL"))
    }
}

/// `--cap-add` or `--cap-drop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapChange {
    /// `--cap-add`: the program keeps it (or them).
    Add(Cap),
    /// `--cap-drop`: the program loses it (or them).
    Drop(Cap),
}

/// The prepared capability steps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CapsPlan {
    pub keep: CapSet,
    pub last_cap: u32,
}

impl CapsPlan {
    pub(crate) fn new(keep: CapSet) -> Self {
        CapsPlan {
            keep,
            last_cap: last_cap(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print() {
        assert_eq!("CAP_SYS_ADMIN".parse(), Ok(Cap::One(21)));
        assert_eq!("net_raw".parse(), Ok(Cap::One(13)));
        assert_eq!("all".parse(), Ok(Cap::All));
        assert!("CAP_NOPE".parse::<Cap>().is_err());
        let s = CapSet::EMPTY
            .apply(CapChange::Add(Cap::One(0)))
            .apply(CapChange::Add(Cap::One(21)));
        assert_eq!(s.to_string(), "cap_chown,cap_sys_admin");
        assert_eq!(s.apply(CapChange::Drop(Cap::All)), CapSet::EMPTY);
        assert!(CapSet::all().contains(0) && CapSet::all().contains(last_cap()));
        assert!(!CapSet::all().contains(last_cap() + 1));
    }
}
