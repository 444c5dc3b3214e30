//! Helpers shared by the integration tests of `xclone` (`crates/xclone/tests`) and of the
//! `xclone` command (`crates/xclone-cli/tests`): privilege checks that print why a test is
//! skipped, `/proc` readers, pidfd-based clean-up, temporary directories, the static probe
//! program, test binaries run again as another user, targets to enter and live trees to
//! restore.
//!
//! Only integration tests use this crate: there `xclone` types are the ones of the library
//! under test. A unit test of `xclone` must not use it, since its `xclone` would be a second
//! instance of the crate.

pub mod inner;
pub mod livetree;
pub mod pidfd;
pub mod privilege;
pub mod probe;
pub mod procfs;
pub mod run;
pub mod sandbox;
pub mod seccomp;
pub mod signals;
pub mod target;
pub mod tempdir;

pub use inner::{assert_inner_passed, inner_done, is_inner, run_inner};
pub use livetree::{have_unshare, start_live_tree, write_blocker, LiveTree};
pub use pidfd::{kill_and_wait, kill_fds, pidfd, pidfds, wait_fds_ended, KillOnDrop};
pub use privilege::{is_root, privileged};
pub use probe::probe_program;
pub use procfs::{
    cgroup2_line, cgroup2_of, clocks, exists, free_pid, free_pids, nanos, ns_link, nspid, own_ns,
    pid_max, ppid, status_field, uptime,
};
pub use run::{cli_output, have_setpriv, pipe, sh, stderr_line, stdout_of, SETPRIV_NOBODY};
pub use sandbox::{have_bwrap, merged_usr};
pub use signals::default_disposition;
pub use target::{cgroup_and_target, root_and_cgroup, spawn_at_pid, start_target, TestCgroup};
pub use tempdir::TempDir;

/// Returns from the test with a printed reason unless running as root.
#[macro_export]
macro_rules! need_root {
    () => {
        if !$crate::is_root() {
            eprintln!("skipped: needs root (creates namespaces, writes id maps)");
            return;
        }
    };
}

/// The path of the static probe program ([`probe_program`]), or a return from the test with
/// a printed reason when it cannot be built.
#[macro_export]
macro_rules! need_probe {
    () => {
        match $crate::probe_program() {
            Some(p) => p,
            None => {
                eprintln!("skipped: cannot build the static probe program (gcc -static)");
                return;
            }
        }
    };
}

/// qemu's user-mode emulator for this target's own binaries (package qemu-user), under which
/// clone3 is `ENOSYS` and a `CLONE_VM` child is refused.
#[cfg(target_arch = "x86_64")]
pub const QEMU_USER: &str = "qemu-x86_64";
/// qemu's user-mode emulator for this target's own binaries (package qemu-user), under which
/// clone3 is `ENOSYS` and a `CLONE_VM` child is refused.
#[cfg(target_arch = "aarch64")]
pub const QEMU_USER: &str = "qemu-aarch64";
/// qemu's user-mode emulator for this target's own binaries (package qemu-user), under which
/// clone3 is `ENOSYS` and a `CLONE_VM` child is refused.
#[cfg(target_arch = "riscv64")]
pub const QEMU_USER: &str = "qemu-riscv64";
