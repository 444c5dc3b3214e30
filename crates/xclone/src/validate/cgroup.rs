//! What `CLONE_INTO_CGROUP` will meet (see [`CgroupFacts`]).

use crate::caller::Caller;
use rustix::fs::{Access, AtFlags, Mode, OFlags};
use std::os::fd::{AsFd, OwnedFd};

const CGROUP2_SUPER_MAGIC: i64 = linux_raw_sys::general::CGROUP2_SUPER_MAGIC as i64;
const CGROUP_SUPER_MAGIC: i64 = linux_raw_sys::general::CGROUP_SUPER_MAGIC as i64;

/// Controllers that may be enabled in a threaded subtree (cgroup-v2.rst, "Threads"); any other
/// controller in `cgroup.subtree_control` makes a domain cgroup unable to hold processes.
pub const THREADED_CONTROLLERS: &[&str] = &["cpu", "cpuset", "perf_event", "pids"];

/// What the descriptor refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "kebab-case", tag = "kind", content = "detail")
)]
#[non_exhaustive]
pub enum Target {
    /// Not an open descriptor.
    NotOpen,
    /// A directory of the cgroup2 hierarchy.
    Cgroup2Dir,
    /// A file inside the cgroup2 hierarchy (e.g. `cgroup.procs`).
    Cgroup2File,
    /// A directory of a cgroup v1 hierarchy.
    Cgroup1,
    /// Anything else; the detail names what.
    Other(String),
    /// It could not be inspected (the detail names the call and errno, e.g. `EMFILE` at the
    /// descriptor limit): nothing is concluded from it.
    Unknown(String),
}

/// The state of a `CLONE_INTO_CGROUP` target, as far as the caller can read it. `None` fields
/// could not be determined. Read without changing anything (cgroups(7), the kernel's
/// Documentation/admin-guide/cgroup-v2.rst).
///
/// The descriptor is reached through `/proc/self/fd/<n>`, so any number can be inspected
/// without unsafe code; the kernel's own checks run in `cgroup_css_set_fork()` in this order:
/// the descriptor, a cgroup2 directory, alive, write permission on its `cgroup.procs`, the same
/// on the common ancestor with the caller's cgroup, the "domain invalid" and "no internal
/// processes" rules, and for threads the threaded domain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CgroupFacts {
    /// The descriptor number from `clone_args.cgroup`.
    pub fd: u64,
    /// What the descriptor is.
    pub target: Target,
    /// Where the descriptor points, as the caller's mount namespace names it.
    pub path: Option<String>,
    /// The cgroup was removed after the descriptor was opened.
    pub removed: bool,
    /// Path inside the hierarchy, relative to the caller's cgroup namespace root.
    pub cgroup_path: Option<String>,
    /// May the caller write the target's `cgroup.procs`?
    pub writable: Option<bool>,
    /// The common ancestor of the caller's cgroup and the target, when it differs from the
    /// target, and whether the caller may write its `cgroup.procs`.
    pub ancestor: Option<String>,
    /// May the caller write the ancestor's `cgroup.procs`?
    pub ancestor_writable: Option<bool>,
    /// `cgroup.type` (`None` for the root cgroup, which has none).
    pub cgroup_type: Option<String>,
    /// `cgroup.subtree_control`.
    pub subtree_control: Vec<String>,
    /// Non-threaded child cgroups that hold processes (they also forbid internal processes).
    pub populated_domain_children: Vec<String>,
    /// The threaded domain (thread root or the cgroup itself) of the target and of the
    /// caller's cgroup, as hierarchy paths.
    pub domain: Option<String>,
    /// The caller's threaded domain.
    pub caller_domain: Option<String>,
    /// The tightest `pids.max` on the way up from the target: (cgroup, max, current).
    pub pids: Option<(String, u64, u64)>,
}

impl CgroupFacts {
    fn empty(fd: u64, target: Target) -> Self {
        CgroupFacts {
            fd,
            target,
            path: None,
            removed: false,
            cgroup_path: None,
            writable: None,
            ancestor: None,
            ancestor_writable: None,
            cgroup_type: None,
            subtree_control: Vec::new(),
            populated_domain_children: Vec::new(),
            domain: None,
            caller_domain: None,
            pids: None,
        }
    }

    /// A descriptor number that is not open (how the kernel sees a cgroup directory that could
    /// not be opened); `path` says what was meant.
    pub fn not_open(fd: u64, path: Option<String>) -> Self {
        CgroupFacts {
            path,
            ..Self::empty(fd, Target::NotOpen)
        }
    }

    /// A healthy, writable, leaf domain cgroup (for tests and examples).
    pub fn writable_leaf(fd: u64, cgroup_path: &str) -> Self {
        CgroupFacts {
            path: Some(format!("/sys/fs/cgroup{cgroup_path}")),
            cgroup_path: Some(cgroup_path.to_string()),
            writable: Some(true),
            cgroup_type: Some("domain".into()),
            domain: Some(cgroup_path.to_string()),
            caller_domain: Some("/".into()),
            ..Self::empty(fd, Target::Cgroup2Dir)
        }
    }

    /// Reads the state of the cgroup behind descriptor number `fd` of the calling process.
    pub fn inspect(fd: u64, caller: &Caller) -> Self {
        let dir = match rustix::fs::open(
            format!("/proc/self/fd/{fd}"),
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(d) => d,
            // No such entry: the descriptor is not open.
            Err(rustix::io::Errno::NOENT) => return Self::empty(fd, Target::NotOpen),
            Err(e) => {
                return Self::empty(
                    fd,
                    Target::Unknown(format!(
                        "open /proc/self/fd/{fd}: {}",
                        crate::Errno::from(e)
                    )),
                )
            }
        };
        let path = rustix::fs::readlink(format!("/proc/self/fd/{fd}"), Vec::new())
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        let is_dir = rustix::fs::fstat(&dir)
            .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir())
            .unwrap_or(false);
        let magic = match rustix::fs::fstatfs(&dir) {
            Ok(s) => s.f_type,
            Err(e) => {
                return Self::empty(
                    fd,
                    Target::Unknown(format!("fstatfs: {}", crate::Errno::from(e))),
                )
            }
        };
        let target = match (magic, is_dir) {
            (CGROUP2_SUPER_MAGIC, true) => Target::Cgroup2Dir,
            (CGROUP2_SUPER_MAGIC, false) => Target::Cgroup2File,
            (CGROUP_SUPER_MAGIC, _) => Target::Cgroup1,
            (_, true) => Target::Other(format!("a directory on a {} file system", fs_name(magic))),
            (_, false) => Target::Other(format!("a file on a {} file system", fs_name(magic))),
        };
        let mut facts = CgroupFacts {
            path: path.clone(),
            ..Self::empty(fd, target)
        };
        if facts.target != Target::Cgroup2Dir {
            return facts;
        }
        if rustix::fs::statat(&dir, "cgroup.procs", AtFlags::empty()).is_err() {
            facts.removed = true;
            return facts;
        }
        facts.writable = may_write_procs(&dir);
        facts.cgroup_type = read_word_file(&dir, "cgroup.type");
        facts.subtree_control = read_file(&dir, "cgroup.subtree_control")
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        facts.populated_domain_children = populated_domain_children(&dir);

        let Some(path) = path else {
            return facts;
        };
        let Some((mount_point, mount_root)) = cgroup2_mount_of(&path) else {
            return facts;
        };
        let below_mount = path[mount_point.len()..].trim_start_matches('/');
        let target_cg = join(&mount_root, below_mount);
        facts.cgroup_path = Some(target_cg.clone());
        facts.domain = domain_of(&dir, &target_cg);
        facts.pids = tightest_pids(&dir, &target_cg, components(below_mount).len());

        let Some(own) = caller.cgroup2_path.clone() else {
            return facts;
        };
        let common = common_ancestor(&own, &target_cg);
        let ups = components(&target_cg).len() - components(&common).len();
        let reachable_ups = components(below_mount).len();
        if ups > 0 {
            facts.ancestor = Some(common.clone());
            if ups <= reachable_ups {
                if let Ok(anc) = open_up(&dir, ups) {
                    facts.ancestor_writable = may_write_procs(&anc);
                    // The caller's own cgroup is below the common ancestor.
                    let down = own[common.len()..].trim_start_matches('/').to_string();
                    facts.caller_domain = if down.is_empty() {
                        domain_of(&anc, &common)
                    } else {
                        open_dir(&anc, &down).ok().and_then(|d| domain_of(&d, &own))
                    };
                }
            }
        } else {
            // The caller sits in the target or below it.
            let down = own[target_cg.len().min(own.len())..]
                .trim_start_matches('/')
                .to_string();
            facts.caller_domain = if down.is_empty() {
                facts.domain.clone()
            } else {
                open_dir(&dir, &down).ok().and_then(|d| domain_of(&d, &own))
            };
        }
        facts
    }

    /// The target's `cgroup.subtree_control` makes it refuse processes: the reason, if so.
    /// Mirrors `cgroup_migrate_vet_dst()`: the root and threaded cgroups are exempt, and so is a
    /// domain that can still become a thread root (only threaded controllers enabled and no
    /// populated domain children).
    pub fn internal_process_conflict(&self) -> Option<String> {
        if self.subtree_control.is_empty() || self.cgroup_type.as_deref() != Some("domain") {
            return None;
        }
        let domain_only: Vec<&str> = self
            .subtree_control
            .iter()
            .map(String::as_str)
            .filter(|c| !THREADED_CONTROLLERS.contains(c))
            .collect();
        if !domain_only.is_empty() {
            return Some(format!(
                "cgroup.subtree_control enables {}",
                domain_only.join(", ")
            ));
        }
        if !self.populated_domain_children.is_empty() {
            return Some(format!(
                "cgroup.subtree_control enables {} and child cgroup{} {} hold{} processes",
                self.subtree_control.join(", "),
                if self.populated_domain_children.len() == 1 {
                    ""
                } else {
                    "s"
                },
                self.populated_domain_children.join(", "),
                if self.populated_domain_children.len() == 1 {
                    "s"
                } else {
                    ""
                },
            ));
        }
        None
    }
}

/// `faccessat(dir, "cgroup.procs", W_OK, AT_EACCESS)`: the same credential check the kernel
/// makes (`inode_permission(MAY_WRITE)` with the caller's effective ids and capabilities). A
/// read-only mount of the hierarchy does not matter to the kernel's check, so EROFS falls
/// back to the permission bits.
fn may_write_procs(dir: &impl AsFd) -> Option<bool> {
    match rustix::fs::accessat(dir, "cgroup.procs", Access::WRITE_OK, AtFlags::EACCESS) {
        Ok(()) => Some(true),
        Err(rustix::io::Errno::ACCESS) | Err(rustix::io::Errno::PERM) => Some(false),
        Err(rustix::io::Errno::ROFS) => {
            let st = rustix::fs::statat(dir, "cgroup.procs", AtFlags::empty()).ok()?;
            let euid = rustix::process::geteuid().as_raw();
            let egid = rustix::process::getegid().as_raw();
            let mode = st.st_mode;
            Some(
                euid == 0
                    || (st.st_uid == euid && mode & 0o200 != 0)
                    || (st.st_gid == egid && mode & 0o020 != 0)
                    || mode & 0o002 != 0,
            )
        }
        Err(_) => None,
    }
}

fn read_file(dir: &impl AsFd, name: &str) -> Option<String> {
    let fd = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut f = std::fs::File::from(fd);
    let mut s = String::new();
    std::io::Read::read_to_string(&mut f, &mut s).ok()?;
    Some(s)
}

fn read_word_file(dir: &impl AsFd, name: &str) -> Option<String> {
    read_file(dir, name).map(|s| s.trim().to_string())
}

/// An `O_PATH` descriptor of the directory `rel` (relative to `dir`), to read files below it.
fn open_dir(dir: &impl AsFd, rel: &str) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        rel,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn open_up(dir: &impl AsFd, ups: usize) -> rustix::io::Result<OwnedFd> {
    open_dir(dir, &vec![".."; ups].join("/"))
}

/// Child cgroups of `dir` that are not threaded and hold processes (`populated 1`).
fn populated_domain_children(dir: &impl AsFd) -> Vec<String> {
    let Ok(d) = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return Vec::new();
    };
    let Ok(mut it) = rustix::fs::Dir::new(d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while let Some(Ok(e)) = it.next() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." || e.file_type() != rustix::fs::FileType::Directory {
            continue;
        }
        let Ok(child) = open_dir(dir, &name) else {
            continue;
        };
        if read_word_file(&child, "cgroup.type").as_deref() == Some("threaded") {
            continue;
        }
        let populated = read_file(&child, "cgroup.events")
            .map(|s| s.lines().any(|l| l.trim() == "populated 1"))
            .unwrap_or(false);
        if populated {
            out.push(name);
        }
    }
    out.sort();
    out
}

/// The threaded domain of the cgroup at `dir` (hierarchy path `cg`): itself unless it is
/// threaded, else the nearest ancestor of type "domain threaded".
fn domain_of(dir: &impl AsFd, cg: &str) -> Option<String> {
    let comps = components(cg);
    let mut ty = read_word_file(dir, "cgroup.type");
    let mut ups = 0;
    while ty.as_deref() == Some("threaded") {
        ups += 1;
        if ups > comps.len() {
            return None;
        }
        let up = open_up(dir, ups).ok()?;
        ty = read_word_file(&up, "cgroup.type");
    }
    Some(path_of(&comps[..comps.len() - ups]))
}

/// The ancestor (or the target itself) whose `pids.max` leaves the least room, walking up at
/// most `max_ups` levels (the part of the hierarchy visible through this mount).
fn tightest_pids(dir: &impl AsFd, cg: &str, max_ups: usize) -> Option<(String, u64, u64)> {
    let comps = components(cg);
    let mut best: Option<(String, u64, u64)> = None;
    for ups in 0..=max_ups.min(comps.len()) {
        let d = if ups == 0 {
            open_dir(dir, ".").ok()?
        } else {
            open_up(dir, ups).ok()?
        };
        let (Some(max), Some(cur)) = (
            read_word_file(&d, "pids.max"),
            read_word_file(&d, "pids.current"),
        ) else {
            continue;
        };
        let (Ok(max), Ok(cur)) = (max.parse::<u64>(), cur.parse::<u64>()) else {
            continue; // "max" = unlimited
        };
        let room = max.saturating_sub(cur);
        if best
            .as_ref()
            .is_none_or(|(_, m, c)| room < m.saturating_sub(*c))
        {
            best = Some((path_of(&comps[..comps.len() - ups]), max, cur));
        }
    }
    best
}

/// The cgroup2 mount holding `path`: (mount point, root of the mount inside the hierarchy),
/// from `/proc/self/mountinfo` (proc(5)).
pub fn cgroup2_mount_of(path: &str) -> Option<(String, String)> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(String, String)> = None;
    for e in crate::probe::system::parse_mountinfo(&mi) {
        if e.fs_type != "cgroup2" {
            continue;
        }
        let mp = e.mount_point.to_string_lossy().into_owned();
        let inside = path == mp
            || mp == "/"
            || path
                .strip_prefix(mp.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
        if inside && best.as_ref().is_none_or(|(m, _)| mp.len() >= m.len()) {
            best = Some((mp, e.root.to_string_lossy().into_owned()));
        }
    }
    best.map(|(mp, root)| (if mp == "/" { String::new() } else { mp }, root))
}

fn components(p: &str) -> Vec<&str> {
    p.split('/').filter(|c| !c.is_empty()).collect()
}

fn path_of(comps: &[&str]) -> String {
    format!("/{}", comps.join("/"))
}

fn join(root: &str, rel: &str) -> String {
    let mut c = components(root);
    c.extend(components(rel));
    path_of(&c)
}

/// The deepest cgroup that contains both `a` and `b`.
pub fn common_ancestor(a: &str, b: &str) -> String {
    let (ca, cb) = (components(a), components(b));
    let n = ca.iter().zip(&cb).take_while(|(x, y)| x == y).count();
    path_of(&ca[..n])
}

fn fs_name(magic: i64) -> String {
    use linux_raw_sys::general as g;
    let known: &[(u32, &str)] = &[
        (g::TMPFS_MAGIC, "tmpfs"),
        (g::PROC_SUPER_MAGIC, "proc"),
        (g::SYSFS_MAGIC, "sysfs"),
        (g::EXT4_SUPER_MAGIC, "ext4"),
        (g::BTRFS_SUPER_MAGIC, "btrfs"),
        (g::XFS_SUPER_MAGIC, "xfs"),
        (g::OVERLAYFS_SUPER_MAGIC, "overlay"),
        (g::DEVPTS_SUPER_MAGIC, "devpts"),
        (g::PIPEFS_MAGIC, "pipefs"),
        (g::SOCKFS_MAGIC, "sockfs"),
        (g::ANON_INODE_FS_MAGIC, "anon_inode"),
        (g::NSFS_MAGIC, "nsfs"),
    ];
    known
        .iter()
        .find(|(m, _)| *m as i64 == magic)
        .map(|(_, n)| (*n).to_string())
        .unwrap_or_else(|| format!("{magic:#x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(common_ancestor("/a/b/c", "/a/b/d"), "/a/b");
        assert_eq!(common_ancestor("/", "/x"), "/");
        assert_eq!(common_ancestor("/x/y", "/x/y"), "/x/y");
        assert_eq!(join("/", "a/b"), "/a/b");
        assert_eq!(join("/r", ""), "/r");
    }

    #[test]
    fn internal_processes_rule() {
        let mut f = CgroupFacts::writable_leaf(3, "/a");
        assert_eq!(f.internal_process_conflict(), None);
        f.subtree_control = vec!["pids".into()];
        // Only threaded controllers and no populated children: it could still become a thread
        // root, so the kernel lets processes in.
        assert_eq!(f.internal_process_conflict(), None);
        f.populated_domain_children = vec!["leaf".into()];
        assert!(f.internal_process_conflict().unwrap().contains("leaf"));
        f.subtree_control = vec!["memory".into(), "pids".into()];
        f.populated_domain_children.clear();
        assert_eq!(
            f.internal_process_conflict().as_deref(),
            Some("cgroup.subtree_control enables memory")
        );
        f.cgroup_type = Some("domain threaded".into());
        assert_eq!(f.internal_process_conflict(), None);
        f.cgroup_type = None; // the root cgroup
        assert_eq!(f.internal_process_conflict(), None);
    }

    #[test]
    fn inspects_descriptors() {
        let c = Caller::current().unwrap();
        // An unopened number.
        assert_eq!(CgroupFacts::inspect(987_654, &c).target, Target::NotOpen);
        // A plain directory.
        let d = std::fs::File::open("/proc").unwrap();
        let f = CgroupFacts::inspect(std::os::fd::AsRawFd::as_raw_fd(&d) as u64, &c);
        assert_eq!(
            f.target,
            Target::Other("a directory on a proc file system".into())
        );
        assert_eq!(f.path.as_deref(), Some("/proc"));
    }
}
