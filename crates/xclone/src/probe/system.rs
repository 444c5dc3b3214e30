//! Reading what the system states in files: the cgroup2 mount, namespace limits, `pid_max`,
//! the caller's capabilities. Nothing here writes.

use super::{Unreadable, UserNsLimits};
use crate::errno::Errno;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// `CGROUP2_SUPER_MAGIC` of `<linux/magic.h>`.
pub const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;

/// One line of `/proc/<pid>/mountinfo` (see proc_pid_mountinfo(5)), the fields the probe uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountInfoEntry {
    /// The directory of the filesystem that forms the root of this mount (field 4).
    pub root: PathBuf,
    /// Where it is mounted, relative to the reader's root (field 5).
    pub mount_point: PathBuf,
    /// The filesystem type, first field after the ` - ` separator.
    pub fs_type: String,
}

/// Undoes the kernel's escaping of space, tab, newline and backslash as `\ooo` octal.
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let oct = &bytes[i + 1..i + 4];
            if oct.iter().all(|b| (b'0'..=b'7').contains(b)) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    PathBuf::from(OsString::from_vec(out))
}

/// Parses `/proc/<pid>/mountinfo`; lines that do not have the documented shape are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<MountInfoEntry> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mut l = left.split(' ');
            let root = l.nth(3)?;
            let mount_point = l.next()?;
            let fs_type = right.split(' ').next()?;
            Some(MountInfoEntry {
                root: unescape(root),
                mount_point: unescape(mount_point),
                fs_type: fs_type.to_string(),
            })
        })
        .collect()
}

/// The cgroup2 mount to use: entries of type `cgroup2`, those showing the hierarchy's root
/// (`/`) first, and among them the first whose path really is a cgroup2 filesystem now
/// (a later mount can hide an earlier one). Falls back to the first candidate when `statfs`
/// cannot tell.
pub fn cgroup2_mount_from(
    entries: &[MountInfoEntry],
    is_cgroup2: impl Fn(&Path) -> Option<bool>,
) -> Option<PathBuf> {
    let mut candidates: Vec<&MountInfoEntry> =
        entries.iter().filter(|e| e.fs_type == "cgroup2").collect();
    candidates.sort_by_key(|e| e.root != Path::new("/"));
    let mut unsure = None;
    for c in &candidates {
        match is_cgroup2(&c.mount_point) {
            Some(true) => return Some(c.mount_point.clone()),
            None if unsure.is_none() => unsure = Some(c.mount_point.clone()),
            _ => {}
        }
    }
    unsure
}

/// Whether `path` is the root of, or inside, a cgroup2 filesystem (`None`: cannot tell).
pub fn statfs_is_cgroup2(path: &Path) -> Option<bool> {
    rustix::fs::statfs(path)
        .ok()
        .map(|s| s.f_type as u64 == CGROUP2_SUPER_MAGIC)
}

/// `/proc/self/mountinfo`, where the cgroup2 mount is looked up.
pub const MOUNTINFO: &str = "/proc/self/mountinfo";

/// The cgroup2 mount point as the calling process sees it, or why it cannot be known: the
/// error reading `/proc/self/mountinfo` (`EMFILE` at the descriptor limit is not "no
/// cgroup2").
pub fn cgroup2_mount_checked() -> Result<Option<PathBuf>, Errno> {
    let text = std::fs::read_to_string(MOUNTINFO).map_err(io_errno)?;
    Ok(cgroup2_mount_from(
        &parse_mountinfo(&text),
        statfs_is_cgroup2,
    ))
}

/// [`cgroup2_mount_checked`], adding a failure to read `/proc/self/mountinfo` to `unreadable`.
pub fn cgroup2_mount_noting(unreadable: &mut Vec<Unreadable>) -> Option<PathBuf> {
    cgroup2_mount_checked()
        .map_err(|errno| note(unreadable, MOUNTINFO, errno))
        .ok()
        .flatten()
}

fn io_errno(e: std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(libc::EIO))
}

fn note(unreadable: &mut Vec<Unreadable>, path: &str, errno: Errno) {
    unreadable.push(Unreadable {
        path: path.to_string(),
        errno,
    });
}

/// The file's text, trimmed; `None` when it does not exist (a sysctl this kernel lacks) and
/// also, recorded in `unreadable`, when it could not be read.
fn read_trimmed(path: &str, unreadable: &mut Vec<Unreadable>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Some(s.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            note(unreadable, path, io_errno(e));
            None
        }
    }
}

/// A sysctl holding one unsigned number.
pub fn sysctl_u64(path: &str, unreadable: &mut Vec<Unreadable>) -> Option<u64> {
    read_trimmed(path, unreadable)?.parse().ok()
}

/// A sysctl holding 0 or 1 (any non-zero number counts as on).
pub fn sysctl_bool(path: &str, unreadable: &mut Vec<Unreadable>) -> Option<bool> {
    sysctl_u64(path, unreadable).map(|v| v != 0)
}

/// The user- and pid-namespace limits, read from their sysctls (each `None` where absent;
/// a read error other than absence is also noted in `unreadable`).
pub fn userns_limits(unreadable: &mut Vec<Unreadable>) -> UserNsLimits {
    UserNsLimits {
        max_user_namespaces: sysctl_u64("/proc/sys/user/max_user_namespaces", unreadable),
        unprivileged_userns_clone: sysctl_bool(
            "/proc/sys/kernel/unprivileged_userns_clone",
            unreadable,
        ),
        apparmor_restrict_unprivileged_userns: sysctl_bool(
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            unreadable,
        ),
        max_pid_namespaces: sysctl_u64("/proc/sys/user/max_pid_namespaces", unreadable),
    }
}

/// `/proc/sys/kernel/pid_max`, the largest PID plus one.
pub fn pid_max(unreadable: &mut Vec<Unreadable>) -> Option<u32> {
    sysctl_u64("/proc/sys/kernel/pid_max", unreadable).and_then(|v| u32::try_from(v).ok())
}

/// Whether this kernel has the namespace type `name` (an entry in `/proc/self/ns`).
pub fn has_namespace(name: &str) -> bool {
    Path::new("/proc/self/ns")
        .join(name)
        .symlink_metadata()
        .is_ok()
}

/// The calling thread's effective and permitted capability sets (capget(2)), `(0, 0)` when
/// they cannot be read. Kept in one place so that a richer caller description can replace it.
pub fn capabilities() -> (u64, u64) {
    rustix::thread::capabilities(None)
        .map(|c| (c.effective.bits(), c.permitted.bits()))
        .unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw
25 24 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd
";

    #[test]
    fn parses_fields() {
        let e = parse_mountinfo(HYBRID);
        assert_eq!(e.len(), 5);
        assert_eq!(e[3].fs_type, "cgroup2");
        assert_eq!(e[3].mount_point, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(e[3].root, Path::new("/"));
        assert_eq!(e[4].fs_type, "cgroup");
    }

    #[test]
    fn optional_fields_and_junk() {
        let text = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 - ext3 /dev/root rw\n\
                    not a mountinfo line\n\
                    1 2 3\n";
        let e = parse_mountinfo(text);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].root, Path::new("/mnt1"));
        assert_eq!(e[0].fs_type, "ext3");
    }

    #[test]
    fn octal_escapes() {
        let text = "40 24 0:50 /a\\134b /my\\040cgroup\\011x rw - cgroup2 none rw\n";
        let e = parse_mountinfo(text);
        assert_eq!(e[0].mount_point, Path::new("/my cgroup\tx"));
        assert_eq!(e[0].root, Path::new("/a\\b"));
        assert_eq!(unescape("\\12"), Path::new("\\12"));
        assert_eq!(unescape("tail\\"), Path::new("tail\\"));
        assert_eq!(unescape("\\777"), Path::new("\\777"));
    }

    #[test]
    fn chooses_root_and_verified_mounts() {
        let text = "\
50 24 0:60 /sub /inner rw - cgroup2 cgroup2 rw
51 24 0:60 / /first rw - cgroup2 cgroup2 rw
52 24 0:60 / /second rw - cgroup2 cgroup2 rw
";
        let e = parse_mountinfo(text);
        // Root entries win over /sub; the first verified one wins.
        assert_eq!(
            cgroup2_mount_from(&e, |_| Some(true)),
            Some(PathBuf::from("/first"))
        );
        // /first is hidden by another filesystem now: take /second.
        assert_eq!(
            cgroup2_mount_from(&e, |p| Some(p != Path::new("/first"))),
            Some(PathBuf::from("/second"))
        );
        // statfs cannot tell: the first root entry.
        assert_eq!(
            cgroup2_mount_from(&e, |_| None),
            Some(PathBuf::from("/first"))
        );
        assert_eq!(cgroup2_mount_from(&e, |_| Some(false)), None);
        assert_eq!(
            cgroup2_mount_from(&parse_mountinfo(HYBRID), |_| Some(true)),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
    }
}
