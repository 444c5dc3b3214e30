//! Typed clone arguments: what a caller asks of `clone3(2)`, encoded to the smallest
//! `clone_args` size that holds it.

use crate::sys::abi::{
    clone_args, CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, CLONE_ARGS_SIZE_VER2,
};
use crate::sys::flags::CloneFlags;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd};

/// A clone3 request. Safe to build and inspect; pointer-valued fields that the kernel writes
/// through (`child_tid`, `parent_tid`, `tls`, `stack`) can only be set with `unsafe` setters.
///
/// ```
/// use xclone::{CloneArgs, CloneFlags};
/// let args = CloneArgs::new().flags(CloneFlags::NEWUTS).pidfd(true).set_tid(vec![1, 4242]);
/// assert_eq!(args.encoded_size(), 80); // set_tid needs the Linux 5.5 layout, no more
/// ```
#[derive(Clone, Debug)]
pub struct CloneArgs<'fd> {
    flags: CloneFlags,
    exit_signal: u64,
    set_tid: Vec<i32>,
    cgroup: Option<BorrowedFd<'fd>>,
    child_tid: u64,
    parent_tid: u64,
    tls: u64,
    stack: u64,
    stack_size: u64,
}

impl Default for CloneArgs<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'fd> CloneArgs<'fd> {
    /// No flags, exit signal `SIGCHLD` (what `fork()` does).
    pub fn new() -> Self {
        Self {
            flags: CloneFlags::empty(),
            exit_signal: libc::SIGCHLD as u64,
            set_tid: Vec::new(),
            cgroup: None,
            child_tid: 0,
            parent_tid: 0,
            tls: 0,
            stack: 0,
            stack_size: 0,
        }
    }

    /// Replaces the flag word. Flags that have their own setter (`PIDFD`, `INTO_CGROUP`) may
    /// also be set here; the validator reports a missing companion field.
    pub fn flags(mut self, flags: CloneFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Adds flags to the flag word.
    pub fn add_flags(mut self, flags: CloneFlags) -> Self {
        self.flags |= flags;
        self
    }

    /// Removes flags from the flag word.
    pub fn remove_flags(mut self, flags: CloneFlags) -> Self {
        self.flags &= !flags;
        self
    }

    /// The signal the parent gets when the child exits (`0` for none). Any value the raw
    /// field can hold is accepted here; the validator judges it (the kernel takes 0..=64).
    pub fn exit_signal(mut self, signal: u64) -> Self {
        self.exit_signal = signal;
        self
    }

    /// Asks for a pidfd (`CLONE_PIDFD`).
    pub fn pidfd(mut self, on: bool) -> Self {
        self.flags.set(CloneFlags::PIDFD, on);
        self
    }

    /// The PIDs to give the child, innermost pid namespace first (`set_tid`, Linux 5.5).
    /// An empty list lets the kernel choose.
    pub fn set_tid(mut self, pids: Vec<i32>) -> Self {
        self.set_tid = pids;
        self
    }

    /// Creates the child in the cgroup2 directory `dir` (`CLONE_INTO_CGROUP`, Linux 5.7).
    pub fn cgroup(mut self, dir: BorrowedFd<'fd>) -> Self {
        self.cgroup = Some(dir);
        self.flags |= CloneFlags::INTO_CGROUP;
        self
    }

    /// Where `CLONE_CHILD_SETTID`/`CLONE_CHILD_CLEARTID` store the child's TID.
    ///
    /// # Safety
    /// `ptr` must stay valid in the child's address space for as long as the kernel may
    /// write it (until the child exits or execs).
    pub unsafe fn child_tid(mut self, ptr: *mut i32) -> Self {
        self.child_tid = ptr as usize as u64;
        self
    }

    /// Where `CLONE_PARENT_SETTID` stores the child's TID in the parent's memory.
    ///
    /// # Safety
    /// `ptr` must be valid for a 4-byte write until the clone call returns.
    pub unsafe fn parent_tid(mut self, ptr: *mut i32) -> Self {
        self.parent_tid = ptr as usize as u64;
        self
    }

    /// The TLS value installed with `CLONE_SETTLS`.
    ///
    /// # Safety
    /// The value must be a TLS block the child may use as its thread pointer.
    pub unsafe fn tls(mut self, tls: u64) -> Self {
        self.tls = tls;
        self
    }

    /// The child's stack: lowest address and size.
    ///
    /// # Safety
    /// The memory must be reserved for the child until it exits or execs.
    pub unsafe fn stack(mut self, lowest: *mut u8, size: usize) -> Self {
        self.stack = lowest as usize as u64;
        self.stack_size = size as u64;
        self
    }

    /// The flags set so far.
    pub fn get_flags(&self) -> CloneFlags {
        self.flags
    }
    /// The signal the parent gets when the child ends (0: none).
    pub fn get_exit_signal(&self) -> u64 {
        self.exit_signal
    }
    /// The chosen PIDs, innermost pid namespace first (`set_tid`).
    pub fn get_set_tid(&self) -> &[i32] {
        &self.set_tid
    }
    /// The cgroup2 directory the child is created in (`CLONE_INTO_CGROUP`).
    pub fn get_cgroup(&self) -> Option<BorrowedFd<'fd>> {
        self.cgroup
    }
    /// `(stack, stack_size)` as the raw fields hold them.
    pub fn get_stack(&self) -> (u64, u64) {
        (self.stack, self.stack_size)
    }
    /// Where the kernel stores the child's TID in the parent (`CLONE_PARENT_SETTID`).
    pub fn get_parent_tid(&self) -> u64 {
        self.parent_tid
    }
    /// Where the kernel stores or clears the child's TID in the child
    /// (`CLONE_CHILD_SETTID`, `CLONE_CHILD_CLEARTID`).
    pub fn get_child_tid(&self) -> u64 {
        self.child_tid
    }

    /// The smallest published struct size that holds every field in use: 64 bytes (5.3)
    /// without `set_tid` and `cgroup`, 80 (5.5) with `set_tid`, 88 (5.7) with a cgroup.
    pub fn encoded_size(&self) -> usize {
        if self.cgroup.is_some() || self.flags.contains(CloneFlags::INTO_CGROUP) {
            CLONE_ARGS_SIZE_VER2
        } else if !self.set_tid.is_empty() {
            CLONE_ARGS_SIZE_VER1
        } else {
            CLONE_ARGS_SIZE_VER0
        }
    }

    /// The raw struct and size to hand to `clone3`. `pidfd_out` receives the pidfd when
    /// `CLONE_PIDFD` is set; the result borrows it and `self`, so the pointers it carries stay
    /// valid for as long as it lives.
    pub fn encode<'a>(&'a self, pidfd_out: Option<&'a mut i32>) -> Encoded<'a> {
        let pidfd = match pidfd_out {
            Some(p) => p as *mut i32 as usize as u64,
            None => 0,
        };
        let raw = clone_args {
            flags: self.flags.bits(),
            pidfd,
            child_tid: self.child_tid,
            parent_tid: self.parent_tid,
            exit_signal: self.exit_signal,
            stack: self.stack,
            stack_size: self.stack_size,
            tls: self.tls,
            set_tid: if self.set_tid.is_empty() {
                0
            } else {
                self.set_tid.as_ptr() as usize as u64
            },
            set_tid_size: self.set_tid.len() as u64,
            cgroup: self.cgroup.map(|fd| fd.as_raw_fd() as u64).unwrap_or(0),
        };
        Encoded {
            raw,
            size: self.encoded_size(),
            _borrow: PhantomData,
        }
    }
}

/// A `clone_args` ready for the system call, with the size to pass.
#[derive(Debug)]
pub struct Encoded<'a> {
    /// The struct, its pointers valid while this value lives.
    pub raw: clone_args,
    /// The size to pass: the smallest published size holding every field in use.
    pub size: usize,
    _borrow: PhantomData<&'a mut i32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn smallest_size() {
        assert_eq!(CloneArgs::new().encoded_size(), 64);
        assert_eq!(CloneArgs::new().set_tid(vec![5]).encoded_size(), 80);
        let f = std::fs::File::open("/").unwrap();
        let a = CloneArgs::new().set_tid(vec![5]).cgroup(f.as_fd());
        assert_eq!(a.encoded_size(), 88);
        assert!(a.get_flags().contains(CloneFlags::INTO_CGROUP));
        assert_eq!(a.encode(None).raw.cgroup, f.as_raw_fd() as u64);
        // A flag without its field still needs the field's layout (the kernel checks size).
        let b = CloneArgs::new().flags(CloneFlags::INTO_CGROUP);
        assert_eq!(b.encoded_size(), 88);
    }

    #[test]
    fn encode_points_at_fields() {
        let mut fd = -1;
        let a = CloneArgs::new()
            .pidfd(true)
            .set_tid(vec![1, 77])
            .exit_signal(0);
        let e = a.encode(Some(&mut fd));
        assert_eq!(e.raw.flags, CloneFlags::PIDFD.bits());
        assert_eq!(e.raw.set_tid_size, 2);
        assert_eq!(e.raw.exit_signal, 0);
        assert_ne!(e.raw.pidfd, 0);
        assert_eq!(e.raw.set_tid, a.get_set_tid().as_ptr() as u64);
        assert_eq!(e.size, 80);
    }
}
