//! Helpers shared by the isolation tests (`tests/isolate_*.rs`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use xclone::Command;

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Returns from the test with a printed reason unless running as root.
#[macro_export]
macro_rules! need_root {
    () => {
        if !isolate_common::is_root() {
            eprintln!("skipped: needs root (creates namespaces, writes id maps)");
            return;
        }
    };
}

pub fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script);
    c
}

/// Runs the command to completion; panics with its stderr unless it succeeded.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The `/proc/self/ns/<name>` link of this process (`user:[4026531837]`).
pub fn own_ns(name: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{name}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

const PROBE_C: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Each mode does its job as its first action. */
int main(int argc, char **argv) {
    if (argc > 1 && argv[1][0] == 'c') { /* cgroup: /proc/self/cgroup as the first thing */
        char buf[8192];
        int fd = open("/proc/self/cgroup", O_RDONLY);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
        if (n < 0) return 2;
        return write(1, buf, (size_t)n) == n ? 0 : 3;
    }
    if (argc > 1 && argv[1][0] == 't') { /* clocks */
        struct timespec m, b;
        clock_gettime(CLOCK_MONOTONIC, &m);
        clock_gettime(CLOCK_BOOTTIME, &b);
        printf("%lld %ld %lld %ld\n", (long long)m.tv_sec, m.tv_nsec, (long long)b.tv_sec, b.tv_nsec);
        return 0;
    }
    if (argc > 1 && argv[1][0] == 'r') { /* root: where am I, what is there */
        char cwd[4096];
        struct stat st;
        if (!getcwd(cwd, sizeof cwd)) return 2;
        printf("%s %s\n", cwd, stat("/xclone-marker", &st) == 0 ? "marker" : "no-marker");
        return 0;
    }
    return 1;
}
"#;

/// A statically linked helper program (compiled once per test process with `gcc -static`):
/// `probe cgroup`, `probe time`, `probe root`. `None` (test to be skipped) without gcc or a
/// static libc.
pub fn probe_program() -> Option<&'static Path> {
    static PROBE: OnceLock<Option<PathBuf>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            // One build per version of the source, shared by the test binaries; built under
            // a private name and renamed into place, so a concurrent build never shows a
            // half-written file.
            let hash = PROBE_C.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
            });
            let dir = std::env::temp_dir().join(format!("xclone-probe-{hash:016x}"));
            let out = dir.join("probe");
            if out.exists() {
                return Some(out);
            }
            std::fs::create_dir_all(&dir).ok()?;
            let src = dir.join(format!("probe-{}.c", std::process::id()));
            std::fs::write(&src, PROBE_C).ok()?;
            let tmp = dir.join(format!("probe-{}", std::process::id()));
            // gcc writes the file in its own process: this one never holds a writable
            // descriptor of it (no ETXTBSY for concurrently forked children).
            let st = std::process::Command::new("gcc")
                .args(["-static", "-O2", "-o"])
                .arg(&tmp)
                .arg(&src)
                .status()
                .ok()?;
            let _ = std::fs::remove_file(&src);
            if !st.success() {
                return None;
            }
            std::fs::rename(&tmp, &out).ok()?;
            Some(out)
        })
        .as_deref()
}

#[macro_export]
macro_rules! need_probe {
    () => {
        match isolate_common::probe_program() {
            Some(p) => p,
            None => {
                eprintln!("skipped: cannot build the static probe program (gcc -static)");
                return;
            }
        }
    };
}

/// A PID that is free now (best effort: PIDs are handed out concurrently).
pub fn free_pid(near: i32) -> i32 {
    let max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768);
    let start = near % (max - 1000) + 500;
    (start..max - 1)
        .chain(300..start)
        .find(|p| !Path::new(&format!("/proc/{p}")).exists())
        .expect("a free pid")
}

/// Runs the named test of this test binary again in a child made by `setup` (as another
/// user, in new namespaces…), with `XCLONE_INNER=<name>` set; the inner run does the work.
/// Returns the inner run's output.
pub fn run_inner(name: &str, setup: impl FnOnce(&mut Command)) -> xclone::Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(&exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("XCLONE_INNER", name);
    if let Some(p) = probe_program() {
        cmd.env("XCLONE_PROBE", p);
    }
    setup(&mut cmd);
    cmd.output().expect("spawn the inner test run")
}

/// Whether this is the inner run of test `name`. Check it before any skip condition: the
/// inner run's own conditions differ (another uid, other namespaces).
pub fn is_inner(name: &str) -> bool {
    std::env::var("XCLONE_INNER").is_ok_and(|v| v == name)
}

/// Marks the inner run as complete (the outer run checks for the mark, so an inner run
/// that returned early does not pass for one that did the work).
pub fn inner_done(name: &str) {
    println!("xclone-inner-done {name}");
}

/// Asserts that the inner run of test `name` did its work and passed.
pub fn assert_inner_passed(name: &str, out: &xclone::Output) {
    let so = String::from_utf8_lossy(&out.stdout);
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success()
            && so.contains("1 passed")
            && so.contains(&format!("xclone-inner-done {name}")),
        "inner run failed: {:?}\nstdout:\n{so}\nstderr:\n{se}",
        out.status
    );
}
