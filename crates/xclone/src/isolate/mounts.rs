//! The mount side of isolation (documented in the `isolate` layer).

use crate::spawn::Step;
use crate::sys::isolate as si;
use std::ffi::CString;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How mounts of the new mount namespace propagate (mount_namespaces(7)), applied
/// recursively to `/` in the child. util-linux `unshare` uses [`Propagation::Private`] by
/// default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Propagation {
    /// No events in either direction (`MS_PRIVATE`).
    #[default]
    Private,
    /// Events in both directions (`MS_SHARED`).
    Shared,
    /// Events from the parent namespace only (`MS_SLAVE`).
    Slave,
    /// Whatever the copied mounts had (usually shared under systemd): nothing is changed.
    Unchanged,
}

impl Propagation {
    /// The mount(2) flags that set it, if any.
    pub fn mount_flags(self) -> Option<u64> {
        let kind = match self {
            Propagation::Private => libc::MS_PRIVATE,
            Propagation::Shared => libc::MS_SHARED,
            Propagation::Slave => libc::MS_SLAVE,
            Propagation::Unchanged => return None,
        };
        Some(libc::MS_REC | kind)
    }

    /// The name as `mount --make-*` and `unshare --propagation` use it.
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Private => "private",
            Propagation::Shared => "shared",
            Propagation::Slave => "slave",
            Propagation::Unchanged => "unchanged",
        }
    }
}

impl fmt::Display for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Propagation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "private" => Ok(Propagation::Private),
            "shared" => Ok(Propagation::Shared),
            "slave" => Ok(Propagation::Slave),
            "unchanged" => Ok(Propagation::Unchanged),
            _ => Err(format!(
                "{s:?}: expected private, shared, slave or unchanged"
            )),
        }
    }
}

/// How the child's root directory changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RootMode {
    /// `chroot(2)`: the old root stays reachable for a process that can `chroot` again.
    #[default]
    Chroot,
    /// `pivot_root(2)`: the directory becomes the mount namespace's root and the old root is
    /// detached. Needs a new mount namespace whose propagation is not shared.
    PivotRoot,
}

/// The mount-related parts of a spawn, as recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MountRequest {
    /// `None`: unchanged.
    pub propagation: Option<Propagation>,
    /// The new root and how the old one is left.
    pub root: Option<(PathBuf, RootMode)>,
    /// Where to mount a fresh `proc` (inside the new root, if any).
    pub proc_dir: Option<PathBuf>,
}

impl MountRequest {
    /// Nothing is asked.
    pub fn is_empty(&self) -> bool {
        self.propagation.is_none() && self.root.is_none() && self.proc_dir.is_none()
    }

    /// Whether it needs a new mount namespace: everything but a plain `chroot` would
    /// otherwise change the parent's mounts.
    pub fn needs_mount_namespace(&self) -> bool {
        self.propagation
            .is_some_and(|p| p != Propagation::Unchanged)
            || self.proc_dir.is_some()
            || matches!(self.root, Some((_, RootMode::PivotRoot)))
    }
}

/// The new root, prepared.
#[derive(Debug)]
pub(crate) struct RootPlan {
    pub dir: CString,
    pub mode: RootMode,
}

/// Everything the child needs for its mount steps.
#[derive(Debug, Default)]
pub(crate) struct MountPlan {
    pub propagation: Option<u64>,
    pub root: Option<RootPlan>,
    pub proc_dir: Option<CString>,
    /// Make the existing mount at `proc_dir` private before covering it, where the
    /// namespace-wide propagation did not already (as util-linux does): else the new `proc`
    /// would propagate to the parent's namespace.
    pub proc_private_first: bool,
}

fn cstring(what: &str, p: &Path) -> Result<CString, String> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| format!("nul byte found in provided data: {what} {p:?}"))
}

impl MountPlan {
    pub(crate) fn prepare(r: &MountRequest) -> Result<Self, String> {
        let propagation = r.propagation.and_then(Propagation::mount_flags);
        let root = match &r.root {
            Some((dir, mode)) => Some(RootPlan {
                dir: cstring("root", dir)?,
                mode: *mode,
            }),
            None => None,
        };
        // Under pivot_root, proc is mounted inside the new root before the old root is
        // detached: in a user namespace a fresh proc is only allowed while a fully visible
        // proc is still mounted in the mount namespace (`mount_too_revealing` in
        // fs/namespace.c), which detaching the old root ends.
        let proc_dir = match (&r.proc_dir, &r.root) {
            (Some(d), Some((root, RootMode::PivotRoot))) => Some(cstring(
                "mount_proc",
                &root.join(d.strip_prefix("/").unwrap_or(d)),
            )?),
            (Some(d), _) => Some(cstring("mount_proc", d)?),
            (None, _) => None,
        };
        let private = propagation == Propagation::Private.mount_flags();
        Ok(MountPlan {
            propagation,
            proc_private_first: proc_dir.is_some() && !private && root.is_none(),
            root,
            proc_dir,
        })
    }

    /// The child's mount steps (see the module documentation for the order). Runs in a
    /// `CLONE_VM` child: raw calls on prepared data only.
    pub(crate) fn apply(&self) -> Result<(), (Step, usize, i32)> {
        if let Some(flags) = self.propagation {
            si::mount(None, c"/", None, flags, None).map_err(|e| (Step::MountPropagation, 0, e))?;
        }
        match &self.root {
            Some(root) if root.mode == RootMode::PivotRoot => {
                pivot_into(&root.dir, || self.mount_proc())?
            }
            Some(root) => {
                chroot_into(&root.dir)?;
                self.mount_proc()?;
            }
            None => self.mount_proc()?,
        }
        Ok(())
    }

    /// Mounts the fresh proc, if one was asked for.
    fn mount_proc(&self) -> Result<(), (Step, usize, i32)> {
        if let Some(dir) = &self.proc_dir {
            if self.proc_private_first {
                si::mount(None, dir, None, libc::MS_REC | libc::MS_PRIVATE, None)
                    .map_err(|e| (Step::MountProc, 0, e))?;
            }
            si::mount(
                Some(c"proc"),
                dir,
                Some(c"proc"),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                None,
            )
            .map_err(|e| (Step::MountProc, 1, e))?;
        }
        Ok(())
    }
}

/// `chdir(dir); chroot("."); chdir("/")`: the working directory ends inside the new root.
fn chroot_into(dir: &core::ffi::CStr) -> Result<(), (Step, usize, i32)> {
    let err = |i| move |e| (Step::Chroot, i, e);
    crate::sys::child::chdir(dir).map_err(err(0))?;
    si::chroot(c".").map_err(err(1))?;
    crate::sys::child::chdir(c"/").map_err(err(2))
}

/// The `pivot_root(".", ".")` technique of pivot_root(2): the new root must be a mount
/// point (so it is bind-mounted onto itself), the old root ends up stacked under it and is
/// detached.
/// Bind-mounts `dir` onto itself, runs `inside` (proc is mounted there, under the new root,
/// while the old root is still attached), then pivots and detaches the old root.
fn pivot_into(
    dir: &core::ffi::CStr,
    inside: impl FnOnce() -> Result<(), (Step, usize, i32)>,
) -> Result<(), (Step, usize, i32)> {
    let err = |i| move |e| (Step::PivotRoot, i, e);
    si::mount(Some(dir), dir, None, libc::MS_BIND | libc::MS_REC, None).map_err(err(0))?;
    inside()?;
    crate::sys::child::chdir(dir).map_err(err(1))?;
    si::pivot_root(c".", c".").map_err(err(2))?;
    si::umount2(c".", libc::MNT_DETACH).map_err(err(3))?;
    crate::sys::child::chdir(c"/").map_err(err(4))
}

/// What a failed sub-step of [`MountPlan::apply`] was doing, for messages.
pub(crate) fn describe(step: Step, index: usize, plan: &MountPlan) -> String {
    let root = plan
        .root
        .as_ref()
        .map(|r| r.dir.to_string_lossy().into_owned())
        .unwrap_or_default();
    let proc_dir = plan
        .proc_dir
        .as_ref()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    match (step, index) {
        (Step::MountPropagation, _) => "/ (recursive)".into(),
        (Step::Chroot, 0) => format!("chdir {root}"),
        (Step::Chroot, 1) => format!("chroot {root}"),
        (Step::Chroot, _) => "chdir / in the new root".into(),
        (Step::PivotRoot, 0) => format!("bind-mounting {root} onto itself"),
        (Step::PivotRoot, 1) => format!("chdir {root}"),
        (Step::PivotRoot, 2) => format!("pivot_root onto {root}"),
        (Step::PivotRoot, 3) => "detaching the old root".into(),
        (Step::PivotRoot, _) => "chdir / in the new root".into(),
        (Step::MountProc, 0) => format!("making {proc_dir} private"),
        (Step::MountProc, _) => proc_dir,
        _ => String::new(),
    }
}

/// A hint for the usual causes of a failed mount step.
pub(crate) fn hint(step: Step, errno: i32) -> Option<&'static str> {
    Some(match (step, errno) {
        (Step::MountProc, libc::EPERM) => {
            "a fresh proc needs CAP_SYS_ADMIN over the user namespace that owns the child's \
             pid namespace (a new pid namespace, with a new user namespace when unprivileged) \
             and a fully visible proc already mounted in the child's mount namespace"
        }
        (Step::MountPropagation | Step::PivotRoot, libc::EPERM) => {
            "mounting needs CAP_SYS_ADMIN over the mount namespace: run as root or add a user \
             namespace (-U)"
        }
        (Step::PivotRoot, libc::EINVAL) => {
            "pivot_root needs a new mount namespace whose propagation is not shared \
             (--propagation private or slave)"
        }
        (Step::Chroot, libc::EPERM) => "chroot needs CAP_SYS_CHROOT (root, or -U)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagation_names_and_flags() {
        for p in [
            Propagation::Private,
            Propagation::Shared,
            Propagation::Slave,
            Propagation::Unchanged,
        ] {
            assert_eq!(p.as_str().parse::<Propagation>(), Ok(p));
        }
        assert!("rprivate".parse::<Propagation>().is_err());
        assert_eq!(
            Propagation::Private.mount_flags(),
            Some(libc::MS_REC | libc::MS_PRIVATE)
        );
        assert_eq!(Propagation::Unchanged.mount_flags(), None);
    }

    #[test]
    fn plan_preparation() {
        let r = MountRequest {
            propagation: Some(Propagation::Shared),
            root: None,
            proc_dir: Some("/proc".into()),
        };
        assert!(r.needs_mount_namespace());
        let p = MountPlan::prepare(&r).unwrap();
        assert!(
            p.proc_private_first,
            "shared propagation: /proc made private first"
        );
        let r = MountRequest {
            propagation: Some(Propagation::Private),
            ..r
        };
        assert!(!MountPlan::prepare(&r).unwrap().proc_private_first);
        let chroot_only = MountRequest {
            root: Some(("/x".into(), RootMode::Chroot)),
            ..Default::default()
        };
        assert!(!chroot_only.needs_mount_namespace());
        let bad = MountRequest {
            proc_dir: Some(std::ffi::OsStr::from_bytes(b"a\0b").into()),
            ..Default::default()
        };
        assert!(MountPlan::prepare(&bad).unwrap_err().contains("nul byte"));
    }
}
