//! A static helper program whose first action after execve(2) is the observation a test
//! needs: no dynamic loader or libc start-up runs before it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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
