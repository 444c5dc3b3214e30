//! The floor of the sandbox rows: the kernel steps of `xclone run` building the bench's
//! sandbox (`commands::sandbox_args`), written as a small C program with nothing else in it:
//! no option parsing, no plan, no messages, no signal forwarding. Linked statically against
//! glibc as the `xclone` executable is, so it pays the same C library start-up (on this
//! machine mostly glibc's CPU and cache probing, `cpuid` instructions that trap to the
//! hypervisor). What `xclone run` costs above this row is its own; what this row costs is
//! the kernel's namespaces and mounts, the start-up of a static glibc program and the exec
//! of the target, which no tool building the same sandbox the same way can skip.
//!
//! The steps and their order are xclone's (`isolate::fs_plan`, `spawn::child_side`): the
//! handshake over a socketpair while the parent writes the id maps, lo up, slave propagation,
//! a tmpfs on /tmp as the building root with /tmp/newroot bound on itself (built in place:
//! no source is under /tmp, so no first pivot_root), the operations (destinations under
//! /tmp/newroot, every bind followed by `mount_setattr`), then `pivot_root(".", ".")` into
//! /tmp/newroot and one lazy unmount, chdir. Then bubblewrap's layout of a new pid namespace,
//! as `xclone run` and `bwrap` both have it for `--unshare-all`: the clone3 child stays as
//! PID 1, leads the new session, makes the program's process with `vfork` (it execs as PID
//! 2), closes its descriptors (the parent sees end of file on the socket), waits for it and
//! writes its status to a pipe; the parent exits with that status without waiting for PID 1
//! (whose exit tears the namespaces down).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const FLOOR_C: &str = r#"/* xclone bench: the kernel steps of `xclone run` for the bench's sandbox. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct attr { uint64_t set, clr, propagation, userns_fd; };
enum { RDONLY = 1, NOSUID = 2, NODEV = 4 };

static void fail(const char *what) { perror(what); _exit(127); }
static void set_attr(const char *path, int recursive, uint64_t set) {
    struct attr a = { set, 0, 0, 0 };
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &a, sizeof a))
        fail(path);
}
static void bind_mount(const char *src, const char *dst, uint64_t set) {
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL)) fail(dst);
    set_attr(dst, 1, set);
}
static void touch(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC, 0444);
    if (fd < 0) fail(path);
    close(fd);
}

#define NR "/tmp/newroot"
static const char *prog;
static int status_fd;
static char cwd[4096];

static int child(int sock) {
    char c, path[4200], src[4200];
    if (read(sock, &c, 1) != 1) fail("handshake");
    /* lo up in the new network namespace (--unshare-all, as bwrap) */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr)) fail("lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr)) fail("lo up");
    close(s);
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) fail("propagation");
    /* The building root on /tmp, built in place (no source under /tmp: one pivot_root). */
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, NULL)) fail("building root");
    mkdir("/tmp/newroot", 0755);
    if (mount("/tmp/newroot", "/tmp/newroot", NULL, MS_BIND | MS_REC, NULL)) fail("newroot");
    /* --ro-bind /usr /usr, the three links */
    mkdir(NR "/usr", 0755);
    bind_mount("/usr", NR "/usr", RDONLY | NOSUID | NODEV);
    if (symlink("usr/lib", NR "/lib") || symlink("usr/lib64", NR "/lib64")
        || symlink("usr/bin", NR "/bin")) fail("symlink");
    /* --proc /proc, with the writable parts covered read-only */
    mkdir(NR "/proc", 0755);
    if (mount("proc", NR "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) fail("proc");
    const char *covered[] = { "sys", "sysrq-trigger", "irq", "bus" };
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, NR "/proc/%s", covered[i]);
        if (access(path, W_OK) == 0) {
            if (mount(path, path, NULL, MS_BIND | MS_REC, NULL)) fail(path);
            set_attr(path, 0, RDONLY);
        }
    }
    /* --dev /dev */
    mkdir(NR "/dev", 0755);
    if (mount("tmpfs", NR "/dev", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")) fail("dev");
    const char *nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
    for (int i = 0; i < 6; i++) {
        snprintf(src, sizeof src, "/dev/%s", nodes[i]);
        snprintf(path, sizeof path, NR "/dev/%s", nodes[i]);
        touch(path);
        bind_mount(src, path, NOSUID);
    }
    const char *links[][2] = { { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
        { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" }, { "/proc/kcore", "core" } };
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, NR "/dev/%s", links[i][1]);
        if (symlink(links[i][0], path)) fail(path);
    }
    mkdir(NR "/dev/shm", 0755);
    mkdir(NR "/dev/pts", 0755);
    if (mount("devpts", NR "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=620")) fail("devpts");
    if (symlink("pts/ptmx", NR "/dev/ptmx")) fail("ptmx");
    /* --tmpfs /tmp */
    mkdir(NR "/tmp", 0755);
    if (mount("tmpfs", NR "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")) fail("tmp");
    /* --ro-bind PROG PROG: its directories, an empty file, the bind */
    snprintf(path, sizeof path, NR "%s", prog);
    for (char *p = path + strlen(NR) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        mkdir(path, 0700);
        *p = '/';
    }
    touch(path);
    bind_mount(prog, path, RDONLY | NOSUID | NODEV);
    /* the new root, the old one (with the building root) detached */
    if (chdir(NR)) fail("chdir");
    if (syscall(SYS_pivot_root, ".", ".")) fail("pivot_root");
    if (umount2(".", MNT_DETACH)) fail("umount");
    if (chdir("/")) fail("chdir");
    if (cwd[0]) (void)chdir(cwd);
    /* PID 1 stays, leads the session (--new-session), and the program runs as PID 2. */
    if (setsid() < 0) fail("setsid");
    char *argv[] = { (char *)prog, NULL };
    extern char **environ;
    pid_t program = vfork();
    if (program < 0) fail("vfork");
    if (program == 0) {
        execve(prog, argv, environ);
        _exit(127);
    }
    /* Every descriptor but the status pipe: the handshake socket too (the parent's end of file). */
    close_range(0, status_fd - 1, 0);
    close_range(status_fd + 1, ~0U, 0);
    for (;;) {
        siginfo_t si;
        if (waitid(P_ALL, 0, &si, WEXITED)) return 127;
        if (si.si_pid == program) {
            int st = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
            (void)write(status_fd, &st, sizeof st);
            return st;
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 2 || argv[1][0] != '/') {
        fprintf(stderr, "usage: %s /ABSOLUTE/PROGRAM\n", argv[0]);
        return 125;
    }
    prog = argv[1];
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    int sv[2], pp[2];
    if (pipe2(pp, O_CLOEXEC)) fail("pipe");
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) fail("socketpair");
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER
               | CLONE_NEWPID | CLONE_NEWNET;
    ca.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid < 0) fail("clone3");
    if (pid == 0) {
        close(sv[0]);
        close(pp[0]);
        /* Kept above everything close_range spares: the status pipe's write end. */
        status_fd = fcntl(pp[1], F_DUPFD_CLOEXEC, 1000);
        if (status_fd < 0) fail("status pipe");
        _exit(child(sv[1]));
    }
    close(sv[1]);
    close(pp[1]);
    char path[64], map[64];
    const char *files[] = { "gid_map", "uid_map" };
    unsigned ids[] = { getgid(), getuid() };
    for (int i = 0; i < 2; i++) {
        if (ids[i] != 0 && i == 0) {
            snprintf(path, sizeof path, "/proc/%ld/setgroups", pid);
            int fd = open(path, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || write(fd, "deny", 4) != 4) fail(path);
            close(fd);
        }
        snprintf(path, sizeof path, "/proc/%ld/%s", pid, files[i]);
        int n = snprintf(map, sizeof map, "0 %u 1\n", ids[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, map, n) != n) fail(path);
        close(fd);
    }
    if (send(sv[0], "g", 1, MSG_NOSIGNAL) != 1) fail("send");
    char c;
    (void)read(sv[0], &c, 1); /* end of file once the program exec'd */
    int st;
    /* The program's status from PID 1, which exits (and tears the namespaces down) after. */
    if (read(pp[0], &st, sizeof st) != sizeof st) fail("status");
    return st;
}
"#;

/// Builds the floor program beside the bench's targets (when missing or stale).
pub fn build() -> Result<PathBuf, String> {
    let dir = crate::targets::out_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let src = dir.join("sandbox-floor.c");
    let exe = dir.join("sandbox-floor");
    let fresh = fs::read_to_string(&src).is_ok_and(|s| s == FLOOR_C) && exe.exists();
    if !fresh {
        fs::write(&src, FLOOR_C).map_err(|e| format!("writing {}: {e}", src.display()))?;
        let out = Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&exe)
            .arg(&src)
            .output()
            .map_err(|e| format!("cannot run gcc: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "gcc failed for the floor program:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(exe)
}

/// The floor's command line for `target`.
pub fn args(target: &Path) -> Vec<std::ffi::OsString> {
    vec![target.into()]
}
