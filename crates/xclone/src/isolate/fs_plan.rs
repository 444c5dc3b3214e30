//! A [`Filesystem`] turned into the child's raw steps (run by `fs_child`).
//!
//! The parent resolves everything that can be known before the clone (the child's mount
//! namespace starts as a copy of the parent's): canonical source paths, whether a source is a
//! directory, which `-try` sources are missing, the terminal behind stdin. It then compiles
//! the operations into a flat list of [`Action`]s, each holding ready `CString`s, so the
//! `CLONE_VM` child only walks the list making one or two system calls per entry.
//!
//! The layout, as bubblewrap builds it:
//!
//! 1. every mount becomes a slave (`MS_REC | MS_SLAVE` on `/`): nothing mounted below
//!    reaches the parent's namespace;
//! 2. a `tmpfs` is mounted on `/tmp` and becomes the root (`pivot_root`), with the old root
//!    under `/oldroot` and the new root under `/newroot` (a bind of itself, or of `--root
//!    DIR`);
//! 3. the operations, in order: sources under `/oldroot`, destinations under `/newroot`;
//! 4. `/newroot` becomes `/` (`pivot_root(".", ".")`) and what is stacked under it, the
//!    building root with the old root still on `/oldroot`, is detached by one lazy unmount
//!    (bubblewrap detaches the old root first, then the building root: two unmounts, each
//!    waiting for an RCU grace period); the working directory is the parent's if it exists
//!    in the new root, else `/`.
//!
//! The first `pivot_root` uncovers the parent's `/tmp`, which the building root hides, and
//! makes absolute links met while building resolve in the building root (where the
//! parent's paths do not exist) rather than in the parent's tree. When neither can matter
//! (no source in `/tmp` nor an ancestor of it, as `/` is; no operation at or below a bind,
//! a link, `--dev`, `--proc`, `--mqueue` of another; no `--root`: see [`Layout::choose`]),
//! the plan skips it ([`Layout::Direct`]): the building root stays on `/tmp`, sources are
//! the parent's paths as they are, the new root is `/tmp/newroot`, and the one
//! `pivot_root(".", ".")` and lazy unmount at the end detach the whole old tree, building
//! root included. Same result, one `pivot_root` fewer: it walks every thread of the
//! machine (`chroot_fs_refs`, fs/fs_struct.c), a cost that grows with the machine's load.

use super::fs_child::{run, Act, ATTR_NODEV, ATTR_NOSUID, ATTR_RDONLY};
use super::fs_ops::{BindKind, Filesystem, FsOp};
use crate::spawn::Step;
use std::ffi::OsStr;
use std::ffi::{CStr, CString};
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Where the building root is mounted (it must exist in the parent's tree), and the two
/// directories in it.
const BASE: &CStr = c"/tmp";
const NEWROOT: &str = "/newroot";
const OLDROOT: &str = "/oldroot";
/// The new root in the direct layout: `/newroot` in the building root left on `/tmp`.
const DIRECT_NEWROOT: &str = "/tmp/newroot";

/// How the new root is built (see the module's documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// bubblewrap's: a first `pivot_root` into the building root, sources under `/oldroot`.
    Pivoted,
    /// No source in the parent's `/tmp`: the building root stays there, sources are read
    /// where they are.
    Direct,
}

impl Layout {
    /// The prefix of sources (the old root).
    fn old(self) -> &'static str {
        match self {
            Layout::Pivoted => OLDROOT,
            Layout::Direct => "",
        }
    }

    /// The new root while it is built.
    fn new_root(self) -> &'static str {
        match self {
            Layout::Pivoted => NEWROOT,
            Layout::Direct => DIRECT_NEWROOT,
        }
    }

    /// Where data files are written before their bind: in the building root, outside the
    /// new root, gone with it at the end.
    fn scratch(self) -> &'static str {
        match self {
            Layout::Pivoted => "",
            Layout::Direct => "/tmp",
        }
    }

    /// `Direct` only when it acts exactly as `Pivoted`:
    ///
    /// - no source (canonical) is the building root's mount point, lies under it, or is an
    ///   ancestor of it (a bind of `/` takes its submounts along);
    /// - no operation works at or below what another one put in the new root that may hold
    ///   symbolic links: a bind, a link, `--dev`, `--proc`, `--mqueue`, or `--root`'s tree.
    ///   Resolving such a link while building follows it from the building process's root:
    ///   in bubblewrap's layout that is the building root, where the host's paths do not
    ///   exist (the step fails), in the direct one it is the host's root (`--symlink /etc
    ///   /x --file 3 /x/passwd` would write the host's file).
    fn choose<'a>(
        sources: impl IntoIterator<Item = &'a Path>,
        fs: &Filesystem,
    ) -> Result<Layout, String> {
        if fs.base.is_some() {
            return Ok(Layout::Pivoted);
        }
        let base = Path::new(OsStr::from_bytes(BASE.to_bytes()));
        let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
        let clash = |s: &Path| s.starts_with(&base) || base.starts_with(s);
        if sources.into_iter().any(clash) {
            return Ok(Layout::Pivoted);
        }
        let norm = |p: &Path| under("", p).map(|b| PathBuf::from(OsStr::from_bytes(&b)));
        let mut opaque = Vec::new();
        let mut paths = Vec::new();
        for (i, op) in fs.ops.iter().enumerate() {
            let path = match op {
                FsOp::Bind { dest, .. }
                | FsOp::Symlink { dest, .. }
                | FsOp::Dev { dest }
                | FsOp::Proc { dest }
                | FsOp::Mqueue { dest } => {
                    let d = norm(dest)?;
                    opaque.push((i, d.clone()));
                    d
                }
                FsOp::RemountRo { dest }
                | FsOp::Tmpfs { dest, .. }
                | FsOp::Dir { dest, .. }
                | FsOp::File { dest, .. }
                | FsOp::BindData { dest, .. } => norm(dest)?,
                FsOp::Chmod { path, .. } => norm(path)?,
            };
            paths.push((i, path));
        }
        let inside = paths
            .iter()
            .any(|(j, p)| opaque.iter().any(|(i, o)| i != j && p.starts_with(o)));
        Ok(if inside {
            Layout::Pivoted
        } else {
            Layout::Direct
        })
    }
}

/// The device nodes `--dev` binds from the parent's `/dev`.
const DEV_NODES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];
/// The links `--dev` creates: (name, target).
const DEV_LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("core", "/proc/kcore"),
];
/// What `--proc` makes read-only where it is writable.
const PROC_COVERED: [&str; 4] = ["sys", "sysrq-trigger", "irq", "bus"];

/// Where `--proc` finds the caller's proc when it binds it.
const CALLER_PROC: &str = "/proc";

/// An [`Act`] with the operation it serves (for messages) and whether failing is allowed.
#[derive(Debug)]
pub(crate) struct Action {
    pub act: Act,
    /// Index in [`Filesystem::ops`]; `None` for the layout's own steps.
    pub op: Option<usize>,
    pub optional: bool,
}

/// The prepared file tree.
#[derive(Debug)]
pub(crate) struct FsPlan {
    pub actions: Vec<Action>,
    /// The operations, as options, for messages.
    pub ops: Vec<String>,
}

fn cstr(b: &[u8]) -> Result<CString, String> {
    CString::new(b).map_err(|_| {
        format!(
            "nul byte found in provided data: {:?}",
            String::from_utf8_lossy(b)
        )
    })
}

/// `prefix` + the normal components of `p` (a relative `p` is taken from `/`; `.` and `..`
/// are refused, so nothing resolves outside `prefix` by name).
fn under(prefix: &str, p: &Path) -> Result<Vec<u8>, String> {
    let mut out = prefix.as_bytes().to_vec();
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => {
                out.push(b'/');
                out.extend_from_slice(n.as_bytes());
            }
            Component::ParentDir | Component::Prefix(_) => {
                return Err(format!("{}: '..' is not allowed here", p.display()))
            }
        }
    }
    Ok(out)
}

struct Builder {
    actions: Vec<Action>,
    op: Option<usize>,
    layout: Layout,
    /// The program gets a pid namespace other than the caller's (new, or joined before the
    /// spawn): `--proc` mounts a new proc; otherwise it binds the caller's.
    own_pid_ns: bool,
}

impl Builder {
    fn push(&mut self, act: Act) {
        self.actions.push(Action {
            act,
            op: self.op,
            optional: false,
        });
    }

    fn push_optional(&mut self, act: Act) {
        self.actions.push(Action {
            act,
            op: self.op,
            optional: true,
        });
    }

    /// `mkdir` of every parent of `dest` (in the new root) with `mode`, each allowed to
    /// exist.
    fn parents(&mut self, dest: &Path, mode: u32) -> Result<(), String> {
        let mut acc = PathBuf::from("/");
        let comps: Vec<_> = dest.components().collect();
        for c in comps.iter().take(comps.len().saturating_sub(1)) {
            acc.push(c);
            if acc != Path::new("/") {
                let path = cstr(&under(self.layout.new_root(), &acc)?)?;
                self.push(Act::Mkdir { path, mode });
            }
        }
        Ok(())
    }

    fn mount(&mut self, src: Option<&[u8]>, target: &[u8], fstype: Option<&CStr>, flags: u64) {
        self.mount_data(src, target, fstype, flags, None)
    }

    fn mount_data(
        &mut self,
        src: Option<&[u8]>,
        target: &[u8],
        fstype: Option<&CStr>,
        flags: u64,
        data: Option<String>,
    ) {
        // Paths were checked for nul bytes when they were built; fstype and data are ours.
        let act = Act::Mount {
            src: src.and_then(|s| CString::new(s).ok()),
            target: CString::new(target).unwrap_or_default(),
            fstype: fstype.map(CStr::to_owned),
            flags,
            data: data.and_then(|d| CString::new(d).ok()),
        };
        self.push(act);
    }

    fn bind(&mut self, src: &[u8], dest: &CString, set: u64) {
        self.mount(
            Some(src),
            dest.as_bytes(),
            None,
            libc::MS_BIND | libc::MS_REC,
        );
        self.push(Act::SetAttr {
            path: dest.clone(),
            recursive: true,
            set,
        });
    }
}

/// Whether this process's children start in a pid namespace other than its own (a setns of
/// `CLONE_NEWPID` before the spawn): `/proc/self/ns/pid_for_children` (Linux 4.12) names
/// another namespace than `/proc/self/ns/pid`. No answer counts as no.
fn children_in_other_pid_ns() -> bool {
    use std::os::unix::fs::MetadataExt;
    let id = |p: &str| std::fs::metadata(p).map(|m| (m.dev(), m.ino()));
    match (
        id("/proc/self/ns/pid"),
        id("/proc/self/ns/pid_for_children"),
    ) {
        (Ok(a), Ok(b)) => a != b,
        _ => false,
    }
}

/// The parent's terminal behind stdin, if there is one (bound as `/dev/console`).
fn stdin_tty() -> Option<PathBuf> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return None;
    }
    std::fs::read_link("/proc/self/fd/0")
        .ok()
        .filter(|p| p.starts_with("/dev/"))
}

impl FsPlan {
    /// Compiles `fs`. Errors name the operation and the cause. `new_pid_ns`: the spawn
    /// creates a pid namespace (`CLONE_NEWPID`); without one `--proc` still mounts a new proc
    /// when this process's children go to another pid namespace (joined with setns), and
    /// binds the caller's otherwise (see [`FsOp::Proc`]).
    pub(crate) fn prepare(fs: &Filesystem, new_pid_ns: bool) -> Result<FsPlan, String> {
        let has_proc = fs.ops.iter().any(|op| matches!(op, FsOp::Proc { .. }));
        let own_pid_ns = new_pid_ns || (has_proc && children_in_other_pid_ns());
        // The sources, resolved once: they decide the layout and are bound as resolved.
        let base = match &fs.base {
            Some(dir) => Some(
                std::fs::canonicalize(dir).map_err(|e| format!("--root {}: {e}", dir.display()))?,
            ),
            None => None,
        };
        let mut canon: Vec<Option<std::io::Result<PathBuf>>> = fs
            .ops
            .iter()
            .map(|op| match op {
                FsOp::Bind { src, .. } => Some(std::fs::canonicalize(src)),
                _ => None,
            })
            .collect();
        let uses_dev = fs.ops.iter().any(|op| matches!(op, FsOp::Dev { .. }));
        let tty = uses_dev.then(stdin_tty).flatten();
        let dev = Path::new("/dev");
        let binds_proc = has_proc && !own_pid_ns;
        let sources = base
            .iter()
            .map(PathBuf::as_path)
            .chain(canon.iter().filter_map(|c| c.as_ref()?.as_deref().ok()))
            .chain(uses_dev.then_some(dev))
            .chain(binds_proc.then_some(Path::new(CALLER_PROC)))
            .chain(tty.as_deref());
        let layout = Layout::choose(sources, fs)?;
        let mut b = Builder {
            actions: Vec::new(),
            op: None,
            layout,
            own_pid_ns,
        };
        let new_root = layout.new_root();
        let newroot = cstr(new_root.as_bytes())?;
        // 1-2: slave propagation, the building root (and the pivot into it).
        b.mount(None, b"/", None, libc::MS_REC | libc::MS_SLAVE);
        b.mount(
            Some(b"tmpfs"),
            BASE.to_bytes(),
            Some(c"tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
        );
        match layout {
            Layout::Pivoted => {
                b.push(Act::Chdir { path: BASE.into() });
                b.push(Act::Mkdir {
                    path: c"newroot".into(),
                    mode: 0o755,
                });
                b.push(Act::Mkdir {
                    path: c"oldroot".into(),
                    mode: 0o755,
                });
                b.push(Act::Pivot {
                    new_root: c".".into(),
                    put_old: c"oldroot".into(),
                });
                b.push(Act::Chdir { path: c"/".into() });
            }
            Layout::Direct => b.push(Act::Mkdir {
                path: newroot.clone(),
                mode: 0o755,
            }),
        }
        let base_src = match &base {
            Some(canon) => under(layout.old(), canon)?,
            None => new_root.as_bytes().to_vec(),
        };
        b.mount(
            Some(&base_src),
            newroot.as_bytes(),
            None,
            libc::MS_BIND | libc::MS_REC,
        );

        // 3: the operations.
        let mut data_files = 0usize;
        for (i, op) in fs.ops.iter().enumerate() {
            b.op = Some(i);
            let ctx = |e: String| format!("{op}: {e}");
            let src = canon.get_mut(i).and_then(Option::take);
            compile(&mut b, op, src, tty.as_deref(), &mut data_files).map_err(ctx)?;
        }

        // 4: make the new root the root and detach what is stacked under it with one lazy
        // unmount (each unmount waits for an RCU grace period, see the bench's FINDINGS):
        // the building root with the old root on /oldroot, or (direct) the old root with
        // the building root on /tmp.
        b.op = None;
        b.push(Act::Chdir {
            path: newroot.clone(),
        });
        b.push(Act::Pivot {
            new_root: c".".into(),
            put_old: c".".into(),
        });
        b.push(Act::Umount { path: c".".into() });
        b.push(Act::Chdir { path: c"/".into() });
        if let Ok(cwd) = std::env::current_dir() {
            if cwd != Path::new("/") {
                if let Ok(c) = cstr(cwd.as_os_str().as_bytes()) {
                    b.push_optional(Act::Chdir { path: c });
                }
            }
        }
        Ok(FsPlan {
            actions: b.actions,
            ops: fs.ops.iter().map(ToString::to_string).collect(),
        })
    }

    /// Runs every action in order. Runs in a `CLONE_VM` child: raw calls on prepared data.
    pub(crate) fn apply(&self) -> Result<(), (Step, usize, i32)> {
        for (i, a) in self.actions.iter().enumerate() {
            if let Err(e) = run(&a.act) {
                if !a.optional {
                    return Err((Step::Filesystem, i, e));
                }
            }
        }
        Ok(())
    }

    /// What action `index` was doing, for the message: the option and the system call.
    pub(crate) fn describe(&self, index: usize) -> String {
        let Some(a) = self.actions.get(index) else {
            return String::new();
        };
        let what = describe_act(&a.act);
        match a.op.and_then(|o| self.ops.get(o)) {
            Some(op) => format!("{op}: {what}"),
            None => format!("building the new root: {what}"),
        }
    }
}

/// One operation's actions. `canon` is a bind's source as `prepare` resolved it, `tty` the
/// terminal `--dev` binds as its console.
fn compile(
    b: &mut Builder,
    op: &FsOp,
    canon: Option<std::io::Result<PathBuf>>,
    tty: Option<&Path>,
    data_files: &mut usize,
) -> Result<(), String> {
    let layout = b.layout;
    let dest_of = |p: &Path| -> Result<CString, String> { cstr(&under(layout.new_root(), p)?) };
    match op {
        FsOp::Bind { src, dest, kind } => {
            let canon = match canon.unwrap_or_else(|| std::fs::canonicalize(src)) {
                Ok(c) => c,
                Err(e) if kind.try_ && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(format!("{}: {e}", src.display())),
            };
            let is_dir = canon.is_dir();
            let d = dest_of(dest)?;
            b.parents(dest, parent_mode(op))?;
            if is_dir {
                b.push(Act::Mkdir {
                    path: d.clone(),
                    mode: 0o755,
                });
            } else {
                b.push(Act::Touch { path: d.clone() });
            }
            let src = cstr(&under(layout.old(), &canon)?)?;
            b.bind(src.as_bytes(), &d, bind_attrs(*kind));
        }
        FsOp::RemountRo { dest } => b.push(Act::SetAttr {
            path: dest_of(dest)?,
            recursive: false,
            set: ATTR_RDONLY,
        }),
        FsOp::Tmpfs { dest, perms, size } => {
            let d = dest_of(dest)?;
            b.parents(dest, parent_mode(op))?;
            b.push(Act::Mkdir {
                path: d.clone(),
                mode: 0o755,
            });
            let mut data = format!("mode={:04o}", perms.unwrap_or(0o755));
            if let Some(s) = size {
                data.push_str(&format!(",size={s}"));
            }
            b.mount_data(
                Some(b"tmpfs"),
                d.as_bytes(),
                Some(c"tmpfs"),
                libc::MS_NOSUID | libc::MS_NODEV,
                Some(data),
            );
        }
        FsOp::Dev { dest } => {
            let d = dest_of(dest)?;
            b.parents(dest, parent_mode(op))?;
            b.push(Act::Mkdir {
                path: d.clone(),
                mode: 0o755,
            });
            b.mount_data(
                Some(b"tmpfs"),
                d.as_bytes(),
                Some(c"tmpfs"),
                libc::MS_NOSUID | libc::MS_NODEV,
                Some("mode=0755".into()),
            );
            let sub = |name: &str| dest_of(&dest.join(name));
            for node in DEV_NODES {
                let n = sub(node)?;
                b.push(Act::Touch { path: n.clone() });
                let src = format!("{}/dev/{node}", layout.old());
                b.bind(src.as_bytes(), &n, ATTR_NOSUID);
            }
            for (name, target) in DEV_LINKS {
                b.push(Act::Symlink {
                    target: cstr(target.as_bytes())?,
                    link: sub(name)?,
                });
            }
            b.push(Act::Mkdir {
                path: sub("shm")?,
                mode: 0o755,
            });
            let pts = sub("pts")?;
            b.push(Act::Mkdir {
                path: pts.clone(),
                mode: 0o755,
            });
            b.mount_data(
                Some(b"devpts"),
                pts.as_bytes(),
                Some(c"devpts"),
                libc::MS_NOSUID | libc::MS_NOEXEC,
                Some("newinstance,ptmxmode=0666,mode=620".into()),
            );
            b.push(Act::Symlink {
                target: c"pts/ptmx".into(),
                link: sub("ptmx")?,
            });
            if let Some(tty) = tty {
                let console = sub("console")?;
                b.push(Act::Touch {
                    path: console.clone(),
                });
                b.bind(&under(layout.old(), tty)?, &console, ATTR_NOSUID);
            }
        }
        FsOp::Proc { dest } => {
            let d = dest_of(dest)?;
            b.parents(dest, parent_mode(op))?;
            b.push(Act::Mkdir {
                path: d.clone(),
                mode: 0o755,
            });
            if b.own_pid_ns {
                b.mount(
                    Some(b"proc"),
                    d.as_bytes(),
                    Some(c"proc"),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                );
            } else {
                // The program shares the caller's pid namespace, whose proc is already
                // mounted (and a new one would need CAP_SYS_ADMIN over the user namespace
                // owning that pid namespace): bind it, as a --bind of it would be.
                let src = under(layout.old(), Path::new(CALLER_PROC))?;
                b.bind(&src, &d, ATTR_NOSUID | ATTR_NODEV);
            }
            for sub in PROC_COVERED {
                b.push(Act::CoverRo {
                    path: dest_of(&dest.join(sub))?,
                });
            }
        }
        FsOp::Mqueue { dest } => {
            let d = dest_of(dest)?;
            b.parents(dest, parent_mode(op))?;
            b.push(Act::Mkdir {
                path: d.clone(),
                mode: 0o755,
            });
            b.mount(Some(b"mqueue"), d.as_bytes(), Some(c"mqueue"), 0);
        }
        FsOp::Dir { dest, perms } => {
            b.parents(dest, parent_mode(op))?;
            b.push(Act::Mkdir {
                path: dest_of(dest)?,
                mode: perms.unwrap_or(0o755),
            });
        }
        FsOp::Symlink { target, dest } => {
            b.parents(dest, parent_mode(op))?;
            b.push(Act::Symlink {
                target: cstr(target.as_bytes())?,
                link: dest_of(dest)?,
            });
        }
        FsOp::File { fd, dest, perms } => {
            check_fd(*fd)?;
            b.parents(dest, parent_mode(op))?;
            b.push(Act::WriteFd {
                fd: *fd,
                path: dest_of(dest)?,
                mode: perms.unwrap_or(0o666),
            });
            b.push(Act::Close { fd: *fd });
        }
        FsOp::BindData {
            fd,
            dest,
            read_only,
            perms,
        } => {
            check_fd(*fd)?;
            *data_files += 1;
            // In the building root, outside the new root: gone with it at the end.
            let tmp = cstr(format!("{}/bind-data-{}", layout.scratch(), *data_files).as_bytes())?;
            b.push(Act::WriteFd {
                fd: *fd,
                path: tmp.clone(),
                mode: perms.unwrap_or(0o600),
            });
            b.push(Act::Close { fd: *fd });
            let d = dest_of(dest)?;
            b.parents(dest, parent_mode(op))?;
            b.push(Act::Touch { path: d.clone() });
            let kind = BindKind {
                read_only: *read_only,
                ..Default::default()
            };
            b.bind(tmp.as_bytes(), &d, bind_attrs(kind));
            // Only the bind keeps the data (as bubblewrap, which unlinks it too).
            b.push(Act::Unlink { path: tmp });
        }
        FsOp::Chmod { perms, path } => b.push(Act::Chmod {
            path: dest_of(path)?,
            mode: *perms,
        }),
    }
    Ok(())
}

/// The mode of the directories created above an operation's destination, as bubblewrap
/// makes them: for operations with permissions (`--tmpfs`, `--dir`, `--file`,
/// `--bind-data`), those permissions with search added wherever read is allowed; `0700` for
/// the others. (`mkdir` applies the umask.)
fn parent_mode(op: &FsOp) -> u32 {
    let perms = match op {
        FsOp::Tmpfs { perms, .. } | FsOp::Dir { perms, .. } => perms.unwrap_or(0o755),
        FsOp::File { perms, .. } => perms.unwrap_or(0o666),
        FsOp::BindData { perms, .. } => perms.unwrap_or(0o600),
        _ => 0o700,
    };
    perms | ((perms & 0o444) >> 2)
}

/// The attributes every mount of a bind gets: `nosuid`, `nodev` unless devices are
/// asked for, `ro` if read-only.
fn bind_attrs(kind: BindKind) -> u64 {
    let mut set = ATTR_NOSUID;
    if !kind.devices {
        set |= ATTR_NODEV;
    }
    if kind.read_only {
        set |= ATTR_RDONLY;
    }
    set
}

fn check_fd(fd: RawFd) -> Result<(), String> {
    if !crate::sys::fdnum::is_open_number(fd) {
        return Err(format!("descriptor {fd} is not open"));
    }
    Ok(())
}

/// A path for messages. The new root is named `/newroot` in both layouts (bubblewrap's
/// name, which the messages have always used): `/tmp/newroot/x` reads `/newroot/x`.
fn lossy(c: &CStr) -> String {
    let b = c.to_bytes();
    let direct = DIRECT_NEWROOT.as_bytes();
    match b.strip_prefix(direct) {
        Some(rest) if rest.is_empty() || rest.starts_with(b"/") => {
            format!("{NEWROOT}{}", String::from_utf8_lossy(rest))
        }
        _ => String::from_utf8_lossy(b).into_owned(),
    }
}

fn describe_act(act: &Act) -> String {
    match act {
        Act::Mkdir { path, .. } => format!("mkdir {}", lossy(path)),
        Act::Mount {
            src,
            target,
            fstype,
            flags,
            ..
        } => {
            let t = lossy(target);
            match (fstype, src) {
                (Some(fs), _) => format!("mount {} on {t}", lossy(fs)),
                (None, Some(s)) if flags & libc::MS_BIND != 0 => {
                    format!("bind-mount {} on {t}", lossy(s))
                }
                _ => format!("mount (propagation) {t}"),
            }
        }
        Act::SetAttr { path, set, .. } => {
            let mut names = Vec::new();
            for (bit, n) in [
                (ATTR_RDONLY, "ro"),
                (ATTR_NOSUID, "nosuid"),
                (ATTR_NODEV, "nodev"),
            ] {
                if set & bit != 0 {
                    names.push(n);
                }
            }
            format!("mount_setattr {} {}", names.join(","), lossy(path))
        }
        Act::CoverRo { path } => format!("making {} read-only", lossy(path)),
        Act::Pivot { new_root, put_old } => {
            format!("pivot_root {} {}", lossy(new_root), lossy(put_old))
        }
        Act::Umount { path } => format!("detaching {}", lossy(path)),
        Act::Chdir { path } => format!("chdir {}", lossy(path)),
        Act::Symlink { target, link } => format!("symlink {} -> {}", lossy(link), lossy(target)),
        Act::Touch { path } => format!("creating {}", lossy(path)),
        Act::WriteFd { fd, path, .. } => format!("copying descriptor {fd} into {}", lossy(path)),
        Act::Chmod { path, mode } => format!("chmod {mode:o} {}", lossy(path)),
        Act::Close { fd } => format!("close {fd}"),
        Act::Unlink { path } => format!("unlink {}", lossy(path)),
    }
}

/// A hint for the usual causes of a failed file-tree step.
pub(crate) fn hint(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => {
            "building a new root needs CAP_SYS_ADMIN over a new mount namespace: run as root \
             or add a user namespace (-U, with -r to be root in it)"
        }
        libc::EOVERFLOW => {
            "creating files needs the caller's ids mapped in the user namespace: add -r, or \
             use --unshare-user / --unshare-all, which map them as bubblewrap does"
        }
        libc::EINVAL => {
            "devpts (--dev) needs uid 0 mapped in the user namespace (-r), and pivot_root a \
             mount namespace of its own"
        }
        _ => return None,
    })
}

/// For dry runs: one line per operation.
pub(crate) fn describe_ops(fs: &Filesystem) -> Vec<String> {
    let root = match &fs.base {
        Some(d) => format!("new root: {} (bound, pivot_root onto it)", d.display()),
        None => "new root: an empty tmpfs (pivot_root onto it)".into(),
    };
    std::iter::once(root)
        .chain(fs.ops.iter().map(|o| o.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_roots() {
        assert_eq!(under(NEWROOT, Path::new("/a/b")).unwrap(), b"/newroot/a/b");
        assert_eq!(under(NEWROOT, Path::new("a//b/")).unwrap(), b"/newroot/a/b");
        assert!(under(NEWROOT, Path::new("/a/../b")).is_err());
    }

    #[test]
    fn compiles_in_order_with_parents() {
        let fs = Filesystem {
            base: None,
            ops: vec![
                FsOp::Tmpfs {
                    dest: "/a/b".into(),
                    perms: Some(0o700),
                    size: Some(4096),
                },
                FsOp::Bind {
                    src: "/nonexistent-xclone".into(),
                    dest: "/x".into(),
                    kind: BindKind {
                        try_: true,
                        ..Default::default()
                    },
                },
                FsOp::Symlink {
                    target: "usr/bin".into(),
                    dest: "/bin".into(),
                },
            ],
        };
        let p = FsPlan::prepare(&fs, true).unwrap();
        let text: Vec<String> = (0..p.actions.len()).map(|i| p.describe(i)).collect();
        let at = |needle: &str| text.iter().position(|t| t.contains(needle)).unwrap();
        // No source at all: the direct layout.
        // (Messages name the new root /newroot in both layouts; the action holds the real path.)
        assert!(at("mkdir /newroot/a") < at("mount tmpfs on /newroot/a/b"));
        assert!(at("mount tmpfs on /newroot/a/b") < at("symlink /newroot/bin -> usr/bin"));
        assert!(
            !text.iter().any(|t| t.contains("nonexistent")),
            "-try skipped"
        );
        assert!(text.iter().any(|t| t.starts_with("--tmpfs /a/b: mkdir")));
        let Some(Act::Mount { data, .. }) = p.actions.iter().map(|a| &a.act).find(
            |a| matches!(a, Act::Mount { target, .. } if target.as_bytes() == b"/tmp/newroot/a/b"),
        ) else {
            panic!("no tmpfs mount")
        };
        assert_eq!(data.as_deref(), Some(c"mode=0700,size=4096"));
        let bad = Filesystem {
            base: None,
            ops: vec![FsOp::Bind {
                src: "/nonexistent-xclone".into(),
                dest: "/x".into(),
                kind: BindKind::default(),
            }],
        };
        let e = FsPlan::prepare(&bad, true).unwrap_err();
        assert!(
            e.starts_with("--bind /nonexistent-xclone /x: /nonexistent-xclone: No such file"),
            "{e}"
        );
    }

    #[test]
    fn proc_is_new_in_an_own_pid_namespace_and_bound_otherwise() {
        let fs = Filesystem {
            base: None,
            ops: vec![FsOp::Proc {
                dest: "/proc".into(),
            }],
        };
        let plan_texts = |new_pid_ns| {
            let p = FsPlan::prepare(&fs, new_pid_ns).unwrap();
            (0..p.actions.len())
                .map(|i| p.describe(i))
                .collect::<Vec<_>>()
        };
        let own = plan_texts(true);
        assert!(
            own.iter()
                .any(|t| t.contains("mount proc on /newroot/proc")),
            "{own:?}"
        );
        assert!(
            !own.iter().any(|t| t.starts_with("--proc /proc: bind")),
            "{own:?}"
        );
        // This test's children start in its own pid namespace: the caller's proc, bound.
        let shared = plan_texts(false);
        assert!(
            !shared.iter().any(|t| t.contains("mount proc on")),
            "{shared:?}"
        );
        assert!(
            shared
                .iter()
                .any(|t| t.starts_with("--proc /proc: bind") && t.contains("/proc")),
            "{shared:?}"
        );
        // The covered directories are made read-only either way.
        for t in [&own, &shared] {
            assert!(t.iter().any(|t| t.contains("/newroot/proc/sys")), "{t:?}");
        }
    }

    /// The texts of a plan's actions.
    fn texts(fs: &Filesystem) -> Vec<String> {
        let p = FsPlan::prepare(fs, true).unwrap();
        (0..p.actions.len()).map(|i| p.describe(i)).collect()
    }

    fn bind(src: &str, dest: &str) -> FsOp {
        FsOp::Bind {
            src: src.into(),
            dest: dest.into(),
            kind: BindKind::default(),
        }
    }

    #[test]
    fn layout_follows_the_sources() {
        let with = |ops| Filesystem { base: None, ops };
        // Sources outside /tmp: one pivot_root, sources where they are.
        let t = texts(&with(vec![
            bind("/usr", "/usr"),
            FsOp::Dev {
                dest: "/dev".into(),
            },
        ]));
        assert_eq!(
            t.iter().filter(|t| t.contains("pivot_root")).count(),
            1,
            "{t:?}"
        );
        assert!(
            t.iter()
                .any(|t| t.contains("bind-mount /usr on /newroot/usr")),
            "{t:?}"
        );
        assert!(t
            .iter()
            .any(|t| t.contains("bind-mount /dev/null on /newroot/dev/null")));
        assert_eq!(t.iter().filter(|t| t.contains("detaching")).count(), 1);
        // A source in /tmp, or / (which takes /tmp along): bubblewrap's two pivots, sources
        // under /oldroot.
        let tmp = std::env::temp_dir().canonicalize().unwrap();
        let tmp_src = if tmp.starts_with("/tmp") {
            tmp
        } else {
            PathBuf::from("/tmp")
        };
        for src in [tmp_src.to_str().unwrap(), "/"] {
            let t = texts(&with(vec![bind(src, "/x"), bind("/usr", "/usr")]));
            assert_eq!(
                t.iter().filter(|t| t.contains("pivot_root")).count(),
                2,
                "{t:?}"
            );
            assert!(t
                .iter()
                .any(|t| t.contains("bind-mount /oldroot/usr on /newroot/usr")));
            assert_eq!(t.iter().filter(|t| t.contains("detaching")).count(), 1);
        }
        // --root / is an ancestor of /tmp as well.
        let t = texts(&Filesystem {
            base: Some("/".into()),
            ops: vec![],
        });
        assert!(
            t.iter()
                .any(|t| t.contains("bind-mount /oldroot on /newroot")),
            "{t:?}"
        );
        // Any --root: its tree may hold links.
        let t = texts(&Filesystem {
            base: Some("/usr".into()),
            ops: vec![],
        });
        assert!(
            t.iter()
                .any(|t| t.contains("bind-mount /oldroot/usr on /newroot")),
            "{t:?}"
        );
        // Something made inside a link or a bind of another operation: bubblewrap's layout,
        // where an absolute link resolves in the building root, never in the host's tree.
        let two = |t: &[String]| t.iter().filter(|t| t.contains("pivot_root")).count() == 2;
        let link = FsOp::Symlink {
            target: "/etc".into(),
            dest: "/x".into(),
        };
        let dir = FsOp::Dir {
            dest: "/x/y".into(),
            perms: None,
        };
        assert!(two(&texts(&with(vec![link, dir]))));
        let dir = FsOp::Dir {
            dest: "/usr/y".into(),
            perms: None,
        };
        assert!(two(&texts(&with(vec![bind("/usr", "/usr"), dir]))));
        let chmod = FsOp::Chmod {
            perms: 0o755,
            path: "/dev/shm".into(),
        };
        assert!(two(&texts(&with(vec![
            FsOp::Dev {
                dest: "/dev".into()
            },
            chmod
        ]))));
        // Side by side is fine.
        let dir = FsOp::Dir {
            dest: "/usr2/y".into(),
            perms: None,
        };
        assert!(!two(&texts(&with(vec![bind("/usr", "/usr"), dir]))));
    }

    #[test]
    fn parent_modes_as_bwrap() {
        let file = |perms| FsOp::File {
            fd: 0,
            dest: "/a/b".into(),
            perms,
        };
        assert_eq!(parent_mode(&file(None)), 0o777);
        assert_eq!(parent_mode(&file(Some(0o600))), 0o700);
        assert_eq!(parent_mode(&FsOp::Dev { dest: "/d".into() }), 0o700);
    }

    #[test]
    fn bind_attributes() {
        assert_eq!(bind_attrs(BindKind::default()), ATTR_NOSUID | ATTR_NODEV);
        let ro = BindKind {
            read_only: true,
            devices: true,
            try_: false,
        };
        assert_eq!(bind_attrs(ro), ATTR_NOSUID | ATTR_RDONLY);
    }
}
