//! `xclone run`'s sandbox options beyond the table of vs_bwrap.rs: descriptors that talk to
//! the caller (`--info-fd`, `--block-fd`, `--userns-block-fd`), joining existing namespaces
//! (`--userns`, `--pidns`) against bwrap, and how failures are reported.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Command, Stdio};
use xclone_testsupport::{have_bwrap, is_root, merged_usr, stderr_line};

const XCLONE: &str = env!("CARGO_BIN_EXE_xclone");

/// `--unshare-all`, a merged-/usr layout and a new proc.
fn base() -> Vec<&'static str> {
    let mut v = vec!["--unshare-all"];
    v.extend(merged_usr());
    v.extend(["--proc", "/proc"]);
    v
}

/// A pipe whose ends are inheritable (no close-on-exec), for descriptors passed by number.
fn inheritable_pipe() -> (OwnedFd, OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::empty()).unwrap()
}

fn keys(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).expect(json);
    v.as_object().unwrap().keys().cloned().collect()
}

/// `--info-fd`: the same JSON keys as bwrap's (`child-pid` and one per namespace not shared),
/// the pid a live process of ours.
#[test]
fn info_fd_as_bwrap_writes_it() {
    if !is_root() || !have_bwrap() {
        eprintln!("skipped: needs root and bwrap");
        return;
    }
    // The program waits for its stdin, so that its namespaces are there to be read.
    let info = |tool: &[&str]| {
        let (r, w) = inheritable_pipe();
        let fd = w.as_raw_fd().to_string();
        let mut child = Command::new(tool[0])
            .args(&tool[1..])
            .args(base())
            .args(["--info-fd", &fd, "--", "sh", "-c", "read x || true"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        drop(w);
        let mut s = String::new();
        std::fs::File::from(r).read_to_string(&mut s).unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
        s
    };
    let x = info(&[XCLONE, "run"]);
    let b = info(&["bwrap"]);
    assert_eq!(keys(&x), keys(&b), "xclone {x}\nbwrap {b}");
    assert!(x.starts_with("{\n    \"child-pid\": "), "{x}");
}

/// `--block-fd`: the program does not run before the caller writes; `--userns-block-fd`: the
/// setup does not start before it either. The program prints a file the caller changes
/// while it is blocked.
#[test]
fn block_fds_hold_the_child() {
    if !is_root() {
        eprintln!("skipped: needs root (for the namespaces without a user namespace map)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("xclone-block-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("f");
    for opt in ["--block-fd", "--userns-block-fd"] {
        std::fs::write(&file, "before\n").unwrap();
        let (r, mut w) = {
            let (r, w) = inheritable_pipe();
            (r, std::fs::File::from(w))
        };
        let fd = r.as_raw_fd().to_string();
        let f = file.to_string_lossy().into_owned();
        let child = Command::new(XCLONE)
            .arg("run")
            .args(base())
            .args([opt, &fd, "--ro-bind", &f, "/f", "--", "cat", "/f"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        drop(r);
        std::fs::write(&file, "after\n").unwrap();
        w.write_all(b"x").unwrap();
        drop(w);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "after\n", "{opt}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--userns FD --pidns FD`: the program lives in the given user and pid namespaces (what
/// `readlink /proc/self/ns/*` names), as under bwrap.
#[test]
fn userns_and_pidns_join_existing_ones() {
    if !is_root() || !have_bwrap() {
        eprintln!("skipped: needs root and bwrap");
        return;
    }
    // The holder: PID 1 of its own pid namespace in its own user namespace, until its stdin
    // closes. It writes a line once it runs.
    let mut holder = Command::new(XCLONE)
        .args(["run", "-Ur", "-p", "--", "sh", "-c", "echo; exec cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = [0u8; 1];
    std::io::Read::read_exact(holder.stdout.as_mut().unwrap(), &mut ready).unwrap();
    // xclone's child is the holder: the only entry of xclone's children list.
    let children = format!("/proc/{0}/task/{0}/children", holder.id());
    let pid = std::fs::read_to_string(&children)
        .unwrap()
        .split_whitespace()
        .next()
        .expect("the holder is xclone's child")
        .to_string();
    let ns = |n: &str| std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
    let (user_ns, pid_ns) = (ns("user"), ns("pid"));
    let script = "readlink /proc/self/ns/user; readlink /proc/self/ns/pid; id -u; cat /proc/self/uid_map | tr -s ' '";
    let run = |tool: &[&str]| {
        let user = format!("/proc/{pid}/ns/user");
        let pidns = format!("/proc/{pid}/ns/pid");
        Command::new("sh")
            .args([
                "-c",
                "exec 7<\"$1\" 8<\"$2\"; shift 2; exec \"$@\"",
                "sh",
                &user,
                &pidns,
            ])
            .args(tool)
            .args(["--userns", "7", "--pidns", "8", "--unshare-net"])
            .args(&base()[1..])
            .args(["--", "sh", "-c", script])
            .output()
            .unwrap()
    };
    let x = run(&[XCLONE, "run"]);
    let b = run(&["bwrap"]);
    drop(holder.stdin.take());
    let _ = holder.wait();
    assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
    let xs = String::from_utf8_lossy(&x.stdout).into_owned();
    let mut lines = xs.lines();
    assert_eq!(lines.next().map(std::path::PathBuf::from), Some(user_ns));
    // Joined, not created: the holder's pid namespace is the program's.
    assert_eq!(lines.next().map(std::path::PathBuf::from), Some(pid_ns));
    assert_eq!(xs, String::from_utf8_lossy(&b.stdout));
}

/// Failures name the option, the system call, the path and the errno, on one line, exit 125.
#[test]
fn failures_name_step_path_and_cause() {
    if !is_root() {
        eprintln!("skipped: needs root (namespaces without a user namespace map)");
        return;
    }
    let run = |extra: &[&str]| {
        Command::new(XCLONE)
            .arg("run")
            .args(base())
            .args(extra)
            .args(["--", "true"])
            .output()
            .unwrap()
    };
    let out = run(&["--bind", "/tmp", "/usr/newdir"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_line(&out),
        "xclone: sandbox --bind /tmp /usr/newdir: mkdir /newroot/usr/newdir: EROFS (Read-only \
         file system)"
    );
    let out = run(&["--bind", "/nonexistent-xclone", "/x"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr_line(&out)
        .starts_with("xclone: --bind /nonexistent-xclone /x: /nonexistent-xclone: No such file"));
    let out = run(&["--file", "99", "/x"]);
    assert_eq!(
        stderr_line(&out),
        "xclone: --file 99 /x: descriptor 99 is not open"
    );
    let out = run(&["--symlink", "a", "/l", "--symlink", "b", "/l"]);
    assert!(stderr_line(&out).contains("--symlink b /l: symlink /newroot/l -> b: EEXIST"));
    let out = run(&["--perms", "0700"]);
    assert_eq!(out.status.code(), Some(125));
    // An absolute link met while building resolves in the building root, as under bwrap:
    // the step fails and nothing is made in the caller's tree (the plan keeps bubblewrap's
    // layout when an operation works inside a link or bind of another).
    let host = std::path::PathBuf::from(format!("/var/tmp/xclone-escape-{}", std::process::id()));
    let inside = format!("/x/{}", host.file_name().unwrap().to_string_lossy());
    let out = run(&["--symlink", "/var/tmp", "/x", "--dir", &inside]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr_line(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("/newroot{inside}: ENOENT")), "{err}");
    assert!(
        !host.exists(),
        "{} was created in the caller's tree",
        host.display()
    );
    let b = Command::new("bwrap")
        .args([
            "--unshare-all",
            "--symlink",
            "/var/tmp",
            "/x",
            "--dir",
            &inside,
            "--",
            "true",
        ])
        .output();
    if let Ok(b) = b {
        assert!(!b.status.success(), "bwrap accepted it");
        assert!(!host.exists());
    }
}

/// bwrap's layout (`--unshare-pid`, `--unshare-all`): xclone's init at PID 1 passes on the
/// signals it gets — from xclone, which forwards its own, and from inside — where bwrap's
/// PID 1 does not (a difference by design, docs/sandbox.md); `--as-pid-1` needs a new pid
/// namespace, as in bwrap.
#[test]
fn init_passes_signals_on() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    // SIGTERM to xclone: forwarded to the init, passed on to the program.
    let mut child = Command::new(XCLONE)
        .arg("run")
        .args(base())
        .args([
            "--",
            "sh",
            "-c",
            "trap 'exit 7' TERM; echo ready; while :; do :; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 6];
    out.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ready\n");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(7));

    // From inside, to PID 1.
    let out = Command::new(XCLONE)
        .arg("run")
        .args(base())
        .args([
            "--",
            "sh",
            "-c",
            "trap 'echo got USR1; exit 5' USR1; kill -USR1 1; while :; do :; done",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got USR1\n");
    assert_eq!(out.status.code(), Some(5));

    let out = Command::new(XCLONE)
        .args(["run", "--as-pid-1", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--as-pid-1 needs --unshare-pid"),
        "{out:?}"
    );
}

/// `--json-status-fd` under the init: the last line is bwrap's, `{"exit-code": 128+N}` for a
/// program killed by signal N.
#[test]
fn json_status_under_the_init_is_bwraps() {
    if !is_root() || !have_bwrap() {
        eprintln!("skipped: needs root and bwrap");
        return;
    }
    let last = |tool: &[&str]| {
        let out = Command::new(tool[0])
            .args(&tool[1..])
            .args(base())
            .args(["--json-status-fd", "1", "--", "sh", "-c", "kill -TERM $$"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text.lines().last().unwrap_or_default().to_string();
        let v: serde_json::Value = serde_json::from_str(&line).expect(&line);
        (out.status.code(), v)
    };
    let x = last(&[XCLONE, "run"]);
    let b = last(&["bwrap"]);
    assert_eq!(x, b);
    assert_eq!(x.1["exit-code"], 143, "{x:?}");
}
