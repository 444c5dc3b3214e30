//! [`Features`]: what the running kernel offers, found without creating any process or
//! changing any state, and cached per process.
//!
//! (Data model; `Features::probe()` lands with the probe.)

use crate::kver::KernelVersion;
use crate::sys::flags::CloneFlags;
use std::path::PathBuf;

/// Whether a system call can be used, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "errno")]
pub enum Availability {
    /// The call exists and is not filtered.
    Yes,
    /// The kernel does not have it (ENOSYS on a kernel older than the call).
    Missing,
    /// A seccomp filter (or similar) answers for it with this errno although the kernel is new
    /// enough to have it.
    Filtered(crate::Errno),
}

impl Availability {
    pub fn usable(self) -> bool {
        self == Availability::Yes
    }
}

/// Limits that decide whether new user namespaces can be made.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct UserNsLimits {
    /// `/proc/sys/user/max_user_namespaces` (0 forbids them).
    pub max_user_namespaces: Option<u64>,
    /// Debian/Ubuntu's `kernel.unprivileged_userns_clone`, where it exists.
    pub unprivileged_userns_clone: Option<bool>,
    /// Ubuntu's AppArmor restriction `kernel.apparmor_restrict_unprivileged_userns`, where it exists.
    pub apparmor_restrict_unprivileged_userns: Option<bool>,
    /// `/proc/sys/user/max_pid_namespaces`.
    pub max_pid_namespaces: Option<u64>,
}

/// What the running kernel offers for process creation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Features {
    /// `uname -r`.
    pub kernel_release: String,
    /// The release parsed from it (informative only: decisions come from the probes).
    pub kernel_version: Option<KernelVersion>,
    /// clone3 itself.
    pub clone3: Availability,
    /// Flag bits clone3 accepts on this kernel (empty when clone3 is unusable).
    #[serde(skip)]
    pub clone3_flags: CloneFlags,
    /// The largest `clone_args` size this kernel understands (64, 80, 88, … ; 0 when unusable).
    pub clone_args_max_size: usize,
    /// `set_tid` (struct size ≥ 80, Linux 5.5).
    pub set_tid: bool,
    /// `CLONE_INTO_CGROUP` (Linux 5.7).
    pub into_cgroup: bool,
    /// `CLONE_PIDFD` through clone(2) (Linux 5.2), for the fallback.
    pub clone_pidfd: bool,
    pub pidfd_open: Availability,
    pub pidfd_send_signal: Availability,
    pub pidfd_getfd: Availability,
    /// `waitid(P_PIDFD, …)` (Linux 5.4).
    pub waitid_pidfd: bool,
    /// `setns(pidfd, flags)` (Linux 5.8).
    pub setns_pidfd: bool,
    /// Time namespaces exist (`/proc/self/ns/time`).
    pub time_namespaces: bool,
    /// The mount point of the cgroup2 hierarchy, from `/proc/self/mountinfo`.
    pub cgroup2_mount: Option<PathBuf>,
    pub userns: UserNsLimits,
    /// `/proc/sys/kernel/pid_max`.
    pub pid_max: Option<u32>,
}

impl Features {
    /// A kernel that has everything this crate knows, for tests and for explaining a request
    /// independently of the machine.
    pub fn everything() -> Self {
        Features {
            kernel_release: "7.1.0".into(),
            kernel_version: Some(KernelVersion::new(7, 1)),
            clone3: Availability::Yes,
            clone3_flags: CloneFlags::all().difference(CloneFlags::DETACHED),
            clone_args_max_size: crate::sys::abi::CLONE_ARGS_SIZE_VER2,
            set_tid: true,
            into_cgroup: true,
            clone_pidfd: true,
            pidfd_open: Availability::Yes,
            pidfd_send_signal: Availability::Yes,
            pidfd_getfd: Availability::Yes,
            waitid_pidfd: true,
            setns_pidfd: true,
            time_namespaces: true,
            cgroup2_mount: Some(PathBuf::from("/sys/fs/cgroup")),
            userns: UserNsLimits::default(),
            pid_max: Some(4_194_304),
        }
    }

    /// What a kernel of the given release offers, by the documented versions alone (for
    /// `explain --kernel X.Y` and tests; never used to decide on the running kernel).
    pub fn as_of(v: KernelVersion) -> Self {
        let at = |major, minor| v >= KernelVersion::new(major, minor);
        let mut flags = CloneFlags::empty();
        if at(5, 3) {
            for info in crate::sys::flags::FLAG_INFO {
                if info.flag != CloneFlags::DETACHED && v >= info.clone3_min() {
                    flags |= info.flag;
                }
            }
        }
        let yes_if = |ok: bool| {
            if ok {
                Availability::Yes
            } else {
                Availability::Missing
            }
        };
        Features {
            kernel_release: v.to_string(),
            kernel_version: Some(v),
            clone3: yes_if(at(5, 3)),
            clone3_flags: flags,
            clone_args_max_size: if at(5, 7) {
                88
            } else if at(5, 5) {
                80
            } else if at(5, 3) {
                64
            } else {
                0
            },
            set_tid: at(5, 5),
            into_cgroup: at(5, 7),
            clone_pidfd: at(5, 2),
            pidfd_open: yes_if(at(5, 3)),
            pidfd_send_signal: yes_if(at(5, 1)),
            pidfd_getfd: yes_if(at(5, 6)),
            waitid_pidfd: at(5, 4),
            setns_pidfd: at(5, 8),
            time_namespaces: at(5, 6),
            cgroup2_mount: Some(PathBuf::from("/sys/fs/cgroup")),
            userns: UserNsLimits::default(),
            pid_max: Some(32768),
        }
    }

    /// Whether clone3 is usable and accepts every bit of `flags`.
    pub fn clone3_accepts(&self, flags: CloneFlags) -> bool {
        self.clone3.usable() && self.clone3_flags.contains(flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_versions() {
        let f = Features::as_of(KernelVersion::new(5, 4));
        assert!(f.clone3.usable() && !f.set_tid && !f.into_cgroup);
        assert!(!f.clone3_flags.contains(CloneFlags::CLEAR_SIGHAND));
        assert!(!f.clone3_flags.contains(CloneFlags::NEWTIME));
        let f = Features::as_of(KernelVersion::new(6, 18));
        assert!(f
            .clone3_flags
            .contains(CloneFlags::NEWTIME | CloneFlags::INTO_CGROUP));
        assert!(!f.clone3_flags.contains(CloneFlags::AUTOREAP));
        assert!(!Features::as_of(KernelVersion::new(5, 2)).clone3.usable());
        assert!(Features::everything().clone3_accepts(CloneFlags::NNP));
    }
}
