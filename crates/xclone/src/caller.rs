//! What the validator needs to know about the caller, read from `/proc` and a few read-only
//! system calls without changing anything: identity, effective capabilities, the caller's place
//! in the pid and user namespace trees, and the limits that apply to it.
//!
//! [`Caller::current`] reads the calling *thread* (capabilities and credentials are per thread
//! in Linux, see capabilities(7)); [`Caller::root`] and [`Caller::unprivileged`] are synthetic
//! callers for explaining a request independently of the machine and for tests.

mod sharing;

pub use sharing::Sharing;

use crate::sys::ns;
use std::collections::BTreeSet;
use std::fs::File;
use std::os::fd::AsFd;

/// A capability number (`CAP_SYS_ADMIN` = 21, …), see capabilities(7).
pub type Cap = u32;

/// `CAP_DAC_OVERRIDE`: bypass file read, write and execute permission checks (capabilities(7)).
pub const CAP_DAC_OVERRIDE: Cap = 1;
/// `CAP_SETGID`: set group ids; write a gid map of more than the own gid (capabilities(7)).
pub const CAP_SETGID: Cap = 6;
/// `CAP_SETUID`: set user ids; write a uid map of more than the own uid (capabilities(7)).
pub const CAP_SETUID: Cap = 7;
/// `CAP_SYS_CHROOT`: `chroot(2)`; needed with `CAP_SYS_ADMIN` to join a mount namespace (capabilities(7)).
pub const CAP_SYS_CHROOT: Cap = 18;
/// `CAP_SYS_PTRACE`: trace any process; also what `pidfd_getfd(2)` and reading another process's namespaces need (capabilities(7)).
pub const CAP_SYS_PTRACE: Cap = 19;
/// `CAP_SYS_ADMIN`: the catch-all: creating most namespaces, `setns(2)`, `set_tid` (with `CAP_CHECKPOINT_RESTORE` as the narrower alternative) (capabilities(7)).
pub const CAP_SYS_ADMIN: Cap = 21;
/// `CAP_SYS_RESOURCE`: override resource limits (capabilities(7)).
pub const CAP_SYS_RESOURCE: Cap = 24;
/// `CAP_SYS_TIME`: set the clocks; needed to write `/proc/PID/timens_offsets` (capabilities(7)).
pub const CAP_SYS_TIME: Cap = 25;
/// `CAP_SETFCAP`: set file capabilities; mapping uid 0 of the parent into a new user namespace needs it (capabilities(7)).
pub const CAP_SETFCAP: Cap = 31;
/// `CAP_CHECKPOINT_RESTORE`: checkpoint/restore operations (Linux 5.9): choosing PIDs with `set_tid` (capabilities(7)).
pub const CAP_CHECKPOINT_RESTORE: Cap = 40;

/// The highest capability number Linux 7.1 knows (`CAP_LAST_CAP`).
pub const CAP_LAST_CAP: Cap = 40;

/// The capability's name as capabilities(7) spells it.
pub fn cap_name(cap: Cap) -> &'static str {
    match cap {
        CAP_DAC_OVERRIDE => "CAP_DAC_OVERRIDE",
        CAP_SETGID => "CAP_SETGID",
        CAP_SETUID => "CAP_SETUID",
        CAP_SYS_CHROOT => "CAP_SYS_CHROOT",
        CAP_SYS_PTRACE => "CAP_SYS_PTRACE",
        CAP_SYS_ADMIN => "CAP_SYS_ADMIN",
        CAP_SYS_RESOURCE => "CAP_SYS_RESOURCE",
        CAP_SYS_TIME => "CAP_SYS_TIME",
        CAP_SETFCAP => "CAP_SETFCAP",
        CAP_CHECKPOINT_RESTORE => "CAP_CHECKPOINT_RESTORE",
        _ => "CAP_?",
    }
}

/// Inode numbers the kernel gives the initial namespaces (`PROC_*_INIT_INO` in
/// `<linux/proc_ns.h>`); they identify "initial" without any privilege.
const PROC_USER_INIT_INO: u64 = 0xEFFF_FFFD;
const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;

/// How the user namespace owning a pid namespace relates to the caller's own user namespace.
/// This decides whether the caller's capabilities count there (user_namespaces(7)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum NsOwner {
    /// The caller's own user namespace: its effective capabilities count.
    Mine,
    /// A descendant of the caller's user namespace. The caller holds every capability there
    /// when it holds it in its own namespace, and all of them when it (its euid) created the
    /// namespace directly below its own on the way down.
    Below {
        /// Whether the caller's euid created the namespace directly below its own on the way
        /// down (the kernel's "owner" check of `ns_capable()`).
        owned_by_me: bool,
    },
    /// An ancestor of (or unrelated to) the caller's user namespace: no capability counts.
    Above,
    /// Could not be determined from inside the caller's namespaces.
    Unknown,
}

/// Whether a PID is in use in a pid namespace, as far as the caller can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "kebab-case", tag = "how", content = "pids")
)]
#[non_exhaustive]
pub enum PidLookup {
    /// `/proc` belongs to the caller's pid namespace: `/proc/<pid>` exists exactly when the
    /// PID (of a process or a thread) is in use there. Looked up at validation time.
    Procfs,
    /// A fixed set of PIDs in use in the caller's pid namespace (synthetic callers).
    Known(BTreeSet<i32>),
    /// `/proc` belongs to an ancestor pid namespace: a PID of the caller's namespace is in use
    /// when some task's `NSpid:` has it at position `index` and that task's pid namespace is
    /// the caller's (`ns`, as `(st_dev, st_ino)`) or below it. Looked up at validation time.
    AncestorProcfs {
        /// Position of the caller's pid namespace level in an ancestor's `NSpid:` lines.
        index: usize,
        /// The caller's pid namespace, as the `(st_dev, st_ino)` of its `/proc/self/ns/pid`.
        ns: (u64, u64),
    },
    /// No way to tell (procfs of another pid namespace, or none).
    Unknown,
}

impl PidLookup {
    /// `Some(true)` when `pid` is known to be taken in the caller's pid namespace.
    pub fn in_use(&self, pid: i32) -> Option<bool> {
        match self {
            PidLookup::Procfs => Some(std::path::Path::new(&format!("/proc/{pid}")).exists()),
            PidLookup::Known(set) => Some(set.contains(&pid)),
            PidLookup::AncestorProcfs { index, ns } => {
                taken_below_ancestor_procfs(pid, *index, *ns)
            }
            PidLookup::Unknown => None,
        }
    }
}

/// `/proc/sys/user/max_*_namespaces` as seen from the caller's user namespace (0 forbids
/// creating that kind of namespace, see namespaces(7)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct NsLimits {
    /// `user.max_mnt_namespaces`: mount namespaces the caller's user may create (`None`: unreadable).
    pub mnt: Option<u64>,
    /// `user.max_uts_namespaces`: UTS namespaces the caller's user may create (`None`: unreadable).
    pub uts: Option<u64>,
    /// `user.max_ipc_namespaces`: IPC namespaces the caller's user may create (`None`: unreadable).
    pub ipc: Option<u64>,
    /// `user.max_pid_namespaces`: pid namespaces the caller's user may create (`None`: unreadable).
    pub pid: Option<u64>,
    /// `user.max_net_namespaces`: network namespaces the caller's user may create (`None`: unreadable).
    pub net: Option<u64>,
    /// `user.max_cgroup_namespaces`: cgroup namespaces the caller's user may create (`None`: unreadable).
    pub cgroup: Option<u64>,
    /// `user.max_time_namespaces`: time namespaces the caller's user may create (`None`: unreadable).
    pub time: Option<u64>,
    /// `user.max_user_namespaces`: user namespaces the caller's user may create (`None`: unreadable).
    pub user: Option<u64>,
}

impl NsLimits {
    /// The limit for namespace type `kind` (`"mnt"`, `"uts"`, `"ipc"`, `"pid"`, `"net"`,
    /// `"cgroup"`, `"time"`, `"user"`).
    pub fn get(&self, kind: &str) -> Option<u64> {
        match kind {
            "mnt" => self.mnt,
            "uts" => self.uts,
            "ipc" => self.ipc,
            "pid" => self.pid,
            "net" => self.net,
            "cgroup" => self.cgroup,
            "time" => self.time,
            "user" => self.user,
            _ => None,
        }
    }
}

/// Why `copy_pid_ns()`/`create_pid_namespace()` would refuse a new pid namespace below the
/// caller's pid namespace for children (clone3 and unshare share these checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NewPidNsBlock {
    /// The pid namespace for children is no longer the caller's own (`EINVAL`).
    ForChildrenDiffers,
    /// That namespace belongs to a user namespace below the caller's (`EINVAL`).
    OwnerBelow,
    /// The new namespace would be at this level, deeper than 32 (`ENOSPC`).
    TooDeep(u32),
}

/// The caller as the kernel's checks see it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Caller {
    /// PID in the caller's own pid namespace.
    pub pid: i32,
    /// Real user id.
    pub uid: u32,
    /// Effective user id: the identity the kernel checks, and the one that owns a new user
    /// namespace.
    pub euid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective group id.
    pub egid: u32,
    /// `CapEff:` of the calling thread, one bit per capability.
    pub cap_effective: u64,
    /// Depth of the caller's pid namespace (0 = initial), from `NSpid:`; a lower bound when
    /// `pid_ns_level_exact` is false (procfs of a non-initial namespace shows only the levels
    /// from its own namespace down).
    pub pid_ns_level: u32,
    /// Whether `pid_ns_level` is exact (procfs of the initial pid namespace) or a lower bound.
    pub pid_ns_level_exact: bool,
    /// Whether `pid_for_children` differs from the caller's pid namespace (after an
    /// `unshare(CLONE_NEWPID)` or `setns`).
    pub pid_ns_for_children_differs: bool,
    /// Depth of the pid namespace the caller's children are created in without
    /// `CLONE_NEWPID` (equals `pid_ns_level` unless `pid_ns_for_children_differs`).
    pub children_pid_ns_level: u32,
    /// Whether that namespace already has an init (after `unshare(CLONE_NEWPID)` it has none
    /// until the first child is created, and that child must be PID 1).
    pub children_pid_ns_has_init: bool,
    /// Whether the caller is the init of its pid namespace (`SIGNAL_UNKILLABLE`).
    pub is_pid_ns_init: bool,
    /// Whether the caller's user namespace is the initial one.
    pub in_initial_user_ns: bool,
    /// Whether the user namespace owning the caller's pid namespace is the caller's own user
    /// namespace (where its capabilities count for set_tid).
    pub owns_pid_ns: bool,
    /// Depth of the caller's user namespace (0 = initial), when it can be told.
    pub user_ns_level: Option<u32>,
    /// What the calling thread shares with other tasks (threads, `CLONE_FS`, signal
    /// handlers, memory): unshare(2) and setns(2) refuse some requests because of it.
    pub sharing: Sharing,
    /// For each pid namespace level from 0 (outermost) to `children_pid_ns_level`: the user
    /// namespace owning it, relative to the caller's.
    pub pid_ns_owners: Vec<NsOwner>,
    /// Whether the caller's euid and egid have a mapping in its own user namespace (a user
    /// namespace can only be created by an identity the parent namespace can name).
    pub ids_mapped: bool,
    /// Whether the caller runs chrooted (it may then not create user namespaces), when it can
    /// be told.
    pub chrooted: Option<bool>,
    /// Whether the caller was itself created with `CLONE_AUTOREAP` (Linux 7.1). Not visible in
    /// procfs, so `None` for [`Caller::current`].
    pub is_autoreap: Option<bool>,
    /// Whether the caller's time namespace for children differs from its own (after
    /// `unshare(CLONE_NEWTIME)`).
    pub time_ns_for_children_differs: bool,
    /// `RLIMIT_NPROC` soft limit (`None` = unlimited).
    pub rlimit_nproc: Option<u64>,
    /// Tasks (threads included) the caller can see whose real uid is the caller's, counted
    /// only when `rlimit_nproc` is finite.
    pub nproc_count: Option<u64>,
    /// Tasks in the system (`/proc/loadavg`), counted against `threads_max`.
    pub threads: Option<u64>,
    /// `kernel.threads-max`: the most tasks the system allows (`EAGAIN` beyond it).
    pub threads_max: Option<u64>,
    /// `kernel.pid_max` of the caller's pid namespace.
    pub pid_max: Option<u32>,
    /// The `user.max_*_namespaces` limits as the caller's user namespace sees them.
    pub ns_limits: NsLimits,
    /// Whether a file descriptor number below `RLIMIT_NOFILE` is free (for the pidfd).
    pub fd_available: bool,
    /// `RLIMIT_NOFILE` soft limit (`None` = unlimited).
    pub rlimit_nofile: Option<u64>,
    /// The caller's cgroup2 path, relative to its cgroup namespace (`0::` of
    /// `/proc/self/cgroup`).
    pub cgroup2_path: Option<String>,
    /// How the validator may tell whether a PID is in use in the caller's pid namespace.
    pub pids_in_use: PidLookup,
}

impl Caller {
    /// What stands in the way of a new pid namespace, in the kernel's order.
    pub fn new_pid_ns_blocks(&self) -> Vec<NewPidNsBlock> {
        let mut out = Vec::new();
        if self.pid_ns_for_children_differs {
            out.push(NewPidNsBlock::ForChildrenDiffers);
        }
        let owner = self
            .pid_ns_owners
            .get(self.children_pid_ns_level as usize)
            .copied();
        if matches!(owner, Some(NsOwner::Below { .. })) {
            out.push(NewPidNsBlock::OwnerBelow);
        }
        // A lower bound of the depth suffices: deeper is only worse.
        let level = self.children_pid_ns_level + 1;
        if level > crate::sys::abi::MAX_PID_NS_LEVEL as u32 {
            out.push(NewPidNsBlock::TooDeep(level));
        }
        out
    }

    /// Whether capability `cap` is in the effective set.
    pub fn has_cap(&self, cap: Cap) -> bool {
        cap < 64 && self.cap_effective & (1u64 << cap) != 0
    }

    /// Whether the caller holds `cap` in a user namespace related to its own as `owner` says;
    /// `None` when that cannot be told (user_namespaces(7), "Capabilities").
    pub fn has_cap_over(&self, owner: NsOwner, cap: Cap) -> Option<bool> {
        match owner {
            NsOwner::Mine => Some(self.has_cap(cap)),
            NsOwner::Below { owned_by_me } => Some(owned_by_me || self.has_cap(cap)),
            NsOwner::Above => Some(false),
            NsOwner::Unknown => None,
        }
    }

    /// Whether `cap` counts in the initial user namespace (what `capable()` checks).
    pub fn has_global_cap(&self, cap: Cap) -> bool {
        self.in_initial_user_ns && self.has_cap(cap)
    }

    /// An all-powerful root caller in the initial namespaces (for tests and for explaining a
    /// request independently of the machine).
    pub fn root() -> Self {
        Caller {
            pid: 1000,
            uid: 0,
            euid: 0,
            gid: 0,
            egid: 0,
            cap_effective: (1u64 << (CAP_LAST_CAP + 1)) - 1,
            pid_ns_level: 0,
            pid_ns_level_exact: true,
            pid_ns_for_children_differs: false,
            children_pid_ns_level: 0,
            children_pid_ns_has_init: true,
            is_pid_ns_init: false,
            in_initial_user_ns: true,
            owns_pid_ns: true,
            user_ns_level: Some(0),
            sharing: Sharing::ALONE,
            pid_ns_owners: vec![NsOwner::Mine],
            ids_mapped: true,
            chrooted: Some(false),
            is_autoreap: Some(false),
            time_ns_for_children_differs: false,
            rlimit_nproc: None,
            nproc_count: None,
            threads: Some(100),
            threads_max: Some(100_000),
            pid_max: Some(4_194_304),
            ns_limits: NsLimits::default(),
            fd_available: true,
            rlimit_nofile: Some(1024),
            cgroup2_path: Some("/".into()),
            pids_in_use: PidLookup::Known([1, 1000].into_iter().collect()),
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

    /// The calling thread, read from `/proc/thread-self`, `/proc/self` and the nsfs ioctls.
    /// Fails only when procfs is not mounted or unreadable; facts that cannot be determined
    /// are left `None`/`Unknown` for the validator to report as such.
    pub fn current() -> std::io::Result<Self> {
        let status = std::fs::read_to_string("/proc/thread-self/status")
            .or_else(|_| std::fs::read_to_string("/proc/self/status"))?;
        let field = |name: &str| -> Option<&str> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
        };
        let ids = |name: &str| -> Vec<u32> {
            field(name)
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        };
        let uids = ids("Uid");
        let gids = ids("Gid");
        let bad = |what: &str| std::io::Error::other(format!("unreadable {what} in /proc status"));
        let (uid, euid) = (
            *uids.first().ok_or_else(|| bad("Uid"))?,
            *uids.get(1).ok_or_else(|| bad("Uid"))?,
        );
        let (gid, egid) = (
            *gids.first().ok_or_else(|| bad("Gid"))?,
            *gids.get(1).ok_or_else(|| bad("Gid"))?,
        );
        let cap_effective = field("CapEff")
            .and_then(|v| u64::from_str_radix(v, 16).ok())
            .ok_or_else(|| bad("CapEff"))?;
        let nspid_count = field("NSpid").map_or(1, |v| v.split_whitespace().count());
        let pid = rustix::process::getpid().as_raw_nonzero().get();

        let user_ns = File::open("/proc/self/ns/user")?;
        let user_id = ident(&user_ns)?;
        let in_initial_user_ns = user_id.1 == PROC_USER_INIT_INO;

        let pid_ns = File::open("/proc/self/ns/pid")?;
        let pid_id = ident(&pid_ns)?;
        // NSpid lists the levels from the procfs instance's namespace down to ours. Only when
        // that namespace is the initial one (or ours is) is our absolute depth known.
        let proc_is_ours = rustix::fs::readlink("/proc/self", Vec::new())
            .ok()
            .and_then(|l| l.to_str().ok()?.parse::<i32>().ok())
            == Some(pid);
        let procfs_ns_initial = procfs_ns_is_initial(field("PPid"));
        let (pid_ns_level, pid_ns_level_exact) = if pid_id.1 == PROC_PID_INIT_INO {
            (0, true)
        } else if procfs_ns_initial == Some(true) && !proc_is_ours {
            (nspid_count as u32 - 1, true)
        } else {
            // Below the procfs namespace by NSpid's count; one more if that namespace is known
            // not to be the initial one; and not the initial one ourselves.
            let below = nspid_count as u32 - 1;
            let procfs_depth = u32::from(procfs_ns_initial == Some(false));
            ((below + procfs_depth).max(1), false)
        };
        let active_owner = owner_of(&pid_ns, user_id, euid);

        // Without init the for-children namespace cannot be opened (ENOENT): that only happens
        // right after unshare(CLONE_NEWPID), so it sits one level below ours and is owned by
        // the user namespace the caller had then (its own, barring a later setns).
        let (differs, children_level, has_init, child_owners) =
            match File::open("/proc/self/ns/pid_for_children") {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    (true, pid_ns_level + 1, false, vec![NsOwner::Mine])
                }
                Err(e) => return Err(e),
                Ok(f) => {
                    if ident(&f)? == pid_id {
                        (false, pid_ns_level, true, Vec::new())
                    } else {
                        let chain = descend_to(f, pid_id, user_id, euid);
                        (true, pid_ns_level + chain.len() as u32, true, chain)
                    }
                }
            };

        // Levels above ours are invisible (NS_GET_PARENT stops at our own pid namespace). Their
        // owners are ancestors-or-self of our namespace's owner: no capability counts there if
        // none counts at our level, and all of them are the initial user namespace if that is
        // ours.
        let outer = match active_owner {
            NsOwner::Above => NsOwner::Above,
            _ if in_initial_user_ns => NsOwner::Mine,
            _ => NsOwner::Unknown,
        };
        let mut pid_ns_owners = vec![outer; pid_ns_level as usize];
        pid_ns_owners.push(active_owner);
        pid_ns_owners.extend(child_owners);

        let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        let gid_map = std::fs::read_to_string("/proc/self/gid_map").unwrap_or_default();
        let ids_mapped = maps_inside(&uid_map, euid) && maps_inside(&gid_map, egid);

        let time_ns_for_children_differs = match (
            std::fs::metadata("/proc/self/ns/time"),
            std::fs::metadata("/proc/self/ns/time_for_children"),
        ) {
            (Ok(a), Ok(b)) => {
                use std::os::unix::fs::MetadataExt;
                (a.dev(), a.ino()) != (b.dev(), b.ino())
            }
            _ => false,
        };

        let rlimit_nproc = rustix::process::getrlimit(rustix::process::Resource::Nproc).current;
        // Counting means reading every process's status file (milliseconds on a busy
        // machine); skip it where the kernel does not apply the limit to this caller.
        let global_cap = |cap: Cap| in_initial_user_ns && cap_effective & (1u64 << cap) != 0;
        let nproc_exempt = (in_initial_user_ns && uid == 0)
            || global_cap(CAP_SYS_RESOURCE)
            || global_cap(CAP_SYS_ADMIN);
        let nproc_count = rlimit_nproc
            .filter(|_| !nproc_exempt)
            .map(|_| count_tasks_of(uid));
        let threads = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().nth(3)?.split('/').nth(1)?.parse().ok());
        let read_num =
            |p: &str| -> Option<u64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
        let limit = |kind: &str| read_num(&format!("/proc/sys/user/max_{kind}_namespaces"));
        let ns_limits = NsLimits {
            mnt: limit("mnt"),
            uts: limit("uts"),
            ipc: limit("ipc"),
            pid: limit("pid"),
            net: limit("net"),
            cgroup: limit("cgroup"),
            time: limit("time"),
            user: limit("user"),
        };
        let cgroup2_path = std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("0::"))
                    .map(|p| p.trim_end_matches(" (deleted)").to_string())
            });
        Ok(Caller {
            pid,
            uid,
            euid,
            gid,
            egid,
            cap_effective,
            pid_ns_level,
            pid_ns_level_exact,
            pid_ns_for_children_differs: differs,
            children_pid_ns_level: children_level,
            children_pid_ns_has_init: has_init,
            is_pid_ns_init: pid == 1,
            in_initial_user_ns,
            owns_pid_ns: active_owner == NsOwner::Mine,
            // From inside a user namespace its depth cannot be read: NS_GET_PARENT answers
            // only with the caller's own user namespace or one below it (ns_get_owner()).
            user_ns_level: in_initial_user_ns.then_some(0),
            sharing: Sharing::current(),
            pid_ns_owners,
            ids_mapped,
            chrooted: chrooted(),
            is_autoreap: None,
            time_ns_for_children_differs,
            rlimit_nproc,
            nproc_count,
            threads,
            threads_max: read_num("/proc/sys/kernel/threads-max"),
            pid_max: read_num("/proc/sys/kernel/pid_max").map(|v| v as u32),
            ns_limits,
            fd_available: fd_available(),
            rlimit_nofile: rustix::process::getrlimit(rustix::process::Resource::Nofile).current,
            cgroup2_path,
            pids_in_use: if proc_is_ours {
                PidLookup::Procfs
            } else if nspid_count > 1 {
                PidLookup::AncestorProcfs {
                    index: nspid_count - 1,
                    ns: pid_id,
                }
            } else {
                PidLookup::Unknown
            },
        })
    }

    /// Whether the caller holds `CAP_SYS_ADMIN` or (from Linux 5.9) `CAP_CHECKPOINT_RESTORE`
    /// over the user namespace owning pid namespace `level` (absolute depth), which is what
    /// choosing a PID there needs. `None` when that cannot be told.
    pub fn may_set_tid_at(&self, level: u32, checkpoint_restore_counts: bool) -> Option<bool> {
        let owner = *self.pid_ns_owners.get(level as usize)?;
        let admin = self.has_cap_over(owner, CAP_SYS_ADMIN)?;
        let cr = checkpoint_restore_counts && self.has_cap_over(owner, CAP_CHECKPOINT_RESTORE)?;
        Some(admin || cr)
    }
}

/// `(st_dev, st_ino)`: how nsfs identifies a namespace.
fn ident(f: &impl AsFd) -> std::io::Result<(u64, u64)> {
    let st = rustix::fs::fstat(f)?;
    Ok((st.st_dev, st.st_ino))
}

/// Who owns the namespace `ns` relative to the caller. `NS_GET_USERNS` succeeds only for owners
/// that are the caller's user namespace or below it.
pub(crate) fn owner_of(ns: &impl AsFd, my_userns: (u64, u64), euid: u32) -> NsOwner {
    match ns::owning_userns(ns) {
        Ok(owner) => userns_relation(owner, my_userns, euid),
        Err(_) => NsOwner::Above,
    }
}

/// How the user namespace `userns` relates to the caller's (`my_userns`): the same, below it
/// (and whether the caller's `euid` created the namespace directly below its own on the way
/// down), or elsewhere (an ancestor, or another branch of the tree: `NS_GET_PARENT` stops with
/// `EPERM` at the top of what the caller may see before meeting its own namespace).
pub(crate) fn userns_relation(
    userns: std::os::fd::OwnedFd,
    my_userns: (u64, u64),
    euid: u32,
) -> NsOwner {
    let Ok(id) = ident(&userns) else {
        return NsOwner::Unknown;
    };
    if id == my_userns {
        return NsOwner::Mine;
    }
    // Walk up to our own namespace; the step just below it decides ownership by its creator.
    let mut below_mine = userns;
    for _ in 0..64 {
        let parent = match ns::parent_ns(&below_mine) {
            Ok(p) => p,
            Err(rustix::io::Errno::PERM) => return NsOwner::Above,
            Err(_) => return NsOwner::Unknown,
        };
        match ident(&parent) {
            Ok(pid) if pid == my_userns => {
                let owned_by_me = ns::userns_owner_uid(&below_mine).ok() == Some(euid);
                return NsOwner::Below { owned_by_me };
            }
            Ok(_) => below_mine = parent,
            Err(_) => return NsOwner::Unknown,
        }
    }
    NsOwner::Unknown
}

/// The owners of the pid namespaces from just below `active` down to `inner`, outermost first.
fn descend_to(inner: File, active: (u64, u64), my_userns: (u64, u64), euid: u32) -> Vec<NsOwner> {
    let mut chain = vec![owner_of(&inner, my_userns, euid)];
    let mut cur: std::os::fd::OwnedFd = inner.into();
    for _ in 0..64 {
        let Ok(parent) = ns::parent_ns(&cur) else {
            break;
        };
        if ident(&parent).ok() == Some(active) {
            break;
        }
        chain.push(owner_of(&parent, my_userns, euid));
        cur = parent;
    }
    chain.reverse();
    chain
}

/// Whether the pid namespace of the procfs mounted at `/proc` is the initial one, found through
/// any process that lives in it (one `NSpid:` entry) and whose namespace link the caller may
/// read: pid 1, the caller's parent, then any other.
fn procfs_ns_is_initial(ppid: Option<&str>) -> Option<bool> {
    let check = |pid: &str| -> Option<bool> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let nspid = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
        if nspid.split_whitespace().count() != 1 {
            return None;
        }
        let link = std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()?;
        Some(link.to_string_lossy() == format!("pid:[{PROC_PID_INIT_INO}]"))
    };
    let first = ["1", ppid.unwrap_or("1")];
    if let Some(v) = first.iter().find_map(|p| check(p)) {
        return Some(v);
    }
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let name = e.file_name();
        let name = name.to_str()?;
        name.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| check(name))?
    })
}

/// Whether `pid` is taken in the pid namespace `ns`, seen through the procfs of an ancestor
/// namespace where `ns`'s PIDs are at position `index` of `NSpid:`. A task with that number at
/// that position may also belong to a sibling namespace, so each match is confirmed by walking
/// from its namespace up to `ns`.
fn taken_below_ancestor_procfs(pid: i32, index: usize, ns: (u64, u64)) -> Option<bool> {
    let want = pid.to_string();
    let mut unsure = false;
    for proc_entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(tasks) = std::fs::read_dir(proc_entry.path().join("task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
                continue;
            };
            let hit = status.lines().any(|l| {
                l.strip_prefix("NSpid:")
                    .is_some_and(|v| v.split_whitespace().nth(index) == Some(want.as_str()))
            });
            if !hit {
                continue;
            }
            let Ok(f) = File::open(task.path().join("ns/pid")) else {
                unsure = true;
                continue;
            };
            let mut cur: std::os::fd::OwnedFd = f.into();
            for _ in 0..=64 {
                match ident(&cur) {
                    Ok(id) if id == ns => return Some(true),
                    Ok(_) => {}
                    Err(_) => break,
                }
                match ns::parent_ns(&cur) {
                    Ok(p) => cur = p,
                    Err(_) => break,
                }
            }
        }
    }
    if unsure {
        None
    } else {
        Some(false)
    }
}

/// Whether `id` falls in the inside range of some line of a `uid_map`/`gid_map`.
fn maps_inside(map: &str, id: u32) -> bool {
    map.lines().any(|l| {
        let v: Vec<u64> = l
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        v.len() == 3 && (v[0]..v[0] + v[2]).contains(&(id as u64))
    })
}

/// Chrooted processes do not see the mount their root lives on at `/` in mountinfo (mount points
/// outside the root are hidden); a chroot exactly onto a mount point is not detected.
fn chrooted() -> Option<bool> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    Some(!mi.lines().any(|l| l.split(' ').nth(4) == Some("/")))
}

/// Tasks whose real uid (as the caller sees it) is `uid`, over every process visible in
/// `/proc`: the kernel counts threads against `RLIMIT_NPROC`.
fn count_tasks_of(uid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut n = 0;
    for e in dir.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let mut ruid = None;
        let mut threads = 1;
        for l in status.lines() {
            if let Some(v) = l.strip_prefix("Uid:") {
                ruid = v
                    .split_whitespace()
                    .next()
                    .and_then(|x| x.parse::<u32>().ok());
            } else if let Some(v) = l.strip_prefix("Threads:") {
                threads = v.trim().parse().unwrap_or(1);
            }
        }
        if ruid == Some(uid) {
            n += threads;
        }
    }
    n
}

/// Whether some descriptor number below the soft `RLIMIT_NOFILE` is unused.
fn fd_available() -> bool {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return true;
    };
    // The directory handle itself holds one descriptor; it is closed again before the call.
    let open = dir.flatten().count() as u64;
    open.saturating_sub(1) < limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_callers() {
        let r = Caller::root();
        assert!(r.has_cap(CAP_SYS_ADMIN) && r.has_cap(CAP_CHECKPOINT_RESTORE));
        assert_eq!(r.may_set_tid_at(0, true), Some(true));
        let u = Caller::unprivileged(65534);
        assert!(!u.has_cap(CAP_SYS_ADMIN));
        assert_eq!(u.may_set_tid_at(0, true), Some(false));
        let cr = Caller {
            cap_effective: 1 << CAP_CHECKPOINT_RESTORE,
            ..Caller::unprivileged(65534)
        };
        assert_eq!(cr.may_set_tid_at(0, true), Some(true));
        // Before Linux 5.9 only CAP_SYS_ADMIN counts.
        assert_eq!(cr.may_set_tid_at(0, false), Some(false));
        assert_eq!(cr.may_set_tid_at(3, true), None);
    }

    #[test]
    fn owner_relations_decide_capabilities() {
        let u = Caller::unprivileged(1000);
        assert_eq!(
            u.has_cap_over(NsOwner::Below { owned_by_me: true }, CAP_SYS_ADMIN),
            Some(true)
        );
        assert_eq!(
            u.has_cap_over(NsOwner::Below { owned_by_me: false }, CAP_SYS_ADMIN),
            Some(false)
        );
        let r = Caller::root();
        assert_eq!(r.has_cap_over(NsOwner::Above, CAP_SYS_ADMIN), Some(false));
        assert_eq!(r.has_cap_over(NsOwner::Unknown, CAP_SYS_ADMIN), None);
    }

    #[test]
    fn maps() {
        assert!(maps_inside("         0          0 4294967295\n", 65534));
        assert!(!maps_inside("0 1000 1\n", 65534));
        assert!(maps_inside("0 1000 1\n", 0));
    }

    #[test]
    fn current_matches_the_process() {
        let c = Caller::current().unwrap();
        assert_eq!(c.pid, std::process::id() as i32);
        assert_eq!(c.euid, rustix::process::geteuid().as_raw());
        let caps = rustix::thread::capabilities(None).unwrap();
        assert_eq!(c.cap_effective, caps.effective.bits());
        assert_eq!(c.pid_ns_owners.len() as u32, c.children_pid_ns_level + 1);
        assert!(!c.pid_ns_for_children_differs);
        assert_eq!(c.pids_in_use.in_use(c.pid), Some(true));
        assert!(c.fd_available);
        // Our own PID namespace is owned by a user namespace we can see (the test does not
        // run inside a setns'd pid namespace).
        assert_ne!(c.pid_ns_owners[c.pid_ns_level as usize], NsOwner::Unknown);
    }
}
