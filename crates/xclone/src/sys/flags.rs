//! The 64-bit clone flag word and what is known about every bit of it.
//!
//! Values come from `<linux/sched.h>` (through linux-raw-sys where it has them; the Linux 7.1
//! bits are written here from the 7.1 header). The per-flag facts (name, release that added it,
//! release from which clone3 accepts it) are data in [`FLAG_INFO`], read by the validator, the
//! probe, `explain` and the docs alike.

use crate::kver::KernelVersion;
use linux_raw_sys::general as k;

bitflags::bitflags! {
    /// Flags of `clone3(2)`'s `clone_args.flags` (see clone(2)).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct CloneFlags: u64 {
        /// New time namespace. Shares its bit with `CSIGNAL`, so only clone3 can ask for it.
        const NEWTIME = k::CLONE_NEWTIME as u64;
        /// Share the address space (a thread, or a vfork-like child).
        const VM = k::CLONE_VM as u64;
        /// Share root, working directory and umask.
        const FS = k::CLONE_FS as u64;
        /// Share the file descriptor table.
        const FILES = k::CLONE_FILES as u64;
        /// Share signal handlers (needs `VM`).
        const SIGHAND = k::CLONE_SIGHAND as u64;
        /// Return a pidfd for the child (5.2).
        const PIDFD = k::CLONE_PIDFD as u64;
        /// Trace the child too if the parent is traced.
        const PTRACE = k::CLONE_PTRACE as u64;
        /// Suspend the parent until the child execs or exits.
        const VFORK = k::CLONE_VFORK as u64;
        /// The child's parent is the caller's parent.
        const PARENT = k::CLONE_PARENT as u64;
        /// A thread of the caller's thread group (needs `SIGHAND`).
        const THREAD = k::CLONE_THREAD as u64;
        /// New mount namespace.
        const NEWNS = k::CLONE_NEWNS as u64;
        /// Share System V semaphore undo lists.
        const SYSVSEM = k::CLONE_SYSVSEM as u64;
        /// Set the child's thread-local storage to `tls`.
        const SETTLS = k::CLONE_SETTLS as u64;
        /// Store the child's TID at `parent_tid` in the parent.
        const PARENT_SETTID = k::CLONE_PARENT_SETTID as u64;
        /// Clear `child_tid` in the child when it exits, and wake a futex there.
        const CHILD_CLEARTID = k::CLONE_CHILD_CLEARTID as u64;
        /// Ignored by clone(2), refused by clone3(2).
        const DETACHED = k::CLONE_DETACHED as u64;
        /// A tracer cannot force `PTRACE` on the child.
        const UNTRACED = k::CLONE_UNTRACED as u64;
        /// Store the child's TID at `child_tid` in the child.
        const CHILD_SETTID = k::CLONE_CHILD_SETTID as u64;
        /// New cgroup namespace (4.6).
        const NEWCGROUP = k::CLONE_NEWCGROUP as u64;
        /// New UTS namespace (host and domain name).
        const NEWUTS = k::CLONE_NEWUTS as u64;
        /// New IPC namespace.
        const NEWIPC = k::CLONE_NEWIPC as u64;
        /// New user namespace.
        const NEWUSER = k::CLONE_NEWUSER as u64;
        /// New pid namespace: the child is its PID 1.
        const NEWPID = k::CLONE_NEWPID as u64;
        /// New network namespace.
        const NEWNET = k::CLONE_NEWNET as u64;
        /// Share the I/O context.
        const IO = k::CLONE_IO as u64;
        /// Reset every handled signal to its default in the child (clone3 only, 5.5).
        const CLEAR_SIGHAND = k::CLONE_CLEAR_SIGHAND;
        /// Create the child in the cgroup2 directory `cgroup` (clone3 only, 5.7).
        const INTO_CGROUP = k::CLONE_INTO_CGROUP;
        /// Linux 7.1: the child is reaped automatically when it exits.
        const AUTOREAP = 1 << 34;
        /// Linux 7.1: the child starts with `no_new_privs` set.
        const NNP = 1 << 35;
        /// Linux 7.1: closing the returned pidfd kills the child.
        const PIDFD_AUTOKILL = 1 << 36;
        /// Linux 7.1: a new mount namespace holding only an empty root.
        const EMPTY_MNTNS = 1 << 37;
    }
}

/// The low byte of the old `clone(2)` flag word, which holds the exit signal there.
pub const CSIGNAL: u64 = 0xff;

impl CloneFlags {
    /// Every `CLONE_NEW*` namespace flag.
    pub const NAMESPACES: Self = Self::NEWNS
        .union(Self::NEWCGROUP)
        .union(Self::NEWUTS)
        .union(Self::NEWIPC)
        .union(Self::NEWUSER)
        .union(Self::NEWPID)
        .union(Self::NEWNET)
        .union(Self::NEWTIME);

    /// `CLONE_LEGACY_FLAGS`: the 32-bit word clone(2) understands (the CSIGNAL byte included).
    pub const LEGACY: Self = Self::from_bits_retain(0xffff_ffff);

    /// What clone3 accepts on a 5.7 – 6.18 kernel (`CLONE_LEGACY_FLAGS | CLEAR_SIGHAND |
    /// INTO_CGROUP`); the flags added since are probed, never assumed.
    pub const CLONE3_BASE: Self = Self::LEGACY
        .union(Self::CLEAR_SIGHAND)
        .union(Self::INTO_CGROUP);

    /// Bits that exist only in the clone3 flag word (clone(2) drops everything above bit 31).
    pub const CLONE3_ONLY: Self = Self::from_bits_retain(!0xffff_ffffu64);

    /// The `<linux/sched.h>` names of the set bits, known ones by name, the rest as hex.
    pub fn names(self) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = self.bits();
        for info in FLAG_INFO {
            if self.contains(info.flag) && info.flag.bits() != 0 {
                out.push(info.name.to_string());
                rest &= !info.flag.bits();
            }
        }
        if rest != 0 {
            out.push(format!("{rest:#x}"));
        }
        out
    }

    /// `CLONE_VM|CLONE_VFORK`-style rendering; `0` when empty.
    pub fn to_names_string(self) -> String {
        let names = self.names();
        if names.is_empty() {
            "0".to_string()
        } else {
            names.join("|")
        }
    }

    /// Parses `0x...`, a decimal number, or a `|`/`,`-separated list of names (with or without
    /// the `CLONE_` prefix, any case), possibly mixed with numbers.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty flag list".into());
        }
        let mut bits = 0u64;
        for part in s.split(['|', ',']).map(str::trim) {
            if part.is_empty() {
                return Err(format!("empty element in flag list {s:?}"));
            }
            if let Some(v) = parse_number(part) {
                bits |= v;
                continue;
            }
            let info = FlagInfo::by_name(part).ok_or_else(|| {
                format!("unknown clone flag {part:?} (expected a CLONE_* name or a number)")
            })?;
            bits |= info.flag.bits();
        }
        Ok(Self::from_bits_retain(bits))
    }
}

fn parse_number(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Facts about one flag bit.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct FlagInfo {
    /// The flag.
    pub flag: CloneFlags,
    /// Name as in `<linux/sched.h>`.
    pub name: &'static str,
    /// The release that added the flag (to clone(2) or unshare(2) for the old ones).
    pub since: KernelVersion,
    /// The release from which clone3(2) accepts it, when that differs from `since`.
    pub clone3_since: Option<KernelVersion>,
    /// What it does, in a few words.
    pub summary: &'static str,
}

impl FlagInfo {
    /// Position of the bit in the flag word.
    pub fn bit(&self) -> u32 {
        self.flag.bits().trailing_zeros()
    }

    /// The first release where clone3 accepts the flag.
    pub fn clone3_min(&self) -> KernelVersion {
        let clone3 = KernelVersion::new(5, 3);
        self.clone3_since.unwrap_or(self.since).max(clone3)
    }

    /// Finds a flag by its name, `CLONE_` prefix optional, case-insensitive.
    pub fn by_name(name: &str) -> Option<&'static FlagInfo> {
        let upper = name.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("CLONE_").unwrap_or(&upper);
        FLAG_INFO.iter().find(|i| &i.name["CLONE_".len()..] == bare)
    }

    /// The facts for one single-bit flag.
    pub fn of(flag: CloneFlags) -> Option<&'static FlagInfo> {
        FLAG_INFO.iter().find(|i| i.flag == flag)
    }
}

const fn v(major: u16, minor: u16) -> KernelVersion {
    KernelVersion::new(major, minor)
}

const fn vp(major: u16, minor: u16, patch: u16) -> KernelVersion {
    KernelVersion::with_patch(major, minor, patch)
}

macro_rules! info {
    ($flag:ident, $since:expr, $clone3:expr, $summary:expr) => {
        FlagInfo {
            flag: CloneFlags::$flag,
            name: concat!("CLONE_", stringify!($flag)),
            since: $since,
            clone3_since: $clone3,
            summary: $summary,
        }
    };
}

/// Every flag bit the newest known kernel headers define, lowest bit first. Versions from
/// clone(2)/unshare(2) and the kernel history (see `docs/clone3.md` of the project).
pub static FLAG_INFO: &[FlagInfo] = &[
    info!(NEWTIME, v(5, 6), Some(v(6, 3)), "new time namespace"),
    info!(VM, v(2, 0), None, "share the address space"),
    info!(FS, v(2, 0), None, "share root, cwd and umask"),
    info!(FILES, v(2, 0), None, "share the file descriptor table"),
    info!(SIGHAND, v(2, 0), None, "share signal handlers"),
    info!(PIDFD, v(5, 2), None, "return a pidfd for the child"),
    info!(
        PTRACE,
        vp(2, 2, 0),
        None,
        "trace the child if the caller is traced"
    ),
    info!(
        VFORK,
        vp(2, 2, 0),
        None,
        "suspend the caller until the child execs or exits"
    ),
    info!(
        PARENT,
        vp(2, 3, 12),
        None,
        "the child's parent is the caller's parent"
    ),
    info!(THREAD, vp(2, 4, 0), None, "same thread group"),
    info!(NEWNS, vp(2, 4, 19), None, "new mount namespace"),
    info!(
        SYSVSEM,
        vp(2, 5, 10),
        None,
        "share System V semaphore undo values"
    ),
    info!(
        SETTLS,
        vp(2, 5, 32),
        None,
        "set the thread-local storage descriptor"
    ),
    info!(
        PARENT_SETTID,
        vp(2, 5, 49),
        None,
        "store the child's TID in the parent's memory"
    ),
    info!(
        CHILD_CLEARTID,
        vp(2, 5, 49),
        None,
        "clear the child's TID and wake a futex at exit"
    ),
    info!(DETACHED, vp(2, 5, 32), None, "obsolete; refused by clone3"),
    info!(
        UNTRACED,
        vp(2, 5, 46),
        None,
        "a tracer cannot force CLONE_PTRACE"
    ),
    info!(
        CHILD_SETTID,
        vp(2, 5, 49),
        None,
        "store the child's TID in the child's memory"
    ),
    info!(NEWCGROUP, v(4, 6), None, "new cgroup namespace"),
    info!(NEWUTS, vp(2, 6, 19), None, "new UTS (hostname) namespace"),
    info!(NEWIPC, vp(2, 6, 19), None, "new IPC namespace"),
    info!(NEWUSER, vp(2, 6, 23), None, "new user namespace"),
    info!(NEWPID, vp(2, 6, 24), None, "new PID namespace"),
    info!(NEWNET, vp(2, 6, 24), None, "new network namespace"),
    info!(IO, vp(2, 6, 25), None, "share the I/O context"),
    info!(
        CLEAR_SIGHAND,
        v(5, 5),
        None,
        "reset the child's signal handlers to default"
    ),
    info!(
        INTO_CGROUP,
        v(5, 7),
        None,
        "create the child in the cgroup2 directory given"
    ),
    info!(
        AUTOREAP,
        v(7, 1),
        None,
        "reap the child automatically when it exits"
    ),
    info!(NNP, v(7, 1), None, "set no_new_privs in the child"),
    info!(
        PIDFD_AUTOKILL,
        v(7, 1),
        None,
        "kill the child when its pidfd is closed"
    ),
    info!(EMPTY_MNTNS, v(7, 1), None, "new, empty mount namespace"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_named_bit_once() {
        let mut seen = 0u64;
        for i in FLAG_INFO {
            assert_eq!(i.flag.bits().count_ones(), 1, "{}", i.name);
            assert_eq!(seen & i.flag.bits(), 0, "{} twice", i.name);
            seen |= i.flag.bits();
        }
        assert_eq!(seen, CloneFlags::all().bits());
    }

    #[test]
    fn values_match_kernel_header() {
        assert_eq!(CloneFlags::CLEAR_SIGHAND.bits(), 1 << 32);
        assert_eq!(CloneFlags::INTO_CGROUP.bits(), 1 << 33);
        assert_eq!(CloneFlags::NEWTIME.bits(), 0x80);
        assert_eq!(CloneFlags::PIDFD.bits(), 0x1000);
        assert_eq!(FlagInfo::of(CloneFlags::EMPTY_MNTNS).unwrap().bit(), 37);
    }

    #[test]
    fn parse_names_and_numbers() {
        let f = CloneFlags::parse("CLONE_VM|vfork | 0x1000").unwrap();
        assert_eq!(f, CloneFlags::VM | CloneFlags::VFORK | CloneFlags::PIDFD);
        assert_eq!(CloneFlags::parse("0x10000").unwrap(), CloneFlags::THREAD);
        assert_eq!(CloneFlags::parse("17").unwrap().bits(), 17);
        assert!(CloneFlags::parse("CLONE_NOPE").is_err());
        assert!(CloneFlags::parse("").is_err());
        assert!(CloneFlags::parse("VM||FS").is_err());
    }

    #[test]
    fn names_round_trip() {
        let f = CloneFlags::NEWUSER | CloneFlags::from_bits_retain(1 << 50);
        assert_eq!(f.to_names_string(), "CLONE_NEWUSER|0x4000000000000");
        assert_eq!(CloneFlags::empty().to_names_string(), "0");
        assert_eq!(CloneFlags::parse(&f.to_names_string()).unwrap(), f);
    }

    #[test]
    fn clone3_min_versions() {
        assert_eq!(
            FlagInfo::of(CloneFlags::NEWTIME).unwrap().clone3_min(),
            v(6, 3)
        );
        assert_eq!(FlagInfo::of(CloneFlags::VM).unwrap().clone3_min(), v(5, 3));
        assert_eq!(
            FlagInfo::of(CloneFlags::INTO_CGROUP).unwrap().clone3_min(),
            v(5, 7)
        );
    }
}
