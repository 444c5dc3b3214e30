//! A bubblewrap-style sandbox in the one clone3 call: the file tree ([`Filesystem`]),
//! resource limits ([`Rlimit`]), the capabilities kept ([`CapSet`]), seccomp filters
//! ([`SeccompProgram`]) and a new network namespace's loopback interface brought up
//! ([`Sandbox::loopback_up`]), all prepared by the parent and carried out by the child between
//! clone and exec — no setuid helper, no second process (unless [`Sandbox::init`] asks for
//! bubblewrap's init at PID 1), no copy of the parent's memory.
//!
//! Where each part runs among the child's steps (see `spawn::child_side`):
//!
//! | part | when |
//! |---|---|
//! | wait on `userns_block_fd` | first, right after the id maps are written |
//! | `loopback_up` | next, while every capability is still held |
//! | file tree, rlimits | with the other isolation steps |
//! | keep-caps flag, bounding set | just before the identity change (`setgid`/`setuid`) |
//! | `setns` into `userns2`, then permitted/effective/inheritable, ambient | just after it |
//! | `keep_caps`: inheritable := permitted, effective raised into ambient | right after those |
//! | wait on `block_fd`, `no_new_privs`, seccomp filters | last, right before `execve` |
//!
//! Joining existing user and pid namespaces *before* the clone (bubblewrap's `--userns`,
//! `--pidns`) changes the calling process itself: [`join_before_spawn`].
//!
//! ```no_run
//! use xclone::isolate::sandbox::{Sandbox, Filesystem, FsOp, BindKind};
//! use xclone::isolate::IdMaps;
//! use xclone::{CloneFlags, Command};
//! let (euid, egid) = (rustix::process::geteuid().as_raw(), rustix::process::getegid().as_raw());
//! let ro = BindKind { read_only: true, ..Default::default() };
//! let mut sandbox = Sandbox::default(); // `Sandbox` may grow: set the fields you need
//! sandbox.filesystem = Some(Filesystem {
//!     base: None,
//!     ops: vec![
//!         FsOp::Bind { src: "/usr".into(), dest: "/usr".into(), kind: ro },
//!         FsOp::Symlink { target: "usr/bin".into(), dest: "/bin".into() },
//!         FsOp::Symlink { target: "usr/lib".into(), dest: "/lib".into() },
//!         FsOp::Symlink { target: "usr/lib64".into(), dest: "/lib64".into() },
//!         FsOp::Proc { dest: "/proc".into() },
//!         FsOp::Dev { dest: "/dev".into() },
//!     ],
//! });
//! let out = Command::new("/bin/ls")
//!     .arg("/")
//!     .flags(CloneFlags::NEWUSER | CloneFlags::NEWNS | CloneFlags::NEWPID)
//!     .id_maps(IdMaps::root(euid, egid))
//!     .sandbox(sandbox)
//!     .output()?;
//! assert_eq!(String::from_utf8_lossy(&out.stdout), "bin\ndev\nlib\nlib64\nproc\nusr\n");
//! # Ok::<(), std::io::Error>(())
//! ```

pub use super::caps::{Cap, CapChange, CapSet};
pub use super::fs_ops::{BindKind, Filesystem, FsOp};
pub use super::rlimits::Rlimit;
pub use super::seccomp::SeccompProgram;

use super::caps::CapsPlan;
use super::fs_plan::{self, FsPlan};
use crate::spawn::Step;
use crate::sys::flags::CloneFlags;
use crate::sys::isolate as si;
use crate::sys::sandbox as ss;
use crate::sys::sandbox::SockFprog;
use std::os::fd::{BorrowedFd, RawFd};

/// Moves the *calling process* into an existing user namespace and/or makes its next
/// children start in an existing pid namespace (`setns(2)`), so that a spawn afterwards
/// creates its new namespaces inside them — bubblewrap's `--userns FD` and `--pidns FD`.
/// Joining a user namespace needs a single-threaded caller and `CAP_SYS_ADMIN` in it;
/// joining a pid namespace only affects children created afterwards
/// (`/proc/self/ns/pid_for_children`). Irreversible for the calling process.
pub fn join_before_spawn(
    userns: Option<BorrowedFd<'_>>,
    pidns: Option<BorrowedFd<'_>>,
) -> Result<(), String> {
    use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
    if let Some(fd) = userns {
        move_into_link_name_space(fd, Some(LinkNameSpaceType::User))
            .map_err(|e| format!("setns into the user namespace (--userns): {e}"))?;
    }
    if let Some(fd) = pidns {
        move_into_link_name_space(fd, Some(LinkNameSpaceType::ProcessID))
            .map_err(|e| format!("setns into the pid namespace (--pidns): {e}"))?;
    }
    Ok(())
}

/// What a sandbox adds to a spawn. Empty by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sandbox {
    /// A new root built from operations (needs `CLONE_NEWNS`).
    pub filesystem: Option<Filesystem>,
    /// The capabilities the program keeps; `None` leaves them as the kernel makes them.
    pub capabilities: Option<CapSet>,
    /// Shrink only the bounding set to this set (`PR_CAPBSET_DROP` of every capability
    /// outside it, before the identity change) and leave the other sets as the kernel makes
    /// them. A new user namespace hands its creator a full bounding set; with this set to the
    /// caller's effective capabilities a uid-0 program gets at exec exactly what the caller
    /// held (its permitted set is the bounding set when the inheritable set is empty), which
    /// is what bubblewrap leaves a real root's sandbox. Applies together with
    /// [`Sandbox::capabilities`] (the bounding set is then the intersection).
    pub bounding_set: Option<CapSet>,
    /// Resource limits set in the child before exec (setrlimit(2)), in this order.
    pub rlimits: Vec<Rlimit>,
    /// Filters installed in this order right before exec.
    pub seccomp: Vec<SeccompProgram>,
    /// Wait until this descriptor yields a byte or end of file, before anything else
    /// (`--userns-block-fd`: the caller writes id maps meanwhile).
    pub userns_block_fd: Option<RawFd>,
    /// Wait likewise right before exec, after the whole setup (`--block-fd`).
    pub block_fd: Option<RawFd>,
    /// `setns` into this user namespace after the setup, before the capabilities are set
    /// (`--userns2`: typically a user namespace nested in the child's own).
    pub userns2: Option<RawFd>,
    /// After the file tree (and after `userns2`), create a user namespace nested in the
    /// child's own (`unshare(CLONE_NEWUSER)`) and write these maps for it from the child
    /// itself (`/proc/self/uid_map`, `setgroups` when set, `gid_map`); their outside ids are
    /// the child's ids in its first user namespace, so each map is the one line a process may
    /// write for itself (user_namespaces(7)). bubblewrap does this for an unprivileged caller
    /// whose sandbox has a `--dev`: the first namespace maps root so that the new `devpts` is
    /// mounted by uid 0, the nested one gives the program its own ids (`uid_map` then reads
    /// `65534 0 1`). The new namespace hands out a full bounding set again: with
    /// [`Sandbox::capabilities`] the bounding set is shrunk once more after it. A failure is
    /// [`Step::NestedUserNs`].
    pub nested_user_ns: Option<super::IdMaps>,
    /// util-linux's `--keep-caps`: after the identity change (and the steps above), the
    /// inheritable set becomes the permitted set and every effective capability is raised
    /// into the ambient set, so that the capabilities the child holds (typically all of
    /// them, in a user namespace it created or joined) survive `execve` whatever the
    /// program's uid (capabilities(7)). The bounding, permitted and effective sets are left
    /// as they are; a child that holds nothing keeps nothing.
    pub keep_caps: bool,
    /// Bring the loopback interface `lo` of the child's new network namespace up, as
    /// bubblewrap does for `--unshare-net`: the kernel then gives it `127.0.0.1/8` and
    /// `::1` by itself. A new network namespace starts with `lo` down (what
    /// `unshare --net` leaves). Needs `CLONE_NEWNET` and `CAP_NET_ADMIN` over the new
    /// namespace (root, or a new user namespace created with it); runs in the child before
    /// the file tree and before any capability is dropped. A failure is
    /// [`Step::Loopback`], naming the system call.
    pub loopback_up: bool,
    /// bubblewrap's layout of a new pid namespace: the clone3 child stays as PID 1 of the
    /// namespace, an init of xclone's that never execs, and the program runs as PID 2 (its
    /// child). The init forwards the signals it receives to the program (except those the
    /// kernel sent to a whole process group, such as a terminal's ^C, which the program got
    /// already), reaps every orphan of the namespace, leads the session when
    /// [`Command::setsid`](crate::Command::setsid) is asked (as bubblewrap's PID 1 does), and
    /// writes the program's wait status to a pipe the [`Child`](crate::Child) reads before
    /// it exits: [`Child::wait`](crate::Child::wait) returns the *program's* status without
    /// waiting for the init's exit and the namespaces' teardown after it. The file tree,
    /// limits, hostname and death signal are set up by the init (and so hold for both);
    /// signal dispositions, descriptors, identity, capabilities, working directory, mask,
    /// hooks, `block_fd` and seccomp by the program's process only.
    ///
    /// The init runs on memory it shares with the caller: its stack stays mapped until the
    /// [`Child`](crate::Child) has reaped it. [`Child::wait`](crate::Child::wait) reaps it
    /// (it ends right after writing the status, once its namespaces are torn down);
    /// `try_wait` and `wait_timeout` return as soon as the status is there, and a later
    /// `try_wait` or the drop reaps the init if it has ended by then. A `Child` dropped while
    /// the init still runs leaves its stack mapped (leaked) and the init to the caller's
    /// reaping. Needs `CLONE_NEWPID`. Without it (bubblewrap's
    /// `--as-pid-1`, util-linux's contract) the program itself is PID 1.
    pub init: bool,
}

impl Sandbox {
    /// Whether it asks for nothing (then a spawn ignores it).
    pub fn is_empty(&self) -> bool {
        *self == Sandbox::default()
    }

    /// What the request lacks among the clone `flags`.
    pub fn check(&self, flags: CloneFlags) -> Result<(), String> {
        if self.filesystem.is_some() && !flags.contains(CloneFlags::NEWNS) {
            return Err(
                "a sandbox's file tree needs a new mount namespace (CLONE_NEWNS), or it would \
                 change the parent's mounts"
                    .into(),
            );
        }
        if self.init && !flags.contains(CloneFlags::NEWPID) {
            return Err(
                "an init at PID 1 of the sandbox needs a new pid namespace (CLONE_NEWPID)".into(),
            );
        }
        if self.loopback_up && !flags.contains(CloneFlags::NEWNET) {
            return Err(
                "bringing the loopback interface up needs a new network namespace \
                 (CLONE_NEWNET), or it would change the parent's"
                    .into(),
            );
        }
        Ok(())
    }

    /// The child's sandbox steps in order, one line each (for dry runs).
    pub fn describe_steps(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.loopback_up {
            out.push("bring the loopback interface lo up (SIOCSIFFLAGS IFF_UP)".into());
        }
        if let Some(fs) = &self.filesystem {
            out.extend(fs_plan::describe_ops(fs));
        }
        for r in &self.rlimits {
            out.push(format!("prlimit {r}"));
        }
        if let Some(c) = self.capabilities {
            out.push(format!("capabilities kept: {c}"));
        }
        if let Some(c) = self.bounding_set {
            out.push(format!("bounding set kept: {c}"));
        }
        if let Some(fd) = self.userns2 {
            out.push(format!("setns into the user namespace of descriptor {fd}"));
        }
        if let Some(m) = &self.nested_user_ns {
            out.push(format!(
                "create a nested user namespace (unshare CLONE_NEWUSER) with uid map '{}', gid \
                 map '{}'",
                m.uid.to_proc_text().trim_end().replace('\n', ", "),
                m.gid.to_proc_text().trim_end().replace('\n', ", ")
            ));
        }
        if self.keep_caps {
            out.push(
                "keep capabilities: inheritable := permitted, each effective one raised into \
                 the ambient set (unshare --keep-caps)"
                    .into(),
            );
        }
        if let Some(fd) = self.block_fd {
            out.push(format!("wait for descriptor {fd} (a byte or end of file)"));
        }
        for (i, p) in self.seccomp.iter().enumerate() {
            out.push(format!(
                "seccomp filter #{i} ({} instructions), right before exec",
                p.len()
            ));
        }
        if self.init {
            out.push(
                "stay as PID 1 (an init of xclone's, no exec): create the program's process \
                 (clone CLONE_VM|CLONE_VFORK), which runs the steps from the signal \
                 dispositions on and execs as PID 2; then forward signals to it, reap \
                 orphans and write its wait status to the parent's pipe before exiting"
                    .into(),
            );
        }
        out
    }
}

/// The prepared sandbox.
#[derive(Debug, Default)]
pub(crate) struct SandboxPlan {
    fs: Option<FsPlan>,
    /// `(resource, soft, hard)`.
    rlimits: Vec<(u32, u64, u64)>,
    caps: Option<CapsPlan>,
    bounding: Option<CapsPlan>,
    /// The programs (owning the instructions) and their `sock_fprog`s pointing into them.
    seccomp: Vec<(SeccompProgram, SockFprog)>,
    userns_block_fd: Option<RawFd>,
    block_fd: Option<RawFd>,
    userns2: Option<RawFd>,
    nested: Option<NestedPlan>,
    /// `keep_caps`: the highest capability number to raise into the ambient set.
    keep_caps: Option<u32>,
    loopback_up: bool,
}

impl SandboxPlan {
    /// `new_pid_ns`: the spawn creates a pid namespace (what `--proc` mounts depends on it).
    pub(crate) fn prepare(s: &Sandbox, new_pid_ns: bool) -> Result<Self, String> {
        let fs = s
            .filesystem
            .as_ref()
            .map(|f| FsPlan::prepare(f, new_pid_ns))
            .transpose()?;
        let rlimits = s
            .rlimits
            .iter()
            .map(|r| r.resolve().map(|(a, b)| (r.resource, a, b)))
            .collect::<Result<_, _>>()?;
        let seccomp = s
            .seccomp
            .iter()
            .map(|p| {
                let p = p.clone();
                // The instructions live in the program's boxed slice: moving the program
                // into the tuple does not move them.
                let f = SockFprog::new(p.insns());
                (p, f)
            })
            .collect();
        Ok(SandboxPlan {
            fs,
            rlimits,
            caps: s.capabilities.map(CapsPlan::new),
            bounding: s.bounding_set.map(CapsPlan::new),
            seccomp,
            userns_block_fd: s.userns_block_fd,
            block_fd: s.block_fd,
            userns2: s.userns2,
            nested: s.nested_user_ns.as_ref().map(NestedPlan::new).transpose()?,
            keep_caps: s.keep_caps.then(super::caps::last_cap),
            loopback_up: s.loopback_up,
        })
    }

    /// Turns on [`Sandbox::keep_caps`] (for `enter`, which decides once it knows that a
    /// user namespace is joined).
    pub(crate) fn set_keep_caps(&mut self) {
        self.keep_caps = Some(super::caps::last_cap());
    }

    /// File tree and limits (with the isolation steps). Runs in the `CLONE_VM` child.
    pub(crate) fn early(&self) -> Result<(), (Step, usize, i32)> {
        if let Some(fd) = self.userns_block_fd {
            si::read_byte(fd).map_err(|e| (Step::Block, 0, e))?;
        }
        if self.loopback_up {
            loopback_up()?;
        }
        if let Some(fs) = &self.fs {
            fs.apply()?;
        }
        for (i, &(res, soft, hard)) in self.rlimits.iter().enumerate() {
            ss::set_rlimit(res, soft, hard).map_err(|e| (Step::Rlimit, i, e))?;
        }
        Ok(())
    }

    /// Before `setgid`/`setuid`: keep the permitted set across them, shrink the bounding
    /// set (which needs `CAP_SETPCAP`, still effective here).
    pub(crate) fn before_identity(&self) -> Result<(), (Step, usize, i32)> {
        if let Some(c) = &self.caps {
            ss::set_keepcaps(true).map_err(|e| (Step::Capabilities, 0, e))?;
            drop_bounding(c)?;
        }
        if let Some(b) = &self.bounding {
            drop_bounding(b)?;
        }
        Ok(())
    }

    /// After the identity change: permitted, effective, inheritable, ambient.
    pub(crate) fn after_identity(&self) -> Result<(), (Step, usize, i32)> {
        if let Some(fd) = self.userns2 {
            crate::sys::setns::setns(fd, CloneFlags::NEWUSER.bits())
                .map_err(|e| (Step::Setns, 0, e))?;
        }
        if let Some(n) = &self.nested {
            n.enter()?;
            // The new namespace gave the child a full bounding set again.
            for c in [&self.caps, &self.bounding].into_iter().flatten() {
                drop_bounding(c)?;
            }
        }
        if let Some(c) = &self.caps {
            ss::capset(c.keep.0).map_err(|e| (Step::Capabilities, 2, e))?;
            // EINVAL: no ambient set (before Linux 4.3); nothing to clear then.
            match ss::ambient_clear() {
                Ok(()) | Err(libc::EINVAL) => {}
                Err(e) => return Err((Step::Capabilities, 3, e)),
            }
            for cap in 0..=c.last_cap {
                if c.keep.contains(cap) {
                    ss::ambient_raise(cap).map_err(|e| (Step::Capabilities, 3, e))?;
                }
            }
        }
        if let Some(last_cap) = self.keep_caps {
            let mut sets = ss::capget().map_err(|e| (Step::Capabilities, 4, e))?;
            // A capability can be raised into the ambient set only when it is both
            // permitted and inheritable.
            sets.inheritable = sets.permitted;
            ss::capset_sets(sets).map_err(|e| (Step::Capabilities, 5, e))?;
            for cap in 0..=last_cap.min(63) {
                if sets.effective & (1u64 << cap) != 0 {
                    ss::ambient_raise(cap).map_err(|e| (Step::Capabilities, 6, e))?;
                }
            }
        }
        Ok(())
    }

    /// Right before exec: `no_new_privs` and the filters.
    pub(crate) fn last(&self) -> Result<(), (Step, usize, i32)> {
        if let Some(fd) = self.block_fd {
            si::read_byte(fd).map_err(|e| (Step::Block, 1, e))?;
        }
        if self.seccomp.is_empty() {
            return Ok(());
        }
        si::set_no_new_privs().map_err(|e| (Step::Seccomp, 0, e))?;
        for (i, (_, prog)) in self.seccomp.iter().enumerate() {
            ss::seccomp_filter(prog).map_err(|e| (Step::Seccomp, i + 1, e))?;
        }
        Ok(())
    }

    /// What a failed step was working on.
    pub(crate) fn describe(&self, step: Step, index: usize) -> String {
        match step {
            Step::Filesystem => self
                .fs
                .as_ref()
                .map(|f| f.describe(index))
                .unwrap_or_default(),
            Step::Rlimit => self
                .rlimits
                .get(index)
                .map(|&(r, s, h)| {
                    let name = super::rlimits::RLIMIT_NAMES
                        .iter()
                        .find(|(_, n)| *n == r)
                        .map_or("?", |(n, _)| n);
                    format!("{name}={s}:{h}")
                })
                .unwrap_or_default(),
            Step::Capabilities => match index {
                0 => "PR_SET_KEEPCAPS".into(),
                1 => "dropping from the bounding set (PR_CAPBSET_DROP)".into(),
                2 => format!(
                    "capset {}",
                    self.caps.map(|c| c.keep.to_string()).unwrap_or_default()
                ),
                3 => "raising the ambient set".into(),
                4 => "capget (--keep-caps)".into(),
                5 => "capset: the inheritable set := the permitted set (--keep-caps)".into(),
                _ => "raising the effective set into the ambient set (--keep-caps; the \
                      ambient set needs Linux 4.3)"
                    .into(),
            },
            Step::Block => match index {
                0 => format!("--userns-block-fd {}", self.userns_block_fd.unwrap_or(-1)),
                _ => format!("--block-fd {}", self.block_fd.unwrap_or(-1)),
            },
            Step::Setns => format!("--userns2 {}", self.userns2.unwrap_or(-1)),
            Step::NestedUserNs => {
                let text = |t: &[u8]| String::from_utf8_lossy(t).trim_end().replace('\n', ", ");
                match (index, &self.nested) {
                    (0, _) => "unshare CLONE_NEWUSER".into(),
                    (1, Some(n)) => format!("/proc/self/uid_map '{}'", text(&n.uid)),
                    (2, Some(n)) => format!("/proc/self/setgroups '{}'", n.setgroups.unwrap_or("")),
                    (3, Some(n)) => format!("/proc/self/gid_map '{}'", text(&n.gid)),
                    _ => String::new(),
                }
            }
            Step::Loopback => match index {
                0 => "socket(AF_INET, SOCK_DGRAM)".into(),
                1 => "ioctl SIOCGIFFLAGS lo".into(),
                _ => "ioctl SIOCSIFFLAGS lo IFF_UP".into(),
            },
            Step::Seccomp => match index {
                0 => "PR_SET_NO_NEW_PRIVS".into(),
                i => format!("filter #{}", i - 1),
            },
            _ => String::new(),
        }
    }
}

/// Drops every capability outside `c.keep` from the bounding set (`PR_CAPBSET_DROP`, which
/// needs `CAP_SETPCAP`). Runs in the `CLONE_VM` child.
fn drop_bounding(c: &CapsPlan) -> Result<(), (Step, usize, i32)> {
    for cap in 0..=c.last_cap {
        if !c.keep.contains(cap) {
            ss::capbset_drop(cap).map_err(|e| (Step::Capabilities, 1, e))?;
        }
    }
    Ok(())
}

/// A nested user namespace's maps, as the child writes them.
#[derive(Debug)]
struct NestedPlan {
    uid: Vec<u8>,
    setgroups: Option<&'static str>,
    gid: Vec<u8>,
}

impl NestedPlan {
    fn new(m: &super::IdMaps) -> Result<Self, String> {
        if m.uid.is_empty() || m.gid.is_empty() {
            return Err("a nested user namespace needs a uid map and a gid map".into());
        }
        m.uid.check("nested uid map")?;
        m.gid.check("nested gid map")?;
        Ok(NestedPlan {
            uid: m.uid.to_proc_text().into_bytes(),
            setgroups: m.setgroups.map(super::SetGroups::as_str),
            gid: m.gid.to_proc_text().into_bytes(),
        })
    }

    /// `unshare(CLONE_NEWUSER)`, then the maps. Runs in the `CLONE_VM` child.
    fn enter(&self) -> Result<(), (Step, usize, i32)> {
        crate::sys::nscalls::unshare(libc::CLONE_NEWUSER as u64)
            .map_err(|e| (Step::NestedUserNs, 0, e.0))?;
        si::write_file(c"/proc/self/uid_map", &self.uid).map_err(|e| (Step::NestedUserNs, 1, e))?;
        if let Some(sg) = self.setgroups {
            si::write_file(c"/proc/self/setgroups", sg.as_bytes())
                .map_err(|e| (Step::NestedUserNs, 2, e))?;
        }
        si::write_file(c"/proc/self/gid_map", &self.gid).map_err(|e| (Step::NestedUserNs, 3, e))
    }
}

/// The loopback interface's name; in a new network namespace it is always there (the
/// kernel registers it with the namespace).
const LO: &[u8] = b"lo";

/// Brings `lo` up in the calling thread's network namespace. Runs in the `CLONE_VM` child:
/// a stack `ifreq` and three raw calls.
///
/// Why `SIOCSIFFLAGS` rather than bubblewrap's two rtnetlink requests (`RTM_NEWADDR`
/// 127.0.0.1/8, then `RTM_NEWLINK` `IFF_UP`, each acknowledged): when an interface with
/// `IFF_LOOPBACK` goes up, the kernel itself adds `127.0.0.1/8` scope host (the `NETDEV_UP`
/// case of `inetdev_event`, net/ipv4/devinet.c) and `::1/128` (addrconf's loopback set-up,
/// net/ipv6/addrconf.c); bubblewrap's explicit address is the one the kernel would add. The
/// ioctl needs no message building, no acknowledgement to read and parse and no interface
/// index, so nothing can go wrong between clone and exec beyond the errno of a call. The
/// side-by-side test with bwrap (`vs_bwrap.rs`) compares the addresses the program sees.
fn loopback_up() -> Result<(), (Step, usize, i32)> {
    let sock = ss::inet_dgram_socket().map_err(|e| (Step::Loopback, 0, e))?;
    let up = ss::if_flags(sock, LO)
        .map_err(|e| (Step::Loopback, 1, e))
        .and_then(|f| {
            ss::set_if_flags(sock, LO, f | libc::IFF_UP as i16).map_err(|e| (Step::Loopback, 2, e))
        });
    // Close-on-exec anyway: a failed close only leaves it to exec.
    let _ = si::close(sock);
    up
}

/// A hint for the usual causes of a failed sandbox step.
pub(crate) fn hint(step: Step, errno: i32) -> Option<&'static str> {
    match (step, errno) {
        (Step::Filesystem, e) => fs_plan::hint(e),
        (Step::Rlimit, libc::EPERM) => {
            Some("raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace")
        }
        (Step::Capabilities, libc::EPERM) => Some(
            "only capabilities the child holds can be kept: as an unprivileged user add a \
             user namespace (-U)",
        ),
        (Step::Seccomp, libc::EINVAL) => Some("the kernel refused the BPF program as invalid"),
        (Step::Seccomp, libc::EACCES) => {
            Some("installing a filter needs no_new_privs or CAP_SYS_ADMIN")
        }
        (Step::Loopback, libc::EPERM) => Some(
            "bringing lo up needs CAP_NET_ADMIN over the new network namespace: root holding \
             it, or a new user namespace created with the network namespace (--unshare-user)",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_and_describe() {
        let s = Sandbox {
            filesystem: Some(Filesystem::default()),
            rlimits: vec!["NOFILE=64:128".parse().unwrap()],
            capabilities: Some(CapSet::EMPTY),
            ..Default::default()
        };
        assert!(s
            .check(CloneFlags::NEWUSER)
            .unwrap_err()
            .contains("CLONE_NEWNS"));
        assert!(s.check(CloneFlags::NEWNS).is_ok());
        let d = s.describe_steps();
        assert_eq!(d[0], "new root: an empty tmpfs (pivot_root onto it)");
        assert!(d.contains(&"prlimit NOFILE=64:128".to_string()));
        assert!(d.contains(&"capabilities kept: none".to_string()));
        let p = SandboxPlan::prepare(&s, false).unwrap();
        assert_eq!(p.describe(Step::Rlimit, 0), "NOFILE=64:128");
        assert!(Sandbox::default().is_empty());
        let k = Sandbox {
            keep_caps: true,
            ..Default::default()
        };
        assert!(!k.is_empty());
        assert!(k.describe_steps()[0].contains("unshare --keep-caps"));
        let p = SandboxPlan::prepare(&k, false).unwrap();
        assert_eq!(p.keep_caps, Some(crate::isolate::caps::last_cap()));
        assert!(p
            .describe(Step::Capabilities, 5)
            .contains("the inheritable set := the permitted set"));
        let lo = Sandbox {
            loopback_up: true,
            ..Default::default()
        };
        assert!(!lo.is_empty());
        assert!(lo
            .check(CloneFlags::NEWUSER)
            .unwrap_err()
            .contains("CLONE_NEWNET"));
        assert!(lo.check(CloneFlags::NEWNET).is_ok());
        assert!(lo.describe_steps()[0].contains("loopback interface lo up"));
        let p = SandboxPlan::prepare(&lo, false).unwrap();
        assert!(p.loopback_up);
        assert_eq!(
            p.describe(Step::Loopback, 2),
            "ioctl SIOCSIFFLAGS lo IFF_UP"
        );
        assert!(hint(Step::Loopback, libc::EPERM)
            .unwrap()
            .contains("CAP_NET_ADMIN"));
    }

    #[test]
    fn nested_user_namespace_plan() {
        let n = Sandbox {
            nested_user_ns: Some(crate::isolate::IdMaps::user(65534, 65534, 0, 0)),
            bounding_set: Some(CapSet::EMPTY),
            ..Default::default()
        };
        assert!(!n.is_empty());
        let d = n.describe_steps();
        assert!(d.contains(&"bounding set kept: none".to_string()), "{d:?}");
        assert!(
            d.iter().any(|l| l.contains("nested user namespace")
                && l.contains("uid map '65534 0 1'")
                && l.contains("gid map '65534 0 1'")),
            "{d:?}"
        );
        let p = SandboxPlan::prepare(&n, false).unwrap();
        assert_eq!(p.describe(Step::NestedUserNs, 0), "unshare CLONE_NEWUSER");
        assert_eq!(
            p.describe(Step::NestedUserNs, 1),
            "/proc/self/uid_map '65534 0 1'"
        );
        assert_eq!(
            p.describe(Step::NestedUserNs, 3),
            "/proc/self/gid_map '65534 0 1'"
        );
        // Both maps are needed: a namespace without them leaves the program unmapped.
        let mut half = crate::isolate::IdMaps::user(1, 1, 0, 0);
        half.gid = crate::isolate::IdMap::default();
        let e = SandboxPlan::prepare(
            &Sandbox {
                nested_user_ns: Some(half),
                ..Default::default()
            },
            false,
        )
        .unwrap_err();
        assert!(e.contains("a uid map and a gid map"), "{e}");
    }
}
