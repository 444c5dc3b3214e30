//! The clone(2) fallback, for real: a re-executed copy of this test binary installs a seccomp
//! filter that makes clone3 fail with ENOSYS (or EPERM), as older container profiles do, and
//! spawns with and without clone3-only features.

use std::os::fd::OwnedFd;
use xclone::{fallback::FallbackPolicy, probe::Availability, CloneFlags, Command, Errno};

/// Makes clone3 return `errno` in this thread (which spawns) and what it creates.
fn deny_clone3(errno: i32) {
    let r = xclone::raw::seccomp::deny_clone3(errno);
    assert!(r.is_ok(), "seccomp: {r:?}");
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Between clone and exec (where a handler would run on shared memory) the child has no
/// handlers left, while ignored signals stay ignored.
fn check_signal_reset() {
    let mut cmd = Command::new("true");
    // SAFETY: the hook only calls sigaction(2) to read dispositions.
    unsafe {
        cmd.pre_exec_shared_memory(|| {
            let disp = |sig| {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, std::ptr::null(), &mut old);
                old.sa_sigaction
            };
            if disp(libc::SIGUSR1) == libc::SIG_DFL && disp(libc::SIGUSR2) == libc::SIG_IGN {
                Ok(())
            } else {
                Err(std::io::Error::from_raw_os_error(libc::EBADMSG))
            }
        });
    }
    assert!(cmd.status().unwrap().success());
    // On request, ignored signals are reset too.
    let mut cmd = Command::new("true");
    cmd.reset_ignored_signals(true);
    // SAFETY: as above.
    unsafe {
        cmd.pre_exec_shared_memory(|| {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGUSR2, std::ptr::null(), &mut old);
            if old.sa_sigaction == libc::SIG_DFL {
                Ok(())
            } else {
                Err(std::io::Error::from_raw_os_error(libc::EBADMSG))
            }
        });
    }
    assert!(cmd.status().unwrap().success());
}

fn expect_needs_clone3(cmd: &mut Command, feature: &str, errno_name: &str) {
    let e = cmd.spawn().unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{msg}");
    assert!(
        msg.contains(feature) && msg.contains("needs clone3"),
        "{msg}"
    );
    assert!(
        msg.contains("filtered") && msg.contains(errno_name),
        "{msg}"
    );
}

/// The body, run only in the re-executed process.
#[test]
fn fallback_entry() {
    let Some(mode) = std::env::var_os("XCLONE_FALLBACK_ERRNO") else {
        return;
    };
    let errno = Errno::from_name(mode.to_str().unwrap()).unwrap();
    // SAFETY: this process exists for this test only; the handler does nothing.
    unsafe {
        libc::signal(
            libc::SIGUSR1,
            ignore_signal as *const () as libc::sighandler_t,
        );
        libc::signal(libc::SIGUSR2, libc::SIG_IGN);
    }
    // With clone3 (CLONE_CLEAR_SIGHAND) first, then through the fallback.
    check_signal_reset();
    deny_clone3(errno.0);
    let name = errno.name();
    assert_eq!(
        xclone::fallback::clone3_availability(),
        Availability::Filtered(errno)
    );

    // A plain spawn works through clone(2), with a pidfd, piped output and exit status.
    let out = Command::new("sh")
        .args(["-c", "echo fell back; exit 5"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"fell back\n");
    assert_eq!(out.status.code(), Some(5));

    // Without CLONE_CLEAR_SIGHAND the child resets handlers itself.
    check_signal_reset();

    // Exec failures are still reported precisely.
    let mut cmd = Command::new("/no/such/x");
    let e = cmd.spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(
        cmd.last_spawn_error().unwrap().to_string(),
        "execve /no/such/x: No such file or directory"
    );

    // Namespace flags are expressible through clone(2).
    if rustix::process::geteuid().is_root() {
        let st = Command::new("true")
            .flags(CloneFlags::NEWUTS)
            .status()
            .unwrap();
        assert!(st.success());
    }

    // clone3-only features fail, naming the feature and the probe result.
    expect_needs_clone3(Command::new("true").set_tid(&[1]), "set_tid", &name);
    expect_needs_clone3(
        Command::new("true").clear_sighand(true),
        "CLONE_CLEAR_SIGHAND",
        &name,
    );
    expect_needs_clone3(
        Command::new("true").add_flags(CloneFlags::NEWTIME),
        "CLONE_NEWTIME",
        &name,
    );
    expect_needs_clone3(
        Command::new("true").exit_signal(1 << 8),
        "exit signal 0x100",
        &name,
    );
    let dir: OwnedFd = std::fs::File::open("/").unwrap().into();
    expect_needs_clone3(
        Command::new("true").into_cgroup(dir),
        "CLONE_INTO_CGROUP",
        &name,
    );

    // The knob: no fallback.
    let e = Command::new("true")
        .clone3_fallback(FallbackPolicy::Never)
        .spawn()
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("clone3: {errno}: ")), "{msg}");
    assert!(msg.contains("seccomp") && msg.contains("fix: "), "{msg}");
    // glibc's rule: ENOSYS only.
    let r = Command::new("true")
        .clone3_fallback(FallbackPolicy::EnosysOnly)
        .status();
    if errno == Errno::ENOSYS {
        assert!(r.unwrap().success());
    } else {
        let msg = r.unwrap_err().to_string();
        assert!(msg.starts_with(&format!("clone3: {errno}: ")), "{msg}");
    }
    println!("FALLBACK-OK");
}

fn run_with_filter(errno: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "fallback_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("XCLONE_FALLBACK_ERRNO", errno)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("FALLBACK-OK"),
        "{}\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
fn clone3_filtered_with_enosys() {
    run_with_filter("ENOSYS");
}

#[test]
fn clone3_filtered_with_eperm() {
    run_with_filter("EPERM");
}
