//! Isolation: namespaces, id maps, time offsets, cgroup placement and mounts. Each part is a
//! parent-side preparation plus the child-side steps that the spawn plan schedules.
//!
//! The namespaces themselves are clone flags (`CLONE_NEW*`): the child is *created* inside
//! them by the one clone3 call, so no extra fork is needed (util-linux `unshare` has to fork
//! after `unshare(CLONE_NEWPID)`). What a namespace needs besides its flag is recorded in an
//! [`Isolation`] on the [`Command`](crate::Command) and carried out around the clone:
//!
//! | what | who | when |
//! |---|---|---|
//! | uid/gid maps, `setgroups` ([`IdMaps`], [`MapPlan`]) | the parent (or `newuidmap`/`newgidmap`) | after the clone, while the child waits (handshake spawn) |
//! | time offsets ([`TimeOffsets`]) | the child, `/proc/self/timens_offsets` | before exec: a `CLONE_VM` child enters its new time namespace only at `execve` |
//! | mount propagation, new root, `proc` ([`Propagation`], [`RootMode`]) | the child | before exec |
//! | host name | the child, `sethostname(2)` | before exec |
//! | `no_new_privs` | the kernel (`CLONE_NNP`, Linux 7.1) or the child (`prctl`) | at clone / before exec |
//! | cgroup ([`Cgroup`]) | the kernel (`CLONE_INTO_CGROUP`) | at clone: the child is born in it |
//!
//! The child's steps run in this order, after the handshake and before the spawn's usual
//! setup (signals, descriptors, identity, working directory, `pre_exec` hooks): time
//! offsets, mount propagation, new root, `proc` (inside the new root, as util-linux `unshare
//! --root --mount-proc` does), host name, `no_new_privs`.
//!
//! ```no_run
//! use xclone::isolate::{IdMaps, Propagation, TimeOffsets};
//! use xclone::{CloneFlags, Command};
//! let (euid, egid) = (rustix::process::geteuid().as_raw(), rustix::process::getegid().as_raw());
//! // What `xclone run -Urpmu -T --mount-proc --hostname box --monotonic 86400 -- ps -e` does.
//! let out = Command::new("ps")
//!     .arg("-e")
//!     .flags(CloneFlags::NEWUSER | CloneFlags::NEWPID | CloneFlags::NEWNS
//!         | CloneFlags::NEWUTS | CloneFlags::NEWTIME)
//!     .id_maps(IdMaps::root(euid, egid)) // works unprivileged: one line, your own ids
//!     .mount_propagation(Propagation::Private)
//!     .mount_proc("/proc")
//!     .hostname("box")
//!     .time_offsets(TimeOffsets { monotonic: Some("86400".parse().unwrap()), boottime: None })
//!     .output()?;
//! assert!(String::from_utf8_lossy(&out.stdout).lines().count() == 2); // header and ps, PID 1
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Id maps
//!
//! The user and group id maps of a new user namespace ([`IdMaps`], user_namespaces(7)) are
//! written by the parent while the child waits: `/proc/PID/setgroups` first (an unprivileged
//! writer must deny setgroups before it may write a gid map), then `gid_map`, then `uid_map`,
//! each whole map in one `write()`.
//!
//! Which writer is used is decided *before* the clone ([`MapPlan::prepare`]), so that a
//! missing helper or subordinate-id range is reported without creating anything:
//!
//! - with `CAP_SETUID` (uid map) / `CAP_SETGID` (gid map) in the caller's user namespace, or
//!   for the one line an unprivileged process may write (its own effective id, count 1), the
//!   parent writes `/proc/PID/uid_map` and `gid_map` itself, each in one `write()`;
//! - anything else goes through the setuid helpers `newuidmap(1)`/`newgidmap(1)` of
//!   shadow-utils (found on `PATH`), which check the ranges against `/etc/subuid` and
//!   `/etc/subgid` — checked here first, for a clear message.
//!
//! ## Time offsets
//!
//! Clock offsets of a new time namespace ([`TimeOffsets`], time_namespaces(7)) live in `/proc/PID/timens_offsets` of a process whose *for-children* time namespace
//! is new and not yet entered. With a `CLONE_VM` spawn on Linux 6.2 and later the child
//! switches to its new time namespace only at `execve`, so the child itself writes the
//! offsets just before exec and the program's first instruction already sees them (see
//! `docs/clone3.md` §7.4 of the project).
//!
//! Before 6.2 a `CLONE_VM` child created with `CLONE_NEWTIME` is in the new namespace from
//! its first instruction, its offsets frozen before it could write them (`timens_on_fork()`
//! in `copy_namespaces()`, kernel/nsproxy.c). There the offsets must be written before any
//! task enters the namespace: [`enter_new_time_namespace`] does it in the calling process,
//! whose children are then born in the namespace without `CLONE_NEWTIME`.
//! [`vm_child_enters_time_ns_at_exec`] asks the kernel which of the two it does.
//!
//! ## Mounts
//!
//! The mount side of isolation: propagation of the new mount namespace, a new root
//! (`chroot` or `pivot_root`), and a fresh `proc` for the new pid namespace.
//!
//! [`MountRequest`] is what a [`Command`](crate::Command) records; the crate-private
//! `MountPlan` is the same prepared for the child (every path a `CString`, every flag word
//! computed), and `MountPlan::apply` is what the child runs between clone and exec, in this
//! order:
//!
//! 1. propagation of every mount (mount(2) `MS_REC | MS_PRIVATE` and friends on `/`), so
//!    that nothing the child mounts reaches the parent's namespace;
//! 2. the new root: `chroot(2)` into the directory, or `pivot_root(2)` onto it (bind-mounted
//!    onto itself first, the old root detached afterwards), then `chdir("/")`;
//! 3. `proc` mounted (`nosuid,nodev,noexec`) on the requested directory — *inside* the new
//!    root when there is one, as util-linux `unshare --root --mount-proc` does (with
//!    `pivot_root`, before the old root is detached: see `MountPlan::prepare`). `proc` shows
//!    the pid namespace the child is in, so with `CLONE_NEWPID` only the child's tree.
//!
//! ## Cgroups
//!
//! cgroup2 directories for `CLONE_INTO_CGROUP` (clone(2), cgroups(7)): opening one the way
//! the kernel wants it, checked to really be cgroup2 ([`open_cgroup2_dir`]), and creating or
//! removing cgroups ([`Cgroup`]).
//!
//! The hierarchy is found in `/proc/self/mountinfo` (by [`Features::probe`](crate::probe::Features::probe)), never assumed:
//! pure cgroup2 systems mount it on `/sys/fs/cgroup`, hybrid ones on
//! `/sys/fs/cgroup/unified`, containers anywhere.
//!
//! Why the kernel may still refuse a cgroup that opens fine — a threaded or
//! "domain invalid" target (`EOPNOTSUPP`), controllers enabled in its `subtree_control`
//! (`EBUSY`, "no internal processes"), no write access to its `cgroup.procs` or to that of
//! the common ancestor (`EACCES`) — is explained by the validator
//! ([`crate::validate::CgroupFacts`]), which `spawn` consults when clone3 fails.
//!
//! ## Persistent namespaces
//!
//! A new namespace of the child can be bind-mounted on a file ([`Isolation::persist`]), so
//! that it
//! outlives the child (as `unshare --net=/run/netns/NAME` and `ip netns add` make them) and
//! can be joined later through that file (`xclone enter --net=FILE`, `nsenter --net=FILE`,
//! `ip netns exec`).
//!
//! The parent does it during the handshake spawn, while the child waits before its own
//! steps and the exec: `/proc/PID/ns/TYPE` of the child exists for sure then (a child that
//! already exited would have no namespace left to keep). The bind mount is made in the
//! parent's mount namespace, on a file that must exist. The kernel refuses to bind a mount
//! namespace file where that could make a reference loop (`mnt_ns_loop` in fs/namespace.c),
//! and a bind on a mount with shared propagation would be copied to its peers: like
//! unshare, persist a mount namespace on a file of a private mount.

// `init` and `sandbox` are sub-layers with public paths of their own; the other modules are
// file boundaries whose public items have their one path here.
mod caps;
pub(crate) mod cgroup;
pub(crate) mod error;
pub(crate) mod fs_child;
mod fs_ops;
pub(crate) mod fs_plan;
pub(crate) mod idmap;
pub mod init;
pub(crate) mod mounts;
pub(crate) mod persist;
mod rlimits;
pub mod sandbox;
mod seccomp;
pub(crate) mod timens;
pub(crate) mod userns;

pub use cgroup::{cgroup2_mount, open_cgroup2_dir, Cgroup, CGROUP2_SUPER_MAGIC};
pub use error::IsolationError;
pub use idmap::{IdMap, IdMaps, IdRange, SetGroups, MAX_MAP_LINES};
pub use mounts::{MountRequest, Propagation, RootMode};
pub use persist::ns_file_name;
pub use timens::{
    enter_new_time_namespace, vm_child_enters_time_ns_at_exec, ClockOffset, TimeOffsets,
};
pub use userns::{Environment, MapPlan, MapWrite, Writer};

use crate::spawn::Step;
use crate::sys::flags::CloneFlags;
use crate::sys::isolate as si;
use mounts::MountPlan;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// `HOST_NAME_MAX`.
pub const HOST_NAME_MAX: usize = 64;

/// What a [`Command`](crate::Command) asks for beyond the clone flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Isolation {
    /// Maps of the new user namespace (needs `CLONE_NEWUSER`).
    pub id_maps: Option<IdMaps>,
    /// Offsets of the new time namespace (needs `CLONE_NEWTIME`).
    pub time_offsets: TimeOffsets,
    /// Mount propagation, proc and a new root.
    pub mounts: MountRequest,
    /// Host name in the new UTS namespace (needs `CLONE_NEWUTS`).
    pub hostname: Option<OsString>,
    /// Set `no_new_privs` on the child: `CLONE_NNP` where the kernel has it, else
    /// `prctl(PR_SET_NO_NEW_PRIVS)` in the child before exec (same effect for the program).
    pub no_new_privs: bool,
    /// New namespaces to keep beyond the child's life: each of these types (one
    /// `CLONE_NEW*` flag, which the request must have) is bind-mounted by the parent on the
    /// existing file given, before the child goes on (see [`ns_file_name`]).
    pub persist: Vec<(CloneFlags, std::path::PathBuf)>,
}

impl Isolation {
    /// Nothing is asked.
    pub fn is_empty(&self) -> bool {
        *self == Isolation::default()
    }

    /// Whether the spawn needs the parent to act while the child waits (id maps, persisted
    /// namespaces).
    pub fn needs_handshake(&self) -> bool {
        self.id_maps.as_ref().is_some_and(|m| !m.is_empty()) || !self.persist.is_empty()
    }

    /// What the request lacks among the clone `flags` for these settings to make sense
    /// (`None`: nothing).
    pub fn check(&self, flags: CloneFlags) -> Result<(), String> {
        let has = |f: CloneFlags| flags.intersects(f);
        if self.id_maps.as_ref().is_some_and(|m| !m.is_empty()) && !has(CloneFlags::NEWUSER) {
            return Err("id maps need a new user namespace (CLONE_NEWUSER)".into());
        }
        if !self.time_offsets.is_empty() && !has(CloneFlags::NEWTIME) {
            return Err("time offsets need a new time namespace (CLONE_NEWTIME)".into());
        }
        if let Some(h) = &self.hostname {
            if !has(CloneFlags::NEWUTS) {
                return Err(
                    "a host name needs a new UTS namespace (CLONE_NEWUTS), or it would rename \
                     the parent's host"
                        .into(),
                );
            }
            if h.len() > HOST_NAME_MAX {
                return Err(format!(
                    "host name {h:?} is longer than {HOST_NAME_MAX} bytes"
                ));
            }
        }
        for (kind, file) in &self.persist {
            if persist::ns_file_name(*kind).is_none() || !flags.contains(*kind) {
                return Err(format!(
                    "persisting a namespace on {} needs a new namespace of that one type ({})",
                    file.display(),
                    kind.to_names_string()
                ));
            }
        }
        if self.mounts.needs_mount_namespace() && !has(CloneFlags::NEWNS | CloneFlags::EMPTY_MNTNS)
        {
            return Err(
                "mount propagation, a new proc and pivot_root need a new mount namespace \
                 (CLONE_NEWNS), or they would change the parent's mounts"
                    .into(),
            );
        }
        Ok(())
    }
}

impl Isolation {
    /// The child's isolation steps in the order it runs them, one line each (for dry runs).
    /// `nnp_by_flag`: `no_new_privs` is carried by `CLONE_NNP`.
    pub fn describe_child_steps(&self, nnp_by_flag: bool) -> Vec<String> {
        let mut out = Vec::new();
        if !self.time_offsets.is_empty() {
            out.push(format!(
                "write '{}' to /proc/self/timens_offsets (before exec: the program starts in \
                 the new time namespace with these offsets)",
                self.time_offsets
                    .to_proc_text()
                    .trim_end()
                    .replace('\n', ", ")
            ));
        }
        let m = &self.mounts;
        if let Some(p) = m.propagation.filter(|p| *p != Propagation::Unchanged) {
            out.push(format!("make every mount {p} (mount / with MS_REC)"));
        }
        match &m.root {
            Some((d, RootMode::Chroot)) => out.push(format!("chroot {}; chdir /", d.display())),
            Some((d, RootMode::PivotRoot)) => out.push(format!(
                "bind-mount {0} onto itself, pivot_root {0}, detach the old root; chdir /",
                d.display()
            )),
            None => {}
        }
        if let Some(d) = &m.proc_dir {
            out.push(format!(
                "mount proc on {} (nosuid,nodev,noexec)",
                d.display()
            ));
        }
        if let Some(h) = &self.hostname {
            out.push(format!("sethostname {}", h.to_string_lossy()));
        }
        if self.no_new_privs && !nnp_by_flag {
            out.push("prctl(PR_SET_NO_NEW_PRIVS, 1)".into());
        }
        out
    }
}

/// The child's isolation steps, prepared before the clone.
#[derive(Debug, Default)]
pub(crate) struct ChildSteps {
    pub time_offsets: Option<Vec<u8>>,
    pub mounts: MountPlan,
    pub hostname: Option<Vec<u8>>,
    /// `prctl(PR_SET_NO_NEW_PRIVS)` in the child (when `CLONE_NNP` is not used).
    pub no_new_privs: bool,
    pub sandbox: sandbox::SandboxPlan,
}

/// A failed child step: which, which item of it, errno.
pub(crate) type StepFail = (Step, usize, i32);

impl ChildSteps {
    /// `flags`: the spawn's clone flags (`CLONE_NNP` makes the child's prctl unnecessary,
    /// `CLONE_NEWPID` decides what `--proc` mounts).
    pub(crate) fn prepare(
        iso: &Isolation,
        sandbox: &sandbox::Sandbox,
        flags: CloneFlags,
    ) -> Result<Self, String> {
        let nnp_by_flag = flags.contains(CloneFlags::NNP);
        Ok(ChildSteps {
            sandbox: sandbox::SandboxPlan::prepare(sandbox, flags.contains(CloneFlags::NEWPID))?,
            time_offsets: (!iso.time_offsets.is_empty())
                .then(|| iso.time_offsets.to_proc_text().into_bytes()),
            mounts: MountPlan::prepare(&iso.mounts)?,
            hostname: iso.hostname.as_ref().map(|h| h.as_bytes().to_vec()),
            no_new_privs: iso.no_new_privs && !nnp_by_flag,
        })
    }

    /// Runs in the `CLONE_VM` child between clone and exec: raw calls on prepared data.
    pub(crate) fn run(&self) -> Result<(), StepFail> {
        if let Some(text) = &self.time_offsets {
            // The new time namespace is this child's for-children one until execve, and
            // nobody has entered it yet: its offsets can still be written.
            si::write_file(c"/proc/self/timens_offsets", text)
                .map_err(|e| (Step::TimeOffsets, 0, e))?;
        }
        self.mounts.apply()?;
        self.sandbox.early()?;
        if let Some(name) = &self.hostname {
            si::sethostname(name).map_err(|e| (Step::Sethostname, 0, e))?;
        }
        if self.no_new_privs {
            si::set_no_new_privs().map_err(|e| (Step::NoNewPrivs, 0, e))?;
        }
        Ok(())
    }

    /// What a failed step was working on, for the message.
    pub(crate) fn describe(&self, step: Step, index: usize) -> String {
        match step {
            Step::TimeOffsets => self
                .time_offsets
                .as_deref()
                .map(|t| {
                    format!(
                        "/proc/self/timens_offsets '{}'",
                        String::from_utf8_lossy(t).trim_end().replace('\n', ", ")
                    )
                })
                .unwrap_or_default(),
            Step::Sethostname => self
                .hostname
                .as_deref()
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .unwrap_or_default(),
            Step::Filesystem
            | Step::Rlimit
            | Step::Capabilities
            | Step::Seccomp
            | Step::Block
            | Step::Loopback
            | Step::NestedUserNs
            | Step::Setns => self.sandbox.describe(step, index),
            _ => mounts::describe(step, index, &self.mounts),
        }
    }
}

/// A hint for the usual cause of a failed isolation step, if there is one to give.
pub(crate) fn hint(step: Step, errno: i32) -> Option<&'static str> {
    match (step, errno) {
        (Step::TimeOffsets, libc::EPERM) => Some(
            "time offsets need CAP_SYS_TIME over the new time namespace: run as root or add \
             a user namespace (-U)",
        ),
        (Step::TimeOffsets, libc::EACCES) => Some(
            "the time namespace was entered already, its offsets are frozen: before Linux 6.2 \
             a CLONE_VM child is in its new time namespace from its first instruction; there \
             the caller must create the namespace and write the offsets itself, which needs \
             CAP_SYS_ADMIN and CAP_SYS_TIME (xclone run does so as root)",
        ),
        (Step::TimeOffsets, libc::ERANGE) => Some(
            "the clock plus the offset must stay between 0 and about 146 years (negative \
             offsets larger than the uptime are refused)",
        ),
        (Step::Sethostname, libc::EPERM) => {
            Some("sethostname needs CAP_SYS_ADMIN over the UTS namespace: add -U or run as root")
        }
        (Step::Handshake, _) => Some("the parent went away before it released the child"),
        (
            Step::Filesystem
            | Step::Rlimit
            | Step::Capabilities
            | Step::Seccomp
            | Step::Loopback
            | Step::NestedUserNs,
            _,
        ) => sandbox::hint(step, errno),
        _ => mounts::hint(step, errno),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_missing_namespace() {
        let mut iso = Isolation {
            id_maps: Some(IdMaps::root(0, 0)),
            ..Default::default()
        };
        assert!(iso.needs_handshake());
        assert!(iso
            .check(CloneFlags::empty())
            .unwrap_err()
            .contains("CLONE_NEWUSER"));
        assert!(iso.check(CloneFlags::NEWUSER).is_ok());
        iso.hostname = Some("h".into());
        assert!(iso
            .check(CloneFlags::NEWUSER)
            .unwrap_err()
            .contains("CLONE_NEWUTS"));
        iso.hostname = Some("x".repeat(65).into());
        assert!(iso
            .check(CloneFlags::NEWUSER | CloneFlags::NEWUTS)
            .unwrap_err()
            .contains("longer than 64"));
        let t = Isolation {
            time_offsets: TimeOffsets {
                monotonic: Some("1".parse().unwrap()),
                boottime: None,
            },
            ..Default::default()
        };
        assert!(t
            .check(CloneFlags::empty())
            .unwrap_err()
            .contains("CLONE_NEWTIME"));
        let m = Isolation {
            mounts: MountRequest {
                proc_dir: Some("/proc".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(m
            .check(CloneFlags::NEWPID)
            .unwrap_err()
            .contains("CLONE_NEWNS"));
        assert!(m.check(CloneFlags::NEWNS).is_ok());
        assert!(Isolation::default().is_empty());
    }

    #[test]
    fn child_steps_prepared() {
        let iso = Isolation {
            time_offsets: TimeOffsets {
                monotonic: Some("-1.5".parse().unwrap()),
                boottime: None,
            },
            hostname: Some("box".into()),
            no_new_privs: true,
            ..Default::default()
        };
        let s =
            ChildSteps::prepare(&iso, &sandbox::Sandbox::default(), CloneFlags::empty()).unwrap();
        assert_eq!(
            s.time_offsets.as_deref(),
            Some(&b"monotonic -2 500000000\n"[..])
        );
        assert_eq!(s.hostname.as_deref(), Some(&b"box"[..]));
        assert!(s.no_new_privs);
        assert!(
            !ChildSteps::prepare(&iso, &sandbox::Sandbox::default(), CloneFlags::NNP)
                .unwrap()
                .no_new_privs
        );
        assert_eq!(
            s.describe(Step::TimeOffsets, 0),
            "/proc/self/timens_offsets 'monotonic -2 500000000'"
        );
    }
}
