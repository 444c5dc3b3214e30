//! What a setns(2) descriptor is, as the kernel's checks see it: not open, a namespace file
//! (of which type, owned by which user namespace relative to the caller), a pidfd (of a live,
//! zombie or reaped process, inspectable or not, with its namespaces), or something else.
//! Everything is read without changing anything, through `/proc/thread-self/fd`, fdinfo and
//! the nsfs ioctls.

use crate::caller::{owner_of, userns_relation, NsOwner};
use crate::sys::flags::CloneFlags;
use crate::sys::ns;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};

/// A namespace type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum NsKind {
    /// A user namespace (user_namespaces(7)): ids and capabilities.
    User,
    /// A mount namespace (mount_namespaces(7)).
    Mnt,
    /// A UTS namespace (uts_namespaces(7)): host and domain name.
    Uts,
    /// An IPC namespace (ipc_namespaces(7)): System V IPC and POSIX message queues.
    Ipc,
    /// A pid namespace (pid_namespaces(7)).
    Pid,
    /// A cgroup namespace (cgroup_namespaces(7)).
    Cgroup,
    /// A network namespace (network_namespaces(7)).
    Net,
    /// A time namespace (time_namespaces(7), Linux 5.6).
    Time,
}

impl NsKind {
    /// The order in which `validate_nsset()` installs the namespaces of a pidfd.
    pub const INSTALL_ORDER: [NsKind; 8] = [
        NsKind::User,
        NsKind::Mnt,
        NsKind::Uts,
        NsKind::Ipc,
        NsKind::Pid,
        NsKind::Cgroup,
        NsKind::Net,
        NsKind::Time,
    ];

    /// The `CLONE_NEW*` flag of the type.
    pub fn flag(self) -> CloneFlags {
        match self {
            NsKind::User => CloneFlags::NEWUSER,
            NsKind::Mnt => CloneFlags::NEWNS,
            NsKind::Uts => CloneFlags::NEWUTS,
            NsKind::Ipc => CloneFlags::NEWIPC,
            NsKind::Pid => CloneFlags::NEWPID,
            NsKind::Cgroup => CloneFlags::NEWCGROUP,
            NsKind::Net => CloneFlags::NEWNET,
            NsKind::Time => CloneFlags::NEWTIME,
        }
    }

    /// The name in `/proc/PID/ns/` and in an nsfs link (`net:[4026531840]`).
    pub fn name(self) -> &'static str {
        match self {
            NsKind::User => "user",
            NsKind::Mnt => "mnt",
            NsKind::Uts => "uts",
            NsKind::Ipc => "ipc",
            NsKind::Pid => "pid",
            NsKind::Cgroup => "cgroup",
            NsKind::Net => "net",
            NsKind::Time => "time",
        }
    }

    /// The type named by a `/proc/PID/ns` name or an nsfs link's prefix.
    pub fn from_name(s: &str) -> Option<NsKind> {
        Self::INSTALL_ORDER.into_iter().find(|k| k.name() == s)
    }
}

/// Where a pid namespace lies relative to the caller's own (active) one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum PidNsPlace {
    /// The caller's own pid namespace.
    Same,
    /// A descendant of the caller's pid namespace: the only other place setns(2) may join
    /// (pid_namespaces(7)).
    Below,
    /// An ancestor, or another branch of the tree.
    Elsewhere,
    /// Could not be told from inside the caller's namespaces.
    Unknown,
}

/// One namespace as setns would join it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct NsFacts {
    /// The namespace's type.
    pub kind: NsKind,
    /// `net:[4026531840]`.
    pub name: String,
    /// For a user namespace, the namespace itself relative to the caller's (`Mine` = the same
    /// one); for the other types, the user namespace that owns it.
    pub owner: NsOwner,
    /// For a pid namespace: where it lies relative to the caller's.
    pub pid_place: Option<PidNsPlace>,
}

/// The state of the process behind a pidfd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum TaskState {
    /// Alive: its namespaces can be joined.
    Running,
    /// Exited, not yet reaped: it has no namespaces any more.
    Zombie,
    /// Exited and reaped.
    Gone,
    /// Could not be told (the process is not visible in the caller's pid namespace, or its
    /// `stat` could not be read).
    Unknown,
}

/// What a setns(2) descriptor is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case", tag = "is"))]
#[non_exhaustive]
pub enum Target {
    /// The number is not an open descriptor (setns fails with `EBADF`).
    NotOpen {
        /// The descriptor number.
        fd: i32,
    },
    /// A namespace file (`/proc/PID/ns/*`, or a bind mount of one).
    Namespace {
        /// The descriptor number.
        fd: i32,
        /// The namespace it refers to.
        ns: NsFacts,
    },
    /// A pidfd (Linux 5.8 joins several namespaces of its process at once).
    Pidfd {
        /// The descriptor number.
        fd: i32,
        /// The PID in the caller's pid namespace (`None`: not visible there, or gone).
        pid: Option<i32>,
        /// Whether the process is alive.
        state: TaskState,
        /// Whether the caller may read the process's namespaces (ptrace read access);
        /// `None` when it could not be told.
        inspectable: Option<bool>,
        /// The process's namespaces that could be read, in install order.
        namespaces: Vec<NsFacts>,
    },
    /// Any other file (setns fails with `EINVAL`).
    Other {
        /// The descriptor number.
        fd: i32,
        /// What `/proc/self/fd/N` names (`/proc/1234`, `pipe:[…]`).
        what: String,
    },
}

impl Target {
    /// The descriptor number.
    pub fn fd(&self) -> i32 {
        match self {
            Target::NotOpen { fd }
            | Target::Namespace { fd, .. }
            | Target::Pidfd { fd, .. }
            | Target::Other { fd, .. } => *fd,
        }
    }

    /// Reads what descriptor `fd` of the calling thread is, for a caller whose effective uid
    /// is `euid` (it decides who "created" a user namespace).
    pub fn inspect(fd: i32, euid: u32) -> Target {
        let link = match std::fs::read_link(format!("/proc/thread-self/fd/{fd}")) {
            Ok(l) => l.to_string_lossy().into_owned(),
            Err(_) if fd < 0 => return Target::NotOpen { fd },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Target::NotOpen { fd },
            Err(e) => {
                return Target::Other {
                    fd,
                    what: format!("unreadable: {e}"),
                }
            }
        };
        let fdinfo =
            std::fs::read_to_string(format!("/proc/thread-self/fdinfo/{fd}")).unwrap_or_default();
        if let Some(pid) = fdinfo
            .lines()
            .find_map(|l| l.strip_prefix("Pid:"))
            .and_then(|v| v.trim().parse::<i32>().ok())
        {
            return inspect_pidfd(fd, pid, euid);
        }
        if let Some(kind) = link
            .split_once(":[")
            .and_then(|(k, _)| NsKind::from_name(k))
        {
            if let Ok(f) = File::open(format!("/proc/thread-self/fd/{fd}")) {
                if let Some(ns) = facts(kind, link.clone(), f.into(), euid) {
                    return Target::Namespace { fd, ns };
                }
            }
        }
        Target::Other { fd, what: link }
    }
}

fn inspect_pidfd(fd: i32, pid: i32, euid: u32) -> Target {
    // fdinfo shows -1 once the process has been reaped, 0 when it lives in a pid namespace
    // the caller cannot see.
    if pid < 0 {
        return Target::Pidfd {
            fd,
            pid: None,
            state: TaskState::Gone,
            inspectable: None,
            namespaces: Vec::new(),
        };
    }
    if pid == 0 {
        return Target::Pidfd {
            fd,
            pid: None,
            state: TaskState::Unknown,
            inspectable: None,
            namespaces: Vec::new(),
        };
    }
    let state = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => match stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
        {
            Some("Z") | Some("X") => TaskState::Zombie,
            Some(_) => TaskState::Running,
            None => TaskState::Unknown,
        },
        Err(_) => TaskState::Gone,
    };
    let mut inspectable = None;
    let mut namespaces = Vec::new();
    if state == TaskState::Zombie {
        // A zombie has no namespaces left, but the ptrace check comes first: procfs refuses
        // its ns links with EACCES then, and with ENOENT otherwise.
        inspectable = match open_ns_link(&format!("/proc/{pid}/ns/user")) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some(false),
            _ => Some(true),
        };
    }
    if state == TaskState::Running {
        for kind in NsKind::INSTALL_ORDER {
            let path = format!("/proc/{pid}/ns/{}", kind.name());
            match open_ns_link(&path) {
                Ok(f) => {
                    inspectable = Some(true);
                    let name = std::fs::read_link(&path)
                        .map(|l| l.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if let Some(n) = facts(kind, name, f.into(), euid) {
                        namespaces.push(n);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    inspectable = Some(false);
                    break;
                }
                Err(_) => {}
            }
        }
    }
    Target::Pidfd {
        fd,
        pid: Some(pid),
        state,
        inspectable,
        namespaces,
    }
}

/// The facts of the namespace `f` refers to, relative to the calling thread.
fn facts(kind: NsKind, name: String, f: OwnedFd, euid: u32) -> Option<NsFacts> {
    let ident = |f: &dyn AsFd| -> Option<(u64, u64)> {
        let st = rustix::fs::fstat(f.as_fd()).ok()?;
        Some((st.st_dev, st.st_ino))
    };
    let my_user = ident(&File::open("/proc/thread-self/ns/user").ok()?)?;
    let pid_place = (kind == NsKind::Pid).then(|| {
        let Some(mine) = File::open("/proc/thread-self/ns/pid")
            .ok()
            .and_then(|m| ident(&m))
        else {
            return PidNsPlace::Unknown;
        };
        if ident(&f) == Some(mine) {
            return PidNsPlace::Same;
        }
        // NS_GET_PARENT answers only for a pid namespace strictly below the caller's
        // (pidns_get_parent()).
        match ns::parent_ns(&f) {
            Ok(_) => PidNsPlace::Below,
            Err(rustix::io::Errno::PERM) => PidNsPlace::Elsewhere,
            Err(_) => PidNsPlace::Unknown,
        }
    });
    let owner = if kind == NsKind::User {
        userns_relation(f, my_user, euid)
    } else {
        owner_of(&f, my_user, euid)
    };
    Some(NsFacts {
        kind,
        name,
        owner,
        pid_place,
    })
}

/// Opens a `/proc/PID/ns/*` link. A link the caller may not follow is `EACCES`, or on Debian's
/// 5.10.262 the `ns` directory itself: only a regular (nsfs) file is a namespace, anything
/// else counts as the refusal (`PermissionDenied`).
fn open_ns_link(path: &str) -> std::io::Result<File> {
    let f = File::open(path)?;
    if f.metadata()?.file_type().is_file() {
        Ok(f)
    } else {
        Err(std::io::ErrorKind::PermissionDenied.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn only_an_nsfs_file_is_a_namespace_link() {
        assert!(open_ns_link("/proc/self/ns/net").is_ok());
        // What Debian's 5.10.262 gives for a link the caller may not follow: a directory.
        let e = open_ns_link("/proc/self/ns").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(
            open_ns_link("/proc/self/ns/nonexistent")
                .unwrap_err()
                .kind(),
            std::io::ErrorKind::NotFound
        );
    }

    #[test]
    fn own_namespaces_and_other_files() {
        let net = File::open("/proc/self/ns/net").unwrap();
        match Target::inspect(net.as_raw_fd(), rustix::process::geteuid().as_raw()) {
            Target::Namespace { ns, .. } => {
                assert_eq!(ns.kind, NsKind::Net);
                assert!(ns.name.starts_with("net:["));
                assert_eq!(ns.owner, NsOwner::Mine);
            }
            other => panic!("{other:?}"),
        }
        let user = File::open("/proc/self/ns/user").unwrap();
        match Target::inspect(user.as_raw_fd(), 0) {
            Target::Namespace { ns, .. } => assert_eq!(ns.owner, NsOwner::Mine),
            other => panic!("{other:?}"),
        }
        let pid = File::open("/proc/self/ns/pid").unwrap();
        match Target::inspect(pid.as_raw_fd(), 0) {
            Target::Namespace { ns, .. } => assert_eq!(ns.pid_place, Some(PidNsPlace::Same)),
            other => panic!("{other:?}"),
        }
        let status = File::open("/proc/self/status").unwrap();
        assert!(matches!(
            Target::inspect(status.as_raw_fd(), 0),
            Target::Other { .. }
        ));
        assert_eq!(Target::inspect(-1, 0), Target::NotOpen { fd: -1 });
    }

    #[test]
    fn a_pidfd_of_ourselves() {
        let me = rustix::process::getpid();
        let Ok(pidfd) = rustix::process::pidfd_open(me, rustix::process::PidfdFlags::empty())
        else {
            return;
        };
        match Target::inspect(pidfd.as_raw_fd(), rustix::process::geteuid().as_raw()) {
            Target::Pidfd {
                pid,
                state,
                inspectable,
                namespaces,
                ..
            } => {
                assert_eq!(pid, Some(me.as_raw_nonzero().get()));
                assert_eq!(state, TaskState::Running);
                assert_eq!(inspectable, Some(true));
                assert!(namespaces.iter().any(|n| n.kind == NsKind::Net));
            }
            other => panic!("{other:?}"),
        }
    }
}
