//! `struct clone_args` exactly as `<linux/sched.h>` lays it out, and the sizes the kernel
//! publishes for each version of it.
//!
//! The kernel grows this struct only by appending fields and learns which version a caller
//! speaks from the `size` argument of `clone3(2)`. Shorter structs are zero-extended by the
//! kernel, so a caller that passes the smallest size holding the fields it uses runs on every
//! kernel that knows those fields.

/// Size of the first `clone_args` (Linux 5.3): `flags` through `tls`.
pub const CLONE_ARGS_SIZE_VER0: usize = 64;
/// Size with `set_tid` and `set_tid_size` (Linux 5.5).
pub const CLONE_ARGS_SIZE_VER1: usize = 80;
/// Size with `cgroup` (Linux 5.7). Still the newest in Linux 7.1.
pub const CLONE_ARGS_SIZE_VER2: usize = 88;

/// The largest `set_tid_size` the kernel accepts (`MAX_PID_NS_LEVEL`).
pub const MAX_PID_NS_LEVEL: usize = 32;

/// `struct clone_args` of `<linux/sched.h>`; every field is an `__aligned_u64`, pointers are
/// carried as integers.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct clone_args {
    /// The `CLONE_*` flags, without the exit signal (clone3 takes that separately).
    pub flags: u64,
    /// With `CLONE_PIDFD`: where the kernel stores the child's pidfd (an `int *`).
    pub pidfd: u64,
    /// With `CLONE_CHILD_SETTID`/`CLONE_CHILD_CLEARTID`: the child's TID word (a `pid_t *`).
    pub child_tid: u64,
    /// With `CLONE_PARENT_SETTID`: where the child's TID is stored in the parent (a
    /// `pid_t *`).
    pub parent_tid: u64,
    /// The signal the parent gets when the child ends (`SIGCHLD` = 17, or 0 for none).
    pub exit_signal: u64,
    /// Lowest address of the child's stack (the kernel adds `stack_size`), or 0 to keep the
    /// caller's stack pointer.
    pub stack: u64,
    /// Size of that stack in bytes.
    pub stack_size: u64,
    /// With `CLONE_SETTLS`: the child's thread pointer.
    pub tls: u64,
    /// The PIDs to give the child, innermost pid namespace first (a `pid_t *`; Linux 5.5).
    pub set_tid: u64,
    /// Number of entries of `set_tid` (at most [`MAX_PID_NS_LEVEL`]).
    pub set_tid_size: u64,
    /// With `CLONE_INTO_CGROUP`: a descriptor of the cgroup2 directory the child starts in
    /// (Linux 5.7).
    pub cgroup: u64,
}

// The layout is ABI: check every offset and the published sizes at compile time, and check
// it against linux-raw-sys's bindgen output of the kernel header, so a typo cannot ship.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(offset_of!(clone_args, flags) == 0);
    assert!(offset_of!(clone_args, pidfd) == 8);
    assert!(offset_of!(clone_args, child_tid) == 16);
    assert!(offset_of!(clone_args, parent_tid) == 24);
    assert!(offset_of!(clone_args, exit_signal) == 32);
    assert!(offset_of!(clone_args, stack) == 40);
    assert!(offset_of!(clone_args, stack_size) == 48);
    assert!(offset_of!(clone_args, tls) == 56);
    assert!(offset_of!(clone_args, set_tid) == 64);
    assert!(offset_of!(clone_args, set_tid_size) == 72);
    assert!(offset_of!(clone_args, cgroup) == 80);
    assert!(offset_of!(clone_args, set_tid) == CLONE_ARGS_SIZE_VER0);
    assert!(offset_of!(clone_args, cgroup) == CLONE_ARGS_SIZE_VER1);
    assert!(size_of::<clone_args>() == CLONE_ARGS_SIZE_VER2);
    assert!(align_of::<clone_args>() == 8);

    use linux_raw_sys::general as k;
    assert!(size_of::<k::clone_args>() == size_of::<clone_args>());
    assert!(k::CLONE_ARGS_SIZE_VER0 as usize == CLONE_ARGS_SIZE_VER0);
    assert!(k::CLONE_ARGS_SIZE_VER1 as usize == CLONE_ARGS_SIZE_VER1);
    assert!(k::CLONE_ARGS_SIZE_VER2 as usize == CLONE_ARGS_SIZE_VER2);
    assert!(offset_of!(k::clone_args, set_tid) == offset_of!(clone_args, set_tid));
    assert!(offset_of!(k::clone_args, cgroup) == offset_of!(clone_args, cgroup));
    assert!(offset_of!(k::clone_args, exit_signal) == offset_of!(clone_args, exit_signal));
};

impl clone_args {
    /// The bytes the kernel reads for a given `size`, for `--dry-run` style displays.
    pub fn fields(&self) -> [(&'static str, u64); 11] {
        [
            ("flags", self.flags),
            ("pidfd", self.pidfd),
            ("child_tid", self.child_tid),
            ("parent_tid", self.parent_tid),
            ("exit_signal", self.exit_signal),
            ("stack", self.stack),
            ("stack_size", self.stack_size),
            ("tls", self.tls),
            ("set_tid", self.set_tid),
            ("set_tid_size", self.set_tid_size),
            ("cgroup", self.cgroup),
        ]
    }
}

/// The struct size (in bytes) of the published versions that contains byte offset `end`.
pub const fn size_for_fields_through(end: usize) -> usize {
    if end <= CLONE_ARGS_SIZE_VER0 {
        CLONE_ARGS_SIZE_VER0
    } else if end <= CLONE_ARGS_SIZE_VER1 {
        CLONE_ARGS_SIZE_VER1
    } else {
        CLONE_ARGS_SIZE_VER2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_versions() {
        assert_eq!(size_for_fields_through(0), 64);
        assert_eq!(size_for_fields_through(64), 64);
        assert_eq!(size_for_fields_through(80), 80);
        assert_eq!(size_for_fields_through(88), 88);
    }

    #[test]
    fn fields_in_order() {
        let a = clone_args {
            flags: 1,
            cgroup: 11,
            ..Default::default()
        };
        let f = a.fields();
        assert_eq!(f[0], ("flags", 1));
        assert_eq!(f[10], ("cgroup", 11));
    }
}
