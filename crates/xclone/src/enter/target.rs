//! [`Target`]: a running process pinned by its pidfd, and what `enter` reads about it.

use crate::pidfd::PidFd;
use crate::sys::flags::CloneFlags;
use rustix::fs::{AtFlags, Mode, OFlags};
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// The namespace types `enter` can join, each with its name under `/proc/PID/ns/` and the
/// nsenter option letter, in the order setns(2) applies them for a pidfd (user first).
pub const NAMESPACE_KINDS: [(CloneFlags, &str, char); 8] = [
    (CloneFlags::NEWUSER, "user", 'U'),
    (CloneFlags::NEWNS, "mnt", 'm'),
    (CloneFlags::NEWUTS, "uts", 'u'),
    (CloneFlags::NEWIPC, "ipc", 'i'),
    (CloneFlags::NEWNET, "net", 'n'),
    (CloneFlags::NEWPID, "pid", 'p'),
    (CloneFlags::NEWCGROUP, "cgroup", 'C'),
    (CloneFlags::NEWTIME, "time", 'T'),
];

/// Every namespace type of [`NAMESPACE_KINDS`].
pub const ALL_NAMESPACES: CloneFlags = CloneFlags::NEWUSER
    .union(CloneFlags::NEWNS)
    .union(CloneFlags::NEWUTS)
    .union(CloneFlags::NEWIPC)
    .union(CloneFlags::NEWNET)
    .union(CloneFlags::NEWPID)
    .union(CloneFlags::NEWCGROUP)
    .union(CloneFlags::NEWTIME);

/// The `/proc/PID/ns/` name of a single namespace type.
pub fn ns_name(kind: CloneFlags) -> Option<&'static str> {
    NAMESPACE_KINDS
        .iter()
        .find(|(f, _, _)| *f == kind)
        .map(|(_, n, _)| *n)
}

/// Whether the namespace file `fd` (of type `kind`) is the calling process's own namespace
/// of that type.
pub(crate) fn same_as_ours(kind: CloneFlags, fd: std::os::fd::BorrowedFd<'_>) -> io::Result<bool> {
    let name = ns_name(kind).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "not a single namespace type")
    })?;
    let theirs = rustix::fs::fstat(fd)?;
    let ours = match rustix::fs::stat(format!("/proc/self/ns/{name}")) {
        Ok(st) => st,
        Err(rustix::io::Errno::NOENT) => return Ok(false),
        Err(e) => {
            return Err(io::Error::new(
                io::Error::from(e).kind(),
                format!("/proc/self/ns/{name}: {e}"),
            ))
        }
    };
    Ok((theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino))
}

/// Which namespace it is: device and inode of its nsfs file (as `stat -L` shows them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NsId {
    /// `st_dev` of the nsfs file (the nsfs superblock; the same for every namespace).
    pub dev: u64,
    /// `st_ino`: the namespace's number, the one `readlink /proc/PID/ns/*` shows
    /// (`net:[4026531840]`).
    pub ino: u64,
}

/// A running process, pinned: its pidfd plus a checked `/proc/PID` directory descriptor.
///
/// The pidfd comes first. Everything else is read through a descriptor of its `/proc/PID`
/// directory, opened after the pidfd and checked against it: a `/proc/PID` directory stays
/// bound to the process it was opened for (reads fail once that process is gone), and the
/// check — the pidfd's process is still alive after the directory was opened — proves that
/// the PID had not been reused in between. So nothing about another process that inherited
/// the PID is ever read or entered.
#[derive(Debug)]
pub struct Target {
    pidfd: PidFd,
    pid: u32,
    proc_dir: OwnedFd,
}

fn gone(pid: Option<u32>) -> io::Error {
    let who = pid.map_or_else(|| "the target".to_string(), |p| format!("target {p}"));
    io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "{who} has exited (ESRCH); its PID may since belong to another process, which is \
             not entered"
        ),
    )
}

impl Target {
    /// Pins the process with this PID (in our pid namespace): `pidfd_open` first, then the
    /// checked `/proc/PID` directory.
    pub fn from_pid(pid: u32) -> io::Result<Target> {
        let pidfd = PidFd::open(pid).map_err(|e| {
            if e.raw_os_error() == Some(libc::ESRCH) {
                io::Error::new(io::ErrorKind::NotFound, format!("no process {pid} (ESRCH)"))
            } else {
                io::Error::new(e.kind(), format!("pidfd_open({pid}): {e}"))
            }
        })?;
        Self::pin(pidfd, pid)
    }

    /// Takes a pidfd the caller already holds: no PID-reuse race at all. Fails with
    /// `NotFound` (ESRCH) when its process has exited, whatever now has its old PID.
    pub fn from_pidfd(pidfd: PidFd) -> io::Result<Target> {
        let pid = match pidfd.pid() {
            Ok(Some(p)) => p,
            Ok(None) => {
                // fdinfo says -1 when the process is gone, 0 when it lives in a pid
                // namespace we cannot see.
                return Err(match pidfd.send_signal(0) {
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => gone(None),
                    _ => io::Error::new(
                        io::ErrorKind::Unsupported,
                        "the target is outside our pid namespace: its /proc entry cannot be read",
                    ),
                });
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("reading the pidfd's fdinfo (is it a pidfd?): {e}"),
                ))
            }
        };
        Self::pin(pidfd, pid)
    }

    fn pin(pidfd: PidFd, pid: u32) -> io::Result<Target> {
        let proc_dir = rustix::fs::open(
            format!("/proc/{pid}"),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            if e == rustix::io::Errno::NOENT {
                gone(Some(pid))
            } else {
                io::Error::new(io::Error::from(e).kind(), format!("open /proc/{pid}: {e}"))
            }
        })?;
        let t = Target {
            pidfd,
            pid,
            proc_dir,
        };
        t.check_alive()?;
        Ok(t)
    }

    /// Whether the pinned process still exists (`pidfd_send_signal(pidfd, 0)`).
    /// `EPERM` (a process we may not signal, such as root's for an unprivileged caller)
    /// means it exists.
    pub fn check_alive(&self) -> io::Result<()> {
        match self.pidfd.send_signal(0) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Err(gone(Some(self.pid))),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(()),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("pidfd_send_signal(target {}, 0): {e}", self.pid),
            )),
            Ok(()) => Ok(()),
        }
    }

    /// The PID in our pid namespace when it was pinned.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The pidfd that pins the process: its PID cannot be reused while this is open, and
    /// joining through it fails once the process has exited (pidfd_open(2)).
    pub fn pidfd(&self) -> &PidFd {
        &self.pidfd
    }

    /// The pinned `/proc/PID` directory.
    pub fn proc_dir(&self) -> std::os::fd::BorrowedFd<'_> {
        self.proc_dir.as_fd()
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        let fd = rustix::fs::openat(
            &self.proc_dir,
            name,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.proc_error(name, e))?;
        let mut out = Vec::new();
        io::Read::read_to_end(&mut std::fs::File::from(fd), &mut out).map_err(|e| {
            self.proc_error(
                name,
                rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO),
            )
        })?;
        Ok(out)
    }

    fn proc_error(&self, name: &str, e: rustix::io::Errno) -> io::Error {
        if e == rustix::io::Errno::SRCH
            || (e == rustix::io::Errno::NOENT && self.check_alive().is_err())
        {
            return gone(Some(self.pid));
        }
        let hint = match e {
            rustix::io::Errno::ACCESS | rustix::io::Errno::PERM => {
                " (reading another process's /proc entries needs ptrace access to it: the \
                 same uid, or CAP_SYS_PTRACE)"
            }
            _ => "",
        };
        io::Error::new(
            io::Error::from(e).kind(),
            format!(
                "/proc/{}/{name}: {}{hint}",
                self.pid,
                crate::Errno(e.raw_os_error())
            ),
        )
    }

    /// The identity of the target's namespace of type `kind` (one `CLONE_NEW*` flag).
    pub fn ns_id(&self, kind: CloneFlags) -> io::Result<NsId> {
        let name = ns_name(kind).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "not a single namespace type")
        })?;
        let path = format!("ns/{name}");
        let st = rustix::fs::statat(&self.proc_dir, path.as_str(), AtFlags::empty())
            .map_err(|e| self.proc_error(&path, e))?;
        self.check_ns_file(&path, st.st_mode)?;
        Ok(NsId {
            dev: st.st_dev,
            ino: st.st_ino,
        })
    }

    /// Opens the target's `/proc/PID/ns/<kind>` file (for the per-namespace fallback).
    pub fn open_ns(&self, kind: CloneFlags) -> io::Result<OwnedFd> {
        let name = ns_name(kind).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "not a single namespace type")
        })?;
        let path = format!("ns/{name}");
        let fd = rustix::fs::openat(
            &self.proc_dir,
            path.as_str(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.proc_error(&path, e))?;
        let st = rustix::fs::fstat(&fd).map_err(|e| self.proc_error(&path, e))?;
        self.check_ns_file(&path, st.st_mode)?;
        Ok(fd)
    }

    /// A `/proc/PID/ns/*` link must lead to a namespace file (nsfs: a regular file). Where
    /// ptrace access is denied, kernels answer `EACCES`; Debian's 5.10.262 resolves the link
    /// to the `ns` directory itself instead (seen in the kernel matrix), which must not pass
    /// for a namespace: the same error as the refusal.
    fn check_ns_file(&self, path: &str, mode: u32) -> io::Result<()> {
        if mode & libc::S_IFMT == libc::S_IFREG {
            return Ok(());
        }
        let e = self.proc_error(path, rustix::io::Errno::ACCESS);
        Err(io::Error::new(
            e.kind(),
            format!("{e}; the kernel resolved the link to something else than a namespace"),
        ))
    }

    /// The namespace types in which the target differs from the calling process (what
    /// nsenter's `--all` joins). Types this kernel lacks are left out.
    pub fn differing_namespaces(&self) -> io::Result<CloneFlags> {
        let mut out = CloneFlags::empty();
        for (kind, name, _) in NAMESPACE_KINDS {
            let ours = match rustix::fs::stat(format!("/proc/self/ns/{name}")) {
                Ok(st) => NsId {
                    dev: st.st_dev,
                    ino: st.st_ino,
                },
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => {
                    return Err(io::Error::new(
                        io::Error::from(e).kind(),
                        format!("/proc/self/ns/{name}: {e}"),
                    ))
                }
            };
            if self.ns_id(kind)? != ours {
                out |= kind;
            }
        }
        Ok(out)
    }

    /// Opens the target's root directory (`/proc/PID/root`) or working directory
    /// (`/proc/PID/cwd`), for a later `fchdir`.
    pub fn open_dir(&self, which: &str) -> io::Result<OwnedFd> {
        rustix::fs::openat(
            &self.proc_dir,
            which,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.proc_error(which, e))
    }

    /// The target's environment (`/proc/PID/environ`), as it was at its last `execve`.
    pub fn environ(&self) -> io::Result<Vec<(OsString, OsString)>> {
        Ok(parse_environ(&self.read("environ")?))
    }

    /// The target's cgroup2 path as `/proc/PID/cgroup` shows it (the `0::` line), relative
    /// to the root of *our* cgroup namespace. `None` when it has no cgroup2 line.
    pub fn cgroup2_path(&self) -> io::Result<Option<PathBuf>> {
        let text = String::from_utf8_lossy(&self.read("cgroup")?).into_owned();
        Ok(parse_cgroup2_line(&text))
    }
}

/// `KEY=VALUE\0…` into pairs; entries without `=` are skipped (as the C library does).
pub(crate) fn parse_environ(raw: &[u8]) -> Vec<(OsString, OsString)> {
    raw.split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            // A leading '=' belongs to the name (as std's parser treats it).
            let pos = e.iter().skip(1).position(|&b| b == b'=')? + 1;
            Some((
                OsString::from_vec(e[..pos].to_vec()),
                OsString::from_vec(e[pos + 1..].to_vec()),
            ))
        })
        .collect()
}

/// The path of the `0::PATH` line of a `/proc/PID/cgroup` text.
pub(crate) fn parse_cgroup2_line(text: &str) -> Option<PathBuf> {
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| PathBuf::from(p.trim_end_matches(" (deleted)")))
}

/// Where a cgroup2 path (relative to our cgroup namespace's root, as `/proc/PID/cgroup` and
/// the mount's root field of mountinfo both show it) lives on disk, given the cgroup2
/// mount. `None` when the cgroup is not below the mounted part of the hierarchy (outside
/// our cgroup namespace, shown as `/..`, or above a mount of a subtree).
pub(crate) fn cgroup_dir(mount_point: &Path, mount_root: &Path, cgroup: &Path) -> Option<PathBuf> {
    if cgroup
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return None;
    }
    let rel = cgroup.strip_prefix(mount_root).ok()?;
    Some(mount_point.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_link_leading_elsewhere_is_refused() {
        let me = Target::from_pid(std::process::id()).unwrap();
        // Our own namespace files are nsfs files.
        assert!(me.ns_id(CloneFlags::NEWNET).is_ok());
        assert!(me.open_ns(CloneFlags::NEWNET).is_ok());
        // What 5.10.262 showed for a denied link: the ns directory (mode dr-x--x--x).
        let e = me
            .check_ns_file("ns/net", libc::S_IFDIR | 0o511)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("/proc/{}/ns/net: EACCES", std::process::id())),
            "{text}"
        );
        assert!(text.contains("ptrace access"), "{text}");
    }

    #[test]
    fn environ_parsing() {
        let v = parse_environ(b"A=1\0B=x=y\0NOEQ\0=C=2\0\0");
        let v: Vec<(String, String)> = v
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect();
        assert_eq!(
            v,
            [
                ("A".into(), "1".into()),
                ("B".into(), "x=y".into()),
                ("=C".into(), "2".into())
            ]
        );
    }

    #[test]
    fn cgroup_lines_and_dirs() {
        let t = "12:pids:/a\n0::/user.slice/x\n";
        assert_eq!(parse_cgroup2_line(t), Some(PathBuf::from("/user.slice/x")));
        assert_eq!(parse_cgroup2_line("3:cpu:/\n"), None);
        let m = Path::new("/sys/fs/cgroup");
        assert_eq!(
            cgroup_dir(m, Path::new("/"), Path::new("/a/b")),
            Some(PathBuf::from("/sys/fs/cgroup/a/b"))
        );
        assert_eq!(
            cgroup_dir(m, Path::new("/a"), Path::new("/a/b")),
            Some(PathBuf::from("/sys/fs/cgroup/b"))
        );
        assert_eq!(cgroup_dir(m, Path::new("/a"), Path::new("/c")), None);
        assert_eq!(cgroup_dir(m, Path::new("/"), Path::new("/../x")), None);
    }

    #[test]
    fn pins_itself_and_finds_no_differences() {
        let t = Target::from_pid(std::process::id()).unwrap();
        assert_eq!(t.pid(), std::process::id());
        assert_eq!(t.differing_namespaces().unwrap(), CloneFlags::empty());
        assert!(
            t.environ().unwrap().iter().any(|(k, _)| k == "PATH")
                || std::env::var_os("PATH").is_none()
        );
    }
}
