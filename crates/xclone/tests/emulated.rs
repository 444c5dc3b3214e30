//! Spawning under qemu's user-mode emulation (`qemu-x86_64`, `qemu-aarch64` or `qemu-riscv64`
//! for this target's own binaries, package qemu-user), where
//! multi-arch container builds run foreign binaries: clone3 is `ENOSYS` there and a
//! `CLONE_VM` child is refused (`EINVAL`, qemu 7.2) or run as a fork (qemu 10.0), so a spawn
//! goes fork-like. This test binary runs
//! itself under the emulator and spawns, runs to the end and fails there; skipped (with the
//! reason) where that emulator is not installed.

use std::process::Command as StdCommand;
use xclone::{probe::Availability, Command, Stdio};
use xclone_testsupport::QEMU_USER;

const INNER: &str = "XCLONE_EMULATED_INNER";

fn have_qemu() -> bool {
    StdCommand::new(QEMU_USER)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The body, run only under the emulator.
#[test]
fn emulated_entry() {
    if std::env::var_os(INNER).is_none() {
        return;
    }
    // What the emulator offers: no clone3.
    assert!(!xclone::fallback::clone3_availability().usable());
    assert!(matches!(
        xclone::fallback::clone3_availability(),
        Availability::Filtered(_) | Availability::Missing
    ));
    // This process's first spawn fails in the child, and says why: qemu 10 runs a
    // `CLONE_VM | CLONE_VFORK` child as a fork, whose report (written into what should be
    // the parent's memory) would be lost, leaving a bare exit 127.
    let mut cmd = Command::new("/no/such/first");
    let e = cmd.spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(
        cmd.last_spawn_error().map(|s| s.to_string()).as_deref(),
        Some("execve /no/such/first: No such file or directory")
    );
    // A spawn (with its pidfd), its output and status.
    let child = Command::new("sh")
        .args(["-c", "echo spawned; exit 4"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.stdout, b"spawned\n");
    assert_eq!(out.status.code(), Some(4));
    // Run to the end (status/output), twice: the second goes fork-like at once.
    for _ in 0..2 {
        let out = Command::new("sh")
            .args(["-c", "echo to-end; echo err >&2; exit 5"])
            .output()
            .unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b"to-end\n"[..], &b"err\n"[..])
        );
        assert_eq!(out.status.code(), Some(5));
    }
    // Failures in the child are still reported precisely, for both kinds of spawn: the OS
    // error as std's (errno only), the step on the command.
    let mut cmd = Command::new("/no/such/x");
    let e = cmd.spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(
        cmd.last_spawn_error().map(|s| s.to_string()).as_deref(),
        Some("execve /no/such/x: No such file or directory")
    );
    let mut cmd = Command::new("true");
    let e = cmd.current_dir("/no/such/dir").status().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(
        cmd.last_spawn_error().map(|s| s.to_string()).as_deref(),
        Some("chdir /no/such/dir: No such file or directory")
    );
    println!("EMULATED-OK");
}

#[test]
fn spawns_under_qemu_user_mode() {
    if !have_qemu() {
        eprintln!("skipped: {QEMU_USER} (package qemu-user) is not installed");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = StdCommand::new(QEMU_USER)
        .arg(exe)
        .args([
            "--exact",
            "emulated_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("EMULATED-OK"),
        "{}\n{stdout}\n{stderr}",
        out.status
    );
}
