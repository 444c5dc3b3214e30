//! `status()` and `output()` as run-to-end spawns (`CLONE_VM` without `CLONE_VFORK` or
//! `CLONE_PIDFD`, reaped by PID): failures before exec still come back as errors, nothing is
//! left behind, big outputs arrive whole, and many threads spawning at once each get their
//! own child's status.

use std::io::ErrorKind;
use xclone::{Command, SpawnError, Stdio, Step};

/// The children of the calling thread (a child's parent is the thread that cloned it).
fn children_of_this_thread() -> String {
    let tid = rustix::thread::gettid().as_raw_nonzero().get();
    std::fs::read_to_string(format!("/proc/self/task/{tid}/children")).unwrap()
}

#[test]
fn exec_failures_are_errors_and_leave_no_zombie() {
    for collect in [false, true] {
        let run = |c: &mut Command| -> std::io::Error {
            if collect {
                c.output().map(|o| o.status).unwrap_err()
            } else {
                c.status().unwrap_err()
            }
        };
        let e = run(Command::new("/no/such/x").stdin(Stdio::null()));
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert_eq!(
            e.to_string(),
            "execve /no/such/x: No such file or directory"
        );
        let se = SpawnError::from_io(&e).unwrap();
        assert_eq!(se.step(), Step::Execve);

        let e = run(Command::new("xclone-no-such-program").env("PATH", "/usr/bin:/bin"));
        assert_eq!(
            e.to_string(),
            "execve xclone-no-such-program (searched PATH): No such file or directory"
        );

        let e = run(&mut Command::new("/"));
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");

        let e = run(Command::new("pwd").current_dir("/nope"));
        assert_eq!(e.to_string(), "chdir /nope: No such file or directory");
        assert_eq!(SpawnError::from_io(&e).unwrap().step(), Step::Chdir);

        assert_eq!(children_of_this_thread().trim(), "", "collect={collect}");
    }
}

#[test]
fn statuses_and_success_leave_no_zombie() {
    let st = Command::new("sh").args(["-c", "exit 7"]).status().unwrap();
    assert_eq!(st.code(), Some(7));
    let st = Command::new("sh")
        .args(["-c", "kill -TERM $$"])
        .status()
        .unwrap();
    assert_eq!(st.signal(), Some(libc::SIGTERM));
    let out = Command::new("sh")
        .args(["-c", "echo out; echo err >&2; exit 3"])
        .output()
        .unwrap();
    assert_eq!(
        (out.status.code(), &out.stdout[..], &out.stderr[..]),
        (Some(3), &b"out\n"[..], &b"err\n"[..])
    );
    assert_eq!(children_of_this_thread().trim(), "");
}

#[test]
fn output_collects_large_streams_whole() {
    // Several times a pipe's capacity on both streams, interleaved: the parent must read
    // both while the child runs, or the child blocks on a full pipe for ever.
    let out = Command::new("sh")
        .args([
            "-c",
            "head -c 1000000 /dev/zero; head -c 2000000 /dev/zero >&2; \
             head -c 1500000 /dev/zero; exit 5",
        ])
        .output()
        .unwrap();
    assert_eq!(out.stdout.len(), 2_500_000);
    assert_eq!(out.stderr.len(), 2_000_000);
    assert!(out.stdout.iter().all(|&b| b == 0));
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn output_stdin_is_null_and_piped_stdin_is_closed() {
    // Default stdin of output(): /dev/null, so cat ends at once.
    let out = Command::new("cat").output().unwrap();
    assert!(out.status.success() && out.stdout.is_empty());
    // A piped stdin is closed by the parent (as std's output does), so cat sees end of file
    // instead of waiting for ever.
    let out = Command::new("cat").stdin(Stdio::piped()).output().unwrap();
    assert!(out.status.success() && out.stdout.is_empty());
    // status() with a piped stdin: the same.
    let st = Command::new("cat").stdin(Stdio::piped()).status().unwrap();
    assert!(st.success());
}

#[test]
fn status_from_many_threads_gets_each_childs_own_status() {
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..25 {
                    let code = (t * 25 + i) % 200;
                    let st = Command::new("sh")
                        .args(["-c", "exit $1", "sh"])
                        .arg(code.to_string())
                        .status()
                        .unwrap();
                    assert_eq!(st.code(), Some(code), "thread {t} spawn {i}");
                    if i % 5 == 0 {
                        let out = Command::new("echo")
                            .arg(format!("{t}-{i}"))
                            .output()
                            .unwrap();
                        assert_eq!(out.stdout, format!("{t}-{i}\n").into_bytes());
                    }
                }
                assert_eq!(children_of_this_thread().trim(), "");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn exit_signal_other_than_sigchld_is_reaped() {
    // waitid by PID needs __WALL for a child that does not signal SIGCHLD (SIGURG is
    // ignored by default, so it cannot hurt the test process).
    for sig in [0u64, libc::SIGURG as u64] {
        let st = Command::new("sh")
            .args(["-c", "exit 9"])
            .exit_signal(sig)
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(9));
    }
    assert_eq!(children_of_this_thread().trim(), "");
}

/// Runs `entry` (a test of this file) in a fresh copy of the test binary with `XCLONE_TEST_ENTRY`
/// set, where it may change process-wide state, and returns what it printed.
fn in_subprocess(entry: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", entry, "--nocapture", "--test-threads=1"])
        .env("XCLONE_TEST_ENTRY", entry)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{entry}: {:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn is_entry(name: &str) -> bool {
    std::env::var_os("XCLONE_TEST_ENTRY").is_some_and(|v| v == name)
}

/// With `SIGCHLD` ignored the kernel reaps children itself: the wait ends only once the
/// child is gone, with `ECHILD` as std gives, and a failure before exec is still reported.
#[test]
fn sigchld_ignored_entry() {
    if !is_entry("sigchld_ignored_entry") {
        return;
    }
    xclone::raw::signal::set_ignored(libc::SIGCHLD).unwrap();
    let e = Command::new("sh")
        .args(["-c", "exit 3"])
        .status()
        .unwrap_err();
    println!("STATUS={:?}", e.raw_os_error());
    let e = Command::new("/no/such/x").status().unwrap_err();
    println!("MISSING={}", e);
    let e = Command::new("sh")
        .args(["-c", "echo through"])
        .output()
        .unwrap_err();
    println!("OUTPUT={:?}", e.raw_os_error());
}

#[test]
fn sigchld_ignored() {
    let text = in_subprocess("sigchld_ignored_entry");
    assert!(
        text.contains(&format!("STATUS=Some({})", libc::ECHILD)),
        "{text}"
    );
    assert!(
        text.contains("MISSING=execve /no/such/x: No such file or directory"),
        "{text}"
    );
    assert!(
        text.contains(&format!("OUTPUT=Some({})", libc::ECHILD)),
        "{text}"
    );
}

/// `CLONE_PARENT` makes the child our parent's: it cannot be waited for by PID here, so
/// `status()` must not use the run-to-end spawn (whose wait would return at once, freeing the
/// child's stack under it); it takes the vfork spawn and reports the failed wait.
#[test]
fn clone_parent_entry() {
    if !is_entry("clone_parent_entry") {
        return;
    }
    for _ in 0..20 {
        let e = Command::new("sh")
            .args(["-c", "exit 4"])
            .add_flags(xclone::CloneFlags::PARENT)
            // clone3 wants exit_signal 0 with CLONE_PARENT.
            .exit_signal(0)
            .status()
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ECHILD), "{e}");
    }
    println!("PARENT=ok");
}

#[test]
fn clone_parent() {
    // The siblings become children of this test process, which reaps nothing of them:
    // they stay zombies until it exits.
    let text = in_subprocess("clone_parent_entry");
    assert!(text.contains("PARENT=ok"), "{text}");
}

/// The parent runs on while the child sets up in the shared memory: other threads (and the
/// spawning thread itself, reading output) allocating and freeing all the time must not
/// disturb the child, which touches only its stack and its plan.
#[test]
fn run_to_end_under_allocation_pressure() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let stop = Arc::new(AtomicBool::new(false));
    let churners: Vec<_> = (0..2u64)
        .map(|seed| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ seed;
                let mut keep: Vec<Vec<u8>> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    keep.push(vec![(x & 0xff) as u8; (x % (128 * 1024)) as usize + 1]);
                    if keep.len() > 16 {
                        keep.swap_remove((x % 16) as usize);
                    }
                }
            })
        })
        .collect();
    let spawners: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..50 {
                    let out = Command::new("echo")
                        .arg(format!("{t}:{i}"))
                        .output()
                        .unwrap();
                    assert_eq!(out.stdout, format!("{t}:{i}\n").into_bytes());
                    assert!(Command::new("true").status().unwrap().success());
                }
            })
        })
        .collect();
    let results: Vec<_> = spawners.into_iter().map(|s| s.join()).collect();
    stop.store(true, Ordering::Relaxed);
    for c in churners {
        c.join().unwrap();
    }
    for r in results {
        r.unwrap();
    }
}
