//! Persistent namespaces (documented in the `isolate` layer).

use crate::sys::flags::CloneFlags;
use std::io;
use std::path::{Path, PathBuf};

/// The `/proc/PID/ns/` name of a namespace type that can be persisted.
pub fn ns_file_name(kind: CloneFlags) -> Option<&'static str> {
    crate::enter::target::ns_name(kind)
}

/// Bind-mounts the namespaces of the child `pid` of each type on its file.
pub(crate) fn apply(pid: u32, persist: &[(CloneFlags, PathBuf)]) -> io::Result<()> {
    for (kind, file) in persist {
        let name = ns_file_name(*kind).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "not a single namespace type")
        })?;
        // A CLONE_VM child enters its new time namespace only at exec
        // (`timens_on_fork` in kernel/time/namespace.c skips CLONE_VM): until then the
        // namespace is its `time_for_children`.
        let name = if *kind == CloneFlags::NEWTIME {
            "time_for_children"
        } else {
            name
        };
        bind(&format!("/proc/{pid}/ns/{name}"), file)?;
    }
    Ok(())
}

fn bind(source: &str, file: &Path) -> io::Result<()> {
    rustix::mount::mount_bind(source, file).map_err(|e| {
        let hint = match e {
            rustix::io::Errno::NOENT => " (the file must exist: create it first, e.g. touch it)",
            rustix::io::Errno::INVAL => {
                " (a mount namespace is kept only on a file of a private mount, and never \
                 inside itself)"
            }
            rustix::io::Errno::PERM | rustix::io::Errno::ACCESS => {
                " (bind mounts need CAP_SYS_ADMIN in our mount namespace)"
            }
            _ => "",
        };
        io::Error::new(
            io::Error::from(e).kind(),
            format!(
                "persisting the namespace: mount --bind {source} {}: {}{hint}",
                file.display(),
                crate::Errno(e.raw_os_error())
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(ns_file_name(CloneFlags::NEWNET), Some("net"));
        assert_eq!(ns_file_name(CloneFlags::NEWNS), Some("mnt"));
        assert_eq!(ns_file_name(CloneFlags::NEWNET | CloneFlags::NEWNS), None);
    }

    #[test]
    fn missing_file_is_named() {
        let e = apply(
            std::process::id(),
            &[(CloneFlags::NEWNET, "/nonexistent/xclone-persist".into())],
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(m.contains("/nonexistent/xclone-persist"), "{m}");
    }
}
