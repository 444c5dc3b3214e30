//! The namespace ioctls of ioctl_ns(2) on nsfs file descriptors (`/proc/PID/ns/*`): which user
//! namespace owns a namespace, which namespace is a namespace's parent, and who created a user
//! namespace. They only read kernel state.

use rustix::io;
use rustix::ioctl::{Ioctl, IoctlOutput, Opcode};
use std::ffi::c_void;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

/// An nsfs ioctl whose return value is a new file descriptor (`NS_GET_USERNS`,
/// `NS_GET_PARENT`).
struct FdReturning<const OPCODE: Opcode>;

// SAFETY: NS_GET_USERNS and NS_GET_PARENT take no argument, write no user memory, and return a
// new O_CLOEXEC file descriptor owned by the caller (or fail with an errno).
unsafe impl<const OPCODE: Opcode> Ioctl for FdReturning<OPCODE> {
    type Output = OwnedFd;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> Opcode {
        OPCODE
    }

    fn as_ptr(&mut self) -> *mut c_void {
        core::ptr::null_mut()
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> io::Result<OwnedFd> {
        // SAFETY: on success the ioctl returned a fresh descriptor that nobody else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(out) })
    }
}

const NS_GET_USERNS: Opcode = linux_raw_sys::ioctl::NS_GET_USERNS as Opcode;
const NS_GET_PARENT: Opcode = linux_raw_sys::ioctl::NS_GET_PARENT as Opcode;
const NS_GET_OWNER_UID: Opcode = linux_raw_sys::ioctl::NS_GET_OWNER_UID as Opcode;

/// `NS_GET_USERNS`: the user namespace that owns the namespace `ns` refers to.
///
/// Fails with `EPERM` when that user namespace is outside the caller's user namespace tree
/// (not the caller's own or an ancestor of it), see ioctl_ns(2).
pub fn owning_userns(ns: impl AsFd) -> io::Result<OwnedFd> {
    // SAFETY: the opcode and its (absent) argument match the kernel's NS_GET_USERNS.
    unsafe { rustix::ioctl::ioctl(ns, FdReturning::<NS_GET_USERNS>) }
}

/// `NS_GET_PARENT`: the parent of a pid or user namespace.
///
/// Fails with `EPERM` at the top of the caller's view (the initial namespace, or a parent the
/// caller may not see) and with `EINVAL` for namespace types without parents.
pub fn parent_ns(ns: impl AsFd) -> io::Result<OwnedFd> {
    // SAFETY: the opcode and its (absent) argument match the kernel's NS_GET_PARENT.
    unsafe { rustix::ioctl::ioctl(ns, FdReturning::<NS_GET_PARENT>) }
}

/// `NS_GET_OWNER_UID`: the uid (in the caller's user namespace) of the creator of the user
/// namespace `userns`.
pub fn userns_owner_uid(userns: impl AsFd) -> io::Result<u32> {
    // SAFETY: NS_GET_OWNER_UID writes one uid_t through its argument, which Getter provides
    // as a properly aligned u32 it owns.
    unsafe {
        rustix::ioctl::ioctl(
            userns,
            rustix::ioctl::Getter::<NS_GET_OWNER_UID, u32>::new(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn ident(fd: &OwnedFd) -> (u64, u64) {
        let st = rustix::fs::fstat(fd).unwrap();
        (st.st_dev, st.st_ino)
    }

    #[test]
    fn namespace_relations() {
        let pid = std::fs::File::open("/proc/self/ns/pid").unwrap();
        let owner = owning_userns(&pid).unwrap();
        let own_user = std::fs::metadata("/proc/self/ns/user").unwrap();
        // Whatever owns our pid namespace is a user namespace on nsfs.
        assert_eq!(ident(&owner).0, own_user.dev());
        // The initial user namespace has no parent visible to anyone, and its "creator" is
        // uid 0.
        let user = std::fs::File::open("/proc/self/ns/user").unwrap();
        let initial = std::fs::read_to_string("/proc/self/uid_map")
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            == ["0", "0", "4294967295"];
        if initial {
            assert_eq!(parent_ns(&user).unwrap_err(), io::Errno::PERM);
            assert_eq!(userns_owner_uid(&user).unwrap(), 0);
        } else {
            assert_eq!(ident(&parent_ns(&user).unwrap()).0, own_user.dev());
        }
        // A mount namespace has no parent: the kernel says EINVAL.
        let mnt = std::fs::File::open("/proc/self/ns/mnt").unwrap();
        assert_eq!(parent_ns(&mnt).unwrap_err(), io::Errno::INVAL);
    }
}
