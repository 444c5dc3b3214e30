//! [`Features`]: what the running kernel offers, found without creating any process or
//! changing any state, and cached per process.
//!
//! Everything is learned by asking: system calls made with arguments chosen so that the
//! kernel's answer (an errno, from a check that comes before anything is allocated) tells
//! whether a feature exists, plus a few files under `/proc`. The kernel release is recorded
//! but decides nothing, except to tell "missing" from "filtered" and where a probe cannot be
//! made. How each question is asked is written beside it in `probe/kernel.rs`.
//!
//! Two things are touched on the way, both invisible afterwards: for a caller holding
//! `CAP_SYS_ADMIN` the probing thread's effective capability set is lowered during the flag
//! probe and then restored (capget(2)/capset(2) act on that thread only); and since the probe's
//! fail-safe uses `CLONE_SYSVSEM`, the kernel gives the thread a System V semaphore undo list
//! if it has none yet, as every `pthread_create` does.
//!
//! ```
//! let f = xclone::probe::Features::probe();
//! if f.clone3_accepts(xclone::CloneFlags::INTO_CGROUP) {
//!     // clone3 with CLONE_INTO_CGROUP will not be refused for being unknown
//! }
//! assert!(std::ptr::eq(f, xclone::probe::Features::probe())); // cached
//! ```

mod kernel;
mod report;
pub(crate) mod system;

pub use report::{CapLine, Capabilities, FeatureLine, FlagLine, Report, REPORT_FORMAT};

use crate::errno::Errno;
use crate::kver::KernelVersion;
use crate::sys::flags::CloneFlags;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Whether a system call can be used, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "kebab-case", tag = "state", content = "errno")
)]
#[non_exhaustive]
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
    /// The call can be used here ([`Availability::Yes`]).
    pub fn usable(self) -> bool {
        self == Availability::Yes
    }
}

/// Limits that decide whether new user namespaces can be made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
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
///
/// Found by asking the kernel questions it answers without creating anything (see the module
/// docs), once per process:
///
/// ```
/// use xclone::probe::Features;
/// use xclone::CloneFlags;
/// let f = Features::probe();
/// if f.clone3.usable() && f.set_tid {
///     // clone3 with set_tid: a chosen PID is possible here.
/// }
/// println!("pid namespaces: {}", f.clone3_accepts(CloneFlags::NEWPID));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Features {
    /// `uname -r`.
    pub kernel_release: String,
    /// The release parsed from it (informative only: decisions come from the probes).
    pub kernel_version: Option<KernelVersion>,
    /// clone3 itself.
    pub clone3: Availability,
    /// Flag bits clone3 accepts on this kernel (empty when clone3 is unusable).
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_flag_names"))]
    pub clone3_flags: CloneFlags,
    /// Whether `clone3_flags` was learned by asking the kernel bit by bit (`false`: taken
    /// from the release table of [`crate::FLAG_INFO`], see `evidence.notes`, or clone3 is
    /// unusable).
    pub clone3_flags_probed: bool,
    /// Bits of `clone3_flags` set by rule rather than by the kernel's answer: flags every
    /// clone3 accepts (`CLONE_LEGACY_FLAGS`) that could not be asked about here
    /// (`CLONE_NEWUSER` always; `CLONE_PARENT`/`CLONE_THREAD` when the caller's situation
    /// makes the kernel refuse them for another reason).
    #[cfg_attr(feature = "serde", serde(serialize_with = "ser_flag_names"))]
    pub clone3_flags_inferred: CloneFlags,
    /// The largest `clone_args` size this kernel understands (64, 80, 88, … ; 0 when unusable).
    pub clone_args_max_size: usize,
    /// `set_tid` (struct size ≥ 80, Linux 5.5).
    pub set_tid: bool,
    /// `CLONE_INTO_CGROUP` (Linux 5.7).
    pub into_cgroup: bool,
    /// `CLONE_PIDFD` through clone(2) (Linux 5.2), for the fallback.
    pub clone_pidfd: bool,
    /// `pidfd_open(2)` (5.3).
    pub pidfd_open: Availability,
    /// `pidfd_send_signal(2)` (5.1).
    pub pidfd_send_signal: Availability,
    /// `pidfd_getfd(2)` (5.6).
    pub pidfd_getfd: Availability,
    /// `waitid(P_PIDFD, …)` (Linux 5.4).
    pub waitid_pidfd: bool,
    /// `setns(pidfd, flags)` (Linux 5.8).
    pub setns_pidfd: bool,
    /// Time namespaces exist (`/proc/self/ns/time`).
    pub time_namespaces: bool,
    /// The mount point of the cgroup2 hierarchy, from `/proc/self/mountinfo`.
    pub cgroup2_mount: Option<PathBuf>,
    /// The sysctls that limit user and pid namespaces.
    pub userns: UserNsLimits,
    /// `/proc/sys/kernel/pid_max`.
    pub pid_max: Option<u32>,
    /// Where user address space ends (exclusive), asked of the kernel: on x86_64 2^47 − 4096
    /// with 4-level page tables, 2^56 − 4096 with 5-level ones (an mmap at 2^55, unmapped at
    /// once); on arm64 and riscv64 the power of two up to which clone3 accepts a child stack
    /// (`TASK_SIZE_MAX`: 2^48 or 2^52 on arm64, 2^38, 2^47 or 2^56 on riscv64; see
    /// `sys::addr`). Stacks (and on x86_64 TLS pointers) must lie below it.
    pub user_space_end: u64,
    /// Whether `setns(pidfd, CLONE_NEWNS | other namespace flags)` is refused (`EINVAL`)
    /// while the caller shares its `fs_struct` (`CLONE_FS`: another thread, or a process
    /// created with `CLONE_FS`), as `CLONE_NEWNS` alone always is: `Some(true)` on Debian's
    /// 6.12.117, `Some(false)` on 5.10, 6.1 and 6.18. Answering it creates a process, so
    /// [`Features::probe`] leaves it `None` ("not asked"); [`crate::validate::current_features`]
    /// fills it in from [`crate::setns::mnt_with_others_refused_when_fs_shared`]. `None` makes
    /// the validator assume the mainline behaviour (`false`). Not part of the probe report.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub setns_mnt_with_others_fs_shared: Option<bool>,
    /// The probing thread's effective capability set (capget(2)) at the first probe.
    pub cap_effective: u64,
    /// The probing thread's permitted capability set.
    pub cap_permitted: u64,
    /// The kernel's raw answers behind these conclusions.
    pub evidence: Evidence,
}

/// The answers the probes received (`None`: the question was not asked), for explanations.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Evidence {
    /// clone3 with an 8-byte struct: EINVAL from a kernel that has it.
    pub clone3_small: Option<Errno>,
    /// clone3 with a 1 MiB struct: E2BIG from a kernel that has it.
    pub clone3_huge: Option<Errno>,
    /// The flag probe without a flag under test: anything but EINVAL (normally EPERM).
    pub flag_probe_baseline: Option<Errno>,
    /// The flag probe's answer per bit (EINVAL: unknown bit).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub flag_answers: [Option<Errno>; 64],
    /// clone(2) with `CLONE_PIDFD|CLONE_DETACHED`: EINVAL since Linux 5.2.
    pub clone_pidfd: Option<Errno>,
    /// `pidfd_open(INT_MAX, 0)`: ESRCH.
    pub pidfd_open: Option<Errno>,
    /// `pidfd_send_signal(-1, 0, NULL, 0)`: EBADF.
    pub pidfd_send_signal: Option<Errno>,
    /// `pidfd_getfd(-1, 0, 0)`: EBADF.
    pub pidfd_getfd: Option<Errno>,
    /// `waitid(P_PIDFD, <never-open fd>, …)`: EBADF since Linux 5.4, EINVAL before.
    pub waitid_pidfd: Option<Errno>,
    /// `setns(<pidfd of self>, CLONE_NEWUTS)` without `CAP_SYS_ADMIN`: EPERM since Linux 5.8.
    pub setns_pidfd: Option<Errno>,
    /// Children a probe created against all expectation (each exited at once, unused).
    pub unexpected_children: Vec<i32>,
    /// Anything unusual about how the answers were obtained.
    pub notes: Vec<String>,
    /// Files the probe could not read for a reason other than their absence (`EMFILE` at
    /// the descriptor limit, `EACCES`, …): what depends on them is unknown, not absent.
    pub unreadable: Vec<Unreadable>,
}

/// A file the probe could not read, and the errno that said so.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Unreadable {
    /// The file (`/proc/sys/user/max_user_namespaces`, ...).
    pub path: String,
    /// Why it could not be read (`EACCES` under a restrictive LSM, `ENOENT` without procfs).
    pub errno: Errno,
}

impl Evidence {
    /// The error that kept `path` from being read, if it was recorded.
    pub fn unreadable(&self, path: &str) -> Option<Errno> {
        self.unreadable
            .iter()
            .find(|u| u.path == path)
            .map(|u| u.errno)
    }
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            clone3_small: None,
            clone3_huge: None,
            flag_probe_baseline: None,
            flag_answers: [None; 64],
            clone_pidfd: None,
            pidfd_open: None,
            pidfd_send_signal: None,
            pidfd_getfd: None,
            waitid_pidfd: None,
            setns_pidfd: None,
            unexpected_children: Vec::new(),
            notes: Vec::new(),
            unreadable: Vec::new(),
        }
    }
}

#[cfg(feature = "serde")]
fn ser_flag_names<S: serde::Serializer>(f: &CloneFlags, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(f.names())
}

/// The whole probe of this process, see [`Features::probe`].
static CACHE: OnceLock<Features> = OnceLock::new();

impl Features {
    /// What the running kernel offers, probed once per process and cached; later calls
    /// return the same reference at the cost of an atomic load.
    ///
    /// The probe creates no process, allocates no PID and leaves nothing changed: see the
    /// [module documentation](self). For a root caller it lowers the calling thread's
    /// effective capabilities for a few hundred microseconds (restored afterwards), so call it
    /// early where that matters. The capability fields describe the first caller.
    pub fn probe() -> &'static Features {
        CACHE.get_or_init(Self::probe_uncached)
    }

    /// [`setns_pidfd`](Features::setns_pidfd) alone: whether setns(2) takes a pidfd (Linux
    /// 5.8), decided as the whole probe decides it but with a handful of system calls instead
    /// of a few hundred (the whole probe costs about 0.3 ms, as much as a spawn — too much
    /// for a command line that needs only this answer). Cached; the whole probe's answer is
    /// used when it was already made.
    pub fn setns_pidfd_supported() -> bool {
        static ONLY: OnceLock<bool> = OnceLock::new();
        if let Some(f) = CACHE.get() {
            return f.setns_pidfd;
        }
        *ONLY.get_or_init(|| {
            let release = rustix::system::uname();
            let running = KernelVersion::from_release(&release.release().to_string_lossy());
            let mut evidence = Evidence::default();
            let (pidfd_open, ..) = kernel::pidfd_calls(running, &mut evidence);
            kernel::without_sys_admin(&mut evidence, |dropped, ev| {
                kernel::setns_pidfd(dropped, pidfd_open, running, ev)
            })
        })
    }

    /// Probes again, without the cache (for tests, and for a thread whose seccomp filter or
    /// capabilities differ from the first prober's).
    pub fn probe_uncached() -> Features {
        let kernel_release = rustix::system::uname()
            .release()
            .to_string_lossy()
            .into_owned();
        let running = KernelVersion::from_release(&kernel_release);
        let (cap_effective, cap_permitted) = system::capabilities();
        let mut evidence = Evidence::default();
        let (pidfd_open, pidfd_send_signal, pidfd_getfd, waitid_pidfd) =
            kernel::pidfd_calls(running, &mut evidence);
        let (clone3, clone_pidfd, setns_pidfd) =
            kernel::without_sys_admin(&mut evidence, |dropped, ev| {
                let c3 = kernel::probe_clone3(running, dropped, ev);
                let clone_pidfd = kernel::clone_pidfd(dropped, c3.availability, running, ev);
                let setns = kernel::setns_pidfd(dropped, pidfd_open, running, ev);
                (c3, clone_pidfd, setns)
            });
        Features {
            kernel_release,
            kernel_version: running,
            clone3: clone3.availability,
            clone3_flags: clone3.flags,
            clone3_flags_probed: clone3.flags_probed,
            clone3_flags_inferred: clone3.flags_inferred,
            clone_args_max_size: clone3.max_size,
            set_tid: clone3.max_size >= crate::sys::abi::CLONE_ARGS_SIZE_VER1,
            into_cgroup: clone3.max_size >= crate::sys::abi::CLONE_ARGS_SIZE_VER2
                && clone3.flags.contains(CloneFlags::INTO_CGROUP),
            clone_pidfd,
            pidfd_open,
            pidfd_send_signal,
            pidfd_getfd,
            waitid_pidfd,
            setns_pidfd,
            time_namespaces: system::has_namespace("time"),
            cgroup2_mount: system::cgroup2_mount_noting(&mut evidence.unreadable),
            userns: system::userns_limits(&mut evidence.unreadable),
            pid_max: system::pid_max(&mut evidence.unreadable),
            user_space_end: crate::sys::addr::user_space_end(),
            setns_mnt_with_others_fs_shared: None,
            cap_effective,
            cap_permitted,
            evidence,
        }
    }

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
            user_space_end: crate::sys::addr::USER_SPACE_END_4LEVEL,
            setns_mnt_with_others_fs_shared: None,
            clone3_flags_probed: false,
            clone3_flags_inferred: CloneFlags::empty(),
            cap_effective: (1u64 << 41) - 1,
            cap_permitted: (1u64 << 41) - 1,
            evidence: Evidence::default(),
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
            user_space_end: crate::sys::addr::USER_SPACE_END_4LEVEL,
            setns_mnt_with_others_fs_shared: None,
            clone3_flags_probed: false,
            clone3_flags_inferred: CloneFlags::empty(),
            cap_effective: 0,
            cap_permitted: 0,
            evidence: Evidence::default(),
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
    fn setns_pidfd_alone_agrees_with_the_whole_probe() {
        // Another test may have cached the whole probe, which then gives the short answer;
        // either way it must agree with a fresh whole probe.
        let short = std::thread::spawn(Features::setns_pidfd_supported)
            .join()
            .unwrap();
        assert_eq!(short, Features::probe_uncached().setns_pidfd);
    }

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
