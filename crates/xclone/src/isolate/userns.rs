//! The parent's side of a new user namespace (documented in the `isolate` layer).

use super::error::IsolationError;
use super::idmap::{IdMap, IdMaps, SetGroups};
use crate::errno::Errno;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_SETFCAP: u32 = 31;

/// Who writes the maps: the credentials that decide what the kernel allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Writer {
    /// The effective uid.
    pub euid: u32,
    /// The effective gid.
    pub egid: u32,
    /// `CAP_SETUID` in the effective set.
    pub cap_setuid: bool,
    /// `CAP_SETGID` in the effective set.
    pub cap_setgid: bool,
    /// `CAP_SETFCAP` in the effective set (needed to map uid 0 of the parent, 5.12).
    pub cap_setfcap: bool,
}

impl Writer {
    /// The calling thread's credentials (effective ids and capabilities).
    pub fn current() -> Self {
        let (eff, _) = crate::probe::system::capabilities();
        let has = |cap: u32| eff & (1u64 << cap) != 0;
        Writer {
            euid: rustix::process::geteuid().as_raw(),
            egid: rustix::process::getegid().as_raw(),
            cap_setuid: has(CAP_SETUID),
            cap_setgid: has(CAP_SETGID),
            cap_setfcap: has(CAP_SETFCAP),
        }
    }
}

/// How one map is written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapWrite {
    /// By the parent: this text into `/proc/PID/{uid,gid}_map`.
    Direct(String),
    /// By a setuid helper: `program PID args...`.
    Helper {
        /// `newuidmap` or `newgidmap`, as found.
        program: PathBuf,
        /// The arguments after the PID: `inside outside count` triples.
        args: Vec<String>,
    },
}

/// Which map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Uid,
    Gid,
}

impl Kind {
    fn file(self) -> &'static str {
        match self {
            Kind::Uid => "uid_map",
            Kind::Gid => "gid_map",
        }
    }
    fn helper(self) -> &'static str {
        match self {
            Kind::Uid => "newuidmap",
            Kind::Gid => "newgidmap",
        }
    }
    fn subid_file(self) -> &'static str {
        match self {
            Kind::Uid => "/etc/subuid",
            Kind::Gid => "/etc/subgid",
        }
    }
    fn cap(self) -> &'static str {
        match self {
            Kind::Uid => "CAP_SETUID",
            Kind::Gid => "CAP_SETGID",
        }
    }
    fn ids(self) -> &'static str {
        match self {
            Kind::Uid => "uid",
            Kind::Gid => "gid",
        }
    }
}

/// The maps of one spawn, with the writer of each decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapPlan {
    /// Written to `/proc/PID/setgroups` before the gid map.
    pub setgroups: Option<SetGroups>,
    /// How the gid map is written.
    pub gid: Option<MapWrite>,
    /// How the uid map is written.
    pub uid: Option<MapWrite>,
    writer: Writer,
}

/// Where to look for the helpers and the subordinate-id files (tests replace them).
#[derive(Clone, Debug)]
pub struct Environment {
    /// `PATH` to search for `newuidmap`/`newgidmap` (`None`: the process's).
    pub path: Option<OsString>,
    /// `/etc/subuid`.
    pub subuid: PathBuf,
    /// `/etc/subgid`.
    pub subgid: PathBuf,
    /// `/etc/passwd` (names in the subordinate-id files).
    pub passwd: PathBuf,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            path: std::env::var_os("PATH"),
            subuid: "/etc/subuid".into(),
            subgid: "/etc/subgid".into(),
            passwd: "/etc/passwd".into(),
        }
    }
}

impl MapPlan {
    /// Decides how `maps` get written by the calling thread, checking what can be checked
    /// before the clone.
    pub fn prepare(maps: &IdMaps) -> Result<Self, IsolationError> {
        Self::prepare_with(maps, &Writer::current(), &Environment::default())
    }

    /// [`prepare`](Self::prepare) for given credentials and files.
    pub fn prepare_with(
        maps: &IdMaps,
        w: &Writer,
        env: &Environment,
    ) -> Result<Self, IsolationError> {
        for (kind, map) in [(Kind::Uid, &maps.uid), (Kind::Gid, &maps.gid)] {
            map.check(kind.file()).map_err(|cause| {
                IsolationError::new(
                    format!("{} {}", kind.file(), one_line(map)),
                    Some(Errno::EINVAL),
                    cause,
                    "give non-overlapping ranges, at most 340",
                )
            })?;
        }
        let uid = plan_one(Kind::Uid, &maps.uid, w, env)?;
        let gid = plan_one(Kind::Gid, &maps.gid, w, env)?;
        let mut setgroups = maps.setgroups;
        if let Some(MapWrite::Direct(_)) = gid {
            if !w.cap_setgid {
                // user_namespaces(7): without CAP_SETGID a gid map needs setgroups denied.
                match setgroups {
                    Some(SetGroups::Allow) => {
                        return Err(IsolationError::new(
                            "setgroups allow",
                            Some(Errno::EPERM),
                            "a process without CAP_SETGID may write a gid map only after \
                             denying setgroups(2) in the new namespace (user_namespaces(7))",
                            "drop --setgroups allow, or run with CAP_SETGID",
                        ))
                    }
                    None => setgroups = Some(SetGroups::Deny),
                    Some(SetGroups::Deny) => {}
                }
            }
        }
        Ok(MapPlan {
            setgroups,
            gid,
            uid,
            writer: w.clone(),
        })
    }

    /// Writes everything for the child `pid` (which waits meanwhile), in the kernel's
    /// order: setgroups, gid map, uid map.
    pub fn apply(&self, pid: u32) -> Result<(), IsolationError> {
        if let Some(sg) = self.setgroups {
            let path = format!("/proc/{pid}/setgroups");
            write_proc(&path, sg.as_str()).map_err(|e| {
                let errno = Errno(e.raw_os_error().unwrap_or(libc::EIO));
                let (cause, fix) = match (sg, errno.0) {
                    (SetGroups::Allow, libc::EPERM) => (
                        "setgroups was denied already (by an ancestor user namespace, which \
                         is inherited, or earlier)",
                        "drop --setgroups allow",
                    ),
                    (_, libc::EPERM) => (
                        "the writer needs CAP_SYS_ADMIN over the new user namespace (its \
                         creator has it)",
                        "write from the process that created the namespace",
                    ),
                    _ => ("the child's /proc entry could not be written", ""),
                };
                IsolationError::new(
                    format!("write {path} {}", sg.as_str()),
                    Some(errno),
                    cause,
                    fix,
                )
            })?;
        }
        for (kind, m) in [(Kind::Gid, &self.gid), (Kind::Uid, &self.uid)] {
            match m {
                None => {}
                Some(MapWrite::Direct(text)) => {
                    let path = format!("/proc/{pid}/{}", kind.file());
                    write_proc(&path, text).map_err(|e| {
                        let errno = Errno(e.raw_os_error().unwrap_or(libc::EIO));
                        let (cause, fix) = self.explain_write(kind, text, errno);
                        IsolationError::new(
                            format!("write {path} '{}'", text.trim_end().replace('\n', ", ")),
                            Some(errno),
                            cause,
                            fix,
                        )
                    })?;
                }
                Some(MapWrite::Helper { program, args }) => run_helper(program, pid, args)?,
            }
        }
        Ok(())
    }

    /// One line per write, for `--dry-run`.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(sg) = self.setgroups {
            out.push(format!("write {:?} to /proc/PID/setgroups", sg.as_str()));
        }
        for (kind, m) in [(Kind::Gid, &self.gid), (Kind::Uid, &self.uid)] {
            match m {
                None => {}
                Some(MapWrite::Direct(t)) => out.push(format!(
                    "write '{}' to /proc/PID/{}",
                    t.trim_end().replace('\n', ", "),
                    kind.file()
                )),
                Some(MapWrite::Helper { program, args }) => {
                    out.push(format!("run {} PID {}", program.display(), args.join(" ")))
                }
            }
        }
        out
    }

    fn explain_write(&self, kind: Kind, text: &str, errno: Errno) -> (String, String) {
        let w = &self.writer;
        let privileged = match kind {
            Kind::Uid => w.cap_setuid,
            Kind::Gid => w.cap_setgid,
        };
        let maps_outside_root = text.lines().any(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            kind == Kind::Uid && f.len() == 3 && f[1] == 0
        });
        match errno.0 {
            libc::EPERM
                if kind == Kind::Gid
                    && !w.cap_setgid
                    && self.setgroups != Some(SetGroups::Deny) =>
            {
                (
                    "without CAP_SETGID a gid map may only be written after setgroups is denied"
                        .into(),
                    "use --setgroups deny".into(),
                )
            }
            libc::EPERM if maps_outside_root && !w.cap_setfcap => (
                "mapping uid 0 of the parent namespace needs CAP_SETFCAP (Linux 5.12+, \
                 user_namespaces(7))"
                    .into(),
                "map another outside uid, or run with CAP_SETFCAP".into(),
            ),
            libc::EPERM if privileged => (
                format!(
                    "an outside {} has no mapping in the writer's own user namespace (see \
                     /proc/self/{}), or the map was written already",
                    kind.ids(),
                    kind.file()
                ),
                format!(
                    "map only {}s that exist in the caller's namespace",
                    kind.ids()
                ),
            ),
            libc::EPERM => (
                format!(
                    "the kernel refused the map: it can be written only once, the writer must be \
                     in the parent user namespace, and without {} only the writer's own {} \
                     (count 1) may be mapped",
                    kind.cap(),
                    kind.ids()
                ),
                format!("use {} or run with {}", kind.helper(), kind.cap()),
            ),
            libc::EINVAL => (
                "the map is malformed, has overlapping ranges or more than 340 lines".into(),
                "give at most 340 non-overlapping ranges".into(),
            ),
            libc::EACCES => (
                "the child's /proc files are not writable by the parent (the child is not \
                 dumpable)"
                    .into(),
                String::new(),
            ),
            libc::ENOENT | libc::ESRCH => ("the child is gone".into(), String::new()),
            _ => (format!("writing the {} failed", kind.file()), String::new()),
        }
    }
}

fn one_line(m: &IdMap) -> String {
    m.to_proc_text().trim_end().replace('\n', ", ")
}

fn plan_one(
    kind: Kind,
    map: &IdMap,
    w: &Writer,
    env: &Environment,
) -> Result<Option<MapWrite>, IsolationError> {
    if map.is_empty() {
        return Ok(None);
    }
    let (privileged, own) = match kind {
        Kind::Uid => (w.cap_setuid, w.euid),
        Kind::Gid => (w.cap_setgid, w.egid),
    };
    if privileged || map.is_self_only(own) {
        if kind == Kind::Uid && !w.cap_setfcap && map.0.iter().any(|r| r.outside == 0) {
            return Err(IsolationError::new(
                format!("uid_map {}", one_line(map)),
                Some(Errno::EPERM),
                "mapping uid 0 of the parent namespace needs CAP_SETFCAP (Linux 5.12+, \
                 user_namespaces(7))",
                "map another outside uid, or run with CAP_SETFCAP",
            ));
        }
        return Ok(Some(MapWrite::Direct(map.to_proc_text())));
    }
    let what = format!("{} {}", kind.file(), one_line(map));
    let Some(program) = find_on_path(kind.helper(), env.path.as_deref()) else {
        return Err(IsolationError::new(
            what,
            None,
            format!(
                "without {} the kernel only takes a map of the caller's own {} ({own}, count \
                 1), and the setuid helper {} is not on PATH",
                kind.cap(),
                kind.ids(),
                kind.helper()
            ),
            format!(
                "install {} (Debian: package uidmap), map only your own {}, or run with {}",
                kind.helper(),
                kind.ids(),
                kind.cap()
            ),
        ));
    };
    let subid = match kind {
        Kind::Uid => &env.subuid,
        Kind::Gid => &env.subgid,
    };
    let user = user_name(w.euid, &env.passwd);
    let ranges = subordinate_ranges(subid, w.euid, user.as_deref());
    for r in &map.0 {
        if r.count == 1 && r.outside == own {
            continue; // newuidmap/newgidmap allow the caller's own id
        }
        let (lo, hi) = (r.outside as u64, r.outside as u64 + r.count as u64);
        if !covered(&ranges, lo, hi) {
            let who = user.clone().unwrap_or_else(|| w.euid.to_string());
            return Err(IsolationError::new(
                what,
                None,
                format!(
                    "{} would refuse: {} gives {who} (uid {}) no subordinate {}s covering \
                     {}-{} (subuid(5))",
                    kind.helper(),
                    kind.subid_file(),
                    w.euid,
                    kind.ids(),
                    lo,
                    hi - 1
                ),
                format!(
                    "add a line '{who}:{}:{}' to {}, or map only your own {}",
                    r.outside,
                    r.count,
                    kind.subid_file(),
                    kind.ids()
                ),
            ));
        }
    }
    Ok(Some(MapWrite::Helper {
        program,
        args: map.helper_args(),
    }))
}

/// Whether `[lo, hi)` is covered by the union of `ranges` (`(start, count)`).
fn covered(ranges: &[(u64, u64)], lo: u64, hi: u64) -> bool {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut at = lo;
    for (start, count) in sorted {
        if start <= at && at < start + count {
            at = start + count;
            if at >= hi {
                return true;
            }
        }
    }
    at >= hi
}

/// The ranges of `subid` (lines `name-or-uid:start:count`) that belong to the user.
fn subordinate_ranges(subid: &Path, uid: u32, name: Option<&str>) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(subid).unwrap_or_default();
    let uid = uid.to_string();
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (owner, start, count) = (f.next()?, f.next()?, f.next()?);
            if owner != uid && Some(owner) != name {
                return None;
            }
            Some((start.parse().ok()?, count.parse().ok()?))
        })
        .collect()
}

/// The user name of `uid` in `passwd` (the subordinate-id files usually use names).
fn user_name(uid: u32, passwd: &Path) -> Option<String> {
    let text = std::fs::read_to_string(passwd).ok()?;
    let uid = uid.to_string();
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let _pw = f.next()?;
        (f.next()? == uid).then(|| name.to_string())
    })
}

/// The first executable file named `name` in `path`'s directories.
fn find_on_path(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let path = path.unwrap_or(std::ffi::OsStr::new("/usr/bin:/bin"));
    std::env::split_paths(path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// One `write()` of the whole text (a map must arrive in a single write).
fn write_proc(path: &str, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    let n = f.write(text.as_bytes())?;
    if n != text.len() {
        return Err(std::io::Error::from_raw_os_error(libc::EIO));
    }
    Ok(())
}

fn run_helper(program: &Path, pid: u32, args: &[String]) -> Result<(), IsolationError> {
    let op = format!("{} {pid} {}", program.display(), args.join(" "));
    let out = std::process::Command::new(program)
        .arg(pid.to_string())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| {
            IsolationError::new(
                op.clone(),
                e.raw_os_error().map(Errno),
                "the helper could not be started",
                "",
            )
        })?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let said = said.lines().last().unwrap_or("").trim();
    Err(IsolationError::new(
        op,
        None,
        format!(
            "the helper failed ({}){}",
            out.status,
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        ),
        "check /etc/subuid and /etc/subgid, and that the helper is setuid root",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isolate::IdRange;

    fn unpriv(uid: u32) -> Writer {
        Writer {
            euid: uid,
            egid: uid,
            cap_setuid: false,
            cap_setgid: false,
            cap_setfcap: false,
        }
    }

    fn root() -> Writer {
        Writer {
            euid: 0,
            egid: 0,
            cap_setuid: true,
            cap_setgid: true,
            cap_setfcap: true,
        }
    }

    fn files(tag: &str, subuid: &str, path: Option<&str>) -> Environment {
        let d = std::env::temp_dir().join(format!("xclone-userns-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("subuid"), subuid).unwrap();
        std::fs::write(d.join("subgid"), subuid).unwrap();
        std::fs::write(d.join("passwd"), "nobody:x:65534:65534::/:/bin/false\n").unwrap();
        Environment {
            path: path.map(OsString::from),
            subuid: d.join("subuid"),
            subgid: d.join("subgid"),
            passwd: d.join("passwd"),
        }
    }

    #[test]
    fn unprivileged_self_map_is_direct_with_setgroups_denied() {
        let env = files("self", "", Some("/nonexistent"));
        let p = MapPlan::prepare_with(&IdMaps::root(65534, 65534), &unpriv(65534), &env).unwrap();
        assert_eq!(p.setgroups, Some(SetGroups::Deny));
        assert_eq!(p.uid, Some(MapWrite::Direct("0 65534 1\n".into())));
        assert_eq!(p.gid, Some(MapWrite::Direct("0 65534 1\n".into())));
        assert_eq!(
            p.describe(),
            [
                "write \"deny\" to /proc/PID/setgroups",
                "write '0 65534 1' to /proc/PID/gid_map",
                "write '0 65534 1' to /proc/PID/uid_map"
            ]
        );
        let mut allow = IdMaps::root(65534, 65534);
        allow.setgroups = Some(SetGroups::Allow);
        let e = MapPlan::prepare_with(&allow, &unpriv(65534), &env).unwrap_err();
        assert!(e.cause.contains("denying setgroups"), "{e}");
    }

    #[test]
    fn root_writes_directly_and_leaves_setgroups() {
        let env = files("root", "", None);
        let mut m = IdMaps::root(0, 0);
        m.uid.push(IdRange {
            inside: 1,
            outside: 100000,
            count: 65536,
        });
        let p = MapPlan::prepare_with(&m, &root(), &env).unwrap();
        assert_eq!(p.setgroups, None);
        assert_eq!(
            p.uid,
            Some(MapWrite::Direct("0 0 1\n1 100000 65536\n".into()))
        );
        // Root without CAP_SETFCAP cannot map outside uid 0.
        let mut nofcap = root();
        nofcap.cap_setfcap = false;
        let e = MapPlan::prepare_with(&m, &nofcap, &env).unwrap_err();
        assert!(e.cause.contains("CAP_SETFCAP"), "{e}");
    }

    #[test]
    fn multi_range_unprivileged_needs_the_helper_and_a_subuid_range() {
        let bin = std::env::temp_dir().join(format!("xclone-userns-bin-{}", std::process::id()));
        std::fs::create_dir_all(&bin).unwrap();
        for h in ["newuidmap", "newgidmap"] {
            std::fs::write(bin.join(h), "").unwrap();
            std::fs::set_permissions(bin.join(h), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut m = IdMaps::root(65534, 65534);
        m.uid.push(IdRange {
            inside: 1,
            outside: 100000,
            count: 65536,
        });
        // No helper on PATH.
        let env = files("nohelper", "", Some("/nonexistent"));
        let e = MapPlan::prepare_with(&m, &unpriv(65534), &env).unwrap_err();
        assert!(e.cause.contains("newuidmap is not on PATH"), "{e}");
        // Helper, but no range.
        let env = files("norange", "other:100000:65536\n", bin.to_str());
        let e = MapPlan::prepare_with(&m, &unpriv(65534), &env).unwrap_err();
        assert!(
            e.cause.contains(
                "/etc/subuid gives nobody (uid 65534) no subordinate uids covering 100000-165535"
            ),
            "{e}"
        );
        assert!(e.fix.contains("nobody:100000:65536"), "{e}");
        // Covered by two consecutive lines, one by name and one by number.
        let env = files(
            "ok",
            "nobody:100000:30000\n65534:130000:40000\n",
            bin.to_str(),
        );
        let p = MapPlan::prepare_with(&m, &unpriv(65534), &env).unwrap();
        assert_eq!(
            p.uid,
            Some(MapWrite::Helper {
                program: bin.join("newuidmap"),
                args: ["0", "65534", "1", "1", "100000", "65536"]
                    .map(String::from)
                    .to_vec()
            })
        );
        // The gid map is the caller's own: written directly, setgroups denied.
        assert_eq!(p.gid, Some(MapWrite::Direct("0 65534 1\n".into())));
        assert_eq!(p.setgroups, Some(SetGroups::Deny));
    }

    #[test]
    fn coverage() {
        assert!(covered(&[(10, 5), (15, 5)], 10, 20));
        assert!(!covered(&[(10, 5), (16, 5)], 10, 20));
        assert!(covered(&[(0, 100)], 10, 20));
        assert!(!covered(&[], 1, 2));
    }

    #[test]
    fn overlapping_maps_are_refused_before_anything() {
        let mut m = IdMaps::root(0, 0);
        m.uid.push(IdRange::single(0, 5));
        let e = MapPlan::prepare_with(&m, &root(), &Environment::default()).unwrap_err();
        assert_eq!(e.errno, Some(Errno::EINVAL));
        assert!(e.cause.contains("overlap"), "{e}");
    }
}
