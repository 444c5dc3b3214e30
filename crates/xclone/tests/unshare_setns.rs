//! `xclone::unshare` and `xclone::setns` for real, each in a forked child so that the test
//! process keeps its namespaces: what they report about who moved (the whole process or one
//! thread) is checked against procfs, and their refusals carry the validator's explanation,
//! side by side with util-linux `nsenter` for the same request.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use xclone::setns::{setns, Namespaces};
use xclone::unshare::{unshare, unshare_whole_process, UnshareFlags};

/// Runs `f` in a forked child (single-threaded: fork copies the calling thread only) and
/// returns what it wrote; the child is bounded by an alarm.
fn in_child(f: impl FnOnce() -> String) -> String {
    let (rd, wr): (OwnedFd, OwnedFd) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    // SAFETY: fork; the child runs `f`, writes its answer and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        drop(rd);
        // SAFETY: bounding the child.
        unsafe { libc::alarm(20) };
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| "PANIC".into());
        let _ = File::from(wr).write_all(out.as_bytes());
        // SAFETY: leaving the forked child without the harness's exit path.
        unsafe { libc::_exit(0) }
    }
    drop(wr);
    let mut s = String::new();
    File::from(rd).read_to_string(&mut s).unwrap();
    // SAFETY: reaping our child.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    s
}

fn link(path: &str) -> String {
    std::fs::read_link(path)
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A thread that waits until told to end; returns its tid and the sender that ends it.
fn parked_thread() -> (
    i32,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel::<i32>();
    let h = std::thread::spawn(move || {
        tid_tx
            .send(rustix::thread::gettid().as_raw_nonzero().get())
            .unwrap();
        let _ = rx.recv();
    });
    (tid_rx.recv().unwrap(), tx, h)
}

fn may_admin() -> bool {
    xclone::caller::Caller::current()
        .map(|c| c.has_cap(xclone::caller::CAP_SYS_ADMIN))
        .unwrap_or(false)
}

#[test]
fn unshare_reports_who_moved() {
    if !may_admin() {
        eprintln!("skipped: needs CAP_SYS_ADMIN (run the tests as root)");
        return;
    }
    let out = in_child(|| {
        let before = link("/proc/thread-self/ns/uts");
        let c = unshare(UnshareFlags::NEWUTS).unwrap();
        let moved = link("/proc/thread-self/ns/uts") != before;
        format!("{:?} {moved} {}", c.scope, c.this_thread.to_names_string())
    });
    assert_eq!(out, "WholeProcess true CLONE_NEWUTS");

    let out = in_child(|| {
        let (tid, stop, h) = parked_thread();
        let before = link("/proc/thread-self/ns/uts");
        let c = unshare(UnshareFlags::NEWUTS).unwrap();
        let me_moved = link("/proc/thread-self/ns/uts") != before;
        let other_stayed = link(&format!("/proc/self/task/{tid}/ns/uts")) == before;
        let refused = unshare_whole_process(UnshareFlags::NEWNET).is_err();
        stop.send(()).unwrap();
        h.join().unwrap();
        format!("{:?} {me_moved} {other_stayed} {refused}", c.scope)
    });
    assert_eq!(out, "ThisThread { other_threads: 1 } true true true");

    // CLONE_NEWPID moves nobody but the children to come.
    let out = in_child(|| {
        let before = link("/proc/thread-self/ns/pid");
        let c = unshare(UnshareFlags::NEWPID).unwrap();
        let stayed = link("/proc/thread-self/ns/pid") == before;
        format!("{} {stayed}", c.children_only.to_names_string())
    });
    assert_eq!(out, "CLONE_NEWPID true");
}

#[test]
fn refusals_carry_the_explanation() {
    // In a process with two threads CLONE_NEWUSER is EINVAL, for anyone.
    let out = in_child(|| {
        let (_, stop, h) = parked_thread();
        let e = unshare(UnshareFlags::NEWUSER).unwrap_err();
        stop.send(()).unwrap();
        h.join().unwrap();
        format!("{:?}|{e}", e.errno())
    });
    assert!(
        out.starts_with("Some(EINVAL)|unshare(CLONE_NEWUSER): EINVAL"),
        "{out}"
    );
    assert!(out.contains("1 other thread"), "{out}");
    assert!(
        out.contains("fix: call unshare(CLONE_NEWUSER) before starting threads"),
        "{out}"
    );

    // A descriptor that is no namespace.
    let out = in_child(|| {
        let f = File::open("/proc/self/status").unwrap();
        let e = setns(&f, Namespaces::empty()).unwrap_err();
        e.to_string()
    });
    assert!(out.contains("EINVAL"), "{out}");
    assert!(
        out.contains("neither a namespace file nor a pidfd"),
        "{out}"
    );
}

/// util-linux nsenter asks the kernel the same question: re-entering one's own user
/// namespace. Both are refused with EINVAL, and xclone says why.
#[test]
fn own_user_namespace_like_nsenter() {
    let Ok(nsenter) = std::process::Command::new("nsenter")
        .args(["--user=/proc/self/ns/user", "true"])
        .output()
    else {
        eprintln!("skipped: nsenter (util-linux) is not installed");
        return;
    };
    let theirs = String::from_utf8_lossy(&nsenter.stderr).into_owned();
    assert!(!nsenter.status.success());
    assert!(theirs.contains("Invalid argument"), "{theirs}");
    let out = in_child(|| {
        let f = File::open("/proc/self/ns/user").unwrap();
        let e = setns(&f, Namespaces::USER).unwrap_err();
        format!("{:?}|{e}", e.errno())
    });
    assert!(out.starts_with("Some(EINVAL)|"), "{out}");
    assert!(out.contains("is the caller's own"), "{out}");
}

#[test]
fn setns_into_a_pidfd_moves_one_thread() {
    if !may_admin() || !xclone::probe::Features::setns_pidfd_supported() {
        eprintln!("skipped: needs CAP_SYS_ADMIN and setns with a pidfd (Linux 5.8)");
        return;
    }
    let out = in_child(|| {
        // A child in a uts namespace of its own, which we then join by pidfd.
        let holder = xclone::Command::new("sleep")
            .arg("30")
            .flags(xclone::CloneFlags::NEWUTS)
            .spawn()
            .unwrap();
        let target = link(&format!("/proc/{}/ns/uts", holder.id()));
        let (tid, stop, h) = parked_thread();
        let c = setns(holder.pidfd(), Namespaces::UTS).unwrap();
        let joined = link("/proc/thread-self/ns/uts") == target;
        let other_stayed = link(&format!("/proc/self/task/{tid}/ns/uts")) != target;
        stop.send(()).unwrap();
        h.join().unwrap();
        let _ = holder.pidfd().send_signal(libc::SIGKILL);
        format!("{:?} {joined} {other_stayed}", c.scope)
    });
    assert_eq!(out, "ThisThread { other_threads: 1 } true true");
}
