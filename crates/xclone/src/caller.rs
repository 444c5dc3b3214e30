//! What the validator needs to know about the caller, read from `/proc` without changing
//! anything: effective capabilities, identity, and the caller's place in the pid and user
//! namespace trees.
//!
//! (Data model; `Caller::current()` lands with the validator.)

use serde::Serialize;

/// A capability number (`CAP_SYS_ADMIN` = 21, …).
pub type Cap = u32;

pub const CAP_SETGID: Cap = 6;
pub const CAP_SETUID: Cap = 7;
pub const CAP_SYS_CHROOT: Cap = 18;
pub const CAP_SYS_PTRACE: Cap = 19;
pub const CAP_SYS_ADMIN: Cap = 21;
pub const CAP_SYS_RESOURCE: Cap = 24;
pub const CAP_SYS_TIME: Cap = 25;
pub const CAP_SETFCAP: Cap = 31;
pub const CAP_CHECKPOINT_RESTORE: Cap = 40;

/// The caller as the kernel's checks see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub pid: i32,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    /// `CapEff:` of `/proc/self/status`, one bit per capability.
    pub cap_effective: u64,
    /// Depth of the caller's pid namespace (0 = initial), from `NSpid:`.
    pub pid_ns_level: u32,
    /// Whether `pid_for_children` differs from the caller's pid namespace (after an
    /// `unshare(CLONE_NEWPID)` or `setns`).
    pub pid_ns_for_children_differs: bool,
    /// Whether the caller is the init of its pid namespace (`SIGNAL_UNKILLABLE`).
    pub is_pid_ns_init: bool,
    /// Whether the caller's user namespace is the initial one.
    pub in_initial_user_ns: bool,
    /// Whether the user namespace owning the caller's pid namespace is the caller's own user
    /// namespace (where its capabilities count for set_tid).
    pub owns_pid_ns: bool,
    /// `RLIMIT_NPROC` soft limit (`None` = unlimited).
    pub rlimit_nproc: Option<u64>,
}

impl Caller {
    /// Whether capability `cap` is in the effective set.
    pub fn has_cap(&self, cap: Cap) -> bool {
        cap < 64 && self.cap_effective & (1u64 << cap) != 0
    }

    /// An all-powerful root caller in the initial namespaces (for tests and `--as root`).
    pub fn root() -> Self {
        Caller {
            pid: 1000,
            uid: 0,
            euid: 0,
            gid: 0,
            egid: 0,
            cap_effective: (1u64 << 41) - 1,
            pid_ns_level: 0,
            pid_ns_for_children_differs: false,
            is_pid_ns_init: false,
            in_initial_user_ns: true,
            owns_pid_ns: true,
            rlimit_nproc: None,
        }
    }

    /// An unprivileged user in the initial namespaces.
    pub fn unprivileged(uid: u32) -> Self {
        Caller {
            uid,
            euid: uid,
            gid: uid,
            egid: uid,
            cap_effective: 0,
            ..Self::root()
        }
    }
}
