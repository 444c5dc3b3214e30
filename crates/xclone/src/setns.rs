//! `setns(2)` for the calling thread, validated and explained.
//!
//! The target is a namespace file (`/proc/PID/ns/*`, flags 0 or its one type) or, from Linux
//! 5.8, a pidfd with the set of namespaces to join — all of them or none. Like unshare(2) it
//! changes the calling **thread**: its namespaces and, with `CLONE_NEWUSER`, its credentials.
//! `CLONE_NEWUSER` and `CLONE_NEWTIME` are refused unless the caller is the process's only
//! thread (`EINVAL`, `EUSERS`); a mount namespace is refused while the caller shares its root
//! and working directory (`CLONE_FS`, as every pthread does: `EINVAL`); `CLONE_NEWPID` moves
//! only the caller's future children. [`setns`] returns a [`Changed`] whose
//! [`scope`](Changed::scope) says whether the process or one thread moved.
//!
//! ```no_run
//! use xclone::setns::{setns, Namespaces};
//! let net = std::fs::File::open("/proc/1/ns/net")?;
//! let changed = setns(&net, Namespaces::empty())?;
//! if !changed.is_whole_process() {
//!     eprintln!("only this thread is in the new network namespace");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod target;

pub use target::{NsFacts, NsKind, PidNsPlace, Target, TaskState};

use crate::caller::{Caller, NsOwner, CAP_SYS_ADMIN, CAP_SYS_CHROOT};
use crate::errno::Errno;
use crate::nscheck::{finding, plural, verdict, Finding};
use crate::probe::Features;
use crate::rules::ns::{Call, NsRuleId};
use crate::sys::flags::CloneFlags;
use crate::unshare::Changed;
use crate::validate::{Problem, Verdict};
use std::os::fd::{AsFd, AsRawFd};

bitflags::bitflags! {
    /// The namespaces setns(2) joins (`nstype`): empty for "whatever this namespace file is".
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Namespaces: u64 {
        /// `CLONE_NEWUSER`: a user namespace (user_namespaces(7)); needs a single-threaded
        /// caller.
        const USER = CloneFlags::NEWUSER.bits();
        /// `CLONE_NEWNS`: a mount namespace (mount_namespaces(7)); needs an unshared
        /// `CLONE_FS`.
        const MNT = CloneFlags::NEWNS.bits();
        /// `CLONE_NEWUTS`: a UTS namespace (uts_namespaces(7)).
        const UTS = CloneFlags::NEWUTS.bits();
        /// `CLONE_NEWIPC`: an IPC namespace (ipc_namespaces(7)).
        const IPC = CloneFlags::NEWIPC.bits();
        /// `CLONE_NEWPID`: a pid namespace (pid_namespaces(7)); only the caller's later
        /// children are created in it.
        const PID = CloneFlags::NEWPID.bits();
        /// `CLONE_NEWCGROUP`: a cgroup namespace (cgroup_namespaces(7)).
        const CGROUP = CloneFlags::NEWCGROUP.bits();
        /// `CLONE_NEWNET`: a network namespace (network_namespaces(7)).
        const NET = CloneFlags::NEWNET.bits();
        /// `CLONE_NEWTIME`: a time namespace (time_namespaces(7), Linux 5.6); needs memory
        /// not shared with another process.
        const TIME = CloneFlags::NEWTIME.bits();
    }
}

/// Whether this kernel refuses `setns(pidfd, CLONE_NEWNS | other namespace flags)` from a
/// caller sharing its `fs_struct` (`CLONE_FS`), as it refuses `CLONE_NEWNS` alone: asked of
/// the running kernel by a helper process, never derived from the release (Debian's
/// 6.12.117 refuses, mainline 5.10, 6.1 and 6.18 accept). `None` when the caller cannot tell
/// (no `CAP_SYS_ADMIN`, no pidfd setns). Known answers are cached for the process.
pub fn mnt_with_others_refused_when_fs_shared() -> Option<bool> {
    crate::sys::fsshare::setns_mnt_with_others_refused_when_fs_shared()
}

/// `setns(target, namespaces)` for the calling thread. On failure the error carries the
/// kernel's errno and the validator's account of it.
pub fn setns(target: impl AsFd, namespaces: Namespaces) -> crate::Result<Changed> {
    let threads = crate::unshare::thread_count();
    let fd = target.as_fd();
    match crate::sys::nscalls::setns(fd, namespaces.bits()) {
        Ok(()) => {
            let mut joined = CloneFlags::from_bits_retain(namespaces.bits());
            if joined.is_empty() {
                // A namespace file joined its own type; name it.
                if let Target::Namespace { ns, .. } = Target::inspect(fd.as_raw_fd(), 0) {
                    joined = ns.kind.flag();
                }
            }
            let children = joined & CloneFlags::NEWPID;
            Ok(Changed::new(threads, joined - children, children))
        }
        Err(errno) => Err(error(fd.as_raw_fd(), namespaces.bits(), errno)),
    }
}

/// What this kernel offers, for judging `setns(2)` against it: the cached probe
/// ([`crate::validate::current_features`]) and
/// [`Features::setns_mnt_with_others_fs_shared`], asked of the kernel by
/// [`mnt_with_others_refused_when_fs_shared`] (a helper process, once per process; not at all
/// without `CAP_SYS_ADMIN`).
pub fn current_features() -> Features {
    let mut f = crate::validate::current_features();
    if f.setns_pidfd {
        f.setns_mnt_with_others_fs_shared = mnt_with_others_refused_when_fs_shared();
    }
    f
}

/// The library's error for a setns on descriptor `fd` with `nstype` that failed with
/// `errno`, explained against this kernel and the calling thread.
pub fn error(fd: i32, nstype: u64, errno: Errno) -> crate::Error {
    let explanation = Caller::current()
        .ok()
        .and_then(|c| {
            let t = Target::inspect(fd, c.euid);
            // The helper the probe needs is made only where its answer can matter.
            let mnt_and_more =
                nstype & CloneFlags::NEWNS.bits() != 0 && nstype & !CloneFlags::NEWNS.bits() != 0;
            let f = if mnt_and_more {
                current_features()
            } else {
                crate::validate::current_features()
            };
            explain_errno(&t, nstype, &f, &c, errno)
        })
        .map(Box::new);
    crate::Error::Os {
        op: format!(
            "setns({fd}, {})",
            CloneFlags::from_bits_retain(nstype).to_names_string()
        ),
        errno,
        explanation,
    }
}

/// The explanation for `errno` returned by `setns` on `target` with `nstype`.
pub fn explain_errno(
    target: &Target,
    nstype: u64,
    f: &Features,
    c: &Caller,
    errno: Errno,
) -> Option<Problem> {
    crate::nscheck::explain(Call::Setns, &validate(target, nstype, f, c), errno)
}

/// Every problem the kernel would find with `setns(target, nstype)` (any bits) from `c` on the
/// kernel `f` describes, in the kernel's order: the first is what setns returns.
pub fn validate(target: &Target, nstype: u64, f: &Features, c: &Caller) -> Verdict {
    let mut v = Check {
        c,
        found: Vec::new(),
        notes: Vec::new(),
    };
    v.run(target, nstype, f);
    verdict(v.found, v.notes)
}

struct Check<'c> {
    c: &'c Caller,
    found: Vec<Finding>,
    notes: Vec<String>,
}

/// Every namespace flag `check_setns_flags()` knows.
const NS_FLAGS: CloneFlags = CloneFlags::NAMESPACES;

impl Check<'_> {
    fn run(&mut self, target: &Target, nstype: u64, f: &Features) {
        let asked = CloneFlags::from_bits_retain(nstype);
        let fd = target.fd();
        // The namespaces to install, with what is known of each.
        let (flags, namespaces): (CloneFlags, Vec<Option<&NsFacts>>) = match target {
            Target::NotOpen { .. } => {
                self.found.push(finding(NsRuleId::SetnsBadFd).var("fd", fd));
                return;
            }
            Target::Other { what, .. } => {
                self.found.push(
                    finding(NsRuleId::SetnsNotNamespace)
                        .var("fd", fd)
                        .var("what", what),
                );
                return;
            }
            Target::Namespace { ns, .. } => {
                if !asked.is_empty() && asked != ns.kind.flag() {
                    self.found.push(
                        finding(NsRuleId::SetnsTypeMismatch)
                            .flags(asked)
                            .var("fd", fd)
                            .var("kind", ns.kind.name())
                            .var("flags", asked.to_names_string())
                            .var("want", ns.kind.flag().to_names_string()),
                    );
                    return;
                }
                (ns.kind.flag(), vec![Some(ns)])
            }
            Target::Pidfd {
                pid,
                state,
                inspectable,
                namespaces,
                ..
            } => {
                let pid_s = pid.map_or("PID".to_string(), |p| p.to_string());
                if !f.setns_pidfd
                    || f.kernel_version
                        .is_some_and(|v| v < crate::KernelVersion::new(5, 8))
                {
                    self.found.push(
                        finding(NsRuleId::SetnsPidfdBefore58)
                            .var("fd", fd)
                            .var("pid", pid_s),
                    );
                    return;
                }
                let mut known = NS_FLAGS;
                if !f.time_namespaces {
                    known -= CloneFlags::NEWTIME;
                }
                let unknown = asked - known;
                if asked.is_empty() {
                    self.found.push(finding(NsRuleId::SetnsPidfdNoFlags));
                    return;
                }
                if !unknown.is_empty() {
                    let detail = if unknown == CloneFlags::NEWTIME {
                        " (this kernel has no time namespaces)"
                    } else {
                        ""
                    };
                    self.found.push(
                        finding(NsRuleId::SetnsPidfdUnknownFlags)
                            .flags(unknown)
                            .var("flags", unknown.to_names_string())
                            .var("detail", detail),
                    );
                    return;
                }
                // validate_nsset(): a task at all, ptrace access, then its namespaces (a
                // zombie has none left).
                let gone = |state: &str| {
                    finding(NsRuleId::SetnsTargetGone)
                        .var("fd", fd)
                        .var("state", state)
                };
                match state {
                    TaskState::Gone => {
                        self.found.push(gone("has exited and been reaped"));
                        return;
                    }
                    TaskState::Unknown => {
                        self.notes.push(format!(
                            "cannot see the process behind pidfd {fd} (it lives in a pid namespace this /proc does not show): the kernel decides"
                        ));
                        return;
                    }
                    TaskState::Running | TaskState::Zombie => {}
                }
                if *inspectable == Some(false) {
                    self.found.push(
                        finding(NsRuleId::SetnsTargetPtrace)
                            .var("pid", pid_s)
                            .var("why", "another user's process, or one that is not dumpable"),
                    );
                    return;
                }
                if *state == TaskState::Zombie {
                    self.found
                        .push(gone("has exited (a zombie not yet reaped)"));
                    return;
                }
                let list = NsKind::INSTALL_ORDER
                    .iter()
                    .filter(|k| asked.contains(k.flag()))
                    .map(|k| namespaces.iter().find(|n| n.kind == *k))
                    .collect();
                (asked, list)
            }
        };
        // The user namespace the other installs check CAP_SYS_ADMIN in (nsset->cred): the
        // joined one when CLONE_NEWUSER comes along, else the caller's own.
        let nsset_user = if flags.contains(CloneFlags::NEWUSER) {
            namespaces
                .iter()
                .flatten()
                .find(|n| n.kind == NsKind::User)
                .map_or(NsOwner::Unknown, |n| n.owner)
        } else {
            NsOwner::Mine
        };
        let kinds: Vec<NsKind> = NsKind::INSTALL_ORDER
            .into_iter()
            .filter(|k| flags.contains(k.flag()))
            .collect();
        for (i, (kind, ns)) in kinds.iter().zip(namespaces).enumerate() {
            let Some(ns) = ns else {
                self.notes.push(format!(
                    "cannot read the target's {} namespace: the kernel decides",
                    kind.name()
                ));
                continue;
            };
            let sub = i as u32 * 10;
            self.install(ns, flags, nsset_user, sub, f);
        }
    }

    fn cap(&mut self, rel: NsOwner, cap: u32) -> Option<bool> {
        self.c.has_cap_over(rel, cap)
    }

    fn shared_with(&self) -> String {
        let others = self.c.sharing.thread_count.saturating_sub(1);
        if others > 0 {
            format!("{others} other thread{}", plural(others))
        } else {
            "another process".to_string()
        }
    }

    fn install(
        &mut self,
        ns: &NsFacts,
        flags: CloneFlags,
        nsset_user: NsOwner,
        sub: u32,
        f: &Features,
    ) {
        let s = self.c.sharing;
        let others = s.thread_count.saturating_sub(1);
        let unsure = |me: &mut Self, what: &str| {
            me.notes.push(format!(
                "cannot tell {what} ({}): the kernel decides",
                ns.name
            ))
        };
        match ns.kind {
            NsKind::User => {
                if ns.owner == NsOwner::Mine {
                    self.found.push(finding(NsRuleId::SetnsUserSame).sub(sub));
                }
                if others > 0 {
                    self.found.push(
                        finding(NsRuleId::SetnsUserThreaded)
                            .sub(sub + 1)
                            .var("others", others)
                            .var("s", plural(others)),
                    );
                }
                match s.fs_shared {
                    Some(true) => {
                        let hint = if others > 0 {
                            ", in a process of one thread"
                        } else {
                            ""
                        };
                        self.found.push(
                            finding(NsRuleId::SetnsUserFsShared)
                                .sub(sub + 2)
                                .var("with", self.shared_with())
                                .var("thread_hint", hint),
                        )
                    }
                    Some(false) => {}
                    None => unsure(self, "whether the caller shares CLONE_FS"),
                }
                match self.cap(ns.owner, CAP_SYS_ADMIN) {
                    Some(true) => {}
                    Some(false) => self.found.push(
                        finding(NsRuleId::SetnsUserNeedsCap)
                            .sub(sub + 3)
                            .var("ns", &ns.name)
                            .var("why", describe(ns.owner, "it")),
                    ),
                    None => unsure(self, "the caller's capabilities in that user namespace"),
                }
            }
            NsKind::Mnt => {
                let checks = [
                    (
                        ns.owner,
                        CAP_SYS_ADMIN,
                        "CAP_SYS_ADMIN over the namespace's owner",
                    ),
                    (nsset_user, CAP_SYS_CHROOT, "CAP_SYS_CHROOT"),
                    (nsset_user, CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
                ];
                self.caps(ns, &checks, nsset_user, NsRuleId::SetnsMntNeedsCap, sub);
                // prepare_nsset() copies the fs_struct unless the mount namespace is all
                // that is joined; some kernels (Debian's 6.12.117) refuse a shared one
                // anyway, which only the probe can tell.
                let alone = flags == CloneFlags::NEWNS;
                let rule = if alone {
                    Some(NsRuleId::SetnsMntFsShared)
                } else if f.setns_mnt_with_others_fs_shared == Some(true) {
                    Some(NsRuleId::SetnsMntFsSharedMulti)
                } else {
                    None
                };
                if let Some(rule) = rule {
                    match s.fs_shared {
                        Some(true) => {
                            let hint = if others > 0 {
                                " in the thread that joins"
                            } else {
                                ""
                            };
                            self.found.push(
                                finding(rule)
                                    .sub(sub + 2)
                                    .var("with", self.shared_with())
                                    .var("pidfd_hint", hint),
                            )
                        }
                        Some(false) => {}
                        None => unsure(self, "whether the caller shares CLONE_FS"),
                    }
                }
            }
            NsKind::Time => {
                match s.not_alone_in_mm() {
                    Some(true) => {
                        let with = if others > 0 {
                            self.shared_with()
                        } else {
                            "another process (CLONE_VM)".to_string()
                        };
                        self.found.push(
                            finding(NsRuleId::SetnsTimeShared)
                                .sub(sub)
                                .var("with", with),
                        )
                    }
                    Some(false) => {}
                    None => unsure(self, "whether another process shares the caller's memory"),
                }
                self.admin_both(ns, nsset_user, sub + 1);
            }
            NsKind::Pid => {
                self.admin_both(ns, nsset_user, sub);
                match ns.pid_place {
                    Some(PidNsPlace::Same) | Some(PidNsPlace::Below) => {}
                    Some(PidNsPlace::Elsewhere) => self.found.push(
                        finding(NsRuleId::SetnsPidNotDescendant)
                            .sub(sub + 1)
                            .var("ns", &ns.name)
                            .var("rel", "not the caller's own pid namespace nor below it (an ancestor, or another branch)"),
                    ),
                    _ => unsure(self, "where that pid namespace lies"),
                }
            }
            NsKind::Uts | NsKind::Ipc | NsKind::Cgroup | NsKind::Net => {
                self.admin_both(ns, nsset_user, sub)
            }
        }
    }

    /// The check of `{uts,ipc,pid,cgroup,net,time}ns_install`: CAP_SYS_ADMIN over the
    /// namespace's owner and in the user namespace of the new credentials.
    fn admin_both(&mut self, ns: &NsFacts, nsset_user: NsOwner, sub: u32) {
        let checks = [
            (
                ns.owner,
                CAP_SYS_ADMIN,
                "CAP_SYS_ADMIN over the namespace's owner",
            ),
            (nsset_user, CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
        ];
        self.caps(ns, &checks, nsset_user, NsRuleId::SetnsNeedsCap, sub);
    }

    fn caps(
        &mut self,
        ns: &NsFacts,
        checks: &[(NsOwner, u32, &str)],
        nsset_user: NsOwner,
        rule: NsRuleId,
        sub: u32,
    ) {
        let mut lacks = Vec::new();
        let mut unknown = false;
        let mut owner_lacking = false;
        for (i, (rel, cap, what)) in checks.iter().enumerate() {
            match self.cap(*rel, *cap) {
                Some(true) => {}
                Some(false) => {
                    owner_lacking |= i == 0;
                    lacks.push(if i == 0 {
                        what.to_string()
                    } else {
                        format!("{what} there")
                    });
                }
                None => unknown = true,
            }
        }
        if lacks.is_empty() {
            if unknown {
                self.notes.push(format!(
                    "cannot tell the caller's capabilities over {}: the kernel decides",
                    ns.name
                ));
            }
            return;
        }
        let userns = if nsset_user == NsOwner::Mine {
            "the caller's user namespace"
        } else {
            "the user namespace it joins with it"
        };
        let hint = match (owner_lacking, ns.owner) {
            (false, _) => "",
            (true, NsOwner::Mine) => {
                " (the owner is the caller's own user namespace, where it lacks the capability)"
            }
            (true, NsOwner::Above) => {
                " (the owner is an ancestor of the caller's user namespace or on another branch: no capability of the caller counts there)"
            }
            (true, NsOwner::Below { .. }) => {
                " (the owner lies below the caller's user namespace, created by another user)"
            }
            (true, NsOwner::Unknown) => "",
        };
        self.found.push(
            finding(rule)
                .sub(sub)
                .flags(ns.kind.flag())
                .var("kind", ns.kind.name())
                .var("ns", &ns.name)
                .var("userns", userns)
                .var("lacks", lacks.join(" and "))
                .var("hint", hint),
        );
    }
}

/// Why the caller holds no capability in a user namespace related to its own as `rel`.
fn describe(rel: NsOwner, it: &str) -> String {
    match rel {
        NsOwner::Mine => format!("{it} is the caller's own user namespace"),
        NsOwner::Below { owned_by_me: false } => {
            format!("{it} lies below the caller's, created by another user")
        }
        NsOwner::Below { owned_by_me: true } => {
            format!("{it} lies below the caller's and was created by it")
        }
        NsOwner::Above => format!("{it} is an ancestor of the caller's or on another branch"),
        NsOwner::Unknown => format!("where {it} lies cannot be told"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Sharing;

    fn ns(kind: NsKind, owner: NsOwner) -> NsFacts {
        NsFacts {
            kind,
            name: format!("{}:[1]", kind.name()),
            owner,
            pid_place: (kind == NsKind::Pid).then_some(PidNsPlace::Below),
        }
    }

    /// A pidfd of a running process (PID 42) whose namespaces are all below the caller's,
    /// in user namespaces the caller created.
    fn pidfd_of_own_child() -> Target {
        let mine = NsOwner::Below { owned_by_me: true };
        Target::Pidfd {
            fd: 4,
            pid: Some(42),
            state: TaskState::Running,
            inspectable: Some(true),
            namespaces: NsKind::INSTALL_ORDER.iter().map(|k| ns(*k, mine)).collect(),
        }
    }

    fn first(t: &Target, flags: CloneFlags, c: &Caller) -> Option<&'static str> {
        validate(t, flags.bits(), &Features::everything(), c)
            .problems
            .first()
            .map(|p| p.rule)
    }

    #[test]
    fn namespace_files() {
        let root = Caller::root();
        let threaded = Caller {
            sharing: Sharing::threads(2),
            ..Caller::root()
        };
        let mnt = Target::Namespace {
            fd: 3,
            ns: ns(NsKind::Mnt, NsOwner::Mine),
        };
        assert_eq!(first(&mnt, CloneFlags::empty(), &root), None);
        assert_eq!(
            first(&mnt, CloneFlags::NEWNET, &root),
            Some("setns-type-mismatch")
        );
        assert_eq!(
            first(&mnt, CloneFlags::empty(), &threaded),
            Some("setns-mnt-fs-shared")
        );
        let user = Target::Namespace {
            fd: 3,
            ns: ns(NsKind::User, NsOwner::Mine),
        };
        assert_eq!(
            first(&user, CloneFlags::empty(), &root),
            Some("setns-user-same")
        );
        let child_user = Target::Namespace {
            fd: 3,
            ns: ns(NsKind::User, NsOwner::Below { owned_by_me: true }),
        };
        assert_eq!(
            first(
                &child_user,
                CloneFlags::empty(),
                &Caller::unprivileged(1000)
            ),
            None
        );
        let time = Target::Namespace {
            fd: 3,
            ns: ns(NsKind::Time, NsOwner::Mine),
        };
        let v = validate(&time, 0, &Features::everything(), &threaded);
        assert_eq!(v.errno(), Some(Errno::EUSERS));
        let net = Target::Namespace {
            fd: 3,
            ns: ns(NsKind::Net, NsOwner::Mine),
        };
        let v = validate(
            &net,
            0,
            &Features::everything(),
            &Caller::unprivileged(1000),
        );
        assert_eq!(v.problems[0].rule, "setns-needs-cap");
        assert_eq!(v.problems[0].function, "netns_install");
        assert_eq!(
            first(&Target::NotOpen { fd: 99 }, CloneFlags::empty(), &root),
            Some("setns-bad-fd")
        );
    }

    #[test]
    fn mount_namespace_with_others_from_a_shared_fs_struct_follows_the_probe() {
        let t = pidfd_of_own_child();
        let threaded = Caller {
            sharing: Sharing::threads(2),
            ..Caller::root()
        };
        let with = |answer: Option<bool>, flags: CloneFlags, c: &Caller| {
            let f = Features {
                setns_mnt_with_others_fs_shared: answer,
                ..Features::everything()
            };
            validate(&t, flags.bits(), &f, c)
                .problems
                .first()
                .map(|p| (p.rule, p.errno))
        };
        let both = CloneFlags::NEWNS | CloneFlags::NEWUTS;
        let refused = Some(("setns-mnt-fs-shared-multi", Errno::EINVAL));
        // CLONE_NEWNS alone: refused whatever the probe says.
        for answer in [None, Some(false), Some(true)] {
            assert_eq!(
                with(answer, CloneFlags::NEWNS, &threaded),
                Some(("setns-mnt-fs-shared", Errno::EINVAL))
            );
        }
        // With another namespace: only where the kernel said it refuses.
        assert_eq!(with(None, both, &threaded), None);
        assert_eq!(with(Some(false), both, &threaded), None);
        assert_eq!(with(Some(true), both, &threaded), refused);
        assert_eq!(
            with(
                Some(true),
                CloneFlags::NAMESPACES - CloneFlags::NEWUSER,
                &threaded
            ),
            refused
        );
        // Not without CLONE_NEWNS, nor from a caller with an fs_struct of its own.
        assert_eq!(
            with(
                Some(true),
                CloneFlags::NEWUTS | CloneFlags::NEWNET,
                &threaded
            ),
            None
        );
        assert_eq!(with(Some(true), both, &Caller::root()), None);
    }

    #[test]
    fn pidfds() {
        let t = pidfd_of_own_child();
        let nobody = Caller::unprivileged(1000);
        assert_eq!(
            first(&t, CloneFlags::empty(), &nobody),
            Some("setns-pidfd-no-flags")
        );
        // The network namespace alone: no CAP_SYS_ADMIN in the caller's own user namespace.
        assert_eq!(
            first(&t, CloneFlags::NEWNET, &nobody),
            Some("setns-needs-cap")
        );
        // With its user namespace in the same call, the creator may join.
        assert_eq!(
            first(
                &t,
                CloneFlags::NEWNET | CloneFlags::NEWUSER | CloneFlags::NEWNS,
                &nobody
            ),
            None
        );
        let v = validate(
            &t,
            CloneFlags::NEWNET.bits(),
            &Features::as_of(crate::KernelVersion::new(5, 4)),
            &nobody,
        );
        assert_eq!(v.problems[0].rule, "setns-pidfd-before-5.8");
        let dead = Target::Pidfd {
            fd: 4,
            pid: None,
            state: TaskState::Gone,
            inspectable: None,
            namespaces: vec![],
        };
        assert_eq!(
            first(&dead, CloneFlags::NEWNET, &nobody),
            Some("setns-target-gone")
        );
    }
}
